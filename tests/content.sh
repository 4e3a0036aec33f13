#!/usr/bin/env bash
#
# content.sh -- the content rules end to end, against a real redis-server:
# links, shouting, length, shadow mode and scores (the record's score and
# shadow fields, modq:stats, the decisions stream); repeats and campaigns
# shared through <prefix>:texts, read back by a daemon that starts later,
# and exact when a comment is judged more than once (a batch retried while
# a shared key has the wrong type: its records go in again).
# Usage: tests/content.sh [BUILD_DIR]   (default: build)
#
# Sections (number, name):
#   1 signals   links, shouting, length, shadow mode, scores, thresholds
#   2 repeats   the same text again per author, an edit, another author
#   3 campaigns near-identical texts from three authors, across a restart
#   4 exact     a comment judged four times counts once
#   5 big       one read of 300 comments split into batches: each keeps
#               its ip (a comment's canonical ip lives in the comment)
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init content
start_redis "$TMP" "$SOCK" || { echo "content: cannot start redis-server"; exit 1; }

# Check the decisions stream's last entry for comment $1: status reasons.
check_last_decision() {
	check_eq "decisions entry of $1" \
	    "$(rcli --raw EVAL "local e = redis.call('XREVRANGE', KEYS[1], '+', '-')
for _, x in ipairs(e) do
	local f = {}
	for i = 1, #x[2], 2 do f[x[2][i]] = x[2][i + 1] end
	if f.id == ARGV[1] then return f.status .. ' [' .. f.reasons .. ']' end
end
return 'none'" 1 modq:decisions "$1")" "$2"
}

# --- 1 signals -------------------------------------------------------------------

sec_signals() {
	section "1 signals: links, shouting, length, shadow mode, scores"
	fresh
	write_conf "$TMP/sig.conf" <<EOF
redis: { unix = "$SOCK"; };
keywords: (
  { name = "meh"; action = "score"; score = 3; words = [ "idiot" ]; },
  { name = "spy"; action = "hold"; mode = "shadow"; words = [ "traitor" ]; }
);
links: (
  { name = "links"; max = 1; action = "hold"; },
  { name = "first-links"; max = 0; approved_below = 2; action = "score"; score = 2; },
  { name = "bad-domains"; domains = [ "cheap-pills.com" ]; action = "reject"; }
);
link_allow = [ "example.org" ];
shouting: ( { name = "shouting"; action = "score"; score = 4; } );
length: ( { name = "too-long"; max = 70; action = "hold"; mode = "shadow"; } );
thresholds: { hold = 5; reject = 9; };
EOF
	start_modqd "$TMP/sig.conf" "$TMP/sig.log" || exit 1
	xadd id s1 author ann body "a fine comment"
	xadd id s2 author ann body "you traitor"
	xadd id s3 author ann body "idiot THIS IS A VERY LOUD COMMENT"
	xadd id s4 author bob body "see https://example.org/a and example.org/b"
	xadd id s5 author bob body "see www.news.example.com/x and shop.example.net/y"
	xadd id s6 author bob body "buy at deals.cheap-pills.com today"
	xadd id s7 author bob body "THIS IS A VERY LOUD COMMENT FROM AN IDIOT, READ NEWS.EXAMPLE.COM"
	xadd id s8 author ann body "a fine comment that goes on and on and on, longer than seventy characters, indeed"
	check_decision s1 approved ""
	check_field s1 score 0
	check_field s1 shadow ""
	check_decision s2 approved ""
	check_field s2 shadow spy
	check_field s2 score 0
	check_decision s3 held "meh shouting score-hold"
	check_field s3 score 7
	# allowed links are not counted; bob has approved nothing yet, then one
	check_decision s4 approved ""
	check_field s4 score 0
	check_decision s5 held "links first-links"
	check_field s5 score 2
	check_decision s6 rejected "first-links bad-domains"
	check_decision s7 rejected "meh first-links shouting score-reject"
	check_field s7 score 9
	check_decision s8 approved ""
	check_field s8 shadow too-long
	check_last_decision s3 "held [meh shouting score-hold]"
	check_stats "rule:meh=2" "rule:shouting=2" "rule:score-hold=1" \
	    "rule:score-reject=1" "shadow:spy=1" "shadow:too-long=1" \
	    "rule:first-links=3" "rule:links=1" "rule:bad-domains=1"
	check_eq "no texts stream without repeats or campaigns" \
	    "$(rcli EXISTS modq:texts)" 0
	stop_modqd
	# -e: the same judgement offline, shadow rules in a fourth column
	check_eq "modqd -e: content rules and the shadow column" \
	    "$("$MODQD" -c "$TMP/sig.conf" -e "you traitor" \
	        "idiot THIS IS A VERY LOUD COMMENT" "see a.example.com and b.example.net" 2>&1)" \
	    "approve	-	spy:\"traitor\"	spy
hold	meh shouting score-hold	meh:\"idiot\"	-
hold	links first-links	-	-"
}

