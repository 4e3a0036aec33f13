#!/usr/bin/env bash
#
# moderator.sh -- end-to-end tests of the moderator side: the modq_approve,
# modq_reject, modq_author and modq_thread Functions, the modq command and
# author reputation, against a real redis-server and a real modqd.
# Usage: tests/moderator.sh [BUILD_DIR]   (default: build)
#
# The script owns its servers: redis-servers on unix sockets in a mktemp -d
# directory (one also on a loopback TCP port, for -h/-p and passwords), and
# the modqd processes it starts itself.  A trap stops only the PIDs it
# started.  Every wait is a bounded loop.  It prints "N passed, N failed"
# and exits 1 if anything failed.
#
# Sections:
#   1  the Functions: success, every error, and that an error changed
#      nothing (a snapshot of every key, DUMPed, before and after)
#   2  the modq command: every subcommand and flag, hostile bodies
#   3  connection flags: -s -h -p -a --user -n, REDISCLI_AUTH
#   4  clearing a held queue of 100 comments with modq alone
#   5  reputation end to end: premod_until_approved, hold_if_rejected
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
MODQ=$(cd "$(dirname "$BUILD/modq")" && pwd)/modq
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init moderator


section() {
	echo "   ($(($(date +%s%3N) - ${STARTED}000)) ms)"
	echo "== $*"
}

unset MODQ_USER REDISCLI_AUTH

# --- helpers ----------------------------------------------------------------

# Milliseconds since the epoch.
ms() {
	date +%s%3N
}

# Check the exit status and, when given, a string stderr must contain.
check_rc() {
	check_eq "$1: exit status" "$RC" "$2"
	if [ $# -ge 3 ]; then
		case $ERR in
		*"$3"*) ok "$1: message" ;;
		*) not_ok "$1: stderr lacks '$3': '$ERR'" ;;
		esac
	fi
	return 0
}

# Check that a string contains another.
check_has() {
	case $2 in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1: '$3' not in '$2'" ;;
	esac
}

# Check that every stderr line starts with "modq: ".
check_prefixed() {
	if [ -n "$ERR" ] && ! grep -qv '^modq: ' "$TMP/err"; then
		ok "$1: errors prefixed modq:"
	else
		not_ok "$1: stderr not prefixed: '$ERR'"
	fi
}

# Add a comment under a prefix: add PREFIX field value ...
add() {
	local p=$1
	shift
	rcli XADD "$p:incoming" '*' "$@" >/dev/null
}

# Wait (bounded) until comment ID under PREFIX has a status; print it.
status_of() {
	local p=$1 id=$2 end got
	end=$(($(ms) + 10000))
	while :; do
		got=$(rcli --raw HGET "$p:c:$id" status)
		[ -n "$got" ] && break
		[ "$(ms)" -ge "$end" ] && break
		sleep 0.03
	done
	echo "$got"
}

