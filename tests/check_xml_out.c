/* SPDX-License-Identifier: MIT */
/* The buffered XML serialiser (convert/xml_out.c) against libxml2's
 * xmlTextWriter: the same calls, with and without indentation, must write the
 * same bytes and fail in the same places. Every table sequence goes through
 * same_as_libxml2(). Then the failure rules of xml_out.h (a stream that cannot
 * be written, calls out of place) and the byte layer: escaping of every byte
 * value and writes larger than the buffer. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "testutil.h"
#include "xml_out.h"

/* ---- Output captured in memory ------------------------------------------ */

struct mem {
    FILE *fp;
    char *buf;
    size_t len;
};

static void mem_open(struct mem *m)
{
    m->buf = NULL;
    m->len = 0;
    m->fp = open_memstream(&m->buf, &m->len);
    ck_assert_ptr_nonnull(m->fp);
}

/* Closes the stream: m->buf[0..m->len) is what was written. */
static void mem_close(struct mem *m)
{
    ck_assert_int_eq(fclose(m->fp), 0);
    m->fp = NULL;
    ck_assert_ptr_nonnull(m->buf);
}

/* Shows up to 120 bytes of s[0..len) from off in out, control bytes as \xHH,
 * for a failure message. Returns out. */
static const char *shown(const char *s, size_t len, size_t off, char *out, size_t size)
{
    size_t n = 0, i;

    for (i = off; i < len && i < off + 120 && n + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
}

/* Fails unless got[0..got_len) == want[0..want_len), saying where they part. */
static void same_bytes(const char *what, const char *got, size_t got_len,
                       const char *want, size_t want_len)
{
    size_t i = 0;
    char a[700], b[700];

    while (i < got_len && i < want_len && got[i] == want[i])
        i++;
    if (i == got_len && i == want_len)
        return;
    i = i > 40 ? i - 40 : 0;
    ck_abort_msg(
        "%s: %zu bytes, expected %zu; from byte %zu:\n  got  \"%s\"\n  want \"%s\"", what,
        got_len, want_len, i, shown(got, got_len, i, a, sizeof(a)),
        shown(want, want_len, i, b, sizeof(b)));
}

/* ---- The differential helper --------------------------------------------- */

enum op_kind {
    OP_NONE = 0, /* ends a table sequence */
    OP_DOC,      /* start_document */
    OP_START,    /* start a */
    OP_ATTR,     /* attr a = b */
    OP_TEXT,     /* text b */
    OP_END,      /* end */
    OP_ELEM,     /* text_element a, b */
    OP_END_DOC,  /* end_document */
};

struct op {
    enum op_kind kind;
    const char *a, *b;
};

static int xo_op(cse__xo *o, const struct op *op)
{
    switch (op->kind) {
    case OP_DOC: return cse__xo_start_document(o);
    case OP_START: return cse__xo_start(o, op->a);
    case OP_ATTR: return cse__xo_attr(o, op->a, op->b);
    case OP_TEXT: return cse__xo_text(o, op->b);
    case OP_END: return cse__xo_end(o);
    case OP_ELEM: return cse__xo_text_element(o, op->a, op->b);
    case OP_END_DOC: return cse__xo_end_document(o);
    case OP_NONE: break;
    }
    ck_abort_msg("bad op %d", (int)op->kind);
    return -1;
}

/* The calls the GP2GP writer made before xml_out.c replaced them. */
static int xml_op(xmlTextWriterPtr w, const struct op *op)
{
    const xmlChar *a = (const xmlChar *)op->a, *b = (const xmlChar *)op->b;

    switch (op->kind) {
    case OP_DOC: return xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    case OP_START: return xmlTextWriterStartElement(w, a);
    case OP_ATTR: return xmlTextWriterWriteAttribute(w, a, b);
    case OP_TEXT: return xmlTextWriterWriteString(w, b);
    case OP_END: return xmlTextWriterEndElement(w);
    case OP_ELEM: return xmlTextWriterWriteElement(w, a, b);
    case OP_END_DOC: return xmlTextWriterEndDocument(w);
    case OP_NONE: break;
    }
    ck_abort_msg("bad op %d", (int)op->kind);
    return -1;
}

/* Runs ops[0..n) through cse__xo and through xmlTextWriter (over a FILE, as
 * gp2gp_write.c set it up), then flushes both: the bytes must be equal, and
 * each call must fail (< 0) exactly when the xmlTextWriter call failed. */
static void same_as_libxml2(const char *name, const struct op *ops, size_t n, bool indent)
{
    struct mem xo, xml;
    struct quiet q;
    cse__xo o;
    xmlOutputBufferPtr ob;
    xmlTextWriterPtr w;
    int *want = malloc((n ? n : 1) * sizeof(*want));
    char what[200];
    size_t i;

    ck_assert_ptr_nonnull(want);

    /* libxml2, whose misuse messages go to a temporary stderr. */
    mem_open(&xml);
    stderr_begin(&q);
    ob = xmlOutputBufferCreateFile(xml.fp, NULL);
    ck_assert_ptr_nonnull(ob);
    w = xmlNewTextWriter(ob);
    ck_assert_ptr_nonnull(w);
    if (indent) {
        ck_assert_int_eq(xmlTextWriterSetIndent(w, 1), 0);
        ck_assert_int_eq(xmlTextWriterSetIndentString(w, (const xmlChar *)"  "), 0);
    }
    for (i = 0; i < n; i++)
        want[i] = xml_op(w, &ops[i]);
    xmlTextWriterFlush(w);
    xmlFreeTextWriter(w); /* closes ob, not the FILE */
    stderr_end(&q);
    mem_close(&xml);

    /* xml_out, which must print nothing. */
    mem_open(&xo);
    stderr_begin(&q);
    ck_assert_int_eq(cse__xo_init(&o, xo.fp, indent), CSE_OK);
    for (i = 0; i < n; i++) {
        int got = xo_op(&o, &ops[i]);
        ck_assert_msg(got == 0 || got == -1, "%s: call %zu returned %d", name, i, got);
        ck_assert_msg((got < 0) == (want[i] < 0),
                      "%s (indent %d): call %zu (op %d) returned %d, xmlTextWriter %d",
                      name, indent, i, (int)ops[i].kind, got, want[i]);
    }
    ck_assert_int_eq(cse__xo_flush(&o), 0);
    cse__xo_free(&o);
    ck_assert_int_eq(stderr_end(&q), 0);
    mem_close(&xo);

    snprintf(what, sizeof(what), "%s (indent %s)", name, indent ? "on" : "off");
    same_bytes(what, xo.buf, xo.len, xml.buf, xml.len);
    free(xo.buf);
    free(xml.buf);
    free(want);
}

/* ---- Table sequences ----------------------------------------------------- */

/* clang-format off */
#define DOC {OP_DOC, NULL, NULL}
#define START(n) {OP_START, n, NULL}
#define ATTR(n, v) {OP_ATTR, n, v}
#define TEXT(t) {OP_TEXT, NULL, t}
#define END {OP_END, NULL, NULL}
#define ELEM(n, t) {OP_ELEM, n, t}
#define END_DOC {OP_END_DOC, NULL, NULL}
/* clang-format on */

/* Everything the header says is escaped, next to what it says is not. */
#define SPECIALS "a&b<c>d\"e'f\rg\nh\ti&amp;j]]>k"
#define UTF8 "Caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80 \xe4\xb8\xad"
/* Bytes that are not UTF-8, and control characters: copied as they are. */
#define BAD "a\xff\xc3(b\x01 c\x7f\x1b"

/* Sequences with UTF-8 in an attribute value start with start_document, as
 * the GP2GP writer does: without the encoding declaration xmlTextWriter
 * writes non-ASCII attribute bytes as character references (&#xE9;), which
 * cse__xo does not. */
static const struct seq {
    const char *name;
    struct op ops[24];
} seqs[] = {
    {"declaration only", {DOC, END_DOC}},
    {"nothing at all", {END_DOC}},
    {"one empty root", {DOC, START("x"), END, END_DOC}},
    {"one empty root, no declaration", {START("x"), END, END_DOC}},
    {"root without end_document", {DOC, START("r"), ELEM("a", "1"), END}},
    {"nested elements with attributes",
     {DOC,
      START("EhrExtract"),
      ATTR("classCode", "EXTRACT"),
      ATTR("moodCode", "EVN"),
      START("id"),
      ATTR("root", "2D70F602-6BB1-47E0-B2EC-39912A59787D"),
      END,
      START("component"),
      ATTR("typeCode", "COMP"),
      START("ehrFolder"),
      ATTR("classCode", "FOLDER"),
      START("author"),
      START("time"),
      ATTR("value", "20240101"),
      END,
      END,
      END,
      END,
      END,
      END_DOC}},
    {"siblings with attributes and text",
     {DOC, START("r"), START("a"), ATTR("x", "1"), TEXT("one"), END, START("b"),
      ATTR("y", "2"), END, START("c"), TEXT("three"), END, END, END_DOC}},
    {"empty elements",
     {DOC, START("root"), START("x"), END, START("y"), ATTR("k", "v"), END, START("z"),
      START("w"), END, END, END, END_DOC}},
    {"text elements",
     {DOC, START("r"), ELEM("a", "one"), ELEM("b", NULL), ELEM("c", ""), ELEM("d", " "),
      END, END_DOC}},
    {"empty text writes <x></x>",
     {START("r"), START("x"), TEXT(""), END, START("y"), ATTR("k", "v"), TEXT(""), END,
      END, END_DOC}},
    {"empty text on the root", {DOC, START("x"), TEXT(""), END, END_DOC}},
    {"text specials", {DOC, START("r"), ELEM("t", SPECIALS), END, END_DOC}},
    {"text UTF-8", {DOC, START("r"), ELEM("t", UTF8), END, END_DOC}},
    {"text only specials", {START("t"), TEXT("&<>\"'\r\n\t\r\n"), END, END_DOC}},
    {"text CR LF line ends", {START("t"), TEXT("one\r\ntwo\r\n"), END, END_DOC}},
    {"attribute specials", {DOC, START("r"), ATTR("v", SPECIALS), END, END_DOC}},
    {"attribute ASCII specials and controls",
     {START("r"), ATTR("v", "&<>\"'\r\n\t \x01\x1f\x7f"), ATTR("w", ""), END, END_DOC}},
    {"attribute UTF-8", {DOC, START("r"), ATTR("v", UTF8), END, END_DOC}},
    {"invalid UTF-8 and controls in text", {DOC, START("r"), TEXT(BAD), END, END_DOC}},
    {"invalid UTF-8 and controls in an attribute",
     {DOC, START("r"), ATTR("v", BAD), END, END_DOC}},
    {"start_document twice", {DOC, DOC, START("r"), END, END_DOC}},
    {"start_document after a root", {START("r"), END, DOC, START("s"), END, END_DOC}},
    {"end_document twice", {DOC, START("r"), END_DOC, END_DOC}},
    {"elements after end_document", {DOC, START("r"), END_DOC, START("s"), END, END_DOC}},
    {"attribute and text with UTF-8",
     {DOC, START("r"), START("p"), ATTR("displayName", "Ca\xc3\xa9 \xe2\x82\xac"),
      TEXT("Ca\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), END, END, END_DOC}},
    {"several text calls",
     {DOC, START("r"), START("t"), TEXT("line one"), TEXT("\n"), TEXT("line two"), END,
      END, END_DOC}},
    {"mixed content",
     {START("p"), TEXT("a"), START("b"), TEXT("bold"), END, TEXT("tail"), END, END_DOC}},
    {"child after text",
     {START("p"), START("q"), TEXT("a"), START("b"), END, END, END, END_DOC}},
    {"end_document closes several open elements",
     {DOC, START("a"), ATTR("x", "1"), START("b"), START("c"), TEXT("deep"), END_DOC}},
    {"end_document closes an open start tag",
     {DOC, START("a"), START("b"), ATTR("k", "v"), END_DOC}},
    {"end_document closes an empty-text element",
     {START("a"), START("b"), TEXT(""), END_DOC}},
    {"two roots", {START("a"), END, START("b"), TEXT("t"), END, END_DOC}},
    {"attribute after text fails", {START("a"), TEXT("t"), ATTR("k", "v"), END, END_DOC}},
    {"attribute after empty text fails",
     {START("a"), TEXT(""), ATTR("k", "v"), END, END_DOC}},
    {"attribute after a child fails",
     {START("a"), START("b"), END, ATTR("k", "v"), END, END_DOC}},
    {"attribute with nothing open fails", {ATTR("k", "v"), START("a"), END, END_DOC}},
    {"end with nothing open fails",
     {END, START("a"), END, END, START("b"), END, END_DOC}},
    {"NULL text fails", {START("a"), TEXT(NULL), END, END_DOC}},
    {"empty name fails", {START(""), START("a"), ELEM("", "x"), END, END_DOC}},
    {"NULL name fails", {START(NULL), START("a"), END, END_DOC}},
    {"empty attribute name fails", {START("a"), ATTR("", "v"), END, END_DOC}},
};

#define N_SEQS (sizeof(seqs) / sizeof(seqs[0]))

/* The length of a table sequence. */
static size_t ops_len(const struct op *ops, size_t cap)
{
    size_t n = 0;

    while (n < cap && ops[n].kind != OP_NONE)
        n++;
    ck_assert_msg(n < cap, "sequence longer than its array");
    return n;
}

/* Loop index i: sequence i / 2, indentation when i is odd. */
START_TEST(test_xml_out_table_matches_xmltextwriter)
{
    const struct seq *s = &seqs[_i / 2];

    same_as_libxml2(s->name, s->ops, ops_len(s->ops, 24), _i % 2 == 1);
}
END_TEST

/* ---- Generated sequences ------------------------------------------------- */

#define DEEP 100

static char deep_names[DEEP][8];

/* DEEP nested elements, each with an attribute (so the element stack grows
 * past its first allocation and indentation past one slice of spaces). The
 * innermost holds text or nothing; closed by end or end_document. */
static void deep(bool indent, bool with_text, bool by_end_document)
{
    struct op ops[3 * DEEP + 4];
    size_t n = 0, i;

    ops[n++] = (struct op){OP_DOC, NULL, NULL};
    for (i = 0; i < DEEP; i++) {
        snprintf(deep_names[i], sizeof(deep_names[i]), "e%zu", i);
        ops[n++] = (struct op){OP_START, deep_names[i], NULL};
        ops[n++] = (struct op){OP_ATTR, "level", deep_names[i] + 1};
    }
    if (with_text)
        ops[n++] = (struct op){OP_TEXT, NULL, "bottom & <end>"};
    if (!by_end_document)
        for (i = 0; i < DEEP; i++)
            ops[n++] = (struct op){OP_END, NULL, NULL};
    ops[n++] = (struct op){OP_END_DOC, NULL, NULL};
    same_as_libxml2(with_text ? "deep with text" : "deep, empty innermost", ops, n,
                    indent);
}

START_TEST(test_xml_out_deep_nesting_matches_xmltextwriter)
{
    int indent;

    for (indent = 0; indent <= 1; indent++) {
        deep(indent, true, false);
        deep(indent, false, false);
        deep(indent, true, true);
        deep(indent, false, true);
    }
}
END_TEST

/* Text and attribute values longer than the buffer, with escapes that make
 * them longer still, and many small elements that fill it several times. */
START_TEST(test_xml_out_large_output_matches_xmltextwriter)
{
    size_t big = CSE__XO_SIZE + CSE__XO_SIZE / 2 + 7, i;
    char *text = malloc(big + 1);
    struct op *ops = malloc(4 * 20000 * sizeof(*ops));
    size_t n = 0;
    int indent;

    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(ops);
    for (i = 0; i < big; i++)
        text[i] = "ab&<>\"\r\n\tc"[i % 11];
    text[big] = '\0';

    for (indent = 0; indent <= 1; indent++) {
        const struct op text_ops[] = {
            DOC, START("r"), ATTR("v", text), ELEM("t", text), TEXT(text), END_DOC};
        same_as_libxml2("large text and attribute", text_ops,
                        sizeof(text_ops) / sizeof(text_ops[0]), indent);
    }

    ops[n++] = (struct op){OP_DOC, NULL, NULL};
    ops[n++] = (struct op){OP_START, "r", NULL};
    for (i = 0; i < 19990; i++) {
        ops[n++] = (struct op){OP_START, "item", NULL};
        ops[n++] = (struct op){OP_ATTR, "n", "x&y"};
        ops[n++] = (struct op){i % 3 ? OP_END : OP_TEXT, NULL, "z"};
        if (i % 3 == 0)
            ops[n++] = (struct op){OP_END, NULL, NULL};
    }
    ops[n++] = (struct op){OP_END_DOC, NULL, NULL};
    ck_assert_uint_le(n, 4 * 20000);
    for (indent = 0; indent <= 1; indent++)
        same_as_libxml2("many small elements", ops, n, indent);
    free(ops);
    free(text);
}
END_TEST

/* ---- Failures ------------------------------------------------------------- */

/* Every element-layer call, each expected to return -1. */
static void all_calls_fail(cse__xo *o)
{
    ck_assert_int_eq(cse__xo_start_document(o), -1);
    ck_assert_int_eq(cse__xo_start(o, "a"), -1);
    ck_assert_int_eq(cse__xo_attr(o, "k", "v"), -1);
    ck_assert_int_eq(cse__xo_text(o, "t"), -1);
    ck_assert_int_eq(cse__xo_text_element(o, "b", "t"), -1);
    ck_assert_int_eq(cse__xo_end(o), -1);
    ck_assert_int_eq(cse__xo_end_document(o), -1);
    ck_assert_int_eq(cse__xo_flush(o), -1);
}

/* An unbuffered stream on /dev/full: every fwrite fails. Calls succeed while
 * the output is only buffered; the flush fails, and every call after it. */
START_TEST(test_xml_out_failed_write_fails_later_calls)
{
    FILE *fp = fopen("/dev/full", "w");
    struct quiet q;
    cse__xo o;

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(setvbuf(fp, NULL, _IONBF, 0), 0);
    stderr_begin(&q);
    ck_assert_int_eq(cse__xo_init(&o, fp, true), CSE_OK);
    ck_assert_int_eq(cse__xo_start_document(&o), 0);
    ck_assert_int_eq(cse__xo_start(&o, "r"), 0);
    ck_assert_int_eq(cse__xo_attr(&o, "k", "v"), 0);
    ck_assert_int_eq(cse__xo_text_element(&o, "a", "one"), 0);
    ck_assert(!o.failed);
    ck_assert_int_eq(cse__xo_flush(&o), -1);
    ck_assert(o.failed);
    all_calls_fail(&o);
    ck_assert_uint_eq(o.len, 0); /* dropped, not kept */
    cse__xo_free(&o);
    ck_assert_int_eq(stderr_end(&q), 0);
    fclose(fp);
}
END_TEST

/* A buffered stream on /dev/full: the call whose bytes overflow the buffer
 * (text longer than CSE__XO_SIZE) fails, and so does everything after. */
START_TEST(test_xml_out_failed_large_write_fails_later_calls)
{
    FILE *fp = fopen("/dev/full", "w");
    size_t big = CSE__XO_SIZE + 100;
    char *text = malloc(big + 1);
    struct quiet q;
    cse__xo o;

    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(text);
    memset(text, 'a', big);
    text[big] = '\0';
    stderr_begin(&q);
    ck_assert_int_eq(cse__xo_init(&o, fp, false), CSE_OK);
    ck_assert_int_eq(cse__xo_start(&o, "r"), 0);
    ck_assert_int_eq(cse__xo_start(&o, "t"), 0);
    ck_assert_int_eq(cse__xo_text(&o, text), -1);
    all_calls_fail(&o);
    cse__xo_free(&o);
    ck_assert_int_eq(stderr_end(&q), 0);
    fclose(fp);
    free(text);
}
END_TEST

/* Many small calls on a buffered /dev/full stream: once the buffer has been
 * written (and failed), end_document reports it. */
START_TEST(test_xml_out_failed_write_reported_by_end_document)
{
    FILE *fp = fopen("/dev/full", "w");
    cse__xo o;
    int i, failed_at = -1;

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(cse__xo_init(&o, fp, true), CSE_OK);
    ck_assert_int_eq(cse__xo_start(&o, "r"), 0);
    for (i = 0; i < 20000 && failed_at < 0; i++)
        if (cse__xo_text_element(&o, "item", "some text") < 0)
            failed_at = i;
    /* "  <item>some text</item>\n" is 25 bytes: the call that fills the
     * buffer, and no other, fails. */
    ck_assert_int_ge(failed_at, CSE__XO_SIZE / 25 - 2);
    ck_assert_int_le(failed_at, CSE__XO_SIZE / 25 + 2);
    all_calls_fail(&o);
    cse__xo_free(&o);
    fclose(fp);

    /* A small document on an unbuffered stream: nothing fails until
     * end_document, the first call to write. */
    fp = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(setvbuf(fp, NULL, _IONBF, 0), 0);
    ck_assert_int_eq(cse__xo_init(&o, fp, false), CSE_OK);
    ck_assert_int_eq(cse__xo_start_document(&o), 0);
    ck_assert_int_eq(cse__xo_text_element(&o, "item", "some text"), 0);
    ck_assert_int_eq(cse__xo_start(&o, "open"), 0);
    ck_assert_int_eq(cse__xo_end_document(&o), -1);
    all_calls_fail(&o);
    cse__xo_free(&o);
    fclose(fp);

    /* On a buffered stream the same document fits in stdio's buffer: the
     * flush is an fwrite, not an fflush (as xmlTextWriterFlush was), so the
     * failure is the caller's fflush or fclose to see. */
    fp = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(cse__xo_init(&o, fp, false), CSE_OK);
    ck_assert_int_eq(cse__xo_start_document(&o), 0);
    ck_assert_int_eq(cse__xo_text_element(&o, "item", "some text"), 0);
    ck_assert_int_eq(cse__xo_end_document(&o), 0);
    ck_assert_int_eq(fflush(fp), EOF);
    cse__xo_free(&o);
    fclose(fp);
}
END_TEST

/* Calls out of place return -1, write nothing, and do not fail the output. */
START_TEST(test_xml_out_calls_out_of_place)
{
    struct mem m;
    cse__xo o;

    mem_open(&m);
    ck_assert_int_eq(cse__xo_init(&o, m.fp, false), CSE_OK);
    ck_assert_int_eq(cse__xo_end(&o), -1);            /* nothing open */
    ck_assert_int_eq(cse__xo_attr(&o, "k", "v"), -1); /* nothing open */
    ck_assert_int_eq(cse__xo_start(&o, "a"), 0);
    ck_assert_int_eq(cse__xo_start_document(&o), -1); /* inside an element */
    ck_assert_int_eq(cse__xo_attr(&o, "k", NULL), -1);
    ck_assert_int_eq(cse__xo_attr(&o, NULL, "v"), -1);
    ck_assert_int_eq(cse__xo_text(&o, NULL), -1);
    ck_assert_int_eq(cse__xo_attr(&o, "k", "v"), 0);
    ck_assert_int_eq(cse__xo_text(&o, "t"), 0);
    ck_assert_int_eq(cse__xo_attr(&o, "late", "v"), -1); /* after text */
    ck_assert_int_eq(cse__xo_end(&o), 0);
    ck_assert_int_eq(cse__xo_end(&o), -1); /* nothing open again */
    ck_assert(!o.failed);
    ck_assert_int_eq(cse__xo_end_document(&o), 0);
    cse__xo_free(&o);
    mem_close(&m);
    same_bytes("out of place", m.buf, m.len, "<a k=\"v\">t</a>\n", 15);
    free(m.buf);
}
END_TEST

/* ---- The byte layer -------------------------------------------------------- */

/* What xml_out.h says byte c becomes: text escapes & < > " CR, attribute
 * values also LF and TAB, and every other byte is copied. */
static const char *expected_escape(unsigned char c, unsigned what, char *one)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\r': return "&#13;";
    case '\n':
        if (what == CSE__XO_ATTR)
            return "&#10;";
        break;
    case '\t':
        if (what == CSE__XO_ATTR)
            return "&#9;";
        break;
    default: break;
    }
    one[0] = (char)c;
    one[1] = '\0';
    return one;
}

/* Appends what c becomes to out[*n], returning the length appended. */
static size_t append_expected(char *out, size_t *n, unsigned char c, unsigned what)
{
    char one[2];
    const char *e = expected_escape(c, what, one);
    size_t len = c == '\0' ? 1 : strlen(e);

    memcpy(out + *n, e, len);
    *n += len;
    return len;
}

/* Each of the 256 byte values alone, between other bytes, and all of them in
 * one call, for text and for attribute values. */
START_TEST(test_xml_out_escape_every_byte)
{
    static const unsigned whats[] = {CSE__XO_TEXT, CSE__XO_ATTR};
    size_t k;

    for (k = 0; k < 2; k++) {
        unsigned what = whats[k];
        char want[256 * 8 + 16], label[64];
        unsigned char all[256];
        size_t want_len = 0;
        struct mem m;
        cse__xo o;
        int c;

        for (c = 0; c < 256; c++) {
            char s[3] = {'x', (char)c, 'y'};
            size_t n = 0;

            mem_open(&m);
            ck_assert_int_eq(cse__xo_init(&o, m.fp, false), CSE_OK);
            cse__xo_escape(&o, s + 1, 1, what); /* alone */
            cse__xo_escape(&o, s, 3, what);     /* with bytes around it */
            ck_assert_int_eq(cse__xo_flush(&o), 0);
            cse__xo_free(&o);
            mem_close(&m);
            append_expected(want, &n, (unsigned char)c, what);
            want[n++] = 'x';
            append_expected(want, &n, (unsigned char)c, what);
            want[n++] = 'y';
            snprintf(label, sizeof(label), "escape %s byte 0x%02x",
                     what == CSE__XO_TEXT ? "text" : "attr", c);
            same_bytes(label, m.buf, m.len, want, n);
            free(m.buf);
        }

        /* All at once, NUL included: cse__xo_escape() goes by length. */
        for (c = 0; c < 256; c++) {
            all[c] = (unsigned char)c;
            append_expected(want, &want_len, (unsigned char)c, what);
        }
        mem_open(&m);
        ck_assert_int_eq(cse__xo_init(&o, m.fp, false), CSE_OK);
        cse__xo_escape(&o, (const char *)all, sizeof(all), what);
        ck_assert_int_eq(cse__xo_flush(&o), 0);
        cse__xo_free(&o);
        mem_close(&m);
        snprintf(label, sizeof(label), "escape %s, all bytes",
                 what == CSE__XO_TEXT ? "text" : "attr");
        same_bytes(label, m.buf, m.len, want, want_len);
        free(m.buf);

        /* cse__xo_escape_str() stops at the NUL, so from 1 to 255 it must
         * write the same as cse__xo_escape() without the leading NUL. */
        mem_open(&m);
        ck_assert_int_eq(cse__xo_init(&o, m.fp, false), CSE_OK);
        {
            char str[257];
            memcpy(str, all + 1, 255);
            str[255] = '\0';
            str[256] = 'z'; /* after the NUL: never read as text */
            cse__xo_escape_str(&o, str, what);
        }
        ck_assert_int_eq(cse__xo_flush(&o), 0);
        cse__xo_free(&o);
        mem_close(&m);
        snprintf(label, sizeof(label), "escape_str %s, bytes 1-255",
                 what == CSE__XO_TEXT ? "text" : "attr");
        same_bytes(label, m.buf, m.len, want + 1, want_len - 1);
        free(m.buf);
    }
}
END_TEST

START_TEST(test_xml_out_escape_str_and_put_attr)
{
    struct mem m;
    cse__xo o;
    static const char want[] = "ab"
                               "a&amp;b&#13;\n\t"
                               " name=\"x&amp;&lt;&gt;&quot;'&#13;&#10;&#9;\xc3\xa9\""
                               " empty=\"\"";

    mem_open(&m);
    ck_assert_int_eq(cse__xo_init(&o, m.fp, false), CSE_OK);
    cse__xo_escape_str(&o, "ab\0cd", CSE__XO_TEXT); /* stops at the NUL */
    cse__xo_escape_str(&o, "", CSE__XO_ATTR);
    cse__xo_escape(&o, "a&b\r\n\t", 6, CSE__XO_TEXT);
    cse__xo_put_attr(&o, "name", "x&<>\"'\r\n\t\xc3\xa9");
    cse__xo_put_attr(&o, "empty", "");
    ck_assert_int_eq(cse__xo_flush(&o), 0);
    cse__xo_free(&o);
    mem_close(&m);
    same_bytes("escape_str and put_attr", m.buf, m.len, want, sizeof(want) - 1);
    free(m.buf);
}
END_TEST

/* Writes at, across and beyond CSE__XO_SIZE: put straight through, put after
 * buffered bytes, putc at a full buffer, and escapes that expand past it. */
START_TEST(test_xml_out_writes_larger_than_buffer)
{
    size_t big = 3 * CSE__XO_SIZE + 17, i, n = 0, amps = CSE__XO_SIZE / 2 + 3;
    size_t want_size = 2 * big + 2 * CSE__XO_SIZE + 5 * amps + 64;
    char *data = malloc(big), *want = malloc(want_size), *a = malloc(amps);
    struct mem m;
    cse__xo o;

    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(a);
    for (i = 0; i < big; i++)
        data[i] = (char)('A' + (i * 7 + i / 251) % 26);
    memset(a, '&', amps);

    mem_open(&m);
    ck_assert_int_eq(cse__xo_init(&o, m.fp, false), CSE_OK);
    /* Larger than the buffer into an empty buffer. */
    cse__xo_put(&o, data, big);
    memcpy(want + n, data, big), n += big;
    /* Larger than the buffer after a few buffered bytes. */
    cse__xo_puts(&o, "<x>");
    memcpy(want + n, "<x>", 3), n += 3;
    cse__xo_put(&o, data, big);
    memcpy(want + n, data, big), n += big;
    /* Exactly the buffer, then single bytes past it. */
    cse__xo_flush(&o);
    cse__xo_put(&o, data, CSE__XO_SIZE);
    memcpy(want + n, data, CSE__XO_SIZE), n += CSE__XO_SIZE;
    ck_assert_uint_eq(o.len, CSE__XO_SIZE);
    cse__xo_putc(&o, '1');
    cse__xo_putc(&o, '2');
    memcpy(want + n, "12", 2), n += 2;
    /* One byte short of full, then two bytes: they do not fit. */
    cse__xo_put(&o, data, CSE__XO_SIZE - o.len - 1);
    memcpy(want + n, data, CSE__XO_SIZE - 3), n += CSE__XO_SIZE - 3;
    ck_assert_uint_eq(o.len, CSE__XO_SIZE - 1);
    cse__xo_put(&o, "34", 2);
    memcpy(want + n, "34", 2), n += 2;
    /* Escaping that grows past the buffer: each & is five bytes. */
    cse__xo_escape(&o, a, amps, CSE__XO_TEXT);
    for (i = 0; i < amps; i++)
        memcpy(want + n, "&amp;", 5), n += 5;
    ck_assert_int_eq(cse__xo_flush(&o), 0);
    ck_assert(!o.failed);
    cse__xo_free(&o);
    mem_close(&m);
    ck_assert_uint_le(n, want_size);
    same_bytes("writes larger than the buffer", m.buf, m.len, want, n);
    free(m.buf);
    free(a);
    free(want);
    free(data);
}
END_TEST

/* init and free write nothing; free twice and free(NULL) are safe. */
START_TEST(test_xml_out_init_free_write_nothing)
{
    struct mem m;
    cse__xo o;

    mem_open(&m);
    ck_assert_int_eq(cse__xo_init(&o, m.fp, true), CSE_OK);
    ck_assert_int_eq(cse__xo_start(&o, "a"), 0);
    cse__xo_free(&o); /* without a flush: the buffered bytes are dropped */
    cse__xo_free(&o);
    cse__xo_free(NULL);
    mem_close(&m);
    ck_assert_uint_eq(m.len, 0);
    free(m.buf);
}
END_TEST

Suite *make_xml_out_suite(void)
{
    Suite *s = suite_create("xml_out");
    TCase *diff = tcase_create("xmlTextWriter");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(diff, test_xml_out_table_matches_xmltextwriter, 0,
                        (int)(2 * N_SEQS));
    tcase_add_test(diff, test_xml_out_deep_nesting_matches_xmltextwriter);
    tcase_add_test(diff, test_xml_out_large_output_matches_xmltextwriter);
    /* Slow under valgrind. */
    tcase_set_timeout(diff, 120);
    suite_add_tcase(s, diff);

    tcase_add_test(tc, test_xml_out_failed_write_fails_later_calls);
    tcase_add_test(tc, test_xml_out_failed_large_write_fails_later_calls);
    tcase_add_test(tc, test_xml_out_failed_write_reported_by_end_document);
    tcase_add_test(tc, test_xml_out_calls_out_of_place);
    tcase_add_test(tc, test_xml_out_escape_every_byte);
    tcase_add_test(tc, test_xml_out_escape_str_and_put_attr);
    tcase_add_test(tc, test_xml_out_writes_larger_than_buffer);
    tcase_add_test(tc, test_xml_out_init_free_write_nothing);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
