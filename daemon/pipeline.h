/*
 * pipeline.h -- the batch and its comments, shared by the three files of
 * the pipeline: pipeline.c (a batch's life and its state machine),
 * context.c (the context round) and commit.c (the write rounds).  Only
 * those three include it; the rest of the daemon sees the functions in
 * modqd.h.
 *
 * A batch's states (the table pipeline_edges[] in pipeline.c has every
 * transition; pipeline_step() is the only place that changes b->state):
 *
 *   B_MATCH     keyword matching of every comment, pure C, at the start
 *   B_CONTEXT   context round in flight: author trust, thread mode,
 *               reputation, rate windows; the WATCH round goes along
 *               when a write connection is free (b->beside)
 *   B_WAITCONN  waiting for one of the REDIS_NWRITE write connections
 *   B_WATCH     WATCH of every comment hash, TIME, type checks and the
 *               records, in flight on the batch's write connection
 *   B_DECIDE    rules_decide() for every comment, pure C, once its record
 *               is known (an edit is not counted by rate rules)
 *   B_COMMIT    MULTI ... EXEC and/or FCALL modq_decide in flight
 *   B_TEMPFAIL  a reply was missing or an error: the retry timer runs
 *   B_DONE      every comment settled: logged, counted, freed
 *   B_DROP      Redis is down or modqd is stopping: freed, its entries
 *               left pending for redelivery
 *
 *   MATCH --------------------(dead letters only)-----------------+
 *     |                                                           v
 *     +--> CONTEXT --(records read beside)--> DECIDE --------> COMMIT --> DONE
 *            |   |                              ^              ^   |  \
 *            |   +--> WAITCONN --> WATCH -------+              |   |   EXEC aborted:
 *            |                       |                         |   |   COMMIT again
 *            +-----------------------+--(a reply failed)-------+---+
 *                                    v
 *                                TEMPFAIL --(timer)--> CONTEXT, or COMMIT
 *                                    |                 for dead letters only
 *                                    +--(Redis down, stopping)--> DROP
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <sys/queue.h>
#include <sys/time.h>

#include <stdint.h>

#include "modqd.h"

#define PIPELINE_NUM 24 /* bytes for one formatted number */
#define PIPELINE_TX_MAX 64 /* most comments in one transaction */
#define PIPELINE_DEAD_KEEP 4096 /* bytes a dead letter keeps of a field */

struct redisReply;

enum batch_state {
	B_MATCH = 0,
	B_CONTEXT,
	B_DECIDE,
	B_WAITCONN,
	B_WATCH,
	B_COMMIT,
	B_TEMPFAIL,
	B_DONE,
	B_DROP
};

/* What a comment's record was when the WATCH round read it. */
enum record_state {
	REC_NEW = 0, /* none: the transaction writes it */
	REC_SAME, /* decided by this stream entry before: only XACK */
	REC_NEWER, /* decided by a newer entry: superseded, only XACK */
	REC_RESENT, /* same digest: the site sent it again; only XACK */
	REC_GONE, /* deleted: only XACK */
	REC_LUA /* anything else (an edit): modq_decide replaces it */
};

/* What became of a comment: struct comment's written. */
enum outcome {
	OUT_BEFORE = 0, /* decided by this entry before: acknowledged */
	OUT_WRITTEN, /* decided now, or dead-lettered */
	OUT_SUPERSEDED, /* a newer entry of its id was decided */
	OUT_RESENT, /* the site sent it again: acknowledged */
	OUT_GONE /* its comment was deleted: acknowledged */
};

/* What a reply of the context or WATCH round is for. */
enum req_kind {
	Q_AUTHOR = 0, /* HMGET author trust approved */
	Q_HIST, /* HMGET history day fields */
	Q_THREAD, /* HGET thread mode */
	Q_RATE, /* ZCOUNT of rate rule `rule` */
	Q_IGNORE, /* ZADD, trim, expire: only errors matter */
	Q_WATCH, /* WATCH of the batch's comment hashes; this and the */
	Q_TIME, /* kinds below go on the batch's write connection: TIME, */
	Q_CHECK, /* XLEN decisions, ZCARD held: of the right type? */
	Q_RECORD /* HMGET status author stream_id digest */
};

