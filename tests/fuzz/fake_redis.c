/*
 * fake_redis.c -- the I/O edge of the batch fuzz target: what the daemon
 * calls of redis.c, server.c and metrics.c, replaced.  A command is
 * copied the moment it is sent, as hiredis formats it, and queued on its
 * connection with its callback; fuzz_batch.c answers the queues in an
 * order and with the replies the input chooses (batch_model.c builds
 * them).  Everything between the stream entry and the commands is the
 * daemon's own code.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "batch.h"
#include "log.h"
#include "xmalloc.h"

struct fb_fake fake;

static int fake_send(int, struct redis_args *, redis_cb, void *);
static void fake_trace(const struct fb_cmd *);
static void fake_fail_conn(int);

int __wrap_gettimeofday(struct timeval *, void *);

/*
 * Remember the event base the daemon's timers live in.  FUZZ_TRACE set
 * prints every command sent, for a look at one input.
 */
void
fake_init(struct event_base *base)
{
	fake.base = base;
	if (getenv("FUZZ_TRACE") != NULL)
		fake.trace = fdopen(dup(2), "w");
}

/* Print a command as sent: its connection and arguments, escaped. */
static void
fake_trace(const struct fb_cmd *c)
{
	char *esc;
	int i;

	fprintf(fake.trace, "%d%s", c->conn, c->cb == NULL ? "q" : " ");
	for (i = 0; i < c->argc; i++) {
		esc = log_escape(c->argv[i], c->len[i], 80);
		fprintf(fake.trace, " %s", esc);
		free(esc);
	}
	fprintf(fake.trace, "\n");
	fflush(fake.trace);
}

/*
 * Start a run: Redis is up, nothing is queued.  The reconnect count, and
 * with it context.c's memory of the rate keys it refreshed lately, goes
 * on from the last run, as in a daemon that stayed connected: forgetting
 * it (a 1 MB table) for every run would cost more than most runs.
 */
void
fake_begin(struct conf *conf, struct ruleset *rules)
{
	size_t i;

	for (i = 0; i < FB_NCONN; i++)
		if (fake.conn[i].head != NULL)
			abort(); /* the last run left a command queued */
	fake.conf = conf;
	fake.rules = rules;
	fake.epoch_ms += 86400 * 1000; /* what the last run timed is over */
	fake.up = 1;
	fake.stopping = 0;
	fake.intake_closed = 0;
	fake.reset = 0;
}

/*
 * Tell whether a is FCALL fn 1 prefix ...: every function takes the
 * site's prefix as its one key, and it must be the config's.
 */
static int
fake_fcall_prefix(const struct redis_args *a)
{
	if (a->argc < 1 || a->len[0] != 5 ||
	    memcmp(a->argv[0], "FCALL", 5) != 0)
		return (0);
	if (a->argc < 4 || a->len[2] != 1 || a->argv[2][0] != '1' ||
	    a->len[3] != strlen(fake.conf->prefix) ||
	    memcmp(a->argv[3], fake.conf->prefix, a->len[3]) != 0)
		abort(); /* not the site's prefix as the one key */
	return (1);
}

/*
 * Copy a command and queue it on connection conn, in one allocation.
 * Every argument is read to its given length, so a length beyond the
 * string is caught by ASan here, at the caller.  An FCALL's prefix, once
 * checked, is left out (the model reads FCALL fn 0 args...).
 */
static int
fake_send(int conn, struct redis_args *a, redis_cb cb, void *arg)
{
	struct fb_conn *fc = &fake.conn[conn];
	struct fb_cmd *c;
	size_t size = 0, n = (size_t)a->argc;
	int i, fcall = fake_fcall_prefix(a);
	char *p;

	if (a->argc < 1)
		abort();
	for (i = 0; i < a->argc; i++) {
		if (a->argv[i] == NULL)
			abort();
		size += a->len[i] + 1;
	}
	c = xmalloc(sizeof *c + n * (sizeof *c->argv + sizeof *c->len) + size);
	memset(c, 0, sizeof *c);
	c->argv = (char **)(c + 1);
	c->len = (size_t *)(c->argv + n);
	p = (char *)(c->len + n);
	c->conn = conn;
	c->argc = 0;
	for (i = 0; i < a->argc; i++) {
		if (fcall && i == 3)
			continue;
		c->len[c->argc] = a->len[i];
		c->argv[c->argc] = p;
		memcpy(p, fcall && i == 2 ? "0" : a->argv[i], a->len[i]);
		p[a->len[i]] = '\0';
		p += a->len[i] + 1;
		c->argc++;
	}
	c->cb = cb;
	c->arg = arg;
	if (fake.trace != NULL)
		fake_trace(c);
	model_sent(c);
	if (fc->tail != NULL)
		fc->tail->next = c;
	else
		fc->head = c;
	fc->tail = c;
	fc->n++;
	return (0);
}

/* Take the oldest command of a connection off its queue. */
struct fb_cmd *
fake_pop(int conn)
{
	struct fb_conn *fc = &fake.conn[conn];
	struct fb_cmd *c = fc->head;

	if (c == NULL)
		return (NULL);
	fc->head = c->next;
	if (fc->head == NULL)
		fc->tail = NULL;
	fc->n--;
	c->next = NULL;
	return (c);
}

/* Free a command. */
void
fake_cmd_free(struct fb_cmd *c)
{
	free(c);
}

