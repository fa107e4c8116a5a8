"""TAP output for binday's Python integration tests (counted by tests/run.py).

End with t.done(): it prints the plan and exits non-zero when a check failed
or none ran. Every check must be able to fail: pass t.ok() a condition that
is computed from what the code under test did, never a constant."""
import os
import sys
import traceback


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print("#   " + line)
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got  %r\nwant %r" % (got, want))

    def contains(self, haystack, needle, name):
        return self.ok(needle in (haystack or ""), name, "%r not in %r" % (needle, (haystack or "")[:2000]))

    def not_contains(self, haystack, needle, name):
        return self.ok(needle not in (haystack or ""), name, "%r found" % (needle,))

    def run(self, fn, *args):
        """Run one test function; an exception counts as a failure, not a crash."""
        try:
            fn(self, *args)
        except Exception:
            self.ok(False, "%s raised" % fn.__name__, traceback.format_exc())

    def skip(self, name, why):
        """A check that does not apply to this build: counted as ok, marked SKIP."""
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        if self.n == 0:
            print("# no check ran", flush=True)
        sys.exit(1 if self.failed or self.n == 0 else 0)


def skip_all(why):
    """The whole file does not apply to this build: TAP's "1..0 # SKIP", exit 0."""
    print("1..0 # SKIP %s" % why, flush=True)
    sys.exit(0)


def tsan():
    """True under `make tsan` (tests/run.py sets BINDAY_TSAN for build/tsan)."""
    return os.environ.get("BINDAY_TSAN") == "1"
