#!/bin/bash
#
# modq -- the moderator's command: work the modq held queue from a
# terminal.  A wrapper around redis-cli: every action is one atomic FCALL of
# the modq Functions library that modqd loads, every read is one read-only
# script (EVAL_RO).  Comment data never passes through a shell's parser:
# it travels as redis-cli arguments (or, for approve and reject, as lines
# on redis-cli's stdin, inside double quotes with backslash, quote and line
# ends escaped), and what comes back is escaped by the server-side scripts
# so that each value is one line without control characters (bodies shown
# by "show" excepted).  See modq(1).
#
set -u
# Bytes, not characters: ids are checked and strings escaped byte by byte.
export LC_ALL=C

VERSION=0.1.0

PREFIX=modq
AS=${MODQ_USER:-}
OUTMODE=
WIDTH=0
STREAM=incoming
GROUP=modqd
NOTE=
NOTE_SET=
THREAD=
THREAD_SET=
LIMIT=
COUNT=
BODY=
RCLI=(redis-cli)
ARGS=()

# Lua run by EVAL_RO before each read script: escaping for display.
# esc() turns a value into one line: backslash, control characters, C1
# controls and bidi/line-separator marks become escapes; other UTF-8 is kept.
LUA_LIB='
local function esc(s, keepnl)
	if not s then
		return ""
	end
	s = string.gsub(s, "\\", "\\\\")
	s = string.gsub(s, "%c", function(c)
		if keepnl and (c == "\n" or c == "\t") then
			return c
		elseif c == "\n" then
			return "\\n"
		elseif c == "\t" then
			return "\\t"
		elseif c == "\r" then
			return "\\r"
		end
		return string.format("\\x%02x", string.byte(c))
	end)
	s = string.gsub(s, "\194[\128-\159]", function(c)
		return string.format("\\u%04x", string.byte(c, 2))
	end)
	s = string.gsub(s, "\226\128[\142\143\168-\174]", function(c)
		return string.format("\\u%04x", 8192 + string.byte(c, 3) - 128)
	end)
	s = string.gsub(s, "\226\129[\166-\169]", function(c)
		return string.format("\\u%04x", 8256 + string.byte(c, 3) - 128)
	end)
	return s
end
local function dash(s)
	if not s or s == "" then
		return "-"
	end
	return esc(s)
end
local function cut(s, n)
	if not s or #s <= n then
		return s
	end
	while n > 0 do
		local b = string.byte(s, n + 1)
		if b < 128 or b >= 192 then
			break
		end
		n = n - 1
	end
	return string.sub(s, 1, n) .. "\226\128\166"
end
local function now_ms()
	local t = redis.call("TIME")
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function age(ms)
	local s = math.floor(ms / 1000)
	if s < 0 then
		s = 0
	end
	if s < 60 then
		return s .. "s"
	elseif s < 3600 then
		return math.floor(s / 60) .. "m"
	elseif s < 172800 then
		return math.floor(s / 3600) .. "h"
	end
	return math.floor(s / 86400) .. "d"
end
local function hash(k)
	local r = redis.pcall("HGETALL", k)
	local h = {}
	if r.err then
		return h
	end
	for i = 1, #r, 2 do
		h[r[i]] = r[i + 1]
	end
	return h
end

