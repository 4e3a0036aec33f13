/*
 * intake.c -- owns the reading side of the queue: new entries read on the
 * intake connection, taking back this consumer's own pending entries
 * after a (re)connect, claiming entries other consumers left idle
 * (XAUTOCLAIM, from the housekeeping tick), and back-pressure (never more
 * than queue.max_inflight comments in flight).  Every entry is checked by
 * entry.c; one that cannot be judged becomes a dead letter with its reason,
 * never a crash and never a silent drop.
 *
 * New entries come with a plain blocking XREADGROUP, the cheapest read
 * Redis has, whose reply redis.c reads within limits: room entries of at
 * most E bytes each (entry_max_size()), no string and no array longer
 * than a valid entry's may be.  A reply over them (a body of megabytes, an entry of thousands of
 * fields) is dropped unread with the connections; the entries it held are
 * then pending for this consumer and come back through modq_claim, which
 * cuts them in Redis (modq.lua), and for INTAKE_BOUNDED_MS new entries are
 * read through modq_read, which cuts them too but cannot block: the
 * stream is asked again after 1 to 10 ms when it is empty.  So an
 * attacker's entries cost at most one reconnect per INTAKE_BOUNDED_MS.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define INTAKE_BLOCK_MS 2000 /* XREADGROUP BLOCK */
#define INTAKE_BOUNDED_MS 600000 /* modq_read after an oversized reply */
#define INTAKE_POLL_MIN_MS 1 /* modq_read found nothing: again after this, */
#define INTAKE_POLL_MAX_MS 10 /* doubling up to this */
#define INTAKE_TRIM_MS 1000 /* modq_trim at most this often */

enum intake_claim {
	CLAIM_NONE = 0,
	CLAIM_OWN, /* taking back our own pending entries */
	CLAIM_IDLE /* taking over entries other consumers left idle */
};

static struct {
	int started; /* Redis is up and we may read */
	int reading; /* a read is outstanding */
	int lua; /* it is modq_read's */
	struct event *poll; /* the wait after an empty modq_read */
	long poll_ms; /* its length; 0 after a read that found entries */
	unsigned long long oversized; /* redis_oversized() last seen */
	struct timeval bounded_until; /* read through modq_read until then */
	enum intake_claim claiming; /* a modq_claim is outstanding */
	int recovering; /* own pending entries not all taken back yet */
	char own_start[64];
	char idle_start[64];
	struct timeval last_idle; /* last XAUTOCLAIM pass that finished */
	struct timeval last_trim; /* last modq_trim sent */
	int trimming; /* a modq_trim is outstanding */
	char *trim_error; /* owned: the last modq_trim error logged */
	struct timeval hold_until; /* after an error reply: wait until then */
	long backoff_ms; /* the current wait after an error reply */
	unsigned long long redeliveries;
} in;

static size_t intake_space(void);
static int intake_holding(void);
static void intake_error(const char *, const char *);
static void intake_read_cb(void *, void *);
static void intake_claim(enum intake_claim);
static void intake_claim_cb(void *, void *);
static void intake_trim(void);
static void intake_trim_cb(void *, void *);
static void intake_poll_cb(evutil_socket_t, short, void *);
static void intake_wait(void);
static void intake_fcall(struct redis_args *, const char *);
static int intake_until(struct timeval *);
static int intake_bounded(void);
static const redisReply *intake_entries(const redisReply *, int);
static size_t *intake_cut_sizes(
    const redisReply *, const size_t *, size_t, size_t *);
static int intake_is_entry(const redisReply *);
static int intake_entry(struct batch *, const redisReply *, long);

/* Redis is up: take back our own pending entries, then read new ones. */
void
intake_start(void)
{
	if (server_stopping())
		return;
	in.started = 1;
	in.reading = 0;
	in.claiming = CLAIM_NONE;
	in.recovering = 1;
	in.backoff_ms = 0;
	timerclear(&in.hold_until);
	snprintf(in.own_start, sizeof in.own_start, "-");
	snprintf(in.idle_start, sizeof in.idle_start, "0-0");
	gettimeofday(&in.last_idle, NULL);
	if (redis_oversized() != in.oversized) {
		in.oversized = redis_oversized();
		gettimeofday(&in.bounded_until, NULL);
		in.bounded_until.tv_sec += INTAKE_BOUNDED_MS / 1000;
	}
	intake_claim(CLAIM_OWN);
}

