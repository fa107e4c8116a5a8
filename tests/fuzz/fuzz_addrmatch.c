/* fuzz_addrmatch.c - the address matcher over untrusted input. The input is
 * split on '|' into: line1|line2|line3|city|postcode|country|candidates...,
 * where each candidate is "saon;paon;street" separated by '^'. Exercises
 * postcode normalisation, tokenising and scoring; results must stay in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/addrmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[7] = {0};
    size_t plen[7] = {0};
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= size && k < 7; i++) {
        if (i == size || (data[i] == '|' && k < 6)) {
            part[k] = data + start;
            plen[k] = i - start;
            k++;
            start = i + 1;
        }
    }
    addrmatch_input_t in;
    memset(&in, 0, sizeof(in));
    for (int i = 0; i < 3; i++) {
        in.line[i] = part[i];
        in.line_len[i] = plen[i];
    }
    in.city = part[3];
    in.city_len = plen[3];
    in.postcode = part[4];
    in.postcode_len = plen[4];
    in.country = part[5];
    in.country_len = plen[5];
    addrmatch_query_t q;
    int pre = addrmatch_prepare(&in, &q);
    if (pre >= 0 && pre != AM_OUTSIDE && pre != AM_NONE)
        abort();
    if (q.n_tok > AM_MAX_TOKENS)
        abort();
    /* candidates from the rest (matched even when prepare gave up) */
    addrmatch_cand_t c[16];
    size_t nc = 0;
    if (part[6]) {
        const uint8_t *p = part[6], *end = part[6] + plen[6];
        while (p < end && nc < 16) {
            const uint8_t *e = memchr(p, '^', (size_t)(end - p));
            if (e == NULL)
                e = end;
            const uint8_t *f[3] = {p, p, p};
            size_t fl[3] = {0, 0, 0};
            const uint8_t *s = p;
            for (int j = 0; j < 3; j++) {
                const uint8_t *semi = memchr(s, ';', (size_t)(e - s));
                const uint8_t *fe = (semi && j < 2) ? semi : e;
                f[j] = s;
                fl[j] = (size_t)(fe - s);
                s = fe < e ? fe + 1 : e;
            }
            memset(&c[nc], 0, sizeof(c[nc]));
            c[nc].uprn = nc + 1;
            c[nc].parent_uprn = (nc % 3 == 2) ? 1 : 0;
            c[nc].saon = (rec_str_t){fl[0] ? (const char *)f[0] : NULL, (uint32_t)fl[0]};
            c[nc].paon = (rec_str_t){(const char *)f[1], (uint32_t)fl[1]};
            c[nc].street = (rec_str_t){(const char *)f[2], (uint32_t)fl[2]};
            nc++;
            p = e + 1;
        }
    }
    addrmatch_result_t r;
    addrmatch_match(&q, c, nc, &r);
    if (r.kind == AM_EXACT && r.best >= nc)
        abort();
    if (r.n_idx > AM_MAX_RESULT)
        abort();
    for (size_t i = 0; i < r.n_idx; i++)
        if (r.idx[i] >= nc)
            abort();
    return 0;
}
