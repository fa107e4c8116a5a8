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
