#!/usr/bin/python3
"""`binday skill-package`: renders the package into a temp dir with a
council's own values and checks it against the structure alexa.md and
Amazon's manifest reference describe: no REPLACE placeholder anywhere,
permissions (manifest spellings) incl. notifications, event publications and
subscriptions, the APL interface, a category from Amazon's list, icon URIs
under the public URL (fetched over HTTPS from the real server: PNGs of the
right size, the same bytes the command wrote), the MATERIAL slot values from
the council's materials table, and bad input refused with nothing written."""
import json
import os
import struct
import zlib

from harness import Server, run_binday, server_cert, tempdir
from tap import Tap

ROOT = os.environ.get("BINDAY_ROOT", ".")

# Amazon's manifest categories (ASK SMAPI skill manifest reference); "LOCAL" is not one.
CATEGORIES = set("""ALARMS_AND_CLOCKS ASTROLOGY BUSINESS_AND_FINANCE CALCULATORS CALENDARS_AND_REMINDERS
CHILDRENS_EDUCATION_AND_REFERENCE CHILDRENS_GAMES CHILDRENS_MUSIC_AND_AUDIO CHILDRENS_NOVELTY_AND_HUMOR COMMUNICATION
CONNECTED_CAR COOKING_AND_RECIPE CURRENCY_GUIDES_AND_CONVERTERS DATING DELIVERY_AND_TAKEOUT DEVICE_TRACKING
EDUCATION_AND_REFERENCE EVENT_FINDERS EXERCISE_AND_WORKOUT FASHION_AND_STYLE FLIGHT_FINDERS FRIENDS_AND_FAMILY
GAME_INFO_AND_ACCESSORY GAMES HEALTH_AND_FITNESS HOTEL_FINDERS KNOWLEDGE_AND_TRIVIA MOVIE_AND_TV_KNOWLEDGE_AND_TRIVIA
MOVIE_INFO_AND_REVIEWS MOVIE_SHOWTIMES MUSIC_AND_AUDIO_ACCESSORIES MUSIC_AND_AUDIO_KNOWLEDGE_AND_TRIVIA
MUSIC_INFO_REVIEWS_AND_RECOGNITION_SERVICE NAVIGATION_AND_TRIP_PLANNER NEWS NOVELTY ORGANIZERS_AND_ASSISTANTS
PETS_AND_ANIMAL PODCAST PUBLIC_TRANSPORTATION RELIGION_AND_SPIRITUALITY RESTAURANT_BOOKING_INFO_AND_REVIEW SCHOOLS
SCORE_KEEPING SELF_IMPROVEMENT SHOPPING SMART_HOME SOCIAL_NETWORKING SPORTS_GAMES SPORTS_NEWS STREAMING_SERVICE
TAXI_AND_RIDESHARING TO_DO_LISTS_AND_NOTES TRANSLATORS TV_GUIDES UNIT_CONVERTERS WEATHER WINE_AND_BEVERAGE
ZIP_CODE_LOOKUP""".split())
VIEWPORT_KEYS = {"mode", "shape", "minWidth", "maxWidth", "minHeight", "maxHeight"}


def png_info(b):
    """(width, height) of a well-formed PNG (every chunk's CRC checked), else None."""
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    i, size, seen_end = 8, None, False
    while i + 12 <= len(b):
        n, = struct.unpack(">I", b[i:i + 4])
        kind, data = b[i + 4:i + 8], b[i + 8:i + 8 + n]
        crc, = struct.unpack(">I", b[i + 8 + n:i + 12 + n])
        if zlib.crc32(kind + data) != crc:
            return None
        if kind == b"IHDR":
            size = struct.unpack(">II", data[:8])
        if kind == b"IEND":
            seen_end = True
        i += 12 + n
    return size if seen_end else None


def walk_strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from walk_strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk_strings(x)


