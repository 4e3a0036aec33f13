#!/usr/bin/env bash
#
# hostile.sh -- modqd against stream entries built to hurt it: many short
# rule names firing at once, a hundred thousand fields, bodies of 50 MB,
# IPv6 spellings of one address.  Each check asserts the exact decision or
# dead letter, the keys written and the daemon's memory, never a duration.
# Usage: tests/hostile.sh [BUILD_DIR]   (default: build)
#   HOSTILE_SECTIONS  the sections to run, by number or name, e.g.
#                     HOSTILE_SECTIONS="2 size" (default: all)
#
# Sections: 1 rules, 2 fields, 3 size, 4 bound, 5 ip
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init hostile

# An ASan build keeps shadow memory and a quarantine of freed blocks: its
# resident set says nothing about modqd's, so those checks are skipped.
ASAN=""
grep -q __asan_init "$MODQD" && ASAN=1

# The largest resident set modqd has had (VmHWM, KiB).
hwm_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$MODQD_PID/status"
}

# Send one XADD of N extra fields f1..fN (besides id and body) through
# redis-cli --pipe, in the protocol itself: argv cannot carry 200,000
# arguments.
xadd_fields() {
	local id=$1 n=$2
	awk -v id="$id" -v n="$n" 'BEGIN {
		printf "*%d\r\n", 7 + 2 * n
		a[1] = "XADD"; a[2] = "modq:incoming"; a[3] = "*"
		a[4] = "id"; a[5] = id; a[6] = "body"; a[7] = "hello"
		for (i = 1; i <= 7; i++)
			printf "$%d\r\n%s\r\n", length(a[i]), a[i]
		for (i = 1; i <= n; i++) {
			f = "f" i
			printf "$%d\r\n%s\r\n$1\r\nv\r\n", length(f), f
		}
	}' | redis-cli -s "$SOCK" --pipe >/dev/null
}

start_redis "$TMP" "$SOCK" || { echo "hostile: cannot start redis-server"; exit 1; }

# --- rules: many short rule names fire on one comment -------------------------
# The stats fields of a decision are "rule:<name>" for each rule that fired:
# names of one to three characters take more room than their share of the
# reasons string.  Under ASan an undersized buffer is a report here.
if want 1 rules; then
section "rules: forty short-named rules fire on one comment"
fresh
{
	echo "redis: { unix = \"$SOCK\"; };"
	echo "keywords: ("
	sep=""
	WORDS=""
	LETTERS=abcdefghijklmnopqrstuvwxyz
	for i in $(seq 1 40); do
		n=r$i
		[ "$i" -le 26 ] && n=${LETTERS:i-1:1}
		w=$(printf 'zq%dword' "$i")
		printf '%s  { name = "%s"; action = "reject"; words = [ "%s" ]; }' "$sep" "$n" "$w"
		sep=$',\n'
		WORDS="$WORDS $w"
		NAMES="${NAMES:+$NAMES }$n"
	done
	echo
	echo ");"
} >"$TMP/rules.conf"
start_modqd "$TMP/rules.conf" "$TMP/rules.log" || exit 1
xadd id many author u-1 body "$WORDS"
wait_decided many
check_status many rejected
check_eq "all forty rules named in reasons" \
    "$(rcli --raw HGET modq:c:many reasons | tr ' ' '\n' | sort | paste -sd' ' -)" \
    "$(echo "$NAMES" | tr ' ' '\n' | sort | paste -sd' ' -)"
check_eq "every rule counted in modq:stats" \
    "$(rcli --raw HGETALL modq:stats | paste - - | grep -c '^rule:.*	1$')" 40
check_eq "stats field of a one-letter rule" "$(rcli --raw HGET modq:stats rule:a)" 1
check_eq "stats field of a three-letter rule" "$(rcli --raw HGET modq:stats rule:r40)" 1
check_stats processed=1 rejected=1
fi

