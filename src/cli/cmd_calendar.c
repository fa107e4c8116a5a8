/* cmd_calendar.c - `binday calendar-link`: the feed links of one property,
 * for staff to hand to a resident who asks by phone or at the desk. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/keyfile.h"
#include "binday/feed/calfeed.h"
#include "cli.h"
#include "binday/data/lookup.h"
#include "binday/util/secret.h"
#include "binday/data/store.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: binday calendar-link --data DIR --uprn N [--public-url URL] [--json]\n"
                 "\n"
                 "Print the personal calendar feed links of one property: https, webcal://,\n"
                 "Google and Outlook subscribe links. The token comes from DIR/calendar.key\n"
                 "(created on first use; the same key must be used by `binday serve`).\n"
                 "\n"
                 "  --data DIR        LMDB environment directory\n"
                 "  --uprn N          the property (1-12 digits)\n"
                 "  --public-url URL  https base the server is reached at, e.g.\n"
                 "                    https://bins.example.gov.uk (without it only the token\n"
                 "                    and the path are printed)\n"
                 "  --json            one JSON object instead of lines\n"
                 "\n"
                 "Exit: 0 ok, 1 runtime failure, 2 usage, 3 no such property.\n");
}

int cmd_calendar_link(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"uprn", required_argument, NULL, 'u'},
                                         {"public-url", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *uprn_s = NULL, *url = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'u': uprn_s = optarg; break;
        case 'p': url = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || uprn_s == NULL || optind != argc) {
        fprintf(stderr, "binday calendar-link: --data and --uprn are required\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char *end;
    unsigned long long uprn = strtoull(uprn_s, &end, 10);
    if (*end || uprn == 0 || strlen(uprn_s) > 12 || uprn_s[0] < '0' || uprn_s[0] > '9') {
        fprintf(stderr, "binday calendar-link: --uprn: 1-12 digits\n");
        return CLI_EXIT_USAGE;
    }
    calfeed_links_t links;
    if (url && calfeed_links(url, "x", &links) != 0) {
        fprintf(stderr, "binday calendar-link: --public-url: want https://HOST[:PORT][/PATH]\n");
        return CLI_EXIT_USAGE;
    }
    char err[400];
    store_t *st = NULL;
    if (store_open(data, NULL, 0, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday calendar-link: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    int rc = CLI_EXIT_RUNTIME;
    secret_key_t key;
    store_reader_t *r = store_reader_new(st);
    lookup_result_t *res = malloc(sizeof(*res));
    if (r == NULL || res == NULL) {
        fprintf(stderr, "binday calendar-link: out of memory\n");
        goto out;
    }
    if (store_keyfile(st, data, CALFEED_KEY_FILE, 1, &key, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday calendar-link: %s\n", err);
        goto out;
    }
    if (lookup_uprn(r, uprn, 0, 1, res, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday calendar-link: %s\n", err);
        goto out;
    }
    if (res->match == AM_NONE) {
        fprintf(stderr, "binday calendar-link: no property with UPRN %llu\n", uprn);
        rc = CLI_EXIT_INPUT;
        goto out;
    }
    char token[CALFEED_TOKEN_LEN + 1], path[64];
    calfeed_token_make(&key, uprn, token);
    snprintf(path, sizeof(path), "/calendar/%s.ics", token);
    if (url && calfeed_links(url, token, &links) != 0) {
        fprintf(stderr, "binday calendar-link: --public-url too long\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (json) {
        json_t *o = json_pack("{s:s,s:s%,s:s,s:s}", "uprn", uprn_s, "address", res->address.p ? res->address.p : "",
                              (size_t)res->address.n, "token", token, "path", path);
        if (o && url)
            json_object_update_new(o, json_pack("{s:s,s:s,s:s,s:s}", "https", links.https, "webcal", links.webcal,
                                                "google", links.google, "outlook", links.outlook));
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        json_decref(o);
        if (s == NULL) {
            fprintf(stderr, "binday calendar-link: out of memory\n");
            goto out;
        }
        printf("%s\n", s);
        free(s);
    } else {
        printf("address: %.*s\ntoken: %s\npath: %s\n", (int)res->address.n, res->address.p ? res->address.p : "",
               token, path);
        if (url)
            printf("https: %s\nwebcal: %s\ngoogle: %s\noutlook: %s\n", links.https, links.webcal, links.google,
                   links.outlook);
    }
    rc = CLI_EXIT_OK;
out:
    free(res);
    if (r)
        store_reader_free(r);
    store_close(st);
    return rc;
}
