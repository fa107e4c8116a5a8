#!/usr/bin/python3
"""bench.py - the scenarios of `make bench` (issue 8); bench/run.sh installs
what is needed, builds the helpers and runs this. Everything talks to
127.0.0.1 only. Prints one table and writes bench/results.md.

  S1  signed NextCollectionIntent requests over HTTPS keep-alive, Device
      Address API answering at once: binday --threads 1 (pinned to one core)
      and --threads = cores; max throughput and p50/p99/p99.9, plus latency at
      half of the one-thread maximum.
  S2  the same requests against the Node.js ASK SDK peer (bench/node-peer),
      one process pinned to the same core as binday --threads 1.
  S3  cost under concurrency: Device Address API taking 50 ms (tok-slow-50ms),
      binday --threads 1 pinned as in S1; CPU per answered request at 32
      connections (S3a) and 1,000 (S3b), alternating rounds; their ratio,
      failures, and peak RSS (VmHWM).
  S4  demo data at 1,000,000 properties: import rate, store size per
      property, in-process lookup p50/p99 (the data side's bench/data_bench.sh).
  S5  openssl speed -seconds 3 rsa2048: verify/s, the floor of every request.
  plus a CPU profile of binday --threads 1 under the S1 load (perf, or
  callgrind where perf cannot count instructions).

Environment: BENCH_SECONDS (default 10) per measured run, BENCH_KEEP=1 keeps
the work directory, BENCH_PROPERTIES (default 1000000) for S4.
`bench.py --only s3` (s1s2, s3, s4, s5, verify; comma-separated) runs only
those and does not write results.md.
"""
import datetime
import glob
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "release", "binday")
TOOLS = os.path.join(ROOT, "build", "bench")
PY = "/usr/bin/python3"
FAKE = os.path.join(ROOT, "tests", "integration", "fake_amazon.py")
SKILL = "amzn1.ask.skill.binday-bench"
CERT_URL = "https://s3.amazonaws.com/echo.api/binday-dev.pem"
API_HOSTS = ["api.amazonalexa.com", "api.eu.amazonalexa.com", "api.fe.amazonalexa.com"]
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PROPERTIES = int(os.environ.get("BENCH_PROPERTIES", "1000000"))
HTTP_PROPERTIES = 60000  # roughly Breckland's size: what the HTTP scenarios serve
N_REQ = 1000             # distinct signed requests per batch
CONNS = 32               # keep-alive connections for the throughput runs

NCPU = os.cpu_count() or 1
SERVER_CPUS = "0"
MAX_ROUNDS = 3  # alternating S1 / S2 maximum-throughput rounds
CLIENT_CPUS = "1-%d" % (NCPU - 1) if NCPU > 2 else ("1" if NCPU == 2 else "0")
PIN = NCPU >= 2

commands = []   # the exact commands, for the report
notes = []      # things the reader must know
procs = []


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def note(msg):
    notes.append(msg)
    log("NOTE: " + msg)


def record(cmd):
    s = " ".join(cmd) if isinstance(cmd, list) else cmd
    commands.append(s)
    return s


def run(cmd, check=True, timeout=600, env=None, quiet=False):
    if not quiet:
        record(cmd)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], p.returncode, p.stderr[-2000:]))
    return p


LOGS = {}  # pid -> log file of a process we started


def spawn(cmd, logpath, env=None, quiet=False):
    if not quiet:
        record(cmd)
    f = open(logpath, "wb")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    procs.append(p)
    LOGS[p.pid] = logpath
    return p


def app_failures(pid):
    """Lines a server logged about failed work: binday's warn/error events,
    the Node peer's 'failed' lines. Counted around each run, because both
    answer a failed Address API call with a spoken apology and HTTP 200."""
    path = LOGS.get(pid)
    if not path:
        return 0
    n = 0
    try:
        for line in open(path, errors="replace"):
            # one line per failed request: binday's Alexa API client and
            # verification events, its handler timeouts; the peer's own line
            if (re.search(r"level=(warn|error) event=(alexa_api|alexa_verify_failed|http.handler_timeout) ", line)
                    or "node-peer: address api failed" in line):
                n += 1
    except OSError:
        pass
    return n


def stop(p, sig=signal.SIGTERM):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, sig)   # our own process group (start_new_session): the process and its children
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_file(path, proc, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path) and open(path).read().strip():
            return open(path).read().strip()
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited (%s) before writing %s" % (proc.args[0], proc.returncode, path))
        time.sleep(0.05)
    raise RuntimeError("timeout waiting for " + path)


def taskset(cpus, cmd):
    return (["taskset", "-c", cpus] + cmd) if PIN and cpus else cmd


def vm_hwm_kb(pid):
    return proc_status_kb(pid).get("VmHWM")


def proc_status_kb(pid):
    """VmHWM (peak RSS), VmRSS, RssAnon, RssFile (for binday mostly the LMDB
    map: page cache, not heap) and RssShmem in kB."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k = line.split(":")[0]
                if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    out[k] = int(line.split()[1])
    except OSError:
        pass
    return out


HZ = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid):
    """utime+stime of a process (all its threads) in clock ticks, 0 if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return int(v[11]) + int(v[12])
    except (OSError, IndexError, ValueError):
        return 0


