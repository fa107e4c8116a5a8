"""Metrics and reloads (issue 19): GET /metrics on --admin-listen only, parsed
with Debian's python3-prometheus-client and moving as requests are made; the
example alert rules name only metrics a live scrape has; SIGHUP swaps the TLS
certificate for new handshakes while an open keep-alive connection goes on,
and refuses a broken certificate, keeping the one it serves."""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import time
import urllib.error
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

from harness import ROOT, Server, jbody, server_cert, tempdir, wait_port_file
from pki import make_cert
from skill_env import SkillEnv
from tap import Tap

ALERTS = os.path.join(ROOT, "deploy", "prometheus", "binday-alerts.yml")
ALERT_NAMES = {"BindayDown", "BindayHighErrorRate", "BindayVerificationFailures", "BindayOutboxStuck",
               "BindayCertExpiringSoon", "BindayMapNearlyFull", "BindayAmazonApiErrors"}


def admin_args(d, name):
    pf = os.path.join(d, "admin-port-" + name)
    return pf, ["--admin-listen", "127.0.0.1:0", "--admin-port-file", pf]


def scrape(port, path="/metrics", method="GET"):
    """(status, content type, text) from the admin listener (plain HTTP)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("content-type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type"), e.read().decode()


def samples(text):
    """{(sample name, frozenset(labels)): value} and the family names, via the real parser."""
    out, fams = {}, {}
    for fam in text_string_to_metric_families(text):
        fams[fam.name] = fam.type
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, fams


def val(sm, name, **labels):
    return sm.get((name, frozenset(labels.items())))


def test_metrics_scrape_and_counters(t, d):
    pf, extra = admin_args(d, "skill")
    with SkillEnv(d, properties=200, extra=extra) as env:
        s = env.server
        aport = wait_port_file(pf, s.proc)
        st, ctype, text = scrape(aport)
        t.eq(st, 200, "GET /metrics on the admin listener: 200")
        t.eq(ctype, "text/plain; version=0.0.4; charset=utf-8", "text exposition format 0.0.4")
        before, fams = samples(text)
        for name in ("binday_http_request_duration_seconds", "binday_alexa_verification_failures",
                     "binday_alexa_verified_requests", "binday_amazon_api_calls",
                     "binday_amazon_api_duration_seconds", "binday_mail_outbox_messages",
                     "binday_mail_outbox_oldest_age_seconds", "binday_mail_send_attempts",
                     "binday_transcript_queue_records", "binday_transcript_records_dropped",
                     "binday_transcript_commit_lag_seconds", "binday_lmdb_map_size_bytes",
                     "binday_lmdb_map_used_bytes", "binday_alexa_cert_cache_lookups",
                     "binday_privacy_purge_runs", "binday_privacy_purge_erased_records",
                     "binday_tls_certificate_expiry_timestamp_seconds", "process_cpu_seconds",
                     "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"):
            t.ok(name in fams, "scrape has %s" % name, sorted(fams))
        t.eq(fams.get("binday_http_request_duration_seconds"), "histogram", "request latency is a histogram")
        size = val(before, "binday_lmdb_map_size_bytes")
        used = val(before, "binday_lmdb_map_used_bytes")
        t.ok(size and used and 0 < used <= size, "LMDB map use against its size", (used, size))
        t.ok((val(before, "process_open_fds") or 0) > 5 and (val(before, "process_resident_memory_bytes") or 0) > 1e6,
             "process figures are the process's", (val(before, "process_open_fds"),
                                                    val(before, "process_resident_memory_bytes")))
        t.ok(abs((val(before, "process_start_time_seconds") or 0) - time.time()) < 600, "process start time is now")

        # the public listener never serves /metrics, whatever the Host header
        for host in ("localhost", "127.0.0.1:%d" % aport, "default"):
            st, _, b = s.request("GET", "/metrics", headers={"Host": host})
            t.eq((st, jbody(b)), (404, {"error": "not found"}), "/metrics on the Alexa listener (Host %s): 404" % host)
        st, _, _ = scrape(aport, "/healthz")
        t.eq(st, 404, "the admin listener serves /metrics only")
        st, _, _ = scrape(aport, "/metrics", method="POST")
        t.eq(st, 405, "POST /metrics: 405")

        # requests move the counters
        before, _ = samples(scrape(aport)[2])
        for _ in range(3):
            s.request("GET", "/healthz")
        r = env.launch()
        t.eq(r.status, 200, "a signed LaunchRequest is answered")
        r = env.intent("NextCollectionIntent", token="tok-granted")
        t.eq(r.status, 200, "a signed intent needing the address is answered")
        body = env.envelope({"type": "LaunchRequest"})
        bad = env.sign(body + b" ")  # a signature over other bytes
        st, _, _ = s.request("POST", "/alexa", body=body, headers={
            "Content-Type": "application/json", "SignatureCertChainUrl": "https://s3.amazonaws.com/echo.api/binday-dev.pem",
            "Signature-256": bad})
        t.eq(st, 400, "bad signature: refused")
        st, _, _ = s.request("POST", "/alexa", body=body, headers={"Content-Type": "application/json"})
        t.eq(st, 400, "no signature headers: refused")
        st, _, _ = s.request("GET", "/nowhere")
        t.eq(st, 404, "unknown path: 404")

        after, _ = samples(scrape(aport)[2])

        def moved(name, **labels):
            return (val(after, name, **labels) or 0) - (val(before, name, **labels) or 0)

        t.eq(moved("binday_http_request_duration_seconds_count", endpoint="/healthz", code="2xx"), 3,
             "3 GET /healthz: the 2xx count of /healthz moved by 3")
        t.eq(moved("binday_http_request_duration_seconds_count", endpoint="/alexa", code="2xx"), 2,
             "2 answered /alexa requests counted")
        t.eq(moved("binday_http_request_duration_seconds_count", endpoint="/alexa", code="4xx"), 2,
             "2 refused /alexa requests counted as 4xx")
        t.eq(moved("binday_http_request_duration_seconds_count", endpoint="other", code="4xx"), 1,
             "an unknown path is counted under endpoint=other")
        t.ok(moved("binday_http_request_duration_seconds_bucket", endpoint="/healthz", code="2xx", le="+Inf") == 3 and
             moved("binday_http_request_duration_seconds_sum", endpoint="/healthz", code="2xx") > 0,
             "the latency histogram's +Inf bucket and sum moved")
        t.eq(moved("binday_alexa_verified_requests_total"), 2, "2 requests passed verification")
        t.eq(moved("binday_alexa_verification_failures_total", reason="signature_mismatch"), 1,
             "bad signature: counted under reason=signature_mismatch")
        t.eq(moved("binday_alexa_verification_failures_total", reason="no_cert_url"), 1,
             "missing headers: counted under reason=no_cert_url")
        t.ok(moved("binday_alexa_cert_cache_lookups_total", result="miss") >= 1 and
             moved("binday_alexa_cert_cache_lookups_total", result="hit") >= 1,
             "certificate cache: a miss (first download) and hits",
             (moved("binday_alexa_cert_cache_lookups_total", result="miss"),
              moved("binday_alexa_cert_cache_lookups_total", result="hit")))
        calls = moved("binday_amazon_api_calls_total", api="address", result="ok")
        t.ok(calls >= 1, "the intent called the Device Address API, result ok", calls)
        t.eq(moved("binday_amazon_api_duration_seconds_count", api="address"), calls, "each call's latency observed")
        # transcripts are committed within TRANSCRIPT_COMMIT_MS (200 ms)
        deadline = time.time() + 10
        while time.time() < deadline:
            after, _ = samples(scrape(aport)[2])
            if moved("binday_transcript_records_written_total") >= 2:
                break
            time.sleep(0.2)
        t.ok(moved("binday_transcript_records_written_total") >= 2 and
             moved("binday_transcript_commit_lag_seconds_count") >= 1,
             "the transcript writer committed the turns and its lag was observed",
             moved("binday_transcript_records_written_total"))
        text = scrape(aport)[2]
        t.ok("amzn1." not in text and "E2EUSER" not in text and "tok-" not in text,
             "no user, device or token in the scrape")
    t.eq(s.proc.returncode, 0, "server exited cleanly")


def test_no_admin_listener_by_default(t, d, pki):
    with Server(d, pki) as s:
        st, _, b = s.request("GET", "/metrics")
        t.eq((st, jbody(b)), (404, {"error": "not found"}), "without --admin-listen: /metrics is 404")
        t.not_contains(s.log(), "admin_listen", "no admin listener opened")


def test_admin_connection_cap(t, d, pki):
    """The admin listener takes at most 16 connections; more are closed at once."""
    pf, extra = admin_args(d, "cap")
    with Server(d, pki, extra=extra) as s:
        aport = wait_port_file(pf, s.proc)
        held = [socket.create_connection(("127.0.0.1", aport), timeout=10) for _ in range(16)]
        # the 16 are accepted: each answers a request
        held[0].sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        t.ok(held[0].recv(100).startswith(b"HTTP/1.1 200"), "16 admin connections: each is served")
        extra_conn = socket.create_connection(("127.0.0.1", aport), timeout=10)
        extra_conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            got = extra_conn.recv(100)
        except OSError:
            got = b""
        t.eq(got, b"", "the 17th is closed without an answer")
        extra_conn.close()
        for c in held:
            c.close()
        st = None
        deadline = time.time() + 10
        while time.time() < deadline and st != 200:
            try:
                st = scrape(aport)[0]
            except OSError:
                time.sleep(0.1)
        t.eq(st, 200, "once they close, the admin listener serves again")


def test_alert_rules(t, d, pki):
    with open(ALERTS) as f:
        doc = yaml.safe_load(f)
    groups = doc.get("groups") if isinstance(doc, dict) else None
    t.ok(isinstance(groups, list) and groups and all(isinstance(g.get("name"), str) for g in groups),
         "alert file: a list of named groups")
    rules = [r for g in groups or [] for r in g.get("rules", [])]
    names = [r.get("alert") for r in rules]
    t.eq(sorted(names), sorted(ALERT_NAMES), "the documented alert names, once each")
    for r in rules:
        ok = (isinstance(r.get("expr"), str) and r["expr"].strip() and
              re.fullmatch(r"\d+[smh]", str(r.get("for", ""))) and
              (r.get("labels") or {}).get("severity") in ("warning", "critical") and
              (r.get("annotations") or {}).get("summary") and (r.get("annotations") or {}).get("description") and
              set(r) <= {"alert", "expr", "for", "labels", "annotations"})
        t.ok(ok, "%s: expr, for, severity, summary, description" % r.get("alert"), r)
    pf, extra = admin_args(d, "alerts")
    with Server(d, pki, extra=extra) as s:
        _, _, text = scrape(wait_port_file(pf, s.proc))
    sm, fams = samples(text)
    have = {name for name, _ in sm}
    for r in rules:
        used = set(re.findall(r"\b((?:binday|process)_[a-z0-9_]+)", r.get("expr", "")))
        if r.get("alert") != "BindayDown":
            t.ok(used, "%s uses binday metrics" % r.get("alert"))
        missing = sorted(u for u in used if u not in have)
        t.ok(not missing, "%s: every metric it uses is in a live scrape" % r.get("alert"), missing)


# ---- SIGHUP ----

def read_response(ss):
    """One HTTP/1.1 response with Content-Length from a socket: (status, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = ss.recv(4096)
        if not chunk:
            raise EOFError("closed before the head: %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length: *(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        chunk = ss.recv(4096)
        if not chunk:
            raise EOFError("closed in the body")
        rest += chunk
    return int(head.split(b" ")[1]), rest[:n]


def served_cert(s):
    """The DER certificate a new handshake gets."""
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw:
        with s.ssl_context().wrap_socket(raw, server_hostname="localhost") as ss:
            return ss.getpeercert(binary_form=True)


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def install(src_cert, src_key, dst):
    shutil.copyfile(src_cert, dst["cert"] + ".new")
    shutil.copyfile(src_key, dst["key"] + ".new")
    os.replace(dst["cert"] + ".new", dst["cert"])
    os.replace(dst["key"] + ".new", dst["key"])


def hup_and_wait(s, event):
    """SIGHUP, then wait for the next server.reload line; returns it."""
    n = s.log().count("event=server.reload ")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 15
    while time.time() < deadline:
        lines = [l for l in s.log().splitlines() if "event=server.reload " in l]
        if len(lines) > n:
            return lines[-1]
        time.sleep(0.05)
    return ""


def test_sighup_reload(t, d, pki):
    ca = (pki["ca"], pki["ca_key"])
    live = {"cert": os.path.join(d, "live-cert.pem"), "key": os.path.join(d, "live-key.pem"), "ca": pki["ca"]}
    install(pki["cert"], pki["key"], live)
    pf, extra = admin_args(d, "hup")
    config = {"log_level": "info", "max_connections": 4096}
    with Server(d, live, extra=extra, config=config) as s:
        aport = wait_port_file(pf, s.proc)
        old = der(pki["cert"])
        t.ok(served_cert(s) == old, "before: the first certificate is served")
        # a keep-alive connection opened before the reload
        raw = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        ka = s.ssl_context().wrap_socket(raw, server_hostname="localhost")
        ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        t.eq(read_response(ka)[0], 200, "keep-alive connection: first request answered")

        new_crt, new_key = make_cert(d, "renewed", ca, sans=["DNS:localhost", "IP:127.0.0.1"], cn="localhost", days=60)
        install(new_crt, new_key, live)
        line = hup_and_wait(s, "server.reload")
        t.contains(line, "result=ok", "SIGHUP with a new certificate: reload ok")
        t.ok(served_cert(s) == der(new_crt), "the next handshake gets the new certificate")
        ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        st, b = read_response(ka)
        t.eq(st, 200, "the keep-alive connection opened before the reload still works")
        t.ok(ka.getpeercert(binary_form=True) == old, "and still speaks with the old certificate's session")
        st, _, j = s.request("GET", "/readyz")
        c = (j and jbody(j) or {}).get("checks", {}).get("tls_certificate", {})
        t.ok(c.get("status") == "ok" and 58 <= c.get("expires_in_days", -1) <= 60,
             "/readyz reports the reloaded certificate's expiry", c)
        sm, _ = samples(scrape(aport)[2])
        exp = val(sm, "binday_tls_certificate_expiry_timestamp_seconds") or 0
        t.ok(abs(exp - (time.time() + 60 * 86400)) < 2 * 86400, "the expiry gauge follows the new certificate", exp)

        # broken: garbage, a key that does not match, an expired certificate
        other_crt, other_key = make_cert(d, "other", ca, sans=["DNS:localhost"], cn="localhost")
        exp_crt, exp_key = make_cert(d, "expired2", ca, sans=["DNS:localhost"], cn="localhost",
                                     start="20200101000000Z", end="20200201000000Z")
        garbage = os.path.join(d, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        for what, crt, key in (("an unreadable certificate", garbage, new_key),
                               ("a key that does not match", other_crt, new_key),
                               ("an expired certificate", exp_crt, exp_key)):
            install(crt, key, live)
            line = hup_and_wait(s, "server.reload")
            t.ok("result=error" in line and "what=tls" in line, "%s: the reload is refused and logged" % what, line)
            t.ok(served_cert(s) == der(new_crt), "%s: the previous certificate is still served" % what)
        ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        t.eq(read_response(ka)[0], 200, "the keep-alive connection survived every reload")
        ka.close()
        sm, _ = samples(scrape(aport)[2])
        t.eq((val(sm, "binday_reloads_total", result="ok"), val(sm, "binday_reloads_total", result="error")),
             (1.0, 3.0), "reloads counted by result")

        # the config: log_level applies, max_connections needs a restart
        install(new_crt, new_key, live)
        with open(s.args[s.args.index("--config") + 1], "w") as f:
            json.dump({"log_level": "warn", "max_connections": 100}, f)
        line = hup_and_wait(s, "server.reload")
        t.contains(line, "result=ok", "config change: reload ok")
        t.contains(s.log(), 'event=server.reload_needs_restart keys="max_connections"',
                   "a non-reloadable key is logged as needing a restart")
        n = s.log().count("event=http.request")
        s.request("GET", "/healthz")
        time.sleep(0.3)
        t.eq(s.log().count("event=http.request"), n, "log_level warn applied: no info lines for requests")
        with open(s.args[s.args.index("--config") + 1], "w") as f:
            f.write("{not json")
        line = hup_and_wait(s, "server.reload")
        t.ok("result=error" in line and "what=config" in line, "an unreadable config: refused, nothing changed", line)
        t.ok(served_cert(s) == der(new_crt), "the certificate is still served after a refused config")
    t.eq(s.proc.returncode, 0, "server exited cleanly after the reloads")


def main():
    t = Tap()
    with tempdir() as d:
        pki = server_cert(d)
        t.run(test_no_admin_listener_by_default, d, pki)
        t.run(test_alert_rules, d, pki)
        t.run(test_admin_connection_cap, d, pki)
        t.run(test_sighup_reload, d, pki)
    with tempdir() as d:
        t.run(test_metrics_scrape_and_counters, d)
    t.done()


if __name__ == "__main__":
    main()
