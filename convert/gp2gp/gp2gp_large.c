/* SPDX-License-Identifier: MIT */
/* GP2GP large messages: a skeleton extract whose real content travels as a
 * compressed attachment in COPC_IN000001UK01 fragments. The reader either
 * names the fragments it needs or reads them, in place of the skeleton
 * statement, from a folder. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gp2gp_read.h"

static const char *const suffixes[] = {".xml", ".xml.gz", ".gz", ".b64"};

static bool plain_name(const char *id)
{
    if (id == NULL || *id == '\0' || strlen(id) > 64 || id[0] == '.')
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes base64 from in to out, a chunk at a time. Returns 0, or -1 when
 * the input is not base64. */
static int b64_decode(FILE *in, FILE *out)
{
    unsigned acc = 0;
    int bits = 0, c, pad = 0;

    while ((c = getc(in)) != EOF) {
        int v;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || (v = b64_value(c)) < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (putc((int)((acc >> bits) & 0xFFu), out) == EOF)
                return -1;
        }
    }
    return ferror(in) ? -1 : 0;
}

/* Opens a reader over file (descriptor in *in_fd, closed by the caller):
 * XML, or gzip of it that the reader inflates as it goes. */
static cse_code open_reader(cse__doc *d, const char *file, const char *path, int *in_fd,
                            cse__xr **out)
{
    if ((*in_fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
        return cse__error_set(d->g->err, CSE_ERR_IO, 0, path, NULL, "cannot open: %s",
                              strerror(errno));
    if ((*out = cse__xr_new_maybe_gzip(*in_fd, d->g->max_text)) == NULL) {
        close(*in_fd);
        *in_fd = -1;
        return cse__error_set(d->g->err, CSE_ERR_NOMEM, 0, path, NULL,
                              "cannot start the XML reader");
    }
    return CSE_OK;
}

/* Opens a reader over a fragment file: XML, gzip or base64 of either
 * (decoded into a temporary file first, so memory stays flat). *tmp
 * receives the temporary file to remove afterwards, *in_fd the descriptor
 * to close. */
static cse_code open_fragment(cse__doc *d, const char *path, cse__xr **out, char **tmp,
                              int *in_fd)
{
    FILE *f = fopen(path, "rb"), *o = NULL;
    unsigned char head[4] = {0};
    size_t n;
    int fd;
    const char *dir = getenv("TMPDIR");
    cse_code rc = CSE_OK;
    long skipped = 0;
    bool xml = false;
    int c;

    *out = NULL;
    *tmp = NULL;
    *in_fd = -1;
    if (f == NULL)
        return cse__error_set(d->g->err, CSE_ERR_IO, 0, path, NULL, "cannot open: %s",
                              strerror(errno));
    n = fread(head, 1, sizeof(head), f);
    if ((n >= 2 && head[0] == 0x1f && head[1] == 0x8b) || (n >= 1 && head[0] == '<') ||
        (n >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF)) {
        fclose(f);
        return open_reader(d, path, path, in_fd, out);
    }
    rewind(f);
    /* White space before the first '<' (a fragment saved with a leading
     * line break): XML all the same, but an XML declaration must come
     * first, so the copy read starts at the '<'. */
    while ((c = getc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
        skipped++;
    if (c == '<')
        xml = true;
    rewind(f);
    if (asprintf(tmp, "%s/cse-fragment.XXXXXX", dir && *dir ? dir : "/tmp") < 0) {
        *tmp = NULL;
        fclose(f);
        return cse__error_set(d->g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    }
    if ((fd = mkstemp(*tmp)) < 0 || (o = fdopen(fd, "wb")) == NULL) {
        rc = cse__error_set(d->g->err, CSE_ERR_IO, 0, *tmp, NULL,
                            "cannot create a temporary file: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    if (xml) {
        char buf[8192];
        size_t k;
        if (fseek(f, skipped, SEEK_SET) != 0)
            rc = cse__error_set(d->g->err, CSE_ERR_IO, 0, path, NULL, "cannot read");
        while (rc == CSE_OK && (k = fread(buf, 1, sizeof(buf), f)) > 0)
            if (fwrite(buf, 1, k, o) != k)
                rc = cse__error_set(d->g->err, CSE_ERR_IO, 0, *tmp, NULL,
                                    "cannot write a temporary file: %s", strerror(errno));
        if (rc == CSE_OK && ferror(f))
            rc = cse__error_set(d->g->err, CSE_ERR_IO, 0, path, NULL, "cannot read");
        if (rc != CSE_OK)
            goto out;
    } else if (b64_decode(f, o) != 0) {
        rc = cse__error_set(d->g->err, CSE_ERR_STRUCTURE, 0, path, NULL,
                            "the fragment is neither XML, gzip nor base64");
        goto out;
    }
    if (fflush(o) != 0) {
        rc = cse__error_set(d->g->err, CSE_ERR_IO, 0, *tmp, NULL,
                            "cannot write a temporary file: %s", strerror(errno));
        goto out;
    }
    rc = open_reader(d, *tmp, path, in_fd, out);
out:
    fclose(f);
    if (o)
        fclose(o);
    if (rc != CSE_OK && *tmp) {
        unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
    }
    return rc;
}

cse_code cse__gp2gp_fragment(cse__doc *d, const char *id, int line, const cse__frame *f)
{
    cse__gp2gp *g = d->g;
    char path[4096];
    cse__xr *r = NULL;
    char *tmp = NULL;
    bool found = false;
    int fd = -1;
    cse_code rc;

    if (!plain_name(id))
        return cse__gp2gp_fail(
            d, CSE_ERR_STRUCTURE, line, NULL,
            "a large-message skeleton names a fragment whose id is not "
            "a plain name");
    if (g->fragments_dir == NULL) {
        if (g->n_missing == 0) {
            g->missing_line = line;
            cse__gp2gp_path(d, cse__xr_node(d->r) ? cse__xr_node(d->r)->depth : 0, NULL,
                            g->missing_path, sizeof(g->missing_path));
        }
        if (g->n_missing < CSE__MAX_MISSING)
            snprintf(g->missing[g->n_missing], sizeof(g->missing[0]), "%s", id);
        g->n_missing++;
        return CSE_OK;
    }
    if (g->nesting >= CSE__MAX_FRAGMENT_NESTING)
        return cse__gp2gp_fail(d, CSE_ERR_STRUCTURE, line, NULL,
                               "fragments refer to further fragments more than %d levels "
                               "deep",
                               CSE__MAX_FRAGMENT_NESTING);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]) && !found; i++) {
        snprintf(path, sizeof(path), "%s/%s%s", g->fragments_dir, id, suffixes[i]);
        found = access(path, R_OK) == 0;
    }
    if (!found)
        return cse__gp2gp_fail(d, CSE_ERR_NEEDS_FRAGMENTS, line, NULL,
                               "large-message fragment %s is not in %s (looked for "
                               "%s.xml, %s.xml.gz, %s.gz and %s.b64)",
                               id, g->fragments_dir, id, id, id, id);
    if ((rc = open_fragment(d, path, &r, &tmp, &fd)) != CSE_OK)
        return rc;
    g->nesting++;
    rc = cse__gp2gp_read_doc(g, r, path, f, g->err);
    g->nesting--;
    cse__xr_free(r);
    close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    return rc;
}

cse_code cse__gp2gp_check_missing(cse__doc *d)
{
    cse__gp2gp *g = d->g;
    char list[400] = "";
    size_t used = 0;

    if (g->n_missing == 0)
        return CSE_OK;
    for (size_t i = 0; i < g->n_missing && i < CSE__MAX_MISSING; i++) {
        int n = snprintf(list + used, sizeof(list) - used, "%s%s.xml", i ? ", " : "",
                         g->missing[i]);
        if (n < 0 || (size_t)n >= sizeof(list) - used)
            break;
        used += (size_t)n;
    }
    return cse__error_set(
        g->err, CSE_ERR_NEEDS_FRAGMENTS, g->missing_line, d->source, g->missing_path,
        "this is a large-message skeleton: the record travels in %zu "
        "fragment(s) that were not given (%s%s); pass the folder that "
        "holds them",
        g->n_missing, list, g->n_missing > CSE__MAX_MISSING ? ", ..." : "");
}
