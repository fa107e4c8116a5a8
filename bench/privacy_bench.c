/* privacy_bench.c - what privacy costs on the write path and at erasure:
 * one transcript write (one LMDB write txn with fsync, done on the loop
 * thread per turn), a vault rotation with many users (what every erasure that
 * destroys a key pays), a forget and a purge.
 *   usage: privacy_bench DIR [USERS] [TURNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/skill/choice.h"
#include "binday/privacy/privacy.h"
#include "binday/privacy/transcript.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: privacy_bench DIR [USERS] [TURNS]\n");
        return 2;
    }
    const char *dir = argv[1];
    int users = argc > 2 ? atoi(argv[2]) : 10000, turns = argc > 3 ? atoi(argv[3]) : 2000;
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    store_t *s;
    privacy_t *p;
    char err[300];
    secret_key_t uk;
    memset(&uk, 1, sizeof(uk));
    if (store_open(dir, defs, nd, &s, err, sizeof(err)) != 0 || privacy_open(s, dir, &uk, NULL, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* population: each user has a transcript key, a choice and event state */
    double t0 = now_us();
    for (int i = 0; i < users; i++) {
        char user[40], addr[40];
        snprintf(user, sizeof(user), "%032x", i);
        snprintf(addr, sizeof(addr), "%032x", i * 7);
        transcript_turn_t t = {(int64_t)time(NULL) * 1000 - (int64_t)(i % 180) * 86400000, "IntentRequest",
                               "NextCollectionIntent", NULL, "Your next collection is tomorrow: the green bin."};
        int applied;
        unsigned erased;
        if (transcript_write(p, user, &t, err, sizeof(err)) != 0 || choice_put(p, user, addr, 1000 + i, err, sizeof(err)) != 0 ||
            privacy_event(p, user, PRIVACY_EV_ENABLED, 1, 0, &applied, &erased, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    printf("setup_users=%d setup_s=%.1f\n", users, (now_us() - t0) / 1e6);
    double *lat = malloc(sizeof(double) * (size_t)turns);
    for (int i = 0; i < turns; i++) {
        char user[40];
        snprintf(user, sizeof(user), "%032x", i % users);
        transcript_turn_t t = {(int64_t)time(NULL) * 1000, "IntentRequest", "WhichBinIntent", NULL,
                               "Tomorrow, Wednesday the 2nd of December: the food caddy and the green bin."};
        double a = now_us();
        if (transcript_write(p, user, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        lat[i] = now_us() - a;
    }
    qsort(lat, (size_t)turns, sizeof(double), cmp);
    printf("transcript_write_us p50=%.0f p99=%.0f max=%.0f (one write txn + fsync each)\n", lat[turns / 2],
           lat[turns * 99 / 100], lat[turns - 1]);
    free(lat);
    char user[40];
    snprintf(user, sizeof(user), "%032x", 3);
    size_t n = 0;
    t0 = now_us();
    if (privacy_erase(p, user, PRIVACY_ERASE_ALL, "bench", &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("forget_one_user_ms=%.1f erased=%zu (includes re-sealing ~%d vault entries)\n", (now_us() - t0) / 1e3, n,
           3 * users + 180);
    privacy_purge_stats_t st;
    t0 = now_us();
    if (privacy_purge(p, (int)(time(NULL) / 86400) + 90, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("purge_ms=%.1f erased=%zu\n", (now_us() - t0) / 1e3, st.erased);
    privacy_close(p);
    store_close(s);
    return 0;
}
