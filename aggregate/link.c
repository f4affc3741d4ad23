/* SPDX-License-Identifier: MIT */
/* Transfer linkage, resolved once for the whole ICS (DESIGN.md section 7).
 *
 * Each practice lists, sealed to the ICS linkage key, the pseudonyms of the
 * children who left it with an active marker and of those who arrived by
 * GP2GP (marker present now or not). Joining them is what the transfer
 * measure needs, and it must happen once: were it computed at every merge
 * from the partials merged, the same practice's cell would take different
 * values in different merges, and comparing a merge with and without one
 * practice would reveal the children who moved from it. So link runs only
 * over every practice of the registry for each period, and writes counts
 * only: for each practice and period, arrivals who had left another practice
 * of the ICS with an active marker (denominator) and those whose marker
 * survived (numerator). Every report takes these fixed counts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

static int in_set(unsigned char (*set)[CSE__PSEUDO_LEN], size_t n, const unsigned char *p)
{
    return n > 0 && bsearch(p, set, n, CSE__PSEUDO_LEN, cse__pseudo_cmp) != NULL;
}

static const char *src_of(const cse_partial *p, int member)
{
    return member >= 0 && (size_t)member < p->nm ? p->member_src[member] : "";
}

static int same_period(const cse__cell *a, const cse__cell *b)
{
    return cse_time_compare(&a->start, &b->start) == 0 &&
           cse_time_compare(&a->end, &b->end) == 0;
}

static int by_period(const void *a, const void *b)
{
    const cse__cell *x = *(cse__cell *const *)a, *y = *(cse__cell *const *)b;
    int c = cse_time_compare(&x->start, &y->start);

    if (c == 0)
        c = cse_time_compare(&x->end, &y->end);
    return c ? c : strcmp(x->practice, y->practice);
}

/* Every registry practice is in cells[0..n) (sorted by practice), or an
 * error naming the missing ones. */
static cse_code check_complete(cse__cell **cells, size_t n, const cse_registry *r,
                               cse_error *err)
{
    char missing[400], a[32], b[32];
    size_t n_missing = 0, used = 0, j = 0;

    missing[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        while (j < n && strcmp(cells[j]->practice, r->practices[i].ods) < 0)
            j++;
        if (j < n && strcmp(cells[j]->practice, r->practices[i].ods) == 0)
            continue;
        if (n_missing++ < 20 && used + 20 < sizeof(missing))
            used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s",
                                     used ? ", " : "", r->practices[i].ods);
    }
    if (n_missing == 0)
        return CSE_OK;
    return cse__error_set(
        err, CSE_ERR_STRUCTURE, 0, "", "",
        "cannot link %s..%s: %zu of the %zu practices of the registry have no partial "
        "for it (%s%s); linkage needs every practice of the ICS",
        cse_time_format_fhir_date(&cells[0]->start, a, sizeof(a)),
        cse_time_format_fhir_date(&cells[0]->end, b, sizeof(b)), n_missing, r->n, missing,
        n_missing > 20 ? ", ..." : "");
}

