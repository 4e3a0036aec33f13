/*
 * commit.c -- the write rounds of a batch and the write connections they
 * hold.  The WATCH round watches every comment hash and reads its record
 * (on one of the REDIS_NWRITE write connections, each one batch's from its
 * WATCH to its EXEC: a WATCH belongs to a connection, and EXEC ends every
 * WATCH on it).  The commit round writes every new decision in one
 * MULTI ... EXEC of plain commands, which Redis runs several times cheaper
 * than a Function, and sends FCALL modq_decide for dead letters, records
 * to replace and whatever the transaction could not settle.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "pipeline.h"
#include "xmalloc.h"

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
struct commit_stat {
	const char *f; /* borrowed */
	size_t n;
};

static struct {
	struct batch *tx[REDIS_NWRITE]; /* per write connection: the batch
	                                  between its WATCH and EXEC */
} cm;

static void commit_stat_names(struct comment *);
static void commit_item(
    struct batch *, struct redis_args *, struct comment *, char *);
static size_t commit_dead_len(const struct comment *, size_t);
static char *commit_dead_note(const struct comment *);
static void commit_record_fields(
    struct batch *, struct redis_args *, const struct comment *, const char *);
static long commit_hist_days(const struct batch *);
static void commit_lua(struct batch *, const uint32_t *, size_t);
static void commit_lua_cb(void *, void *);
static int commit_ckey_cmp(const void *, const void *);
static void commit_mark_twins(struct batch *);
static void commit_stat_add(struct commit_stat **, size_t *, const char *);
static size_t commit_optional_fields(
    const struct batch *, const struct comment *);
static void commit_stat_queue(struct batch *, const char *, size_t);
static void commit_queuel(struct batch *, const char *, ...)
    __attribute__((sentinel));
static void commit_queue(struct batch *, struct redis_args *);
static void commit_queue_decision(
    struct batch *, struct comment *, const struct txstr *);
static void commit_queue_history(
    struct batch *, const struct comment *, const struct txstr *);
static void commit_tx_strings(const struct batch *, struct txstr *);
static int commit_outcome(const struct comment *);
static void commit_queue_unrate(struct batch *, const struct comment *);
static int commit_in_tx(const struct comment *);
static void commit_send_tx(struct batch *);
static void commit_exec_cb(void *, void *);
static void commit_classify(struct comment *, redisReply **);
static int commit_watch_reply(struct batch *, const struct req *, redisReply *);

/*
 * Turn the decision's reasons into the stats fields "rule:<name>", its
 * shadow rules into "shadow:<name>", then the status: each name of n bytes
 * takes n + 8 at most (the prefix and a NUL), so the buffer is sized from
 * the names, not from the strings that hold them.
 */
static void
commit_stat_names(struct comment *c)
{
	const char *list[2] = {c->d.reasons, c->d.shadow};
	const char *pre[2] = {"rule:", "shadow:"};
	const char *p, *status = rules_status_name(c->d.verdict);
	size_t len = 0, n, size = strlen(status) + 1;
	int k;

	for (k = 0; k < 2; k++)
		for (p = list[k]; p != NULL && *p != '\0'; p += n) {
			while (*p == ' ')
				p++;
			n = strcspn(p, " ");
			size += n > 0 ? n + sizeof "shadow:" : 0;
		}
	free(c->stats);
	c->stats = xmalloc(size);
	c->nstats = 0;
	for (k = 0; k < 2; k++)
		for (p = list[k]; p != NULL && *p != '\0'; p += n) {
			while (*p == ' ')
				p++;
			if ((n = strcspn(p, " ")) == 0)
				continue;
			len += (size_t)snprintf(c->stats + len, size - len,
			           "%s%.*s", pre[k], (int)n, p) +
			    1;
			c->nstats++;
		}
	memcpy(c->stats + len, status, strlen(status) + 1);
	c->nstats++;
}

