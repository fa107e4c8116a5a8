"""Helpers for the data-side integration tests: spawn the real binary, write
CSV files, snapshot an LMDB environment with mdb_dump, speak TAP."""
import os
import shutil
import subprocess
import tempfile

from harness import BIN, ROOT  # noqa: F401  (re-exported for the data tests)
from tap import Tap  # noqa: F401


def run(*args, input=None, timeout=300):
    p = subprocess.run([BIN] + [str(a) for a in args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def tmpdir():
    d = tempfile.mkdtemp(prefix="binday-it-")
    return d


def cleanup(d):
    shutil.rmtree(d, ignore_errors=True)


def write(path, text, bom=False, crlf=False):
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    with open(path, "wb") as f:
        f.write(data)
    return path


def snapshot(data_dir):
    """Every key and value of every database, via lmdb-utils' mdb_dump."""
    p = subprocess.run(["mdb_dump", "-a", data_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.stdout


# A small, hand-made district used by the precise tests. 2026-11-30 is a Monday.
SERVICES = """service_id,name,colour,spoken_name,subscription,description,link_url
refuse,Household rubbish,green,green bin,no,Bagged rubbish,https://example.gov.uk/bins
recycling,Recycling,black,black bin,no,"Paper, cans",https://example.gov.uk/recycling
garden,Garden waste,brown,brown bin,yes,,
food,Food waste,food caddy,food caddy,no,,
"""
ROUNDS = """round_id,service_id,weekday,interval_weeks,anchor_date,valid_from,valid_to
REF-MON,refuse,MON,2,2026-11-30,,
REC-MON,recycling,MON,2,2026-12-07,,
FOOD-MON,food,MON,1,2026-11-30,,
REF-THU,refuse,THU,2,2026-12-03,,
REC-THU,recycling,THU,2,2026-12-10,,
GDN-FRI,garden,FRI,2,2026-12-04,,
"""
ADDRESSES = """uprn,parent_uprn,usrn,saon,paon,street,locality,town,postcode
100,,1,,12,HIGH STREET,,DEREHAM,NR19 1AA
101,,1,,14,HIGH STREET,,DEREHAM,NR19 1AA
102,,1,,14A,HIGH STREET,,DEREHAM,NR19 1AA
110,,2,,7,CHURCH STREET,,DEREHAM,NR19 1AB
111,110,2,FLAT 1,7,CHURCH STREET,,DEREHAM,NR19 1AB
112,110,2,FLAT 2,7,CHURCH STREET,,DEREHAM,NR19 1AB
120,,3,,ROSE COTTAGE,THE STREET,SHIPDHAM,THETFORD,IP25 7AA
121,,3,,IVY COTTAGE,THE STREET,SHIPDHAM,THETFORD,IP25 7AA
130,,4,,1,MILL ROAD,,WATTON,IP25 6AA
131,,4,,2,MILL ROAD,,WATTON,IP25 6AA
"""
ASSIGNMENTS = """uprn,service_id,round_id,valid_from,valid_to
100,refuse,REF-MON,,
100,recycling,REC-MON,,
100,food,FOOD-MON,,
100,garden,GDN-FRI,2026-04-01,2026-12-15
101,refuse,REF-MON,,2026-12-31
101,refuse,REF-THU,2027-01-01,
101,recycling,REC-MON,,
102,refuse,REF-THU,,
102,recycling,REC-THU,,
110,refuse,REF-THU,,
110,recycling,REC-THU,,
120,refuse,REF-MON,,
121,refuse,REF-THU,,
130,refuse,REF-MON,,
130,recycling,REC-MON,,
131,refuse,REF-MON,,
131,recycling,REC-MON,,
"""
EXCEPTIONS = """round_id,action,original_date,new_date,reason
*,moved,2026-12-28,2026-12-29,bank holiday
REF-THU,moved,2026-12-31,2027-01-02,New Year
GDN-FRI,cancelled,2026-12-18,,Christmas
REC-MON,added,,2026-12-15,extra Christmas collection
"""
NOTICES = """notice_id,scope,from,to,message
snow,postcode:IP25,2026-12-01,2026-12-05,Snow may delay collections
garden,service:garden,2026-12-01,2026-12-31,Garden waste pauses over Christmas
late,round:REF-MON,2027-01-01,2027-01-31,Crews running late
all,all,2026-12-20,2026-12-31,Happy Christmas
"""

TABLES = {"addresses": ADDRESSES, "services": SERVICES, "rounds": ROUNDS,
          "assignments": ASSIGNMENTS, "exceptions": EXCEPTIONS, "notices": NOTICES}


def write_small(d, **override):
    paths = {}
    for name, text in TABLES.items():
        paths[name] = write(os.path.join(d, name + ".csv"), override.get(name, text))
    return paths


def import_args(paths):
    a = []
    for name, p in paths.items():
        a += ["--" + name, p]
    return a
