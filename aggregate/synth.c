/* SPDX-License-Identifier: MIT */
/* cse-report synth: a reproducible synthetic ICS.
 *
 * Everything comes from one seed through xoshiro256** (seeded by splitmix64),
 * never from rand() or the clock, so the same options give the same bytes.
 * Plan first, write second: the children who move between practices are
 * drawn up front, so that each practice's files can be written in one pass
 * with the records of those who left it and those who arrived. Names,
 * addresses and postcodes are invented so that the privacy tests have
 * something to look for; NHS numbers are from the 9xx test range (999 first), pass
 * the check digit and never repeat. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csemarker/fhir.h>
#include <csemarker/rules.h>

#include "report_internal.h"

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(struct rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in [0, n). */
static uint64_t below(struct rng *r, uint64_t n)
{
    return n ? next(r) % n : 0;
}

static double unif(struct rng *r)
{
    return (double)(next(r) >> 11) / 9007199254740992.0;
}

static const char *const given_names[] = {
    "Olivia", "Amelia", "Isla",  "Ava",      "Mia",    "Ivy",    "Lily",   "Sophia",
    "Grace",  "Freya",  "Noah",  "Oliver",   "George", "Leo",    "Arthur", "Oscar",
    "Harry",  "Theo",   "Jack",  "Muhammad", "Aisha",  "Zainab", "Priya",  "Kacper",
    "Zofia",  "Tomasz", "Seren", "Rhys",     "Niamh",  "Callum"};
static const char *const family_names[] = {
    "Smith",   "Jones",  "Taylor",  "Brown",    "Williams", "Wilson",
    "Johnson", "Davies", "Patel",   "Robinson", "Wright",   "Thompson",
    "Evans",   "Walker", "White",   "Roberts",  "Green",    "Hall",
    "Thomas",  "Clarke", "Jackson", "Wood",     "Harris",   "Edwards",
    "Turner",  "Khan",   "Hughes",  "Kowalski", "Nowak",    "Begum"};
static const char *const streets[] = {
    "Mill Lane", "Church Street", "Station Road",    "Park Avenue", "Victoria Road",
    "Queensway", "Holyhead Road", "Wellington Road", "Brook Close", "Orchard Way"};
static const char *const related_codes[] = {"836881000000105", "1064961000000107",
                                            "342191000000101", "160877008",
                                            "700226009",       "700253008"};
static const char *const marker_codes[] = {"716565009", "713834002", "919461000000108"};

#define NPICK(a) (sizeof(a) / sizeof((a)[0]))

enum variant { V_NORMAL = 0, V_NOMODULE, V_DEGRADED };

struct person {
    char id[37]; /* Patient resource id (lower-case UUID) */
    char nhs[11];
    const char *given, *family;
    char gender[8];
    cse_time birth;
    char addr[64], postcode[12];
};

struct transfer {
    struct person who;
    size_t from, to;
    cse_time when;
    int had_marker;
    enum variant v;
    char sender_id[37]; /* the Patient id at the sender */
    cse_time marker_start;
    const char *code;
};

struct synth {
    const cse_synth_options *opt;
    cse_time as_of;
    char (*ods)[8];
    uint64_t nhs_next;
    struct transfer *tr;
    size_t n_tr;
    FILE *pat, *flag, *obs, *cond;
    const char *dir;
    char gp2gp_dir[4300];
    cse_error *err;
};

static void uuid_from(struct rng *r, char out[37], int upper)
{
    static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
    const char *h = upper ? up : lo;
    uint64_t a = next(r), b = next(r);
    int k = 0;

    for (int i = 0; i < 32; i++) {
        uint64_t v = i < 16 ? a >> (4 * i) : b >> (4 * (i - 16));
        int d = (int)(v & 15);
        if (i == 12)
            d = 4;
        if (i == 16)
            d = 8 | (d & 3);
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[k++] = '-';
        out[k++] = h[d];
    }
    out[k] = '\0';
}

/* The next NHS number of the synthetic sequence that passes the check digit.
 * The nine-digit body is a prefix from 999 down to 980 (the 9xx range, never
 * issued to a patient in England; 999 first, as the fixtures use) and six
 * free digits that walk a permutation of 0..999999 within each prefix, so
 * numbers look scattered but never repeat for 20 million bodies, about 18
 * million valid numbers: far beyond the 9 million patients synth allows. */
