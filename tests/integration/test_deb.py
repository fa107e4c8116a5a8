#!/usr/bin/python3
"""The Debian package on this machine (CI: root on a fresh Debian 12), the
way an administrator meets it:

  build it (tools/build-deb.sh: dpkg-buildpackage, then lintian, which must
  report no error) twice, as the tree's version and as a higher one;
  install the first with apt-get (dependencies resolved) and check that every
  file is in place, the example config is a conffile, the binday-keys group
  and /etc/binday/tls exist, and the man pages are found by man;
  run the unit's ExecStart line as systemd would (systemd is not PID 1 in
  CI): the package's own /etc/binday/config.json, unchanged, with a test
  certificate where it points; an unprivileged UID with no passwd entry and
  the binday-keys group, as DynamicUser= gives; the state directory as
  StateDirectory= makes it; the listening socket passed as binday.socket
  passes it (fd 3, LISTEN_FDS) - and GET /healthz answers;
  run the nightly backup as binday-backup.service would, restore it with
  binday restore and check the copy opens (keys included);
  upgrade to the second build while the server runs, then restart as the
  postinst's `systemctl try-restart` would (SIGTERM, exit, start the new
  binary on the same socket) and check a request made in between is
  answered by the new version;
  remove (dpkg -r: config stays) and purge (dpkg -P: config and state go).

Skipped, with the reason, when not root; skipped under `make tsan` (the
package does not depend on the sanitizer variant, once per CI run is enough)."""
import fcntl
import glob
import grp
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

from harness import ROOT, tempdir
from pki import make_ca, make_cert
from tap import Tap, skip_all

UID = 61999          # in systemd's DynamicUser= range (61184-65519), no passwd entry
STATE = "/var/lib/binday"
BACKUPS = "/var/lib/binday-backup"
TLS = "/etc/binday/tls"
LOCK = "/tmp/apt.lock"  # shared with other apt/dpkg users of this machine


def sh(args, check=True, env=None, timeout=900):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=timeout,
                       universal_newlines=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (" ".join(args), p.returncode, p.stdout[-3000:]))
    return p


