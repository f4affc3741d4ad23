/* SPDX-License-Identifier: MIT */
/* The GP2GP writer: the skeleton, the marker statement and its NOPAT, codes,
 * compositions, UK06, stable ids, and the schema validator's reports. Each
 * extract is parsed back with libxml2 and checked with XPath. */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <csemarker/gp2gp.h>

#include "testutil.h"

#define MARKER_UUID "6F1C2E3A-7B4D-4E5F-8A9B-0C1D2E3F4A51"
#define GP_ID "Practitioner/gp1"

/* A small record: a practitioner, an encounter holding a marker and an
 * observation, and a problem outside any encounter. */
static cse_record *sample(bool marker, bool ended)
{
    cse_record *r = cse_record_new();
    cse_patient *p = cse_record_patient(r);
    cse_agent *gp = cse_agent_new(CSE_AGENT_PERSON, GP_ID);
    cse_entry *enc = cse_entry_new(CSE_ENTRY_ENCOUNTER, "Encounter/e1");
    cse_entry *obs = cse_entry_new(CSE_ENTRY_OBSERVATION, "Observation/bp1");
    cse_entry *prob = cse_entry_new(CSE_ENTRY_PROBLEM, "Condition/asthma");
    cse_time start = test_day(2025, 3, 14), end = test_day(2025, 6, 1);

    cse_strset(&p->nhs_number, "9990010005");
    cse_strset(&p->ods, "A99001");
    cse_strset(&gp->name, "Sam Doctor");
    cse_record_add_agent(r, gp);
    enc->effective_low = start;
    cse_strset(&enc->author_ref, GP_ID);
    cse_concept_add(&enc->code, CSE_SYSTEM_SNOMED, "185317003", "Telephone encounter");
    cse_record_add_entry(r, enc);
    cse_strset(&obs->parent_id, "Encounter/e1");
    cse_strset(&obs->author_ref, "Practitioner/unknown");
    cse_concept_set_text(&obs->code, "Weight");
    obs->effective_center = start;
    cse_record_add_entry(r, obs);
    cse_concept_add(&prob->code, CSE_SYSTEM_SNOMED, "195967001", "Asthma");
    prob->effective_low = test_day(2019, 6, 1);
    if (marker) {
        cse_marker *m = cse_marker_new("716565009", &start, NULL, 0, MARKER_UUID, NULL);
        cse_entry *me;
        cse_concept_add(&m->legacy, CSE_SYSTEM_READ2, "ZV4K000", NULL);
        cse_strset(&m->author_id, GP_ID);
        if (ended)
            cse_marker_end(m, &end, CSE_END_NO_LONGER_AT_RISK, NULL);
        me = cse_marker_to_entry(m);
        cse_strset(&me->parent_id, "Encounter/e1");
        cse_strset(&m->entry_id, me->id);
        cse_record_add_entry(r, me);
        cse_record_add_marker(r, m);
    }
    /* After the marker, so the marker shares the encounter with the weight. */
    cse_record_add_entry(r, prob);
    return r;
}

