/*
 * pipeline.c -- owns struct batch and struct comment: the state machine that
 * takes a batch of stream entries from intake to an atomic decision.  The
 * unit is the batch, so each batch costs three rounds of Redis whatever its
 * size:
 *
 *   B_NEW      keyword matching of every comment (pure C, no I/O)
 *   B_CONTEXT  plain pipelined commands: author trust, thread mode,
 *              reputation, rate windows (recorded once per stream entry)
 *   B_DECIDE   rules_decide() for every comment (pure C)
 *   B_WRITE    WATCH every comment hash and read it, on a write
 *              connection of its own (a batch waits here until one is
 *              free; when one is free at B_CONTEXT, this round goes
 *              along with the context and B_WRITE goes straight on)
 *   B_COMMIT   MULTI ... EXEC: hashes, decisions stream, held set,
 *              counters, stats and XACK of every new decision, atomic;
 *              FCALL modq_decide for dead letters, replaced records and
 *              anything the transaction could not decide
 *   B_DONE     log, free, re-arm intake
 *   B_TEMPFAIL Redis failed or timed out: retry while Redis is up, else
 *              drop the batch; its entries stay pending and are re-read
 *
 * Only pipeline_step() changes b->state.  Reply callbacks store what they
 * need and call pipeline_step().
 */
#include <sys/queue.h>
#include <sys/time.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define PIPELINE_RETRY_MIN 100 /* ms */
#define PIPELINE_RETRY_MAX 5000
#define PIPELINE_NUM 24 /* bytes for one formatted number */
#define PIPELINE_REFRESH_SLOTS 65536 /* rate keys remembered */
#define PIPELINE_TX_MAX 256 /* most comments in one transaction */
#define PIPELINE_DEAD_KEEP 4096 /* bytes a dead letter keeps of a field */

enum batch_state {
	B_NEW = 0,
	B_CONTEXT,
	B_DECIDE,
	B_WRITE,
	B_COMMIT,
	B_DONE,
	B_TEMPFAIL
};

struct comment {
	char *sid; /* owned: stream entry id */
	long long ts; /* ms, from the stream id */
	char **fv; /* owned (one block with the strings): fields, values */
	size_t *fvlen; /* owned */
	size_t nfv;
	const char *id; /* borrowed from fv, "" if absent */
	const char *body;
	size_t bodylen;
	const char *author;
	const char *ip; /* the canonical address (ipbuf) if it is one */
	const char *thread;
	char ipbuf[ENTRY_IP_MAX];
	size_t *olen; /* owned: sizes before modq_read cut them, or NULL */
	size_t ntotal; /* strings the entry had, cut ones included */
	char *error; /* owned: why it is dead-lettered, or NULL */
	char *keys; /* owned: the Redis keys below, built once */
	const char *ckey; /* borrowed from keys: <prefix>:c:<id> */
	const char *akey; /* <prefix>:author:<author> or "" */
	const char *tkey; /* <prefix>:thread:<thread> or "" */
	const char *hkey; /* <prefix>:rate:@hist:<author> or "" */
	const char *rkey[RULES_MAX_RATES]; /* <prefix>:rate:<rule>:<v> or "" */
	char *stats; /* owned: "rule:<name>" strings, NUL-separated */
	size_t nstats;
	struct rules_match match;
	struct rules_ctx ctx;
	struct rules_decision d;
	int written; /* 1 written, 0 decided before, 2 superseded */
	uint8_t old; /* W_NEW...: what its record was at WATCH */
};

/* What a comment's record was when the write round read it. */
#define W_NEW 0 /* none: the transaction writes it */
#define W_SAME 1 /* decided by this stream entry before: only XACK */
#define W_NEWER 2 /* decided by a newer entry: superseded, only XACK */
#define W_LUA 3 /* anything else: modq_decide replaces it */

/* What a context reply is for. */
#define CTX_AUTHOR 0 /* HMGET author trust approved */
#define CTX_HIST 1 /* HMGET history day fields */
#define CTX_THREAD 2 /* HGET thread mode */
#define CTX_RATE 3 /* ZCOUNT of rate rule `rule` */
#define CTX_IGNORE 4 /* ZADD, trim, expire: only errors matter */
#define W_TIME 5 /* TIME, in the write round */
#define W_RECORD 6 /* HMGET status author stream_id, in the write round */
#define W_CHECK 7 /* XLEN decisions, ZCARD held: of the right type? */
#define W_WATCH 8 /* WATCH of the batch's comment hashes */

struct batch;

/* One context command in flight: privdata of its reply. */
struct ctxreq {
	struct batch *b;
	uint32_t ci; /* comment index */
	uint8_t kind;
	uint8_t rule;
};

struct batch {
	TAILQ_ENTRY(batch) entry;
	enum batch_state state;
	int pending; /* replies awaited */
	struct ruleset *rules; /* one reference */
	struct comment *c; /* owned */
	size_t n;
	size_t cap;
	size_t njudge; /* comments without an error */
	char *nums; /* owned: formatted numbers of the current call */
	struct ctxreq *reqs; /* owned: context commands in flight */
	size_t nreqs;
	struct ctxreq *wreqs; /* owned: the write round's reads in flight */
	size_t nwreqs;
	int w_ready; /* the write round's reads are in: commit at B_WRITE */
	int wconn; /* the write connection it holds, or -1 */
	int ctx_failed; /* a context reply was missing or an error */
	int w_failed; /* a write reply was missing or an error */
	int w_lua; /* a shared key has the wrong type: all to modq_decide */
	long long now_ms; /* the decision time, from Redis TIME */
	struct {
		char *stream, *held, *decisions, *stats, *dead; /* in buf */
		char *buf; /* owned */
	} keys;
	struct event *retry;
	long retry_ms;
	struct timeval started;
};

TAILQ_HEAD(batch_list, batch);

/* The numbers a transaction writes, formatted once per batch. */
struct txstr {
	char now[PIPELINE_NUM]; /* decision time, ms */
	char ttl[PIPELINE_NUM]; /* decisions.ttl_days in seconds */
	char maxlen[PIPELINE_NUM];
	const char *day[4]; /* history fields: today n, r; oldest n, r */
	char dbuf[4][PIPELINE_NUM];
	char hist_ttl[PIPELINE_NUM];
};

/* A stats field counted for a transaction. */
struct pipeline_stat {
	const char *f; /* borrowed */
	size_t n;
};

static struct {
	struct batch_list batches;
	struct batch *tx[REDIS_NWRITE]; /* per write connection: the batch
	                                  between its WATCH and EXEC */
	size_t inflight; /* comments in live batches */
	unsigned long long processed;
	unsigned long long counts[3];
	unsigned long long dead;
	unsigned long long skipped;
} pl = {.batches = TAILQ_HEAD_INITIALIZER(pl.batches)};

static void pipeline_step(struct batch *);
static void pipeline_batch_keys(struct batch *);
static void pipeline_keys(struct batch *, struct comment *);
static void pipeline_fields(struct comment *);
static void pipeline_stat_names(struct comment *);
static size_t pipeline_dead_len(const struct comment *, size_t);
static char *pipeline_dead_note(const struct comment *);
static void pipeline_match(struct batch *);
static int pipeline_send_context(struct batch *);
static void pipeline_be64(char *, unsigned long long);
static void pipeline_ctx_send(
    struct batch *, struct redis_args *, uint32_t, uint8_t, uint8_t);
static void pipeline_ctx_reads(struct batch *, uint32_t, char **, size_t);
static int pipeline_refresh_due(const char *, const struct rules_rate *);
static void pipeline_ctx_rates(struct batch *, uint32_t, char **);
static void pipeline_context_cb(void *, void *);
static void pipeline_copy_context(
    struct comment *, const struct ctxreq *, const redisReply *);
