/*
 * redis.c -- owns the hiredis connections and everything about them:
 * connecting, the handshake (AUTH, SELECT, FUNCTION LOAD REPLACE, consumer
 * group), request deadlines (hiredis 0.14 has no timeouts), and reconnecting
 * with capped exponential back-off and jitter.
 *
 * The intake connection only ever carries the stream reads; each of the
 * REDIS_NWRITE write connections carries one batch's WATCH ... EXEC
 * transaction at a time (WATCH belongs to a connection, and EXEC ends
 * every WATCH on it); the command connection carries everything else,
 * pipelined.  They live and die together: when one fails all are torn
 * down, every pending callback runs with a NULL reply, and all are
 * reconnected.  Teardown and reconnect always run from a timer, never
 * inside a hiredis callback.
 *
 * With Sentinel (redis.sentinels), each connect first asks sentinel.c for
 * the primary's address and the handshake checks with ROLE that the
 * server is the primary; a +switch-master event (redis_failover()) tears
 * the connections down and reconnects without back-off.
 *
 * With redis.cluster, each connect first asks cluster.c where the
 * primary of the site's hash slot is; a -MOVED reply to any command
 * (cluster_moved()) tears the connections down and reconnects there
 * without back-off.  -ASK and -TRYAGAIN, during a slot's migration, are
 * errors like any other: the batch or read is retried after a back-off.
 *
 * A reply on the intake connection is read within limits its request set
 * (redis_read()): hiredis would buffer a reply of any size, so the bytes
 * it holds are checked before each socket read (our own libevent glue,
 * redis_ev_*) and every object it builds is counted (redis_guard_*).  A
 * reply over its limits is never read to its end: the connections are torn
 * down as on any failure, and the caller learns of it (redis_oversized()).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define REDIS_INTAKE 0
#define REDIS_COMMAND 1
#define REDIS_WRITE 2 /* the first of REDIS_NWRITE */
#define REDIS_NCONN (REDIS_WRITE + REDIS_NWRITE)
#define REDIS_BACKOFF_MIN 100 /* ms */
#define REDIS_BACKOFF_MAX 10000
#define REDIS_HEADER_MAX 32 /* "$<length>\r\n" before a string */

enum redis_state {
	REDIS_DOWN = 0, /* waiting to reconnect */
	REDIS_HANDSHAKE, /* connected, setting up */
	REDIS_UP,
	REDIS_CLOSED /* shutting down: no more reconnects */
};

struct rreq;

/* One connection and the requests waiting for its replies, oldest first. */
struct rconn {
	const char *name;
	redisAsyncContext *ac; /* borrowed from hiredis; NULL when closed */
	struct rreq *head; /* owned */
	struct rreq *tail;
	struct event *timer; /* deadline of the oldest request */
	struct redis_limits lim; /* of one reply; 0: no limit */
	size_t got; /* string bytes of the reply being read */
	int over; /* the reply went over its limits */
};

/* The libevent events of one hiredis context (its ev.data). */
struct rev {
	struct rconn *rc;
	redisAsyncContext *ac;
	struct event *rev;
	struct event *wev;
};

/* A request in flight. */
struct rreq {
	struct rreq *next;
	struct rconn *rc;
	redis_cb cb;
	void *arg;
	struct timeval deadline;
};

static struct {
	struct event_base *base;
	const struct conf *conf; /* borrowed from server.c */
	struct rconn conn[REDIS_NCONN];
	enum redis_state state;
	int handshake; /* handshake replies still awaited */
	struct event *retry; /* reconnect timer */
	struct event *teardown; /* zero timeout: free the contexts */
	long backoff;
	long timeout;
	unsigned long long reconnects;
	unsigned long long oversized; /* replies over their limits */
	int was_up; /* log "connected" only on a change */
	char *host; /* owned: the primary the sentinels or the cluster named */
	int port;
	int now; /* the primary changed: reconnect without back-off */
	redisReplyObjectFunctions *fn; /* hiredis's own reply builders */
} rd;

/* Names of the handshake steps, passed as callback arguments. */
static char rd_auth[] = "AUTH";
static char rd_select[] = "SELECT";
static char rd_fload[] = "FUNCTION LOAD";
static char rd_xgroup[] = "XGROUP CREATE";
static char rd_site[] = "HSET <prefix>:conf";
static char rd_role[] = "ROLE";

