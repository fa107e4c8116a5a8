/* test_backup.c - the backup manifest parser (privacy/backup.h) and the key
 * file registry (data/keyfile.h): a lost or different key is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/data/keyfile.h"
#include "binday/data/store.h"
#include "binday/privacy/backup.h"
#include "tap.h"

#define H "0000000000000000000000000000000000000000000000000000000000000000"

static int parse(const char *s, backup_manifest_t *m)
{
    char err[200];
    return backup_manifest_parse((const uint8_t *)s, strlen(s), m, err, sizeof(err));
}

static void test_manifest(void)
{
    backup_manifest_t m;
    is_int(parse("{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\"data.mdb\",\"size\":10,\"sha256\":\"" H
                 "\"},{\"name\":\"vault-2.key\",\"size\":32,\"sha256\":\"" H "\"}]}",
                 &m),
           0, "manifest: accepted");
    ok(m.n_files == 2 && m.created_at_ms == 5 && m.files[0].size == 10 && !strcmp(m.files[1].name, "vault-2.key"),
       "manifest: fields");
    const char *bad[] = {
        "{\"format\":2,\"created_at_ms\":5,\"files\":[{\"name\":\"data.mdb\",\"size\":1,\"sha256\":\"" H "\"}]}",
        "{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\"../data.mdb\",\"size\":1,\"sha256\":\"" H "\"}]}",
        "{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\"x.key\",\"size\":1,\"sha256\":\"" H "\"}]}",
        "{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\"data.mdb\",\"size\":1,\"sha256\":\"" H
        "\"},{\"name\":\"data.mdb\",\"size\":1,\"sha256\":\"" H "\"}]}",
        "{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\"data.mdb\",\"size\":-1,\"sha256\":\"" H "\"}]}",
        "{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\"data.mdb\",\"size\":1,\"sha256\":\"00\"}]}",
        "{\"format\":1,\"created_at_ms\":5,\"files\":[{\"name\":\".x.key\",\"size\":1,\"sha256\":\"" H "\"}]}",
        "{\"format\":1,\"files\":[]}",
        "[1]",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(parse(bad[i], &m) == -1, "manifest refused: case %zu", i);
}

static void test_keyfile(void)
{
    char dir[] = "/tmp/binday-keyfile-XXXXXX", err[600], path[400], cmd[400];
    ok(mkdtemp(dir) != NULL, "temp dir");
    store_t *s = NULL;
    is_int(store_open(dir, NULL, 0, &s, err, sizeof(err)), 0, "store opened");
    secret_key_t a, b;
    is_int(store_keyfile_registered(s, "k.key"), 0, "not registered yet");
    is_int(store_keyfile(s, dir, "k.key", 0, &a, err, sizeof(err)), -1, "may_create 0: a missing key is refused");
    snprintf(path, sizeof(path), "%s/k.key", dir);
    ok(access(path, F_OK) != 0, "... and not created");
    is_int(store_keyfile(s, dir, "k.key", 1, &a, err, sizeof(err)), 0, "created and registered");
    is_int(store_keyfile_registered(s, "k.key"), 1, "registered");
    is_int(store_keyfile(s, dir, "k.key", 1, &b, err, sizeof(err)), 0, "loaded again");
    ok(memcmp(a.k, b.k, sizeof(a.k)) == 0, "the same key");
    unlink(path);
    ok(store_keyfile(s, dir, "k.key", 1, &b, err, sizeof(err)) == -1 && strstr(err, "missing"),
       "a registered key that is missing is refused");
    ok(access(path, F_OK) != 0, "... and never recreated");
    secret_key_t c;
    is_int(secret_load_or_create(dir, "k.key", &c, err, sizeof(err)), 0, "another key put in its place");
    ok(store_keyfile(s, dir, "k.key", 1, &b, err, sizeof(err)) == -1 && strstr(err, "not the key"),
       "a different key is refused");
    store_close(s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleanup");
}

int main(void)
{
    test_manifest();
    test_keyfile();
    return done_testing();
}
