/* SPDX-License-Identifier: MIT */
/* The audit journal: an append-only, keyed (MAC-chained), crash-safe file of
 * marker actions, and the keyed pseudonyms it names patients by.
 *
 * One line of canonical JSON per entry (keys sorted, no spaces, ASCII):
 *   {"action":..,"detail":{..}?,"mac":..,"marker":..,"of":N?,"patient":..,
 *    "phase":..,"prev":..,"role":..,"seq":N,"time":..,"txn":..,"user":..}
 * "mac" is HMAC-SHA256 with the practice key over the same object without
 * "mac"; it covers "prev", the MAC of the entry before (64 zeros for the
 * first), so nobody without the key can add, edit or rechain an entry. The
 * head record beside the journal holds the last acknowledged (seq, MAC) pair
 * under its own MAC, so that entries deleted at the end are found too.
 *
 * An action is journaled as an intention and its outcome: "intent" entries
 * (one per marker the action touches, sharing "txn", a MAC of the result the
 * module hands out, and "of", the seq of the first) are written before the
 * host gets the result; a "done" or "failed" entry with the same "txn" and
 * "of" when the host says whether it kept it. "event" entries record what the
 * journal itself did: "audit-recover" (an auditor's recovery, with what was
 * found) and "journal-repair" (a torn line from a crash removed).
 *
 * A journal that does not verify is never extended: every write verifies the
 * whole journal and the head under the lock first and refuses while they
 * disagree, until an explicit, journaled recovery. The only states a write
 * repairs are the two a crash leaves: a torn last line (never acknowledged:
 * removed, and the removal journaled) and one complete entry one past the
 * head whose own MAC verifies (its append reached the disk: adopted).
 * Verifying and opening never change a file.
 *
 * An append is acknowledged only after the line is fsync'ed and the head
 * record replaced (a temporary opened O_EXCL | O_NOFOLLOW, fsync, rename,
 * fsync of the folder). Writers are serialised by flock() on a lock file
 * beside the journal and by a mutex per handle. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "internal.h"
#include "plugin_internal.h"

#define LINE_MAX_BYTES 8192
#define ZERO_MAC "0000000000000000000000000000000000000000000000000000000000000000"
#define LOCK_NAME "csemarker-audit.lock"
#define HEAD_TMP CSE__JOURNAL_HEAD ".tmp"
#define JOURNAL_TMP CSE__JOURNAL_FILE ".tmp"
#define ARCHIVE_PREFIX "csemarker-audit.damaged-"
#define ENTRY_DOMAIN "csemarker-journal-entry-v2\n"
#define HEAD_DOMAIN "csemarker-journal-head-v2\n"
#define RESULT_DOMAIN "csemarker-result-v1\n"
#define UNCONFIRMED_LISTED 1000

/* ---- Keys and pseudonyms ------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0xF];
    }
    out[2 * n] = '\0';
}

cse_code cse__key_load(const char *path, unsigned char key[CSE__KEY_MAX], size_t *len,
                       cse_error *err)
{
    unsigned char buf[CSE__KEY_MAX + 2];
    struct stat st;
    ssize_t got;
    size_t n = 0;
    int fd = -1;
    cse_code rc = CSE_OK;

    if (path == NULL || key == NULL || len == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "key_file",
                              "no key file given");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "key_file",
                            "cannot open the key file: %s", strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "key_file",
                            "the key file is not a regular file");
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = cse__error_set(err, CSE_ERR_PERMISSION, 0, path, "key_file",
                            "the key file may be read or written by group or others "
                            "(mode %03o): refused; chmod 600 it",
                            (unsigned)(st.st_mode & 0777));
        goto out;
    }
    while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = cse__error_set(err, CSE_ERR_IO, 0, path, "key_file",
                                "cannot read the key file: %s", strerror(errno));
            goto out;
        }
        n += (size_t)got;
    }
    if (n > CSE__KEY_MAX) {
        rc = cse__error_set(err, CSE_ERR_LIMIT, 0, path, "key_file",
                            "the key file is longer than %d bytes", CSE__KEY_MAX);
        goto out;
    }
    /* 64 hex digits, perhaps with a newline, is a hex-encoded 32-byte key. */
    if ((n == 64 || (n == 65 && buf[64] == '\n')) &&
        strspn((const char *)buf, "0123456789abcdefABCDEF") >= 64) {
        for (size_t i = 0; i < 32; i++)
            key[i] = (unsigned char)(hexval(buf[2 * i]) << 4 | hexval(buf[2 * i + 1]));
        *len = 32;
    } else if (n >= 32) {
        memcpy(key, buf, n);
        *len = n;
    } else {
        rc = cse__error_set(err, CSE_ERR_PERMISSION, 0, path, "key_file",
                            "the key is too short: need 32 bytes or 64 hex digits");
    }
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    return rc;
}

cse_code cse__pseudonym(const unsigned char *key, size_t keylen, const char *nhs10,
                        char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (key == NULL || nhs10 == NULL || out == NULL)
        return CSE_ERR_INVALID_ARG;
    if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)nhs10, strlen(nhs10),
             md, &mdlen) == NULL ||
        mdlen != 32)
        return CSE_ERR_INTERNAL;
    to_hex(md, 32, out);
    return CSE_OK;
}

/* ---- MACs --------------------------------------------------------------- */

#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

/* An HMAC-SHA256 context keyed with the practice key, made once per handle
 * (fetching and keying per entry would dominate verification). */
static void *keyed_ctx_new(const unsigned char *key, size_t keylen)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];

    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    EVP_MAC_free(mac); /* the context holds its own reference */
    return ctx;
}

/* HMAC-SHA256 with the practice key over domain || data, as hex. Called
 * under the handle's mutex (the keyed context is shared). */
static cse_code keyed_mac(const cse__journal *j, const char *domain, const void *data,
                          size_t len, char out[65])
{
    EVP_MAC_CTX *ctx = j->mac ? EVP_MAC_CTX_dup(j->mac) : NULL;
    unsigned char md[32];
    size_t mdlen = 0;
    cse_code rc = CSE_ERR_INTERNAL;

    if (ctx != NULL &&
        EVP_MAC_update(ctx, (const unsigned char *)domain, strlen(domain)) == 1 &&
        EVP_MAC_update(ctx, data, len) == 1 &&
        EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) == 1 && mdlen == 32) {
        to_hex(md, 32, out);
        rc = CSE_OK;
    }
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/* The MAC of an entry object without its "mac" member. */
static cse_code entry_mac(const cse__journal *j, json_t *entry, char out[65])
{
    json_t *copy = json_copy(entry);
    char *canon;
    cse_code rc;

    if (copy == NULL)
        return CSE_ERR_NOMEM;
    json_object_del(copy, "mac");
    canon = json_dumps(copy, CANON_FLAGS);
    json_decref(copy);
    if (canon == NULL)
        return CSE_ERR_NOMEM;
    rc = keyed_mac(j, ENTRY_DOMAIN, canon, strlen(canon), out);
    free(canon);
    return rc;
}

