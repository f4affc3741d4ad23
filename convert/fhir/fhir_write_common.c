/* SPDX-License-Identifier: MIT */
/* The FHIR writer's machinery: a Bundle streamed one resource at a time, the
 * agent directory, the current composition and the write report; what goes
 * in the Bundle is the one mapping's (fhir_map_entry.c, fhir_map.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fhir_write_common.h"

/* Caps on what a writer keeps: these grow with the directory or a single
 * composition, never with the whole record, but hostile input must not make
 * them unbounded. */
#define FW_MAX_ITEMS 1000000u
#define FW_MAX_LOSS_KINDS 1024u
#define FW_MAX_NOPAT_IDS 20000u
/* One resource's JSON: a statement is capped in size by the reader. */
#define FW_MAX_RESOURCE_BYTES (64u * 1024u * 1024u)
/* The values one sink call builds (a marker makes two resources). */
#define FW_MAX_ARENA_BYTES (4u * FW_MAX_RESOURCE_BYTES)

static const char *const nopat_display =
    "no disclosure to patient, family or caregivers without attending provider's "
    "authorization";

/* ---- Small containers --------------------------------------------------- */

static void *vec_push(cse__fw_vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void *p;
        if (v->cap >= FW_MAX_ITEMS)
            return NULL;
        if ((p = realloc(v->items, cap * v->size)) == NULL)
            return NULL;
        v->items = p;
        v->cap = cap;
    }
    return (char *)v->items + v->size * v->n++;
}

void *cse__fw_vec_push(cse__fw_vec *v)
{
    return vec_push(v);
}

static void *vec_at(const cse__fw_vec *v, size_t i)
{
    return (char *)v->items + v->size * i;
}

static cse_code nomem(cse_error *err)
{
    return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
}

static void clear_compounds(cse__fhirw *w)
{
    for (size_t i = 0; i < w->compounds.n; i++) {
        cse__fw_compound *c = vec_at(&w->compounds, i);
        free(c->id);
        free(c->cls);
    }
    w->compounds.n = 0;
}

/* Recent statements and held problems (defined below). */
static cse_code remember(cse__fhirw *w, const cse_entry *e, bool marker, cse_error *err);
static cse_code flush_problems(cse__fhirw *w, cse_error *err);
static cse_code hold_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                             cse_error *err);

/* ---- The sink ---------------------------------------------------------- */

static cse_code write_str(cse__fhirw *w, const char *s, cse_error *err)
{
    if (fputs(s, w->out) == EOF)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "cannot write the output");
    return CSE_OK;
}

static cse_code fw_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    cse__fhirw *w = (cse__fhirw *)s;
    const cse_patient *p = info ? info->patient : NULL;
    const char *seed = NULL, *ns = NULL;
    char canon[11], uuid[37], *id = NULL;
    json_t *meta = NULL;
    char *ms = NULL;
    cse_code rc = CSE_OK;

    if (w->begun)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                              "the writer was started twice");
    w->begun = true;
    cse__jw_arena_reset(w->jw);
    if (info)
        w->extract_time = info->availability;
    if (p && p->nhs_number && cse_nhs_number_canonical(p->nhs_number, canon) == CSE_OK &&
        (w->nhs_number = strdup(canon)) == NULL)
        return nomem(err);
    /* The Patient id is stable for the same patient across conversions. */
    if (w->nhs_number)
        ns = "nhs-number", seed = w->nhs_number;
    else if (p && p->local_id)
        ns = p->local_id_root ? p->local_id_root : "local-id", seed = p->local_id;
    else if (info && info->extract_id)
        ns = "extract", seed = info->extract_id;
    if (seed ? cse_uuid_derive(ns, seed, w->patient_id) != CSE_OK
             : cse_uuid_random(w->patient_id) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                              "cannot make the Patient id");
    if (info && info->author_ods) {
        if (asprintf(&w->identifier_system, "https://PSSAdaptor/%s", info->author_ods) <
            0) {
            w->identifier_system = NULL;
            return nomem(err);
        }
        if (cse_uuid_derive("ods", info->author_ods, uuid) != CSE_OK ||
            (w->org_id = strdup(uuid)) == NULL)
            return nomem(err);
    }
    if (w->bundle_id) {
        id = w->bundle_id;
    } else {
        if (info && info->extract_id ? cse_uuid_derive("bundle", info->extract_id, uuid)
                                     : cse_uuid_random(uuid))
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                                  "cannot make the Bundle id");
        id = uuid;
    }
    if (w->v->bundle_profile &&
        (meta = json_pack("{s:[s]}", "profile", w->v->bundle_profile)) == NULL)
        return nomem(err);
    if (meta && (ms = json_dumps(meta, JSON_COMPACT)) == NULL) {
        json_decref(meta);
        return nomem(err);
    }
    json_decref(meta);
    {
        json_t *jid = json_string(id);
        char *ids = jid ? json_dumps(jid, JSON_ENCODE_ANY) : NULL;
        json_decref(jid);
        if (ids == NULL) {
            free(ms);
            return nomem(err);
        }
        if (w->pretty)
            rc = fprintf(w->out,
                         "{\n  \"resourceType\": \"Bundle\",\n  \"id\": %s,\n%s%s%s"
                         "  \"type\": \"collection\",\n  \"entry\": [",
                         ids, ms ? "  \"meta\": " : "", ms ? ms : "", ms ? ",\n" : "") < 0
                     ? CSE_ERR_IO
                     : CSE_OK;
        else
            rc = fprintf(w->out,
                         "{\"resourceType\":\"Bundle\",\"id\":%s,%s%s%s"
                         "\"type\":\"collection\",\"entry\":[",
                         ids, ms ? "\"meta\":" : "", ms ? ms : "", ms ? "," : "") < 0
                     ? CSE_ERR_IO
                     : CSE_OK;
        free(ids);
    }
    free(ms);
    if (rc != CSE_OK)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "cannot write the output");
    return cse__fw_map_patient(w, info, err);
}

