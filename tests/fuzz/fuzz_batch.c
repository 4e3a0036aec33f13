/*
 * fuzz_batch.c -- libFuzzer target for the whole way of stream entries
 * through modqd to the Redis commands their batches send: the daemon's
 * own intake.c (XREADGROUP, modq_read and modq_claim replies,
 * intake_entry()), pipeline.c, context.c and commit.c, with the real
 * entry.c, conf.c, args.c and librules.a.  Only the I/O edge is fake
 * (fake_redis.c): every command is recorded as sent and queued with its
 * callback, and answered here, in an order and with replies the input
 * chooses, by a model of Redis and modq.lua (batch_model.c), until every
 * batch is done or dropped.  The model checks each command as it is sent
 * and as it runs (see batch_model.c); at the end every entry of the input
 * is settled, acknowledged with its decision or its dead letter written
 * exactly once (or found decided before, superseded, sent again or
 * deleted), unless a batch of it was dropped (Redis went away, modqd
 * stopped), and nothing is left in flight.  ASan and LSan watch the rest.
 *
 * Input: four bytes of parameters, then the entries, then 0x1d and a
 * script; each part may be missing.
 *
 *   byte 0  queue.batch: 1 + b % 32, or 250 + (b & 15) * 2 from 0xf0
 *           (then a read of more than PIPELINE_TX_MAX is split)
 *   byte 1  queue.max_body: 65536 below 0x80, 16 + (b & 0x7f) * 8 below
 *           0xf0, else 4000 + (b & 15) * 300
 *   byte 2  bits 0-2 queue.max_deliveries - 1; bit 3 the ruleset with
 *           author rules (premod_until_approved, hold_if_rejected and
 *           its history keys) and the content rules that need no Redis
 *           state (links with approved_below and a domain list,
 *           shouting, length); bit 4 queue.claim_idle_ms 0, as if it had
 *           passed at every look (XCLAIM at every retry, idle claims at
 *           every tick), else 60000; bit 5 queue.trim; bits 6-7
 *           queue.max_inflight: 1024, the batch, twice the batch, 3
 *   byte 3  bits 0-1 how the entries come: by XREADGROUP (0; after a
 *           reply over redis.c's limits by modq_read), by modq_read from
 *           the start (3, as after an oversized reply), all pending from
 *           before a restart (1: intake_start()'s modq_claim takes them
 *           back, with their delivery counts), or every other one so
 *           (2); bit 2 decisions, bit 3 held of the wrong type for the
 *           first two looks at it; bits 4-7 faults last 32 * n steps
 *
 * Entries, at most FB_MAX_ENTRIES, are separated by 0x1e.  Each is three
 * parameter bytes, then field, value, field, value, ... separated by 0x1f
 * (NUL bytes allowed; nothing after the parameters is an entry without
 * fields; after FB_MAX_FIELDS - 1 separators the rest is the last field).
 * Its stream id is 1700000000000-<index> plus 0, 7, 14 or 21 s more than
 * the one before (p2 bits 6-7).
 *
 *   p0  bits 0-2 the record c:<id> before (the first entry of an id
 *       chooses): none (0), deleted (1), decided by this entry (2), by
 *       a newer entry (3), an earlier revision by an older one (4), a
 *       status and this entry's digest without a stream id (5: sent
 *       again), not a hash (6), none but written by someone else
 *       between WATCH and EXEC (7); bits 3-4 the author's trust: none,
 *       trusted, premod, banned; bits 5-6 the thread's mode: none,
 *       premod, closed, open; bit 7 the entry's rate windows already
 *       busy
 *   p1  bits 0-2 the shape of the entry in the reply (enum fb_shape:
 *       as Redis sends it (0, 1), deleted (2), and five no Redis
 *       sends); bits 3-5 deliveries before, when pending from before;
 *       bit 6 its author, thread and history keys of the wrong type,
 *       bit 7 its rate keys
 *   p2  bits 0-1 the author's approved count: none, 1, 5, "x"; bits 2-3
 *       and 4-5 its history's decided and rejected counts a day: none,
 *       1, 4 or 3, and no number; bits 6-7 the time step
 *
 * The script is one byte a step: the low 3 bits choose which connection
 * with commands waiting answers next (in its order, as Redis does), the
 * high 5 an event, while faults last (afterwards every step answers):
 * 0-19 answer; 20 answer, then intake_tick(); 21 fire the timers
 * (retries, the intake's poll) and end a blocking read that waits in
 * vain (nil) first; 22-27 an error reply (ERR, LOADING, Function not
 * found, NOSCRIPT, NOGROUP, BUSY); 28 a reply of the wrong type; 29
 * Redis goes away, the command unrun; 30 it goes away after running the
 * command, the reply lost (29 and 30 FB_MAX_DOWN times a run at most,
 * then they answer); 31 shutdown (SIGTERM).  Without script bytes the
 * first connection with a command answers.  A read whose reply goes over
 * the limits redis_read() was given is dropped with the connections, as
 * redis.c does.  When no command has an answer (a blocking XREADGROUP
 * waits for entries that never come), the timers fire (a batch
 * retries), intake reads, time passes (5 s a round: idle claims, trims),
 * or Redis comes back, until nothing is left to do.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch.h"
#include "log.h"
#include "xmalloc.h"

#include "fuzz.h"

#define FB_HEAD 4 /* parameter bytes */
#define FB_EPARAMS 3 /* parameter bytes of an entry */
#define FB_FIELD_SEP 0x1f
#define FB_ENTRY_SEP 0x1e
#define FB_SCRIPT_SEP 0x1d
#define FB_MAX_FIELDS 90 /* more than modq_read ever sends */
#define FB_MAX_STEPS 2000000 /* more is a batch that never ends */
#define FB_MAX_CYCLES 8 /* reconnects in a row that settle nothing */
#define FB_MAX_DOWN 4 /* disconnects a run may inject */
#define FB_MAX_TIMERS 1024
#define FB_MAX_ROUNDS 8 /* idle rounds before Redis comes back */
#define FB_ROUND_MS 5000 /* time an idle round lets pass */

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void fb_conf(struct conf *, const char *, const char *);
static void fb_params(const uint8_t *);
static void fb_entry(struct fb_entry *, const uint8_t *, size_t, size_t);
static void fb_entry_ip(struct fb_entry *, const char *, size_t);
static void fb_entry_fields(struct fb_entry *);
static void fb_entry_digest(struct fb_entry *, size_t);
static void fb_parse(const uint8_t *, size_t);
struct fb_timers;
static int fb_timer_cb(const struct event_base *, const struct event *, void *);
static size_t fb_timers(void);
static int fb_pick(unsigned int);
static void fb_answer(int, int);
static void fb_unblock(void);
static void fb_step(void);
static size_t fb_work(void);
static int fb_idle(void);
static void fb_finish(void);
static void fb_free(void);

