/* fixture.h - start and stop the Python HTTPS fixture (tests/integration/
 * https_fixture.py) from C unit tests. Header-only; for tests. */
#ifndef BINDAY_TEST_FIXTURE_H
#define BINDAY_TEST_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fixture {
    pid_t pid;
    char dir[256];
    int port_good, port_rogue;
    int port_expired; /* a certificate from the fixture CA, expired */
    int port_silent;  /* accepts TCP connections, never answers (no TLS either) */
} fixture_t;

static inline int fixture_start(fixture_t *f)
{
    const char *root = getenv("BINDAY_ROOT");
    char script[512], port_file[300];
    snprintf(script, sizeof(script), "%s/tests/integration/https_fixture.py", root ? root : ".");
    snprintf(f->dir, sizeof(f->dir), "/tmp/binday-fixture-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(port_file, sizeof(port_file), "%s/ports", f->dir);
    f->pid = fork();
    if (f->pid == 0) {
        execl("/usr/bin/python3", "python3", script, "--dir", f->dir, "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) { /* up to 60 s: key generation can be slow under load */
        FILE *pf = fopen(port_file, "r");
        if (pf) {
            int n = fscanf(pf, "%d %d %d %d", &f->port_good, &f->port_rogue, &f->port_expired, &f->port_silent);
            fclose(pf);
            if (n == 4)
                return 0;
        }
        int st;
        if (waitpid(f->pid, &st, WNOHANG) == f->pid)
            return -1;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static inline void fixture_stop(fixture_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", f->dir);
}

#endif
