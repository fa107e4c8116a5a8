#!/usr/bin/python3
"""binday test runner: runs every unit test binary, every fuzz corpus through
its replay build, and every integration test script; each speaks TAP. Prints
one line per test file and ends with "N passed, N failed".

Usage: tests/run.py [FILTER]   (FILTER: substring of test names to run; a
filter that matches no test is an error, so a typo cannot pass as green)

BINDAY_BUILD picks the build variant (default build/asan; `make tsan` sets
build/tsan, which loads tests/tsan.supp and skips the fuzz replays).

A test file fails when any check says "not ok", when the plan ("1..N") is
missing or does not match the checks printed, or when it exits non-zero
(a crash, a sanitizer report, a timeout) even if every check said ok.
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_REL = os.environ.get("BINDAY_BUILD", os.path.join("build", "asan"))
BUILD = os.path.join(ROOT, BUILD_REL)
TSAN = os.path.basename(os.path.normpath(BUILD)) == "tsan"
TIMEOUT = int(os.environ.get("BINDAY_TEST_TIMEOUT", "600"))

ENV = dict(os.environ)
ENV.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
ENV.setdefault("LSAN_OPTIONS", "print_suppressions=0")
ENV.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
if TSAN:
    # halt_on_error: the first race ends the process with exitcode 66, which
    # fails the test file even if every TAP line said ok. The suppressions are
    # explained one by one in tests/tsan.supp and docs/sanitizers.md.
    ENV.setdefault("TSAN_OPTIONS", "halt_on_error=1:exitcode=66:second_deadlock_stack=1:"
                   "suppressions=" + os.path.join(ROOT, "tests", "tsan.supp"))
ENV["BINDAY_ROOT"] = ROOT
ENV["BINDAY_BUILD"] = BUILD
ENV["BINDAY_TSAN"] = "1" if TSAN else ""
ENV["BINDAY_BIN"] = os.path.join(BUILD, "binday")
ENV["PYTHONDONTWRITEBYTECODE"] = "1"
ENV["PYTHONPATH"] = os.path.join(ROOT, "tests", "integration")


def sources(folder, prefix, suffix):
    d = os.path.join(ROOT, "tests", folder)
    return sorted(n[:-len(suffix)] for n in os.listdir(d) if n.startswith(prefix) and n.endswith(suffix))


def collect(flt):
    """Jobs come from the sources, not from what happens to lie in the build
    directory: a stale binary of a removed test does not run, and a test that
    was not built is a failure rather than silently absent."""
    jobs = []
    for n in sources("unit", "test_", ".c"):
        jobs.append(("unit/" + n, [os.path.join(BUILD, "tests", n)]))
    if not TSAN:  # the fuzz replays are ASan+UBSan regression runs of single-threaded code
        for n in sources("fuzz", "fuzz_", ".c"):
            corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", n)
            jobs.append(("fuzz-replay/" + n, [os.path.join(BUILD, "replay", n), corpus]))
    for n in sources("integration", "test_", ".py"):
        jobs.append(("integration/" + n + ".py",
                     ["/usr/bin/python3", os.path.join(ROOT, "tests", "integration", n + ".py")]))
    if flt:
        jobs = [j for j in jobs if flt in j[0]]
    return jobs


def judge(out, rc):
    """(oks, not-oks, reasons the file is broken beyond its not-ok lines)"""
    oks = len(re.findall(r"^ok \d+", out, re.M))
    noks = len(re.findall(r"^not ok \d+", out, re.M))
    plan = re.search(r"^1\.\.(\d+)", out, re.M)
    broken = []
    if plan is None:
        broken.append("no plan (1..N): the test stopped early")
    elif int(plan.group(1)) != oks + noks:
        broken.append("plan 1..%s but %d checks ran" % (plan.group(1), oks + noks))
    elif oks + noks == 0 and "# SKIP" not in out:
        broken.append("no checks ran (1..0 without # SKIP)")
    if rc != 0 and (noks == 0 or rc < 0 or rc > 1):
        broken.append("exit status %d" % rc)
    if rc == 0 and noks:
        broken.append("exit status 0 despite %d not ok: main must return done_testing()" % noks)
    return oks, noks, broken


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    jobs = collect(flt)
    if not jobs:
        print("tests/run.py: no test matches %r (names look like unit/test_utf8, "
              "fuzz-replay/fuzz_csv, integration/test_server.py)" % flt, file=sys.stderr)
        return 2
    passed = failed = 0
    for name, argv in jobs:
        t0 = time.time()
        if not os.access(argv[0], os.X_OK):
            out, err, rc = "", "%s is not built (make %s)\n" % (argv[0], "tsan-build" if TSAN else "asan"), 127
        else:
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
        oks, noks, broken = judge(out, rc)
        passed += oks
        failed += noks + (1 if broken else 0)
        status = "FAIL" if (noks or broken) else "ok"
        print("%-4s %-45s %4d passed %3d failed %6.1fs" % (status, name, oks, noks + (1 if broken else 0),
                                                          time.time() - t0), flush=True)
        if status == "FAIL":
            lines = out.splitlines()
            shown = [l for l in lines if l.startswith("not ok") or l.startswith("#")
                     or "ERROR" in l or "Sanitizer" in l or "runtime error" in l]
            for l in (shown or lines)[-60:]:
                print("    " + l)
            for l in err.splitlines()[-40:]:
                print("    stderr: " + l)
            for b in broken:
                print("    " + b)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
