#!/usr/bin/env bash
#
# integration.sh -- end-to-end tests of modqd against a real redis-server.
# Usage: tests/integration.sh [BUILD_DIR]   (default: build)
#
# Environment:
#   INTEGRATION_SECTIONS  the sections to run, by number or name, e.g.
#                         "3 reload" (default: all)
#   KEEP=1                keep the logs in $TMP even when all passed
#
# The script owns its servers: a redis-server on a unix socket in a
# mktemp -d directory (--port 0), and modqd processes it starts itself.
# A trap stops only the PIDs it started (and has not reaped yet).  Every
# wait is a bounded loop with a deadline; checks assert outcomes, never
# durations.  It prints "N passed, N failed" and exits 1 if anything
# failed.
#
# Sections, in the order they run; each starts from an empty Redis:
#    1 output    every output key of a decision: the comment hash (own
#                fields kept verbatim, decided_at, ruleset, stream_id, TTL),
#                modq:decisions, modq:held, modq:author:<a>, modq:stats,
#                modq:dead
#    2 resubmit  an id submitted again as a new entry; no duplicate delivery
#    3 rates     rate rules per author, ip and thread exactly at the limit
#                and at the window edge, with stream ids as the clock
#    4 states    author and thread states (HSET and FCALL), precedence and
#                reasons, moderator functions, rejection history
#    5 dead      every kind of dead letter; entries of a dead consumer; a
#                bad key
#    6 kill      kill -9 while 2000 comments flow: exactly one decision
#                each; a read larger than one transaction
#    7 replay    a retried / redelivered comment counted once by rate
#                rules; an older entry claimed late; modqd claiming its own
#                entries
#    8 restart   Redis restarted (appendonly) under modqd
#    9 stall     Redis SIGSTOP'd with timeout_ms = 500; FUNCTION FLUSH;
#                CLIENT KILL; the stream deleted; Redis out of memory
#   10 reload    reload (SIGHUP): a new keyword, a syntax error, a missing
#                word list, an unknown option, an edited word list
#   11 shutdown  SIGTERM / SIGINT, modqd -n, modqd -e, the -e examples of
#                README.md
#   12 down      Redis down at start
#   13 prefix    redis.prefix / db / queue names, two prefixes on one Redis
#   14 acl       ACL user and password_file, the least privileges
#   15 trim      queue.trim
#   16 lifecycle a comment sent again (a retry), edited and deleted (before
#                and after its decision), with the exact keys afterwards
#   17 held      decisions.held_days: a held comment nobody touched is
#                decided by held_action
#   18 erase     modq_forget (an author's right to erasure), modq_retry
#   19 log       log.target: where modqd logs without -d, under systemd
#                (JOURNAL_STREAM) or not; comment bodies only in debug
#                messages
#   20 format    queue.format html and text, end to end
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init integration



# The ruleset stamp the last "starting" or "reloaded" line of a log names.
log_stamp() {
	grep -Eo 'starting: config .*, ruleset [0-9a-f]{12}|reloaded .*: ruleset [0-9a-f]{12}' "$1" |
	    tail -1 | grep -Eo '[0-9a-f]{12}$'
}

# A string of N copies of a character.
rep() {
	local s
	printf -v s '%*s' "$2" ''
	echo "${s// /$1}"
}

start_redis "$TMP" "$SOCK" || { echo "integration: cannot start redis-server"; exit 1; }
mkdir -p "$TMP/lists"
# The config of sections 1, 2, 11 and 13.
write_conf "$TMP/out.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 2000; };
queue: { claim_idle_ms = 1000; };
decisions: { ttl_days = 2; };
keywords: (
  { name = "slurs";   action = "reject"; words = [ "ass", "shit" ]; },
  { name = "threats"; action = "reject"; words = [ "kill you", "behead*" ]; },
  { name = "watch";   action = "hold";   words = [ "traitor" ]; },
  { name = "urls";    action = "hold";   match = "substring"; words = [ "bit.ly/" ]; }
);
allow = [ "scunthorpe" ];
EOF

# --- 1 output: every output key of a decision ---------------------------------

sec_output() {
	section "1 output: every output key of a decision"
	fresh
	start_modqd "$TMP/out.conf" "$TMP/out.log" || exit 1
	STAMP=$(log_stamp "$TMP/out.log")
	check_range "ruleset stamp is 12 hex digits" "${#STAMP}" 12 12

	T0=$(redis_ms)
	xadd id c1 author u-1 thread t1 ip 203.0.113.9 body "a perfectly fine comment" \
	    url "https://example.org/a?b=c&d" lang en-GB x-note "two  words, kept"
	check_decision c1 approved "" ""
	T1=$(redis_ms)
	check_field c1 decided_by modqd
	check_field c1 ruleset "$STAMP"
	check_field c1 stream_id "${SID[c1]}"
	check_field c1 id c1
	check_field c1 author u-1
	check_field c1 thread t1
	check_field c1 ip 203.0.113.9
	check_field c1 body "a perfectly fine comment"
	check_field c1 url "https://example.org/a?b=c&d"
	check_field c1 lang en-GB
	check_field c1 x-note "two  words, kept"
	check_eq "comment c1 has exactly its 8 fields and 8 decision fields" \
	    "$(rcli --raw HKEYS modq:c:c1 | sort | paste -sd' ' -)" \
	    "author body decided_at decided_by digest id ip lang matched reasons ruleset status stream_id thread url x-note"
	check_range "comment c1 decided_at within the test window" \
	    "$(rcli --raw HGET modq:c:c1 decided_at)" "$T0" "$T1"
	check_range "comment c1 TTL is decisions.ttl_days" \
	    "$(rcli TTL modq:c:c1)" $((2 * 86400 - 120)) $((2 * 86400))
	check_decisions c1 "approved//modqd"
	check_eq "decisions entry has exactly id status reasons by" \
	    "$(rcli --raw XRANGE modq:decisions - + COUNT 1 | sed -n '2,9p' | paste -sd'|' -)" \
	    "id|c1|status|approved|reasons||by|modqd"

	xadd id c2 author u-1 thread t1 body "you are an ass"
	check_decision c2 rejected slurs 'slurs:"ass"'
	check_decisions c2 "rejected/slurs/modqd"
	check_log "$TMP/out.log" "comment c2 \(${SID[c2]}\): rejected \[slurs\]"

	xadd id c3 author u-1 thread t1 body "what a traitor"
	check_decision c3 held watch 'watch:"traitor"'
	check_eq "held score of c3 = its decided_at" \
	    "$(rcli --raw ZSCORE modq:held c3)" "$(rcli --raw HGET modq:c:c3 decided_at)"
	check_decisions c3 "held/watch/modqd"

	xadd id c4 author u-2 body "class act from Scunthorpe"
	check_decision c4 approved "" ""
	xadd id c5 author u-2 body "shit, a traitor, see bit.ly/xyz"
	check_decision c5 rejected "slurs watch urls"
	xadd id c6 author u-3 body "I will kill you"
	check_decision c6 rejected threats 'threats:"kill you"'
	xadd id c7 author u-3 body "read bit.ly/abc"
	check_decision c7 held urls
	check_field c7 ruleset "$STAMP"
	check_eq "held queue, oldest first, score = decided_at" "$(held_queue)" \
	    "c3=$(rcli --raw HGET modq:c:c3 decided_at) c7=$(rcli --raw HGET modq:c:c7 decided_at)"

	check_eq "author u-1 counters" \
	    "$(rcli --raw HMGET modq:author:u-1 approved held rejected | paste -sd' ' -)" "1 1 1"
	check_eq "author u-2 counters" \
	    "$(rcli --raw HMGET modq:author:u-2 approved held rejected | paste -sd' ' -)" "1  1"
	check_eq "author u-3 counters" \
	    "$(rcli --raw HMGET modq:author:u-3 approved held rejected | paste -sd' ' -)" " 1 1"

	xadd id d1 author u-9 x-tag abc
	wait_dead 1
	check_dead_letter "$LAST_SID" "error=missing field: body|stream_id=$LAST_SID|id=d1|author=u-9|x-tag=abc"
	# The default queue.max_body (64 KiB) bounds what a comment may bring.
	xadd id d-huge body "$(rep x 100000)"
	wait_dead 2
	check_eq "default max_body" "$(dead_of "$LAST_SID" | cut -d'|' -f1)" \
	    "error=body too large: 100000 bytes (queue.max_body is 65536)"
	MANY=()
	for i in $(seq 1 200); do MANY+=("f$i" "$i"); done
	xadd id d-fields body x "${MANY[@]}"
	wait_dead 3
	check_eq "200 extra fields" "$(dead_of "$LAST_SID" | cut -d'|' -f1)" \
	    "error=too many fields (200 besides id, body, author, ip and thread; at most 32)"
	check_eq "no record for a dead letter" "$(rcli EXISTS modq:c:d1)" 0
	# Every dead letter ends on modq:decisions too, as status error with
	# its kind, so a site that follows the stream sees every comment end.
	check_eq "decisions stream length" "$(rcli XLEN modq:decisions)" 10
	check_eq "the dead letters' decisions entries" \
	    "$(rcli --raw XRANGE modq:decisions - + | paste -sd' ' - | grep -o 'id [^ ]* status error reasons [^ ]* by modqd stream_id' | paste -sd'|' -)" \
	    "id d1 status error reasons missing-field by modqd stream_id|id d-huge status error reasons too-large by modqd stream_id|id d-fields status error reasons too-many-fields by modqd stream_id"
	check_eq "the last one's stream id" \
	    "$(rcli --raw XREVRANGE modq:decisions + - COUNT 1 | tail -1)" "$LAST_SID"
	check_stats processed=10 approved=2 held=2 rejected=3 dead=3 \
	    rule:slurs=2 rule:watch=2 rule:urls=2 rule:threats=1
	check_eq "stats has no other fields" \
	    "$(rcli --raw HKEYS modq:stats | sort | paste -sd' ' -)" \
	    "approved dead held processed rejected rule:slurs rule:threats rule:urls rule:watch"
	check_no_pending
}

# --- 2 resubmit: resubmitted ids and replayed decisions -----------------------

sec_resubmit() {
	section "2 resubmit: resubmitted ids and replayed decisions"
	fresh
	start_modqd "$TMP/out.conf" "$TMP/resubmit.log" || exit 1
	xadd id na1 body "first, without author"
	check_decision na1 approved ""
	xadd id na1 body "second, without author"
	check_decision na1 approved ""
	check_decisions na1 "approved//modqd;approved//modqd"
	check_no_pending
	# The same, with another comment ahead of it in the batch: both are
	# decided and both counted, and no call fails on the way.
	xadd id na2 body "no author"
	check_decision na2 approved ""
	stop_modqd
	P0=$(rcli --raw HGET modq:stats processed)
	xadd id sb1 author u-sb body "ahead in the batch"
	xadd id na2 body "no author, again"
	start_modqd "$TMP/out.conf" "$TMP/out2.log" || exit 1 # one batch: sb1, na2
	check_decision sb1 approved ""
	check_decision na2 approved ""
	check_decisions sb1 "approved//modqd"
	# regression (fixed): a record without author makes modq_decide fail in author_move(false) (modq.lua); the retry skips the items already written, so modq:stats misses them
	check_stats processed=$((P0 + 2))
	# regression (fixed): modq_decide raises a Lua error on the resubmission of an author-less comment
	check_nolog "$TMP/out2.log" "modq_decide: ERR"
	xadd id re1 author u-r body "what a traitor" ver 1
	check_decision re1 held watch
	check_eq "author u-r held 1" "$(rcli --raw HGET modq:author:u-r held)" 1
	OLD_SID=${SID[re1]}
	xadd id re1 author u-r body "all fine now"
	check_decision re1 approved "" ""
	check_field re1 body "all fine now"
	check_field re1 stream_id "${SID[re1]}"
	check_ne "resubmission has a new stream id" "${SID[re1]}" "$OLD_SID"
	check_eq "old extra field is gone from the replaced hash" "$(rcli HEXISTS modq:c:re1 ver)" 0
	check_eq "re1 left the held queue" "$(rcli ZSCORE modq:held re1)" ""
	check_eq "author u-r counters moved held -> approved" \
	    "$(rcli --raw HMGET modq:author:u-r approved held rejected | paste -sd' ' -)" "1 0 "
	xadd id re1 author u-s body "shit"
	check_decision re1 rejected slurs
	check_eq "author u-r counters after the id moved to u-s" \
	    "$(rcli --raw HMGET modq:author:u-r approved held rejected | paste -sd' ' -)" "0 0 "
	check_eq "author u-s counters" \
	    "$(rcli --raw HMGET modq:author:u-s approved held rejected | paste -sd' ' -)" "  1"
	check_decisions re1 "held/watch/modqd;approved//modqd;rejected/slurs/modqd"
	# Two entries of one id in one batch (the daemon was down while the site
	# resent it): decided in stream order, the newer replaces the older, and
	# the counters move with it.
	stop_modqd
	P0=$(rcli --raw HGET modq:stats processed)
	xadd id tw1 author u-tw body "what a traitor"
	xadd id tw2 author u-tw body "a neighbour in the batch"
	xadd id tw1 author u-tw body "sorry, all fine"
	start_modqd "$TMP/out.conf" "$TMP/out3.log" || exit 1 # one batch
	check_decision tw1 approved "" ""
	check_decision tw2 approved "" ""
	check_field tw1 body "sorry, all fine"
	check_field tw1 stream_id "${SID[tw1]}"
	check_decisions tw1 "held/watch/modqd;approved//modqd"
	check_eq "tw1 is not in the held queue" "$(rcli ZSCORE modq:held tw1)" ""
	check_eq "author u-tw counters: two approved, none held" \
	    "$(rcli --raw HMGET modq:author:u-tw approved held rejected | paste -sd' ' -)" "2 0 "
	check_stats processed=$((P0 + 3))
	check_no_pending

	# An acknowledged entry can never be delivered again: XCLAIM (and so
	# XAUTOCLAIM) returns nothing for it, so a duplicate delivery of a decided
	# comment cannot be produced from outside.  The daemon's own guard (its
	# decision writes nothing for an entry already acknowledged) is an internal
	# call; the kill and replay sections exercise it.
	check_eq "an acknowledged entry cannot be claimed again" \
	    "$(rcli XCLAIM modq:incoming modqd ghost 0 "${SID[re1]}")" ""
	check_decisions re1 "held/watch/modqd;approved//modqd;rejected/slurs/modqd"
}

