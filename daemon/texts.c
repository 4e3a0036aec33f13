/*
 * texts.c -- owns the index of recent texts behind the repeats and
 * campaigns rules, and its mirror in Redis, the stream <prefix>:texts.
 * Every daemon on one Redis adds a record of each comment it judges (a
 * print of its normalised text: a hash and a MinHash signature, and
 * hashes of its id, author, ip and thread: no text, no name in clear) and
 * reads every daemon's records back in the order Redis took them.  A
 * comment is compared with the records before its own first one, so a
 * redelivered comment sees what it saw the first time, plus nothing it
 * did not precede; counts are of distinct comment ids (repeats) and
 * distinct authors (campaigns), so a record added twice counts once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "pipeline.h"
#include "xmalloc.h"
#include "../rules/rules_int.h"

#define TEXTS_MAX 100000 /* records the index keeps: a bound on memory */
#define TEXTS_READ 10000 /* records one batch reads at most */
#define TEXTS_KEEP 200000 /* records the stream keeps at most */
#define TEXTS_HASH 17 /* a hex hash and its NUL */
#define TEXTS_PACK 512 /* bytes of one packed record at most */

/* What a comment brings to the index: hashes of who it is and where. */
struct texts_who {
	char id[TEXTS_HASH];
	char who[TEXTS_HASH + 1];
	char per[3][TEXTS_HASH];
};

static struct {
	struct similar *idx; /* owned */
	char *key; /* owned: <prefix>:texts */
	char last[48]; /* the last stream id read: "" none yet */
	long long from; /* where the first read starts: -1 not yet known */
	int warned; /* a bad record was logged */
	int reading; /* a read is in flight */
	struct batch **wait; /* owned: batches for the next read */
	size_t nwait;
	size_t capwait;
	struct batch **covered; /* owned: batches the read in flight serves */
	size_t ncovered;
	size_t capcovered;
} tx = {.from = -1};

static void texts_hash(char *, char, const char *);
static void texts_rec(
    const struct comment *, struct texts_who *, struct similar_rec *);
static long long texts_window(const struct ruleset *);
static void texts_add(const redisReply *);
static void texts_read(void);
static void texts_cb(void *, void *);
static void texts_unsent(evutil_socket_t, short, void *);
static void texts_count(struct batch *);

/* Tell whether the ruleset has rules that need the index. */
int
texts_wanted(const struct ruleset *rs)
{
	return (rules_nrepeats(rs) > 0 || rules_ncampaigns(rs) > 0);
}

/* Free the index (at exit). */
void
texts_free(void)
{
	similar_free(tx.idx);
	free(tx.key);
	free(tx.wait);
	free(tx.covered);
	memset(&tx, 0, sizeof tx);
	tx.from = -1;
}

/*
 * Write a hex hash of s (tagged, so an author and an ip never share one)
 * into out; "" stays "".
 */
static void
texts_hash(char *out, char tag, const char *s)
{
	unsigned long long h = 0xcbf29ce484222325ULL;

	if (*s == '\0') {
		*out = '\0';
		return;
	}
	h = (h ^ (unsigned char)tag) * 0x100000001b3ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	snprintf(out, TEXTS_HASH, "%016llx", h);
}

/*
 * Fill a comment's record: who is its author, else its ip, else the
 * comment itself (an anonymous comment is one more person).
 */
static void
texts_rec(const struct comment *c, struct texts_who *w, struct similar_rec *r)
{
	texts_hash(w->id, 'c', c->id);
	texts_hash(w->per[RULES_PER_AUTHOR], 'a', c->author);
	texts_hash(w->per[RULES_PER_IP], 'i', c->ip);
	texts_hash(w->per[RULES_PER_THREAD], 't', c->thread);
	if (*c->author != '\0')
		snprintf(
		    w->who, sizeof w->who, "a%s", w->per[RULES_PER_AUTHOR]);
	else if (*c->ip != '\0')
		snprintf(w->who, sizeof w->who, "i%s", w->per[RULES_PER_IP]);
	else
		snprintf(w->who, sizeof w->who, "c%s", w->id);
	memset(r, 0, sizeof *r);
	r->ts = c->ts;
	r->id = w->id;
	r->who = w->who;
	r->per[0] = w->per[0];
	r->per[1] = w->per[1];
	r->per[2] = w->per[2];
	r->print = c->match.print;
}