static void pipeline_decide(struct batch *);
static int pipeline_send_write(struct batch *);
static void pipeline_add_item(
    struct batch *, struct redis_args *, struct comment *, char *);
static void pipeline_record_fields(
    struct batch *, struct redis_args *, const struct comment *, const char *);
static long pipeline_hist_days(const struct batch *);
static int pipeline_send_lua(struct batch *, const uint32_t *, size_t);
static void pipeline_lua_cb(void *, void *);
static int pipeline_send_reads(struct batch *);
static int pipeline_send_dead(struct batch *);
static void pipeline_ignore_cb(void *, void *);
static int pipeline_tx_take(struct batch *);
static void pipeline_tx_release(struct batch *, int);
static int pipeline_sid_older(const char *, const char *);
static int pipeline_ckey_cmp(const void *, const void *);
static void pipeline_mark_twins(struct batch *);
static void pipeline_stat_add(struct pipeline_stat **, size_t *, const char *);
static void pipeline_queue(struct batch *, struct redis_args *);
static void pipeline_queuel(struct batch *, const char *, ...)
    __attribute__((sentinel));
static void pipeline_stat_queue(struct batch *, const char *, size_t);
static void pipeline_queue_decision(
    struct batch *, struct comment *, const struct txstr *);
static void pipeline_queue_history(
    struct batch *, const struct comment *, const struct txstr *);
static void pipeline_tx_strings(const struct batch *, struct txstr *);
static int pipeline_in_tx(const struct comment *);
static void pipeline_send_tx(struct batch *);
static void pipeline_commit(struct batch *);
static void pipeline_exec_cb(void *, void *);
static void pipeline_commit_step(struct batch *);
static void pipeline_classify(struct comment *, redisReply **);
static int pipeline_watch_reply(
    struct batch *, const struct ctxreq *, redisReply *);
static void pipeline_watch_cb(void *, void *);
static void pipeline_done(struct batch *);
static void pipeline_tempfail(struct batch *);
static void pipeline_retry_cb(evutil_socket_t, short, void *);
static void pipeline_touch(struct batch *);
static void pipeline_free(struct batch *);
static void pipeline_comment_free(struct comment *);
static int pipeline_error_reply(
    struct batch *, const redisReply *, const char *);

/* Build the batch's shared keys: stream, held set, decisions, stats, dead. */
static void
pipeline_batch_keys(struct batch *b)
{
	const struct conf *conf = server_conf();
	size_t n = 5 * strlen(conf->prefix) + strlen(conf->stream) + 48;
	char *p;

	p = b->keys.buf = xmalloc(n);
	b->keys.stream = p;
	p += sprintf(p, "%s:%s", conf->prefix, conf->stream) + 1;
	b->keys.held = p;
	p += sprintf(p, "%s:held", conf->prefix) + 1;
	b->keys.decisions = p;
	p += sprintf(p, "%s:decisions", conf->prefix) + 1;
	b->keys.stats = p;
	p += sprintf(p, "%s:stats", conf->prefix) + 1;
	b->keys.dead = p;
	sprintf(p, "%s:dead", conf->prefix);
}

/* Create an empty batch judged by rules (a reference is taken). */
struct batch *
pipeline_batch_new(struct ruleset *rules, size_t cap)
{
	struct batch *b;

	b = xcalloc(1, sizeof *b);
	b->rules = rules_ref(rules);
	b->cap = cap > 0 ? cap : 1;
	b->c = xcalloc(b->cap, sizeof *b->c);
	b->retry_ms = PIPELINE_RETRY_MIN;
	b->wconn = -1;
	gettimeofday(&b->started, NULL);
	pipeline_batch_keys(b);
	return (b);
}

/*
 * Copy one stream entry into the batch: its stream id and its nfv field and
 * value strings fv (the reply they come from dies on return).  olen, when
 * not NULL, gives the sizes the strings had before modq_read cut them, and
 * ntotal how many strings the entry had in all.  Mark it a dead letter
 * afterwards with pipeline_reject_last().
 */
void
pipeline_add(struct batch *b, const char *sid, size_t sidlen, char **fv,
    size_t *fvlen, size_t nfv, const size_t *olen, size_t ntotal)
{
	struct comment *c;
	size_t i, total = 0;
	char *p;

	if (b->n == b->cap) {
		b->cap *= 2;
		b->c = xreallocarray(b->c, b->cap, sizeof *b->c);
		memset(b->c + b->n, 0, (b->cap - b->n) * sizeof *b->c);
	}
	c = &b->c[b->n++];
	c->sid = xstrndup(sid, sidlen);
	c->ts = strtoll(c->sid, NULL, 10);
	for (i = 0; i < nfv; i++)
		total += fvlen[i] + 1;
	c->fv = xcalloc(nfv + 1, sizeof *c->fv);
	c->fvlen = xcalloc(nfv + 1, sizeof *c->fvlen);
	p = xmalloc(total + 1);
	for (i = 0; i < nfv; i++) {
		memcpy(p, fv[i], fvlen[i]);
		p[fvlen[i]] = '\0';
		c->fv[i] = p;
		c->fvlen[i] = fvlen[i];
		p += fvlen[i] + 1;
	}
	if (nfv == 0)
		c->fv[0] = p;
	c->nfv = nfv;
	c->ntotal = ntotal > nfv ? ntotal : nfv;
	if (olen != NULL) {
		c->olen = xcalloc(nfv + 1, sizeof *c->olen);
		memcpy(c->olen, olen, nfv * sizeof *olen);
	}
	pipeline_fields(c);
}

/* Point the comment at its known fields; the ip in canonical form. */
static void
pipeline_fields(struct comment *c)
{
	size_t i;

	c->id = c->author = c->ip = c->thread = c->body = "";
	for (i = 0; i + 1 < c->nfv; i += 2) {
		if (strcmp(c->fv[i], "id") == 0)
			c->id = c->fv[i + 1];
		else if (strcmp(c->fv[i], "body") == 0) {
			c->body = c->fv[i + 1];
			c->bodylen = c->fvlen[i + 1];
		} else if (strcmp(c->fv[i], "author") == 0)
			c->author = c->fv[i + 1];
		else if (strcmp(c->fv[i], "ip") == 0) {
			c->ip = c->fv[i + 1];
			if (entry_ip_canon(c->ip, c->fvlen[i + 1], c->ipbuf,
			        sizeof c->ipbuf) == 0)
				c->ip = c->ipbuf;
		} else if (strcmp(c->fv[i], "thread") == 0)
			c->thread = c->fv[i + 1];
	}
}

/* Mark the last added comment as a dead letter with its reason. */
void
pipeline_reject_last(struct batch *b, char *error)
{
	b->c[b->n - 1].error = error;
}

/* Start a filled batch on its way. */
void
pipeline_start(struct batch *b)
{
	struct batch *rest;
	size_t i;

	/*
	 * Redis 7.0's WATCH takes time that grows with the square of the keys
	 * a connection watches (71 ms of Redis for 4,096): a large read goes
	 * on as several batches of at most PIPELINE_TX_MAX comments.
	 */
	if (b->n > PIPELINE_TX_MAX) {
		rest = pipeline_batch_new(b->rules, b->n - PIPELINE_TX_MAX);
		memcpy(rest->c, b->c + PIPELINE_TX_MAX,
		    (b->n - PIPELINE_TX_MAX) * sizeof *b->c);
		rest->n = b->n - PIPELINE_TX_MAX;
		b->n = PIPELINE_TX_MAX;
		pipeline_start(b);
		pipeline_start(rest);
		return;
	}
	for (i = 0; i < b->n; i++)
		b->njudge += b->c[i].error == NULL;
	TAILQ_INSERT_TAIL(&pl.batches, b, entry);
	pl.inflight += b->n;
	b->state = B_NEW;
	pipeline_step(b);
}

