"""Backup and restore as one pair (issue 15), end to end with the real server
and a real SMTP server: a backup taken before an erasure, restored over the
live directory, brings back neither the erased user nor their cancelled
email; the control user's email goes out exactly once. Then every refusal of
`binday restore` (non-empty directory, truncated file, damaged byte, wrong
key, missing key file) exits 3 and leaves the directory byte for byte as it
was. docs/store.md "Backup and restore", docs/privacy.md "Backups"."""
import hashlib
import json
import os
import re
import subprocess
import time

import fake_amazon
from harness import run_binday, tempdir
from privacy_probe import probe, pseudonym, recent_days
from skill_env import SkillEnv
from smtp_server import SmtpServer, free_port
from tap import Tap
from test_email import FROM, PUBLIC, SMTP_HOST, addr, wait_for

ERASED, CONTROL = "amzn1.ask.account.BACKUP_ERASED", "amzn1.ask.account.BACKUP_CONTROL"


def dir_hash(d):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(d)):
        for n in sorted(files):
            p = os.path.join(root, n)
            h.update(p.encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def export(data, user):
    r = run_binday("user", "export", "--data", data, "--user-id", user)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def raw_has(d, needle):
    out = []
    for n in os.listdir(d):
        p = os.path.join(d, n)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                if needle in f.read():
                    out.append(n)
    return out


def split_backup(b):
    """(manifest, [(name, bytes)]) of a plain backup (privacy/backup.h)."""
    magic = b"BINDAY-BACKUP 1\n"
    assert b.startswith(magic)
    nl = b.index(b"\n", len(magic))
    man = json.loads(b[len(magic):nl])
    pos, files = nl + 1, []
    for f in man["files"]:
        files.append((f["name"], b[pos:pos + f["size"]]))
        pos += f["size"]
    return man, files


def join_backup(man, files):
    man = dict(man, files=[{"name": n, "size": len(c), "sha256": hashlib.sha256(c).hexdigest()} for n, c in files])
    body = b"BINDAY-BACKUP 1\n" + json.dumps(man, separators=(",", ":")).encode() + b"\n" + b"".join(c for _, c in files)
    return body + b"END " + hashlib.sha256(body).hexdigest().encode() + b"\n"


def main():
    t = Tap()
    with tempdir() as d:
        env = smtp = None
        try:
            env = SkillEnv(d, scenarios={}, properties=400)
            rows = env.addresses()
            house = next(r for r in rows if r["paon"].isdigit() and not r["saon"] and not r["parent_uprn"])
            haddr = addr("%s %s" % (house["paon"], house["street"].title()), house["postcode"], house["town"].title())
            env.fake.scenarios.update({"herased": {"address": haddr, "email": "erased@example.com"},
                                       "hcontrol": {"address": haddr, "email": "control@example.com"}})
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
                          "--public-url", PUBLIC, "--mail-retry-base-ms", "500", "--mail-max-attempts", "30"]
            env.start()  # the SMTP server is down: messages stay queued
            run_e2e(t, env, smtp, d)
            run_refusals(t, env, d)
        finally:
            if env:
                env.stop()
            if smtp:
                smtp.stop()
    t.done()


