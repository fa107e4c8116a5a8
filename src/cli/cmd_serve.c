/* cmd_serve.c - `binday serve`: wires configuration, the store, secrets,
 * request verification, the skill and the outbound client into the server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "binday/alerts/alerts.h"
#include "binday/skill/alexa_endpoint.h"
#include "binday/console/console.h"
#include "binday/staff/ratelimit.h"
#include "binday/staff/staff.h"
#include "binday/feed/calfeed_http.h"
#include "cli.h"
#include "binday/config/config.h"
#include "binday/util/date.h"
#include "binday/mail/linkmail.h"
#include "binday/util/log.h"
#include "binday/data/keyfile.h"
#include "binday/data/lookup.h"
#include "binday/mail/mailer.h"
#include "binday/mail/mailmsg.h"
#include "binday/http/outbound.h"
#include "binday/mail/outbox.h"
#include "binday/privacy/privacy.h"
#include "binday/util/secret.h"
#include "binday/http/server.h"
#include "binday/skill/icons.h"
#include "binday/skill/skill.h"
#include "binday/data/store.h"
#include "binday/privacy/transcript.h"
#include "binday/alexa/verify.h"
#include "binday/data/writer.h"
#include "binday/util/xalloc.h"

static skill_conf_t skill_conf;
static secret_key_t user_key;
static linkmail_conf_t mail_conf;
/* evening-before alerts (docs/alerts.md): their own thread, off every loop */
static alerts_t *alerts;

/* The store writer (writer.h): every write the server makes on behalf of a
 * request (skill events, erasures, remembered choices, the email outbox)
 * and the daily retention purge run on its thread, never on a loop. */
static writer_t *writer;

/* The staff console (docs/staff-console.md), when --staff-listen is given. */
static staff_t *staff;
static staff_ratelimit_t *staff_rl;

/* ---- retention, applied daily by the writer thread (privacy.h) ---- */
#define PURGE_FIRST_MS 60000ULL
#define PURGE_EVERY_MS (24ULL * 3600 * 1000)

static void purge_task(void *ud)
{
    char err[300];
    privacy_purge(ud, date_today_london(), NULL, err, sizeof(err)); /* logs its outcome */
}

/* ---- each loop's mailbox for the writer's completions ---- */
static void wake_loop(void *ud)
{
    uv_async_send(ud); /* safe from any thread; wake-ups coalesce */
}

static void on_writer_wake(uv_async_t *a)
{
    writer_port_run(a->data);
}

static void async_free(uv_handle_t *h)
{
    free(h);
}

static int thread_init(server_thread_t *t, void *ud)
{
    (void)ud;
    alexa_endpoint_thread_t *at = xcalloc(1, sizeof(*at));
    at->conf = &skill_conf;
    at->verify = verify_thread_new(t->ob);
    at->skill = skill_thread_new(&skill_conf, t->ob);
    at->reader = store_reader_new(skill_conf.store);
    t->app = at;
    at->wake = xcalloc(1, sizeof(*at->wake));
    if (uv_async_init(&t->loop, at->wake, on_writer_wake) != 0) {
        free(at->wake);
        at->wake = NULL;
        log_error("server.start", "thread=%d reason=\"writer wake-up\"", t->index);
        return -1;
    }
    at->port = writer_port_new(writer, wake_loop, at->wake);
    at->wake->data = at->port;
    if (staff != NULL && console_thread_init(t, at->port) != 0)
        return -1;
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
    if (staff != NULL)
        console_thread_fini();
    alexa_endpoint_thread_t *at = t->app;
    if (at == NULL)
        return;
    /* completions still on their way are released without an answer: their
     * requests were answered (503) or dropped by the drain already */
    writer_port_free(at->port);
    if (at->wake) /* freed by the loop runs after the threads end (server_run) */
        uv_close((uv_handle_t *)at->wake, async_free);
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
    writer_stats_t ws;
    writer_get_stats(writer, &ws);
    json_object_set_new(o, "writer", json_pack("{s:I}", "queued", (json_int_t)ws.queued));
}