def tree_pids(pid):
    """pid and its descendants (the Node fake forks workers)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


class CpuWatch:
    """CPU used during one run by the server, by our client side (wrk, the
    fakes) and by everything else on the machine (other users' work skews a
    benchmark; the report shows it). In cores (1.0 = one core busy)."""

    def __init__(self, server_pid, client_pids):
        self.groups = {"server": tree_pids(server_pid) if server_pid else [],
                       "fakes": [q for p in client_pids for q in tree_pids(p)]}

    def __enter__(self):
        self.t0 = time.time()
        self.b0 = busy_ticks()
        c = os.times()
        self.c0 = c.children_user + c.children_system
        self.p0 = {k: sum(proc_ticks(p) for p in v) for k, v in self.groups.items()}
        return self

    def __exit__(self, *a):
        dt = max(1e-3, time.time() - self.t0)
        c = os.times()
        wrk_s = c.children_user + c.children_system - self.c0
        used = {k: (sum(proc_ticks(p) for p in v) - self.p0[k]) / HZ for k, v in self.groups.items()}
        total = (busy_ticks() - self.b0) / HZ
        self.result = {"server": used["server"] / dt, "client": (used["fakes"] + wrk_s) / dt,
                       "other": max(0.0, total - used["server"] - used["fakes"] - wrk_s) / dt}


class SecondTicks:
    """A process's CPU time (utime+stime of /proc/PID/stat: all its threads, in
    clock ticks) read at every whole wall-clock second while a run lasts, so
    that CPU and the responses wrk counted per second (alexa.lua's persec) can
    be taken over the same window of whole seconds."""

    def __init__(self, pid):
        self.pid, self.ticks = pid, {}
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while True:
            now = time.time()
            nxt = int(now) + 1
            if self.stop_ev.wait(nxt - now):
                return
            self.ticks[nxt] = proc_ticks(self.pid)

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        self.th.join()


def window(persec, ticks, t_start, t_end, skip):
    """CPU seconds and responses over the whole seconds of a run from `skip`
    seconds after it started to two seconds before it ended (wrk's own
    deadline falls in the last one): the connections' set-up (a TLS handshake
    each, 1,000 of them in S3b) and the shutdown stay outside. None when the
    run was too short or a sample is missing."""
    a = int(t_start) + 1 + skip
    b = int(t_end) - 2  # last second counted (covers [b, b + 1))
    if b < a or a not in ticks or b + 1 not in ticks:
        return None
    n = sum(persec.get(x, 0) for x in range(a, b + 1))
    return {"seconds": b + 1 - a, "cpu_s": (ticks[b + 1] - ticks[a]) / HZ, "responses": n}


def binday_has(cmd):
    p = subprocess.run([BIN, "help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return re.search(r"^\s+%s\s" % re.escape(cmd), p.stdout, re.M) is not None


# ---- setup -------------------------------------------------------------------------

class Env:
    pass


def setup(W):
    e = Env()
    e.W = W
    # PKI: TLS for the Amazon host names, the development signing chain, and
    # one certificate for binday and the Node peer alike
    run([PY, FAKE, "--make-certs", os.path.join(W, "certs")])
    run([PY, FAKE, "--make-signing", os.path.join(W, "signing")])
    e.amazon_ca = os.path.join(W, "amazon-ca-bundle.pem")
    fast_tls(W, os.path.join(W, "certs", "ca.pem"), e.amazon_ca)
    e.signing = os.path.join(W, "signing")
    e.tls_cert, e.tls_key = os.path.join(W, "tls.pem"), os.path.join(W, "tls.key")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", e.tls_key, "-out", e.tls_cert])

    # demo data for the HTTP scenarios
    e.has_data = binday_has("demo-data") and binday_has("import")
    e.demo = os.path.join(W, "demo")
    e.store = os.path.join(W, "store")
    e.addr_tsv = os.path.join(W, "addresses.tsv")
    if e.has_data:
        run([BIN, "demo-data", "--out", e.demo, "--properties", str(HTTP_PROPERTIES)])
        files = []
        for t in ("addresses", "services", "rounds", "assignments", "exceptions", "notices"):
            files += ["--%s" % t, os.path.join(e.demo, t + ".csv")]
        run([BIN, "import", "--data", e.store] + files)
        n = sample_addresses(os.path.join(e.demo, "addresses.csv"), e.addr_tsv, 1000)
        log("demo data: %d properties imported, %d addresses sampled for the Device Address API" %
            (HTTP_PROPERTIES, n))
    else:
        note("this build has no `binday demo-data`/`import` (data branch not merged): the store is empty, "
             "the Node peer cannot run, and S4 is skipped")
        os.makedirs(e.store, exist_ok=True)
        with open(e.addr_tsv, "w") as f:
            f.write("12 High Street\tDereham\tNR19 1EE\n")

    # the fakes: fake_amazon.py is the cert host (one download per server thread);
    # fast_api (bench/fast_api.c) answers the Device Address API on every request
    e.fake_port_file = os.path.join(W, "fake.port")
    e.fake = spawn(taskset(CLIENT_CPUS, [PY, FAKE, "--cert", os.path.join(W, "certs", "server.pem"), "--key",
                                         os.path.join(W, "certs", "server.key"), "--port", "0", "--port-file",
                                         e.fake_port_file, "--pem-dir", e.signing]),
                   os.path.join(W, "fake.log"))
    e.fake_port = int(wait_file(e.fake_port_file, e.fake).split()[0])
    e.fast_port_file = os.path.join(W, "fast.port")
    workers = max(1, NCPU - 1)
    e.fast = spawn(taskset(CLIENT_CPUS, [os.path.join(ROOT, "build", "bench", "fast_api"), "--cert",
                                         os.path.join(W, "fast", "server.pem"), "--key",
                                         os.path.join(W, "fast", "server.key"), "--addresses", e.addr_tsv,
                                         "--pem-dir", e.signing, "--port-file", e.fast_port_file,
                                         "--workers", str(workers)]),
                   os.path.join(W, "fast.log"))
    e.fast_port = int(wait_file(e.fast_port_file, e.fast))
    log("fake cloud on :%d (cert host), fast Device Address API on :%d" % (e.fake_port, e.fast_port))
    return e


def fast_tls(W, fake_ca, bundle):
    """An ECDSA P-256 certificate for the Address API stand-in (its own
    throwaway CA), so that the 1,000 upstream handshakes at the start of S3
    cost the fake little; the CA bundle trusted by binday (--upstream-ca)
    and the Node peer (NODE_EXTRA_CA_CERTS) holds both fakes' CAs."""
    d = os.path.join(W, "fast")
    os.makedirs(d, exist_ok=True)
    k = lambda n: os.path.join(d, n)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
         "-subj", "/CN=binday bench fake API CA", "-keyout", k("ca.key"), "-out", k("ca.pem")])
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
         "/CN=api.amazonalexa.com", "-keyout", k("server.key"), "-out", k("server.csr")])
    with open(k("server.ext"), "w") as f:
        f.write("subjectAltName=DNS:api.amazonalexa.com,DNS:api.eu.amazonalexa.com,DNS:api.fe.amazonalexa.com,"
                "DNS:s3.amazonaws.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", k("server.csr"), "-CA", k("ca.pem"), "-CAkey", k("ca.key"),
         "-CAcreateserial", "-days", "2", "-extfile", k("server.ext"), "-out", k("server.pem")])
    with open(bundle, "w") as out:
        for f in (fake_ca, k("ca.pem")):
            out.write(open(f).read())


def sample_addresses(csv_path, out, n):
    """Every k-th single-dwelling address with a plain house number, as a
    resident would type it in the Alexa app: "12 High Street", town, postcode."""
    import csv
    rows = []
    with open(csv_path, newline="") as f:
        for r in csv.DictReader(f):
            if not r["saon"] and r["paon"].isdigit():
                rows.append(r)
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    with open(out, "w") as f:
        for r in picked:
            f.write("%s %s\t%s\t%s\n" % (r["paon"], r["street"].title(), r["town"].title(), r["postcode"]))
    return len(picked)


# ---- servers ------------------------------------------------------------------------

def start_binday(e, threads, cpus, tag):
    port_file = os.path.join(e.W, "binday-%s.port" % tag)
    args = [BIN, "serve", "--data", e.store, "--listen", "127.0.0.1:0", "--port-file", port_file,
            "--tls-cert", e.tls_cert, "--tls-key", e.tls_key, "--skill-id", SKILL, "--threads", str(threads),
            "--alexa-ca", os.path.join(e.signing, "signing-ca.pem"), "--upstream-ca", e.amazon_ca,
            "--connect-to", "s3.amazonaws.com:443:127.0.0.1:%d" % e.fake_port, "--log-level", "warn",
            "--max-connections", "8192"]
    for h in API_HOSTS:
        args += ["--connect-to", "%s:443:127.0.0.1:%d" % (h, e.fast_port)]
    p = spawn(taskset(cpus, args), os.path.join(e.W, "binday-%s.log" % tag))
    port = int(wait_file(port_file, p).split()[0])
    wait_ready(port)
    return p, port


def start_node(e, cpus):
    port_file = os.path.join(e.W, "node.port")
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=e.amazon_ca, NODE_ENV="production")
    args = ["node", os.path.join(ROOT, "bench", "node-peer", "server.js"), "--cert", e.tls_cert, "--key",
            e.tls_key, "--skill-id", SKILL, "--data", e.demo, "--signing-ca",
            os.path.join(e.signing, "signing-ca.pem"), "--port-file", port_file,
            "--route", "s3.amazonaws.com=%d" % e.fake_port]
    for h in API_HOSTS:
        args += ["--route", "%s=%d" % (h, e.fast_port)]
    record("NODE_EXTRA_CA_CERTS=%s" % e.amazon_ca)
    p = spawn(taskset(cpus, args), os.path.join(e.W, "node.log"), env=env)
    port = int(wait_file(port_file, p, timeout=120))
    return p, port


def wait_ready(port, timeout=20):
    ctx = ssl._create_unverified_context()
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server on :%d not ready" % port)


# ---- requests and load -----------------------------------------------------------------

def make_batch(e, token, tag, count=N_REQ):
    out = os.path.join(e.W, "req-%s.txt" % tag)
    run([os.path.join(TOOLS, "signreq"), "--key", os.path.join(e.signing, "signing.key"), "--skill-id", SKILL,
         "--count", str(count), "--out", out, "--token", token], quiet=True)
    return out


def probe(port, batch):
    """One request from the batch; returns (status, speech or body text)."""
    with open(batch) as f:
        sig, body = f.readline().rstrip("\n").split("\t", 1)
    ctx = ssl._create_unverified_context()
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("POST", "/alexa", body.encode(), {"Content-Type": "application/json", "Signature-256": sig,
                                                  "SignatureCertChainUrl": CERT_URL})
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    speech = data[:300]
    try:
        j = json.loads(data)
        os_ = j.get("response", {}).get("outputSpeech", {})
        speech = os_.get("ssml") or os_.get("text") or speech
    except ValueError:
        pass
    return r.status, re.sub(r"\s+", " ", speech)


def classify(status, speech):
    if status in (404, 405):
        return "not-routed"
    if status != 200:
        return "error"
    if re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)", speech):
        return "answer"
    return "verified-only"


