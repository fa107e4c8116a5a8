#!/usr/bin/python3
"""help2roff.py - the man pages, made from the program's own --help.

    tools/help2roff.py BINARY OUTDIR [VERSION]

Writes OUTDIR/binday.1 (from `binday help`) and OUTDIR/binday-CMD.1 for every
command `binday help` lists (from `binday CMD --help`). Nothing is written by
hand, so a page cannot say something --help does not: the build makes them
(`make man`, debian/rules) and tests/integration/test_man.py checks that every
command has one and that its options are the ones --help prints.

The --help texts share one shape, which this reads:
    usage: binday CMD ...            SYNOPSIS (with continuation lines and
           binday CMD OTHER-FORM ...  further forms)
    <blank>
    paragraphs                       DESCRIPTION, in order
      --flag ARG   what it does      option items (indented 1-4 spaces),
                   more words        continued by deeper-indented lines
      other indented lines           kept as preformatted text

SOURCE_DATE_EPOCH (set by dpkg-buildpackage from debian/changelog) dates the
pages, so two builds of one version give the same bytes."""
import datetime
import os
import re
import subprocess
import sys

EXIT = "0 ok, 1 runtime failure, 2 usage error, 3 input rejected."
OPTION = re.compile(r"^( {1,4})(--?[A-Za-z0-9][\w-]*)((?: [A-Z][A-Z0-9_.|-]*(?: \.\.\.)?| \(repeatable\))*)(?:\s+(.*))?$")


def esc(s):
    """Text for a roff line: backslashes, hyphens as minus signs where they
    are options (lintian: hyphen-used-as-minus-sign), a leading dot or quote."""
    s = s.replace("\\", "\\e")
    s = s.replace("-", "\\-")
    if s.startswith(".") or s.startswith("'"):
        s = "\\&" + s
    return s


def run(binary, *args):
    p = subprocess.run([binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit("help2roff: %s %s exited %d: %s" % (binary, " ".join(args), p.returncode, p.stderr))
    return p.stdout


def commands(binary):
    """[(name, summary)] from `binday help`'s command list."""
    out, cmds, inside = run(binary, "help"), [], False
    for line in out.splitlines():
        if line.startswith("commands:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^  (\S+)\s+(.*)$", line)
            if not m:
                break
            if m.group(1) != "help":
                cmds.append((m.group(1), m.group(2)))
    if not cmds:
        raise SystemExit("help2roff: no commands in `%s help`" % binary)
    return cmds


def split_usage(text):
    """(synopsis lines, the rest) of a --help text."""
    lines = text.rstrip("\n").splitlines()
    syn = []
    i = 0
    while i < len(lines) and not lines[i].lower().startswith("usage:"):
        i += 1  # `binday help` opens with a banner line
    if i == len(lines):
        return [], lines
    if lines[i].lower().startswith("usage:"):
        syn.append(lines[i][len("usage:"):].strip())
        i += 1
        # further forms ("       binday user forget ...") and continuations ("   [--x]")
        while i < len(lines) and re.match(r"^\s+(binday\b|\[)", lines[i]):
            s = lines[i].strip()
            if s.startswith("["):
                syn[-1] += " " + s
            else:
                syn.append(s)
            i += 1
    return syn, lines[i:]


def body_roff(lines):
    """DESCRIPTION: paragraphs, option items (.TP), preformatted indented text."""
    out = []
    mode = None  # "para", "opt", "pre"
    opt_indent = 0
    for line in lines:
        if not line.strip():
            if mode == "pre":
                out.append(".fi")
                out.append(".RE")
            mode = None
            continue
        m = OPTION.match(line)
        indent = len(line) - len(line.lstrip(" "))
        if m:
            if mode == "pre":
                out += [".fi", ".RE"]
            mode, opt_indent = "opt", len(m.group(1))
            flag, args, desc = m.group(2), (m.group(3) or "").strip(), m.group(4) or ""
            out.append(".TP")
            out.append("\\fB%s\\fR%s" % (esc(flag), (" \\fI%s\\fR" % esc(args)) if args else ""))
            if desc:
                out.append(esc(desc))
            continue
        if mode == "opt" and indent > opt_indent + 2:
            out.append(esc(line.strip()))  # continuation of the option's text
            continue
        if indent > 0:
            if mode != "pre":
                out += [".PP", ".RS 4", ".nf"]
                mode = "pre"
            out.append(esc(line[2:] if line.startswith("  ") else line.strip()))
            continue
        if mode == "pre":
            out += [".fi", ".RE"]
        if mode != "para":
            out.append(".PP")
            mode = "para"
        out.append(esc(line))
    if mode == "pre":
        out += [".fi", ".RE"]
    return out


def page(name, section_title, version, date, summary, synopsis, body, see_also):
    r = ['.\\" Generated by tools/help2roff.py from `%s --help`; do not edit.' % name.replace("-", " ", 1),
         '.TH %s 1 "%s" "binday %s" "binday manual"' % (esc(name.upper()), date, esc(version)),
         ".nh",  # no hyphenation: an option split across lines could not be searched or copied
         ".ad l",
         ".SH NAME", "%s \\- %s" % (esc(name), esc(summary)), ".SH SYNOPSIS", ".nf"]
    r += [esc(s) for s in synopsis]
    r += [".fi", ".SH DESCRIPTION"]
    r += body
    r += [".SH EXIT STATUS", esc(EXIT), ".SH SEE ALSO", ", ".join("\\fB%s\\fR(1)" % esc(s) for s in see_also)]
    return "\n".join(r) + "\n"


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    binary, outdir = sys.argv[1], sys.argv[2]
    version = sys.argv[3] if len(sys.argv) == 4 else run(binary, "--version").split()[-1]
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch else \
        datetime.datetime.now(datetime.timezone.utc)
    date = when.strftime("%Y-%m-%d")
    os.makedirs(outdir, exist_ok=True)
    cmds = commands(binary)
    names = ["binday-" + c for c, _ in cmds]
    for c, summary in cmds:
        syn, rest = split_usage(run(binary, c, "--help"))
        text = page("binday-" + c, c, version, date, summary, syn, body_roff(rest), ["binday"])
        with open(os.path.join(outdir, "binday-%s.1" % c), "w") as f:
            f.write(text)
    # binday(1): the command list, each pointing at its page
    text = run(binary, "help")
    m = re.match(r"^binday \S+ - (.*)$", text.splitlines()[0])
    syn, rest = split_usage(text)
    body = [".PP", "Commands (\\fBbinday help\\fR \\fICOMMAND\\fR prints one's options):"]
    for c, summary in cmds:
        body += [".TP", "\\fB%s\\fR" % esc(c), "%s; \\fBbinday\\-%s\\fR(1)" % (esc(summary), esc(c))]
    body += body_roff([l for l in rest if not re.match(r"^(commands:|  \S|exit codes:)", l)])
    with open(os.path.join(outdir, "binday.1"), "w") as f:
        f.write(page("binday", "", version, date, m.group(1) if m else "binday", syn, body, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
