/*
 * pipeline.c -- owns struct batch and struct comment: the state machine that
 * takes a batch of stream entries from intake to an atomic decision.  The
 * unit is the batch, so each batch costs two Redis calls whatever its size:
 *
 *   B_NEW      keyword matching of every comment (pure C, no I/O)
 *   B_CONTEXT  FCALL modq_context: author trust, thread mode, reputation,
 *              rate counts (recorded once per stream entry)
 *   B_DECIDE   rules_decide() for every comment (pure C)
 *   B_WRITE    FCALL modq_decide: hashes, decisions stream, held set,
 *              counters, dead letters and XACK, in one atomic call
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define PIPELINE_RETRY_MIN 100 /* ms */
#define PIPELINE_RETRY_MAX 5000
#define PIPELINE_NUM 24 /* bytes for one formatted number */

enum batch_state {
	B_NEW = 0,
	B_CONTEXT,
	B_DECIDE,
	B_WRITE,
	B_DONE,
	B_TEMPFAIL
};

struct comment {
	char *sid; /* owned: stream entry id */
	long long ts; /* ms, from the stream id */
	long deliveries;
	char **fv; /* owned (one block with the strings): fields, values */
	size_t *fvlen; /* owned */
	size_t nfv;
	const char *id; /* borrowed from fv, "" if absent */
	const char *body;
	size_t bodylen;
	const char *author;
	const char *ip;
	const char *thread;
	char *error; /* owned: why it is dead-lettered, or NULL */
	struct rules_match match;
	struct rules_ctx ctx;
	struct rules_decision d;
	int written; /* modq_decide wrote it (0: another daemon had) */
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
	struct event *retry;
	long retry_ms;
	struct timeval started;
};

TAILQ_HEAD(batch_list, batch);

static struct {
	struct batch_list batches;
	size_t inflight; /* comments in live batches */
	unsigned long long processed;
	unsigned long long counts[3];
	unsigned long long dead;
	unsigned long long skipped;
} pl = {.batches = TAILQ_HEAD_INITIALIZER(pl.batches)};

static void pipeline_step(struct batch *);
static void pipeline_match(struct batch *);
static int pipeline_send_context(struct batch *);
static void pipeline_context_cb(void *, void *);
static int pipeline_copy_context(struct batch *, const redisReply *);
static void pipeline_decide(struct batch *);
static int pipeline_send_write(struct batch *);
static void pipeline_add_item(
    struct batch *, struct redis_args *, struct comment *, char *);
static void pipeline_write_cb(void *, void *);
static void pipeline_done(struct batch *);
static void pipeline_tempfail(struct batch *);
static void pipeline_retry_cb(evutil_socket_t, short, void *);
static void pipeline_free(struct batch *);
static void pipeline_comment_free(struct comment *);
static int pipeline_error_reply(
    struct batch *, const redisReply *, const char *);

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
	gettimeofday(&b->started, NULL);
	return (b);
}

/*
 * Copy one stream entry into the batch.  fv holds nfv field and value
 * strings; roles[] gives the value index of id, body, author, ip and
 * thread (-1 when absent); error says why the entry is dead-lettered.
 */
int
pipeline_add(struct batch *b, const char *sid, size_t sidlen, long deliveries,
    char **fv, size_t *fvlen, size_t nfv)
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
	c->deliveries = deliveries;
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
	c->nfv = nfv;
	c->id = c->author = c->ip = c->thread = c->body = "";
	for (i = 0; i + 1 < nfv; i += 2) {
		if (strcmp(c->fv[i], "id") == 0)
			c->id = c->fv[i + 1];
		else if (strcmp(c->fv[i], "body") == 0) {
			c->body = c->fv[i + 1];
			c->bodylen = c->fvlen[i + 1];
		} else if (strcmp(c->fv[i], "author") == 0)
			c->author = c->fv[i + 1];
		else if (strcmp(c->fv[i], "ip") == 0)
			c->ip = c->fv[i + 1];
		else if (strcmp(c->fv[i], "thread") == 0)
			c->thread = c->fv[i + 1];
	}
	return (0);
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
	size_t i;

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
			if (pipeline_send_context(b) == -1) {
				b->state = B_TEMPFAIL;
				break;
			}
			return;
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
		case B_DONE:
			pipeline_done(b);
			return;
		case B_TEMPFAIL:
			pipeline_tempfail(b);
			return;
		}
	}
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