/* The MAC of a line already known to be canonical: the canonical form
 * without "mac" is the line without its `"mac":"<64 hex>",` member, found
 * as the first `,"mac":"` (the keys before "mac" are "action" and "detail",
 * whose strings are escaped and whose keys are the journal's own). These are
 * the bytes entry_mac() signs, without serialising every entry again. */
static cse_code line_mac(const cse__journal *j, const char *line, size_t len,
                         char out[65])
{
    static const char member[] = ",\"mac\":\"";
    const size_t cut = sizeof(member) - 2 + 64 + 2; /* "mac":"<64 hex>", */
    const char *p = NULL;
    char *buf;
    size_t at;
    cse_code rc;

    for (size_t i = 0; i + sizeof(member) - 1 <= len; i++)
        if (memcmp(line + i, member, sizeof(member) - 1) == 0) {
            p = line + i;
            break;
        }
    if (p == NULL)
        return CSE_ERR_INTEGRITY;
    at = (size_t)(p - line) + 1;
    if (at + cut > len || line[at + cut - 2] != '"' || line[at + cut - 1] != ',')
        return CSE_ERR_INTEGRITY;
    if ((buf = malloc(len - cut)) == NULL)
        return CSE_ERR_NOMEM;
    memcpy(buf, line, at);
    memcpy(buf + at, line + at + cut, len - at - cut);
    rc = keyed_mac(j, ENTRY_DOMAIN, buf, len - cut, out);
    free(buf);
    return rc;
}

static cse_code head_mac(const cse__journal *j, long long seq, const char *tail,
                         char out[65])
{
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "%lld|%s", seq, tail);
    return keyed_mac(j, HEAD_DOMAIN, msg, (size_t)n, out);
}

static bool is_hex64(const char *s)
{
    return s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* "YYYY-MM-DDThh:mm:ssZ": the only form the journal writes; such strings
 * order as times when compared as strings. */
static bool is_iso_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (s == NULL || strlen(s) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    return true;
}

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm g;
    gmtime_r(&t, &g);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &g);
}

/* ---- Files -------------------------------------------------------------- */

/* Files in the journal folder: never through a symbolic link, and never
 * blocking on a FIFO planted under a journal name (the regular-file checks
 * after opening refuse it). */
static int open_in(const cse__journal *j, const char *name, int flags, mode_t mode)
{
    return openat(j->dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                  mode);
}

static cse_code sync_dir(const cse__journal *j, cse_error *err)
{
    if (fsync(j->dirfd) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "cannot sync the journal folder: %s", strerror(errno));
    return CSE_OK;
}

static cse_code write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return CSE_ERR_IO;
        }
        buf += w;
        n -= (size_t)w;
    }
    return CSE_OK;
}

/* The folder must belong to the user who runs the module and be writable by
 * nobody else: whoever can write it can plant links or delete the journal. */
static cse_code check_dir(const cse__journal *j, cse_error *err)
{
    struct stat st;

    if (fstat(j->dirfd, &st) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, j->dir, "journal_dir",
                              "cannot stat the journal folder: %s", strerror(errno));
    if (st.st_uid != geteuid())
        return cse__error_set(err, CSE_ERR_PERMISSION, 0, j->dir, "journal_dir",
                              "the journal folder belongs to another user (uid %u, not "
                              "%u): refused; it must be owned by the user the module "
                              "runs as",
                              (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return cse__error_set(err, CSE_ERR_PERMISSION, 0, j->dir, "journal_dir",
                              "the journal folder may be written by group or others "
                              "(mode %03o): refused; chmod go-w it",
                              (unsigned)(st.st_mode & 0777));
    return CSE_OK;
}

/* Takes the journal lock. exclusive: for writers (creates the lock file).
 * Otherwise shared, for readers; *fd is -1 when no writer ever made the lock
 * file (then there is nothing to wait for). */
static cse_code lock_journal(const cse__journal *j, bool exclusive, int *fd,
                             cse_error *err)
{
    struct stat st;

    *fd = exclusive ? open_in(j, LOCK_NAME, O_RDWR | O_CREAT, 0600)
                    : open_in(j, LOCK_NAME, O_RDONLY, 0);
    if (*fd < 0) {
        if (!exclusive && errno == ENOENT)
            return CSE_OK;
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "cannot open the journal lock file %s: %s", LOCK_NAME,
                              strerror(errno));
    }
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "the journal lock file %s is not a regular file",
                              LOCK_NAME);
    }
    while (flock(*fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(*fd);
            *fd = -1;
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot lock the journal: %s", strerror(e));
        }
    }
    return CSE_OK;
}

static void unlock_journal(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* Removes a temporary left by a crash. Called under the exclusive lock, in a
 * folder no one else may write, so the name can only be ours; unlinking a
 * planted link removes the link, never its target. */
static cse_code remove_stale(const cse__journal *j, const char *name, cse_error *err)
{
    if (unlinkat(j->dirfd, name, 0) != 0 && errno != ENOENT)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "cannot remove the stale temporary %s: %s", name,
                              strerror(errno));
    return CSE_OK;
}

/* Creates a temporary for writing: O_EXCL | O_NOFOLLOW, so a file or link
 * planted under its name is never written through. */
static int create_temp(const cse__journal *j, const char *name, cse_error *err)
{
    int fd = open_in(j, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno == EEXIST && remove_stale(j, name, err) == CSE_OK)
        fd = open_in(j, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                       "cannot create the temporary %s: %s", name, strerror(errno));
    return fd;
}

/* Replaces the head record atomically with (seq, tail). */
static cse_code write_head(const cse__journal *j, long long seq, const char *tail,
                           cse_error *err)
{
    char mac[65], line[256];
    int fd = -1, n;
    cse_code rc = CSE_OK;

    if ((rc = head_mac(j, seq, tail, mac)) != CSE_OK)
        return cse__error_set(err, rc, 0, NULL, "journal", "cannot compute the head MAC");
    n = snprintf(line, sizeof(line), "{\"mac\":\"%s\",\"seq\":%lld,\"tail\":\"%s\"}\n",
                 mac, seq, tail);
    if ((fd = create_temp(j, HEAD_TMP, err)) < 0)
        return err ? err->code : CSE_ERR_IO;
    if (write_all(fd, line, (size_t)n) != CSE_OK || fsync(fd) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot write the journal head: %s", strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (renameat(j->dirfd, HEAD_TMP, j->dirfd, CSE__JOURNAL_HEAD) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot replace the journal head: %s", strerror(errno));
        goto out;
    }
    rc = sync_dir(j, err);
