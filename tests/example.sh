#!/usr/bin/env bash
#
# example.sh -- the site's example client, examples/site.py, against a real
# redis-server and a real modqd: what README's "For the site's developers"
# says a site sees is what it sees.
# Usage: tests/example.sh [BUILD_DIR]   (default: build)
#
# Environment:
#   PYTHON   the Python 3 with redis-py (python3-redis) to run site.py with
#            (default: python3, else /usr/bin/python3 if only it has redis)
#   KEEP=1   keep the logs in $TMP even when all passed
#
# The script owns its servers: a redis-server on a unix socket in a
# mktemp -d directory (--port 0) and the modqd it starts itself.  A trap
# stops only the PIDs it started.  Every wait is a bounded loop, and every
# follow has --timeout.  It prints "N passed, N failed" and exits 1 if
# anything failed.
#
# Sections, in the order they run (each builds on the one before):
#   1 push     site.py push: a clean comment, a held one, a rejected one, a
#              retry of the clean one; edit of the held one into a clean
#              one; delete of the rejected one; an entry without a body
#   2 follow   site.py follow, run for the first time after every decision
#              was made: the group starts at 0, the exact lines, the error
#              logged, everything acknowledged; a second run has nothing
#   3 restart  a worker that read a decision and stopped before XACK gets
#              it again; a live follow sees held, then a moderator's approval
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init example

unset REDISCLI_AUTH

# A python3 that has redis-py: on Debian 12 python3 is /usr/bin/python3;
# another python3 first in PATH may lack the Debian package's module.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import redis' 2>/dev/null &&
    /usr/bin/python3 -c 'import redis' 2>/dev/null; then
	PYTHON=/usr/bin/python3
fi
if ! "$PYTHON" -c 'import redis' 2>/dev/null; then
	echo "example: $PYTHON cannot import redis (apt-get install python3-redis)"
	exit 1
fi

# Run the example client against the test server; a client that hangs
# (a bug in it) is stopped after a minute.
site() {
	timeout -k 5 60 "$PYTHON" "$TOP/examples/site.py" -s "$SOCK" "$@"
}

# Run site.py follow: its output in $OUT, stderr in $ERR, status in $RC.
follow() {
	site follow "$@" >"$TMP/follow.out" 2>"$TMP/follow.err"
	RC=$?
	OUT=$(cat "$TMP/follow.out")
	ERR=$(cat "$TMP/follow.err")
}

# The number of decisions the site's group has read and not acknowledged.
site_pending() {
	rcli XPENDING modq:decisions site | head -1
}

start_redis "$TMP" "$SOCK" || { echo "example: cannot start redis-server"; exit 1; }
mkdir -p "$TMP/lists"
printf '%s\n' shit >"$TMP/lists/slurs.txt"
printf '%s\n' traitor >"$TMP/lists/watch.txt"
write_conf "$TMP/modqd.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
  { name = "slurs"; action = "reject"; file = "lists/slurs.txt"; },
  { name = "watch"; action = "hold";   file = "lists/watch.txt"; }
);
EOF
start_modqd "$TMP/modqd.conf" "$TMP/modqd.log" || exit 1

# --- 1 push: what the site sends ---------------------------------------------

section "1 push: new comments, a retry, an edit, a delete, a broken entry"
# Each step waits for its decision, so that the decisions stream has them
# in the order of the steps.
SID[c1]=$(site push c1 "A fair point about the budget." \
    --author u-1 --thread t-1 --ip 203.0.113.9)
check_match "push prints the stream entry's id" "${SID[c1]}" '^[0-9]+-[0-9]+$'
check_decision c1 approved ""
check_eq "c1's own fields" \
    "$(rcli --raw HMGET modq:c:c1 id author thread ip body | paste -sd'|' -)" \
    "c1|u-1|t-1|203.0.113.9|A fair point about the budget."

SID[c2]=$(site push c2 "The minister is a traitor." --author u-2 --thread t-1)
check_decision c2 held watch 'watch:"traitor"'
SID[c3]=$(site push c3 "What a load of sh!t." --author u-3 --thread t-1)
check_decision c3 rejected slurs 'slurs:"sh!t"'

# A retry: the very same fields again.  Acknowledged, no new decision.
RETRY=$(site push c1 "A fair point about the budget." \
    --author u-1 --thread t-1 --ip 203.0.113.9)
check_ne "a retry is a new stream entry" "$RETRY" "${SID[c1]}"
check_eq "the retry is counted as resent" "$(wait_hash modq:stats resent 1)" 1
check_no_pending "the retry is acknowledged"
check_field c1 stream_id "${SID[c1]}"
check_eq "c1 has no revision" "$(rcli HEXISTS modq:c:c1 revision)" 0
check_decisions c1 "approved//modqd"

