/* SPDX-License-Identifier: MIT */
/* gen-extract: writes a reproducible synthetic GP2GP RCMR_IN030000UK07
 * extract of about the requested size, for the benchmarks: consultations
 * (topics, categories, coded observations with values and notes, allergies,
 * problems, plans, referrals, narratives), medication (authorise, prescribe
 * linked to it, discontinue) and pathology reports (specimen, battery,
 * results with reference ranges), in the proportions of the national test
 * extracts (below), with a CSE marker labelled NOPAT, in a composition of
 * its own, every 500 compositions.
 *
 * usage: gen-extract MEGABYTES SEED [--uk06] > extract.xml
 * With --uk06 no confidentialityCode is written (the repair pass adds it). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

/* splitmix64: small, fast and the same everywhere. */
static uint64_t next(void)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const char *uuid(void)
{
    static char buf[37];
    uint64_t a = next(), b = next();
    snprintf(buf, sizeof(buf),
             "%08" PRIX64 "-%04" PRIX64 "-4%03" PRIX64 "-8%03" PRIX64 "-%012" PRIX64,
             a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF, (b >> 48) & 0xFFF,
             (uint64_t)(b & 0xFFFFFFFFFFFFull));
    return buf;
}

/* Proportions, measured on the nine PWTP extracts of the national
 * requesting adaptor's tests (../shared/conformance/nia/ehr-to-fhir/pwtp/,
 * 411 ehrCompositions in all) with a small ElementTree count:
 *
 *   per composition   ObservationStatement 0.96  NarrativeStatement 0.32
 *                     MedicationStatement 0.73 (ehrSupplyAuthorise 0.22,
 *                     ehrSupplyPrescribe 0.49, ehrSupplyDiscontinue 0.027)
 *                     allergy CATEGORY (14L..00 / SN53.00) 0.07
 *                     pathology report CLUSTER (16488004) 0.05, specimen 0.05
 *                     TOPIC 0.20  CATEGORY 0.42  LinkSet 0.10
 *                     PlanStatement 0.027  RequestStatement 0.012
 *
 * A cycle of 40 compositions reproduces them: 6 consultations (a TOPIC with
 * History and Examination CATEGORYs of 2 observations each, a narrative; on
 * three an allergy compound, on four a LinkSet naming the first
 * observation, on one a plan, on every other cycle a referral), 9
 * authorises, 19 prescribes of the latest authorise, 1 discontinue of it, 2
 * pathology reports (TOPIC, Result CATEGORY, report CLUSTER with a comment,
 * specimen CLUSTER, BATTERY of 3 results with reference ranges and a
 * comment), and 3 consultations without a topic (2 observations and a
 * narrative): per 40 compositions 39 observations, 13 narratives, 29
 * medication statements, 3 allergies, 2 reports, 8 topics, 17 categories,
 * 4 LinkSets, 1 plan, 0.5 referral. (PWTP9's free-text result CLUSTERs are
 * not copied: 0.1 CLUSTER per composition here against 0.21 there.)
 * The shapes are the PWTP extracts' own, written without indentation. The
 * marker travels in a composition of its own, labelled NOPAT. */
#define SNOMED "2.16.840.1.113883.2.1.3.2.4.15"
#define READ2 "2.16.840.1.113883.2.1.6.2"

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

/* Drugs and doses as the PWTP extracts carry them most often. */
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

/* Pathology results of PWTP9, with their usual units and ranges. */
static const struct {
    const char *read, *code, *display, *unit;
    int lo, hi;
} results[] = {
    {"44I5.00", "104934005", "Serum sodium", "mmol/L", 133, 146},
    {"44J3.00", "113075003", "Serum creatinine", "umol/L", 59, 104},
    {"44P..00", "270996006", "Serum cholesterol", "mmol/L", 3, 5},
    {"423..00", "275806002", "Haemoglobin estimation", "g/L", 130, 180},
    {"42H..00", "767002", "Total white cell count", "10*9/L", 4, 11},
    {"42P..00", "61928009", "Platelet count", "10*9/L", 150, 400},
};

static long long written;

static void out(const char *s)
{
    written += (long long)strlen(s);
    fputs(s, stdout);
}

#define OUTF(...)                                                                        \
    do {                                                                                 \
        char _b[4096];                                                                   \
        snprintf(_b, sizeof(_b), __VA_ARGS__);                                           \
        out(_b);                                                                         \
    } while (0)