void cse__synth_nhs_number(uint64_t *next, char out[11])
{
    for (;;) {
        uint64_t k = (*next)++ % CSE__SYNTH_NHS_BODIES;
        uint64_t body = ((k % 1000000u) * 7919u + 104729u) % 1000000u;
        unsigned prefix = 999u - (unsigned)(k / 1000000u);
        int sum = 0, c;
        snprintf(out, 11, "%03u%06u", prefix, (unsigned)body);
        for (int i = 0; i < 9; i++)
            sum += (out[i] - '0') * (10 - i);
        c = 11 - sum % 11;
        if (c == 11)
            c = 0;
        if (c == 10)
            continue;
        out[9] = (char)('0' + c);
        out[10] = '\0';
        return;
    }
}

static void nhs_number(struct synth *s, char out[11])
{
    cse__synth_nhs_number(&s->nhs_next, out);
}

static cse_time days_before(const cse_time *t, long days)
{
    /* Civil-from-days arithmetic (Howard Hinnant's algorithm). */
    long y = t->year, m = t->month, d = t->day, era, yoe, doy, doe, z;
    cse_time out = {0};

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    z = era * 146097 + doe - 719468 - days;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    m = (5 * doy + 2) / 153;
    out.day = (int)(doy - (153 * m + 2) / 5 + 1);
    out.month = (int)(m < 10 ? m + 3 : m - 9);
    out.year = (int)(y + (out.month <= 2));
    out.precision = CSE_TIME_DAY;
    return out;
}

static const char *day(const cse_time *t, char buf[32])
{
    return cse_time_format_fhir_date(t, buf, 32);
}

static void make_person(struct synth *s, struct rng *r, struct person *p, int child)
{
    long age_days = child ? (long)below(r, 18 * 365 - 1)
                          : (long)(18 * 365 + below(r, 72 * 365) * (0.4 + 0.6 * unif(r)));

    uuid_from(r, p->id, 0);
    nhs_number(s, p->nhs);
    p->given = given_names[below(r, NPICK(given_names))];
    p->family = family_names[below(r, NPICK(family_names))];
    strcpy(p->gender, below(r, 2) ? "female" : "male");
    p->birth = days_before(&s->as_of, age_days);
    snprintf(p->addr, sizeof(p->addr), "%u %s", (unsigned)(1 + below(r, 180)),
             streets[below(r, NPICK(streets))]);
    snprintf(p->postcode, sizeof(p->postcode), "TF%u %u%c%c",
             (unsigned)(1 + below(r, 12)), (unsigned)below(r, 10),
             "ABDEFGHJLNPQRSTUWXYZ"[below(r, 20)], "ABDEFGHJLNPQRSTUWXYZ"[below(r, 20)]);
}

static void write_patient(struct synth *s, const struct person *p, int active,
                          const char *gp_ods)
{
    char b[32];

    fprintf(
        s->pat,
        "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"identifier\":[{\"system\":\"%s\","
        "\"value\":\"%s\"}],\"active\":%s,\"name\":[{\"use\":\"official\",\"family\":\"%"
        "s\","
        "\"given\":[\"%s\"]}],\"gender\":\"%s\",\"birthDate\":\"%s\",\"address\":[{"
        "\"line\":[\"%s\"],\"city\":\"Telford\",\"postalCode\":\"%s\"}],"
        "\"generalPractitioner\":[{\"type\":\"Organization\",\"identifier\":{\"system\":"
        "\"%s\",\"value\":\"%s\"}}]}\n",
        p->id, CSE_FHIR_NHS_NUMBER, p->nhs, active ? "true" : "false", p->family,
        p->given, p->gender, day(&p->birth, b), p->addr, p->postcode, CSE_FHIR_ODS,
        gp_ods);
}

static const char nopat_json[] =
    "\"security\":[{\"system\":\"" CSE_FHIR_R4_ACTCODE "\",\"code\":\"NOPAT\"}]";

/* A marker as our Flag plus its Observation form (flag-detail), or, for a
 * system without our module, a bare Observation. */
struct marker_spec {
    const char *code; /* SNOMED marker concept, or NULL for a legacy local code */
    cse_time start, review, end;
    int ended, flag_nopat, obs_nopat, with_flag, ours;
};

