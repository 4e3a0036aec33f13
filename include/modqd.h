/*
 * modqd.h -- the one internal header of daemon/: shared structs and the
 * prototypes of every daemon module, in file order.
 */
#ifndef MODQD_H
#define MODQD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules.h"

#define MODQD_VERSION "0.1.0"
#define MODQD_CONF "/etc/modq/modqd.conf"

struct event_base;
struct batch;
struct timeval;

/* A parameter that a callback is given and has no use for. */
#define UNUSED __attribute__((unused))

/*
 * The Redis keys of the configured prefix: every key name is built here
 * (conf_keys()) or formatted with one of the KEY_ formats below, nowhere
 * else.  The Functions library (modq.lua) is handed these names.
 */
struct keys {
	char *stream; /* <prefix>:<queue.stream>: the incoming stream */
	char *held; /* <prefix>:held */
	char *decisions; /* <prefix>:decisions */
	char *stats; /* <prefix>:stats */
	char *dead; /* <prefix>:dead */
	char *texts; /* <prefix>:texts: prints for repeats and campaigns */
	char *conf; /* <prefix>:conf: the site's settings for the library */
	char *buf; /* owned: the strings above, in one block */
};
#define KEY_COMMENT "%s:c:%s" /* prefix, comment id */

/*
 * The fields a decision adds to a comment's record, in the order modqd
 * sends them (modq_decide sets the last, decided_at, from Redis's clock),
 * those an edit adds, and those a moderator's action adds: a stream entry
 * may bring none of them.  digest is a hash of the entry's own fields: an
 * entry of the same id and digest is the site sending it again.
 */
#define RECORD_FIELDS \
	"status", "reasons", "matched", "decided_by", "ruleset", "stream_id", \
	    "digest", "decided_at"
#define RECORD_NFIELDS 8
#define RECORD_EDIT_FIELDS "revision", "edited_at", "warnings"
#define RECORD_MOD_FIELDS "note", "judged_at"
#define RECORD_RULE_FIELDS "shadow", "score" /* when rules have them */
#define KEY_AUTHOR "%s:author:%s" /* prefix, author */
#define KEY_THREAD "%s:thread:%s" /* prefix, thread */
#define KEY_HISTORY "%s:rate:@hist:%s" /* prefix, author */
#define KEY_RATE "%s:rate:%s:%s" /* prefix, rule, author, ip or thread */

/* A host and port from the config (redis.sentinels). */
struct conf_addr {
	char *host; /* owned: a name, an IPv4 or an IPv6 address */
	long port;
};
#define CONF_SENTINELS_MAX 16

/* The whole configuration; conf_load() fills a fresh one. */
struct conf {
	char *path; /* owned */

	char *redis_host; /* owned */
	long redis_port;
	char *redis_unix; /* owned, NULL for TCP */
	char *redis_user; /* owned, NULL for none */
	char *redis_password_file; /* owned */
	char *redis_password; /* owned: read from password_file */
	long redis_db;
	struct conf_addr *sentinels; /* owned: NULL without Sentinel */
	size_t nsentinels;
	char *sentinel_master; /* owned: redis.master, NULL for none */
	char *sentinel_user; /* owned, NULL for none */
	char *sentinel_password_file; /* owned */
	char *sentinel_password; /* owned: read from sentinel_password_file */
	long sentinel_timeout_ms;
	long redis_cluster; /* a Redis Cluster: host and port are a seed */
	char *prefix; /* owned */
	long timeout_ms;

	char *stream; /* owned: name under the prefix */
	char *group; /* owned */
	char *consumer; /* owned: this daemon's name in the group */
	long batch;
	long max_body;
	long claim_idle_ms;
	long max_deliveries;
	long max_inflight;
	long shutdown_timeout_ms;
	long trim; /* remove entries every group has acknowledged */
	char *format; /* owned: the body's format, "html" or "text" */

	long ttl_days;
	long maxlen;
	long held_days; /* 0: a held comment waits for a person for ever */
	char *held_action; /* owned: "approve" or "reject" */

	char *metrics_listen; /* owned, NULL when off */
	long log_decisions; /* one info line per decision */
	char *log_target; /* owned: auto, stderr, syslog or journal */

	struct rules_spec rules;
	struct keys keys; /* built from prefix and stream */
};

/* Connections for decision transactions, each one batch's at a time. */
#define REDIS_NWRITE 4

/* A redis reply callback: reply is NULL when the command failed. */
typedef void (*redis_cb)(void *, void *);

/* Arguments of one Redis command, with lengths. */
struct redis_args {
	const char **argv; /* owned array; strings borrowed or in strs */
	size_t *len; /* owned */
	int argc;
	int cap;
	char **strs; /* owned: strings formatted by redis_args_addf() */
	int nstrs;
};

/* What one reply may hold; 0: no limit. */
struct redis_limits {
	size_t bytes; /* of strings in all */
	size_t string; /* bytes of one string */
	size_t elems; /* elements of one array */
};

/* conf.c */
int conf_load(const char *, struct conf *, char **);
int conf_load_rules(const char *, struct conf *, struct ruleset **, char **);
void conf_free(struct conf *);
void conf_carry(const struct conf *, struct conf *);
void conf_keys(const struct conf *, struct keys *);
void conf_keys_free(struct keys *);
const char *conf_hash_tag(const char *, size_t *);

