#!/usr/bin/python3
"""binday staff: accounts (password from stdin, twice without echo on a
terminal, --random-password), disable, list; the audit log (JSON and CSV,
properly quoted); an edit that `binday lookup` shows at once, with its audit
record; a broken upload that gives the import's FILE:LINE errors and changes
nothing; audit records purged after the case-record period by binday purge.
The real binary on real LMDB directories."""
import csv
import io
import json
import os
import pty
import re
import select
import subprocess
import time

from binday_data import Tap, BIN, run, tmpdir, cleanup, write, snapshot, write_small, import_args

t = Tap()
d = tmpdir()
data = os.path.join(d, "env")
paths = write_small(d)
rc, out, err = run("import", "--data", data, *import_args(paths))
t.ok(rc == 0, "small district imports", err)

# ---- accounts ----
rc, out, err = run("staff", "add", "--data", data, "--user", "alice", "--role", "admin", input=b"alice-secret-1\n")
t.ok(rc == 0, "staff add: password from stdin", err)
t.not_contains(out + err, "alice-secret-1", "the password is not printed")
rc, out, err = run("staff", "add", "--data", data, "--user", "alice", "--role", "viewer", input=b"another-pw\n")
t.ok(rc == 6, "adding an existing account: exit 6", "rc=%d %s" % (rc, err))
rc, out, err = run("staff", "add", "--data", data, "--user", "bob", "--role", "editor", input=b"short\n")
t.ok(rc == 3 and "8-1024" in err, "too short a password: exit 3 with the rule", err)
rc, out, err = run("staff", "add", "--data", data, "--user", "bob", "--role", "editor", input=b"")
t.ok(rc == 3, "no password on stdin: exit 3", err)
rc, out, err = run("staff", "add", "--data", data, "--user", "Bob Smith", "--role", "editor", input=b"long-enough-pw\n")
t.ok(rc == 3, "a bad account name: exit 3", err)
rc, out, err = run("staff", "add", "--data", data, "--user", "bob", "--role", "boss", input=b"long-enough-pw\n")
t.ok(rc == 2, "a bad role: exit 2", err)

# the random password, printed once on stdout
rc, out, err = run("staff", "add", "--data", data, "--user", "demo", "--role", "admin", "--random-password")
pw = out.strip()
t.ok(rc == 0 and re.fullmatch(r"[A-Za-z2-9]{20}", pw), "--random-password prints a 20-character password", out + err)
rc, out2, err = run("staff", "add", "--data", data, "--user", "demo2", "--role", "admin", "--random-password",
                    "--if-no-accounts")
t.ok(rc == 0 and out2 == "", "--if-no-accounts: nothing done when accounts exist", out2 + err)

# on a terminal: asked twice, not echoed
def on_tty(args, answers):
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN] + args, stdin=slave, stderr=slave, stdout=subprocess.PIPE)
    os.close(slave)
    seen = b""
    for a in answers:
        deadline = time.time() + 60
        while b"Password" not in seen.split(b"\n")[-1] and time.time() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    seen += os.read(master, 1000)
                except OSError:
                    break
        os.write(master, a)
        seen += b"\n"
    out, _ = p.communicate(timeout=120)
    try:
        while True:
            r, _, _ = select.select([master], [], [], 0.2)
            if not r:
                break
            chunk = os.read(master, 1000)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    return p.returncode, seen.decode("utf-8", "replace")

rc, seen = on_tty(["staff", "add", "--data", data, "--user", "carol", "--role", "viewer"],
                  [b"carol-pass-77\n", b"carol-pass-77\n"])
t.ok(rc == 0, "terminal: the same password twice is accepted", seen)
t.ok(seen.count("Password") == 2 and "again" in seen, "terminal: asked twice", seen)
t.not_contains(seen, "carol-pass-77", "terminal: the password is not echoed")
rc, seen = on_tty(["staff", "passwd", "--data", data, "--user", "carol"], [b"first-one-11\n", b"other-one-22\n"])
t.ok(rc == 3 and "differ" in seen, "terminal: two different passwords are refused", seen)

rc, out, err = run("staff", "passwd", "--data", data, "--user", "carol", input=b"carol-new-pass\n")
t.ok(rc == 0, "staff passwd", err)
rc, out, err = run("staff", "passwd", "--data", data, "--user", "nobody", input=b"carol-new-pass\n")
t.ok(rc == 4, "passwd of an unknown account: exit 4", err)
rc, out, err = run("staff", "disable", "--data", data, "--user", "carol")
t.ok(rc == 0, "staff disable", err)
rc, out, err = run("staff", "list", "--data", data)
t.ok(rc == 0 and re.search(r"^carol\s+viewer\s+disabled$", out, re.M) and re.search(r"^alice\s+admin\s+active$", out, re.M),
     "staff list: roles and states", out)