static void write_marker(struct synth *s, struct rng *r, const char *pid, const char *ods,
                         const struct marker_spec *m)
{
    char fid[37], oid[37], b1[32], b2[32], b3[32], code[200];

    uuid_from(r, fid, 0);
    uuid_from(r, oid, 0);
    if (m->code != NULL)
        snprintf(code, sizeof(code),
                 "{\"coding\":[{\"system\":\"" CSE_SYSTEM_SNOMED "\",\"code\":\"%s\","
                 "\"display\":\"%s\"}]}",
                 m->code, cse_code_term(m->code));
    else
        snprintf(code, sizeof(code),
                 "{\"coding\":[{\"system\":\"" CSE_SYSTEM_LOCAL "\",\"code\":\"CSE1\"}],"
                 "\"text\":\"CSE risk (local code)\"}");
    fprintf(
        s->obs,
        "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"meta\":{%s%s%s},"
        "\"status\":\"final\",%s\"code\":%s,\"subject\":{\"reference\":\"Patient/%s\"},"
        "\"effectivePeriod\":{\"start\":\"%s\"%s%s%s},\"performer\":[{\"identifier\":{"
        "\"system\":\"%s\",\"value\":\"%s\"}}]%s%s%s}\n",
        oid, m->ours ? "\"profile\":[\"" CSE_FHIR_OBS_PROFILE "\"]" : "",
        m->ours && m->obs_nopat ? "," : "", m->obs_nopat ? nopat_json : "",
        m->ours ? "\"category\":[{\"coding\":[{\"system\":\"" CSE_FHIR_CS_CATEGORY
                  "\",\"code\":\"cse\"}]}],"
                : "",
        code, pid, day(&m->start, b1), m->ended ? ",\"end\":\"" : "",
        m->ended ? day(&m->end, b2) : "", m->ended ? "\"" : "", CSE_FHIR_ODS, ods,
        m->ours ? ",\"extension\":[{\"url\":\"" CSE_FHIR_EXT_REVIEW_DATE
                  "\",\"valueDate\":\""
                : "",
        m->ours ? day(&m->review, b3) : "", m->ours ? "\"}]" : "");
    if (!m->with_flag)
        return;
    fprintf(
        s->flag,
        "{\"resourceType\":\"Flag\",\"id\":\"%s\",\"meta\":{\"profile\":["
        "\"" CSE_FHIR_FLAG_PROFILE
        "\"]%s%s},\"extension\":[{\"url\":\"" CSE_FHIR_EXT_REVIEW_DATE
        "\",\"valueDate\":\"%s\"},{\"url\":\"" CSE_FHIR_FLAG_DETAIL
        "\",\"valueReference\":{\"reference\":\"Observation/%s\"}}%s],"
        "\"status\":\"%s\",\"category\":[{\"coding\":[{\"system\":"
        "\"" CSE_FHIR_FLAG_CATEGORY
        "\",\"code\":\"safety\"}]},{\"coding\":[{\"system\":\"" CSE_FHIR_CS_CATEGORY
        "\",\"code\":\"cse\"}]}],\"code\":%s,\"subject\":{\"reference\":\"Patient/%s\"},"
        "\"period\":{\"start\":\"%s\"%s%s%s},\"author\":{\"identifier\":{\"system\":\"%"
        "s\","
        "\"value\":\"%s\"}}}\n",
        fid, m->flag_nopat ? "," : "", m->flag_nopat ? nopat_json : "",
        day(&m->review, b3), oid,
        m->ended ? ",{\"url\":\"" CSE_FHIR_EXT_END_REASON
                   "\",\"valueCoding\":{\"system\":\"" CSE_FHIR_CS_END_REASON
                   "\",\"code\":\"no-longer-at-risk\"}}"
                 : "",
        m->ended ? "inactive" : "active", code, pid, day(&m->start, b1),
        m->ended ? ",\"end\":\"" : "", m->ended ? day(&m->end, b2) : "",
        m->ended ? "\"" : "", CSE_FHIR_ODS, ods);
}

static void write_related(struct synth *s, struct rng *r, const char *pid,
                          const cse_time *birth)
{
    char id[37], b[32];
    const char *code = related_codes[below(r, NPICK(related_codes))];
    long span = (long)(cse_time_compare(birth, &s->as_of) < 0 ? 365 * 3 : 1);
    cse_time on = days_before(&s->as_of, (long)below(r, (uint64_t)span));

    if (cse_time_compare(&on, birth) < 0)
        on = *birth;
    uuid_from(r, id, 0);
    fprintf(
        s->cond,
        "{\"resourceType\":\"Condition\",\"id\":\"%s\",\"clinicalStatus\":{\"coding\":[{"
        "\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "condition-clinical\",\"code\":"
        "\"active\"}]},\"code\":{\"coding\":[{\"system\":\"" CSE_SYSTEM_SNOMED
        "\",\"code\":\"%s\",\"display\":\"%s\"}]},\"subject\":{\"reference\":"
        "\"Patient/%s\"},\"onsetDateTime\":\"%s\"}\n",
        id, code, cse_code_term(code), pid, day(&on, b));
}