static void redis_retry_cb(evutil_socket_t, short, void *);
static void redis_teardown_cb(evutil_socket_t, short, void *);
static void redis_timer_cb(evutil_socket_t, short, void *);
static void redis_connect_cb(const redisAsyncContext *, int);
static void redis_disconnect_cb(const redisAsyncContext *, int);
static void redis_reply_cb(redisAsyncContext *, void *, void *);
static void redis_handshake_cb(void *, void *);
static void redis_function_cb(void *, void *);
static int redis_locate(void);
static const char *redis_where(void);
static void redis_moved(const void *);
static int redis_open(struct rconn *);
static void redis_handshake(void);
static void redis_handshake_send(struct rconn *, char *, const char *, ...)
    __attribute__((sentinel));
static int redis_send(
    struct rconn *, struct redis_args *, long, redis_cb, void *);
static void redis_arm(struct rconn *);
static void redis_fail(const char *, ...) __attribute__((format(printf, 1, 2)));
static void redis_free_conn(struct rconn *);
static void redis_schedule(void);
static int redis_send_site(redis_cb);
static void redis_attach(struct rconn *, redisAsyncContext *);
static void redis_ev_read(evutil_socket_t, short, void *);
static void redis_ev_write(evutil_socket_t, short, void *);
static void redis_ev_add_read(void *);
static void redis_ev_del_read(void *);
static void redis_ev_add_write(void *);
static void redis_ev_del_write(void *);
static void redis_ev_cleanup(void *);
static void redis_over(struct rconn *, const char *, size_t);
static void *redis_guard_start(const redisReadTask *);
static void *redis_guard_string(const redisReadTask *, char *, size_t);
static void *redis_guard_array(const redisReadTask *, int);
static void *redis_guard_integer(const redisReadTask *, long long);
static void *redis_guard_nil(const redisReadTask *);
static void redis_guard_free(void *);

/* hiredis builds replies through these, which count what it builds. */
static redisReplyObjectFunctions redis_guard_fn = {redis_guard_string,
    redis_guard_array, redis_guard_integer, redis_guard_nil, redis_guard_free};

/* Set up the connections; the first attempt starts from the loop. */
void
redis_init(struct event_base *base, const struct conf *conf)
{
	struct timeval now = {0, 0};
	int i;

	rd.base = base;
	rd.conf = conf;
	rd.timeout = conf->timeout_ms;
	rd.backoff = REDIS_BACKOFF_MIN;
	rd.conn[REDIS_INTAKE].name = "intake";
	rd.conn[REDIS_COMMAND].name = "command";
	for (i = REDIS_WRITE; i < REDIS_NCONN; i++)
		rd.conn[i].name = "write";
	for (i = 0; i < REDIS_NCONN; i++)
		rd.conn[i].timer =
		    evtimer_new(base, redis_timer_cb, &rd.conn[i]);
	rd.retry = evtimer_new(base, redis_retry_cb, NULL);
	rd.teardown = evtimer_new(base, redis_teardown_cb, NULL);
	rd.state = REDIS_DOWN;
	if (conf->nsentinels > 0)
		sentinel_init(base, conf);
	evtimer_add(rd.retry, &now);
}

/* Change the request timeout (a reloadable option). */
void
redis_set_timeout(long ms)
{
	rd.timeout = ms;
}

/* Tell whether the connections are up and set up. */
int
redis_up(void)
{
	return (rd.state == REDIS_UP);
}

/*
 * Send, on the command connection, FUNCTION LOAD REPLACE of the library
 * and the HSET of this site's settings in <prefix>:conf, which every
 * function of the library reads for the prefix it is called with
 * (use_prefix() in modq.lua): decisions.maxlen, the days of reputation
 * history, decisions.ttl_days in seconds, the names of the rate rules per
 * author (space-separated; a rule name has no space) for modq_forget,
 * queue.stream and queue.group (for modq_stats).  The library itself
 * holds no site, so sites with their own prefixes share one Redis.  cb
 * gets rd_fload, then rd_site, as its argument.  Returns how many were
 * sent.
 */