# Wait for a comment's decision and check status and reasons.
check_decided() {
	local p=$1 id=$2
	check_eq "$p comment $id status" "$(status_of "$p" "$id")" "$3"
	[ $# -ge 4 ] && check_eq "$p comment $id reasons" \
	    "$(rcli --raw HGET "$p:c:$id" reasons)" "$4"
	return 0
}

# A time in milliseconds as --plain shows it: ISO 8601, UTC, milliseconds.
iso_ms() {
	printf '%s.%03dZ' "$(date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S)" \
	    $(($1 % 1000))
}

# Wait (bounded) until a command's output equals a value; print the last.
wait_for() {
	local want=$1 end got
	shift
	end=$(($(ms) + 10000))
	while :; do
		got=$("$@")
		[ "$got" = "$want" ] && break
		[ "$(ms)" -ge "$end" ] && break
		sleep 0.05
	done
	echo "$got"
}

# Every key but the incoming streams (whose consumer-group bookkeeping
# modqd updates as it polls), with its type and DUMP, in key order.
MQ_SNAP='local keys = redis.call("KEYS", "*")
table.sort(keys)
local out = {}
for _, k in ipairs(keys) do
	if not string.find(k, ":incoming$") then
		out[#out + 1] = k
		out[#out + 1] = redis.call("TYPE", k).ok
		out[#out + 1] = redis.call("DUMP", k)
	end
end
return out'

snap() {
	rcli --raw EVAL_RO "$MQ_SNAP" 0 >"$1"
}

# Check that the database is what snapshot $2 recorded.
check_unchanged() {
	snap "$TMP/snap.after"
	if cmp -s "$2" "$TMP/snap.after"; then
		ok "$1: nothing changed"
	else
		not_ok "$1: the database changed"
	fi
}

# Call a Function that must fail: fcall_err NAME MESSAGE FCALL-args...;
# checks the error and that nothing changed.
fcall_err() {
	local name=$1 want=$2 out
	shift 2
	snap "$TMP/snap.before"
	out=$(rcli FCALL "$@" 2>&1)
	case $out in
	*"$want"*) ok "$name: error" ;;
	*) not_ok "$name: expected an error with '$want', got '$out'" ;;
	esac
	check_unchanged "$name" "$TMP/snap.before"
}

# The last entry of a stream as "field=value ..." (values without spaces).
last_entry() {
	rcli --raw XREVRANGE "$1" + - COUNT 1 | tail -n +2 | paste -sd' ' - |
	    awk '{ for (i = 1; i < NF; i += 2) printf "%s%s=%s", (i > 1 ? " " : ""), $i, $(i + 1); print "" }'
}

# One field of the last entry of a stream.
last_field() {
	rcli --raw EVAL_RO 'local e = redis.call("XREVRANGE", KEYS[1], "+", "-", "COUNT", 1)
if #e == 0 then return "" end
for i = 1, #e[1][2], 2 do
	if e[1][2][i] == ARGV[1] then return e[1][2][i + 1] end
end
return ""' 1 "$1" "$2"
}

# --- servers ----------------------------------------------------------------

start_redis "$TMP" "$SOCK" || {
	echo "moderator: cannot start redis-server"
	exit 1
}

write_conf "$TMP/mod.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 2000; };
queue: { claim_idle_ms = 1000; trim = false; }; # "stats" compares XLEN
keywords: (
  { name = "slurs"; action = "reject"; words = [ "ass", "shit" ]; },
  { name = "watch"; action = "hold";   words = [ "traitor" ]; },
  { name = "links"; action = "hold";   match = "substring"; words = [ "bit.ly/" ]; }
);
EOF
start_modqd "$TMP/mod.conf" "$TMP/mod.log" || exit 1

# A body no shell may interpret: newlines, quotes, command substitutions,
# backticks, variables, a tab, backslashes, non-ASCII in several scripts.
EVIL='you traitor
line "two" with '\''single'\'' quotes
$(touch '"$TMP"'/pwned) `touch '"$TMP"'/pwned2` ${HOME} $$ \n \\ back\slash	tab
non-ASCII: é ü ß 中文 😀 עברית кириллица
; rm -rf / #'

# --- 1. the Functions -------------------------------------------------------

section "1 Functions"

add modq id f1 author fa thread ft body "one traitor here"
add modq id f2 author fa thread ft body "a clean comment"
add modq id f3 author fa thread ft body "you ass"
check_decided modq f1 held watch
check_decided modq f2 approved ""
check_decided modq f3 rejected slurs
check_eq "daemon counts per author" \
    "$(rcli --raw HMGET modq:author:fa approved held rejected | paste -sd' ' -)" \
    "1 1 1"

check_eq "approve a held comment" \
    "$(rcli --raw FCALL modq_approve 0 f1 alice "fine in context")" 1
check_eq "approved: status" "$(rcli --raw HGET modq:c:f1 status)" approved
check_eq "approved: decided_by" "$(rcli --raw HGET modq:c:f1 decided_by)" alice
check_eq "approved: note" "$(rcli --raw HGET modq:c:f1 note)" "fine in context"
check_eq "approved: out of the held set" "$(rcli ZSCORE modq:held f1)" ""
check_eq "approved: decisions entry" "$(last_entry modq:decisions)" \
    "id=f1 status=approved reasons=watch by=alice"
check_eq "approved: audit entry" \
    "$(rcli --raw XREVRANGE modq:audit + - COUNT 1 | tail -n +2 | paste -sd'|' -)" \
    "id|f1|action|approve|by|alice|note|fine in context|was|held"
check_eq "approved: author counters moved" \
    "$(rcli --raw HMGET modq:author:fa approved held rejected | paste -sd' ' -)" \
    "2 0 1"
check_eq "approved: stats moderated" "$(rcli --raw HGET modq:stats moderated)" 1

snap "$TMP/snap.before"
check_eq "approve again: 0" "$(rcli --raw FCALL modq_approve 0 f1 bob)" 0
check_unchanged "approve again" "$TMP/snap.before"

check_eq "reject an approved comment" \
    "$(rcli --raw FCALL modq_reject 0 f1 bob)" 1
check_eq "rejected: status and no note" \
    "$(rcli --raw HMGET modq:c:f1 status decided_by note | paste -sd' ' -)" \
    "rejected bob "
check_eq "rejected: author counters" \
    "$(rcli --raw HMGET modq:author:fa approved held rejected | paste -sd' ' -)" \
    "1 0 2"

f3_at=$(rcli --raw HGET modq:c:f3 decided_at)
check_eq "appeal: approve a rejected comment" \
    "$(rcli --raw FCALL modq_approve 0 f3 carol "appeal upheld")" 1
check_eq "appeal: status" "$(rcli --raw HGET modq:c:f3 status)" approved
check_eq "appeal: audited with the old status" \
    "$(last_field modq:audit action)/$(last_field modq:audit was)/$(last_field modq:audit by)" \
    "approve/rejected/carol"
check_eq "appeal: judged_at keeps modqd's time" \
    "$(rcli --raw HGET modq:c:f3 judged_at)" "$f3_at"

# Errors: each is refused and changes nothing.
fcall_err "approve unknown id" "no comment nosuch" modq_approve 0 nosuch alice
fcall_err "reject unknown id" "no comment nosuch" modq_reject 0 nosuch alice note
fcall_err "approve without moderator" "moderator name is required" \
    modq_approve 0 f2 ""
fcall_err "reject without moderator" "wrong number of arguments" \
    modq_reject 0 f2
fcall_err "approve with no arguments" "wrong number of arguments" modq_approve 0
fcall_err "approve with too many arguments" "wrong number of arguments" \
    modq_approve 0 f2 alice note extra
fcall_err "approve with a key that is no site's prefix" \
    "unknown prefix 'f2': no modqd has set it up" modq_approve 1 f2 alice note
fcall_err "approve with two keys" "wrong number of keys" \
    modq_approve 2 modq modq f2 alice
fcall_err "approve a bad id" "bad comment id" modq_approve 0 'f2 x' alice
fcall_err "moderator name with a newline" "bad moderator name" \
    modq_reject 0 f2 $'al\nice'
fcall_err "note too long" "note longer" \
    modq_reject 0 f2 alice "$(head -c 5000 /dev/zero | tr '\0' x)"
fcall_err "author: bad state" "bad author state" modq_author 0 fa sainted alice
fcall_err "author: no moderator" "moderator name is required" \
    modq_author 0 fa banned ""
fcall_err "author: wrong count" "wrong number of arguments" \
    modq_author 0 fa banned
fcall_err "author: empty author" "empty author" modq_author 0 "" banned alice
fcall_err "thread: bad state" "bad thread state" modq_thread 0 ft locked alice
fcall_err "thread: author state" "bad thread state" modq_thread 0 ft banned alice
fcall_err "thread: no moderator" "moderator name is required" \
    modq_thread 0 ft closed ""
fcall_err "thread: empty thread" "empty thread" modq_thread 0 "" closed alice
fcall_err "thread: wrong count" "wrong number of arguments" \
    modq_thread 0 ft closed alice note extra

# Author and thread ids are checked as modqd checks them in an entry:
# 1-128 bytes of UTF-8, no space, control, format or separator character.
# Each refusal is the exact reply, and changes nothing.
fcall_exact() {
	local name=$1 want=$2 out
	shift 2
	snap "$TMP/snap.before"
	out=$(rcli --raw FCALL "$@" 2>&1)
	check_eq "$name: reply" "$out" "$want"
	check_unchanged "$name" "$TMP/snap.before"
}
BADID="(1 to 256 bytes of UTF-8 without control characters)"
LONG257=$(printf 'x%.0s' $(seq 1 257))
fcall_exact "author id with a newline" \
    "ERR modq: bad author id 'fa\x0ax' $BADID" modq_author 0 $'fa\nx' banned alice
fcall_exact "author id with ESC" \
    "ERR modq: bad author id 'a\x1b[2J' $BADID" modq_author 0 $'a\e[2J' banned alice
fcall_exact "author id with DEL" \
    "ERR modq: bad author id 'a\x7f' $BADID" modq_author 0 $'a\x7f' trusted alice
fcall_exact "author id of 257 bytes" \
    "ERR modq: bad author id '$(printf 'x%.0s' $(seq 1 64))...' $BADID" \
    modq_author 0 "$LONG257" banned alice
fcall_exact "author id not UTF-8" \
    "ERR modq: bad author id 'a\xff' $BADID" modq_author 0 $'a\xff' banned alice
fcall_exact "author id, overlong UTF-8" \
    "ERR modq: bad author id '\xc0\xaf' $BADID" modq_author 0 $'\xc0\xaf' banned alice
fcall_exact "author id, a surrogate" \
    "ERR modq: bad author id '\xed\xa0\x80' $BADID" \
    modq_author 0 $'\xed\xa0\x80' banned alice
fcall_exact "author id, truncated UTF-8" \
    "ERR modq: bad author id 'a\xe4\xb8' $BADID" modq_author 0 $'a\xe4\xb8' banned alice
fcall_exact "author id with a C1 control" \
    "ERR modq: bad author id 'a\xc2\x85' $BADID" modq_author 0 $'a\xc2\x85' banned alice
fcall_exact "author id with a right-to-left override" \
    "ERR modq: bad author id '\xe2\x80\xaeadmin' $BADID" \
    modq_author 0 $'\xe2\x80\xaeadmin' banned alice
fcall_exact "author id with a zero-width space" \
    "ERR modq: bad author id 'ad\xe2\x80\x8bmin' $BADID" \
    modq_author 0 $'ad\xe2\x80\x8bmin' banned alice
fcall_exact "author id with a byte-order mark" \
    "ERR modq: bad author id '\xef\xbb\xbfa' $BADID" \
    modq_author 0 $'\xef\xbb\xbfa' banned alice
fcall_exact "author id with a tag character" \
    "ERR modq: bad author id 'a\xf3\xa0\x80\x81' $BADID" \
    modq_author 0 $'a\xf3\xa0\x80\x81' banned alice
fcall_exact "thread id with a tab" \
    "ERR modq: bad thread id 't\x09x' $BADID" modq_thread 0 $'t\tx' closed alice
fcall_exact "thread id with a line separator" \
    "ERR modq: bad thread id 't\xe2\x80\xa8' $BADID" \
    modq_thread 0 $'t\xe2\x80\xa8' closed alice
check_eq "author id of 256 bytes" \
    "$(rcli --raw FCALL modq_author 0 "${LONG257:1}" banned alice)" 1
# Spaces are allowed, as in a stream entry's author and thread.
check_eq "author id with a space" \
    "$(rcli --raw FCALL modq_author 0 'John Smith' premod alice)" 1
check_eq "author id with a no-break space" \
    "$(rcli --raw FCALL modq_author 0 $'a\xc2\xa0b' premod alice)" 1
check_eq "thread id with an ideographic space" \
    "$(rcli --raw FCALL modq_thread 0 $'t\xe3\x80\x80x' closed alice)" 1
check_eq "author id in other scripts" \
    "$(rcli --raw FCALL modq_author 0 'Zoë-中文-😀' premod alice)" 1
check_eq "thread id in other scripts" \
    "$(rcli --raw FCALL modq_thread 0 'נושא-кириллица' premod alice)" 1

# A key of the wrong type is refused before anything is written.
add modq id f4 author fb thread ft body "traitor again"
check_decided modq f4 held watch
rcli RENAME modq:audit modq:audit.real >/dev/null
rcli SET modq:audit oops >/dev/null
fcall_err "audit key of the wrong type" "not a stream" modq_approve 0 f4 alice
fcall_err "author action, audit of the wrong type" "not a stream" \
    modq_author 0 fb banned alice
rcli DEL modq:audit >/dev/null
rcli RENAME modq:audit.real modq:audit >/dev/null
rcli RENAME modq:held modq:held.real >/dev/null
rcli SET modq:held oops >/dev/null
fcall_err "held key of the wrong type" "not a zset" modq_reject 0 f4 alice
rcli DEL modq:held >/dev/null
rcli RENAME modq:held.real modq:held >/dev/null

# A counter that is not a number does not stop the action half-way.
rcli HSET modq:author:fb held notanumber >/dev/null
alen=$(rcli XLEN modq:audit)
check_eq "non-numeric counter: action done" \
    "$(rcli --raw FCALL modq_reject 0 f4 alice)" 1
check_eq "non-numeric counter: whole action written" \
    "$(rcli --raw HGET modq:c:f4 status)/$(rcli ZSCORE modq:held f4)/$(($(rcli XLEN modq:audit) - alen))/$(rcli --raw HMGET modq:author:fb held rejected | paste -sd, -)" \
    "rejected//1/notanumber,1"

# Author and thread states.
check_eq "author banned" "$(rcli --raw FCALL modq_author 0 fb banned alice spam)" 1
check_eq "author trust field" "$(rcli --raw HGET modq:author:fb trust)" banned
check_eq "author audit" \
    "$(last_field modq:audit id)/$(last_field modq:audit action)/$(last_field modq:audit note)" \
    "fb/author:banned/spam"
snap "$TMP/snap.before"
check_eq "author banned again: 0" \
    "$(rcli --raw FCALL modq_author 0 fb banned alice)" 0
check_unchanged "author unchanged" "$TMP/snap.before"
add modq id f5 author fb body "perfectly fine"
check_decided modq f5 rejected author-banned
check_eq "author cleared" "$(rcli --raw FCALL modq_author 0 fb clear alice)" 1
check_eq "author trust gone" "$(rcli HEXISTS modq:author:fb trust)" 0
check_eq "author trusted" "$(rcli --raw FCALL modq_author 0 fb trusted alice)" 1
add modq id f6 author fb body "traitor talk"
check_decided modq f6 approved "watch author-trusted"
rcli --raw FCALL modq_author 0 fb premod alice >/dev/null
add modq id f7 author fb body "fine words"
check_decided modq f7 held author-premod
rcli --raw FCALL modq_author 0 fb clear alice >/dev/null

check_eq "thread closed" "$(rcli --raw FCALL modq_thread 0 tc closed alice "flame war")" 1
check_eq "thread mode field" "$(rcli --raw HGET modq:thread:tc mode)" closed
check_eq "thread audit" \
    "$(last_field modq:audit id)/$(last_field modq:audit action)/$(last_field modq:audit note)" \
    "tc/thread:closed/flame war"
add modq id f8 author fc thread tc body "hello"
check_decided modq f8 rejected thread-closed
rcli --raw FCALL modq_thread 0 tc premod alice >/dev/null
add modq id f9 author fc thread tc body "hello again"
check_decided modq f9 held thread-premod
check_eq "thread opened" "$(rcli --raw FCALL modq_thread 0 tc open alice)" 1
check_eq "thread mode gone" "$(rcli HEXISTS modq:thread:tc mode)" 0
snap "$TMP/snap.before"
check_eq "thread open again: 0" "$(rcli --raw FCALL modq_thread 0 tc open alice)" 0
check_unchanged "thread unchanged" "$TMP/snap.before"

# --- 2. the modq command ----------------------------------------------------

section "2 modq command"

mq --version
check_rc "--version" 0
check_true "--version: modq and a version" grep -Eq '^modq [0-9]+\.[0-9]+' "$TMP/out"
mq --help
check_rc "--help" 0
check_has "--help lists commands" "$OUT" "approve ID"
mq help
check_rc "help" 0
check_has "help lists tail" "$OUT" "tail"
mq
check_rc "no command" 2 "modq: no command given"
mq frobnicate
check_rc "unknown command" 2 "modq: unknown command"
mq held --frob
check_rc "unknown option" 2 "modq: unknown option --frob"
check_prefixed "unknown option"
mq held --note x
check_rc "option that does not apply" 2 "modq: --note does not apply"
mq held --limit x
check_rc "bad --limit" 2 "modq: --limit: not a number"
mq held extra
check_rc "held takes no arguments" 2 "modq: held: wrong number"

# Clear what section 1 left held, then build a known queue.
for id in $(rcli --raw ZRANGE modq:held 0 -1); do
	rcli FCALL modq_reject 0 "$id" setup >/dev/null
done
add modq id h1 author "ann" thread tA body "$EVIL"
check_decided modq h1 held watch
sleep 0.02
add modq id h2 author "bob" thread tB body "see bit.ly/x traitor"
check_decided modq h2 held "watch links"
add modq id h3 author "ann" thread tA body "traitor 3"
check_decided modq h3 held watch

mq held
check_rc "held" 0
check_eq "held: one line per comment, oldest first" \
    "$(cut -f1 "$TMP/out" | paste -sd' ' -)" "h1 h2 h3"
check_eq "held: six tab-separated columns" \
    "$(awk -F'\t' '{ print NF }' "$TMP/out" | sort -u)" 6
check_eq "held: author, thread, reasons" \
    "$(sed -n 2p "$TMP/out" | cut -f3-5)" "$(printf 'bob\ttB\twatch links')"
check_true "held: age like 5s/3m/2h" \
    grep -Eq '^h1	[0-9]+[smhd]	' "$TMP/out"
check_has "held: body start on one line, escaped" \
    "$(head -n 1 "$TMP/out" | cut -f6)" 'you traitor\nline "two"'
check_has "held: non-ASCII kept" "$(head -n 1 "$TMP/out")" "中文"
mq held --limit 2
check_eq "held --limit" "$(cut -f1 "$TMP/out" | paste -sd' ' -)" "h1 h2"
mq held --thread tA
check_eq "held --thread" "$(cut -f1 "$TMP/out" | paste -sd' ' -)" "h1 h3"
mq held --thread=tB --limit=5
check_eq "held --thread=T --limit=N" "$(cut -f1 "$TMP/out")" "h2"
mq held --table
check_true "held --table: header" grep -q '^ID  *AGE  *AUTHOR  *THREAD  *REASONS  *BODY$' "$TMP/out"
check_eq "held --table: columns aligned" \
    "$(grep '^h' "$TMP/out" | awk '{ print index($0, $3) }' | sort -u | wc -l)" 1
check_true "held --table: footer" grep -q '3 held' "$TMP/out"
mq --table held --thread nosuch
check_true "held --table: nothing in that thread" grep -q 'no held comments' "$TMP/out"
script -qec "$(printf '%q ' "$MODQ" -s "$SOCK" held)" /dev/null \
    >"$TMP/tty.out" 2>&1 </dev/null
check_true "held on a terminal: a table" grep -q '^ID  *AGE' "$TMP/tty.out"
script -qec "$(printf '%q ' "$MODQ" -s "$SOCK" --plain held)" /dev/null \
    >"$TMP/tty.out" 2>&1 </dev/null
check_true "held --plain on a terminal: tabs" grep -q "^h1	" "$TMP/tty.out"

mq show h1
check_rc "show" 0
check_true "show: header fields" grep -q "^status	held$" "$TMP/out"
check_true "show: author" grep -q "^author	ann$" "$TMP/out"
check_eq "show: held_at in ISO 8601, UTC" "$(grep '^held_at	' "$TMP/out")" \
    "held_at	$(iso_ms "$(rcli --raw ZSCORE modq:held h1)")"
check_eq "show: decided_at in ISO 8601, UTC" "$(grep '^decided_at	' "$TMP/out")" \
    "decided_at	$(iso_ms "$(rcli --raw HGET modq:c:h1 decided_at)")"
check_eq "show: a held record does not expire" \
    "$(grep -c '^expires_at' "$TMP/out"):$(rcli TTL modq:c:h1)" "0:-1"
rcli HSET modq:c:h1 created_at 1733100000 >/dev/null
mq show h1
check_true "show: a site's own *_at field as sent" \
    grep -q "^created_at	1733100000$" "$TMP/out"
mq --table show h1
check_true "show --table: a site's own *_at field as sent" \
    grep -Eq "^created_at +1733100000$" "$TMP/out"
rcli HDEL modq:c:h1 created_at >/dev/null
printf '%s\n' "$EVIL" >"$TMP/evil.want"
sed '1,/^$/d' "$TMP/out" >"$TMP/evil.got"
check_true "show: body intact after the header" cmp -s "$TMP/evil.want" "$TMP/evil.got"
mq show h1 --body
printf '%s' "$EVIL" >"$TMP/evil.want"
check_true "show --body: exact bytes" cmp -s "$TMP/evil.want" "$TMP/out"
mq show h1 --table
check_true "show --table: aligned" grep -Eq '^status +held$' "$TMP/out"
check_true "show --table: readable time" \
    grep -Eq '^held_at +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \(' "$TMP/out"
sed '1,/^$/d' "$TMP/out" >"$TMP/evil.got"
printf '%s\n' "$EVIL" >"$TMP/evil.want"
check_true "show --table: body intact" cmp -s "$TMP/evil.want" "$TMP/evil.got"
# A reader that stops early (head) ends modq as it ends cat: by SIGPIPE,
# without a message, also when SIGPIPE came ignored.
seq -f 'line %g of a long body' 1 20000 | rcli -x HSET modq:c:long body >/dev/null
rcli HSET modq:c:long status held author ann >/dev/null
"$MODQ" -s "$SOCK" show long 2>"$TMP/err" | head -3 >"$TMP/out"
check_eq "show | head -3: killed by SIGPIPE" "${PIPESTATUS[0]}" 141
check_eq "show | head -3: no message" "$(cat "$TMP/err")" ""
check_eq "show | head -3: the first three lines" "$(cat "$TMP/out")" \
    "$(printf 'id\tlong\nstatus\theld\nauthor\tann')"
(
	trap '' PIPE
	"$MODQ" -s "$SOCK" show long 2>"$TMP/err" | head -1 >/dev/null
	echo "${PIPESTATUS[0]}" >"$TMP/rc"
)
check_eq "show | head, SIGPIPE ignored: killed by SIGPIPE" "$(cat "$TMP/rc")" 141
check_eq "show | head, SIGPIPE ignored: no message" "$(cat "$TMP/err")" ""
rcli DEL modq:c:long >/dev/null
rcli HSET modq:c:h2 x-esc $'bell\aand\033[31mred' >/dev/null
script -qec "$(printf '%q ' "$MODQ" -s "$SOCK" show h2)" /dev/null \
    >"$TMP/tty.out" 2>&1 </dev/null
check_true "show on a terminal: control characters escaped" \
    grep -q 'bell\\x07and\\x1b\[31mred' "$TMP/tty.out"
check_eq "show on a terminal: no raw escape" \
    "$(tr -d '\r' <"$TMP/tty.out" | grep -c $'\033')" 0
# A hostile record: terminal escapes (clear screen, an OSC 52 clipboard
# write, a C1 CSI) and bidi controls in the body and in a field.  On a
# terminal every view escapes them, --plain and --body too; piped, the
# bytes are written as they are.
HOSTILE=$'clear\e[2J osc\e]52;c;cm0gLXJmIH4=\a c1\xc2\x9b31m rlo\xe2\x80\xaeevil\xe2\x80\xac lri\xe2\x81\xa6x\xe2\x81\xa9 rlm\xe2\x80\x8f del\x7f end'
rcli HSET modq:c:esc1 status held author $'ann\e[8m' body "$HOSTILE" >/dev/null
for v in "--plain show esc1" "show esc1" "show esc1 --body" \
    "--plain show esc1 --body" "--table show esc1"; do
	# shellcheck disable=SC2086
	script -qec "$(printf '%q ' "$MODQ" -s "$SOCK" $v)" /dev/null \
	    >"$TMP/tty.out" 2>&1 </dev/null
	check_eq "$v on a terminal: no raw ESC, C1 or bidi control" \
	    "$(LC_ALL=C grep -c $'\e\\|\xc2\x9b\\|\xe2\x80[\x8f\xac\xae]\\|\xe2\x81[\xa6\xa9]\\|\x7f' "$TMP/tty.out")" 0
	check_true "$v on a terminal: escapes shown" \
	    grep -qF 'clear\x1b[2J osc\x1b]52;c;cm0gLXJmIH4=\x07 c1\u009b31m rlo\u202eevil\u202c lri\u2066x\u2069 rlm\u200f del\x7f end' "$TMP/tty.out"
done
script -qec "$(printf '%q ' "$MODQ" -s "$SOCK" --plain show esc1)" /dev/null \
    >"$TMP/tty.out" 2>&1 </dev/null
check_true "--plain show on a terminal: fields escaped" \
    grep -qF 'ann\x1b[8m' "$TMP/tty.out"
mq show esc1 --body
printf '%s' "$HOSTILE" >"$TMP/hostile.want"
check_true "show --body piped: raw bytes" cmp -s "$TMP/hostile.want" "$TMP/out"
mq --plain show esc1
printf '%s\n' "$HOSTILE" >"$TMP/hostile.want"
sed '1,/^$/d' "$TMP/out" >"$TMP/hostile.got"
check_true "show piped: raw body" cmp -s "$TMP/hostile.want" "$TMP/hostile.got"
rcli DEL modq:c:esc1 >/dev/null
printf 'HSET modq:c:nul status held body "a\\x00b\\x01c"\n' | rcli >/dev/null
mq show nul --body
check_eq "show --body: a NUL byte survives" \
    "$(od -An -c "$TMP/out" | tr -s ' ')" " a \\0 b 001 c"
mq show nosuch
check_rc "show unknown id" 1 "modq: no comment nosuch"
mq show 'bad id'
check_rc "show bad id" 2 "modq: not a comment id"
mq show
check_rc "show without id" 2 "modq: show: wrong number"

# Actions need a moderator; nothing is changed without one.
snap "$TMP/snap.before"
mq approve h1
check_rc "approve without a moderator" 2 "modq: no moderator name"
check_unchanged "approve without a moderator" "$TMP/snap.before"
mq --as alice approve h1 'fine in context'
check_rc "a note as an id" 2 "use --note"
check_unchanged "a note as an id" "$TMP/snap.before"

mq --as alice approve h1 --note "it's \"fine\" \$(x)"
check_rc "approve" 0
check_eq "approve: result line" "$OUT" "$(printf 'h1\tapproved')"
check_eq "approve: record" \
    "$(rcli --raw HMGET modq:c:h1 status decided_by note | paste -sd'|' -)" \
    "approved|alice|it's \"fine\" \$(x)"
check_range "approve: the record expires decisions.ttl_days after it" \
    "$(rcli TTL modq:c:h1)" $((30 * 86400 - 60)) $((30 * 86400))
mq show h1
check_true "approve: show tells when it expires" \
    grep -Eq '^expires_at	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$' "$TMP/out"
MODQ_USER=envmod "$MODQ" -s "$SOCK" reject h2 >"$TMP/out" 2>"$TMP/err"
check_eq "MODQ_USER names the moderator" \
    "$?:$(rcli --raw HGET modq:c:h2 decided_by)" "0:envmod"
MODQ_USER=envmod "$MODQ" -s "$SOCK" --as=flagmod reject h2 h3 nosuch \
    >"$TMP/out" 2>"$TMP/err"
RC=$?
ERR=$(cat "$TMP/err")
check_rc "reject several, one unknown" 1 "modq: no comment nosuch"
check_prefixed "reject several"
check_eq "reject several: one line per id" "$(cat "$TMP/out")" \
    "$(printf 'h2\talready rejected\nh3\trejected')"
check_eq "--as beats MODQ_USER" "$(rcli --raw HGET modq:c:h3 decided_by)" flagmod
mq --as alice --table approve h2
check_eq "approve --table: aligned line" "$RC:$OUT" "0:h2  approved"
check_eq "approve a rejected comment via modq (appeal)" \
    "$(last_field modq:audit was)" rejected
check_eq "audit names the moderator" "$(last_field modq:audit by)" alice
mq --as bob reject -- h2
check_eq "-- ends the options" "$RC:$(rcli --raw HGET modq:c:h2 decided_by)" "0:bob"

# Any bytes in a note; any printable ones in a moderator name (at most
# 128 bytes).
NOTE_ALL=$(for i in $(seq 1 255); do printf "\\$(printf %03o "$i")"; done)
NAME_ALL="$(for i in $(seq 32 126); do printf "\\$(printf %03o "$i")"; done) Zoë 中文"
mq --as "$NAME_ALL" approve h2 --note "$NOTE_ALL"
check_rc "every byte in a note and a name" 0
printf '%s\n' "$NOTE_ALL" >"$TMP/note.want"
rcli --raw HGET modq:c:h2 note >"$TMP/note.got"
check_true "every byte of the note stored" cmp -s "$TMP/note.want" "$TMP/note.got"
printf '%s\n' "$NAME_ALL" >"$TMP/name.want"
rcli --raw HGET modq:c:h2 decided_by >"$TMP/name.got"
check_true "every byte of the name stored" cmp -s "$TMP/name.want" "$TMP/name.got"
mq --as $'bad\x01name' reject h2
check_rc "a control character in a name" 1 "bad moderator name"
check_eq "a control character in a name: nothing done" \
    "$(rcli --raw HGET modq:c:h2 status)" approved
mq author ann
check_rc "author (show)" 0
check_true "author: counters" grep -q "^approved	1$" "$TMP/out"
check_true "author: trust unset" grep -q "^trust	-$" "$TMP/out"
mq --as alice author ann premod --note "new account"
check_eq "author premod" "$RC:$OUT" "$(printf '0:ann\tpremod')"
check_eq "author premod: stored" "$(rcli --raw HGET modq:author:ann trust)" premod
check_eq "author premod: audit note" "$(last_field modq:audit note)" "new account"
mq --as alice author ann premod
check_eq "author unchanged" "$RC:$OUT" "$(printf '0:ann\talready premod')"
mq --as alice author ann sainted
check_rc "author bad state" 2 "modq: author state must be"
mq author ann banned
check_rc "author without a moderator" 2 "modq: no moderator name"
mq --as alice author ann clear
check_eq "author clear" "$(rcli HEXISTS modq:author:ann trust)" 0
mq --as alice thread tA closed --note "legal"
check_eq "thread closed" "$RC:$(rcli --raw HGET modq:thread:tA mode)" "0:closed"
mq thread tA
check_true "thread (show)" grep -q "^mode	closed$" "$TMP/out"
mq --as alice thread tA open
check_eq "thread open" "$RC:$(rcli HEXISTS modq:thread:tA mode)" "0:0"
mq thread tA
check_true "thread (show) open" grep -q "^mode	open$" "$TMP/out"
mq --as alice thread tA shut
check_rc "thread bad state" 2 "modq: thread state must be"

# A held id whose record is gone (expired) is listed as such.
rcli ZADD modq:held 1 ghost >/dev/null
mq held
check_true "held: an expired record" grep -q "^ghost	.*no record" "$TMP/out"
mq --as alice reject ghost
check_rc "reject an expired record" 1 "modq: no comment ghost"
rcli ZREM modq:held ghost nul >/dev/null
rcli DEL modq:c:nul >/dev/null

# Dead letters.
D1=$(rcli XADD modq:incoming '*' author x body "no id here")
D2=$(rcli XADD modq:incoming '*' id d2 author x)
wait_for 2 rcli XLEN modq:dead >/dev/null
mq dead
check_rc "dead" 0
check_eq "dead: one line each" "$(wc -l <"$TMP/out")" 2
check_eq "dead: the comments' entries in the incoming stream" \
    "$(cut -f1 "$TMP/out" | paste -sd' ' -)" "$D1 $D2"
check_eq "dead: the dead letters' own ids, for modq_retry" \
    "$(cut -f5 "$TMP/out" | paste -sd' ' -)" \
    "$(rcli --raw EVAL_RO 'local o = {}
for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do o[#o + 1] = e[1] end
return o' 1 modq:dead | paste -sd' ' -)"
DEAD2=$(rcli --raw XREVRANGE modq:dead + - COUNT 1 | head -n 1)
check_eq "dead: when it became a dead letter, ISO 8601, UTC" \
    "$(sed -n 2p "$TMP/out" | cut -f2)" "$(iso_ms "${DEAD2%-*}")"
check_true "dead: missing id" grep -q "	missing field: id	" "$TMP/out"
check_true "dead: missing body" grep -q "	missing field: body	d2	" "$TMP/out"
mq dead --limit 1
check_eq "dead --limit" "$(cut -f3 "$TMP/out")" "missing field: body"
mq dead --table
check_true "dead --table: header" \
    grep -q "^ENTRY  *TIME  *ERROR  *ID  *DEAD  *BODY$" "$TMP/out"

# Stats.
mq stats
check_rc "stats" 0
for f in processed approved held rejected dead moderated; do
	check_eq "stats $f" "$(grep "^$f	" "$TMP/out" | cut -f2)" \
	    "$(rcli --raw HGET modq:stats "$f")"
done
check_eq "stats held_now" "$(grep "^held_now	" "$TMP/out" | cut -f2)" \
    "$(rcli ZCARD modq:held)"
check_eq "stats stream_length" "$(grep "^stream_length	" "$TMP/out" | cut -f2)" \
    "$(rcli XLEN modq:incoming)"
check_eq "stats backlog: every entry decided, none left" \
    "$(grep "^backlog	" "$TMP/out" | cut -f2)" 0
check_eq "stats pending" "$(grep "^pending	" "$TMP/out" | cut -f2)" \
    "$(rcli --raw XPENDING modq:incoming modqd | head -n 1)"
grep '^rule:' "$TMP/out" | cut -f2 >"$TMP/rules"
check_true "stats: top rules, most hits first" \
    sh -c "sort -rn '$TMP/rules' | cmp -s - '$TMP/rules' && [ -s '$TMP/rules' ]"
check_eq "stats: rule:watch" "$(grep '^rule:watch	' "$TMP/out" | cut -f2)" \
    "$(rcli --raw HGET modq:stats rule:watch)"
mq stats --limit 1
check_eq "stats --limit" "$(grep -c '^rule:' "$TMP/out")" 1
mq stats --stream nosuch
check_eq "stats --stream" "$(grep -E '^(stream_length|backlog|pending)	' "$TMP/out" | cut -f2 | paste -sd' ' -)" "0 - -"
mq stats --group=nosuch
check_eq "stats --group" "$(grep '^pending	' "$TMP/out" | cut -f2)" "-"
rcli XADD modq:side '*' a b >/dev/null
rcli XGROUP CREATE modq:side g 0 >/dev/null
rcli XREADGROUP GROUP g worker1 COUNT 1 STREAMS modq:side '>' >/dev/null
rcli XADD modq:side '*' a b >/dev/null
rcli XADD modq:side '*' a b >/dev/null
mq stats --stream side --group g
check_eq "stats --stream --group: length, backlog, pending, per consumer" \
    "$(grep -E '^(stream_length|backlog|pending|pending:worker1)	' "$TMP/out" | cut -f2 | paste -sd' ' -)" \
    "3 3 1 1"
rcli XACK modq:side g "$(rcli XRANGE modq:side - + COUNT 1 | head -n 1)" >/dev/null
mq stats --stream side --group g
check_eq "stats: an acknowledged entry leaves the backlog, not the stream" \
    "$(grep -E '^(stream_length|backlog|pending)	' "$TMP/out" | cut -f2 | paste -sd' ' -)" \
    "3 2 0"
rcli XTRIM modq:side MAXLEN 2 >/dev/null
mq stats --stream side --group g
check_eq "stats: trimmed, the stream is the backlog" \
    "$(grep -E '^(stream_length|backlog)	' "$TMP/out" | cut -f2 | paste -sd' ' -)" \
    "2 2"
rcli DEL modq:side >/dev/null
mq stats --table
check_true "stats --table" grep -Eq '^held_now +[0-9]+$' "$TMP/out"

# The views are read-only Functions: redis-cli gets what modq prints.
mq --plain held --limit 0
rcli --raw FCALL_RO modq_held 0 0 | tail -n +2 | paste -d'\t' - - - - - - \
    >"$TMP/ro.out"
check_true "FCALL_RO modq_held: the rows of modq held" \
    cmp -s "$TMP/out" "$TMP/ro.out"
check_eq "FCALL_RO modq_held: the number held first" \
    "$(rcli --raw FCALL_RO modq_held 0 1 | head -n 1)" "$(rcli ZCARD modq:held)"
mq stats
rcli --raw FCALL_RO modq_stats 0 | paste -d'\t' - - >"$TMP/ro.out"
check_true "FCALL_RO modq_stats: modq stats" cmp -s "$TMP/out" "$TMP/ro.out"
mq dead
check_eq "FCALL_RO modq_dead: one entry per dead letter" \
    "$(rcli --raw FCALL_RO modq_dead 0 | wc -l)" "$(($(wc -l <"$TMP/out") * 5))"
mq author ann
rcli --raw FCALL_RO modq_show_author 0 ann | paste -d'\t' - - >"$TMP/ro.out"
check_true "FCALL_RO modq_show_author: modq author" cmp -s "$TMP/out" "$TMP/ro.out"
check_eq "FCALL_RO modq_show_thread" \
    "$(rcli --raw FCALL_RO modq_show_thread 0 tA | paste -sd' ' -)" "thread tA mode open"
check_eq "FCALL_RO modq_show: no such comment" \
    "$(rcli --raw FCALL_RO modq_show 0 nosuch)" ""
check_eq "FCALL_RO modq_tail: the last decision" \
    "$(rcli --raw FCALL_RO modq_tail 0 '$')" \
    "$(rcli --raw XREVRANGE modq:decisions + - COUNT 1 | head -n 1)"
check_has "FCALL_RO modq_held: a bad limit" \
    "$(rcli FCALL_RO modq_held 0 x 2>&1)" "ERR modq: usage: FCALL_RO modq_held"
check_has "FCALL_RO refuses an action" \
    "$(rcli FCALL_RO modq_approve 0 h1 alice 2>&1)" "write flag"
# On a terminal a byte that is not UTF-8 is shown as \xHH too.
rcli HSET modq:c:bin status approved author $'a\xffb' body $'x\xfe\x9by' >/dev/null
script -qec "$(printf '%q ' "$MODQ" -s "$SOCK" show bin)" /dev/null \
    >"$TMP/tty.out" 2>&1 </dev/null
check_true "show on a terminal: a field not UTF-8 escaped" \
    grep -qF 'a\xffb' "$TMP/tty.out"
check_true "show on a terminal: a body not UTF-8 escaped" \
    grep -qF 'x\xfe\x9by' "$TMP/tty.out"
rcli DEL modq:c:bin >/dev/null

# tail: follows decisions live, stops on Ctrl-C (SIGINT to its process
# group, as a terminal sends it).
set -m
"$MODQ" -s "$SOCK" tail >"$TMP/tail.out" 2>"$TMP/tail.err" &
TAIL_PID=$!
set +m
PIDS+=("$TAIL_PID")
wait_for 1 sh -c "redis-cli -s '$SOCK' CLIENT LIST | grep -c 'cmd=xread '" >/dev/null
add modq id t1 author tt body "tail one"
add modq id t2 author tt body "tail traitor"
check_decided modq t2 held
"$MODQ" -s "$SOCK" --as tailmod reject t2 >/dev/null
check_eq "tail: three lines" \
    "$(wait_for 3 sh -c "wc -l <'$TMP/tail.out'")" 3
check_true "tail: time (ISO 8601, UTC) id status by reasons" \
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z	t2	held	modqd	watch$' "$TMP/tail.out"
check_true "tail: moderator decisions too" \
    grep -Eq '	t2	rejected	tailmod	watch$' "$TMP/tail.out"
check_eq "tail: nothing from before it started" "$(grep -c '	h1	' "$TMP/tail.out")" 0
kill -INT -- -"$TAIL_PID" 2>/dev/null
check_eq "tail: Ctrl-C stops it" \
    "$(wait_for gone sh -c "kill -0 $TAIL_PID 2>/dev/null && echo running || echo gone")" gone
wait "$TAIL_PID" 2>/dev/null
timeout 10 "$MODQ" -s "$SOCK" tail --count 2 --table >"$TMP/tail2.out" 2>&1 &
TAIL_PID=$!
PIDS+=("$TAIL_PID")
wait_for 1 sh -c "redis-cli -s '$SOCK' CLIENT LIST | grep -c 'cmd=xread '" >/dev/null
add modq id t3 author tt body "tail three"
add modq id t4 author tt body "tail four"
wait "$TAIL_PID"
check_eq "tail --count: exits by itself" "$?" 0
check_true "tail --table: short time, aligned" \
    grep -Eq '^[0-9:]{8}  t4 +approved +modqd' "$TMP/tail2.out"
# A reader that stops early ends tail too, also when SIGPIPE came ignored
# (tail would otherwise write to the closed pipe for ever).
(
	trap '' PIPE
	timeout 10 "$MODQ" -s "$SOCK" tail 2>"$TMP/tail3.err" | head -n 1 \
	    >"$TMP/tail3.out"
	echo "${PIPESTATUS[0]}" >"$TMP/rc"
) &
TAIL_PID=$!
PIDS+=("$TAIL_PID")
wait_for 1 sh -c "redis-cli -s '$SOCK' CLIENT LIST | grep -c 'cmd=xread '" >/dev/null
for i in $(seq 5 40); do
	kill -0 "$TAIL_PID" 2>/dev/null || break
	add modq id t$i author tt body "tail $i"
	sleep 0.2
done
wait "$TAIL_PID"
check_eq "tail | head -1, SIGPIPE ignored: ends by SIGPIPE" "$(cat "$TMP/rc")" 141
check_eq "tail | head -1: no message" "$(cat "$TMP/tail3.err")" ""
check_true "tail | head -1: one decision" grep -Eq '	t5	approved	' "$TMP/tail3.out"

# Nothing of all that was run by a shell.
check_true "no body was executed" \
    sh -c "[ ! -e '$TMP/pwned' ] && [ ! -e '$TMP/pwned2' ]"

# --- 3. connection flags ----------------------------------------------------

section "3 connection flags"

mq -s "$TMP/nosuch.sock" held
check_rc "no server" 1 "modq: "
check_prefixed "no server"

# -n: another database of the same server.
site_conf "rcli -n 3"
rcli -n 3 HSET modq:c:n1 status held author dbx body "in db 3" >/dev/null
rcli -n 3 ZADD modq:held 1 n1 >/dev/null
mq -n 3 held
check_eq "-n: that database's queue" "$(cut -f1 "$TMP/out")" n1
mq -n 3 --as alice approve n1
check_eq "-n: approve there" "$RC:$(rcli -n 3 --raw HGET modq:c:n1 status)" "0:approved"
check_eq "-n: database 0 untouched" "$(rcli EXISTS modq:c:n1)" 0
mq -n x held
check_rc "-n needs a number" 2
mq -p http held
check_rc "-p needs a number" 2
mq -h
check_rc "-h needs a host" 2 "modq: option -h needs a value"

# A second server with a password, on a unix socket and a loopback port.
mkdir -p "$TMP/r2"
SOCK2=$TMP/r2/redis.sock
PORT=
for _ in 1 2 3 4 5; do
	p=$((20000 + RANDOM % 30000))
	redis-server --port "$p" --bind 127.0.0.1 --unixsocket "$SOCK2" \
	    --unixsocketperm 700 --save '' --appendonly no --dir "$TMP/r2" \
	    --requirepass sekrit >"$TMP/r2/redis.log" 2>&1 &
	R2=$!
	PIDS+=("$R2")
	for i in $(seq 1 100); do
		[ -S "$SOCK2" ] && break
		kill -0 "$R2" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$R2" 2>/dev/null && [ -S "$SOCK2" ]; then
		PORT=$p
		break
	fi
done
r2() {
	REDISCLI_AUTH=sekrit redis-cli -s "$SOCK2" "$@"
}
if [ -n "$PORT" ]; then
	r2 -x FUNCTION LOAD REPLACE <"$TOP/daemon/modq.lua" >/dev/null
	site_conf r2
	r2 HSET modq:c:p1 status held author px body "over tcp" >/dev/null
	r2 ZADD modq:held 1 p1 >/dev/null
	r2 ACL SETUSER mod on '>modpw' '~*' '+@all' >/dev/null
	"$MODQ" -h 127.0.0.1 -p "$PORT" held >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	check_rc "-h -p without a password" 1 "modq: "
	"$MODQ" -h 127.0.0.1 -p "$PORT" -a sekrit held >"$TMP/out" 2>"$TMP/err"
	check_eq "-h -p -a" "$?:$(cut -f1 "$TMP/out")" "0:p1"
	check_eq "-a: no password warning" "$(cat "$TMP/err")" ""
	"$MODQ" -h 127.0.0.1 -p "$PORT" --pass=sekrit held >"$TMP/out" 2>"$TMP/err"
	check_eq "--pass" "$?:$(cut -f1 "$TMP/out")" "0:p1"
	REDISCLI_AUTH=sekrit "$MODQ" -h 127.0.0.1 -p "$PORT" show p1 --body \
	    >"$TMP/out" 2>"$TMP/err"
	check_eq "REDISCLI_AUTH" "$?:$(cat "$TMP/out")" "0:over tcp"
	"$MODQ" -s "$SOCK2" --user mod -a modpw --as alice approve p1 \
	    >"$TMP/out" 2>"$TMP/err"
	check_eq "--user -a" "$?:$(r2 --raw HGET modq:c:p1 status)" "0:approved"
	"$MODQ" -s "$SOCK2" --user mod -a wrong held >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	check_rc "--user with a wrong password" 1 "modq: "
	"$MODQ" -s "$SOCK2" --user mod -a wrong --as alice reject p1 \
	    >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	check_rc "an action with a wrong password fails" 1 "modq: "
	check_eq "an action with a wrong password: nothing changed" \
	    "$(r2 --raw HGET modq:c:p1 status)" approved
	r2 FUNCTION DELETE modq >/dev/null
	REDISCLI_AUTH=sekrit "$MODQ" -s "$SOCK2" --as alice reject p1 \
	    >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	check_rc "no Functions library" 1 "Functions library is not loaded"
	REDISCLI_AUTH=sekrit "$MODQ" -s "$SOCK2" --as alice author px banned \
	    >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	check_rc "no Functions library (author)" 1 "Functions library is not loaded"
	REDISCLI_AUTH=sekrit "$MODQ" -s "$SOCK2" show p1 --body >"$TMP/out" 2>&1
	check_eq "reads work without the library" "$?:$(cat "$TMP/out")" "0:over tcp"
else
	not_ok "cannot start a second redis-server on a loopback port"
fi

# --- 4. clearing a held queue of 100 comments -------------------------------

section "4 a queue of 100"

for id in $(rcli --raw ZRANGE modq:held 0 -1); do
	rcli FCALL modq_reject 0 "$id" setup >/dev/null
done
for i in $(seq 1 100); do
	echo "XADD modq:incoming * id q$i author qa$((i % 7)) thread q body \"traitor number $i\""
done | rcli >/dev/null
check_eq "100 comments held" "$(wait_for 100 rcli ZCARD modq:held)" 100
alen=$(rcli XLEN modq:audit)
dlen=$(rcli XLEN modq:decisions)
rounds=0
failed=0
export MODQ_USER=queuemod
while [ "$rounds" -lt 10 ]; do
	"$MODQ" -s "$SOCK" held >"$TMP/queue" || failed=1
	[ -s "$TMP/queue" ] || break
	# Approve the even-numbered ones, reject the rest, as a person would
	# after reading them.
	mapfile -t approve < <(cut -f1 "$TMP/queue" | grep '[02468]$')
	mapfile -t reject < <(cut -f1 "$TMP/queue" | grep -v '[02468]$')
	[ ${#approve[@]} -eq 0 ] || "$MODQ" -s "$SOCK" approve \
	    "${approve[@]}" --note ok >/dev/null || failed=1
	[ ${#reject[@]} -eq 0 ] || "$MODQ" -s "$SOCK" reject \
	    "${reject[@]}" --note spam >/dev/null || failed=1
	rounds=$((rounds + 1))
done
unset MODQ_USER
check_eq "queue: every modq call succeeded" "$failed" 0
check_eq "queue: cleared in a few rounds of held/approve/reject" \
    "$([ "$rounds" -ge 2 ] && [ "$rounds" -le 3 ] && echo yes)" yes
check_eq "queue: held set empty" "$(rcli ZCARD modq:held)" 0
check_eq "queue: 100 audit entries" "$(($(rcli XLEN modq:audit) - alen))" 100
check_eq "queue: 100 decisions entries" "$(($(rcli XLEN modq:decisions) - dlen))" 100
# Count "status by" over the 100 records, and sum the authors' counters.
MQ_QUEUE='local c, a = {}, { 0, 0, 0 }
for i = 1, 100 do
	local h = redis.call("HMGET", "modq:c:q" .. i, "status", "decided_by")
	local k = tostring(h[1]) .. " " .. tostring(h[2])
	c[k] = (c[k] or 0) + 1
end
for i = 0, 6 do
	local h = redis.call("HMGET", "modq:author:qa" .. i, "approved", "held",
	    "rejected")
	for j = 1, 3 do
		a[j] = a[j] + (tonumber(h[j]) or 0)
	end
end
local o = {}
for k, n in pairs(c) do
	o[#o + 1] = n .. " " .. k
end
table.sort(o)
return table.concat(o, ",") .. "|" .. table.concat(a, " ")'
rcli --raw EVAL_RO "$MQ_QUEUE" 0 >"$TMP/queue.sum"
check_eq "queue: 50 approved, 50 rejected, by the moderator" \
    "$(cut -d'|' -f1 "$TMP/queue.sum")" \
    "50 approved queuemod,50 rejected queuemod"
check_eq "queue: author counters add up" \
    "$(cut -d'|' -f2 "$TMP/queue.sum")" "50 0 50"
mq held --table
check_true "queue: empty queue says so" grep -q "no held comments" "$TMP/out"
mq held
check_eq "queue: empty queue, plain: no output" "$RC:$OUT" "0:"

stop_modqd

# --- 5. reputation ----------------------------------------------------------

section "5 reputation"

write_conf "$TMP/rep.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 2000; prefix = "rep"; };
queue: { claim_idle_ms = 1000; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "ass" ]; },
  { name = "watch"; action = "hold";   words = [ "traitor" ]; }
);
authors: {
  premod_until_approved = 2;
  hold_if_rejected = { ratio = 0.5; min = 2; days = 7; };
};
EOF
start_modqd "$TMP/rep.conf" "$TMP/rep.log" || exit 1
export MODQ_USER=repmod
rq() {
	"$MODQ" -s "$SOCK" --prefix rep "$@" >/dev/null 2>&1
}

# premod_until_approved = 2: held until two comments were approved.
add rep id a1 author newbie body "hello"
check_decided rep a1 held new-author
check_true "premod: approve the first" rq approve a1
add rep id a2 author newbie body "hello again"
check_decided rep a2 held new-author
add rep id a3 author newbie body "third"
check_decided rep a3 held new-author
check_true "premod: reject one (does not count)" rq reject a3
add rep id a4 author newbie body "fourth"
check_decided rep a4 held new-author
check_true "premod: approve the second" rq approve a2
check_eq "premod: author approved count" \
    "$(rcli --raw HGET rep:author:newbie approved)" 2
add rep id a5 author newbie body "now free"
check_decided rep a5 approved ""
add rep id a6 body "no author, no reputation"
check_decided rep a6 approved ""
"$MODQ" -s "$SOCK" --prefix rep author trusty trusted >/dev/null
add rep id a7 author trusty body "trusted from the start"
check_decided rep a7 approved ""

# hold_if_rejected: ratio 0.5, min 2 within 7 days.  newbie has 5
# decisions (a1..a5), 1 rejection (a3, by a moderator).
check_eq "history: a moderator rejection counted" \
    "$(rcli --raw HVALS rep:rate:@hist:newbie | sort -n | paste -sd' ' -)" "1 5"
add rep id a8 author newbie body "you ass"
check_decided rep a8 rejected slurs
add rep id a9 author newbie body "fine again"
check_decided rep a9 approved ""
# 7 decisions, 2 rejections: below the ratio.  Two more rejections.
add rep id a10 author newbie body "traitor"
check_decided rep a10 held watch
check_true "history: reject a held one" rq reject a10
add rep id a11 author newbie body "ass again"
check_decided rep a11 rejected slurs
# 9 decisions, 4 rejections: 0.44 < 0.5; one more.
add rep id a12 author newbie body "traitor again"
check_decided rep a12 held watch
check_true "history: reject another" rq reject a12
# 10 decisions, 5 rejections: 0.5 >= 0.5 and 5 >= 2.
add rep id a13 author newbie body "a harmless remark"
check_decided rep a13 held rejection-history
# An appeal takes a rejection back: 11 decisions, 4 rejections.
check_true "history: appeal a rejection" rq approve a11
check_eq "history: the appeal undid one rejection" \
    "$(rcli --raw HVALS rep:rate:@hist:newbie | sort -n | paste -sd' ' -)" "4 11"
add rep id a14 author newbie body "another harmless remark"
check_decided rep a14 approved ""
check_eq "history: author counters" \
    "$(rcli --raw HMGET rep:author:newbie approved held rejected | paste -sd' ' -)" \
    "6 2 4"
rq held
"$MODQ" -s "$SOCK" --prefix rep held >"$TMP/out"
check_eq "--prefix: that prefix's queue" "$(cut -f1 "$TMP/out" | paste -sd' ' -)" "a4 a13"
unset MODQ_USER

section "delete, forget and retry"
export MODQ_USER=site
add rep id dz1 author gone body "first"
add rep id dz2 author gone ip 192.0.2.8 body "second"
add rep id dz3 author stays body "third"
check_decided rep dz1 held new-author
check_decided rep dz3 held new-author
mq --prefix rep delete dz1 --note "by its author"
check_rc "delete dz1" 0
check_eq "delete: the table" "$OUT" "$(printf 'dz1\tdeleted')"
check_eq "dz1 is deleted" "$(rcli --raw HGET rep:c:dz1 status)" deleted
mq --prefix rep delete dz1
check_eq "delete again: already" "$OUT" "$(printf 'dz1\talready deleted')"
mq --prefix rep delete 'bad id'
check_rc "delete: a bad id" 2 "not a comment id: 'bad id' (use --note TEXT for a note)"
mq --prefix rep forget gone --note "asked"
check_rc "forget gone" 0
check_has "forget: what it says" "$OUT" "forgetting gone"
check_eq "forget: dz2 erased by modqd" "$(wait_for deleted rcli --raw HGET rep:c:dz2 status)" deleted
check_eq "forget: dz2 without author and ip" "$(rcli HEXISTS rep:c:dz2 author)$(rcli HEXISTS rep:c:dz2 ip)" 00
check_eq "forget: dz3 kept" "$(rcli --raw HGET rep:c:dz3 author)" stays
mq --prefix rep forget
check_rc "forget: no author" 2
add rep author x body "no id"
check_eq "a dead letter" "$(wait_for 1 rcli XLEN rep:dead)" 1
mq --prefix rep retry --all
check_rc "retry --all" 0
check_eq "retry --all: what it says" "$OUT" "1 dead letter back on the stream"
check_eq "retry: the dead letter is dead again (still no id)" "$(wait_for 1 rcli XLEN rep:dead)" 1
mq --prefix rep retry
check_rc "retry: nothing named" 2 "retry: DEAD-ID... or --all"
mq --prefix rep retry 1-1
check_rc "retry: no such dead letter" 1 "no dead letter 1-1"
unset MODQ_USER

stop_modqd
echo "moderator: $(($(date +%s) - STARTED)) s"
summary
