#!/usr/bin/env bash
#
# trial.sh -- trying rules before trusting them: modqd -t's summary of a
# file of texts, exact; modqd -R's re-judgement of the comments a real
# modqd decided, with a stricter config, exact, and proof that it wrote
# nothing to Redis.
# Usage: tests/trial.sh [BUILD_DIR]   (default: build)
#
# Sections (number, name):
#   1 file      -t on a file and on stdin: totals, rules, shadow, dead line;
#               bad inputs and usage
#   2 rejudge   -R after a modqd with config A: the changed lines with a
#               stricter config B, a moderator's decision marked, a deleted
#               and an expired record, nothing written
#   3 pages     -R over more than one page of the decisions stream
#   4 edges     -R on an empty Redis, without Redis, counts out of range
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init trial
start_redis "$TMP" "$SOCK" || { echo "trial: cannot start redis-server"; exit 1; }

# A digest of every key's name and DUMP (its type, value and encoding).
dataset_digest() {
	rcli --raw EVAL "local ks = redis.call('KEYS', '*')
table.sort(ks)
local t = {}
for _, k in ipairs(ks) do t[#t + 1] = k .. '=' .. redis.call('DUMP', k) end
return redis.sha1hex(table.concat(t, '\n'))" 0
}

# The commands Redis ran since CONFIG RESETSTAT, the test's own (that one
# and INFO) left out.
commands_run() {
	rcli --raw INFO commandstats | sed -n 's/^cmdstat_\([^:]*\):.*/\1/p' |
	    grep -vx 'info\|config|resetstat' | sort | paste -sd' ' -
}

# Run modqd -R with config $1 and count $2, saving stdout, stderr and the
# exit status in R_OUT, R_ERR and R_RC.
rejudge() {
	"$MODQD" -c "$1" -R "$2" >"$TMP/r.out" 2>"$TMP/r.err"
	R_RC=$?
	R_OUT=$(cat "$TMP/r.out")
	R_ERR=$(cat "$TMP/r.err")
}

# --- 1 file ----------------------------------------------------------------------

sec_file() {
	local out
	section "1 file: -t on a file and on stdin"
	write_conf "$TMP/t.conf" <<EOF
queue: { max_body = 40; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "idiot" ]; },
  { name = "watch"; action = "hold"; words = [ "traitor" ]; },
  { name = "spy"; action = "hold"; mode = "shadow"; words = [ "agent" ]; },
  { name = "meh"; action = "score"; score = 3; words = [ "dumb" ]; }
);
thresholds: { hold = 3; };
EOF
	# 9 lines: the 7th is 42 bytes (max_body 40), the 8th empty, the
	# last without its newline.
	printf '%s\n' "hello there" "you idiot" "a traitor" "an agent here" \
	    "dumb idea" "an idiot agent and traitor" \
	    "this line is far too long for the max body" "" >"$TMP/sample.txt"
	printf 'fine' >>"$TMP/sample.txt"
	local want="lines 9: approve 4 (44.44%), hold 2 (22.22%), reject 2 (22.22%), dead 1
rule	hits	share
slurs	2	22.22%
spy (shadow)	2	22.22%
watch	2	22.22%
meh	1	11.11%
score-hold	1	11.11%"
	out=$("$MODQD" -c "$TMP/t.conf" -t "$TMP/sample.txt" 2>"$TMP/t.err")
	check_eq "-t file: exit 0 with a dead line" "$?" 0
	check_eq "-t file: the summary" "$out" "$want"
	check_eq "-t file: the dead line on stderr" "$(cat "$TMP/t.err")" \
	    "modqd: $TMP/sample.txt:7: body too large: 42 bytes (queue.max_body is 40)"
	out=$("$MODQD" -c "$TMP/t.conf" -t - <"$TMP/sample.txt" 2>"$TMP/t.err")
	check_eq "-t -: exit 0" "$?" 0
	check_eq "-t -: the same summary" "$out" "$want"
	check_eq "-t -: the dead line on stderr" "$(cat "$TMP/t.err")" \
	    "modqd: standard input:7: body too large: 42 bytes (queue.max_body is 40)"
	# the totals are -e -'s verdicts counted
	check_eq "-t counts what -e - prints" \
	    "$("$MODQD" -c "$TMP/t.conf" -e - <"$TMP/sample.txt" 2>/dev/null |
	        cut -f1 | sort | uniq -c | awk '{ printf "%s %s ", $2, $1 }')" \
	    "approve 4 dead 1 hold 2 reject 2 "
	out=$("$MODQD" -c "$TMP/t.conf" -t /dev/null 2>&1)
	check_eq "-t empty input: zeros, exit 0" "$?:$out" "0:lines 0: approve 0 (0.00%), hold 0 (0.00%), reject 0 (0.00%), dead 0
