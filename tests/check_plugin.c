/* SPDX-License-Identifier: MIT */
/* The plug-in through its ABI only: this program dlopen()s the built module,
 * asks for the table and walks every hook, including misuse, the audit
 * journal's tamper detection and its crash safety. It includes no csemarker
 * header but <csemarker/plugin.h>, which proves that header self-contained. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include <csemarker/plugin.h>

#define MARKER CSE_PLUGIN_CODE_AT_RISK

static const cse_plugin_api *api;
static char dir[256];     /* per-test scratch folder */
static char journal[300]; /* dir/j */
static char keyfile[300]; /* dir/key */
static const cse_plugin_user gp = {"G1000001", "gp", 1};

/* ---- Fixtures and helpers ----------------------------------------------- */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static const cse_plugin_api *load_api(uint32_t version, cse_plugin_error *err)
{
    char path[1024];
    void *dl;
    cse_plugin_entry_fn entry;

    snprintf(path, sizeof(path), "%s/plugin/.libs/csemarker_plugin.so",
             env_or("top_builddir", "."));
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(dl != NULL, "cannot dlopen %s: %s", path, dlerror());
    *(void **)&entry = dlsym(dl, CSE_PLUGIN_ENTRY_SYMBOL);
    ck_assert_ptr_nonnull(entry);
    return entry(version, err);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    long n;
    char *buf;
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static char *fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/test-fixtures/plugin/%s", env_or("top_srcdir", "."),
             name);
    return slurp(path);
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char p[1024];
    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        rm_rf(p);
    }
    closedir(d);
    rmdir(path);
}

static void setup(void)
{
    int fd;
    cse_plugin_error err;

    api = load_api(CSE_PLUGIN_ABI_VERSION, &err);
    ck_assert_ptr_nonnull(api);
    snprintf(dir, sizeof(dir), "%s/cse-plugin-XXXXXX", env_or("TMPDIR", "/tmp"));
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(journal, sizeof(journal), "%s/j", dir);
    snprintf(keyfile, sizeof(keyfile), "%s/key", dir);
    ck_assert_int_eq(mkdir(journal, 0700), 0);
    fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd,
                           "00112233445566778899aabbccddeeff"
                           "00112233445566778899aabbccddeeff\n",
                           65),
                     65);
    close(fd);
}

static void teardown(void)
{
    rm_rf(dir);
}

static cse_plugin_handle *open_at(const char *today, size_t *recovered)
{
    cse_plugin_config cfg = {sizeof(cfg), journal, keyfile, "A11111", 0, today};
    cse_plugin_handle *h = NULL;
    cse_plugin_error err;
    int rc = api->open(&cfg, &h, recovered, &err);
    ck_assert_msg(rc == CSE_PLUGIN_OK, "open: %s", err.message);
    return h;
}

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    ck_assert_msg(j != NULL, "module output is not JSON: %s", e.text);
    return j;
}

/* Adds a marker to rec (replacing it) and returns the marker id. */
static char *add(cse_plugin_handle *h, char **rec, const char *start)
{
    char *out = NULL, *id = NULL;
    cse_plugin_error err;
    int rc = api->marker_add(h, &gp, *rec, MARKER, start, NULL, &out, &id, &err);
    ck_assert_msg(rc == CSE_PLUGIN_OK, "marker_add: %s", err.message);
    free(*rec);
    *rec = strdup(out);
    api->free_string(out);
    return id;
}

static json_t *verify(cse_plugin_handle *h, int expect, cse_plugin_error *err)
{
    char *rep = NULL;
    json_t *j;
    ck_assert_int_eq(api->audit_verify(h, &gp, NULL, &rep, err), expect);
    ck_assert_ptr_nonnull(rep);
    j = parse(rep);
    api->free_string(rep);
    return j;
}

static json_int_t verify_entries(cse_plugin_handle *h)
{
    cse_plugin_error err;
    json_t *j = verify(h, CSE_PLUGIN_OK, &err);
    json_int_t n = json_integer_value(json_object_get(j, "entries"));
    ck_assert(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    return n;
}

/* Makes a journal of n marker actions and returns its path. */
static void make_journal(int n)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json");
    for (int i = 0; i < n; i++)
        api->free_string(add(h, &rec, NULL));
    ck_assert_int_eq(verify_entries(h), n);
    free(rec);
    api->close(h);
}

/* The journal's lines, to tamper with. */
static int read_lines(char lines[][2048], int max)
{
    char path[512];
    FILE *fp;
    int n = 0;
    snprintf(path, sizeof(path), "%s/csemarker-audit.jsonl", journal);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    while (n < max && fgets(lines[n], 2048, fp))
        n++;
    fclose(fp);
    return n;
}

static void write_lines(char lines[][2048], int n)
{
    char path[512];
    FILE *fp;
    snprintf(path, sizeof(path), "%s/csemarker-audit.jsonl", journal);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < n; i++)
        fputs(lines[i], fp);
    fclose(fp);
}

/* Verifies a tampered journal: it must fail at seq `at`. */
static void expect_bad_at(long long at)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    cse_plugin_error err;
    char want[32];
    json_t *j = verify(h, CSE_PLUGIN_ERR_INTEGRITY, &err);
    snprintf(want, sizeof(want), "seq %lld", at);
    ck_assert_str_eq(err.path, want);
    ck_assert_int_eq(err.code, CSE_PLUGIN_ERR_INTEGRITY);
    ck_assert(json_is_false(json_object_get(j, "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "bad_seq")), at);
    json_decref(j);
    api->close(h);
}

/* ---- ABI ---------------------------------------------------------------- */

START_TEST(test_plugin_entry_checks_abi_version)
{
    cse_plugin_error err;
    const cse_plugin_api *t;

    t = load_api((uint32_t)(CSE_PLUGIN_ABI_MAJOR + 1) << 16, &err);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(err.code, CSE_PLUGIN_ERR_VERSION);
    ck_assert_str_eq(err.path, "abi_version");
    t = load_api(CSE_PLUGIN_ABI_VERSION + 1, &err); /* a newer minor */
    ck_assert_ptr_null(t);
    ck_assert_int_eq(err.code, CSE_PLUGIN_ERR_VERSION);
    ck_assert_ptr_null(load_api(0, NULL)); /* NULL err is allowed */
    t = load_api(CSE_PLUGIN_ABI_VERSION, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->abi_version, CSE_PLUGIN_ABI_VERSION);
    ck_assert_uint_eq(t->size, sizeof(cse_plugin_api));
    ck_assert(strncmp(t->version(), "csemarker ", 10) == 0);
}
END_TEST

START_TEST(test_plugin_open_refuses_bad_config)
{
    cse_plugin_config cfg = {sizeof(cfg), journal, keyfile, "A11111", 0, NULL};
    cse_plugin_handle *h = (cse_plugin_handle *)&cfg;
    cse_plugin_error err;

    ck_assert_int_eq(api->open(NULL, &h, NULL, &err), CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(api->open(&cfg, NULL, NULL, &err), CSE_PLUGIN_ERR_INVALID_ARG);
    cfg.size = 8;
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_VERSION);
    cfg.size = sizeof(cfg);
    cfg.practice_ods = NULL;
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_str_eq(err.path, "config.practice_ods");
    cfg.practice_ods = "A11111";
    cfg.journal_dir = "/nonexistent/cse-journal";
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_IO);
    cfg.journal_dir = journal;
    cfg.clock_override = "14/03/2025";
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_DATE);
    cfg.clock_override = NULL;
    /* A key that group or others can read is refused, and never echoed. */
    ck_assert_int_eq(chmod(keyfile, 0640), 0);
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_PERMISSION);
    ck_assert_str_eq(err.path, "key_file");
    ck_assert_ptr_null(strstr(err.message, "00112233"));
    ck_assert_int_eq(chmod(keyfile, 0600), 0);
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_OK);
    api->close(h);
    api->close(NULL);
    api->free_string(NULL);
}
END_TEST

