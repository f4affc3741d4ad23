/* SPDX-License-Identifier: MIT */
/* The texts of referrals, plans and documents, as the national sending
 * adaptor composes them (see fhir_read_request.h). Each text is built in a
 * memory stream; a part that resolves to nothing is left out, as the adaptor
 * leaves it out. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memstream.h"
#include "fhir_read_request.h"

static const char *nz(const char *s)
{
    return s ? s : "";
}

static const char *jstr(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return jv_is_string(v) ? jv_str(v) : NULL;
}

/* CodeableConcept text, else its first coding's display. */
static const char *text_or_coding(const jv *cc)
{
    const char *t = jstr(cc, "text");
    return t && *t ? t : jstr(jv_at(jv_get(cc, "coding"), 0), "display");
}

bool cse__fhir_ref_type_id(const jv *ref, char *buf, size_t size)
{
    const char *s = jstr(ref, "reference"), *slash, *prev;
    if (s == NULL || (slash = strrchr(s, '/')) == NULL || slash == s || !slash[1])
        return false;
    for (prev = slash - 1; prev > s && prev[-1] != '/'; prev--)
        ;
    return (size_t)snprintf(buf, size, "%s", prev) < size;
}

/* True when the reference names a resource of that type. */
static bool ref_is(const jv *ref, const char *type)
{
    char tid[160];
    size_t n = strlen(type);
    return cse__fhir_ref_type_id(ref, tid, sizeof(tid)) && strncmp(tid, type, n) == 0 &&
           tid[n] == '/';
}

/* A FHIR date or dateTime as the adaptor writes one in text: to its
 * precision, "YYYY-MM-DD hh:mm:ss" when a time is known (day_only: the day). */
static void date_text(FILE *f, const char *s, bool day_only)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return;
    if (n <= 10 || day_only) {
        fprintf(f, "%.*s", (int)(n < 10 ? n : 10), s);
        return;
    }
    fprintf(f, "%.10s %.8s", s, n > 11 ? s + 11 : "");
}

/* A person's name: its text, else the given names and the family name. */
static void human_name(FILE *f, const jv *names)
{
    const jv *n = jv_is_array(names) ? jv_at(names, 0) : names, *g, *v;
    size_t i, k = 0;
    if (jstr(n, "text")) {
        fputs(jstr(n, "text"), f);
        return;
    }
    g = jv_get(n, "given");
    if (jv_is_string(g))
        fprintf(f, "%s", jv_str(g)), k++;
    jv_foreach(jv_is_array(g) ? g : NULL, i, v)
    {
        if (jv_is_string(v))
            fprintf(f, "%s%s", k++ ? " " : "", jv_str(v));
    }
    if (jstr(n, "family"))
        fprintf(f, "%s%s", k ? " " : "", jstr(n, "family"));
}

/* Closes a memory stream; the text, or NULL when it failed. */
static char *done(FILE *f, char **buf)
{
    /* The stream sets *buf only when it is flushed. */
    if (fclose(f) != 0) {
        free(*buf);
        return NULL;
    }
    return *buf;
}

char *cse__fhir_name_text(const jv *o, const char *type)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (strcmp(type, "Practitioner") != 0 && strcmp(type, "RelatedPerson") != 0 &&
        strcmp(type, "Organization") != 0 && strcmp(type, "HealthcareService") != 0 &&
        strcmp(type, "Device") != 0 && strcmp(type, "Patient") != 0)
        return NULL;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return NULL;
    if (strcmp(type, "Practitioner") == 0 || strcmp(type, "RelatedPerson") == 0)
        human_name(f, jv_get(o, "name"));
    else if (strcmp(type, "Device") == 0)
        fprintf(f, "%s\x1f%s", nz(text_or_coding(jv_get(o, "type"))),
                nz(jstr(o, "manufacturer")));
    else if (strcmp(type, "Patient") != 0 && jstr(o, "name"))
        fputs(jstr(o, "name"), f);
    /* A Patient is kept with no text: only that it is in the record counts. */
    return done(f, &buf);
}

/* The part of a Device's text before the unit separator (its type), or after
 * it (its manufacturer). */
static void device_part(FILE *f, const char *kept, bool manufacturer)
{
    const char *sep = kept ? strchr(kept, '\x1f') : NULL;
    if (sep == NULL)
        return;
    if (manufacturer)
        fputs(sep + 1, f);
    else
        fprintf(f, "%.*s", (int)(sep - kept), kept);
}

