#!/usr/bin/env bash
#
# service.sh -- modqd as a service: the systemd notify protocol (READY,
# STATUS, WATCHDOG, RELOADING with MONOTONIC_USEC, STOPPING) against a
# NOTIFY_SOCKET of the test's own, the Prometheus endpoint and /healthz,
# and `make install` into a temporary DESTDIR, with the installed unit's
# bounds and its `systemd-analyze security` exposure (at most 1.0).
# Usage: tests/service.sh [BUILD_DIR]   (default: build)
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
LISTEN=$(cd "$(dirname "$BUILD/modqd")" && pwd)/tests/notify-listen
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init service


# Wait (up to 5 s) for a line matching an extended regex in a file.
wait_line() {
	local file=$1 re=$2 i
	for i in $(seq 1 100); do
		grep -Eq "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# Check that a file gets a line matching a regex.
check_line() {
	if wait_line "$2" "$3"; then ok "$1"; else not_ok "$1: no line /$3/ in $2"; fi
}

# GET a path from the metrics endpoint on 127.0.0.1:PORT (no curl needed).
http_get() {
	local port=$1 path=$2
	(
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
		timeout 5 cat <&3
	) 2>/dev/null | tr -d '\r'
}

start_redis "$TMP" "$SOCK" || { echo "service: cannot start redis-server"; exit 1; }

# --- the notify protocol ----------------------------------------------------

write_conf "$TMP/notify.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "ass" ]; } );
EOF
"$LISTEN" "$TMP/notify.sock" 60 >"$TMP/notify.out" &
PIDS+=($!)
for i in $(seq 1 100); do [ -S "$TMP/notify.sock" ] && break; sleep 0.05; done
# WATCHDOG_PID must be modqd's own pid: set it in a subshell that execs.
(
	export NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000
	WATCHDOG_PID=$BASHPID exec "$MODQD" -d -c "$TMP/notify.conf"
) >"$TMP/notify.log" 2>&1 &
MODQD_PID=$!
PIDS+=("$MODQD_PID")
check_line "READY=1 after start" "$TMP/notify.out" '^READY=1$'
check_line "STATUS= with live counts" "$TMP/notify.out" \
    '^STATUS=running; [0-9]+ processed: [0-9]+ approved, [0-9]+ held, [0-9]+ rejected, [0-9]+ dead; [0-9]+ in flight; ruleset [0-9a-f]{12}$'
check_line "WATCHDOG=1 pings" "$TMP/notify.out" '^WATCHDOG=1$'
xadd id n1 body "you ass"
wait_status n1 rejected
check_line "STATUS counts the decision" "$TMP/notify.out" \
    '^STATUS=running; 1 processed: 0 approved, 0 held, 1 rejected, 0 dead;'
ready_before=$(grep -c '^READY=1$' "$TMP/notify.out")
kill -HUP "$MODQD_PID"
check_line "RELOADING=1 with MONOTONIC_USEC" "$TMP/notify.out" \
    '^RELOADING=1 MONOTONIC_USEC=[0-9]+$'
for i in $(seq 1 100); do
	[ "$(grep -c '^READY=1$' "$TMP/notify.out")" -gt "$ready_before" ] && break
	sleep 0.05
done
check_eq "READY=1 again after the reload" \
    "$(grep -c '^READY=1$' "$TMP/notify.out")" $((ready_before + 1))
printf 'keywords: ( { name = "x"; action = "maybe"; words = [ "a" ]; } );\n' \
    >"$TMP/notify.conf.bad"
cp "$TMP/notify.conf" "$TMP/notify.conf.good"
(cat "$TMP/notify.conf.good"; echo 'bogus = 1;') >"$TMP/notify.conf"
kill -HUP "$MODQD_PID"
check_line "a broken reload is logged with file:line" "$TMP/notify.log" \
    "notify.conf: not reloading: .*notify.conf:3: unknown option bogus"
for i in $(seq 1 100); do
	[ "$(grep -c '^READY=1$' "$TMP/notify.out")" -gt $((ready_before + 1)) ] && break
	sleep 0.05
done
check_eq "READY=1 after a refused reload too" \
    "$(grep -c '^READY=1$' "$TMP/notify.out")" $((ready_before + 2))
kill -TERM "$MODQD_PID"
wait "$MODQD_PID"
check_eq "SIGTERM exits 0" "$?" 0
check_line "STOPPING=1 at shutdown" "$TMP/notify.out" '^STOPPING=1$'

# --- metrics and /healthz ---------------------------------------------------

redis-cli -s "$SOCK" FLUSHALL >/dev/null
PORT=
for try in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 30000))
	# trim = false: the stream length gauge is checked below
	write_conf "$TMP/metrics.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { trim = false; };