struct fb_run run;

static const char fb_conf_text[] =
    "redis: { prefix = \"" FB_PREFIX "\"; };\n"
    "queue: { consumer = \"fuzz-1\"; };\n"
    "decisions: { ttl_days = 30; maxlen = 100000; };\n"
    "log: { decisions = false; };\n"
    "keywords: (\n"
    "  { name = \"slurs\"; action = \"reject\"; words = [ \"fuck*\",\n"
    "    \"shit\", \"kill you\", \"go * yourself\", \"сука\",\n"
    "    \"🖕\" ]; },\n"
    "  { name = \"watch\"; action = \"hold\"; words = [ \"idiot\",\n"
    "    \"traitor\", \"/free (money|cash)/\" ]; },\n"
    "  { name = \"urls\"; action = \"hold\"; match = \"substring\";\n"
    "    words = [ \"bit.ly/\", \"casino\" ]; }\n"
    ");\n"
    "allow = [ \"scunthorpe\" ];\n"
    "rates: (\n"
    "  { name = \"author-flood\"; per = \"author\"; limit = 1; window = 15;\n"
    "    action = \"hold\"; },\n"
    "  { name = \"ip-flood\"; per = \"ip\"; limit = 2; window = 60;\n"
    "    action = \"reject\"; },\n"
    "  { name = \"thread-surge\"; per = \"thread\"; limit = 3; window = 60;\n"
    "    action = \"hold\"; }\n"
    ");\n";
