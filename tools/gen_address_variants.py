#!/usr/bin/python3
"""Generate the labelled address-variant test set (tests/data/address-variants.csv)
from the fixture addresses (tests/data/fixture/addresses.csv).

Each variant is typed the way residents type addresses into the Alexa app
(lowercase, abbreviations, St for Street and Saint, the name in line 2, a
missing number, flats written several ways, small typos) and labelled with
what a careful human would answer:
  exact      - the input identifies this UPRN
  building   - the input names the building of flats, not a flat (UPRN = building)
  ambiguous  - the input does not identify one property (e.g. no house number);
               a follow-up question (or a postcode-level answer) is right
  outside    - not in the district / not GB
  none       - a district postcode we do not know
Run once; the output is checked in (labels are reviewed data, not regenerated
by tests). Deterministic (fixed seed).
"""
import csv
import random
import sys

random.seed(20261128)
ROOT = sys.argv[1] if len(sys.argv) > 1 else "."
rows = list(csv.DictReader(open(ROOT + "/tests/data/fixture/addresses.csv")))
children = {}
for r in rows:
    if r["parent_uprn"]:
        children.setdefault(r["parent_uprn"], []).append(r)

ABBR = {"STREET": "St", "ROAD": "Rd", "AVENUE": "Ave", "CLOSE": "Cl", "COURT": "Ct",
        "DRIVE": "Dr", "LANE": "Ln", "GARDENS": "Gdns", "CRESCENT": "Cres", "PLACE": "Pl",
        "TERRACE": "Terr", "GREEN": "Grn"}


def title(s):
    return " ".join(w.capitalize() for w in s.split())


def abbreviate(street):
    ws = street.split()
    if ws and ws[-1] in ABBR:
        ws[-1] = ABBR[ws[-1]]
    out = []
    for i, w in enumerate(ws):
        if w == "ST" and i < len(ws) - 1:
            out.append(random.choice(["St", "St.", "Saint"]))
        elif w.endswith("S") and i > 0 and ws[i - 1] == "ST" and len(w) > 3:
            out.append(title(w[:-1]) + "'s")
        else:
            out.append(w if w in ("St", "Rd") or w in ABBR.values() else title(w))
    return " ".join(out)


def typo(s):
    ws = s.split()
    cand = [i for i, w in enumerate(ws) if len(w) >= 6 and w.isalpha()]
    if not cand:
        return s
    i = random.choice(cand)
    w = ws[i]
    k = random.randrange(1, len(w) - 1)
    op = random.choice(["drop", "swap", "double"])
    if op == "drop":
        w = w[:k] + w[k + 1:]
    elif op == "swap":
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    else:
        w = w[:k] + w[k] + w[k:]
    ws[i] = w
    return " ".join(ws)


def pc_variant(pc):
    return random.choice([pc, pc.lower(), pc.replace(" ", ""), pc.replace(" ", "").lower(),
                          " " + pc.lower() + " "])


out = []


def add(line1, line2, line3, city, pc, country, expect, uprn, note):
    out.append([len(out) + 1, line1, line2, line3, city, pc, country, expect, uprn, note])


def town_of(r):
    return title(r["locality"] or r["town"])


houses = [r for r in rows if not r["saon"] and r["paon"][0].isdigit() and r["uprn"] not in children]
named = [r for r in rows if not r["saon"] and not r["paon"][0].isdigit() and r["uprn"] not in children]
flats = [r for r in rows if r["saon"]]
blocks = [r for r in rows if r["uprn"] in children]
random.shuffle(houses)
random.shuffle(named)
random.shuffle(flats)
random.shuffle(blocks)

