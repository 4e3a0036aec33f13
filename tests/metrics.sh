#!/usr/bin/env bash
#
# metrics.sh -- the Prometheus endpoint under hostile clients: a request
# head sent in part and never finished, one sent a byte at a time, a
# 1 MiB header, more connections than the endpoint serves at once, and
# connections until the daemon runs out of descriptors (ulimit -n).  In
# each, the client is closed or refused within the endpoint's limits, the
# daemon's memory and log stay small, and a comment added meanwhile is
# still decided.  Also: the dead-letter label never holds a field name
# the entry chose, and the plain HTTP answers (HEAD, 404, 405, 413).
# Usage: tests/metrics.sh [BUILD_DIR]   (default: build)
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init metrics

CONNS=16 # connections the endpoint serves at once (metrics.c)
CLIENT=$TMP/client.py
# Debian's python3 (a wrapper such as pyenv's can take a second to start).
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 python3 | head -1)}

# The hostile clients; each prints one line of outcome.  Every wait in it
# has a timeout, every loop a bound.
cat >"$CLIENT" <<'EOF'
import socket, sys, threading, time

HEAD = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n"


def conn(port, timeout=2.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def wait_close(s, limit):
    """Seconds until the server closes s (EOF or reset), or None."""
    t0 = time.monotonic()
    s.settimeout(0.1)
    while time.monotonic() - t0 < limit:
        try:
            if s.recv(65536) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - t0
    return None


def stall(port):
    """Half a request head, then nothing."""
    s = conn(port)
    s.sendall(HEAD)
    t = wait_close(s, 15)
    print("closed %d" % (t * 1000) if t is not None else "open")


def drip(port):
    """A header one byte every 200 ms, never ended."""
    s = conn(port)
    s.sendall(HEAD + b"X-Slow: ")
    s.settimeout(0.2)
    t0 = time.monotonic()
    for _ in range(75):
        try:
            if s.recv(65536) == b"":
                break
        except socket.timeout:
            pass
        except OSError:
            break
        try:
            s.send(b"a")
        except OSError:
            break
    else:
        print("open")
        return
    print("closed %d" % ((time.monotonic() - t0) * 1000))


def big(port, n):
    """n clients, each a 1 MiB header that never ends: all refused?"""
    out = []

    def one():
        s = conn(port)
        t0 = time.monotonic()
        s.settimeout(3)
        try:
            s.sendall(HEAD + b"X-Big: " + b"a" * (1 << 20))
        except OSError:
            pass  # refused while sending
        got = b""
        try:
            while len(got) < 64:
                d = s.recv(64)
                if d == b"":
                    break
                got += d
        except socket.timeout:
            out.append("open")
            return
        except OSError:
            pass
        dt = (time.monotonic() - t0) * 1000
        if got.startswith(b"HTTP/1.1 431 "):
            out.append("431 %d" % dt)
        elif got == b"":
            out.append("closed %d" % dt)
        else:
            out.append("answered:" + got.split(b"\r\n")[0].decode())
        s.close()

    th = [threading.Thread(target=one) for _ in range(n)]
    for t in th:
        t.start()
    for t in th:
        t.join(10)
    print(" ".join(sorted(out, key=lambda x: x.split()[0])))


def hold(port, n, secs):
    """n connections with half a head each, held secs seconds."""
    socks, failed = [], 0
    for _ in range(n):
        try:
            s = conn(port, 3)
            s.sendall(HEAD)
            socks.append(s)
        except OSError:
            failed += 1
    print("opened %d failed %d" % (len(socks), failed), flush=True)
    time.sleep(secs)
    for s in socks:
        s.close()


def raw(port, wait):
    """stdin in one write; print the answer up to EOF or wait seconds."""
    s = conn(port)
    s.sendall(sys.stdin.buffer.read())
    s.settimeout(wait)
    got = b""
    try:
        while len(got) < 1 << 20:
            d = s.recv(65536)
            if d == b"":
                break
            got += d
    except OSError:
        pass
    sys.stdout.write(got.decode("utf-8", "replace"))


cmd, port = sys.argv[1], int(sys.argv[2])
if cmd == "raw":
    raw(port, float(sys.argv[3]))
elif cmd == "stall":
    stall(port)
elif cmd == "drip":
    drip(port)
elif cmd == "big":
    big(port, int(sys.argv[3]))
elif cmd == "hold":
    hold(port, int(sys.argv[3]), float(sys.argv[4]))
EOF

# Send a request (printf format) in one write to the endpoint and print
# the answer without CRs; waits at most HTTP_WAIT seconds (3).
http_raw() {
	local port=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" | "$PYTHON" "$CLIENT" raw "$port" "${HTTP_WAIT:-3}" 2>/dev/null |
	    tr -d '\r'
}
http_get() {
	http_raw "$1" 'GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n' "$2"
}

# The daemon's resident memory in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$MODQD_PID/status"
}

