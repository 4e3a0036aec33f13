/*
 * rejudge.c -- modqd -R: judge the comments Redis decided last again with
 * another config's rules, and print those whose verdict would change.  It
 * owns one synchronous hiredis connection of its own and only reads:
 * XREVRANGE of the decisions stream, a page at a time, and HMGET of the
 * records; nothing it sends can write.  The judgement is -e's, without
 * context (trial_judge()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "modqd.h"
#include "xmalloc.h"

#define REJUDGE_PAGE 1000 /* decisions entries one XREVRANGE reads */
#define REJUDGE_MAX 1000000 /* -R N at most */
#define REJUDGE_DEAD 3 /* an outcome beside the verdicts: a dead letter */
#define REJUDGE_NOUT 4

/*
 * The ids met on the decisions stream, so each comment is judged once, for
 * its latest decision: an open-addressed set of strings.
 */
struct rejudge_set {
	char **slot; /* owned, and each string */
	size_t cap; /* a power of 2 */
	size_t n;
};

/* One run of -R. */
struct rejudge {
	redisContext *rc; /* owned */
	const struct conf *conf; /* borrowed */
	struct ruleset *rs; /* borrowed */
	struct rejudge_set seen;
	long want; /* N: comments to take */
	long taken; /* taken so far, gone ones included */
	unsigned long long judged, changed, gone;
	unsigned long long moves[REJUDGE_NOUT][REJUDGE_NOUT]; /* old, new */
};

static const char *const rejudge_names[REJUDGE_NOUT] = {
    "approve", "hold", "reject", "dead"};

static redisContext *rejudge_connect(const struct conf *);
static int rejudge_login(redisContext *, const struct conf *);
static redisReply *rejudge_command(redisContext *, int, const char **);
static redisReply *rejudge_reply(redisContext *, redisReply *);
static int rejudge_walk(struct rejudge *);
static int rejudge_page(struct rejudge *, const redisReply *);
static int rejudge_entry_ok(const redisReply *);
static const char *rejudge_entry(const redisReply *, int *);
static int rejudge_status(const redisReply *);
static void rejudge_append(struct rejudge *, const char *);
static int rejudge_record(struct rejudge *, const char *);
static void rejudge_compare(struct rejudge *, const char *, int,
    const redisReply *, const redisReply *);
static void rejudge_summary(const struct rejudge *);
static uint64_t rejudge_hash(const char *);
static int rejudge_set_add(struct rejudge_set *, const char *);
static void rejudge_set_grow(struct rejudge_set *);
static void rejudge_set_free(struct rejudge_set *);

/* Parse -R's count, 1 to REJUDGE_MAX; -1 when it is not one. */
long
rejudge_count(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > REJUDGE_MAX)
		return (-1);
	return (v);
}

/*
 * Judge the last want decided comments again with rs and print each whose
 * verdict would change, then the counts on standard error.  Return 0, or
 * 1 when Redis could not be reached or answered an error.
 */
int
rejudge_run(struct ruleset *rs, const struct conf *conf, long want)
{
	struct rejudge j;
	int rc;

	memset(&j, 0, sizeof j);
	j.conf = conf;
	j.rs = rs;
	j.want = want;
	if ((j.rc = rejudge_connect(conf)) == NULL)
		return (1);
	rc = rejudge_walk(&j);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -1;
	if (rc == 0)
		rejudge_summary(&j);
	redisFree(j.rc);
	rejudge_set_free(&j.seen);
	return (rc == 0 ? 0 : 1);
}

/*
 * Connect as the daemon would, with the config's redis.* values (with
 * Sentinel, to the primary the sentinels name; in a cluster, to the
 * primary of the site's hash slot) and redis.timeout_ms for the connect
 * and for each reply; NULL (reported) on failure.
 */
