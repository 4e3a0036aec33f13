#!/usr/bin/env bash
#
# faults.sh -- fault injection for the first of the README's Guarantees
# (nothing lost, nothing doubled): every comment added to the stream gets
# exactly one decision, counted once by the rate rules, while daemons are
# killed, Redis restarts, stalls, loses its functions library, or answers
# BUSY and LOADING.
# Usage: tests/faults.sh [BUILD_DIR]   (default: build)
#
# Environment:
#   FAULTS_N       comments of the main scenario (default 20000)
#   FAULTS_SEED    random seed (default: from the clock; always printed)
#   FAULTS_CORPUS  comment texts, one a line (default
#                  ../shared/corpus/perf/corpus.txt next to the repository;
#                  synthetic texts are used when it is missing)
#   FAULTS_SECTIONS  the sections to run, by number or name, e.g.
#                  "1 functions" (default: all)
#   KEEP=1         keep the logs and data in $TMP even when all passed
#
# Sections (number, name):
#   1 kills         two modqd (same group, two consumer names) decide
#                   FAULTS_N comments while one or the other is SIGKILLed
#                   ten times and restarted, and redis-server (appendonly,
#                   fsync always) is restarted once
#   2 stall         Redis SIGSTOP'd for 10 s while comments flow
#                   (timeout_ms 500)
#   3 functions     FUNCTION FLUSH, then FUNCTION DELETE modq, mid-load
#   4 backpressure  a backlog larger than the memory bound, Redis
#                   SIGSTOP'd; modqd's VmRSS stays bounded
#   5 busy, loading BUSY (a 3 s script) and LOADING (a slow restart)
#                   mid-load (5a busy, 5b loading)
#   6 stalled       a modqd stalled (SIGSTOP) while Redis hands it entries
#                   comes back after the other daemon claimed and decided
#                   them
#   7 lifecycle     3000 comments, two feed files sent again (retries), two
#                   edits of every tenth, deletes of every tenth (half of
#                   them racing the first decision), four SIGKILLs and a
#                   Redis restart
#   8 content       repeats and campaigns shared by two daemons through
#                   modq:texts, four SIGKILLs: exactly one repeat a pair,
#                   exactly K - 2 of K copies a campaign
#
# After every section check_once asserts, from Redis itself: each stream
# entry has one comment hash carrying its stream id, one decisions entry per
# id, nothing pending, stats add up, author counters add up, every rate
# window holds exactly the records of its comments (no duplicates), and each
# status is the one the offline judge (modqd -e) gives.  The script owns its
# servers (a redis-server on a unix socket in mktemp -d, --port 0, and the
# modqd processes); its trap stops only the PIDs it started; every wait is
# bounded.  It prints "N passed, N failed" and exits 1 if anything failed.
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/lib.sh"
suite_init faults
FAULTS_N=${FAULTS_N:-20000}
SEED=${FAULTS_SEED:-$(($(date +%s) % 100000))}
CORPUS=${FAULTS_CORPUS:-$TOP/../shared/corpus/perf/corpus.txt}
RDIR=$TMP/redis # redis-server's --dir: the append-only files
AOF=(--appendonly yes --appendfsync always --dir "$RDIR")
RANDOM=$SEED

declare -A DPID DLOG DCONF


info() {
	echo "   $*"
}

# Sleep a random number of milliseconds in [lo, hi].
rsleep() {
	local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
}

# --- comments ---------------------------------------------------------------

# Write N comments with ids PREFIX1..PREFIXN as redis-cli --pipe input,
# CHUNK comments a file (DIR/feed.0001 ...), and their bodies, one a line
# in id order, to DIR/bodies.  ~500 authors, ~50 threads and ~200 ips,
# drawn with the seed.  BIG > 0 joins corpus lines into bodies of about
# BIG bytes (the back-pressure backlog).
gen_comments() {
	local dir=$1 n=$2 pre=$3 chunk=$4 big=${5:-0} src=$CORPUS
	mkdir -p "$dir"
	[ -r "$src" ] || src=/dev/null
	LC_ALL=C awk -v n="$n" -v pre="$pre" -v chunk="$chunk" -v dir="$dir" \
	    -v seed="$SEED" -v big="$big" '
	function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
	{ body[++nb] = $0 }
	END {
		srand(seed + n)
		if (nb == 0) { # no corpus: synthetic texts with some rule hits
			split("you bitch|such trash|a fine day|hoes and more|" \
			    "nothing to see|what a faggot|pussy cat|plain text", w, "|")
			for (nb = 1; nb <= 997; nb++)
				body[nb] = "comment " nb " " w[nb % 8 + 1]
			nb--
		}
		k = 0
		for (i = 1; i <= n; i++) {
			f = sprintf("%s/feed.%04d", dir, int((i - 1) / chunk) + 1)
			if (f != last) {
				if (last != "") close(last)
				last = f
			}
			if (big > 0) {
				b = body[k % nb + 1]; k++
				while (length(b) < big) { b = b " " body[k % nb + 1]; k++ }
			} else
				b = body[(i - 1) % nb + 1]
			a = "fa-" int(rand() * 500)
			t = "ft-" int(rand() * 50)
			ip = "10.9." int(rand() * 200) ".7"
			printf "*13\r\n%s%s%s%s%s%s%s%s%s%s%s%s%s", arg("XADD"),
			    arg("modq:incoming"), arg("*"), arg("id"), arg(pre i),
			    arg("author"), arg(a), arg("thread"), arg(t), arg("ip"),
			    arg(ip), arg("body"), arg(b) > f
			print b > (dir "/bodies")
		}
	}' "$src"
}

# Pipe one feed file into Redis; fails unless every XADD got an id.
feed_file() {
	local out
	out=$(redis-cli -s "$SOCK" --pipe <"$1" 2>&1)
	case $out in
	*"errors: 0, replies: "*) return 0 ;;
	esac
	echo "faults: feeding $1 failed: $(echo "$out" | tail -2 | tr '\n' ' ')" >&2
	return 1
}

# Feed DIR/feed.* one after the other, MS milliseconds apart, in the
# background (FEED_PID); failures are counted in DIR/feed.failed.
feed_bg() {
	local dir=$1 ms=$2
	(
		for f in "$dir"/feed.*; do
			feed_file "$f" || echo "$f" >>"$dir/feed.failed"
			sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		done
	) &
	FEED_PID=$!
	track_pid "$FEED_PID"
}

# Wait (bounded) for the background feeder to finish.
feed_wait() {
	local DEADLINE
	deadline "${1:-120000}"
	while kill -0 "$FEED_PID" 2>/dev/null && ! expired; do
		sleep 0.1
	done
	kill "$FEED_PID" 2>/dev/null
	wait "$FEED_PID" 2>/dev/null
	untrack_pid "$FEED_PID"
}

