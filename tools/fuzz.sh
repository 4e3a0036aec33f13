#!/bin/sh
# Build the libFuzzer targets of tests/fuzz/ with clang into build/fuzz/ and
# run each for FUZZ_SECONDS (default 60) on a private working corpus seeded
# from tests/fuzz/corpus/<target>/; or, with --replay, run every saved
# regression input (tests/fuzz/regress/<target>/*) and every seed once.
# Exits non-zero if any target crashes, printing the crash file.
#
#   sh tools/fuzz.sh [--replay] [TARGET...]  TARGET: entry conf wordlist batch
#
# Environment: FUZZ_SECONDS, FUZZ_NICE (default 10), FUZZ_ARGS (extra
# libFuzzer flags), CLANG (default clang), B (default build/fuzz);
# FUZZ_KNOWN=1 makes the targets tolerate bugs already reported (see the
# harnesses), so a long run can go on past them.
set -eu

B=${B:-build/fuzz}
CLANG=${CLANG:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_NICE=${FUZZ_NICE:-10}
FUZZ_ARGS=${FUZZ_ARGS:-}
ALL_TARGETS="entry conf wordlist batch"
SRCS="rules/normalize.c rules/keyword.c rules/rate.c rules/rules.c
rules/decide.c rules/links.c rules/similar.c
rules/confusables.c rules/entities.c rules/lint.c daemon/log.c daemon/xmalloc.c
daemon/conf.c daemon/conf_content.c daemon/entry.c"
# batch links the daemon's pipeline too, and two files of its own: the
# model of Redis and the fake I/O edge (redis.c, server.c, metrics.c).
BATCH_SRCS="daemon/args.c daemon/clock.c daemon/intake.c daemon/pipeline.c daemon/context.c
daemon/texts.c daemon/commit.c"
BATCH_HARNESS="tests/fuzz/batch_model.c tests/fuzz/fake_redis.c"
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer -D_GNU_SOURCE
-Iinclude -Irules -Idaemon -fno-sanitize-recover=undefined"
SAN="address,undefined"

usage() {
	echo "usage: sh tools/fuzz.sh [--replay]" \
	    "[entry|conf|wordlist|batch ...]" >&2
	exit 2
}

# Compile src into obj when obj is missing or older than src or a header.
compile() {
	src=$1 obj=$2 san=$3
	if [ -f "$obj" ] && [ -z "$(find "$src" include rules daemon/pipeline.h \
	    tests/fuzz/*.h -name '*.[ch]' -newer "$obj")" ]; then
		return 0
	fi
	mkdir -p "$(dirname "$obj")"
	# shellcheck disable=SC2086
	$CLANG $CFLAGS -fsanitize=$san $PKG_CFLAGS -c "$src" -o "$obj"
}

# Compile sources $2... into objects with sanitizers $1; print the objects.
objects() {
	san=$1
	shift
	for s in "$@"; do
		o=$B/obj/${s%.c}.o
		compile "$s" "$o" "$san"
		echo "$o"
	done
}

# Build build/fuzz/fuzz_<target> from its harness and the library sources.
build() {
	# shellcheck disable=SC2086
	objs=$(objects "fuzzer-no-link,$SAN" $SRCS)
	for t in $TARGETS; do
		extra="" wrap=""
		if [ "$t" = batch ]; then
			# The daemon's clock is the model's (fake_redis.c).
			wrap="-Wl,--wrap=gettimeofday"
			# The model's own branches are no coverage to seek.
			# shellcheck disable=SC2086
			extra="$(objects "fuzzer-no-link,$SAN" $BATCH_SRCS)
$(objects "$SAN" $BATCH_HARNESS)"
		fi
		o=$B/obj/fuzz_$t.o
		compile "tests/fuzz/fuzz_$t.c" "$o" "fuzzer,$SAN"
		# shellcheck disable=SC2086
		$CLANG $CFLAGS -fsanitize=fuzzer,$SAN -o "$B/fuzz_$t" "$o" \
		    $extra $objs $wrap $PKG_LIBS -lm
	done
}

# The libFuzzer options every run of target $1 gets.
options() {
	opts="-timeout=30 -rss_limit_mb=2048 -print_final_stats=1"
	opts="$opts -artifact_prefix=$B/artifacts/$1/"
	[ -f "tests/fuzz/$1.dict" ] && opts="$opts -dict=tests/fuzz/$1.dict"
	case $1 in
	entry) opts="$opts -max_len=4096" ;;
	conf) opts="$opts -max_len=4096" ;;
	wordlist) opts="$opts -max_len=8192" ;;
	# a batch of many entries runs long: mutate the quick ones more
	batch) opts="$opts -max_len=8192 -entropic_scale_per_exec_time=1" ;;
	esac
	echo "$opts"
}

