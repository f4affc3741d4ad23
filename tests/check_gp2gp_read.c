/* SPDX-License-Identifier: MIT */
/* The streaming GP2GP reader over the synthetic fixtures in
 * test-fixtures/gp2gp/<case>/input.xml: what it delivers into a sink, field
 * by field, and how it fails. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csemarker/gp2gp.h>

#include "testutil.h"

#define ID(n) "A1B2C3D4-0000-4000-8000-0000000000" #n
#define GP_ID "A1B2C3D4-0000-4000-8000-000000000900"
#define ORG_ID "A1B2C3D4-0000-4000-8000-000000000901"

/* A sink that collects into a record (cse_record_sink_new) and also keeps
 * what the record has no room for: the message version, each entry's class
 * and reason, and the summary. */
struct probe {
    cse_record *rec;
    cse_sink *inner;
    int hl7_version;
    int begins, ends;
    cse_entry_class cls[64];
    cse_candidate_reason reason[64];
    size_t n;
    size_t sum_entries, sum_markers, sum_candidates, n_losses;
    char loss_what[4][160];
    size_t loss_count[4];
    int loss_line[4];
    int fail_at; /* entry number at which to refuse (0: never) */
};

static cse_code p_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    struct probe *p = s->data;
    p->begins++;
    p->hl7_version = info->hl7_version;
    return p->inner->begin(p->inner, info, err);
}

static cse_code p_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    struct probe *p = s->data;
    return p->inner->agent(p->inner, a, err);
}

static cse_code p_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                        cse_error *err)
{
    struct probe *p = s->data;
    if (p->fail_at && (int)p->n + 1 == p->fail_at)
        return CSE_ERR_IO;
    if (p->n < 64) {
        p->cls[p->n] = info->cls;
        p->reason[p->n] = info->reason;
    }
    p->n++;
    return p->inner->entry(p->inner, e, info, err);
}

static cse_code p_end(cse_sink *s, const cse_summary *sum, cse_error *err)
{
    struct probe *p = s->data;
    p->ends++;
    p->sum_entries = sum->entries;
    p->sum_markers = sum->markers;
    p->sum_candidates = sum->candidates;
    p->n_losses = sum->n_losses;
    for (size_t i = 0; i < sum->n_losses && i < 4; i++) {
        snprintf(p->loss_what[i], sizeof(p->loss_what[i]), "%s", sum->losses[i].what);
        p->loss_count[i] = sum->losses[i].count;
        p->loss_line[i] = sum->losses[i].first_line;
    }
    return p->inner->end(p->inner, sum, err);
}

static void probe_init(struct probe *p, cse_sink *s)
{
    memset(p, 0, sizeof(*p));
    p->rec = cse_record_new();
    p->inner = cse_record_sink_new(p->rec);
    ck_assert_ptr_nonnull(p->rec);
    ck_assert_ptr_nonnull(p->inner);
    memset(s, 0, sizeof(*s));
    s->begin = p_begin;
    s->agent = p_agent;
    s->entry = p_entry;
    s->end = p_end;
    s->data = p;
}

static void probe_free(struct probe *p)
{
    cse_sink_free(p->inner);
    cse_record_free(p->rec);
}

static void fixture(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/test-fixtures/%s", test_srcdir(), rel);
}

static cse_code read_case(const char *rel, const cse_gp2gp_read_options *opt,
                          struct probe *p, cse_sink *s, cse_error *err)
{
    char path[1024];
    fixture(path, sizeof(path), rel);
    probe_init(p, s);
    memset(err, 0, sizeof(*err));
    return cse_gp2gp_read_file(path, opt, s, err);
}

static void assert_read_ok(cse_code rc, const cse_error *err)
{
    char buf[1600];
    ck_assert_msg(rc == CSE_OK, "read failed: %s",
                  cse_error_format(err, buf, sizeof(buf)));
}

static bool same_day(const cse_time *t, int y, int m, int d)
{
    return t->precision >= CSE_TIME_DAY && t->year == y && t->month == m && t->day == d;
}

