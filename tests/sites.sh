#!/usr/bin/env bash
#
# sites.sh -- several sites on one Redis, against a real redis-server:
# daemons with their own redis.prefix moderated side by side, the calls
# that name a prefix (or none: modq), what a call may not reach, and the
# ACL users of modqd.conf(5) "Access control", run word for word as the
# man page prints them.
# Usage: tests/sites.sh [BUILD_DIR]   (default: build)
#
# Sections (number, name):
#   1 sites    three daemons (modq, news2, sport), the same comment and
#              author ids on each: each site's rules, records, counters,
#              moderator calls and views are its own; a moderator's call
#              and a re-decision on one site leave the others' keys as
#              they were, byte for byte
#   2 refuse   a prefix no daemon set up, two keys, keys outside the
#              call's prefix (another site's, another application's), a
#              stream name with a colon: refused, and nothing written
#   3 acl      the daemon and moderator users of modqd.conf(5): the daemon
#              decides every way, the moderator runs every modq command,
#              neither reaches another site's keys, the moderator cannot
#              write a decision through modqd's functions
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
MODQ=$(cd "$(dirname "$BUILD/modq")" && pwd)/modq
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init sites
start_redis "$TMP" "$SOCK" || { echo "sites: cannot start redis-server"; exit 1; }

