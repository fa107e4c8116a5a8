/* materials.h - "what goes in which bin?": the council's materials table
 * (materials.csv, docs/import.md) as stored in LMDB, and the data-layer API
 * the skill (lookups) and the staff console (list, upsert, delete) use.
 *
 * A material is keyed by its id, the slug of its name ("Pizza boxes" ->
 * "pizza-boxes"): the slot type of the interaction model uses the same ids,
 * so a resolved slot finds its row directly. A material either names the
 * service that collects it (service_id) or is not collected, and then says
 * where to take it (take_to). Synonyms are kept as written, separated by ';'.
 *
 * Strings in a material_t borrow from the LMDB value (valid while the txn
 * that read it is open), except id, which is copied.
 */
#ifndef BINDAY_DATA_MATERIALS_H
#define BINDAY_DATA_MATERIALS_H

#include <lmdb.h>
#include <stddef.h>

#include "binday/data/records.h"
#include "binday/data/store.h"

#define MATERIALS_MAX_ID 64      /* bytes of a slug */
#define MATERIALS_MAX_FIELD 300  /* bytes of name, take_to and note */
#define MATERIALS_MAX_SYNONYMS 1000 /* bytes of the synonyms field */
#define MATERIALS_MAX_ROWS 5000  /* a table longer than this is refused */
#define MATERIALS_NOT_COLLECTED "not collected" /* service_id for "take it elsewhere" */

typedef struct material {
    char id[MATERIALS_MAX_ID + 1];
    rec_str_t name, synonyms, service_id, take_to, note; /* service_id.p NULL: not collected */
} material_t;

/* The slug of a name or phrase: ASCII letters and digits lower-cased, every
 * other run of bytes one '-', none at either end, cut to MATERIALS_MAX_ID.
 * Returns its length (0: nothing usable). Pure. */
size_t materials_slug(char *dst, size_t cap, const char *s, size_t n);

/* Checks one material's fields (the import's row rules, shared with
 * upsert): name required and sluggable, service_id an id or absent (not
 * collected, then take_to required), lengths, no control characters (note
 * may hold newlines). Returns 0, or -1 with the reason in err. Pure. */
int materials_check(const material_t *m, char *err, size_t err_size);

/* Record layout (records.h conventions). */
void materials_encode(rec_buf_t *b, const material_t *m);
int materials_decode(const void *v, size_t len, material_t *m); /* id untouched; -1 malformed */

/* Find the material a resident named: by id (a resolved slot), else by the
 * slug of the words against every name and synonym (also without a final
 * "s"/"es"). 0 and *out filled, MDB_NOTFOUND, or an MDB error. */
int materials_find(store_t *s, MDB_txn *txn, const char *text, size_t n, material_t *out);

/* Every material in id order; fn returns non-zero to stop (that value is
 * returned). MDB_CORRUPTED for a value that does not decode. */
typedef int (*materials_each_fn)(const material_t *m, void *ud);
int materials_list(store_t *s, MDB_txn *txn, materials_each_fn fn, void *ud);

/* Staff console edits in the caller's write txn. upsert checks the fields
 * (materials_check), that service_id names a stored service, and that no
 * name or synonym of it is another material's; m->id is set to the slug of
 * the name. Returns 0, MATERIALS_REJECTED with the reason in err, or an MDB
 * error. delete: 0 or MDB_NOTFOUND. */
#define MATERIALS_REJECTED (-30000)
int materials_upsert(store_t *s, MDB_txn *txn, material_t *m, char *err, size_t err_size);
int materials_delete(store_t *s, MDB_txn *txn, const char *id);

#endif