static const char *nopat = "<confidentialityCode code=\"NOPAT\" "
                           "codeSystem=\"2.16.840.1.113883.4.642.3.47\" "
                           "displayName=\"no disclosure to patient, family or caregivers "
                           "without attending provider's authorization\"/>";

static char gp[37], org[37], last_authorise[37];
static int last_drug;
static char date[16];

/* The composition's date, YYYYMMDD, from its number. */
static void set_date(int n)
{
    int day = n % 336;
    snprintf(date, sizeof(date), "2020%02d%02d", day / 28 % 12 + 1, day % 28 + 1);
}

static const char *statement_head(void)
{
    static char b[256];
    snprintf(b, sizeof(b),
             "<statusCode code=\"COMPLETE\"/><effectiveTime><center nullFlavor=\"NI\"/>"
             "</effectiveTime><availabilityTime value=\"%s\"/>",
             date);
    return b;
}

/* Components inside a compound conduct context; the schema does not allow the
 * attribute on an ehrComposition's own components. */
static int depth;

static const char *comp(void)
{
    return depth > 0 ? "<component typeCode=\"COMP\" contextConductionInd=\"true\">"
                     : "<component typeCode=\"COMP\">";
}

static void open_compound(const char *cls, const char *code, const char *system,
                          const char *display)
{
    out(comp());
    OUTF("<CompoundStatement "
         "classCode=\"%s\" moodCode=\"EVN\"><id root=\"%s\"/>",
         cls, uuid());
    OUTF("<code code=\"%s\" codeSystem=\"%s\" displayName=\"%s\"/>%s\n", code, system,
         display, statement_head());
    depth++;
}

static void close_compound(void)
{
    depth--;
    out("</CompoundStatement></component>\n");
}

static void observation(int i, char *id_out)
{
    int k = (int)(next() % (sizeof(obs) / sizeof(obs[0])));
    const char *id = uuid();

    if (id_out != NULL)
        memcpy(id_out, id, 37);
    out(comp());
    OUTF("<ObservationStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/>",
         id);
    OUTF("<code code=\"%s\" codeSystem=\"" SNOMED "\" "
         "displayName=\"%s\"/><statusCode code=\"COMPLETE\"/><effectiveTime><center "
         "value=\"%s\"/></effectiveTime><availabilityTime value=\"%s\"/>",
         obs[k].code, obs[k].display, date, date);
    if (obs[k].unit != NULL)
        OUTF("<value xsi:type=\"PQ\" value=\"%d\" unit=\"%s\"/>",
             obs[k].lo + (int)(next() % (unsigned)(obs[k].hi - obs[k].lo + 1)),
             obs[k].unit);
    if (i % 2 == 0)
        OUTF("<pertinentInformation typeCode=\"PERT\"><sequenceNumber value=\"+1\"/>"
             "<pertinentAnnotation classCode=\"OBS\" moodCode=\"EVN\"><text>Synthetic "
             "note %d for benchmarking: measured at the surgery, patient well, to "
             "review in clinic.</text></pertinentAnnotation></pertinentInformation>",
             i);
    OUTF("<Participant typeCode=\"PRF\" contextControlCode=\"OP\"><agentRef "
         "classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant>"
         "</ObservationStatement></component>\n",
         gp);
}

static void narrative(const char *text)
{
    out(comp());
    OUTF("<NarrativeStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/><text>%s</text><statusCode "
         "code=\"COMPLETE\"/><availabilityTime value=\"%s\"/></NarrativeStatement>"
         "</component>\n",
         uuid(), text, date);
}

/* The allergy CATEGORY compound as EMIS writes it and the adaptors read
 * it: 14L..00 (drug) or SN53.00 (non-drug), its ObservationStatement coded
 * with the reaction and the allergen in a coded value. */
