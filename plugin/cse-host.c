/* SPDX-License-Identifier: MIT */
/* cse-host: a small practice system over a folder of patient records (one
 * FHIR R4 JSON file per patient) that loads the csemarker module ONLY through
 * dlopen() and the ABI in <csemarker/plugin.h>, the way a GP clinical system
 * would. It is how a person tries every hook from a terminal and how the
 * end-to-end tests drive the module. It links no csemarker library. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <csemarker/plugin.h>

/* Exit statuses, documented in cse-host(1). */
enum {
    HOST_OK = 0,
    HOST_INTEGRITY = 1, /* audit verify found a problem */
    HOST_USAGE = 2,
    HOST_REFUSED = 3, /* input rejected or the action refused (state, auth, code) */
    HOST_IO = 4,
    HOST_REVIEW = 5, /* done, with entries for clinician review (import) */
    HOST_MODULE = 6, /* the module could not be loaded or speaks another ABI */
    HOST_INTERNAL = 70
};

#define RECORD_MAX (64L * 1024 * 1024)
#define MODULE_NAME "csemarker_plugin.so"

#ifndef CSE_PLUGIN_DIR
#define CSE_PLUGIN_DIR "/usr/local/lib/csemarker"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define HOST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOST_UNDER_ASAN 1
#endif
#endif

/* A build for the test suite only (tests/cse-host-test, never installed)
 * takes --today, the module's clock for clinical dates; the audit journal
 * always keeps the system's time. It can also stop itself with SIGKILL at
 * a named point (CSE_HOST_TEST_KILL), for the crash tests. */
#ifdef CSE_HOST_TEST_CLOCK
#include <signal.h>
#define TODAY_USAGE " [--today YYYY-MM-DD]"
static void kill_point(const char *name)
{
    const char *at = getenv("CSE_HOST_TEST_KILL");
    if (at && strcmp(at, name) == 0)
        raise(SIGKILL);
}
#else
#define TODAY_USAGE ""
#define kill_point(name) ((void)0)
#endif

struct host {
    const char *module, *records, *journal, *key, *ods, *today;
    cse_plugin_user user;
    int review_months;
    void *dl;
    const cse_plugin_api *api;
    cse_plugin_handle *h;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cse-host [--module PATH] --records DIR --journal DIR --key FILE\n"
            "                --user ID --role ROLE [--ods CODE] [--unauthenticated]\n"
            "                [--review-months N]" TODAY_USAGE " COMMAND ...\n"
            "commands:\n"
            "  open PATIENT                          show the clinician alert\n"
            "  save PATIENT                          review suggestions on save\n"
            "  flag PATIENT CODE [--start D] [--review D]\n"
            "  review PATIENT MARKER_ID [--next D]\n"
            "  end PATIENT MARKER_ID --reason CODE\n"
            "  error PATIENT MARKER_ID               mark entered-in-error\n"
            "  export PATIENT -o FILE.xml [--to ODS] GP2GP UK07 extract\n"
            "  import FILE.xml [--as PATIENT] [--force]\n"
            "  online-view PATIENT [-o FILE]         the patient-facing record\n"
            "  due [--within DAYS]                   markers due for review\n"
            "  audit verify [--expect SEQ:MAC]       check the audit journal\n"
            "  audit anchor                          print SEQ:MAC to keep elsewhere\n"
            "  audit recover                         recover a journal that does not\n"
            "                                        verify (journaled, by --user)\n"
            "PATIENT names DIR/PATIENT.json. See cse-host(1).\n");
}

static int status_for(int code)
{
    switch (code) {
    case CSE_PLUGIN_OK: return HOST_OK;
    case CSE_PLUGIN_ERR_IO: return HOST_IO;
    case CSE_PLUGIN_ERR_INTEGRITY: return HOST_INTEGRITY;
    case CSE_PLUGIN_ERR_VERSION: return HOST_MODULE;
    case CSE_PLUGIN_ERR_NOMEM:
    case CSE_PLUGIN_ERR_INTERNAL: return HOST_INTERNAL;
    default: return HOST_REFUSED;
    }
}

/* "cse-host: WHAT: FILE: PATH: MESSAGE (code N)"; file and path may be absent.
 * The module's messages carry no record content, so they are shown as they
 * are. */
static int report(const char *what, const char *file, const cse_plugin_error *err)
{
    fprintf(stderr, "cse-host: %s: %s%s%s%s%s (code %d)\n", what, file ? file : "",
            file ? ": " : "", err->path, err->path[0] ? ": " : "", err->message,
            err->code);
    return status_for(err->code);
}

/* ---- Files -------------------------------------------------------------- */

/* Reads a whole regular file of at most RECORD_MAX bytes, or says why not
 * in why. The file is opened without blocking and checked before anything
 * is read: a FIFO given as a file would otherwise hang the open until
 * someone writes to it, and a device or a folder is not a record. */