/*
 * Tell whether the time *until is still ahead.  One that has passed is
 * cleared: until it is set again, the answer is no without a clock read.
 */
static int
intake_until(struct timeval *until)
{
	struct timeval now;

	if (!timerisset(until))
		return (0);
	gettimeofday(&now, NULL);
	if (timercmp(&now, until, <))
		return (1);
	timerclear(until);
	return (0);
}

/* Tell whether new entries are read through modq_read for now. */
static int
intake_bounded(void)
{
	int bounded = timerisset(&in.bounded_until);

	if (intake_until(&in.bounded_until))
		return (1);
	if (bounded)
		log_info("intake: reading with XREADGROUP again");
	return (0);
}

/* Redis went down or we are stopping: read nothing more. */
void
intake_stop(void)
{
	in.started = 0;
	if (in.poll != NULL) {
		event_free(in.poll);
		in.poll = NULL;
	}
}

/*
 * A read or a claim got an error reply.  A stream or group that vanished
 * is set up again; a library Redis lost is loaded again.  Then (and for
 * LOADING, BUSY, OOM, READONLY...) back off until the tick tries again:
 * wait 100 ms, doubling up to 5 s, and log only when the wait grows, so a
 * Redis that is busy for a minute does not fill the log.
 */
static void
intake_error(const char *what, const char *err)
{
	struct timeval now, d;

	if (strstr(err, "NOGROUP") != NULL) {
		redis_reset("the stream or consumer group vanished");
		return;
	}
	if (strstr(err, "Function not found") != NULL ||
	    strstr(err, "unknown prefix") != NULL)
		redis_reload_functions();
	in.backoff_ms = in.backoff_ms == 0 ? 100 : in.backoff_ms * 2;
	if (in.backoff_ms > 5000)
		in.backoff_ms = 5000;
	else
		log_warnx("intake: %s: %s; retrying in %ld ms", what, err,
		    in.backoff_ms);
	gettimeofday(&now, NULL);
	d.tv_sec = in.backoff_ms / 1000;
	d.tv_usec = (in.backoff_ms % 1000) * 1000;
	timeradd(&now, &d, &in.hold_until);
}

/* Tell whether intake is waiting out an error back-off. */
static int
intake_holding(void)
{
	return (intake_until(&in.hold_until));
}

/* Say how many more comments may be taken into flight. */
static size_t
intake_space(void)
{
	const struct conf *conf = server_conf();
	size_t inflight = pipeline_inflight(), max = (size_t)conf->max_inflight;
	size_t room = inflight < max ? max - inflight : 0;

	return (room < (size_t)conf->batch ? room : (size_t)conf->batch);
}

/*
 * Send the next read if there is room and none is outstanding: a blocking
 * XREADGROUP, or modq_read for a while after an oversized reply.  Either
 * reply may hold room entries of E bytes (with their ids, names and the
 * stream's name), no string longer than a valid one may be, and no array
 * longer than an entry's fields.
 */
void
intake_rearm(void)
{
	const struct conf *conf = server_conf();
	struct redis_limits lim;
	struct redis_args a;
	size_t room;
	long block = 0;

	if (!in.started || in.reading || in.recovering || server_stopping() ||
	    intake_holding())
		return;
	if ((room = intake_space()) == 0)
		return;
	lim.bytes = room * entry_max_size(conf->max_body) + ENTRY_SLACK;
	lim.string = entry_max_string(conf->max_body);
	lim.elems = 2 * ENTRY_MAX_PAIRS + 1; /* modq_read: [n, sizes...] */
	if (lim.elems < room)
		lim.elems = room;
	if ((in.lua = intake_bounded())) {
		intake_fcall(&a, "modq_read");
		redis_args_addf(&a, "%zu", room);
		redis_args_addf(&a, "%ld", conf->max_body);
	} else {
		block = INTAKE_BLOCK_MS;
		redis_args_init(&a);
		redis_args_adds(&a, "XREADGROUP");
		redis_args_adds(&a, "GROUP");
		redis_args_adds(&a, conf->group);
		redis_args_adds(&a, conf->consumer);
		redis_args_adds(&a, "COUNT");
		redis_args_addf(&a, "%zu", room);
		redis_args_adds(&a, "BLOCK");
		redis_args_addf(&a, "%ld", block);
		redis_args_adds(&a, "STREAMS");
		redis_args_adds(&a, conf->keys.stream);
		redis_args_adds(&a, ">");
	}
	if (redis_read(&a, block, &lim, intake_read_cb, NULL) == 0) {
		in.reading = 1;
		server_intake_running();
	}
	redis_args_free(&a);
}

