/* cmd_staff.c - `binday staff`: the staff console's accounts, audit log and
 * edits from the command line (the same library calls the web console
 * makes, so the two cannot drift; docs/staff-console.md). Runs as the Unix
 * user who owns the data directory, who acts as an admin named
 * "cli:UNIXUSER" in the audit log. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "binday/privacy/privacy.h"
#include "binday/staff/account.h"
#include "binday/staff/audit.h"
#include "binday/staff/edit.h"
#include "binday/staff/view.h"
#include "binday/util/date.h"
#include "cli.h"
#include "cmd_staff_edit.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: binday staff SUBCOMMAND --data DIR [OPTIONS]\n"
            "\n"
            "Staff console accounts, audit log and edits (docs/staff-console.md).\n"
            "\n"
            "  add --user NAME --role viewer|editor|admin [--random-password] [--if-no-accounts]\n"
            "        create an account; the password is read from standard input (one line;\n"
            "        asked twice without echo on a terminal). --random-password makes one and\n"
            "        prints it once on standard output instead; --if-no-accounts does nothing\n"
            "        (exit 0) when any account exists (`make run`'s first-run demo admin)\n"
            "  passwd --user NAME          set a new password (read as for add)\n"
            "  disable --user NAME         the account can no longer sign in\n"
            "  enable --user NAME          undo disable\n"
            "  role --user NAME --role R   change an account's role\n"
            "  list [--json]               accounts, roles and state\n"
            "  audit [--since YYYY-MM-DD] [--format json|csv]\n"
            "                              print the audit log (oldest first)\n"
            "  search --query TEXT         properties by UPRN, postcode or address words\n"
            "  property --uprn N [--today YYYY-MM-DD] [--public-url URL]\n"
            "                              its collections 4 weeks back to 12 ahead (moved and\n"
            "                              cancelled marked), notices, calendar-feed link\n"
            "  exception move|cancel|add|revert, notice publish|expire, holidays, upload\n"
            "                              edits, as in the console: `binday staff edit --help`\n"
            "\n"
            "Exit: 0 ok, 1 runtime failure, 2 usage, 3 rejected (name, password, input),\n"
            "4 no such account, 6 account exists.\n");
}

/* "cli:" + the Unix user, restricted to the account-name alphabet. */
void staff_cli_actor(char *out, size_t n)
{
    const char *u = NULL;
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name)
        u = pw->pw_name;
    if (u == NULL)
        u = "unknown";
    size_t o = (size_t)snprintf(out, n, "cli:");
    for (const char *p = u; *p && o + 1 < n && o < 4 + STAFF_USER_MAX; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[o++] = staff_user_valid(&c, 1) ? c : '_';
    }
    out[o] = '\0';
}

int staff_cli_open(const char *data, store_t **store, staff_t **st, const char *cmd)
{
    char err[600];
    size_t n;
    const store_dbi_def_t *defs = privacy_dbi_defs(&n);
    *store = NULL;
    *st = NULL;
    staff_options_t o = {data, NULL, NULL};
    if (store_open(data, defs, n, store, err, sizeof(err)) != 0 || staff_open(*store, &o, st, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday staff %s: %s\n", cmd, err);
        if (*store)
            store_close(*store);
        *store = NULL;
        return -1;
    }
    return 0;
}

/* One line from stdin without its line end; on a terminal without echo and
 * with a prompt on stderr. -1 on EOF/error. */
static int read_line(char *buf, size_t n, const char *prompt)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        /* echo off before the prompt: whoever answers the prompt is never
         * echoed, and TCSANOW discards nothing typed ahead */
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
    }
    char *r = fgets(buf, (int)n, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (r == NULL)
        return -1;
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '\n')
        buf[--l] = '\0';
    else if (l == n - 1)
        return -2; /* longer than the buffer */
    if (l && buf[l - 1] == '\r')
        buf[--l] = '\0';
    return 0;
}

