/* SPDX-License-Identifier: MIT */
/* cse-report fetch: the parts that need no server. Retry-After and backoff,
 * the manifest, token and OperationOutcome readers, URL checks, the NDJSON
 * line splitter, and the SMART client assertion (verified with OpenSSL). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "testutil.h"

#include "../aggregate/fetch_internal.h"

/* ---- Retry-After and backoff --------------------------------------------- */

START_TEST(test_fetch_retry_after_seconds)
{
    long s = -1;
    ck_assert_int_eq(cse__fetch_retry_after("120", 0, &s), CSE_OK);
    ck_assert_int_eq(s, 120);
    ck_assert_int_eq(cse__fetch_retry_after(" 5 ", 0, &s), CSE_OK);
    ck_assert_int_eq(s, 5);
    ck_assert_int_eq(cse__fetch_retry_after("0", 0, &s), CSE_OK);
    ck_assert_int_eq(s, 0);
    ck_assert_int_eq(cse__fetch_retry_after("-1", 0, &s), CSE_ERR_PARSE);
    ck_assert_int_eq(cse__fetch_retry_after("12x", 0, &s), CSE_ERR_PARSE);
    ck_assert_int_eq(cse__fetch_retry_after("", 0, &s), CSE_ERR_PARSE);
    ck_assert_int_eq(cse__fetch_retry_after("99999999999999999999999", 0, &s),
                     CSE_ERR_PARSE);
    ck_assert_int_eq(cse__fetch_retry_after(NULL, 0, &s), CSE_ERR_PARSE);
}
END_TEST

START_TEST(test_fetch_retry_after_http_date)
{
    time_t now = curl_getdate("Fri, 31 Dec 1999 23:59:00 GMT", NULL);
    long s = -1;
    ck_assert(now != (time_t)-1);
    /* IMF-fixdate, the obsolete RFC 850 and asctime forms HTTP allows. */
    ck_assert_int_eq(cse__fetch_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", now, &s),
                     CSE_OK);
    ck_assert_int_eq(s, 59);
    ck_assert_int_eq(cse__fetch_retry_after("Friday, 31-Dec-99 23:59:30 GMT", now, &s),
                     CSE_OK);
    ck_assert_int_eq(s, 30);
    ck_assert_int_eq(cse__fetch_retry_after("Fri Dec 31 23:59:10 1999", now, &s), CSE_OK);
    ck_assert_int_eq(s, 10);
    /* A date in the past means now. */
    ck_assert_int_eq(cse__fetch_retry_after("Thu, 30 Dec 1999 00:00:00 GMT", now, &s),
                     CSE_OK);
    ck_assert_int_eq(s, 0);
    ck_assert_int_eq(cse__fetch_retry_after("tomorrow-ish", now, &s), CSE_ERR_PARSE);
}
END_TEST

START_TEST(test_fetch_backoff_schedule_bounds)
{
    static const long want[] = {1, 2, 4, 8, 16, 32, 60, 60};
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_int_eq(cse__fetch_backoff(i, 1, 60), want[i]);
    /* Never below one second, never above the cap, no overflow. */
    ck_assert_int_eq(cse__fetch_backoff(0, 0, 60), 1);
    ck_assert_int_eq(cse__fetch_backoff(1000, 1, 300), 300);
    ck_assert_int_eq(cse__fetch_backoff(3, 5, 0), 1);
    ck_assert_int_eq(cse__fetch_backoff(70, 3, 1L << 40), 1L << 40);
}
END_TEST

