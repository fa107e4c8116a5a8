"""Spawn the real `binday serve` for integration tests and talk to it over HTTPS.

    with tempdir() as d:
        pki = server_cert(d)
        with Server(d, pki) as s:
            status, headers, body = s.request("GET", "/healthz")
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from contextlib import contextmanager

from pki import server_cert  # noqa: F401  (re-exported for tests)

ROOT = os.environ.get("BINDAY_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("BINDAY_BIN") or os.path.join(ROOT, "build", "asan", "binday")
PY = "/usr/bin/python3"


@contextmanager
def tempdir(prefix="binday-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    keep = os.environ.get("BINDAY_KEEP_TMP")
    try:
        yield d
    finally:
        if not keep:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("# kept " + d)


def run_binday(*args, timeout=120, input=None, env=None):
    """Run a binday subcommand; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([BIN] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, input=input, env=e, universal_newlines=True)


def wait_port_file(path, proc, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path):
            with open(path) as f:
                txt = f.read().strip()
            if txt:
                return int(txt.split()[0])
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before writing %s" % (proc.returncode, path))
        time.sleep(0.05)
    raise RuntimeError("timeout waiting for " + path)


_seq = [0]


class Server:
    """The real binary, on 127.0.0.1 and a free port, with a test certificate."""

    def __init__(self, d, pki, skill_ids=("amzn1.ask.skill.test-binday",), extra=(), config=None,
                 threads=2, data=None, env=None, inherit=None):
        """inherit: a listening socket handed over as systemd does (fd 3,
        LISTEN_FDS=1, LISTEN_PID of the server); --listen is then ignored."""
        self.d = d
        self.pki = pki
        _seq[0] += 1
        self.seq = _seq[0]
        self.port_file = os.path.join(d, "port-%d" % self.seq)
        self.log_path = os.path.join(d, "server-%d.log" % self.seq)
        self.data = data or os.path.join(d, "data")
        args = [BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
                "--tls-cert", pki["cert"], "--tls-key", pki["key"], "--threads", str(threads)]
        for s in skill_ids:
            args += ["--skill-id", s]
        if config is not None:
            cfg = os.path.join(d, "config-%d.json" % self.seq)
            with open(cfg, "w") as f:
                json.dump(config, f)
            args += ["--config", cfg]
        args += [str(a) for a in extra]
        if inherit is not None:
            fd = inherit.fileno()
            self.pass_fds = (fd,)
            move = "" if fd == 3 else " 3<&%d %d<&-" % (fd, fd)  # to fd 3, unless it is there
            args = ["/bin/sh", "-c", 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"' + move, "sh"] + args
        else:
            self.pass_fds = ()
        self.args = args
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.port = None

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT, env=self.env,
                                     pass_fds=self.pass_fds)
        self.port = wait_port_file(self.port_file, self.proc)
        # the port file is written before the threads start accepting; wait for readiness
        t0 = time.time()
        while "server.ready" not in self.log() and time.time() - t0 < 20:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: %s\n%s" % (self.proc.returncode, self.log()))
            time.sleep(0.02)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the server; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def ssl_context(self, alpn=None):
        ctx = ssl.create_default_context(cafile=self.pki["ca"])
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def connection(self, timeout=10):
        return http.client.HTTPSConnection("localhost", self.port, context=self.ssl_context(), timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=15):
        """One request; returns (status, headers dict (lower-case), body bytes)."""
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def tls_socket(self, alpn=None, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.ssl_context(alpn).wrap_socket(raw, server_hostname="localhost")


def jbody(body):
    try:
        return json.loads(body)
    except Exception:
        return None
