#!/usr/bin/python3
"""measure.py - the measurements the docs cite, reproducible from the repo.

    bench/measure.py cpu BIN_A [BIN_B] [--rounds N] [--seconds S] [--conns C] [--token T]
        Server CPU per request (µs, from /proc/PID/stat utime+stime over the
        measured window ÷ requests answered) for binday --threads 1 pinned to
        CPU 0, wrk and the fakes on the other CPU. With two binaries the rounds
        alternate A, B, A, B... and the report gives each side's median and the
        per-pair ratios B/A, so a slow phase of a shared machine hits both.
    bench/measure.py syscalls BIN [--seconds S] [--conns C]
        System calls per request: strace -c -f attached to the server during a
        wrk run (strace slows the server; counts, not times, are the result).
    bench/measure.py callgrind BIN
        User-space instructions per request under valgrind's callgrind
        (counters zeroed after a warm-up; 4 connections): deterministic to
        about 1%, the steadiest figure on a noisy VM.

BIN is a binday binary (e.g. build/release/binday, or a release build of
another commit: `git worktree add /tmp/old COMMIT && make -C /tmp/old`).
Everything runs on 127.0.0.1 with the bench's fakes (bench.py's setup: the
60,000-property demo district, fake_amazon.py as the certificate host,
bench/fast_api as the Device Address API). Needs `make all` and the tools
bench/run.sh builds (build/bench/signreq, build/bench/fast_api); run it via
`bench/run.sh --measure ...` or after one `make bench`.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (bench.py: setup, fakes, wrk, callgrind)


def start(e, binary, tag):
    bench.BIN = os.path.abspath(binary)
    return bench.start_binday(e, 1, bench.SERVER_CPUS, tag)


def cpu_round(e, binary, tag, args):
    p, port = start(e, binary, tag)
    try:
        batch = bench.make_batch(e, args.token, bench.slug(tag))
        st, speech = bench.probe(port, batch)
        if bench.classify(st, speech) in ("not-routed", "error"):
            raise RuntimeError("%s: probe got HTTP %d: %s" % (tag, st, speech[:200]))
        bench.wrk(port, batch, args.conns, 3, tag=tag + " warm-up")
        batch = bench.make_batch(e, args.token, bench.slug(tag) + "-m")
        t0 = bench.proc_ticks(p.pid)
        r = bench.wrk(port, batch, args.conns, args.seconds, tag=tag, watch=(p.pid, [e.fast.pid, e.fake.pid]))
        ticks = bench.proc_ticks(p.pid) - t0
    finally:
        bench.stop(p)
    answered = max(1, int(r["requests"] - r["app_failures"]))
    return {"us": ticks / bench.HZ / answered * 1e6, "rps": r["rps"], "p99_ms": r["p99_us"] / 1e3,
            "errors": int(r["errors"] + r["app_failures"]), "other": r["cpu"]["other"] if r["cpu"] else 0.0}


def cmd_cpu(e, args):
    bins = [b for b in (args.bin_a, args.bin_b) if b]
    res = {b: [] for b in bins}
    for i in range(args.rounds):
        for j, b in enumerate(bins):
            r = cpu_round(e, b, "%s round %d" % ("AB"[j], i + 1), args)
            res[b].append(r)
            print("round %d %s: %.1f us/req, %.0f req/s, p99 %.2f ms, %d errors, other load %.2f cores" %
                  (i + 1, "AB"[j], r["us"], r["rps"], r["p99_ms"], r["errors"], r["other"]), flush=True)
    print()
    for j, b in enumerate(bins):
        us = [r["us"] for r in res[b]]
        print("%s %s: median %.1f us/req (min %.1f, max %.1f) over %d rounds" %
              ("AB"[j], b, statistics.median(us), min(us), max(us), len(us)))
    if len(bins) == 2:
        ratios = [rb["us"] / ra["us"] for ra, rb in zip(res[bins[0]], res[bins[1]])]
        print("B/A per pair: %s; median %.3f" % (", ".join("%.3f" % x for x in ratios), statistics.median(ratios)))
    return 0


def cmd_syscalls(e, args):
    if not shutil.which("strace"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "strace"], check=True)
    p, port = start(e, args.bin_a, "syscalls")
    try:
        batch = bench.make_batch(e, args.token, "sc")
        bench.probe(port, batch)
        bench.wrk(port, batch, args.conns, 3, tag="syscalls warm-up")
        out = os.path.join(e.W, "strace.txt")
        st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(p.pid)])
        time.sleep(1.0)  # strace attaches to every thread
        r = bench.wrk(port, bench.make_batch(e, args.token, "sc-m"), args.conns, args.seconds, tag="syscalls")
        st.send_signal(signal.SIGINT)
        st.wait(timeout=30)
    finally:
        bench.stop(p)
    reqs = max(1, int(r["requests"]))
    total = 0
    rows = []
    for line in open(out):
        m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
        if m and m.group(2) != "total":
            n = int(m.group(1))
            total += n
            rows.append((n, m.group(2)))
    print("%d requests; %.2f system calls per request" % (reqs, total / reqs))
    for n, name in sorted(rows, reverse=True):
        print("  %-20s %.3f per request" % (name, n / reqs))
    return 0


def cmd_callgrind(e, args):
    bench.BIN = os.path.abspath(args.bin_a)
    batch = bench.make_batch(e, args.token, "cg")
    r = bench.callgrind(e, batch)
    if "cg_skipped" in r:
        print(r["cg_skipped"])
        return 1
    print("%d requests; %.0f instructions per request" % (r["cg_requests"], r["cg_instr_per_req"]))
    for line in r["cg_objs"] + [""] + r["cg_funcs"]:
        print("  " + line)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["cpu", "syscalls", "callgrind"])
    ap.add_argument("bin_a")
    ap.add_argument("bin_b", nargs="?")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=bench.CONNS)
    ap.add_argument("--token", default="tok-granted")
    args = ap.parse_args()
    W = tempfile.mkdtemp(prefix="binday-measure-")
    e = None
    try:
        bench.BIN = os.path.abspath(args.bin_a)
        e = bench.setup(W)
        return {"cpu": cmd_cpu, "syscalls": cmd_syscalls, "callgrind": cmd_callgrind}[args.what](e, args)
    finally:
        for p in bench.procs:
            bench.stop(p)
        shutil.rmtree(W, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
