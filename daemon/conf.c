/*
 * conf.c -- owns the translation of the libconfig file into struct conf: the
 * option table (names, types, ranges, defaults, which ones a reload may
 * change), the keyword, allow, rate and author rules, and word-list paths
 * resolved relative to the config file.  The libconfig tree lives only
 * inside conf_load(); everything kept is copied.  Every problem is reported
 * as "file:line: what is wrong", all of them, so one run fixes a config.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"
#include "conf_int.h"

#define CONF_PASSWORD_MAX 1024 /* bytes in the Redis password */
#define CONF_NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
#define CONF_PREFIX_CHARS CONF_NAME_CHARS "{}" /* a cluster hash tag */

enum conf_type { CONF_STRING, CONF_INT, CONF_BOOL };

/* One scalar option of a group. */
struct conf_opt {
	const char *group;
	const char *name;
	enum conf_type type;
	size_t off;
	long min;
	long max;
	long defnum;
	const char *defstr;
	int reload; /* a reload may change it */
	const char *(*check)(const char *);
};

static const char *conf_check_name(const char *);
static const char *conf_check_prefix(const char *);
static const char *conf_check_listen(const char *);
static const char *conf_check_format(const char *);
static const char *conf_check_held_action(const char *);
static const char *conf_check_log_target(const char *);

#define OFF(f) offsetof(struct conf, f)
static const struct conf_opt conf_opts[] = {
    {"redis", "host", CONF_STRING, OFF(redis_host), 0, 0, 0, "127.0.0.1", 0,
        NULL},
    {"redis", "port", CONF_INT, OFF(redis_port), 1, 65535, 6379, NULL, 0, NULL},
    {"redis", "unix", CONF_STRING, OFF(redis_unix), 0, 0, 0, NULL, 0, NULL},
    {"redis", "user", CONF_STRING, OFF(redis_user), 0, 0, 0, NULL, 0, NULL},
    {"redis", "password_file", CONF_STRING, OFF(redis_password_file), 0, 0, 0,
        NULL, 0, NULL},
    {"redis", "db", CONF_INT, OFF(redis_db), 0, 65535, 0, NULL, 0, NULL},
    {"redis", "master", CONF_STRING, OFF(sentinel_master), 0, 0, 0, NULL, 0,
        conf_check_name},
    {"redis", "sentinel_user", CONF_STRING, OFF(sentinel_user), 0, 0, 0, NULL,
        0, NULL},
    {"redis", "sentinel_password_file", CONF_STRING,
        OFF(sentinel_password_file), 0, 0, 0, NULL, 0, NULL},
    {"redis", "sentinel_timeout_ms", CONF_INT, OFF(sentinel_timeout_ms), 10,
        60000, 500, NULL, 0, NULL},
    {"redis", "prefix", CONF_STRING, OFF(prefix), 0, 0, 0, "modq", 0,
        conf_check_prefix},
    {"redis", "cluster", CONF_BOOL, OFF(redis_cluster), 0, 1, 0, NULL, 0, NULL},
    {"redis", "timeout_ms", CONF_INT, OFF(timeout_ms), 10, 600000, 2000, NULL,
        1, NULL},
    {"queue", "stream", CONF_STRING, OFF(stream), 0, 0, 0, "incoming", 0,
        conf_check_name},
    {"queue", "group", CONF_STRING, OFF(group), 0, 0, 0, "modqd", 0,
        conf_check_name},
    {"queue", "consumer", CONF_STRING, OFF(consumer), 0, 0, 0, NULL, 0,
        conf_check_name},
    {"queue", "batch", CONF_INT, OFF(batch), 1, 4096, 256, NULL, 1, NULL},
    {"queue", "max_body", CONF_INT, OFF(max_body), 16, 16777216, 65536, NULL, 1,
        NULL},
    {"queue", "claim_idle_ms", CONF_INT, OFF(claim_idle_ms), 100, 86400000,
        60000, NULL, 1, NULL},
    {"queue", "max_deliveries", CONF_INT, OFF(max_deliveries), 1, 1000, 5, NULL,
        1, NULL},
    {"queue", "max_inflight", CONF_INT, OFF(max_inflight), 1, 65536, 1024, NULL,
        1, NULL},
    {"queue", "shutdown_timeout_ms", CONF_INT, OFF(shutdown_timeout_ms), 0,
        600000, 10000, NULL, 1, NULL},
    {"queue", "trim", CONF_BOOL, OFF(trim), 0, 1, 1, NULL, 1, NULL},
    {"queue", "format", CONF_STRING, OFF(format), 0, 0, 0, "html", 1,
        conf_check_format},
    {"decisions", "ttl_days", CONF_INT, OFF(ttl_days), 1, 3650, 30, NULL, 1,
        NULL},
    {"decisions", "maxlen", CONF_INT, OFF(maxlen), 1000, 1000000000, 1000000,
        NULL, 1, NULL},
    {"decisions", "held_days", CONF_INT, OFF(held_days), 0, 3650, 0, NULL, 1,
        NULL},
    {"decisions", "held_action", CONF_STRING, OFF(held_action), 0, 0, 0,
        "reject", 1, conf_check_held_action},
    {"metrics", "listen", CONF_STRING, OFF(metrics_listen), 0, 0, 0, NULL, 0,
        conf_check_listen},
    {"log", "decisions", CONF_BOOL, OFF(log_decisions), 0, 1, 1, NULL, 1, NULL},
    {"log", "target", CONF_STRING, OFF(log_target), 0, 0, 0, "auto", 0,
        conf_check_log_target},
};
#undef OFF

static const char *const conf_groups[] = {
    "redis", "queue", "decisions", "metrics", "log"};

static const char *conf_resolve_name(struct conf_ctx *, const char *);
static void conf_ctx_free(struct conf_ctx *);
static void conf_defaults(struct conf *);
static const struct conf_opt *conf_find(const char *, const char *);
static void conf_scalar(
    struct conf_ctx *, const struct conf_opt *, const config_setting_t *);