rule	hits	share"
	out=$("$MODQD" -c "$TMP/t.conf" -t "$TMP" 2>"$TMP/t.err")
	check_eq "-t a directory: read error, exit 1, no summary" "$?:$out" "1:"
	check_eq "-t a directory: why" "$(cat "$TMP/t.err")" \
	    "modqd: $TMP: Is a directory"
	out=$("$MODQD" -c "$TMP/t.conf" -t "$TMP/nonexistent" 2>&1)
	check_eq "-t a missing file: exit 1" "$?:$out" \
	    "1:modqd: $TMP/nonexistent: No such file or directory"
	"$MODQD" -c "$TMP/t.conf" -t "$TMP/sample.txt" -n >/dev/null 2>&1
	check_eq "-t with -n: usage, exit 2" "$?" 2
	"$MODQD" -c "$TMP/t.conf" -n -t "$TMP/sample.txt" >/dev/null 2>&1
	check_eq "-n with -t: usage, exit 2" "$?" 2
	"$MODQD" -c "$TMP/t.conf" -t "$TMP/sample.txt" -R 5 >/dev/null 2>&1
	check_eq "-t with -R: usage, exit 2" "$?" 2
	"$MODQD" -c "$TMP/t.conf" -t "$TMP/sample.txt" extra >/dev/null 2>&1
	check_eq "-t with an argument: usage, exit 2" "$?" 2
}

# --- 2 rejudge -------------------------------------------------------------------

sec_rejudge() {
	local digest keys
	section "2 rejudge: -R with a stricter config"
	fresh
	write_conf "$TMP/a.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "idiot" ]; },
  { name = "watch"; action = "hold"; words = [ "traitor" ]; }
);
EOF
	write_conf "$TMP/b.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { max_body = 30; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "idiot", "moron" ]; },
  { name = "watch"; action = "hold"; words = [ "spy" ]; },
  { name = "treason"; action = "reject"; words = [ "traitor" ]; },
  { name = "spooks"; action = "hold"; mode = "shadow"; words = [ "agent" ]; }
);
EOF
	start_modqd "$TMP/a.conf" "$TMP/a.log" || exit 1
	xadd id t1 author ann body "hello world"
	xadd id t2 author ann body "you moron"
	xadd id t3 author ann body "a spy story"
	xadd id t4 author bob body "the traitor"
	xadd id t5 author bob body "you idiot"
	xadd id t6 author bob body "nice agent"
	xadd id t7 author cy body "moron"
	xadd id t8 author cy body "a traitor, really"
	xadd id t9 author cy body "spy vs spy"
	xadd id t10 author dee body "fine words"
	xadd id t11 author dee body "a comment longer than thirty bytes"
	xadd id bad-one author dee
	check_decision t11 approved ""
	check_decision t8 held watch
	wait_dead 1
	check_eq "t7 rejected by a moderator" \
	    "$(rcli FCALL modq_reject 0 t7 alice "rude")" 1
	check_eq "t8 approved by a moderator" \
	    "$(rcli FCALL modq_approve 0 t8 alice "fine in context")" 1
	check_eq "t9 deleted" "$(rcli FCALL modq_delete 0 t9 site "by its author")" 1
	stop_modqd
	rcli DEL modq:c:t10 >/dev/null # as if it had expired
	digest=$(dataset_digest)
	keys=$(rcli DBSIZE)
	rcli CONFIG RESETSTAT >/dev/null
	rejudge "$TMP/b.conf" 10
	check_eq "-R 10: exit 0" "$R_RC" 0
	check_eq "-R 10: the comments that would change" "$R_OUT" \
	    "t8	approve	reject	treason	moderator
