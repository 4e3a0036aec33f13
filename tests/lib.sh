# lib.sh -- helpers shared by modq's shell tests (sourced, not run).
#
# The caller sets TMP, SOCK, MODQD, and the arrays/counters PIDS, PASS,
# FAIL, and stops what is in PIDS from its own EXIT trap.  Every wait here
# is a bounded loop with a deadline; no check compares durations, only
# outcomes.

WAIT_MS=${WAIT_MS:-10000} # default deadline of a wait
declare -A SID # comment id -> stream id of its latest XADD

# Milliseconds since the epoch (this machine's clock), without a fork.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# Set DEADLINE (declare it local in the caller) MS milliseconds from now;
# expired tells whether it has passed.  No forks: the machine is shared.
deadline() {
	local t=${EPOCHREALTIME/[.,]/}
	DEADLINE=$((t / 1000 + $1))
}
expired() {
	local t=${EPOCHREALTIME/[.,]/}
	[ $((t / 1000)) -ge "$DEADLINE" ]
}

# Milliseconds since the epoch by the test server's clock.
redis_ms() {
	rcli --raw TIME | {
		read -r s
		read -r us
		echo $((s * 1000 + us / 1000))
	}
}

# Start a suite: a private temp dir ($TMP, with the redis socket $SOCK),
# the counters, and an EXIT trap that stops every PID the suite started
# (waking a SIGSTOP'd one first so it sees TERM) and keeps the logs when
# something failed or KEEP is set.
suite_init() {
	SUITE=$1
	TMP=$(mktemp -d "/tmp/modq-$1.XXXXXX")
	SOCK=$TMP/redis.sock
	PIDS=()
	PASS=0
	FAIL=0
	STARTED=$(date +%s)
	trap suite_cleanup EXIT
}

suite_cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$FAIL" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$TMP"
	else
		echo "$SUITE: logs kept in $TMP"
	fi
}

# Tell whether a section is to run: want NUMBER NAME.  The suite's
# <SUITE>_SECTIONS (INTEGRATION_SECTIONS, FAULTS_SECTIONS) lists the
# sections to run by number or name, e.g. "3 reload"; unset or empty, all
# run.  summary() fails a listed word that no section answers to.
declare -A SECTION_NAMES
want() {
	local var=${SUITE^^}_SECTIONS s
	for s in "$@"; do
		SECTION_NAMES[$s]=1
	done
	[ -z "${!var:-}" ] && return 0
	for s in "$@"; do
		case " ${!var} " in
		*" $s "*) return 0 ;;
		esac
	done
	return 1
}

# Fail for each word of <SUITE>_SECTIONS that names no section.
check_sections() {
	local var=${SUITE^^}_SECTIONS s
	for s in ${!var:-}; do
		[ -n "${SECTION_NAMES[$s]:-}" ] ||
		    not_ok "$var: no section is called '$s'"
	done
}

# Print a section header with the time since the suite started.
section() {
	echo "== $* (at $(($(date +%s) - STARTED)) s)"
}

# Run redis-cli against the test server.
rcli() {
	redis-cli -s "$SOCK" "$@"
}

# Run commands from stdin through redis-cli, whose parser understands
# "\x00"-style escapes inside double quotes (argv cannot carry a NUL).
rcli_stdin() {
	redis-cli -s "$SOCK"
}

# Remember a PID the script started, and forget it once reaped.
track_pid() {
	PIDS+=("$1")
}
untrack_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# Start a private redis-server on a unix socket; extra args are passed on
# (later arguments override earlier ones, e.g. --appendonly yes).
start_redis() {
	local dir=$1 sock=$2 i
	shift 2
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
	    --save '' --appendonly no --dir "$dir" --daemonize no "$@" \
	    >>"$dir/redis.log" 2>&1 &
	REDIS_PID=$!
	track_pid "$REDIS_PID"
	for i in $(seq 1 200); do
		[ -S "$sock" ] && redis-cli -s "$sock" PING >/dev/null 2>&1 &&
		    return 0
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# Stop the redis-server started last (SIGTERM, by PID) and reap it.
stop_redis() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	untrack_pid "$REDIS_PID"
}

# Write stdin to a config file.
write_conf() {
	cat >"$1"
}