# Lua put before each script that reads the stream KEYS[1]:
# each_entry(fn) calls fn(stream id, fields) for every entry, in stream
# order, a page at a time; field(fields, name) gives the value of a field
# (the last one of that name) or nil.
LUA_WALK='local function each_entry(fn)
	local start = "-"
	while true do
		local page = redis.call("XRANGE", KEYS[1], start, "+", "COUNT", 100)
		if #page == 0 then break end
		for _, e in ipairs(page) do fn(e[1], e[2]) end
		start = "(" .. page[#page][1]
	end
end
local function field(f, name)
	local v
	for i = 1, #f, 2 do
		if f[i] == name then v = f[i + 1] end
	end
	return v
end
'

# Lua: the comment ids in the incoming stream, one a line.
LUA_IDS="$LUA_WALK"'local o = {}
each_entry(function(sid, f)
	o[#o + 1] = field(f, "id")
end)
return table.concat(o, "\n")'

# Feed again the comments of a feed file that are not in the stream (its
# loader died with Redis): each comment is 27 RESP lines, the id the 11th.
# Prints how many were fed again.
feed_repair() {
	local f=$1
	rcli --raw EVAL "$LUA_IDS" 1 modq:incoming >"$f.present"
	LC_ALL=C awk 'NR == FNR { have[$0] = 1; next }
	{ rec[(FNR - 1) % 27] = $0 }
	FNR % 27 == 0 {
		id = rec[10]
		sub(/\r$/, "", id)
		if (!(id in have)) {
			for (i = 0; i < 27; i++) print rec[i]
			n++
		}
	}
	END { print n + 0 >"/dev/stderr" }' "$f.present" "$f" >"$f.repair" 2>"$f.nrepair"
	if [ -s "$f.repair" ]; then
		feed_file "$f.repair" || touch "$f.repair.failed"
	fi
	cat "$f.nrepair"
}

# --- servers ------------------------------------------------------------------

# Write the config of daemon K (consumer f-K) for a section: EXTRA goes
# into queue, RATE is one more rate rule.  The three "-all" rules count
# every comment (their limits are never reached).
daemon_conf() {
	local k=$1 timeout=$2 extra=${3:-} rate=${4:-}
	DCONF[$k]=$TMP/d$k.conf
	# trim = false: the checks compare every key with the whole stream
	write_conf "${DCONF[$k]}" <<EOF
redis: { unix = "$SOCK"; timeout_ms = $timeout; };
queue: { consumer = "f-$k"; claim_idle_ms = 1000; max_deliveries = 100; trim = false; $extra };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "bitch", "bitches", "faggot" ]; },
  { name = "watch"; action = "hold"; words = [ "hoe", "hoes", "trash", "pussy" ]; }
);
rates: (${rate:+
  $rate,}
  { name = "author-all"; per = "author"; limit = 1000000; window = 86400; action = "hold"; },
  { name = "ip-all"; per = "ip"; limit = 1000000; window = 86400; action = "hold"; },
  { name = "thread-all"; per = "thread"; limit = 1000000; window = 86400; action = "hold"; }
);
EOF
}

# Start daemon K (its log is appended to, one file per section and K).
dstart() {
	local k=$1
	echo "=== faults.sh: start at $(date +%T.%N)" >>"${DLOG[$k]}"
	"$MODQD" -d -c "${DCONF[$k]}" >>"${DLOG[$k]}" 2>&1 &
	DPID[$k]=$!
	track_pid "${DPID[$k]}"
}

# Start daemons 1 and 2 for a section, logs named after it; wait until
# both are ready.
dstart_both() {
	local name=$1 k
	for k in 1 2; do
		DLOG[$k]=$TMP/$name.d$k.log
		: >"${DLOG[$k]}"
		dstart "$k"
	done
	for k in 1 2; do
		wait_log "${DLOG[$k]}" "ready: reading" 20000 ||
		    not_ok "$name: daemon $k did not become ready: $(tail -3 "${DLOG[$k]}")"
	done
}

# SIGKILL daemon K; a daemon that died by itself is a crash, reported.
dkill() {
	local k=$1 p=${DPID[$1]}
	if ! kill -0 "$p" 2>/dev/null; then
		not_ok "daemon $k (pid $p) died by itself: $(tail -5 "${DLOG[$k]}" | tr '\n' '|')"
	fi
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	untrack_pid "$p"
	echo "=== faults.sh: SIGKILL at $(date +%T.%N)" >>"${DLOG[$k]}"
}

# SIGTERM daemon K and wait (bounded) for it; check it was alive and exits 0.
dstop() {
	local k=$1 p=${DPID[$1]}
	check_running "daemon $k alive before its stop" "$p"
	term_wait "$p" 20000
	check_eq "daemon $k exits 0 on SIGTERM" "$STOP_RC" 0
}

# Check a daemon log for sanitizer reports (comment bodies aside).
check_clean() {
	local bad
	bad=$(grep -v '): body "' "$1" |
	    grep -E -m1 'AddressSanitizer|runtime error:|LeakSanitizer|Segmentation fault')
	check_eq "no sanitizer report in $(basename "$1")" "$bad" ""
}

# Stop both daemons and check their logs.
dstop_both() {
	local k
	for k in 1 2; do
		dstop "$k"
		check_clean "${DLOG[$k]}"
	done
}

# Stop redis-server with SIGTERM (it writes and syncs its AOF) and wait,
# bounded, for it to leave.
redis_term() {
	kill -CONT "$REDIS_PID" 2>/dev/null
	term_wait "$REDIS_PID" 20000 ||
	    echo "faults: redis-server did not stop, SIGKILL" >&2
}

# Start redis-server with the append-only file and extra arguments, and
# wait (bounded) until it has loaded its data.
redis_start() {
	local DEADLINE
	start_redis "$TMP" "$SOCK" "${AOF[@]}" "$@" || {
		echo "faults: cannot start redis-server; log:" >&2
		tail -5 "$TMP/redis.log" >&2
		exit 1
	}
	deadline 60000
	until [ "$(rcli PING 2>/dev/null)" = PONG ] || expired; do
		sleep 0.1
	done
}

# Empty Redis for a new section (the functions library stays).
fresh() {
	rcli FLUSHALL >/dev/null
}

# Wait (bounded) until N comments are processed and nothing is pending.
wait_all() {
	local n=$1 DEADLINE p q
	deadline "$2"
	while :; do
		p=$(rcli --raw HGET modq:stats processed)
		q=$(rcli XPENDING modq:incoming modqd 2>/dev/null | head -1)
		[ "${p:-0}" -ge "$n" ] && [ "$q" = 0 ] && return 0
		expired && break
		sleep 0.25
	done
	info "wait_all: $p processed, $q pending after $2 ms"
	return 1
}

# Wait (bounded) until at least N comments are processed.
wait_processed() {
	local n=$1 DEADLINE p
	deadline "$2"
	while :; do
		p=$(rcli --raw HGET modq:stats processed)
		[ "${p:-0}" -ge "$n" ] && return 0
		expired && return 1
		sleep 0.05
	done
}

# Entries read and not yet acknowledged in the group.
pending() {
	rcli XPENDING modq:incoming modqd 2>/dev/null | head -1
}

# VmRSS of a process in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# --- checks -------------------------------------------------------------------

# Lua: walk the incoming stream (in pages) and count entries, entries
# without a decided hash, hashes with another stream id, unknown statuses.
LUA_ONCE="$LUA_WALK"'local n, miss, wrong, bad = 0, 0, 0, 0
local ok = { approved = 1, held = 1, rejected = 1 }
each_entry(function(sid, f)
	local id = field(f, "id")
	n = n + 1
	local h = redis.call("HMGET", ARGV[1] .. id, "status", "stream_id")
	if not h[1] then miss = miss + 1
	elseif h[2] ~= sid then wrong = wrong + 1
	elseif not ok[h[1]] then bad = bad + 1 end
end)
return n .. " " .. miss .. " " .. wrong .. " " .. bad'

