#!/usr/bin/env bash
#
# demo.sh -- `make run`: a private redis-server and modqd with a demo
# config, a handful of sample comments on a news thread, each decision
# printed as it lands; then it keeps running so you can look around with
# redis-cli.  Ctrl-C stops both.
#
set -eu
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=$TOP/$BUILD/demo
SOCK=$DIR/redis.sock
mkdir -p "$DIR"
rm -f "$SOCK"
PIDS=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	echo
	echo "demo stopped (logs in $DIR)"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$DIR" --daemonize no \
    >"$DIR/redis.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 100); do
	redis-cli -s "$SOCK" PING >/dev/null 2>&1 && break
	sleep 0.05
done
R() { redis-cli -s "$SOCK" "$@"; }

cp "$TOP/tools/demo.conf" "$DIR/modqd.conf"
mkdir -p "$DIR/lists"
cp "$TOP"/systemd/lists/*.txt "$DIR/lists/"
sed -i "s|@SOCK@|$SOCK|" "$DIR/modqd.conf"
"$TOP/$BUILD/modqd" -n -c "$DIR/modqd.conf"
"$TOP/$BUILD/modqd" -d -c "$DIR/modqd.conf" >"$DIR/modqd.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 100); do
	grep -q "ready: reading" "$DIR/modqd.log" 2>/dev/null && break
	sleep 0.05
done

echo "modqd is running (log: $DIR/modqd.log). Feeding sample comments on"
echo "thread pk-us-ties:"
echo
n=0
while IFS='|' read -r author body; do
	[ -z "$author" ] && continue
	n=$((n + 1))
	id=$((81230 + n))
	R XADD modq:incoming '*' id "$id" author "$author" \
	    ip "203.0.113.$((n % 7 + 1))" thread pk-us-ties body "$body" >/dev/null
	for i in $(seq 1 100); do
		st=$(R HGET "modq:c:$id" status)
		[ -n "$st" ] && break
		sleep 0.02
	done
	printf '%-8s %-9s %-24s %s\n' "$id" "$st" \
	    "[$(R HGET "modq:c:$id" reasons)]" "$body"
done < "$TOP/tools/demo-comments.txt"

cat <<EOT

Try it (Ctrl-C here stops the demo):

  redis-cli -s $SOCK ZRANGE modq:held 0 9
  redis-cli -s $SOCK HGETALL modq:c:81233
  redis-cli -s $SOCK XRANGE modq:decisions - +
  redis-cli -s $SOCK HGETALL modq:stats
  redis-cli -s $SOCK FCALL modq_approve 0 81233 alice "fine in context"
  redis-cli -s $SOCK XADD modq:incoming '*' id 99 author u-1 body "your text"
  $TOP/$BUILD/modqd -c $DIR/modqd.conf -e "some text to try"
EOT
wait "${PIDS[1]}"