metrics: { listen = "127.0.0.1:$port"; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "ass" ]; },
  { name = "watch"; action = "hold"; words = [ "traitor" ]; }
);
EOF
	"$MODQD" -d -c "$TMP/metrics.conf" >"$TMP/metrics.log" 2>&1 &
	MODQD_PID=$!
	PIDS+=("$MODQD_PID")
	if wait_line "$TMP/metrics.log" "ready: reading"; then
		PORT=$port
		break
	fi
	kill "$MODQD_PID" 2>/dev/null
	wait "$MODQD_PID" 2>/dev/null
done
check_eq "metrics endpoint started" "${PORT:+yes}" yes
xadd id m1 body "hello"
xadd id m2 body "you ass"
xadd id m3 body "a traitor"
xadd id m4 body "the ass of a traitor"
xadd id m5 body "no id here"
xadd body "missing id"
xadd id m7 body "x" id m7
wait_status m4 rejected
wait_dead 2
metrics=""
for i in $(seq 1 80); do
	metrics=$(http_get "$PORT" /metrics)
	echo "$metrics" | grep -q '^modq_held_comments 1$' &&
	    echo "$metrics" | grep -q '^modq_stream_length 7$' && break
	sleep 0.1
done
echo "$metrics" >"$TMP/metrics.out"
m() { echo "$metrics" | grep -F "$1" | grep -v '^#' | head -1; }
check_eq "HTTP status of /metrics" "$(echo "$metrics" | head -1)" "HTTP/1.0 200 OK"
check_eq "content type" "$(m 'Content-Type:')" \
    "Content-Type: text/plain; version=0.0.4; charset=utf-8"
check_eq "approved" "$(m 'modq_decisions_total{verdict="approved"}')" \
    'modq_decisions_total{verdict="approved"} 2'
check_eq "held" "$(m 'modq_decisions_total{verdict="held"}')" \
    'modq_decisions_total{verdict="held"} 1'
check_eq "rejected" "$(m 'modq_decisions_total{verdict="rejected"}')" \
    'modq_decisions_total{verdict="rejected"} 2'
check_eq "hits of slurs" "$(m 'modq_rule_hits_total{rule="slurs"}')" \
    'modq_rule_hits_total{rule="slurs"} 2'
check_eq "hits of watch" "$(m 'modq_rule_hits_total{rule="watch"}')" \
    'modq_rule_hits_total{rule="watch"} 2'
check_eq "dead letters by kind (missing field)" \
    "$(m 'modq_dead_letters_total{error="missing field"}')" \
    'modq_dead_letters_total{error="missing field"} 1'
check_eq "dead letters by kind (duplicate field)" \
    "$(m 'modq_dead_letters_total{error="duplicate field"}')" \
    'modq_dead_letters_total{error="duplicate field"} 1'
check_eq "latency histogram count" \
    "$(m 'modq_decision_latency_seconds_count')" \
    'modq_decision_latency_seconds_count 5'
check_eq "latency histogram +Inf bucket" \
    "$(m 'modq_decision_latency_seconds_bucket{le="+Inf"}')" \
    'modq_decision_latency_seconds_bucket{le="+Inf"} 5'
