/* SPDX-License-Identifier: MIT */
/* cse-report fetch: one FHIR Bulk Data Access v2 export, authorised by SMART
 * Backend Services, streamed line by line into a caller's callback.
 *
 * Every request goes through request(): https only, TLS verified (system CAs
 * or the caller's CA file), no redirects except for file downloads, and no
 * URL, token or server text in any message. Server-supplied text is
 * untrusted: at most the HTTP status and OperationOutcome issue codes are
 * repeated. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "fetch_internal.h"
#include "internal.h"

#define BODY_MAX (1024 * 1024)
#define ASSERTION_LIFETIME 240 /* seconds; SMART allows at most 300 */

struct response {
    long status;
    char *body; /* capped at BODY_MAX; the rest is dropped */
    size_t len;
    char retry_after[128];
    char location[2048];
    char progress[128];
    char content_type[128];
    cse__fetch_lines *lines; /* when set, a 200's body goes here */
    cse_code lines_rc;
    struct fetch *f;
};

struct fetch {
    const cse_fetch_options *opt;
    cse_fetch_stats *stats;
    cse_error *err;
    CURL *curl;
    cse__fetch_key key;
    char base[2048]; /* without a trailing slash */
    char *token_url;
    char *token;
    time_t token_expiry;
    long token_life;
    char *status_url;
    char types[512];
    char scope[1024];
    unsigned max_retries;
    long max_delay;
    int ignore_interrupt; /* while deleting */
};

static int interrupted(const struct fetch *f)
{
    return !f->ignore_interrupt && f->opt->interrupted != NULL && *f->opt->interrupted;
}

static void progress(struct fetch *f, const char *stage, const char *detail)
{
    char clean[81];
    size_t n = 0;

    if (f->opt->progress == NULL)
        return;
    for (const char *p = detail ? detail : ""; *p && n < sizeof(clean) - 1; p++)
        clean[n++] = (*p >= ' ' && *p <= '~') ? *p : '?';
    clean[n] = '\0';
    f->opt->progress(f->opt->progress_ctx, stage, clean);
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* ---- One HTTP request ---------------------------------------------------- */

static void copy_header(char *dst, size_t size, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    struct response *r = user;
    size_t n = size * nmemb;
    static const struct {
        const char *name;
        size_t off, size;
    } want[] = {
        {"retry-after", offsetof(struct response, retry_after), 128},
        {"content-location", offsetof(struct response, location), 2048},
        {"x-progress", offsetof(struct response, progress), 128},
        {"content-type", offsetof(struct response, content_type), 128},
    };

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a redirect): forget the previous headers. */
        r->retry_after[0] = r->location[0] = r->progress[0] = r->content_type[0] = '\0';
        return n;
    }
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t len = strlen(want[i].name);
        if (n > len && data[len] == ':' && strncasecmp(data, want[i].name, len) == 0)
            copy_header((char *)r + want[i].off, want[i].size, data + len + 1,
                        n - len - 1);
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct response *r = user;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(r->f->curl, CURLINFO_RESPONSE_CODE, &status);
    if (r->lines != NULL && status == 200) {
        r->lines_rc = cse__fetch_lines_feed(r->lines, data, n);
        return r->lines_rc == CSE_OK ? n : 0;
    }
    if (r->len < BODY_MAX) {
        size_t take = n < BODY_MAX - r->len ? n : BODY_MAX - r->len;
        char *b = realloc(r->body, r->len + take + 1);
        if (b == NULL)
            return 0;
        r->body = b;
        memcpy(r->body + r->len, data, take);
        r->len += take;
        r->body[r->len] = '\0';
    }
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    return interrupted(user) ? 1 : 0;
}

static void response_free(struct response *r)
{
    if (r->body != NULL) {
        OPENSSL_cleanse(r->body, r->len);
        free(r->body);
    }
    memset(r, 0, sizeof(*r));
}

enum { R_JSON = 0, R_DOWNLOAD = 1, R_FHIR = 2 };