# Stop the running modqd (if any) and empty the server for a new scenario
# (faults.sh, with daemons of its own, has its own).
fresh() {
	if [ -n "${MODQD_PID:-}" ] && kill -0 "$MODQD_PID" 2>/dev/null; then
		stop_modqd
	fi
	rcli FLUSHALL >/dev/null
	SID=()
}

# Set up a site's prefix (default modq) for the library as modqd does at
# connect (<prefix>:conf), where no modqd runs: site_conf CLI [PREFIX],
# CLI a redis-cli command of the test's server, e.g. "rcli -n 3".
site_conf() {
	$1 HSET "${2:-modq}:conf" maxlen 1000 hist_days 0 ttl_s 2592000 \
	    author_rates "" stream incoming group modqd >/dev/null
}

# The end of a fake server in Python (sentinel.sh, cluster.sh), after a
# list of raw RESP replies: on 127.0.0.1 port argv[1], it prints
# "listening", then answers the first command of each connection with the
# next reply, whatever the command was, and closes it.
# shellcheck disable=SC2034 # used by the suites
FAKE_SERVE='
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
s.settimeout(60)
print("listening", flush=True)
for r in replies:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        c.recv(4096)
        c.sendall(r)
    except OSError:
        pass
    c.close()
'

# Run modq ($MODQ) against the test server: output in $OUT (NUL bytes
# dropped), stderr in $ERR, exit status in $RC.
mq() {
	"$MODQ" -s "$SOCK" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\0' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

# Start modqd in the foreground (-d) without waiting for it.
spawn_modqd() {
	local conf=$1 log=$2
	# MODQD_WRAP runs modqd under a tool, e.g. "valgrind --leak-check=full"
	# shellcheck disable=SC2086
	${MODQD_WRAP:-} "$MODQD" -d -c "$conf" >"$log" 2>&1 &
	MODQD_PID=$!
	MODQD_LOG=$log
	track_pid "$MODQD_PID"
}

# Start modqd in the foreground with a config and wait until it is ready.
start_modqd() {
	local conf=$1 log=$2 DEADLINE
	spawn_modqd "$conf" "$log"
	deadline "$WAIT_MS"
	until expired; do
		grep -q "ready: reading" "$log" 2>/dev/null && return 0
		kill -0 "$MODQD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "integration: modqd did not become ready; log:" >&2
	tail -20 "$log" >&2
	return 1
}

# SIGTERM process PID (one this shell started) and wait for it, at most
# MS milliseconds; one still there then gets SIGKILL.  Sets STOP_RC to its
# exit status (137 after SIGKILL); returns 1 if it had to be killed.
term_wait() {
	local p=$1 DEADLINE killed=0
	kill -TERM "$p" 2>/dev/null
	deadline "$2"
	while kill -0 "$p" 2>/dev/null && ! expired; do
		sleep 0.05
	done
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" && killed=1
	wait "$p" 2>/dev/null
	STOP_RC=$?
	untrack_pid "$p"
	return $killed
}

# Stop the last modqd started with SIGTERM and wait for it (bounded: a
# modqd that does not leave within the deadline gets SIGKILL and rc 137).
stop_modqd() {
	term_wait "$MODQD_PID" $((WAIT_MS + 5000))
	MODQD_RC=$STOP_RC
}

# Wait (bounded) for the last modqd to leave by itself; sets MODQD_RC.
wait_exit() {
	local DEADLINE
	deadline "$WAIT_MS"
	while kill -0 "$MODQD_PID" 2>/dev/null && ! expired; do
		sleep 0.05
	done
	stop_modqd
}

# Kill the last modqd with SIGKILL and reap it.
kill9_modqd() {
	kill -KILL "$MODQD_PID" 2>/dev/null
	wait "$MODQD_PID" 2>/dev/null
	untrack_pid "$MODQD_PID"
}

# Record the stream id XADD gave a comment (in LAST_SID and SID[id]).
note_sid() {
	local i
	for ((i = 1; i < $#; i += 2)); do
		if [ "${!i}" = id ]; then
			i=$((i + 1))
			[ -n "${!i}" ] && SID[${!i}]=$LAST_SID
			return
		fi
	done
}

# Add a comment to the incoming stream: xadd field value ...
xadd() {
	LAST_SID=$(rcli XADD modq:incoming '*' "$@")
	note_sid "$@"
}

# Add a comment with an explicit stream id MS-0: xadd_at MS field value ...
xadd_at() {
	local ms=$1
	shift
	LAST_SID=$(rcli XADD modq:incoming "$ms-0" "$@")
	note_sid "$@"
}

ok() {
	PASS=$((PASS + 1))
	[ -n "${VERBOSE:-}" ] && echo "ok: $1"
	return 0
}

not_ok() {
	FAIL=$((FAIL + 1))
	echo "FAIL: $1"
	return 0
}

# Compare two values.
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$3', got '$2'"; fi
}

# Check that a value is not the given one.
check_ne() {
	if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1: got '$2', expected something else"; fi
}

# Check that a value matches an extended regular expression.
check_match() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1: '$2' does not match /$3/"; fi
}

# Check that an integer lies in [lo, hi].
check_range() {
	local name=$1 v=$2 lo=$3 hi=$4
	if [[ "$v" =~ ^-?[0-9]+$ ]] && [ "$v" -ge "$lo" ] && [ "$v" -le "$hi" ]; then
		ok "$name"
	else
		not_ok "$name: expected $lo..$hi, got '$v'"
	fi
}

# Check that a command succeeds: check_true NAME cmd args...
check_true() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name: '$*' failed"; fi
}

