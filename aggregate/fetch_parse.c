/* SPDX-License-Identifier: MIT */
/* cse-report fetch: the pure parts, Retry-After and backoff, the server's
 * JSON (manifest, token, OperationOutcome), URL checks and the NDJSON line
 * splitter. Nothing here touches the network. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "fetch_internal.h"
#include "internal.h"

#define TOKEN_MAX 8192

/* ---- Poll timing --------------------------------------------------------- */

cse_code cse__fetch_retry_after(const char *value, time_t now, long *seconds)
{
    const char *p;
    time_t when;

    if (value == NULL)
        return CSE_ERR_PARSE;
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        long v = 0;
        for (p = value; isdigit((unsigned char)*p); p++) {
            if (v > (LONG_MAX - 9) / 10)
                return CSE_ERR_PARSE;
            v = v * 10 + (*p - '0');
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '\0')
            return CSE_ERR_PARSE;
        *seconds = v;
        return CSE_OK;
    }
    /* An HTTP-date has a weekday name first; anything else is not one. */
    if (!isalpha((unsigned char)*value))
        return CSE_ERR_PARSE;
    when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return CSE_ERR_PARSE;
    *seconds = when > now ? (long)(when - now) : 0;
    return CSE_OK;
}

long cse__fetch_backoff(unsigned attempt, long initial, long max)
{
    long d = initial < 1 ? 1 : initial;

    if (max < 1)
        max = 1;
    for (unsigned i = 0; i < attempt && d < max; i++)
        d = d > max / 2 ? max : d * 2;
    return d < max ? d : max;
}

long cse__fetch_poll_delay(const char *retry_after, time_t now, unsigned attempt,
                           long max)
{
    long s;

    if (max < 1)
        max = 1;
    if (retry_after != NULL && cse__fetch_retry_after(retry_after, now, &s) == CSE_OK)
        return s < 1 ? 1 : s > max ? max : s;
    return cse__fetch_backoff(attempt, 1, max);
}

/* ---- URLs --------------------------------------------------------------- */

static CURLU *url_parse(const char *url)
{
    CURLU *u = curl_url();

    if (u == NULL || url == NULL)
        goto fail;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto fail;
    return u;
fail:
    curl_url_cleanup(u);
    return NULL;
}

static int has_part(CURLU *u, CURLUPart part)
{
    char *s = NULL;
    int ok = curl_url_get(u, part, &s, 0) == CURLUE_OK && s != NULL && *s != '\0';
    curl_free(s);
    return ok;
}

int cse__fetch_url_ok(const char *url)
{
    CURLU *u = url_parse(url);
    char *scheme = NULL;
    int ok = 0;

    if (u == NULL)
        return 0;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        strcmp(scheme, "https") == 0 && has_part(u, CURLUPART_HOST) &&
        !has_part(u, CURLUPART_USER) && !has_part(u, CURLUPART_PASSWORD))
        ok = 1;
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

const char *cse__fetch_url_redact(const char *url, char *buf, size_t size)
{
    CURLU *u = url_parse(url);
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

    snprintf(buf, size, "(invalid URL)");
    if (u == NULL)
        return buf;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
            port = NULL;
        if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
            path = NULL;
        snprintf(buf, size, "%s://%s%s%s%s", scheme, host, port ? ":" : "",
                 port ? port : "", path ? path : "");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return buf;
}

int cse__fetch_same_origin(const char *a, const char *b)
{
    CURLU *ua = url_parse(a), *ub = url_parse(b);
    static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
    int same = ua != NULL && ub != NULL;

    for (size_t i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
        char *x = NULL, *y = NULL;
        /* The default port counts, so https://h and https://h:443 agree. */
        if (curl_url_get(ua, parts[i], &x, CURLU_DEFAULT_PORT) != CURLUE_OK ||
            curl_url_get(ub, parts[i], &y, CURLU_DEFAULT_PORT) != CURLUE_OK ||
            strcasecmp(x, y) != 0)
            same = 0;
        curl_free(x);
        curl_free(y);
    }
    curl_url_cleanup(ua);
    curl_url_cleanup(ub);
    return same;
}