static void conf_option(
    struct conf_ctx *, const config_setting_t *, const char *, void *);
static void conf_keyword_key(
    struct conf_ctx *, const config_setting_t *, const char *, void *);
static void conf_keyword(
    struct conf_ctx *, const config_setting_t *, struct conf_rule *);
static void conf_rate_key(
    struct conf_ctx *, const config_setting_t *, const char *, void *);
static void conf_rate(
    struct conf_ctx *, const config_setting_t *, struct conf_rule *);
static void conf_authors_key(
    struct conf_ctx *, const config_setting_t *, const char *, void *);
static void conf_hold_if_rejected(struct conf_ctx *, const config_setting_t *);
static void conf_hold_key(
    struct conf_ctx *, const config_setting_t *, const char *, void *);
static void conf_cluster(struct conf_ctx *, config_setting_t *);
static void conf_finish(struct conf_ctx *, config_setting_t *);
static void conf_sentinels(struct conf_ctx *, const config_setting_t *);
static void conf_sentinels_finish(struct conf_ctx *, config_setting_t *);
static void conf_addrs_free(struct conf_addr *, size_t);
static int conf_addrs_equal(const struct conf *, const struct conf *);
static void conf_carry_secret(const char *, char **);
static void conf_carry_sentinels(const struct conf *, struct conf *);
static void conf_password_mode(struct conf_ctx *, const config_setting_t *,
    const char *, const char *, const struct stat *);
static ssize_t conf_password_read(int, char *, size_t, const char **);
static void conf_password(
    struct conf_ctx *, config_setting_t *, const char *, const char *, char **);

/* Tell whether s is 1-64 bytes, each one of chars. */
static int
conf_chars_ok(const char *s, const char *chars)
{
	size_t n = strlen(s);

	return (n > 0 && n <= 64 && strspn(s, chars) == n);
}

/* Check a name used in Redis keys: 1-64 bytes of [A-Za-z0-9._:-]. */
static const char *
conf_check_name(const char *s)
{
	if (!conf_chars_ok(s, CONF_NAME_CHARS))
		return ("must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
	return (NULL);
}

/*
 * Check the key prefix: a name, in which { and } may also stand, to give
 * the keys of a site one Redis Cluster hash tag.
 */
static const char *
conf_check_prefix(const char *s)
{
	if (!conf_chars_ok(s, CONF_PREFIX_CHARS))
		return (
		    "must be 1 to 64 characters of A-Z a-z 0-9 . _ : - { }");
	return (NULL);
}

/*
 * Find the hash tag of a key prefix as Redis Cluster reads one in a key:
 * the bytes between its first { and the next } after it, if there are
 * any.  Every key of the site starts with the prefix, so it has the same
 * tag and lives in the same hash slot.  Returns the tag's start and sets
 * *len, or NULL when the prefix has no tag (no {, no } after it, or {}).
 */
const char *
conf_hash_tag(const char *prefix, size_t *len)
{
	const char *open, *close;

	if ((open = strchr(prefix, '{')) == NULL ||
	    (close = strchr(open + 1, '}')) == NULL || close == open + 1)
		return (NULL);
	*len = (size_t)(close - open - 1);
	return (open + 1);
}

/* Check a listen address: host:port or [v6]:port. */
static const char *
conf_check_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t hostlen;
	long port;
	char *end;

	if (colon == NULL || colon == s)
		return ("must be host:port or [address]:port");
	hostlen = (size_t)(colon - s);
	if (s[0] == '[' ? (hostlen < 3 || s[hostlen - 1] != ']')
	                : memchr(s, ':', hostlen) != NULL)
		return ("must be host:port or [address]:port");
	if (colon[1] < '0' || colon[1] > '9')
		return ("port must be 1 to 65535");
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 1 || port > 65535)
		return ("port must be 1 to 65535");
	return (NULL);
}

/* Check the body's format: the rules read "html" or "text". */
static const char *
conf_check_format(const char *s)
{
	if (strcmp(s, "html") != 0 && strcmp(s, "text") != 0)
		return ("must be \"html\" or \"text\"");
	return (NULL);
}

/* Check what becomes of a comment held too long. */
static const char *
conf_check_held_action(const char *s)
{
	if (strcmp(s, "approve") != 0 && strcmp(s, "reject") != 0)
		return ("must be \"approve\" or \"reject\"");
	return (NULL);
}

/* Check a log sink: the names log_sink_parse() knows. */
static const char *
conf_check_log_target(const char *s)
{
	if (log_sink_parse(s) == -1)
		return (
		    "must be \"auto\", \"stderr\", \"syslog\" or \"journal\"");
	return (NULL);
}

/* Give the line of a setting (0 when unknown). */
int
conf_line(const config_setting_t *s)
{
	return (s != NULL ? (int)config_setting_source_line(s) : 0);
}

/* Give the file a setting comes from (the config, or an @include). */
const char *
conf_file(struct conf_ctx *cx, const config_setting_t *s)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;

	return (conf_resolve_name(cx, f));
}

/*
 * Give a file name libconfig reported as a path an operator can open: the
 * config itself, or an @include name resolved against the config's
 * directory (libconfig gives @include names as written).
 */
static const char *
conf_resolve_name(struct conf_ctx *cx, const char *f)
{
	size_t i;
	char *p;

	if (f == NULL || strcmp(f, cx->path) == 0)
		return (cx->path);
	if (f[0] == '/')
		return (f);
	xasprintf(&p, "%s/%s", cx->dir, f);
	for (i = 0; i < cx->nfiles; i++) {
		if (strcmp(cx->files[i], p) == 0) {
			free(p);
			return (cx->files[i]);
		}
	}
	cx->files = xreallocarray(cx->files, cx->nfiles + 1, sizeof *cx->files);
	cx->files[cx->nfiles++] = p;
	return (p);
}

