/* fuzz_answer.c - libFuzzer target for reading a resident's answer to the
 * address question (answer.h): never crashes or overruns; every word is
 * NUL-terminated within its slot, lower case, and the helpers over the words
 * stay in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/skill/answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    answer_words_t w;
    answer_words(data, size, &w);
    if (w.n > ANSWER_MAX_WORDS)
        abort();
    for (size_t i = 0; i < w.n; i++) {
        size_t l = strnlen(w.w[i], sizeof(w.w[i]));
        if (l == 0 || l >= sizeof(w.w[i]))
            abort();
        for (size_t k = 0; k < l; k++)
            if (w.w[i][k] >= 'A' && w.w[i][k] <= 'Z')
                abort();
    }
    int o = answer_ordinal(&w);
    if (o < -1 || o > 6)
        abort();
    const char *labels[3] = {"Flat 3 in Priory House", "14A Priory Road", "Rose Cottage"};
    int p = answer_pick(&w, labels, 3);
    if (p < -1 || p > 2)
        abort();
    char text[512], num[24];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = 0;
    answer_house_number_str(text, num, sizeof(num));
    if (strnlen(num, sizeof(num)) >= sizeof(num))
        abort();
    return 0;
}
