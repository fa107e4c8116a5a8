"""The address dialogue and the conversation polish of issue 16, as residents
hold them: multi-turn conversations through the real server (signed requests,
the fake Amazon APIs answering the device address, a real LMDB store).

The district is the demo one plus a fixture street, PRIORY ROAD in NR19 8QZ,
with the shapes that dead-ended before:
  PRIORY HOUSE   a building whose three flats have their own collection days
  WENSUM COURT   a building whose three flats share its bins
  ABBEY VIEW     a building without bins whose two flats have the same (own) day
  1 .. 11, 20    houses on Fridays (so Christmas Day moves their collection)
  14A, 14B       no 14: "14" must offer the near ones
  ROSE COTTAGE   a named house
The server's date is Thursday 24 December 2026."""
import csv
import os
import re

from harness import tempdir
from skill_env import SkillEnv
from tap import Tap

PC = "NR19 8QZ"
PHONE = "01632 960123"  # Ofcom's drama range: the config key reaches the speech
TODAY = "2026-12-24"  # a Thursday; Friday the 25th is Christmas Day
U = 999000000000
DAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4}


def addr(line1, postcode=PC, line2=None):
    return {"addressLine1": line1, "addressLine2": line2, "addressLine3": None, "city": "Dereham",
            "districtOrCounty": "Norfolk", "stateOrRegion": None, "countryCode": "GB", "postalCode": postcode}


def prepare(d):
    """Append the fixture street to the generated CSV files."""
    with open(os.path.join(d, "addresses.csv"), newline="") as f:
        used = {r["postcode"] for r in csv.DictReader(f)}
    assert PC not in used, "fixture postcode collides with the demo data"
    props = []  # (uprn, parent, saon, paon, day or None)
    props.append((U + 100, "", "", "PRIORY HOUSE", "MON"))
    for i, day in ((1, "MON"), (2, "TUE"), (3, "WED")):
        props.append((U + 100 + i, U + 100, "FLAT %d" % i, "PRIORY HOUSE", day))
    props.append((U + 110, "", "", "WENSUM COURT", "THU"))
    for i in (1, 2, 3):
        props.append((U + 110 + i, U + 110, "FLAT %d" % i, "WENSUM COURT", None))  # communal bins
    props.append((U + 120, "", "", "ABBEY VIEW", None))  # its flats' bins are their own, all alike
    for i in (1, 2):
        props.append((U + 120 + i, U + 120, "FLAT %d" % i, "ABBEY VIEW", "TUE"))
    for k, paon in enumerate(["1", "2", "3", "5", "7", "9", "11", "14A", "14B", "20", "ROSE COTTAGE"]):
        props.append((U + 200 + k, "", "", paon, "FRI"))
    with open(os.path.join(d, "addresses.csv"), "a", newline="") as f:
        w = csv.writer(f)
        for uprn, parent, saon, paon, _ in props:
            w.writerow([uprn, parent, 99000001, saon, paon, "PRIORY ROAD", "", "DEREHAM", PC])
    with open(os.path.join(d, "assignments.csv"), "a", newline="") as f:
        w = csv.writer(f)
        for uprn, _, _, _, day in props:
            if day is None:
                continue
            w.writerow([uprn, "refuse", "REF-%s-1" % day, "", ""])
            w.writerow([uprn, "recycling", "REC-%s-1" % day, "", ""])
            w.writerow([uprn, "food", "FOOD-%s-1" % day, "", ""])
            if day == "FRI":
                w.writerow([uprn, "garden", "GDN-FRI-1", "", ""])


SCENARIOS = {
    "building": {"address": addr("Priory House", line2="Priory Road")},
    "communal": {"address": addr("Wensum Court", line2="Priory Road")},
    "alike": {"address": addr("Abbey View", line2="Priory Road")},
    "flat3": {"address": addr("Flat 3", line2="Priory Road")},
    "street": {"address": addr("Priory Road")},
    "postcode": {"address": addr(None)},
    "fourteen": {"address": addr("14 Priory Road")},
    "friday": {"address": addr("20 Priory Road")},
}


