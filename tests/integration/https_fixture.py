#!/usr/bin/python3
"""A small HTTPS server for testing binday's outbound client.

Makes its own CA and certificates in --dir (ca.pem is the trust anchor; the
"good" port serves a certificate for api.test/localhost signed by it, the
"rogue" port one for the same names from another CA, the "expired" port one
from the right CA that expired in 2020; the "silent" port accepts TCP
connections and never says a word), then writes
"GOODPORT ROGUEPORT EXPIREDPORT SILENTPORT\\n" to --port-file and serves until
killed.

Routes: /status/NNN, /json, /slow/MS, /big/BYTES, /echo (any method),
/redirect, /html403 (HTML body with status 403), /close-later/MS (a normal
keep-alive answer, then the server closes the idle connection after MS ms
without having said so: what an idle timeout on the far side looks like),
/reset-later/MS (likewise, but the close is a TCP reset),
/drop-next (a normal keep-alive answer; the next request on the same
connection is dropped: the connection closes without a byte of answer, what
a request racing the far side's idle close sees), /chunked/N (N chunks of
"chunk-I;" with Transfer-Encoding: chunked), /until-close/BYTES (no length:
the body ends when the server closes the connection), /extra-byte (a
complete response followed by one stray byte), /conn-close ("Connection:
close" sent, the connection kept open), /continue (a 100 Continue head before
the answer), /no-content (204 with a Content-Length and no body),
/chunked-trailers (chunks with extensions, then trailer fields),
/chunked-bad (a chunk size that is not hex).
"""
import argparse
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pki import make_ca, make_cert  # noqa: E402

SANS = ["DNS:api.test", "DNS:localhost", "IP:127.0.0.1"]


class Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="text/plain", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        p = self.path
        if getattr(self, "drop_this", False):
            self.drop_this = False
            self.close_connection = True
            return None
        if p == "/drop-next":
            self.drop_this = True
            return self.send(200, "dropping the next one")
        if p.startswith("/chunked/"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(p.split("/")[2])):
                c = ("chunk-%d;" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return None
        if p in ("/chunked-trailers", "/chunked-bad"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if p == "/chunked-bad":
                self.wfile.write(b"zz\r\nnot hex\r\n0\r\n\r\n")
                self.close_connection = True
            else:
                self.wfile.write(b"5;ext=1\r\nhello\r\n")
                self.wfile.flush()
                self.wfile.write(b"6 ; a=\"b\"\r\n world\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n")
            return None
        if p.startswith("/until-close/"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"u" * int(p.split("/")[2]))
            self.close_connection = True
            return None
        if p == "/extra-byte":
            # a complete response, then one byte nobody asked for (in the
            # same TLS record as the body): the connection is unusable
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"okX")
            return None
        if p == "/conn-close":
            # says "Connection: close" but keeps the connection open: only
            # the header can stop a client from reusing it
            self.send(200, "closing", extra={"Connection": "close"})
            self.close_connection = False
            return None
        if p == "/continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
            return self.send(200, "after continue")
        if p == "/no-content":
            # 204 with a Content-Length: there is no body all the same
            self.send_response(204)
            self.send_header("Content-Length", "5")
            self.end_headers()
            return None
        if p.startswith("/status/"):
            code = int(p.split("/")[2])
            return self.send(code, "status %d" % code)
        if p == "/json":
            return self.send(200, json.dumps({"ok": True}), "application/json")
        if p.startswith("/slow/"):
            time.sleep(int(p.split("/")[2]) / 1000.0)
            return self.send(200, "slow")
        if p.startswith("/big/"):
            return self.send(200, b"b" * int(p.split("/")[2]))
        if p == "/echo":
            return self.send(200, json.dumps({"method": self.command, "headers": dict(self.headers.items()),
                                              "body": body.decode("latin-1")}), "application/json")
        if p == "/redirect":
            return self.send(302, "moved", extra={"Location": "/json"})
        if p == "/html403":
            return self.send(403, "<html><body>Forbidden</body></html>", "text/html")
        if p.startswith("/close-later/"):
            self.send(200, "bye later")
            self.wfile.flush()
            time.sleep(int(p.split("/")[2]) / 1000.0)
            self.close_connection = True
            return None
        if p.startswith("/reset-later/"):
            self.send(200, "reset later")
            self.wfile.flush()
            time.sleep(int(p.split("/")[2]) / 1000.0)
            # linger 0: close() sends a TCP reset, as a far side that aborts does
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return None
        return self.send(404, "no route")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def serve(cert, key, port=0):
    srv = Server(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    ca = make_ca(a.dir, "Fixture CA", basename="ca")
    good = make_cert(a.dir, "good", ca, sans=SANS, cn="api.test")
    rogue_ca = make_ca(a.dir, "Rogue CA", basename="rogue-ca")
    rogue = make_cert(a.dir, "rogue", rogue_ca, sans=SANS, cn="api.test")
    expired = make_cert(a.dir, "expired", ca, sans=SANS, cn="api.test", start="20190101000000Z",
                        end="20200101000000Z")
    s1, s2, s3 = serve(*good), serve(*rogue), serve(*expired)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes TCP handshakes; nobody ever reads
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d %d %d\n" % (s1.server_address[1], s2.server_address[1], s3.server_address[1],
                                   silent.getsockname()[1]))
    os.rename(tmp, a.port_file)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
