/* cmd_staff_edit.h - shared by cmd_staff.c and cmd_staff_edit.c. */
#ifndef BINDAY_CMD_STAFF_EDIT_H
#define BINDAY_CMD_STAFF_EDIT_H

#include <stddef.h>

#include "binday/data/store.h"
#include "binday/staff/staff.h"

/* "cli:" + the Unix user name (the CLI's audit actor). */
void staff_cli_actor(char *out, size_t n);
/* Open the store with every DBI and a staff handle; message printed on failure. */
int staff_cli_open(const char *data, store_t **store, staff_t **st, const char *cmd);
/* `binday staff exception|notice|holidays|upload|edit ...` (argv[0] = that word). */
int staff_cli_edit(int argc, char **argv);

#endif
