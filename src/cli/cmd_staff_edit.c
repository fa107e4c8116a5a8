/* cmd_staff_edit.c - `binday staff exception|notice|holidays|upload`: the
 * console's edits from the command line, with --preview. */
#include <stdio.h>

#include "cli.h"
#include "cmd_staff_edit.h"

int staff_cli_edit(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "binday staff %s: not implemented yet\n", argv[0]);
    return CLI_EXIT_USAGE;
}
