/*
 * expire.c -- owns the decisions modqd makes on a clock rather than on a
 * stream entry: with decisions.held_days set, a held comment that no
 * moderator touched for that long is decided by decisions.held_action
 * (reason held-expired), through the modq_expire_held function, a bounded
 * number per call so that Redis is never busy with it for long.
 */
#include <sys/time.h>

#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"

#define EXPIRE_EVERY_MS 60000 /* look for expired held comments */
#define EXPIRE_AGAIN_MS 1000 /* sooner while a call finds a full batch */
#define EXPIRE_LIMIT 100 /* comments one call decides at most */

static struct {
	int calling; /* a modq_expire_held is outstanding */
	long wait_ms; /* until the next call */
	struct timeval last; /* the last call sent */
} ex = {0, 0, {0, 0}};

static void expire_cb(void *, void *);

/* From the housekeeping tick: call modq_expire_held when it is time. */
void
expire_tick(void)
{
	const struct conf *conf = server_conf();
	struct redis_args a;
	struct timeval now, d;

	if (conf->held_days <= 0 || ex.calling || !redis_up() ||
	    server_stopping())
		return;
	gettimeofday(&now, NULL);
	timersub(&now, &ex.last, &d);
	if (timerisset(&ex.last) &&
	    d.tv_sec * 1000 + d.tv_usec / 1000 < ex.wait_ms)
		return;
	ex.last = now;
	redis_args_init(&a);
	redis_args_adds(&a, "FCALL");
	redis_args_adds(&a, "modq_expire_held");
	redis_args_adds(&a, "0");
	redis_args_addf(&a, "%lld", (long long)conf->held_days * 86400000LL);
	redis_args_adds(&a, conf->held_action);
	redis_args_addf(&a, "%d", EXPIRE_LIMIT);
	if (redis_cmd(&a, expire_cb, NULL) == 0)
		ex.calling = 1;
	redis_args_free(&a);
}

/* Log what modq_expire_held decided; look again soon if it had more. */
static void
expire_cb(void *r, void *arg)
{
	const struct conf *conf = server_conf();
	redisReply *reply = r;
	const char *err;

	(void)arg;
	ex.calling = 0;
	ex.wait_ms = EXPIRE_EVERY_MS;
	if (reply == NULL)
		return;
	if (redis_reply_error(reply, &err)) {
		log_warnx("held comments: modq_expire_held: %s", err);
		return;
	}
	if (reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0)
		return;
	log_info("held comments: %lld held over %ld days decided: %s "
	         "(held-expired)",
	    reply->integer, conf->held_days, conf->held_action);
	if (reply->integer >= EXPIRE_LIMIT)
		ex.wait_ms = EXPIRE_AGAIN_MS;
}
