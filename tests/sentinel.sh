#!/usr/bin/env bash
#
# sentinel.sh -- modqd behind Redis Sentinel: a primary, one replica and
# three redis-sentinel processes (quorum 2, down-after-milliseconds 1000,
# failover-timeout 2000, requirepass on the sentinels) on loopback ports
# picked free, in a temp dir.  modqd finds the primary through the
# sentinels (with redis.sentinel_password_file); comments are pushed while
# it runs; the primary is killed with SIGKILL mid-load and the pushing goes
# on to the new primary.
# Usage: tests/sentinel.sh [BUILD_DIR]   (default: build)
#
# Environment:
#   SENTINEL_N         comments pushed (default 3000), 100 an XADD batch
#   SENTINEL_RESUME_MS the bound of section 1's resume time (default 15000)
#   SENTINEL_SECTIONS  the sections to run, by number or name
#   KEEP=1             keep the logs in $TMP even when all passed
#
# Sections (number, name):
#   1 failover   decisions resume within SENTINEL_RESUME_MS (15000) of the
#                kill (the time is measured and printed); every comment
#                Redis still has (a stream entry or a record) has exactly
#                one decision; modqd logged the +switch-master and it was
#                what made modqd reconnect (no timed back-off between the
#                event and the connect); modqd -R finds the new primary
#   2 wrong      a master name no sentinel monitors: a clear log line,
#                back-off, no crash; a wrong sentinel password: AUTH's
#                error, for modqd -R too
#   3 hostile    a fake sentinel (python3) listed first answers with a
#                reply too long, too many elements, the wrong types, an
#                address that is none, a bad port: each is logged and the
#                next sentinel asked (modqd -R)
#   4 watch      the sentinel modqd watches is killed: it watches the
#                next one and goes on judging
#
# Every process is started by this script and stopped by its PID, also on
# failure (the EXIT trap of lib.sh); every wait has a deadline.
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/lib.sh"
suite_init sentinel
N=${SENTINEL_N:-3000}
RESUME_MS=${SENTINEL_RESUME_MS:-15000}
SPASS=sentinel-secret-7
MASTER=mymaster
USED_PORTS=" "

# A loopback TCP port nothing listens on, not handed out before.
free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS="$USED_PORTS$p "
			echo "$p"
			return 0
		fi
	done
	return 1
}

# redis-cli to a data node by port; to a sentinel by port, with AUTH.
dcli() {
	local p=$1
	shift
	redis-cli -h 127.0.0.1 -p "$p" "$@"
}
scli() {
	local p=$1
	shift
	redis-cli -h 127.0.0.1 -p "$p" -a "$SPASS" --no-auth-warning "$@"
}

# lib.sh's helpers talk to the current primary.
rcli() {
	dcli "$CUR" "$@"
}

# Wait (bounded) until a port answers PING (PID must stay alive).
wait_ping() {
	local port=$1 pid=$2 auth=${3:-} DEADLINE
	deadline "$WAIT_MS"
	until expired; do
		kill -0 "$pid" 2>/dev/null || return 1
		if [ -n "$auth" ]; then
			scli "$port" PING 2>/dev/null | grep -q PONG && return 0
		else
			dcli "$port" PING 2>/dev/null | grep -q PONG && return 0
		fi
		sleep 0.05
	done
	return 1
}

# Start a data node on a free port: start_node NAME [redis-server args];
# sets NODE_PORT and NODE_PID.
start_node() {
	local name=$1
	shift
	mkdir -p "$TMP/$name"
	for _ in 1 2 3; do
		NODE_PORT=$(free_port) || return 1
		redis-server --port "$NODE_PORT" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$TMP/$name" --daemonize no "$@" \
		    >>"$TMP/$name/redis.log" 2>&1 &
		NODE_PID=$!
		track_pid "$NODE_PID"
		wait_ping "$NODE_PORT" "$NODE_PID" && return 0
		kill "$NODE_PID" 2>/dev/null
		wait "$NODE_PID" 2>/dev/null
		untrack_pid "$NODE_PID"
	done
	return 1
}

