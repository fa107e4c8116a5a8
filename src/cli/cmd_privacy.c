/* cmd_privacy.c - `binday purge` (apply retention now) and `binday user
 * export|forget` (the resident's rights of access and erasure). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "binday/util/date.h"
#include "binday/privacy/privacy.h"
#include "binday/util/secret.h"
#include "binday/data/store.h"

struct opened {
    store_t *store;
    privacy_t *privacy;
};

/* Retention from a serve config file's keys (other keys are not checked here;
 * `binday serve --config` validates the whole file). */
static int retention_from(const char *config, privacy_retention_t *ret, const char *cmd)
{
    if (config == NULL)
        return 0;
    json_error_t je;
    json_t *doc = json_load_file(config, 0, &je);
    if (!json_is_object(doc)) {
        fprintf(stderr, "binday %s: --config %s: %s\n", cmd, config, doc ? "not a JSON object" : je.text);
        json_decref(doc);
        return -1;
    }
    const char *keys[2] = {"retention_transcripts_days", "retention_case_records_days"};
    int *dst[2] = {&ret->transcripts_days, &ret->case_records_days};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(doc, keys[i]);
        if (v == NULL)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 36500) {
            fprintf(stderr, "binday %s: --config %s: %s: want an integer 1..36500\n", cmd, config, keys[i]);
            json_decref(doc);
            return -1;
        }
        *dst[i] = (int)json_integer_value(v);
    }
    json_decref(doc);
    return 0;
}

static int open_all(const char *data, const privacy_retention_t *ret, struct opened *o, const char *cmd)
{
    char err[600];
    size_t n;
    const store_dbi_def_t *defs = privacy_dbi_defs(&n);
    secret_key_t key;
    memset(o, 0, sizeof(*o));
    if (store_open(data, defs, n, &o->store, err, sizeof(err)) != 0 ||
        privacy_load_user_key(o->store, data, &key, err, sizeof(err)) != 0 ||
        privacy_open(o->store, data, &key, ret, &o->privacy, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday %s: %s\n", cmd, err);
        if (o->store)
            store_close(o->store);
        memset(&key, 0, sizeof(key));
        return -1;
    }
    memset(&key, 0, sizeof(key));
    return 0;
}

static void close_all(struct opened *o)
{
    privacy_close(o->privacy);
    store_close(o->store);
}

static void purge_usage(FILE *out)
{
    fprintf(out, "usage: binday purge --data DIR [--as-of YYYY-MM-DD] [--config FILE]\n"
                 "  Apply the retention periods now: delete (and make unrecoverable) transcripts and\n"
                 "  case records older than their period as of the date (default: today, Europe/London).\n"
                 "  Periods: retention_transcripts_days / retention_case_records_days from --config\n"
                 "  (the serve configuration file); defaults six months and six years.\n");
}

int cmd_purge(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *as_of = NULL, *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'a': as_of = optarg; break;
        case 'c': config = optarg; break;
        case 'h': purge_usage(stdout); return CLI_EXIT_OK;
        default: purge_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    int day = date_today_london();
    if (data == NULL || optind != argc || (as_of && date_parse(as_of, strlen(as_of), &day) != 0)) {
        fprintf(stderr, "binday purge: %s\n", data == NULL ? "--data is required" : "--as-of: want YYYY-MM-DD");
        purge_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    privacy_retention_t ret = {0, 0};
    if (retention_from(config, &ret, "purge") != 0)
        return CLI_EXIT_USAGE;
    struct opened o;
    if (open_all(data, &ret, &o, "purge") != 0)
        return CLI_EXIT_RUNTIME;
    char err[600];
    privacy_purge_stats_t st = {0};
    int rc = privacy_purge(o.privacy, day, &st, err, sizeof(err));
    close_all(&o);
    if (rc != 0) {
        fprintf(stderr, "binday purge: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    char d[11];
    printf("{\"as_of\":\"%s\",\"erased\":%zu}\n", date_format(day, d), st.erased);
    return CLI_EXIT_OK;
}

static void user_usage(FILE *out)
{
    fprintf(out, "usage: binday user export --data DIR --user-id ID\n"
                 "       binday user forget --data DIR --user-id ID\n"
                 "  export: print everything stored about one Alexa user id, as JSON\n"
                 "  forget: delete everything stored about one Alexa user id (unrecoverably)\n");
}

int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"user-id", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        user_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || (strcmp(argv[1], "export") != 0 && strcmp(argv[1], "forget") != 0)) {
        user_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *action = argv[1], *data = NULL, *user = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'u': user = optarg; break;
        case 'h': user_usage(stdout); return CLI_EXIT_OK;
        default: user_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || user == NULL || !user[0] || optind != argc - 1) {
        fprintf(stderr, "binday user %s: --data and --user-id are required\n", action);
        user_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    struct opened o;
    if (open_all(data, NULL, &o, "user") != 0)
        return CLI_EXIT_RUNTIME;
    char err[600];
    int rc = CLI_EXIT_OK;
    if (!strcmp(action, "export")) {
        json_t *doc = privacy_export(o.privacy, user, err, sizeof(err));
        if (doc == NULL) {
            fprintf(stderr, "binday user export: %s\n", err);
            rc = CLI_EXIT_RUNTIME;
        } else {
            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
            fputc('\n', stdout);
            json_decref(doc);
        }
    } else {
        size_t n = 0;
        if (privacy_forget(o.privacy, user, &n, err, sizeof(err)) != 0) {
            fprintf(stderr, "binday user forget: %s\n", err);
            rc = CLI_EXIT_RUNTIME;
        } else {
            printf("{\"erased\":%zu}\n", n);
        }
    }
    close_all(&o);
    return rc;
}
