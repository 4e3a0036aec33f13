#!lua name=modq
--
-- modq.lua -- the modq Redis Functions library.  modqd loads it at every
-- (re)connect with FUNCTION LOAD REPLACE.  It holds no site of its own:
-- every function takes the key prefix of a site as its one key (none: the
-- prefix modq), reads that site's settings from <prefix>:conf, which its
-- modqd writes at every connect, and refuses a prefix no modqd has set up.
-- So several sites, each with its own prefix and modqd, share one Redis
-- and one library, and no argument a caller passes reaches a key outside
-- the prefix it named: keys are built here from it, or, where modqd sends
-- them ready-made, checked against it before the first write.  Every
-- function runs atomically on the server: a decision
-- (comment hash, decisions stream, held set, author counters, stats) and the
-- acknowledgement of its stream entry happen together or not at all, and a
-- moderator action changes the record, the queue, the counters and the
-- audit log together or not at all.
--
-- Daemon functions: modq_read, modq_decide, modq_claim, modq_trim.  (What modqd only reads, and
-- rate windows, which need no more than one command's atomicity, are plain
-- pipelined commands: Redis runs those several times cheaper.  So is the
-- common decision, a comment without a record yet, written by modqd in a
-- WATCH/MULTI/EXEC transaction; modq_decide takes the rest: dead letters,
-- records to replace, and whatever a transaction could not settle.)
-- Moderator functions: modq_approve, modq_reject, modq_delete, modq_forget,
-- modq_retry, modq_author, modq_thread; modq_forget_step and
-- modq_expire_held, which modqd calls on a clock.
--
-- Redis CPU is what limits throughput, so the daemon functions do no string
-- building per comment: modqd sends every key ready-made, and counters are
-- summed per batch.
--

-- The call's site, set by use_prefix() as each function starts (a
-- function runs alone: no other call sees them change): its prefix, then
-- from <prefix>:conf decisions.maxlen, the days of reputation history,
-- decisions.ttl_days in seconds, the rate rules per author, the
-- incoming stream and modqd's group; and the site's shared keys.
local P, MAXLEN, HIST_DAYS, TTL_S, AUTHOR_RATES, STREAM, GROUP
local MOD_HELD, MOD_DECISIONS, MOD_AUDIT, MOD_STATS, MOD_FORGET, MOD_DEAD
local PREFIX_DEFAULT = 'modq' -- the prefix of a call with no key
local CONF_FIELDS = { 'maxlen', 'hist_days', 'ttl_s', 'author_rates',
	'stream', 'group' } -- of <prefix>:conf, as modqd writes them (redis.c)
local DAY_MS = 86400000
local ENTRY_MAX_PAIRS = 37 -- fields an entry may have (include/modqd.h)
local CUT_KEEP = 4096 -- bytes of a field that a cut entry keeps
local CUT_TOTAL = 32768 -- bytes a cut entry keeps in all
local CUT_SLACK = 4096 -- id, author, ip, thread and names: under 3 KiB
local EXTRA_MIN = 8192 -- extra fields' bytes with a small max_body


local function now_ms()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fail(msg)
	return redis.error_reply('ERR modq: ' .. msg)
end

-- Count a decision (and a rejection) in a history hash, by day, keeping
-- days days.
local function history_add_key(hkey, now, dn, dr, days)
	local day = math.floor(now / DAY_MS)
	if dn ~= 0 then
		redis.pcall('HINCRBY', hkey, day .. ':n', dn)
	end
	if dr ~= 0 then
		redis.pcall('HINCRBY', hkey, day .. ':r', dr)
	end
	redis.pcall('HDEL', hkey, (day - days) .. ':n', (day - days) .. ':r')
	redis.pcall('PEXPIRE', hkey, (days + 1) * DAY_MS)
end

-- Move an author's counter from one status to another; a counter never
-- goes below zero, and one that is not a number is left alone.
local function author_move(author, from, to)
	if not author or author == '' then -- HMGET gives false for none
		return
	end
	local k = P .. ':author:' .. author
	if from then
		local v = redis.pcall('HGET', k, from)
		if type(v) == 'string' and (tonumber(v) or 0) > 0 then
			redis.pcall('HINCRBY', k, from, -1)
		end
	end
	if to then
		redis.pcall('HINCRBY', k, to, 1)
	end
end

-- Tell whether stream id a is older than stream id b.
local function sid_older(a, b)
	local am, as = string.match(a, '^(%d+)-(%d+)$')
	local bm, bs = string.match(b, '^(%d+)-(%d+)$')
	if not am or not bm then
		return false
	end
	am, bm = tonumber(am), tonumber(bm)
	if am ~= bm then
		return am < bm
	end
	return tonumber(as) < tonumber(bs)
end

-- Write an entry to the dead-letter stream k, with a note of what it does
-- not keep when it was cut.  modqd sends at most ENTRY_MAX_PAIRS fields,
-- each cut to a few KiB; the bound here only keeps unpack() within Lua's
-- stack whatever a caller sends.
local function dead_letter(k, maxlen, sid, err, cut, fields, f0, f1, stats)
	if f1 - f0 + 1 > 2 * ENTRY_MAX_PAIRS then
		f1 = f0 + 2 * ENTRY_MAX_PAIRS - 1
	end
	if cut ~= '' then
		redis.call('XADD', k, 'MAXLEN', '~', maxlen, '*', 'error', err,
		    'stream_id', sid, 'cut', cut, unpack(fields, f0, f1))
	else
		redis.call('XADD', k, 'MAXLEN', '~', maxlen, '*', 'error', err,
		    'stream_id', sid, unpack(fields, f0, f1))
	end
	stats.dead = (stats.dead or 0) + 1
end