START_TEST(test_plugin_hooks_refuse_null_arguments)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json"), *out = (char *)"x", *out2 = (char *)"x";
    size_t len;
    cse_plugin_error err;

    ck_assert_int_eq(api->record_opened(NULL, &gp, rec, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(api->record_opened(h, &gp, NULL, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->record_opened(h, &gp, rec, NULL, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->record_opened(h, NULL, rec, &out, NULL),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->record_saved(h, &gp, NULL, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->marker_add(h, &gp, rec, NULL, NULL, NULL, &out, NULL, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_str_eq(err.path, "code");
    ck_assert_int_eq(api->marker_review(h, &gp, rec, NULL, NULL, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->marker_end(h, &gp, rec, "X", NULL, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->marker_entered_in_error(h, &gp, NULL, "X", &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->gp2gp_export(h, &gp, NULL, NULL, &out, &len, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->gp2gp_import(h, &gp, NULL, 0, &out, &out2, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->gp2gp_import(h, &gp, "<x/>", 4, &out, NULL, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->patient_view(h, &gp, NULL, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->reviews_due(h, &gp, NULL, 2, 30, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->reviews_due(h, &gp, NULL, 0, -1, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->journal_verify(NULL, &out, &err), CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->audit_verify(NULL, &gp, NULL, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->audit_verify(h, &gp, NULL, NULL, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->audit_recover(h, &gp, NULL, &err), CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->action_outcome(h, &gp, NULL, 1, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(verify_entries(h), 0);
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_unauthenticated_marker_action_refused)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json"), *out = NULL, *id = NULL;
    cse_plugin_user anon = {"G1000001", "gp", 0}, patient = {"P1", "patient", 1},
                    proxy = {"P2", "proxy", 1}, noid = {"", "gp", 1};
    cse_plugin_error err;

    ck_assert_int_eq(api->marker_add(h, &anon, rec, MARKER, NULL, NULL, &out, &id, &err),
                     CSE_PLUGIN_ERR_AUTH);
    ck_assert_str_eq(err.path, "user.authenticated");
    ck_assert_ptr_null(out);
    ck_assert_ptr_null(id);
    ck_assert_int_eq(api->marker_add(h, &proxy, rec, MARKER, NULL, NULL, &out, &id, &err),
                     CSE_PLUGIN_ERR_AUTH);
    ck_assert_str_eq(err.path, "user.role");
    ck_assert_int_eq(api->record_opened(h, &patient, rec, &out, &err),
                     CSE_PLUGIN_ERR_AUTH);
    ck_assert_int_eq(api->marker_add(h, &noid, rec, MARKER, NULL, NULL, &out, &id, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->patient_view(h, &anon, rec, &out, &err), CSE_PLUGIN_ERR_AUTH);
    /* Nothing refused reached the journal. */
    ck_assert_int_eq(verify_entries(h), 0);
    /* The patient channel may ask for the patient view. */
    ck_assert_int_eq(api->patient_view(h, &patient, rec, &out, &err), CSE_PLUGIN_OK);
    api->free_string(out);
    free(rec);
    api->close(h);
}
END_TEST

/* Roles are an allow-list: near misses and unknown roles are refused by
 * every hook, each known role may do what plugin.h says. */
START_TEST(test_plugin_roles_are_an_allow_list)
{
    static const char *const refused[] = {"admin", "receptionist", "Patient", "patient ",
                                          "GP",    "Clinician",    " nurse"};
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json"), *out = NULL, *id = NULL;
    cse_plugin_error err;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        cse_plugin_user u = {"U1", refused[i], 1};
        ck_assert_int_eq(api->marker_add(h, &u, rec, MARKER, NULL, NULL, &out, &id, &err),
                         CSE_PLUGIN_ERR_AUTH);
        ck_assert_str_eq(err.path, "user.role");
        ck_assert_ptr_nonnull(strstr(err.message, "unknown role"));
        ck_assert_ptr_null(out);
        ck_assert_int_eq(api->record_opened(h, &u, rec, &out, &err), CSE_PLUGIN_ERR_AUTH);
        ck_assert_int_eq(api->patient_view(h, &u, rec, &out, &err), CSE_PLUGIN_ERR_AUTH);
        ck_assert_int_eq(api->authorize(&u, "audit-verify", &err), CSE_PLUGIN_ERR_AUTH);
    }
    /* What each known role may do, through authorize(). */
    {
        cse_plugin_user nurse = {"N1", CSE_PLUGIN_ROLE_NURSE, 1},
                        admin = {"A1", CSE_PLUGIN_ROLE_ADMINISTRATIVE, 1},
                        auditor = {"C1", CSE_PLUGIN_ROLE_AUDITOR, 1},
                        lead = {"S1", CSE_PLUGIN_ROLE_SAFEGUARDING_LEAD, 1},
                        proxy = {"P1", CSE_PLUGIN_ROLE_PROXY, 1};
        ck_assert_int_eq(api->authorize(&nurse, "marker", &err), CSE_PLUGIN_OK);
        ck_assert_int_eq(api->authorize(&nurse, "audit-recover", &err),
                         CSE_PLUGIN_ERR_AUTH);
        ck_assert_int_eq(api->authorize(&lead, "audit-recover", &err), CSE_PLUGIN_OK);
        ck_assert_int_eq(api->authorize(&admin, "restriction", &err), CSE_PLUGIN_OK);
        ck_assert_int_eq(api->authorize(&admin, "open", &err), CSE_PLUGIN_ERR_AUTH);
        ck_assert_int_eq(api->authorize(&auditor, "audit-verify", &err), CSE_PLUGIN_OK);
        ck_assert_int_eq(api->authorize(&auditor, "patient-view", &err),
                         CSE_PLUGIN_ERR_AUTH);
        ck_assert_int_eq(api->authorize(&proxy, "patient-view", &err), CSE_PLUGIN_OK);
        ck_assert_int_eq(api->authorize(&proxy, "reviews-due", &err),
                         CSE_PLUGIN_ERR_AUTH);
        ck_assert_int_eq(api->authorize(&nurse, "fly", &err), CSE_PLUGIN_ERR_INVALID_ARG);
        /* Administrative staff learn only whether the record is restricted. */
        ck_assert_int_eq(api->record_opened(h, &admin, rec, &out, &err), CSE_PLUGIN_OK);
        ck_assert_ptr_nonnull(strstr(out, "\"restricted\": true"));
        ck_assert_ptr_null(strstr(out, "alerts"));
        api->free_string(out);
    }
    /* A user id that is not UTF-8 is refused as such, not as out of memory. */
    {
        cse_plugin_user bad = {"G\xff\xfe", CSE_PLUGIN_ROLE_GP, 1};
        ck_assert_int_eq(
            api->marker_add(h, &bad, rec, MARKER, NULL, NULL, &out, &id, &err),
            CSE_PLUGIN_ERR_INVALID_ARG);
        ck_assert_str_eq(err.path, "user.user_id");
        ck_assert_ptr_nonnull(strstr(err.message, "UTF-8"));
    }
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_non_fhir_record_refused)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *notfhir = fixture("not-fhir.json"), *out = NULL, *id = NULL;
    cse_plugin_error err;

    ck_assert_int_eq(api->record_opened(h, &gp, notfhir, &out, &err),
                     CSE_PLUGIN_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "resourceType");
    ck_assert_int_eq(
        api->marker_add(h, &gp, notfhir, MARKER, NULL, NULL, &out, &id, &err),
        CSE_PLUGIN_ERR_STRUCTURE);
    ck_assert_int_eq(api->patient_view(h, &gp,
                                       "{\"resourceType\":\"Bundle\",\n\"entry\":[", &out,
                                       &err),
                     CSE_PLUGIN_ERR_PARSE);
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(api->record_saved(h, &gp, "[1,2]", &out, &err),
                     CSE_PLUGIN_ERR_STRUCTURE);
    ck_assert_int_eq(api->patient_view(h, &gp,
                                       "{\"resourceType\":\"Bundle\",\"entry\":[{}]}",
                                       &out, &err),
                     CSE_PLUGIN_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "entry[0].resource");
    /* A marker needs a patient with a valid NHS number. */
    ck_assert_int_eq(
        api->marker_add(h, &gp,
                        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
                        "{\"resourceType\":\"Patient\",\"identifier\":[{"
                        "\"system\":\"https://fhir.nhs.uk/Id/nhs-number\","
                        "\"value\":\"9990000019\"}]}}]}",
                        MARKER, NULL, NULL, &out, &id, &err),
        CSE_PLUGIN_ERR_NHS_NUMBER);
    ck_assert_ptr_null(strstr(err.message, "9990000019"));
    ck_assert_int_eq(verify_entries(h), 0);
    free(notfhir);
    api->close(h);
}
END_TEST

/* ---- Marker actions ----------------------------------------------------- */

static json_t *alert_of(cse_plugin_handle *h, const char *rec)
{
    char *out = NULL;
    cse_plugin_error err;
    json_t *j;
    ck_assert_int_eq(api->record_opened(h, &gp, rec, &out, &err), CSE_PLUGIN_OK);
    j = parse(out);
    api->free_string(out);
    return j;
}

static void replace(char **rec, char *out)
{
    free(*rec);
    *rec = strdup(out);
    api->free_string(out);
}

START_TEST(test_plugin_marker_lifecycle_follows_rules)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json"), *out = NULL, *id, *id2;
    cse_plugin_error err;
    json_t *a, *al;

    /* Bad code and bad dates are refused before anything is journalled. */
    ck_assert_int_eq(
        api->marker_add(h, &gp, rec, "160877008", NULL, NULL, &out, NULL, &err),
        CSE_PLUGIN_ERR_CODE);
    ck_assert_int_eq(
        api->marker_add(h, &gp, rec, MARKER, "2025-02-30", NULL, &out, NULL, &err),
        CSE_PLUGIN_ERR_DATE);
    ck_assert_int_eq(api->marker_add(h, &gp, rec, MARKER, "2025-03-01", "2025-01-01",
                                     &out, NULL, &err),
                     CSE_PLUGIN_ERR_DATE);

    id = add(h, &rec, "2024-06-01");
    a = alert_of(h, rec);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "active")), 1);
    al = json_array_get(json_object_get(a, "alerts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(al, "marker_id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(al, "code")), MARKER);
    ck_assert_str_eq(json_string_value(json_object_get(al, "category")), "cse");
    ck_assert_str_eq(json_string_value(json_object_get(al, "status")), "active");
    ck_assert_str_eq(json_string_value(json_object_get(al, "start")), "2024-06-01");
    ck_assert_str_eq(json_string_value(json_object_get(al, "review_due")), "2024-12-01");
    ck_assert_str_eq(json_string_value(json_object_get(al, "review_state")), "OVERDUE");
    json_decref(a);

    /* Review today: the next review is six months on. */
    ck_assert_int_eq(api->marker_review(h, &gp, rec, id, NULL, &out, &err),
                     CSE_PLUGIN_OK);
    replace(&rec, out);
    a = alert_of(h, rec);
    al = json_array_get(json_object_get(a, "alerts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(al, "review_due")), "2025-09-14");
    ck_assert_str_eq(json_string_value(json_object_get(al, "review_state")), "ok");
    json_decref(a);
    ck_assert_int_eq(api->marker_review(h, &gp, rec, id, "2025-03-01", &out, &err),
                     CSE_PLUGIN_ERR_DATE);

    ck_assert_int_eq(api->marker_end(h, &gp, rec, id, "bored", &out, &err),
                     CSE_PLUGIN_ERR_STATE);
    /* It says the reason is invalid and which are valid. */
    ck_assert_str_eq(err.path, "reason");
    ck_assert_ptr_nonnull(strstr(err.message, "not a valid end reason"));
    ck_assert_ptr_nonnull(strstr(err.message, CSE_PLUGIN_END_REACHED_ADULTHOOD));
    ck_assert_int_eq(api->marker_end(h, &gp, rec, "NO-SUCH-ID",
                                     CSE_PLUGIN_END_NO_LONGER_AT_RISK, &out, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_str_eq(err.path, "marker_id");
    ck_assert_int_eq(
        api->marker_end(h, &gp, rec, id, CSE_PLUGIN_END_NO_LONGER_AT_RISK, &out, &err),
        CSE_PLUGIN_OK);
    replace(&rec, out);
    a = alert_of(h, rec);
    al = json_array_get(json_object_get(a, "alerts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "active")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(al, "status")), "inactive");
    ck_assert_str_eq(json_string_value(json_object_get(al, "end")), "2025-03-14");
    ck_assert_str_eq(json_string_value(json_object_get(al, "end_reason")),
                     CSE_PLUGIN_END_NO_LONGER_AT_RISK);
    ck_assert_str_eq(json_string_value(json_object_get(al, "review_state")), "closed");
    json_decref(a);
    /* Ending never deletes, and an ended marker cannot be ended or reviewed. */
    ck_assert_int_eq(
        api->marker_end(h, &gp, rec, id, CSE_PLUGIN_END_NO_LONGER_AT_RISK, &out, &err),
        CSE_PLUGIN_ERR_STATE);
    ck_assert_int_eq(api->marker_review(h, &gp, rec, id, NULL, &out, &err),
                     CSE_PLUGIN_ERR_STATE);

    /* A second marker entered in error leaves the alert list. */
    id2 = add(h, &rec, NULL);
    ck_assert_int_eq(api->marker_entered_in_error(h, &gp, rec, id2, &out, &err),
                     CSE_PLUGIN_OK);
    replace(&rec, out);
    ck_assert_int_eq(api->marker_entered_in_error(h, &gp, rec, id2, &out, &err),
                     CSE_PLUGIN_ERR_STATE);
    a = alert_of(h, rec);
    ck_assert_int_eq(json_array_size(json_object_get(a, "alerts")), 1);
    json_decref(a);
    /* add, review, end, add, entered-in-error: five entries. */
    ck_assert_int_eq(verify_entries(h), 5);
    api->free_string(id);
    api->free_string(id2);
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_marker_keeps_host_data)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json"), *id;
    json_t *j, *e, *res, *flag = NULL, *obs = NULL;
    size_t i;

    id = add(h, &rec, NULL);
    j = parse(rec);
    ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "child-record");
    ck_assert_int_eq(json_array_size(json_object_get(j, "entry")), 7);
    json_array_foreach(json_object_get(j, "entry"), i, e)
    {
        res = json_object_get(e, "resource");
        if (strcmp(json_string_value(json_object_get(res, "resourceType")), "Flag") == 0)
            flag = res;
        if (i == 6)
            obs = res;
    }
    ck_assert_ptr_nonnull(flag);
    ck_assert_str_eq(json_string_value(json_object_get(obs, "resourceType")),
                     "Observation");
    /* NOPAT, the profile, the marker id, the author and the subject. */
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(flag, "meta"), "security"), 0),
            "code")),
        "NOPAT");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(flag, "identifier"), 0), "value")),
        id);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(flag, "author"), "reference")),
        "Practitioner/gp-1");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(flag, "subject"), "reference")),
        "Patient/child-1");
    ck_assert(strncmp(json_string_value(json_object_get(
                          json_array_get(json_object_get(j, "entry"), 5), "fullUrl")),
                      "https://practice-a.example/fhir/Flag/", 37) == 0);
    json_decref(j);
    api->free_string(id);
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_record_saved_suggests_review)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("related.json"), *out = NULL, *id;
    cse_plugin_error err;
    json_t *j, *s;

    ck_assert_int_eq(api->record_saved(h, &gp, rec, &out, &err), CSE_PLUGIN_OK);
    j = parse(out);
    api->free_string(out);
    s = json_object_get(j, "suggestions");
    ck_assert_int_eq(json_array_size(s), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 0), "kind")),
                     "related-code");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 0), "code")),
                     "342191000000101");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 1), "kind")),
                     "candidate");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 1), "reason")),
                     "legacy-code-only");
    json_decref(j);
    /* Once the child has a marker, the related code needs no suggestion. */
    id = add(h, &rec, NULL);
    ck_assert_int_eq(api->record_saved(h, &gp, rec, &out, &err), CSE_PLUGIN_OK);
    j = parse(out);
    api->free_string(out);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "active_markers")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(j, "suggestions")), 1);
    json_decref(j);
    api->free_string(id);
    free(rec);
    api->close(h);
}
END_TEST