static cse_code fw_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    cse__fhirw *w = (cse__fhirw *)s;
    cse_agent *d;

    cse__jw_arena_reset(w->jw);
    if (a == NULL || a->id == NULL)
        return cse__fw_loss(w, "agent without id", "cannot be referenced", 0, err);
    if ((d = cse_agent_dup(a)) == NULL)
        return nomem(err);
    if (w->agents.n >= FW_MAX_ITEMS || cse__ptrvec_push(&w->agents, d) != CSE_OK) {
        cse_agent_free(d);
        return cse__error_set(err, CSE_ERR_LIMIT, 0, NULL, "agentDirectory",
                              "too many agents");
    }
    return cse__fw_map_agent(w, a, err);
}

static cse_code fw_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                         cse_error *err)
{
    cse__fhirw *w = (cse__fhirw *)s;
    cse_entry_info none = {0};
    cse_code rc;

    cse__jw_arena_reset(w->jw);
    if (e == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL, "missing entry");
    if (info == NULL)
        info = &none;
    if ((rc = cse__fw_map_flush(w, e, err)) != CSE_OK)
        return rc;
    if ((rc = cse__fw_path_flush(w, e->kind == CSE_ENTRY_ENCOUNTER ? NULL : e, err)) !=
        CSE_OK)
        return rc;
    if (e->kind == CSE_ENTRY_ENCOUNTER &&
        ((rc = cse__fw_flush_medications(w, err)) != CSE_OK ||
         (rc = flush_problems(w, err)) != CSE_OK ||
         (rc = cse__fw_lists_flush(w, err)) != CSE_OK))
        return rc;
    if ((rc = cse__fw_track(w, e, err)) != CSE_OK)
        return rc;
    if ((rc = remember(w, e, info->cls == CSE_CLASS_MARKER && info->marker, err)) !=
        CSE_OK)
        return rc;
    /* Remembered so that a problem linking to it is labelled too; the list
     * holds labelled entries only and is capped. */
    if (e->id && cse__fw_entry_nopat(e) && w->nopat_ids.n < FW_MAX_NOPAT_IDS) {
        char *id = strdup(e->id);
        if (id == NULL || cse__ptrvec_push(&w->nopat_ids, id) != CSE_OK) {
            free(id);
            return nomem(err);
        }
        if (cse__smap_put(&w->nopat_set, id, NULL, true) != CSE_OK)
            return nomem(err);
    }
    if (info->cls == CSE_CLASS_CANDIDATE &&
        (rc = cse__fw_candidate(w, e, info->reason, err)) != CSE_OK)
        return rc;
    /* A marker entry whose marker could not be built is written as an
     * ordinary entry and listed for review, never dropped. */
    if (info->cls == CSE_CLASS_MARKER && info->marker == NULL &&
        (rc = cse__fw_candidate(w, e, CSE_CANDIDATE_DAMAGED, err)) != CSE_OK)
        return rc;
    if ((rc = cse__fw_lists_note(w, e, info, err)) != CSE_OK)
        return rc;
    if (e->kind == CSE_ENTRY_PROBLEM && !(info->cls == CSE_CLASS_MARKER && info->marker))
        return hold_problem(w, e, cse__fw_context(w, e), err);
    if (info->cls == CSE_CLASS_MARKER && info->marker) {
        w->report.markers++;
        if (!((info->marker ? info->marker->labels : 0) & CSE_LABEL_NOPAT) &&
            !cse__fw_entry_nopat(e) && (rc = cse__fw_nopat_added(w, e, err)) != CSE_OK)
            return rc;
    }
    if (cse__fw_path_wants(w, e, info))
        return cse__fw_path_hold(w, e, err);
    return cse__fw_map_entry(w, e, info, err);
}

static cse_code copy_losses(cse__fhirw *w, const cse_summary *sum, cse_error *err)
{
    for (size_t i = 0; sum && i < sum->n_losses; i++) {
        cse_loss_item *d = vec_push(&w->reader_losses);
        if (d == NULL)
            return nomem(err);
        memset(d, 0, sizeof(*d));
        d->count = sum->losses[i].count;
        d->first_line = sum->losses[i].first_line;
        if ((sum->losses[i].what && (d->what = strdup(sum->losses[i].what)) == NULL) ||
            (sum->losses[i].why && (d->why = strdup(sum->losses[i].why)) == NULL))
            return nomem(err);
    }
    return CSE_OK;
}

static cse_code fw_end(cse_sink *s, const cse_summary *summary, cse_error *err)
{
    cse__fhirw *w = (cse__fhirw *)s;
    cse_code rc;

    if (!w->begun)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                              "the writer was ended before it began");
    cse__jw_arena_reset(w->jw);
    if ((rc = cse__fw_path_flush(w, NULL, err)) != CSE_OK)
        return rc;
    if ((rc = cse__fw_map_flush(w, NULL, err)) != CSE_OK)
        return rc;
    if ((rc = cse__fw_flush_medications(w, err)) != CSE_OK ||
        (rc = flush_problems(w, err)) != CSE_OK ||
        (rc = cse__fw_lists_flush(w, err)) != CSE_OK)
        return rc;
    if ((rc = copy_losses(w, summary, err)) != CSE_OK)
        return rc;
    if ((rc = write_str(w, w->pretty ? "\n  ]\n}\n" : "]}\n", err)) != CSE_OK)
        return rc;
    if (fflush(w->out) != 0 || ferror(w->out))
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "cannot write the output");
    w->report.nopat_added = w->nopat_added.items;
    w->report.n_nopat_added = w->nopat_added.n;
    w->report.candidates = w->candidates.items;
    w->report.n_candidates = w->candidates.n;
    w->report.losses = w->losses.items;
    w->report.n_losses = w->losses.n;
    w->report.reader_losses = w->reader_losses.items;
    w->report.n_reader_losses = w->reader_losses.n;
    return CSE_OK;
}

