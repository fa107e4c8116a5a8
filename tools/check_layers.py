#!/usr/bin/python3
"""check_layers.py - `make lint`'s layer check (docs/architecture.md).

Each folder of src/ (and its headers' folder include/binday/<folder>/) is one
subsystem on one layer. A file may include headers of its own subsystem and
of subsystems on lower layers only: an include that reaches up (or sideways to
another subsystem on the same layer) is reported as FILE:LINE and the check
exits 1. A folder missing from LAYERS is an error too, so a new subsystem must
be given its place.

Usage: tools/check_layers.py [ROOT]
"""
import os
import re
import sys

# lowest first; the same number means "same layer, may not include each other"
LAYERS = {
    "util": 0,     # log, strings, UTF-8, dates, base64, hashing, key files
    "json": 1,     # parse, write, schema validation, allocator
    "config": 2,   # the server's configuration (schema-checked JSON)
    "data": 2,     # LMDB store, import, addresses, calendars
    "dev": 3,      # demo data and the utterance matcher (binday ask only)
    "http": 3,     # HTTPS server and outbound client
    "alexa": 4,    # request verification, envelopes, Amazon's APIs
    "feed": 4,     # calendar feeds (ICS) and their endpoint
    "privacy": 5,  # vault, sealing, transcripts, erasure events
    "mail": 6,     # outbox, messages, the mailer thread
    "staff": 6,    # staff console core: accounts, audit, edits, property view
    "alerts": 6,   # evening-before alerts: subscriptions, Proactive Events sender
    "skill": 7,    # the conversation and the /alexa endpoint
    "console": 7,  # the staff console: its listener's pages, sessions, form parsing
    "cli": 8,      # the binday program: commands and wiring
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"binday/([a-z0-9_]+)/[^"]+"')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = []
    checked = 0
    for top in ("src", os.path.join("include", "binday")):
        base = os.path.join(root, top)
        for folder in sorted(os.listdir(base)):
            path = os.path.join(base, folder)
            if not os.path.isdir(path):
                bad.append(f"{top}/{folder}: files belong in a subsystem folder")
                continue
            if folder not in LAYERS:
                bad.append(f"{top}/{folder}: subsystem has no layer in tools/check_layers.py")
                continue
            for name in sorted(os.listdir(path)):
                if not name.endswith((".c", ".h")):
                    continue
                rel = f"{top}/{folder}/{name}"
                checked += 1
                with open(os.path.join(path, name), encoding="utf-8") as f:
                    for ln, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        dep = m.group(1)
                        if dep == folder:
                            continue
                        if dep not in LAYERS:
                            bad.append(f"{rel}:{ln}: includes unknown subsystem '{dep}'")
                        elif LAYERS[dep] >= LAYERS[folder]:
                            bad.append(f"{rel}:{ln}: {folder} (layer {LAYERS[folder]}) includes "
                                       f"{dep} (layer {LAYERS[dep]}): only lower layers may be included")
    for b in bad:
        print(b)
    print(f"layers: {checked} files checked, {len(bad)} problems")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