/* Record one error at a setting's file:line. */
void
conf_error(struct conf_ctx *cx, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rules_verror(&cx->errors, conf_file(cx, s), conf_line(s), fmt, ap);
	va_end(ap);
	cx->nerrors++;
}

/* Fill every option with its default. */
static void
conf_defaults(struct conf *c)
{
	const struct conf_opt *o;
	size_t i;

	for (i = 0; i < sizeof conf_opts / sizeof conf_opts[0]; i++) {
		o = &conf_opts[i];
		if (o->type != CONF_STRING)
			*(long *)((char *)c + o->off) = o->defnum;
		else if (o->defstr != NULL)
			*(char **)((char *)c + o->off) = xstrdup(o->defstr);
	}
}

/* Find an option of the table. */
static const struct conf_opt *
conf_find(const char *group, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof conf_opts / sizeof conf_opts[0]; i++) {
		if (strcmp(conf_opts[i].group, group) == 0 &&
		    strcmp(conf_opts[i].name, name) == 0)
			return (&conf_opts[i]);
	}
	return (NULL);
}

/* Read an integer setting and check its range. */
int
conf_get_long(struct conf_ctx *cx, const config_setting_t *s, long min,
    long max, long *out)
{
	long long v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		conf_error(
		    cx, s, "%s: must be an integer", config_setting_name(s));
		return (-1);
	}
	if (v < min || v > max) {
		conf_error(cx, s, "%s: %lld is out of range (%ld to %ld)",
		    config_setting_name(s), v, min, max);
		return (-1);
	}
	*out = (long)v;
	return (0);
}

/* Read a number from 0 to 1 (an integer 0 or 1 too). */
int
conf_get_fraction(struct conf_ctx *cx, const config_setting_t *s, double *out)
{
	double v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else
		v = -1;
	if (!(v >= 0 && v <= 1)) {
		conf_error(cx, s, "%s: must be a number from 0 to 1",
		    config_setting_name(s));
		return (-1);
	}
	*out = v;
	return (0);
}

/* Read a string setting. */
const char *
conf_get_string(struct conf_ctx *cx, const config_setting_t *s)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		conf_error(cx, s, "%s: must be a string",
		    config_setting_name(s) != NULL ? config_setting_name(s)
		                                   : "entry");
		return (NULL);
	}
	v = config_setting_get_string(s);
	return (v != NULL ? v : "");
}

/* Set one scalar option from the file. */
static void
conf_scalar(
    struct conf_ctx *cx, const struct conf_opt *o, const config_setting_t *s)
{
	const char *v, *why;
	char **dst;

	if (o->type == CONF_INT) {
		conf_get_long(
		    cx, s, o->min, o->max, (long *)((char *)cx->conf + o->off));
		return;
	}
	if (o->type == CONF_BOOL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			conf_error(cx, s, "%s.%s: must be true or false",
			    o->group, o->name);
		else
			*(long *)((char *)cx->conf + o->off) =
			    config_setting_get_bool(s);
		return;
	}
	if ((v = conf_get_string(cx, s)) == NULL)
		return;
	if (o->check != NULL && (why = o->check(v)) != NULL) {
		conf_error(cx, s, "%s.%s: %s", o->group, o->name, why);
		return;
	}
	dst = (char **)((char *)cx->conf + o->off);
	free(*dst);
	*dst = xstrdup(v);
}

/*
 * Hand each setting of the group g to key(), with its name and arg; every
 * group of the file is read this way.  A g that is not a group is an error
 * of its own.
 */
void
conf_each(
    struct conf_ctx *cx, const config_setting_t *g, conf_key_cb key, void *arg)
{
	const config_setting_t *s;
	int i;

	if (!config_setting_is_group(g)) {
		conf_error(cx, g, "%s: must be a group { ... }",
		    config_setting_name(g));
		return;
	}
	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)) != NULL; i++)
		key(cx, s, config_setting_name(s), arg);
}

/* Read one option of a scalar group (redis, queue, decisions, metrics). */
static void
conf_option(struct conf_ctx *cx, const config_setting_t *s, const char *k,
    UNUSED void *arg)
{
	const char *gname = config_setting_name(config_setting_parent(s));
	const struct conf_opt *o;

	if (strcmp(gname, "redis") == 0 && strcmp(k, "sentinels") == 0) {
		conf_sentinels(cx, s); /* the one option that is a list */
		return;
	}
	if ((o = conf_find(gname, k)) == NULL) {
		conf_error(cx, s, "unknown option %s.%s", gname, k);
		return;
	}
	conf_scalar(cx, o, s);
}

/* Read an action: "reject", "hold", or "score" (never a verdict). */
int
conf_verdict(
    struct conf_ctx *cx, const config_setting_t *s, enum rules_verdict *v)
{
	const char *a;

	if ((a = conf_get_string(cx, s)) == NULL)
		return (-1);
	if (strcmp(a, "reject") == 0)
		*v = RULES_REJECT;
	else if (strcmp(a, "hold") == 0)
		*v = RULES_HOLD;
	else if (strcmp(a, "score") == 0)
		*v = RULES_APPROVE;
	else {
		conf_error(
		    cx, s, "action: \"%s\" is not reject, hold or score", a);
		return (-1);
	}
	return (0);
}

/* Read an array of strings into entries, each with its file:line. */
void
conf_entries(struct conf_ctx *cx, const config_setting_t *arr,
    struct rules_entry **e, size_t *n)
{
	const config_setting_t *s;
	const char *v;
	int i;