START_TEST(test_fetch_poll_delay_honours_retry_after)
{
    time_t now = curl_getdate("Fri, 31 Dec 1999 23:59:00 GMT", NULL);
    ck_assert_int_eq(cse__fetch_poll_delay("3", now, 5, 300), 3);
    ck_assert_int_eq(cse__fetch_poll_delay("Fri, 31 Dec 1999 23:59:07 GMT", now, 5, 300),
                     7);
    /* Clamped to at least 1 and at most the cap. */
    ck_assert_int_eq(cse__fetch_poll_delay("0", now, 5, 300), 1);
    ck_assert_int_eq(cse__fetch_poll_delay("100000", now, 0, 300), 300);
    /* No or a bad hint: exponential backoff. */
    ck_assert_int_eq(cse__fetch_poll_delay(NULL, now, 3, 300), 8);
    ck_assert_int_eq(cse__fetch_poll_delay("soon", now, 2, 300), 4);
}
END_TEST

/* ---- Manifest ------------------------------------------------------------ */

#define MANIFEST_HEAD "{\"transactionTime\":\"2025-01-01T00:00:00Z\",\"request\":\"x\","

START_TEST(test_fetch_manifest_parses_valid)
{
    const char *j = MANIFEST_HEAD
        "\"requiresAccessToken\":true,\"output\":["
        "{\"type\":\"Patient\",\"url\":\"https://h/f/1\",\"count\":3},"
        "{\"type\":\"Flag\",\"url\":\"https://h/f/2\"}],"
        "\"error\":[{\"type\":\"OperationOutcome\",\"url\":\"https://h/e\"}],"
        "\"link\":[{\"relation\":\"self\",\"url\":\"https://h/s\"}]}";
    cse__fetch_manifest m;
    cse_error err;
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_manifest_parse(j, strlen(j), "Patient,Flag", &m, &err),
                     CSE_OK);
    ck_assert_int_eq(m.requires_token, 1);
    ck_assert_uint_eq(m.n_output, 2);
    ck_assert_str_eq(m.output[0].type, "Patient");
    ck_assert_str_eq(m.output[0].url, "https://h/f/1");
    ck_assert_int_eq(m.output[0].count, 3);
    ck_assert_int_eq(m.output[1].count, -1);
    ck_assert_uint_eq(m.n_error, 1);
    cse__fetch_manifest_free(&m);

    j = MANIFEST_HEAD "\"requiresAccessToken\":false,\"output\":[],\"error\":[]}";
    ck_assert_int_eq(cse__fetch_manifest_parse(j, strlen(j), NULL, &m, &err), CSE_OK);
    ck_assert_int_eq(m.requires_token, 0);
    ck_assert_uint_eq(m.n_output, 0);
    cse__fetch_manifest_free(&m);
}
END_TEST