out:
    if (fd >= 0)
        close(fd);
    if (rc != CSE_OK)
        unlinkat(j->dirfd, HEAD_TMP, 0);
    return rc;
}

/* ---- Reading and verifying ---------------------------------------------- */

enum { HEAD_ABSENT, HEAD_OK, HEAD_DAMAGED, HEAD_FORGED };
static const char *const head_state_names[] = {"absent", "ok", "damaged", "bad-mac"};

typedef struct head_rec {
    int state;
    long long seq;
    char tail[65];
    char mac[65];
} head_rec;

/* An action whose intention is journaled and whose outcome is not (yet). */
typedef struct pend {
    long long of, last;
    int count;
    char txn[65];
    char *action, *patient, *marker;
} pend;

typedef struct scan {
    head_rec head;
    bool present; /* the journal file exists */
    bool regular; /* ... and is a regular file */
    long long n;  /* entries verified, in order */
    char last_mac[65];
    char last_time[32];
    char mac_at_head[65];
    off_t good; /* bytes of the verified entries */
    size_t torn_len;
    char torn[LINE_MAX_BYTES + 1];
    bool bad;
    long long bad_seq;
    char problem[256];
    bool adopt; /* entry n is one past the head: a crash's complete append */
    bool want_expect;
    long long expect_seq;
    char expect_mac[65];
    char expect_got[65];
    json_t *recoveries;
    json_t *repairs;
    pend *p;
    size_t np, cap;
} scan;

static void scan_clear(scan *s)
{
    for (size_t i = 0; i < s->np; i++) {
        free(s->p[i].action);
        free(s->p[i].patient);
        free(s->p[i].marker);
    }
    free(s->p);
    json_decref(s->recoveries);
    json_decref(s->repairs);
    s->p = NULL;
    s->np = s->cap = 0;
    s->recoveries = s->repairs = NULL;
}

__attribute__((format(printf, 3, 4))) static void set_bad(scan *s, long long seq,
                                                          const char *fmt, ...)
{
    va_list ap;
    if (s->bad)
        return;
    s->bad = true;
    s->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(s->problem, sizeof(s->problem), fmt, ap);
    va_end(ap);
}

/* Reads the head record; its state says whether it is there, whole and
 * carries the key's MAC. Only an I/O error is an error. */
