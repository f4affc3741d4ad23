/* SPDX-License-Identifier: MIT */
/* SMART Backend Services: the client's private key and its signed JWT client
 * assertion. Signing is libjwt's (OpenSSL backend), which writes ES384
 * signatures in the JOSE form, raw 96-byte R||S, and base64url without
 * padding; OpenSSL only reads the key and makes the random jti. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "fetch_internal.h"
#include "internal.h"

#define KEY_FILE_MAX (64 * 1024)

char *cse__fetch_b64url(const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63];
        *o++ = tab[v >> 6 & 63], *o++ = tab[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63], *o++ = tab[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

/* base64url of a big-endian number, left-padded to width bytes (0 = minimal). */
static char *bn_b64url(const EVP_PKEY *pkey, const char *param, int width)
{
    BIGNUM *bn = NULL;
    unsigned char *bin = NULL;
    char *out = NULL;
    int n;

    if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
        return NULL;
    n = width > 0 ? width : BN_num_bytes(bn);
    if ((bin = malloc(n > 0 ? (size_t)n : 1)) == NULL)
        goto out;
    if (BN_bn2binpad(bn, bin, n) != n)
        goto out;
    out = cse__fetch_b64url(bin, (size_t)n);
out:
    free(bin);
    BN_free(bn);
    return out;
}

