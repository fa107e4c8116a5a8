/* test_address_variants.c - the labelled address-variant set
 * (tests/data/address-variants.csv, >= 300 addresses typed the way residents
 * type them) matched against the fixture district through the real import and
 * lookup code on a real LMDB environment. Reports the match rate; fails if
 * correct-or-correctly-ambiguous < 98% or if any match is confidently wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/data/csv.h"
#include "binday/data/import.h"
#include "binday/data/lookup.h"
#include "fixture_data.h"
#include "tap.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void on_err(const char *msg, void *ud)
{
    (void)ud;
    printf("# import: %s\n", msg);
}

int main(void)
{
    const char *root = getenv("BINDAY_ROOT") ? getenv("BINDAY_ROOT") : ".";
    char tmpl[] = "/tmp/binday-variants-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ok(dir != NULL, "temp dir");
    char err[512];
    store_t *s;
    ok(store_open(dir, NULL, 0, &s, err, sizeof(err)) == 0, "store_open %s", err);
    int rc = fixture_data_import(s, on_err, err, sizeof(err));
    is_int(rc, 0, "fixture imports");

    char vpath[1024];
    snprintf(vpath, sizeof(vpath), "%s/tests/data/address-variants.csv", root);
    size_t len = 0;
    char *data = slurp(vpath, &len);
    ok(data != NULL, "read %s", vpath);
    csv_reader_t rd;
    csv_init(&rd, (const uint8_t *)data, len);
    csv_record_t *rec = malloc(sizeof(*rec));
    lookup_result_t *res = malloc(sizeof(*res));
    store_reader_t *r = store_reader_new(s);
    size_t eline, total = 0, good = 0, wrong = 0, exact_ok = 0, amb_ok = 0;
    char cerr[200];
    int header = 1;
    while (csv_next(&rd, rec, cerr, sizeof(cerr), &eline) == CSV_RECORD) {
        if (header) {
            header = 0;
            continue;
        }
        if (rec->n != 10)
            continue;
        addrmatch_input_t in;
        memset(&in, 0, sizeof(in));
        for (int i = 0; i < 3; i++)
            if (rec->f[1 + i].len) {
                in.line[i] = (const uint8_t *)rec->f[1 + i].ptr;
                in.line_len[i] = rec->f[1 + i].len;
            }
        if (rec->f[4].len) {
            in.city = (const uint8_t *)rec->f[4].ptr;
            in.city_len = rec->f[4].len;
        }
        in.postcode = (const uint8_t *)rec->f[5].ptr;
        in.postcode_len = rec->f[5].len;
        if (rec->f[6].len) {
            in.country = (const uint8_t *)rec->f[6].ptr;
            in.country_len = rec->f[6].len;
        }
        char expect[16] = {0};
        snprintf(expect, sizeof(expect), "%.*s", (int)rec->f[7].len, rec->f[7].ptr);
        unsigned long long truth = strtoull(rec->f[8].ptr, NULL, 10);
        if (lookup_address(r, &in, 20000, 28, res, err, sizeof(err)) != 0) {
            printf("# lookup failed: %s\n", err);
            continue;
        }
        total++;
        int correct = 0, confidently_wrong = 0;
        int in_cands = 0;
        for (size_t i = 0; i < res->n_candidates; i++)
            if (res->candidates[i].uprn == truth)
                in_cands = 1;
        if (strcmp(expect, "exact") == 0 || strcmp(expect, "building") == 0) {
            if ((res->match == AM_EXACT || res->match == AM_BUILDING) && res->uprn == truth) {
                correct = 1;
                exact_ok++;
            } else if (res->match == AM_AMBIGUOUS && in_cands) {
                correct = 1;
                amb_ok++;
            } else if (res->match == AM_EXACT || res->match == AM_BUILDING) {
                confidently_wrong = 1;
            }
        } else if (strcmp(expect, "ambiguous") == 0) {
            if (res->match == AM_AMBIGUOUS || res->match == AM_POSTCODE ||
                ((res->match == AM_EXACT) && res->uprn == truth)) {
                correct = 1;
                amb_ok++;
            } else if (res->match == AM_EXACT || res->match == AM_BUILDING) {
                confidently_wrong = 1;
            }
        } else if (strcmp(expect, "outside") == 0) {
            correct = res->match == AM_OUTSIDE;
            confidently_wrong = res->match == AM_EXACT || res->match == AM_BUILDING;
        } else if (strcmp(expect, "none") == 0) {
            correct = res->match == AM_NONE;
            confidently_wrong = res->match == AM_EXACT || res->match == AM_BUILDING;
        }
        good += (size_t)correct;
        wrong += (size_t)confidently_wrong;
        if (!correct)
            printf("# %s variant %.*s (%.*s | %.*s | %.*s | %.*s): expected %s %llu, got %s %llu "
                   "(%zu candidates)\n",
                   confidently_wrong ? "WRONG" : "miss", (int)rec->f[0].len, rec->f[0].ptr,
                   (int)rec->f[1].len, rec->f[1].ptr, (int)rec->f[2].len, rec->f[2].ptr,
                   (int)rec->f[3].len, rec->f[3].ptr, (int)rec->f[5].len, rec->f[5].ptr, expect,
                   truth, addrmatch_kind_name(res->match), (unsigned long long)res->uprn,
                   res->n_candidates);
    }
    double rate = total ? 100.0 * (double)good / (double)total : 0;
    printf("# address variants: %zu, correct or correctly ambiguous: %zu (%.1f%%), of which "
           "exact/building: %zu, ambiguous/postcode: %zu; confidently wrong: %zu\n",
           total, good, rate, exact_ok, amb_ok, wrong);
    ok(total >= 300, "at least 300 labelled variants (%zu)", total);
    ok(rate >= 98.0, "correct or correctly ambiguous >= 98%% (%.1f%%)", rate);
    is_int(wrong, 0, "no confidently wrong match");
    lookup_dataset_info_t info;
    is_int(lookup_dataset_info(r, &info, err, sizeof(err)), 0, "dataset info");
    ok(info.generation == 1 && info.imported_at > 0 && info.addresses == 2000 &&
           info.services == 4 && info.postcodes > 50,
       "dataset info: generation %llu, %zu addresses, %zu postcodes", info.generation,
       info.addresses, info.postcodes);
    store_reader_free(r);
    store_close(s);
    free(rec);
    free(res);
    csv_free(&rd);
    free(data);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done_testing();
}