static char *load_file(const char *path, size_t *len, char *why, size_t whysize)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), fl;
    char *buf = NULL;
    struct stat st;
    size_t n = 0;

    if (fd < 0) {
        snprintf(why, whysize, "%s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, whysize, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whysize, "%s",
                 S_ISDIR(st.st_mode)    ? "is a directory, not a file"
                 : S_ISFIFO(st.st_mode) ? "is a FIFO, not a regular file: refused"
                                        : "not a regular file: refused");
        close(fd);
        return NULL;
    }
    if (st.st_size > RECORD_MAX) {
        snprintf(why, whysize, "larger than %ld bytes: refused", RECORD_MAX);
        close(fd);
        return NULL;
    }
    /* A regular file: reads block as usual from here on. */
    if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        (buf = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(why, whysize, "cannot read");
        close(fd);
        return NULL;
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n != (size_t)st.st_size) {
        snprintf(why, whysize, "cannot read (the file changed size)");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* load_file() that reports to stderr; what names the command. */
static char *read_file(const char *what, const char *path, size_t *len)
{
    char why[256];
    char *buf = load_file(path, len, why, sizeof(why));
    if (buf == NULL)
        fprintf(stderr, "cse-host: %s: %s: %s\n", what, path, why);
    return buf;
}

/* Writes all of data to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* ---- Temporaries -------------------------------------------------------- */

/* The one temporary a command may have open at a time, so that a signal
 * that ends the program (SIGINT, SIGTERM, SIGHUP) removes it. SIGKILL cannot
 * be caught: what it leaves is swept by the next command (sweep_stale). */
static char tmp_live[PATH_MAX];
static volatile sig_atomic_t tmp_armed;

static void on_fatal_signal(int sig)
{
    if (tmp_armed)
        unlink(tmp_live);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_fatal_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* The temporary name pattern: the target's name, ".tmp.", then TMP_SUFFIX
 * characters of TMP_ALPHABET. Only names of exactly this shape are ever
 * removed as stale. */
#define TMP_MARK ".tmp."
#define TMP_SUFFIX 6
static const char TMP_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Creates PATH.tmp.XXXXXX with O_EXCL | O_NOFOLLOW (a name planted by
 * someone else, a file or a link, is never opened), mode 0600. */
static int open_temp(const char *path, char *tmp, size_t size)
{
    unsigned char rnd[TMP_SUFFIX];
    int fd = -1, urnd;

    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        size_t n;
        if ((urnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
            return -1;
        n = (size_t)read(urnd, rnd, sizeof(rnd));
        close(urnd);
        if (n != sizeof(rnd)) {
            errno = EIO;
            return -1;
        }
        if ((size_t)snprintf(tmp, size, "%s%s", path, TMP_MARK) + TMP_SUFFIX >= size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        n = strlen(tmp);
        for (int i = 0; i < TMP_SUFFIX; i++)
            tmp[n + (size_t)i] = TMP_ALPHABET[rnd[i] % (sizeof(TMP_ALPHABET) - 1)];
        tmp[n + TMP_SUFFIX] = '\0';
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    return fd;
}

/* True when name is TARGET.tmp.XXXXXX for a record TARGET (NAME.json); the
 * record's name goes to rec (size >= NAME_MAX + 1). */
static bool stale_name(const char *name, char *rec, size_t size)
{
    size_t l = strlen(name), ml = strlen(TMP_MARK);
    if (l < 6 + ml + TMP_SUFFIX || name[0] == '.')
        return false;
    if (strncmp(name + l - TMP_SUFFIX - ml, TMP_MARK, ml) != 0)
        return false;
    for (size_t i = l - TMP_SUFFIX; i < l; i++)
        if (strchr(TMP_ALPHABET, name[i]) == NULL || name[i] == '\0')
            return false;
    l -= TMP_SUFFIX + ml;
    if (l < 6 || strncmp(name + l - 5, ".json", 5) != 0 || l - 5 >= size)
        return false;
    snprintf(rec, size, "%.*s", (int)(l - 5), name);
    return true;
}

/* True when name is BASE.tmp.XXXXXX: a temporary of BASE this program made. */
static bool temp_of(const char *name, const char *base)
{
    size_t bl = strlen(base), ml = strlen(TMP_MARK);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, TMP_MARK, ml) != 0 ||
        strlen(name + bl + ml) != TMP_SUFFIX)
        return false;
    for (const char *p = name + bl + ml; *p; p++)
        if (strchr(TMP_ALPHABET, *p) == NULL)
            return false;
    return true;
}

/* Removes temporaries of an output file (export -o, online-view -o) that a
 * killed run left: the exact pattern, regular files we own, older than
 * STALE_SECONDS (an output has no lock that would prove its writer dead). */
#define STALE_SECONDS (10 * 60)

static void remove_stale_outputs(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[PATH_MAX];
    struct stat st;
    time_t now = time(NULL);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (!temp_of(de->d_name, base) ||
            (size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
            continue;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            now - st.st_mtime >= STALE_SECONDS)
            unlink(p);
    }
    closedir(d);
}

/* Writes data to path through a temporary file in the same folder, so that
 * the file appears only when complete. No error path leaves the temporary
 * behind. follow (outputs the user names with -o): a device or a pipe (a
 * terminal, a FIFO) is written as it is, since renaming a file over it would
 * replace it, and through a link the file it names is replaced. Records are
 * written with follow false: whatever sits at the path is replaced. */
static int write_atomic(const char *path, const char *data, size_t len, bool follow)
{
    char tmp[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
    const char *slash;
    struct stat st;
    int fd, dfd, saved;

    if (follow && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
            write_all(fd, data, len) != 0) {
            fprintf(stderr, "cse-host: %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return HOST_IO;
        }
        if (close(fd) != 0) {
            fprintf(stderr, "cse-host: %s: %s\n", path, strerror(errno));
            return HOST_IO;
        }
        return HOST_OK;
    }
    /* Through a symbolic link (/dev/stdout is one) the file it names is the
     * one replaced, not the link. */
    if (follow && lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
        realpath(path, real) != NULL)
        path = real;
    slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) ? (int)(slash - path) : 1,
                 path);
    else
        snprintf(dir, sizeof(dir), ".");
    remove_stale_outputs(dir, slash ? slash + 1 : path);
    if ((fd = open_temp(path, tmp, sizeof(tmp))) < 0) {
        fprintf(stderr, "cse-host: %s: %s\n", path, strerror(errno));
        return HOST_IO;
    }
    snprintf(tmp_live, sizeof(tmp_live), "%s", tmp);
    tmp_armed = 1;
    if (write_all(fd, data, len) != 0)
        goto fail;
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    tmp_armed = 0;
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return HOST_OK;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    tmp_armed = 0;
    fprintf(stderr, "cse-host: %s: %s\n", path, strerror(saved));
    return HOST_IO;
}

/* ---- Record locks ------------------------------------------------------- */

/* Every read-modify-write of DIR/NAME.json holds an fcntl() write lock on
 * DIR/.NAME.lock from before the read until after the rename, so two users
 * acting on one record at once are serialised and neither change is lost.
 * The record itself cannot carry the lock: the rename replaces its inode.
 * Lock files stay (removing one would let two holders lock two inodes).
 * Returns the locked descriptor (closing it releases the lock) or -1. */
static int lock_path(const char *records, const char *name, char *out, size_t size)
{
    return (size_t)snprintf(out, size, "%s/.%s.lock", records, name) < size ? 0 : -1;
}

static int lock_fd(const char *lp, bool wait)
{
    struct flock fl;
    struct stat st;
    int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) != 0) {
        if (errno == EINTR && wait)
            continue;
        close(fd);
        return -1;
    }
    return fd;
}