static void allergy(int drug)
{
    if (drug)
        open_compound("CATEGORY", "14L..00", READ2, "H/O: drug allergy");
    else
        open_compound("CATEGORY", "SN53.00", READ2, "Allergy, unspecified");
    out(comp());
    OUTF("<ObservationStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/>",
         uuid());
    if (drug)
        OUTF("<code code=\"TJ94400\" codeSystem=\"" READ2 "\" displayName=\"Adverse "
             "reaction to diazepam\"><translation code=\"292360004\" codeSystem=\"" SNOMED
             "\" displayName=\"Adverse reaction to diazepam\"/></code>%s<value "
             "xsi:type=\"CD\" code=\"387264003\" codeSystem=\"" SNOMED
             "\" displayName=\"Diazepam\"/>",
             statement_head());
    else
        OUTF("<code code=\"SN58200\" codeSystem=\"" READ2 "\" displayName=\"Peanut "
             "allergy\"><translation code=\"91935009\" codeSystem=\"" SNOMED
             "\" displayName=\"Peanut allergy\"/></code>%s",
             statement_head());
    out("<pertinentInformation typeCode=\"PERT\"><sequenceNumber value=\"+1\"/>"
        "<pertinentAnnotation classCode=\"OBS\" moodCode=\"EVN\"><text>Reaction: rash. "
        "Synthetic allergy for benchmarking.</text></pertinentAnnotation>"
        "</pertinentInformation></ObservationStatement></component>\n");
    close_compound();
}

static void linkset(const char *named)
{
    out(comp());
    OUTF("<LinkSet "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/><code code=\"394774009\" "
         "codeSystem=\"" SNOMED "\" displayName=\"Active problem\"><originalText>Active "
         "Problem, Significant</originalText><qualifier inverted=\"false\"><name "
         "code=\"386134007\" codeSystem=\"" SNOMED "\" displayName=\"Significant\"/>"
         "</qualifier></code>",
         uuid());
    OUTF(
        "<statusCode code=\"COMPLETE\"/><effectiveTime><low value=\"%s\"/>"
        "</effectiveTime><availabilityTime value=\"%s\"/><conditionNamed "
        "typeCode=\"NAME\" "
        "inversionInd=\"true\"><namedStatementRef classCode=\"OBS\" moodCode=\"EVN\"><id "
        "root=\"%s\"/></namedStatementRef></conditionNamed></LinkSet></component>\n",
        date, date, named);
}

static void plan(void)
{
    out(comp());
    OUTF("<PlanStatement "
         "classCode=\"OBS\" moodCode=\"INT\"><id root=\"%s\"/><code code=\"390906007\" "
         "codeSystem=\"" SNOMED "\" displayName=\"Follow-up encounter\"/><statusCode "
         "code=\"COMPLETE\"/><effectiveTime><center value=\"%s\"/></effectiveTime>"
         "<availabilityTime value=\"%s\"/></PlanStatement></component>\n",
         uuid(), date, date);
}

static void referral(void)
{
    out(comp());
    OUTF("<RequestStatement "
         "classCode=\"OBS\" moodCode=\"RQO\"><id root=\"%s\"/><code code=\"8H61.00\" "
         "codeSystem=\"" READ2
         "\" displayName=\"Referral to private doctor\"><translation "
         "code=\"266747000\" codeSystem=\"" SNOMED "\" displayName=\"Referral to private "
         "doctor\"/></code><text>Synthetic referral for benchmarking, purpose: "
         "investigation.</text>%s",
         uuid(), statement_head());
    out("<priorityCode code=\"394848005\" codeSystem=\"" SNOMED
        "\" displayName=\"Normal\">"
        "<originalText>Routine</originalText></priorityCode></RequestStatement>"
        "</component>\n");
}

static void open_composition(const char *code, const char *display, int labelled)
{
    OUTF("<component typeCode=\"COMP\"><ehrComposition classCode=\"COMPOSITION\" "
         "moodCode=\"EVN\"><id root=\"%s\"/><code code=\"%s\" codeSystem=\"" SNOMED
         "\" displayName=\"%s\"/><statusCode code=\"COMPLETE\"/><effectiveTime><center "
         "value=\"%s\"/></effectiveTime><availabilityTime value=\"%s\"/>%s",
         uuid(), code, display, date, date, labelled ? nopat : "");
    OUTF("<author typeCode=\"AUT\" contextControlCode=\"OP\"><time value=\"%s\"/>"
         "<agentRef classCode=\"AGNT\"><id root=\"%s\"/></agentRef></author>"
         "<Participant2 typeCode=\"RESP\" contextControlCode=\"OP\"><agentRef "
         "classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant2>\n",
         date, gp, gp);
}

static void close_composition(void)
{
    out("</ehrComposition></component>\n");
}

