/*
 * sentinel.c -- owns the conversation with Redis Sentinel: which server
 * the sentinels name as the primary of redis.master, the test that a
 * server is that primary (ROLE), and one subscription to +switch-master
 * on one sentinel at a time, which tells redis.c to reconnect at once when
 * the primary changes.
 *
 * redis.c asks sentinel_primary() for the address at every (re)connect;
 * so does modqd -R.  The sentinels are asked in turn, the one that
 * answered last first, each synchronously within
 * redis.sentinel_timeout_ms for its connect and for each reply: nothing
 * can be judged while there is no primary anyway, and a sentinel on the
 * local network answers in a millisecond.  The subscription's connect and
 * AUTH are synchronous too, within the same bounds; its messages are read
 * from the event loop.
 *
 * A sentinel is trusted with nothing: every reply is read within
 * SENTINEL_REPLY_MAX bytes and SENTINEL_OBJS_MAX objects (hiredis would
 * buffer a reply of any size), and its types and contents are checked
 * before use.  hiredis's async layer is not used here: it asserts on
 * replies it did not expect, which a sentinel may send.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define SENTINEL_REPLY_MAX 4096 /* bytes of strings in one reply */
#define SENTINEL_OBJS_MAX 64 /* objects in one reply */
#define SENTINEL_HOST_MAX 255 /* bytes of a host name */
#define SENTINEL_PING_MS 5000 /* the subscription's keep-alive */
#define SENTINEL_BACKOFF_MIN 100 /* ms */
#define SENTINEL_BACKOFF_MAX 5000
#define SENTINEL_CHANNEL "+switch-master"
#define SENTINEL_HOST_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%"

static struct {
	struct event_base *base;
	const struct conf *conf; /* borrowed from redis.c */
	size_t first; /* the sentinel to ask first: the last that answered */
	char *host; /* owned: the primary last named, NULL before */
	int port;

	redisContext *sub; /* owned: the subscription, NULL when none */
	struct event *rev; /* its socket is readable */
	struct event *timer; /* reconnect, or the next keep-alive */
	size_t watch; /* the sentinel subscribed to, or tried next */
	int confirmed; /* the SUBSCRIBE was answered */
	int pinged; /* a PING awaits its PONG */
	long backoff;

	struct reply_guard qg; /* of the questions, one at a time */
	struct reply_guard sg; /* of the subscription */
} sn;

static const char *sentinel_name(const struct conf *, size_t);
static double sentinel_now(void);
static redisContext *sentinel_open(
    const struct conf *, size_t, struct reply_guard *, const char **);
static int sentinel_send(redisContext *, int, const char **, const char **);
static redisReply *sentinel_read(redisContext *, double, const char **);
static redisReply *sentinel_call(
    redisContext *, const struct conf *, int, const char **, const char **);
static int sentinel_ask(
    const struct conf *, redisContext *, char **, int *, const char **);
static int sentinel_addr(
    const struct conf *, const redisReply *, char **, int *, const char **);
static int sentinel_host_ok(const char *, size_t);
static int sentinel_port(const char *, size_t);
static void sentinel_remember(const char *, int);
static void sentinel_watch_open(void);
static void sentinel_watch_lost(const char *, ...)
    __attribute__((format(printf, 1, 2)));
static void sentinel_watch_read_cb(evutil_socket_t, short, void *);
static void sentinel_watch_timer_cb(evutil_socket_t, short, void *);
static void sentinel_watch_message(const redisReply *);
static void sentinel_switch(const char *, size_t);
static void sentinel_timer(long);
static void sentinel_guard(redisContext *, struct reply_guard *);

/* Give "host:port" of sentinel i ("[v6]:port"), in a static buffer. */
static const char *
sentinel_name(const struct conf *c, size_t i)
{
	static char buf[SENTINEL_HOST_MAX + 16];
	const struct conf_addr *a = &c->sentinels[i];

	snprintf(buf, sizeof buf,
	    strchr(a->host, ':') != NULL ? "[%s]:%ld" : "%s:%ld", a->host,
	    a->port);
	return (buf);
}

