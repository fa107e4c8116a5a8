#!/usr/bin/python3
"""fake_s3.py - a local HTTPS stand-in for s3.amazonaws.com in verification tests.

Serves, over TLS with a cert for s3.amazonaws.com issued by the test PKI's
tls_root.pem (reach it with --connect-to s3.amazonaws.com:443:127.0.0.1:PORT
and --upstream-ca tls_root.pem):
  GET /echo.api/<file>          the PKI directory's <file> (e.g. chain_good.pem), 200
  GET /echo.api/slow.pem        sleeps 6 s, then a good chain (outlives a 3 s timeout)
  GET /echo.api/big.pem         100 KiB of PEM-looking text (over the 64 KiB cap)
  GET /echo.api/junk.pem        200 with bytes that are not PEM
  GET /echo.api/redirect.pem    302 to /echo.api/chain_good.pem (must not be followed)
  GET /__stats                  JSON {path: hits} of every request so far
  anything else                 404
Run: fake_s3.py --pki DIR --port-file FILE   (writes the port once listening)
From Python: start(pki_dir) -> (Popen, port).
"""
import argparse
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import alexa_pki  # noqa: E402


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    pki = None
    hits = {}
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, body, ctype="application/x-pem-file", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/__stats":
            with self.lock:
                body = json.dumps(self.hits).encode()
            return self._send(200, body, "application/json")
        if not path.startswith("/echo.api/"):
            return self._send(404, b"<Error>NoSuchKey</Error>", "application/xml")
        name = path[len("/echo.api/"):]
        good = os.path.join(self.pki, "chain_good.pem")
        if name == "slow.pem":
            time.sleep(6)
            with open(good, "rb") as f:
                return self._send(200, f.read())
        if name == "big.pem":
            line = b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxxxxxxxxxxxxxxxxxxxxxxx\n"
            body = b"-----BEGIN CERTIFICATE-----\n" + line * (100 * 1024 // len(line)) + \
                   b"-----END CERTIFICATE-----\n"
            return self._send(200, body)
        if name == "junk.pem":
            return self._send(200, b"\x00\x01 this is not a certificate chain \xff" * 10)
        if name == "redirect.pem":
            return self._send(302, b"", "text/plain", {"Location": "/echo.api/chain_good.pem"})
        f = os.path.join(self.pki, name)
        if "/" in name or not name.endswith(".pem") or not os.path.isfile(f):
            return self._send(404, b"<Error>NoSuchKey</Error>", "application/xml")
        with open(f, "rb") as fh:
            return self._send(200, fh.read())


def serve(pki, port_file):
    alexa_pki.make_pki(pki)
    cert, key = alexa_pki.make_tls_cert(pki, "s3", ["s3.amazonaws.com"])
    Handler.pki = pki
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    # clients that give up mid-download (the oversize case) are expected: stay quiet
    srv.handle_error = lambda request, client_address: None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, port_file)
    srv.serve_forever()


def start(pki, timeout=30):
    """Spawn the server for `pki`; returns (Popen, port)."""
    pf = os.path.join(pki, "fake_s3.port.%d" % os.getpid())
    if os.path.exists(pf):
        os.unlink(pf)
    p = subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__), "--pki", pki, "--port-file", pf])
    t0 = time.time()
    while not os.path.exists(pf):
        if p.poll() is not None or time.time() - t0 > timeout:
            p.kill()
            raise RuntimeError("fake_s3 did not start")
        time.sleep(0.05)
    with open(pf) as f:
        return p, int(f.read())


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pki", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    serve(a.pki, a.port_file)