/*
 * Tell whether connection conn waits for Redis and not for an answer: a
 * blocking read of a stream with nothing new, which only time ends.
 */
int
fake_blocked(int conn)
{
	return (conn == FB_INTAKE && fake.conn[conn].head != NULL &&
	    model_blocks(fake.conn[conn].head));
}

/* Count the commands that have an answer now. */
size_t
fake_ready(void)
{
	return (fake_pending() - (fake_blocked(FB_INTAKE) ? 1 : 0));
}

/* Count the commands queued on every connection. */
size_t
fake_pending(void)
{
	size_t i, n = 0;

	for (i = 0; i < FB_NCONN; i++)
		n += fake.conn[i].n;
	return (n);
}

/* Free a connection: every callback runs with a NULL reply, as hiredis does. */
static void
fake_fail_conn(int conn)
{
	struct fb_cmd *c;

	while ((c = fake_pop(conn)) != NULL) {
		if (c->cb != NULL)
			c->cb(NULL, c->arg);
		fake_cmd_free(c);
	}
}

/*
 * Redis went away, as redis_fail() and its teardown have it: intake stops,
 * the state is down, then each connection is freed in turn.
 */
void
fake_disconnect(void)
{
	int i;

	if (!fake.up)
		return;
	model_departures(); /* what ended while Redis was up */
	intake_stop();
	fake.up = 0;
	fake.reconnects++;
	model_discard(-1);
	for (i = 0; i < FB_NCONN; i++)
		fake_fail_conn(i);
}

/* Redis is back and set up: redis_handshake_cb() starts intake. */
void
fake_reconnect(void)
{
	fake.up = 1;
	fake.reset = 0;
	intake_start();
}

/* SIGTERM, as server_shutdown() has it: stop reading, let batches finish. */
void
fake_shutdown(void)
{
	model_departures(); /* what ended before */
	fake.stopping = 1;
	intake_stop();
	fake.intake_closed = 1;
	fake_fail_conn(FB_INTAKE);
}

/* server.c */

const struct conf *
server_conf(void)
{
	return (fake.conf);
}

struct ruleset *
server_rules(void)
{
	return (fake.rules);
}

struct event_base *
server_base(void)
{
	return (fake.base);
}

int
server_stopping(void)
{
	return (fake.stopping);
}

/* The last batch finished during shutdown: only then, and only then. */
void
server_drained(void)
{
	if (!fake.stopping || pipeline_inflight() != 0)
		abort();
}

void
server_intake_running(void)
{
}

/* redis.c */

int
redis_up(void)
{
	return (fake.up);
}

/*
 * A read on the intake connection, whose reply must keep within lim: the
 * model checks it against them, as redis.c's reader does.
 */
int
redis_read(struct redis_args *a, long block_ms, const struct redis_limits *lim,
    redis_cb cb, void *arg)
{
	if (!fake.up || fake.intake_closed)
		return (-1);
	if (lim == NULL || (block_ms != 0 && block_ms != 2000))
		abort();
	fake.lim = *lim;
	return (fake_send(FB_INTAKE, a, cb, arg));
}

/* Replies dropped for going over their limits. */
unsigned long long
redis_oversized(void)
{
	return (fake.oversized);
}

int
redis_cmd(struct redis_args *a, redis_cb cb, void *arg)
{
	if (!fake.up)
		return (-1);
	return (fake_send(FB_COMMAND, a, cb, arg));
}

int
redis_write(int w, struct redis_args *a, redis_cb cb, void *arg)
{
	if (!fake.up || w < 0 || w >= REDIS_NWRITE)
		return (-1);
	return (fake_send(FB_WRITE + w, a, cb, arg));
}

/*
 * A command inside MULTI.  redis.c does not check w here: a batch without
 * a write connection would write on another connection.
 */
int
redis_write_noreply(int w, struct redis_args *a)
{
	if (w < 0 || w >= REDIS_NWRITE)
		abort();
	if (!fake.up)
		return (-1);
	return (fake_send(FB_WRITE + w, a, NULL, NULL));
}

void
redis_reload_functions(void)
{
}

/* The group vanished: reconnect, from the loop, as redis_fail() does. */
void
redis_reset(const char *why)
{
	(void)why;
	fake.reset = 1;
}

unsigned long long
redis_reconnects(void)
{
	return (fake.reconnects);
}

/*
 * The daemon's clock (the objects are linked with --wrap=gettimeofday):
 * each run's own, a day after the last run's, going on with the model's
 * clock.  What intake.c times (the bounded reads after an oversized
 * reply, idle claims, trims) then starts afresh with every run and does
 * not depend on how fast it goes.
 */
int
__wrap_gettimeofday(struct timeval *tv, void *tz)
{
	long long ms = fake.epoch_ms + run.now_ms;

	(void)tz;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000 * 1000);
	return (0);
}

/* metrics.c */

void
metrics_decision(
    enum rules_verdict v, const char *reasons, const char *shadow, long long ms)
{
	(void)ms;
	if (v < RULES_APPROVE || v > RULES_REJECT || reasons == NULL ||
	    shadow == NULL)
		abort();
}

/* A dead letter's reason always has a kind: "other" is a missing one. */
void
metrics_dead(const char *error)
{
	if (error == NULL || entry_error_kind(error) == ENTRY_KINDS - 1)
		abort();
}
