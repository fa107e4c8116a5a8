#!/usr/bin/python3
"""fake_amazon.py - a fake of Amazon's cloud for binday's tests and `make run`.

One real HTTPS server (Python stdlib only) answering, whatever host name the
client asked for (point them here with binday's --connect-to):

  cert host      GET /echo.api/<file>.pem           files from --pem-dir
  Customer       GET /v2/accounts/~current/settings/Profile.givenName | Profile.name | Profile.email
  Profile API
  Device         GET /v1/devices/{deviceId}/settings/address
  Address API    GET /v1/devices/{deviceId}/settings/address/countryAndPostalCode
  Directives     POST /v1/directives                 204, records the speech
  Reminders      POST /v1/alerts/reminders           201 {"alertToken": ...}
  Login with     POST /auth/o2/token                  client-credentials grant (form body): 200
  Amazon                                              {"access_token", "expires_in", ...} for the
                                                      configured client id/secret, else 401
  Proactive      POST /v1/proactiveEvents[/stages/development]   Bearer = an LWA token issued
  Events                                              here; checks the body's shape; 202, or 409
                                                      for a referenceId already accepted; the
                                                      status plan, per-user 403s and a hang
                                                      (see FakeAmazon.proactive_*) for tests
  inspection     GET /_fake/requests                 JSON list of recorded requests (tokens redacted)

Like the real thing: a GET carrying a body gets CloudFront's HTML 403, and an
API request without "Authorization: Bearer <token>" gets 401.

Scenarios are chosen by the bearer token: "tok-<scenario>" or
"tok-<scenario>-<anything>" (so each test can use unique tokens):

  granted       200 with the default profile and address
  403           403 {"code":"ACCESS_NOT_REQUESTED"} on every API
  403-plain     403 with an empty body
  forbidden     403 {"code":"FORBIDDEN","message":"... cannot be requested"}
  204           204 (value not set) on every API
  nulls         address with every field null; profile 204
  20146         Amazon's certification device: US, postcode 20146, rest null
  slow-<N>ms    waits N milliseconds, then as granted
  401 / 429 / 500 / 503   that status with a small JSON body
  html          200 with an HTML body (not JSON)
  noemail       as granted, but 403 on Profile.email
  noname        as granted, but 403 on Profile.givenName and Profile.name
  noaddress     as granted, but 403 on the address APIs

More scenarios (or overrides of these) come from a JSON file (--scenarios) or
the constructor's `scenarios` argument: {"name": {"address": {...},
"givenName": "...", "name": "...", "email": "...", "delay_ms": 0,
"status": 200, "apis": {"address"|"givenName"|"name"|"email"|"postcode"|
"directives"|"reminders": {"status": N, "body": <json or str>}}}}.
A scenario named exactly like a whole token is used for that token.

Run as a script:
  fake_amazon.py --cert C --key K [--port 0] [--port-file F] [--pem-dir D]
                 [--scenarios F] [--host 127.0.0.1]
or make throwaway certificates first: fake_amazon.py --make-certs DIR
(writes DIR/ca.pem, DIR/server.pem, DIR/server.key for the Amazon host names)
and a development request-signing chain: fake_amazon.py --make-signing DIR
(DIR/signing-ca.pem for --alexa-ca, DIR/signing.key for `binday ask --key`,
DIR/binday-dev.pem to serve from --pem-dir DIR).
"""
import argparse
import copy
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AMAZON_HOSTS = ["api.amazonalexa.com", "api.eu.amazonalexa.com", "api.fe.amazonalexa.com",
                "s3.amazonaws.com", "api.amazon.com"]

LWA_CLIENT_ID = "amzn1.application-oa2-client.binday-test"
LWA_CLIENT_SECRET = "test-secret-do-not-use"
GARBAGE_TYPES = {"BOTTLES", "BULKY", "BURNABLE", "CANS", "CLOTHING", "COMPOSTABLE", "CRUSHABLE", "GARDEN_WASTE",
                 "GLASS", "HAZARDOUS", "HOME_APPLIANCES", "KITCHEN_WASTE", "LANDFILL", "PET_BOTTLES",
                 "RECYCLABLE_PLASTICS", "WASTE_PAPER"}
WEEKDAYS = {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}

DEFAULT_PROFILE = {
    "givenName": "Jane",
    "name": "Jane Smith",
    "email": "jane@example.com",
    "address": {
        "addressLine1": "12 High Street", "addressLine2": None, "addressLine3": None,
        "city": "Dereham", "districtOrCounty": "Norfolk", "stateOrRegion": None,
        "countryCode": "GB", "postalCode": "NR19 1AA",
    },
}

