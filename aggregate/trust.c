/* SPDX-License-Identifier: MIT */
/* Split trust for the ICS report: key generation and rotation, key ids,
 * Ed25519 signatures over partials, pseudonym lists sealed to the ICS linkage
 * key (X25519 + HKDF-SHA256 + AES-256-GCM), and the ICS registry (practices,
 * their registered population and their public signing keys).
 *
 * Who holds what: every practice holds the pseudonym (HMAC) key and its own
 * signing key; the ICS holds the linkage private key and its own signing key,
 * never the HMAC key. So a practice that obtains another practice's partial
 * cannot read its pseudonyms (they are sealed to the ICS), and the ICS, which
 * can, cannot reverse them (it cannot compute a pseudonym from an NHS number).
 *
 * Files: a pseudonym key is 64 hex digits (mode 0600); a linkage or signing
 * private key is PEM PKCS#8 (mode 0600) with its public half beside it in
 * FILE.pub, one line "OWNER ALG HEX" (OWNER is the ODS code for a signing
 * key, "linkage" for the linkage key), so a keys file is the .pub files
 * concatenated. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "report_internal.h"

#define KEY_FILE_MAX 8192
#define REGISTRY_MAX_LINE 1024
#define POPULATION_MAX 2000000u

struct cse_report_key {
    cse_key_kind kind;
    EVP_PKEY *pkey;
    int is_private;
    unsigned char pub[32];
    char id[CSE__KEY_ID_LEN + 1];
    char owner[16];
};

static const char hexd[] = "0123456789abcdef";

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[b[i] >> 4];
        out[2 * i + 1] = hexd[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int from_hex(const char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int v[2];
        for (int k = 0; k < 2; k++) {
            char ch = s[2 * i + k];
            v[k] = ch >= '0' && ch <= '9'   ? ch - '0'
                   : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                   : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                            : -1;
            if (v[k] < 0)
                return -1;
        }
        out[i] = (unsigned char)(v[0] << 4 | v[1]);
    }
    return 0;
}

static const char *alg_name(cse_key_kind kind)
{
    return kind == CSE_KEY_LINKAGE ? "x25519" : "ed25519";
}

static int alg_id(cse_key_kind kind)
{
    return kind == CSE_KEY_LINKAGE ? EVP_PKEY_X25519 : EVP_PKEY_ED25519;
}

/* A public key's id: the first 8 bytes of SHA-256("csemarker ALG:" || key). */
static void pub_id(cse_key_kind kind, const unsigned char pub[32],
                   char id[CSE__KEY_ID_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE], buf[64];
    unsigned int mdlen = 0;
    int n = snprintf((char *)buf, sizeof(buf), "csemarker %s:", alg_name(kind));

    memcpy(buf + n, pub, 32);
    EVP_Digest(buf, (size_t)n + 32, md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, CSE__KEY_ID_LEN / 2, id);
}

void cse_key_id(const unsigned char key[32], char id[CSE__KEY_ID_LEN + 1])
{
    static const char label[] = "csemarker pseudonym key id";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    /* A keyed hash of a constant: names the key without revealing it. */
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)label, sizeof(label) - 1, md,
         &mdlen);
    to_hex(md, CSE__KEY_ID_LEN / 2, id);
    cse__wipe(md, sizeof(md));
}

const char *cse_report_key_id(const cse_report_key *k)
{
    return k ? k->id : "";
}

void cse_report_key_free(cse_report_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

static int valid_owner(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n < 16 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* ---- Writing key files ------------------------------------------------- */

/* Writes data to path with mode, through a temporary file renamed into
 * place, so a key file is never seen half written. */
static cse_code write_file(const char *path, const void *data, size_t len, mode_t mode,
                           cse_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    cse_code rc = CSE_OK;
    int fd;

    if (tmp == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot create: %s",
                            strerror(errno));
        free(tmp);
        return rc;
    }
    if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot write: %s",
                            strerror(errno));
    if (close(fd) != 0 && rc == CSE_OK)
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot write: %s",
                            strerror(errno));
    if (rc == CSE_OK && rename(tmp, path) != 0)
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot rename into place: %s",
                            strerror(errno));
    if (rc != CSE_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Moves path to path.old (replacing an older one) for a rotation. */
static cse_code keep_old(const char *path, cse_error *err)
{
    char old[4096];

    if (!exists(path))
        return CSE_OK;
    if ((size_t)snprintf(old, sizeof(old), "%s.old", path) >= sizeof(old))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, path, "", "path too long");
    if (rename(path, old) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot move to %s: %s", old,
                              strerror(errno));
    return CSE_OK;
}