# An edit: the same id with a new body is judged again.
SID[c2]=$(site edit c2 "The minister was wrong about this." \
    --author u-2 --thread t-1)
check_decision c2 approved "" ""
check_field c2 revision 2
check_field c2 body "The minister was wrong about this."
check_decisions c2 "held/watch/modqd;approved//modqd"
check_eq "c2 left the held queue" "$(rcli ZSCORE modq:held c2)" ""

# A delete, and the same delete again.
check_eq "delete c3" "$(site delete c3 --note "author deleted it")" "deleted c3"
check_eq "delete c3 again" "$(site delete c3)" "c3 was deleted before"
check_eq "c3: status, by, body" \
    "$(rcli --raw HMGET modq:c:c3 status decided_by body | paste -sd'|' -)" \
    "deleted|site|"
check_decisions c3 "rejected/slurs/modqd;deleted//site"

# A broken entry: site.py always sends a body, a buggy site may not.
DEAD=$(rcli XADD modq:incoming '*' id c4 author u-4 thread t-1)
wait_dead 1
check_eq "decisions made so far" "$(rcli XLEN modq:decisions)" 6
check_eq "no consumer group on modq:decisions yet" \
    "$(rcli --raw XINFO GROUPS modq:decisions)" ""

# --- 2 follow: the site's first run -------------------------------------------

section "2 follow: the first run sees every decision made before it"
# The group is created at 0: every decision above was made before it
# existed, and each is read (a group created at $ would read none).
follow --count 6 --timeout 10
check_eq "follow's exit status" "$RC" 0
check_eq "follow's lines" "$OUT" "c1 approved publish
c2 held hide-pending watch
c3 rejected hide slurs
c2 approved publish
c3 deleted remove
c4 error show-error missing-field"
check_eq "the error is logged with its kind and stream entry" "$ERR" \
    "site.py: comment c4 could not be judged: missing-field (stream entry $DEAD)"
check_eq "every decision acknowledged" "$(site_pending)" 0
check_eq "the group's last delivered entry is the last decision" \
    "$(rcli --raw XINFO GROUPS modq:decisions | sed -n '/^last-delivered-id$/{n;p;}')" \
    "$(rcli --raw XREVRANGE modq:decisions + - COUNT 1 | head -1)"

# Run again: nothing new, nothing printed.
follow --timeout 1
check_eq "a second run: exit status" "$RC" 0
check_eq "a second run prints nothing" "$OUT$ERR" ""
follow --count 1 --timeout 1
check_eq "stopped before --count: exit status" "$RC" 1
check_eq "stopped before --count: prints nothing" "$OUT$ERR" ""

# --- 3 restart: a worker that stopped before XACK; a live follow -------------

section "3 restart: a decision read but not acknowledged comes again"
SID[c5]=$(site push c5 "Good piece." --author u-1 --thread t-2)
check_decision c5 approved ""
# web-1 reads it and stops before XACK (redis-cli plays that worker).
check_eq "web-1 read c5 without XACK" \
    "$(rcli --raw XREADGROUP GROUP site web-1 COUNT 10 STREAMS modq:decisions '>' | sed -n 4p)" \
    c5
check_eq "c5's decision pending" "$(site_pending)" 1
follow --count 1 --timeout 10
check_eq "restarted web-1: exit status" "$RC" 0
check_eq "restarted web-1 gets c5 again" "$OUT" "c5 approved publish"
check_eq "c5 acknowledged" "$(site_pending)" 0

# A follow that waits (XREADGROUP BLOCK) while the comment comes in, is
# held, and a moderator approves it.
site follow --count 2 --timeout 10 >"$TMP/live.out" 2>"$TMP/live.err" &
LIVE=$!
track_pid "$LIVE"
SID[c6]=$(site push c6 "Not a traitor, just wrong." --author u-6 --thread t-2)
check_decision c6 held watch
check_eq "a moderator approves c6" \
    "$(rcli --raw FCALL modq_approve 0 c6 alice "fine in context")" 1
deadline 15000
while kill -0 "$LIVE" 2>/dev/null && ! expired; do
	sleep 0.05
done
if kill -0 "$LIVE" 2>/dev/null; then
	not_ok "the live follow did not stop by itself"
	term_wait "$LIVE" 5000
else
	ok "the live follow stopped by itself"
	wait "$LIVE"
	STOP_RC=$?
	untrack_pid "$LIVE"
fi
check_eq "the live follow's exit status" "$STOP_RC" 0
check_eq "the live follow's lines" "$(cat "$TMP/live.out")" "c6 held hide-pending watch
c6 approved publish watch"
check_eq "the live follow logged nothing" "$(cat "$TMP/live.err")" ""
check_eq "nothing left pending" "$(site_pending)" 0

stop_modqd
check_eq "modqd's exit status" "$MODQD_RC" 0
summary
