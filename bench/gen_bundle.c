/* SPDX-License-Identifier: MIT */
/* gen-bundle: writes a reproducible synthetic FHIR R4 (UK Core) Bundle of one
 * patient's whole record, for the fhir2ehr benchmarks.
 *
 * usage: gen-bundle MEGABYTES SEED > bundle.json
 *        gen-bundle --resources N SEED > bundle.json
 *
 * With --resources, N resources or a few more: the resources of one
 * composition stay together.
 *
 * The content follows gen_extract.c, in the proportions of the national
 * requesting adaptor's PWTP test extracts, as FHIR carries it: per cycle of
 * 40 compositions, 9 consultations (an Encounter with its consultation,
 * topic and category Lists on six of them; Observations with quantities,
 * AllergyIntolerances, Conditions naming an Observation, a plan as a
 * ServiceRequest, a referral on every other cycle), 9 medication plans
 * (Medication, MedicationRequest intent plan with repeats, quantity,
 * dosage and validity, MedicationStatement based on it), 19 orders
 * (MedicationRequest intent order based on the latest plan), 1 plan stopped
 * with its reason, 2 pathology reports (Specimen, results with UCUM
 * quantities, reference ranges and interpretation, a battery Observation
 * with the results as members, a DiagnosticReport naming all of them). Every
 * 500 compositions, a CSE marker as our Flag and Observation, labelled
 * NOPAT. Entries are written one per line, compact; nothing is held in
 * memory, so a bundle of a million resources costs what a small one does. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCT "http://snomed.info/sct"
#define UCUM "http://unitsofmeasure.org"

static uint64_t state;

/* splitmix64, as gen_extract.c. */
static uint64_t next(void)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void uuid(char buf[37])
{
    uint64_t a = next(), b = next();
    snprintf(buf, 37,
             "%08" PRIX64 "-%04" PRIX64 "-4%03" PRIX64 "-8%03" PRIX64 "-%012" PRIX64,
             a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF, (b >> 48) & 0xFFF,
             (uint64_t)(b & 0xFFFFFFFFFFFFull));
}

static long long written, resources;
static long long max_bytes = -1, max_resources = -1;

static void out(const char *s)
{
    written += (long long)strlen(s);
    fputs(s, stdout);
}

#define OUTF(...)                                                                        \
    do {                                                                                 \
        char _b[8192];                                                                   \
        snprintf(_b, sizeof(_b), __VA_ARGS__);                                           \
        out(_b);                                                                         \
    } while (0)

static char patient[37], gp[37], org[37], date[16];

/* Starts an entry: the separator, resourceType, id, profile. */
static void begin(const char *type, const char *id, const char *profile)
{
    OUTF("%s{\"resource\":{\"resourceType\":\"%s\",\"id\":\"%s\",\"meta\":{\"profile\":"
         "[\"https://fhir.hl7.org.uk/StructureDefinition/%s\"]}",
         resources ? ",\n" : "\n", type, id, profile);
    resources++;
}

static void end(void)
{
    out("}}");
}

static void subject(void)
{
    OUTF(",\"subject\":{\"reference\":\"Patient/%s\"}", patient);
}

static const struct {
    const char *code, *display, *unit;
    int lo, hi;
} obs[] = {
    {"271649006", "Systolic blood pressure", "mm[Hg]", 100, 160},
    {"271650006", "Diastolic blood pressure", "mm[Hg]", 60, 100},
    {"27113001", "Body weight", "kg", 40, 120},
    {"50373000", "Body height measure", "cm", 120, 195},
    {"365981007", "Tobacco smoking behaviour", NULL, 0, 0},
    {"228273003", "Finding relating to alcohol drinking behaviour", NULL, 0, 0},
    {"162864005", "Body mass index 30+ - obesity", NULL, 0, 0},
    {"38341003", "Hypertensive disorder", NULL, 0, 0},
};

