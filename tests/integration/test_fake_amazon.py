#!/usr/bin/python3
"""test_fake_amazon.py - self-test of the fake Amazon cloud: TLS with the
names binday will verify, every API, every token scenario, the CloudFront
GET-with-body rule, missing tokens, slow answers not blocking others, the
cert host, and the script mode with --port-file. Speaks TAP."""
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_amazon  # noqa: E402
from harness import wait_port_file  # noqa: E402

n = 0
failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)
    if not cond:
        failed += 1


def request(port, ca, method, path, token=None, body=None, host="api.eu.amazonalexa.com", headers=None):
    """One HTTPS request to 127.0.0.1:port verifying the cert for `host`."""
    ctx = ssl.create_default_context(cafile=ca)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = ctx.wrap_socket(sock, server_hostname=host)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.sock = tls
    h = {"Accept": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type"), data


def main():
    tmp = tempfile.mkdtemp(prefix="fake_amazon_")
    ca, cert, key = fake_amazon.make_certs(os.path.join(tmp, "certs"))
    pem_dir = os.path.join(tmp, "pem")
    os.makedirs(pem_dir)
    with open(os.path.join(pem_dir, "echo-api-cert.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    extra = {"flat": {"address": {"addressLine1": "Flat 2, 10 Quebec Road", "city": "Dereham",
                                  "postalCode": "NR19 2DR", "countryCode": "GB"}, "givenName": "Sam"}}
    given = "/v2/accounts/~current/settings/Profile.givenName"
    email = "/v2/accounts/~current/settings/Profile.email"
    name = "/v2/accounts/~current/settings/Profile.name"
    addr = "/v1/devices/amzn1.ask.device.ABC%2Fx/settings/address"
    pc = addr + "/countryAndPostalCode"

    with fake_amazon.FakeAmazon(cert, key, pem_dir=pem_dir, scenarios=extra) as fa:
        p = fa.port
        # TLS verifies for every Amazon name
        for h in fake_amazon.AMAZON_HOSTS:
            st, _, _ = request(p, ca, "GET", given, "tok-granted", host=h)
            ok(st == 200, "TLS + granted given name via %s" % h)

        st, ct, b = request(p, ca, "GET", given, "tok-granted")
        ok(st == 200 and json.loads(b) == "Jane" and ct == "application/json", "given name is a JSON string")
        st, _, b = request(p, ca, "GET", email, "tok-granted-unique42")
        ok(st == 200 and json.loads(b) == "jane@example.com", "suffix after the scenario name is ignored")
        st, _, b = request(p, ca, "GET", name, "tok-granted")
        ok(st == 200 and json.loads(b) == "Jane Smith", "full name")
        st, _, b = request(p, ca, "GET", addr, "tok-granted")
        a = json.loads(b)
        ok(st == 200 and a["postalCode"] == "NR19 1AA" and a["addressLine2"] is None and
           set(a) == set(fake_amazon.DEFAULT_PROFILE["address"]), "address object with every key")
        st, _, b = request(p, ca, "GET", pc, "tok-granted")
        ok(st == 200 and json.loads(b) == {"countryCode": "GB", "postalCode": "NR19 1AA"}, "postcode only")
        rec = fa.recorded("/v1/devices/")[0]
        ok(rec["path"] == "/v1/devices/amzn1.ask.device.ABC%2Fx/settings/address", "device id kept encoded")

        for tok, path, want in [("tok-403", addr, 403), ("tok-403", email, 403), ("tok-403-plain", given, 403),
                                ("tok-forbidden", email, 403), ("tok-204", given, 204), ("tok-204", addr, 204),
                                ("tok-401", given, 401), ("tok-429", addr, 429), ("tok-500", email, 500),
                                ("tok-503", addr, 503), ("tok-noemail", email, 403), ("tok-noemail", given, 200),
                                ("tok-noname", given, 403), ("tok-noname", addr, 200), ("tok-noaddress", addr, 403),
                                ("tok-noaddress", email, 200), ("tok-nulls", given, 204)]:
            st, _, b = request(p, ca, "GET", path, tok)
            ok(st == want, "%s %s -> %d (got %d)" % (tok, path.rsplit("/", 1)[-1], want, st))
        st, _, b = request(p, ca, "GET", email, "tok-403")
        ok(json.loads(b)["code"] == "ACCESS_NOT_REQUESTED", "403 names ACCESS_NOT_REQUESTED")
        st, _, b = request(p, ca, "GET", given, "tok-403-plain")
        ok(b == b"", "plain 403 has no body")
        st, _, b = request(p, ca, "GET", email, "tok-forbidden")
        ok(b"FORBIDDEN" in b and b"cannot be requested" in b, "forbidden body")
        st, ct, b = request(p, ca, "GET", given, "tok-html")
        ok(st == 200 and ct == "text/html" and b.startswith(b"<html>"), "html scenario is not JSON")
        st, _, b = request(p, ca, "GET", addr, "tok-nulls")
        ok(st == 200 and all(v is None for v in json.loads(b).values()), "nulls: every address field null")
        st, _, b = request(p, ca, "GET", addr, "tok-20146")
        a = json.loads(b)
        ok(a["postalCode"] == "20146" and a["countryCode"] == "US" and a["city"] is None, "US 20146 test address")
        st, _, b = request(p, ca, "GET", addr, "tok-flat")
        ok(json.loads(b)["addressLine1"] == "Flat 2, 10 Quebec Road", "scenario from constructor")
        st, _, b = request(p, ca, "GET", given, "tok-flat")
        ok(json.loads(b) == "Sam", "scenario profile override")

        # rules Amazon enforces
        st, ct, b = request(p, ca, "GET", given, "tok-granted", body=b"{}")
        ok(st == 403 and ct == "text/html" and b"could not be satisfied" in b, "GET with a body: CloudFront HTML 403")
        st, _, _ = request(p, ca, "GET", given, None)
        ok(st == 401, "no bearer token: 401")
        st, _, _ = request(p, ca, "GET", given, None, headers={"Authorization": "Basic abc"})
        ok(st == 401, "non-bearer auth: 401")
        st, _, _ = request(p, ca, "GET", given, "unknown-token")
        ok(st == 401, "unknown token on profile: 401")
        st, _, _ = request(p, ca, "GET", addr, "unknown-token")
        ok(st == 403, "unknown token on address: 403 (as Amazon does)")
        st, _, _ = request(p, ca, "GET", "/v1/nothing", "tok-granted")
        ok(st == 404, "unknown path 404")

        # directives and reminders
        d = {"header": {"requestId": "amzn1.echo-api.request.1"},
             "directive": {"type": "VoicePlayer.Speak", "speech": "<speak>Just a moment</speak>"}}
        st, _, b = request(p, ca, "POST", "/v1/directives", "tok-granted", body=json.dumps(d),
                           headers={"Content-Type": "application/json"})
        ok(st == 204 and fa.speech == ["<speak>Just a moment</speak>"], "directive recorded")
        st, _, _ = request(p, ca, "POST", "/v1/directives", "tok-granted", body="{}")
        ok(st == 400, "malformed directive 400")
        st, _, _ = request(p, ca, "POST", "/v1/directives", "tok-429", body=json.dumps(d))
        ok(st == 429, "directive throttled")
        rem = {"requestTime": "2026-11-28T20:00:00.000", "trigger": {"type": "SCHEDULED_ABSOLUTE"},
               "alertInfo": {"spokenInfo": {"content": [{"locale": "en-GB", "text": "Bins out"}]}},
               "pushNotification": {"status": "ENABLED"}}
        st, _, b = request(p, ca, "POST", "/v1/alerts/reminders", "tok-granted", body=json.dumps(rem))
        ok(st == 201 and json.loads(b)["alertToken"] == "alert-1" and len(fa.reminders) == 1, "reminder created")

        # cert host
        st, ct, b = request(p, ca, "GET", "/echo.api/echo-api-cert.pem", host="s3.amazonaws.com")
        ok(st == 200 and b.startswith(b"-----BEGIN CERTIFICATE-----"), "cert host serves the PEM")
        st, _, _ = request(p, ca, "GET", "/echo.api/missing.pem", host="s3.amazonaws.com")
        ok(st == 404, "missing PEM 404")
        st, _, _ = request(p, ca, "GET", "/echo.api/..%2Fcerts%2Fserver.key", host="s3.amazonaws.com")
        ok(st == 404, "no escape from the PEM directory")

        # a slow scenario does not block other requests (threaded server)
        res = {}

        def slow():
            t0 = time.time()
            res["slow"] = request(p, ca, "GET", addr, "tok-slow-800ms")[0], time.time() - t0
        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.1)
        t0 = time.time()
        st, _, _ = request(p, ca, "GET", given, "tok-granted")
        fast = time.time() - t0
        th.join()
        ok(st == 200 and fast < 0.6, "fast request not blocked by a slow one")
        ok(res["slow"][0] == 200 and res["slow"][1] >= 0.8, "slow-800ms waits, then answers 200")

        # recording and inspection endpoint (tokens not exposed)
        st, _, b = request(p, ca, "GET", "/_fake/requests")
        lst = json.loads(b)
        ok(st == 200 and any(r["token_scenario"] == "forbidden" for r in lst) and b"tok-" not in b,
           "inspection lists scenarios, not tokens")
        ok(any(r["had_body"] for r in fa.recorded("/v2/")), "the GET with a body was recorded as such")
        fa.clear()
        ok(fa.recorded() == [] and fa.speech == [], "clear()")

    # the development signing chain: verifies to its root, leaf has the dNSName SAN, key matches
    sdir = os.path.join(tmp, "signing")
    sca, skey, schain = fake_amazon.make_signing_chain(sdir)
    leaf = os.path.join(sdir, "signing-leaf.pem")
    v = subprocess.run(["openssl", "verify", "-CAfile", sca, "-untrusted", os.path.join(sdir, "signing-int.pem"),
                        leaf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ok(v.returncode == 0, "signing leaf verifies through the intermediate to the root")
    san = subprocess.run(["openssl", "x509", "-in", leaf, "-noout", "-ext", "subjectAltName"],
                         stdout=subprocess.PIPE).stdout.decode()
    ok("DNS:echo-api.amazon.com" in san, "leaf has echo-api.amazon.com as a dNSName SAN")
    chain = open(schain).read()
    ok(chain.count("BEGIN CERTIFICATE") == 2 and chain.startswith(open(leaf).read()), "chain file: leaf first")
    pub1 = subprocess.run(["openssl", "x509", "-in", leaf, "-noout", "-pubkey"], stdout=subprocess.PIPE).stdout
    pub2 = subprocess.run(["openssl", "pkey", "-in", skey, "-pubout"], stdout=subprocess.PIPE).stdout
    ok(pub1 == pub2 and pub1.startswith(b"-----BEGIN PUBLIC KEY"), "signing key matches the leaf")

    # script mode with --port-file and a scenarios file
    sc = os.path.join(tmp, "sc.json")
    with open(sc, "w") as f:
        json.dump({"tok-exact": {"givenName": "Exact"}}, f)
    pf = os.path.join(tmp, "port")
    proc = subprocess.Popen(["/usr/bin/python3", fake_amazon.__file__, "--cert", cert, "--key", key,
                             "--port", "0", "--port-file", pf, "--scenarios", sc, "--pem-dir", pem_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        port = wait_port_file(pf, proc)
        st, _, b = request(port, ca, "GET", given, "tok-exact")
        ok(st == 200 and json.loads(b) == "Exact", "script mode: port file and exact-token scenario")
    finally:
        proc.terminate()
        rc = proc.wait(10)
    ok(rc == 0, "script exits 0 on SIGTERM")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