def wrk(port, batch, conns, seconds, threads=1, pause_ms=0, cpus=CLIENT_CPUS, timeout_s=10, tag="", watch=None,
        skip=None):
    """One wrk run. With `skip` (seconds) and `watch`, also the server's CPU
    per response over a window of whole seconds that leaves out the first
    `skip` seconds (r["window"], see window())."""
    cmd = taskset(cpus, ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout",
                         "%ds" % timeout_s, "-s", os.path.join(ROOT, "bench", "alexa.lua"),
                         "https://127.0.0.1:%d/alexa" % port, "--", batch, str(pause_ms), CERT_URL] +
                  (["persec"] if skip is not None else []))
    s = record(cmd)
    w = CpuWatch(*watch) if watch else None
    f0 = app_failures(watch[0]) if watch else 0
    st = SecondTicks(watch[0]) if watch and skip is not None else None
    if st:
        st.__enter__()
    if w:
        w.__enter__()
    t_start = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=seconds + 120)
    t_end = time.time()
    if w:
        w.__exit__()
    if st:
        st.__exit__()
    m = re.search(r"^BENCH (.*)$", p.stdout, re.M)
    if not m:
        raise RuntimeError("wrk gave no result: %s\n%s" % (s, p.stdout[-2000:]))
    r = {}
    for kv in m.group(1).split():
        k, v = kv.split("=")
        r[k] = float(v)
    r["errors"] = r["non2xx"] + r["connect_err"] + r["read_err"] + r["write_err"] + r["timeouts"]
    r["cpu"] = w.result if w else None
    r["app_failures"] = app_failures(watch[0]) - f0 if watch else 0
    # requests per second that got a real answer (not an apology for a failed call)
    r["good_rps"] = max(0.0, r["requests"] - r["app_failures"]) / r["seconds"] if r["seconds"] else 0.0
    r["failures"] = int(r["app_failures"] + r["errors"])
    if st:
        m = re.search(r"^BENCHSEC (.*)$", p.stdout, re.M)
        persec = dict((int(a), int(b)) for a, b in (kv.split(":") for kv in m.group(1).split())) if m else {}
        r["persec"] = persec
        win = window(persec, st.ticks, t_start, t_end, skip)
        if win:
            # answered: every failure of the whole run taken off the window's
            # responses (a failed call is answered with an apology and HTTP 200)
            win["answered"] = max(0, win["responses"] - r["failures"])
            win["us_per_req"] = win["cpu_s"] * 1e6 / win["answered"] if win["answered"] else None
            win["rps"] = win["responses"] / win["seconds"]
        r["window"] = win
        if win and win["us_per_req"]:
            log("%s: window %d s: %d answered, server CPU %.2f s = %.1f us per answered request" %
                (tag, win["seconds"], win["answered"], win["cpu_s"], win["us_per_req"]))
    log("%s: %.0f req/s p50 %.2f ms p99 %.2f ms p99.9 %.2f ms (%d non-2xx, %d socket errors)%s" %
        (tag, r["rps"], r["p50_us"] / 1e3, r["p99_us"] / 1e3, r["p999_us"] / 1e3, r["non2xx"],
         r["errors"] - r["non2xx"], " failures logged %d; cpu(cores) server %.2f client %.2f other %.2f" %
         (r["app_failures"], r["cpu"]["server"], r["cpu"]["client"], r["cpu"]["other"]) if r["cpu"] else ""))
    return r