static cse_code read_head(const cse__journal *j, head_rec *h, cse_error *err)
{
    char buf[512], want[256], mac[65];
    struct stat st;
    ssize_t got;
    json_t *root = NULL;
    const char *tail = NULL, *m = NULL;
    json_int_t seq = -1;
    int fd;

    memset(h, 0, sizeof(*h));
    if ((fd = open_in(j, CSE__JOURNAL_HEAD, O_RDONLY, 0)) < 0) {
        if (errno == ENOENT) {
            h->state = HEAD_ABSENT;
            return CSE_OK;
        }
        if (errno == ELOOP) {
            h->state = HEAD_DAMAGED;
            return CSE_OK;
        }
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "head",
                              "cannot open the journal head: %s", strerror(errno));
    }
    h->state = HEAD_DAMAGED;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size >= (off_t)sizeof(buf)) {
        close(fd);
        return CSE_OK;
    }
    got = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    if (got <= 0)
        return CSE_OK;
    buf[got] = '\0';
    if ((root = json_loadb(buf, (size_t)got, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
        json_unpack(root, "{s:I, s:s, s:s !}", "seq", &seq, "tail", &tail, "mac", &m) !=
            0 ||
        seq < 0 || !is_hex64(tail) || !is_hex64(m))
        goto out;
    /* Only the exact bytes the module writes. */
    snprintf(want, sizeof(want), "{\"mac\":\"%s\",\"seq\":%lld,\"tail\":\"%s\"}\n", m,
             (long long)seq, tail);
    if (strcmp(want, buf) != 0)
        goto out;
    h->seq = seq;
    memcpy(h->tail, tail, 65);
    memcpy(h->mac, m, 65);
    h->state =
        head_mac(j, h->seq, h->tail, mac) == CSE_OK && CRYPTO_memcmp(mac, h->mac, 64) == 0
            ? HEAD_OK
            : HEAD_FORGED;
out:
    json_decref(root);
    return CSE_OK;
}

static bool known_action(const char *a)
{
    static const char *const actions[] = {
        "marker-add",   "marker-review", "marker-end",         "marker-entered-in-error",
        "gp2gp-export", "gp2gp-import",  "gp2gp-import-forced"};
    for (size_t i = 0; i < sizeof(actions) / sizeof(*actions); i++)
        if (strcmp(a, actions[i]) == 0)
            return true;
    return false;
}

static pend *find_pend(scan *s, long long of)
{
    for (size_t i = 0; i < s->np; i++)
        if (s->p[i].of == of)
            return &s->p[i];
    return NULL;
}

static bool add_pend(scan *s, long long seq, const char *txn, const char *action,
                     const char *patient, const char *marker)
{
    pend *p;
    if (s->np == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        pend *np = realloc(s->p, cap * sizeof(*np));
        if (np == NULL)
            return false;
        s->p = np;
        s->cap = cap;
    }
    p = &s->p[s->np];
    memset(p, 0, sizeof(*p));
    p->of = p->last = seq;
    p->count = 1;
    memcpy(p->txn, txn, 65);
    p->action = strdup(action);
    p->patient = patient ? strdup(patient) : NULL;
    p->marker = marker ? strdup(marker) : NULL;
    if (p->action == NULL || (patient && !p->patient) || (marker && !p->marker)) {
        free(p->action);
        free(p->patient);
        free(p->marker);
        return false;
    }
    s->np++;
    return true;
}

static void drop_pend(scan *s, pend *p)
{
    free(p->action);
    free(p->patient);
    free(p->marker);
    *p = s->p[--s->np];
}

static bool str_or_null_ok(json_t *v)
{
    return v != NULL && (json_is_string(v) || json_is_null(v));
}

/* Checks one complete line (without its newline) as entry s->n + 1. On
 * success the entry is taken into the scan; otherwise s->bad is set.
 * Returns an error only when out of memory. */
static cse_code check_entry(const cse__journal *j, scan *s, const char *line, size_t len)
{
    long long expect = s->n + 1;
    json_t *e = NULL, *role = NULL, *marker = NULL, *patient = NULL, *txn = NULL,
           *detail = NULL;
    json_int_t seq = 0, of = -1;
    const char *prev = NULL, *mac = NULL, *time_s = NULL, *user = NULL, *action = NULL,
               *phase = NULL;
    char want[65], *canon = NULL;
    cse_code rc = CSE_OK;

    if ((e = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
        !json_is_object(e)) {
        set_bad(s, expect,
                "entry %lld is not a journal line (edited, inserted or damaged)", expect);
        goto out;
    }
    if (json_unpack(
            e, "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s?:I, s?:o !}",
            "seq", &seq, "prev", &prev, "mac", &mac, "time", &time_s, "user", &user,
            "action", &action, "phase", &phase, "role", &role, "marker", &marker,
            "patient", &patient, "txn", &txn, "of", &of, "detail", &detail) != 0 ||
        !str_or_null_ok(role) || !str_or_null_ok(marker) || !str_or_null_ok(patient) ||
        !str_or_null_ok(txn)) {
        set_bad(s, expect, "entry %lld does not have the fields of a journal entry",
                expect);
        goto out;
    }
    if (seq != expect) {
        set_bad(s, expect,
                "found entry %lld where entry %lld belongs: an entry was deleted, "
                "inserted, duplicated or reordered",
                (long long)seq, expect);
        goto out;
    }
    if (strcmp(prev, s->last_mac) != 0) {
        set_bad(s, expect,
                "entry %lld does not chain to entry %lld: an entry was edited, deleted, "
                "inserted or reordered",
                expect, expect - 1);
        goto out;
    }
    if ((canon = json_dumps(e, CANON_FLAGS)) == NULL) {
        rc = CSE_ERR_NOMEM;
        goto out;
    }
    if (strlen(canon) != len || memcmp(canon, line, len) != 0) {
        set_bad(s, expect, "entry %lld is not written as the journal writes it (edited)",
                expect);
        goto out;
    }
    if (!is_hex64(mac) || (rc = line_mac(j, line, len, want)) != CSE_OK ||
        CRYPTO_memcmp(want, mac, 64) != 0) {
        if (rc == CSE_ERR_NOMEM)
            goto out;
        rc = CSE_OK;
        set_bad(
            s, expect,
            "entry %lld does not carry this practice key's MAC: it was edited or forged",
            expect);
        goto out;
    }
    if (!is_iso_time(time_s)) {
        set_bad(s, expect, "entry %lld has no valid time", expect);
        goto out;
    }
    if (strcmp(time_s, s->last_time) < 0) {
        set_bad(s, expect, "entry %lld is dated before entry %lld: time went backwards",
                expect, expect - 1);
        goto out;
    }
    if (strcmp(phase, "intent") == 0) {
        pend *p;
        if (!known_action(action) || !json_is_string(txn) ||
            !is_hex64(json_string_value(txn)) || of < 1 || of > seq) {
            set_bad(s, expect, "entry %lld is not a valid intention", expect);
            goto out;
        }
        if (of == seq) {
            if (!add_pend(s, seq, json_string_value(txn), action,
                          json_string_value(patient), json_string_value(marker))) {
                rc = CSE_ERR_NOMEM;
                goto out;
            }
        } else if ((p = find_pend(s, of)) != NULL && p->last == seq - 1 &&
                   strcmp(p->txn, json_string_value(txn)) == 0 &&
                   strcmp(p->action, action) == 0) {
            p->last = seq;
            p->count++;
        } else {
            set_bad(s, expect,
                    "entry %lld continues an action that is not the one before it",
                    expect);
            goto out;
        }
    } else if (strcmp(phase, "done") == 0 || strcmp(phase, "failed") == 0) {
        pend *p = find_pend(s, of);
        if (p == NULL || !json_is_string(txn) ||
            strcmp(p->txn, json_string_value(txn)) != 0 ||
            strcmp(p->action, action) != 0) {
            set_bad(s, expect,
                    "entry %lld gives the outcome of an action whose intention is not "
                    "pending",
                    expect);
            goto out;
        }
        drop_pend(s, p);
    } else if (strcmp(phase, "event") == 0 && json_is_object(detail) &&
               (strcmp(action, "audit-recover") == 0 ||
                strcmp(action, "journal-repair") == 0)) {
        json_t *r = json_pack("{s:I,s:s,s:s,s:O?,s:O}", "seq", seq, "time", time_s,
                              "user", user, "role", role, "detail", detail);
        if (r == NULL ||
            json_array_append_new(strcmp(action, "audit-recover") == 0 ? s->recoveries
                                                                       : s->repairs,
                                  r) != 0) {
            rc = CSE_ERR_NOMEM;
            goto out;
        }
    } else {
        set_bad(s, expect, "entry %lld has an unknown phase or action", expect);
        goto out;
    }
    s->n = expect;
    memcpy(s->last_mac, mac, 65);
    snprintf(s->last_time, sizeof(s->last_time), "%s", time_s);
    if (s->head.state == HEAD_OK && seq == s->head.seq)
        memcpy(s->mac_at_head, mac, 65);
    if (s->want_expect && seq == s->expect_seq)
        memcpy(s->expect_got, mac, 65);
out:
    free(canon);
    json_decref(e);
    return rc;
}

/* A crash tears only a line the journal was writing: printable ASCII that
 * starts like an entry. Anything else at the end was put there. */
static bool plausible_torn(const char *b, size_t n)
{
    if (n < 1 || n > LINE_MAX_BYTES || b[0] != '{' || (n > 1 && b[1] != '"'))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
            return false;
    return true;
}

/* Reads and checks the whole journal and the head (read-only). The caller
 * holds the lock (shared or exclusive). */
static cse_code scan_journal(const cse__journal *j, scan *s, cse_error *err)
{
    FILE *fp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    struct stat st;
    int fd;
    cse_code rc;

    memcpy(s->last_mac, ZERO_MAC, 65);
    s->last_time[0] = '\0';
    s->mac_at_head[0] = '\0';
    if ((s->recoveries = json_array()) == NULL || (s->repairs = json_array()) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    if ((rc = read_head(j, &s->head, err)) != CSE_OK)
        return rc;
    if ((fd = open_in(j, CSE__JOURNAL_FILE, O_RDONLY, 0)) < 0) {
        if (errno == ELOOP) {
            s->present = true;
            set_bad(s, 1, "the journal is a symbolic link, not the journal file");
            return CSE_OK;
        }
        if (errno != ENOENT)
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot open the journal: %s", strerror(errno));
    } else {
        s->present = true;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            set_bad(s, 1, "the journal is not a regular file");
            return CSE_OK;
        }
        s->regular = true;
        if ((fp = fdopen(fd, "r")) == NULL) {
            close(fd);
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        }
        while (!s->bad && (got = getline(&line, &cap, fp)) > 0) {
            if (line[got - 1] != '\n') {
                if (!plausible_torn(line, (size_t)got)) {
                    set_bad(
                        s, s->n + 1,
                        "the journal ends in %lld bytes that are not part of an entry "
                        "(appended)",
                        (long long)got);
                    break;
                }
                memcpy(s->torn, line, (size_t)got);
                s->torn_len = (size_t)got;
                break;
            }
            if ((size_t)got > LINE_MAX_BYTES) {
                set_bad(s, s->n + 1, "entry %lld is longer than any journal entry",
                        s->n + 1);
                break;
            }
            if ((rc = check_entry(j, s, line, (size_t)got - 1)) != CSE_OK) {
                free(line);
                fclose(fp);
                return cse__error_set(err, rc, 0, NULL, NULL, "out of memory");
            }
            if (!s->bad)
                s->good += got;
        }
        if (ferror(fp)) {
            free(line);
            fclose(fp);
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot read the journal");
        }
        free(line);
        fclose(fp);
    }
    if (s->bad)
        return CSE_OK;
    /* The head: the last acknowledged entry. */
    switch (s->head.state) {
    case HEAD_DAMAGED:
        set_bad(s, s->n, "the journal head record is damaged or not a regular file");
        break;
    case HEAD_FORGED:
        set_bad(s, s->head.seq,
                "the journal head record does not carry this practice key's MAC (forged, "
                "or another practice's)");
        break;
    case HEAD_ABSENT:
        if (s->n == 1)
            s->adopt = true; /* a crash before the very first head */
        else if (s->n > 1)
            set_bad(
                s, s->n,
                "the journal head record is missing: entries at the end may have been "
                "deleted");
        break;
    default:
        if (s->head.seq > s->n)
            set_bad(s, s->n + 1,
                    "entry %lld is missing: the journal ends at entry %lld but %lld were "
                    "acknowledged (entries deleted at the end, or the journal truncated "
                    "or replaced)",
                    s->n + 1, s->n, s->head.seq);
        else if (s->head.seq > 0 && strcmp(s->mac_at_head, s->head.tail) != 0)
            set_bad(s, s->head.seq,
                    "entry %lld is not the entry that was acknowledged (the journal was "
                    "rewritten or replaced)",
                    s->head.seq);
        else if (s->head.seq == 0 && s->n > 0 && strcmp(s->head.tail, ZERO_MAC) != 0)
            set_bad(s, 0, "the journal head record is damaged");
        else if (s->n == s->head.seq + 1)
            s->adopt = true;
        else if (s->n > s->head.seq + 1)
            set_bad(s, s->head.seq + 2,
                    "entries %lld to %lld were never acknowledged (added after the head, "
                    "or an older head put back)",
                    s->head.seq + 2, s->n);
        break;
    }
    if (!s->bad && s->want_expect) {
        if (s->expect_seq > s->n)
            set_bad(s, s->expect_seq,
                    "the journal ends at entry %lld, before the anchored entry %lld: it "
                    "was rolled back or truncated",
                    s->n, s->expect_seq);
        else if (s->expect_seq == 0 ? strcmp(s->expect_mac, ZERO_MAC) != 0
                                    : strcmp(s->expect_got, s->expect_mac) != 0)
            set_bad(s, s->expect_seq,
                    "entry %lld is not the anchored entry: the journal was rolled back "
                    "or rewritten",
                    s->expect_seq);
    }
    return CSE_OK;
}

static json_t *scan_report(const scan *s)
{
    json_t *rep, *unconf;
    char anchor[96];
    size_t listed = 0;

    snprintf(anchor, sizeof(anchor), "%lld:%s", s->n, s->last_mac);
    rep = json_pack("{s:b,s:I,s:I,s:s,s:I,s:b,s:O,s:O}", "ok", !s->bad, "entries",
                    (json_int_t)s->n, "head_seq",
                    (json_int_t)(s->head.state == HEAD_OK ? s->head.seq : 0), "head_mac",
                    s->head.state == HEAD_OK ? s->head.tail : ZERO_MAC, "torn_tail_bytes",
                    (json_int_t)s->torn_len, "unacknowledged_entry", s->adopt,
                    "recoveries", s->recoveries, "repairs", s->repairs);
    if (rep == NULL || (unconf = json_array()) == NULL) {
        json_decref(rep);
        return NULL;
    }
    for (size_t i = 0; i < s->np && listed < UNCONFIRMED_LISTED; i++, listed++)
        json_array_append_new(
            unconf, json_pack("{s:I,s:s,s:i}", "seq", (json_int_t)s->p[i].of, "action",
                              s->p[i].action, "entries", s->p[i].count));
    json_object_set_new(rep, "unconfirmed", unconf);
    json_object_set_new(rep, "unconfirmed_count", json_integer((json_int_t)s->np));
    if (s->bad) {
        json_object_set_new(rep, "bad_seq", json_integer(s->bad_seq));
        json_object_set_new(rep, "problem", json_string(s->problem));
    } else {
        json_object_set_new(rep, "anchor", json_string(anchor));
    }
    return rep;
}

/* The error for a journal that does not verify; refusing: a write refused. */
static cse_code bad_error(const scan *s, cse_error *err, bool refusing)
{
    if (refusing)
        cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, NULL,
                       "the audit journal does not verify (%s): nothing is written until "
                       "an auditor has looked (audit verify) and recovered it (audit "
                       "recover)",
                       s->problem);
    else
        cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, NULL, "%s", s->problem);
    if (err && err->code == CSE_ERR_INTEGRITY)
        snprintf(err->path, sizeof(err->path), "seq %lld", s->bad_seq);
    return CSE_ERR_INTEGRITY;
}