# --- 3 rates: rate rules at the window boundary -------------------------------

sec_rates() {
	section "3 rates: rate rules at the window boundary"
	fresh
	write_conf "$TMP/rate.conf" <<EOF
redis: { unix = "$SOCK"; };
rates: (
  { name = "author-rate"; per = "author"; limit = 2; window = 10; action = "hold"; },
  { name = "ip-rate";     per = "ip";     limit = 3; window = 10; action = "reject"; },
  { name = "thread-rate"; per = "thread"; limit = 2; window = 10; action = "hold"; }
);
EOF
	start_modqd "$TMP/rate.conf" "$TMP/rate.log" || exit 1
	# Stream ids fix the time of each comment: a window is (t - 10000, t] ms.
	T=1700000000000
	xadd_at $T id ra1 author a1 body one
	xadd_at $((T + 5000)) id ra2 author a1 body two
	xadd_at $((T + 9999)) id ra3 author a1 body three
	xadd_at $((T + 10000)) id rx1 author a2 body other
	xadd_at $((T + 12000)) id rn1 body "no author: not counted"
	xadd_at $((T + 15000)) id ra4 author a1 body four
	xadd_at $((T + 15001)) id ra5 author a1 body five
	check_decision ra1 approved ""
	check_decision ra2 approved ""
	check_decision ra3 held author-rate
	check_decision rx1 approved ""
	check_decision rn1 approved ""
	check_decision ra4 approved "" # ra2 is exactly 10 s older: outside
	check_decision ra5 held author-rate

	U=$((T + 100000))
	xadd_at $U id ri1 ip 198.51.100.7 body one
	xadd_at $((U + 1000)) id ri2 ip 198.51.100.7 body two
	xadd_at $((U + 2000)) id ri3 ip 198.51.100.7 body three
	xadd_at $((U + 3000)) id ri4 ip 198.51.100.7 body four
	xadd_at $((U + 4000)) id rin ip "" body "empty ip" x 1
	xadd_at $((U + 4001)) id rin2 body "no ip: not counted"
	xadd_at $((U + 11000)) id ri5 ip 198.51.100.7 body five
	xadd_at $((U + 11001)) id ri6 ip 198.51.100.7 body six
	xadd_at $((U + 11002)) id ri7 ip 2001:db8::7 body "v6"
	xadd_at $((U + 11003)) id ri8 ip 2001:db8::7 body "v6"
	check_decision ri1 approved ""
	check_decision ri2 approved ""
	check_decision ri3 approved ""
	check_decision ri4 rejected ip-rate
	check_decision rin2 approved ""
	check_decision ri5 approved "" # ri2 at exactly 10 s before: outside
	check_decision ri6 rejected ip-rate
	check_decision ri7 approved ""
	check_decision ri8 approved ""

	V=$((T + 200000))
	xadd_at $V id rt1 thread th-1 body one
	xadd_at $((V + 1)) id rt2 thread th-1 body two
	xadd_at $((V + 2)) id rt3 thread th-1 body three
	xadd_at $((V + 3)) id rtn body "no thread: not counted"
	xadd_at $((V + 10001)) id rt4 thread th-1 body four
	xadd_at $((V + 10002)) id rt5 thread th-1 body five
	xadd_at $((V + 10003)) id rt6 thread th-1 body six
	check_decision rt1 approved ""
	check_decision rt2 approved ""
	check_decision rt3 held thread-rate
	check_decision rtn approved ""
	check_decision rt4 approved ""
	check_decision rt5 approved ""
	check_decision rt6 held thread-rate

	W=$((T + 300000))
	for i in 1 2 3 4; do
		xadd_at $((W + i)) id rw$i author a9 ip 192.0.2.9 thread th-9 body "all $i"
	done
	check_decision rw2 approved ""
	check_decision rw3 held "author-rate thread-rate"
	check_decision rw4 rejected "author-rate ip-rate thread-rate"
	check_stats rule:author-rate=4 rule:ip-rate=3 rule:thread-rate=4 processed=28 dead=
	check_decision rin approved ""
	check_eq "an empty ip is as if absent: no warnings" "$(rcli HEXISTS modq:c:rin warnings)" 0
}

# --- 4 states: author and thread states, moderator functions ------------------

sec_states() {
	section "4 states: author and thread states, moderator functions"
	fresh
	write_conf "$TMP/state.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "shit" ]; },
  { name = "watch"; action = "hold";   words = [ "traitor" ]; }
);
rates: (
  { name = "ip-rate"; per = "ip"; limit = 1; window = 3600; action = "hold"; }
);
authors: { hold_if_rejected = { ratio = 0.5; min = 2; days = 7; }; };
EOF
	start_modqd "$TMP/state.conf" "$TMP/state.log" || exit 1
	rcli HSET modq:author:u-ban trust banned >/dev/null
	rcli HSET modq:author:u-pre trust premod >/dev/null
	rcli HSET modq:author:u-tr trust trusted >/dev/null
	rcli HSET modq:author:u-tr2 trust trusted >/dev/null
	rcli HSET modq:thread:t-pre mode premod >/dev/null
	rcli HSET modq:thread:t-cl mode closed >/dev/null
	rcli HSET modq:thread:t-open mode open >/dev/null
	xadd id s1 author u-ban body hello
	xadd id s2 author u-pre body hello
	xadd id s3 author u-tr body "what a traitor"
	xadd id s4 author u-tr body "shit"
	xadd id s5 thread t-pre body hello
	xadd id s6 thread t-cl body hello
	xadd id s7 author u-tr2 thread t-pre body hello
	xadd id s8 author u-tr2 thread t-cl body hello
	xadd id s9 author u-pre thread t-cl body "shit traitor"
	xadd id s10 author u-ban thread t-pre body "traitor"
	xadd id s11 author u-pre thread t-pre body "traitor"
	xadd id s12 author u-tr ip 192.0.2.1 body first
	xadd id s13 author u-tr ip 192.0.2.1 body second
	xadd id s14 author u-x ip 192.0.2.2 body first
	xadd id s15 author u-x ip 192.0.2.2 body "second traitor"
	xadd id s16 thread t-open body hello
	check_decision s1 rejected author-banned ""
	check_decision s2 held author-premod ""
	check_decision s3 approved "watch author-trusted" 'watch:"traitor"'
	check_decision s4 rejected slurs
	check_decision s5 held thread-premod
	check_decision s6 rejected thread-closed
	check_decision s7 approved "thread-premod author-trusted"
	check_decision s8 rejected thread-closed
	check_decision s9 rejected "slurs watch thread-closed author-premod"
	check_decision s10 rejected "watch author-banned thread-premod"
	check_decision s11 held "watch thread-premod author-premod"
	check_decision s12 approved ""
	check_decision s13 approved "ip-rate author-trusted"
	check_decision s14 approved ""
	check_decision s15 held "watch ip-rate"
	check_decision s16 approved ""
	check_eq "held queue members" "$(rcli --raw ZRANGE modq:held 0 -1 | sort | paste -sd' ' -)" "s11 s15 s2 s5"
	check_eq "banned author's counters sit next to its trust" \
	    "$(rcli --raw HMGET modq:author:u-ban trust rejected | paste -sd' ' -)" "banned 2"

	# The same through the moderator functions, with the audit stream.
	check_eq "modq_author banned" "$(rcli FCALL modq_author 0 u-f banned alice "spam wave")" 1
	check_hash modq:author:u-f trust banned
	check_eq "audit entry of modq_author" \
	    "$(rcli --raw XREVRANGE modq:audit + - COUNT 1 | sed -n '2,9p' | paste -sd'|' -)" \
	    "id|u-f|action|author:banned|by|alice|note|spam wave"
	xadd id f1 author u-f body hello
	check_decision f1 rejected author-banned
	rcli FCALL modq_author 0 u-f clear alice >/dev/null
	check_eq "modq_author clear removes trust" "$(rcli HEXISTS modq:author:u-f trust)" 0
	xadd id f2 author u-f body hello
	check_decision f2 approved ""
	rcli FCALL modq_author 0 u-g premod bob >/dev/null
	xadd id g1 author u-g body hello
	check_decision g1 held author-premod
	rcli FCALL modq_author 0 u-h trusted bob >/dev/null
	xadd id h1 author u-h body "traitor"
	check_decision h1 approved "watch author-trusted"
	check_eq "modq_thread closed" "$(rcli FCALL modq_thread 0 t-f closed alice "flame war")" 1
	xadd id f3 thread t-f body hello
	check_decision f3 rejected thread-closed
	rcli FCALL modq_thread 0 t-f premod alice >/dev/null
	xadd id f4 thread t-f body hello
	check_decision f4 held thread-premod
	rcli FCALL modq_thread 0 t-f open alice >/dev/null
	check_eq "modq_thread open removes the mode" "$(rcli HEXISTS modq:thread:t-f mode)" 0
	xadd id f5 thread t-f body hello
	check_decision f5 approved ""
	check_match "bad author state is refused" "$(rcli FCALL modq_author 0 u-f bogus alice 2>&1)" \
	    "^ERR modq: bad author state '?bogus"
	check_match "bad thread state is refused" "$(rcli FCALL modq_thread 0 t-f banned alice 2>&1)" \
	    "^ERR modq: bad thread state '?banned"
	check_hash modq:author:u-f trust ""

	# Moderator decisions on a held comment.
	check_eq "modq_approve" "$(rcli FCALL modq_approve 0 g1 carol "fine in context")" 1
	check_field g1 status approved
	check_field g1 decided_by carol
	check_field g1 note "fine in context"
	check_field g1 reasons author-premod
	check_eq "g1 left the held queue" "$(rcli ZSCORE modq:held g1)" ""
	check_decisions g1 "held/author-premod/modqd;approved/author-premod/carol"
	check_eq "author u-g counters moved" \
	    "$(rcli --raw HMGET modq:author:u-g approved held | paste -sd' ' -)" "1 0"
	check_eq "approving twice changes nothing" "$(rcli FCALL modq_approve 0 g1 carol)" 0
	check_eq "modq_reject of an unknown id" "$(rcli FCALL modq_reject 0 nosuch carol 2>&1)" \
	    "ERR modq: no comment nosuch"
	check_stats moderated=1
	# s5 (thread t-pre, no author) is held: approving it must work the same.
	A0=$(rcli XLEN modq:audit)
	check_eq "modq_approve of a comment without author" "$(rcli FCALL modq_approve 0 s5 carol 2>&1)" 1
	check_field s5 status approved
	check_eq "audit entry of the approval of s5" "$(rcli XLEN modq:audit)" $((A0 + 1))
	check_stats moderated=2
	check_decisions s5 "held/thread-premod/modqd;approved/thread-premod/carol"

	# Rejection history: two rejections of two decisions hold the next one.
	xadd id hr1 author u-hr body "shit"
	check_decision hr1 rejected slurs
	xadd id hr2 author u-hr body "shit again"
	check_decision hr2 rejected slurs
	xadd id hr3 author u-hr body "hello"
	check_decision hr3 held rejection-history
	xadd id hr4 author u-tr body "hello again" # trusted: history not applied
	check_decision hr4 approved ""
}

# --- 5 dead: dead letters; entries of a dead consumer; a bad key --------------

