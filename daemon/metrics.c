/*
 * metrics.c -- owns the counters the daemon exports and the optional HTTP
 * endpoint that serves them in Prometheus text format: decisions by
 * verdict, hits by rule, dead letters by kind of error, redeliveries, Redis
 * reconnects, a histogram of the time from a comment's stream entry to its
 * decision, and gauges of the stream, pending entries and held queue
 * (refreshed from Redis by the housekeeping tick).  /healthz answers 200
 * only while Redis is connected and intake runs.
 *
 * The endpoint shares the loop (and the descriptors) with the Redis
 * connections, so it is bounded in every way a client could stretch it:
 * at most METRICS_MAX_CONNS connections, each in a fixed slot, reading one
 * request head of at most METRICS_MAX_HEAD bytes, answering it and closing,
 * all within METRICS_TIMEOUT_MS of the accept.  At the cap the listener is
 * off until a slot frees.  When accept(2) fails (EMFILE, ENFILE, ENOBUFS)
 * or gives a descriptor among the last METRICS_FD_RESERVE below the limit,
 * which the Redis reconnects and reloads need, it is off for
 * METRICS_PAUSE_MS; one line a minute at most says so, not one a try.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define METRICS_MAX_LABELS 256 /* distinct rules kept */
#define METRICS_GAUGE_MS 2000 /* how often the Redis gauges refresh */
#define METRICS_MAX_CONNS 16 /* connections served at once */
#define METRICS_MAX_HEAD 8192 /* bytes of request line and headers */
#define METRICS_TIMEOUT_MS 5000 /* from accept to the answer written */
#define METRICS_PAUSE_MS 1000 /* not accepting after accept(2) failed */
#define METRICS_PAUSE_LOG_S 60 /* at most one line about pauses a minute */
#define METRICS_FD_RESERVE 8 /* descriptors left for Redis and reloads */
#define METRICS_BACKLOG 16

/* Seconds from stream entry to decision: the histogram's upper bounds. */
static const double metrics_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define METRICS_NBOUNDS (sizeof metrics_bounds / sizeof metrics_bounds[0])

/* A counter with one label value. */
struct metrics_label {
	char *name; /* owned */
	unsigned long long n;
};

/*
 * One client connection in a fixed slot.  It reads its request head, then
 * writes the answer with reading off, then the slot is freed; the deadline
 * (METRICS_TIMEOUT_MS from the accept), EOF or an error frees it earlier.
 */
struct metrics_conn {
	struct bufferevent *bev; /* owned; NULL while the slot is free */
	struct event *deadline; /* owned */
	size_t scanned; /* bytes of the head searched for its end */
};

static struct {
	struct evconnlistener *listener; /* owned; NULL when off */
	struct event *resume; /* owned: end of an accept pause */
	int paused; /* resume is armed */
	unsigned long long pauses; /* since the last line about them */
	struct timeval pause_logged; /* when that line was */
	long long fd_limit; /* RLIMIT_NOFILE at start */
	struct metrics_conn conns[METRICS_MAX_CONNS];
	size_t nconns;
	unsigned long long decisions[3];
	struct metrics_label rules[METRICS_MAX_LABELS];
	size_t nrules;
	struct metrics_label shadow[METRICS_MAX_LABELS];
	size_t nshadow;
	unsigned long long dead[ENTRY_KINDS]; /* by entry_error_kind() */
	unsigned long long buckets[METRICS_NBOUNDS + 1];
	double latency_sum;
	unsigned long long latency_count;
	long long stream_len;
	long long pending;
	long long held;
	int gauges_pending; /* replies awaited */
	struct timeval last_gauges;
} mt = {.stream_len = -1, .pending = -1, .held = -1};