START_TEST(test_fetch_manifest_rejects_bad)
{
    static const struct {
        const char *json;
        cse_code code;
        const char *path;
    } cases[] = {
        {"{\"request\":\"x\",\"requiresAccessToken\":true,\"output\":[],\"error\":[]}",
         CSE_ERR_STRUCTURE, "transactionTime"},
        {MANIFEST_HEAD "\"output\":[],\"error\":[]}", CSE_ERR_STRUCTURE,
         "requiresAccessToken"},
        {MANIFEST_HEAD "\"requiresAccessToken\":\"yes\",\"output\":[],\"error\":[]}",
         CSE_ERR_STRUCTURE, "requiresAccessToken"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"error\":[]}", CSE_ERR_STRUCTURE,
         "output"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[]}", CSE_ERR_STRUCTURE,
         "error"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[{\"type\":\"Patient\","
                       "\"url\":\"http://h/f\"}],\"error\":[]}",
         CSE_ERR_STRUCTURE, "output[0]"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[{\"type\":\"Patient\","
                       "\"url\":\"https://u:p@h/f\"}],\"error\":[]}",
         CSE_ERR_STRUCTURE, "output[0]"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[{\"type\":\"Patient\","
                       "\"url\":\"https://h/1\"},{\"type\":\"Encounter\",\"url\":"
                       "\"https://h/2\"}],\"error\":[]}",
         CSE_ERR_STRUCTURE, "output[1]"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[{\"type\":\"Patient\","
                       "\"url\":\"https://h/1\",\"count\":-2}],\"error\":[]}",
         CSE_ERR_STRUCTURE, "output[0]"},
        {MANIFEST_HEAD
         "\"requiresAccessToken\":true,\"output\":[{\"url\":\"https://h/1\"}],"
         "\"error\":[]}",
         CSE_ERR_STRUCTURE, "output[0]"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[],\"error\":[{\"type\":"
                       "\"Patient\",\"url\":\"https://h/e\"}]}",
         CSE_ERR_STRUCTURE, "error[0]"},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"output\":[],\"error\":[],\"link\":"
                       "[{\"relation\":\"next\",\"url\":\"https://h/p2\"}]}",
         CSE_ERR_UNSUPPORTED, "link"},
        {"[1,2]", CSE_ERR_STRUCTURE, ""},
        {"{\"transactionTime\":", CSE_ERR_PARSE, ""},
        {MANIFEST_HEAD "\"requiresAccessToken\":true,\"requiresAccessToken\":false,"
                       "\"output\":[],\"error\":[]}",
         CSE_ERR_PARSE, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cse__fetch_manifest m;
        cse_error err;
        cse_error_clear(&err);
        ck_assert_msg(cse__fetch_manifest_parse(cases[i].json, strlen(cases[i].json),
                                                "Patient,Flag", &m,
                                                &err) == cases[i].code,
                      "case %zu: got %d (%s)", i, err.code, err.message);
        ck_assert_int_eq(err.code, cases[i].code);
        ck_assert_str_eq(err.path, cases[i].path);
        ck_assert_str_eq(err.source, "manifest");
        ck_assert_ptr_null(m.output);
        ck_assert_ptr_null(m.error);
    }
}
END_TEST

/* ---- Token and OperationOutcome ------------------------------------------ */

START_TEST(test_fetch_token_response)
{
    const char *ok = "{\"access_token\":\"abc.DEF-123\",\"token_type\":\"Bearer\","
                     "\"expires_in\":120,\"scope\":\"system/Patient.read\"}";
    const char *noexp = "{\"access_token\":\"t\",\"token_type\":\"bearer\"}";
    const char *mac = "{\"access_token\":\"t\",\"token_type\":\"mac\",\"expires_in\":1}";
    const char *crlf = "{\"access_token\":\"SECRET\\r\\nX-Evil: 1\","
                       "\"token_type\":\"bearer\",\"expires_in\":60}";
    const char *zero =
        "{\"access_token\":\"t\",\"token_type\":\"bearer\",\"expires_in\":0}";
    char *tok = NULL;
    long life = 0;
    cse_error err;

    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_token_parse(ok, strlen(ok), &tok, &life, &err), CSE_OK);
    ck_assert_str_eq(tok, "abc.DEF-123");
    ck_assert_int_eq(life, 120);
    free(tok);
    ck_assert_int_eq(cse__fetch_token_parse(noexp, strlen(noexp), &tok, &life, &err),
                     CSE_OK);
    ck_assert_int_eq(life, 300);
    free(tok);
    ck_assert_int_eq(cse__fetch_token_parse(mac, strlen(mac), &tok, &life, &err),
                     CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "token_type");
    ck_assert_ptr_null(tok);
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_token_parse(crlf, strlen(crlf), &tok, &life, &err),
                     CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "access_token");
    ck_assert_ptr_null(strstr(err.message, "SECRET"));
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_token_parse(zero, strlen(zero), &tok, &life, &err),
                     CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "expires_in");
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_token_parse("nope", 4, &tok, &life, &err), CSE_ERR_PARSE);
}
END_TEST

START_TEST(test_fetch_outcome_repeats_codes_only)
{
    const char *fatal = "{\"resourceType\":\"OperationOutcome\",\"issue\":["
                        "{\"severity\":\"error\",\"code\":\"processing\","
                        "\"diagnostics\":\"patient 9990000018 SECRETNAME\"},"
                        "{\"severity\":\"fatal\",\"code\":\"Bad Code 9990000018\"}]}";
    const char *transient = "{\"issue\":[{\"severity\":\"error\",\"code\":\"transient\"},"
                            "{\"severity\":\"warning\",\"code\":\"throttled\"}]}";
    const char *info =
        "{\"issue\":[{\"severity\":\"information\",\"code\":\"informational\"}]}";
    char buf[64];
    int worst = -1;

    ck_assert_int_eq(cse__fetch_outcome(fatal, strlen(fatal), buf, sizeof(buf), &worst),
                     0);
    ck_assert_str_eq(buf, "processing");
    ck_assert_int_eq(worst, 3);
    ck_assert_int_eq(
        cse__fetch_outcome(transient, strlen(transient), buf, sizeof(buf), &worst), 1);
    ck_assert_str_eq(buf, "transient,throttled");
    ck_assert_int_eq(worst, 2);
    ck_assert_int_eq(cse__fetch_outcome(info, strlen(info), buf, sizeof(buf), &worst), 0);
    ck_assert_int_eq(worst, 0);
    /* Not an OperationOutcome at all: nothing to repeat, not transient. */
    ck_assert_int_eq(cse__fetch_outcome("<html>", 6, buf, sizeof(buf), &worst), 0);
    ck_assert_str_eq(buf, "");

    ck_assert_str_eq(cse__fetch_oauth_error("{\"error\":\"invalid_client\"}", 26),
                     "invalid_client");
    ck_assert_str_eq(cse__fetch_oauth_error("{\"error\":\"patient 9990000018\"}", 30),
                     "");
}
END_TEST

/* ---- URLs ---------------------------------------------------------------- */

START_TEST(test_fetch_url_checks)
{
    char buf[256];
    ck_assert_int_eq(cse__fetch_url_ok("https://fhir.example/r4"), 1);
    ck_assert_int_eq(cse__fetch_url_ok("http://fhir.example/r4"), 0);
    ck_assert_int_eq(cse__fetch_url_ok("https://u:p@fhir.example/r4"), 0);
    ck_assert_int_eq(cse__fetch_url_ok("fhir.example/r4"), 0);
    ck_assert_str_eq(cse__fetch_url_redact("https://u:p@h.example:8443/a/b?sig=SECRET#f",
                                           buf, sizeof(buf)),
                     "https://h.example:8443/a/b");
    ck_assert_int_eq(cse__fetch_same_origin("https://h/a", "https://H:443/b?x"), 1);
    ck_assert_int_eq(cse__fetch_same_origin("https://h/a", "https://h:8443/a"), 0);
    ck_assert_int_eq(cse__fetch_same_origin("https://h/a", "https://evil/a"), 0);
    ck_assert_int_eq(cse__fetch_same_origin("https://h/a", "::"), 0);
}
END_TEST

/* ---- NDJSON lines -------------------------------------------------------- */

struct collected {
    char text[256];
    long lines[8];
    size_t n;
};

static cse_code collect(void *ctx, const char *json, size_t len, const char *source,
                        long line, cse_error *err)
{
    struct collected *c = ctx;
    ck_assert_uint_eq(strlen(json), len);
    strncat(c->text, json, sizeof(c->text) - strlen(c->text) - 2);
    strcat(c->text, "|");
    if (c->n < 8)
        c->lines[c->n++] = line;
    return CSE_OK;
}

START_TEST(test_fetch_lines_split_and_cap)
{
    const char *data = "{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}\n";
    struct collected c = {"", {0}, 0};
    cse__fetch_lines l;
    cse_error err;

    /* Fed one byte at a time: lines still come out whole, CRLF and blanks handled. */
    cse_error_clear(&err);
    cse__fetch_lines_init(&l, 64, collect, &c, "Patient output 1", &err);
    for (size_t i = 0; i < strlen(data); i++)
        ck_assert_int_eq(cse__fetch_lines_feed(&l, data + i, 1), CSE_OK);
    ck_assert_int_eq(cse__fetch_lines_finish(&l), CSE_OK);
    ck_assert_str_eq(c.text, "{\"a\":1}|{\"b\":2}|{\"c\":3}|");
    ck_assert_uint_eq(l.delivered, 3);
    ck_assert_int_eq(c.lines[0], 1);
    ck_assert_int_eq(c.lines[1], 4);
    ck_assert_int_eq(c.lines[2], 5);

    /* A line over the cap is refused with its line number. */
    cse__fetch_lines_init(&l, 8, collect, &c, "Flag output 1", &err);
    ck_assert_int_eq(cse__fetch_lines_feed(&l, "{}\n{\"long\":1}\n", 14), CSE_ERR_LIMIT);
    ck_assert_int_eq(err.line, 2);
    ck_assert_str_eq(err.source, "Flag output 1");
    cse__fetch_lines_free(&l);

    /* Bytes after the last newline: a truncated file, never a short count. */
    cse_error_clear(&err);
    cse__fetch_lines_init(&l, 64, collect, &c, "Flag output 2", &err);
    ck_assert_int_eq(cse__fetch_lines_feed(&l, "{}\n{\"cut", 8), CSE_OK);
    ck_assert_int_eq(cse__fetch_lines_finish(&l), CSE_ERR_NETWORK);
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_nonnull(strstr(err.message, "truncated"));
}
END_TEST

/* ---- SMART client assertion ---------------------------------------------- */

static char *write_key(EVP_PKEY *pkey, mode_t mode)
{
    char *path = strdup("/tmp/cse-fetch-key.XXXXXX");
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert(PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL));
    fclose(fp);
    chmod(path, mode);
    return path;
}

/* base64url without padding -> bytes; returns the length or -1. */
static int b64url_decode(const char *s, size_t n, unsigned char *out, size_t size)
{
    char buf[2048];
    int len;
    size_t m = 0;

    ck_assert(n + 4 < sizeof(buf));
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(s[i] != '=' && s[i] != '+' && s[i] != '/', "not base64url");
        buf[m++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    while (m % 4)
        buf[m++] = '=';
    buf[m] = '\0';
    ck_assert(m / 4 * 3 <= size);
    len = EVP_DecodeBlock(out, (unsigned char *)buf, (int)m);
    if (len < 0)
        return -1;
    for (size_t i = n; i % 4; i++)
        len--; /* EVP_DecodeBlock counts padding as zero bytes */
    return len;
}

static json_t *part_json(const char *s, size_t n)
{
    unsigned char buf[2048];
    int len = b64url_decode(s, n, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    return json_loadb((char *)buf, (size_t)len, 0, NULL);
}

static void check_assertion(EVP_PKEY *pkey, int es384)
{
    char *path = write_key(pkey, 0600), *jwt = NULL, *jwt2 = NULL;
    const char *dot1, *dot2;
    unsigned char sig[1024], der[256], *p = der;
    cse__fetch_key k;
    cse_error err;
    json_t *h, *c;
    time_t now = time(NULL);
    int siglen, derlen;

    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_key_load(path, &k, &err), CSE_OK);
    ck_assert_int_eq(k.es384, es384);
    ck_assert_uint_eq(strlen(k.thumbprint), 43);
    ck_assert_int_eq(cse__fetch_assertion(&k, NULL, "client-1",
                                          "https://auth.example/token", now, 240, &jwt,
                                          &err),
                     CSE_OK);
    ck_assert_int_eq(cse__fetch_assertion(&k, "my-kid", "client-1",
                                          "https://auth.example/token", now, 240, &jwt2,
                                          &err),
                     CSE_OK);
    dot1 = strchr(jwt, '.');
    dot2 = strrchr(jwt, '.');
    ck_assert_ptr_nonnull(dot1);
    ck_assert_ptr_ne(dot1, dot2);

    h = part_json(jwt, (size_t)(dot1 - jwt));
    ck_assert_str_eq(json_string_value(json_object_get(h, "alg")),
                     es384 ? "ES384" : "RS384");
    ck_assert_str_eq(json_string_value(json_object_get(h, "typ")), "JWT");
    ck_assert_str_eq(json_string_value(json_object_get(h, "kid")), k.thumbprint);
    json_decref(h);
    h = part_json(jwt2, (size_t)(strchr(jwt2, '.') - jwt2));
    ck_assert_str_eq(json_string_value(json_object_get(h, "kid")), "my-kid");
    json_decref(h);

    c = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    ck_assert_str_eq(json_string_value(json_object_get(c, "iss")), "client-1");
    ck_assert_str_eq(json_string_value(json_object_get(c, "sub")), "client-1");
    ck_assert_str_eq(json_string_value(json_object_get(c, "aud")),
                     "https://auth.example/token");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), (long)now + 240);
    ck_assert_int_le(json_integer_value(json_object_get(c, "exp")), (long)now + 300);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(c, "jti"))), 32);
    {
        /* A fresh jti every time. */
        const char *d = strchr(jwt2, '.'), *e = strrchr(jwt2, '.');
        json_t *c2 = part_json(d + 1, (size_t)(e - d - 1));
        ck_assert_str_ne(json_string_value(json_object_get(c, "jti")),
                         json_string_value(json_object_get(c2, "jti")));
        json_decref(c2);
    }
    json_decref(c);

    /* The signature: base64url without padding; ES384 is raw R||S of 96 bytes. */
    siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
    ck_assert_int_eq(siglen, es384 ? 96 : EVP_PKEY_get_size(pkey));
    if (es384) {
        ECDSA_SIG *es = ECDSA_SIG_new();
        ck_assert(
            ECDSA_SIG_set0(es, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL)));
        derlen = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        ck_assert_int_gt(derlen, 0);
    }
    {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ck_assert(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pkey) == 1);
        ck_assert_int_eq(EVP_DigestVerify(md, es384 ? der : sig,
                                          es384 ? (size_t)derlen : (size_t)siglen,
                                          (const unsigned char *)jwt,
                                          (size_t)(dot2 - jwt)),
                         1);
        /* A changed claim no longer verifies. */
        jwt[dot1 - jwt + 3] ^= 1;
        ck_assert(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pkey) == 1);
        ck_assert_int_ne(EVP_DigestVerify(md, es384 ? der : sig,
                                          es384 ? (size_t)derlen : (size_t)siglen,
                                          (const unsigned char *)jwt,
                                          (size_t)(dot2 - jwt)),
                         1);
        EVP_MD_CTX_free(md);
    }
    /* No key material in the assertion (a JWS carries only the signature). */
    ck_assert_ptr_null(strstr(jwt, "PRIVATE"));
    free(jwt);
    free(jwt2);
    cse__fetch_key_free(&k);
    unlink(path);
    free(path);
}