sec_dead() {
	section "5 dead: dead letters; entries of a dead consumer; a bad key"
	fresh
	write_conf "$TMP/dead.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { max_body = 64; max_deliveries = 2; claim_idle_ms = 200; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "shit" ]; } );
EOF
	# Before modqd runs: one entry read by a consumer that then dies (one
	# delivery), one read and retried until it reached the delivery limit.
	rcli XGROUP CREATE modq:incoming modqd 0 MKSTREAM >/dev/null
	xadd id gd1 author u-1 body "left by a dead consumer"
	xadd id gd2 author u-1 body "delivered too often"
	rcli XREADGROUP GROUP modqd ghost COUNT 2 STREAMS modq:incoming '>' >/dev/null
	rcli XCLAIM modq:incoming modqd ghost 0 "${SID[gd2]}" RETRYCOUNT 2 >/dev/null
	check_eq "ghost consumer holds both" "$(rcli XPENDING modq:incoming modqd | head -1)" 2
	start_modqd "$TMP/dead.conf" "$TMP/dead.log" || exit 1
	check_decision gd1 approved ""
	check_decisions gd1 "approved//modqd"
	check_log "$TMP/dead.log" "intake: took [0-9]+ idle pending entries"
	ND=0
	declare -A DEAD # stream id -> expected dead letter
	declare -A DID # stream id -> the id its decisions entry gives
	dead() { # dead "error" field value ...
		local err=$1 f="" i
		shift
		xadd "$@"
		for ((i = 1; i < $#; i += 2)); do
			local j=$((i + 1))
			f="$f|${!i}=${!j}"
		done
		DEAD[$LAST_SID]="error=$err|stream_id=$LAST_SID$f"
		DID[$LAST_SID]=
		for ((i = 1; i < $#; i += 2)); do
			local j=$((i + 1))
			[ "${!i}" = id ] && [[ ${!j} =~ ^[A-Za-z0-9._:-]{1,128}$ ]] &&
			    DID[$LAST_SID]=${!j}
		done
		ND=$((ND + 1))
	}
	ID128=$(rep a 128)
	BADID="bad id: must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"
	BADNAME="must be 1 to 256 bytes of UTF-8 without control characters"
	dead "missing field: id" author u-1 body "no id here"
	dead "missing field: body" id d2 author u-1
	dead "$BADID" id "bad id!" body x
	dead "$BADID" id "a${ID128}" body x
	dead "$BADID" id "" body x
	# A newline in an id must not start a log line of its own (under systemd
	# "<2>" would set its priority): the log escapes it.
	dead "$BADID" id $'a\n<2>x' body x
	dead "body too large: 65 bytes (queue.max_body is 64)" id d-big body "$(rep b 65)"
	dead "body is not valid UTF-8 (at byte 2)" id d-utf body $'ab\xffcd'
	dead "body is not valid UTF-8 (at byte 1)" id d-over body $'x\xc0\xaf'
	dead "body is not valid UTF-8 (at byte 2)" id d-surr body $'ok\xed\xa0\x80'
	dead "body is not valid UTF-8 (at byte 3)" id d-trunc body $'abc\xe2\x82'
	dead "bad author: $BADNAME" id d-auth2 author "$(rep u 257)" body x
	dead "bad thread: $BADNAME" id d-thr thread $'t\x01' body x
	dead "bad thread: $BADNAME" id d-thr2 thread $'t\xe2\x80\xaeu' body x
	dead "duplicate field: body" id d-dup body a body b
	dead "duplicate field: id" id d-dup2 id d-dup3 body a
	dead "reserved field: status" id d-res body x status approved
	dead "reserved field: decided_by" id d-res2 body x decided_by mallory
	dead "bad field name: must be 1 to 64 characters of A-Z a-z 0-9 . _ : -" \
	    id d-name body x "bad name" v
	dead "bad field name: must be 1 to 64 characters of A-Z a-z 0-9 . _ : -" \
	    id d-name2 body x "$(rep f 65)" v
	dead "field sig too large: 65 bytes" id d-sig body x sig "$(rep s 65)"
	EXTRA=()
	for i in $(seq 1 33); do EXTRA+=("e$i" "v$i"); done
	# A dead letter keeps at most 37 fields, and says what it left out.
	xadd id d-many author u-1 ip 192.0.2.1 thread t body x "${EXTRA[@]}"
	KEPT=""
	for i in $(seq 1 32); do KEPT="$KEPT|e$i=v$i"; done
	DEAD[$LAST_SID]="error=too many fields (33 besides id, body, author, ip and thread; at most 32)|stream_id=$LAST_SID|cut=kept 37 of 38 fields|id=d-many|author=u-1|ip=192.0.2.1|thread=t|body=x$KEPT"
	DID[$LAST_SID]=d-many
	ND=$((ND + 1))
	# The limits themselves are accepted.
	xadd id "$ID128" body "$(rep b 64)"
	xadd id ok-32 author u-1 ip 192.0.2.1 thread t body x "${EXTRA[@]:0:64}"
	xadd id ok-utf8 body "naïve café ✓ 𝄞 Привет"
	xadd id ok-v6 ip 2001:db8::1 author "ü-ñ" thread "fil:ü" body "x"
	xadd id ok-name body x "$(rep f 64)" v
	# Ordinary values a site sends: empty optional fields are as if absent,
	# a name with spaces, the longest name, an address list (the first is
	# the client's), an ip that is no address (judged without ip rules,
	# with a warning on the record).
	xadd id ok-empty author "" thread "" ip "" body x
	xadd id ok-space author "John Smith" thread "Pakistan, India and the US" body x
	xadd id ok-256 author "$(rep u 256)" body x
	xadd id ok-xff ip " 203.0.113.9 , 10.0.0.1, 10.0.0.2" body x
	xadd id ok-badip ip 999.1.1.1 body x
	check_decision ok-empty approved ""
	check_eq "ok-empty: no author key, no warnings" \
	    "$(rcli EXISTS modq:author: modq:thread:) $(rcli HEXISTS modq:c:ok-empty warnings)" "0 0"
	check_decision ok-space approved ""
	check_eq "an author with a space has its counters" \
	    "$(rcli --raw HGET "modq:author:John Smith" approved)" 1
	check_status ok-256 approved
	check_decision ok-xff approved ""
	check_eq "ok-xff: the first address, no warnings" \
	    "$(rcli HEXISTS modq:c:ok-xff warnings) $(rcli --raw HGET modq:c:ok-xff ip)" \
	    "0  203.0.113.9 , 10.0.0.1, 10.0.0.2"
	check_decision ok-badip approved ""
	check_field ok-badip warnings "ip: not an IPv4 or IPv6 address, judged without ip rules"
	check_status "$ID128" approved
	check_status ok-32 approved
	check_eq "all 32 extra fields kept" "$(rcli HLEN modq:c:ok-32)" $((5 + 32 + 8))
	check_field ok-32 e32 v32
	check_decision ok-utf8 approved ""
	check_field ok-utf8 body "naïve café ✓ 𝄞 Привет"
	check_decision ok-v6 approved ""
	check_field ok-v6 author "ü-ñ"
	check_status ok-name approved
	# gd2: claimed once more (3 deliveries) is over queue.max_deliveries = 2.
	DEAD[${SID[gd2]}]="error=too many deliveries (3, queue.max_deliveries is 2)|stream_id=${SID[gd2]}|id=gd2|author=u-1|body=delivered too often"
	DID[${SID[gd2]}]=gd2
	ND=$((ND + 1))
	wait_dead $ND
	for s in "${!DEAD[@]}"; do
		check_dead_letter "$s" "${DEAD[$s]}"
	done
	check_eq "no record for any dead letter" \
	    "$(rcli --raw EXISTS modq:c:d2 modq:c:d-big modq:c:d-utf modq:c:d-auth2 modq:c:d-thr modq:c:d-dup modq:c:d-res modq:c:d-many modq:c:gd2)" 0
	check_no_pending "every dead letter is acknowledged"
	check_stats dead=$ND processed=$((ND + 11)) approved=11
	check_log "$TMP/dead.log" "comment gd2 \(${SID[gd2]}\): dead letter: too many deliveries"
	check_log "$TMP/dead.log" "comment - \([0-9-]+\): dead letter: missing field: id"
	check_log "$TMP/dead.log" 'comment a\\n<2>x \([0-9-]+\): dead letter: bad id'
	check_nolog "$TMP/dead.log" '^<2>x'
	# Each has its decisions entry: status error, the kind, the id when it
	# is valid (a bad one is never repeated there), the stream id.
	for s in "${!DEAD[@]}"; do
		check_eq "decisions entry of dead letter $s" \
		    "$(rcli --raw EVAL "local r = {} for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do local f = e[2] if f[10] == ARGV[1] then r[#r + 1] = f[2] .. '|' .. f[4] .. '|' .. f[6] end end return table.concat(r, ';')" 1 modq:decisions "$s" | sed 's/|[a-z0-9-]*$//')" \
		    "${DID[$s]-}|error"
	done
	# A NUL byte cannot pass as part of an address (redis-cli turns \x00 into
	# one byte when it reads commands from stdin).
	printf '%s\n' 'XADD modq:incoming * id d-nul ip "192.0.2.1\x00junk" body x' | rcli_stdin >/dev/null
	NUL_SID=$(rcli --raw XREVRANGE modq:incoming + - COUNT 1 | head -1)
	wait_dead_or_decided() {
		local DEADLINE
		deadline "$WAIT_MS"
		while [ -z "$(dead_of "$NUL_SID" | cut -d'|' -f1)" ] && [ -z "$(rcli --raw HGET modq:c:d-nul status)" ] &&
		    ! expired; do
			sleep 0.05
		done
	}
	wait_dead_or_decided
	check_eq "an ip with a NUL is no address: judged, with a warning" \
	    "$(rcli --raw HMGET modq:c:d-nul status warnings | paste -sd'|' -)" \
	    "approved|ip: not an IPv4 or IPv6 address, judged without ip rules"
	printf '%s\n' 'XADD modq:incoming * id d-nulb body "fine\x00 you shit"' | rcli_stdin >/dev/null
	check_decision d-nulb rejected slurs
	check_running "modqd survived every bad entry" "$MODQD_PID"
	# A comment whose author key holds the wrong type (an operator's mistake)
	# must not take the comments batched with it down.  modqd is stopped
	# while they are added, so pz1 and pz2 come in one batch (its blocked
	# XREADGROUP takes pz0 alone).
	rcli SET modq:author:poison x >/dev/null
	NL0=$(wc -l <"$TMP/dead.log")
	kill -STOP "$MODQD_PID"
	xadd id pz0 body "first"
	xadd id pz1 author poison body "author key is a string"
	xadd id pz2 body "innocent bystander"
	kill -CONT "$MODQD_PID"
	check_decision pz0 approved ""
	WAIT_MS=3000 wait_decided pz2
	check_eq "comment pz2 status" "$WD_STATUS" approved
	WAIT_MS=3000 wait_decided pz1
	check_eq "comment pz1 is judged without the author's state" "$WD_STATUS" approved
	wait_no_pending 3000
	check_eq "an innocent comment is no dead letter" "$(dead_of "${SID[pz2]}" | cut -d'|' -f1)" ""
	check_eq "no idle claims of the batch with the bad key" \
	    "$(tail -n +"$NL0" "$TMP/dead.log" | grep -c "took [0-9]* idle pending entries")" 0
	rcli DEL modq:author:poison >/dev/null
	# A comment key that is not a hash dead-letters its comment, once: a
	# batch retried after its modq_decide ran (another reply of the round
	# failed) sends the same item again.  Keys of their own, beside modqd's.
	rcli XADD nh:incoming 1-1 id nh1 body b >/dev/null
	rcli XGROUP CREATE nh:incoming g 0 >/dev/null
	rcli XREADGROUP GROUP g c COUNT 1 STREAMS nh:incoming '>' >/dev/null
	rcli SET nh:c:nh1 x >/dev/null
	site_conf rcli nh
	decide_nh() {
		rcli --raw FCALL modq_decide "$@" nh:incoming g 2592000 1000 0 \
		    nh:held nh:decisions nh:stats nh:dead d 1-1 nh:c:nh1 nh1 \
		    approved "" "" "" 0123456789abcdef 000000000001 0 1 approved \
		    2 10 id nh1 body b status approved reasons "" matched "" \
		    decided_by modqd ruleset x stream_id 1-1 \
		    digest 0123456789abcdef decided_at 0
	}
	# the site's prefix is the call's key: with none (modq), nh's keys
	# are outside it, and nothing is written
	check_eq "another prefix's keys are refused" "$(decide_nh 0 2>&1)" \
	    "ERR modq: the stream is not modq:incoming"
	check_eq "a key not a hash: a dead letter" "$(decide_nh 1 nh)" 1
	# regression (fixed): the same item again wrote a second dead letter
	check_eq "the same item again: nothing written" "$(decide_nh 1 nh)" 0
	check_eq "one dead letter and one decisions entry, counted once" \
	    "$(rcli XLEN nh:dead) $(rcli XLEN nh:decisions) $(rcli --raw HGET nh:stats dead)" \
	    "1 1 1"
	check_eq "acknowledged" "$(rcli XPENDING nh:incoming g | head -1)" 0
}

# --- 6 kill: kill -9 mid-flow, restart: exactly one decision each -------------

sec_kill() {
	section "6 kill: kill -9 mid-flow, restart: exactly one decision each"
	fresh
	write_conf "$TMP/kill.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { batch = 2; max_inflight = 4; claim_idle_ms = 400; consumer = "k-1"; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "shit" ]; },
  { name = "watch"; action = "hold";   words = [ "traitor" ]; }
);
rates: ( { name = "author-flood"; per = "author"; limit = 1; window = 3600; action = "hold"; } );
log: { decisions = false; };
EOF
	N=2100
	# The comments as Redis protocol for redis-cli --pipe: the first 2000 go
	# in at once, so modqd has a backlog when it is killed.
	awk -v n=$N -v dir="$TMP" 'function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
BEGIN {
	for (i = 1; i <= n; i++) {
		b = "comment number " i
		if (i % 25 == 0) b = "you shit " i
		else if (i % 10 == 0) b = "traitor " i
		f = i <= 2000 ? "/feed1.resp" : "/feed2.resp"
		printf "*9\r\n%s%s%s%s%s%s%s%s%s", arg("XADD"), arg("modq:incoming"),
		    arg("*"), arg("id"), arg("k" i), arg("author"), arg("ka" i),
		    arg("body"), arg(b) >(dir f)
	}
}'
	start_modqd "$TMP/kill.conf" "$TMP/kill1.log" || exit 1
	redis-cli -s "$SOCK" --pipe <"$TMP/feed1.resp" >"$TMP/feed1.out" 2>&1 &
	FEED_PID=$!
	track_pid $FEED_PID
	P=$(rcli --raw HGET modq:stats processed)
	deadline 20000
	while [ "${P:-0}" -lt 200 ] && ! expired; do
		sleep 0.01
		P=$(rcli --raw HGET modq:stats processed)
	done
	kill9_modqd
	KILLED_AT=$(rcli --raw HGET modq:stats processed)
	PEND=$(rcli XPENDING modq:incoming modqd | head -1)
	deadline 20000
	while kill -0 $FEED_PID 2>/dev/null && ! expired; do sleep 0.05; done
	kill $FEED_PID 2>/dev/null
	wait $FEED_PID 2>/dev/null
	untrack_pid $FEED_PID
	echo "   (killed at $KILLED_AT processed, $PEND pending)"
	check_range "killed after it started deciding" "$KILLED_AT" 1 2000
	# The last 100 comments: a dead consumer "ghost" takes 50 and never
	# acknowledges them, and 30 are left pending under modqd's own name (as if
	# read just before the kill), so both recovery paths run for sure.
	rcli --pipe <"$TMP/feed2.resp" >"$TMP/feed2.out" 2>&1
	rcli XREADGROUP GROUP modqd ghost COUNT 50 STREAMS modq:incoming '>' >/dev/null
	rcli XREADGROUP GROUP modqd k-1 COUNT 30 STREAMS modq:incoming '>' >/dev/null
	start_modqd "$TMP/kill.conf" "$TMP/kill2.log" || exit 1
	check_log "$TMP/kill2.log" "intake: took [0-9]+ of our own pending entries"
	check_log "$TMP/kill2.log" "intake: took [0-9]+ idle pending entries"
	check_eq "every comment was added" \
	    "$(rcli XINFO STREAM modq:incoming | grep -A1 -x entries-added | tail -1)" $N
	check_eq "all processed" "$(wait_hash modq:stats processed $N 30000)" $N
	check_eq "decisions: entries, distinct ids, ids decided twice" \
	    "$(rcli --raw EVAL "$LUA_DECISION_COUNTS" 1 modq:decisions)" "$N $N 0"
	check_no_pending "nothing pending after the restart"
	check_stats approved=1848 held=168 rejected=84
	check_hash modq:stats rule:author-flood "" # redeliveries not counted twice
	check_eq "records" "$(rcli --scan --pattern 'modq:c:*' | wc -l)" $N
	check_eq "held queue" "$(rcli ZCARD modq:held)" 168
	check_decisions k1000 "rejected/slurs/modqd"
	check_decisions k990 "held/watch/modqd"
	check_decisions k2090 "held/watch/modqd"
	check_decisions k2099 "approved//modqd"
	check_nolog "$TMP/kill2.log" "comment k[0-9]+ \([0-9-]+\): (approved|held|rejected)" # log.decisions = false
	stop_modqd
	# A read larger than one transaction (queue.batch = 600) goes on as
	# batches of at most 64 comments: Redis 7.0's WATCH costs the square of
	# its keys.  Ten WATCHes, every comment decided once.
	fresh
	write_conf "$TMP/big.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { batch = 600; max_inflight = 1024; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "shit" ]; } );
log: { decisions = false; };
EOF
	awk 'function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
BEGIN {
	for (i = 1; i <= 600; i++)
		printf "*7\r\n%s%s%s%s%s%s%s", arg("XADD"), arg("modq:incoming"),
		    arg("*"), arg("id"), arg("bg" i), arg("body"),
		    arg(i % 3 == 0 ? "shit " i : "fine " i)
}' >"$TMP/big.resp"
	rcli --pipe <"$TMP/big.resp" >"$TMP/big.out" 2>&1
	rcli CONFIG RESETSTAT >/dev/null
	start_modqd "$TMP/big.conf" "$TMP/big.log" || exit 1
	check_eq "all 600 processed" "$(wait_hash modq:stats processed 600 30000)" 600
	check_no_pending "nothing pending after the large read"
	check_stats approved=400 rejected=200
	check_eq "decisions: entries, distinct ids, ids decided twice" \
	    "$(rcli --raw EVAL "$LUA_DECISION_COUNTS" 1 modq:decisions)" "600 600 0"
	check_eq "ten transactions of at most 64" \
	    "$(rcli INFO commandstats | tr -d '\r' | grep -o 'cmdstat_watch:calls=[0-9]*')" \
	    "cmdstat_watch:calls=10"
	stop_modqd
}

# --- 7 replay: a retried or redelivered comment is counted once ---------------

sec_replay() {
	section "7 replay: a retried or redelivered comment is counted once"
	fresh
	write_conf "$TMP/replay.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { claim_idle_ms = 300; consumer = "rp-1"; };
rates: ( { name = "author-flood"; per = "author"; limit = 1; window = 3600; action = "hold"; } );
EOF
	# modqd records rp1's context (its rate event), then its decision fails
	# (the test turns modq:decisions into a string, so that every write fails
	# with WRONGTYPE) so it retries, and dies by kill -9 before any decision:
	# rp1 stays pending with its rate event recorded, maybe several times
	# over.  The restarted daemon takes it back; with limit = 1, rp1 must still
	# be approved: counted once.
	start_modqd "$TMP/replay.conf" "$TMP/replay.log" || exit 1
	check_eq "break the decisions stream" "$(rcli SET modq:decisions broken)" OK
	xadd id rp1 author rp-a body hello
	wait_log_count "$TMP/replay.log" "modq_decide: WRONGTYPE" 2
	check_range "the batch was retried from its context" \
	    "$(grep -c "modq_decide: WRONGTYPE" "$TMP/replay.log")" 2 99
	kill9_modqd
	check_eq "rp1 is pending, undecided" \
	    "$(rcli XPENDING modq:incoming modqd | head -1) $(rcli EXISTS modq:c:rp1)" "1 0"
	check_eq "mend the decisions stream" "$(rcli DEL modq:decisions)" 1
	start_modqd "$TMP/replay.conf" "$TMP/replay2.log" || exit 1
	check_log "$TMP/replay2.log" "intake: took 1 of our own pending entries"
	check_decision rp1 approved ""
	xadd id rp2 author rp-a body again
	check_decision rp2 held author-flood
	check_decisions rp1 "approved//modqd"
	check_stats processed=2 rule:author-flood=1
	check_no_pending
	# q2 is the second comment of its author in the window (limit 1: held).
	# Its decision fails and is retried; meanwhile q3 of the same author is
	# recorded too.  The retried q2 must still count q1 before it.
	xadd id q1 author qa body one
	check_decision q1 approved ""
	check_eq "break the decisions stream again" "$(rcli SET modq:decisions broken)" OK
	xadd id q2 author qa body two
	wait_log "$TMP/replay2.log" "batch of 1 from ${SID[q2]}: modq_decide: WRONGTYPE"
	xadd id q3 author qa body three
	wait_log "$TMP/replay2.log" "batch of 1 from ${SID[q3]}: modq_decide: WRONGTYPE"
	check_eq "mend the decisions stream again" "$(rcli DEL modq:decisions)" 1
	check_decision q3 held author-flood
	# regression (fixed): a retried or redelivered comment is recounted against a rate window trimmed to limit + 1 records: the records before it are gone, so the rule no longer fires (modq.lua rate_count)
	check_decision q2 held author-flood
	check_no_pending
	# A batch that keeps failing for longer than queue.claim_idle_ms still
	# belongs to a live daemon: modqd must not take its own in-flight entries
	# back as "idle" (each time counting a delivery), and once Redis accepts
	# the decision the comment is decided, not dead-lettered.
	check_eq "break the decisions stream once more" "$(rcli SET modq:decisions broken)" OK
	NL0=$(wc -l <"$TMP/replay2.log")
	xadd id sl1 author sla body "slow to decide"
	wait_log "$TMP/replay2.log" "batch of 1 from ${SID[sl1]}: modq_decide: WRONGTYPE"
	deadline 3000 # ten claim_idle_ms
	until tail -n +"$NL0" "$TMP/replay2.log" | grep -q "took [0-9]* idle pending entries" || expired; do
		sleep 0.05
	done
	# regression (fixed): modqd XAUTOCLAIMs its own in-flight (retrying) entries as idle: the batch runs twice at once and each claim counts a delivery
	check_eq "no idle claim while only this daemon runs" \
	    "$(tail -n +"$NL0" "$TMP/replay2.log" | grep -c "took [0-9]* idle pending entries")" 0
	check_eq "mend the decisions stream once more" "$(rcli DEL modq:decisions)" 1
	check_no_pending
	# However the copies race, sl1 has one outcome: a decision or a dead letter.
	wait_decided sl1 3000
	check_eq "sl1: one decision or one dead letter" \
	    "$(($(decisions_of sl1 | tr ";" "\n" | grep -c .) + $(dead_of "${SID[sl1]}" | grep -c .)))" 1
	# An older entry of an id, left by a dead consumer, is claimed after a
	# newer entry of the same id was decided: the newer record must stand.
	stop_modqd
	xadd id ov1 author ova body "first version"
	rcli XREADGROUP GROUP modqd ghost COUNT 1 STREAMS modq:incoming '>' >/dev/null
	OV_OLD=${SID[ov1]}
	xadd id ov1 author ova body "second version"
	start_modqd "$TMP/replay.conf" "$TMP/replay3.log" || exit 1
	check_log "$TMP/replay3.log" "intake: took 1 idle pending entries"
	check_no_pending "the old entry is acknowledged"
	# regression (fixed): an older entry of a comment id, claimed late, replaces the record of a newer entry already decided
	check_eq "the newest version stands" \
	    "$(rcli --raw HMGET modq:c:ov1 body stream_id | paste -sd'|' -)" "second version|${SID[ov1]}"
	stop_modqd
}

# --- 8 restart: Redis restart (appendonly) while modqd runs -------------------

sec_restart() {
	section "8 restart: Redis restart (appendonly) while modqd runs"
	fresh
	stop_redis
	mkdir -p "$TMP/aof"
	AOF=(--appendonly yes --appendfsync always --dir "$TMP/aof")
	start_redis "$TMP" "$SOCK" "${AOF[@]}" || { echo "integration: cannot start redis-server"; exit 1; }
	write_conf "$TMP/restart.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 1000; };
queue: { claim_idle_ms = 500; };
EOF
	start_modqd "$TMP/restart.conf" "$TMP/restart.log" || exit 1
	xadd id rs1 author u-1 body before
	check_decision rs1 approved ""
	stop_redis
	check_log "$TMP/restart.log" "redis: (intake|command|write) connection lost"
	check_log "$TMP/restart.log" "redis: reconnecting in [0-9]+ ms"
	# Let modqd meet the missing server at least once before it comes back.
	wait_log "$TMP/restart.log" "No such file or directory|Connection refused|cannot connect" 3000
	start_redis "$TMP" "$SOCK" "${AOF[@]}" || { echo "integration: cannot restart redis-server"; exit 1; }
	check_field rs1 status approved # the data survived (appendonly)
	xadd id rs2 author u-1 body after
	check_status rs2 approved
	check_eq "connected twice" "$(grep -c 'redis: connected' "$TMP/restart.log")" 2
	check_running "modqd still runs" "$MODQD_PID"
	stop_modqd
	check_eq "modqd exits 0 on SIGTERM while Redis was lost" "$MODQD_RC" 0
	stop_redis
	start_redis "$TMP" "$SOCK" || { echo "integration: cannot start redis-server"; exit 1; }
}

# --- 9 stall: SIGSTOP'd Redis, FUNCTION FLUSH, CLIENT KILL, no stream, OOM ----

sec_stall() {
	section "9 stall: SIGSTOP'd Redis, FUNCTION FLUSH, CLIENT KILL, no stream, OOM"
	fresh
	write_conf "$TMP/stop.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 500; };
queue: { claim_idle_ms = 400; };
keywords: ( { name = "watch"; action = "hold"; words = [ "traitor" ]; } );
EOF
	start_modqd "$TMP/stop.conf" "$TMP/stop.log" || exit 1
	xadd id p0 body before
	check_decision p0 approved ""
	for i in $(seq 1 20); do xadd id p$i author pa$i body "comment $i"; done
	kill -STOP "$REDIS_PID"
	wait_log "$TMP/stop.log" "no reply within 500 ms" 8000
	# Keep it stopped until a reconnect attempt has also timed out.
	wait_log_count "$TMP/stop.log" "no reply within 500 ms" 3 6000
	kill -CONT "$REDIS_PID"
	check_log "$TMP/stop.log" "redis: (intake|command|write) connection: no reply within 500 ms"
	check_log "$TMP/stop.log" "redis: reconnecting in"
	wait_log_count "$TMP/stop.log" "redis: connected to" 2
	check_eq "reconnected after the stall" "$(grep -c "redis: connected to" "$TMP/stop.log")" 2
	for i in 1 7 20; do check_decision p$i approved ""; done
	for i in $(seq 1 20); do wait_decided p$i >/dev/null; done
	check_eq "all 21 decided once" "$(rcli --raw EVAL "$LUA_DECISION_COUNTS" 1 modq:decisions)" "21 21 0"
	xadd id p21 body after
	check_decision p21 approved ""
	check_no_pending
	check_running "modqd still runs after the stall" "$MODQD_PID"
	# A running modqd recovers from FUNCTION FLUSH (and so from a Redis that
	# restarted empty): "Function not found" makes it load the library again.
	check_eq "FUNCTION FLUSH" "$(rcli FUNCTION FLUSH)" OK
	xadd id fl1 author fa body "after the flush, traitor"
	check_decision fl1 held watch
	check_log "$MODQD_LOG" "redis: modq functions reloaded"
	check_eq "library is back" "$(rcli --raw FUNCTION LIST | sed -n 2p)" modq
	check_eq "moderators can use it again" "$(rcli FCALL modq_approve 0 fl1 alice)" 1
	xadd id fl2 body "second"
	check_decision fl2 approved ""
	check_decisions fl1 "held/watch/modqd;approved/watch/alice"
	check_no_pending
	# The connections drop (CLIENT KILL): modqd reconnects and goes on.
	NLOST=$(grep -c "connection lost" "$MODQD_LOG")
	check_eq "CLIENT KILL drops modqd's six connections" "$(rcli CLIENT KILL TYPE normal)" 6
	wait_log_count "$MODQD_LOG" "redis: connected to" 2
	xadd id fl3 body "after the drop"
	check_decision fl3 approved ""
	check_range "the drop was logged" "$(grep -c "connection lost" "$MODQD_LOG")" $((NLOST + 1)) 99
	# The stream and its group vanish (DEL, as after FLUSHALL): modqd
	# creates them again and decides what is added afterwards.
	rcli DEL modq:incoming >/dev/null
	xadd id fl4 body "after the stream vanished"
	check_decision fl4 approved ""
	check_no_pending
	# Redis refuses writes (maxmemory reached, OOM errors) while a batch
	# is in flight: modqd backs off and decides it once Redis accepts writes.
	kill -STOP "$MODQD_PID" # its blocked XREADGROUP still gets the entry
	xadd id om1 body "while Redis is full"
	rcli CONFIG SET maxmemory 1 >/dev/null
	kill -CONT "$MODQD_PID"
	check_log "$MODQD_LOG" "OOM command not allowed"
	rcli CONFIG SET maxmemory 0 >/dev/null
	check_decision om1 approved ""
	check_decisions om1 "approved//modqd"
	check_no_pending
	check_running "modqd survived the OOM errors" "$MODQD_PID"
	stop_modqd
}

# --- 10 reload: reload (SIGHUP) -----------------------------------------------

sec_reload() {
	section "10 reload: reload (SIGHUP)"
	fresh
	echo "listword" >"$TMP/lists/words.txt"
	RC=$TMP/reload.conf
	write_conf "$RC" <<EOF
redis: { unix = "$SOCK"; };
keywords: ( { name = "old"; action = "reject"; words = [ "oldword" ]; } );
EOF
	start_modqd "$RC" "$TMP/reload.log" || exit 1
	S1=$(log_stamp "$TMP/reload.log")
	xadd id rl1 body "an oldword"
	check_decision rl1 rejected old
	check_field rl1 ruleset "$S1"
	xadd id rl1b body "a newword and listword"
	check_decision rl1b approved ""
	write_conf "$RC" <<EOF
redis: { unix = "$SOCK"; };
queue: { max_body = 32; group = "other"; };
keywords: (
  { name = "old";    action = "reject"; words = [ "oldword" ]; },
  { name = "new";    action = "reject"; words = [ "newword" ]; },
  { name = "listed"; action = "hold";   file = "lists/words.txt"; }
);
EOF
	kill -HUP "$MODQD_PID"
	check_log "$TMP/reload.log" "reloaded $RC: ruleset [0-9a-f]{12} replaces $S1"
	check_log "$TMP/reload.log" "$RC: queue.group changed; it takes effect at the next restart"
	S2=$(log_stamp "$TMP/reload.log")
	check_ne "new ruleset stamp" "$S2" "$S1"
	xadd id rl2 body "a newword"
	check_decision rl2 rejected new
	check_field rl2 ruleset "$S2"
	xadd id rl3 body "an oldword"
	check_decision rl3 rejected old
	xadd id rl4 body "listword"
	check_decision rl4 held listed
	xadd id rl5 body "$(rep z 40)"
	wait_dead 1
	check_eq "reloaded queue.max_body applies" "$(dead_of "$LAST_SID" | cut -d'|' -f1)" \
	    "error=body too large: 40 bytes (queue.max_body is 32)"

	# A syntax error: logged with file:line, old rules kept.
	printf 'redis: { unix = "%s"; };\nkeywords: (\n  { name = "x"; action = "reject"; words = [ "xword" ] }\n  { name = "y" }\n);\n' \
	    "$SOCK" >"$RC"
	kill -HUP "$MODQD_PID"
	check_log "$TMP/reload.log" "$RC: not reloading: $RC:4: syntax error"
	# A missing word list.
	write_conf "$RC" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
  { name = "x"; action = "reject"; words = [ "xword" ]; },
  { name = "gone"; action = "reject"; file = "lists/missing.txt"; }
);
EOF
	kill -HUP "$MODQD_PID"
	check_log "$TMP/reload.log" "$RC: not reloading: $RC:4: file: $TMP/lists/missing.txt: No such file or directory"
	# A typo in an option name.
	write_conf "$RC" <<EOF
redis: { unix = "$SOCK"; };
queue: { bacth = 10; };
keywords: ( { name = "x"; action = "reject"; words = [ "xword" ]; } );
EOF
	kill -HUP "$MODQD_PID"
	check_log "$TMP/reload.log" "$RC: not reloading: $RC:2: unknown option queue.bacth"
	xadd id rl6 body "a newword"
	check_decision rl6 rejected new
	check_field rl6 ruleset "$S2"
	xadd id rl7 body "an xword"
	check_decision rl7 approved ""
	check_running "modqd runs after broken reloads" "$MODQD_PID"
	check_eq "broken reloads did not change the stamp" "$(log_stamp "$TMP/reload.log")" "$S2"
	# A word list edited on disk: a reload picks it up with a new stamp.
	write_conf "$RC" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
  { name = "old";    action = "reject"; words = [ "oldword" ]; },
  { name = "new";    action = "reject"; words = [ "newword" ]; },
  { name = "listed"; action = "hold";   file = "lists/words.txt"; }
);
EOF
	printf '# comment line\nlistword\nanotherword\n' >"$TMP/lists/words.txt"
	kill -HUP "$MODQD_PID"
	check_log "$TMP/reload.log" "reloaded $RC: ruleset [0-9a-f]{12} replaces $S2"
	S3=$(log_stamp "$TMP/reload.log")
	check_ne "edited list gives a new stamp" "$S3" "$S2"
	xadd id rl8 body "anotherword"
	check_decision rl8 held listed
	check_field rl8 ruleset "$S3"
}

# --- 11 shutdown: shutdown, modqd -n, modqd -e --------------------------------

sec_shutdown() {
	section "11 shutdown: shutdown, modqd -n, modqd -e"
	fresh
	start_modqd "$TMP/out.conf" "$TMP/term.log" || exit 1
	stop_modqd
	check_eq "SIGTERM exit status" "$MODQD_RC" 0
	check_log "$TMP/term.log" "signal 15: stopping"
	check_log "$TMP/term.log" "modqd stopped"
	spawn_modqd "$TMP/out.conf" "$TMP/int.log"
	wait_log "$TMP/int.log" "ready: reading"
	kill -INT "$MODQD_PID"
	wait_exit
	check_eq "SIGINT exit status" "$MODQD_RC" 0
	check_log "$TMP/int.log" "modqd stopped"

	OUT=$("$MODQD" -n -c "$TMP/out.conf" 2>&1)
	check_eq "modqd -n good config: exit 0" "$?" 0
	check_eq "modqd -n good config: output" "$OUT" "configuration OK"
	write_conf "$TMP/bad.conf" <<EOF
redis: { unix = "$SOCK";
  timeout_ms = 5; };
queue: { bogus = 1; };
rates: ( { name = "r"; per = "email"; limit = 1; window = 1; action = "hold"; } );
EOF
	OUT=$("$MODQD" -n -c "$TMP/bad.conf" 2>&1)
	check_eq "modqd -n bad config: exit 1" "$?" 1
	check_eq "modqd -n bad config: every error with file:line" "$OUT" \
	    "$TMP/bad.conf:2: timeout_ms: 5 is out of range (10 to 600000)
$TMP/bad.conf:3: unknown option queue.bogus
$TMP/bad.conf:4: per: \"email\" is not author, ip or thread"
	printf 'keywords: (\n  { name = ; }\n);\n' >"$TMP/syntax.conf"
	OUT=$("$MODQD" -n -c "$TMP/syntax.conf" 2>&1)
	check_eq "modqd -n syntax error: exit 1" "$?" 1
	check_eq "modqd -n syntax error: file:line" "$OUT" "$TMP/syntax.conf:2: syntax error"
	OUT=$("$MODQD" -n -c "$TMP/nosuch.conf" 2>&1)
	check_eq "modqd -n missing config: exit 1" "$?" 1
	check_eq "modqd -n missing config: message" "$OUT" "$TMP/nosuch.conf: No such file or directory"
	write_conf "$TMP/list.conf" <<EOF
keywords: (
  { name = "gone"; action = "reject"; file = "lists/missing.txt"; }
);
EOF
	OUT=$("$MODQD" -n -c "$TMP/list.conf" 2>&1)
	check_eq "modqd -n missing word list: exit 1" "$?" 1
	check_eq "modqd -n missing word list: message" "$OUT" \
	    "$TMP/list.conf:2: file: $TMP/lists/missing.txt: No such file or directory"
	# -e judges offline: its config points at a socket where nothing listens.
	write_conf "$TMP/eval.conf" <<EOF
redis: { unix = "$TMP/nobody.sock"; };
keywords: (
  { name = "slurs"; action = "reject"; words = [ "ass", "shit" ]; },
  { name = "watch"; action = "hold";   words = [ "traitor" ]; }
);
allow = [ "scunthorpe" ];
EOF
	OUT=$("$MODQD" -c "$TMP/eval.conf" -e "fine words" "traitor and sh1t" "Scunthorpe class" "you t.r.a.i.t.o.r" 2>&1)
	check_eq "modqd -e exit 0" "$?" 0
	check_eq "modqd -e output" "$OUT" "approve	-	-	-
reject	slurs watch	slurs:\"sh1t\" watch:\"traitor\"	-
approve	-	-	-
hold	watch	watch:\"t.r.a.i.t.o.r\"	-"
	"$MODQD" -c "$TMP/eval.conf" -e >/dev/null 2>&1
	check_eq "modqd -e without text: usage, exit 2" "$?" 2
	# -e ends the options: what follows is text, dashes and all.
	OUT=$("$MODQD" -c "$TMP/eval.conf" -e "------> RT traitor" -n -- -c "-e" 2>&1)
	check_eq "modqd -e: texts that start with a dash: exit 0" "$?" 0
	check_eq "modqd -e: texts that start with a dash" "$OUT" "hold	watch	watch:\"traitor\"	-
approve	-	-	-
approve	-	-	-
approve	-	-	-
approve	-	-	-"
	OUT=$("$MODQD" -c "$TMP/eval.conf" -e -- -n -- 2>&1)
	check_eq "modqd -e -- TEXT: the -- right after -e ends the options" "$OUT" \
	    "approve	-	-	-
approve	-	-	-"
	"$MODQD" -c "$TMP/eval.conf" -ex >/dev/null 2>&1
	check_eq "modqd -ex: -e must end its word: usage, exit 2" "$?" 2
	OUT=$("$MODQD" -c "$TMP/eval.conf" -e - traitor 2>&1)
	check_eq "modqd -e - TEXT: '-' among texts is a text" "$OUT" "approve	-	-	-
hold	watch	watch:\"traitor\"	-"
	# -e -: one text per line of standard input; a line longer than
	# queue.max_body is read past, not judged, and reported.
	write_conf "$TMP/eval16.conf" <<EOF
queue: { max_body = 16; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "shit" ]; },
            { name = "watch"; action = "hold";   words = [ "traitor" ]; } );
EOF
	printf '%s\n' "-n traitor" "0123456789abcdef" "0123456789abcdefg" "" "sh1t" \
	    >"$TMP/lines.txt"
	printf 'a traitor' >>"$TMP/lines.txt" # and no newline
	"$MODQD" -c "$TMP/eval16.conf" -e - <"$TMP/lines.txt" >"$TMP/lines.out" 2>"$TMP/lines.err"
	check_eq "modqd -e -: a line too long: exit 1" "$?" 1
	check_eq "modqd -e -: one line of output per line of input" "$(cat "$TMP/lines.out")" \
	    "hold	watch	watch:\"traitor\"	-
approve	-	-	-
dead	-	-	-
approve	-	-	-
reject	slurs	slurs:\"sh1t\"	-
hold	watch	watch:\"traitor\"	-"
	check_eq "modqd -e -: the line too long on standard error" "$(cat "$TMP/lines.err")" \
	    "modqd: line 3: body too large: 17 bytes (queue.max_body is 16)"
	OUT=$(printf 'fine\n' | "$MODQD" -c "$TMP/eval16.conf" -e - 2>&1)
	check_eq "modqd -e -: every line judged: exit 0" "$?:$OUT" "0:approve	-	-	-"
	# -V, and the usage that -h prints: the forms of modqd(8)'s SYNOPSIS.
	OUT=$("$MODQD" -V 2>&1)
	check_eq "modqd -V: exit 0" "$?" 0
	check_eq "modqd -V: the version" "$OUT" \
	    "modqd $(sed -n 's/^#define MODQD_VERSION "\(.*\)"$/\1/p' "$TOP/include/modqd.h")"
	OUT=$("$MODQD" -h 2>&1)
	check_eq "modqd -h: exit 2" "$?" 2
	check_eq "modqd -h: the usage" "$OUT" "usage: modqd [-dv] [-c file]
       modqd [-W] [-c file] -n
       modqd [-c file] -e text ...
       modqd [-c file] -e -
       modqd [-c file] -t file
       modqd [-c file] -t -
       modqd [-c file] -R count
       modqd -V"
	check_eq "modqd(8) SYNOPSIS: the forms of the usage" "$(synopsis modqd.8)" \
	    "$(sed -e 's/^usage: //' -e 's/^ *//' <<<"$OUT")"
	write_conf "$TMP/sub.conf" <<EOF
keywords: ( { name = "urls"; action = "hold"; match = "substring"; words = [ "bit.ly/" ]; } );
EOF
	check_eq "substring rule matches a link" "$("$MODQD" -c "$TMP/sub.conf" -e "see rabbit.ly/x" 2>&1 | cut -f1,2)" \
	    "hold	urls"
	# regression (fixed): substring rule "bit.ly/" drops its dot and slash: it holds ordinary prose (rules/ normalisation)
	check_eq "substring rule ignores prose" "$("$MODQD" -c "$TMP/sub.conf" -e "a bit. lyrical" "bit.lyrics" 2>&1)" \
	    "approve	-	-	-
approve	-	-	-"
	readme_examples
}