# --- fields: huge field counts -------------------------------------------------
if want 2 fields; then
section "fields: 10,000 and 100,000 fields beside innocent comments"
fresh
write_conf "$TMP/fields.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 2000; };
queue: { trim = false; };
EOF
# The entries are there before modqd reads, so they share its first batch.
xadd id before author u-1 body "an innocent comment"
BEFORE=$LAST_SID
xadd_fields wide 10000
WIDE=$(rcli --raw XREVRANGE modq:incoming + - COUNT 1 | head -1)
xadd_fields wider 100000
WIDER=$(rcli --raw XREVRANGE modq:incoming + - COUNT 1 | head -1)
xadd id after author u-2 body "another innocent comment"
start_modqd "$TMP/fields.conf" "$TMP/fields.log" || exit 1
wait_dead 2
check_decision before approved ""
check_decision after approved ""
check_eq "10,000 fields: dead letter with its reason" \
    "$(dead_of "$WIDE" | cut -d'|' -f1-3)" \
    "error=too many fields (10000 besides id, body, author, ip and thread; at most 32)|stream_id=$WIDE|cut=kept 37 of 10002 fields"
check_eq "100,000 fields: dead letter with its reason" \
    "$(dead_of "$WIDER" | cut -d'|' -f1-3)" \
    "error=too many fields (100000 besides id, body, author, ip and thread; at most 32)|stream_id=$WIDER|cut=kept 37 of 100002 fields"
check_eq "a dead letter keeps 37 fields besides error, stream_id and cut" \
    "$(dead_of "$WIDER" | tr '|' '\n' | wc -l)" 40
check_no_pending "all four acknowledged"
check_stats processed=4 approved=2 dead=2
check_eq "nothing redelivered" "$(grep -c 'too many deliveries' "$TMP/fields.log")" 0
check_eq "no Redis timeout" "$(grep -c 'timed out' "$TMP/fields.log")" 0
check_eq "the read that brought them was dropped unread" \
    "$(grep -c 'intake connection: a reply over its limit of 256 elements in an array' "$TMP/fields.log")" 1
fi

# --- size: bodies of 50 MB ---------------------------------------------------
# modqd drops a read that brings a string longer than a valid one unread,
# and takes the entry back through modq_claim, which cuts it in Redis: its
# largest resident set stays far below one such body.
if want 3 size; then
section "size: four 50 MB bodies, modqd's memory and modq:dead"
fresh
write_conf "$TMP/size.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 5000; };
queue: { trim = false; };
EOF
start_modqd "$TMP/size.conf" "$TMP/size.log" || exit 1
xadd id small body "fine"
wait_decided small
BASE=$(hwm_kb)
BIG=()
for i in 1 2 3 4; do
	BIG+=("$(head -c 52428800 /dev/zero | tr '\0' 'a' |
	    redis-cli -s "$SOCK" --raw -x XADD modq:incoming '*' id "big$i" author u-1 body)")
done
xadd id small2 body "also fine"
wait_dead 4
wait_decided small2
check_decision small2 approved ""
check_eq "50 MB body: dead letter" \
    "$(dead_of "${BIG[0]}" | cut -d'|' -f1-5 | cut -c1-400)" \
    "error=body too large: 52428800 bytes (queue.max_body is 65536)|stream_id=${BIG[0]}|cut=cut to 4096 bytes: body (52428800 bytes)|id=big1|author=u-1"
check_eq "the dead letter keeps 4096 bytes of the body" \
    "$(dead_of "${BIG[3]}" | tr '|' '\n' | grep '^body=' | wc -c)" $((5 + 4096 + 1))
DEADMEM=$(rcli MEMORY USAGE modq:dead)
check_range "modq:dead holds under 64 KiB for four 50 MB entries" "$DEADMEM" 1 65536
HWM=$(hwm_kb)
[ -n "$ASAN" ] ||
    check_range "modqd's peak RSS grew by under 16 MiB (was $BASE KiB, now $HWM KiB)" \
        $((HWM - BASE)) -1 16384
check_no_pending "all acknowledged"
check_eq "the read that brought the first was dropped unread, once" \
    "$(grep -c 'intake connection: a reply over its limit of 65536 bytes in a string' "$TMP/size.log")" 1
