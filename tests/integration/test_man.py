#!/usr/bin/python3
"""The man pages (tools/help2roff.py, built by `make man` and the Debian
package) against --help: every command `binday help` lists has a page, each
page renders with man(1) without warnings (as lintian checks it), and the
options a page shows are exactly those `binday CMD --help` prints."""
import os
import re
import subprocess

from harness import BIN, ROOT, tempdir
from tap import Tap

FLAG = re.compile(r"(?<![\w-])--[a-z0-9][a-z0-9-]*[a-z0-9]")


def flags(text):
    return sorted(set(FLAG.findall(text)))


def render(path):
    """(text, warnings) of man's rendering at a width wide enough not to
    hyphenate option names across lines."""
    env = dict(os.environ, MANWIDTH="250", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    # man(1) may print U+2010 for a hyphen it may break at, and U+2212 for \-
    text = p.stdout.decode("utf-8", "replace").replace("\u2010", "-").replace("\u2212", "-")
    return text, p.stderr.decode("utf-8", "replace").strip()


def commands():
    out = subprocess.run([BIN, "help"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    names = re.findall(r"^  ([a-z][\w-]*)\s", out, re.M)
    return [n for n in names if n != "help"]


def main():
    t = Tap()
    with tempdir() as d:
        p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "help2roff.py"), BIN, d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        t.eq(p.returncode, 0, "tools/help2roff.py ran (%s)" % p.stderr.decode()[-300:])
        cmds = commands()
        t.ok(len(cmds) >= 10, "binday help lists the commands (%d)" % len(cmds))
        pages = sorted(os.listdir(d))
        t.eq(pages, sorted(["binday.1"] + ["binday-%s.1" % c for c in cmds]),
             "one page per command, and binday.1, nothing else")
        for c in cmds:
            path = os.path.join(d, "binday-%s.1" % c)
            if not os.path.exists(path):
                t.ok(False, "binday-%s.1 exists" % c)
                continue
            text, warn = render(path)
            t.eq(warn, "", "binday-%s(1) renders without warnings" % c)
            help_text = subprocess.run([BIN, c, "--help"], stdout=subprocess.PIPE,
                                       universal_newlines=True).stdout
            t.ok(len(flags(help_text)) > 0, "binday %s --help names options" % c)
            t.eq(flags(text), flags(help_text), "binday-%s(1) shows the options --help prints" % c)
        text, warn = render(os.path.join(d, "binday.1"))
        t.eq(warn, "", "binday(1) renders without warnings")
        t.ok(all(("binday-%s(1)" % c) in text for c in cmds), "binday(1) points at every command's page")
        with open(os.path.join(d, "binday-serve.1")) as f:
            t.contains(f.read(), "do not edit", "pages say they are generated")
    t.done()


if __name__ == "__main__":
    main()
