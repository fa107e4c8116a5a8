#!/usr/bin/python3
"""test_bench_tools.py - the request generator of `make bench` (bench/signreq.c)
writes what binday must accept: every line's Signature-256 verifies with
`openssl dgst -verify` against the development signing certificate's key,
bodies are distinct NextCollectionIntent envelopes for the given skill with a
current timestamp, and the fast fake Address API's token grammar matches the
tokens it writes; every tool bench/run.sh compiles still builds. Cheap: a few small compiles
and five signatures. Speaks TAP.
(The benchmarks themselves run only in `make bench`.)"""
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402

ROOT = os.environ.get("BINDAY_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
SKILL = "amzn1.ask.skill.bench-test"


def sh(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)


def main():
    t = Tap()
    with tempfile.TemporaryDirectory(prefix="binday-benchtools-") as d:
        flags = sh(["pkg-config", "--cflags", "--libs", "openssl", "jansson"]).stdout.split()
        exe = os.path.join(d, "signreq")
        c = sh(["cc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-o", exe,
                os.path.join(ROOT, "bench", "signreq.c")] + flags)
        if not t.ok(c.returncode == 0, "bench/signreq.c compiles warning-free", c.stderr):
            t.done()
        # every tool bench/run.sh compiles still builds from today's sources (a
        # module split once broke `make bench` while `make test` stayed green)
        pk = "libh2o libuv openssl jansson libcurl lmdb".split()
        cfl = sh(["pkg-config", "--cflags"] + pk).stdout.split()
        lib = sh(["pkg-config", "--libs"] + pk).stdout.split()
        tools = re.findall(r"^cc \$CFLAGS -o build/bench/(\S+) (.*) \$LIBS$",
                           open(os.path.join(ROOT, "bench", "run.sh")).read(), re.M)
        t.ok(len(tools) >= 2, "bench/run.sh compiles its tools (%d found)" % len(tools))
        for name, srcs in tools:
            b = sh(["cc", "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-I" + os.path.join(ROOT, "include"),
                    "-D_GNU_SOURCE", "-DH2O_USE_LIBUV=1"] + cfl + ["-o", os.path.join(d, name)] +
                   [os.path.join(ROOT, x) for x in srcs.split()] + lib + ["-lm", "-lpthread"])
            t.ok(b.returncode == 0, "bench/run.sh's %s builds" % name, b.stderr[-2000:])
        sig_dir = os.path.join(d, "signing")
        m = sh([PY, os.path.join(ROOT, "tests", "integration", "fake_amazon.py"), "--make-signing", sig_dir])
        t.ok(m.returncode == 0, "fake_amazon.py --make-signing", m.stderr)
        out = os.path.join(d, "req.txt")
        r = sh([exe, "--key", os.path.join(sig_dir, "signing.key"), "--skill-id", SKILL, "--count", "5",
                "--out", out, "--devices", "3", "--token", "tok-slow-50ms"])
        t.ok(r.returncode == 0, "signreq writes a batch", r.stderr)
        lines = open(out).read().splitlines()
        t.eq(len(lines), 5, "one line per request")
        pub = os.path.join(d, "pub.pem")
        sh(["openssl", "x509", "-in", os.path.join(sig_dir, "binday-dev.pem"), "-pubkey", "-noout", "-out", pub])
        ids, verified, devices = set(), 0, set()
        now = datetime.datetime.now(datetime.timezone.utc)
        fresh = True
        for i, line in enumerate(lines):
            sig, body = line.split("\t", 1)
            bf, sf = os.path.join(d, "b%d" % i), os.path.join(d, "s%d" % i)
            with open(bf, "wb") as f:
                f.write(body.encode())
            with open(sf, "wb") as f:
                f.write(base64.b64decode(sig, validate=True))
            v = sh(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sf, bf])
            verified += v.returncode == 0 and "Verified OK" in v.stdout
            env = json.loads(body)
            ids.add(env["request"]["requestId"])
            devices.add(env["context"]["System"]["device"]["deviceId"])
            ts = datetime.datetime.strptime(env["request"]["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
            fresh = fresh and abs((now - ts).total_seconds()) < 150
            if i == 0:
                t.eq(env["request"]["intent"]["name"], "NextCollectionIntent", "intent")
                t.eq(env["context"]["System"]["application"]["applicationId"], SKILL, "skill id")
                tok = env["context"]["System"]["apiAccessToken"]
                # the grammar fast_amazon.js and fake_amazon.py use to pick the scenario
                t.ok(re.match(r"^tok-(granted|slow-(\d+)ms)(-|$)", tok) is not None, "token selects a scenario")
                t.ok(len(tok) >= 900, "token has a realistic length")
        t.eq(verified, 5, "every Signature-256 verifies with openssl dgst -verify")
        t.eq(len(ids), 5, "requestIds are distinct")
        t.eq(len(devices), 3, "devices rotate over --devices")
        t.ok(fresh, "timestamps are inside the 150 s window")
        # a tampered body must not verify (the check above is not vacuous)
        with open(os.path.join(d, "b0"), "ab") as f:
            f.write(b" ")
        v = sh(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", os.path.join(d, "s0"),
                os.path.join(d, "b0")])
        t.ok(v.returncode != 0, "a changed body fails verification")
        bad = sh([exe, "--key", os.path.join(sig_dir, "signing.key"), "--skill-id", SKILL, "--count", "0",
                  "--out", out])
        t.eq(bad.returncode, 2, "usage error exits 2")
    t.done()


if __name__ == "__main__":
    main()
