/* SPDX-License-Identifier: MIT */
/* Output files that appear only when complete, and error reporting. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define CLI_OUTPUT_BUFFER ((size_t)1 << 18)
/* Written data is handed to the disk every this many bytes, in the
 * background, so that the one fsync at the end waits for the last piece
 * only, not for the whole file. */
#define CLI_OUTPUT_WRITEBACK ((off_t)8 << 20)

/* The temporary file's stdio stream writes through these (fopencookie): each
 * full buffer goes to the file, and every CLI_OUTPUT_WRITEBACK bytes the
 * kernel is asked to start writing the pages out. */
static ssize_t out_write(void *cookie, const char *buf, size_t size)
{
    struct cli_output *o = cookie;
    size_t done = 0;

    while (done < size) {
        ssize_t n = write(o->fd, buf + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)n;
    }
    o->done += (off_t)done;
#ifdef SYNC_FILE_RANGE_WRITE
    if (o->done - o->sent >= CLI_OUTPUT_WRITEBACK) {
        /* Only a hint: the fsync at the commit is what makes it durable. */
        (void)sync_file_range(o->fd, o->sent, o->done - o->sent, SYNC_FILE_RANGE_WRITE);
        o->sent = o->done;
    }
#endif
    return (ssize_t)done;
}

static int out_close(void *cookie)
{
    struct cli_output *o = cookie;
    int rc = close(o->fd);

    o->fd = -1;
    return rc;
}

static FILE *open_writeback(struct cli_output *o, int fd)
{
    cookie_io_functions_t io = {.write = out_write, .close = out_close};

    o->fd = fd;
    return fopencookie(o, "w", io);
}

const char *cli_progname = "cse-convert";

FILE *cli_output_open(const char *path, struct cli_output *o)
{
    struct stat st;
    int fd;

    memset(o, 0, sizeof(*o));
    if (path == NULL || strcmp(path, "-") == 0) {
        /* stdio gives a file or a pipe a buffer of its block size (4 KiB):
         * a bundle of 100 MB took 25,000 writes. The first output to stdout
         * gets the same 256 KiB as a file (glibc flushes what stdout holds
         * before it changes the buffer; a terminal keeps its line buffer). */
        static char stdout_buf[CLI_OUTPUT_BUFFER];
        static bool stdout_buffered;
        if (!stdout_buffered && !isatty(STDOUT_FILENO))
            (void)setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));
        stdout_buffered = true;
        o->fp = stdout;
        return o->fp;
    }
    /* Through a symbolic link (/dev/stdout is one) the file it names is the
     * one replaced, not the link. */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        o->path = realpath(path, NULL);
    if (o->path == NULL)
        o->path = strdup(path);
    if (o->path == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli_progname);
        goto fail;
    }
    /* A device or a pipe (a terminal, a FIFO) is written as it is: renaming
     * a file over it would replace it, and what it has taken cannot be taken
     * back anyway. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s: %s: is a directory\n", cli_progname, path);
            goto fail;
        }
        if ((o->fp = fopen(path, "w")) == NULL) {
            fprintf(stderr, "%s: %s: cannot open output: %s\n", cli_progname, path,
                    strerror(errno));
            goto fail;
        }
        o->direct = true;
        return o->fp;
    }
    if (asprintf(&o->tmp, "%s.tmp.XXXXXX", o->path) < 0) {
        o->tmp = NULL;
        fprintf(stderr, "%s: out of memory\n", cli_progname);
        goto fail;
    }
    if ((fd = mkstemp(o->tmp)) < 0) {
        fprintf(stderr, "%s: %s: cannot create output: %s\n", cli_progname, path,
                strerror(errno));
        goto fail;
    }
    if ((o->fp = open_writeback(o, fd)) == NULL) {
        close(fd);
        unlink(o->tmp);
        fprintf(stderr, "%s: %s: cannot open output: %s\n", cli_progname, path,
                strerror(errno));
        goto fail;
    }
    /* Outputs run to hundreds of megabytes: write them in 256 KiB pieces,
     * not stdio's 4 KiB. Without the memory, stdio's own buffer serves. */
    if ((o->buf = malloc(CLI_OUTPUT_BUFFER)) != NULL &&
        setvbuf(o->fp, o->buf, _IOFBF, CLI_OUTPUT_BUFFER) != 0) {
        free(o->buf);
        o->buf = NULL;
    }
    return o->fp;
fail:
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof(*o));
    return NULL;
}

int cli_output_commit(struct cli_output *o)
{
    int rc = CLI_OK;

    if (o->fp == NULL)
        return CLI_IO;
    if (o->tmp == NULL) {
        if (fflush(o->fp) != 0 || (o->direct && fclose(o->fp) != 0)) {
            fprintf(stderr, "%s: writing %s: %s\n", cli_progname,
                    o->path ? o->path : "standard output", strerror(errno));
            rc = CLI_IO;
        }
        free(o->path);
        memset(o, 0, sizeof(*o));
        return rc;
    }
    if (fflush(o->fp) != 0 || fsync(o->fd) != 0) {
        fprintf(stderr, "%s: %s: write failed: %s\n", cli_progname, o->path,
                strerror(errno));
        rc = CLI_IO;
    }
    if (fclose(o->fp) != 0 && rc == CLI_OK) {
        fprintf(stderr, "%s: %s: write failed: %s\n", cli_progname, o->path,
                strerror(errno));
        rc = CLI_IO;
    }
    o->fp = NULL;
    free(o->buf);
    o->buf = NULL;
    if (rc == CLI_OK && rename(o->tmp, o->path) != 0) {
        fprintf(stderr, "%s: %s: cannot rename into place: %s\n", cli_progname, o->path,
                strerror(errno));
        rc = CLI_IO;
    }
    if (rc != CLI_OK)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return rc;
}

void cli_output_abort(struct cli_output *o)
{
    if (o->tmp != NULL) {
        if (o->fp != NULL)
            fclose(o->fp);
        unlink(o->tmp);
        free(o->buf);
    } else if (o->direct) {
        fclose(o->fp);
    } else if (o->fp != NULL) {
        fflush(o->fp);
    }
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof(*o));
}

int cli_fail(const char *prog, const cse_error *err)
{
    char buf[1600];

    fprintf(stderr, "%s: %s\n", prog, cse_error_format(err, buf, sizeof(buf)));
    switch (err->code) {
    case CSE_ERR_IO:
    case CSE_ERR_PERMISSION: return CLI_IO;
    case CSE_ERR_NOMEM:
    case CSE_ERR_INTERNAL: return CLI_INTERNAL;
    case CSE_ERR_INVALID_ARG: return CLI_USAGE;
    default: return CLI_INPUT;
    }
}

int cli_main(const char *prog, const struct cli_command *commands,
             void (*usage)(FILE *out), int argc, char **argv)
{
    cli_progname = prog;
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s (csemarker) %s\n", prog, cse_version());
        return CLI_OK;
    }
    for (const struct cli_command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (try --help)\n", prog, argv[1]);
    return CLI_USAGE;
}