# Wait until comment ID is decided: its stream_id is that of its latest
# XADD (or, when no XADD of it was recorded, it has a status).  Leaves its
# status, reasons, matched and stream_id in WD_STATUS, WD_REASONS,
# WD_MATCHED, WD_SID; one redis-cli per poll.
wait_decided() {
	local id=$1 DEADLINE out sid=${SID[$1]:-} v
	deadline "${2:-$WAIT_MS}"
	while :; do
		out=$(rcli --raw HMGET "modq:c:$id" status reasons matched stream_id)
		mapfile -t v <<<"$out"
		WD_STATUS=${v[0]-} WD_REASONS=${v[1]-} WD_MATCHED=${v[2]-} WD_SID=${v[3]-}
		if [ -n "$sid" ]; then
			[ "$WD_SID" = "$sid" ] && return 0
		elif [ -n "$WD_STATUS" ]; then
			return 0
		fi
		expired && return 1
		sleep 0.02
	done
}

# Wait for comment ID to be decided and check its status.
check_status() {
	wait_decided "$1" "${3:-}"
	check_eq "comment $1 status" "$WD_STATUS" "$2"
}
wait_status() {
	check_status "$@"
}

# Check one field of a comment hash.
check_field() {
	check_eq "comment $1 $2" "$(rcli --raw HGET "modq:c:$1" "$2")" "$3"
}

# Check a comment's status, reasons and matched at once (after waiting).
check_decision() {
	local id=$1
	wait_decided "$id"
	check_eq "comment $id status" "$WD_STATUS" "$2"
	check_eq "comment $id reasons" "$WD_REASONS" "$3"
	[ $# -ge 4 ] && check_eq "comment $id matched" "$WD_MATCHED" "$4"
	return 0
}

# Check one field of any hash.
check_hash() {
	check_eq "$1 $2" "$(rcli --raw HGET "$1" "$2")" "$3"
}

# Wait (bounded) for the dead-letter stream to hold N entries.
wait_dead() {
	local n=$1 got=0 DEADLINE
	deadline "$WAIT_MS"
	while :; do
		got=$(rcli XLEN modq:dead)
		[ "$got" -ge "$n" ] && break
		expired && break
		sleep 0.03
	done
	check_eq "dead letters" "$got" "$n"
}
check_dead_count() {
	wait_dead "$@"
}

# Wait (bounded) until a hash field reaches a value; prints the last value.
wait_hash() {
	local key=$1 field=$2 want=$3 got DEADLINE
	deadline "${4:-$WAIT_MS}"
	while :; do
		got=$(rcli --raw HGET "$key" "$field")
		[ "$got" = "$want" ] && break
		expired && break
		sleep 0.05
	done
	echo "$got"
}

# Wait (bounded) for a line matching an extended regex in a log file.
wait_log() {
	local file=$1 re=$2 DEADLINE
	deadline "${3:-$WAIT_MS}"
	while :; do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		expired && return 1
		sleep 0.05
	done
}

# Check that a log file gets a line matching an extended regex.
check_log() {
	if wait_log "$1" "$2" "${3:-}"; then
		ok "log has /$2/"
	else
		not_ok "log $1 has no line matching /$2/"
	fi
}

# Check that a log file has no line matching an extended regex.
check_nolog() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then
		not_ok "log $1 has an unexpected line: $(grep -E -m1 -- "$2" "$1")"
	else
		ok "log lacks /$2/"
	fi
}

