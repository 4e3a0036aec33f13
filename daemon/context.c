/*
 * context.c -- the context round of a batch: what modqd reads from Redis
 * before it decides (author trust and approved count, reputation history,
 * thread mode), the rate windows it records and counts, and the records
 * of repeats and campaigns (texts.c), as plain pipelined commands on the command connection.  The replies fill each
 * comment's struct rules_ctx.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "pipeline.h"
#include "xmalloc.h"

#define CONTEXT_REFRESH_SLOTS 65536 /* rate keys remembered */

static void context_be64(char *, unsigned long long);
static void context_reads(struct batch *, uint32_t, char **, size_t);
static int context_refresh_due(const char *, const struct rules_rate *);
static void context_rates(struct batch *, uint32_t, char **);
static void context_copy(
    struct comment *, const struct req *, const redisReply *);

/* Write v as 8 bytes, big-endian, so records compare as bytes. */
static void
context_be64(char *p, unsigned long long v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

/* Queue the reads of one comment's author, history and thread. */
static void
context_reads(struct batch *b, uint32_t ci, char **hist, size_t nhist)
{
	struct comment *c = &b->c[ci];
	struct redis_args a;
	size_t f;

	if (*c->akey != '\0') {
		redis_args_init(&a);
		redis_args_adds(&a, "HMGET");
		redis_args_adds(&a, c->akey);
		redis_args_adds(&a, "trust");
		redis_args_adds(&a, "approved");
		pipeline_req(b, &a, ci, Q_AUTHOR, 0);
	}
	if (*c->hkey != '\0' && nhist > 0) {
		redis_args_init(&a);
		redis_args_adds(&a, "HMGET");
		redis_args_adds(&a, c->hkey);
		for (f = 0; f < nhist; f++)
			redis_args_adds(&a, hist[f]);
		pipeline_req(b, &a, ci, Q_HIST, 0);
	}
	if (*c->tkey != '\0') {
		redis_args_init(&a);
		redis_args_adds(&a, "HGET");
		redis_args_adds(&a, c->tkey);
		redis_args_adds(&a, "mode");
		pipeline_req(b, &a, ci, Q_THREAD, 0);
	}
}

/*
 * Tell whether a rate window key is due for trimming and a new TTL: not if
 * this daemon did both less than rate_refresh_ms() ago.  The memory is a
 * direct-mapped table of key hashes, forgotten at every reconnect; a
 * collision only costs an early refresh.
 */
static int
context_refresh_due(const char *key, const struct rules_rate *r)
{
	static struct {
		uint64_t h;
		long long at;
	} slot[CONTEXT_REFRESH_SLOTS];
	static unsigned long long gen;
	struct timeval tv;
	uint64_t h = 14695981039346656037ULL;
	long long now;
	const unsigned char *p;
	size_t i;

	if (gen != redis_reconnects() + 1) {
		memset(slot, 0, sizeof slot);
		gen = redis_reconnects() + 1;
	}
	for (p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h ^= h >> 33; /* spread the last bytes' change to every bit */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h |= 1; /* 0 marks an empty slot */
	i = (size_t)(h % CONTEXT_REFRESH_SLOTS);
	event_base_gettimeofday_cached(server_base(), &tv);
	now = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (slot[i].h == h && now - slot[i].at < rate_refresh_ms(r))
		return (0);
	slot[i].h = h;
	slot[i].at = now;
	return (1);
}

/*
 * Queue one comment's rate windows.  Each window is a sorted set of
 * 12-byte records (8 bytes of milliseconds and 4 of sequence from the
 * stream id) scored by time: ZADD NX records a comment once however often
 * it is delivered and ZCOUNT counts its window.  Each command is atomic on
 * its own, and a window needs nothing more.  Records older than the window
 * are trimmed, and the key's TTL renewed, once per rate_refresh_ms() and
 * key, not per comment: the TTL covers the time in between.
 */
static void
context_rates(struct batch *b, uint32_t ci, char **num)
{
	struct comment *c = &b->c[ci];
	const struct rules_rate *r;
	struct redis_args a;
	unsigned long long seq;
	char *rec, *ts, *lo, *ttl;
	long long from, to;
	const char *dash;
	size_t k, nr = rules_nrates(b->rules);

	rec = *num;
	*num += PIPELINE_NUM;
	dash = strchr(c->sid, '-');
	seq = dash != NULL ? strtoull(dash + 1, NULL, 10) : 0;
	context_be64(rec, (unsigned long long)c->ts);
	context_be64(rec + 8, seq << 32);
	memcpy(c->rmember, rec, sizeof c->rmember);
	ts = *num;
	*num += PIPELINE_NUM;
	snprintf(ts, PIPELINE_NUM, "%lld", c->ts);
	for (k = 0; k < nr; k++) {
		if (*c->rkey[k] == '\0')
			continue;
		r = rules_rate(b->rules, k);
		rate_window(r, c->ts, &from, &to);
		lo = *num;
		*num += PIPELINE_NUM;
		ttl = *num;
		*num += PIPELINE_NUM;
		snprintf(lo, PIPELINE_NUM, "(%lld", from - 1);
		snprintf(ttl, PIPELINE_NUM, "%lld", rate_ttl_ms(r));
		redis_args_init(&a);
		redis_args_adds(&a, "ZADD");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, "NX");
		redis_args_adds(&a, ts);
		redis_args_add(&a, rec, 12);
		pipeline_req(b, &a, ci, Q_IGNORE, 0);
		redis_args_init(&a);
		redis_args_adds(&a, "ZCOUNT");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, lo);
		redis_args_adds(&a, ts);
		pipeline_req(b, &a, ci, Q_RATE, (uint8_t)k);
		if (!context_refresh_due(c->rkey[k], r))
			continue;
		redis_args_init(&a);
		redis_args_adds(&a, "ZREMRANGEBYSCORE");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, "-inf");
		redis_args_adds(&a, lo);
		pipeline_req(b, &a, ci, Q_IGNORE, 0);
		redis_args_init(&a);
		redis_args_adds(&a, "PEXPIRE");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, ttl);
		pipeline_req(b, &a, ci, Q_IGNORE, 0);
	}
}

