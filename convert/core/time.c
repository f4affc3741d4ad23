/* SPDX-License-Identifier: MIT */
/* Civil date-times with precision, in HL7 v3 TS and FHIR forms. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

bool cse_time_valid(const cse_time *t)
{
    if (t == NULL)
        return false;
    if (t->precision == CSE_TIME_NONE)
        return true;
    if (t->year < 1800 || t->year > 9999)
        return false;
    if (t->precision >= CSE_TIME_MONTH && (t->month < 1 || t->month > 12))
        return false;
    if (t->precision >= CSE_TIME_DAY &&
        (t->day < 1 || t->day > days_in_month(t->year, t->month)))
        return false;
    if (t->precision >= CSE_TIME_MINUTE &&
        (t->hour < 0 || t->hour > 23 || t->minute < 0 || t->minute > 59))
        return false;
    if (t->precision >= CSE_TIME_SECOND && (t->second < 0 || t->second > 59))
        return false;
    return true;
}

/* Reads exactly n digits at *p; advances *p. Returns -1 if not digits. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

cse_code cse_time_parse_hl7(const char *s, cse_time *out)
{
    cse_time t = {0};
    const char *p = s;
    size_t len = 0;

    if (s == NULL || out == NULL)
        return CSE_ERR_INVALID_ARG;
    while (isdigit((unsigned char)p[len]))
        len++;
    /* After the digits only a fraction (.nnn, after seconds) and then a zone
     * (+hhmm or -hhmm, after a time) may follow. */
    {
        const char *q = p + len;
        if (*q == '.' && len == 14) {
            q++;
            if (!isdigit((unsigned char)*q))
                return CSE_ERR_DATE;
            while (isdigit((unsigned char)*q))
                q++;
        }
        if ((*q == '+' || *q == '-') && len >= 10) {
            q++;
            for (int i = 0; i < 4; i++, q++)
                if (!isdigit((unsigned char)*q))
                    return CSE_ERR_DATE;
        }
        if (*q != '\0')
            return CSE_ERR_DATE;
    }
    switch (len) {
    case 4: t.precision = CSE_TIME_YEAR; break;
    case 6: t.precision = CSE_TIME_MONTH; break;
    case 8: t.precision = CSE_TIME_DAY; break;
    case 10: /* YYYYMMDDHH: keep to the hour as minute precision */
    case 12: t.precision = CSE_TIME_MINUTE; break;
    case 14: t.precision = CSE_TIME_SECOND; break;
    default: return CSE_ERR_DATE;
    }
    t.year = digits(&p, 4);
    if (len >= 6)
        t.month = digits(&p, 2);
    if (len >= 8)
        t.day = digits(&p, 2);
    if (len >= 10)
        t.hour = digits(&p, 2);
    if (len >= 12)
        t.minute = digits(&p, 2);
    if (len >= 14)
        t.second = digits(&p, 2);
    if (!cse_time_valid(&t))
        return CSE_ERR_DATE;
    *out = t;
    return CSE_OK;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (Hinnant's
 * days_from_civil). */
