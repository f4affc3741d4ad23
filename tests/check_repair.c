/* SPDX-License-Identifier: MIT */
/* The repair pass: NOPAT placement, code promotion, UK06 -> UK07, candidates,
 * pass-through, and refusal of bad input. Outputs are parsed back with libxml2
 * and checked with XPath. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "testutil.h"

#define SCT "2.16.840.1.113883.2.1.3.2.4.15"
#define NOPAT_ATTRS                                                                      \
    "code=\"NOPAT\" codeSystem=\"2.16.840.1.113883.4.642.3.47\" "                        \
    "displayName=\"no disclosure to patient, family or caregivers without "              \
    "attending provider's authorization\""

/* A composition holding the given statements, in a bare EhrExtract. */
#define EXTRACT(root_open, root_close, comp_extra, body)                                 \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" root_open "\n"                        \
    "<component><ehrFolder><component>\n"                                                \
    "<ehrComposition>\n"                                                                 \
    "<id root=\"C0000000-0000-4000-8000-000000000001\"/>\n"                              \
    "<statusCode code=\"COMPLETE\"/>\n"                                                  \
    "<availabilityTime value=\"20240115\"/>\n" comp_extra                                \
    "<author><time value=\"20240115\"/></author>\n" body "</ehrComposition>\n"           \
    "</component></ehrFolder></component>\n" root_close "\n"

#define BARE_OPEN "<EhrExtract xmlns=\"urn:hl7-org:v3\">"
#define BARE_CLOSE "</EhrExtract>"
/* The same in a bare EhrExtract with nothing extra on the composition. */
#define BARE(body) EXTRACT(BARE_OPEN, BARE_CLOSE, "", body)

/* An ObservationStatement with the given code and the elements that follow
 * availabilityTime. */
#define OBS(id, code, after)                                                             \
    "<component><ObservationStatement classCode=\"OBS\" moodCode=\"EVN\">\n"             \
    "<id root=\"" id "\"/>\n" code "\n"                                                  \
    "<statusCode code=\"COMPLETE\"/>\n"                                                  \
    "<effectiveTime><center value=\"20240115\"/></effectiveTime>\n"                      \
    "<availabilityTime value=\"20240115\"/>\n" after "<Participant typeCode=\"PRF\"/>\n" \
    "</ObservationStatement></component>\n"

#define MARKER_CODE                                                                      \
    "<code code=\"716565009\" codeSystem=\"" SCT "\" displayName=\"At increased risk "   \
    "of child sexual exploitation\"/>"
#define OTHER_CODE                                                                       \
    "<code code=\"27113001\" codeSystem=\"" SCT "\" displayName=\"Body weight\"/>"
#define READ_CODE                                                                        \
    "<code code=\"SYNCSE1\" codeSystem=\"2.16.840.1.113883.2.1.6.2\" "                   \
    "displayName=\"Synthetic Read code\"><originalText>Risk noted</originalText>"        \
    "<translation code=\"716565009\" codeSystem=\"" SCT "\"/>"                           \
    "<translation code=\"XaSYN\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.14\"/></code>"

#define ID1 "A0000000-0000-4000-8000-000000000001"
#define ID2 "A0000000-0000-4000-8000-000000000002"