/* Seconds on the monotonic clock. */
static double
sentinel_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Make hiredis build c's replies through guard g, a sentinel's limits. */
static void
sentinel_guard(redisContext *c, struct reply_guard *g)
{
	g->max_objs = g->max_elems = SENTINEL_OBJS_MAX;
	g->max_bytes = SENTINEL_REPLY_MAX;
	reply_guard_attach(c, g);
}

/*
 * Connect to sentinel i within the timeout and log in (AUTH) when the
 * config has a sentinel password; NULL with *why set on failure.
 */
static redisContext *
sentinel_open(
    const struct conf *c, size_t i, struct reply_guard *g, const char **why)
{
	static char buf[160];
	struct timeval tv;
	redisContext *rc;
	redisReply *r;
	const char *argv[3];
	int n = 0;

	tv.tv_sec = c->sentinel_timeout_ms / 1000;
	tv.tv_usec = (c->sentinel_timeout_ms % 1000) * 1000;
	rc = redisConnectWithTimeout(
	    c->sentinels[i].host, (int)c->sentinels[i].port, tv);
	if (rc == NULL) {
		*why = "out of memory";
		return (NULL);
	}
	if (rc->err != 0 || redisSetTimeout(rc, tv) != REDIS_OK) {
		snprintf(buf, sizeof buf, "cannot connect: %s",
		    rc->errstr[0] != '\0' ? rc->errstr : "unknown error");
		*why = buf;
		redisFree(rc);
		return (NULL);
	}
	sentinel_guard(rc, g);
	if (c->sentinel_password == NULL)
		return (rc);
	argv[n++] = "AUTH";
	if (c->sentinel_user != NULL)
		argv[n++] = c->sentinel_user;
	argv[n++] = c->sentinel_password;
	if ((r = sentinel_call(rc, c, n, argv, why)) == NULL) {
		redisFree(rc);
		return (NULL);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(buf, sizeof buf, "AUTH: %.*s", (int)r->len, r->str);
		*why = buf;
		freeReplyObject(r);
		redisFree(rc);
		return (NULL);
	}
	freeReplyObject(r);
	return (rc);
}

/* Queue a command and write it out (within the socket's timeout). */
static int
sentinel_send(redisContext *rc, int argc, const char **argv, const char **why)
{
	size_t len[4];
	int i, done = 0;

	for (i = 0; i < argc && i < 4; i++)
		len[i] = strlen(argv[i]);
	if (redisAppendCommandArgv(rc, argc, argv, len) != REDIS_OK) {
		*why = rc->errstr;
		return (-1);
	}
	while (!done) {
		if (redisBufferWrite(rc, &done) != REDIS_OK) {
			*why = rc->errstr;
			return (-1);
		}
	}
	return (0);
}

/*
 * Read one reply before the deadline (monotonic seconds), never letting
 * hiredis hold more than SENTINEL_REPLY_MAX unparsed bytes; NULL with
 * *why set on failure.
 */
static redisReply *
sentinel_read(redisContext *rc, double deadline, const char **why)
{
	redisReader *r = rc->reader;
	struct reply_guard *g = r->privdata;
	void *reply = NULL;

	g->over = NULL;
	for (;;) {
		if (redisReaderGetReply(r, &reply) != REDIS_OK) {
			*why = g->over != NULL ? g->over : r->errstr;
			return (NULL);
		}
		if (reply != NULL)
			return (reply);
		if (r->len - r->pos > SENTINEL_REPLY_MAX) {
			*why = "a reply of too many bytes";
			return (NULL);
		}
		if (sentinel_now() > deadline) {
			*why = "no reply in time";
			return (NULL);
		}
		if (redisBufferRead(rc) != REDIS_OK) {
			*why = rc->errstr[0] != '\0' ? rc->errstr
			                             : "connection lost";
			return (NULL);
		}
	}
}

/* Send one command and read its reply within the timeout. */
static redisReply *
sentinel_call(redisContext *rc, const struct conf *c, int argc,
    const char **argv, const char **why)
{
	if (sentinel_send(rc, argc, argv, why) == -1)
		return (NULL);
	return (sentinel_read(
	    rc, sentinel_now() + (double)c->sentinel_timeout_ms / 1000, why));
}

/*
 * Ask a sentinel for the primary's address; *host is allocated.  Returns
 * 0, or -1 with *why set.
 */
