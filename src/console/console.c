/* console.c - owns the staff console's pages (console.h): routing on the
 * staff listener, sessions in cookies, CSRF checks, the security headers, the
 * GOV.UK page frame and every page. It reads and writes only through the
 * staff core (the binday/staff headers); it never opens LMDB itself.
 *
 * Security model (docs/staff-console.md): a page without a live session is
 * a 303 to /sign-in; an action (POST) without one is 401; an action with a
 * missing or wrong CSRF token, or by a role that may not do it, is 403 and
 * changes nothing. Every HTML page carries a strict CSP (no script at all,
 * styles from our origin only, frame-ancestors 'none'), no-store, nosniff
 * and no-referrer. Slow work never runs on the loop: password checks go to
 * libuv's thread pool, edits to the store writer.
 */
#include "binday/console/console.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "binday/console/session.h"
#include "binday/console/webform.h"
#include "binday/data/import.h"
#include "binday/staff/account.h"
#include "binday/staff/audit.h"
#include "binday/staff/edit.h"
#include "binday/staff/view.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/strbuf.h"
#include "binday/util/xalloc.h"

#define COOKIE_NAME "__Host-binday-staff"
#define PAGE_MAX ((size_t)4 << 20)

static console_conf_t g_conf;

/* per loop thread */
static _Thread_local staff_view_t *t_view;
static _Thread_local writer_port_t *t_port;
static _Thread_local staff_property_t *t_prop;
static _Thread_local staff_search_t *t_search;

/* The rounds of the exceptions form, per thread: listing them counts the
 * properties of every round (a pass over all assignments: ~70 ms on the
 * 60,000-property district, bench/console_pages.py), and rounds change only
 * with an upload. Kept ROUNDS_TTL_S at most, and dropped at once when any
 * thread of this process commits an edit (g_edits moves on); a change by
 * another process (`binday import`) shows within ROUNDS_TTL_S. The preview
 * always counts afresh. */
#define ROUNDS_TTL_S 60
static _Atomic unsigned long g_edits;
static _Thread_local staff_round_info_t *t_rounds;
static _Thread_local size_t t_n_rounds;
static _Thread_local int64_t t_rounds_at;
static _Thread_local unsigned long t_rounds_edits;

int console_global_init(const console_conf_t *conf, char *err, size_t err_size)
{
    if (conf->staff == NULL || conf->rl == NULL) {
        snprintf(err, err_size, "console: needs the staff core and a rate limiter");
        return -1;
    }
    g_conf = *conf;
    return 0;
}

static void stash_clear(void);

void console_global_cleanup(void)
{
    stash_clear();
    memset(&g_conf, 0, sizeof(g_conf));
}

int console_thread_init(server_thread_t *t, writer_port_t *port)
{
    t_view = staff_view_new(g_conf.staff);
    t_port = port;
    t_prop = xmalloc(sizeof(*t_prop));
    t_search = xmalloc(sizeof(*t_search));
    if (t_view == NULL) {
        log_error("console.start", "thread=%d reason=view", t->index);
        return -1;
    }
    return 0;
}

void console_thread_fini(void)
{
    staff_view_free(t_view);
    t_view = NULL;
    free(t_prop);
    t_prop = NULL;
    free(t_search);
    t_search = NULL;
    free(t_rounds);
    t_rounds = NULL;
    t_n_rounds = 0;
    t_port = NULL;
}

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int today(void)
{
    return g_conf.fixed_today ? g_conf.fixed_today : date_today_london();
}

/* ---- HTML ---------------------------------------------------------------------- */

void console_html_escape(strbuf_t *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        strbuf_put(b, s + run, i - run);
        strbuf_puts(b, e);
        run = i + 1;
    }
    strbuf_put(b, s + run, n - run);
}

static void esc(strbuf_t *b, const char *s)
{
    console_html_escape(b, s, strlen(s));
}

static void put_date(strbuf_t *b, int day)
{
    char d[64];
    date_long(day, d, sizeof(d));
    esc(b, d);
}

typedef struct page_ctx {
    h2o_req_t *req;
    int signed_in;
    session_info_t s;
} page_ctx_t;

static void page_start(strbuf_t *b, const page_ctx_t *pc, const char *title)
{
    strbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\" class=\"govuk-template\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(b, title);
    strbuf_puts(b, " - Bin collections staff console</title>\n"
                   "<link rel=\"stylesheet\" href=\"/static/govuk-frontend.min.css\">\n"
                   "<link rel=\"stylesheet\" href=\"/console.css\">\n</head>\n"
                   "<body class=\"govuk-template__body\">\n"
                   "<a href=\"#main-content\" class=\"govuk-skip-link\">Skip to main content</a>\n"
                   "<header class=\"govuk-header\">\n<div class=\"govuk-header__container govuk-width-container\">\n"
                   "<div class=\"govuk-header__logo\"><a href=\"/\" class=\"govuk-header__link "
                   "govuk-header__link--homepage\">Bin collections staff console</a></div>\n</div>\n</header>\n");
    if (pc->signed_in) {
        strbuf_puts(b, "<nav class=\"govuk-service-navigation\" aria-label=\"Menu\">\n<div class=\"govuk-width-container\">\n"
                       "<ul class=\"govuk-service-navigation__list\">\n"
                       "<li class=\"govuk-service-navigation__item\"><a class=\"govuk-service-navigation__link\" "
                       "href=\"/search\">Search</a></li>\n");
        if (staff_role_allows((staff_role_t)pc->s.role, STAFF_ROLE_EDITOR))
            strbuf_puts(b, "<li class=\"govuk-service-navigation__item\"><a class=\"govuk-service-navigation__link\" "
                           "href=\"/exceptions\">Exceptions</a></li>\n"
                           "<li class=\"govuk-service-navigation__item\"><a class=\"govuk-service-navigation__link\" "
                           "href=\"/notices\">Notices</a></li>\n"
                           "<li class=\"govuk-service-navigation__item\"><a class=\"govuk-service-navigation__link\" "
                           "href=\"/holidays\">Bank holidays</a></li>\n"
                           "<li class=\"govuk-service-navigation__item\"><a class=\"govuk-service-navigation__link\" "
                           "href=\"/uploads\">Uploads</a></li>\n");
        if (staff_role_allows((staff_role_t)pc->s.role, STAFF_ROLE_ADMIN))
            strbuf_puts(b, "<li class=\"govuk-service-navigation__item\"><a class=\"govuk-service-navigation__link\" "
                           "href=\"/admin\">Accounts</a></li>\n");
        strbuf_puts(b, "</ul>\n<form method=\"post\" action=\"/sign-out\" class=\"console-signout\">\n"
                       "<input type=\"hidden\" name=\"csrf\" value=\"");
        esc(b, pc->s.csrf);
        strbuf_puts(b, "\">\n<span class=\"govuk-body-s\">Signed in as ");
        esc(b, pc->s.user);
        strbuf_puts(b, " (");
        esc(b, staff_role_name((staff_role_t)pc->s.role));
        strbuf_puts(b, ")</span>\n<button type=\"submit\" class=\"govuk-button govuk-button--secondary "
                       "console-signout__button\" data-module=\"govuk-button\">Sign out</button>\n</form>\n</div>\n</nav>\n");
    }
    strbuf_puts(b, "<div class=\"govuk-width-container\">\n<main class=\"govuk-main-wrapper\" id=\"main-content\">\n");
}

static void page_end(strbuf_t *b)
{
    strbuf_puts(b, "</main>\n</div>\n<footer class=\"govuk-footer\">\n<div class=\"govuk-width-container\">\n"
                   "<p class=\"govuk-body-s\">binday staff console. Changes are recorded in the audit log.</p>\n"
                   "</div>\n</footer>\n</body>\n</html>\n");
}

static void csrf_field(strbuf_t *b, const page_ctx_t *pc)
{
    strbuf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    esc(b, pc->s.csrf);
    strbuf_puts(b, "\">\n");
}

/* An error summary (GOV.UK pattern): each message links to its field. */
static void error_summary(strbuf_t *b, const char *field_id, const char *msg)
{
    strbuf_puts(b, "<div class=\"govuk-error-summary\" data-module=\"govuk-error-summary\">\n<div role=\"alert\">\n"
                   "<h2 class=\"govuk-error-summary__title\">There is a problem</h2>\n"
                   "<div class=\"govuk-error-summary__body\">\n<ul class=\"govuk-list govuk-error-summary__list\">\n<li><a href=\"#");
    esc(b, field_id);
    strbuf_puts(b, "\">");
    esc(b, msg);
    strbuf_puts(b, "</a></li>\n</ul>\n</div>\n</div>\n</div>\n");
}

/* ---- answers ------------------------------------------------------------------- */

static const char csp[] = "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; form-action 'self'; "
                          "frame-ancestors 'none'; base-uri 'none'";

static void security_headers(h2o_req_t *req)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          csp, sizeof(csp) - 1);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL, H2O_STRLIT("DENY"));
    /* server_send adds Cache-Control: no-store and nosniff */
}

static void send_page(h2o_req_t *req, int status, strbuf_t *b)
{
    security_headers(req);
    if (b->failed) {
        strbuf_free(b);
        static const char oops[] = "<!DOCTYPE html><title>Error</title><p>Sorry, the page is too large.</p>";
        server_send(req, 500, "text/html; charset=utf-8", oops, sizeof(oops) - 1);
        return;
    }
    server_send(req, status, "text/html; charset=utf-8", b->p, b->len);
    strbuf_free(b);
}

static void redirect(h2o_req_t *req, const char *location)
{
    security_headers(req);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, location, strlen(location));
    server_send(req, 303, "text/plain; charset=utf-8", "", 0);
}

/* A short page for errors (403 and the like), signed in or not. */
static void send_message(h2o_req_t *req, const page_ctx_t *pc, int status, const char *title, const char *msg)
{
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, pc, title);
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">");
    esc(&b, title);
    strbuf_puts(&b, "</h1>\n<p class=\"govuk-body\">");
    esc(&b, msg);
    strbuf_puts(&b, "</p>\n");
    page_end(&b);
    send_page(req, status, &b);
}

/* ---- requests ------------------------------------------------------------------ */

static int find_session(h2o_req_t *req, page_ctx_t *pc)
{
    memset(pc, 0, sizeof(*pc));
    pc->req = req;
    ssize_t i = -1;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1) {
        const uint8_t *v;
        size_t vl;
        h2o_iovec_t h = req->headers.entries[i].value;
        if (webform_cookie((const uint8_t *)h.base, h.len, COOKIE_NAME, &v, &vl) == 0 &&
            session_get(v, vl, now_s(), &pc->s) == 0) {
            pc->signed_in = 1;
            return 0;
        }
    }
    return -1;
}