static int read_password(char *pw, size_t n, const char *cmd)
{
    int rc = read_line(pw, n, "Password: ");
    if (rc == -2) {
        fprintf(stderr, "binday staff %s: the password is longer than %d bytes\n", cmd, STAFF_PASSWORD_MAX);
        return CLI_EXIT_INPUT;
    }
    if (rc) {
        fprintf(stderr, "binday staff %s: no password on standard input\n", cmd);
        return CLI_EXIT_INPUT;
    }
    if (isatty(STDIN_FILENO)) {
        char again[STAFF_PASSWORD_MAX + 2];
        if (read_line(again, sizeof(again), "Password again: ") != 0 || strcmp(again, pw) != 0) {
            memset(again, 0, sizeof(again));
            fprintf(stderr, "binday staff %s: the passwords differ\n", cmd);
            return CLI_EXIT_INPUT;
        }
        memset(again, 0, sizeof(again));
    }
    return 0;
}

static int exit_of(int rc)
{
    switch (rc) {
    case 0: return CLI_EXIT_OK;
    case STAFF_REJECTED: return CLI_EXIT_INPUT;
    case STAFF_NOT_FOUND: return 4;
    case STAFF_EXISTS: return 6;
    case STAFF_FORBIDDEN: return CLI_EXIT_INPUT;
    default: return CLI_EXIT_RUNTIME;
    }
}

typedef struct audit_print {
    int n;
} audit_print_t;

static int cmd_audit(const char *data, const char *since_s, const char *fmt_s)
{
    int64_t since = 0;
    if (since_s) {
        int d;
        if (date_parse(since_s, strlen(since_s), &d) != 0) {
            fprintf(stderr, "binday staff audit: --since: want YYYY-MM-DD\n");
            return CLI_EXIT_USAGE;
        }
        since = (int64_t)d * 86400; /* UTC midnight of that day */
    }
    staff_audit_format_t fmt = STAFF_AUDIT_JSON;
    if (fmt_s && strcmp(fmt_s, "csv") == 0)
        fmt = STAFF_AUDIT_CSV;
    else if (fmt_s && strcmp(fmt_s, "json") != 0) {
        fprintf(stderr, "binday staff audit: --format: json or csv\n");
        return CLI_EXIT_USAGE;
    }
    store_t *store;
    staff_t *st;
    if (staff_cli_open(data, &store, &st, "audit"))
        return CLI_EXIT_RUNTIME;
    char err[400], *out = NULL;
    size_t len = 0;
    int rc = staff_audit_export(st, since, fmt, &out, &len, err, sizeof(err));
    if (rc == 0)
        fwrite(out, 1, len, stdout);
    else
        fprintf(stderr, "binday staff audit: %s\n", err);
    free(out);
    staff_close(st);
    store_close(store);
    return rc ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

static int cmd_list(const char *data, int json)
{
    store_t *store;
    staff_t *st;
    if (staff_cli_open(data, &store, &st, "list"))
        return CLI_EXIT_RUNTIME;
    char err[400];
    staff_account_t *a = NULL;
    size_t n = 0;
    int rc = staff_account_list(st, &a, &n, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "binday staff list: %s\n", err);
    } else if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:I,s:I,s:s}", "user", a[i].user, "role",
                                                 staff_role_name(a[i].role), "disabled", a[i].disabled,
                                                 "created", (json_int_t)a[i].created, "changed",
                                                 (json_int_t)a[i].changed, "created_by", a[i].created_by));
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-7s %s\n", a[i].user, staff_role_name(a[i].role), a[i].disabled ? "disabled" : "active");
    }
    free(a);
    staff_close(st);
    store_close(store);
    return rc ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

static int cmd_search(const char *data, const char *q)
{
    store_t *store;
    staff_t *st;
    if (staff_cli_open(data, &store, &st, "search"))
        return CLI_EXIT_RUNTIME;
    char err[400];
    staff_view_t *v = staff_view_new(st);
    staff_search_t *r = malloc(sizeof(*r));
    int rc = v && r ? staff_search(v, q, strlen(q), r, err, sizeof(err)) : STAFF_ERROR;
    if (rc == 0) {
        for (size_t i = 0; i < r->n_hits; i++)
            printf("%llu  %s\n", (unsigned long long)r->hits[i].uprn, r->hits[i].address);
        if (r->truncated)
            printf("(more than %d: narrow the search)\n", STAFF_SEARCH_MAX);
    } else {
        fprintf(stderr, "binday staff search: %s\n", err);
    }
    free(r);
    staff_view_free(v);
    staff_close(st);
    store_close(store);
    return rc == 0 ? CLI_EXIT_OK : rc == STAFF_REJECTED ? CLI_EXIT_INPUT : CLI_EXIT_RUNTIME;
}