# The SYNOPSIS of a man page of daemon/, one form a line, written as a
# usage message writes it: "modqd [-dv] [-c file]".
synopsis() {
	sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$TOP/daemon/$1" | awk '
	function flush() { if (l != "") print l; l = "" }
	/^\.Nm$/ { flush(); l = "modqd"; next }
	/^\.Op / { sub(/^\.Op /, ""); l = l " [" words($0) "]"; next }
	/^\.Fl / { sub(/^\./, ""); l = l " " words($0); next }
	END { flush() }
	function words(s) {
		gsub(/Fl /, "-", s); gsub(/(Ar|Cm) /, "", s)
		return s
	}'
}

# Every `$ modqd -c /etc/modq/modqd.conf -e ...` example of README.md,
# run with the example config it names (systemd/modqd.conf), prints the
# lines it shows.
readme_examples() {
	local ex cmd want n=0
	while IFS= read -r -d '' ex; do
		cmd=${ex%%$'\n'*}
		want=${ex#*$'\n'}
		eval "set -- ${cmd#*" -e "}"
		check_eq "README: modqd -e \"$1\" ..." \
		    "$("$MODQD" -c "$TOP/systemd/modqd.conf" -e "$@" 2>&1)" "$want"
		n=$((n + 1))
	done < <(awk '
	function flush() {
		if (cmd != "")
			printf "%s\n%s%c", cmd, out, 0
		cmd = out = ""
	}
	/^    \$ modqd -c \/etc\/modq\/modqd\.conf -e / {
		flush(); cmd = substr($0, 7); next
	}
	cmd != "" && /^    [^ $]/ {
		out = out (out == "" ? "" : "\n") substr($0, 5); next
	}
	{ flush() }
	END { flush() }' "$TOP/README.md")
	check_eq "README: its two modqd -e examples were run" "$n" 2
}

# --- 12 down: Redis down at start ---------------------------------------------

sec_down() {
	section "12 down: Redis down at start"
	fresh
	stop_redis
	write_conf "$TMP/down.conf" <<EOF
redis: { unix = "$SOCK"; timeout_ms = 500; };
EOF
	spawn_modqd "$TMP/down.conf" "$TMP/down.log"
	wait_log "$TMP/down.log" "redis: (intake|command|write) connection to" 5000
	wait_log "$TMP/down.log" "reconnecting in" 2000
	check_running "modqd keeps running without Redis" "$MODQD_PID"
	check_log "$TMP/down.log" "redis: reconnecting in [0-9]+ ms"
	start_redis "$TMP" "$SOCK" || { echo "integration: cannot start redis-server"; exit 1; }
	# modqd has not created the stream yet (nor the group): the site may add
	# first; the group then starts at 0 and still sees the comment.
	xadd id dn1 body "added once Redis is up"
	check_status dn1 approved
	check_running "modqd still runs" "$MODQD_PID"
	stop_modqd
	check_eq "SIGTERM exit status without Redis" "$MODQD_RC" 0
}

# --- 13 prefix: redis.prefix, redis.db, queue.stream/group/consumer -----------

sec_prefix() {
	section "13 prefix: redis.prefix, redis.db, queue.stream/group/consumer"
	fresh
	write_conf "$TMP/alt.conf" <<EOF
redis: { unix = "$SOCK"; db = 3; prefix = "alt"; };
queue: { stream = "in2"; group = "g2"; consumer = "c-7"; };
authors: { premod_until_approved = 1; };
EOF
	start_modqd "$TMP/alt.conf" "$TMP/alt.log" || exit 1
	check_log "$TMP/alt.log" "ready: reading alt:in2 as g2/c-7"
	redis-cli -s "$SOCK" -n 3 XADD alt:in2 '*' id px1 author pa body hello >/dev/null
	deadline "$WAIT_MS"
	while [ -z "$(redis-cli -s "$SOCK" -n 3 HGET alt:c:px1 status)" ] && ! expired; do
		sleep 0.05
	done
	check_eq "prefix and db: record" "$(redis-cli -s "$SOCK" -n 3 --raw HMGET alt:c:px1 status reasons | paste -sd' ' -)" "held new-author"
	check_eq "prefix and db: held queue" "$(redis-cli -s "$SOCK" -n 3 ZRANGE alt:held 0 -1)" px1
	check_eq "prefix and db: nothing in db 0" "$(rcli DBSIZE)" 0
	check_match "no key: the prefix modq, unknown in db 3" \
	    "$(redis-cli -s "$SOCK" -n 3 FCALL modq_approve 0 px1 alice 2>&1)" \
	    "unknown prefix 'modq'"
	check_eq "moderator approval naming the prefix as its key" \
	    "$(redis-cli -s "$SOCK" -n 3 FCALL modq_approve 1 alt px1 alice)" 1
	redis-cli -s "$SOCK" -n 3 XADD alt:in2 '*' id px2 author pa body again >/dev/null
	deadline "$WAIT_MS"
	while [ -z "$(redis-cli -s "$SOCK" -n 3 HGET alt:c:px2 status)" ] && ! expired; do
		sleep 0.05
	done
	check_eq "approved author is no longer new" \
	    "$(redis-cli -s "$SOCK" -n 3 --raw HMGET alt:c:px2 status reasons | paste -sd' ' -)" "approved "
	check_eq "consumer name" "$(redis-cli -s "$SOCK" -n 3 --raw XINFO CONSUMERS alt:in2 g2 | sed -n 2p)" c-7
	# A second modqd with the default prefix on the same Redis (another site):
	# each must keep writing under its own prefix.
	ALT_PID=$MODQD_PID
	start_modqd "$TMP/out.conf" "$TMP/second.log" || exit 1
	xadd id sec1 body "for the default prefix"
	check_decision sec1 approved ""
	redis-cli -s "$SOCK" -n 3 XADD alt:in2 '*' id px3 author pa body third >/dev/null
	deadline 5000
	while [ -z "$(redis-cli -s "$SOCK" -n 3 HGET alt:c:px3 status)" ] &&
	    [ -z "$(redis-cli -s "$SOCK" -n 3 HGET modq:c:px3 status)" ] && ! expired; do
		sleep 0.05
	done
	check_eq "prefix alt decision stays under alt:" \
	    "$(redis-cli -s "$SOCK" -n 3 --raw HGET alt:c:px3 status)" approved
	check_eq "no record under modq: in db 3" "$(redis-cli -s "$SOCK" -n 3 --raw EXISTS modq:c:px3)" 0
	check_eq "alt decisions stream has px3" \
	    "$(redis-cli -s "$SOCK" -n 3 --raw EVAL "$LUA_DECISIONS" 1 alt:decisions px3)" "approved//modqd"
	check_eq "nothing under modq: in db 3" \
	    "$(redis-cli -s "$SOCK" -n 3 --raw KEYS 'modq:*' | paste -sd' ' -)" ""
	redis-cli -s "$SOCK" -n 3 XADD alt:in2 '*' id px4 author pb body "new author" >/dev/null
	deadline "$WAIT_MS"
	while [ -z "$(redis-cli -s "$SOCK" -n 3 HGET alt:c:px4 status)" ] && ! expired; do
		sleep 0.05
	done
	check_eq "px4 held as a new author" "$(redis-cli -s "$SOCK" -n 3 --raw HGET alt:c:px4 status)" held
	check_eq "px4 in the alt held queue" \
	    "$(redis-cli -s "$SOCK" -n 3 --raw ZSCORE alt:held px4 | grep -c .)" 1
	stop_modqd
	MODQD_PID=$ALT_PID
	stop_modqd
	check_eq "exit status" "$MODQD_RC" 0
}

# --- 14 acl: ACL user and redis.password_file ---------------------------------

sec_acl() {
	section "14 acl: ACL user and redis.password_file"
	fresh
	rcli ACL SETUSER modqd-it reset on '>s3cret pass' '~*' '&*' '+@all' >/dev/null
	printf 's3cret pass\n' >"$TMP/pass.txt"
	write_conf "$TMP/acl.conf" <<EOF
redis: { unix = "$SOCK"; user = "modqd-it"; password_file = "pass.txt"; timeout_ms = 1000; };
EOF
	start_modqd "$TMP/acl.conf" "$TMP/acl.log" || exit 1
	check_eq "all six connections authenticate as the ACL user" \
	    "$(rcli CLIENT LIST | grep -c 'user=modqd-it')" 6
	xadd id ac1 body hello
	check_decision ac1 approved ""
	stop_modqd
	# The commands modqd.conf(5) lists for redis.user are enough: a user with
	# only those, and only the modq: keys, decides every way, counts a rate
	# rule and writes dead letters.
	rcli ACL SETUSER modqd-min reset on '>s3cret pass' '~modq' '~modq:*' resetchannels \
	    -@all +ping +select '+function|load' +fcall +time '+xgroup|create' \
	    +xreadgroup +xpending +xclaim +xack +xadd +xlen +hget +hmget +hset \
	    +hincrby +expire +pexpire +zadd +zcount +zcard +zremrangebyscore \
	    +watch +unwatch +multi +exec +del +hdel +zrem +type +xautoclaim \
	    '+xinfo|groups' +xtrim +xrange >/dev/null
	write_conf "$TMP/aclmin.conf" <<EOF
redis: { unix = "$SOCK"; user = "modqd-min"; password_file = "pass.txt"; timeout_ms = 1000; };
keywords: ( { name = "watch"; action = "hold"; words = [ "traitor" ]; },
            { name = "slurs"; action = "reject"; words = [ "shit" ]; } );
rates: ( { name = "author-flood"; per = "author"; limit = 1; window = 3600; action = "hold"; } );
repeats: ( { name = "repeat"; per = "ip"; window = 3600; action = "hold"; mode = "shadow"; } );
EOF
	start_modqd "$TMP/aclmin.conf" "$TMP/aclmin.log" || exit 1
	xadd id am1 author u-am body hello
	check_decision am1 approved ""
	xadd id am2 body "you traitor"
	check_decision am2 held watch
	xadd id am3 body "shit"
	check_decision am3 rejected slurs
	xadd id am4 author u-am body "again"
	check_decision am4 held author-flood
	xadd id am1 author u-am2 body "hello, edited"
	check_decision am1 approved ""
	xadd author u-am body "no id"
	wait_dead 1
	check_no_pending
	sleep 1.2 # a trim
	check_nolog "$TMP/aclmin.log" "NOPERM"
	check_range "the least privileges: modq:texts written" "$(rcli XLEN modq:texts)" 5 5
	stop_modqd
	check_eq "exit status" "$MODQD_RC" 0
	rcli ACL DELUSER modqd-min >/dev/null
	printf 'wrong\n' >"$TMP/pass.txt"
	spawn_modqd "$TMP/acl.conf" "$TMP/acl2.log"
	check_log "$TMP/acl2.log" "redis: AUTH: WRONGPASS"
	wait_log_count "$TMP/acl2.log" "redis: reconnecting in" 2 5000
	check_range "a refused password is retried" "$(grep -c "redis: reconnecting in" "$TMP/acl2.log")" 2 99
	check_running "modqd keeps running with a refused password" "$MODQD_PID"
	check_nolog "$TMP/acl2.log" "wrong"
	stop_modqd
	check_eq "exit status" "$MODQD_RC" 0
	rcli ACL DELUSER modqd-it >/dev/null
}

# --- 15 trim: queue.trim: entries every group acknowledged leave the stream ---

sec_trim() {
	section "15 trim: queue.trim: entries every group acknowledged leave the stream"
	fresh
	# Print the stream's length once it is $1, or after 5 s whatever it is.
	xlen_becomes() {
		local DEADLINE n
		deadline 5000
		while :; do
			n=$(rcli XLEN modq:incoming)
			[ "$n" = "$1" ] && break
			expired && break
			sleep 0.05
		done
		echo "$n"
	}
	rcli XGROUP CREATE modq:incoming other 0 MKSTREAM >/dev/null
	write_conf "$TMP/trim.conf" <<EOF
redis: { unix = "$SOCK"; };
EOF
	start_modqd "$TMP/trim.conf" "$TMP/trim.log" || exit 1
	for i in 1 2 3 4 5; do xadd id tr$i body "hello $i"; done
	check_decision tr5 approved ""
	sleep 1.5 # a trim or two
	check_eq "a group that has read nothing keeps every entry" "$(rcli XLEN modq:incoming)" 5
	rcli XREADGROUP GROUP other o1 COUNT 3 STREAMS modq:incoming '>' >/dev/null
	rcli XACK modq:incoming other "${SID[tr1]}" "${SID[tr2]}" "${SID[tr3]}" >/dev/null
	check_eq "entries both groups acknowledged go" "$(xlen_becomes 3)" 3
	check_eq "the oldest left is the other group's last read" \
	    "$(rcli XRANGE modq:incoming - + COUNT 1 | head -1)" "${SID[tr3]}"
	rcli XREADGROUP GROUP other o1 COUNT 2 STREAMS modq:incoming '>' >/dev/null
	rcli XACK modq:incoming other "${SID[tr5]}" >/dev/null
	check_eq "a pending entry stays, with all after it" "$(xlen_becomes 2)" 2
	rcli XGROUP DESTROY modq:incoming other >/dev/null
	check_eq "with modqd's group alone, its last read stays" "$(xlen_becomes 1)" 1
	check_field tr1 body "hello 1"
	check_nolog "$TMP/trim.log" "cannot trim"
	stop_modqd
	write_conf "$TMP/notrim.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { trim = false; };
EOF
	start_modqd "$TMP/notrim.conf" "$TMP/notrim.log" || exit 1
	xadd id tr6 body "hello 6"
	check_decision tr6 approved ""
	sleep 1.5
	check_eq "trim = false keeps the stream" "$(rcli XLEN modq:incoming)" 2
	stop_modqd
}

# The records in a rule's rate window of one value.
rate_records() {
	rcli ZCARD "modq:rate:$1:$2"
}

sec_lifecycle() {
	local sid1 i
	section "16 lifecycle: retries, edits and deletes"
	fresh
	write_conf "$TMP/life.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
	{ name = "watch"; action = "hold"; words = [ "traitor" ]; },
	{ name = "slurs"; action = "reject"; words = [ "shit" ]; }
);
rates: ( { name = "author-two"; per = "author"; limit = 2; window = 3600;
	action = "hold"; } );
EOF
	start_modqd "$TMP/life.conf" "$TMP/life.log" || exit 1

	# A retry: the same entry again after a moderator's approval changes
	# nothing but modq:stats resent; it is not counted by rate rules.
	xadd id lc1 author u-l thread t1 body "what a traitor" k v
	check_decision lc1 held watch
	sid1=${SID[lc1]}
	check_eq "approve lc1" "$(rcli --raw FCALL modq_approve 0 lc1 alice "fine in context")" 1
	xadd id lc1 author u-l thread t1 body "what a traitor" k v
	check_eq "resent counted" "$(wait_hash modq:stats resent 1)" 1
	check_no_pending "the retry is acknowledged"
	check_eq "lc1 after the retry: status by note stream_id" \
	    "$(rcli --raw HMGET modq:c:lc1 status decided_by note stream_id | paste -sd' ' -)" \
	    "approved alice fine in context $sid1"
	check_eq "lc1 has no revision" "$(rcli HEXISTS modq:c:lc1 revision)" 0
	check_decisions lc1 "held/watch/modqd;approved/watch/alice"
	check_eq "u-l counted once in its rate window" "$(rate_records author-two u-l)" 1
	check_stats processed=1 held=1 resent=1
	check_log "$TMP/life.log" "comment lc1 \(${SID[lc1]}\): sent again with the same fields; acknowledged"

	# Five edits in a minute: each judged like a new comment, none counted
	# by the author's rate rule (a limit of 2 would hold the third).
	xadd id lc2 author u-m body "draft"
	check_decision lc2 approved ""
	for i in 2 3 4 5; do
		xadd id lc2 author u-m body "draft, typo fix $i"
		check_decision lc2 approved ""
		check_field lc2 revision "$i"
	done
	check_field lc2 body "draft, typo fix 5"
	check_true "lc2 has edited_at" [ -n "$(rcli --raw HGET modq:c:lc2 edited_at)" ]
	check_eq "u-m counted once in its rate window" "$(rate_records author-two u-m)" 1
	check_decisions lc2 "approved//modqd;approved//modqd;approved//modqd;approved//modqd;approved//modqd"
	check_eq "author u-m counts its comment once" \
	    "$(rcli --raw HMGET modq:author:u-m approved held rejected | paste -sd' ' -)" "1  "
	# An edit is judged again: a slur now is rejected, revision 6.
	xadd id lc2 author u-m body "shit, typo fix 6"
	check_decision lc2 rejected slurs
	check_field lc2 revision 6
	check_eq "author u-m counters moved approved -> rejected" \
	    "$(rcli --raw HMGET modq:author:u-m approved held rejected | paste -sd' ' -)" "0  1"
	# New comments of u-m count as before: the second, then the third.
	xadd id lc3 author u-m body "another"
	check_decision lc3 approved ""
	xadd id lc4 author u-m body "and another"
	check_decision lc4 held author-two
	check_eq "u-m's window: lc2 once, lc3, lc4" "$(rate_records author-two u-m)" 3
	check_no_pending
	check_eq "decisions so far" "$(rcli XLEN modq:decisions)" 10

	# Deleted after its decision: status deleted, body, matched and extra
	# fields gone, out of the held queue and its author's counters.
	xadd id dl1 author u-d thread t9 ip 192.0.2.7 body "you traitor" extra x
	check_decision dl1 held watch
	sid1=${SID[dl1]}
	check_eq "delete dl1" "$(rcli --raw FCALL modq_delete 0 dl1 site "user deleted it")" 1
	check_eq "dl1's fields after the delete" \
	    "$(rcli --raw HKEYS modq:c:dl1 | sort | paste -sd' ' -)" \
	    "author decided_at decided_by digest id ip judged_at reasons ruleset status stream_id thread"
	check_eq "dl1: status by stream_id author" \
	    "$(rcli --raw HMGET modq:c:dl1 status decided_by stream_id author | paste -sd' ' -)" \
	    "deleted site $sid1 u-d"
	check_true "dl1 expires" [ "$(rcli TTL modq:c:dl1)" -gt 0 ]
	check_eq "dl1 left the held queue" "$(rcli ZSCORE modq:held dl1)" ""
	check_decisions dl1 "held/watch/modqd;deleted//site"
	check_eq "author u-d counters" \
	    "$(rcli --raw HMGET modq:author:u-d approved held rejected | paste -sd' ' -)" " 0 "
	check_eq "audit of the delete: action by note was" \
	    "$(rcli --raw XREVRANGE modq:audit + - COUNT 1 | sed -n '5p;7p;9p;11p' | paste -sd'|' -)" \
	    "delete|site|user deleted it|held"
	check_hash modq:stats deleted 1
	check_eq "deleting again" "$(rcli --raw FCALL modq_delete 0 dl1 site)" 0
	check_match "approving a deleted comment" \
	    "$(rcli --raw FCALL modq_approve 0 dl1 alice 2>&1)" "comment dl1 is deleted"
	# An edit that arrives after the delete is acknowledged, not judged.
	xadd id dl1 author u-d body "edited after the delete"
	wait_log "$TMP/life.log" "comment dl1 \(${SID[dl1]}\): the comment was deleted; acknowledged" >/dev/null
	check_no_pending "the late edit is acknowledged"
	check_field dl1 status deleted
	check_field dl1 stream_id "$sid1"
	check_eq "no body came back" "$(rcli HEXISTS modq:c:dl1 body)" 0
	check_eq "the late edit is in no rate window" "$(rate_records author-two u-d)" 1

	# Deleted before it is judged: the tombstone wins the race.
	check_eq "delete dl2 before it arrives" "$(rcli --raw FCALL modq_delete 0 dl2 site)" 1
	check_eq "dl2's tombstone" \
	    "$(rcli --raw HKEYS modq:c:dl2 | sort | paste -sd' ' -)" \
	    "decided_at decided_by id status"
	xadd id dl2 author u-e body "shit"
	wait_log "$TMP/life.log" "comment dl2 \(${SID[dl2]}\): the comment was deleted; acknowledged" >/dev/null
	check_no_pending "dl2's entry is acknowledged"
	check_decisions dl2 "deleted//site"
	check_eq "dl2 counted in no rate window" "$(rate_records author-two u-e)" 0
	check_eq "dl2 counted for no author" "$(rcli EXISTS modq:author:u-e)" 0
	check_match "a bad id" "$(rcli --raw FCALL modq_delete 0 'a b' site 2>&1)" "bad comment id"
	check_match "no moderator" "$(rcli --raw FCALL modq_delete 0 dl3 '' 2>&1)" "a moderator name is required"
	stop_modqd
}

sec_held() {
	local old
	section "17 held: decisions.held_days and held_action"
	fresh
	write_conf "$TMP/held.conf" <<EOF
redis: { unix = "$SOCK"; };
decisions: { held_days = 2; held_action = "reject"; };
keywords: ( { name = "watch"; action = "hold"; words = [ "traitor" ]; } );
EOF
	start_modqd "$TMP/held.conf" "$TMP/held.log" || exit 1
	xadd id hx1 author u-h body "a traitor"
	xadd id hx2 author u-h body "another traitor"
	xadd id hx3 author u-h body "a third traitor"
	check_decision hx1 held watch
	check_decision hx2 held watch
	check_decision hx3 held watch
	check_eq "approve hx3" "$(rcli --raw FCALL modq_approve 0 hx3 alice)" 1
	stop_modqd
	# hx1 held three days ago, hx2 one day ago (the scores are the time
	# held); a restarted modqd looks at once.
	old=$(($(redis_ms) - 3 * 86400000))
	rcli ZADD modq:held "$old" hx1 "$(($(redis_ms) - 86400000))" hx2 >/dev/null
	start_modqd "$TMP/held.conf" "$TMP/held2.log" || exit 1
	check_eq "hx1 expired" "$(wait_hash modq:c:hx1 status rejected)" rejected
	check_eq "hx1: status reasons by" \
	    "$(rcli --raw HMGET modq:c:hx1 status reasons decided_by | paste -sd' ' -)" \
	    "rejected held-expired modqd"
	check_true "hx1 expires now" [ "$(rcli TTL modq:c:hx1)" -gt 0 ]
	check_eq "held queue: hx2 only" "$(rcli --raw ZRANGE modq:held 0 -1)" hx2
	check_field hx2 status held
	check_field hx3 status approved
	check_decisions hx1 "held/watch/modqd;rejected/held-expired/modqd"
	check_eq "author u-h counters" \
	    "$(rcli --raw HMGET modq:author:u-h approved held rejected | paste -sd' ' -)" "1 1 1"
	check_stats held-expired=1 moderated=1
	check_eq "audit of the expiry: id action by" \
	    "$(rcli --raw XREVRANGE modq:audit + - COUNT 1 | sed -n '3p;5p;7p' | paste -sd' ' -)" \
	    "hx1 held-expired modqd"
	check_log "$TMP/held2.log" "held comments: 1 held over 2 days decided: reject \(held-expired\)"
	stop_modqd
	write_conf "$TMP/held-bad.conf" <<EOF
decisions: { held_action = "delete"; };
EOF
	check_match "a bad held_action" "$("$MODQD" -n -c "$TMP/held-bad.conf" 2>&1)" \
	    'held-bad.conf:1: .*held_action.*must be "approve" or "reject"'
}

sec_erase() {
	local dsid sha
	section "18 erase: modq_forget an author, modq_retry dead letters"
	fresh
	write_conf "$TMP/erase.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { max_body = 64; };
keywords: (
	{ name = "watch"; action = "hold"; words = [ "traitor" ]; },
	{ name = "slurs"; action = "reject"; words = [ "shit" ]; }
);
rates: ( { name = "author-ten"; per = "author"; limit = 10; window = 3600;
	action = "hold"; } );
EOF
	start_modqd "$TMP/erase.conf" "$TMP/erase.log" || exit 1
	xadd id fa1 author u-f ip 192.0.2.4 body "fine" x 1
	xadd id fa2 author u-f ip 192.0.2.4 body "a traitor"
	xadd id fa3 author u-f body "shit"
	xadd id fg1 author u-g ip 192.0.2.4 body "also fine"
	check_decision fa1 approved ""
	check_decision fa2 held watch
	check_decision fa3 rejected slurs
	check_decision fg1 approved ""
	check_eq "forget u-f" "$(rcli --raw FCALL modq_forget 0 u-f site "the reader asked")" 1
	check_eq "u-f's hash and rate window are gone at once" \
	    "$(rcli EXISTS modq:author:u-f modq:rate:author-ten:u-f)" 0
	check_eq "the records are erased, step by step" \
	    "$(wait_hash modq:c:fa3 status deleted)" deleted
	check_eq "no job left" "$(wait_hash modq:forget u-f '')" ""
	for i in fa1 fa2 fa3; do
		check_eq "$i's fields after the forget" \
		    "$(rcli --raw HKEYS modq:c:$i | sort | paste -sd' ' -)" \
		    "decided_at decided_by digest id reasons ruleset status stream_id"
		check_field "$i" decided_by site
	done
	check_eq "fa2 left the held queue" "$(rcli ZSCORE modq:held fa2)" ""
	check_decisions fa2 "held/watch/modqd;deleted/forget/site"
	check_field fg1 author u-g
	check_eq "u-g is kept" "$(rcli --raw HGET modq:author:u-g approved)" 1
	sha=$(printf '%s' u-f | sha1sum | cut -d' ' -f1)
	check_eq "the audit names a hash of the author, never the id" \
	    "$(rcli --raw XREVRANGE modq:audit + - COUNT 1 | sed -n '3p;5p;7p;9p' | paste -sd'|' -)" \
	    "sha1:$sha|forget|site|the reader asked"
	check_eq "no audit entry names u-f" \
	    "$(rcli --raw XRANGE modq:audit - + | grep -c '^u-f$')" 0
	check_match "forget: a bad author" "$(rcli --raw FCALL modq_forget 0 $'a\nb' site 2>&1)" "bad author id"

	# A dead letter goes back on the stream once its cause is fixed.
	xadd id rt1 author u-r body "$(rep b 100)"
	wait_dead 1
	dsid=$(rcli --raw XREVRANGE modq:dead + - COUNT 1 | head -1)
	check_match "retry: a bad id" "$(rcli --raw FCALL modq_retry 0 nope alice 2>&1)" "bad dead letter id"
	check_match "retry: no such dead letter" "$(rcli --raw FCALL modq_retry 0 1-1 alice 2>&1)" "no dead letter 1-1"
	sed -i 's/max_body = 64/max_body = 1024/' "$TMP/erase.conf"
	kill -HUP "$MODQD_PID"
	wait_log "$TMP/erase.log" "reloaded" >/dev/null
	check_eq "retry rt1" "$(rcli --raw FCALL modq_retry 0 "$dsid" alice "max_body raised")" 1
	check_decision rt1 approved ""
	check_field rt1 author u-r
	check_eq "the dead letter is gone" "$(rcli XLEN modq:dead)" 0
	check_eq "audit of the retry: id action by note" \
	    "$(rcli --raw XREVRANGE modq:audit + - COUNT 1 | sed -n '3p;5p;7p;9p' | paste -sd'|' -)" \
	    "$LAST_SID|retry|alice|max_body raised"
	check_eq "retry all with none left" "$(rcli --raw FCALL modq_retry 0 all alice)" 0
	stop_modqd
}

# --- 19 log: log.target, and what reaches the log ----------------------------

# Start modqd without -d, its stderr (and stdout) in LOG, with JOURNAL_STREAM
# and INVOCATION_ID as systemd would set them or not at all: spawn_logging
# CONF LOG [-v] [VAR=value ...].
spawn_logging() {
	local conf=$1 log=$2 v=
	shift 2
	[ "${1:-}" = -v ] && v=-v && shift
	: >"$log"
	env -u JOURNAL_STREAM -u INVOCATION_ID "$@" "$MODQD" $v -c "$conf" \
	    >>"$log" 2>&1 &
	MODQD_PID=$!
	MODQD_LOG=$log
	track_pid "$MODQD_PID"
}

# The JOURNAL_STREAM value that names a file, as systemd names its stream.
journal_stream() {
	stat -c '%d:%i' "$1"
}

# Decide comment ID (body TEXT) with the running modqd and stop it; its
# log then holds all it will.
decide_and_stop() {
	xadd id "$1" body "$2"
	check_status "$1" approved
	stop_modqd
}

sec_log() {
	section "19 log: log.target, and what reaches the log"
	fresh
	local stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} '
	write_conf "$TMP/log-auto.conf" <<EOF
redis: { unix = "$SOCK"; };
EOF
	# auto, outside systemd, stderr a file: stderr with timestamps (it
	# used to be syslog, lost where nothing reads /dev/log).
	spawn_logging "$TMP/log-auto.conf" "$TMP/log-auto.log"
	check_log "$TMP/log-auto.log" "${stamp}ready: reading modq:incoming as modqd/"
	decide_and_stop lg1 "purple elephant one"
	check_log "$TMP/log-auto.log" "${stamp}comment lg1 \(${SID[lg1]}\): approved \[\]$"
	check_nolog "$TMP/log-auto.log" "purple elephant"
	check_nolog "$TMP/log-auto.log" "^<[0-9]>"
	# auto under systemd: stderr is the stream JOURNAL_STREAM names.
	: >"$TMP/log-journal.log"
	spawn_logging "$TMP/log-auto.conf" "$TMP/log-journal.log" \
	    JOURNAL_STREAM="$(journal_stream "$TMP/log-journal.log")" INVOCATION_ID=0123
	check_log "$TMP/log-journal.log" "^<6>ready: reading modq:incoming as modqd/"
	decide_and_stop lg2 "purple elephant two"
	check_log "$TMP/log-journal.log" "^<6>comment lg2 \(${SID[lg2]}\): approved \[\]$"
	check_nolog "$TMP/log-journal.log" "$stamp"
	# auto with a JOURNAL_STREAM inherited, stderr elsewhere: stderr.
	spawn_logging "$TMP/log-auto.conf" "$TMP/log-inherited.log" \
	    JOURNAL_STREAM="$(journal_stream "$TMP/log-journal.log")"
	check_log "$TMP/log-inherited.log" "${stamp}ready: reading"
	stop_modqd
	# -v adds the debug messages, comment bodies among them.
	spawn_logging "$TMP/log-auto.conf" "$TMP/log-verbose.log" -v
	check_log "$TMP/log-verbose.log" "${stamp}ready: reading"
	decide_and_stop lg3 "purple elephant three"
	check_log "$TMP/log-verbose.log" "${stamp}comment lg3 \(${SID[lg3]}\): body \"purple elephant three\"$"
	# Each target as it says, whatever JOURNAL_STREAM says; -d beats it.
	write_conf "$TMP/log-stderr.conf" <<EOF
redis: { unix = "$SOCK"; };
log: { target = "stderr"; };
EOF
	: >"$TMP/log-stderr.log"
	spawn_logging "$TMP/log-stderr.conf" "$TMP/log-stderr.log" \
	    JOURNAL_STREAM="$(journal_stream "$TMP/log-stderr.log")"
	check_log "$TMP/log-stderr.log" "${stamp}ready: reading"
	# A reload does not move the log: log.target waits for a restart.
	write_conf "$TMP/log-stderr.conf" <<EOF
redis: { unix = "$SOCK"; };
log: { target = "journal"; };
EOF
	kill -HUP "$MODQD_PID"
	check_log "$TMP/log-stderr.log" \
	    "${stamp}$TMP/log-stderr.conf: log.target changed; it takes effect at the next restart$"
	check_log "$TMP/log-stderr.log" "${stamp}reloaded "
	stop_modqd
	write_conf "$TMP/log-jtarget.conf" <<EOF
redis: { unix = "$SOCK"; };
log: { target = "journal"; };
EOF
	spawn_logging "$TMP/log-jtarget.conf" "$TMP/log-jtarget.log"
	check_log "$TMP/log-jtarget.log" "^<6>ready: reading"
	stop_modqd
	check_log "$TMP/log-jtarget.log" "^<6>modqd stopped"
	spawn_modqd "$TMP/log-jtarget.conf" "$TMP/log-jtarget-d.log"
	check_log "$TMP/log-jtarget-d.log" "${stamp}ready: reading"
	stop_modqd
	write_conf "$TMP/log-syslog.conf" <<EOF
redis: { unix = "$SOCK"; };
log: { target = "syslog"; };
EOF
	spawn_logging "$TMP/log-syslog.conf" "$TMP/log-syslog.log"
	decide_and_stop lg4 "to syslog"
	check_eq "log.target = syslog: nothing on stderr" "$(cat "$TMP/log-syslog.log")" ""
	# A bad target is a config error at its file:line.
	write_conf "$TMP/log-bad.conf" <<EOF
redis: { unix = "$SOCK"; };
log: {
  target = "journald";
};
EOF
	OUT=$("$MODQD" -n -c "$TMP/log-bad.conf" 2>&1)
	check_eq "log.target bad: exit 1" "$?" 1
	check_eq "log.target bad: file:line" "$OUT" \
	    "$TMP/log-bad.conf:3: log.target: must be \"auto\", \"stderr\", \"syslog\" or \"journal\""
}