/* Repairs xml in memory; returns the output (caller frees) or NULL on error. */
static char *repair(const char *xml, const cse_repair_options *opt,
                    cse_repair_report *rep, cse_error *err, cse_code *code)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cse_code rc;

    ck_assert_ptr_nonnull(out);
    cse_error_clear(err);
    rc = cse_gp2gp_repair_memory(xml, strlen(xml), "test.xml", out, opt, rep, err);
    fclose(out);
    if (code)
        *code = rc;
    if (rc != CSE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Repairs xml, which must succeed; returns the output (caller frees). */
static char *repair_ok(const char *xml, const cse_repair_options *opt,
                       cse_repair_report *rep)
{
    cse_error err;
    char *out = repair(xml, opt, rep, &err, NULL);

    ck_assert_msg(out != NULL, "repair failed: %s", err.message);
    return out;
}

/* Repairs xml, which must succeed and give exactly want. */
static void ck_repairs_to(const char *xml, const cse_repair_options *opt,
                          cse_repair_report *rep, const char *want)
{
    char *out = repair_ok(xml, opt, rep);

    ck_assert_str_eq(out, want);
    free(out);
}

/* Repairs xml, which must come out byte for byte as it went in. */
static void ck_passes_through(const char *xml, const cse_repair_options *opt,
                              cse_repair_report *rep)
{
    ck_repairs_to(xml, opt, rep, xml);
}

/* Repairs xml, which must fail with no output; returns the code, with the
 * error in err. */
static cse_code repair_fails(const char *xml, const cse_repair_options *opt,
                             cse_error *err)
{
    cse_code rc;

    ck_assert_ptr_null(repair(xml, opt, NULL, err, &rc));
    return rc;
}

/* Repairs xml, which must succeed, and parses the output. */
static xmlDocPtr repair_doc(const char *xml, cse_repair_report *rep)
{
    char *out = repair_ok(xml, NULL, rep);
    xmlDocPtr doc;

    doc = xmlReadMemory(out, (int)strlen(out), "out.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    free(out);
    return doc;
}

/* The string value of an XPath expression (prefix h = urn:hl7-org:v3);
 * caller frees. */
static char *xp(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr res;
    char *s;

    ck_assert_ptr_nonnull(ctx);
    xmlXPathRegisterNs(ctx, BAD_CAST "h", BAD_CAST "urn:hl7-org:v3");
    xmlXPathRegisterNs(ctx, BAD_CAST "xsi",
                       BAD_CAST "http://www.w3.org/2001/XMLSchema-instance");
    res = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    ck_assert_msg(res != NULL, "bad XPath %s", expr);
    s = (char *)xmlXPathCastToString(res);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    return s;
}

#define ck_xp(doc, expr, want)                                                           \
    do {                                                                                 \
        char *got_ = xp(doc, expr);                                                      \
        ck_assert_msg(strcmp(got_, want) == 0, "%s: got '%s', want '%s'", expr, got_,    \
                      want);                                                             \
        xmlFree(got_);                                                                   \
    } while (0)

static void ck_nopat(xmlDocPtr doc, const char *conf)
{
    char expr[512];

    snprintf(expr, sizeof(expr), "local-name(%s)", conf);
    ck_xp(doc, expr, "confidentialityCode");
    snprintf(expr, sizeof(expr), "string(%s/@code)", conf);
    ck_xp(doc, expr, "NOPAT");
    snprintf(expr, sizeof(expr), "string(%s/@codeSystem)", conf);
    ck_xp(doc, expr, "2.16.840.1.113883.4.642.3.47");
    snprintf(expr, sizeof(expr), "string(%s/@displayName)", conf);
    ck_xp(doc, expr,
          "no disclosure to patient, family or caregivers without attending "
          "provider's authorization");
    snprintf(expr, sizeof(expr), "count(%s/@*)", conf);
    ck_xp(doc, expr, "3");
}

START_TEST(test_repair_adds_nopat_after_availability_time)
{
    cse_repair_report rep;
    xmlDocPtr doc =
        repair_doc(BARE(OBS(ID1, MARKER_CODE, "") OBS(ID2, OTHER_CODE, "")), &rep);

    ck_nopat(doc,
             "(//h:ObservationStatement)[1]/h:availabilityTime/following-sibling::*[1]");
    ck_xp(doc,
          "local-name((//h:ObservationStatement)[1]/h:confidentialityCode/"
          "following-sibling::*[1])",
          "Participant");
    ck_xp(doc, "count(//h:ObservationStatement/h:confidentialityCode)", "1");
    /* The body weight shares the composition: labelling it would hide the
     * body weight from the patient at the receiving practice. */
    ck_xp(doc, "count(//h:ehrComposition/h:confidentialityCode)", "0");
    ck_assert_uint_eq(rep.markers, 1);
    ck_assert_uint_eq(rep.nopat_added_statements, 1);
    ck_assert_uint_eq(rep.nopat_added_compositions, 0);
    ck_assert_uint_eq(rep.codes_promoted, 0);
    ck_assert_int_eq(rep.upgraded_to_uk07, 0);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_adds_nopat_after_priority_code)
{
    cse_repair_report rep;
    xmlDocPtr doc =
        repair_doc(BARE(OBS(ID1, MARKER_CODE,
                            "<priorityCode code=\"394848005\" codeSystem=\"" SCT
                            "\"/>\n<uncertaintyCode code=\"U\"/>\n")),
                   &rep);

    ck_xp(
        doc,
        "local-name(//h:ObservationStatement/h:availabilityTime/following-sibling::*[1])",
        "priorityCode");
    ck_nopat(doc, "//h:ObservationStatement/h:priorityCode/following-sibling::*[1]");
    ck_xp(doc,
          "local-name(//h:ObservationStatement/h:confidentialityCode/"
          "following-sibling::*[1])",
          "uncertaintyCode");
    ck_assert_uint_eq(rep.nopat_added_statements, 1);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_labels_composition_after_availability_time)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(BARE(OBS(ID1, MARKER_CODE, "")), &rep);

    ck_nopat(doc, "//h:ehrComposition/h:availabilityTime/following-sibling::*[1]");
    ck_xp(doc,
          "local-name(//h:ehrComposition/h:confidentialityCode/following-sibling::*[1])",
          "author");
    ck_xp(doc, "count(//h:ehrComposition/h:confidentialityCode)", "1");
    ck_assert_uint_eq(rep.nopat_added_compositions, 1);
    xmlFreeDoc(doc);
}
END_TEST

/* A composition holding a marker is labelled only when everything else in it
 * is already labelled, itself or by the CompoundStatement around it. */
#define NARRATIVE(id, after)                                                             \
    "<component><NarrativeStatement classCode=\"OBS\" moodCode=\"EVN\">\n"               \
    "<id root=\"" id "\"/>\n<text>Seen</text>\n<statusCode code=\"COMPLETE\"/>\n"        \
    "<availabilityTime value=\"20240115\"/>\n" after                                     \
    "</NarrativeStatement></component>\n"
#define COMPOUND(extra, body)                                                            \
    "<component><CompoundStatement classCode=\"CATEGORY\" moodCode=\"EVN\">\n"           \
    "<id root=\"B0000000-0000-4000-8000-000000000001\"/>\n"                              \
    "<code code=\"394841004\" codeSystem=\"" SCT "\"/>\n"                                \
    "<statusCode code=\"COMPLETE\"/>\n"                                                  \
    "<availabilityTime value=\"20240115\"/>\n" extra body                                \
    "</CompoundStatement></component>\n"
#define ID3 "A0000000-0000-4000-8000-000000000003"

START_TEST(test_repair_labels_composition_only_when_all_else_labelled)
{
    cse_repair_report rep;
    xmlDocPtr doc;

    /* An unlabelled narrative beside the marker: the composition stays open. */
    doc = repair_doc(BARE(OBS(ID1, MARKER_CODE, "") NARRATIVE(ID2, "")), &rep);
    ck_xp(doc, "count(//h:ehrComposition/h:confidentialityCode)", "0");
    ck_assert_uint_eq(rep.nopat_added_statements, 1);
    ck_assert_uint_eq(rep.nopat_added_compositions, 0);
    xmlFreeDoc(doc);

    /* The narrative is labelled itself: the composition gains NOPAT. */
    doc = repair_doc(BARE(OBS(ID1, MARKER_CODE, "")
                              NARRATIVE(ID2, "<confidentialityCode " NOPAT_ATTRS "/>\n")),
                     &rep);
    ck_xp(doc, "count(//h:ehrComposition/h:confidentialityCode)", "1");
    ck_assert_uint_eq(rep.nopat_added_compositions, 1);
    xmlFreeDoc(doc);

    /* The body weight is labelled by the compound around it. */
    doc = repair_doc(BARE(COMPOUND("<confidentialityCode " NOPAT_ATTRS "/>\n",
                                   OBS(ID2, OTHER_CODE, "") OBS(ID1, MARKER_CODE, ""))),
                     &rep);
    ck_xp(doc, "count(//h:ehrComposition/h:confidentialityCode)", "1");
    ck_assert_uint_eq(rep.nopat_added_compositions, 1);
    xmlFreeDoc(doc);

    /* An unlabelled compound, with a labelled entry after it: the body weight
     * inside is still visible, so the composition stays open. */
    doc = repair_doc(
        BARE(COMPOUND("", OBS(ID2, OTHER_CODE, "") OBS(ID1, MARKER_CODE, ""))
                 OBS(ID3, OTHER_CODE, "<confidentialityCode " NOPAT_ATTRS "/>\n")),
        &rep);
    ck_xp(doc, "count(//h:ehrComposition/h:confidentialityCode)", "0");
    ck_assert_uint_eq(rep.nopat_added_compositions, 0);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_leaves_composition_without_marker_alone)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(BARE(OBS(ID1, OTHER_CODE, "")), &rep);

    ck_xp(doc, "count(//h:confidentialityCode)", "0");
    ck_assert_uint_eq(rep.markers, 0);
    ck_assert_uint_eq(rep.nopat_added_compositions, 0);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_keeps_existing_nopat)
{
    static const char xml[] =
        EXTRACT("<RCMR_IN030000UK07 xmlns=\"urn:hl7-org:v3\">", "</RCMR_IN030000UK07>",
                "<confidentialityCode " NOPAT_ATTRS "/>\n",
                OBS(ID1, MARKER_CODE, "<confidentialityCode " NOPAT_ATTRS "/>\n"));
    cse_repair_report rep;

    ck_passes_through(xml, NULL, &rep);
    ck_assert_uint_eq(rep.markers, 1);
    ck_assert_uint_eq(rep.nopat_added_statements, 0);
    ck_assert_uint_eq(rep.nopat_added_compositions, 0);
}
END_TEST

