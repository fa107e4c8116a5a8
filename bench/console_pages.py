#!/usr/bin/python3
"""bench/console_pages.py - server time of every staff console page on the
60,000-property demo district (issue 17: each under 50 ms).

Starts the release binary with --staff-listen on a fresh demo district
(binday demo-data --properties 60000 --seed 7 --year 2026, then import),
signs in as an admin, requests each page N times in turn over one client
(sequential, so the server's access-log lines come back in request order),
and reads the server's own time per request from its access log
(`http.request ... us=`): the time from the request's first byte to the
answer, without the client's TLS or the network. Prints median, p95 and max
per page; the first round is a warm-up and not counted.

Usage: bench/console_pages.py [BINARY] [N]   (default build/release/binday, 30)
Part of `make bench` (bench/run.sh); nothing here is asserted."""
import datetime
import http.client
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/release/binday"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 30
PROPERTIES = int(os.environ.get("BENCH_PROPERTIES", "60000"))
TODAY = "2026-12-01"
PW = "bench-password-1"


def run(*args, **kw):
    return subprocess.run([BIN] + [str(a) for a in args], check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, **kw)


def wait_file(path, proc, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read().split()[0])
        if proc.poll() is not None:
            raise SystemExit("binday serve exited early")
        time.sleep(0.05)
    raise SystemExit("timeout waiting for " + path)


def main():
    with tempfile.TemporaryDirectory(prefix="binday-console-bench-") as d:
        csvd, data = os.path.join(d, "csv"), os.path.join(d, "data")
        run("demo-data", "--out", csvd, "--properties", PROPERTIES, "--seed", 7, "--year", 2026)
        args = ["import", "--data", data]
        for t in ("addresses", "services", "rounds", "assignments", "exceptions", "notices"):
            args += ["--" + t, os.path.join(csvd, t + ".csv")]
        run(*args, timeout=600)
        run("staff", "add", "--data", data, "--user", "bench", "--role", "admin", input=PW + "\n")
        cert, key = os.path.join(d, "tls.pem"), os.path.join(d, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pf, spf, logp = os.path.join(d, "port"), os.path.join(d, "staff-port"), os.path.join(d, "server.log")
        assets = os.path.join(os.getcwd(), "build", "web", "node_modules", "govuk-frontend", "dist", "govuk")
        logf = open(logp, "w")
        proc = subprocess.Popen([BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", "--port-file", pf,
                                 "--tls-cert", cert, "--tls-key", key, "--skill-id", "amzn1.ask.skill.bench",
                                 "--threads", "1", "--today", TODAY, "--staff-listen", "127.0.0.1:0",
                                 "--staff-port-file", spf, "--staff-assets", assets],
                                stdout=logf, stderr=subprocess.STDOUT)
        try:
            port = wait_file(spf, proc)
            while "server.ready" not in open(logp).read():
                time.sleep(0.05)
            measure(port, cert, logp, csvd)
        finally:
            proc.terminate()
            proc.wait(30)
            logf.close()


def measure(port, cert, logp, csvd):
    ctx = ssl.create_default_context(cafile=cert)
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=60)
    cookie = {}

    def req(method, path, fields=None):
        h = {}
        if cookie:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookie.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                cookie[name] = rest.split(";", 1)[0]
        return r.status, text

    st, _ = req("POST", "/sign-in", {"username": "bench", "password": PW})
    if st != 303:
        raise SystemExit("sign-in failed: %d" % st)
    st, page = req("GET", "/search?q=NR19+1AA")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    uprn = re.search(r'href="/property/(\d+)"', page).group(1)
    # a real move: the property's first collection after TODAY, by its round
    lk = json.loads(run("lookup", "--data", os.path.join(os.path.dirname(csvd), "data"), "--uprn", uprn, "--from",
                        TODAY, "--days", 30, "--json").stdout)
    first = [c for c in lk["collections"] if c["date"] > TODAY][0]
    rnd = None
    with open(os.path.join(csvd, "assignments.csv")) as f:
        for line in f:
            cells = line.split(",")
            if cells[0] == uprn and cells[1] == first["service_id"]:
                rnd = cells[2]
                break
    moved_to = (datetime.date.fromisoformat(first["date"]) + datetime.timedelta(days=1)).isoformat()
    pages = [
        ("sign-in page", "GET", "/sign-in", None),
        ("search: postcode", "GET", "/search?q=NR19+1AA", None),
        ("search: address", "GET", "/search?q=" + urllib.parse.quote_plus("12 High Street, NR19 1AA"), None),
        ("search: UPRN", "GET", "/search?q=" + uprn, None),
        ("property (list + grid)", "GET", "/property/" + uprn, None),
        ("exceptions form", "GET", "/exceptions", None),
        ("exception preview (move)", "POST", "/edit/preview",
         {"csrf": csrf, "kind": "move", "round": rnd, "date": first["date"], "new_date": moved_to,
          "reason": "bench"}),
        ("notices", "GET", "/notices", None),
        ("bank holidays", "GET", "/holidays", None),
        ("uploads form", "GET", "/uploads", None),
        ("accounts", "GET", "/admin", None),
        ("audit log", "GET", "/admin/audit", None),
    ]
    start = len(open(logp).read().splitlines())
    order = []
    for rnd_i in range(N + 1):
        for name, m, p, f in pages:
            st, _ = req(m, p, f)
            order.append((name, st, rnd_i))
    time.sleep(0.3)
    lines = [l for l in open(logp).read().splitlines()[start:] if "event=http.request" in l]
    if len(lines) != len(order):
        raise SystemExit("log lines %d != requests %d" % (len(lines), len(order)))
    us = {}
    for (name, st, rnd_i), l in zip(order, lines):
        if rnd_i == 0:
            continue  # warm-up
        us.setdefault(name, []).append(int(re.search(r" us=(\d+)", l).group(1)))
    print("staff console pages: server time per request (access log us=), %d properties, %d rounds after 1 "
          "warm-up" % (PROPERTIES, N))
    print("machine: %d cores, load %.1f; binary %s; one loop thread; sequential requests" %
          (os.cpu_count(), os.getloadavg()[0], BIN))
    print("%-28s %9s %9s %9s %6s" % ("page", "median ms", "p95 ms", "max ms", "<50ms"))
    for name, _, _, _ in pages:
        v = sorted(us[name])
        p95 = v[min(len(v) - 1, int(len(v) * 0.95))]
        print("%-28s %9.2f %9.2f %9.2f %6s" % (name, statistics.median(v) / 1000, p95 / 1000, v[-1] / 1000,
                                                 "yes" if v[-1] < 50000 else "NO"))
    bad = [(n, s) for n, s, _ in order if s not in (200, 303)]
    if bad:
        print("non-200 answers: %r" % bad[:5])


if __name__ == "__main__":
    main()