/* HTTP status codes the endpoint answers with. */
static const struct {
	int code;
	const char *reason;
} metrics_statuses[] = {
    {200, "OK"},
    {400, "Bad Request"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {413, "Content Too Large"},
    {431, "Request Header Fields Too Large"},
    {503, "Service Unavailable"},
};

static struct evconnlistener *metrics_bind(
    struct event_base *, const char *, const char *);
static void metrics_count(
    struct metrics_label *, size_t *, const char *, size_t);
static void metrics_gauge_cb(void *, void *);
static void metrics_count_names(struct metrics_label *, size_t *, const char *);
static void metrics_write_labels(struct evbuffer *, const char *, const char *,
    const char *, const struct metrics_label *, size_t);
static void metrics_write_dead(struct evbuffer *);
static void metrics_write(struct evbuffer *);
static void metrics_accepting(void);
static void metrics_accept_cb(
    struct evconnlistener *, evutil_socket_t, struct sockaddr *, int, void *);
static void metrics_accept_error_cb(struct evconnlistener *, void *);
static void metrics_pause(const char *);
static void metrics_resume_cb(evutil_socket_t, short, void *);
static void metrics_conn_close(struct metrics_conn *);
static void metrics_deadline_cb(evutil_socket_t, short, void *);
static void metrics_event_cb(struct bufferevent *, short, void *);
static void metrics_write_cb(struct bufferevent *, void *);
static size_t metrics_head_end(const char *, size_t, size_t);
static void metrics_read_cb(struct bufferevent *, void *);
static int metrics_parse(char *, char **, char **, int *);
static void metrics_request(struct metrics_conn *, char *);
static int metrics_check_headers(char *);
static void metrics_reply(
    struct metrics_conn *, int, int, int, const char *, struct evbuffer *);
static void metrics_error(struct metrics_conn *, int, int);

/*
 * Start the HTTP endpoint when metrics.listen is set; an address that
 * cannot be bound is a startup error.
 */
void
metrics_init(struct event_base *base, const char *listen)
{
	struct rlimit rl;
	char *host, *colon;
	size_t i;

	if (listen == NULL)
		return;
	host = xstrdup(listen);
	colon = strrchr(host, ':'); /* conf.c checked host:port */
	*colon = '\0';
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if ((mt.listener = metrics_bind(base, host, colon + 1)) == NULL)
		fatal("metrics: cannot listen on %s", listen);
	free(host);
	evconnlistener_set_error_cb(mt.listener, metrics_accept_error_cb);
	mt.fd_limit = LLONG_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		mt.fd_limit = (long long)rl.rlim_cur;
	if ((mt.resume = evtimer_new(base, metrics_resume_cb, NULL)) == NULL)
		fatalx("metrics: cannot create events");
	for (i = 0; i < METRICS_MAX_CONNS; i++) {
		mt.conns[i].deadline =
		    evtimer_new(base, metrics_deadline_cb, &mt.conns[i]);
		if (mt.conns[i].deadline == NULL)
			fatalx("metrics: cannot create events");
	}
	log_info("metrics: serving http://%s/metrics", listen);
}

/* Listen on the first address host and port resolve to that binds. */
static struct evconnlistener *
metrics_bind(struct event_base *base, const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	struct evconnlistener *l = NULL;
	int error;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0)
		fatalx("metrics: %s: %s", host, gai_strerror(error));
	for (ai = res; ai != NULL && l == NULL; ai = ai->ai_next)
		l = evconnlistener_new_bind(base, metrics_accept_cb, NULL,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		        LEV_OPT_REUSEABLE,
		    METRICS_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(res);
	return (l);
}

/* Stop the endpoint: close every connection and the listener. */
void
metrics_close(void)
{
	size_t i;

	for (i = 0; i < METRICS_MAX_CONNS; i++) {
		if (mt.conns[i].bev != NULL)
			metrics_conn_close(&mt.conns[i]);
		if (mt.conns[i].deadline != NULL)
			event_free(mt.conns[i].deadline);
		mt.conns[i].deadline = NULL;
	}
	if (mt.resume != NULL)
		event_free(mt.resume);
	mt.resume = NULL;
	if (mt.listener != NULL)
		evconnlistener_free(mt.listener);
	mt.listener = NULL;
	for (i = 0; i < mt.nrules; i++)
		free(mt.rules[i].name);
	mt.nrules = 0;
	for (i = 0; i < mt.nshadow; i++)
		free(mt.shadow[i].name);
	mt.nshadow = 0;
}

/* Count one occurrence of a label value (the first len bytes of name). */
static void
metrics_count(struct metrics_label *l, size_t *n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strlen(l[i].name) == len &&
		    memcmp(l[i].name, name, len) == 0) {
			l[i].n++;
			return;
		}
	}
	if (*n == METRICS_MAX_LABELS)
		return;
	l[*n].name = xstrndup(name, len);
	l[*n].n = 1;
	(*n)++;
}

/* Count each name of a space-separated list (rule names: no stream data). */
static void
metrics_count_names(struct metrics_label *l, size_t *nl, const char *names)
{
	const char *p = names;
	size_t n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, " ");
		if (n > 0)
			metrics_count(l, nl, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
}