/* Removes DIR/NAME.json.tmp.XXXXXX files: the caller holds NAME's lock, so
 * no writer of NAME is alive and every such file is an orphan of a killed
 * command. Only regular files we own are removed. */
static void remove_orphans(const char *records, const char *name, time_t min_age)
{
    DIR *d = opendir(records);
    struct dirent *de;
    char rec[NAME_MAX + 1], p[PATH_MAX];
    struct stat st;
    time_t now = time(NULL);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (!stale_name(de->d_name, rec, sizeof(rec)) || strcmp(rec, name) != 0)
            continue;
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", records, de->d_name) >= sizeof(p))
            continue;
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            now - st.st_mtime < min_age)
            continue;
        unlink(p);
    }
    closedir(d);
}

static int lock_record(const struct host *H, const char *name)
{
    char lp[PATH_MAX];
    int fd;

    if (lock_path(H->records, name, lp, sizeof(lp)) != 0 ||
        (fd = lock_fd(lp, true)) < 0) {
        fprintf(stderr, "cse-host: cannot lock the record %s: %s\n", name,
                strerror(errno));
        return -1;
    }
    remove_orphans(H->records, name, 0);
    return fd;
}

static void unlock_record(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* Orphans of records nobody is working on: at the start of each command, a
 * temporary of the exact pattern, older than STALE_SECONDS, whose record's
 * lock is free, is removed. */

static void sweep_stale(const struct host *H)
{
    DIR *d;
    struct dirent *de;
    char rec[NAME_MAX + 1], lp[PATH_MAX];

    if (H->records == NULL || (d = opendir(H->records)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        int fd;
        if (!stale_name(de->d_name, rec, sizeof(rec)) ||
            lock_path(H->records, rec, lp, sizeof(lp)) != 0)
            continue;
        if ((fd = lock_fd(lp, false)) < 0)
            continue; /* someone is writing that record now */
        remove_orphans(H->records, rec, STALE_SECONDS);
        close(fd);
    }
    closedir(d);
}

/* DIR/NAME.json; refuses names that leave the folder. */
static int record_path(const struct host *H, const char *name, char *out, size_t size)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.' || strchr(name, '/')) {
        fprintf(stderr, "cse-host: bad patient name (no '/', no leading '.')\n");
        return HOST_USAGE;
    }
    if ((size_t)snprintf(out, size, "%s/%s.json", H->records, name) >= size)
        return HOST_USAGE;
    return HOST_OK;
}

/* The ABI carries a record as a C string, so a NUL byte inside the file
 * would silently cut it short: refuse it here, where the length is known. A
 * UTF-16 file (NUL in every other byte) is left to the module, which names
 * the encoding. True, with where it is in why, when there is one. */
static bool nul_why(const char *buf, size_t len, char *why, size_t whysize)
{
    const char *nul = memchr(buf, '\0', len), *p;
    int line = 1, col = 1;

    if (nul == NULL || (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
                                     (buf[0] == '\xfe' && buf[1] == '\xff'))))
        return false;
    for (p = buf; p < nul; p++) {
        if (*p == '\n')
            line++, col = 1;
        else
            col++;
    }
    snprintf(why, whysize, "line %d, column %d: NUL byte (a record is text)", line, col);
    return true;
}

static bool has_nul(const char *what, const char *path, const char *buf, size_t len)
{
    char why[128];
    if (!nul_why(buf, len, why, sizeof(why)))
        return false;
    fprintf(stderr, "cse-host: %s: %s: %s\n", what, path, why);
    return true;
}

static char *load_record(const struct host *H, const char *what, const char *name,
                         char *path, size_t size, int *rc)
{
    char *r;
    size_t len = 0;
    struct stat st;

    if ((*rc = record_path(H, name, path, size)) != HOST_OK)
        return NULL;
    /* A record is a file of the folder: a link planted in its place would
     * have the change written wherever it points. */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        fprintf(stderr, "cse-host: %s: %s: is a symbolic link, not a record: refused\n",
                what, path);
        *rc = HOST_REFUSED;
        return NULL;
    }
    if ((r = read_file(what, path, &len)) == NULL) {
        *rc = HOST_IO;
    } else if (has_nul(what, path, r, len)) {
        free(r);
        r = NULL;
        *rc = HOST_REFUSED;
    }
    return r;
}

