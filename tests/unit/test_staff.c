/* test_staff.c - the staff console's core (staff/): Argon2id hashing and
 * verification, names and passwords, the sign-in rate limiter (time passed
 * in, no clock), accounts and their audit records in a real LMDB store,
 * edits with preview (nothing changes) and apply (the lookup sees it, the
 * generation moves, an audit record is written), an edit on the store
 * writer, the upload diff and FILE:LINE errors, audit retention, and the
 * viewers' search and property calendar. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/data/import.h"
#include "binday/data/lookup.h"
#include "binday/data/store.h"
#include "binday/data/writer.h"
#include "binday/privacy/privacy.h"
#include "binday/staff/account.h"
#include "binday/staff/audit.h"
#include "binday/staff/edit.h"
#include "binday/staff/ratelimit.h"
#include "binday/staff/view.h"
#include "binday/util/date.h"
#include "fixture_data.h"
#include "tap.h"

#define UPRN 100097000081ull /* 1 STATION ROAD, DEREHAM, NR19 1AE: REF-MON-1 */

static int D(const char *s)
{
    int d = 0;
    date_parse(s, strlen(s), &d);
    return d;
}

static void on_err(const char *msg, void *ud)
{
    (void)ud;
    printf("# import: %s\n", msg);
}

static void test_hashing(void)
{
    char h1[STAFF_PHC_MAX], h2[STAFF_PHC_MAX], err[200];
    /* the defaults once: the PHC string carries them */
    ok(staff_password_hash("correct horse", 13, h1, sizeof(h1), err, sizeof(err)) == 0, "hash with defaults");
    ok(strncmp(h1, "$argon2id$v=19$m=19456,t=3,p=1$", 31) == 0, "PHC string names argon2id m=19456 t=3 p=1: %s",
       h1);
    is_int(staff_password_verify(h1, "correct horse", 13), 1, "the password verifies");
    is_int(staff_password_verify(h1, "correct horsf", 13), 0, "another does not");
    is_int(staff_password_verify(h1, "correct horse", 12), 0, "a prefix does not");
    /* cheaper parameters for the rest: stored hashes keep their own */
    staff_password_set_params(256, 1, 1);
    ok(staff_password_hash("correct horse", 13, h2, sizeof(h2), err, sizeof(err)) == 0, "hash with test params");
    ok(strstr(h2, "m=256,t=1,p=1") != NULL, "new params in the PHC string");
    ok(strcmp(h1, h2) != 0, "salted: two hashes of one password differ");
    is_int(staff_password_verify(h1, "correct horse", 13), 1, "old hash still verifies after the change");
    is_int(staff_password_verify("$argon2id$v=19$m=256,t=1,p=1$bm9wZQ$", "x", 1), -1, "malformed PHC: -1");
    is_int(staff_password_verify("$2y$10$abc", "x", 1), -1, "not argon2id: -1");
    is_int(staff_password_verify(NULL, "x", 1), -1, "NULL: -1");
    char small[20];
    ok(staff_password_hash("correct horse", 13, small, sizeof(small), err, sizeof(err)) == STAFF_ERROR,
       "output buffer too small: error, not overflow");

    ok(staff_user_valid("alice", 5) && staff_user_valid("a.b-c_d@x", 9), "valid names");
    ok(!staff_user_valid("Alice", 5) && !staff_user_valid("a b", 3) && !staff_user_valid("", 0) &&
           !staff_user_valid("a\"", 2),
       "upper case, spaces, empty, quotes refused");
    char longname[80];
    memset(longname, 'a', 65);
    ok(!staff_user_valid(longname, 65) && staff_user_valid(longname, 64), "64 bytes at most");
    ok(staff_password_valid("12345678", 8) && !staff_password_valid("1234567", 7), "8 bytes at least");
    ok(!staff_password_valid("1234\n5678", 9) && !staff_password_valid("1234\0" "5678", 9),
       "no newline or NUL in a password");
    char pw[32];
    ok(staff_password_random(pw, err, sizeof(err)) == 0 && strlen(pw) == 20, "random password: 20 characters");
    ok(strpbrk(pw, "0O1lI") == NULL && staff_password_valid(pw, strlen(pw)), "no look-alikes, and valid");
}