/* ---- Writing ------------------------------------------------------------ */

/* Completes e (seq, prev, time, mac) as entry s->n + 1 and serialises it
 * with its newline into *line (malloc'd). */
static cse_code build_line(const cse__journal *j, const scan *s, json_t *e,
                           const char *now, char **line, char mac[65], cse_error *err)
{
    char *text;
    size_t n;
    cse_code rc;

    *line = NULL;
    if (json_object_set_new(e, "seq", json_integer(s->n + 1)) != 0 ||
        json_object_set_new(e, "prev", json_string(s->last_mac)) != 0 ||
        json_object_set_new(e, "time", json_string(now)) != 0)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    if ((rc = entry_mac(j, e, mac)) != CSE_OK ||
        json_object_set_new(e, "mac", json_string(mac)) != 0)
        return cse__error_set(err, rc ? rc : CSE_ERR_NOMEM, 0, NULL, NULL,
                              "cannot compute the audit entry's MAC");
    if ((text = json_dumps(e, CANON_FLAGS)) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    n = strlen(text);
    if (n + 1 > LINE_MAX_BYTES) {
        free(text);
        return cse__error_set(err, CSE_ERR_LIMIT, 0, NULL, "user",
                              "the audit entry is too long");
    }
    text = realloc(text, n + 2);
    if (text == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    text[n] = '\n';
    text[n + 1] = '\0';
    *line = text;
    return CSE_OK;
}

static void take_entry(scan *s, const char *mac, const char *now)
{
    s->n++;
    memcpy(s->last_mac, mac, 65);
    snprintf(s->last_time, sizeof(s->last_time), "%s", now);
}

/* Appends e as the next entry and acknowledges it (head). Under the
 * exclusive lock, after prepare_write(). */
static cse_code append_entry(const cse__journal *j, scan *s, json_t *e, const char *now,
                             cse_error *err)
{
    char *line = NULL, mac[65];
    struct stat st;
    int fd = -1;
    bool created = false;
    cse_code rc;

    if ((rc = build_line(j, s, e, now, &line, mac, err)) != CSE_OK)
        return rc;
    if ((fd = open_in(j, CSE__JOURNAL_FILE, O_WRONLY | O_APPEND, 0)) < 0 &&
        errno == ENOENT && s->n == 0) {
        fd = open_in(j, CSE__JOURNAL_FILE, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0600);
        created = fd >= 0;
    }
    if (fd < 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot open the journal: %s", strerror(errno));
        goto out;
    }
    /* What is on disk must still be what was verified. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != s->good) {
        rc = cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, "journal",
                            "the journal changed while it was locked: refused");
        goto out;
    }
    if (created && (rc = sync_dir(j, err)) != CSE_OK)
        goto out;
    if (write_all(fd, line, strlen(line)) != CSE_OK || fsync(fd) != 0) {
        int eno = errno;
        /* Leave no half entry behind. */
        if (ftruncate(fd, st.st_size) == 0)
            (void)fsync(fd);
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot write the journal: %s", strerror(eno));
        goto out;
    }
    s->good += (off_t)strlen(line);
    if ((rc = write_head(j, s->n + 1, mac, err)) != CSE_OK)
        goto out;
    take_entry(s, mac, now);
out:
    if (fd >= 0)
        close(fd);
    free(line);
    return rc;
}

static json_t *new_entry(const char *user, const char *role, const char *action,
                         const char *phase, const char *marker, const char *patient,
                         const char *txn)
{
    return json_pack("{s:s,s:s?,s:s,s:s,s:s?,s:s?,s:s?}", "user", user, "role", role,
                     "action", action, "phase", phase, "marker", marker, "patient",
                     patient, "txn", txn);
}

/* Under the exclusive lock: verifies everything and refuses a state that
 * does not verify; otherwise finishes what a crash left (a torn line removed
 * and journaled, an entry one past the head adopted) and checks the clock.
 * s is the verified state to append to, now the time of the new entries. */
static cse_code prepare_write(const cse__journal *j, scan *s, const char *user,
                              const char *role, char now[32], cse_error *err)
{
    cse_code rc;
    json_t *e;

    if ((rc = check_dir(j, err)) != CSE_OK || (rc = scan_journal(j, s, err)) != CSE_OK)
        return rc;
    if (s->bad)
        return bad_error(s, err, true);
    if ((rc = remove_stale(j, HEAD_TMP, err)) != CSE_OK ||
        (rc = remove_stale(j, JOURNAL_TMP, err)) != CSE_OK)
        return rc;
    now_iso(now);
    if (strcmp(now, s->last_time) < 0)
        return cse__error_set(
            err, CSE_ERR_STATE, 0, NULL, "time",
            "the clock (%s) is behind the last audit entry (%s): "
            "refusing to write an entry that goes back in time; correct "
            "the system clock",
            now, s->last_time);
    if (s->adopt && (rc = write_head(j, s->n, s->last_mac, err)) != CSE_OK)
        return rc;
    s->adopt = false;
    if (s->torn_len > 0) {
        unsigned char md[32];
        unsigned int mdlen = 0;
        char hex[65];
        int fd = open_in(j, CSE__JOURNAL_FILE, O_WRONLY, 0);
        if (fd < 0 || ftruncate(fd, s->good) != 0 || fsync(fd) != 0) {
            int eno = errno;
            if (fd >= 0)
                close(fd);
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot remove the torn journal line: %s",
                                  strerror(eno));
        }
        close(fd);
        if (EVP_Digest(s->torn, s->torn_len, md, &mdlen, EVP_sha256(), NULL) != 1)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no SHA-256");
        to_hex(md, 32, hex);
        e = new_entry(user, role, "journal-repair", "event", NULL, NULL, NULL);
        if (e == NULL ||
            json_object_set_new(e, "detail",
                                json_pack("{s:s,s:I,s:s}", "removed", "torn last line",
                                          "bytes", (json_int_t)s->torn_len, "sha256",
                                          hex)) != 0) {
            json_decref(e);
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        }
        s->torn_len = 0;
        rc = append_entry(j, s, e, now, err);
        json_decref(e);
    }
    return rc;
}