static redisContext *
rejudge_connect(const struct conf *c)
{
	struct timeval tv;
	redisContext *rc;
	char where[1024], *host, *cause;
	int port, rv;

	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	if (c->nsentinels > 0 || c->redis_cluster) {
		if (c->redis_cluster) {
			rv = cluster_primary(c, &host, &port, &cause);
			cluster_close();
		} else {
			rv = sentinel_primary(c, &host, &port, &cause);
			sentinel_close();
		}
		if (rv == -1) {
			fprintf(stderr, "modqd: %s\n", cause);
			free(cause);
			return (NULL);
		}
		snprintf(where, sizeof where, "%s:%d", host, port);
		rc = redisConnectWithTimeout(host, port, tv);
		free(host);
	} else if (c->redis_unix != NULL) {
		snprintf(where, sizeof where, "%s", c->redis_unix);
		rc = redisConnectUnixWithTimeout(c->redis_unix, tv);
	} else {
		snprintf(where, sizeof where, "%s:%ld", c->redis_host,
		    c->redis_port);
		rc = redisConnectWithTimeout(
		    c->redis_host, (int)c->redis_port, tv);
	}
	if (rc == NULL || rc->err) {
		fprintf(stderr, "modqd: cannot connect to Redis at %s: %s\n",
		    where, rc != NULL ? rc->errstr : "out of memory");
		if (rc != NULL)
			redisFree(rc);
		return (NULL);
	}
	if (redisSetTimeout(rc, tv) != REDIS_OK || rejudge_login(rc, c) == -1) {
		redisFree(rc);
		return (NULL);
	}
	return (rc);
}

/* AUTH and SELECT as the config says; -1 (reported) on failure. */
static int
rejudge_login(redisContext *rc, const struct conf *c)
{
	const char *argv[3];
	redisReply *r;
	char db[32];
	int n = 0;

	if (c->redis_password != NULL) {
		argv[n++] = "AUTH";
		if (c->redis_user != NULL)
			argv[n++] = c->redis_user;
		argv[n++] = c->redis_password;
		if ((r = rejudge_command(rc, n, argv)) == NULL)
			return (-1);
		freeReplyObject(r);
	}
	if (c->redis_db != 0) {
		snprintf(db, sizeof db, "%ld", c->redis_db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((r = rejudge_command(rc, 2, argv)) == NULL)
			return (-1);
		freeReplyObject(r);
	}
	return (0);
}

/* Send one command and wait for its reply, checked by rejudge_reply(). */
static redisReply *
rejudge_command(redisContext *rc, int argc, const char **argv)
{
	size_t len[8];
	int i;

	for (i = 0; i < argc && i < 8; i++)
		len[i] = strlen(argv[i]);
	return (rejudge_reply(rc, redisCommandArgv(rc, argc, argv, len)));
}

/* Report a failed command or an error reply and give NULL; else r. */
static redisReply *
rejudge_reply(redisContext *rc, redisReply *r)
{
	if (r == NULL) {
		fprintf(stderr, "modqd: redis: %s\n",
		    rc->errstr[0] != '\0' ? rc->errstr : "no reply");
		return (NULL);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "modqd: redis: %s\n", r->str);
		freeReplyObject(r);
		return (NULL);
	}
	return (r);
}

/*
 * Read the decisions stream newest first, a page at a time, until want
 * comments are taken or the stream's start: memory holds one page and
 * the set of ids met, never the stream.
 */
static int
rejudge_walk(struct rejudge *j)
{
	const char *argv[6];
	redisReply *r;
	char *end, count[16];
	size_t n;
	int rc = 0;

	snprintf(count, sizeof count, "%d", REJUDGE_PAGE);
	end = xstrdup("+");
	while (rc == 0 && j->taken < j->want) {
		argv[0] = "XREVRANGE";
		argv[1] = j->conf->keys.decisions;
		argv[2] = end;
		argv[3] = "-";
		argv[4] = "COUNT";
		argv[5] = count;
		if ((r = rejudge_command(j->rc, 6, argv)) == NULL) {
			rc = -1;
			break;
		}
		n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		if (n > 0 && (rc = rejudge_page(j, r)) == 0) {
			/* "(": exclusive, the page after the last entry */
			free(end);
			xasprintf(
			    &end, "(%s", r->element[n - 1]->element[0]->str);
		}
		freeReplyObject(r);
		if (n < REJUDGE_PAGE)
			break;
	}
	free(end);
	return (rc);
}

