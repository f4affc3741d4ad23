/* SPDX-License-Identifier: MIT */
/* Schema validation of GP2GP messages with libxml2's xmlSchema.
 *
 * The message is parsed with network access off, no entity substitution and
 * no DTD loading; the schema is picked by the root element. libxml2's
 * messages quote offending values; those quotes are redacted when they hold
 * digits or spaces, so an NHS number or a text from the record never reaches
 * an error message. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "internal.h"
#include <csemarker/gp2gp.h>

typedef struct first_error {
    bool seen;
    int line;
    char path[512];
    char message[400];
} first_error;

/* Copies msg into out, replacing a quoted value that holds a digit or a
 * space with '...'. Element and type names stay readable. */
static void redact(const char *msg, char *out, size_t size)
{
    size_t o = 0;
    while (*msg && o + 8 < size) {
        const char *close;
        if (*msg == '\'' && (close = strchr(msg + 1, '\'')) != NULL) {
            bool hide = false;
            for (const char *p = msg + 1; p < close; p++)
                if (isdigit((unsigned char)*p) || isspace((unsigned char)*p))
                    hide = true;
            if (hide) {
                o += (size_t)snprintf(out + o, size - o, "'...'");
                msg = close + 1;
                continue;
            }
            size_t n = (size_t)(close - msg + 1);
            if (o + n >= size)
                break;
            memcpy(out + o, msg, n);
            o += n;
            msg = close + 1;
            continue;
        }
        out[o++] = *msg == '\n' ? ' ' : *msg;
        msg++;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static void on_error(void *ctx, const xmlError *e)
{
    first_error *fe = ctx;
    xmlChar *path;

    if (fe->seen || e == NULL || e->level < XML_ERR_ERROR)
        return;
    fe->seen = true;
    fe->line = e->line;
    redact(e->message ? e->message : "schema error", fe->message, sizeof(fe->message));
    if (e->node && ((xmlNodePtr)e->node)->type == XML_ELEMENT_NODE &&
        (path = xmlGetNodePath((xmlNodePtr)e->node)) != NULL) {
        snprintf(fe->path, sizeof(fe->path), "%s", (const char *)path);
        xmlFree(path);
        if (fe->line == 0)
            fe->line = xmlGetLineNo((xmlNodePtr)e->node);
    }
}

/* libxml2 before 2.12 passes a non-const error. */
static void on_error_compat(void *ctx, xmlErrorPtr e)
{
    on_error(ctx, e);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

cse_code cse_gp2gp_validate_file(const char *path, const char *schema_dir, cse_error *err)
{
    xmlDocPtr doc = NULL;
    xmlSchemaParserCtxtPtr pctx = NULL;
    xmlSchemaPtr schema = NULL;
    xmlSchemaValidCtxtPtr vctx = NULL;
    xmlNodePtr root;
    first_error fe = {0};
    char xsd[4096];
    const char *name;
    cse_code rc = CSE_OK;

    if (path == NULL || schema_dir == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, path, NULL,
                              "missing argument");
    doc = xmlReadFile(path, NULL,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            return cse__error_set(err, CSE_ERR_IO, 0, path, NULL, "cannot open the file");
        fclose(f);
        return cse__error_set(err, CSE_ERR_PARSE, e ? e->line : 0, path, NULL,
                              "not well-formed XML");
    }
    root = xmlDocGetRootElement(doc);
    name = root ? (const char *)root->name : "";
    if (strcmp(name, "RCMR_IN030000UK06") != 0 &&
        strcmp(name, "RCMR_IN030000UK07") != 0) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, root ? xmlGetLineNo(root) : 0, path,
                            name,
                            "not a GP2GP message: expected RCMR_IN030000UK06 or "
                            "RCMR_IN030000UK07");
        goto out;
    }
    snprintf(xsd, sizeof(xsd), "%s/Schemas/%s.xsd", schema_dir, name);
    if (!is_file(xsd))
        snprintf(xsd, sizeof(xsd), "%s/%s.xsd", schema_dir, name);
    if (!is_file(xsd)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, schema_dir, NULL,
                            "no %s.xsd in this folder or its Schemas folder", name);
        goto out;
    }
    if ((pctx = xmlSchemaNewParserCtxt(xsd)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL, "out of memory");
        goto out;
    }
    xmlSchemaSetParserStructuredErrors(pctx, on_error_compat, &fe);
    if ((schema = xmlSchemaParse(pctx)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, xsd, NULL, "the schema does not load: %s",
                            fe.message);
        goto out;
    }
    if ((vctx = xmlSchemaNewValidCtxt(schema)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL, "out of memory");
        goto out;
    }
    memset(&fe, 0, sizeof(fe));
    xmlSchemaSetValidStructuredErrors(vctx, on_error_compat, &fe);
    if (xmlSchemaValidateDoc(vctx, doc) != 0) {
        rc = cse__error_set(err, CSE_ERR_SCHEMA, fe.line, path, fe.path,
                            "not valid against %s.xsd: %s", name,
                            fe.seen ? fe.message : "schema validation failed");
    }
out:
    xmlSchemaFreeValidCtxt(vctx);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pctx);
    xmlFreeDoc(doc);
    return rc;
}
