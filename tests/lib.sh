# lib.sh -- helpers shared by modq's shell tests (sourced, not run).
#
# The caller sets TMP, SOCK, MODQD, and the arrays/counters PIDS, PASS,
# FAIL, and stops what is in PIDS from its own EXIT trap.

# Run redis-cli against the test server.
rcli() {
	redis-cli -s "$SOCK" "$@"
}

# Start a private redis-server on a unix socket; extra args are passed on.
start_redis() {
	local dir=$1 sock=$2 i
	shift 2
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
	    --save '' --appendonly no --dir "$dir" --daemonize no "$@" \
	    >"$dir/redis.log" 2>&1 &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	for i in $(seq 1 100); do
		[ -S "$sock" ] && redis-cli -s "$sock" PING >/dev/null 2>&1 &&
		    return 0
		sleep 0.05
	done
	return 1
}

# Write stdin to a config file.
write_conf() {
	cat >"$1"
}

# Start modqd in the foreground with a config and wait until it is ready.
start_modqd() {
	local conf=$1 log=$2 i
	"$MODQD" -d -c "$conf" >"$log" 2>&1 &
	MODQD_PID=$!
	PIDS+=("$MODQD_PID")
	for i in $(seq 1 200); do
		grep -q "ready: reading" "$log" 2>/dev/null && return 0
		kill -0 "$MODQD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "integration: modqd did not become ready; log:" >&2
	tail -20 "$log" >&2
	return 1
}

# Stop the last modqd started with SIGTERM and wait for it.
stop_modqd() {
	kill -TERM "$MODQD_PID" 2>/dev/null
	wait "$MODQD_PID" 2>/dev/null
	MODQD_RC=$?
}

# Add a comment to the incoming stream: xadd field value ...
xadd() {
	rcli XADD modq:incoming '*' "$@" >/dev/null
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

# Wait (up to 5 s) for comment ID to have status STATUS.
wait_status() {
	local id=$1 want=$2 got="" i
	for i in $(seq 1 100); do
		got=$(rcli HGET "modq:c:$id" status)
		[ "$got" = "$want" ] && break
		sleep 0.05
	done
	check_eq "comment $id status" "$got" "$want"
}

# Check one field of a comment hash.
check_field() {
	check_eq "comment $1 $2" "$(rcli --raw HGET "modq:c:$1" "$2")" "$3"
}

# Wait (up to 5 s) for the dead-letter stream to hold N entries.
wait_dead() {
	local n=$1 got=0 i
	for i in $(seq 1 100); do
		got=$(rcli XLEN modq:dead)
		[ "$got" -ge "$n" ] && break
		sleep 0.05
	done
	check_eq "dead letters" "$got" "$n"
}

# Print the result line and set the exit status.
summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
