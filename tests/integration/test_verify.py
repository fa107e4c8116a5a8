#!/usr/bin/python3
"""End-to-end Alexa request verification through the real `binday serve`:
POST /alexa with signed bodies, the signing chain served by a local fake S3
(tests/integration/fake_s3.py) reached with --connect-to under the production
URL rules, trust anchors from the test PKI (--alexa-ca, --upstream-ca).
Every failure must be HTTP 400 with a JSON {"error": ...} and a log line
naming the reason; the log must never contain the body or the signature.
"""
import datetime
import json
import os
import sys
import time
import uuid

import alexa_pki
import fake_s3
from harness import Server, jbody, server_cert, tempdir
from tap import Tap

SKILL = "amzn1.ask.skill.0f1e2d3c-binday-verify-test"
CERT_PATH = "/echo.api/chain_good.pem"
CERT_URL = "https://s3.amazonaws.com" + CERT_PATH


def stamp(age_s=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def envelope(rtype="LaunchRequest", age_s=0.0, skill=SKILL, marker=None):
    req = {"type": rtype, "requestId": "amzn1.echo-api.request." + str(uuid.uuid4()),
           "timestamp": stamp(age_s), "locale": "en-GB"}
    doc = {"version": "1.0",
           "context": {"System": {"application": {"applicationId": skill},
                                  "user": {"userId": marker or "amzn1.ask.account.TESTUSER"},
                                  "apiEndpoint": "https://api.eu.amazonalexa.com"}},
           "request": req}
    if not rtype.startswith("AlexaSkillEvent."):
        doc["session"] = {"new": True, "sessionId": "amzn1.echo-api.session.1",
                          "application": {"applicationId": skill}, "attributes": {},
                          "user": {"userId": marker or "amzn1.ask.account.TESTUSER"}}
        doc["context"]["System"]["device"] = {"deviceId": "amzn1.ask.device.X", "supportedInterfaces": {}}
    if rtype == "IntentRequest":
        req["intent"] = {"name": "AMAZON.HelpIntent", "confirmationStatus": "NONE"}
    return json.dumps(doc, separators=(",", ":")).encode()


def main():
    t = Tap()
    with tempdir() as d:
        pki = server_cert(d)
        apki = alexa_pki.make_pki(os.path.join(d, "alexa"))
        key = os.path.join(apki, "good.key")
        s3, s3_port = fake_s3.start(apki)
        try:
            extra = ["--alexa-ca", os.path.join(apki, "root.pem"),
                     "--upstream-ca", os.path.join(apki, "tls_root.pem"),
                     "--connect-to", "s3.amazonaws.com:443:127.0.0.1:%d" % s3_port]
            with Server(d, pki, skill_ids=(SKILL,), extra=extra) as srv:
                run_cases(t, srv, key, apki)
                hits = s3_hits(apki, s3_port)
                t.ok(1 <= hits.get(CERT_PATH, 0) <= 2,
                     "good chain downloaded at most once per server thread (%d)" % hits.get(CERT_PATH, 0))
                t.eq(hits.get("/echo.api/../echo.api/chain_good.pem", 0), 0, "the un-normalized URL was never fetched")
                t.eq(hits.get("/echo.api/../chain_good.pem", 0) + hits.get("/chain_good.pem", 0), 0,
                     "nothing outside /echo.api/ was fetched")
                # a slow cert host: the 3 s download timeout answers before the 7 s handler timeout
                t0 = time.time()
                st, _, body = post(srv, envelope(), url="https://s3.amazonaws.com/echo.api/slow.pem", key=key)
                dt = time.time() - t0
                t.ok(st == 400 and 2.5 <= dt < 6, "slow cert host: 400 after the 3 s timeout (%.1f s)" % dt)
                t.contains(srv.log(), "download_error=timeout", "slow cert host: log says timeout")
                # the cert host down
                s3.kill()
                s3.wait()
                st, _, _ = post(srv, envelope(), url="https://s3.amazonaws.com/echo.api/chain_other.pem", key=key)
                t.ok(st == 400, "cert host down: 400")
                t.contains(srv.log(), "download_error=connect", "cert host down: log says connect")
                st, _, _ = post(srv, envelope("IntentRequest"), key=key)
                t.ok(st == 200, "cached chain still verifies with the cert host down")
        finally:
            s3.kill()
            s3.wait()
    t.done()


def s3_hits(apki, port):
    """{path: hits} from the fake S3 (TLS verified against tls_root; its name is s3.amazonaws.com)."""
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=os.path.join(apki, "tls_root.pem"))
    ctx.check_hostname = False
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        c.request("GET", "/__stats")
        return json.loads(c.getresponse().read())
    finally:
        c.close()


