/* SPDX-License-Identifier: MIT */
/* Blood pressure batteries and the texts of Observation parts without an HL7
 * place (see fhir_read_observation.h). The texts are the sending adaptor's
 * (BloodPressureMapper, PertinentInformationObservationValueMapper), so that
 * a receiving system reads what it reads from the adaptor. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memstream.h"
#include "fhir_read_observation.h"

#define SNOMED "http://snomed.info/sct"

static const char *const SYSTOLIC[] = {"72313002",  "271649006", "400974009",
                                       "407554009", "407556006", NULL};
static const char *const DIASTOLIC[] = {"1091811000000102", "271650006", "400975005",
                                        "407555005",        "407557002", NULL};

static const char *str(const jv *o, const char *key)
{
    return jv_str(jv_get(o, key));
}

static bool has_code(const jv *cc, const char *const *codes)
{
    size_t i;
    const jv *c;
    jv_foreach(jv_get(cc, "coding"), i, c)
    {
        const char *k = str(c, "code");
        for (size_t j = 0; k && codes[j]; j++)
            if (strcmp(k, codes[j]) == 0)
                return true;
    }
    return false;
}

cse__bp_role cse__fhir_bp_role(const jv *component)
{
    const jv *cc = jv_get(component, "code");
    if (has_code(cc, SYSTOLIC))
        return CSE__BP_SYSTOLIC;
    if (has_code(cc, DIASTOLIC))
        return CSE__BP_DIASTOLIC;
    return CSE__BP_NONE;
}

bool cse__fhir_is_blood_pressure(const jv *o)
{
    const jv *comps = jv_get(o, "component"), *c;
    bool seen[3] = {false, false, false};
    size_t i;

    if (jv_size(comps) == 0)
        return false;
    /* A value of the panel's own has no place in the battery. */
    for (const jv *m = o->child; jv_is_object(o) && m; m = m->next)
        if (m->klen > 5 && memcmp(m->key, "value", 5) == 0)
            return false;
    jv_foreach(comps, i, c)
    {
        cse__bp_role role = cse__fhir_bp_role(c);
        /* Anything else, or a second reading of the same kind, would have
         * no place in the battery: such an Observation stays one statement
         * with its components in its annotation. */
        if (role == CSE__BP_NONE || seen[role])
            return false;
        seen[role] = true;
    }
    return true;
}

const jv *cse__fhir_bp_component(const jv *o, cse__bp_role role)
{
    size_t i;
    const jv *c;
    jv_foreach(jv_get(o, "component"), i, c)
    {
        if (cse__fhir_bp_role(c) == role)
            return c;
    }
    return NULL;
}

/* A CodeableConcept's text, else its first coding's display (the adaptor's
 * extractTextOrCoding). */
static const char *text_or_coding(const jv *cc)
{
    const char *t = str(cc, "text");
    const jv *k = jv_at(jv_get(cc, "coding"), 0), *d, *x;
    size_t i, j;

    if (t && *t)
        return t;
    /* The description the clinician picked, when the coding names one. */
    jv_foreach(jv_get(k, "extension"), i, d)
    {
        jv_foreach(jv_get(d, "extension"), j, x)
        {
            const char *u = str(x, "url"), *v = str(x, "valueString");
            if (u && strcmp(u, "descriptionDisplay") == 0 && v && *v)
                return v;
        }
    }
    t = str(k, "display");
    return t && *t ? t : NULL;
}

const char *cse__fhir_text_or_coding(const jv *cc)
{
    return text_or_coding(cc);
}

/* "label text", separated from what came before by one space. */
static void part(FILE *f, const char *label, const char *text)
{
    if (text == NULL)
        return;
    if (ftell(f) > 0)
        fputc(' ', f);
    fprintf(f, "%s%s", label, text);
}

static cse_code finish(FILE *f, char **buf, const size_t *len, char **out)
{
    if (fclose(f) != 0) {
        free(*buf);
        return CSE_ERR_NOMEM;
    }
    if (*len == 0) {
        free(*buf);
        *buf = NULL;
    }
    *out = *buf;
    return CSE_OK;
}