static const char fb_conf_authors[] =
    "authors: { premod_until_approved = 2;\n"
    "  hold_if_rejected = { ratio = 0.3; min = 3; days = 7; }; };\n"
    "links: (\n"
    "  { name = \"links\"; max = 1; action = \"hold\"; },\n"
    "  { name = \"first-links\"; max = 0; approved_below = 2;\n"
    "    action = \"hold\"; },\n"
    "  { name = \"bad-domains\"; domains = [ \"cheap-pills.com\" ];\n"
    "    action = \"reject\"; }\n"
    ");\n"
    "link_allow = [ \"example.org\" ];\n"
    "shouting: ( { name = \"shouting\"; min_letters = 8; ratio = 0.7;\n"
    "  action = \"hold\"; } );\n"
    "length: ( { name = \"too-long\"; max = 300; action = \"reject\"; } );\n";

static const char *const fb_errors[] = {"ERR injected fault",
    "LOADING Redis is loading the dataset in memory", "ERR Function not found",
    "NOSCRIPT No matching script",
    "NOGROUP No such key 'modq:incoming' or consumer group 'modqd'",
    "BUSY Redis is busy running a script"};

static struct conf fb_confs[2]; /* without, with author and content rules */
static struct ruleset *fb_rules[2];
static int fb_downs; /* disconnects injected this run */
static int fb_rounds; /* idle rounds since Redis came back */
static int fb_cycles; /* reconnects in a row that settled nothing */
static size_t fb_last; /* entries left to settle at the last one */

/* Load one of the two configs and build its ruleset; both must work. */
static void
fb_conf(struct conf *conf, const char *dir, const char *extra)
{
	char *path, *text, *cause = NULL;

	xasprintf(&path, "%s/modqd.conf", dir);
	xasprintf(&text, "%s%s", fb_conf_text, extra);
	fuzz_write(path, text, strlen(text));
	if (conf_load(path, conf, &cause) == -1) {
		fprintf(stderr, "fuzz_batch: %s\n", cause);
		abort();
	}
	unlink(path);
	free(path);
	free(text);
}

/*
 * Load the configs and rulesets once, and make the event base the
 * daemon's timers use.  The daemon's log goes to /dev/null unless
 * FUZZ_LOG is set: a run logs every retry and dead letter.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/modq-fuzz-batch-XXXXXX", *cause = NULL;
	struct event_base *base;
	int i;

	(void)argc;
	(void)argv;
	fuzz_mkdtemp(dir);
	fb_conf(&fb_confs[0], dir, "");
	fb_conf(&fb_confs[1], dir, fb_conf_authors);
	rmdir(dir);
	for (i = 0; i < 2; i++) {
		if (rules_build(&fb_confs[i].rules, &fb_rules[i], &cause) ==
		    -1) {
			fprintf(stderr, "fuzz_batch: %s\n", cause);
			abort();
		}
	}
	if ((base = event_base_new()) == NULL)
		abort();
	fake_init(base);
	log_init(LOG_TO_JOURNAL, 0); /* no clock to read for each line */
	if (getenv("FUZZ_LOG") == NULL &&
	    (stderr = fopen("/dev/null", "w")) == NULL)
		abort();
	return (0);
}