/* Writes the record; returns the XML (caller frees) or NULL with err set. */
static char *write_record(cse_record *r, const cse_gp2gp_write_options *opt,
                          cse_error *err, cse_code *rc_out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cse_extract_info info = {0};
    cse_sink *s;
    cse_code rc;

    info.patient = cse_record_patient(r);
    info.author_ods = "A99001";
    info.availability = test_day(2025, 4, 1);
    cse_error_clear(err);
    s = cse_gp2gp_writer_new(f, opt, err);
    ck_assert_ptr_nonnull(s);
    rc = cse_record_replay(r, &info, s, err);
    cse_sink_free(s);
    fclose(f);
    *rc_out = rc;
    if (rc != CSE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

typedef struct xdoc {
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
} xdoc;

static xdoc parse(const char *xml)
{
    xdoc d;
    d.doc = xmlReadMemory(xml, (int)strlen(xml), "out.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(d.doc);
    d.ctx = xmlXPathNewContext(d.doc);
    xmlXPathRegisterNs(d.ctx, BAD_CAST "h", BAD_CAST "urn:hl7-org:v3");
    return d;
}

static void done(xdoc *d)
{
    xmlXPathFreeContext(d->ctx);
    xmlFreeDoc(d->doc);
}

static double num(xdoc *d, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, d->ctx);
    double v;
    ck_assert_msg(o != NULL, "bad XPath %s", expr);
    v = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return v;
}

/* The string value of expr (caller frees). */
static char *str(xdoc *d, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, d->ctx);
    xmlChar *s;
    char *r;
    ck_assert_msg(o != NULL, "bad XPath %s", expr);
    s = xmlXPathCastToString(o);
    r = strdup((const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    return r;
}

#define ASSERT_STR(d, expr, want)                                                        \
    do {                                                                                 \
        char *got_ = str(d, expr);                                                       \
        ck_assert_msg(strcmp(got_, want) == 0, "%s: got '%s', want '%s'", expr, got_,    \
                      want);                                                             \
        free(got_);                                                                      \
    } while (0)
#define ASSERT_NUM(d, expr, want)                                                        \
    ck_assert_msg(num(d, expr) == (want), "%s: got %g, want %g", expr, num(d, expr),     \
                  (double)(want))

#define EX "/h:RCMR_IN030000UK07/h:ControlActEvent/h:subject/h:EhrExtract"
#define FOLDER EX "/h:component/h:ehrFolder"
#define MARKER_STMT "//h:ObservationStatement[h:id/@root='" MARKER_UUID "']"

/* What a test writes: the sample record with a marker (ended or not), as
 * UK07 or UK06, to receiver B99002 unless NO_RECEIVER. */
enum { MARKER = 1, ENDED = 2, UK06 = 4, NO_RECEIVER = 8 };

static cse_gp2gp_write_options options(unsigned flags)
{
    cse_gp2gp_write_options opt = {0};

    if (!(flags & NO_RECEIVER))
        opt.receiver_ods = "B99002";
    opt.uk06 = (flags & UK06) != 0;
    return opt;
}

/* A written extract parsed back, with the record it came from. */
typedef struct written {
    cse_record *r;
    char *xml;
    xdoc d;
} written;

/* Writes the sample record as flags say, which must succeed, and parses it. */
static written write_ok(unsigned flags)
{
    cse_gp2gp_write_options opt = options(flags);
    cse_error err;
    cse_code rc;
    written w;

    w.r = sample(flags & MARKER, flags & ENDED);
    w.xml = write_record(w.r, &opt, &err, &rc);
    ck_assert_int_eq(rc, CSE_OK);
    ck_assert_ptr_nonnull(w.xml);
    w.d = parse(w.xml);
    return w;
}

static void written_free(written *w)
{
    done(&w->d);
    free(w->xml);
    cse_record_free(w->r);
}

/* Writes the sample record as flags say, which must fail; returns the code,
 * with the error in err. */
static cse_code write_fails(unsigned flags, cse_error *err)
{
    cse_gp2gp_write_options opt = options(flags);
    cse_record *r = sample(flags & MARKER, flags & ENDED);
    cse_code rc;

    ck_assert_ptr_null(write_record(r, &opt, err, &rc));
    cse_record_free(r);
    return rc;
}

/* Replaces the file at path with text. */
static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_gp2gp_write_skeleton)
{
    written w = write_ok(MARKER);
    xdoc *d = &w.d;

    ASSERT_STR(d, "/h:RCMR_IN030000UK07/h:interactionId/@extension", "RCMR_IN030000UK07");
    ASSERT_STR(d, EX "/h:statusCode/@code", "COMPLETE");
    ASSERT_STR(d, EX "/h:availabilityTime/@value", "20250401");
    ASSERT_STR(d, EX "/h:recordTarget/h:patient/h:id/@root", "2.16.840.1.113883.2.1.4.1");
    ASSERT_STR(d, EX "/h:recordTarget/h:patient/h:id/@extension", "9990010005");
    ASSERT_STR(d, EX "/h:author/h:AgentOrgSDS/h:agentOrganizationSDS/h:id/@root",
               "1.2.826.0.1285.0.1.10");
    ASSERT_STR(d, EX "/h:author/h:AgentOrgSDS/h:agentOrganizationSDS/h:id/@extension",
               "A99001");
    ASSERT_STR(d,
               EX "/h:destination/h:AgentOrgSDS/h:agentOrganizationSDS/h:id/@extension",
               "B99002");
    ASSERT_NUM(d, "count(" FOLDER "/h:responsibleParty/h:agentDirectory/h:part/h:Agent)",
               2);
    /* The marker shares its encounter with the weight: it goes into a
     * composition of its own with the encounter's code and a new id; the
     * problem, outside any encounter, into one of its own. */
    ASSERT_NUM(d, "count(" FOLDER "/h:component/h:ehrComposition)", 3);
    ASSERT_NUM(d, "count(//h:ehrComposition[h:code/@code='185317003'])", 2);
    ASSERT_STR(d,
               "string(//h:ehrComposition[h:code/@code='185317003'][1]/h:id/@root = "
               "//h:ehrComposition[h:code/@code='185317003'][2]/h:id/@root)",
               "false");
    ASSERT_NUM(d, "count(" EX "/h:inFulfillmentOf/h:priorEhrRequest/h:id)", 1);
    ASSERT_STR(d, EX "/h:limitation/h:limitingEhrExtractSpecification/h:code/@code",
               "37241000000102");
    /* Every id root that is not an OID is an upper-case UUID. */
    ASSERT_NUM(d,
               "count(//h:id[not(contains(@root, '.'))][string-length(@root) != 36 or "
               "translate(@root, '0123456789ABCDEF-', '') != ''])",
               0);
    /* Every agentRef resolves; an unknown author falls back to the practice. */
    ASSERT_NUM(d,
               "count(//h:agentRef[not(h:id/@root = //h:agentDirectory/h:part/h:Agent/"
               "h:id/@root)])",
               0);
    /* Each statement's participant, and each composition's author and
     * performer (Participant2). */
    ASSERT_NUM(d, "count(//h:agentRef)", 10);
    written_free(&w);
}
END_TEST

START_TEST(test_gp2gp_write_marker_statement_nopat)
{
    written w = write_ok(MARKER);
    xdoc *d = &w.d;
    char ann[512];

    ASSERT_NUM(d, "count(" MARKER_STMT ")", 1);
    ASSERT_STR(d, MARKER_STMT "/h:code/@code", "716565009");
    ASSERT_STR(d, MARKER_STMT "/h:code/@codeSystem", "2.16.840.1.113883.2.1.3.2.4.15");
    ASSERT_STR(d, MARKER_STMT "/h:code/h:translation/@code", "ZV4K000");
    ASSERT_STR(d, MARKER_STMT "/h:code/h:translation/@codeSystem",
               "2.16.840.1.113883.2.1.6.2");
    ASSERT_STR(d, MARKER_STMT "/h:effectiveTime/h:center/@value", "20250314");
    /* NOPAT right after availabilityTime, exactly as DESIGN.md section 4. */
    ASSERT_STR(
        d, "local-name(" MARKER_STMT "/h:confidentialityCode/preceding-sibling::*[1])",
        "availabilityTime");
    ASSERT_STR(d, MARKER_STMT "/h:confidentialityCode/@code", "NOPAT");
    ASSERT_STR(d, MARKER_STMT "/h:confidentialityCode/@codeSystem",
               "2.16.840.1.113883.4.642.3.47");
    ASSERT_STR(d, MARKER_STMT "/h:confidentialityCode/@displayName",
               "no disclosure to patient, family or caregivers without attending "
               "provider's authorization");
    /* ... and on the composition that holds it, but not on the other one. */
    ASSERT_STR(d, MARKER_STMT "/ancestor::h:ehrComposition/h:confidentialityCode/@code",
               "NOPAT");
    ASSERT_STR(d,
               "local-name(" MARKER_STMT "/ancestor::h:ehrComposition/"
               "h:confidentialityCode/preceding-sibling::*[1])",
               "availabilityTime");
    ASSERT_NUM(d, "count(//h:ehrComposition/h:confidentialityCode)", 1);
    ASSERT_NUM(d, "count(//h:confidentialityCode)", 2);
    /* The marker shared its encounter with a weight: it is written in a
     * composition of its own (the encounter's code and time), and the
     * weight's composition stays unlabelled so the weight stays visible to
     * the patient at the receiving practice (DESIGN.md section 4 rule 2). */
    ASSERT_NUM(d,
               "count(" MARKER_STMT "/ancestor::h:ehrComposition/h:component/*"
               "[not(h:code/@code='716565009')])",
               0);
    ASSERT_STR(d, MARKER_STMT "/ancestor::h:ehrComposition/h:code/@code", "185317003");
    ASSERT_NUM(d,
               "count(//h:ObservationStatement[h:code/h:originalText='Weight']/"
               "ancestor::h:ehrComposition/h:confidentialityCode)",
               0);
    ASSERT_STR(d,
               "//h:ObservationStatement[h:code/h:originalText='Weight']/"
               "ancestor::h:ehrComposition/h:code/@code",
               "185317003");
    cse_marker_annotation_format(cse_record_marker(w.r, 0), ann, sizeof(ann));
    ASSERT_STR(d, MARKER_STMT "/h:pertinentInformation/h:pertinentAnnotation/h:text",
               ann);
    ASSERT_STR(d,
               "string(" MARKER_STMT "/h:Participant/h:agentRef/h:id/@root = "
               "//h:Agent[h:agentPerson/h:name/h:family='Sam Doctor']/h:id/@root)",
               "true");
    written_free(&w);
}
END_TEST

START_TEST(test_gp2gp_write_ended_marker_interval)
{
    written w = write_ok(MARKER | ENDED);
    xdoc *d = &w.d;

    ASSERT_STR(d, MARKER_STMT "/h:effectiveTime/h:low/@value", "20250314");
    ASSERT_STR(d, MARKER_STMT "/h:effectiveTime/h:high/@value", "20250601");
    ASSERT_NUM(d, "count(" MARKER_STMT "/h:effectiveTime/h:center)", 0);
    ASSERT_STR(d,
               "contains(" MARKER_STMT "/h:pertinentInformation/h:pertinentAnnotation/"
               "h:text, 'end-reason: no-longer-at-risk')",
               "true");
    written_free(&w);
}
END_TEST

START_TEST(test_gp2gp_write_codes_and_compositions)
{
    written w = write_ok(0);
    xdoc *d = &w.d;

    /* No SNOMED code: nullFlavor UNK with the original text. */
    ASSERT_STR(d,
               "//h:ObservationStatement[h:code/h:originalText='Weight']/h:code/"
               "@nullFlavor",
               "UNK");
    /* The problem: a LinkSet naming an ObservationStatement, outside any
     * encounter, so in a non-consultation composition. */
    ASSERT_STR(d, "//h:LinkSet/h:code/@code", "394774009");
    ASSERT_STR(d,
               "//h:ObservationStatement[h:id/@root = //h:LinkSet/h:conditionNamed/"
               "h:namedStatementRef/h:id/@root]/h:code/@code",
               "195967001");
    ASSERT_STR(d, "//h:LinkSet/ancestor::h:ehrComposition/h:code/@code",
               "109341000000100"); /* a problem: as the sending adaptor codes it */
    ASSERT_STR(d,
               "//h:ehrComposition[h:code/@code='185317003']/h:effectiveTime/h:low/"
               "@value",
               "20250314");
    ASSERT_NUM(d, "count(//h:confidentialityCode)", 0);
    written_free(&w);
}
END_TEST

START_TEST(test_gp2gp_write_uk06_refuses_labels)
{
    cse_error err;

    ck_assert_int_eq(write_fails(MARKER | UK06, &err), CSE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "UK06 cannot carry it"));
}
END_TEST

START_TEST(test_gp2gp_write_uk06_without_labels)
{
    written w = write_ok(UK06);

    ASSERT_STR(&w.d, "local-name(/*)", "RCMR_IN030000UK06");
    ASSERT_STR(&w.d, "/*/h:interactionId/@extension", "RCMR_IN030000UK06");
    written_free(&w);
}
END_TEST

START_TEST(test_gp2gp_write_stable_ids)
{
    written w = write_ok(MARKER);
    cse_gp2gp_write_options opt = options(MARKER);
    cse_error err;
    cse_code rc;
    char *again = write_record(w.r, &opt, &err, &rc);

    ck_assert_ptr_nonnull(again);
    ck_assert_str_eq(w.xml, again);
    /* A UUID id is kept; "Encounter/e1" is derived. */
    ASSERT_NUM(&w.d, "count(" MARKER_STMT ")", 1);
    ASSERT_NUM(&w.d, "count(//h:ehrComposition/h:id[@root='Encounter/e1'])", 0);
    free(again);
    written_free(&w);
}
END_TEST

START_TEST(test_gp2gp_write_needs_receiver)
{
    cse_gp2gp_write_options opt = options(NO_RECEIVER);
    cse_error err;

    ck_assert_int_eq(write_fails(NO_RECEIVER, &err), CSE_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "--receiver"));
    opt.message_id = "not-a-uuid";
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_gp2gp_writer_new(stdout, &opt, &err));
    ck_assert_int_eq(err.code, CSE_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_gp2gp_write_validate_reports_line_and_path)
{
    char dir[512], path[600];
    cse_error err;

    /* A tiny schema of our own standing in for the NHS one. */
    snprintf(dir, sizeof(dir), "%s/test-fixtures/fhir/schema", test_srcdir());
    snprintf(path, sizeof(path), "%s/cse-validate-test.xml",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    put_file(path,
             "<?xml version=\"1.0\"?>\n<RCMR_IN030000UK07 xmlns=\"urn:hl7-org:v3\">\n"
             "  <id root=\"ABC\"/>\n  <value>9990010005 Alex</value>\n"
             "</RCMR_IN030000UK07>\n");
    cse_error_clear(&err);
    ck_assert_int_eq(cse_gp2gp_validate_file(path, dir, &err), CSE_ERR_SCHEMA);
    ck_assert_int_eq(err.line, 4);
    ck_assert_str_eq(err.path, "/*/*[2]");
    ck_assert_ptr_null(strstr(err.message, "9990010005"));
    ck_assert_ptr_null(strstr(err.message, "Alex"));
    put_file(path, "<RCMR_IN030000UK07 xmlns=\"urn:hl7-org:v3\"><id root=\"ABC\"/>"
                   "<value>1</value></RCMR_IN030000UK07>\n");
    cse_error_clear(&err);
    ck_assert_int_eq(cse_gp2gp_validate_file(path, dir, &err), CSE_OK);
    put_file(path, "<Other/>\n");
    ck_assert_int_eq(cse_gp2gp_validate_file(path, dir, &err), CSE_ERR_STRUCTURE);
    remove(path);
}
END_TEST

/* Adds an entry with a text code under parent; a compound when cls is given
 * (an empty string: a compound of no known class). */
static void add_nested(cse_record *r, cse_entry_kind kind, const char *id,
                       const char *parent, const char *cls, const char *text)
{
    cse_entry *e = cse_entry_new(kind, id);
    cse_strset(&e->parent_id, parent);
    if (cls)
        cse_strset(&e->compound_class, *cls ? cls : NULL);
    cse_concept_set_text(&e->code, text);
    e->effective_center = test_day(2025, 3, 14);
    cse_strset(&e->author_ref, GP_ID);
    cse_record_add_entry(r, e);
}

/* Compounds are written with their components inside them, to any depth:
 * a battery in a topic, a component of a compound of no known class in the
 * compound around that one, a compound that ends when an entry outside it
 * arrives, and an empty one given the component the schema needs. */
START_TEST(test_gp2gp_write_compounds_nest)
{
    cse_gp2gp_write_options opt = options(0);
    cse_record *r = sample(false, false);
    cse_error err;
    cse_code rc;
    char *xml;
    xdoc d;

    add_nested(r, CSE_ENTRY_COMPOUND, "topic", "Encounter/e1", "topic", "Topic");
    add_nested(r, CSE_ENTRY_COMPOUND, "bat", "topic", "battery", "Battery");
    add_nested(r, CSE_ENTRY_OBSERVATION, "o1", "bat", NULL, "One");
    add_nested(r, CSE_ENTRY_COMPOUND, "flat", "bat", "", "Flat");
    add_nested(r, CSE_ENTRY_OBSERVATION, "o2", "flat", NULL, "Two");
    add_nested(r, CSE_ENTRY_OBSERVATION, "o3", "topic", NULL, "Three");
    add_nested(r, CSE_ENTRY_COMPOUND, "empty", "Encounter/e1", "cluster", "Empty");
    add_nested(r, CSE_ENTRY_OBSERVATION, "o4", "Encounter/e1", NULL, "Four");
    xml = write_record(r, &opt, &err, &rc);
    ck_assert_int_eq(rc, CSE_OK);
    d = parse(xml);
#define COMP "//h:ehrComposition/h:component"
#define TOPIC                                                                            \
    COMP "/h:CompoundStatement[@classCode='TOPIC'][h:code/h:originalText='Topic']"
#define BAT                                                                              \
    TOPIC "/h:component[@contextConductionInd='true']/"                                  \
          "h:CompoundStatement[@classCode='BATTERY']"
    ASSERT_NUM(&d, "count(" TOPIC ")", 1);
    ASSERT_NUM(&d, "count(" BAT ")", 1);
    ASSERT_NUM(&d, "count(" BAT "/h:component/h:ObservationStatement)", 2);
    ASSERT_NUM(&d,
               "count(" BAT
               "/h:component/h:ObservationStatement[h:code/h:originalText='Two'])",
               1);
    ASSERT_NUM(&d, "count(" TOPIC "/h:component/h:ObservationStatement)", 1);
    ASSERT_STR(
        &d, "string(" TOPIC "/h:component/h:ObservationStatement/h:code/h:originalText)",
        "Three");
    /* The battery's performer follows its components. */
    ASSERT_NUM(&d, "count(" BAT "/h:Participant/preceding-sibling::h:component)", 2);
    ASSERT_NUM(&d, "count(//h:CompoundStatement[h:code/h:originalText='Flat'])", 0);
    ASSERT_NUM(
        &d,
        "count(" COMP
        "/h:CompoundStatement[@classCode='CLUSTER']/h:component/h:NarrativeStatement)",
        1);
    ASSERT_NUM(&d, "count(" COMP "/h:ObservationStatement[h:code/h:originalText='Four'])",
               1);
    ASSERT_NUM(&d, "count(" COMP "[@contextConductionInd])", 0);
#undef BAT
#undef TOPIC
#undef COMP
    done(&d);
    free(xml);
    cse_record_free(r);
}
END_TEST

/* Compounds are nested, not flattened: a topic holding a category holding an
 * observation, then a note back in the topic, an empty compound (which gets
 * a placeholder, as the schema needs a component), and a statement straight
 * in the composition. */
START_TEST(test_gp2gp_write_nests_compounds)
{
    cse_record *r = cse_record_new();
    cse_gp2gp_write_options opt = options(0);
    const char *ids[][4] = {
        /* kind, id, parent, class */
        {"E", "Encounter/n1", NULL, NULL},
        {"C", "Topic/t1", "Encounter/n1", "topic"},
        {"C", "Cat/c1", "Topic/t1", "category"},
        {"O", "Obs/o1", "Cat/c1", NULL},
        {"N", "Note/n1", "Topic/t1", NULL},
        {"C", "Cluster/empty", "Encounter/n1", "cluster"},
        {"O", "Obs/top", "Encounter/n1", NULL},
    };
    cse_error err;
    cse_code rc;
    char *xml;
    xdoc d;

    cse_strset(&cse_record_patient(r)->nhs_number, "9990010005");
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        cse_entry_kind k = ids[i][0][0] == 'E'   ? CSE_ENTRY_ENCOUNTER
                           : ids[i][0][0] == 'C' ? CSE_ENTRY_COMPOUND
                           : ids[i][0][0] == 'N' ? CSE_ENTRY_NARRATIVE
                                                 : CSE_ENTRY_OBSERVATION;
        cse_entry *e = cse_entry_new(k, ids[i][1]);
        cse_strset(&e->parent_id, ids[i][2]);
        cse_strset(&e->compound_class, ids[i][3]);
        cse_concept_set_text(&e->code, ids[i][1]);
        e->effective_center = test_day(2025, 3, 14);
        cse_record_add_entry(r, e);
    }
    xml = write_record(r, &opt, &err, &rc);
    ck_assert_int_eq(rc, CSE_OK);
    d = parse(xml);
#define TOPIC "//h:ehrComposition/h:component/h:CompoundStatement[@classCode='TOPIC']"
    ASSERT_NUM(&d, "count(" TOPIC ")", 1);
    ASSERT_STR(&d,
               TOPIC
               "/h:component/h:CompoundStatement[@classCode='CATEGORY']/h:component/"
               "h:ObservationStatement/h:code/h:originalText",
               "Obs/o1");
    ASSERT_NUM(&d, "count(" TOPIC "/h:component/h:NarrativeStatement)", 1);
    ASSERT_NUM(&d,
               "count(//h:ehrComposition/h:component/h:CompoundStatement"
               "[@classCode='CLUSTER']/h:component/h:NarrativeStatement)",
               1);
    ASSERT_STR(
        &d, "//h:ehrComposition/h:component/h:ObservationStatement/h:code/h:originalText",
        "Obs/top");
    ASSERT_NUM(&d, "count(//h:ehrComposition)", 1);
#undef TOPIC
    done(&d);
    free(xml);
    cse_record_free(r);
}
END_TEST