-- Append the fields of h not shown yet, sorted, as "field TAB value" rows.
local function add_rest(rows, h)
	local rest = {}
	for f in pairs(h) do
		rest[#rest + 1] = f
	end
	table.sort(rest)
	for _, f in ipairs(rest) do
		rows[#rows + 1] = esc(f) .. "\t" .. esc(h[f])
	end
end
'

# held: ARGV prefix thread limit(0 = all) body_bytes.  Returns the number
# held, then one tab-separated row per comment, oldest first:
# id age author thread reasons body.
LUA_HELD='
local p, thread, limit, blen = ARGV[1], ARGV[2], tonumber(ARGV[3]),
    tonumber(ARGV[4])
local held = p .. ":held"
local now = now_ms()
local total = redis.call("ZCARD", held)
local out = { tostring(total) }
local pos, n = 0, 0
while pos < total and (limit == 0 or n < limit) do
	local ids = redis.call("ZRANGE", held, pos, pos + 499, "WITHSCORES")
	if #ids == 0 then
		break
	end
	pos = pos + 500
	for i = 1, #ids, 2 do
		local h = redis.pcall("HMGET", p .. ":c:" .. ids[i], "author",
		    "thread", "reasons", "body", "status")
		if h.err then
			h = {}
		end
		if thread == "" or h[2] == thread then
			local body = "(no record: expired or deleted)"
			if h[5] then
				body = esc(cut(h[4] or "", blen))
			end
			local held = tonumber(ids[i + 1])
			out[#out + 1] = table.concat({ esc(ids[i]),
			    age(now - held), dash(h[1]), dash(h[2]), dash(h[3]),
			    body }, "\t")
			n = n + 1
			if limit > 0 and n >= limit then
				break
			end
		end
	end
end
return out
'

# show: ARGV prefix id.  Returns the number of header lines (0: no such
# comment), the server time, then the header lines: field TAB value,
# escaped.  The body is read apart.
LUA_SHOW='
local p, id = ARGV[1], ARGV[2]
local k = p .. ":c:" .. id
local h = hash(k)
if not h.status and not h.body then
	return { "0" }
end
local lines = { "id\t" .. esc(id) }
h.id = nil -- shown first, from the key
local first = { "status", "reasons", "matched", "decided_by", "decided_at",
    "note", "judged_at", "author", "thread", "ip", "ruleset", "stream_id" }
for _, f in ipairs(first) do
	if h[f] then
		lines[#lines + 1] = f .. "\t" .. esc(h[f])
		h[f] = nil
	end
end
local held = redis.call("ZSCORE", p .. ":held", id)
if held then
	lines[#lines + 1] = "held_at\t" .. held
end
local ttl = redis.call("PTTL", k)
if ttl >= 0 then
	lines[#lines + 1] = "expires_at\t" .. (now_ms() + ttl)
end
h.body = nil
add_rest(lines, h)
local out = { tostring(#lines), tostring(now_ms()) }
for _, l in ipairs(lines) do
	out[#out + 1] = l
end
return out
'

# body for a terminal: ARGV key.  The body with control characters other
# than newline and tab escaped.
LUA_BODY='
return esc(redis.call("HGET", ARGV[1], "body") or "", true)
'

# author/thread info: ARGV prefix kind id.  Returns field TAB value rows.
LUA_INFO='
local p, kind, id = ARGV[1], ARGV[2], ARGV[3]
local h = hash(p .. ":" .. kind .. ":" .. id)
local out = { kind .. "\t" .. esc(id) }
if kind == "thread" then
	out[#out + 1] = "mode\t" .. esc(h.mode or "open")
	h.mode = nil
else
	out[#out + 1] = "trust\t" .. dash(h.trust)
	for _, f in ipairs({ "approved", "held", "rejected" }) do
		out[#out + 1] = f .. "\t" .. esc(h[f] or "0")
		h[f] = nil
	end
	h.trust = nil
	local hist = hash(p .. ":rate:@hist:" .. id)
	local n, r = 0, 0
	for f, v in pairs(hist) do
		if string.sub(f, -2) == ":n" then
			n = n + (tonumber(v) or 0)
		elseif string.sub(f, -2) == ":r" then
			r = r + (tonumber(v) or 0)
		end
	end
	out[#out + 1] = "recent_decided\t" .. n
	out[#out + 1] = "recent_rejected\t" .. r
end
add_rest(out, h)
return out
'

# stats: ARGV prefix stream group top.  Returns name TAB value rows.
LUA_STATS='
local p, stream, group, top = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local h = hash(p .. ":stats")
local out = {}
for _, f in ipairs({ "processed", "approved", "held", "rejected", "dead",
    "moderated" }) do
	out[#out + 1] = f .. "\t" .. esc(h[f] or "0")
end
out[#out + 1] = "held_now\t" .. redis.call("ZCARD", p .. ":held")
local len = redis.pcall("XLEN", stream)
if type(len) ~= "number" then
	len = "-"
end
out[#out + 1] = "queue\t" .. len
local pend = redis.pcall("XPENDING", stream, group)
if pend.err then
	out[#out + 1] = "pending\t-"
else
	out[#out + 1] = "pending\t" .. pend[1]
	for _, c in ipairs(pend[4] or {}) do
		out[#out + 1] = "pending:" .. esc(c[1]) .. "\t" .. c[2]
	end
end
local rules = {}
for f, v in pairs(h) do
	if string.sub(f, 1, 5) == "rule:" then
		rules[#rules + 1] = { f, tonumber(v) or 0 }
	end
end
table.sort(rules, function(a, b)
	if a[2] ~= b[2] then
		return a[2] > b[2]
	end
	return a[1] < b[1]
end)
for i, r in ipairs(rules) do
	if top > 0 and i > top then
		break
	end
	out[#out + 1] = esc(r[1]) .. "\t" .. r[2]
end
return out
'

# dead: ARGV prefix limit body_bytes.  Returns rows, oldest of the last
# limit first: entry ms error id body.
LUA_DEAD='
local p, limit, blen = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local e
if limit > 0 then
	e = redis.call("XREVRANGE", p .. ":dead", "+", "-", "COUNT", limit)
else
	e = redis.call("XREVRANGE", p .. ":dead", "+", "-")
end
local out = {}
for i = #e, 1, -1 do
	local f = {}
	for j = 1, #e[i][2], 2 do
		f[e[i][2][j]] = f[e[i][2][j]] or e[i][2][j + 1]
	end
	out[#out + 1] = table.concat({ e[i][1], string.match(e[i][1], "^%d+"),
	    dash(f.error), dash(f.id), dash(cut(f.body, blen)) }, "\t")
end
return out
'

# tail: ARGV key after count.  Returns the last entry id, then rows after
# the id "after" ("$": none, only the last id): ms id status by reasons.
LUA_TAIL='
local key, after, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
if after == "$" then
	local last = redis.call("XREVRANGE", key, "+", "-", "COUNT", 1)
	if #last == 0 then
		return { "0-0" }
	end
	return { last[1][1] }
end
local e = redis.call("XRANGE", key, "(" .. after, "+", "COUNT", count)
local out = { after }
for _, x in ipairs(e) do
	local f = {}
	for j = 1, #x[2], 2 do
		f[x[2][j]] = f[x[2][j]] or x[2][j + 1]
	end
	out[#out + 1] = table.concat({ string.match(x[1], "^%d+"), dash(f.id),
	    dash(f.status), dash(f.by), dash(f.reasons) }, "\t")
	out[1] = x[1]
end
return out
'

# Table layout: read tab-separated rows, print them in aligned columns.
# Widths count characters (UTF-8), East Asian wide ones as two.  Variables:
# hdr (tab-separated header, may be empty), caps (comma list of maximum
# widths, 0 = none), width (terminal width: the last column is cut to fit,
# 0 = no limit).
AWK_TABLE='
BEGIN {
	for (i = 1; i < 256; i++)
		ORD[sprintf("%c", i)] = i
	ncap = split(caps, cap, ",")
	nr = 0
	if (hdr != "")
		add(hdr)
}
function cpw(cp) {
	if ((cp >= 768 && cp <= 879) || (cp >= 8203 && cp <= 8207) ||
	    (cp >= 65024 && cp <= 65039))
		return 0
	if ((cp >= 4352 && cp <= 4447) || (cp >= 11904 && cp <= 42191) ||
	    (cp >= 44032 && cp <= 55203) || (cp >= 63744 && cp <= 64255) ||
	    (cp >= 65040 && cp <= 65049) || (cp >= 65072 && cp <= 65103) ||
	    (cp >= 65280 && cp <= 65376) || (cp >= 65504 && cp <= 65510) ||
	    (cp >= 127744 && cp <= 129791) || (cp >= 131072 && cp <= 262141))
		return 2
	return 1
}
# Width of s; with max >= 0 also sets CUT to its longest prefix of width
# at most max.
function walk(s, max,    i, n, b, len, cp, j, w, cw) {
	n = length(s)
	i = 1
	w = 0
	while (i <= n) {
		b = ORD[substr(s, i, 1)]
		if (b < 128) {
			len = 1
			cp = b
		} else if (b >= 240) {
			len = 4
			cp = b - 240
		} else if (b >= 224) {
			len = 3
			cp = b - 224
		} else if (b >= 192) {
			len = 2
			cp = b - 192
		} else {
			len = 1
			cp = 65533
		}
		for (j = 1; j < len; j++)
			cp = cp * 64 + ORD[substr(s, i + j, 1)] % 64
		cw = cpw(cp)
		if (max >= 0 && w + cw > max) {
			CUT = substr(s, 1, i - 1)
			return w
		}
		w += cw
		i += len
	}
	CUT = s
	return w
}
function add(line,    f, n, c, v, w) {
	nr++
	n = split(line, f, "\t")
	if (n > ncol)
		ncol = n
	nf[nr] = n
	for (c = 1; c <= n; c++) {
		v = f[c]
		if (c <= ncap && cap[c] > 0 && walk(v, -1) > cap[c]) {
			walk(v, cap[c] - 1)
			v = CUT "\342\200\246"
		}
		cell[nr, c] = v
		w = walk(v, -1)
		if (w > wid[c])
			wid[c] = w
	}
}
{ add($0) }
END {
	used = 0
	for (c = 1; c < ncol; c++)
		used += wid[c] + 2
	for (r = 1; r <= nr; r++) {
		out = ""
		for (c = 1; c <= nf[r]; c++) {
			v = cell[r, c]
			if (c < nf[r]) {
				pad = wid[c] - walk(v, -1) + 2
				out = out v sprintf("%*s", pad, "")
				continue
			}
			w = walk(v, -1)
			if (width > 0 && c == ncol && used + w > width) {
				room = width - used - 1
				if (room < 1)
					room = 1
				walk(v, room)
				v = CUT "\342\200\246"
			}
			out = out v
		}
		print out
	}
}
'

# Times for people: field TAB ms rows (the *_at ones) gain a local date.
AWK_TIMES='
BEGIN { FS = OFS = "\t" }
$1 ~ /_at$/ && $2 ~ /^[0-9]+$/ {
	s = int($2 / 1000)
	a = now - $2
	if (a >= 0)
		a = sprintf(" (%s ago)", age(a))
	else
		a = sprintf(" (in %s)", age(-a))
	$2 = strftime("%Y-%m-%d %H:%M:%S", s) a
}
{ print }
function age(ms,    s) {
	s = int(ms / 1000)
	if (s < 60)
		return s "s"
	if (s < 3600)
		return int(s / 60) "m"
	if (s < 172800)
		return int(s / 3600) "h"
	return int(s / 86400) "d"
}
'

usage() {
	cat <<'EOF'
usage: modq [options] command [arguments]

commands:
  held [--thread T] [--limit N]     held comments, oldest first
  show ID [--body]                  one comment, whole record and body
  approve ID... [--note TEXT]       approve held (or rejected) comments
  reject ID... [--note TEXT]        reject comments
  author ID [STATE] [--note TEXT]   show an author, or set trusted, premod,
                                    banned or clear
  thread ID [STATE] [--note TEXT]   show a thread, or set open, premod or
                                    closed
  stats [--limit N]                 counters, queue, pending, top rules
  tail [--count N]                  follow decisions live (Ctrl-C stops)
  dead [--limit N]                  dead letters with their errors
  help                              this text

options:
  -h HOST  -p PORT  -s SOCKET  -a PASSWORD  --user USER  -n DB
                     connect like redis-cli (REDISCLI_AUTH is honoured)
  --prefix P         Redis key prefix (default modq)
  --as NAME          moderator name for actions (default $MODQ_USER)
  --stream S         incoming stream name under the prefix (default incoming)
  --group G          consumer group of modqd (default modqd)
  --plain, --table   tab-separated or aligned output (default: aligned
                     on a terminal, tab-separated otherwise)
  --help, --version

Exit status: 0 ok, 1 an action or Redis failed, 2 usage error.
EOF
}

# Report a usage error (the arguments, joined by spaces) and exit 2.
usage_error() {
	printf 'modq: %s\n' "$*" >&2
	exit 2
}

# Report an error on stderr.
error() {
	printf 'modq: %s\n' "$*" >&2
}

# Print a string with control characters as "?" (for error messages).
show_safe() {
	printf '%s' "$1" | LC_ALL=C tr '\000-\037\177' '?'
}

# Fail unless $1 is a whole number (ranges are the caller's business).
need_number() {
	case $2 in
	'' | *[!0-9]*) usage_error "$1: not a number: $2" ;;
	esac
	[ ${#2} -le 9 ] || usage_error "$1: number too large: $2"
}

# Take the value of an option: "--opt VALUE" or "--opt=VALUE".
OPTVAL=
SHIFTS=
optval() {
	local name=$1
	shift
	case $1 in
	--*=*)
		OPTVAL=${1#*=}
		SHIFTS=1
		;;
	*)
		[ $# -ge 2 ] || usage_error "option $name needs a value"
		OPTVAL=$2
		SHIFTS=2
		;;
	esac
}

# Read the command line into the globals above.
parse_args() {
	local o
	while [ $# -gt 0 ]; do
		o=${1%%=*}
		case $1 in
		-h | -p | -s | -a | -n)
			[ $# -ge 2 ] || usage_error "option $1 needs a value"
			case $1 in
			-p | -n) need_number "$1" "$2" ;;
			esac
			case $1 in
			-a) export REDISCLI_AUTH="$2" ;;
			*) RCLI+=("$1" "$2") ;;
			esac
			shift 2
			continue
			;;
		--user | --user=* | --pass | --pass=* | --prefix | \
		    --prefix=* | --as | --as=* | --stream | --stream=* | \
		    --group | --group=* | --note | --note=* | --thread | \
		    --thread=* | --limit | --limit=* | --count | --count=*)
			optval "$o" "$@"
			shift "$SHIFTS"
			case $o in
			--user) RCLI+=(--user "$OPTVAL") ;;
			--pass) export REDISCLI_AUTH="$OPTVAL" ;;
			--prefix) PREFIX=$OPTVAL ;;
			--as) AS=$OPTVAL ;;
			--stream) STREAM=$OPTVAL ;;
			--group) GROUP=$OPTVAL ;;
			--note)
				NOTE=$OPTVAL
				NOTE_SET=1
				;;
			--thread)
				THREAD=$OPTVAL
				THREAD_SET=1
				;;
			--limit)
				need_number "$o" "$OPTVAL"
				LIMIT=$OPTVAL
				;;
			--count)
				need_number "$o" "$OPTVAL"
				COUNT=$OPTVAL
				;;
			esac
			continue
			;;
		--plain) OUTMODE=plain ;;
		--table) OUTMODE=table ;;
		--body) BODY=1 ;;
		--help) ARGS=(help) && return 0 ;;
		--version)
			echo "modq $VERSION"
			exit 0
			;;
		--)
			shift
			ARGS+=("$@")
			return 0
			;;
		-?*)
			usage_error "unknown option $(show_safe "$1")" \
			    "(see modq --help)"
			;;
		*) ARGS+=("$1") ;;
		esac
		shift
	done
	[ -n "$PREFIX" ] || usage_error "--prefix: empty prefix"
}

