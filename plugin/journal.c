/* The audit journal: an append-only, hash-chained, crash-safe file of marker
 * actions, and the keyed pseudonyms it names patients by.
 *
 * One line of canonical JSON per entry (keys sorted, no spaces):
 *   {"action":..,"hash":..,"marker":..,"patient":..,"prev":..,"role":..,
 *    "seq":N,"time":..,"user":..}
 * "hash" is SHA-256 over the same object without "hash", so it covers "prev",
 * the hash of the entry before (64 zeros for the first). A head record beside
 * the journal holds the last acknowledged seq and hash under an HMAC with the
 * practice key, so that deleting entries at the end is detected too.
 *
 * An append is acknowledged only after the line is fsync'ed and the head
 * record replaced (temp file, fsync, rename, fsync of the folder). A crash
 * can therefore leave only (a) a torn last line, never acknowledged, which
 * the next open truncates and reports, or (b) one complete entry ahead of the
 * head, which the next open adopts: its append had reached the disk. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"
#include "plugin_internal.h"

#define LINE_MAX_BYTES 8192
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

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

/* ---- Hashing ------------------------------------------------------------ */

static cse_code sha256_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return CSE_ERR_INTERNAL;
    to_hex(md, 32, out);
    return CSE_OK;
}

#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

/* The hash of an entry object without its "hash" member. */
static cse_code entry_hash(json_t *entry, char out[65])
{
    json_t *copy = json_copy(entry);
    char *canon;
    cse_code rc;

    if (copy == NULL)
        return CSE_ERR_NOMEM;
    json_object_del(copy, "hash");
    canon = json_dumps(copy, CANON_FLAGS);
    json_decref(copy);
    if (canon == NULL)
        return CSE_ERR_NOMEM;
    rc = sha256_hex(canon, out);
    free(canon);
    return rc;
}

static cse_code head_mac(const cse__journal *j, long long seq, const char *hash,
                         char out[65])
{
    char msg[128];
    snprintf(msg, sizeof(msg), "csemarker-journal-head|%lld|%s", seq, hash);
    return cse__pseudonym(j->key, j->keylen, msg, out);
}

/* ---- Files -------------------------------------------------------------- */

static cse_code fsync_dir(const char *dir, cse_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "cannot sync the journal folder: %s", strerror(e));
    }
    close(fd);
    return CSE_OK;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
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

/* Replaces the head record atomically. */
static cse_code write_head(cse__journal *j, long long seq, const char *hash,
                           cse_error *err)
{
    char mac[65], line[256], *tmp = NULL;
    int fd = -1, n;
    cse_code rc = CSE_OK;

    if ((rc = head_mac(j, seq, hash, mac)) != CSE_OK)
        return cse__error_set(err, rc, 0, NULL, "journal", "cannot compute the head MAC");
    n = snprintf(line, sizeof(line), "{\"hash\":\"%s\",\"mac\":\"%s\",\"seq\":%lld}\n",
                 hash, mac, seq);
    if ((tmp = join(j->dir, CSE__JOURNAL_HEAD ".tmp")) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        write_all(fd, line, (size_t)n) != CSE_OK || fsync(fd) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot write the journal head: %s", strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, j->head_path) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot replace the journal head: %s", strerror(errno));
        goto out;
    }
    rc = fsync_dir(j->dir, err);
