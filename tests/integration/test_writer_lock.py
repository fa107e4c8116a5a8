"""The store writer through the real server (docs/store.md): while another
process holds LMDB's writer lock (as a long `binday import` does), the one
event loop keeps answering /healthz and intents; a skill event waits for its
commit without blocking the loop, gets the handler timeout's 503 when the
lock outlasts it, and its erasure still lands once the lock is released; a
redelivered event is then acknowledged. Without the lock, an event's 200
means the state is already committed."""
import threading
import time

from harness import run_binday, tempdir
from lmdb_lock import WriterLock
from skill_env import SkillEnv
from tap import Tap
import json

HELP = {"type": "IntentRequest", "dialogState": "COMPLETED",
        "intent": {"name": "AMAZON.HelpIntent", "confirmationStatus": "NONE", "slots": {}}}


def export(env, user):
    r = run_binday("user", "export", "--data", env.data, "--user-id", user)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def main():
    t = Tap()
    with tempdir() as d:
        env = SkillEnv(d, scenarios={}, properties=300,
                       extra=["--threads", "1", "--handler-timeout-ms", "1500"])
        env.start()
        try:
            t.run(run, env)
        finally:
            t.eq(env.stop(), 0, "server exits 0")
    t.done()


def run(t, env):
    A, B = "amzn1.ask.account.WRITERLOCK_A", "amzn1.ask.account.WRITERLOCK_B"
    # no lock: 200 means committed (export right after, no polling)
    r = env.event("AlexaSkillEvent.SkillDisabled", user=A)
    t.eq(r.status, 200, "event acknowledged")
    t.eq(export(env, A).get("skill_events", {}).get("disabled"), True, "acknowledged = already committed")

    # the lock held elsewhere: the event waits (off the loop), the loop serves on
    body = env.envelope({"type": "AlexaSkillEvent.SkillDisabled"}, user=B, with_session=False)
    help_body = env.envelope(HELP, user="amzn1.ask.account.WRITERLOCK_C")
    out = {}
    with WriterLock(env.data):
        th = threading.Thread(target=lambda: out.update(ev=timed(lambda: env.post(body))))
        th.start()
        time.sleep(0.3)  # the event is in, waiting for the lock
        (st, _, _), dt = timed(lambda: env.server.request("GET", "/healthz"))
        t.ok(st == 200 and dt < 1.0, "/healthz answered while the event waits (%.3f s)" % dt)
        r, dt = timed(lambda: env.post(help_body))
        t.ok(r.status == 200 and dt < 1.0, "an intent answered while the event waits (%.3f s)" % dt, r)
        th.join(10)
        time.sleep(0.5)  # the lock is still held past the handler timeout
    r, dt = out.get("ev", (None, 0))
    t.eq(r.status if r else None, 503, "event past the handler timeout: the existing 503 (Amazon retries)")
    t.ok(1.2 < dt < 4.0, "the 503 came at the handler timeout (%.2f s)" % dt)
    deadline = time.time() + 10
    while export(env, B).get("skill_events", {}).get("disabled") is not True and time.time() < deadline:
        time.sleep(0.1)
    t.eq(export(env, B).get("skill_events", {}).get("disabled"), True,
         "the event's write landed once the lock was released")
    r = env.post(body)  # Amazon's redelivery of the same event
    t.eq(r.status, 200, "the redelivered event is acknowledged")
    log = env.server.log()
    t.contains(log, "http.handler_timeout", "the timeout was logged")
    t.not_contains(log, "WRITERLOCK", "no raw Alexa user id in the log")


if __name__ == "__main__":
    main()