static void free_items(cse__fw_vec *v)
{
    for (size_t i = 0; i < v->n; i++)
        free((char *)((cse_fhir_report_item *)vec_at(v, i))->entry_id);
    free(v->items);
}

static void fw_destroy(cse_sink *s)
{
    cse__fhirw *w = (cse__fhirw *)s;

    free(w->bundle_id);
    free(w->nhs_number);
    free(w->identifier_system);
    free(w->org_id);
    for (size_t i = 0; i < w->agents.n; i++)
        cse_agent_free(w->agents.items[i]);
    free(w->agents.items);
    free(w->enc_id);
    free(w->enc_performer);
    free(w->enc_recorder);
    cse__fw_medications_free(w);
    clear_compounds(w);
    free(w->compounds.items);
    free_items(&w->nopat_added);
    free_items(&w->candidates);
    free(w->losses.items);
    for (size_t i = 0; i < w->reader_losses.n; i++) {
        cse_loss_item *l = vec_at(&w->reader_losses, i);
        free((char *)l->what);
        free((char *)l->why);
    }
    free(w->reader_losses.items);
    for (size_t i = 0; i < w->nopat_ids.n; i++)
        free(w->nopat_ids.items[i]);
    for (size_t i = 0; w->recent && i < CSE__FW_RECENT; i++) {
        free(w->recent[i].id);
        cse_concept_clear(&w->recent[i].code);
    }
    free(w->recent);
    free(w->recent_head);
    free(w->recent_chain);
    cse__fw_held_clear(&w->problems, &w->problem_encs);
    free(w->problems.items);
    free(w->problem_encs.items);
    free(w->nopat_ids.items);
    cse__smap_free(&w->nopat_set);
    cse_entry_free(w->pending);
    free(w->pending_enc);
    cse__jw_arena_free(w->jw);
    cse__jw_arena_free(w->jw_keep);
    cse__jw_buf_free(&w->jbuf);
    free(w);
}

cse_sink *cse__fw_new(FILE *out, const cse_fhir_write_options *opt, bool stu3,
                      cse_error *err)
{
    cse__fhirw *w;

    if (out == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL, "no output stream");
        return NULL;
    }
    if ((w = calloc(1, sizeof(*w))) == NULL) {
        nomem(err);
        return NULL;
    }
    w->sink.begin = fw_begin;
    w->sink.agent = fw_agent;
    w->sink.entry = fw_entry;
    w->sink.end = fw_end;
    w->sink.destroy = fw_destroy;
    w->sink.data = w;
    w->v = cse__fw_version_of(stu3);
    w->out = out;
    w->stu3 = stu3;
    w->pretty = opt ? opt->pretty : 0;
    w->lookup = opt ? opt->lookup : NULL;
    w->compounds.size = sizeof(cse__fw_compound);
    w->nopat_added.size = sizeof(cse_fhir_report_item);
    w->candidates.size = sizeof(cse_fhir_report_item);
    w->losses.size = sizeof(cse_loss_item);
    w->reader_losses.size = sizeof(cse_loss_item);
    w->jbuf.max = w->pretty ? FW_MAX_ARENA_BYTES : FW_MAX_RESOURCE_BYTES;
    if ((opt && opt->bundle_id && (w->bundle_id = strdup(opt->bundle_id)) == NULL) ||
        (w->jw = cse__jw_arena_new(FW_MAX_ARENA_BYTES)) == NULL ||
        (w->jw_keep = cse__jw_arena_new(FW_MAX_RESOURCE_BYTES)) == NULL) {
        cse__jw_arena_free(w->jw);
        free(w->bundle_id);
        free(w);
        nomem(err);
        return NULL;
    }
    return &w->sink;
}

const cse_fhir_write_report *cse_fhir_writer_report(const cse_sink *s)
{
    if (s == NULL || s->destroy != fw_destroy)
        return NULL;
    return &((const cse__fhirw *)s)->report;
}

/* ---- Emitting ---------------------------------------------------------- */

/* Writes text with every newline followed by indent, so a pretty resource
 * nests inside the Bundle's entry array. */
static int put_indented(const char *text, size_t len, const char *indent, FILE *out)
{
    const char *p = text, *end = text + len, *nl;

    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (fwrite(p, 1, (size_t)(nl + 1 - p), out) != (size_t)(nl + 1 - p) ||
            fputs(indent, out) == EOF)
            return -1;
        p = nl + 1;
    }
    return fwrite(p, 1, (size_t)(end - p), out) == (size_t)(end - p) ? 0 : -1;
}

/* Compact: {"resource":...} on one line, serialised (as jansson's
 * JSON_COMPACT would) into a buffer that is reused from one resource to the
 * next. Pretty: the entry as JSON_INDENT(2) writes it, indented inside the
 * Bundle's array. */