/* ---- GET /readyz: the store, its LMDB map and disk, the mailer (server.h) ---- */

static const char *data_dir; /* for the free space of the data's filesystem */

/* Below this much free space on the data's filesystem writes (erasures,
 * transcripts, the outbox) are about to fail: not ready. */
#define READY_DISK_MIN_BYTES ((unsigned long long)64 << 20)
/* Map use above this share is a warning: the next write that does not fit
 * doubles the map, and doubling waits for every reader of this process. */
#define READY_MAP_WARN_PERCENT 90

static void ready(server_thread_t *t, json_t *checks, void *ud)
{
    (void)ud;
    alexa_endpoint_thread_t *at = t->app;
    MDB_txn *txn;
    char err[200];
    if (at == NULL || at->reader == NULL || store_reader_begin(at->reader, &txn, err, sizeof(err)) != 0) {
        server_ready_check(checks, "store", SERVER_READY_ERROR, json_pack("{s:b}", "open", 0));
        return;
    }
    /* the map's figures while our read txn holds off a resize (store.h) */
    MDB_envinfo ei;
    MDB_stat st;
    MDB_env *env = store_env(skill_conf.store);
    int ok = mdb_env_info(env, &ei) == 0 && mdb_env_stat(env, &st) == 0;
    uint64_t gen = 0;
    int gen_ok = store_generation(skill_conf.store, txn, &gen) == 0;
    store_reader_end(at->reader);
    server_ready_check(checks, "store", gen_ok && gen > 0 ? SERVER_READY_OK : SERVER_READY_WARNING,
                       json_pack("{s:b,s:b}", "open", 1, "dataset_loaded", gen_ok && gen > 0));
    if (!ok) {
        server_ready_check(checks, "lmdb_map", SERVER_READY_ERROR, json_pack("{s:s}", "reason", "unreadable"));
    } else {
        /* used: the high-water mark of pages (freed pages inside it are reused
         * before the file grows, so this is what the map can still take at least) */
        unsigned long long map = ei.me_mapsize, used = ((unsigned long long)ei.me_last_pgno + 1) * st.ms_psize;
        if (used > map)
            used = map; /* another process grew the map; this one adopts it at its next read */
        unsigned long long free_b = map - used;
        struct statvfs vfs;
        long long disk = -1;
        if (data_dir && statvfs(data_dir, &vfs) == 0)
            disk = (long long)((unsigned long long)vfs.f_bavail * vfs.f_frsize);
        server_ready_level_t lvl = SERVER_READY_OK;
        if (disk >= 0 && (unsigned long long)disk < READY_DISK_MIN_BYTES)
            lvl = SERVER_READY_ERROR;
        else if (used * 100 > map * READY_MAP_WARN_PERCENT || (disk >= 0 && (unsigned long long)disk < used))
            lvl = SERVER_READY_WARNING;
        server_ready_check(checks, "lmdb_map", lvl,
                           json_pack("{s:I,s:I,s:I,s:I,s:I}", "map_bytes", (json_int_t)map, "used_bytes",
                                     (json_int_t)used, "free_bytes", (json_int_t)free_b, "used_percent",
                                     (json_int_t)(map ? used * 100 / map : 0), "disk_free_bytes", (json_int_t)disk));
    }
    if (!mailer_enabled()) {
        server_ready_check(checks, "mailer", SERVER_READY_OK, json_pack("{s:b}", "enabled", 0));
        return;
    }
    mailer_last_t last;
    mailer_last_attempt(&last);
    json_t *d = json_pack("{s:b,s:s}", "enabled", 1, "last_attempt",
                          !last.attempted ? "none" : last.failed ? "failed" : "sent");
    if (last.attempted) {
        json_object_set_new(d, "last_attempt_at", json_integer(last.at_s));
        json_object_set_new(d, "smtp_code", json_integer(last.smtp_code));
    }
    server_ready_check(checks, "mailer", last.attempted && last.failed ? SERVER_READY_WARNING : SERVER_READY_OK, d);
}

