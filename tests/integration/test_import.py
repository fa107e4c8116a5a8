#!/usr/bin/python3
"""binday import: one transaction, full replacement, FILE:LINE errors, exit 3
and nothing changed on every broken input the issue lists; BOM, CRLF; a large
generated file."""
import json
import os
import re
import time

from binday_data import (Tap, run, tmpdir, cleanup, write, snapshot, write_small, import_args,
                         ADDRESSES, ASSIGNMENTS, ROUNDS, EXCEPTIONS, SERVICES)

t = Tap()
d = tmpdir()
data = os.path.join(d, "env")
paths = write_small(d)
rc, out, err = run("import", "--data", data, *import_args(paths))
t.ok(rc == 0, "small district imports", err)
t.ok("addresses: 10 rows" in out and "assignments: 17 rows" in out, "row counts reported", out)
t.ok(os.stat(data).st_mode & 0o777 == 0o700, "data dir created with mode 0700")
base = snapshot(data)
t.ok(len(base) > 1000, "mdb_dump snapshot works")


def rejected(name, files, expect, line_re=None, count=None):
    """Import files (dict table -> text) into the good store; expect exit 3,
    FILE:LINE messages matching `expect`, and an unchanged store."""
    fpaths = {}
    for table, text in files.items():
        p = os.path.join(d, "bad-" + table + ".csv")
        if isinstance(text, bytes):
            with open(p, "wb") as f:
                f.write(text)
        else:
            write(p, text)
        fpaths[table] = p
    rc, out, err = run("import", "--data", data, *import_args(fpaths))
    lines = [l for l in err.splitlines() if re.match(r"^\S+?:\d+: ", l)]
    t.ok(rc == 3, name + ": exit 3", "rc=%d\n%s" % (rc, err))
    hit = [l for l in lines if re.search(expect, l)]
    t.ok(hit, name + ": message " + expect, err)
    if line_re:
        t.ok(any(re.search(line_re, l) for l in hit), name + ": at " + line_re, err)
    if count is not None:
        t.ok(len(lines) == count, name + ": %d problems reported" % count, err)
    t.ok(snapshot(data) == base, name + ": store unchanged")
    return err


rejected("broken quoting", {"addresses": ADDRESSES + '200,,1,,"5,HIGH STREET,,DEREHAM,NR19 1AA\n'},
         "unterminated quoted field", r"bad-addresses\.csv:12: ")
rejected("quote inside field", {"addresses": ADDRESSES.replace("12,HIGH STREET", '12,HIGH "ST"REET')},
         "quote inside an unquoted field", r"bad-addresses\.csv:2: ")
rejected("wrong column name", {"addresses": ADDRESSES.replace("postcode", "postcde")},
         r"unknown column \"postcde\"", r"bad-addresses\.csv:1: ")
rejected("missing required column", {"rounds": ROUNDS.replace("weekday,", "").replace(",MON,", ",").replace(",THU,", ",").replace(",FRI,", ",")},
         "required column weekday is missing", r"bad-rounds\.csv:1: ")
rejected("bad date", {"rounds": ROUNDS.replace("REF-MON,refuse,MON,2,2026-11-30", "REF-MON,refuse,MON,2,2026-11-31")},
         r"anchor_date: \"2026-11-31\" is not a date", r"bad-rounds\.csv:2: ")
rejected("anchor not on its weekday", {"rounds": ROUNDS.replace("REF-THU,refuse,THU,2,2026-12-03", "REF-THU,refuse,THU,2,2026-12-04")},
         "anchor_date 2026-12-04 is a Friday, not a Thursday", r"bad-rounds\.csv:5: ")
rejected("overlapping assignments", {"assignments": ASSIGNMENTS + "100,refuse,REF-THU,2026-06-01,\n"},
         "already has a .refuse. assignment", r"bad-assignments\.csv:\d+: ")
rejected("exception on a non-collection date", {"exceptions": EXCEPTIONS + "REF-MON,cancelled,2026-12-07,,oops\n"},
         "round \"REF-MON\" does not collect on original_date 2026-12-07", r"bad-exceptions\.csv:6: ")
rejected("exception on the wrong weekday", {"exceptions": EXCEPTIONS + "REF-MON,moved,2026-12-01,2026-12-02,oops\n"},
         "does not collect on original_date 2026-12-01 \\(a Tuesday\\)")
rejected("unknown round", {"assignments": ASSIGNMENTS + "130,food,FOOD-TUE,,\n"},
         "unknown round_id \"FOOD-TUE\"", r"bad-assignments\.csv:19: ")