char *cse__fhir_summary(const jv *o, const cse__fhir_names *n)
{
    const char *type = jstr(o, "resourceType"), *t;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (type == NULL)
        return NULL;
    if (strcmp(type, "Observation") != 0 && strcmp(type, "DocumentReference") != 0 &&
        strcmp(type, "ReferralRequest") != 0 && strcmp(type, "DiagnosticReport") != 0 &&
        strcmp(type, "MedicationRequest") != 0)
        return NULL;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return NULL;
    if (strcmp(type, "Observation") == 0) {
        const char *d = jstr(o, "effectiveDateTime");
        if (d == NULL)
            d = jstr(jv_get(o, "effectivePeriod"), "start");
        fputs("{ Observation:", f);
        if (d)
            fputc(' ', f), date_text(f, d, true);
        if ((t = text_or_coding(jv_get(o, "code"))) != NULL)
            fprintf(f, " %s", t);
    } else if (strcmp(type, "DocumentReference") == 0) {
        const char *d = jstr(o, "created") ? jstr(o, "created") : jstr(o, "indexed");
        fputs("{ Document:", f);
        if (d)
            fputc(' ', f), date_text(f, d, true);
        if ((t = text_or_coding(jv_get(o, "type"))) != NULL)
            fprintf(f, " %s", t);
        if (jstr(o, "description"))
            fprintf(f, " %s", jstr(o, "description"));
    } else if (strcmp(type, "ReferralRequest") == 0) {
        fputs("{ Referral:", f);
        if (jstr(o, "authoredOn"))
            fputc(' ', f), date_text(f, jstr(o, "authoredOn"), true);
        if ((t = text_or_coding(jv_at(jv_get(o, "reasonCode"), 0))) != NULL)
            fprintf(f, " %s", t);
    } else if (strcmp(type, "DiagnosticReport") == 0) {
        const jv *v;
        size_t i;
        fputs("{ Pathology Report:", f);
        if (jstr(o, "issued"))
            fputc(' ', f), date_text(f, jstr(o, "issued"), true);
        /* The laboratory's report number: the PMIP identifier. */
        jv_foreach(jv_get(o, "identifier"), i, v)
        {
            const char *sys = jstr(v, "system");
            if (sys && strncmp(sys, "urn:oid:", 8) == 0)
                sys += 8;
            if (sys && strcmp(sys, "2.16.840.1.113883.2.1.4.5.5") == 0 &&
                jstr(v, "value")) {
                fprintf(f, " %s", jstr(v, "value"));
                break;
            }
        }
    } else {
        const char *d =
            jstr(jv_get(jv_get(o, "dispenseRequest"), "validityPeriod"), "start");
        fputs("{ Medication:", f);
        if (d)
            fputc(' ', f), date_text(f, d, true);
        if (jv_get(o, "medicationCodeableConcept"))
            t = text_or_coding(jv_get(o, "medicationCodeableConcept"));
        else
            t = n->lookup(n->ctx, "medication", jv_get(o, "medicationReference"));
        if (t && *t)
            fprintf(f, " %s", t);
    }
    fputs(" }", f);
    return done(f, &buf);
}

/* Each part is written with its separator before it. */
typedef struct parts {
    FILE *f;
    const char *sep;
    bool any;
} parts;

static void part_begin(parts *p)
{
    if (p->any)
        fputs(p->sep, p->f);
    p->any = true;
}

/* Text-or-coding of each concept in a list from the skip-th, joined by sep. */
static void concept_list(FILE *f, const jv *list, size_t skip, const char *sep)
{
    const jv *v;
    size_t i, k = 0;
    jv_foreach(list, i, v)
    {
        const char *t = text_or_coding(v);
        if (t && i >= skip)
            fprintf(f, "%s%s", k++ ? sep : "", t);
    }
}

/* "Annotation: Author: X @ time text", or "Annotation: text" when the note
 * has neither an author nor a time. */