rc, out, err = run("staff", "list", "--data", data, "--json")
accounts = json.loads(out)
t.ok([a["user"] for a in accounts] == ["alice", "carol", "demo"], "staff list --json: sorted by name", out)
t.not_contains(out, "argon2", "no hashes listed")

# ---- an edit, seen by lookup at once, with its audit record ----
def lookup_refuse(day):
    rc, out, err = run("lookup", "--data", data, "--uprn", "100", "--from", day, "--days", "3", "--json")
    doc = json.loads(out)
    return [c for c in doc["collections"] if c["service_id"] == "refuse"]

before = snapshot(data)
rc, out, err = run("staff", "exception", "move", "--data", data, "--round", "REF-MON", "--date", "2026-12-14",
                   "--to", "2026-12-15", "--reason", "crew shortage", "--preview")
t.ok(rc == 0 and "preview:" in out and "properties: 5" in out, "preview: the 5 properties on REF-MON", out + err)
t.ok("dates: 2026-12-14 2026-12-15" in out, "preview: the dates", out)
t.ok(snapshot(data) == before, "preview changed nothing")
rc, out, err = run("staff", "exception", "move", "--data", data, "--round", "REF-MON", "--date", "2026-12-14",
                   "--to", "2026-12-15", "--reason", "crew shortage")
t.ok(rc == 0 and "audit record:" in out, "move applied", out + err)
ref = lookup_refuse("2026-12-14")
t.ok(len(ref) == 1 and ref[0]["date"] == "2026-12-15" and ref[0].get("reason") == "crew shortage",
     "binday lookup shows the moved collection", ref)
rc, out, err = run("staff", "exception", "move", "--data", data, "--round", "REF-MON", "--date", "2026-12-16",
                   "--to", "2026-12-17")
t.ok(rc == 3 and "does not collect on original_date" in err, "a move from a non-collection day: the import's check",
     out + err)
rc, out, err = run("staff", "notice", "publish", "--data", data, "--id", "late", "--scope", "round:REF-MON",
                   "--from", "2026-12-01", "--to", "2026-12-31", "--message", '=HYPERLINK("x"), "quoted"')
t.ok(rc == 0, "publish a notice (a formula-looking message with quotes)", out + err)
rc, out, err = run("lookup", "--data", data, "--uprn", "100", "--from", "2026-12-14", "--days", "1", "--json")
t.ok(any(n["notice_id"] == "late" for n in json.loads(out)["notices"]), "lookup shows the notice", out)

# ---- audit ----
rc, out, err = run("staff", "audit", "--data", data)
recs = json.loads(out)
acts = [r["action"] for r in recs]
t.ok(acts == ["account.add", "account.add", "account.add", "account.passwd", "account.disable", "exception.move",
              "notice.publish"], "audit: one record per change, oldest first", acts)
mv = recs[5]
t.ok(mv["actor"].startswith("cli:") and mv["target"] == "round:REF-MON" and mv["before"] is None and
     mv["after"] == {"round_id": "REF-MON", "action": "moved", "original_date": "2026-12-14",
                     "new_date": "2026-12-15", "reason": "crew shortage"}, "audit: who, what, before and after", mv)
t.ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mv["time"]), "audit: when (UTC)", mv)
t.not_contains(out, "argon2", "audit: no password hashes")
rc, out, err = run("staff", "audit", "--data", data, "--format", "csv")
rows = list(csv.reader(io.StringIO(out, newline="")))
t.ok(rows[0] == ["id", "time", "actor", "action", "target", "summary", "before", "after"] and len(rows) == 8,
     "audit CSV: header and 7 rows", out)
t.ok(json.loads(rows[7][7])["message"] == '=HYPERLINK("x"), "quoted"', "audit CSV: quoted cell round-trips", rows[7])
t.ok(out.endswith("\r\n"), "audit CSV: CRLF rows")
rc, out, err = run("staff", "audit", "--data", data, "--since", "2099-01-01")
t.ok(rc == 0 and json.loads(out) == [], "--since in the future: nothing", out + err)
rc, out, err = run("staff", "audit", "--data", data, "--format", "xml")
t.ok(rc == 2, "a bad --format: exit 2", err)