# --- 2 repeats -------------------------------------------------------------------

sec_repeats() {
	section "2 repeats: the same text again from one author"
	fresh
	write_conf "$TMP/rep.conf" <<EOF
redis: { unix = "$SOCK"; };
repeats: ( { name = "repeat"; per = "author"; window = 300; action = "hold"; },
           { name = "thread-repeat"; per = "thread"; window = 300; action = "hold"; mode = "shadow"; } );
EOF
	start_modqd "$TMP/rep.conf" "$TMP/rep.log" || exit 1
	xadd id r1 author ann thread t1 body "Cheap meds!!! best prices"
	check_decision r1 approved ""
	# the same text after normalisation: case, punctuation, leet
	xadd id r2 author ann thread t2 body "CHEAP MEDS best pr1ces"
	check_decision r2 held repeat
	# another author: not a repeat of ann's, but one in thread t1
	xadd id r3 author bob thread t1 body "cheap meds, best prices"
	check_decision r3 approved ""
	check_field r3 shadow thread-repeat
	# an edit of r1 to new text, then back: never a repeat of itself
	xadd id r1 author ann thread t1 body "something else entirely"
	check_eq "r1 edited" "$(wait_hash modq:c:r1 revision 2)" 2
	check_field r1 status approved
	xadd id r4 author ann thread t3 body "a different comment"
	check_decision r4 approved ""
	check_eq "texts stream: one record a judgement" "$(rcli XLEN modq:texts)" 5
	check_match "texts records hold no text" \
	    "$(rcli --raw XRANGE modq:texts - + | grep -ci 'meds\|ann\|bob')" '^0$'
	stop_modqd
}

# --- 3 campaigns -----------------------------------------------------------------

# A paragraph as pasted by author $1, with a word or two changed.
paragraph() {
	case $1 in
	a) echo "The election results in this district were rigged by the ruling party and every honest voter should demand a recount now" ;;
	b) echo "the election results in this district were RIGGED by the ruling party, every honest citizen should demand a recount today!" ;;
	c) echo "The election results in our district were rigged by the ruling party and every honest voter must demand a recount now." ;;
	d) echo "Election results in this district were rigged by the ruling party and every honest voter should demand a full recount now" ;;
	esac
}

