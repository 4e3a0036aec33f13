/*
 * batch_model.c -- the Redis that modqd talks to in the batch fuzz target:
 * a model of the stream (entries not read yet, the group's pending list)
 * and of every key modqd reads or writes, which answers each command as
 * Redis and modq.lua would, and the checks of every command:
 *
 * - when it is sent: a command modqd is known to send, on the connection
 *   it belongs on, with its reply read or not as it should be; every key
 *   under the prefix, one the contract allows (the stream, held,
 *   decisions, stats, dead, c:<id>, author:, thread:, rate:) and built
 *   from a field of some entry of the input; the constant arguments
 *   right; a read's limits room for every valid entry; each modq_decide
 *   item well formed (its digest, rate member and rate keys the entry's
 *   own), its dead letters within PIPELINE_DEAD_KEEP bytes a field and
 *   ENTRY_MAX_PAIRS fields, with the kind of their reason and the id if
 *   valid, every string of the entry it carries byte for byte, a
 *   warning for an ip that is no address;
 * - when Redis runs it: MULTI, EXEC and WATCH used as Redis allows, a
 *   transaction writing only records that do not exist, acknowledging
 *   only entries whose record settles them (their own decision written,
 *   a newer one, the same digest, deleted) and taking exactly those of
 *   them that count for nothing out of their rate windows; every stream
 *   entry written at most once (a decision or a dead letter, never both,
 *   each with one entry of the decisions stream), an earlier revision
 *   replaced only by modq_decide, every decision the one rules_decide()
 *   gives the entry's body and context; a read's reply over its limits
 *   only for an entry that cannot be valid.
 *
 * Some keys of an entry start in the state its parameter bytes choose
 * (see fuzz_batch.c): a record of another delivery, a banned author, a
 * closed thread, a key of the wrong type...
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>
#include <utf8proc.h>

#include "batch.h"
#include "pipeline.h"
#include "xmalloc.h"

#define FB_ID_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
#define FB_NEWER "9999999999999-0" /* a stream id newer than any */
#define FB_ARENA (8 << 20) /* bytes of replies at once, at most */
#define FB_REDZONE 16

enum fb_kind {
	K_STREAM = 0,
	K_HELD,
	K_DECISIONS,
	K_STATS,
	K_DEAD,
	K_RECORD,
	K_AUTHOR,
	K_THREAD,
	K_HIST,
	K_RATE
};
#define FB_NSHARED (K_DEAD + 1)

/* A member of a rate window. */
struct fb_zm {
	long long score;
	char m[12];
};

/* A key and what the model knows of it. */
struct fb_key {
	char *name; /* owned */
	size_t len;
	int kind; /* enum fb_kind */
	int ok; /* its name is one the contract allows */
	int wrong; /* not of the type modqd expects: WRONGTYPE */

	/* K_RECORD */
	int exists;
	const char *status;
	char *author; /* owned */
	char *sid; /* owned: the record's stream_id, or NULL */
	char digest[17]; /* "" for none */
	long revision; /* edits it went through */
	int touch; /* someone else writes it after a WATCH */

	/* K_AUTHOR, K_THREAD, K_HIST: what HMGET and HGET read */
	const char *trust, *approved, *mode, *hn, *hr;

	/* K_RATE */
	struct fb_zm *z; /* owned */
	size_t nz;
};

/* A write connection: its transaction and what it watches. */
struct fb_wconn {
	int multi;
	struct fb_cmd **q; /* owned: the commands queued since MULTI */
	size_t nq;
	struct fb_key **watch; /* owned array */
	size_t nwatch;
	int dirty; /* a watched key changed: EXEC aborts */
	long long time_ms; /* what TIME said last */
};

/* One modq_decide item, as modq.lua reads it. */
struct fb_item {
	int kind; /* 'd' or 'x' */
	struct fb_entry *e;
	int at; /* the index of its kind */
	int next; /* the index after it */
	struct fb_key *ck; /* 'd': the comment key */
	int r0, nrate; /* 'd': rate keys */
	int s0, nst, nown, nh, h0; /* 'd': stats, fields */
	int f0, nf; /* 'x': fields */
};

/* What one transaction wrote, for the checks of its later commands. */
struct fb_tx {
	struct fb_entry *last; /* the last record written */
	struct fb_entry **wrote; /* owned */
	size_t nwrote;
	int acked;
};

static struct {
	struct fb_key **slot; /* owned: the key table, nslots */
	size_t nslots; /* a power of 2, twice the keys at least */
	struct fb_key **keys; /* owned: every key, for freeing */
	size_t nkeys;
	struct fb_key *shared[FB_NSHARED];
	struct fb_wconn w[REDIS_NWRITE];
	struct fb_entry **delivered; /* owned: by the reply in hand */
	size_t ndelivered;
	int over; /* the read's reply went over its limits */
	size_t got; /* bytes of strings of the reply */
} m;

static struct {
	char *buf; /* owned, for the whole process */
	size_t used;
} arena;

static const char *const fb_trusts[] = {NULL, "trusted", "premod", "banned"};
static const char *const fb_approved[] = {NULL, "1", "5", "x"};
static const char *const fb_modes[] = {NULL, "premod", "closed", "open"};
static const char *const fb_hn[] = {NULL, "1", "4", "junk"};
static const char *const fb_hr[] = {NULL, "1", "3", "x"};

static void *reply_alloc(size_t);
static redisReply *reply_new(int);
static redisReply *reply_int(long long);
static redisReply *reply_strn(int, const char *, size_t);
static redisReply *reply_str(const char *);
static redisReply *reply_status(const char *);
static redisReply *reply_wrongtype(void);
static void reply_push(redisReply *, redisReply *);
static int arg_is(const struct fb_cmd *, int, const char *);
static void arg_want(const struct fb_cmd *, int, const char *);
static long arg_num(const struct fb_cmd *, int);
static long long arg_score(const struct fb_cmd *, int, int);
static uint32_t key_hash(const char *, size_t);
static struct fb_key *key_find(const char *, size_t);
static int key_name_ok(const char *);
static int key_ip_ok(const char *);
static int key_rate_ok(const char *);
static int key_contract(const struct fb_key *);
static void key_init(struct fb_key *, const struct fb_entry *);
static struct fb_key *key_add(char *, int, const struct fb_entry *);
static const char *model_member_sid(const char *);
static void model_entry_keys(struct fb_entry *);
static size_t model_bound(struct fb_entry *, int);
static void model_fields(struct fb_entry *, redisReply *, int);
static redisReply *model_entry_reply(struct fb_entry *, int, int);
static void model_reply_over(const redisReply *);
static redisReply *model_read(const struct fb_cmd *);
static int model_sid_cmp(const char *, const char *);
static redisReply *model_claim(const struct fb_cmd *);
static redisReply *model_hmget_ctx(const struct fb_cmd *, struct fb_key *);
static redisReply *model_zadd(const struct fb_cmd *, struct fb_key *);
static redisReply *model_zrange(const struct fb_cmd *, struct fb_key *, int);
static redisReply *model_xclaim(const struct fb_cmd *);
static redisReply *model_context(const struct fb_cmd *);
static void model_write(struct fb_key *, struct fb_entry *, const char *, int);
static void model_dead(struct fb_entry *);
static int model_ack(struct fb_entry *);
static int model_settles(const struct fb_key *, const struct fb_entry *);
static void model_unrate(struct fb_entry *, struct fb_key *);
static const char *model_status(const char *);
static void model_touch(struct fb_key *);
static struct fb_wconn *model_w(const struct fb_cmd *);
static redisReply *model_watch(const struct fb_cmd *);
static redisReply *model_time(const struct fb_cmd *);
static redisReply *model_record(const struct fb_cmd *);
static redisReply *model_check_type(int *);
static redisReply *model_tx_ack(const struct fb_cmd *, struct fb_tx *);
static redisReply *model_tx_cmd(const struct fb_cmd *, struct fb_tx *);
static redisReply *model_exec(const struct fb_cmd *);
static redisReply *model_wconn(const struct fb_cmd *);
static void model_item(const struct fb_cmd *, int, struct fb_item *);
static int model_decide_d(const struct fb_cmd *, const struct fb_item *);
static redisReply *model_decide(const struct fb_cmd *);
static void model_check_judged(const struct fb_entry *);
static int model_word(const char *, const char *);
static void model_ctx(
    const struct fb_entry *, const char *, struct rules_ctx *);
static void model_check_decision(struct fb_entry *, const struct fb_cmd *, int);
static struct fb_entry *model_check_hash(
    const struct fb_cmd *, int, int, const char *);
static int model_recv_id(const struct fb_entry *, const char **, size_t *);
static void model_check_x(const struct fb_cmd *, const struct fb_item *);
static void model_check_d(const struct fb_cmd *, const struct fb_item *);
static void model_check_fcall(const struct fb_cmd *, const char *, int);
static void model_check_long(const struct fb_cmd *, int, long);
static void model_sent_decide(const struct fb_cmd *);
static struct fb_key *key_arg(const struct fb_cmd *, int, int);
static void model_sent_intake(const struct fb_cmd *);
static void model_sent_claim(const struct fb_cmd *);
static void model_sent_rate(const struct fb_cmd *);
static void model_sent_xclaim(const struct fb_cmd *);
static void model_sent_hget(const struct fb_cmd *);
static void model_sent_command(const struct fb_cmd *);
static void model_sent_wconn(const struct fb_cmd *);
static void model_sent_hincrby(const struct fb_cmd *);
static void model_sent_zrem(const struct fb_cmd *);
static void model_sent_tx(const struct fb_cmd *);

/*
 * Replies, built as hiredis would hand them over.  A reply lives only for
 * the callback it is passed to, so they come from an arena emptied after
 * each (malloc and free under ASan would cost the run most of its time).
 * Under ASan every object has a poisoned red zone after it, and the arena
 * is poisoned again when emptied: reading past a string or an array, or
 * keeping a reply after its callback, is caught as with malloc.
 */

/* Allocate size zeroed bytes from the arena. */
static void *
reply_alloc(size_t size)
{
	size_t n = (size + 15) & ~(size_t)15;
	void *p;

	if (arena.buf == NULL) {
		arena.buf = xmalloc(FB_ARENA);
		ASAN_POISON_MEMORY_REGION(arena.buf, FB_ARENA);
	}
	if (n + FB_REDZONE > FB_ARENA - arena.used)
		abort(); /* more than any input of -max_len makes */
	p = arena.buf + arena.used;
	arena.used += n + FB_REDZONE;
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	memset(p, 0, size);
	return (p);
}

