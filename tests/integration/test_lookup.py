#!/usr/bin/python3
"""binday lookup (the contract's JSON is a test interface), backup/restore,
holidays propose -> import, on a small hand-made district and real LMDB."""
import json
import os

from binday_data import Tap, run, tmpdir, cleanup, write, write_small, import_args, snapshot

t = Tap()
d = tmpdir()
data = os.path.join(d, "env")
rc, out, err = run("import", "--data", data, *import_args(write_small(d)))
t.ok(rc == 0, "import small district", err)


def look(*args, **kw):
    a = ["lookup", "--data", data, "--json"]
    for k, v in kw.items():
        a += ["--" + k, v]
    for line in args:
        a += ["--line", line]
    rc, out, err = run(*a)
    if rc != 0:
        return {"rc": rc, "err": err}
    return json.loads(out)


r = look("12 High Street", postcode="nr191aa", **{"from": "2026-12-14", "days": "21"})
t.ok(r.get("match") == "exact" and r.get("uprn") == "100", "exact match", r)
t.ok(r.get("address") == "12 HIGH STREET, DEREHAM, NR19 1AA", "address formatted", r.get("address"))
got = [(c["date"], c["service_id"]) for c in r.get("collections", [])]
want = [("2026-12-14", "food"), ("2026-12-14", "refuse"), ("2026-12-15", "recycling"),
        ("2026-12-21", "food"), ("2026-12-21", "recycling"), ("2026-12-29", "food"),
        ("2026-12-29", "refuse")]
t.ok(got == want, "collections sorted by date then service_id", got)
c = {(x["date"], x["service_id"]): x for x in r["collections"]}
x = c[("2026-12-29", "refuse")]
t.ok(x["original_date"] == "2026-12-28" and x["changed"] is True and x["reason"] == "bank holiday",
     "bank-holiday move keeps original date and reason", x)
t.ok(x["name"] == "Household rubbish" and x["colour"] == "green", "service name and colour", x)
x = c[("2026-12-15", "recycling")]
t.ok(x["changed"] is True and x["reason"] == "extra Christmas collection", "added collection", x)
x = c[("2026-12-14", "refuse")]
t.ok(x["changed"] is False and x["original_date"] == "2026-12-14", "unchanged collection", x)
t.ok(not any(s == "garden" for _, s in got), "garden: cancelled at Christmas and lapsed on 15 Dec")
t.ok([n["notice_id"] for n in r.get("notices", [])] == ["all", "garden", "late"],
     "notices by scope and date", r.get("notices"))
r = look("12 High Street", postcode="NR19 1AA", **{"from": "2026-12-01", "days": "7"})
t.ok([c["service_id"] for c in r["collections"] if c["date"] == "2026-12-04"] == ["garden"],
     "garden before the lapse", r["collections"])

# route change with an effective date; original date decides the assignment
r = look("14 High Street", postcode="NR19 1AA", **{"from": "2026-12-28", "days": "28"})
t.ok(r.get("uprn") == "101", "14 is not 14A", r)
ref = [(c["date"], c["original_date"]) for c in r["collections"] if c["service_id"] == "refuse"]
t.ok(ref == [("2026-12-29", "2026-12-28"), ("2027-01-14", "2027-01-14")],
     "Monday round until 31 Dec, Thursday round from 1 Jan", ref)
r = look("14a high st", postcode="NR19 1AA", **{"from": "2026-12-28", "days": "7"})
t.ok(r.get("uprn") == "102", "14a", r)
x = [c for c in r["collections"] if c["service_id"] == "refuse"]
t.ok(len(x) == 1 and x[0]["date"] == "2027-01-02" and x[0]["original_date"] == "2026-12-31"
     and x[0]["reason"] == "New Year", "round's own exception", x)

# ambiguous, building, postcode, none, outside
r = look("High Street", postcode="NR19 1AA")
t.ok(r.get("match") == "ambiguous" and sorted(c["uprn"] for c in r.get("candidates", [])) == ["100", "101", "102"],
     "missing number: ambiguous with candidates", r)