/* A consultation: slots 0-5 as a TOPIC with History and Examination
 * CATEGORYs, slots 37-39 as entries straight in the composition. */
static void consultation(int slot, int cycle)
{
    char first[37];
    int topic = slot < 6;

    open_composition("25671000000102", "Surgery Consultation Note", 0);
    if (!topic) {
        observation(0, NULL);
        observation(1, NULL);
        narrative("Consultation summary for benchmarking. Discussed results and plan; "
                  "follow up as arranged.");
        close_composition();
        return;
    }
    open_compound("TOPIC", "185317003", SNOMED, "Telephone encounter");
    open_compound("CATEGORY", "15621000000105", SNOMED, "History");
    observation(0, first);
    observation(1, NULL);
    if (slot == 5)
        plan();
    close_compound();
    open_compound("CATEGORY", "394831002", SNOMED, "Examination");
    observation(2, NULL);
    observation(3, NULL);
    close_compound();
    if (slot < 3)
        allergy(slot != 1);
    if (slot == 4 && cycle % 2 == 0)
        referral();
    narrative("Consultation summary for benchmarking. Discussed results and plan; "
              "follow up as arranged.");
    if (slot < 4)
        linkset(first);
    close_compound();
    close_composition();
}

static void medication_head(const char *mood, int drug, int quantity)
{
    OUTF("<component typeCode=\"COMP\"><MedicationStatement classCode=\"SBADM\" "
         "moodCode=\"%s\"><id root=\"%s\"/>%s",
         mood, uuid(), statement_head());
    OUTF("<consumable typeCode=\"CSM\"><manufacturedProduct classCode=\"MANU\">"
         "<manufacturedMaterial classCode=\"MMAT\" determinerCode=\"KIND\"><code "
         "code=\"%s\" codeSystem=\"" SNOMED
         "\" displayName=\"%s\"/><quantity value=\"%d\" "
         "unit=\"1\"><translation value=\"%d\"><originalText>tablet</originalText>"
         "</translation></quantity></manufacturedMaterial></manufacturedProduct>"
         "</consumable>",
         drugs[drug].code, drugs[drug].display, quantity, quantity);
}

static void medication_tail(int drug)
{
    OUTF(
        "<pertinentInformation typeCode=\"PERT\"><pertinentMedicationDosage "
        "classCode=\"SBADM\" moodCode=\"RMD\"><text>%s</text></pertinentMedicationDosage>"
        "</pertinentInformation><Participant typeCode=\"PRF\" contextControlCode=\"OP\">"
        "<agentRef classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant>"
        "</MedicationStatement></component>\n",
        drugs[drug].dose, gp);
}

static void authorise(void)
{
    int drug = (int)(next() % (sizeof(drugs) / sizeof(drugs[0])));

    open_composition("196391000000103", "Non-consultation medication data", 0);
    medication_head("INT", drug, 28);
    memcpy(last_authorise, uuid(), 37);
    last_drug = drug;
    OUTF("<component typeCode=\"COMP\"><ehrSupplyAuthorise classCode=\"SPLY\" "
         "moodCode=\"INT\"><id root=\"%s\"/><code code=\"394823007\" codeSystem=\"" SNOMED
         "\" displayName=\"NHS Prescription\"/><statusCode code=\"ACTIVE\"/>"
         "<effectiveTime><low value=\"%s\"/></effectiveTime><availabilityTime "
         "value=\"%s\"/><repeatNumber value=\"6\"/><quantity value=\"28\" unit=\"1\">"
         "<translation value=\"28\"><originalText>tablet</originalText></translation>"
         "</quantity></ehrSupplyAuthorise></component>",
         last_authorise, date, date);
    medication_tail(drug);
    close_composition();
}

static void prescribe(void)
{
    open_composition("196391000000103", "Non-consultation medication data", 0);
    medication_head("ORD", last_drug, 28);
    OUTF("<component typeCode=\"COMP\"><ehrSupplyPrescribe classCode=\"SPLY\" "
         "moodCode=\"ORD\"><id root=\"%s\"/><code code=\"394823007\" codeSystem=\"" SNOMED
         "\" displayName=\"NHS Prescription\"/><statusCode code=\"COMPLETE\"/>"
         "<availabilityTime value=\"%s\"/><quantity value=\"28\" unit=\"1\"><translation "
         "value=\"28\"><originalText>tablet</originalText></translation></quantity>",
         uuid(), date);
    OUTF("<inFulfillmentOf typeCode=\"FLFS\"><priorMedicationRef classCode=\"SBADM\" "
         "moodCode=\"INT\"><id root=\"%s\"/></priorMedicationRef></inFulfillmentOf>"
         "</ehrSupplyPrescribe></component>",
         last_authorise);
    medication_tail(last_drug);
    close_composition();
}