static redisReply *
reply_new(int type)
{
	redisReply *r;

	r = reply_alloc(sizeof *r);
	r->type = type;
	return (r);
}

static redisReply *
reply_int(long long v)
{
	redisReply *r = reply_new(REDIS_REPLY_INTEGER);

	r->integer = v;
	return (r);
}

/* A string reply: its bytes and a NUL, as hiredis has them. */
static redisReply *
reply_strn(int type, const char *s, size_t len)
{
	redisReply *r = reply_new(type);

	r->str = reply_alloc(len + 1);
	memcpy(r->str, s, len);
	r->len = len;
	return (r);
}

static redisReply *
reply_str(const char *s)
{
	if (s == NULL)
		return (reply_new(REDIS_REPLY_NIL));
	return (reply_strn(REDIS_REPLY_STRING, s, strlen(s)));
}

static redisReply *
reply_status(const char *s)
{
	return (reply_strn(REDIS_REPLY_STATUS, s, strlen(s)));
}

redisReply *
reply_nil(void)
{
	return (reply_new(REDIS_REPLY_NIL));
}

redisReply *
reply_error(const char *s)
{
	return (reply_strn(REDIS_REPLY_ERROR, s, strlen(s)));
}

static redisReply *
reply_wrongtype(void)
{
	return (reply_error("WRONGTYPE Operation against a key holding the "
	                    "wrong kind of value"));
}

/*
 * Append an element to an array reply.  The room doubles at powers of 2:
 * the old array stays in the arena, poisoned.
 */
static void
reply_push(redisReply *a, redisReply *e)
{
	redisReply **old = a->element;
	size_t n = a->elements;

	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		a->element = reply_alloc((n == 0 ? 4 : 2 * n) * sizeof *old);
		if (n > 0) {
			memcpy(a->element, old, n * sizeof *old);
			ASAN_POISON_MEMORY_REGION(old, n * sizeof *old);
		}
	}
	a->element[a->elements++] = e;
}

/* The callback is over: empty the arena. */
void
reply_done(void)
{
	ASAN_POISON_MEMORY_REGION(arena.buf, arena.used);
	arena.used = 0;
}

/* Arguments. */

/* Tell whether argument i is exactly s. */
static int
arg_is(const struct fb_cmd *c, int i, const char *s)
{
	return (i < c->argc && c->len[i] == strlen(s) &&
	    memcmp(c->argv[i], s, c->len[i]) == 0);
}

/* Abort unless argument i is exactly s. */
static void
arg_want(const struct fb_cmd *c, int i, const char *s)
{
	if (!arg_is(c, i, s))
		abort();
}

/* Read argument i as a count (digits only, at most 9), or abort. */
static long
arg_num(const struct fb_cmd *c, int i)
{
	if (i >= c->argc || c->len[i] == 0 || c->len[i] > 9 ||
	    strspn(c->argv[i], "0123456789") != c->len[i])
		abort();
	return (strtol(c->argv[i], NULL, 10));
}

/* Read argument i as a score: a number, after '(' if open; or abort. */
static long long
arg_score(const struct fb_cmd *c, int i, int open)
{
	const char *p;
	char *end;
	long long v;

	if (i >= c->argc || c->len[i] == 0)
		abort();
	p = c->argv[i];
	if (open && *p++ != '(')
		abort();
	v = strtoll(p, &end, 10);
	if (end == p || *end != '\0' || (size_t)(end - c->argv[i]) != c->len[i])
		abort();
	return (v);
}

/* Keys. */

static uint32_t
key_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	while (len-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return (h);
}

static struct fb_key *
key_find(const char *name, size_t len)
{
	struct fb_key *k;
	size_t i;

	for (i = key_hash(name, len) & (m.nslots - 1); (k = m.slot[i]) != NULL;
	     i = (i + 1) & (m.nslots - 1))
		if (k->len == len && memcmp(k->name, name, len) == 0)
			return (k);
	return (NULL);
}

/*
 * Check an author or thread name as the contract has it: 1 to 256 bytes
 * of UTF-8 without control or format characters or line and paragraph
 * separators (spaces are allowed).
 */
static int
key_name_ok(const char *s)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	size_t i, len = strlen(s), bad;

	if (len == 0 || len > 256 || entry_utf8(s, len, &bad) == -1)
		return (0);
	for (i = 0; i < len; i += (size_t)n) {
		n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0)
			return (0);
		switch (utf8proc_category(cp)) {
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			return (0);
		default:
			break;
		}
	}
	return (1);
}

/* Check an address in the one canonical text rate windows are keyed by. */
static int
key_ip_ok(const char *s)
{
	unsigned char a[16];
	char buf[64];

	if (inet_pton(AF_INET, s, a) == 1)
		return (inet_ntop(AF_INET, a, buf, sizeof buf) != NULL &&
		    strcmp(buf, s) == 0);
	if (inet_pton(AF_INET6, s, a) != 1 ||
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a))
		return (0);
	return (inet_ntop(AF_INET6, a, buf, sizeof buf) != NULL &&
	    strcmp(buf, s) == 0);
}

/* Check a rate key's "<rule>:<value>" for the rule of that name. */
static int
key_rate_ok(const char *p)
{
	const struct rules_rate *r;
	size_t i, n;

	for (i = 0; i < rules_nrates(fake.rules); i++) {
		r = rules_rate(fake.rules, i);
		n = strlen(r->name);
		if (strncmp(p, r->name, n) != 0 || p[n] != ':')
			continue;
		if (r->per == RULES_PER_IP)
			return (key_ip_ok(p + n + 1));
		return (key_name_ok(p + n + 1));
	}
	return (0);
}

/* Tell whether a key's name is one the contract allows for its kind. */
static int
key_contract(const struct fb_key *k)
{
	static const char *const head[] = {[K_RECORD] = "c:",
	    [K_AUTHOR] = "author:",
	    [K_THREAD] = "thread:",
	    [K_HIST] = "rate:@hist:",
	    [K_RATE] = "rate:"};
	size_t pl = strlen(FB_PREFIX ":"), n;
	const char *p = k->name;

	if (k->len != strlen(k->name) || strncmp(p, FB_PREFIX ":", pl) != 0)
		return (0);
	if (k->kind < K_RECORD)
		return (1); /* conf_keys() made it */
	p += pl;
	n = strlen(head[k->kind]);
	if (strncmp(p, head[k->kind], n) != 0)
		return (0);
	p += n;
	switch (k->kind) {
	case K_RECORD:
		n = strlen(p);
		return (n >= 1 && n <= 128 && strspn(p, FB_ID_CHARS) == n);
	case K_RATE:
		return (*p != '@' && key_rate_ok(p));
	default:
		return (key_name_ok(p));
	}
}

/*
 * The state a key starts in, chosen by the parameter bytes of the first
 * entry that names it (see fuzz_batch.c).
 */
static void
key_init(struct fb_key *k, const struct fb_entry *e)
{
	int rec = e->p[0] & 7, i;

	switch (k->kind) {
	case K_RECORD:
		k->wrong = rec == 6;
		k->touch = rec == 7;
		k->exists = rec >= 1 && rec <= 5;
		k->status = rec == 1 ? "deleted"
		    : rec == 3       ? "held"
		    : rec == 5       ? "rejected"
		                     : "approved";
		if (rec == 2)
			k->sid = xstrdup(e->sid); /* decided before */
		else if (rec == 1 || rec == 3 || rec == 4)
			k->sid = xstrdup(rec == 3 ? FB_NEWER : "1-0");
		if (rec == 2)
			k->author = xstrdup(e->author);
		else if (rec == 3 || rec == 4)
			k->author = xstrdup("old");
		if (rec == 2 || rec == 5) /* its own fields, or sent again */
			memcpy(k->digest, e->digest, sizeof k->digest);
		else if (rec == 3 || rec == 4)
			snprintf(
			    k->digest, sizeof k->digest, "0123456789abcdef");
		break;
	case K_AUTHOR:
		k->wrong = (e->p[1] >> 6) & 1;
		k->trust = fb_trusts[(e->p[0] >> 3) & 3];
		k->approved = fb_approved[e->p[2] & 3];
		break;
	case K_THREAD:
		k->wrong = (e->p[1] >> 6) & 1;
		k->mode = fb_modes[(e->p[0] >> 5) & 3];
		break;
	case K_HIST:
		k->wrong = (e->p[1] >> 6) & 1;
		k->hn = fb_hn[(e->p[2] >> 2) & 3];
		k->hr = fb_hr[(e->p[2] >> 4) & 3];
		break;
	case K_RATE:
		k->wrong = (e->p[1] >> 7) & 1;
		if ((e->p[0] & 0x80) == 0)
			break;
		k->z = xcalloc(4, sizeof *k->z);
		for (i = 0; i < 4; i++) {
			k->z[i].score = e->ms - 1 - i; /* a busy window */
			memcpy(k->z[i].m, "earlier", 7);
			k->z[i].m[7] = (char)('0' + i);
		}
		k->nz = 4;
		break;
	}
}

/* Add a key (name owned), or find it if an earlier entry named it. */
static struct fb_key *
key_add(char *name, int kind, const struct fb_entry *e)
{
	struct fb_key *k;
	size_t len = strlen(name);
	size_t i;

	if ((k = key_find(name, len)) != NULL) {
		free(name);
		return (k);
	}
	if (m.nkeys == m.nslots / 2)
		abort(); /* model_begin() made the table too small */
	k = xcalloc(1, sizeof *k);
	k->name = name;
	k->len = len;
	k->kind = kind;
	k->ok = key_contract(k);
	if (e != NULL)
		key_init(k, e);
	for (i = key_hash(name, len) & (m.nslots - 1); m.slot[i] != NULL;
	     i = (i + 1) & (m.nslots - 1))
		;
	m.slot[i] = k;
	m.keys[m.nkeys++] = k;
	return (k);
}