sec_campaigns() {
	section "3 campaigns: three authors paste one paragraph"
	fresh
	write_conf "$TMP/camp.conf" <<EOF
redis: { unix = "$SOCK"; };
campaigns: ( { name = "copypaste"; authors = 3; window = 3600; action = "hold"; } );
EOF
	start_modqd "$TMP/camp.conf" "$TMP/camp1.log" || exit 1
	xadd id c1 author a1 body "$(paragraph a)"
	check_decision c1 approved ""
	# the same author again is not a second author
	xadd id c2 author a1 body "$(paragraph b)"
	check_decision c2 approved ""
	xadd id c3 author a2 body "$(paragraph b)"
	check_decision c3 approved ""
	xadd id c4 author a3 body "lol so true"
	check_decision c4 approved ""
	xadd id c5 author a4 body "The weather in this district was lovely today and every honest gardener should plant tomatoes now"
	check_decision c5 approved ""
	stop_modqd
	# a new daemon reads the other's records back from Redis
	start_modqd "$TMP/camp.conf" "$TMP/camp2.log" || exit 1
	xadd id c6 author a3 body "$(paragraph c)"
	check_decision c6 held copypaste
	xadd id c7 author a5 body "$(paragraph d)"
	check_decision c7 held copypaste
	# short texts are never grouped (min_words 6)
	xadd id c8 author a6 body "lol so true"
	xadd id c9 author a7 body "lol so true"
	check_decision c8 approved ""
	check_decision c9 approved ""
	stop_modqd
}

# --- 4 exact ---------------------------------------------------------------------

sec_exact() {
	section "4 exact: a comment judged four times counts once"
	fresh
	write_conf "$TMP/exact.conf" <<EOF
redis: { unix = "$SOCK"; };
repeats: ( { name = "repeat"; per = "author"; window = 300; action = "hold"; } );
campaigns: ( { name = "copypaste"; authors = 2; window = 3600; action = "reject"; } );
EOF
	# modq:held of the wrong type fails every commit: the batch is
	# retried, and each try records the comment in modq:texts again.
	rcli SET modq:held x >/dev/null
	# records another program wrote are skipped, with one warning
	rcli XADD modq:texts '*' r garbage >/dev/null
	rcli XADD modq:texts '*' a b c d >/dev/null
	rcli XADD modq:texts '*' r "$(head -c 3000 /dev/zero | tr '\0' x)" >/dev/null
	start_modqd "$TMP/exact.conf" "$TMP/exact.log" || exit 1
	xadd id e1 author ann body "$(paragraph a)"
	wait_log_count "$TMP/exact.log" "retrying in" 3 15000
	rcli DEL modq:held >/dev/null
	check_decision e1 approved ""
	check_range "texts: e1 recorded once per try" "$(rcli XLEN modq:texts)" 2 1000
	# another author's copy makes two authors; ann's own copy would not
	xadd id e2 author ann body "$(paragraph a)"
	check_decision e2 held repeat
	xadd id e3 author bob body "$(paragraph c)"
	check_decision e3 rejected copypaste
	check_eq "records not modqd's: one warning" \
	    "$(grep -c "is not modqd's; skipped" "$TMP/exact.log")" 1
	stop_modqd
}

# --- 5 big -----------------------------------------------------------------------

sec_big() {
	section "5 big: one read of 300 comments, split into batches"
	fresh
	write_conf "$TMP/big.conf" <<EOF
redis: { unix = "$SOCK"; };
queue: { batch = 512; };
repeats: ( { name = "ip-repeat"; per = "ip"; window = 300; action = "hold"; } );
EOF
	# Added before the daemon starts: its first read takes all 300, and
	# the batches it splits them into keep each comment's ip.
	for i in $(seq 1 300); do
		echo "XADD modq:incoming * id b$i author ba-$i ip 2001:db8::$((i % 150)) body \"the same words from address $((i % 150)) again\""
	done | rcli >/dev/null
	start_modqd "$TMP/big.conf" "$TMP/big.log" || exit 1
	wait_decided b300
	check_eq "b1..b150 approved, b151..b300 held as ip repeats" \
	    "$(for i in $(seq 1 300); do rcli --raw HGET "modq:c:b$i" reasons; done | sort | uniq -c | awk '{ print $1, $2 }' | paste -sd' ' -)" \
	    "150  150 ip-repeat"
	check_eq "approved" "$(rcli --raw HGET modq:stats approved)" 150
	stop_modqd
}

want 1 signals && sec_signals
want 2 repeats && sec_repeats
want 3 campaigns && sec_campaigns
want 4 exact && sec_exact
want 5 big && sec_big

echo "content: $(($(date +%s) - STARTED)) s"
summary
