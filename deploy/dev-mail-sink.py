#!/usr/bin/python3
"""dev-mail-sink.py: for `make run` - a real SMTP server on 127.0.0.1 (Debian's
aiosmtpd, STARTTLS required) that writes every message it accepts to
OUTDIR/NNNN.eml, so a developer can read what binday would email.

    dev-mail-sink.py --cert C --key K --outdir DIR --port-file F
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from smtp_server import SmtpServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    s = SmtpServer(a.cert, a.key).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.port)
    os.rename(tmp, a.port_file)
    written = 0
    try:
        while True:
            msgs = s.received()
            while written < len(msgs):
                written += 1
                path = os.path.join(a.outdir, "%04d.eml" % written)
                with open(path, "wb") as f:
                    f.write(msgs[written - 1]["data"])
                print("dev-mail-sink: wrote " + path, flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        s.stop()


if __name__ == "__main__":
    main()