/* ---- The journal's functions -------------------------------------------- */

cse_code cse__journal_open(cse__journal *j, const char *dir, const unsigned char *key,
                           size_t keylen, size_t *torn, cse_error *err)
{
    struct stat st;
    cse_code rc = CSE_OK;
    int fd;

    memset(j, 0, sizeof(*j));
    j->dirfd = -1;
    if (torn)
        *torn = 0;
    if (dir == NULL || *dir == '\0')
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "journal_dir",
                              "no journal folder given");
    if ((j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        int e = errno;
        j->dirfd = -1;
        return cse__error_set(err, CSE_ERR_IO, 0, dir, "journal_dir",
                              e == ENOENT || e == ENOTDIR
                                  ? "the journal folder does not exist"
                                  : "cannot open the journal folder");
    }
    j->key = key;
    j->keylen = keylen;
    if ((j->mac = keyed_ctx_new(key, keylen)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                            "cannot set up HMAC-SHA256 (OpenSSL)");
        goto out;
    }
    if ((j->dir = strdup(dir)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if ((rc = check_dir(j, err)) != CSE_OK)
        goto out;
    if (pthread_mutex_init(&j->mu, NULL) != 0) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no mutex");
        goto out;
    }
    /* Read-only: how long a torn last line is, for the host to report. The
     * next write removes it (and journals that it did). */
    if (torn && (fd = open_in(j, CSE__JOURNAL_FILE, O_RDONLY, 0)) >= 0) {
        char buf[LINE_MAX_BYTES];
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            off_t start = st.st_size > LINE_MAX_BYTES ? st.st_size - LINE_MAX_BYTES : 0;
            ssize_t got = pread(fd, buf, (size_t)(st.st_size - start), start);
            if (got > 0 && buf[got - 1] != '\n') {
                ssize_t k = got;
                while (k > 0 && buf[k - 1] != '\n')
                    k--;
                *torn = (size_t)(got - k);
            }
        }
        close(fd);
    }
    return CSE_OK;
out:
    if (j->dirfd >= 0)
        close(j->dirfd);
    EVP_MAC_CTX_free(j->mac);
    free(j->dir);
    memset(j, 0, sizeof(*j));
    j->dirfd = -1;
    return rc;
}

