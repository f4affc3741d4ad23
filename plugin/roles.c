/* SPDX-License-Identifier: MIT */
/* Roles: an allow-list. The host says who acts (cse_plugin_user); each hook
 * asks whether that role may do what the hook does. A role that is not on
 * the list, in another case or with a space, is refused: a free string that
 * happens to differ from "patient" is not a clinician. plugin/README.md has
 * the table of who may do what, and why each role is there. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <csemarker/plugin.h>

#include "internal.h"
#include "plugin_internal.h"

enum {
    P_ALERT = 1u << CSE__PERM_ALERT,
    P_RESTRICTION = 1u << CSE__PERM_RESTRICTION,
    P_SUGGEST = 1u << CSE__PERM_SUGGEST,
    P_MARKER = 1u << CSE__PERM_MARKER,
    P_GP2GP = 1u << CSE__PERM_GP2GP,
    P_DUE = 1u << CSE__PERM_DUE,
    P_VIEW = 1u << CSE__PERM_VIEW,
    P_AUDIT_VERIFY = 1u << CSE__PERM_AUDIT_VERIFY,
    P_AUDIT_RECOVER = 1u << CSE__PERM_AUDIT_RECOVER,
};

#define P_CLINICAL                                                                       \
    (P_ALERT | P_RESTRICTION | P_SUGGEST | P_MARKER | P_GP2GP | P_DUE | P_VIEW |         \
     P_AUDIT_VERIFY)

static const struct role {
    const char *name;
    unsigned perms;
} roles[] = {
    {CSE_PLUGIN_ROLE_CLINICIAN, P_CLINICAL},
    {CSE_PLUGIN_ROLE_GP, P_CLINICAL},
    {CSE_PLUGIN_ROLE_NURSE, P_CLINICAL},
    {CSE_PLUGIN_ROLE_SAFEGUARDING_LEAD, P_CLINICAL | P_AUDIT_RECOVER},
    {CSE_PLUGIN_ROLE_ADMINISTRATIVE, P_RESTRICTION | P_VIEW},
    {CSE_PLUGIN_ROLE_AUDITOR, P_AUDIT_VERIFY | P_AUDIT_RECOVER},
    {CSE_PLUGIN_ROLE_PATIENT, P_VIEW},
    {CSE_PLUGIN_ROLE_PROXY, P_VIEW},
};

static const char *const perm_names[] = {
    "see the clinician alert",     "see that a record is restricted",
    "see review suggestions",      "add, review or end a marker",
    "export or import GP2GP",      "list reviews due",
    "see the patient-facing view", "verify the audit journal",
    "recover the audit journal",
};

static const char *const action_names[] = {
    "open",        "restriction",  "save",         "marker",        "gp2gp",
    "reviews-due", "patient-view", "audit-verify", "audit-recover",
};

_Static_assert(sizeof(perm_names) / sizeof(perm_names[0]) == CSE__PERM_COUNT,
               "a name for every permission");
_Static_assert(sizeof(action_names) / sizeof(action_names[0]) == CSE__PERM_COUNT,
               "an action name for every permission");

/* True when s is well-formed UTF-8 without control characters. */
static bool utf8_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n;
        unsigned c = *p;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3;
        else
            return false;
        c &= 0x3fu >> n;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3fu);
        }
        if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
            (n == 3 && (c < 0x10000 || c > 0x10ffff)))
            return false;
        p += n + 1;
    }
    return true;
}

static const struct role *find_role(const char *name)
{
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(roles[i].name, name) == 0)
            return &roles[i];
    return NULL;
}

bool cse__role_may(const char *role, cse__perm perm)
{
    const struct role *r = role ? find_role(role) : NULL;
    return r != NULL && perm < CSE__PERM_COUNT && (r->perms & (1u << perm)) != 0;
}

bool cse__role_known(const char *role)
{
    return role != NULL && find_role(role) != NULL;
}

cse_code cse__perm_parse(const char *action, cse__perm *perm)
{
    for (int i = 0; action && i < CSE__PERM_COUNT; i++)
        if (strcmp(action_names[i], action) == 0) {
            *perm = (cse__perm)i;
            return CSE_OK;
        }
    return CSE_ERR_INVALID_ARG;
}

cse_code cse__check_role(const cse_plugin_user *u, cse__perm perm, cse_error *err)
{
    if (u == NULL || u->user_id == NULL || u->user_id[0] == '\0' || u->role == NULL ||
        u->role[0] == '\0')
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user",
                              "a user with an id and a role is required");
    if (strlen(u->user_id) > 256 || strlen(u->role) > 64)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user",
                              "user id or role too long (256 and 64 bytes at most)");
    /* The user id goes into the journal and the record as JSON text. */
    if (!utf8_text(u->user_id))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "user.user_id",
                              "the user id is not valid UTF-8 text (or holds a control "
                              "character)");
    if (!u->authenticated)
        return cse__error_set(err, CSE_ERR_AUTH, 0, NULL, "user.authenticated",
                              "the user is not authenticated: refused");
    if (!cse__role_known(u->role))
        return cse__error_set(
            err, CSE_ERR_AUTH, 0, NULL, "user.role",
            "unknown role: refused (the roles are clinician, gp, nurse, "
            "safeguarding-lead, administrative, auditor, patient and proxy, exactly "
            "so spelt)");
    if (!cse__role_may(u->role, perm))
        return cse__error_set(err, CSE_ERR_AUTH, 0, NULL, "user.role",
                              "the role %s may not %s: refused", u->role,
                              perm_names[perm]);
    return CSE_OK;
}