/* The query string of a GET as a form (empty when none or malformed). */
static void query_form(h2o_req_t *req, webform_t *f)
{
    h2o_iovec_t p = req->path;
    size_t q = 0;
    while (q < p.len && p.base[q] != '?')
        q++;
    if (q >= p.len || webform_parse_urlencoded((const uint8_t *)p.base + q + 1, p.len - q - 1, f) != 0)
        memset(f, 0, sizeof(*f));
}

static int body_form(h2o_req_t *req, webform_t *f)
{
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t c = ct == -1 ? h2o_iovec_init(H2O_STRLIT("")) : req->headers.entries[ct].value;
    char boundary[WEBFORM_MAX_BOUNDARY + 1];
    if (webform_multipart_boundary((const uint8_t *)c.base, c.len, boundary) == 0)
        return webform_parse_multipart((const uint8_t *)req->entity.base, req->entity.len, boundary, f);
    return webform_parse_urlencoded((const uint8_t *)req->entity.base, req->entity.len, f);
}

static const char *fval(const webform_t *f, const char *name)
{
    const webform_field_t *x = webform_get(f, name);
    return x ? x->value : "";
}

/* An action: a live session (else 401), a parsed form, the right CSRF token
 * (else 403) and a role that allows `need` (else 403). 0 to go on; -1 when
 * the answer was sent (and the form freed). */
static int action_begin(h2o_req_t *req, page_ctx_t *pc, webform_t *f, staff_role_t need)
{
    memset(f, 0, sizeof(*f));
    if (find_session(req, pc) != 0) {
        send_message(req, pc, 401, "Sign in required", "Your session has ended. Sign in again to continue.");
        return -1;
    }
    const webform_field_t *tok;
    if (body_form(req, f) != 0 || (tok = webform_get(f, "csrf")) == NULL ||
        !session_csrf_ok(&pc->s, (const uint8_t *)tok->value, tok->value_len)) {
        webform_free(f);
        log_warn("console.csrf_refused", "rid=%s", server_request_id(req));
        send_message(req, pc, 403, "Forbidden", "The form could not be accepted. Go back, reload the page and try again.");
        return -1;
    }
    if (!staff_role_allows((staff_role_t)pc->s.role, need)) {
        webform_free(f);
        send_message(req, pc, 403, "Forbidden", "Your account does not allow this.");
        return -1;
    }
    return 0;
}

/* A page: a live session (else 303 to /sign-in) with role `need` (else 403). */
static int page_begin(h2o_req_t *req, page_ctx_t *pc, staff_role_t need)
{
    if (find_session(req, pc) != 0) {
        redirect(req, "/sign-in");
        return -1;
    }
    if (!staff_role_allows((staff_role_t)pc->s.role, need)) {
        send_message(req, pc, 403, "Forbidden", "Your account does not allow this page.");
        return -1;
    }
    return 0;
}

static staff_actor_t actor_of(const page_ctx_t *pc)
{
    return (staff_actor_t){pc->s.user, (staff_role_t)pc->s.role};
}

/* ---- sign in ------------------------------------------------------------------- */

static void signin_page(h2o_req_t *req, int status, const char *error, const char *user)
{
    page_ctx_t pc = {.req = req};
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, error ? "Error: Sign in" : "Sign in");
    strbuf_puts(&b, "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">\n");
    if (error)
        error_summary(&b, "username", error);
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Sign in</h1>\n<form method=\"post\" action=\"/sign-in\" novalidate>\n"
                    "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"username\">Username</label>\n"
                    "<input class=\"govuk-input govuk-!-width-one-half\" id=\"username\" name=\"username\" type=\"text\" "
                    "autocomplete=\"username\" spellcheck=\"false\" value=\"");
    esc(&b, user ? user : "");
    strbuf_puts(&b, "\">\n</div>\n<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"password\">"
                    "Password</label>\n<input class=\"govuk-input govuk-!-width-one-half\" id=\"password\" "
                    "name=\"password\" type=\"password\" autocomplete=\"current-password\">\n</div>\n"
                    "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Sign in</button>\n"
                    "</form>\n</div></div>\n");
    page_end(&b);
    send_page(req, status, &b);
}

static int on_signin_get(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (find_session(req, &pc) == 0) {
        redirect(req, "/search");
        return 0;
    }
    signin_page(req, 200, NULL, NULL);
    return 0;
}

typedef struct signin_job {
    uv_work_t work;
    h2o_req_t *req;
    server_pending_t *pending;
    int gone;
    char user[STAFF_USER_MAX + 1];
    char addr[INET6_ADDRSTRLEN];
    char *pw;
    size_t pw_len;
    int rc;
    staff_role_t role;
} signin_job_t;

static void signin_gone(void *ud)
{
    ((signin_job_t *)ud)->gone = 1;
}

static void signin_work(uv_work_t *w)
{
    signin_job_t *j = w->data;
    char err[200];
    j->rc = staff_signin(g_conf.staff, j->user, j->pw, j->pw_len, &j->role, err, sizeof(err));
    if (j->rc == STAFF_ERROR)
        log_error("console.signin_error", "reason=\"%s\"", err);
}

static void signin_done(uv_work_t *w, int status)
{
    signin_job_t *j = w->data;
    int ok = status == 0 && j->rc == 0;
    staff_ratelimit_record(g_conf.rl, j->user, j->addr, ok, now_ms());
    OPENSSL_cleanse(j->pw, j->pw_len);
    free(j->pw);
    if (!j->gone) {
        server_pending_end(j->pending);
        h2o_req_t *req = j->req;
        char cookie[SESSION_HEX + 1];
        session_info_t info;
        if (ok && session_create(j->user, (int)j->role, now_s(), cookie, &info) == 0) {
            char set[160];
            snprintf(set, sizeof(set), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict", COOKIE_NAME, cookie);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, h2o_strdup(&req->pool, set, SIZE_MAX).base,
                           strlen(set));
            staff_actor_t a = {j->user, j->role};
            char err[200];
            if (staff_audit_note(g_conf.staff, &a, "signin", j->user, NULL, err, sizeof(err)) != 0)
                log_warn("console.audit", "reason=\"%s\"", err);
            log_info("console.signin", "rid=%s", server_request_id(req));
            redirect(req, "/search");
        } else {
            log_info("console.signin_refused", "rid=%s", server_request_id(req));
            signin_page(req, 401, "Enter a correct username and password", j->user);
        }
    }
    free(j);
}

static void peer_addr(h2o_req_t *req, char out[INET6_ADDRSTRLEN])
{
    struct sockaddr_storage ss;
    socklen_t l = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    strcpy(out, "?");
    if (l == 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, INET6_ADDRSTRLEN);
}

static int on_signin_post(server_thread_t *t, h2o_req_t *req)
{
    webform_t f;
    if (webform_parse_urlencoded((const uint8_t *)req->entity.base, req->entity.len, &f) != 0) {
        signin_page(req, 400, "Enter a correct username and password", NULL);
        return 0;
    }
    const webform_field_t *u = webform_get(&f, "username"), *p = webform_get(&f, "password");
    /* names are lower case (account.h); the form accepts any case */
    char user[STAFF_USER_MAX + 1] = "";
    if (u != NULL && u->value_len <= STAFF_USER_MAX) {
        for (size_t i = 0; i < u->value_len; i++) {
            char c = u->value[i];
            user[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        user[u->value_len] = 0;
    }
    if (user[0] == 0 || p == NULL || p->value_len == 0 || !staff_user_valid(user, strlen(user))) {
        webform_free(&f);
        signin_page(req, 401, "Enter a correct username and password", user);
        return 0;
    }
    char addr[INET6_ADDRSTRLEN];
    peer_addr(req, addr);
    uint64_t retry = 0;
    if (staff_ratelimit_check(g_conf.rl, user, addr, now_ms(), &retry) != 0) {
        webform_free(&f);
        char ra[24];
        snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((retry + 999) / 1000));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, h2o_strdup(&req->pool, ra, SIZE_MAX).base,
                       strlen(ra));
        log_warn("console.signin_throttled", "rid=%s retry_ms=%llu", server_request_id(req), (unsigned long long)retry);
        signin_page(req, 429, "Too many attempts. Wait a few minutes, then try again", user);
        return 0;
    }
    signin_job_t *j = xcalloc(1, sizeof(*j));
    j->work.data = j;
    j->req = req;
    memcpy(j->user, user, sizeof(user));
    memcpy(j->addr, addr, sizeof(addr));
    j->pw = xmalloc(p->value_len + 1);
    memcpy(j->pw, p->value, p->value_len + 1);
    j->pw_len = p->value_len;
    OPENSSL_cleanse((void *)p->value, p->value_len);
    webform_free(&f);
    j->pending = server_pending_begin(req, signin_gone, j);
    if (uv_queue_work(&t->loop, &j->work, signin_work, signin_done) != 0) {
        server_pending_end(j->pending);
        OPENSSL_cleanse(j->pw, j->pw_len);
        free(j->pw);
        free(j);
        signin_page(req, 503, "The service is busy. Try again", user);
    }
    return 0;
}

static int on_signout(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    webform_t f;
    if (action_begin(req, &pc, &f, STAFF_ROLE_VIEWER) != 0)
        return 0;
    webform_free(&f);
    ssize_t i = -1;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1) {
        const uint8_t *v;
        size_t vl;
        h2o_iovec_t h = req->headers.entries[i].value;
        if (webform_cookie((const uint8_t *)h.base, h.len, COOKIE_NAME, &v, &vl) == 0)
            session_end(v, vl);
    }
    staff_actor_t a = actor_of(&pc);
    char err[200];
    staff_audit_note(g_conf.staff, &a, "signout", pc.s.user, NULL, err, sizeof(err));
    static const char clear[] = COOKIE_NAME "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, clear, sizeof(clear) - 1);
    pc.signed_in = 0;
    send_message(req, &pc, 200, "You have signed out", "Close the browser window, or sign in again.");
    return 0;
}

/* ---- search -------------------------------------------------------------------- */

static int on_root(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    redirect(req, find_session(req, &pc) == 0 ? "/search" : "/sign-in");
    return 0;
}

