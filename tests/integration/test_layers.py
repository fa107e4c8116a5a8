#!/usr/bin/python3
"""test_layers.py - `make lint`'s layer check (tools/check_layers.py) passes
on the real tree and fails, naming FILE:LINE, on a copy of the tree with a
planted upward include (util/ including a skill/ header), a sideways one
(alexa/ and feed/ share a layer), an include of a subsystem that does not
exist, and a folder that has no layer. Each plant is tried alone on a fresh
copy, so each is shown to be caught by itself. Speaks TAP."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402

ROOT = os.environ.get("BINDAY_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "tools", "check_layers.py")
SUMMARY = re.compile(r"^layers: (\d+) files checked, (\d+) problems$", re.M)


def check(root):
    p = subprocess.run(["/usr/bin/python3", CHECK, root], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def copy_tree(d):
    """A copy of what the check reads: src/ and include/."""
    dst = os.path.join(d, "tree")
    for top in ("src", "include"):
        shutil.copytree(os.path.join(ROOT, top), os.path.join(dst, top))
    return dst


def plant_include(root, rel, header):
    """Inserts `#include "header"` after the file's first include; returns its line number."""
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("#include"))
    lines.insert(first + 1, '#include "%s"\n' % header)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return first + 2


def reported(out, where, *words):
    """The line of the report that starts with WHERE (FILE:LINE: or FOLDER:)
    and mentions every word; None when there is none."""
    for line in out.splitlines():
        if line.startswith(where) and all(w in line for w in words):
            return line
    return None


def first_file(root, folder, ext=".c"):
    names = sorted(n for n in os.listdir(os.path.join(root, "src", folder)) if n.endswith(ext))
    return "src/%s/%s" % (folder, names[0])


def main():
    t = Tap()
    rc, out, err = check(ROOT)
    m = SUMMARY.search(out)
    t.eq(rc, 0, "the real tree passes (%s)" % (m.group(0) if m else "no summary"))
    t.ok(m is not None and int(m.group(1)) > 50 and m.group(2) == "0",
         "the real tree: every source and header read, no problem", out[-2000:] + err)

    with tempfile.TemporaryDirectory(prefix="binday-layers-") as d:
        tree = copy_tree(d)
        rc, out, err = check(tree)
        t.eq(rc, 0, "an unchanged copy passes too (so what fails below is the plant)")
        shutil.rmtree(tree)

        # util is the lowest layer, skill the second highest
        tree = copy_tree(d)
        rel = first_file(tree, "util")
        ln = plant_include(tree, rel, "binday/skill/skill.h")
        rc, out, err = check(tree)
        t.eq(rc, 1, "util/ including a skill/ header: exit 1")
        t.ok(reported(out, "%s:%d:" % (rel, ln), "util", "skill"), "  names FILE:LINE and both subsystems", out)
        t.ok(SUMMARY.search(out) and SUMMARY.search(out).group(2) == "1", "  exactly one problem", out)
        shutil.rmtree(tree)

        # a header counts as much as a source file
        tree = copy_tree(d)
        hdr = sorted(n for n in os.listdir(os.path.join(tree, "include", "binday", "json")) if n.endswith(".h"))[0]
        rel = "include/binday/json/" + hdr
        ln = plant_include(tree, rel, "binday/data/store.h")
        rc, out, err = check(tree)
        t.eq(rc, 1, "a json/ header including a data/ header: exit 1")
        t.ok(reported(out, "%s:%d:" % (rel, ln), "json", "data"), "  names the header's FILE:LINE", out)
        shutil.rmtree(tree)

        # the same layer may not include sideways
        tree = copy_tree(d)
        rel = first_file(tree, "alexa")
        ln = plant_include(tree, rel, "binday/feed/ics.h")
        rc, out, err = check(tree)
        t.eq(rc, 1, "alexa/ including feed/ (same layer): exit 1")
        t.ok(reported(out, "%s:%d:" % (rel, ln), "alexa", "feed"), "  names FILE:LINE", out)
        shutil.rmtree(tree)

        tree = copy_tree(d)
        rel = first_file(tree, "data")
        ln = plant_include(tree, rel, "binday/nosuch/thing.h")
        rc, out, err = check(tree)
        t.eq(rc, 1, "an include of a subsystem that does not exist: exit 1")
        t.ok(reported(out, "%s:%d:" % (rel, ln), "nosuch"), "  names FILE:LINE", out)
        shutil.rmtree(tree)

        # a new folder must be given its layer before it builds clean
        tree = copy_tree(d)
        os.mkdir(os.path.join(tree, "src", "widgets"))
        with open(os.path.join(tree, "src", "widgets", "widget.c"), "w") as f:
            f.write('#include "binday/util/log.h"\n')
        rc, out, err = check(tree)
        t.eq(rc, 1, "a src/ folder with no layer: exit 1")
        t.ok(reported(out, "src/widgets:", "layer"), "  names the folder", out)
        shutil.rmtree(tree)

        tree = copy_tree(d)
        with open(os.path.join(tree, "src", "loose.c"), "w") as f:
            f.write("int loose;\n")
        rc, out, err = check(tree)
        t.eq(rc, 1, "a file directly in src/: exit 1")
        t.ok(reported(out, "src/loose.c:"), "  names the file", out)
    t.done()


if __name__ == "__main__":
    main()
