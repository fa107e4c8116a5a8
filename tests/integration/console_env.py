"""The staff console for integration and browser tests: a SkillEnv (demo data,
the fake Amazon cloud, the real binary) started with --staff-listen, staff
accounts made with `binday staff add`, and an HTTPS client for the staff
listener that keeps its cookies like a browser.

    with ConsoleEnv(d) as env:
        env.add_user("ed", "editor", "correct horse battery")
        c = env.client()
        st, h, body = c.post("/sign-in", {"username": "ed", "password": "..."})
"""
import http.client
import os
import re
import ssl
import urllib.parse

from harness import ROOT, run_binday, wait_port_file
from skill_env import SkillEnv, TODAY  # noqa: F401  (TODAY re-exported)

ASSETS = os.path.join(ROOT, "build", "web", "node_modules", "govuk-frontend", "dist", "govuk")
AXE = os.path.join(ROOT, "build", "web", "node_modules", "axe-core", "axe.min.js")
COOKIE = "__Host-binday-staff"


class ConsoleEnv(SkillEnv):
    def __init__(self, d, properties=3000, **kw):
        self.staff_port_file = os.path.join(d, "staff-port")
        extra = ["--staff-listen", "127.0.0.1:0", "--staff-port-file", self.staff_port_file,
                 "--staff-assets", ASSETS] + list(kw.pop("extra", ()))
        super().__init__(d, properties=properties, extra=extra, **kw)
        self.staff_port = None

    def start(self):
        if os.path.exists(self.staff_port_file):
            os.unlink(self.staff_port_file)
        super().start()
        self.staff_port = wait_port_file(self.staff_port_file, self.server.proc)
        return self

    def add_user(self, user, role, password):
        r = run_binday("staff", "add", "--data", self.data, "--user", user, "--role", role, input=password + "\n")
        if r.returncode != 0:
            raise RuntimeError("staff add failed: %s %s" % (r.stdout, r.stderr))

    def url(self, path="/"):
        return "https://localhost:%d%s" % (self.staff_port, path)

    def client(self):
        return Client(self)

    def lookup_uprn(self, uprn, days=120):
        """binday lookup of a property as staff and the skill see it."""
        r = run_binday("lookup", "--data", self.data, "--uprn", uprn, "--from", TODAY, "--days", days, "--json")
        import json
        return json.loads(r.stdout) if r.returncode == 0 else None


class Client:
    """A cookie-keeping HTTPS client of the staff listener (one connection per request)."""

    def __init__(self, env, port=None):
        self.env = env
        self.port = port or env.staff_port
        self.cookies = {}

    def ctx(self):
        return ssl.create_default_context(cafile=self.env.pki["ca"])

    def request(self, method, path, fields=None, headers=None, body=None, ctype=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if ctype:
            h["Content-Type"] = ctype
        c = http.client.HTTPSConnection("localhost", self.port, context=self.ctx(), timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode("utf-8", "replace")
            hdrs = {}
            for k, v in r.getheaders():
                hdrs.setdefault(k.lower(), []).append(v)
            for sc in hdrs.get("set-cookie", []):
                name, _, rest = sc.partition("=")
                val = rest.split(";", 1)[0]
                if "Max-Age=0" in sc or val == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = val
            return r.status, {k: ", ".join(v) if k != "set-cookie" else v for k, v in hdrs.items()}, data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, **kw):
        return self.request("POST", path, fields=fields, **kw)

    def sign_in(self, user, password):
        return self.post("/sign-in", {"username": user, "password": password})


def csrf_of(page):
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    return m.group(1) if m else None
