/* test_webform.c - the console's untrusted-bytes parsers (webform.h) and its
 * session table (session.h): decoding, refusals, bounds, timeouts, CSRF. */
#include <stdint.h>
#include <string.h>

#include "binday/console/console.h"
#include "binday/console/session.h"
#include "binday/util/strbuf.h"
#include "binday/console/webform.h"
#include "tap.h"

#define B(s) (const uint8_t *)(s), strlen(s)

static int val_is(const webform_t *f, const char *name, const char *want)
{
    const webform_field_t *x = webform_get(f, name);
    return x != NULL && x->value_len == strlen(want) && memcmp(x->value, want, x->value_len) == 0;
}

static void urlencoded(void)
{
    webform_t f;
    ok(webform_parse_urlencoded(B("a=1&b=x+y%21&&c&d=%C3%A9"), &f) == 0, "urlencoded parses");
    is_int((int)f.n, 4, "four fields (empty piece skipped)");
    ok(val_is(&f, "a", "1") && val_is(&f, "b", "x y!") && val_is(&f, "c", "") && val_is(&f, "d", "\xc3\xa9"),
       "values decoded: + is space, %%XX, missing = is empty, UTF-8 kept");
    ok(webform_get(&f, "zz") == NULL, "absent field is NULL");
    webform_free(&f);
    ok(webform_parse_urlencoded(B(""), &f) == 0 && f.n == 0, "empty body: no fields");
    webform_free(&f);
    ok(webform_parse_urlencoded(B("a=%4"), &f) == -1 && f.n == 0 && f.arena == NULL, "truncated escape refused");
    ok(webform_parse_urlencoded(B("a=%zz"), &f) == -1, "bad hex refused");
    ok(webform_parse_urlencoded(B("a=%00"), &f) == -1, "NUL refused");
    ok(webform_parse_urlencoded(B("a=%1b"), &f) == -1, "control refused");
    ok(webform_parse_urlencoded(B("a=%ff"), &f) == -1, "not UTF-8 refused");
    ok(webform_parse_urlencoded(B("a=line1%0D%0Aline2"), &f) == 0 && val_is(&f, "a", "line1\r\nline2"),
       "CR LF kept in a textarea");
    webform_free(&f);
    char many[WEBFORM_MAX_FIELDS * 4 + 8] = "";
    for (int i = 0; i <= WEBFORM_MAX_FIELDS; i++)
        strcat(many, "a=1&");
    ok(webform_parse_urlencoded(B(many), &f) == -1, "more than WEBFORM_MAX_FIELDS refused");
    char longname[WEBFORM_MAX_NAME + 4];
    memset(longname, 'n', sizeof(longname) - 3);
    strcpy(longname + sizeof(longname) - 3, "=1");
    ok(webform_parse_urlencoded(B(longname), &f) == -1, "over-long name refused");
}

static void multipart(void)
{
    char b[WEBFORM_MAX_BOUNDARY + 1];
    ok(webform_multipart_boundary(B("multipart/form-data; boundary=----X1"), b) == 0 && strcmp(b, "----X1") == 0,
       "boundary found");
    ok(webform_multipart_boundary(B("Multipart/Form-Data; charset=x; boundary=\"a b\""), b) == -1,
       "boundary with a space refused");
    ok(webform_multipart_boundary(B("multipart/form-data; boundary=\"qq\""), b) == 0 && strcmp(b, "qq") == 0,
       "quoted boundary");
    ok(webform_multipart_boundary(B("application/x-www-form-urlencoded"), b) == -1, "other type refused");
    ok(webform_multipart_boundary(B("multipart/form-data"), b) == -1, "no boundary refused");
    static const char body[] = "--XX\r\n"
                               "Content-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                               "tok\r\n"
                               "--XX\r\n"
                               "Content-Disposition: form-data; name=\"file\"; filename=\"exceptions.csv\"\r\n"
                               "Content-Type: text/csv\r\n\r\n"
                               "a,b\r\n1,\0\r\n"
                               "\r\n--XX--\r\n";
    webform_t f;
    ok(webform_parse_multipart((const uint8_t *)body, sizeof(body) - 1, "XX", &f) == 0, "multipart parses");
    is_int((int)f.n, 2, "two parts");
    ok(val_is(&f, "csrf", "tok") && webform_get(&f, "csrf")->filename == NULL, "text part");
    const webform_field_t *file = webform_get(&f, "file");
    ok(file != NULL && file->filename && strcmp(file->filename, "exceptions.csv") == 0 && file->value_len == 10 &&
           memcmp(file->value, "a,b\r\n1,\0\r\n", 10) == 0,
       "file part: name, bytes kept (NUL included)");
    webform_free(&f);
    ok(webform_parse_multipart(B("--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv"), "XX", &f) == -1,
       "unterminated part refused");
    ok(webform_parse_multipart(B("--XX\r\nContent-Type: x\r\n\r\nv\r\n--XX--"), "XX", &f) == -1,
       "part without a disposition refused");
    ok(webform_parse_multipart(B("preamble\r\n--XX--"), "XX", &f) == -1, "preamble refused");
    ok(webform_parse_multipart(B("--XX--"), "XX", &f) == 0 && f.n == 0, "no parts");
    webform_free(&f);
}

