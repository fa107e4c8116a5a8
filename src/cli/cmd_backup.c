/* cmd_backup.c - `binday backup` and `binday restore`: the one documented
 * pair for copying a data directory away and back (privacy/backup.h,
 * docs/store.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "binday/data/store.h"
#include "binday/privacy/backup.h"
#include "binday/privacy/privacy.h"

static void backup_usage(FILE *out)
{
    fprintf(out, "usage: binday backup --data DIR --out FILE [--encrypt-to PUBLIC.pem]\n\n"
                 "Write one file that is enough to restore DIR: a compacted, consistent copy of the store\n"
                 "(safe while the server runs) and every key file it needs, with SHA-256 checksums. Mode\n"
                 "0600, written to a temporary file, fsynced and renamed. --encrypt-to: encrypt to an\n"
                 "X25519 public key whose private half is kept off the server (docs/store.md):\n"
                 "  openssl genpkey -algorithm X25519 -out backup-private.pem\n"
                 "  openssl pkey -in backup-private.pem -pubout -out backup-public.pem\n"
                 "Restore with binday restore.\n");
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"encrypt-to", required_argument, NULL, 'e'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *out = NULL, *pub = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'o': out = optarg; break;
        case 'e': pub = optarg; break;
        case 'h': backup_usage(stdout); return CLI_EXIT_OK;
        default: backup_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || out == NULL || optind != argc) {
        backup_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char err[1024];
    store_t *s;
    size_t n;
    const store_dbi_def_t *defs = privacy_dbi_defs(&n);
    if (store_open(data, defs, n, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "binday backup: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    backup_manifest_t m;
    int rc = backup_write(s, data, out, pub, &m, err, sizeof(err));
    store_close(s);
    if (rc) {
        fprintf(stderr, "binday backup: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    char at[40];
    printf("{\"backup\":\"%s\",\"created_at\":\"%s\",\"files\":[", out, privacy_iso_time(m.created_at_ms, at, sizeof(at)));
    for (size_t i = 0; i < m.n_files; i++)
        printf("%s\"%s\"", i ? "," : "", m.files[i].name);
    printf("],\"encrypted\":%s}\n", pub ? "true" : "false");
    return CLI_EXIT_OK;
}

static void restore_usage(FILE *out)
{
    fprintf(out, "usage: binday restore --data DIR --from FILE [--replace] [--key PRIVATE.pem]\n"
                 "                      [--journal LATER_BACKUP]...\n\n"
                 "Restore DIR from a binday backup. The whole backup is checked first (format, checksums,\n"
                 "every key its store needs, the store opens) in a directory beside DIR; erasures,\n"
                 "revocations and email cancellations recorded after the backup - in DIR's erasure journal\n"
                 "and in those of later backups given with --journal - are applied again, and retention is\n"
                 "applied as of today; then it is swapped in with one rename. Refused (exit 3, nothing\n"
                 "changed): a damaged, truncated or incomplete backup, a wrong --key, a non-empty DIR\n"
                 "without --replace. Stop the server first. No key is ever created in place of a missing one.\n");
}

int cmd_restore(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"replace", no_argument, NULL, 'r'},
                                         {"journal", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *journals[8];
    backup_restore_opts_t o = {NULL, NULL, 0, journals, 0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'f': o.from = optarg; break;
        case 'k': o.key_pem = optarg; break;
        case 'r': o.replace = 1; break;
        case 'j':
            if (o.n_journals == sizeof(journals) / sizeof(journals[0])) {
                fprintf(stderr, "binday restore: at most 8 --journal backups\n");
                return CLI_EXIT_USAGE;
            }
            journals[o.n_journals++] = optarg;
            break;
        case 'h': restore_usage(stdout); return CLI_EXIT_OK;
        default: restore_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || o.from == NULL || optind != argc) {
        restore_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char err[1024];
    backup_restore_stats_t st;
    int rc = backup_restore(data, &o, &st, err, sizeof(err));
    if (rc == BACKUP_INVALID) {
        fprintf(stderr, "binday restore: refused, nothing changed: %s\n", err);
        return CLI_EXIT_INPUT;
    }
    if (rc != 0) {
        fprintf(stderr, "binday restore: failed, %s unchanged: %s\n", data, err);
        return CLI_EXIT_RUNTIME;
    }
    printf("{\"restored\":\"%s\",\"journal_entries_after_backup\":%zu,\"users_erased_again\":%zu,"
           "\"retention_erased\":%zu}\n",
           data, st.journal_entries, st.users_erased, st.purged);
    return CLI_EXIT_OK;
}
