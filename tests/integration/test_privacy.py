"""Privacy end to end through the real server: transcripts of each turn,
skill events (revocation, out-of-order delivery, disabling), `binday user
export|forget` and `binday purge`, each checked against what a copy of the
data directory would still give up (privacy_probe.py)."""
import datetime
import json
import os
import glob
import time

from harness import run_binday, tempdir
from privacy_probe import probe, pseudonym, raw_files, recent_days
from skill_env import SkillEnv
from tap import Tap


def addr(line1, postcode, city=None):
    return {"addressLine1": line1, "addressLine2": None, "addressLine3": None, "city": city,
            "districtOrCounty": "Norfolk", "stateOrRegion": None, "countryCode": "GB", "postalCode": postcode}


def iso(seconds_ago):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def export(env, user):
    r = run_binday("user", "export", "--data", env.data, "--user-id", user)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def export_turns(env, user, n, timeout=10):
    """Export once `n` transcripts are stored: the server's writer thread
    commits a turn's record a moment after the answer is sent."""
    deadline = time.time() + timeout
    while True:
        e = export(env, user)
        if len(e.get("transcripts", [])) >= n or time.time() > deadline:
            return e
        time.sleep(0.1)


def perm_event(env, user, etype, scopes, ago):
    req = {"type": etype, "timestamp": iso(ago), "body": {"acceptedPermissions": [{"scope": s} for s in scopes]}}
    return env.post(env.envelope(req, user=user, with_session=False))


def main():
    t = Tap()
    with tempdir() as d:
        env = SkillEnv(d, scenarios={}, properties=600)
        rows = env.addresses()
        by_parent = {}
        for r in rows:
            if r["parent_uprn"]:
                by_parent.setdefault(r["parent_uprn"], []).append(r)
        house = next(r for r in rows if r["paon"].isdigit() and not r["saon"] and not r["parent_uprn"])
        flat = next(v for v in by_parent.values() if len(v) >= 2)[0]
        env.fake.scenarios.update({
            "house": {"address": addr("%s %s" % (house["paon"], house["street"].title()), house["postcode"],
                                      house["town"].title())},
            "flats": {"address": addr(flat["street"].title(), flat["postcode"], flat["town"].title())},
        })
        env.start()
        try:
            run(t, env)
        finally:
            t.eq(env.stop(), 0, "server exits 0")
            log = env.server.log()
            t.not_contains(log, "PRIVACY_", "no raw Alexa user id in the log")
    t.done()


