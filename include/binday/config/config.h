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
/* Print `binday serve --help` (generated from the schema's descriptions). */
void config_print_help(void);

#endif