cse_code cse__fw_emit(cse__fhirw *w, cse__jw *res, cse_error *err)
{
    cse__jw *entry;
    int bad;

    if (res == NULL)
        return nomem(err);
    w->jbuf.len = 0;
    if (!w->pretty) {
        if (cse__jw_dump(res, &w->jbuf, 0))
            return nomem(err);
        bad = fputs(w->report.resources ? ",{\"resource\":" : "{\"resource\":", w->out) ==
                  EOF ||
              fwrite(w->jbuf.data, 1, w->jbuf.len, w->out) != w->jbuf.len ||
              fputs("}\n", w->out) == EOF;
    } else {
        if ((entry = cse__jw_object(w->jw)) == NULL ||
            cse__jw_object_set(w->jw, entry, "resource", res) ||
            cse__jw_dump(entry, &w->jbuf, 2))
            return nomem(err);
        bad = fputs(w->report.resources ? ",\n    " : "\n    ", w->out) == EOF ||
              put_indented(w->jbuf.data, w->jbuf.len, "    ", w->out) != 0;
    }
    if (bad)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "cannot write the output");
    w->report.resources++;
    return CSE_OK;
}

/* ---- The report -------------------------------------------------------- */

cse_code cse__fw_loss(cse__fhirw *w, const char *what, const char *why, int line,
                      cse_error *err)
{
    cse_loss_item *l;

    for (size_t i = 0; i < w->losses.n; i++) {
        l = vec_at(&w->losses, i);
        if (strcmp(l->what, what) == 0 && strcmp(l->why, why) == 0) {
            l->count++;
            if (l->first_line == 0)
                l->first_line = line;
            return CSE_OK;
        }
    }
    if (w->losses.n >= FW_MAX_LOSS_KINDS || (l = vec_push(&w->losses)) == NULL)
        return nomem(err);
    l->what = what;
    l->why = why;
    l->count = 1;
    l->first_line = line;
    return CSE_OK;
}

static cse_code add_item(cse__fw_vec *v, const cse_entry *e, cse_candidate_reason r,
                         cse_error *err)
{
    cse_fhir_report_item *it = vec_push(v);

    if (it == NULL)
        return nomem(err);
    it->reason = r;
    it->line = e->source_line;
    it->entry_id = NULL;
    if (e->id && (it->entry_id = strdup(e->id)) == NULL) {
        v->n--;
        return nomem(err);
    }
    return CSE_OK;
}

cse_code cse__fw_candidate(cse__fhirw *w, const cse_entry *e, cse_candidate_reason r,
                           cse_error *err)
{
    return add_item(&w->candidates, e, r, err);
}

cse_code cse__fw_nopat_added(cse__fhirw *w, const cse_entry *e, cse_error *err)
{
    return add_item(&w->nopat_added, e, CSE_CANDIDATE_NONE, err);
}

static json_t *loss_json(const cse_loss_item *l, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_pack("{s:s*,s:s*,s:I,s:i}", "what", l[i].what,
                                                 "why", l[i].why, "count",
                                                 (json_int_t)l[i].count, "firstLine",
                                                 l[i].first_line))) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *items_json(const cse_fhir_report_item *it, size_t n, bool reasons)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s*,s:i}", "entry", it[i].entry_id, "line", it[i].line);
        if (o && reasons &&
            json_object_set_new(o, "reason",
                                json_string(cse_candidate_reason_name(it[i].reason)))) {
            json_decref(o);
            o = NULL;
        }
        if (json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static cse_code print_json(const cse_fhir_write_report *r, FILE *out, cse_error *err)
{
    json_t *o =
        json_pack("{s:I,s:I,s:o,s:o,s:o,s:o}", "resources", (json_int_t)r->resources,
                  "markers", (json_int_t)r->markers, "nopatAdded",
                  items_json(r->nopat_added, r->n_nopat_added, false), "candidates",
                  items_json(r->candidates, r->n_candidates, true), "losses",
                  loss_json(r->losses, r->n_losses), "readerLosses",
                  loss_json(r->reader_losses, r->n_reader_losses));
    int bad;

    if (o == NULL)
        return nomem(err);
    bad = json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
          fputc('\n', out) == EOF;
    json_decref(o);
    if (bad)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "cannot write the report");
    return CSE_OK;
}

cse_code cse_fhir_write_report_print(const cse_fhir_write_report *r, FILE *out, int json,
                                     cse_error *err)
{
    int bad = 0;

    if (r == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if (json)
        return print_json(r, out, err);
    bad |= fprintf(out, "resources written: %zu\nmarkers: %zu\n", r->resources,
                   r->markers) < 0;
    for (size_t i = 0; i < r->n_nopat_added; i++)
        bad |=
            fprintf(out,
                    "NOPAT added: marker entry %s (line %d) arrived without the "
                    "NOPAT label\n",
                    r->nopat_added[i].entry_id ? r->nopat_added[i].entry_id : "(no id)",
                    r->nopat_added[i].line) < 0;
    for (size_t i = 0; i < r->n_candidates; i++)
        bad |= fprintf(out, "review candidate: entry %s (line %d): %s\n",
                       r->candidates[i].entry_id ? r->candidates[i].entry_id : "(no id)",
                       r->candidates[i].line,
                       cse_candidate_reason_name(r->candidates[i].reason)) < 0;
    for (size_t i = 0; i < r->n_reader_losses; i++)
        bad |= fprintf(out, "not read: %s: %zu (first at line %d): %s\n",
                       r->reader_losses[i].what ? r->reader_losses[i].what : "?",
                       r->reader_losses[i].count, r->reader_losses[i].first_line,
                       r->reader_losses[i].why ? r->reader_losses[i].why : "") < 0;
    for (size_t i = 0; i < r->n_losses; i++)
        bad |= fprintf(out, "not written: %s: %zu (first at line %d): %s\n",
                       r->losses[i].what, r->losses[i].count, r->losses[i].first_line,
                       r->losses[i].why) < 0;
    if (bad)
        return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "cannot write the report");
    return CSE_OK;
}

/* ---- The composition being written ------------------------------------- */