/* RFC 7638: SHA-256 over the required public members in lexical order. */
static cse_code thumbprint(cse__fetch_key *k)
{
    char *a = NULL, *b = NULL, *jwk = NULL, *t = NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;
    cse_code rc = CSE_ERR_NOMEM;
    int n;

    if (k->es384) {
        a = bn_b64url(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 48);
        b = bn_b64url(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 48);
        if (a == NULL || b == NULL)
            goto out;
        n = asprintf(&jwk, "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                     a, b);
    } else {
        a = bn_b64url(k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        b = bn_b64url(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        if (a == NULL || b == NULL)
            goto out;
        n = asprintf(&jwk, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
    }
    if (n < 0) {
        jwk = NULL;
        goto out;
    }
    if (!EVP_Digest(jwk, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        rc = CSE_ERR_INTERNAL;
        goto out;
    }
    if ((t = cse__fetch_b64url(md, mdlen)) == NULL)
        goto out;
    snprintf(k->thumbprint, sizeof(k->thumbprint), "%s", t);
    rc = CSE_OK;
out:
    free(a);
    free(b);
    free(jwk);
    free(t);
    return rc;
}

/* Refuses passphrase prompts: encrypted keys are not supported. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

cse_code cse__fetch_key_load(const char *path, cse__fetch_key *k, cse_error *err)
{
    unsigned char *raw = NULL;
    BIO *in = NULL, *out = NULL;
    char group[64];
    struct stat st;
    ssize_t got;
    size_t len = 0;
    int fd = -1;
    cse_code rc;

    memset(k, 0, sizeof(*k));
    if (path == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "no private key given");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, NULL, "cannot open key: %s",
                            strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, NULL, "key is not a regular file");
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = cse__error_set(err, CSE_ERR_PERMISSION, 0, path, NULL,
                            "private key is accessible by group or others "
                            "(chmod 600 it)");
        goto out;
    }
    if (st.st_size <= 0 || st.st_size > KEY_FILE_MAX) {
        rc = cse__error_set(err, CSE_ERR_PARSE, 0, path, NULL,
                            "key file is empty or larger than %d bytes", KEY_FILE_MAX);
        goto out;
    }
    if ((raw = malloc((size_t)st.st_size)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL, "out of memory");
        goto out;
    }
    while (len < (size_t)st.st_size &&
           (got = read(fd, raw + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)got;
    if (len != (size_t)st.st_size) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, NULL, "cannot read key");
        goto out;
    }
    if ((in = BIO_new_mem_buf(raw, (int)len)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL, "out of memory");
        goto out;
    }
    k->pkey = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL);
    if (k->pkey == NULL) {
        rc = cse__error_set(err, CSE_ERR_PARSE, 0, path, NULL,
                            "not an unencrypted PEM private key");
        goto out;
    }
    if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(k->pkey) < 2048) {
            rc = cse__error_set(err, CSE_ERR_UNSUPPORTED, 0, path, NULL,
                                "RSA key shorter than 2048 bits");
            goto out;
        }
        k->es384 = 0;
    } else if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC &&
               EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                              sizeof(group), NULL) &&
               strcmp(group, "secp384r1") == 0) {
        k->es384 = 1;
    } else {
        rc = cse__error_set(err, CSE_ERR_UNSUPPORTED, 0, path, NULL,
                            "key is neither RSA (RS384) nor EC P-384 (ES384)");
        goto out;
    }
    /* libjwt gets the key exactly as validated, in one canonical form. */
    if ((out = BIO_new(BIO_s_secmem())) == NULL ||
        !PEM_write_bio_PrivateKey(out, k->pkey, NULL, NULL, 0, NULL, NULL)) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL, "out of memory");
        goto out;
    }
    {
        char *data = NULL;
        long n = BIO_get_mem_data(out, &data);
        if (n <= 0 || (k->pem = malloc((size_t)n)) == NULL) {
            rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL, "out of memory");
            goto out;
        }
        memcpy(k->pem, data, (size_t)n);
        k->pem_len = (size_t)n;
    }
    if ((rc = thumbprint(k)) != CSE_OK) {
        cse__error_set(err, rc, 0, path, NULL, "cannot compute the key thumbprint");
        goto out;
    }
    rc = CSE_OK;
out:
    if (fd >= 0)
        close(fd);
    if (raw != NULL) {
        OPENSSL_cleanse(raw, len);
        free(raw);
    }
    BIO_free(in);
    BIO_free(out);
    if (rc != CSE_OK)
        cse__fetch_key_free(k);
    return rc;
}

void cse__fetch_key_free(cse__fetch_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    if (k->pem != NULL) {
        OPENSSL_cleanse(k->pem, k->pem_len);
        free(k->pem);
    }
    memset(k, 0, sizeof(*k));
}

const char *cse__fetch_key_alg(const cse__fetch_key *k)
{
    return k->es384 ? "ES384" : "RS384";
}

cse_code cse__fetch_assertion(const cse__fetch_key *k, const char *kid,
                              const char *client_id, const char *aud, time_t now,
                              long lifetime, char **out, cse_error *err)
{
    unsigned char rnd[16];
    char jti[33];
    jwt_t *jwt = NULL;
    char *s = NULL;
    cse_code rc = CSE_ERR_INTERNAL;

    *out = NULL;
    if (k == NULL || k->pem == NULL || client_id == NULL || aud == NULL ||
        lifetime <= 0 || lifetime > 300)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "client assertion: bad arguments");
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                              "no randomness for the assertion jti");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
    if (jwt_new(&jwt) != 0) {
        rc = CSE_ERR_NOMEM;
        goto out;
    }
    if (jwt_set_alg(jwt, k->es384 ? JWT_ALG_ES384 : JWT_ALG_RS384, k->pem,
                    (int)k->pem_len) != 0 ||
        jwt_add_header(jwt, "typ", "JWT") != 0 ||
        jwt_add_header(jwt, "kid", kid != NULL ? kid : k->thumbprint) != 0 ||
        jwt_add_grant(jwt, "iss", client_id) != 0 ||
        jwt_add_grant(jwt, "sub", client_id) != 0 ||
        jwt_add_grant(jwt, "aud", aud) != 0 || jwt_add_grant(jwt, "jti", jti) != 0 ||
        jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)now + lifetime) != 0)
        goto out;
    if ((s = jwt_encode_str(jwt)) == NULL)
        goto out;
    *out = s;
    rc = CSE_OK;
out:
    jwt_free(jwt); /* wipes its copy of the key */
    OPENSSL_cleanse(rnd, sizeof(rnd));
    if (rc != CSE_OK)
        cse__error_set(err, rc, 0, NULL, NULL, "cannot sign the client assertion (%s)",
                       cse__fetch_key_alg(k));
    return rc;
}
