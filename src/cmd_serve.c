/* cmd_serve.c - `binday serve` (placeholder while the server lands). */
#include <stdio.h>
#include "binday/cli.h"
int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "binday serve: not built yet\n");
    return CLI_EXIT_RUNTIME;
}