def cpu_us_per_req(r):
    """The server's CPU µs per request of one run (whole run), or None."""
    c = r.get("cpu")
    return c["server"] * 1e6 / r["rps"] if c and r["rps"] > 0 else None


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def median_rounds(res):
    """res["max"]: the round with the median req/s (the lower middle one of an
    even count); res["us_median"]: the median of the rounds' CPU per request.
    The median, not the best: a lucky phase of the VM on one side must not
    decide a ratio any more than a slow one."""
    rounds = res.get("rounds") or []
    if not rounds:
        return
    by_rps = sorted(rounds, key=lambda q: q["rps"])
    res["max"] = by_rps[(len(by_rps) - 1) // 2]
    res["us_median"] = median([q.get("us_per_req") for q in rounds])


def slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()


class Target:
    """One server under test: its process, port, watch set and results."""

    def __init__(self, e, proc, port, tag, token="tok-granted", conns=CONNS, threads=1, cpus=CLIENT_CPUS):
        self.e, self.proc, self.port, self.tag, self.token = e, proc, port, tag, token
        self.conns, self.threads, self.cpus = conns, threads, cpus
        self.watch = (proc.pid, [e.fast.pid, e.fake.pid])
        self.res = {}

    def prepare(self):
        """A probe (which also fills the certificate cache: the steady state
        is measured) and a warm-up. False when /alexa does not answer."""
        batch = make_batch(self.e, self.token, slug(self.tag))
        st, speech = probe(self.port, batch)
        kind = classify(st, speech)
        log("%s: probe -> %d %s: %s" % (self.tag, st, kind, speech[:160]))
        self.res.update({"probe_status": st, "probe_speech": speech, "kind": kind})
        if kind in ("not-routed", "error"):
            note("%s: the probe request got HTTP %d (%s); no load was run" % (self.tag, st, kind))
            return False
        w = wrk(self.port, batch, self.conns, 3, threads=self.threads, cpus=self.cpus, tag=self.tag + " warm-up")
        if w["errors"]:
            self.res["warmup_errors"] = int(w["errors"])
        return True

    def run_max(self, rnd=1):
        """A maximum-throughput run with a freshly signed batch (150 s
        window). After the last round, "max" is the median round by req/s and
        "us_median" the median CPU per request (median_rounds)."""
        batch = make_batch(self.e, self.token, slug(self.tag) + "-%d" % rnd)
        r = wrk(self.port, batch, self.conns, SECONDS, threads=self.threads, cpus=self.cpus,
                tag="%s max (round %d)" % (self.tag, rnd), watch=self.watch)
        r["us_per_req"] = cpu_us_per_req(r)
        self.res.setdefault("rounds", []).append(r)
        median_rounds(self.res)

    def run_half(self):
        target = self.res["max"]["rps"] / 2
        # each connection waits between requests so that conns / (pause + latency) ~ target
        pause = max(1, int(round(self.conns / target * 1000 - self.res["max"]["mean_us"] / 1000 / 2)))
        batch = make_batch(self.e, self.token, slug(self.tag) + "-half")
        r = wrk(self.port, batch, self.conns, SECONDS, threads=self.threads, pause_ms=pause, cpus=self.cpus,
                tag=self.tag + " half (pause %d ms)" % pause, watch=self.watch)
        r["target"] = target
        self.res["half"] = r

    def finish(self, key, R):
        self.res["hwm_kb"] = vm_hwm_kb(self.proc.pid)
        self.res["mem"] = proc_status_kb(self.proc.pid)
        R[key] = self.res


def dropped_transcripts(logpath):
    """Transcript records the server dropped (its queue was full: the writer
    thread fell behind): the largest total= of its transcript.dropped lines,
    which are logged once per 100 drops."""
    best = 0
    try:
        for line in open(logpath, errors="replace"):
            m = re.search(r"event=transcript\.dropped total=(\d+)", line)
            if m:
                best = max(best, int(m.group(1)))
    except OSError:
        pass
    return best


def server_events(logpath):
    """Counts of warn/error events a server logged (they explain errors)."""
    counts = {}
    try:
        for line in open(logpath, errors="replace"):
            m = re.search(r"level=(warn|error) event=(\S+)(?: reason=(\S+))?(?: detail=(\S+))?", line)
            if m:
                k = " ".join(x for x in m.groups()[1:] if x)
                counts[k] = counts.get(k, 0) + 1
    except OSError:
        pass
    return counts


# ---- scenarios ---------------------------------------------------------------------------

def scenarios12(e, R):
    """S1 (binday --threads 1) and S2 (Node peer) on the same core, measured
    in alternation (binday, Node, binday, Node) so that both see the same
    background load; the median round of each counts. Then the half-rate
    runs, the profile, and binday --threads <cores>."""
    bp, bport = start_binday(e, 1, SERVER_CPUS, "t1")
    np_ = None
    try:
        b = Target(e, bp, bport, "S1 binday --threads 1")
        n = None
        if e.has_data:
            np_, nport = start_node(e, SERVER_CPUS)
            n = Target(e, np_, nport, "S2 Node.js ASK SDK, 1 process")
        else:
            R["s2"] = {"skipped": "no demo data in this build"}
        ok_b = b.prepare()
        ok_n = n.prepare() if n else False
        # Alternating rounds, the median of each side kept: the VM's neighbours
        # change its speed by up to 2x within minutes (both sides' CPU per
        # request moved by ~40% between runs); alternating gives both sides the
        # same phases, and the median lets neither a slow nor a lucky one decide.
        for rnd in range(1, MAX_ROUNDS + 1):
            if ok_b:
                b.run_max(rnd)
            if ok_n:
                n.run_max(rnd)
        if ok_b:
            b.run_half()
        if ok_n:
            n.run_half()
        if ok_b:
            R["profile"] = profile(e, bp, bport)
        b.finish("s1_t1", R)
        if n:
            n.finish("s2", R)
    finally:
        stop(bp)
        stop(np_)
    ev = server_events(os.path.join(e.W, "binday-t1.log"))
    if ev:
        note("binday --threads 1 logged: " + ", ".join("%s x%d" % kv for kv in sorted(ev.items())))
    drops = dropped_transcripts(os.path.join(e.W, "binday-t1.log"))
    note("binday --threads 1 dropped **%d transcript records** over all its S1 runs (queue full: the writer thread "
         "fell behind; every answered request should leave one)" % drops)
    p, port = start_binday(e, NCPU, None, "tN")
    try:
        t = Target(e, p, port, "S1 binday --threads %d" % NCPU, conns=CONNS * 2, threads=max(1, NCPU - 1), cpus=None)
        if t.prepare():
            t.run_max(1)
        t.finish("s1_tN", R)
    finally:
        stop(p)


S3_CONNS = (32, 1000)   # S3a, S3b
S3_ROUNDS = 3           # alternating S3a / S3b rounds
S3_SKIP = 2             # seconds of each S3 run left out of its window (connecting)


def scenario3(e, R):
    """Cost under concurrency, the clean way: binday --threads 1 pinned to
    CPU 0, wrk and the fakes on the other CPU(s), the Address API answering in
    50 ms (tok-slow-50ms). S3a 32 connections, S3b 1,000, in alternating
    rounds; each run's window leaves out its first S3_SKIP seconds (wrk's new
    connections: 1,000 TLS handshakes in S3b) and its last second. CPU per
    answered request = the server's utime+stime over the window / the
    responses wrk counted in it, less the run's failures. A warm-up at each
    size first (and a ramp to 1,000), so the upstream pools are grown."""
    p, port = start_binday(e, 1, SERVER_CPUS, "slow")
    watch = (p.pid, [e.fast.pid, e.fake.pid])
    res = {"rounds": {c: [] for c in S3_CONNS}}
    try:
        batch = make_batch(e, "tok-slow-50ms", "slow")
        st, speech = probe(port, batch)
        kind = classify(st, speech)
        log("S3: probe -> %d %s: %s" % (st, kind, speech[:160]))
        res.update({"kind": kind, "probe_status": st})
        if kind in ("not-routed", "error"):
            note("S3: the probe request got HTTP %d (%s); no load was run" % (st, kind))
            R["s3"] = res
            return
        # warm-up: S3a's size, then a ramp to 1,000 (every new upstream
        # connection is a TLS handshake, up to 256 per thread and host); the
        # ramp's figures go into the report so the cold start stays visible
        ramp = []
        for c in (S3_CONNS[0], 100, 250, 500, 750, S3_CONNS[1]):
            w = wrk(port, batch, c, 3, tag="S3 warm-up %d conns" % c, watch=watch)
            ramp.append((c, w["rps"], w["failures"]))
        res["ramp"] = ramp
        for rnd in range(1, S3_ROUNDS + 1):
            for c in S3_CONNS:
                b = make_batch(e, "tok-slow-50ms", "slow-%d-%d" % (c, rnd))
                r = wrk(port, b, c, SECONDS + S3_SKIP + 2, tag="S3 %d conns (round %d)" % (c, rnd), watch=watch,
                        skip=S3_SKIP)
                res["rounds"][c].append(r)
        res["hwm_kb"] = vm_hwm_kb(p.pid)
        res["mem"] = proc_status_kb(p.pid)
    finally:
        stop(p)
        s3_summary(res)
        R["s3"] = res
    ev = server_events(os.path.join(e.W, "binday-slow.log"))
    note("binday in S3 dropped **%d transcript records** (queue full)" %
         dropped_transcripts(os.path.join(e.W, "binday-slow.log")))
    if ev:
        note("binday in S3 (including its warm-up from cold caches) logged: " +
             ", ".join("%s x%d" % kv for kv in sorted(ev.items())))


def s3_summary(res):
    """Per size: the median CPU µs per answered request over the rounds, the
    median round (by that figure) for the latency columns, failures summed;
    and the ratio S3b / S3a of the medians (also round by round)."""
    res["by"] = {}
    for c, rounds in res.get("rounds", {}).items():
        us = [(r.get("window") or {}).get("us_per_req") for r in rounds]
        ok = [r for r, u in zip(rounds, us) if u is not None]
        if not ok:
            continue
        m = median(us)
        mid = sorted(ok, key=lambda r: r["window"]["us_per_req"])[(len(ok) - 1) // 2]
        res["by"][c] = {"us": m, "us_rounds": us, "run": mid, "failures": sum(r["failures"] for r in rounds),
                        "rps": median([r["window"]["rps"] for r in ok])}
    a, b = (res["by"].get(c) for c in S3_CONNS)
    if a and b:
        res["ratio"] = b["us"] / a["us"]
        res["ratio_rounds"] = [y / x for x, y in zip(a["us_rounds"], b["us_rounds"]) if x and y]


def scenario4(e, R):
    """The data side's own benchmark, bench/data_bench.sh (demo data at
    PROPERTIES, import, bytes per property, `binday bench-lookup` p50/p99),
    without its extra 1.85 M single-file phase (BIG=0) to keep make bench short."""
    sh = os.path.join(ROOT, "bench", "data_bench.sh")
    if not (e.has_data and os.path.exists(sh) and binday_has("bench-lookup")):
        R["s4"] = {"skipped": "no bench/data_bench.sh or `binday bench-lookup` in this build"}
        return
    env = dict(os.environ, BIG="0", TMPDIR=e.W, BINDAY_RELEASE_BIN=BIN)
    record("BIG=0 TMPDIR=$W")
    p = run(taskset(SERVER_CPUS, [sh, str(PROPERTIES), "50000"]), check=False, timeout=900, env=env)
    out = p.stdout + p.stderr
    r = {"rc": p.returncode, "out": "\n".join(l for l in out.splitlines() if "level=" not in l)}

    def num(pat):
        m = re.search(pat, out, re.M)
        return float(m.group(1)) if m else None
    r["rate"] = num(r"^import: imported \d+ rows in [\d.]+ s \((\d+) rows/s\)")
    r["rows"] = num(r"^import: imported (\d+) rows")
    r["bytes_per_property"] = num(r"^store: \d+ bytes = (\d+) bytes/property")
    r["compact_per_property"] = num(r"compacted backup: (\d+) bytes/property")
    r["p50_us"] = num(r"^lookup p50: ([\d.]+) us")
    r["p99_us"] = num(r"^lookup p99: ([\d.]+) us")
    r["matched"] = num(r"own UPRN \(exact or building\): ([\d.]+)%")
    R["s4"] = r
    log("S4: import %s rows/s, %s B/property, lookup p50 %s us p99 %s us" %
        (r["rate"], r["bytes_per_property"], r["p50_us"], r["p99_us"]))


def scenario5(R):
    p = run(["openssl", "speed", "-seconds", "3", "rsa2048"], check=False, timeout=120)
    m = re.search(r"^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", p.stdout, re.M)
    R["s5"] = {"sign": float(m.group(1)), "verify": float(m.group(2))} if m else {"error": p.stdout[-500:]}
    R["openssl_version"] = run(["openssl", "version"], quiet=True).stdout.strip()
    log("S5: %s" % R["s5"])


def verify_detail(R):
    """bench/verify_bench.sh (from the verification work), when present: the
    in-process cost of verification on a cached chain and the latency a
    certificate cache miss adds. Its output goes into the report verbatim."""
    sh = os.path.join(ROOT, "bench", "verify_bench.sh")
    if not os.path.exists(sh):
        return
    env = dict(os.environ, BENCH_SECONDS="5")
    p = run([sh, "20000"], check=False, timeout=300, env=env)
    R["verify_detail"] = {"rc": p.returncode, "out": (p.stdout + p.stderr).strip()[-3000:]}
    log("verify_bench.sh exit %d" % p.returncode)


# ---- profile ------------------------------------------------------------------------------

def perf_works():
    try:
        p = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and "not supported" not in p.stderr and re.search(r"^\d+,", p.stderr, re.M)


def profile(e, p, port):
    """Where binday --threads 1 spends its CPU under the S1 load: perf
    sampling (cpu-clock) of the running server for the split between kernel,
    OpenSSL, h2o, libc and binday; and, where perf cannot count instructions
    (virtual machines), callgrind on a short run for instructions per request
    by function."""
    batch = make_batch(e, "tok-granted", "prof")
    st, speech = probe(port, batch)
    if classify(st, speech) in ("not-routed", "error"):
        return {"skipped": "POST /alexa answered %d" % st}
    res = {}
    if shutil.which("perf"):
        data = os.path.join(e.W, "perf.data")
        rec = ["perf", "record", "-F", "999", "-o", data, "-p", str(p.pid), "--", "sleep", "6"]
        record(" ".join(rec))
        pr = subprocess.Popen(rec, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        r = wrk(port, batch, CONNS, 5, tag="profile load (perf)")
        pr.wait(timeout=60)
        dso = run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "dso"], check=False)
        sym = run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "dso,symbol",
                   "--percent-limit", "1"], check=False)
        res["perf_event"] = "instructions" if perf_works() else "cpu-clock"
        res["perf_dsos"] = perf_lines(dso.stdout, 10)
        res["perf_symbols"] = perf_lines(sym.stdout, 15)
    if not perf_works():
        note("perf cannot count instructions on this machine (virtualised PMU): perf samples cpu-clock for the "
             "library split, and valgrind --tool=callgrind gives instructions per request by function")
        res.update(callgrind(e, batch))
    return res