/* check.c */
int check_dictionary(const struct conf *);

/* server.c */
void server_init(struct conf *, struct ruleset *);
int server_loop(void);
const struct conf *server_conf(void);
struct ruleset *server_rules(void);
struct event_base *server_base(void);
int server_stopping(void);
void server_drained(void);
void server_intake_running(void);

/* redis.c */
void redis_init(struct event_base *, const struct conf *);
void redis_close(void);
int redis_up(void);
int redis_read(
    struct redis_args *, long, const struct redis_limits *, redis_cb, void *);
unsigned long long redis_oversized(void);
int redis_cmd(struct redis_args *, redis_cb, void *);
int redis_write(int, struct redis_args *, redis_cb, void *);
int redis_write_noreply(int, struct redis_args *);
void redis_reload_functions(void);
void redis_stop_intake(void);
void redis_reset(const char *);
unsigned long long redis_reconnects(void);
void redis_set_timeout(long);
void redis_failover(void);

/*
 * A reply reader's limits and counts (guard.c): the objects and string
 * bytes of one reply, the elements of one array, and why a reply was
 * refused (NULL if it was not).
 */
struct reply_guard {
	size_t max_objs;
	size_t max_bytes;
	size_t max_elems;
	size_t objs; /* of the reply being read */
	size_t bytes;
	const char *over;
};
struct redisContext;

/* guard.c */
void reply_guard_attach(struct redisContext *, struct reply_guard *);

/* sentinel.c */
int sentinel_primary(const struct conf *, char **, int *, char **);
const char *sentinel_role(const void *);
void sentinel_init(struct event_base *, const struct conf *);
void sentinel_close(void);

/* cluster.c */
int cluster_slot(const char *);
int cluster_primary(const struct conf *, char **, int *, char **);
void cluster_load_library(const struct conf *, const char *, int);
int cluster_locate(const struct conf *, char **, int *, char **);
int cluster_moved(const void *, const char *, char **);
void cluster_close(void);

/* args.c */
void redis_args_init(struct redis_args *);
void redis_args_add(struct redis_args *, const char *, size_t);
void redis_args_adds(struct redis_args *, const char *);
void redis_args_initv(struct redis_args *, const char *, va_list);
void redis_args_fcall(struct redis_args *, const char *, const char *);
void redis_args_addf(struct redis_args *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void redis_args_free(struct redis_args *);
int redis_reply_error(void *, const char **);

/* intake.c */
void intake_start(void);
void intake_stop(void);
void intake_rearm(void);
void intake_tick(void);
unsigned long long intake_redeliveries(void);

/* entry.c: the bounds of a stream entry */
#define ENTRY_MAX_EXTRA 32 /* fields besides id body author ip thread */
#define ENTRY_MAX_PAIRS (ENTRY_MAX_EXTRA + 5) /* fields in all */
#define ENTRY_EXTRA_MIN 8192 /* extra values' bytes with a small max_body */
#define ENTRY_IP_MAX 46 /* INET6_ADDRSTRLEN */
#define ENTRY_IP_TEXT 1024 /* bytes of an ip field (a list) that count as one */
#define ENTRY_SLACK 4096 /* id, author, ip, thread and the field names */
int entry_utf8(const char *, size_t, size_t *);
char *entry_validate(char **, size_t *, size_t, long, long, long);
char *entry_cut_reason(char **, const size_t *, size_t, size_t, long);
int entry_ip_canon(const char *, size_t, char *, size_t);
size_t entry_max_size(long);
size_t entry_max_string(long);
#define ENTRY_KINDS 16 /* kinds of dead-letter reason, "other" included */
size_t entry_error_kind(const char *);
const char *entry_kind_name(size_t);
const char *entry_kind_word(size_t);
int entry_id_ok(const char *, size_t);

/* pipeline.c */
struct batch *pipeline_batch_new(struct ruleset *, size_t);
void pipeline_add(struct batch *, const char *, size_t, char **, size_t *,
    size_t, const size_t *, size_t);
void pipeline_reject_last(struct batch *, char *);
void pipeline_start(struct batch *);
size_t pipeline_inflight(void);
int pipeline_has(const char *);
void pipeline_counts(unsigned long long *, unsigned long long *,
    unsigned long long *, unsigned long long *, unsigned long long *);

/* clock.c */
int clock_due(struct timeval *, long);

/* expire.c */
void expire_tick(void);

/* metrics.c */
void metrics_init(struct event_base *, const char *);
void metrics_close(void);
void metrics_decision(
    enum rules_verdict, const char *, const char *, long long);
void metrics_dead(const char *);
void metrics_tick(void);

/* notify.c */
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
unsigned long long notify_watchdog_usec(void);
void notify_watchdog(void);

/* rejudge.c */
long rejudge_count(const char *);
int rejudge_run(struct ruleset *, const struct conf *, long);

/* trial.c */
int trial_judge(struct ruleset *, const char *, size_t, struct rules_match *,
    struct rules_decision *);
int trial_getline(FILE *, char *, size_t, size_t *, size_t *);
int trial_file(struct ruleset *, const char *, size_t);

/* modq.lua, embedded by the build */
extern const char modq_lua[];
extern const size_t modq_lua_len;

#endif
