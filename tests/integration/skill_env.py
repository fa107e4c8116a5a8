"""A whole binday for conversation tests: demo data imported into a real
LMDB, the fake Amazon cloud (cert host + Alexa APIs) over real HTTPS, the real
binary reaching it through --connect-to, and a client that builds, signs and
sends Alexa request envelopes exactly as Alexa does.

    with SkillEnv(d, scenarios={...}) as env:
        r = env.intent("NextCollectionIntent", token="tok-house")
        r.speech, r.card, r.end, r.attrs, r.status
"""
import base64
import html
import csv
import datetime
import json
import os
import re
import subprocess
import uuid

import fake_amazon
from harness import Server, run_binday, server_cert

SKILL_ID = "amzn1.ask.skill.binday-e2e-test"
CERT_URL = "https://s3.amazonaws.com/echo.api/binday-dev.pem"
TODAY = "2026-12-01"  # a Tuesday; answers are computed for this date


class Reply:
    def __init__(self, status, body):
        self.status = status
        self.raw = body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = {}
        resp = self.json.get("response", {})
        self.ssml = (resp.get("outputSpeech") or {}).get("ssml", "")
        self.speech = html.unescape(re.sub(r"<[^>]+>", "", self.ssml))
        self.card = resp.get("card") or {}
        self.end = resp.get("shouldEndSession")
        self.reprompt = ((resp.get("reprompt") or {}).get("outputSpeech") or {}).get("ssml", "")
        self.attrs = self.json.get("sessionAttributes") or {}
        self.response = resp

    def __repr__(self):
        return "Reply(%s, %r)" % (self.status, self.raw[:600])


class SkillEnv:
    def __init__(self, d, scenarios=None, properties=3000, profile=None, extra=(), config=None):
        self.d = d
        self.pki = server_cert(d)
        self.ca, cert, key = fake_amazon.make_certs(os.path.join(d, "amz-certs"))
        self.signing_ca, self.signing_key, _ = fake_amazon.make_signing_chain(os.path.join(d, "signing"))
        self.fake = fake_amazon.FakeAmazon(cert, key, pem_dir=os.path.join(d, "signing"), scenarios=scenarios,
                                           profile=profile)
        self.data = os.path.join(d, "data")
        self.csv = os.path.join(d, "csv")
        r = run_binday("demo-data", "--out", self.csv, "--properties", properties, "--seed", 7, "--year", 2026)
        if r.returncode != 0:
            raise RuntimeError("demo-data failed: " + r.stderr)
        args = ["import", "--data", self.data]
        for t in ("addresses", "services", "rounds", "assignments", "exceptions", "notices", "materials"):
            args += ["--" + t, os.path.join(self.csv, t + ".csv")]
        r = run_binday(*args, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("import failed: " + r.stderr)
        self.extra = list(extra)
        self.config = config  # a serve config document (keys only a file can hold), or None
        self.server = None

    def start(self):
        self.fake.start()
        p = self.fake.port
        flags = ["--alexa-ca", self.signing_ca, "--upstream-ca", self.ca, "--today", TODAY]
        for h in ("s3.amazonaws.com", "api.amazonalexa.com", "api.eu.amazonalexa.com", "api.fe.amazonalexa.com",
                  "api.amazon.com"):
            flags += ["--connect-to", "%s:443:127.0.0.1:%d" % (h, p)]
        self.server = Server(self.d, self.pki, skill_ids=(SKILL_ID,), extra=flags + self.extra, data=self.data,
                             config=self.config)
        self.server.start()
        return self

    def stop(self):
        rc = self.server.stop() if self.server else None
        self.fake.stop()
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- data helpers ----
    def addresses(self):
        with open(os.path.join(self.csv, "addresses.csv"), newline="") as f:
            return list(csv.DictReader(f))

    def lookup(self, postcode, lines=(), days=60):
        args = ["lookup", "--data", self.data, "--postcode", postcode, "--from", TODAY, "--days", days, "--json"]
        for l in lines:
            args += ["--line", l]
        r = run_binday(*args)
        return json.loads(r.stdout) if r.returncode == 0 else None

    # ---- requests ----
    def envelope(self, request, token="tok-granted", user="amzn1.ask.account.E2EUSER", attrs=None, new=True,
                 with_session=True, device="amzn1.ask.device.E2EDEVICE", interfaces=None):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        req = dict(request)
        req.setdefault("requestId", "amzn1.echo-api.request." + str(uuid.uuid4()))
        req.setdefault("timestamp", now)
        req.setdefault("locale", "en-GB")
        system = {"application": {"applicationId": SKILL_ID}, "user": {"userId": user},
                  "apiEndpoint": "https://api.eu.amazonalexa.com", "apiAccessToken": token}
        doc = {"version": "1.0", "context": {"System": system}, "request": req}
        if with_session:
            system["device"] = {"deviceId": device, "supportedInterfaces": interfaces or {}}
            doc["session"] = {"new": new, "sessionId": "amzn1.echo-api.session.e2e",
                              "application": {"applicationId": SKILL_ID}, "user": {"userId": user},
                              "attributes": attrs or {}}
        return json.dumps(doc).encode()

    def sign(self, body):
        p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.signing_key], input=body,
                           stdout=subprocess.PIPE, check=True)
        return base64.b64encode(p.stdout).decode()

    def post(self, body, sign=True, conn=None):
        headers = {"Content-Type": "application/json", "SignatureCertChainUrl": CERT_URL}
        if sign:
            headers["Signature-256"] = self.sign(body)
        st, _, b = self.server.request("POST", "/alexa", body=body, headers=headers, conn=conn)
        return Reply(st, b.decode("utf-8", "replace"))

    def launch(self, **kw):
        return self.post(self.envelope({"type": "LaunchRequest"}, **kw))

    def intent(self, name, slots=None, **kw):
        sl = {}
        for k, v in (slots or {}).items():
            if isinstance(v, tuple):  # (spoken, resolved id)
                sl[k] = {"name": k, "value": v[0], "resolutions": {"resolutionsPerAuthority": [{
                    "authority": "amzn1.er-authority.echo-sdk.%s.%s" % (SKILL_ID, k),
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [{"value": {"name": v[0], "id": v[1]}}]}]}}
            else:
                sl[k] = {"name": k, "value": v}
        req = {"type": "IntentRequest", "dialogState": "COMPLETED",
               "intent": {"name": name, "confirmationStatus": "NONE", "slots": sl}}
        return self.post(self.envelope(req, **kw))

    def event(self, etype, body=None, user="amzn1.ask.account.E2EUSER"):
        req = {"type": etype}
        if body is not None:
            req["body"] = body
        return self.post(self.envelope(req, user=user, with_session=False))