# ---- what advisers see: search and a property's calendar ----
rc, out, err = run("staff", "search", "--data", data, "--query", "14 high street nr19 1aa")
t.ok(rc == 0 and out.splitlines()[0] == "101  14 HIGH STREET, DEREHAM, NR19 1AA", "search: the matcher's pick first", out + err)
rc, out, err = run("staff", "search", "--data", data, "--query", "IP25 7AA")
t.ok(rc == 0 and len(out.splitlines()) == 2, "search by postcode: its two properties", out + err)
rc, out, err = run("staff", "exception", "cancel", "--data", data, "--round", "REF-MON", "--date", "2026-12-28",
                   "--reason", "depot closed")
t.ok(rc == 0, "cancel a collection", out + err)
rc, out, err = run("staff", "property", "--data", data, "--uprn", "100", "--today", "2026-12-07",
                   "--public-url", "https://bins.example.gov.uk")
t.ok(re.search(r"^  Tuesday 15 December 2026 +Household rubbish +moved from 2026-12-14: crew shortage$", out, re.M),
     "property: the moved collection, marked, with its reason", out + err)
t.ok(re.search(r"^  Monday 28 December 2026 +Household rubbish +CANCELLED: depot closed$", out, re.M),
     "property: the cancelled one, marked, with its reason", out)
t.ok(re.search(r"^calendar feed: https://bins\.example\.gov\.uk/calendar/[0-9a-f]{32}\.ics$", out, re.M),
     "property: the calendar-feed link", out)
rc2, out2, _ = run("calendar-link", "--data", data, "--uprn", "100")
t.ok(re.search(r"/calendar/[0-9a-f]{32}\.ics", out2).group(0) in out, "the same token as binday calendar-link", out2)
rc, out, err = run("staff", "property", "--data", data, "--uprn", "999")
t.ok(rc == 3, "an unknown UPRN: exit 3", out + err)

# ---- an upload with a broken CSV: FILE:LINE errors, nothing changed ----
before = snapshot(data)
bad = write(os.path.join(d, "bad-exceptions.csv"),
            "round_id,action,original_date,new_date,reason\n"
            "REF-MON,moved,2026-12-28,2026-12-29,ok\n"
            "REF-MON,moved,2026-13-01,2026-12-29,bad date\n"
            "\"broken,quote\n")
rc, out, err = run("staff", "upload", "--data", data, "--exceptions", bad)
t.ok(rc == 3, "broken upload: exit 3", out + err)
t.ok(re.search(r"bad-exceptions\.csv:3: original_date", err) and re.search(r"bad-exceptions\.csv:4: ", err),
     "FILE:LINE errors as binday import gives", err)
rc2, out2, err2 = run("import", "--data", data, "--exceptions", bad)
ours = sorted(l for l in err.splitlines() if re.match(r"^\S+:\d+: ", l))
theirs = sorted(l for l in err2.splitlines() if re.match(r"^\S+:\d+: ", l))
t.ok(ours == theirs and ours, "the very same messages as binday import", "%r\n%r" % (ours, theirs))
t.ok(snapshot(data) == before, "nothing changed (mdb_dump identical)")
good = write(os.path.join(d, "good-notices.csv"), "notice_id,scope,from,to,message\nonly,all,2026-12-01,2026-12-31,Hello\n")
rc, out, err = run("staff", "upload", "--data", data, "--notices", good, "--dry-run")
t.ok(rc == 0 and "notices: 1 added, 0 changed, 4 removed, 0 unchanged" in out, "dry-run diff per table", out + err)
t.ok(snapshot(data) == before, "dry run changed nothing")
rc, out, err = run("staff", "upload", "--data", data, "--notices", good)
t.ok(rc == 0, "upload committed", out + err)
rc, out, err = run("lookup", "--data", data, "--uprn", "100", "--from", "2026-12-14", "--days", "1", "--json")
t.ok([n["notice_id"] for n in json.loads(out)["notices"]] == ["only"], "lookup sees the uploaded table", out)

# ---- retention: case records, six years ----
rc, out, err = run("staff", "audit", "--data", data)
n_before = len(json.loads(out))
rc, out, err = run("purge", "--data", data, "--as-of", "2032-01-01")
rc2, out2, _ = run("staff", "audit", "--data", data)
t.ok(rc == 0 and len(json.loads(out2)) == n_before, "kept within six years", out + err)
rc, out, err = run("purge", "--data", data, "--as-of", "2033-01-01")
rc2, out2, _ = run("staff", "audit", "--data", data)
t.ok(rc == 0 and json.loads(out2) == [], "purged after six years by binday purge", out + err + out2)

cleanup(d)
t.done()