# Start sentinel K watching the primary on port $1; sets SENT_PORT[K].
declare -a SENT_PORT SENT_PID
start_sentinel() {
	local k=$1 primary=$2 dir=$TMP/sentinel$1 port pid
	mkdir -p "$dir"
	for _ in 1 2 3; do
		port=$(free_port) || return 1
		cat >"$dir/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
dir $dir
requirepass $SPASS
sentinel sentinel-pass $SPASS
sentinel monitor $MASTER 127.0.0.1 $primary 2
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 2000
sentinel parallel-syncs $MASTER 1
EOF
		redis-sentinel "$dir/sentinel.conf" >>"$dir/sentinel.log" 2>&1 &
		pid=$!
		track_pid "$pid"
		if wait_ping "$port" "$pid" auth; then
			SENT_PORT[k]=$port
			SENT_PID[k]=$pid
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		untrack_pid "$pid"
	done
	return 1
}

# Wait (bounded) until every sentinel sees the other two and the replica.
wait_sentinels_ready() {
	local DEADLINE k ok
	deadline 30000
	until expired; do
		ok=1
		for k in 1 2 3; do
			scli "${SENT_PORT[$k]}" SENTINEL ckquorum "$MASTER" 2>/dev/null |
			    grep -q '^OK 3 usable' || ok=0
			[ "$(scli "${SENT_PORT[$k]}" SENTINEL replicas "$MASTER" 2>/dev/null |
			    grep -c '^ip$')" -ge 1 ] || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 0.2
	done
	return 1
}

# The port of the primary the sentinels name now (the first that answers).
primary_port() {
	local k out
	for k in 1 2 3; do
		out=$(scli "${SENT_PORT[$k]}" --raw SENTINEL \
		    get-master-addr-by-name "$MASTER" 2>/dev/null | sed -n 2p)
		[ -n "$out" ] && { echo "$out"; return 0; }
	done
	return 1
}

# Write the XADDs of comments FROM..TO (ids s<i>) to a file, one a line.
batch_file() {
	local from=$1 to=$2 i body
	for ((i = from; i <= to; i++)); do
		if ((i % 10 == 0)); then body="you ass number $i"; else body="comment number $i"; fi
		printf 'XADD modq:incoming * id s%d author u-%d thread t-%d body "%s"\n' \
		    "$i" $((i % 37)) $((i % 5)) "$body"
	done >"$TMP/batch.$from"
}

# The load: N comments in batches of 100, each sent to the primary the
# sentinels name, and sent again (a retry: the same fields) until all of
# it is accepted; "batch K done" lines in $TMP/push.log.  Bounded: each
# batch gives up after 60 s.
push_load() {
	local from to port out DEADLINE
	for ((from = 1; from <= N; from += 100)); do
		to=$((from + 99 > N ? N : from + 99))
		batch_file "$from" "$to"
		deadline 60000
		while :; do
			port=$(primary_port) &&
			    out=$(dcli "$port" <"$TMP/batch.$from" 2>&1) &&
			    [ "$(grep -cE '^[0-9]+-[0-9]+$' <<<"$out")" = $((to - from + 1)) ] &&
			    break
			expired && { echo "batch $from gave up"; return 1; }
			sleep 0.1
		done
		echo "batch $from done on $port at $(now_ms)"
		sleep 0.05
	done
	echo "load done"
}

# Counts over everything Redis holds: "ids zero many extra": the comments
# Redis still has (an entry of the incoming stream or a record), those of
# them with no decision, with more than one, and ids with a decision but
# neither entry nor record.
LUA_ONCE='local n, ids = {}, {}
for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
	local f = e[2]
	for i = 1, #f, 2 do
		if f[i] == "id" then n[f[i + 1]] = (n[f[i + 1]] or 0) + 1 end
	end
end
for _, e in ipairs(redis.call("XRANGE", KEYS[2], "-", "+")) do
	local f = e[2]
	for i = 1, #f, 2 do
		if f[i] == "id" then ids[f[i + 1]] = 1 end
	end
