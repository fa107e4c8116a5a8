/* cmd_mail.c - `binday mail-log`: the case records of emailed links (who -
 * pseudonymously - asked, when, which links, and what became of it), for
 * staff answering "did you send it?" and for tests. Never shows an address. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "binday/mail/outbox.h"
#include "binday/data/store.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: binday mail-log --data DIR\n"
                 "\n"
                 "Print one JSON object per emailed link (case record): id, kind, user\n"
                 "(pseudonymous), queued_at, status (queued, sent, failed, gave_up),\n"
                 "attempts, updated_at, links, and smtp_code/error when there was one;\n"
                 "then {\"queued\": N}, the messages still waiting to be sent.\n");
}

static void print_one(const char *id, size_t id_len, const char *js, size_t len, void *ud)
{
    (void)ud;
    json_t *o = json_loadb(js, len, 0, NULL);
    if (o == NULL)
        return;
    json_object_set_new(o, "id", json_stringn(id, id_len));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

int cmd_mail_log(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *data = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || optind != argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char err[400];
    store_t *st = NULL;
    if (store_open(data, outbox_dbi_defs, OUTBOX_N_DBI, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday mail-log: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    int rc = CLI_EXIT_RUNTIME;
    store_reader_t *r = store_reader_new(st);
    if (r && outbox_log_each(r, print_one, NULL, err, sizeof(err)) == 0) {
        printf("{\"queued\":%ld}\n", outbox_pending(r));
        rc = CLI_EXIT_OK;
    } else {
        fprintf(stderr, "binday mail-log: %s\n", r ? err : "out of memory");
    }
    if (r)
        store_reader_free(r);
    store_close(st);
    return rc;
}