static void test_ratelimit(void)
{
    staff_ratelimit_t *rl = staff_ratelimit_new(0);
    uint64_t t = 1000000, wait = 0;
    for (int i = 0; i < STAFF_RL_FREE_ACCOUNT; i++) {
        ok(staff_ratelimit_check(rl, "alice", "10.0.0.1", t, &wait) == 0, "failure %d is free", i + 1);
        staff_ratelimit_record(rl, "alice", "10.0.0.1", 0, t);
    }
    ok(staff_ratelimit_check(rl, "alice", "10.0.0.1", t, &wait) == 0, "5 failures: not locked yet");
    staff_ratelimit_record(rl, "alice", "10.0.0.1", 0, t);
    ok(staff_ratelimit_check(rl, "alice", "10.0.0.9", t, &wait) == 1 && wait == 2000,
       "6th failure locks the account 2 s, from any address (wait %llu)", (unsigned long long)wait);
    ok(staff_ratelimit_check(rl, "bob", "10.0.0.1", t, NULL) == 0, "another account from that address is not");
    ok(staff_ratelimit_check(rl, "alice", NULL, t + 2000, NULL) == 0, "free again after 2 s");
    staff_ratelimit_record(rl, "alice", "10.0.0.1", 0, t + 2000);
    ok(staff_ratelimit_check(rl, "alice", NULL, t + 2000, &wait) == 1 && wait == 4000, "next failure: 4 s");
    for (int i = 0; i < 30; i++)
        staff_ratelimit_record(rl, "alice", NULL, 0, t + 3000);
    staff_ratelimit_check(rl, "alice", NULL, t + 3000, &wait);
    ok(wait == STAFF_RL_MAX_LOCK_S * 1000ull, "capped at 15 minutes");
    staff_ratelimit_record(rl, "alice", "10.0.0.1", 1, t + 3000);
    ok(staff_ratelimit_check(rl, "alice", NULL, t + 3000, NULL) == 0, "a success clears the account");
    /* address: 20 free, across accounts */
    for (int i = 0; i < STAFF_RL_FREE_ADDRESS + 1; i++) {
        char u[16];
        snprintf(u, sizeof(u), "u%d", i);
        staff_ratelimit_record(rl, u, "192.0.2.7", 0, t);
    }
    ok(staff_ratelimit_check(rl, "newuser", "192.0.2.7", t, &wait) == 1, "an address guessing at many accounts is locked");
    staff_ratelimit_record(rl, "u1", "192.0.2.7", 1, t);
    ok(staff_ratelimit_check(rl, "newuser", "192.0.2.7", t, NULL) == 1, "one success does not clear the address");
    ok(staff_ratelimit_check(rl, "newuser", "192.0.2.7", t + (uint64_t)STAFF_RL_FORGET_S * 1000, NULL) == 0,
       "forgotten after a day");
    staff_ratelimit_free(rl);

    /* bounded: 4 entries, the stalest goes */
    rl = staff_ratelimit_new(4);
    for (int i = 0; i < 10; i++) {
        char u[16];
        snprintf(u, sizeof(u), "user%d", i);
        for (int k = 0; k < 7; k++)
            staff_ratelimit_record(rl, u, NULL, 0, t + (uint64_t)i);
    }
    is_int((int)staff_ratelimit_size(rl), 4, "table stays at its bound");
    ok(staff_ratelimit_check(rl, "user9", NULL, t + 10, NULL) == 1, "newest entry kept");
    ok(staff_ratelimit_check(rl, "user0", NULL, t + 10, NULL) == 0, "oldest entry dropped");
    char longkey[300];
    memset(longkey, 'x', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    for (int k = 0; k < 7; k++)
        staff_ratelimit_record(rl, longkey, NULL, 0, t + 20);
    ok(staff_ratelimit_check(rl, longkey, NULL, t + 20, NULL) == 1, "overlong keys are cut, still limited");
    staff_ratelimit_free(rl);
}

typedef struct count_ctx {
    int n;
    char last_action[64];
    char last_summary[256];
} count_ctx_t;

static int count_entry(const staff_audit_entry_t *e, void *ud)
{
    count_ctx_t *c = ud;
    c->n++;
    snprintf(c->last_action, sizeof(c->last_action), "%s", e->action);
    snprintf(c->last_summary, sizeof(c->last_summary), "%s", e->summary);
    return 0;
}

static int audit_count(staff_t *st, count_ctx_t *c)
{
    char err[200];
    memset(c, 0, sizeof(*c));
    staff_audit_each(st, 0, 0, count_entry, c, err, sizeof(err));
    return c->n;
}

static uint64_t generation(store_t *s)
{
    store_reader_t *r = store_reader_new(s);
    MDB_txn *txn;
    char err[200];
    uint64_t g = 0;
    if (store_reader_begin(r, &txn, err, sizeof(err)) == 0) {
        store_generation(s, txn, &g);
        store_reader_end(r);
    }
    store_reader_free(r);
    return g;
}

/* The collection of UPRN on `day` per lookup: its date (day itself when
 * not moved), -1 when none. */
static int collection_from(store_t *s, int orig, const char *service)
{
    store_reader_t *r = store_reader_new(s);
    lookup_result_t *res = malloc(sizeof(*res));
    char err[200];
    int got = -1;
    if (lookup_uprn(r, UPRN, orig, 10, res, err, sizeof(err)) == 0)
        for (size_t i = 0; i < res->n_collections; i++)
            if (res->collections[i].original == orig && res->collections[i].service_id.n == strlen(service) &&
                memcmp(res->collections[i].service_id.p, service, strlen(service)) == 0)
                got = res->collections[i].date;
    free(res);
    store_reader_free(r);
    return got;
}

typedef struct wake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int woken;
} wake_t;