sec_format() {
	section "20 format: queue.format html and text, end to end"
	fresh
	write_conf "$TMP/fmt.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "fuck", "kill" ]; } );
EOF
	start_modqd "$TMP/fmt.conf" "$TMP/fmt.log" || exit 1
	# html (the default): only real elements are markup; a comment's
	# words are judged; entities are read as a browser shows them.
	xadd id fh1 body "<fuck you>"
	xadd id fh2 body "hello <!-- fuck --> world"
	xadd id fh3 body "<b>fine</b> and <i>well</i>"
	xadd id fh4 body "&#107;ill them"
	check_decision fh1 rejected slurs
	check_decision fh2 rejected slurs
	check_decision fh3 approved ""
	check_decision fh4 rejected slurs
	stop_modqd
	# text: shown as sent, so an entity is only its characters.
	sed -i 's/^redis: .*/&\nqueue: { format = "text"; };/' "$TMP/fmt.conf"
	start_modqd "$TMP/fmt.conf" "$TMP/fmt2.log" || exit 1
	xadd id ft1 body "&#107;ill them"
	xadd id ft2 body "<fuck you>"
	check_decision ft1 approved ""
	check_decision ft2 rejected slurs
	check_ne "the ruleset stamp differs with the format" \
	    "$(rcli --raw HGET modq:c:ft1 ruleset)" "$(rcli --raw HGET modq:c:fh3 ruleset)"
	stop_modqd
}

# -----------------------------------------------------------------------------

want 1 output && sec_output
want 2 resubmit && sec_resubmit
want 3 rates && sec_rates
want 4 states && sec_states
want 5 dead && sec_dead
want 6 kill && sec_kill
want 7 replay && sec_replay
want 8 restart && sec_restart
want 9 stall && sec_stall
want 10 reload && sec_reload
want 11 shutdown && sec_shutdown
want 12 down && sec_down
want 13 prefix && sec_prefix
want 14 acl && sec_acl
want 15 trim && sec_trim
want 16 lifecycle && sec_lifecycle
want 17 held && sec_held
want 18 erase && sec_erase
want 19 log && sec_log
want 20 format && sec_format

echo "integration: $(($(date +%s) - STARTED)) s"
summary
