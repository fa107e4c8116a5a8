#!/bin/bash
# build-deb.sh - `make deb`: the Debian package, built with the standard tools
# (dpkg-buildpackage, debhelper) and checked by lintian.
#
#   tools/build-deb.sh [VERSION]
#
# Builds in a copy of the tree (build/deb/src: the files git tracks plus new
# ones not ignored), so neither debian/rules clean nor the package's build
# touches the developer's build/ directories, and dpkg-buildpackage's output
# lands in build/deb/ rather than beside the checkout. The version is the top
# of debian/changelog; VERSION (e.g. 0.19.0+test1, for the upgrade test)
# builds the same tree as that version, with a changelog entry saying so.
# Prints the path of the .deb last. Fails when lintian reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/deb
BASE=$(dpkg-parsechangelog -S Version)
VERSION=${1:-$BASE}

rm -rf "$OUT/src"
mkdir -p "$OUT/src"
rm -f "$OUT"/binday_"$VERSION"_* "$OUT"/binday-dbgsym_"$VERSION"_*
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done | tar --null -T - -cf - | tar -xf - -C "$OUT/src"

if [ "$VERSION" != "$BASE" ]; then
    cl="$OUT/src/debian/changelog"
    {
        printf 'binday (%s) %s; urgency=medium\n\n' "$VERSION" "$(dpkg-parsechangelog -l "$cl" -S Distribution)"
        printf '  * Rebuild of %s as %s (tools/build-deb.sh).\n\n' "$BASE" "$VERSION"
        printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$cl" -S Maintainer)" "$(date -R)"
        cat "$cl"
    } >"$cl.new"
    mv "$cl.new" "$cl"
fi

(cd "$OUT/src" && dpkg-buildpackage -b -us -uc -jauto)
CHANGES="$OUT/binday_${VERSION}_$(dpkg-architecture -qDEB_HOST_ARCH).changes"
DEB="$OUT/binday_${VERSION}_$(dpkg-architecture -qDEB_HOST_ARCH).deb"
# errors fail the build; the tags lintian gives are discussed in docs/operations.md
# ("The package"). BINDAY_DEB_LINTIAN=0 skips it (a rebuild of a checked tree).
[ "${BINDAY_DEB_LINTIAN:-1}" = 0 ] || lintian --fail-on error "$CHANGES" || {
    echo "build-deb: lintian reports errors" >&2
    exit 1
}
echo "$DEB"