static void write_ordinary(struct synth *s, struct rng *r, const char *pid)
{
    static const char *const codes[][2] = {{"27113001", "Body weight"},
                                           {"50373000", "Body height"},
                                           {"271649006", "Systolic blood pressure"}};
    char id[37], b[32];
    size_t k = below(r, 3);
    cse_time on = days_before(&s->as_of, (long)below(r, 1500));

    uuid_from(r, id, 0);
    fprintf(
        s->obs,
        "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"" CSE_SYSTEM_SNOMED "\",\"code\":\"%s\",\"display\":"
        "\"%s\"}]},\"subject\":{\"reference\":\"Patient/%s\"},\"effectiveDateTime\":"
        "\"%s\",\"valueQuantity\":{\"value\":%u}}\n",
        id, codes[k][0], codes[k][1], pid, day(&on, b), (unsigned)(20 + below(r, 100)));
}

/* A marker as a practice with our module records it: start in the last
 * three years, review date six months on and, at most practices, kept up. */
static void plan_marker(struct synth *s, struct rng *r, const cse_time *birth,
                        double p_legacy, double p_nonopat, double p_overdue,
                        struct marker_spec *m)
{
    long age = 0;
    cse_time lo = *birth;

    memset(m, 0, sizeof(*m));
    (void)age;
    m->code = unif(r) < p_legacy ? NULL : marker_codes[below(r, NPICK(marker_codes))];
    m->start = days_before(&s->as_of, (long)below(r, 3 * 365));
    if (cse_time_compare(&m->start, &lo) < 0)
        m->start = lo;
    if (unif(r) < p_overdue)
        cse_time_add_months(&m->start, 6, &m->review);
    else
        m->review = days_before(&s->as_of, -(long)(1 + below(r, 180)));
    if (cse_time_compare(&m->review, &m->start) < 0)
        m->review = m->start;
    m->ended = unif(r) < 0.08;
    if (m->ended) {
        m->end = days_before(&s->as_of, (long)below(r, 200));
        if (cse_time_compare(&m->end, &m->start) < 0)
            m->end = m->start;
    }
    m->flag_nopat = unif(r) >= p_nonopat / 3;
    m->obs_nopat = unif(r) >= p_nonopat;
    m->with_flag = 1;
    m->ours = 1;
}

static void ods_code(const struct synth *s, size_t i, char out[8])
{
    snprintf(out, 8, "Y0%04u",
             (unsigned)((1000u + (s->opt->seed % 97u) * 7u + i * 379u) % 10000u));
}

/* ---- GP2GP ------------------------------------------------------------- */