static const struct {
    const char *code, *display, *dose;
} drugs[] = {
    {"318906001", "Ramipril 10mg capsules", "One To Be Taken Each Day"},
    {"322546007", "Dihydrocodeine 60mg modified-release tablets",
     "One To Be Taken Twice A Day"},
    {"327313009", "Tamoxifen 20mg tablets", "One To Be Taken Each Day"},
    {"320023007", "Fluvastatin 40mg capsules", "One To Be Taken At Night"},
    {"321989000", "Citalopram 10mg tablets", "One To Be Taken Each Day"},
    {"319773006", "Aspirin 75mg dispersible tablets", "One To Be Taken Each Day"},
};

static const struct {
    const char *code, *display, *unit;
    int lo, hi;
} results[] = {
    {"104934005", "Serum sodium", "mmol/L", 133, 146},
    {"113075003", "Serum creatinine", "umol/L", 59, 104},
    {"270996006", "Serum cholesterol", "mmol/L", 3, 5},
    {"275806002", "Haemoglobin estimation", "g/L", 130, 180},
    {"767002", "Total white cell count", "10*9/L", 4, 11},
    {"61928009", "Platelet count", "10*9/L", 150, 400},
};

static void set_date(int n)
{
    int day = n % 336;
    snprintf(date, sizeof(date), "2020-%02d-%02d", day / 28 % 12 + 1, day % 28 + 1);
}

/* An Observation; its id goes to id_out. */
static void observation(char id_out[37], const char *encounter, int note)
{
    int k = (int)(next() % (sizeof(obs) / sizeof(obs[0])));

    uuid(id_out);
    begin("Observation", id_out, "UKCore-Observation");
    OUTF(",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"" SCT
         "\",\"code\":\"%s\",\"display\":\"%s\"}]}",
         obs[k].code, obs[k].display);
    subject();
    OUTF(",\"encounter\":{\"reference\":\"Encounter/%s\"},\"effectiveDateTime\":\"%s\","
         "\"performer\":[{\"reference\":\"Practitioner/%s\"}]",
         encounter, date, gp);
    if (obs[k].unit != NULL)
        OUTF(",\"valueQuantity\":{\"value\":%d,\"unit\":\"%s\",\"system\":\"" UCUM
             "\",\"code\":\"%s\"}",
             obs[k].lo + (int)(next() % (unsigned)(obs[k].hi - obs[k].lo + 1)),
             obs[k].unit, obs[k].unit);
    if (note)
        out(",\"note\":[{\"text\":\"Synthetic note for benchmarking: measured at the "
            "surgery, patient well, to review in clinic.\"}]");
    end();
}

static void list(char id[37], const char *code, const char *display, const char *title,
                 const char *encounter, char (*items)[37], const char *const *types,
                 int n)
{
    uuid(id);
    begin("List", id, "UKCore-List");
    OUTF(",\"status\":\"current\",\"mode\":\"snapshot\",\"title\":\"%s\",\"code\":"
         "{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"%s\",\"display\":\"%s\"}]}",
         title, code, display);
    subject();
    OUTF(",\"encounter\":{\"reference\":\"Encounter/%s\"},\"date\":\"%s\",\"entry\":[",
         encounter, date);
    for (int i = 0; i < n; i++)
        OUTF("%s{\"item\":{\"reference\":\"%s/%s\"}}", i ? "," : "", types[i], items[i]);
    out("]");
    end();
}

static void encounter(char id[37], const char *code, const char *display)
{
    uuid(id);
    begin("Encounter", id, "UKCore-Encounter");
    OUTF(",\"status\":\"finished\",\"class\":{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"AMB\","
         "\"display\":\"ambulatory\"},\"type\":[{\"coding\":[{\"system\":\"" SCT
         "\",\"code\":\"%s\",\"display\":\"%s\"}]}]",
         code, display);
    subject();
    OUTF(",\"participant\":[{\"individual\":{\"reference\":\"Practitioner/%s\"}}],"
         "\"period\":{\"start\":\"%sT09:00:00+00:00\",\"end\":\"%sT09:10:00+00:00\"},"
         "\"serviceProvider\":{\"reference\":\"Organization/%s\"}",
         gp, date, date, org);
    end();
}

