/* SPDX-License-Identifier: MIT */
/* Upper-case UUIDs: random (v4) and derived (v5 layout over SHA-256). */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal.h"

static void format_uuid(unsigned char b[16], char buf[37])
{
    static const char hex[] = "0123456789ABCDEF";
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[j++] = '-';
        buf[j++] = hex[b[i] >> 4];
        buf[j++] = hex[b[i] & 0xF];
    }
    buf[j] = '\0';
}

cse_code cse_uuid_random(char buf[37])
{
    unsigned char b[16];
    if (buf == NULL)
        return CSE_ERR_INVALID_ARG;
    if (RAND_bytes(b, sizeof(b)) != 1)
        return CSE_ERR_INTERNAL;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    format_uuid(b, buf);
    return CSE_OK;
}

/* SHA-256, fetched once: OpenSSL 3 looks the algorithm up again on every
 * EVP_DigestInit_ex given EVP_sha256(), which cost more than hashing a
 * short name (a FHIR record derives several ids per resource). Kept for the
 * life of the process; a thread that loses the race to set it frees its own. */
static const EVP_MD *sha256(void)
{
    static _Atomic(EVP_MD *) cached;
    EVP_MD *md = atomic_load(&cached), *none = NULL;

    if (md != NULL)
        return md;
    if ((md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
        return EVP_sha256();
    if (!atomic_compare_exchange_strong(&cached, &none, md)) {
        EVP_MD_free(md);
        md = none;
    }
    return md;
}

cse_code cse_uuid_derive(const char *ns, const char *name, char buf[37])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    int ok;

    if (ns == NULL || name == NULL || buf == NULL)
        return CSE_ERR_INVALID_ARG;
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return CSE_ERR_NOMEM;
    /* The NUL between namespace and name keeps ("ab","c") and ("a","bc") apart. */
    ok = EVP_DigestInit_ex(ctx, sha256(), NULL) &&
         EVP_DigestUpdate(ctx, ns, strlen(ns) + 1) &&
         EVP_DigestUpdate(ctx, name, strlen(name)) && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok || mdlen < 16)
        return CSE_ERR_INTERNAL;
    md[6] = (unsigned char)((md[6] & 0x0F) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3F) | 0x80);
    format_uuid(md, buf);
    return CSE_OK;
}

bool cse_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}
