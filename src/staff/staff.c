/* staff.c - owns the staff handle (store, feed key, writer, options), the
 * role names and order, and the edit result's memory. */
#include "binday/staff/staff.h"

#include <stdlib.h>
#include <string.h>

#include "binday/data/keyfile.h"
#include "binday/feed/calfeed.h"
#include "binday/staff/audit.h"
#include "binday/util/secret.h"
#include "binday/util/xalloc.h"
#include "staff_internal.h"

static const char *const role_names[] = {"none", "viewer", "editor", "admin"};

const char *staff_role_name(staff_role_t r)
{
    return (unsigned)r <= STAFF_ROLE_ADMIN ? role_names[r] : "none";
}

int staff_role_parse(const char *s, size_t n, staff_role_t *out)
{
    for (int r = STAFF_ROLE_VIEWER; r <= STAFF_ROLE_ADMIN; r++)
        if (s && strlen(role_names[r]) == n && memcmp(s, role_names[r], n) == 0) {
            *out = (staff_role_t)r;
            return 0;
        }
    return -1;
}

int staff_role_allows(staff_role_t have, staff_role_t need)
{
    return have >= need && have <= STAFF_ROLE_ADMIN && need > STAFF_ROLE_NONE;
}

int staff_open(store_t *s, const staff_options_t *opt, staff_t **out, char *err, size_t err_size)
{
    *out = NULL;
    MDB_dbi acc, aud;
    if (store_dbi(s, STAFF_DBI_ACCOUNTS, &acc) != 0 || store_dbi(s, STAFF_DBI_AUDIT, &aud) != 0) {
        snprintf(err, err_size, "store opened without the staff databases (privacy_dbi_defs)");
        return STAFF_ERROR;
    }
    if (opt == NULL || opt->data_dir == NULL) {
        snprintf(err, err_size, "staff_open: data_dir is required");
        return STAFF_ERROR;
    }
    staff_t *st = xcalloc(1, sizeof(*st));
    st->store = s;
    st->dbi_accounts = acc;
    st->dbi_audit = aud;
    st->writer = opt->writer;
    if (opt->public_url) {
        calfeed_links_t probe;
        if (calfeed_links(opt->public_url, "x", &probe) != 0) {
            snprintf(err, err_size, "public_url: want https://HOST[:PORT][/PATH]");
            free(st);
            return STAFF_ERROR;
        }
        st->public_url = xstrdup(opt->public_url);
    }
    /* through the store's key registry, as calendar-link and the feed
     * endpoint do: a lost calendar.key is refused, never silently remade */
    if (store_keyfile(s, opt->data_dir, CALFEED_KEY_FILE, 1, &st->feed_key, err, err_size) != 0) {
        free(st->public_url);
        free(st);
        return STAFF_ERROR;
    }
    *out = st;
    return 0;
}

void staff_close(staff_t *st)
{
    if (st == NULL)
        return;
    free(st->public_url);
    memset(&st->feed_key, 0, sizeof(st->feed_key));
    free(st);
}

store_t *staff_store(staff_t *st)
{
    return st->store;
}

void staff_result_free(staff_result_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_errors; i++)
        free(r->errors[i]);
    free(r->errors);
    free(r);
}