static void allergy(char id[37], const char *enc, int drug)
{
    uuid(id);
    begin("AllergyIntolerance", id, "UKCore-AllergyIntolerance");
    OUTF(",\"clinicalStatus\":{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical\",\"code\":"
         "\"active\"}]},\"verificationStatus\":{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification\","
         "\"code\":\"confirmed\"}]},\"category\":[\"%s\"],\"code\":{\"coding\":[{"
         "\"system\":"
         "\"" SCT "\",\"code\":\"%s\",\"display\":\"%s\"}]}",
         drug ? "medication" : "food", drug ? "292360004" : "91935009",
         drug ? "Adverse reaction to diazepam" : "Peanut allergy");
    OUTF(
        ",\"patient\":{\"reference\":\"Patient/%s\"},\"encounter\":{\"reference\":"
        "\"Encounter/%s\"},\"onsetDateTime\":\"%s\",\"recordedDate\":\"%s\",\"recorder\":"
        "{\"reference\":\"Practitioner/%s\"},\"reaction\":[{\"substance\":{\"coding\":"
        "[{\"system\":\"" SCT
        "\",\"code\":\"%s\",\"display\":\"%s\"}]},\"manifestation\":"
        "[{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"271807003\",\"display\":"
        "\"Eruption of skin\"}]}]}],\"note\":[{\"text\":\"Reaction: rash. Synthetic "
        "allergy "
        "for benchmarking.\"}]",
        patient, enc, date, date, gp, drug ? "387264003" : "256349002",
        drug ? "Diazepam" : "Peanut");
    end();
}

static void condition(char id[37], const char *enc, const char *evidence)
{
    uuid(id);
    begin("Condition", id, "UKCore-Condition");
    OUTF(",\"clinicalStatus\":{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/"
         "condition-clinical\",\"code\":\"active\"}]},"
         "\"category\":[{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/condition-category\",\"code\":"
         "\"problem-list-item\"}]}],\"severity\":{\"coding\":[{\"system\":\"" SCT
         "\",\"code\":\"386134007\",\"display\":\"Significant\"}]},\"code\":{\"coding\":"
         "[{\"system\":\"" SCT "\",\"code\":\"38341003\",\"display\":\"Hypertensive "
         "disorder\"}]}");
    subject();
    OUTF(",\"encounter\":{\"reference\":\"Encounter/%s\"},\"onsetDateTime\":\"%s\","
         "\"recordedDate\":\"%s\",\"evidence\":[{\"detail\":[{\"reference\":"
         "\"Observation/%s\"}]}]",
         enc, date, date, evidence);
    end();
}

static void service_request(char id[37], const char *enc, int referral)
{
    uuid(id);
    begin("ServiceRequest", id, "UKCore-ServiceRequest");
    if (referral)
        OUTF(",\"status\":\"active\",\"intent\":\"order\",\"priority\":\"routine\","
             "\"category\":[{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"3457005\","
             "\"display\":\"Patient "
             "referral\"}]}],\"code\":{\"coding\":[{\"system\":\"" SCT
             "\",\"code\":\"266747000\",\"display\":\"Referral to private doctor\"}]},"
             "\"note\":[{\"text\":\"Synthetic referral for benchmarking, purpose: "
             "investigation.\"}]");
    else
        OUTF(",\"status\":\"active\",\"intent\":\"plan\",\"code\":{\"coding\":[{"
             "\"system\":"
             "\"" SCT "\",\"code\":\"390906007\",\"display\":\"Follow-up encounter\"}]},"
             "\"occurrenceDateTime\":\"%s\"",
             date);
    subject();
    OUTF(",\"encounter\":{\"reference\":\"Encounter/%s\"},\"authoredOn\":\"%s\","
         "\"requester\":{\"reference\":\"Practitioner/%s\"}",
         enc, date, gp);
    end();
}