static int on_search(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_VIEWER) != 0)
        return 0;
    webform_t q;
    query_form(req, &q);
    const char *text = fval(&q, "q");
    char err[300] = "";
    int rc = -1;
    if (text[0] != 0)
        rc = staff_search(t_view, text, strlen(text), t_search, err, sizeof(err));
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, rc == STAFF_REJECTED ? "Error: Find a property" : "Find a property");
    if (rc == STAFF_REJECTED)
        error_summary(&b, "q", err[0] ? err : "Enter a postcode, an address or a UPRN");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Find a property</h1>\n<form method=\"get\" action=\"/search\">\n"
                    "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"q\">Postcode, address or UPRN"
                    "</label>\n<div id=\"q-hint\" class=\"govuk-hint\">For example, NR19 1AA or 12 High Street, NR19 1AA"
                    "</div>\n<input class=\"govuk-input govuk-!-width-two-thirds\" id=\"q\" name=\"q\" type=\"text\" "
                    "aria-describedby=\"q-hint\" value=\"");
    esc(&b, text);
    strbuf_puts(&b, "\">\n</div>\n<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Search"
                    "</button>\n</form>\n");
    if (rc == STAFF_ERROR) {
        log_error("console.search", "rid=%s reason=\"%s\"", server_request_id(req), err);
        strbuf_puts(&b, "<p class=\"govuk-body\">Sorry, the search failed. Try again.</p>\n");
    } else if (rc == 0) {
        strbuf_printf(&b, "<h2 class=\"govuk-heading-m\">%zu %s</h2>\n", t_search->n_hits,
                      t_search->n_hits == 1 ? "property" : "properties");
        if (t_search->truncated)
            strbuf_puts(&b, "<p class=\"govuk-body\">Only the first results are shown: add to the search.</p>\n");
        strbuf_puts(&b, "<ul class=\"govuk-list\">\n");
        for (size_t i = 0; i < t_search->n_hits; i++) {
            strbuf_printf(&b, "<li><a class=\"govuk-link\" href=\"/property/%llu\">",
                          (unsigned long long)t_search->hits[i].uprn);
            esc(&b, t_search->hits[i].address);
            strbuf_printf(&b, "</a> <span class=\"govuk-hint\">UPRN %llu</span></li>\n",
                          (unsigned long long)t_search->hits[i].uprn);
        }
        strbuf_puts(&b, "</ul>\n");
    }
    webform_free(&q);
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

/* ---- a property ------------------------------------------------------------------ */

static void status_text(strbuf_t *b, const staff_collection_t *c)
{
    if (c->cancelled) {
        strbuf_puts(b, "<strong class=\"govuk-tag govuk-tag--red\">Cancelled</strong>");
    } else if (c->moved) {
        strbuf_puts(b, "<strong class=\"govuk-tag govuk-tag--yellow\">Moved</strong> from ");
        put_date(b, c->original);
    } else if (c->added) {
        strbuf_puts(b, "<strong class=\"govuk-tag govuk-tag--blue\">Extra</strong>");
    } else {
        strbuf_puts(b, "As planned");
    }
    if (c->reason[0]) {
        strbuf_puts(b, "<br><span class=\"govuk-body-s\">Reason: ");
        esc(b, c->reason);
        strbuf_puts(b, "</span>");
    }
}

