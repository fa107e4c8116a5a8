#!/usr/bin/python3
"""binday test runner: runs every unit test binary, every fuzz corpus through
its replay build, and every integration test script; each speaks TAP. Prints
one line per test file and ends with "N passed, N failed".

Usage: tests/run.py [FILTER]   (FILTER: substring of test names to run)
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BINDAY_BUILD picks the build variant (make tsan sets build/tsan)
ASAN = os.path.join(ROOT, os.environ.get("BINDAY_BUILD", os.path.join("build", "asan")))
TIMEOUT = int(os.environ.get("BINDAY_TEST_TIMEOUT", "600"))

ENV = dict(os.environ)
ENV.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
ENV.setdefault("LSAN_OPTIONS", "print_suppressions=0")
ENV.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
ENV["BINDAY_ROOT"] = ROOT
ENV["BINDAY_BIN"] = os.path.join(ASAN, "binday")
ENV["PYTHONDONTWRITEBYTECODE"] = "1"
ENV["PYTHONPATH"] = os.path.join(ROOT, "tests", "integration")


def collect(flt):
    jobs = []
    tdir = os.path.join(ASAN, "tests")
    if os.path.isdir(tdir):
        for n in sorted(os.listdir(tdir)):
            jobs.append(("unit/" + n, [os.path.join(tdir, n)]))
    rdir = os.path.join(ASAN, "replay")
    if os.path.isdir(rdir):
        for n in sorted(os.listdir(rdir)):
            corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", n)
            jobs.append(("fuzz-replay/" + n, [os.path.join(rdir, n), corpus]))
    idir = os.path.join(ROOT, "tests", "integration")
    for n in sorted(os.listdir(idir)):
        if n.startswith("test_") and n.endswith(".py"):
            jobs.append(("integration/" + n, ["/usr/bin/python3", os.path.join(idir, n)]))
    if flt:
        jobs = [j for j in jobs if flt in j[0]]
    return jobs


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    passed = failed = 0
    for name, argv in collect(flt):
        t0 = time.time()
        try:
            # TAP is read from stdout only: servers' stderr can interleave mid-line
            p = subprocess.run(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT)
            out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
            err = p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace") + "\n# TIMEOUT\n"
            err = (e.stderr or b"").decode("utf-8", "replace")
            rc = -1
        oks = len(re.findall(r"^ok \d+", out, re.M))
        noks = len(re.findall(r"^not ok \d+", out, re.M))
        plan = re.search(r"^1\.\.(\d+)", out, re.M)
        # a crash, a sanitizer report, a missing plan or a short run is a failure too
        broken = rc != 0 and noks == 0
        if plan is None or int(plan.group(1)) != oks + noks:
            broken = True
        passed += oks
        failed += noks + (1 if broken else 0)
        status = "FAIL" if (noks or broken) else "ok"
        print("%-4s %-45s %4d passed %3d failed %6.1fs" % (status, name, oks, noks + broken,
                                                          time.time() - t0), flush=True)
        if status == "FAIL":
            lines = out.splitlines()
            shown = [l for l in lines if l.startswith("not ok") or l.startswith("#")
                     or "ERROR" in l or "Sanitizer" in l or "runtime error" in l]
            for l in (shown or lines)[-60:]:
                print("    " + l)
            for l in err.splitlines()[-40:]:
                print("    stderr: " + l)
            if rc != 0:
                print("    exit status %d" % rc)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