const cse_agent *cse__fw_find_agent(const cse__fhirw *w, const char *id)
{
    for (size_t i = 0; id && i < w->agents.n; i++) {
        const cse_agent *a = w->agents.items[i];
        if (strcmp(a->id, id) == 0)
            return a;
    }
    return NULL;
}

static const cse__fw_compound *find_compound(const cse__fhirw *w, const char *id)
{
    for (size_t i = 0; id && i < w->compounds.n; i++) {
        const cse__fw_compound *c = vec_at(&w->compounds, i);
        if (strcmp(c->id, id) == 0)
            return c;
    }
    return NULL;
}

cse_code cse__fw_track(cse__fhirw *w, const cse_entry *e, cse_error *err)
{
    cse__fw_compound *c;

    if (e->kind == CSE_ENTRY_ENCOUNTER) {
        clear_compounds(w);
        w->enc_skipped = false;
        if (cse_strset(&w->enc_id, e->id) != CSE_OK ||
            cse_strset(&w->enc_performer, e->enc.performer_ref) != CSE_OK ||
            cse_strset(&w->enc_recorder, e->enc.recorder_ref ? e->enc.recorder_ref
                                                             : e->author_ref) != CSE_OK)
            return nomem(err);
        w->enc_availability = e->availability;
        w->enc_authored = e->enc.authored;
        return CSE_OK;
    }
    if (e->kind != CSE_ENTRY_COMPOUND || e->id == NULL || e->parent_id == NULL ||
        w->enc_id == NULL ||
        (strcmp(e->parent_id, w->enc_id) != 0 && find_compound(w, e->parent_id) == NULL))
        return CSE_OK;
    if ((c = vec_push(&w->compounds)) == NULL)
        return cse__error_set(err, CSE_ERR_LIMIT, e->source_line, NULL,
                              "ehrComposition/component", "too many compound statements");
    c->id = strdup(e->id);
    c->cls = e->compound_class ? strdup(e->compound_class) : NULL;
    c->nondrug_allergy = false;
    for (size_t i = 0; i < e->code.n; i++)
        if (e->code.codings[i].code && strcmp(e->code.codings[i].code, "SN53.00") == 0)
            c->nondrug_allergy = true;
    if (c->id == NULL || (e->compound_class && c->cls == NULL)) {
        free(c->id);
        free(c->cls);
        w->compounds.n--;
        return nomem(err);
    }
    return CSE_OK;
}

const char *cse__fw_context(const cse__fhirw *w, const cse_entry *e)
{
    if (w->enc_id == NULL || e->parent_id == NULL)
        return NULL;
    if (strcmp(e->parent_id, w->enc_id) == 0 || find_compound(w, e->parent_id))
        return w->enc_skipped ? NULL : w->enc_id;
    return NULL;
}

const char *cse__fw_parent_class(const cse__fhirw *w, const cse_entry *e)
{
    const cse__fw_compound *c = find_compound(w, e->parent_id);
    return c ? c->cls : NULL;
}

bool cse__fw_parent_nondrug_allergy(const cse__fhirw *w, const cse_entry *e)
{
    const cse__fw_compound *c = find_compound(w, e->parent_id);
    return c && c->nondrug_allergy;
}

const char *cse__fw_named_id(const cse_entry *e)
{
    return e->n_links ? e->links[e->n_links - 1] : NULL;
}

/* ---- Recent statements and held problems -------------------------------- */

/* The hash chain a statement id is kept in (FNV-1a). */
static size_t recent_bucket(const char *id)
{
    size_t h = 1469598103934665603u;

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211u;
    return h & (CSE__FW_RECENT_BUCKETS - 1);
}

static void recent_unlink(cse__fhirw *w, int slot)
{
    int *p = &w->recent_head[recent_bucket(w->recent[slot].id)];

    while (*p != -1 && *p != slot)
        p = &w->recent_chain[*p];
    if (*p == slot)
        *p = w->recent_chain[slot];
}

static cse_code remember(cse__fhirw *w, const cse_entry *e, bool marker, cse_error *err)
{
    cse__fw_recent *r;
    int slot, *head;

    if (e->id == NULL || e->kind == CSE_ENTRY_ENCOUNTER || e->kind == CSE_ENTRY_PROBLEM)
        return CSE_OK;
    if (w->recent == NULL) {
        if ((w->recent_head = malloc(CSE__FW_RECENT_BUCKETS * sizeof(int))) == NULL ||
            (w->recent_chain = malloc(CSE__FW_RECENT * sizeof(int))) == NULL)
            return nomem(err);
        for (size_t i = 0; i < CSE__FW_RECENT_BUCKETS; i++)
            w->recent_head[i] = -1;
        if ((w->recent = calloc(CSE__FW_RECENT, sizeof(*w->recent))) == NULL)
            return nomem(err);
    }
    slot = (int)w->recent_next;
    r = &w->recent[slot];
    w->recent_next = (w->recent_next + 1) % CSE__FW_RECENT;
    if (r->id)
        recent_unlink(w, slot);
    free(r->id);
    cse_concept_clear(&r->code);
    r->kind = e->kind;
    r->marker = marker;
    r->nopat = cse__fw_entry_nopat(e) || marker;
    if ((r->id = strdup(e->id)) == NULL)
        return nomem(err);
    head = &w->recent_head[recent_bucket(r->id)];
    w->recent_chain[slot] = *head;
    *head = slot;
    if (cse_concept_copy(&r->code, &e->code) != CSE_OK)
        return nomem(err);
    return CSE_OK;
}

/* The statement remembered under id; of several, the one in the lowest slot
 * of the ring, as a scan of the ring from its start finds. */