void cse__journal_close(cse__journal *j)
{
    if (j == NULL || j->dir == NULL)
        return;
    pthread_mutex_destroy(&j->mu);
    if (j->dirfd >= 0)
        close(j->dirfd);
    EVP_MAC_CTX_free(j->mac);
    free(j->dir);
    memset(j, 0, sizeof(*j));
    j->dirfd = -1;
}

cse_code cse__journal_result_mac(const cse__journal *j, const char *result, size_t len,
                                 char out[65])
{
    return keyed_mac(j, RESULT_DOMAIN, result, len, out);
}

cse_code cse__journal_intent(cse__journal *j, const cse__audit *a,
                             const char *const *markers, size_t n, const char *result,
                             size_t len, cse_error *err)
{
    scan s = {0};
    char txn[65], now[32];
    json_int_t first = 0;
    int lock = -1;
    cse_code rc;

    if (j == NULL || j->dir == NULL || a == NULL || a->user == NULL ||
        a->action == NULL || result == NULL || (n > 0 && markers == NULL))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing audit argument");
    /* With no marker nothing is written, but a journal that does not verify
     * still refuses the action: every export and import is a write. */
    pthread_mutex_lock(&j->mu);
    if (cse__journal_result_mac(j, result, len, txn) != CSE_OK) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                            "cannot compute the result's MAC");
        goto out;
    }
    if ((rc = lock_journal(j, true, &lock, err)) != CSE_OK)
        goto out;
    if ((rc = prepare_write(j, &s, a->user, a->role, now, err)) != CSE_OK)
        goto out;
    first = s.n + 1;
    for (size_t i = 0; rc == CSE_OK && i < n; i++) {
        json_t *e =
            new_entry(a->user, a->role, a->action, "intent", markers[i], a->patient, txn);
        if (e == NULL) {
            rc = cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user",
                                "audit fields must be valid UTF-8");
            break;
        }
        json_object_set_new(e, "of", json_integer(first));
        rc = append_entry(j, &s, e, now, err);
        json_decref(e);
    }
out:
    unlock_journal(lock);
    pthread_mutex_unlock(&j->mu);
    scan_clear(&s);
    return rc;
}

cse_code cse__journal_outcome(cse__journal *j, const char *user, const char *role,
                              const char *result, size_t len, bool happened,
                              bool *matched, cse_error *err)
{
    scan s = {0};
    char txn[65], now[32];
    pend *p = NULL;
    int lock = -1;
    json_t *e = NULL;
    cse_code rc;

    if (matched)
        *matched = false;
    if (j == NULL || j->dir == NULL || user == NULL || result == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing audit argument");
    pthread_mutex_lock(&j->mu);
    if (cse__journal_result_mac(j, result, len, txn) != CSE_OK) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                            "cannot compute the result's MAC");
        goto out;
    }
    if ((rc = lock_journal(j, true, &lock, err)) != CSE_OK)
        goto out;
    if ((rc = prepare_write(j, &s, user, role, now, err)) != CSE_OK)
        goto out;
    /* The latest pending action that produced this result. */
    for (size_t i = 0; i < s.np; i++)
        if (strcmp(s.p[i].txn, txn) == 0 && (p == NULL || s.p[i].of > p->of))
            p = &s.p[i];
    if (p == NULL)
        goto out;
    e = new_entry(user, role, p->action, happened ? "done" : "failed",
                  p->count == 1 ? p->marker : NULL, p->patient, txn);
    if (e == NULL || json_object_set_new(e, "of", json_integer(p->of)) != 0) {
        rc = cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user",
                            "audit fields must be valid UTF-8");
        goto out;
    }
    if ((rc = append_entry(j, &s, e, now, err)) == CSE_OK && matched)
        *matched = true;
out:
    json_decref(e);
    unlock_journal(lock);
    pthread_mutex_unlock(&j->mu);
    scan_clear(&s);
    return rc;
}

static cse_code parse_expect(const char *expect, scan *s, cse_error *err)
{
    char *end;
    long long seq;

    if (expect == NULL)
        return CSE_OK;
    errno = 0;
    seq = strtoll(expect, &end, 10);
    if (errno != 0 || end == expect || seq < 0 || *end != ':' || !is_hex64(end + 1))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "expect",
                              "expected SEQ:MAC (a number, a colon and 64 lower-case hex "
                              "digits), as audit anchor prints it");
    s->want_expect = true;
    s->expect_seq = seq;
    memcpy(s->expect_mac, end + 1, 65);
    return CSE_OK;
}