/* Add the keys modqd would build for an entry, as pipeline_keys() does. */
static void
model_entry_keys(struct fb_entry *e)
{
	const struct rules_rate *r;
	const char *v;
	char *name;
	size_t k;

	if (e->id != NULL) {
		xasprintf(&name, KEY_COMMENT, FB_PREFIX, e->id);
		e->ck = key_add(name, K_RECORD, e);
	}
	if (*e->author != '\0') {
		xasprintf(&name, KEY_AUTHOR, FB_PREFIX, e->author);
		e->ak = key_add(name, K_AUTHOR, e);
		if (rules_authors(fake.rules)->hold_if_rejected) {
			xasprintf(&name, KEY_HISTORY, FB_PREFIX, e->author);
			e->hk = key_add(name, K_HIST, e);
		}
	}
	if (*e->thread != '\0') {
		xasprintf(&name, KEY_THREAD, FB_PREFIX, e->thread);
		e->tk = key_add(name, K_THREAD, e);
	}
	for (k = 0; k < rules_nrates(fake.rules); k++) {
		r = rules_rate(fake.rules, k);
		v = r->per == RULES_PER_AUTHOR ? e->author
		    : r->per == RULES_PER_IP   ? e->ip
		                               : e->thread;
		if (*v == '\0')
			continue;
		xasprintf(&name, KEY_RATE, FB_PREFIX, r->name, v);
		e->rk[k] = key_add(name, K_RATE, e);
	}
}

/* Set up the model for a run: the shared keys, and each entry's. */
void
model_begin(void)
{
	struct keys keys;
	const char *shared[FB_NSHARED];
	size_t i;

	memset(&m, 0, sizeof m);
	for (m.nslots = 16; m.nslots <
	     2 * (FB_NSHARED + run.n * (4 + rules_nrates(fake.rules)));)
		m.nslots *= 2;
	m.slot = xcalloc(m.nslots, sizeof *m.slot);
	m.keys = xcalloc(m.nslots / 2, sizeof *m.keys);
	conf_keys(fake.conf, &keys);
	shared[K_STREAM] = keys.stream;
	shared[K_HELD] = keys.held;
	shared[K_DECISIONS] = keys.decisions;
	shared[K_STATS] = keys.stats;
	shared[K_DEAD] = keys.dead;
	for (i = 0; i < FB_NSHARED; i++)
		m.shared[i] = key_add(xstrdup(shared[i]), (int)i, NULL);
	conf_keys_free(&keys);
	m.delivered = xcalloc(run.n + 1, sizeof *m.delivered);
	for (i = 0; i < run.n; i++)
		model_entry_keys(&run.e[i]);
}

/*
 * The run is over: no write connection is left in a transaction or
 * watching keys, and every entry has one entry of the decisions stream
 * for each decision or dead letter written for it.
 */
void
model_check_end(void)
{
	size_t i;

	for (i = 0; i < REDIS_NWRITE; i++)
		if (m.w[i].multi || m.w[i].nq != 0 || m.w[i].nwatch != 0)
			abort();
	for (i = 0; i < run.n; i++)
		if (run.e[i].decisions != run.e[i].writes + run.e[i].deads)
			abort();
}

/* Free the model. */
void
model_end(void)
{
	struct fb_key *k;
	size_t i;

	model_discard(-1);
	for (i = 0; i < REDIS_NWRITE; i++)
		free(m.w[i].watch);
	for (i = 0; i < m.nkeys; i++) {
		k = m.keys[i];
		free(k->name);
		free(k->author);
		free(k->sid);
		free(k->z);
		free(k);
	}
	free(m.slot);
	free(m.keys);
	free(m.delivered);
}

/* The stream id of a rate window's member, "" if it is none of ours. */
static const char *
model_member_sid(const char *mb)
{
	static char sid[32];
	unsigned long long ms = 0;
	unsigned long seq = 0;
	int i;

	for (i = 0; i < 8; i++)
		ms = ms << 8 | (unsigned char)mb[i];
	for (i = 8; i < 12; i++)
		seq = seq << 8 | (unsigned char)mb[i];
	snprintf(sid, sizeof sid, "%llu-%lu", ms, seq);
	return (sid);
}

/* Find an entry of the input by its stream id. */
struct fb_entry *
model_entry(const char *sid)
{
	const char *dash = strchr(sid, '-');
	unsigned long i;

	if (dash == NULL)
		return (NULL);
	i = strtoul(dash + 1, NULL, 10);
	if (i >= run.n || strcmp(run.e[i].sid, sid) != 0)
		return (NULL);
	return (&run.e[i]);
}

/* Reading the stream. */

/*
 * Bound an entry as bounded() in modq.lua does: whole when within the
 * limits, else cut to what its dead letter keeps; or whole all the same
 * (XREADGROUP).  Only an entry that entry_validate() refuses may be cut.
 * Sets e->over (bounded() would cut it), e->cut and the length of each
 * string sent; returns how many are sent.
 */
static size_t
model_bound(struct fb_entry *e, int whole)
{
	long max_body = fake.conf->max_body;
	size_t max_len =
	    (size_t)(max_body > ENTRY_EXTRA_MIN ? max_body : ENTRY_EXTRA_MIN);
	size_t max_total = (size_t)max_body +
	    (size_t)(max_body > ENTRY_EXTRA_MIN ? max_body : ENTRY_EXTRA_MIN) +
	    4096;
	size_t j, k, total = 0, used = 0;
	int over = e->nfv > 2 * ENTRY_MAX_PAIRS;
	char *err = NULL;

	for (j = 0; j < e->nfv && !over; j++) {
		total += e->fvlen[j];
		over = e->fvlen[j] > max_len || total > max_total;
	}
	if (over &&
	    (err = entry_validate(e->fv, e->fvlen, e->nfv, 1, 1, max_body)) ==
	        NULL)
		abort(); /* bounded() cuts what modqd would take */
	free(err);
	e->over = over;
	e->cut = over && !whole;
	if (!e->cut) {
		memcpy(e->rlen, e->fvlen, e->nfv * sizeof *e->rlen);
		return (e->nfv);
	}
	for (j = 0; j + 1 < e->nfv; j += 2) {
		if (j >= 2 * ENTRY_MAX_PAIRS || used >= 32768)
			break;
		for (k = j; k <= j + 1; k++) {
			e->rlen[k] = e->fvlen[k] < 4096 ? e->fvlen[k] : 4096;
			used += e->rlen[k];
		}
	}
	return (j);
}

/*
 * The fields of an entry as a reply: the kept strings, and after them the
 * cut list {strings in all, size of each kept one} if cut; or the odd
 * shape its parameters choose.  Sets what modqd keeps of it (e->rn).
 */
static void
model_fields(struct fb_entry *e, redisReply *r, int whole)
{
	redisReply *f, *info = NULL;
	size_t j, kn = model_bound(e, whole);

	f = reply_new(REDIS_REPLY_ARRAY);
	for (j = 0; j < kn; j++)
		reply_push(
		    f, reply_strn(REDIS_REPLY_STRING, e->fv[j], e->rlen[j]));
	if (e->cut || e->shape == FB_SHAPE_BADCUT ||
	    e->shape == FB_SHAPE_FORGED) {
		info = reply_new(REDIS_REPLY_ARRAY);
		reply_push(info,
		    reply_int(e->shape == FB_SHAPE_FORGED
		            ? (long long)e->nfv + 2
		            : (long long)e->nfv));
		for (j = 0; j < kn; j++)
			reply_push(info,
			    reply_int((long long)e->fvlen[j] +
			        (e->shape == FB_SHAPE_FORGED) * 5000));
		if (e->shape == FB_SHAPE_BADCUT)
			info->elements--;
	}
	e->rn = kn < 2 * ENTRY_MAX_PAIRS ? kn : 2 * ENTRY_MAX_PAIRS;
	e->forged = e->shape >= FB_SHAPE_INT;
	if (e->shape == FB_SHAPE_NIL) {
		f = reply_new(REDIS_REPLY_NIL);
		e->rn = 0;
	} else if (e->shape == FB_SHAPE_INT && kn > 0) {
		f->element[kn / 2] = reply_int(7);
		e->rn = kn / 2 < e->rn ? kn / 2 : e->rn;
	}
	reply_push(r, f);
	if (info != NULL)
		reply_push(r, info);
}

/*
 * One entry of an XREADGROUP reply, {id, fields} (whole), of a modq_read
 * reply, {id, fields [, cut]}, or of a modq_claim reply, {id,
 * deliveries, fields [, cut]}.  What modqd keeps of it is what the
 * delivery it takes says: one of an entry in flight (a claim finds it
 * pending), which modqd skips, leaves it as it was, whole or cut.
 */
static redisReply *
model_entry_reply(struct fb_entry *e, int claim, int whole)
{
	redisReply *r = reply_new(REDIS_REPLY_ARRAY);
	struct fb_entry was;
	int keep = e->flight;

	memset(&was, 0, sizeof was);
	if (e->shape == FB_SHAPE_NOID)
		reply_push(r, reply_int(1));
	else
		reply_push(r, reply_str(e->sid));
	if (claim)
		reply_push(r, reply_int(e->deliveries));
	if (keep) {
		was = *e;
		was.rlen = xreallocarray(NULL, e->nfv + 1, sizeof *was.rlen);
		memcpy(was.rlen, e->rlen, (e->nfv + 1) * sizeof *was.rlen);
	} else
		e->fdeliv = e->deliveries; /* what modqd takes it with */
	if (e->shape != FB_SHAPE_SHORT)
		model_fields(e, r, whole);
	if (keep) {
		memcpy(e->rlen, was.rlen, (e->nfv + 1) * sizeof *e->rlen);
		free(was.rlen);
		e->rn = was.rn;
		e->cut = was.cut;
		e->over = was.over;
		e->forged = was.forged;
	}
	m.delivered[m.ndelivered++] = e;
	return (r);
}

/*
 * Go over a reply as redis.c's reader does with the limits of the read:
 * no string over lim.string bytes, lim.bytes of strings in all, no array
 * of more than lim.elems elements.
 */
static void
model_reply_over(const redisReply *r)
{
	const struct redis_limits *lim = &fake.lim;
	size_t i;

	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		m.got += r->len;
		if ((lim->string != 0 && r->len > lim->string) ||
		    (lim->bytes != 0 && m.got > lim->bytes))
			m.over = 1;
		break;
	case REDIS_REPLY_ARRAY:
		if (lim->elems != 0 && r->elements > lim->elems)
			m.over = 1;
		for (i = 0; i < r->elements; i++)
			model_reply_over(r->element[i]);
		break;
	}
}

/*
 * XREADGROUP ... STREAMS stream >: up to count entries not read yet,
 * whole, as [[stream, [entry...]]]; or FCALL modq_read: the same, each
 * bounded, as [entry...].  Either reply is checked against the read's
 * limits: one over them is dropped (fb_answer()), its entries pending,
 * and only an entry that cannot be valid may take it there.
 */
