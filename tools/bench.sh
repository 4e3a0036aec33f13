#!/bin/bash
#
# bench.sh: the benchmark behind `make bench`.  It starts a private
# redis-server on a unix socket in a temp dir, then measures
#   a. throughput: a stream pre-filled with BENCH_N comments, drained by a
#      fresh build/modqd, BENCH_RUNS times (FLUSHALL in between), median;
#   b. the contract floor: before each of those runs a floor round, the same
#      fill drained by `modq-bench-load floor` with only the Redis commands
#      the contract needs (author and thread reads, ZADD and ZCOUNT of each
#      rate window, the record, its TTL, the decisions entry, the author's
#      counter, one XACK and the stats per batch), pipelined, no daemon;
#   c. latency: BENCH_LAT_N comments added at BENCH_RATE/s to a running
#      daemon, time from XADD to its entry on modq:decisions;
# and prints a summary of key=value lines.  A throughput run is timed from
# the daemon's start until HGET modq:stats processed reaches BENCH_N; it also
# reports the daemon's CPU time and its VmHWM and VmRSS at the end.  Every
# round, floor or modqd, reports the Redis CPU per comment (INFO cpu, after
# CONFIG RESETSTAT), each command's part of it (INFO commandstats; "exec"
# and "fcall" include the commands they run, listed on their own too), and
# what it left in Redis (keys, comment records, decisions, memory).  The
# summary ends with
#   redis_us_per_comment_median modqd=M floor=F ratio=R
# the medians over the rounds and R = M / F, then each command's median.
# The script only ever kills the processes it started, by PID, and removes
# its temp dir on exit.
#
# usage: tools/bench.sh [--loader-only]
#   --loader-only  replace modqd with a fake decider (a Redis function called
#                  in a redis-cli loop) to test the loader and this script
# environment (defaults in brackets):
#   BENCH_N [200000] BENCH_RUNS [3] BENCH_RATE [10000] BENCH_LAT_N [50000]
#   BENCH_AUTHORS [20000] BENCH_THREADS [200]
#   BENCH_RATES [1] 0 leaves the three rate rules out (what they cost)
#   BENCH_CONTENT [0] 1 adds a rule of every content kind (links, repeats,
#                 campaigns, shouting, length; what they cost)
#   BENCH_FLOOR [1] 0 skips the floor rounds
#   BENCH_BATCH [256] queue.batch of modqd, and the floor's batch
#   BENCH_TIMEOUT [600] seconds a throughput run may take
#   BENCH_STALL [30] seconds without progress before a run is given up
#   BENCH_LAT_TIMEOUT [60] seconds to wait for decisions after the last XADD
#   BENCH_MODQD_FLAGS [] extra modqd flags, e.g. -d for debug logs
#   BENCH_KEEP [0] 1 keeps the temp dir (configs, logs)
#   MODQD [build/modqd] BENCH_CSV BENCH_WORDS CC [cc]

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$root/.." && pwd)/shared

N=${BENCH_N:-200000}
RUNS=${BENCH_RUNS:-3}
RATE=${BENCH_RATE:-10000}
LAT_N=${BENCH_LAT_N:-50000}
AUTHORS=${BENCH_AUTHORS:-20000}
THREADS=${BENCH_THREADS:-200}
TIMEOUT=${BENCH_TIMEOUT:-600}
STALL=${BENCH_STALL:-30}
LAT_TIMEOUT=${BENCH_LAT_TIMEOUT:-60}
MODQD_FLAGS=${BENCH_MODQD_FLAGS:-}
KEEP=${BENCH_KEEP:-0}
RATES=${BENCH_RATES:-1}
CONTENT=${BENCH_CONTENT:-0}
FLOOR=${BENCH_FLOOR:-1}
BATCH=${BENCH_BATCH:-256}
# modqd's defaults, written into its config and given to the floor alike.
TTL_DAYS=30
MAXLEN=1000000
WINDOW=60
MODQD=${MODQD:-$root/build/modqd}
CSV=${BENCH_CSV:-$shared/corpus/davidson_labeled_data.csv}
WORDS=${BENCH_WORDS:-$shared/corpus/perf/words_400.txt}
LOADER=$root/build/modq-bench-load

fake=0
tmp=
sock=
redis_pid=
loader_pid=
decider_pid=
decider_log=
failed=0