end
for _, k in ipairs(redis.call("KEYS", ARGV[1] .. "*")) do
	ids[string.sub(k, #ARGV[1] + 1)] = 1
end
local total, zero, many, extra = 0, 0, 0, 0
for id, _ in pairs(ids) do
	total = total + 1
	local c = n[id] or 0
	if c == 0 then zero = zero + 1 elseif c > 1 then many = many + 1 end
end
for id, _ in pairs(n) do
	if ids[id] == nil then extra = extra + 1 end
end
return total .. " " .. zero .. " " .. many .. " " .. extra'

once_counts() {
	rcli --raw EVAL "$LUA_ONCE" 2 modq:decisions modq:incoming modq:c:
}

# --- servers -----------------------------------------------------------------

start_node primary || { echo "sentinel: cannot start the primary"; exit 1; }
P_PORT=$NODE_PORT P_PID=$NODE_PID
start_node replica --replicaof 127.0.0.1 "$P_PORT" ||
    { echo "sentinel: cannot start the replica"; exit 1; }
R_PORT=$NODE_PORT
deadline "$WAIT_MS"
until dcli "$P_PORT" INFO replication | grep -q 'slave0:.*state=online' || expired; do
	sleep 0.05
done
for k in 1 2 3; do
	start_sentinel "$k" "$P_PORT" || { echo "sentinel: cannot start sentinel $k"; exit 1; }
done
wait_sentinels_ready || { echo "sentinel: the sentinels did not see each other"; exit 1; }
CUR=$P_PORT
printf '%s\n' "$SPASS" >"$TMP/sentinel.pass"
chmod 600 "$TMP/sentinel.pass"
SENTINELS="\"127.0.0.1:${SENT_PORT[1]}\", \"127.0.0.1:${SENT_PORT[2]}\", \"127.0.0.1:${SENT_PORT[3]}\""

write_conf "$TMP/modqd.conf" <<EOF
redis: {
  sentinels = [ $SENTINELS ];
  master = "$MASTER";
  sentinel_password_file = "sentinel.pass";
  sentinel_timeout_ms = 500;
  timeout_ms = 2000;
};
queue: { claim_idle_ms = 2000; };
log: { decisions = false; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "ass" ]; } );
EOF

# --- 1 failover --------------------------------------------------------------

if want 1 failover; then
	section "1 failover: SIGKILL of the primary mid-load ($N comments)"
	start_modqd "$TMP/modqd.conf" "$TMP/modqd.log" || exit 1
	check_log "$TMP/modqd.log" "sentinel 127\.0\.0\.1:[0-9]+: primary $MASTER is 127\.0\.0\.1:$P_PORT"
	check_log "$TMP/modqd.log" "redis: connected to primary $MASTER at 127\.0\.0\.1:$P_PORT"
	check_log "$TMP/modqd.log" "sentinel 127\.0\.0\.1:[0-9]+: watching \+switch-master for $MASTER"
	push_load >"$TMP/push.log" 2>&1 &
	PUSH_PID=$!
	track_pid "$PUSH_PID"
	# the kill lands after a third of the load is in
	wait_log_count "$TMP/push.log" "^batch .* done" $((N / 300)) 30000 ||
	    not_ok "the load did not start"
	decided_before=$(rcli XLEN modq:decisions)
	kill -KILL "$P_PID"
	KILL_MS=$(now_ms)
	wait "$P_PID" 2>/dev/null
	untrack_pid "$P_PID"
	echo "killed the primary (port $P_PORT) at $KILL_MS with $decided_before decisions"
	CUR=$R_PORT
	# decisions resume: the first decisions entry made after the kill
	deadline 60000
	first=
	until expired; do
		first=$(dcli "$R_PORT" --raw XRANGE modq:decisions "$KILL_MS" + COUNT 1 2>/dev/null | head -1)
		[[ "$first" =~ ^[0-9]+-[0-9]+$ ]] && break
		first=
		sleep 0.05
	done
	if [ -n "$first" ]; then
		RESUME=$((${first%-*} - KILL_MS))
		echo "decisions resumed ${RESUME} ms after the kill"
		check_range "decisions resume within ${RESUME_MS} ms of the kill" "$RESUME" 0 "$RESUME_MS"
	else
		not_ok "no decision after the kill within 60 s"
	fi
	check_eq "the sentinels name the replica" "$(primary_port)" "$R_PORT"
	check_log "$TMP/modqd.log" "\+switch-master: $MASTER 127\.0\.0\.1:$P_PORT -> 127\.0\.0\.1:$R_PORT, reconnecting" 30000
	check_log "$TMP/modqd.log" "redis: connected to primary $MASTER at 127\.0\.0\.1:$R_PORT" 30000
	# the timeline, from modqd's log (its clock is this machine's)
	sw=$(grep -m1 "+switch-master: $MASTER" "$TMP/modqd.log" | cut -c1-23)
	co=$(grep "connected to primary $MASTER at 127.0.0.1:$R_PORT" "$TMP/modqd.log" | head -1 | cut -c1-23)
	if [ -n "$sw" ] && [ -n "$co" ]; then
		sw=$(date -d "$sw" +%s%3N) co=$(date -d "$co" +%s%3N)
		echo "+switch-master reached modqd $((sw - KILL_MS)) ms after the kill; connected to the new primary $((co - sw)) ms later"
	fi
	# From the +switch-master line to the connect to the new primary:
	# "reconnecting now", and no timed back-off in between.
	after=$(sed -n "/+switch-master: $MASTER/,/connected to primary $MASTER at 127.0.0.1:$R_PORT/p" \
	    "$TMP/modqd.log" | grep -E 'redis: (reconnecting|connected)')
	check_match "+switch-master made modqd reconnect at once" \
	    "$(head -1 <<<"$after")" "redis: reconnecting now$"
	check_eq "no timed back-off between +switch-master and the connect" \
	    "$(grep -c 'reconnecting in' <<<"$after")" 0
	# the load goes on to the new primary, and ends
	wait_log "$TMP/push.log" "^load done" 90000 || not_ok "the load did not end: $(tail -1 "$TMP/push.log")"
	wait "$PUSH_PID" 2>/dev/null
	untrack_pid "$PUSH_PID"
	after_kill=$(grep -c "done on $R_PORT" "$TMP/push.log")
	check_range "batches pushed to the new primary" "$after_kill" 1 $((N / 100))
	# every comment Redis still has ends with exactly one decision
	deadline 60000
	until expired; do
		read -r total zero many extra <<<"$(once_counts)"
		[ "${zero:-1}" = 0 ] && [ "$(rcli XPENDING modq:incoming modqd | head -1)" = 0 ] && break
		sleep 0.2
	done
	read -r total zero many extra <<<"$(once_counts)"
	echo "$total of $N comments are in Redis after the failover"
	check_range "comments Redis still has" "$total" $((N - 300)) "$N"
	check_eq "comments with no decision" "$zero" 0
	check_eq "comments with more than one decision" "$many" 0
	check_eq "decisions of comments Redis does not have" "$extra" 0
	for i in $((N - 1)) "$N"; do
		want=approved
		((i % 10 == 0)) && want=rejected
		check_eq "comment s$i (pushed last) status" "$(rcli --raw HGET "modq:c:s$i" status)" "$want"
	done
	check_running "modqd runs on" "$MODQD_PID"
	# modqd -R asks the sentinels too
	"$MODQD" -c "$TMP/modqd.conf" -R 10 >"$TMP/rejudge.out" 2>"$TMP/rejudge.log"
	check_eq "modqd -R through the sentinels exits 0" "$?" 0
	check_match "modqd -R found the new primary" "$(cat "$TMP/rejudge.log")" \
	    "primary $MASTER is 127\.0\.0\.1:$R_PORT"
	check_match "modqd -R judged 10" "$(tail -1 "$TMP/rejudge.log")" "^10 re-judged, 0 would change"
	stop_modqd
	check_eq "modqd exits 0" "$MODQD_RC" 0