def perf_lines(txt, n):
    out = []
    for line in txt.splitlines():
        if re.match(r"^\s+[\d.]+%", line):
            out.append(re.sub(r"\s+", " ", line.strip()).rstrip(" -"))
        if len(out) >= n:
            break
    return out


def callgrind(e, batch):
    """binday --threads 1 under callgrind: counters zeroed after start-up and
    a warm-up, 10 s of load (4 connections: callgrind runs ~50x slower), a
    dump; instructions per request, by library and by function."""
    port_file = os.path.join(e.W, "cg.port")
    out = os.path.join(e.W, "callgrind.out")
    args = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, BIN, "serve", "--data", e.store,
            "--listen", "127.0.0.1:0", "--port-file", port_file, "--tls-cert", e.tls_cert, "--tls-key", e.tls_key,
            "--skill-id", SKILL, "--threads", "1", "--alexa-ca", os.path.join(e.signing, "signing-ca.pem"),
            "--upstream-ca", e.amazon_ca, "--connect-to", "s3.amazonaws.com:443:127.0.0.1:%d" % e.fake_port,
            "--log-level", "warn"]
    for h in API_HOSTS:
        args += ["--connect-to", "%s:443:127.0.0.1:%d" % (h, e.fast_port)]
    p = spawn(taskset(SERVER_CPUS, args), os.path.join(e.W, "callgrind.log"))
    try:
        port = int(wait_file(port_file, p, timeout=120).split()[0])
        wait_ready(port, timeout=120)
        probe(port, batch)
        wrk(port, batch, 4, 3, tag="callgrind warm-up", timeout_s=30)
        run(["callgrind_control", "-z", str(p.pid)], check=False)
        r = wrk(port, batch, 4, 10, tag="callgrind load", timeout_s=30)
        run(["callgrind_control", "-d", "load", str(p.pid)], check=False)
    finally:
        stop(p, signal.SIGINT)
    dumps = [f for f in glob.glob(out + "*") if f != out]
    if not dumps:
        return {"cg_skipped": "callgrind wrote no dump"}
    rep = run(["callgrind_annotate", "--inclusive=no", "--threshold=100", "--auto=no", sorted(dumps)[-1]],
              check=False)
    total, funcs, funcs_all, objs = 0, [], [], {}
    for line in rep.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        n, what = int(m.group(1).replace(",", "")), m.group(2)
        if what.startswith("PROGRAM TOTALS"):
            total = n
            continue
        mo = re.search(r"\[([^\]]+)\]\s*$", what)
        obj = os.path.basename(mo.group(1)) if mo else "(object not shown)"
        objs[obj] = objs.get(obj, 0) + n
        funcs_all.append((n, what))
        funcs.append((n, what))
    # frames still on the stack when the dump is taken (thread start, the
    # event loop) show their inclusive cost; they are not where time goes,
    # so they are left out of both lists
    frame = re.compile(r":(thread_main|start_thread|clone3?|uv_run|main|__libc_start_call_main|"
                       r"worker_main|writer_main)\b")
    is_frame = lambda f: bool(frame.search(f[1])) or (total and f[0] >= 0.98 * total)
    funcs = [f for f in funcs if not is_frame(f)]
    for n, what in [f for f in funcs_all if is_frame(f)]:
        mo = re.search(r"\[([^\]]+)\]\s*$", what)
        obj = os.path.basename(mo.group(1)) if mo else "(object not shown)"
        objs[obj] -= n
    reqs = max(1, int(r["requests"]))
    total = total or sum(objs.values())
    lines_o = ["%5.1f%% %10.0f instr/req  %s" % (100.0 * v / total, v / reqs, k)
               for k, v in sorted(objs.items(), key=lambda kv: -kv[1])[:10]]
    lines_f = ["%5.1f%% %10.0f instr/req  %s" % (100.0 * n / total, n / reqs,
                                                 re.sub(r"^\S*/(\S+:)", r"\1", w))
               for n, w in funcs[:22]]
    stages = cg_stages(sorted(dumps)[-1], reqs, total)
    return {"cg_requests": reqs, "cg_instr_per_req": total / reqs, "cg_objs": lines_o, "cg_funcs": lines_f,
            "cg_stages": stages}


# The request's stages, as inclusive costs of binday's own functions (the
# library split alone cannot say *which work* the libraries do: libcrypto is
# both the RSA check and the transcript sealing; jansson both parsing and
# writing). (label, [functions added], [functions subtracted]).
STAGES = [
    ("RSA-SHA256 signature check of the body (the floor: one RSA-2048 verify)",
     ["certchain_verify_signature"], []),
    ("envelope JSON parse", ["envelope_parse"], []),
    ("rest of verification (URL, cache, timestamp, ids)", ["verify_start"],
     ["certchain_verify_signature", "envelope_parse"]),
    ("Device Address API call: binday's client (request, connection pool, delivery; the TLS reads inside "
     "libh2o fall under 'everything else')", ["outbound_start", "on_deliver"], ["on_done"]),
    ("Address API answer parse", ["alexa_api_parse_address"], []),
    ("address match + 28-day calendar (LMDB)", ["lookup_address_txn"], []),
    ("answer: speech + response JSON + send", ["answer_from_address"],
     ["lookup_address_txn", "transcript_enqueue"]),
    ("transcript record built on the loop", ["transcript_enqueue"], []),
    ("transcript writer thread (seal + LMDB commit)", ["writer_main"], []),
]