cse_code cse_keygen(cse_key_kind kind, const char *path, const char *owner, int rotate,
                    char *id_out, cse_error *err)
{
    char pubpath[4096], line[128], id[CSE__KEY_ID_LEN + 1];
    unsigned char raw[32];
    EVP_PKEY *pk = NULL;
    BIO *mem = NULL;
    char *pem = NULL;
    long pemlen = 0;
    size_t rawlen = sizeof(raw);
    cse_code rc = CSE_OK;

    if (path == NULL || *path == '\0')
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no key file given");
    if ((size_t)snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >= sizeof(pubpath))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, path, "", "path too long");
    if (kind == CSE_KEY_SIGNING && !valid_owner(owner))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, path, "",
                              "a signing key needs the ODS code of its owner");
    if (!rotate && (exists(path) || (kind != CSE_KEY_PSEUDONYM && exists(pubpath))))
        return cse__error_set(err, CSE_ERR_IO, 0, path, "",
                              "a key already exists here; to replace it, rotate it "
                              "(the old key is kept as %s.old)",
                              path);
    if (kind == CSE_KEY_PSEUDONYM) {
        char hex[66];
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, path, "",
                                  "no random bytes from OpenSSL");
        to_hex(raw, 32, hex);
        hex[64] = '\n';
        cse_key_id(raw, id);
        if ((rc = keep_old(path, err)) == CSE_OK)
            rc = write_file(path, hex, 65, 0600, err);
        cse__wipe(raw, sizeof(raw));
        cse__wipe(hex, sizeof(hex));
        goto out;
    }
    if ((pk = EVP_PKEY_Q_keygen(
             NULL, NULL, kind == CSE_KEY_LINKAGE ? "X25519" : "ED25519")) == NULL ||
        EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 || rawlen != 32 ||
        (mem = BIO_new(BIO_s_mem())) == NULL ||
        PEM_write_bio_PrivateKey(mem, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        (pemlen = BIO_get_mem_data(mem, &pem)) <= 0) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, path, "",
                            "OpenSSL cannot make a key");
        goto out;
    }
    pub_id(kind, raw, id);
    {
        char hex[65];
        to_hex(raw, 32, hex);
        snprintf(line, sizeof(line), "%s %s %s\n",
                 kind == CSE_KEY_LINKAGE ? "linkage" : owner, alg_name(kind), hex);
    }
    if ((rc = keep_old(path, err)) == CSE_OK && (rc = keep_old(pubpath, err)) == CSE_OK &&
        (rc = write_file(path, pem, (size_t)pemlen, 0600, err)) == CSE_OK)
        rc = write_file(pubpath, line, strlen(line), 0644, err);
out:
    if (pem != NULL && pemlen > 0)
        OPENSSL_cleanse(pem, (size_t)pemlen);
    BIO_free(mem);
    EVP_PKEY_free(pk);
    if (rc == CSE_OK && id_out != NULL)
        memcpy(id_out, id, sizeof(id));
    return rc;
}

/* ---- Loading key files ------------------------------------------------- */

/* Reads a small file; private ones must not be accessible by group or others. */
static cse_code read_small(const char *path, int private_file, char *buf, size_t size,
                           size_t *len, cse_error *err)
{
    struct stat st;
    cse_code rc = CSE_OK;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot open key file: %s",
                              strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "",
                            "key file is not a regular file");
        goto out;
    }
    if (private_file && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rc = cse__error_set(err, CSE_ERR_PERMISSION, 0, path, "",
                            "private key file is accessible by group or others (mode "
                            "%03o); run: chmod 600 %s",
                            (unsigned)(st.st_mode & 0777), path);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf + n, size - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot read key file: %s",
                                strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == size - 1) {
            rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                                "key file is larger than %zu bytes", size - 1);
            goto out;
        }
    }
    buf[n] = '\0';
    *len = n;