static int
sentinel_ask(const struct conf *c, redisContext *rc, char **host, int *port,
    const char **why)
{
	const char *argv[3];
	redisReply *r;
	int rv;

	argv[0] = "SENTINEL";
	argv[1] = "get-master-addr-by-name";
	argv[2] = c->sentinel_master;
	if ((r = sentinel_call(rc, c, 3, argv, why)) == NULL)
		return (-1);
	rv = sentinel_addr(c, r, host, port, why);
	freeReplyObject(r);
	return (rv);
}

/*
 * Read the reply of get-master-addr-by-name: two strings, an address and
 * a port.  Returns 0 with *host allocated, or -1 with *why set (static
 * text, or the reply's own error, which log.c escapes).
 */
static int
sentinel_addr(const struct conf *c, const redisReply *r, char **host, int *port,
    const char **why)
{
	static char buf[128];

	if (r->type == REDIS_REPLY_NIL) {
		snprintf(buf, sizeof buf, "monitors no primary named %s",
		    c->sentinel_master);
		*why = buf;
		return (-1);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(buf, sizeof buf, "%.*s", (int)r->len, r->str);
		*why = buf;
		return (-1);
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING) {
		*why = "not an address and a port";
		return (-1);
	}
	if (!sentinel_host_ok(r->element[0]->str, r->element[0]->len) ||
	    (*port = sentinel_port(r->element[1]->str, r->element[1]->len)) ==
	        -1) {
		*why = "a bad address or port";
		return (-1);
	}
	*host = xstrdup(r->element[0]->str);
	return (0);
}

/* Whether s (len bytes) can be a host name or address. */
static int
sentinel_host_ok(const char *s, size_t len)
{
	return (len > 0 && len <= SENTINEL_HOST_MAX &&
	    strspn(s, SENTINEL_HOST_CHARS) == len);
}

/* Parse a port, 1 to 65535, of len bytes; -1 when it is not one. */
static int
sentinel_port(const char *s, size_t len)
{
	char buf[8], *end;
	long v;

	if (len == 0 || len >= sizeof buf || strspn(s, "0123456789") < len)
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
		return (-1);
	return ((int)v);
}

/* Remember the primary last named, for the subscription's check. */
static void
sentinel_remember(const char *host, int port)
{
	free(sn.host);
	sn.host = xstrdup(host);
	sn.port = port;
}

/*
 * Ask the sentinels in turn, the last that answered first, for the
 * address of the primary; *host is allocated.  Each failure is logged.
 * Returns 0, or -1 with *cause allocated.
 */
int
sentinel_primary(const struct conf *c, char **host, int *port, char **cause)
{
	redisContext *rc;
	const char *why;
	size_t k, i;
	int rv;

	for (k = 0; k < c->nsentinels; k++) {
		i = (sn.first + k) % c->nsentinels;
		if ((rc = sentinel_open(c, i, &sn.qg, &why)) != NULL) {
			rv = sentinel_ask(c, rc, host, port, &why);
			redisFree(rc);
		} else
			rv = -1;
		if (rv == -1) {
			log_warnx("sentinel %s: %s", sentinel_name(c, i), why);
			continue;
		}
		log_info("sentinel %s: primary %s is %s:%d",
		    sentinel_name(c, i), c->sentinel_master, *host, *port);
		sn.first = i;
		sentinel_remember(*host, *port);
		return (0);
	}
	xasprintf(cause, "no sentinel named the primary of %s (asked %zu)",
	    c->sentinel_master, c->nsentinels);
	return (-1);
}

/*
 * Say what a ROLE reply makes a server: "master" when it is a primary,
 * else "replica", "sentinel" or "server of an unknown role".
 */
const char *
sentinel_role(const void *reply)
{
	const redisReply *r = reply, *e;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    (e = r->element[0])->type != REDIS_REPLY_STRING)
		return ("server of an unknown role");
	if (strcmp(e->str, "master") == 0)
		return ("master");
	if (strcmp(e->str, "slave") == 0)
		return ("replica");
	if (strcmp(e->str, "sentinel") == 0)
		return ("sentinel");
	return ("server of an unknown role");
}