t11	approve	dead	-
t4	hold	reject	treason
t3	approve	hold	watch
t2	approve	reject	slurs"
	check_eq "-R 10: the summary" "$R_ERR" \
	    "9 re-judged, 5 would change (1 approve→hold, 2 approve→reject, 1 approve→dead, 1 hold→reject), 1 gone"
	check_eq "-R sent only reads" "$(commands_run)" "hmget xrevrange"
	check_eq "-R wrote nothing: same keys" "$(rcli DBSIZE)" "$keys"
	check_eq "-R wrote nothing: same values" "$(dataset_digest)" "$digest"
	rejudge "$TMP/b.conf" 3
	check_eq "-R 3: the three latest" "$R_RC:$R_OUT" "0:t8	approve	reject	treason	moderator
t11	approve	dead	-"
	check_eq "-R 3: the summary" "$R_ERR" \
	    "3 re-judged, 2 would change (1 approve→reject, 1 approve→dead), 0 gone"
	rejudge "$TMP/a.conf" 100
	check_eq "-R with the deciding config: moderators' decisions differ" \
	    "$R_RC:$R_OUT" "0:t8	approve	hold	watch	moderator
t7	reject	approve	-	moderator"
	check_eq "-R with the deciding config: the summary" "$R_ERR" \
	    "9 re-judged, 2 would change (1 approve→hold, 1 reject→approve), 1 gone"
	check_eq "-R wrote nothing after three runs" "$(dataset_digest)" "$digest"
}

# --- 3 pages ---------------------------------------------------------------------

sec_pages() {
	local i
	section "3 pages: -R over 2,100 comments, 4,200 decisions"
	fresh
	# Two decisions for each comment (held, then approved by a person):
	# only the latest of each id counts.
	for i in $(seq 1 2100); do
		echo "HSET modq:c:p$i status approved decided_by bob body \"you moron $i\""
		echo "XADD modq:decisions * id p$i status held reasons x by modqd"
		echo "XADD modq:decisions * id p$i status approved reasons x by bob"
	done | rcli >/dev/null
	rejudge "$TMP/b.conf" 1000000
	check_eq "-R 1000000: every comment once" \
	    "$R_RC:$(wc -l <"$TMP/r.out"):$(cut -f1 "$TMP/r.out" | sort -u | wc -l)" \
	    "0:2100:2100"
	check_eq "-R 1000000: newest first" \
	    "$(head -1 "$TMP/r.out")|$(tail -1 "$TMP/r.out")" \
	    "p2100	approve	reject	slurs	moderator|p1	approve	reject	slurs	moderator"
	check_eq "-R 1000000: the summary" "$R_ERR" \
	    "2100 re-judged, 2100 would change (2100 approve→reject), 0 gone"
	rejudge "$TMP/b.conf" 1500
	check_eq "-R 1500: the newest 1500" \
	    "$R_RC:$(wc -l <"$TMP/r.out"):$(tail -1 "$TMP/r.out" | cut -f1)" \
	    "0:1500:p601"
}

# --- 4 edges ---------------------------------------------------------------------

sec_edges() {
	local n
	section "4 edges: empty Redis, no Redis, bad counts"
	fresh
	rejudge "$TMP/b.conf" 1000000
	check_eq "-R on an empty Redis" "$R_RC:$R_OUT:$R_ERR" \
	    "0::0 re-judged, 0 would change, 0 gone"
	check_eq "-R on an empty Redis wrote nothing" "$(rcli DBSIZE)" 0
	write_conf "$TMP/none.conf" <<EOF
redis: { unix = "$TMP/no-such.sock"; };
EOF
	rejudge "$TMP/none.conf" 10
	check_eq "-R without Redis: exit 1" "$R_RC:$R_OUT" "1:"
	check_match "-R without Redis: why" "$R_ERR" \
	    "^modqd: cannot connect to Redis at $TMP/no-such.sock: "
	for n in 0 1000001 -5 abc 10x "" " 5" +5; do
		rejudge "$TMP/b.conf" "$n"
		check_eq "-R '$n': usage, exit 2" "$R_RC:$R_OUT:$(head -1 "$TMP/r.err")" \
		    "2::modqd: -R $n: not a count from 1 to 1000000"
	done
	"$MODQD" -c "$TMP/b.conf" -R 5 -n >/dev/null 2>&1
	check_eq "-R with -n: usage, exit 2" "$?" 2
	"$MODQD" -c "$TMP/b.conf" -R >/dev/null 2>&1
	check_eq "-R without a count: usage, exit 2" "$?" 2
}

want 1 file && sec_file
want 2 rejudge && sec_rejudge
want 3 pages && sec_pages
want 4 edges && sec_edges

echo "trial: $(($(date +%s) - STARTED)) s"
summary