/*
 * Send modq_context for the batch: the rate rules once, then each
 * judgeable comment's stream id, author, ip, thread, time and window
 * starts.
 */
static int
pipeline_send_context(struct batch *b)
{
	struct redis_args a;
	const struct rules_rate *r;
	struct comment *c;
	size_t i, k, nr = rules_nrates(b->rules), used = 0;
	long long lo, hi;
	char *p;
	int rc;

	free(b->nums);
	b->nums = xmalloc((b->n * (nr * 2 + 1) + nr + 1) * PIPELINE_NUM);
	p = b->nums;
	redis_args_init(&a);
	redis_args_adds(&a, "FCALL");
	redis_args_adds(&a, "modq_context");
	redis_args_adds(&a, "0");
	used = (size_t)snprintf(p, PIPELINE_NUM, "%zu", nr);
	redis_args_add(&a, p, used);
	p += PIPELINE_NUM;
	for (k = 0; k < nr; k++) {
		r = rules_rate(b->rules, k);
		redis_args_adds(&a, r->name);
		used = (size_t)snprintf(p, PIPELINE_NUM, "%d", (int)r->per + 1);
		redis_args_add(&a, p, used);
		p += PIPELINE_NUM;
	}
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		redis_args_adds(&a, c->sid);
		redis_args_adds(&a, c->author);
		redis_args_adds(&a, c->ip);
		redis_args_adds(&a, c->thread);
		used = (size_t)snprintf(p, PIPELINE_NUM, "%lld", c->ts);
		redis_args_add(&a, p, used);
		p += PIPELINE_NUM;
		for (k = 0; k < nr; k++) {
			r = rules_rate(b->rules, k);
			rate_window(r, c->ts, &lo, &hi);
			used = (size_t)snprintf(p, PIPELINE_NUM, "%lld", lo);
			redis_args_add(&a, p, used);
			p += PIPELINE_NUM;
			used = (size_t)snprintf(
			    p, PIPELINE_NUM, "%lld", rate_ttl_ms(r));
			redis_args_add(&a, p, used);
			p += PIPELINE_NUM;
		}
	}
	rc = redis_cmd(&a, pipeline_context_cb, b);
	redis_args_free(&a);
	if (rc == 0)
		b->pending++;
	return (rc);
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

/* Record the context reply; pipeline_step() decides what happens next. */
static void
pipeline_context_cb(void *r, void *arg)
{
	struct batch *b = arg;
	redisReply *reply = r;

	b->pending--;
	if (reply == NULL || pipeline_error_reply(b, reply, "modq_context") ||
	    pipeline_copy_context(b, reply) == -1)
		b->state = B_TEMPFAIL;
	else
		b->state = B_DECIDE;
	pipeline_step(b);
}

/* Copy the per-comment context out of the reply (it dies on return). */
static int
pipeline_copy_context(struct batch *b, const redisReply *r)
{
	const redisReply *e;
	struct comment *c;
	size_t i, j = 0, k, nr = rules_nrates(b->rules);

	if (r->type != REDIS_REPLY_ARRAY || r->elements != b->njudge)
		goto bad;
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		e = r->element[j++];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 5 + nr)
			goto bad;
		for (k = 0; k < e->elements; k++) {
			if (e->element[k]->type != REDIS_REPLY_INTEGER)
				goto bad;
		}
		memset(&c->ctx, 0, sizeof c->ctx);
		c->ctx.trust = (enum rules_trust)e->element[0]->integer;
		c->ctx.mode = (enum rules_mode)e->element[1]->integer;
		c->ctx.has_author = *c->author != '\0';
		c->ctx.approved = e->element[2]->integer;
		c->ctx.recent_decided = e->element[3]->integer;
		c->ctx.recent_rejected = e->element[4]->integer;
		for (k = 0; k < nr; k++)
			c->ctx.rate[k] = e->element[5 + k]->integer;
	}
	return (0);