/* server_staff_t.mount: what the staff listener serves besides the console's
 * routes. Handlers registered here are on the staff hostconf only, never on
 * the Alexa listener. (GET /metrics is on the admin listener, --admin-listen.) */
static void staff_mount(h2o_hostconf_t *host, void *ud)
{
    console_mount(host, ud); /* /assets/ and /static/: govuk-frontend's files */
}

/* ---- SIGHUP: the command line (and its config file) parsed again ---- */
static int serve_argc;
static char **serve_argv;

static int reload_config(config_t *out, char *err, size_t err_size, void *ud)
{
    (void)ud;
    int rc = config_parse_serve(serve_argc, serve_argv, out, err, err_size);
    if (rc == 0)
        return 0;
    if (rc == -1) /* --help cannot be among a running server's arguments */
        snprintf(err, err_size, "unexpected --help");
    return -1;
}

static const server_route_t routes[] = {
    {"/alexa", 0, "POST", alexa_endpoint_handle},
    {"/calendar/", 1, "GET,HEAD", calfeed_handle},
    {SKILL_ICON_PREFIX, 1, "GET,HEAD", skill_icons_handle}, /* the manifest's icons */
};

static void count_record(const char *id, size_t id_len, const char *json, size_t len, void *ud)
{
    (void)id;
    (void)id_len;
    (void)json;
    (void)len;
    (*(long *)ud)++;
}

/* calendar.key: emailed links carry tokens made with it, so a store with
 * case records (written before the key registry) must not get a new one
 * (data/keyfile.h; registered stores are checked by calfeed_global_init). */
static int check_calendar_key(store_t *store, const char *dir, char *err, size_t err_size)
{
    long n = 0;
    store_reader_t *r = store_reader_new(store);
    if (r == NULL || outbox_log_each(r, count_record, &n, err, err_size) != 0) {
        store_reader_free(r);
        return -1;
    }
    store_reader_free(r);
    secret_key_t k;
    int rc = store_keyfile(store, dir, CALFEED_KEY_FILE, n == 0, &k, err, err_size);
    memset(&k, 0, sizeof(k));
    return rc;
}

