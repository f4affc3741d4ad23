/* SPDX-License-Identifier: MIT */
/* Pseudonym keys, keyed pseudonyms and reporting periods. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "report_internal.h"

void cse__wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

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

cse_code cse_key_load(const char *path, unsigned char key[32], cse_error *err)
{
    unsigned char buf[80];
    struct stat st;
    cse_code rc = CSE_OK;
    ssize_t got;
    size_t n = 0;
    int fd = -1;

    if (path == NULL || key == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, path, "", "no key file given");
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot open key file: %s",
                            strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "",
                            "key file is not a regular file");
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rc = cse__error_set(err, CSE_ERR_PERMISSION, 0, path, "",
                            "key file is accessible by group or others (mode %03o); "
                            "run: chmod 600 %s",
                            (unsigned)(st.st_mode & 0777), path);
        goto out;
    }
    while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot read key file: %s",
                                strerror(errno));
            goto out;
        }
        n += (size_t)got;
    }
    if (n == 32) {
        memcpy(key, buf, 32);
        goto out;
    }
    if (n > 64 && buf[64] == '\n')
        n = n == 65 ? 64 : n;
    if (n == 64) {
        for (size_t i = 0; i < 32; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                rc = cse__error_set(
                    err, CSE_ERR_STRUCTURE, 0, path, "",
                    "key file holds neither 32 raw bytes nor 64 hex digits");
                goto out;
            }
            key[i] = (unsigned char)(hi << 4 | lo);
        }
        goto out;
    }
    rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, path, "",
                        "key file holds %s bytes; expected 32 raw bytes or 64 hex digits",
                        n >= sizeof(buf) ? "too many" : "the wrong number of");
out:
    cse__wipe(buf, sizeof(buf));
    if (rc != CSE_OK && key != NULL)
        cse__wipe(key, 32);
    if (fd >= 0)
        close(fd);
    return rc;
}

cse_code cse__report_pseudonym(const unsigned char *key, size_t key_len,
                               const char nhs[11], unsigned char out[CSE__PSEUDO_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    cse_code rc = CSE_OK;

    if (key != NULL) {
        if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)nhs, 10, md,
                 &mdlen) == NULL)
            rc = CSE_ERR_INTERNAL;
    } else if (EVP_Digest(nhs, 10, md, &mdlen, EVP_sha256(), NULL) != 1) {
        rc = CSE_ERR_INTERNAL;
    }
    if (rc == CSE_OK)
        memcpy(out, md, CSE__PSEUDO_LEN);
    cse__wipe(md, sizeof(md));
    return rc;
}

int cse__day_in(const cse_time *v, const cse_time *start, const cse_time *end)
{
    return v->precision != CSE_TIME_NONE && cse_time_compare(v, start) >= 0 &&
           cse_time_compare(v, end) <= 0;
}

static cse_code parse_day(const char *s, size_t n, cse_time *out)
{
    char buf[16];

    if (n != 10)
        return CSE_ERR_DATE;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (cse_time_parse_fhir(buf, out) != CSE_OK || out->precision != CSE_TIME_DAY)
        return CSE_ERR_DATE;
    return CSE_OK;
}

cse_code cse_period_parse(const char *s, cse_time *start, cse_time *end, cse_error *err)
{
    const char *dots;
    int y, q;
    char tail;

    if (s == NULL || start == NULL || end == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "period",
                              "no period given");
    if (sscanf(s, "%4d-Q%1d%c", &y, &q, &tail) == 2 && strlen(s) == 7 && q >= 1 &&
        q <= 4 && y >= 1900) {
        static const int last[4] = {31, 30, 30, 31};
        memset(start, 0, sizeof(*start));
        memset(end, 0, sizeof(*end));
        start->year = end->year = y;
        start->month = 3 * q - 2;
        end->month = 3 * q;
        start->day = 1;
        end->day = last[q - 1];
        start->precision = end->precision = CSE_TIME_DAY;
        return CSE_OK;
    }
    dots = strstr(s, "..");
    if (dots == NULL || parse_day(s, (size_t)(dots - s), start) != CSE_OK ||
        parse_day(dots + 2, strlen(dots + 2), end) != CSE_OK)
        return cse__error_set(err, CSE_ERR_DATE, 0, "", "period",
                              "period does not parse: expected YYYY-MM-DD..YYYY-MM-DD "
                              "or YYYY-Qn");
    if (cse_time_compare(end, start) < 0)
        return cse__error_set(err, CSE_ERR_DATE, 0, "", "period",
                              "period ends before it starts");
    return CSE_OK;
}
