#!/usr/bin/python3
"""s3_profile.py - where binday's CPU per request goes at 1,000 concurrent
conversations against 32 (make bench's S3a / S3b), docs/performance.md "Cost
under concurrency". Same set-up as bench.py's S3 (it imports bench.py):
binday --threads 1 pinned to CPU 0, wrk and the fake APIs on the other CPU,
Address API answering in 50 ms (tok-slow-50ms), warm-up and ramp first.
Then, alternating 32 and 1,000 connections for ROUNDS rounds, three runs each:

  clean  no tool attached: CPU per answered request (utime+stime over whole
         seconds, as bench.py's S3 does)
  stat   perf stat -p on the server over whole seconds: system calls by kind
         (syscall tracepoints), context switches, page faults, CPU migrations,
         and the upstream connections opened (connect) - each per answered
         request; plus `ss` counts of the server's established connections
  record perf record -g (cpu-clock; this VM has no hardware counters) over
         whole seconds: each library's and the top symbols' share turned into
         µs per answered request, so a share that grows with concurrency shows
         as µs that grow

Prints one table per measure (32 | 1,000 | ratio), medians over the rounds.

  bench/run.sh builds the helpers; then:
  BENCH_SECONDS=6 S3P_ROUNDS=2 /usr/bin/python3 bench/s3_profile.py [--keep]

Needs root for perf on other processes (perf_event_paranoid) and tracepoints.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

ROUNDS = int(os.environ.get("S3P_ROUNDS", "2"))
SECS = B.SECONDS
CONNS = B.S3_CONNS
SYSCALLS = ["read", "write", "readv", "writev", "sendmsg", "recvmsg", "sendto", "recvfrom", "epoll_wait",
            "epoll_pwait", "epoll_ctl", "connect", "socket", "accept4", "close", "shutdown", "futex", "mmap",
            "munmap", "madvise", "brk", "mprotect", "ioctl", "setsockopt", "getsockopt", "getsockname",
            "fcntl", "pwrite64", "fdatasync", "msync", "getpid", "clock_gettime", "sched_yield"]
SW_EVENTS = ["context-switches", "cpu-migrations", "page-faults", "task-clock"]


def at_next_second(lead=0.0):
    """Sleep to `lead` seconds before the next whole second; returns that second."""
    now = time.time()
    s = int(now) + 1
    if s - now < lead + 0.05:
        s += 1
    time.sleep(max(0.0, s - now - lead))
    return s


class Attached:
    """A tool attached to the server for exactly `n` whole seconds of a wrk
    run, starting `skip` seconds into it: started from a thread so the wrk
    run (B.wrk, which blocks) goes on meanwhile. .first is the first second
    covered."""

    def __init__(self, argv_for, n, skip):
        import threading
        self.argv_for, self.n, self.skip = argv_for, n, skip
        self.th = threading.Thread(target=self.go, daemon=True)
        self.first, self.rc = None, None

    def go(self):
        time.sleep(self.skip)
        s = at_next_second(lead=0.02)
        argv = self.argv_for(self.n)
        B.record(" ".join(argv))
        time.sleep(max(0.0, s - 0.02 - time.time()))
        self.first = s
        self.rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *a):
        self.th.join()


def run_with(e, port, pid, conns, tag, tool=None):
    """One wrk run of SECS + skip + 2 s; with `tool` (argv_for(seconds)),
    attached for SECS - 1 whole seconds. Returns (wrk result, first second
    of the tool's window or None, the window's responses)."""
    skip = B.S3_SKIP
    batch = B.make_batch(e, "tok-slow-50ms", B.slug(tag))
    if tool is None:
        r = B.wrk(port, batch, conns, SECS + skip + 2, tag=tag, watch=(pid, [e.fast.pid, e.fake.pid]), skip=skip)
        return r, None, None
    n = max(1, SECS - 1)
    with Attached(tool, n, skip) as att:
        r = B.wrk(port, batch, conns, SECS + skip + 2, tag=tag, watch=(pid, [e.fast.pid, e.fake.pid]), skip=skip)
    return r, att.first, att.n


def responses_in(r, first, n):
    """Responses wrk counted in seconds [first, first + n), less the run's failures."""
    per = r.get("persec") or {}
    return max(0, sum(per.get(x, 0) for x in range(first, first + n)) - r["failures"])


def perf_stat(pid, out):
    ev = ",".join(SW_EVENTS + ["raw_syscalls:sys_enter"] + ["syscalls:sys_enter_" + s for s in SYSCALLS])
    return lambda n: ["perf", "stat", "-x,", "-o", out, "-e", ev, "-p", str(pid), "--", "sleep", str(n)]


def parse_stat(path):
    out = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) >= 3 and f[0] and f[0][0].isdigit():
            try:
                out[f[2]] = float(f[0])
            except ValueError:
                pass
    return out


def perf_record(pid, out):
    return lambda n: ["perf", "record", "-F", "999", "-g", "-o", out, "-p", str(pid), "--", "sleep", str(n)]


def perf_shares(data, sort, limit):
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", sort, "-g", "none",
                          "--percent-limit", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True)
    out = []
    for line in rep.stdout.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(.*\S)\s*$", line)
        if m:
            out.append((float(m.group(1)) / 100.0, re.sub(r"\s+", " ", m.group(2))))
        if len(out) >= limit:
            break
    return out


def ss_counts(pid, fast_port):
    """The server's established TCP connections: to the fake Address API
    (upstream) and the rest (wrk's)."""
    p = subprocess.run(["ss", "-Htnp", "state", "established"], stdout=subprocess.PIPE, universal_newlines=True)
    up = down = 0
    for line in p.stdout.splitlines():
        if "pid=%d," % pid not in line:
            continue
        if re.search(r"\s127\.0\.0\.1:%d\s" % fast_port, line + " "):
            up += 1
        else:
            down += 1
    return up, down