t.ok("uprn" not in r and r.get("collections") == [], "no property, no collections when ambiguous", r)
r = look("7 Church Street", postcode="NR19 1AB", **{"from": "2026-12-28", "days": "7"})
t.ok(r.get("match") == "building" and r.get("uprn") == "110", "building (parent UPRN)", r)
r = look("Flat 2", "7 Church St", postcode="NR19 1AB", **{"from": "2026-12-28", "days": "7"})
t.ok(r.get("match") == "exact" and r.get("uprn") == "112", "flat", r)
t.ok([c["date"] for c in r["collections"] if c["service_id"] == "refuse"] == ["2027-01-02"],
     "flat uses the building's communal bins", r["collections"])
r = look("Mill Road", postcode="IP25 6AA", **{"from": "2026-12-01", "days": "14"})
t.ok(r.get("match") == "postcode" and "uprn" not in r and len(r.get("collections", [])) > 0,
     "postcode answer when every property shares the rounds", r)
t.ok([n["notice_id"] for n in r["notices"]] == ["snow"], "postcode-prefix notice", r["notices"])
r = look("1 Mill Road", postcode="IP25 6AA")
t.ok(r.get("match") == "exact" and r.get("uprn") == "130", "exact beats postcode", r)
r = look("The Street", postcode="IP25 7AA")
t.ok(r.get("match") == "ambiguous", "different rounds in a postcode: ambiguous", r)
r = look("Rose Cottage", postcode="ip257aa", city="Shipdham")
t.ok(r.get("uprn") == "120", "named house", r)
r = look("1 Nowhere Road", postcode="NR19 9ZZ")
t.ok(r.get("match") == "none", "unknown postcode in the district: none", r)
r = look("12 High Street", postcode="CB2 1TN")
t.ok(r.get("match") == "outside", "postcode outside the district", r)
r = look("410 Terry Ave N", postcode="20146", country="US", city="Seattle")
t.ok(r.get("match") == "outside" and r.get("collections") == [], "Amazon US test address", r)

# --uprn, human output, usage
rc, out, err = run("lookup", "--data", data, "--uprn", "112", "--json", "--from", "2026-12-28")
r = json.loads(out) if rc == 0 else {}
t.ok(r.get("match") == "exact" and r.get("address") == "FLAT 2, 7 CHURCH STREET, DEREHAM, NR19 1AB",
     "--uprn", out + err)
rc, out, err = run("lookup", "--data", data, "--uprn", "999", "--json")
t.ok(rc == 0 and json.loads(out)["match"] == "none", "unknown UPRN", out)
rc, out, err = run("lookup", "--data", data, "--postcode", "NR19 1AA", "--line", "12 High St",
                   "--from", "2026-12-28", "--days", "3")
t.ok(rc == 0 and "match: exact" in out and "moved from 2026-12-28: bank holiday" in out,
     "human-readable output", out)
t.ok(run("lookup", "--data", data)[0] == 2, "no postcode: usage")
t.ok(run("lookup", "--data", data, "--postcode", "x", "--days", "0")[0] == 2, "bad --days")
t.ok(run("lookup", "--data", data, "--postcode", "x", "--from", "2026-02-30")[0] == 2, "bad --from")
rc, out, err = run("lookup", "--help")
t.ok(rc == 0 and "--json" in out, "--help")

# backup and restore
bk = os.path.join(d, "backup.bin")
rc, out, err = run("backup", "--data", data, "--out", bk)
t.ok(rc == 0 and os.path.getsize(bk) > 0 and os.stat(bk).st_mode & 0o777 == 0o600, "backup (mode 0600)", err)
restored = os.path.join(d, "restored")
rc, out, err = run("restore", "--data", restored, "--from", bk)
t.ok(rc == 0 and os.path.exists(os.path.join(restored, "data.mdb")), "restore into a new directory", err)
a = look("Flat 2", "7 Church St", postcode="NR19 1AB", **{"from": "2026-12-28"})
data_saved = data
data = restored
b = look("Flat 2", "7 Church St", postcode="NR19 1AB", **{"from": "2026-12-28"})
data = data_saved
t.ok(a == b and a.get("uprn") == "112", "restored backup answers the same", (a, b))

# holidays propose -> review -> import as exceptions
rc, out, err = run("holidays", "propose", "--year", "2026")
t.ok(rc == 0 and out.startswith("round_id,action,original_date,new_date,reason\n"), "propose prints CSV", err)
t.ok("*,moved,2026-08-31,2026-09-01,bank holiday" in out and "*,moved,2026-12-25,2026-12-26,bank holiday" in out,
     "slips listed", out[:300])