/* Start the arguments of FCALL fn 1 prefix stream group consumer. */
static void
intake_fcall(struct redis_args *a, const char *fn)
{
	const struct conf *conf = server_conf();

	redis_args_fcall(a, fn, conf->prefix);
	redis_args_adds(a, conf->keys.stream);
	redis_args_adds(a, conf->group);
	redis_args_adds(a, conf->consumer);
}

/* The wait after an empty read is over: read again. */
static void
intake_poll_cb(UNUSED evutil_socket_t fd, UNUSED short what, UNUSED void *arg)
{
	intake_rearm();
}

/* Wait before the next read: the stream was empty. */
static void
intake_wait(void)
{
	struct timeval tv;

	in.poll_ms = in.poll_ms == 0 ? INTAKE_POLL_MIN_MS : in.poll_ms * 2;
	if (in.poll_ms > INTAKE_POLL_MAX_MS)
		in.poll_ms = INTAKE_POLL_MAX_MS;
	if (in.poll == NULL)
		in.poll = evtimer_new(server_base(), intake_poll_cb, NULL);
	tv.tv_sec = 0;
	tv.tv_usec = in.poll_ms * 1000;
	evtimer_add(in.poll, &tv);
}

/*
 * Find the entries in a read's reply: XREADGROUP's [[stream, [entry...]]]
 * (nil when it blocked in vain), modq_read's [entry...]; NULL for none.
 */
static const redisReply *
intake_entries(const redisReply *r, int lua)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return (NULL);
	if (!lua) {
		if (r->element[0]->type != REDIS_REPLY_ARRAY ||
		    r->element[0]->elements != 2)
			return (NULL);
		r = r->element[0]->element[1];
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return (NULL);
	return (r);
}

/* Turn a read's reply into a batch. */
static void
intake_read_cb(void *r, UNUSED void *arg)
{
	const redisReply *reply = r, *e;
	struct batch *b = NULL;
	const char *err;
	size_t i;

	in.reading = 0;
	if (reply == NULL)
		return; /* Redis is down; redis.c reconnects */
	if (redis_reply_error(r, &err)) {
		intake_error("reading the stream", err);
		return;
	}
	in.backoff_ms = 0;
	if ((e = intake_entries(reply, in.lua)) == NULL) {
		if (in.lua)
			intake_wait();
		else
			intake_rearm(); /* XREADGROUP blocked in vain */
		return;
	}
	in.poll_ms = 0;
	for (i = 0; i < e->elements; i++) {
		if (!intake_is_entry(e->element[i]))
			continue; /* no stream id: nothing to judge or acknowledge */
		if (b == NULL)
			b = pipeline_batch_new(server_rules(), e->elements);
		intake_entry(b, e->element[i], 1);
	}
	if (b != NULL)
		pipeline_start(b);
	intake_rearm();
}

/* Tell whether a reply element is a stream entry, [id, fields ...]. */
static int
intake_is_entry(const redisReply *e)
{
	return (e->type == REDIS_REPLY_ARRAY && e->elements >= 2 &&
	    e->element[0]->type == REDIS_REPLY_STRING);
}

/*
 * Add one stream entry [id, [field, value, ...] [, cut]] to the batch,
 * checked; deliveries is how often the group has handed it out.  cut,
 * when modq_read or modq_claim cut the entry, is [strings in all, size of
 * each kept string...]: such an entry is a dead letter.
 */
