/* test_secret.c - key files and keyed hashes. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binday/util/secret.h"
#include "tap.h"

int main(void)
{
    char dir[] = "/tmp/binday-secret-XXXXXX", err[256], path[300];
    ok(mkdtemp(dir) != NULL, "temp dir");
    secret_key_t a, b;
    is_int(secret_load_or_create(dir, "k.key", &a, err, sizeof(err)), 0, "key created");
    snprintf(path, sizeof(path), "%s/k.key", dir);
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == SECRET_KEY_BYTES, "mode 0600, 32 bytes");
    is_int(secret_load_or_create(dir, "k.key", &b, err, sizeof(err)), 0, "key loaded");
    ok(memcmp(a.k, b.k, SECRET_KEY_BYTES) == 0, "the same key comes back");
    char h1[SECRET_HEX_LEN + 1], h2[SECRET_HEX_LEN + 1], h3[SECRET_HEX_LEN + 1];
    secret_hmac_hex(&a, "amzn1.ask.account.X", 19, h1, sizeof(h1));
    secret_hmac_hex(&b, "amzn1.ask.account.X", 19, h2, sizeof(h2));
    secret_hmac_hex(&a, "amzn1.ask.account.Y", 19, h3, sizeof(h3));
    is_str(h1, h2, "stable hash");
    ok(strcmp(h1, h3) != 0, "different input, different hash");
    is_int(strlen(h1), SECRET_HEX_LEN, "hex length");
    /* RFC 4231 test case 2 style check: known HMAC-SHA256 of "what do ya want for nothing?" with key "Jefe" */
    secret_key_t jefe;
    memset(&jefe, 0, sizeof(jefe));
    memcpy(jefe.k, "Jefe", 4); /* zero-padded to 32 bytes: HMAC pads keys with zeros anyway */
    secret_hmac_hex(&jefe, "what do ya want for nothing?", 28, h1, sizeof(h1));
    is_str(h1, "5bdcc146bf60754e6a042426089575c7", "HMAC-SHA256 known answer (RFC 4231 case 2)");
    chmod(path, 0644);
    ok(secret_load_or_create(dir, "k.key", &b, err, sizeof(err)) == -1 && strstr(err, "chmod 600"),
       "a world-readable key is refused");
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    ok(system(path) == 0, "cleanup");
    return done_testing();
}