static void referral_note(FILE *f, const jv *note, const cse__fhir_names *n)
{
    const jv *by = jv_get(note, "authorReference");
    const char *time = jstr(note, "time"), *name;
    char *abuf = NULL;
    size_t alen = 0;
    FILE *a = cse__memstream(&abuf, &alen);

    if (a == NULL)
        return;
    if (jstr(note, "authorString")) {
        fprintf(a, "Author: %s", jstr(note, "authorString"));
    } else if (ref_is(by, "Patient")) {
        fputs("Author: Patient", a); /* the patient is not named */
    } else if (by && (name = n->lookup(n->ctx, "name", by)) != NULL) {
        if (ref_is(by, "Practitioner"))
            fprintf(a, "Author: Practitioner %s", name);
        else if (ref_is(by, "RelatedPerson"))
            fprintf(a, "Author: Relation %s", name);
    }
    if (fclose(a) != 0) {
        free(abuf);
        return;
    }
    if ((abuf == NULL || !*abuf) && time == NULL)
        fprintf(f, "Annotation: %s", nz(jstr(note, "text")));
    else {
        fprintf(f, "Annotation: %s @ ", abuf ? abuf : "");
        date_text(f, time, false);
        fprintf(f, " %s", nz(jstr(note, "text")));
    }
    free(abuf);
}

char *cse__fhir_referral_text(const jv *o, const cse__fhir_names *n)
{
    const jv *agent = jv_get(jv_get(o, "requester"), "agent"), *v, *list;
    const char *name, *prio = jstr(o, "priority"), *t;
    char *buf = NULL;
    size_t len = 0, i, k;
    bool first_prac = false;
    parts p = {NULL, " ", false};

    if (agent == NULL)
        agent = jv_get(o, "requester"); /* R4 ServiceRequest: a Reference */
    if ((p.f = cse__memstream(&buf, &len)) == NULL)
        return NULL;
    if (jstr(agent, "reference") && (name = n->lookup(n->ctx, "name", agent)) != NULL) {
        if (ref_is(agent, "RelatedPerson") && *name)
            part_begin(&p), fprintf(p.f, "Requester: Relation %s", name);
        else if (ref_is(agent, "Patient"))
            part_begin(&p), fputs("Requester: Patient", p.f);
        else if (ref_is(agent, "Organization") && *name)
            part_begin(&p), fprintf(p.f, "Requester Org: %s", name);
        else if (ref_is(agent, "Device") && *name != '\x1f') {
            part_begin(&p), fputs("Requester Device: ", p.f);
            device_part(p.f, name, false);
        }
    }
    /* ASAP has no HL7 priority code; nor has STAT, which the adaptor refuses:
     * both are kept in the text. */
    if (prio && strcmp(prio, "routine") != 0 && strcmp(prio, "urgent") != 0) {
        part_begin(&p), fputs("Priority: ", p.f);
        for (const char *c = prio; *c; c++)
            fputc(*c >= 'a' && *c <= 'z' ? *c - 32 : *c, p.f);
    }
    k = 0;
    jv_foreach(jv_get(o, "supportingInfo"), i, v)
    {
        const char *s = n->lookup(n->ctx, "summary", v);
        if (s == NULL || !*s)
            continue;
        if (k++ == 0)
            part_begin(&p), fputs("Supporting Information: ", p.f);
        else
            fputs(", ", p.f);
        fputs(s, p.f);
    }
    jv_foreach(jv_get(o, "identifier"), i, v)
    {
        const char *sys = jstr(v, "system");
        if (sys && jstr(v, "value") && *jstr(v, "value") &&
            (strcmp(sys, "https://fhir.nhs.uk/Id/ubr-number") == 0 ||
             strcmp(sys, "https://fhir.nhs.uk/Id/UBRN") == 0)) {
            part_begin(&p), fprintf(p.f, "UBRN: %s", jstr(v, "value"));
            break;
        }
    }
    if (jv_size(jv_get(o, "serviceRequested"))) {
        part_begin(&p), fputs("Service(s) Requested: ", p.f);
        concept_list(p.f, jv_get(o, "serviceRequested"), 0, ",");
    } else if ((t = text_or_coding(jv_get(o, "code"))) != NULL) {
        /* An R4 ServiceRequest names what is asked for in its code. */
        part_begin(&p), fprintf(p.f, "Service(s) Requested: %s", t);
    }
    if ((t = text_or_coding(jv_get(o, "specialty"))) != NULL)
        part_begin(&p), fprintf(p.f, "Specialty: %s", t);
    /* Recipients, but the first practitioner (the responsible party). */
    jv_foreach(jv_get(o, "recipient"), i, v)
    {
        const char *label = ref_is(v, "Organization") ? "Recipient Org: "
                            : ref_is(v, "HealthcareService")
                                ? "Recipient Healthcare Service: "
                            : ref_is(v, "Practitioner") ? "Recipient Practitioner: "
                                                        : NULL;
        if (ref_is(v, "Practitioner") && !first_prac) {
            first_prac = true;
            continue;
        }
        if (label && (name = n->lookup(n->ctx, "name", v)) != NULL && *name)
            part_begin(&p), fprintf(p.f, "%s%s", label, name);
    }
    list = jv_get(o, "reasonCode");
    if (jv_size(list) > 1) {
        /* The first reason is the statement's code. */
        part_begin(&p), fputs("Reason Codes: ", p.f);
        concept_list(p.f, list, 1, ",");
    }
    k = 0;
    jv_foreach(jv_get(o, "note"), i, v)
    {
        if (k++ == 0)
            part_begin(&p);
        else
            fputs(", ", p.f);
        referral_note(p.f, v, n);
    }
    if (jstr(o, "description"))
        part_begin(&p), fputs(jstr(o, "description"), p.f);
    return done(p.f, &buf);
}