static void on_wake(void *ud)
{
    wake_t *w = ud;
    pthread_mutex_lock(&w->mu);
    w->woken = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void on_done(void *ud, staff_result_t *res)
{
    *(staff_result_t **)ud = res;
}

static void test_store(const char *dir)
{
    char err[400];
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    store_t *s = NULL;
    if (!ok(store_open(dir, defs, nd, &s, err, sizeof(err)) == 0, "store opens: %s", err))
        return;
    ok(fixture_data_import(s, on_err, err, sizeof(err)) == 0, "fixture imported");
    staff_t *st = NULL;
    staff_options_t opt = {dir, "https://bins.example.gov.uk", NULL};
    if (!ok(staff_open(s, &opt, &st, err, sizeof(err)) == 0, "staff_open: %s", err))
        return;
    store_t *bare = NULL;
    char dir2[300];
    snprintf(dir2, sizeof(dir2), "%s/bare", dir);
    staff_t *st2 = NULL;
    ok(store_open(dir2, NULL, 0, &bare, err, sizeof(err)) == 0 &&
           staff_open(bare, &opt, &st2, err, sizeof(err)) == STAFF_ERROR,
       "staff_open refuses a store without the staff DBIs");
    store_close(bare);

    /* ---- accounts ---- */
    staff_actor_t cli = {"cli:test", STAFF_ROLE_ADMIN}, ed = {"eve", STAFF_ROLE_EDITOR},
                  viewer = {"val", STAFF_ROLE_VIEWER};
    size_t n = 99;
    ok(staff_account_count(st, &n, err, sizeof(err)) == 0 && n == 0, "no accounts yet");
    is_int(staff_account_add(st, &cli, "alice", STAFF_ROLE_ADMIN, "alice-password", 14, err, sizeof(err)), 0,
           "add alice");
    is_int(staff_account_add(st, &cli, "eve", STAFF_ROLE_EDITOR, "eve-password", 12, err, sizeof(err)), 0, "add eve");
    is_int(staff_account_add(st, &cli, "alice", STAFF_ROLE_VIEWER, "whatever1", 9, err, sizeof(err)), STAFF_EXISTS,
           "adding alice again: exists");
    is_int(staff_account_add(st, &ed, "mallory", STAFF_ROLE_ADMIN, "whatever1", 9, err, sizeof(err)),
           STAFF_FORBIDDEN, "an editor cannot add accounts");
    is_int(staff_account_add(st, &cli, "Bad Name", STAFF_ROLE_VIEWER, "whatever1", 9, err, sizeof(err)),
           STAFF_REJECTED, "bad name rejected");
    staff_role_t role = STAFF_ROLE_NONE;
    is_int(staff_signin(st, "alice", "alice-password", 14, &role, err, sizeof(err)), 0, "alice signs in");
    is_int((int)role, STAFF_ROLE_ADMIN, "as admin");
    is_int(staff_signin(st, "alice", "wrong-password", 14, &role, err, sizeof(err)), STAFF_DENIED, "wrong password");
    is_int((int)role, STAFF_ROLE_NONE, "no role on refusal");
    is_int(staff_signin(st, "nobody", "alice-password", 14, &role, err, sizeof(err)), STAFF_DENIED, "unknown name");
    is_str(err, "sign-in refused", "the same generic message");
    is_int(staff_account_passwd(st, &ed, "eve", "eve-new-password", 16, err, sizeof(err)), 0,
           "eve sets her own password");
    is_int(staff_account_passwd(st, &ed, "alice", "hijacked-pw", 11, err, sizeof(err)), STAFF_FORBIDDEN,
           "but not alice's");
    is_int(staff_signin(st, "eve", "eve-new-password", 16, &role, err, sizeof(err)), 0, "new password works");
    is_int(staff_account_set_disabled(st, &cli, "eve", 1, err, sizeof(err)), 0, "disable eve");
    is_int(staff_signin(st, "eve", "eve-new-password", 16, &role, err, sizeof(err)), STAFF_DENIED,
           "disabled: refused");
    is_int(staff_account_set_disabled(st, &cli, "eve", 0, err, sizeof(err)), 0, "enable eve");
    is_int(staff_account_set_role(st, &cli, "eve", STAFF_ROLE_VIEWER, err, sizeof(err)), 0, "eve to viewer");
    staff_account_t a;
    ok(staff_account_get(st, "eve", &a, err, sizeof(err)) == 0 && a.role == STAFF_ROLE_VIEWER && !a.disabled,
       "get: viewer, enabled");
    is_int(staff_account_get(st, "zed", &a, err, sizeof(err)), STAFF_NOT_FOUND, "get unknown: not found");
    staff_account_t *list;
    ok(staff_account_list(st, &list, &n, err, sizeof(err)) == 0 && n == 2 && strcmp(list[0].user, "alice") == 0,
       "list: 2 accounts by name");
    free(list);
    count_ctx_t cc;
    is_int(audit_count(st, &cc), 6, "6 account changes, 6 audit records");
    is_str(cc.last_action, "account.role", "last is the role change");
    char *exp;
    size_t el;
    ok(staff_audit_export(st, 0, STAFF_AUDIT_JSON, &exp, &el, err, sizeof(err)) == 0 && strstr(exp, "argon2") == NULL,
       "no password hash in the audit log");
    free(exp);

    /* ---- edits ---- */
    int mon = D("2026-12-14"), tue = D("2026-12-15");
    uint64_t g0 = generation(s);
    staff_edit_t e;
    memset(&e, 0, sizeof(e));
    e.kind = STAFF_EDIT_MOVE;
    e.round_id = "REF-MON-1";
    e.service_id = "refuse";
    e.date = mon;
    e.new_date = tue;
    e.reason = "crew shortage";
    staff_result_t *res = NULL;
    is_int(staff_edit_preview(st, &viewer, &e, &res, err, sizeof(err)), STAFF_FORBIDDEN, "a viewer cannot edit");
    staff_result_free(res);
    is_int(staff_edit_preview(st, &ed, &e, &res, err, sizeof(err)), 0, "preview a move");
    ok(res->properties == 283, "preview: the 283 properties on REF-MON-1 that day (got %zu)", res->properties);
    ok(res->n_dates == 2 && res->dates[0] == mon && res->dates[1] == tue, "preview: the two dates");
    ok(res->diff[IMPORT_EXCEPTIONS].given && res->diff[IMPORT_EXCEPTIONS].added == 1, "diff: one exception added");
    staff_result_free(res);
    ok(generation(s) == g0 && collection_from(s, mon, "refuse") == mon, "preview changed nothing");
    is_int(audit_count(st, &cc), 6, "and wrote no audit record");
    e.service_id = "recycling";
    is_int(staff_edit_preview(st, &ed, &e, &res, err, sizeof(err)), STAFF_REJECTED, "wrong service for the round");
    staff_result_free(res);
    e.service_id = "refuse";
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), 0, "apply the move");
    ok(res->audit_id != 0 && res->generation == g0 + 1, "audit id and the next generation");
    staff_result_free(res);
    ok(generation(s) == g0 + 1, "store generation bumped");
    is_int(collection_from(s, mon, "refuse"), tue, "lookup: Monday's refuse is on Tuesday now");
    is_int(audit_count(st, &cc), 7, "one audit record");
    is_str(cc.last_action, "exception.move", "for the move");

    /* a move from a day the round does not collect: the import's check */
    e.date = D("2026-12-16");
    e.new_date = D("2026-12-17");
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), STAFF_REJECTED, "move from a non-collection day");
    ok(res->n_errors == 1 && strstr(res->errors[0], "does not collect on original_date") != NULL,
       "with the import's message: %s", res->n_errors ? res->errors[0] : "");
    staff_result_free(res);
    ok(generation(s) == g0 + 1, "nothing changed");
    e.kind = STAFF_EDIT_CANCEL;
    e.date = D("2026-12-28");
    e.reason = NULL;
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), STAFF_REJECTED, "cancel needs a reason");
    staff_result_free(res);
    e.kind = STAFF_EDIT_ADD;
    e.new_date = D("2026-12-16");
    e.reason = "extra";
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), 0, "add an extra collection");
    staff_result_free(res);
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), STAFF_REJECTED, "the same extra again");
    ok(res->n_errors == 1 && strncmp(res->errors[0], "edit:", 5) != 0 && strstr(res->errors[0], "duplicate"),
       "a duplicate, without the generated table's line: %s", res->n_errors ? res->errors[0] : "");
    staff_result_free(res);
    e.kind = STAFF_EDIT_REVERT;
    e.date = D("2026-12-16");
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), 0, "revert the extra collection by its date");
    staff_result_free(res);
    e.kind = STAFF_EDIT_REVERT;
    e.date = mon;
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), 0, "revert the move");
    staff_result_free(res);
    is_int(collection_from(s, mon, "refuse"), mon, "Monday again");

    /* on the store writer, answered on this thread's port */
    writer_t *w = writer_start(s, 0);
    staff_options_t opt2 = {dir, NULL, w};
    staff_t *stw = NULL;
    ok(staff_open(s, &opt2, &stw, err, sizeof(err)) == 0, "staff with a writer");
    wake_t wk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    writer_port_t *port = writer_port_new(w, on_wake, &wk);
    e.kind = STAFF_EDIT_MOVE;
    e.date = mon;
    e.new_date = tue;
    e.reason = "via writer";
    res = NULL;
    is_int(staff_edit_submit(stw, port, &ed, &e, on_done, &res, NULL), 0, "submitted to the writer");
    for (int i = 0; i < 100 && res == NULL; i++) {
        pthread_mutex_lock(&wk.mu);
        while (!wk.woken)
            pthread_cond_wait(&wk.cv, &wk.mu);
        wk.woken = 0;
        pthread_mutex_unlock(&wk.mu);
        writer_port_run(port);
    }
    ok(res && res->rc == 0 && res->audit_id, "done on this thread: committed");
    staff_result_free(res);
    is_int(collection_from(s, mon, "refuse"), tue, "lookup sees the writer's edit");
    is_int(staff_audit_note_submit(stw, &ed, "signout", "eve", NULL), 0, "a note queued on the writer");
    writer_port_free(port);
    writer_stop(w, 1000);
    audit_count(st, &cc);
    is_str(cc.last_action, "signout", "and committed by the writer");
    staff_close(stw);

    /* notices */
    memset(&e, 0, sizeof(e));
    e.kind = STAFF_EDIT_NOTICE_PUBLISH;
    e.scope = "round:REF-MON-1";
    e.message = "Crews are late, \"sorry\",\nplease leave bins out";
    e.from = D("2026-12-01");
    e.to = D("2026-12-31");
    e.notice_id = "late-dec";
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), 0, "publish a notice (quotes, comma, newline)");
    staff_result_free(res);
    e.scope = "round:NOPE";
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), STAFF_REJECTED, "unknown round in scope");
    ok(res->n_errors == 1 && strstr(res->errors[0], "NOPE"), "the import says so: %s",
       res->n_errors ? res->errors[0] : "");
    staff_result_free(res);

    /* viewer side */
    staff_view_t *v = staff_view_new(st);
    staff_search_t *sr = malloc(sizeof(*sr));
    is_int(staff_search(v, "100097000081", 12, sr, err, sizeof(err)), 0, "search by UPRN");
    ok(sr->kind == STAFF_Q_UPRN && sr->n_hits == 1 && strstr(sr->hits[0].address, "STATION ROAD"),
       "one hit: %s", sr->n_hits ? sr->hits[0].address : "");
    is_int(staff_search(v, "nr19 1ae", 8, sr, err, sizeof(err)), 0, "search by postcode");
    ok(sr->kind == STAFF_Q_POSTCODE && sr->n_hits > 1, "the postcode's properties (%zu)", sr->n_hits);
    is_int(staff_search(v, "1 station road nr19 1ae", 23, sr, err, sizeof(err)), 0, "address with postcode");
    ok(sr->n_hits >= 1 && sr->hits[0].uprn == UPRN, "that property first (%zu hits: its flats follow)", sr->n_hits);
    int on = 0;
    for (size_t i = 0; i < sr->n_hits; i++)
        on += strstr(sr->hits[i].address, "1 STATION ROAD") != NULL;
    ok(on == 5, "the building and its 4 flats are among them (%d)", on);
    is_int(staff_search(v, "Station Road", 12, sr, err, sizeof(err)), 0, "address words alone");
    ok(sr->kind == STAFF_Q_ADDRESS && sr->n_hits > 1, "the street's properties (%zu)", sr->n_hits);
    is_int(staff_search(v, "  ", 2, sr, err, sizeof(err)), STAFF_REJECTED, "empty query");
    is_int(staff_search(v, "1 a", 3, sr, err, sizeof(err)), STAFF_REJECTED, "only short words");
    free(sr);
    staff_property_t *p = malloc(sizeof(*p));
    is_int(staff_property_get(v, UPRN, D("2026-12-07"), p, err, sizeof(err)), 0, "property calendar");
    int moved = 0, in_force = 0;
    for (size_t i = 0; i < p->n_collections; i++)
        if (p->collections[i].moved && p->collections[i].original == mon && p->collections[i].date == tue &&
            strcmp(p->collections[i].reason, "via writer") == 0)
            moved = 1;
    for (size_t i = 0; i < p->n_notices; i++)
        if (strcmp(p->notices[i].notice_id, "late-dec") == 0 && p->notices[i].in_force &&
            strcmp(p->notices[i].scope, "round:REF-MON-1") == 0)
            in_force = 1;
    ok(moved, "the moved collection, marked, with its reason");
    ok(in_force, "the new notice, in force, with its scope");
    ok(p->from == D("2026-11-09") && p->to == D("2027-03-01"), "window: 4 weeks back, 12 ahead");
    ok(strncmp(p->feed_path, "/calendar/", 10) == 0 && strlen(p->feed_path) == 10 + 32 + 4, "feed path");
    ok(strncmp(p->feed_url, "https://bins.example.gov.uk/calendar/", 37) == 0, "feed URL");
    is_int(staff_property_get(v, 999, D("2026-12-07"), p, err, sizeof(err)), STAFF_NOT_FOUND, "unknown UPRN");
    free(p);
    staff_round_info_t *rounds;
    ok(staff_rounds_list(v, &rounds, &n, err, sizeof(err)) == 0 && n == 30, "30 rounds (%zu)", n);
    free(rounds);
    staff_notice_t *notices;
    ok(staff_notices_list(v, D("2026-12-07"), &notices, &n, err, sizeof(err)) == 0 && n == 4, "4 notices");
    free(notices);
    staff_exception_info_t *ex;
    ok(staff_exceptions_list(v, mon, mon, &ex, &n, err, sizeof(err)) == 0 && n == 1 && ex[0].action == 1,
       "the move listed on its date");
    free(ex);
    staff_holiday_info_t *hol;
    ok(staff_holidays_list(v, 2026, &hol, &n, err, sizeof(err)) == 0 && n > 0, "holiday proposals");
    int acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += hol[i].accepted;
    ok(acc > 0, "the fixture's accepted ones marked (%d of %zu)", acc, n);
    free(hol);
    staff_view_free(v);

    /* uploads: diff and errors, nothing changed on a problem */
    uint64_t g1 = generation(s);
    const char *notices_csv = "notice_id,scope,from,to,message\n"
                              "xmas-2026,all,2026-12-14,2027-01-10,Changed text\n"
                              "brand-new,all,2026-12-01,2026-12-02,New\n";
    staff_upload_file_t f = {IMPORT_NOTICES, "notices.csv", (const uint8_t *)notices_csv, strlen(notices_csv)};
    memset(&e, 0, sizeof(e));
    e.kind = STAFF_EDIT_UPLOAD;
    e.files = &f;
    e.n_files = 1;
    is_int(staff_edit_preview(st, &ed, &e, &res, err, sizeof(err)), 0, "upload dry run");
    ok(res->diff[IMPORT_NOTICES].added == 1 && res->diff[IMPORT_NOTICES].changed == 1 &&
           res->diff[IMPORT_NOTICES].removed == 3 && res->diff[IMPORT_NOTICES].unchanged == 0,
       "diff: 1 added, 1 changed, 3 removed (%zu/%zu/%zu)", res->diff[IMPORT_NOTICES].added,
       res->diff[IMPORT_NOTICES].changed, res->diff[IMPORT_NOTICES].removed);
    staff_result_free(res);
    const char *broken = "notice_id,scope,from,to,message\n"
                         "ok-one,all,2026-12-01,2026-12-02,Fine\n"
                         "bad,all,2026-13-01,2026-12-02,Bad date\n";
    f.data = (const uint8_t *)broken;
    f.len = strlen(broken);
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), STAFF_REJECTED, "broken upload rejected");
    ok(res->n_errors == 1 && strncmp(res->errors[0], "notices.csv:3: ", 15) == 0, "FILE:LINE error: %s",
       res->n_errors ? res->errors[0] : "");
    staff_result_free(res);
    ok(generation(s) == g1, "nothing changed");
    f.data = (const uint8_t *)notices_csv;
    f.len = strlen(notices_csv);
    is_int(staff_edit_apply(st, &ed, &e, &res, err, sizeof(err)), 0, "upload committed");
    ok(generation(s) == g1 + 1, "generation bumped");
    staff_result_free(res);
    is_int(audit_count(st, &cc), 14, "every committed change (and the note) has its audit record");
    is_str(cc.last_action, "upload", "the upload's");

    /* the optional materials table: the same file again changes no row */
    char mpath[1024];
    fixture_data_path(IMPORT_MATERIALS, mpath, sizeof(mpath));
    FILE *mf = fopen(mpath, "rb");
    static uint8_t mbuf[1 << 16];
    size_t ml = mf ? fread(mbuf, 1, sizeof(mbuf), mf) : 0;
    if (mf)
        fclose(mf);
    staff_upload_file_t mfile = {IMPORT_MATERIALS, "materials.csv", mbuf, ml};
    e.files = &mfile;
    is_int(staff_edit_preview(st, &ed, &e, &res, err, sizeof(err)), 0, "materials dry run");
    ok(ml > 0 && res->diff[IMPORT_MATERIALS].given && res->diff[IMPORT_MATERIALS].unchanged > 0 &&
           res->diff[IMPORT_MATERIALS].added + res->diff[IMPORT_MATERIALS].changed +
                   res->diff[IMPORT_MATERIALS].removed ==
               0,
       "the stored materials, all unchanged (%zu)", res->diff[IMPORT_MATERIALS].unchanged);
    staff_result_free(res);

    /* retention: case records older than the cutoff go */
    MDB_txn *txn;
    size_t erased = 0;
    ok(mdb_txn_begin(store_env(s), NULL, 0, &txn) == 0, "write txn");
    ok(staff_audit_purge(s, txn, date_today_london() - 1, &erased) == 0 && erased == 0, "nothing older than yesterday");
    ok(staff_audit_purge(s, txn, date_today_london() + 1, &erased) == 0 && erased == 14, "all older than tomorrow");
    mdb_txn_abort(txn);

    staff_close(st);
    store_close(s);
}

int main(void)
{
    test_hashing();
    test_ratelimit();
    char dir[] = "/tmp/binday-staff-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    test_store(dir);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done_testing();
}