fi

# --- 2 wrong -----------------------------------------------------------------

if want 2 wrong; then
	section "2 wrong: a master no sentinel monitors; a wrong sentinel password"
	sed "s/master = \"$MASTER\"/master = \"nosuch\"/" "$TMP/modqd.conf" >"$TMP/nosuch.conf"
	spawn_modqd "$TMP/nosuch.conf" "$TMP/nosuch.log"
	for k in 1 2 3; do
		check_log "$TMP/nosuch.log" "sentinel 127\.0\.0\.1:${SENT_PORT[$k]}: monitors no primary named nosuch"
	done
	check_log "$TMP/nosuch.log" "redis: no sentinel named the primary of nosuch \(asked 3\)"
	# back-off: the delays grow (100 ms doubling, jittered)
	wait_log_count "$TMP/nosuch.log" "redis: reconnecting in" 4 15000
	delays=$(grep -oE 'reconnecting in [0-9]+' "$TMP/nosuch.log" | awk '{ print $3 }' | head -4 | tr '\n' ' ')
	read -r d1 _ _ d4 <<<"$delays"
	check_true "back-off grows ($delays)" test "${d4:-0}" -gt "${d1:-0}"
	check_running "modqd with a wrong master runs on" "$MODQD_PID"
	check_nolog "$TMP/nosuch.log" "ready: reading"
	stop_modqd
	check_eq "modqd with a wrong master exits 0 on SIGTERM" "$MODQD_RC" 0

	printf 'not-the-password\n' >"$TMP/wrong.pass"
	chmod 600 "$TMP/wrong.pass"
	sed 's/"sentinel\.pass"/"wrong.pass"/' "$TMP/modqd.conf" >"$TMP/wrongpass.conf"
	"$MODQD" -c "$TMP/wrongpass.conf" -R 1 >/dev/null 2>"$TMP/wrongpass.log"
	check_eq "modqd -R with a wrong sentinel password exits 1" "$?" 1
	check_match "the sentinel's AUTH error is shown" "$(cat "$TMP/wrongpass.log")" \
	    "sentinel 127\.0\.0\.1:${SENT_PORT[1]}: AUTH: WRONGPASS"
	check_match "and what it means" "$(cat "$TMP/wrongpass.log")" \
	    "no sentinel named the primary of $MASTER \(asked 3\)"