/* The longest window of the rules, in ms: what the stream keeps. */
static long long
texts_window(const struct ruleset *rs)
{
	long long w = 0;
	size_t i;

	for (i = 0; i < rules_nrepeats(rs); i++)
		if (rules_repeat(rs, i)->window > w)
			w = rules_repeat(rs, i)->window;
	for (i = 0; i < rules_ncampaigns(rs); i++)
		if (rules_campaign(rs, i)->window > w)
			w = rules_campaign(rs, i)->window;
	return (w * 1000);
}

/*
 * Queue the batch's part of the context round: an XADD of each comment's
 * record (the stream capped at TEXTS_KEEP records), one XTRIM to the
 * longest window, then one XRANGE of every record after the last one
 * read.  reqs needs n + 2 more slots.
 */
void
texts_send(struct batch *b)
{
	struct texts_who w;
	struct similar_rec r;
	struct redis_args a;
	char pack[TEXTS_PACK];
	size_t i, n;
	long long from = b->c[0].ts - texts_window(b->rules);

	/* a stream id the site chose may be small: ids are never negative */
	if (from < 0)
		from = 0;
	if (tx.idx == NULL)
		tx.idx = similar_new(TEXTS_MAX);
	for (i = 0; i < b->n; i++) {
		if (b->c[i].error != NULL)
			continue;
		texts_rec(&b->c[i], &w, &r);
		n = similar_pack(&r, pack, sizeof pack);
		if (n == 0 || n > sizeof pack)
			continue; /* cannot be: its strings are short hashes */
		redis_args_init(&a);
		redis_args_adds(&a, "XADD");
		redis_args_adds(&a, b->keys.texts);
		redis_args_adds(&a, "MAXLEN");
		redis_args_adds(&a, "~");
		redis_args_addf(&a, "%d", TEXTS_KEEP);
		redis_args_adds(&a, "*");
		redis_args_adds(&a, "r");
		redis_args_add(&a, pack, n);
		pipeline_req(b, &a, (uint32_t)i, Q_IGNORE, 0);
	}
	redis_args_init(&a);
	redis_args_adds(&a, "XTRIM");
	redis_args_adds(&a, b->keys.texts);
	redis_args_adds(&a, "MINID");
	redis_args_adds(&a, "~");
	redis_args_addf(&a, "%lld", from);
	pipeline_req(b, &a, 0, Q_IGNORE, 0);
	/* the read is this batch's last context reply */
	b->pending++;
	if (tx.nwait == tx.capwait) {
		tx.capwait = tx.capwait == 0 ? 16 : tx.capwait * 2;
		tx.wait = xreallocarray(tx.wait, tx.capwait, sizeof *tx.wait);
	}
	tx.wait[tx.nwait++] = b;
	if (tx.key == NULL)
		tx.key = xstrdup(b->keys.texts);
	if (tx.from < 0 || from < tx.from)
		tx.from = from;
	if (!tx.reading)
		texts_read();
}

/*
 * Send one XRANGE of every record after the last one read, for all the
 * batches waiting: their XADDs went before it on the same connection, so
 * it brings their own records too.  One read at a time, so each record is
 * read once however many batches are in flight; the batches that come
 * meanwhile wait for the next read, sent when this one is answered.
 */
static void
texts_read(void)
{
	static const struct timeval now = {0, 0};
	struct redis_args a;
	struct batch **t;
	size_t n;

	t = tx.covered;
	n = tx.capcovered;
	tx.covered = tx.wait;
	tx.ncovered = tx.nwait;
	tx.capcovered = tx.capwait;
	tx.wait = t;
	tx.nwait = 0;
	tx.capwait = n;
	redis_args_init(&a);
	redis_args_adds(&a, "XRANGE");
	redis_args_adds(&a, tx.key);
	if (*tx.last == '\0')
		redis_args_addf(&a, "%lld", tx.from);
	else
		redis_args_addf(&a, "(%s", tx.last);
	redis_args_adds(&a, "+");
	redis_args_adds(&a, "COUNT");
	redis_args_addf(&a, "%d", TEXTS_READ);
	tx.reading = 1;
	/* not sent: fail its batches from the loop, not from their caller */
	if (redis_cmd(&a, texts_cb, NULL) != 0)
		event_base_once(
		    server_base(), -1, EV_TIMEOUT, texts_unsent, NULL, &now);
	redis_args_free(&a);
}