/* Count the record's optional fields: warnings, shadow, score. */
static size_t
commit_optional_fields(const struct batch *b, const struct comment *c)
{
	return ((c->warnings != NULL) +
	    (c->d.shadow != NULL && *c->d.shadow != '\0') +
	    (rules_scored(b->rules) != 0));
}

/*
 * Append one decision ('d') or dead letter ('x') to modq_decide, in the
 * item format modq.lua documents; num has room for four numbers.
 */
static void
commit_item(struct batch *b, struct redis_args *a, struct comment *c, char *num)
{
	const char *st;
	size_t i, n;

	if (c->error != NULL) {
		redis_args_adds(a, "x");
		redis_args_adds(a, c->sid);
		redis_args_adds(a, c->error);
		redis_args_adds(a, entry_kind_word(entry_error_kind(c->error)));
		redis_args_adds(
		    a, entry_id_ok(c->id, strlen(c->id)) ? c->id : "");
		free(c->stats); /* unused by dead letters: holds the note */
		c->stats = commit_dead_note(c);
		redis_args_adds(a, c->stats);
		n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nfv / 2);
		redis_args_add(a, num, n);
		for (i = 0; i < c->nfv / 2 * 2; i++)
			redis_args_add(a, c->fv[i], commit_dead_len(c, i));
		return;
	}
	commit_stat_names(c);
	redis_args_adds(a, "d");
	redis_args_adds(a, c->sid);
	redis_args_adds(a, c->ckey);
	redis_args_adds(a, c->id);
	redis_args_adds(a, rules_status_name(c->d.verdict));
	redis_args_adds(a, c->d.reasons);
	redis_args_adds(a, c->akey);
	redis_args_adds(a, c->hkey);
	redis_args_adds(a, c->digest);
	redis_args_add(a, c->rmember, sizeof c->rmember);
	for (i = 0, n = 0; i < rules_nrates(b->rules); i++)
		n += *c->rkey[i] != '\0';
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", n);
	redis_args_add(a, num, n);
	num += PIPELINE_NUM;
	for (i = 0; i < rules_nrates(b->rules); i++)
		if (*c->rkey[i] != '\0')
			redis_args_adds(a, c->rkey[i]);
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nstats);
	redis_args_add(a, num, n);
	for (i = 0, st = c->stats; i < c->nstats; i++, st += strlen(st) + 1)
		redis_args_adds(a, st);
	num += PIPELINE_NUM;
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu", c->nfv / 2);
	redis_args_add(a, num, n);
	num += PIPELINE_NUM;
	n = (size_t)snprintf(num, PIPELINE_NUM, "%zu",
	    c->nfv / 2 + RECORD_NFIELDS + commit_optional_fields(b, c));
	redis_args_add(a, num, n);
	commit_record_fields(b, a, c, "0"); /* decided_at set in Redis */
}

/*
 * How much of string i a dead letter keeps: at most PIPELINE_DEAD_KEEP
 * bytes, cut before a UTF-8 sequence rather than inside one: at most
 * three bytes back, the continuation bytes a sequence has (a longer run
 * of them is no sequence, and is cut where it falls).
 */