static void month_grid(strbuf_t *b, const staff_property_t *p, int y, int m)
{
    int first = date_from_ymd(y, m, 1), dim = date_days_in_month(y, m);
    strbuf_puts(b, "<table class=\"govuk-table console-month\">\n<caption class=\"govuk-table__caption "
                   "govuk-table__caption--s\">");
    esc(b, date_month_long(m));
    strbuf_printf(b, " %d</caption>\n<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">", y);
    static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const wdl[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    for (int i = 0; i < 7; i++)
        strbuf_printf(b, "<th scope=\"col\" class=\"govuk-table__header\"><abbr title=\"%s\">%s</abbr></th>", wdl[i],
                      wd[i]);
    strbuf_puts(b, "</tr></thead>\n<tbody class=\"govuk-table__body\">\n");
    int lead = date_weekday(first), day = 1 - lead;
    while (day <= dim) {
        strbuf_puts(b, "<tr class=\"govuk-table__row\">");
        for (int i = 0; i < 7; i++, day++) {
            if (day < 1 || day > dim) {
                strbuf_puts(b, "<td class=\"govuk-table__cell\"></td>");
                continue;
            }
            int d = first + day - 1;
            strbuf_printf(b, "<td class=\"govuk-table__cell%s\"><span class=\"console-day\">%d</span>",
                          d == today() ? " console-today" : "", day);
            for (size_t k = 0; k < p->n_collections; k++) {
                const staff_collection_t *c = &p->collections[k];
                if (c->date != d)
                    continue;
                strbuf_printf(b, "<span class=\"console-bin%s\">", c->cancelled ? " console-bin--cancelled" : "");
                esc(b, c->service_name);
                if (c->cancelled)
                    strbuf_puts(b, " (cancelled)");
                else if (c->moved)
                    strbuf_puts(b, " (moved)");
                else if (c->added)
                    strbuf_puts(b, " (extra)");
                strbuf_puts(b, "</span>");
            }
            strbuf_puts(b, "</td>");
        }
        strbuf_puts(b, "</tr>\n");
    }
    strbuf_puts(b, "</tbody>\n</table>\n");
}

static int on_property(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_VIEWER) != 0)
        return 0;
    h2o_iovec_t path = req->path_normalized;
    uint64_t uprn = 0;
    size_t digits = 0;
    for (size_t i = sizeof("/property/") - 1; i < path.len; i++, digits++) {
        if (path.base[i] < '0' || path.base[i] > '9' || digits >= 12) {
            digits = 0;
            break;
        }
        uprn = uprn * 10 + (uint64_t)(path.base[i] - '0');
    }
    char err[300];
    int rc = digits ? staff_property_get(t_view, uprn, today(), t_prop, err, sizeof(err)) : STAFF_NOT_FOUND;
    if (rc == STAFF_NOT_FOUND) {
        send_message(req, &pc, 404, "Property not found", "There is no property with that UPRN. Search again.");
        return 0;
    }
    if (rc != 0) {
        log_error("console.property", "rid=%s reason=\"%s\"", server_request_id(req), err);
        send_message(req, &pc, 500, "Sorry, there is a problem", "The property could not be read. Try again.");
        return 0;
    }
    const staff_property_t *p = t_prop;
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, p->address);
    strbuf_puts(&b, "<span class=\"govuk-caption-l\">UPRN ");
    strbuf_printf(&b, "%llu</span>\n<h1 class=\"govuk-heading-l\">", (unsigned long long)p->uprn);
    esc(&b, p->address);
    strbuf_puts(&b, "</h1>\n");
    /* notices in force */
    strbuf_puts(&b, "<h2 class=\"govuk-heading-m\">Notices in force</h2>\n");
    if (p->n_notices == 0)
        strbuf_puts(&b, "<p class=\"govuk-body\">None.</p>\n");
    for (size_t i = 0; i < p->n_notices; i++) {
        strbuf_puts(&b, "<div class=\"govuk-inset-text\">");
        esc(&b, p->notices[i].message);
        strbuf_puts(&b, "<br><span class=\"govuk-body-s\">From ");
        put_date(&b, p->notices[i].from);
        strbuf_puts(&b, " to ");
        put_date(&b, p->notices[i].to);
        strbuf_puts(&b, "</span></div>\n");
    }
    /* the list */
    strbuf_puts(&b, "<h2 class=\"govuk-heading-m\">Collections from ");
    put_date(&b, p->from);
    strbuf_puts(&b, " to ");
    put_date(&b, p->to);
    strbuf_puts(&b, "</h2>\n<table class=\"govuk-table\">\n<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">"
                    "<th scope=\"col\" class=\"govuk-table__header\">Date</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">Bin</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">Status</th></tr></thead>\n"
                    "<tbody class=\"govuk-table__body\">\n");
    for (size_t i = 0; i < p->n_collections; i++) {
        const staff_collection_t *c = &p->collections[i];
        strbuf_puts(&b, "<tr class=\"govuk-table__row\"><td class=\"govuk-table__cell\">");
        put_date(&b, c->date);
        strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
        esc(&b, c->service_name);
        if (c->colour[0]) {
            strbuf_puts(&b, " <span class=\"govuk-hint\">(");
            esc(&b, c->colour);
            strbuf_puts(&b, ")</span>");
        }
        strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
        status_text(&b, c);
        strbuf_puts(&b, "</td></tr>\n");
    }
    strbuf_puts(&b, "</tbody>\n</table>\n");
    if (p->truncated)
        strbuf_puts(&b, "<p class=\"govuk-body\">More collections than can be listed: the list stops early.</p>\n");
    /* the month grid */
    strbuf_puts(&b, "<h2 class=\"govuk-heading-m\">Month by month</h2>\n");
    int y, m, d, y2, m2;
    date_to_ymd(p->from, &y, &m, &d);
    date_to_ymd(p->to, &y2, &m2, &d);
    for (int guard = 0; guard < 6 && (y < y2 || (y == y2 && m <= m2)); guard++) {
        month_grid(&b, p, y, m);
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    /* the calendar feed */
    strbuf_puts(&b, "<h2 class=\"govuk-heading-m\">Calendar feed</h2>\n<p class=\"govuk-body\">Residents can add this "
                    "link to their phone or computer calendar:</p>\n<p class=\"govuk-body console-feed\">");
    const char *link = p->feed_url[0] ? p->feed_url : p->feed_path;
    strbuf_puts(&b, "<a class=\"govuk-link\" href=\"");
    esc(&b, link);
    strbuf_puts(&b, "\">");
    esc(&b, link);
    strbuf_puts(&b, "</a></p>\n");
    if (staff_role_allows((staff_role_t)pc.s.role, STAFF_ROLE_EDITOR))
        strbuf_puts(&b, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/exceptions\">Move, cancel or add a "
                        "collection for a round</a></p>\n");
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

/* ---- edits: one flow for every kind --------------------------------------------
 * form -> POST .../preview (read only: staff_edit_preview) -> a page with what
 * would change and the same values in hidden fields -> POST .../apply (on the
 * store writer: staff_edit_submit) -> the outcome. Notices skip the preview. */

static void hidden(strbuf_t *b, const char *name, const char *value)
{
    strbuf_puts(b, "<input type=\"hidden\" name=\"");
    esc(b, name);
    strbuf_puts(b, "\" value=\"");
    esc(b, value);
    strbuf_puts(b, "\">\n");
}

static void result_details(strbuf_t *b, const staff_result_t *r)
{
    if (r->properties || r->n_dates) {
        strbuf_printf(b, "<p class=\"govuk-body\">Properties affected: <strong>%zu</strong></p>\n", r->properties);
        if (r->n_dates) {
            strbuf_puts(b, "<p class=\"govuk-body\">Dates:</p>\n<ul class=\"govuk-list govuk-list--bullet\">\n");
            for (size_t i = 0; i < r->n_dates; i++) {
                strbuf_puts(b, "<li>");
                put_date(b, r->dates[i]);
                strbuf_puts(b, "</li>\n");
            }
            strbuf_puts(b, "</ul>\n");
        }
    }
    int any = 0;
    for (int t = 0; t < 6; t++)
        any |= r->diff[t].given || r->diff[t].added || r->diff[t].changed || r->diff[t].removed;
    if (any) {
        strbuf_puts(b, "<table class=\"govuk-table\">\n<caption class=\"govuk-table__caption govuk-table__caption--m\">"
                       "Rows per table</caption>\n<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">"
                       "<th scope=\"col\" class=\"govuk-table__header\">Table</th>"
                       "<th scope=\"col\" class=\"govuk-table__header govuk-table__header--numeric\">Added</th>"
                       "<th scope=\"col\" class=\"govuk-table__header govuk-table__header--numeric\">Changed</th>"
                       "<th scope=\"col\" class=\"govuk-table__header govuk-table__header--numeric\">Removed</th>"
                       "<th scope=\"col\" class=\"govuk-table__header govuk-table__header--numeric\">Unchanged</th>"
                       "</tr></thead>\n<tbody class=\"govuk-table__body\">\n");
        for (int t = 0; t < 6; t++) {
            const staff_table_diff_t *d = &r->diff[t];
            if (!(d->given || d->added || d->changed || d->removed))
                continue;
            strbuf_puts(b, "<tr class=\"govuk-table__row\"><th scope=\"row\" class=\"govuk-table__header\">");
            esc(b, import_table_name((import_table_t)t));
            strbuf_printf(b, "</th><td class=\"govuk-table__cell govuk-table__cell--numeric\">%zu</td>"
                             "<td class=\"govuk-table__cell govuk-table__cell--numeric\">%zu</td>"
                             "<td class=\"govuk-table__cell govuk-table__cell--numeric\">%zu</td>"
                             "<td class=\"govuk-table__cell govuk-table__cell--numeric\">%zu</td></tr>\n",
                          d->added, d->changed, d->removed, d->unchanged);
        }
        strbuf_puts(b, "</tbody>\n</table>\n");
    }
}

static void result_errors(strbuf_t *b, const staff_result_t *r, const char *field_id)
{
    strbuf_puts(b, "<div class=\"govuk-error-summary\" data-module=\"govuk-error-summary\">\n<div role=\"alert\">\n"
                   "<h2 class=\"govuk-error-summary__title\">There is a problem</h2>\n"
                   "<div class=\"govuk-error-summary__body\">\n<p class=\"govuk-body\">");
    esc(b, r->message[0] ? r->message : "The change cannot be made.");
    strbuf_puts(b, "</p>\n<ul class=\"govuk-list govuk-error-summary__list\">\n");
    for (size_t i = 0; i < r->n_errors; i++) {
        strbuf_puts(b, "<li><a href=\"#");
        esc(b, field_id);
        strbuf_puts(b, "\">");
        esc(b, r->errors[i]);
        strbuf_puts(b, "</a></li>\n");
    }
    if (r->n_errors_total > r->n_errors)
        strbuf_printf(b, "<li>and %zu more</li>\n", r->n_errors_total - r->n_errors);
    strbuf_puts(b, "</ul>\n</div>\n</div>\n</div>\n");
}

/* Edit fields read from a form; strings point into the form. */
typedef struct edit_form {
    staff_edit_t e;
    const char *kind_name; /* "move", "cancel", "add", "publish", "expire", "upload" */
    staff_upload_file_t files[IMPORT_N_TABLES];
    char bad_field[32];
    char bad_msg[160];
} edit_form_t;

static int form_date(const webform_t *f, const char *name, int *out)
{
    const char *v = fval(f, name);
    return date_parse(v, strlen(v), out);
}

/* 0, or -1 with bad_field/bad_msg for the error summary */
static int read_edit(const webform_t *f, edit_form_t *ef)
{
    memset(ef, 0, sizeof(*ef));
    const char *k = fval(f, "kind");
    ef->kind_name = k;
#define BAD(field, msg)                                                                                                \
    do {                                                                                                               \
        snprintf(ef->bad_field, sizeof(ef->bad_field), "%s", field);                                                   \
        snprintf(ef->bad_msg, sizeof(ef->bad_msg), "%s", msg);                                                         \
        return -1;                                                                                                     \
    } while (0)
    if (strcmp(k, "move") == 0 || strcmp(k, "cancel") == 0 || strcmp(k, "add") == 0) {
        ef->e.kind = k[0] == 'm' ? STAFF_EDIT_MOVE : k[0] == 'c' ? STAFF_EDIT_CANCEL : STAFF_EDIT_ADD;
        ef->e.round_id = fval(f, "round");
        if (ef->e.round_id[0] == 0)
            BAD("round", "Select a round");
        ef->e.reason = fval(f, "reason");
        if (ef->e.kind != STAFF_EDIT_ADD && form_date(f, "date", &ef->e.date) != 0)
            BAD("date", "Enter the collection date as YYYY-MM-DD, for example 2026-12-21");
        if (ef->e.kind != STAFF_EDIT_CANCEL && form_date(f, "new_date", &ef->e.new_date) != 0)
            BAD("new_date", "Enter the new date as YYYY-MM-DD, for example 2026-12-22");
        if (ef->e.kind == STAFF_EDIT_CANCEL && ef->e.reason[0] == 0)
            BAD("reason", "Enter the reason for the cancellation");
        return 0;
    }
    if (strcmp(k, "publish") == 0) {
        ef->e.kind = STAFF_EDIT_NOTICE_PUBLISH;
        ef->e.scope = fval(f, "scope");
        ef->e.message = fval(f, "message");
        if (ef->e.message[0] == 0)
            BAD("message", "Enter the notice's message");
        if (form_date(f, "from", &ef->e.from) != 0)
            BAD("from", "Enter the first day as YYYY-MM-DD");
        if (form_date(f, "to", &ef->e.to) != 0)
            BAD("to", "Enter the last day as YYYY-MM-DD");
        return 0;
    }
    if (strcmp(k, "expire") == 0) {
        ef->e.kind = STAFF_EDIT_NOTICE_EXPIRE;
        ef->e.notice_id = fval(f, "notice_id");
        ef->e.from = today();
        return 0;
    }
    if (strcmp(k, "holidays") == 0) {
        ef->e.kind = STAFF_EDIT_HOLIDAYS;
        const char *y = fval(f, "year");
        ef->e.year = (int)strtol(y, NULL, 10);
        if (strlen(y) != 4 || ef->e.year < 2000 || ef->e.year > 2100)
            BAD("year", "Choose a year");
        return 0; /* n_dates 0: every proposal of the year not yet accepted */
    }
    if (strcmp(k, "upload") == 0) {
        /* one optional file input per table, "file-addresses" ... */
        ef->e.kind = STAFF_EDIT_UPLOAD;
        for (int t = 0; t < IMPORT_N_TABLES; t++) {
            char name[40];
            snprintf(name, sizeof(name), "file-%s", import_table_name((import_table_t)t));
            const webform_field_t *file = webform_get(f, name);
            if (file == NULL || file->value_len == 0)
                continue;
            staff_upload_file_t *u = &ef->files[ef->e.n_files++];
            u->table = t;
            u->name = file->filename && file->filename[0] ? file->filename : import_table_name((import_table_t)t);
            u->data = (const uint8_t *)file->value;
            u->len = file->value_len;
        }
        ef->e.files = ef->files;
        if (ef->e.n_files == 0)
            BAD("file-addresses", "Select at least one CSV file");
        return 0;
    }
    BAD("kind", "Choose what to change");
#undef BAD
}

static const char *back_page(const edit_form_t *ef)
{
    switch (ef->e.kind) {
    case STAFF_EDIT_NOTICE_PUBLISH:
    case STAFF_EDIT_NOTICE_EXPIRE:
        return "/notices";
    case STAFF_EDIT_UPLOAD:
        return "/uploads";
    case STAFF_EDIT_HOLIDAYS:
        return "/holidays";
    default:
        return "/exceptions";
    }
}

static void edit_summary(strbuf_t *b, const edit_form_t *ef)
{
    const staff_edit_t *e = &ef->e;
    strbuf_puts(b, "<dl class=\"govuk-summary-list\">\n");
#define ROW(k)                                                                                                        \
    strbuf_puts(b, "<div class=\"govuk-summary-list__row\"><dt class=\"govuk-summary-list__key\">" k                  \
                   "</dt><dd class=\"govuk-summary-list__value\">")
#define END strbuf_puts(b, "</dd></div>\n")
    switch (e->kind) {
    case STAFF_EDIT_MOVE:
    case STAFF_EDIT_CANCEL:
    case STAFF_EDIT_ADD:
        ROW("Change");
        esc(b, e->kind == STAFF_EDIT_MOVE ? "Move a collection" : e->kind == STAFF_EDIT_CANCEL ? "Cancel a collection"
                                                                                              : "Add an extra collection");
        END;
        ROW("Round");
        esc(b, e->round_id);
        END;
        if (e->kind != STAFF_EDIT_ADD) {
            ROW("Collection date");
            put_date(b, e->date);
            END;
        }
        if (e->kind != STAFF_EDIT_CANCEL) {
            ROW("New date");
            put_date(b, e->new_date);
            END;
        }
        ROW("Reason");
        esc(b, e->reason && e->reason[0] ? e->reason : "None given");
        END;
        break;
    case STAFF_EDIT_NOTICE_PUBLISH:
        ROW("Message");
        esc(b, e->message);
        END;
        ROW("Who");
        esc(b, e->scope[0] ? e->scope : "all");
        END;
        ROW("From");
        put_date(b, e->from);
        END;
        ROW("To");
        put_date(b, e->to);
        END;
        break;
    case STAFF_EDIT_HOLIDAYS:
        ROW("Change");
        strbuf_printf(b, "Accept the bank-holiday proposals of %d", e->year);
        END;
        break;
    case STAFF_EDIT_UPLOAD:
        for (size_t i = 0; i < e->n_files; i++) {
            ROW("File");
            esc(b, e->files[i].name);
            strbuf_puts(b, " (");
            esc(b, import_table_name((import_table_t)e->files[i].table));
            strbuf_printf(b, " table, %zu bytes)", e->files[i].len);
            END;
        }
        break;
    default:
        break;
    }
#undef ROW
#undef END
    strbuf_puts(b, "</dl>\n");
}

/* the form's values again, for the confirm button */
static void edit_hidden(strbuf_t *b, const webform_t *f)
{
    static const char *const keep[] = {"kind", "round", "date", "new_date", "reason", "scope", "message",
                                       "from", "to", "notice_id", "year"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const webform_field_t *x = webform_get(f, keep[i]);
        if (x != NULL)
            hidden(b, keep[i], x->value);
    }
}

static void form_problem(h2o_req_t *req, const page_ctx_t *pc, const edit_form_t *ef)
{
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, pc, "Error: Check the change");
    error_summary(&b, ef->bad_field, ef->bad_msg);
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\" id=\"");
    esc(&b, ef->bad_field);
    strbuf_puts(&b, "\">Check the change</h1>\n<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"");
    esc(&b, back_page(ef));
    strbuf_puts(&b, "\">Go back and correct it</a></p>\n");
    page_end(&b);
    send_page(req, 400, &b);
}