# The ASan options target $1 runs with.  A batch run allocates and frees
# much more than the other targets': a quarantine of 16 MB instead of 256
# keeps the memory it reuses mapped (several times the executions a
# second) and still holds the frees of many runs.
asan_options() {
	case $1 in
	batch) echo "quarantine_size_mb=16${ASAN_OPTIONS:+:$ASAN_OPTIONS}" ;;
	*) echo "${ASAN_OPTIONS:-}" ;;
	esac
}

# Print the crash file named in log $1, if any.
crash_file() {
	sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$1" | tail -n 1
}

# Fuzz target $1 for FUZZ_SECONDS; returns non-zero if it crashed.
run_fuzz() {
	t=$1 log=$B/fuzz_$t.log
	mkdir -p "$B/corpus/$t" "$B/artifacts/$t"
	echo "== fuzz_$t: ${FUZZ_SECONDS}s, log $log"
	# shellcheck disable=SC2046,SC2086
	if ASAN_OPTIONS=$(asan_options "$t") nice -n "$FUZZ_NICE" \
	    "$B/fuzz_$t" $(options "$t") \
	    -max_total_time="$FUZZ_SECONDS" $FUZZ_ARGS \
	    "$B/corpus/$t" "tests/fuzz/corpus/$t" </dev/null >"$log" 2>&1; then
		grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -n 1 || true
		grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' \
		    "$log" || true
		return 0
	fi
	echo "fuzz_$t: FAILED; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	echo "fuzz_$t: crash input: $(crash_file "$log")" >&2
	return 1
}

# Run target $1 once on each regression input and each seed.
run_replay() {
	t=$1 log=$B/replay_$t.log files=""
	mkdir -p "$B/artifacts/$t"
	if [ -d "tests/fuzz/regress/$t" ]; then
		for f in "tests/fuzz/regress/$t"/*; do
			[ -f "$f" ] && files="$files $f"
		done
	fi
	for f in "tests/fuzz/corpus/$t"/*; do
		[ -f "$f" ] && files="$files $f"
	done
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2046,SC2086
	if ASAN_OPTIONS=$(asan_options "$t") "$B/fuzz_$t" $(options "$t") \
	    $files </dev/null >"$log" 2>&1; then
		echo "== fuzz_$t: $(echo $files | wc -w) inputs replayed, ok"
		return 0
	fi
	echo "fuzz_$t: replay FAILED; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	return 1
}

mode=fuzz
TARGETS=""
for a in "$@"; do
	case $a in
	--replay) mode=replay ;;
	entry | conf | wordlist | batch) TARGETS="$TARGETS $a" ;;
	*) usage ;;
	esac
done
[ -n "$TARGETS" ] || TARGETS=$ALL_TARGETS

command -v "$CLANG" >/dev/null 2>&1 || {
	echo "fuzz.sh: $CLANG not found (apt-get install clang" \
	    "libclang-rt-14-dev)" >&2
	exit 1
}
# Leaks inside libraries we cannot fix are suppressed (see the file).
LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp:print_suppressions=0\
${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
PKG_CFLAGS=$($PKG_CONFIG --cflags libhs libutf8proc libpsl libconfig hiredis libevent)
PKG_LIBS=$($PKG_CONFIG --libs libhs libutf8proc libpsl libconfig hiredis libevent)
mkdir -p "$B"
build

failed=""
for t in $TARGETS; do
	if [ "$mode" = replay ]; then
		run_replay "$t" || failed="$failed $t"
	else
		run_fuzz "$t" || failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz.sh: failed:$failed" >&2
	exit 1
fi