/* Count the comments in flight (the intake's back-pressure). */
size_t
pipeline_inflight(void)
{
	return (pl.inflight);
}

/* Give the running totals: processed and per-verdict counts. */
void
pipeline_counts(unsigned long long *processed, unsigned long long *approved,
    unsigned long long *held, unsigned long long *rejected,
    unsigned long long *dead)
{
	*processed = pl.processed;
	*approved = pl.counts[RULES_APPROVE];
	*held = pl.counts[RULES_HOLD];
	*rejected = pl.counts[RULES_REJECT];
	*dead = pl.dead;
}

/* Run the state machine as far as it goes without waiting for Redis. */
static void
pipeline_step(struct batch *b)
{
	for (;;) {
		switch (b->state) {
		case B_NEW:
			pipeline_match(b);
			b->state = b->njudge > 0 ? B_CONTEXT : B_WRITE;
			break;
		case B_CONTEXT:
			switch (pipeline_send_context(b)) {
			case -1:
				b->state = B_TEMPFAIL;
				break;
			case 1: /* nothing to ask Redis */
				b->state = B_DECIDE;
				break;
			default:
				return;
			}
			break;
		case B_DECIDE:
			pipeline_decide(b);
			b->state = B_WRITE;
			break;
		case B_WRITE:
			if (pipeline_send_write(b) == -1) {
				b->state = B_TEMPFAIL;
				break;
			}
			return;
		case B_COMMIT:
			return;
		case B_DONE:
			pipeline_done(b);
			return;
		case B_TEMPFAIL:
			pipeline_tempfail(b);
			return;
		}
	}
}

/*
 * Build a comment's Redis keys once, in one allocation: Lua string building
 * costs Redis CPU, C string building does not.
 */
static void
pipeline_keys(struct batch *b, struct comment *c)
{
	const struct conf *conf = server_conf();
	const char *pre = conf->prefix, *v;
	const struct rules_rate *r;
	size_t k, nr = rules_nrates(b->rules), cap, len = 0;
	const char *vals[3];
	char *p;

	vals[RULES_PER_AUTHOR] = c->author;
	vals[RULES_PER_IP] = c->ip;
	vals[RULES_PER_THREAD] = c->thread;
	cap = 4 * (strlen(pre) + 16) + strlen(c->id) + 3 * strlen(c->author) +
	    strlen(c->thread) + 1;
	for (k = 0; k < nr; k++) {
		r = rules_rate(b->rules, k);
		cap +=
		    strlen(pre) + strlen(r->name) + 16 + strlen(vals[r->per]);
	}
	p = c->keys = xmalloc(cap);
#define KEY(dst, ...) \
	do { \
		dst = p + len; \
		len += (size_t)snprintf(p + len, cap - len, __VA_ARGS__) + 1; \
	} while (0)
	KEY(c->ckey, "%s:c:%s", pre, c->id);
	if (*c->author != '\0')
		KEY(c->akey, "%s:author:%s", pre, c->author);
	else
		KEY(c->akey, "%s", "");
	if (*c->thread != '\0')
		KEY(c->tkey, "%s:thread:%s", pre, c->thread);
	else
		KEY(c->tkey, "%s", "");
	if (*c->author != '\0' && rules_authors(b->rules)->hold_if_rejected)
		KEY(c->hkey, "%s:rate:@hist:%s", pre, c->author);
	else
		KEY(c->hkey, "%s", "");
	for (k = 0; k < nr; k++) {
		r = rules_rate(b->rules, k);
		v = vals[r->per];
		if (*v != '\0')
			KEY(c->rkey[k], "%s:rate:%s:%s", pre, r->name, v);
		else
			KEY(c->rkey[k], "%s", "");
	}
#undef KEY
}

/*
 * Turn the decision's reasons into the stats fields "rule:<name>", then the
 * status: each name of n bytes takes n + 6 ("rule:" and a NUL), so the
 * buffer is sized from the names, not from the reasons string.
 */
static void
pipeline_stat_names(struct comment *c)
{
	const char *p = c->d.reasons, *sp;
	const char *status = rules_status_name(c->d.verdict);
	size_t len = 0, n, size = strlen(status) + 1;

	for (p = c->d.reasons; *p != '\0'; p += n) {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		size += n > 0 ? n + sizeof "rule:" : 0;
	}
	free(c->stats);
	c->stats = xmalloc(size);
	c->nstats = 0;
	for (p = c->d.reasons; *p != '\0'; p += n) {
		while (*p == ' ')
			p++;
		if ((n = strcspn(p, " ")) == 0)
			continue;
		sp = p;
		len += (size_t)snprintf(c->stats + len, size - len, "rule:%.*s",
		           (int)n, sp) +
		    1;
		c->nstats++;
	}
	memcpy(c->stats + len, status, strlen(status) + 1);
	c->nstats++;
}

/* Match every judgeable comment's body against the keyword rules. */
static void
pipeline_match(struct batch *b)
{
	struct comment *c;
	char *esc;
	size_t i;

	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		if (c->keys == NULL)
			pipeline_keys(b, c);
		rules_match_free(&c->match);
		if (rules_match_text(
		        b->rules, c->body, c->bodylen, &c->match) == -1) {
			/* the engine failed on this text: a person must look */
			c->match.verdict = RULES_HOLD;
			free(c->match.reasons);
			c->match.reasons = xstrdup("matcher-error");
			log_warnx("comment %s (%s): keyword matcher failed, "
			          "holding it",
			    c->id, c->sid);
		}
		if (log_getverbose()) {
			esc = log_escape(c->body, c->bodylen, 200);
			log_debug(
			    "comment %s (%s): body \"%s\"", c->id, c->sid, esc);
			free(esc);
		}
	}
}

/* Write v as 8 bytes, big-endian, so records compare as bytes. */
static void
pipeline_be64(char *p, unsigned long long v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

/* Send one context command; its reply goes to pipeline_context_cb(). */
static void
pipeline_ctx_send(struct batch *b, struct redis_args *a, uint32_t ci,
    uint8_t kind, uint8_t rule)
{
	struct ctxreq *q;
	int rc;

	q = kind >= W_TIME ? &b->wreqs[b->nwreqs] : &b->reqs[b->nreqs];
	q->b = b;
	q->ci = ci;
	q->kind = kind;
	q->rule = rule;
	if (kind >= W_TIME) {
		rc = redis_write(b->wconn, a, pipeline_watch_cb, q);
		b->nwreqs += rc == 0;
	} else {
		rc = redis_cmd(a, pipeline_context_cb, q);
		b->nreqs += rc == 0;
	}
	if (rc == 0)
		b->pending++;
	else
		b->ctx_failed = 1;
	redis_args_free(a);
}

/* Queue the reads of one comment's author, history and thread. */
static void
pipeline_ctx_reads(struct batch *b, uint32_t ci, char **hist, size_t nhist)
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
		pipeline_ctx_send(b, &a, ci, CTX_AUTHOR, 0);
	}
	if (*c->hkey != '\0' && nhist > 0) {
		redis_args_init(&a);
		redis_args_adds(&a, "HMGET");
		redis_args_adds(&a, c->hkey);
		for (f = 0; f < nhist; f++)
			redis_args_adds(&a, hist[f]);
		pipeline_ctx_send(b, &a, ci, CTX_HIST, 0);
	}
	if (*c->tkey != '\0') {
		redis_args_init(&a);
		redis_args_adds(&a, "HGET");
		redis_args_adds(&a, c->tkey);
		redis_args_adds(&a, "mode");
		pipeline_ctx_send(b, &a, ci, CTX_THREAD, 0);
	}
}