START_TEST(test_gp2gp_read_uk07_marker_with_nopat_and_annotation)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_entry *enc, *obs;
    const cse_marker *m;
    const cse_agent *gp, *org;
    const cse_patient *pt;

    assert_read_ok(read_case("gp2gp/uk07-marker-nopat/input.xml", NULL, &p, &s, &err),
                   &err);
    ck_assert_int_eq(p.hl7_version, 7);
    ck_assert_int_eq(p.begins, 1);
    ck_assert_int_eq(p.ends, 1);
    pt = cse_record_patient(p.rec);
    ck_assert_str_eq(pt->nhs_number, "9990000018");
    ck_assert_ptr_null(pt->local_id);

    ck_assert_uint_eq(cse_record_agent_count(p.rec), 2);
    org = cse_record_agent(p.rec, 0);
    gp = cse_record_agent(p.rec, 1);
    ck_assert_str_eq(org->id, ORG_ID);
    ck_assert_int_eq(org->kind, CSE_AGENT_ORGANISATION);
    ck_assert_str_eq(org->ods, "Y99001");
    ck_assert_str_eq(org->name, "Synthetic Practice One");
    ck_assert_str_eq(gp->id, GP_ID);
    ck_assert_int_eq(gp->kind, CSE_AGENT_PERSON);
    ck_assert_str_eq(gp->name, "Dr Ada Example");
    ck_assert_str_eq(gp->ods, "Y99001");
    ck_assert_str_eq(gp->org_id, ORG_ID);
    ck_assert_str_eq(gp->role, "General practitioner principal");

    ck_assert_uint_eq(cse_record_entry_count(p.rec), 2);
    enc = cse_record_entry(p.rec, 0);
    ck_assert_int_eq(enc->kind, CSE_ENTRY_ENCOUNTER);
    ck_assert_str_eq(enc->id, ID(10));
    ck_assert_ptr_null(enc->parent_id);
    ck_assert_uint_eq(enc->labels, CSE_LABEL_NOPAT);
    ck_assert_uint_eq(enc->code.n, 1);
    ck_assert_str_eq(enc->code.codings[0].system, CSE_SYSTEM_SNOMED);
    ck_assert_str_eq(enc->code.codings[0].code, "25671000000102");
    ck_assert_str_eq(enc->author_ref, GP_ID);
    ck_assert(same_day(&enc->effective_center, 2024, 1, 15));

    obs = cse_record_entry(p.rec, 1);
    ck_assert_int_eq(obs->kind, CSE_ENTRY_OBSERVATION);
    ck_assert_str_eq(obs->id, ID(11));
    ck_assert_str_eq(obs->parent_id, ID(10));
    ck_assert_uint_eq(obs->labels, CSE_LABEL_NOPAT);
    ck_assert_uint_eq(obs->inherited_labels, CSE_LABEL_NOPAT);
    ck_assert_str_eq(obs->code.codings[0].code, "716565009");
    ck_assert_str_eq(obs->code.text, "At increased risk of child sexual exploitation");
    ck_assert_str_eq(obs->status, "COMPLETE");
    ck_assert_str_eq(obs->author_ref, GP_ID);
    ck_assert_uint_eq(obs->n_annotations, 1);
    ck_assert_str_eq(
        obs->annotations[0],
        "CSE marker v1 | status: active | category: cse | review: 2024-07-15");
    ck_assert_int_eq(obs->source_line, 107);
    ck_assert_int_eq(p.cls[0], CSE_CLASS_NONE);
    ck_assert_int_eq(p.cls[1], CSE_CLASS_MARKER);

    ck_assert_uint_eq(cse_record_marker_count(p.rec), 1);
    m = cse_record_marker(p.rec, 0);
    ck_assert_str_eq(m->code, "716565009");
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    ck_assert(same_day(&m->start, 2024, 1, 15));
    ck_assert(same_day(&m->review, 2024, 7, 15));
    ck_assert_uint_eq(m->labels, CSE_LABEL_NOPAT);
    ck_assert_str_eq(m->author_id, GP_ID);
    ck_assert_str_eq(m->author_name, "Dr Ada Example");
    ck_assert_str_eq(m->org_ods, "Y99001");
    ck_assert_str_eq(m->entry_id, ID(11));
    ck_assert_uint_eq(p.sum_entries, 2);
    ck_assert_uint_eq(p.sum_markers, 1);
    ck_assert_uint_eq(p.sum_candidates, 0);
    ck_assert_uint_eq(p.n_losses, 0);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_uk06_marker_without_nopat_has_no_label)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_marker *m;

    assert_read_ok(read_case("gp2gp/uk06-marker-no-nopat/input.xml", NULL, &p, &s, &err),
                   &err);
    ck_assert_int_eq(p.hl7_version, 6);
    ck_assert_uint_eq(cse_record_marker_count(p.rec), 1);
    m = cse_record_marker(p.rec, 0);
    ck_assert_str_eq(m->code, "713834002");
    ck_assert_uint_eq(m->labels, 0);
    ck_assert_uint_eq(cse_record_entry(p.rec, 1)->labels, 0);
    ck_assert_uint_eq(cse_record_entry(p.rec, 1)->inherited_labels, 0);
    /* No annotation survived: active, default review six months on. */
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    ck_assert(same_day(&m->review, 2024, 7, 15));
    ck_assert_str_eq(cse_record_entry(p.rec, 1)->author_ref, GP_ID);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_ended_marker_has_end_date_and_reason)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_marker *m;
    const cse_entry *e;

    assert_read_ok(read_case("gp2gp/marker-states/input.xml", NULL, &p, &s, &err), &err);
    e = cse_record_entry(p.rec, 1);
    ck_assert_str_eq(e->id, ID(31));
    ck_assert(same_day(&e->effective_low, 2023, 1, 5));
    ck_assert(same_day(&e->effective_high, 2024, 1, 10));
    m = cse_record_find_marker(p.rec, ID(31));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->status, CSE_MARKER_INACTIVE);
    ck_assert(same_day(&m->start, 2023, 1, 5));
    ck_assert(same_day(&m->end, 2024, 1, 10));
    ck_assert_str_eq(m->end_reason, CSE_END_NO_LONGER_AT_RISK);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_entered_in_error_comes_from_annotation)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_marker *m;

    assert_read_ok(read_case("gp2gp/marker-states/input.xml", NULL, &p, &s, &err), &err);
    m = cse_record_find_marker(p.rec, ID(33));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->status, CSE_MARKER_ENTERED_IN_ERROR);
    ck_assert_uint_eq(cse_record_entry(p.rec, 3)->n_annotations, 2);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_marker_code_only_in_translation)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_marker *m;
    const cse_entry *enc, *e;

    assert_read_ok(read_case("gp2gp/marker-states/input.xml", NULL, &p, &s, &err), &err);
    e = cse_record_entry(p.rec, 5);
    ck_assert_str_eq(e->id, ID(35));
    ck_assert_uint_eq(e->code.n, 2);
    ck_assert_str_eq(e->code.codings[0].system, CSE_SYSTEM_EMIS);
    ck_assert_str_eq(e->code.codings[0].code, "XaZ9Q");
    ck_assert_str_eq(e->code.codings[1].system, CSE_SYSTEM_SNOMED);
    ck_assert_str_eq(e->code.codings[1].code, "919461000000108");
    m = cse_record_find_marker(p.rec, ID(35));
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->code, "919461000000108");
    ck_assert_uint_eq(m->legacy.n, 1);
    ck_assert_str_eq(m->legacy.codings[0].code, "XaZ9Q");
    ck_assert_uint_eq(m->labels, 0);
    /* Its composition is non-consultation data, delivered as an encounter. */
    enc = cse_record_entry(p.rec, 4);
    ck_assert_int_eq(enc->kind, CSE_ENTRY_ENCOUNTER);
    ck_assert_str_eq(enc->code.codings[0].code, "196401000000100");
    ck_assert_str_eq(e->parent_id, enc->id);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_several_markers_on_one_child)
{
    struct probe p;
    cse_sink s;
    cse_error err;

    assert_read_ok(read_case("gp2gp/marker-states/input.xml", NULL, &p, &s, &err), &err);
    ck_assert_str_eq(cse_record_patient(p.rec)->nhs_number, "9990000042");
    ck_assert_uint_eq(cse_record_marker_count(p.rec), 3);
    ck_assert_str_eq(cse_record_marker(p.rec, 0)->entry_id, ID(31));
    ck_assert_str_eq(cse_record_marker(p.rec, 1)->entry_id, ID(33));
    ck_assert_str_eq(cse_record_marker(p.rec, 2)->entry_id, ID(35));
    ck_assert_uint_eq(p.sum_markers, 3);
    ck_assert_uint_eq(p.sum_entries, 6);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_candidates_carry_their_reasons)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_entry *e;

    assert_read_ok(read_case("gp2gp/candidates/input.xml", NULL, &p, &s, &err), &err);
    ck_assert_uint_eq(p.n, 6);
    ck_assert_int_eq(p.cls[1], CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(p.reason[1], CSE_CANDIDATE_DESCRIPTION_ID);
    ck_assert_int_eq(p.cls[2], CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(p.reason[2], CSE_CANDIDATE_LEGACY_ONLY);
    ck_assert_str_eq(cse_record_entry(p.rec, 2)->code.codings[0].system,
                     CSE_SYSTEM_READ2);
    ck_assert_int_eq(p.cls[3], CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(p.reason[3], CSE_CANDIDATE_DEGRADED);
    ck_assert_str_eq(cse_record_entry(p.rec, 3)->code.text,
                     "CSE risk marker (degraded in transfer)");
    /* A marker code with no date anywhere: kept, for review, never dropped. */
    ck_assert_int_eq(p.cls[4], CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(p.reason[4], CSE_CANDIDATE_DAMAGED);
    e = cse_record_entry(p.rec, 4);
    ck_assert_int_eq(e->effective_center.precision, CSE_TIME_NONE);
    ck_assert_int_eq(e->availability.precision, CSE_TIME_NONE);
    ck_assert_int_eq(p.cls[5], CSE_CLASS_NONE);
    ck_assert_str_eq(cse_record_entry(p.rec, 5)->value, "120 mm[Hg]");
    ck_assert_uint_eq(cse_record_marker_count(p.rec), 0);
    ck_assert_uint_eq(p.sum_candidates, 4);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_nesting_inherits_labels_and_parents)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    const cse_entry *e;
    static const struct {
        cse_entry_kind kind;
        const char *id, *parent;
        unsigned labels, inherited;
    } want[] = {
        {CSE_ENTRY_ENCOUNTER, ID(50), NULL, CSE_LABEL_NOPAT, 0},
        {CSE_ENTRY_COMPOUND, ID(51), ID(50), 0, CSE_LABEL_NOPAT},
        {CSE_ENTRY_COMPOUND, ID(52), ID(51), 0, CSE_LABEL_NOPAT},
        {CSE_ENTRY_ALLERGY, ID(53), ID(52), 0, CSE_LABEL_NOPAT},
        {CSE_ENTRY_COMPOUND, ID(54), ID(50), CSE_LABEL_NOPAT, CSE_LABEL_NOPAT},
        {CSE_ENTRY_OBSERVATION, ID(55), ID(54), 0, CSE_LABEL_NOPAT},
        {CSE_ENTRY_PROBLEM, ID(56), ID(50), 0, CSE_LABEL_NOPAT},
        {CSE_ENTRY_NARRATIVE, ID(57), ID(50), 0, CSE_LABEL_NOPAT},
        {CSE_ENTRY_ATTACHMENT, ID(58), ID(57), CSE_LABEL_NOPAT, CSE_LABEL_NOPAT},
    };

    assert_read_ok(read_case("gp2gp/nesting/input.xml", NULL, &p, &s, &err), &err);
    ck_assert_uint_eq(cse_record_entry_count(p.rec), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        e = cse_record_entry(p.rec, i);
        ck_assert_msg(e->kind == want[i].kind, "entry %zu kind %d", i, e->kind);
        ck_assert_str_eq(e->id, want[i].id);
        if (want[i].parent)
            ck_assert_str_eq(e->parent_id, want[i].parent);
        else
            ck_assert_ptr_null(e->parent_id);
        ck_assert_msg(e->labels == want[i].labels, "entry %zu labels %u", i, e->labels);
        ck_assert_msg(e->inherited_labels == want[i].inherited, "entry %zu inherited %u",
                      i, e->inherited_labels);
    }
    ck_assert_str_eq(cse_record_entry(p.rec, 1)->compound_class, "topic");
    ck_assert_str_eq(cse_record_entry(p.rec, 2)->compound_class, "category");
    ck_assert_str_eq(cse_record_entry(p.rec, 4)->compound_class, "battery");
    ck_assert_str_eq(cse_record_entry(p.rec, 5)->code.codings[0].system,
                     "urn:oid:2.16.840.1.113883.6.1");
    e = cse_record_entry(p.rec, 6);
    ck_assert_uint_eq(e->n_links, 2);
    ck_assert_str_eq(e->links[0], ID(55));
    ck_assert_str_eq(e->links[1], ID(53));
    e = cse_record_entry(p.rec, 7);
    ck_assert_uint_eq(e->code.n, 0);
    ck_assert_str_eq(e->code.text, "Letter received from the hospital.");
    e = cse_record_entry(p.rec, 8);
    ck_assert_str_eq(e->value, "file://localhost/" ID(58) "_letter.txt");
    ck_assert_str_eq(e->code.codings[0].code, "25821000000100");
    ck_assert_uint_eq(p.n_losses, 1);
    ck_assert_str_eq(p.loss_what[0], "ehrComposition/component/RegistrationStatement");
    ck_assert_uint_eq(p.loss_count[0], 1);
    ck_assert_int_eq(p.loss_line[0], 186);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_skeleton_without_fragments_names_them)
{
    struct probe p;
    cse_sink s;
    cse_error err;

    ck_assert_int_eq(read_case("gp2gp/skeleton/input.xml", NULL, &p, &s, &err),
                     CSE_ERR_NEEDS_FRAGMENTS);
    ck_assert_int_eq(err.code, CSE_ERR_NEEDS_FRAGMENTS);
    ck_assert_int_eq(err.line, 107);
    ck_assert_str_eq(err.path, "/RCMR_IN030000UK07/ControlActEvent/subject/EhrExtract/"
                               "component/ehrFolder/component/ehrComposition/component/"
                               "NarrativeStatement");
    ck_assert_ptr_nonnull(strstr(err.message, ID(70) ".xml"));
    ck_assert_int_eq(p.ends, 0);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_skeleton_reads_fragments_in_place)
{
    struct probe p;
    cse_sink s;
    cse_error err;
    char dir[1024];
    cse_gp2gp_read_options opt = {0};
    const cse_marker *m;

    fixture(dir, sizeof(dir), "gp2gp/skeleton/fragments");
    opt.fragments_dir = dir;
    assert_read_ok(read_case("gp2gp/skeleton/input.xml", &opt, &p, &s, &err), &err);
    /* The skeleton composition, then the fragment's composition and marker;
     * the fragment's agents were already known and are not repeated. */
    ck_assert_uint_eq(cse_record_entry_count(p.rec), 3);
    ck_assert_str_eq(cse_record_entry(p.rec, 0)->id, ID(71));
    ck_assert_str_eq(cse_record_entry(p.rec, 1)->id, ID(72));
    ck_assert_ptr_null(cse_record_entry(p.rec, 1)->parent_id);
    ck_assert_uint_eq(cse_record_agent_count(p.rec), 2);
    ck_assert_uint_eq(cse_record_marker_count(p.rec), 1);
    m = cse_record_marker(p.rec, 0);
    ck_assert_str_eq(m->entry_id, ID(73));
    ck_assert_uint_eq(m->labels, CSE_LABEL_NOPAT);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_missing_patient_id_names_path)
{
    struct probe p;
    cse_sink s;
    cse_error err;

    ck_assert_int_eq(
        read_case("hostile/gp2gp/missing-patient-id.xml", NULL, &p, &s, &err),
        CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path,
                     "/RCMR_IN030000UK07/ControlActEvent/subject/EhrExtract/recordTarget/"
                     "patient/id");
    ck_assert_int_eq(err.line, 30);
    ck_assert_ptr_nonnull(strstr(err.source, "missing-patient-id.xml"));
    ck_assert_int_eq(p.begins, 0);
    probe_free(&p);
}
END_TEST

static const char bare[] = "<EhrExtract xmlns=\"urn:hl7-org:v3\">\n"
                           " <component><ehrFolder><component><ehrComposition>\n"
                           "  <id root=\"C1\"/>\n"
                           "  <component><ObservationStatement><id root=\"O1\"/>"
                           "<code code=\"716565009\" "
                           "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\"/>"
                           "<effectiveTime><center value=\"20240301\"/></effectiveTime>"
                           "<availabilityTime value=\"20240301\"/>"
                           "<confidentialityCode code=\"NOPAT\"/>"
                           "</ObservationStatement></component>\n"
                           " </ehrComposition></component></ehrFolder></component>\n"
                           "</EhrExtract>\n";

START_TEST(test_gp2gp_read_text_across_input_slices_arrives_whole)
{
    /* The reader feeds libxml2 a slice at a time: an original text longer
     * than many slices, with references across their edges, and attribute
     * values with references arrive whole and decoded. */
    static const char head[] =
        "<EhrExtract xmlns=\"urn:hl7-org:v3\">\n"
        " <component><ehrFolder><component><ehrComposition>\n"
        "  <id root=\"C1\"/>\n"
        "  <component><ObservationStatement><id root=\"O1\"/>"
        "<code code=\"X1\" codeSystem=\"2.16.840.1.113883.2.1.6.3\" "
        "displayName=\"A &amp; B &lt;C&gt; caf&#233;\"><originalText>";
    static const char tail[] = "</originalText></code>"
                               "<availabilityTime value=\"20240301\"/>"
                               "</ObservationStatement></component>\n"
                               " </ehrComposition></component></ehrFolder></component>\n"
                               "</EhrExtract>\n";
    size_t reps = 20000, n = 0;
    char *xml = malloc(sizeof(head) + sizeof(tail) + reps * 16);
    struct probe p;
    cse_sink s;
    cse_error err = {0};
    const cse_entry *e;

    ck_assert_ptr_nonnull(xml);
    n += (size_t)sprintf(xml, "%s", head);
    for (size_t i = 0; i < reps; i++)
        n += (size_t)sprintf(xml + n, "ab&amp;&#67;d ");
    sprintf(xml + n, "%s", tail);
    probe_init(&p, &s);
    assert_read_ok(cse_gp2gp_read_memory(xml, strlen(xml), "long", NULL, &s, &err), &err);
    ck_assert_uint_eq(cse_record_entry_count(p.rec), 2);
    e = cse_record_entry(p.rec, 1);
    ck_assert_uint_eq(e->code.n, 1);
    ck_assert_str_eq(e->code.codings[0].display, "A & B <C> caf\xc3\xa9");
    ck_assert_ptr_nonnull(e->code.text);
    ck_assert_uint_eq(strlen(e->code.text), reps * 6 - 1);
    ck_assert(strncmp(e->code.text, "ab&Cd ab&Cd ", 12) == 0);
    ck_assert(strcmp(e->code.text + strlen(e->code.text) - 5, "ab&Cd") == 0);
    probe_free(&p);
    free(xml);
}
END_TEST

START_TEST(test_gp2gp_read_memory_reads_a_bare_extract)
{
    struct probe p;
    cse_sink s;
    cse_error err = {0};

    probe_init(&p, &s);
    assert_read_ok(cse_gp2gp_read_memory(bare, strlen(bare), "bare", NULL, &s, &err),
                   &err);
    ck_assert_int_eq(p.hl7_version, 0);
    ck_assert_uint_eq(cse_record_entry_count(p.rec), 2);
    ck_assert_uint_eq(cse_record_marker_count(p.rec), 1);
    ck_assert_uint_eq(cse_record_marker(p.rec, 0)->labels, CSE_LABEL_NOPAT);
    ck_assert_ptr_null(cse_record_patient(p.rec)->nhs_number);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_depth_cap_is_a_limit_error)
{
    struct probe p;
    cse_sink s;
    cse_error err = {0};
    cse_gp2gp_read_options opt = {0};

    opt.max_depth = 4;
    probe_init(&p, &s);
    ck_assert_int_eq(cse_gp2gp_read_memory(bare, strlen(bare), "bare", &opt, &s, &err),
                     CSE_ERR_LIMIT);
    ck_assert_str_eq(err.source, "bare");
    ck_assert_int_eq(err.line, 2);
    ck_assert_str_eq(err.path, "/EhrExtract/component/ehrFolder/component");
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_text_and_attribute_caps_are_limit_errors)
{
    static const char text[] = "<EhrExtract xmlns=\"urn:hl7-org:v3\">\n"
                               "<id>0123456789</id></EhrExtract>\n";
    struct probe p;
    cse_sink s;
    cse_error err = {0};
    cse_gp2gp_read_options opt = {0};

    opt.max_attr = 8;
    probe_init(&p, &s);
    ck_assert_int_eq(cse_gp2gp_read_memory(bare, strlen(bare), "bare", &opt, &s, &err),
                     CSE_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.message, "attribute 'code'"));
    ck_assert_int_eq(err.line, 4);
    probe_free(&p);

    memset(&opt, 0, sizeof(opt));
    memset(&err, 0, sizeof(err));
    opt.max_text = 4;
    probe_init(&p, &s);
    ck_assert_int_eq(cse_gp2gp_read_memory(text, strlen(text), "text", &opt, &s, &err),
                     CSE_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.message, "text node of 10 bytes"));
    ck_assert_str_eq(err.path, "/EhrExtract/id");
    ck_assert_int_eq(err.line, 2);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_sink_error_stops_the_reader)
{
    struct probe p;
    cse_sink s;
    cse_error err = {0};

    probe_init(&p, &s);
    p.fail_at = 2;
    ck_assert_int_eq(cse_gp2gp_read_memory(bare, strlen(bare), "bare", NULL, &s, &err),
                     CSE_ERR_IO);
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    ck_assert_int_eq(p.ends, 0);
    ck_assert_uint_eq(cse_record_entry_count(p.rec), 1);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_missing_file_is_an_io_error)
{
    struct probe p;
    cse_sink s;
    cse_error err = {0};

    probe_init(&p, &s);
    ck_assert_int_eq(cse_gp2gp_read_file("/nonexistent/extract.xml", NULL, &s, &err),
                     CSE_ERR_IO);
    ck_assert_str_eq(err.source, "/nonexistent/extract.xml");
    ck_assert_int_eq(cse_gp2gp_read_file("/nonexistent/extract.xml", NULL, &s, NULL),
                     CSE_ERR_IO);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_rejects_null_arguments)
{
    cse_error err = {0};
    ck_assert_int_eq(cse_gp2gp_read_file(NULL, NULL, NULL, &err), CSE_ERR_INVALID_ARG);
    ck_assert_int_eq(cse_gp2gp_read_memory(NULL, 0, NULL, NULL, NULL, NULL),
                     CSE_ERR_INVALID_ARG);
}
END_TEST

