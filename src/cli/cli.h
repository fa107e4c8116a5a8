/* cli.h - the subcommands of the `binday` executable and their exit codes.
 *
 * Each subcommand lives in its own src/cmd_*.c (or beside its module) and is
 * listed in main.c's table. A subcommand gets argv with argv[0] = its name,
 * prints its own --help, and returns one of the exit codes below.
 */
#ifndef BINDAY_CLI_H
#define BINDAY_CLI_H

enum {
    CLI_EXIT_OK = 0,      /* success */
    CLI_EXIT_RUNTIME = 1, /* runtime failure (I/O, storage, network) */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_INPUT = 3    /* input rejected by validation */
};

int cmd_serve(int argc, char **argv);
int cmd_ask(int argc, char **argv);
/* data side (src/cmd_data.c, src/cmd_tools.c) */
int cmd_import(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_backup(int argc, char **argv);  /* src/cmd_backup.c */
int cmd_restore(int argc, char **argv); /* src/cmd_backup.c */
int cmd_holidays(int argc, char **argv);
int cmd_demo_data(int argc, char **argv);
int cmd_bench_lookup(int argc, char **argv); /* src/cmd_bench.c */

/* privacy (src/cmd_privacy.c) */
int cmd_purge(int argc, char **argv);
int cmd_user(int argc, char **argv);
/* calendar feeds (src/cmd_calendar.c) */
int cmd_calendar_link(int argc, char **argv);
/* emailed links (src/cmd_mail.c) */
int cmd_mail_log(int argc, char **argv);
/* the skill package (src/cmd_skillpkg.c) */
int cmd_skill_package(int argc, char **argv);
/* staff console accounts, audit, edits (src/cmd_staff.c, cmd_staff_edit.c) */
int cmd_staff(int argc, char **argv);
/* evening-before alerts (src/cmd_alerts.c) */
int cmd_alerts(int argc, char **argv);

#endif