/* Set the run's config and parameters from the first bytes. */
static void
fb_params(const uint8_t *p)
{
	static const long inflight[] = {1024, 0, 0, 3};
	struct conf *conf;

	run.par.ruleset = (p[2] >> 3) & 1;
	conf = &fb_confs[run.par.ruleset];
	conf->batch = p[0] < 0xf0 ? 1 + p[0] % 32 : 250 + (p[0] & 15) * 2;
	conf->max_body = p[1] < 0x80 ? 65536
	    : p[1] < 0xf0            ? 16 + (p[1] & 0x7f) * 8
	                             : 4000 + (p[1] & 15) * 300;
	conf->max_deliveries = 1 + (p[2] & 7);
	conf->claim_idle_ms = (p[2] >> 4) & 1 ? 0 : 60000;
	conf->trim = (p[2] >> 5) & 1;
	conf->max_inflight = inflight[p[2] >> 6];
	if (conf->max_inflight == 0)
		conf->max_inflight = conf->batch * ((p[2] >> 6) == 1 ? 1 : 2);
	run.par.how = p[3] & 3;
	run.par.wrong_decisions = 2 * ((p[3] >> 2) & 1);
	run.par.wrong_held = 2 * ((p[3] >> 3) & 1);
	run.fault_steps = 32 * (size_t)(p[3] >> 4);
	run.faults = run.fault_steps > 0;
	fake_begin(conf, fb_rules[run.par.ruleset]);
}

/*
 * Take an entry's ip as pipeline_fields() should: the first of a
 * comma-separated list, without the blanks around it, in canonical form
 * if it is an address; any other ip (not an empty one) is judged without
 * ip rules, with a warning in its record.
 */
static void
fb_entry_ip(struct fb_entry *e, const char *v, size_t len)
{
	const char *comma;

	if (len == 0)
		return; /* as if absent */
	if ((comma = memchr(v, ',', len)) != NULL)
		len = (size_t)(comma - v);
	for (; len > 0 && (*v == ' ' || *v == '\t'); v++, len--)
		;
	for (; len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'); len--)
		;
	if (entry_ip_canon(v, len, e->ipbuf, sizeof e->ipbuf) == 0)
		e->ip = e->ipbuf;
	else
		e->warn = 1;
}

/*
 * Point an entry at its known fields as pipeline_fields() does: the last
 * of each name, compared as C strings.
 */
static void
fb_entry_fields(struct fb_entry *e)
{
	size_t i;

	e->id = NULL;
	e->author = e->thread = e->ip = e->body = "";
	e->warn = 0;
	for (i = 0; i + 1 < e->nfv; i += 2) {
		if (strcmp(e->fv[i], "id") == 0)
			e->id = e->fv[i + 1];
		else if (strcmp(e->fv[i], "body") == 0) {
			e->body = e->fv[i + 1];
			e->bodylen = e->fvlen[i + 1];
		} else if (strcmp(e->fv[i], "author") == 0)
			e->author = e->fv[i + 1];
		else if (strcmp(e->fv[i], "thread") == 0)
			e->thread = e->fv[i + 1];
		else if (strcmp(e->fv[i], "ip") == 0)
			fb_entry_ip(e, e->fv[i + 1], e->fvlen[i + 1]);
	}
}

/*
 * The entry's digest, 64-bit FNV-1a of every string after its length in
 * 8 bytes, little-endian, as the record keeps it; and its member in the
 * rate windows: its time, then the sequence of its stream id, each
 * big-endian, 12 bytes in all.
 */
static void
fb_entry_digest(struct fb_entry *e, size_t seq)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, j, len;
	int k;

	for (i = 0; i < e->nfv; i++) {
		for (len = e->fvlen[i], k = 0; k < 8; k++, len >>= 8)
			h = (h ^ (len & 0xff)) * 0x100000001b3ULL;
		for (j = 0; j < e->fvlen[i]; j++)
			h = (h ^ (unsigned char)e->fv[i][j]) * 0x100000001b3ULL;
	}
	snprintf(e->digest, sizeof e->digest, "%016llx", (unsigned long long)h);
	for (k = 0; k < 8; k++)
		e->rmember[k] =
		    (char)((unsigned long long)e->ms >> (56 - 8 * k));
	for (k = 0; k < 4; k++)
		e->rmember[8 + k] = (char)((uint32_t)seq >> (24 - 8 * k));
}

