/* SPDX-License-Identifier: MIT */
/* The envelope of a GP2GP extract: who sent it, to whom, when, for which
 * patient. Streaming with libxml2's xmlTextReader; it stops at the ehrFolder,
 * so an extract of any size costs only its header. */
#include "config.h"

#include <string.h>

#include <libxml/xmlreader.h>

#include <csemarker/rules.h>

#include "report_internal.h"

#define MAX_DEPTH 64

static int is(const xmlChar *a, const char *b)
{
    return a != NULL && strcmp((const char *)a, b) == 0;
}

/* Copies attribute name of the current element into buf ("" when absent). */
static void attr(xmlTextReaderPtr r, const char *name, char *buf, size_t size)
{
    xmlChar *v = xmlTextReaderGetAttribute(r, (const xmlChar *)name);

    buf[0] = '\0';
    if (v != NULL) {
        snprintf(buf, size, "%s", (const char *)v);
        xmlFree(v);
    }
}

/* The first libxml2 error, as a message without the input it may quote. */
struct xml_err {
    int code, line;
    char msg[160];
};

static void on_xml_error(void *ud, xmlErrorPtr e)
{
    struct xml_err *x = ud;
    char *cut;

    if (x->code != 0 || e == NULL)
        return;
    x->code = e->code;
    x->line = e->line;
    snprintf(x->msg, sizeof(x->msg), "%s", e->message ? e->message : "");
    /* Stop at the first line break or quote: what follows may be input
     * (libxml2 shows names, bytes and values there). */
    cut = x->msg + strcspn(x->msg, "\n'\"");
    while (cut > x->msg && (cut[-1] == ' ' || cut[-1] == ',' || cut[-1] == ':'))
        cut--;
    *cut = '\0';
}

/* True when the file holds nothing but white space (or nothing). */
static int blank_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    int c, blank = 1;

    if (fp == NULL)
        return 0;
    while ((c = getc(fp)) != EOF)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            blank = 0;
            break;
        }
    fclose(fp);
    return blank;
}

cse_code cse__gp2gp_scan(const char *path, cse__gp2gp_head *h, cse_error *err)
{
    struct xml_err xe = {0, 0, ""};
    const char *stack[MAX_DEPTH];
    int ehr = -1; /* depth of EhrExtract */
    int ret, depth, line = 0;
    xmlTextReaderPtr r;
    cse_code rc = CSE_OK;
    char root[64], ext[64];

    memset(h, 0, sizeof(*h));
    r = xmlReaderForFile(path, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOWARNING |
                             XML_PARSE_NOERROR);
    if (r == NULL)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot open GP2GP extract");
    if (blank_file(path)) {
        rc = cse__error_set(err, CSE_ERR_PARSE, 1, path, "",
                            "empty document: no root element");
        goto out;
    }
    xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, &xe);
    while ((ret = xmlTextReaderRead(r)) == 1) {
        const xmlChar *name;
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
            rc = cse__error_set(
                err, CSE_ERR_PARSE, xmlTextReaderGetParserLineNumber(r), path, "",
                "a DOCTYPE is not allowed: DTDs and entities are refused");
            goto out;
        }
        if (type != XML_READER_TYPE_ELEMENT)
            continue;
        depth = xmlTextReaderDepth(r);
        line = xmlTextReaderGetParserLineNumber(r);
        if (depth >= MAX_DEPTH) {
            rc = cse__error_set(err, CSE_ERR_LIMIT, line, path, "",
                                "nesting deeper than %d", MAX_DEPTH);
            goto out;
        }
        name = xmlTextReaderConstLocalName(r);
        stack[depth] = (const char *)xmlTextReaderConstString(r, name);
        if (ehr < 0) {
            if (is(name, "EhrExtract"))
                ehr = depth;
            continue;
        }
        if (depth <= ehr)
            break; /* past the EhrExtract */
        if (depth == ehr + 1 && is(name, "component"))
            break; /* the ehrFolder: the envelope is complete */
        if (depth == ehr + 1 && is(name, "availabilityTime")) {
            attr(r, "value", ext, sizeof(ext));
            if (cse_time_parse_hl7(ext, &h->availability) != CSE_OK) {
                rc = cse__error_set(err, CSE_ERR_DATE, line, path,
                                    "EhrExtract/availabilityTime",
                                    "availabilityTime does not parse");
                goto out;
            }
            continue;
        }
        if (!is(name, "id") || depth < ehr + 3)
            continue;
        attr(r, "root", root, sizeof(root));
        attr(r, "extension", ext, sizeof(ext));
        if (strcmp(stack[ehr + 1], "recordTarget") == 0 &&
            strcmp(root, CSE_OID_NHS_NUMBER) == 0) {
            if (cse_nhs_number_canonical(ext, h->nhs) != CSE_OK)
                h->nhs[0] = '\0';
        } else if (strcmp(root, CSE_OID_ODS) == 0 && depth == ehr + 4) {
            /* An ODS code is short; a longer one is simply not this practice. */
            size_t n = strlen(ext);
            char *dst = strcmp(stack[ehr + 1], "author") == 0        ? h->author_ods
                        : strcmp(stack[ehr + 1], "destination") == 0 ? h->dest_ods
                                                                     : NULL;
            if (dst != NULL && n < sizeof(h->dest_ods))
                memcpy(dst, ext, n + 1);
        }
        cse__wipe(ext, sizeof(ext));
    }
    if (ret < 0) {
        const char *why = xe.msg;
        if (xe.code == XML_ERR_DOCUMENT_EMPTY)
            why = "empty document: no root element";
        else if (xe.code == XML_ERR_UNDECLARED_ENTITY ||
                 xe.code == XML_WAR_UNDECLARED_ENTITY || xe.code == XML_ERR_ENTITY_LOOP ||
                 xe.code == XML_ERR_ENTITYREF_SEMICOL_MISSING)
            why = "entity references are refused";
        else if (strstr(xe.msg, "Huge") != NULL ||
                 xe.code == XML_ERR_ATTRIBUTE_NOT_FINISHED ||
                 xe.code == XML_ERR_ATTRIBUTE_WITHOUT_VALUE)
            why = "an attribute or text is too large or unfinished (size limit)";
        rc = cse__error_set(
            err, CSE_ERR_PARSE, xe.line ? xe.line : xmlTextReaderGetParserLineNumber(r),
            path, "", "XML is not well-formed: %s", why[0] ? why : "parse error");
        goto out;
    }
    if (ehr < 0)
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, line, path, "",
                            "not a GP2GP extract: no EhrExtract element");
out:
    cse__wipe(ext, sizeof(ext));
    xmlFreeTextReader(r);
    return rc;
}