START_TEST(test_repair_replaces_other_confidentiality_code)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(
        EXTRACT(
            BARE_OPEN, BARE_CLOSE, "",
            OBS(ID1, MARKER_CODE,
                "<confidentialityCode code=\"PSY\" codeSystem=\"2.16.840.1.113883.5.25\">"
                "<originalText>x</originalText></confidentialityCode>\n")),
        &rep);

    ck_xp(doc, "count(//h:ObservationStatement/h:confidentialityCode)", "1");
    ck_nopat(doc, "//h:ObservationStatement/h:confidentialityCode");
    ck_xp(doc, "count(//h:originalText)", "0");
    ck_assert_uint_eq(rep.nopat_added_statements, 1);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_promotes_legacy_code)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(BARE(OBS(ID1, READ_CODE, "")), &rep);

    ck_xp(doc, "string(//h:ObservationStatement/h:code/@code)", "716565009");
    ck_xp(doc, "string(//h:ObservationStatement/h:code/@codeSystem)", SCT);
    ck_xp(doc, "string(//h:ObservationStatement/h:code/@displayName)",
          "At increased risk of child sexual exploitation");
    ck_xp(doc, "local-name(//h:ObservationStatement/h:code/*[1])", "originalText");
    ck_xp(doc, "string(//h:ObservationStatement/h:code/h:originalText)", "Risk noted");
    ck_xp(doc, "count(//h:ObservationStatement/h:code/h:translation)", "3");
    ck_xp(doc, "string(//h:code/h:translation[1]/@code)", "SYNCSE1");
    ck_xp(doc, "string(//h:code/h:translation[1]/@codeSystem)",
          "2.16.840.1.113883.2.1.6.2");
    ck_xp(doc, "string(//h:code/h:translation[1]/@displayName)", "Synthetic Read code");
    ck_xp(doc, "string(//h:code/h:translation[2]/@code)", "716565009");
    ck_xp(doc, "string(//h:code/h:translation[3]/@code)", "XaSYN");
    ck_nopat(doc, "//h:ObservationStatement/h:availabilityTime/following-sibling::*[1]");
    ck_assert_uint_eq(rep.codes_promoted, 1);
    ck_assert_uint_eq(rep.markers, 1);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_promotes_null_flavor_code_without_translation)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(
        BARE(OBS(ID1,
                 "<code nullFlavor=\"UNK\"><originalText>Risk noted</originalText>"
                 "<translation code=\"713834002\" codeSystem=\"" SCT "\"/></code>",
                 "")),
        &rep);

    ck_xp(doc, "string(//h:ObservationStatement/h:code/@code)", "713834002");
    ck_xp(doc, "count(//h:ObservationStatement/h:code/@nullFlavor)", "0");
    ck_xp(doc, "count(//h:ObservationStatement/h:code/h:translation)", "1");
    ck_assert_uint_eq(rep.codes_promoted, 1);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_upgrades_uk06_to_uk07)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(
        EXTRACT("<RCMR_IN030000UK06 xmlns=\"urn:hl7-org:v3\" "
                "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                "xsi:schemaLocation=\"urn:hl7-org:v3 RCMR_IN030000UK06.xsd\">\n"
                "<interactionId root=\"2.16.840.1.113883.2.1.3.2.4.12\" "
                "extension=\"RCMR_IN030000UK06\"/>",
                "</RCMR_IN030000UK06>", "", OBS(ID1, MARKER_CODE, "")),
        &rep);

    ck_xp(doc, "local-name(/*)", "RCMR_IN030000UK07");
    ck_xp(doc, "namespace-uri(/*)", "urn:hl7-org:v3");
    ck_xp(doc, "string(/h:RCMR_IN030000UK07/h:interactionId/@extension)",
          "RCMR_IN030000UK07");
    ck_xp(doc, "string(/*/@xsi:schemaLocation)", "urn:hl7-org:v3 RCMR_IN030000UK07.xsd");
    ck_assert_int_eq(rep.upgraded_to_uk07, 1);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_upgrades_uk06_with_existing_label)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(
        EXTRACT("<RCMR_IN030000UK06 xmlns=\"urn:hl7-org:v3\">", "</RCMR_IN030000UK06>",
                "<confidentialityCode " NOPAT_ATTRS "/>\n", OBS(ID1, OTHER_CODE, "")),
        &rep);

    ck_xp(doc, "local-name(/*)", "RCMR_IN030000UK07");
    ck_assert_int_eq(rep.upgraded_to_uk07, 1);
    ck_assert_uint_eq(rep.markers, 0);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_repair_leaves_unlabelled_uk06_alone)
{
    static const char xml[] =
        EXTRACT("<RCMR_IN030000UK06 xmlns=\"urn:hl7-org:v3\">\n"
                "<interactionId root=\"2.16.840.1.113883.2.1.3.2.4.12\" "
                "extension=\"RCMR_IN030000UK06\"/>",
                "</RCMR_IN030000UK06>", "", OBS(ID1, OTHER_CODE, ""));
    cse_repair_report rep;

    ck_passes_through(xml, NULL, &rep);
    ck_assert_int_eq(rep.upgraded_to_uk07, 0);
}
END_TEST

