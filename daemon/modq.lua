#!lua name=modq
--
-- modq.lua -- the modq Redis Functions library.  modqd loads it at every
-- (re)connect with FUNCTION LOAD REPLACE, after filling in its key prefix
-- and limits.  Every function runs atomically on the server: a decision
-- (comment hash, decisions stream, held set, author counters, stats) and the
-- acknowledgement of its stream entry happen together or not at all, and a
-- moderator action changes the record, the queue, the counters and the
-- audit log together or not at all.
--
-- Daemon functions: modq_context, modq_decide, modq_claim.
-- Moderator functions: modq_approve, modq_reject, modq_author, modq_thread.
--

local P = '@PREFIX@'
local MAXLEN = '@MAXLEN@'
local HIST_DAYS = @HISTDAYS@
local DAY_MS = 86400000

local TRUST = { trusted = 1, premod = 2, banned = 3 }
local MODE = { premod = 1, closed = 2 }

local function now_ms()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fail(msg)
	return redis.error_reply('ERR modq: ' .. msg)
end

-- Sum an author's decided and rejected comments over the history window.
local function history(author, now)
	if HIST_DAYS <= 0 or author == '' then
		return 0, 0
	end
	local day = math.floor(now / DAY_MS)
	local fields = {}
	for d = day - HIST_DAYS + 1, day do
		fields[#fields + 1] = d .. ':n'
		fields[#fields + 1] = d .. ':r'
	end
	local v = redis.call('HMGET', P .. ':rate:hist:' .. author,
	    unpack(fields))
	local n, r = 0, 0
	for i = 1, #v, 2 do
		n = n + (tonumber(v[i]) or 0)
		r = r + (tonumber(v[i + 1]) or 0)
	end
	return n, r
end

-- Count a decision (and a rejection) in the author's history window.
local function history_add(author, now, dn, dr)
	if HIST_DAYS <= 0 or author == '' then
		return
	end
	local k = P .. ':rate:hist:' .. author
	local day = math.floor(now / DAY_MS)
	if dn ~= 0 then
		redis.call('HINCRBY', k, day .. ':n', dn)
	end
	if dr ~= 0 then
		redis.call('HINCRBY', k, day .. ':r', dr)
	end
	redis.call('HDEL', k, (day - HIST_DAYS) .. ':n',
	    (day - HIST_DAYS) .. ':r')
	redis.call('PEXPIRE', k, (HIST_DAYS + 1) * DAY_MS)
end

--
-- modq_context nrates [name per]... then per comment:
--   stream_id author ip thread ts [window_lo ttl_ms]...
-- Records each comment once in its rate windows (member = stream id, so a
-- redelivery is not counted again) and returns per comment
--   { trust, mode, approved, recent_decided, recent_rejected, count... }
-- with count -1 where the comment lacks the field the rule counts per.
--
local function modq_context(keys, a)
	local nrates = tonumber(a[1])
	local rules = {}
	local i = 2
	for r = 1, nrates do
		rules[r] = { a[i], tonumber(a[i + 1]) }
		i = i + 2
	end
	local now = now_ms()
	local out = {}
	while i <= #a do
		local sid, author, ip, thread = a[i], a[i + 1], a[i + 2], a[i + 3]
		local ts = tonumber(a[i + 4])
		i = i + 5
		local res = { 0, 0, 0, 0, 0 }
		if author ~= '' then
			local h = redis.call('HMGET', P .. ':author:' .. author,
			    'trust', 'approved')
			res[1] = TRUST[h[1]] or 0
			res[3] = tonumber(h[2]) or 0
			res[4], res[5] = history(author, now)
		end
		if thread ~= '' then
			local m = redis.call('HGET', P .. ':thread:' .. thread, 'mode')
			res[2] = MODE[m] or 0
		end
		local field = { author, ip, thread }
		for r = 1, nrates do
			local lo, ttl = a[i], a[i + 1]
			i = i + 2
			local v = field[rules[r][2]]
			if v == '' then
				res[#res + 1] = -1
			else
				local k = P .. ':rate:' .. rules[r][1] .. ':' .. v
				redis.call('ZADD', k, 'NX', ts, sid)
				res[#res + 1] = redis.call('ZCOUNT', k, lo, ts)
				redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. lo)
				redis.call('PEXPIRE', k, ttl)
			end
		end
		out[#out + 1] = res
	end
	return out
end

-- Move an author's counter from one status to another.
local function author_move(author, from, to)
	if author == nil or author == '' then
		return
	end
	local k = P .. ':author:' .. author
	if from then
		redis.call('HINCRBY', k, from, -1)
	end
	if to then
		redis.call('HINCRBY', k, to, 1)
	end
end

-- Write one automatic decision; the caller has acknowledged its entry.
local function decide_one(d, now, ttl, stats)
	local k = P .. ':c:' .. d.id
	local old = redis.call('HMGET', k, 'status', 'author')
	if old[1] then
		redis.call('DEL', k)
		author_move(old[2], old[1], nil)
	end
	d.fields[#d.fields + 1] = 'status'
	d.fields[#d.fields + 1] = d.status
	d.fields[#d.fields + 1] = 'reasons'
	d.fields[#d.fields + 1] = d.reasons
	d.fields[#d.fields + 1] = 'matched'
	d.fields[#d.fields + 1] = d.matched
	d.fields[#d.fields + 1] = 'decided_at'
	d.fields[#d.fields + 1] = tostring(now)
	d.fields[#d.fields + 1] = 'decided_by'
	d.fields[#d.fields + 1] = 'modqd'
	d.fields[#d.fields + 1] = 'ruleset'
	d.fields[#d.fields + 1] = d.ruleset
	d.fields[#d.fields + 1] = 'stream_id'
	d.fields[#d.fields + 1] = d.sid
	redis.call('HSET', k, unpack(d.fields))
	redis.call('EXPIRE', k, ttl)
	redis.call('XADD', P .. ':decisions', 'MAXLEN', '~', MAXLEN, '*',
	    'id', d.id, 'status', d.status, 'reasons', d.reasons,
	    'by', 'modqd')
	if d.status == 'held' then
		redis.call('ZADD', P .. ':held', now, d.id)
	elseif old[1] == 'held' then
		redis.call('ZREM', P .. ':held', d.id)
	end
	author_move(d.author, nil, d.status)
	history_add(d.author, now, 1, d.status == 'rejected' and 1 or 0)
	stats[d.status] = (stats[d.status] or 0) + 1
	for r in string.gmatch(d.reasons, '%S+') do
		stats['rule:' .. r] = (stats['rule:' .. r] or 0) + 1
	end
end

-- Dead-letter one entry with its reason and all its original fields.
local function dead_one(x, stats)
	redis.call('XADD', P .. ':dead', 'MAXLEN', '~', MAXLEN, '*',
	    'error', x.error, 'stream_id', x.sid, unpack(x.fields))
	stats.dead = (stats.dead or 0) + 1
end

--
-- modq_decide stream group ttl_s then items:
--   d stream_id id status reasons matched ruleset author nfields f v...
--   x stream_id error nfields f v...
-- Each item is acknowledged first; an entry already acknowledged (decided
-- by another daemon, or before a crash) is skipped, which makes a
-- redelivered comment impossible to decide twice.  Returns per item 1 if
-- written, 0 if skipped.
--
local function modq_decide(keys, a)
	local stream, group, ttl = a[1], a[2], tonumber(a[3])
	local now = now_ms()
	local stats = {}
	local out = {}
	local i = 4
	while i <= #a do
		local kind, sid = a[i], a[i + 1]
		local item = { sid = sid, fields = {} }
		local nf
		if kind == 'd' then
			item.id, item.status, item.reasons = a[i + 2], a[i + 3], a[i + 4]
			item.matched, item.ruleset, item.author = a[i + 5], a[i + 6],
			    a[i + 7]
			nf = tonumber(a[i + 8])
			i = i + 9
		elseif kind == 'x' then
			item.error = a[i + 2]
			nf = tonumber(a[i + 3])
			i = i + 4
		else
			return fail('bad item kind ' .. tostring(kind))
		end
		for f = 0, 2 * nf - 1 do
			item.fields[#item.fields + 1] = a[i + f]
		end
		i = i + 2 * nf
		if redis.call('XACK', stream, group, sid) == 0 then
			out[#out + 1] = 0
		else
			if kind == 'd' then
				decide_one(item, now, ttl, stats)
			else
				dead_one(item, stats)
			end
			stats.processed = (stats.processed or 0) + 1
			out[#out + 1] = 1
		end
	end
	for f, n in pairs(stats) do
		redis.call('HINCRBY', P .. ':stats', f, n)
	end
	return out
end

-- Add the delivery count of each claimed entry: { id, count, fields }.
local function with_counts(stream, group, entries)
	local out = {}
	for _, e in ipairs(entries) do
		local p = redis.call('XPENDING', stream, group, e[1], e[1], 1)
		local count = 1
		if p[1] then
			count = p[1][4]
		end
		out[#out + 1] = { e[1], count, e[2] or {} }
	end
	return out
end

--
-- modq_claim stream group consumer mode min_idle_ms start count
-- mode "idle": take over entries other consumers left idle (XAUTOCLAIM);
-- mode "own": take back this consumer's own pending entries (at start and
-- after a reconnect).  Both count a delivery.  Returns
-- { next_start, { id, deliveries, { field, value... } }... }, next_start
-- "0-0" when the pending list has been walked to its end.
--
local function modq_claim(keys, a)
	local stream, group, consumer, mode = a[1], a[2], a[3], a[4]
	local idle, start, count = a[5], a[6], tonumber(a[7])
	if mode == 'idle' then
		local r = redis.call('XAUTOCLAIM', stream, group, consumer, idle,
		    start, 'COUNT', count)
		return { r[1], with_counts(stream, group, r[2]) }
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
	return { nextstart, with_counts(stream, group, claimed) }
end

-- Check the arguments every moderator function shares.
local function mod_args(a, what)
	if #a < 2 or #a > 3 then
		return nil, fail('usage: ' .. what .. ' <id> <moderator> [note]')
	end
	if a[1] == '' then
		return nil, fail('empty id')
	end
	if a[2] == '' then
		return nil, fail('a moderator name is required')
	end
	return a[3] or ''
end

-- Record a moderator action in the audit stream.
local function audit(id, action, by, note)
	redis.call('XADD', P .. ':audit', 'MAXLEN', '~', MAXLEN, '*',
	    'id', id, 'action', action, 'by', by, 'note', note)
end

-- Set a comment's status by a moderator; returns 1, or 0 if unchanged.
local function moderate(a, status, action)
	local note, err = mod_args({ a[1], a[2], a[3] }, 'modq_' .. action)
	if not note then
		return err
	end
	if #a > 3 then
		return fail('usage: modq_' .. action .. ' <id> <moderator> [note]')
	end
	local id, by = a[1], a[2]
	local k = P .. ':c:' .. id
	local old = redis.call('HMGET', k, 'status', 'author', 'reasons')
	if not old[1] then
		return fail('no comment ' .. id)
	end
	if old[1] == status then
		return 0
	end
	local now = now_ms()
	redis.call('HSET', k, 'status', status, 'decided_at', tostring(now),
	    'decided_by', by, 'note', note)
	redis.call('ZREM', P .. ':held', id)
	redis.call('XADD', P .. ':decisions', 'MAXLEN', '~', MAXLEN, '*',
	    'id', id, 'status', status, 'reasons', old[3] or '', 'by', by)
	author_move(old[2], old[1], status)
	local dr = 0
	if status == 'rejected' then
		dr = 1
	elseif old[1] == 'rejected' then
		dr = -1
	end
	if old[2] and old[2] ~= '' and HIST_DAYS > 0 then
		history_add(old[2], now, 0, dr)
	end
	redis.call('HINCRBY', P .. ':stats', 'moderated', 1)
	audit(id, action, by, note)
	return 1
end

local function modq_approve(keys, a)
	return moderate(a, 'approved', 'approve')
end

local function modq_reject(keys, a)
	return moderate(a, 'rejected', 'reject')
end

-- Set a state field of an author or thread hash, or clear it.
local function set_state(a, kind, field, states, clear)
	if #a < 3 or #a > 4 then
		return fail('usage: modq_' .. kind .. ' <' .. kind ..
		    '> <state> <moderator> [note]')
	end
	local id, state, by, note = a[1], a[2], a[3], a[4] or ''
	if id == '' then
		return fail('empty ' .. kind)
	end
	if by == '' then
		return fail('a moderator name is required')
	end
	if not states[state] then
		return fail('bad ' .. kind .. ' state ' .. state)
	end
	local k = P .. ':' .. kind .. ':' .. id
	if state == clear then
		redis.call('HDEL', k, field)
	else
		redis.call('HSET', k, field, state)
	end
	audit(id, kind .. ':' .. state, by, note)
	return 1
end

local function modq_author(keys, a)
	return set_state(a, 'author', 'trust',
	    { trusted = 1, premod = 1, banned = 1, clear = 1 }, 'clear')
end

local function modq_thread(keys, a)
	return set_state(a, 'thread', 'mode',
	    { open = 1, premod = 1, closed = 1 }, 'open')
end

redis.register_function('modq_context', modq_context)
redis.register_function('modq_decide', modq_decide)
redis.register_function('modq_claim', modq_claim)
redis.register_function('modq_approve', modq_approve)
redis.register_function('modq_reject', modq_reject)
redis.register_function('modq_author', modq_author)
redis.register_function('modq_thread', modq_thread)
