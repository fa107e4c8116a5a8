#!/usr/bin/python3
"""Echo Show visuals and "what goes in which bin?", end to end through the
real server: signed requests, the fake Amazon cloud for the address, demo data
(with a moved collection and a notice in force added) in a real LMDB store.

- A device that lists Alexa.Presentation.APL gets a RenderDocument directive
  whose document is the skill package's, whose datasource carries the next
  collections as `binday lookup` reports them (colour, date, moved), and the
  notice in force; a device without a screen gets none, and both keep the
  Simple card.
- MaterialIntent answers from materials.csv with the service's spoken name,
  by slot id and by the words heard; "can I put X in the Y" says yes or no.
- materials.csv import: FILE:LINE problems, references to services, nothing
  changed on a rejected file."""
import datetime
import json
import os
import re

from harness import run_binday, tempdir
from skill_env import TODAY, SkillEnv
from tap import Tap
from test_skill import addr, pick_data

ROOT = os.environ.get("BINDAY_ROOT", ".")
APL = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "1.8"}}}
DOC = os.path.join(ROOT, "deploy", "skill-package", "response", "display", "BinDayCollections", "document.json")


def day_after(iso):
    return (datetime.date.fromisoformat(iso) + datetime.timedelta(days=1)).isoformat()


def prepare(env, house):
    """Move the house's first collection by a day and add a notice in force."""
    lk = env.lookup(house["postcode"], [house["paon"] + " " + house["street"]])
    first = lk["collections"][0]["date"]
    exc = os.path.join(env.csv, "exceptions.csv")
    with open(exc, "a") as f:
        f.write("*,moved,%s,%s,a test closure\n" % (first, day_after(first)))
    nt = os.path.join(env.csv, "notices.csv")
    with open(nt, "a") as f:
        f.write("apl-test,all,2026-11-01,2026-12-31,\"Please leave bins at the kerb edge.\"\n")
    r = run_binday("import", "--data", env.data, "--exceptions", exc, "--notices", nt)
    return r.returncode == 0, r.stderr


def check_apl(t, env, house):
    want = env.lookup(house["postcode"], [house["paon"] + " " + house["street"]])
    r = env.intent("NextCollectionIntent", token="tok-house", interfaces=APL)
    t.eq(r.status, 200, "APL device: 200")
    dirs = r.response.get("directives") or []
    t.eq(len(dirs), 1, "APL device: one directive")
    d = dirs[0] if dirs else {}
    t.eq(d.get("type"), "Alexa.Presentation.APL.RenderDocument", "directive type")
    t.eq(d.get("token"), "binday-collections", "directive token")
    doc = d.get("document") or {}
    t.eq(doc, json.load(open(DOC)), "the document is the skill package's document.json, inline")
    t.ok(doc.get("type") == "APL" and isinstance(doc.get("version"), str)
         and doc.get("mainTemplate", {}).get("parameters") == ["payload"], "document: APL, version, payload parameter")
    ds = (d.get("datasources") or {}).get("binday") or {}
    t.eq(ds.get("type"), "object", "datasource binday is an object datasource")
    props = ds.get("properties") or {}
    cols = props.get("collections") or []
    dates = sorted({c["date"] for c in want["collections"] if c["date"] >= TODAY})[:3]
    t.eq([c.get("date") for c in cols], dates, "the next three collection dates, as binday lookup has them")
    moved_seen = False
    for c in cols:
        t.ok(isinstance(c.get("when"), str) and c["when"], "date %s has a label" % c.get("date"), c)
        exp = [x for x in want["collections"] if x["date"] == c["date"]]
        t.eq(sorted(b.get("service_id") for b in c.get("bins", [])), sorted(x["service_id"] for x in exp),
             "bins on %s" % c["date"])
        for b in c.get("bins", []):
            x = next((x for x in exp if x["service_id"] == b.get("service_id")), {})
            moved = bool(x.get("changed")) and x.get("original_date") != x.get("date")
            moved_seen |= moved
            t.ok(b.get("colour") == x.get("colour") and b.get("kind") == x.get("name")
                 and re.fullmatch(r"#[0-9A-F]{6}", b.get("swatch", "")) and re.fullmatch(r"#[0-9A-F]{6}", b.get("ink", ""))
                 and b.get("moved") is moved and isinstance(b.get("label"), str),
                 "bin %s on %s: colour, kind, swatch, ink, moved=%s" % (b.get("service_id"), c["date"], moved), b)
        if any(b.get("moved") for b in c.get("bins", [])):
            t.contains(c.get("note", ""), "a test closure", "a moved date says why")
    t.ok(moved_seen, "the moved collection is among those shown")
    t.eq(cols[0]["when"].split(",")[0] if cols else None,
         "Tomorrow" if dates and dates[0] == day_after(TODAY) else cols[0]["when"].split(",")[0] if cols else None,
         "tomorrow is labelled Tomorrow")
    msgs = [n["message"] for n in want.get("notices", [])]
    t.ok("Please leave bins at the kerb edge." in msgs, "lookup reports the notice in force")
    t.contains(props.get("notice", ""), "Please leave bins at the kerb edge.", "the notice in force is on screen")
    t.eq(r.card.get("type"), "Simple", "APL device keeps the Simple card")
    t.ok(len(r.raw.encode()) < 24 * 1024, "response under 24 KB (%d bytes)" % len(r.raw.encode()))

    # the same answer for a device without a screen: no directive, the card
    r2 = env.intent("NextCollectionIntent", token="tok-house")
    t.ok("directives" not in r2.response, "no screen: no directive", r2.response.keys())
    t.eq(r2.card.get("type"), "Simple", "no screen: Simple card")
    t.eq(r2.speech, r.speech, "same speech with and without a screen")

    # launch, upcoming and a bin question carry it too
    for name, call in (("launch", lambda: env.launch(token="tok-house", interfaces=APL)),
                       ("upcoming", lambda: env.intent("UpcomingCollectionsIntent", token="tok-house", interfaces=APL)),
                       ("bin type", lambda: env.intent("BinTypeIntent", {"BinType": ("black", "recycling")},
                                                       token="tok-house", interfaces=APL))):
        rr = call()
        ds2 = (rr.response.get("directives") or [{}])[0]
        t.eq(ds2.get("type"), "Alexa.Presentation.APL.RenderDocument", "%s: RenderDocument on a screen" % name)

    # answers without collections (help) have no visual; nothing breaks
    rh = env.intent("AMAZON.HelpIntent", interfaces=APL)
    t.ok(rh.status == 200 and "directives" not in rh.response and "where does glass go" in rh.speech,
         "help: mentions materials, no directive", rh)


