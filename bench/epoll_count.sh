#!/bin/bash
# epoll_count.sh - system calls per request of `binday serve` under bench S1's
# load (docs/server.md, "libuv and epoll_ctl").
#
#   bench/epoll_count.sh [LABEL=BINARY ...]
#
# For each release binary (default: build/release/binday), in alternating
# rounds: binday serve --threads 1 pinned to CPU 0 with S1's setup (demo data,
# signed NextCollectionIntent requests, fake_amazon.py as the certificate host,
# bench/fast_api answering the Device Address API at once; bench/bench.py's
# own functions), a probe and a 2 s warm-up, then wrk with 32 keep-alive
# connections on the other CPU while `perf stat` counts the server's system
# calls (tracepoints: no ptrace, so the server runs at full speed and batches
# as it does in make bench) and its task-clock. Prints, per binary and round,
# requests, then system calls, epoll_ctl (and how many failed: an ADD that
# libuv retries as a MOD after EEXIST), epoll_wait and CPU per request (perf's
# task-clock, and the user/system split from /proc/PID/stat). Last, the cost
# of one epoll_ctl(MOD) that changes nothing, timed in a loop (Python's
# select.epoll.modify, minus the loop's own cost; a warm loop, so a lower
# bound for the same call in the server).
#
# Environment: EPOLL_SECONDS (5) per measured run, EPOLL_ROUNDS (3),
# EPOLL_CONNS (32). Needs root (perf tracepoints) and what bench/run.sh
# installs (wrk, linux-perf). Requests are counted by wrk; the up to
# EPOLL_CONNS requests in flight when the window closes make the per-request
# figures uncertain by under 0.5%.
set -euo pipefail
cd "$(dirname "$0")/.."

for c in wrk perf taskset openssl; do
  command -v "$c" >/dev/null || { echo "epoll_count: needs $c (bench/run.sh installs it)" >&2; exit 1; }