/* Entries that came with no id (a compound, a statement) get ids derived
 * from the patient, their container and their place: the same record gives
 * the same extract every time, and two such entries different ids. */
START_TEST(test_gp2gp_write_no_id_is_stable)
{
    cse_gp2gp_write_options opt = options(0);
    cse_record *r = sample(false, false);
    cse_error err;
    cse_code rc;
    char *one, *two;
    xdoc d;

    add_nested(r, CSE_ENTRY_COMPOUND, NULL, "Encounter/e1", "battery", "Blood pressure");
    add_nested(r, CSE_ENTRY_COMPOUND, NULL, "Encounter/e1", "cluster", "Cholesterol");
    add_nested(r, CSE_ENTRY_OBSERVATION, NULL, "Encounter/e1", NULL, "Systolic");
    add_nested(r, CSE_ENTRY_OBSERVATION, NULL, "Encounter/e1", NULL, "Diastolic");
    one = write_record(r, &opt, &err, &rc);
    ck_assert_int_eq(rc, CSE_OK);
    two = write_record(r, &opt, &err, &rc);
    ck_assert_int_eq(rc, CSE_OK);
    ck_assert_str_eq(one, two);
    d = parse(one);
    ASSERT_NUM(&d, "count(//h:CompoundStatement[@classCode='BATTERY'])", 1);
    ASSERT_NUM(&d, "count(//h:CompoundStatement[@classCode='CLUSTER'])", 1);
    ASSERT_NUM(&d, "count(//h:ObservationStatement)", 4); /* the problem names one */
    ASSERT_NUM(
        &d,
        "count((//h:ObservationStatement|//h:CompoundStatement|//h:NarrativeStatement)"
        "/h:id[@root=preceding::h:id/@root])",
        0);
    done(&d);
    free(one);
    free(two);
    cse_record_free(r);
}
END_TEST