START_TEST(test_repair_passes_other_nodes_through_unchanged)
{
    /* Comments, processing instructions, CDATA, escapes, prefixes, explicit
     * end tags and a statement that is not a marker: byte for byte. */
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<?cse-test keep me?>\n"
        "<!-- before -->\n"
        "<EhrExtract xmlns=\"urn:hl7-org:v3\" xmlns:x=\"urn:example:x\" "
        "classCode=\"EXTRACT\">\n"
        "  <x:note a=\"1 &lt; 2 &amp; &quot;q&quot;\">a &lt; b &amp; c &gt; d</x:note>\n"
        "  <text><![CDATA[<raw> & ]]></text>\n"
        "  <empty></empty>\n"
        "  <!-- inside -->\n"
        "  <component><ehrFolder><component><ehrComposition>\n"
        "    <availabilityTime value=\"20240115\"/>\n"
        "    <component><ObservationStatement>\n"
        "      <id root=\"" ID1 "\"/>\n"
        "      " OTHER_CODE "\n"
        "      <availabilityTime value=\"20240115\"/>\n"
        "    </ObservationStatement></component>\n"
        "  </ehrComposition></component></ehrFolder></component>\n"
        "  <?pi inside?>\n"
        "</EhrExtract>\n";
    cse_repair_report rep;

    ck_passes_through(xml, NULL, &rep);
    ck_assert_uint_eq(rep.markers, 0);
}
END_TEST

