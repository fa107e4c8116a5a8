#!/usr/bin/python3
"""The staff console in a real browser (issue 17): headless Debian Chromium
driven by python3-selenium through chromedriver. An editor signs in, searches,
views a property's calendar, moves a collection (preview, then confirm),
publishes a notice, uploads an exceptions table (a dry run with an error,
then a commit) and signs out; every change is then checked through `binday
lookup` and through signed requests to /alexa. axe-core runs in every page:
no serious or critical violation. Screenshots of each page go to the test's
temporary folder, or to docs/img/console-*.png with BINDAY_SCREENSHOTS=1."""
import csv
import datetime
import json
import os
import shutil
import subprocess

from console_env import AXE, ConsoleEnv, TODAY
from harness import ROOT, tempdir
from tap import Tap

t = Tap()
PW = "editor-password-1"
ADMIN_PW = "admin-password-1"


def browser(d):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1024,900", "--user-data-dir=" + os.path.join(d, "chromium")):
        o.add_argument(a)
    o.accept_insecure_certs = True  # the test CA is not in Chromium's store
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


class Pages:
    def __init__(self, t, env, drv, shots):
        self.t, self.env, self.drv, self.shots = t, env, drv, shots
        with open(AXE) as f:
            self.axe = f.read()

    def by_id(self, i):
        from selenium.webdriver.common.by import By
        return self.drv.find_element(By.ID, i)

    def button(self, text):
        from selenium.webdriver.common.by import By
        return self.drv.find_element(By.XPATH, "//button[normalize-space(.)='%s']" % text)

    def link(self, text):
        from selenium.webdriver.common.by import By
        return self.drv.find_element(By.PARTIAL_LINK_TEXT, text)

    def submit(self, el):
        """Click something that loads a new page, and wait until it has: the old
        page's window carries a mark the new one does not (element staleness
        races with chromedriver while the document is swapped)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait
        self.drv.execute_script("window.__bindayOld = true;")
        el.click()

        def loaded(d):
            try:
                return d.execute_script("return !window.__bindayOld && document.readyState === 'complete';")
            except WebDriverException:
                return False
        WebDriverWait(self.drv, 60, poll_frequency=0.1).until(loaded)

    def text(self):
        from selenium.webdriver.common.by import By
        return self.drv.find_element(By.TAG_NAME, "body").text

    def check(self, name):
        """axe-core in the page, then a screenshot."""
        self.drv.execute_script(self.axe)
        res = self.drv.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',"
            " 'wcag22aa', 'best-practice']}}).then(function (r) { done(r.violations.map(function (v) {"
            " return {id: v.id, impact: v.impact, n: v.nodes.length, html: v.nodes[0].html}; })); });")
        bad = [v for v in res if v["impact"] in ("serious", "critical")]
        self.t.ok(bad == [], "axe: no serious or critical violation on the %s page" % name, json.dumps(bad, indent=1))
        self.drv.save_screenshot(os.path.join(self.shots, "console-%s.png" % name))


def round_of(env, uprn, service):
    with open(os.path.join(env.csv, "assignments.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["uprn"] == str(uprn) and r["service_id"] == service:
                return r["round_id"]
    return None


def colour_of(env, service):
    with open(os.path.join(env.csv, "services.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["service_id"] == service:
                return r["colour"]
    return None


def long_date(iso):
    d = datetime.date.fromisoformat(iso)
    return "%s %d %s %d" % (d.strftime("%A"), d.day, d.strftime("%B"), d.year)


def main(t):
    with tempdir() as d:
        shots = os.path.join(d, "shots")
        os.makedirs(shots)
        env = ConsoleEnv(d)
        env.add_user("ed", "editor", PW)
        env.add_user("boss", "admin", ADMIN_PW)
        with env:
            drv = browser(d)
            try:
                flow(t, env, Pages(t, env, drv, shots))
            finally:
                drv.quit()
        if os.environ.get("BINDAY_SCREENSHOTS") == "1":
            out = os.path.join(ROOT, "docs", "img")
            os.makedirs(out, exist_ok=True)
            for n in sorted(os.listdir(shots)):
                shutil.copy(os.path.join(shots, n), os.path.join(out, n))
        t.ok(len(os.listdir(shots)) >= 8, "a screenshot of each page", os.listdir(shots))


def flow(t, env, p):
    drv = p.drv
    # ---- sign in
    drv.get(env.url("/"))
    t.ok(drv.current_url.endswith("/sign-in"), "no session: the browser lands on sign-in", drv.current_url)
    p.check("sign-in")
    p.by_id("username").send_keys("ed")
    p.by_id("password").send_keys("not-the-password")
    p.submit(p.button("Sign in"))
    t.ok("There is a problem" in p.text() and "Enter a correct username and password" in p.text(),
         "a wrong password shows the error summary", p.text()[:500])
    p.check("sign-in-error")
    p.by_id("password").send_keys(PW)
    p.submit(p.button("Sign in"))
    t.ok(drv.current_url.endswith("/search"), "signed in: the search page", drv.current_url)
    # ---- search
    p.by_id("q").send_keys("NR19 1AA")
    p.submit(p.button("Search"))
    t.ok("12, HIGH STREET" in p.text().upper() or "12 HIGH STREET" in p.text().upper(),
         "search by postcode lists 12 High Street", p.text()[:1500])
    p.check("search")
    lk = env.lookup("NR19 1AA", ["12 High Street"], days=120)
    uprn = lk["uprn"]
    drv.get(env.url("/search?q=%d" % int(uprn)))
    t.ok("UPRN %s" % uprn in p.text(), "search by UPRN", p.text()[:800])
    p.submit(p.link("HIGH STREET") if "HIGH STREET" in p.text() else p.link("High Street"))
    # ---- the property's calendar
    t.ok(drv.current_url.endswith("/property/%s" % uprn), "the property page", drv.current_url)
    body = p.text()
    upcoming = [c for c in lk["collections"] if c["date"] > TODAY]
    first = upcoming[0]
    t.ok(long_date(first["date"]) in body, "dates the GOV.UK way (%s)" % long_date(first["date"]), body[:2000])
    t.ok("Month by month" in body and "Calendar feed" in body and "/calendar/" in body,
         "month grid and the calendar-feed link", body[-1500:])
    p.check("property")
    # ---- move a collection with its preview
    service = first["service_id"]
    rnd = round_of(env, uprn, service)
    new_date = (datetime.date.fromisoformat(first["date"]) + datetime.timedelta(days=1)).isoformat()
    drv.get(env.url("/exceptions"))
    p.check("exceptions")
    p.by_id("kind-move").click()
    from selenium.webdriver.support.ui import Select
    Select(p.by_id("round")).select_by_value(rnd)
    p.by_id("date").send_keys(first["date"])
    p.by_id("new_date").send_keys(new_date)
    p.by_id("reason").send_keys("a vehicle breakdown")
    p.submit(p.button("Preview the change"))
    body = p.text()
    t.ok("Check the change before saving" in body and "Properties affected" in body and
         long_date(new_date) in body, "the preview: properties and dates", body[:2000])
    p.check("exceptions-preview")
    look_before = env.lookup_uprn(uprn)
    t.ok(any(c["date"] == first["date"] and c["service_id"] == service for c in look_before["collections"]),
         "before confirming, nothing has moved (binday lookup)")
    p.submit(p.button("Confirm and save"))
    t.ok("Change saved" in p.text(), "the move is saved", p.text()[:800])
    p.check("exceptions-saved")
    look = env.lookup_uprn(uprn)
    moved = [c for c in look["collections"] if c["service_id"] == service and c.get("original_date") == first["date"]]
    t.ok(moved and moved[0]["date"] == new_date and moved[0].get("reason") == "a vehicle breakdown",
         "binday lookup: the collection moved, with its reason", moved)
    col = colour_of(env, service)
    r = env.intent("BinTypeIntent", {"BinType": (col, service)})
    t.contains(r.speech, "a vehicle breakdown", "/alexa: the skill tells of the move and its reason")
    # ---- publish a notice
    drv.get(env.url("/notices"))
    p.check("notices")
    p.by_id("message").send_keys("Console test: crews start an hour early this week.")
    p.by_id("scope").clear()
    p.by_id("scope").send_keys("all")
    p.submit(p.button("Preview the notice"))
    p.submit(p.button("Confirm and save"))
    t.ok("Change saved" in p.text(), "the notice is published", p.text()[:800])
    look = env.lookup_uprn(uprn)
    t.ok(any("crews start an hour early" in n.get("message", "") for n in look.get("notices", [])),
         "binday lookup: the notice is in force", look.get("notices"))
    r = env.intent("NextCollectionIntent")
    t.contains(r.speech, "crews start an hour early", "/alexa: the skill reads the notice")
    # ---- upload: a dry run with an error, then a commit
    later = [c for c in look["collections"] if c["date"] > new_date and c["service_id"] == service]
    cancel_day = later[0]["date"]
    with open(os.path.join(env.csv, "exceptions.csv")) as f:
        base = f.read()
    if not base.endswith("\n"):
        base += "\n"
    bad = os.path.join(env.d, "bad-exceptions.csv")
    with open(bad, "w") as f:
        f.write(base + "%s,cancelled,2026-13-45,,flooding\n" % rnd)
    good = os.path.join(env.d, "exceptions-new.csv")
    with open(good, "w") as f:
        f.write(base + "%s,moved,%s,%s,a vehicle breakdown\n%s,cancelled,%s,,flooding\n" %
                (rnd, first["date"], new_date, rnd, cancel_day))
    bad_line = base.count("\n") + 1
    drv.get(env.url("/uploads"))
    p.check("uploads")
    p.by_id("file-exceptions").send_keys(bad)
    p.submit(p.button("Check the files"))
    body = p.text()
    t.ok("There is a problem" in body and ("bad-exceptions.csv:%d" % bad_line) in body,
         "dry run: the import's FILE:LINE error", body[:2000])
    t.ok("Confirm and save" not in body, "no confirm button for a file with errors")
    p.check("uploads-error")
    drv.get(env.url("/uploads"))
    p.by_id("file-exceptions").send_keys(good)
    # a whole district table too: the addresses as they are (megabytes go through the staff listener)
    p.by_id("file-addresses").send_keys(os.path.join(env.csv, "addresses.csv"))
    p.submit(p.button("Check the files"))
    body = p.text()
    t.ok("Rows per table" in body and "exceptions" in body and "addresses" in body, "dry run: the diff per table",
         body[:2000])
    t.ok("Confirm and save" in body and "<textarea" not in drv.page_source and "addresses.csv" in body,
         "the files stay on the server between the dry run and the commit")
    p.check("uploads-preview")
    t.ok(any(c["date"] == cancel_day and c["service_id"] == service for c in env.lookup_uprn(uprn)["collections"]),
         "the dry run changed nothing (binday lookup)")
    p.submit(p.button("Confirm and save"))
    t.ok("Change saved" in p.text(), "the upload is committed", p.text()[:800])
    look = env.lookup_uprn(uprn)
    t.ok(not any(c["date"] == cancel_day and c["service_id"] == service for c in look["collections"]),
         "binday lookup: the uploaded cancellation took effect", cancel_day)
    t.ok(any(c.get("original_date") == first["date"] and c["date"] == new_date for c in look["collections"]),
         "binday lookup: the move is still there (it was in the upload)")
    # ---- bank holidays: the proposals, and the preview of accepting them
    drv.get(env.url("/holidays"))
    t.ok("Bank holidays" in p.text() and "2027" in p.text(), "bank-holiday proposals listed", p.text()[:1000])
    p.check("holidays")
    from selenium.webdriver.common.by import By
    buttons = drv.find_elements(By.XPATH, "//button[starts-with(normalize-space(.), 'Preview accepting')]")
    if buttons:
        p.submit(buttons[-1])
        t.ok("Check the change before saving" in p.text(), "accepting proposals starts with a preview",
             p.text()[:1000])
        p.check("holidays-preview")
    # ---- sign out
    drv.get(env.url("/search"))
    p.submit(p.button("Sign out"))
    t.ok("You have signed out" in p.text(), "signed out", p.text()[:500])
    p.check("signed-out")
    drv.get(env.url("/search"))
    t.ok(drv.current_url.endswith("/sign-in"), "after sign-out the pages ask to sign in again", drv.current_url)
    # ---- admin: accounts and the audit log
    p.by_id("username").send_keys("boss")
    p.by_id("password").send_keys(ADMIN_PW)
    p.submit(p.button("Sign in"))
    drv.get(env.url("/admin"))
    t.ok("Staff accounts" in p.text() and "ed" in p.text(), "admin: the accounts", p.text()[:1000])
    p.check("admin")
    p.by_id("user").send_keys("newbie")
    from selenium.webdriver.support.ui import Select
    Select(p.by_id("role")).select_by_value("viewer")
    p.submit(p.button("Add the account"))
    from selenium.webdriver.common.by import By
    pw = drv.find_element(By.CLASS_NAME, "console-password").text.strip()
    t.ok("Account added" in p.text() and len(pw) >= 16, "admin adds an account; its password is shown once")
    r = subprocess.run([os.environ.get("BINDAY_BIN", os.path.join(ROOT, "build", "asan", "binday")), "staff", "list",
                        "--data", env.data], stdout=subprocess.PIPE, universal_newlines=True)
    t.ok("newbie" in r.stdout and "viewer" in r.stdout, "binday staff list shows it", r.stdout)
    drv.get(env.url("/admin/audit"))
    body = p.text()
    t.ok("Audit log" in body and "ed" in body and "exception" in body and "upload" in body,
         "admin: the audit log names who changed what", body[:2000])
    p.check("audit")
    from console_env import COOKIE, Client
    c = Client(env)
    c.cookies[COOKIE] = drv.get_cookie(COOKIE)["value"]
    st, h, csvtext = c.get("/admin/audit.csv")
    t.ok(st == 200 and csvtext.startswith("id,time,actor,action,target,summary,before,after") and
         "attachment" in h.get("content-disposition", ""), "audit export as CSV", (st, csvtext[:200]))
    st, h, js = c.get("/admin/audit.json")
    t.ok(st == 200 and any(r.get("actor") == "ed" for r in json.loads(js)), "audit export as JSON", js[:200])


t.run(main)
t.done()