START_TEST(test_fetch_assertion_es384_raw_signature)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    ck_assert_ptr_nonnull(pkey);
    check_assertion(pkey, 1);
    EVP_PKEY_free(pkey);
}
END_TEST

START_TEST(test_fetch_assertion_rs384)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ck_assert_ptr_nonnull(pkey);
    check_assertion(pkey, 0);
    EVP_PKEY_free(pkey);
}
END_TEST

START_TEST(test_fetch_assertion_lifetime_capped)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    char *path = write_key(pkey, 0600), *jwt = NULL;
    cse__fetch_key k;
    cse_error err;

    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_key_load(path, &k, &err), CSE_OK);
    ck_assert_int_eq(
        cse__fetch_assertion(&k, NULL, "c", "https://a/t", 0, 301, &jwt, &err),
        CSE_ERR_INVALID_ARG);
    ck_assert_ptr_null(jwt);
    cse__fetch_key_free(&k);
    unlink(path);
    free(path);
    EVP_PKEY_free(pkey);
}
END_TEST

START_TEST(test_fetch_key_load_refuses_unsafe_or_unsupported)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    char *open_key = write_key(p384, 0644), *wrong_curve = write_key(p256, 0600);
    char junk[] = "/tmp/cse-fetch-junk.XXXXXX";
    int fd = mkstemp(junk);
    cse__fetch_key k;
    cse_error err;

    ck_assert_int_eq(write(fd, "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33), 33);
    close(fd);
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_key_load(open_key, &k, &err), CSE_ERR_PERMISSION);
    ck_assert_str_eq(err.source, open_key);
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_key_load(wrong_curve, &k, &err), CSE_ERR_UNSUPPORTED);
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_key_load(junk, &k, &err), CSE_ERR_PARSE);
    ck_assert_ptr_null(strstr(err.message, "AAAA"));
    cse_error_clear(&err);
    ck_assert_int_eq(cse__fetch_key_load("/nonexistent/key.pem", &k, &err), CSE_ERR_IO);
    ck_assert_ptr_null(k.pkey);
    unlink(open_key);
    unlink(wrong_curve);
    unlink(junk);
    free(open_key);
    free(wrong_curve);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
}
END_TEST