/* ---- uploads between their preview and their confirmation ------------------------
 * The files stay on the server, not in the confirm form (tables of a district
 * run to megabytes): a bounded table of stashes, one per account at most,
 * named by a random token that the confirm form carries, taken (removed) by
 * the apply, dropped after STASH_TTL_S or when space is needed. */
#define STASH_MAX 16
#define STASH_TTL_S (30 * 60)
#define STASH_BYTES_MAX ((size_t)128 << 20)

typedef struct upload_stash {
    char token[SESSION_HEX + 1];
    char user[SESSION_USER_MAX + 1];
    int64_t at;
    size_t n, bytes;
    staff_upload_file_t files[IMPORT_N_TABLES]; /* name and data owned */
} upload_stash_t;

static upload_stash_t *stashes[STASH_MAX];
static pthread_mutex_t stash_mu = PTHREAD_MUTEX_INITIALIZER;

static void stash_free(upload_stash_t *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n; i++) {
        free((void *)u->files[i].name);
        free((void *)u->files[i].data);
    }
    free(u);
}

/* Keep a copy of e's files for user; the token in token. 0, or -1 (no room). */
static int stash_put(const char *user, const staff_edit_t *e, char token[SESSION_HEX + 1])
{
    char cookie[SESSION_HEX + 1];
    if (session_token(cookie) != 0)
        return -1;
    upload_stash_t *u = xcalloc(1, sizeof(*u));
    memcpy(u->token, cookie, sizeof(u->token));
    snprintf(u->user, sizeof(u->user), "%s", user);
    u->at = now_s();
    for (size_t i = 0; i < e->n_files; i++) {
        staff_upload_file_t *f = &u->files[u->n++];
        f->table = e->files[i].table;
        f->name = xstrdup(e->files[i].name);
        uint8_t *d = xmalloc(e->files[i].len + 1);
        memcpy(d, e->files[i].data, e->files[i].len);
        f->data = d;
        f->len = e->files[i].len;
        u->bytes += f->len;
    }
    pthread_mutex_lock(&stash_mu);
    size_t total = u->bytes;
    int64_t now = u->at;
    for (int i = 0; i < STASH_MAX; i++) {
        upload_stash_t *x = stashes[i];
        if (x != NULL && (strcmp(x->user, user) == 0 || now - x->at >= STASH_TTL_S)) {
            stash_free(x);
            stashes[i] = NULL;
        } else if (x != NULL) {
            total += x->bytes;
        }
    }
    /* room: the oldest go first */
    for (;;) {
        int oldest = -1, fr = -1;
        for (int i = 0; i < STASH_MAX; i++) {
            if (stashes[i] == NULL)
                fr = fr < 0 ? i : fr;
            else if (oldest < 0 || stashes[i]->at < stashes[oldest]->at)
                oldest = i;
        }
        if (fr >= 0 && total <= STASH_BYTES_MAX) {
            stashes[fr] = u;
            break;
        }
        if (oldest < 0) { /* alone and still too big */
            pthread_mutex_unlock(&stash_mu);
            stash_free(u);
            return -1;
        }
        total -= stashes[oldest]->bytes;
        stash_free(stashes[oldest]);
        stashes[oldest] = NULL;
    }
    pthread_mutex_unlock(&stash_mu);
    memcpy(token, cookie, SESSION_HEX + 1);
    return 0;
}

static void stash_clear(void)
{
    pthread_mutex_lock(&stash_mu);
    for (int i = 0; i < STASH_MAX; i++) {
        stash_free(stashes[i]);
        stashes[i] = NULL;
    }
    pthread_mutex_unlock(&stash_mu);
}

/* Take user's stash named tok (untrusted bytes): the caller owns it. */
static upload_stash_t *stash_take(const char *user, const char *tok, size_t len)
{
    upload_stash_t *got = NULL;
    pthread_mutex_lock(&stash_mu);
    for (int i = 0; i < STASH_MAX; i++) {
        upload_stash_t *x = stashes[i];
        if (x != NULL && len == SESSION_HEX && CRYPTO_memcmp(x->token, tok, SESSION_HEX) == 0 &&
            strcmp(x->user, user) == 0 && now_s() - x->at < STASH_TTL_S) {
            got = x;
            stashes[i] = NULL;
        }
    }
    pthread_mutex_unlock(&stash_mu);
    return got;
}

/* A preview runs on libuv's thread pool, not on the loop: it reads (one read
 * txn of its own), and an upload's dry run parses and diffs whole tables
 * (~300 ms for the assignments of 60,000 properties, "Speed of the core").
 * The job owns the form, which the edit's strings point into. */
typedef struct preview_job {
    uv_work_t work;
    h2o_req_t *req;
    server_pending_t *pending;
    int gone;
    page_ctx_t pc;
    webform_t f;
    edit_form_t ef;
    staff_result_t *r;
    int rc;
    char err[300];
} preview_job_t;

static void preview_gone(void *ud)
{
    ((preview_job_t *)ud)->gone = 1;
}

static void preview_work(uv_work_t *w)
{
    preview_job_t *j = w->data;
    staff_actor_t a = actor_of(&j->pc);
    j->rc = staff_edit_preview(g_conf.staff, &a, &j->ef.e, &j->r, j->err, sizeof(j->err));
}

static void preview_render(h2o_req_t *req, preview_job_t *j)
{
    const page_ctx_t *pc = &j->pc;
    staff_result_t *r = j->r;
    int rc = j->rc;
    if (r == NULL) {
        log_error("console.preview", "rid=%s reason=\"%s\"", server_request_id(req), j->err);
        send_message(req, pc, 500, "Sorry, there is a problem", "The preview failed. Try again.");
        return;
    }
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, pc, rc == 0 ? "Check the change" : "Error: Check the change");
    if (rc != 0)
        result_errors(&b, r, "change");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\" id=\"change\">Check the change before saving</h1>\n");
    edit_summary(&b, &j->ef);
    result_details(&b, r);
    char token[SESSION_HEX + 1] = "";
    if (rc == 0 && j->ef.e.kind == STAFF_EDIT_UPLOAD && stash_put(pc->s.user, &j->ef.e, token) != 0) {
        rc = STAFF_REJECTED;
        strbuf_puts(&b, "<p class=\"govuk-body\">The files are too large to keep for confirming. Upload fewer "
                        "at once.</p>\n");
    }
    if (rc == 0) {
        strbuf_puts(&b, "<form method=\"post\" action=\"/edit/apply\">\n");
        csrf_field(&b, pc);
        edit_hidden(&b, &j->f);
        if (token[0])
            hidden(&b, "upload", token);
        strbuf_puts(&b, "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Confirm and save"
                        "</button>\n</form>\n");
    }
    strbuf_puts(&b, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"");
    esc(&b, back_page(&j->ef));
    strbuf_puts(&b, "\">Cancel and go back</a></p>\n");
    page_end(&b);
    send_page(req, rc == 0 ? 200 : 422, &b);
}

static void preview_done(uv_work_t *w, int status)
{
    preview_job_t *j = w->data;
    if (!j->gone) {
        server_pending_end(j->pending);
        j->pc.req = j->req;
        if (status != 0)
            j->rc = STAFF_ERROR;
        preview_render(j->req, j);
    }
    staff_result_free(j->r);
    webform_free(&j->f);
    free(j);
}

static int on_edit_preview(server_thread_t *t, h2o_req_t *req)
{
    preview_job_t *j = xcalloc(1, sizeof(*j));
    j->work.data = j;
    j->req = req;
    if (action_begin(req, &j->pc, &j->f, STAFF_ROLE_EDITOR) != 0) {
        free(j);
        return 0;
    }
    if (read_edit(&j->f, &j->ef) != 0) {
        form_problem(req, &j->pc, &j->ef);
        webform_free(&j->f);
        free(j);
        return 0;
    }
    j->pending = server_pending_begin(req, preview_gone, j);
    if (uv_queue_work(&t->loop, &j->work, preview_work, preview_done) != 0) {
        server_pending_end(j->pending);
        send_message(req, &j->pc, 503, "Sorry, the service is busy", "Try again in a minute.");
        webform_free(&j->f);
        free(j);
    }
    return 0;
}

typedef struct apply_job {
    h2o_req_t *req;
    server_pending_t *pending;
    writer_job_t *job;
    int in_submit, finished;
    page_ctx_t pc;
    char back[16];
} apply_job_t;

static void apply_gone(void *ud)
{
    apply_job_t *j = ud;
    if (j->job != NULL)
        writer_abandon(j->job); /* done will not run: free here */
    free(j);
}

static void apply_done(void *ud, staff_result_t *r)
{
    apply_job_t *j = ud;
    server_pending_end(j->pending);
    h2o_req_t *req = j->req;
    j->pc.req = req;
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    int ok = r != NULL && r->rc == 0;
    if (ok)
        atomic_fetch_add(&g_edits, 1);
    page_start(&b, &j->pc, ok ? "Change saved" : "Error: Change not saved");
    if (ok) {
        strbuf_puts(&b, "<div class=\"govuk-panel govuk-panel--confirmation\">\n<h1 class=\"govuk-panel__title\">"
                        "Change saved</h1>\n<div class=\"govuk-panel__body\">");
        esc(&b, r->message[0] ? r->message : "The change is live for residents now.");
        strbuf_puts(&b, "</div>\n</div>\n");
        result_details(&b, r);
    } else if (r != NULL) {
        result_errors(&b, r, "change");
        strbuf_puts(&b, "<h1 class=\"govuk-heading-l\" id=\"change\">Change not saved</h1>\n");
    }
    strbuf_puts(&b, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"");
    esc(&b, j->back);
    strbuf_puts(&b, "\">Make another change</a></p>\n");
    page_end(&b);
    staff_result_free(r);
    if (j->in_submit)
        j->finished = 1;
    else
        free(j);
    send_page(req, ok ? 200 : 422, &b);
}