static void discontinue(void)
{
    open_composition("196391000000103", "Non-consultation medication data", 0);
    medication_head("INT", last_drug, 28);
    OUTF("<component typeCode=\"COMP\"><ehrSupplyDiscontinue classCode=\"SPLY\" "
         "moodCode=\"RQO\"><id root=\"%s\"/><code code=\"EMISDRUG_DISCONTINUATION\" "
         "codeSystem=\"2.16.840.1.113883.2.1.6.3\" displayName=\"Medication Course "
         "Ended\"/><statusCode code=\"COMPLETE\"/><availabilityTime value=\"%s\"/>",
         uuid(), date);
    OUTF("<reversalOf typeCode=\"REV\"><priorMedicationRef classCode=\"SBADM\" "
         "moodCode=\"INT\"><id root=\"%s\"/></priorMedicationRef></reversalOf>"
         "<pertinentInformation typeCode=\"PERT\"><pertinentSupplyAnnotation "
         "classCode=\"OBS\" moodCode=\"EVN\"><text>Patient no longer requires "
         "these</text></pertinentSupplyAnnotation></pertinentInformation>"
         "</ehrSupplyDiscontinue></component>",
         last_authorise);
    medication_tail(last_drug);
    close_composition();
}

static void result(int k)
{
    int v = results[k].lo + (int)(next() % (unsigned)(results[k].hi - results[k].lo + 3));
    out(comp());
    OUTF("<ObservationStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/><code code=\"%s\" "
         "codeSystem=\"" READ2 "\" displayName=\"%s\"><translation code=\"%s\" "
         "codeSystem=\"" SNOMED "\" displayName=\"%s\"/></code>%s",
         uuid(), results[k].read, results[k].display, results[k].code, results[k].display,
         statement_head());
    OUTF("<value xsi:type=\"PQ\" value=\"%d\" unit=\"1\"><translation value=\"%d\">"
         "<originalText>%s</originalText></translation></value>",
         v, v, results[k].unit);
    if (v > results[k].hi)
        out("<interpretationCode code=\"HI\" codeSystem=\"2.16.840.1.113883.2.1.6.5\" "
            "displayName=\"Above high reference limit\"/>");
    OUTF("<referenceRange typeCode=\"REFV\"><referenceInterpretationRange "
         "classCode=\"OBS\" moodCode=\"EVN.CRT\"><value><low value=\"%d\"/><high "
         "value=\"%d\"/></value></referenceInterpretationRange></referenceRange>"
         "</ObservationStatement></component>\n",
         results[k].lo, results[k].hi);
}

/* The pathology hierarchy of PWTP9: Result CATEGORY, report CLUSTER
 * (16488004, with the lab's report id), specimen CLUSTER (123038009, with
 * its specimen), BATTERY, results and comments. */