START_TEST(test_repair_normalises_markup_as_xmltextwriter_did)
{
    /* What earlier versions (an xmlTextWriter) wrote for markup that is not
     * already in that form: double quotes, character references resolved to
     * UTF-8, attribute TAB/LF/CR and text CR as references, " and > escaped,
     * a white-space-only CR written raw, adjacent CDATA joined, an XML
     * declaration added and a final newline. */
    static const char xml[] =
        "<EhrExtract xmlns='urn:hl7-org:v3' classCode='EXTRACT'  >\n"
        "  <note a='caf&#233; &#9;tab&#10;nl &#13;cr &amp; &quot;q&quot; &apos;s&apos;' "
        "b = \"x>y\" />\n"
        "  <text>caf&#233; &quot;q&quot; 'a' &gt; &#13;x</text>\n"
        "  <text>&#13;</text><text><![CDATA[a]]><![CDATA[b]]></text>\n"
        "  <?pi?><?pi2 ?><!---->\n"
        "  <full></full><empty/>\n"
        "</EhrExtract>";
    static const char want[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<EhrExtract xmlns=\"urn:hl7-org:v3\" classCode=\"EXTRACT\">\n"
        "  <note a=\"caf\xc3\xa9 &#9;tab&#10;nl &#13;cr &amp; &quot;q&quot; 's'\" "
        "b=\"x&gt;y\"/>\n"
        "  <text>caf\xc3\xa9 &quot;q&quot; 'a' &gt; &#13;x</text>\n"
        "  <text>\r</text><text><![CDATA[ab]]></text>\n"
        "  <?pi?><?pi2 ?><!---->\n"
        "  <full></full><empty/>\n"
        "</EhrExtract>\n";
    cse_repair_report rep;

    ck_repairs_to(xml, NULL, &rep, want);
}
END_TEST

START_TEST(test_repair_copies_text_longer_than_its_buffers)
{
    /* Text and white space runs longer than the read and write buffers, with
     * escapes falling across their boundaries, come out whole. */
    size_t n = 200000;
    char *xml = malloc(n * 2 + 200), *want = malloc(n * 2 + 300);
    size_t a = 0, b = 0;
    cse_repair_report rep;

    ck_assert_ptr_nonnull(xml);
    ck_assert_ptr_nonnull(want);
    a += (size_t)sprintf(xml + a, "<EhrExtract xmlns=\"urn:hl7-org:v3\"><text>");
    b += (size_t)sprintf(want + b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                   "<EhrExtract xmlns=\"urn:hl7-org:v3\"><text>");
    for (size_t i = 0; i < n / 10; i++) {
        a += (size_t)sprintf(xml + a, "abcd&amp;efg");
        b += (size_t)sprintf(want + b, "abcd&amp;efg");
    }
    a += (size_t)sprintf(xml + a, "</text>");
    b += (size_t)sprintf(want + b, "</text>");
    memset(xml + a, '\n', n / 2);
    memset(want + b, '\n', n / 2);
    a += n / 2;
    b += n / 2;
    sprintf(xml + a, "<empty/></EhrExtract>");
    sprintf(want + b, "<empty/></EhrExtract>\n");
    ck_repairs_to(xml, NULL, &rep, want);
    free(xml);
    free(want);
}
END_TEST

START_TEST(test_repair_uses_the_documents_prefix)
{
    cse_repair_report rep;
    xmlDocPtr doc = repair_doc(
        "<hl7:EhrExtract xmlns:hl7=\"urn:hl7-org:v3\"><hl7:component><hl7:ehrFolder>"
        "<hl7:component><hl7:ehrComposition><hl7:availabilityTime value=\"2024\"/>"
        "<hl7:author/><hl7:component><hl7:ObservationStatement><hl7:id root=\"" ID1 "\"/>"
        "<hl7:code code=\"919461000000108\" codeSystem=\"" SCT "\"/>"
        "<hl7:availabilityTime "
        "value=\"2024\"/></hl7:ObservationStatement></hl7:component>"
        "</hl7:ehrComposition></hl7:component></hl7:ehrFolder></hl7:component>"
        "</hl7:EhrExtract>",
        &rep);

    ck_nopat(doc, "//h:ObservationStatement/h:availabilityTime/following-sibling::*[1]");
    ck_nopat(doc, "//h:ehrComposition/h:availabilityTime/following-sibling::*[1]");
    ck_assert_uint_eq(rep.nopat_added_statements, 1);
    ck_assert_uint_eq(rep.nopat_added_compositions, 1);
    xmlFreeDoc(doc);
}
END_TEST

struct items {
    int n_markers, n_candidates;
    char id[64];
    int line;
    cse_candidate_reason reason;
    unsigned changes;
};

static void collect(const cse_repair_item *item, void *user)
{
    struct items *it = user;

    if (item->kind == CSE_REPAIR_ITEM_CANDIDATE) {
        it->n_candidates++;
        snprintf(it->id, sizeof(it->id), "%s", item->entry_id);
        it->line = item->line;
        it->reason = item->reason;
    } else {
        it->n_markers++;
        it->changes = item->changes;
    }
}

/* Options that hand every item to it, which starts empty. */
static cse_repair_options collecting(struct items *it)
{
    cse_repair_options opt;

    memset(it, 0, sizeof(*it));
    memset(&opt, 0, sizeof(opt));
    opt.on_item = collect;
    opt.user = it;
    return opt;
}

START_TEST(test_repair_reports_candidate_unchanged)
{
    static const char xml[] =
        BARE(OBS(ID2,
                 "<code code=\"2793879015\" codeSystem=\"" SCT "\" displayName=\"Concern "
                 "about sexual exploitation\"/>",
                 ""));
    struct items it;
    cse_repair_options opt = collecting(&it);
    cse_repair_report rep;

    ck_passes_through(xml, &opt, &rep);
    ck_assert_uint_eq(rep.candidates, 1);
    ck_assert_uint_eq(rep.markers, 0);
    ck_assert_int_eq(it.n_candidates, 1);
    ck_assert_str_eq(it.id, ID2);
    ck_assert_int_eq(it.line, 9);
    ck_assert_int_eq(it.reason, CSE_CANDIDATE_DESCRIPTION_ID);
}
END_TEST

START_TEST(test_repair_reports_marker_changes)
{
    struct items it;
    cse_repair_options opt = collecting(&it);
    cse_repair_report rep;

    free(repair_ok(BARE(OBS(ID1, READ_CODE, "")), &opt, &rep));
    ck_assert_int_eq(it.n_markers, 1);
    ck_assert_uint_eq(it.changes, CSE_REPAIR_ADDED_NOPAT | CSE_REPAIR_PROMOTED_CODE);
}
END_TEST

START_TEST(test_repair_rejects_malformed_xml)
{
    cse_error err;

    ck_assert_int_eq(repair_fails("<EhrExtract xmlns=\"urn:hl7-org:v3\">\n<component>\n"
                                  "<ehrFolder>\n</component>\n</EhrExtract>\n",
                                  NULL, &err),
                     CSE_ERR_PARSE);
    ck_assert_int_eq(err.code, CSE_ERR_PARSE);
    ck_assert_int_eq(err.line, 4);
    ck_assert_str_eq(err.source, "test.xml");
    ck_assert_str_eq(err.path, "/EhrExtract/component/ehrFolder");
}
END_TEST

START_TEST(test_repair_rejects_doctype)
{
    cse_error err;

    ck_assert_int_eq(
        repair_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE EhrExtract [\n"
                     "<!ENTITY a \"aaaaaaaaaa\">\n]>\n"
                     "<EhrExtract xmlns=\"urn:hl7-org:v3\">&a;</EhrExtract>\n",
                     NULL, &err),
        CSE_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.message, "DOCTYPE") != NULL, "message: %s", err.message);
}
END_TEST