/* Sends one request. method is "GET", "POST" or "DELETE"; form is the POST
 * body; auth adds the bearer token. A transport failure sets err (naming what
 * and where, never the query string) and returns CSE_ERR_NETWORK; any HTTP
 * status is CSE_OK with r->status set. */
static cse_code request(struct fetch *f, const char *method, const char *url,
                        const char *what, int kind, const char *form, int auth,
                        struct response *r)
{
    struct curl_slist *hdr = NULL, *h;
    char *authz = NULL, where[512];
    cse_code rc = CSE_OK;
    CURLcode cc;

    r->f = f;
    r->status = 0;
    r->len = 0;
    r->lines_rc = CSE_OK;
    r->retry_after[0] = r->location[0] = r->progress[0] = r->content_type[0] = '\0';

    curl_easy_reset(f->curl);
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
    curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(f->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(f->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(f->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (f->opt->ca_file != NULL)
        curl_easy_setopt(f->curl, CURLOPT_CAINFO, f->opt->ca_file);
    curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(f->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(f->curl, CURLOPT_LOW_SPEED_TIME, 120L);
    if (kind != R_DOWNLOAD)
        curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, f->ignore_interrupt ? 30L : 300L);
    curl_easy_setopt(f->curl, CURLOPT_USERAGENT, "csemarker-fetch/" PACKAGE_VERSION);
    curl_easy_setopt(f->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(f->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(f->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(f->curl, CURLOPT_XFERINFODATA, f);
    if (kind == R_DOWNLOAD) {
        /* Files may live in object storage behind a redirect; curl does not
         * carry our Authorization header to another host. */
        curl_easy_setopt(f->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
        curl_easy_setopt(f->curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(f->curl, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(f->curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
        curl_easy_setopt(f->curl, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    }
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, form);
    else if (strcmp(method, "DELETE") == 0)
        curl_easy_setopt(f->curl, CURLOPT_CUSTOMREQUEST, "DELETE");

    h = curl_slist_append(NULL, kind == R_DOWNLOAD ? "Accept: application/fhir+ndjson"
                                : kind == R_FHIR   ? "Accept: application/fhir+json"
                                                   : "Accept: application/json");
    if (h != NULL && kind == R_FHIR)
        h = curl_slist_append(h, "Prefer: respond-async");
    if (h != NULL && auth) {
        if (asprintf(&authz, "Authorization: Bearer %s", f->token) < 0)
            authz = NULL;
        h = authz != NULL ? curl_slist_append(h, authz) : NULL;
    }
    if (h == NULL) {
        rc = cse__error_set(f->err, CSE_ERR_NOMEM, 0, what, NULL, "out of memory");
        goto out;
    }
    hdr = h;
    curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, hdr);

    cc = curl_easy_perform(f->curl);
    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc == CURLE_OK)
        goto out;
    if (cc == CURLE_WRITE_ERROR && r->lines_rc != CSE_OK) {
        rc = r->lines_rc; /* the callback's error, already in err */
        goto out;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL, "interrupted");
        goto out;
    }
    if (kind == R_DOWNLOAD && r->status == 200 &&
        (cc == CURLE_PARTIAL_FILE || cc == CURLE_BAD_CONTENT_ENCODING ||
         cc == CURLE_RECV_ERROR || cc == CURLE_OPERATION_TIMEDOUT)) {
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL,
                            "truncated download (%s)", curl_easy_strerror(cc));
        goto out;
    }
    cse__fetch_url_redact(url, where, sizeof(where));
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
        cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SSL_ISSUER_ERROR)
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL,
                            "TLS with %s failed: %s (the certificate is verified against "
                            "%s)",
                            where, curl_easy_strerror(cc),
                            f->opt->ca_file ? "--ca" : "the system CAs");
    else
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL, "%s %s failed: %s",
                            method, where, curl_easy_strerror(cc));
out:
    for (struct curl_slist *p = hdr; p != NULL; p = p->next)
        OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(hdr);
    wipe_free(authz);
    return rc;
}

/* "HTTP 500, OperationOutcome issue codes: processing" (no server text). */
static const char *describe(const struct response *r, char *buf, size_t size)
{
    char codes[200] = "";

    if (r->body != NULL)
        cse__fetch_outcome(r->body, r->len, codes, sizeof(codes), NULL);
    if (codes[0] != '\0')
        snprintf(buf, size, "HTTP %ld, OperationOutcome issue code %s", r->status, codes);
    else
        snprintf(buf, size, "HTTP %ld", r->status);
    return buf;
}

/* 429, and 5xx that the spec says to retry: 502/503/504, or any 5xx whose
 * OperationOutcome issues are all transient. */
static int retryable(const struct response *r)
{
    char codes[200];

    if (r->status == 429 || r->status == 502 || r->status == 503 || r->status == 504)
        return 1;
    if (r->status >= 500 && r->status < 600 && r->body != NULL)
        return cse__fetch_outcome(r->body, r->len, codes, sizeof(codes), NULL);
    return 0;
}

static cse_code sleep_for(struct fetch *f, long seconds, const char *what)
{
    struct timespec step = {0, 100 * 1000 * 1000};

    for (long i = 0; i < seconds * 10; i++) {
        if (interrupted(f))
            return cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL, "interrupted");
        nanosleep(&step, NULL);
    }
    return interrupted(f)
               ? cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL, "interrupted")
               : CSE_OK;
}

/* ---- SMART Backend Services ---------------------------------------------- */

static cse_code discover(struct fetch *f)
{
    struct response r = {0};
    char url[2100], *s;
    json_t *root = NULL, *algs;
    const char *tok;
    cse_code rc;

    progress(f, "discover", "");
    snprintf(url, sizeof(url), "%s/.well-known/smart-configuration", f->base);
    if ((rc = request(f, "GET", url, "smart-configuration", R_JSON, NULL, 0, &r)) !=
        CSE_OK)
        goto out;
    if (r.status != 200) {
        char d[300];
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, "smart-configuration", NULL,
                            "discovery failed: %s", describe(&r, d, sizeof(d)));
        goto out;
    }
    if ((root = json_loadb(r.body ? r.body : "", r.len, 0, NULL)) == NULL ||
        !json_is_object(root)) {
        rc = cse__error_set(f->err, CSE_ERR_PARSE, 0, "smart-configuration", NULL,
                            "not a JSON object");
        goto out;
    }
    tok = json_string_value(json_object_get(root, "token_endpoint"));
    if (tok == NULL || !cse__fetch_url_ok(tok)) {
        rc = cse__error_set(f->err, CSE_ERR_STRUCTURE, 0, "smart-configuration",
                            "token_endpoint", "missing or not an absolute https URL");
        goto out;
    }
    algs = json_object_get(root, "token_endpoint_auth_signing_alg_values_supported");
    if (json_is_array(algs)) {
        size_t i;
        json_t *a;
        int found = 0;
        json_array_foreach(algs, i, a)
        {
            if (json_is_string(a) &&
                strcmp(json_string_value(a), cse__fetch_key_alg(&f->key)) == 0)
                found = 1;
        }
        if (!found) {
            rc = cse__error_set(f->err, CSE_ERR_UNSUPPORTED, 0, "smart-configuration",
                                "token_endpoint_auth_signing_alg_values_supported",
                                "the server does not accept %s client assertions",
                                cse__fetch_key_alg(&f->key));
            goto out;
        }
    }
    if ((s = strdup(tok)) == NULL) {
        rc = cse__error_set(f->err, CSE_ERR_NOMEM, 0, "smart-configuration", NULL,
                            "out of memory");
        goto out;
    }
    f->token_url = s;
out:
    json_decref(root);
    response_free(&r);
    return rc;
}

