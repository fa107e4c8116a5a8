/* cmd_data.c - the staff commands of the data side: `binday import`,
 * `binday lookup` and `binday backup` (argument parsing and output only; the
 * work is in import.c, lookup.c and store.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "binday/util/date.h"
#include "binday/data/import.h"
#include "binday/data/lookup.h"
#include "binday/data/store.h"
#include "binday/util/xalloc.h"

/* ---- import ------------------------------------------------------------------ */

static void import_usage(FILE *out)
{
    fprintf(out,
            "usage: binday import --data DIR [--addresses F] [--services F] [--rounds F]\n"
            "                     [--assignments F] [--exceptions F] [--notices F]\n"
            "                     [--materials F] [--max-errors N]\n\n"
            "Replace whole tables from CSV files (RFC 4180, UTF-8, header row naming the\n"
            "columns in any order). All files of one call are applied in one transaction:\n"
            "either everything is imported or nothing changes. Every problem is printed as\n"
            "FILE:LINE: message (up to --max-errors, default 1000), then exit 3.\n"
            "References are checked against the files given and the data already stored.\n"
            "A running server sees the new data as soon as the import commits.\n"
            "Column definitions: schemas/*.schema.json (Table Schema).\n"
            "--materials (optional) answers \"what goes in which bin?\": material, synonyms\n"
            "(separated by ;), service_id or \"not collected\", take_to, note.\n");
}

