#!/usr/bin/python3
"""loop_block.py - does a store write stall the event loop? (issue 14)

Latency of ordinary /alexa intents (AMAZON.HelpIntent: verification, the
answer and the transcript queue, no Amazon API call, so what is measured is
the loop itself) from a few keep-alive clients, in three phases on one
server started with --threads 1 (so every request shares one loop):

  idle    intents only
  burst   intents while 1,000 SkillDisabled events (distinct users, so each
          one writes) arrive from 8 connections as fast as they are answered
  lock    intents, a trickle of SkillDisabled events (10/s) and /healthz
          while another process holds LMDB's writer lock for --hold-s seconds
          (tests/integration/lmdb_lock.py opens the environment through
          liblmdb and begins a write txn - what a long `binday import` does
          to every other writer)

For each phase: intents answered, p50/p99/max (ms) and any non-200; for the
events: p99/max and statuses; for lock, /healthz max.

    /usr/bin/python3 bench/loop_block.py [--bin build/release/binday] [--events 1000]
        [--hold-s 3] [--properties 3000] [--clients 4] [--seconds 4] [--json OUT]

    /usr/bin/python3 bench/loop_block.py --ab BIN_A BIN_B [--rounds 3] [other options]
        runs A, B, A, B, ... (each run its own server and data) and prints the
        median (and range) of each figure over the rounds, as a Markdown table:
        on a shared, noisy machine alternating keeps a slow phase from landing
        on one side only.

It reuses the integration harness (tests/integration: skill_env.py, harness.py,
fake_amazon.py). Client and fake cloud are Python threads in this process:
figures below a millisecond are the harness's, not the server's.
"""
import argparse
import concurrent.futures
import json
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def summary(lat_ms, statuses):
    bad = {}
    for s in statuses:
        if s != 200:
            bad[str(s)] = bad.get(str(s), 0) + 1
    r = {"n": len(lat_ms), "p50_ms": pct(lat_ms, 50), "p99_ms": pct(lat_ms, 99),
         "max_ms": max(lat_ms) if lat_ms else None, "non200": bad}
    for k in ("p50_ms", "p99_ms", "max_ms"):
        if r[k] is not None:
            r[k] = round(r[k], 2)
    return r


class Signed:
    """Bodies signed ahead of time: the openssl CLI takes ms per signature."""

    def __init__(self, env):
        self.env = env

    def many(self, bodies):
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            sigs = list(ex.map(self.env.sign, bodies))
        return list(zip(bodies, sigs))


def post(server, conn, body, sig):
    from skill_env import CERT_URL
    headers = {"Content-Type": "application/json", "SignatureCertChainUrl": CERT_URL, "Signature-256": sig}
    t0 = time.perf_counter()
    try:
        conn.request("POST", "/alexa", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        st = r.status
        if r.getheader("connection", "").lower() == "close":
            conn.close()
    except Exception:
        conn.close()
        st = 0
    return st, (time.perf_counter() - t0) * 1000.0


class Intents:
    """Keep-alive clients sending signed HelpIntents until stopped."""

    def __init__(self, server, signed, clients):
        self.server, self.signed, self.clients = server, signed, clients
        self.samples = []  # (t_start, ms, status): a stalled request counts where it began
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []

    def run_one(self, k):
        conn = self.server.connection(timeout=30)
        i = k
        while not self.stop.is_set():
            body, sig = self.signed[i % len(self.signed)]
            i += self.clients
            ts = time.time()
            st, ms = post(self.server, conn, body, sig)
            if conn.sock is None:
                conn = self.server.connection(timeout=30)
            with self.lock:
                self.samples.append((ts, ms, st))
        conn.close()

    def start(self):
        for k in range(self.clients):
            th = threading.Thread(target=self.run_one, args=(k,), daemon=True)
            th.start()
            self.threads.append(th)

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join()

    def between(self, t0, t1):
        with self.lock:
            s = [x for x in self.samples if t0 <= x[0] <= t1]
        return summary([x[1] for x in s], [x[2] for x in s])


def send_events(server, signed, conns, pace_s=0.0):
    """Send each signed event once over `conns` parallel connections; returns
    (latencies ms, statuses)."""
    lat, sts = [], []
    lock = threading.Lock()
    it = iter(signed)

    def worker():
        conn = server.connection(timeout=30)
        while True:
            with lock:
                nxt = next(it, None)
            if nxt is None:
                break
            st, ms = post(server, conn, *nxt)
            if st == 0 or conn.sock is None:
                conn = server.connection(timeout=30)
            with lock:
                lat.append(ms)
                sts.append(st)
            if pace_s:
                time.sleep(pace_s)
        conn.close()

    ths = [threading.Thread(target=worker, daemon=True) for _ in range(conns)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return lat, sts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "binday"))
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--hold-s", type=float, default=3.0)
    ap.add_argument("--properties", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=4.0, help="length of the idle phase")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--ab", nargs=2, metavar=("BIN_A", "BIN_B"), help="alternate two binaries, print medians")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.ab:
        return ab(a)
    os.environ["BINDAY_BIN"] = os.path.abspath(a.bin)
    import harness
    from skill_env import SkillEnv
    from lmdb_lock import WriterLock

    out = {"bin": a.bin, "events": a.events, "hold_s": a.hold_s, "clients": a.clients}
    with harness.tempdir("binday-loopblock-") as d:
        env = SkillEnv(d, scenarios={}, properties=a.properties, extra=["--threads", "1", "--log-level", "warn"])
        env.start()
        try:
            sg = Signed(env)
            help_req = {"type": "IntentRequest", "dialogState": "COMPLETED",
                        "intent": {"name": "AMAZON.HelpIntent", "confirmationStatus": "NONE", "slots": {}}}

            def intents_signed():
                return sg.many([env.envelope(help_req, user="amzn1.ask.account.LOOPBENCH%d" % k)
                                for k in range(16)])

            def events_signed(prefix, n):
                return sg.many([env.envelope({"type": "AlexaSkillEvent.SkillDisabled"},
                                             user="amzn1.ask.account.%s%d" % (prefix, k), with_session=False)
                                for k in range(n)])

            # idle
            its = Intents(env.server, intents_signed(), a.clients)
            t0 = time.time()
            its.start()
            time.sleep(a.seconds)
            t1 = time.time()
            its.finish()
            out["idle"] = {"intents": its.between(t0 + 0.5, t1)}

            # burst: events signed first (the signatures are good for 150 s)
            ev = events_signed("BURST", a.events)
            its = Intents(env.server, intents_signed(), a.clients)
            its.start()
            time.sleep(0.5)
            t0 = time.time()
            lat, sts = send_events(env.server, ev, 8)
            t1 = time.time()
            its.finish()
            out["burst"] = {"intents": its.between(t0, t1), "events": summary(lat, sts),
                            "burst_s": round(t1 - t0, 2)}

            # lock
            n_ev = max(1, int(a.hold_s * 10))
            ev = events_signed("LOCK", n_ev)
            its = Intents(env.server, intents_signed(), a.clients)
            lock = WriterLock(env.data).acquire()
            threading.Timer(a.hold_s, lock.release).start()
            t0 = time.time()
            its.start()
            health = []

            def probe():
                conn = env.server.connection(timeout=30)
                while time.time() - t0 < a.hold_s:
                    s0 = time.perf_counter()
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
                    health.append((time.perf_counter() - s0) * 1000.0)
                    time.sleep(0.1)
                conn.close()

            pth = threading.Thread(target=probe, daemon=True)
            pth.start()
            lat, sts = send_events(env.server, ev, 1, pace_s=0.1)
            while lock.proc is not None:
                time.sleep(0.05)
            t1 = time.time()
            time.sleep(0.3)
            its.finish()
            pth.join()
            out["lock"] = {"intents": its.between(t0, t0 + a.hold_s), "events": summary(lat, sts),
                           "healthz_max_ms": round(max(health), 2) if health else None}
        finally:
            rc = env.stop()
            out["server_exit"] = rc
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