class Talk:
    """One resident's session: each turn sends the attributes the last answer set."""

    def __init__(self, env, token, user):
        self.env, self.token, self.user, self.attrs, self.new = env, token, user, {}, True

    def say(self, intent, slots=None):
        r = self.env.intent(intent, slots, token=self.token, user=self.user, attrs=self.attrs, new=self.new)
        self.attrs, self.new = r.attrs, False
        if os.environ.get("BINDAY_SHOW_TALK"):  # a transcript, as TAP comments
            print("# %s %s -> %s" % (intent, slots or "", r.speech))
        return r


def main():
    t = Tap()
    with tempdir() as d:
        env = None
        try:
            env = SkillEnv(d, scenarios=dict(SCENARIOS), properties=400, today=TODAY, prepare=prepare,
                           extra=["--council-phone", PHONE, "--council-website", "example.gov.uk/bins"])
            env.start()
            run_all(t, env)
        finally:
            if env is not None and env.server is not None:
                t.eq(env.stop(), 0, "server exits 0")
                log = env.server.log()
                t.not_contains(log, "PRIORY", "no street or building name in the log")
                t.not_contains(log, "Priory", "no street or building name in the log (title case)")
    t.done()


def run_all(t, env):
    flat_question(t, env)
    labels(t, env)
    street_question(t, env)
    postcode_only(t, env)
    near_numbers(t, env)
    recovery(t, env)
    polish(t, env)


def flat_question(t, env):
    # a building whose flats have their own collections: which flat?
    talk = Talk(env, "tok-building", "amzn1.ask.account.FLATQ")
    r = talk.say("BinTypeIntent", {"BinType": ("brown", "garden")})
    t.ok(r.end is False and "Which flat is yours" in r.speech, "building: asks which flat", r.speech)
    t.contains(r.speech, "Flat 1, Flat 2 or Flat 3", "the flats are offered, joined with 'or'")
    t.eq(r.attrs.get("address", {}).get("question"), "bin", "the question (a bin) waits in the session")
    # help and yes in the middle: the question is asked again, not lost
    r = talk.say("AMAZON.HelpIntent")
    t.ok("Which flat is yours" in r.speech and r.end is False, "help during the question: asked again", r.speech)
    r = talk.say("AMAZON.YesIntent")
    t.ok("Which flat is yours" in r.speech and r.end is False, "yes during the question: asked again", r.speech)
    r = talk.say("ChooseAddressIntent", {"FlatNumber": "2"})
    # flat 2 is on Tuesdays; its recycling (black) bin, refuse and food are collected: the question was the
    # brown bin, which flat 2 does not have
    t.contains(r.speech, "garden waste", "answer: the bin question asked before the flat question")
    r = env.intent("NextCollectionIntent", token="tok-building", user="amzn1.ask.account.FLATQ")
    t.ok("Your next collection is" in r.speech and "Tuesday" in r.speech, "remembered: flat 2's Tuesday collections",
         r.speech)
    # a building whose flats share its bins: answered for the building, no question
    r = env.intent("NextCollectionIntent", token="tok-communal", user="amzn1.ask.account.FLATQ")
    t.ok("collections for your building" in r.speech and "Which flat" not in r.speech,
         "communal bins: the building's collections, no question", r.speech)
    # a building without bins of its own whose flats all share one day: theirs
    r = env.intent("NextCollectionIntent", token="tok-alike", user="amzn1.ask.account.FLATQ")
    t.ok("Your next collection is" in r.speech and "Tuesday" in r.speech and "can't find any" not in r.speech,
         "flats alike, building without bins: the flats' collections, no question", r.speech)
    # "3" alone to "which flat?" is flat 3
    talk = Talk(env, "tok-building", "amzn1.ask.account.FLATQ2")
    talk.say("NextCollectionIntent")
    r = talk.say("ChooseAddressIntent", {"HouseNumber": "3"})
    t.ok("Your next collection is" in r.speech and "Wednesday" in r.speech, "'3' to which flat: flat 3 (Wednesdays)",
         r.speech)