/* ---- Patient view and work list ----------------------------------------- */

static void strip_labels(json_t *j)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(j, "entry"), i, e)
        json_object_del(json_object_get(e, "resource"), "meta");
}

START_TEST(test_plugin_patient_view_hides_nopat_and_markers)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    cse_plugin_user proxy = {"P2", "proxy", 1};
    char *rec = fixture("child.json"), *out = NULL, *id, *unlabelled;
    cse_plugin_error err;
    json_t *j;

    id = add(h, &rec, NULL);
    ck_assert_int_eq(api->patient_view(h, &proxy, rec, &out, &err), CSE_PLUGIN_OK);
    ck_assert_ptr_null(strstr(out, "NOPAT"));
    ck_assert_ptr_null(strstr(out, "\"Flag\""));
    ck_assert_ptr_null(strstr(out, id));
    ck_assert_ptr_null(strstr(out, "obs-sensitive"));
    ck_assert_ptr_null(strstr(out, MARKER));
    ck_assert_ptr_nonnull(strstr(out, "obs-asthma"));
    j = parse(out);
    api->free_string(out);
    /* Bundle entries left: Patient, Practitioner, asthma, List (one item). */
    ck_assert_int_eq(json_array_size(json_object_get(j, "entry")), 4);
    json_decref(j);

    /* Without any label (lost in a transfer) the marker is still hidden. */
    j = parse(rec);
    strip_labels(j);
    unlabelled = json_dumps(j, 0);
    json_decref(j);
    ck_assert_int_eq(api->patient_view(h, &proxy, unlabelled, &out, &err), CSE_PLUGIN_OK);
    ck_assert_ptr_null(strstr(out, "\"Flag\""));
    ck_assert_ptr_null(strstr(out, MARKER));
    ck_assert_ptr_null(strstr(out, id));
    api->free_string(out);
    free(unlabelled);
    api->free_string(id);
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_reviews_due_lists_overdue)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL), *later;
    char *a = fixture("child.json"), *b = fixture("related.json"), *out = NULL, *ida,
         *idb;
    const char *recs[3];
    cse_plugin_error err;
    json_t *j, *items;

    ida = add(h, &a, "2024-01-10");
    idb = add(h, &b, "2025-03-01");
    recs[0] = a;
    recs[1] = "not json";
    recs[2] = b;
    ck_assert_int_eq(api->reviews_due(h, &gp, recs, 3, 30, &out, &err), CSE_PLUGIN_OK);
    j = parse(out);
    api->free_string(out);
    items = json_object_get(j, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(items, 0), "record")), 0);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(items, 0), "review_state")),
        "OVERDUE");
    ck_assert_int_eq(json_array_size(json_object_get(j, "errors")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(j, "errors"), 0), "code")),
                     CSE_PLUGIN_ERR_PARSE);
    json_decref(j);
    /* Six months on, both are due. */
    later = open_at("2025-08-20", NULL);
    ck_assert_int_eq(api->reviews_due(later, &gp, recs, 3, 30, &out, &err),
                     CSE_PLUGIN_OK);
    j = parse(out);
    api->free_string(out);
    items = json_object_get(j, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(items, 1), "review_state")),
        "due-soon");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(items, 1), "marker_id")), idb);
    json_decref(j);
    api->close(later);
    api->free_string(ida);
    api->free_string(idb);
    free(a);
    free(b);
    api->close(h);
}
END_TEST