static void consultation(int slot, int cycle)
{
    static const char *const obs_types[] = {"Observation", "Observation", "Observation",
                                            "Observation", "Observation", "Observation"};
    char enc[37], ids[8][37], cat1[37], cat2[37], topic[37], cons[37], extra[4][37],
        first[37];
    const char *types[8];
    int topical = slot < 6, n = 0;

    encounter(enc, "25671000000102", "Surgery Consultation Note");
    if (!topical) {
        observation(ids[0], enc, 1);
        observation(ids[1], enc, 0);
        observation(ids[2], enc, 1); /* the narrative, as a comment Observation */
        list(cons, "325851000000107", "Consultation encounter type", "Consultation", enc,
             ids, obs_types, 3);
        return;
    }
    observation(ids[0], enc, 1);
    observation(ids[1], enc, 0);
    memcpy(first, ids[0], 37);
    for (int i = 0; i < 2; i++)
        types[i] = "Observation";
    n = 2;
    if (slot == 5) {
        service_request(ids[n], enc, 0);
        types[n++] = "ServiceRequest";
    }
    list(cat1, "24781000000107", "Category (EHR)", "History", enc, ids, types, n);
    observation(ids[0], enc, 0);
    observation(ids[1], enc, 1);
    list(cat2, "24781000000107", "Category (EHR)", "Examination", enc, ids, obs_types, 2);
    n = 0;
    memcpy(ids[n], cat1, 37), types[n++] = "List";
    memcpy(ids[n], cat2, 37), types[n++] = "List";
    if (slot < 3) {
        allergy(extra[0], enc, slot != 1);
        memcpy(ids[n], extra[0], 37), types[n++] = "AllergyIntolerance";
    }
    if (slot == 4 && cycle % 2 == 0) {
        service_request(extra[1], enc, 1);
        memcpy(ids[n], extra[1], 37), types[n++] = "ServiceRequest";
    }
    observation(extra[2], enc, 1); /* the narrative */
    memcpy(ids[n], extra[2], 37), types[n++] = "Observation";
    if (slot < 4) {
        condition(extra[3], enc, first);
        memcpy(ids[n], extra[3], 37), types[n++] = "Condition";
    }
    list(topic, "25851000000105", "Topic (EHR)", "Telephone encounter", enc, ids, types,
         n);
    memcpy(ids[0], topic, 37);
    types[0] = "List";
    list(cons, "325851000000107", "Consultation encounter type", "Consultation", enc, ids,
         types, 1);
}

static char plan_id[37], med_id[37];
static int plan_drug;

static void medication(int drug)
{
    uuid(med_id);
    begin("Medication", med_id, "UKCore-Medication");
    OUTF(",\"code\":{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"%s\",\"display\":"
         "\"%s\"}]},\"form\":{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"385055001\","
         "\"display\":\"Tablet\"}]}",
         drugs[drug].code, drugs[drug].display);
    end();
}

static void request(char id[37], const char *intent, const char *status, int drug,
                    const char *based_on)
{
    uuid(id);
    begin("MedicationRequest", id, "UKCore-MedicationRequest");
    OUTF(",\"status\":\"%s\",\"intent\":\"%s\",\"medicationReference\":{\"reference\":"
         "\"Medication/%s\"}",
         status, intent, med_id);
    subject();
    OUTF(",\"authoredOn\":\"%s\",\"requester\":{\"reference\":\"Practitioner/%s\"},"
         "\"courseOfTherapyType\":{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy\","
         "\"code\":\"continuous\"}]},\"dosageInstruction\":[{\"text\":\"%s\"}]",
         date, gp, drugs[drug].dose);
    if (based_on != NULL)
        OUTF(
            ",\"basedOn\":[{\"reference\":\"MedicationRequest/%s\"}],\"dispenseRequest\":"
            "{\"quantity\":{\"value\":28,\"unit\":\"tablet\"},\"validityPeriod\":"
            "{\"start\":\"%s\",\"end\":\"%s\"}}",
            based_on, date, date);
    else
        OUTF(",\"dispenseRequest\":{\"numberOfRepeatsAllowed\":6,\"quantity\":{\"value\":"
             "28,"
             "\"unit\":\"tablet\"},\"validityPeriod\":{\"start\":\"%s\"}}",
             date);
    if (strcmp(status, "stopped") == 0)
        out(",\"statusReason\":{\"text\":\"Patient no longer requires these\"}");
    end();
}