/* A read that could not be sent: its batches fail and are retried. */
static void
texts_unsent(UNUSED evutil_socket_t fd, UNUSED short ev, UNUSED void *arg)
{
	texts_cb(NULL, NULL);
}

/*
 * Take in a read's reply: the records go to the index, then each batch it
 * served counts its comments' repeats and campaigns and goes on.  No
 * reply (the connection failed) or an error fails those batches, which
 * are retried; a key of the wrong type reads as nothing, not counted.
 */
static void
texts_cb(void *r, void *arg)
{
	redisReply *reply = r;
	struct batch **served, *b;
	size_t i, n;
	int ok;

	(void)arg;
	tx.reading = 0;
	served = xreallocarray(NULL, tx.ncovered + 1, sizeof *served);
	n = tx.ncovered;
	memcpy(served, tx.covered, n * sizeof *served);
	tx.ncovered = 0;
	ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("texts: %s: %s", tx.key, reply->str);
	if (ok)
		for (i = 0; i < reply->elements; i++)
			texts_add(reply->element[i]);
	if (tx.nwait > 0)
		texts_read();
	for (i = 0; i < n; i++) {
		b = served[i];
		if (ok)
			texts_count(b);
		else if (reply == NULL ||
		    strncmp(reply->str, "WRONGTYPE", 9) != 0)
			b->failed = 1;
		if (--b->pending == 0)
			pipeline_step(b);
	}
	free(served);
}

/*
 * Add one stream entry [id, [field, value...]] to the index, unless an
 * earlier reply brought it (two batches in flight read the same records).
 * A record another program wrote, or a damaged one, is skipped.
 */
static void
texts_add(const redisReply *e)
{
	const redisReply *id, *fv;
	struct similar_rec r;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return;
	id = e->element[0];
	fv = e->element[1];
	if (id->type != REDIS_REPLY_STRING || id->len >= sizeof tx.last)
		return;
	if (*tx.last != '\0' && !pipeline_sid_older(tx.last, id->str))
		return;
	memcpy(tx.last, id->str, id->len + 1);
	if (fv->type != REDIS_REPLY_ARRAY || fv->elements != 2 ||
	    fv->element[1]->type != REDIS_REPLY_STRING ||
	    similar_unpack(fv->element[1]->str, fv->element[1]->len, &r) ==
	        -1) {
		if (!tx.warned)
			log_warnx("texts: record %s is not modqd's; skipped "
			          "(and any others, silently)",
			    tx.last);
		tx.warned = 1;
		return;
	}
	similar_add(tx.idx, &r);
}

/*
 * Count each comment's repeats and campaigns among the records before its
 * own first one (all of them if its own is not read yet: the reply was
 * cut at TEXTS_READ).
 */
static void
texts_count(struct batch *b)
{
	const struct rules_repeat *rp;
	const struct rules_campaign *cp;
	struct texts_who w;
	struct similar_rec r;
	struct comment *c;
	uint64_t before;
	size_t i, k;

	similar_expire(tx.idx, b->c[0].ts - texts_window(b->rules));
	for (i = 0; i < b->n; i++) {
		c = &b->c[i];
		if (c->error != NULL)
			continue;
		texts_rec(c, &w, &r);
		before = similar_first(tx.idx, &r);
		if (before == 0)
			before = UINT64_MAX;
		for (k = 0; k < rules_nrepeats(b->rules); k++) {
			rp = rules_repeat(b->rules, k);
			c->ctx.repeat[k] = similar_repeats(tx.idx, before,
			    c->ts - rp->window * 1000, &r, rp->per);
		}
		for (k = 0; k < rules_ncampaigns(b->rules); k++) {
			cp = rules_campaign(b->rules, k);
			c->ctx.campaign[k] = (long)r.print.words < cp->min_words
			    ? -1
			    : similar_authors(tx.idx, before,
			          c->ts - cp->window * 1000, &r, cp->similarity,
			          cp->authors);
		}
	}
}
