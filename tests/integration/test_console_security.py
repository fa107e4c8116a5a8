#!/usr/bin/python3
"""The staff console lets in no one who does not belong (issue 17): its own
listener (the Alexa listener serves none of its paths, and it serves no Alexa
path), no session -> 303 to sign-in for pages and 401 for actions, missing or
wrong CSRF -> 403 with nothing changed, a viewer cannot edit, repeated bad
passwords are locked out, generic sign-in errors, cookie flags and headers,
sign-out ends the session. Real binary, real TLS, real LMDB."""
import re

from console_env import COOKIE, Client, ConsoleEnv, csrf_of
from harness import run_binday, tempdir
from tap import Tap

t = Tap()
PW_ED = "editor-password-1"
PW_VIEW = "viewer-password-1"


def audit_count(env):
    r = run_binday("staff", "audit", "--data", env.data, "--format", "json")
    import json
    try:
        return len(json.loads(r.stdout))
    except ValueError:
        return -1


def main(t):
    with tempdir() as d:
        env = ConsoleEnv(d, properties=300)
        env.add_user("ed", "editor", PW_ED)
        env.add_user("vic", "viewer", PW_VIEW)
        env.add_user("locky", "viewer", "locky-password-1")
        with env:
            s = env.server
            # --- the Alexa listener serves none of the console's paths
            for m, p in (("GET", "/"), ("GET", "/sign-in"), ("POST", "/sign-in"), ("GET", "/search?q=NR19"),
                         ("GET", "/property/1"), ("GET", "/exceptions"), ("POST", "/edit/apply"),
                         ("POST", "/sign-out"), ("GET", "/console.css"), ("GET", "/static/govuk-frontend.min.css"),
                         ("GET", "/assets/images/favicon.ico"), ("GET", "/uploads"), ("GET", "/notices")):
                st, h, b = s.request(m, p, body=b"" if m == "POST" else None)
                t.ok(st in (404, 405) and b"<html" not in b, "Alexa listener: %s %s is not served (%d)" % (m, p, st))
            # --- and the console listener serves no Alexa path
            c = Client(env)
            for m, p in (("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/alexa"), ("GET", "/calendar/x.ics")):
                st, h, b = c.request(m, p, body=b"{}" if m == "POST" else None)
                t.ok(st == 404, "console listener: %s %s is not served (%d)" % (m, p, st))
            # --- static assets are there (GOV.UK look)
            st, h, b = c.get("/static/govuk-frontend.min.css")
            t.ok(st == 200 and "govuk" in b and h.get("content-type", "").startswith("text/css"),
                 "govuk-frontend's stylesheet served", (st, h.get("content-type")))
            st, h, b = c.get("/assets/images/favicon.ico")
            t.ok(st == 200, "GOV.UK images served from /assets/", st)
            # --- body limits are per listener: uploads fit the console's, the Alexa listener keeps 64 KB
            big = b"x" * 200000
            st, h, b = s.request("POST", "/alexa", body=big, headers={"Content-Type": "application/json"})
            t.ok(st == 413, "Alexa listener: a 200 KB body is refused (413)", st)
            st, h, b = c.request("POST", "/edit/preview", body=big, ctype="application/x-www-form-urlencoded")
            t.ok(st == 401, "console: a 200 KB body is read (then 401 without a session)", st)
            # --- no session
            for p in ("/", "/search", "/search?q=NR19+1AA", "/property/100", "/exceptions", "/notices", "/uploads"):
                st, h, b = c.get(p)
                t.ok(st == 303 and h.get("location") == "/sign-in", "no session: GET %s -> 303 /sign-in" % p,
                     (st, h.get("location")))
            for p in ("/edit/apply", "/edit/preview", "/sign-out"):
                st, h, b = c.post(p, {"kind": "move", "round": "*", "date": "2026-12-14", "new_date": "2026-12-15"})
                t.ok(st in (401, 403), "no session: POST %s -> %d" % (p, st))
            # --- the sign-in page
            st, h, b = c.get("/sign-in")
            t.ok(st == 200 and re.search(r'<label[^>]*for="username"[^>]*>Username</label>', b) and
                 re.search(r'<label[^>]*for="password"[^>]*>Password</label>', b) and ">Sign in</button>" in b,
                 "sign-in form: Username, Password, Sign in", b[:3000])
            csp = h.get("content-security-policy", "")
            t.ok("frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp and
                 "default-src 'none'" in csp, "strict CSP: no script at all, no inline, no framing", csp)
            t.ok(h.get("x-content-type-options") == "nosniff", "nosniff", h)
            t.ok(h.get("referrer-policy") == "no-referrer", "Referrer-Policy", h)
            t.ok("<script" not in b and " style=" not in b and "<style" not in b, "no inline script or style")
            # --- generic errors: unknown account and wrong password read the same
            st1, _, b1 = c.sign_in("nobody", "whatever-password")
            st2, _, b2 = c.sign_in("ed", "wrong-password-x")
            strip = lambda x: re.sub(r'value="[^"]*"', "", x)  # noqa: E731
            t.ok(st1 == st2 == 401 and strip(b1) == strip(b2) and "Enter a correct username and password" in b1,
                 "unknown user and wrong password: the same generic answer", (st1, st2))
            t.ok(not c.cookies, "no cookie after a failed sign-in", c.cookies)
            # --- sign in: cookie flags
            st, h, b = c.sign_in("ed", PW_ED)
            sc = [x for x in h.get("set-cookie", []) if x.startswith(COOKIE + "=")]
            t.ok(st == 303 and h.get("location") == "/search", "editor signs in: 303 to /search", (st, h))
            t.ok(len(sc) == 1 and all(f in sc[0] for f in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/")),
                 "cookie Secure; HttpOnly; SameSite=Strict", sc)
            t.ok(re.match(COOKIE + "=[0-9a-f]{64};", sc[0] if sc else ""), "cookie holds a 256-bit random id", sc)
            st, h, b = c.get("/search")
            t.ok(st == 200 and "Signed in as ed" in b, "signed-in page", st)
            t.ok(h.get("cache-control") == "no-store", "authenticated page: Cache-Control no-store", h)
            tok = csrf_of(b)
            t.ok(tok is not None, "the page carries a CSRF token in its forms")
            # --- CSRF: missing or wrong -> 403, nothing changes
            before = audit_count(env)
            look0 = env.lookup("NR19 1AA", ["12 High Street"])
            move = {"kind": "move", "round": "*", "date": "2026-12-14", "new_date": "2026-12-16", "reason": "x"}
            st, h, b = c.post("/edit/apply", move)
            t.ok(st == 403, "missing CSRF token: 403", st)
            bad = dict(move, csrf="0" * 64)
            st, h, b = c.post("/edit/apply", bad)
            t.ok(st == 403, "wrong CSRF token: 403", st)
            st, h, b = c.post("/edit/preview", dict(move, csrf=tok[:-1] + ("0" if tok[-1] != "0" else "1")))
            t.ok(st == 403, "CSRF token one digit off: 403 on preview too", st)
            t.eq(audit_count(env), before, "nothing written to the audit log")
            t.eq(env.lookup("NR19 1AA", ["12 High Street"]), look0, "lookup unchanged")
            # another session's token does not do either
            c2 = Client(env)
            c2.sign_in("vic", PW_VIEW)
            st, h, b = c2.get("/search")
            vtok = csrf_of(b)
            before = audit_count(env)  # vic's sign-in is a record of its own
            st, h, b = c.post("/edit/apply", dict(move, csrf=vtok))
            t.ok(st == 403, "another session's CSRF token: 403", st)
            # --- a viewer cannot edit
            for p in ("/exceptions", "/notices", "/uploads"):
                st, h, b = c2.get(p)
                t.ok(st == 403, "viewer: GET %s -> 403" % p, st)
            st, h, b = c2.post("/edit/apply", dict(move, csrf=vtok))
            t.ok(st == 403, "viewer: POST /edit/apply with a good token -> 403", st)
            st, h, b = c2.post("/edit/preview", dict(move, csrf=vtok))
            t.ok(st == 403, "viewer: POST /edit/preview -> 403", st)
            t.eq(audit_count(env), before, "viewer's attempts changed nothing")
            # --- accounts and the audit log are for admins only
            for p in ("/admin", "/admin/audit", "/admin/audit.csv", "/admin/audit.json"):
                st, h, b = c.get(p)
                t.ok(st == 403, "editor: GET %s -> 403" % p, st)
                st, h, b = c2.get(p)
                t.ok(st == 403, "viewer: GET %s -> 403" % p, st)
            st, h, b = c.post("/admin/account", {"csrf": tok, "action": "role", "user": "ed", "role": "admin"})
            t.ok(st == 403, "editor cannot make itself admin", st)
            st, h, b = c.post("/admin/account", {"csrf": tok, "action": "add", "user": "mallory", "role": "admin"})
            t.ok(st == 403, "editor cannot add accounts", st)
            r = run_binday("staff", "list", "--data", env.data)
            t.ok("mallory" not in r.stdout and "ed" in r.stdout, "no account was added", r.stdout)
            # --- a forged cookie is no session
            c3 = Client(env)
            c3.cookies[COOKIE] = "a" * 64
            st, h, b = c3.get("/search")
            t.ok(st == 303, "an unknown session id is no session", st)
            # --- repeated bad passwords are locked out
            c4 = Client(env)
            codes = [c4.sign_in("locky", "bad-password-%d" % i)[0] for i in range(8)]
            t.ok(codes[0] == 401 and codes[-1] == 429, "bad passwords: 401 then 429 (locked)", codes)
            st, h, b = c4.sign_in("locky", "locky-password-1")
            t.ok(st == 429 and not c4.cookies and "retry-after" in h,
                 "while locked even the right password is refused, with Retry-After", (st, h))
            # --- an admin disabling an account ends its sessions at once
            env.add_user("root", "admin", "admin-password-1")
            ca = Client(env)
            ca.sign_in("root", "admin-password-1")
            st, h, b = ca.get("/admin")
            atok = csrf_of(b)
            t.ok(st == 200 and c2.get("/search")[0] == 200, "admin page; the viewer is signed in", st)
            st, h, b = ca.post("/admin/account", {"csrf": atok, "action": "disable", "user": "vic"})
            t.ok(st == 200 and "Account changed" in b, "admin disables vic", (st, b[-600:]))
            t.ok(c2.get("/search")[0] == 303, "vic's session ended with the account")
            st, h, b = Client(env).sign_in("vic", PW_VIEW)
            t.ok(st == 401, "a disabled account cannot sign in (generic answer)", st)
            st, h, b = ca.post("/admin/account", {"csrf": atok, "action": "disable", "user": "root"})
            t.ok(st == 422, "an admin cannot disable itself from the console", st)
            # --- sign out
            st, h, b = c.get("/search")
            tok = csrf_of(b)
            sid = c.cookies.get(COOKIE)
            st, h, b = c.post("/sign-out", {"csrf": tok})
            t.ok(st == 200 and "signed out" in b, "sign out", st)
            c.cookies[COOKIE] = sid
            st, h, b = c.get("/search")
            t.ok(st == 303, "the old session id no longer works", st)
        t.ok("staff-listen" in s.log() or "listener=staff-listen" in s.log(), "log names the staff listener")


t.run(main)
t.done()