static cse_code get_token(struct fetch *f)
{
    struct response r = {0};
    char *assertion = NULL, *form = NULL, *scope = NULL, *token = NULL;
    time_t now = time(NULL);
    long life = 0;
    cse_code rc;

    progress(f, "token", "");
    wipe_free(f->token);
    f->token = NULL;
    if ((rc = cse__fetch_assertion(&f->key, f->opt->kid, f->opt->client_id, f->token_url,
                                   now, ASSERTION_LIFETIME, &assertion, f->err)) !=
        CSE_OK)
        goto out;
    if ((scope = curl_easy_escape(f->curl, f->scope, 0)) == NULL ||
        asprintf(&form,
                 "grant_type=client_credentials&scope=%s"
                 "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
                 "client-assertion-type%%3Ajwt-bearer&client_assertion=%s",
                 scope, assertion) < 0) {
        form = NULL;
        rc = cse__error_set(f->err, CSE_ERR_NOMEM, 0, "token", NULL, "out of memory");
        goto out;
    }
    if ((rc = request(f, "POST", f->token_url, "token", R_JSON, form, 0, &r)) != CSE_OK)
        goto out;
    if (r.status != 200) {
        const char *oe = r.body ? cse__fetch_oauth_error(r.body, r.len) : "";
        rc = cse__error_set(f->err, r.status >= 500 ? CSE_ERR_NETWORK : CSE_ERR_AUTH, 0,
                            "token", NULL, "the token request was refused: HTTP %ld%s%s",
                            r.status, *oe ? ", " : "", oe);
        goto out;
    }
    if ((rc = cse__fetch_token_parse(r.body ? r.body : "", r.len, &token, &life,
                                     f->err)) != CSE_OK)
        goto out;
    f->token = token;
    token = NULL;
    f->token_life = life;
    f->token_expiry = now + life;
    if (f->stats)
        f->stats->tokens++;
out:
    wipe_free(assertion);
    wipe_free(form);
    curl_free(scope);
    response_free(&r);
    return rc;
}

