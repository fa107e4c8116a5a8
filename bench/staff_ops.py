#!/usr/bin/python3
"""bench/staff_ops.py - CPU cost of the staff console's core operations on the
demo district (60,000 properties by default), measured through the CLI (which
makes the same library calls as the console) as user + system CPU time of the
child, minus the median of `binday staff list` (process start, store open).

Usage: bench/staff_ops.py [BINARY] [PROPERTIES] [N]
       (default build/release/binday, 60000, 9 runs each)
Not part of `make test`: nothing here is asserted."""
import datetime
import os
import resource
import statistics
import subprocess
import sys
import tempfile

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/release/binday"
PROPS = sys.argv[2] if len(sys.argv) > 2 else "60000"
N = int(sys.argv[3]) if len(sys.argv) > 3 else 9
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu(args):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 3):
        sys.exit("failed: %s\n%s" % (args, p.stderr.decode()))
    return (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000, p.stdout.decode()


with tempfile.TemporaryDirectory() as d:
    data = os.path.join(d, "env")
    subprocess.run([os.path.join(ROOT, "deploy", "load-demo-data.sh"), data, PROPS, BIN], check=True,
                   stdout=subprocess.DEVNULL)
    csvdir = data + ".demo-csv"
    # a round and one of its collection days, from the generated rounds
    with open(os.path.join(csvdir, "rounds.csv")) as f:
        hdr = f.readline().strip().split(",")
        row = dict(zip(hdr, f.readline().strip().split(",")))
    rnd, anchor = row["round_id"], row["anchor_date"]
    nxt = (datetime.date.fromisoformat(anchor) + datetime.timedelta(days=1)).isoformat()
    _, one = cpu(["staff", "search", "--data", data, "--query", "high street"])
    uprn = one.split()[0] if one.split() else "1"
    ops = {
        "staff list (baseline)": ["staff", "list", "--data", data],
        "search: address words, no postcode (scan)": ["staff", "search", "--data", data, "--query", "high street"],
        "property: 16-week calendar + feed link": ["staff", "property", "--data", data, "--uprn", uprn],
        "preview: move one round's collection": ["staff", "exception", "move", "--data", data, "--round", rnd,
                                                 "--date", anchor, "--to", nxt, "--preview"],
        "dry run: upload assignments.csv": ["staff", "upload", "--data", data, "--assignments",
                                            os.path.join(csvdir, "assignments.csv"), "--dry-run"],
    }
    res = {}
    for name, args in ops.items():
        res[name] = statistics.median(cpu(args)[0] for _ in range(N))
base = res.pop("staff list (baseline)")
print("machine: %d cores, load %.1f; %s; %s properties; %d runs each (CPU medians)" %
      (os.cpu_count(), os.getloadavg()[0], BIN, PROPS, N))
print("baseline (process start, store open): %.0f ms" % base)
for name, v in res.items():
    print("%-45s %6.0f ms (%.0f ms over the baseline)" % (name, v, v - base))
