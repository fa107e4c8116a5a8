/* fuzz_jsonload.c - libFuzzer target for the fast JSON reader: for each input
 * and each flag set the code base uses (0, JSON_REJECT_DUPLICATES,
 * JSON_DECODE_ANY), jsonload must agree with jansson's json_loadb (same
 * accept/reject, same tree with the same node types); any disagreement
 * aborts. The oracle is tests/unit/jsonload_diff.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/jsonload_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int i = 0; i < 3; i++) {
        const char *why = jld_diff(data, size, jld_flag_sets[i], NULL);
        if (why != NULL) {
            fprintf(stderr, "fuzz_jsonload: flags %zu: %s\n", jld_flag_sets[i], why);
            abort();
        }
    }
    return 0;
}