static long long days_from_civil(int y, int m, int d)
{
    long long yy = m <= 2 ? y - 1 : y;
    long long era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400;
    long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
    long long era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The day of the month of the last Sunday of month m (March or October). */
static int last_sunday_of(int y, int m)
{
    long long dn = days_from_civil(y, m, 31);
    int wd = (int)(((dn % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday: 0 = Sunday */
    return 31 - wd;
}

/* An instant given with its UTC offset (in minutes east) to UK civil time,
 * as the national sending adaptor writes every time of a FHIR instant
 * (DateFormatUtil, Europe/London): British Summer Time is UTC+1 from 01:00
 * UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
 * October, GMT otherwise. */
static void to_uk_time(cse_time *t, int offset_minutes)
{
    long long day = days_from_civil(t->year, t->month, t->day);
    long long secs = day * 86400 + t->hour * 3600LL + t->minute * 60LL + t->second -
                     offset_minutes * 60LL;
    int y, m, d;

    day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    civil_from_days(day, &y, &m, &d);
    if (secs >= days_from_civil(y, 3, last_sunday_of(y, 3)) * 86400 + 3600 &&
        secs < days_from_civil(y, 10, last_sunday_of(y, 10)) * 86400 + 3600)
        secs += 3600;
    day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    civil_from_days(day, &t->year, &t->month, &t->day);
    secs -= day * 86400;
    t->hour = (int)(secs / 3600);
    t->minute = (int)(secs / 60 % 60);
    t->second = (int)(secs % 60);
}

cse_code cse_time_parse_fhir(const char *s, cse_time *out)
{
    cse_time t = {0};
    const char *p = s;
    int offset = 0; /* minutes east of UTC */
    bool zoned = false;

    if (s == NULL || out == NULL)
        return CSE_ERR_INVALID_ARG;
    if ((t.year = digits(&p, 4)) < 0)
        return CSE_ERR_DATE;
    t.precision = CSE_TIME_YEAR;
    if (*p == '-') {
        p++;
        if ((t.month = digits(&p, 2)) < 0)
            return CSE_ERR_DATE;
        t.precision = CSE_TIME_MONTH;
        if (*p == '-') {
            p++;
            if ((t.day = digits(&p, 2)) < 0)
                return CSE_ERR_DATE;
            t.precision = CSE_TIME_DAY;
            if (*p == 'T') {
                p++;
                if ((t.hour = digits(&p, 2)) < 0 || *p++ != ':' ||
                    (t.minute = digits(&p, 2)) < 0)
                    return CSE_ERR_DATE;
                t.precision = CSE_TIME_MINUTE;
                if (*p == ':') {
                    p++;
                    if ((t.second = digits(&p, 2)) < 0)
                        return CSE_ERR_DATE;
                    t.precision = CSE_TIME_SECOND;
                    if (*p == '.') {
                        p++;
                        if (!isdigit((unsigned char)*p))
                            return CSE_ERR_DATE;
                        while (isdigit((unsigned char)*p))
                            p++;
                    }
                }
                if (*p == 'Z') {
                    p++;
                    zoned = true;
                } else if (*p == '+' || *p == '-') {
                    int sign = *p++ == '-' ? -1 : 1, oh, om;
                    if ((oh = digits(&p, 2)) < 0 || *p++ != ':' ||
                        (om = digits(&p, 2)) < 0 || oh > 14 || om > 59)
                        return CSE_ERR_DATE;
                    offset = sign * (oh * 60 + om);
                    zoned = true;
                }
            }
        }
    }
    if (*p != '\0' || !cse_time_valid(&t))
        return CSE_ERR_DATE;
    if (zoned) {
        to_uk_time(&t, offset);
        if (!cse_time_valid(&t))
            return CSE_ERR_DATE;
    }
    *out = t;
    return CSE_OK;
}

/* Writes v (0 <= v < 10^width) as width digits. */
static char *put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* t in HL7 TS (20250314093000) or, with fhir set, FHIR (2025-03-14T09:30:00)
 * form, down to its precision (minutes get ":00" seconds), cut to size as
 * snprintf cuts. The writers format several times per entry, so fields in
 * their usual range are written by hand; anything else goes to snprintf,
 * which writes the same for those. */
static const char *format_time(const cse_time *t, char *buf, size_t size, bool fhir)
{
    int sec = t->precision == CSE_TIME_SECOND ? t->second : 0;
    char tmp[32], *p = tmp;
    size_t n;

    if (t->precision == CSE_TIME_NONE)
        return buf;
    if (t->year < 0 || t->year > 9999 || t->month < 0 || t->month > 99 || t->day < 0 ||
        t->day > 99 ||
        (t->precision > CSE_TIME_DAY && (t->hour < 0 || t->hour > 99 || t->minute < 0 ||
                                         t->minute > 99 || sec < 0 || sec > 99))) {
        if (t->precision == CSE_TIME_YEAR)
            snprintf(buf, size, "%04d", t->year);
        else if (t->precision == CSE_TIME_MONTH)
            snprintf(buf, size, fhir ? "%04d-%02d" : "%04d%02d", t->year, t->month);
        else if (t->precision == CSE_TIME_DAY)
            snprintf(buf, size, fhir ? "%04d-%02d-%02d" : "%04d%02d%02d", t->year,
                     t->month, t->day);
        else
            snprintf(buf, size,
                     fhir ? "%04d-%02d-%02dT%02d:%02d:%02d" : "%04d%02d%02d%02d%02d%02d",
                     t->year, t->month, t->day, t->hour, t->minute, sec);
        return buf;
    }
    p = put_digits(p, t->year, 4);
    if (t->precision >= CSE_TIME_MONTH) {
        if (fhir)
            *p++ = '-';
        p = put_digits(p, t->month, 2);
    }
    if (t->precision >= CSE_TIME_DAY) {
        if (fhir)
            *p++ = '-';
        p = put_digits(p, t->day, 2);
    }
    if (t->precision > CSE_TIME_DAY) {
        if (fhir)
            *p++ = 'T';
        p = put_digits(p, t->hour, 2);
        if (fhir)
            *p++ = ':';
        p = put_digits(p, t->minute, 2);
        if (fhir)
            *p++ = ':';
        p = put_digits(p, sec, 2);
    }
    n = (size_t)(p - tmp);
    if (n >= size)
        n = size - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return buf;
}

const char *cse_time_format_hl7(const cse_time *t, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return "";
    buf[0] = '\0';
    return t == NULL ? buf : format_time(t, buf, size, false);
}

const char *cse_time_format_fhir(const cse_time *t, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return "";
    buf[0] = '\0';
    return t == NULL ? buf : format_time(t, buf, size, true);
}

const char *cse_time_format_fhir_date(const cse_time *t, char *buf, size_t size)
{
    cse_time d;

    if (t == NULL || t->precision <= CSE_TIME_DAY)
        return cse_time_format_fhir(t, buf, size);
    d = *t;
    d.precision = CSE_TIME_DAY;
    return cse_time_format_fhir(&d, buf, size);
}

int cse_time_compare(const cse_time *a, const cse_time *b)
{
    cse_precision p;
    int av[6], bv[6];

    if (a->precision == CSE_TIME_NONE || b->precision == CSE_TIME_NONE)
        return (int)(a->precision != CSE_TIME_NONE) -
               (int)(b->precision != CSE_TIME_NONE);
    p = a->precision < b->precision ? a->precision : b->precision;
    av[0] = a->year, av[1] = a->month, av[2] = a->day, av[3] = a->hour, av[4] = a->minute,
    av[5] = a->second;
    bv[0] = b->year, bv[1] = b->month, bv[2] = b->day, bv[3] = b->hour, bv[4] = b->minute,
    bv[5] = b->second;
    /* Fields compared per precision: YEAR 1, MONTH 2, DAY 3, MINUTE 5, SECOND 6. */
    int nf = p == CSE_TIME_YEAR     ? 1
             : p == CSE_TIME_MONTH  ? 2
             : p == CSE_TIME_DAY    ? 3
             : p == CSE_TIME_MINUTE ? 5
                                    : 6;
    for (int i = 0; i < nf; i++)
        if (av[i] != bv[i])
            return av[i] < bv[i] ? -1 : 1;
    return 0;
}

cse_code cse_time_add_months(const cse_time *t, int months, cse_time *out)
{
    cse_time r;
    int total;

    if (t == NULL || out == NULL)
        return CSE_ERR_INVALID_ARG;
    if (t->precision < CSE_TIME_DAY || !cse_time_valid(t))
        return CSE_ERR_DATE;
    r = *t;
    total = t->year * 12 + (t->month - 1) + months;
    r.year = total / 12;
    r.month = total % 12 + 1;
    if (r.day > days_in_month(r.year, r.month))
        r.day = days_in_month(r.year, r.month);
    if (!cse_time_valid(&r))
        return CSE_ERR_DATE;
    *out = r;
    return CSE_OK;
}