/* ---- Server JSON -------------------------------------------------------- */

static int type_requested(const char *types, const char *type)
{
    size_t n = strlen(type);

    for (const char *p = types; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, type, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* A resource type name: an upper-case letter then letters, as FHIR has them. */
static int type_name_ok(const char *s)
{
    size_t n = 0;

    if (!isupper((unsigned char)*s))
        return 0;
    for (; s[n]; n++)
        if (!isalpha((unsigned char)s[n]) || n >= 64)
            return 0;
    return 1;
}

static cse_code parse_files(json_t *arr, const char *name, const char *types,
                            cse__fetch_file **out, size_t *n_out, cse_error *err)
{
    char path[64];
    size_t i, n = json_array_size(arr);
    json_t *item;

    *out = NULL;
    *n_out = 0;
    if (!json_is_array(arr))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", name,
                              "expected an array");
    if (n == 0)
        return CSE_OK;
    if (n > 100000)
        return cse__error_set(err, CSE_ERR_LIMIT, 0, "manifest", name,
                              "more than 100000 files");
    if ((*out = calloc(n, sizeof(**out))) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "manifest", name, "out of memory");
    json_array_foreach(arr, i, item)
    {
        json_t *type = json_object_get(item, "type"), *url = json_object_get(item, "url");
        json_t *count = json_object_get(item, "count");
        cse__fetch_file *f = &(*out)[i];

        *n_out = i + 1;
        f->count = -1;
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        if (!json_is_object(item))
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", path,
                                  "expected an object");
        if (!json_is_string(type) || !type_name_ok(json_string_value(type)))
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", path,
                                  "missing or malformed \"type\"");
        if (types != NULL && !type_requested(types, json_string_value(type)))
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", path,
                                  "type %s was not requested", json_string_value(type));
        if (types == NULL && strcmp(json_string_value(type), "OperationOutcome") != 0)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", path,
                                  "error files must be of type OperationOutcome");
        if (!json_is_string(url) || !cse__fetch_url_ok(json_string_value(url)))
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", path,
                                  "\"url\" is not an absolute https URL");
        if (count != NULL && (!json_is_integer(count) || json_integer_value(count) < 0))
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", path,
                                  "\"count\" is not a non-negative integer");
        if ((f->type = strdup(json_string_value(type))) == NULL ||
            (f->url = strdup(json_string_value(url))) == NULL)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, "manifest", path,
                                  "out of memory");
        if (count != NULL)
            f->count = json_integer_value(count);
    }
    return CSE_OK;
}

cse_code cse__fetch_manifest_parse(const char *json, size_t len, const char *types,
                                   cse__fetch_manifest *m, cse_error *err)
{
    json_error_t jerr;
    json_t *root, *v, *link;
    size_t i;
    cse_code rc;

    memset(m, 0, sizeof(*m));
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return cse__error_set(err, CSE_ERR_PARSE, jerr.line, "manifest", NULL,
                              "not valid JSON");
    if (!json_is_object(root)) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", NULL,
                            "expected a JSON object");
        goto out;
    }
    if (!json_is_string(json_object_get(root, "transactionTime"))) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", "transactionTime",
                            "missing or not a string");
        goto out;
    }
    if (!json_is_string(json_object_get(root, "request"))) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", "request",
                            "missing or not a string");
        goto out;
    }
    v = json_object_get(root, "requiresAccessToken");
    if (!json_is_boolean(v)) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "manifest", "requiresAccessToken",
                            "missing or not a boolean");
        goto out;
    }
    m->requires_token = json_is_true(v);
    /* A paged manifest would silently give a short count: refuse it. */
    json_array_foreach(json_object_get(root, "link"), i, link)
    {
        const char *rel = json_string_value(json_object_get(link, "relation"));
        if (rel != NULL && strcmp(rel, "next") == 0) {
            rc = cse__error_set(err, CSE_ERR_UNSUPPORTED, 0, "manifest", "link",
                                "paged manifests are not supported");
            goto out;
        }
    }
    if ((rc = parse_files(json_object_get(root, "output"), "output",
                          types ? types : CSE_FETCH_DEFAULT_TYPES, &m->output,
                          &m->n_output, err)) != CSE_OK)
        goto out;
    if ((rc = parse_files(json_object_get(root, "error"), "error", NULL, &m->error,
                          &m->n_error, err)) != CSE_OK)
        goto out;
