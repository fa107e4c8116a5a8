"""Evening-before alerts end to end (issue 18, docs/alerts.md): residents opt
in by voice on the real server (signed requests), their consent changes
arrive as skill events, and `binday alerts send` delivers to the fake Amazon
cloud's Login with Amazon and Proactive Events endpoints over real HTTPS
(--connect-to, --upstream-ca through the config's connect_to/upstream_ca).

Covers: one alert, the evening before a MOVED collection (Christmas Day to
Boxing Day), with the moved day; nothing the evening before the original
day; revoked, unsubscribed and opted-out residents get none; a kill -9 while
Amazon holds the POST, then a restart: the same referenceId again, so one
alert; a third run sends nothing; 429/503/500 retried; a 403 stops that
resident's alerts and erases the subscription; preview prints counts only."""
import datetime
import json
import os
import signal
import subprocess
import time

import fake_amazon
from harness import BIN, run_binday, tempdir
from privacy_probe import pseudonym
from skill_env import SkillEnv
from tap import Tap

NOTIFY = "alexa::devices:all:notifications:write"
ADDRESS = "read::alexa:device:all:address"
MAPPING = {"refuse": ["LANDFILL"], "recycling": ["RECYCLABLE_PLASTICS", "WASTE_PAPER", "CANS"],
           "food": ["KITCHEN_WASTE"], "garden": ["GARDEN_WASTE"]}


def addr(row):
    return {"addressLine1": "%s %s" % (row["paon"], row["street"].title()), "addressLine2": None,
            "addressLine3": None, "city": row["town"].title(), "districtOrCounty": "Norfolk",
            "stateOrRegion": None, "countryCode": "GB", "postalCode": row["postcode"]}


def wait_for(fn, timeout=20.0, step=0.05):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def find_moved_house(env):
    """A house whose collection of Friday 25 December moved to Saturday 26th,
    and another house collected on the 26th's following Tuesday."""
    moved = None
    for row in env.addresses():
        if not row["paon"].isdigit() or row["saon"] or row["parent_uprn"]:
            continue
        r = run_binday("lookup", "--data", env.data, "--uprn", row["uprn"], "--from", "2026-12-21", "--days", "10",
                       "--json")
        if r.returncode != 0:
            continue
        cols = json.loads(r.stdout)["collections"]
        if any(c["original_date"] == "2026-12-25" and c["date"] == "2026-12-26" for c in cols):
            moved = (row, [c["service_id"] for c in cols if c["date"] == "2026-12-26"])
            break
    return moved


def alerts(env, cfg, *args, timeout=120):
    r = run_binday("alerts", *args, "--data", env.data, "--config", cfg, timeout=timeout)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    except ValueError:
        out = {}
    return r, out


def envelope_with_scopes(env, request, token, user, scopes):
    doc = json.loads(env.envelope(request, token=token, user=user))
    doc["context"]["System"]["user"]["permissions"] = {
        "scopes": {s: {"status": "GRANTED"} for s in scopes}}
    return json.dumps(doc).encode()