static redisReply *
model_read(const struct fb_cmd *c)
{
	int lua = arg_is(c, 0, "FCALL");
	redisReply *r = reply_new(REDIS_REPLY_ARRAY), *top, *s;
	long count = arg_num(c, lua ? 6 : 5);
	size_t i;
	int invalid = 0;

	for (i = 0; i < run.n && (long)r->elements < count; i++) {
		if (!run.e[i].queued)
			continue;
		run.e[i].queued = 0;
		run.e[i].pending = 1;
		run.e[i].deliveries = 1;
		reply_push(r, model_entry_reply(&run.e[i], 0, !lua));
		invalid |= run.e[i].over;
	}
	if (!lua) {
		if (r->elements == 0)
			return (reply_nil()); /* blocked in vain */
		s = reply_new(REDIS_REPLY_ARRAY);
		reply_push(s, reply_str(m.shared[K_STREAM]->name));
		reply_push(s, r);
		top = reply_new(REDIS_REPLY_ARRAY);
		reply_push(top, s);
		r = top;
	}
	m.over = 0;
	m.got = 0;
	model_reply_over(r);
	if (m.over && !invalid)
		abort(); /* valid entries that the limits leave no room for */
	return (r);
}

/*
 * Tell whether the reply just built went over the read's limits: redis.c
 * drops it unread, and the connections with it.
 */
int
model_over(void)
{
	int over = m.over;

	m.over = 0;
	return (over);
}

/* Tell whether a read blocks: XREADGROUP with nothing new to read. */
int
model_blocks(const struct fb_cmd *c)
{
	size_t i;

	if (c->conn != FB_INTAKE || !arg_is(c, 0, "XREADGROUP"))
		return (0);
	for (i = 0; i < run.n; i++)
		if (run.e[i].queued)
			return (0);
	return (1);
}

/* Compare two stream ids as Redis orders them. */
static int
model_sid_cmp(const char *a, const char *b)
{
	unsigned long long am, as, bm, bs;
	char *end;

	am = strtoull(a, &end, 10);
	as = *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
	bm = strtoull(b, &end, 10);
	bs = *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
	if (am != bm)
		return (am < bm ? -1 : 1);
	return (as < bs ? -1 : as > bs);
}

/*
 * FCALL modq_claim: "own" takes back the pending entries after start
 * (exclusive with "(", "-" for all), "idle" those from start on (all of
 * them idle long enough here); each handed out counts a delivery.  The
 * next start is "0-0" at the end of the pending list.
 */
static redisReply *
model_claim(const struct fb_cmd *c)
{
	redisReply *r = reply_new(REDIS_REPLY_ARRAY), *list;
	const char *start = c->argv[8];
	long count = arg_num(c, 9);
	int own = arg_is(c, 6, "own"), open = *start == '(';
	struct fb_entry *e, *last = NULL, *more = NULL;
	char next[40];
	size_t i;

	model_departures();
	list = reply_new(REDIS_REPLY_ARRAY);
	for (i = 0; i < run.n && more == NULL; i++) {
		e = &run.e[i];
		if (!e->pending ||
		    (strcmp(start, "-") != 0 &&
		        model_sid_cmp(e->sid, start + open) < open))
			continue;
		if ((long)list->elements == count) {
			more = e;
			continue;
		}
		e->deliveries++;
		reply_push(list, model_entry_reply(e, 1, 0));
		last = e;
	}
	snprintf(next, sizeof next, "0-0");
	if (own && last != NULL && (long)list->elements == count)
		snprintf(next, sizeof next, "(%s", last->sid);
	else if (!own && more != NULL)
		snprintf(next, sizeof next, "%s", more->sid);
	reply_push(r, reply_str(next));
	reply_push(r, list);
	return (r);
}

/*
 * After a modq_read or modq_claim reply: every entry it handed over that
 * modqd can take is in a batch now, unless it was in one already (a claim
 * finds it pending) or modqd is stopping (a claim's reply then finds
 * intake stopped).
 */
void
model_delivered(void)
{
	struct fb_entry *e;
	size_t i;
	int in;

	for (i = 0; i < m.ndelivered; i++) {
		e = m.delivered[i];
		if (e->flight)
			continue;
		in = pipeline_has(e->sid);
		if (FB_SKIPPED(e) ? in : !in && !fake.stopping)
			abort();
		e->flight = in;
		run.nflight += in;
	}
	m.ndelivered = 0;
}

/*
 * Check the entries that left flight: a batch that ends while Redis is up
 * and modqd is not stopping is done, so each of its entries is
 * acknowledged (and settled: see model_ack()).  Only a dropped batch
 * leaves its entries pending.  pipeline_has() is not cheap: this runs
 * where it matters, before anything could take a pending entry again or
 * excuse it (Redis going away or coming back, a shutdown, a claim,
 * intake_tick()), and at the end.
 */
void
model_departures(void)
{
	struct fb_entry *e;
	size_t i;

	if (pipeline_inflight() == run.nflight)
		return;
	for (i = 0; i < run.n; i++) {
		e = &run.e[i];
		if (!e->flight || pipeline_has(e->sid))
			continue;
		e->flight = 0;
		run.nflight--;
		if (e->pending && fake.up && !fake.stopping)
			abort(); /* a batch ended without settling it */
	}
	if (pipeline_inflight() != run.nflight)
		abort(); /* a comment in flight twice, or one never handed over */
}

/* The context round, on the command connection. */

/* HMGET of an author (trust, approved) or of its reputation history. */
static redisReply *
model_hmget_ctx(const struct fb_cmd *c, struct fb_key *k)
{
	redisReply *r;
	int i;

	if (k->wrong)
		return (reply_wrongtype());
	r = reply_new(REDIS_REPLY_ARRAY);
	if (k->kind == K_AUTHOR) {
		reply_push(r, reply_str(k->trust));
		reply_push(r, reply_str(k->approved));
		return (r);
	}
	for (i = 2; i < c->argc; i++)
		reply_push(r, reply_str(i % 2 == 0 ? k->hn : k->hr));
	return (r);
}

/* ZADD NX of a rate window record: added once. */
static redisReply *
model_zadd(const struct fb_cmd *c, struct fb_key *k)
{
	size_t i;

	if (k->wrong)
		return (reply_wrongtype());
	for (i = 0; i < k->nz; i++)
		if (memcmp(k->z[i].m, c->argv[4], 12) == 0)
			return (reply_int(0));
	k->z = xreallocarray(k->z, k->nz + 1, sizeof *k->z);
	k->z[k->nz].score = arg_score(c, 3, 0);
	memcpy(k->z[k->nz].m, c->argv[4], 12);
	k->nz++;
	return (reply_int(1));
}

/* ZCOUNT key (lo hi, or ZREMRANGEBYSCORE key -inf (lo. */
static redisReply *
model_zrange(const struct fb_cmd *c, struct fb_key *k, int remove)
{
	long long lo, hi;
	size_t i, n = 0, kept = 0;

	if (k->wrong)
		return (reply_wrongtype());
	lo = remove ? 0 : arg_score(c, 2, 1);
	hi = remove ? arg_score(c, 3, 1) : arg_score(c, 3, 0);
	for (i = 0; i < k->nz; i++) {
		if (remove ? k->z[i].score < hi
		           : k->z[i].score > lo && k->z[i].score <= hi) {
			n++;
			if (remove)
				continue;
		}
		k->z[kept++] = k->z[i];
	}
	k->nz = kept;
	return (reply_int((long long)n));
}

/* XCLAIM ... JUSTID: the ids still pending. */
static redisReply *
model_xclaim(const struct fb_cmd *c)
{
	redisReply *r = reply_new(REDIS_REPLY_ARRAY);
	struct fb_entry *e;
	int i;

	for (i = 5; i < c->argc - 1; i++)
		if ((e = model_entry(c->argv[i])) != NULL && e->pending)
			reply_push(r, reply_str(e->sid));
	return (r);
}

/* Answer a command of the command connection other than FCALL. */
static redisReply *
model_context(const struct fb_cmd *c)
{
	struct fb_key *k = c->argc > 1 ? key_find(c->argv[1], c->len[1]) : NULL;

	if (arg_is(c, 0, "XCLAIM"))
		return (model_xclaim(c));
	if (k == NULL)
		abort(); /* model_sent() let it through */
	if (arg_is(c, 0, "HMGET"))
		return (model_hmget_ctx(c, k));
	if (arg_is(c, 0, "HGET"))
		return (k->wrong ? reply_wrongtype() : reply_str(k->mode));
	if (arg_is(c, 0, "ZADD"))
		return (model_zadd(c, k));
	if (arg_is(c, 0, "ZCOUNT"))
		return (model_zrange(c, k, 0));
	if (arg_is(c, 0, "ZREMRANGEBYSCORE"))
		return (model_zrange(c, k, 1));
	if (arg_is(c, 0, "PEXPIRE"))
		return (k->wrong ? reply_wrongtype() : reply_int(k->nz > 0));
	abort();
}

/* Settling entries. */

/*
 * A record is written by entry e: its decision, on the connection self
 * (-1: modq_decide).  Every other connection watching the key will see
 * its EXEC abort.  No entry is written twice, nor both written and
 * dead-lettered.
 */
static void
model_write(struct fb_key *k, struct fb_entry *e, const char *status, int self)
{
	size_t w, i;

	for (w = 0; w < REDIS_NWRITE; w++) {
		if ((int)w + FB_WRITE == self)
			continue;
		for (i = 0; i < m.w[w].nwatch; i++)
			if (m.w[w].watch[i] == k)
				m.w[w].dirty = 1;
	}
	k->exists = 1;
	k->status = status;
	free(k->author);
	k->author = *e->author != '\0' ? xstrdup(e->author) : NULL;
	free(k->sid);
	k->sid = xstrdup(e->sid);
	memcpy(k->digest, e->digest, sizeof k->digest);
	e->writes++;
	e->settled = 1;
	if (e->writes + e->deads > 1)
		abort(); /* settled twice */
}

/* A dead letter is written for entry e. */
static void
model_dead(struct fb_entry *e)
{
	e->deads++;
	e->decisions++; /* status error */
	e->settled = 1;
	if (e->writes + e->deads > 1)
		abort(); /* settled twice */
}

/* XACK of one entry: 1 if it was pending. */
static int
model_ack(struct fb_entry *e)
{
	if (!e->pending)
		return (0);
	e->pending = 0;
	return (1);
}

/*
 * Tell whether a record settles entry e without writing it: its own
 * decision, one of a newer entry of the same id (e is superseded), the
 * record of a deleted comment, or one of e's own digest (the site sent
 * it again).
 */