static int
redis_send_site(redis_cb cb)
{
	const struct conf *conf = rd.conf;
	const struct rules_spec *sp = &conf->rules;
	const struct rules_authors *au = &conf->rules.authors;
	struct redis_args a;
	size_t k, n = 0;
	char *rates, *p;
	int sent;

	redis_args_init(&a);
	redis_args_adds(&a, "FUNCTION");
	redis_args_adds(&a, "LOAD");
	redis_args_adds(&a, "REPLACE");
	redis_args_adds(&a, modq_lua);
	sent = redis_send(&rd.conn[REDIS_COMMAND], &a, 0, cb, rd_fload) == 0;
	redis_args_free(&a);
	for (k = 0; k < sp->nrates; k++)
		n += strlen(sp->rates[k].name) + 1;
	p = rates = xcalloc(1, n + 1);
	for (k = 0; k < sp->nrates; k++)
		if (sp->rates[k].per == RULES_PER_AUTHOR)
			p += sprintf(p, "%s%s", p != rates ? " " : "",
			    sp->rates[k].name);
	redis_args_init(&a);
	redis_args_adds(&a, "HSET");
	redis_args_adds(&a, conf->keys.conf);
	redis_args_adds(&a, "maxlen");
	redis_args_addf(&a, "%ld", conf->maxlen);
	redis_args_adds(&a, "hist_days");
	redis_args_addf(
	    &a, "%ld", au->hold_if_rejected ? au->rejected_days : 0L);
	redis_args_adds(&a, "ttl_s");
	redis_args_addf(&a, "%ld", conf->ttl_days * 86400);
	redis_args_adds(&a, "author_rates");
	redis_args_adds(&a, rates);
	redis_args_adds(&a, "stream");
	redis_args_adds(&a, conf->stream);
	redis_args_adds(&a, "group");
	redis_args_adds(&a, conf->group);
	sent += redis_send(&rd.conn[REDIS_COMMAND], &a, 0, cb, rd_site) == 0;
	redis_args_free(&a);
	free(rates);
	return (sent);
}

/* Reconnect timer: open the connections and start the handshake. */
static void
redis_retry_cb(UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	int i;

	if (rd.state != REDIS_DOWN)
		return;
	rd.state = REDIS_HANDSHAKE;
	if (redis_locate() == -1)
		return; /* redis_locate() failed Redis */
	for (i = 0; i < REDIS_NCONN; i++)
		if (redis_open(&rd.conn[i]) == -1)
			return; /* redis_open() failed Redis: a retry is
			           scheduled */
	redis_handshake();
}

/*
 * With Sentinel, ask the sentinels where the primary is now (synchronous,
 * bounded by redis.sentinel_timeout_ms a sentinel); with redis.cluster,
 * ask the cluster where the primary of the site's slot is (bounded by
 * redis.timeout_ms a node).  -1 when none knows.
 */