/*
 * Make entry number i from its len bytes: the parameters, then the fields
 * (after FB_MAX_FIELDS - 1 separators, the rest is the last one).
 */
static void
fb_entry(struct fb_entry *e, const uint8_t *p, size_t len, size_t i)
{
	static const long long step[] = {0, 7000, 14000, 21000};
	size_t k, start, n = 0, max = 0;
	char *buf;

	memcpy(e->p, p, len < FB_EPARAMS ? len : FB_EPARAMS);
	e->ms = (i == 0 ? FB_MS0 : run.e[i - 1].ms) + step[e->p[2] >> 6];
	snprintf(e->sid, sizeof e->sid, "%lld-%zu", e->ms, i);
	e->shape = e->p[1] & 7;
	e->queued = 1;
	p += len < FB_EPARAMS ? len : FB_EPARAMS;
	len = len < FB_EPARAMS ? 0 : len - FB_EPARAMS;
	for (k = 0; k < len && max + 1 < FB_MAX_FIELDS; k++)
		max += p[k] == FB_FIELD_SEP;
	max += len > 0;
	e->fv = xcalloc(max + 1, sizeof *e->fv);
	e->fvlen = xcalloc(max + 1, sizeof *e->fvlen);
	e->rlen = xcalloc(max + 1, sizeof *e->rlen);
	e->fv[0] = buf = xmalloc(len + max + 1);
	for (k = 0, start = 0; k <= len && n < max; k++) {
		if (k < len && (p[k] != FB_FIELD_SEP || n + 1 == max))
			continue;
		e->fvlen[n] = k - start;
		e->fv[n++] = buf;
		memcpy(buf, p + start, k - start);
		buf[k - start] = '\0';
		buf += k - start + 1;
		start = k + 1;
	}
	e->nfv = n;
	fb_entry_fields(e);
	fb_entry_digest(e, i);
}

/* Parse the input into the run's parameters, entries and script. */
static void
fb_parse(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + FB_HEAD, *end, *sep;
	struct fb_entry *e;
	size_t n = 0;

	end = memchr(p, FB_SCRIPT_SEP, size - FB_HEAD);
	if (end != NULL) {
		run.script = end + 1;
		run.nscript = size - (size_t)(end + 1 - data);
	} else
		end = data + size;
	for (sep = p; sep < end && n < FB_MAX_ENTRIES; sep++)
		n += *sep == FB_ENTRY_SEP;
	run.e = xcalloc(n + 1, sizeof *run.e);
	n = 0;
	while (p < end && n < FB_MAX_ENTRIES) {
		sep = memchr(p, FB_ENTRY_SEP, (size_t)(end - p));
		if (sep == NULL)
			sep = end;
		fb_entry(&run.e[n], p, (size_t)(sep - p), n);
		n++;
		p = sep + 1;
	}
	run.n = n;
	for (n = 0; n < run.n; n++) {
		e = &run.e[n];
		if (run.par.how == 1 || (run.par.how == 2 && n % 2 == 1)) {
			e->queued = 0; /* read before a restart, not settled */
			e->pending = 1;
			e->deliveries = 1 + ((e->p[1] >> 3) & 7);
		}
	}
}

/* Timers of the event base. */
struct fb_timers {
	struct event *ev[FB_MAX_TIMERS];
	size_t n;
};