static int on_edit_apply(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    webform_t f;
    if (action_begin(req, &pc, &f, STAFF_ROLE_EDITOR) != 0)
        return 0;
    edit_form_t ef;
    upload_stash_t *up = NULL;
    if (strcmp(fval(&f, "kind"), "upload") == 0) {
        /* the files kept at the preview */
        const webform_field_t *tok = webform_get(&f, "upload");
        up = tok ? stash_take(pc.s.user, tok->value, tok->value_len) : NULL;
        if (up == NULL) {
            webform_free(&f);
            send_message(req, &pc, 409, "Upload again", "The checked files are no longer kept (they are kept for 30 "
                                                        "minutes, one upload per account). Upload them again.");
            return 0;
        }
        memset(&ef, 0, sizeof(ef));
        ef.e.kind = STAFF_EDIT_UPLOAD;
        ef.e.files = up->files;
        ef.e.n_files = up->n;
    } else if (read_edit(&f, &ef) != 0) {
        form_problem(req, &pc, &ef);
        webform_free(&f);
        return 0;
    }
    apply_job_t *j = xcalloc(1, sizeof(*j));
    j->req = req;
    j->pc = pc;
    snprintf(j->back, sizeof(j->back), "%s", back_page(&ef));
    staff_actor_t a = actor_of(&pc);
    j->pending = server_pending_begin(req, apply_gone, j);
    /* the edit is copied by submit; the form can go after it. Without a
     * writer, done runs inside submit: it leaves j to us then. */
    writer_job_t *job = NULL;
    j->in_submit = 1;
    int rc = staff_edit_submit(g_conf.staff, t_port, &a, &ef.e, apply_done, j, &job);
    j->in_submit = 0;
    webform_free(&f);
    stash_free(up); /* submit copied the files */
    if (rc != 0) {
        server_pending_end(j->pending);
        free(j);
        send_message(req, &pc, 503, "Sorry, the service is busy", "Nothing was changed. Try again in a minute.");
        return 0;
    }
    if (j->finished)
        free(j);
    else
        j->job = job;
    return 0;
}

/* ---- the editors' forms ------------------------------------------------------------ */

static void text_field(strbuf_t *b, const char *id, const char *label, const char *hint, const char *value)
{
    strbuf_puts(b, "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"");
    esc(b, id);
    strbuf_puts(b, "\">");
    esc(b, label);
    strbuf_puts(b, "</label>\n");
    if (hint) {
        strbuf_puts(b, "<div class=\"govuk-hint\" id=\"");
        esc(b, id);
        strbuf_puts(b, "-hint\">");
        esc(b, hint);
        strbuf_puts(b, "</div>\n");
    }
    strbuf_puts(b, "<input class=\"govuk-input govuk-!-width-one-half\" type=\"text\" id=\"");
    esc(b, id);
    strbuf_puts(b, "\" name=\"");
    esc(b, id);
    if (hint) {
        strbuf_puts(b, "\" aria-describedby=\"");
        esc(b, id);
        strbuf_puts(b, "-hint");
    }
    strbuf_puts(b, "\" value=\"");
    esc(b, value ? value : "");
    strbuf_puts(b, "\">\n</div>\n");
}

static void round_select(strbuf_t *b, const staff_round_info_t *r, size_t n)
{
    strbuf_puts(b, "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"round\">Round</label>\n"
                   "<select class=\"govuk-select\" id=\"round\" name=\"round\">\n"
                   "<option value=\"*\">Every round</option>\n");
    for (size_t i = 0; i < n; i++) {
        strbuf_puts(b, "<option value=\"");
        esc(b, r[i].round_id);
        strbuf_puts(b, "\">");
        esc(b, r[i].round_id);
        strbuf_puts(b, ": ");
        esc(b, r[i].service_name);
        strbuf_printf(b, ", %s, %zu properties</option>\n", date_weekday_long(r[i].weekday), r[i].properties);
    }
    strbuf_puts(b, "</select>\n</div>\n");
}

static int on_exceptions(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_EDITOR) != 0)
        return 0;
    char err[300];
    int64_t now = now_s();
    unsigned long edits = atomic_load(&g_edits);
    if (t_rounds == NULL || now - t_rounds_at >= ROUNDS_TTL_S || edits != t_rounds_edits) {
        free(t_rounds);
        t_rounds = NULL;
        t_n_rounds = 0;
        if (staff_rounds_list(t_view, &t_rounds, &t_n_rounds, err, sizeof(err)) != 0) {
            log_error("console.rounds", "rid=%s reason=\"%s\"", server_request_id(req), err);
            t_rounds = NULL;
            t_n_rounds = 0;
        } else {
            t_rounds_at = now;
            t_rounds_edits = edits;
        }
    }
    const staff_round_info_t *rounds = t_rounds;
    size_t n = t_n_rounds;
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, "Exceptions");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Move, cancel or add a collection</h1>\n"
                    "<p class=\"govuk-body\">You will see which properties and dates change before anything is saved."
                    "</p>\n<form method=\"post\" action=\"/edit/preview\">\n");
    csrf_field(&b, &pc);
    strbuf_puts(&b, "<div class=\"govuk-form-group\">\n<fieldset class=\"govuk-fieldset\">\n"
                    "<legend class=\"govuk-fieldset__legend govuk-fieldset__legend--m\">What do you want to do?</legend>\n"
                    "<div class=\"govuk-radios\" data-module=\"govuk-radios\">\n");
    static const char *const kinds[][2] = {{"move", "Move a collection to another date"},
                                           {"cancel", "Cancel a collection"},
                                           {"add", "Add an extra collection"}};
    for (int i = 0; i < 3; i++)
        strbuf_printf(&b, "<div class=\"govuk-radios__item\"><input class=\"govuk-radios__input\" id=\"kind-%s\" "
                          "name=\"kind\" type=\"radio\" value=\"%s\"%s><label class=\"govuk-label govuk-radios__label\" "
                          "for=\"kind-%s\">%s</label></div>\n",
                      kinds[i][0], kinds[i][0], i == 0 ? " checked" : "", kinds[i][0], kinds[i][1]);
    strbuf_puts(&b, "</div>\n</fieldset>\n</div>\n");
    round_select(&b, rounds, n);
    text_field(&b, "date", "Collection date", "The planned date (not for an extra collection), for example 2026-12-21",
               NULL);
    text_field(&b, "new_date", "New date", "Where it moves to, or the extra collection's date, for example 2026-12-22",
               NULL);
    text_field(&b, "reason", "Reason", "Residents hear this. Required for a cancellation", NULL);
    strbuf_puts(&b, "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Preview the change"
                    "</button>\n</form>\n");
    /* exceptions around today */
    staff_exception_info_t *ex = NULL;
    size_t ne = 0;
    if (staff_exceptions_list(t_view, today() - 28, today() + 84, &ex, &ne, err, sizeof(err)) == 0 && ne > 0) {
        strbuf_puts(&b, "<h2 class=\"govuk-heading-m\">Exceptions from 4 weeks ago to 12 weeks ahead</h2>\n"
                        "<table class=\"govuk-table\">\n<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">"
                        "<th scope=\"col\" class=\"govuk-table__header\">Round</th>"
                        "<th scope=\"col\" class=\"govuk-table__header\">Planned</th>"
                        "<th scope=\"col\" class=\"govuk-table__header\">Now</th>"
                        "<th scope=\"col\" class=\"govuk-table__header\">Reason</th></tr></thead>\n"
                        "<tbody class=\"govuk-table__body\">\n");
        for (size_t i = 0; i < ne; i++) {
            strbuf_puts(&b, "<tr class=\"govuk-table__row\"><td class=\"govuk-table__cell\">");
            esc(&b, ex[i].round_id);
            strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
            if (ex[i].original > DATE_NONE_LO && ex[i].original < DATE_NONE_HI)
                put_date(&b, ex[i].original);
            else
                strbuf_puts(&b, "Extra");
            strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
            if (ex[i].new_date > DATE_NONE_LO && ex[i].new_date < DATE_NONE_HI)
                put_date(&b, ex[i].new_date);
            else
                strbuf_puts(&b, "Cancelled");
            strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
            esc(&b, ex[i].reason);
            strbuf_puts(&b, "</td></tr>\n");
        }
        strbuf_puts(&b, "</tbody>\n</table>\n");
    }
    free(ex);
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

static int on_notices(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_EDITOR) != 0)
        return 0;
    char err[300];
    staff_notice_t *nl = NULL;
    size_t n = 0;
    if (staff_notices_list(t_view, today(), &nl, &n, err, sizeof(err)) != 0)
        n = 0;
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, "Notices");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Notices</h1>\n");
    if (n == 0)
        strbuf_puts(&b, "<p class=\"govuk-body\">There are no notices.</p>\n");
    for (size_t i = 0; i < n; i++) {
        strbuf_puts(&b, "<div class=\"govuk-summary-card\"><div class=\"govuk-summary-card__content\">\n"
                        "<p class=\"govuk-body\">");
        esc(&b, nl[i].message);
        strbuf_puts(&b, "</p>\n<p class=\"govuk-body-s\">");
        esc(&b, nl[i].scope);
        strbuf_puts(&b, ", ");
        put_date(&b, nl[i].from);
        strbuf_puts(&b, " to ");
        put_date(&b, nl[i].to);
        strbuf_puts(&b, nl[i].in_force ? " (in force)" : "");
        strbuf_puts(&b, "</p>\n<form method=\"post\" action=\"/edit/apply\">\n");
        csrf_field(&b, &pc);
        hidden(&b, "kind", "expire");
        hidden(&b, "notice_id", nl[i].notice_id);
        strbuf_puts(&b, "<button type=\"submit\" class=\"govuk-button govuk-button--warning\" "
                        "data-module=\"govuk-button\">Expire<span class=\"govuk-visually-hidden\"> notice ");
        esc(&b, nl[i].notice_id);
        strbuf_puts(&b, "</span></button>\n</form>\n</div></div>\n");
    }
    free(nl);
    strbuf_puts(&b, "<h2 class=\"govuk-heading-m\">Publish a notice</h2>\n<form method=\"post\" action=\"/edit/preview\">\n");
    csrf_field(&b, &pc);
    hidden(&b, "kind", "publish");
    strbuf_puts(&b, "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"message\">Message</label>\n"
                    "<div class=\"govuk-hint\" id=\"message-hint\">Residents hear this when they ask about their bins"
                    "</div>\n<textarea class=\"govuk-textarea\" id=\"message\" name=\"message\" rows=\"3\" "
                    "aria-describedby=\"message-hint\"></textarea>\n</div>\n");
    text_field(&b, "scope", "Who it is for", "all, round:ID, service:ID or postcode:PREFIX", "all");
    char d1[11], d2[11];
    text_field(&b, "from", "First day", "For example 2026-12-21", date_format(today(), d1));
    text_field(&b, "to", "Last day", "For example 2026-12-31", date_format(today() + 14, d2));
    strbuf_puts(&b, "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Preview the notice"
                    "</button>\n</form>\n");
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