# A valid entry whose dead letter is long for another reason keeps 4 KiB
# of each field too.
BAD=$(head -c 6000 /dev/zero | tr '\0' x)
printf 'XADD modq:incoming * id badutf body "%s\\xff"\n' "$BAD" | rcli_stdin >/dev/null
BADSID=$(rcli --raw XREVRANGE modq:incoming + - COUNT 1 | head -1)
wait_dead 5
check_eq "bad UTF-8 body of 6001 bytes: reason and note" \
    "$(dead_of "$BADSID" | cut -d'|' -f1-3)" \
    "error=body is not valid UTF-8 (at byte 6000)|stream_id=$BADSID|cut=cut to 4096 bytes: body (6001 bytes)"
fi

# --- bound: the memory bound with entries as large as they may be -----------
# README and modqd(8) state the bound: RSS <= base + 3 * max_inflight * E,
# E = max_body + max(max_body, 8 KiB) + 4 KiB, the largest entry modqd is
# handed whole.  Fill the stream with such entries (a 64 KiB body and 64
# KiB of extra fields each) and measure the peak.
if want 4 bound; then
section "bound: 640 entries of the largest valid size"
fresh
write_conf "$TMP/bound.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 5000; };
queue: { batch = 64; max_inflight = 64; max_body = 65536; trim = false; };
keywords: ( { name = "w"; action = "hold"; words = [ "zqword" ]; } );
EOF
start_modqd "$TMP/bound.conf" "$TMP/bound.log" || exit 1
xadd id warm body "fine"
wait_decided warm
BASE=$(hwm_kb)
awk 'BEGIN {
	b = "b"; while (length(b) < 65536) b = b b
	p = substr(b, 1, 65000); gsub(/b/, "p", p)
	for (i = 1; i <= 640; i++) {
		id = "max" i
		printf "*9\r\n$4\r\nXADD\r\n$13\r\nmodq:incoming\r\n$1\r\n*\r\n"
		printf "$2\r\nid\r\n$%d\r\n%s\r\n", length(id), id
		printf "$4\r\nbody\r\n$%d\r\n%s\r\n", length(b), b
		printf "$3\r\npad\r\n$%d\r\n%s\r\n", length(p), p
	}
}' | redis-cli -s "$SOCK" --pipe >/dev/null
wait_decided max640 $((WAIT_MS * 6))
check_status max640 approved
check_stats processed=641 approved=641
HWM=$(hwm_kb)
E=$((65536 + 65536 + 4096))
LIMIT=$((3 * 64 * E / 1024))
echo "   peak RSS grew by $((HWM - BASE)) KiB; the bound is $LIMIT KiB"
[ -n "$ASAN" ] ||
    check_range "peak RSS within 3 * max_inflight * E" $((HWM - BASE)) 0 "$LIMIT"
fi

# --- ip: one address, many spellings ------------------------------------------
if want 5 ip; then
section "ip: one address spelled several ways is one rate window"
fresh
write_conf "$TMP/ip.conf" <<EOF
redis: { unix = "$SOCK"; };
rates: ( { name = "ip-flood"; per = "ip"; limit = 1; window = 600; action = "hold"; } );
EOF
start_modqd "$TMP/ip.conf" "$TMP/ip.log" || exit 1
xadd id v6a ip 2001:db8::1 body x
check_decision v6a approved ""
xadd id v6b ip 2001:0DB8:0000:0000:0000:0000:0000:0001 body x
check_decision v6b held ip-flood
xadd id v4a ip 192.0.2.7 body x
check_decision v4a approved ""
xadd id v4b ip ::ffff:192.0.2.7 body x
check_decision v4b held ip-flood
check_field v6b ip 2001:0DB8:0000:0000:0000:0000:0000:0001
check_eq "rate keys use the canonical form" \
    "$(rcli --raw KEYS 'modq:rate:ip-flood:*' | sort | paste -sd' ' -)" \
    "modq:rate:ip-flood:192.0.2.7 modq:rate:ip-flood:2001:db8::1"
fi

fresh
summary