/* Collect the pending timers of the event base. */
static int
fb_timer_cb(const struct event_base *base, const struct event *ev, void *arg)
{
	struct fb_timers *t = arg;

	(void)base;
	if (!event_pending(ev, EV_TIMEOUT, NULL))
		return (0);
	if (t->n == FB_MAX_TIMERS)
		abort();
	t->ev[t->n++] = (struct event *)(uintptr_t)ev; /* ours to activate */
	return (0);
}

/*
 * Fire every timer now, as if its time had come: a batch's retry, the
 * intake's poll.  Returns how many fired.
 */
static size_t
fb_timers(void)
{
	static struct fb_timers t;
	size_t i;

	t.n = 0;
	event_base_foreach_event(fake.base, fb_timer_cb, &t);
	for (i = 0; i < t.n; i++)
		event_active(t.ev[i], EV_TIMEOUT, 1);
	if (t.n > 0)
		event_base_loop(fake.base, EVLOOP_NONBLOCK);
	return (t.n);
}

/* Choose the k-th connection with a command to answer, or -1. */
static int
fb_pick(unsigned int k)
{
	int i, n = 0;

	for (i = 0; i < FB_NCONN; i++)
		n += fake.conn[i].head != NULL && !fake_blocked(i);
	if (n == 0)
		return (-1);
	k %= (unsigned int)n;
	for (i = 0; i < FB_NCONN; i++)
		if (fake.conn[i].head != NULL && !fake_blocked(i) && k-- == 0)
			return (i);
	return (-1);
}

/*
 * Answer the oldest command of a connection (after what was queued
 * inside MULTI before it), as event ev has it (see the top).
 */
static void
fb_answer(int conn, int ev)
{
	struct fb_cmd *c;
	redisReply *r;

	while ((c = fake.conn[conn].head) != NULL && c->cb == NULL)
		model_queued(fake_pop(conn));
	if (c == NULL)
		return;
	if ((ev == 29 || ev == 30) && fb_downs < FB_MAX_DOWN) {
		if (ev == 30) {
			model_answer(c);
			reply_done();
		}
		model_undelivered();
		fb_downs++;
		fake_disconnect(); /* c's callback, too, gets NULL */
		return;
	}
	if (ev >= 22 && ev <= 27 && model_may_fail(c, 0))
		r = reply_error(fb_errors[ev - 22]);
	else if (ev == 28 && model_may_fail(c, 1))
		r = model_malformed(c);
	else
		r = NULL;
	if (r != NULL)
		model_unanswered(c);
	else if ((r = model_answer(c)) != NULL && model_over()) {
		/* redis.c drops it unread, with every connection */
		reply_done();
		model_undelivered();
		fake.oversized++;
		fake_disconnect();
		return;
	}
	c = fake_pop(conn);
	c->cb(r, c->arg);
	model_delivered();
	reply_done();
	fake_cmd_free(c);
}

/* A blocking read waited in vain: its nil reply. */
static void
fb_unblock(void)
{
	struct fb_cmd *c;

	if (!fake_blocked(FB_INTAKE))
		return;
	c = fake_pop(FB_INTAKE);
	c->cb(reply_nil(), c->arg);
	reply_done();
	fake_cmd_free(c);
}

/* Take one step of the script. */
static void
fb_step(void)
{
	uint8_t s = run.step < run.nscript ? run.script[run.step] : 0;
	int ev;

	run.step++;
	run.now_ms++;
	if (run.step > run.fault_steps)
		run.faults = 0;
	ev = run.faults ? s >> 3 : 0;
	if (ev == 21) {
		fb_unblock();
		fb_timers();
	}
	if (ev == 31 && !fake.stopping)
		fake_shutdown();
	if (fake_ready() > 0)
		fb_answer(fb_pick(s & 7), ev);
	if (ev == 20) {
		model_departures();
		intake_tick();
	}
}

/* Count the entries left to settle: unread, or pending out of flight. */
static size_t
fb_work(void)
{
	size_t i, n = 0;

	for (i = 0; i < run.n; i++)
		n += !FB_SKIPPED(&run.e[i]) &&
		    (run.e[i].queued || (run.e[i].pending && !run.e[i].flight));
	return (n);
}