static void cookies(void)
{
    const uint8_t *v;
    size_t n;
    ok(webform_cookie(B("a=1; sid=abc ; x=2"), "sid", &v, &n) == 0 && n == 3 && memcmp(v, "abc", 3) == 0,
       "cookie found, trailing space trimmed");
    ok(webform_cookie(B("xsid=1; sid2=3"), "sid", &v, &n) == -1, "prefix or suffix names do not match");
    ok(webform_cookie(B("sid=1; sid=2"), "sid", &v, &n) == 0 && n == 1 && v[0] == '1', "first occurrence");
    ok(webform_cookie(B(""), "sid", &v, &n) == -1, "empty header");
    ok(webform_cookie(B(";;;sid="), "sid", &v, &n) == 0 && n == 0, "empty value");
}

static void sessions(void)
{
    char c1[SESSION_HEX + 1], c2[SESSION_HEX + 1];
    session_info_t i1, i2, g;
    session_reset();
    ok(session_create("alice", 2, 1000, c1, &i1) == 0 && strlen(c1) == 64, "session made, 64 hex digits");
    ok(session_create("bob", 1, 1000, c2, &i2) == 0 && strcmp(c1, c2) != 0 && strcmp(i1.csrf, i2.csrf) != 0,
       "ids and CSRF tokens differ");
    ok(session_get(B(c1), 1000 + SESSION_IDLE_S - 1, &g) == 0 && strcmp(g.user, "alice") == 0 && g.role == 2,
       "found within the idle time");
    ok(session_get(B(c1), 1000 + 2 * SESSION_IDLE_S - 2, &g) == 0, "use resets the idle clock");
    ok(session_get(B(c2), 1000 + SESSION_IDLE_S, &g) == -1, "idle 30 minutes: gone");
    ok(session_get(B(c2), 1000, &g) == -1, "and stays gone");
    int64_t t = 1000;
    int alive = 1;
    while (t < 1000 + SESSION_ABS_S - 60) {
        t += SESSION_IDLE_S - 60;
        if (t < 1000 + SESSION_ABS_S)
            alive &= session_get(B(c1), t, &g) == 0;
    }
    ok(alive, "kept alive by use below the absolute limit");
    ok(session_get(B(c1), 1000 + SESSION_ABS_S, &g) == -1, "12 hours after sign-in: gone however used");
    ok(session_create("carol", 3, 5000, c1, &i1) == 0, "new session");
    ok(session_csrf_ok(&i1, B(i1.csrf)), "its CSRF token is accepted");
    char wrong[SESSION_HEX + 1];
    memcpy(wrong, i1.csrf, sizeof(wrong));
    wrong[63] = wrong[63] == 'a' ? 'b' : 'a';
    ok(!session_csrf_ok(&i1, B(wrong)), "one digit off: refused");
    ok(!session_csrf_ok(&i1, B("")), "empty: refused");
    ok(!session_csrf_ok(&i1, B(i2.csrf)), "another session's token: refused");
    c1[0] = (char)(c1[0] == 'A' ? 'B' : 'A');
    ok(session_get(B(c1), 5000, &g) == -1, "upper-case (malformed) id refused");
    c1[0] = 'x';
    ok(session_get(B(c1), 5000, &g) == -1, "non-hex id refused");
    session_reset();
    ok(session_create("dave", 1, 7000, c1, &i1) == 0, "session to end");
    session_end(B(c1));
    ok(session_get(B(c1), 7000, &g) == -1, "signed out: gone");
    for (int k = 0; k < SESSION_MAX + 5; k++)
        session_create("many", 1, 8000 + k, c2, &i2);
    ok(session_count() == SESSION_MAX, "table bounded at SESSION_MAX");
    ok(session_get(B(c2), 8000 + SESSION_MAX + 5, &g) == 0, "the newest survives eviction");
    session_end_user("many");
    is_int((int)session_count(), 0, "session_end_user ends all of an account's sessions");
}

static void escaping(void)
{
    strbuf_t b;
    strbuf_init(&b, 1024);
    const char in[] = "<a href=\"x\" onclick='y'>Tom & Jerry</a>\xc3\xa9";
    console_html_escape(&b, in, sizeof(in) - 1);
    is_str(b.p, "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;\xc3\xa9",
           "HTML escaping: & < > \" ' become entities, UTF-8 kept");
    strbuf_free(&b);
    strbuf_init(&b, 64);
    console_html_escape(&b, "plain", 5);
    is_str(b.p, "plain", "nothing to escape: copied");
    strbuf_free(&b);
}

int main(void)
{
    escaping();
    urlencoded();
    multipart();
    cookies();
    sessions();
    return done_testing();
}