def check_manifest(t, m, public, privacy, terms, council):
    man = m["manifest"]
    t.eq(m.get("manifestVersion"), "1.0", "manifestVersion 1.0")
    pi = man["publishingInformation"]
    loc = pi["locales"]["en-GB"]
    t.eq(loc["name"], council["skill_name"], "store name from the config")
    t.ok(all(k in loc for k in ("summary", "description", "examplePhrases", "keywords")), "listing text present")
    t.ok(all(p.startswith("Alexa, ") and council["skill_name"] in p for p in loc["examplePhrases"][:2]),
         "example phrases name the skill", loc["examplePhrases"])
    t.ok(len(loc["examplePhrases"]) <= 3 and len(loc["keywords"]) <= 30, "Amazon's limits: 3 phrases, 30 keywords")
    t.eq(loc["smallIconUri"], public + "/static/skill-icon-108.png", "small icon under the public URL")
    t.eq(loc["largeIconUri"], public + "/static/skill-icon-512.png", "large icon under the public URL")
    t.ok(pi["category"] in CATEGORIES and pi["category"] != "LOCAL", "category %s is one of Amazon's" % pi["category"])
    t.eq(pi["distributionCountries"], ["GB"], "distributed in GB")
    ti = pi["testingInstructions"]
    t.ok("20146" in ti and "outside" in ti, "testing instructions: the 20146 device")
    t.contains(ti, council["skill_test_address"], "testing instructions: the council's test address")
    t.ok("Breckland" not in json.dumps(m), "no Breckland left in another council's manifest")
    t.contains(loc["description"], council["council_name"], "description names the council")
    t.contains(ti, council["council_url"], "testing instructions name the council's page")
    priv = man["privacyAndCompliance"]
    t.eq(priv["locales"]["en-GB"], {"privacyPolicyUrl": privacy, "termsOfUseUrl": terms}, "privacy and terms URLs")
    t.ok(priv["usesPersonalInfo"] is True and priv["allowsPurchases"] is False and priv["isChildDirected"] is False,
         "privacy flags")
    custom = man["apis"]["custom"]
    t.eq(custom["endpoint"], {"uri": public + "/alexa", "sslCertificateType": "Trusted"}, "endpoint")
    t.eq(custom["regions"]["EU"]["endpoint"]["uri"], public + "/alexa", "EU endpoint")
    ifs = {i["type"]: i for i in custom["interfaces"]}
    apl = ifs.get("ALEXA_PRESENTATION_APL")
    t.ok(apl is not None, "APL interface declared")
    vps = (apl or {}).get("supportedViewports", [])
    t.ok(vps and all(set(v) == VIEWPORT_KEYS and v["minWidth"] <= v["maxWidth"] and v["minHeight"] <= v["maxHeight"]
                     and v["mode"] in ("HUB", "TV", "MOBILE", "PC", "AUTO") and v["shape"] in ("ROUND", "RECTANGLE")
                     for v in vps), "supported viewports well formed", vps)
    perms = sorted(p["name"] for p in man["permissions"])
    t.eq(perms, sorted(["alexa::devices:all:address:full:read", "alexa::profile:given_name:read",
                        "alexa::profile:email:read", "alexa::devices:all:notifications:write"]),
         "permissions in manifest spellings, notifications included")
    ev = man["events"]
    t.eq(ev["endpoint"]["uri"], public + "/alexa", "events endpoint")
    t.eq([p["eventName"] for p in ev["publications"]], ["AMAZON.TrashCollectionAlert.Activated"], "event publications")
    t.eq(sorted(s["eventName"] for s in ev["subscriptions"]),
         ["SKILL_DISABLED", "SKILL_ENABLED", "SKILL_PERMISSION_ACCEPTED", "SKILL_PERMISSION_CHANGED",
          "SKILL_PROACTIVE_SUBSCRIPTION_CHANGED"], "event subscriptions")