NULL_ADDRESS = {k: None for k in DEFAULT_PROFILE["address"]}
US_TEST_ADDRESS = dict(NULL_ADDRESS, countryCode="US", postalCode="20146")

CLOUDFRONT_403 = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
                  b'"http://www.w3.org/TR/html4/loose.dtd">\n<HTML><HEAD><META HTTP-EQUIV="Content-Type" '
                  b'CONTENT="text/html; charset=iso-8859-1">\n<TITLE>ERROR: The request could not be '
                  b'satisfied</TITLE>\n</HEAD><BODY>\n<H1>403 ERROR</H1>\n<H2>The request could not be '
                  b'satisfied.</H2>\n<HR noshade size="1px">\nBad request.\n</BODY></HTML>')


def _api_error(status, code, message):
    return {"status": status, "body": {"code": code, "message": message}}


def builtin_scenarios():
    every = ("address", "postcode", "givenName", "name", "email")
    s = {"granted": {}}
    s["403"] = {"apis": {a: _api_error(403, "ACCESS_NOT_REQUESTED",
                                       "The authentication token does not have access to resource")
                         for a in every}}
    s["403-plain"] = {"apis": {a: {"status": 403, "body": ""} for a in every}}
    s["forbidden"] = {"apis": {a: _api_error(403, "FORBIDDEN", "The requested scope cannot be requested "
                                             "by this skill") for a in every}}
    s["204"] = {"apis": {a: {"status": 204} for a in every}}
    s["nulls"] = {"address": NULL_ADDRESS,
                  "apis": {a: {"status": 204} for a in ("givenName", "name", "email")}}
    s["20146"] = {"address": US_TEST_ADDRESS}
    for st in (401, 429, 500, 503):
        s[str(st)] = {"apis": {a: _api_error(st, "ERROR_%d" % st, "status %d" % st)
                               for a in every + ("directives", "reminders")}}
    s["html"] = {"apis": {a: {"status": 200, "body": "<html><body>not json</body></html>",
                              "content_type": "text/html"} for a in every}}
    s["noemail"] = {"apis": {"email": _api_error(403, "ACCESS_NOT_REQUESTED", "no email permission")}}
    s["noname"] = {"apis": {a: _api_error(403, "ACCESS_NOT_REQUESTED", "no name permission")
                            for a in ("givenName", "name")}}
    s["noaddress"] = {"apis": {a: _api_error(403, "ACCESS_NOT_REQUESTED", "no address permission")
                               for a in ("address", "postcode")}}
    return s


class FakeAmazon:
    """The fake cloud. Use as a context manager or call start()/stop()."""

    def __init__(self, cert, key, port=0, host="127.0.0.1", pem_dir=None, scenarios=None,
                 profile=None):
        self.cert, self.key, self.host = cert, key, host
        self.pem_dir = pem_dir
        self.profile = copy.deepcopy(profile or DEFAULT_PROFILE)
        self.scenarios = builtin_scenarios()
        self.scenarios.update(scenarios or {})
        self.lock = threading.Lock()
        self.requests = []    # dicts: method, path, headers, body, token
        self.speech = []      # speech of every VoicePlayer.Speak directive
        self.reminders = []   # parsed reminder request bodies
        # Login with Amazon and proactive events (evening-before alerts)
        self.lwa_client = (LWA_CLIENT_ID, LWA_CLIENT_SECRET)
        self.lwa_requests = []       # parsed form bodies of token requests (secrets included: tests only)
        self.lwa_tokens = set()      # access tokens issued
        self.lwa_expires_in = 3600
        self.proactive_requests = []  # {"body": parsed, "status": answered, "path": ...} in arrival order
        self.proactive_accepted = {}  # referenceId -> body accepted (what residents would hear)
        self.proactive_plan = []      # statuses to answer next, one per request, before the normal answer
        self.proactive_forbidden = set()  # userIds answered 403
        self.proactive_hang_s = 0     # accept the next event, then wait this long before answering
        self._req_port = port
        self.server = None
        self.thread = None

    # ---- lifecycle ----
    def start(self):
        fake = self

        class Handler(_Handler):
            pass
        Handler.fake = fake
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server = _TLSServer((self.host, self._req_port), Handler)
        self.server.tls_context = ctx
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def port(self):
        return self.server.server_address[1]

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- assertions helpers ----
    def recorded(self, path_prefix=""):
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def clear(self):
        with self.lock:
            self.requests.clear()
            self.speech.clear()
            self.reminders.clear()
            self.lwa_requests.clear()
            self.proactive_requests.clear()
            self.proactive_accepted.clear()

    # ---- scenario resolution ----
    def scenario_for(self, token):
        """(name, merged scenario dict) for a bearer token."""
        if token in self.scenarios:
            name = token
        else:
            name = None
            m = re.match(r"tok-(.+)$", token or "")
            rest = m.group(1) if m else ""
            slow = re.match(r"slow-(\d+)ms(?:-.*)?$", rest)
            if slow:
                return "slow", {"delay_ms": int(slow.group(1))}
            for cand in sorted(self.scenarios, key=len, reverse=True):
                if rest == cand or rest.startswith(cand + "-"):
                    name = cand
                    break
        if name is None:
            return None, None
        return name, self.scenarios[name]