struct batch;

/* One context or WATCH-round command in flight: privdata of its reply. */
struct req {
	struct batch *b;
	uint32_t ci; /* comment index */
	uint8_t kind; /* enum req_kind */
	uint8_t rule;
};

struct comment {
	char *sid; /* owned: stream entry id */
	long long ts; /* ms, from the stream id */
	char **fv; /* owned (one block with the strings): fields, values */
	size_t *fvlen; /* owned */
	size_t nfv;
	const char *id; /* borrowed from fv, "" if absent */
	const char *body;
	size_t bodylen;
	const char *author;
	const char *ip; /* the canonical address (ipbuf) if it is one */
	const char *thread;
	const char
	    *warnings; /* static: what was wrong but not fatal, or NULL */
	char ipbuf[ENTRY_IP_MAX];
	size_t *olen; /* owned: sizes before modq_read cut them, or NULL */
	size_t ntotal; /* strings the entry had, cut ones included */
	char *error; /* owned: why it is dead-lettered, or NULL */
	char *keys; /* owned: the Redis keys below, built once */
	const char *ckey; /* borrowed from keys: <prefix>:c:<id> */
	const char *akey; /* <prefix>:author:<author> or "" */
	const char *tkey; /* <prefix>:thread:<thread> or "" */
	const char *hkey; /* <prefix>:rate:@hist:<author> or "" */
	const char *rkey[RULES_MAX_RATES]; /* <prefix>:rate:<rule>:<v> or "" */
	char *stats; /* owned: "rule:<name>" strings, NUL-separated; for a
	                dead letter, what it does not keep */
	size_t nstats;
	char digest[17]; /* hex hash of the entry's fields */
	char rmember[12]; /* its record in the rate windows */
	struct rules_match match;
	struct rules_ctx ctx;
	struct rules_decision d;
	int written; /* enum outcome */
	uint8_t old; /* enum record_state */
	uint8_t edit; /* its record is an earlier revision */
};

struct batch {
	TAILQ_ENTRY(batch) entry;
	enum batch_state state; /* changed by pipeline_step() only */
	struct ruleset *rules; /* one reference */
	struct comment *c; /* owned */
	size_t n;
	size_t cap;
	size_t njudge; /* comments without an error */
	int wconn; /* the write connection it holds, or -1 */

	/* What the replies of the round in flight said; reset by each round. */
	int pending; /* replies awaited */
	int failed; /* one was missing or an error: retry */
	int beside; /* the WATCH round went along with the context */
	int all_lua; /* a shared key has the wrong type: all to modq_decide */
	int aborted; /* EXEC found a watched hash changed */
	int retry_due; /* the retry timer fired */
	int drop; /* Redis is down or we are stopping: give up */

	char *nums; /* owned: formatted numbers of the current call */
	struct req *reqs; /* owned: context commands in flight */
	size_t nreqs;
	struct req *wreqs; /* owned: the WATCH round's commands in flight */
	size_t nwreqs;
	long long now_ms; /* the decision time, from Redis TIME */
	struct keys keys; /* owned: from conf_keys() */
	struct event *retry;
	long retry_ms;
	struct timeval started;
};

/* pipeline.c */
void pipeline_step(struct batch *);
void pipeline_conn_free(void);
void pipeline_req(
    struct batch *, struct redis_args *, uint32_t, uint8_t, uint8_t);
void pipeline_ignore_cb(void *, void *);
int pipeline_error_reply(
    struct batch *, const struct redisReply *, const char *);

/* context.c */
void context_send(struct batch *);
void context_cb(void *, void *);

/* commit.c */
int commit_can_take(void);
int commit_take(struct batch *);
void commit_release(struct batch *, int);
void commit_watch(struct batch *);
void commit_watch_cb(void *, void *);
void commit_send(struct batch *);
void commit_dead(struct batch *);
void commit_aborted(struct batch *);

int pipeline_sid_older(const char *, const char *);

/* texts.c */
int texts_wanted(const struct ruleset *);
void texts_send(struct batch *);
void texts_free(void);

#endif