def labels(t, env):
    # two flats called Flat 3: labels that tell them apart, answered by name or by ordinal
    talk = Talk(env, "tok-flat3", "amzn1.ask.account.LABELS")
    r = talk.say("NextCollectionIntent")
    t.ok("Which one is yours" in r.speech and r.end is False, "Flat 3 on a street with two buildings: asks",
         r.speech)
    t.not_contains(r.speech, "Flat 3 or Flat 3", "never 'Flat 3 or Flat 3'")
    t.ok("Flat 3 in Priory House" in r.speech and "Flat 3 in Wensum Court" in r.speech,
         "labels name the building", r.speech)
    t.ok(re.search(r"Flat 3 in \w+ \w+ or Flat 3 in", r.speech), "options join with 'or'", r.speech)
    r2 = talk.say("ChooseAddressIntent", {"Property": "flat three priory house"})
    t.ok("Your next collection is" in r2.speech and "Wednesday" in r2.speech,
         "'flat three priory house' picks Priory House's flat 3 (Wednesdays)", r2.speech)
    # the ordinal: the position of Wensum Court's flat in the list asked
    talk = Talk(env, "tok-flat3", "amzn1.ask.account.LABELS2")
    r = talk.say("NextCollectionIntent")
    labels_ = [c["label"] for c in r.attrs.get("address", {}).get("candidates", [])]
    pos = next((i for i, l in enumerate(labels_) if "Wensum" in l), None)
    t.ok(pos is not None, "Wensum Court's flat 3 is offered", labels_)
    if pos is not None:
        r = talk.say("ChooseAddressIntent", {"Ordinal": str(pos + 1)})
        t.ok("collections for your building" not in r.speech and "Your next collection is today" in r.speech,
             "'the %s one' picks Wensum Court's flat 3 (its building's Thursdays: today)" % (pos + 1), r.speech)


def street_question(t, env):
    # a street only: the house number or name, any property on the street
    talk = Talk(env, "tok-street", "amzn1.ask.account.STREET")
    r = talk.say("NextCollectionIntent")
    t.ok("house number or name" in r.speech and "Priory Road" in r.speech and r.end is False,
         "street only: asks the house number or name, naming the street", r.speech)
    r = talk.say("ChooseAddressIntent", {"HouseNumber": "20"})
    t.ok("Your next collection is" in r.speech, "number 20 (never offered in a list): answered", r.speech)
    talk = Talk(env, "tok-street", "amzn1.ask.account.STREET2")
    talk.say("NextCollectionIntent")
    r = talk.say("ChooseAddressIntent", {"Property": "rose cottage"})
    t.ok("Your next collection is" in r.speech, "a house name: answered", r.speech)
    talk = Talk(env, "tok-street", "amzn1.ask.account.STREET3")
    talk.say("NextCollectionIntent")
    r = talk.say("ChooseAddressIntent", {"Property": "priory house"})
    t.ok("Which flat is yours" in r.speech, "the building's name: then which flat", r.speech)
    r = talk.say("ChooseAddressIntent", {"FlatNumber": "1"})
    t.ok("Your next collection is" in r.speech and "Monday" in r.speech, "then flat 1: Mondays", r.speech)


def postcode_only(t, env):
    talk = Talk(env, "tok-postcode", "amzn1.ask.account.PCODE")
    r = talk.say("NextCollectionIntent")
    t.ok("house number or name" in r.speech and "couldn't find your address" not in r.speech,
         "postcode only: asks the house number or name", r.speech)
    r = talk.say("ChooseAddressIntent", {"Property": "number seven priory road"})
    t.ok("Your next collection is" in r.speech, "'number seven priory road': answered", r.speech)


def near_numbers(t, env):
    talk = Talk(env, "tok-fourteen", "amzn1.ask.account.NEAR")
    r = talk.say("NextCollectionIntent")
    t.ok("couldn't find number 14" in r.speech and "14A Priory Road or 14B Priory Road?" in r.speech,
         "14 where only 14A and 14B exist: offers them", r.speech)
    r = talk.say("ChooseAddressIntent", {"Property": "fourteen b"})
    t.contains(r.speech, "Your next collection is", "'fourteen b': answered")
    # the same when 14 is the answer to the street question; then "the second one" in words
    talk = Talk(env, "tok-street", "amzn1.ask.account.NEAR2")
    talk.say("NextCollectionIntent")
    r = talk.say("ChooseAddressIntent", {"HouseNumber": "14"})
    t.ok("couldn't find number 14" in r.speech and r.end is False, "answer 14: the near ones are offered", r.speech)
    t.eq([c["label"] for c in r.attrs.get("address", {}).get("candidates", [])],
         ["14A Priory Road", "14B Priory Road"], "and kept for the next answer")
    r = talk.say("ChooseAddressIntent", {"Property": "the second one"})
    t.contains(r.speech, "Your next collection is", "'the second one' (heard as words): answered")
    r = env.intent("NextCollectionIntent", token="tok-street", user="amzn1.ask.account.NEAR2")
    t.contains(r.speech, "Your next collection is", "the choice is remembered for the street address")


