#!/usr/bin/env bash
#
# sites-bench.sh: how many comments per second one Redis carries for
# several sites at once.  It starts a private redis-server on a unix socket
# in a temp dir, fills the incoming stream of each of SITES sites
# (prefixes s1, s2, ...) with N tweets of the corpus, then starts one
# build/modqd per site and times the drain of them all, from the daemons'
# start until every site's modq:stats processed reaches N.  It prints the
# comments per second of all the sites together and the Redis CPU per
# comment (INFO cpu); one site alone is the same run with SITES=1.  It
# only ever kills the processes it started, by PID.
#
# usage: tools/sites-bench.sh        environment: SITES [3] N [20000]
#        RUNS [3] MODQD [build/modqd]; SITES_STATS=1 also prints, each run,
#        what Redis spent on FCALL, EXEC and XREADGROUP (INFO commandstats)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$(cd "$root/.." && pwd)/shared/corpus
SITES=${SITES:-3}
N=${N:-20000}
RUNS=${RUNS:-3}
MODQD=${MODQD:-$root/build/modqd}
tmp=$(mktemp -d /tmp/modq-sites-bench.XXXXXX)
sock=$tmp/redis.sock
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

rcli() {
	redis-cli -s "$sock" "$@"
}

redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' \
    --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	rcli PING >/dev/null 2>&1 && break
	sleep 0.05
done

# N comments of the corpus (a tweet a line), as redis-cli arguments.
[ -f "$corpus/perf/corpus.txt" ] ||
    { echo "sites-bench: no $corpus/perf/corpus.txt" >&2; exit 1; }
awk -v n="$N" '{ t[NR] = $0 } END { for (i = 0; i < n; i++) print t[i % NR + 1] }' \
    "$corpus/perf/corpus.txt" | tr -d '\\"' | cut -c1-500 >"$tmp/texts"

# Fill site $1's stream.
fill() {
	awk -v p="$1" '{ printf "XADD %s:incoming * id c%d author a%d thread t%d body \"%s\"\n", p, NR, NR % 2000, NR % 50, $0 }' \
	    "$tmp/texts" | rcli >/dev/null
}

run() {
	local s start end cpu0 cpu1 done_ dpids=()
	rcli FLUSHALL >/dev/null
	for s in $(seq 1 "$SITES"); do
		fill "s$s"
		cat >"$tmp/s$s.conf" <<EOF
redis: { unix = "$sock"; prefix = "s$s"; };
queue: { consumer = "s$s"; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "fuck*", "bitch" ]; } );
rates: ( { name = "author-flood"; per = "author"; limit = 20; window = 60; action = "hold"; } );
EOF
	done
	rcli CONFIG RESETSTAT >/dev/null
	cpu0=$(rcli INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { t += $2 } END { print t }')
	start=$(date +%s.%N)
	for s in $(seq 1 "$SITES"); do
		"$MODQD" -c "$tmp/s$s.conf" -d >"$tmp/s$s.log" 2>&1 &
		dpids+=($!)
		pids+=($!)
	done
	for _ in $(seq 1 6000); do
		done_=0
		for s in $(seq 1 "$SITES"); do
			[ "$(rcli HGET "s$s:stats" processed)" = "$N" ] && done_=$((done_ + 1))
		done
		[ "$done_" = "$SITES" ] && break
		sleep 0.05
	done
	end=$(date +%s.%N)
	cpu1=$(rcli INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { t += $2 } END { print t }')
	[ -n "${SITES_STATS:-}" ] && rcli INFO commandstats | grep -E "fcall|exec|xreadgroup" | cut -d, -f1-3 >&2
	for s in "${dpids[@]}"; do
		kill "$s"
		wait "$s" 2>/dev/null || true
	done
	[ "$done_" = "$SITES" ] || { echo "sites-bench: the daemons did not drain the streams" >&2; exit 1; }
	awk -v n=$((N * SITES)) -v a="$start" -v b="$end" -v c0="$cpu0" -v c1="$cpu1" \
	    'BEGIN { printf "%d %.1f\n", n / (b - a), (c1 - c0) * 1e6 / n }'
}

for r in $(seq 1 "$RUNS"); do
	run
done >"$tmp/runs"
sort -n "$tmp/runs" | awk -v s="$SITES" -v n="$N" '
	{ rate[NR] = $1; us[NR] = $2 }
	END {
		m = int((NR + 1) / 2)
		printf "sites=%d comments_per_site=%d runs=%d comments_per_s_median=%d (all sites) redis_us_per_comment=%.1f\n", s, n, NR, rate[m], us[m]
	}'