char *cse__fhir_plan_text(const jv *o, const cse__fhir_names *n)
{
    const jv *agent = jv_get(jv_get(o, "requester"), "agent"), *v, *period;
    const char *name;
    char *buf = NULL;
    size_t len = 0, i, k;
    parts p = {NULL, " ", false};

    if (agent == NULL)
        agent = jv_get(o, "requester"); /* R4 ServiceRequest: a Reference */
    if ((p.f = cse__memstream(&buf, &len)) == NULL)
        return NULL;
    if (jv_get(o, "supportingInfo")) {
        part_begin(&p), fputs("Supporting Information: ", p.f);
        k = 0;
        jv_foreach(jv_get(o, "supportingInfo"), i, v)
        {
            const char *s;
            if (!ref_is(v, "Observation"))
                continue;
            s = n->lookup(n->ctx, "summary", v);
            fprintf(p.f, "%s%s", k++ ? ", " : "", s ? s : "");
        }
    }
    period = jv_get(o, "occurrencePeriod");
    if (jstr(period, "end") && jstr(period, "start")) {
        part_begin(&p), fputs("Earliest Recall Date: ", p.f);
        date_text(p.f, jstr(period, "start"), false);
    }
    if ((name = n->lookup(n->ctx, "name", agent)) != NULL) {
        if (ref_is(agent, "Organization"))
            part_begin(&p), fprintf(p.f, "Recall Organisation: %s", name);
        else if (ref_is(agent, "Device")) {
            const char *sep = strchr(name, '\x1f');
            part_begin(&p), fputs("Recall Device: ", p.f);
            device_part(p.f, name, false);
            if (sep && sep[1])
                fputc(' ', p.f), device_part(p.f, name, true);
        }
    }
    k = 0;
    jv_foreach(jv_get(o, "reasonCode"), i, v)
    {
        const char *t = text_or_coding(v);
        if (t == NULL)
            continue;
        if (k++ == 0)
            part_begin(&p), fputs("Reason Codes: ", p.f);
        else
            fputs(", ", p.f);
        fputs(t, p.f);
    }
    jv_foreach(jv_get(o, "note"), i, v)
    {
        if (jstr(v, "text"))
            part_begin(&p), fputs(jstr(v, "text"), p.f);
    }
    return done(p.f, &buf);
}

char *cse__fhir_document_text(const jv *o, const cse__fhir_names *n)
{
    const jv *v;
    const char *t, *name;
    char *buf = NULL;
    size_t len = 0, i;
    parts p = {NULL, " ", false};

    if ((p.f = cse__memstream(&buf, &len)) == NULL)
        return NULL;
    if ((t = text_or_coding(jv_get(o, "type"))) != NULL)
        part_begin(&p), fprintf(p.f, "Type: %s", t);
    jv_foreach(jv_get(o, "author"), i, v)
    {
        if (ref_is(v, "Organization") && (name = n->lookup(n->ctx, "name", v)) && *name) {
            part_begin(&p), fprintf(p.f, "Author Org: %s", name);
            break;
        }
    }
    v = jv_get(o, "custodian");
    if (ref_is(v, "Organization") && (name = n->lookup(n->ctx, "name", v)) && *name)
        part_begin(&p), fprintf(p.f, "Custodian Org: %s", name);
    if (jstr(o, "description"))
        part_begin(&p), fprintf(p.f, "Description: %s", jstr(o, "description"));
    if ((t = text_or_coding(jv_get(jv_get(o, "context"), "practiceSetting"))) != NULL)
        part_begin(&p), fprintf(p.f, "Setting: %s", t);
    return done(p.f, &buf);
}