check_eq "held queue gauge" "$(m 'modq_held_comments ')" 'modq_held_comments 1'
check_eq "pending gauge" "$(m 'modq_pending_entries ')" 'modq_pending_entries 0'
check_eq "stream length gauge" "$(m 'modq_stream_length ')" 'modq_stream_length 7'
check_eq "redis up gauge" "$(m 'modq_redis_up ')" 'modq_redis_up 1'
check_eq "healthz while running" "$(http_get "$PORT" /healthz | sed -n '1p;$p' | tr '\n' '|')" \
    "HTTP/1.0 200 OK|ok|"
check_eq "unknown path" "$(http_get "$PORT" /nope | head -1 | cut -d' ' -f2)" 404
kill -STOP "$REDIS_PID"
# modqd notices only when a request times out: the blocked read's deadline.
for i in $(seq 1 120); do
	h=$(http_get "$PORT" /healthz | head -1)
	[ "$h" = "HTTP/1.0 503 Service Unavailable" ] && break
	sleep 0.1
done
check_eq "healthz while Redis does not answer" "$h" \
    "HTTP/1.0 503 Service Unavailable"
kill -CONT "$REDIS_PID"
for i in $(seq 1 200); do
	h=$(http_get "$PORT" /healthz | head -1)
	[ "$h" = "HTTP/1.0 200 OK" ] && break
	sleep 0.1
done
check_eq "healthz after Redis is back" "$h" "HTTP/1.0 200 OK"
check_eq "reconnects counted" \
    "$(http_get "$PORT" /metrics | grep -c '^modq_redis_reconnects_total [1-9]')" 1
stop_modqd

# --- make install -------------------------------------------------------------

DEST=$TMP/root
if make -s -C "$TOP" B="$BUILD" install DESTDIR="$DEST" PREFIX=/usr \
    >"$TMP/install.log" 2>&1; then
	ok "make install"
else
	not_ok "make install: $(tail -3 "$TMP/install.log")"
fi
for f in usr/sbin/modqd usr/bin/modq usr/share/man/man8/modqd.8 \
    usr/share/man/man5/modqd.conf.5 usr/share/man/man1/modq.1 \
    lib/systemd/system/modqd.service etc/modq/modqd.conf \
    etc/modq/lists/slurs.txt; do
	check_eq "installed $f" "$([ -s "$DEST/$f" ] && echo yes)" yes
done
check_eq "the unit runs the installed modqd" \
    "$(grep -c '^ExecStart=/usr/sbin/modqd -c /etc/modq/modqd.conf$' \
    "$DEST/lib/systemd/system/modqd.service")" 1
check_eq "the installed config checks" \
    "$("$DEST/usr/sbin/modqd" -n -c "$DEST/etc/modq/modqd.conf" 2>&1)" \
    "configuration OK"
# The unit's resource bounds and the Redis paths it must not see (group
# redis, which the Debian package gives modq for the socket, can read them).
UNIT=$DEST/lib/systemd/system/modqd.service
for d in LimitNOFILE=4096 MemoryMax=512M TasksMax=16 \
    "InaccessiblePaths=-/etc/redis -/var/lib/redis"; do
	check_eq "the unit sets $d" "$(grep -cxF "$d" "$UNIT")" 1
done
if systemd-analyze security --offline=true "$UNIT" >"$TMP/analyze.out" 2>&1; then
	exposure=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\) .*$/\1/p' \
	    "$TMP/analyze.out")
	check_eq "systemd-analyze security: exposure at most 1.0 ($exposure)" \
	    "$(awk -v e="${exposure:-99}" 'BEGIN { print (e <= 1.0) ? "yes" : "no" }')" yes
else
	echo "service: systemd-analyze security --offline is not usable here; static checks only"
fi
echo "# the operator's edit" >>"$DEST/etc/modq/modqd.conf"
make -s -C "$TOP" B="$BUILD" install DESTDIR="$DEST" PREFIX=/usr \
    >"$TMP/install2.log" 2>&1
check_eq "make install keeps an existing config" \
    "$(tail -1 "$DEST/etc/modq/modqd.conf")" "# the operator's edit"

summary
