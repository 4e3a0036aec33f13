#!/usr/bin/env bash
#
# wait-cost.sh -- what WAIT 1 <ms> after each decision transaction would
# cost, measured against a private primary and one replica on loopback
# (tools/wait-cost.c): a batch's transaction with and without the WAIT.
# Usage: tools/wait-cost.sh [BUILD_DIR]   (default: build)
# Environment: WC_ROUNDS (2000), WC_BATCHES ("1 64 256"), WC_WAIT_MS (1000).
#
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/modq-wait-cost.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$BUILD"
# shellcheck disable=SC2046 # pkg-config's words are separate flags
cc -O2 -o "$BUILD/wait-cost" "$TOP/tools/wait-cost.c" \
    $(pkg-config --cflags --libs hiredis) || exit 1

# Start redis-server on a free loopback port: start NAME [args]; sets PORT.
start() {
	local name=$1
	shift
	mkdir -p "$TMP/$name"
	for _ in 1 2 3; do
		PORT=$((20000 + RANDOM % 40000))
		redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$TMP/$name" "$@" \
		    >"$TMP/$name/log" 2>&1 &
		PIDS+=($!)
		for _ in $(seq 1 100); do
			redis-cli -p "$PORT" PING 2>/dev/null | grep -q PONG &&
			    return 0
			sleep 0.05
		done
	done
	return 1
}

start primary || { echo "cannot start the primary"; exit 1; }
P=$PORT
start replica --replicaof 127.0.0.1 "$P" || { echo "cannot start the replica"; exit 1; }
for _ in $(seq 1 200); do
	redis-cli -p "$P" INFO replication | grep -q 'slave0:.*state=online' && break
	sleep 0.05
done
redis-cli -p "$P" XGROUP CREATE wc:incoming modqd 0 MKSTREAM >/dev/null
for b in ${WC_BATCHES:-1 64 256}; do
	"$BUILD/wait-cost" 127.0.0.1 "$P" "${WC_ROUNDS:-2000}" "$b" \
	    "${WC_WAIT_MS:-1000}" || exit 1
done