/* n encounters, then one observation for encounter k (1-based). */
static cse_record *late_entry(int n, int k)
{
    cse_record *r = cse_record_new();
    cse_patient *p = cse_record_patient(r);
    char id[32];

    cse_strset(&p->nhs_number, "9990010005");
    cse_strset(&p->ods, "A99001");
    for (int i = 1; i <= n; i++) {
        cse_entry *enc;
        snprintf(id, sizeof(id), "Encounter/e%d", i);
        enc = cse_entry_new(CSE_ENTRY_ENCOUNTER, id);
        enc->effective_low = test_day(2025, 3, 14);
        cse_concept_add(&enc->code, CSE_SYSTEM_SNOMED, "185317003",
                        "Telephone encounter");
        cse_record_add_entry(r, enc);
    }
    snprintf(id, sizeof(id), "Encounter/e%d", k);
    add_nested(r, CSE_ENTRY_OBSERVATION, "Observation/late", id, NULL, "Weight");
    return r;
}

/* The writer keeps the last 64 encounters' headers (its memory does not
 * grow with the record): an entry for one of them comes in a continuation
 * composition; one for an older encounter is refused, not written outside
 * its consultation. */
START_TEST(test_gp2gp_write_keeps_last_64_encounters)
{
    cse_gp2gp_write_options opt = options(0);
    cse_record *r = late_entry(70, 7);
    cse_error err;
    cse_code rc;
    char *xml = write_record(r, &opt, &err, &rc);

    ck_assert_int_eq(rc, CSE_OK);
    ck_assert_ptr_nonnull(strstr(xml, "Weight"));
    free(xml);
    cse_record_free(r);

    r = late_entry(70, 6);
    xml = write_record(r, &opt, &err, &rc);
    ck_assert_ptr_null(xml);
    ck_assert_int_eq(rc, CSE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(err.message, "keeps the last 64"));
    cse_record_free(r);
}
END_TEST

Suite *make_gp2gp_write_suite(void)
{
    Suite *s = suite_create("gp2gp_write");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_gp2gp_write_skeleton);
    tcase_add_test(tc, test_gp2gp_write_marker_statement_nopat);
    tcase_add_test(tc, test_gp2gp_write_ended_marker_interval);
    tcase_add_test(tc, test_gp2gp_write_codes_and_compositions);
    tcase_add_test(tc, test_gp2gp_write_uk06_refuses_labels);
    tcase_add_test(tc, test_gp2gp_write_uk06_without_labels);
    tcase_add_test(tc, test_gp2gp_write_stable_ids);
    tcase_add_test(tc, test_gp2gp_write_needs_receiver);
    tcase_add_test(tc, test_gp2gp_write_validate_reports_line_and_path);
    tcase_add_test(tc, test_gp2gp_write_nests_compounds);
    tcase_add_test(tc, test_gp2gp_write_compounds_nest);
    tcase_add_test(tc, test_gp2gp_write_no_id_is_stable);
    tcase_add_test(tc, test_gp2gp_write_keeps_last_64_encounters);
    suite_add_tcase(s, tc);
    return s;
}
