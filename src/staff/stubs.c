/* stubs.c - TEMPORARY: the staff API's functions not written yet, each
 * failing with STAFF_ERROR, so the web console can build against the
 * headers. Removed as the modules land. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/staff/account.h"
#include "binday/staff/audit.h"
#include "binday/staff/edit.h"
#include "binday/staff/view.h"
#include "binday/util/xalloc.h"

#define TODO(err, n) (snprintf(err, n, "not implemented yet"), STAFF_ERROR)

int staff_user_valid(const char *name, size_t n) { (void)name; (void)n; return 0; }
int staff_password_valid(const char *pw, size_t n) { (void)pw; (void)n; return 0; }
int staff_password_hash(const char *pw, size_t n, char *out, size_t out_size, char *err, size_t err_size)
{ (void)pw; (void)n; (void)out; (void)out_size; return TODO(err, err_size); }
int staff_password_verify(const char *phc, const char *pw, size_t n) { (void)phc; (void)pw; (void)n; return -1; }
void staff_password_set_params(uint32_t m_kib, uint32_t t, uint32_t p) { (void)m_kib; (void)t; (void)p; }
int staff_password_random(char out[32], char *err, size_t err_size) { out[0] = 0; return TODO(err, err_size); }
int staff_account_add(staff_t *st, const staff_actor_t *actor, const char *user, staff_role_t role,
                      const char *pw, size_t pw_len, char *err, size_t err_size)
{ (void)st; (void)actor; (void)user; (void)role; (void)pw; (void)pw_len; return TODO(err, err_size); }
int staff_account_passwd(staff_t *st, const staff_actor_t *actor, const char *user, const char *pw,
                         size_t pw_len, char *err, size_t err_size)
{ (void)st; (void)actor; (void)user; (void)pw; (void)pw_len; return TODO(err, err_size); }
int staff_account_set_disabled(staff_t *st, const staff_actor_t *actor, const char *user, int disabled,
                               char *err, size_t err_size)
{ (void)st; (void)actor; (void)user; (void)disabled; return TODO(err, err_size); }
int staff_account_set_role(staff_t *st, const staff_actor_t *actor, const char *user, staff_role_t role,
                           char *err, size_t err_size)
{ (void)st; (void)actor; (void)user; (void)role; return TODO(err, err_size); }
int staff_account_get(staff_t *st, const char *user, staff_account_t *out, char *err, size_t err_size)
{ (void)st; (void)user; (void)out; return TODO(err, err_size); }
int staff_account_list(staff_t *st, staff_account_t **out, size_t *n, char *err, size_t err_size)
{ (void)st; *out = NULL; *n = 0; return TODO(err, err_size); }
int staff_account_count(staff_t *st, size_t *n, char *err, size_t err_size)
{ (void)st; *n = 0; return TODO(err, err_size); }
int staff_signin(staff_t *st, const char *user, const char *pw, size_t pw_len, staff_role_t *role,
                 char *err, size_t err_size)
{ (void)st; (void)user; (void)pw; (void)pw_len; *role = STAFF_ROLE_NONE; (void)err; (void)err_size; return STAFF_DENIED; }

const privacy_module_t staff_privacy_module = {"staff", NULL, 0, NULL, NULL, NULL, NULL, NULL};
int staff_audit_each(staff_t *st, int64_t since, size_t limit, staff_audit_fn fn, void *ud, char *err,
                     size_t err_size)
{ (void)st; (void)since; (void)limit; (void)fn; (void)ud; return TODO(err, err_size); }
int staff_audit_each_newest(staff_t *st, uint64_t before_id, size_t limit, staff_audit_fn fn, void *ud,
                            uint64_t *next_before, char *err, size_t err_size)
{ (void)st; (void)before_id; (void)limit; (void)fn; (void)ud; *next_before = 0; return TODO(err, err_size); }
int staff_audit_export(staff_t *st, int64_t since, staff_audit_format_t fmt, char **out, size_t *len, char *err,
                       size_t err_size)
{ (void)st; (void)since; (void)fmt; *out = NULL; *len = 0; return TODO(err, err_size); }
int staff_audit_note(staff_t *st, const staff_actor_t *actor, const char *action, const char *target,
                     const char *detail, char *err, size_t err_size)
{ (void)st; (void)actor; (void)action; (void)target; (void)detail; return TODO(err, err_size); }
int staff_audit_put(staff_t *st, MDB_txn *txn, const char *actor, const char *action, const char *target,
                    const char *summary, const json_t *before, const json_t *after, uint64_t *id)
{ (void)st; (void)txn; (void)actor; (void)action; (void)target; (void)summary; (void)before; (void)after; (void)id; return MDB_PANIC; }
int staff_audit_purge(store_t *s, MDB_txn *txn, int cutoff_day, size_t *n_erased)
{ (void)s; (void)txn; (void)cutoff_day; (void)n_erased; return MDB_PANIC; }

static staff_result_t *todo_result(void)
{
    staff_result_t *r = xcalloc(1, sizeof(*r));
    r->rc = STAFF_ERROR;
    snprintf(r->message, sizeof(r->message), "not implemented yet");
    return r;
}
int staff_edit_preview(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e, staff_result_t **out,
                       char *err, size_t err_size)
{ (void)st; (void)actor; (void)e; *out = todo_result(); return TODO(err, err_size); }
int staff_edit_apply(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e, staff_result_t **out,
                     char *err, size_t err_size)
{ (void)st; (void)actor; (void)e; *out = todo_result(); return TODO(err, err_size); }
int staff_edit_submit(staff_t *st, writer_port_t *port, const staff_actor_t *actor, const staff_edit_t *e,
                      staff_edit_done_fn done, void *ud, writer_job_t **job)
{ (void)st; (void)port; (void)actor; (void)e; (void)job; done(ud, todo_result()); return 0; }

staff_view_t *staff_view_new(staff_t *st) { (void)st; return xcalloc(1, 16); }
void staff_view_free(staff_view_t *v) { free(v); }
int staff_search(staff_view_t *v, const char *q, size_t q_len, staff_search_t *out, char *err, size_t err_size)
{ (void)v; (void)q; (void)q_len; memset(out, 0, sizeof(*out)); return TODO(err, err_size); }
int staff_property_get(staff_view_t *v, uint64_t uprn, int today, staff_property_t *out, char *err,
                       size_t err_size)
{ (void)v; (void)uprn; (void)today; (void)out; return TODO(err, err_size); }
int staff_rounds_list(staff_view_t *v, staff_round_info_t **out, size_t *n, char *err, size_t err_size)
{ (void)v; *out = NULL; *n = 0; return TODO(err, err_size); }
int staff_services_list(staff_view_t *v, staff_service_info_t **out, size_t *n, char *err, size_t err_size)
{ (void)v; *out = NULL; *n = 0; return TODO(err, err_size); }
int staff_exceptions_list(staff_view_t *v, int from, int to, staff_exception_info_t **out, size_t *n,
                          char *err, size_t err_size)
{ (void)v; (void)from; (void)to; *out = NULL; *n = 0; return TODO(err, err_size); }
int staff_notices_list(staff_view_t *v, int today, staff_notice_t **out, size_t *n, char *err,
                       size_t err_size)
{ (void)v; (void)today; *out = NULL; *n = 0; return TODO(err, err_size); }
int staff_holidays_list(staff_view_t *v, int year, staff_holiday_info_t **out, size_t *n, char *err,
                        size_t err_size)
{ (void)v; (void)year; *out = NULL; *n = 0; return TODO(err, err_size); }