# Refuse options the command does not take.
only_opts() {
	local o
	for o in note thread limit count body; do
		case " $* " in
		*" $o "*) continue ;;
		esac
		case $o in
		note) [ -z "$NOTE_SET" ] ;;
		thread) [ -z "$THREAD_SET" ] ;;
		limit) [ -z "$LIMIT" ] ;;
		count) [ -z "$COUNT" ] ;;
		body) [ -z "$BODY" ] ;;
		esac || usage_error "--$o does not apply to '${ARGS[0]}'"
	done
}

# Check the number of arguments after the command.
nargs() {
	local n=$((${#ARGS[@]} - 1))
	if [ "$n" -lt "$1" ] || [ "$n" -gt "$2" ]; then
		usage_error "${ARGS[0]}: wrong number of arguments" \
		    "(see modq --help)"
	fi
}

# Fail (exit 2) unless a moderator name is known.
need_as() {
	[ -n "$AS" ] ||
	    usage_error "no moderator name: use --as NAME or set MODQ_USER"
}

# Fail (exit 2) unless $1 is a comment id.
need_id() {
	local hint=
	case $1 in
	*[!A-Za-z0-9._:-]* | '')
		[ "${ARGS[0]}" = approve ] || [ "${ARGS[0]}" = reject ] &&
		    hint=" (use --note TEXT for a note)"
		usage_error "not a comment id: '$(show_safe "$1")'$hint"
		;;
	esac
	[ ${#1} -le 128 ] || usage_error "comment id longer than 128 bytes"
}

# Set OUTMODE from the flags or from whether stdout is a terminal, and
# WIDTH to the terminal's width for tables (0 if unknown: no cutting).
out_mode() {
	local w=${COLUMNS:-}
	if [ -z "$OUTMODE" ]; then
		if [ -t 1 ]; then
			OUTMODE=table
		else
			OUTMODE=plain
		fi
	fi
	if [ -z "$w" ] && [ "$OUTMODE" = table ] && [ -t 1 ]; then
		w=$(stty size </dev/tty 2>/dev/null)
		w=${w#* }
	fi
	case $w in
	'' | *[!0-9]*) w=0 ;;
	esac
	WIDTH=$w
}

# Print tab-separated rows (the string $3) as the output mode wants: as
# they are, or aligned under the header $1 with the column caps $2.
render() {
	local hdr=$1 caps=$2 rows=$3
	[ -n "$rows" ] || return 0
	if [ "$OUTMODE" = plain ]; then
		printf '%s\n' "$rows"
	else
		printf '%s\n' "$rows" | LC_ALL=C awk -v hdr="$hdr" \
		    -v caps="$caps" -v width="$WIDTH" "$AWK_TABLE"
	fi
}

# Print redis-cli's complaint (the string $1) as modq errors.
redis_error() {
	local line found=
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		found=1
		case $line in
		*'Function not found'*)
			error "the modq Functions library is not loaded" \
			    "(is modqd running against this Redis?)"
			;;
		ERR\ modq:\ *) error "$(show_safe "${line#ERR modq: }")" ;;
		*) error "$(show_safe "$line")" ;;
		esac
	done <<<"$1"
	[ -n "$found" ] || error "redis-cli failed"
}

# Run one redis-cli command; its raw reply is left in OUT (final newline
# removed).  On failure report redis-cli's message and return 1.  With -e,
# error replies and connection problems are the only things redis-cli
# writes to stderr, so stderr is merged in and read only on failure.
rq() {
	OUT=$("${RCLI[@]}" --raw -e "$@" 2>&1) && return 0
	redis_error "$OUT"
	OUT=
	return 1
}

# Run a read-only script (LUA_LIB + $1) with the given ARGV.
lua() {
	local script=$1
	shift
	rq EVAL_RO "$LUA_LIB$script" 0 "$@"
}

# Quote a string for redis-cli's command-line parser (double quotes;
# backslash, quote and line ends escaped; bash strings hold no NUL).
quote() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$s"
}

# Split $OUT into its first line (HEAD) and the rest (REST).
split_out() {
	HEAD=${OUT%%$'\n'*}
	REST=
	[ "$HEAD" = "$OUT" ] || REST=${OUT#*$'\n'}
}

# Count the lines of a string (0 for an empty one).
nlines() {
	local s=${1//[!$'\n']/}
	if [ -z "$1" ]; then
		echo 0
	else
		echo $((${#s} + 1))
	fi
}

# --- commands --------------------------------------------------------------

cmd_held() {
	local shown
	only_opts thread limit
	nargs 0 0
	out_mode
	lua "$LUA_HELD" "$PREFIX" "$THREAD" "${LIMIT:-50}" 200 || return 1
	split_out
	render "$(printf 'ID\tAGE\tAUTHOR\tTHREAD\tREASONS\tBODY')" \
	    0,0,20,20,30,0 "$REST"
	[ "$OUTMODE" = table ] || return 0
	shown=$(nlines "$REST")
	if [ "$HEAD" = 0 ]; then
		echo "no held comments"
	elif [ "$shown" = 0 ]; then
		echo "no held comments in that thread ($HEAD held)"
	elif [ "$shown" -lt "$HEAD" ] && [ -z "$THREAD_SET" ]; then
		echo "($shown of $HEAD held shown; --limit N for more)"
	else
		echo "($shown shown, $HEAD held)"
	fi
}

# Show one comment: the header from a script, then the body streamed
# straight from Redis to stdout (any bytes, NUL included).
cmd_show() {
	local id n now mode=raw
	only_opts body
	nargs 1 1
	id=${ARGS[1]}
	need_id "$id"
	out_mode
	[ -t 1 ] && mode="tty"
	lua "$LUA_SHOW" "$PREFIX" "$id" || return 1
	split_out
	n=$HEAD
	if [ "$n" = 0 ]; then
		error "no comment $id"
		return 1
	fi
	if [ -n "$BODY" ] && [ "$mode" = tty ]; then
		"${RCLI[@]}" --raw -e EVAL_RO "$LUA_LIB$LUA_BODY" 0 \
		    "$PREFIX:c:$id" | head -c -1
		[ "${PIPESTATUS[0]}" = 0 ] || {
			error "cannot read the body of $id"
			return 1
		}
		return 0
	elif [ -n "$BODY" ]; then
		"${RCLI[@]}" --raw -e HGET "$PREFIX:c:$id" body | head -c -1
		[ "${PIPESTATUS[0]}" = 0 ] || {
			error "cannot read the body of $id"
			return 1
		}
		return 0
	fi
	OUT=$REST
	split_out
	now=$HEAD
	if [ "$OUTMODE" = table ]; then
		render "" 0,0 "$(printf '%s\n' "$REST" |
		    LC_ALL=C awk -v now="$now" "$AWK_TIMES")"
	else
		printf '%s\n' "$REST"
	fi
	echo
	if [ "$mode" = tty ]; then
		"${RCLI[@]}" --raw -e EVAL_RO "$LUA_LIB$LUA_BODY" 0 \
		    "$PREFIX:c:$id"
	else
		"${RCLI[@]}" --raw -e HGET "$PREFIX:c:$id" body
	fi 2>/dev/null || {
		error "cannot read the body of $id"
		return 1
	}
}

# Print one result line per id from the replies in $1 (one line each; an
# error reply is followed by an empty line, skipped); errors go to stderr.
# Returns 1 if any id failed.
moderate_results() {
	local status=$1 replies=$2 id line rc=0 i=1
	local -a r=()
	shift 2
	while IFS= read -r line; do
		[ -n "$line" ] && r+=("$line")
	done <<<"$replies"
	if [ "${r[0]:-}" != PONG ]; then
		redis_error "$replies"
		error "nothing done"
		return 1
	fi
	for id in "$@"; do
		line=${r[i]:-}
		i=$((i + 1))
		case $line in
		1) printf '%s\t%s\n' "$id" "$status" ;;
		0) printf '%s\t%s\n' "$id" "already $status" ;;
		'')
			error "$id: not done (no reply from Redis)"
			rc=1
			;;
		*)
			line=${line#ERR modq: }
			case $line in
			*"$id"*) ;;
			*) line="$id: $line" ;;
			esac
			redis_error "$line"
			rc=1
			;;
		esac
	done
	return "$rc"
}

