/*
 * pipeline.c -- owns struct batch and struct comment (see pipeline.h): a
 * batch's life from intake to its decisions, and the state machine that
 * moves it.  The unit is the batch, so a batch costs the same rounds of
 * Redis whatever its size: the context round (context.c), the WATCH round
 * and the commit round (commit.c).
 *
 * Reply callbacks only record what they got in the batch (pending,
 * failed, aborted...) and call pipeline_step(); pipeline_next() alone
 * chooses the next state from those results, along the edges of
 * pipeline_edges[], and pipeline_enter() does what a state starts with.
 */
#include <sys/queue.h>
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "pipeline.h"
#include "xmalloc.h"

#define PIPELINE_RETRY_MIN 100 /* ms */
#define PIPELINE_RETRY_MAX 5000

TAILQ_HEAD(batch_list, batch);

static struct {
	struct batch_list batches;
	size_t inflight; /* comments in live batches */
	unsigned long long processed;
	unsigned long long counts[3];
	unsigned long long dead;
	unsigned long long skipped;
} pl = {.batches = TAILQ_HEAD_INITIALIZER(pl.batches)};

/*
 * Every transition of a batch, and when it is taken.  A reader draws the
 * state diagram from this table; pipeline_step() refuses any other move.
 */
static const struct pipeline_edge {
	enum batch_state from, to;
	const char *when;
} pipeline_edges[] = {
    {B_MATCH, B_CONTEXT, "some comment is to be judged"},
    {B_MATCH, B_COMMIT, "dead letters only: straight to modq_decide"},
    {B_CONTEXT, B_DECIDE, "every reply is in, the records read beside"},
    {B_CONTEXT, B_WAITCONN, "the records are still to be read"},
    {B_CONTEXT, B_TEMPFAIL, "a reply was missing or an error"},
    {B_WAITCONN, B_WATCH, "a write connection is free"},
    {B_WATCH, B_DECIDE, "every record is read"},
    {B_WATCH, B_TEMPFAIL, "a reply was missing or an error"},
    {B_DECIDE, B_COMMIT, "every comment is judged"},
    {B_COMMIT, B_COMMIT, "EXEC aborted: modq_decide for its comments"},
    {B_COMMIT, B_DONE, "every write reply is in"},
    {B_COMMIT, B_TEMPFAIL, "a reply was missing or an error"},
    {B_TEMPFAIL, B_CONTEXT, "the retry timer, with comments to judge"},
    {B_TEMPFAIL, B_COMMIT, "the retry timer, with dead letters only"},
    {B_TEMPFAIL, B_DROP, "Redis is down or modqd is stopping"},
};

static const char *const pipeline_state_names[] = {"match", "context", "decide",
    "waitconn", "watch", "commit", "tempfail", "done", "drop"};

/*
 * What pipeline_done() says of an entry acknowledged without a decision
 * of its own, at which priority, and whether it counts as processed (the
 * entry was the comment's) or skipped.
 */
static const struct pipeline_outcome {
	int pri;
	int processed;
	const char *what;
} pipeline_outcomes[] = {
    [OUT_BEFORE] = {LOG_DEBUG, 0, "already decided, acknowledged"},
    [OUT_SUPERSEDED] = {LOG_INFO, 1,
        "superseded by a newer entry of the same id; its decision stands"},
    [OUT_RESENT] = {LOG_INFO, 0,
        "sent again with the same fields; acknowledged"},
    [OUT_GONE] = {LOG_INFO, 0, "the comment was deleted; acknowledged"},
};

static enum batch_state pipeline_next(const struct batch *);
static void pipeline_move(struct batch *, enum batch_state);
static int pipeline_enter(struct batch *);
static int pipeline_sid_parse(
    const char *, unsigned long long *, unsigned long long *);
static void pipeline_move_comments(
    struct comment *, const struct comment *, size_t);
static void pipeline_fields(struct comment *);
static void pipeline_digest(struct comment *);
static void pipeline_keys(struct batch *, struct comment *);
static void pipeline_match(struct batch *);
static void pipeline_decide(struct batch *);
static void pipeline_done(struct batch *);
static void pipeline_tempfail(struct batch *);
static void pipeline_drop(struct batch *);
static void pipeline_retry_cb(evutil_socket_t, short, void *);
static void pipeline_touch(struct batch *);
static void pipeline_free(struct batch *);
static void pipeline_comment_free(struct comment *);

/*
 * Move the batch as far as it goes without waiting for Redis: while no
 * reply is awaited, take the edge the recorded results choose and do what
 * the new state starts with.
 */