static void plan(const char *status)
{
    char st[37];
    int drug = (int)(next() % (sizeof(drugs) / sizeof(drugs[0])));

    medication(drug);
    request(plan_id, "plan", status, drug, NULL);
    plan_drug = drug;
    uuid(st);
    begin("MedicationStatement", st, "UKCore-MedicationStatement");
    OUTF(",\"basedOn\":[{\"reference\":\"MedicationRequest/%s\"}],\"status\":\"%s\","
         "\"medicationReference\":{\"reference\":\"Medication/%s\"}",
         plan_id, strcmp(status, "stopped") == 0 ? "stopped" : "active", med_id);
    subject();
    OUTF(
        ",\"effectivePeriod\":{\"start\":\"%s\"},\"dateAsserted\":\"%s\","
        "\"informationSource\":{\"reference\":\"Practitioner/%s\"},\"dosage\":[{\"text\":"
        "\"%s\"}]",
        date, date, gp, drugs[drug].dose);
    end();
}

static void order(void)
{
    char id[37];
    request(id, "order", "completed", plan_drug, plan_id);
}

static void pathology(void)
{
    char spec[37], res[3][37], battery[37], report[37];
    int k = (int)(next() % 2) * 3;

    uuid(spec);
    begin("Specimen", spec, "UKCore-Specimen");
    OUTF(",\"accessionIdentifier\":{\"system\":\"https://example.org/synthetic-lab\","
         "\"value\":\"SPC%04d\"},\"status\":\"available\",\"type\":{\"coding\":[{"
         "\"system\":"
         "\"" SCT "\",\"code\":\"119297000\",\"display\":\"Blood specimen\"}]}",
         (int)(next() % 10000));
    subject();
    OUTF(",\"collection\":{\"collectedDateTime\":\"%s\"}", date);
    end();
    for (int i = 0; i < 3; i++) {
        int v = results[k + i].lo +
                (int)(next() % (unsigned)(results[k + i].hi - results[k + i].lo + 3));
        uuid(res[i]);
        begin("Observation", res[i], "UKCore-Observation");
        OUTF(",\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":"
             "\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":"
             "\"laboratory\"}]}],\"code\":{\"coding\":[{\"system\":\"" SCT
             "\",\"code\":\"%s\",\"display\":\"%s\"}]}",
             results[k + i].code, results[k + i].display);
        subject();
        OUTF(",\"effectiveDateTime\":\"%s\",\"issued\":\"%sT12:00:00+00:00\","
             "\"specimen\":{\"reference\":\"Specimen/"
             "%s\"},\"valueQuantity\":{\"value\":%d,"
             "\"unit\":\"%s\",\"system\":\"" UCUM "\",\"code\":\"%s\"}",
             date, date, spec, v, results[k + i].unit, results[k + i].unit);
        if (v > results[k + i].hi)
            out(",\"interpretation\":[{\"coding\":[{\"system\":"
                "\"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation\","
                "\"code\":\"H\",\"display\":\"High\"}]}]");
        OUTF(",\"referenceRange\":[{\"low\":{\"value\":%d,\"unit\":\"%s\",\"system\":"
             "\"" UCUM "\",\"code\":\"%s\"},\"high\":{\"value\":%d,\"unit\":\"%s\","
             "\"system\":\"" UCUM "\",\"code\":\"%s\"}}]",
             results[k + i].lo, results[k + i].unit, results[k + i].unit,
             results[k + i].hi, results[k + i].unit, results[k + i].unit);
        end();
    }
    uuid(battery);
    begin("Observation", battery, "UKCore-Observation");
    OUTF(",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"" SCT
         "\",\"code\":\"%s\",\"display\":\"%s\"}]}",
         k ? "26604007" : "252167001", k ? "Full blood count" : "Urea and electrolytes");
    subject();
    OUTF(",\"effectiveDateTime\":\"%s\",\"specimen\":{\"reference\":\"Specimen/%s\"},"
         "\"hasMember\":[{\"reference\":\"Observation/%s\"},{\"reference\":"
         "\"Observation/%s\"},{\"reference\":\"Observation/%s\"}],\"note\":[{\"text\":"
         "\"SYNTHETIC COMMENT FOR BENCHMARKING\"}]",
         date, spec, res[0], res[1], res[2]);
    end();
    uuid(report);
    begin("DiagnosticReport", report, "UKCore-DiagnosticReport");
    OUTF(",\"identifier\":[{\"system\":\"https://example.org/synthetic-lab\",\"value\":"
         "\"LAB%04d\"}],\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":"
         "\"" SCT
         "\",\"code\":\"721981007\",\"display\":\"Diagnostic studies report\"}]}],"
         "\"code\":{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"4241000179101\","
         "\"display\":\"Laboratory report\"}]}",
         (int)(next() % 10000));
    subject();
    OUTF(
        ",\"issued\":\"%sT12:00:00+00:00\",\"performer\":[{\"reference\":"
        "\"Organization/%s\"}],\"specimen\":[{\"reference\":\"Specimen/%s\"}],\"result\":"
        "[{\"reference\":\"Observation/%s\"}],\"conclusion\":\"SYNTHETIC SAMPLE "
        "RECEIVED\"}",
        date, org, spec, battery);
    out("}");
}

