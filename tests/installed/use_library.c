/* SPDX-License-Identifier: MIT */
/* Built by tools/package-check against the INSTALLED packages only
 * (pkg-config --cflags --libs csemarker, and <csemarker/plugin.h> with
 * -ldl): reads a GP2GP extract through libcsemarker.so and prints its
 * markers, then loads the installed plug-in module through its ABI.
 * Usage: use_library EXTRACT.xml MODULE.so
 * Prints one line per step; exits 0 only when every step worked. */
#include <csemarker/csemarker.h>
#include <csemarker/plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "use_library: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    cse_error err = {0};
    char buf[1024];
    if (argc != 3)
        return fail("usage: use_library EXTRACT.xml MODULE.so");

    printf("library version %s\n", cse_version());
    if (!cse_nhs_number_valid("9434765919") || cse_nhs_number_valid("9434765918"))
        return fail("the NHS number check disagrees with DESIGN.md's examples");
    if (!cse_code_is_marker("716565009") || cse_code_is_marker("716565008"))
        return fail("the marker code rules disagree with DESIGN.md's examples");

    cse_record *rec = cse_record_new();
    cse_sink *sink = rec ? cse_record_sink_new(rec) : NULL;
    if (sink == NULL)
        return fail("out of memory");
    cse_code rc = cse_gp2gp_read_file(argv[1], NULL, sink, &err);
    cse_sink_free(sink);
    if (rc != CSE_OK) {
        cse_record_free(rec);
        return fail(cse_error_format(&err, buf, sizeof(buf)));
    }
    size_t n = cse_record_marker_count(rec);
    printf("markers %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const cse_marker *m = cse_record_marker(rec, i);
        printf("marker %s %s\n", m->code, cse_marker_status_name(m->status));
    }
    cse_record_free(rec);
    if (n == 0)
        return fail("the extract holds no marker");

    void *dl = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL)
        return fail("dlopen of the module failed");
    cse_plugin_entry_fn entry;
    *(void **)&entry = dlsym(dl, CSE_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL)
        return fail("the module has no entry point");
    cse_plugin_error perr;
    memset(&perr, 0, sizeof(perr));
    const cse_plugin_api *api = entry(CSE_PLUGIN_ABI_VERSION, &perr);
    if (api == NULL)
        return fail(perr.message);
    printf("plug-in ABI %u.%u, %s\n", (unsigned)(api->abi_version >> 16),
           (unsigned)(api->abi_version & 0xffffu), api->version());
    dlclose(dl);
    return 0;
}