void
pipeline_step(struct batch *b)
{
	enum batch_state next;

	while (b->pending == 0) {
		next = pipeline_next(b);
		if (next == b->state && !(next == B_COMMIT && b->aborted))
			return; /* waiting: a timer or a connection */
		pipeline_move(b, next);
		if (pipeline_enter(b) == -1)
			return; /* freed */
	}
}

/* Choose the next state from the state and what the replies said. */
static enum batch_state
pipeline_next(const struct batch *b)
{
	switch (b->state) {
	case B_MATCH:
		return (b->njudge > 0 ? B_CONTEXT : B_COMMIT);
	case B_CONTEXT:
		return (b->failed   ? B_TEMPFAIL
		        : b->beside ? B_DECIDE
		                    : B_WAITCONN);
	case B_WAITCONN:
		return (
		    b->wconn >= 0 || commit_can_take() ? B_WATCH : B_WAITCONN);
	case B_WATCH:
		return (b->failed ? B_TEMPFAIL : B_DECIDE);
	case B_DECIDE:
		return (B_COMMIT);
	case B_COMMIT:
		return (b->failed    ? B_TEMPFAIL
		        : b->aborted ? B_COMMIT
		                     : B_DONE);
	case B_TEMPFAIL:
		if (b->drop)
			return (B_DROP);
		if (!b->retry_due)
			return (B_TEMPFAIL);
		return (b->njudge > 0 ? B_CONTEXT : B_COMMIT);
	case B_DONE:
	case B_DROP:
		break;
	}
	return (b->state);
}

/* Change the state along an edge of pipeline_edges[], and only so. */
static void
pipeline_move(struct batch *b, enum batch_state to)
{
	size_t i;

	for (i = 0; i < sizeof pipeline_edges / sizeof pipeline_edges[0]; i++)
		if (pipeline_edges[i].from == b->state &&
		    pipeline_edges[i].to == to) {
			log_debug("batch of %zu from %s: %s -> %s (%s)", b->n,
			    b->c[0].sid, pipeline_state_names[b->state],
			    pipeline_state_names[to], pipeline_edges[i].when);
			b->state = to;
			return;
		}
	fatalx("batch: no transition from %s to %s",
	    pipeline_state_names[b->state], pipeline_state_names[to]);
}

/*
 * Do what the state starts with: send a round (resetting what its replies
 * will say), compute, arm the retry timer, or finish.  Returns -1 when the
 * batch was freed.
 */
static int
pipeline_enter(struct batch *b)
{
	b->failed = 0;
	switch (b->state) {
	case B_CONTEXT:
		b->beside = 0;
		context_send(b);
		break;
	case B_DECIDE:
		pipeline_decide(b);
		break;
	case B_WATCH:
		if (b->wconn < 0)
			commit_take(b);
		commit_watch(b);
		break;
	case B_COMMIT:
		if (b->aborted)
			commit_aborted(b);
		else if (b->njudge == 0)
			commit_dead(b);
		else
			commit_send(b);
		break;
	case B_TEMPFAIL:
		pipeline_tempfail(b);
		break;
	case B_DONE:
		pipeline_done(b);
		return (-1);
	case B_DROP:
		pipeline_drop(b);
		return (-1);
	case B_MATCH:
	case B_WAITCONN:
		break;
	}
	return (0);
}

/* A write connection became free: the oldest batch waiting takes it. */
void
pipeline_conn_free(void)
{
	struct batch *w;

	TAILQ_FOREACH(w, &pl.batches, entry)
	{
		if (w->state == B_WAITCONN) {
			pipeline_step(w);
			return;
		}
	}
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
	conf_keys(server_conf(), &b->keys);
	return (b);
}