/* ---- Broken input: what the message says, and that stderr stays quiet ---- */

static cse_code read_text(const char *xml, size_t len, struct probe *p, cse_sink *s,
                          cse_error *err)
{
    probe_init(p, s);
    memset(err, 0, sizeof(*err));
    return cse_gp2gp_read_memory(xml, len, "case.xml", NULL, s, err);
}

START_TEST(test_gp2gp_read_empty_or_blank_document_says_no_element)
{
    static const char *const cases[] = {"", " \n\t\n\n"};
    struct probe p;
    cse_sink s;
    cse_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(read_text(cases[i], strlen(cases[i]), &p, &s, &err),
                         CSE_ERR_PARSE);
        ck_assert_str_eq(err.message, "empty document: no XML element found");
        ck_assert_str_eq(err.source, "case.xml");
        ck_assert_str_eq(err.path, "");
        ck_assert_int_eq(p.begins, 0);
        probe_free(&p);
    }
}
END_TEST

START_TEST(test_gp2gp_read_utf16_bom_before_utf8_says_no_element_or_encoding)
{
    static const char xml[] = "\xff\xfe<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<EhrExtract xmlns=\"urn:hl7-org:v3\"/>\n";
    struct probe p;
    cse_sink s;
    cse_error err;

    ck_assert_int_eq(read_text(xml, sizeof(xml) - 1, &p, &s, &err), CSE_ERR_PARSE);
    ck_assert_str_eq(err.message, "no XML element found (the file is empty, is not XML, "
                                  "or is in an unsupported encoding)");
    ck_assert_int_eq(err.line, 1);
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_truncated_document_says_truncated)
{
    /* bare, cut inside an attribute value on line 4. */
    size_t cut = (size_t)(strstr(bare, "\"O1\"") + 2 - bare);
    struct probe p;
    cse_sink s;
    cse_error err;

    ck_assert_int_eq(read_text(bare, cut, &p, &s, &err), CSE_ERR_PARSE);
    ck_assert_str_eq(err.message,
                     "not well-formed XML: AttValue: ' expected (truncated?)");
    ck_assert_int_eq(err.line, 4);
    ck_assert_str_eq(err.path, "/EhrExtract/component/ehrFolder/component/ehrComposition/"
                               "component/ObservationStatement");
    probe_free(&p);
}
END_TEST