static cse_code write_gp2gp(struct synth *s, struct rng *r, const struct transfer *t)
{
    char path[4400], tmp[4500], mid[37], eid[37], fid[37], cid[37], sid[37], aid[37],
        nid[37];
    char when[32], start[32], review[32];
    cse_code rc = CSE_OK;
    const char *from = s->ods[t->from], *to = s->ods[t->to];
    FILE *fp;
    int fd;

    uuid_from(r, mid, 1);
    uuid_from(r, eid, 1);
    uuid_from(r, fid, 1);
    uuid_from(r, cid, 1);
    uuid_from(r, sid, 1);
    uuid_from(r, aid, 1);
    uuid_from(r, nid, 1);
    snprintf(path, sizeof(path), "%s/%s.xml", s->gp2gp_dir, eid);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        (fp = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        return cse__error_set(s->err, CSE_ERR_IO, 0, tmp, "", "cannot create: %s",
                              strerror(errno));
    }
    cse_time_format_hl7(&t->when, when, sizeof(when));
    cse_time_format_hl7(&t->marker_start, start, sizeof(start));
    {
        cse_time rv;
        cse_time_add_months(&t->marker_start, 6, &rv);
        cse_time_format_fhir_date(&rv, review, sizeof(review));
    }
    fprintf(
        fp,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<RCMR_IN030000UK07 xmlns=\"urn:hl7-org:v3\">\n"
        "<id root=\"%s\"/>\n<creationTime value=\"%s\"/>\n"
        "<versionCode code=\"V3NPfIT3.1.10\"/>\n"
        "<interactionId root=\"2.16.840.1.113883.2.1.3.2.4.12\" "
        "extension=\"RCMR_IN030000UK07\"/>\n"
        "<processingCode code=\"P\"/>\n<processingModeCode code=\"T\"/>\n"
        "<acceptAckCode code=\"NE\"/>\n"
        "<communicationFunctionRcv typeCode=\"RCV\"><device classCode=\"DEV\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.2.0.107\" "
        "extension=\"200000000%03u\"/></device></communicationFunctionRcv>\n"
        "<communicationFunctionSnd typeCode=\"SND\"><device classCode=\"DEV\" "
        "determinerCode=\"INSTANCE\"><id root=\"1.2.826.0.1285.0.2.0.107\" "
        "extension=\"200000000%03u\"/></device></communicationFunctionSnd>\n"
        "<ControlActEvent classCode=\"CACT\" moodCode=\"EVN\">\n"
        "<author1 typeCode=\"AUT\"><AgentSystemSDS classCode=\"AGNT\"><agentSystemSDS "
        "classCode=\"DEV\" determinerCode=\"INSTANCE\"><id "
        "root=\"1.2.826.0.1285.0.2.0.107\" "
        "extension=\"200000000%03u\"/></agentSystemSDS></AgentSystemSDS></author1>\n"
        "<subject typeCode=\"SUBJ\" contextConductionInd=\"false\">\n"
        "<EhrExtract classCode=\"EXTRACT\" moodCode=\"EVN\">\n"
        "<id root=\"%s\"/>\n<statusCode code=\"COMPLETE\"/>\n"
        "<availabilityTime value=\"%s\"/>\n"
        "<recordTarget typeCode=\"RCT\"><patient classCode=\"PAT\"><id "
        "root=\"2.16.840.1.113883.2.1.4.1\" extension=\"%s\"/></patient></recordTarget>\n"
        "<author typeCode=\"AUT\"><time value=\"%s\"/><AgentOrgSDS classCode=\"AGNT\">"
        "<agentOrganizationSDS classCode=\"ORG\" determinerCode=\"INSTANCE\"><id "
        "root=\"1.2.826.0.1285.0.1.10\" extension=\"%s\"/></agentOrganizationSDS>"
        "</AgentOrgSDS></author>\n"
        "<destination typeCode=\"DST\"><AgentOrgSDS classCode=\"AGNT\">"
        "<agentOrganizationSDS classCode=\"ORG\" determinerCode=\"INSTANCE\"><id "
        "root=\"1.2.826.0.1285.0.1.10\" extension=\"%s\"/></agentOrganizationSDS>"
        "</AgentOrgSDS></destination>\n",
        mid, when, (unsigned)(t->to % 1000), (unsigned)(t->from % 1000),
        (unsigned)(t->from % 1000), eid, when, t->who.nhs, when, from, to);
    fprintf(
        fp,
        "<component typeCode=\"COMP\"><ehrFolder classCode=\"FOLDER\" moodCode=\"EVN\">\n"
        "<id root=\"%s\"/>\n<statusCode code=\"COMPLETE\"/>\n"
        "<effectiveTime><low value=\"%s\"/><high value=\"%s\"/></effectiveTime>\n"
        "<availabilityTime value=\"%s\"/>\n"
        "<author typeCode=\"AUT\"><time value=\"%s\"/><AgentOrgSDS classCode=\"AGNT\">"
        "<agentOrganizationSDS classCode=\"ORG\" determinerCode=\"INSTANCE\"><id "
        "root=\"1.2.826.0.1285.0.1.10\" extension=\"%s\"/></agentOrganizationSDS>"
        "</AgentOrgSDS></author>\n"
        "<responsibleParty typeCode=\"RESP\"><agentDirectory classCode=\"AGNT\">"
        "<part typeCode=\"PART\"><Agent classCode=\"AGNT\"><id root=\"%s\"/>"
        "<agentOrganization classCode=\"ORG\" determinerCode=\"INSTANCE\">"
        "<id root=\"1.2.826.0.1285.0.1.10\" extension=\"%s\"/><name>Practice %s</name>"
        "</agentOrganization></Agent></part></agentDirectory></responsibleParty>\n",
        fid, start, when, when, when, from, aid, from, from);
    fprintf(
        fp,
        "<component typeCode=\"COMP\"><ehrComposition classCode=\"COMPOSITION\" "
        "moodCode=\"EVN\">\n<id root=\"%s\"/>\n"
        "<code code=\"196401000000100\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" "
        "displayName=\"Non-consultation data\"/>\n<statusCode code=\"COMPLETE\"/>\n"
        "<effectiveTime><center value=\"%s\"/></effectiveTime>\n"
        "<availabilityTime value=\"%s\"/>\n%s"
        "<author typeCode=\"AUT\" contextControlCode=\"OP\"><time value=\"%s\"/>"
        "<agentRef classCode=\"AGNT\"><id root=\"%s\"/></agentRef></author>\n"
        "<location typeCode=\"LOC\"><locatedEntity classCode=\"LOCE\"><code "
        "code=\"394730007\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" "
        "displayName=\"Healthcare related organisation\"/><locatedPlace "
        "classCode=\"PLC\" "
        "determinerCode=\"INSTANCE\"><name>Practice %s</name></locatedPlace>"
        "</locatedEntity></location>\n"
        "<Participant2 typeCode=\"RESP\" contextControlCode=\"OP\"><agentRef "
        "classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant2>\n",
        cid, start, start,
        t->had_marker && t->v == V_NORMAL
            ? "<confidentialityCode code=\"NOPAT\" "
              "codeSystem=\"2.16.840.1.113883.4.642.3.47\" displayName=\"no disclosure "
              "to "
              "patient, family or caregivers without attending provider's "
              "authorization\"/>\n"
            : "",
        start, aid, from, aid);
    if (t->had_marker) {
        fprintf(fp,
                "<component typeCode=\"COMP\"><ObservationStatement classCode=\"OBS\" "
                "moodCode=\"EVN\">\n<id root=\"%s\"/>\n",
                sid);
        if (t->v == V_DEGRADED)
            fprintf(fp,
                    "<code code=\"196411000000103\" "
                    "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" "
                    "displayName=\"Transfer-degraded record entry\"><originalText>CSE "
                    "risk</originalText></code>\n");
        else
            fprintf(fp,
                    "<code code=\"%s\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" "
                    "displayName=\"%s\"><originalText>%s</originalText></code>\n",
                    t->code, cse_code_term(t->code), cse_code_term(t->code));
        fprintf(fp,
                "<statusCode code=\"COMPLETE\"/>\n<effectiveTime><low value=\"%s\"/>"
                "</effectiveTime>\n<availabilityTime value=\"%s\"/>\n%s",
                start, start,
                t->v == V_NORMAL
                    ? "<confidentialityCode code=\"NOPAT\" "
                      "codeSystem=\"2.16.840.1.113883.4.642.3.47\" displayName=\"no "
                      "disclosure to patient, family or caregivers without attending "
                      "provider's authorization\"/>\n"
                    : "");
        if (t->v == V_NORMAL) {
            char b[32];
            fprintf(
                fp,
                "<pertinentInformation typeCode=\"PERT\"><sequenceNumber value=\"+1\"/>"
                "<pertinentAnnotation classCode=\"OBS\" "
                "moodCode=\"EVN\"><text>" CSE_ANNOTATION_PREFIX
                " | status: active | category: cse | review: %s"
                "</text></pertinentAnnotation></pertinentInformation>\n",
                review);
            (void)b;
        }
        fprintf(fp,
                "<Participant typeCode=\"PRF\" contextControlCode=\"OP\"><agentRef "
                "classCode=\"AGNT\"><id root=\"%s\"/></agentRef></Participant>\n"
                "</ObservationStatement></component>\n",
                aid);
    } else {
        fprintf(fp,
                "<component typeCode=\"COMP\"><NarrativeStatement classCode=\"OBS\" "
                "moodCode=\"EVN\"><id root=\"%s\"/><text>Registration summary</text>"
                "<statusCode code=\"COMPLETE\"/><availabilityTime value=\"%s\"/>"
                "</NarrativeStatement></component>\n",
                sid, start);
    }
    fprintf(fp,
            "</ehrComposition></component>\n</ehrFolder></component>\n"
            "<inFulfillmentOf typeCode=\"FLFS\"><priorEhrRequest classCode=\"EXTRACT\" "
            "moodCode=\"RQO\"><id root=\"%s\"/></priorEhrRequest></inFulfillmentOf>\n"
            "<limitation typeCode=\"LIMIT\" "
            "inversionInd=\"true\"><limitingEhrExtractSpecification "
            "classCode=\"OBS\" moodCode=\"DEF\"><id root=\"%s\"/><code "
            "code=\"37241000000107\" "
            "codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\"/></"
            "limitingEhrExtractSpecification>"
            "</limitation>\n</EhrExtract>\n</subject>\n</ControlActEvent>\n"
            "</RCMR_IN030000UK07>\n",
            nid, nid);
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, path, "", "cannot write: %s",
                            strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* ---- Practices --------------------------------------------------------- */

static FILE *open_out(struct synth *s, const char *pdir, const char *name)
{
    char path[4200];
    FILE *fp;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", pdir, name);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        (fp = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        cse__error_set(s->err, CSE_ERR_IO, 0, path, "", "cannot create: %s",
                       strerror(errno));
        return NULL;
    }
    return fp;
}

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