static int on_uploads(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_EDITOR) != 0)
        return 0;
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, "Upload a table");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Upload a table</h1>\n<p class=\"govuk-body\">The file is checked "
                    "first, as <code>binday import</code> does; nothing changes until you confirm.</p>\n"
                    "<form method=\"post\" action=\"/edit/preview\" enctype=\"multipart/form-data\">\n");
    csrf_field(&b, &pc);
    hidden(&b, "kind", "upload");
    strbuf_puts(&b, "<p class=\"govuk-body\">Choose a file for each table to replace; the others stay as they are. "
                    "Every file given is checked together and committed together.</p>\n");
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        const char *tn = import_table_name((import_table_t)i);
        strbuf_puts(&b, "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"file-");
        esc(&b, tn);
        strbuf_puts(&b, "\">");
        esc(&b, tn);
        strbuf_puts(&b, ".csv</label>\n<input class=\"govuk-file-upload\" type=\"file\" accept=\".csv,text/csv\" id=\"file-");
        esc(&b, tn);
        strbuf_puts(&b, "\" name=\"file-");
        esc(&b, tn);
        strbuf_puts(&b, "\">\n</div>\n");
    }
    strbuf_puts(&b, "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Check the files"
                    "</button>\n</form>\n");
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

/* ---- admin: accounts and the audit log ---------------------------------------------- */

static const char *const role_names[] = {"viewer", "editor", "admin"};

static void role_options(strbuf_t *b, staff_role_t current)
{
    for (int i = 0; i < 3; i++)
        strbuf_printf(b, "<option value=\"%s\"%s>%s</option>\n", role_names[i],
                      (int)current == i + 1 ? " selected" : "", role_names[i]);
}

static int on_admin(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_ADMIN) != 0)
        return 0;
    staff_account_t *acc = NULL;
    size_t n = 0;
    char err[300];
    if (staff_account_list(g_conf.staff, &acc, &n, err, sizeof(err)) != 0) {
        log_error("console.accounts", "rid=%s reason=\"%s\"", server_request_id(req), err);
        n = 0;
    }
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, "Accounts");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Staff accounts</h1>\n<p class=\"govuk-body\"><a class=\"govuk-link\" "
                    "href=\"/admin/audit\">Read the audit log</a></p>\n"
                    "<table class=\"govuk-table\">\n<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">"
                    "<th scope=\"col\" class=\"govuk-table__header\">Account</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">Role</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">State</th></tr></thead>\n"
                    "<tbody class=\"govuk-table__body\">\n");
    for (size_t i = 0; i < n; i++) {
        const staff_account_t *a = &acc[i];
        strbuf_puts(&b, "<tr class=\"govuk-table__row\"><td class=\"govuk-table__cell\">");
        esc(&b, a->user);
        strbuf_printf(&b, "</td><td class=\"govuk-table__cell\">\n<form method=\"post\" action=\"/admin/account\" "
                          "class=\"console-inline\">\n");
        csrf_field(&b, &pc);
        hidden(&b, "action", "role");
        hidden(&b, "user", a->user);
        strbuf_printf(&b, "<label class=\"govuk-visually-hidden\" for=\"role-%zu\">Role of ", i);
        esc(&b, a->user);
        strbuf_printf(&b, "</label>\n<select class=\"govuk-select\" id=\"role-%zu\" name=\"role\">\n", i);
        role_options(&b, a->role);
        strbuf_puts(&b, "</select>\n<button type=\"submit\" class=\"govuk-button govuk-button--secondary\" "
                        "data-module=\"govuk-button\">Change role<span class=\"govuk-visually-hidden\"> of ");
        esc(&b, a->user);
        strbuf_puts(&b, "</span></button>\n</form>\n</td><td class=\"govuk-table__cell\">\n"
                        "<form method=\"post\" action=\"/admin/account\" class=\"console-inline\">\n");
        csrf_field(&b, &pc);
        hidden(&b, "action", a->disabled ? "enable" : "disable");
        hidden(&b, "user", a->user);
        strbuf_puts(&b, a->disabled ? "Disabled " : "Active ");
        strbuf_printf(&b, "<button type=\"submit\" class=\"govuk-button %s\" data-module=\"govuk-button\">%s"
                          "<span class=\"govuk-visually-hidden\"> ",
                      a->disabled ? "govuk-button--secondary" : "govuk-button--warning",
                      a->disabled ? "Enable" : "Disable");
        esc(&b, a->user);
        strbuf_puts(&b, "</span></button>\n</form>\n</td></tr>\n");
    }
    free(acc);
    strbuf_puts(&b, "</tbody>\n</table>\n<h2 class=\"govuk-heading-m\">Add an account</h2>\n"
                    "<form method=\"post\" action=\"/admin/account\">\n");
    csrf_field(&b, &pc);
    hidden(&b, "action", "add");
    text_field(&b, "user", "Username", "Lower-case letters, digits and . _ @ -", NULL);
    strbuf_puts(&b, "<div class=\"govuk-form-group\">\n<label class=\"govuk-label\" for=\"role\">Role</label>\n"
                    "<select class=\"govuk-select\" id=\"role\" name=\"role\">\n");
    role_options(&b, STAFF_ROLE_VIEWER);
    strbuf_puts(&b, "</select>\n</div>\n<p class=\"govuk-body\">A random password is made and shown once; give it to "
                    "the person, who can have it changed with <code>binday staff passwd</code>.</p>\n"
                    "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Add the account"
                    "</button>\n</form>\n");
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

typedef struct admin_job {
    uv_work_t work;
    h2o_req_t *req;
    server_pending_t *pending;
    int gone;
    page_ctx_t pc;
    char action[16];
    char user[STAFF_USER_MAX + 1];
    staff_role_t role;
    char pw[32];
    int rc;
    char err[300];
} admin_job_t;

static void admin_gone(void *ud)
{
    ((admin_job_t *)ud)->gone = 1;
}

/* on libuv's thread pool: hashing a password takes tens of milliseconds */
static void admin_work(uv_work_t *w)
{
    admin_job_t *j = w->data;
    staff_actor_t a = actor_of(&j->pc);
    if (strcmp(j->action, "add") == 0) {
        j->rc = staff_password_random(j->pw, j->err, sizeof(j->err));
        if (j->rc == 0)
            j->rc = staff_account_add(g_conf.staff, &a, j->user, j->role, j->pw, strlen(j->pw), j->err, sizeof(j->err));
    } else if (strcmp(j->action, "role") == 0) {
        j->rc = staff_account_set_role(g_conf.staff, &a, j->user, j->role, j->err, sizeof(j->err));
    } else {
        j->rc = staff_account_set_disabled(g_conf.staff, &a, j->user, strcmp(j->action, "disable") == 0, j->err,
                                           sizeof(j->err));
    }
}

static void admin_done(uv_work_t *w, int status)
{
    admin_job_t *j = w->data;
    if (!j->gone) {
        server_pending_end(j->pending);
        h2o_req_t *req = j->req;
        j->pc.req = req;
        int ok = status == 0 && j->rc == 0;
        /* a changed role or a disabled account takes effect now: its sessions end */
        if (ok && strcmp(j->action, "add") != 0)
            session_end_user(j->user);
        strbuf_t b;
        strbuf_init(&b, PAGE_MAX);
        page_start(&b, &j->pc, ok ? "Account changed" : "Error: Account not changed");
        if (ok) {
            strbuf_puts(&b, "<div class=\"govuk-panel govuk-panel--confirmation\">\n<h1 class=\"govuk-panel__title\">");
            strbuf_puts(&b, strcmp(j->action, "add") == 0 ? "Account added" : "Account changed");
            strbuf_puts(&b, "</h1>\n<div class=\"govuk-panel__body\">");
            esc(&b, j->user);
            strbuf_puts(&b, "</div>\n</div>\n");
            if (strcmp(j->action, "add") == 0) {
                strbuf_puts(&b, "<p class=\"govuk-body\">The password, shown this once:</p>\n"
                                "<p class=\"govuk-body govuk-!-font-weight-bold console-password\">");
                esc(&b, j->pw);
                strbuf_puts(&b, "</p>\n");
            }
        } else {
            error_summary(&b, "result", j->err[0] ? j->err : "The account could not be changed");
            strbuf_puts(&b, "<h1 class=\"govuk-heading-l\" id=\"result\">Account not changed</h1>\n");
        }
        strbuf_puts(&b, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/admin\">Back to accounts</a></p>\n");
        page_end(&b);
        send_page(req, ok ? 200 : 422, &b);
    }
    OPENSSL_cleanse(j->pw, sizeof(j->pw));
    free(j);
}

static int on_admin_account(server_thread_t *t, h2o_req_t *req)
{
    page_ctx_t pc;
    webform_t f;
    if (action_begin(req, &pc, &f, STAFF_ROLE_ADMIN) != 0)
        return 0;
    admin_job_t *j = xcalloc(1, sizeof(*j));
    j->work.data = j;
    j->req = req;
    j->pc = pc;
    snprintf(j->action, sizeof(j->action), "%s", fval(&f, "action"));
    snprintf(j->user, sizeof(j->user), "%s", fval(&f, "user"));
    const char *r = fval(&f, "role");
    int need_role = strcmp(j->action, "add") == 0 || strcmp(j->action, "role") == 0;
    int known = need_role || strcmp(j->action, "disable") == 0 || strcmp(j->action, "enable") == 0;
    int bad = !known || (need_role && staff_role_parse(r, strlen(r), &j->role) != 0) || j->user[0] == 0;
    webform_free(&f);
    if (bad) {
        free(j);
        send_message(req, &pc, 400, "Check the form", "Choose an account, an action and a role.");
        return 0;
    }
    if (strcmp(j->user, pc.s.user) == 0 && strcmp(j->action, "add") != 0) {
        free(j);
        send_message(req, &pc, 422, "Not changed", "You cannot change or disable your own account here.");
        return 0;
    }
    j->pending = server_pending_begin(req, admin_gone, j);
    if (uv_queue_work(&t->loop, &j->work, admin_work, admin_done) != 0) {
        server_pending_end(j->pending);
        free(j);
        send_message(req, &pc, 503, "Sorry, the service is busy", "Nothing was changed. Try again.");
    }
    return 0;
}