START_TEST(test_repair_rejects_foreign_root)
{
    cse_error err;

    ck_assert_int_eq(repair_fails("<html>\n<body/>\n</html>\n", NULL, &err),
                     CSE_ERR_STRUCTURE);
    ck_assert_int_eq(err.line, 1);
    ck_assert_str_eq(err.path, "/html");
}
END_TEST

START_TEST(test_repair_enforces_depth_cap)
{
    cse_repair_options opt = {.max_depth = 3};
    cse_error err;

    ck_assert_int_eq(repair_fails("<EhrExtract xmlns=\"urn:hl7-org:v3\"><a><b>\n"
                                  "<c><d/></c></b></a></EhrExtract>",
                                  &opt, &err),
                     CSE_ERR_LIMIT);
    ck_assert_int_eq(err.line, 2);
    ck_assert_str_eq(err.path, "/EhrExtract/a/b");
}
END_TEST

START_TEST(test_repair_enforces_text_cap)
{
    cse_repair_options opt = {.max_text = 8};
    cse_error err;

    ck_assert_int_eq(repair_fails("<EhrExtract xmlns=\"urn:hl7-org:v3\">"
                                  "<a>0123456789</a></EhrExtract>",
                                  &opt, &err),
                     CSE_ERR_LIMIT);
    ck_assert_str_eq(err.path, "/EhrExtract/a");
}
END_TEST