out:
    json_decref(root);
    if (rc != CSE_OK)
        cse__fetch_manifest_free(m);
    return rc;
}

static void files_free(cse__fetch_file *f, size_t n)
{
    for (size_t i = 0; f != NULL && i < n; i++) {
        free(f[i].type);
        free(f[i].url);
    }
    free(f);
}

void cse__fetch_manifest_free(cse__fetch_manifest *m)
{
    if (m == NULL)
        return;
    files_free(m->output, m->n_output);
    files_free(m->error, m->n_error);
    memset(m, 0, sizeof(*m));
}

cse_code cse__fetch_token_parse(const char *json, size_t len, char **token,
                                long *expires_in, cse_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr), *v;
    const char *tok, *type;
    cse_code rc = CSE_OK;

    *token = NULL;
    if (root == NULL)
        return cse__error_set(err, CSE_ERR_PARSE, jerr.line, "token response", NULL,
                              "not valid JSON");
    tok = json_string_value(json_object_get(root, "access_token"));
    type = json_string_value(json_object_get(root, "token_type"));
    if (tok == NULL || *tok == '\0' || strlen(tok) > TOKEN_MAX) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "token response", "access_token",
                            "missing, empty or longer than %d bytes", TOKEN_MAX);
        goto out;
    }
    for (const char *p = tok; *p; p++)
        if (*p <= ' ' || *p > '~') {
            rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "token response",
                                "access_token",
                                "contains characters a header cannot carry");
            goto out;
        }
    if (type == NULL || strcasecmp(type, "bearer") != 0) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "token response", "token_type",
                            "expected \"bearer\"");
        goto out;
    }
    v = json_object_get(root, "expires_in");
    if (v == NULL)
        *expires_in = 300;
    else if (json_is_integer(v) && json_integer_value(v) > 0 &&
             json_integer_value(v) < 86400 * 365)
        *expires_in = (long)json_integer_value(v);
    else {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "token response", "expires_in",
                            "expected a positive integer");
        goto out;
    }
    if ((*token = strdup(tok)) == NULL)
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "token response", NULL,
                            "out of memory");
out:
    /* jansson's copy of the token goes with the tree; wipe ours on failure. */
    json_decref(root);
    return rc;
}

/* A FHIR code we can repeat without repeating server text. */
static int code_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!(islower((unsigned char)s[n]) || s[n] == '-') || n >= 32)
            return 0;
    return n > 0;
}

int cse__fetch_outcome(const char *json, size_t len, char *buf, size_t size, int *worst)
{
    static const char *const transient[] = {"transient", "lock-error", "no-store",
                                            "exception", "timeout",    "incomplete",
                                            "throttled"};
    static const char *const severities[] = {"information", "warning", "error", "fatal"};
    json_t *root = json_loadb(json, len, 0, NULL), *issue;
    size_t i, used = 0;
    int all_transient = 1, any = 0, w = 0;

    if (size > 0)
        buf[0] = '\0';
    json_array_foreach(json_object_get(root, "issue"), i, issue)
    {
        const char *code = json_string_value(json_object_get(issue, "code"));
        const char *sev = json_string_value(json_object_get(issue, "severity"));
        int is_transient = 0;

        any = 1;
        for (int s = 0; sev != NULL && s < 4; s++)
            if (strcmp(sev, severities[s]) == 0 && s > w)
                w = s;
        if (code == NULL || !code_ok(code)) {
            all_transient = 0;
            continue;
        }
        for (size_t t = 0; t < sizeof(transient) / sizeof(transient[0]); t++)
            if (strcmp(code, transient[t]) == 0)
                is_transient = 1;
        all_transient &= is_transient;
        if (strstr(buf, code) == NULL && used + strlen(code) + 2 < size) {
            used +=
                (size_t)snprintf(buf + used, size - used, "%s%s", used ? "," : "", code);
        }
    }
    json_decref(root);
    if (worst != NULL)
        *worst = w;
    return any && all_transient;
}

