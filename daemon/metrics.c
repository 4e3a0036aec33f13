/*
 * metrics.c -- owns the counters the daemon exports and the optional HTTP
 * endpoint (libevent's evhttp) that serves them in Prometheus text format:
 * decisions by verdict, hits by rule, dead letters by kind of error,
 * redeliveries, Redis reconnects, a histogram of the time from a comment's
 * stream entry to its decision, and gauges of the stream, pending entries
 * and held queue (refreshed from Redis by the housekeeping tick).  /healthz
 * answers 200 only while Redis is connected and intake runs.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define METRICS_MAX_LABELS 256 /* distinct rules or error kinds kept */
#define METRICS_GAUGE_MS 2000 /* how often the Redis gauges refresh */

/* Seconds from stream entry to decision: the histogram's upper bounds. */
static const double metrics_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define METRICS_NBOUNDS (sizeof metrics_bounds / sizeof metrics_bounds[0])

/* A counter with one label value. */
struct metrics_label {
	char *name; /* owned */
	unsigned long long n;
};

static struct {
	struct evhttp *http;
	unsigned long long decisions[3];
	struct metrics_label rules[METRICS_MAX_LABELS];
	size_t nrules;
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

static void metrics_count(
    struct metrics_label *, size_t *, const char *, size_t);
static void metrics_request_cb(struct evhttp_request *, void *);
static void metrics_health_cb(struct evhttp_request *, void *);
static void metrics_write(struct evbuffer *);
static void metrics_write_labels(struct evbuffer *, const char *, const char *,
    const char *, const struct metrics_label *, size_t);
static void metrics_gauge_cb(void *, void *);

/*
 * Start the HTTP endpoint when metrics.listen is set; an address that
 * cannot be bound is a startup error.
 */
void
metrics_init(struct event_base *base, const char *listen)
{
	char *host, *colon;
	long port;

	if (listen == NULL)
		return;
	host = xstrdup(listen);
	colon = strrchr(host, ':');
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if ((mt.http = evhttp_new(base)) == NULL)
		fatalx("metrics: cannot create the HTTP server");
	if (evhttp_bind_socket(mt.http, host, (unsigned short)port) != 0)
		fatal("metrics: cannot listen on %s", listen);
	evhttp_set_allowed_methods(mt.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(mt.http, "/metrics", metrics_request_cb, NULL);
	evhttp_set_cb(mt.http, "/healthz", metrics_health_cb, NULL);
	log_info("metrics: serving http://%s/metrics", listen);
	free(host);
}

/* Stop the endpoint. */
void
metrics_close(void)
{
	size_t i;

	if (mt.http != NULL)
		evhttp_free(mt.http);
	mt.http = NULL;
	for (i = 0; i < mt.nrules; i++)
		free(mt.rules[i].name);
	mt.nrules = 0;
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

/* Count a decision: its verdict, every reason, and its latency in ms. */
void
metrics_decision(enum rules_verdict v, const char *reasons, long long ms)
{
	const char *p = reasons, *sp;
	double s = ms > 0 ? (double)ms / 1000.0 : 0;
	size_t i, n;

	mt.decisions[v]++;
	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (n > 0)
			metrics_count(mt.rules, &mt.nrules, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
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
	struct timeval now, d;
	char *stream, *held;

	if (mt.http == NULL || mt.gauges_pending > 0 || !redis_up())
		return;
	gettimeofday(&now, NULL);
	timersub(&now, &mt.last_gauges, &d);
	if (d.tv_sec * 1000 + d.tv_usec / 1000 < METRICS_GAUGE_MS)
		return;
	mt.last_gauges = now;
	xasprintf(&stream, "%s:%s", conf->prefix, conf->stream);
	xasprintf(&held, "%s:held", conf->prefix);
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
	free(stream);
	free(held);
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
	evbuffer_add_printf(b,
	    "# HELP modq_dead_letters_total Stream entries "
	    "dead-lettered, by kind of error.\n"
	    "# TYPE modq_dead_letters_total counter\n");
	for (i = 0; i < ENTRY_KINDS; i++)
		evbuffer_add_printf(b,
		    "modq_dead_letters_total{error=\"%s\"} %llu\n",
		    entry_kind_name(i), mt.dead[i]);
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

/* GET /metrics. */
static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b;

	(void)arg;
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	metrics_write(b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* GET /healthz: 200 while Redis is connected and intake runs. */
static void
metrics_health_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b;
	int ok = redis_up() && !server_stopping();

	(void)arg;
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "%s\n", ok ? "ok" : "unavailable");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(req, ok ? 200 : 503,
	    ok ? "OK"
	       : "Service "
	         "Unavailable",
	    b);
	evbuffer_free(b);
}