out:
    if (fd >= 0)
        close(fd);
    if (rc != CSE_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

typedef struct head_rec {
    bool present;
    long long seq;
    char hash[65];
    char mac[65];
} head_rec;

/* Reads the head record; a missing one is present=false, a damaged one an
 * integrity error. */
static cse_code read_head(const cse__journal *j, head_rec *h, cse_error *err)
{
    json_t *root;
    json_error_t jerr;
    const char *hash = NULL, *mac = NULL;
    json_int_t seq = -1;

    memset(h, 0, sizeof(*h));
    if (access(j->head_path, F_OK) != 0)
        return CSE_OK;
    if ((root = json_load_file(j->head_path, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
        json_unpack(root, "{s:I, s:s, s:s}", "seq", &seq, "hash", &hash, "mac", &mac) !=
            0 ||
        strlen(hash) != 64 || strlen(mac) != 64) {
        json_decref(root);
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, "head",
                              "the journal head record is damaged");
    }
    h->present = true;
    h->seq = seq;
    memcpy(h->hash, hash, 65);
    memcpy(h->mac, mac, 65);
    json_decref(root);
    return CSE_OK;
}

/* The last complete line of the open journal: its seq and hash (0 and zeros
 * for an empty journal). A torn tail (no final newline) is truncated when
 * repair is set, and its size added to *torn. Caller holds the flock. */
static cse_code read_tail(int fd, bool repair, long long *seq, char hash[65],
                          size_t *torn, cse_error *err)
{
    char buf[LINE_MAX_BYTES + 1];
    struct stat st;
    off_t size, start;
    ssize_t got;
    size_t len, end, begin;
    json_t *e = NULL;
    json_error_t jerr;
    const char *h = NULL;
    json_int_t s = 0;

    *seq = 0;
    memcpy(hash, ZERO_HASH, 65);
    if (fstat(fd, &st) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "cannot stat the journal: %s", strerror(errno));
    size = st.st_size;
    if (size == 0)
        return CSE_OK;
    start = size > LINE_MAX_BYTES ? size - LINE_MAX_BYTES : 0;
    len = (size_t)(size - start);
    if ((got = pread(fd, buf, len, start)) < 0 || (size_t)got != len)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                              "cannot read the journal: %s", strerror(errno));
    buf[len] = '\0';
    end = len;
    if (buf[len - 1] != '\n') {
        /* A torn last line: a crash hit an append that was never
         * acknowledged. */
        while (end > 0 && buf[end - 1] != '\n')
            end--;
        if (end == 0 && start > 0)
            return cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, "journal",
                                  "the journal's last line is too long");
        if (!repair)
            return cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, "journal",
                                  "the journal ends in a torn line");
        if (ftruncate(fd, start + (off_t)end) != 0 || fsync(fd) != 0)
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot truncate the torn journal line: %s",
                                  strerror(errno));
        if (torn)
            *torn += len - end;
        if (end == 0)
            return CSE_OK;
    }
    buf[end - 1] = '\0';
    begin = end - 1;
    while (begin > 0 && buf[begin - 1] != '\n')
        begin--;
    if (begin == 0 && start > 0)
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, "journal",
                              "the journal's last line is too long");
    if ((e = json_loads(buf + begin, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
        json_unpack(e, "{s:I, s:s}", "seq", &s, "hash", &h) != 0 || strlen(h) != 64) {
        json_decref(e);
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, "journal",
                              "the journal's last entry is damaged");
    }
    *seq = s;
    memcpy(hash, h, 65);
    json_decref(e);
    return CSE_OK;
}

static cse_code lock_file(int fd, cse_error *err)
{
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR)
            return cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                  "cannot lock the journal: %s", strerror(errno));
    }
    return CSE_OK;
}

/* Opens the journal file, creating it (and syncing the folder) when absent. */
static int open_journal(cse__journal *j, cse_error *err)
{
    int fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT)
        goto out;
    fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
    else if (fd >= 0 && (fsync(fd) != 0 || fsync_dir(j->dir, err) != CSE_OK)) {
        close(fd);
        return -1;
    }
out:
    if (fd < 0)
        cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal", "cannot open the journal: %s",
                       strerror(errno));
    return fd;
}

/* Under the flock: truncate a torn tail and bring the head up to an entry
 * whose append reached the disk but whose head update did not. */
static cse_code recover(cse__journal *j, int fd, long long *seq, char hash[65],
                        size_t *torn, cse_error *err)
{
    head_rec head;
    cse_code rc;

    if ((rc = read_tail(fd, true, seq, hash, torn, err)) != CSE_OK ||
        (rc = read_head(j, &head, err)) != CSE_OK)
        return rc;
    if (*seq > 0 &&
        ((!head.present && *seq == 1) || (head.present && *seq == head.seq + 1)))
        rc = write_head(j, *seq, hash, err);
    return rc;
}

cse_code cse__journal_open(cse__journal *j, const char *dir, const unsigned char *key,
                           size_t keylen, size_t *recovered, cse_error *err)
{
    struct stat st;
    long long seq;
    char hash[65];
    size_t torn = 0;
    int fd = -1;
    cse_code rc = CSE_OK;

    memset(j, 0, sizeof(*j));
    if (recovered)
        *recovered = 0;
    if (dir == NULL || *dir == '\0')
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "journal_dir",
                              "no journal folder given");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cse__error_set(err, CSE_ERR_IO, 0, dir, "journal_dir",
                              "the journal folder does not exist");
    j->key = key;
    j->keylen = keylen;
    if ((j->dir = strdup(dir)) == NULL ||
        (j->path = join(dir, CSE__JOURNAL_FILE)) == NULL ||
        (j->head_path = join(dir, CSE__JOURNAL_HEAD)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if (pthread_mutex_init(&j->mu, NULL) != 0) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no mutex");
        goto out;
    }
    if ((fd = open_journal(j, err)) < 0) {
        rc = err ? err->code : CSE_ERR_IO;
        goto fail_mutex;
    }
    if ((rc = lock_file(fd, err)) == CSE_OK) {
        rc = recover(j, fd, &seq, hash, &torn, err);
        flock(fd, LOCK_UN);
    }
    close(fd);
    if (recovered)
        *recovered = torn;
    if (rc == CSE_OK)
        return CSE_OK;
fail_mutex:
    pthread_mutex_destroy(&j->mu);
out:
    free(j->dir);
    free(j->path);
    free(j->head_path);
    memset(j, 0, sizeof(*j));
    return rc;
}

