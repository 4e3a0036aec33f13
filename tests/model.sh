#!/usr/bin/env bash
#
# model.sh -- the two writers of a decision write the same keys.  modqd
# writes a comment with no record yet in a MULTI/EXEC transaction built in
# C (daemon/commit.c), and every other one with the modq_decide function
# (daemon/modq.lua).  The same comments, with the same stream ids, go once
# through each, under two prefixes of one Redis: every key the first run
# wrote must stand in the second with the same bytes, but for what is a
# clock (decided_at, the held set's scores, the decisions stream's ids and
# TTL lengths).
# Usage: tests/model.sh [BUILD_DIR]   (default: build)
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init model

# Every key under a prefix, one line each, the prefix cut off: its type
# and its content in a fixed order, clocks left out.
LUA_DUMP='
local out = {}
local pre = ARGV[1] .. ":"
for _, k in ipairs(redis.call("KEYS", pre .. "*")) do
	local name = string.sub(k, #pre + 1)
	local t = redis.call("TYPE", k).ok
	local ttl = redis.call("PTTL", k) > 0 and "ttl" or "no-ttl"
	local v = {}
	if t == "hash" then
		local h = redis.call("HGETALL", k)
		for i = 1, #h, 2 do
			if h[i] ~= "decided_at" then
				v[#v + 1] = h[i] .. "=" .. h[i + 1]
			end
		end
		table.sort(v)
	elseif t == "stream" then
		for _, e in ipairs(redis.call("XRANGE", k, "-", "+")) do
			v[#v + 1] = table.concat(e[2], "=")
		end
	elseif t == "zset" then
		local z = redis.call("ZRANGE", k, 0, -1, "WITHSCORES")
		for i = 1, #z, 2 do
			v[#v + 1] = name == "held" and z[i] or (z[i] .. "@" .. z[i + 1])
		end
	else
		v[1] = tostring(redis.call("GET", k))
	end
	out[#out + 1] = name .. " " .. t .. " " .. ttl .. " " .. table.concat(v, "|")
end
table.sort(out)
return out'

# Add the same comments under a prefix, with explicit stream ids.
add_comments() {
	local p=$1 i
	{
		for i in $(seq 1 40); do
			body="a perfectly fine comment $i"
			[ $((i % 5)) -eq 0 ] && body="what a traitor, number $i"
			[ $((i % 7)) -eq 0 ] && body="you are an ass $i"
			printf 'XADD %s:incoming 1000-%d id m%d author u-%d ip 192.0.2.%d thread t-%d body "%s" lang en x-%d v%d\n' \
			    "$p" "$i" "$i" $((i % 6)) $((i % 3)) $((i % 2)) "$body" "$i" "$i"
		done
	} | rcli >/dev/null
}

conf_for() {
	write_conf "$TMP/$1.conf" <<EOF
redis: { unix = "$SOCK"; prefix = "$1"; };
queue: { trim = false; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "ass" ]; },
  { name = "watch"; action = "hold"; words = [ "traitor" ]; score = 2; },
  { name = "spy"; action = "hold"; words = [ "number" ]; mode = "shadow"; }
);
length: ( { name = "long"; max = 26; action = "score"; score = 1; } );
repeats: ( { name = "repeat"; per = "thread"; window = 3600; action = "hold"; mode = "shadow"; } );
rates: (
  { name = "author-flood"; per = "author"; limit = 5; window = 3600; action = "hold"; },
  { name = "ip-flood"; per = "ip"; limit = 12; window = 3600; action = "reject"; }
);
authors: { hold_if_rejected = { ratio = 0.5; min = 4; days = 7; }; };
EOF
}

calls() {
	rcli INFO commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p"
}

start_redis "$TMP" "$SOCK" || { echo "model: cannot start redis-server"; exit 1; }

section "the transaction's keys and modq_decide's keys, byte for byte"
# Run 1: no records yet, so the transaction writes every decision.
conf_for tx
add_comments tx
start_modqd "$TMP/tx.conf" "$TMP/tx.log" || exit 1
wait_hash tx:stats processed 40 >/dev/null
stop_modqd
check_eq "run 1 decided all 40" "$(rcli --raw HGET tx:stats processed)" 40
check_range "run 1 went through MULTI/EXEC" "$(calls exec)" 1 999

# Run 2: each comment already has a record that only names an older
# stream id, which sends it to modq_decide; the function writes over it.
conf_for lua
for i in $(seq 1 40); do
	rcli HSET "lua:c:m$i" stream_id 0-1 >/dev/null
done
add_comments lua
EXEC0=$(calls exec)
FCALL0=$(calls fcall)
start_modqd "$TMP/lua.conf" "$TMP/lua.log" || exit 1
wait_hash lua:stats processed 40 >/dev/null
stop_modqd
check_eq "run 2 decided all 40" "$(rcli --raw HGET lua:stats processed)" 40
check_eq "run 2 sent no EXEC" "$(calls exec)" "$EXEC0"
check_range "run 2 went through modq_decide" "$(calls fcall)" $((FCALL0 + 1)) 99999

rcli --raw EVAL "$LUA_DUMP" 0 tx >"$TMP/tx.dump"
rcli --raw EVAL "$LUA_DUMP" 0 lua >"$TMP/lua.dump"
check_range "run 1 wrote records, counters, windows, history" "$(wc -l <"$TMP/tx.dump")" 60 9999
check_eq "run 1 wrote shadow and score fields: shadow=spy score=2 score=1" \
    "$(grep -c 'shadow=spy' "$TMP/tx.dump") $(grep -c 'score=2' "$TMP/tx.dump") $(grep -c 'score=1|' "$TMP/tx.dump")" "7 7 21"
check_eq "both runs decided the same: held, rejected" \
    "$(rcli --raw ZCARD tx:held) $(rcli --raw HGET tx:stats rejected)" \
    "$(rcli --raw ZCARD lua:held) $(rcli --raw HGET lua:stats rejected)"
if diff -u "$TMP/tx.dump" "$TMP/lua.dump" >"$TMP/model.diff"; then
	ok "every key the same"
else
	not_ok "the two writers differ:"
	head -20 "$TMP/model.diff" | cut -c1-300
fi

summary