done
PKGS="libh2o libuv openssl jansson libcurl lmdb"
CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=1 $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
mkdir -p build/bench
cc $CFLAGS -o build/bench/signreq bench/signreq.c $LIBS
cc $CFLAGS -o build/bench/fast_api bench/fast_api.c $LIBS
[ $# -gt 0 ] || { make --no-print-directory -s build/release/binday; set -- "this=build/release/binday"; }

exec /usr/bin/python3 - "$@" <<'EOF'
import os, re, shutil, signal, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
import bench

SECONDS = int(os.environ.get("EPOLL_SECONDS", "5"))
ROUNDS = int(os.environ.get("EPOLL_ROUNDS", "3"))
CONNS = int(os.environ.get("EPOLL_CONNS", "32"))
bins = []
for a in sys.argv[1:]:
    label, _, path = a.partition("=")
    if not path:
        label, path = os.path.basename(a), a
    bins.append((label, os.path.abspath(path)))

EVENTS = [("syscalls", "raw_syscalls:sys_enter", None),
          ("epoll_ctl", "syscalls:sys_enter_epoll_ctl", None),
          ("epoll_ctl_failed", "syscalls:sys_exit_epoll_ctl", "ret < 0"),
          ("epoll_wait", "syscalls:sys_enter_epoll_wait", None),
          ("epoll_pwait", "syscalls:sys_enter_epoll_pwait", None),
          ("task_clock_ms", "task-clock", None)]


def user_sys(pid):
    """utime and stime of a process (all its threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]), int(v[12])


def mod_cost_us(n=300000):
    """µs of one epoll_ctl(EPOLL_CTL_MOD) that changes nothing, best of 5."""
    import select, socket
    a, b = socket.socketpair()
    ep = select.epoll()
    fd = a.fileno()
    ep.register(fd, select.EPOLLIN)
    best = None
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            ep.modify(fd, select.EPOLLIN)
        t1 = time.process_time() - t
        t = time.process_time()
        for _ in range(n):
            ep.fileno()
        t2 = time.process_time() - t
        c = (t1 - t2) / n * 1e6
        best = c if best is None or c < best else best
    return best


def measure(e, label, path, rnd):
    bench.BIN = path
    tag = "%s-%d" % (re.sub(r"\W+", "-", label), rnd)
    p, port = bench.start_binday(e, 1, bench.SERVER_CPUS, tag)
    try:
        batch = bench.make_batch(e, "tok-granted", tag)
        st, speech = bench.probe(port, batch)
        if bench.classify(st, speech) != "answer":
            raise RuntimeError("%s: the probe got %d: %s" % (label, st, speech[:200]))
        bench.wrk(port, batch, CONNS, 2, tag=label + " warm-up")
        out = os.path.join(e.W, "perf-%s.txt" % tag)
        cmd = ["perf", "stat", "-x", ",", "-o", out]
        for _, ev, flt in EVENTS:
            cmd += ["-e", ev] + (["--filter", flt] if flt else [])
        cmd += ["-p", str(p.pid)]
        perf = subprocess.Popen(cmd)
        time.sleep(1.0)  # perf attached to every thread before the load starts
        t0 = user_sys(p.pid)
        r = bench.wrk(port, batch, CONNS, SECONDS, tag="%s round %d" % (label, rnd))
        t1 = user_sys(p.pid)
        time.sleep(0.2)
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=30)
    finally:
        bench.stop(p)
    counts = {}
    for line in open(out):
        f = line.strip().split(",")
        if len(f) < 3 or line.startswith("#"):
            continue
        for name, ev, _ in EVENTS:
            if f[2] == ev:
                counts[name] = float(f[0]) if f[0] not in ("<not counted>", "<not supported>") else float("nan")
    n = r["requests"]
    per = {k: v / n for k, v in counts.items()}
    per["cpu_us"] = counts["task_clock_ms"] * 1000.0 / n
    per["user_us"] = (t1[0] - t0[0]) / bench.HZ * 1e6 / n
    per["sys_us"] = (t1[1] - t0[1]) / bench.HZ * 1e6 / n
    per["requests"] = n
    per["rps"] = r["rps"]
    return per


W = tempfile.mkdtemp(prefix="binday-epoll-")
res = {label: [] for label, _ in bins}
try:
    bench.BIN = bins[0][1]
    e = bench.setup(W)
    for rnd in range(1, ROUNDS + 1):
        for label, path in bins:
            res[label].append(measure(e, label, path, rnd))
finally:
    for p in bench.procs:
        bench.stop(p)
    shutil.rmtree(W, ignore_errors=True)

cols = ["requests", "rps", "syscalls", "epoll_ctl", "epoll_ctl_failed", "epoll_wait", "epoll_pwait", "cpu_us",
        "user_us", "sys_us"]
print()
print("machine: %s, %d CPUs, load %s" % (os.uname().release, os.cpu_count(), open("/proc/loadavg").read().strip()))
print("per request, binday serve --threads 1 on CPU 0, wrk -c%d -d%ds on CPU 1 (bench S1 load):" % (CONNS, SECONDS))
print("| binary | round | " + " | ".join(cols) + " |")
print("|---|---:|" + "---:|" * len(cols))
for label, _ in bins:
    for i, per in enumerate(res[label], 1):
        print("| %s | %d | %s |" % (label, i, " | ".join(
            "%.0f" % per[c] if c in ("requests", "rps") else "%.2f" % per[c] for c in cols)))
    med = {c: statistics.median(x[c] for x in res[label]) for c in cols}
    print("| %s | median | %s |" % (label, " | ".join(
        "%.0f" % med[c] if c in ("requests", "rps") else "%.2f" % med[c] for c in cols)))
print()
print("one epoll_ctl(MOD) that changes nothing, in a warm loop: %.2f us (best of 5 x 300,000)" % mod_cost_us())
EOF
