#!/bin/sh
# Build the Debian package from a clean copy of the tree in a temp dir
# (dpkg-buildpackage writes next to the source), check it with lintian,
# and leave the .deb in build/deb/.  Needs debhelper and lintian.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n '1s/^modq (\([^)]*\)).*/\1/p' "$top/debian/changelog")
tmp=$(mktemp -d /tmp/modq-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/modq-$version" "$top/build/deb"
(cd "$top" && git ls-files -z | xargs -0 tar -cf -) |
    (cd "$tmp/modq-$version" && tar -xf -)
(cd "$tmp/modq-$version" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 || {
	tail -30 "$tmp/build.log"
	echo "deb: dpkg-buildpackage failed" >&2
	exit 1
}
out=$(lintian --fail-on error,warning "$tmp"/modq_"$version"_*.deb 2>&1 |
    grep -v 'running with root privileges' || true)
if [ -n "$out" ]; then
	echo "$out"
	echo "deb: lintian found problems" >&2
	exit 1
fi
cp "$tmp"/modq_"$version"_*.deb "$top/build/deb/"
echo "deb: build/deb/$(basename "$tmp"/modq_"$version"_*.deb), lintian clean"