START_TEST(test_repair_reads_a_file)
{
    char path[] = "/tmp/check-repair.XXXXXX";
    static const char xml[] = BARE(OBS(ID1, MARKER_CODE, ""));
    int fd = mkstemp(path);
    FILE *out = tmpfile();
    cse_repair_report rep;
    cse_error err;

    ck_assert_int_ge(fd, 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(write(fd, xml, strlen(xml)), (int)strlen(xml));
    close(fd);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_gp2gp_repair(path, out, &rep, &err), CSE_OK);
    ck_assert_uint_eq(rep.nopat_added_statements, 1);
    ck_assert_int_gt(ftell(out), (long)strlen(xml));
    unlink(path);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_gp2gp_repair(path, out, &rep, &err), CSE_ERR_IO);
    ck_assert_str_eq(err.source, path);
    fclose(out);
}
END_TEST

START_TEST(test_repair_empty_or_blank_document_says_no_element)
{
    static const char *const cases[] = {"", " \n\t\n\n"};
    cse_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(repair_fails(cases[i], NULL, &err), CSE_ERR_PARSE);
        ck_assert_str_eq(err.message, "empty document: no XML element found");
        ck_assert_str_eq(err.source, "test.xml");
        ck_assert_str_eq(err.path, "");
    }
    ck_assert_int_eq(
        repair_fails("\xff\xfe<?xml version=\"1.0\"?>\n<EhrExtract/>\n", NULL, &err),
        CSE_ERR_PARSE);
    ck_assert_str_eq(err.message, "no XML element found (the file is empty, is not XML, "
                                  "or is in an unsupported encoding)");
}
END_TEST

START_TEST(test_repair_truncated_document_says_truncated)
{
    cse_error err;

    ck_assert_int_eq(repair_fails("<EhrExtract xmlns=\"urn:hl7-org:v3\">\n<component>\n"
                                  "<ehrFolder><id root=\"A0",
                                  NULL, &err),
                     CSE_ERR_PARSE);
    ck_assert_str_eq(err.message,
                     "not well-formed XML: AttValue: ' expected (truncated?)");
    ck_assert_int_eq(err.line, 3);
    ck_assert_str_eq(err.path, "/EhrExtract/component/ehrFolder");
}
END_TEST