# Print a message on stderr.
msg() {
	printf 'bench: %s\n' "$*" >&2
}

# Print a message and exit 1 (the EXIT trap cleans up).
fail() {
	msg "$*"
	exit 1
}

# Die unless each named variable holds a positive integer.
check_counts() {
	local v
	for v in "$@"; do
		case ${!v} in
		'' | *[!0-9]* | 0*)
			fail "BENCH_$v=${!v}: not a positive integer"
			;;
		esac
	done
}

# Print the value of key $1 in the key=value line $2.
kv() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Run redis-cli against the private server.
rcli() {
	redis-cli -s "$sock" "$@"
}

# Stop one process we started: SIGTERM, 5 s grace, then SIGKILL.
stop_pid() {
	local pid=$1 i=0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			msg "pid $pid ignored SIGTERM for 5s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# Stop the decider (modqd or the fake) if one runs.
stop_decider() {
	if [ -n "$decider_pid" ]; then
		stop_pid "$decider_pid"
		decider_pid=
	fi
}

# EXIT trap: stop what we started, show the daemon log on failure, clean up.
cleanup() {
	local status=$?
	set +e
	if [ -n "$loader_pid" ]; then
		stop_pid "$loader_pid"
	fi
	stop_decider
	if [ -n "$redis_pid" ]; then
		stop_pid "$redis_pid"
	fi
	if [ "$status" -eq 1 ] && [ -n "$decider_log" ] &&
	    [ -s "$decider_log" ]; then
		msg "last lines of $decider_log:"
		tail -n 20 "$decider_log" >&2
	fi
	if [ -n "$tmp" ] && [ "$KEEP" = 1 ]; then
		msg "kept $tmp"
	elif [ -n "$tmp" ]; then
		rm -rf "$tmp"
	fi
	exit "$status"
}

# Parse the command line and check the environment and inputs.
setup_args() {
	case ${1:-} in
	'') ;;
	--loader-only) fake=1 ;;
	*) fail "usage: tools/bench.sh [--loader-only]" ;;
	esac
	check_counts N RUNS RATE LAT_N AUTHORS THREADS TIMEOUT STALL \
	    LAT_TIMEOUT BATCH
	[ "$BATCH" -le 1024 ] ||
	    fail "BENCH_BATCH=$BATCH: over modqd's queue.max_inflight (1024)"
	case $FLOOR in
	0 | 1) ;;
	*) fail "BENCH_FLOOR=$FLOOR: not 0 or 1" ;;
	esac
	command -v redis-server >/dev/null || fail "redis-server not found"
	command -v redis-cli >/dev/null || fail "redis-cli not found"
	[ -r "$CSV" ] || fail "$CSV: corpus not readable (set BENCH_CSV)"
	[ -r "$WORDS" ] || fail "$WORDS: word list not readable (BENCH_WORDS)"
	case $WORDS in
	*\"* | *\\*) fail "$WORDS: quotes or backslashes in the path" ;;
	esac
	if [ "$fake" = 0 ] && [ ! -x "$MODQD" ]; then
		fail "$MODQD not found: run make first (or --loader-only)"
	fi
}