/* Start watching for +switch-master (the daemon only, not modqd -R). */
void
sentinel_init(struct event_base *base, const struct conf *c)
{
	sn.base = base;
	sn.conf = c;
	sn.backoff = SENTINEL_BACKOFF_MIN;
	sn.timer = evtimer_new(base, sentinel_watch_timer_cb, NULL);
	sentinel_timer(0);
}

/* Arm the timer ms from now. */
static void
sentinel_timer(long ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(sn.timer, &tv);
}

/*
 * Subscribe to +switch-master on sentinel sn.watch.  Before it, the same
 * connection asks for the primary: a switch made while no sentinel was
 * watched is caught here.
 */
static void
sentinel_watch_open(void)
{
	const struct conf *c = sn.conf;
	const char *argv[2] = {"SUBSCRIBE", SENTINEL_CHANNEL}, *why;
	char *host;
	int port;

	if ((sn.sub = sentinel_open(c, sn.watch, &sn.sg, &why)) == NULL) {
		sentinel_watch_lost("%s", why);
		return;
	}
	if (sentinel_ask(c, sn.sub, &host, &port, &why) == -1) {
		sentinel_watch_lost("%s", why);
		return;
	}
	if (sn.host != NULL &&
	    (strcmp(host, sn.host) != 0 || port != sn.port)) {
		log_warnx("sentinel %s: primary %s is now %s:%d, not %s:%d; "
		          "reconnecting",
		    sentinel_name(c, sn.watch), c->sentinel_master, host, port,
		    sn.host, sn.port);
		redis_failover();
	}
	free(host);
	if (sentinel_send(sn.sub, 2, argv, &why) == -1) {
		sentinel_watch_lost("%s", why);
		return;
	}
	sn.confirmed = 0;
	sn.pinged = 0;
	sn.rev = event_new(sn.base, sn.sub->fd, EV_READ | EV_PERSIST,
	    sentinel_watch_read_cb, NULL);
	if (sn.rev == NULL)
		fatalx("event_new failed");
	event_add(sn.rev, NULL);
	sentinel_timer(c->sentinel_timeout_ms); /* the SUBSCRIBE's deadline */
}

/*
 * The subscription failed: say why, drop it, and try the next sentinel,
 * at once after one that worked, with back-off once all have failed.
 */
static void
sentinel_watch_lost(const char *fmt, ...)
{
	const struct conf *c = sn.conf;
	va_list ap;
	char *msg;
	long ms = 0;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_warnx("sentinel %s: %s; watching for " SENTINEL_CHANNEL
	          " on the next sentinel",
	    sentinel_name(c, sn.watch), msg);
	free(msg);
	if (sn.rev != NULL) {
		event_free(sn.rev);
		sn.rev = NULL;
	}
	if (sn.sub != NULL) {
		redisFree(sn.sub);
		sn.sub = NULL;
	}
	if (sn.confirmed)
		sn.backoff = SENTINEL_BACKOFF_MIN; /* it worked: next at once */
	else {
		ms = sn.backoff;
		sn.backoff = sn.backoff * 2 > SENTINEL_BACKOFF_MAX
		    ? SENTINEL_BACKOFF_MAX
		    : sn.backoff * 2;
	}
	sn.confirmed = 0;
	sn.watch = (sn.watch + 1) % c->nsentinels;
	sentinel_timer(ms);
}

/* Timer: open the subscription, or check it is alive and ping it. */
static void
sentinel_watch_timer_cb(
    UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	const char *argv[1] = {"PING"}, *why;

	if (sn.sub == NULL) {
		sentinel_watch_open();
		return;
	}
	if (!sn.confirmed) {
		sentinel_watch_lost("no answer to SUBSCRIBE within %ld ms",
		    sn.conf->sentinel_timeout_ms);
		return;
	}
	if (sn.pinged) {
		sentinel_watch_lost(
		    "no answer to PING within %d ms", SENTINEL_PING_MS);
		return;
	}
	if (sentinel_send(sn.sub, 1, argv, &why) == -1) {
		sentinel_watch_lost("%s", why);
		return;
	}
	sn.pinged = 1;
	sentinel_timer(SENTINEL_PING_MS);
}