/*
 * Send the batch's context as plain pipelined commands (Redis runs them
 * several times cheaper than the same calls inside a Function; none of
 * them needs to be atomic with another): each comment's author trust and
 * approved count, reputation history, thread mode, and rate windows.
 * When a write connection is free the WATCH round goes along (b->beside),
 * which saves the batch a round trip.
 */
void
context_send(struct batch *b)
{
	const struct rules_authors *au = rules_authors(b->rules);
	size_t i, k, nr = rules_nrates(b->rules), nhist = 0;
	long days = au->hold_if_rejected ? au->rejected_days : 0;
	char *num, *hist[2 * 90];
	long long day = (long long)time(NULL) / 86400;
	struct comment *c;

	free(b->reqs);
	b->reqs = xcalloc(b->n * (4 + 4 * nr) + 2, sizeof *b->reqs);
	b->nreqs = 0;
	free(b->nums);
	b->nums = xmalloc((b->n * (2 + 2 * nr) + 2 * 90 + 1) * PIPELINE_NUM);
	num = b->nums;
	for (k = 0; k < (size_t)days && k < 90; k++) {
		hist[nhist] = num;
		snprintf(num, PIPELINE_NUM, "%lld:n", day - (long long)k);
		num += PIPELINE_NUM;
		hist[nhist + 1] = num;
		snprintf(num, PIPELINE_NUM, "%lld:r", day - (long long)k);
		num += PIPELINE_NUM;
		nhist += 2;
	}
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		memset(&c->ctx, 0, sizeof c->ctx);
		c->ctx.has_author = *c->author != '\0';
		for (k = 0; k < nr; k++)
			c->ctx.rate[k] = -1;
		for (k = 0; k < RULES_MAX_CONTENT; k++)
			c->ctx.repeat[k] = c->ctx.campaign[k] = -1;
		context_reads(b, (uint32_t)i, hist, nhist);
		context_rates(b, (uint32_t)i, &num);
	}
	if (texts_wanted(b->rules))
		texts_send(b);
	if (!b->failed && commit_take(b) == 0) {
		b->beside = 1;
		commit_watch(b);
	}
}

/*
 * Take in one context reply (it dies on return); when the last is in,
 * pipeline_step() chooses what happens next.  A key of the wrong type
 * reads as empty; any other error (LOADING, BUSY, OOM...) or a lost
 * connection retries the batch.
 */
void
context_cb(void *r, void *arg)
{
	struct req *q = arg;
	struct batch *b = q->b;
	struct comment *c = &b->c[q->ci];
	redisReply *reply = r;

	b->pending--;
	if (reply == NULL)
		b->failed = 1;
	else if (reply->type == REDIS_REPLY_ERROR) {
		if (strncmp(reply->str, "WRONGTYPE", 9) != 0) {
			if (!b->failed)
				log_warnx("batch of %zu from %s: context: %s",
				    b->n, b->c[0].sid, reply->str);
			b->failed = 1;
		} else if (q->kind == Q_RATE)
			log_warnx("comment %s (%s): a rate window key holds "
			          "something else; not counted",
			    c->id, c->sid);
	} else
		context_copy(c, q, reply);
	if (b->pending == 0)
		pipeline_step(b);
}

/* Copy one context reply into the comment's context. */
static void
context_copy(struct comment *c, const struct req *q, const redisReply *r)
{
	static const char *const trust[] = {"", "trusted", "premod", "banned"};
	static const char *const mode[] = {"", "premod", "closed"};
	const redisReply *e;
	size_t i;
	int j;

	switch (q->kind) {
	case Q_AUTHOR:
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
			return;
		e = r->element[0];
		for (j = 1; j < 4 && e->type == REDIS_REPLY_STRING; j++)
			if (strcmp(e->str, trust[j]) == 0)
				c->ctx.trust = (enum rules_trust)j;
		e = r->element[1];
		if (e->type == REDIS_REPLY_STRING)
			c->ctx.approved = strtoll(e->str, NULL, 10);
		break;
	case Q_HIST:
		for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
		     i++) {
			e = r->element[i];
			if (e->type != REDIS_REPLY_STRING)
				continue;
			if (i % 2 == 0)
				c->ctx.recent_decided +=
				    strtoll(e->str, NULL, 10);
			else
				c->ctx.recent_rejected +=
				    strtoll(e->str, NULL, 10);
		}
		break;
	case Q_THREAD:
		for (j = 1; j < 3 && r->type == REDIS_REPLY_STRING; j++)
			if (strcmp(r->str, mode[j]) == 0)
				c->ctx.mode = (enum rules_mode)j;
		break;
	case Q_RATE:
		if (r->type == REDIS_REPLY_INTEGER)
			c->ctx.rate[q->rule] = r->integer;
		break;
	default:
		break;
	}
}
