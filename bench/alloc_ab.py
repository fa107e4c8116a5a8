#!/usr/bin/python3
"""alloc_ab.py - A/B/C... of whole binday builds or allocators on `make
bench`'s S1 load: signed NextCollectionIntent requests over 32 HTTPS
keep-alive connections, the Device Address API stand-in answering at once,
binday --threads 1 pinned to CPU 0, wrk and the fakes on the other CPU(s).

Each variant is NAME=BINARY or NAME=BINARY:PRELOAD (a shared library put in
LD_PRELOAD for that server only, e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2).
Every variant serves its own copy of one demo store; all run at once (idle
while not measured) and are measured in turn, round after round (A B C, A B
C, ...), so that a slow phase of a shared machine hits all of them. The
figure is the server's CPU per request (its CPU seconds, all threads, over
the requests answered), with the machine's other load beside it.

With --callgrind, each variant also runs once under valgrind's callgrind
(bench.py's callgrind(): 10 s of load on 4 connections after a warm-up):
user-space instructions per request, which the machine's noise does not move
(a proxy: it cannot see cache misses or the kernel).

With --s3, each variant also runs bench.py's S3 (1,000 connections, the
Address API answering after 50 ms, --threads = cores, after its ramp): peak
RSS (VmHWM), answered req/s and server CPU per request.

usage (bench/alloc_ab.sh builds the helpers first):
  alloc_ab.py [--rounds N] [--seconds S] [--callgrind] [--s3] NAME=BINARY[:PRELOAD] ...
Prints every run, then per variant the median and spread, and each round's
ratio to the first variant.
"""
import argparse
import glob
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402  (the S1 machinery: setup, servers, wrk, CPU accounting)


def clear(*paths):
    for f in paths:
        if os.path.exists(f):
            os.remove(f)


class preloaded:
    """LD_PRELOAD=lib for the processes started inside the block."""

    def __init__(self, lib):
        self.lib = lib

    def __enter__(self):
        self.saved = os.environ.get("LD_PRELOAD")
        if self.lib:
            os.environ["LD_PRELOAD"] = self.lib

    def __exit__(self, *a):
        if self.saved is None:
            os.environ.pop("LD_PRELOAD", None)
        else:
            os.environ["LD_PRELOAD"] = self.saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--s3", action="store_true")
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()
    variants = []
    for v in a.variants:
        name, _, rest = v.partition("=")
        binary, _, preload = rest.partition(":")
        if not name or not os.access(binary, os.X_OK) or (preload and not os.path.exists(preload)):
            sys.exit("alloc_ab: bad variant %r (NAME=BINARY[:PRELOAD])" % v)
        variants.append((name, os.path.abspath(binary), preload))

    W = tempfile.mkdtemp(prefix="binday-alloc-ab-")
    B.BIN = variants[0][1]  # builds the demo store
    servers = []
    try:
        e = B.setup(W)
        store = e.store
        for name, binary, preload in variants:
            e.store = os.path.join(W, "store-" + name)
            shutil.copytree(store, e.store)
            B.BIN = binary
            with preloaded(preload):
                p, port = B.start_binday(e, 1, B.SERVER_CPUS, name)
            t = B.Target(e, p, port, name)
            t.binary, t.preload, t.store = binary, preload, e.store
            servers.append(t)
            if not t.prepare():
                sys.exit("alloc_ab: %s does not answer /alexa" % name)
        print("# %s; %d CPUs; %d rounds of %d s; load average %s" %
              (B.cpu_model(), B.NCPU, a.rounds, a.seconds, open("/proc/loadavg").read().split()[0]))
        us = {t.tag: [] for t in servers}
        for rnd in range(1, a.rounds + 1):
            for t in servers:
                batch = B.make_batch(e, t.token, "%s-%d" % (t.tag, rnd))
                r = B.wrk(t.port, batch, t.conns, a.seconds, cpus=t.cpus, tag="%s round %d" % (t.tag, rnd),
                          watch=t.watch)
                if r["errors"] or r["app_failures"]:
                    print("# %s round %d: %d errors, %d failures logged" % (t.tag, rnd, r["errors"],
                                                                           r["app_failures"]))
                cpu_us = r["cpu"]["server"] / r["rps"] * 1e6 if r["rps"] else float("nan")
                us[t.tag].append(cpu_us)
                print("round %d %-10s %7.0f req/s  %6.1f us CPU/req  p99 %5.2f ms  other load %.2f cores" %
                      (rnd, t.tag, r["rps"], cpu_us, r["p99_us"] / 1e3, r["cpu"]["other"]), flush=True)
        base = servers[0].tag
        print()
        for t in servers if a.rounds > 0 else []:
            v = us[t.tag]
            line = "%-10s median %6.1f us CPU/req (min %.1f, max %.1f)" % (t.tag, statistics.median(v), min(v), max(v))
            if t.tag != base:
                ratios = [x / y for x, y in zip(v, us[base])]
                line += "; /%s per round: %s, median %.3f" % (base, " ".join("%.3f" % x for x in ratios),
                                                             statistics.median(ratios))
            print(line)
        for t in servers:
            print("%-10s peak RSS %d KB" % (t.tag, B.vm_hwm_kb(t.proc.pid)))
        if a.callgrind or a.s3:
            for t in servers:  # one at a time: stop the others' CPU use first
                B.stop(t.proc)
        for t in servers if a.s3 else []:
            B.BIN, e.store = t.binary, t.store
            clear(os.path.join(e.W, "binday-slow.port"))  # scenario3's port file: not the last variant's
            R = {}
            with preloaded(t.preload):
                B.scenario3(e, R)
            s3 = R.get("s3", {})
            if "max" in s3:
                r = s3["max"]
                print("%-10s S3: %.0f answered req/s, %.1f us CPU/req, %d failures logged, peak RSS %d KB" %
                      (t.tag, r["good_rps"], r["cpu"]["server"] / r["rps"] * 1e6 if r["rps"] else 0,
                       r["app_failures"], s3["hwm_kb"]), flush=True)
            else:
                print("%-10s S3: not run (%s)" % (t.tag, s3.get("kind")))
        for t in servers if a.callgrind else []:
            B.BIN, e.store = t.binary, t.store
            batch = B.make_batch(e, t.token, "%s-cg" % t.tag)
            # callgrind() reuses its port file and dump names: not the last variant's
            clear(*glob.glob(os.path.join(e.W, "callgrind.out*")), os.path.join(e.W, "cg.port"))
            with preloaded(t.preload):
                cg = B.callgrind(e, batch)
            if "cg_instr_per_req" in cg:
                print("%-10s callgrind %.0f instructions per request (%d requests)" %
                      (t.tag, cg["cg_instr_per_req"], cg["cg_requests"]), flush=True)
                for line in cg["cg_objs"][:6]:
                    print("    " + line)
            else:
                print("%-10s callgrind: %s" % (t.tag, cg.get("cg_skipped")))
    finally:
        for t in servers:
            B.stop(t.proc)
        for p in B.procs:
            B.stop(p)
        shutil.rmtree(W, ignore_errors=True)


if __name__ == "__main__":
    main()