def cg_stages(dump, reqs, total):
    rep = run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--auto=no", dump], check=False)
    incl = {}
    for line in rep.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(\w+)(?:\.part\.\d+|\.constprop\.\d+)? \[", line)
        if m and m.group(2) not in incl:  # the first (largest) entry of a name
            incl[m.group(2)] = int(m.group(1).replace(",", ""))
    out, seen = [], 0
    for label, plus, minus in STAGES:
        if not all(f in incl for f in plus):
            continue
        n = sum(incl[f] for f in plus) - sum(incl.get(f, 0) for f in minus)
        seen += n
        out.append("%5.1f%% %10.0f instr/req  %s" % (100.0 * n / total, n / reqs, label))
    if out:
        rest = total - seen
        out.append("%5.1f%% %10.0f instr/req  everything else (HTTP/TLS server, event loop, logging, malloc "
                   "outside the stages)" % (100.0 * rest / total, rest / reqs))
    return out


# ---- report ------------------------------------------------------------------------------------

def fmt_ms(us):
    return "%.2f" % (us / 1000.0)


def row(name, r, extra=""):
    if r is None:
        return "| %s | – | – | – | – | – | %s |" % (name, extra)
    return "| %s | %.0f | %s | %s | %s | %s | %s |" % (
        name, r["rps"], fmt_ms(r["p50_us"]), fmt_ms(r["p99_us"]), fmt_ms(r["p999_us"]),
        "%d" % r["errors"], extra)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def report(R, e, started):
    L = []
    A = L.append

    def block(lines):
        """A fenced block of lines, then a blank line."""
        L.extend(["```"] + list(lines) + ["```", ""])

    t1, tN, s2, s3, s4, s5 = (R.get(k) for k in ("s1_t1", "s1_tN", "s2", "s3", "s4", "s5"))
    A("# binday benchmarks (`make bench`)")
    A("")
    A("Generated by `make bench` (bench/run.sh -> bench/bench.py) on %s UTC; %d s per measured run." %
      (started.strftime("%Y-%m-%d %H:%M"), SECONDS))
    A("")
    A("| machine | |")
    A("|---|---|")
    A("| CPU | %s |" % cpu_model())
    A("| cores | %d |" % NCPU)
    A("| kernel | %s |" % os.uname().release)
    A("| binday | %s |" % run([BIN, "--version"], check=False, quiet=True).stdout.strip().split("\n")[0])
    A("| OpenSSL | %s |" % R.get("openssl_version", "?"))
    A("| Node.js | %s |" % run(["node", "--version"], quiet=True).stdout.strip())
    A("| load average at start | %s |" % R.get("loadavg", "?"))
    A("| wrk | %s |" % (run(["wrk", "-v"], check=False, quiet=True).stdout.strip().split("\n") or ["?"])[0])
    A("")
    A("Pinning: %s" % ("servers under test for the one-core runs (S1 --threads 1, S2, S3) on CPU %s "
                       "(`taskset -c %s`); wrk and the fake Amazon cloud on CPU %s. The --threads %d run uses "
                       "every core for everything (server, load generator and fakes share them)." %
                       (SERVER_CPUS, SERVER_CPUS, CLIENT_CPUS, NCPU) if PIN else "none (one core)."))
    A("")
    kind = (t1 or {}).get("kind", "?")
    state = {"answer": "POST /alexa verifies the request, calls the Device Address API and answers from the store",
             "verified-only": "POST /alexa verifies the request but does not answer NextCollection from the "
                              "store yet: S1/S3 measure verification (+ whatever the skill does now), "
                              "not the full answer",
             "not-routed": "POST /alexa is NOT routed in this build: S1/S3 figures are for a 404 and mean nothing",
             "error": "POST /alexa answered an error status to the probe: S1/S3 figures are not valid"}.get(kind, kind)
    A("**What /alexa did in this run:** %s." % state)
    if t1:
        A("Sample binday answer: `%s`" % t1["probe_speech"][:300])
    if s2 and "probe_speech" in s2:
        A("Sample Node peer answer: `%s`" % s2["probe_speech"][:300])
    A("")
    A("## Results")
    A("")
    A("| scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | notes |")
    A("|---|---:|---:|---:|---:|---:|---|")
    def line(name, r, key="max", extra=""):
        if r is None:
            return
        if key not in r:
            why = r.get("skipped") or ("not run: the probe got HTTP %s (%s)" % (r.get("probe_status"), r.get("kind")))
            A(row(name, None, why))
            return
        x = r[key]
        cpu = x.get("cpu")
        bits = [extra] if extra else []
        if key == "max" and len(r.get("rounds", [])) > 1:
            bits.append("median of %d alternating rounds: %s req/s, %s µs of CPU per request" % (
                len(r["rounds"]), " / ".join("%.0f" % q["rps"] for q in r["rounds"]),
                " / ".join("%.0f" % q["us_per_req"] if q.get("us_per_req") else "?" for q in r["rounds"])))
        if x.get("app_failures"):
            bits.append("**%d failures logged by the server during the run** (e.g. Address API timeouts, "
                        "answered with an apology and HTTP 200)" % x["app_failures"])
        if key == "max" and r.get("warmup_errors"):
            bits.append("%d errors during the warm-up from cold caches" % r["warmup_errors"])
        if cpu:
            bits.append("CPU cores used: server %.2f, wrk+fakes %.2f, other processes %.2f" %
                        (cpu["server"], cpu["client"], cpu["other"]))
        A(row(name, x, "; ".join(bits)))

    def rss(r):
        m = (r or {}).get("mem") or {}
        txt = "peak RSS %.0f MB" % ((((r or {}).get("hwm_kb")) or 0) / 1024)
        if "RssAnon" in m:
            txt += " (at the end: heap/anon %.0f MB, file-backed %.0f MB, e.g. the LMDB map)" % (
                m["RssAnon"] / 1024, (m.get("RssFile", 0) + m.get("RssShmem", 0)) / 1024)
        return txt
    line("S1 binday --threads 1, 1 core, %d conns, max" % CONNS, t1, extra=rss(t1))
    if t1 and "half" in t1:
        line("S1 binday --threads 1 at half of max (offered ~%.0f/s)" % t1["half"]["target"], t1, "half")
    line("S1 binday --threads %d, all cores, %d conns, max" % (NCPU, CONNS * 2), tN, extra=rss(tN))
    line("S2 Node.js ASK SDK, 1 process on 1 core, %d conns, max" % CONNS, s2, extra=rss(s2))
    if s2 and "half" in s2:
        line("S2 Node.js ASK SDK at half of its max (offered ~%.0f/s)" % s2["half"]["target"], s2, "half")
    if s3:
        by = s3.get("by") or {}
        if not by:
            why = s3.get("skipped") or ("not run: the probe got HTTP %s (%s)" % (s3.get("probe_status"),
                                                                                 s3.get("kind")))
            A(row("S3 binday --threads 1, Address API 50 ms", None, why))
        for c, name in zip(S3_CONNS, ("S3a", "S3b")):
            x = by.get(c)
            if not x:
                continue
            r = x["run"]
            bits = ["**%.0f µs of CPU per answered request** (median of %s µs; %d s windows)" % (
                x["us"], " / ".join("%.0f" % u if u else "?" for u in x["us_rounds"]), r["window"]["seconds"]),
                "%d failures over its rounds" % x["failures"]]
            if c == S3_CONNS[-1]:
                bits.append(rss(s3))
                if s3.get("ramp"):
                    bits.append("warm-up (conns: req/s, failures): " +
                                ", ".join("%d: %.0f, %d" % t for t in s3["ramp"]))
            if r.get("cpu"):
                bits.append("CPU cores used: server %.2f, wrk+fakes %.2f, other processes %.2f" %
                            (r["cpu"]["server"], r["cpu"]["client"], r["cpu"]["other"]))
            A(row("%s binday --threads 1, 1 core, Address API 50 ms, %d conns" % (name, c), r, "; ".join(bits)))
    A("")
    if s4 and "out" in s4:
        A("S4, data at %d properties (`bench/data_bench.sh %d 50000` with BIG=0, pinned to CPU %s; exit %d):" %
          (PROPERTIES, PROPERTIES, SERVER_CPUS, s4["rc"]))
        A("")
        A("| S4 | |")
        A("|---|---|")
        if s4["rate"]:
            A("| import | **%.0f rows/s** (%.0f rows: addresses, assignments, rounds, ...) |" % (s4["rate"], s4["rows"]))
        if s4["bytes_per_property"]:
            A("| store size | **%.0f bytes per property** (data.mdb after import; %.0f after a compacting backup) |" %
              (s4["bytes_per_property"], s4["compact_per_property"] or 0))
        if s4["p50_us"] is not None:
            A("| in-process lookup (match + 28 days) | **p50 %.1f µs, p99 %.1f µs** (%s%% matched to their own "
              "property) |" % (s4["p50_us"], s4["p99_us"] or -1, s4["matched"]))
        A("")
        block(s4["out"].splitlines())
    elif s4:
        A("S4: skipped (%s)." % s4.get("skipped"))
        A("")
    if s5 and "verify" in s5:
        A("S5 `openssl speed -seconds 3 rsa2048`: **%.0f verify/s** (%.1f µs each; sign %.0f/s) on one core - "
          "the floor every signed request pays once." % (s5["verify"], 1e6 / s5["verify"], s5["sign"]))
        A("")

    vd = R.get("verify_detail")
    if vd:
        A("Verification detail (`bench/verify_bench.sh 20000`, exit %d): in-process cost on a cached chain and "
          "the latency of a certificate cache miss:" % vd["rc"])
        A("")
        block(vd["out"].splitlines())

    # targets
    A("## Targets")
    A("")
    A("| target | measured | met? |")
    A("|---|---|---|")
    tgt = []
    t1 = t1 if t1 and "max" in t1 else None
    if t1 and s2 and "max" in s2:
        ratio = t1["max"]["rps"] / max(1.0, s2["max"]["rps"])
        tgt.append(("S1 --threads 1 >= 10x Node SDK on one core (median of %d alternating rounds)" %
                    len(t1.get("rounds", [])), "%.1fx (%.0f vs %.0f req/s)" %
                    (ratio, t1["max"]["rps"], s2["max"]["rps"]), ratio >= 10))
    if t1 and s2 and t1.get("us_median") and s2.get("us_median"):
        b_us, n_us = t1["us_median"], s2["us_median"]
        per = " / ".join("%.1fx" % (n["us_per_req"] / b["us_per_req"])
                         for b, n in zip(t1.get("rounds", []), s2.get("rounds", []))
                         if b.get("us_per_req") and n.get("us_per_req"))
        tgt.append(("(same, by CPU time per request, median of each side: robust to other load on the machine)",
                    "%.1fx (%.0f vs %.0f µs of CPU per request; round by round %s)" % (n_us / b_us, b_us, n_us, per),
                    n_us / b_us >= 10))
    if t1 and "half" in t1:
        h = t1["half"]
        tgt.append(("S1 p99 < 5 ms at half of max", "p99 %s ms at %.0f req/s" % (fmt_ms(h["p99_us"]), h["rps"]),
                    h["p99_us"] < 5000))
    if s3 and s3.get("ratio"):
        a, b = (s3["by"][c] for c in S3_CONNS)
        tgt.append(("S3 CPU per answered request at %d conns <= 1.25x at %d (Address API 50 ms, 1 core)" %
                    (S3_CONNS[1], S3_CONNS[0]),
                    "%.2fx (%.0f vs %.0f µs, medians of %d rounds; round by round %s)" % (
                        s3["ratio"], b["us"], a["us"], len(a["us_rounds"]),
                        " / ".join("%.2fx" % q for q in s3["ratio_rounds"])), s3["ratio"] <= 1.25))
        nf = a["failures"] + b["failures"]
        tgt.append(("S3 0 failures", "%d (wrk errors + Address API failures the server logged)" % nf, nf == 0))
    if s3 and s3.get("hwm_kb"):
        hwm = s3["hwm_kb"] / 1024
        tgt.append(("S3 peak RSS < 200 MB", "%.0f MB" % hwm, hwm < 200))
    if s4 and s4.get("rate"):
        tgt.append(("S4 import >= 200,000 rows/s", "%d rows/s" % s4["rate"], s4["rate"] >= 200000))
    if s4 and s4.get("p50_us") is not None:
        tgt.append(("S4 lookup p50 <= 20 µs", "%.1f µs" % s4["p50_us"], s4["p50_us"] <= 20))
    for name, meas, ok in tgt:
        A("| %s | %s | %s |" % (name, meas, "yes" if ok else "**NO**"))
    A("")
    R["targets"] = tgt
    A("## Where binday falls short, and why")
    A("")
    A("%%SHORTFALLS%%")
    A("")
    prof = R.get("profile") or {}
    A("## Profile: binday --threads 1 under the S1 load")
    A("")
    if prof.get("skipped"):
        A("No profile: %s." % prof["skipped"])
    summary = profile_summary(prof)
    if summary:
        A(summary)
        A("")
    if prof.get("perf_dsos"):
        A("`perf record` (%s sampling, 999 Hz, 6 s) of the running server, self time by library:" %
          prof["perf_event"])
        A("")
        block(prof["perf_dsos"])
        A("Top symbols (perf):")
        A("")
        block(prof["perf_symbols"])
    if prof.get("cg_objs"):
        A("`valgrind --tool=callgrind`, %d requests after warm-up: **%.0f instructions per request** (user space; "
          "the kernel's share is in the perf split above). By library:" %
          (prof["cg_requests"], prof["cg_instr_per_req"]))
        A("")
        block(prof["cg_objs"])
        if prof.get("cg_stages"):
            A("By stage of the request (inclusive instructions of binday's own functions, so each line counts the "
              "library work done on its behalf):")
            A("")
            block(prof["cg_stages"])
        A("By function (self; `???` = a library without debug symbols, e.g. libcrypto's RSA/bignum code):")
        A("")
        block(prof["cg_funcs"])
    elif prof.get("cg_skipped"):
        A("callgrind: %s." % prof["cg_skipped"])
    A("")
    if notes:
        A("## Notes")
        A("")
        for n in notes:
            A("- " + n)
        A("")
    A("## Method")
    A("")
    A("- Requests: bench/signreq (C, OpenSSL) writes %d distinct NextCollectionIntent envelopes (own "
      "requestId, session, ~200-character userId, device, ~1 KB apiAccessToken) signed with the development "
      "signing key of `fake_amazon.py --make-signing`, timestamped just before each run (150 s window); "
      "bench/alexa.lua makes wrk rotate through them over HTTPS keep-alive. The half-rate runs add a per-connection "
      "pause (wrk's delay()) so that %d connections offer about half the measured maximum." % (N_REQ, CONNS))
    A("- Device Address API: bench/fast_api.c (h2o on libuv, %d worker process(es)), the token scenarios of "
      "tests/integration/fake_amazon.py (tok-granted, tok-slow-50ms) without its Python per-request cost "
      "(it replaced a Node version whose ~46 µs per call saturated the client core at S1's rate); "
      "fake_amazon.py itself serves the signing chain (the cert host, fetched once per server thread). Device i "
      "gets the i-th of 1,000 demo-data addresses." % max(1, NCPU - 1))
    A("- Node peer (bench/node-peer/server.js): ask-sdk-core %s, ask-sdk-express-adapter %s, express %s; the "
      "adapter's SkillRequestSignatureVerifier (subclassed only to add the dev CA to its chain check: it trusts "
      "tls.rootCertificates alone) and TimestampVerifier; DeviceAddressServiceClient through DefaultApiClient; "
      "Amazon host names sent to the local fakes by the global https agent's createConnection (no /etc/hosts); "
      "NODE_EXTRA_CA_CERTS for the fakes' TLS CA; the same demo CSV files in memory, matched by postcode + first "
      "number; same TLS certificate as binday." % tuple(node_versions()))
    A("- Peak RSS is VmHWM from /proc/PID/status just before the server is stopped.")
    A("")
    A("## Exact commands")
    A("")
    A("```")
    seen = set()
    for c in commands:
        c2 = c.replace(e.W, "$W")
        if c2 not in seen:
            seen.add(c2)
            L.append(c2)
    A("```")
    A("($W is the temporary work directory.)")
    return "\n".join(L) + "\n"


# what each library's share of binday's CPU stands for, for the summary
LIB_ROLE = {
    "libcrypto": "RSA-2048 signature check, SHA-256 of the body, TLS record encryption, certificate dates",
    "libssl": "TLS record layer (inbound and to the Address API)",
    "libjansson": "JSON: building the trees of the ~2.3 KB envelope and the Address API answer (parsed by src/jsonload.c), building the response",
    "libc": "malloc/free and memcpy (mostly on behalf of jansson, h2o and OpenSSL)",
    "kernel": "socket system calls and loopback TCP (client, server and Address API traffic)",
    "libcurl": "libcurl (the mailer's SMTP only; none expected on the Alexa path)",
    "binday": "binday's own code (routing, verification logic, skill, speech)",
    "liblmdb": "the store (LMDB reads of the lookup)",
    "libh2o": "HTTP/1.1 server and the Address API client (h2o's HTTP/1.1 client, TLS sockets)",
    "libuv": "event loop",
}


def profile_summary(prof):
    """One paragraph naming the biggest CPU consumers (from the perf split,
    else callgrind's), so the next optimisation is obvious."""
    rows = []
    for line in prof.get("perf_dsos") or []:
        m = re.match(r"^([\d.]+)% (\S+)", line)
        if m:
            rows.append((float(m.group(1)), m.group(2)))
    if not rows:
        for line in prof.get("cg_objs") or []:
            m = re.match(r"^\s*([\d.]+)% \s*\d+ instr/req\s+(\S+)", line)
            if m:
                rows.append((float(m.group(1)), m.group(2)))
    if not rows:
        return ""
    parts = []
    for pct, lib in rows[:5]:
        key = "kernel" if "kernel" in lib else re.sub(r"\.so.*$", "", lib)
        parts.append("**%s %.0f%%** (%s)" % (key, pct, LIB_ROLE.get(key, "?")))
    return "**What dominates binday's CPU per request:** " + "; ".join(parts) + "."


def node_versions():
    out = []
    for pkg in ("ask-sdk-core", "ask-sdk-express-adapter", "express"):
        try:
            with open(os.path.join(ROOT, "bench", "node-peer", "node_modules", pkg, "package.json")) as f:
                out.append(json.load(f)["version"])
        except (OSError, ValueError, KeyError):
            out.append("?")
    return out


def shortfalls(R):
    out = []
    for name, meas, ok in R.get("targets", []):
        if not ok:
            out.append("- **%s**: %s." % (name, meas))
    return out


def main(argv):
    """`bench.py` runs everything and writes bench/results.md; `bench.py
    --only s3` (any of s1s2, s3, s4, s5, verify, comma-separated) runs just
    those and prints the report without writing results.md."""
    only = None
    if len(argv) == 2 and argv[0] == "--only":
        only = set(argv[1].split(","))
    elif argv:
        print("usage: bench.py [--only s1s2,s3,s4,s5,verify]", file=sys.stderr)
        return 2
    want = lambda k: only is None or k in only
    started = datetime.datetime.now(datetime.timezone.utc)
    W = tempfile.mkdtemp(prefix="binday-bench-")
    R = {}
    e = None
    try:
        log("work directory %s; %d cores; %d s per run" % (W, NCPU, SECONDS))
        R["loadavg"] = open("/proc/loadavg").read().strip()
        if want("s5"):
            scenario5(R)
        e = setup(W)
        if want("s1s2"):
            scenarios12(e, R)
        if want("s3"):
            scenario3(e, R)
        if want("s4"):
            scenario4(e, R)
        if want("verify"):
            verify_detail(R)
    finally:
        for p in procs:
            stop(p)
    txt = report(R, e, started)
    sf = shortfalls(R)
    sf += analysis(R)
    txt = txt.replace("%%SHORTFALLS%%", "\n".join(sf) if sf else "Every target is met.")
    if only is None:
        with open(os.path.join(ROOT, "bench", "results.md"), "w") as f:
            f.write(txt)
    print()
    print(txt)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(W, ignore_errors=True)
    else:
        log("kept " + W)
    return 0


def budget(R, us_binday, us_target):
    """What 10x the Node peer leaves per request, against where binday's
    time goes: the kernel's share (perf) and each stage's share of the user
    space instructions (callgrind), both turned into µs of this run."""
    prof = R.get("profile") or {}
    kshare = None
    for line in prof.get("perf_dsos") or []:
        m = re.match(r"^([\d.]+)% \[kernel", line)
        if m:
            kshare = float(m.group(1)) / 100.0
    if kshare is None:
        return []
    user_us = us_binday * (1 - kshare)
    out = ["- **The 10x budget.** 10x the Node peer is **%.0f µs of CPU per request**; binday spends %.0f µs: "
           "%.0f µs in the kernel (%.0f%% in perf: its own socket calls and the loopback TCP delivery they drive, "
           "for the client connection and the Address API connection) and %.0f µs in user space." %
           (us_target, us_binday, us_binday * kshare, 100 * kshare, user_us)]
    stages = []
    for line in prof.get("cg_stages") or []:
        m = re.match(r"^\s*([\d.]+)%\s+\d+ instr/req\s+(.*)$", line)
        if m:
            stages.append((float(m.group(1)) / 100.0, m.group(2)))
    if stages:
        out.append("  Split of the user-space part by stage (callgrind's instruction shares applied to it; a rough "
                   "guide, as bignum code runs more instructions per cycle than parsing does): " +
                   "; ".join("%s ~%.0f µs" % (label, share * user_us) for share, label in stages) + ".")
    s5 = R.get("s5") or {}
    if "verify" in s5:
        rsa_us = 1e6 / s5["verify"]
        if us_binday * kshare + rsa_us > us_target * 0.8:
            out.append("  The kernel's share plus one RSA-2048 verify (%.1f µs by `openssl speed`) come to %.0f µs, "
                       "%.0f%% of the budget before any parsing, lookup or TLS record work: the 10x target needs "
                       "fewer system calls per request (each request is socket work on two TLS connections, the "
                       "client's and the Address API's) as well as less user-space work." %
                       (rsa_us, us_binday * kshare + rsa_us, 100 * (us_binday * kshare + rsa_us) / us_target))
    return out


def analysis(R):
    """Plain-words reading of the figures, derived from the measurements."""
    out = []
    g = lambda k: R.get(k) if R.get(k) and "max" in R.get(k) else None
    t1, s2 = g("s1_t1"), g("s2")
    s5 = R.get("s5") or {}

    def cpu_us(r):
        return r.get("us_median") or cpu_us_per_req(r["max"])

    if t1:
        us = cpu_us(t1)
        c = t1["max"].get("cpu")
        if us:
            txt = "- binday --threads 1 spends **%.0f µs of CPU per request** (%.2f cores / %.0f req/s)" % (
                us, c["server"], t1["max"]["rps"])
            if "verify" in s5:
                txt += "; one RSA-2048 verify is %.1f µs of that (%.0f%%)" % (1e6 / s5["verify"],
                                                                            100 * 1e6 / s5["verify"] / us)
            out.append(txt + ".")
            if c["server"] < 0.85:
                out.append("- In S1 --threads 1 binday's core was not saturated (%.2f of 1): the client core (wrk + "
                           "fake Address API: %.2f cores) or other processes on the machine (%.2f cores) limited "
                           "the run, so its req/s is a lower bound." % (c["server"], c["client"], c["other"]))
    if s2:
        us2 = cpu_us(s2)
        if us2:
            out.append("- The Node.js SDK peer spends **%.0f µs of CPU per request** (%.2f cores / %.0f req/s)." %
                       (us2, s2["max"]["cpu"]["server"], s2["max"]["rps"]))
            us1 = cpu_us(t1) if t1 else None
            if us1:
                out.extend(budget(R, us1, us2 / 10.0))
    s3 = R.get("s3") or {}
    if s3.get("ratio"):
        x, y = (s3["by"][c] for c in S3_CONNS)
        txt = ("- S3 (binday --threads 1 on one core, Address API 50 ms): **%.0f µs of CPU per answered request at "
               "%d connections against %.0f µs at %d: %.2fx** (target <= 1.25x). At %d connections the core is "
               "%s (%.0f answered req/s); at %d it is mostly idle (%.0f req/s, bounded by 50 ms per request)" %
               (y["us"], S3_CONNS[1], x["us"], S3_CONNS[0], s3["ratio"], S3_CONNS[1],
                "saturated" if (y["run"].get("cpu") or {}).get("server", 0) > 0.9 else "not saturated",
                y["rps"], S3_CONNS[0], x["rps"]))
        out.append(txt + "; docs/performance.md, \"Cost under concurrency\", says where the difference goes "
                   "(bench/s3_profile.py measures it).")
        mem = s3.get("mem") or {}
        if "RssAnon" in mem and "RssFile" in mem and s3.get("hwm_kb"):
            out.append("- S3 memory: peak RSS %.0f MB; at the end %.0f MB heap/anonymous (the client's TLS "
                       "connections and h2o buffers, the requests' JSON trees while they wait, the upstream "
                       "connections, at most %d per thread and host) and %.0f MB file-backed: the shared libraries "
                       "and the LMDB pages read through the map." %
                       (s3["hwm_kb"] / 1024.0, mem["RssAnon"] / 1024.0, 256, mem["RssFile"] / 1024.0))
        if x["failures"] or y["failures"]:
            out.append("- S3 failures are wrk errors and Address API calls that failed (binday's log: "
                       "`event=alexa_api`, e.g. `net=timeout`), answered with a spoken apology and HTTP 200.")
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