static int
intake_entry(struct batch *b, const redisReply *e, long deliveries)
{
	const struct conf *conf = server_conf();
	const redisReply *fields, *cut = NULL;
	char **fv, *error;
	size_t *fvlen, *olen = NULL, i, n = 0, ntotal;

	if (!intake_is_entry(e))
		return (-1);
	fields = e->element[1];
	if (fields->type == REDIS_REPLY_ARRAY)
		n = fields->elements;
	if (n > 2 * ENTRY_MAX_PAIRS)
		n = 2 * ENTRY_MAX_PAIRS; /* modq_read sends no more */
	fv = xcalloc(n + 1, sizeof *fv);
	fvlen = xcalloc(n + 1, sizeof *fvlen);
	for (i = 0; i < n; i++) {
		if (fields->element[i]->type != REDIS_REPLY_STRING)
			break;
		fv[i] = fields->element[i]->str;
		fvlen[i] = fields->element[i]->len;
	}
	n = i;
	ntotal = fields->type == REDIS_REPLY_ARRAY ? fields->elements : 0;
	if (e->elements > 2 && e->element[2]->type == REDIS_REPLY_ARRAY &&
	    e->element[2]->elements == n + 1)
		cut = e->element[2];
	if (cut != NULL || ntotal > n) {
		olen = intake_cut_sizes(cut, fvlen, n, &ntotal);
		error = entry_cut_reason(fv, olen, n, ntotal, conf->max_body);
	} else
		error = entry_validate(fv, fvlen, n, deliveries,
		    conf->max_deliveries, conf->max_body);
	pipeline_add(b, e->element[0]->str, e->element[0]->len, fv, fvlen, n,
	    olen, ntotal);
	if (error == NULL && fields->type != REDIS_REPLY_ARRAY)
		error = xstrdup("entry has no fields");
	if (error != NULL)
		pipeline_reject_last(b, error);
	free(olen);
	free(fv);
	free(fvlen);
	return (0);
}

/*
 * Read the sizes of a cut entry, [strings in all, size of each...], or
 * when cut is NULL (more fields than modq_read ever sends) take them from
 * fvlen.
 */
static size_t *
intake_cut_sizes(
    const redisReply *cut, const size_t *fvlen, size_t n, size_t *ntotal)
{
	size_t *olen, i;
	long long v;

	olen = xcalloc(n + 1, sizeof *olen);
	if (cut == NULL) {
		memcpy(olen, fvlen, n * sizeof *olen);
		return (olen);
	}
	for (i = 0; i <= n; i++) {
		v = cut->element[i]->type == REDIS_REPLY_INTEGER
		    ? cut->element[i]->integer
		    : 0;
		if (i == 0)
			*ntotal = v > 0 ? (size_t)v : 0;
		else
			olen[i - 1] = v > 0 ? (size_t)v : 0;
	}
	return (olen);
}

/* Send modq_claim for our own pending entries or other consumers' idle ones. */
static void
intake_claim(enum intake_claim kind)
{
	const struct conf *conf = server_conf();
	struct redis_args a;
	size_t room = intake_space();

	if (room == 0 || in.claiming != CLAIM_NONE)
		return;
	intake_fcall(&a, "modq_claim");
	redis_args_adds(&a, kind == CLAIM_OWN ? "own" : "idle");
	redis_args_addf(&a, "%ld", conf->claim_idle_ms);
	redis_args_adds(&a, kind == CLAIM_OWN ? in.own_start : in.idle_start);
	redis_args_addf(&a, "%zu", room);
	redis_args_addf(&a, "%ld", conf->max_body);
	if (redis_cmd(&a, intake_claim_cb, NULL) == 0)
		in.claiming = kind;
	redis_args_free(&a);
}