static int cmd_property(const char *data, const char *uprn_s, const char *today_s, const char *url)
{
    char *end;
    unsigned long long uprn = uprn_s ? strtoull(uprn_s, &end, 10) : 0;
    if (uprn_s == NULL || *end || uprn == 0 || strlen(uprn_s) > 12) {
        fprintf(stderr, "binday staff property: --uprn: 1-12 digits\n");
        return CLI_EXIT_USAGE;
    }
    int today = date_today_london();
    if (today_s && date_parse(today_s, strlen(today_s), &today) != 0) {
        fprintf(stderr, "binday staff property: --today: want YYYY-MM-DD\n");
        return CLI_EXIT_USAGE;
    }
    char err[600];
    size_t n;
    const store_dbi_def_t *defs = privacy_dbi_defs(&n);
    store_t *store = NULL;
    staff_t *st = NULL;
    staff_options_t o = {data, url, NULL};
    if (store_open(data, defs, n, &store, err, sizeof(err)) != 0 || staff_open(store, &o, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday staff property: %s\n", err);
        store_close(store);
        return url ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    staff_view_t *v = staff_view_new(st);
    staff_property_t *p = malloc(sizeof(*p));
    int rc = v && p ? staff_property_get(v, uprn, today, p, err, sizeof(err)) : STAFF_ERROR;
    if (rc == 0) {
        printf("property: %s (UPRN %llu)\n", p->address, uprn);
        for (size_t i = 0; i < p->n_collections; i++) {
            const staff_collection_t *c = &p->collections[i];
            char d[40], o2[11], line[1400];
            date_long(c->date, d, sizeof(d));
            int k = snprintf(line, sizeof(line), "  %-28s %-22s", d, c->service_name);
            if (c->cancelled)
                k += snprintf(line + k, sizeof(line) - (size_t)k, " CANCELLED");
            else if (c->moved)
                k += snprintf(line + k, sizeof(line) - (size_t)k, " moved from %s", date_format(c->original, o2));
            else if (c->added)
                k += snprintf(line + k, sizeof(line) - (size_t)k, " extra collection");
            if (c->reason[0] && (size_t)k < sizeof(line))
                snprintf(line + k, sizeof(line) - (size_t)k, ": %s", c->reason);
            size_t l = strlen(line);
            while (l && line[l - 1] == ' ')
                line[--l] = '\0';
            printf("%s\n", line);
        }
        for (size_t i = 0; i < p->n_notices; i++)
            printf("notice %s (%s)%s: %s\n", p->notices[i].notice_id, p->notices[i].scope,
                   p->notices[i].in_force ? "" : " not in force today", p->notices[i].message);
        printf("calendar feed: %s\n", p->feed_url[0] ? p->feed_url : p->feed_path);
    } else {
        fprintf(stderr, "binday staff property: %s\n", err);
    }
    free(p);
    staff_view_free(v);
    staff_close(st);
    store_close(store);
    return rc == 0 ? CLI_EXIT_OK : rc == STAFF_NOT_FOUND ? CLI_EXIT_INPUT : CLI_EXIT_RUNTIME;
}

int cmd_staff(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "exception") == 0 || strcmp(sub, "notice") == 0 || strcmp(sub, "holidays") == 0 ||
        strcmp(sub, "upload") == 0 || strcmp(sub, "edit") == 0)
        return staff_cli_edit(argc - 1, argv + 1);
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"random-password", no_argument, NULL, 'R'},
                                         {"if-no-accounts", no_argument, NULL, 'N'},
                                         {"since", required_argument, NULL, 's'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"query", required_argument, NULL, 'q'},
                                         {"uprn", required_argument, NULL, 'U'},
                                         {"today", required_argument, NULL, 'T'},
                                         {"public-url", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *user = NULL, *role_s = NULL, *since = NULL, *fmt = NULL, *query = NULL;
    const char *uprn_s = NULL, *today_s = NULL, *url = NULL;
    int random_pw = 0, if_none = 0, json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'u': user = optarg; break;
        case 'r': role_s = optarg; break;
        case 'R': random_pw = 1; break;
        case 'N': if_none = 1; break;
        case 's': since = optarg; break;
        case 'f': fmt = optarg; break;
        case 'j': json = 1; break;
        case 'q': query = optarg; break;
        case 'U': uprn_s = optarg; break;
        case 'T': today_s = optarg; break;
        case 'P': url = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || optind != argc - 1) {
        fprintf(stderr, "binday staff %s: --data is required (and no extra arguments)\n", sub);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "audit") == 0)
        return cmd_audit(data, since, fmt);
    if (strcmp(sub, "list") == 0)
        return cmd_list(data, json);
    if (strcmp(sub, "search") == 0) {
        if (query == NULL) {
            fprintf(stderr, "binday staff search: --query is required\n");
            return CLI_EXIT_USAGE;
        }
        return cmd_search(data, query);
    }
    if (strcmp(sub, "property") == 0)
        return cmd_property(data, uprn_s, today_s, url);
    int is_add = strcmp(sub, "add") == 0, is_pw = strcmp(sub, "passwd") == 0;
    int is_dis = strcmp(sub, "disable") == 0, is_en = strcmp(sub, "enable") == 0, is_role = strcmp(sub, "role") == 0;
    if (!(is_add || is_pw || is_dis || is_en || is_role)) {
        fprintf(stderr, "binday staff: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (user == NULL) {
        fprintf(stderr, "binday staff %s: --user is required\n", sub);
        return CLI_EXIT_USAGE;
    }
    staff_role_t role = STAFF_ROLE_NONE;
    if ((is_add || is_role) && (role_s == NULL || staff_role_parse(role_s, strlen(role_s), &role) != 0)) {
        fprintf(stderr, "binday staff %s: --role viewer|editor|admin is required\n", sub);
        return CLI_EXIT_USAGE;
    }
    store_t *store;
    staff_t *st;
    if (staff_cli_open(data, &store, &st, sub))
        return CLI_EXIT_RUNTIME;
    char actor_name[80], err[400];
    staff_cli_actor(actor_name, sizeof(actor_name));
    staff_actor_t actor = {actor_name, STAFF_ROLE_ADMIN};
    int rc = 0, ex = CLI_EXIT_OK;
    char pw[STAFF_PASSWORD_MAX + 2];
    pw[0] = '\0';
    if (is_add && if_none) {
        size_t n = 0;
        if (staff_account_count(st, &n, err, sizeof(err)) != 0) {
            fprintf(stderr, "binday staff add: %s\n", err);
            ex = CLI_EXIT_RUNTIME;
            goto out;
        }
        if (n > 0)
            goto out; /* not the first run */
    }
    if (is_add || is_pw) {
        if (random_pw)
            rc = staff_password_random(pw, err, sizeof(err)) ? STAFF_ERROR : 0;
        else if ((ex = read_password(pw, sizeof(pw), sub)) != 0)
            goto out;
        if (rc == 0)
            rc = is_add ? staff_account_add(st, &actor, user, role, pw, strlen(pw), err, sizeof(err))
                        : staff_account_passwd(st, &actor, user, pw, strlen(pw), err, sizeof(err));
        if (rc == 0 && random_pw) {
            fprintf(stderr, "binday staff %s: the password of %s (shown once, not stored anywhere):\n", sub, user);
            printf("%s\n", pw);
        }
    } else if (is_dis || is_en) {
        rc = staff_account_set_disabled(st, &actor, user, is_dis, err, sizeof(err));
    } else {
        rc = staff_account_set_role(st, &actor, user, role, err, sizeof(err));
    }
    if (rc)
        fprintf(stderr, "binday staff %s: %s\n", sub, err);
    ex = exit_of(rc);
out:
    memset(pw, 0, sizeof(pw));
    staff_close(st);
    store_close(store);
    return ex;
}