def run_e2e(t, env, smtp, d):
    # 1. a user with a queued email and transcripts, and a control user
    for user, token in ((ERASED, "herased"), (CONTROL, "hcontrol")):
        r = env.launch(token=token, user=user)
        t.eq(r.status, 200, "%s: launch" % user[-7:])
        r = env.intent("EmailLinkIntent", token=token, user=user)
        t.contains(r.speech, "Done", "%s: email queued while the SMTP server is down" % user[-7:])
    pe = pseudonym(env.data, ERASED)
    before_c = wait_for(lambda: (lambda e: e if len(e.get("transcripts", [])) >= 2 else None)(export(env.data, CONTROL)), 10)
    before_e = export(env.data, ERASED)
    t.ok(len(before_e.get("transcripts", [])) >= 2 and len(before_e.get("email", {}).get("queued", [])) == 1,
         "erased-to-be: transcripts and a queued message held", before_e)
    q = (before_e.get("email", {}).get("queued") or [{}])[0]
    t.eq(q.get("to"), "erased@example.com", "export: a queued message shows its recipient while held")
    t.ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", q.get("queued_at", "")), "export: ISO 8601 time with zone", q)
    # 2. backup (hot, the server running), plain and encrypted
    bk = os.path.join(d, "before.bin")
    r = run_binday("backup", "--data", env.data, "--out", bk)
    t.ok(r.returncode == 0 and os.stat(bk).st_mode & 0o777 == 0o600, "backup written, mode 0600", r.stderr)
    man, files = split_backup(open(bk, "rb").read())
    names = [n for n, _ in files]
    t.ok("data.mdb" in names and "pseudonym.key" in names and "calendar.key" in names and "journal.key" in names and
         any(re.fullmatch(r"vault-\d+\.key", n) for n in names), "backup holds the store and every key", names)
    # 3. SkillDisabled for the first user
    r = env.event("AlexaSkillEvent.SkillDisabled", user=ERASED)
    t.eq(r.status, 200, "SkillDisabled answered 200 (erasure committed)")
    t.eq({k for k in export(env.data, ERASED)} - {"user_id", "pseudonymous_id", "skill_events"}, set(),
         "erased in the live directory")
    env.server.stop()
    # 4. restore --replace from the backup taken before the erasure
    r = run_binday("restore", "--data", env.data, "--from", bk, "--replace")
    t.ok(r.returncode == 0, "restore --replace exits 0", r.stderr)
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    t.ok(out.get("users_erased_again", 0) >= 1, "the erasure after the backup was applied again", r.stdout)
    e = export(env.data, ERASED)
    t.ok(set(e) == {"user_id", "pseudonymous_id"}, "after restore: the erased user's export is empty", e)
    t.eq(probe(env.data, pe, recent_days())["transcripts"], [],
         "after restore: no transcript of the erased user opens with any key in the directory")
    t.eq(raw_has(env.data, b"erased@example.com"), [], "after restore: the erased address is in no file")
    t.eq(raw_has(env.data, pe.encode()), [], "after restore: the erased pseudonym is in no file")
    # 5. serve with SMTP up: the control user's email once, nothing to the erased user
    smtp.start()
    env.server.start()
    got = wait_for(lambda: [m for m in smtp.received() if "control@example.com" in m["rcpt_tos"]], 30)
    time.sleep(2)
    rcpts = [r for m in smtp.received() for r in m["rcpt_tos"]]
    t.ok(rcpts.count("control@example.com") == 1, "control: delivered exactly once", rcpts)
    t.ok(rcpts.count("erased@example.com") == 0, "erased: the cancelled email was not sent", rcpts)
    c = export(env.data, CONTROL)
    t.eq(len(c.get("transcripts", [])), len(before_c.get("transcripts", [])), "control: transcripts intact")
    recs = c.get("email", {}).get("case_records", [])
    t.ok(len(recs) == 1 and recs[0].get("status") == "sent" and recs[0].get("links"),
         "control: case record sent, links intact", recs)
    t.ok(got, "control: delivered after the restore")
    env.server.stop()