cse_code cse__fhir_bp_note(const jv *o, char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    const jv *sys = cse__fhir_bp_component(o, CSE__BP_SYSTOLIC),
             *dia = cse__fhir_bp_component(o, CSE__BP_DIASTOLIC);
    const char *interp[3] = {text_or_coding(jv_get(o, "interpretation")),
                             text_or_coding(jv_get(sys, "interpretation")),
                             text_or_coding(jv_get(dia, "interpretation"))};

    *out = NULL;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return CSE_ERR_NOMEM;
    part(f, "", str(o, "comment"));
    part(f, "Measurement Site: ", text_or_coding(jv_get(o, "bodySite")));
    part(f, "Systolic Measurement Absent: ",
         text_or_coding(jv_get(sys, "dataAbsentReason")));
    part(f, "Diastolic Measurement Absent: ",
         text_or_coding(jv_get(dia, "dataAbsentReason")));
    if (interp[0] || interp[1] || interp[2]) {
        bool first = true;
        part(f, "", "Interpretation(s):");
        for (int i = 0; i < 3; i++) {
            if (interp[i] == NULL)
                continue;
            fprintf(f, "%s%s", first ? " " : ", ", interp[i]);
            first = false;
        }
    }
    return finish(f, &buf, &len, out);
}

cse_code cse__fhir_bp_concept(const jv *cc, cse_concept *c)
{
    const jv *k, *snomed = NULL;
    const char *text = str(cc, "text");
    size_t i;
    cse_code rc = CSE_OK;

    jv_foreach(jv_get(cc, "coding"), i, k)
    {
        const char *sys = str(k, "system");
        if (snomed == NULL && sys && strcmp(sys, SNOMED) == 0 && str(k, "code"))
            snomed = k;
    }
    if (snomed)
        rc = cse_concept_add(c, SNOMED, str(snomed, "code"), str(snomed, "display"));
    jv_foreach(jv_get(cc, "coding"), i, k)
    {
        const char *sys = str(k, "system");
        if (rc != CSE_OK || k == snomed || sys == NULL || strcmp(sys, SNOMED) == 0 ||
            str(k, "code") == NULL)
            continue;
        rc = cse_concept_add(c, sys, str(k, "code"), str(k, "display"));
    }
    if (snomed && (text == NULL || *text == '\0')) {
        /* The description the clinician picked, else the concept's term. */
        const jv *d, *x;
        size_t j, m;
        jv_foreach(jv_get(snomed, "extension"), j, d)
        {
            jv_foreach(jv_get(d, "extension"), m, x)
            {
                const char *u = str(x, "url");
                if (u && strcmp(u, "descriptionDisplay") == 0 && str(x, "valueString"))
                    text = str(x, "valueString");
            }
        }
        if (text == NULL)
            text = str(snomed, "display");
    }
    if (rc == CSE_OK && text && *text)
        rc = cse_concept_set_text(c, text);
    return rc;
}

/* ---- Values without an HL7 form ---------------------------------------- */

static void number(FILE *f, const jv *n)
{
    if (jv_is_number(n))
        fprintf(f, "%.*s", (int)n->len, n->s);
}

/* A Quantity as "value unit" (nothing when it has no value). */
static bool quantity(FILE *f, const char *prefix, const jv *q)
{
    if (!jv_is_number(jv_get(q, "value")))
        return false;
    fputs(prefix, f);
    number(f, jv_get(q, "value"));
    if (str(q, "unit"))
        fprintf(f, " %s", str(q, "unit"));
    return true;
}

static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    int yoe = (int)(y - era * 400);
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The day of the month of the last Sunday of a month. */
static int last_sunday(int y, int m)
{
    int days = m == 3 || m == 10 ? 31 : 30;
    long long dn = days_from_civil(y, m, days); /* 1970-01-01 was a Thursday */
    int wd = (int)(((dn % 7) + 7 + 4) % 7);     /* 0 = Sunday */
    return days - wd;
}

/* A FHIR dateTime as UK civil time "YYYY-MM-DD HH:MM:SS" (the adaptor's
 * toTextFormat, in Europe/London); a date alone as written. */
