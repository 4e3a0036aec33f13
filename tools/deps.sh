#!/bin/sh
# Install the Debian 12 packages modq needs to build, test and run its demo,
# and any named on the command line, if missing.  Uses sudo when not root.
set -eu
PKGS="gcc make pkg-config libevent-dev libhiredis-dev libconfig-dev
libsystemd-dev libhyperscan-dev libutf8proc-dev libpsl-dev publicsuffix
libcmocka-dev redis-server redis-sentinel redis-tools libcsv-dev python3
python3-redis
wamerican $*"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "modq: installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