/*
 * Count a decision: its verdict, every reason, every shadow rule that
 * fired, and its latency in ms.
 */
void
metrics_decision(
    enum rules_verdict v, const char *reasons, const char *shadow, long long ms)
{
	double s = ms > 0 ? (double)ms / 1000.0 : 0;
	size_t i;

	mt.decisions[v]++;
	metrics_count_names(mt.rules, &mt.nrules, reasons);
	metrics_count_names(mt.shadow, &mt.nshadow, shadow);
	for (i = 0; i < METRICS_NBOUNDS && s > metrics_bounds[i]; i++)
		;
	mt.buckets[i]++;
	mt.latency_sum += s;
	mt.latency_count++;
}

/*
 * Count a dead letter by the fixed kind of its error (entry.c's table), so
 * nothing taken from the entry ever becomes a label value.
 */
void
metrics_dead(const char *error)
{
	mt.dead[entry_error_kind(error)]++;
}

/* Ask Redis for the stream length, pending entries and held queue. */
void
metrics_tick(void)
{
	const struct conf *conf = server_conf();
	struct redis_args a;
	const char *stream = conf->keys.stream, *held = conf->keys.held;

	if (mt.listener == NULL || mt.gauges_pending > 0 || !redis_up() ||
	    !clock_due(&mt.last_gauges, METRICS_GAUGE_MS))
		return;
	redis_args_init(&a);
	redis_args_adds(&a, "XLEN");
	redis_args_adds(&a, stream);
	mt.gauges_pending +=
	    redis_cmd(&a, metrics_gauge_cb, &mt.stream_len) == 0;
	redis_args_free(&a);
	redis_args_init(&a);
	redis_args_adds(&a, "XPENDING");
	redis_args_adds(&a, stream);
	redis_args_adds(&a, conf->group);
	mt.gauges_pending += redis_cmd(&a, metrics_gauge_cb, &mt.pending) == 0;
	redis_args_free(&a);
	redis_args_init(&a);
	redis_args_adds(&a, "ZCARD");
	redis_args_adds(&a, held);
	mt.gauges_pending += redis_cmd(&a, metrics_gauge_cb, &mt.held) == 0;
	redis_args_free(&a);
}

/* Store one gauge: an integer reply, or XPENDING's count. */
static void
metrics_gauge_cb(void *r, void *arg)
{
	redisReply *reply = r;
	long long *g = arg;

	mt.gauges_pending--;
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_INTEGER)
		*g = reply->integer;
	else if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER)
		*g = reply->element[0]->integer;
}