static int
model_settles(const struct fb_key *k, const struct fb_entry *e)
{
	if (k == NULL || !k->exists || k->wrong)
		return (0);
	if (k->sid != NULL &&
	    (strcmp(k->sid, e->sid) == 0 || model_sid_cmp(e->sid, k->sid) < 0))
		return (1);
	return (strcmp(k->status, "deleted") == 0 ||
	    strcmp(k->digest, e->digest) == 0);
}

/*
 * Take e's record out of a rate window (every one of e's when k is NULL):
 * an entry that counts for nothing.
 */
static void
model_unrate(struct fb_entry *e, struct fb_key *k)
{
	struct fb_key *r;
	size_t i, j, kept;

	for (i = 0; i < RULES_MAX_RATES; i++) {
		if ((r = e->rk[i]) == NULL || (k != NULL && r != k) || r->wrong)
			continue;
		for (j = 0, kept = 0; j < r->nz; j++)
			if (memcmp(r->z[j].m, e->rmember, 12) != 0)
				r->z[kept++] = r->z[j];
		r->nz = kept;
	}
}

/* The status name of a decision, as rules_status_name() spells it. */
static const char *
model_status(const char *s)
{
	int v;

	for (v = RULES_APPROVE; v <= RULES_REJECT; v++)
		if (strcmp(s, rules_status_name((enum rules_verdict)v)) == 0)
			return (rules_status_name((enum rules_verdict)v));
	abort();
}

/* Someone else writes a watched record between WATCH and EXEC. */
static void
model_touch(struct fb_key *k)
{
	size_t w, i;

	k->touch = 0;
	k->exists = 1;
	k->status = "held";
	free(k->author);
	k->author = NULL;
	free(k->sid);
	k->sid = xstrdup("1-1");
	snprintf(k->digest, sizeof k->digest, "fedcba9876543210");
	for (w = 0; w < REDIS_NWRITE; w++)
		for (i = 0; i < m.w[w].nwatch; i++)
			if (m.w[w].watch[i] == k)
				m.w[w].dirty = 1;
}

/*
 * Forget a connection's transaction and WATCH (EXEC ended them, or the
 * connection failed); conn -1 for every write connection.
 */
void
model_discard(int conn)
{
	struct fb_wconn *w;
	size_t i, j;

	for (i = 0; i < REDIS_NWRITE; i++) {
		if (conn != -1 && (int)i + FB_WRITE != conn)
			continue;
		w = &m.w[i];
		for (j = 0; j < w->nq; j++)
			fake_cmd_free(w->q[j]);
		free(w->q);
		w->q = NULL;
		w->nq = 0;
		w->multi = 0;
		w->nwatch = 0;
		w->dirty = 0;
	}
}

/* The write connections: the WATCH round and the transaction. */

static struct fb_wconn *
model_w(const struct fb_cmd *c)
{
	return (&m.w[c->conn - FB_WRITE]);
}

/* WATCH: a connection watches one batch's keys at a time. */
static redisReply *
model_watch(const struct fb_cmd *c)
{
	struct fb_wconn *w = model_w(c);
	int i;

	if (w->nwatch != 0)
		abort(); /* the last batch's WATCH was never ended */
	w->watch = xreallocarray(w->watch, (size_t)c->argc, sizeof *w->watch);
	for (i = 1; i < c->argc; i++)
		w->watch[w->nwatch++] = key_find(c->argv[i], c->len[i]);
	w->dirty = 0;
	return (reply_status("OK"));
}

/* TIME: the model's clock. */
static redisReply *
model_time(const struct fb_cmd *c)
{
	redisReply *r = reply_new(REDIS_REPLY_ARRAY);
	char buf[PIPELINE_NUM];

	model_w(c)->time_ms = run.now_ms;
	snprintf(buf, sizeof buf, "%lld", run.now_ms / 1000);
	reply_push(r, reply_str(buf));
	snprintf(buf, sizeof buf, "%lld", run.now_ms % 1000 * 1000 + 321);
	reply_push(r, reply_str(buf));
	return (r);
}

/* HMGET of a comment's record: status, author, stream_id, digest. */
static redisReply *
model_record(const struct fb_cmd *c)
{
	struct fb_key *k = key_find(c->argv[1], c->len[1]);
	redisReply *r;

	if (k->wrong)
		return (reply_wrongtype());
	r = reply_new(REDIS_REPLY_ARRAY);
	reply_push(r, reply_str(k->exists ? k->status : NULL));
	reply_push(r, reply_str(k->exists ? k->author : NULL));
	reply_push(r, reply_str(k->exists ? k->sid : NULL));
	reply_push(
	    r, reply_str(k->exists && *k->digest != '\0' ? k->digest : NULL));
	return (r);
}

/*
 * A shared key's type check: of the wrong type for the first looks the
 * parameters ask (an operator then fixes it).
 */
static redisReply *
model_check_type(int *wrong)
{
	if (*wrong == 0)
		return (reply_int(3));
	(*wrong)--;
	return (reply_wrongtype());
}

/*
 * A command queued inside MULTI whose reply nobody reads (the model owns
 * it until EXEC); MULTI itself.
 */
void
model_queued(struct fb_cmd *c)
{
	struct fb_wconn *w = model_w(c);

	if (arg_is(c, 0, "MULTI")) {
		if (w->multi)
			abort(); /* MULTI inside MULTI */
		w->multi = 1;
		fake_cmd_free(c);
		return;
	}
	if (!w->multi)
		abort(); /* a reply nobody reads, outside a transaction */
	w->q = xreallocarray(w->q, w->nq + 1, sizeof *w->q);
	w->q[w->nq++] = c;
}

/*
 * Run one XACK of a transaction: only entries whose record settles them
 * (the transaction wrote it, or it did before).
 */
static redisReply *
model_tx_ack(const struct fb_cmd *q, struct fb_tx *tx)
{
	struct fb_entry *e;
	long long n = 0;
	int i;

	for (i = 3; i < q->argc; i++) {
		e = model_entry(q->argv[i]);
		if (e == NULL || !model_settles(e->ck, e))
			abort(); /* acknowledged, not settled */
		e->settled = 1;
		n += model_ack(e);
	}
	tx->acked = 1;
	return (reply_int(n));
}

/*
 * Run one command of a transaction.  A record is written only where there
 * is none: an older one is modq_decide's to replace.  What follows a
 * record's HSET belongs to that record's decision.  A ZREM takes out of a
 * rate window an entry that its record settles, not by its own decision:
 * superseded, sent again or deleted.
 */
static redisReply *
model_tx_cmd(const struct fb_cmd *q, struct fb_tx *tx)
{
	struct fb_key *k = q->argc > 1 ? key_find(q->argv[1], q->len[1]) : NULL;
	struct fb_entry *e = tx->last;

	if (arg_is(q, 0, "HSET")) {
		e = model_entry(q->argv[q->argc - 5]);
		if (k->exists || k->wrong)
			abort(); /* the transaction writes over a record */
		model_write(k, e, model_status(q->argv[q->argc - 15]), q->conn);
		tx->last = e;
		tx->wrote =
		    xreallocarray(tx->wrote, tx->nwrote + 1, sizeof *tx->wrote);
		tx->wrote[tx->nwrote++] = e;
		return (reply_int(q->argc / 2 - 1));
	}
	if (arg_is(q, 0, "XACK"))
		return (model_tx_ack(q, tx));
	if (k->kind == K_STATS)
		return (reply_int(1));
	if (arg_is(q, 0, "ZREM")) {
		e = model_entry(model_member_sid(q->argv[2]));
		if (tx->acked || !model_settles(e->ck, e) ||
		    strcmp(e->ck->sid != NULL ? e->ck->sid : "", e->sid) == 0)
			abort(); /* out of its windows, yet it counts */
		model_unrate(e, k);
		return (k->wrong ? reply_wrongtype() : reply_int(1));
	}
	if (e == NULL || tx->acked)
		abort(); /* a decision's command without its record */
	if (arg_is(q, 0, "EXPIRE") &&
	    (k != e->ck || strcmp(e->ck->status, "held") == 0))
		abort(); /* held records wait for a person: no TTL */
	if (arg_is(q, 0, "XADD")) {
		if (!arg_is(q, 7, e->id) || !arg_is(q, 9, e->ck->status))
			abort();
		e->decisions++;
	}
	if (arg_is(q, 0, "ZADD") &&
	    (!arg_is(q, 3, e->id) || strcmp(e->ck->status, "held") != 0))
		abort();
	if (k->kind == K_AUTHOR && (k != e->ak || !arg_is(q, 2, e->ck->status)))
		abort();
	if (k->kind == K_HIST && k != e->hk)
		abort();
	return (k->wrong ? reply_wrongtype() : reply_int(1));
}

/*
 * EXEC: nil if a watched key changed since WATCH (someone else may write a
 * record then: see key_init()), else every queued command runs.  An entry
 * the transaction writes it also acknowledges.
 */
static redisReply *
model_exec(const struct fb_cmd *c)
{
	struct fb_wconn *w = model_w(c);
	struct fb_tx tx;
	redisReply *r;
	size_t i;

	if (!w->multi)
		abort(); /* EXEC without MULTI */
	for (i = 0; i < w->nwatch; i++)
		if (w->watch[i]->touch)
			model_touch(w->watch[i]);
	if (w->dirty) {
		model_discard(c->conn);
		return (reply_new(REDIS_REPLY_NIL));
	}
	memset(&tx, 0, sizeof tx);
	r = reply_new(REDIS_REPLY_ARRAY);
	for (i = 0; i < w->nq; i++)
		reply_push(r, model_tx_cmd(w->q[i], &tx));
	for (i = 0; i < tx.nwrote; i++)
		if (tx.wrote[i]->pending)
			abort(); /* written, not acknowledged with it */
	free(tx.wrote);
	model_discard(c->conn);
	return (r);
}

/* Answer a command of a write connection whose reply is read. */
static redisReply *
model_wconn(const struct fb_cmd *c)
{
	struct fb_wconn *w = model_w(c);

	if (arg_is(c, 0, "EXEC"))
		return (model_exec(c));
	if (w->multi)
		abort(); /* a command read outside the transaction inside it */
	if (arg_is(c, 0, "WATCH"))
		return (model_watch(c));
	if (arg_is(c, 0, "TIME"))
		return (model_time(c));
	if (arg_is(c, 0, "XLEN"))
		return (model_check_type(&run.par.wrong_decisions));
	if (arg_is(c, 0, "ZCARD"))
		return (model_check_type(&run.par.wrong_held));
	if (arg_is(c, 0, "HMGET"))
		return (model_record(c));
	if (arg_is(c, 0, "UNWATCH")) {
		w->nwatch = 0;
		w->dirty = 0;
		return (reply_status("OK"));
	}
	abort();
}