const char *cse__fetch_oauth_error(const char *json, size_t len)
{
    static const char *const known[] = {"invalid_request",        "invalid_client",
                                        "invalid_grant",          "unauthorized_client",
                                        "unsupported_grant_type", "invalid_scope"};
    json_t *root = json_loadb(json, len, 0, NULL);
    const char *e = json_string_value(json_object_get(root, "error")), *r = "";

    for (size_t i = 0; e != NULL && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(e, known[i]) == 0)
            r = known[i];
    json_decref(root);
    return r;
}

/* ---- NDJSON lines -------------------------------------------------------- */

void cse__fetch_lines_init(cse__fetch_lines *l, size_t max, cse_fetch_line_fn fn,
                           void *ctx, const char *source, cse_error *err)
{
    memset(l, 0, sizeof(*l));
    l->max = max;
    l->fn = fn;
    l->ctx = ctx;
    l->source = source;
    l->err = err;
}

static cse_code deliver(cse__fetch_lines *l, char *s, size_t n)
{
    l->line++;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) {
            l->delivered++;
            return l->fn(l->ctx, s, n, l->source, l->line, l->err);
        }
    return CSE_OK;
}

static cse_code append(cse__fetch_lines *l, const char *data, size_t n)
{
    if (l->len + n + 1 > l->max)
        return cse__error_set(l->err, CSE_ERR_LIMIT, (int)(l->line + 1), l->source, NULL,
                              "line longer than %zu bytes", l->max);
    if (l->len + n + 1 > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        char *b;
        while (cap < l->len + n + 1)
            cap *= 2;
        if (cap > l->max)
            cap = l->max;
        if ((b = malloc(cap)) == NULL)
            return cse__error_set(l->err, CSE_ERR_NOMEM, 0, l->source, NULL,
                                  "out of memory");
        /* Grow by copying so the old buffer can be wiped: it holds record data. */
        if (l->buf != NULL) {
            memcpy(b, l->buf, l->len);
            OPENSSL_cleanse(l->buf, l->cap);
            free(l->buf);
        }
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, data, n);
    l->len += n;
    return CSE_OK;
}

cse_code cse__fetch_lines_feed(cse__fetch_lines *l, const char *data, size_t n)
{
    cse_code rc;

    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;

        if ((rc = append(l, data, take)) != CSE_OK)
            return rc;
        if (nl == NULL)
            return CSE_OK;
        rc = deliver(l, l->buf, l->len);
        l->len = 0;
        if (rc != CSE_OK)
            return rc;
        data += take + 1;
        n -= take + 1;
    }
    return CSE_OK;
}

cse_code cse__fetch_lines_finish(cse__fetch_lines *l)
{
    cse_code rc = CSE_OK;

    if (l->len > 0)
        rc = cse__error_set(l->err, CSE_ERR_NETWORK, (int)(l->line + 1), l->source, NULL,
                            "truncated download: the last line has no end");
    cse__fetch_lines_free(l);
    return rc;
}

void cse__fetch_lines_free(cse__fetch_lines *l)
{
    if (l->buf != NULL) {
        OPENSSL_cleanse(l->buf, l->cap);
        free(l->buf);
    }
    l->buf = NULL;
    l->len = l->cap = 0;
}
