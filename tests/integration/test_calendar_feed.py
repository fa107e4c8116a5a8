"""Personal calendar feeds end to end: demo data in a real LMDB, the real
server over TLS, feeds validated by Debian's libical (a helper built here with
`cc -lical`), UIDs stable across restarts and imports, a moved collection
keeping its UID with a higher SEQUENCE, cancelled ones marked, ETag/304,
alarms, unknown tokens, and `binday calendar-link`."""
import csv
import datetime
import json
import os
import re
import subprocess

from harness import Server, run_binday, server_cert, tempdir
from tap import Tap

ROOT = os.environ.get("BINDAY_ROOT", ".")
TODAY = datetime.date(2026, 12, 1)


def import_all(csvdir, data, exceptions=None):
    args = ["import", "--data", data]
    for t in ("addresses", "services", "rounds", "assignments", "exceptions", "notices"):
        path = os.path.join(csvdir, t + ".csv")
        if t == "exceptions" and exceptions:
            path = exceptions
        args += ["--" + t, path]
    r = run_binday(*args, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("import failed: " + r.stderr)


def check(helper, d, body, name):
    path = os.path.join(d, name + ".ics")
    with open(path, "wb") as f:
        f.write(body)
    p = subprocess.run([helper, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = p.stdout.decode()
    m = re.match(r"errors (\d+)", out)
    errors = int(m.group(1)) if m else -1
    events = {}
    for line in out.splitlines():
        if line.startswith("EVENT "):
            uid, start, end, is_date, seq, status, summary, trig = line[6:].split("|")
            events[uid] = {"start": start, "end": end, "is_date": is_date == "1", "seq": int(seq),
                           "status": status, "summary": summary, "trigger": int(trig)}
    return errors, events, p.stderr.decode()


def main():
    t = Tap()
    with tempdir() as d:
        helper = os.path.join(d, "ics_check")
        cc = subprocess.run(["cc", "-o", helper, os.path.join(ROOT, "tests/integration/ics_check.c"), "-lical"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if not t.ok(cc.returncode == 0, "libical helper builds", cc.stdout.decode()):
            t.done()
        csvdir, data = os.path.join(d, "csv"), os.path.join(d, "data")
        r = run_binday("demo-data", "--out", csvdir, "--properties", 300, "--seed", 7, "--year", 2026)
        t.eq(r.returncode, 0, "demo data")
        import_all(csvdir, data)
        with open(os.path.join(csvdir, "addresses.csv"), newline="") as f:
            house = next(a for a in csv.DictReader(f) if not a["saon"] and not a["parent_uprn"])
        uprn = house["uprn"]
        with open(os.path.join(csvdir, "assignments.csv"), newline="") as f:
            asg = {a["service_id"]: a["round_id"] for a in csv.DictReader(f) if a["uprn"] == uprn}

        # --- calendar-link
        r = run_binday("calendar-link", "--data", data, "--uprn", uprn, "--public-url", "https://bins.example.gov.uk",
                       "--json")
        t.eq(r.returncode, 0, "calendar-link exits 0")
        link = json.loads(r.stdout) if r.returncode == 0 else {}
        token = link.get("token", "")
        t.ok(re.fullmatch(r"[0-9a-f]{32}", token), "token is 32 hex digits")
        t.ok(uprn not in token, "the token does not show the UPRN")
        t.eq(link.get("https"), "https://bins.example.gov.uk/calendar/%s.ics" % token, "https link")
        t.eq(link.get("webcal"), "webcal://bins.example.gov.uk/calendar/%s.ics" % token, "webcal link")
        t.ok(link.get("google", "").startswith("https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2F"),
             "Google subscribe link", link.get("google"))
        t.ok(link.get("outlook", "").startswith("https://outlook.office.com/calendar/addfromweb?url=https%3A%2F%2F"),
             "Outlook subscribe link", link.get("outlook"))
        r2 = run_binday("calendar-link", "--data", data, "--uprn", uprn)
        t.ok(r2.returncode == 0 and ("token: " + token) in r2.stdout, "same token on a second run (stable)", r2.stdout)
        r3 = run_binday("calendar-link", "--data", data, "--uprn", "999999999999")
        t.eq(r3.returncode, 3, "unknown UPRN: exit 3")
        r4 = run_binday("calendar-link", "--data", data, "--uprn", uprn, "--public-url", "http://x")
        t.eq(r4.returncode, 2, "non-https public URL: exit 2")

        pki = server_cert(d)
        path = "/calendar/%s.ics" % token
        srv = Server(d, pki, data=data, extra=["--today", TODAY.isoformat()]).start()
        try:
            st, h, body = srv.request("GET", path)
            t.eq(st, 200, "feed: 200")
            t.ok(h.get("content-type", "").startswith("text/calendar"), "feed: text/calendar", h)
            t.ok(re.fullmatch(r'"[0-9a-f]{32}"', h.get("etag", "")), "feed: strong ETag", h)
            t.ok("max-age" in h.get("cache-control", ""), "feed: Cache-Control with max-age", h)
            t.ok(b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b""), "feed: CRLF only")
            t.ok(all(len(l) <= 75 for l in body.split(b"\r\n")), "feed: lines folded at 75 octets")
            t.ok(b"REFRESH-INTERVAL;VALUE=DURATION:P1D\r\n" in body and b"X-PUBLISHED-TTL:P1D\r\n" in body,
                 "feed: refresh hints")
            errors, ev, diag = check(helper, d, body, "first")
            t.eq(errors, 0, "libical: no errors")
            t.ok(len(ev) > 50, "libical: events parsed (%d)" % len(ev), diag)
            starts = sorted(e["start"] for e in ev.values())
            t.ok(starts and starts[0] >= (TODAY - datetime.timedelta(days=31)).isoformat(),
                 "no event before one month back", starts[:3])
            t.ok(starts and starts[0] < TODAY.isoformat(), "events from the past month are kept", starts[:3])
            t.ok(starts and starts[-1] >= (TODAY + datetime.timedelta(days=330)).isoformat()
                 and starts[-1] <= (TODAY + datetime.timedelta(days=365)).isoformat(),
                 "events up to twelve months ahead", starts[-3:])
            t.ok(all(e["is_date"] and datetime.date.fromisoformat(e["end"]) ==
                     datetime.date.fromisoformat(e["start"]) + datetime.timedelta(days=1) for e in ev.values()),
                 "all-day events with exclusive DTEND")
            t.ok(any(" bin - " in e["summary"] for e in ev.values()), "summaries name the colour",
                 [e["summary"] for e in list(ev.values())[:4]])
            t.ok(all(e["trigger"] == 1 for e in ev.values()), "no alarm unless asked")
            t.ok(b"Put it out by 6:30" in body.replace(b"\r\n ", b""), "description says when to put it out")

            # the same as binday lookup for the next weeks
            lk = json.loads(run_binday("lookup", "--data", data, "--uprn", uprn, "--from", TODAY.isoformat(),
                                       "--days", 60, "--json").stdout)
            want = sorted((c["date"], c["service_id"]) for c in lk["collections"])
            got = sorted((e["start"], uid.split("-")[1]) for uid, e in ev.items()
                         if TODAY.isoformat() <= e["start"] < (TODAY + datetime.timedelta(days=60)).isoformat())
            t.eq(got, want, "feed agrees with binday lookup for the next 60 days")
            t.ok(all(uid.startswith(uprn + "-") for uid in ev), "UIDs from property, service, original date")

            # revalidation
            st2, h2, b2 = srv.request("GET", path, headers={"If-None-Match": h["etag"]})
            t.eq((st2, b2), (304, b""), "If-None-Match with the ETag: 304, no body")
            t.eq(h2.get("etag"), h["etag"], "304 repeats the ETag")
            st3, _, _ = srv.request("GET", path, headers={"If-None-Match": '"nope"'})
            t.eq(st3, 200, "other ETag: 200")
            st4, h4, b4 = srv.request("HEAD", path)
            t.eq((st4, b4), (200, b""), "HEAD: 200 without body")

            # alarms
            st, _, ab = srv.request("GET", path + "?alarm=19:00")
            errors, aev, diag = check(helper, d, ab, "alarm")
            t.eq((st, errors), (200, 0), "alarm feed valid")
            t.ok(aev and all(e["trigger"] == -5 * 3600 for e in aev.values() if e["status"] != "CANCELLED"),
                 "alarm at 19:00 the evening before (-PT5H)", list(aev.values())[:2])
            st, _, _ = srv.request("GET", path + "?alarm=19%3A30")
            t.eq(st, 200, "alarm with %3A")
            for bad in ("25:00", "07:00", "19:0", "19:00:00", "19:00&alarm=20:00", "1900", "%0d%0a"):
                st, _, _ = srv.request("GET", path + "?alarm=" + bad)
                t.eq(st, 400, "alarm %r refused with 400" % bad)

            # unknown and malformed tokens
            for p in ("/calendar/%s.ics" % ("0" * 32), "/calendar/%s.ics" % token.upper(), "/calendar/abc.ics",
                      "/calendar/%s" % token, "/calendar/%s.ics/x" % token, "/calendar/"):
                st, _, b = srv.request("GET", p)
                t.eq(st, 404, "404 for %s" % p[:60])
            st, _, _ = srv.request("POST", path, body=b"x")
            t.eq(st, 405, "POST: 405")
        finally:
            rc = srv.stop()
        t.eq(rc, 0, "server exits 0")
        log = srv.log()
        t.not_contains(log, token, "the token is never logged")

        # --- a later import moves one collection and cancels another
        future = sorted((uid, e) for uid, e in ev.items() if e["start"] >= "2027-02-01")
        moved_uid, moved = future[0]
        cancel_uid, cancel = next((u, e) for u, e in future if u.split("-")[1] != moved_uid.split("-")[1]
                                  and e["start"] != moved["start"])
        ms, cs = moved_uid.split("-")[1], cancel_uid.split("-")[1]
        new_date = (datetime.date.fromisoformat(moved["start"]) + datetime.timedelta(days=1)).isoformat()
        exc = os.path.join(d, "exceptions2.csv")
        with open(os.path.join(csvdir, "exceptions.csv")) as f:
            text = f.read()
        with open(exc, "w") as f:
            f.write(text.rstrip("\n") + "\n")
            f.write("%s,moved,%s,%s,\"crew training; depot, closed\"\n" % (asg[ms], moved["start"], new_date))
            f.write("%s,cancelled,%s,,road closure\n" % (asg[cs], cancel["start"]))
        import_all(csvdir, data, exceptions=exc)
        srv2 = Server(d, pki, data=data, extra=["--today", TODAY.isoformat()]).start()
        try:
            st, h5, body2 = srv2.request("GET", path)
            errors, ev2, diag = check(helper, d, body2, "second")
            t.eq((st, errors), (200, 0), "after re-import: valid feed")
            t.ok(h5.get("etag") != h["etag"], "after re-import: new ETag")
            t.eq(sorted(ev2), sorted(ev), "the same UIDs after the import (moved and cancelled included)")
            m2 = ev2.get(moved_uid, {})
            t.eq(m2.get("start"), new_date, "moved collection: same UID, new date")
            t.ok(m2.get("seq", 0) > moved["seq"], "moved collection: SEQUENCE raised",
                 (moved["seq"], m2.get("seq")))
            unfolded = body2.replace(b"\r\n ", b"").decode()
            t.ok(re.search(r"Moved from [A-Z][a-z]+day \d+ [A-Z][a-z]+ 2027 \(crew training\\; depot\\, closed\)",
                           unfolded), "moved: 'Moved from ...' with the reason, TEXT-escaped")
            c2 = ev2.get(cancel_uid, {})
            t.eq((c2.get("status"), c2.get("start")), ("CANCELLED", cancel["start"]),
                 "cancelled collection: STATUS:CANCELLED on its date, same UID")
            others = [u for u in ev if u not in (moved_uid, cancel_uid)]
            t.ok(all(ev2[u]["start"] == ev[u]["start"] and ev2[u]["status"] == "CONFIRMED" for u in others),
                 "every other event unchanged")
            st, h6, body3 = srv2.request("GET", path)
            t.eq((body3, h6.get("etag")), (body2, h5.get("etag")), "identical body and ETag on the next fetch")
        finally:
            srv2.stop()
    t.done()


if __name__ == "__main__":
    main()
