"""A real SMTP server for tests: Debian's aiosmtpd on 127.0.0.1 with STARTTLS
required, AUTH (PLAIN/LOGIN, only after TLS), and a handler that keeps every
accepted message. It can be told to refuse recipients with 550 (permanent)
or 451 (temporary), and stopped and started again on the same port. Also as
an implicit-TLS (smtps) server, or as a server offering no TLS at all.

    s = SmtpServer(cert, key, user="binday", password="pw").start()
    s.messages  -> [{"mail_from", "rcpt_tos", "data" (bytes)}]
"""
import logging
import socket
import ssl
import threading
import warnings

# aiosmtpd 1.4 warns (through logging and warnings) about its own
# Session.login_data on every AUTH, and about AUTH without TLS for the
# deliberately TLS-less server
warnings.filterwarnings("ignore", message="Session.login_data")
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

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
                                        # STARTTLS sets session.ssl; implicit TLS only shows on the transport
                                        "tls": session.ssl is not None or
                                        server.transport.get_extra_info("ssl_object") is not None,
                                        "auth": session.authenticated})
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, cert, key, user=None, password=None, port=None, implicit=False, starttls=True):
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.user, self.password = user, password
        self.port = port or free_port()
        self.messages = []
        self.auth_failures = 0
        self.lock = threading.Lock()
        self.mode = "ok"
        self.implicit = implicit      # smtps: TLS from the first byte
        self.starttls = starttls      # False: a server that offers no TLS at all
        self.controller = None

    def _auth(self, server, session, envelope, mechanism, auth_data):
        good = (auth_data.login == (self.user or "").encode() and auth_data.password == (self.password or "").encode())
        if not good:
            self.auth_failures += 1
        return AuthResult(success=good)

    def start(self):
        kw = {}
        if self.user:
            # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; with
            # implicit TLS every byte is encrypted anyway
            kw = {"authenticator": self._auth, "auth_required": True,
                  "auth_require_tls": self.starttls and not self.implicit}
        if self.implicit:
            kw["ssl_context"] = self.ctx
        elif self.starttls:
            kw["tls_context"] = self.ctx
            kw["require_starttls"] = True
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="smtp.example.test", **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self):
        with self.lock:
            return list(self.messages)
