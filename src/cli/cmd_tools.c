/* cmd_tools.c - staff helper commands: `binday holidays propose` and
 * `binday demo-data` (argument parsing and output; the work is in
 * holidays.c and demodata.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "binday/util/date.h"
#include "binday/dev/demodata.h"
#include "binday/data/holidays.h"
#include "binday/util/xalloc.h"

static void holidays_usage(FILE *out)
{
    size_t n;
    int first, last;
    const holiday_t *h = holidays_builtin(&n);
    holidays_years(h, n, &first, &last);
    fprintf(out,
            "usage: binday holidays propose --year YYYY [--holidays-file FILE]\n"
            "       binday holidays list [--holidays-file FILE]\n\n"
            "propose: print an exceptions CSV (for review, then `binday import --exceptions`)\n"
            "that slips every collection from each England & Wales bank holiday to the end\n"
            "of that week by one day (Friday -> Saturday); a second holiday in the same week\n"
            "adds another day. Nothing is changed by this command.\n\n"
            "Bank-holiday dates built in: %d-%d, from data/bank-holidays-england-wales.csv\n"
            "(source: https://www.gov.uk/bank-holidays). To update them, edit that file and\n"
            "the table in src/holidays.c (a unit test checks they agree), or pass an updated\n"
            "CSV (columns: date,name) with --holidays-file.\n",
            first, last);
}

static const holiday_t *load_holidays(const char *file, size_t *n, holiday_t *buf, size_t max)
{
    if (file == NULL)
        return holidays_builtin(n);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "binday holidays: %s: %s\n", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *data = xmalloc(len);
    ssize_t got = read(fd, data, len);
    close(fd);
    if (got < 0 || (size_t)got != len) {
        fprintf(stderr, "binday holidays: %s: short read\n", file);
        free(data);
        return NULL;
    }
    char err[256];
    long k = holidays_parse(data, len, buf, max, err, sizeof(err));
    free(data);
    if (k < 0) {
        fprintf(stderr, "binday holidays: %s: %s\n", file, err);
        return NULL;
    }
    *n = (size_t)k;
    return buf;
}

int cmd_holidays(int argc, char **argv)
{
    static const struct option opts[] = {{"year", required_argument, NULL, 'y'},
                                         {"holidays-file", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int year = 0, c;
    const char *file = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'y': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1900 || v > 2199) {
                fprintf(stderr, "binday holidays: --year: not a year\n");
                return CLI_EXIT_USAGE;
            }
            year = (int)v;
            break;
        }
        case 'f': file = optarg; break;
        case 'h': holidays_usage(stdout); return CLI_EXIT_OK;
        default: holidays_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        holidays_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[optind];
    static holiday_t buf[1024];
    size_t n;
    const holiday_t *h = load_holidays(file, &n, buf, 1024);
    if (h == NULL)
        return CLI_EXIT_INPUT;
    char d[11], d2[11], e[11];
    if (strcmp(sub, "list") == 0) {
        printf("date,name\n");
        for (size_t i = 0; i < n; i++)
            printf("%s,\"%s\"\n", date_format(h[i].date, d), h[i].name);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "propose") != 0 || year == 0) {
        holidays_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    int first, last;
    holidays_years(h, n, &first, &last);
    if (year < first || year > last) {
        fprintf(stderr,
                "binday holidays: no bank-holiday dates for %d (known: %d-%d); update "
                "data/bank-holidays-england-wales.csv or pass --holidays-file\n",
                year, first, last);
        return CLI_EXIT_INPUT;
    }
    holiday_slip_t slips[512];
    size_t ns = holidays_propose(h, n, year, slips, 512);
    printf("round_id,action,original_date,new_date,reason\n");
    for (size_t i = 0; i < ns; i++) {
        printf("*,moved,%s,%s,bank holiday\n", date_format(slips[i].original, d),
               date_format(slips[i].new_date, e));
        if (i > 0 && slips[i].new_date == slips[i - 1].new_date)
            fprintf(stderr, "binday holidays: note: %s and %s both move to %s; please review\n",
                    date_format(slips[i - 1].original, d), date_format(slips[i].original, d2), e);
    }
    return CLI_EXIT_OK;
}

static void demo_usage(FILE *out)
{
    fprintf(out,
            "usage: binday demo-data --out DIR [--properties N] [--seed S] [--year YYYY]\n\n"
            "Write synthetic Breckland-like import files (addresses.csv, services.csv,\n"
            "rounds.csv, assignments.csv, exceptions.csv, notices.csv) into DIR.\n"
            "Deterministic for a given seed. Defaults: 60000 properties, seed 1, year =\n"
            "the current year. Load them with binday import.\n");
}

int cmd_demo_data(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"properties", required_argument, NULL, 'p'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    demodata_opts_t o = {60000, 1, 0};
    const char *out = NULL;
    int c;
    int y, m, d;
    date_to_ymd(date_today_london(), &y, &m, &d);
    o.year = y;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': out = optarg; break;
        case 'p':
            o.properties = (size_t)strtoull(optarg, &end, 10);
            if (*end || o.properties < 100 || o.properties > 5000000) {
                fprintf(stderr, "binday demo-data: --properties must be 100..5000000\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 's':
            o.seed = strtoull(optarg, &end, 10);
            if (*end) {
                fprintf(stderr, "binday demo-data: --seed: not a number\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'y':
            o.year = (int)strtol(optarg, &end, 10);
            if (*end || o.year < 2000 || o.year > 2100) {
                fprintf(stderr, "binday demo-data: --year: 2000..2100\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h': demo_usage(stdout); return CLI_EXIT_OK;
        default: demo_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (out == NULL || optind != argc) {
        demo_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char err[512];
    demodata_stats_t st;
    if (demodata_write(out, &o, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday demo-data: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    printf("wrote %s: %zu addresses, %zu services, %zu rounds, %zu assignments, "
           "%zu exceptions, %zu notices\n",
           out, st.rows[0], st.rows[1], st.rows[2], st.rows[3], st.rows[4], st.rows[5]);
    return CLI_EXIT_OK;
}
