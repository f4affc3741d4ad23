/* SPDX-License-Identifier: MIT */
/* Test helper: reads a GP2GP extract and prints one line per entry (kind,
 * id, own and inherited NOPAT, marker class), for the shell tests that check
 * the reader against the national adaptors' corpus. Exit 0 on success, 1
 * when the reader fails (the error on stderr). */
#include "config.h"

#include <stdio.h>

#include <csemarker/csemarker.h>

static const char *class_name(cse_entry_class c)
{
    switch (c) {
    case CSE_CLASS_MARKER: return "marker";
    case CSE_CLASS_RELATED: return "related";
    case CSE_CLASS_CANDIDATE: return "candidate";
    default: return "none";
    }
}

static cse_code d_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    printf("begin version=%d\n", info->hl7_version);
    return CSE_OK;
}

static cse_code d_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    printf("agent %s\n", a->id ? a->id : "-");
    return CSE_OK;
}

static cse_code d_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                        cse_error *err)
{
    printf("entry %s %s own=%d inherited=%d class=%s\n", cse_entry_kind_name(e->kind),
           e->id ? e->id : "-", (e->labels & CSE_LABEL_NOPAT) != 0,
           (e->inherited_labels & CSE_LABEL_NOPAT) != 0, class_name(info->cls));
    return CSE_OK;
}

static cse_code d_end(cse_sink *s, const cse_summary *sum, cse_error *err)
{
    printf("end entries=%zu losses=%zu\n", sum->entries, sum->n_losses);
    return CSE_OK;
}

int main(int argc, char **argv)
{
    cse_sink sink = {d_begin, d_agent, d_entry, d_end, NULL, NULL};
    cse_gp2gp_read_options opt = {0};
    cse_error err = {0};
    char buf[1600];

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: gp2gp_dump FILE [FRAGMENTS_DIR]\n");
        return 2;
    }
    opt.fragments_dir = argc == 3 ? argv[2] : NULL;
    if (cse_gp2gp_read_file(argv[1], &opt, &sink, &err) != CSE_OK) {
        fprintf(stderr, "gp2gp_dump: %s\n", cse_error_format(&err, buf, sizeof(buf)));
        return 1;
    }
    return 0;
}