static const cse__fw_recent *recall(const cse__fhirw *w, const char *id)
{
    int best = -1;

    if (id == NULL || w->recent == NULL)
        return NULL;
    for (int s = w->recent_head[recent_bucket(id)]; s != -1; s = w->recent_chain[s])
        if ((best == -1 || s < best) && strcmp(w->recent[s].id, id) == 0)
            best = s;
    return best == -1 ? NULL : &w->recent[best];
}

static bool id_labelled(const cse__fhirw *w, const char *id)
{
    return cse__smap_has(&w->nopat_set, id);
}

/* Writes the problems held for the composition that just ended. */
static cse_code flush_problems(cse__fhirw *w, cse_error *err)
{
    cse_code rc = CSE_OK;

    for (size_t i = 0; i < w->problems.n; i++) {
        cse_entry *e = w->problems.items[i];
        const cse__fw_recent *named = recall(w, cse__fw_named_id(e));
        if (rc == CSE_OK && named == NULL && cse__fw_named_id(e))
            rc = cse__fw_loss(
                w, "LinkSet named statement",
                "not seen near the problem: coded with the LinkSet's own code",
                e->source_line, err);
        cse__jw_arena_reset(w->jw);
        if (rc == CSE_OK)
            rc = cse__fw_map_problem(w, e, w->problem_encs.items[i], named,
                                     cse__fw_entry_nopat_linked(w, e), err);
    }
    cse__fw_held_clear(&w->problems, &w->problem_encs);
    return rc;
}

#define FW_MAX_HELD_PROBLEMS 10000u

static cse_code hold_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                             cse_error *err)
{
    cse_code rc;

    /* A composition with a great many problems: write what is held first. */
    if (w->problems.n >= FW_MAX_HELD_PROBLEMS && (rc = flush_problems(w, err)) != CSE_OK)
        return rc;
    return cse__fw_hold_entry(&w->problems, &w->problem_encs, e, enc, err);
}

cse_code cse__fw_hold_entry(cse__ptrvec *entries, cse__ptrvec *encs, const cse_entry *e,
                            const char *enc, cse_error *err)
{
    cse_entry *d;
    char *ed = NULL;

    if ((d = cse_entry_dup(e)) == NULL || (enc && (ed = strdup(enc)) == NULL) ||
        cse__ptrvec_push(entries, d) != CSE_OK) {
        cse_entry_free(d);
        free(ed);
        return nomem(err);
    }
    if (cse__ptrvec_push(encs, ed) != CSE_OK) {
        entries->n--;
        cse_entry_free(d);
        free(ed);
        return nomem(err);
    }
    return CSE_OK;
}

void cse__fw_held_clear(cse__ptrvec *entries, cse__ptrvec *encs)
{
    for (size_t i = 0; i < entries->n; i++) {
        cse_entry_free(entries->items[i]);
        free(encs->items[i]);
    }
    entries->n = encs->n = 0;
}

/* ---- JSON helpers ------------------------------------------------------- */

static cse__jw *strs_in(cse__jw_arena *a, const char *const *kv, size_t n)
{
    cse__jw *o = cse__jw_object(a);

    for (size_t i = 0; o && i < n; i++) {
        if (kv[2 * i + 1] == NULL)
            continue;
        if (cse__jw_object_set_static(a, o, kv[2 * i], strlen(kv[2 * i]),
                                      cse__jw_string(a, kv[2 * i + 1])))
            return NULL;
    }
    return o;
}

cse__jw *cse__fw_strs(const cse__fhirw *w, const char *const *kv, size_t n)
{
    return strs_in(w->jw, kv, n);
}