rejected("unknown service", {"rounds": ROUNDS + "X-MON,glass,MON,1,2026-11-30,,\n"},
         "unknown service_id \"glass\"", r"bad-rounds\.csv:8: ")
rejected("unknown UPRN", {"assignments": ASSIGNMENTS + "999,refuse,REF-MON,,\n"},
         "uprn 999 is not in addresses", r"bad-assignments\.csv:19: ")
rejected("round of another service", {"assignments": ASSIGNMENTS + "130,food,REF-THU,,\n"},
         "round \"REF-THU\" collects service \"refuse\", not \"food\"")
rejected("duplicate uprn", {"addresses": ADDRESSES + "100,,1,,99,HIGH STREET,,DEREHAM,NR19 1AA\n"},
         r"duplicate uprn 100 \(first on line 2\)", r"bad-addresses\.csv:12: ")
rejected("duplicate round", {"rounds": ROUNDS + "REF-MON,refuse,MON,2,2026-11-30,,\n"},
         "duplicate round_id \"REF-MON\"", r"bad-rounds\.csv:8: ")
rejected("duplicate exception", {"exceptions": EXCEPTIONS + "*,moved,2026-12-28,2026-12-30,again\n"},
         "duplicate exception for round \"\\*\" on 2026-12-28")
rejected("empty file", {"notices": ""}, "empty file", r"bad-notices\.csv:1: ")
rejected("BOM-only file", {"exceptions": b"\xef\xbb\xbf"}, "empty file")
rejected("bad postcode and uprn", {"addresses": ADDRESSES + "12x,,1,,5,HIGH STREET,,DEREHAM,NR19\n"},
         "is not a UPRN", r"bad-addresses\.csv:12: ")
rejected("wrong field count", {"services": SERVICES + "extra,Extra,blue\n"},
         "3 fields, but the header has 7", r"bad-services\.csv:6: ")
rejected("moved without new_date", {"exceptions": EXCEPTIONS + "REF-MON,moved,2026-12-14,,x\n"},
         "moved needs original_date and new_date")
rejected("invalid UTF-8", {"addresses": ADDRESSES.encode() + b"300,,1,,5,HIGH \xff STREET,,DEREHAM,NR19 1AA\n"},
         "street: not valid UTF-8", r"bad-addresses\.csv:12: ")
rejected("bad scope", {"notices": "notice_id,scope,from,to,message\nx,street:HIGH,2026-12-01,2026-12-02,hi\n"},
         "scope: \"street:HIGH\" is not")
# replacing addresses checks the stored assignments
rejected("stored assignments reference a removed UPRN",
         {"addresses": "\n".join(l for l in ADDRESSES.splitlines() if not l.startswith("131,")) + "\n"},
         r"stored:assignments:\d+: uprn 131 is not in addresses")
# every problem is reported, not just the first
err = rejected("all problems reported", {"rounds": ROUNDS + "A,refuse,MON,9,2026-11-30,,\nB,refuse,XYZ,2,2026-11-30,,\nC,refuse,MON,2,2026-11-30,2027-01-01,2026-01-01\n"},
               "interval_weeks", count=3)
# a broken rounds file does not flood the assignments with "unknown round" noise
err = rejected("no noise from a broken referenced file",
               {"rounds": ROUNDS.replace("REF-MON,refuse,MON,2,2026-11-30", "REF-MON,refuse,MON,2,2026-12-01"),
                "assignments": ASSIGNMENTS}, "anchor_date 2026-12-01 is a Tuesday", count=1)
# the cap
many = SERVICES + "".join("s%d,S,c\n" % i for i in range(30))
err = rejected("error cap", {"services": many}, "fields, but the header")
rc, out, err = run("import", "--data", data, "--max-errors", "5", "--services", os.path.join(d, "bad-services.csv"))
t.ok(rc == 3 and len([l for l in err.splitlines() if ":" in l and "fields" in l]) == 5
     and "25 more problems not shown" in err, "--max-errors caps the list", err)
# atomic across files: a good file plus a bad one changes nothing
good_addr = write(os.path.join(d, "good-addresses.csv"), ADDRESSES + "140,,5,,3,MILL ROAD,,WATTON,IP25 6AA\n")
bad_rounds = write(os.path.join(d, "bad-rounds2.csv"), ROUNDS.replace("2026-12-03", "2026-12-05"))
rc, out, err = run("import", "--data", data, "--addresses", good_addr, "--rounds", bad_rounds)
t.ok(rc == 3 and snapshot(data) == base, "good addresses + bad rounds: nothing changed", err)