# Check that a process is still running.
check_running() {
	if kill -0 "$2" 2>/dev/null; then ok "$1"; else not_ok "$1: process $2 is gone"; fi
}

# Wait (bounded) until nothing is pending in the consumer group.
wait_no_pending() {
	local DEADLINE
	deadline "${1:-$WAIT_MS}"
	until [ "$(rcli XPENDING modq:incoming modqd | head -1)" = 0 ] || expired; do
		sleep 0.05
	done
}

# Check that nothing is (or soon will be) pending in the consumer group.
check_no_pending() {
	wait_no_pending
	check_eq "${1:-nothing pending}" \
	    "$(rcli XPENDING modq:incoming modqd | head -1)" 0
}

# Lua helpers run with EVAL (not part of the modq library).

# The decisions of one id, oldest first: "status/reasons/by;...".
LUA_DECISIONS='local o = {}
for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
	local h = {}
	for i = 1, #e[2], 2 do h[e[2][i]] = e[2][i + 1] end
	if h.id == ARGV[1] then
		o[#o + 1] = h.status .. "/" .. h.reasons .. "/" .. h.by
	end
end
return table.concat(o, ";")'

# The dead letter of one stream id: "field=value|..." in stored order.
LUA_DEAD='for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
	local f, sid = e[2], nil
	for i = 1, #f, 2 do
		if f[i] == "stream_id" then sid = f[i + 1] end
	end
	if sid == ARGV[1] then
		local o = {}
		for i = 1, #f, 2 do o[#o + 1] = f[i] .. "=" .. f[i + 1] end
		return table.concat(o, "|")
	end
end
return ""'

# Decisions entries, distinct ids among them, and ids decided more than once.
LUA_DECISION_COUNTS='local seen, n, u, d = {}, 0, 0, 0
for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
	local id
	for i = 1, #e[2], 2 do
		if e[2][i] == "id" then id = e[2][i + 1] end
	end
	n = n + 1
	if seen[id] == nil then u = u + 1; seen[id] = 1
	elseif seen[id] == 1 then d = d + 1; seen[id] = 2 end
end
return n .. " " .. u .. " " .. d'

# The held queue as "id=score ..." in order.
held_queue() {
	rcli --raw ZRANGE modq:held 0 -1 WITHSCORES |
	    awk 'NR % 2 { k = $0; next } { printf "%s%s=%s", sep, k, $0; sep = " " }'
}

decisions_of() {
	rcli --raw EVAL "$LUA_DECISIONS" 1 modq:decisions "$1"
}

dead_of() {
	rcli --raw EVAL "$LUA_DEAD" 1 modq:dead "$1"
}

# Check the decisions-stream entries of one id (exact, oldest first).
check_decisions() {
	check_eq "decisions of $1" "$(decisions_of "$1")" "$2"
}

# Check the dead letter of a stream id (exact fields in order).
check_dead_letter() {
	check_eq "dead letter $1" "$(dead_of "$1")" "$2"
}

# Check several stats counters: check_stats name=value ...
check_stats() {
	local kv
	for kv in "$@"; do
		check_hash modq:stats "${kv%%=*}" "${kv#*=}"
	done
}

# Print the result line and set the exit status.
# Fail for every report of a sanitizer (ASan, LSan, UBSan) or of valgrind
# in the logs of the daemons the script ran.
check_sanitizers() {
	local f
	for f in "$TMP"/*.log "$TMP"/*/*.log; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|== (Invalid (read|write|free)|Conditional jump|Use of uninitialised)|definitely lost: [1-9]|ERROR SUMMARY: [1-9]' "$f"; then
			not_ok "sanitizer or valgrind report in $f: $(grep -Em1 'ERROR|runtime error|Invalid|lost' "$f")"
		fi
	done
}

summary() {
	check_sanitizers
	check_sections
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# Wait (bounded) until a log file has at least N lines matching a regex.
wait_log_count() {
	local file=$1 re=$2 n=$3 DEADLINE
	deadline "${4:-$WAIT_MS}"
	while :; do
		[ "$(grep -Ec -- "$re" "$file" 2>/dev/null)" -ge "$n" ] && return 0
		expired && return 1
		sleep 0.05
	done
}
