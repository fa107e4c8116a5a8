"""Emailed calendar links end to end: the skill offers and sends, the real
server queues in LMDB, and its mailer thread delivers over STARTTLS with AUTH
to a real SMTP server (Debian's aiosmtpd) reached through --connect-to and
trusted through --upstream-ca. Covers content, retry after the SMTP server
comes up, 550 = failed and not retried, SIGKILL with a queued message,
header-injection attempts, the per-user cap, and the Customer Profile API's
403/204 answers."""
import email
import email.policy
import json
import os
import re
import signal
import time

import fake_amazon
from harness import jbody, run_binday, tempdir
from privacy_probe import probe_case, probe_mail, pseudonym
from skill_env import SkillEnv
from smtp_server import SmtpServer, free_port
from tap import Tap

PUBLIC = "https://bins.example.gov.uk"
FROM = "bins@breckland.example"
SMTP_HOST = "smtp.example.test"


def addr(line1, postcode, city=None):
    return {"addressLine1": line1, "addressLine2": None, "addressLine3": None, "city": city,
            "districtOrCounty": "Norfolk", "stateOrRegion": None, "countryCode": "GB", "postalCode": postcode}


def wait_for(fn, timeout=20.0, step=0.05):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def mail_log(env):
    r = run_binday("mail-log", "--data", env.data)
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    queued = next((l["queued"] for l in lines if set(l) == {"queued"}), None)
    return [l for l in lines if "id" in l], queued, r.stdout


def user_case_records(env, user):
    """The user's case records, opened (`binday user export`): the stored
    ones name only a keyed tag and hold the links sealed (docs/privacy.md)."""
    r = run_binday("user", "export", "--data", env.data, "--user-id", user)
    if r.returncode != 0:
        return []
    return json.loads(r.stdout).get("email", {}).get("case_records", [])


def yes(env, token, user):
    return env.intent("AMAZON.YesIntent", token=token, user=user,
                      attrs={"pending": "email_offer", "email_offered": True}, new=False)


def main():
    t = Tap()
    with tempdir() as d:
        env = None
        smtp = None
        try:
            env = SkillEnv(d, scenarios={}, properties=400)
            rows = env.addresses()
            house = next(r for r in rows if r["paon"].isdigit() and not r["saon"] and not r["parent_uprn"])
            by_parent = {}
            for row in rows:
                if row["parent_uprn"]:
                    by_parent.setdefault(row["parent_uprn"], []).append(row)
            flat = next(v for v in by_parent.values() if len(v) >= 2)[0]
            haddr = addr("%s %s" % (house["paon"], house["street"].title()), house["postcode"], house["town"].title())
            err403 = {"status": 403, "body": {"code": "ACCESS_NOT_REQUESTED", "message": "no email permission"}}
            env.fake.scenarios.update({
                "house": {"address": haddr},
                "hnoemail": {"address": haddr, "apis": {"email": err403}},
                "h204": {"address": haddr, "apis": {"email": {"status": 204}}},
                "hinject": {"address": haddr, "email": "jane@example.com\r\nBcc: evil@attacker.example"},
                "hinject2": {"address": haddr, "email": "jane@example.com>\nBcc: evil@attacker.example"},
                "hweird": {"address": haddr, "email": "jane smith <jane@example.com>"},
                # the street alone: several properties fit, so the skill asks which one first
                "flats": {"address": addr(flat["street"].title(), flat["postcode"], flat["town"].title())},
            })
            # the SMTP server: its own CA, trusted alongside the fake Amazon CA
            smtp_ca, smtp_cert, smtp_key = fake_amazon.make_certs(os.path.join(d, "smtp-certs"), hosts=[SMTP_HOST])
            bundle = os.path.join(d, "upstream-bundle.pem")
            with open(bundle, "w") as out:
                for p in (env.ca, smtp_ca):
                    with open(p) as f:
                        out.write(f.read())
            env.ca = bundle
            pwfile = os.path.join(d, "smtp-password")
            with open(pwfile, "w") as f:
                f.write("s3cret-pw\n")
            os.chmod(pwfile, 0o600)
            port = free_port()
            smtp = SmtpServer(smtp_cert, smtp_key, user="binday", password="s3cret-pw", port=port)
            env.extra += ["--smtp", "smtp://%s:%d" % (SMTP_HOST, port),
                          "--connect-to", "%s:%d:127.0.0.1:%d" % (SMTP_HOST, port, port),
                          "--smtp-user", "binday", "--smtp-password-file", pwfile, "--mail-from", FROM,
                          "--public-url", PUBLIC, "--mail-retry-base-ms", "300", "--mail-max-attempts", "6"]
            smtp.start()
            env.start()
            run_all(t, env, smtp, house)
            run_forensic(t, env, smtp)
            run_forensic_paths(t, env, smtp)
            run_tls_modes(t, env, smtp, smtp_cert, smtp_key, port)
        finally:
            if env is not None and env.server is not None:
                rc = env.stop()
                t.eq(rc, 0, "server exits 0")
                log = env.server.log()
                t.not_contains(log, "jane@example.com", "no email address in the log")
                t.not_contains(log, "s3cret-pw", "no SMTP password in the log")
                t.not_contains(log, "E2EUSER", "no raw Alexa user id in the log")
            if smtp is not None:
                smtp.stop()
    t.done()