# numbered houses, many spellings
for r in houses[:110]:
    n, st, pc = r["paon"], r["street"], r["postcode"]
    style = len(out) % 11
    if style == 0:
        add(f"{n} {title(st)}", "", "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "title case")
    elif style == 1:
        add(f"{n} {abbreviate(st)}", "", "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "abbreviated street")
    elif style == 2:
        add(f"{n}, {st.lower()}", "", "", "", pc_variant(pc), "", "exact", r["uprn"], "lowercase, comma")
    elif style == 3:
        add(n, abbreviate(st), "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "number alone in line 1")
    elif style == 4:
        add(random.choice(["Mr J Smith", "Mrs A Jones", "The Occupier", "Dave"]), f"{n} {abbreviate(st)}",
            "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "name in line 1")
    elif style == 5:
        add(f"{n} {typo(title(st))}", "", "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "typo in street")
    elif style == 6:
        add(f"No. {n} {title(st)}", town_of(r), "", "", pc_variant(pc), "GB", "exact", r["uprn"], "No. prefix, town in line 2")
    elif style == 7:
        add(f"{n.lower()} {abbreviate(st).lower()}", "", "", "", pc_variant(pc), "GB", "exact", r["uprn"], "all lowercase")
    elif style == 8:
        add(title(st), "", "", town_of(r), pc_variant(pc), "GB", "ambiguous", r["uprn"], "missing house number")
    elif style == 9:
        add(f"{n} {title(st)}", town_of(r), "Norfolk", "", pc_variant(pc), "GB", "exact", r["uprn"], "county in line 3")
    else:
        add(f"{n}{'' if n[-1].isalpha() else ''} {title(st).upper()}", "", "", town_of(r).upper(), pc_variant(pc),
            "GB", "exact", r["uprn"], "upper case")

# named houses (villages): the name alone, with street, in line 2, with typos
for r in named[:90]:
    name, st, pc = r["paon"], r["street"], r["postcode"]
    style = len(out) % 7
    if style == 0:
        add(title(name), title(st), "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "named house")
    elif style == 1:
        add(title(name), "", "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "name only")
    elif style == 2:
        add(title(st), title(name), "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "name in line 2")
    elif style == 3:
        add(f"{title(name)}, {abbreviate(st)}", "", "", "", pc_variant(pc), "GB", "exact", r["uprn"], "one line")
    elif style == 4:
        add(typo(title(name)), title(st), "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "typo in name")
    elif style == 5:
        add("Mrs P Brown", title(name), title(st), town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "person, name in line 2")
    else:
        add(name.lower(), st.lower(), town_of(r).lower(), "", pc_variant(pc), "gb", "exact", r["uprn"], "lowercase name")

# flats
for r in flats[:70]:
    f = r["saon"].split()[-1]
    paon, st, pc = r["paon"], r["street"], r["postcode"]
    numbered = paon[0].isdigit()
    style = len(out) % 6
    bld = f"{paon} {title(st)}" if numbered else f"{title(paon)}, {title(st)}"
    if style == 0:
        add(f"Flat {f}", bld, "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "flat in line 1")
    elif style == 1:
        add(f"Flat {f}, {bld}", "", "", "", pc_variant(pc), "GB", "exact", r["uprn"], "one line")
    elif style == 2:
        add(f"Apartment {f}", bld, "", town_of(r), pc_variant(pc), "GB", "exact", r["uprn"], "apartment")
    elif style == 3:
        if numbered:
            add(f"{f}/{paon} {abbreviate(st)}", "", "", "", pc_variant(pc), "GB", "exact", r["uprn"], "slash form")
        else:
            add(f"flat {f} {paon.lower()}", st.lower(), "", "", pc_variant(pc), "GB", "exact", r["uprn"], "lowercase")
    elif style == 4:
        add(f"flat{f}", bld.lower(), "", "", pc_variant(pc), "GB", "exact", r["uprn"], "flatN")
    else:
        add(f"Flat {f}", f"{title(paon)}" if not numbered else bld, "", town_of(r), pc_variant(pc), "GB",
            "exact", r["uprn"], "flat and building")

# buildings without a flat number
for r in blocks[:25]:
    paon, st, pc = r["paon"], r["street"], r["postcode"]
    numbered = paon[0].isdigit()
    bld = f"{paon} {abbreviate(st)}" if numbered else f"{title(paon)}, {title(st)}"
    add(bld, "", "", town_of(r), pc_variant(pc), "GB", "building", r["uprn"], "building without flat")

# harder, hand-picked shapes: a space before the suffix, a wrong or missing
# street type, the town glued to the street line, a typo'd number word
suffixed = [r for r in rows if not r["saon"] and r["paon"][:-1].isdigit() and r["paon"][-1].isalpha()]
random.shuffle(suffixed)
for r in suffixed[:10]:
    add(f"{r['paon'][:-1]} {r['paon'][-1].lower()} {title(r['street'])}", "", "", town_of(r),
        pc_variant(r["postcode"]), "GB", "exact", r["uprn"], "space before suffix")
for r in houses[110:125]:
    ws = r["street"].split()
    if len(ws) >= 2 and ws[-1] in ABBR:
        add(f"{r['paon']} {title(' '.join(ws[:-1]))}", "", "", town_of(r), pc_variant(r["postcode"]), "GB",
            "exact", r["uprn"], "street type missing")
for r in houses[125:140]:
    add(f"{r['paon']} {title(r['street'])} {town_of(r)}", "", "", "", pc_variant(r["postcode"]), "GB",
        "exact", r["uprn"], "town on the same line")

# outside the district / not GB
outs = [("410 Terry Ave N", "", "", "Seattle", "20146", "US", "Amazon US test address"),
        ("1 Main Street", "", "", "Dublin", "D02 X285", "IE", "Ireland"),
        ("10 Downing Street", "", "", "London", "SW1A 2AA", "GB", "UK, not the district"),
        ("1 High Street", "", "", "Norwich", "NR2 1AA", "GB", "neighbouring district"),
        ("410 Terry Ave N", "", "", "", "20146", "", "US zip, no country"),
        ("12 High Street", "", "", "Cambridge", "CB2 1TN", "GB", "Cambridge"),
        ("5 Queen Street", "", "", "Edinburgh", "EH2 1JE", "GB", "Scotland"),
        ("1 Rue de Rivoli", "", "", "Paris", "75001", "FR", "France")]
for l1, l2, l3, city, pc, cc, note in outs:
    add(l1, l2, l3, city, pc, cc, "outside", "", note)
for pc in ["NR19 9ZZ", "IP24 9ZZ", "PE37 9ZZ"]:
    add("1 Nowhere Road", "", "", "", pc, "GB", "none", "", "district postcode not in the data")

w = csv.writer(open(ROOT + "/tests/data/address-variants.csv", "w", newline=""), lineterminator="\n")
w.writerow(["id", "line1", "line2", "line3", "city", "postcode", "country", "expect", "uprn", "note"])
w.writerows(out)
print(len(out), "variants")