/* Write one labelled counter family. */
static void
metrics_write_labels(struct evbuffer *b, const char *name, const char *help,
    const char *label, const struct metrics_label *l, size_t n)
{
	const char *p;
	size_t i;

	evbuffer_add_printf(
	    b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (i = 0; i < n; i++) {
		evbuffer_add_printf(b, "%s{%s=\"", name, label);
		for (p = l[i].name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				evbuffer_add(b, "\\", 1);
			if (*p == '\n')
				evbuffer_add(b, "\\n", 2);
			else
				evbuffer_add(b, p, 1);
		}
		evbuffer_add_printf(b, "\"} %llu\n", l[i].n);
	}
}

/* Write the dead letters by kind, every kind. */
static void
metrics_write_dead(struct evbuffer *b)
{
	size_t i;

	evbuffer_add_printf(b,
	    "# HELP modq_dead_letters_total Stream entries "
	    "dead-lettered, by kind of error.\n"
	    "# TYPE modq_dead_letters_total counter\n");
	for (i = 0; i < ENTRY_KINDS; i++)
		evbuffer_add_printf(b,
		    "modq_dead_letters_total{error=\"%s\"} %llu\n",
		    entry_kind_name(i), mt.dead[i]);
}

/* Write every metric in Prometheus text format. */
static void
metrics_write(struct evbuffer *b)
{
	static const char *const verdicts[] = {"approved", "held", "rejected"};
	unsigned long long cum = 0;
	size_t i;

	evbuffer_add_printf(b,
	    "# HELP modq_decisions_total Automatic "
	    "decisions by verdict.\n"
	    "# TYPE modq_decisions_total counter\n");
	for (i = 0; i < 3; i++)
		evbuffer_add_printf(b,
		    "modq_decisions_total{verdict=\"%s\"} "
		    "%llu\n",
		    verdicts[i], mt.decisions[i]);
	metrics_write_labels(b, "modq_rule_hits_total",
	    "Decisions each rule or built-in reason took part in.", "rule",
	    mt.rules, mt.nrules);
	metrics_write_labels(b, "modq_shadow_hits_total",
	    "Decisions each shadow rule fired in, changing nothing.", "rule",
	    mt.shadow, mt.nshadow);
	metrics_write_dead(b);
	evbuffer_add_printf(b,
	    "# HELP modq_redeliveries_total Entries taken "
	    "back or claimed from the pending list.\n"
	    "# TYPE modq_redeliveries_total counter\n"
	    "modq_redeliveries_total %llu\n"
	    "# HELP modq_redis_reconnects_total Times the "
	    "Redis connections failed and were reopened.\n"
	    "# TYPE modq_redis_reconnects_total counter\n"
	    "modq_redis_reconnects_total %llu\n",
	    intake_redeliveries(), redis_reconnects());
	evbuffer_add_printf(b,
	    "# HELP modq_decision_latency_seconds Time "
	    "from a comment's stream entry to its "
	    "decision.\n"
	    "# TYPE modq_decision_latency_seconds "
	    "histogram\n");
	for (i = 0; i <= METRICS_NBOUNDS; i++) {
		cum += mt.buckets[i];
		if (i < METRICS_NBOUNDS)
			evbuffer_add_printf(b,
			    "modq_decision_latency_seconds_"
			    "bucket{le=\"%g\"} %llu\n",
			    metrics_bounds[i], cum);
		else
			evbuffer_add_printf(b,
			    "modq_decision_latency_seconds_"
			    "bucket{le=\"+Inf\"} %llu\n",
			    cum);
	}
	evbuffer_add_printf(b,
	    "modq_decision_latency_seconds_sum %.6f\n"
	    "modq_decision_latency_seconds_count %llu\n",
	    mt.latency_sum, mt.latency_count);
	evbuffer_add_printf(b,
	    "# HELP modq_stream_length Entries in the "
	    "incoming stream.\n# TYPE modq_stream_length "
	    "gauge\nmodq_stream_length %lld\n"
	    "# HELP modq_pending_entries Entries delivered "
	    "to the group and not yet acknowledged.\n"
	    "# TYPE modq_pending_entries gauge\n"
	    "modq_pending_entries %lld\n"
	    "# HELP modq_held_comments Comments in the held "
	    "queue.\n# TYPE modq_held_comments gauge\n"
	    "modq_held_comments %lld\n",
	    mt.stream_len, mt.pending, mt.held);
	evbuffer_add_printf(b,
	    "# HELP modq_inflight_comments Comments being "
	    "judged.\n# TYPE modq_inflight_comments gauge\n"
	    "modq_inflight_comments %zu\n"
	    "# HELP modq_redis_up Whether Redis is connected "
	    "and intake runs.\n# TYPE modq_redis_up gauge\n"
	    "modq_redis_up %d\n"
	    "# HELP modq_ruleset_info The ruleset judging "
	    "new comments.\n# TYPE modq_ruleset_info gauge\n"
	    "modq_ruleset_info{stamp=\"%s\"} 1\n",
	    pipeline_inflight(), redis_up() && !server_stopping(),
	    rules_stamp(server_rules()));
}

/*
 * Turn the listener on or off: off while every slot is taken or after a
 * failed accept(2), so the connections waiting in the kernel's backlog
 * cost the daemon neither a descriptor nor a wakeup.
 */
static void
metrics_accepting(void)
{
	if (mt.listener == NULL)
		return;
	if (mt.paused || mt.nconns == METRICS_MAX_CONNS)
		evconnlistener_disable(mt.listener);
	else
		evconnlistener_enable(mt.listener);
}

/*
 * Take a new connection into a free slot.  accept(2) gives the lowest free
 * descriptor, so one among the last METRICS_FD_RESERVE below the limit
 * means fewer than that are left: close it and pause.
 */
static void
metrics_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    UNUSED struct sockaddr *sa, UNUSED int salen, UNUSED void *arg)
{
	struct timeval tv = {
	    METRICS_TIMEOUT_MS / 1000, (METRICS_TIMEOUT_MS % 1000) * 1000};
	struct metrics_conn *mc = NULL;
	char why[128];
	size_t i;

	if (fd >= mt.fd_limit - METRICS_FD_RESERVE) {
		evutil_closesocket(fd);
		snprintf(why, sizeof why,
		    "descriptor %d is among the last %d below the limit %lld",
		    (int)fd, METRICS_FD_RESERVE, mt.fd_limit);
		metrics_pause(why);
		return;
	}
	for (i = 0; i < METRICS_MAX_CONNS && mc == NULL; i++) {
		if (mt.conns[i].bev == NULL)
			mc = &mt.conns[i];
	}
	if (mc == NULL ||
	    (mc->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	         BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd); /* no memory; no slot is not reached */
		return;
	}
	mc->scanned = 0;
	mt.nconns++;
	bufferevent_setwatermark(mc->bev, EV_READ, 0, METRICS_MAX_HEAD);
	bufferevent_setcb(
	    mc->bev, metrics_read_cb, metrics_write_cb, metrics_event_cb, mc);
	bufferevent_enable(mc->bev, EV_READ);
	evtimer_add(mc->deadline, &tv);
	metrics_accepting();
}