-- Tell whether key k is one of the site's keys of a kind: its name
-- starts with <prefix>:<kind>, and has more after it.
local function own_key(k, kind)
	local start = P .. ':' .. kind
	return type(k) == 'string' and #k > #start and
	    string.sub(k, 1, #start) == start
end

--
-- Find the parts of modq_decide's item at a[i] (see below): returns the
-- index of the next item, and for a 'd' item the first and last rate key,
-- the first stats field and their count, the entry's own field count, and
-- the first and last hash string.  An item that is neither, or whose
-- counts are no numbers, is an error.
--
local function decide_item(a, i)
	if a[i] == 'x' then
		return i + 7 + 2 * tonumber(a[i + 6])
	elseif a[i] ~= 'd' then
		error('modq: bad item kind ' .. tostring(a[i]))
	end
	local r0 = i + 11
	local r1 = r0 + tonumber(a[i + 10]) - 1
	local nst = tonumber(a[r1 + 1])
	local s0 = r1 + 2
	local nown = tonumber(a[s0 + nst])
	local nh = tonumber(a[s0 + nst + 1])
	local h0 = s0 + nst + 2
	local hlast = h0 + 2 * nh - 1
	return hlast + 1, r0, r1, s0, nst, nown, h0, hlast
end

--
-- Return why modq_decide's arguments name a key that is not the site's,
-- or nil: the shared keys must be the site's own (the stream, as every
-- daemon function's first argument, is checked by site()), and each
-- item's record, author, history and rate keys of their kinds.  Checked
-- before the first write, so a call naming another site's key or another
-- application's writes nothing.
--
local function decide_keys_bad(a)
	local want = { MOD_HELD, MOD_DECISIONS, MOD_STATS, MOD_DEAD }
	for j = 6, 9 do
		if a[j] ~= want[j - 5] then
			return 'argument ' .. j .. ' is not ' .. want[j - 5]
		end
	end
	local i = 10
	while i <= #a do
		local next, r0, r1 = decide_item(a, i)
		if a[i] == 'd' then
			if not own_key(a[i + 2], 'c:') or
			    (a[i + 6] ~= '' and not own_key(a[i + 6], 'author:')) or
			    (a[i + 7] ~= '' and
			        not own_key(a[i + 7], 'rate:@hist:')) then
				return 'item ' .. a[i + 1] .. ': a key outside ' .. P
			end
			for r = r0, r1 do
				if not own_key(a[r], 'rate:') then
					return 'item ' .. a[i + 1] .. ': a key outside ' .. P
				end
			end
		end
		i = next
	end
	return nil
end

--
-- modq_decide stream group ttl_s maxlen hist_days held_key decisions_key
--   stats_key dead_key, then items:
--   d stream_id comment_key id status reasons author_key hist_key digest
--     rate_member nrate rate_key... nstats stat... nown nhash field value...
--   x stream_id error kind id cut nfields field value...
-- For 'd' the hash fields are ready to write: the entry's own nown
-- fields, then the decision's (RECORD_FIELDS in modqd.h), whose last pair
-- is decided_at, its value set here from the server's clock.  A 'd' item
-- whose comment hash already carries its stream id was decided before (by
-- another daemon, or before a crash) and is only acknowledged; a dead
-- letter (with a decisions entry of status error, its kind as reasons, its
-- id if it is valid and its stream id) is written only if its XACK
-- acknowledged something.  That makes a
-- redelivered comment impossible to decide twice.  An entry older than the
-- one that decided its comment is superseded: the newer version stands.
-- That one, one whose comment was deleted, and one with the digest of its
-- record (the site sent it again) are only acknowledged and taken out of
-- their rate windows (rate_member in each rate_key).  Any other record is an earlier
-- revision: the new one replaces it with revision and edited_at, and is
-- not counted in the rate windows either.
-- Returns per item 1 if written, 0 if decided before, 2 if superseded,
-- 3 if sent again, 4 if deleted.
--
local function modq_decide(keys, a)
	local stream, group, ttl, maxlen = a[1], a[2], a[3], a[4]
	local days = tonumber(a[5])
	local held, decisions, statkey, dead = a[6], a[7], a[8], a[9]
	local bad = decide_keys_bad(a)
	if bad then
		return fail(bad)
	end
	-- a shared key of the wrong type fails the call before its first
	-- write, not half-way
	redis.call('XLEN', decisions)
	redis.call('ZCARD', held)
	local now = now_ms()
	local nows = tostring(now)
	local stats = {}
	local out = {}
	local acks = {}
	local processed = 0
	local i = 10
	local n = #a
	while i <= n do
		local kind, sid = a[i], a[i + 1]
		if kind == 'd' then
			local ckey, id, status, reasons, akey, hkey =
			    a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 7]
			local digest, member = a[i + 8], a[i + 9]
			local r0, r1, s0, nst, nown, h0, hlast
			i, r0, r1, s0, nst, nown, h0, hlast = decide_item(a, i)
			acks[#acks + 1] = sid
			local old = redis.pcall('HMGET', ckey, 'status', 'author',
			    'stream_id', 'digest', 'revision')
			if old.err then
				-- not a hash: never overwrite what is not ours.  Its dead
				-- letter, as an 'x' item's, only if this XACK acknowledged
				-- the entry: a batch retried after this call (another reply
				-- of its round failed) sends the item again.
				if redis.call('XACK', stream, group, sid) == 0 then
					out[#out + 1] = 0
				else
					dead_letter(dead, maxlen, sid,
					    'cannot write the decision: ' .. ckey ..
					    ' is not a hash', '', a, h0, h0 + 2 * nown - 1,
					    stats)
					redis.call('XADD', decisions, 'MAXLEN', '~', maxlen,
					    '*', 'id', id, 'status', 'error', 'reasons',
					    'bad-key', 'by', 'modqd', 'stream_id', sid)
					processed = processed + 1
					out[#out + 1] = 1
				end
			elseif old[3] == sid then
				out[#out + 1] = 0
			elseif old[3] and sid_older(sid, old[3]) then
				-- a newer entry of this id was decided: it stands, and
				-- it is what the rate windows count
				for r = r0, r1 do
					redis.pcall('ZREM', a[r], member)
				end
				stats.superseded = (stats.superseded or 0) + 1
				processed = processed + 1
				out[#out + 1] = 2
			elseif old[1] == 'deleted' or (old[1] and old[4] == digest) then
				for r = r0, r1 do
					redis.pcall('ZREM', a[r], member)
				end
				if old[1] == 'deleted' then
					out[#out + 1] = 4
				else
					stats.resent = (stats.resent or 0) + 1
					out[#out + 1] = 3
				end
			else
				local revision
				if old[1] then
					revision = (tonumber(old[5]) or 1) + 1
					redis.call('DEL', ckey)
					author_move(old[2], old[1], nil)
					if old[1] == 'held' and status ~= 'held' then
						redis.call('ZREM', held, id)
					end
					for r = r0, r1 do
						redis.pcall('ZREM', a[r], member)
					end
				end
				a[hlast] = nows
				redis.call('HSET', ckey, unpack(a, h0, hlast))
				if revision then
					redis.call('HSET', ckey, 'revision', revision,
					    'edited_at', nows)
				end
				if status ~= 'held' then -- held ones wait for a person
					redis.call('EXPIRE', ckey, ttl)
				end
				redis.call('XADD', decisions, 'MAXLEN', '~', maxlen, '*',
				    'id', id, 'status', status, 'reasons', reasons,
				    'by', 'modqd')
				if status == 'held' then
					redis.call('ZADD', held, now, id)
				end
				if akey ~= '' then
					redis.pcall('HINCRBY', akey, status, 1)
				end
				if hkey ~= '' and days > 0 then
					history_add_key(hkey, now, 1,
					    status == 'rejected' and 1 or 0, days)
				end
				for s = s0, s0 + nst - 1 do
					stats[a[s]] = (stats[a[s]] or 0) + 1
				end
				processed = processed + 1
				out[#out + 1] = 1
			end
		elseif kind == 'x' then
			local err, errkind, id, cut = a[i + 2], a[i + 3], a[i + 4],
			    a[i + 5]
			local f0 = i + 7
			i = decide_item(a, i)
			if redis.call('XACK', stream, group, sid) == 0 then
				out[#out + 1] = 0
			else
				dead_letter(dead, maxlen, sid, err, cut, a, f0, i - 1,
				    stats)
				redis.call('XADD', decisions, 'MAXLEN', '~', maxlen, '*',
				    'id', id, 'status', 'error', 'reasons', errkind,
				    'by', 'modqd', 'stream_id', sid)
				processed = processed + 1
				out[#out + 1] = 1
			end
		end
	end
	if #acks > 0 then
		redis.call('XACK', stream, group, unpack(acks))
	end
	if processed > 0 then
		stats.processed = processed
	end
	for f, c in pairs(stats) do
		redis.pcall('HINCRBY', statkey, f, c)
	end
	return out
end

-- Bound what an entry hands to modqd.  An entry within the bounds (at
-- most ENTRY_MAX_PAIRS fields, no string over max(max_body, EXTRA_MIN)
-- bytes (the longest a valid entry has: a body, or an ip list, which
-- counts with the extra fields; entry_max_string() in modqd), all of them
-- together at most max_body + max(max_body, EXTRA_MIN) + CUT_SLACK: the
-- body, the extra fields' values, the short known fields and the names)
-- goes whole; any other,
-- which modqd would refuse anyway, is cut to what its
-- dead letter keeps (the first CUT_KEEP bytes of each string, CUT_TOTAL
-- in all), followed by { strings in all, size of each kept string }, so
-- modqd can say why without ever holding more than that.
local function bounded(e, max_body)
	local f = e[2] or {}
	local max_len = math.max(max_body, EXTRA_MIN)
	local max_total = max_body + math.max(max_body, EXTRA_MIN) + CUT_SLACK
	local n, total, over = #f, 0, #f > 2 * ENTRY_MAX_PAIRS
	for j = 1, n do
		if over then
			break
		end
		local l = #f[j]
		total = total + l
		over = l > max_len or total > max_total
	end
	if not over then
		return e
	end
	local kept, info, used = {}, { n }, 0
	for j = 1, n - 1, 2 do
		if j > 2 * ENTRY_MAX_PAIRS or used >= CUT_TOTAL then
			break
		end
		for k = j, j + 1 do
			kept[k] = string.sub(f[k], 1, CUT_KEEP)
			info[k + 1] = #f[k]
			used = used + #kept[k]
		end
	end
	return { e[1], kept, info }
end

-- Add the delivery count of each claimed entry, bounded:
-- { id, count, fields [, cut] }.
local function with_counts(stream, group, entries, max_body)
	local out = {}
	for _, e in ipairs(entries) do
		if type(e) == 'table' then -- not an entry deleted meanwhile
			local p = redis.call('XPENDING', stream, group, e[1], e[1], 1)
			local count = 1
			if p[1] then
				count = p[1][4]
			end
			local b = bounded(e, max_body)
			out[#out + 1] = { b[1], count, b[2], b[3] }
		end
	end
	return out
end

--
-- modq_read stream group consumer count max_body
-- XREADGROUP of up to count new entries, each bounded (see bounded()), so
-- modqd never reads more than count * (2 * max_body + a little) whatever
-- the site or an attacker added to the stream.  Returns
-- { { id, { field, value... } [, cut] }... }.
--
local function modq_read(keys, a)
	local stream, group, consumer = a[1], a[2], a[3]
	local count, max_body = a[4], tonumber(a[5])
	local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT',
	    count, 'STREAMS', stream, '>')
	if not r then
		return {}
	end
	local entries = r[1][2]
	for i = 1, #entries do
		entries[i] = bounded(entries[i], max_body)
	end
	return entries
end

--
-- modq_claim stream group consumer mode min_idle_ms start count max_body
-- mode "idle": take over entries other consumers left idle (XAUTOCLAIM);
-- mode "own": take back this consumer's own pending entries (at start and
-- after a reconnect).  Both count a delivery.  Returns
-- { next_start, { id, deliveries, { field, value... } [, cut] }... },
-- each entry bounded as by modq_read; next_start
-- "0-0" when the pending list has been walked to its end.
--
local function modq_claim(keys, a)
	local stream, group, consumer, mode = a[1], a[2], a[3], a[4]
	local idle, start, count = a[5], a[6], tonumber(a[7])
	local max_body = tonumber(a[8]) or 65536
	if mode == 'idle' then
		local r = redis.call('XAUTOCLAIM', stream, group, consumer, idle,
		    start, 'COUNT', count)
		return { r[1], with_counts(stream, group, r[2], max_body) }
	end
	local p = redis.call('XPENDING', stream, group, 'IDLE', 0, start, '+',
	    count, consumer)
	if #p == 0 then
		return { '0-0', {} }
	end
	local ids = {}
	for _, e in ipairs(p) do
		ids[#ids + 1] = e[1]
	end
	local claimed = redis.call('XCLAIM', stream, group, consumer, 0,
	    unpack(ids))
	local nextstart = '(' .. ids[#ids]
	if #p < count then
		nextstart = '0-0'
	end
	return { nextstart, with_counts(stream, group, claimed, max_body) }
end

-- Check the arguments every moderator function shares.
--
-- Moderator functions validate everything before their first write: in a
-- Redis script an error after a write does not undo it.  So each one reads
-- and checks (argument count, ids, moderator name, states, the types of
-- the keys it writes, the counters it moves), then writes with calls that
-- cannot fail.  Counters are derived data: one that is not a plain integer
-- is left alone rather than blocking a moderator.
--
local MOD_NAME_MAX = 128 -- a moderator's name
local MOD_ID_MAX = 256 -- an author or thread id
local MOD_NOTE_MAX = 4096
local MOD_USAGE = {
	approve = 'modq_approve 0|1 [prefix] <id> <moderator> [note]',
	reject = 'modq_reject 0|1 [prefix] <id> <moderator> [note]',
	delete = 'modq_delete 0|1 [prefix] <id> <moderator> [note]',
	forget = 'modq_forget 0|1 [prefix] <author> <moderator> [note]',
	retry = 'modq_retry 0|1 [prefix] <dead letter id>|all <moderator> ' ..
	    '[note]',
	author = 'modq_author 0|1 [prefix] <author> ' ..
	    'trusted|premod|banned|clear <moderator> [note]',
	thread = 'modq_thread 0|1 [prefix] <thread> open|premod|closed ' ..
	    '<moderator> [note]',
}
local MOD_COUNTED = { approved = 1, held = 1, rejected = 1 }

-- Show a user-supplied string in an error message, its first 64 bytes,
-- with every byte bad matches (control bytes if nil) as \xHH.
local function mod_quote(s, bad)
	if #s > 64 then
		s = string.sub(s, 1, 64) .. '...'
	end
	return "'" .. string.gsub(s, bad or '%c', function(c)
		return string.format('\\x%02x', string.byte(c))
	end) .. "'"
end

--
-- Author and thread ids are checked as modqd checks them in a stream
-- entry: 1-256 bytes of strict UTF-8 (no overlong forms, no surrogates,
-- nothing above U+10FFFF) without a character of Unicode category Cc, Cf,
-- Zl or Zp; spaces (Zs) are allowed.  Lua has no Unicode tables, so
-- MOD_NAME_BAD lists those (Unicode 15, as utf8proc has them): C0, DEL and
-- C1, U+00AD, the Arabic, Syriac and Mongolian format marks,
-- U+200B-200F, U+2028-202E, U+2060-2064, U+2066-206F, U+FEFF,
-- U+FFF9-FFFB and the format characters above U+FFFF (tags included).
--
local MOD_NAME_BAD = {
	{ 0x0000, 0x001F }, { 0x007F, 0x009F }, { 0x00AD, 0x00AD },
	{ 0x0600, 0x0605 }, { 0x061C, 0x061C }, { 0x06DD, 0x06DD },
	{ 0x070F, 0x070F }, { 0x0890, 0x0891 }, { 0x08E2, 0x08E2 },
	{ 0x180E, 0x180E }, { 0x200B, 0x200F }, { 0x2028, 0x202E },
	{ 0x2060, 0x2064 }, { 0x2066, 0x206F }, { 0xFEFF, 0xFEFF },
	{ 0xFFF9, 0xFFFB }, { 0x110BD, 0x110BD }, { 0x110CD, 0x110CD },
	{ 0x13430, 0x1343F }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A },
	{ 0xE0001, 0xE0001 }, { 0xE0020, 0xE007F },
}

-- Decode the UTF-8 character at byte i of s; return it and the next
-- byte's index, or nil if the bytes there are not strict UTF-8.
local function mod_utf8_at(s, i)
	local b = string.byte(s, i)
	local n, cp, min
	if b < 0x80 then
		return b, i + 1
	elseif b >= 0xc2 and b <= 0xdf then
		n, cp, min = 1, b - 0xc0, 0x80
	elseif b >= 0xe0 and b <= 0xef then
		n, cp, min = 2, b - 0xe0, 0x800
	elseif b >= 0xf0 and b <= 0xf4 then
		n, cp, min = 3, b - 0xf0, 0x10000
	else
		return nil
	end
	for k = 1, n do
		local c = string.byte(s, i + k)
		if not c or c < 0x80 or c > 0xbf then
			return nil
		end
		cp = cp * 64 + (c - 0x80)
	end
	if cp < min or cp > 0x10ffff or (cp >= 0xd800 and cp <= 0xdfff) then
		return nil
	end
	return cp, i + n + 1
end

-- Tell whether s is an author or thread id modqd would take.
local function mod_name_ok(s)
	if #s < 1 or #s > MOD_ID_MAX then
		return false
	end
	local i = 1
	while i <= #s do
		local cp
		cp, i = mod_utf8_at(s, i)
		if not cp then
			return false
		end
		for _, r in ipairs(MOD_NAME_BAD) do
			if cp < r[1] then
				break
			elseif cp <= r[2] then
				return false
			end
		end
	end
	return true
end

-- What the first argument of a moderator function names, for mod_args to
-- check; retry's (a dead letter id or all) is checked where it is used.
local MOD_ID = {
	approve = 'comment', reject = 'comment', delete = 'comment',
	forget = 'author', author = 'author', thread = 'thread',
}

--
-- Return why id is not a good id of kind, or nil.  A refused author or
-- thread id shows only printable ASCII as it is.  modq_author and
-- modq_thread (what is kind) call an empty one empty, modq_forget bad.
--
local function mod_bad_id(kind, id, what)
	if kind == 'comment' then
		if #id > 128 or not string.find(id, '^[%w._:%-]+$') then
			return 'bad comment id ' .. mod_quote(id)
		end
	elseif id == '' and what == kind then
		return 'empty ' .. kind .. ' id'
	elseif not mod_name_ok(id) then
		return 'bad ' .. kind .. ' id ' ..
		    mod_quote(id, '[^\33-\126]') ..
		    ' (1 to 256 bytes of UTF-8 without control characters)'
	end
	return nil
end

-- Return the note, or nil and why the call is refused: the argument
-- count, the moderator, the note, then the id (MOD_ID).
local function mod_args(keys, a, n, what)
	if #a < n or #a > n + 1 then
		return nil, 'wrong number of arguments; usage: FCALL ' ..
		    MOD_USAGE[what]
	end
	local by, note = a[n], a[n + 1] or ''
	if by == '' then
		return nil, 'a moderator name is required'
	end
	if #by > MOD_NAME_MAX or string.find(by, '%c') then
		return nil, 'bad moderator name ' .. mod_quote(by) ..
		    ' (1-128 bytes, no control characters)'
	end
	if #note > MOD_NOTE_MAX then
		return nil, 'note longer than ' .. MOD_NOTE_MAX .. ' bytes'
	end
	if MOD_ID[what] then
		local err = mod_bad_id(MOD_ID[what], a[1], what)
		if err then
			return nil, err
		end
	end
	return note
end

-- Return why key cannot be written as a want, or nil if it can.
local function mod_type(key, want)
	local t = redis.call('TYPE', key)
	t = t.ok or t
	if t ~= 'none' and t ~= want then
		return 'key ' .. mod_quote(key) .. ' holds a ' .. t ..
		    ', not a ' .. want
	end
	return nil
end

-- Tell whether a hash field (false if absent) is a counter HINCRBY takes.
local function mod_counter(v)
	if not v then
		return 0
	end
	if #v <= 18 and (v == '0' or string.find(v, '^%-?[1-9]%d*$')) then
		return tonumber(v)
	end
	return nil
end

-- Plan moving an author's count from one status to another (one op each).
local function mod_plan_author(ops, author, from, to)
	if author == '' then
		return
	end
	local k = P .. ':author:' .. author
	if mod_type(k, 'hash') then
		return
	end
	local v = redis.call('HMGET', k, from, to)
	local n = mod_counter(v[1])
	if MOD_COUNTED[from] and n and n > 0 then
		ops[#ops + 1] = { k, from, -1 }
	end
	if MOD_COUNTED[to] and mod_counter(v[2]) then
		ops[#ops + 1] = { k, to, 1 }
	end
end

--
-- Plan moving one rejection in the author's history (dr = 1 or -1).  It
-- goes on the day the comment was judged, where modqd counted it, so that
-- a day never holds more rejections than decisions and the change leaves
-- the window together with the decision.  Outside the window, or where
-- that day is gone, there is nothing to correct.
--
local function mod_plan_history(ops, author, judged, now, dr)
	if HIST_DAYS <= 0 or author == '' or dr == 0 or not judged then
		return
	end
	local day = math.floor(judged / DAY_MS)
	local today = math.floor(now / DAY_MS)
	if day <= today - HIST_DAYS or day > today then
		return
	end
	local k = P .. ':rate:@hist:' .. author
	if mod_type(k, 'hash') then
		return
	end
	local v = redis.call('HMGET', k, day .. ':n', day .. ':r')
	local n, r = mod_counter(v[1]), mod_counter(v[2])
	if n and r and ((dr > 0 and r < n) or (dr < 0 and r > 0)) then
		ops[#ops + 1] = { k, day .. ':r', dr }
	end
end

-- Plan counting one moderator action in the stats hash.
local function mod_plan_stats(ops)
	if not mod_type(MOD_STATS, 'hash') and
	    mod_counter(redis.call('HGET', MOD_STATS, 'moderated')) then
		ops[#ops + 1] = { MOD_STATS, 'moderated', 1 }
	end
end

-- Apply planned counter moves; each was checked, so none can fail.
local function mod_apply(ops)
	for _, op in ipairs(ops) do
		redis.call('HINCRBY', op[1], op[2], op[3])
	end
end

-- Record a moderator action in the audit stream.
local function audit(id, action, by, note, was)
	redis.call('XADD', MOD_AUDIT, 'MAXLEN', '~', MAXLEN, '*',
	    'id', id, 'action', action, 'by', by, 'note', note, 'was', was)
end

local set_status

--
-- Set a comment's status by a moderator: record, held set, decisions
-- entry, author counters, history and audit together.  Returns 1, or 0
-- (and writes nothing) if the comment already has that status.
--
local function moderate(keys, a, status, action)
	local note, err = mod_args(keys, a, 2, action)
	if not note then
		return fail(err)
	end
	return set_status(a[1], a[2], note, status, action, nil)
end

--
-- Give comment id the status, by a moderator (or modqd), with its
-- record, held queue, decisions entry, counters, history and audit
-- together; reasons, when not nil, replaces the record's.  Returns 1, 0
-- if it already has that status, or an error reply (nothing written).
--
set_status = function(id, by, note, status, action, reasons)
	local k = P .. ':c:' .. id
	local err = mod_type(k, 'hash') or mod_type(MOD_HELD, 'zset') or
	    mod_type(MOD_DECISIONS, 'stream') or mod_type(MOD_AUDIT, 'stream')
	if err then
		return fail(err)
	end
	local old = redis.call('HMGET', k, 'status', 'author', 'reasons',
	    'decided_at', 'judged_at')
	if not old[1] then
		return fail('no comment ' .. id)
	end
	if old[1] == 'deleted' then
		return fail('comment ' .. id .. ' is deleted')
	end
	if old[1] == status then
		return 0
	end
	local now = now_ms()
	local author = old[2] or ''
	local judged = old[5] or old[4]
	local ops = {}
	mod_plan_author(ops, author, old[1], status)
	local dr = 0
	if status == 'rejected' then
		dr = 1
	elseif old[1] == 'rejected' then
		dr = -1
	end
	mod_plan_history(ops, author, tonumber(judged), now, dr)
	if by ~= 'modqd' then -- a person's action
		mod_plan_stats(ops)
	end

	local f = { 'status', status, 'decided_at', tostring(now),
	    'decided_by', by }
	if reasons then
		f[#f + 1] = 'reasons'
		f[#f + 1] = reasons
		old[3] = reasons
	end
	if not old[5] and old[4] then
		f[#f + 1] = 'judged_at'
		f[#f + 1] = old[4]
	end
	if note ~= '' then
		f[#f + 1] = 'note'
		f[#f + 1] = note
	end
	redis.call('HSET', k, unpack(f))
	if note == '' then
		redis.call('HDEL', k, 'note')
	end
	redis.call('EXPIRE', k, TTL_S) -- decided: it may expire now
	redis.call('ZREM', MOD_HELD, id)
	redis.call('XADD', MOD_DECISIONS, 'MAXLEN', '~', MAXLEN, '*',
	    'id', id, 'status', status, 'reasons', old[3] or '', 'by', by)
	mod_apply(ops)
	audit(id, action, by, note, old[1])
	return 1
end

local function modq_approve(keys, a)
	return moderate(keys, a, 'approved', 'approve')
end

-- What a deleted comment's record keeps: its id, who wrote it where, and
-- the decisions' own fields; the body, what matched in it and every other
-- field of the entry go.
local DELETE_KEEP = {
	id = 1, author = 1, ip = 1, thread = 1, status = 1, reasons = 1,
	decided_by = 1, ruleset = 1, stream_id = 1, digest = 1, decided_at = 1,
	revision = 1, edited_at = 1, note = 1, judged_at = 1, warnings = 1,
	shadow = 1, score = 1,
}

--
-- modq_delete 0 id moderator [note]: the site (or a moderator) deleted a
-- comment.  Its record gets status deleted, loses its body and extra
-- fields, leaves the held queue and its author's counters, expires after
-- decisions.ttl_days; a decisions entry and an audit entry say so.  An id
-- with no record yet gets a tombstone, so a delete that arrives before
-- the comment is judged wins: modqd acknowledges any later entry of a
-- deleted id without a decision.  Returns 1, or 0 if already deleted.
--
local function modq_delete(keys, a)
	local note, err = mod_args(keys, a, 2, 'delete')
	if not note then
		return fail(err)
	end
	local id, by = a[1], a[2]
	local k = P .. ':c:' .. id
	err = mod_type(k, 'hash') or mod_type(MOD_HELD, 'zset') or
	    mod_type(MOD_DECISIONS, 'stream') or mod_type(MOD_AUDIT, 'stream') or
	    mod_type(MOD_STATS, 'hash')
	if err then
		return fail(err)
	end
	local old = redis.call('HMGET', k, 'status', 'author', 'decided_at',
	    'judged_at')
	if old[1] == 'deleted' then
		return 0
	end
	local now = tostring(now_ms())
	local ops = {}
	if old[1] then
		mod_plan_author(ops, old[2] or '', old[1], 'deleted')
		local drop = {}
		for _, f in ipairs(redis.call('HKEYS', k)) do
			if not DELETE_KEEP[f] then
				drop[#drop + 1] = f
			end
		end
		if #drop > 0 then
			redis.call('HDEL', k, unpack(drop))
		end
	end
	local f = { 'id', id, 'status', 'deleted', 'decided_at', now,
	    'decided_by', by }
	if not old[4] and old[3] then
		f[#f + 1] = 'judged_at'
		f[#f + 1] = old[3]
	end
	redis.call('HSET', k, unpack(f))
	redis.call('EXPIRE', k, TTL_S)
	redis.call('ZREM', MOD_HELD, id)
	redis.call('XADD', MOD_DECISIONS, 'MAXLEN', '~', MAXLEN, '*',
	    'id', id, 'status', 'deleted', 'reasons', '', 'by', by)
	mod_apply(ops)
	if mod_counter(redis.call('HGET', MOD_STATS, 'deleted')) then
		redis.call('HINCRBY', MOD_STATS, 'deleted', 1)
	end
	audit(id, 'delete', by, note, old[1] or '')
	return 1
end

-- What forgetting an author erases from each of its records besides what
-- a delete erases: who wrote it and from where.
local FORGET_DROP = { author = 1, ip = 1 }
local FORGET_STEP = 100 -- keys one step looks at

--
-- Erase one record of a forgotten author as modq_delete would, and its
-- author and ip too; no audit entry (it would name the comment's author
-- by its comments).  Returns 1 if it erased one.
--
local function forget_record(k, author, by)
	local old = redis.pcall('HMGET', k, 'author', 'status', 'id')
	if old.err or old[1] ~= author then
		return 0 -- not a hash, or another author's
	end
	local drop = {}
	for _, f in ipairs(redis.call('HKEYS', k)) do
		if FORGET_DROP[f] or not DELETE_KEEP[f] then
			drop[#drop + 1] = f
		end
	end
	redis.call('HDEL', k, unpack(drop))
	local id = old[3] or string.sub(k, #P + 4)
	redis.call('HSET', k, 'status', 'deleted', 'decided_at',
	    tostring(now_ms()), 'decided_by', by)
	redis.call('EXPIRE', k, TTL_S)
	redis.pcall('ZREM', MOD_HELD, id)
	if old[2] ~= 'deleted' then
		redis.pcall('XADD', MOD_DECISIONS, 'MAXLEN', '~', MAXLEN, '*',
		    'id', id, 'status', 'deleted', 'reasons', 'forget', 'by', by)
	end
	return 1
end

--
-- modq_forget_step 0: go on with every author being forgotten, one SCAN
-- step (FORGET_STEP keys) each, so a call never keeps Redis for long
-- however many records there are; modqd calls it while any is left.
-- Returns how many authors are still being forgotten.
--
local function modq_forget_step(keys, a)
	if #a ~= 0 then
		return fail('usage: FCALL modq_forget_step 0|1 [prefix]')
	end
	local err = mod_type(MOD_FORGET, 'hash')
	if err then
		return fail(err)
	end
	local jobs = redis.call('HGETALL', MOD_FORGET)
	local left = 0
	for i = 1, #jobs, 2 do
		local author, cursor = jobs[i], jobs[i + 1]
		local by = string.match(cursor, ' (.*)$') or 'modqd'
		cursor = string.match(cursor, '^(%d+)') or '0'
		local r = redis.call('SCAN', cursor, 'MATCH', P .. ':c:*', 'COUNT',
		    FORGET_STEP)
		for _, k in ipairs(r[2]) do
			forget_record(k, author, by)
		end
		if r[1] == '0' then
			redis.call('HDEL', MOD_FORGET, author)
		else
			redis.call('HSET', MOD_FORGET, author, r[1] .. ' ' .. by)
			left = left + 1
		end
	end
	return left
end

--
-- modq_forget 0 author moderator [note]: erase an author (a reader's
-- right to erasure).  The author's hash, reputation history and rate
-- windows go at once; every record of the author is erased as by
-- modq_delete, author and ip included, by modq_forget_step, a bounded
-- step at a time (modqd drives it; so can anyone, calling it until it
-- returns 0).  The audit keeps the action with a SHA-1 of the author id,
-- never the id.  Returns 1.
--
local function modq_forget(keys, a)
	local note, err = mod_args(keys, a, 2, 'forget')
	err = err or mod_type(MOD_FORGET, 'hash') or
	    mod_type(MOD_AUDIT, 'stream')
	if err then
		return fail(err)
	end
	local author, by = a[1], a[2]
	redis.call('DEL', P .. ':author:' .. author,
	    P .. ':rate:@hist:' .. author)
	for _, rule in ipairs(AUTHOR_RATES) do
		redis.call('DEL', P .. ':rate:' .. rule .. ':' .. author)
	end
	if redis.call('HEXISTS', MOD_FORGET, author) == 0 then
		redis.call('HSET', MOD_FORGET, author, '0 ' .. by)
	end
	audit('sha1:' .. redis.sha1hex(author), 'forget', by, note, '')
	return 1
end

--
-- modq_retry 0 dead_id|all moderator [note]: put dead letters back on the
-- incoming stream once their cause is fixed (the config, the site), as
-- new entries with their own fields; all takes the oldest 100 a call.  A
-- dead letter that was cut (its cut field) is not whole and stays.
-- Returns how many it put back.
--
local function modq_retry(keys, a)
	local dead, stream = MOD_DEAD, STREAM
	local note, err = mod_args(keys, a, 2, 'retry')
	err = err or mod_type(dead, 'stream') or mod_type(stream, 'stream') or
	    mod_type(MOD_AUDIT, 'stream')
	if err then
		return fail(err)
	end
	local which, by = a[1], a[2]
	local entries
	if which == 'all' then
		entries = redis.call('XRANGE', dead, '-', '+', 'COUNT', 100)
	elseif string.find(which, '^%d+%-%d+$') then
		entries = redis.call('XRANGE', dead, which, which)
		if #entries == 0 then
			return fail('no dead letter ' .. which)
		end
	else
		return fail('bad dead letter id ' .. mod_quote(which) ..
		    '; usage: FCALL ' .. MOD_USAGE.retry)
	end
	local n = 0
	for _, e in ipairs(entries) do
		local f, out, cut, sid = e[2], {}, false, ''
		for i = 1, #f, 2 do
			if f[i] == 'cut' then
				cut = true
			elseif f[i] == 'stream_id' then
				sid = f[i + 1]
			elseif f[i] ~= 'error' then
				out[#out + 1] = f[i]
				out[#out + 1] = f[i + 1]
			end
		end
		if cut then
			if which ~= 'all' then
				return fail('dead letter ' .. which .. ' was cut: ' ..
				    'it is not whole and cannot be sent again')
			end
		else
			if #out > 0 then
				redis.call('XADD', stream, '*', unpack(out))
			end
			redis.call('XDEL', dead, e[1])
			audit(sid, 'retry', by, note, '')
			n = n + 1
		end
	end
	return n
end

local function modq_reject(keys, a)
	return moderate(keys, a, 'rejected', 'reject')
end

--
-- modq_expire_held 0 held_ms approve|reject limit: decide the comments
-- held for longer than held_ms (decisions.held_days) that no moderator
-- touched, oldest first, at most limit of them (each call stays short),
-- with reason held-expired, by modqd.  Returns how many it decided.
--
local function modq_expire_held(keys, a)
	local held_ms, action, limit = tonumber(a[1]), a[2], tonumber(a[3])
	local status = ({ approve = 'approved', reject = 'rejected' })[action]
	if #a ~= 3 or not held_ms or not status or not limit then
		return fail('usage: FCALL modq_expire_held 0|1 [prefix] <held_ms> ' ..
		    'approve|reject <limit>')
	end
	local err = mod_type(MOD_HELD, 'zset') or mod_type(MOD_STATS, 'hash')
	if err then
		return fail(err)
	end
	local ids = redis.call('ZRANGEBYSCORE', MOD_HELD, '-inf',
	    now_ms() - held_ms, 'LIMIT', 0, limit)
	local n = 0
	for _, id in ipairs(ids) do
		local r = set_status(id, 'modqd', '', status, 'held-expired',
		    'held-expired')
		if r == 1 then
			n = n + 1
		elseif type(r) == 'table' then
			-- a record gone or of another type: it is not held
			redis.call('ZREM', MOD_HELD, id)
		end
	end
	if n > 0 and mod_counter(redis.call('HGET', MOD_STATS, 'held-expired')) then
		redis.call('HINCRBY', MOD_STATS, 'held-expired', n)
	end
	return n
end

--
-- Set the state field of an author or thread hash, or clear it, and audit
-- it.  Returns 1, or 0 (and writes nothing) if the state is unchanged.
--
local function set_state(keys, a, kind, field, states, clear)
	local note, err = mod_args(keys, a, 3, kind)
	if not note then
		return fail(err)
	end
	local id, state, by = a[1], a[2], a[3]
	if not states[state] then
		return fail('bad ' .. kind .. ' state ' .. mod_quote(state) ..
		    '; usage: FCALL ' .. MOD_USAGE[kind])
	end
	local k = P .. ':' .. kind .. ':' .. id
	err = mod_type(k, 'hash') or mod_type(MOD_AUDIT, 'stream')
	if err then
		return fail(err)
	end
	local old = redis.call('HGET', k, field) or ''
	local new = state
	if state == clear then
		new = ''
	end
	if old == new then
		return 0
	end
	if new == '' then
		redis.call('HDEL', k, field)
	else
		redis.call('HSET', k, field, new)
	end
	audit(id, kind .. ':' .. state, by, note, old)
	return 1
end

local function modq_author(keys, a)
	return set_state(keys, a, 'author', 'trust',
	    { trusted = 1, premod = 1, banned = 1, clear = 1 }, 'clear')
end

local function modq_thread(keys, a)
	return set_state(keys, a, 'thread', 'mode',
	    { open = 1, premod = 1, closed = 1 }, 'open')
end

--
-- Read-only views: what the modq command shows, for anyone with redis-cli
-- too (FCALL_RO).  They take the site's prefix as their key (none: modq),
-- read the keys under it and write nothing.  Every value they return is one line without
-- control characters: view_esc() shows a backslash as \\, newline, tab
-- and carriage return as \n, \t, \r, other C0 controls and DEL as \xHH,
-- C1 controls and the line separator and bidi controls (U+200E, U+200F,
-- U+2028-202E, U+2066-2069) as \uHHHH.  Comment bodies are not in
-- them except cut short in listings: HGET <prefix>:c:<id> body.
--

-- Escape s for one line of display (see above); keepnl keeps newline
-- and tab.
local function view_esc(s, keepnl)
	if not s then
		return ''
	end
	s = string.gsub(s, '\\', '\\\\')
	s = string.gsub(s, '%c', function(c)
		if keepnl and (c == '\n' or c == '\t') then
			return c
		elseif c == '\n' then
			return '\\n'
		elseif c == '\t' then
			return '\\t'
		elseif c == '\r' then
			return '\\r'
		end
		return string.format('\\x%02x', string.byte(c))
	end)
	s = string.gsub(s, '\194[\128-\159]', function(c)
		return string.format('\\u%04x', string.byte(c, 2))
	end)
	s = string.gsub(s, '\226\128[\142\143\168-\174]', function(c)
		return string.format('\\u%04x', 8192 + string.byte(c, 3) - 128)
	end)
	s = string.gsub(s, '\226\129[\166-\169]', function(c)
		return string.format('\\u%04x', 8256 + string.byte(c, 3) - 128)
	end)
	return s
end

-- Escape s, or show an absent or empty value as a dash.
local function view_dash(s)
	if not s or s == '' then
		return '-'
	end
	return view_esc(s)
end

-- Cut s to at most n bytes, not inside a UTF-8 character, marking a cut
-- with an ellipsis.
local function view_cut(s, n)
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
	return string.sub(s, 1, n) .. '\226\128\166'
end

-- Show a duration in milliseconds as 45s, 5m, 2h or 3d.
local function view_age(ms)
	local s = math.floor(ms / 1000)
	if s < 0 then
		s = 0
	end
	if s < 60 then
		return s .. 's'
	elseif s < 3600 then
		return math.floor(s / 60) .. 'm'
	elseif s < 172800 then
		return math.floor(s / 3600) .. 'h'
	end
	return math.floor(s / 86400) .. 'd'
end

-- Read a hash into a table (empty if the key is not a hash).
local function view_hash(k)
	local r = redis.pcall('HGETALL', k)
	local h = {}
	if r.err then
		return h
	end
	for i = 1, #r, 2 do
		h[r[i]] = r[i + 1]
	end
	return h
end

-- Read a whole number argument, or the default if it is absent or empty.
local function view_num(a, i, default)
	local v = a[i]
	if v == nil or v == '' then
		return default
	end
	if not string.find(v, '^%d+$') or #v > 9 then
		return nil
	end
	return tonumber(v)
end

-- Append field, value pairs to out: the fields of h not shown yet, sorted.
local function view_rest(out, h)
	local rest = {}
	for f in pairs(h) do
		rest[#rest + 1] = f
	end
	table.sort(rest)
	for _, f in ipairs(rest) do
		out[#out + 1] = view_esc(f)
		out[#out + 1] = view_esc(h[f])
	end
end

-- Turn a stream entry's field list into a table (the first of a name wins).
local function view_fields(list)
	local f = {}
	for j = 1, #list, 2 do
		f[list[j]] = f[list[j]] or list[j + 1]
	end
	return f
end

-- The row of a held comment: id age author thread reasons body.
local function view_held_row(id, held, now, blen)
	local h = redis.pcall('HMGET', P .. ':c:' .. id, 'author', 'thread',
	    'reasons', 'body', 'status')
	if h.err then
		h = {}
	end
	local body = '(no record: expired or deleted)'
	if h[5] then
		body = view_esc(view_cut(h[4] or '', blen))
	end
	return { view_esc(id), view_age(now - tonumber(held)), view_dash(h[1]),
		view_dash(h[2]), view_dash(h[3]), body }, h[2]
end

--
-- modq_held [limit [thread [body_bytes]]]: the held queue, oldest first.
-- limit defaults to 50 (0: all), thread to all, body_bytes to 200.
-- Returns { number held, { id, age, author, thread, reasons, body }... }.
--
local function modq_held(keys, a)
	local limit, thread, blen = view_num(a, 1, 50), a[2] or '',
	    view_num(a, 3, 200)
	if not limit or not blen or #a > 3 then
		return fail('usage: FCALL_RO modq_held 0|1 [prefix] [limit [thread ' ..
		    '[body_bytes]]]')
	end
	local now = now_ms()
	local total = redis.call('ZCARD', MOD_HELD)
	local out = { total }
	local pos = 0
	while pos < total and (limit == 0 or #out - 1 < limit) do
		local ids = redis.call('ZRANGE', MOD_HELD, pos, pos + 499,
		    'WITHSCORES')
		if #ids == 0 then
			break
		end
		pos = pos + 500
		for i = 1, #ids, 2 do
			local row, t = view_held_row(ids[i], ids[i + 1], now, blen)
			if thread == '' or t == thread then
				out[#out + 1] = row
				if limit > 0 and #out - 1 >= limit then
					break
				end
			end
		end
	end
	return out
end

--
-- modq_show id: a comment's record but its body, as field, value pairs:
-- id, the usual fields in a fixed order, held_at and expires_at (ms),
-- then the others sorted.  An empty list if there is no such comment.
--
local function modq_show(id, h, k)
	if not h.status and not h.body then
		return {}
	end
	local out = { 'id', view_esc(id) }
	h.id, h.body = nil, nil
	for _, f in ipairs({ 'status', 'reasons', 'matched', 'decided_by',
	    'decided_at', 'note', 'judged_at', 'author', 'thread', 'ip',
	    'ruleset', 'stream_id' }) do
		if h[f] then
			out[#out + 1] = f
			out[#out + 1] = view_esc(h[f])
			h[f] = nil
		end
	end
	local held = redis.pcall('ZSCORE', MOD_HELD, id)
	if type(held) == 'string' then
		out[#out + 1] = 'held_at'
		out[#out + 1] = held
	end
	local ttl = redis.call('PTTL', k)
	if ttl >= 0 then
		out[#out + 1] = 'expires_at'
		out[#out + 1] = tostring(now_ms() + ttl)
	end
	view_rest(out, h)
	return out
end

-- Add an author's decided and rejected comments in the history window.
local function view_history(out, author)
	local hist = view_hash(P .. ':rate:@hist:' .. author)
	local n, r = 0, 0
	for f, v in pairs(hist) do
		if string.sub(f, -2) == ':n' then
			n = n + (tonumber(v) or 0)
		elseif string.sub(f, -2) == ':r' then
			r = r + (tonumber(v) or 0)
		end
	end
	for _, x in ipairs({ 'recent_decided', n, 'recent_rejected', r }) do
		out[#out + 1] = tostring(x)
	end
end

--
-- modq_show_author author: trust (a dash if none), approved, held and
-- rejected counts, recent_decided and recent_rejected (the rejection
-- history window), then the hash's other fields, as field, value pairs.
--
local function modq_show_author(author, h)
	local out = { 'author', view_esc(author), 'trust', view_dash(h.trust) }
	for _, f in ipairs({ 'approved', 'held', 'rejected' }) do
		out[#out + 1] = f
		out[#out + 1] = view_esc(h[f] or '0')
		h[f] = nil
	end
	h.trust = nil
	view_history(out, author)
	view_rest(out, h)
	return out
end

-- modq_show_thread thread: its mode (open if none), then its other fields.
local function modq_show_thread(thread, h)
	local out = { 'thread', view_esc(thread), 'mode', view_esc(h.mode or
	    'open') }
	h.mode = nil
	view_rest(out, h)
	return out
end

-- Add the incoming stream's length (acknowledged entries not trimmed yet
-- included), the group's backlog (entries not yet delivered to it, its
-- lag, plus those delivered but not acknowledged; a dash if Redis cannot
-- tell) and its pending entries, in all and per consumer.
local function view_queue(out, stream, group)
	local len = redis.pcall('XLEN', stream)
	if type(len) ~= 'number' then
		len = '-'
	end
	out[#out + 1] = 'stream_length'
	out[#out + 1] = tostring(len)
	local backlog = '-'
	local groups = redis.pcall('XINFO', 'GROUPS', stream)
	for _, g in ipairs(groups.err and {} or groups) do
		local f = view_fields(g)
		if f.name == group and type(f.lag) == 'number' and
		    type(f.pending) == 'number' then
			backlog = tostring(f.lag + f.pending)
		end
	end
	out[#out + 1] = 'backlog'
	out[#out + 1] = backlog
	local pend = redis.pcall('XPENDING', stream, group)
	out[#out + 1] = 'pending'
	if pend.err then
		out[#out + 1] = '-'
		return
	end
	out[#out + 1] = tostring(pend[1])
	for _, c in ipairs(pend[4] or {}) do
		out[#out + 1] = 'pending:' .. view_esc(c[1])
		out[#out + 1] = tostring(c[2])
	end
end

-- Add the rules that fired most, most hits first (top 0: all).
local function view_rules(out, h, top)
	local rules = {}
	for f, v in pairs(h) do
		if string.sub(f, 1, 5) == 'rule:' then
			rules[#rules + 1] = { f, tonumber(v) or 0 }
		end
	end
	table.sort(rules, function(x, y)
		if x[2] ~= y[2] then
			return x[2] > y[2]
		end
		return x[1] < y[1]
	end)
	for i, r in ipairs(rules) do
		if top > 0 and i > top then
			break
		end
		out[#out + 1] = view_esc(r[1])
		out[#out + 1] = tostring(r[2])
	end
end

--
-- modq_stats [stream [group [top]]]: the counters, held_now,
-- stream_length (of <prefix>:<stream>, default the site's queue.stream;
-- a stream name has no ':', so it stays under the prefix), backlog and
-- pending (of group, default the site's queue.group; a dash if none) and pending per
-- consumer, then the top rules (default 10, 0 for all), as name, value
-- pairs.
--
local function modq_stats(keys, a)
	local stream, group = a[1] or '', a[2] or ''
	local top = view_num(a, 3, 10)
	if not top or #a > 3 then
		return fail('usage: FCALL_RO modq_stats 0|1 [prefix] ' ..
		    '[stream [group [top]]]')
	end
	local h = view_hash(MOD_STATS)
	local out = {}
	for _, f in ipairs({ 'processed', 'approved', 'held', 'rejected',
	    'dead', 'moderated' }) do
		out[#out + 1] = f
		out[#out + 1] = view_esc(h[f] or '0')
	end
	out[#out + 1] = 'held_now'
	out[#out + 1] = tostring(redis.call('ZCARD', MOD_HELD))
	if stream ~= '' and P .. ':' .. stream ~= STREAM and
	    not string.find(stream, '^[%w._-]+$') then
		return fail('bad stream name ' .. mod_quote(stream) ..
		    ' (A-Z a-z 0-9 . _ -)')
	end
	view_queue(out, stream ~= '' and P .. ':' .. stream or STREAM,
	    group ~= '' and group or GROUP)
	view_rules(out, h, top)
	return out
end

--
-- modq_dead [limit [body_bytes]]: the last limit dead letters (default
-- 50, 0: all), oldest first, as { entry, ms, error, id, body }.
--
local function modq_dead(keys, a)
	local limit, blen = view_num(a, 1, 50), view_num(a, 2, 120)
	if not limit or not blen or #a > 2 then
		return fail('usage: FCALL_RO modq_dead 0|1 [prefix] ' ..
		    '[limit [body_bytes]]')
	end
	local k = MOD_DEAD
	local e
	if limit > 0 then
		e = redis.call('XREVRANGE', k, '+', '-', 'COUNT', limit)
	else
		e = redis.call('XREVRANGE', k, '+', '-')
	end
	local out = {}
	for i = #e, 1, -1 do
		local f = view_fields(e[i][2])
		out[#out + 1] = { e[i][1], string.match(e[i][1], '^%d+'),
			view_dash(f.error), view_dash(f.id),
			view_dash(view_cut(f.body, blen)) }
	end
	return out
end

--
-- modq_tail after [count]: the decisions after the stream id after (at
-- most count, default 100), as { last id, { ms, id, status, by,
-- reasons }... }.  With after "$", only the id of the last decision
-- ("0-0" if none), to start from.
--
local function modq_tail(keys, a)
	local after, count = a[1], view_num(a, 2, 100)
	if not after or not count or count == 0 or #a > 2 then
		return fail('usage: FCALL_RO modq_tail 0|1 [prefix] <after>|$ ' ..
		    '[count]')
	end
	if after == '$' then
		local last = redis.call('XREVRANGE', MOD_DECISIONS, '+', '-',
		    'COUNT', 1)
		return { last[1] and last[1][1] or '0-0' }
	end
	local e = redis.call('XRANGE', MOD_DECISIONS, '(' .. after, '+',
	    'COUNT', count)
	local out = { after }
	for _, x in ipairs(e) do
		local f = view_fields(x[2])
		out[#out + 1] = { string.match(x[1], '^%d+'), view_dash(f.id),
			view_dash(f.status), view_dash(f.by), view_dash(f.reasons) }
		out[1] = x[1]
	end
	return out
end

--
-- Set the call's site (P and the rest, at the top) from its keys: none,
-- the prefix modq; one, that prefix.  Returns why the call is refused, or
-- nil: more keys, or a prefix no modqd has set up (no <prefix>:conf).
--
local function use_prefix(keys)
	if #keys > 1 then
		return 'wrong number of keys: name the prefix as the one key, ' ..
		    'or none for ' .. PREFIX_DEFAULT
	end
	local p = keys[1] or PREFIX_DEFAULT
	local c = redis.pcall('HMGET', p .. ':conf', unpack(CONF_FIELDS))
	if c.err then
		return c.err -- NOPERM: the caller may not use this prefix
	end
	if not c[1] or not c[5] or not tonumber(c[2]) or
	    not tonumber(c[3]) then
		return 'unknown prefix ' .. mod_quote(p) .. ': no modqd has ' ..
		    'set it up (' .. mod_quote(p .. ':conf') .. ')'
	end
	P, MAXLEN, HIST_DAYS, TTL_S = p, c[1], tonumber(c[2]), tonumber(c[3])
	AUTHOR_RATES = {}
	for rule in string.gmatch(c[4] or '', '%S+') do
		AUTHOR_RATES[#AUTHOR_RATES + 1] = rule
	end
	STREAM, GROUP = P .. ':' .. c[5], c[6] or 'modqd'
	MOD_HELD, MOD_DECISIONS = P .. ':held', P .. ':decisions'
	MOD_AUDIT, MOD_STATS = P .. ':audit', P .. ':stats'
	MOD_FORGET, MOD_DEAD = P .. ':forget', P .. ':dead'
	return nil
end

--
-- Make f a function of the library: its call's site is set first.  A
-- function of modqd's (daemon), whose first argument is always the
-- stream, refuses any other stream than the site's, and a caller that may
-- not acknowledge the site's stream entries (XACK): Redis checks the
-- commands a function runs against its caller's ACL only as it runs them,
-- so a moderator's user (which has no XACK) would otherwise get half-way
-- through writing a decision "by modqd" before it failed.
--
local function site(f, daemon)
	return function(keys, a)
		local err = use_prefix(keys)
		if not err and daemon and a[1] ~= STREAM then
			err = 'the stream is not ' .. STREAM
		elseif not err and daemon and
		    not redis.acl_check_cmd('XACK', STREAM, 'modqd', '0-0') then
			err = 'only modqd calls this: this user may not XACK ' ..
			    STREAM
		end
		if err then
			return fail(err)
		end
		return f(keys, a)
	end
end

-- The read-only views, callable with FCALL_RO.
local function register_view(name, f)
	redis.register_function({ function_name = name, callback = site(f),
		flags = { 'no-writes' } })
end

--
-- The views of one thing: name takes one argument, what, whose hash is
-- prefix .. a[1]; show(a[1], that hash, its key) makes the view.
--
local function register_view_one(name, what, prefix, show)
	register_view(name, function(keys, a)
		if #a ~= 1 then
			return fail('usage: FCALL_RO ' .. name .. ' 0|1 [prefix] <' ..
			    what .. '>')
		end
		local k = P .. prefix .. a[1]
		return show(a[1], view_hash(k), k)
	end)
end

register_view('modq_held', modq_held)
register_view_one('modq_show', 'id', ':c:', modq_show)
register_view_one('modq_show_author', 'author', ':author:', modq_show_author)
register_view_one('modq_show_thread', 'thread', ':thread:', modq_show_thread)
register_view('modq_stats', modq_stats)
register_view('modq_dead', modq_dead)
register_view('modq_tail', modq_tail)

--
-- modq_trim stream: remove the stream's entries that every consumer group
-- on it has read and acknowledged (older than the group's oldest pending
-- entry, and not newer than the last one delivered to it).  A decided
-- comment lives on in its record, a dead letter in the dead-letter
-- stream.  Returns the number of entries removed.
--
local function modq_trim(keys, a)
	local stream = a[1]
	local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', stream)
	local floor
	if not ok or type(groups) ~= 'table' or #groups == 0 then
		return 0
	end
	for _, g in ipairs(groups) do
		local name, pending, keep
		for i = 1, #g - 1, 2 do
			if g[i] == 'name' then
				name = g[i + 1]
			elseif g[i] == 'pending' then
				pending = g[i + 1]
			elseif g[i] == 'last-delivered-id' then
				keep = g[i + 1]
			end
		end
		if not name or not keep then
			return 0
		end
		if pending and pending > 0 then
			keep = redis.call('XPENDING', stream, name)[2]
		end
		if not floor or sid_older(keep, floor) then
			floor = keep
		end
	end
	if not floor or floor == '0-0' then
		return 0
	end
	return redis.call('XTRIM', stream, 'MINID', floor)
end

-- The functions that write, name and function: modqd's, then the
-- moderators'.  (pairs() and ipairs() do not exist while a library loads.)
local DAEMON = { modq_read = 1, modq_decide = 1, modq_claim = 1,
	modq_trim = 1 }
local WRITERS = {
	'modq_read', modq_read, 'modq_decide', modq_decide,
	'modq_claim', modq_claim, 'modq_trim', modq_trim,
	'modq_forget_step', modq_forget_step,
	'modq_expire_held', modq_expire_held,
	'modq_approve', modq_approve, 'modq_reject', modq_reject,
	'modq_delete', modq_delete, 'modq_forget', modq_forget,
	'modq_retry', modq_retry, 'modq_author', modq_author,
	'modq_thread', modq_thread,
}
for i = 1, #WRITERS, 2 do
	redis.register_function(WRITERS[i],
	    site(WRITERS[i + 1], DAEMON[WRITERS[i]]))
end