	if (!config_setting_is_array(arr) && !config_setting_is_list(arr)) {
		conf_error(cx, arr, "%s: must be an array [ \"...\", ... ]",
		    config_setting_name(arr));
		return;
	}
	for (i = 0; (s = config_setting_get_elem(arr, (unsigned)i)) != NULL;
	     i++) {
		if ((v = conf_get_string(cx, s)) == NULL)
			continue;
		*e = xreallocarray(*e, *n + 1, sizeof **e);
		(*e)[*n].text = xstrdup(v);
		(*e)[*n].file = xstrdup(conf_file(cx, arr));
		(*e)[*n].line =
		    conf_line(s) != 0 ? conf_line(s) : conf_line(arr);
		(*n)++;
	}
}

/*
 * Read the word-list file a setting names (relative to the config file's
 * directory) into entries, each with its file:line.  Returns -1 if the
 * setting is no string (a file that cannot be read is reported, and 0).
 */
int
conf_list_file(struct conf_ctx *cx, const config_setting_t *s,
    struct rules_entry **e, size_t *n)
{
	const char *v;
	char *path, *cause;

	if ((v = conf_get_string(cx, s)) == NULL)
		return (-1);
	path = conf_resolve(cx, v);
	if (rules_load_list(path, e, n, &cause) == -1) {
		conf_error(cx, s, "file: %s", cause);
		free(cause);
	}
	free(path);
	return (0);
}

/* Resolve a word-list path relative to the config file's directory. */
char *
conf_resolve(struct conf_ctx *cx, const char *file)
{
	char *p;

	if (file[0] == '/')
		return (xstrdup(file));
	xasprintf(&p, "%s/%s", cx->dir, file);
	return (p);
}

/*
 * Read a rule's name and check it: valid, not built in, not used twice.
 * Returns it (a bad name too, once reported), or NULL if it is no string.
 */
const char *
conf_rule_name(struct conf_ctx *cx, const config_setting_t *s)
{
	struct rules_spec *r = &cx->conf->rules;
	const char *name;

	if ((name = conf_get_string(cx, s)) == NULL)
		return (NULL);
	if (!rules_name_valid(name)) {
		conf_error(cx, s,
		    "rule name \"%s\": must be 1 to %d "
		    "characters of A-Z a-z 0-9 . _ -",
		    name, RULES_MAX_NAME);
		return (name);
	}
	if (rules_name_reserved(name))
		conf_error(
		    cx, s, "rule name \"%s\" is a built-in reason", name);
	if (conf_name_taken(r, name))
		conf_error(cx, s, "rule name \"%s\" is used twice", name);
	return (name);
}

/* Read one setting of a keyword rule { name; action; words; file; match; }. */
static void
conf_keyword_key(
    struct conf_ctx *cx, const config_setting_t *s, const char *k, void *arg)
{
	struct conf_rule *cr = arg;
	struct rules_list *l = &cr->list;
	const char *v;

	if (strcmp(k, "name") == 0)
		cr->name = conf_rule_name(cx, s);
	else if (strcmp(k, "action") == 0) {
		if (conf_verdict(cx, s, &l->action) == 0)
			cr->have |= 1;
	} else if (strcmp(k, "words") == 0) {
		conf_entries(cx, s, &l->entries, &l->nentries);
		cr->have |= 2;
	} else if (strcmp(k, "file") == 0) {
		if (conf_list_file(cx, s, &l->entries, &l->nentries) == 0)
			cr->have |= 2;
	} else if (strcmp(k, "match") == 0) {
		if ((v = conf_get_string(cx, s)) == NULL)
			return;
		if (strcmp(v, "word") == 0)
			l->match = RULES_MATCH_WORD;
		else if (strcmp(v, "substring") == 0)
			l->match = RULES_MATCH_SUBSTRING;
		else
			conf_error(
			    cx, s, "match: \"%s\" is not word or substring", v);
	} else if (!conf_common_key(cx, s, k, cr))
		conf_error(cx, s, "unknown option %s in a keyword rule", k);
}

/* Check a keyword rule read from g, and keep it. */
static void
conf_keyword(
    struct conf_ctx *cx, const config_setting_t *g, struct conf_rule *cr)
{
	struct rules_spec *r = &cx->conf->rules;
	const char *name = cr->name != NULL ? cr->name : "?";

	if (cr->name == NULL)
		conf_error(cx, g, "keyword rule without a name");
	if ((cr->have & 1) == 0)
		conf_error(cx, g, "keyword rule %s: no valid action", name);
	if ((cr->have & 2) == 0)
		conf_error(
		    cx, g, "keyword rule %s: needs words, file or both", name);
	cr->list.name = xstrdup(name);
	cr->list.shadow = cr->shadow;
	cr->list.score = cr->score;
	cr->list.file = xstrdup(conf_file(cx, g));
	cr->list.line = conf_line(g);
	r->lists = xreallocarray(r->lists, r->nlists + 1, sizeof *r->lists);
	r->lists[r->nlists++] = cr->list;
}

/*
 * Read a list of rule groups ( { ... }, { ... } ) such as keywords or
 * rates: each setting of a group goes to key(), then the whole rule to
 * done().
 */
void
conf_rules(struct conf_ctx *cx, const config_setting_t *list, conf_key_cb key,
    conf_done_cb done)
{
	const config_setting_t *s;
	const char *what = config_setting_name(list);
	struct conf_rule cr;
	int i;

	if (!config_setting_is_list(list)) {
		conf_error(
		    cx, list, "%s: must be a list ( { ... }, ... )", what);
		return;
	}
	for (i = 0; (s = config_setting_get_elem(list, (unsigned)i)) != NULL;
	     i++) {
		if (!config_setting_is_group(s))
			conf_error(cx, s,
			    "%s: each rule must be a group "
			    "{ ... }",
			    what);
		else {
			memset(&cr, 0, sizeof cr);
			conf_each(cx, s, key, &cr);
			done(cx, s, &cr);
		}
	}
}

/* Read one setting of a rate rule { name; per; limit; window; action; }. */
static void
conf_rate_key(
    struct conf_ctx *cx, const config_setting_t *s, const char *k, void *arg)
{
	struct conf_rule *cr = arg;
	const char *v;

