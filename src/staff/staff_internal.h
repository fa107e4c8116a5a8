/* staff_internal.h - what the staff modules share and nobody else sees: the
 * handle's fields and small helpers. */
#ifndef BINDAY_STAFF_INTERNAL_H
#define BINDAY_STAFF_INTERNAL_H

#include <lmdb.h>
#include <stdio.h>

#include "binday/data/store.h"
#include "binday/data/writer.h"
#include "binday/staff/staff.h"
#include "binday/util/secret.h"

struct staff {
    store_t *store;
    MDB_dbi dbi_accounts, dbi_audit;
    writer_t *writer;       /* NULL: *_submit run synchronously */
    char *public_url;       /* NULL: feed paths only */
    secret_key_t feed_key;  /* calendar.key */
};

#endif
