/* cmd_serve.c - `binday serve`: wires configuration, the outbound client and the
 * application's routes into the HTTPS server. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "binday/cli.h"
#include "binday/config.h"
#include "binday/log.h"
#include "binday/outbound.h"
#include "binday/server.h"

static int ensure_data_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "binday serve: cannot create --data %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "binday serve: --data %s is not a directory\n", dir);
        return -1;
    }
    return 0;
}

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
    if (conf.dev)
        log_warn("server.dev_mode", "note=\"development mode: demo data and a self-signed certificate; "
                                    "verification is unchanged\"");
    if (conf.today)
        log_warn("server.fixed_today", "today=%s note=\"answers use a fixed date; for demos and tests only\"",
                 conf.today);
    if (ensure_data_dir(conf.data) != 0) {
        config_free(&conf);
        return CLI_EXIT_RUNTIME;
    }
    outbound_global_conf_t oc = {conf.upstream_ca, conf.connect_to, conf.n_connect_to};
    if (outbound_global_init(&oc, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday serve: %s\n", err);
        config_free(&conf);
        return CLI_EXIT_USAGE;
    }
    rc = server_run(&conf, NULL, 0, NULL);
    outbound_global_cleanup();
    config_free(&conf);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}