def main(argv):
    import tempfile
    import shutil
    keep = "--keep" in argv
    W = tempfile.mkdtemp(prefix="binday-s3prof-")
    res = {c: {"clean": [], "stat": [], "dso": [], "sym": [], "ss": []} for c in CONNS}
    try:
        e = B.setup(W)
        p, port = B.start_binday(e, 1, B.SERVER_CPUS, "slow")
        pid = p.pid
        batch = B.make_batch(e, "tok-slow-50ms", "warm")
        B.log("probe: %s" % (B.probe(port, batch),))
        for c in (CONNS[0], 100, 250, 500, 750, CONNS[1]):
            B.wrk(port, batch, c, 3, tag="warm-up %d conns" % c)
        for rnd in range(1, ROUNDS + 1):
            for c in CONNS:
                tag = "%d conns r%d" % (c, rnd)
                r, _, _ = run_with(e, port, pid, c, tag + " clean")
                res[c]["clean"].append((r.get("window") or {}).get("us_per_req"))
                # stat: syscalls etc. (also what ss sees in the middle of the run)
                out = os.path.join(W, "stat-%d-%d.txt" % (c, rnd))
                import threading
                snap = []
                t = threading.Timer(B.S3_SKIP + SECS / 2.0, lambda: snap.append(ss_counts(pid, e.fast_port)))
                t.start()
                r, first, n = run_with(e, port, pid, c, tag + " stat", perf_stat(pid, out))
                t.join()
                if first and os.path.exists(out):
                    st = parse_stat(out)
                    st["_answered"] = responses_in(r, first, n)
                    res[c]["stat"].append(st)
                if snap:
                    res[c]["ss"].append(snap[0])
                m = B.proc_status_kb(pid)
                res[c].setdefault("rss", []).append((m.get("VmRSS", 0) // 1024, m.get("RssAnon", 0) // 1024))
                # record: where the CPU goes, as µs per answered request
                data = os.path.join(W, "perf-%d-%d.data" % (c, rnd))
                r, first, n = run_with(e, port, pid, c, tag + " record", perf_record(pid, data))
                if first and os.path.exists(data):
                    us = (r.get("window") or {}).get("us_per_req")
                    if us:
                        res[c]["dso"].append({k: v * us for v, k in perf_shares(data, "dso", 12)})
                        res[c]["sym"].append({k: v * us for v, k in perf_shares(data, "dso,symbol", 40)})
    finally:
        for q in B.procs:
            B.stop(q)
    report(res)
    if keep:
        B.log("kept " + W)
    else:
        shutil.rmtree(W, ignore_errors=True)
    return 0


def med_of(dicts, key):
    return B.median([d.get(key) for d in dicts])


def report(res):
    a, b = CONNS
    print("\n# s3_profile: binday --threads 1 pinned, Address API 50 ms; %d vs %d connections, medians of %d "
          "rounds, %d s windows\n" % (a, b, ROUNDS, SECS))
    ua, ub = B.median(res[a]["clean"]), B.median(res[b]["clean"])
    print("| per answered request | %d conns | %d conns | ratio |" % (a, b))
    print("|---|---:|---:|---:|")

    def line(name, x, y, fmt="%.2f"):
        if x is None or y is None:
            return
        print("| %s | %s | %s | %s |" % (name, fmt % x, fmt % y, ("%.2fx" % (y / x)) if x else "-"))
    line("CPU µs (clean runs: %s / %s)" % ("/".join("%.0f" % u for u in res[a]["clean"] if u),
                                             "/".join("%.0f" % u for u in res[b]["clean"] if u)), ua, ub, "%.1f")
    sa, sb = res[a]["stat"], res[b]["stat"]
    if sa and sb:
        per = lambda st, k: st.get(k, 0) / st["_answered"] if st.get("_answered") else None
        pa = lambda k: B.median([per(s, k) for s in sa])
        pb = lambda k: B.median([per(s, k) for s in sb])
        line("task-clock µs (under perf stat)", pa("task-clock") * 1e3, pb("task-clock") * 1e3, "%.1f")
        for k in ["raw_syscalls:sys_enter"] + ["syscalls:sys_enter_" + s for s in SYSCALLS] + SW_EVENTS[:3]:
            x, y = pa(k), pb(k)
            if x is None or y is None or (x < 0.005 and y < 0.005):
                continue
            line(k.replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "system calls, all"),
                 x, y, "%.3f")
        print("\nanswered requests in the perf stat windows: %s / %s" %
              ([int(s["_answered"]) for s in sa], [int(s["_answered"]) for s in sb]))
    for c in CONNS:
        if res[c]["ss"]:
            print("established connections mid-run at %d conns (upstream, downstream): %s" % (c, res[c]["ss"]))
        if res[c].get("rss"):
            print("after each stat run at %d conns, RSS and anonymous RSS (MB): %s" % (c, res[c]["rss"]))
    for kind, title in (("dso", "library"), ("sym", "symbol")):
        da, db = res[a][kind], res[b][kind]
        if not (da and db):
            continue
        keys = set()
        for d in da + db:
            keys.update(d)
        rows = []
        for k in keys:
            x, y = B.median([d.get(k, 0.0) for d in da]), B.median([d.get(k, 0.0) for d in db])
            rows.append((y - x, k, x, y))
        rows.sort(reverse=True)
        print("\n| perf (cpu-clock), µs per answered request, by %s | %d conns | %d conns | difference |" %
              (title, a, b))
        print("|---|---:|---:|---:|")
        for d, k, x, y in rows[:25 if kind == "sym" else 12]:
            print("| %s | %.1f | %.1f | %+.1f |" % (k, x, y, d))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