fi

# --- 3 hostile --------------------------------------------------------------

# A fake sentinel on a free port: each connection gets the next of the
# replies below to its first command, whatever it was, then is closed.
# shellcheck disable=SC2016 # Python, not shell
FAKE_PY='import socket, sys
replies = [
    b"$100000000\r\n" + b"x" * 200000,
    b"*100000\r\n" + b":1\r\n" * 1000,
    b"*2\r\n:1\r\n:2\r\n",
    b"*2\r\n$9\r\nbad host!\r\n$4\r\n6379\r\n",
    b"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n99999\r\n",
    b"+OK\r\n",
]
'

if want 3 hostile; then
	section "3 hostile: a fake sentinel's replies"
	FAKE_PORT=$(free_port)
	python3 -c "$FAKE_PY$FAKE_SERVE" "$FAKE_PORT" >"$TMP/fake.log" 2>&1 &
	FAKE_PID=$!
	track_pid "$FAKE_PID"
	wait_log "$TMP/fake.log" "^listening" || not_ok "the fake sentinel did not start"
	sed "s/sentinels = \[ /sentinels = [ \"127.0.0.1:$FAKE_PORT\", /;
	    /sentinel_password_file/d" "$TMP/modqd.conf" >"$TMP/fake.conf"
	for want in "a reply of too many bytes" "a reply of too many elements" \
	    "not an address and a port" \
	    "a bad address or port" "a bad address or port" "not an address and a port"; do
		"$MODQD" -c "$TMP/fake.conf" -R 1 >/dev/null 2>"$TMP/fake-R.log"
		out=$(cat "$TMP/fake-R.log")
		check_match "a fake sentinel's reply: $want" "$out" \
		    "sentinel 127\.0\.0\.1:$FAKE_PORT: $want"
		check_match "and then the next sentinel is asked" "$out" \
		    "sentinel 127\.0\.0\.1:${SENT_PORT[1]}: (primary $MASTER is|NOAUTH)"
	done
	term_wait "$FAKE_PID" 5000
fi

# --- 4 watch ----------------------------------------------------------------

if want 4 watch; then
	section "4 watch: the watched sentinel killed"
	rcli FLUSHALL >/dev/null
	start_modqd "$TMP/modqd.conf" "$TMP/watch.log" || exit 1
	wait_log "$TMP/watch.log" "watching \+switch-master for $MASTER"
	w=$(grep -oE "sentinel 127\.0\.0\.1:[0-9]+: watching" "$TMP/watch.log" | head -1 | grep -oE ':[0-9]+:' | tr -d :)
	for k in 1 2 3; do
		[ "${SENT_PORT[k]}" = "$w" ] && break
	done
	check_eq "modqd watches one of the sentinels" "${SENT_PORT[k]}" "$w"
	kill -KILL "${SENT_PID[k]}"
	wait "${SENT_PID[k]}" 2>/dev/null
	untrack_pid "${SENT_PID[k]}"
	check_log "$TMP/watch.log" "sentinel 127\.0\.0\.1:$w: .*; watching for \+switch-master on the next sentinel"
	check_log "$TMP/watch.log" "sentinel 127\.0\.0\.1:(${SENT_PORT[1]}|${SENT_PORT[2]}|${SENT_PORT[3]}): watching \+switch-master for $MASTER" 
	check_eq "it watches another one now" \
	    "$(grep -oE "sentinel 127\.0\.0\.1:[0-9]+: watching" "$TMP/watch.log" | tail -1 | grep -c ":$w:")" 0
	xadd id w1 body "still judged"
	check_status w1 approved
	check_running "modqd runs on" "$MODQD_PID"
	stop_modqd
fi

summary