class _TLSServer(ThreadingHTTPServer):
    """TLS with the handshake in each connection's own thread, so a burst of
    concurrent clients (or a slow one) never waits on the accept loop."""
    daemon_threads = True
    request_queue_size = 256
    tls_context = None

    def handle_error(self, request, client_address):
        pass  # failed handshakes and dropped clients are expected in tests

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAmazon/1.0"
    fake = None  # set per server
    timeout = 30

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
            pass  # a client that went away is not the fake's problem

    def log_message(self, fmt, *args):  # quiet: tests read self.fake.requests
        pass

    def _send(self, status, body=b"", ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204 and self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        n = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data, True
        if n is None:
            return b"", False
        return self.rfile.read(int(n)), True

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def _handle(self):
        fake = self.fake
        body, had_body = self._read_body()
        path = urllib.parse.urlsplit(self.path).path
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        rec = {"method": self.command, "path": path, "raw_path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body, "had_body": had_body, "token": token,
               "host": self.headers.get("Host", ""), "time": time.time()}
        with fake.lock:
            fake.requests.append(rec)

        if self.command == "GET" and path == "/_fake/requests":
            with fake.lock:
                out = [{"method": r["method"], "path": r["path"], "host": r["host"],
                        "had_body": r["had_body"], "token_scenario": fake.scenario_for(r["token"])[0]
                        if r["token"] else None} for r in fake.requests]
            return self._send(200, out)

        if self.command == "GET" and path.startswith("/echo.api/"):
            return self._cert(path)

        if self.command == "POST" and path == "/auth/o2/token":
            return self._lwa_token(body)
        if self.command == "POST" and path in ("/v1/proactiveEvents", "/v1/proactiveEvents/stages/development"):
            return self._proactive(path, body, token)

        api = _api_of(self.command, path)
        if api is None:
            return self._send(404, {"code": "NOT_FOUND", "message": "no such resource"})
        # CloudFront refuses a GET with a body before the API sees it
        if self.command == "GET" and (len(body) > 0 or had_body and
                                      self.headers.get("Transfer-Encoding")):
            return self._send(403, CLOUDFRONT_403, "text/html")
        if not token:
            return self._send(401, {"code": "UNAUTHORIZED", "message": "missing bearer token"})
        name, sc = fake.scenario_for(token)
        if sc is None:
            # Amazon's address API reports a bad token as 403, the others 401
            if api in ("address", "postcode"):
                return self._send(403, {"code": "ACCESS_DENIED", "message": "invalid token"})
            return self._send(401, {"code": "UNAUTHORIZED", "message": "invalid token"})
        if sc.get("delay_ms"):
            time.sleep(sc["delay_ms"] / 1000.0)
        override = sc.get("apis", {}).get(api)
        if override is not None:
            ob = override.get("body", "")
            return self._send(override.get("status", 200), ob, override.get("content_type", "application/json"))
        if sc.get("status") and sc["status"] != 200:
            return self._send(sc["status"], {"code": "ERROR", "message": "scenario status"})
        prof = dict(fake.profile)
        prof.update({k: v for k, v in sc.items() if k in ("givenName", "name", "email", "address")})
        if api in ("givenName", "name", "email"):
            if prof.get(api) is None:
                return self._send(204)
            return self._send(200, json.dumps(prof[api]))
        if api == "address":
            return self._send(200, prof["address"])
        if api == "postcode":
            a = prof["address"] or {}
            return self._send(200, {"countryCode": a.get("countryCode"), "postalCode": a.get("postalCode")})
        if api == "directives":
            try:
                d = json.loads(body)
                speech = d["directive"]["speech"]
                assert d["directive"]["type"] == "VoicePlayer.Speak"
                assert d["header"]["requestId"]
            except Exception:
                return self._send(400, {"code": "INVALID_DIRECTIVE", "message": "bad directive"})
            with fake.lock:
                fake.speech.append(speech)
            return self._send(204)
        if api == "reminders":
            try:
                d = json.loads(body)
                assert isinstance(d, dict) and "trigger" in d and "alertInfo" in d
            except Exception:
                return self._send(400, {"code": "INVALID_BODY", "message": "bad reminder"})
            with fake.lock:
                fake.reminders.append(d)
                n = len(fake.reminders)
            return self._send(201, {"alertToken": "alert-%d" % n, "status": "ON",
                                    "version": "1", "createdTime": "2026-01-01T00:00:00.000Z"})
        return self._send(500, {"code": "INTERNAL", "message": "unhandled"})

    def _lwa_token(self, body):
        fake = self.fake
        ctype = self.headers.get("Content-Type", "")
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        with fake.lock:
            fake.lwa_requests.append(form)
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return self._send(400, {"error": "invalid_request", "error_description": "form body expected"})
        if form.get("grant_type") != "client_credentials" or form.get("scope") != "alexa::proactive_events":
            return self._send(400, {"error": "invalid_request", "error_description": "grant_type or scope"})
        if (form.get("client_id"), form.get("client_secret")) != fake.lwa_client:
            return self._send(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        with fake.lock:
            tok = "Atc|MQEB-lwa-%d-%s" % (len(fake.lwa_tokens) + 1, os.urandom(6).hex())
            fake.lwa_tokens.add(tok)
        return self._send(200, {"access_token": tok, "expires_in": fake.lwa_expires_in,
                                "scope": "alexa::proactive_events", "token_type": "bearer"})

    def _proactive(self, path, body, token):
        fake = self.fake
        try:
            d = json.loads(body)
        except ValueError:
            d = None
        rec = {"path": path, "body": d, "status": None}
        with fake.lock:
            fake.proactive_requests.append(rec)
            issued = token in fake.lwa_tokens
            planned = fake.proactive_plan.pop(0) if fake.proactive_plan else None

        def answer(status, obj=None):
            rec["status"] = status
            return self._send(status, obj if obj is not None else {})
        if not issued:
            return answer(401, {"message": "Invalid token"})
        if planned is not None:
            return answer(planned, {"message": "planned status %d" % planned})
        problem = _proactive_problem(d)
        if problem:
            return answer(400, {"message": problem})
        user = d["relevantAudience"]["payload"]["user"]
        if user in fake.proactive_forbidden:
            return answer(403, {"message": "No enablement for clientId"})
        with fake.lock:
            dup = d["referenceId"] in fake.proactive_accepted
            if not dup:
                fake.proactive_accepted[d["referenceId"]] = d
            hang, fake.proactive_hang_s = fake.proactive_hang_s, 0
        if dup:
            return answer(409, {"message": "Duplicate referenceId"})
        if hang:
            rec["status"] = "hung"
            time.sleep(hang)
        return answer(202)

    def _cert(self, path):
        fake = self.fake
        name = path[len("/echo.api/"):]
        if not fake.pem_dir or "/" in name or name.startswith(".") or not name.endswith(".pem"):
            return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        p = os.path.join(fake.pem_dir, name)
        if not os.path.isfile(p):
            return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        with open(p, "rb") as f:
            return self._send(200, f.read(), "application/x-pem-file")


def _proactive_problem(d):
    """Why a proactive event body is not what Amazon accepts, or None."""
    try:
        if not re.match(r"^[A-Za-z0-9~]{1,100}$", d["referenceId"]):
            return "referenceId"
        for k in ("timestamp", "expiryTime"):
            if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", d[k]):
                return k
        ev = d["event"]
        if ev["name"] != "AMAZON.TrashCollectionAlert.Activated":
            return "event.name"
        alert = ev["payload"]["alert"]
        if alert["collectionDayOfWeek"] not in WEEKDAYS:
            return "collectionDayOfWeek"
        gt = alert["garbageTypes"]
        if not gt or any(g not in GARBAGE_TYPES for g in gt) or len(set(gt)) != len(gt):
            return "garbageTypes"
        if not isinstance(d["localizedAttributes"], list):
            return "localizedAttributes"
        ra = d["relevantAudience"]
        if ra["type"] != "Unicast" or not ra["payload"]["user"]:
            return "relevantAudience"
        if d["expiryTime"] <= d["timestamp"]:
            return "expiryTime before timestamp"
    except (KeyError, TypeError):
        return "missing field"
    return None


def _api_of(method, path):
    if method == "GET":
        m = re.match(r"^/v2/accounts/~current/settings/Profile\.(givenName|name|email)$", path)
        if m:
            return m.group(1)
        if re.match(r"^/v1/devices/[^/]+/settings/address$", path):
            return "address"
        if re.match(r"^/v1/devices/[^/]+/settings/address/countryAndPostalCode$", path):
            return "postcode"
    if method == "POST" and path == "/v1/directives":
        return "directives"
    if method == "POST" and path == "/v1/alerts/reminders":
        return "reminders"
    return None


def make_certs(directory, hosts=None):
    """Throwaway CA + server cert for the Amazon host names (and localhost),
    made with the openssl CLI. Returns (ca_file, cert_file, key_file)."""
    hosts = list(hosts or AMAZON_HOSTS) + ["localhost"]
    os.makedirs(directory, exist_ok=True)
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    cert, ext = os.path.join(directory, "server.pem"), os.path.join(directory, "server.ext")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=binday fake Amazon test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + hosts[0])
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=" +
                ",".join(["DNS:" + h for h in hosts] + ["IP:127.0.0.1"]) + "\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return ca, cert, key


def make_signing_chain(directory, pem_name="binday-dev.pem", days=2):
    """A development stand-in for Amazon's request-signing chain, made with the
    openssl CLI: a root CA (trust it with `binday serve --alexa-ca`), an
    intermediate, and a leaf with echo-api.amazon.com as a dNSName SAN whose
    key signs requests (`binday ask --key`). Writes DIR/signing-ca.pem,
    DIR/signing.key and DIR/<pem_name> (leaf then intermediate, as Amazon
    serves it; put DIR in --pem-dir). Returns (ca_file, key_file, chain_file)."""
    os.makedirs(directory, exist_ok=True)
    j = lambda n: os.path.join(directory, n)  # noqa: E731

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", j("signing-ca.key"), "-out",
        j("signing-ca.pem"), "-days", str(days), "-subj", "/CN=binday development signing root",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", j("signing-int.key"), "-out", j("signing-int.csr"),
        "-subj", "/CN=binday development signing intermediate")
    with open(j("int.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
    run("x509", "-req", "-in", j("signing-int.csr"), "-CA", j("signing-ca.pem"), "-CAkey", j("signing-ca.key"),
        "-CAcreateserial", "-out", j("signing-int.pem"), "-days", str(days), "-extfile", j("int.ext"))
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", j("signing.key"), "-out", j("signing.csr"),
        "-subj", "/CN=echo-api.amazon.com")
    with open(j("leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:echo-api.amazon.com\n")
    run("x509", "-req", "-in", j("signing.csr"), "-CA", j("signing-int.pem"), "-CAkey", j("signing-int.key"),
        "-CAcreateserial", "-out", j("signing-leaf.pem"), "-days", str(days), "-extfile", j("leaf.ext"))
    with open(j(pem_name), "w") as out:
        for part in ("signing-leaf.pem", "signing-int.pem"):
            with open(j(part)) as f:
                out.write(f.read())
    return j("signing-ca.pem"), j("signing.key"), j(pem_name)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Amazon cloud (cert host, Profile, Address, "
                                             "Directives, Reminders) over HTTPS")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--port-file")
    ap.add_argument("--pem-dir")
    ap.add_argument("--scenarios", help="JSON file of extra scenarios")
    ap.add_argument("--make-certs", metavar="DIR", help="write ca.pem, server.pem, server.key to DIR and exit")
    ap.add_argument("--make-signing", metavar="DIR", help="write a development request-signing chain to DIR "
                    "(signing-ca.pem, signing.key, binday-dev.pem) and exit")
    a = ap.parse_args(argv)
    if a.make_certs or a.make_signing:
        if a.make_certs:
            print(" ".join(make_certs(a.make_certs)))
        if a.make_signing:
            print(" ".join(make_signing_chain(a.make_signing)))
        return 0
    if not a.cert or not a.key:
        ap.error("--cert and --key are required (or --make-certs DIR)")
    extra = None
    if a.scenarios:
        with open(a.scenarios) as f:
            extra = json.load(f)
    fake = FakeAmazon(a.cert, a.key, port=a.port, host=a.host, pem_dir=a.pem_dir, scenarios=extra)
    fake.start()
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % fake.port)
        os.rename(tmp, a.port_file)
    print("fake_amazon listening on %s:%d" % (a.host, fake.port), flush=True)
    stop = threading.Event()
    import signal
    signal.signal(signal.SIGTERM, lambda *x: stop.set())
    signal.signal(signal.SIGINT, lambda *x: stop.set())
    while not stop.wait(0.5):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
