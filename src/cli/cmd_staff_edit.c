/* cmd_staff_edit.c - `binday staff exception|notice|holidays|upload`: the
 * console's edits from the command line (staff/edit.h), each with
 * --preview (changes nothing) and otherwise one atomic commit with its
 * audit record. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/import.h"
#include "binday/staff/edit.h"
#include "binday/util/date.h"
#include "cli.h"
#include "cmd_staff_edit.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: binday staff exception move   --data DIR --round R [--service S] --date D --to D2 [--reason T]\n"
            "       binday staff exception cancel --data DIR --round R [--service S] --date D --reason T\n"
            "       binday staff exception add    --data DIR --round R [--service S] --date D [--reason T]\n"
            "       binday staff exception revert --data DIR --round R --date D\n"
            "       binday staff notice publish   --data DIR --scope all|round:ID|service:ID|postcode:P\n"
            "                                     --from D --to D --message TEXT [--id ID]\n"
            "       binday staff notice expire    --data DIR --id ID\n"
            "       binday staff holidays         --data DIR --year YYYY [--date D]...\n"
            "       binday staff upload           --data DIR [--addresses F] [--services F] [--rounds F]\n"
            "                                     [--assignments F] [--exceptions F] [--notices F] [--materials F]\n"
            "  every edit takes --preview (alias --dry-run): show what it would change, change nothing.\n"
            "  Dates are YYYY-MM-DD; --round * (quoted) is every round (move and cancel only).\n"
            "  Output: the summary, the dates and number of properties touched, rows added/changed/\n"
            "  removed per table, and the import's FILE:LINE problems. Exit 0, 1 runtime, 2 usage,\n"
            "  3 rejected (nothing changed), 4 no such round/notice.\n");
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "binday staff upload: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (nb == NULL) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    if (b == NULL) {
        fprintf(stderr, "binday staff upload: out of memory\n");
        return -1;
    }
    *data = b;
    *len = n;
    return 0;
}

static void print_result(const staff_result_t *r)
{
    printf("%s\n", r->message);
    if (r->n_dates) {
        printf("dates:");
        for (size_t i = 0; i < r->n_dates; i++) {
            char d[11];
            printf(" %s", date_format(r->dates[i], d));
        }
        printf("%s\n", r->n_dates_total > r->n_dates ? " ..." : "");
    }
    if (r->properties || r->n_dates)
        printf("properties: %zu\n", r->properties);
    for (int t = 0; t < IMPORT_N_TABLES; t++)
        if (r->diff[t].given)
            printf("%s: %zu added, %zu changed, %zu removed, %zu unchanged\n", import_table_name((import_table_t)t),
                   r->diff[t].added, r->diff[t].changed, r->diff[t].removed, r->diff[t].unchanged);
    for (size_t i = 0; i < r->n_errors; i++)
        fprintf(stderr, "%s\n", r->errors[i]);
    if (r->n_errors_total > r->n_errors)
        fprintf(stderr, "... and %zu more problems\n", r->n_errors_total - r->n_errors);
    if (r->audit_id)
        printf("audit record: %llu\n", (unsigned long long)r->audit_id);
}

static int parse_date_opt(const char *s, int *out, const char *name)
{
    if (s == NULL || date_parse(s, strlen(s), out) != 0) {
        fprintf(stderr, "binday staff: %s: want YYYY-MM-DD\n", name);
        return -1;
    }
    return 0;
}

int staff_cli_edit(int argc, char **argv)
{
    const char *group = argv[0];
    const char *verb = NULL;
    int shift = 1;
    if (strcmp(group, "exception") == 0 || strcmp(group, "notice") == 0) {
        if (argc < 2 || argv[1][0] == '-') {
            usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
            return argc >= 2 && strcmp(argv[1], "--help") == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
        verb = argv[1];
        shift = 2;
    } else if (strcmp(group, "edit") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    enum { O_DATA = 1, O_ROUND, O_SERVICE, O_DATE, O_TO, O_REASON, O_SCOPE, O_FROM, O_MESSAGE, O_ID, O_YEAR,
           O_PREVIEW, O_TABLE0 };
    static const struct option opts[] = {{"data", required_argument, NULL, O_DATA},
                                         {"round", required_argument, NULL, O_ROUND},
                                         {"service", required_argument, NULL, O_SERVICE},
                                         {"date", required_argument, NULL, O_DATE},
                                         {"to", required_argument, NULL, O_TO},
                                         {"reason", required_argument, NULL, O_REASON},
                                         {"scope", required_argument, NULL, O_SCOPE},
                                         {"from", required_argument, NULL, O_FROM},
                                         {"message", required_argument, NULL, O_MESSAGE},
                                         {"id", required_argument, NULL, O_ID},
                                         {"year", required_argument, NULL, O_YEAR},
                                         {"preview", no_argument, NULL, O_PREVIEW},
                                         {"dry-run", no_argument, NULL, O_PREVIEW},
                                         {"addresses", required_argument, NULL, O_TABLE0 + IMPORT_ADDRESSES},
                                         {"services", required_argument, NULL, O_TABLE0 + IMPORT_SERVICES},
                                         {"rounds", required_argument, NULL, O_TABLE0 + IMPORT_ROUNDS},
                                         {"assignments", required_argument, NULL, O_TABLE0 + IMPORT_ASSIGNMENTS},
                                         {"exceptions", required_argument, NULL, O_TABLE0 + IMPORT_EXCEPTIONS},
                                         {"notices", required_argument, NULL, O_TABLE0 + IMPORT_NOTICES},
                                         {"materials", required_argument, NULL, O_TABLE0 + IMPORT_MATERIALS},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *date_s = NULL, *to_s = NULL, *from_s = NULL, *files[IMPORT_N_TABLES] = {0};
    int preview = 0, year = 0, c;
    int dates[64];
    size_t n_dates = 0;
    staff_edit_t e;
    memset(&e, 0, sizeof(e));
    optind = 1;
    while ((c = getopt_long(argc - shift + 1, argv + shift - 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: data = optarg; break;
        case O_ROUND: e.round_id = optarg; break;
        case O_SERVICE: e.service_id = optarg; break;
        case O_DATE:
            date_s = optarg;
            if (n_dates < 64 && date_parse(optarg, strlen(optarg), &dates[n_dates]) == 0)
                n_dates++;
            break;
        case O_TO: to_s = optarg; break;
        case O_REASON: e.reason = optarg; break;
        case O_SCOPE: e.scope = optarg; break;
        case O_FROM: from_s = optarg; break;
        case O_MESSAGE: e.message = optarg; break;
        case O_ID: e.notice_id = optarg; break;
        case O_YEAR: year = atoi(optarg); break;
        case O_PREVIEW: preview = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default:
            if (c >= O_TABLE0 && c < O_TABLE0 + IMPORT_N_TABLES) {
                files[c - O_TABLE0] = optarg;
                break;
            }
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || optind != argc - shift + 1) {
        fprintf(stderr, "binday staff %s: --data is required (and no extra arguments)\n", group);
        return CLI_EXIT_USAGE;
    }
    int today = date_today_london();
    if (strcmp(group, "exception") == 0) {
        if (strcmp(verb, "move") == 0) {
            e.kind = STAFF_EDIT_MOVE;
            if (parse_date_opt(date_s, &e.date, "--date") || parse_date_opt(to_s, &e.new_date, "--to"))
                return CLI_EXIT_USAGE;
        } else if (strcmp(verb, "cancel") == 0 || strcmp(verb, "revert") == 0) {
            e.kind = verb[0] == 'c' ? STAFF_EDIT_CANCEL : STAFF_EDIT_REVERT;
            if (parse_date_opt(date_s, &e.date, "--date"))
                return CLI_EXIT_USAGE;
        } else if (strcmp(verb, "add") == 0) {
            e.kind = STAFF_EDIT_ADD;
            if (parse_date_opt(date_s, &e.new_date, "--date"))
                return CLI_EXIT_USAGE;
        } else {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(group, "notice") == 0) {
        if (strcmp(verb, "publish") == 0) {
            e.kind = STAFF_EDIT_NOTICE_PUBLISH;
            if (parse_date_opt(from_s, &e.from, "--from") || parse_date_opt(to_s, &e.to, "--to"))
                return CLI_EXIT_USAGE;
        } else if (strcmp(verb, "expire") == 0) {
            e.kind = STAFF_EDIT_NOTICE_EXPIRE;
            e.from = today;
        } else {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(group, "holidays") == 0) {
        e.kind = STAFF_EDIT_HOLIDAYS;
        if (year < 1900 || year > 2199) {
            fprintf(stderr, "binday staff holidays: --year YYYY is required\n");
            return CLI_EXIT_USAGE;
        }
        e.year = year;
        e.dates = dates;
        e.n_dates = n_dates;
    } else {
        e.kind = STAFF_EDIT_UPLOAD;
    }
    staff_upload_file_t up[IMPORT_N_TABLES];
    size_t nup = 0;
    int ex = CLI_EXIT_RUNTIME;
    if (e.kind == STAFF_EDIT_UPLOAD) {
        for (int t = 0; t < IMPORT_N_TABLES; t++) {
            if (!files[t])
                continue;
            uint8_t *d;
            size_t l;
            if (read_file(files[t], &d, &l) != 0)
                goto out_files;
            up[nup].table = t;
            up[nup].name = files[t];
            up[nup].data = d;
            up[nup++].len = l;
        }
        if (nup == 0) {
            fprintf(stderr, "binday staff upload: give at least one table file\n");
            ex = CLI_EXIT_USAGE;
            goto out_files;
        }
        e.files = up;
        e.n_files = nup;
    }
    store_t *store;
    staff_t *st;
    if (staff_cli_open(data, &store, &st, group))
        goto out_files;
    char actor_name[80], err[400] = "";
    staff_cli_actor(actor_name, sizeof(actor_name));
    staff_actor_t actor = {actor_name, STAFF_ROLE_ADMIN};
    staff_result_t *res = NULL;
    int rc = preview ? staff_edit_preview(st, &actor, &e, &res, err, sizeof(err))
                     : staff_edit_apply(st, &actor, &e, &res, err, sizeof(err));
    if (res)
        print_result(res);
    if (rc && res && res->n_errors == 0 && res->message[0] == '\0')
        fprintf(stderr, "binday staff %s: %s\n", group, err);
    ex = rc == 0 ? CLI_EXIT_OK : rc == STAFF_REJECTED ? CLI_EXIT_INPUT : rc == STAFF_NOT_FOUND ? 4 : CLI_EXIT_RUNTIME;
    staff_result_free(res);
    staff_close(st);
    store_close(store);
out_files:
    for (size_t i = 0; i < nup; i++)
        free((void *)up[i].data);
    return ex;
}