static void print_json(const char *s)
{
    fputs(s, stdout);
    if (s[0] && s[strlen(s) - 1] != '\n')
        fputc('\n', stdout);
}

/* True when s is well-formed UTF-8 without control characters. */
static bool utf8_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n;
        unsigned c = *p;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3;
        else
            return false;
        c &= 0x3fu >> n;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3fu);
        }
        if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
            (n == 3 && (c < 0x10000 || c > 0x10ffff)))
            return false;
        p += n + 1;
    }
    return true;
}

/* The records folder holds identifiable records, their temporaries and
 * their locks: one that anyone may write to is refused (anyone could plant
 * or remove files there). */
static int check_records_dir(const struct host *H)
{
    struct stat st;

    if (stat(H->records, &st) != 0) {
        fprintf(stderr, "cse-host: %s: %s\n", H->records, strerror(errno));
        return HOST_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cse-host: %s: not a folder\n", H->records);
        return HOST_IO;
    }
    if (st.st_mode & S_IWOTH) {
        fprintf(stderr,
                "cse-host: %s: the records folder is writable by others: refused "
                "(chmod o-w)\n",
                H->records);
        return HOST_REFUSED;
    }
    return HOST_OK;
}

/* ---- Loading the module ------------------------------------------------- */

static bool exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* --module, $CSE_PLUGIN_MODULE, beside the binary (the build tree's .libs or
 * the same folder), then the installed plug-in folder. */
static const char *find_module(const char *given, char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n;
    char *slash;
    const char *env = getenv("CSE_PLUGIN_MODULE");

    if (given)
        return given;
    if (env && *env)
        return env;
    if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            if ((size_t)snprintf(buf, size, "%s/.libs/%s", exe, MODULE_NAME) < size &&
                exists(buf))
                return buf;
            if ((size_t)snprintf(buf, size, "%s/%s", exe, MODULE_NAME) < size &&
                exists(buf))
                return buf;
        }
    }
    snprintf(buf, size, "%s/%s", CSE_PLUGIN_DIR, MODULE_NAME);
    return buf;
}

static int load(struct host *H)
{
    char buf[PATH_MAX];
    const char *path = find_module(H->module, buf, sizeof(buf));
    cse_plugin_entry_fn entry;
    cse_plugin_error err = {0};
    /* RTLD_LOCAL keeps the module's symbols out of our namespace;
     * RTLD_DEEPBIND makes the module prefer its own libxml2 and jansson over
     * any copy the host carries. AddressSanitizer refuses DEEPBIND. */
    int flags = RTLD_NOW | RTLD_LOCAL;
#if defined(RTLD_DEEPBIND) && !defined(HOST_UNDER_ASAN)
    flags |= RTLD_DEEPBIND;
#endif

    if ((H->dl = dlopen(path, flags)) == NULL) {
        fprintf(stderr, "cse-host: cannot load the module: %s\n", dlerror());
        return HOST_MODULE;
    }
    *(void **)&entry = dlsym(H->dl, CSE_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) {
        fprintf(stderr, "cse-host: %s has no %s\n", path, CSE_PLUGIN_ENTRY_SYMBOL);
        return HOST_MODULE;
    }
    if ((H->api = entry(CSE_PLUGIN_ABI_VERSION, &err)) == NULL)
        return report("module", NULL, &err);
    if (H->api->size < sizeof(cse_plugin_api) || H->api->action_outcome == NULL) {
        fprintf(stderr, "cse-host: the module's table is older than this host\n");
        return HOST_MODULE;
    }
    return HOST_OK;
}

static int open_handle(struct host *H)
{
    cse_plugin_config cfg = {0};
    cse_plugin_error err;
    size_t recovered = 0;

    cfg.size = sizeof(cfg);
    cfg.journal_dir = H->journal;
    cfg.key_file = H->key;
    cfg.practice_ods = H->ods;
    cfg.review_months = H->review_months;
    cfg.clock_override = H->today;
    if (H->api->open(&cfg, &H->h, &recovered, &err) != CSE_PLUGIN_OK)
        return report("open", NULL, &err);
    if (recovered)
        fprintf(stderr,
                "cse-host: the audit journal ends in a torn line (%zu bytes) left by a "
                "crash; it was never acknowledged, and the next write removes it\n",
                recovered);
    return HOST_OK;
}

/* ---- Commands ----------------------------------------------------------- */