int cmd_serve(int argc, char **argv)
{
    config_t conf;
    char err[600];
    serve_argc = argc;
    serve_argv = argv;
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
    privacy_t *privacy = NULL;
    size_t n_dbis;
    const store_dbi_def_t *dbis = privacy_dbi_defs(&n_dbis);
    if (store_open(conf.data, dbis, n_dbis, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    if (privacy_load_user_key(store, conf.data, &user_key, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    privacy_retention_t ret = {(int)json_integer_value(json_object_get(conf.doc, "retention_transcripts_days")),
                               (int)json_integer_value(json_object_get(conf.doc, "retention_case_records_days"))};
    if (privacy_open(store, conf.data, &user_key, &ret, &privacy, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    if (check_calendar_key(store, conf.data, err, sizeof(err)) != 0 ||
        calfeed_global_init(store, conf.data, today, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        goto out;
    }
    outbound_global_conf_t oc = {.ca_file = conf.upstream_ca, .connect_to = conf.connect_to, .n_connect_to = conf.n_connect_to};
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
    skill_conf.privacy = privacy;
    skill_conf.council_phone = conf.council_phone;
    skill_conf.council_website = conf.council_website;
    writer = writer_start(store, 0);
    if (writer == NULL) {
        fprintf(stderr, "binday serve: cannot start the store writer\n");
        goto out;
    }
    privacy_set_writer(privacy, writer);
    writer_set_periodic(writer, purge_task, privacy, PURGE_FIRST_MS, PURGE_EVERY_MS);
    skill_conf.transcripts = transcript_queue_start(privacy);
    if (skill_conf.transcripts == NULL) {
        fprintf(stderr, "binday serve: cannot start the transcript writer\n");
        goto out;
    }
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
        mail_conf.writer = writer;
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
    server_staff_t staff_listener;
    if (conf.staff_listen) {
        staff_options_t so = {.data_dir = conf.data, .public_url = conf.public_url, .writer = writer};
        if (staff_open(store, &so, &staff, err, sizeof(err)) != 0) {
            fprintf(stderr, "binday serve: %s\n", err);
            goto out;
        }
        staff_rl = staff_ratelimit_new(0);
        const char *assets = json_string_value(json_object_get(conf.doc, "staff_assets"));
        console_conf_t cc = {.staff = staff,
                             .rl = staff_rl,
                             .assets_dir = assets ? assets : "build/web/node_modules/govuk-frontend/dist/govuk",
                             .fixed_today = today};
        if (staff_rl == NULL || console_global_init(&cc, err, sizeof(err)) != 0) {
            fprintf(stderr, "binday serve: %s\n", err);
            goto out;
        }
        size_t n_staff_routes;
        const server_route_t *staff_routes = console_routes(&n_staff_routes);
        staff_listener = (server_staff_t){.host = conf.staff_host,
                                          .port = conf.staff_port,
                                          .port_file = conf.staff_port_file,
                                          .tls_cert = conf.staff_tls_cert,
                                          .tls_key = conf.staff_tls_key,
                                          .max_body_bytes = json_object_get(conf.doc, "staff_max_body_bytes")
                                                                ? (size_t)json_integer_value(json_object_get(
                                                                      conf.doc, "staff_max_body_bytes"))
                                                                : (size_t)32 << 20,
                                          .routes = staff_routes,
                                          .n_routes = n_staff_routes,
                                          .mount = staff_mount};
    }
    alerts_conf_t ac;
    if (alerts_conf_from_json(conf.doc, &ac, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        exit_code = CLI_EXIT_USAGE;
        goto out;
    }
    if (ac.client_id) {
        ac.ref_key = &user_key;
        ac.fixed_today = today;
        ac.ca_file = outbound_ca_file();
        ac.connect_to = outbound_connect_to_list();
        alerts = alerts_new(privacy, &ac);
        skill_conf.alerts = 1;
        if (alerts_start(alerts) != 0) {
            fprintf(stderr, "binday serve: cannot start the alerts thread\n");
            goto out;
        }
        char hm[24];
        snprintf(hm, sizeof(hm), "%02d:%02d", ac.send_minute / 60, ac.send_minute % 60);
        log_info("alerts.start", "time=%s stage=%s services_mapped=%zu", hm, ac.live ? "live" : "development",
                 ac.map.n);
    }
    data_dir = conf.data;
    server_hooks_t hooks = {.thread_init = thread_init, .thread_fini = thread_fini, .health = health, .ready = ready,
                            .reload_config = reload_config, .staff = conf.staff_listen ? &staff_listener : NULL};
    rc = server_run(&conf, routes, sizeof(routes) / sizeof(routes[0]), &hooks);
    exit_code = rc == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
out:
    alerts_free(alerts); /* stops its thread: a transfer or backoff is cut short */
    alerts = NULL;
    /* first the writer: its jobs may flush the transcript queue (erasure) */
    if (writer) {
        size_t dropped = writer_stop(writer, conf.shutdown_grace_ms);
        if (dropped)
            log_error("server.shutdown", "writes_dropped=%zu", dropped);
        writer = NULL;
        if (privacy)
            privacy_set_writer(privacy, NULL);
    }
    mailer_stop();
    console_global_cleanup();
    staff_close(staff);
    staff = NULL;
    staff_ratelimit_free(staff_rl);
    staff_rl = NULL;
    if (verify_ok)
        verify_global_cleanup();
    if (outbound_ok)
        outbound_global_cleanup();
    transcript_queue_stop(skill_conf.transcripts); /* flushes what the last turns queued */
    skill_conf.transcripts = NULL;
    privacy_close(privacy);
    if (store)
        store_close(store);
    config_free(&conf);
    return exit_code;
}