# Descriptors the daemon has open.
nfds() {
	local f n=0
	for f in /proc/"$MODQD_PID"/fd/*; do
		n=$((n + 1))
	done
	echo "$n"
}

# Wait (bounded, 5 s) until /metrics answers 200.
wait_metrics() {
	local DEADLINE
	deadline 5000
	until [ "$(http_get "$PORT" /metrics | head -1)" = "HTTP/1.1 200 OK" ]; do
		expired && return 1
		sleep 0.1
	done
}

# Start modqd with the endpoint on a free loopback port (PORT); the
# log is $TMP/NAME.log; the optional second argument is a ulimit -n.
start_endpoint() {
	local log=$TMP/$1.log nofile=${2:-} try port
	PORT=
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		write_conf "$TMP/metrics.conf" <<-EOF
		redis: { unix = "$SOCK"; };
		queue: { max_body = 64; };
		metrics: { listen = "127.0.0.1:$port"; };
		keywords: ( { name = "slurs"; action = "reject"; words = [ "ass" ]; } );
		EOF
		if [ -n "$nofile" ]; then
			(ulimit -n "$nofile" && exec "$MODQD" -d -c "$TMP/metrics.conf") \
			    >"$log" 2>&1 &
			MODQD_PID=$!
			MODQD_LOG=$log
			track_pid "$MODQD_PID"
		else
			spawn_modqd "$TMP/metrics.conf" "$log"
		fi
		PORT=$port
		if wait_log "$log" "ready: reading" 5000 &&
		    wait_metrics; then
			return 0
		fi
		PORT=
		stop_modqd
	done
	return 1
}

start_redis "$TMP" "$SOCK" || { echo "metrics: cannot start redis-server"; exit 1; }

section "plain answers"
start_endpoint plain || { echo "metrics: cannot start modqd"; exit 1; }
check_eq "GET /metrics over HTTP/1.0" \
    "$(http_raw "$PORT" 'GET /metrics HTTP/1.0\r\n\r\n' | head -1)" "HTTP/1.0 200 OK"
check_eq "HEAD /metrics has no body" \
    "$(http_raw "$PORT" 'HEAD /metrics HTTP/1.1\r\n\r\n' | grep -c '^modq_')" 0
check_eq "HEAD /metrics status" \
    "$(http_raw "$PORT" 'HEAD /metrics HTTP/1.1\r\n\r\n' | head -1)" "HTTP/1.1 200 OK"
check_eq "a query string is ignored" \
    "$(http_get "$PORT" '/healthz?x=1' | sed -n '1p;$p' | tr '\n' '|')" "HTTP/1.1 200 OK|ok|"
check_eq "unknown path" "$(http_get "$PORT" /nope | head -1)" "HTTP/1.1 404 Not Found"
check_eq "POST is not allowed" \
    "$(http_raw "$PORT" 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n' | head -1)" \
    "HTTP/1.1 405 Method Not Allowed"
check_eq "a request with a body is refused" \
    "$(http_raw "$PORT" 'GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello' | head -1)" \
    "HTTP/1.1 413 Content Too Large"
check_eq "a chunked request is refused" \
    "$(http_raw "$PORT" 'GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | head -1)" \
    "HTTP/1.1 413 Content Too Large"
check_eq "not HTTP/1.x" "$(http_raw "$PORT" 'GET /metrics\r\n\r\n' | head -1)" \
    "HTTP/1.1 400 Bad Request"
check_eq "one request a connection" \
    "$(http_raw "$PORT" 'GET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n' | grep -c '^HTTP/')" 1

section "(a) half a request, then silence"
out=$("$PYTHON" "$CLIENT" stall "$PORT")
echo "   stalled: $out"
check_match "a stalled request is closed within 5 s (+1)" "$out" '^closed [0-9]+$'
check_range "ms until the stalled request was closed" "${out#closed }" 4000 7000
out=$("$PYTHON" "$CLIENT" drip "$PORT")
echo "   dripping: $out"
check_match "a header sent a byte at a time is closed within 5 s (+1)" "$out" '^closed [0-9]+$'
check_range "ms until the dripping request was closed" "${out#closed }" 4000 7000

section "(b) 1 MiB headers"
rss0=$(rss_kb)
out=$("$PYTHON" "$CLIENT" big "$PORT" 8)
check_match "8 clients with a 1 MiB header: each refused within 3 s" "$out" \
    '^((431|closed) [0-9]+ ?){8}$'
rss1=$(rss_kb)
echo "   RSS ${rss0} KiB before, ${rss1} KiB after; $out"
check_range "RSS growth (KiB) after 8 MiB of headers" $((rss1 - rss0)) -100000 2048
xadd id b1 body "you ass"
check_status b1 rejected 5000

section "(c) more connections than the endpoint serves"
fds0=$(nfds)
# The extra ones fit in the listen backlog: they wait there, unaccepted.
"$PYTHON" "$CLIENT" hold "$PORT" $((CONNS + 8)) 3 >"$TMP/hold.out" &
HOLD=$!
track_pid "$HOLD"
wait_log "$TMP/hold.out" '^opened' 5000
fds1=$(nfds)
echo "   $(cat "$TMP/hold.out"); daemon descriptors $fds0 -> $fds1"
check_eq "all connected" "$(cat "$TMP/hold.out")" "opened $((CONNS + 8)) failed 0"
check_range "descriptors taken by $((CONNS + 8)) clients" $((fds1 - fds0)) 0 "$CONNS"
check_eq "no answer past the cap" "$(HTTP_WAIT=1 http_get "$PORT" /healthz | head -1)" ""
xadd id c1 body "you ass"
check_status c1 rejected 5000
wait "$HOLD"
untrack_pid "$HOLD"
check_true "/metrics answers once they are gone" wait_metrics
stop_modqd

section "(d) out of descriptors"
# With ulimit -n 32 the daemon has about 15 open; clients could take the
# rest, and Redis could not be reconnected.
NOFILE=32
start_endpoint nofile $NOFILE ||
    { echo "metrics: cannot start modqd with ulimit -n $NOFILE"; exit 1; }
lines0=$(wc -l <"$TMP/nofile.log")
fds0=$(nfds)
"$PYTHON" "$CLIENT" hold "$PORT" $((CONNS + 8)) 6 >"$TMP/hold.out" &
HOLD=$!
track_pid "$HOLD"
wait_log "$TMP/hold.out" '^opened' 5000
sleep 0.5
fds1=$(nfds)
echo "   $(cat "$TMP/hold.out"); daemon descriptors $fds0 -> $fds1 of $NOFILE"
check_range "descriptors left for Redis" $((NOFILE - fds1)) 6 "$NOFILE"
rcli CLIENT KILL TYPE normal >/dev/null # modqd's six connections
xadd id d1 body "you ass"
check_status d1 rejected 5000
wait "$HOLD"
untrack_pid "$HOLD"
check_true "/metrics answers once they are gone" wait_metrics
lines=$(($(wc -l <"$TMP/nofile.log") - lines0))
echo "   $lines log lines; $(grep -m1 -E 'not accepting|libevent' "$TMP/nofile.log")"
check_log "$TMP/nofile.log" 'metrics: .*; not accepting for 1000 ms$' 100
check_range "log lines while out of descriptors" "$lines" 1 20
xadd id d2 body "you ass"
check_status d2 rejected 5000
stop_modqd

section "(e) the dead-letter label is a fixed kind"
start_endpoint labels || { echo "metrics: cannot start modqd"; exit 1; }
name1="f$RANDOM$RANDOM"
name2="g$RANDOM$RANDOM"
xadd id e1 body "x" "$name1" a "$name1" b
sid1=$LAST_SID
xadd id e2 body "x" "$name2" "$(printf 'v%.0s' $(seq 1 100))"
sid2=$LAST_SID
xadd id e3 body "x" note y
wait_dead 3
metrics=$(http_get "$PORT" /metrics)
check_eq "no label holds a field name" "$(echo "$metrics" | grep -cE "$name1|$name2")" 0
check_eq "duplicate field" "$(echo "$metrics" | grep -F '{error="duplicate field"}')" \
    'modq_dead_letters_total{error="duplicate field"} 1'
check_eq "field too large" "$(echo "$metrics" | grep -F '{error="field too large"}')" \
    'modq_dead_letters_total{error="field too large"} 1'
check_eq "reserved field" "$(echo "$metrics" | grep -F '{error="reserved field"}')" \
    'modq_dead_letters_total{error="reserved field"} 1'
check_eq "every kind listed, none more" "$(echo "$metrics" | grep -c '^modq_dead_letters_total{')" 16
check_match "the dead letter keeps the whole reason" "$(dead_of "$sid1")" \
    "^error=duplicate field: $name1\|"
check_match "the dead letter keeps the whole reason (size)" "$(dead_of "$sid2")" \
    "^error=field $name2 too large: 100 bytes\|"
stop_modqd

summary
