/* gen-extract: writes a reproducible synthetic GP2GP RCMR_IN030000UK07
 * extract of about the requested size, for the benchmarks. Realistic
 * consultations (topic, category, coded observations with values and notes,
 * narrative) with a CSE marker carrying NOPAT every few hundred compositions.
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

static const struct {
    const char *code, *display;
} obs[] = {
    {"271649006", "Systolic blood pressure"},
    {"271650006", "Diastolic blood pressure"},
    {"27113001", "Body weight"},
    {"50373000", "Body height measure"},
    {"365981007", "Tobacco smoking behaviour"},
    {"228273003", "Finding relating to alcohol drinking behaviour"},
    {"162864005", "Body mass index 30+ - obesity"},
    {"38341003", "Hypertensive disorder"},
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

static char gp[37], org[37];

static void observation(int i, int day)
{
    int k = (int)(next() % (sizeof(obs) / sizeof(obs[0])));
    OUTF("<component typeCode=\"COMP\" "
         "contextConductionInd=\"true\"><ObservationStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/>",
         uuid());
    OUTF("<code code=\"%s\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" "
         "displayName=\"%s\"/><statusCode code=\"COMPLETE\"/><effectiveTime><center "
         "value=\"2020%02d%02d\"/></effectiveTime><availabilityTime "
         "value=\"2020%02d%02d\"/>",
         obs[k].code, obs[k].display, day / 28 % 12 + 1, day % 28 + 1, day / 28 % 12 + 1,
         day % 28 + 1);
    if (i % 2 == 0)
        OUTF("<value xsi:type=\"PQ\" value=\"%d\" unit=\"1\"/>",
             (int)(next() % 150 + 40));
    OUTF(
        "<pertinentInformation typeCode=\"PERT\"><sequenceNumber value=\"+1\"/>"
        "<pertinentAnnotation classCode=\"OBS\" moodCode=\"EVN\"><text>Synthetic note %d "
        "for benchmarking: measured at the surgery, patient well, to review in "
        "clinic.</text>"
        "</pertinentAnnotation></pertinentInformation>",
        i);
    OUTF("<Participant typeCode=\"PRF\" contextControlCode=\"OP\"><agentRef "
         "classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant>"
         "</ObservationStatement></component>\n",
         gp);
}

static void marker(int uk06)
{
    OUTF("<component typeCode=\"COMP\" "
         "contextConductionInd=\"true\"><ObservationStatement "
         "classCode=\"OBS\" moodCode=\"EVN\"><id root=\"%s\"/>",
         uuid());
    OUTF(
        "<code code=\"716565009\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" "
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
}

static void composition(int n, int uk06)
{
    int day = n % 336, with_marker = n % 500 == 7;
    OUTF("<component typeCode=\"COMP\"><ehrComposition classCode=\"COMPOSITION\" "
         "moodCode=\"EVN\"><id root=\"%s\"/><code code=\"185317003\" "
         "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" displayName=\"Telephone "
         "encounter\"/>"
         "<statusCode code=\"COMPLETE\"/><effectiveTime><center value=\"2020%02d%02d\"/>"
         "</effectiveTime><availabilityTime value=\"2020%02d%02d\"/>%s",
         uuid(), day / 28 % 12 + 1, day % 28 + 1, day / 28 % 12 + 1, day % 28 + 1,
         with_marker && !uk06 ? nopat : "");
    OUTF("<author typeCode=\"AUT\" contextControlCode=\"OP\"><time "
         "value=\"2020%02d%02d\"/>"
         "<agentRef classCode=\"AGNT\"><id root=\"%s\"/></agentRef></author>"
         "<Participant2 typeCode=\"RESP\" contextControlCode=\"OP\"><agentRef "
         "classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant2>\n",
         day / 28 % 12 + 1, day % 28 + 1, gp, gp);
    OUTF("<component typeCode=\"COMP\"><CompoundStatement classCode=\"CATEGORY\" "
         "moodCode=\"EVN\"><id root=\"%s\"/><code code=\"394841004\" "
         "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" displayName=\"Other category\"/>"
         "<statusCode code=\"COMPLETE\"/><effectiveTime><center nullFlavor=\"NI\"/>"
         "</effectiveTime><availabilityTime value=\"2020%02d%02d\"/>\n",
         uuid(), day / 28 % 12 + 1, day % 28 + 1);
    for (int i = 0; i < 6; i++)
        observation(i, day);
    if (with_marker)
        marker(uk06);
    out("</CompoundStatement></component>\n");
    OUTF("<component typeCode=\"COMP\"><NarrativeStatement classCode=\"OBS\" "
         "moodCode=\"EVN\"><id root=\"%s\"/><text>Consultation summary for benchmarking. "
         "Discussed results and plan; follow up as arranged.</text><statusCode "
         "code=\"COMPLETE\"/><availabilityTime "
         "value=\"2020%02d%02d\"/></NarrativeStatement>"
         "</component>\n</ehrComposition></component>\n",
         uuid(), day / 28 % 12 + 1, day % 28 + 1);
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
