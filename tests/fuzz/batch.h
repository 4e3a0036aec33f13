/*
 * batch.h -- what the three files of the `batch` fuzz target share:
 * fuzz_batch.c (the input, the run of one input, the checks at its end),
 * batch_model.c (a model of the Redis modqd talks to: the stream and its
 * pending entries, the keys, an answer to every command, and the checks
 * of every command sent) and fake_redis.c (the fake I/O edge: redis_*,
 * server_* and metrics_* as the daemon calls them).
 */
#ifndef MODQ_FUZZ_BATCH_H
#define MODQ_FUZZ_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#include "modqd.h"

#define FB_INTAKE 0 /* the connections, as redis.c has them */
#define FB_COMMAND 1
#define FB_WRITE 2 /* the first of REDIS_NWRITE */
#define FB_NCONN (FB_WRITE + REDIS_NWRITE)

#define FB_PREFIX "modq" /* redis.prefix of the fuzzed config */
#define FB_MAX_ENTRIES 300 /* entries of one input; more are ignored */
#define FB_MS0 1700000000000LL /* the first entry's stream id time */

/*
 * A command the daemon sent, copied as hiredis formats it at once: one
 * allocation with its arguments.
 */
struct fb_cmd {
	struct fb_cmd *next;
	int conn;
	int argc;
	char **argv; /* each with a NUL after its len bytes */
	size_t *len;
	redis_cb cb; /* NULL: sent inside MULTI, its reply never read */
	void *arg;
};

/* One connection: the commands whose replies are due, oldest first. */
struct fb_conn {
	struct fb_cmd *head;
	struct fb_cmd *tail;
	size_t n;
};

/* What the fakes of server.c, redis.c and metrics.c keep. */
struct fb_fake {
	struct fb_conn conn[FB_NCONN];
	struct event_base *base; /* a real one: the daemon's timers */
	struct conf *conf;
	struct ruleset *rules;
	int up; /* redis_up() */
	int stopping; /* server_stopping() */
	int intake_closed; /* redis_stop_intake() was called */
	int reset; /* redis_reset() asks for a reconnect */
	unsigned long long reconnects;
	unsigned long long oversized; /* redis_oversized() */
	struct redis_limits lim; /* of the read in flight, as redis_read() */
	long long epoch_ms; /* gettimeofday(): this plus run.now_ms */
	FILE *trace; /* FUZZ_TRACE: every command, as sent */
};
extern struct fb_fake fake;

struct fb_key;

/* One entry of the input: as written to the stream, and its fate. */
struct fb_entry {
	char sid[32]; /* its stream id */
	long long ms;
	uint8_t p[3]; /* its parameter bytes (see fuzz_batch.c) */
	int shape; /* how the reply carries it: FB_SHAPE_ */
	char **fv; /* owned (one block): fields and values, NUL after each */
	size_t *fvlen; /* owned */
	size_t nfv;
	const char *id; /* borrowed from fv: the last "id" value, or NULL */
	const char *author, *thread, *ip, *body; /* "" if absent */
	size_t bodylen;
	char ipbuf[ENTRY_IP_MAX]; /* ip, canonical, if it is an address */
	int warn; /* an ip that is no address: the record's warnings */
	char digest[17]; /* pipeline_digest() of its fields */
	char rmember[12]; /* its record in the rate windows */
	struct fb_key *ck, *ak, *hk, *tk; /* its keys, or NULL */
	struct fb_key *rk[RULES_MAX_RATES];

	/* As the last delivery handed it over. */
	int cut; /* modq_read cut it (bounded() in modq.lua) */
	int over; /* bounded() would cut it: it cannot be valid */
	size_t rn; /* strings modqd keeps of it */
	size_t *rlen; /* owned: the length of each as received */
	int forged; /* its shape is one no Redis sends */
	long fdeliv; /* the delivery count modqd took it with */

	/* The group and the model of what modqd wrote. */
	int queued; /* not read yet: XREADGROUP ">" returns it */
	int pending; /* delivered and not acknowledged */
	long deliveries;
	int flight; /* in a batch: pipeline_has() */
	int writes; /* decisions written by this stream id */
	int deads; /* dead letters written for it */
	int decisions; /* entries of the decisions stream for it */
	int edits; /* records of earlier revisions it replaced */
	int settled; /* decided: by a write, before, or superseded */
	struct rules_match match; /* its body's, when checked */
	int matched; /* 1: match is set, 2: the matcher failed */
	unsigned long mark; /* model_sent_decide(): seen in this call */
};

/* How an entry travels in an XREADGROUP, modq_read or modq_claim reply. */
enum fb_shape {
	FB_SHAPE_NORMAL = 0, /* as Redis sends it: whole, or modq_read cut */
	FB_SHAPE_NORMAL2,
	FB_SHAPE_NIL, /* {id, nil}: deleted while pending */
	FB_SHAPE_INT, /* an integer among the strings */
	FB_SHAPE_BADCUT, /* a cut list of the wrong length */
	FB_SHAPE_FORGED, /* a cut list for a whole entry */
	FB_SHAPE_NOID, /* the id is not a string: skipped */
	FB_SHAPE_SHORT /* {id} alone: skipped */
};
#define FB_SKIPPED(e) ((e)->shape >= FB_SHAPE_NOID)

/* The parameters of one run, from the input's first bytes. */
struct fb_params {
	int ruleset; /* 0: no author history, 1: history and premod */
	int how; /* entries come by XREADGROUP (0), modq_read (3), or as
	            own pending (1, 2) */
	int wrong_decisions; /* looks that find a shared key of the */
	int wrong_held; /* wrong type, left */
	long stop_at; /* shutdown at this step, 0 never */
};

/* The whole input, parsed, and the state of the run. */
struct fb_run {
	struct fb_params par;
	struct fb_entry *e; /* owned */
	size_t n;
	const uint8_t *script; /* the rest: one byte per step */
	size_t nscript;
	size_t step;
	size_t nflight; /* entries in flight */
	size_t fault_steps; /* faults are injected until this step */
	int faults; /* still injecting faults */
	long long now_ms; /* the model's clock, for TIME */
};
extern struct fb_run run;

/* fake_redis.c */
void fake_init(struct event_base *);
void fake_begin(struct conf *, struct ruleset *);
struct fb_cmd *fake_pop(int);
void fake_cmd_free(struct fb_cmd *);
size_t fake_ready(void);
int fake_blocked(int);
void fake_disconnect(void);
void fake_reconnect(void);
void fake_shutdown(void);
size_t fake_pending(void);

/* batch_model.c */
redisReply *reply_error(const char *);
redisReply *reply_nil(void);
void reply_done(void);
void model_begin(void);
void model_end(void);
struct fb_entry *model_entry(const char *);
void model_delivered(void);
void model_departures(void);
void model_discard(int);
void model_queued(struct fb_cmd *);
void model_sent(const struct fb_cmd *);
int model_blocks(const struct fb_cmd *);
int model_over(void);
void model_check_end(void);
redisReply *model_answer(const struct fb_cmd *);
redisReply *model_malformed(const struct fb_cmd *);
int model_may_fail(const struct fb_cmd *, int);
void model_unanswered(const struct fb_cmd *);
void model_undelivered(void);

#endif
