#!/usr/bin/python3
"""s3_leak.py - does binday give back what a 1,000-connection run took?
(docs/performance.md, "Cost under concurrency"). S3b's set-up (bench.py:
binday --threads 1 pinned to CPU 0, wrk and the fakes on CPU 1,
tok-slow-50ms), then RUNS wrk runs of 1,000 connections; after each (wrk has
closed or reset its connections) it prints the server's open file
descriptors, its anonymous RSS, and what `perf stat` counted during the run:
accept4 (including the one that returns EAGAIN per burst), close and
connect. A server that closes every connection it accepted returns to the
same fd count after each run. With --malloc-stats, glibc's malloc_stats()
(called in the server through gdb) goes to the server's log and its arenas'
"in use" lines are printed.

  bench/run.sh builds the helpers; then (root, for perf and gdb):
  BENCH_SECONDS=6 S3L_RUNS=4 /usr/bin/python3 bench/s3_leak.py [--malloc-stats]
  BINDAY_BIN=/path/to/binday picks another build (e.g. an older commit's).
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

RUNS = int(os.environ.get("S3L_RUNS", "4"))
CONNS = B.S3_CONNS[-1]


def main(argv):
    import shutil
    if os.environ.get("BINDAY_BIN"):
        B.BIN = os.environ["BINDAY_BIN"]
    mstats = "--malloc-stats" in argv
    W = tempfile.mkdtemp(prefix="binday-s3leak-")
    rows = []
    try:
        e = B.setup(W)
        p, port = B.start_binday(e, 1, B.SERVER_CPUS, "leak")
        fds = lambda: len(os.listdir("/proc/%d/fd" % p.pid))
        B.log("probe: %s" % (B.probe(port, B.make_batch(e, "tok-granted", "probe"))[0],))
        base = fds()
        for i in range(1, RUNS + 1):
            batch = B.make_batch(e, "tok-slow-50ms", "leak-%d" % i)
            out = os.path.join(W, "stat-%d.txt" % i)
            ev = ",".join("syscalls:sys_enter_" + s for s in ("accept4", "close", "connect"))
            ps = subprocess.Popen(["perf", "stat", "-x,", "-o", out, "-e", ev, "-p", str(p.pid), "--", "sleep",
                                   str(B.SECONDS + 3)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            r = B.wrk(port, batch, CONNS, B.SECONDS, tag="run %d" % i, watch=(p.pid, [e.fast.pid, e.fake.pid]))
            ps.wait()
            time.sleep(1)
            cnt = {}
            for line in open(out):
                f = line.strip().split(",")
                if len(f) >= 3 and f[0].isdigit():
                    cnt[f[2].replace("syscalls:sys_enter_", "")] = int(f[0])
            m = B.proc_status_kb(p.pid)
            inuse = ""
            if mstats:
                subprocess.run(["gdb", "-p", str(p.pid), "-batch", "-ex", "call (void)malloc_stats()"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.2)
                lines = open(os.path.join(W, "binday-leak.log"), errors="replace").read().splitlines()
                last = max([k for k, x in enumerate(lines) if x.startswith("Arena 0:")] or [0])
                # the arenas of this call (its last "in use" line is the total)
                inuse = " / ".join("%.1f MB" % (int(x.split("=")[1]) / 1e6) for x in lines[last:]
                                   if x.startswith("in use bytes"))
            rows.append((i, int(r["requests"]), int(r["failures"]), cnt.get("accept4"), cnt.get("close"),
                         cnt.get("connect"), fds(), m.get("RssAnon", 0) // 1024, inuse))
            B.log("run %d: %s" % (i, rows[-1]))
    finally:
        for q in B.procs:
            B.stop(q)
    print("\n# s3_leak: %s, %d connections, tok-slow-50ms, %d s runs; %d fds open before the first\n" %
          (B.BIN, CONNS, B.SECONDS, base))
    print("| run | requests | failures | accept4 | close | connect | open fds after | anon RSS MB after |%s" %
          (" malloc in use (arenas..., total) |" if mstats else ""))
    print("|---:|---:|---:|---:|---:|---:|---:|---:|%s" % ("---|" if mstats else ""))
    for row in rows:
        print("| %d | %d | %d | %s | %s | %s | %d | %d |%s" % (row[:8] + ((" %s |" % row[8]) if mstats else "",)))
    shutil.rmtree(W, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