/* Renews the token a little before it expires: a quarter of its life, at
 * least one second and at most a minute. */
static cse_code ensure_token(struct fetch *f)
{
    long margin = f->token_life / 4;

    if (margin < 1)
        margin = 1;
    if (margin > 60)
        margin = 60;
    if (f->token != NULL && time(NULL) + margin < f->token_expiry)
        return CSE_OK;
    return get_token(f);
}

/* A request with a bearer token, renewing the token once on 401 and
 * retrying 429 and transient errors a bounded number of times. */
static cse_code authed(struct fetch *f, const char *method, const char *url,
                       const char *what, int kind, int auth, struct response *r)
{
    unsigned retries = 0;
    int renewed = 0;
    cse_code rc;

    for (;;) {
        if (interrupted(f))
            return cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL, "interrupted");
        if (auth && (rc = ensure_token(f)) != CSE_OK)
            return rc;
        if ((rc = request(f, method, url, what, kind, NULL, auth, r)) != CSE_OK)
            return rc;
        if (r->status == 401 && auth && !renewed) {
            /* The token expired or was revoked early: SMART says get a new one. */
            renewed = 1;
            wipe_free(f->token);
            f->token = NULL;
            if (f->stats)
                f->stats->retries++;
            continue;
        }
        if (!retryable(r) || f->ignore_interrupt)
            return CSE_OK;
        if (++retries > f->max_retries) {
            char d[300];
            return cse__error_set(f->err, CSE_ERR_NETWORK, 0, what, NULL,
                                  "gave up after %u retries: %s", f->max_retries,
                                  describe(r, d, sizeof(d)));
        }
        if (f->stats)
            f->stats->retries++;
        progress(f, "retrying", r->status == 429 ? "HTTP 429" : "server busy");
        rc = sleep_for(f,
                       cse__fetch_poll_delay(r->retry_after[0] ? r->retry_after : NULL,
                                             time(NULL), retries - 1, f->max_delay),
                       what);
        if (rc != CSE_OK)
            return rc;
    }
}

/* ---- Bulk Data ------------------------------------------------------------ */

