#!/usr/bin/python3
"""alexa_pki.py - a throwaway PKI for Alexa request-verification tests, made
with the `openssl` CLI at test time (nothing checked in).

make_pki(dir) writes into dir:
  root.pem / root.key          trust anchor (pass as --alexa-ca)
  inter.pem                    intermediate CA signed by root
  good.pem / good.key          signing cert, SAN DNS:echo-api.amazon.com, by inter
  chain_good.pem               good + inter (what Amazon serves)
  chain_wrong_san.pem          SAN DNS:other.amazon.com (+ inter)
  chain_cn_only.pem            CN=echo-api.amazon.com, no SAN at all (+ inter)
  chain_expired.pem            valid 2020-2021 (+ inter)
  chain_not_yet_valid.pem      valid from 2099 (+ inter)
  chain_self_signed.pem        self-signed with the right SAN
  chain_untrusted_root.pem     right SAN, issued by an intermediate of another root
  chain_missing_inter.pem      good.pem alone
  chain_weak_key.pem           RSA-1024 signing cert (+ inter)
  other.key                    a key that does not match good.pem
  tls_root.pem                 CA for HTTPS servers in tests (pass as --upstream-ca)
make_tls_cert(dir, name, hosts) -> (cert, key) for a test HTTPS server, by tls_root.
sign(body, key) -> Signature-256 header value (openssl dgst -sha256 -sign).

Run as a script: alexa_pki.py DIR  (used by the C unit tests).
"""
import base64
import os
import subprocess
import sys

SAN = "echo-api.amazon.com"

CA_CONF = """
[ca]
default_ca = ca_default
[ca_default]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
[req]
distinguished_name = dn
[dn]
"""


def _run(*args, stdin=None):
    p = subprocess.run(list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


def _key(path, bits=2048):
    if not os.path.exists(path):
        _run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % bits,
             "-out", path)
    return path


def _ext(d, name, text):
    p = os.path.join(d, name + ".ext")
    with open(p, "w") as f:
        f.write("[v3]\n" + text + "\n")
    return p


class _CA:
    """A CA directory driven by `openssl ca` so start/end dates can be chosen."""

    def __init__(self, d, name, cert, key):
        self.dir = os.path.join(d, "ca_" + name)
        os.makedirs(os.path.join(self.dir, "newcerts"), exist_ok=True)
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("%016X\n" % int.from_bytes(os.urandom(7), "big"))
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(d=self.dir))
        self.cert, self.key = cert, key

    def issue(self, d, name, subj_cn, ext, bits=2048, start=None, end=None, days=3650):
        key = _key(os.path.join(d, name + ".key"), bits)
        csr = os.path.join(d, name + ".csr")
        _run("openssl", "req", "-new", "-key", key, "-subj", "/CN=" + subj_cn, "-out", csr,
             "-config", self.conf)
        out = os.path.join(d, name + ".pem")
        args = ["openssl", "ca", "-batch", "-notext", "-config", self.conf, "-cert", self.cert,
                "-keyfile", self.key, "-in", csr, "-out", out, "-extfile", _ext(d, name, ext),
                "-extensions", "v3"]
        if start:
            args += ["-startdate", start]
        if end:
            args += ["-enddate", end]
        else:
            args += ["-days", str(days)]
        _run(*args)
        return out, key


def _self_signed(d, name, cn, ext_text, days=3650):
    key = _key(os.path.join(d, name + ".key"))
    out = os.path.join(d, name + ".pem")
    ext = _ext(d, name, ext_text)
    _run("openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn, "-days", str(days),
         "-out", out, "-config", ext, "-extensions", "v3")
    return out, key


def _cat(out, *files):
    with open(out, "wb") as f:
        for p in files:
            with open(p, "rb") as g:
                f.write(g.read())
    return out


CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n" \
         "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always"
