/* config.h - `binday serve` settings: command line over an optional JSON file,
 * validated against schemas/config.schema.json (compiled into the binary). */
#ifndef BINDAY_CONFIG_H
#define BINDAY_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/util/log.h"

typedef struct config {
    /* strings are borrowed from `doc` and live until config_free */
    const char *data;
    char listen_host[64];
    uint16_t listen_port;
    const char *port_file;
    int admin;               /* admin_listen given */
    char admin_host[64];
    uint16_t admin_port;
    const char *admin_port_file;
    const char *tls_cert, *tls_key;
    /* the staff console's listener: staff_port == 0 && !staff_listen = off */
    int staff_listen;
    char staff_host[64];
    uint16_t staff_port;
    const char *staff_port_file, *staff_tls_cert, *staff_tls_key;
    const char **skill_ids;
    size_t n_skill_ids;
    const char *alexa_ca, *upstream_ca;
    const char **connect_to;
    size_t n_connect_to;
    const char *smtp, *smtp_user, *smtp_password_file, *mail_from, *public_url;
    int mail_retry_base_ms, mail_max_attempts, mail_user_daily_cap, mail_global_hourly_cap;
    const char *council_phone, *council_website; /* spoken when an address can't be found */
    const char *today; /* NULL unless fixed */
    int threads;
    int dev, http2;
    size_t max_body_bytes;
    int max_connections;
    uint64_t request_timeout_ms, handshake_timeout_ms, handler_timeout_ms, shutdown_grace_ms;
    log_level_t log_level;
    json_t *doc; /* the merged, validated document (owned) */
} config_t;

/* Parse `binday serve` arguments (argv[0] = "serve"). Returns 0 on success, or a
 * CLI exit code (2 for usage and configuration errors) with a message in err that
 * names the offending option or key. -1 means --help was printed (exit 0). */
int config_parse_serve(int argc, char **argv, config_t *out, char *err, size_t err_size);
void config_free(config_t *c);

/* Reloading (SIGHUP, docs/server.md): tls_cert, tls_key (the files are read
 * again even when the paths are the same) and log_level take effect; every
 * other key needs a restart. 1 if `key` is reloadable. */
int config_is_reloadable(const char *key);
/* How many non-reloadable keys differ between two configurations; their
 * names, comma-separated, into out (cut to out_size). */
size_t config_restart_keys(const config_t *old, const config_t *fresh, char *out, size_t out_size);
/* Read a config file and check it against the schema, without the serve
 * options' cross-checks (for commands that use a few of its keys, e.g.
 * `binday skill-package`). 0 and a new reference in *out, or -1 with err. */
int config_load_file(const char *path, json_t **out, char *err, size_t err_size);
/* Print `binday serve --help` (generated from the schema's descriptions). */
void config_print_help(void);

#endif
