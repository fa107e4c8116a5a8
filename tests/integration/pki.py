"""Certificates for tests, made at test time with the openssl CLI.

make_ca(dir, name) -> (cert_path, key_path)
make_cert(dir, name, ca, sans=[...], ...) -> (cert_path, key_path)
"""
import os
import subprocess


def _run(args, cwd=None):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl failed: %s\n%s" % (" ".join(args), p.stderr.decode()))


def make_ca(d, name="Test Root CA", days=30, key_bits=2048, basename=None):
    base = basename or name.lower().replace(" ", "-")
    key, crt = os.path.join(d, base + ".key"), os.path.join(d, base + ".pem")
    _run(["openssl", "req", "-x509", "-newkey", "rsa:%d" % key_bits, "-nodes", "-keyout", key, "-out", crt,
          "-days", str(days), "-subj", "/CN=" + name,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    return crt, key


def make_cert(d, name, ca, sans=None, cn=None, days=30, is_ca=False, start=None, end=None, key_bits=2048,
              ext_key_usage="serverAuth"):
    """Issue a certificate signed by ca=(cert, key). sans: list like ["DNS:x", "IP:127.0.0.1"].
    start/end: openssl -not_before/-not_after style YYYYMMDDHHMMSSZ (uses `openssl ca`-free x509 path)."""
    key, csr, crt = (os.path.join(d, name + s) for s in (".key", ".csr", ".pem"))
    ext = os.path.join(d, name + ".ext")
    _run(["openssl", "req", "-new", "-newkey", "rsa:%d" % key_bits, "-nodes", "-keyout", key, "-out", csr,
          "-subj", "/CN=" + (cn or name)])
    lines = []
    if is_ca:
        lines += ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
    else:
        lines += ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
        if ext_key_usage:
            lines.append("extendedKeyUsage=" + ext_key_usage)
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    with open(ext, "w") as f:
        f.write("\n".join(lines) + "\n")
    args = ["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
            "-out", crt, "-extfile", ext, "-sha256"]
    if start or end:
        # openssl 3.0's x509 has no -not_before; emulate with a temporary `openssl ca` config
        return _make_cert_dated(d, name, ca, csr, ext, key, crt, start, end)
    args += ["-days", str(days)]
    _run(args)
    return crt, key


def _make_cert_dated(d, name, ca, csr, ext, key, crt, start, end):
    db = os.path.join(d, name + ".ca")
    os.makedirs(db, exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "serial"), "w") as f:
        # an even number of hex digits: openssl refuses an odd one
        f.write("%016x\n" % (abs(hash(name)) % (1 << 60) + 4096))
    cnf = os.path.join(db, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("""[ca]
default_ca = c
[c]
dir = %s
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
""" % db)
    args = ["openssl", "ca", "-batch", "-config", cnf, "-cert", ca[0], "-keyfile", ca[1], "-in", csr,
            "-out", crt, "-extfile", ext, "-notext"]
    if start:
        args += ["-startdate", start]
    if end:
        args += ["-enddate", end]
    _run(args)
    return crt, key


def server_cert(d, ca=None, sans=("DNS:localhost", "IP:127.0.0.1")):
    """A CA and a localhost server certificate; returns dict(ca=..., cert=..., key=...)."""
    if ca is None:
        ca = make_ca(d, "Binday Test CA")
    crt, key = make_cert(d, "server", ca, sans=list(sans), cn="localhost")
    return {"ca": ca[0], "ca_key": ca[1], "cert": crt, "key": key}