static cse_code kick_off(struct fetch *f)
{
    struct response r = {0};
    char url[3000], d[300];
    CURLU *u = NULL;
    char *loc = NULL;
    cse_code rc;

    progress(f, "kick-off", "");
    snprintf(url, sizeof(url), "%s/Group/%s/$export?_type=%s", f->base, f->opt->group_id,
             f->types);
    if ((rc = authed(f, "GET", url, "kick-off", R_FHIR, 1, &r)) != CSE_OK)
        goto out;
    if (r.status != 202) {
        rc = cse__error_set(
            f->err, r.status == 401 || r.status == 403 ? CSE_ERR_AUTH : CSE_ERR_NETWORK,
            0, "kick-off", NULL, "the export was refused: %s",
            describe(&r, d, sizeof(d)));
        goto out;
    }
    /* Content-Location is absolute by the spec; resolve a relative one. */
    if (r.location[0] == '\0' || (u = curl_url()) == NULL ||
        curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, r.location, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &loc, 0) != CURLUE_OK) {
        rc = cse__error_set(f->err, CSE_ERR_STRUCTURE, 0, "kick-off", "Content-Location",
                            "202 without a usable Content-Location");
        goto out;
    }
    /* The status URL gets our token: it must be on the FHIR server itself. */
    if (!cse__fetch_url_ok(loc) || !cse__fetch_same_origin(loc, f->base)) {
        rc = cse__error_set(f->err, CSE_ERR_STRUCTURE, 0, "kick-off", "Content-Location",
                            "the status URL is not on the FHIR server's https origin");
        goto out;
    }
    if ((f->status_url = strdup(loc)) == NULL)
        rc = cse__error_set(f->err, CSE_ERR_NOMEM, 0, "kick-off", NULL, "out of memory");
out:
    curl_free(loc);
    curl_url_cleanup(u);
    response_free(&r);
    return rc;
}

static cse_code poll_status(struct fetch *f, cse__fetch_manifest *m)
{
    struct response r = {0};
    time_t start = time(NULL);
    long max_wait = f->opt->max_wait > 0 ? f->opt->max_wait : 24L * 3600;
    unsigned attempt = 0;
    char d[300];
    cse_code rc;

    for (;;) {
        if ((rc = authed(f, "GET", f->status_url, "status", R_JSON, 1, &r)) != CSE_OK)
            goto out;
        if (f->stats)
            f->stats->polls++;
        if (r.status == 200)
            break;
        if (r.status != 202) {
            rc = cse__error_set(
                f->err,
                r.status == 401 || r.status == 403 ? CSE_ERR_AUTH : CSE_ERR_NETWORK, 0,
                "status", NULL, "the export failed: %s", describe(&r, d, sizeof(d)));
            goto out;
        }
        progress(f, "waiting", r.progress);
        if (time(NULL) - start > max_wait) {
            rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, "status", NULL,
                                "the export was not ready after %ld seconds", max_wait);
            goto out;
        }
        rc = sleep_for(f,
                       cse__fetch_poll_delay(r.retry_after[0] ? r.retry_after : NULL,
                                             time(NULL), attempt++, f->max_delay),
                       "status");
        if (rc != CSE_OK)
            goto out;
    }
    rc = cse__fetch_manifest_parse(r.body ? r.body : "", r.len, f->types, m, f->err);
out:
    response_free(&r);
    return rc;
}

/* Downloads one file into lines; nothing is handed on unless the status is
 * 200, so a retry never delivers a line twice. */