	if (strcmp(k, "name") == 0)
		cr->name = conf_rule_name(cx, s);
	else if (strcmp(k, "per") == 0) {
		if ((v = conf_get_string(cx, s)) == NULL)
			return;
		if (rate_per_parse(v, &cr->rate.per) == -1)
			conf_error(cx, s,
			    "per: \"%s\" is not author, ip or thread", v);
		cr->have |= 2;
	} else if (strcmp(k, "limit") == 0) {
		conf_get_long(cx, s, 1, 1000000, &cr->rate.limit);
		cr->have |= 4;
	} else if (strcmp(k, "window") == 0) {
		conf_get_long(cx, s, 1, 86400 * 30, &cr->rate.window);
		cr->have |= 8;
	} else if (strcmp(k, "action") == 0) {
		conf_verdict(cx, s, &cr->rate.action);
		cr->have |= 16;
	} else if (!conf_common_key(cx, s, k, cr))
		conf_error(cx, s, "unknown option %s in a rate rule", k);
}

/* Check a rate rule read from g, and keep it. */
static void
conf_rate(struct conf_ctx *cx, const config_setting_t *g, struct conf_rule *cr)
{
	struct rules_spec *r = &cx->conf->rules;

	/* A name that is not a string is no name: it cannot be copied. */
	if (cr->name != NULL)
		cr->have |= 1;
	if (cr->have != 31) {
		conf_error(cx, g,
		    "rate rule %s: needs name, per, limit, window and action",
		    cr->name != NULL ? cr->name : "?");
		return;
	}
	if (r->nrates == RULES_MAX_RATES) {
		conf_error(
		    cx, g, "too many rate rules (at most %d)", RULES_MAX_RATES);
		return;
	}
	cr->rate.name = xstrdup(cr->name);
	cr->rate.shadow = cr->shadow;
	cr->rate.score = cr->score;
	r->rates[r->nrates++] = cr->rate;
}

/* Read authors.hold_if_rejected { ratio; min; days; }. */
static void
conf_hold_if_rejected(struct conf_ctx *cx, const config_setting_t *g)
{
	struct rules_authors *a = &cx->conf->rules.authors;

	a->hold_if_rejected = 1;
	a->rejected_ratio = 0.3;
	a->rejected_min = 3;
	a->rejected_days = 7;
	conf_each(cx, g, conf_hold_key, NULL);
}

/* Read one setting of authors.hold_if_rejected. */
static void
conf_hold_key(struct conf_ctx *cx, const config_setting_t *s, const char *k,
    UNUSED void *arg)
{
	struct rules_authors *a = &cx->conf->rules.authors;

	if (strcmp(k, "ratio") == 0)
		conf_get_fraction(cx, s, &a->rejected_ratio);
	else if (strcmp(k, "min") == 0)
		conf_get_long(cx, s, 1, 1000000, &a->rejected_min);
	else if (strcmp(k, "days") == 0)
		conf_get_long(cx, s, 1, 90, &a->rejected_days);
	else
		conf_error(
		    cx, s, "unknown option authors.hold_if_rejected.%s", k);
}

/* Read one setting of the authors group. */
static void
conf_authors_key(struct conf_ctx *cx, const config_setting_t *s, const char *k,
    UNUSED void *arg)
{
	struct rules_authors *a = &cx->conf->rules.authors;

	if (strcmp(k, "premod_until_approved") == 0)
		conf_get_long(cx, s, 0, 1000000, &a->premod_until_approved);
	else if (strcmp(k, "hold_if_rejected") == 0)
		conf_hold_if_rejected(cx, s);
	else
		conf_error(cx, s, "unknown option authors.%s", k);
}

/*
 * Warn when the password file is open to others, writable by its group,
 * readable by a group other than modqd's own (root:modq 0640 is the
 * intended set-up), or owned by someone but root or modqd's user.
 */
static void
conf_password_mode(struct conf_ctx *cx, const config_setting_t *s,
    const char *opt, const char *path, const struct stat *st)
{
	mode_t m = st->st_mode & 07777;
	char who[64];

	if ((m & (S_IROTH | S_IWOTH)) != 0)
		snprintf(who, sizeof who, "others");
	else if ((m & S_IWGRP) != 0)
		snprintf(who, sizeof who, "group %u", (unsigned)st->st_gid);
	else if ((m & S_IRGRP) != 0 && st->st_gid != getegid())
		snprintf(who, sizeof who, "group %u (modqd runs as group %u)",
		    (unsigned)st->st_gid, (unsigned)getegid());
	else
		who[0] = '\0';
	if (who[0] != '\0')
		log_warnx("%s:%d: %s: %s: mode %04o lets %s read or write "
		          "it; make it 0600, or 0640 with modqd's group",
		    conf_file(cx, s), conf_line(s), opt, path, (unsigned)m,
		    who);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		log_warnx("%s:%d: %s: %s: owned by uid %u, not by root or by "
		          "the user modqd runs as (uid %u)",
		    conf_file(cx, s), conf_line(s), opt, path,
		    (unsigned)st->st_uid, (unsigned)geteuid());
}

/*
 * Read the first line of the password file into buf (size bytes) with
 * read(2), so no stdio buffer keeps a copy, and drop its line end.
 * Returns its length (size - 1 when the line goes on past buf), or -1
 * with *why set.
 */