/* Options after the command: "--name value" pairs and flags. */
static const char *opt_value(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool opt_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static int cmd_open(struct host *H, int argc, char **argv, bool saved)
{
    char path[PATH_MAX], *rec, *out = NULL;
    cse_plugin_error err;
    int rc;

    if (argc < 2)
        return usage(stderr), HOST_USAGE;
    if ((rec = load_record(H, saved ? "save" : "open", argv[1], path, sizeof(path),
                           &rc)) == NULL)
        return rc;
    if ((saved ? H->api->record_saved : H->api->record_opened)(H->h, &H->user, rec, &out,
                                                               &err) != CSE_PLUGIN_OK)
        rc = report(saved ? "save" : "open", path, &err);
    else
        print_json(out);
    H->api->free_string(out);
    free(rec);
    return rc;
}

/* Tells the module whether the result it handed out was kept (rc is the
 * status of saving or writing it), so that the journal says what happened.
 * Returns rc, or the outcome's own failure when rc was success. */
static int confirm(struct host *H, const char *what, const char *result, int rc)
{
    cse_plugin_error err;

    kill_point("before-outcome");
    if (H->api->action_outcome(H->h, &H->user, result, rc == HOST_OK, &err) ==
        CSE_PLUGIN_OK)
        return rc;
    if (rc != HOST_OK) {
        report(what, "the failure could not be journaled", &err);
        return rc;
    }
    fprintf(stderr, "cse-host: %s: done, but the audit journal could not record it:\n",
            what);
    return report(what, NULL, &err);
}

static int save_result(struct host *H, const char *what, const char *path, char *out)
{
    int rc;

    kill_point("before-write");
    rc = confirm(H, what, out, write_atomic(path, out, strlen(out), false));
    H->api->free_string(out);
    return rc;
}

static int cmd_flag(struct host *H, int argc, char **argv)
{
    char path[PATH_MAX], *rec, *out = NULL, *id = NULL;
    cse_plugin_error err;
    int rc, lk;

    if (argc < 3)
        return usage(stderr), HOST_USAGE;
    if ((rc = record_path(H, argv[1], path, sizeof(path))) != HOST_OK)
        return rc;
    if ((lk = lock_record(H, argv[1])) < 0)
        return HOST_IO;
    if ((rec = load_record(H, "flag", argv[1], path, sizeof(path), &rc)) == NULL) {
        unlock_record(lk);
        return rc;
    }
    if (H->api->marker_add(H->h, &H->user, rec, argv[2], opt_value(argc, argv, "--start"),
                           opt_value(argc, argv, "--review"), &out, &id,
                           &err) != CSE_PLUGIN_OK)
        rc = report("flag", path, &err);
    else if ((rc = save_result(H, "flag", path, out)) == HOST_OK)
        printf("%s\n", id);
    unlock_record(lk);
    H->api->free_string(id);
    free(rec);
    return rc;
}

static int cmd_change(struct host *H, int argc, char **argv)
{
    char path[PATH_MAX], *rec, *out = NULL;
    cse_plugin_error err;
    const char *cmd = argv[0];
    int rc, prc, lk;

    if (argc < 3)
        return usage(stderr), HOST_USAGE;
    if (strcmp(cmd, "end") == 0 && opt_value(argc, argv, "--reason") == NULL) {
        fprintf(stderr, "cse-host: end needs --reason CODE\n");
        return HOST_USAGE;
    }
    if ((rc = record_path(H, argv[1], path, sizeof(path))) != HOST_OK)
        return rc;
    if ((lk = lock_record(H, argv[1])) < 0)
        return HOST_IO;
    if ((rec = load_record(H, cmd, argv[1], path, sizeof(path), &rc)) == NULL) {
        unlock_record(lk);
        return rc;
    }
    if (strcmp(cmd, "review") == 0)
        prc = H->api->marker_review(H->h, &H->user, rec, argv[2],
                                    opt_value(argc, argv, "--next"), &out, &err);
    else if (strcmp(cmd, "end") == 0)
        prc = H->api->marker_end(H->h, &H->user, rec, argv[2],
                                 opt_value(argc, argv, "--reason"), &out, &err);
    else
        prc = H->api->marker_entered_in_error(H->h, &H->user, rec, argv[2], &out, &err);
    rc = prc != CSE_PLUGIN_OK ? report(cmd, path, &err) : save_result(H, cmd, path, out);
    unlock_record(lk);
    free(rec);
    return rc;
}

static int cmd_export(struct host *H, int argc, char **argv)
{
    char path[PATH_MAX], *rec, *xml = NULL;
    const char *out = opt_value(argc, argv, "-o");
    cse_plugin_export_options opt = {0};
    cse_plugin_error err;
    size_t len = 0;
    int rc;

    if (argc < 2 || out == NULL)
        return usage(stderr), HOST_USAGE;
    opt.receiver_ods = opt_value(argc, argv, "--to");
    if ((rec = load_record(H, "export", argv[1], path, sizeof(path), &rc)) == NULL)
        return rc;
    if (H->api->gp2gp_export(H->h, &H->user, rec, &opt, &xml, &len, &err) !=
        CSE_PLUGIN_OK)
        rc = report("export", path, &err);
    else {
        kill_point("before-write");
        rc = confirm(H, "export", xml, write_atomic(out, xml, len, true));
    }
    H->api->free_string(xml);
    free(rec);
    return rc;
}

/* The patient's NHS number from a record, as a file name. */
static int name_from_record(const char *rec, char *name, size_t size)
{
    json_t *root = json_loads(rec, 0, NULL), *e, *id;
    size_t i, j;
    int rc = HOST_REFUSED;

    json_array_foreach(json_object_get(root, "entry"), i, e)
    {
        json_t *res = json_object_get(e, "resource");
        if (strcmp(json_string_value(json_object_get(res, "resourceType")) ?: "",
                   "Patient") != 0)
            continue;
        json_array_foreach(json_object_get(res, "identifier"), j, id)
        {
            const char *sys = json_string_value(json_object_get(id, "system"));
            const char *v = json_string_value(json_object_get(id, "value"));
            if (sys && v && strcmp(sys, "https://fhir.nhs.uk/Id/nhs-number") == 0 &&
                strlen(v) == 10 && strspn(v, "0123456789") == 10) {
                snprintf(name, size, "%s", v);
                rc = HOST_OK;
                goto out;
            }
        }
    }
out:
    json_decref(root);
    if (rc != HOST_OK)
        fprintf(stderr, "cse-host: the imported record has no NHS number: use --as\n");
    return rc;
}

/* DIR/.csemarker-imports: one line "EXTRACT_ID NAME" per imported extract,
 * so that the same extract is not imported twice under two names. Read and
 * appended under the lock of DIR/.csemarker-imports.lock. */
#define IMPORTS_INDEX ".csemarker-imports"

/* True when the index has extract_id. */
static bool imported_before(const struct host *H, const char *extract_id)
{
    char p[PATH_MAX], line[512];
    size_t l = strlen(extract_id);
    bool seen = false;
    FILE *fp;
    int fd;

    snprintf(p, sizeof(p), "%s/%s", H->records, IMPORTS_INDEX);
    if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
        return false;
    if ((fp = fdopen(fd, "r")) == NULL) {
        close(fd);
        return false;
    }
    while (!seen && fgets(line, sizeof(line), fp))
        seen = strncmp(line, extract_id, l) == 0 && line[l] == ' ';
    fclose(fp);
    return seen;
}

static int note_import(const struct host *H, const char *extract_id, const char *name)
{
    char p[PATH_MAX], line[512];
    int fd, n, rc = HOST_OK;

    snprintf(p, sizeof(p), "%s/%s", H->records, IMPORTS_INDEX);
    n = snprintf(line, sizeof(line), "%s %s\n", extract_id, name);
    if (n < 0 || (size_t)n >= sizeof(line))
        return HOST_OK;
    if ((fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) <
            0 ||
        write_all(fd, line, (size_t)n) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "cse-host: import: %s: %s\n", p, strerror(errno));
        rc = HOST_IO;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static int cmd_import(struct host *H, int argc, char **argv)
{
    char path[PATH_MAX], lp[PATH_MAX], name[64], *xml, *rec = NULL, *review = NULL;
    const char *as = opt_value(argc, argv, "--as"), *to, *xid;
    bool force = opt_flag(argc, argv, "--force"), other_ods, seen, there;
    cse_plugin_import_options io = {sizeof(io), 1, 0};
    cse_plugin_error err;
    size_t len;
    int rc, lk = -1, ilk = -1;
    json_t *rv = NULL;

    if (argc < 2)
        return usage(stderr), HOST_USAGE;
    if ((xml = read_file("import", argv[1], &len)) == NULL)
        return HOST_IO;
    /* First a dry run: the module reads and checks the extract and says whom
     * it is addressed to; nothing is journaled yet. */
    io.force = force;
    if (H->api->gp2gp_import_opt(H->h, &H->user, xml, len, &io, &rec, &review, &err) !=
        CSE_PLUGIN_OK) {
        rc = report("import", argv[1], &err);
        if (err.code == CSE_PLUGIN_ERR_STATE && strcmp(err.path, "destination") == 0)
            fprintf(stderr, "cse-host: import: --force imports it all the same (the "
                            "audit journal records that)\n");
        goto out;
    }
    rv = json_loads(review, 0, NULL);
    to = json_string_value(json_object_get(rv, "addressed_to"));
    xid = json_string_value(json_object_get(rv, "extract_id"));
    other_ods = to == NULL || strcmp(to, H->ods) != 0;
    if (as)
        snprintf(name, sizeof(name), "%s", as);
    else if ((rc = name_from_record(rec, name, sizeof(name))) != HOST_OK)
        goto out;
    if ((rc = record_path(H, name, path, sizeof(path))) != HOST_OK)
        goto out;
    snprintf(lp, sizeof(lp), "%s/%s.lock", H->records, IMPORTS_INDEX);
    if ((ilk = lock_fd(lp, true)) < 0) {
        fprintf(stderr, "cse-host: import: cannot lock %s: %s\n", lp, strerror(errno));
        rc = HOST_IO;
        goto out;
    }
    if ((lk = lock_record(H, name)) < 0) {
        rc = HOST_IO;
        goto out;
    }
    seen = xid && imported_before(H, xid);
    there = exists(path);
    /* Neither message names the record: its name is the NHS number. */
    if (!force && (seen || there)) {
        if (seen)
            fprintf(stderr,
                    "cse-host: import: %s: this extract was imported into this "
                    "folder before: refusing a second import (--force)\n",
                    argv[1]);
        if (there)
            fprintf(stderr,
                    "cse-host: import: %s: a record for this patient exists: "
                    "refusing to overwrite it (--force)\n",
                    argv[1]);
        rc = HOST_REFUSED;
        goto out;
    }
    /* Now for real: journaled, and as forced when anything had to be. */
    H->api->free_string(rec);
    H->api->free_string(review);
    rec = review = NULL;
    io.dry_run = 0;
    io.force = other_ods || seen || there;
    if (H->api->gp2gp_import_opt(H->h, &H->user, xml, len, &io, &rec, &review, &err) !=
        CSE_PLUGIN_OK) {
        rc = report("import", argv[1], &err);
        goto out;
    }
    kill_point("before-write");
    if ((rc = confirm(H, "import", rec, write_atomic(path, rec, strlen(rec), false))) !=
        HOST_OK)
        goto out;
    if (xid && !seen && (rc = note_import(H, xid, name)) != HOST_OK)
        goto out;
    printf("imported %s\n", name);
    print_json(review);
    if (json_array_size(json_object_get(rv, "candidates")) > 0)
        rc = HOST_REVIEW;
out:
    unlock_record(lk);
    unlock_record(ilk);
    json_decref(rv);
    H->api->free_string(rec);
    H->api->free_string(review);
    free(xml);
    return rc;
}

static int cmd_view(struct host *H, int argc, char **argv)
{
    char path[PATH_MAX], *rec, *out = NULL;
    const char *to = opt_value(argc, argv, "-o");
    cse_plugin_error err;
    int rc;

    if (argc < 2)
        return usage(stderr), HOST_USAGE;
    if ((rec = load_record(H, "online-view", argv[1], path, sizeof(path), &rc)) == NULL)
        return rc;
    if (H->api->patient_view(H->h, &H->user, rec, &out, &err) != CSE_PLUGIN_OK)
        rc = report("online-view", path, &err);
    else if (to)
        rc = write_atomic(to, out, strlen(out), true);
    else
        print_json(out);
    H->api->free_string(out);
    free(rec);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends {"record":NAME,"code":N,"message":WHY} to errors. */
static bool due_error(json_t *errors, const char *name, int code, const char *why)
{
    return json_array_append_new(errors, json_pack("{s:s,s:i,s:s}", "record", name,
                                                   "code", code, "message", why)) == 0;
}

static int cmd_due(struct host *H, int argc, char **argv)
{
    const char *within = opt_value(argc, argv, "--within");
    char **names = NULL, **recs = NULL, **ok = NULL, *out = NULL, path[PATH_MAX];
    char why[256];
    size_t n = 0, cap = 0, nok = 0;
    DIR *d;
    struct dirent *de;
    cse_plugin_error err;
    int rc = HOST_OK, days = within ? atoi(within) : 30;
    json_t *root = NULL, *item, *local = json_array();
    size_t i;

    if (local == NULL)
        return HOST_INTERNAL;
    if ((d = opendir(H->records)) == NULL) {
        fprintf(stderr, "cse-host: %s: %s\n", H->records, strerror(errno));
        json_decref(local);
        return HOST_IO;
    }
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
            if (nn == NULL) {
                rc = HOST_INTERNAL;
                goto out;
            }
            names = nn;
        }
        if ((names[n] = strndup(de->d_name, l - 5)) == NULL) {
            rc = HOST_INTERNAL;
            goto out;
        }
        n++;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    if ((recs = calloc(n ? n : 1, sizeof(*recs))) == NULL ||
        (ok = calloc(n ? n : 1, sizeof(*ok))) == NULL) {
        rc = HOST_INTERNAL;
        goto out;
    }
    /* A file that cannot be read (a folder named x.json, a NUL byte, over the
     * limit) is listed in errors; the rest of the practice is still listed. */
    for (i = 0; i < n; i++) {
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s.json", H->records, names[i]);
        if ((recs[i] = load_file(path, &len, why, sizeof(why))) == NULL ||
            nul_why(recs[i], len, why, sizeof(why))) {
            fprintf(stderr, "cse-host: due: %s: %s\n", path, why);
            if (!due_error(local, names[i],
                           recs[i] ? CSE_PLUGIN_ERR_PARSE : CSE_PLUGIN_ERR_IO, why)) {
                rc = HOST_INTERNAL;
                goto out;
            }
            free(recs[i]);
            recs[i] = NULL;
            continue;
        }
        ok[nok++] = recs[i];
    }
    if (H->api->reviews_due(H->h, &H->user, (const char *const *)ok, nok, days, &out,
                            &err) != CSE_PLUGIN_OK) {
        rc = report("due", NULL, &err);
        goto out;
    }
    /* Give each item the record's name instead of its index among those
     * read. */
    if ((root = json_loads(out, 0, NULL)) == NULL) {
        rc = HOST_INTERNAL;
        goto out;
    }
    {
        size_t *map = calloc(nok ? nok : 1, sizeof(*map)), k = 0;
        if (map == NULL) {
            rc = HOST_INTERNAL;
            goto out;
        }
        for (i = 0; i < n; i++)
            if (recs[i])
                map[k++] = i;
        json_array_foreach(json_object_get(root, "items"), i, item)
        {
            json_int_t x = json_integer_value(json_object_get(item, "record"));
            if (x >= 0 && (size_t)x < nok)
                json_object_set_new(item, "record", json_string(names[map[x]]));
        }
        json_array_foreach(json_object_get(root, "errors"), i, item)
        {
            json_int_t x = json_integer_value(json_object_get(item, "record"));
            if (x >= 0 && (size_t)x < nok)
                json_object_set_new(item, "record", json_string(names[map[x]]));
        }
        free(map);
    }
    json_array_extend(json_object_get(root, "errors"), local);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
out:
    closedir(d);
    json_decref(root);
    json_decref(local);
    if (H->api && out)
        H->api->free_string(out);
    for (i = 0; i < n; i++) {
        free(names[i]);
        if (recs)
            free(recs[i]);
    }
    free(names);
    free(recs);
    free(ok);
    return rc;
}

/* A recovery or any earlier one: said on every verify, so that tampering,
 * once found, stays in view. */
static void note_recoveries(const char *report_json)
{
    json_t *rep = json_loads(report_json, 0, NULL), *r;
    size_t i;

    json_array_foreach(json_object_get(rep, "recoveries"), i, r)
    {
        json_t *d = json_object_get(r, "detail");
        fprintf(
            stderr,
            "cse-host: audit: NOTE: entry %lld recovered the journal (%s, by %s as %s) "
            "after: %s; entries kept: %lld; the damaged files are kept as %s.*\n",
            (long long)json_integer_value(json_object_get(r, "seq")),
            json_string_value(json_object_get(r, "time")) ?: "?",
            json_string_value(json_object_get(r, "user")) ?: "?",
            json_string_value(json_object_get(r, "role")) ?: "?",
            json_string_value(json_object_get(d, "problem")) ?: "?",
            (long long)json_integer_value(json_object_get(d, "entries_kept")),
            json_string_value(json_object_get(d, "archive")) ?: "?");
    }
    json_decref(rep);
}

static int cmd_audit(struct host *H, int argc, char **argv)
{
    char *out = NULL;
    cse_plugin_error err;
    int rc = HOST_OK;
    const char *sub = argc >= 2 ? argv[1] : "";

    if (strcmp(sub, "verify") == 0 || strcmp(sub, "anchor") == 0) {
        const char *expect = opt_value(argc, argv, "--expect");
        if (opt_flag(argc, argv, "--expect") && expect == NULL)
            return usage(stderr), HOST_USAGE;
        if (H->api->audit_verify(H->h, &H->user, expect, &out, &err) != CSE_PLUGIN_OK)
            rc = report("audit verify", NULL, &err);
        if (out && strcmp(sub, "anchor") == 0 && rc == HOST_OK) {
            json_t *rep = json_loads(out, 0, NULL);
            printf("%s\n", json_string_value(json_object_get(rep, "anchor")) ?: "");
            json_decref(rep);
        } else if (out) {
            print_json(out);
        }
    } else if (strcmp(sub, "recover") == 0) {
        if (H->api->audit_recover(H->h, &H->user, &out, &err) != CSE_PLUGIN_OK)
            rc = report("audit recover", NULL, &err);
        if (out && rc == HOST_OK)
            print_json(out);
    } else {
        return usage(stderr), HOST_USAGE;
    }
    if (out)
        note_recoveries(out);
    H->api->free_string(out);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"module", required_argument, NULL, 'm'},
        {"records", required_argument, NULL, 'r'},
        {"journal", required_argument, NULL, 'j'},
        {"key", required_argument, NULL, 'k'},
        {"user", required_argument, NULL, 'u'},
        {"role", required_argument, NULL, 'R'},
        {"ods", required_argument, NULL, 'o'},
#ifdef CSE_HOST_TEST_CLOCK
        {"today", required_argument, NULL, 't'},
#endif
        {"review-months", required_argument, NULL, 'M'},
        {"unauthenticated", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct host H = {0};
    const char *cmd;
    int c, rc;

    H.ods = "UNKNOWN";
    H.user.authenticated = 1;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': H.module = optarg; break;
        case 'r': H.records = optarg; break;
        case 'j': H.journal = optarg; break;
        case 'k': H.key = optarg; break;
        case 'u': H.user.user_id = optarg; break;
        case 'R': H.user.role = optarg; break;
        case 'o': H.ods = optarg; break;
        case 't': H.today = optarg; break;
        case 'M': H.review_months = atoi(optarg); break;
        case 'U': H.user.authenticated = 0; break;
        case 'h': usage(stdout); return HOST_OK;
        case 'V': printf("cse-host (csemarker) %s\n", PACKAGE_VERSION); return HOST_OK;
        default: usage(stderr); return HOST_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return HOST_USAGE;
    }
    cmd = argv[optind];
    argc -= optind;
    argv += optind;
    if (!H.journal || !H.key || !H.user.user_id || !H.user.role ||
        (!H.records && strcmp(cmd, "audit") != 0)) {
        fprintf(stderr, "cse-host: --records, --journal, --key, --user and --role are "
                        "required\n");
        return HOST_USAGE;
    }
    if (!utf8_text(H.user.user_id) || !utf8_text(H.user.role)) {
        fprintf(stderr,
                "cse-host: --%s is not valid UTF-8 text (or holds a control "
                "character)\n",
                utf8_text(H.user.user_id) ? "role" : "user");
        return HOST_USAGE;
    }
    catch_fatal_signals();
    if (H.records && strcmp(cmd, "audit") != 0 && (rc = check_records_dir(&H)) != HOST_OK)
        return rc;
    if ((rc = load(&H)) != HOST_OK || (rc = open_handle(&H)) != HOST_OK)
        goto out;
    sweep_stale(&H);
    if (strcmp(cmd, "open") == 0)
        rc = cmd_open(&H, argc, argv, false);
    else if (strcmp(cmd, "save") == 0)
        rc = cmd_open(&H, argc, argv, true);
    else if (strcmp(cmd, "flag") == 0)
        rc = cmd_flag(&H, argc, argv);
    else if (strcmp(cmd, "review") == 0 || strcmp(cmd, "end") == 0 ||
             strcmp(cmd, "error") == 0)
        rc = cmd_change(&H, argc, argv);
    else if (strcmp(cmd, "export") == 0)
        rc = cmd_export(&H, argc, argv);
    else if (strcmp(cmd, "import") == 0)
        rc = cmd_import(&H, argc, argv);
    else if (strcmp(cmd, "online-view") == 0)
        rc = cmd_view(&H, argc, argv);
    else if (strcmp(cmd, "due") == 0)
        rc = cmd_due(&H, argc, argv);
    else if (strcmp(cmd, "audit") == 0)
        rc = cmd_audit(&H, argc, argv);
    else {
        fprintf(stderr, "cse-host: unknown command '%s' (try --help)\n", cmd);
        rc = HOST_USAGE;
    }
out:
    if (H.api && H.h)
        H.api->close(H.h);
    /* The module stays loaded until exit: unloading buys nothing here. */
    return rc;
}