static cse_code download(struct fetch *f, const cse__fetch_manifest *m,
                         const cse__fetch_file *file, const char *source,
                         cse__fetch_lines *lines)
{
    struct response r = {0};
    curl_off_t want = -1, got = -1;
    char d[300];
    cse_code rc;

    if (m->requires_token && !cse__fetch_same_origin(file->url, f->base))
        return cse__error_set(f->err, CSE_ERR_STRUCTURE, 0, source, NULL,
                              "the manifest asks for the access token to be sent to "
                              "another host; refused");
    progress(f, "downloading", source);
    r.lines = lines;
    if ((rc = authed(f, "GET", file->url, source, R_DOWNLOAD, m->requires_token, &r)) !=
        CSE_OK)
        goto out;
    if (r.status != 200) {
        rc = cse__error_set(
            f->err, r.status == 401 || r.status == 403 ? CSE_ERR_AUTH : CSE_ERR_NETWORK,
            0, source, NULL, "download failed: %s", describe(&r, d, sizeof(d)));
        goto out;
    }
    curl_easy_getinfo(f->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
    curl_easy_getinfo(f->curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
    if (want >= 0 && got != want) {
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, source, NULL,
                            "truncated download: %lld of %lld bytes", (long long)got,
                            (long long)want);
        goto out;
    }
    if ((rc = cse__fetch_lines_finish(lines)) != CSE_OK)
        goto out;
    if (file->count >= 0 && (long long)lines->delivered != file->count) {
        rc = cse__error_set(f->err, CSE_ERR_NETWORK, 0, source, NULL,
                            "the file has %zu resources but the manifest says %lld",
                            lines->delivered, file->count);
        goto out;
    }
    if (f->stats) {
        f->stats->files++;
        f->stats->lines += lines->delivered;
    }
out:
    cse__fetch_lines_free(lines);
    response_free(&r);
    return rc;
}

struct outcome_ctx {
    char codes[200];
    size_t errors, warnings;
};

static cse_code on_outcome_line(void *ctx, const char *json, size_t len,
                                const char *source, long line, cse_error *err)
{
    struct outcome_ctx *o = ctx;
    char codes[200];
    int worst = 0;
    size_t used = strlen(o->codes), n;

    cse__fetch_outcome(json, len, codes, sizeof(codes), &worst);
    n = strlen(codes);
    if (worst >= 2) {
        o->errors++;
        if (n > 0 && strstr(o->codes, codes) == NULL && used + n + 2 < sizeof(o->codes)) {
            if (used > 0)
                o->codes[used++] = ',';
            memcpy(o->codes + used, codes, n + 1);
        }
    } else {
        o->warnings++;
    }
    return CSE_OK;
}

static cse_code export_files(struct fetch *f, const cse__fetch_manifest *m,
                             cse_fetch_line_fn fn, void *ctx)
{
    size_t max_line = f->opt->max_line ? f->opt->max_line : 16u * 1024 * 1024;
    struct outcome_ctx oc = {"", 0, 0};
    cse__fetch_lines lines;
    char source[128];
    cse_code rc;

    /* Error files first: a failed export must not reach the counts at all. */
    for (size_t i = 0; i < m->n_error; i++) {
        snprintf(source, sizeof(source), "error file %zu", i + 1);
        cse__fetch_lines_init(&lines, max_line, on_outcome_line, &oc, source, f->err);
        if ((rc = download(f, m, &m->error[i], source, &lines)) != CSE_OK)
            return rc;
    }
    if (f->stats)
        f->stats->warnings += oc.warnings;
    if (oc.errors > 0)
        return cse__error_set(f->err, CSE_ERR_NETWORK, 0, "manifest", "error",
                              "the server reported %zu export error%s (issue code %s); "
                              "the data would be incomplete",
                              oc.errors, oc.errors == 1 ? "" : "s",
                              oc.codes[0] ? oc.codes : "none given");
    for (size_t i = 0; i < m->n_output; i++) {
        size_t nth = 1;
        for (size_t j = 0; j < i; j++)
            nth += strcmp(m->output[j].type, m->output[i].type) == 0;
        snprintf(source, sizeof(source), "%s output %zu", m->output[i].type, nth);
        cse__fetch_lines_init(&lines, max_line, fn, ctx, source, f->err);
        if ((rc = download(f, m, &m->output[i], source, &lines)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

static void delete_export(struct fetch *f)
{
    struct response r = {0};

    progress(f, "deleting", "");
    f->ignore_interrupt = 1;
    if (authed(f, "DELETE", f->status_url, "delete", R_JSON, 1, &r) == CSE_OK &&
        r.status >= 200 && r.status < 300) {
        if (f->stats)
            f->stats->deleted = 1;
    } else if (f->stats) {
        f->stats->delete_failed = 1;
    }
    response_free(&r);
}

/* ---- Options ------------------------------------------------------------- */

/* A FHIR id: [A-Za-z0-9-.]{1,64}. */
static int fhir_id_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!(isalnum((unsigned char)s[n]) || s[n] == '-' || s[n] == '.') || n >= 64)
            return 0;
    return n > 0;
}

static cse_code check_options(struct fetch *f)
{
    const cse_fetch_options *o = f->opt;
    const char *types = o->types ? o->types : CSE_FETCH_DEFAULT_TYPES;
    size_t n, used = 0;

    if (o->fhir_base == NULL || !cse__fetch_url_ok(o->fhir_base))
        return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "--fhir",
                              "the FHIR base must be an absolute https URL without user "
                              "name or password");
    if (strchr(o->fhir_base, '?') || strchr(o->fhir_base, '#') ||
        (n = strlen(o->fhir_base)) >= sizeof(f->base))
        return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "--fhir",
                              "the FHIR base must have no query or fragment");
    memcpy(f->base, o->fhir_base, n + 1);
    while (n > 0 && f->base[n - 1] == '/')
        f->base[--n] = '\0';
    if (o->group_id == NULL || !fhir_id_ok(o->group_id))
        return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "--group",
                              "the group id must be 1-64 of A-Z a-z 0-9 - .");
    if (o->client_id == NULL || *o->client_id == '\0' || strlen(o->client_id) > 512)
        return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "--client-id",
                              "a client id is required");
    if (o->kid != NULL && (*o->kid == '\0' || strlen(o->kid) > 512))
        return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "--kid",
                              "the key id must be 1-512 bytes");
    if (strlen(types) >= sizeof(f->types))
        return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "types", "too long");
    snprintf(f->types, sizeof(f->types), "%s", types);
    f->scope[0] = '\0';
    for (char *p = f->types, *e; p != NULL; p = e ? e + 1 : NULL) {
        char name[70];
        size_t len;
        e = strchr(p, ',');
        len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof(name) || !isupper((unsigned char)*p))
            return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "types",
                                  "not a list of resource types");
        memcpy(name, p, len);
        name[len] = '\0';
        for (size_t i = 0; i < len; i++)
            if (!isalpha((unsigned char)name[i]))
                return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "types",
                                      "not a list of resource types");
        used += (size_t)snprintf(f->scope + used, sizeof(f->scope) - used,
                                 "%ssystem/%s.read", used ? " " : "", name);
        if (used >= sizeof(f->scope))
            return cse__error_set(f->err, CSE_ERR_INVALID_ARG, 0, NULL, "types",
                                  "too many types");
    }
    f->max_retries = o->max_retries ? o->max_retries : 5;
    f->max_delay = o->max_delay > 0 ? o->max_delay : 300;
    return CSE_OK;
}