static void marker(void)
{
    char flag[37], ob[37], id[37], enc[37];
    static const char *const sec =
        "\"security\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\","
        "\"code\":\"NOPAT\",\"display\":\"no disclosure to patient, family or caregivers "
        "without attending provider's authorization\"}]";
    static const char *const code = "\"code\":{\"coding\":[{\"system\":\"" SCT
                                    "\",\"code\":\"716565009\",\"display\":"
                                    "\"At increased risk of child sexual "
                                    "exploitation\"}],\"text\":\"At increased risk "
                                    "of child sexual exploitation\"}";

    encounter(enc, "25671000000102", "Surgery Consultation Note");
    uuid(flag);
    uuid(ob);
    uuid(id);
    OUTF(
        ",\n{\"resource\":{\"resourceType\":\"Flag\",\"id\":\"%s\",\"meta\":{\"profile\":"
        "[\"https://csemarker.org/fhir/StructureDefinition/cse-risk-marker-flag\"],%s},"
        "\"extension\":[{\"url\":"
        "\"https://csemarker.org/fhir/StructureDefinition/"
        "cse-review-date\",\"valueDate\":"
        "\"2020-09-01\"},{\"url\":\"http://hl7.org/fhir/StructureDefinition/"
        "flag-detail\","
        "\"valueReference\":{\"reference\":\"Observation/%s\"}}],",
        flag, sec, ob);
    OUTF(
        "\"identifier\":[{\"system\":\"https://csemarker.org/fhir/Id/marker\",\"value\":"
        "\"%s\"}],\"status\":\"active\",\"category\":[{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/flag-category\",\"code\":\"safety\","
        "\"display\":\"Safety\"}]},{\"coding\":[{\"system\":"
        "\"https://csemarker.org/fhir/CodeSystem/safeguarding-marker-category\",\"code\":"
        "\"cse\",\"display\":\"Child sexual exploitation\"}]}],%s,",
        id, code);
    OUTF("\"subject\":{\"reference\":\"Patient/%s\",\"identifier\":{\"system\":"
         "\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9990000018\"}},\"period\":"
         "{\"start\":\"2020-03-01\"},\"encounter\":{\"reference\":\"Encounter/%s\"},"
         "\"author\":{\"reference\":\"Practitioner/%s\"}}}",
         patient, enc, gp);
    OUTF(",\n{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"%s\",\"meta\":"
         "{\"profile\":[\"https://csemarker.org/fhir/StructureDefinition/"
         "cse-risk-marker-observation\"],%s},\"extension\":[{\"url\":"
         "\"https://csemarker.org/fhir/StructureDefinition/"
         "cse-review-date\",\"valueDate\":"
         "\"2020-09-01\"}],\"identifier\":[{\"system\":"
         "\"https://csemarker.org/fhir/Id/"
         "marker\",\"value\":\"%s\"}],\"status\":\"final\",",
         ob, sec, id);
    OUTF(
        "\"category\":[{\"coding\":[{\"system\":"
        "\"https://csemarker.org/fhir/CodeSystem/safeguarding-marker-category\",\"code\":"
        "\"cse\",\"display\":\"Child sexual exploitation\"}]}],%s,\"subject\":"
        "{\"reference\":\"Patient/%s\",\"identifier\":{\"system\":"
        "\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9990000018\"}},",
        code, patient);
    OUTF("\"encounter\":{\"reference\":\"Encounter/%s\"},\"effectivePeriod\":{\"start\":"
         "\"2020-03-01\"},\"performer\":[{\"reference\":\"Practitioner/%s\"}],\"note\":"
         "[{\"text\":\"CSE marker v1 | status: active | category: cse | review: "
         "2020-09-01\"}]}}",
         enc, gp);
    resources += 2;
}