START_TEST(test_gp2gp_read_encoding_errors_quote_no_bytes_and_print_nothing)
{
    /* Invalid UTF-8 in a statement's text: libxml2 adds "Bytes: 0xC3 0x28
     * ..." to its message. */
    static const char utf8[] =
        "<EhrExtract xmlns=\"urn:hl7-org:v3\">\n"
        "<component><ehrFolder><component><ehrComposition>\n"
        "<id root=\"C1\"/><component><NarrativeStatement>\n"
        "<text>Z\xc3\x28yx</text></NarrativeStatement></component>\n"
        "</ehrComposition></component></ehrFolder></component>\n"
        "</EhrExtract>\n";
    /* A declared encoding the bytes are not in: libxml2's converter reports
     * it without a parser, and prints the bytes to stderr by default. */
    static const char sjis[] = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n"
                               "<EhrExtract xmlns=\"urn:hl7-org:v3\">\x81\x20\xff\xff"
                               "</EhrExtract>\n";
    struct probe p;
    cse_sink s;
    cse_error err;
    struct quiet q;

    stderr_begin(&q);
    ck_assert_int_eq(read_text(utf8, sizeof(utf8) - 1, &p, &s, &err), CSE_ERR_PARSE);
    probe_free(&p);
    ck_assert_int_eq(stderr_end(&q), 0);
    ck_assert_str_eq(
        err.message,
        "not well-formed XML: Input is not proper UTF-8, indicate encoding !");
    ck_assert_int_eq(err.line, 4);

    stderr_begin(&q);
    ck_assert_int_eq(read_text(sjis, sizeof(sjis) - 1, &p, &s, &err), CSE_ERR_PARSE);
    probe_free(&p);
    ck_assert_int_eq(stderr_end(&q), 0);
    ck_assert_str_eq(err.message,
                     "not well-formed XML: input conversion failed due to input error");
    ck_assert_ptr_null(strstr(err.message, "0x"));
}
END_TEST