INTER_EXT = "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" \
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always"
LEAF_EXT = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" \
           "extendedKeyUsage=serverAuth,clientAuth\nsubjectKeyIdentifier=hash\n" \
           "authorityKeyIdentifier=keyid:always"


def make_pki(d):
    """Create every file listed in the module docstring (idempotent per dir)."""
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "done")):
        return d
    p = lambda n: os.path.join(d, n)
    root, root_key = _self_signed(d, "root", "binday test Alexa root", CA_EXT)
    rca = _CA(d, "root", root, root_key)
    inter, inter_key = rca.issue(d, "inter", "binday test Alexa intermediate", INTER_EXT)
    ica = _CA(d, "inter", inter, inter_key)
    san = LEAF_EXT + "\nsubjectAltName=DNS:" + SAN
    good, _ = ica.issue(d, "good", SAN, san)
    _cat(p("chain_good.pem"), good, inter)
    ws, _ = ica.issue(d, "wrong_san", SAN, LEAF_EXT + "\nsubjectAltName=DNS:other.amazon.com")
    _cat(p("chain_wrong_san.pem"), ws, inter)
    cn, _ = ica.issue(d, "cn_only", SAN, LEAF_EXT)
    _cat(p("chain_cn_only.pem"), cn, inter)
    ex, _ = ica.issue(d, "expired", SAN, san, start="200101000000Z", end="210101000000Z")
    _cat(p("chain_expired.pem"), ex, inter)
    nyv, _ = ica.issue(d, "not_yet_valid", SAN, san, start="20990101000000Z",
                       end="21000101000000Z")
    _cat(p("chain_not_yet_valid.pem"), nyv, inter)
    weak, _ = ica.issue(d, "weak_key", SAN, san, bits=1024)
    _cat(p("chain_weak_key.pem"), weak, inter)
    ss, _ = _self_signed(d, "self_signed", SAN, LEAF_EXT.replace(
        "\nauthorityKeyIdentifier=keyid:always", "") + "\nsubjectAltName=DNS:" + SAN)
    _cat(p("chain_self_signed.pem"), ss)
    oroot, oroot_key = _self_signed(d, "other_root", "binday untrusted root", CA_EXT)
    oca = _CA(d, "other_root", oroot, oroot_key)
    ointer, ointer_key = oca.issue(d, "other_inter", "binday untrusted intermediate", INTER_EXT)
    oica = _CA(d, "other_inter", ointer, ointer_key)
    ut, _ = oica.issue(d, "untrusted", SAN, san)
    _cat(p("chain_untrusted_root.pem"), ut, ointer)
    _cat(p("chain_missing_inter.pem"), good)
    _key(p("other.key"))
    # a separate CA for test HTTPS servers (the fake S3, binday's own listener)
    _self_signed(d, "tls_root", "binday test TLS root", CA_EXT)
    open(p("done"), "w").close()
    return d


def make_tls_cert(d, name, hosts):
    """A server cert for `hosts` (DNS names or IPs) issued by tls_root; returns (cert, key)."""
    make_pki(d)
    cert = os.path.join(d, name + ".pem")
    if os.path.exists(cert):
        return cert, os.path.join(d, name + ".key")
    tca = _CA(d, "tls_" + name, os.path.join(d, "tls_root.pem"), os.path.join(d, "tls_root.key"))
    alts = ",".join(("IP:" if h.replace(".", "").isdigit() else "DNS:") + h for h in hosts)
    ext = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" \
          "extendedKeyUsage=serverAuth\nsubjectAltName=" + alts
    return tca.issue(d, name, hosts[0], ext)


def sign(body, key):
    """Signature-256 header value: base64(RSA PKCS#1 v1.5 SHA-256 over body bytes)."""
    sig = _run("openssl", "dgst", "-sha256", "-sign", key, "-binary", stdin=body)
    return base64.b64encode(sig).decode()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: alexa_pki.py DIR\n")
        sys.exit(2)
    make_pki(sys.argv[1])