/*
 * Take the comments of one page: each decided id met for the first time
 * (approved, held or rejected; an id whose latest entry is deleted is
 * passed over, an error entry ignored).  Their records are read with one
 * pipelined HMGET each and judged in the order of the page.
 */
static int
rejudge_page(struct rejudge *j, const redisReply *page)
{
	const char **ids;
	const char *id;
	size_t i, n = 0;
	int decided, rc = 0;

	for (i = 0; i < page->elements; i++) {
		if (!rejudge_entry_ok(page->element[i])) {
			fprintf(stderr, "modqd: redis: %s is not a stream\n",
			    j->conf->keys.decisions);
			return (-1);
		}
	}
	ids = xreallocarray(NULL, page->elements, sizeof *ids);
	for (i = 0; i < page->elements && j->taken < j->want; i++) {
		if ((id = rejudge_entry(page->element[i], &decided)) == NULL)
			continue;
		if (rejudge_set_add(&j->seen, id) == 0 || !decided)
			continue;
		ids[n++] = id;
		j->taken++;
	}
	for (i = 0; i < n; i++)
		rejudge_append(j, ids[i]);
	for (i = 0; i < n && rc == 0; i++)
		rc = rejudge_record(j, ids[i]);
	free(ids);
	return (rc);
}

/* Whether e is a stream entry: its id, then a list of fields. */
static int
rejudge_entry_ok(const redisReply *e)
{
	return (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
	    e->element[0]->type == REDIS_REPLY_STRING &&
	    e->element[1]->type == REDIS_REPLY_ARRAY);
}

/*
 * The comment id of a decisions entry, NULL when it has none (an error
 * entry of an entry without a valid id); *decided tells whether its status
 * is a decision to judge again, not deleted or error.
 */
static const char *
rejudge_entry(const redisReply *e, int *decided)
{
	const redisReply *f = e->element[1], *k, *v;
	const char *id = NULL;
	int status = -1;
	size_t i;

	for (i = 0; i + 1 < f->elements; i += 2) {
		k = f->element[i];
		v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "id") == 0 &&
		    entry_id_ok(v->str, (size_t)v->len))
			id = v->str;
		else if (strcmp(k->str, "status") == 0)
			status = rejudge_status(v);
	}
	if (status == -2) /* error: the id may be reused by a good entry */
		return (NULL);
	*decided = status >= 0;
	return (id);
}

/*
 * The verdict a record's or an entry's status stands for; -1 for deleted
 * or anything else, -2 for error.
 */
static int
rejudge_status(const redisReply *v)
{
	if (v == NULL || v->type != REDIS_REPLY_STRING)
		return (-1);
	if (strcmp(v->str, "approved") == 0)
		return (RULES_APPROVE);
	if (strcmp(v->str, "held") == 0)
		return (RULES_HOLD);
	if (strcmp(v->str, "rejected") == 0)
		return (RULES_REJECT);
	if (strcmp(v->str, "error") == 0)
		return (-2);
	return (-1);
}

/* Queue the HMGET of a comment's record on the pipeline. */
static void
rejudge_append(struct rejudge *j, const char *id)
{
	const char *argv[5];
	size_t len[5];
	char *key;
	int i;

	xasprintf(&key, KEY_COMMENT, j->conf->prefix, id);
	argv[0] = "HMGET";
	argv[1] = key;
	argv[2] = "status";
	argv[3] = "decided_by";
	argv[4] = "body";
	for (i = 0; i < 5; i++)
		len[i] = strlen(argv[i]);
	redisAppendCommandArgv(j->rc, 5, argv, len);
	free(key);
}

/*
 * Read the record of id from the pipeline and judge it; a record gone
 * since (expired, or deleted) is counted and passed over.
 */