/* Copies test-fixtures/rel to dir/name. */
static void copy_fixture(const char *rel, const char *dir, const char *name)
{
    char from[1024], to[1024], buf[4096];
    FILE *in, *out;
    size_t n;

    fixture(from, sizeof(from), rel);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    ck_assert_ptr_nonnull(in = fopen(from, "rb"));
    ck_assert_ptr_nonnull(out = fopen(to, "wb"));
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

START_TEST(test_gp2gp_read_corrupt_gzip_fragment_is_named_and_quiet)
{
    static const struct {
        const char *file, *message;
    } cases[] = {
        {"fragment-truncated.gz",
         "corrupt or truncated gzip data (it ends before the gzip trailer)"},
        {"fragment-no-trailer.gz",
         "corrupt or truncated gzip data (it ends before the gzip trailer)"},
        {"fragment-isize-4g.gz",
         "corrupt or truncated gzip data (incorrect length check)"},
        {"fragment-bad-crc.gz", "corrupt or truncated gzip data (incorrect data check)"},
    };
    char dir[] = "/tmp/check-gp2gp-read.XXXXXX", name[1100], rel[256];
    cse_gp2gp_read_options opt = {0};
    struct probe p;
    cse_sink s;
    cse_error err;
    struct quiet q;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(name, sizeof(name), "%s/" ID(70) ".gz", dir);
    opt.fragments_dir = dir;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(rel, sizeof(rel), "hostile/common/%s", cases[i].file);
        copy_fixture(rel, dir, ID(70) ".gz");
        stderr_begin(&q);
        ck_assert_int_eq(read_case("gp2gp/skeleton/input.xml", &opt, &p, &s, &err),
                         CSE_ERR_PARSE);
        ck_assert_int_eq(stderr_end(&q), 0);
        ck_assert_str_eq(err.message, cases[i].message);
        ck_assert_str_eq(err.source, name);
        ck_assert_int_eq(err.line, 0);
        ck_assert_str_eq(err.path, "");
        ck_assert_int_eq(p.ends, 0);
        probe_free(&p);
    }
    /* The intact fragment, gzip too, reads. */
    copy_fixture("hostile/common/fragment-valid.gz", dir, ID(70) ".gz");
    assert_read_ok(read_case("gp2gp/skeleton/input.xml", &opt, &p, &s, &err), &err);
    ck_assert_uint_eq(cse_record_marker_count(p.rec), 1);
    probe_free(&p);
    unlink(name);
    rmdir(dir);
}
END_TEST