/*
 * Tell whether a rate window key is due for trimming and a new TTL: not if
 * this daemon did both less than rate_refresh_ms() ago.  The memory is a
 * direct-mapped table of key hashes, forgotten at every reconnect; a
 * collision only costs an early refresh.
 */
static int
pipeline_refresh_due(const char *key, const struct rules_rate *r)
{
	static struct {
		uint64_t h;
		long long at;
	} slot[PIPELINE_REFRESH_SLOTS];
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
	i = (size_t)(h % PIPELINE_REFRESH_SLOTS);
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
pipeline_ctx_rates(struct batch *b, uint32_t ci, char **num)
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
	pipeline_be64(rec, (unsigned long long)c->ts);
	pipeline_be64(rec + 8, seq << 32);
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
		pipeline_ctx_send(b, &a, ci, CTX_IGNORE, 0);
		redis_args_init(&a);
		redis_args_adds(&a, "ZCOUNT");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, lo);
		redis_args_adds(&a, ts);
		pipeline_ctx_send(b, &a, ci, CTX_RATE, (uint8_t)k);
		if (!pipeline_refresh_due(c->rkey[k], r))
			continue;
		redis_args_init(&a);
		redis_args_adds(&a, "ZREMRANGEBYSCORE");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, "-inf");
		redis_args_adds(&a, lo);
		pipeline_ctx_send(b, &a, ci, CTX_IGNORE, 0);
		redis_args_init(&a);
		redis_args_adds(&a, "PEXPIRE");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_adds(&a, ttl);
		pipeline_ctx_send(b, &a, ci, CTX_IGNORE, 0);
	}
}

/*
 * Send the batch's context as plain pipelined commands (Redis runs them
 * several times cheaper than the same calls inside a Function; none of
 * them needs to be atomic with another): each comment's author trust and
 * approved count, reputation history, thread mode, and rate windows.
 * Returns 1 when there was nothing to ask, 0 when replies are awaited,
 * -1 when nothing could be sent.
 */
static int
pipeline_send_context(struct batch *b)
{
	const struct rules_authors *au = rules_authors(b->rules);
	size_t i, k, nr = rules_nrates(b->rules), nhist = 0;
	long days = au->hold_if_rejected ? au->rejected_days : 0;
	char *num, *hist[2 * 90];
	long long day = (long long)time(NULL) / 86400;
	struct comment *c;

	free(b->reqs);
	b->reqs = xcalloc(b->n * (3 + 4 * nr) + 1, sizeof *b->reqs);
	b->nreqs = 0;
	b->ctx_failed = 0;
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
		pipeline_ctx_reads(b, (uint32_t)i, hist, nhist);
		pipeline_ctx_rates(b, (uint32_t)i, &num);
	}
	/* a write connection is free: the write round's reads go along */
	b->w_ready = 0;
	if (!b->ctx_failed && pipeline_tx_take(b) == 0)
		pipeline_send_reads(b);
	if (b->pending > 0)
		return (0);
	pipeline_tx_release(b, 1);
	return (b->ctx_failed ? -1 : 1);
}

/* Log an error reply; a missing function library is loaded again. */
static int
pipeline_error_reply(struct batch *b, const redisReply *r, const char *what)
{
	if (r->type != REDIS_REPLY_ERROR)
		return (0);
	log_warnx(
	    "batch of %zu from %s: %s: %s", b->n, b->c[0].sid, what, r->str);
	if (strstr(r->str, "Function not found") != NULL ||
	    strstr(r->str, "NOSCRIPT") != NULL)
		redis_reload_functions();
	return (1);
}

/*
 * Take in one context reply (it dies on return); when the last is in,
 * pipeline_step() decides what happens next.  A key of the wrong type
 * reads as empty; any other error (LOADING, BUSY, OOM...) or a lost
 * connection retries the batch.
 */
static void
pipeline_context_cb(void *r, void *arg)
{
	struct ctxreq *q = arg;
	struct batch *b = q->b;
	struct comment *c = &b->c[q->ci];
	redisReply *reply = r;

	b->pending--;
	if (reply == NULL)
		b->ctx_failed = 1;
	else if (reply->type == REDIS_REPLY_ERROR) {
		if (strncmp(reply->str, "WRONGTYPE", 9) != 0) {
			if (!b->ctx_failed)
				log_warnx("batch of %zu from %s: context: %s",
				    b->n, b->c[0].sid, reply->str);
			b->ctx_failed = 1;
		} else if (q->kind == CTX_RATE)
			log_warnx("comment %s (%s): a rate window key holds "
			          "something else; not counted",
			    c->id, c->sid);
	} else
		pipeline_copy_context(c, q, reply);
	if (b->pending > 0)
		return;
	if (b->ctx_failed) {
		pipeline_tx_release(b, 1);
		b->w_ready = 0;
		b->state = B_TEMPFAIL;
	} else {
		b->w_ready = b->wconn >= 0;
		b->state = B_DECIDE;
	}
	pipeline_step(b);
}

/* Copy one context reply into the comment's context. */
static void
pipeline_copy_context(
    struct comment *c, const struct ctxreq *q, const redisReply *r)
{
	static const char *const trust[] = {"", "trusted", "premod", "banned"};
	static const char *const mode[] = {"", "premod", "closed"};
	const redisReply *e;
	size_t i;
	int j;

	switch (q->kind) {
	case CTX_AUTHOR:
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
	case CTX_HIST:
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
	case CTX_THREAD:
		for (j = 1; j < 3 && r->type == REDIS_REPLY_STRING; j++)
			if (strcmp(r->str, mode[j]) == 0)
				c->ctx.mode = (enum rules_mode)j;
		break;
	case CTX_RATE:
		if (r->type == REDIS_REPLY_INTEGER)
			c->ctx.rate[q->rule] = r->integer;
		break;
	default:
		break;
	}
}

/* Combine keyword matches and context into each comment's verdict. */
static void
pipeline_decide(struct batch *b)
{
	struct comment *c;
	size_t i;

	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		rules_decision_free(&c->d);
		rules_decide(b->rules, &c->match, &c->ctx, &c->d);
	}
}

/* Append one decision ('d') or dead letter ('x') to modq_decide. */
static void
pipeline_add_item(
    struct batch *b, struct redis_args *a, struct comment *c, char *num)
{
	const char *st;
	size_t i, n;

	if (c->error != NULL) {
		redis_args_adds(a, "x");
		redis_args_adds(a, c->sid);
		redis_args_adds(a, c->error);
		free(c->stats); /* unused by dead letters: holds the note */
		c->stats = pipeline_dead_note(c);
		redis_args_adds(a, c->stats);
		n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nfv / 2);
		redis_args_add(a, num, n);
		for (i = 0; i < c->nfv / 2 * 2; i++)
			redis_args_add(a, c->fv[i], pipeline_dead_len(c, i));
		return;
	}
	pipeline_stat_names(c);
	redis_args_adds(a, "d");
	redis_args_adds(a, c->sid);
	redis_args_adds(a, c->ckey);
	redis_args_adds(a, c->id);
	redis_args_adds(a, rules_status_name(c->d.verdict));
	redis_args_adds(a, c->d.reasons);
	redis_args_adds(a, c->akey);
	redis_args_adds(a, c->hkey);
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nstats);
	redis_args_add(a, num, n);
	for (i = 0, st = c->stats; i < c->nstats; i++, st += strlen(st) + 1)
		redis_args_adds(a, st);
	num += PIPELINE_NUM;
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nfv / 2 + 7);
	redis_args_add(a, num, n);
	pipeline_record_fields(b, a, c, "0"); /* decided_at set in Redis */
}

/*
 * How much of string i a dead letter keeps: at most PIPELINE_DEAD_KEEP
 * bytes, cut before a UTF-8 sequence rather than inside one.
 */