static size_t
commit_dead_len(const struct comment *c, size_t i)
{
	size_t n = c->fvlen[i];

	if (n <= PIPELINE_DEAD_KEEP)
		return (n);
	n = PIPELINE_DEAD_KEEP;
	while (n > PIPELINE_DEAD_KEEP - 3 &&
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
commit_dead_note(const struct comment *c)
{
	char *note = xstrdup(""), *t;
	size_t i, size;

	for (i = 0; i < c->nfv / 2 * 2; i++) {
		size = c->olen != NULL ? c->olen[i] : c->fvlen[i];
		if (commit_dead_len(c, i) == size)
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
 * Append the fields and values of a comment's record: its own fields, its
 * warnings if any, the decision, and last decided_at.
 */
static void
commit_record_fields(struct batch *b, struct redis_args *a,
    const struct comment *c, const char *decided_at)
{
	static const char *const name[RECORD_NFIELDS] = {RECORD_FIELDS};
	const char *value[RECORD_NFIELDS] = {rules_status_name(c->d.verdict),
	    c->d.reasons, c->match.matched, "modqd", rules_stamp(b->rules),
	    c->sid, c->digest, decided_at};
	size_t i;

	for (i = 0; i < c->nfv; i++)
		redis_args_add(a, c->fv[i], c->fvlen[i]);
	if (c->warnings != NULL) {
		redis_args_adds(a, "warnings");
		redis_args_adds(a, c->warnings);
	}
	if (c->d.shadow != NULL && *c->d.shadow != '\0') {
		redis_args_adds(a, "shadow");
		redis_args_adds(a, c->d.shadow);
	}
	if (rules_scored(b->rules)) {
		redis_args_adds(a, "score");
		redis_args_addf(a, "%ld", c->d.score);
	}
	for (i = 0; i < RECORD_NFIELDS; i++) {
		redis_args_adds(a, name[i]);
		redis_args_adds(a, value[i]);
	}
}

/* Say how many days of reputation history the rules keep (0: none). */
static long
commit_hist_days(const struct batch *b)
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
 * something.  A call that cannot be sent fails the round.
 */
static void
commit_lua(struct batch *b, const uint32_t *ci, size_t n)
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
	p = nums = xmalloc((4 * n + 1) * PIPELINE_NUM);
	redis_args_fcall(&a, "modq_decide", conf->prefix);
	redis_args_adds(&a, b->keys.stream);
	redis_args_adds(&a, conf->group);
	redis_args_addf(&a, "%ld", conf->ttl_days * 86400);
	redis_args_addf(&a, "%ld", conf->maxlen);
	redis_args_addf(&a, "%ld", commit_hist_days(b));
	redis_args_adds(&a, b->keys.held);
	redis_args_adds(&a, b->keys.decisions);
	redis_args_adds(&a, b->keys.stats);
	redis_args_adds(&a, b->keys.dead);
	for (i = 0; i < n; i++, p += 4 * PIPELINE_NUM)
		commit_item(b, &a, &b->c[ci[i]], p);
	rc = redis_cmd(&a, commit_lua_cb, lc);
	redis_args_free(&a);
	free(nums);
	if (rc == 0)
		b->pending++;
	else {
		free(lc);
		b->failed = 1;
	}
}

/* Record which items one modq_decide wrote. */
static void
commit_lua_cb(void *r, void *arg)
{
	struct luacall *lc = arg;
	struct batch *b = lc->b;
	redisReply *reply = r;
	size_t i;

	b->pending--;
	if (reply == NULL || pipeline_error_reply(b, reply, "modq_decide"))
		b->failed = 1;
	else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != lc->n) {
		log_warnx("batch of %zu from %s: unexpected modq_decide reply",
		    b->n, b->c[0].sid);
		b->failed = 1;
	} else {
		for (i = 0; i < lc->n; i++)
			b->c[lc->ci[i]].written =
			    reply->element[i]->type == REDIS_REPLY_INTEGER
			    ? (int)reply->element[i]->integer
			    : 0;
	}
	free(lc);
	if (b->pending == 0)
		pipeline_step(b);
}

/*
 * The WATCH round, on the batch's write connection: WATCH, TIME, a type
 * check of the shared keys (one of the wrong type would fail the
 * transaction half-way), and each comment hash's status, author and
 * stream id.
 */
void
commit_watch(struct batch *b)
{
	struct redis_args a;
	size_t i;

	b->all_lua = 0;
	for (i = 0; i < b->n; i++)
		b->c[i].old = REC_NEW;
	free(b->wreqs);
	b->wreqs = xcalloc(b->n + 4, sizeof *b->wreqs);
	b->nwreqs = 0;
	redis_args_init(&a);
	redis_args_adds(&a, "WATCH");
	for (i = 0; i < b->n; i++)
		if (b->c[i].error == NULL)
			redis_args_adds(&a, b->c[i].ckey);
	pipeline_req(b, &a, 0, Q_WATCH, 0);
	redis_args_init(&a);
	redis_args_adds(&a, "TIME");
	pipeline_req(b, &a, 0, Q_TIME, 0);
	redis_args_init(&a);
	redis_args_adds(&a, "XLEN");
	redis_args_adds(&a, b->keys.decisions);
	pipeline_req(b, &a, 0, Q_CHECK, 0);
	redis_args_init(&a);
	redis_args_adds(&a, "ZCARD");
	redis_args_adds(&a, b->keys.held);
	pipeline_req(b, &a, 0, Q_CHECK, 0);
	for (i = 0; i < b->n; i++) {
		if (b->c[i].error != NULL)
			continue;
		redis_args_init(&a);
		redis_args_adds(&a, "HMGET");
		redis_args_adds(&a, b->c[i].ckey);
		redis_args_adds(&a, "status");
		redis_args_adds(&a, "author");
		redis_args_adds(&a, "stream_id");
		redis_args_adds(&a, "digest");
		pipeline_req(b, &a, (uint32_t)i, Q_RECORD, 0);
	}
}

/* Send a batch of dead letters only to modq_decide. */
void
commit_dead(struct batch *b)
{
	uint32_t *all;
	size_t i;

	all = xcalloc(b->n, sizeof *all);
	for (i = 0; i < b->n; i++)
		all[i] = (uint32_t)i;
	commit_lua(b, all, b->n);
	free(all);
}

/*
 * EXEC found a watched hash changed and wrote nothing: the comments of the
 * transaction go to modq_decide, which decides in Redis how to replace
 * whatever record is there now.
 */
void
commit_aborted(struct batch *b)
{
	uint32_t *ix;
	size_t i, n = 0;

	b->aborted = 0;
	log_info("batch of %zu from %s: a comment changed during the "
	         "transaction; deciding it with modq_decide",
	    b->n, b->c[0].sid);
	ix = xcalloc(b->n, sizeof *ix);
	for (i = 0; i < b->n; i++)
		if (commit_in_tx(&b->c[i]))
			ix[n++] = (uint32_t)i;
	commit_lua(b, ix, n);
	free(ix);
}

/* Tell whether a write connection is free. */
int
commit_can_take(void)
{
	int w;

	for (w = 0; w < REDIS_NWRITE; w++)
		if (cm.tx[w] == NULL)
			return (1);
	return (0);
}

/*
 * Give b a write connection of its own for its WATCH ... EXEC, if one is
 * free; returns 0, or -1 if all are taken.
 */
int
commit_take(struct batch *b)
{
	int w;

	for (w = 0; w < REDIS_NWRITE; w++) {
		if (cm.tx[w] == NULL) {
			cm.tx[w] = b;
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
void
commit_release(struct batch *b, int unwatch)
{
	struct redis_args a;

	if (b->wconn < 0)
		return;
	if (unwatch && redis_up()) {
		redis_args_init(&a);
		redis_args_adds(&a, "UNWATCH");
		redis_write(b->wconn, &a, pipeline_ignore_cb, NULL);
		redis_args_free(&a);
	}
	cm.tx[b->wconn] = NULL;
	b->wconn = -1;
	pipeline_conn_free();
}

/* Sort comment indices by comment key. */
static const struct batch *commit_sort_batch;
static int
commit_ckey_cmp(const void *x, const void *y)
{
	const struct comment *c = commit_sort_batch->c;

	return (
	    strcmp(c[*(const uint32_t *)x].ckey, c[*(const uint32_t *)y].ckey));
}

/*
 * Route the comments whose id comes twice in the batch to modq_decide: the
 * second replaces the first's record, which only the Function does.
 */
static void
commit_mark_twins(struct batch *b)
{
	uint32_t *ix;
	size_t i, n = 0;

	ix = xcalloc(b->n, sizeof *ix);
	for (i = 0; i < b->n; i++)
		if (b->c[i].error == NULL)
			ix[n++] = (uint32_t)i;
	commit_sort_batch = b;
	qsort(ix, n, sizeof *ix, commit_ckey_cmp);
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(b->c[ix[i]].ckey, b->c[ix[i + 1]].ckey) == 0) {
			b->c[ix[i]].old = REC_LUA;
			b->c[ix[i + 1]].old = REC_LUA;
		}
	}
	free(ix);
}

/* Count one stats field for the transaction. */
static void
commit_stat_add(struct commit_stat **st, size_t *n, const char *f)
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
commit_stat_queue(struct batch *b, const char *f, size_t n)
{
	char cnt[PIPELINE_NUM];

	if (n == 0)
		return;
	snprintf(cnt, sizeof cnt, "%zu", n);
	commit_queuel(b, "HINCRBY", b->keys.stats, f, cnt, NULL);
}

/* Queue a command of the NULL-terminated arguments inside MULTI. */
static void
commit_queuel(struct batch *b, const char *arg, ...)
{
	struct redis_args a;
	va_list ap;

	va_start(ap, arg);
	redis_args_initv(&a, arg, ap);
	va_end(ap);
	commit_queue(b, &a);
}

/* Queue one command inside MULTI. */
static void
commit_queue(struct batch *b, struct redis_args *a)
{
	if (redis_write_noreply(b->wconn, a) == -1)
		b->failed = 1;
	redis_args_free(a);
}

/*
 * Queue what modq_decide would do for a comment without a record: the
 * hash (with the decision time), its TTL unless held, the decisions
 * stream, the held set, the author's counter and reputation history.
 */
static void
commit_queue_decision(
    struct batch *b, struct comment *c, const struct txstr *tx)
{
	const char *st = rules_status_name(c->d.verdict);
	struct redis_args a;

	redis_args_init(&a);
	redis_args_adds(&a, "HSET");
	redis_args_adds(&a, c->ckey);
	commit_record_fields(b, &a, c, tx->now);
	commit_queue(b, &a);
	if (c->d.verdict != RULES_HOLD)
		commit_queuel(b, "EXPIRE", c->ckey, tx->ttl, NULL);
	commit_queuel(b, "XADD", b->keys.decisions, "MAXLEN", "~", tx->maxlen,
	    "*", "id", c->id, "status", st, "reasons", c->d.reasons, "by",
	    "modqd", NULL);
	if (c->d.verdict == RULES_HOLD)
		commit_queuel(b, "ZADD", b->keys.held, tx->now, c->id, NULL);
	if (*c->akey != '\0')
		commit_queuel(b, "HINCRBY", c->akey, st, "1", NULL);
	if (*c->hkey != '\0' && tx->day[0] != NULL)
		commit_queue_history(b, c, tx);
}

/*
 * Queue a decision's count in its author's reputation history (by day,
 * the oldest day dropped), as history_add_key() in modq.lua does it.
 */
static void
commit_queue_history(
    struct batch *b, const struct comment *c, const struct txstr *tx)
{
	const char *const *day = tx->day;

	commit_queuel(b, "HINCRBY", c->hkey, day[0], "1", NULL);
	if (c->d.verdict == RULES_REJECT)
		commit_queuel(b, "HINCRBY", c->hkey, day[1], "1", NULL);
	commit_queuel(b, "HDEL", c->hkey, day[2], day[3], NULL);
	commit_queuel(b, "PEXPIRE", c->hkey, tx->hist_ttl, NULL);
}

/* Format the numbers a transaction writes, from the decision time. */
static void
commit_tx_strings(const struct batch *b, struct txstr *tx)
{
	const struct conf *conf = server_conf();
	long days = commit_hist_days(b);
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

/* Say what the transaction does with a comment it settles. */
static int
commit_outcome(const struct comment *c)
{
	switch (c->old) {
	case REC_SAME:
		return (OUT_BEFORE);
	case REC_NEWER:
		return (OUT_SUPERSEDED);
	case REC_RESENT:
		return (OUT_RESENT);
	case REC_GONE:
		return (OUT_GONE);
	default:
		return (OUT_WRITTEN);
	}
}

/*
 * Queue taking a comment's records out of its rate windows inside MULTI:
 * one the site sent again, one whose comment was deleted, and one that a
 * newer entry of its id overtook (which is counted) count for nothing.
 */
static void
commit_queue_unrate(struct batch *b, const struct comment *c)
{
	struct redis_args a;
	size_t k;

	for (k = 0; k < rules_nrates(b->rules); k++) {
		if (*c->rkey[k] == '\0')
			continue;
		redis_args_init(&a);
		redis_args_adds(&a, "ZREM");
		redis_args_adds(&a, c->rkey[k]);
		redis_args_add(&a, c->rmember, sizeof c->rmember);
		commit_queue(b, &a);
	}
}

/* Tell whether a comment goes to the transaction, not to modq_decide. */
static int
commit_in_tx(const struct comment *c)
{
	return (c->error == NULL && c->old != REC_LUA);
}

/*
 * Send the transaction: MULTI, the writes of every new decision, XACK of
 * every entry it settles (new, decided before, superseded), the stats,
 * EXEC.
 */
static void
commit_send_tx(struct batch *b)
{
	const struct conf *conf = server_conf();
	struct commit_stat *st = NULL;
	struct redis_args a;
	struct comment *c;
	struct txstr tx;
	const char *f;
	size_t i, k, nst = 0, nwrite = 0, nsuper = 0, nresent = 0;

	commit_tx_strings(b, &tx);
	commit_queuel(b, "MULTI", NULL);
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (!commit_in_tx(c) || c->old == REC_SAME)
			continue;
		if (c->old == REC_NEWER || c->old == REC_RESENT ||
		    c->old == REC_GONE) {
			nsuper += c->old == REC_NEWER;
			nresent += c->old == REC_RESENT;
			commit_queue_unrate(b, c);
			continue;
		}
		commit_stat_names(c);
		for (k = 0, f = c->stats; k < c->nstats;
		     k++, f += strlen(f) + 1)
			commit_stat_add(&st, &nst, f);
		commit_queue_decision(b, c, &tx);
		nwrite++;
	}
	redis_args_init(&a);
	redis_args_adds(&a, "XACK");
	redis_args_adds(&a, b->keys.stream);
	redis_args_adds(&a, conf->group);
	for (i = 0; i < b->n; i++)
		if (commit_in_tx(&b->c[i]))
			redis_args_adds(&a, b->c[i].sid);
	commit_queue(b, &a);
	for (k = 0; k < nst; k++)
		commit_stat_queue(b, st[k].f, st[k].n);
	free(st);
	commit_stat_queue(b, "superseded", nsuper);
	commit_stat_queue(b, "resent", nresent);
	commit_stat_queue(b, "processed", nwrite + nsuper);
	redis_args_init(&a);
	redis_args_adds(&a, "EXEC");
	if (redis_write(b->wconn, &a, commit_exec_cb, b) == 0)
		b->pending++;
	else
		b->failed = 1;
	redis_args_free(&a);
}

/*
 * The commit round, once every record is read: classify each comment (no
 * record yet: the transaction writes it; its own stream id: decided
 * before, only acknowledged; a newer stream id: superseded; any other
 * record: modq_decide), then send the transaction, and modq_decide for
 * the rest and the dead letters.  EXEC ends the WATCH: the write
 * connection goes to the next batch.
 */
void
commit_send(struct batch *b)
{
	uint32_t *lua;
	size_t i, nlua = 0;

	commit_mark_twins(b);
	for (i = 0; i < b->n && b->all_lua; i++)
		b->c[i].old = REC_LUA;
	lua = xcalloc(b->n, sizeof *lua);
	for (i = 0; i < b->n; i++)
		if (!commit_in_tx(&b->c[i]))
			lua[nlua++] = (uint32_t)i;
	if (nlua < b->n)
		commit_send_tx(b);
	if (nlua > 0)
		commit_lua(b, lua, nlua);
	free(lua);
	commit_release(b, nlua == b->n);
}

/* Take in the EXEC reply. */
static void
commit_exec_cb(void *r, void *arg)
{
	struct batch *b = arg;
	redisReply *reply = r;
	struct comment *c;
	size_t i;

	b->pending--;
	if (reply == NULL || pipeline_error_reply(b, reply, "EXEC"))
		b->failed = 1;
	else if (reply->type == REDIS_REPLY_NIL)
		b->aborted =
		    1; /* a hash changed after WATCH: nothing written */
	else if (reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("batch of %zu from %s: unexpected EXEC reply", b->n,
		    b->c[0].sid);
		b->failed = 1;
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
			if (commit_in_tx(c))
				c->written = commit_outcome(c);
		}
	}
	if (b->pending == 0)
		pipeline_step(b);
}

/*
 * Classify a comment by its record (status, author, stream id, digest),
 * as modq_decide does in Redis: none yet; decided by this very entry
 * before; by a newer one; deleted; the same fields sent again; or an edit
 * (or anything else), which modq_decide replaces.
 */
static void
commit_classify(struct comment *c, redisReply **e)
{
	c->edit = 0;
	if (e[0]->type == REDIS_REPLY_NIL && e[1]->type == REDIS_REPLY_NIL &&
	    e[2]->type == REDIS_REPLY_NIL)
		return; /* no record: c->old stays REC_NEW */
	if (e[2]->type == REDIS_REPLY_STRING && strcmp(e[2]->str, c->sid) == 0)
		c->old = REC_SAME;
	else if (e[2]->type == REDIS_REPLY_STRING &&
	    pipeline_sid_older(c->sid, e[2]->str))
		c->old = REC_NEWER;
	else if (e[0]->type == REDIS_REPLY_STRING &&
	    strcmp(e[0]->str, "deleted") == 0)
		c->old = REC_GONE;
	else if (e[3]->type == REDIS_REPLY_STRING &&
	    strcmp(e[3]->str, c->digest) == 0)
		c->old = REC_RESENT;
	else {
		c->old = REC_LUA;
		c->edit = e[0]->type == REDIS_REPLY_STRING;
	}
}

/*
 * Take in one reply of the first write round (the server time, a shared
 * key's type check, or a comment's record); returns 0, or -1 if the
 * round failed.
 */
static int
commit_watch_reply(struct batch *b, const struct req *q, redisReply *r)
{
	int wrongtype;

	if (r == NULL)
		return (-1);
	if (r->type == REDIS_REPLY_ERROR) {
		wrongtype = strncmp(r->str, "WRONGTYPE", 9) == 0;
		if (wrongtype && q->kind == Q_RECORD)
			b->c[q->ci].old =
			    REC_LUA; /* modq_decide dead-letters it */
		else if (wrongtype && q->kind == Q_CHECK)
			b->all_lua = 1; /* modq_decide fails and retries */
		else {
			if (!b->failed)
				log_warnx("batch of %zu from %s: reading the "
				          "records: %s",
				    b->n, b->c[0].sid, r->str);
			return (-1);
		}
		return (0);
	}
	if (q->kind == Q_CHECK)
		return (r->type == REDIS_REPLY_INTEGER ? 0 : -1);
	if (q->kind == Q_WATCH)
		return (r->type == REDIS_REPLY_STATUS ? 0 : -1);
	if (r->type != REDIS_REPLY_ARRAY ||
	    r->elements != (q->kind == Q_TIME ? 2 : 4))
		return (-1);
	if (q->kind == Q_RECORD) {
		commit_classify(&b->c[q->ci], r->element);
		return (0);
	}
	if (r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING)
		return (-1);
	b->now_ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
	    strtoll(r->element[1]->str, NULL, 10) / 1000;
	return (0);
}

/* Take in a reply of the WATCH round. */
void
commit_watch_cb(void *r, void *arg)
{
	struct req *q = arg;
	struct batch *b = q->b;

	b->pending--;
	if (commit_watch_reply(b, q, r) == -1)
		b->failed = 1;
	if (b->pending == 0)
		pipeline_step(b);
}