out:
    close(fd);
    return rc;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

cse_report_key *cse_report_key_load_private(const char *path, cse_key_kind kind,
                                            cse_error *err)
{
    char *buf = NULL;
    size_t len = 0, rawlen = 32;
    BIO *in = NULL;
    cse_report_key *k = NULL;

    if (path == NULL || (kind != CSE_KEY_LINKAGE && kind != CSE_KEY_SIGNING)) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, path ? path : "", "",
                       "no private key given");
        return NULL;
    }
    if ((buf = malloc(KEY_FILE_MAX)) == NULL || (k = calloc(1, sizeof(*k))) == NULL) {
        cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
        goto fail;
    }
    if (read_small(path, 1, buf, KEY_FILE_MAX, &len, err) != CSE_OK)
        goto fail;
    if ((in = BIO_new_mem_buf(buf, (int)len)) == NULL ||
        (k->pkey = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL)) == NULL) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                       "not a PEM private key (make one with cse-report keygen)");
        goto fail;
    }
    if (EVP_PKEY_get_base_id(k->pkey) != alg_id(kind)) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                       "wrong key: this is not %s key (%s)",
                       kind == CSE_KEY_LINKAGE ? "the ICS linkage" : "a signing",
                       kind == CSE_KEY_LINKAGE ? "X25519" : "Ed25519");
        goto fail;
    }
    if (EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &rawlen) != 1 || rawlen != 32) {
        cse__error_set(err, CSE_ERR_INTERNAL, 0, path, "", "cannot read the public key");
        goto fail;
    }
    k->kind = kind;
    k->is_private = 1;
    pub_id(kind, k->pub, k->id);
    goto out;
fail:
    cse_report_key_free(k);
    k = NULL;
out:
    BIO_free(in);
    if (buf != NULL)
        OPENSSL_cleanse(buf, KEY_FILE_MAX);
    free(buf);
    return k;
}

/* Parses "OWNER ALG HEX" (one line, trailing spaces and newline allowed). */
static int parse_pub_line(const char *line, char owner[16], char alg[16],
                          unsigned char pub[32])
{
    char hex[80];
    char tail;

    if (sscanf(line, "%15s %15s %79s %c", owner, alg, hex, &tail) != 3)
        return -1;
    if (strlen(hex) != 64 || from_hex(hex, 32, pub) != 0)
        return -1;
    return 0;
}

cse_report_key *cse_report_key_load_public(const char *path, cse_key_kind kind,
                                           cse_error *err)
{
    char buf[512], alg[16];
    size_t len = 0;
    cse_report_key *k;

    if (path == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no public key given");
        return NULL;
    }
    if ((k = calloc(1, sizeof(*k))) == NULL) {
        cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
        return NULL;
    }
    if (read_small(path, 0, buf, sizeof(buf), &len, err) != CSE_OK)
        goto fail;
    if (parse_pub_line(buf, k->owner, alg, k->pub) != 0) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                       "not a public key file (one line: OWNER ALG HEX, as cse-report "
                       "keygen writes to FILE.pub)");
        goto fail;
    }
    if (strcmp(alg, alg_name(kind)) != 0) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                       "wrong key: this is an %s key, not %s", alg,
                       kind == CSE_KEY_LINKAGE ? "the ICS linkage key (x25519)"
                                               : "a signing key (ed25519)");
        goto fail;
    }
    if ((k->pkey = EVP_PKEY_new_raw_public_key(alg_id(kind), NULL, k->pub, 32)) == NULL) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "", "not a valid %s public key",
                       alg);
        goto fail;
    }
    k->kind = kind;
    pub_id(kind, k->pub, k->id);
    return k;
fail:
    cse_report_key_free(k);
    return NULL;
}

/* ---- Signatures -------------------------------------------------------- */