# Approve or reject comments: one redis-cli reads a PING (to tell a
# connection failure from a refused id) and one FCALL per id from stdin.
cmd_moderate() {
	local fn=modq_${ARGS[0]} id by note status replies res rc
	only_opts note
	[ ${#ARGS[@]} -ge 2 ] ||
	    usage_error "${ARGS[0]}: which comment? (modq ${ARGS[0]} ID...)"
	need_as
	for id in "${ARGS[@]:1}"; do
		need_id "$id"
	done
	out_mode
	by=$(quote "$AS")
	note=$(quote "$NOTE")
	replies=$({
		echo PING
		for id in "${ARGS[@]:1}"; do
			printf 'FCALL %s 0 "%s" %s %s\n' "$fn" "$id" "$by" \
			    "$note"
		done
	} | "${RCLI[@]}" --raw 2>&1)
	case ${ARGS[0]} in
	approve) status=approved ;;
	*) status=rejected ;;
	esac
	res=$(moderate_results "$status" "$replies" "${ARGS[@]:1}")
	rc=$?
	render "" 0,0 "$res"
	return "$rc"
}

# Show or set an author's trust or a thread's mode.
cmd_state() {
	local kind=${ARGS[0]} id state
	only_opts note
	nargs 1 2
	id=${ARGS[1]}
	[ -n "$id" ] || usage_error "$kind: empty $kind id"
	out_mode
	if [ ${#ARGS[@]} -eq 2 ]; then
		[ -z "$NOTE_SET" ] || usage_error "--note needs a state to set"
		lua "$LUA_INFO" "$PREFIX" "$kind" "$id" || return 1
		render "" 0,0 "$OUT"
		return 0
	fi
	state=${ARGS[2]}
	case $kind:$state in
	author:trusted | author:premod | author:banned | author:clear) ;;
	thread:open | thread:premod | thread:closed) ;;
	author:*)
		usage_error "author state must be trusted, premod, banned" \
		    "or clear"
		;;
	*) usage_error "thread state must be open, premod or closed" ;;
	esac
	need_as
	rq FCALL "modq_$kind" 0 "$id" "$state" "$AS" "$NOTE" || return 1
	id=$(show_safe "$id")
	if [ "$OUT" = 1 ]; then
		render "" 0,0 "$(printf '%s\t%s' "$id" "$state")"
	else
		render "" 0,0 "$(printf '%s\t%s' "$id" "already $state")"
	fi
}

