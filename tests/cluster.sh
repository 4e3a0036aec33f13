#!/bin/bash
# cluster.sh -- modqd and modq against a Redis Cluster of three primaries
# on loopback ports, in a temp dir:
#
#   1 keyslot    the hash slot modqd computes for a prefix (modqd -n) is
#                CLUSTER KEYSLOT's, for tags of every kind
#   2 refused    a cluster config whose prefix has no hash tag is refused
#                with its file:line
#   3 drain      two sites on slots of different primaries, their streams
#                filled before two daemons start: the time to drain both
#                (comments per second through the cluster)
#   4 migration  more comments pushed to both sites while the slot of one
#                migrates to another primary (IMPORTING, MIGRATING,
#                MIGRATE in batches, SETSLOT NODE): exactly one decision
#                per comment, the right ones, the move logged and the
#                daemon on the new primary, no key of a site on a node
#                that does not own its slot, the library on every primary
#   5 modq       modq -c held/approve from every node; modqd -R from a
#                node that does not own the slot
#   6 hostile    a fake node (python3) as the seed answers CLUSTER SLOTS
#                with replies built to hurt: too long, too many
#                elements, too deep, wrong types, bad hosts and ports;
#                each is refused with its reason, nothing crashes
#
# Every wait is bounded; the nodes are stopped by PID (the EXIT trap).
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
MODQ=$(cd "$(dirname "$BUILD/modq")" && pwd)/modq
TOP=$(cd "$(dirname "$0")/.." && pwd)
N_DRAIN=${CLUSTER_DRAIN_N:-5000} # comments a site, section 3
N_LOAD=${CLUSTER_LOAD_N:-2000}   # comments a site, section 4

. "$TOP/tests/lib.sh"
suite_init cluster
WAIT_MS=${WAIT_MS:-30000}

# redis-cli to one node (by port); rc -c PORT ... follows redirects.
rc() {
	local follow=
	if [ "$1" = -c ]; then
		follow=-c
		shift
	fi
	local p=$1
	shift
	redis-cli $follow -h 127.0.0.1 -p "$p" "$@"
}

# Tell whether TCP port P (and its cluster bus, P + 10000) is free.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null &&
	    ! (exec 3<>"/dev/tcp/127.0.0.1/$(($1 + 10000))") 2>/dev/null
}

# Start a cluster node on a free port; sets NODE_PORT.  Bounded retries.
start_node() {
	local i p d
	for i in $(seq 1 20); do
		p=$((20000 + RANDOM % 30000))
		port_free "$p" || continue
		d=$TMP/node-$p
		mkdir -p "$d"
		redis-server --port "$p" --bind 127.0.0.1 --protected-mode yes \
		    --cluster-enabled yes --cluster-config-file "$d/nodes.conf" \
		    --cluster-node-timeout 5000 --save '' --appendonly no \
		    --dir "$d" --daemonize no >>"$d/redis.log" 2>&1 &
		track_pid $!
		local pid=$! DEADLINE
		deadline 5000
		until rc "$p" PING >/dev/null 2>&1; do
			if ! kill -0 "$pid" 2>/dev/null || expired; then
				kill "$pid" 2>/dev/null
				wait "$pid" 2>/dev/null
				untrack_pid "$pid"
				continue 2
			fi
			sleep 0.05
		done
		NODE_PORT=$p
		return 0
	done
	return 1
}

# The port of the node that owns KEY (the one that answers without MOVED).
owner_of() {
	local p out
	for p in "${PORTS[@]}"; do
		out=$(rc "$p" --raw EXISTS "$1" 2>&1)
		if [[ "$out" =~ ^[0-9]+$ ]]; then
			echo "$p"
			return
		fi
	done
	echo none
}

# The node id of the node on port P.
node_id() {
	rc "$1" CLUSTER MYID
}