static void date_time(FILE *f, const char *s)
{
    int y, mo, d, h, mi, se, n = 0;
    const char *z;
    long long t;

    if (s == NULL)
        return;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6) {
        fputs(s, f);
        return;
    }
    z = s + n;
    while (*z == '.' || (*z >= '0' && *z <= '9'))
        z++;
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    if ((*z == '+' || *z == '-') && strlen(z) >= 6) {
        int oh = (z[1] - '0') * 10 + (z[2] - '0'), om = (z[4] - '0') * 10 + (z[5] - '0');
        t -= (*z == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else if (*z != 'Z') {
        fprintf(f, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, se);
        return; /* no zone: local time already */
    }
    {
        /* British Summer Time: from 01:00 UTC on the last Sunday of March to
         * 01:00 UTC on the last Sunday of October. */
        long long day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
        long long start, end;
        int cy;
        /* The civil year of t. */
        {
            long long z2 = day + 719468, era = (z2 >= 0 ? z2 : z2 - 146096) / 146097;
            long long doe = z2 - era * 146097;
            long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            long long mp = (5 * doy + 2) / 153;
            cy = (int)(yoe + era * 400 + (mp >= 10));
        }
        start = days_from_civil(cy, 3, last_sunday(cy, 3)) * 86400 + 3600;
        end = days_from_civil(cy, 10, last_sunday(cy, 10)) * 86400 + 3600;
        if (t >= start && t < end)
            t += 3600;
        day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
        {
            long long secs = t - day * 86400;
            long long z2 = day + 719468, era = (z2 >= 0 ? z2 : z2 - 146096) / 146097;
            long long doe = z2 - era * 146097;
            long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            long long mp = (5 * doy + 2) / 153;
            int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
            int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
            int yy = (int)(yoe + era * 400 + (mm <= 2));
            fprintf(f, "%04d-%02d-%02d %02d:%02d:%02d", yy, mm, dd, (int)(secs / 3600),
                    (int)(secs / 60 % 60), (int)(secs % 60));
        }
    }
}

/* A value the adaptor writes as text, without a trailing space; false when
 * the value is of another type or says nothing. code_value: a
 * CodeableConcept is text too (inside a component). */
static bool value_text(FILE *f, const jv *o, bool code_value)
{
    const jv *v;
    const char *s;

    if (code_value && (v = jv_get(o, "valueCodeableConcept")) != NULL) {
        const jv *c = jv_at(jv_get(v, "coding"), 0);
        if (str(c, "code") == NULL || str(c, "display") == NULL)
            return false;
        fprintf(f, "Code Value: %s %s", str(c, "code"), str(c, "display"));
        return true;
    }
    if ((v = jv_get(o, "valueBoolean")) != NULL && v->type != JV_NULL) {
        fprintf(f, "Boolean Value: %.*s", (int)v->len, v->s ? v->s : "");
        return v->s != NULL;
    }
    if ((v = jv_get(o, "valueRatio")) != NULL) {
        const jv *nu = jv_get(v, "numerator"), *de = jv_get(v, "denominator");
        if (!(str(nu, "comparator") && jv_is_number(jv_get(nu, "value")) &&
              str(nu, "unit") && str(de, "comparator") &&
              jv_is_number(jv_get(de, "value")) && str(de, "unit")))
            return false;
        fprintf(f, "Ratio Value: %s ", str(nu, "comparator"));
        number(f, jv_get(nu, "value"));
        fprintf(f, " %s / %s ", str(nu, "unit"), str(de, "comparator"));
        number(f, jv_get(de, "value"));
        fprintf(f, " %s", str(de, "unit"));
        return true;
    }
    if ((s = str(o, "valueTime")) != NULL) {
        fprintf(f, "Time Value: %s", s);
        return true;
    }
    if ((s = str(o, "valueDateTime")) != NULL) {
        fputs("DateTime Value: ", f);
        date_time(f, s);
        return true;
    }
    if ((v = jv_get(o, "valuePeriod")) != NULL) {
        if (str(v, "start") == NULL || str(v, "end") == NULL)
            return false;
        fputs("Period Value: Start ", f);
        date_time(f, str(v, "start"));
        fputs(" End ", f);
        date_time(f, str(v, "end"));
        return true;
    }
    return false;
}

bool cse__fhir_value_is_text_only(const jv *o)
{
    return jv_get(o, "valueBoolean") || jv_get(o, "valueRatio") || str(o, "valueTime") ||
           str(o, "valueDateTime") || jv_get(o, "valuePeriod");
}

/* One component: "[Code: .. <value> Interpretation Code: .. Interpretation
 * Text: .. Range: Low .. High ..]", nothing when it says nothing. */
static void component(FILE *f, const jv *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *g = cse__memstream(&buf, &len);
    const jv *v, *interp = jv_get(c, "interpretation"), *rr;
    const char *t;

    if (g == NULL)
        return;
    if ((t = text_or_coding(jv_get(c, "code"))) != NULL)
        fprintf(g, "Code: %s", t);
    if ((v = jv_get(c, "valueQuantity")) != NULL) {
        const char *cmp = str(v, "comparator");
        /* The comparator's FHIR display. */
        const char *disp = cmp == NULL              ? NULL
                           : strcmp(cmp, "<") == 0  ? "Less than"
                           : strcmp(cmp, "<=") == 0 ? "Less or Equal to"
                           : strcmp(cmp, ">=") == 0 ? "Greater or Equal to"
                           : strcmp(cmp, ">") == 0  ? "Greater than"
                                                    : cmp;
        if (disp || jv_is_number(jv_get(v, "value")) || str(v, "unit")) {
            fprintf(g, "%sQuantity Value:", ftell(g) ? " " : "");
            if (disp)
                fprintf(g, " %s", disp);
            if (jv_is_number(jv_get(v, "value"))) {
                fputc(' ', g);
                number(g, jv_get(v, "value"));
            }
            if (str(v, "unit"))
                fprintf(g, " %s", str(v, "unit"));
        }
    } else if ((t = str(c, "valueString")) != NULL) {
        fprintf(g, "%sString Value: %s", ftell(g) ? " " : "", t);
    } else if ((v = jv_get(c, "valueRange")) != NULL) {
        const jv *lo = jv_get(v, "low"), *hi = jv_get(v, "high");
        if (jv_is_number(jv_get(lo, "value")) && str(lo, "unit") &&
            jv_is_number(jv_get(hi, "value")) && str(hi, "unit")) {
            fprintf(g, "%sRange Value: Low ", ftell(g) ? " " : "");
            number(g, jv_get(lo, "value"));
            fprintf(g, " %s High ", str(lo, "unit"));
            number(g, jv_get(hi, "value"));
            fprintf(g, " %s", str(hi, "unit"));
        }
    } else {
        long at = ftell(g);
        if (at)
            fputc(' ', g);
        if (!value_text(g, c, true) && at)
            fseek(g, at, SEEK_SET);
    }
    if (jv_size(jv_get(interp, "coding")) > 0) {
        const jv *k, *use = jv_at(jv_get(interp, "coding"), 0);
        size_t i;
        jv_foreach(jv_get(interp, "coding"), i, k)
        {
            if (jv_get(k, "userSelected")) {
                use = k;
                break;
            }
        }
        fprintf(g, "%sInterpretation Code: %s", ftell(g) ? " " : "",
                str(use, "code") ? str(use, "code") : "null");
    }
    if ((t = str(interp, "text")) != NULL)
        fprintf(g, "%sInterpretation Text: %s", ftell(g) ? " " : "", t);
    rr = jv_at(jv_get(c, "referenceRange"), 0);
    if (rr && (jv_get(rr, "low") || jv_get(rr, "high"))) {
        fprintf(g, "%sRange:", ftell(g) ? " " : "");
        quantity(g, " Low ", jv_get(rr, "low"));
        quantity(g, " High ", jv_get(rr, "high"));
    }
    fflush(g);
    len = (size_t)ftell(g);
    if (fclose(g) == 0 && len > 0)
        fprintf(f, "%s[%.*s]", ftell(f) > (long)strlen("Component(s): ") ? " " : "",
                (int)len, buf);
    free(buf);
}

cse_code cse__fhir_observation_pretext(const jv *o, char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    const jv *c;
    size_t i;

    *out = NULL;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return CSE_ERR_NOMEM;
    if (jv_size(jv_get(o, "component")) > 0 && !cse__fhir_is_blood_pressure(o)) {
        fputs("Component(s): ", f);
        jv_foreach(jv_get(o, "component"), i, c) component(f, c);
    }
    {
        /* A coded value is written as a CD; as text too when none of its
         * codes has a GP2GP code system, or the code would be lost. */
        const jv *cc = jv_get(o, "valueCodeableConcept"), *k;
        bool carried = false;
        long at = ftell(f);
        jv_foreach(jv_get(cc, "coding"), i, k)
        {
            if (str(k, "code") && cse_system_to_oid(str(k, "system")))
                carried = true;
        }
        if (at)
            fputc(' ', f);
        if (!value_text(f, o, !carried) && at)
            fseek(f, at, SEEK_SET);
    }
    fflush(f);
    len = (size_t)ftell(f);
    if (fclose(f) != 0) {
        free(buf);
        return CSE_ERR_NOMEM;
    }
    if (len == 0) {
        free(buf);
        return CSE_OK;
    }
    buf[len] = '\0';
    *out = buf;
    return CSE_OK;
}
