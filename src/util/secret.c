/* secret.c - owns the data directory's secret key files and keyed hashing. */
#include "binday/util/secret.h"

#include "binday/util/algo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_key(const char *path, secret_key_t *out, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -2; /* caller decides: missing is fine */
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
    } else if ((st.st_mode & 077) != 0) {
        snprintf(err, err_size, "%s: key file must not be readable by others (chmod 600)", path);
    } else if (st.st_size != SECRET_KEY_BYTES) {
        snprintf(err, err_size, "%s: key file has %lld bytes, want %d", path, (long long)st.st_size,
                 SECRET_KEY_BYTES);
    } else if (read(fd, out->k, SECRET_KEY_BYTES) != SECRET_KEY_BYTES) {
        snprintf(err, err_size, "%s: short read", path);
    } else {
        rc = 0;
    }
    close(fd);
    return rc;
}

int secret_load(const char *dir, const char *name, secret_key_t *out, char *err, size_t err_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int r = read_key(path, out, err, err_size);
    return r == -2 ? 1 : r;
}

int secret_load_or_create(const char *dir, const char *name, secret_key_t *out, char *err, size_t err_size)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int r = read_key(path, out, err, err_size);
    if (r != -2)
        return r;
    uint8_t k[SECRET_KEY_BYTES];
    if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
        snprintf(err, err_size, "getrandom: %s", strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    int ok = write(fd, k, sizeof(k)) == (ssize_t)sizeof(k) && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        snprintf(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* link() fails if another process created the key first: then use theirs */
    if (link(tmp, path) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    unlink(tmp);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    memset(k, 0, sizeof(k));
    return read_key(path, out, err, err_size) == 0 ? 0 : -1;
}

void secret_hmac_hex(const secret_key_t *key, const void *msg, size_t len, char *out, size_t out_size)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[ALGO_HMAC_BYTES];
    algo_hmac_sha256(key->k, SECRET_KEY_BYTES, msg, len, md);
    size_t n = SECRET_HEX_LEN / 2;
    if (out_size < SECRET_HEX_LEN + 1)
        abort(); /* broken invariant: callers pass a char[SECRET_HEX_LEN + 1] (secret.h) */
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SECRET_HEX_LEN] = 0;
}