# Lua: per author named in the stream, its comments against the sum of
# approved + held + rejected in modq:author:<author>.  Returns "authors
# mismatched sum".
LUA_AUTHORS="$LUA_WALK"'local cnt = {}
each_entry(function(sid, f)
	local a = field(f, "author")
	if a then cnt[a] = (cnt[a] or 0) + 1 end
end)
local na, bad, sum = 0, 0, 0
for a, c in pairs(cnt) do
	local h = redis.call("HMGET", ARGV[1] .. a, "approved", "held", "rejected")
	local s = (tonumber(h[1]) or 0) + (tonumber(h[2]) or 0) + (tonumber(h[3]) or 0)
	na = na + 1
	sum = sum + s
	if s ~= c then bad = bad + 1 end
end
return na .. " " .. bad .. " " .. sum'

# Lua: a stream id's record in a rate window, as modqd writes it: 8
# bytes big-endian milliseconds, 4 bytes big-endian sequence.
LUA_REC='local function rec(sid)
	local ms, seq = string.match(sid, "^(%d+)%-(%d+)$")
	ms, seq = tonumber(ms), tonumber(seq)
	local b = {}
	for i = 7, 0, -1 do b[#b + 1] = string.char(math.floor(ms / 2 ^ (8 * i)) % 256) end
	for i = 3, 0, -1 do b[#b + 1] = string.char(math.floor(seq / 2 ^ (8 * i)) % 256) end
	return table.concat(b)
end
'

# Lua: the rate windows of rule ARGV[2] (counting field ARGV[3]) against
# the stream: each window (a string of records, or a sorted set of them for
# a large limit) must hold exactly the 12-byte records
# (8 bytes big-endian ms, 4 bytes big-endian seq) of the stream entries
# with that field value.  Returns "keys records expected duplicates
# strangers missing misaligned".
LUA_RATES="$LUA_WALK$LUA_REC"'local want = {}
each_entry(function(sid, f)
	local v = field(f, ARGV[3])
	if v then
		want[v] = want[v] or {}
		want[v][rec(sid)] = true
	end
end)
local nk, nr, ne, dup, strange, miss, odd = 0, 0, 0, 0, 0, 0, 0
for v, set in pairs(want) do
	local k = ARGV[1] .. ARGV[2] .. ":" .. v
	local s
	if redis.call("TYPE", k).ok == "zset" then
		s = table.concat(redis.call("ZRANGE", k, 0, -1))
	else
		s = redis.call("GET", k) or ""
	end
	local seen = {}
	nk = nk + 1
	if #s % 12 ~= 0 then odd = odd + 1 end
	for p = 1, #s - 11, 12 do
		local r = string.sub(s, p, p + 11)
		nr = nr + 1
		if seen[r] then dup = dup + 1
		elseif not set[r] then strange = strange + 1 end
		seen[r] = true
	end
	for r in pairs(set) do
		ne = ne + 1
		if not seen[r] then miss = miss + 1 end
	end
end
return nk .. " " .. nr .. " " .. ne .. " " .. dup .. " " .. strange .. " " .. miss .. " " .. odd'

# Lua: "id status" of every stream entry, in stream order.
LUA_STATUSES="$LUA_WALK"'local o = {}
each_entry(function(sid, f)
	local id = field(f, "id")
	o[#o + 1] = id .. " " .. (redis.call("HGET", ARGV[1] .. id, "status") or "-")
end)
return table.concat(o, "\n")'

# Lua: the stream ids of one author's entries, one a line.
LUA_AUTHOR_SIDS="$LUA_WALK"'local o = {}
each_entry(function(sid, f)
	if field(f, "author") == ARGV[1] then o[#o + 1] = sid end
end)
return table.concat(o, "\n")'

# Judge DIR/bodies offline (modqd -e: keyword rules only, which is the
# whole verdict here: rate limits are never reached and no author or
# thread has a state) and print "PREFIX<i> status" per line.
judge_offline() {
	local conf=$1 dir=$2 pre=$3 per=${4:-1000} i=0 j n
	local -a B args
	mapfile -t B <"$dir/bodies"
	n=${#B[@]}
	# (an element loop: bash slices "${B[@]:i:per}" slowly when the
	# elements are large)
	while [ "$i" -lt "$n" ]; do
		args=()
		for ((j = i; j < i + per && j < n; j++)); do
			args+=("${B[j]}")
		done
		"$MODQD" -c "$conf" -e -- "${args[@]}"
		i=$((i + per))
	done | awk -v pre="$pre" -F '\t' '{
		s = "?" $1
		if ($1 == "approve") s = "approved"
		if ($1 == "hold") s = "held"
		if ($1 == "reject") s = "rejected"
		print pre NR " " s
	}'
}

# Decode the rate window of one author with od (outside Redis) into
# "ms-seq" lines, sorted; a misaligned string prints "misaligned".  The
# rule's limit is large, so its window is a sorted set of records.
window_sids() {
	rcli --raw EVAL "return table.concat(redis.call('ZRANGE', KEYS[1], 0, -1))" \
	    1 "modq:rate:author-all:$1" | od -An -tx1 -v |
	    tr -s ' \n' '\n\n' | grep . | sed '$d' | awk '
	{ h[n++] = $0 }
	END {
		if (n % 12 != 0) { print "misaligned " n; exit }
		for (r = 0; r < n; r += 12) {
			ms = 0; seq = 0
			for (j = 0; j < 8; j++) ms = ms * 256 + hex(h[r + j])
			for (j = 8; j < 12; j++) seq = seq * 256 + hex(h[r + j])
			printf "%.0f-%.0f\n", ms, seq
		}
	}
	function hex(s,  v, i, c) {
		v = 0
		for (i = 1; i <= 2; i++) {
			c = index("0123456789abcdef", substr(s, i, 1)) - 1
			v = v * 16 + c
		}
		return v
	}' | sort
}

# Every assertion of "exactly once" for N comments PREFIX1..N fed from DIR
# (generated with gen_comments) and judged with config CONF.
check_once() {
	local name=$1 n=$2 dir=$3 pre=$4 conf=$5 per=${6:-1000}
	local st p a h r d rule field got a1 k diffs want
	check_eq "$name: every comment was added (XLEN)" "$(rcli XLEN modq:incoming)" "$n"
	check_eq "$name: entries, undecided, other stream id, bad status" \
	    "$(rcli --raw EVAL "$LUA_ONCE" 1 modq:incoming modq:c:)" "$n 0 0 0"
	check_eq "$name: comment hashes modq:c:*" \
	    "$(rcli --scan --pattern 'modq:c:*' | wc -l)" "$n"
	check_eq "$name: XLEN modq:decisions" "$(rcli XLEN modq:decisions)" "$n"
	check_eq "$name: decisions: entries, distinct ids, ids decided twice" \
	    "$(rcli --raw EVAL "$LUA_DECISION_COUNTS" 1 modq:decisions)" "$n $n 0"
	check_eq "$name: XPENDING of the group" \
	    "$(rcli XPENDING modq:incoming modqd | head -1)" 0
	st=$(rcli --raw HMGET modq:stats processed approved held rejected dead)
	{ read -r p; read -r a; read -r h; read -r r; read -r d; } <<<"$st"
	check_eq "$name: stats processed" "$p" "$n"
	check_eq "$name: stats approved+held+rejected" \
	    "$((${a:-0} + ${h:-0} + ${r:-0}))" "$n"
	check_eq "$name: stats dead, dead letters" "${d:-0} $(rcli XLEN modq:dead)" "0 0"
	check_eq "$name: held set = stats held" "$(rcli ZCARD modq:held)" "${h:-0}"
	info "$name: ${a:-0} approved, ${h:-0} held, ${r:-0} rejected"
	got=$(rcli --raw EVAL "$LUA_AUTHORS" 1 modq:incoming modq:author:)
	check_eq "$name: author counters: authors, mismatched, sum" \
	    "${got% * *} ${got#* }" "${got% * *} 0 $n"
	for rule in author-all:author ip-all:ip thread-all:thread; do
		field=${rule#*:}
		got=$(rcli --raw EVAL "$LUA_RATES" 1 modq:incoming modq:rate: \
		    "${rule%%:*}" "$field")
		# keys records expected duplicates strangers missing misaligned
		set -- $got
		check_eq "$name: ${rule%%:*} windows: records, duplicates, strangers, missing, misaligned" \
		    "$2 $4 $5 $6 $7" "$n 0 0 0 0"
		[ "$3" = "$n" ] || not_ok "$name: ${rule%%:*}: $3 records expected for $n comments"
	done
	# A few authors' windows decoded outside Redis (od), record by record.
	for k in 1 2 3; do
		a1=$(rcli --raw HGET "modq:c:$pre$k" author)
		[ -n "$a1" ] || continue
		got=$(window_sids "$a1")
		want=$(rcli --raw EVAL "$LUA_AUTHOR_SIDS" 1 modq:incoming "$a1" | sort)
		check_eq "$name: window of $a1 (od): records" \
		    "$(echo "$got" | grep -c .)" "$(echo "$want" | grep -c .)"
		check_eq "$name: window of $a1 (od): duplicate records" \
		    "$(echo "$got" | uniq -d | grep -c .)" 0
		check_eq "$name: window of $a1 (od): records = its stream ids" \
		    "$(diff <(echo "$got") <(echo "$want") | grep -c '^[<>]')" 0
	done
	# Every status is the offline judge's (PER = 0: not checked).
	[ "$per" -gt 0 ] || return 0
	rcli --raw EVAL "$LUA_STATUSES" 1 modq:incoming modq:c: | sort >"$dir/statuses"
	judge_offline "$conf" "$dir" "$pre" "$per" | sort >"$dir/expected"
	diffs=$(diff "$dir/statuses" "$dir/expected" | grep -c '^<')
	check_eq "$name: statuses equal to the offline judge (modqd -e)" "$diffs" 0
	[ "$diffs" -eq 0 ] ||
	    info "first differences: $(diff "$dir/statuses" "$dir/expected" | head -6 | tr '\n' '|')"
}

# How often a log line occurs in both daemons' logs of a section.
count_logs() {
	cat "${DLOG[1]}" "${DLOG[2]}" 2>/dev/null | grep -Ec -- "$1"
}

# ---------------------------------------------------------------------------

mkdir -p "$RDIR"
redis_start
info "seed $SEED (FAULTS_SEED=$SEED reproduces the schedule), $FAULTS_N comments"
[ -r "$CORPUS" ] || info "no corpus at $CORPUS: synthetic comment texts"
case $(ldd "$MODQD" 2>/dev/null) in
*libasan*) ASAN=1 ;;
*) ASAN= ;;
esac

# --- 1. kills and a Redis restart under load -------------------------------

scenario_kills() {
	section "1. $FAULTS_N comments, two daemons, 10 SIGKILLs, 1 Redis restart"
	fresh
	N=$FAULTS_N
	CHUNK=$(((N + 19) / 20))
	D1=$TMP/s1
	gen_comments "$D1" "$N" c "$CHUNK"
	daemon_conf 1 1000
	daemon_conf 2 1000
	dstart_both s1
	NCHUNKS=$(ls "$D1"/feed.* | wc -l)
	# The feed takes about 40 s at 20000 comments (2 ms a comment, at least
	# 6 s) in 20 bursts: the daemons (about 5000 comments/s together
	# here) have a backlog for a few hundred ms after each burst.  Each of
	# the 11 faults falls in a burst of its own: a kill at a random moment
	# 0-200 ms into it, the Redis restart as soon as the daemons have read
	# some of it, so they meet comments in flight.
	FEED_MS=$((N * 2 > 6000 ? N * 2 : 6000))
	GAP=$((FEED_MS / NCHUNKS))
	# Fault schedule: the chunk each fault falls in; the kills go at random
	# to one daemon or the other, five each.
	KILLS=(1 1 1 1 1 2 2 2 2 2)
	for i in 9 8 7 6 5 4 3 2 1; do
		j=$((RANDOM % (i + 1)))
		t=${KILLS[i]}
		KILLS[i]=${KILLS[j]}
		KILLS[j]=$t
	done
	declare -A AT
	for i in $(seq 0 10); do
		c=$((2 + RANDOM % (NCHUNKS - 1)))
		while [ -n "${AT[$c]:-}" ]; do
			c=$((c % NCHUNKS + 1))
		done
		AT[$c]=$i
	done
	NKILL=0
	NREDIS=0
	c=0
	for f in "$D1"/feed.*; do
		c=$((c + 1))
		(feed_file "$f" 2>"$f.err" || touch "$f.failed") &
		FEED_PID=$!
		track_pid "$FEED_PID"
		for i in ${AT[$c]:-}; do
			if [ "$i" -lt 10 ]; then
				rsleep 0 200
				k=${KILLS[i]}
				dkill "$k"
				NKILL=$((NKILL + 1))
				info "chunk $c: SIGKILL daemon $k ($(rcli XLEN modq:incoming) added, $(rcli --raw HGET modq:stats processed) processed, $(pending) pending)"
				rsleep 0 2500 # after 1 s the other daemon may claim first
				dstart "$k"
			else
				# Redis goes down under the loader too: what it could
				# not add is added once Redis is back (feed_repair).
				# Each XADD it acknowledged must survive (appendfsync
				# always); none may be added twice.
				deadline 1000 # as soon as the daemons read the burst
				until [ "$(pending)" -gt 0 ] || expired; do
					sleep 0.01
				done
				info "chunk $c: restarting redis-server ($(rcli XLEN modq:incoming) added, $(rcli --raw HGET modq:stats processed) processed, $(pending) pending)"
				L1=$(wc -l <"${DLOG[1]}")
				L2=$(wc -l <"${DLOG[2]}")
				redis_term
				feed_wait 30000
				rm -f "$f.failed"
				rsleep 200 1500
				redis_start
				info "chunk $c: $(feed_repair "$f") comments of the chunk fed again after the restart"
				NREDIS=$((NREDIS + 1))
			fi
		done
		feed_wait 60000
		sleep "$((GAP / 1000)).$(printf %03d $((GAP % 1000)))"
	done
	check_eq "loader: every chunk accepted" "$(ls "$D1" | grep -c '\.failed$')" 0
	check_eq "faults injected: kills, redis restarts" "$NKILL $NREDIS" "10 1"
	if wait_all "$N" $((60000 + N * 5)); then
		ok "everything processed"
	else
		not_ok "section 1: not everything processed in time"
	fi
	info "recoveries: $(count_logs 'took [0-9]+ of our own') own, $(count_logs 'took [0-9]+ idle') idle claims; $(count_logs 'redis: connected to') connects"
	check_range "daemon 1 connected after the Redis restart" \
	    "$(tail -n +$((L1 + 1)) "${DLOG[1]}" | grep -c 'redis: connected to')" 1 999
	check_range "daemon 2 connected after the Redis restart" \
	    "$(tail -n +$((L2 + 1)) "${DLOG[2]}" | grep -c 'redis: connected to')" 1 999
	dstop_both
	check_once "s1" "$N" "$D1" c "${DCONF[1]}"
}

# --- 2. Redis SIGSTOP'd for 10 s ------------------------------------------

scenario_stall() {
	section "2. Redis SIGSTOP'd for 10 s while comments flow"
	fresh
	N2=3000
	D2=$TMP/s2
	gen_comments "$D2" "$N2" s 100
	daemon_conf 1 500
	daemon_conf 2 500
	dstart_both s2
	feed_bg "$D2" 200 # 30 chunks, about 6 s without the stall
	wait_processed 600 30000 || info "only $(rcli --raw HGET modq:stats processed) processed before the stop"
	info "SIGSTOP redis-server at $(rcli --raw HGET modq:stats processed) processed"
	kill -STOP "$REDIS_PID"
	sleep 10
	kill -CONT "$REDIS_PID"
	feed_wait 60000
	check_eq "loader: every chunk accepted" "$(cat "$D2/feed.failed" 2>/dev/null | wc -l)" 0
	wait_all "$N2" 60000 || not_ok "section 2: not everything processed in time"
	for k in 1 2; do
		check_log "${DLOG[$k]}" "redis: (intake|command|write) connection: no reply within 500 ms" 1
		# the back-off after a 10 s stall reaches several seconds: the
		# other daemon may have decided everything before this one is
		# back, so wait for its reconnect (the cap is 10 s)
		wait_log_count "${DLOG[$k]}" "redis: connected to" 2 15000
		check_range "daemon $k reconnected after the stall" \
		    "$(grep -c 'redis: connected to' "${DLOG[$k]}")" 2 999
	done
	dstop_both
	check_once "s2" "$N2" "$D2" s "${DCONF[1]}"
}

# --- 3. the functions library vanishes mid-load ------------------------------

scenario_functions() {
	section "3. FUNCTION FLUSH and FUNCTION DELETE modq mid-load"
	fresh
	N3=4000
	D3=$TMP/s3
	gen_comments "$D3" "$N3" f 100
	daemon_conf 1 1000
	daemon_conf 2 1000
	dstart_both s3
	feed_bg "$D3" 150 # 40 chunks, about 6 s
	wait_processed 800 30000
	R0=$(count_logs "redis: modq functions reloaded")
	info "FUNCTION FLUSH at $(rcli --raw HGET modq:stats processed) processed"
	check_eq "FUNCTION FLUSH" "$(rcli FUNCTION FLUSH)" OK
	deadline 15000
	until [ "$(count_logs "redis: modq functions reloaded")" -gt "$R0" ] || expired; do
		sleep 0.05
	done
	check_range "a daemon reloaded the library after FUNCTION FLUSH" \
	    "$(count_logs "redis: modq functions reloaded")" $((R0 + 1)) 999
	wait_processed 2400 30000
	R1=$(count_logs "redis: modq functions reloaded")
	info "FUNCTION DELETE modq at $(rcli --raw HGET modq:stats processed) processed"
	check_eq "FUNCTION DELETE modq" "$(rcli FUNCTION DELETE modq)" OK
	deadline 15000
	until [ "$(count_logs "redis: modq functions reloaded")" -gt "$R1" ] || expired; do
		sleep 0.05
	done
	check_range "a daemon reloaded the library after FUNCTION DELETE" \
	    "$(count_logs "redis: modq functions reloaded")" $((R1 + 1)) 999
	feed_wait 60000
	check_eq "loader: every chunk accepted" "$(cat "$D3/feed.failed" 2>/dev/null | wc -l)" 0
	wait_all "$N3" 60000 || not_ok "section 3: not everything processed in time"
	check_eq "library is there at the end" "$(rcli --raw FUNCTION LIST LIBRARYNAME modq | sed -n 2p)" modq
	dstop_both
	check_once "s3" "$N3" "$D3" f "${DCONF[1]}"
}

# --- 4. back-pressure ---------------------------------------------------------

scenario_backpressure() {
	section "4. back-pressure: big backlog, Redis SIGSTOP'd, VmRSS bounded"
	fresh
	N4=800
	D4=$TMP/s4
	# 800 comments of about 56 KB: a 45 MB backlog (a modqd that read it
	# all would hold it two or three times: reply, copies, commands); with
	# max_inflight = 64 modqd holds a few MB of it at a time.
	gen_comments "$D4" "$N4" b 100 56000
	for f in "$D4"/feed.*; do
		feed_file "$f" || not_ok "section 4: feeding $f failed"
	done
	LIMIT_KB=$((64 * 1024))
	[ -n "$ASAN" ] && LIMIT_KB=$((320 * 1024)) # ASan's shadow and quarantine
	daemon_conf 1 500 "batch = 32; max_inflight = 64;"
	DLOG[1]=$TMP/s4.d1.log
	DLOG[2]=/dev/null
	: >"${DLOG[1]}"
	dstart 1
	SAMPLES=()
	deadline 30000
	until [ "$(rcli --raw HGET modq:stats processed)" -ge 200 ] 2>/dev/null || expired; do
		SAMPLES+=("$(rss_kb "${DPID[1]}")")
		sleep 0.2
	done
	info "SIGSTOP redis-server at $(rcli --raw HGET modq:stats processed) of $N4 processed"
	kill -STOP "$REDIS_PID"
	for i in 1 2 3 4 5 6; do
		sleep 1
		SAMPLES+=("$(rss_kb "${DPID[1]}")")
	done
	kill -CONT "$REDIS_PID"
	wait_all "$N4" 60000 || not_ok "section 4: not everything processed in time"
	SAMPLES+=("$(rss_kb "${DPID[1]}")")
	info "VmRSS samples (KiB): ${SAMPLES[*]}"
	MAXRSS=0
	for s in "${SAMPLES[@]}"; do
		[ -n "$s" ] && [ "$s" -gt "$MAXRSS" ] && MAXRSS=$s
	done
	check_range "modqd VmRSS (KiB) over ${#SAMPLES[@]} samples" "$MAXRSS" 1 "$LIMIT_KB"
	check_log "${DLOG[1]}" "no reply within 500 ms" 1
	dstop 1
	check_clean "${DLOG[1]}"
	check_once "s4" "$N4" "$D4" b "${DCONF[1]}" 0
	rm -f "$D4"/feed.* "$D4/bodies" # 90 MB, kept logs need not carry them

	# --- 5. BUSY and LOADING ----------------------------------------------------------
}

scenario_busy() {
	section "5a. BUSY: a 3 s script blocks Redis mid-load"
	fresh
	N5=3000
	D5=$TMP/s5a
	gen_comments "$D5" "$N5" y 1500
	daemon_conf 1 1000
	daemon_conf 2 1000
	rcli CONFIG SET busy-reply-threshold 100 >/dev/null
	dstart_both s5a
	# The loader is a client too: it adds the first half before the
	# script and the second after it, and the daemons have a backlog of
	# the first half when Redis turns BUSY.
	feed_file "$D5/feed.0001" || not_ok "section 5a: feeding the first half failed"
	info "a 3 s script at $(rcli --raw HGET modq:stats processed) processed, $(pending) pending"
	BUSY_SCRIPT='local t0 = redis.call("TIME")
	local s0 = tonumber(t0[1]) * 1000000 + tonumber(t0[2])
	local n = 0
	while true do
		local t = redis.call("TIME")
		n = n + 1
		if tonumber(t[1]) * 1000000 + tonumber(t[2]) - s0 >= tonumber(ARGV[1]) * 1000 then
			return n
		end
	end'
	check_range "the busy script ran" "$(rcli EVAL "$BUSY_SCRIPT" 0 3000)" 1 999999999999
	info "after the script: $(rcli --raw HGET modq:stats processed) processed"
	feed_file "$D5/feed.0002" || not_ok "section 5a: feeding the second half failed"
	wait_all "$N5" 60000 || not_ok "section 5a: not everything processed in time"
	check_range "the daemons met BUSY" "$(count_logs 'BUSY')" 1 999999
	dstop_both
	rcli CONFIG SET busy-reply-threshold 5000 >/dev/null
	check_once "s5a" "$N5" "$D5" y "${DCONF[1]}"
}

scenario_loading() {
	section "5b. LOADING: Redis restarts and loads slowly mid-load"
	fresh
	N6=3000
	D6=$TMP/s5b
	gen_comments "$D6" "$N6" l 1500
	# 3000 filler keys in the AOF's RDB base: with key-load-delay 1000 (µs a
	# key) loading takes about 3 s, and clients get -LOADING meanwhile.
	for i in $(seq 1 3000); do
		printf 'SET fill:%d %s\n' "$i" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	done | rcli >/dev/null
	rcli BGREWRITEAOF >/dev/null
	deadline 30000
	until rcli INFO persistence | grep -q '^aof_rewrite_in_progress:0' &&
	    rcli INFO persistence | grep -q '^aof_rewrite_scheduled:0' || expired; do
		sleep 0.1
	done
	dstart_both s5b
	feed_file "$D6/feed.0001" || not_ok "section 5b: feeding the first half failed"
	info "restarting redis-server at $(rcli --raw HGET modq:stats processed) processed, $(pending) pending"
	redis_term
	redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' \
	    --daemonize no "${AOF[@]}" --key-load-delay 1000 \
	    --loading-process-events-interval-bytes 1024 >>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	track_pid "$REDIS_PID"
	deadline 60000
	until [ "$(rcli PING 2>/dev/null)" = PONG ] || expired; do
		sleep 0.1
	done
	check_eq "redis-server loaded" "$(rcli PING)" PONG
	feed_file "$D6/feed.0002" || not_ok "section 5b: feeding the second half failed"
	wait_all "$N6" 60000 || not_ok "section 5b: not everything processed in time"
	check_range "the daemons met LOADING" "$(count_logs 'LOADING')" 1 999999
	for k in 1 2; do
		check_range "daemon $k reconnected after loading" \
		    "$(grep -c 'redis: connected to' "${DLOG[$k]}")" 2 999
	done
	dstop_both
	check_once "s5b" "$N6" "$D6" l "${DCONF[1]}"
}

# --- 6. a stalled daemon comes back ---------------------------------------------

# A modqd that stops running (SIGSTOP here; a long GC-like pause, swapping
# or a frozen VM alike) while Redis hands it entries: after claim_idle_ms
# the other daemon claims and decides them, then the stalled one resumes
# and handles the stale replies it was sent.  Its decision is skipped (the
# hash carries the stream id), and its rate records must be too: the
# second comment of each author is the second in the window, approved
# under a limit of 2.
scenario_stalled() {
	local i
	section "6. a stalled modqd comes back after its entries were claimed"
	fresh
	for k in 1 2; do
		daemon_conf "$k" 5000 "" \
		    '{ name = "author-two"; per = "author"; limit = 2; window = 3600; action = "hold"; }'
		DLOG[$k]=$TMP/s6.d$k.log
		: >"${DLOG[$k]}"
	done
	dstart 1
	wait_log "${DLOG[1]}" "ready: reading" 20000 ||
	    not_ok "section 6: daemon 1 did not become ready"
	sleep 0.5
	# The 20 comments go in, then a script keeps Redis busy for 600 ms.
	# Daemon 1's blocking read is handed the 20 at once, and what it sends
	# about them waits in Redis behind the script; it is stopped while it
	# waits, with all 20 pending for it.  --pipe sends EXEC and the script
	# in one write, so daemon 1 cannot slip its commands in between.
	{
		echo MULTI
		for i in $(seq 1 20); do
			echo "XADD modq:incoming * id p$i author pa-$i body \"first comment $i\""
		done
		echo EXEC
		echo "EVAL \"local function us() local t = redis.call('TIME') return t[1] * 1000000 + t[2] end local s = us() while us() - s < 600000 do end return 1\" 0"
	} | rcli --pipe >/dev/null &
	BUSY=$!
	sleep 0.3
	kill -STOP "${DPID[1]}"
	wait "$BUSY"
	sleep 0.2
	check_eq "the stalled daemon was handed the 20 comments" \
	    "$(rcli XPENDING modq:incoming modqd | sed -n '1p;$p' | tr '\n' ' ')" "20 20 "
	dstart 2
	wait_processed 20 15000
	check_eq "the other daemon claimed and decided them" \
	    "$(rcli --raw HGET modq:stats processed) $(grep -c 'comment p[0-9]* .*: approved' "${DLOG[2]}")" "20 20"
	info "SIGCONT daemon 1 after $(grep -h 'took [0-9]* idle' "${DLOG[2]}" | head -1 | sed 's/^.* intake: //')"
	kill -CONT "${DPID[1]}"
	# Give it (bounded) time to handle the stale reply; the windows are
	# checked at the end whatever it logs.
	wait_log_count "${DLOG[1]}" "comment p[0-9]+ .*already decided" 20 10000
	info "the resumed daemon: $(grep -c 'comment p[0-9]* .*already decided' "${DLOG[1]}") stale decisions skipped"
	for i in $(seq 1 20); do
		xadd id "q$i" author "pa-$i" body "second comment $i"
	done
	wait_all 40 20000 || not_ok "section 6: not everything processed in time"
	dstop_both
	check_eq "s6: entries, undecided, other stream id, bad status" \
	    "$(rcli --raw EVAL "$LUA_ONCE" 1 modq:incoming modq:c:)" "40 0 0 0"
	check_eq "s6: decisions: entries, distinct ids, ids decided twice" \
	    "$(rcli --raw EVAL "$LUA_DECISION_COUNTS" 1 modq:decisions)" "40 40 0"
	check_eq "s6: stats processed" "$(rcli --raw HGET modq:stats processed)" 40
	check_no_pending "s6: XPENDING of the group"
	for rule in author-all author-two; do
		set -- $(rcli --raw EVAL "$LUA_RATES" 1 modq:incoming modq:rate: "$rule" author)
		check_eq "s6: $rule windows: records, duplicates, strangers, missing, misaligned" \
		    "$2 $4 $5 $6 $7" "40 0 0 0 0"
	done
	check_eq "s6: second comments held by author-two (counted as third)" \
	    "$(for i in $(seq 1 20); do rcli --raw HGET "modq:c:q$i" status; done | grep -c held)" 0
	grep -h "comment q[0-9]* .*held" "${DLOG[1]}" "${DLOG[2]}" | head -3 | sed 's/^/   /'
}

# --- 7. retries, edits and deletes under kills -----------------------------

# Lua: for ids "ARGV[1]<i>", print "id author thread ip" of the first entry
# of each i in ARGV[2] (a space-separated list).
LUA_FIRST_FIELDS="$LUA_WALK"'local want, out = {}, {}
for i in string.gmatch(ARGV[2], "%d+") do want[ARGV[1] .. i] = true end
each_entry(function(sid, f)
	local id = field(f, "id")
	if want[id] then
		want[id] = nil
		out[#out + 1] = id .. " " .. field(f, "author") .. " " ..
		    field(f, "thread") .. " " .. field(f, "ip")
	end
end)
return table.concat(out, "\n")'

# Lua: the lifecycle's invariants over every id of the stream (ARGV[1]
# the record prefix, ARGV[2] the rate prefix of rule author-all).  Returns
# "ids records tombstones wrongdecisions badwindow strangers dupwindow
# badauthor".
LUA_LIFE="$LUA_WALK$LUA_REC"'local owner, ids, authors, nid = {}, {}, {}, 0
each_entry(function(sid, f)
	local id, a = field(f, "id"), field(f, "author")
	owner[rec(sid)] = id
	if not ids[id] then ids[id] = 0; nid = nid + 1 end
	if a then authors[a] = true end
end)
local decided = {}
for _, e in ipairs(redis.call("XRANGE", "modq:decisions", "-", "+")) do
	local f = e[2]
	if f[8] == "modqd" then decided[f[2]] = (decided[f[2]] or 0) + 1 end
end
local nrec, ntomb, wrongd, badw, strange, dupw, bada = 0, 0, 0, 0, 0, 0, 0
local cnt, seen = {}, {}
for a in pairs(authors) do
	for _, r in ipairs(redis.call("ZRANGE", ARGV[2] .. a, 0, -1)) do
		local id = owner[r]
		if not id then strange = strange + 1
		elseif seen[r] then dupw = dupw + 1
		else ids[id] = ids[id] + 1 end
		seen[r] = true
	end
end
local counted = { approved = 1, held = 1, rejected = 1 }
for id, inwin in pairs(ids) do
	local h = redis.call("HMGET", ARGV[1] .. id, "status", "stream_id",
	    "revision", "author", "body")
	if h[1] then nrec = nrec + 1 end
	if h[1] == "deleted" and not h[2] then ntomb = ntomb + 1 end
	local want = h[2] and 1 or 0
	if inwin ~= want then badw = badw + 1 end
	if h[1] ~= "deleted" and (decided[id] or 0) ~= (tonumber(h[3]) or 1) then
		wrongd = wrongd + 1
	end
	if counted[h[1]] and h[4] then cnt[h[4]] = (cnt[h[4]] or 0) + 1 end
	if h[1] == "deleted" and h[5] then wrongd = wrongd + 1 end
end
for a in pairs(authors) do
	local v = redis.call("HMGET", "modq:author:" .. a, "approved", "held", "rejected")
	local s = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0) + (tonumber(v[3]) or 0)
	if s ~= (cnt[a] or 0) then bada = bada + 1 end
end
return nid .. " " .. nrec .. " " .. ntomb .. " " .. wrongd .. " " .. badw ..
    " " .. strange .. " " .. dupw .. " " .. bada'

# Write RESP for XADD of edit K of each "id author thread ip" line.
edits_resp() {
	LC_ALL=C awk -v k="$1" 'function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
	{ printf "*13\r\n%s%s%s%s%s%s%s%s%s%s%s%s%s", arg("XADD"),
	    arg("modq:incoming"), arg("*"), arg("id"), arg($1), arg("author"),
	    arg($2), arg("thread"), arg($3), arg("ip"), arg($4), arg("body"),
	    arg("edit " k " of " $1) }'
}

# Write RESP for FCALL modq_delete of each id given.
deletes_resp() {
	LC_ALL=C awk 'function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
	{ printf "*5\r\n%s%s%s%s%s", arg("FCALL"), arg("modq_delete"), arg("0"),
	    arg($1), arg("site") }'
}

# Wait (bounded) until nothing is pending twice in a row a second apart.
wait_settled() {
	local DEADLINE
	deadline "$1"
	while :; do
		if [ "$(pending)" = 0 ]; then
			sleep 1
			[ "$(pending)" = 0 ] && return 0
		fi
		expired && return 1
		sleep 0.25
	done
}

# A site's lifecycle while daemons are killed: comments sent twice (a
# retry re-sends whole feed files), edited twice, deleted (some before
# their first decision).  Afterwards every id has one record; a deleted
# one is status deleted without its body; every other one was decided
# by modqd once per revision; each id counts once in the rate windows
# (none for a tombstone); the author counters are the records' statuses.
scenario_lifecycle() {
	local i n7 d7 k ids_e ids_d1 ids_d2
	section "7. retries, edits and deletes, two daemons, SIGKILLs, a Redis restart"
	fresh
	n7=3000
	d7=$TMP/s7
	gen_comments "$d7" "$n7" l 150
	daemon_conf 1 1000
	daemon_conf 2 1000
	dstart_both s7
	feed_bg "$d7" 100
	ids_d1=$(seq 5 10 1500 | sed 's/^/l/')
	ids_d2=$(seq 1505 10 "$n7" | sed 's/^/l/')
	ids_e=$(seq 1 10 "$n7" | paste -sd' ' -)
	# deletes racing the first decisions: some come before their comment
	echo "$ids_d1" | deletes_resp >"$d7/deletes1"
	rsleep 300 600
	feed_file "$d7/deletes1" || not_ok "s7: deletes 1 not sent"
	rsleep 0 300
	dkill 1
	info "s7: SIGKILL daemon 1 ($(rcli XLEN modq:incoming) added, $(pending) pending)"
	rsleep 500 1500
	dstart 1
	feed_wait 60000
	# retries: two feed files sent again, whole
	feed_file "$d7/feed.0003" || not_ok "s7: retry feed 3 not sent"
	feed_file "$d7/feed.0007" || not_ok "s7: retry feed 7 not sent"
	rsleep 0 300
	dkill 2
	info "s7: SIGKILL daemon 2 ($(rcli XLEN modq:incoming) added, $(pending) pending)"
	rsleep 500 1500
	dstart 2
	# Redis restarts (append-only, fsync always) under the daemons
	info "s7: restarting redis-server ($(pending) pending)"
	redis_term
	rsleep 200 800
	redis_start
	# two edits of every tenth comment, then the rest of the deletes
	rcli --raw EVAL "$LUA_FIRST_FIELDS" 1 modq:incoming l "$ids_e" >"$d7/edit.ids"
	check_eq "s7: comments to edit" "$(grep -c '^l[0-9]* ' "$d7/edit.ids")" 300
	for k in 1 2; do
		edits_resp "$k" <"$d7/edit.ids" >"$d7/edits$k"
		feed_file "$d7/edits$k" || not_ok "s7: edits $k not sent"
		rsleep 0 300
		dkill "$k"
		info "s7: SIGKILL daemon $k ($(rcli XLEN modq:incoming) added, $(pending) pending)"
		rsleep 500 1500
		dstart "$k"
	done
	echo "$ids_d2" | deletes_resp >"$d7/deletes2"
	feed_file "$d7/deletes2" || not_ok "s7: deletes 2 not sent"
	wait_settled 60000 || not_ok "s7: entries still pending"
	dstop_both
	check_eq "s7: stream entries: comments, retries, edits" \
	    "$(rcli XLEN modq:incoming)" "$((n7 + 300 + 2 * $(wc -l <"$d7/edit.ids")))"
	check_eq "s7: XPENDING of the group" "$(pending)" 0
	set -- $(rcli --raw EVAL "$LUA_LIFE" 1 modq:incoming modq:c: modq:rate:author-all:)
	info "s7: $1 ids, $3 deleted before their first decision; stats: $(rcli --raw HMGET modq:stats resent superseded deleted | paste -sd' ' -) (resent superseded deleted)"
	check_eq "s7: ids, records" "$1 $2" "$n7 $n7"
	check_eq "s7: ids decided once a revision (no deleted one with a body)" "$4" 0
	check_eq "s7: rate windows: ids counted other than once, strangers, duplicates" "$5 $6 $7" "0 0 0"
	check_eq "s7: authors whose counters differ from their records" "$8" 0
	check_eq "s7: deleted ids" \
	    "$(for i in $ids_d1 $ids_d2; do rcli --raw HGET "modq:c:$i" status; done | sort | uniq -c | awk '{ print $1, $2 }')" \
	    "$(echo $ids_d1 $ids_d2 | wc -w) deleted"
	check_eq "s7: an edited id that is not deleted: body, revision" \
	    "$(rcli --raw HMGET modq:c:l11 body revision | paste -sd' ' -)" "edit 2 of l11 3"
	check_range "s7: resent counted" "$(rcli --raw HGET modq:stats resent)" 1 300
}

# --- 8. repeats and campaigns under SIGKILLs ------------------------------------

# Write DIR/feed.* (CHUNK entries a file): G campaign groups (one text of
# 12 made-up words pasted by K authors, ids gG-k), P repeat pairs (author
# ra-I posts one text twice, ids pI-1 and pI-2) and N ordinary comments,
# in a shuffled order.  Made-up words: no keyword rule fires and no two
# texts are alike by chance.
gen_content() {
	local dir=$1 g=$2 k=$3 p=$4 n=$5 chunk=$6
	mkdir -p "$dir"
	LC_ALL=C awk -v g="$g" -v k="$k" -v p="$p" -v n="$n" -v chunk="$chunk" \
	    -v dir="$dir" -v seed="$SEED" '
	function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
	function word(  w, j) {
		w = ""
		for (j = 0; j < 4; j++)
			w = w substr("bcdfghklmnprstvz", int(rand() * 16) + 1, 1) \
			    substr("aeiou", int(rand() * 5) + 1, 1)
		return w
	}
	function text(  t, j) {
		t = word()
		for (j = 1; j < 12; j++) t = t " " word()
		return t
	}
	function add(i, a, b) { m++; id[m] = i; au[m] = a; bo[m] = b }
	BEGIN {
		srand(seed + 8)
		for (i = 1; i <= g; i++) {
			t = text()
			for (j = 1; j <= k; j++) add("g" i "-" j, "ga-" i "-" j, t)
		}
		for (i = 1; i <= p; i++) {
			t = text()
			for (j = 1; j <= 2; j++) add("p" i "-" j, "ra-" i, t)
		}
		for (i = 1; i <= n; i++) add("o" i "-1", "oa-" i, text())
		for (i = m; i > 1; i--) {
			j = int(rand() * i) + 1
			x = id[i]; id[i] = id[j]; id[j] = x
			x = au[i]; au[i] = au[j]; au[j] = x
			x = bo[i]; bo[i] = bo[j]; bo[j] = x
		}
		for (i = 1; i <= m; i++) {
			f = sprintf("%s/feed.%04d", dir, int((i - 1) / chunk) + 1)
			if (f != last) { if (last != "") close(last); last = f }
			printf "*11\r\n%s%s%s%s%s%s%s%s%s%s%s", arg("XADD"),
			    arg("modq:incoming"), arg("*"), arg("id"), arg(id[i]),
			    arg("author"), arg(au[i]), arg("thread"), arg("ft-" i % 7),
			    arg("body"), arg(bo[i]) > f
		}
	}'
}

# Lua: group the comments whose ids start with ARGV[1] by the id before
# its last "-", count in each group those whose reasons name the rule
# ARGV[2], and print "fired:groups" pairs, sorted: "3:60" is 60 groups
# with 3 each.
LUA_FIRED='
local by = {}
for _, k in ipairs(redis.call("KEYS", "modq:c:" .. ARGV[1] .. "*")) do
	local grp = string.match(string.sub(k, 8), "^(.*)-%d+$")
	local r = " " .. (redis.call("HGET", k, "reasons") or "") .. " "
	by[grp] = (by[grp] or 0) +
	    (r:find(" " .. ARGV[2] .. " ", 1, true) and 1 or 0)
end
local n = {}
for _, c in pairs(by) do n[c] = (n[c] or 0) + 1 end
local out = {}
for c, m in pairs(n) do out[#out + 1] = c .. ":" .. m end
table.sort(out)
return table.concat(out, " ")'

# Repeats and campaigns shared by two daemons through modq:texts while
# each is SIGKILLed twice: comments in flight are judged again by the
# other, and each judgement records them in modq:texts again.  Exact: of
# each repeat pair exactly one is a repeat (the one whose first record
# came second), and of each group of K copies exactly K - 2 are a
# campaign (authors = 3: the third copy on).
scenario_content() {
	local d8=$TMP/s8 g=60 k=5 p=150 n=600 total j
	section "8. repeats and campaigns, two daemons, SIGKILLs"
	fresh
	total=$((g * k + 2 * p + n))
	gen_content "$d8" "$g" "$k" "$p" "$n" 100
	for j in 1 2; do
		daemon_conf "$j" 1000
		cat >>"${DCONF[$j]}" <<EOF
repeats: ( { name = "rep"; per = "author"; window = 86400; action = "hold"; } );
campaigns: ( { name = "camp"; authors = 3; window = 86400; action = "reject"; } );
EOF
	done
	dstart_both s8
	feed_bg "$d8" 150
	for j in 1 2 1 2; do
		rsleep 300 900
		dkill "$j"
		info "s8: SIGKILL daemon $j ($(rcli XLEN modq:incoming) added, $(pending) pending)"
		rsleep 300 1000
		dstart "$j"
	done
	feed_wait 60000
	wait_all "$total" 60000 || not_ok "s8: not everything processed in time"
	dstop_both
	check_eq "s8: entries, undecided, other stream id, bad status" \
	    "$(rcli --raw EVAL "$LUA_ONCE" 1 modq:incoming modq:c:)" "$total 0 0 0"
	check_range "s8: records in modq:texts (one a judgement)" \
	    "$(rcli XLEN modq:texts)" "$total" $((3 * total))
	check_eq "s8: repeat pairs with exactly one repeat" \
	    "$(rcli --raw EVAL "$LUA_FIRED" 0 p rep)" "1:$p"
	check_eq "s8: groups of K copies with exactly K - 2 caught" \
	    "$(rcli --raw EVAL "$LUA_FIRED" 0 g camp)" "$((k - 2)):$g"
	check_eq "s8: ordinary comments caught: repeats, campaigns" \
	    "$(rcli --raw EVAL "$LUA_FIRED" 0 o rep) $(rcli --raw EVAL "$LUA_FIRED" 0 o camp)" \
	    "0:$n 0:$n"
}

# ---------------------------------------------------------------------------

want 1 kills && scenario_kills
want 2 stall && scenario_stall
want 3 functions && scenario_functions
want 4 backpressure && scenario_backpressure
want 5 busy && scenario_busy
want 5 loading && scenario_loading
want 6 stalled && scenario_stalled
want 7 lifecycle && scenario_lifecycle
want 8 content && scenario_content

summary
