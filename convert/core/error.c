/* SPDX-License-Identifier: MIT */
/* Error codes and the caller-owned error struct. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *cse_strerror(cse_code code)
{
    switch (code) {
    case CSE_OK: return "no error";
    case CSE_ERR_NOMEM: return "out of memory";
    case CSE_ERR_INVALID_ARG: return "invalid argument";
    case CSE_ERR_IO: return "input/output error";
    case CSE_ERR_PARSE: return "input is not well-formed";
    case CSE_ERR_STRUCTURE: return "input is not the expected message";
    case CSE_ERR_UNSUPPORTED: return "unsupported construct";
    case CSE_ERR_LIMIT: return "size or depth limit exceeded";
    case CSE_ERR_STATE: return "invalid marker state change";
    case CSE_ERR_CODE: return "invalid or non-marker code";
    case CSE_ERR_NHS_NUMBER: return "invalid NHS number";
    case CSE_ERR_DATE: return "invalid date";
    case CSE_ERR_PERMISSION: return "unsafe file permissions";
    case CSE_ERR_NEEDS_FRAGMENTS: return "large message needs its fragments";
    case CSE_ERR_SCHEMA: return "schema validation failed";
    case CSE_ERR_VERSION: return "wrong format or version";
    case CSE_ERR_NETWORK: return "network error";
    case CSE_ERR_AUTH: return "authorisation refused";
    case CSE_ERR_INTEGRITY: return "integrity check failed";
    case CSE_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

void cse_error_clear(cse_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
    err->offset = -1;
}

static void copy_field(char *dst, size_t size, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, size, "%s", src);
}

cse_code cse__error_set(cse_error *err, cse_code code, int line, const char *source,
                        const char *path, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != CSE_OK)
        return code;
    err->code = code;
    err->line = line;
    err->column = 0;
    err->offset = -1;
    copy_field(err->source, sizeof(err->source), source);
    copy_field(err->path, sizeof(err->path), path);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

const char *cse_error_format(const cse_error *err, char *buf, size_t size)
{
    size_t used = 0;
    int n;

    if (buf == NULL || size == 0)
        return "";
    buf[0] = '\0';
    if (err == NULL)
        return buf;
#define APPEND(...)                                                                      \
    do {                                                                                 \
        if (used < size) {                                                               \
            n = snprintf(buf + used, size - used, __VA_ARGS__);                          \
            if (n > 0)                                                                   \
                used += (size_t)n;                                                       \
        }                                                                                \
    } while (0)
    if (err->source[0])
        APPEND("%s:", err->source);
    if (err->line > 0)
        APPEND("%d:", err->line);
    if (err->column > 0)
        APPEND("%d:", err->column);
    if (used > 0)
        APPEND(" ");
    if (err->path[0])
        APPEND("%s: ", err->path);
    APPEND("%s", err->message[0] ? err->message : cse_strerror(err->code));
#undef APPEND
    return buf;
}

const char *cse_version(void)
{
    return PACKAGE_VERSION;
}