START_TEST(test_fetch_b64url_no_padding)
{
    char *s = cse__fetch_b64url((const unsigned char *)"\xfb\xff", 2);
    ck_assert_str_eq(s, "-_8");
    free(s);
    s = cse__fetch_b64url((const unsigned char *)"abcd", 4);
    ck_assert_str_eq(s, "YWJjZA");
    free(s);
    s = cse__fetch_b64url((const unsigned char *)"", 0);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(test_fetch_run_rejects_bad_options)
{
    cse_fetch_options o = {0};
    cse_error err;

    cse_error_clear(&err);
    o.fhir_base = "http://fhir.example/r4";
    o.group_id = "G1";
    o.client_id = "c";
    o.key_path = "/nonexistent";
    ck_assert_int_eq(cse_fetch_run(&o, collect, NULL, NULL, &err), CSE_ERR_INVALID_ARG);
    ck_assert_str_eq(err.path, "--fhir");
    cse_error_clear(&err);
    o.fhir_base = "https://fhir.example/r4/";
    o.group_id = "../Patient";
    ck_assert_int_eq(cse_fetch_run(&o, collect, NULL, NULL, &err), CSE_ERR_INVALID_ARG);
    ck_assert_str_eq(err.path, "--group");
    cse_error_clear(&err);
    o.group_id = "A81001";
    o.types = "Patient,flag";
    ck_assert_int_eq(cse_fetch_run(&o, collect, NULL, NULL, &err), CSE_ERR_INVALID_ARG);
    ck_assert_str_eq(err.path, "types");
}
END_TEST

Suite *make_fetch_suite(void)
{
    Suite *s = suite_create("fetch");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fetch_retry_after_seconds);
    tcase_add_test(tc, test_fetch_retry_after_http_date);
    tcase_add_test(tc, test_fetch_backoff_schedule_bounds);
    tcase_add_test(tc, test_fetch_poll_delay_honours_retry_after);
    tcase_add_test(tc, test_fetch_manifest_parses_valid);
    tcase_add_test(tc, test_fetch_manifest_rejects_bad);
    tcase_add_test(tc, test_fetch_token_response);
    tcase_add_test(tc, test_fetch_outcome_repeats_codes_only);
    tcase_add_test(tc, test_fetch_url_checks);
    tcase_add_test(tc, test_fetch_lines_split_and_cap);
    tcase_add_test(tc, test_fetch_assertion_es384_raw_signature);
    tcase_add_test(tc, test_fetch_assertion_rs384);
    tcase_add_test(tc, test_fetch_assertion_lifetime_capped);
    tcase_add_test(tc, test_fetch_key_load_refuses_unsafe_or_unsupported);
    tcase_add_test(tc, test_fetch_b64url_no_padding);
    tcase_add_test(tc, test_fetch_run_rejects_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