/* ---- The audit journal -------------------------------------------------- */

START_TEST(test_plugin_journal_entries_are_pseudonymous)
{
    char lines[4][2048], *rec = fixture("child.json");
    json_t *e;
    int n;

    make_journal(2);
    n = read_lines(lines, 4);
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_null(strstr(lines[0], "9990000018"));
    ck_assert_ptr_null(strstr(lines[0], "Synthetic"));
    e = parse(lines[1]);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "seq")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(e, "user")), "G1000001");
    ck_assert_str_eq(json_string_value(json_object_get(e, "role")), "gp");
    ck_assert_str_eq(json_string_value(json_object_get(e, "action")), "marker-add");
    ck_assert_str_eq(json_string_value(json_object_get(e, "phase")), "intent");
    ck_assert_int_eq(strlen(json_string_value(json_object_get(e, "patient"))), 64);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(e, "prev"))), 64);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(e, "mac"))), 64);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(e, "txn"))), 64);
    json_decref(e);
    free(rec);
}
END_TEST

START_TEST(test_plugin_journal_detects_edit)
{
    char lines[8][2048], *p;
    make_journal(5);
    ck_assert_int_eq(read_lines(lines, 8), 5);
    p = strstr(lines[2], "\"role\":\"gp\"");
    ck_assert_ptr_nonnull(p);
    memcpy(p, "\"role\":\"GP\"", 11);
    write_lines(lines, 5);
    expect_bad_at(3);
}
END_TEST

