/* SPDX-License-Identifier: MIT */
/* A small UCUM syntax check: is a unit as a GP system wrote it ("mmol/L",
 * "10*9/L", "mm[Hg]") a UCUM code a FHIR Quantity may carry in `code`, or
 * only display text ("mmHg", "/day", "Cigarettes/day")? The grammar is
 * UCUM's (terms of components joined by '.' and '/', exponents, annotations,
 * parentheses); the atoms are the ones clinical systems use. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "internal.h"

/* Atoms that take a metric prefix. */
static const char *const metric[] = {
    "mol", "kat", "m[Hg]", "m[H2O]", "g",   "m",  "s", "L",  "l",
    "eq",  "U",   "[iU]",  "[IU]",   "Cel", "Pa", "J", "W",  "Hz",
    "N",   "V",   "bar",   "cal",    "osm", "K",  "A", "Bq", "Gy"};
/* Atoms that do not. */
static const char *const plain[] = {
    "min",     "h",      "d",      "wk",      "mo",    "a",     "%",
    "[ppm]",   "[ppb]",  "[degF]", "10*",     "10^",   "[pH]",  "[lb_av]",
    "[oz_av]", "[in_i]", "[ft_i]", "[arb'U]", "[drp]", "[HPF]", "[LPF]"};
static const char *const prefixes[] = {"da", "Y", "Z", "E", "P", "T", "G", "M", "k", "h",
                                       "d",  "c", "m", "u", "n", "p", "f", "a", "z", "y"};

static bool term(const char *s, const char **end, int depth);

static bool starts(const char *s, const char *p, size_t *n)
{
    /* The first letter rules out nearly every atom at once. */
    if (s[0] != p[0])
        return false;
    *n = strlen(p);
    return strncmp(s, p, *n) == 0;
}

/* After an atom: an optional signed exponent, an optional annotation. */
static bool tail(const char *s, const char **end)
{
    if (*s == '+' || *s == '-')
        s++, (void)0;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '{') {
        while (*s && *s != '}')
            s++;
        if (*s != '}')
            return false;
        s++;
    }
    *end = s;
    return true;
}

/* One component followed by the rest of the term (so a greedy choice of atom
 * can be undone). */
static bool component_then(const char *s, const char **end, int depth)
{
    size_t n, k;
    const char *e;

    if (depth > 8)
        return false;
    if (*s == '(') {
        if (!term(s + 1, &e, depth + 1) || *e != ')')
            return false;
        return tail(e + 1, end);
    }
    if (*s == '{')
        return tail(s, end);
    if (*s >= '0' && *s <= '9' && strncmp(s, "10*", 3) != 0 &&
        strncmp(s, "10^", 3) != 0) {
        while (*s >= '0' && *s <= '9')
            s++;
        return tail(s, end);
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (starts(s, plain[i], &n) && tail(s + n, &e) &&
            (*e == '\0' || *e == '.' || *e == '/' || *e == ')')) {
            *end = e;
            return true;
        }
    for (size_t p = 0; p <= sizeof(prefixes) / sizeof(prefixes[0]); p++) {
        k = 0;
        if (p < sizeof(prefixes) / sizeof(prefixes[0]) && !starts(s, prefixes[p], &k))
            continue;
        for (size_t i = 0; i < sizeof(metric) / sizeof(metric[0]); i++)
            if (starts(s + k, metric[i], &n) && tail(s + k + n, &e) &&
                (*e == '\0' || *e == '.' || *e == '/' || *e == ')')) {
                *end = e;
                return true;
            }
    }
    return false;
}

static bool term(const char *s, const char **end, int depth)
{
    if (*s == '/')
        s++;
    for (;;) {
        if (!component_then(s, &s, depth))
            return false;
        if (*s != '.' && *s != '/')
            break;
        s++;
    }
    *end = s;
    return true;
}

bool cse__ucum_valid(const char *unit)
{
    const char *end;

    if (unit == NULL || *unit == '\0' || strlen(unit) > 64)
        return false;
    if (strcmp(unit, "1") == 0)
        return true;
    return term(unit, &end, 0) && *end == '\0';
}
