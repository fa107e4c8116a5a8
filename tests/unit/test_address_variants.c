/* test_address_variants.c - the labelled address-variant set
 * (tests/data/address-variants.csv, >= 300 addresses typed the way residents
 * type them) matched against the fixture district through the real import and
 * lookup code on a real LMDB environment. Reports the match rate; fails if
 * correct-or-correctly-ambiguous < 98% or if any match is confidently wrong.
 *
 * Then whole generated districts (src/dev/demodata.c, with its named houses
 * that contain one another, blocks named after their street and ground/first
 * floor flats): every property typed exactly as recorded, in two layouts,
 * must come back as itself (exact, or building for a parent) for >= 99.5%,
 * and never as another property. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/data/csv.h"
#include "binday/data/import.h"
#include "binday/data/lookup.h"
#include "binday/dev/demodata.h"
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

/* One generated district of n properties: import it, type each property
 * as recorded, count own / wrong. */
static void generated_district(uint64_t seed, size_t nprops)
{
    char tmpl[] = "/tmp/binday-gen-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ok(dir != NULL, "temp dir for the generated district");
    if (dir == NULL)
        return;
    char csvdir[256], envdir[256], err[512];
    snprintf(csvdir, sizeof(csvdir), "%s/csv", dir);
    snprintf(envdir, sizeof(envdir), "%s/env", dir);
    demodata_opts_t o = {nprops, seed, 2026};
    is_int(demodata_write(csvdir, &o, NULL, err, sizeof(err)), 0, "demo-data seed %llu: %s",
           (unsigned long long)seed, err);
    char buf[IMPORT_N_TABLES][300];
    const char *paths[IMPORT_N_TABLES];
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        snprintf(buf[i], sizeof(buf[i]), "%s/%s.csv", csvdir, import_table_name((import_table_t)i));
        paths[i] = buf[i];
    }
    store_t *s;
    ok(store_open(envdir, NULL, 0, &s, err, sizeof(err)) == 0, "store_open %s", err);
    import_report_t rep;
    is_int(import_run(s, paths, 50, on_err, NULL, &rep, err, sizeof(err)), 0, "import %s", err);

    size_t len = 0;
    char *data = slurp(paths[IMPORT_ADDRESSES], &len);
    ok(data != NULL, "read generated addresses");
    csv_reader_t rd;
    csv_init(&rd, (const uint8_t *)(data ? data : ""), data ? len : 0);
    csv_record_t *rec = malloc(sizeof(*rec));
    lookup_result_t *res = malloc(sizeof(*res));
    store_reader_t *r = store_reader_new(s);
    size_t eline, typed = 0, own = 0, wrong = 0, shown = 0;
    size_t named = 0, named_own = 0, flats = 0, flats_own = 0;
    char cerr[200];
    int header = 1;
    while (csv_next(&rd, rec, cerr, sizeof(cerr), &eline) == CSV_RECORD) {
        if (header || rec->n != 9) {
            header = 0;
            continue;
        }
        /* uprn,parent_uprn,usrn,saon,paon,street,locality,town,postcode */
        unsigned long long uprn = strtoull(rec->f[0].ptr, NULL, 10);
        const csv_field_t *saon = &rec->f[3], *paon = &rec->f[4], *street = &rec->f[5];
        int numbered = paon->len && paon->ptr[0] >= '0' && paon->ptr[0] <= '9';
        for (int form = 0; form < 2; form++) {
            char l1[200], l2[120];
            l2[0] = '\0';
            if (form == 0) { /* "12 HIGH STREET" / "FLAT 2" (as bench-lookup types) */
                snprintf(l1, sizeof(l1), "%.*s %.*s", (int)paon->len, paon->ptr, (int)street->len,
                         street->ptr);
                snprintf(l2, sizeof(l2), "%.*s", (int)saon->len, saon->ptr);
            } else { /* "FLAT 2, MILL COURT" / "HIGH STREET", as the address is printed */
                if (saon->len)
                    snprintf(l1, sizeof(l1), "%.*s, %.*s", (int)saon->len, saon->ptr,
                             (int)paon->len, paon->ptr);
                else
                    snprintf(l1, sizeof(l1), "%.*s", (int)paon->len, paon->ptr);
                if (numbered && !saon->len)
                    snprintf(l1 + strlen(l1), sizeof(l1) - strlen(l1), " %.*s", (int)street->len,
                             street->ptr);
                else
                    snprintf(l2, sizeof(l2), "%.*s", (int)street->len, street->ptr);
            }
            addrmatch_input_t in;
            memset(&in, 0, sizeof(in));
            in.line[0] = (const uint8_t *)l1;
            in.line_len[0] = strlen(l1);
            if (l2[0]) {
                in.line[1] = (const uint8_t *)l2;
                in.line_len[1] = strlen(l2);
            }
            in.postcode = (const uint8_t *)rec->f[8].ptr;
            in.postcode_len = rec->f[8].len;
            if (lookup_address(r, &in, 20800, 28, res, err, sizeof(err)) != 0)
                continue;
            typed++;
            int sure = res->match == AM_EXACT || res->match == AM_BUILDING;
            int is_own = sure && res->uprn == uprn;
            own += (size_t)is_own;
            wrong += (size_t)(sure && !is_own);
            if (!numbered && !saon->len) {
                named++;
                named_own += (size_t)is_own;
            }
            if (saon->len) {
                flats++;
                flats_own += (size_t)is_own;
            }
            if (!is_own && shown++ < 15)
                printf("# %s: %s | %s | %.*s -> %s %llu (%zu candidates)\n",
                       sure ? "WRONG" : "miss", l1, l2, (int)rec->f[8].len, rec->f[8].ptr,
                       addrmatch_kind_name(res->match), (unsigned long long)res->uprn,
                       res->n_candidates);
        }
    }
    double rate = typed ? 100.0 * (double)own / (double)typed : 0;
    printf("# generated district seed %llu: %zu typed (2 layouts), %zu own UPRN = %.2f%% "
           "(named houses %zu/%zu, flats %zu/%zu); wrong: %zu\n",
           (unsigned long long)seed, typed, own, rate, named_own, named, flats_own, flats, wrong);
    ok(typed >= nprops, "every property typed (%zu)", typed);
    ok(named > 50 && flats > 50, "district has named houses (%zu) and flats (%zu)", named, flats);
    ok(rate >= 99.5, "typed as recorded: own UPRN >= 99.5%% (%.2f%%)", rate);
    is_int(wrong, 0, "typed as recorded: no confident wrong match");
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
    generated_district(11, 4000);
    generated_district(12, 3000);
    return done_testing();
}