/*
 * accept(2) failed with something that trying again at once will not cure
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM): pause, so the loop neither spins on
 * the listener nor logs every try.
 */
static void
metrics_accept_error_cb(UNUSED struct evconnlistener *l, UNUSED void *arg)
{
	char why[128];

	snprintf(why, sizeof why, "accept: %s", strerror(errno));
	metrics_pause(why);
}

/*
 * Stop accepting for METRICS_PAUSE_MS; the descriptors that free up
 * meanwhile go to whoever needs them first, the Redis reconnects included.
 * One line at most every METRICS_PAUSE_LOG_S, with the count since the
 * last.
 */
static void
metrics_pause(const char *why)
{
	struct timeval tv = {
	    METRICS_PAUSE_MS / 1000, (METRICS_PAUSE_MS % 1000) * 1000};
	struct timeval now, d;

	mt.pauses++;
	gettimeofday(&now, NULL);
	timersub(&now, &mt.pause_logged, &d);
	if (mt.pause_logged.tv_sec == 0 || d.tv_sec >= METRICS_PAUSE_LOG_S) {
		if (mt.pause_logged.tv_sec == 0)
			log_warnx("metrics: %s; not accepting for %d ms", why,
			    METRICS_PAUSE_MS);
		else
			log_warnx("metrics: %s; not accepting for %d ms "
			          "(%llu pauses in %lld s)",
			    why, METRICS_PAUSE_MS, mt.pauses,
			    (long long)d.tv_sec);
		mt.pauses = 0;
		mt.pause_logged = now;
	}
	mt.paused = 1;
	metrics_accepting();
	evtimer_add(mt.resume, &tv);
}

/* The accept pause is over. */
static void
metrics_resume_cb(
    UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	mt.paused = 0;
	metrics_accepting();
}

/* Close a connection and free its slot. */
static void
metrics_conn_close(struct metrics_conn *mc)
{
	bufferevent_free(mc->bev);
	mc->bev = NULL;
	evtimer_del(mc->deadline);
	mt.nconns--;
	metrics_accepting();
}

/* A connection's time is up, whatever it was doing. */
static void
metrics_deadline_cb(UNUSED evutil_socket_t fd, UNUSED short events, void *arg)
{
	metrics_conn_close(arg);
}

/* EOF, an error, or a timeout on a connection: close it. */
static void
metrics_event_cb(UNUSED struct bufferevent *bev, UNUSED short events, void *arg)
{
	metrics_conn_close(arg);
}

/* The answer is written: close. */
static void
metrics_write_cb(UNUSED struct bufferevent *bev, void *arg)
{
	metrics_conn_close(arg);
}

/*
 * Look for the end of the request head: a line feed followed by an empty
 * line (CRLF or LF) from offset from on.  Returns the head's length, 0 if
 * it has not ended yet.
 */
static size_t
metrics_head_end(const char *p, size_t len, size_t from)
{
	size_t i;

	for (i = from; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < len && p[i + 1] == '\n')
			return (i + 2);
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return (i + 3);
	}
	return (0);
}

/*
 * Read the request head.  The read watermark stops reading at
 * METRICS_MAX_HEAD bytes, so each call searches at most that much, and
 * only what came since the last one.
 */