def check_materials(t, env):
    r = env.intent("MaterialIntent", {"Material": ("pizza boxes", "pizza-boxes")})
    t.eq(r.status, 200, "material: 200")
    t.contains(r.speech, "You can put pizza boxes in the black recycling bin", "resolved id: the service's spoken name")
    t.contains(r.speech, "Scrape off leftover food", "the note is said")
    t.eq(r.end, True, "material answer ends the session")
    t.eq(r.card.get("title"), "What goes in which bin", "material card")
    r = env.intent("MaterialIntent", {"Material": "glass jars"})
    t.ok("doesn't collect glass bottles and jars" in r.speech and "bottle bank" in r.speech,
         "unresolved words matched by synonym; not collected: where to take it", r.speech)
    r = env.intent("MaterialIntent", {"Material": "Tea bag"})
    t.contains(r.speech, "food waste caddy", "singular of a synonym (tea bags) finds food waste")
    r = env.intent("MaterialIntent", {"Material": ("pizza boxes", "pizza-boxes"), "BinType": ("green", "refuse")})
    t.ok(r.speech.startswith("No.") and "black recycling bin" in r.speech, "can I put it in the wrong bin: no + the right one",
         r.speech)
    r = env.intent("MaterialIntent", {"Material": ("paper", "paper"), "BinType": ("black", "recycling")})
    t.ok(r.speech.startswith("Yes.") and "black recycling bin" in r.speech, "can I put it in the right bin: yes", r.speech)
    r = env.intent("MaterialIntent", {"Material": "unicorn <tears> & co"})
    t.ok("don't know where unicorn" in r.speech and "&amp;" in r.ssml and "<tears>" not in r.ssml,
         "unknown material: said so, the words escaped", r.ssml)
    r = env.intent("MaterialIntent", {})
    t.ok(r.end is False and "Which material" in r.speech and r.reprompt, "no material heard: asks, session open", r)
    cf = {"type": "CanFulfillIntentRequest", "intent": {"name": "MaterialIntent", "slots": {
        "Material": {"name": "Material", "value": "glass"}}}}
    r = env.post(env.envelope(cf))
    t.eq((r.response.get("canFulfillIntent") or {}).get("canFulfill"), "YES",
         "CanFulfill MaterialIntent: YES (no address needed)")


def check_import(t, d):
    data = os.path.join(d, "imp")
    csvd = os.path.join(d, "imp-csv")
    run_binday("demo-data", "--out", csvd, "--properties", 100, "--seed", 2, "--year", 2026)
    svc = os.path.join(csvd, "services.csv")
    r = run_binday("import", "--data", data, "--services", svc, "--materials", os.path.join(csvd, "materials.csv"))
    t.ok(r.returncode == 0 and "materials: 29 rows" in r.stdout, "demo materials import with the services", r.stdout + r.stderr)
    bad = os.path.join(d, "bad-materials.csv")
    with open(bad, "w") as f:
        f.write("material,synonyms,service_id,take_to,note\n"
                "Glass,bottles;jars,recycling,,\n"
                "Jam jars,glass,recycling,,\n"
                "Batteries,,not collected,,\n"
                "Foo,,nosuch,,\n"
                "Tins,a;;b,recycling,,\n")
    r = run_binday("import", "--data", data, "--materials", bad)
    t.eq(r.returncode, 3, "bad materials: exit 3")
    for line, what in ((3, "also names material glass"), (4, "take_to: required"), (5, "unknown service_id"),
                       (6, "empty synonym")):
        t.contains(r.stderr, "%s:%d: " % (bad, line), "problem reported at line %d" % line)
        t.contains(r.stderr, what, "line %d: %s" % (line, what))
    # stored materials reference the services: removing one they use is refused
    small = os.path.join(d, "small-services.csv")
    with open(small, "w") as f:
        f.write("service_id,name,colour,spoken_name\nrefuse,Household rubbish,green,green bin\n")
    r = run_binday("import", "--data", data, "--services", small)
    t.ok(r.returncode == 3 and "stored:materials" in r.stderr and "unknown service_id" in r.stderr,
         "a services import that drops a service stored materials use is refused", r.stderr)


def main():
    t = Tap()
    with tempdir() as d:
        env = SkillEnv(d, scenarios={})
        house, _, _ = pick_data(env.addresses())
        env.fake.scenarios["house"] = {"address": addr("%s %s" % (house["paon"], house["street"].title()),
                                                       house["postcode"], house["town"].title())}
        okp, err = prepare(env, house)
        t.ok(okp, "moved collection and notice imported", err)
        env.start()
        try:
            t.run(check_apl, env, house)
            t.run(check_materials, env)
        finally:
            t.eq(env.stop(), 0, "server exits 0")
        t.run(check_import, d)
    t.done()


if __name__ == "__main__":
    main()