static void print_error(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "%s\n", msg);
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},        {"addresses", required_argument, NULL, 'a'},
        {"services", required_argument, NULL, 's'},    {"rounds", required_argument, NULL, 'r'},
        {"assignments", required_argument, NULL, 'g'}, {"exceptions", required_argument, NULL, 'e'},
        {"notices", required_argument, NULL, 'n'},     {"max-errors", required_argument, NULL, 'm'},
        {"materials", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    const char *data = NULL, *paths[IMPORT_N_TABLES] = {0};
    size_t max_errors = 1000;
    int c, any = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'a': paths[IMPORT_ADDRESSES] = optarg; any = 1; break;
        case 's': paths[IMPORT_SERVICES] = optarg; any = 1; break;
        case 'r': paths[IMPORT_ROUNDS] = optarg; any = 1; break;
        case 'g': paths[IMPORT_ASSIGNMENTS] = optarg; any = 1; break;
        case 'e': paths[IMPORT_EXCEPTIONS] = optarg; any = 1; break;
        case 'n': paths[IMPORT_NOTICES] = optarg; any = 1; break;
        case 'M': paths[IMPORT_MATERIALS] = optarg; any = 1; break;
        case 'm': max_errors = (size_t)strtoul(optarg, NULL, 10); break;
        case 'h': import_usage(stdout); return CLI_EXIT_OK;
        default: import_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || !any || optind != argc) {
        fprintf(stderr, "binday import: --data and at least one file are required\n");
        import_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char err[1024] = "";
    store_t *s;
    if (store_open(data, NULL, 0, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday import: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    import_report_t rep;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = import_run(s, paths, max_errors, print_error, NULL, &rep, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    store_close(s);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    size_t rows = 0;
    for (int i = 0; i < IMPORT_N_TABLES; i++)
        rows += rep.rows[i];
    if (rc == IMPORT_REJECTED) {
        if (rep.n_errors > max_errors)
            fprintf(stderr, "... and %zu more problems not shown\n", rep.n_errors - max_errors);
        fprintf(stderr, "binday import: %zu problem%s found; nothing was changed\n", rep.n_errors,
                rep.n_errors == 1 ? "" : "s");
        return CLI_EXIT_INPUT;
    }
    if (rc != 0) {
        fprintf(stderr, "binday import: %s; nothing was changed\n", err);
        return CLI_EXIT_RUNTIME;
    }
    for (int i = 0; i < IMPORT_N_TABLES; i++)
        if (paths[i])
            printf("%s: %zu rows\n", import_table_name((import_table_t)i), rep.rows[i]);
    printf("imported %zu rows in %.2f s (%.0f rows/s)\n", rows, secs,
           secs > 0 ? (double)rows / secs : 0.0);
    return CLI_EXIT_OK;
}

/* ---- lookup ------------------------------------------------------------------ */

static void lookup_usage(FILE *out)
{
    fprintf(out,
            "usage: binday lookup --data DIR --postcode PC [--line TEXT ...] [--city C]\n"
            "                     [--country CC] [--from YYYY-MM-DD] [--days N] [--json]\n"
            "       binday lookup --data DIR --uprn UPRN [--from ...] [--days N] [--json]\n\n"
            "Match an address the way the Alexa skill does (--line up to 3 times, --city,\n"
            "--postcode, --country are the Device Address API fields as typed) and list the\n"
            "collections from --from (default: today, Europe/London) for --days (default 28).\n"
            "--json prints the object documented in the contract (a test interface).\n"
            "A list is cut at %d collections; the output then says so and the date to\n"
            "page on from (--json: \"truncated\": true, \"next_from\").\n",
            LOOKUP_MAX_COLLECTIONS);
}

static void print_human(const lookup_result_t *r)
{
    printf("match: %s\n", addrmatch_kind_name(r->match));
    if (r->uprn)
        printf("property: %.*s (UPRN %llu)\n", (int)r->address.n, r->address.p ? r->address.p : "",
               (unsigned long long)r->uprn);
    else if (r->match == AM_POSTCODE)
        printf("postcode: %s (every property here has the same collections)\n", r->postcode);
    for (size_t i = 0; i < r->n_candidates; i++)
        printf("  candidate: %.*s (UPRN %llu)\n", (int)r->candidates[i].address.n,
               r->candidates[i].address.p, (unsigned long long)r->candidates[i].uprn);
    if (r->match == AM_EXACT || r->match == AM_BUILDING || r->match == AM_POSTCODE) {
        if (r->n_collections == 0)
            printf("no collections in the next %d days\n", r->days);
        for (size_t i = 0; i < r->n_collections; i++) {
            const lookup_collection_t *c = &r->collections[i];
            char d[11], od[11];
            printf("  %s %-9s %-20.*s (%.*s)", date_format(c->date, d),
                   date_weekday_long(date_weekday(c->date)), (int)c->name.n, c->name.p,
                   (int)c->colour.n, c->colour.p);
            if (c->changed && c->original != c->date)
                printf("  moved from %s", date_format(c->original, od));
            else if (c->changed)
                printf("  extra collection");
            if (c->reason.p)
                printf(": %.*s", (int)c->reason.n, c->reason.p);
            printf("\n");
        }
    }
    if (r->truncated) {
        char nf[11];
        printf("list cut at %zu collections: complete up to the day before %s; "
               "run again with --from %s for the rest\n",
               r->n_collections, date_format(r->next_from, nf), nf);
    }
    for (size_t i = 0; i < r->n_notices; i++)
        printf("notice %.*s: %.*s\n", (int)r->notices[i].notice_id.n, r->notices[i].notice_id.p,
               (int)r->notices[i].message.n, r->notices[i].message.p);
}

int cmd_lookup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},   {"postcode", required_argument, NULL, 'p'},
        {"line", required_argument, NULL, 'l'},   {"city", required_argument, NULL, 'c'},
        {"country", required_argument, NULL, 'C'}, {"from", required_argument, NULL, 'f'},
        {"days", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {"uprn", required_argument, NULL, 'u'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *data = NULL, *uprn_s = NULL;
    addrmatch_input_t in;
    memset(&in, 0, sizeof(in));
    int nlines = 0, json = 0, days = 28, from = date_today_london(), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'p': in.postcode = (const uint8_t *)optarg; in.postcode_len = strlen(optarg); break;
        case 'l':
            if (nlines == 3) {
                fprintf(stderr, "binday lookup: at most 3 --line options\n");
                return CLI_EXIT_USAGE;
            }
            in.line[nlines] = (const uint8_t *)optarg;
            in.line_len[nlines++] = strlen(optarg);
            break;
        case 'c': in.city = (const uint8_t *)optarg; in.city_len = strlen(optarg); break;
        case 'C': in.country = (const uint8_t *)optarg; in.country_len = strlen(optarg); break;
        case 'f':
            if (date_parse(optarg, strlen(optarg), &from) != 0) {
                fprintf(stderr, "binday lookup: --from: not a date (YYYY-MM-DD)\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > LOOKUP_MAX_DAYS) {
                fprintf(stderr, "binday lookup: --days must be 1..%d\n", LOOKUP_MAX_DAYS);
                return CLI_EXIT_USAGE;
            }
            days = (int)v;
            break;
        }
        case 'j': json = 1; break;
        case 'u': uprn_s = optarg; break;
        case 'h': lookup_usage(stdout); return CLI_EXIT_OK;
        default: lookup_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || (in.postcode == NULL && uprn_s == NULL) || optind != argc) {
        fprintf(stderr, "binday lookup: --data and --postcode (or --uprn) are required\n");
        lookup_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    unsigned long long uprn = 0;
    if (uprn_s) {
        char *end;
        uprn = strtoull(uprn_s, &end, 10);
        if (*end || uprn == 0 || strlen(uprn_s) > 12) {
            fprintf(stderr, "binday lookup: --uprn: 1-12 digits\n");
            return CLI_EXIT_USAGE;
        }
    }
    char err[1024];
    store_t *s;
    if (store_open(data, NULL, 0, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday lookup: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = xmalloc(sizeof(*res));
    if (r == NULL) /* store_reader_new fails only for memory */
        xalloc_die("store_reader_new", 0);
    int rc = uprn_s ? lookup_uprn(r, uprn, from, days, res, err, sizeof(err))
                    : lookup_address(r, &in, from, days, res, err, sizeof(err));
    int ret = CLI_EXIT_OK;
    if (rc) {
        fprintf(stderr, "binday lookup: %s\n", err);
        ret = CLI_EXIT_RUNTIME;
    } else if (json) {
        json_t *o = lookup_result_json(res);
        char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (txt == NULL) {
            fprintf(stderr, "binday lookup: out of memory\n");
            ret = CLI_EXIT_RUNTIME;
        } else {
            printf("%s\n", txt);
        }
        free(txt);
        json_decref(o);
    } else {
        print_human(res);
    }
    free(res);
    store_reader_free(r);
    store_close(s);
    return ret;
}

