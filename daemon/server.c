/*
 * server.c -- owns the event_base, the signal events, the housekeeping
 * tick, the live config and the current ruleset; does reload (SIGHUP),
 * drain and shutdown (SIGTERM, SIGINT).  Everything runs on this one loop,
 * so swapping the ruleset between two callbacks is atomic: no comment ever
 * sees a half-built one, and comments in flight keep the ruleset they
 * started with (they hold a reference).
 */
#include <sys/time.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "modqd.h"
#include "pipeline.h"
#include "xmalloc.h"

#define SERVER_TICK_MS 100
#define SERVER_STATUS_MS 1000

static struct {
	struct event_base *base;
	struct conf conf; /* owned: the live config */
	struct ruleset *rules; /* one reference: the current ruleset */
	struct event *sighup;
	struct event *sigterm;
	struct event *sigint;
	struct event *tick;
	struct event *finish; /* zero timeout: leave the loop */
	struct event *drain; /* shutdown_timeout_ms deadline */
	int stopping;
	int reloading;
	int ready; /* READY=1 sent */
	struct timeval last_status;
	struct timeval last_watchdog;
	unsigned long long watchdog_usec;
} sv;

static void server_libevent_log(int, const char *);
static void server_signal_cb(evutil_socket_t, short, void *);
static void server_tick_cb(evutil_socket_t, short, void *);
static void server_finish_cb(evutil_socket_t, short, void *);
static void server_drain_cb(evutil_socket_t, short, void *);
static void server_reload(void);
static void server_log_lines(const char *, const char *);
static void server_shutdown(int);
static void server_status(void);

/* Route libevent's own messages to our log. */
static void
server_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/*
 * Take over the loaded config and ruleset, create the loop, the signal
 * events and the tick, and start connecting to Redis.
 */