void cse__journal_close(cse__journal *j)
{
    if (j == NULL || j->path == NULL)
        return;
    pthread_mutex_destroy(&j->mu);
    free(j->dir);
    free(j->path);
    free(j->head_path);
    memset(j, 0, sizeof(*j));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

cse_code cse__journal_append(cse__journal *j, const cse__audit *a, cse_error *err)
{
    json_t *e = NULL;
    char prev[65], hash[65], *line = NULL;
    long long seq;
    struct stat st;
    int fd = -1;
    bool locked = false;
    cse_code rc = CSE_OK;

    if (j == NULL || j->path == NULL || a == NULL || a->user == NULL || a->action == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing audit argument");
    pthread_mutex_lock(&j->mu);
    if ((fd = open_journal(j, err)) < 0) {
        rc = CSE_ERR_IO;
        goto out;
    }
    if ((rc = lock_file(fd, err)) != CSE_OK)
        goto out;
    locked = true;
    if ((rc = recover(j, fd, &seq, prev, NULL, err)) != CSE_OK)
        goto out;
    e = json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:s}", "seq", (json_int_t)seq + 1,
                  "time", a->time ? a->time : "", "user", a->user, "role",
                  str_or_null(a->role), "action", a->action, "marker",
                  str_or_null(a->marker), "patient", str_or_null(a->patient), "prev",
                  prev);
    if (e == NULL) {
        rc = cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user",
                            "audit fields must be valid UTF-8");
        goto out;
    }
    if ((rc = entry_hash(e, hash)) != CSE_OK ||
        json_object_set_new(e, "hash", json_string(hash)) != 0) {
        rc = cse__error_set(err, rc ? rc : CSE_ERR_NOMEM, 0, NULL, NULL,
                            "cannot hash the audit entry");
        goto out;
    }
    if ((line = json_dumps(e, CANON_FLAGS)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if (strlen(line) + 1 > LINE_MAX_BYTES) {
        rc = cse__error_set(err, CSE_ERR_LIMIT, 0, NULL, "user",
                            "the audit entry is too long");
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal", "cannot stat: %s",
                            strerror(errno));
        goto out;
    }
    {
        size_t n = strlen(line);
        line[n] = '\n';
        if (write_all(fd, line, n + 1) != CSE_OK || fsync(fd) != 0) {
            int eno = errno;
            line[n] = '\0';
            /* Leave no half entry behind; the next open would truncate it too. */
            if (ftruncate(fd, st.st_size) == 0)
                (void)fsync(fd);
            rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                                "cannot write the journal: %s", strerror(eno));
            goto out;
        }
        line[n] = '\0';
    }
    rc = write_head(j, seq + 1, hash, err);
out:
    if (locked)
        flock(fd, LOCK_UN);
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&j->mu);
    json_decref(e);
    free(line);
    return rc;
}

/* ---- Verification ------------------------------------------------------- */

static cse_code bad(json_t *rep, cse_error *err, long long seq, const char *problem)
{
    json_object_set_new(rep, "ok", json_false());
    json_object_set_new(rep, "bad_seq", json_integer(seq));
    json_object_set_new(rep, "problem", json_string(problem));
    cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, NULL, "%s", problem);
    if (err && err->code == CSE_ERR_INTEGRITY)
        snprintf(err->path, sizeof(err->path), "seq %lld", seq);
    return CSE_ERR_INTEGRITY;
}

