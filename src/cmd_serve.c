/* cmd_serve.c - `binday serve`: wires configuration, the store, secrets,
 * request verification, the skill and the outbound client into the server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "binday/alexa_endpoint.h"
#include "binday/calfeed.h"
#include "binday/choice.h"
#include "binday/cli.h"
#include "binday/config.h"
#include "binday/date.h"
#include "binday/linkmail.h"
#include "binday/log.h"
#include "binday/lookup.h"
#include "binday/mailer.h"
#include "binday/mailmsg.h"
#include "binday/outbound.h"
#include "binday/outbox.h"
#include "binday/secret.h"
#include "binday/server.h"
#include "binday/skill.h"
#include "binday/store.h"
#include "binday/verify.h"

static skill_conf_t skill_conf;
static secret_key_t user_key;
static linkmail_conf_t mail_conf;

static int thread_init(server_thread_t *t, void *ud)
{
    (void)ud;
    alexa_endpoint_thread_t *at = calloc(1, sizeof(*at));
    if (at == NULL)
        return -1;
    at->conf = &skill_conf;
    at->verify = verify_thread_new(t->ob);
    at->skill = skill_thread_new(&skill_conf, t->ob);
    at->reader = store_reader_new(skill_conf.store);
    t->app = at;
    if (at->verify == NULL || at->skill == NULL || at->reader == NULL) {
        log_error("server.start", "thread=%d reason=\"per-thread state\"", t->index);
        return -1;
    }
    return 0;
}

static void thread_fini(server_thread_t *t, void *ud)
{
    (void)ud;
    calfeed_thread_cleanup();
    alexa_endpoint_thread_t *at = t->app;
    if (at == NULL)
        return;
    if (at->verify)
        verify_thread_free(at->verify);
    if (at->skill)
        skill_thread_free(at->skill);
    if (at->reader)
        store_reader_free(at->reader);
    free(at);
    t->app = NULL;
}

static void health(server_thread_t *t, json_t *o, void *ud)
{
    (void)ud;
    alexa_endpoint_thread_t *at = t->app;
    lookup_dataset_info_t info;
    char err[200];
    if (at == NULL || lookup_dataset_info(at->reader, &info, err, sizeof(err)) != 0) {
        json_object_set_new(o, "dataset", json_pack("{s:b}", "loaded", 0));
        return;
    }
    json_object_set_new(o, "dataset", json_pack("{s:b,s:I,s:I,s:I,s:I}", "loaded", info.generation > 0, "generation",
                                                (json_int_t)info.generation, "imported_at",
                                                (json_int_t)info.imported_at, "addresses", (json_int_t)info.addresses,
                                                "rounds", (json_int_t)info.rounds));
    if (mailer_enabled())
        json_object_set_new(o, "mail", json_pack("{s:I}", "queued", (json_int_t)outbox_pending(at->reader)));
}

static const server_route_t routes[] = {
    {"/alexa", 0, "POST", alexa_endpoint_handle},
    {"/calendar/", 1, "GET,HEAD", calfeed_handle},
};

int cmd_serve(int argc, char **argv)
{
    config_t conf;
    char err[600];
    int rc = config_parse_serve(argc, argv, &conf, err, sizeof(err));
    if (rc == -1)
        return CLI_EXIT_OK;
    if (rc != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    log_set_level(conf.log_level);
    int today = 0;
    if (conf.today && date_parse(conf.today, strlen(conf.today), &today) != 0) {
        fprintf(stderr, "binday serve: --today: want YYYY-MM-DD, got '%s'\n", conf.today);
        config_free(&conf);
        return CLI_EXIT_USAGE;
    }
    if (conf.dev)
        log_warn("server.dev_mode", "note=\"development mode: demo data and a self-signed certificate; "
                                    "verification is unchanged\"");
    if (conf.today)
        log_warn("server.fixed_today", "today=%s note=\"answers use a fixed date; for demos and tests only\"",
                 conf.today);

    int exit_code = CLI_EXIT_RUNTIME;
    store_t *store = NULL;
    int outbound_ok = 0, verify_ok = 0;
    store_dbi_def_t dbis[1 + OUTBOX_N_DBI];
    dbis[0] = choice_dbi_def;
    for (size_t i = 0; i < OUTBOX_N_DBI; i++)
        dbis[1 + i] = outbox_dbi_defs[i];
    if (store_open(conf.data, dbis, 1 + OUTBOX_N_DBI, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    if (secret_load_or_create(conf.data, "pseudonym.key", &user_key, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    if (calfeed_global_init(store, conf.data, today, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    outbound_global_conf_t oc = {conf.upstream_ca, conf.connect_to, conf.n_connect_to};
    if (outbound_global_init(&oc, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        exit_code = CLI_EXIT_USAGE;
        goto out;
    }
    outbound_ok = 1;
    verify_conf_t vc = {conf.alexa_ca, conf.skill_ids, conf.n_skill_ids};
    if (verify_global_init(&vc, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        exit_code = CLI_EXIT_USAGE;
        goto out;
    }
    verify_ok = 1;
    skill_conf.store = store;
    skill_conf.user_key = &user_key;
    skill_conf.fixed_today = today;
    calfeed_links_t probe;
    if (conf.smtp && (!mailmsg_addr_ok((const uint8_t *)conf.mail_from, strlen(conf.mail_from)) ||
                      calfeed_links(conf.public_url, "x", &probe) != 0)) {
        fprintf(stderr, "binday serve: mail_from must be a plain address and public_url https://HOST[/PATH]\n");
        exit_code = CLI_EXIT_USAGE;
        goto out;
    }
    if (conf.smtp) {
        /* email: queued by request threads, sent by the mailer thread */
        mail_conf.store = store;
        mail_conf.feed_key = calfeed_key();
        mail_conf.public_url = conf.public_url;
        mail_conf.from = conf.mail_from;
        mail_conf.limits.user_daily = conf.mail_user_daily_cap;
        mail_conf.limits.global_hourly = conf.mail_global_hourly_cap;
        mailer_conf_t mc = {conf.smtp,
                            conf.smtp_user,
                            conf.smtp_password_file,
                            conf.mail_from,
                            outbound_ca_file(),
                            outbound_connect_to_list(),
                            conf.mail_retry_base_ms,
                            conf.mail_max_attempts};
        if (mailer_start(store, &mc, err, sizeof(err)) != 0) {
            fprintf(stderr, "binday serve: %s\n", err);
            exit_code = CLI_EXIT_USAGE;
            goto out;
        }
        skill_conf.mail = &mail_conf;
    }
    server_hooks_t hooks = {thread_init, thread_fini, health, NULL};
    rc = server_run(&conf, routes, sizeof(routes) / sizeof(routes[0]), &hooks);
    exit_code = rc == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
out:
    mailer_stop();
    if (verify_ok)
        verify_global_cleanup();
    if (outbound_ok)
        outbound_global_cleanup();
    if (store)
        store_close(store);
    config_free(&conf);
    return exit_code;
}