void
server_init(struct conf *conf, struct ruleset *rules)
{
	struct timeval tick = {0, SERVER_TICK_MS * 1000};

	event_set_log_callback(server_libevent_log);
	if ((sv.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	sv.conf = *conf;
	memset(conf, 0, sizeof *conf);
	sv.rules = rules;
	signal(SIGPIPE, SIG_IGN);
	sv.sighup = evsignal_new(sv.base, SIGHUP, server_signal_cb, NULL);
	sv.sigterm = evsignal_new(sv.base, SIGTERM, server_signal_cb, NULL);
	sv.sigint = evsignal_new(sv.base, SIGINT, server_signal_cb, NULL);
	sv.tick = event_new(sv.base, -1, EV_PERSIST, server_tick_cb, NULL);
	sv.finish = evtimer_new(sv.base, server_finish_cb, NULL);
	sv.drain = evtimer_new(sv.base, server_drain_cb, NULL);
	if (sv.sighup == NULL || sv.sigterm == NULL || sv.sigint == NULL ||
	    sv.tick == NULL || sv.finish == NULL || sv.drain == NULL)
		fatalx("cannot create events");
	evsignal_add(sv.sighup, NULL);
	evsignal_add(sv.sigterm, NULL);
	evsignal_add(sv.sigint, NULL);
	evtimer_add(sv.tick, &tick);
	sv.watchdog_usec = notify_watchdog_usec();
	log_info("modqd %s starting: config %s, ruleset %s (%zu keyword "
	         "patterns, %zu rate rules)",
	    MODQD_VERSION, sv.conf.path, rules_stamp(sv.rules),
	    rules_npatterns(sv.rules), rules_nrates(sv.rules));
	metrics_init(sv.base, sv.conf.metrics_listen);
	notify_status("connecting to Redis");
	redis_init(sv.base, &sv.conf);
}

/* Run the loop until shutdown; returns the exit status. */
int
server_loop(void)
{
	int rc;

	rc = event_base_dispatch(sv.base);
	event_free(sv.sighup);
	event_free(sv.sigterm);
	event_free(sv.sigint);
	event_free(sv.tick);
	event_free(sv.finish);
	event_free(sv.drain);
	rules_unref(sv.rules);
	texts_free();
	conf_free(&sv.conf);
	event_base_free(sv.base);
	log_info("modqd stopped");
	return (rc == -1 ? 1 : 0);
}

/* Give the live config. */
const struct conf *
server_conf(void)
{
	return (&sv.conf);
}

/* Give the current ruleset (take a reference to keep it). */
struct ruleset *
server_rules(void)
{
	return (sv.rules);
}

/* Give the event loop. */
struct event_base *
server_base(void)
{
	return (sv.base);
}

/* Tell whether shutdown has begun. */
int
server_stopping(void)
{
	return (sv.stopping);
}

/* Intake is armed: tell systemd we are ready, once. */
void
server_intake_running(void)
{
	if (sv.ready)
		return;
	sv.ready = 1;
	notify_ready();
	log_info("ready: reading %s:%s as %s/%s", sv.conf.prefix,
	    sv.conf.stream, sv.conf.group, sv.conf.consumer);
}

/* One handler for every signal, run in loop context. */
static void
server_signal_cb(evutil_socket_t sig, UNUSED short events, UNUSED void *arg)
{
	switch (sig) {
	case SIGHUP:
		server_reload();
		break;
	case SIGTERM:
	case SIGINT:
		server_shutdown((int)sig);
		break;
	}
}

/* Log a multi-line error, one line each, behind a common head. */
static void
server_log_lines(const char *head, const char *text)
{
	const char *p = text, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		log_warnx("%s: %.*s", head,
		    nl != NULL ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/*
 * Re-read the config and every word list into a new ruleset and swap it in;
 * on any error keep everything as it was.
 */
static void
server_reload(void)
{
	struct ruleset *rs;
	struct conf nc;
	char *cause, *head;

	if (sv.reloading || sv.stopping) {
		log_warnx("SIGHUP during a reload or shutdown: ignored");
		return;
	}
	sv.reloading = 1;
	notify_reloading();
	xasprintf(&head, "%s: not reloading", sv.conf.path);
	if (conf_load_rules(sv.conf.path, &nc, &rs, &cause) == -1) {
		server_log_lines(head, cause);
		goto out;
	}
	conf_carry(&sv.conf, &nc);
	conf_free(&sv.conf);
	sv.conf = nc;
	log_info("reloaded %s: ruleset %s replaces %s (%zu keyword patterns, "
	         "%zu rate rules)",
	    sv.conf.path, rules_stamp(rs), rules_stamp(sv.rules),
	    rules_npatterns(rs), rules_nrates(rs));
	rules_unref(sv.rules);
	sv.rules = rs;
	redis_set_timeout(sv.conf.timeout_ms);
	redis_reload_functions();
	intake_rearm();
	cause = NULL;
out:
	free(cause);
	free(head);
	sv.reloading = 0;
	notify_ready();
}

/*
 * Begin shutdown: stop reading, let comments in flight finish until
 * queue.shutdown_timeout_ms, then leave.  Entries not finished stay
 * pending in the group and are re-read or claimed later.
 */
static void
server_shutdown(int sig)
{
	struct timeval tv;
	size_t n = pipeline_inflight();

	if (sv.stopping) {
		log_info("signal %d again: leaving now", sig);
		server_drained();
		return;
	}
	sv.stopping = 1;
	notify_stopping();
	log_info("signal %d: stopping, %zu comments in flight", sig, n);
	intake_stop();
	redis_stop_intake();
	if (n == 0) {
		server_drained();
		return;
	}
	tv.tv_sec = sv.conf.shutdown_timeout_ms / 1000;
	tv.tv_usec = (sv.conf.shutdown_timeout_ms % 1000) * 1000;
	evtimer_add(sv.drain, &tv);
}

/* Everything in flight has finished: leave from a fresh callback. */
void
server_drained(void)
{
	struct timeval now = {0, 0};

	evtimer_add(sv.finish, &now);
}

/* The drain deadline passed. */
static void
server_drain_cb(
    UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	log_warnx("shutdown: %zu comments still in flight after %ld ms; "
	          "they stay pending for redelivery",
	    pipeline_inflight(), sv.conf.shutdown_timeout_ms);
	server_drained();
}

/* Close Redis and leave the loop. */
static void
server_finish_cb(
    UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	evtimer_del(sv.drain);
	evtimer_del(sv.tick);
	redis_close();
	metrics_close();
	event_base_loopexit(sv.base, NULL);
}

/* Housekeeping: claims, status line, watchdog. */
static void
server_tick_cb(UNUSED evutil_socket_t fd, UNUSED short events, UNUSED void *arg)
{
	struct timeval now, d;

	intake_tick();
	expire_tick();
	metrics_tick();
	if (clock_due(&sv.last_status, SERVER_STATUS_MS))
		server_status();
	if (sv.watchdog_usec > 0) {
		gettimeofday(&now, NULL);
		timersub(&now, &sv.last_watchdog, &d);
		if ((unsigned long long)d.tv_sec * 1000000ULL +
		        (unsigned long long)d.tv_usec >=
		    sv.watchdog_usec / 2) {
			sv.last_watchdog = now;
			notify_watchdog();
		}
	}
}

/* Update the STATUS= line with live counts. */
static void
server_status(void)
{
	unsigned long long p, a, h, r, dead;

	pipeline_counts(&p, &a, &h, &r, &dead);
	notify_status("%s; %llu processed: %llu approved, %llu held, "
	              "%llu rejected, %llu dead; %zu in flight; ruleset %s",
	    redis_up() ? "running" : "waiting for Redis", p, a, h, r, dead,
	    pipeline_inflight(), rules_stamp(sv.rules));
}