static cse__jw *ref_in(cse__jw_arena *a, const char *type, const char *id)
{
    char buf[256];
    const char *kv[2] = {"reference", buf};
    size_t n = strlen(type), m;

    if (id == NULL)
        return NULL;
    /* "type/id" cut to 255 bytes, as snprintf would. */
    if (n > sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    memcpy(buf, type, n);
    if (n < sizeof(buf) - 1)
        buf[n++] = '/';
    m = strlen(id);
    if (m > sizeof(buf) - 1 - n)
        m = sizeof(buf) - 1 - n;
    memcpy(buf + n, id, m);
    buf[n + m] = '\0';
    return strs_in(a, kv, 1);
}

cse__jw *cse__fw_ref(const cse__fhirw *w, const char *type, const char *id)
{
    return ref_in(w->jw, type, id);
}

cse__jw *cse__fw_agent_ref(const cse__fhirw *w, const char *agent_id)
{
    const cse_agent *a = cse__fw_find_agent(w, agent_id);

    if (agent_id == NULL)
        return NULL;
    return cse__fw_ref(
        w, a && a->kind == CSE_AGENT_ORGANISATION ? "Organization" : "Practitioner",
        agent_id);
}

cse__jw *cse__fw_patient_ref(cse__fhirw *w, bool with_nhs)
{
    cse__jw **cache = &w->patient_ref[with_nhs ? 1 : 0];
    cse__jw *r;

    if (*cache)
        return *cache;
    if ((r = ref_in(w->jw_keep, "Patient", w->patient_id)) == NULL)
        return NULL;
    if (with_nhs && w->nhs_number &&
        cse__jw_object_set(w->jw_keep, r, "identifier",
                           cse__jw_pack(w->jw_keep, "{s:s,s:s}", "system",
                                        CSE_FHIR_NHS_NUMBER, "value", w->nhs_number)))
        return NULL;
    /* Shared by every resource, like meta. */
    *cache = r;
    return r;
}

static cse__jw *make_meta(const cse__fhirw *w, cse__jw_arena *a, const char *profile,
                          bool nopat)
{
    cse__jw *m = cse__jw_pack(a, "{s:[s]}", "profile", profile);

    if (m && nopat &&
        cse__jw_object_set(a, m, "security",
                           cse__jw_pack(a, "[{s:s,s:s,s:s}]", "system", w->v->actcode,
                                        "code", "NOPAT", "display", nopat_display)))
        return NULL;
    return m;
}

/* meta objects are the same for every resource of a profile, so they are
 * made once and shared (nothing modifies them). */
cse__jw *cse__fw_keep_string(cse__fhirw *w, cse__jw **slot, const char *s)
{
    if (*slot == NULL)
        *slot = cse__jw_string(w->jw_keep, s);
    return *slot;
}

cse__jw *cse__fw_meta(cse__fhirw *w, const char *profile, bool nopat)
{
    size_t i;

    for (i = 0; i < CSE__FW_META_CACHE && w->meta_cache[i].meta; i++)
        if (w->meta_cache[i].nopat == nopat &&
            (w->meta_cache[i].profile == profile ||
             strcmp(w->meta_cache[i].profile, profile) == 0))
            return w->meta_cache[i].meta;
    if (i == CSE__FW_META_CACHE)
        return make_meta(w, w->jw, profile, nopat);
    if ((w->meta_cache[i].meta = make_meta(w, w->jw_keep, profile, nopat)) == NULL)
        return NULL;
    w->meta_cache[i].profile = profile;
    w->meta_cache[i].nopat = nopat;
    return w->meta_cache[i].meta;
}

/* The SNOMED description-id extension: GP Connect's in STU3, UK Core's in R4.
 * With a lookup that knows the description, the coding is its concept. */
static cse__jw *descid_coding(const cse__fhirw *w, const cse_coding *k)
{
    cse__jw *ext = cse__jw_pack(w->jw, "[{s:s,s:[{s:s,s:s}]}]", "url", w->v->descid_ext,
                                "extension", "url", "descriptionId", "valueId", k->code);
    cse__jw *coding;
    char concept[32];

    if (ext && k->display &&
        cse__jw_array_append(w->jw,
                             cse__jw_object_get(cse__jw_array_get(ext, 0), "extension"),
                             cse__jw_pack(w->jw, "{s:s,s:s}", "url", "descriptionDisplay",
                                          "valueString", k->display)))
        return NULL;
    if (ext == NULL)
        return NULL;
    if (w->lookup && w->lookup->concept_of &&
        w->lookup->concept_of(w->lookup->ctx, k->code, concept, sizeof(concept))) {
        const char *kv[6] = {"system", CSE_SYSTEM_SNOMED, "code",
                             concept,  "display",         k->display};
        if ((coding = cse__fw_strs(w, kv, 3)) == NULL ||
            cse__jw_object_set(w->jw, coding, "extension", ext))
            return NULL;
        return coding;
    }
    return cse__jw_pack(w->jw, "{s:o}", "extension", ext);
}

cse__jw *cse__fw_concept(const cse__fhirw *w, const cse_concept *c)
{
    cse__jw *cc, *codings;

    if (c == NULL || (c->n == 0 && c->text == NULL))
        return NULL;
    if ((cc = cse__jw_object(w->jw)) == NULL)
        return NULL;
    if (c->n) {
        if ((codings = cse__jw_array(w->jw)) == NULL ||
            cse__jw_object_set(w->jw, cc, "coding", codings))
            return NULL;
        for (size_t i = 0; i < c->n; i++) {
            const cse_coding *k = &c->codings[i];
            cse__jw *j;
            if (k->code == NULL)
                continue;
            if (k->system && strcmp(k->system, CSE_SYSTEM_SNOMED) == 0 &&
                cse_sctid_classify(k->code) == CSE_SCTID_DESCRIPTION)
                j = descid_coding(w, k);
            else {
                const char *kv[6] = {"system", k->system, "code",
                                     k->code,  "display", k->display};
                j = cse__fw_strs(w, kv, 3);
            }
            if (cse__jw_array_append(w->jw, codings, j))
                return NULL;
        }
    }
    if (cse__jw_array_size(cse__jw_object_get(cc, "coding")) == 0)
        cse__jw_object_del(cc, "coding");
    if (c->text && cse__jw_object_set(w->jw, cc, "text", cse__jw_string(w->jw, c->text)))
        return NULL;
    if (cse__jw_object_size(cc) == 0)
        return NULL;
    return cc;
}

/* Day of the week, 0 = Sunday (Sakamoto). */
static int weekday(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int last_sunday(int y, int m)
{
    int d = 31;
    return d - weekday(y, m, d);
}

/* GP2GP times are UK civil time: British Summer Time runs from 01:00 GMT on
 * the last Sunday of March to 01:00 GMT on the last Sunday of October. */
static bool uk_summer_time(const cse_time *t)
{
    int mar = last_sunday(t->year, 3), oct = last_sunday(t->year, 10);

    if (t->month < 3 || t->month > 10)
        return false;
    if (t->month > 3 && t->month < 10)
        return true;
    if (t->month == 3)
        return t->day > mar || (t->day == mar && t->hour >= 1);
    return t->day < oct || (t->day == oct && t->hour < 1);
}

const char *cse__fw_time_str(const cse_time *t, char buf[40])
{
    size_t n;

    buf[0] = '\0';
    if (t == NULL || t->precision == CSE_TIME_NONE)
        return buf;
    cse_time_format_fhir(t, buf, 40);
    if (t->precision > CSE_TIME_DAY) {
        /* The UK offset, cut at 40 bytes as one snprintf of it all would. */
        const char *zone = uk_summer_time(t) ? "+01:00" : "+00:00";
        size_t k;
        n = strlen(buf);
        k = 40 - n - 1 < 6 ? 40 - n - 1 : 6;
        memcpy(buf + n, zone, k);
        buf[n + k] = '\0';
    }
    return buf;
}

cse__jw *cse__fw_time(const cse__fhirw *w, const cse_time *t)
{
    char buf[40];

    if (t == NULL || t->precision == CSE_TIME_NONE)
        return NULL;
    return cse__jw_string(w->jw, cse__fw_time_str(t, buf));
}

const cse_time *cse__fw_effective(const cse_entry *e)
{
    if (e->effective_center.precision != CSE_TIME_NONE)
        return &e->effective_center;
    if (e->effective_low.precision != CSE_TIME_NONE)
        return &e->effective_low;
    return NULL;
}

cse__jw *cse__fw_period(const cse__fhirw *w, const cse_time *from, const cse_time *to)
{
    cse__jw *p = cse__jw_object(w->jw);
    if (p == NULL)
        return NULL;
    cse__fw_set(w, p, "start", cse__fw_time(w, from));
    cse__fw_set(w, p, "end", cse__fw_time(w, to));
    return cse__jw_object_size(p) ? p : NULL;
}

bool cse__fw_set_effective(const cse__fhirw *w, cse__jw *res, const cse_entry *e,
                           const cse_time *when)
{
    if (e->effective_high.precision != CSE_TIME_NONE)
        return cse__fw_set(w, res, "effectivePeriod",
                           cse__fw_period(w, cse__fw_effective(e), &e->effective_high));
    return cse__fw_set(w, res, "effectiveDateTime", cse__fw_time(w, when));
}

cse__jw *cse__fw_notes(const cse__fhirw *w, const cse_entry *e)
{
    cse__jw *arr;

    if (e->n_annotations == 0)
        return NULL;
    if ((arr = cse__jw_array(w->jw)) == NULL)
        return NULL;
    for (size_t i = 0; i < e->n_annotations; i++)
        if (cse__jw_array_append(w->jw, arr,
                                 cse__jw_pack(w->jw, "{s:s}", "text", e->annotations[i])))
            return NULL;
    return arr;
}

static const char *end_reason_display(const char *code)
{
    if (strcmp(code, CSE_END_NO_LONGER_AT_RISK) == 0)
        return "No longer at risk";
    if (strcmp(code, CSE_END_REACHED_ADULTHOOD) == 0)
        return "Reached adulthood";
    if (strcmp(code, CSE_END_SUPERSEDED) == 0)
        return "Superseded";
    if (strcmp(code, CSE_END_OTHER) == 0)
        return "Other";
    return NULL;
}

bool cse__fw_marker_extensions(const cse__fhirw *w, cse__jw *arr, const cse_marker *m)
{
    char date[32];

    if (m->review.precision != CSE_TIME_NONE &&
        cse__jw_array_append(
            w->jw, arr,
            cse__jw_pack(w->jw, "{s:s,s:s}", "url", CSE_FHIR_EXT_REVIEW_DATE, "valueDate",
                         cse_time_format_fhir_date(&m->review, date, sizeof(date)))))
        return false;
    /* The last review travels too (the GP2GP annotation carries it). */
    if (m->last_reviewed.precision != CSE_TIME_NONE &&
        cse__jw_array_append(w->jw, arr,
                             cse__jw_pack(w->jw, "{s:s,s:s}", "url",
                                          CSE_FHIR_EXT_LAST_REVIEWED, "valueDate",
                                          cse_time_format_fhir_date(&m->last_reviewed,
                                                                    date, sizeof(date)))))
        return false;
    if (m->status == CSE_MARKER_INACTIVE && m->end_reason &&
        cse__jw_array_append(
            w->jw, arr,
            cse__jw_pack(w->jw, "{s:s,s:{s:s,s:s,s:s*}}", "url", CSE_FHIR_EXT_END_REASON,
                         "valueCoding", "system", CSE_FHIR_CS_END_REASON, "code",
                         m->end_reason, "display", end_reason_display(m->end_reason))))
        return false;
    return true;
}

bool cse__fw_entry_nopat(const cse_entry *e)
{
    return ((e->labels | e->inherited_labels) & CSE_LABEL_NOPAT) != 0;
}

bool cse__fw_entry_nopat_linked(const cse__fhirw *w, const cse_entry *e)
{
    if (cse__fw_entry_nopat(e))
        return true;
    for (size_t i = 0; i < e->n_links; i++)
        if (id_labelled(w, e->links[i]))
            return true;
    return false;
}

static bool has_snomed(const cse__jw *cc)
{
    const cse__jw *codings = cse__jw_object_get(cc, "coding");

    for (size_t i = 0; i < cse__jw_array_size(codings); i++) {
        const cse__jw *k = cse__jw_array_get(codings, i);
        const char *sys = cse__jw_string_value(cse__jw_object_get(k, "system"));
        /* A description id counts: the adaptor would have its concept. */
        if ((sys && strcmp(sys, CSE_SYSTEM_SNOMED) == 0) ||
            (sys == NULL && cse__jw_object_get(k, "extension")))
            return true;
    }
    return false;
}

cse__jw *cse__fw_degrade(const cse__fhirw *w, cse__jw *cc, const char *code,
                         const char *display)
{
    cse__jw *codings;

    if (cc == NULL && (cc = cse__jw_object(w->jw)) == NULL)
        return NULL;
    if (has_snomed(cc))
        return cc;
    if ((codings = cse__jw_object_get(cc, "coding")) == NULL) {
        if ((codings = cse__jw_array(w->jw)) == NULL ||
            cse__jw_object_set(w->jw, cc, "coding", codings))
            return NULL;
    }
    if (cse__jw_array_insert(w->jw, codings, 0,
                             cse__jw_pack(w->jw, "{s:s,s:s,s:s}", "system",
                                          CSE_SYSTEM_SNOMED, "code", code, "display",
                                          display)))
        return NULL;
    return cc;
}