def main():
    t = Tap()
    with tempdir() as d:
        public, privacy, terms = "https://bins.example-council.gov.uk", \
            "https://www.example-council.gov.uk/privacy#alexa-skill", "https://www.example-council.gov.uk/terms"
        council = {"council_name": "Example Borough Council", "council_area": "Exampleshire",
                   "council_url": "https://www.example-council.gov.uk/bins", "skill_name": "Exampleshire bins",
                   "invocation_name": "exampleshire bins", "skill_test_address": "1 Market Place, Exampletown EX1 1AA"}
        cfg = os.path.join(d, "config.json")
        with open(cfg, "w") as f:
            json.dump(dict(council, public_url=public + "/"), f)

        # the council's own materials, imported as staff would
        data = os.path.join(d, "data")
        csvd = os.path.join(d, "csv")
        run_binday("demo-data", "--out", csvd, "--properties", 100, "--seed", 4, "--year", 2026)
        mats = os.path.join(d, "materials.csv")
        with open(mats, "w") as f:
            f.write("material,synonyms,service_id,take_to,note\n"
                    "Pizza boxes,pizza box;takeaway boxes;Pizza Boxes,recycling,,\n"
                    "Batteries,,not collected,the library,\n")
        r = run_binday("import", "--data", data, "--services", os.path.join(csvd, "services.csv"), "--materials", mats)
        t.eq(r.returncode, 0, "council materials imported")

        out = os.path.join(d, "pkg")
        r = run_binday("skill-package", "--config", cfg, "--privacy-url", privacy, "--terms-url", terms, "--out", out,
                       "--data", data)
        t.eq(r.returncode, 0, "skill-package renders (public URL from the config)")
        files = sorted(os.path.relpath(os.path.join(a, f), out) for a, _, fs in os.walk(out) for f in fs)
        t.eq(files, ["assets/images/skill-icon-108.png", "assets/images/skill-icon-512.png",
                     "interactionModels/custom/en-GB.json", "response/display/BinDayCollections/document.json",
                     "skill.json"], "the package's files")
        placeholders = [f for f in files if b"REPLACE" in open(os.path.join(out, f), "rb").read()]
        t.eq(placeholders, [], "no REPLACE placeholder in any file")
        m = json.load(open(os.path.join(out, "skill.json")))
        check_manifest(t, m, public, privacy, terms, council)
        model = json.load(open(os.path.join(out, "interactionModels", "custom", "en-GB.json")))
        lm = model["interactionModel"]["languageModel"]
        t.eq(lm["invocationName"], "exampleshire bins", "invocation name from the config")
        types = {x["name"]: x for x in lm["types"]}
        t.eq(types["MATERIAL"]["values"],
             [{"id": "batteries", "name": {"value": "Batteries"}},
              {"id": "pizza-boxes", "name": {"value": "Pizza boxes", "synonyms": ["pizza box", "takeaway boxes"]}}],
             "MATERIAL values and synonyms from the council's materials (a synonym equal to the name dropped)")
        committed = json.load(open(os.path.join(ROOT, "deploy", "skill-package", "interactionModels", "custom",
                                                "en-GB.json")))
        lm0 = committed["interactionModel"]["languageModel"]
        t.eq([i["name"] for i in lm["intents"]], [i["name"] for i in lm0["intents"]], "same intents as the committed model")
        doc = json.load(open(os.path.join(out, "response", "display", "BinDayCollections", "document.json")))
        t.eq(doc, json.load(open(os.path.join(ROOT, "deploy", "skill-package", "response", "display",
                                              "BinDayCollections", "document.json"))), "the APL document as committed")
        t.ok(all("REPLACE" not in s for s in walk_strings(m)), "no placeholder in any manifest string")

        # without --data: the built-in list is the committed MATERIAL type
        out2 = os.path.join(d, "pkg2")
        r = run_binday("skill-package", "--public-url", "https://bins.breckland.example", "--privacy-url", privacy,
                       "--terms-url", terms, "--out", out2)
        t.eq(r.returncode, 0, "renders with Breckland's defaults")
        lm2 = json.load(open(os.path.join(out2, "interactionModels", "custom", "en-GB.json")))["interactionModel"]["languageModel"]
        t.eq(lm2, lm0, "default rendering reproduces the committed interaction model (MATERIAL from data/materials.csv)")
        m2 = json.load(open(os.path.join(out2, "skill.json")))
        t.ok("REPLACE" not in json.dumps(m2) and "any address the council collects from" in
             m2["manifest"]["publishingInformation"]["testingInstructions"], "no test address: a plain sentence instead")
        t.eq(open(os.path.join(out, "assets/images/skill-icon-512.png"), "rb").read(),
             open(os.path.join(out2, "assets/images/skill-icon-512.png"), "rb").read(), "icons are deterministic")

        # bad input: refused, nothing written
        for args, why in ((["--public-url", "http://bins.example"], "http public URL"),
                          (["--public-url", "https://bins.example/a b"], "space in URL"),
                          (["--public-url", "https://bins.example", "--test-address", "x\"y"], "quote in test address")):
            o = os.path.join(d, "bad-%d" % len(why))
            r = run_binday("skill-package", *args, "--privacy-url", privacy, "--terms-url", terms, "--out", o)
            t.ok(r.returncode == 2 and not os.path.exists(o), "refused: %s" % why, r.stderr)
        r = run_binday("skill-package", "--out", os.path.join(d, "bad-x"))
        t.eq(r.returncode, 2, "missing URLs: usage error")

        # the server serves the icons the manifest names
        pki = server_cert(d)
        with Server(d, pki, data=data) as srv:
            for key, size in (("smallIconUri", 108), ("largeIconUri", 512)):
                uri = m["manifest"]["publishingInformation"]["locales"]["en-GB"][key]
                path = uri[len(public):]
                st, hdr, body = srv.request("GET", path)
                t.ok(st == 200 and hdr.get("content-type") == "image/png", "%s %s: 200 image/png" % (key, path))
                t.eq(png_info(body), (size, size), "%s is a %dx%d PNG" % (key, size, size))
                t.eq(body, open(os.path.join(out, "assets", "images", os.path.basename(path)), "rb").read(),
                     "%s: the bytes skill-package wrote" % key)
            st, _, _ = srv.request("GET", "/static/other.png")
            t.eq(st, 404, "other /static/ paths: 404")
            st, _, _ = srv.request("GET", "/static/skill-icon-108.png/../../alexa")
            t.ok(st in (404, 405), "no path games under /static/")
    t.done()


if __name__ == "__main__":
    main()