cmd_stats() {
	only_opts limit
	nargs 0 0
	out_mode
	lua "$LUA_STATS" "$PREFIX" "$PREFIX:$STREAM" "$GROUP" "${LIMIT:-10}" ||
	    return 1
	render "" 0,0 "$OUT"
}

cmd_dead() {
	only_opts limit
	nargs 0 0
	out_mode
	lua "$LUA_DEAD" "$PREFIX" "${LIMIT:-50}" 120 || return 1
	if [ -z "$OUT" ]; then
		[ "$OUTMODE" = plain ] || echo "no dead letters"
		return 0
	fi
	render "$(printf 'ENTRY\tTIME\tERROR\tID\tBODY')" 0,0,40,30,0 \
	    "$(printf '%s\n' "$OUT" | LC_ALL=C awk 'BEGIN { FS = OFS = "\t" }
	    { $2 = strftime("%Y-%m-%d %H:%M:%S", int($2 / 1000)); print }')"
}

# Print decisions as they arrive: XREAD BLOCK waits for entries after the
# last one seen (at first the stream's last entry, as "$" would), and a
# read-only script fetches them escaped.  --count N stops after N.
cmd_tail() {
	local key=$PREFIX:decisions last n=0 got
	only_opts count
	nargs 0 0
	out_mode
	lua "$LUA_TAIL" "$key" '$' 0 || return 1
	last=$OUT
	while :; do
		lua "$LUA_TAIL" "$key" "$last" 100 || return 1
		split_out
		last=$HEAD
		got=$(nlines "$REST")
		if [ -n "$COUNT" ] && [ $((n + got)) -ge "$COUNT" ]; then
			printf '%s\n' "$REST" | head -n $((COUNT - n)) |
			    tail_fmt
			return 0
		fi
		[ "$got" = 0 ] || printf '%s\n' "$REST" | tail_fmt
		n=$((n + got))
		[ "$got" -ge 100 ] && continue
		rq XREAD BLOCK 5000 COUNT 1 STREAMS "$key" "$last" || return 1
	done
}