START_TEST(test_plugin_journal_detects_deletion)
{
    char lines[8][2048];
    make_journal(5);
    ck_assert_int_eq(read_lines(lines, 8), 5);
    memmove(lines[1], lines[2], sizeof(lines[0]) * 3); /* drop entry 2 */
    write_lines(lines, 4);
    expect_bad_at(2);
}
END_TEST

START_TEST(test_plugin_journal_detects_deletion_at_end)
{
    char lines[8][2048];
    make_journal(5);
    ck_assert_int_eq(read_lines(lines, 8), 5);
    write_lines(lines, 4);
    expect_bad_at(5);
}
END_TEST

START_TEST(test_plugin_journal_detects_reordering)
{
    char lines[8][2048], tmp[2048];
    make_journal(5);
    ck_assert_int_eq(read_lines(lines, 8), 5);
    memcpy(tmp, lines[3], sizeof(tmp));
    memcpy(lines[3], lines[2], sizeof(tmp));
    memcpy(lines[2], tmp, sizeof(tmp));
    write_lines(lines, 5);
    expect_bad_at(3);
}
END_TEST

START_TEST(test_plugin_journal_detects_insertion)
{
    char lines[8][2048];
    make_journal(4);
    ck_assert_int_eq(read_lines(lines, 8), 4);
    /* A copy of entry 2 slipped in after it. */
    memmove(lines[3], lines[2], sizeof(lines[0]) * 2);
    memcpy(lines[2], lines[1], sizeof(lines[0]));
    write_lines(lines, 5);
    expect_bad_at(3);
}
END_TEST

/* Every file of the journal folder, names and bytes, to compare. */
static char *snapshot(void)
{
    struct dirent **names = NULL;
    int n = scandir(journal, &names, NULL, alphasort);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap), path[1024];

    ck_assert_int_ge(n, 0);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char *content;
        size_t need;
        if (names[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", journal, names[i]->d_name);
            content = slurp(path);
            need = len + strlen(names[i]->d_name) + strlen(content) + 4;
            if (need > cap)
                buf = realloc(buf, cap = need * 2);
            len += (size_t)sprintf(buf + len, "%s\n%s\n", names[i]->d_name, content);
            free(content);
        }
        free(names[i]);
    }
    free(names);
    return buf;
}

static void copy_file(const char *from, const char *to)
{
    char *c = slurp(from);
    FILE *fp = fopen(to, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs(c, fp);
    fclose(fp);
    free(c);
}

static void jpath(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", journal, name);
}

static void append_text(const char *name, const char *text)
{
    char path[512];
    FILE *fp;
    jpath(path, sizeof(path), name);
    fp = fopen(path, "a");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

/* marker_add must fail with code and change neither the record nor the
 * journal. */
static void add_refused(cse_plugin_handle *h, int code)
{
    char *rec = fixture("child.json"), *out = NULL, *id = NULL, *before = snapshot(),
         *after;
    cse_plugin_error err;
    ck_assert_int_eq(api->marker_add(h, &gp, rec, MARKER, NULL, NULL, &out, &id, &err),
                     code);
    ck_assert_ptr_null(out);
    after = snapshot();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(rec);
}

START_TEST(test_plugin_journal_torn_tail_is_recovered)
{
    static const char torn[] = "{\"action\":\"marker-add\",\"mac\":\"12";
    char *rec, *before, *after;
    size_t recovered = 0;
    cse_plugin_handle *h;
    json_t *j;
    cse_plugin_error err;

    make_journal(3);
    append_text("csemarker-audit.jsonl", torn); /* no newline: a crash */
    before = snapshot();
    /* open and verify only report the torn tail... */
    h = open_at("2025-03-14", &recovered);
    ck_assert_uint_eq(recovered, strlen(torn));
    j = verify(h, CSE_PLUGIN_OK, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "torn_tail_bytes")),
                     (json_int_t)strlen(torn));
    json_decref(j);
    after = snapshot();
    ck_assert_str_eq(before, after);
    /* ...the next write removes it, journals that it did, and appends. */
    rec = fixture("child.json");
    api->free_string(add(h, &rec, NULL));
    j = verify(h, CSE_PLUGIN_OK, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "torn_tail_bytes")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(j, "repairs")), 1);
    json_decref(j);
    free(rec);
    free(before);
    free(after);
    api->close(h);
}
END_TEST

/* Without the key, an entry one past the head that chains correctly (an
 * unkeyed SHA-256 in place of the MAC) is found, never adopted, and the
 * journal is not extended. */
START_TEST(test_plugin_journal_keyless_entry_past_head_refused)
{
    char lines[8][2048], forged[2048], *p;
    cse_plugin_handle *h;
    cse_plugin_error err;
    json_t *e, *j;
    const char *mac;

    make_journal(3);
    ck_assert_int_eq(read_lines(lines, 8), 3);
    e = parse(lines[2]);
    mac = json_string_value(json_object_get(e, "mac"));
    snprintf(forged, sizeof(forged),
             "{\"action\":\"marker-add\",\"mac\":\"%064d\",\"marker\":null,\"of\":4,"
             "\"patient\":null,\"phase\":\"intent\",\"prev\":\"%s\",\"role\":\"gp\","
             "\"seq\":4,\"time\":\"2030-01-01T00:00:00Z\",\"txn\":\"%064d\","
             "\"user\":\"MALLORY\"}\n",
             7, mac, 1);
    json_decref(e);
    append_text("csemarker-audit.jsonl", forged);
    h = open_at("2025-03-14", NULL);
    j = verify(h, CSE_PLUGIN_ERR_INTEGRITY, &err);
    ck_assert_str_eq(err.path, "seq 4");
    ck_assert_ptr_nonnull(p = strstr(err.message, "MAC"));
    json_decref(j);
    add_refused(h, CSE_PLUGIN_ERR_INTEGRITY);
    ck_assert_ptr_nonnull(strstr(err.message, "MAC"));
    j = verify(h, CSE_PLUGIN_ERR_INTEGRITY, &err);
    ck_assert_str_eq(err.path, "seq 4");
    json_decref(j);
    api->close(h);
}
END_TEST