typedef struct audit_page {
    strbuf_t *b;
    size_t n;
} audit_page_t;

static int audit_row(const staff_audit_entry_t *e, void *ud)
{
    audit_page_t *ap = ud;
    strbuf_t *b = ap->b;
    char when[32];
    time_t tt = (time_t)e->time;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    strbuf_puts(b, "<tr class=\"govuk-table__row\"><td class=\"govuk-table__cell\">");
    esc(b, when);
    strbuf_puts(b, "</td><td class=\"govuk-table__cell\">");
    esc(b, e->actor ? e->actor : "");
    strbuf_puts(b, "</td><td class=\"govuk-table__cell\">");
    esc(b, e->action ? e->action : "");
    strbuf_puts(b, "</td><td class=\"govuk-table__cell\">");
    esc(b, e->target ? e->target : "");
    strbuf_puts(b, "</td><td class=\"govuk-table__cell\">");
    esc(b, e->summary ? e->summary : "");
    strbuf_puts(b, "</td></tr>\n");
    ap->n++;
    return 0;
}

#define AUDIT_PAGE 50

static int on_audit(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_ADMIN) != 0)
        return 0;
    webform_t q;
    query_form(req, &q);
    uint64_t before = strtoull(fval(&q, "before"), NULL, 10), next = 0;
    webform_free(&q);
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, "Audit log");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Audit log</h1>\n<p class=\"govuk-body\">Newest first. Download all of "
                    "it as <a class=\"govuk-link\" href=\"/admin/audit.csv\">CSV</a> or <a class=\"govuk-link\" "
                    "href=\"/admin/audit.json\">JSON</a>.</p>\n<table class=\"govuk-table\">\n"
                    "<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">"
                    "<th scope=\"col\" class=\"govuk-table__header\">When</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">Who</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">What</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">Target</th>"
                    "<th scope=\"col\" class=\"govuk-table__header\">Summary</th></tr></thead>\n"
                    "<tbody class=\"govuk-table__body\">\n");
    audit_page_t ap = {&b, 0};
    char err[300];
    if (staff_audit_each_newest(g_conf.staff, before, AUDIT_PAGE, audit_row, &ap, &next, err, sizeof(err)) != 0)
        log_error("console.audit_read", "rid=%s reason=\"%s\"", server_request_id(req), err);
    strbuf_puts(&b, "</tbody>\n</table>\n");
    if (next != 0)
        strbuf_printf(&b, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/admin/audit?before=%llu\">Older "
                          "records</a></p>\n",
                      (unsigned long long)next);
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

static int on_audit_export(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_ADMIN) != 0)
        return 0;
    h2o_iovec_t path = req->path_normalized;
    int csv = path.len >= 4 && memcmp(path.base + path.len - 4, ".csv", 4) == 0;
    char *out = NULL, err[300];
    size_t len = 0;
    if (staff_audit_export(g_conf.staff, 0, csv ? STAFF_AUDIT_CSV : STAFF_AUDIT_JSON, &out, &len, err, sizeof(err)) !=
        0) {
        log_error("console.audit_export", "rid=%s reason=\"%s\"", server_request_id(req), err);
        send_message(req, &pc, 500, "Sorry, there is a problem", "The audit log could not be read. Try again.");
        return 0;
    }
    staff_actor_t a = actor_of(&pc);
    staff_audit_note(g_conf.staff, &a, "audit.export", csv ? "csv" : "json", NULL, err, sizeof(err));
    security_headers(req);
    const char *disp = csv ? "attachment; filename=\"binday-audit.csv\"" : "attachment; filename=\"binday-audit.json\"";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION, NULL, disp, strlen(disp));
    server_send(req, 200, csv ? "text/csv; charset=utf-8" : "application/json", out, len);
    free(out);
    return 0;
}

static int on_holidays(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    page_ctx_t pc;
    if (page_begin(req, &pc, STAFF_ROLE_EDITOR) != 0)
        return 0;
    strbuf_t b;
    strbuf_init(&b, PAGE_MAX);
    page_start(&b, &pc, "Bank holidays");
    strbuf_puts(&b, "<h1 class=\"govuk-heading-l\">Bank holidays</h1>\n<p class=\"govuk-body\">Proposed moves for "
                    "every round around England's bank holidays (as <code>binday holidays propose</code> makes them). "
                    "Accepting stores them as exceptions.</p>\n");
    int y, m, d;
    date_to_ymd(today(), &y, &m, &d);
    for (int year = y; year <= y + 1; year++) {
        staff_holiday_info_t *h = NULL;
        size_t n = 0, open = 0;
        char err[300];
        if (staff_holidays_list(t_view, year, &h, &n, err, sizeof(err)) != 0)
            n = 0;
        strbuf_printf(&b, "<table class=\"govuk-table\">\n<caption class=\"govuk-table__caption "
                          "govuk-table__caption--m\">%d</caption>\n<thead class=\"govuk-table__head\">"
                          "<tr class=\"govuk-table__row\"><th scope=\"col\" class=\"govuk-table__header\">Bank holiday"
                          "</th><th scope=\"col\" class=\"govuk-table__header\">Collections on</th>"
                          "<th scope=\"col\" class=\"govuk-table__header\">Move to</th>"
                          "<th scope=\"col\" class=\"govuk-table__header\">State</th></tr></thead>\n"
                          "<tbody class=\"govuk-table__body\">\n",
                      year);
        for (size_t i = 0; i < n; i++) {
            strbuf_puts(&b, "<tr class=\"govuk-table__row\"><td class=\"govuk-table__cell\">");
            esc(&b, h[i].holiday);
            strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
            put_date(&b, h[i].original);
            strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
            put_date(&b, h[i].new_date);
            strbuf_puts(&b, "</td><td class=\"govuk-table__cell\">");
            strbuf_puts(&b, h[i].accepted ? "Accepted" : "Proposed");
            strbuf_puts(&b, "</td></tr>\n");
            open += !h[i].accepted;
        }
        strbuf_puts(&b, "</tbody>\n</table>\n");
        free(h);
        if (open > 0) {
            strbuf_puts(&b, "<form method=\"post\" action=\"/edit/preview\">\n");
            csrf_field(&b, &pc);
            hidden(&b, "kind", "holidays");
            char ys[8];
            snprintf(ys, sizeof(ys), "%d", year);
            hidden(&b, "year", ys);
            strbuf_printf(&b, "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">Preview "
                              "accepting the %zu proposals of %d</button>\n</form>\n",
                          open, year);
        }
    }
    page_end(&b);
    send_page(req, 200, &b);
    return 0;
}

/* ---- static ------------------------------------------------------------------------ */

/* Our few rules beside govuk-frontend's (a file, not inline: the CSP has no
 * 'unsafe-inline'). */
static const char console_css[] =
    ".console-signout{display:flex;gap:1em;align-items:center;justify-content:flex-end;margin:.5em 0}\n"
    ".console-signout__button{margin-bottom:0}\n"
    ".console-month{table-layout:fixed}\n"
    ".console-month td{vertical-align:top;height:4.5em}\n"
    ".console-day{display:block;font-weight:700}\n"
    ".console-bin{display:block;font-size:.875rem}\n"
    ".console-bin--cancelled{text-decoration:line-through}\n"
    ".console-today{outline:3px solid #1d70b8}\n"
    ".console-feed{word-break:break-all}\n"
    ".console-inline{display:flex;gap:.5em;align-items:center}\n"
    ".console-inline .govuk-button,.console-inline .govuk-select{margin-bottom:0}\n"
    ".console-password{font-family:monospace}\n";

static int on_css(server_thread_t *t, h2o_req_t *req)
{
    (void)t;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("max-age=3600"));
    server_send(req, 200, "text/css; charset=utf-8", console_css, sizeof(console_css) - 1);
    return 0;
}

void console_mount(h2o_hostconf_t *host, void *ud)
{
    (void)ud;
    if (g_conf.assets_dir == NULL)
        return;
    char css[4096], assets[4096];
    snprintf(css, sizeof(css), "%s/govuk-frontend.min.css", g_conf.assets_dir);
    snprintf(assets, sizeof(assets), "%s/assets", g_conf.assets_dir);
    /* GOV.UK's stylesheet asks for /assets/fonts/... and /assets/images/... */
    h2o_file_register(h2o_config_register_path(host, "/assets", 0), assets, NULL, NULL, 0);
    h2o_file_register_file(h2o_config_register_path(host, "/static/govuk-frontend.min.css", 0), css,
                           h2o_mimemap_get_type_by_extension(host->mimemap, h2o_iovec_init(H2O_STRLIT("css"))), 0);
}

static const server_route_t routes[] = {
    {"/", 0, "GET,HEAD", on_root},
    {"/sign-in", 0, "GET,HEAD", on_signin_get},
    {"/sign-in", 0, "POST", on_signin_post},
    {"/sign-out", 0, "POST", on_signout},
    {"/search", 0, "GET,HEAD", on_search},
    {"/property/", 1, "GET,HEAD", on_property},
    {"/exceptions", 0, "GET,HEAD", on_exceptions},
    {"/notices", 0, "GET,HEAD", on_notices},
    {"/uploads", 0, "GET,HEAD", on_uploads},
    {"/holidays", 0, "GET,HEAD", on_holidays},
    {"/edit/preview", 0, "POST", on_edit_preview},
    {"/edit/apply", 0, "POST", on_edit_apply},
    {"/admin", 0, "GET,HEAD", on_admin},
    {"/admin/account", 0, "POST", on_admin_account},
    {"/admin/audit", 0, "GET,HEAD", on_audit},
    {"/admin/audit.csv", 0, "GET,HEAD", on_audit_export},
    {"/admin/audit.json", 0, "GET,HEAD", on_audit_export},
    {"/console.css", 0, "GET,HEAD", on_css},
};

const server_route_t *console_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