START_TEST(test_repair_encoding_errors_quote_no_bytes_and_print_nothing)
{
    cse_error err;
    cse_code rc;
    struct quiet q;

    /* libxml2 adds "Bytes: 0xC3 0x28 ..." to this one. */
    stderr_begin(&q);
    rc = repair_fails("<EhrExtract xmlns=\"urn:hl7-org:v3\">\n"
                      "<a>Z\xc3\x28yx</a></EhrExtract>\n",
                      NULL, &err);
    ck_assert_int_eq(stderr_end(&q), 0);
    ck_assert_int_eq(rc, CSE_ERR_PARSE);
    ck_assert_str_eq(
        err.message,
        "not well-formed XML: Input is not proper UTF-8, indicate encoding !");
    ck_assert_int_eq(err.line, 2);
    /* libxml2's converter reports this one without a parser, and prints the
     * bytes to stderr by default. */
    stderr_begin(&q);
    rc = repair_fails("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n"
                      "<EhrExtract xmlns=\"urn:hl7-org:v3\">\x81\x20\xff\xff"
                      "</EhrExtract>\n",
                      NULL, &err);
    ck_assert_int_eq(stderr_end(&q), 0);
    ck_assert_int_eq(rc, CSE_ERR_PARSE);
    ck_assert_str_eq(err.message,
                     "not well-formed XML: input conversion failed due to input error");
}
END_TEST

START_TEST(test_repair_parser_size_limit_is_a_limit_error)
{
    /* An attribute value over libxml2's 10 MB limit ("Huge input lookup"). */
    static const char head[] = "<EhrExtract xmlns=\"urn:hl7-org:v3\">\n<id root=\"";
    size_t big = 10485760;
    char *xml = malloc(sizeof(head) + big + 32);
    cse_error err;
    cse_code rc;

    ck_assert_ptr_nonnull(xml);
    memcpy(xml, head, sizeof(head) - 1);
    memset(xml + sizeof(head) - 1, 'A', big);
    strcpy(xml + sizeof(head) - 1 + big, "\"/></EhrExtract>\n");
    rc = repair_fails(xml, NULL, &err);
    free(xml);
    ck_assert_int_eq(rc, CSE_ERR_LIMIT);
    ck_assert_ptr_nonnull(
        strstr(err.message, "over the XML parser's size or depth limit"));
    ck_assert_int_eq(err.line, 2);
}
END_TEST

Suite *make_repair_suite(void)
{
    Suite *s = suite_create("repair");
    TCase *tc = tcase_create("repair");

    tcase_add_test(tc, test_repair_adds_nopat_after_availability_time);
    tcase_add_test(tc, test_repair_adds_nopat_after_priority_code);
    tcase_add_test(tc, test_repair_labels_composition_after_availability_time);
    tcase_add_test(tc, test_repair_leaves_composition_without_marker_alone);
    tcase_add_test(tc, test_repair_labels_composition_only_when_all_else_labelled);
    tcase_add_test(tc, test_repair_keeps_existing_nopat);
    tcase_add_test(tc, test_repair_replaces_other_confidentiality_code);
    tcase_add_test(tc, test_repair_promotes_legacy_code);
    tcase_add_test(tc, test_repair_promotes_null_flavor_code_without_translation);
    tcase_add_test(tc, test_repair_upgrades_uk06_to_uk07);
    tcase_add_test(tc, test_repair_upgrades_uk06_with_existing_label);
    tcase_add_test(tc, test_repair_leaves_unlabelled_uk06_alone);
    tcase_add_test(tc, test_repair_passes_other_nodes_through_unchanged);
    tcase_add_test(tc, test_repair_normalises_markup_as_xmltextwriter_did);
    tcase_add_test(tc, test_repair_copies_text_longer_than_its_buffers);
    tcase_add_test(tc, test_repair_uses_the_documents_prefix);
    tcase_add_test(tc, test_repair_reports_candidate_unchanged);
    tcase_add_test(tc, test_repair_reports_marker_changes);
    tcase_add_test(tc, test_repair_rejects_malformed_xml);
    tcase_add_test(tc, test_repair_rejects_doctype);
    tcase_add_test(tc, test_repair_rejects_foreign_root);
    tcase_add_test(tc, test_repair_enforces_depth_cap);
    tcase_add_test(tc, test_repair_enforces_text_cap);
    tcase_add_test(tc, test_repair_reads_a_file);
    tcase_add_test(tc, test_repair_empty_or_blank_document_says_no_element);
    tcase_add_test(tc, test_repair_truncated_document_says_truncated);
    tcase_add_test(tc, test_repair_encoding_errors_quote_no_bytes_and_print_nothing);
    tcase_add_test(tc, test_repair_parser_size_limit_is_a_limit_error);
    suite_add_tcase(s, tc);
    return s;
}