/* A complete entry one past the head whose own MAC verifies (its append
 * reached the disk, its head did not) is reported, then adopted by the next
 * write. */
START_TEST(test_plugin_journal_adopts_own_entry_past_head)
{
    char head[512], saved[512], *rec = fixture("child.json"), *before, *after;
    cse_plugin_handle *h;
    cse_plugin_error err;
    json_t *j;

    make_journal(3);
    jpath(head, sizeof(head), "csemarker-audit.head");
    snprintf(saved, sizeof(saved), "%s/head.saved", dir);
    copy_file(head, saved);
    h = open_at("2025-03-14", NULL);
    api->free_string(add(h, &rec, NULL));
    copy_file(saved, head); /* as if the head rename never happened */
    before = snapshot();
    j = verify(h, CSE_PLUGIN_OK, &err);
    ck_assert(json_is_true(json_object_get(j, "unacknowledged_entry")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), 4);
    json_decref(j);
    after = snapshot();
    ck_assert_str_eq(before, after);
    api->free_string(add(h, &rec, NULL));
    j = verify(h, CSE_PLUGIN_OK, &err);
    ck_assert(json_is_false(json_object_get(j, "unacknowledged_entry")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "head_seq")), 5);
    json_decref(j);
    /* Two entries past an older head: that is not a crash. */
    copy_file(saved, head);
    json_decref(verify(h, CSE_PLUGIN_ERR_INTEGRITY, &err));
    ck_assert_str_eq(err.path, "seq 5");
    add_refused(h, CSE_PLUGIN_ERR_INTEGRITY);
    free(before);
    free(after);
    free(rec);
    api->close(h);
}
END_TEST

/* Verifying changes no file, whatever the state. */
START_TEST(test_plugin_journal_verify_is_read_only)
{
    char lines[8][2048], head[512], *before, *after;
    cse_plugin_handle *h;
    cse_plugin_error err;

    make_journal(4);
    jpath(head, sizeof(head), "csemarker-audit.head");
    for (int state = 0; state < 4; state++) {
        switch (state) {
        case 0: break;                                                 /* verifies */
        case 1: append_text("csemarker-audit.jsonl", "{\"act"); break; /* torn */
        case 2: /* deleted at the end */
            ck_assert_int_eq(read_lines(lines, 8), 5);
            write_lines(lines, 3);
            break;
        case 3: ck_assert_int_eq(unlink(head), 0); break;
        }
        before = snapshot();
        h = open_at("2025-03-14", NULL);
        json_decref(
            verify(h, state < 2 ? CSE_PLUGIN_OK : CSE_PLUGIN_ERR_INTEGRITY, &err));
        json_decref(
            verify(h, state < 2 ? CSE_PLUGIN_OK : CSE_PLUGIN_ERR_INTEGRITY, &err));
        api->close(h);
        after = snapshot();
        ck_assert_msg(strcmp(before, after) == 0, "state %d: verify changed files",
                      state);
        free(before);
        free(after);
    }
}
END_TEST

/* The journal takes its time from the system clock, never from the
 * handle's clock override (which sets clinical dates only). */
START_TEST(test_plugin_journal_time_is_the_system_clock)
{
    char lines[4][2048], lo[32], hi[32];
    time_t t0 = time(NULL), t1;
    struct tm g;
    const char *t;
    json_t *e;

    make_journal(1);
    t1 = time(NULL);
    gmtime_r(&t0, &g);
    strftime(lo, sizeof(lo), "%Y-%m-%dT%H:%M:%SZ", &g);
    gmtime_r(&t1, &g);
    strftime(hi, sizeof(hi), "%Y-%m-%dT%H:%M:%SZ", &g);
    ck_assert_int_eq(read_lines(lines, 4), 1);
    e = parse(lines[0]);
    t = json_string_value(json_object_get(e, "time"));
    ck_assert_msg(strcmp(t, lo) >= 0 && strcmp(t, hi) <= 0,
                  "entry time %s not in [%s, %s]", t, lo, hi);
    json_decref(e);
}
END_TEST

/* A state that does not verify refuses every write until an auditor's
 * recovery, which is journaled and reported by every later verify. */