static void pathology(void)
{
    int k = (int)(next() % 2) * 3;

    open_composition("37291000000107", "Externally Entered Note", 0);
    open_compound("TOPIC", "Z....00", READ2, "UnspecifiedCondtions");
    open_compound("CATEGORY", "394617004", SNOMED, "Result");
    out(comp());
    OUTF("<CompoundStatement "
         "classCode=\"CLUSTER\" moodCode=\"EVN\"><id root=\"%s\"/><id "
         "root=\"2.16.840.1.113883.2.1.4.5.5\" extension=\"LAB/%s/%04d\"/><code "
         "code=\"16488004\" codeSystem=\"" SNOMED "\" displayName=\"laboratory "
         "reporting\"><originalText>Filed Report</originalText></code>%s\n",
         uuid(), date, (int)(next() % 10000), statement_head());
    depth++;
    narrative("CommentType:LABORATORY RESULT COMMENT(E141) CommentDate:20200101 "
              "SYNTHETIC SAMPLE RECEIVED");
    out(comp());
    OUTF("<CompoundStatement "
         "classCode=\"CLUSTER\" moodCode=\"EVN\"><id root=\"%s\"/><code "
         "code=\"123038009\" codeSystem=\"" SNOMED "\" displayName=\"specimen "
         "(specimen)\"/>%s",
         uuid(), statement_head());
    OUTF("<specimen typeCode=\"SPC\"><specimenRole classCode=\"SPEC\"><id root=\"%s\"/>"
         "<id root=\"2.16.840.1.113883.2.1.4.5.2\" extension=\"SPC%04d\"/><effectiveTime>"
         "<center value=\"%s\"/></effectiveTime><specimenSpecimenMaterial "
         "classCode=\"MAT\" "
         "determinerCode=\"INSTANCE\"><desc>Blood</desc></specimenSpecimenMaterial>"
         "</specimenRole></specimen>\n",
         uuid(), (int)(next() % 10000), date);
    depth++;
    open_compound("BATTERY", k ? "42...00" : "44...00", READ2,
                  k ? "Full blood count" : "Urea and electrolytes");
    for (int i = 0; i < 3; i++)
        result(k + i);
    narrative("CommentType:AGGREGATE COMMENT SET CommentDate:20200101 SYNTHETIC "
              "COMMENT FOR BENCHMARKING");
    close_compound(); /* battery */
    close_compound(); /* specimen */
    close_compound(); /* report */
    close_compound(); /* category */
    close_compound(); /* topic */
    close_composition();
}

static void marker(int uk06)
{
    open_composition("25671000000102", "Surgery Consultation Note", !uk06);
    OUTF("<component typeCode=\"COMP\"><ObservationStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/>",
         uuid());
    OUTF(
        "<code code=\"716565009\" codeSystem=\"" SNOMED "\" "
        "displayName=\"At increased risk of child sexual exploitation\"><originalText>At "
        "increased risk of child sexual exploitation</originalText></code>"
        "<statusCode code=\"COMPLETE\"/><effectiveTime><center value=\"20200301\"/>"
        "</effectiveTime><availabilityTime value=\"20200301\"/>%s",
        uk06 ? "" : nopat);
    OUTF(
        "<pertinentInformation typeCode=\"PERT\"><sequenceNumber value=\"+1\"/>"
        "<pertinentAnnotation classCode=\"OBS\" moodCode=\"EVN\"><text>CSE marker v1 | "
        "status: active | category: cse | review: 2020-09-01</text></pertinentAnnotation>"
        "</pertinentInformation><Participant typeCode=\"PRF\" contextControlCode=\"OP\">"
        "<agentRef classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant>"
        "</ObservationStatement></component>\n",
        gp);
    close_composition();
}

static void composition(int n, int uk06)
{
    int slot = n % 40;

    set_date(n);
    if (slot < 6)
        consultation(slot, n / 40);
    else if (slot < 15)
        authorise();
    else if (slot < 34)
        prescribe();
    else if (slot == 34)
        discontinue();
    else if (slot < 37)
        pathology();
    else
        consultation(slot, n / 40);
    if (n % 500 == 7)
        marker(uk06);
}