bad:
	log_warnx("batch of %zu from %s: unexpected modq_context reply", b->n,
	    b->c[0].sid);
	return (-1);
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
	size_t i, n;

	(void)b;
	if (c->error != NULL) {
		redis_args_adds(a, "x");
		redis_args_adds(a, c->sid);
		redis_args_adds(a, c->error);
	} else {
		redis_args_adds(a, "d");
		redis_args_adds(a, c->sid);
		redis_args_adds(a, c->id);
		redis_args_adds(a, rules_status_name(c->d.verdict));
		redis_args_adds(a, c->d.reasons);
		redis_args_adds(a, c->match.matched);
		redis_args_adds(a, rules_stamp(b->rules));
		redis_args_adds(a, c->author);
	}
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nfv / 2);
	redis_args_add(a, num, n);
	for (i = 0; i < c->nfv; i++)
		redis_args_add(a, c->fv[i], c->fvlen[i]);
}

/* Send modq_decide: every decision and dead letter, and their XACKs. */
static int
pipeline_send_write(struct batch *b)
{
	const struct conf *conf = server_conf();
	struct redis_args a;
	size_t i;
	char *p;
	int rc;

	free(b->nums);
	b->nums = xmalloc((b->n + 1) * PIPELINE_NUM);
	p = b->nums;
	redis_args_init(&a);
	redis_args_adds(&a, "FCALL");
	redis_args_adds(&a, "modq_decide");
	redis_args_adds(&a, "0");
	redis_args_addf(&a, "%s:%s", conf->prefix, conf->stream);
	redis_args_adds(&a, conf->group);
	redis_args_addf(&a, "%ld", conf->ttl_days * 86400);
	for (i = 0; i < b->n; i++, p += PIPELINE_NUM)
		pipeline_add_item(b, &a, &b->c[i], p);
	rc = redis_cmd(&a, pipeline_write_cb, b);
	redis_args_free(&a);
	if (rc == 0)
		b->pending++;
	return (rc);
}

/* Record which items modq_decide wrote. */
static void
pipeline_write_cb(void *r, void *arg)
{
	struct batch *b = arg;
	redisReply *reply = r;
	size_t i;

	b->pending--;
	if (reply == NULL || pipeline_error_reply(b, reply, "modq_decide")) {
		b->state = B_TEMPFAIL;
		pipeline_step(b);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != b->n) {
		log_warnx("batch of %zu from %s: unexpected modq_decide reply",
		    b->n, b->c[0].sid);
		b->state = B_TEMPFAIL;
		pipeline_step(b);
		return;
	}
	for (i = 0; i < b->n; i++)
		b->c[i].written =
		    reply->element[i]->type == REDIS_REPLY_INTEGER &&
		    reply->element[i]->integer == 1;
	b->state = B_DONE;
	pipeline_step(b);
}

/* Log every outcome, count it, free the batch and read more. */
static void
pipeline_done(struct batch *b)
{
	const struct conf *conf = server_conf();
	struct comment *c;
	size_t i;

	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (!c->written) {
			pl.skipped++;
			log_debug("comment %s (%s): already decided, "
			          "acknowledged",
			    c->id, c->sid);
			continue;
		}
		pl.processed++;
		if (c->error != NULL) {
			pl.dead++;
			log_warnx("comment %s (%s): dead letter: %s",
			    *c->id != '\0' ? c->id : "-", c->sid, c->error);
			continue;
		}
		pl.counts[c->d.verdict]++;
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

/* Drop every batch waiting to retry (Redis went down). */
void
pipeline_abort_all(void)
{
	struct batch *b, *next;

	for (b = TAILQ_FIRST(&pl.batches); b != NULL; b = next) {
		next = TAILQ_NEXT(b, entry);
		if (b->state == B_TEMPFAIL && b->pending == 0)
			pipeline_tempfail(b);
	}
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
	free(c->error);
	rules_match_free(&c->match);
	rules_decision_free(&c->d);
}

/* Free a batch that has no reply pending. */
static void
pipeline_free(struct batch *b)
{
	size_t i;

	TAILQ_REMOVE(&pl.batches, b, entry);
	pl.inflight -= b->n;
	for (i = 0; i < b->n; i++)
		pipeline_comment_free(&b->c[i]);
	free(b->c);
	free(b->nums);
	if (b->retry != NULL)
		event_free(b->retry);
	rules_unref(b->rules);
	free(b);
}