cse_code cse__sign(const cse_report_key *k, const char *msg, size_t len,
                   unsigned char sig[CSE__SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = CSE__SIG_LEN;
    cse_code rc = CSE_ERR_INTERNAL;

    if (ctx != NULL && k != NULL && k->is_private && k->kind == CSE_KEY_SIGNING &&
        EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, len) == 1 &&
        siglen == CSE__SIG_LEN)
        rc = CSE_OK;
    EVP_MD_CTX_free(ctx);
    return rc;
}

int cse__verify(const cse_report_key *k, const char *msg, size_t len,
                const unsigned char sig[CSE__SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok =
        ctx != NULL && k != NULL && k->kind == CSE_KEY_SIGNING &&
        EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
        EVP_DigestVerify(ctx, sig, CSE__SIG_LEN, (const unsigned char *)msg, len) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

/* ---- Sealing pseudonyms to the linkage key ----------------------------- */

/* HKDF-SHA256(ikm = X25519 shared secret, salt = ephemeral || recipient
 * public key, info = label) -> the AES-256-GCM key. */
static int derive(EVP_PKEY *mine, EVP_PKEY *peer, const unsigned char epk[32],
                  const unsigned char rpk[32], unsigned char key[32])
{
    static const char info[] = "csemarker partial pseudonyms v2";
    unsigned char secret[32], salt[64];
    size_t slen = sizeof(secret), klen = 32;
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(mine, NULL), *hc = NULL;
    int ok = dc != NULL && EVP_PKEY_derive_init(dc) == 1 &&
             EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
             EVP_PKEY_derive(dc, secret, &slen) == 1 && slen == 32;

    memcpy(salt, epk, 32);
    memcpy(salt + 32, rpk, 32);
    ok = ok && (hc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) != NULL &&
         EVP_PKEY_derive_init(hc) == 1 &&
         EVP_PKEY_CTX_set_hkdf_md(hc, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set1_hkdf_salt(hc, salt, sizeof(salt)) == 1 &&
         EVP_PKEY_CTX_set1_hkdf_key(hc, secret, (int)slen) == 1 &&
         EVP_PKEY_CTX_add1_hkdf_info(hc, (const unsigned char *)info,
                                     (int)sizeof(info) - 1) == 1 &&
         EVP_PKEY_derive(hc, key, &klen) == 1 && klen == 32;
    OPENSSL_cleanse(secret, sizeof(secret));
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_CTX_free(hc);
    return ok;
}

static int gcm(int enc, const unsigned char key[32], const unsigned char iv[12],
               const unsigned char *aad, size_t aadlen, const unsigned char *in,
               size_t len, unsigned char *out, unsigned char tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c != NULL &&
                    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
                    EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
                    (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);

    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

cse_code cse__seal(const cse_report_key *rk, const unsigned char *aad, size_t aadlen,
                   const unsigned char *plain, size_t len, unsigned char **out,
                   size_t *outlen)
{
    EVP_PKEY *eph = NULL;
    unsigned char key[32], *buf = NULL;
    size_t elen = 32;
    cse_code rc = CSE_ERR_INTERNAL;

    *out = NULL;
    *outlen = 0;
    if (rk == NULL || rk->kind != CSE_KEY_LINKAGE)
        return CSE_ERR_INVALID_ARG;
    if ((buf = malloc(CSE__SEAL_OVERHEAD + len)) == NULL)
        return CSE_ERR_NOMEM;
    if ((eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL ||
        EVP_PKEY_get_raw_public_key(eph, buf, &elen) != 1 || elen != 32 ||
        RAND_bytes(buf + 32, 12) != 1 || !derive(eph, rk->pkey, buf, rk->pub, key) ||
        !gcm(1, key, buf + 32, aad, aadlen, plain, len, buf + 44, buf + 44 + len))
        goto out;
    *out = buf;
    *outlen = CSE__SEAL_OVERHEAD + len;
    buf = NULL;
    rc = CSE_OK;
out:
    OPENSSL_cleanse(key, sizeof(key));
    EVP_PKEY_free(eph);
    free(buf);
    return rc;
}

cse_code cse__open(const cse_report_key *k, const unsigned char *aad, size_t aadlen,
                   const unsigned char *sealed, size_t len, unsigned char **out,
                   size_t *outlen)
{
    EVP_PKEY *peer = NULL;
    unsigned char key[32], *buf = NULL;
    cse_code rc = CSE_ERR_INTEGRITY;

    *out = NULL;
    *outlen = 0;
    if (k == NULL || !k->is_private || k->kind != CSE_KEY_LINKAGE)
        return CSE_ERR_INVALID_ARG;
    if (len < CSE__SEAL_OVERHEAD)
        return CSE_ERR_INTEGRITY;
    if ((buf = malloc(len - CSE__SEAL_OVERHEAD + 1)) == NULL)
        return CSE_ERR_NOMEM;
    if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, sealed, 32)) == NULL ||
        !derive(k->pkey, peer, sealed, k->pub, key) ||
        !gcm(0, key, sealed + 32, aad, aadlen, sealed + 44, len - CSE__SEAL_OVERHEAD, buf,
             (unsigned char *)sealed + len - 16))
        goto out;
    *out = buf;
    *outlen = len - CSE__SEAL_OVERHEAD;
    buf = NULL;
    rc = CSE_OK;
out:
    OPENSSL_cleanse(key, sizeof(key));
    EVP_PKEY_free(peer);
    free(buf);
    return rc;
}

/* ---- The registry ------------------------------------------------------ */

void cse_registry_free(cse_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_keys; i++)
        cse_report_key_free(r->keys[i]);
    free(r->keys);
    free(r->practices);
    free(r);
}

static int practice_cmp(const void *a, const void *b)
{
    return strcmp(((const cse__reg_practice *)a)->ods,
                  ((const cse__reg_practice *)b)->ods);
}

const cse__reg_practice *cse__registry_find(const cse_registry *r, const char *ods)
{
    cse__reg_practice key;

    if (strlen(ods) >= sizeof(key.ods))
        return NULL;
    strcpy(key.ods, ods);
    return bsearch(&key, r->practices, r->n, sizeof(*r->practices), practice_cmp);
}

const cse_report_key *cse__registry_key(const cse_registry *r, const char *owner,
                                        const char *id)
{
    for (size_t i = 0; i < r->n_keys; i++)
        if (strcmp(r->keys[i]->owner, owner) == 0 && strcmp(r->keys[i]->id, id) == 0)
            return r->keys[i];
    return NULL;
}

int cse__registry_has_owner(const cse_registry *r, const char *owner)
{
    for (size_t i = 0; i < r->n_keys; i++)
        if (strcmp(r->keys[i]->owner, owner) == 0)
            return 1;
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

static cse_code load_registry_file(cse_registry *r, const char *path, cse_error *err)
{
    FILE *fp = fopen(path, "r");
    char line[REGISTRY_MAX_LINE];
    cse_code rc = CSE_OK;
    int ln = 0;

    if (fp == NULL)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "",
                              "cannot open the registry: %s", strerror(errno));
    while (rc == CSE_OK && fgets(line, sizeof(line), fp) != NULL) {
        char *s = trim(line), word[16], ods[16], tail;
        unsigned long pop;
        ln++;
        if (*s == '\0' || *s == '#')
            continue;
        if (sscanf(s, "ics %15s %c", ods, &tail) == 1 && valid_owner(ods)) {
            if (r->ics[0] != '\0') {
                rc = cse__error_set(err, CSE_ERR_STRUCTURE, ln, path, "",
                                    "the ICS is named twice");
                break;
            }
            strcpy(r->ics, ods);
            continue;
        }
        if (sscanf(s, "%15s %15s %lu %c", word, ods, &pop, &tail) == 3 &&
            strcmp(word, "practice") == 0 && valid_owner(ods)) {
            cse__reg_practice *np;
            if (pop == 0 || pop > POPULATION_MAX) {
                rc = cse__error_set(err, CSE_ERR_STRUCTURE, ln, path, "",
                                    "practice %s: registered population must be 1 to %u",
                                    ods, POPULATION_MAX);
                break;
            }
            if (r->n == r->cap) {
                size_t ncap = r->cap ? r->cap * 2 : 64;
                if ((np = realloc(r->practices, ncap * sizeof(*np))) == NULL) {
                    rc =
                        cse__error_set(err, CSE_ERR_NOMEM, ln, path, "", "out of memory");
                    break;
                }
                r->practices = np;
                r->cap = ncap;
            }
            memset(&r->practices[r->n], 0, sizeof(*r->practices));
            strcpy(r->practices[r->n].ods, ods);
            r->practices[r->n++].population = pop;
            continue;
        }
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, ln, path, "",
                            "expected 'ics ODS' or 'practice ODS POPULATION'");
    }
    fclose(fp);
    if (rc != CSE_OK)
        return rc;
    if (r->ics[0] == '\0')
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                              "the registry does not name the ICS (a line 'ics ODS')");
    if (r->n == 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                              "the registry names no practice");
    qsort(r->practices, r->n, sizeof(*r->practices), practice_cmp);
    for (size_t i = 1; i < r->n; i++)
        if (strcmp(r->practices[i - 1].ods, r->practices[i].ods) == 0)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                                  "practice %s is listed twice", r->practices[i].ods);
    return CSE_OK;
}