/*
 * No command has an answer.  A batch in flight waits for its retry timer:
 * fire it.  Else, while entries are left, intake reads, time passes and
 * its housekeeping claims, or after FB_MAX_ROUNDS such rounds Redis comes
 * back (which resets intake's back-off and takes back the pending
 * entries).  Returns 0 when the run is over.
 */
static int
fb_idle(void)
{
	size_t work;

	model_departures();
	if (pipeline_inflight() > 0) {
		if (fb_timers() == 0)
			abort(); /* a batch waits for nothing */
		return (1);
	}
	if (fake.stopping || (work = fb_work()) == 0)
		return (0);
	if (fake.up && fb_rounds++ < FB_MAX_ROUNDS) {
		run.now_ms += FB_ROUND_MS;
		intake_rearm();
		if (fake_ready() == 0)
			intake_tick();
		if (fake_ready() == 0)
			fb_timers();
		if (fake_ready() > 0)
			return (1);
	}
	fb_rounds = 0;
	if (work < fb_last || run.faults)
		fb_cycles = 0;
	fb_last = work;
	if (++fb_cycles > FB_MAX_CYCLES)
		abort(); /* entries that never settle */
	fake_disconnect();
	fake_reconnect();
	return (1);
}

/*
 * The run is over: no batch is left, no timer, and unless modqd stopped,
 * every entry it could take is acknowledged, settled exactly once (the
 * model checked how as it went).
 */
static void
fb_finish(void)
{
	static struct fb_timers t;
	struct fb_entry *e;
	struct fb_cmd *c;
	size_t i;

	if (pipeline_inflight() != 0 || run.nflight != 0)
		abort();
	intake_stop();
	if ((c = fake_pop(FB_INTAKE)) != NULL) {
		if (fake_pending() != 0 || !model_blocks(c))
			abort(); /* only a read that waits in vain is left */
		c->cb(NULL, c->arg); /* modqd stops: the connection closes */
		fake_cmd_free(c);
	}
	t.n = 0;
	event_base_foreach_event(fake.base, fb_timer_cb, &t);
	if (t.n != 0)
		abort(); /* a timer of something freed, or never freed */
	for (i = 0; i < run.n; i++) {
		e = &run.e[i];
		if (FB_SKIPPED(e))
			continue;
		if (!fake.stopping && (e->queued || e->pending))
			abort(); /* never settled */
		if (!e->pending && !e->queued && !e->settled)
			abort(); /* acknowledged, never settled */
	}
	model_check_end();
}

/* Free the run's entries. */
static void
fb_free(void)
{
	size_t i;

	for (i = 0; i < run.n; i++) {
		free(run.e[i].fv[0]);
		free(run.e[i].fv);
		free(run.e[i].fvlen);
		free(run.e[i].rlen);
		rules_match_free(&run.e[i].match);
	}
	free(run.e);
}

/* Run the entries through modqd until every batch is done or dropped. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t steps = 0;

	if (size < FB_HEAD)
		return (0);
	memset(&run, 0, sizeof run);
	run.now_ms = FB_MS0 + 100000;
	fb_downs = fb_cycles = fb_rounds = 0;
	fb_last = SIZE_MAX;
	fb_params(data);
	fb_parse(data, size);
	model_begin();
	if (run.par.how == 3)
		fake.oversized++; /* new entries come through modq_read */
	intake_start(); /* Redis is up, as redis_handshake_cb() has it */
	for (;;) {
		if (fake.reset)
			fake_disconnect();
		if (fake_ready() == 0 && !fb_idle())
			break;
		if (fake_ready() > 0)
			fb_step();
		if (++steps > FB_MAX_STEPS)
			abort(); /* a batch that never ends */
	}
	model_departures();
	fb_finish();
	model_end();
	fb_free();
	return (0);
}