/* modq_decide. */

/*
 * Read the item at argument i as modq.lua does, or abort: 'd' stream_id
 * comment_key id status reasons author_key hist_key digest rate_member
 * nrate rate_key... nstats stat... nown nhash field value..., or 'x'
 * stream_id error kind id cut nfields field value...
 */
static void
model_item(const struct fb_cmd *c, int i, struct fb_item *it)
{
	memset(it, 0, sizeof *it);
	it->at = i;
	if (i + 1 >= c->argc || c->len[i] != 1 ||
	    (*c->argv[i] != 'd' && *c->argv[i] != 'x') ||
	    (it->e = model_entry(c->argv[i + 1])) == NULL)
		abort();
	it->kind = *c->argv[i];
	if (it->kind == 'x') {
		it->nf = (int)arg_num(c, i + 6);
		it->f0 = i + 7;
		it->next = it->f0 + 2 * it->nf;
	} else {
		it->ck = key_find(c->argv[i + 2], c->len[i + 2]);
		it->nrate = (int)arg_num(c, i + 10);
		it->r0 = i + 11;
		it->nst = (int)arg_num(c, it->r0 + it->nrate);
		it->s0 = it->r0 + it->nrate + 1;
		it->nown = (int)arg_num(c, it->s0 + it->nst);
		it->nh = (int)arg_num(c, it->s0 + it->nst + 1);
		it->h0 = it->s0 + it->nst + 2;
		it->next = it->h0 + 2 * it->nh;
	}
	if (it->next > c->argc)
		abort();
}

/*
 * One 'd' item, as modq_decide runs it: 1 written (or dead-lettered: its
 * comment key is not a hash, and its XACK acknowledged it), 0 decided
 * before, 2 superseded, 3 sent again, 4 deleted.  Those three count for
 * nothing in the rate windows, nor does an edit, which replaces an
 * earlier revision.
 */
static int
model_decide_d(const struct fb_cmd *c, const struct fb_item *it)
{
	struct fb_key *k = it->ck;
	struct fb_entry *e = it->e;
	long revision;

	if (k->wrong) {
		if (!model_ack(e))
			return (0); /* dead-lettered by an earlier call */
		model_dead(e); /* not a hash: never overwritten */
		return (1);
	}
	if (k->exists && k->sid != NULL && strcmp(k->sid, e->sid) == 0) {
		e->settled = 1;
		return (0);
	}
	if (model_settles(k, e)) {
		e->settled = 1;
		model_unrate(e, NULL);
		if (k->sid != NULL && model_sid_cmp(e->sid, k->sid) < 0)
			return (2);
		return (strcmp(k->status, "deleted") == 0 ? 4 : 3);
	}
	revision = k->exists ? k->revision + 1 : 0;
	if (k->exists) {
		model_unrate(e, NULL);
		e->edits++;
	}
	model_write(k, e, model_status(c->argv[it->at + 4]), -1);
	e->decisions++;
	k->revision = revision;
	return (1);
}

/*
 * FCALL modq_decide: each item in turn, then the XACK of every 'd' item.
 * A shared key of the wrong type fails the call before its first write.
 */
static redisReply *
model_decide(const struct fb_cmd *c)
{
	struct fb_item it;
	redisReply *r;
	int i;

	if (run.par.wrong_decisions > 0 || run.par.wrong_held > 0) {
		run.par.wrong_decisions -= run.par.wrong_decisions > 0;
		run.par.wrong_held -= run.par.wrong_held > 0;
		return (
		    reply_error("WRONGTYPE Operation against a key holding "
		                "the wrong kind of value script: modq_decide"));
	}
	r = reply_new(REDIS_REPLY_ARRAY);
	for (i = 12; i < c->argc; i = it.next) {
		model_item(c, i, &it);
		if (it.kind == 'd')
			reply_push(r, reply_int(model_decide_d(c, &it)));
		else if (model_ack(it.e)) {
			model_dead(it.e);
			reply_push(r, reply_int(1));
		} else
			reply_push(r, reply_int(0));
	}
	for (i = 12; i < c->argc; i = it.next) {
		model_item(c, i, &it);
		if (it.kind == 'd')
			model_ack(it.e);
	}
	return (r);
}

/* The checks of what modqd writes. */

/*
 * Check that modqd judged what the stream holds: an entry it could take as
 * it was delivered, whole (what modq_read cut is only ever a dead letter).
 * A reply of a shape no Redis sends is only held to the first.
 */
static void
model_check_judged(const struct fb_entry *e)
{
	size_t i;

	if (FB_SKIPPED(e) || e->fdeliv > fake.conf->max_deliveries)
		abort();
	if (e->forged)
		return;
	if (e->cut || e->rn != e->nfv)
		abort(); /* judged what modq_read cut */
	for (i = 0; i < e->rn; i++)
		if (e->rlen[i] != e->fvlen[i])
			abort();
}

/* Tell whether word is one of the space-separated words of s. */
static int
model_word(const char *s, const char *word)
{
	size_t n = strlen(word), k;

	while (*s != '\0') {
		k = strcspn(s, " ");
		if (k == n && strncmp(s, word, n) == 0)
			return (1);
		s += k;
		s += *s == ' ';
	}
	return (0);
}

/*
 * The context modqd read for an entry, from the model's keys; which rate
 * rules fired is taken from the reasons (the counts change as comments
 * come), each only where the entry has a value to count.
 */
static void
model_ctx(const struct fb_entry *e, const char *reasons, struct rules_ctx *x)
{
	const struct rules_authors *au = rules_authors(fake.rules);
	const struct rules_rate *r;
	long long days = au->rejected_days < 90 ? au->rejected_days : 90;
	size_t k;
	int j;

	memset(x, 0, sizeof *x);
	x->has_author = *e->author != '\0';
	for (j = 1; j < 4 && e->ak != NULL && !e->ak->wrong; j++)
		if (e->ak->trust != NULL &&
		    strcmp(e->ak->trust, fb_trusts[j]) == 0)
			x->trust = (enum rules_trust)j;
	if (e->ak != NULL && !e->ak->wrong && e->ak->approved != NULL)
		x->approved = strtoll(e->ak->approved, NULL, 10);
	for (j = 1; j < 3 && e->tk != NULL && !e->tk->wrong; j++)
		if (e->tk->mode != NULL &&
		    strcmp(e->tk->mode, fb_modes[j]) == 0)
			x->mode = (enum rules_mode)j;
	if (e->hk != NULL && !e->hk->wrong && au->hold_if_rejected) {
		x->recent_decided =
		    e->hk->hn != NULL ? days * strtoll(e->hk->hn, NULL, 10) : 0;
		x->recent_rejected =
		    e->hk->hr != NULL ? days * strtoll(e->hk->hr, NULL, 10) : 0;
	}
	for (k = 0; k < RULES_MAX_RATES; k++) {
		x->rate[k] = -1;
		if (k >= rules_nrates(fake.rules) || e->rk[k] == NULL)
			continue;
		r = rules_rate(fake.rules, k);
		x->rate[k] = model_word(reasons, r->name) ? r->limit + 1 : 0;
	}
}

/*
 * Check a decision, its record's fields from argument r (status, reasons,
 * matched): rules_decide() on the entry's body matched here, and the
 * context from the model, gives the same.
 */
static void
model_check_decision(struct fb_entry *e, const struct fb_cmd *c, int r)
{
	struct rules_decision d;
	struct rules_ctx x;

	if (!e->matched)
		e->matched = rules_match_text(fake.rules, e->body, e->bodylen,
		                 &e->match) == 0
		    ? 1
		    : 2;
	if (e->matched == 2)
		return; /* the matcher failed: modqd holds it, as it may */
	model_ctx(e, c->argv[r + 3], &x);
	rules_decide(fake.rules, &e->match, &x, &d);
	arg_want(c, r + 1, rules_status_name(d.verdict));
	arg_want(c, r + 3, d.reasons);
	arg_want(c, r + 5, e->match.matched);
	rules_decision_free(&d);
}

/*
 * Check the n strings of a decision's hash from argument at: the entry's
 * own fields as modqd received them, byte for byte, its warnings if its
 * ip is no address, then RECORD_FIELDS with the decision and its digest
 * (decided_at, if not NULL).  Returns the entry, found by the stream_id
 * it writes.
 */
static struct fb_entry *
model_check_hash(const struct fb_cmd *c, int at, int n, const char *decided_at)
{
	static const char *const name[RECORD_NFIELDS] = {RECORD_FIELDS};
	struct fb_entry *e;
	int i, r = at + n - 2 * RECORD_NFIELDS, own;

	if (n < 2 * RECORD_NFIELDS || at + n > c->argc ||
	    (e = model_entry(c->argv[r + 11])) == NULL ||
	    !arg_is(c, r + 11, e->sid))
		abort();
	own = r - at - 2 * e->warn;
	if (own < 0 || (size_t)own != e->rn)
		abort();
	for (i = 0; i < own; i++)
		if (c->len[at + i] != e->rlen[i] ||
		    memcmp(c->argv[at + i], e->fv[i], e->rlen[i]) != 0)
			abort(); /* not the string the stream holds */
	if (e->warn &&
	    (!arg_is(c, r - 2, "warnings") ||
	        strncmp(c->argv[r - 1], "ip: ", 4) != 0))
		abort();
	for (i = 0; i < RECORD_NFIELDS; i++)
		arg_want(c, r + 2 * i, name[i]);
	arg_want(c, r + 7, "modqd");
	arg_want(c, r + 9, rules_stamp(fake.rules));
	arg_want(c, r + 13, e->digest);
	if (decided_at != NULL)
		arg_want(c, r + 15, decided_at);
	model_check_judged(e);
	model_check_decision(e, c, r);
	return (e);
}

/*
 * The id modqd took from what it received of an entry, as
 * pipeline_fields() should (the last "id", names and values as C
 * strings): 1 if there is one, with its bytes.
 */