# BOM and CRLF are accepted, any column order, empty cell = absent
reordered = "postcode,town,street,paon,uprn,saon,locality,usrn,parent_uprn\r\n" + "".join(
    "{8},{7},{5},{4},{0},{3},{6},{2},{1}\r\n".format(*l.split(",")) for l in ADDRESSES.splitlines()[1:])
p = os.path.join(d, "bom-crlf.csv")
with open(p, "wb") as f:
    f.write(b"\xef\xbb\xbf" + reordered.encode())
rc, out, err = run("import", "--data", data, "--addresses", p)
t.ok(rc == 0, "BOM + CRLF + reordered columns accepted", err)
rc, out, err = run("lookup", "--data", data, "--postcode", "NR19 1AA", "--line", "12 High Street", "--json", "--from", "2026-12-01")
t.ok(rc == 0 and json.loads(out)["uprn"] == "100", "data still answers after re-import", out + err)

# full replacement: a smaller assignments file removes the old rows
small_asg = write(os.path.join(d, "small-asg.csv"), "uprn,service_id,round_id,valid_from,valid_to\n100,refuse,REF-MON,,\n")
rc, out, err = run("import", "--data", data, "--assignments", small_asg)
t.ok(rc == 0, "replace assignments", err)
rc, out, err = run("lookup", "--data", data, "--postcode", "NR19 1AA", "--line", "12 High Street", "--json", "--from", "2026-11-30", "--days", "14")
svcs = sorted({c["service_id"] for c in json.loads(out)["collections"]})
t.ok(svcs == ["refuse"], "old assignments gone after replacement", out)
rc, out, err = run("import", "--data", data, "--assignments", write(os.path.join(d, "asg.csv"), ASSIGNMENTS))
t.ok(rc == 0, "restore assignments", err)

# the published Table Schemas name exactly the columns import accepts
sdir = os.path.join(os.environ.get("BINDAY_ROOT", "."), "schemas")
hdr = {}
for table in ["addresses", "services", "rounds", "assignments", "exceptions", "notices", "materials"]:
    sch = json.load(open(os.path.join(sdir, table + ".schema.json")))
    hdr[table] = write(os.path.join(d, "hdr-" + table + ".csv"), ",".join(f["name"] for f in sch["fields"]) + "\n")
    req = [f["name"] for f in sch["fields"] if f.get("constraints", {}).get("required")]
    rc, out, err = run("import", "--data", os.path.join(d, "hdr-" + table), "--" + table,
                       write(os.path.join(d, "req-" + table + ".csv"), ",".join(req) + "\n"))
    t.ok(rc == 0, "schema %s: required columns alone are a valid header" % table, err)
rc, out, err = run("import", "--data", os.path.join(d, "hdr-all"), *sum((["--" + k, v] for k, v in hdr.items()), []))
t.ok(rc == 0, "every schema's full column list is accepted", err)

# usage
rc, out, err = run("import", "--data", data)
t.ok(rc == 2, "no files: usage error")
rc, out, err = run("import", "--help")
t.ok(rc == 0 and "FILE:LINE" in out, "--help")
rc, out, err = run("import", "--data", data, "--addresses", os.path.join(d, "missing.csv"))
t.ok(rc == 1 and "missing.csv" in err, "missing file is a runtime failure", err)

# a large generated district (kept moderate under ASan; bench/data_bench.sh
# does 1,000,000 properties / ~200 MB with the release build)
n = int(os.environ.get("BINDAY_TEST_LARGE_PROPERTIES", "60000"))
gen = os.path.join(d, "gen")
rc, out, err = run("demo-data", "--out", gen, "--properties", n, "--seed", 3, "--year", 2026)
t.ok(rc == 0, "generate %d properties" % n, err)
size = sum(os.path.getsize(os.path.join(gen, f)) for f in os.listdir(gen))
big = os.path.join(d, "big")
t0 = time.time()
rc, out, err = run("import", "--data", big, *sum((["--" + f[:-4], os.path.join(gen, f)] for f in sorted(os.listdir(gen))), []), timeout=600)
dt = time.time() - t0
t.ok(rc == 0, "import %d properties (%.1f MB) in %.1f s under ASan" % (n, size / 1e6, dt), err)
print("# " + out.strip().splitlines()[-1] if out.strip() else "# no output")
rc2, out2, err2 = run("demo-data", "--out", gen + "2", "--properties", n, "--seed", 3, "--year", 2026)
same = all(open(os.path.join(gen, f), "rb").read() == open(os.path.join(gen + "2", f), "rb").read() for f in os.listdir(gen))
t.ok(rc2 == 0 and same, "demo data is deterministic for a seed")
cleanup(d)
t.done()