int main(int argc, char **argv)
{
    long long target;
    int uk06 = argc > 3 && strcmp(argv[3], "--uk06") == 0;
    const char *root = uk06 ? "RCMR_IN030000UK06" : "RCMR_IN030000UK07";

    if (argc < 3) {
        fprintf(stderr, "usage: gen-extract MEGABYTES SEED [--uk06]\n");
        return 2;
    }
    target = atoll(argv[1]) * 1024 * 1024;
    state = strtoull(argv[2], NULL, 10);
    snprintf(gp, sizeof(gp), "%s", uuid());
    snprintf(org, sizeof(org), "%s", uuid());
    OUTF("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"urn:hl7-org:v3\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<id root=\"%s\"/>"
         "<creationTime value=\"20201028112524\"/><versionCode code=\"V3NPfIT3.1.10\"/>"
         "<interactionId root=\"2.16.840.1.113883.2.1.3.2.4.12\" extension=\"%s\"/>"
         "<processingCode code=\"P\"/><processingModeCode code=\"T\"/><acceptAckCode "
         "code=\"NE\"/>\n",
         root, uuid(), root);
    out("<communicationFunctionRcv typeCode=\"RCV\"><device classCode=\"DEV\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.2.0.107\" "
        "extension=\"200000000205\"/></device></communicationFunctionRcv>"
        "<communicationFunctionSnd typeCode=\"SND\"><device classCode=\"DEV\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.2.0.107\" "
        "extension=\"200000000206\"/></device></communicationFunctionSnd>\n"
        "<ControlActEvent classCode=\"CACT\" moodCode=\"EVN\"><author1 typeCode=\"AUT\">"
        "<AgentSystemSDS classCode=\"AGNT\"><agentSystemSDS classCode=\"DEV\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.2.0.107\" "
        "extension=\"200000000206\"/></agentSystemSDS></AgentSystemSDS></author1>\n"
        "<subject typeCode=\"SUBJ\" contextConductionInd=\"false\"><EhrExtract "
        "classCode=\"EXTRACT\" moodCode=\"EVN\">");
    OUTF("<id root=\"%s\"/><statusCode code=\"COMPLETE\"/><availabilityTime "
         "value=\"20201028112524\"/><recordTarget typeCode=\"RCT\"><patient "
         "classCode=\"PAT\"><id root=\"2.16.840.1.113883.2.1.4.1\" "
         "extension=\"9990000018\"/>"
         "</patient></recordTarget>\n",
         uuid());
    out("<author typeCode=\"AUT\"><time value=\"20201028112524\"/><AgentOrgSDS "
        "classCode=\"AGNT\"><agentOrganizationSDS classCode=\"ORG\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.1.10\" "
        "extension=\"Y01001\"/>"
        "</agentOrganizationSDS></AgentOrgSDS></author><destination typeCode=\"DST\">"
        "<AgentOrgSDS classCode=\"AGNT\"><agentOrganizationSDS classCode=\"ORG\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.1.10\" "
        "extension=\"Y01002\"/>"
        "</agentOrganizationSDS></AgentOrgSDS></destination>\n");
    OUTF("<component typeCode=\"COMP\"><ehrFolder classCode=\"FOLDER\" "
         "moodCode=\"EVN\"><id "
         "root=\"%s\"/><statusCode code=\"COMPLETE\"/><effectiveTime><low "
         "value=\"20050101\"/>"
         "<high value=\"20201028\"/></effectiveTime><availabilityTime "
         "value=\"20201028112524\"/>"
         "<author typeCode=\"AUT\"><time value=\"20201028112524\"/><AgentOrgSDS "
         "classCode=\"AGNT\"><agentOrganizationSDS classCode=\"ORG\" "
         "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.1.10\" "
         "extension=\"Y01001\"/>"
         "</agentOrganizationSDS></AgentOrgSDS></author>\n",
         uuid());
    OUTF("<responsibleParty typeCode=\"RESP\"><agentDirectory classCode=\"AGNT\"><part "
         "typeCode=\"PART\"><Agent classCode=\"AGNT\"><id root=\"%s\"/><code "
         "code=\"309394004\" "
         "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" displayName=\"General "
         "Practitioner "
         "Principal\"/><agentPerson classCode=\"PSN\" determinerCode=\"INSTANCE\"><name>"
         "<prefix>Dr</prefix><given>Synthetic</given><family>Clinician</family></name>"
         "</agentPerson><representedOrganization classCode=\"ORG\" "
         "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.1.10\" "
         "extension=\"Y01001\"/>"
         "<name>Synthetic Practice</name></representedOrganization></Agent></part>"
         "</agentDirectory></responsibleParty>\n",
         gp);
    for (int n = 0; written < target - 2048; n++)
        composition(n, uk06);
    OUTF("</ehrFolder></component><inFulfillmentOf typeCode=\"FLFS\"><priorEhrRequest "
         "classCode=\"EXTRACT\" moodCode=\"RQO\"><id root=\"%s\"/></priorEhrRequest>"
         "</inFulfillmentOf>",
         uuid());
    OUTF("<limitation typeCode=\"LIMIT\" "
         "inversionInd=\"true\"><limitingEhrExtractSpecification "
         "classCode=\"OBS\" moodCode=\"DEF\"><id root=\"%s\"/><code "
         "code=\"715751000000105\" "
         "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" displayName=\"Entire record "
         "available "
         "to originator\"/></limitingEhrExtractSpecification></limitation></EhrExtract>"
         "</subject></ControlActEvent>\n</%s>\n",
         uuid(), root);
    return fflush(stdout) == 0 ? 0 : 1;
}
