/*
 * expire.c -- owns what modqd does to records on a clock rather than for
 * a stream entry, each through a function that does a bounded amount per
 * call, so that Redis is never busy with it for long:
 *  - with decisions.held_days set, a held comment that no moderator
 *    touched for that long is decided by decisions.held_action (reason
 *    held-expired): modq_expire_held;
 *  - the records of an author being forgotten (modq_forget) are erased a
 *    SCAN step at a time: modq_forget_step, every tick while one is left,
 *    every FORGET_IDLE_MS otherwise.
 */
#include <sys/time.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"

#define EXPIRE_EVERY_MS 60000 /* look for expired held comments */
#define EXPIRE_AGAIN_MS 1000 /* sooner while a call finds a full batch */
#define EXPIRE_LIMIT 100 /* comments one call decides at most */
#define FORGET_IDLE_MS 1000 /* look for authors to forget */

/* One function called on a clock. */
struct clock {
	int calling; /* a call is outstanding */
	long wait_ms; /* until the next call */
	struct timeval last; /* the last call sent */
};

static struct clock held_clock, forget_clock;

static int expire_due(struct clock *);
static void expire_call(struct clock *, struct redis_args *, redis_cb);
static long long expire_reply(
    struct clock *, long, redisReply *, const char **);
static void expire_cb(void *, void *);
static void expire_forget_cb(void *, void *);

/* Tell whether a clock's function is to be called now (and note it). */
static int
expire_due(struct clock *c)
{
	if (c->calling || !redis_up() || server_stopping())
		return (0);
	return (clock_due(&c->last, c->wait_ms));
}

/* Send a clock's call, its arguments a, and free them. */
static void
expire_call(struct clock *c, struct redis_args *a, redis_cb cb)
{
	if (redis_cmd(a, cb, NULL) == 0)
		c->calling = 1;
	redis_args_free(a);
}

/*
 * A clock's call came back: the next is wait_ms after it.  Returns the
 * count the function returned, or 0 with *err set to an error reply's
 * text, or 0 if Redis went away meanwhile (*err NULL).
 */
static long long
expire_reply(struct clock *c, long wait_ms, redisReply *reply, const char **err)
{
	c->calling = 0;
	c->wait_ms = wait_ms;
	*err = NULL;
	if (reply == NULL || redis_reply_error(reply, err) ||
	    reply->type != REDIS_REPLY_INTEGER)
		return (0);
	return (reply->integer);
}

/* From the housekeeping tick: call each function when it is time. */
void
expire_tick(void)
{
	const struct conf *conf = server_conf();
	struct redis_args a;

	if (expire_due(&forget_clock)) {
		redis_args_fcall(&a, "modq_forget_step", conf->prefix);
		expire_call(&forget_clock, &a, expire_forget_cb);
	}
	if (conf->held_days <= 0 || !expire_due(&held_clock))
		return;
	redis_args_fcall(&a, "modq_expire_held", conf->prefix);
	redis_args_addf(&a, "%lld", (long long)conf->held_days * 86400000LL);
	redis_args_adds(&a, conf->held_action);
	redis_args_addf(&a, "%d", EXPIRE_LIMIT);
	expire_call(&held_clock, &a, expire_cb);
}

/* Go on at the next tick while an author is still being forgotten. */
static void
expire_forget_cb(void *r, UNUSED void *arg)
{
	const char *err;

	if (expire_reply(&forget_clock, FORGET_IDLE_MS, r, &err) > 0) {
		forget_clock.wait_ms = 0;
		expire_tick(); /* the next step at once: each is short */
	} else if (err != NULL && strstr(err, "Function not found") == NULL)
		log_warnx("forget: modq_forget_step: %s", err);
}

/* Log what modq_expire_held decided; look again soon if it had more. */
static void
expire_cb(void *r, UNUSED void *arg)
{
	const struct conf *conf = server_conf();
	const char *err;
	long long n;

	n = expire_reply(&held_clock, EXPIRE_EVERY_MS, r, &err);
	if (err != NULL)
		log_warnx("held comments: modq_expire_held: %s", err);
	if (n <= 0)
		return;
	log_info("held comments: %lld held over %ld days decided: %s "
	         "(held-expired)",
	    n, conf->held_days, conf->held_action);
	if (n >= EXPIRE_LIMIT)
		held_clock.wait_ms = EXPIRE_AGAIN_MS;
}
