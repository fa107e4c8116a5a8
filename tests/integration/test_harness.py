#!/usr/bin/python3
"""test_harness.py - the test harness itself can fail: tap.h's done_testing
exits non-zero on a failed check, a wrong plan or no check at all, and a bare
`done_testing();` (which let three tests exit 0 whatever happened) does not
compile; tap.py's done() does the same; tests/run.py fails a file that exits
non-zero with every check ok, or exits 0 despite a "not ok", or has no plan,
and refuses a filter that matches no test. Speaks TAP."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402

ROOT = os.environ.get("BINDAY_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import run  # noqa: E402  (tests/run.py: judge() is what decides a file's fate)

# Fixtures for tap.h itself: n is 2, computed at run time
C_CASES = [
    ("all checks pass", 'ok(n == 2, "n"); is_int(n * n, 4, "square"); return done_testing();', 0),
    ("one check fails", 'ok(n == 3, "n"); ok(n > 1, "order"); return done_testing();', 1),
    ("is_str differs", 'is_str(n == 2 ? "a" : "b", "b", "text"); return done_testing();', 1),
    ("plan(3) but two checks", 'plan(3); ok(n > 1, "a"); ok(n < 3, "b"); return done_testing();', 1),
    ("plan(2) and two checks", 'plan(2); ok(n > 1, "a"); ok(n < 3, "b"); return done_testing();', 0),
    ("no check at all", 'return done_testing();', 1),
    ("skip_all", 'return skip_all("not for this build");', 0),
]


def sh(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120, **kw)


def compile_c(d, name, body):
    src = os.path.join(d, name + ".c")
    with open(src, "w") as f:
        f.write('#include <stdlib.h>\n#include "tap.h"\nint main(void)\n{\n    int n = (int)strlen("ab");\n'
                '    (void)n;\n    %s\n}\n' % body)
    exe = os.path.join(d, name)
    c = sh(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I" + os.path.join(ROOT, "tests", "unit"),
            "-o", exe, src])
    return exe, c


def main():
    t = Tap()
    with tempfile.TemporaryDirectory(prefix="binday-harness-") as d:
        for i, (name, body, want) in enumerate(C_CASES):
            exe, c = compile_c(d, "case%d" % i, body)
            if not t.ok(c.returncode == 0, "tap.h: %s compiles" % name, c.stderr):
                continue
            r = sh([exe])
            t.eq(r.returncode, want, "tap.h: %s: exit %d" % (name, want))
            oks, noks, broken = run.judge(r.stdout, r.returncode)
            t.eq(bool(noks or broken), want != 0, "run.py judges it %s" % ("failed" if want else "passed"))
        _, c = compile_c(d, "bare", 'ok(n == 3, "fails"); done_testing();')
        t.ok(c.returncode != 0 and "done_testing" in c.stderr,
             "tap.h: a bare done_testing(); (main falls off its end, exit 0) does not compile", c.stderr)

        py = os.path.join(d, "t.py")
        for name, body, want in [("a failed check", "t.eq(len('ab'), 3, 'length')", 1),
                                 ("no check", "pass", 1),
                                 ("checks pass", "t.eq(len('ab'), 2, 'length')", 0)]:
            with open(py, "w") as f:
                f.write("import sys\nsys.path.insert(0, %r)\nfrom tap import Tap\nt = Tap()\n%s\nt.done()\n"
                        % (os.path.join(ROOT, "tests", "integration"), body))
            r = sh(["/usr/bin/python3", py])
            t.eq(r.returncode, want, "tap.py: %s: exit %d" % (name, want))

    # run.py's verdicts on the outputs that used to slip through
    ok3 = "ok 1 - a\nok 2 - b\nok 3 - c\n1..3\n"
    t.ok(run.judge(ok3, 0) == (3, 0, []), "run.py: three oks, plan, exit 0: passed")
    t.ok(run.judge(ok3, 66)[2], "run.py: every check ok but exit 66 (a TSan report): failed")
    t.ok(run.judge(ok3, -6)[2], "run.py: every check ok but killed by SIGABRT: failed")
    t.ok(run.judge("ok 1 - a\nnot ok 2 - b\n1..2\n", 0)[2], "run.py: a not ok with exit 0 is flagged too")
    t.ok(run.judge("ok 1 - a\nok 2 - b\n", 0)[2], "run.py: no plan (stopped early): failed")
    t.ok(run.judge("ok 1 - a\n1..2\n", 0)[2], "run.py: plan 1..2 with one check: failed")
    t.ok(run.judge("1..0\n", 0)[2], "run.py: 1..0 without # SKIP: failed")
    t.ok(not run.judge("1..0 # SKIP not for this build\n", 0)[2], "run.py: 1..0 # SKIP: not a failure")

    r = sh(["/usr/bin/python3", os.path.join(ROOT, "tests", "run.py"), "no-such-test-name"])
    t.ok(r.returncode != 0 and "no test matches" in r.stderr, "run.py: a filter matching no test exits non-zero",
         "rc %d, %s" % (r.returncode, r.stderr))
    t.done()


if __name__ == "__main__":
    main()