static size_t
pipeline_dead_len(const struct comment *c, size_t i)
{
	size_t n = c->fvlen[i];

	if (n <= PIPELINE_DEAD_KEEP)
		return (n);
	n = PIPELINE_DEAD_KEEP;
	while (n > PIPELINE_DEAD_KEEP - 4 &&
	    ((unsigned char)c->fv[i][n] & 0xc0) == 0x80)
		n--;
	return (n);
}

/*
 * Say what a dead letter does not keep: "" when it keeps the entry whole,
 * else which values were cut (with their sizes) and how many fields were
 * left out.  Names come from the stream: the note is data, never logged.
 */
static char *
pipeline_dead_note(const struct comment *c)
{
	char *note = xstrdup(""), *t;
	size_t i, size;

	for (i = 0; i < c->nfv / 2 * 2; i++) {
		size = c->olen != NULL ? c->olen[i] : c->fvlen[i];
		if (pipeline_dead_len(c, i) == size)
			continue;
		if (i % 2 == 0)
			xasprintf(&t, "%s%sa field name (%zu bytes)", note,
			    *note != '\0' ? ", " : "cut to 4096 bytes: ", size);
		else
			xasprintf(&t, "%s%s%.64s (%zu bytes)", note,
			    *note != '\0' ? ", " : "cut to 4096 bytes: ",
			    c->fv[i - 1], size);
		free(note);
		note = t;
	}
	if (c->ntotal > c->nfv) {
		xasprintf(&t, "%s%skept %zu of %zu fields", note,
		    *note != '\0' ? "; " : "", c->nfv / 2, c->ntotal / 2);
		free(note);
		note = t;
	}
	return (note);
}

/*
 * Append the fields and values of a comment's record: its own fields, the
 * decision, and last decided_at.
 */
static void
pipeline_record_fields(struct batch *b, struct redis_args *a,
    const struct comment *c, const char *decided_at)
{
	size_t i;

	for (i = 0; i < c->nfv; i++)
		redis_args_add(a, c->fv[i], c->fvlen[i]);
	redis_args_adds(a, "status");
	redis_args_adds(a, rules_status_name(c->d.verdict));
	redis_args_adds(a, "reasons");
	redis_args_adds(a, c->d.reasons);
	redis_args_adds(a, "matched");
	redis_args_adds(a, c->match.matched);
	redis_args_adds(a, "decided_by");
	redis_args_adds(a, "modqd");
	redis_args_adds(a, "ruleset");
	redis_args_adds(a, rules_stamp(b->rules));
	redis_args_adds(a, "stream_id");
	redis_args_adds(a, c->sid);
	redis_args_adds(a, "decided_at");
	redis_args_adds(a, decided_at);
}

/* Say how many days of reputation history the rules keep (0: none). */
static long
pipeline_hist_days(const struct batch *b)
{
	const struct rules_authors *au = rules_authors(b->rules);

	return (au->hold_if_rejected ? au->rejected_days : 0L);
}

/* One FCALL modq_decide in flight: which comments it carries. */
struct luacall {
	struct batch *b;
	size_t n;
	uint32_t ci[]; /* comment indices, in item order */
};

/*
 * Send FCALL modq_decide for the n comments ci (decisions and dead letters
 * alike): the general path, which decides in Redis how to replace an older
 * record, and which writes a dead letter only if its XACK acknowledged
 * something.
 */
static int
pipeline_send_lua(struct batch *b, const uint32_t *ci, size_t n)
{
	const struct conf *conf = server_conf();
	struct luacall *lc;
	struct redis_args a;
	char *nums, *p;
	size_t i;
	int rc;

	lc = xmalloc(sizeof *lc + n * sizeof *lc->ci);
	lc->b = b;
	lc->n = n;
	memcpy(lc->ci, ci, n * sizeof *ci);
	p = nums = xmalloc((2 * n + 1) * PIPELINE_NUM);
	redis_args_init(&a);
	redis_args_adds(&a, "FCALL");
	redis_args_adds(&a, "modq_decide");
	redis_args_adds(&a, "0");
	redis_args_adds(&a, b->keys.stream);
	redis_args_adds(&a, conf->group);
	redis_args_addf(&a, "%ld", conf->ttl_days * 86400);
	redis_args_addf(&a, "%ld", conf->maxlen);
	redis_args_addf(&a, "%ld", pipeline_hist_days(b));
	redis_args_adds(&a, b->keys.held);
	redis_args_adds(&a, b->keys.decisions);
	redis_args_adds(&a, b->keys.stats);
	redis_args_adds(&a, b->keys.dead);
	for (i = 0; i < n; i++, p += 2 * PIPELINE_NUM)
		pipeline_add_item(b, &a, &b->c[ci[i]], p);
	rc = redis_cmd(&a, pipeline_lua_cb, lc);
	redis_args_free(&a);
	free(nums);
	if (rc == 0)
		b->pending++;
	else
		free(lc);
	return (rc);
}

/* Record which items one modq_decide wrote. */
static void
pipeline_lua_cb(void *r, void *arg)
{
	struct luacall *lc = arg;
	struct batch *b = lc->b;
	redisReply *reply = r;
	size_t i;

	b->pending--;
	if (reply == NULL || pipeline_error_reply(b, reply, "modq_decide"))
		b->w_failed = 1;
	else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != lc->n) {
		log_warnx("batch of %zu from %s: unexpected modq_decide reply",
		    b->n, b->c[0].sid);
		b->w_failed = 1;
	} else {
		for (i = 0; i < lc->n; i++)
			b->c[lc->ci[i]].written =
			    reply->element[i]->type == REDIS_REPLY_INTEGER
			    ? (int)reply->element[i]->integer
			    : 0;
	}
	free(lc);
	pipeline_commit_step(b);
}

/*
 * The write phase.  Decisions go in MULTI/EXEC, plain commands that Redis
 * runs several times cheaper than a Function, guarded by WATCH on every
 * comment hash; the first round (pipeline_send_reads()) watches and reads
 * the hashes, unless it already ran beside the context.  A batch holds a
 * write connection of its own from its WATCH to its EXEC; when all are
 * taken it waits here for one.  Batches of dead letters only go straight
 * to modq_decide.  Returns 0 when replies are awaited or the batch waits
 * its turn, -1 when nothing could be sent.
 */
static int
pipeline_send_write(struct batch *b)
{
	b->w_failed = 0;
	if (b->njudge == 0)
		return (pipeline_send_dead(b));
	if (b->w_ready) {
		b->w_ready = 0;
		pipeline_commit(b);
		return (0);
	}
	if (b->wconn < 0 && pipeline_tx_take(b) == -1)
		return (0); /* pipeline_tx_release() starts it */
	b->ctx_failed = 0;
	return (pipeline_send_reads(b));
}

/*
 * The write phase's first round, on the batch's write connection: WATCH,
 * TIME, a type check of the shared keys (one of the wrong type would fail
 * the transaction half-way), and each comment hash's status, author and
 * stream id.  Returns 0 when replies are awaited, -1 when nothing could
 * be sent.
 */