static int
model_recv_id(const struct fb_entry *e, const char **id, size_t *len)
{
	size_t j;
	int found = 0;

	for (j = 0; j + 1 < e->rn; j += 2) {
		if (strnlen(e->fv[j], e->rlen[j]) != 2 ||
		    memcmp(e->fv[j], "id", 2) != 0)
			continue;
		*id = e->fv[j + 1];
		*len = strnlen(e->fv[j + 1], e->rlen[j + 1]);
		found = 1;
	}
	return (found);
}

/*
 * Check a dead letter: its reason has a kind, the kind's word for the
 * decisions stream, the id if it is one a record may have, and it carries
 * what modqd kept of the entry, at most ENTRY_MAX_PAIRS fields of at most
 * PIPELINE_DEAD_KEEP bytes each, every one the start of the string the
 * stream holds (cut only where longer, and then before a UTF-8 sequence
 * at most).
 */
static void
model_check_x(const struct fb_cmd *c, const struct fb_item *it)
{
	const struct fb_entry *e = it->e;
	const char *err = c->argv[it->at + 2], *id = "";
	size_t len, want, idlen = 0;
	int j;

	if (c->len[it->at + 2] == 0 || c->len[it->at + 2] != strlen(err) ||
	    entry_error_kind(err) == ENTRY_KINDS - 1 ||
	    !arg_is(c, it->at + 3, entry_kind_word(entry_error_kind(err))) ||
	    c->len[it->at + 5] != strlen(c->argv[it->at + 5]))
		abort();
	if (!model_recv_id(e, &id, &idlen) || !entry_id_ok(id, idlen))
		idlen = 0;
	if (c->len[it->at + 4] != idlen ||
	    memcmp(c->argv[it->at + 4], id, idlen) != 0)
		abort();
	if (it->nf > ENTRY_MAX_PAIRS || (size_t)it->nf != e->rn / 2)
		abort();
	for (j = 0; j < 2 * it->nf; j++) {
		len = c->len[it->f0 + j];
		want = e->rlen[j];
		if (len > PIPELINE_DEAD_KEEP ||
		    memcmp(c->argv[it->f0 + j], e->fv[j], len) != 0 ||
		    (want <= PIPELINE_DEAD_KEEP
		            ? len != want
		            : len + 4 <= PIPELINE_DEAD_KEEP))
			abort();
	}
}

/*
 * Check a decision item: the entry's comment key, id, author and history
 * keys, digest, rate member and rate keys, a stats field per reason and
 * its status, and its hash.
 */
static void
model_check_d(const struct fb_cmd *c, const struct fb_item *it)
{
	const struct fb_entry *e = it->e;
	const char *reasons = c->argv[it->at + 5], *p;
	size_t n, k;
	int i, r;

	if (it->ck == NULL || it->ck != e->ck || !it->ck->ok ||
	    !arg_is(c, it->at + 3, e->id) ||
	    !arg_is(c, it->at + 6, e->ak != NULL ? e->ak->name : "") ||
	    !arg_is(c, it->at + 7, e->hk != NULL ? e->hk->name : "") ||
	    !arg_is(c, it->at + 8, e->digest) || c->len[it->at + 9] != 12 ||
	    memcmp(c->argv[it->at + 9], e->rmember, 12) != 0)
		abort();
	for (k = 0, i = 0; k < RULES_MAX_RATES; k++) {
		if (e->rk[k] == NULL)
			continue;
		if (i >= it->nrate ||
		    key_arg(c, it->r0 + i, K_RATE) != e->rk[k])
			abort(); /* not the entry's rate keys, in order */
		i++;
	}
	if (i != it->nrate)
		abort();
	if (model_check_hash(c, it->h0, 2 * it->nh, "0") != e ||
	    it->nown != (int)e->rn / 2 ||
	    it->nh != it->nown + RECORD_NFIELDS + e->warn)
		abort();
	r = it->h0 + 2 * it->nh - 2 * RECORD_NFIELDS;
	if (strcmp(c->argv[it->at + 4], c->argv[r + 1]) != 0 ||
	    strcmp(reasons, c->argv[r + 3]) != 0)
		abort();
	for (i = 0, p = reasons; i < it->nst - 1; i++, p += n) {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n == 0 || c->len[it->s0 + i] != n + 5 ||
		    strncmp(c->argv[it->s0 + i], "rule:", 5) != 0 ||
		    memcmp(c->argv[it->s0 + i] + 5, p, n) != 0)
			abort();
	}
	if (it->nst < 1 || p[strspn(p, " ")] != '\0' ||
	    strcmp(c->argv[it->s0 + it->nst - 1], c->argv[it->at + 4]) != 0)
		abort();
}

/* Check the start of an FCALL: function, no keys, stream[, group, consumer]. */
static void
model_check_fcall(const struct fb_cmd *c, const char *fn, int consumer)
{
	arg_want(c, 0, "FCALL");
	arg_want(c, 1, fn);
	arg_want(c, 2, "0");
	arg_want(c, 3, m.shared[K_STREAM]->name);
	if (consumer) {
		arg_want(c, 4, fake.conf->group);
		arg_want(c, 5, fake.conf->consumer);
	}
}

/* Abort unless argument i is the decimal v. */
static void
model_check_long(const struct fb_cmd *c, int i, long v)
{
	char buf[PIPELINE_NUM];

	snprintf(buf, sizeof buf, "%ld", v);
	arg_want(c, i, buf);
}

/*
 * Check FCALL modq_decide: the stream, group, limits and shared keys, then
 * at least one item, each well formed and of a different entry.
 */
static void
model_sent_decide(const struct fb_cmd *c)
{
	const struct rules_authors *au = rules_authors(fake.rules);
	static unsigned long call;
	struct fb_item it;
	int i;

	if (c->argc < 13)
		abort();
	model_check_fcall(c, "modq_decide", 0);
	arg_want(c, 4, fake.conf->group);
	model_check_long(c, 5, fake.conf->ttl_days * 86400);
	model_check_long(c, 6, fake.conf->maxlen);
	model_check_long(c, 7, au->hold_if_rejected ? au->rejected_days : 0);
	for (i = K_HELD; i <= K_DEAD; i++)
		arg_want(c, 8 + i - K_HELD, m.shared[i]->name);
	call++;
	for (i = 12; i < c->argc; i = it.next) {
		model_item(c, i, &it);
		if (it.e->mark == call)
			abort(); /* one entry twice in a call */
		it.e->mark = call;
		if (it.kind == 'd')
			model_check_d(c, &it);
		else
			model_check_x(c, &it);
	}
}

/* The key argument i: an allowed key of an entry, of the kind given. */
static struct fb_key *
key_arg(const struct fb_cmd *c, int i, int kind)
{
	struct fb_key *k;

	if (i >= c->argc || (k = key_find(c->argv[i], c->len[i])) == NULL)
		abort(); /* a key no entry names */
	if (!k->ok || (kind >= 0 && k->kind != kind))
		abort(); /* a key the contract does not allow there */
	return (k);
}

/*
 * Check a command of the intake connection: XREADGROUP GROUP group
 * consumer COUNT n BLOCK 2000 STREAMS stream >, or FCALL modq_read; and
 * the limits of its reply: room for n valid entries at their largest
 * (entry_max_size(), their ids, the stream's name), for the longest
 * string of a valid entry, for the fields of one and for n entries.
 */
static void
model_sent_intake(const struct fb_cmd *c)
{
	const struct redis_limits *lim = &fake.lim;
	long max_body = fake.conf->max_body, n;
	size_t longest;

	if (c->cb == NULL)
		abort();
	if (arg_is(c, 0, "XREADGROUP")) {
		if (c->argc != 11)
			abort();
		arg_want(c, 1, "GROUP");
		arg_want(c, 2, fake.conf->group);
		arg_want(c, 3, fake.conf->consumer);
		arg_want(c, 4, "COUNT");
		n = arg_num(c, 5);
		arg_want(c, 6, "BLOCK");
		arg_want(c, 7, "2000");
		arg_want(c, 8, "STREAMS");
		arg_want(c, 9, m.shared[K_STREAM]->name);
		arg_want(c, 10, ">");
	} else {
		if (c->argc != 8)
			abort();
		model_check_fcall(c, "modq_read", 1);
		n = arg_num(c, 6);
		model_check_long(c, 7, max_body);
	}
	if (n < 1 || n > fake.conf->batch)
		abort();
	longest =
	    (size_t)(max_body > ENTRY_EXTRA_MIN ? max_body : ENTRY_EXTRA_MIN);
	if (lim->string < longest || lim->elems < 2 * ENTRY_MAX_PAIRS ||
	    lim->elems < (size_t)n ||
	    lim->bytes < (size_t)n * ((size_t)max_body + longest + 2048))
		abort(); /* a valid entry could find no room */
}

/* Check FCALL modq_claim and modq_trim. */
static void
model_sent_claim(const struct fb_cmd *c)
{
	long n;

	if (arg_is(c, 1, "modq_trim")) {
		if (c->argc != 4 || !fake.conf->trim)
			abort();
		model_check_fcall(c, "modq_trim", 0);
		return;
	}
	if (c->argc != 11)
		abort();
	model_check_fcall(c, "modq_claim", 1);
	if (!arg_is(c, 6, "own") && !arg_is(c, 6, "idle"))
		abort();
	model_check_long(c, 7, fake.conf->claim_idle_ms);
	if (c->len[8] == 0 || c->len[8] != strlen(c->argv[8]))
		abort();
	n = arg_num(c, 9);
	if (n < 1 || n > fake.conf->batch)
		abort();
	model_check_long(c, 10, fake.conf->max_body);
}

/*
 * Check a rate window command: ZADD NX of the 12-byte record of a stream
 * id (8 bytes of its time, big-endian, that are its score), ZCOUNT and
 * ZREMRANGEBYSCORE of a window, PEXPIRE.
 */
static void
model_sent_rate(const struct fb_cmd *c)
{
	unsigned long long ts = 0;
	int i;

	key_arg(c, 1, K_RATE);
	if (arg_is(c, 0, "ZADD")) {
		if (c->argc != 5 || c->len[4] != 12)
			abort();
		arg_want(c, 2, "NX");
		for (i = 0; i < 8; i++)
			ts = ts << 8 | (unsigned char)c->argv[4][i];
		if ((long long)ts != arg_score(c, 3, 0))
			abort();
	} else if (arg_is(c, 0, "ZCOUNT")) {
		if (c->argc != 4 || arg_score(c, 2, 1) >= arg_score(c, 3, 0))
			abort();
	} else if (arg_is(c, 0, "ZREMRANGEBYSCORE")) {
		if (c->argc != 4)
			abort();
		arg_want(c, 2, "-inf");
		arg_score(c, 3, 1);
	} else if (c->argc != 3 || arg_score(c, 2, 0) <= 0)
		abort();
}