# Wait (bounded) until every node says cluster_state:ok and agrees that
# KEY (if given) is on port OWNER.
wait_cluster_ok() {
	local p DEADLINE ok
	deadline "$WAIT_MS"
	until expired; do
		ok=1
		for p in "${PORTS[@]}"; do
			rc "$p" CLUSTER INFO | grep -q '^cluster_state:ok' || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

PORTS=()
for i in 1 2 3; do
	start_node || { echo "cluster: cannot start redis-server"; exit 1; }
	PORTS+=("$NODE_PORT")
done
redis-cli --cluster create "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" \
    "127.0.0.1:${PORTS[2]}" --cluster-replicas 0 --cluster-yes \
    >"$TMP/create.log" 2>&1 || { echo "cluster: create failed"; cat "$TMP/create.log"; exit 1; }
wait_cluster_ok || { echo "cluster: cluster_state never ok"; exit 1; }

# A cluster config for PREFIX with seed PORT: cluster_conf FILE PREFIX PORT
cluster_conf() {
	write_conf "$1" <<EOF
redis: { cluster = true; host = "127.0.0.1"; port = $3; prefix = "$2";
         timeout_ms = 2000; };
queue: { claim_idle_ms = 2000; batch = 256; };
log: { decisions = false; };
keywords: (
  { name = "slurs"; words = [ "badword" ]; action = "reject"; },
  { name = "watch"; words = [ "holdme" ]; action = "hold"; }
);
EOF
}

if want 1 keyslot; then
	section "1 keyslot"
	n=0
	for p in 'modq:{news}' '{sport}' 'a{b{c}d}' 'x{y}{z}' '{0}' \
	    '{user1000}.following' 's:{Z9._:-}' '{}{x}' 'mod{q}' \
	    $(for i in $(seq 1 40); do echo "site$i:{t$((RANDOM * i))}"; done); do
		cluster_conf "$TMP/k.conf" "$p" "${PORTS[0]}"
		out=$("$MODQD" -n -c "$TMP/k.conf" 2>&1)
		got=$(sed -n 's/^redis.prefix .*: Redis Cluster hash slot \([0-9]*\)$/\1/p' <<<"$out")
		if [ "$p" = '{}{x}' ]; then
			check_match "'$p' has no tag" "$out" 'has no hash tag'
			continue
		fi
		want_slot=$(rc "${PORTS[0]}" CLUSTER KEYSLOT "$p")
		check_eq "slot of $p" "$got" "$want_slot"
		n=$((n + 1))
	done
	check_range "prefixes compared" "$n" 45 50
fi

if want 2 refused; then
	section "2 refused"
	write_conf "$TMP/bad.conf" <<EOF
redis: {
  cluster = true;
  port = ${PORTS[0]};
  prefix = "modq:news";
};
EOF
	out=$("$MODQD" -n -c "$TMP/bad.conf" 2>&1)
	rc_n=$?
	check_eq "no hash tag: exit" "$rc_n" 1
	check_match "no hash tag: file:line" "$out" "^$TMP/bad.conf:4: redis.prefix: \"modq:news\" has no hash tag: .* e.g. prefix = \"\{modq:news\}\""
fi

# Two sites whose slots are on different primaries: news and sport, or
# other tags until two differ.
TAG_A=news
TAG_B=
for t in sport weather culture s1 s2 s3 s4 s5 s6 s7 s8; do
	if [ "$(owner_of "modq:{$t}:x")" != "$(owner_of "modq:{$TAG_A}:x")" ]; then
		TAG_B=$t
		break
	fi
done
[ -n "$TAG_B" ] || { echo "cluster: no tag on another node"; exit 1; }
PA="modq:{$TAG_A}" PB="modq:{$TAG_B}"
SLOT_A=$(rc "${PORTS[0]}" CLUSTER KEYSLOT "$PA")
SLOT_B=$(rc "${PORTS[0]}" CLUSTER KEYSLOT "$PB")
OWN_A=$(owner_of "$PA:x")
OWN_B=$(owner_of "$PB:x")
# The third node: where site A moves in section 4.
for p in "${PORTS[@]}"; do
	[ "$p" != "$OWN_A" ] && [ "$p" != "$OWN_B" ] && OTHER=$p
done
echo "sites: $PA slot $SLOT_A on $OWN_A, $PB slot $SLOT_B on $OWN_B, spare $OTHER"
# Seeds: each daemon starts from a node that does not own its slot.
cluster_conf "$TMP/a.conf" "$PA" "$OWN_B"
cluster_conf "$TMP/b.conf" "$PB" "$OTHER"

# Fill a site's stream with comments PREFIX-ID FROM..TO (every tenth a
# reject, every other approved), through redis-cli -c from a seed node.
fill() {
	local prefix=$1 id=$2 from=$3 to=$4 seed=$5 i
	for ((i = from; i <= to; i++)); do
		if ((i % 10 == 0)); then
			echo "XADD $prefix:incoming * id $id$i author u$((i % 50)) body \"you badword $i\""
		else
			echo "XADD $prefix:incoming * id $id$i author u$((i % 50)) body \"fine comment $i\""
		fi
	done | rc -c "$seed" >/dev/null
}

# Count the decisions stream of a site: "entries distinct-ids doubled".
decision_counts() {
	rc -c "${PORTS[0]}" --raw EVAL "$LUA_DECISION_COUNTS" 1 "$1:decisions"
}

# Count the decisions of ids ID<n> whose status is not what n says
# (rejected for every tenth, approved otherwise).
LUA_WRONG='local bad = 0
for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
	local h = {}
	for i = 1, #e[2], 2 do h[e[2][i]] = e[2][i + 1] end
	local n = tonumber(string.match(h.id or "", "^" .. ARGV[1] .. "(%d+)$"))
	if n then
		local want = (n % 10 == 0) and "rejected" or "approved"
		if h.status ~= want then bad = bad + 1 end
	end
end
return bad'
wrong_decisions() {
	rc -c "${PORTS[0]}" --raw EVAL "$LUA_WRONG" 1 "$1:decisions" "$2"
}

# Wait (bounded) until a site's decisions stream has N entries.
wait_decisions() {
	local prefix=$1 n=$2 DEADLINE got
	deadline "${3:-$WAIT_MS}"
	until expired; do
		got=$(rc -c "${PORTS[0]}" XLEN "$prefix:decisions")
		[ "${got:-0}" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

start_daemon() { # CONF LOG: sets the PID in DPID
	start_modqd "$1" "$2" || return 1
	DPID=$MODQD_PID
}

if want 3 drain; then
	section "3 drain"
	fill "$PA" b 1 "$N_DRAIN" "${PORTS[0]}"
	fill "$PB" b 1 "$N_DRAIN" "${PORTS[0]}"
	check_eq "site A filled" "$(rc -c "${PORTS[0]}" XLEN "$PA:incoming")" "$N_DRAIN"
	check_eq "site B filled" "$(rc -c "${PORTS[0]}" XLEN "$PB:incoming")" "$N_DRAIN"
fi
t0=$(now_ms)
start_daemon "$TMP/a.conf" "$TMP/a.log" || { echo "cluster: daemon A did not start"; exit 1; }
PID_A=$DPID
start_daemon "$TMP/b.conf" "$TMP/b.log" || { echo "cluster: daemon B did not start"; exit 1; }
PID_B=$DPID
check_log "$TMP/a.log" "redis: connected to 127\.0\.0\.1:$OWN_A \(cluster primary of hash slot $SLOT_A\)"
check_log "$TMP/b.log" "redis: connected to 127\.0\.0\.1:$OWN_B \(cluster primary of hash slot $SLOT_B\)"
if want 3 drain; then
	wait_decisions "$PA" "$N_DRAIN" 120000
	wait_decisions "$PB" "$N_DRAIN" 120000
	t1=$(now_ms)
	ms=$((t1 - t0))
	echo "drained $((2 * N_DRAIN)) comments of two sites in $ms ms: $((2 * N_DRAIN * 1000 / (ms > 0 ? ms : 1))) comments/s (daemon start included)"
	check_eq "site A drained" "$(decision_counts "$PA")" "$N_DRAIN $N_DRAIN 0"
	check_eq "site B drained" "$(decision_counts "$PB")" "$N_DRAIN $N_DRAIN 0"
	check_eq "site A right" "$(wrong_decisions "$PA" b)" 0
	check_eq "site B right" "$(wrong_decisions "$PB" b)" 0
fi
BASE_A=$(rc -c "${PORTS[0]}" XLEN "$PA:decisions")
BASE_B=$(rc -c "${PORTS[0]}" XLEN "$PB:decisions")

if want 4 migration; then
	section "4 migration"
	for p in "${PORTS[@]}"; do
		check_match "library on $p" "$(rc "$p" FUNCTION LIST LIBRARYNAME modq)" modq_decide
	done
	# The load, in chunks through redis-cli -c (it follows ASK and MOVED).
	(
		for ((c = 0; c < N_LOAD / 100; c++)); do
			fill "$PA" n $((c * 100 + 1)) $((c * 100 + 100)) "${PORTS[0]}"
			fill "$PB" n $((c * 100 + 1)) $((c * 100 + 100)) "${PORTS[0]}"
			sleep 0.05
		done
	) &
	LOADER=$!
	track_pid $LOADER
	# Migrate site A's slot from OWN_A to OTHER once a part is decided.
	wait_decisions "$PA" $((BASE_A + N_LOAD / 5))
	src=$(node_id "$OWN_A")
	dst=$(node_id "$OTHER")
	rc "$OTHER" CLUSTER SETSLOT "$SLOT_A" IMPORTING "$src" >/dev/null
	rc "$OWN_A" CLUSTER SETSLOT "$SLOT_A" MIGRATING "$dst" >/dev/null
	moved=0
	deadline 180000
	while ! expired; do
		mapfile -t keys < <(rc "$OWN_A" --raw CLUSTER GETKEYSINSLOT "$SLOT_A" 100)
		[ "${#keys[@]}" -eq 0 ] || [ -z "${keys[0]}" ] && break
		out=$(rc "$OWN_A" MIGRATE 127.0.0.1 "$OTHER" "" 0 5000 KEYS "${keys[@]}")
		[ "$out" = OK ] || [ "$out" = NOKEY ] || echo "MIGRATE: $out"
		moved=$((moved + ${#keys[@]}))
		sleep 0.01
	done
	check_eq "slot emptied on the old primary" "$(rc "$OWN_A" CLUSTER COUNTKEYSINSLOT "$SLOT_A")" 0
	echo "migrated $moved keys of $PA"
	for p in "$OTHER" "$OWN_A" "$OWN_B"; do
		rc "$p" CLUSTER SETSLOT "$SLOT_A" NODE "$dst" >/dev/null
	done
	check_eq "new owner of $PA" "$(owner_of "$PA:x")" "$OTHER"
	check_log "$TMP/a.log" "the cluster moved hash slot $SLOT_A of modq:\{$TAG_A\} to 127\.0\.0\.1:$OTHER; reconnecting to its new primary"
	check_log "$TMP/a.log" "redis: connected to 127\.0\.0\.1:$OTHER \(cluster primary of hash slot $SLOT_A\)"
	wait "$LOADER"
	untrack_pid "$LOADER"
	wait_decisions "$PA" $((BASE_A + N_LOAD)) 120000
	wait_decisions "$PB" $((BASE_B + N_LOAD)) 120000
	sleep 1 # a second decision of an id would come now
	want_a=$((BASE_A + N_LOAD))
	want_b=$((BASE_B + N_LOAD))
	check_eq "site A: one decision each" "$(decision_counts "$PA")" "$want_a $want_a 0"
	check_eq "site B: one decision each" "$(decision_counts "$PB")" "$want_b $want_b 0"
	check_eq "site A: right decisions" "$(wrong_decisions "$PA" n)" 0
	check_eq "site B: right decisions" "$(wrong_decisions "$PB" n)" 0
	check_eq "site A: nothing pending" "$(rc -c "${PORTS[0]}" XPENDING "$PA:incoming" modqd | head -1)" 0
	check_eq "site B: nothing pending" "$(rc -c "${PORTS[0]}" XPENDING "$PB:incoming" modqd | head -1)" 0
	check_running "daemon A" "$PID_A"
	check_running "daemon B" "$PID_B"
	check_nolog "$TMP/b.log" "moved hash slot"
	# No key anywhere but in the slot of a site its node owns.
	for p in "${PORTS[@]}"; do
		own=0
		[ "$(owner_of "$PA:x")" = "$p" ] && own=$((own + $(rc "$p" CLUSTER COUNTKEYSINSLOT "$SLOT_A")))
		[ "$(owner_of "$PB:x")" = "$p" ] && own=$((own + $(rc "$p" CLUSTER COUNTKEYSINSLOT "$SLOT_B")))
		check_eq "node $p holds only its sites' keys" "$(rc "$p" DBSIZE)" "$own"
	done
	check_eq "site A's keys on the new primary" "$(rc "$OWN_A" CLUSTER COUNTKEYSINSLOT "$SLOT_A")" 0
	for p in "${PORTS[@]}"; do
		check_match "library on $p after the move" "$(rc "$p" FUNCTION LIST LIBRARYNAME modq)" modq_decide
	done
fi

if want 5 modq; then
	section "5 modq"
	rc -c "${PORTS[0]}" XADD "$PA:incoming" '*' id h1 author u1 body "please holdme" >/dev/null
	deadline "$WAIT_MS"
	until [ "$(rc -c "${PORTS[0]}" --raw HGET "$PA:c:h1" status)" = held ] || expired; do
		sleep 0.05
	done
	check_eq "h1 held" "$(rc -c "${PORTS[0]}" --raw HGET "$PA:c:h1" status)" held
	for p in "${PORTS[@]}"; do
		out=$("$MODQ" -c -h 127.0.0.1 -p "$p" --prefix "$PA" --plain held 2>&1)
		check_match "modq -c held from $p" "$out" $'^h1\t'
	done
	out=$("$MODQ" -h 127.0.0.1 -p "$OWN_B" --prefix "$PA" --plain held 2>&1)
	check_match "modq without -c on another node" "$out" 'MOVED'
	out=$("$MODQ" -c -h 127.0.0.1 -p "$OWN_B" --prefix "$PA" --as alice approve h1 --note ok 2>&1)
	check_eq "modq -c approve from a node without the slot" "$out" $'h1\tapproved'
	check_eq "h1 approved" "$(rc -c "${PORTS[0]}" --raw HGET "$PA:c:h1" status)" approved
	out=$("$MODQ" -c -h 127.0.0.1 -p "$OWN_A" --prefix "$PA" show h1 2>&1)
	check_match "modq -c show" "$out" 'approved'
	out=$("$MODQD" -c "$TMP/a.conf" -R 100 2>&1 >"$TMP/rejudge.out")
	check_eq "modqd -R from a seed without the slot: exit" "$?" 0
	check_match "modqd -R from a seed without the slot" "$out" '^[0-9]+ re-judged, [0-9]+ would change'
	check_match "modqd -R: the moderator's decision" "$(cat "$TMP/rejudge.out")" $'h1\tapprove\thold\twatch\tmoderator'
fi

# A fake node: each connection gets the next of these replies to its
# first command, whatever it was, then is closed.
# shellcheck disable=SC2016 # Python, not shell
FAKE_PY='import socket, sys
entry = lambda host, port: (b"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$%d\r\n%s\r\n%s\r\n"
    % (len(host), host, port))
replies = [
    b"$100000000\r\n" + b"x" * 4500000,
    b"*100000\r\n" + b":1\r\n" * 1000,
    b"*1\r\n" * 10 + b":1\r\n",
    b":5\r\n",
    b"-ERR This instance has cluster support disabled\r\n",
    b"*2\r\n*3\r\n$1\r\na\r\n:1\r\n:2\r\n:7\r\n",
    entry(b"127.0.0.1", b":99999"),
    entry(b"127.0.0.1", b"$4\r\n6379"),
    entry(b"h" * 300, b":6379"),
    entry(b"?", b":6379"),
]
'

if want 6 hostile; then
	section "6 hostile: a fake node's replies"
	for i in $(seq 1 20); do
		FAKE_PORT=$((20000 + RANDOM % 30000))
		port_free "$FAKE_PORT" && break
	done
	python3 -c "$FAKE_PY$FAKE_SERVE" "$FAKE_PORT" >"$TMP/fake.log" 2>&1 &
	FAKE_PID=$!
	track_pid "$FAKE_PID"
	wait_log "$TMP/fake.log" "^listening" || not_ok "the fake node did not start"
	cluster_conf "$TMP/fake.conf" "$PA" "$FAKE_PORT"
	for want in "reply longer than 4194304 bytes" "a reply of too many elements" \
	    "CLUSTER SLOTS: .*depth" "CLUSTER SLOTS: not an array" \
	    "CLUSTER SLOTS: ERR This instance has cluster support disabled" \
	    "no node serves slot $SLOT_A" "no node serves slot $SLOT_A" \
	    "no node serves slot $SLOT_A" "no node serves slot $SLOT_A" \
	    "no node serves slot $SLOT_A"; do
		"$MODQD" -c "$TMP/fake.conf" -R 1 >/dev/null 2>"$TMP/fake-R.log"
		frc=$?
		out=$(cat "$TMP/fake-R.log")
		check_eq "a fake node's reply ($want): exit" "$frc" 1
		check_match "a fake node's reply: $want" "$out" \
		    "no node of the cluster says which is the primary of hash slot $SLOT_A \(modq:\{$TAG_A\}\): .*$want"
	done
	term_wait "$FAKE_PID" 5000
fi

kill -TERM "$PID_A" "$PID_B"
term_wait "$PID_A" 15000
term_wait "$PID_B" 15000
summary