cse_code cse__journal_verify(cse__journal *j, json_t **report, cse_error *err)
{
    FILE *fp = NULL;
    json_t *rep = NULL;
    char *line = NULL, prev[65] = ZERO_HASH, problem[256];
    size_t cap = 0, torn = 0;
    ssize_t got;
    long long n = 0;
    char hash_at_head[65] = "";
    head_rec head;
    cse_code rc = CSE_OK;

    if (report)
        *report = NULL;
    if (j == NULL || j->path == NULL || report == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if ((rep = json_object()) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    json_object_set_new(rep, "ok", json_true());
    pthread_mutex_lock(&j->mu);
    if ((rc = read_head(j, &head, err)) != CSE_OK) {
        rc = bad(rep, err, 0, "the journal head record is damaged");
        goto out;
    }
    if ((fp = fopen(j->path, "re")) == NULL) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot open the journal: %s", strerror(errno));
        goto out;
    }
    while ((got = getline(&line, &cap, fp)) > 0) {
        json_t *e;
        json_error_t jerr;
        json_int_t seq = 0;
        const char *h = NULL, *p = NULL;
        char want[65];
        long long expect = n + 1;

        if (line[got - 1] != '\n') {
            torn = (size_t)got; /* a crash's torn tail: never acknowledged */
            break;
        }
        if ((size_t)got > LINE_MAX_BYTES ||
            (e = json_loads(line, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
            snprintf(problem, sizeof(problem),
                     "entry %lld is not a journal line (edited or inserted)", expect);
            rc = bad(rep, err, expect, problem);
            goto out;
        }
        if (json_unpack(e, "{s:I, s:s, s:s}", "seq", &seq, "hash", &h, "prev", &p) != 0) {
            json_decref(e);
            snprintf(problem, sizeof(problem), "entry %lld lacks seq, hash or prev",
                     expect);
            rc = bad(rep, err, expect, problem);
            goto out;
        }
        if (seq != expect) {
            snprintf(problem, sizeof(problem),
                     "found entry %lld where entry %lld belongs: an entry was deleted, "
                     "inserted or reordered",
                     (long long)seq, expect);
            json_decref(e);
            rc = bad(rep, err, expect, problem);
            goto out;
        }
        if (strcmp(p, prev) != 0) {
            snprintf(problem, sizeof(problem),
                     "entry %lld does not chain to entry %lld: an entry was edited, "
                     "deleted, inserted or reordered",
                     expect, expect - 1);
            json_decref(e);
            rc = bad(rep, err, expect, problem);
            goto out;
        }
        if (entry_hash(e, want) != CSE_OK || strcmp(want, h) != 0) {
            snprintf(problem, sizeof(problem),
                     "entry %lld does not match its hash: it was edited", expect);
            json_decref(e);
            rc = bad(rep, err, expect, problem);
            goto out;
        }
        memcpy(prev, h, 65);
        if (head.present && expect == head.seq)
            memcpy(hash_at_head, h, 65);
        json_decref(e);
        n = expect;
    }
    if (ferror(fp)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, NULL, "journal",
                            "cannot read the journal");
        goto out;
    }
    /* The head record: the last acknowledged entry. */
    if (!head.present) {
        if (n > 1) {
            rc = bad(rep, err, n,
                     "the journal head record is missing: entries at the end may have "
                     "been deleted");
            goto out;
        }
    } else {
        char mac[65];
        if (head_mac(j, head.seq, head.hash, mac) != CSE_OK ||
            CRYPTO_memcmp(mac, head.mac, 64) != 0) {
            rc = bad(rep, err, head.seq,
                     "the journal head record does not carry this practice key's MAC "
                     "(forged, or another key)");
            goto out;
        }
        if (head.seq > n) {
            snprintf(problem, sizeof(problem),
                     "entry %lld is missing: the journal ends at %lld but %lld were "
                     "acknowledged (entries deleted at the end)",
                     n + 1, n, head.seq);
            rc = bad(rep, err, n + 1, problem);
            goto out;
        }
        if (head.seq > 0 && strcmp(hash_at_head, head.hash) != 0) {
            snprintf(problem, sizeof(problem),
                     "entry %lld is not the entry that was acknowledged (rewritten "
                     "chain)",
                     head.seq);
            rc = bad(rep, err, head.seq, problem);
            goto out;
        }
        if (n > head.seq + 1) {
            snprintf(problem, sizeof(problem),
                     "entry %lld was never acknowledged (inserted at the end)",
                     head.seq + 2);
            rc = bad(rep, err, head.seq + 2, problem);
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&j->mu);
    json_object_set_new(rep, "entries", json_integer(n));
    json_object_set_new(rep, "head_seq", json_integer(n));
    json_object_set_new(rep, "head_hash", json_string(prev));
    json_object_set_new(rep, "torn_tail_bytes", json_integer((json_int_t)torn));
    if (fp)
        fclose(fp);
    free(line);
    *report = rep;
    return rc;
}