static int
pipeline_send_reads(struct batch *b)
{
	struct redis_args a;
	size_t i;

	b->w_lua = 0;
	for (i = 0; i < b->n; i++)
		b->c[i].old = W_NEW;
	free(b->wreqs);
	b->wreqs = xcalloc(b->n + 4, sizeof *b->wreqs);
	b->nwreqs = 0;
	redis_args_init(&a);
	redis_args_adds(&a, "WATCH");
	for (i = 0; i < b->n; i++)
		if (b->c[i].error == NULL)
			redis_args_adds(&a, b->c[i].ckey);
	pipeline_ctx_send(b, &a, 0, W_WATCH, 0);
	redis_args_init(&a);
	redis_args_adds(&a, "TIME");
	pipeline_ctx_send(b, &a, 0, W_TIME, 0);
	redis_args_init(&a);
	redis_args_adds(&a, "XLEN");
	redis_args_adds(&a, b->keys.decisions);
	pipeline_ctx_send(b, &a, 0, W_CHECK, 0);
	redis_args_init(&a);
	redis_args_adds(&a, "ZCARD");
	redis_args_adds(&a, b->keys.held);
	pipeline_ctx_send(b, &a, 0, W_CHECK, 0);
	for (i = 0; i < b->n; i++) {
		if (b->c[i].error != NULL)
			continue;
		redis_args_init(&a);
		redis_args_adds(&a, "HMGET");
		redis_args_adds(&a, b->c[i].ckey);
		redis_args_adds(&a, "status");
		redis_args_adds(&a, "author");
		redis_args_adds(&a, "stream_id");
		pipeline_ctx_send(b, &a, (uint32_t)i, W_RECORD, 0);
	}
	if (b->ctx_failed && b->pending == 0) {
		pipeline_tx_release(b, 1);
		return (-1);
	}
	return (0);
}

/* Send a batch of dead letters only to modq_decide. */
static int
pipeline_send_dead(struct batch *b)
{
	uint32_t *all;
	size_t i;
	int rc;

	all = xcalloc(b->n, sizeof *all);
	for (i = 0; i < b->n; i++)
		all[i] = (uint32_t)i;
	rc = pipeline_send_lua(b, all, b->n);
	free(all);
	b->state = B_COMMIT;
	return (rc);
}

/* Ignore a reply (errors show up elsewhere). */
static void
pipeline_ignore_cb(void *r, void *arg)
{
	(void)r;
	(void)arg;
}

/*
 * Give b a write connection of its own for its WATCH ... EXEC, if one is
 * free; returns 0, or -1 if all are taken.
 */
static int
pipeline_tx_take(struct batch *b)
{
	int w;

	for (w = 0; w < REDIS_NWRITE; w++) {
		if (pl.tx[w] == NULL) {
			pl.tx[w] = b;
			b->wconn = w;
			return (0);
		}
	}
	return (-1);
}

/*
 * Give b's write connection to the next batch waiting for one, once b has
 * sent its EXEC or given up (then with UNWATCH, so that its keys don't
 * abort the next transaction there).
 */
static void
pipeline_tx_release(struct batch *b, int unwatch)
{
	struct redis_args a;
	struct batch *w;

	if (b->wconn < 0)
		return;
	if (unwatch && redis_up()) {
		redis_args_init(&a);
		redis_args_adds(&a, "UNWATCH");
		redis_write(b->wconn, &a, pipeline_ignore_cb, NULL);
		redis_args_free(&a);
	}
	pl.tx[b->wconn] = NULL;
	b->wconn = -1;
	TAILQ_FOREACH(w, &pl.batches, entry)
	{
		if (w != b && w->state == B_WRITE && w->wconn < 0) {
			pipeline_step(w);
			return;
		}
	}
}

/* Tell whether a stream id is older than another. */
static int
pipeline_sid_older(const char *a, const char *b)
{
	unsigned long long am, as, bm, bs;
	char *end;

	if (*a < '0' || *a > '9' || *b < '0' || *b > '9')
		return (0);
	am = strtoull(a, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return (0);
	as = strtoull(end + 1, &end, 10);
	if (*end != '\0')
		return (0);
	bm = strtoull(b, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return (0);
	bs = strtoull(end + 1, &end, 10);
	if (*end != '\0')
		return (0);
	return (am < bm || (am == bm && as < bs));
}

/* Sort comment indices by comment key. */
static const struct batch *pipeline_sort_batch;
static int
pipeline_ckey_cmp(const void *x, const void *y)
{
	const struct comment *c = pipeline_sort_batch->c;

	return (
	    strcmp(c[*(const uint32_t *)x].ckey, c[*(const uint32_t *)y].ckey));
}

/*
 * Route the comments whose id comes twice in the batch to modq_decide: the
 * second replaces the first's record, which only the Function does.
 */
static void
pipeline_mark_twins(struct batch *b)
{
	uint32_t *ix;
	size_t i, n = 0;

	ix = xcalloc(b->n, sizeof *ix);
	for (i = 0; i < b->n; i++)
		if (b->c[i].error == NULL)
			ix[n++] = (uint32_t)i;
	pipeline_sort_batch = b;
	qsort(ix, n, sizeof *ix, pipeline_ckey_cmp);
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(b->c[ix[i]].ckey, b->c[ix[i + 1]].ckey) == 0) {
			b->c[ix[i]].old = W_LUA;
			b->c[ix[i + 1]].old = W_LUA;
		}
	}
	free(ix);
}

/* Count one stats field for the transaction. */
static void
pipeline_stat_add(struct pipeline_stat **st, size_t *n, const char *f)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*st)[i].f, f) == 0) {
			(*st)[i].n++;
			return;
		}
	}
	*st = xreallocarray(*st, *n + 1, sizeof **st);
	(*st)[*n].f = f;
	(*st)[*n].n = 1;
	(*n)++;
}

/* Queue HINCRBY of a stats field inside MULTI, unless n is 0. */
static void
pipeline_stat_queue(struct batch *b, const char *f, size_t n)
{
	char cnt[PIPELINE_NUM];

	if (n == 0)
		return;
	snprintf(cnt, sizeof cnt, "%zu", n);
	pipeline_queuel(b, "HINCRBY", b->keys.stats, f, cnt, NULL);
}

/* Queue a command of the NULL-terminated arguments inside MULTI. */
static void
pipeline_queuel(struct batch *b, const char *arg, ...)
{
	struct redis_args a;
	va_list ap;

	redis_args_init(&a);
	va_start(ap, arg);
	for (; arg != NULL; arg = va_arg(ap, const char *))
		redis_args_adds(&a, arg);
	va_end(ap);
	pipeline_queue(b, &a);
}

/* Queue one command inside MULTI. */
static void
pipeline_queue(struct batch *b, struct redis_args *a)
{
	if (redis_write_noreply(b->wconn, a) == -1)
		b->w_failed = 1;
	redis_args_free(a);
}

/*
 * Queue what modq_decide would do for a comment without a record: the
 * hash (with the decision time), its TTL unless held, the decisions
 * stream, the held set, the author's counter and reputation history.
 */
static void
pipeline_queue_decision(
    struct batch *b, struct comment *c, const struct txstr *tx)
{
	const char *st = rules_status_name(c->d.verdict);
	struct redis_args a;

	redis_args_init(&a);
	redis_args_adds(&a, "HSET");
	redis_args_adds(&a, c->ckey);
	pipeline_record_fields(b, &a, c, tx->now);
	pipeline_queue(b, &a);
	if (c->d.verdict != RULES_HOLD)
		pipeline_queuel(b, "EXPIRE", c->ckey, tx->ttl, NULL);
	pipeline_queuel(b, "XADD", b->keys.decisions, "MAXLEN", "~", tx->maxlen,
	    "*", "id", c->id, "status", st, "reasons", c->d.reasons, "by",
	    "modqd", NULL);
	if (c->d.verdict == RULES_HOLD)
		pipeline_queuel(b, "ZADD", b->keys.held, tx->now, c->id, NULL);
	if (*c->akey != '\0')
		pipeline_queuel(b, "HINCRBY", c->akey, st, "1", NULL);
	if (*c->hkey != '\0' && tx->day[0] != NULL)
		pipeline_queue_history(b, c, tx);
}

/*
 * Queue a decision's count in its author's reputation history (by day,
 * the oldest day dropped), as history_add_key() in modq.lua does it.
 */
static void
pipeline_queue_history(
    struct batch *b, const struct comment *c, const struct txstr *tx)
{
	const char *const *day = tx->day;