cse_code cse_fetch_run(const cse_fetch_options *opt, cse_fetch_line_fn fn, void *ctx,
                       cse_fetch_stats *stats, cse_error *err)
{
    struct fetch f;
    cse__fetch_manifest m = {0};
    int curl_ready = 0;
    cse_code rc;

    memset(&f, 0, sizeof(f));
    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    if (opt == NULL || fn == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "cse_fetch_run: no options or callback");
    f.opt = opt;
    f.stats = stats;
    f.err = err;
    if ((rc = check_options(&f)) != CSE_OK)
        goto out;
    if ((rc = cse__fetch_key_load(opt->key_path, &f.key, err)) != CSE_OK)
        goto out;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                            "libcurl failed to start");
        goto out;
    }
    curl_ready = 1;
    if ((f.curl = curl_easy_init()) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if ((rc = discover(&f)) != CSE_OK || (rc = get_token(&f)) != CSE_OK ||
        (rc = kick_off(&f)) != CSE_OK)
        goto out;
    if ((rc = poll_status(&f, &m)) != CSE_OK)
        goto out;
    rc = export_files(&f, &m, fn, ctx);
out:
    if (f.status_url != NULL)
        delete_export(&f);
    cse__fetch_manifest_free(&m);
    free(f.status_url);
    free(f.token_url);
    wipe_free(f.token);
    cse__fetch_key_free(&f.key);
    if (f.curl != NULL)
        curl_easy_cleanup(f.curl);
    if (curl_ready)
        curl_global_cleanup();
    return rc;
}
