/* SPDX-License-Identifier: MIT */
/* Keys for the cse-report Check suites: a temporary folder with a signing
 * key (owner Y00001), the ICS signing key (QICS1), the linkage key pair, a
 * registry of practices Y00001..Y00003 and Y09999 and a keys file. Made once
 * per process. Not installed. */
#ifndef CSE_REPORT_TESTKEYS_H
#define CSE_REPORT_TESTKEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <csemarker/report.h>

struct testkeys {
    char dir[64], registry[128], keys[128];
    cse_report_key *sign, *ics, *link_pub, *link_priv, *sign9;
    cse_registry *reg;
};

static void testkeys_cat(FILE *out, const char *path)
{
    char buf[256];
    FILE *in = fopen(path, "r");

    ck_assert_ptr_nonnull(in);
    while (fgets(buf, sizeof(buf), in) != NULL)
        fputs(buf, out);
    fclose(in);
}

static struct testkeys testkeys_made;

/* Removes the folder and frees the keys at exit. */
static void testkeys_cleanup(void)
{
    struct testkeys *k = &testkeys_made;
    char cmd[512];

    cse_report_key_free(k->sign);
    cse_report_key_free(k->sign9);
    cse_report_key_free(k->ics);
    cse_report_key_free(k->link_pub);
    cse_report_key_free(k->link_priv);
    cse_registry_free(k->reg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%.63s'", k->dir);
    if (k->dir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", k->dir);
    memset(k, 0, sizeof(*k));
}

static const struct testkeys *testkeys(void)
{
    struct testkeys *kp = &testkeys_made;
    char p[512];
    FILE *fp;
#define k (*kp)

    if (k.reg != NULL)
        return &k;
    atexit(testkeys_cleanup);
    strcpy(k.dir, "/tmp/cse-testkeys.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(k.dir));
#define KEY(kind, name, owner)                                                           \
    snprintf(p, sizeof(p), "%.63s/%s", k.dir, name);                                     \
    ck_assert_int_eq(cse_keygen(kind, p, owner, 0, NULL, NULL), CSE_OK)
    KEY(CSE_KEY_SIGNING, "Y00001.pem", "Y00001");
    k.sign = cse_report_key_load_private(p, CSE_KEY_SIGNING, NULL);
    KEY(CSE_KEY_SIGNING, "Y09999.pem", "Y09999");
    k.sign9 = cse_report_key_load_private(p, CSE_KEY_SIGNING, NULL);
    KEY(CSE_KEY_SIGNING, "ics.pem", "QICS1");
    k.ics = cse_report_key_load_private(p, CSE_KEY_SIGNING, NULL);
    KEY(CSE_KEY_LINKAGE, "link.pem", NULL);
    k.link_priv = cse_report_key_load_private(p, CSE_KEY_LINKAGE, NULL);
    strcat(p, ".pub");
    k.link_pub = cse_report_key_load_public(p, CSE_KEY_LINKAGE, NULL);
#undef KEY
    ck_assert_ptr_nonnull(k.sign);
    ck_assert_ptr_nonnull(k.sign9);
    ck_assert_ptr_nonnull(k.ics);
    ck_assert_ptr_nonnull(k.link_priv);
    ck_assert_ptr_nonnull(k.link_pub);
    snprintf(k.registry, sizeof(k.registry), "%.63s/registry", k.dir);
    snprintf(k.keys, sizeof(k.keys), "%.63s/keys", k.dir);
    fp = fopen(k.registry, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("# test ICS\nics QICS1\npractice Y00001 1000\npractice Y00002 1000\n"
          "practice Y00003 1000\npractice Y09999 1000\n",
          fp);
    fclose(fp);
    fp = fopen(k.keys, "w");
    ck_assert_ptr_nonnull(fp);
    snprintf(p, sizeof(p), "%.63s/Y00001.pem.pub", k.dir);
    testkeys_cat(fp, p);
    snprintf(p, sizeof(p), "%.63s/Y09999.pem.pub", k.dir);
    testkeys_cat(fp, p);
    snprintf(p, sizeof(p), "%.63s/ics.pem.pub", k.dir);
    testkeys_cat(fp, p);
    fclose(fp);
    k.reg = cse_registry_load(k.registry, k.keys, NULL);
    ck_assert_ptr_nonnull(k.reg);
    return &k;
#undef k
}

#endif