/* Read a stream id, <ms>-<seq>; returns -1 if s is not one. */
static int
pipeline_sid_parse(
    const char *s, unsigned long long *ms, unsigned long long *seq)
{
	char *end;

	if (*s < '0' || *s > '9')
		return (-1);
	*ms = strtoull(s, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return (-1);
	*seq = strtoull(end + 1, &end, 10);
	return (*end == '\0' ? 0 : -1);
}

/* Tell whether a stream id is older than another (no if either is bad). */
int
pipeline_sid_older(const char *a, const char *b)
{
	unsigned long long am, as, bm, bs;

	if (pipeline_sid_parse(a, &am, &as) == -1 ||
	    pipeline_sid_parse(b, &bm, &bs) == -1)
		return (0);
	return (am < bm || (am == bm && as < bs));
}

/*
 * Move n comments to another array (from stays allocated until the caller
 * frees it): a comment's canonical ip lives in the comment itself, so
 * its pointer must follow it.
 */
static void
pipeline_move_comments(struct comment *to, const struct comment *from, size_t n)
{
	size_t i;

	memcpy(to, from, n * sizeof *to);
	for (i = 0; i < n; i++)
		if (from[i].ip == from[i].ipbuf)
			to[i].ip = to[i].ipbuf;
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
	struct comment *c, *moved;
	size_t i, total = 0;
	char *p;

	if (b->n == b->cap) {
		moved = xcalloc(b->cap * 2, sizeof *b->c);
		pipeline_move_comments(moved, b->c, b->n);
		free(b->c);
		b->c = moved;
		b->cap *= 2;
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
	pipeline_digest(c);
}

/*
 * Hash the entry's fields, names and values in their order, each after
 * its length (so no two lists of strings hash alike by how they split),
 * with 64-bit FNV-1a, into c->digest.  Two entries of one id with the same
 * digest are the site sending the same comment again; a collision could
 * only make the author's own edit look like a resend.
 */
static void
pipeline_digest(struct comment *c)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;
	size_t i, j, len;

	for (i = 0; i < c->nfv; i++) {
		len = c->fvlen[i];
		for (j = 0; j < 8; j++, len >>= 8)
			h = (h ^ (len & 0xff)) * 1099511628211ULL;
		p = (const unsigned char *)c->fv[i];
		for (j = 0; j < c->fvlen[i]; j++)
			h = (h ^ p[j]) * 1099511628211ULL;
	}
	snprintf(c->digest, sizeof c->digest, "%016llx", (unsigned long long)h);
}

/*
 * Point the comment at its known fields (an empty one is as if absent).
 * The ip is the first address of a comma-separated list (as in
 * X-Forwarded-For), in canonical form; anything else costs the comment
 * its ip rules, not its judgement, and is noted in the record's warnings.
 */
static void
pipeline_fields(struct comment *c)
{
	const char *v, *comma;
	size_t i, len;

	c->id = c->author = c->ip = c->thread = c->body = "";
	c->warnings = NULL;
	for (i = 0; i + 1 < c->nfv; i += 2) {
		if (strcmp(c->fv[i], "id") == 0)
			c->id = c->fv[i + 1];
		else if (strcmp(c->fv[i], "body") == 0) {
			c->body = c->fv[i + 1];
			c->bodylen = c->fvlen[i + 1];
		} else if (strcmp(c->fv[i], "author") == 0)
			c->author = c->fv[i + 1];
		else if (strcmp(c->fv[i], "ip") == 0 && c->fvlen[i + 1] > 0) {
			v = c->fv[i + 1];
			comma = memchr(v, ',', c->fvlen[i + 1]);
			len = comma != NULL ? (size_t)(comma - v)
			                    : c->fvlen[i + 1];
			while (len > 0 && (*v == ' ' || *v == '\t'))
				v++, len--;
			while (len > 0 &&
			    (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			if (entry_ip_canon(v, len, c->ipbuf, sizeof c->ipbuf) ==
			    0)
				c->ip = c->ipbuf;
			else
				c->warnings =
				    "ip: not an IPv4 or IPv6 address, "
				    "judged without ip rules";
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
	 * a connection watches (per key 0.24 us for 16 keys, 0.57 for 64,
	 * 1.9 for 256, 17 for 4,096): a large read goes on as several batches
	 * of at most PIPELINE_TX_MAX comments, on as many write connections.
	 */
	if (b->n > PIPELINE_TX_MAX) {
		rest = pipeline_batch_new(b->rules, b->n - PIPELINE_TX_MAX);
		pipeline_move_comments(
		    rest->c, b->c + PIPELINE_TX_MAX, b->n - PIPELINE_TX_MAX);
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
	b->state = B_MATCH;
	pipeline_match(b);
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
	KEY(c->ckey, KEY_COMMENT, pre, c->id);
	if (*c->author != '\0')
		KEY(c->akey, KEY_AUTHOR, pre, c->author);
	else
		KEY(c->akey, "%s", "");
	if (*c->thread != '\0')
		KEY(c->tkey, KEY_THREAD, pre, c->thread);
	else
		KEY(c->tkey, "%s", "");
	if (*c->author != '\0' && rules_authors(b->rules)->hold_if_rejected)
		KEY(c->hkey, KEY_HISTORY, pre, c->author);
	else
		KEY(c->hkey, "%s", "");
	for (k = 0; k < nr; k++) {
		r = rules_rate(b->rules, k);
		v = vals[r->per];
		if (*v != '\0')
			KEY(c->rkey[k], KEY_RATE, pre, r->name, v);
		else
			KEY(c->rkey[k], "%s", "");
	}
#undef KEY
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

/*
 * Send one command of the context round (on the command connection, its
 * reply to context_cb()) or of the WATCH round (on the batch's write
 * connection, its reply to commit_watch_cb()); a command that cannot be
 * sent fails the round.
 */
void
pipeline_req(struct batch *b, struct redis_args *a, uint32_t ci, uint8_t kind,
    uint8_t rule)
{
	struct req *q;
	int rc;

	q = kind >= Q_WATCH ? &b->wreqs[b->nwreqs] : &b->reqs[b->nreqs];
	q->b = b;
	q->ci = ci;
	q->kind = kind;
	q->rule = rule;
	if (kind >= Q_WATCH) {
		rc = redis_write(b->wconn, a, commit_watch_cb, q);
		b->nwreqs += rc == 0;
	} else {
		rc = redis_cmd(a, context_cb, q);
		b->nreqs += rc == 0;
	}
	if (rc == 0)
		b->pending++;
	else
		b->failed = 1;
	redis_args_free(a);
}

/* Log an error reply; a missing function library is loaded again. */
int
pipeline_error_reply(struct batch *b, const redisReply *r, const char *what)
{
	if (r->type != REDIS_REPLY_ERROR)
		return (0);
	log_warnx(
	    "batch of %zu from %s: %s: %s", b->n, b->c[0].sid, what, r->str);
	if (strstr(r->str, "Function not found") != NULL ||
	    strstr(r->str, "unknown prefix") != NULL ||
	    strstr(r->str, "NOSCRIPT") != NULL)
		redis_reload_functions();
	return (1);
}

/*
 * Combine keyword matches and context into each comment's verdict.  An
 * edit is judged like a new comment, but rate rules do not count it: its
 * windows read as not counted, and the commit takes its record out of
 * them.
 */
static void
pipeline_decide(struct batch *b)
{
	struct comment *c;
	size_t i, k;

	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		if (c->edit)
			for (k = 0; k < RULES_MAX_RATES; k++)
				c->ctx.rate[k] = -1;
		rules_decision_free(&c->d);
		rules_decide(b->rules, &c->match, &c->ctx, &c->d);
	}
}

/* Log every outcome, count it, free the batch and read more. */
static void
pipeline_done(struct batch *b)
{
	const struct conf *conf = server_conf();
	const struct pipeline_outcome *out;
	struct comment *c;
	struct timeval now;
	long long now_ms;
	size_t i;

	gettimeofday(&now, NULL);
	now_ms = (long long)now.tv_sec * 1000 + now.tv_usec / 1000;
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->written != OUT_WRITTEN) {
			out = &pipeline_outcomes[c->written];
			if (out->processed)
				pl.processed++;
			else
				pl.skipped++;
			log_msg(out->pri, 0, "comment %s (%s): %s", c->id,
			    c->sid, out->what);
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
		metrics_decision(
		    c->d.verdict, c->d.reasons, c->d.shadow, now_ms - c->ts);
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
	redis_args_adds(&a, conf->keys.stream);
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

/* Ignore a reply (errors show up elsewhere). */
void
pipeline_ignore_cb(UNUSED void *r, UNUSED void *arg)
{
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

	commit_release(b, 1);
	TAILQ_REMOVE(&pl.batches, b, entry);
	pl.inflight -= b->n;
	for (i = 0; i < b->n; i++)
		pipeline_comment_free(&b->c[i]);
	free(b->c);
	free(b->nums);
	free(b->reqs);
	free(b->wreqs);
	conf_keys_free(&b->keys);
	if (b->retry != NULL)
		event_free(b->retry);
	rules_unref(b->rules);
	free(b);
}

/*
 * Redis failed or timed out.  While it is up, retry the batch from its
 * context after a back-off (rates are recorded once per entry and a
 * decision once per acknowledgement, so a retry never doubles anything);
 * when Redis is down or we are stopping, drop it (B_DROP).  A WATCH left
 * standing is taken off its connection first.
 */
static void
pipeline_tempfail(struct batch *b)
{
	struct timeval tv;

	commit_release(b, 1);
	b->retry_due = 0;
	b->aborted = 0; /* the retry reads the records again */
	if (!redis_up() || server_stopping()) {
		b->drop = 1;
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

/* Retry timer: the batch may start again from its context. */
static void
pipeline_retry_cb(UNUSED evutil_socket_t fd, UNUSED short events, void *arg)
{
	struct batch *b = arg;

	b->retry_due = 1;
	pipeline_step(b);
}

/* Give up a batch: its entries stay pending and are read again. */
static void
pipeline_drop(struct batch *b)
{
	log_info("batch of %zu from %s: left pending for redelivery", b->n,
	    b->c[0].sid);
	pipeline_free(b);
	if (server_stopping() && pl.inflight == 0)
		server_drained();
}