cse_code cse_partial_link(const cse_partial *p, const cse_registry *r,
                          const cse_report_key *linkage, const cse_report_key *signing,
                          FILE *out, cse_error *err)
{
    cse__cell **order = NULL, *work = NULL;
    cse_partial *linked = NULL;
    unsigned char(*left)[CSE__PSEUDO_LEN] = NULL;
    const char *pkey = NULL, *pkey_src = NULL;
    cse_code rc = CSE_OK;

    if (p == NULL || r == NULL || linkage == NULL || signing == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "link needs partials, the registry, the linkage private "
                              "key and the ICS signing key");
    if (p->n == 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "", "",
                              "no practice partials to link");
    if (p->nt > 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src_of(p, p->tcells[0].member),
                              "", "a linked partial cannot be linked again");
    if (cse__registry_key(r, r->ics, cse_report_key_id(signing)) == NULL)
        return cse__error_set(
            err, CSE_ERR_INTEGRITY, 0, "", "",
            "the signing key (id %s) is not the one the keys file holds "
            "for the ICS %s",
            cse_report_key_id(signing), r->ics);
    /* The checks every partial passes before anything is opened. */
    for (size_t i = 0; i < p->n; i++) {
        const cse__cell *c = &p->cells[i];
        const char *src = src_of(p, c->member);
        if (!c->linkage || c->sealed == NULL)
            return cse__error_set(
                err, CSE_ERR_STRUCTURE, 0, src, "pseudonyms",
                "partial of %s has no pseudonyms: it was extracted "
                "without the pseudonym key (--key) and the linkage key, "
                "so its transfers cannot be linked",
                c->practice);
        if (pkey == NULL) {
            pkey = c->pkey_id;
            pkey_src = src;
        } else if (strcmp(pkey, c->pkey_id) != 0) {
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src, "pseudonym_key_id",
                                  "pseudonym key id %s differs from %s in %s: every "
                                  "practice of a linkage uses the same pseudonym key",
                                  c->pkey_id, pkey, pkey_src);
        }
        if (strcmp(c->lkey_id, cse_report_key_id(linkage)) != 0)
            return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "linkage_key_id",
                                  "pseudonyms are sealed to linkage key id %s, but the "
                                  "linkage key given has id %s (wrong or rotated key)",
                                  c->lkey_id, cse_report_key_id(linkage));
    }
    if ((order = malloc(p->n * sizeof(*order))) == NULL ||
        (work = calloc(p->n, sizeof(*work))) == NULL ||
        (linked = cse_partial_new()) == NULL)
        goto nomem;
    for (size_t i = 0; i < p->n; i++) {
        work[i] = p->cells[i];
        work[i].left = work[i].arr_with = work[i].arr_without = NULL;
        work[i].n_left = work[i].n_arr_with = work[i].n_arr_without = 0;
        work[i].sealed = NULL; /* borrowed from p below */
        order[i] = &work[i];
    }
    qsort(order, p->n, sizeof(*order), by_period);
    for (size_t g = 0; g < p->n;) {
        size_t e = g, n_left = 0, k = 0;
        while (e < p->n && same_period(order[e], order[g]))
            e++;
        if ((rc = check_complete(order + g, e - g, r, err)) != CSE_OK)
            goto out;
        for (size_t i = g; i < e; i++) {
            cse__cell *c = order[i];
            const cse__cell *orig = &p->cells[c - work];
            c->sealed = orig->sealed;
            c->sealed_len = orig->sealed_len;
            rc = cse__cell_open(c, linkage, src_of(p, c->member), err);
            c->sealed = NULL;
            if (rc != CSE_OK)
                goto out;
            {
                const cse__reg_practice *rp = cse__registry_find(r, c->practice);
                if (rp != NULL && (c->n_left > rp->population ||
                                   c->n_arr_with + c->n_arr_without > rp->population)) {
                    rc = cse__error_set(
                        err, CSE_ERR_STRUCTURE, 0, src_of(p, c->member), "pseudonyms",
                        "implausible pseudonym lists of %s: more children "
                        "than its registered population (%lu)",
                        c->practice, rp->population);
                    goto out;
                }
            }
            n_left += c->n_left;
        }
        free(left);
        left = NULL;
        if (n_left > 0) {
            if ((left = malloc(n_left * CSE__PSEUDO_LEN)) == NULL)
                goto nomem;
            for (size_t i = g; i < e; i++) {
                if (order[i]->n_left)
                    memcpy(left[k], order[i]->left, order[i]->n_left * CSE__PSEUDO_LEN);
                k += order[i]->n_left;
            }
            n_left = cse__pseudo_sort_unique(left, n_left);
        }
        for (size_t i = g; i < e; i++) {
            const cse__cell *c = order[i];
            cse__tcell t;
            memset(&t, 0, sizeof(t));
            memcpy(t.practice, c->practice, sizeof(t.practice));
            t.start = c->start;
            t.end = c->end;
            t.member = -1;
            /* Arrivals who left another practice of the ICS with an active
             * marker; a child counts once per receiving practice. */
            for (size_t j = 0; j < c->n_arr_with; j++)
                if (in_set(left, n_left, c->arr_with[j]))
                    t.num++, t.den++;
            for (size_t j = 0; j < c->n_arr_without; j++)
                if (in_set(left, n_left, c->arr_without[j]))
                    t.den++;
            if ((rc = cse__partial_add_tcell(linked, &t, err)) != CSE_OK)
                goto out;
        }
        g = e;
    }
    rc = cse__partial_write_signed(linked, "linked", r->ics, signing, NULL, pkey, out,
                                   err);
    goto out;
nomem:
    rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
out:
    if (work != NULL)
        for (size_t i = 0; i < p->n; i++) {
            work[i].sealed = NULL;
            if (work[i].left)
                cse__wipe(work[i].left, work[i].n_left * CSE__PSEUDO_LEN);
            if (work[i].arr_with)
                cse__wipe(work[i].arr_with, work[i].n_arr_with * CSE__PSEUDO_LEN);
            if (work[i].arr_without)
                cse__wipe(work[i].arr_without, work[i].n_arr_without * CSE__PSEUDO_LEN);
            cse__cell_clear(&work[i]);
        }
    free(work);
    free(order);
    free(left);
    cse_partial_free(linked);
    return rc;
}