/* Check XCLAIM ... JUSTID of a batch's entries. */
static void
model_sent_xclaim(const struct fb_cmd *c)
{
	int i;

	if (c->argc < 7)
		abort();
	arg_want(c, 1, m.shared[K_STREAM]->name);
	arg_want(c, 2, fake.conf->group);
	arg_want(c, 3, fake.conf->consumer);
	arg_want(c, 4, "0");
	arg_want(c, c->argc - 1, "JUSTID");
	for (i = 5; i < c->argc - 1; i++)
		if (model_entry(c->argv[i]) == NULL)
			abort();
}

/*
 * Check an HMGET of an author (trust, approved) or of its history (a
 * number of days, two fields a day), or an HGET of a thread's mode.
 */
static void
model_sent_hget(const struct fb_cmd *c)
{
	struct fb_key *k;
	int i;

	if (arg_is(c, 0, "HGET")) {
		key_arg(c, 1, K_THREAD);
		if (c->argc != 3)
			abort();
		arg_want(c, 2, "mode");
		return;
	}
	k = key_arg(c, 1, -1);
	if (k->kind == K_AUTHOR) {
		if (c->argc != 4)
			abort();
		arg_want(c, 2, "trust");
		arg_want(c, 3, "approved");
		return;
	}
	if (k->kind != K_HIST || c->argc < 4 || c->argc % 2 != 0)
		abort();
	for (i = 2; i < c->argc; i++)
		if (c->len[i] < 3 ||
		    strcmp(c->argv[i] + c->len[i] - 2,
		        i % 2 == 0 ? ":n" : ":r") != 0)
			abort();
}

/* Check a command of the command connection. */
static void
model_sent_command(const struct fb_cmd *c)
{
	if (c->cb == NULL)
		abort();
	if (arg_is(c, 0, "FCALL") && arg_is(c, 1, "modq_decide"))
		model_sent_decide(c);
	else if (arg_is(c, 0, "FCALL"))
		model_sent_claim(c);
	else if (arg_is(c, 0, "HMGET") || arg_is(c, 0, "HGET"))
		model_sent_hget(c);
	else if (arg_is(c, 0, "ZADD") || arg_is(c, 0, "ZCOUNT") ||
	    arg_is(c, 0, "ZREMRANGEBYSCORE") || arg_is(c, 0, "PEXPIRE"))
		model_sent_rate(c);
	else if (arg_is(c, 0, "XCLAIM"))
		model_sent_xclaim(c);
	else
		abort(); /* not a command modqd sends there */
}

/* Check a command of a write connection whose reply is read. */
static void
model_sent_wconn(const struct fb_cmd *c)
{
	int i;

	if (arg_is(c, 0, "WATCH")) {
		if (c->argc < 2)
			abort();
		for (i = 1; i < c->argc; i++)
			key_arg(c, i, K_RECORD);
	} else if (arg_is(c, 0, "HMGET")) {
		key_arg(c, 1, K_RECORD);
		if (c->argc != 6)
			abort();
		arg_want(c, 2, "status");
		arg_want(c, 3, "author");
		arg_want(c, 4, "stream_id");
		arg_want(c, 5, "digest");
	} else if (arg_is(c, 0, "XLEN") || arg_is(c, 0, "ZCARD")) {
		if (c->argc != 2)
			abort();
		key_arg(c, 1, arg_is(c, 0, "XLEN") ? K_DECISIONS : K_HELD);
	} else if (!arg_is(c, 0, "TIME") && !arg_is(c, 0, "UNWATCH") &&
	    !arg_is(c, 0, "EXEC"))
		abort(); /* not a command modqd sends there */
	else if (c->argc != 1)
		abort();
}

/* Check HINCRBY inside a transaction: an author, a history or the stats. */
static void
model_sent_hincrby(const struct fb_cmd *c)
{
	struct fb_key *k = key_arg(c, 1, -1);
	const char *f = c->argv[2];

	if (c->argc != 4)
		abort();
	if (k->kind == K_AUTHOR) {
		model_status(f);
		arg_want(c, 3, "1");
	} else if (k->kind == K_HIST) {
		if (c->len[2] < 3 ||
		    (strcmp(f + c->len[2] - 2, ":n") != 0 &&
		        strcmp(f + c->len[2] - 2, ":r") != 0))
			abort();
		arg_want(c, 3, "1");
	} else if (k->kind == K_STATS) {
		if (c->len[2] != strlen(f) || arg_num(c, 3) < 1)
			abort();
		if (strncmp(f, "rule:", 5) != 0 &&
		    strcmp(f, "processed") != 0 &&
		    strcmp(f, "superseded") != 0 && strcmp(f, "resent") != 0)
			model_status(f);
	} else
		abort();
}

/*
 * Check ZREM of an entry's 12-byte record in one of its rate windows, as
 * the transaction takes out one that counts for nothing.
 */
static void
model_sent_zrem(const struct fb_cmd *c)
{
	struct fb_entry *e;
	struct fb_key *k = key_arg(c, 1, K_RATE);
	size_t i;

	if (c->argc != 3 || c->len[2] != 12 ||
	    (e = model_entry(model_member_sid(c->argv[2]))) == NULL ||
	    memcmp(c->argv[2], e->rmember, 12) != 0)
		abort();
	for (i = 0; i < RULES_MAX_RATES; i++)
		if (e->rk[i] == k)
			return;
	abort(); /* not one of the entry's windows */
}

/*
 * Check a command queued inside MULTI: the decisions' writes (the record's
 * hash with the time TIME gave, checked in full), the ZREM of the entries
 * that count for nothing, the XACK, the stats.
 */
static void
model_sent_tx(const struct fb_cmd *c)
{
	char now[PIPELINE_NUM];
	int i;

	snprintf(now, sizeof now, "%lld", model_w(c)->time_ms);
	if (arg_is(c, 0, "MULTI")) {
		if (c->argc != 1)
			abort();
	} else if (arg_is(c, 0, "HSET")) {
		if (key_arg(c, 1, K_RECORD) !=
		    model_check_hash(c, 2, c->argc - 2, now)->ck)
			abort();
	} else if (arg_is(c, 0, "EXPIRE")) {
		key_arg(c, 1, K_RECORD);
		if (c->argc != 3)
			abort();
		model_check_long(c, 2, fake.conf->ttl_days * 86400);
	} else if (arg_is(c, 0, "XADD")) {
		if (c->argc != 14 || c->len[7] != strlen(c->argv[7]))
			abort();
		key_arg(c, 1, K_DECISIONS);
		arg_want(c, 2, "MAXLEN");
		arg_want(c, 3, "~");
		model_check_long(c, 4, fake.conf->maxlen);
		arg_want(c, 5, "*");
		arg_want(c, 6, "id");
		arg_want(c, 8, "status");
		model_status(c->argv[9]);
		arg_want(c, 10, "reasons");
		arg_want(c, 12, "by");
		arg_want(c, 13, "modqd");
	} else if (arg_is(c, 0, "ZADD")) {
		key_arg(c, 1, K_HELD);
		if (c->argc != 4)
			abort();
		arg_want(c, 2, now);
	} else if (arg_is(c, 0, "HINCRBY")) {
		model_sent_hincrby(c);
	} else if (arg_is(c, 0, "ZREM")) {
		model_sent_zrem(c);
	} else if (arg_is(c, 0, "HDEL") || arg_is(c, 0, "PEXPIRE")) {
		key_arg(c, 1, K_HIST);
		if (c->argc != (arg_is(c, 0, "HDEL") ? 4 : 3))
			abort();
	} else if (arg_is(c, 0, "XACK")) {
		if (c->argc < 4)
			abort();
		key_arg(c, 1, K_STREAM);
		arg_want(c, 2, fake.conf->group);
		for (i = 3; i < c->argc; i++)
			if (model_entry(c->argv[i]) == NULL)
				abort();
	} else
		abort(); /* not a command modqd sends there */
}

/* Check a command as it is sent (see the top of this file). */
void
model_sent(const struct fb_cmd *c)
{
	int i;

	for (i = 0; i < c->argc; i++)
		if (c->argv[i] == NULL)
			abort();
	if (c->conn == FB_INTAKE)
		model_sent_intake(c);
	else if (c->conn == FB_COMMAND)
		model_sent_command(c);
	else if (c->cb != NULL)
		model_sent_wconn(c);
	else
		model_sent_tx(c);
}

/* Answer a command (its reply read) as Redis and modq.lua would. */
redisReply *
model_answer(const struct fb_cmd *c)
{
	if (c->conn == FB_INTAKE)
		return (model_read(c));
	if (c->conn >= FB_WRITE)
		return (model_wconn(c));
	if (!arg_is(c, 0, "FCALL"))
		return (model_context(c));
	if (arg_is(c, 1, "modq_claim"))
		return (model_claim(c));
	if (arg_is(c, 1, "modq_trim"))
		return (reply_int(0));
	return (model_decide(c));
}

/* A reply of a type the command never has (a confused proxy, say). */
redisReply *
model_malformed(const struct fb_cmd *c)
{
	if (arg_is(c, 0, "XLEN") || arg_is(c, 0, "ZCARD") ||
	    arg_is(c, 0, "ZADD") || arg_is(c, 0, "ZCOUNT") ||
	    arg_is(c, 0, "ZREMRANGEBYSCORE") || arg_is(c, 0, "PEXPIRE"))
		return (reply_status("OK"));
	return (reply_int(42));
}

/*
 * Tell whether a fault may replace a command's reply: an error reply
 * (malformed 0) or a malformed one (1).  UNWATCH always succeeds, and the
 * context reads always read what the model holds: the decision checks
 * need both.
 */
int
model_may_fail(const struct fb_cmd *c, int malformed)
{
	if (arg_is(c, 0, "UNWATCH"))
		return (0);
	return (!malformed || c->conn != FB_COMMAND ||
	    (!arg_is(c, 0, "HMGET") && !arg_is(c, 0, "HGET")));
}

/* A command got no reply of its own: an EXEC so ended drops its MULTI. */
void
model_unanswered(const struct fb_cmd *c)
{
	if (c->conn >= FB_WRITE && arg_is(c, 0, "EXEC"))
		model_discard(c->conn);
}

/* Forget what the reply in hand handed over: it never arrived. */
void
model_undelivered(void)
{
	m.ndelivered = 0;
}
