/* main.c - the `binday` executable: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", cmd_serve, "run the HTTPS endpoint for Alexa and calendar feeds"},
    {"ask", cmd_ask, "say something to a running binday as Alexa would (signed request)"},
    {"import", cmd_import, "replace address/calendar tables from CSV files (staff)"},
    {"lookup", cmd_lookup, "match an address and list its collections (staff, tests)"},
    {"backup", cmd_backup, "one file to restore from: the store (compacted) and its keys"},
    {"restore", cmd_restore, "check a backup whole, re-apply later erasures, swap it in"},
    {"holidays", cmd_holidays, "propose bank-holiday exceptions (propose --year YYYY)"},
    {"demo-data", cmd_demo_data, "write synthetic Breckland-like import files"},
    {"purge", cmd_purge, "apply retention now: delete expired transcripts and case records"},
    {"user", cmd_user, "a resident's data: user export|forget --user-id ID"},
    {"bench-lookup", cmd_bench_lookup, "time in-process lookups (benchmarks)"},
    {"calendar-link", cmd_calendar_link, "print a property's calendar feed links (staff)"},
    {"staff", cmd_staff, "staff console: accounts, audit log, edits (add|passwd|list|audit|...)"},
    {"mail-log", cmd_mail_log, "list emailed-link case records and the outbox size (staff)"},
    {"skill-package", cmd_skill_package, "render the skill package to submit to Amazon (manifest, model, APL, icons)"},
    {"alerts", cmd_alerts, "evening-before alerts: send --as-of T | preview --date D (counts only)"},
};

static void usage(FILE *out)
{
    fprintf(out, "binday %s - bin collection answers for an Alexa skill\n\n"
                 "usage: binday COMMAND [OPTIONS]\n\ncommands:\n",
            BINDAY_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-16s %s\n", "help [COMMAND]", "this text, or a command's options");
    fprintf(out, "\nexit codes: 0 ok, 1 runtime failure, 2 usage error, 3 input rejected\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc >= 3 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(commands[i].name, argv[2]) == 0) {
                    char *hargv[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, hargv);
                }
            fprintf(stderr, "binday: unknown command '%s'\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("binday %s\n", BINDAY_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "binday: unknown command '%s' (try: binday help)\n", name);
    return CLI_EXIT_USAGE;
}