/* Turn a modq_claim reply into a batch and remember where to go on. */
static void
intake_claim_cb(void *r, UNUSED void *arg)
{
	redisReply *reply = r, *entries, *e, entry, *part[3];
	enum intake_claim kind = in.claiming;
	struct batch *b = NULL;
	const char *err, *next;
	size_t i;

	in.claiming = CLAIM_NONE;
	if (reply == NULL || !in.started)
		return;
	if (redis_reply_error(reply, &err)) {
		intake_error("modq_claim", err);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		log_warnx("intake: unexpected modq_claim reply");
		return;
	}
	in.backoff_ms = 0;
	next = reply->element[0]->str;
	entries = reply->element[1];
	for (i = 0; i < entries->elements; i++) {
		e = entries->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		if (pipeline_has(e->element[0]->str))
			continue; /* ours, still in flight: not idle after all */
		if (b == NULL)
			b = pipeline_batch_new(
			    server_rules(), entries->elements);
		part[0] = e->element[0];
		part[1] = e->element[2];
		part[2] = e->elements > 3 ? e->element[3] : NULL;
		entry.type = REDIS_REPLY_ARRAY;
		entry.elements = part[2] != NULL ? 3 : 2;
		entry.element = part;
		intake_entry(b, &entry, (long)e->element[1]->integer);
	}
	if (b != NULL) {
		in.redeliveries += entries->elements;
		log_info("intake: took %zu %s pending entries",
		    entries->elements,
		    kind == CLAIM_OWN ? "of our own" : "idle");
		pipeline_start(b);
	}
	if (kind == CLAIM_OWN) {
		if (strcmp(next, "0-0") == 0) {
			in.recovering = 0;
			intake_rearm();
		} else {
			snprintf(in.own_start, sizeof in.own_start, "%s", next);
			intake_claim(CLAIM_OWN);
		}
		return;
	}
	snprintf(in.idle_start, sizeof in.idle_start, "%s", next);
	if (strcmp(next, "0-0") == 0)
		gettimeofday(&in.last_idle, NULL);
}

/*
 * Housekeeping: go on taking back our own entries when back-pressure
 * stopped us, and claim idle entries of other consumers every quarter of
 * queue.claim_idle_ms (or at once while a pass is unfinished).
 */
void
intake_tick(void)
{
	const struct conf *conf = server_conf();
	struct timeval now, d;
	long ms;

	if (in.started && !server_stopping())
		intake_trim();
	if (!in.started || server_stopping() || in.claiming != CLAIM_NONE ||
	    intake_holding())
		return;
	if (in.recovering) {
		intake_claim(CLAIM_OWN);
		return;
	}
	gettimeofday(&now, NULL);
	timersub(&now, &in.last_idle, &d);
	ms = d.tv_sec * 1000 + d.tv_usec / 1000;
	if (strcmp(in.idle_start, "0-0") != 0 || ms >= conf->claim_idle_ms / 4)
		intake_claim(CLAIM_IDLE);
	if (strcmp(in.idle_start, "0-0") == 0 && ms >= conf->claim_idle_ms / 4)
		in.last_idle = now;
	intake_rearm();
}

/*
 * Once a second (queue.trim), remove the stream entries that every group
 * has acknowledged: the stream would otherwise keep every comment ever
 * sent.
 */
static void
intake_trim(void)
{
	const struct conf *conf = server_conf();
	struct redis_args a;

	if (!conf->trim || in.trimming ||
	    !clock_due(&in.last_trim, INTAKE_TRIM_MS))
		return;
	redis_args_fcall(&a, "modq_trim", conf->prefix);
	redis_args_adds(&a, conf->keys.stream);
	if (redis_cmd(&a, intake_trim_cb, NULL) == 0)
		in.trimming = 1;
	redis_args_free(&a);
}

/* Log what modq_trim removed, or its error once until it changes. */
static void
intake_trim_cb(void *r, UNUSED void *arg)
{
	redisReply *reply = r;
	const char *err;

	in.trimming = 0;
	if (reply == NULL)
		return;
	if (redis_reply_error(reply, &err)) {
		if (in.trim_error == NULL || strcmp(in.trim_error, err) != 0)
			log_warnx("intake: cannot trim the stream: %s", err);
		free(in.trim_error);
		in.trim_error = xstrdup(err);
		return;
	}
	free(in.trim_error);
	in.trim_error = NULL;
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
		log_debug("intake: trimmed %lld acknowledged entries",
		    reply->integer);
}

/* Count entries taken back or claimed (redeliveries). */
unsigned long long
intake_redeliveries(void)
{
	return (in.redeliveries);
}