def post_raw(srv, body, headers):
    """POST /alexa with headers as a list of (name, value) pairs (repeats allowed)."""
    c = srv.connection()
    try:
        c.putrequest("POST", "/alexa")
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(len(body)))
        for k, v in headers:
            c.putheader(k, v)
        c.endheaders(body)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def post(srv, body, url=CERT_URL, sig=None, key=None, extra_headers=None, names=("SignatureCertChainUrl",
                                                                                 "Signature-256")):
    h = {"Content-Type": "application/json; charset=utf-8"}
    if url is not None:
        h[names[0]] = url
    if sig is None and key is not None:
        sig = alexa_pki.sign(body, key)
    if sig is not None:
        h[names[1]] = sig
    h.update(extra_headers or {})
    return srv.request("POST", "/alexa", body=body, headers=h)


def run_cases(t, srv, key, apki):
    secrets = []  # strings that must never reach the log

    def reject(name, reason, status_body):
        st, _, body = status_body
        j = jbody(body)
        t.ok(st == 400 and isinstance(j, dict) and isinstance(j.get("error"), str),
             "%s: 400 with a JSON error" % name, "status %s body %r" % (st, body[:200]))
        t.contains(srv.log(), "reason=" + reason, "%s: log names %s" % (name, reason))

    # the good path first (downloads the chain), then cached
    b = envelope("LaunchRequest", marker="amzn1.ask.account.SECRETMARKER1")
    sig = alexa_pki.sign(b, key)
    secrets += [sig, "SECRETMARKER1"]
    st, _, body = post(srv, b, sig=sig)
    t.ok(st == 200, "signed LaunchRequest accepted", "status %s body %r\n%s" % (st, body[:300], srv.log()[-2000:]))
    st, _, _ = post(srv, envelope("IntentRequest"), key=key)
    t.ok(st == 200, "second signed request accepted (cached chain)")
    st, _, _ = post(srv, envelope("IntentRequest"), key=key,
                    names=("signaturecertchainurl", "signature-256"))
    t.ok(st == 200, "lower-case header names accepted")
    st, _, _ = post(srv, envelope("LaunchRequest", age_s=140), key=key)
    t.ok(st == 200, "140 s old request accepted")
    st, _, _ = post(srv, envelope("AlexaSkillEvent.SkillEnabled", age_s=59 * 60), key=key)
    t.ok(st == 200, "skill event 59 min old accepted", "status %s" % st)
    st, _, _ = post(srv, envelope("LaunchRequest"), url="https://s3.amazonaws.com:443/echo.api/../echo.api/chain_good.pem",
                    key=key)
    t.ok(st == 200, "Amazon's dot-segment URL form accepted")

    # failures, cheapest first
    reject("no headers", "VERIFY_E_NO_CERT_URL", post(srv, envelope(), url=None))
    reject("no Signature-256", "VERIFY_E_NO_SIGNATURE", post(srv, envelope(), sig=None))
    b = envelope()
    legacy = alexa_pki.sign(b, key)
    reject("legacy Signature header only", "VERIFY_E_NO_SIGNATURE",
           post(srv, b, sig=None, extra_headers={"Signature": legacy}))
    b = envelope()
    reject("Signature-256 sent twice", "VERIFY_E_DUPLICATE_HEADER", post_raw(srv, b, [
        ("SignatureCertChainUrl", CERT_URL), ("Signature-256", alexa_pki.sign(b, key)), ("Signature-256", "AAAA")]))
    reject("SignatureCertChainUrl sent twice", "VERIFY_E_DUPLICATE_HEADER", post_raw(srv, b, [
        ("SignatureCertChainUrl", "https://s3.amazonaws.com/echo.api/evil.pem"), ("SignatureCertChainUrl", CERT_URL),
        ("Signature-256", alexa_pki.sign(b, key))]))
    reject("empty Signature-256", "VERIFY_E_NO_SIGNATURE", post(srv, envelope(), sig=""))
    reject("http cert URL", "VERIFY_E_BAD_URL",
           post(srv, envelope(), url="http://s3.amazonaws.com/echo.api/chain_good.pem", key=key))
    reject("cert URL escaping /echo.api/", "VERIFY_E_BAD_URL",
           post(srv, envelope(), url="https://s3.amazonaws.com/echo.api/../chain_good.pem", key=key))
    reject("cert URL with %2e", "VERIFY_E_BAD_URL",
           post(srv, envelope(), url="https://s3.amazonaws.com/echo.api/%2e%2e/echo.api/chain_good.pem", key=key))
    reject("cert URL with host suffix", "VERIFY_E_BAD_URL",
           post(srv, envelope(), url="https://s3.amazonaws.com.evil.com/echo.api/chain_good.pem", key=key))
    reject("non-base64 signature", "VERIFY_E_BAD_SIGNATURE_ENCODING", post(srv, envelope(), sig="!!!notbase64!!!"))
    reject("short signature", "VERIFY_E_BAD_SIGNATURE_LENGTH", post(srv, envelope(), sig="AAAA"))
    reject("wrong skill id", "VERIFY_E_WRONG_SKILL",
           post(srv, envelope(skill="amzn1.ask.skill.someone-else"), key=key))
    reject("151 s old", "VERIFY_E_TIMESTAMP_SKEW", post(srv, envelope(age_s=151), key=key))
    reject("151 s in the future", "VERIFY_E_TIMESTAMP_SKEW", post(srv, envelope(age_s=-151), key=key))
    reject("skill event 61 min old", "VERIFY_E_TIMESTAMP_SKEW",
           post(srv, envelope("AlexaSkillEvent.SkillDisabled", age_s=61 * 60), key=key))
    reject("body not JSON", "VERIFY_E_BAD_ENVELOPE", post(srv, b"hello", key=key))

    b = envelope(marker="amzn1.ask.account.SECRETMARKER2")
    sig = alexa_pki.sign(b, key)
    secrets += [sig, "SECRETMARKER2"]
    tampered = b.replace(b"en-GB", b"en-US")
    reject("body changed after signing", "VERIFY_E_SIGNATURE_MISMATCH", post(srv, tampered, sig=sig))
    reject("body with a byte appended", "VERIFY_E_SIGNATURE_MISMATCH", post(srv, b + b" ", sig=sig))
    reject("signed by another key", "VERIFY_E_SIGNATURE_MISMATCH",
           post(srv, envelope(), key=os.path.join(apki, "other.key")))

    # chains served by the fake S3
    for name, reason in (("missing.pem", "VERIFY_E_CERT_DOWNLOAD"), ("junk.pem", "VERIFY_E_CERT_PARSE"),
                         ("big.pem", "VERIFY_E_CERT_DOWNLOAD"), ("redirect.pem", "VERIFY_E_CERT_DOWNLOAD"),
                         ("chain_wrong_san.pem", "VERIFY_E_CERT_SAN"), ("chain_cn_only.pem", "VERIFY_E_CERT_SAN"),
                         ("chain_expired.pem", "VERIFY_E_CERT_EXPIRED"),
                         ("chain_not_yet_valid.pem", "VERIFY_E_CERT_EXPIRED"),
                         ("chain_self_signed.pem", "VERIFY_E_CERT_CHAIN"),
                         ("chain_untrusted_root.pem", "VERIFY_E_CERT_CHAIN"),
                         ("chain_missing_inter.pem", "VERIFY_E_CERT_CHAIN")):
        reject("cert host: " + name, reason,
               post(srv, envelope(), url="https://s3.amazonaws.com/echo.api/" + name, key=key))

    log = srv.log()
    for s in secrets:
        t.not_contains(log, s, "log never contains the body or signature (%s...)" % s[:12])


if __name__ == "__main__":
    sys.exit(main())