static int
redis_locate(void)
{
	char *cause;

	if (rd.conf->nsentinels == 0 && !rd.conf->redis_cluster)
		return (0);
	free(rd.host);
	rd.host = NULL;
	if ((rd.conf->redis_cluster
	            ? cluster_locate(rd.conf, &rd.host, &rd.port, &cause)
	            : sentinel_primary(rd.conf, &rd.host, &rd.port, &cause)) ==
	    -1) {
		redis_fail("%s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* Say where the connections go: host:port, or the unix socket. */
static const char *
redis_where(void)
{
	static char buf[1024];
	const struct conf *c = rd.conf;

	if (rd.host != NULL)
		snprintf(buf, sizeof buf, "%s:%d", rd.host, rd.port);
	else if (c->redis_unix != NULL)
		snprintf(buf, sizeof buf, "%s", c->redis_unix);
	else
		snprintf(
		    buf, sizeof buf, "%s:%ld", c->redis_host, c->redis_port);
	return (buf);
}

/* Open one connection; hiredis connects in the background. */
static int
redis_open(struct rconn *rc)
{
	const struct conf *c = rd.conf;
	redisAsyncContext *ac;

	if (rd.host != NULL)
		ac = redisAsyncConnect(rd.host, rd.port);
	else if (c->redis_unix != NULL)
		ac = redisAsyncConnectUnix(c->redis_unix);
	else
		ac = redisAsyncConnect(c->redis_host, (int)c->redis_port);
	if (ac == NULL) {
		redis_fail("%s connection: out of memory", rc->name);
		return (-1);
	}
	if (ac->err) {
		redis_fail("%s connection to %s: %s", rc->name, redis_where(),
		    ac->errstr);
		redisAsyncFree(ac);
		return (-1);
	}
	ac->data = rc;
	redis_attach(rc, ac);
	redisAsyncSetConnectCallback(ac, redis_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_disconnect_cb);
	rc->ac = ac;
	return (0);
}

/*
 * Hand hiredis our libevent glue for a new context: the events of
 * hiredis's own adapter, and a read that first checks the reply's size.
 * The reply builders count what the reply holds.
 */
static void
redis_attach(struct rconn *rc, redisAsyncContext *ac)
{
	struct rev *e = xcalloc(1, sizeof *e);
	evutil_socket_t fd = ac->c.fd;

	e->rc = rc;
	e->ac = ac;
	e->rev = event_new(rd.base, fd, EV_READ, redis_ev_read, e);
	e->wev = event_new(rd.base, fd, EV_WRITE, redis_ev_write, e);
	if (e->rev == NULL || e->wev == NULL)
		fatalx("event_new failed");
	ac->ev.data = e;
	ac->ev.addRead = redis_ev_add_read;
	ac->ev.delRead = redis_ev_del_read;
	ac->ev.addWrite = redis_ev_add_write;
	ac->ev.delWrite = redis_ev_del_write;
	ac->ev.cleanup = redis_ev_cleanup;
	if (rd.fn == NULL)
		rd.fn = ac->c.reader->fn;
	ac->c.reader->fn = &redis_guard_fn;
	ac->c.reader->privdata = rc;
	memset(&rc->lim, 0, sizeof rc->lim);
	rc->got = 0;
	rc->over = 0;
	event_add(e->rev, NULL);
	event_add(e->wev, NULL);
}

/*
 * The socket is readable: unless the reply hiredis holds is over its
 * limits, let hiredis read at most 16 KiB more.  hiredis parses all it
 * can after each read, so what it buffers unparsed is the start of one
 * string: if that is longer than a string may be, or makes the reply
 * larger than it may be, the reply is never read further; its connection
 * is torn down with the others.
 */
static void
redis_ev_read(UNUSED evutil_socket_t fd, UNUSED short what, void *arg)
{
	struct rev *e = arg;
	struct rconn *rc = e->rc;
	const redisReader *r = e->ac->c.reader;
	size_t tail = r->len - r->pos;

	if (rc->ac == e->ac && rc->lim.string != 0 &&
	    tail > rc->lim.string + REDIS_HEADER_MAX) {
		redis_over(rc, "bytes in a string", rc->lim.string);
		return;
	}
	if (rc->ac == e->ac && rc->lim.bytes != 0 &&
	    rc->got + tail > rc->lim.bytes) {
		redis_over(rc, "bytes", rc->lim.bytes);
		return;
	}
	redisAsyncHandleRead(e->ac);
}

static void
redis_ev_write(UNUSED evutil_socket_t fd, UNUSED short what, void *arg)
{
	struct rev *e = arg;

	redisAsyncHandleWrite(e->ac);
}

/*
 * hiredis's four hooks to start and stop watching the socket, each one
 * event_add() or event_del() of the read or the write event.
 */
#define REDIS_EV_HOOK(name, ev, call) \
	static void name(void *arg) \
	{ \
		call(((struct rev *)arg)->ev); \
	}
#define REDIS_EV_ADD(ev) event_add(ev, NULL)
REDIS_EV_HOOK(redis_ev_add_read, rev, REDIS_EV_ADD)
REDIS_EV_HOOK(redis_ev_del_read, rev, event_del)
REDIS_EV_HOOK(redis_ev_add_write, wev, REDIS_EV_ADD)
REDIS_EV_HOOK(redis_ev_del_write, wev, event_del)
#undef REDIS_EV_ADD
#undef REDIS_EV_HOOK

static void
redis_ev_cleanup(void *arg)
{
	struct rev *e = arg;

	event_free(e->rev);
	event_free(e->wev);
	free(e);
}

/*
 * A reply on rc went over its limit of n (what: bytes or elements): say
 * so once, count it, and fail Redis so that the reply is dropped unread.
 */
static void
redis_over(struct rconn *rc, const char *what, size_t n)
{
	if (rc->over)
		return;
	rc->over = 1;
	rd.oversized++;
	redis_fail("%s connection: a reply over its limit of %zu %s (an "
	           "oversized stream entry); reading through modq_read "
	           "for a while",
	    rc->name, n, what);
}

/* A reply begins or goes on: start counting at its first object. */
static void *
redis_guard_start(const redisReadTask *t)
{
	struct rconn *rc = t->privdata;

	if (t->parent == NULL)
		rc->got = 0;
	return (rc);
}

static void *
redis_guard_string(const redisReadTask *t, char *s, size_t len)
{
	struct rconn *rc = redis_guard_start(t);

	rc->got += len;
	if (rc->lim.string != 0 && len > rc->lim.string) {
		redis_over(rc, "bytes in a string", rc->lim.string);
		return (NULL); /* hiredis: out of memory, disconnects */
	}
	if (rc->lim.bytes != 0 && rc->got > rc->lim.bytes) {
		redis_over(rc, "bytes", rc->lim.bytes);
		return (NULL);
	}
	return (rd.fn->createString(t, s, len));
}

static void *
redis_guard_array(const redisReadTask *t, int n)
{
	struct rconn *rc = redis_guard_start(t);

	if (rc->lim.elems != 0 && n > 0 && (size_t)n > rc->lim.elems) {
		redis_over(rc, "elements in an array", rc->lim.elems);
		return (NULL);
	}
	return (rd.fn->createArray(t, n));
}

static void *
redis_guard_integer(const redisReadTask *t, long long v)
{
	redis_guard_start(t);
	return (rd.fn->createInteger(t, v));
}

static void *
redis_guard_nil(const redisReadTask *t)
{
	redis_guard_start(t);
	return (rd.fn->createNil(t));
}

static void
redis_guard_free(void *obj)
{
	rd.fn->freeObject(obj);
}

/*
 * Queue the handshake on every connection: AUTH and SELECT where
 * configured, a PING on intake, the Functions library and the consumer
 * group on command.  hiredis sends them as soon as the socket connects; the
 * deadline of the first doubles as the connect timeout.
 */
static void
redis_handshake(void)
{
	const struct conf *c = rd.conf;
	char db[32];
	int i;

	rd.handshake = 0;
	snprintf(db, sizeof db, "%ld", c->redis_db);
	for (i = 0; i < REDIS_NCONN; i++) {
		if (c->redis_password != NULL && c->redis_user != NULL)
			redis_handshake_send(&rd.conn[i], rd_auth, "AUTH",
			    c->redis_user, c->redis_password, NULL);
		else if (c->redis_password != NULL)
			redis_handshake_send(&rd.conn[i], rd_auth, "AUTH",
			    c->redis_password, NULL);
		if (c->redis_db != 0)
			redis_handshake_send(
			    &rd.conn[i], rd_select, "SELECT", db, NULL);
		else
			redis_handshake_send(
			    &rd.conn[i], rd_select, "PING", NULL);
	}
	if (c->nsentinels > 0)
		redis_handshake_send(
		    &rd.conn[REDIS_COMMAND], rd_role, "ROLE", NULL);
	rd.handshake += redis_send_site(redis_handshake_cb);
	redis_handshake_send(&rd.conn[REDIS_COMMAND], rd_xgroup, "XGROUP",
	    "CREATE", c->keys.stream, c->group, "0", "MKSTREAM", NULL);
}

/*
 * Queue one handshake command of the NULL-terminated arguments on rc;
 * what names the step in an error.
 */
static void
redis_handshake_send(struct rconn *rc, char *what, const char *arg, ...)
{
	struct redis_args a;
	va_list ap;

	va_start(ap, arg);
	redis_args_initv(&a, arg, ap);
	va_end(ap);
	rd.handshake += redis_send(rc, &a, 0, redis_handshake_cb, what) == 0;
	redis_args_free(&a);
}

/* Count down the handshake; the last good reply brings Redis up. */
static void
redis_handshake_cb(void *r, void *arg)
{
	const char *what = arg, *err, *role;
	const struct conf *c = rd.conf;
	char db[64];

	if (rd.state != REDIS_HANDSHAKE)
		return;
	if (r == NULL) {
		redis_fail("%s: no reply", what);
		return;
	}
	if (redis_reply_error(r, &err) &&
	    !(what == rd_xgroup && strncmp(err, "BUSYGROUP", 9) == 0)) {
		if (what == rd_fload)
			redis_fail("cannot load the modq functions library: "
			           "%s%s",
			    err,
			    strstr(err, "unknown command") != NULL
			        ? " (Redis 7.0 or later is needed)"
			        : "");
		else
			redis_fail("%s: %s", what, err);
		return;
	}
	if (what == rd_role &&
	    strcmp((role = sentinel_role(r)), "master") != 0) {
		redis_fail("%s is a %s, not the primary of %s; asking the "
		           "sentinels again",
		    redis_where(), role, c->sentinel_master);
		return;
	}
	if (--rd.handshake > 0)
		return;
	rd.state = REDIS_UP;
	rd.backoff = REDIS_BACKOFF_MIN;
	if (c->redis_unix != NULL)
		snprintf(db, sizeof db, " db %ld", c->redis_db);
	else if (rd.host != NULL && c->redis_cluster)
		snprintf(db, sizeof db, " (cluster primary of hash slot %d)",
		    cluster_slot(c->prefix));
	else
		db[0] = '\0';
	log_info("redis: connected to %s%s%s%s%s, stream %s:%s, group %s, "
	         "consumer %s",
	    rd.host != NULL && c->nsentinels > 0 ? "primary " : "",
	    rd.host != NULL && c->nsentinels > 0 ? c->sentinel_master : "",
	    rd.host != NULL && c->nsentinels > 0 ? " at " : "", redis_where(),
	    db, c->prefix, c->stream, c->group, c->consumer);
	rd.was_up = 1;
	intake_start();
}

/* hiredis: a connection attempt finished. */
static void
redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (status == REDIS_OK)
		return;
	if (rc != NULL && rc->ac == ac) {
		rc->ac = NULL; /* hiredis frees it after this callback */
		redis_fail("%s connection to %s: %s", rc->name, redis_where(),
		    ac->errstr);
	}
}

/* hiredis: a connection closed (hiredis frees the context afterwards). */
static void
redis_disconnect_cb(const redisAsyncContext *ac, UNUSED int status)
{
	struct rconn *rc = ac->data;

	if (rc == NULL || rc->ac != ac)
		return; /* we freed it ourselves */
	rc->ac = NULL;
	if (rc->over)
		return; /* redis_over() failed Redis already */
	redis_fail("%s connection lost: %s", rc->name,
	    ac->errstr[0] != '\0' ? ac->errstr : "closed by the server");
}

/*
 * Mark Redis down and schedule the teardown of every connection; pending
 * callbacks then run with NULL replies and a reconnect follows.
 */
static void
redis_fail(const char *fmt, ...)
{
	struct timeval now = {0, 0};
	char *msg;
	va_list ap;

	if (rd.state == REDIS_DOWN || rd.state == REDIS_CLOSED)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_warnx("redis: %s", msg);
	free(msg);
	if (rd.state == REDIS_UP)
		intake_stop();
	rd.state = REDIS_DOWN;
	rd.reconnects++;
	evtimer_add(rd.teardown, &now);
}

/* Free one connection; its pending requests get NULL replies. */
static void
redis_free_conn(struct rconn *rc)
{
	redisAsyncContext *ac = rc->ac;

	evtimer_del(rc->timer);
	if (ac == NULL)
		return;
	rc->ac = NULL;
	redisAsyncFree(ac);
}

/* Teardown timer: free the connections, then schedule a reconnect. */
static void
redis_teardown_cb(
    UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	int i;

	for (i = 0; i < REDIS_NCONN; i++)
		redis_free_conn(&rd.conn[i]);
	if (rd.state == REDIS_DOWN)
		redis_schedule();
}

/* Schedule the next connection attempt with back-off and jitter. */
static void
redis_schedule(void)
{
	struct timeval tv;
	long ms;

	ms = rd.backoff * 3 / 4 + random() % (rd.backoff / 2 + 1);
	if (rd.now) {
		rd.now = 0;
		ms = 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (ms == 0)
		log_info("redis: reconnecting now");
	else
		log_info("redis: reconnecting in %ld ms", ms);
	rd.backoff *= 2;
	if (rd.backoff > REDIS_BACKOFF_MAX)
		rd.backoff = REDIS_BACKOFF_MAX;
	evtimer_add(rd.retry, &tv);
}

/* Arm the connection's timer for its oldest request, or stop it. */
static void
redis_arm(struct rconn *rc)
{
	struct timeval now, tv;

	if (rc->head == NULL) {
		evtimer_del(rc->timer);
		return;
	}
	gettimeofday(&now, NULL);
	if (timercmp(&rc->head->deadline, &now, <))
		timerclear(&tv);
	else
		timersub(&rc->head->deadline, &now, &tv);
	evtimer_add(rc->timer, &tv);
}

/* Deadline timer: the oldest request got no reply in time. */
static void
redis_timer_cb(UNUSED evutil_socket_t fd, UNUSED short events, void *arg)
{
	struct rconn *rc = arg;
	struct timeval now;

	if (rc->head == NULL)
		return;
	gettimeofday(&now, NULL);
	if (timercmp(&rc->head->deadline, &now, >)) {
		redis_arm(rc);
		return;
	}
	redis_fail(
	    "%s connection: no reply within %ld ms", rc->name, rd.timeout);
}

/* Send a command; extra_ms adds to the deadline (for BLOCK). */
static int
redis_send(struct rconn *rc, struct redis_args *a, long extra_ms, redis_cb cb,
    void *arg)
{
	struct rreq *q;
	struct timeval now, add;
	long ms = rd.timeout + extra_ms;

	if (rc->ac == NULL)
		return (-1);
	q = xcalloc(1, sizeof *q);
	q->rc = rc;
	q->cb = cb;
	q->arg = arg;
	event_base_gettimeofday_cached(rd.base, &now);
	add.tv_sec = ms / 1000;
	add.tv_usec = (ms % 1000) * 1000;
	timeradd(&now, &add, &q->deadline);
	if (redisAsyncCommandArgv(rc->ac, redis_reply_cb, q, a->argc, a->argv,
	        a->len) != REDIS_OK) {
		free(q);
		return (-1);
	}
	if (rc->tail != NULL)
		rc->tail->next = q;
	else
		rc->head = q;
	rc->tail = q;
	if (rc->head == q)
		redis_arm(rc);
	return (0);
}

/* hiredis: a reply (or NULL) for request q, always its connection's oldest. */
static void
redis_reply_cb(UNUSED redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rreq *q = privdata, **pp;
	struct rconn *rc = q->rc;

	for (pp = &rc->head; *pp != NULL && *pp != q; pp = &(*pp)->next)
		;
	if (*pp == q) {
		*pp = q->next;
		if (rc->tail == q) {
			for (rc->tail = rc->head;
			     rc->tail != NULL && rc->tail->next != NULL;
			     rc->tail = rc->tail->next)
				;
		}
	}
	/*
	 * The timer stays armed for the old head's deadline, which is earlier
	 * than the new head's: when it fires, redis_timer_cb() moves it on.
	 * That spares a timer update per reply.
	 */
	if (rc->head == NULL || rc->ac == NULL)
		evtimer_del(rc->timer);
	rc->got = 0;
	if (rd.conf->redis_cluster)
		redis_moved(reply);
	q->cb(reply, q->arg);
	free(q);
}

/*
 * A reply of -MOVED: the site's slot has a new primary.  Tear the
 * connections down and reconnect there, at once when they were up (a
 * MOVED during the handshake takes the back-off, so two nodes that
 * disagree cannot make modqd spin); every pending command fails and its
 * batch is retried there.
 */
static void
redis_moved(const void *reply)
{
	char *why;

	if (!cluster_moved(reply, rd.conf->prefix, &why))
		return;
	if (rd.state == REDIS_UP) {
		rd.backoff = REDIS_BACKOFF_MIN;
		rd.now = 1;
	}
	redis_fail("%s", why);
	free(why);
}

/* Send a command on write connection w (0 to REDIS_NWRITE - 1). */
int
redis_write(int w, struct redis_args *a, redis_cb cb, void *arg)
{
	if (rd.state != REDIS_UP || w < 0 || w >= REDIS_NWRITE)
		return (-1);
	return (redis_send(&rd.conn[REDIS_WRITE + w], a, 0, cb, arg));
}

/*
 * Send a command on the write connection whose reply nobody reads: a
 * command queued inside MULTI, whose outcome comes with the EXEC that must
 * follow it (and whose deadline covers it).
 */
int
redis_write_noreply(int w, struct redis_args *a)
{
	struct rconn *rc = &rd.conn[REDIS_WRITE + w];

	if (rd.state != REDIS_UP || rc->ac == NULL)
		return (-1);
	if (redisAsyncCommandArgv(
	        rc->ac, NULL, NULL, a->argc, a->argv, a->len) != REDIS_OK)
		return (-1);
	return (0);
}

/*
 * Send a read on the intake connection, blocking for up to block_ms,
 * whose reply must keep within lim.  Only one read is outstanding at a
 * time, so the limits are the connection's until the next.
 */
int
redis_read(struct redis_args *a, long block_ms, const struct redis_limits *lim,
    redis_cb cb, void *arg)
{
	struct rconn *rc = &rd.conn[REDIS_INTAKE];

	if (rd.state != REDIS_UP)
		return (-1);
	rc->lim = *lim;
	return (redis_send(rc, a, block_ms, cb, arg));
}

/* Count the replies dropped for going over their limits since start. */
unsigned long long
redis_oversized(void)
{
	return (rd.oversized);
}

/* Send a command on the command connection. */
int
redis_cmd(struct redis_args *a, redis_cb cb, void *arg)
{
	if (rd.state != REDIS_UP)
		return (-1);
	return (redis_send(&rd.conn[REDIS_COMMAND], a, 0, cb, arg));
}

/* A reload of the library or of <prefix>:conf finished. */
static void
redis_function_cb(void *r, void *arg)
{
	const char *what = arg, *err;

	if (r == NULL)
		return;
	if (redis_reply_error(r, &err))
		log_warnx("redis: cannot reload the modq %s: %s",
		    what == rd_fload ? "functions" : "settings", err);
	else if (what == rd_fload)
		log_info("redis: modq functions reloaded");
}

/*
 * Load the Functions library and this site's settings in <prefix>:conf
 * again (after a reload changed the settings, or when Redis lost either:
 * "Function not found", "unknown prefix"), sent ahead of any command
 * queued after them.
 */
void
redis_reload_functions(void)
{
	if (rd.state == REDIS_UP)
		redis_send_site(redis_function_cb);
}

/* Close the intake connection for good (shutdown): no more reads. */
void
redis_stop_intake(void)
{
	redis_free_conn(&rd.conn[REDIS_INTAKE]);
}

/* Drop the connections and start over (the group or stream vanished). */
void
redis_reset(const char *why)
{
	redis_fail("%s; reconnecting", why);
}

/*
 * The sentinels switched the primary: drop the connections and reconnect
 * at once, without back-off.  The teardown, when one is due, schedules it.
 */
void
redis_failover(void)
{
	struct timeval now = {0, 0};

	if (rd.state == REDIS_CLOSED)
		return;
	rd.backoff = REDIS_BACKOFF_MIN;
	rd.now = 1;
	if (rd.state != REDIS_DOWN)
		redis_fail(
		    "the primary of %s changed", rd.conf->sentinel_master);
	else if (!evtimer_pending(rd.teardown, NULL)) {
		rd.now = 0;
		log_info("redis: reconnecting now");
		evtimer_add(rd.retry, &now);
	}
}

/* Close the connections for good. */
void
redis_close(void)
{
	int i;

	rd.state = REDIS_CLOSED;
	sentinel_close();
	cluster_close();
	free(rd.host);
	rd.host = NULL;
	evtimer_del(rd.retry);
	evtimer_del(rd.teardown);
	for (i = 0; i < REDIS_NCONN; i++)
		redis_free_conn(&rd.conn[i]);
}

/* Count connection failures since start. */
unsigned long long
redis_reconnects(void)
{
	return (rd.reconnects);
}