def main():
    t = Tap()
    with tempdir() as d:
        env = None
        try:
            secret = os.path.join(d, "lwa-secret")
            with open(secret, "w") as f:
                f.write(fake_amazon.LWA_CLIENT_SECRET + "\n")
            os.chmod(secret, 0o600)
            # the server's own schedule stays out of the way: 23:59, and the
            # test's subscribers exist only after its first pass
            env = SkillEnv(d, scenarios={}, properties=400,
                           extra=["--alerts-client-id", fake_amazon.LWA_CLIENT_ID,
                                  "--alerts-client-secret-file", secret, "--alerts-time", "23:59"],
                           config={"alerts_garbage_types": MAPPING})
            found = find_moved_house(env)
            t.ok(found is not None, "demo data has a house collected on Christmas Day, moved to Boxing Day")
            row, services_26 = found
            env.fake.scenarios.update({"house": {"address": addr(row)}})
            env.start()
            fake = env.fake

            users = {k: "amzn1.ask.account.ALERTS-" + k for k in ("keep", "revoke", "unsub", "optout", "gone")}
            # opt in by voice: the permission is asked for with a consent card
            r = env.intent("AlertOptInIntent", token="tok-house-1", user=users["keep"])
            t.eq(r.status, 200, "opt-in answered")
            t.eq(r.card.get("type"), "AskForPermissionsConsent", "consent card sent")
            t.eq(r.card.get("permissions"), [NOTIFY], "the card asks for the notifications permission only")
            t.contains(r.speech, "evening before", "the resident hears what they get")
            # the resident grants it in the app: the full set comes as an event
            ev = env.event("AlexaSkillEvent.SkillPermissionChanged",
                           {"acceptedPermissions": [{"scope": ADDRESS}, {"scope": NOTIFY}]}, user=users["keep"])
            t.eq(ev.status, 200, "permission event stored")
            # already granted: no card, and then revoked in the app
            body = envelope_with_scopes(env, {"type": "IntentRequest", "intent": {"name": "AlertOptInIntent",
                                                                                  "slots": {}}},
                                        "tok-house-2", users["revoke"], [NOTIFY])
            r = env.post(body)
            t.ok(r.status == 200 and r.card.get("type") != "AskForPermissionsConsent" and "Done" in r.speech,
                 "already granted: done, no consent card", r)
            env.event("AlexaSkillEvent.SkillPermissionChanged", {"acceptedPermissions": [{"scope": ADDRESS}]},
                      user=users["revoke"])
            # subscribed, then notifications turned off for the skill
            env.intent("AlertOptInIntent", token="tok-house-3", user=users["unsub"])
            r = env.event("AlexaSkillEvent.ProactiveSubscriptionChanged", {"subscriptions": []}, user=users["unsub"])
            t.eq(r.status, 200, "ProactiveSubscriptionChanged acknowledged")
            # opted in, then "stop the bin alerts"
            env.intent("AlertOptInIntent", token="tok-house-4", user=users["optout"])
            r = env.intent("AlertOptOutIntent", token="tok-house-5", user=users["optout"])
            t.contains(r.speech, "stopped", "opt-out confirmed")
            # a resident Amazon will answer 403 for
            env.intent("AlertOptInIntent", token="tok-house-6", user=users["gone"])
            env.event("AlexaSkillEvent.SkillPermissionChanged",
                      {"acceptedPermissions": [{"scope": ADDRESS}, {"scope": NOTIFY}]}, user=users["gone"])
            log = wait_for(lambda: env.server.log().count("event=alerts.subscribe") >= 5 and
                           "reason=proactive_unsubscribed erased=" in env.server.log() and
                           "reason=alerts_opt_out erased=" in env.server.log() and env.server.log())
            t.ok(log and log.count("event=alerts.subscribe") >= 5, "five subscriptions written", env.server.log())
            t.eq(env.stop(), 0, "server stopped cleanly")
            t.not_contains(env.server.log(), row["postcode"], "no postcode in the server log")
            env.server = None

            # what is kept: sealed (no user id, UPRN or endpoint in clear)
            with open(os.path.join(env.data, "data.mdb"), "rb") as f:
                raw = f.read()
            t.ok(users["keep"].encode() not in raw and users["gone"].encode() not in raw,
                 "Alexa user ids are not in the data file in clear")
            r = run_binday("user", "export", "--data", env.data, "--user-id", users["keep"])
            exp = json.loads(r.stdout) if r.returncode == 0 else {}
            t.eq(exp.get("alert_subscription"), {"uprn": row["uprn"], "api_endpoint": "https://api.eu.amazonalexa.com"},
                 "export shows the subscription: the property and the endpoint")
            for k in ("revoke", "unsub", "optout"):
                r = run_binday("user", "export", "--data", env.data, "--user-id", users[k])
                t.ok(r.returncode == 0 and "alert_subscription" not in json.loads(r.stdout),
                     "%s: subscription erased" % k, r.stdout)

            cfg = os.path.join(d, "alerts.json")

            def fake_up():
                """The fake cloud alone (a new port each time), and the config pointing at it."""
                fake.start()
                with open(cfg, "w") as f:
                    json.dump({"alerts_client_id": fake_amazon.LWA_CLIENT_ID, "alerts_client_secret_file": secret,
                               "alerts_garbage_types": MAPPING, "alerts_retry_base_ms": 20,
                               "alerts_max_attempts": 5, "upstream_ca": env.ca,
                               "connect_to": ["%s:443:127.0.0.1:%d" % (h, fake.port)
                                              for h in ("api.amazon.com", "api.eu.amazonalexa.com")]}, f)
            fake_up()
            fake.proactive_forbidden.add(users["gone"])

            # preview: counts only
            r, pv = alerts(env, cfg, "preview", "--date", "2026-12-26")
            t.eq(r.returncode, 0, "preview runs")
            t.eq((pv.get("subscribers"), pv.get("due"), pv.get("collection_day")), (2, 2, "2026-12-26"),
                 "preview: two subscribers left, both due on the 26th")
            t.ok(all(k in ("mode", "collection_day", "subscribers", "due", "unmapped", "already_sent",
                           "garbage_types") for k in pv), "preview has counts only", pv)
            t.not_contains(r.stdout + r.stderr, "amzn1.ask.account", "preview names no user")
            t.eq(len(fake.proactive_requests) + len(fake.lwa_requests), 0, "preview calls nobody")

            # the evening before the ORIGINAL day: nothing (the collection moved)
            r, st = alerts(env, cfg, "send", "--as-of", "2026-12-24T18:30")
            t.ok(r.returncode == 0 and st.get("due") == 0 and st.get("collection_day") == "2026-12-25",
                 "evening of the 24th: nothing due for the 25th", r.stdout + r.stderr)
            # before the send time: nothing at all
            r, st = alerts(env, cfg, "send", "--as-of", "2026-12-25T17:59")
            t.ok(r.returncode == 0 and st.get("collection_day") is None and st.get("due") == 0,
                 "17:59: not yet", r.stdout)
            t.eq(len(fake.proactive_requests), 0, "no event sent so far")

            # 18:00 on the 25th; Amazon accepts the first event and then holds
            # its answer: the sender is killed meanwhile (a crash)
            fake.proactive_hang_s = 30
            proc = subprocess.Popen([BIN, "alerts", "send", "--data", env.data, "--config", cfg, "--as-of",
                                     "2026-12-25T18:00"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            got = wait_for(lambda: any(q["status"] == "hung" for q in fake.proactive_requests), timeout=60)
            t.ok(got, "the first event reached Amazon")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            first = [q for q in fake.proactive_requests if q["status"] == "hung"][0]["body"]
            # restart
            r, st = alerts(env, cfg, "send", "--as-of", "2026-12-25T18:05")
            t.eq(r.returncode, 0, "restarted send runs", )
            t.ok(st.get("duplicate", 0) + st.get("sent", 0) >= 1 and st.get("dropped") in (0, 1),
                 "restart: the interrupted alert resolved", r.stdout + r.stderr)
            keep_reqs = [q for q in fake.proactive_requests
                         if q["body"]["relevantAudience"]["payload"]["user"] == users["keep"]]
            refs = {q["body"]["referenceId"] for q in keep_reqs}
            accepted_keep = [b for b in fake.proactive_accepted.values()
                             if b["relevantAudience"]["payload"]["user"] == users["keep"]]
            t.eq(len(accepted_keep), 1, "the subscribed resident gets exactly one alert")
            t.eq(len(refs), 1, "every POST for that alert carried the same referenceId")
            t.eq(first["relevantAudience"]["payload"]["user"], users["keep"], "the held event was the resident's")
            t.eq([q["status"] for q in keep_reqs], ["hung", 409], "resent after the crash: Amazon said 409")
            a = accepted_keep[0] if accepted_keep else {}
            alert = a.get("event", {}).get("payload", {}).get("alert", {})
            t.eq(alert.get("collectionDayOfWeek"), "SATURDAY", "the moved day: Saturday 26 December")
            want = sorted({g for s in services_26 for g in MAPPING.get(s, [])})
            t.eq(sorted(alert.get("garbageTypes", [])), want, "garbageTypes of the services collected that day")
            t.eq(a.get("relevantAudience", {}).get("type"), "Unicast", "Unicast to the resident")
            t.ok(a.get("expiryTime", "") > a.get("timestamp", "~"), "expiry after the timestamp")
            t.not_contains(json.dumps(a), row["postcode"], "no address in the event")
            t.not_contains(json.dumps(a), row["street"], "no street in the event")
            t.ok(all(q["path"] == "/v1/proactiveEvents/stages/development" for q in fake.proactive_requests),
                 "development stage by default")
            t.ok(fake.lwa_requests and all(f.get("client_id") == fake_amazon.LWA_CLIENT_ID and
                                           f.get("grant_type") == "client_credentials" for f in fake.lwa_requests),
                 "client-credentials token requests")
            # the 403 resident: dropped, and their subscription erased
            gone = [q for q in fake.proactive_requests
                    if q["body"]["relevantAudience"]["payload"]["user"] == users["gone"]]
            t.ok(gone and all(q["status"] == 403 for q in gone), "Amazon refused the 403 resident")
            r = run_binday("user", "export", "--data", env.data, "--user-id", users["gone"])
            t.ok(r.returncode == 0 and "alert_subscription" not in json.loads(r.stdout),
                 "403: that resident's subscription is erased", r.stdout)
            for k in ("revoke", "unsub", "optout"):
                t.ok(not any(q["body"]["relevantAudience"]["payload"]["user"] == users[k]
                             for q in fake.proactive_requests), "%s: no alert" % k)

            # a third run the same evening sends nothing
            n = len(fake.proactive_requests)
            r, st = alerts(env, cfg, "send", "--as-of", "2026-12-25T21:00")
            t.ok(r.returncode == 0 and st.get("already_sent") == 1 and st.get("sent") == 0 and
                 len(fake.proactive_requests) == n, "later the same evening: already sent, nothing new", r.stdout)

            # 429 and 5xx are retried, with the same referenceId
            days = [(datetime.date(2026, 12, 27) + datetime.timedelta(days=x)).isoformat() for x in range(14)]
            day = next((dd for dd in days
                        if alerts(env, cfg, "preview", "--date", dd)[1].get("due") == 1), None)
            t.ok(day is not None, "the resident has another collection within two weeks")
            fake.proactive_plan = [429, 503, 500]
            n = len(fake.proactive_requests)
            prev = (datetime.date.fromisoformat(day) - datetime.timedelta(days=1)).isoformat()
            r, st = alerts(env, cfg, "send", "--as-of", prev + "T18:00")
            t.ok(r.returncode == 0 and st.get("sent") == 1 and st.get("retries") == 3, "retried after 429, 503, 500",
                 r.stdout + r.stderr)
            new = fake.proactive_requests[n:]
            t.eq([q["status"] for q in new], [429, 503, 500, 202], "four attempts, the last accepted")
            t.eq(len({q["body"]["referenceId"] for q in new}), 1, "one referenceId across the retries")

            # the server's own thread: with --today the eve of the next collection
            # and alerts from 00:00, its first pass (a catch-up at start) sends it
            day2 = next((dd for dd in days if dd > day and
                         alerts(env, cfg, "preview", "--date", dd)[1].get("due") == 1), None)
            t.ok(day2 is not None, "and one more collection after that")
            fake.stop()
            n_acc = len(fake.proactive_accepted)
            env.extra += ["--today", (datetime.date.fromisoformat(day2) - datetime.timedelta(days=1)).isoformat(),
                          "--alerts-time", "00:00"]
            env.start()
            got = wait_for(lambda: len(fake.proactive_accepted) > n_acc, timeout=30)
            t.ok(got, "serve sent the alert on its own schedule", env.server.log()[-3000:])
            news = list(fake.proactive_accepted.values())[n_acc:]
            want_wd = datetime.date.fromisoformat(day2).strftime("%A").upper()
            t.ok(len(news) == 1 and news[0]["event"]["payload"]["alert"]["collectionDayOfWeek"] == want_wd,
                 "one alert, for %s" % want_wd, news)
            t.ok(wait_for(lambda: "event=alerts.pass" in env.server.log() and
                          "sent=1" in env.server.log().split("event=alerts.pass")[-1]),
                 "the pass is logged with its counts", env.server.log()[-2000:])
            t.not_contains(env.server.log(), users["keep"], "no Alexa user id in the server log")
            # SkillDisabled erases the subscription at once (on the server)
            r = env.event("AlexaSkillEvent.SkillDisabled", {"userInformationPersistenceStatus": "NOT_PERSISTED"},
                          user=users["keep"])
            t.eq(r.status, 200, "SkillDisabled stored")
            env.stop()
            env.server = None
            fake_up()
            r, pv = alerts(env, cfg, "preview", "--date", day)
            t.eq(pv.get("subscribers"), 0, "after SkillDisabled: no subscriber left")
            r = run_binday("user", "export", "--data", env.data, "--user-id", users["keep"])
            t.ok("alert_subscription" not in json.loads(r.stdout or "{}"), "disabled: subscription erased")

            # sent records hold no personal data and go a week after the collection
            def sent_records():
                r = subprocess.run(["mdb_stat", "-s", "alert_sent", env.data], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
                return next((int(l.split(":")[1]) for l in r.stdout.splitlines() if "Entries" in l), None)
            before = sent_records()
            t.ok(before is not None and before >= 3, "sent records kept (%s)" % before)
            r = run_binday("purge", "--data", env.data, "--as-of", "2027-03-01")
            t.eq((r.returncode, sent_records()), (0, 0), "purge drops sent records of past collections")
        except Exception:
            import traceback
            t.ok(False, "test raised", traceback.format_exc())
        finally:
            if env:
                env.stop()
    t.done()


if __name__ == "__main__":
    main()
