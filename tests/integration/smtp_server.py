"""A real SMTP server for tests: Debian's aiosmtpd on 127.0.0.1 with STARTTLS
required, AUTH (PLAIN/LOGIN, only after TLS), and a handler that keeps every
accepted message. It can be told to refuse recipients with 550 (permanent)
or 451 (temporary), and stopped and started again on the same port.

    s = SmtpServer(cert, key, user="binday", password="pw").start()
    s.messages  -> [{"mail_from", "rcpt_tos", "data" (bytes)}]
"""
import socket
import ssl
import threading
import warnings

# aiosmtpd 1.4 warns about its own Session.login_data on every AUTH
warnings.filterwarnings("ignore", message="Session.login_data")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class _Handler:
    def __init__(self, owner):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mode = self.owner.mode
        if mode == "550":
            return "550 5.1.1 mailbox unavailable"
        if mode == "451":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.owner.lock:
            self.owner.messages.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                                        "data": envelope.original_content or envelope.content,
                                        "tls": session.ssl is not None,
                                        "auth": session.authenticated})
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, cert, key, user=None, password=None, port=None):
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.user, self.password = user, password
        self.port = port or free_port()
        self.messages = []
        self.auth_failures = 0
        self.lock = threading.Lock()
        self.mode = "ok"
        self.controller = None

    def _auth(self, server, session, envelope, mechanism, auth_data):
        good = (auth_data.login == (self.user or "").encode() and auth_data.password == (self.password or "").encode())
        if not good:
            self.auth_failures += 1
        return AuthResult(success=good)

    def start(self):
        kw = {}
        if self.user:
            kw = {"authenticator": self._auth, "auth_required": True, "auth_require_tls": True}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, tls_context=self.ctx,
                                     require_starttls=True, server_hostname="smtp.example.test", **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self):
        with self.lock:
            return list(self.messages)
