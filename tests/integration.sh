#!/usr/bin/env bash
#
# integration.sh -- end-to-end tests of modqd against a real redis-server.
# Usage: tests/integration.sh [BUILD_DIR]   (default: build)
#
# The script owns its servers: a redis-server on a unix socket in a
# mktemp -d directory, and modqd processes it starts itself.  A trap stops
# only the PIDs it started.  It prints "N passed, N failed" and exits 1 if
# anything failed.
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/modq-it.XXXXXX)
SOCK=$TMP/redis.sock
PIDS=()
PASS=0
FAIL=0

. "$TOP/tests/lib.sh"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$FAIL" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$TMP"
	else
		echo "integration: logs kept in $TMP"
	fi
}
trap cleanup EXIT

start_redis "$TMP" "$SOCK" || { echo "integration: cannot start redis-server"; exit 1; }

# --- basic decisions ------------------------------------------------------

write_conf "$TMP/basic.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 2000; };
queue: { claim_idle_ms = 1000; };
keywords: (
  { name = "slurs";   action = "reject"; words = [ "ass", "shit" ]; },
  { name = "threats"; action = "reject"; words = [ "kill you", "behead*" ]; },
  { name = "watch";   action = "hold";   words = [ "traitor" ]; }
);
allow = [ "scunthorpe" ];
rates: (
  { name = "author-flood"; per = "author"; limit = 2; window = 60; action = "hold"; }
);
EOF
start_modqd "$TMP/basic.conf" "$TMP/basic.log" || exit 1

xadd id c1 author u-1 thread t1 ip 203.0.113.9 body "a perfectly fine comment"
wait_status c1 approved
check_field c1 reasons ""
check_field c1 decided_by modqd
check_field c1 author u-1
check_field c1 body "a perfectly fine comment"

xadd id c2 author u-2 thread t1 body "you are an ass"
wait_status c2 rejected
check_field c2 reasons slurs
check_field c2 matched 'slurs:"ass"'

xadd id c3 author u-3 thread t1 body "what a traitor"
wait_status c3 held
check_eq "held set has c3" "$(rcli ZSCORE modq:held c3 | grep -c .)" 1

xadd id c4 body "class act from Scunthorpe"
wait_status c4 approved

# --- rate rule at the boundary: limit 2 -> the 3rd is held -----------------

xadd id r1 author u-9 body "one"
xadd id r2 author u-9 body "two"
xadd id r3 author u-9 body "three"
wait_status r1 approved
wait_status r2 approved
wait_status r3 held
check_field r3 reasons author-flood

# --- dead letters -----------------------------------------------------------

xadd author u-1 body "no id here"
xadd id d2 author u-1
wait_dead 2
check_eq "dead letter errors" "$(rcli --raw XRANGE modq:dead - + | grep -A1 '^error$' | grep -v '^error$' | grep -v -- -- | sort | tr '\n' '|')" \
    "missing field: body|missing field: id|"

stop_modqd
summary