Suite *make_gp2gp_read_suite(void)
{
    Suite *s = suite_create("gp2gp_read");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_gp2gp_read_uk07_marker_with_nopat_and_annotation);
    tcase_add_test(tc, test_gp2gp_read_uk06_marker_without_nopat_has_no_label);
    tcase_add_test(tc, test_gp2gp_read_ended_marker_has_end_date_and_reason);
    tcase_add_test(tc, test_gp2gp_read_entered_in_error_comes_from_annotation);
    tcase_add_test(tc, test_gp2gp_read_marker_code_only_in_translation);
    tcase_add_test(tc, test_gp2gp_read_several_markers_on_one_child);
    tcase_add_test(tc, test_gp2gp_read_candidates_carry_their_reasons);
    tcase_add_test(tc, test_gp2gp_read_nesting_inherits_labels_and_parents);
    tcase_add_test(tc, test_gp2gp_read_skeleton_without_fragments_names_them);
    tcase_add_test(tc, test_gp2gp_read_skeleton_reads_fragments_in_place);
    tcase_add_test(tc, test_gp2gp_read_missing_patient_id_names_path);
    tcase_add_test(tc, test_gp2gp_read_memory_reads_a_bare_extract);
    tcase_add_test(tc, test_gp2gp_read_text_across_input_slices_arrives_whole);
    tcase_add_test(tc, test_gp2gp_read_depth_cap_is_a_limit_error);
    tcase_add_test(tc, test_gp2gp_read_text_and_attribute_caps_are_limit_errors);
    tcase_add_test(tc, test_gp2gp_read_sink_error_stops_the_reader);
    tcase_add_test(tc, test_gp2gp_read_missing_file_is_an_io_error);
    tcase_add_test(tc, test_gp2gp_read_rejects_null_arguments);
    tcase_add_test(tc, test_gp2gp_read_empty_or_blank_document_says_no_element);
    tcase_add_test(tc, test_gp2gp_read_utf16_bom_before_utf8_says_no_element_or_encoding);
    tcase_add_test(tc, test_gp2gp_read_truncated_document_says_truncated);
    tcase_add_test(tc, test_gp2gp_read_encoding_errors_quote_no_bytes_and_print_nothing);
    tcase_add_test(tc, test_gp2gp_read_corrupt_gzip_fragment_is_named_and_quiet);
    suite_add_tcase(s, tc);
    return s;
}