def dpkg(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return sh(["flock", LOCK] + list(args), env=env)


def installed():
    p = sh(["dpkg-query", "-W", "-f=${Status} ${Version}", "binday"], check=False)
    return p.stdout if p.returncode == 0 and "installed" in p.stdout else None


def build(version=None, lintian=True):
    env = dict(os.environ, BINDAY_DEB_LINTIAN="1" if lintian else "0")
    p = sh([os.path.join(ROOT, "tools", "build-deb.sh")] + ([version] if version else []), env=env)
    return os.path.join(ROOT, p.stdout.strip().splitlines()[-1])


def exec_start():
    """The ExecStart= argv of the installed unit."""
    with open("/lib/systemd/system/binday.service") as f:
        m = re.search(r"^ExecStart=(.*)$", f.read(), re.M)
    return m.group(1).split()


def as_unit(argv, lsock=None, gid_keys=None):
    """argv run as binday.service runs it: the dynamic UID, binday-keys as a
    supplementary group, no capabilities, UMask=0077, systemd's small
    environment, and (with lsock) the socket as fd 3 with LISTEN_FDS=1 and
    LISTEN_PID of the process."""
    pre = ["setpriv", "--reuid=%d" % UID, "--regid=%d" % UID, "--groups=%d" % gid_keys,
           "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    if lsock is None:
        return pre + ["/bin/sh", "-c", 'umask 077; exec "$@"', "sh"] + argv, env, ()
    fd = lsock.fileno()
    move = "" if fd == 3 else " 3<&%d %d<&-" % (fd, fd)  # to fd 3, unless it is there
    script = 'umask 077; export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"' + move
    return pre + ["/bin/sh", "-c", script, "sh"] + argv, env, (fd,)


def get(port, ca, path="/healthz", timeout=30):
    ctx = ssl.create_default_context(cafile=ca)
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def start_server(lsock, gid, log_path):
    argv, env, fds = as_unit(exec_start(), lsock, gid)
    logf = open(log_path, "ab")
    p = subprocess.Popen(argv, env=env, pass_fds=fds, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    return p


def wait_ready(p, log_path, n_ready, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        with open(log_path, "rb") as f:
            if f.read().decode("utf-8", "replace").count("event=server.ready") >= n_ready:
                return True
        if p.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def stop(p, sig=signal.SIGTERM, timeout=30):
    if p is None or p.poll() is not None:
        return p.returncode if p else None
    p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def cleanup_machine():
    if installed():
        dpkg("dpkg", "--purge", "binday")
    for path in (os.path.join(TLS, "fullchain.pem"), os.path.join(TLS, "privkey.pem"), "/etc/binday/smtp-password"):
        if os.path.exists(path):
            os.unlink(path)
    if os.path.isdir(TLS) and not os.listdir(TLS):
        os.rmdir(TLS)
    if os.path.isdir("/etc/binday") and not os.listdir("/etc/binday"):
        os.rmdir("/etc/binday")
    shutil.rmtree(BACKUPS, ignore_errors=True)
    shutil.rmtree(STATE, ignore_errors=True)


def test_package(t, d):
    base = sh(["dpkg-parsechangelog", "-l", os.path.join(ROOT, "debian", "changelog"), "-S", "Version"]).stdout.strip()
    v2 = base + "+test1"
    deb1 = build()
    t.ok(os.path.basename(deb1) == "binday_%s_amd64.deb" % base and os.path.exists(deb1),
         "make deb built %s, lintian: no error" % os.path.basename(deb1))
    deb2 = build(v2, lintian=False)  # the same tree: lintian saw it already
    t.ok(os.path.exists(deb2), "second build as %s" % v2)

    cleanup_machine()
    dpkg("apt-get", "install", "-y", "-q", "--no-install-recommends", deb1)
    t.ok((installed() or "").endswith(base), "apt-get install ./%s" % os.path.basename(deb1))

    # ---- files in place
    for path in ("/usr/bin/binday", "/lib/systemd/system/binday.service", "/lib/systemd/system/binday.socket",
                 "/lib/systemd/system/binday-backup.service", "/lib/systemd/system/binday-backup.timer",
                 "/usr/libexec/binday/nightly-backup", "/usr/share/binday/schemas/config.schema.json",
                 "/usr/share/binday/schemas/addresses.schema.json", "/usr/lib/sysusers.d/binday.conf",
                 "/usr/share/doc/binday/operations.md", "/usr/share/doc/binday/copyright"):
        t.ok(os.path.exists(path), "installed: " + path)
    conff = sh(["dpkg-query", "-W", "-f=${Conffiles}", "binday"]).stdout
    t.contains(conff, "/etc/binday/config.json", "/etc/binday/config.json is a conffile")
    with open("/etc/binday/config.json") as f, open(os.path.join(ROOT, "deploy", "config.example.json")) as g:
        t.eq(json.load(f), json.load(g), "it is deploy/config.example.json")
    t.eq(sh(["/usr/bin/binday", "--version"]).stdout.strip(), "binday " + base, "binday --version names the package version")
    man = sh(["man", "-w", "binday-serve"], check=False).stdout.strip()
    t.ok(man.startswith("/usr/share/man/man1/binday-serve.1"), "man finds binday-serve(1): %s" % man)
    try:
        gid = grp.getgrnam("binday-keys").gr_gid
    except KeyError:
        gid = None
    t.ok(gid is not None, "group binday-keys exists (systemd-sysusers)")
    st = os.stat(TLS) if os.path.isdir(TLS) else None
    t.ok(st is not None and st.st_gid == gid and (st.st_mode & 0o777) == 0o750,
         "/etc/binday/tls: 0750 root:binday-keys (postinst)")
    if gid is None or st is None:
        return
    t.eq(exec_start()[:2], ["/usr/bin/binday", "serve"], "the unit's ExecStart runs /usr/bin/binday serve")
    # what systemd would be told (systemd is not running here, so read the scripts): an
    # upgrade never stops the service before unpacking nor touches the socket; it
    # try-restarts the service after; removal stops everything
    scripts = {}
    for n in ("preinst", "postinst", "prerm"):
        try:
            with open("/var/lib/dpkg/info/binday." + n) as f:
                scripts[n] = f.read()
        except FileNotFoundError:
            scripts[n] = ""
    t.ok("stop" not in scripts["preinst"] and "binday.socket" not in scripts["preinst"],
         "preinst stops nothing on upgrade")
    t.ok(re.search(r"try-restart 'binday\.service'", scripts["postinst"]) is not None
         and not re.search(r"(restart|start) 'binday\.socket'", scripts["postinst"]),
         "postinst try-restarts binday.service after an upgrade, leaves binday.socket open")
    t.ok(re.search(r'"\$1" = remove.*\n.*stop .*binday\.service binday\.socket', scripts["prerm"]) is not None,
         "prerm stops the units on removal")

    # ---- what the administrator does (docs/operations.md): certificate, key, SMTP password
    ca, cakey = make_ca(d, "Deb Test CA")
    cert, key = make_cert(d, "deb-server", (ca, cakey), sans=["DNS:localhost", "IP:127.0.0.1"])
    for src, dst in ((cert, "fullchain.pem"), (key, "privkey.pem")):
        shutil.copy(src, os.path.join(TLS, dst))
        os.chown(os.path.join(TLS, dst), 0, gid)
        os.chmod(os.path.join(TLS, dst), 0o640)
    with open("/etc/binday/smtp-password", "w") as f:
        f.write("not-a-real-password\n")
    os.chown("/etc/binday/smtp-password", 0, gid)
    os.chmod("/etc/binday/smtp-password", 0o640)
    try:
        pwd.getpwuid(UID)
        t.ok(False, "UID %d is free" % UID)
        return
    except KeyError:
        pass
    # StateDirectory=binday: a 0700 directory owned by the UID. (With DynamicUser=
    # systemd puts it in /var/lib/private, which only the unit's mount namespace
    # lets the UID reach; outside systemd the plain directory stands in, and
    # systemd moves such a directory into private/ at the unit's first start.)
    os.makedirs(STATE, mode=0o700, exist_ok=True)
    os.chown(STATE, UID, UID)
    csv = os.path.join(d, "csv")
    os.makedirs(csv)
    os.chmod(d, 0o755)
    sh(["/usr/bin/binday", "demo-data", "--out", csv, "--properties", "300", "--seed", "5"])
    args = ["/usr/bin/binday", "import", "--data", "/var/lib/binday"]
    for tb in ("addresses", "services", "rounds", "assignments", "exceptions", "notices"):
        args += ["--" + tb, os.path.join(csv, tb + ".csv")]
    argv, env, _ = as_unit(args, None, gid)
    r = sh(argv, env=env, check=False)
    t.eq(r.returncode, 0, "binday import into /var/lib/binday as the dynamic user (%s)" % r.stdout[-300:])

    # ---- the service, as systemd would start it
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4096)
    port = lsock.getsockname()[1]
    log1 = os.path.join(d, "serve.log")
    old = new = None
    try:
        old = start_server(lsock, gid, log1)
        ready = wait_ready(old, log1, 1)
        t.ok(ready, "binday serve started from the unit's ExecStart and the shipped config")
        if not ready:
            with open(log1) as f:
                t.ok(False, "server log", f.read()[-2000:])
            return
        status, body = get(port, ca)
        h = json.loads(body) if status == 200 else {}
        t.ok(status == 200 and (h.get("dataset") or {}).get("loaded"), "GET /healthz: 200, dataset loaded")
        t.eq(h.get("version"), base, "healthz names the version")
        with open("/proc/%d/status" % old.pid) as f:
            uids = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
        t.eq(int(uids), UID, "it runs as the dynamic UID")
        with open(log1) as f:
            t.contains(f.read(), "inherited=yes", "on the socket binday.socket would pass")

        # ---- the nightly backup, as binday-backup.service runs it
        os.makedirs(BACKUPS, mode=0o700, exist_ok=True)
        os.chown(BACKUPS, UID, UID)
        argv, env, _ = as_unit(["/usr/libexec/binday/nightly-backup", "/var/lib/binday", BACKUPS], None, gid)
        r = sh(argv, env=env, check=False)
        t.eq(r.returncode, 0, "nightly-backup ran beside the server (%s)" % r.stdout.strip()[-300:])
        files = sorted(glob.glob(os.path.join(BACKUPS, "binday-*Z.backup")))
        t.eq(len(files), 1, "one backup file written: %s" % files)
        if files:
            # restored as the administrator would (binday restore), then opened
            # with a command that needs the store's keys
            rdir = os.path.join(d, "restore")
            os.makedirs(rdir, mode=0o700)
            os.chown(rdir, UID, UID)
            target = os.path.join(rdir, "data")
            argv, env, _ = as_unit(["/usr/bin/binday", "restore", "--data", target, "--from", files[-1]], None, gid)
            r = sh(argv, env=env, check=False)
            t.eq(r.returncode, 0, "binday restore of the nightly backup (%s)" % r.stdout[-300:])
            argv, env, _ = as_unit(["/usr/bin/binday", "user", "export", "--data", target, "--user-id",
                                    "amzn1.ask.account.DEBTEST"], None, gid)
            r = sh(argv, env=env, check=False)
            t.eq(r.returncode, 0, "the restored directory opens, keys included (%s)" % r.stdout[-300:])

        # ---- upgrade while serving: new package, new process on the same socket, old one drained
        dpkg("apt-get", "install", "-y", "-q", "--no-install-recommends", deb2)
        t.ok((installed() or "").endswith(v2), "upgraded to %s" % v2)
        with open("/etc/binday/config.json") as f, open(os.path.join(ROOT, "deploy", "config.example.json")) as g:
            t.eq(json.load(f), json.load(g), "the conffile survived the upgrade")
        t.ok(os.stat(os.path.join(TLS, "privkey.pem")).st_gid == gid, "and the administrator's key")
        # what `systemctl restart binday` (the postinst's try-restart) does:
        # SIGTERM, wait for the exit, start the new binary; a request made in
        # between waits in the socket's backlog and is answered by the new one
        t.eq(stop(old), 0, "the old one drained and exited 0 on SIGTERM")
        result = {}

        def between():
            try:
                result["r"] = get(port, ca, timeout=60)
            except Exception as e:  # a refused or reset connection: a missed request
                result["r"] = (repr(e), b"")
        th = threading.Thread(target=between)
        th.start()
        time.sleep(0.3)
        new = start_server(lsock, gid, log1)
        t.ok(wait_ready(new, log1, 2), "the upgraded binary started on the same socket")
        th.join(90)
        status, body = result.get("r", (None, b""))
        t.eq((status, json.loads(body).get("version") if status == 200 else None), (200, v2),
             "a request made while no binday ran was answered by %s" % v2)
        t.eq(stop(new), 0, "SIGTERM: exit 0")
    finally:
        stop(old)
        stop(new)
        lsock.close()

    # ---- remove, then purge
    dpkg("dpkg", "--remove", "binday")
    t.ok(not os.path.exists("/usr/bin/binday") and os.path.exists("/etc/binday/config.json")
         and os.path.exists(os.path.join(STATE, "data.mdb")),
         "dpkg -r: the program goes, config and data stay")
    for path in (os.path.join(TLS, "fullchain.pem"), os.path.join(TLS, "privkey.pem"), "/etc/binday/smtp-password"):
        os.unlink(path)  # the administrator's files; purge leaves them
    dpkg("dpkg", "--purge", "binday")
    t.ok(installed() is None, "dpkg -P")
    t.ok(not os.path.exists("/etc/binday") and not os.path.lexists(STATE),
         "purge removed /etc/binday and the state directory")
    t.ok(os.path.isdir(BACKUPS), "and kept the backups")


def main():
    if os.geteuid() != 0:
        skip_all("needs root: installs the package with apt-get/dpkg (CI runs as root)")
    if os.environ.get("BINDAY_TSAN"):
        skip_all("the package test runs once, under make test")
    t = Tap()
    # one package test per machine at a time: checkouts sharing a machine
    # would otherwise purge each other's installation half-way
    with open("/tmp/binday-test-deb.lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        with tempdir() as d:
            try:
                t.run(test_package, d)
            finally:
                cleanup_machine()
    t.done()


if __name__ == "__main__":
    main()