	pipeline_queuel(b, "HINCRBY", c->hkey, day[0], "1", NULL);
	if (c->d.verdict == RULES_REJECT)
		pipeline_queuel(b, "HINCRBY", c->hkey, day[1], "1", NULL);
	pipeline_queuel(b, "HDEL", c->hkey, day[2], day[3], NULL);
	pipeline_queuel(b, "PEXPIRE", c->hkey, tx->hist_ttl, NULL);
}

/* Format the numbers a transaction writes, from the decision time. */
static void
pipeline_tx_strings(const struct batch *b, struct txstr *tx)
{
	const struct conf *conf = server_conf();
	long days = pipeline_hist_days(b);
	long long dn = b->now_ms / 86400000LL;
	size_t k;

	snprintf(tx->now, sizeof tx->now, "%lld", b->now_ms);
	snprintf(tx->ttl, sizeof tx->ttl, "%ld", conf->ttl_days * 86400);
	snprintf(tx->maxlen, sizeof tx->maxlen, "%ld", conf->maxlen);
	for (k = 0; k < 4; k++)
		tx->day[k] = NULL;
	if (days <= 0)
		return;
	snprintf(tx->dbuf[0], PIPELINE_NUM, "%lld:n", dn);
	snprintf(tx->dbuf[1], PIPELINE_NUM, "%lld:r", dn);
	snprintf(tx->dbuf[2], PIPELINE_NUM, "%lld:n", dn - days);
	snprintf(tx->dbuf[3], PIPELINE_NUM, "%lld:r", dn - days);
	for (k = 0; k < 4; k++)
		tx->day[k] = tx->dbuf[k];
	snprintf(tx->hist_ttl, sizeof tx->hist_ttl, "%lld",
	    (long long)(days + 1) * 86400000LL);
}

/* Tell whether a comment goes to the transaction, not to modq_decide. */
static int
pipeline_in_tx(const struct comment *c)
{
	return (c->error == NULL && c->old != W_LUA);
}

/*
 * Send the transaction: MULTI, the writes of every new decision, XACK of
 * every entry it settles (new, decided before, superseded), the stats,
 * EXEC.
 */
static void
pipeline_send_tx(struct batch *b)
{
	const struct conf *conf = server_conf();
	struct pipeline_stat *st = NULL;
	struct redis_args a;
	struct comment *c;
	struct txstr tx;
	const char *f;
	size_t i, k, nst = 0, nwrite = 0, nsuper = 0;

	pipeline_tx_strings(b, &tx);
	pipeline_queuel(b, "MULTI", NULL);
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (!pipeline_in_tx(c) || c->old == W_SAME)
			continue;
		if (c->old == W_NEWER) {
			nsuper++;
			continue;
		}
		pipeline_stat_names(c);
		for (k = 0, f = c->stats; k < c->nstats;
		     k++, f += strlen(f) + 1)
			pipeline_stat_add(&st, &nst, f);
		pipeline_queue_decision(b, c, &tx);
		nwrite++;
	}
	redis_args_init(&a);
	redis_args_adds(&a, "XACK");
	redis_args_adds(&a, b->keys.stream);
	redis_args_adds(&a, conf->group);
	for (i = 0; i < b->n; i++)
		if (pipeline_in_tx(&b->c[i]))
			redis_args_adds(&a, b->c[i].sid);
	pipeline_queue(b, &a);
	for (k = 0; k < nst; k++)
		pipeline_stat_queue(b, st[k].f, st[k].n);
	free(st);
	pipeline_stat_queue(b, "superseded", nsuper);
	pipeline_stat_queue(b, "processed", nwrite + nsuper);
	redis_args_init(&a);
	redis_args_adds(&a, "EXEC");
	if (redis_write(b->wconn, &a, pipeline_exec_cb, b) == 0)
		b->pending++;
	else
		b->w_failed = 1;
	redis_args_free(&a);
}

/*
 * The write phase, second round, once every record is read: classify each
 * comment (no record yet: the transaction writes it; its own stream id:
 * decided before, only acknowledged; a newer stream id: superseded; any
 * other record: modq_decide), then send the transaction, and modq_decide
 * for the rest and the dead letters.
 */
static void
pipeline_commit(struct batch *b)
{
	uint32_t *lua;
	size_t i, nlua = 0;

	pipeline_mark_twins(b);
	for (i = 0; i < b->n && b->w_lua; i++)
		b->c[i].old = W_LUA;
	lua = xcalloc(b->n, sizeof *lua);
	for (i = 0; i < b->n; i++)
		if (!pipeline_in_tx(&b->c[i]))
			lua[nlua++] = (uint32_t)i;
	if (nlua < b->n)
		pipeline_send_tx(b);
	if (nlua > 0 && pipeline_send_lua(b, lua, nlua) == -1)
		b->w_failed = 1;
	b->state = B_COMMIT;
	pipeline_tx_release(b, nlua == b->n); /* EXEC ended the WATCH */
	free(lua);
	pipeline_commit_step(b);
}

/* Take in the EXEC reply. */
static void
pipeline_exec_cb(void *r, void *arg)
{
	struct batch *b = arg;
	redisReply *reply = r;
	struct comment *c;
	uint32_t *ix;
	size_t i, n = 0;

	b->pending--;
	if (reply == NULL || pipeline_error_reply(b, reply, "EXEC"))
		b->w_failed = 1;
	else if (reply->type == REDIS_REPLY_NIL) {
		/* a comment hash changed after WATCH: nothing was written */
		log_info("batch of %zu from %s: a comment changed during the "
		         "transaction; deciding it with modq_decide",
		    b->n, b->c[0].sid);
		ix = xcalloc(b->n, sizeof *ix);
		for (i = 0; i < b->n; i++)
			if (pipeline_in_tx(&b->c[i]))
				ix[n++] = (uint32_t)i;
		if (pipeline_send_lua(b, ix, n) == -1)
			b->w_failed = 1;
		free(ix);
	} else if (reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("batch of %zu from %s: unexpected EXEC reply", b->n,
		    b->c[0].sid);
		b->w_failed = 1;
	} else {
		for (i = 0; i < reply->elements; i++) {
			if (reply->element[i]->type == REDIS_REPLY_ERROR) {
				log_warnx("batch of %zu from %s: in the "
				          "transaction: %s",
				    b->n, b->c[0].sid, reply->element[i]->str);
				break;
			}
		}
		for (i = 0; i < b->n; i++) {
			c = &b->c[i];
			if (pipeline_in_tx(c))
				c->written = c->old == W_SAME ? 0
				    : c->old == W_NEWER       ? 2
				                              : 1;
		}
	}
	pipeline_commit_step(b);
}

/* Once every write reply is in, finish the batch or retry it. */
static void
pipeline_commit_step(struct batch *b)
{
	if (b->pending > 0)
		return;
	b->state = b->w_failed ? B_TEMPFAIL : B_DONE;
	pipeline_step(b);
}

/* Classify a comment by its record: status, author, stream id. */
static void
pipeline_classify(struct comment *c, redisReply **e)
{
	if (e[0]->type == REDIS_REPLY_NIL && e[1]->type == REDIS_REPLY_NIL &&
	    e[2]->type == REDIS_REPLY_NIL)
		return; /* no record: c->old stays W_NEW */
	if (e[2]->type != REDIS_REPLY_STRING)
		c->old = W_LUA;
	else if (strcmp(e[2]->str, c->sid) == 0)
		c->old = W_SAME;
	else if (pipeline_sid_older(c->sid, e[2]->str))
		c->old = W_NEWER;
	else
		c->old = W_LUA;
}

/*
 * Take in one reply of the first write round (the server time, a shared
 * key's type check, or a comment's record); returns 0, or -1 if the
 * round failed.
 */