/* The subscription's socket is readable: read and take every message. */
static void
sentinel_watch_read_cb(
    UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	redisReader *r = sn.sub->reader;
	void *reply;

	if (r->len - r->pos > SENTINEL_REPLY_MAX) {
		sentinel_watch_lost("a message of too many bytes");
		return;
	}
	if (redisBufferRead(sn.sub) != REDIS_OK) {
		sentinel_watch_lost("%s",
		    sn.sub->errstr[0] != '\0' ? sn.sub->errstr
		                              : "connection lost");
		return;
	}
	for (;;) {
		sn.sg.over = NULL;
		reply = NULL;
		if (redisReaderGetReply(r, &reply) != REDIS_OK) {
			sentinel_watch_lost(
			    "%s", sn.sg.over != NULL ? sn.sg.over : r->errstr);
			return;
		}
		if (reply == NULL)
			return;
		sentinel_watch_message(reply);
		freeReplyObject(reply);
		if (sn.sub == NULL)
			return; /* the message ended the subscription */
	}
}

/*
 * Take one message of the subscription: the SUBSCRIBE's answer, a PONG,
 * or a +switch-master event; anything else ends the subscription.
 */
static void
sentinel_watch_message(const redisReply *r)
{
	const struct conf *c = sn.conf;
	const redisReply *k;

	if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) {
		sn.pinged = 0;
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    (k = r->element[0])->type != REDIS_REPLY_STRING) {
		sentinel_watch_lost("an unexpected message (type %d)", r->type);
		return;
	}
	if (strcmp(k->str, "pong") == 0)
		sn.pinged = 0;
	else if (strcmp(k->str, "subscribe") == 0 && !sn.confirmed) {
		sn.confirmed = 1;
		sn.backoff = SENTINEL_BACKOFF_MIN;
		log_info("sentinel %s: watching " SENTINEL_CHANNEL " for %s",
		    sentinel_name(c, sn.watch), c->sentinel_master);
		sentinel_timer(SENTINEL_PING_MS);
	} else if (strcmp(k->str, "message") == 0 && r->elements == 3 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[1]->str, SENTINEL_CHANNEL) == 0 &&
	    r->element[2]->type == REDIS_REPLY_STRING)
		sentinel_switch(r->element[2]->str, r->element[2]->len);
	else
		sentinel_watch_lost("an unexpected message");
}

/*
 * A +switch-master event, "<master> <old ip> <old port> <new ip> <new
 * port>": for our master, tell redis.c to reconnect.
 */
static void
sentinel_switch(const char *s, size_t len)
{
	const struct conf *c = sn.conf;
	const char *f[5], *p = s, *sp;
	size_t n[5], i;

	for (i = 0; i < 5; i++) {
		sp = memchr(p, ' ', len - (size_t)(p - s));
		f[i] = p;
		n[i] = sp != NULL ? (size_t)(sp - p) : len - (size_t)(p - s);
		if ((sp == NULL) != (i == 4) || !sentinel_host_ok(p, n[i])) {
			log_warnx("sentinel %s: a malformed " SENTINEL_CHANNEL
			          " event",
			    sentinel_name(c, sn.watch));
			return;
		}
		if (sp != NULL)
			p = sp + 1;
	}
	if (n[0] != strlen(c->sentinel_master) ||
	    memcmp(f[0], c->sentinel_master, n[0]) != 0)
		return; /* another master's */
	if (sentinel_port(f[2], n[2]) == -1 ||
	    sentinel_port(f[4], n[4]) == -1) {
		log_warnx("sentinel %s: a malformed " SENTINEL_CHANNEL " event",
		    sentinel_name(c, sn.watch));
		return;
	}
	sn.first = sn.watch; /* it knows the new primary: ask it first */
	log_info(SENTINEL_CHANNEL ": %.*s %.*s:%.*s -> %.*s:%.*s, reconnecting",
	    (int)n[0], f[0], (int)n[1], f[1], (int)n[2], f[2], (int)n[3], f[3],
	    (int)n[4], f[4]);
	redis_failover();
}

/* Close the subscription for good. */
void
sentinel_close(void)
{
	if (sn.rev != NULL)
		event_free(sn.rev);
	sn.rev = NULL;
	if (sn.timer != NULL)
		event_free(sn.timer);
	sn.timer = NULL;
	if (sn.sub != NULL)
		redisFree(sn.sub);
	sn.sub = NULL;
	free(sn.host);
	sn.host = NULL;
}