cse_code cse__journal_verify(cse__journal *j, const char *expect, json_t **report,
                             cse_error *err)
{
    scan s = {0};
    int lock = -1;
    cse_code rc;

    if (report)
        *report = NULL;
    if (j == NULL || j->dir == NULL || report == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if ((rc = parse_expect(expect, &s, err)) != CSE_OK)
        return rc;
    pthread_mutex_lock(&j->mu);
    if ((rc = lock_journal(j, false, &lock, err)) == CSE_OK &&
        (rc = scan_journal(j, &s, err)) == CSE_OK) {
        if ((*report = scan_report(&s)) == NULL)
            rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        else if (s.bad)
            rc = bad_error(&s, err, false);
    }
    unlock_journal(lock);
    pthread_mutex_unlock(&j->mu);
    scan_clear(&s);
    return rc;
}

/* SHA-256 and size of a whole file in the folder (not through a link). */
static void file_digest(const cse__journal *j, const char *name, json_t *into,
                        const char *key)
{
    unsigned char buf[65536], md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    long long total = 0;
    ssize_t got;
    char hex[65];
    int fd = open_in(j, name, O_RDONLY, 0);
    struct stat st;

    if (fd < 0 || ctx == NULL || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        json_object_set_new(
            into, key,
            json_string(fd < 0 && errno == ENOENT ? "absent" : "not a regular file"));
        goto out;
    }
    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        EVP_DigestUpdate(ctx, buf, (size_t)got);
        total += got;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    to_hex(md, 32, hex);
    json_object_set_new(
        into, key, json_pack("{s:I,s:s}", "bytes", (json_int_t)total, "sha256", hex));
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(ctx);
}

/* Keeps the damaged journal and head under new names (hard links, so the
 * bytes are exactly what was found). *name gets the archive's base name. */
static cse_code archive_damaged(const cse__journal *j, const scan *s, char name[96],
                                cse_error *err)
{
    char stamp[32], jn[128], hn[128];
    time_t t = time(NULL);
    struct tm g;

    gmtime_r(&t, &g);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &g);
    for (int k = 1; k < 1000; k++) {
        snprintf(name, 96, ARCHIVE_PREFIX "%s-%d", stamp, k);
        snprintf(jn, sizeof(jn), "%s.jsonl", name);
        snprintf(hn, sizeof(hn), "%s.head", name);
        if (faccessat(j->dirfd, jn, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
            faccessat(j->dirfd, hn, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        if (s->present) {
            /* A journal that is not a regular file is moved aside whole. */
            int r = s->regular ? linkat(j->dirfd, CSE__JOURNAL_FILE, j->dirfd, jn, 0)
                               : renameat(j->dirfd, CSE__JOURNAL_FILE, j->dirfd, jn);
            if (r != 0)
                return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                      "cannot keep the damaged journal as %s: %s", jn,
                                      strerror(errno));
        }
        if (linkat(j->dirfd, CSE__JOURNAL_HEAD, j->dirfd, hn, 0) != 0 && errno != ENOENT)
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot keep the damaged head as %s: %s", hn,
                                  strerror(errno));
        return sync_dir(j, err);
    }
    return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                          "too many archives of damaged journals this second");
}

cse_code cse__journal_recover(cse__journal *j, const char *user, const char *role,
                              json_t **report, cse_error *err)
{
    scan s = {0}, after = {0};
    char now[32], name[96] = "", mac[65], *line = NULL;
    int lock = -1, fd = -1, src = -1;
    json_t *detail = NULL, *e = NULL;
    cse_code rc;

    if (report)
        *report = NULL;
    if (j == NULL || j->dir == NULL || user == NULL || report == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    pthread_mutex_lock(&j->mu);
    if ((rc = lock_journal(j, true, &lock, err)) != CSE_OK ||
        (rc = check_dir(j, err)) != CSE_OK || (rc = scan_journal(j, &s, err)) != CSE_OK)
        goto out;
    if (!s.bad) {
        *report = scan_report(&s);
        rc = cse__error_set(err, CSE_ERR_STATE, 0, NULL, NULL,
                            "the audit journal verifies: there is nothing to recover");
        goto out;
    }
    now_iso(now);
    if (strcmp(now, s.last_time) < 0) {
        rc =
            cse__error_set(err, CSE_ERR_STATE, 0, NULL, "time",
                           "the clock (%s) is behind the last verified audit entry (%s): "
                           "correct the system clock",
                           now, s.last_time);
        goto out;
    }
    /* What was found, for the recovery entry. */
    if ((detail = json_pack("{s:s,s:I,s:I,s:{s:s,s:I}}", "problem", s.problem, "bad_seq",
                            (json_int_t)s.bad_seq, "entries_kept", (json_int_t)s.n,
                            "head_found", "state", head_state_names[s.head.state], "seq",
                            (json_int_t)s.head.seq)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    file_digest(j, CSE__JOURNAL_FILE, detail, "journal_found");
    if ((rc = archive_damaged(j, &s, name, err)) != CSE_OK)
        goto out;
    json_object_set_new(detail, "archive", json_string(name));
    /* The new journal: the verified entries, then the recovery entry. */
    if ((rc = remove_stale(j, HEAD_TMP, err)) != CSE_OK ||
        (fd = create_temp(j, JOURNAL_TMP, err)) < 0) {
        rc = rc ? rc : CSE_ERR_IO;
        goto out;
    }
    if (s.regular && s.good > 0) {
        char buf[65536];
        off_t off = 0;
        if ((src = open_in(j, CSE__JOURNAL_FILE, O_RDONLY, 0)) < 0)
            goto io;
        while (off < s.good) {
            size_t want = (size_t)(s.good - off) < sizeof(buf) ? (size_t)(s.good - off)
                                                               : sizeof(buf);
            ssize_t got = pread(src, buf, want, off);
            if (got <= 0 || write_all(fd, buf, (size_t)got) != CSE_OK)
                goto io;
            off += got;
        }
    }
    if ((e = new_entry(user, role, "audit-recover", "event", NULL, NULL, NULL)) == NULL ||
        json_object_set(e, "detail", detail) != 0) {
        rc = cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user",
                            "audit fields must be valid UTF-8");
        goto out;
    }
    if ((rc = build_line(j, &s, e, now, &line, mac, err)) != CSE_OK)
        goto out;
    if (write_all(fd, line, strlen(line)) != CSE_OK || fsync(fd) != 0)
        goto io;
    close(fd);
    fd = -1;
    if (renameat(j->dirfd, JOURNAL_TMP, j->dirfd, CSE__JOURNAL_FILE) != 0)
        goto io;
    if ((rc = sync_dir(j, err)) != CSE_OK ||
        (rc = write_head(j, s.n + 1, mac, err)) != CSE_OK)
        goto out;
    if ((rc = scan_journal(j, &after, err)) != CSE_OK)
        goto out;
    if ((*report = scan_report(&after)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    json_object_set(*report, "recovered", detail);
    goto out;
io:
    rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                        "cannot write the recovered journal: %s", strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc != CSE_OK && name[0] != '\0')
        unlinkat(j->dirfd, JOURNAL_TMP, 0);
    if (src >= 0)
        close(src);
    free(line);
    json_decref(e);
    json_decref(detail);
    unlock_journal(lock);
    pthread_mutex_unlock(&j->mu);
    scan_clear(&s);
    scan_clear(&after);
    return rc;
}