def run(t, env):
    A, B, C = "amzn1.ask.account.PRIVACY_A", "amzn1.ask.account.PRIVACY_B", "amzn1.ask.account.PRIVACY_C"
    days = recent_days()
    # --- conversations write transcripts
    r = env.launch(token="tok-house", user=A)
    t.eq(r.status, 200, "A: launch answered")
    t.contains(r.speech, "Hello Jane", "A: greeted by given name (the fake Amazon's Jane)")
    r = env.intent("WhichBinIntent", {"Date": "2026-12-02"}, token="tok-house", user=A)
    t.eq(r.status, 200, "A: which bin answered")
    a_said = r.speech
    r = env.intent("NextCollectionIntent", token="tok-flats", user=B)
    cands = r.attrs.get("candidates", [])
    t.ok(len(cands) >= 2, "B: asked which property", r)
    chosen = cands[1] if len(cands) >= 2 else {"label": "?", "uprn": "0"}
    r = env.intent("ChooseAddressIntent", {"Property": chosen["label"].lower()}, token="tok-flats", user=B,
                   attrs=r.attrs, new=False)
    t.contains(r.speech, "Your next collection is", "B: chose a property")

    ua, ub = pseudonym(env.data, A), pseudonym(env.data, B)
    ea = export_turns(env, A, 2)
    t.eq(sorted(ea.keys()), ["pseudonymous_id", "transcripts", "user_id"], "export A: exactly what is held", )
    tr = ea.get("transcripts", [])
    t.eq(len(tr), 2, "export A: one transcript per turn")
    t.eq([x.get("request_type") for x in tr], ["LaunchRequest", "IntentRequest"], "export A: request types in order")
    if len(tr) == 2:
        t.eq((tr[1]["intent"], tr[1]["slots"], tr[1]["user"]), ("WhichBinIntent", {"Date": "2026-12-02"}, ua),
             "transcript: intent, slot values, pseudonymous user")
        t.eq(tr[1]["said"].strip(), a_said.strip(), "transcript: what the skill said")
        t.ok(tr[1]["time"].endswith("Z") and len(tr[1]["time"]) == 24, "transcript: time", tr[1]["time"])
        t.contains(tr[0]["said"], "Hello [given name]", "transcript: the greeting holds a placeholder for the name")
    t.not_contains(json.dumps(ea), "Jane", "export A: the given name is not stored")
    eb = export_turns(env, B, 2)
    t.eq([c.get("uprn") for c in eb.get("address_choices", [])], [str(chosen.get("uprn"))] if "uprn" in chosen else [
        c.get("uprn") for c in eb.get("address_choices", [])], "export B: the remembered property")
    t.ok(all(c.get("address") and c["address"][0].isalnum() for c in eb.get("address_choices", [])),
         "export B: the remembered address as text, with its UPRN", eb.get("address_choices"))
    r = run_binday("user", "export", "--data", env.data, "--user-id", B, "--format", "text")
    t.ok(r.returncode == 0 and "1. Your remembered address" in r.stdout and
         (eb.get("address_choices") or [{}])[0].get("address", "?") in r.stdout and "UPRN" in r.stdout and
         "4. Records of your conversations" in r.stdout, "export B as a letter: the address and the turns", r.stdout)
    t.ok(eb.get("address_choices") and len(eb["address_choices"]) == 1, "export B: one choice", eb)
    t.eq(len(eb.get("transcripts", [])), 2, "export B: two turns")
    uprn_b = (eb.get("address_choices") or [{"uprn": "?"}])[0]["uprn"]

    # nothing readable in the raw files without the keys
    blob = b"".join(raw_files(env.data).values())
    for marker, what in ((a_said.encode()[:40], "what the skill said"), (ua.encode(), "A's pseudonymous id"),
                         (ub.encode(), "B's pseudonymous id"), (A.encode(), "A's Alexa user id"),
                         (b"WhichBinIntent", "intent names")):
        t.ok(marker not in blob, "raw files: no plaintext %s" % what)
    pb = probe(env.data, ub, days)
    t.eq((len(pb["transcripts"]), pb["choices"]), (2, [uprn_b]), "probe has teeth: B's data opens with the keys on disk")
    pa = probe(env.data, ua, days)
    t.ok(len(pa["transcripts"]) == 2 and not any("Jane" in x for x in pa["transcripts"]) and b"Jane" not in blob,
         "A's transcripts opened from the raw files (free pages included) hold no given name", pa["transcripts"])

    # --- events, out of order: address granted (old), revoked (newer), a stale grant arrives last
    ADDR = "read::alexa:device:all:address"
    ev = perm_event(env, B, "AlexaSkillEvent.SkillPermissionAccepted", [ADDR, "alexa::profile:email:read"], 30)
    t.eq((ev.status, ev.json), (200, {"version": "1.0", "response": {}}), "grant event acknowledged")
    t.eq(export(env, B).get("address_choices") and 1, 1, "address still granted: choice kept")
    ev = perm_event(env, B, "AlexaSkillEvent.SkillPermissionChanged", [], 10)
    t.eq(ev.status, 200, "revoke event acknowledged")
    eb = export(env, B)
    t.ok("address_choices" not in eb, "revoked: choice gone from export", eb)
    t.eq(eb.get("skill_events", {}).get("permissions"), [], "revoked: current permissions empty")
    ev = perm_event(env, B, "AlexaSkillEvent.SkillPermissionAccepted", ["alexa::devices:all:address:full:read"], 20)
    t.eq(ev.status, 200, "stale grant acknowledged")
    eb = export(env, B)
    t.eq(eb.get("skill_events", {}).get("permissions"), [], "an older event does not undo the newer revocation")
    pb = probe(env.data, ub, days)
    t.eq((pb["choices"], pb["choice_keys"]), ([], 0), "revoked choice not recoverable from the data directory")
    t.eq(len(pb["transcripts"]), 2, "revoking the address keeps the transcripts")
    t.eq(len(glob.glob(os.path.join(env.data, "vault-*.key"))), 1, "one KEK file left after rotation")
    r = env.intent("NextCollectionIntent", token="tok-flats", user=B)
    t.contains(r.speech, "Which one is yours", "after revocation B is asked again")
    t.contains(env.server.log(), "applied=0", "the stale event was logged as not applied")

    # --- disable: everything about A goes (the ordering state stays a while)
    ev = env.post(env.envelope({"type": "AlexaSkillEvent.SkillDisabled", "timestamp": iso(1),
                                "body": {"userInformationPersistenceStatus": "NOT_PERSISTED"}},
                               user=A, with_session=False))
    t.eq(ev.status, 200, "disable acknowledged")
    ea = export(env, A)
    t.eq(sorted(ea.keys()), ["pseudonymous_id", "skill_events", "user_id"], "disabled: only the ordering state left")
    t.eq(ea.get("skill_events", {}).get("disabled"), True, "disabled recorded")
    pa = probe(env.data, ua, days)
    t.eq((pa["transcripts"], pa["user_keys"]), ([], 0), "disabled: A's transcripts not recoverable")
    ev = env.post(env.envelope({"type": "AlexaSkillEvent.SkillEnabled", "timestamp": iso(40)}, user=A,
                               with_session=False))
    t.eq(export(env, A).get("skill_events", {}).get("disabled"), True, "an older enable does not undo the disable")

    # --- a 403 in a conversation erases like a revocation event
    D = "amzn1.ask.account.PRIVACY_D"
    ud = pseudonym(env.data, D)
    r = env.intent("NextCollectionIntent", token="tok-flats", user=D)
    cands = r.attrs.get("candidates", [])
    if len(cands) >= 2:
        env.intent("ChooseAddressIntent", {"Property": cands[0]["label"].lower()}, token="tok-flats", user=D,
                   attrs=r.attrs, new=False)
    t.eq(len(export_turns(env, D, 2).get("address_choices", [])), 1, "D: choice remembered")
    r = env.intent("NextCollectionIntent", token="tok-noaddress", user=D)
    t.eq(r.card.get("type"), "AskForPermissionsConsent", "D: address 403 asks for the permission")
    ed = export_turns(env, D, 3)
    t.ok("address_choices" not in ed and len(ed.get("transcripts", [])) == 3, "D: 403 erased the choice only", ed)
    t.eq(probe(env.data, ud, days)["choices"], [], "D: the choice is not recoverable after the 403")

    # --- forget B through the CLI while the server runs
    r = run_binday("user", "forget", "--data", env.data, "--user-id", B)
    t.eq(r.returncode, 0, "user forget exits 0", )
    eb = export(env, B)
    t.eq(sorted(eb.keys()), ["pseudonymous_id", "user_id"], "forgotten: export lists nothing")
    pb = probe(env.data, ub, days)
    t.eq((pb["transcripts"], pb["choices"], pb["user_keys"]), ([], [], 0), "forgotten: nothing recoverable")

    # --- retention: C talks now; purge as of 10 days on keeps it, as of 200 days on removes it
    r = env.launch(token="tok-house", user=C)
    t.eq(r.status, 200, "C: launch")
    uc = pseudonym(env.data, C)
    today = datetime.date.today()
    export_turns(env, C, 1)
    r = run_binday("purge", "--data", env.data, "--as-of", (today + datetime.timedelta(days=10)).isoformat())
    t.eq(r.returncode, 0, "purge (10 days on) exits 0")
    t.eq(len(export(env, C).get("transcripts", [])), 1, "a recent transcript is kept")
    r = run_binday("purge", "--data", env.data, "--as-of", (today + datetime.timedelta(days=200)).isoformat())
    t.eq(r.returncode, 0, "purge (200 days on) exits 0")
    t.ok(json.loads(r.stdout or "{}").get("erased", 0) > 0, "purge reports what it erased", r.stdout)
    t.ok("transcripts" not in export(env, C), "transcripts older than six months: gone from export")
    pc = probe(env.data, uc, days)
    t.eq(pc["transcripts"], [], "...and not recoverable from the raw files")
    r = run_binday("purge", "--data", env.data, "--as-of", "2026-13-01")
    t.eq(r.returncode, 2, "purge: a bad date is a usage error")
    r = run_binday("user", "export", "--data", env.data)
    t.eq(r.returncode, 2, "user export without --user-id: usage error")
    # the server carries on after other processes rotated the vault
    r = env.launch(token="tok-house", user=C)
    t.eq(r.status, 200, "C: talks again after the purge")
    t.eq(len(export_turns(env, C, 1).get("transcripts", [])), 1, "the new turn is recorded under fresh keys")
    # a configured period (the serve config's key) instead of the notice's six months
    cfg = os.path.join(env.d, "retention.json")
    with open(cfg, "w") as f:
        json.dump({"retention_transcripts_days": 5}, f)
    r = run_binday("purge", "--data", env.data, "--config", cfg, "--as-of",
                   (today + datetime.timedelta(days=3)).isoformat())
    t.eq((r.returncode, len(export(env, C).get("transcripts", []))), (0, 1), "5-day period: a 3-day-old turn is kept")
    r = run_binday("purge", "--data", env.data, "--config", cfg, "--as-of",
                   (today + datetime.timedelta(days=10)).isoformat())
    t.eq((r.returncode, "transcripts" in export(env, C)), (0, False), "5-day period: a 10-day-old turn is gone")
    with open(cfg, "w") as f:
        json.dump({"retention_transcripts_days": 0}, f)
    r = run_binday("purge", "--data", env.data, "--config", cfg)
    t.eq(r.returncode, 2, "purge: an invalid period is a usage error")


if __name__ == "__main__":
    main()