static cse_code write_practice(struct synth *s, size_t pi)
{
    const char *ods = s->ods[pi];
    char pdir[4200];
    struct rng r;
    double p_marker, p_related, p_legacy, p_nonopat, p_overdue;
    cse_code rc = CSE_OK;

    snprintf(pdir, sizeof(pdir), "%s/%s", s->dir, ods);
    snprintf(s->gp2gp_dir, sizeof(s->gp2gp_dir), "%s/gp2gp-in", pdir);
    if (mkdir_p(pdir) != 0 || mkdir_p(s->gp2gp_dir) != 0)
        return cse__error_set(s->err, CSE_ERR_IO, 0, pdir, "", "cannot create folder: %s",
                              strerror(errno));
    if ((s->pat = open_out(s, pdir, "Patient.ndjson")) == NULL ||
        (s->flag = open_out(s, pdir, "Flag.ndjson")) == NULL ||
        (s->obs = open_out(s, pdir, "Observation.ndjson")) == NULL ||
        (s->cond = open_out(s, pdir, "Condition.ndjson")) == NULL) {
        rc = CSE_ERR_IO;
        goto out;
    }
    rng_seed(&r, s->opt->seed, 1000 + pi);
    /* Practices differ: how often they flag, how well they label and review. */
    p_marker = 0.01 + 0.03 * unif(&r);
    p_related = 0.015 + 0.025 * unif(&r);
    p_legacy = unif(&r) < 0.3 ? 0.25 * unif(&r) : 0.0;
    p_nonopat = unif(&r) < 0.4 ? 0.3 * unif(&r) : 0.02;
    p_overdue = 0.05 + 0.45 * unif(&r);
    for (size_t j = 0; j < s->opt->patients; j++) {
        struct person p;
        int child = unif(&r) < 0.21;
        make_person(s, &r, &p, child);
        write_patient(s, &p, 1, ods);
        for (uint64_t k = below(&r, 3); k > 0; k--)
            write_ordinary(s, &r, p.id);
        if (!child)
            continue;
        if (unif(&r) < p_marker) {
            struct marker_spec m;
            plan_marker(s, &r, &p.birth, p_legacy, p_nonopat, p_overdue, &m);
            write_marker(s, &r, p.id, ods, &m);
            if (unif(&r) < 0.5)
                write_related(s, &r, p.id, &p.birth);
        } else if (unif(&r) < p_related) {
            write_related(s, &r, p.id, &p.birth);
        }
    }
    /* Children who left this practice: still in its export, no longer active. */
    for (size_t k = 0; k < s->n_tr; k++) {
        const struct transfer *t = &s->tr[k];
        struct marker_spec m = {0};
        struct person p = t->who;
        if (t->from != pi)
            continue;
        memcpy(p.id, t->sender_id, sizeof(p.id));
        write_patient(s, &p, 0, s->ods[t->to]);
        if (!t->had_marker)
            continue;
        m.code = t->code;
        m.start = t->marker_start;
        cse_time_add_months(&m.start, 6, &m.review);
        m.flag_nopat = m.obs_nopat = m.with_flag = m.ours = 1;
        write_marker(s, &r, p.id, ods, &m);
    }
    /* Children who arrived: the GP2GP extract, and what this practice made of it. */
    for (size_t k = 0; k < s->n_tr && rc == CSE_OK; k++) {
        const struct transfer *t = &s->tr[k];
        if (t->to != pi)
            continue;
        write_patient(s, &t->who, 1, ods);
        if (t->had_marker) {
            struct marker_spec m = {0};
            m.code = t->code;
            m.start = t->marker_start;
            cse_time_add_months(&m.start, 6, &m.review);
            if (t->v == V_NORMAL) {
                m.flag_nopat = m.obs_nopat = m.with_flag = m.ours = 1;
                write_marker(s, &r, t->who.id, ods, &m);
            } else if (t->v == V_NOMODULE) {
                /* A system without our module: a bare coded Observation. */
                write_marker(s, &r, t->who.id, ods, &m);
            } else {
                char id[37], b[32];
                uuid_from(&r, id, 0);
                fprintf(s->obs,
                        "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":"
                        "\"final\","
                        "\"code\":{\"coding\":[{\"system\":\"" CSE_SYSTEM_SNOMED
                        "\",\"code\":\"196411000000103\",\"display\":\"Transfer-degraded "
                        "record entry\"}]},\"subject\":{\"reference\":\"Patient/%s\"},"
                        "\"effectiveDateTime\":\"%s\"}\n",
                        id, t->who.id, day(&t->marker_start, b));
                if (unif(&r) < 0.5)
                    write_related(s, &r, t->who.id, &t->who.birth);
            }
        }
        rc = write_gp2gp(s, &r, t);
    }
out:
    if (s->pat && fclose(s->pat) != 0 && rc == CSE_OK)
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, pdir, "", "write failed");
    if (s->flag && fclose(s->flag) != 0 && rc == CSE_OK)
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, pdir, "", "write failed");
    if (s->obs && fclose(s->obs) != 0 && rc == CSE_OK)
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, pdir, "", "write failed");
    if (s->cond && fclose(s->cond) != 0 && rc == CSE_OK)
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, pdir, "", "write failed");
    s->pat = s->flag = s->obs = s->cond = NULL;
    return rc;
}

