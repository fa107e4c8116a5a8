/* cmd_privacy.c - `binday purge` (apply retention now) and `binday user
 * export|forget` (the resident's rights of access and erasure). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "binday/data/lookup.h"
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
    fprintf(out, "usage: binday user export --data DIR --user-id ID [--format json|text]\n"
                 "       binday user forget --data DIR --user-id ID\n"
                 "  export: everything stored about one Alexa user id, decrypted: as JSON, or (text) as a\n"
                 "          letter the council can send for a subject access request\n"
                 "  forget: delete everything stored about one Alexa user id (unrecoverably)\n");
}

/* The remembered UPRNs with their address as text (the store's address
 * data; a UPRN no longer in it says so). */
static void add_addresses(store_t *s, json_t *doc)
{
    json_t *list = json_object_get(doc, "address_choices"), *c;
    size_t i;
    if (!json_is_array(list))
        return;
    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = malloc(sizeof(*res));
    char err[300];
    json_array_foreach(list, i, c)
    {
        const char *u = json_string_value(json_object_get(c, "uprn"));
        const char *text = "(no longer in the address data)";
        if (u && r && res && lookup_uprn(r, strtoull(u, NULL, 10), date_today_london(), 1, res, err, sizeof(err)) == 0 &&
            res->match != AM_NONE && res->address.p)
            json_object_set_new(c, "address", json_stringn(res->address.p, res->address.n));
        else
            json_object_set_new(c, "address", json_string(text));
    }
    free(res);
    store_reader_free(r);
}

static const char *str(json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : dflt;
}

/* The export as a letter for a subject access request: plain text, every
 * section present (saying "nothing" when nothing is held). */
static void print_letter(json_t *doc)
{
    char now[40];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    privacy_iso_time((int64_t)ts.tv_sec * 1000, now, sizeof(now));
    json_t *a = json_object_get(doc, "address_choices"), *tr = json_object_get(doc, "transcripts");
    json_t *em = json_object_get(doc, "email"), *ev = json_object_get(doc, "skill_events"), *x;
    size_t i;
    printf("Your bin collection skill for Alexa: the information we hold about you\n"
           "====================================================================\n\n"
           "Prepared: %s (times below are UTC, ISO 8601)\n"
           "Your Amazon account reference: %s\n"
           "Our reference for you (a pseudonym; we do not hold your name): %s\n\n",
           now, str(doc, "user_id", "?"), str(doc, "pseudonymous_id", "?"));
    printf("1. Your remembered address\n");
    if (json_array_size(a) == 0)
        printf("   We hold no remembered address for you.\n");
    json_array_foreach(a, i, x)
    {
        printf("   %s (property reference, UPRN: %s)\n", str(x, "address", "?"), str(x, "uprn", "?"));
    }
    printf("   We keep it until you disable the skill or withdraw permission for your address.\n\n");
    json_t *q = json_object_get(em, "queued"), *cr = json_object_get(em, "case_records"),
           *cn = json_object_get(em, "counters");
    printf("2. Emails waiting to be sent\n");
    if (json_array_size(q) == 0)
        printf("   None.\n");
    json_array_foreach(q, i, x)
    {
        printf("   - to %s, requested %s, %lld attempt(s) so far\n", str(x, "to", "?"), str(x, "queued_at", "?"),
               (long long)json_integer_value(json_object_get(x, "attempts")));
    }
    printf("   We keep your email address only until the message has been handed to our mail server.\n\n");
    printf("3. Emails you asked for (case records, kept six years)\n");
    if (json_array_size(cr) == 0)
        printf("   None.\n");
    json_array_foreach(cr, i, x)
    {
        printf("   - requested %s: %s, status %s (last change %s)\n", str(x, "queued_at", "?"),
               str(x, "kind", "?"), str(x, "status", "?"), str(x, "updated_at", "?"));
        json_t *l = json_object_get(x, "links");
        const char *k;
        json_t *v;
        json_object_foreach(l, k, v)
        {
            printf("       %s link: %s\n", k, json_string_value(v) ? json_string_value(v) : "");
        }
    }
    printf("\n4. Records of your conversations with the skill (kept six months)\n");
    if (json_array_size(tr) == 0)
        printf("   None.\n");
    json_array_foreach(tr, i, x)
    {
        printf("   - %s %s%s%s\n", str(x, "time", "?"), str(x, "request_type", ""),
               json_is_string(json_object_get(x, "intent")) ? " " : "", str(x, "intent", ""));
        json_t *sl = json_object_get(x, "slots");
        const char *k;
        json_t *v;
        json_object_foreach(sl, k, v)
        {
            printf("       you said (%s): %s\n", k, json_string_value(v) ? json_string_value(v) : "");
        }
        if (str(x, "said", NULL))
            printf("       the skill said: %s\n", str(x, "said", ""));
    }
    printf("\n5. Counters\n");
    if (json_array_size(cn) == 0)
        printf("   None.\n");
    json_array_foreach(cn, i, x)
    {
        printf("   - emails sent to you on %s: %lld (we send at most a few a day)\n", str(x, "day", "?"),
               (long long)json_integer_value(json_object_get(x, "count")));
    }
    printf("\n6. Your skill settings as Amazon last told us\n");
    if (ev == NULL)
        printf("   Nothing held.\n");
    else {
        json_t *perms = json_object_get(ev, "permissions");
        printf("   Last change: %s; skill %s; permissions granted: ", str(ev, "last_event_at", "?"),
               json_is_true(json_object_get(ev, "disabled")) ? "disabled" : "enabled");
        if (json_array_size(perms) == 0)
            printf("none");
        json_array_foreach(perms, i, x)
        {
            printf("%s%s", i ? ", " : "", json_string_value(x) ? json_string_value(x) : "");
        }
        printf("\n");
    }
    const char *k;
    json_object_foreach(doc, k, x)
    {
        if (!strcmp(k, "user_id") || !strcmp(k, "pseudonymous_id") || !strcmp(k, "address_choices") ||
            !strcmp(k, "transcripts") || !strcmp(k, "email") || !strcmp(k, "skill_events"))
            continue;
        char *t = json_dumps(x, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\nOther records (%s)\n%s\n", k, t ? t : "");
        free(t);
    }
    printf("\nYou can ask us to delete all of this at any time, or disable the skill in the Alexa app,\n"
           "which deletes it too (case records are then kept for six years without anything that\n"
           "identifies you or your property).\n");
}

int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"user-id", required_argument, NULL, 'u'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "json";
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
        case 'f': format = optarg; break;
        case 'h': user_usage(stdout); return CLI_EXIT_OK;
        default: user_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || user == NULL || !user[0] || optind != argc - 1) {
        fprintf(stderr, "binday user %s: --data and --user-id are required\n", action);
        user_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(format, "json") != 0 && strcmp(format, "text") != 0) {
        fprintf(stderr, "binday user %s: --format: want json or text\n", action);
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
            add_addresses(o.store, doc);
            if (!strcmp(format, "text")) {
                print_letter(doc);
            } else {
                json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                fputc('\n', stdout);
            }
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