START_TEST(test_plugin_journal_refuses_writes_until_recovered)
{
    char lines[8][2048], *rec = fixture("child.json"), *out = NULL, *review = NULL;
    char *xml = NULL, *p, *rep = NULL;
    static const cse_plugin_user auditor = {"A9000001", "auditor", 1};
    static const cse_plugin_import_options forced = {sizeof(forced), 0, 1};
    cse_plugin_handle *h;
    cse_plugin_error err;
    size_t len;
    json_t *j, *r;

    make_journal(4);
    h = open_at("2025-03-14", NULL);
    ck_assert_int_eq(api->gp2gp_export(h, &gp, rec, NULL, &xml, &len, &err),
                     CSE_PLUGIN_OK);
    ck_assert_int_eq(read_lines(lines, 8), 4);
    p = strstr(lines[1], "\"user\":\"G1000001\"");
    ck_assert_ptr_nonnull(p);
    memcpy(p, "\"user\":\"G1000002\"", 17);
    write_lines(lines, 4);
    add_refused(h, CSE_PLUGIN_ERR_INTEGRITY);
    ck_assert_int_eq(
        api->gp2gp_import_opt(h, &gp, xml, len, &forced, &out, &review, &err),
        CSE_PLUGIN_ERR_INTEGRITY);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(api->action_outcome(h, &gp, rec, 1, &err), CSE_PLUGIN_ERR_INTEGRITY);
    ck_assert_int_eq(api->audit_recover(h, &auditor, &rep, &err), CSE_PLUGIN_OK);
    j = parse(rep);
    api->free_string(rep);
    ck_assert(json_is_true(json_object_get(j, "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), 2);
    json_decref(j);
    /* Recovering a journal that verifies is refused. */
    ck_assert_int_eq(api->audit_recover(h, &auditor, &rep, &err), CSE_PLUGIN_ERR_STATE);
    api->free_string(rep);
    api->free_string(add(h, &rec, NULL));
    for (int i = 0; i < 2; i++) {
        j = verify(h, CSE_PLUGIN_OK, &err);
        r = json_array_get(json_object_get(j, "recoveries"), 0);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(json_string_value(json_object_get(r, "user")), "A9000001");
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_object_get(r, "detail"), "bad_seq")),
            2);
        ck_assert_ptr_nonnull(strstr(
            json_string_value(json_object_get(json_object_get(r, "detail"), "problem")),
            "MAC"));
        json_decref(j);
    }
    api->free_string(xml);
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_audit_hooks_need_an_authorised_user)
{
    cse_plugin_handle *h;
    static const cse_plugin_user anon = {"G1000001", "gp", 0},
                                 patient = {"P1", "patient", 1};
    cse_plugin_error err;
    char *rep = NULL;

    make_journal(1);
    h = open_at("2025-03-14", NULL);
    ck_assert_int_eq(api->journal_verify(h, &rep, &err), CSE_PLUGIN_ERR_AUTH);
    ck_assert_ptr_null(rep);
    ck_assert_int_eq(api->audit_verify(h, &anon, NULL, &rep, &err), CSE_PLUGIN_ERR_AUTH);
    ck_assert_int_eq(api->audit_verify(h, &patient, NULL, &rep, &err),
                     CSE_PLUGIN_ERR_AUTH);
    ck_assert_int_eq(api->audit_verify(h, NULL, NULL, &rep, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    ck_assert_int_eq(api->audit_recover(h, &patient, &rep, &err), CSE_PLUGIN_ERR_AUTH);
    ck_assert_int_eq(api->action_outcome(h, &anon, "x", 1, &err), CSE_PLUGIN_ERR_AUTH);
    ck_assert_ptr_null(rep);
    api->close(h);
}
END_TEST

/* The outcome names the latest pending intention with the same result. */
START_TEST(test_plugin_outcome_follows_intention)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *rec = fixture("child.json"), *out = NULL, *id = NULL, lines[8][2048];
    cse_plugin_error err;
    json_t *e, *j;

    ck_assert_int_eq(api->marker_add(h, &gp, rec, MARKER, NULL, NULL, &out, &id, &err),
                     CSE_PLUGIN_OK);
    ck_assert_int_eq(api->action_outcome(h, &gp, out, 1, &err), CSE_PLUGIN_OK);
    /* Nothing pending any more: accepted, nothing written. */
    ck_assert_int_eq(api->action_outcome(h, &gp, out, 1, &err), CSE_PLUGIN_OK);
    api->free_string(out);
    api->free_string(id);
    ck_assert_int_eq(api->marker_add(h, &gp, rec, MARKER, NULL, NULL, &out, &id, &err),
                     CSE_PLUGIN_OK);
    ck_assert_int_eq(api->action_outcome(h, &gp, out, 0, &err), CSE_PLUGIN_OK);
    ck_assert_int_eq(read_lines(lines, 8), 4);
    e = parse(lines[1]);
    ck_assert_str_eq(json_string_value(json_object_get(e, "phase")), "done");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "of")), 1);
    json_decref(e);
    e = parse(lines[3]);
    ck_assert_str_eq(json_string_value(json_object_get(e, "phase")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(e, "marker")), id);
    json_decref(e);
    j = verify(h, CSE_PLUGIN_OK, &err);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "unconfirmed_count")), 0);
    json_decref(j);
    api->free_string(out);
    api->free_string(id);
    free(rec);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_journal_folder_permissions_checked)
{
    cse_plugin_config cfg = {sizeof(cfg), journal, keyfile, "A11111", 0, NULL};
    cse_plugin_handle *h = NULL;
    cse_plugin_error err;

    ck_assert_int_eq(chmod(journal, 0770), 0);
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_PERMISSION);
    ck_assert_str_eq(err.path, "journal_dir");
    ck_assert_ptr_nonnull(strstr(err.message, "mode 770"));
    ck_assert_int_eq(chmod(journal, 01777), 0);
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_PERMISSION);
    ck_assert_int_eq(chmod(journal, 0700), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(journal, 65534, 65534), 0);
        ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_ERR_PERMISSION);
        ck_assert_ptr_nonnull(strstr(err.message, "another user"));
        ck_assert_int_eq(chown(journal, 0, 0), 0);
    }
    ck_assert_int_eq(api->open(&cfg, &h, NULL, &err), CSE_PLUGIN_OK);
    api->close(h);
}
END_TEST

/* A link planted where the head's temporary goes: its target is never
 * written. */
START_TEST(test_plugin_journal_temporary_link_not_followed)
{
    char victim[512], link[512], *rec = fixture("child.json"), *c;
    cse_plugin_handle *h;
    FILE *fp;
    struct stat st;

    make_journal(1);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    fp = fopen(victim, "w");
    fputs("precious\n", fp);
    fclose(fp);
    jpath(link, sizeof(link), "csemarker-audit.head.tmp");
    ck_assert_int_eq(symlink(victim, link), 0);
    h = open_at("2025-03-14", NULL);
    api->free_string(add(h, &rec, NULL));
    ck_assert_int_eq(verify_entries(h), 2);
    c = slurp(victim);
    ck_assert_str_eq(c, "precious\n");
    ck_assert_int_ne(lstat(link, &st), 0);
    free(c);
    free(rec);
    api->close(h);
}
END_TEST

/* Rolling journal and head back together to an older copy verifies on its
 * own; the anchor kept elsewhere finds it. */
START_TEST(test_plugin_journal_anchor_finds_rollback)
{
    char jf[512], hf[512], js[512], hs[512], *rep = NULL, anchor[128];
    char *rec = fixture("child.json");
    cse_plugin_handle *h;
    cse_plugin_error err;
    json_t *j;

    make_journal(2);
    jpath(jf, sizeof(jf), "csemarker-audit.jsonl");
    jpath(hf, sizeof(hf), "csemarker-audit.head");
    snprintf(js, sizeof(js), "%s/j.saved", dir);
    snprintf(hs, sizeof(hs), "%s/h.saved", dir);
    copy_file(jf, js);
    copy_file(hf, hs);
    h = open_at("2025-03-14", NULL);
    api->free_string(add(h, &rec, NULL));
    j = verify(h, CSE_PLUGIN_OK, &err);
    snprintf(anchor, sizeof(anchor), "%s",
             json_string_value(json_object_get(j, "anchor")));
    json_decref(j);
    ck_assert_int_eq(api->audit_verify(h, &gp, anchor, &rep, &err), CSE_PLUGIN_OK);
    api->free_string(rep);
    ck_assert_int_eq(api->audit_verify(h, &gp, "3:zz", &rep, &err),
                     CSE_PLUGIN_ERR_INVALID_ARG);
    copy_file(js, jf);
    copy_file(hs, hf);
    ck_assert_int_eq(verify_entries(h), 2);
    ck_assert_int_eq(api->audit_verify(h, &gp, anchor, &rep, &err),
                     CSE_PLUGIN_ERR_INTEGRITY);
    ck_assert_str_eq(err.path, "seq 3");
    ck_assert_ptr_nonnull(strstr(err.message, "rolled back"));
    api->free_string(rep);
    free(rec);
    api->close(h);
}
END_TEST