static void
metrics_read_cb(struct bufferevent *bev, void *arg)
{
	struct metrics_conn *mc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char head[METRICS_MAX_HEAD + 1];
	const char *p;
	size_t len, end;

	len = evbuffer_get_length(in);
	if ((p = (const char *)evbuffer_pullup(in, -1)) == NULL)
		return;
	if ((end = metrics_head_end(p, len, mc->scanned)) == 0) {
		mc->scanned = len > 2 ? len - 2 : 0;
		if (len >= METRICS_MAX_HEAD)
			metrics_error(mc, 1, 431);
		return;
	}
	memcpy(head, p, end);
	head[end] = '\0';
	evbuffer_drain(in, len);
	metrics_request(mc, head);
}

/*
 * Parse a request head (a NUL-terminated copy, cut up in place): its
 * method, target without the query, and HTTP minor version.  Returns 0,
 * or the status of the error to answer with.
 */
static int
metrics_parse(char *head, char **method, char **target, int *minor)
{
	char *line = head, *rest;

	*minor = 1;
	rest = head + strcspn(head, "\n");
	if (*rest != '\0')
		*rest++ = '\0';
	line[strcspn(line, "\r")] = '\0';
	*method = strsep(&line, " ");
	*target = strsep(&line, " ");
	if (*target == NULL || line == NULL ||
	    (strcmp(line, "HTTP/1.0") != 0 && strcmp(line, "HTTP/1.1") != 0))
		return (400);
	*minor = line[7] - '0';
	if (metrics_check_headers(rest) == -1)
		return (413);
	if (strcmp(*method, "GET") != 0 && strcmp(*method, "HEAD") != 0)
		return (405);
	(*target)[strcspn(*target, "?")] = '\0';
	if (strcmp(*target, "/metrics") != 0 &&
	    strcmp(*target, "/healthz") != 0)
		return (404);
	return (0);
}

/*
 * Answer one request head: GET or HEAD of /metrics or /healthz over
 * HTTP/1.0 or 1.1, without a body.
 */
static void
metrics_request(struct metrics_conn *mc, char *head)
{
	char *method, *target;
	struct evbuffer *b;
	int minor, code, head_only, ok;

	if ((code = metrics_parse(head, &method, &target, &minor)) != 0) {
		metrics_error(mc, minor, code);
		return;
	}
	head_only = strcmp(method, "HEAD") == 0;
	if ((b = evbuffer_new()) == NULL)
		fatalx("metrics: out of memory");
	if (strcmp(target, "/metrics") == 0) {
		metrics_write(b);
		metrics_reply(mc, minor, 200, head_only,
		    "text/plain; version=0.0.4; charset=utf-8", b);
		return;
	}
	ok = redis_up() && !server_stopping();
	evbuffer_add_printf(b, "%s\n", ok ? "ok" : "unavailable");
	metrics_reply(mc, minor, ok ? 200 : 503, head_only,
	    "text/plain; charset=utf-8", b);
}

/*
 * Check the header lines: a request with a body (a Content-Length other
 * than 0, or a Transfer-Encoding) is refused; the rest are not used.
 */
static int
metrics_check_headers(char *p)
{
	char *line, *v;

	while ((line = strsep(&p, "\n")) != NULL) {
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		v += strspn(v, " \t");
		if (strcasecmp(line, "Transfer-Encoding") == 0)
			return (-1);
		if (strcasecmp(line, "Content-Length") == 0 &&
		    strspn(v, "0") != strcspn(v, " \t\r"))
			return (-1);
	}
	return (0);
}

/*
 * Queue the answer (the body is consumed) and stop reading; the write
 * callback closes the connection once it is all written.
 */
static void
metrics_reply(struct metrics_conn *mc, int minor, int code, int head_only,
    const char *type, struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(mc->bev);
	const char *reason = "";
	size_t i;

	for (i = 0; i < sizeof metrics_statuses / sizeof metrics_statuses[0];
	     i++) {
		if (metrics_statuses[i].code == code)
			reason = metrics_statuses[i].reason;
	}
	bufferevent_disable(mc->bev, EV_READ);
	evbuffer_add_printf(out,
	    "HTTP/1.%d %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    minor, code, reason, type, evbuffer_get_length(body),
	    code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		evbuffer_add_buffer(out, body);
	evbuffer_free(body);
}

/* Answer with an error status and a one-line body. */
static void
metrics_error(struct metrics_conn *mc, int minor, int code)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL)
		fatalx("metrics: out of memory");
	evbuffer_add_printf(b, "error %d\n", code);
	metrics_reply(mc, minor, code, 0, "text/plain; charset=utf-8", b);
}
