/* SPDX-License-Identifier: MIT */
/* GP2GP export and import through the core converters, all in memory: the
 * plug-in never writes clinical data to disk.
 *
 * Export: FHIR R4 record -> FHIR reader -> GP2GP writer (UK07) -> repair
 *         pass (NOPAT on markers and their compositions, legacy codes
 *         promoted) -> XML.
 * Import: XML -> GP2GP reader -> (tee: note markers and candidates) -> FHIR
 *         R4 writer -> JSON. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csemarker/fhirread.h>
#include <csemarker/fhirwrite.h>
#include <csemarker/gp2gp.h>
#include <csemarker/repair.h>

#include "internal.h"
#include "plugin_internal.h"

/* ---- Export ------------------------------------------------------------- */

cse_code cse__gp2gp_export(const char *record_json, const cse__export_opt *opt,
                           char **xml, size_t *len, cse_error *err)
{
    char *mid = NULL, *out = NULL;
    size_t midlen = 0, outlen = 0;
    FILE *mf = NULL, *of = NULL;
    cse_sink *w = NULL;
    cse_gp2gp_write_options wo = {0};
    cse_repair_report rep;
    cse_code rc;

    *xml = NULL;
    *len = 0;
    wo.uk06 = 0;
    wo.sender_ods = opt->sender_ods;
    wo.receiver_ods = opt->receiver_ods;
    wo.sender_asid = opt->sender_asid;
    wo.receiver_asid = opt->receiver_asid;
    wo.message_id = opt->message_id;
    if ((mf = open_memstream(&mid, &midlen)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if ((w = cse_gp2gp_writer_new(mf, &wo, err)) == NULL) {
        rc = err ? err->code : CSE_ERR_INTERNAL;
        goto out;
    }
    if ((rc = cse_fhir_read_memory(record_json, strlen(record_json), "record", NULL, w,
                                   err)) != CSE_OK)
        goto out;
    cse_sink_free(w);
    w = NULL;
    if (fclose(mf) != 0) {
        mf = NULL;
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    mf = NULL;
    if ((of = open_memstream(&out, &outlen)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if ((rc = cse_gp2gp_repair_memory(mid, midlen, "export", of, NULL, &rep, err)) !=
        CSE_OK)
        goto out;
    if (fclose(of) != 0) {
        of = NULL;
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    of = NULL;
    *xml = out;
    *len = outlen;
    out = NULL;
out:
    cse_sink_free(w);
    if (mf)
        fclose(mf);
    if (of)
        fclose(of);
    free(mid);
    free(out);
    return rc;
}

/* ---- Import ------------------------------------------------------------- */

/* A sink that passes everything to the FHIR writer and notes what a
 * clinician must review. */
typedef struct tee {
    cse_sink *inner;
    json_t *markers;
    json_t *candidates;
    char *extract_id;   /* EhrExtract id, NULL when absent */
    char *addressed_to; /* destination ODS code, NULL when absent */
} tee;

static cse_code tee_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    tee *t = s->data;
    if (info &&
        ((info->extract_id && (t->extract_id = strdup(info->extract_id)) == NULL) ||
         (info->destination_ods &&
          (t->addressed_to = strdup(info->destination_ods)) == NULL)))
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return t->inner->begin(t->inner, info, err);
}

static cse_code tee_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    tee *t = s->data;
    return t->inner->agent(t->inner, a, err);
}

static cse_code tee_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                          cse_error *err)
{
    tee *t = s->data;
    json_t *item = NULL;

    if (info && info->cls == CSE_CLASS_MARKER && info->marker) {
        bool annotated = false;
        cse_marker *m = cse_marker_from_entry(e, &annotated, NULL);
        const cse_marker *use = info->marker;
        item = json_pack("{s:s?,s:s?,s:s,s:b,s:b}", "marker_id", use->id, "code",
                         use->code, "status", cse_marker_status_name(use->status),
                         "annotated", m ? annotated : 0, "arrived_with_nopat",
                         ((e->labels | e->inherited_labels) & CSE_LABEL_NOPAT) != 0);
        cse_marker_free(m);
        if (item == NULL || json_array_append_new(t->markers, item) != 0)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    } else if (info && info->cls == CSE_CLASS_CANDIDATE) {
        const char *code = e->code.n > 0 ? e->code.codings[0].code : NULL;
        /* The original text goes to the clinician who reviews it, never to a
         * log. */
        item = json_pack("{s:s?,s:s,s:s?,s:s?,s:i}", "entry_id", e->id, "reason",
                         cse_candidate_reason_name(info->reason), "code", code, "text",
                         e->code.text, "line", e->source_line);
        if (item == NULL || json_array_append_new(t->candidates, item) != 0)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    }
    return t->inner->entry(t->inner, e, info, err);
}

static cse_code tee_end(cse_sink *s, const cse_summary *sum, cse_error *err)
{
    tee *t = s->data;
    return t->inner->end(t->inner, sum, err);
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return false;
    return true;
}

cse_code cse__gp2gp_import(const char *xml, size_t len, char **record_json,
                           json_t **review, cse_error *err)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *mf = NULL;
    tee t = {0};
    cse_sink s = {tee_begin, tee_agent, tee_entry, tee_end, NULL, &t};
    cse_fhir_write_options fo = {.pretty = 1};
    cse_code rc = CSE_OK;

    *record_json = NULL;
    *review = NULL;
    /* libxml2 calls an empty document "Extra content at the end of the
     * document", which sends a reader looking for the wrong thing. */
    if (blank(xml, len))
        return cse__error_set(err, CSE_ERR_PARSE, 1, "extract", NULL,
                              "the input is empty: no root element");
    if ((t.markers = json_array()) == NULL || (t.candidates = json_array()) == NULL ||
        (mf = open_memstream(&buf, &blen)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if ((t.inner = cse_fhir_r4_writer_new(mf, &fo, err)) == NULL) {
        rc = err ? err->code : CSE_ERR_INTERNAL;
        goto out;
    }
    if ((rc = cse_gp2gp_read_memory(xml, len, "extract", NULL, &s, err)) != CSE_OK)
        goto out;
    cse_sink_free(t.inner);
    t.inner = NULL;
    if (fclose(mf) != 0) {
        mf = NULL;
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    mf = NULL;
    if ((*review = json_pack("{s:O,s:O,s:s?,s:s?}", "markers", t.markers, "candidates",
                             t.candidates, "extract_id", t.extract_id, "addressed_to",
                             t.addressed_to)) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    *record_json = buf;
    buf = NULL;
out:
    cse_sink_free(t.inner);
    if (mf)
        fclose(mf);
    free(buf);
    json_decref(t.markers);
    json_decref(t.candidates);
    free(t.extract_id);
    free(t.addressed_to);
    return rc;
}