/* A child appends in a loop and reports each acknowledged seq on a pipe; the
 * parent kills it mid-stream. No acknowledged entry may be lost and the
 * journal must verify. */
START_TEST(test_plugin_journal_survives_sigkill)
{
    int fds[2], status;
    pid_t pid;
    long acked = 0, seq;
    FILE *in;
    cse_plugin_handle *h;
    size_t recovered = 0;
    json_int_t n;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        cse_plugin_handle *ch;
        char *rec = fixture("child.json");
        close(fds[0]);
        ch = open_at("2025-03-14", NULL);
        for (long i = 1;; i++) {
            char *out = NULL, *id = NULL;
            cse_plugin_error err;
            char line[32];
            int len;
            if (api->marker_add(ch, &gp, rec, MARKER, NULL, NULL, &out, &id, &err) != 0)
                _exit(3);
            api->free_string(out);
            api->free_string(id);
            len = snprintf(line, sizeof(line), "%ld\n", i);
            if (write(fds[1], line, (size_t)len) != len)
                _exit(4);
        }
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    ck_assert_ptr_nonnull(in);
    while (acked < 40 && fscanf(in, "%ld", &seq) == 1)
        acked = seq;
    kill(pid, SIGKILL);
    /* Acks that were already in the pipe were acknowledged too. */
    while (fscanf(in, "%ld", &seq) == 1)
        acked = seq;
    fclose(in);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_ge(acked, 40);
    h = open_at("2025-03-14", &recovered);
    n = verify_entries(h);
    ck_assert_msg(n >= acked, "journal has %lld entries, %ld were acknowledged",
                  (long long)n, acked);
    ck_assert_int_le(n, acked + 1); /* at most the one in flight */
    api->close(h);
}
END_TEST

struct worker {
    cse_plugin_handle *h;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char *rec = fixture("child.json");
    for (int i = 0; i < 10; i++) {
        char *out = NULL, *id = NULL;
        cse_plugin_error err;
        if (api->marker_add(w->h, &gp, rec, MARKER, NULL, NULL, &out, &id, &err) == 0)
            w->ok++;
        api->free_string(out);
        api->free_string(id);
    }
    free(rec);
    return NULL;
}

START_TEST(test_plugin_handle_is_thread_safe)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    pthread_t t[4];
    struct worker w[4];

    for (int i = 0; i < 4; i++) {
        w[i].h = h;
        w[i].ok = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(w[i].ok, 10);
    }
    ck_assert_int_eq(verify_entries(h), 40);
    api->close(h);
}
END_TEST

/* Several processes, each with its own handle, append at once: the lock
 * file serialises them and the chain stays whole. */
START_TEST(test_plugin_journal_processes_append_in_turn)
{
    pid_t pids[4];
    cse_plugin_handle *h;
    int status;

    make_journal(1);
    for (int p = 0; p < 4; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            cse_plugin_handle *ch = open_at("2025-03-14", NULL);
            char *rec = fixture("child.json");
            for (int i = 0; i < 15; i++) {
                char *out = NULL, *id = NULL;
                cse_plugin_error err;
                if (api->marker_add(ch, &gp, rec, MARKER, NULL, NULL, &out, &id, &err) !=
                        0 ||
                    api->action_outcome(ch, &gp, out, 1, &err) != 0)
                    _exit(3);
                api->free_string(out);
                api->free_string(id);
            }
            /* Freed, so that valgrind, which checks each child at exit, finds
             * no leak in it. */
            free(rec);
            api->close(ch);
            _exit(0);
        }
    }
    for (int p = 0; p < 4; p++) {
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    h = open_at("2025-03-14", NULL);
    ck_assert_int_eq(verify_entries(h), 1 + 4 * 15 * 2);
    api->close(h);
}
END_TEST

START_TEST(test_plugin_gp2gp_import_refuses_non_xml)
{
    cse_plugin_handle *h = open_at("2025-03-14", NULL);
    char *out = NULL, *review = NULL;
    cse_plugin_error err;
    const char *junk = "<not-closed";

    ck_assert_int_eq(api->gp2gp_import(h, &gp, junk, strlen(junk), &out, &review, &err),
                     CSE_PLUGIN_ERR_PARSE);
    ck_assert_ptr_null(out);
    ck_assert_ptr_null(review);
    ck_assert_int_eq(verify_entries(h), 0);
    api->close(h);
}
END_TEST

static Suite *plugin_suite(void)
{
    Suite *s = suite_create("plugin");
    TCase *tc = tcase_create("abi");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_plugin_entry_checks_abi_version);
    tcase_add_test(tc, test_plugin_open_refuses_bad_config);
    tcase_add_test(tc, test_plugin_hooks_refuse_null_arguments);
    tcase_add_test(tc, test_plugin_unauthenticated_marker_action_refused);
    tcase_add_test(tc, test_plugin_roles_are_an_allow_list);
    tcase_add_test(tc, test_plugin_non_fhir_record_refused);
    tcase_add_test(tc, test_plugin_marker_lifecycle_follows_rules);
    tcase_add_test(tc, test_plugin_marker_keeps_host_data);
    tcase_add_test(tc, test_plugin_record_saved_suggests_review);
    tcase_add_test(tc, test_plugin_patient_view_hides_nopat_and_markers);
    tcase_add_test(tc, test_plugin_reviews_due_lists_overdue);
    tcase_add_test(tc, test_plugin_journal_entries_are_pseudonymous);
    tcase_add_test(tc, test_plugin_journal_detects_edit);
    tcase_add_test(tc, test_plugin_journal_detects_deletion);
    tcase_add_test(tc, test_plugin_journal_detects_deletion_at_end);
    tcase_add_test(tc, test_plugin_journal_detects_reordering);
    tcase_add_test(tc, test_plugin_journal_detects_insertion);
    tcase_add_test(tc, test_plugin_journal_torn_tail_is_recovered);
    tcase_add_test(tc, test_plugin_journal_keyless_entry_past_head_refused);
    tcase_add_test(tc, test_plugin_journal_adopts_own_entry_past_head);
    tcase_add_test(tc, test_plugin_journal_verify_is_read_only);
    tcase_add_test(tc, test_plugin_journal_time_is_the_system_clock);
    tcase_add_test(tc, test_plugin_journal_refuses_writes_until_recovered);
    tcase_add_test(tc, test_plugin_audit_hooks_need_an_authorised_user);
    tcase_add_test(tc, test_plugin_outcome_follows_intention);
    tcase_add_test(tc, test_plugin_journal_folder_permissions_checked);
    tcase_add_test(tc, test_plugin_journal_temporary_link_not_followed);
    tcase_add_test(tc, test_plugin_journal_anchor_finds_rollback);
    tcase_add_test(tc, test_plugin_journal_survives_sigkill);
    tcase_add_test(tc, test_plugin_handle_is_thread_safe);
    tcase_add_test(tc, test_plugin_journal_processes_append_in_turn);
    tcase_add_test(tc, test_plugin_gp2gp_import_refuses_non_xml);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(plugin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
