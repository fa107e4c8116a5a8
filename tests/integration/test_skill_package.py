#!/usr/bin/python3
"""test_skill_package.py - checks the skill package against what the code
and Amazon expect: manifest permissions and events, the 20146 testing note,
the intents the skill handles, BinType ids equal to the service ids with
Breckland's colours, sample utterances Amazon would accept (no digits or
stray symbols, slots declared, no duplicates across intents), and that
`binday ask`'s matcher reaches every custom intent. Speaks TAP."""
import json
import os
import re
import subprocess
import sys

ROOT = os.environ.get("BINDAY_ROOT", os.getcwd())
BIN = os.environ.get("BINDAY_BIN", os.path.join(ROOT, "build/asan/binday"))
PKG = os.path.join(ROOT, "deploy", "skill-package")
n = failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)
    if not cond:
        failed += 1


def main():
    skill = json.load(open(os.path.join(PKG, "skill.json")))
    man = skill["manifest"]
    loc = man["publishingInformation"]["locales"]["en-GB"]
    ok(loc["name"] == "Breckland bins", "skill name")
    perms = sorted(p["name"] for p in man["permissions"])
    ok(perms == sorted(["alexa::devices:all:address:full:read", "alexa::profile:given_name:read",
                        "alexa::profile:email:read", "alexa::devices:all:notifications:write"]),
       "manifest permissions (manifest spellings)")
    subs = sorted(s["eventName"] for s in man["events"]["subscriptions"])
    ok(subs == ["SKILL_DISABLED", "SKILL_ENABLED", "SKILL_PERMISSION_ACCEPTED", "SKILL_PERMISSION_CHANGED",
                "SKILL_PROACTIVE_SUBSCRIPTION_CHANGED"], "event subscriptions")
    ok([p["eventName"] for p in man["events"]["publications"]] == ["AMAZON.TrashCollectionAlert.Activated"],
       "event publications")
    ok(any(i["type"] == "ALEXA_PRESENTATION_APL" for i in man["apis"]["custom"]["interfaces"]), "APL interface")
    ok(man["publishingInformation"]["category"] != "LOCAL", "category is not LOCAL (test_skill_package_render "
       "checks it against Amazon's list)")
    ok(man["events"]["endpoint"]["uri"].startswith("https://"), "events endpoint")
    ti = man["publishingInformation"]["testingInstructions"]
    ok("20146" in ti and "outside" in ti, "testing instructions mention the 20146 test address")
    priv = man["privacyAndCompliance"]["locales"]["en-GB"]
    ok(priv["privacyPolicyUrl"].startswith("https://") and priv["termsOfUseUrl"].startswith("https://"),
       "privacy policy and terms URLs")
    ok(man["privacyAndCompliance"]["usesPersonalInfo"] is True, "declares personal info use")
    ok(man["apis"]["custom"]["endpoint"]["uri"].startswith("https://"), "custom endpoint")

    model = json.load(open(os.path.join(PKG, "interactionModels", "custom", "en-GB.json")))
    lm = model["interactionModel"]["languageModel"]
    ok(lm["invocationName"] == "breckland bins", "invocation name")
    intents = {i["name"]: i for i in lm["intents"]}
    required = ["NextCollectionIntent", "BinTypeIntent", "WhichBinIntent", "UpcomingCollectionsIntent",
                "EmailLinkIntent", "ChooseAddressIntent", "MaterialIntent", "AlertOptInIntent", "AlertOptOutIntent",
                "AMAZON.YesIntent", "AMAZON.NoIntent",
                "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.FallbackIntent",
                "AMAZON.NavigateHomeIntent"]
    ok(sorted(intents) == sorted(required), "exactly the intents the skill handles")
    types = {t["name"]: t for t in lm.get("types", [])}
    bt = types.get("BinType")
    ok(bt is not None and sorted(v["id"] for v in bt["values"]) == ["food", "garden", "recycling", "refuse"],
       "BinType ids are the service ids")
    syn = {}
    for v in bt["values"]:
        for s in [v["name"]["value"]] + v["name"].get("synonyms", []):
            ok(s.lower() not in syn, "BinType phrase '%s' maps to one id" % s)
            syn[s.lower()] = v["id"]
    ok(syn.get("green") == "refuse" and syn.get("black") == "recycling" and syn.get("brown") == "garden" and
       syn.get("caddy") == "food", "Breckland colours: green rubbish, black recycling, brown garden, caddy food")
    ok(syn.get("green waste") == "garden" and syn.get("general waste") == "refuse", "kinds by name")
    seen = {}
    bad = []
    for name, it in intents.items():
        declared = {s["name"]: s["type"] for s in it.get("slots", [])}
        used = set()
        for s in it.get("samples", []):
            if not re.fullmatch(r"[A-Za-z' .{}]+", s) or re.search(r"\d", s):
                bad.append(s)
            for sl in re.findall(r"\{(\w+)\}", s):
                used.add(sl)
                if sl not in declared:
                    bad.append(s)
            if s.lower() in seen:
                bad.append(s)
            seen[s.lower()] = name
        ok(used == set(declared), "%s: every declared slot is used in a sample, none undeclared" % name)
        for sl, ty in declared.items():
            ok(ty.startswith("AMAZON.") or ty in types, "%s.%s type %s defined" % (name, sl, ty))
        if not name.startswith("AMAZON."):
            ok(len(it["samples"]) >= 15, "%s has plenty of samples (%d)" % (name, len(it["samples"])))
    ok(bad == [], "all samples valid for Amazon (%s)" % bad[:3])
    ok(intents["WhichBinIntent"]["slots"][0]["type"] == "AMAZON.DATE", "WhichBin uses AMAZON.DATE")
    ok(all(not s.strip().startswith("{Property}") for s in intents["ChooseAddressIntent"]["samples"]),
       "SearchQuery slot always has a carrier phrase")

    # every custom intent is reachable through `binday ask`'s matcher
    for name, it in intents.items():
        if name.startswith("AMAZON."):
            continue
        sample = next(s for s in it["samples"] if "{" not in s) if any("{" not in s for s in it["samples"]) else None
        if sample is None:
            sample = it["samples"][0].replace("{BinType}", "black").replace("{Date}", "tomorrow") \
                .replace("{Property}", "flat two").replace("{Material}", "pizza boxes")
        p = subprocess.run([BIN, "ask", "--print-request", "--today", "2026-11-28", sample], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = json.loads(p.stdout)["request"].get("intent", {}).get("name") if p.returncode == 0 else None
        ok(got == name, "'%s' -> %s via binday ask" % (sample, name))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
