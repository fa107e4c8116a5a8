#!/usr/bin/python3
"""test_bench_tools.py - the request generator of `make bench` (bench/signreq.c)
writes what binday must accept: every line's Signature-256 verifies with
`openssl dgst -verify` against the development signing certificate's key,
bodies are distinct NextCollectionIntent envelopes for the given skill with a
current timestamp, and the fast fake Address API's token grammar matches the
tokens it writes; every tool bench/run.sh compiles still builds; and the fast
fake Address API (bench/fast_api.c) answers each token scenario as
fake_amazon.py does. Cheap: a few small compiles, five signatures and a dozen
HTTPS calls. Speaks TAP.
(The benchmarks themselves run only in `make bench`.)"""
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402
from harness import wait_port_file  # noqa: E402

ROOT = os.environ.get("BINDAY_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
SKILL = "amzn1.ask.skill.bench-test"


def sh(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def main():
    t = Tap()
    with tempfile.TemporaryDirectory(prefix="binday-benchtools-") as d:
        flags = sh(["pkg-config", "--cflags", "--libs", "openssl", "jansson"]).stdout.split()
        exe = os.path.join(d, "signreq")
        c = sh(["cc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-o", exe,
                os.path.join(ROOT, "bench", "signreq.c")] + flags)
        if not t.ok(c.returncode == 0, "bench/signreq.c compiles warning-free", c.stderr):
            t.done()
        # every tool bench/run.sh compiles still builds from today's sources (a
        # module split once broke `make bench` while `make test` stayed green)
        pk = "libh2o libuv openssl jansson libcurl lmdb".split()
        cfl = sh(["pkg-config", "--cflags"] + pk).stdout.split()
        lib = sh(["pkg-config", "--libs"] + pk).stdout.split()
        tools = re.findall(r"^cc \$CFLAGS -o build/bench/(\S+) (.*) \$LIBS$",
                           open(os.path.join(ROOT, "bench", "run.sh")).read(), re.M)
        t.ok(len(tools) >= 2, "bench/run.sh compiles its tools (%d found)" % len(tools))
        for name, srcs in tools:
            b = sh(["cc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-I" + os.path.join(ROOT, "include"),
                    "-D_GNU_SOURCE", "-DH2O_USE_LIBUV=1"] + cfl + ["-o", os.path.join(d, name)] +
                   [os.path.join(ROOT, x) for x in srcs.split()] + lib + ["-lm", "-lpthread"])
            t.ok(b.returncode == 0, "bench/run.sh's %s builds" % name, b.stderr[-2000:])
        sig_dir = os.path.join(d, "signing")
        m = sh([PY, os.path.join(ROOT, "tests", "integration", "fake_amazon.py"), "--make-signing", sig_dir])
        t.ok(m.returncode == 0, "fake_amazon.py --make-signing", m.stderr)
        out = os.path.join(d, "req.txt")
        r = sh([exe, "--key", os.path.join(sig_dir, "signing.key"), "--skill-id", SKILL, "--count", "5",
                "--out", out, "--devices", "3", "--token", "tok-slow-50ms"])
        t.ok(r.returncode == 0, "signreq writes a batch", r.stderr)
        lines = open(out).read().splitlines()
        t.eq(len(lines), 5, "one line per request")
        pub = os.path.join(d, "pub.pem")
        sh(["openssl", "x509", "-in", os.path.join(sig_dir, "binday-dev.pem"), "-pubkey", "-noout", "-out", pub])
        ids, verified, devices = set(), 0, set()
        now = datetime.datetime.now(datetime.timezone.utc)
        fresh = True
        for i, line in enumerate(lines):
            sig, body = line.split("\t", 1)
            bf, sf = os.path.join(d, "b%d" % i), os.path.join(d, "s%d" % i)
            with open(bf, "wb") as f:
                f.write(body.encode())
            with open(sf, "wb") as f:
                f.write(base64.b64decode(sig, validate=True))
            v = sh(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sf, bf])
            verified += v.returncode == 0 and "Verified OK" in v.stdout
            env = json.loads(body)
            ids.add(env["request"]["requestId"])
            devices.add(env["context"]["System"]["device"]["deviceId"])
            ts = datetime.datetime.strptime(env["request"]["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
            fresh = fresh and abs((now - ts).total_seconds()) < 150
            if i == 0:
                t.eq(env["request"]["intent"]["name"], "NextCollectionIntent", "intent")
                t.eq(env["context"]["System"]["application"]["applicationId"], SKILL, "skill id")
                tok = env["context"]["System"]["apiAccessToken"]
                # the grammar fast_api.c and fake_amazon.py use to pick the scenario
                t.ok(re.match(r"^tok-(granted|slow-(\d+)ms)(-|$)", tok) is not None, "token selects a scenario")
                t.ok(len(tok) >= 900, "token has a realistic length")
        t.eq(verified, 5, "every Signature-256 verifies with openssl dgst -verify")
        t.eq(len(ids), 5, "requestIds are distinct")
        t.eq(len(devices), 3, "devices rotate over --devices")
        t.ok(fresh, "timestamps are inside the 150 s window")
        # a tampered body must not verify (the check above is not vacuous)
        with open(os.path.join(d, "b0"), "ab") as f:
            f.write(b" ")
        v = sh(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", os.path.join(d, "s0"),
                os.path.join(d, "b0")])
        t.ok(v.returncode != 0, "a changed body fails verification")
        bad = sh([exe, "--key", os.path.join(sig_dir, "signing.key"), "--skill-id", SKILL, "--count", "0",
                  "--out", out])
        t.eq(bad.returncode, 2, "usage error exits 2")
        check_fast_api(t, d)
    t.done()


def check_fast_api(t, d):
    """bench/fast_api (built above): the scenarios, the answers, the workers' end."""
    import http.client
    import signal
    import ssl
    import time
    exe = os.path.join(d, "fast_api")
    key, cert = os.path.join(d, "fa.key"), os.path.join(d, "fa.pem")
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=api.amazonalexa.com", "-keyout", key, "-out", cert])
    tsv = os.path.join(d, "addr.tsv")
    with open(tsv, "w") as f:
        f.write('12 High Street\tDereham\tNR19 1EE\n3 "Quoted" Lane\tSwaffham\tPE37 7AA\n')
    pems = os.path.join(d, "pems")
    os.makedirs(pems)
    with open(os.path.join(pems, "echo-api-cert.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    port_file = os.path.join(d, "fa.port")
    p = subprocess.Popen([exe, "--cert", cert, "--key", key, "--addresses", tsv, "--pem-dir", pems, "--port-file",
                          port_file, "--workers", "2"], stderr=subprocess.PIPE, start_new_session=True)
    try:
        port = wait_port_file(port_file, p)
        ctx = ssl._create_unverified_context()

        def get(path, token=None, method="GET"):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
            h = {"Authorization": "Bearer " + token} if token else {}
            t0 = time.time()
            c.request(method, path, headers=h)
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, r.getheader("Content-Type"), body, time.time() - t0

        st, ct, body, _ = get("/v1/devices/amzn1.ask.device.bench-1/settings/address", "tok-granted-abc")
        t.ok(st == 200 and ct == "application/json" and json.loads(body) == {
            "addressLine1": '3 "Quoted" Lane', "addressLine2": None, "addressLine3": None, "city": "Swaffham",
            "districtOrCounty": "Norfolk", "stateOrRegion": None, "countryCode": "GB", "postalCode": "PE37 7AA"},
            "fast_api: device bench-1 gets the second address, JSON-escaped", body)
        st, _, body, _ = get("/v1/devices/bench-2/settings/address/countryAndPostalCode", "tok-granted")
        t.ok(st == 200 and json.loads(body) == {"countryCode": "GB", "postalCode": "NR19 1EE"},
             "fast_api: countryAndPostalCode, device numbers wrap around", body)
        st, _, body, took = get("/v1/devices/bench-0/settings/address", "tok-slow-300ms-x")
        t.ok(st == 200 and took >= 0.29 and json.loads(body)["city"] == "Dereham",
             "fast_api: tok-slow-300ms answers after 300 ms (%.3f s)" % took)
        for tok in ("tok-denied", "tok-slow-ms", "tok-grantedx", None):
            st, _, body, _ = get("/v1/devices/bench-0/settings/address", tok)
            t.eq(st, 401, "fast_api: token %r is refused" % tok)
        t.eq(get("/v1/devices/bench-0/settings/other", "tok-granted")[0], 404, "fast_api: other paths 404")
        t.eq(get("/_stats", method="POST")[0], 405, "fast_api: only GET")
        t.eq(get("/v1/directives", "tok-granted", method="POST")[0], 204, "fast_api: directives (progressive) 204")
        st, ct, body, _ = get("/echo.api/echo-api-cert.pem")
        t.ok(st == 200 and ct == "application/x-pem-file" and body.startswith(b"-----BEGIN"), "fast_api: the pem files")
        # one keep-alive connection stays with one worker: its count goes up by one
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        counts = []
        for path in ("/_stats", "/v1/devices/bench-0/settings/address", "/_stats"):
            c.request("GET", path, headers={"Authorization": "Bearer tok-granted"})
            b = c.getresponse().read()
            if path == "/_stats":
                counts.append(json.loads(b)["served"])
        c.close()
        t.ok(len(counts) == 2 and counts[1] == counts[0] + 1, "fast_api: /_stats counts this worker's address calls %r"
             % counts)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
    time.sleep(0.3)
    left = sh(["pgrep", "-f", exe]).stdout.split()
    t.eq(left, [], "fast_api: SIGTERM ends the workers too")


if __name__ == "__main__":
    main()
