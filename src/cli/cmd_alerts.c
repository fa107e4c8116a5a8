/* cmd_alerts.c - `binday alerts send` (send what is due at a moment, for
 * operators and tests; `serve` sends on its own schedule) and `binday alerts
 * preview` (what would be sent for a day, as counts only). docs/alerts.md. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "binday/alerts/alerts.h"
#include "binday/data/store.h"
#include "binday/privacy/privacy.h"
#include "binday/util/date.h"
#include "binday/util/secret.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: binday alerts send --data DIR --as-of YYYY-MM-DDTHH:MM --config FILE\n"
            "       binday alerts preview --data DIR --date YYYY-MM-DD [--config FILE]\n"
            "  send:    send the evening-before alerts due at that Europe/London time (from\n"
            "           alerts_time, default 18:00, until midnight: the next day's collections);\n"
            "           alerts already sent are not sent again\n"
            "  preview: what would be sent for the collections of that date, as counts only\n"
            "  --config: the serve configuration file (alerts_* keys, upstream_ca, connect_to)\n"
            "  Prints one JSON object of counts; no personal data.\n");
}

static void print_stats(const alerts_stats_t *st, const char *mode)
{
    char d[11] = "";
    if (st->day)
        date_format(st->day, d);
    json_t *types = json_object();
    for (int i = 0; i < ALERTEV_N_GARBAGE; i++)
        if (st->by_type[i])
            json_object_set_new(types, alertev_garbage_name(i), json_integer((json_int_t)st->by_type[i]));
    json_t *o = json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I,s:o}", "mode", mode, "collection_day", st->day ? d : NULL,
                          "subscribers", (json_int_t)st->subscribers, "due", (json_int_t)st->due, "unmapped",
                          (json_int_t)st->unmapped, "already_sent", (json_int_t)st->already, "garbage_types", types);
    if (strcmp(mode, "send") == 0) {
        json_object_set_new(o, "sent", json_integer((json_int_t)st->sent));
        json_object_set_new(o, "duplicate", json_integer((json_int_t)st->duplicate));
        json_object_set_new(o, "dropped", json_integer((json_int_t)st->dropped));
        json_object_set_new(o, "failed", json_integer((json_int_t)st->failed));
        json_object_set_new(o, "pending", json_integer((json_int_t)st->pending));
        json_object_set_new(o, "retries", json_integer((json_int_t)st->retries));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (s) {
        printf("%s\n", s);
        free(s);
    }
}

int cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"date", required_argument, NULL, 't'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "preview") != 0)) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    int send = strcmp(argv[1], "send") == 0;
    const char *data = NULL, *as_of = NULL, *date = NULL, *config = NULL;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'a': as_of = optarg; break;
        case 't': date = optarg; break;
        case 'c': config = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    time_t now = 0;
    int day = 0;
    const char *bad = NULL;
    if (data == NULL)
        bad = "--data is required";
    else if (optind != argc)
        bad = "unexpected argument";
    else if (send && (as_of == NULL || alertev_parse_as_of(as_of, strlen(as_of), &now) != 0))
        bad = "--as-of: want YYYY-MM-DDTHH:MM (Europe/London)";
    else if (!send && (date == NULL || date_parse(date, strlen(date), &day) != 0))
        bad = "--date: want YYYY-MM-DD";
    else if (send && config == NULL)
        bad = "--config is required (alerts_client_id, alerts_client_secret_file)";
    if (bad) {
        fprintf(stderr, "binday alerts %s: %s\n", argv[1], bad);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    json_t *doc = NULL;
    if (config) {
        json_error_t je;
        doc = json_load_file(config, 0, &je);
        if (!json_is_object(doc)) {
            fprintf(stderr, "binday alerts: --config %s: %s\n", config, doc ? "not a JSON object" : je.text);
            json_decref(doc);
            return CLI_EXIT_USAGE;
        }
    }
    char err[600];
    alerts_conf_t ac;
    if (alerts_conf_from_json(doc, &ac, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday alerts: --config %s: %s\n", config ? config : "(none)", err);
        json_decref(doc);
        return CLI_EXIT_USAGE;
    }
    if (send && ac.client_id == NULL) {
        fprintf(stderr, "binday alerts send: --config %s has no alerts_client_id: alerts are off\n", config);
        json_decref(doc);
        return CLI_EXIT_USAGE;
    }
    struct curl_slist *connect_to = NULL;
    json_t *ct = json_object_get(doc, "connect_to");
    size_t i;
    json_t *v;
    json_array_foreach(ct, i, v)
    {
        if (json_is_string(v))
            connect_to = curl_slist_append(connect_to, json_string_value(v));
    }
    ac.connect_to = connect_to;
    ac.ca_file = json_string_value(json_object_get(doc, "upstream_ca"));

    int exit_code = CLI_EXIT_RUNTIME;
    store_t *store = NULL;
    privacy_t *p = NULL;
    secret_key_t key;
    size_t n;
    const store_dbi_def_t *defs = privacy_dbi_defs(&n);
    if (store_open(data, defs, n, &store, err, sizeof(err)) != 0 ||
        secret_load_or_create(data, "pseudonym.key", &key, err, sizeof(err)) != 0 ||
        privacy_open(store, data, &key, NULL, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday alerts: %s\n", err);
        goto out;
    }
    ac.ref_key = &key;
    alerts_stats_t st;
    if (!send) {
        if (alerts_preview(p, &ac, day, &st, err, sizeof(err)) != 0) {
            fprintf(stderr, "binday alerts preview: %s\n", err);
            goto out;
        }
        print_stats(&st, "preview");
        exit_code = CLI_EXIT_OK;
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    alerts_t *a = alerts_new(p, &ac);
    int rc = alerts_send_due(a, now, &st, err, sizeof(err));
    alerts_free(a);
    curl_global_cleanup();
    print_stats(&st, "send");
    if (rc != 0)
        fprintf(stderr, "binday alerts send: %s\n", err);
    else
        exit_code = CLI_EXIT_OK;
out:
    memset(&key, 0, sizeof(key));
    privacy_close(p);
    if (store)
        store_close(store);
    curl_slist_free_all(connect_to);
    json_decref(doc);
    return exit_code;
}