def run_all(t, env, smtp, house):
    user = "amzn1.ask.account.E2EUSER1"
    # --- the offer after an answer
    r = env.intent("NextCollectionIntent", token="tok-house", user=user)
    t.contains(r.speech, "Shall I email you the link to your collection calendar?", "offer after an answer")
    t.eq(r.end, False, "offer keeps the session open")
    t.eq(r.attrs.get("pending"), "email_offer", "session attribute pending=email_offer")
    r = env.intent("AMAZON.NoIntent", token="tok-house", user=user, attrs=r.attrs, new=False)
    t.ok("won't send" in r.speech and r.end is True, "no: declined politely, session ends", r.speech)
    r = env.intent("NextCollectionIntent", token="tok-house", user=user, attrs={"email_offered": True}, new=False)
    t.ok("email you" not in r.speech, "offered once per session", r.speech)

    # --- yes: delivered, with the right content
    r = yes(env, "tok-house", user)
    t.contains(r.speech, "Done \u2014 check your inbox", "yes: confirmed")
    t.eq(r.end, True, "yes: session ends")
    msgs = wait_for(lambda: smtp.received(), 20)
    t.eq(len(msgs), 1, "one message delivered")
    if not msgs:
        return
    m = msgs[0]
    t.eq(m["rcpt_tos"], ["jane@example.com"], "to the Amazon account's email, read fresh")
    t.eq(m["mail_from"], FROM, "envelope sender is --mail-from")
    t.ok(m["tls"] and m["auth"], "sent over STARTTLS after AUTH")
    msg = email.message_from_bytes(m["data"], policy=email.policy.default)
    t.eq(msg.get_content_type(), "multipart/alternative", "multipart/alternative")
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    t.eq(sorted(parts), ["text/html", "text/plain"], "text and HTML parts")
    text, html = parts.get("text/plain", ""), parts.get("text/html", "")
    t.ok(re.fullmatch(r"<[0-9a-f]{32}@bins\.example\.gov\.uk>", msg["Message-ID"] or ""), "Message-ID",
         msg["Message-ID"])
    t.ok(msg["Date"] and msg["Subject"] == "Your bin collection calendar", "Date and Subject headers")
    t.contains(text, house["street"].upper(), "text names the matched address")
    links = re.findall(r"(?:https|webcal)://\S+", text)
    feed = next((l for l in links if l.startswith(PUBLIC + "/calendar/")), "")
    t.ok(re.fullmatch(re.escape(PUBLIC) + r"/calendar/[0-9a-f]{32}\.ics", feed), "https feed link", links)
    t.ok(any(l.startswith("webcal://bins.example.gov.uk/calendar/") for l in links), "webcal link")
    t.ok(any(l.startswith("https://calendar.google.com/calendar/render?cid=webcal") for l in links), "Google link")
    t.ok(any(l.startswith("https://outlook.office.com/calendar/addfromweb?url=https") for l in links), "Outlook link")
    t.ok("https://www.breckland.gov.uk/" in text and "https://www.breckland.gov.uk/" in html,
         "the council's page per service")
    t.ok(re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d+ \w+ 20\d\d: \w+", text),
         "the next collections are listed", text[:800])
    t.ok("href=\"" + feed.replace("&", "&amp;") + "\"" in html, "HTML links the feed")
    for private in ("Jane", "E2EUSER", "E2EDEVICE", "tok-house"):
        t.not_contains(m["data"].decode("utf-8", "replace") + text + html, private,
                       "nothing else personal: no %s" % private)
    if feed:
        st, _, body = env.server.request("GET", feed[len(PUBLIC):])
        t.ok(st == 200 and body.startswith(b"BEGIN:VCALENDAR"), "the emailed feed link works")
    recs, queued, out = mail_log(env)
    t.eq(queued, 0, "outbox empty after delivery")
    rec = recs[0] if recs else {}
    t.eq((rec.get("status"), rec.get("attempts")), ("sent", 1), "case record: sent after one attempt")
    t.ok(re.fullmatch(r"[0-9a-f]{32}", rec.get("utag", "")) and "links" not in rec and "user" not in rec,
         "case record as stored: a keyed tag, links and pseudonym sealed", rec)
    mine = user_case_records(env, user)
    t.ok(len(mine) == 1 and mine[0].get("links", {}).get("https") == feed and
         mine[0].get("user") == pseudonym(env.data, user) and mine[0].get("queued_at", "").endswith("Z"),
         "case record opened by user export: pseudonymous user, the links, ISO times", mine)
    t.not_contains(out, "jane@example.com", "case records keep no email address")
    smtp.messages.clear()

    # --- 403 / 204 from the Customer Profile API
    r = env.intent("EmailLinkIntent", token="tok-hnoemail", user=user)
    perms = (r.card or {}).get("permissions")
    t.eq(((r.card or {}).get("type"), perms), ("AskForPermissionsConsent", ["alexa::profile:email:read"]),
         "403: consent card for the email permission only")
    r = env.intent("EmailLinkIntent", token="tok-h204", user=user)
    t.contains(r.speech, "no email address on your Amazon account", "204: no email address")
    time.sleep(0.5)
    t.eq(len(smtp.received()), 0, "nothing sent for 403/204")

    # --- header injection
    for tok in ("tok-hinject", "tok-hinject2", "tok-hweird"):
        r = env.intent("EmailLinkIntent", token=tok, user="amzn1.ask.account.INJ")
        t.ok("Done" not in r.speech, "%s: not sent" % tok, r.speech)
    time.sleep(0.5)
    got = smtp.received()
    t.eq(len(got), 0, "injection attempts: no message at all")
    t.ok(all(b"attacker" not in g["data"] for g in got), "no injected header anywhere")

    # --- an ambiguous address: "which one?" first, then the link for the chosen property
    r = env.intent("EmailLinkIntent", token="tok-flats", user="amzn1.ask.account.FLATS")
    t.ok((r.attrs.get("pending"), r.attrs.get("question")) == ("choose_property", "email"),
         "ambiguous: asks which property, remembering the email question", r.attrs)
    cands = r.attrs.get("candidates") or [{}]
    r = env.intent("ChooseAddressIntent", slots={"Property": cands[0].get("label", "")}, token="tok-flats",
                   user="amzn1.ask.account.FLATS", attrs=r.attrs, new=False)
    t.contains(r.speech, "Done", "ambiguous: sent after the choice")
    got = wait_for(lambda: smtp.received(), 20)
    recs, _, _ = mail_log(env)
    t.ok(len(got) == 1 and any(r.get("status") == "sent" for r in recs), "ambiguous: delivered")
    smtp.messages.clear()

    # --- the SMTP server down, then up: delivered exactly once
    smtp.stop()
    r = env.intent("EmailLinkIntent", token="tok-house", user="amzn1.ask.account.E2EUSER2")
    t.contains(r.speech, "Done", "queued while the SMTP server is down")
    t.ok(wait_for(lambda: "mail.retry" in env.server.log(), 10), "temporary failure: retry scheduled")
    st, _, rz = env.server.request("GET", "/readyz")
    rz = jbody(rz) or {}
    m = rz.get("checks", {}).get("mailer", {})
    t.ok(st == 200 and m.get("status") == "warning" and m.get("last_attempt") == "failed" and
         "mailer" in rz.get("warnings", []) and "jane" not in json.dumps(rz),
         "readyz: the mailer's last attempt failed: a warning, still ready", rz)
    t.eq(rz.get("checks", {}).get("store", {}).get("dataset_loaded"), True, "readyz: the dataset is loaded")
    _, queued, _ = mail_log(env)
    t.eq(queued, 1, "still queued")
    with open(os.path.join(env.data, "data.mdb"), "rb") as f:
        raw = f.read()
    t.ok(b"jane@example.com" not in raw and b"example.com" not in raw,
         "the queued address is sealed: not in the data file, not even in free pages")
    smtp.start()
    got = wait_for(lambda: smtp.received(), 20)
    time.sleep(2.0)
    t.eq(len(smtp.received()), 1, "delivered exactly once after the server came up")
    st, _, rz = env.server.request("GET", "/readyz")
    m = (jbody(rz) or {}).get("checks", {}).get("mailer", {})
    t.ok(st == 200 and m.get("status") == "ok" and m.get("last_attempt") == "sent" and m.get("smtp_code") == 250,
         "readyz: after a delivery the mailer is ok again", m)
    recs, queued, _ = mail_log(env)
    t.eq(queued, 0, "outbox empty")
    t.ok(any(r.get("status") == "sent" and r.get("attempts", 0) >= 2 for r in recs), "case record: sent after retries")
    smtp.messages.clear()

    # --- issue 7: grant -> queued; email permission revoked by event before delivery
    #     -> nothing delivered, the queued address gone
    smtp.stop()
    ruser = "amzn1.ask.account.REVOKER"
    r = env.intent("EmailLinkIntent", token="tok-house", user=ruser)
    t.contains(r.speech, "Done", "revocation: queued while the SMTP server is down")
    _, queued, _ = mail_log(env)
    t.eq(queued, 1, "revocation: one message queued")
    ev = env.post(env.envelope({"type": "AlexaSkillEvent.SkillPermissionChanged", "body": {
        "acceptedPermissions": [{"scope": "alexa::devices:all:address:full:read"}]}}, user=ruser, with_session=False))
    t.eq((ev.status, ev.json), (200, {"version": "1.0", "response": {}}), "revocation event acknowledged")
    _, queued, _ = mail_log(env)
    t.eq(queued, 0, "revocation: the queued message is cancelled at once")
    smtp.start()
    time.sleep(3.0)
    t.eq(len(smtp.received()), 0, "revocation: nothing delivered after the SMTP server came up")
    r = run_binday("user", "export", "--data", env.data, "--user-id", ruser)
    t.ok(r.returncode == 0 and "jane@example.com" not in r.stdout, "revocation: export holds no address",
         r.stdout[:800])
    leaks = []
    for name in os.listdir(env.data):
        path = os.path.join(env.data, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if b"jane@example.com" in f.read():
                    leaks.append(name)
    t.eq(leaks, [], "revocation: the address is in no file of the data directory")
    smtp.messages.clear()

    # --- 550: failed, recorded, never retried
    smtp.mode = "550"
    r = env.intent("EmailLinkIntent", token="tok-house", user="amzn1.ask.account.E2EUSER3")
    t.contains(r.speech, "Done", "queued (the refusal comes later)")
    t.ok(wait_for(lambda: "mail.failed" in env.server.log(), 15), "permanent failure logged")
    time.sleep(2.0)
    recs, queued, _ = mail_log(env)
    failed = [r for r in recs if r.get("status") == "failed"]
    t.eq(queued, 0, "550: nothing left queued")
    t.ok(len(failed) == 1 and failed[0].get("smtp_code") == 550 and failed[0].get("attempts") == 1,
         "550: recorded as failed after one attempt", failed)
    t.eq(env.server.log().count("mail.failed"), 1, "550: not retried")
    smtp.mode = "ok"

    # --- killed with a message queued: delivered after restart
    smtp.stop()
    r = env.intent("EmailLinkIntent", token="tok-house", user="amzn1.ask.account.E2EUSER4")
    t.contains(r.speech, "Done", "queued before the crash")
    wait_for(lambda: "mail.retry" in env.server.log(), 10)
    env.server.proc.send_signal(signal.SIGKILL)
    env.server.proc.wait()
    smtp.start()
    env.server.start()
    got = wait_for(lambda: smtp.received(), 20)
    time.sleep(1.5)
    t.eq(len(smtp.received()), 1, "after SIGKILL and restart: delivered once")
    smtp.messages.clear()

    # --- the per-user daily cap (3)
    capuser = "amzn1.ask.account.CAPUSER"
    answers = [env.intent("EmailLinkIntent", token="tok-house", user=capuser).speech for _ in range(4)]
    t.ok(all("Done" in a for a in answers[:3]), "cap: three links a day", answers[:3])
    t.contains(answers[3], "already sent you the link", "cap: the fourth is refused")
    wait_for(lambda: len(smtp.received()) >= 3, 20)
    time.sleep(1.0)
    t.eq(len(smtp.received()), 3, "cap: three messages sent")
    r = env.intent("EmailLinkIntent", token="tok-house", user="amzn1.ask.account.OTHER")
    t.contains(r.speech, "Done", "cap is per user: another user still gets one")
    t.ok(wait_for(lambda: len(smtp.received()) == 4, 20), "and it is delivered")

    # --- privacy: the case records are part of the user's export, and forget removes them
    r = run_binday("user", "export", "--data", env.data, "--user-id", capuser)
    ex = json.loads(r.stdout) if r.returncode == 0 else {}
    em = json.dumps(ex.get("email", ex))
    t.ok(r.returncode == 0 and em.count('"status": "sent"') == 3, "user export lists the three case records",
         r.stdout[:1500] + r.stderr[:500])
    t.not_contains(em, "jane@example.com", "exported case records hold no address once sent")
    r = run_binday("user", "forget", "--data", env.data, "--user-id", capuser)
    t.eq(r.returncode, 0, "user forget exits 0")
    r = run_binday("user", "export", "--data", env.data, "--user-id", capuser)
    t.ok(r.returncode == 0 and '"sent"' not in r.stdout, "after forget: no case records", r.stdout[:800])


def raw_has(data_dir, needle):
    found = []
    for name in os.listdir(data_dir):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if needle in f.read():
                    found.append(name)
    return found


def run_forensic(t, env, smtp):
    """Issue 15: after `binday user forget` (run as a process) and after a
    delivery, a copy of the data directory gives up no address: not in the raw
    bytes, and no sealed outbox value (free pages included) opens with any
    message key under any KEK file present (privacy_probe.probe_mail)."""
    smtp.stop()
    smtp.messages.clear()
    fuser = "amzn1.ask.account.FORGETME"
    r = env.intent("EmailLinkIntent", token="tok-house", user=fuser)
    t.contains(r.speech, "Done", "forensic: queued while the SMTP server is down")
    # stopped, so the mailer's retries cannot end the message before forget does
    env.server.stop()
    pu = pseudonym(env.data, fuser)
    recs, queued, _ = mail_log(env)
    ids = [x["id"] for x in user_case_records(env, fuser)]
    t.eq((len(ids), queued), (1, 1), "forensic: one message queued for the user")
    opened = user_case_records(env, fuser)
    token = re.search(r"/calendar/([0-9a-f]{32})\.ics", (opened[0].get("links") or {}).get("https", "") if opened else "")
    token = token.group(1).encode() if token else b"no-token-found"
    t.ok(token != b"no-token-found", "forensic: the case record's links carry the calendar token", opened)
    before = probe_mail(env.data, ids)
    t.ok(any("jane@example.com" in o for o in before["opened"]),
         "forensic: before forget the probe opens the queued message with the directory's keys (it has teeth)",
         {k: before[k] for k in ("sealed", "keys")})
    r = run_binday("user", "forget", "--data", env.data, "--user-id", fuser)
    t.ok(r.returncode == 0, "forensic: user forget exits 0", r.stderr)
    after = probe_mail(env.data, ids)
    t.ok(after["sealed"] >= 1, "forensic: the sealed copy is still in the file's free pages", after["sealed"])
    t.eq(after["opened"], [], "after user forget: no sealed outbox value opens with any key in the directory")
    t.eq(raw_has(env.data, b"jane@example.com"), [], "after user forget: the address is in no file")
    t.eq(raw_has(env.data, pu.encode()), [], "after user forget: the pseudonym is in no file (free pages included)")
    t.eq(raw_has(env.data, token), [], "after user forget: the calendar token is in no file (free pages included)")
    t.eq(user_case_records(env, fuser), [], "after user forget: export shows no case record")
    t.eq(probe_case(env.data, pu)["opened"], [], "after user forget: no case record opens with any key present")

    # a delivered message: its address unreadable once the SMTP server accepted it
    smtp.start()
    env.server.start()
    duser = "amzn1.ask.account.DELIVERED"
    du = pseudonym(env.data, duser)
    r = env.intent("EmailLinkIntent", token="tok-house", user=duser)
    t.contains(r.speech, "Done", "delivered: queued")
    sent = wait_for(lambda: [x for x in user_case_records(env, duser) if x.get("status") == "sent"], 20)
    t.eq(len(sent), 1, "delivered: case record says sent")
    t.eq(len(smtp.received()), 1, "delivered: the SMTP server has it")
    after = probe_mail(env.data, [x["id"] for x in sent])
    t.ok(after["sealed"] >= 1, "delivered: the sealed copy is still in the file's free pages", after["sealed"])
    t.eq(after["opened"], [], "delivered: no sealed outbox value opens with any key in the directory")
    t.eq(raw_has(env.data, b"jane@example.com"), [], "delivered: the address is in no file")
    t.eq(raw_has(env.data, du.encode()), [], "delivered: the pseudonym is in no file in clear")
    smtp.messages.clear()


def queue_down(t, env, smtp, user, label):
    """A message queued while the SMTP server is down: its ids, the calendar
    token of its links, and the probes' view before anything is erased."""
    smtp.stop()
    r = env.intent("EmailLinkIntent", token="tok-house", user=user)
    t.contains(r.speech, "Done", label + ": queued while the SMTP server is down")
    recs = user_case_records(env, user)
    m = re.search(r"/calendar/([0-9a-f]{32})\.ics", (recs[0].get("links") or {}).get("https", "") if recs else "")
    pu = pseudonym(env.data, user)
    before = probe_case(env.data, pu)
    t.ok(before["opened"] and probe_mail(env.data, [x["id"] for x in recs])["opened"],
         label + ": before erasure the probes open its case record and queued message (they have teeth)", before)
    return [x["id"] for x in recs], (m.group(1).encode() if m else b"no-token"), pu


def forensic_after(t, env, ids, token, pu, label, email_gone=True, case_gone=True):
    mail = probe_mail(env.data, ids)
    if email_gone:
        t.eq(mail["opened"], [], label + ": no queued message opens with any key in the directory")
        t.eq(raw_has(env.data, b"jane@example.com"), [], label + ": the address is in no file")
    if case_gone:
        case = probe_case(env.data, pu)
        t.ok(case["opened"] == [] and case["keys"] == 0, label + ": no case record opens; the user's key is gone", case)
        t.eq(raw_has(env.data, token), [], label + ": the calendar token is in no file (free pages included)")
        for tag in case["tags"]:
            t.eq(raw_has(env.data, tag.encode()), [], label + ": the user's tag is in no file")
    t.eq(raw_has(env.data, pu.encode()), [], label + ": the pseudonym is in no file in clear")


def run_forensic_paths(t, env, smtp):
    """Issue 15: every other erasure path, then the probes over the whole
    directory with every key in it. SkillDisabled and a 403 in a conversation
    with the server running; the retention purge as a process with the
    server stopped. (`user forget` is run_forensic.)"""
    # SkillDisabled: everything of the user; the case record stays, linking no one
    u = "amzn1.ask.account.DISABLEME"
    ids, token, pu = queue_down(t, env, smtp, u, "disabled")
    r = env.event("AlexaSkillEvent.SkillDisabled", user=u)
    t.eq(r.status, 200, "disabled: event answered 200 once the erasure is committed")
    forensic_after(t, env, ids, token, pu, "after SkillDisabled")
    kept = [x for x in mail_log(env)[0] if x["id"] in ids]
    t.ok(len(kept) == 1 and set(kept[0]) <= {"id", "kind", "queued_at", "status", "attempts", "updated_at", "smtp_code"},
         "after SkillDisabled: the case record keeps only when, what and what became of it", kept)
    # a 403 for the email permission inside a conversation: the queued message goes
    u = "amzn1.ask.account.REVOKEME"
    ids, token, pu = queue_down(t, env, smtp, u, "403")
    env.intent("EmailLinkIntent", token="hnoemail", user=u)
    t.ok(wait_for(lambda: probe_mail(env.data, ids)["opened"] == [], 10), "403: the queued message is cancelled")
    forensic_after(t, env, ids, token, pu, "after a 403", case_gone=False)
    t.eq([x.get("status") for x in user_case_records(env, u)], ["cancelled"], "403: its case record says cancelled")
    # retention: the purge past six years deletes the case records and the key that linked them
    env.server.stop()
    r = run_binday("purge", "--data", env.data, "--as-of", "2040-01-01")
    t.ok(r.returncode == 0, "purge as of 2040 (server stopped) exits 0", r.stderr)
    forensic_after(t, env, ids, token, pu, "after the retention purge")
    t.eq(user_case_records(env, u), [], "after the retention purge: no case record")
    smtp.start()
    env.server.start()


def restart_with_smtp(env, url_from, url_to, rule_from, rule_to):
    env.server.stop()
    env.server.args = [url_to if a == url_from else rule_to if a == rule_from else a for a in env.server.args]
    env.server.start()


def run_tls_modes(t, env, smtp, cert, key, port):
    """smtps:// (implicit TLS) works; a server offering no TLS gets nothing."""
    smtp.stop()
    plain = SmtpServer(cert, key, user="binday", password="s3cret-pw", port=port, starttls=False).start()
    try:
        r = env.intent("EmailLinkIntent", token="tok-house", user="amzn1.ask.account.TLS1")
        t.contains(r.speech, "Done", "queued (server without STARTTLS)")
        t.ok(wait_for(lambda: "STARTTLS not supported" in env.server.log(), 10),
             "no STARTTLS: refused by binday, retried later",
             "\n".join(l for l in env.server.log().splitlines() if "mail." in l)[-2000:])
        time.sleep(0.5)
        t.eq(plain.received(), [], "no STARTTLS: nothing sent in clear text")
    finally:
        plain.stop()
    # the same message goes out over smtps:// after a restart with the new URL
    tls = SmtpServer(cert, key, user="binday", password="s3cret-pw", port=free_port(), implicit=True).start()
    try:
        restart_with_smtp(env, "smtp://%s:%d" % (SMTP_HOST, port), "smtps://%s:%d" % (SMTP_HOST, tls.port),
                          "%s:%d:127.0.0.1:%d" % (SMTP_HOST, port, port),
                          "%s:%d:127.0.0.1:%d" % (SMTP_HOST, tls.port, tls.port))
        got = wait_for(lambda: tls.received(), 20)
        t.ok(len(got) == 1 and got[0]["tls"] and got[0]["auth"], "smtps://: delivered with AUTH",
             "\n".join(l for l in env.server.log().splitlines() if "mail." in l or "error" in l)[-3000:])
    finally:
        tls.stop()


if __name__ == "__main__":
    main()