static cse_code write_key(struct synth *s)
{
    char path[4200], hex[66];
    unsigned char key[32];
    struct rng r;
    FILE *fp;
    int fd;
    cse_code rc = CSE_OK;

    rng_seed(&r, s->opt->seed, 7);
    for (int i = 0; i < 4; i++) {
        uint64_t v = next(&r);
        memcpy(key + 8 * i, &v, 8);
    }
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    hex[64] = '\n';
    hex[65] = '\0';
    snprintf(path, sizeof(path), "%s/key", s->dir);
    unlink(path);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
        (fp = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, path, "", "cannot create key: %s",
                            strerror(errno));
        goto out;
    }
    if (fputs(hex, fp) == EOF)
        rc = CSE_ERR_IO;
    if (fclose(fp) != 0 || rc != CSE_OK)
        rc = cse__error_set(s->err, CSE_ERR_IO, 0, path, "", "cannot write key");
out:
    cse__wipe(key, sizeof(key));
    cse__wipe(hex, sizeof(hex));
    return rc;
}

cse_code cse_synth_write(const char *dir, const cse_synth_options *opt, cse_error *err)
{
    struct synth s;
    struct rng r;
    size_t n_tr_max;
    char path[4200];
    FILE *list;
    cse_code rc = CSE_OK;

    if (dir == NULL || opt == NULL || opt->practices == 0 || opt->patients == 0 ||
        opt->practices > 2000 || opt->patients > 1000000)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "synth needs 1-2000 practices and 1-1000000 patients each");
    /* Every patient (and every child who moved) has an NHS number of its own. */
    if (opt->practices * opt->patients > CSE__SYNTH_MAX_PATIENTS)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "synth writes at most %u patients in all (practices "
                              "times patients), so that no NHS number repeats",
                              (unsigned)CSE__SYNTH_MAX_PATIENTS);
    memset(&s, 0, sizeof(s));
    s.opt = opt;
    s.dir = dir;
    s.err = err;
    s.as_of = opt->as_of;
    if (s.as_of.precision == CSE_TIME_NONE) {
        s.as_of.year = 2025;
        s.as_of.month = 12;
        s.as_of.day = 31;
        s.as_of.precision = CSE_TIME_DAY;
    }
    if (mkdir_p(dir) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, dir, "", "cannot create folder: %s",
                              strerror(errno));
    if ((s.ods = calloc(opt->practices, sizeof(*s.ods))) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, dir, "", "out of memory");
    for (size_t i = 0; i < opt->practices; i++)
        ods_code(&s, i, s.ods[i]);
    /* The moves, planned up front: about 1 in 80 patients arrived from another
     * practice this year; most of them were children with a marker (far more
     * than in life, so that the survived-transfer measure has counts to show). */
    rng_seed(&r, opt->seed, 1);
    n_tr_max = opt->practices > 1 ? opt->practices * opt->patients / 80 + 1 : 0;
    if (n_tr_max > 0 && (s.tr = calloc(n_tr_max, sizeof(*s.tr))) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, dir, "", "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n_tr_max; k++) {
        struct transfer *t = &s.tr[s.n_tr++];
        double u;
        make_person(&s, &r, &t->who, 1);
        uuid_from(&r, t->sender_id, 0);
        t->from = below(&r, opt->practices);
        t->to = (t->from + 1 + below(&r, opt->practices - 1)) % opt->practices;
        t->when = days_before(&s.as_of, (long)below(&r, 365));
        t->had_marker = unif(&r) < 0.8;
        u = unif(&r);
        t->v = u < 0.6 ? V_NORMAL : u < 0.85 ? V_NOMODULE : V_DEGRADED;
        t->code = marker_codes[below(&r, NPICK(marker_codes))];
        t->marker_start = days_before(&t->when, (long)(30 + below(&r, 700)));
        if (cse_time_compare(&t->marker_start, &t->who.birth) < 0)
            t->marker_start = t->who.birth;
    }
    for (size_t i = 0; i < opt->practices && rc == CSE_OK; i++)
        rc = write_practice(&s, i);
    if (rc == CSE_OK)
        rc = write_key(&s);
    if (rc == CSE_OK) {
        snprintf(path, sizeof(path), "%s/practices.txt", dir);
        if ((list = fopen(path, "w")) == NULL) {
            rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot create: %s",
                                strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < opt->practices; i++)
            fprintf(list, "%s\n", s.ods[i]);
        if (fclose(list) != 0)
            rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "write failed");
    }
out:
    if (s.tr != NULL)
        cse__wipe(s.tr, n_tr_max * sizeof(*s.tr));
    free(s.tr);
    free(s.ods);
    return rc;
}