# Print one digest of every key under prefix $1 (the key named $1 and
# those starting $1:): each key's name, DUMP and whether it expires.
site_digest() {
	rcli --raw EVAL "local out, cur = {}, '0'
repeat
	local r = redis.call('SCAN', cur, 'MATCH', ARGV[1] .. ':*', 'COUNT', 1000)
	cur = r[1]
	for _, k in ipairs(r[2]) do out[#out + 1] = k end
until cur == '0'
out[#out + 1] = ARGV[1]
table.sort(out)
local d = {}
for _, k in ipairs(out) do
	local v = redis.call('DUMP', k)
	if v then
		d[#d + 1] = k .. ' ' .. redis.sha1hex(v) .. ' ' ..
		    tostring(redis.call('PTTL', k) > 0)
	end
end
return #d .. ' ' .. redis.sha1hex(table.concat(d, '\n'))" 0 "$1"
}

# Wait until the hash $1 has a status; print it, with its reasons.
status_of() {
	local DEADLINE
	deadline "$WAIT_MS"
	while [ -z "$(rcli HGET "$1" status)" ] && ! expired; do
		sleep 0.05
	done
	rcli --raw HMGET "$1" status reasons | paste -sd' ' -
}

# Start the daemon of site $1 (its prefix) with the config on stdin, after
# the redis block, which it writes; its PID in SITE_PID[$1].
declare -A SITE_PID
start_site() {
	local p=$1 conf=$TMP/$1.conf extra=${2:-} rest
	rest=$(cat)
	{
		echo "redis: { unix = \"$SOCK\"; prefix = \"$p\"; timeout_ms = 2000; $extra };"
		grep -q '^queue:' <<<"$rest" || echo "queue: { consumer = \"$p-1\"; };"
		echo "$rest"
	} >"$conf"
	start_modqd "$conf" "$TMP/$p.log" || exit 1
	SITE_PID[$p]=$MODQD_PID
}

# Stop the daemon of site $1.
stop_site() {
	MODQD_PID=${SITE_PID[$1]}
	stop_modqd
	check_eq "$1: exit status" "$MODQD_RC" 0
}

# The three sites: the same word is approved on modq, held on news2 and
# rejected on sport (whose stream has its own name).
start_sites() {
	start_site modq <<EOF
rates: ( { name = "author-flood"; per = "author"; limit = 5; window = 3600; action = "hold"; } );
EOF
	start_site news2 <<EOF
keywords: ( { name = "watch"; action = "hold"; words = [ "traitor" ]; } );
EOF
	start_site sport <<EOF
queue: { stream = "in"; group = "g"; consumer = "sport-1"; };
keywords: ( { name = "slurs"; action = "reject"; words = [ "traitor" ]; } );
EOF
}

# --- 1 sites ------------------------------------------------------------------

sec_sites() {
	section "1 sites: three daemons on one Redis, side by side"
	fresh
	start_sites
	check_eq "modq:conf" "$(rcli --raw HMGET modq:conf stream ttl_s author_rates | paste -sd' ' -)" \
	    "incoming 2592000 author-flood"
	check_eq "sport:conf" "$(rcli --raw HGET sport:conf stream)" in
	rcli XADD modq:incoming '*' id c1 author u1 body "you traitor" >/dev/null
	rcli XADD news2:incoming '*' id c1 author u1 body "you traitor" >/dev/null
	rcli XADD sport:in '*' id c1 author u1 body "you traitor" >/dev/null
	check_eq "modq: c1" "$(status_of modq:c:c1)" "approved "
	check_eq "news2: c1" "$(status_of news2:c:c1)" "held watch"
	check_eq "sport: c1" "$(status_of sport:c:c1)" "rejected slurs"
	check_eq "author u1 counted on each site alone" \
	    "$(rcli --raw HGET modq:author:u1 approved) $(rcli --raw HGET news2:author:u1 held) $(rcli --raw HGET sport:author:u1 rejected)" \
	    "1 1 1"
	check_eq "news2's held queue" "$(rcli ZRANGE news2:held 0 -1)" c1
	check_eq "modq's held queue" "$(rcli ZCARD modq:held)" 0
	local dm ds dn
	dm=$(site_digest modq) ds=$(site_digest sport)
	# a moderator of news2, with modq --prefix and with FCALL 1 news2
	mq --prefix news2 held
	check_eq "modq --prefix news2 held" "$RC:$(cut -f1 <<<"$OUT")" "0:c1"
	mq --prefix news2 --as alice approve c1
	check_eq "modq --prefix news2 approve" "$RC:$(rcli --raw HGET news2:c:c1 status)" 0:approved
	check_eq "news2: u1 moved from held to approved" \
	    "$(rcli --raw HMGET news2:author:u1 held approved | paste -sd' ' -)" "0 1"
	check_eq "FCALL modq_reject 1 news2" "$(rcli FCALL modq_reject 1 news2 c1 bob "on second thought")" 1
	check_eq "its audit entry is news2's" "$(rcli XLEN news2:audit) $(rcli EXISTS modq:audit sport:audit)" "2 0"
	check_eq "FCALL_RO modq_show 1 news2" \
	    "$(rcli --raw FCALL_RO modq_show 1 news2 c1 | sed -n 2,3p | paste -sd' ' -)" "c1 status"
	check_eq "the views: news2's stats" \
	    "$(rcli --raw FCALL_RO modq_stats 1 news2 | paste -sd' ' - | grep -oE '(processed|held|moderated) [0-9]+' | paste -sd' ' -)" \
	    "processed 1 held 1 moderated 2"
	check_eq "modq and sport untouched by news2's moderators" \
	    "$(site_digest modq) $(site_digest sport)" "$dm $ds"
	# an edit on modq is decided again through modq_decide: it moves
	# modq's counter of u1, and no other site's
	dn=$(site_digest news2) ds=$(site_digest sport)
	rcli XADD modq:incoming '*' id c1 author u1 body "you traitor, edited" >/dev/null
	local DEADLINE
	deadline "$WAIT_MS"
	until [ "$(rcli --raw HGET modq:c:c1 revision)" = 2 ] || expired; do
		sleep 0.05
	done
	check_eq "modq: c1 revision 2" "$(rcli --raw HMGET modq:c:c1 status revision | paste -sd' ' -)" "approved 2"
	check_eq "modq: u1 counted once" "$(rcli --raw HGET modq:author:u1 approved)" 1
	check_eq "news2 and sport untouched by modq's re-decision" \
	    "$(site_digest news2) $(site_digest sport)" "$dn $ds"
	# with no key, the prefix modq
	check_eq "FCALL modq_approve 0 is modq's" "$(rcli FCALL modq_approve 0 c1 carol)" 0
	check_eq "sport: FCALL modq_approve 1 sport" "$(rcli FCALL modq_approve 1 sport c1 carol)" 1
	check_eq "sport: approved, modq and news2 as they were" \
	    "$(rcli --raw HGET sport:c:c1 status) $(rcli --raw HGET modq:c:c1 decided_by) $(rcli --raw HGET news2:c:c1 status)" \
	    "approved modqd rejected"
	mq --prefix sport stats
	check_eq "modq --prefix sport stats: sport's stream" \
	    "$RC:$(grep -E '^(processed|backlog)' <<<"$OUT" | tr -s ' \t' ' ' | paste -sd' ' -)" \
	    "0:processed 1 backlog 0"
	check_eq "no key outside the three prefixes" \
	    "$(rcli --raw KEYS '*' | grep -Ev '^(modq|news2|sport)(:|$)' | paste -sd' ' -)" ""
	for p in modq news2 sport; do
		check_nolog "$TMP/$p.log" "ERR modq"
		stop_site $p
	done
}

# --- 2 refuse -----------------------------------------------------------------

# FCALL modq_decide with keys $1 (numkeys and keys), stream $2, record key
# $3 and rate key $4, for one comment decided approved.
decide_with() {
	local k=$1 stream=$2 ckey=$3 rkey=$4 p=$5
	# shellcheck disable=SC2086
	rcli --raw FCALL modq_decide $k "$stream" modqd 2592000 1000 0 \
	    "$p:held" "$p:decisions" "$p:stats" "$p:dead" d 1-1 "$ckey" x1 \
	    approved "" "" "" 0123456789abcdef 000000000001 1 "$rkey" 1 \
	    approved 2 10 id x1 body b status approved reasons "" matched "" \
	    decided_by modqd ruleset x stream_id 1-1 \
	    digest 0123456789abcdef decided_at 0 2>&1
}

sec_refuse() {
	section "2 refuse: unknown prefixes and keys outside the prefix"
	fresh
	start_sites
	rcli XADD news2:incoming '*' id r1 author u1 body "you traitor" >/dev/null
	check_eq "news2: r1" "$(status_of news2:c:r1)" "held watch"
	rcli SET other:user:42 "not modq's" >/dev/null
	rcli XADD other:stream '*' a 1 >/dev/null
	rcli XADD other:stream '*' a 2 >/dev/null
	local before
	before="$(site_digest modq) $(site_digest news2) $(site_digest sport) $(site_digest other) $(rcli DBSIZE)"
	check_match "a prefix no daemon set up" \
	    "$(rcli FCALL modq_approve 1 news3 r1 alice 2>&1)" \
	    "unknown prefix 'news3': no modqd has set it up"
	check_match "a view of it too" "$(rcli FCALL_RO modq_held 1 news3 2>&1)" \
	    "unknown prefix 'news3'"
	check_match "two keys" "$(rcli FCALL modq_approve 2 news2 modq r1 alice 2>&1)" \
	    "wrong number of keys"
	check_match "modq_decide: a record key outside the prefix" \
	    "$(decide_with "1 modq" modq:incoming other:user:42 modq:rate:author-flood:u1 modq)" \
	    "item 1-1: a key outside modq"
	check_match "modq_decide: a rate key outside the prefix" \
	    "$(decide_with "1 modq" modq:incoming modq:c:x1 other:user:42 modq)" \
	    "item 1-1: a key outside modq"
	check_match "modq_decide: another site's record, named under modq" \
	    "$(decide_with "1 modq" modq:incoming news2:c:r1 modq:rate:x modq)" \
	    "item 1-1: a key outside modq"
	check_match "modq_decide: another site's stream" \
	    "$(decide_with "1 modq" news2:incoming modq:c:x1 modq:rate:x modq)" \
	    "the stream is not modq:incoming"
	check_match "modq_decide: another site's shared keys" \
	    "$(decide_with "1 modq" modq:incoming modq:c:x1 modq:rate:x news2)" \
	    "argument 6 is not modq:held"
	check_match "modq_decide: news2 with modq's keys" \
	    "$(decide_with "1 news2" modq:incoming modq:c:x1 modq:rate:x modq)" \
	    "the stream is not news2:incoming"
	check_match "modq_trim: another application's stream" \
	    "$(rcli FCALL modq_trim 1 modq other:stream 2>&1)" "the stream is not modq:incoming"
	check_match "modq_read: another site's stream" \
	    "$(rcli FCALL modq_read 1 modq news2:incoming modqd x 10 65536 2>&1)" \
	    "the stream is not modq:incoming"
	check_match "modq_claim: another application's stream" \
	    "$(rcli FCALL modq_claim 1 modq other:stream g c own 0 0-0 10 2>&1)" \
	    "the stream is not modq:incoming"
	check_match "modq_stats: a stream name with a colon" \
	    "$(rcli FCALL_RO modq_stats 1 modq '{x}:y' 2>&1)" "bad stream name"
	check_eq "nothing written anywhere" \
	    "$(site_digest modq) $(site_digest news2) $(site_digest sport) $(site_digest other) $(rcli DBSIZE)" \
	    "$before"
	check_eq "other:user:42 as it was" "$(rcli --raw GET other:user:42) $(rcli TTL other:user:42)" "not modq's -1"
	for p in modq news2 sport; do
		stop_site $p
	done
}

# --- 3 acl --------------------------------------------------------------------

# Print user $1's ACL SETUSER command as modqd.conf(5) prints it, on one
# line (its lines end in \e, roff's backslash).
acl_recipe() {
	awk -v u="$1" '
		$1 == "ACL" && $2 == "SETUSER" && $3 == u { on = 1 }
		on {
			line = line " " $0
			if ($0 !~ /\\e$/) { print line; exit }
		}' "$TOP/daemon/modqd.conf.5" | sed 's/\\e / /g' | tr -s ' '
}

# Run the ACL SETUSER words $1 with password $2 for the placeholder $3.
acl_setuser() {
	local words
	set -f
	# shellcheck disable=SC2206
	words=($1)
	set +f
	words=("${words[@]/#>$3/>$2}")
	rcli "${words[@]}"
}

sec_acl() {
	section "3 acl: the daemon and moderator users of modqd.conf(5)"
	fresh
	local d m
	d=$(acl_recipe modqd-news2)
	m=$(acl_recipe mod-news2)
	check_match "the daemon's recipe is in the man page" "$d" "^ ACL SETUSER modqd-news2 reset on >DAEMON-PASSWORD ~news2 ~news2:\* resetchannels"
	check_match "the moderators' recipe is in the man page" "$m" "^ ACL SETUSER mod-news2 reset on >MODERATOR-PASSWORD ~news2 ~news2:\* resetchannels"
	check_eq "ACL SETUSER modqd-news2" "$(acl_setuser "$d" dpw DAEMON-PASSWORD)" OK
	check_eq "ACL SETUSER mod-news2" "$(acl_setuser "$m" mpw MODERATOR-PASSWORD)" OK
	printf 'dpw\n' >"$TMP/dpw"
	chmod 600 "$TMP/dpw"
	rcli SET other:user:42 "not modq's" >/dev/null
	# modq, the default user's site, beside it
	start_site modq <<EOF
EOF
	start_site news2 'user = "modqd-news2"; password_file = "dpw";' <<EOF
keywords: ( { name = "watch"; action = "hold"; words = [ "traitor" ]; },
            { name = "slurs"; action = "reject"; words = [ "shit" ]; } );
rates: ( { name = "author-flood"; per = "author"; limit = 1; window = 3600; action = "hold"; } );
repeats: ( { name = "repeat"; per = "ip"; window = 3600; action = "hold"; mode = "shadow"; } );
authors: { hold_if_rejected = { ratio = 0.5; min = 2; days = 7; }; };
decisions: { held_days = 1; };
EOF
	check_eq "news2's daemon connects as modqd-news2" \
	    "$(rcli CLIENT LIST | grep -c 'user=modqd-news2')" 6
	local n=news2:incoming
	rcli XADD $n '*' id a1 author u1 body hello >/dev/null
	rcli XADD $n '*' id a2 author u2 body "you traitor" >/dev/null
	rcli XADD $n '*' id a3 author u3 body "shit" >/dev/null
	rcli XADD $n '*' id a4 author u1 body again >/dev/null
	rcli XADD $n '*' author u5 body "no id" >/dev/null
	check_eq "a1" "$(status_of news2:c:a1)" "approved "
	check_eq "a2" "$(status_of news2:c:a2)" "held watch"
	check_eq "a3" "$(status_of news2:c:a3)" "rejected slurs"
	check_eq "a4" "$(status_of news2:c:a4)" "held author-flood"
	rcli XADD $n '*' id a1 author u1 body "hello, edited" >/dev/null
	local DEADLINE
	deadline "$WAIT_MS"
	until [ "$(rcli --raw HGET news2:c:a1 revision)" = 2 ] || expired; do
		sleep 0.05
	done
	check_eq "a1 edited" "$(rcli --raw HMGET news2:c:a1 status revision | paste -sd' ' -)" "approved 2"
	check_eq "the entry without id: a dead letter" "$(rcli XLEN news2:dead)" 1
	# the moderators' user, through modq
	local as=(--prefix news2 --user mod-news2 -a mpw --as alice)
	mq "${as[@]}" held
	check_eq "moderator: held" "$RC:$(cut -f1 <<<"$OUT" | paste -sd' ' -)" "0:a2 a4"
	mq "${as[@]}" show a2
	check_eq "moderator: show" "$RC" 0
	mq "${as[@]}" show a2 --body
	check_eq "moderator: show --body" "$RC:$OUT" "0:you traitor"
	mq "${as[@]}" approve a2
	check_eq "moderator: approve" "$RC:$(rcli --raw HGET news2:c:a2 status)" 0:approved
	mq "${as[@]}" reject a4
	check_eq "moderator: reject" "$RC:$(rcli --raw HGET news2:c:a4 status)" 0:rejected
	mq "${as[@]}" delete a3
	check_eq "moderator: delete" "$RC:$(rcli --raw HGET news2:c:a3 status)" 0:deleted
	mq "${as[@]}" author u2 trusted
	check_eq "moderator: author" "$RC:$(rcli --raw HGET news2:author:u2 trust)" 0:trusted
	mq "${as[@]}" thread t1 closed
	check_eq "moderator: thread" "$RC:$(rcli --raw HGET news2:thread:t1 mode)" 0:closed
	mq "${as[@]}" stats
	check_eq "moderator: stats" "$RC" 0
	mq "${as[@]}" dead
	check_eq "moderator: dead" "$RC:$(wc -l <<<"$OUT")" 0:1
	mq "${as[@]}" retry all
	check_eq "moderator: retry" "$RC:$(rcli XLEN news2:dead)" 0:1
	mq "${as[@]}" forget u1
	check_eq "moderator: forget" "$RC:$(rcli EXISTS news2:author:u1)" 0:0
	deadline 15000
	until [ "$(rcli --raw HGET news2:c:a1 status)" = deleted ] || expired; do
		sleep 0.1
	done
	check_eq "the daemon's user erased u1's records (modq_forget_step)" \
	    "$(rcli --raw HMGET news2:c:a1 status author | paste -sd' ' -)" "deleted "
	# and nothing beyond the site
	local mcli=(redis-cli -s "$SOCK" --user mod-news2 --pass mpw --no-auth-warning)
	local dcli=(redis-cli -s "$SOCK" --user modqd-news2 --pass dpw --no-auth-warning)
	rcli XADD modq:incoming '*' id m1 body hello >/dev/null
	check_eq "modq: m1" "$(status_of modq:c:m1)" "approved "
	check_match "moderator: another site's function call" \
	    "$("${mcli[@]}" FCALL modq_reject 0 m1 alice 2>&1)" "can't access"
	check_match "moderator: another site's record" \
	    "$("${mcli[@]}" HGET modq:c:m1 status 2>&1)" "NOPERM"
	check_match "moderator: another application's key" \
	    "$("${mcli[@]}" GET other:user:42 2>&1)" "NOPERM"
	check_match "daemon: another site's record" \
	    "$("${dcli[@]}" HSET modq:c:m1 status rejected 2>&1)" "NOPERM"
	check_match "daemon: another application's key" \
	    "$("${dcli[@]}" GET other:user:42 2>&1)" "NOPERM"
	check_match "daemon: no FLUSHALL" "$("${dcli[@]}" FLUSHALL 2>&1)" "NOPERM"
	local before
	before=$(site_digest news2)
	check_match "moderator: modqd's functions refuse it" \
	    "$("${mcli[@]}" FCALL modq_decide 1 news2 news2:incoming modqd 1 1000 0 \
	        news2:held news2:decisions news2:stats news2:dead 2>&1)" \
	    "only modqd calls this: this user may not XACK news2:incoming"
	check_eq "and nothing was written" "$(site_digest news2)" "$before"
	# what modqd.conf(5) says the moderator user can still do
	check_eq "moderator: a record written directly, as documented" \
	    "$("${mcli[@]}" HSET news2:c:a2 note "by hand")" 1
	check_eq "modq: m1 still approved" "$(rcli --raw HGET modq:c:m1 status)" approved
	check_nolog "$TMP/news2.log" "NOPERM"
	check_nolog "$TMP/news2.log" "ERR"
	stop_site news2
	stop_site modq
}

want 1 sites && sec_sites
want 2 refuse && sec_refuse
want 3 acl && sec_acl

echo "sites: $(($(date +%s) - STARTED)) s"
summary
