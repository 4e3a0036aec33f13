#!/bin/bash
#
# forget-bench.sh: how long modq_forget keeps Redis busy with many
# records.  A private redis-server (unix socket, temp dir) gets
# FORGET_N records (default 1,000,000) of FORGET_AUTHORS authors; modqd
# loads its functions, then one author is forgotten while modqd steps
# through the records, and the slow log (every call) gives the longest
# single call and the sum.  Prints key=value lines.  Only the processes
# it started are stopped, by PID.
#
# usage: tools/forget-bench.sh   (MODQD [build/modqd], FORGET_N, FORGET_AUTHORS)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
N=${FORGET_N:-1000000}
AUTHORS=${FORGET_AUTHORS:-1000}
MODQD=${MODQD:-$root/build/modqd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modq-forget.XXXXXX")
sock=$tmp/redis.sock
redis_pid= modqd_pid=
cleanup() {
	[ -z "$modqd_pid" ] || kill "$modqd_pid" 2>/dev/null || true
	[ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
rcli() { redis-cli -s "$sock" "$@"; }

redis-server --port 0 --unixsocket "$sock" --dir "$tmp" --save "" \
    --appendonly no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do
	[ "$(rcli PING 2>/dev/null)" = PONG ] && break
	sleep 0.05
done
awk -v n="$N" -v a="$AUTHORS" 'function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
BEGIN {
	for (i = 1; i <= n; i++)
		printf "*12\r\n%s%s%s%s%s%s%s%s%s%s%s%s", arg("HSET"),
		    arg("modq:c:c" i), arg("id"), arg("c" i), arg("author"),
		    arg("a" (i % a)), arg("status"), arg("approved"),
		    arg("stream_id"), arg(i "-0"), arg("body"),
		    arg("a comment of about sixty bytes, number " i)
}' | rcli --pipe >/dev/null
cat >"$tmp/modqd.conf" <<EOF
redis: { unix = "$sock"; };
log: { decisions = false; };
rates: ( { name = "author-flood"; per = "author"; limit = 10; window = 60;
	action = "hold"; } );
EOF
rcli CONFIG SET slowlog-log-slower-than 0 >/dev/null
rcli CONFIG SET slowlog-max-len 1000000 >/dev/null
"$MODQD" -c "$tmp/modqd.conf" >"$tmp/modqd.log" 2>&1 &
modqd_pid=$!
for _ in $(seq 1 100); do
	rcli FUNCTION LIST LIBRARYNAME modq 2>/dev/null | grep -qx modq && break
	sleep 0.05
done
rcli SLOWLOG RESET >/dev/null
start=$(date +%s.%N)
rcli FCALL modq_forget 0 a7 bench >/dev/null
for _ in $(seq 1 6000); do
	[ "$(rcli HLEN modq:forget)" = 0 ] && break
	sleep 0.1
done
end=$(date +%s.%N)
left=$(rcli HLEN modq:forget)
erased=$(rcli EVAL "local n = 0 for i = 7, $N, $AUTHORS do if redis.call('HGET', 'modq:c:c' .. i, 'status') == 'deleted' then n = n + 1 end end return n" 0)
# Each slow log entry is: id, time, microseconds, the arguments...
rcli SLOWLOG GET 1000000 | awk '
	/^[0-9]+$/ { v[++k] = $0 }
	/^modq_forget_step$/ { print v[k] }' | sort -n | awk '
	{ d[++n] = $1; sum += $1 }
	END { printf "steps=%d p50_call_us=%d p99_call_us=%d max_call_us=%d total_us=%d\n",
	    n, d[int(n * 0.5) + 1], d[int(n * 0.99) + 1], d[n], sum }' >"$tmp/slow"
echo "records=$N authors=$AUTHORS erased=$erased left=$left" \
    "seconds=$(echo "$end - $start" | bc) $(cat "$tmp/slow")"