static int
rejudge_record(struct rejudge *j, const char *id)
{
	redisReply *r;
	void *v;
	int old;

	if (redisGetReply(j->rc, &v) != REDIS_OK)
		v = NULL;
	if ((r = rejudge_reply(j->rc, v)) == NULL)
		return (-1);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    (old = rejudge_status(r->element[0])) < 0 ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		j->gone++;
	else
		rejudge_compare(j, id, old, r->element[1], r->element[2]);
	freeReplyObject(r);
	return (0);
}

/*
 * Judge the body offline and print the comment when the verdict changes:
 * id, old, new, the new reasons, and "moderator" when a person made the
 * decision that stands.  A body over this config's queue.max_body would be
 * a dead letter.
 */
static void
rejudge_compare(struct rejudge *j, const char *id, int old,
    const redisReply *by, const redisReply *body)
{
	struct rules_match m;
	struct rules_decision d;
	const char *reasons = "-";
	int new, judged = 0;

	if (body->len > (size_t)j->conf->max_body)
		new = REJUDGE_DEAD;
	else if (trial_judge(j->rs, body->str, body->len, &m, &d) == -1) {
		fprintf(stderr, "modqd: comment %s: matcher failed\n", id);
		new = RULES_HOLD; /* as the daemon's matcher-error */
		reasons = "matcher-error";
	} else {
		judged = 1;
		new = (int)d.verdict;
		if (*d.reasons != '\0')
			reasons = d.reasons;
	}
	j->judged++;
	if (new != old) {
		j->changed++;
		j->moves[old][new]++;
		printf("%s\t%s\t%s\t%s%s\n", id, rejudge_names[old],
		    rejudge_names[new], reasons,
		    by->type == REDIS_REPLY_STRING &&
		            strcmp(by->str, "modqd") != 0
		        ? "\tmoderator"
		        : "");
	}
	if (judged) {
		rules_decision_free(&d);
		rules_match_free(&m);
	}
}

/*
 * Print "N re-judged, M would change (x approve→hold, ...), K gone" on
 * standard error, the moves in the order of the verdicts.
 */
static void
rejudge_summary(const struct rejudge *j)
{
	const char *sep = " (";
	int o, n;

	fprintf(
	    stderr, "%llu re-judged, %llu would change", j->judged, j->changed);
	for (o = 0; o < REJUDGE_NOUT; o++) {
		for (n = 0; n < REJUDGE_NOUT; n++) {
			if (j->moves[o][n] == 0)
				continue;
			fprintf(stderr, "%s%llu %s\u2192%s", sep,
			    j->moves[o][n], rejudge_names[o], rejudge_names[n]);
			sep = ", ";
		}
	}
	fprintf(stderr, "%s, %llu gone\n", j->changed > 0 ? ")" : "", j->gone);
}

/* FNV-1a of a string. */
static uint64_t
rejudge_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h);
}

/* Add id to the set: 1 when it is new, 0 when it was there. */
static int
rejudge_set_add(struct rejudge_set *s, const char *id)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap)
		rejudge_set_grow(s);
	i = rejudge_hash(id) & (s->cap - 1);
	while (s->slot[i] != NULL) {
		if (strcmp(s->slot[i], id) == 0)
			return (0);
		i = (i + 1) & (s->cap - 1);
	}
	s->slot[i] = xstrdup(id);
	s->n++;
	return (1);
}

/* Double the set (at most half full keeps probes short). */
static void
rejudge_set_grow(struct rejudge_set *s)
{
	char **old = s->slot;
	size_t i, k, cap = s->cap;

	s->cap = cap == 0 ? 1024 : cap * 2;
	s->slot = xcalloc(s->cap, sizeof *s->slot);
	for (i = 0; i < cap; i++) {
		if (old[i] == NULL)
			continue;
		k = rejudge_hash(old[i]) & (s->cap - 1);
		while (s->slot[k] != NULL)
			k = (k + 1) & (s->cap - 1);
		s->slot[k] = old[i];
	}
	free(old);
}

/* Free the set's strings and slots. */
static void
rejudge_set_free(struct rejudge_set *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}
