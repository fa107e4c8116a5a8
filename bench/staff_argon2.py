#!/usr/bin/python3
"""bench/staff_argon2.py - what one staff password hash costs, in CPU time
(user + system of the child, so a loaded shared machine inflates it less
than wall time): N runs of `binday staff add --random-password` (one
Argon2id hash with the default parameters, process start, one LMDB commit)
against N runs of `binday staff list` (the same without the hash); prints
the medians and their difference, and the wall-clock medians too.

Usage: bench/staff_argon2.py [BINARY] [N]   (default build/release/binday, 15)
Not part of `make test`: nothing here is asserted."""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/release/binday"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def run(args):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run([BIN] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu * 1000, (t1 - t0) * 1000


with tempfile.TemporaryDirectory() as d:
    env = os.path.join(d, "env")
    run(["staff", "list", "--data", env])
    add = [run(["staff", "add", "--data", env, "--user", "u%d" % i, "--role", "viewer", "--random-password"])
           for i in range(N)]
    lst = [run(["staff", "list", "--data", env]) for _ in range(N)]
ac, aw = statistics.median(a[0] for a in add), statistics.median(a[1] for a in add)
lc, lw = statistics.median(a[0] for a in lst), statistics.median(a[1] for a in lst)
print("machine: %d cores, load %.1f; binary %s; %d runs each" % (os.cpu_count(), os.getloadavg()[0], BIN, N))
print("staff add  (hash + commit): CPU %.0f ms, wall %.0f ms (medians)" % (ac, aw))
print("staff list (no hash):       CPU %.0f ms, wall %.0f ms" % (lc, lw))
print("one Argon2id hash (m=19456 KiB, t=3, p=1) + one commit: CPU %.0f ms" % (ac - lc))