# Build the loader into build/.
build_loader() {
	mkdir -p "$root/build"
	# shellcheck disable=SC2046
	${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Wformat=2 -Wshadow \
	    -Wpointer-arith -Wcast-qual -Wwrite-strings -Wstrict-prototypes \
	    -Wmissing-prototypes -Wmissing-declarations -Wsign-compare \
	    -Wundef -Werror $(pkg-config --cflags hiredis) \
	    "$root/tools/bench-load.c" -o "$LOADER" \
	    $(pkg-config --libs hiredis) -lcsv -lm ||
	    fail "cannot build $LOADER"
}

# Run the loader on the private server; its result line goes to $out.
# In the background, so that a signal is handled while it runs.
run_loader() {
	local status=0
	"$LOADER" -s "$sock" "$@" >"$tmp/loader.out" &
	loader_pid=$!
	wait "$loader_pid" || status=$?
	loader_pid=
	out=$(cat "$tmp/loader.out")
	return "$status"
}

# Start the private redis-server and wait (10 s at most) for its socket.
start_redis() {
	local i=0
	sock=$tmp/redis.sock
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
	    --save '' --appendonly no --daemonize no --dir "$tmp" \
	    >"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	until [ -S "$sock" ] && rcli PING 2>/dev/null | grep -q PONG; do
		kill -0 "$redis_pid" 2>/dev/null ||
		    fail "redis-server exited: $(tail -n 5 "$tmp/redis.log")"
		[ $i -lt 100 ] || fail "redis-server: no socket after 10s"
		sleep 0.1
		i=$((i + 1))
	done
}

# Set the rate rules, "name per limit action" each, all WINDOW seconds
# long: three whose limits (twice the mean load per key, plus 10) let
# nearly all pass, or none with BENCH_RATES=0.  The floor gets the same
# rules as -R flags.
set_rates() {
	local most=$((N > LAT_N ? N : LAT_N)) ips=508 rule name per
	local alim=$((2 * ((most + AUTHORS - 1) / AUTHORS) + 10))
	local tlim=$((2 * ((most + THREADS - 1) / THREADS) + 10))
	local ilim=$((2 * ((most + ips - 1) / ips) + 10))
	rate_rules=()
	floor_flags=()
	[ "$RATES" != 0 ] || return 0
	rate_rules=("author-flood author $alim hold" "ip-flood ip $ilim reject"
	    "thread-surge thread $tlim hold")
	for rule in "${rate_rules[@]}"; do
		read -r name per _ <<<"$rule"
		floor_flags+=(-R "$name:$per:$WINDOW")
	done
}

# Write the modqd config: the LDNOOBW list, a hold list, the rate rules,
# and the batch, TTL and MAXLEN the floor is given too.
write_config() {
	local rule name per limit action sep=
	set_rates
	cat >"$tmp/modqd.conf" <<EOF
# Written by tools/bench.sh for one benchmark run.
redis: { unix = "$sock"; };
queue: { batch = $BATCH; };
decisions: { ttl_days = $TTL_DAYS; maxlen = $MAXLEN; };
log: { decisions = false; };
keywords: (
	{ name = "ldnoobw"; action = "reject"; file = "$WORDS"; },
	{ name = "watch"; action = "hold";
	  words = [ "traitor", "idiot", "moron", "scum", "vermin" ]; }
);
EOF
	[ "${#rate_rules[@]}" = 0 ] || {
		echo "rates: ("
		for rule in "${rate_rules[@]}"; do
			read -r name per limit action <<<"$rule"
			printf '%s\t{ name = "%s"; per = "%s"; limit = %s;' \
			    "$sep" "$name" "$per" "$limit"
			printf ' window = %s; action = "%s"; }' "$WINDOW" \
			    "$action"
			sep=,$'\n'
		done
		printf '\n);\n'
	} >>"$tmp/modqd.conf"
	[ "$CONTENT" = 0 ] || cat >>"$tmp/modqd.conf" <<EOF
links: ( { name = "links"; max = 2; action = "hold"; },
	 { name = "first-links"; max = 0; approved_below = 3; action = "hold"; } );
repeats: ( { name = "repeat"; per = "author"; window = 300; action = "hold"; } );
campaigns: ( { name = "copypaste"; authors = 3; window = 3600; action = "hold"; } );
shouting: ( { name = "shouting"; action = "hold"; } );
length: ( { name = "too-long"; max = 5000; action = "hold"; } );
EOF
	if [ "$fake" = 0 ]; then
		"$MODQD" -n -c "$tmp/modqd.conf" >"$tmp/check.log" 2>&1 ||
		    fail "modqd -n rejects the config: $(cat "$tmp/check.log")"
	fi
}

# Write the fake decider: a Redis function that decides up to ARGV[1]
# comments per call (approve all) the way modqd would record them.
write_fake() {
	cat >"$tmp/fake.lua" <<'EOF'
#!lua name=modqbench
local function decide(keys, args)
	local r = redis.call('XREADGROUP', 'GROUP', 'modqd', 'fake',
	    'COUNT', args[1], 'STREAMS', keys[1], '>')
	if not r then
		return 0
	end
	local entries = r[1][2]
	for _, e in ipairs(entries) do
		local f, id = e[2], ''
		for i = 1, #f, 2 do
			if f[i] == 'id' then
				id = f[i + 1]
				break
			end
		end
		redis.call('XADD', keys[2], '*', 'id', id, 'status',
		    'approved', 'reasons', '', 'by', 'fake')
		redis.call('XACK', keys[1], 'modqd', e[1])
	end
	redis.call('HINCRBY', keys[3], 'processed', #entries)
	return #entries
end
redis.register_function('modq_bench_fake', decide)
EOF
}

# Start the decider on the current stream: modqd, or the fake in a loop.
start_decider() {
	decider_log=$tmp/$1.log
	if [ "$fake" = 1 ]; then
		rcli FUNCTION LOAD REPLACE "$(cat "$tmp/fake.lua")" \
		    >/dev/null || fail "cannot load the fake decider"
		rcli XGROUP CREATE modq:incoming modqd 0 MKSTREAM \
		    >/dev/null || fail "cannot create the consumer group"
		redis-cli -s "$sock" -r -1 -i 0.001 FCALL modq_bench_fake 3 \
		    modq:incoming modq:decisions modq:stats 1000 \
		    >/dev/null 2>"$decider_log" &
	else
		# shellcheck disable=SC2086
		"$MODQD" $MODQD_FLAGS -c "$tmp/modqd.conf" \
		    >"$decider_log" 2>&1 &
	fi
	decider_pid=$!
}

# Wait (10 s at most) until modqd has its library and consumer group.
wait_ready() {
	local i=0
	[ "$fake" = 0 ] || return 0
	until rcli XINFO GROUPS modq:incoming 2>/dev/null | grep -qx modqd &&
	    rcli FUNCTION LIST LIBRARYNAME modq 2>/dev/null | grep -qx modq; do
		kill -0 "$decider_pid" 2>/dev/null || fail "modqd exited"
		[ $i -lt 100 ] ||
		    fail "modqd: no group modqd on modq:incoming after 10s"
		sleep 0.1
		i=$((i + 1))
	done
}

# Print the Redis server's CPU seconds so far (user + system).
redis_cpu() {
	rcli INFO cpu | tr -d '\r' | awk -F: '
	    $1 == "used_cpu_sys" || $1 == "used_cpu_user" { s += $2 }
	    END { printf "%.6f\n", s }'
}

# Read the commands Redis ran since CONFIG RESETSTAT into the globals
# round_us and round_calls: every command with the time it took and the
# times it ran, per comment, most first ("exec" and "fcall" include the
# commands they run, which are listed on their own too; the time is
# elapsed time, which a busy machine inflates); not this script's INFO and
# CONFIG.
redis_commands() {
	local st
	st=$(rcli INFO commandstats | tr -d '\r')
	round_us=$(per_comment 5 2 "$st")
	round_calls=$(per_comment 3 4 "$st")
}

# Print field $1 (3: calls, 5: usec) of the INFO commandstats text $3 as
# "cmd=v cmd=v ...", divided by N, with $2 decimals, most first; not the
# values that round to 0.
per_comment() {
	printf '%s\n' "$3" | awk -F'[:,=]' -v n="$N" -v f="$1" -v d="$2" '
	    /^cmdstat_/ { sub(/^cmdstat_/, "", $1)
		if ($1 != "info" && $1 !~ /^config/ && $f / n >= 0.5 / 10 ^ d)
			printf "%s %.*f\n", $1, d, $f / n }' |
	    sort -k2 -nr | awk '{ printf "%s%s=%s", \
	    (NR > 1 ? " " : ""), $1, $2 } END { print "" }'
}

# Print what a round left in Redis: the number of keys, comment records,
# rate window keys, decisions entries and incoming entries, and the memory
# Redis uses.
redis_keys() {
	local db rec rk dec inc mem
	db=$(rcli DBSIZE)
	rec=$(rcli --scan --pattern 'modq:c:*' | wc -l)
	rk=$(rcli --scan --pattern 'modq:rate:*' | wc -l)
	dec=$(rcli XLEN modq:decisions)
	inc=$(rcli XLEN modq:incoming)
	mem=$(rcli INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')
	echo "dbsize=$db records=$rec rate_keys=$rk decisions=$dec" \
	    "incoming=$inc used_memory_kb=$((${mem:-0} / 1024))"
}

# Print "VmHWM VmRSS" in kB of a process, or "- -".
proc_mem() {
	awk '$1 == "VmHWM:" { h = $2 } $1 == "VmRSS:" { r = $2 }
	    END { print (h == "" ? "-" : h), (r == "" ? "-" : r) }' \
	    "/proc/$1/status" 2>/dev/null || echo "- -"
}

# Print the CPU seconds (user + system) a process has used, or "-".
proc_cpu() {
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
	    "/proc/$1/stat" 2>/dev/null || echo -
}

# Empty Redis and fill the stream with the BENCH_N comments of a round.
fill_stream() {
	rcli FLUSHALL >/dev/null
	run_loader -f "$CSV" -n "$N" -a "$AUTHORS" -t "$THREADS" fill ||
	    fail "$1: fill failed"
	msg "$1: $out"
	fill=$(kv rate "$out")
}

# Print the Redis CPU microseconds per comment between two redis_cpu().
us_per_comment() {
	awk -v a="$1" -v b="$2" -v n="$N" \
	    'BEGIN { printf "%.2f", (b - a) * 1e6 / n }'
}

# One floor round: fill, then the contract's commands alone drain it.
floor_run() {
	local r=$1 fill c0 c1 us line
	fill_stream "floor $r"
	rcli CONFIG RESETSTAT >/dev/null
	c0=$(redis_cpu)
	run_loader -T "$TIMEOUT" -b "$BATCH" -D "$TTL_DAYS" -M "$MAXLEN" \
	    "${floor_flags[@]}" floor || fail "floor $r: $out"
	c1=$(redis_cpu)
	[ "$(kv n "$out")" = "$N" ] ||
	    fail "floor $r: decided $(kv n "$out") of $N comments"
	rounds+=(floor)
	redis_commands
	cmds+=("$round_us")
	calls+=("$round_calls")
	keys+=("$(redis_keys)")
	us=$(us_per_comment "$c0" "$c1")
	line="run=$r rate=$(kv rate "$out") seconds=$(kv seconds "$out")"
	line="$line fill_rate=$fill redis_us_per_comment=$us"
	line="$line commands=$(kv commands "$out")"
	results+=("$line")
	floor_rates+=("$(kv rate "$out")")
	floor_us+=("$us")
	msg "floor $r: $line"
}

# One throughput run: fill, start a fresh decider, time the drain.
throughput_run() {
	local r=$1 fill c0 c1 hwm rss cpu us line
	fill_stream "run $r"
	rcli CONFIG RESETSTAT >/dev/null
	c0=$(redis_cpu)
	start_decider "decider.$r"
	run_loader -T "$TIMEOUT" -I "$STALL" -P "$decider_pid" wait "$N" ||
	    fail "run $r: the decider did not finish: $out$(zero_hint "$out")"
	c1=$(redis_cpu)
	rounds+=(throughput)
	redis_commands
	cmds+=("$round_us")
	calls+=("$round_calls")
	read -r hwm rss <<<"$(proc_mem "$decider_pid")"
	cpu=$(proc_cpu "$decider_pid")
	if [ "$fake" = 1 ]; then
		hwm=- rss=- cpu=-
	fi
	stop_decider
	keys+=("$(redis_keys)")
	us=$(us_per_comment "$c0" "$c1")
	line="run=$r rate=$(kv rate "$out") seconds=$(kv seconds "$out")"
	line="$line fill_rate=$fill redis_us_per_comment=$us daemon_cpu_s=$cpu"
	line="$line vmhwm_kb=$hwm vmrss_kb=$rss"
	results+=("$line")
	rates+=("$(kv rate "$out")")
	modqd_us+=("$us")
	msg "run $r: $line"
}

# Print a hint when nothing at all was decided.
zero_hint() {
	[ "$(kv count "$1")" != 0 ] ||
	    echo " (is the consumer group created at 0, not \$?)"
}

# Print the median of the numbers given as arguments.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
	    if (NR % 2) print a[(NR + 1) / 2];
	    else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# Print the median of the numbers given as arguments, to 2 decimals.
median2() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
	    if (NR % 2) printf "%.2f\n", a[(NR + 1) / 2];
	    else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# Print each command's median, with $1 decimals, over the rounds given as
# the other arguments, one "cmd=v cmd=v ..." list each (a command missing
# from a round counts 0 there), most first.
median_commands() {
	local d=$1
	shift
	printf '%s\n' "$@" | awk -v d="$d" '
	    { for (i = 1; i <= NF; i++) {
		k = index($i, "="); c = substr($i, 1, k - 1)
		v[c, NR] = substr($i, k + 1); seen[c] = 1 } }
	    END { for (c in seen) {
		for (r = 1; r <= NR; r++) {
		    x = ((c, r) in v) ? v[c, r] + 0 : 0
		    for (j = r - 1; j >= 1 && a[j] > x; j--)
			a[j + 1] = a[j]
		    a[j + 1] = x }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		if (m >= 0.5 / 10 ^ d)
			printf "%s %.*f\n", c, d, m } }' |
	    sort -k2 -nr | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), \
	    $1, $2 } END { print "" }'
}

# Print the lists of the rounds of kind $1 (floor, throughput) in the
# array named $2 (cmds, calls).
kind_commands() {
	local i
	local -n list=$2
	for i in "${!rounds[@]}"; do
		[ "${rounds[$i]}" != "$1" ] || printf '%s\n' "${list[$i]}"
	done
}

# Latency: a fresh decider on an empty stream, comments at RATE/s.
latency_run() {
	rcli FLUSHALL >/dev/null
	start_decider decider.latency
	wait_ready
	run_loader -f "$CSV" -n "$LAT_N" -a "$AUTHORS" -t "$THREADS" \
	    -T "$LAT_TIMEOUT" rate "$RATE" || failed=1
	latency=$out
	kill -0 "$decider_pid" 2>/dev/null || fail "the decider exited"
	stop_decider
	[ -n "$latency" ] || fail "latency: the loader failed"
	msg "latency: $latency"
}

# Print the summary block.
summary() {
	local what=modqd line r m f k list d
	[ "$fake" = 0 ] || what="fake decider (--loader-only)"
	echo "=== modq bench: $what ==="
	echo "n=$N runs=$RUNS authors=$AUTHORS threads=$THREADS" \
	    "corpus=$(basename "$CSV") words=$(basename "$WORDS")" \
	    "rate_rules=${#rate_rules[@]} content=$CONTENT batch=$BATCH" \
	    "floor=$FLOOR"
	for r in "${!results[@]}"; do
		echo "${rounds[$r]} ${results[$r]}"
		echo "  redis_us_per_comment_by_command ${cmds[$r]}"
		echo "  redis_keys ${keys[$r]}"
	done
	echo "throughput_median=$(median "${rates[@]}") comments/s"
	line="redis_us_per_comment_median modqd=$(median2 "${modqd_us[@]}")"
	if [ "$FLOOR" = 1 ]; then
		echo "floor_median=$(median "${floor_rates[@]}") comments/s"
		m=$(median2 "${modqd_us[@]}")
		f=$(median2 "${floor_us[@]}")
		line="$line floor=$f ratio=$(awk -v m="$m" -v f="$f" \
		    'BEGIN { printf "%.2f", (f > 0 ? m / f : 0) }')"
	fi
	echo "$line"
	for what in us calls; do
		list=cmds d=2
		[ "$what" = us ] || list=calls d=4
		mapfile -t k < <(kind_commands throughput "$list")
		echo "redis_${what}_per_comment_by_command_median modqd" \
		    "$(median_commands "$d" "${k[@]}")"
		[ "$FLOOR" = 1 ] || continue
		mapfile -t k < <(kind_commands floor "$list")
		echo "redis_${what}_per_comment_by_command_median floor" \
		    "$(median_commands "$d" "${k[@]}")"
	done
	echo "redis vmhwm_kb=$(proc_mem "$redis_pid" | cut -d' ' -f1)"
	line="latency rate=$RATE n=$LAT_N"
	for k in p50_ms p90_ms p99_ms max_ms missing; do
		line="$line $k=$(kv "$k" "$latency")"
	done
	echo "$line"
}

main() {
	local r
	results=()
	rounds=()
	cmds=()
	calls=()
	keys=()
	round_us=
	round_calls=
	rates=()
	floor_rates=()
	modqd_us=()
	floor_us=()
	rate_rules=()
	floor_flags=()
	latency=
	out=
	setup_args "$@"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	build_loader
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/modq-bench.XXXXXX")
	start_redis
	write_config
	write_fake
	# Floor and modqd rounds alternate, so that whatever else the machine
	# does weighs on both alike.
	for r in $(seq 1 "$RUNS"); do
		[ "$FLOOR" = 0 ] || floor_run "$r"
		throughput_run "$r"
	done
	latency_run
	summary
	[ "$failed" = 0 ] || fail "latency: some comments got no decision"
}

main "$@"