# Format tail rows: ms id status by reasons.
tail_fmt() {
	LC_ALL=C awk -v mode="$OUTMODE" 'BEGIN { FS = OFS = "\t" }
	{
		if (mode == "plain") {
			$1 = strftime("%Y-%m-%d %H:%M:%S", int($1 / 1000))
			print
		} else
			printf "%s  %-20s  %-8s  %-12s  %s\n",
			    strftime("%H:%M:%S", int($1 / 1000)), $2, $3, $4, $5
		fflush()
	}'
}

main() {
	parse_args "$@"
	[ ${#ARGS[@]} -gt 0 ] ||
	    usage_error "no command given (modq --help lists them)"
	command -v redis-cli >/dev/null 2>&1 || {
		error "redis-cli not found (install redis-tools)"
		exit 1
	}
	trap 'exit 130' INT
	trap 'exit 143' TERM
	case ${ARGS[0]} in
	help)
		usage
		exit 0
		;;
	held) cmd_held ;;
	show) cmd_show ;;
	approve | reject) cmd_moderate ;;
	author | thread) cmd_state ;;
	stats) cmd_stats ;;
	tail) cmd_tail ;;
	dead) cmd_dead ;;
	*)
		usage_error "unknown command '$(show_safe "${ARGS[0]}")'" \
		    "(see modq --help)"
		;;
	esac
}

main "$@"
