#!/usr/bin/python3
"""Upgrades with no missed request: systemd socket activation (sd_listen_fds
protocol: fd 3, LISTEN_FDS=1, LISTEN_PID) as deploy/binday.socket uses it.

The test holds the listening socket, as systemd does, and hands it to each
binday. While clients keep making requests (fast GET /calendar/{token}.ics
on a new connection each, and slow POST /alexa whose Device Address API call
takes 800 ms, so SIGTERM always finds some in flight):
  1. overlap: a second binday starts on the same socket, then the first gets
     SIGTERM and drains;
  2. restart (what `systemctl restart binday` does): the second gets SIGTERM,
     and only after it exited does a third start; connections made meanwhile
     wait in the socket's backlog.
Every request must be answered. Also: a bad hand-over is refused, and
LISTEN_PID of another process is ignored."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import BIN, Server, run_binday, tempdir
from skill_env import SkillEnv
from tap import Tap


class Load:
    """Client threads counting answers and failures until stopped."""

    def __init__(self, env, port, feed_path):
        self.env, self.port, self.feed_path = env, port, feed_path
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = {"feed": 0, "alexa": 0}
        self.failures = []
        self.threads = []

    def _fail(self, what):
        with self.lock:
            self.failures.append(what)

    def _feed(self):
        import http.client
        import ssl
        ctx = ssl.create_default_context(cafile=self.env.pki["ca"])
        while not self.stop.is_set():
            c = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=20)
            try:
                c.request("GET", self.feed_path)
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    with self.lock:
                        self.ok["feed"] += 1
                else:
                    self._fail("feed status %d" % r.status)
            except Exception as e:  # refused, reset, timeout: a missed request
                self._fail("feed %r" % e)
            finally:
                c.close()
            time.sleep(0.01)

    def _alexa(self, n):
        body_n = 0
        while not self.stop.is_set():
            body_n += 1
            try:
                r = self.env.intent("NextCollectionIntent", token="tok-slow-800ms-%d-%d" % (n, body_n))
                if r.status == 200 and r.speech:
                    with self.lock:
                        self.ok["alexa"] += 1
                else:
                    self._fail("alexa %r" % r)
            except Exception as e:
                self._fail("alexa %r" % e)

    def start(self):
        for i in range(2):
            self.threads.append(threading.Thread(target=self._feed, daemon=True))
        for i in range(3):
            self.threads.append(threading.Thread(target=self._alexa, args=(i,), daemon=True))
        for th in self.threads:
            th.start()

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(60)

    def total(self):
        with self.lock:
            return self.ok["feed"] + self.ok["alexa"]


def served(server):
    return len(re.findall(r"event=http\.request ", server.log()))


def wait_total(load, more, timeout=30):
    want = load.total() + more
    t0 = time.time()
    while load.total() < want and time.time() - t0 < timeout:
        time.sleep(0.05)


def test_handover(t, d):
    env = SkillEnv(d, properties=400)
    env.fake.start()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(256)
    port = lsock.getsockname()[1]
    p = env.fake.port
    flags = ["--alexa-ca", env.signing_ca, "--upstream-ca", env.ca, "--today", "2026-12-01"]
    for h in ("s3.amazonaws.com", "api.amazonalexa.com", "api.eu.amazonalexa.com", "api.fe.amazonalexa.com"):
        flags += ["--connect-to", "%s:443:127.0.0.1:%d" % (h, p)]

    def make():
        from skill_env import SKILL_ID
        return Server(d, env.pki, skill_ids=(SKILL_ID,), extra=flags, data=env.data, inherit=lsock)

    a = make().start()
    env.server = a  # env.post goes through env.server's port: the shared socket's
    t.eq(a.port, port, "the port file names the inherited socket's port")
    t.contains(a.log(), "inherited=yes", "server.listen says the socket was inherited")
    uprn = env.addresses()[0]["uprn"]
    r = run_binday("calendar-link", "--data", env.data, "--uprn", uprn, "--json")
    feed_path = json.loads(r.stdout)["path"]
    load = Load(env, port, feed_path)
    load.start()
    b = c = None
    try:
        wait_total(load, 10)
        # two requests whose Address API call takes 6 s, sent while only A
        # accepts: they are in flight on A when it gets SIGTERM
        probe_ok = []

        def probe(i):
            r = env.intent("NextCollectionIntent", token="tok-slow-6000ms-probe-%d" % i)
            probe_ok.append(r.status == 200 and bool(r.speech))
        probes = [threading.Thread(target=probe, args=(i,)) for i in range(2)]
        for th in probes:
            th.start()
        time.sleep(0.5)
        # 1. overlap: B starts on the same socket, then A drains
        b = make().start()
        pending = sum(th.is_alive() for th in probes)
        rc_a = a.stop(signal.SIGTERM)
        t.eq(rc_a, 0, "first server: SIGTERM, drained, exit 0")
        m = re.search(r"event=server\.shutdown signal=TERM inflight=(\d+)", a.log())
        t.ok(pending >= 1 and m is not None and int(m.group(1)) >= 1,
             "SIGTERM found requests in flight (%s; %d slow probes pending)" % (m.group(1) if m else "?", pending))
        for th in probes:
            th.join(30)
        t.eq(probe_ok, [True, True], "the requests in flight at SIGTERM were answered")
        t.not_contains(a.log(), "server.drain_timeout", "the drain ended within shutdown_grace_ms")
        wait_total(load, 10)
        # 2. restart: B stops, and only then C starts; meanwhile connections queue
        rc_b = b.stop(signal.SIGTERM)
        t.eq(rc_b, 0, "second server: SIGTERM, exit 0")
        gap_started = time.time()
        time.sleep(0.5)  # nobody accepts for a while: requests wait in the backlog
        c = make().start()
        t.ok(time.time() - gap_started >= 0.5, "no server accepted for %.1f s" % (time.time() - gap_started))
        wait_total(load, 10)
    finally:
        load.finish()
        for s in (a, b, c):
            if s is not None:
                s.stop()
        env.fake.stop()
        lsock.close()
    t.eq(load.failures[:5], [], "zero failed requests across the handover and the restart (%d answered: %r)"
         % (load.total(), load.ok))
    t.ok(load.ok["alexa"] >= 5 and load.ok["feed"] >= 20, "both kinds of request kept flowing: %r" % load.ok)
    t.ok(served(a) > 0 and served(b) > 0 and served(c) > 0,
         "each of the three servers answered some (%d, %d, %d)" % (served(a), served(b), served(c)))


def test_bad_handover(t, d):
    from harness import server_cert
    pki = server_cert(d)
    base = [BIN, "serve", "--data", os.path.join(d, "data-bad"), "--tls-cert", pki["cert"], "--tls-key", pki["key"],
            "--skill-id", "x", "--listen", "127.0.0.1:0", "--port-file", os.path.join(d, "bad-port"),
            "--threads", "1"]
    # fd 3 is a regular file, not a listening socket
    p = subprocess.run(["/bin/sh", "-c", 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@" 3</dev/null', "sh"] + base,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    t.eq(p.returncode, 1, "fd 3 not a listening socket: start-up fails")
    t.contains(p.stderr.decode(), "not a listening stream socket", "and says why")
    p = subprocess.run(["/bin/sh", "-c", 'export LISTEN_PID=$$ LISTEN_FDS=2; exec "$@"', "sh"] + base,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    t.eq(p.returncode, 1, "LISTEN_FDS=2: refused (one socket expected)")
    # LISTEN_PID of another process (a parent's activation): ignored, binds --listen
    s = Server(d, pki, threads=1, env={"LISTEN_PID": "1", "LISTEN_FDS": "1"})
    with s:
        st, _, _ = s.request("GET", "/healthz")
        t.eq(st, 200, "LISTEN_PID of another process: ignored, serves on --listen")
        t.contains(s.log(), "inherited=no", "and logs inherited=no")


def main():
    t = Tap()
    with tempdir() as d:
        t.run(test_handover, d)
    with tempdir() as d:
        t.run(test_bad_handover, d)
    t.done()


if __name__ == "__main__":
    main()