static cse_code load_keys_file(cse_registry *r, const char *path, cse_error *err)
{
    FILE *fp = fopen(path, "r");
    char line[REGISTRY_MAX_LINE];
    cse_code rc = CSE_OK;
    int ln = 0;

    if (fp == NULL)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "",
                              "cannot open the keys file: %s", strerror(errno));
    while (rc == CSE_OK && fgets(line, sizeof(line), fp) != NULL) {
        char *s = trim(line), alg[16];
        cse_report_key *k, **nk;
        ln++;
        if (*s == '\0' || *s == '#')
            continue;
        if ((k = calloc(1, sizeof(*k))) == NULL) {
            rc = cse__error_set(err, CSE_ERR_NOMEM, ln, path, "", "out of memory");
            break;
        }
        if (parse_pub_line(s, k->owner, alg, k->pub) != 0 ||
            (strcmp(alg, "x25519") != 0 &&
             (strcmp(alg, "ed25519") != 0 || !valid_owner(k->owner)))) {
            free(k);
            rc = cse__error_set(err, CSE_ERR_STRUCTURE, ln, path, "",
                                "expected 'ODS ed25519 HEX' (a signing key's .pub line)");
            break;
        }
        if (strcmp(alg, "x25519") == 0) { /* the linkage key's line: not a signer */
            free(k);
            continue;
        }
        k->kind = CSE_KEY_SIGNING;
        if ((k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->pub, 32)) ==
            NULL) {
            free(k);
            rc = cse__error_set(err, CSE_ERR_STRUCTURE, ln, path, "",
                                "not a valid Ed25519 public key");
            break;
        }
        pub_id(CSE_KEY_SIGNING, k->pub, k->id);
        if ((nk = realloc(r->keys, (r->n_keys + 1) * sizeof(*nk))) == NULL) {
            cse_report_key_free(k);
            rc = cse__error_set(err, CSE_ERR_NOMEM, ln, path, "", "out of memory");
            break;
        }
        r->keys = nk;
        r->keys[r->n_keys++] = k;
    }
    fclose(fp);
    if (rc == CSE_OK && r->n_keys == 0)
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                            "the keys file holds no signing key");
    return rc;
}

cse_registry *cse_registry_load(const char *registry, const char *keys, cse_error *err)
{
    cse_registry *r;

    if (registry == NULL || keys == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                       "a registry and a keys file are both needed");
        return NULL;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        cse__error_set(err, CSE_ERR_NOMEM, 0, registry, "", "out of memory");
        return NULL;
    }
    if (load_registry_file(r, registry, err) != CSE_OK ||
        load_keys_file(r, keys, err) != CSE_OK) {
        cse_registry_free(r);
        return NULL;
    }
    return r;
}

size_t cse_registry_practice_count(const cse_registry *r)
{
    return r ? r->n : 0;
}