p = write(os.path.join(d, "hol.csv"), out)
rc, o2, err = run("import", "--data", data, "--exceptions", p)
t.ok(rc == 0, "proposal imports as exceptions", err)
r = look("12 High Street", postcode="NR19 1AA", **{"from": "2026-08-31", "days": "7"})
t.ok(any(c["date"] == "2026-09-01" and c["original_date"] == "2026-08-31" for c in r["collections"]),
     "bank-holiday Monday collected Tuesday", r["collections"])
rc, out, err = run("holidays", "propose", "--year", "2031")
t.ok(rc == 3 and "bank-holidays-england-wales.csv" in err, "unknown year says where to update", err)
rc, out, err = run("holidays", "--help")
t.ok(rc == 0 and "data/bank-holidays-england-wales.csv" in out and "2025-2028" in out, "--help says where the dates live", out)
hf = write(os.path.join(d, "h.csv"), "date,name\n2031-05-05,Early May\n")
rc, out, err = run("holidays", "propose", "--year", "2031", "--holidays-file", hf)
t.ok(rc == 0 and "2031-05-09,2031-05-10" in out, "--holidays-file", out + err)

# a list longer than the lookup's bound (128 collections) is cut at a day
# boundary and says where to page on from; the earliest collections are kept
import datetime
from binday_data import SERVICES, ROUNDS, ASSIGNMENTS
d2 = os.path.join(d, "many")
os.mkdir(d2)
paths = write_small(d2, services=SERVICES + "extra,Extra waste,red,red bin,no,,\n",
                    rounds=ROUNDS + "EXTRA-WED,extra,WED,1,2026-12-02,,\n",
                    assignments=ASSIGNMENTS + "130,food,FOOD-MON,,\n130,extra,EXTRA-WED,,\n")
many = os.path.join(d2, "env")
rc, out, err = run("import", "--data", many, *import_args(paths))
t.ok(rc == 0, "import a property with two weekly and two fortnightly rounds", err)
rc, out, err = run("lookup", "--data", many, "--uprn", "130", "--json", "--from", "2026-12-01", "--days", "400")
p1 = json.loads(out) if rc == 0 else {}
c1 = p1.get("collections", [])
t.ok(p1.get("truncated") is True and len(c1) <= 128 and "next_from" in p1,
     "400 days: truncated, says where to go on", {k: p1.get(k) for k in ("truncated", "next_from")})
nf = p1.get("next_from", "9999-12-31")
t.ok(c1 and all(c["date"] < nf for c in c1) and c1[0]["date"] <= "2026-12-07"
     and {c["service_id"] for c in c1} == {"food", "extra", "refuse", "recycling"},
     "the earliest collections of every service kept, all before next_from", (len(c1), nf, c1[-1:]))
end = datetime.date(2026, 12, 1) + datetime.timedelta(days=399)
rest = (end - datetime.date.fromisoformat(nf)).days + 1
rc, out, err = run("lookup", "--data", many, "--uprn", "130", "--json", "--from", nf, "--days", str(rest))
p2 = json.loads(out) if rc == 0 else {}
c2 = p2.get("collections", [])
t.ok(p2.get("truncated") is False and c2 and c2[0]["date"] == nf and c2[-1]["date"] <= end.isoformat(),
     "the next page starts at next_from and completes the year", (p2.get("truncated"), c2[:1]))
rc, out, err = run("lookup", "--data", many, "--uprn", "130", "--json", "--from", "2026-12-01", "--days", "60")
t.ok(rc == 0 and json.loads(out).get("truncated") is False and "next_from" not in json.loads(out),
     "a short list is not truncated", out[:200])
rc, out, err = run("lookup", "--data", many, "--uprn", "130", "--from", "2026-12-01", "--days", "400")
t.ok(rc == 0 and ("list cut at %d collections" % len(c1)) in out and ("--from " + nf) in out,
     "human output says the list was cut and how to go on", out[-300:])

# schema newer than the binary: refused with a clear message
rc, out, err = run("lookup", "--data", data, "--postcode", "NR19 1AA")
import subprocess
dump = subprocess.run(["mdb_dump", "-s", "meta", data], stdout=subprocess.PIPE).stdout.decode()
t.ok("schema_version" in dump.replace(" ", "") or "736368656d615f76657273696f6e" in dump, "schema version recorded")
cleanup(d)
t.done()