def keypair(d, name):
    priv, pub = os.path.join(d, name + "-private.pem"), os.path.join(d, name + "-public.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "X25519", "-out", priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True, capture_output=True)
    return priv, pub


def run_refusals(t, env, d):
    data = env.data
    bk = os.path.join(d, "now.bin")
    r = run_binday("backup", "--data", data, "--out", bk)
    t.ok(r.returncode == 0, "backup of the restored directory", r.stderr)
    blob = open(bk, "rb").read()

    def refused(label, path, *extra):
        h0 = dir_hash(data)
        r = run_binday("restore", "--data", data, "--from", path, "--replace", *extra)
        t.ok(r.returncode == 3 and "refused" in r.stderr, label + ": exit 3 with a message", (r.returncode, r.stderr))
        t.eq(dir_hash(data), h0, label + ": the directory is unchanged")
        t.eq([n for n in os.listdir(os.path.dirname(data)) if ".restore-" in n], [], label + ": no staging left")
        return r.stderr

    env.server.start()
    env.launch(token="hcontrol", user=CONTROL)  # the server's threads hold their reader slots
    r = run_binday("restore", "--data", data, "--from", bk, "--replace")
    t.ok(r.returncode == 3 and "stop it first" in r.stderr, "the server running: refused, exit 3", r.stderr)
    env.server.stop()
    h0 = dir_hash(data)
    r = run_binday("restore", "--data", data, "--from", bk)
    t.ok(r.returncode == 3 and "--replace" in r.stderr, "non-empty directory without --replace: exit 3", r.stderr)
    t.eq(dir_hash(data), h0, "non-empty directory: unchanged")
    p = os.path.join(d, "truncated.bin")
    open(p, "wb").write(blob[:len(blob) // 2])
    refused("truncated", p)
    p = os.path.join(d, "flipped.bin")
    b = bytearray(blob)
    b[len(b) // 3] ^= 0x40
    open(p, "wb").write(bytes(b))
    refused("a damaged byte", p)
    man, files = split_backup(blob)
    vault = next(n for n, _ in files if n.startswith("vault-"))
    p = os.path.join(d, "nokey.bin")
    open(p, "wb").write(join_backup(man, [(n, c) for n, c in files if n != vault]))
    err = refused("missing key", p)
    t.contains(err, vault, "missing key: the message names the file")
    # encrypted to an operator's key; the wrong private key is refused
    priv, pub = keypair(d, "op")
    other, _ = keypair(d, "other")
    enc = os.path.join(d, "enc.bin")
    r = run_binday("backup", "--data", data, "--out", enc, "--encrypt-to", pub)
    t.ok(r.returncode == 0 and b"BINDAY-BACKUP 1" not in open(enc, "rb").read(), "encrypted backup written", r.stderr)
    refused("wrong key", enc, "--key", other)
    refused("encrypted, no key", enc)
    fresh = os.path.join(d, "fresh")
    r = run_binday("restore", "--data", fresh, "--from", enc, "--key", priv)
    t.ok(r.returncode == 0 and len(export(fresh, CONTROL).get("transcripts", [])) >= 2,
         "the right key restores into a new directory, data intact", r.stderr)
    # the disaster case: the directory is lost, only backups remain. The old
    # backup alone brings the erased user back (the journal has teeth); with
    # the journal of a later backup (which carries the erasure) it does not.
    lost = os.path.join(d, "lost-old-only")
    r = run_binday("restore", "--data", lost, "--from", os.path.join(d, "before.bin"))
    t.ok(r.returncode == 0 and "transcripts" in export(lost, ERASED),
         "old backup alone: the erased user's data would come back", r.stderr)
    lost = os.path.join(d, "lost")
    r = run_binday("restore", "--data", lost, "--from", os.path.join(d, "before.bin"), "--journal", bk)
    t.ok(r.returncode == 0 and set(export(lost, ERASED)) == {"user_id", "pseudonymous_id"},
         "old backup + a later backup's journal: the erased user stays erased", (r.stdout, r.stderr))
    t.ok(len(export(lost, CONTROL).get("transcripts", [])) >= 2, "old backup + journal: the control user is intact")
    # a store whose key file is lost is refused, not given a new key (finding 2)
    os.rename(os.path.join(fresh, "pseudonym.key"), os.path.join(d, "saved.key"))
    r = run_binday("user", "export", "--data", fresh, "--user-id", CONTROL)
    t.ok(r.returncode != 0 and "pseudonym.key" in r.stderr and not os.path.exists(os.path.join(fresh, "pseudonym.key")),
         "a missing pseudonym.key is refused and not recreated", r.stderr)
    os.rename(os.path.join(fresh, "calendar.key"), os.path.join(d, "saved-cal.key"))
    r = run_binday("calendar-link", "--data", fresh, "--uprn", "1")
    t.ok(r.returncode != 0 and "calendar.key" in r.stderr and not os.path.exists(os.path.join(fresh, "calendar.key")),
         "a missing calendar.key is refused and not recreated (emailed links stay valid once it is restored)",
         r.stderr)


if __name__ == "__main__":
    main()