static ssize_t
conf_password_read(int fd, char *buf, size_t size, const char **why)
{
	size_t n = 0, len;
	ssize_t r;
	char *nl;

	while (n < size - 1) {
		if ((r = read(fd, buf + n, size - 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			*why = strerror(errno);
			return (-1);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if ((nl = memchr(buf, '\n', n)) == NULL && n == size - 1)
		return ((ssize_t)n);
	len = nl != NULL ? (size_t)(nl - buf) : n;
	while (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		*why = "NUL byte in the password";
		return (-1);
	}
	return ((ssize_t)len);
}

/*
 * Read a password from the file the option opt ("redis.password_file")
 * names, file (its first line), into *out; the file's checks and messages
 * are the same for every password modqd reads.
 */
static void
conf_password(struct conf_ctx *cx, config_setting_t *root, const char *opt,
    const char *file, char **out)
{
	const config_setting_t *s;
	char *path, buf[CONF_PASSWORD_MAX + 3]; /* and "\r\n", NUL */
	const char *why;
	struct stat st;
	ssize_t len;
	int fd;

	if (file == NULL)
		return;
	s = config_setting_lookup(root, opt);
	path = conf_resolve(cx, file);
	if ((fd = rules_open(path, &st, &why)) == -1) {
		conf_error(cx, s, "%s: %s: %s", opt, path, why);
		free(path);
		return;
	}
	conf_password_mode(cx, s, opt, path, &st);
	len = conf_password_read(fd, buf, sizeof buf, &why);
	if (len == -1)
		conf_error(cx, s, "%s: %s: %s", opt, path, why);
	else if (len > CONF_PASSWORD_MAX)
		conf_error(cx, s, "%s: %s: password longer than %d bytes", opt,
		    path, CONF_PASSWORD_MAX);
	else if (len == 0)
		conf_error(cx, s, "%s: %s: empty", opt, path);
	else
		*out = xstrdup(buf);
	close(fd);
	explicit_bzero(buf, sizeof buf);
	free(path);
}

/*
 * Read redis.sentinels, an array of "host:port" strings (an IPv6 address
 * in brackets), into the conf.
 */
static void
conf_sentinels(struct conf_ctx *cx, const config_setting_t *arr)
{
	struct conf *c = cx->conf;
	const config_setting_t *e;
	const char *v, *why, *colon;
	size_t hl;
	int i;

	if (!config_setting_is_array(arr) && !config_setting_is_list(arr)) {
		conf_error(cx, arr,
		    "redis.sentinels: must be an array [ \"host:port\", ... ]");
		return;
	}
	conf_addrs_free(c->sentinels, c->nsentinels);
	c->sentinels = NULL;
	c->nsentinels = 0;
	if (config_setting_length(arr) == 0)
		conf_error(cx, arr, "redis.sentinels: names no sentinel");
	if (config_setting_length(arr) > CONF_SENTINELS_MAX)
		conf_error(cx, arr, "redis.sentinels: more than %d sentinels",
		    CONF_SENTINELS_MAX);
	for (i = 0; (e = config_setting_get_elem(arr, (unsigned)i)) != NULL &&
	     i < CONF_SENTINELS_MAX;
	     i++) {
		if ((v = conf_get_string(cx, e)) == NULL)
			continue;
		if ((why = conf_check_listen(v)) != NULL) {
			conf_error(cx, conf_line(e) != 0 ? e : arr,
			    "redis.sentinels: \"%s\": %s", v, why);
			continue;
		}
		colon = strrchr(v, ':');
		hl = (size_t)(colon - v);
		c->sentinels = xreallocarray(
		    c->sentinels, c->nsentinels + 1, sizeof *c->sentinels);
		c->sentinels[c->nsentinels].host =
		    v[0] == '[' ? xstrndup(v + 1, hl - 2) : xstrndup(v, hl);
		c->sentinels[c->nsentinels].port = strtol(colon + 1, NULL, 10);
		c->nsentinels++;
	}
}

/*
 * Check the Sentinel options against each other: sentinels and master go
 * together, and the sentinels name the primary, so host, port and unix
 * are errors beside them.
 */
static void
conf_sentinels_finish(struct conf_ctx *cx, config_setting_t *root)
{
	static const char *const direct[] = {
	    "redis.host", "redis.port", "redis.unix"};
	const config_setting_t *sl, *ms;
	struct conf *c = cx->conf;
	size_t i;

	sl = config_setting_lookup(root, "redis.sentinels");
	ms = config_setting_lookup(root, "redis.master");
	if (sl != NULL && ms == NULL)
		conf_error(cx, sl, "redis.sentinels needs redis.master");
	if (ms != NULL && sl == NULL)
		conf_error(cx, ms, "redis.master needs redis.sentinels");
	if (c->sentinel_user != NULL && c->sentinel_password_file == NULL)
		conf_error(cx,
		    config_setting_lookup(root, "redis.sentinel_user"),
		    "redis.sentinel_user needs redis.sentinel_password_file");
	if (sl == NULL) {
		if (c->sentinel_password_file != NULL)
			conf_error(cx,
			    config_setting_lookup(
			        root, "redis.sentinel_password_file"),
			    "redis.sentinel_password_file needs "
			    "redis.sentinels");
		return;
	}
	for (i = 0; i < sizeof direct / sizeof direct[0]; i++) {
		if ((ms = config_setting_lookup(root, direct[i])) != NULL)
			conf_error(cx, ms,
			    "%s: not with redis.sentinels (the sentinels "
			    "name the primary)",
			    direct[i]);
	}
	conf_password(cx, root, "redis.sentinel_password_file",
	    c->sentinel_password_file, &c->sentinel_password);
}

/* Free an array of addresses. */
static void
conf_addrs_free(struct conf_addr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i].host);
	free(a);
}

/* Tell whether two confs name the same sentinels, in the same order. */
static int
conf_addrs_equal(const struct conf *a, const struct conf *b)
{
	size_t i;

	if (a->nsentinels != b->nsentinels)
		return (0);
	for (i = 0; i < a->nsentinels; i++) {
		if (strcmp(a->sentinels[i].host, b->sentinels[i].host) != 0 ||
		    a->sentinels[i].port != b->sentinels[i].port)
			return (0);
	}
	return (1);
}

/*
 * With redis.cluster, check the options a cluster cannot have (a unix
 * socket: the nodes name each other by host and port; a database other
 * than 0: a cluster has only one), and that the prefix gives every key of
 * the site one hash slot.
 */
static void
conf_cluster(struct conf_ctx *cx, config_setting_t *root)
{
	struct conf *c = cx->conf;
	const config_setting_t *s, *p;
	size_t len;

	if (!c->redis_cluster)
		return;
	s = config_setting_lookup(root, "redis.cluster");
	if (c->redis_unix != NULL)
		conf_error(cx, config_setting_lookup(root, "redis.unix"),
		    "redis.unix: a Redis Cluster is reached by host and port "
		    "(redis.host, redis.port: any of its nodes), not a unix "
		    "socket");
	if (c->redis_db != 0)
		conf_error(cx, config_setting_lookup(root, "redis.db"),
		    "redis.db: a Redis Cluster has database 0 only; drop "
		    "redis.db or set it to 0");
	if (c->nsentinels > 0)
		conf_error(cx, config_setting_lookup(root, "redis.sentinels"),
		    "redis.sentinels: not with redis.cluster (a cluster "
		    "fails over by itself; name any of its nodes in "
		    "redis.host and redis.port)");
	if (conf_hash_tag(c->prefix, &len) != NULL)
		return;
	if ((p = config_setting_lookup(root, "redis.prefix")) != NULL) {
		if (config_setting_type(p) != CONFIG_TYPE_STRING ||
		    strcmp(config_setting_get_string(p), c->prefix) != 0)
			return; /* refused already */
		s = p;
	}
	conf_error(cx, s,
	    "redis.prefix: \"%s\" has no hash tag: in a Redis Cluster all "
	    "keys of a site must hash to one slot; put a tag in braces in "
	    "it, e.g. prefix = \"{%s}\" or \"modq:{news}\"",
	    c->prefix, c->prefix);
}

/* Fill computed defaults and check options against each other. */
static void
conf_finish(struct conf_ctx *cx, config_setting_t *root)
{
	struct conf *c = cx->conf;
	const config_setting_t *where;
	char host[HOST_NAME_MAX + 1];
	size_t n;

	if (c->consumer == NULL) {
		if (gethostname(host, sizeof host) == -1)
			strncpy(host, "modqd", sizeof host);
		host[sizeof host - 1] = '\0';
		n = strspn(host, CONF_NAME_CHARS);
		host[n > 64 ? 64 : n] = '\0';
		c->consumer = xstrdup(host[0] != '\0' ? host : "modqd");
	}
	if (strcmp(c->format, "text") == 0) /* the rules' default is html */
		c->rules.format = RULES_FORMAT_TEXT;
	conf_cluster(cx, root);
	if (c->redis_user != NULL && c->redis_password_file == NULL)
		conf_error(cx, config_setting_lookup(root, "redis.user"),
		    "redis.user needs redis.password_file");
	if (c->batch > c->max_inflight) {
		where = config_setting_lookup(root, "queue.batch");
		if (where == NULL)
			where =
			    config_setting_lookup(root, "queue.max_inflight");
		conf_error(cx, where,
		    "queue.batch (%ld) is larger than "
		    "queue.max_inflight (%ld)",
		    c->batch, c->max_inflight);
	}
	conf_password(cx, root, "redis.password_file", c->redis_password_file,
	    &c->redis_password);
	conf_sentinels_finish(cx, root);
	conf_content_finish(cx, root);
}

/* Free what one conf_load() run kept. */
static void
conf_ctx_free(struct conf_ctx *cx)
{
	freev(cx->files, cx->nfiles);
	free(cx->dir);
	free(cx->errors);
}

/*
 * Read the config at path into a fresh *c.  Returns -1 with *cause holding
 * every error, one "file:line: ..." a line, and *c what could be read
 * (the caller frees it).
 */
static int
conf_parse(const char *path, struct conf *c, char **cause)
{
	struct conf_ctx cx;
	config_t cfg;
	config_setting_t *root;
	const config_setting_t *s;
	const char *k, *slash;
	size_t i;
	int n;

	memset(c, 0, sizeof *c);
	memset(&cx, 0, sizeof cx);
	cx.path = path;
	cx.conf = c;
	c->path = xstrdup(path);
	slash = strrchr(path, '/');
	cx.dir = slash != NULL
	    ? xstrndup(path, (size_t)(slash - path) + (slash == path))
	    : xstrdup(".");
	conf_defaults(c);
	config_init(&cfg);
	config_set_include_dir(&cfg, cx.dir);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			xasprintf(cause, "%s: %s", path, strerror(errno));
		else
			xasprintf(cause, "%s:%d: %s",
			    conf_resolve_name(&cx, config_error_file(&cfg)),
			    config_error_line(&cfg), config_error_text(&cfg));
		goto fail;
	}
	root = config_root_setting(&cfg);
	for (n = 0; (s = config_setting_get_elem(root, (unsigned)n)) != NULL;
	     n++) {
		k = config_setting_name(s);
		for (i = 0; i < sizeof conf_groups / sizeof conf_groups[0]; i++)
			if (strcmp(k, conf_groups[i]) == 0)
				break;
		if (i < sizeof conf_groups / sizeof conf_groups[0])
			conf_each(&cx, s, conf_option, NULL);
		else if (strcmp(k, "keywords") == 0)
			conf_rules(&cx, s, conf_keyword_key, conf_keyword);
		else if (strcmp(k, "allow") == 0)
			conf_entries(&cx, s, &c->rules.allow, &c->rules.nallow);
		else if (strcmp(k, "rates") == 0)
			conf_rules(&cx, s, conf_rate_key, conf_rate);
		else if (strcmp(k, "authors") == 0)
			conf_each(&cx, s, conf_authors_key, NULL);
		else if (conf_content(&cx, s, k))
			;
		else
			conf_error(&cx, s, "unknown option %s", k);
	}
	conf_finish(&cx, root);
	if (cx.errors != NULL) {
		*cause = cx.errors;
		cx.errors = NULL;
		goto fail;
	}
	config_destroy(&cfg);
	conf_ctx_free(&cx);
	return (0);
fail:
	config_destroy(&cfg);
	conf_ctx_free(&cx);
	return (-1);
}

/*
 * Load the config at path into a fresh *c (the live one is never touched).
 * Returns -1 with *cause holding every error, one "file:line: ..." a line.
 */
int
conf_load(const char *path, struct conf *c, char **cause)
{
	if (conf_parse(path, c, cause) == -1) {
		conf_free(c);
		return (-1);
	}
	conf_keys(c, &c->keys);
	return (0);
}

/*
 * Load the config at path into a fresh *c and build its ruleset, as modqd
 * -n, startup and reload do.  Returns -1 with *cause holding every error:
 * those of the config first, then those of compiling the keyword entries
 * that could be read, so that one run shows them all.
 */
int
conf_load_rules(
    const char *path, struct conf *c, struct ruleset **rs, char **cause)
{
	char *conf_errors, *more = NULL;

	if (conf_parse(path, c, cause) == -1) {
		if (rules_check(&c->rules, &more) == -1) {
			conf_errors = *cause;
			xasprintf(cause, "%s\n%s", conf_errors, more);
			free(conf_errors);
			free(more);
		}
		conf_free(c);
		return (-1);
	}
	conf_keys(c, &c->keys);
	if (rules_build(&c->rules, rs, cause) == -1) {
		conf_free(c);
		return (-1);
	}
	return (0);
}

/* Free everything a conf holds. */
void
conf_free(struct conf *c)
{
	const struct conf_opt *o;
	size_t i;

	for (i = 0; i < sizeof conf_opts / sizeof conf_opts[0]; i++) {
		o = &conf_opts[i];
		if (o->type == CONF_STRING)
			free(*(char **)((char *)c + o->off));
	}
	if (c->redis_password != NULL)
		explicit_bzero(c->redis_password, strlen(c->redis_password));
	free(c->redis_password);
	if (c->sentinel_password != NULL)
		explicit_bzero(
		    c->sentinel_password, strlen(c->sentinel_password));
	free(c->sentinel_password);
	conf_addrs_free(c->sentinels, c->nsentinels);
	free(c->path);
	rules_spec_free(&c->rules);
	conf_keys_free(&c->keys);
	memset(c, 0, sizeof *c);
}

/* Replace the secret *new with a copy of old, wiping it first. */
static void
conf_carry_secret(const char *old, char **new)
{
	if (*new != NULL)
		explicit_bzero(*new, strlen(*new));
	free(*new);
	*new = old != NULL ? xstrdup(old) : NULL;
}

/* Carry redis.sentinels, a list the option table does not hold. */
static void
conf_carry_sentinels(const struct conf *old, struct conf *new)
{
	size_t i;

	if (conf_addrs_equal(old, new))
		return;
	log_warnx("%s: redis.sentinels changed; it takes effect at the next "
	          "restart",
	    new->path);
	conf_addrs_free(new->sentinels, new->nsentinels);
	new->sentinels = NULL;
	new->nsentinels = old->nsentinels;
	if (old->nsentinels == 0)
		return;
	new->sentinels =
	    xreallocarray(NULL, old->nsentinels, sizeof *new->sentinels);
	for (i = 0; i < old->nsentinels; i++) {
		new->sentinels[i].host = xstrdup(old->sentinels[i].host);
		new->sentinels[i].port = old->sentinels[i].port;
	}
}

/*
 * Carry the running values of restart-only options into a reloaded conf,
 * warning about each one the file changed, so a reload never half-applies
 * a connection or naming change.
 */
void
conf_carry(const struct conf *old, struct conf *new)
{
	const struct conf_opt *o;
	const char *a;
	char **b;
	size_t i;

	for (i = 0; i < sizeof conf_opts / sizeof conf_opts[0]; i++) {
		o = &conf_opts[i];
		if (o->reload)
			continue;
		if (o->type != CONF_STRING) {
			if (*(const long *)((const char *)old + o->off) ==
			    *(long *)((char *)new + o->off))
				continue;
			*(long *)((char *)new + o->off) =
			    *(const long *)((const char *)old + o->off);
		} else {
			a = *(char *const *)((const char *)old + o->off);
			b = (char **)((char *)new + o->off);
			if ((a == NULL && *b == NULL) ||
			    (a != NULL && *b != NULL && strcmp(a, *b) == 0))
				continue;
			free(*b);
			*b = a != NULL ? xstrdup(a) : NULL;
		}
		log_warnx("%s: %s.%s changed; it takes effect at the next "
		          "restart",
		    new->path, o->group, o->name);
	}
	conf_carry_sentinels(old, new);
	conf_carry_secret(old->redis_password, &new->redis_password);
	conf_carry_secret(old->sentinel_password, &new->sentinel_password);
	conf_keys_free(&new->keys);
	conf_keys(new, &new->keys);
}

/* Build the keys of the configured prefix and stream, in one block. */
void
conf_keys(const struct conf *c, struct keys *k)
{
	static const char *const suffix[] = {
	    NULL, "held", "decisions", "stats", "dead", "texts", "conf"};
	char **dst[] = {&k->stream, &k->held, &k->decisions, &k->stats,
	    &k->dead, &k->texts, &k->conf};
	size_t i, n = 0, len = strlen(c->prefix) + 1;
	char *p;

	for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
		n +=
		    len + strlen(suffix[i] != NULL ? suffix[i] : c->stream) + 1;
	p = k->buf = xmalloc(n);
	for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		*dst[i] = p;
		p += sprintf(p, "%s:%s", c->prefix,
		         suffix[i] != NULL ? suffix[i] : c->stream) +
		    1;
	}
}

/* Free what conf_keys() built. */
void
conf_keys_free(struct keys *k)
{
	free(k->buf);
	memset(k, 0, sizeof *k);
}