FIGURES = [  # (label, phase, group, key)
    ("idle: intents p99 (ms)", "idle", "intents", "p99_ms"),
    ("burst: intents p99 (ms)", "burst", "intents", "p99_ms"),
    ("burst: intents answered", "burst", "intents", "n"),
    ("burst: events p99 (ms)", "burst", "events", "p99_ms"),
    ("burst: the events took (s)", "burst", None, "burst_s"),
    ("lock: intents p99 (ms)", "lock", "intents", "p99_ms"),
    ("lock: intents answered", "lock", "intents", "n"),
    ("lock: /healthz max (ms)", "lock", None, "healthz_max_ms"),
    ("lock: events p99 (ms)", "lock", "events", "p99_ms"),
]


def ab(a):
    import subprocess
    import tempfile
    runs = {0: [], 1: []}
    passthru = ["--events", str(a.events), "--hold-s", str(a.hold_s), "--properties", str(a.properties),
                "--clients", str(a.clients), "--seconds", str(a.seconds)]
    with tempfile.TemporaryDirectory() as td:
        for r in range(a.rounds):
            for side in (0, 1):
                out = os.path.join(td, "%d-%d.json" % (side, r))
                subprocess.run([sys.executable, os.path.abspath(__file__), "--bin", a.ab[side], "--json", out]
                               + passthru, check=True, stdout=subprocess.DEVNULL)
                with open(out) as f:
                    runs[side].append(json.load(f))
                print("# round %d %s done" % (r + 1, "AB"[side]), file=sys.stderr, flush=True)

    def get(d, ph, grp, key):
        x = d[ph][grp] if grp else d[ph]
        return x[key]

    def cell(vals):
        vals = sorted(v for v in vals if v is not None)
        if not vals:
            return "-"
        med = vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2
        fmt = (lambda v: "%g" % round(v, 1))
        return "%s (%s-%s)" % (fmt(med), fmt(vals[0]), fmt(vals[-1])) if len(vals) > 1 else fmt(med)

    print("| median of %d runs (range) | A: %s | B: %s |" % (a.rounds, a.ab[0], a.ab[1]))
    print("|---|---|---|")
    for label, ph, grp, key in FIGURES:
        print("| %s | %s | %s |" % (label, cell([get(d, ph, grp, key) for d in runs[0]]),
                                    cell([get(d, ph, grp, key) for d in runs[1]])))
    bad = [sum(sum(d[ph][g]["non200"].values()) for ph in ("idle", "burst", "lock") for g in ("intents", "events")
               if g in d[ph]) for side in (0, 1) for d in runs[side]]
    print("\nnon-200 answers over all runs: A %d, B %d" % (sum(bad[:a.rounds]), sum(bad[a.rounds:])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"A": runs[0], "B": runs[1]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