static int
pipeline_watch_reply(struct batch *b, const struct ctxreq *q, redisReply *r)
{
	int wrongtype;

	if (r == NULL)
		return (-1);
	if (r->type == REDIS_REPLY_ERROR) {
		wrongtype = strncmp(r->str, "WRONGTYPE", 9) == 0;
		if (wrongtype && q->kind == W_RECORD)
			b->c[q->ci].old =
			    W_LUA; /* modq_decide dead-letters it */
		else if (wrongtype && q->kind == W_CHECK)
			b->w_lua = 1; /* modq_decide fails and retries */
		else {
			if (!b->ctx_failed)
				log_warnx("batch of %zu from %s: reading the "
				          "records: %s",
				    b->n, b->c[0].sid, r->str);
			return (-1);
		}
		return (0);
	}
	if (q->kind == W_CHECK)
		return (r->type == REDIS_REPLY_INTEGER ? 0 : -1);
	if (q->kind == W_WATCH)
		return (r->type == REDIS_REPLY_STATUS ? 0 : -1);
	if (r->type != REDIS_REPLY_ARRAY ||
	    r->elements != (q->kind == W_TIME ? 2 : 3))
		return (-1);
	if (q->kind == W_RECORD) {
		pipeline_classify(&b->c[q->ci], r->element);
		return (0);
	}
	if (r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING)
		return (-1);
	b->now_ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
	    strtoll(r->element[1]->str, NULL, 10) / 1000;
	return (0);
}

/* A reply of the first write round; the last one sends the second. */
static void
pipeline_watch_cb(void *r, void *arg)
{
	struct ctxreq *q = arg;
	struct batch *b = q->b;

	b->pending--;
	if (pipeline_watch_reply(b, q, r) == -1)
		b->ctx_failed = 1;
	if (b->pending > 0)
		return;
	if (b->ctx_failed) {
		pipeline_tx_release(b, 1);
		b->state = B_TEMPFAIL;
		pipeline_step(b);
	} else if (b->state == B_CONTEXT) {
		b->w_ready = 1; /* ran beside the context */
		b->state = B_DECIDE;
		pipeline_step(b);
	} else
		pipeline_commit(b);
}

/* Log every outcome, count it, free the batch and read more. */
static void
pipeline_done(struct batch *b)
{
	const struct conf *conf = server_conf();
	struct comment *c;
	struct timeval now;
	long long now_ms;
	size_t i;

	gettimeofday(&now, NULL);
	now_ms = (long long)now.tv_sec * 1000 + now.tv_usec / 1000;
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->written == 0) {
			pl.skipped++;
			log_debug("comment %s (%s): already decided, "
			          "acknowledged",
			    c->id, c->sid);
			continue;
		}
		if (c->written == 2) {
			pl.processed++;
			log_info("comment %s (%s): superseded by a newer entry "
			         "of the same id; its decision stands",
			    c->id, c->sid);
			continue;
		}
		pl.processed++;
		if (c->error != NULL) {
			pl.dead++;
			metrics_dead(c->error);
			log_warnx("comment %s (%s): dead letter: %s",
			    *c->id != '\0' ? c->id : "-", c->sid, c->error);
			continue;
		}
		pl.counts[c->d.verdict]++;
		metrics_decision(c->d.verdict, c->d.reasons, now_ms - c->ts);
		if (conf->log_decisions)
			log_info("comment %s (%s): %s [%s]", c->id, c->sid,
			    rules_status_name(c->d.verdict), c->d.reasons);
	}
	pipeline_free(b);
	if (server_stopping()) {
		if (pl.inflight == 0)
			server_drained();
		return;
	}
	intake_rearm();
}

/*
 * Redis failed or timed out.  While it is up, retry the batch from its
 * context after a back-off (rates are recorded once per entry and a
 * decision once per acknowledgement, so a retry never doubles anything);
 * when Redis is down or we are stopping, drop it: its entries stay pending
 * and are re-read after the reconnect or claimed by another daemon.
 */
static void
pipeline_tempfail(struct batch *b)
{
	struct timeval tv;

	if (!redis_up() || server_stopping()) {
		log_info("batch of %zu from %s: left pending for redelivery",
		    b->n, b->c[0].sid);
		pipeline_free(b);
		if (server_stopping() && pl.inflight == 0)
			server_drained();
		return;
	}
	pipeline_touch(b);
	if (b->retry == NULL)
		b->retry = evtimer_new(server_base(), pipeline_retry_cb, b);
	tv.tv_sec = b->retry_ms / 1000;
	tv.tv_usec = (b->retry_ms % 1000) * 1000;
	evtimer_add(b->retry, &tv);
	log_info("batch of %zu from %s: retrying in %ld ms", b->n, b->c[0].sid,
	    b->retry_ms);
	b->retry_ms *= 2;
	if (b->retry_ms > PIPELINE_RETRY_MAX)
		b->retry_ms = PIPELINE_RETRY_MAX;
}

/*
 * Keep a batch that keeps failing its own: once it has waited half of
 * queue.claim_idle_ms, reset its entries' idle time (XCLAIM ... JUSTID,
 * which counts no delivery), so that neither this daemon's nor another's
 * XAUTOCLAIM takes them over while this one is still retrying them.
 */
static void
pipeline_touch(struct batch *b)
{
	const struct conf *conf = server_conf();
	struct redis_args a;
	struct timeval now, d;
	size_t i;

	gettimeofday(&now, NULL);
	timersub(&now, &b->started, &d);
	if (d.tv_sec * 1000 + d.tv_usec / 1000 < conf->claim_idle_ms / 2)
		return;
	redis_args_init(&a);
	redis_args_adds(&a, "XCLAIM");
	redis_args_addf(&a, "%s:%s", conf->prefix, conf->stream);
	redis_args_adds(&a, conf->group);
	redis_args_adds(&a, conf->consumer);
	redis_args_adds(&a, "0");
	for (i = 0; i < b->n; i++)
		redis_args_adds(&a, b->c[i].sid);
	redis_args_adds(&a, "JUSTID");
	redis_cmd(&a, pipeline_ignore_cb, NULL);
	redis_args_free(&a);
	b->started = now;
}

/* Tell whether a stream entry is in flight in some batch. */
int
pipeline_has(const char *sid)
{
	struct batch *b;
	size_t i;

	TAILQ_FOREACH(b, &pl.batches, entry)
	{
		for (i = 0; i < b->n; i++)
			if (strcmp(b->c[i].sid, sid) == 0)
				return (1);
	}
	return (0);
}

/* Retry timer: start the batch again from its context. */
static void
pipeline_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct batch *b = arg;

	(void)fd;
	(void)events;
	b->state = b->njudge > 0 ? B_CONTEXT : B_WRITE;
	pipeline_step(b);
}

/* Free one comment's contents. */
static void
pipeline_comment_free(struct comment *c)
{
	free(c->sid);
	if (c->fv != NULL)
		free(c->fv[0]);
	free(c->fv);
	free(c->fvlen);
	free(c->olen);
	free(c->error);
	free(c->keys);
	free(c->stats);
	rules_match_free(&c->match);
	rules_decision_free(&c->d);
}

/* Free a batch that has no reply pending. */
static void
pipeline_free(struct batch *b)
{
	size_t i;

	pipeline_tx_release(b, 1);
	TAILQ_REMOVE(&pl.batches, b, entry);
	pl.inflight -= b->n;
	for (i = 0; i < b->n; i++)
		pipeline_comment_free(&b->c[i]);
	free(b->c);
	free(b->nums);
	free(b->reqs);
	free(b->wreqs);
	free(b->keys.buf);
	if (b->retry != NULL)
		event_free(b->retry);
	rules_unref(b->rules);
	free(b);
}
