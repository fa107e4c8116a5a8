"""A forensic look at a binday data directory, as someone holding a copy of
it would take: every KEK file present, every byte of every file (LMDB free
pages included). Finds vault entries by recomputing their index for known
names, opens them, and with the keys found opens transcript and choice
records wherever their keys occur in the raw bytes; probe_mail does the same
for queued email (every sealed outbox value with every message key). Mirrors
the formats in src/privacy/vault.c, src/privacy/transcript.c,
src/skill/choice.c and src/mail/outbox.c (docs/privacy.md)."""
import base64
import re
import datetime
import hashlib
import hmac
import os
import struct

import subprocess


def pseudonym(data_dir, user_id):
    with open(os.path.join(data_dir, "pseudonym.key"), "rb") as f:
        key = f.read()
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()[:32]


def _h(key, *parts):
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def raw_files(data_dir):
    """Every file's bytes. A running server renames key files into place
    (vault-N.key.tmp -> vault-N.key); a file that vanishes between listing
    and reading means the listing is stale, so the whole walk is redone rather
    than the file skipped (skipping could miss the key the probe needs)."""
    for _ in range(20):
        out = {}
        try:
            for root, _, files in os.walk(data_dir):
                for n in files:
                    with open(os.path.join(root, n), "rb") as f:
                        out[os.path.join(root, n)] = f.read()
            return out
        except FileNotFoundError:
            continue
    raise RuntimeError("raw_files: %s kept changing under the probe" % data_dir)


def _nodes(blobs, key_prefix, ksize, before=0):
    """(key, value) of every LMDB leaf node whose key (ksize bytes) has
    key_prefix at offset `before`, read from the node header."""
    for b in blobs.values():
        o = b.find(key_prefix)
        while o != -1:
            k0 = o - before
            if k0 >= 8:
                lo, hi, _flags, ks = struct.unpack_from("<HHHH", b, k0 - 8)
                dsize = lo | hi << 16
                if ks == ksize and k0 + ksize + dsize <= len(b) and dsize < 1 << 20:
                    yield b[k0:k0 + ksize], b[k0 + ksize:k0 + ksize + dsize]
            o = b.find(key_prefix, o + 1)


def _open(key, aad, sealed):
    """AES-256-GCM without the tag check, with the openssl CLI (the tests use
    the standard library only): GCM's keystream is AES-CTR from counter 2
    after a 96-bit nonce. Callers check the plaintext's structure instead."""
    if len(sealed) < 28:
        return None
    p = subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-K", key.hex(), "-iv",
                        (sealed[:12] + b"\x00\x00\x00\x02").hex()], input=sealed[12:-16],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p.stdout if p.returncode == 0 else None


def vault_values(blobs, keks, name):
    vals = []
    for kek in keks:
        idx = _h(kek, b"vault-index:", name.encode())[:16]
        for _, v in _nodes(blobs, idx, 16):
            p = _open(kek, idx, v)
            if p and p[0] == len(name) and p[1:1 + len(name)] == name.encode():
                vals.append(p[1 + len(name):])
    return vals


def probe(data_dir, user_hex, days):
    """What can be read about one pseudonymous user: transcripts and choices."""
    blobs = raw_files(data_dir)
    keks = [v for p, v in blobs.items() if os.path.basename(p).startswith("vault-") and len(v) == 32]
    found = {"transcripts": [], "choices": [], "user_keys": 0, "choice_keys": 0}
    day_keys = {}
    for d in days:
        for v in vault_values(blobs, keks, "d:%d" % d):
            day_keys.setdefault(d, set()).add(v[:32])
    for v in vault_values(blobs, keks, "t:" + user_hex):
        uk = v[:32]
        found["user_keys"] += 1
        tag = _h(uk, b"transcript-user")[:16]
        # key: day | time (8) | random (4) | tag; associated data: day | tag | time | random
        for k, val in _nodes(blobs, tag, 32, before=16):
            d = struct.unpack(">I", k[:4])[0]
            for dk in day_keys.get(d, ()):
                p = _open(_h(dk, b"transcript-record", uk), k, val)
                if p and p.startswith(b"{") and p.endswith(b"}"):
                    found["transcripts"].append(p.decode("utf-8", "replace"))
    for v in vault_values(blobs, keks, "c:" + user_hex):
        ck = v[:32]
        found["choice_keys"] += 1
        tag = _h(ck, b"choice-user")[:16]
        for k, val in _nodes(blobs, tag, 32):
            p = _open(ck, k, val)
            if p and len(p) == 8:
                found["choices"].append(str(int.from_bytes(p, "big")))
    found["transcripts"] = sorted(set(found["transcripts"]))
    found["choices"] = sorted(set(found["choices"]))
    return found


def recent_days(back=10, ahead=2):
    today = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.date(1970, 1, 1)).days
    return range(today - back, today + ahead + 1)


def probe_mail(data_dir, ids=()):
    """What a copy of the directory gives up about queued email: every sealed
    outbox value found anywhere in the raw bytes (free and overflow pages
    included; the record is JSON {"sealed":"<base64>",...}), opened with the
    key "mail:<id>" of every message id known or found in the bytes (32 hex,
    src/mail/linkmail.c), under every KEK file present. Returns
    {"sealed": n, "keys": n, "opened": [plaintexts]}."""
    blobs = raw_files(data_dir)
    keks = [v for p, v in blobs.items() if os.path.basename(p).startswith("vault-") and len(v) == 32]
    sealed = set()
    cands = set(ids)
    for b in blobs.values():
        for m in re.finditer(rb'"sealed":"([A-Za-z0-9+/=]{40,})"', b):
            sealed.add(m.group(1))
        cands.update(m.group(0).decode() for m in re.finditer(rb"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", b))
    keys = set()
    for i in cands:
        for v in vault_values(blobs, keks, "mail:" + i):
            keys.add(v[:32])
    opened = []
    for s64 in sealed:
        try:
            ct = base64.b64decode(s64, validate=True)
        except ValueError:
            continue
        for k in keys:
            p = _open(k, b"", ct)
            if p and p.startswith(b'{"to":'):
                opened.append(p.decode("utf-8", "replace"))
    return {"sealed": len(sealed), "keys": len(keys), "opened": opened}


def probe_case(data_dir, user_hex):
    """What a copy of the directory gives up about one user's email case
    records and cap counter (src/mail/outbox.c): the user's mail key
    ("mu:<user>") under every KEK file present, its tag, and every sealed
    "case" value in the raw bytes (free pages included) opened with it.
    Returns {"keys": n, "tags": [hex], "opened": [plaintexts]}."""
    blobs = raw_files(data_dir)
    keks = [v for p, v in blobs.items() if os.path.basename(p).startswith("vault-") and len(v) == 32]
    keys = {v[:32] for v in vault_values(blobs, keks, "mu:" + user_hex)}
    sealed = set()
    for b in blobs.values():
        for m in re.finditer(rb'"case":"([A-Za-z0-9+/=]{40,})"', b):
            sealed.add(m.group(1))
    opened = []
    for s64 in sealed:
        try:
            ct = base64.b64decode(s64, validate=True)
        except ValueError:
            continue
        for k in keys:
            p = _open(k, b"", ct)
            if p and p.startswith(b'{"links":'):
                opened.append(p.decode("utf-8", "replace"))
    return {"keys": len(keys), "tags": [_h(k, b"mail-user")[:16].hex() for k in keys], "opened": opened}
