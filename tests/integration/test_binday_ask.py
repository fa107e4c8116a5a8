#!/usr/bin/python3
"""test_binday_ask.py - `binday ask` end to end against a tiny HTTPS server
that checks each request's Signature-256 with the openssl CLI over the exact
body bytes (as binday's verifier must) and answers with canned Alexa
responses. Covers launch, intents with resolved slots, dates, multi-turn
sessions in --session FILE, permission cards, a rejected signature, a
server that is down, and usage errors. Speaks TAP."""
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_amazon  # noqa: E402  (for make_certs)

BIN = os.environ.get("BINDAY_BIN", "build/asan/binday")
ROOT = os.environ.get("BINDAY_ROOT", os.getcwd())
n = failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)
    if not cond:
        failed += 1


class Skill(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = []
    pubkey = None
    tmp = None
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sig_b64 = self.headers.get("Signature-256", "")
        with Skill.lock:
            bf, sf = os.path.join(Skill.tmp, "body"), os.path.join(Skill.tmp, "sig")
            with open(bf, "wb") as f:
                f.write(body)
            try:
                sig = base64.b64decode(sig_b64, validate=True)
            except Exception:
                sig = b""
            with open(sf, "wb") as f:
                f.write(sig)
            v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", Skill.pubkey, "-signature", sf, bf],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        verified = v.returncode == 0 and b"Verified OK" in v.stdout
        env = json.loads(body)
        Skill.received.append({"headers": dict(self.headers), "env": env, "verified": verified,
                               "path": self.path})
        if not verified:
            return self.reply(400, {"error": "signature verification failed"})
        req = env["request"]
        attrs = env["session"].get("attributes", {})
        turn = attrs.get("turn", 0) + 1
        if req["type"] == "LaunchRequest":
            return self.reply(200, {"version": "1.0", "sessionAttributes": {"turn": turn},
                                    "response": {"outputSpeech": {"type": "SSML", "ssml":
                                                 "<speak>Welcome to Breckland bins &amp; more.</speak>"},
                                                 "reprompt": {"outputSpeech": {"type": "SSML", "ssml":
                                                              "<speak>What would you like to know?</speak>"}},
                                                 "shouldEndSession": False}})
        if req["type"] == "SessionEndedRequest":
            return self.reply(200, {"version": "1.0", "response": {}})
        intent = req["intent"]["name"]
        if intent == "EmailLinkIntent":
            return self.reply(200, {"version": "1.0", "response": {
                "outputSpeech": {"type": "SSML", "ssml": "<speak>I need permission.</speak>"},
                "card": {"type": "AskForPermissionsConsent", "permissions": ["alexa::profile:email:read"]},
                "shouldEndSession": True}})
        if intent == "AMAZON.StopIntent":
            return self.reply(200, {"version": "1.0", "response": {
                "outputSpeech": {"type": "SSML", "ssml": "<speak>Goodbye.</speak>"}, "shouldEndSession": True}})
        slots = req["intent"].get("slots", {})
        desc = []
        for name, s in sorted(slots.items()):
            rid = None
            for a in s.get("resolutions", {}).get("resolutionsPerAuthority", []):
                if a["status"]["code"] == "ER_SUCCESS_MATCH":
                    rid = a["values"][0]["value"]["id"]
            desc.append("%s=%s" % (name, rid or s.get("value")))
        return self.reply(200, {"version": "1.0", "sessionAttributes": {"turn": turn},
                                "response": {"outputSpeech": {"type": "SSML", "ssml":
                                             "<speak>You asked %s %s, turn %d.</speak>" %
                                             (intent, " ".join(desc), turn)},
                                             "card": {"type": "Simple", "title": "Breckland bins",
                                                      "content": "Card for " + intent},
                                             "shouldEndSession": False}})


def main():
    tmp = tempfile.mkdtemp(prefix="binday_ask_")
    Skill.tmp = tmp
    ca, cert, key = fake_amazon.make_certs(os.path.join(tmp, "certs"))
    sign_key, pub = os.path.join(tmp, "sign.key"), os.path.join(tmp, "sign.pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", sign_key],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "pkey", "-in", sign_key, "-pubout", "-out", pub], check=True)
    other_key = os.path.join(tmp, "other.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                    other_key], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    Skill.pubkey = pub

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Skill)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "https://localhost:%d/alexa" % srv.server_address[1]
    session = os.path.join(tmp, "session.json")
    cert_url = "https://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"

    def ask(text, *extra, key_file=sign_key, sess=True):
        argv = [BIN, "ask", "--url", url, "--key", key_file, "--cert-url", cert_url, "--insecure-ca", ca,
                "--today", "2026-11-28", "--skill-id", "amzn1.ask.skill.test"]
        if sess:
            argv += ["--session", session]
        argv += list(extra) + [text]
        p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    # 1. launch: a new session, verified signature, the answer printed without SSML
    rc, out, err = ask("Alexa, open Breckland bins")
    r = Skill.received[-1]
    ok(rc == 0, "launch exits 0 (%s)" % err.strip())
    ok(r["verified"], "signature verified by openssl over the exact body bytes")
    ok(r["headers"].get("SignatureCertChainUrl") == cert_url, "SignatureCertChainUrl header sent")
    ok(r["path"] == "/alexa", "POSTed to the given path")
    env = r["env"]
    ok(env["request"]["type"] == "LaunchRequest" and env["session"]["new"] is True, "LaunchRequest, new session")
    ok(env["context"]["System"]["application"]["applicationId"] == "amzn1.ask.skill.test" and
       env["session"]["application"]["applicationId"] == "amzn1.ask.skill.test", "skill id in both places")
    ok(env["context"]["System"]["apiAccessToken"] == "tok-granted" and
       env["context"]["System"]["apiEndpoint"] == "https://api.eu.amazonalexa.com", "default API token/endpoint")
    ok(env["request"]["locale"] == "en-GB" and env["request"]["timestamp"].endswith("Z"), "locale, UTC timestamp")
    ok("Alexa: Welcome to Breckland bins & more." in out, "speech printed with tags stripped and & decoded")
    ok("If you say nothing: What would you like to know?" in out, "reprompt printed")
    ok("session stays open" in out and os.path.exists(session), "session continues and is saved")
    sid = env["session"]["sessionId"]
    ok(json.load(open(session)) == {"sessionId": sid, "attributes": {"turn": 1}}, "session file: same id, attributes")

    # 2. second turn: same session, attributes carried, slot resolved to its id
    rc, out, err = ask("when is the black bin")
    env = Skill.received[-1]["env"]
    ok(rc == 0 and env["session"]["new"] is False and env["session"]["sessionId"] == sid, "same session, not new")
    ok(env["session"]["attributes"] == {"turn": 1}, "session attributes sent back")
    ok(env["request"]["intent"]["name"] == "BinTypeIntent", "BinTypeIntent")
    slot = env["request"]["intent"]["slots"]["BinType"]
    res = slot["resolutions"]["resolutionsPerAuthority"][0]
    ok(slot["value"] == "black" and res["status"]["code"] == "ER_SUCCESS_MATCH" and
       res["values"][0]["value"]["id"] == "recycling", "black -> recycling via entity resolution")
    ok("You asked BinTypeIntent BinType=recycling, turn 2." in out, "answer printed")
    ok("Card in the Alexa app (Simple): Breckland bins" in out and "Card for BinTypeIntent" in out, "card printed")
    ok("heard: BinTypeIntent BinType=black [recycling]" in err, "what was heard goes to stderr")

    # 3. dates
    rc, out, err = ask("which bin goes out on Tuesday")
    env = Skill.received[-1]["env"]
    ok(env["request"]["intent"]["slots"]["Date"]["value"] == "2026-12-01" and
       "resolutions" not in env["request"]["intent"]["slots"]["Date"], "on Tuesday -> AMAZON.DATE 2026-12-01")
    rc, out, err = ask("which bin goes out this week")
    ok(Skill.received[-1]["env"]["request"]["intent"]["slots"]["Date"]["value"] == "2026-W48", "this week -> 2026-W48")

    # 4. stop ends the session and removes the file
    rc, out, err = ask("stop")
    ok(rc == 0 and Skill.received[-1]["env"]["request"]["intent"]["name"] == "AMAZON.StopIntent", "stop intent")
    ok("Alexa: Goodbye." in out and "session has ended" in out and not os.path.exists(session),
       "session ended, file removed")

    # 5. next ask starts a new session; permission card printed
    rc, out, err = ask("email me the link")
    env = Skill.received[-1]["env"]
    ok(env["session"]["new"] is True and env["session"]["sessionId"] != sid, "a fresh session afterwards")
    ok("asks for permission: alexa::profile:email:read" in out, "permission card printed")

    # 6. exit -> SessionEndedRequest; empty response
    rc, out, err = ask("exit")
    env = Skill.received[-1]["env"]
    ok(rc == 0 and env["request"]["type"] == "SessionEndedRequest" and env["request"]["reason"] == "USER_INITIATED",
       "exit -> SessionEndedRequest USER_INITIATED")
    ok("(says nothing)" in out, "empty response printed as silence")

    # 7. options: user, device, token, endpoint; --json
    rc, out, err = ask("when is my next collection", "--user-id", "amzn1.ask.account.X", "--device-id", "dev-9",
                       "--api-token", "tok-403", "--api-endpoint", "https://api.amazonalexa.com", "--json", sess=False)
    sysx = Skill.received[-1]["env"]["context"]["System"]
    ok(sysx["user"]["userId"] == "amzn1.ask.account.X" and sysx["device"]["deviceId"] == "dev-9" and
       sysx["apiAccessToken"] == "tok-403" and sysx["apiEndpoint"] == "https://api.amazonalexa.com",
       "identity options used")
    ok(rc == 0 and json.loads(out)["response"]["shouldEndSession"] is False, "--json prints the raw response")

    # 8. a wrong key: the server rejects the signature -> exit 1 with the status
    before = len(Skill.received)
    rc, out, err = ask("help", key_file=other_key, sess=False)
    ok(len(Skill.received) == before + 1 and not Skill.received[-1]["verified"], "wrong key fails verification")
    ok(rc == 1 and "HTTP 400" in err, "exit 1 and the status reported")

    # 9. --print-request sends nothing
    before = len(Skill.received)
    rc, out, err = ask("when is the brown bin", "--print-request", sess=False)
    ok(rc == 0 and len(Skill.received) == before and
       json.loads(out)["request"]["intent"]["slots"]["BinType"]["resolutions"]["resolutionsPerAuthority"][0]
       ["values"][0]["value"]["id"] == "garden", "--print-request prints and sends nothing")

    # 10. failures
    srv.shutdown()
    srv.server_close()
    rc, out, err = ask("help", sess=False)
    ok(rc == 1 and "binday ask: POST" in err, "server down: exit 1")
    p = subprocess.run([BIN, "ask"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    ok(p.returncode == 2, "no utterance: usage error")
    p = subprocess.run([BIN, "ask", "--url", url, "help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    ok(p.returncode == 2 and b"--key" in p.stderr, "no key: usage error")
    p = subprocess.run([BIN, "ask", "--key", "/nonexistent", "--url", url, "help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=ROOT)
    ok(p.returncode == 2 and b"cannot open --key" in p.stderr, "missing key file: usage error")
    with open(session, "w") as f:
        f.write("not json")
    rc, out, err = ask("help")
    ok(rc == 3 and "not a session file" in err, "corrupt session file: input rejected")
    p = subprocess.run([BIN, "ask", "--help"], stdout=subprocess.PIPE, cwd=ROOT)
    ok(p.returncode == 0 and b"--insecure-ca" in p.stdout, "--help")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