def recovery(t, env):
    # two failed tries: the council's phone number and website, and a kind goodbye
    talk = Talk(env, "tok-street", "amzn1.ask.account.FAIL")
    talk.say("NextCollectionIntent")
    r = talk.say("AMAZON.NoIntent")
    t.ok("house number or name" in r.speech and r.end is False, "no during the question: asked again", r.speech)
    r = talk.say("WhichBinIntent", {"Date": "2026-12-28"})
    t.ok("house number or name" in r.speech and r.end is False,
         "another question during the question: asked again", r.speech)
    t.eq(r.attrs.get("address", {}).get("question"), "when", "the new question waits now")
    r = talk.say("ChooseAddressIntent", {"HouseNumber": "99"})
    t.ok("couldn't find that" in r.speech and "house number or name" in r.speech and r.end is False,
         "first failed answer: asked again", r.speech)
    r = talk.say("AMAZON.FallbackIntent")
    t.ok(r.end is True and PHONE in r.speech and "example dot gov dot uk slash bins" in r.speech,
         "second failed try: the configured phone number and website, session ends", r.speech)
    t.contains(r.ssml, 'interpret-as="telephone"', "the phone number is read as a telephone number")
    t.ok("goodbye" in r.speech.lower() and "Sorry" in r.speech, "ends kindly", r.speech)
    # the dialogue's question survives: a ChooseAddressIntent outside it is not taken as an answer
    r = env.intent("ChooseAddressIntent", {"HouseNumber": "20"}, token="tok-street")
    t.contains(r.speech, "wasn't asking about your address", "an answer with no question pending")


def polish(t, env):
    # Christmas Eve, a Friday household: "is it bin day tomorrow?"
    with open(os.path.join(env.csv, "services.csv"), newline="") as f:
        spoken = {r["service_id"]: r["spoken_name"] for r in csv.DictReader(f)}
    talk = Talk(env, "tok-friday", "amzn1.ask.account.XMAS")
    r = talk.say("IsItBinDayIntent", {"Date": "2026-12-25"})
    t.ok(r.speech.startswith("No") and "Your Friday collection has moved to Saturday the 26th of December" in r.speech,
         "tomorrow (Christmas Day): the Friday collection moved to Saturday the 26th", r.speech)
    t.contains(r.speech, "Christmas", "says why: Christmas")
    t.contains(r.speech, "Please note", "the notice, the first time")
    t.ok("the " + spoken["recycling"] in r.speech and "the " + spoken["food"] in r.speech,
         "the services' spoken_name is said", r.speech)
    r = talk.say("WhatAboutBinIntent", {"BinType": ("black", "recycling")})
    t.ok("isn't collected" in r.speech or "Yes" in r.speech, "what about the black bin: for the same day", r.speech)
    t.not_contains(r.speech, "Please note", "notices are said once per session")
    r = talk.say("WhichBinIntent", {"Date": "2026-12-25"})
    t.contains(r.speech, "Your Friday collection has moved to Saturday the 26th of December",
               "which bin on Friday: the move is explained")
    r = talk.say("IsItBinDayIntent")
    t.ok("isn't bin day today or tomorrow" in r.speech and "moved to Saturday" in r.speech,
         "is it bin day (no date): today and tomorrow, with the move", r.speech)
    r = talk.say("WhichBinIntent", {"Date": "2026-W52"})
    t.contains(r.speech, "Saturday the 26th of December", "this week: the moved collection on Saturday")
    t.ok("moved from Friday the 25th of December" in r.speech, "and from which day (a full date)", r.speech)
    r = talk.say("UpcomingCollectionsIntent")
    t.not_contains(r.speech, "next Friday", "no 'next Friday' in lists")
    t.ok(re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) the 8th of January", r.speech),
         "dates a week away or more are weekday and date", r.speech)
    r = env.intent("BinTypeIntent", {"BinType": ("brown", "garden")}, token="tok-friday")
    t.ok(spoken["garden"].lower() in r.speech.lower(), "the brown bin by its spoken name", r.speech)


if __name__ == "__main__":
    main()