static int done(void)
{
    if (max_resources >= 0)
        return resources >= max_resources;
    return written >= max_bytes - 4096;
}

int main(int argc, char **argv)
{
    char bundle[37];
    int a = 1;

    if (argc == 4 && strcmp(argv[1], "--resources") == 0) {
        max_resources = atoll(argv[2]);
        a = 3;
    } else if (argc == 3) {
        max_bytes = atoll(argv[1]) * 1024 * 1024;
        a = 2;
    } else {
        fprintf(stderr, "usage: gen-bundle MEGABYTES SEED\n"
                        "       gen-bundle --resources N SEED\n");
        return 2;
    }
    state = strtoull(argv[a], NULL, 10);
    uuid(bundle);
    uuid(patient);
    uuid(gp);
    uuid(org);
    OUTF("{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"meta\":{\"profile\":"
         "[\"https://fhir.hl7.org.uk/StructureDefinition/UKCore-Bundle\"]},\"type\":"
         "\"collection\",\"entry\":[",
         bundle);
    begin("Patient", patient, "UKCore-Patient");
    OUTF(",\"identifier\":[{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":"
         "\"9990000018\"}],\"managingOrganization\":{\"reference\":\"Organization/%s\"},"
         "\"generalPractitioner\":[{\"reference\":\"Practitioner/%s\"}]",
         org, gp);
    end();
    begin("Organization", org, "UKCore-Organization");
    out(",\"identifier\":[{\"system\":\"https://fhir.nhs.uk/Id/ods-organization-code\","
        "\"value\":\"Y01001\"}],\"name\":\"Synthetic Practice\",\"type\":[{\"coding\":"
        "[{\"system\":\"https://fhir.nhs.uk/CodeSystem/organisation-role\",\"code\":"
        "\"76\",\"display\":\"GP PRACTICE\"}]}]");
    end();
    begin("Practitioner", gp, "UKCore-Practitioner");
    out(",\"name\":[{\"family\":\"Clinician\",\"given\":[\"Synthetic\"],\"prefix\":"
        "[\"Dr\"]}]");
    end();
    for (int n = 0; !done(); n++) {
        int slot = n % 40;
        set_date(n);
        if (slot < 6 || slot >= 37)
            consultation(slot, n / 40);
        else if (slot < 15)
            plan("active");
        else if (slot < 34)
            order();
        else if (slot == 34)
            plan("stopped");
        else
            pathology();
        if (n % 500 == 7)
            marker();
    }
    out("\n]}\n");
    return fflush(stdout) == 0 ? 0 : 1;
}
