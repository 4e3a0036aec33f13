/*
 * test_conf.c -- good configs load with their defaults; bad ones fail with
 * the expected "file:line: what is wrong", every problem of a file at once.
 * Configs are written to a temp dir; tests/conf/example.conf is the example
 * of modqd.conf(5) with more options set, its word list and password file
 * next to it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define EXAMPLE "tests/conf/example.conf"

static char tmpdir[] = "/tmp/modq-test-conf.XXXXXX";

/* An integer option of the table, with its range. */
struct int_opt {
	const char *group;
	const char *name;
	long min;
	long max;
	size_t off;
};

#define OFF(f) offsetof(struct conf, f)
static const struct int_opt int_opts[] = {
    {"redis", "port", 1, 65535, OFF(redis_port)},
    {"redis", "db", 0, 65535, OFF(redis_db)},
    {"redis", "timeout_ms", 10, 600000, OFF(timeout_ms)},
    {"redis", "sentinel_timeout_ms", 10, 60000, OFF(sentinel_timeout_ms)},
    {"queue", "batch", 1, 4096, OFF(batch)},
    {"queue", "max_body", 16, 16777216, OFF(max_body)},
    {"queue", "claim_idle_ms", 100, 86400000, OFF(claim_idle_ms)},
    {"queue", "max_deliveries", 1, 1000, OFF(max_deliveries)},
    {"queue", "max_inflight", 1, 65536, OFF(max_inflight)},
    {"queue", "shutdown_timeout_ms", 0, 600000, OFF(shutdown_timeout_ms)},
    {"decisions", "ttl_days", 1, 3650, OFF(ttl_days)},
    {"decisions", "maxlen", 1000, 1000000000, OFF(maxlen)},
};
#undef OFF

/* Give the path of name in the temp dir (one of eight static buffers). */
static const char *
tpath(const char *name)
{
	static char paths[8][PATH_MAX];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return (p);
}

/* Write len bytes to name in the temp dir; returns the path. */
static const char *
write_bytes(const char *name, const char *data, size_t len)
{
	const char *path = tpath(name);
	FILE *f;

	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return (path);
}

/* Write text to name in the temp dir; returns the path. */
static const char *
write_conf(const char *name, const char *text)
{
	return (write_bytes(name, text, strlen(text)));
}

/* Expand a template: '@' is the config path, '~' the temp dir. */
static char *
expand(const char *tmpl, const char *path)
{
	size_t len = 1, n = 0;
	const char *t;
	char *out;

	for (t = tmpl; *t != '\0'; t++)
		len += *t == '@' ? strlen(path)
		    : *t == '~'  ? strlen(tmpdir)
		                 : 1;
	out = xmalloc(len);
	for (t = tmpl; *t != '\0'; t++) {
		if (*t == '@') {
			memcpy(out + n, path, strlen(path));
			n += strlen(path);
		} else if (*t == '~') {
			memcpy(out + n, tmpdir, strlen(tmpdir));
			n += strlen(tmpdir);
		} else
			out[n++] = *t;
	}
	out[n] = '\0';
	return (out);
}

/* Load the config at path; it must fail with exactly want (expanded). */
static void
path_fails(const char *path, const char *want)
{
	struct conf c;
	char *cause = NULL, *w;

	if (conf_load(path, &c, &cause) != -1) {
		conf_free(&c);
		fail_msg("%s loaded", path);
	}
	assert_non_null(cause);
	w = expand(want, path);
	assert_string_equal(cause, w);
	free(w);
	free(cause);
}

/* Load text as t.conf; it must fail with exactly want (expanded). */
static void
conf_fails(const char *text, const char *want)
{
	path_fails(write_conf("t.conf", text), want);
}

/* Load text as t.conf into c; it must succeed. */
static void
conf_ok(const char *text, struct conf *c)
{
	char *cause = NULL;

	if (conf_load(write_conf("t.conf", text), c, &cause) != 0)
		fail_msg("load failed: %s", cause);
	assert_null(cause);
}

/* Count the lines of an error text. */
static size_t
count_lines(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return (n);
}

/* Give the value of an integer option. */
static long
int_value(const struct conf *c, const struct int_opt *o)
{
	return (*(const long *)((const char *)c + o->off));
}

/* The consumer name conf.c derives from the host name. */
static char *
default_consumer(void)
{
	char host[HOST_NAME_MAX + 1];
	size_t n;

	if (gethostname(host, sizeof host) == -1)
		strncpy(host, "modqd", sizeof host);
	host[sizeof host - 1] = '\0';
	n = strspn(host,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:"
	    "-");
	host[n > 64 ? 64 : n] = '\0';
	return (xstrdup(host[0] != '\0' ? host : "modqd"));
}

static void
test_defaults(void **state)
{
	struct conf c;
	char *cause = NULL, *consumer;
	const char *p = write_conf("empty.conf", "");

	(void)state;
	assert_int_equal(conf_load(p, &c, &cause), 0);
	assert_string_equal(c.path, p);
	assert_string_equal(c.redis_host, "127.0.0.1");
	assert_int_equal(c.redis_port, 6379);
	assert_null(c.redis_unix);
	assert_null(c.redis_user);
	assert_null(c.redis_password_file);
	assert_null(c.redis_password);
	assert_int_equal(c.redis_db, 0);
	assert_null(c.sentinels);
	assert_int_equal(c.nsentinels, 0);
	assert_null(c.sentinel_master);
	assert_null(c.sentinel_user);
	assert_null(c.sentinel_password_file);
	assert_null(c.sentinel_password);
	assert_int_equal(c.sentinel_timeout_ms, 500);
	assert_string_equal(c.prefix, "modq");
	assert_int_equal(c.timeout_ms, 2000);
	assert_string_equal(c.stream, "incoming");
	assert_string_equal(c.group, "modqd");
	consumer = default_consumer();
	assert_string_equal(c.consumer, consumer);
	free(consumer);
	assert_int_equal(c.batch, 256);
	assert_int_equal(c.max_body, 65536);
	assert_int_equal(c.claim_idle_ms, 60000);
	assert_int_equal(c.max_deliveries, 5);
	assert_int_equal(c.max_inflight, 1024);
	assert_int_equal(c.shutdown_timeout_ms, 10000);
	assert_int_equal(c.trim, 1);
	assert_string_equal(c.format, "html");
	assert_int_equal(c.rules.format, RULES_FORMAT_HTML);
	assert_int_equal(c.ttl_days, 30);
	assert_int_equal(c.maxlen, 1000000);
	assert_null(c.metrics_listen);
	assert_int_equal(c.log_decisions, 1);
	assert_string_equal(c.log_target, "auto");
	conf_free(&c);
}

static void
test_defaults_rules(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("# nothing but a comment\n", &c);
	assert_int_equal(c.rules.nlists, 0);
	assert_null(c.rules.lists);
	assert_int_equal(c.rules.nallow, 0);
	assert_int_equal(c.rules.nrates, 0);
	assert_int_equal(c.rules.authors.premod_until_approved, 0);
	assert_int_equal(c.rules.authors.hold_if_rejected, 0);
	assert_int_equal(c.rules.authors.rejected_min, 0);
	assert_int_equal(c.rules.authors.rejected_days, 0);
	conf_free(&c);
}

static void
test_empty_groups(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("redis: { };\nqueue: { };\ndecisions: { };\nmetrics: { };\n"
	        "log: { };\nauthors: { };\nkeywords: ( );\nrates: ( );\n"
	        "allow = [ ];\n",
	    &c);
	assert_string_equal(c.redis_host, "127.0.0.1");
	assert_int_equal(c.batch, 256);
	assert_int_equal(c.rules.nlists, 0);
	assert_int_equal(c.rules.nrates, 0);
	assert_int_equal(c.rules.authors.hold_if_rejected, 0);
	conf_free(&c);
}

static void
test_example(void **state)
{
	struct conf c;
	struct rules_spec *r = &c.rules;
	char *cause = NULL;

	(void)state;
	if (conf_load(EXAMPLE, &c, &cause) != 0)
		fail_msg("%s", cause);
	assert_string_equal(c.path, EXAMPLE);
	assert_string_equal(c.redis_host, "10.0.0.5");
	assert_int_equal(c.redis_port, 6380);
	assert_null(c.redis_unix);
	assert_string_equal(c.redis_user, "modqd");
	assert_string_equal(c.redis_password_file, "redis.pass");
	assert_string_equal(c.redis_password, "s3cret-pass");
	assert_int_equal(c.redis_db, 3);
	assert_string_equal(c.prefix, "modq-test");
	assert_int_equal(c.timeout_ms, 2500);
	assert_string_equal(c.stream, "incoming");
	assert_string_equal(c.group, "modqd");
	assert_int_equal(c.batch, 128);
	assert_int_equal(c.max_body, 65536);
	assert_int_equal(c.claim_idle_ms, 30000);
	assert_int_equal(c.max_deliveries, 7);
	assert_int_equal(c.ttl_days, 30);
	assert_int_equal(c.maxlen, 1000000);
	assert_string_equal(c.metrics_listen, "127.0.0.1:9187");
	assert_int_equal(c.log_decisions, 0);

	assert_int_equal(r->nlists, 4);
	assert_string_equal(r->lists[0].name, "slurs");
	assert_int_equal(r->lists[0].action, RULES_REJECT);
	assert_int_equal(r->lists[0].match, RULES_MATCH_WORD);
	assert_string_equal(r->lists[0].file, EXAMPLE);
	assert_int_equal(r->lists[0].line, 19);
	assert_int_equal(r->lists[0].nentries, 2);
	assert_string_equal(r->lists[0].entries[0].text, "ass");
	assert_string_equal(
	    r->lists[0].entries[0].file, "tests/conf/lists/slurs.txt");
	assert_int_equal(r->lists[0].entries[0].line, 3);
	assert_string_equal(r->lists[0].entries[1].text, "dyke");
	assert_int_equal(r->lists[0].entries[1].line, 4);
	assert_string_equal(r->lists[1].name, "threats");
	assert_int_equal(r->lists[1].action, RULES_REJECT);
	assert_int_equal(r->lists[1].nentries, 2);
	assert_string_equal(r->lists[1].entries[0].text, "kill you");
	assert_string_equal(r->lists[1].entries[0].file, EXAMPLE);
	assert_int_equal(r->lists[1].entries[0].line, 20);
	assert_string_equal(r->lists[1].entries[1].text, "behead*");
	assert_string_equal(r->lists[2].name, "watch");
	assert_int_equal(r->lists[2].action, RULES_HOLD);
	assert_string_equal(r->lists[2].entries[1].text, "/isi\\s+agents?/");
	assert_string_equal(r->lists[3].name, "urls");
	assert_int_equal(r->lists[3].match, RULES_MATCH_SUBSTRING);
	assert_string_equal(r->lists[3].entries[0].text, "bit.ly/");
	assert_int_equal(r->nallow, 2);
	assert_string_equal(r->allow[0].text, "scunthorpe");
	assert_string_equal(r->allow[1].text, "van dyke");
	assert_int_equal(r->allow[1].line, 24);

	assert_int_equal(r->nrates, 3);
	assert_string_equal(r->rates[0].name, "author-flood");
	assert_int_equal(r->rates[0].per, RULES_PER_AUTHOR);
	assert_int_equal(r->rates[0].limit, 1);
	assert_int_equal(r->rates[0].window, 15);
	assert_int_equal(r->rates[0].action, RULES_HOLD);
	assert_string_equal(r->rates[1].name, "ip-flood");
	assert_int_equal(r->rates[1].per, RULES_PER_IP);
	assert_int_equal(r->rates[1].limit, 30);
	assert_int_equal(r->rates[1].window, 60);
	assert_int_equal(r->rates[1].action, RULES_REJECT);
	assert_string_equal(r->rates[2].name, "thread-surge");
	assert_int_equal(r->rates[2].per, RULES_PER_THREAD);
	assert_int_equal(r->rates[2].limit, 300);

	assert_int_equal(r->authors.premod_until_approved, 2);
	assert_int_equal(r->authors.hold_if_rejected, 1);
	assert_true(r->authors.rejected_ratio == 0.25);
	assert_int_equal(r->authors.rejected_min, 4);
	assert_int_equal(r->authors.rejected_days, 10);
	conf_free(&c);
}

static void
test_example_builds(void **state)
{
	struct conf c;
	struct ruleset *rs;
	struct rules_match m;
	char *cause = NULL;

	(void)state;
	if (conf_load(EXAMPLE, &c, &cause) != 0)
		fail_msg("%s", cause);
	if (rules_build(&c.rules, &rs, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(rules_nrates(rs), 3);
	assert_int_equal(rules_npatterns(rs), 9);
	assert_int_equal(
	    rules_match_text(rs, "you ass, I will kill you", 24, &m), 0);
	assert_int_equal(m.verdict, RULES_REJECT);
	assert_string_equal(m.reasons, "slurs threats");
	assert_string_equal(m.matched, "slurs:\"ass\" threats:\"kill you\"");
	rules_match_free(&m);
	rules_unref(rs);
	conf_free(&c);
}

static void
test_unix_socket(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("redis: { unix = \"/run/redis/redis-server.sock\"; };\n", &c);
	assert_string_equal(c.redis_unix, "/run/redis/redis-server.sock");
	assert_string_equal(c.redis_host, "127.0.0.1");
	conf_free(&c);
}

static void
test_range_errors(void **state)
{
	const struct int_opt *o;
	char *text, *want;
	size_t i;
	long bad[2];
	int k;

	(void)state;
	for (i = 0; i < sizeof int_opts / sizeof int_opts[0]; i++) {
		o = &int_opts[i];
		bad[0] = o->min - 1;
		bad[1] = o->max + 1;
		for (k = 0; k < 2; k++) {
			xasprintf(&text, "%s: {\n\n  %s = %ld;\n};\n", o->group,
			    o->name, bad[k]);
			xasprintf(&want,
			    "@:3: %s: %ld is out of range (%ld to %ld)",
			    o->name, bad[k], o->min, o->max);
			conf_fails(text, want);
			free(text);
			free(want);
		}
	}
}

static void
test_range_bounds(void **state)
{
	const struct int_opt *o;
	struct conf c;
	char *text;
	size_t i;
	long v[2];
	int k;

	(void)state;
	for (i = 0; i < sizeof int_opts / sizeof int_opts[0]; i++) {
		o = &int_opts[i];
		v[0] = o->min;
		v[1] = o->max;
		for (k = 0; k < 2; k++) {
			/* Keep queue.batch <= queue.max_inflight. */
			xasprintf(&text, "%s: { %s = %ld; %s };\n", o->group,
			    o->name, v[k],
			    strcmp(o->name, "batch") == 0
			        ? "max_inflight = 65536;"
			        : strcmp(o->name, "max_inflight") == 0
			        ? "batch = 1;"
			        : "");
			conf_ok(text, &c);
			assert_int_equal(int_value(&c, o), v[k]);
			conf_free(&c);
			free(text);
		}
	}
}

static void
test_range_int64(void **state)
{
	(void)state;
	conf_fails("decisions: { maxlen = 5000000000L; };\n",
	    "@:1: maxlen: 5000000000 is out of range (1000 to 1000000000)");
	conf_fails("redis: { port = 70000L; };\n",
	    "@:1: port: 70000 is out of range (1 to 65535)");
	conf_fails("redis: {\n  db = -1;\n};\n",
	    "@:2: db: -1 is out of range (0 to 65535)");
}

static void
test_int64_value(void **state)
{
	struct conf c;

	(void)state;
	conf_ok(
	    "decisions: { maxlen = 5000L; };\nredis: { port = 7000L; };\n", &c);
	assert_int_equal(c.maxlen, 5000);
	assert_int_equal(c.redis_port, 7000);
	conf_free(&c);
}

static void
test_integer_type_errors(void **state)
{
	(void)state;
	conf_fails("redis: {\n  port = \"6379\";\n};\n",
	    "@:2: port: must be an integer");
	conf_fails(
	    "queue: { batch = 1.5; };\n", "@:1: batch: must be an integer");
	conf_fails("queue: { max_body = 1e3; };\n",
	    "@:1: max_body: must be an integer");
	conf_fails("decisions: { ttl_days = true; };\n",
	    "@:1: ttl_days: must be an integer");
	conf_fails("queue: { claim_idle_ms = [ 1 ]; };\n",
	    "@:1: claim_idle_ms: must be an integer");
}

static void
test_string_type_errors(void **state)
{
	(void)state;
	conf_fails(
	    "redis: {\n  host = 5;\n};\n", "@:2: host: must be a string");
	conf_fails("redis: { unix = true; };\n", "@:1: unix: must be a string");
	conf_fails(
	    "redis: { prefix = 1.0; };\n", "@:1: prefix: must be a string");
	conf_fails(
	    "metrics: { listen = 9187; };\n", "@:1: listen: must be a string");
	conf_fails(
	    "queue: { group = ( \"a\" ); };\n", "@:1: group: must be a string");
}

static void
test_log_decisions(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("log: { decisions = false; };\n", &c);
	assert_int_equal(c.log_decisions, 0);
	conf_free(&c);
	conf_ok("log: { decisions = true; };\n", &c);
	assert_int_equal(c.log_decisions, 1);
	conf_free(&c);
	conf_fails("log: {\n  decisions = 1;\n};\n",
	    "@:2: log.decisions: must be true or false");
	conf_fails("log: { decisions = \"yes\"; };\n",
	    "@:1: log.decisions: must be true or false");
}

static void
test_log_target(void **state)
{
	static const char *const targets[] = {
	    "auto", "stderr", "syslog", "journal"};
	struct conf c;
	char text[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
		snprintf(text, sizeof text, "log: { target = \"%s\"; };\n",
		    targets[i]);
		conf_ok(text, &c);
		assert_string_equal(c.log_target, targets[i]);
		conf_free(&c);
	}
	conf_fails(
	    "log: {\n  decisions = true;\n  target = \"journald\";\n};\n",
	    "@:3: log.target: must be \"auto\", \"stderr\", \"syslog\" or "
	    "\"journal\"");
	conf_fails("log: { target = \"\"; };\n",
	    "@:1: log.target: must be \"auto\", \"stderr\", \"syslog\" or "
	    "\"journal\"");
	conf_fails("log: { target = 1; };\n", "@:1: target: must be a string");
}

static void
test_queue_trim(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("queue: { trim = false; };\n", &c);
	assert_int_equal(c.trim, 0);
	conf_free(&c);
	conf_ok("queue: { trim = true; };\n", &c);
	assert_int_equal(c.trim, 1);
	conf_free(&c);
	conf_fails("queue: {\n  batch = 8;\n  trim = 0;\n};\n",
	    "@:3: queue.trim: must be true or false");
}

/* Judge text with the keyword "kill" in the given queue.format. */
static enum rules_verdict
format_verdict(const char *format, const char *text)
{
	struct rules_match m;
	struct ruleset *rs;
	struct conf c;
	enum rules_verdict v;
	char *conf, *cause = NULL;

	xasprintf(&conf,
	    "queue: { format = \"%s\"; };\n"
	    "keywords: ( { name = \"k\"; action = \"reject\"; "
	    "words = [ \"kill\" ]; } );\n",
	    format);
	conf_ok(conf, &c);
	free(conf);
	if (rules_build(&c.rules, &rs, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(rules_match_text(rs, text, strlen(text), &m), 0);
	v = m.verdict;
	rules_match_free(&m);
	rules_unref(rs);
	conf_free(&c);
	return (v);
}

static void
test_queue_format(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("queue: { format = \"text\"; };\n", &c);
	assert_string_equal(c.format, "text");
	assert_int_equal(c.rules.format, RULES_FORMAT_TEXT);
	conf_free(&c);
	conf_ok("queue: { format = \"html\"; };\n", &c);
	assert_string_equal(c.format, "html");
	assert_int_equal(c.rules.format, RULES_FORMAT_HTML);
	conf_free(&c);
	/* The ruleset reads the body in the configured format. */
	assert_int_equal(format_verdict("html", "&#107;ill"), RULES_REJECT);
	assert_int_equal(format_verdict("text", "&#107;ill"), RULES_APPROVE);
	assert_int_equal(format_verdict("html", "<kill you>"), RULES_REJECT);
	assert_int_equal(format_verdict("text", "<kill you>"), RULES_REJECT);
	conf_fails("queue: {\n  batch = 8;\n  format = \"markdown\";\n};\n",
	    "@:3: queue.format: must be \"html\" or \"text\"");
	conf_fails("queue: { format = \"HTML\"; };\n",
	    "@:1: queue.format: must be \"html\" or \"text\"");
	conf_fails("queue: { format = \"\"; };\n",
	    "@:1: queue.format: must be \"html\" or \"text\"");
	conf_fails(
	    "queue: {\n  format = 1;\n};\n", "@:2: format: must be a string");
}

static void
test_name_options(void **state)
{
	static const char *const opts[][2] = {{"redis", "prefix"},
	    {"queue", "stream"}, {"queue", "group"}, {"queue", "consumer"}};
	static const char *const bad[] = {"", "a b", "a/b", "caf\xc3\xa9",
	    "a{b}",
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4"};
	struct conf c;
	char *text, *want;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		for (j = 0; j < sizeof bad / sizeof bad[0]; j++) {
			if (i == 0 && strcmp(bad[j], "a{b}") == 0)
				continue; /* a prefix may hold a hash tag */
			xasprintf(&text, "%s: { %s = \"%s\"; };\n", opts[i][0],
			    opts[i][1], bad[j]);
			xasprintf(&want,
			    "@:1: %s.%s: must be 1 to 64 characters of "
			    "A-Z a-z 0-9 . _ : -%s",
			    opts[i][0], opts[i][1], i == 0 ? " { }" : "");
			conf_fails(text, want);
			free(text);
			free(want);
		}
	}
	conf_ok(
	    "redis: { prefix = \"site:modq.v2_A-z\"; };\nqueue: { "
	    "consumer = "
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "\"; };\n",
	    &c);
	assert_string_equal(c.prefix, "site:modq.v2_A-z");
	assert_int_equal(strlen(c.consumer), 64);
	conf_free(&c);
}

/*
 * redis.cluster: a prefix with a hash tag (as Redis reads one: the first
 * { and the next }, not empty), braces allowed in any prefix, and the
 * options a cluster cannot have.
 */
static void
test_cluster(void **state)
{
	static const char *const tagged[][2] = {{"modq:{news}", "news"},
	    {"{news}", "news"}, {"{a}", "a"}, {"x{b}{}", "b"},
	    {"a{b{c}d}", "b{c"}, {"s:{n}:{m}", "n"}};
	static const char *const untagged[] = {
	    "modq", "modq:{}", "modq:}news{", "modq:{news", "a}b", "x{}{b}"};
	struct conf c;
	const char *tag;
	char *text, *want;
	size_t i, len;

	(void)state;
	conf_ok("redis: { };\n", &c);
	assert_int_equal(c.redis_cluster, 0);
	conf_free(&c);
	/* Braces in a prefix without a cluster, tag or not. */
	conf_ok("redis: { prefix = \"news{x\"; };\n", &c);
	assert_string_equal(c.prefix, "news{x");
	assert_string_equal(c.keys.held, "news{x:held");
	conf_free(&c);
	for (i = 0; i < sizeof tagged / sizeof tagged[0]; i++) {
		xasprintf(&text,
		    "redis: {\n  cluster = true;\n  host = \"10.0.0.5\";\n"
		    "  port = 7000;\n  prefix = \"%s\";\n};\n",
		    tagged[i][0]);
		conf_ok(text, &c);
		assert_int_equal(c.redis_cluster, 1);
		assert_string_equal(c.redis_host, "10.0.0.5");
		assert_int_equal(c.redis_port, 7000);
		tag = conf_hash_tag(c.prefix, &len);
		assert_non_null(tag);
		assert_int_equal(len, strlen(tagged[i][1]));
		assert_memory_equal(tag, tagged[i][1], len);
		conf_free(&c);
		free(text);
	}
	for (i = 0; i < sizeof untagged / sizeof untagged[0]; i++) {
		assert_null(conf_hash_tag(untagged[i], &len));
		xasprintf(&text,
		    "redis: {\n  cluster = true;\n  prefix = \"%s\";\n};\n",
		    untagged[i]);
		xasprintf(&want,
		    "@:3: redis.prefix: \"%s\" has no hash tag: in a Redis "
		    "Cluster all keys of a site must hash to one slot; put a "
		    "tag in braces in it, e.g. prefix = \"{%s}\" or "
		    "\"modq:{news}\"",
		    untagged[i], untagged[i]);
		conf_fails(text, want);
		free(text);
		free(want);
	}
	/* The default prefix: the error is at the cluster option. */
	conf_fails("redis: {\n  cluster = true;\n};\n",
	    "@:2: redis.prefix: \"modq\" has no hash tag: in a Redis Cluster "
	    "all keys of a site must hash to one slot; put a tag in braces "
	    "in it, e.g. prefix = \"{modq}\" or \"modq:{news}\"");
	/* A prefix refused for its characters is not reported twice. */
	conf_fails("redis: {\n  cluster = true;\n  prefix = \"a b\";\n};\n",
	    "@:3: redis.prefix: must be 1 to 64 characters of A-Z a-z 0-9 . "
	    "_ : - { }");
	conf_fails("redis: {\n  cluster = true;\n  prefix = \"{n}\";\n"
	           "  unix = \"/run/redis.sock\";\n  db = 2;\n};\n",
	    "@:4: redis.unix: a Redis Cluster is reached by host and port "
	    "(redis.host, redis.port: any of its nodes), not a unix socket\n"
	    "@:5: redis.db: a Redis Cluster has database 0 only; drop "
	    "redis.db or set it to 0");
	conf_fails("redis: {\n  cluster = true;\n  prefix = \"{n}\";\n"
	           "  sentinels = [ \"10.0.0.5:26379\" ];\n  master = \"m\";\n"
	           "};\n",
	    "@:4: redis.sentinels: not with redis.cluster (a cluster fails "
	    "over by itself; name any of its nodes in redis.host and "
	    "redis.port)");
	conf_fails("redis: {\n  cluster = 1;\n};\n",
	    "@:2: redis.cluster: must be true or false");
	/* Without cluster, unix and db stay as they were. */
	conf_ok("redis: { unix = \"/run/r.sock\"; db = 2; prefix = \"a\"; };\n",
	    &c);
	assert_int_equal(c.redis_db, 2);
	conf_free(&c);
}

static void
test_unknown_option(void **state)
{
	(void)state;
	conf_fails("redis: {\n  hots = \"x\";\n};\n",
	    "@:2: unknown option redis.hots");
}

static void
test_unknown_in_each_group(void **state)
{
	(void)state;
	conf_fails("redis: {\n  hots = \"x\";\n};\n"
	           "queue: {\n  bacth = 5;\n};\n"
	           "decisions: {\n  ttl = 5;\n};\n"
	           "metrics: {\n  port = 5;\n};\n"
	           "log: {\n  level = \"debug\";\n};\n",
	    "@:2: unknown option redis.hots\n"
	    "@:5: unknown option queue.bacth\n"
	    "@:8: unknown option decisions.ttl\n"
	    "@:11: unknown option metrics.port\n"
	    "@:14: unknown option log.level");
}

static void
test_unknown_top_level(void **state)
{
	(void)state;
	conf_fails("\n\nkeyword: ( );\n", "@:3: unknown option keyword");
	conf_fails("redis: { };\nfoo = 1;\nallows = [ \"x\" ];\n",
	    "@:2: unknown option foo\n@:3: unknown option allows");
	/* Option names belong in their group, never at the top level. */
	conf_fails("port = 6379;\n", "@:1: unknown option port");
}

static void
test_group_not_a_group(void **state)
{
	(void)state;
	conf_fails("redis = 5;\n", "@:1: redis: must be a group { ... }");
	conf_fails("queue = ( 1 );\n", "@:1: queue: must be a group { ... }");
	conf_fails("authors = 1;\n", "@:1: authors: must be a group { ... }");
	conf_fails("keywords = 5;\n",
	    "@:1: keywords: must be a list ( { ... }, ... )");
	conf_fails("keywords: ( 5 );\n",
	    "@:1: keywords: each rule must be a group { ... }");
	conf_fails(
	    "rates = { };\n", "@:1: rates: must be a list ( { ... }, ... )");
	conf_fails("rates: ( \"r\" );\n",
	    "@:1: rates: each rule must be a group { ... }");
	conf_fails("allow = \"x\";\n",
	    "@:1: allow: must be an array [ \"...\", ... ]");
}

static void
test_keyword_missing_name(void **state)
{
	(void)state;
	conf_fails(
	    "keywords: (\n  { action = \"hold\"; words = [ \"x\" ]; }\n);\n",
	    "@:2: keyword rule without a name");
	conf_fails("keywords: (\n  {\n  }\n);\n",
	    "@:2: keyword rule without a name\n"
	    "@:2: keyword rule ?: no valid action\n"
	    "@:2: keyword rule ?: needs words, file or both");
}

static void
test_keyword_missing_action(void **state)
{
	(void)state;
	conf_fails(
	    "keywords: (\n  { name = \"k\";\n    words = [ \"x\" ]; }\n);\n",
	    "@:2: keyword rule k: no valid action");
}

static void
test_keyword_bad_action(void **state)
{
	(void)state;
	conf_fails("keywords: (\n  { name = \"k\"; words = [ \"x\" ];\n"
	           "    action = \"drop\"; }\n);\n",
	    "@:3: action: \"drop\" is not reject, hold or score\n"
	    "@:2: keyword rule k: no valid action");
	conf_fails("keywords: (\n  { name = \"k\"; words = [ \"x\" ];\n"
	           "    action = \"approve\"; }\n);\n",
	    "@:3: action: \"approve\" is not reject, hold or score\n"
	    "@:2: keyword rule k: no valid action");
	conf_fails("keywords: ( { name = \"k\"; words = [ \"x\" ]; action = 2; "
	           "} );\n",
	    "@:1: action: must be a string\n@:1: keyword rule k: no valid "
	    "action");
	conf_fails("keywords: ( { name = \"k\"; words = [ \"x\" ]; action = "
	           "\"Reject\"; } );\n",
	    "@:1: action: \"Reject\" is not reject, hold or score\n"
	    "@:1: keyword rule k: no valid action");
}

static void
test_keyword_match(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("keywords: (\n"
	        "  { name = \"a\"; action = \"hold\"; words = [ \"x\" ]; },\n"
	        "  { name = \"b\"; action = \"reject\"; match = \"word\"; "
	        "words = [ \"x\" ]; },\n"
	        "  { name = \"c\"; action = \"hold\"; match = \"substring\"; "
	        "words = [ \"x\" ]; }\n);\n",
	    &c);
	assert_int_equal(c.rules.nlists, 3);
	assert_int_equal(c.rules.lists[0].match, RULES_MATCH_WORD);
	assert_int_equal(c.rules.lists[0].action, RULES_HOLD);
	assert_int_equal(c.rules.lists[1].match, RULES_MATCH_WORD);
	assert_int_equal(c.rules.lists[1].action, RULES_REJECT);
	assert_int_equal(c.rules.lists[2].match, RULES_MATCH_SUBSTRING);
	assert_int_equal(c.rules.lists[2].line, 4);
	conf_free(&c);
	conf_fails("keywords: (\n  { name = \"k\"; action = \"hold\"; "
	           "words = [ \"x\" ];\n    match = \"regex\"; }\n);\n",
	    "@:3: match: \"regex\" is not word or substring");
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "words = [ \"x\" ]; match = 1; } );\n",
	    "@:1: match: must be a string");
}

static void
test_keyword_no_words(void **state)
{
	(void)state;
	conf_fails("keywords: (\n  { name = \"k\"; action = \"hold\"; }\n);\n",
	    "@:2: keyword rule k: needs words, file or both");
}

static void
test_keyword_empty_words(void **state)
{
	struct conf c;
	struct ruleset *rs;
	struct rules_match m;
	char *cause = NULL;

	(void)state;
	/* An empty list is allowed: it never fires. */
	conf_ok("keywords: ( { name = \"k\"; action = \"hold\"; words = [ ]; } "
	        ");\n",
	    &c);
	assert_int_equal(c.rules.nlists, 1);
	assert_int_equal(c.rules.lists[0].nentries, 0);
	if (rules_build(&c.rules, &rs, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(rules_match_text(rs, "anything", 8, &m), 0);
	assert_int_equal(m.verdict, RULES_APPROVE);
	assert_string_equal(m.reasons, "");
	rules_match_free(&m);
	rules_unref(rs);
	conf_free(&c);
}

static void
test_keyword_words_type(void **state)
{
	struct conf c;

	(void)state;
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\";\n"
	           "  words = \"x\"; } );\n",
	    "@:2: words: must be an array [ \"...\", ... ]");
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; words = (\n"
	           "  \"x\",\n  5 ); } );\n",
	    "@:3: entry: must be a string");
	/* A list ( ... ) of strings is as good as an array. */
	conf_ok(
	    "keywords: ( { name = \"k\"; action = \"hold\"; words = ( \"x\", "
	    "\"y\" ); } );\n",
	    &c);
	assert_int_equal(c.rules.lists[0].nentries, 2);
	assert_string_equal(c.rules.lists[0].entries[1].text, "y");
	conf_free(&c);
}

static void
test_keyword_entry_lines(void **state)
{
	struct conf c;
	const char *p;
	char *cause = NULL;

	(void)state;
	p = write_conf("lines.conf",
	    "keywords: (\n"
	    "  { name = \"k\"; action = \"hold\";\n"
	    "    words = [ \"one\",\n"
	    "              \"two\",\n"
	    "\n"
	    "              \"three\" ]; }\n"
	    ");\n");
	if (conf_load(p, &c, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(c.rules.lists[0].line, 2);
	assert_string_equal(c.rules.lists[0].file, p);
	assert_int_equal(c.rules.lists[0].nentries, 3);
	assert_int_equal(c.rules.lists[0].entries[0].line, 3);
	assert_int_equal(c.rules.lists[0].entries[1].line, 4);
	assert_int_equal(c.rules.lists[0].entries[2].line, 6);
	assert_string_equal(c.rules.lists[0].entries[2].file, p);
	conf_free(&c);
}

static void
test_keyword_file_not_found(void **state)
{
	char *want;

	(void)state;
	xasprintf(
	    &want, "@:3: file: ~/lists/missing.txt: %s", strerror(ENOENT));
	conf_fails("keywords: (\n  { name = \"k\"; action = \"hold\";\n"
	           "    file = \"lists/missing.txt\"; }\n);\n",
	    want);
	free(want);
	xasprintf(
	    &want, "@:1: file: /nonexistent/modq/x.txt: %s", strerror(ENOENT));
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "file = \"/nonexistent/modq/x.txt\"; } );\n",
	    want);
	free(want);
}

static void
test_keyword_file_relative(void **state)
{
	struct conf c;
	const char *p;
	char *cause = NULL, *list;

	(void)state;
	assert_int_equal(mkdir(tpath("sub"), 0700), 0);
	assert_int_equal(mkdir(tpath("sub/lists"), 0700), 0);
	write_conf("sub/lists/w.txt", "# watch words\nalpha\n\nbeta gamma\n");
	p = write_conf("sub/r.conf",
	    "keywords: ( { name = \"w\"; action = \"hold\"; "
	    "file = \"lists/w.txt\"; } );\n");
	if (conf_load(p, &c, &cause) != 0)
		fail_msg("%s", cause);
	list = expand("~/sub/lists/w.txt", p);
	assert_int_equal(c.rules.lists[0].nentries, 2);
	assert_string_equal(c.rules.lists[0].entries[0].text, "alpha");
	assert_string_equal(c.rules.lists[0].entries[0].file, list);
	assert_int_equal(c.rules.lists[0].entries[0].line, 2);
	assert_string_equal(c.rules.lists[0].entries[1].text, "beta gamma");
	assert_int_equal(c.rules.lists[0].entries[1].line, 4);
	assert_string_equal(c.rules.lists[0].file, p);
	free(list);
	conf_free(&c);
}

static void
test_keyword_file_cwd(void **state)
{
	struct conf c, c2;
	char cwd[PATH_MAX], *cause = NULL, *cause2 = NULL, *want;
	int rc, rc2;

	(void)state;
	/* A config named without a directory resolves lists against ".". */
	assert_non_null(getcwd(cwd, sizeof cwd));
	write_conf("here.txt", "local\n");
	write_conf("rel.conf",
	    "keywords: ( { name = \"a\"; action = \"hold\"; "
	    "file = \"here.txt\"; } );\n");
	write_conf("rel-bad.conf",
	    "keywords: ( { name = \"a\"; action = \"hold\"; "
	    "file = \"gone.txt\"; } );\n");
	assert_int_equal(chdir(tmpdir), 0);
	rc = conf_load("rel.conf", &c, &cause);
	rc2 = conf_load("rel-bad.conf", &c2, &cause2);
	assert_int_equal(chdir(cwd), 0);
	if (rc != 0)
		fail_msg("%s", cause);
	assert_string_equal(c.rules.lists[0].entries[0].text, "local");
	assert_string_equal(c.rules.lists[0].entries[0].file, "./here.txt");
	assert_string_equal(c.rules.lists[0].file, "rel.conf");
	conf_free(&c);
	assert_int_equal(rc2, -1);
	xasprintf(
	    &want, "rel-bad.conf:1: file: ./gone.txt: %s", strerror(ENOENT));
	assert_string_equal(cause2, want);
	free(want);
	free(cause2);
}

static void
test_keyword_file_absolute(void **state)
{
	struct conf c;
	const char *list;
	char *text;

	(void)state;
	list = write_conf("abs.txt", "delta\n");
	xasprintf(&text,
	    "keywords: ( { name = \"a\"; action = \"reject\"; file = \"%s\"; } "
	    ");\n",
	    list);
	conf_ok(text, &c);
	assert_int_equal(c.rules.lists[0].nentries, 1);
	assert_string_equal(c.rules.lists[0].entries[0].text, "delta");
	assert_string_equal(c.rules.lists[0].entries[0].file, list);
	conf_free(&c);
	free(text);
}

static void
test_keyword_words_and_file(void **state)
{
	struct conf c;

	(void)state;
	write_conf("both.txt", "from-file\n");
	conf_ok("keywords: ( { name = \"b\"; action = \"hold\";\n"
	        "  words = [ \"inline\" ]; file = \"both.txt\"; } );\n",
	    &c);
	assert_int_equal(c.rules.lists[0].nentries, 2);
	assert_string_equal(c.rules.lists[0].entries[0].text, "inline");
	assert_int_equal(c.rules.lists[0].entries[0].line, 2);
	assert_string_equal(c.rules.lists[0].entries[1].text, "from-file");
	assert_int_equal(c.rules.lists[0].entries[1].line, 1);
	conf_free(&c);
	/* In the order they are written. */
	conf_ok("keywords: ( { name = \"b\"; action = \"hold\";\n"
	        "  file = \"both.txt\"; words = [ \"inline\" ]; } );\n",
	    &c);
	assert_string_equal(c.rules.lists[0].entries[0].text, "from-file");
	assert_string_equal(c.rules.lists[0].entries[1].text, "inline");
	conf_free(&c);
}

static void
test_keyword_file_errors(void **state)
{
	(void)state;
	write_bytes("bad-utf8.txt", "ok\n\xc0\x80\n", 6);
	conf_fails("keywords: (\n  { name = \"k\"; action = \"hold\"; "
	           "file = \"bad-utf8.txt\"; }\n);\n",
	    "@:2: file: ~/bad-utf8.txt:2: not valid UTF-8");
	write_bytes("nul.txt", "a\nb\0c\n", 6);
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "file = \"nul.txt\"; } );\n",
	    "@:1: file: ~/nul.txt:2: NUL byte in word list");
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; file = 7; } "
	           ");\n",
	    "@:1: file: must be a string\n"
	    "@:1: keyword rule k: needs words, file or both");
}

static void
test_keyword_unknown_option(void **state)
{
	(void)state;
	conf_fails("keywords: (\n  { name = \"k\"; action = \"hold\"; "
	           "words = [ \"x\" ];\n    kind = \"word\"; }\n);\n",
	    "@:3: unknown option kind in a keyword rule");
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "words = [ \"x\" ]; allow = [ \"y\" ]; } );\n",
	    "@:1: unknown option allow in a keyword rule");
}

static void
test_rule_name_duplicate(void **state)
{
	(void)state;
	conf_fails(
	    "keywords: (\n"
	    "  { name = \"dup\"; action = \"hold\"; words = [ \"x\" ]; },\n"
	    "  { name = \"dup\"; action = \"hold\"; words = [ \"y\" ]; }\n"
	    ");\n",
	    "@:3: rule name \"dup\" is used twice");
	conf_fails(
	    "keywords: (\n"
	    "  { name = \"dup\"; action = \"hold\"; words = [ \"x\" ]; }\n"
	    ");\nrates: (\n"
	    "  { name = \"dup\"; per = \"ip\"; limit = 1; window = 1; "
	    "action = \"hold\"; }\n);\n",
	    "@:5: rule name \"dup\" is used twice");
	conf_fails(
	    "rates: (\n"
	    "  { name = \"dup\"; per = \"ip\"; limit = 1; window = 1; "
	    "action = \"hold\"; }\n);\nkeywords: (\n"
	    "  { name = \"dup\"; action = \"hold\"; words = [ \"x\" ]; }\n"
	    ");\n",
	    "@:5: rule name \"dup\" is used twice");
	conf_fails("rates: (\n"
	           "  { name = \"r\"; per = \"ip\"; limit = 1; window = 1; "
	           "action = \"hold\"; },\n"
	           "  { name = \"r\"; per = \"author\"; limit = 1; window = 1; "
	           "action = \"hold\"; }\n);\n",
	    "@:3: rule name \"r\" is used twice");
}

static void
test_rule_name_case(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("keywords: (\n"
	        "  { name = \"Dup\"; action = \"hold\"; words = [ \"x\" ]; },\n"
	        "  { name = \"dup\"; action = \"hold\"; words = [ \"y\" ]; }\n"
	        ");\n",
	    &c);
	assert_int_equal(c.rules.nlists, 2);
	conf_free(&c);
}

static void
test_rule_name_reserved(void **state)
{
	static const char *const names[] = {"author-banned", "author-premod",
	    "author-trusted", "thread-closed", "thread-premod", "new-author",
	    "rejection-history", "matcher-error"};
	char *text, *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		xasprintf(&text,
		    "keywords: (\n  { name = \"%s\"; action = \"hold\"; "
		    "words = [ \"x\" ]; }\n);\n",
		    names[i]);
		xasprintf(&want, "@:2: rule name \"%s\" is a built-in reason",
		    names[i]);
		conf_fails(text, want);
		free(text);
		free(want);
		xasprintf(&text,
		    "rates: ( { name = \"%s\"; per = \"ip\"; limit = 1; "
		    "window = 1; action = \"hold\"; } );\n",
		    names[i]);
		xasprintf(&want, "@:1: rule name \"%s\" is a built-in reason",
		    names[i]);
		conf_fails(text, want);
		free(text);
		free(want);
	}
}

static void
test_rule_name_invalid(void **state)
{
	static const char *const bad[] = {"", "two words", "a:b", "a/b",
	    "caf\xc3\xa9", "x\\ty",
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4"};
	struct conf c;
	char *text, *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xasprintf(&text,
		    "keywords: ( { name = \"%s\"; action = \"hold\"; "
		    "words = [ \"x\" ]; } );\n",
		    bad[i]);
		xasprintf(&want,
		    "@:1: rule name \"%s\": must be 1 to 64 characters of "
		    "A-Z a-z 0-9 . _ -",
		    strcmp(bad[i], "x\\ty") == 0 ? "x\ty" : bad[i]);
		conf_fails(text, want);
		free(text);
		free(want);
	}
	conf_fails("keywords: ( { name = 5; action = \"hold\"; words = [ \"x\" "
	           "]; } );\n",
	    "@:1: name: must be a string\n@:1: keyword rule without a name");
	conf_ok(
	    "keywords: ( { name = "
	    "\"0123456789012345678901234567890123456789012345678901234567890"
	    "123\"; action = \"hold\"; words = [ \"x\" ]; }, { name = "
	    "\"A.b_c-9\"; action = \"hold\"; words = [ \"y\" ]; } );\n",
	    &c);
	assert_int_equal(strlen(c.rules.lists[0].name), 64);
	assert_string_equal(c.rules.lists[1].name, "A.b_c-9");
	conf_free(&c);
}

static void
test_rate_missing_fields(void **state)
{
	static const char *const fields[] = {"name = \"r\";", "per = \"ip\";",
	    "limit = 1;", "window = 60;", "action = \"hold\";"};
	char *text, *want, *t;
	size_t i, j;

	(void)state;
	for (i = 0; i < 5; i++) {
		text = xstrdup("rates: (\n  {");
		for (j = 0; j < 5; j++) {
			if (j == i)
				continue;
			xasprintf(&t, "%s %s", text, fields[j]);
			free(text);
			text = t;
		}
		xasprintf(&t, "%s }\n);\n", text);
		free(text);
		text = t;
		xasprintf(&want,
		    "@:2: rate rule %s: needs name, per, limit, window and "
		    "action",
		    i == 0 ? "?" : "r");
		conf_fails(text, want);
		free(text);
		free(want);
	}
	conf_fails("rates: ( { } );\n",
	    "@:1: rate rule ?: needs name, per, limit, window and action");
	conf_fails("rates: ( { name = 5; per = \"ip\"; limit = 1; window = 1; "
	           "action = \"hold\"; } );\n",
	    "@:1: name: must be a string\n"
	    "@:1: rate rule ?: needs name, per, limit, window and action");
}

static void
test_rate_bad_per(void **state)
{
	(void)state;
	conf_fails("rates: (\n  { name = \"r\"; limit = 1; window = 1; "
	           "action = \"hold\";\n    per = \"user\"; }\n);\n",
	    "@:3: per: \"user\" is not author, ip or thread");
	conf_fails("rates: ( { name = \"r\"; limit = 1; window = 1; "
	           "action = \"hold\"; per = \"IP\"; } );\n",
	    "@:1: per: \"IP\" is not author, ip or thread");
	conf_fails("rates: ( { name = \"r\"; limit = 1; window = 1; "
	           "action = \"hold\"; per = 1; } );\n",
	    "@:1: per: must be a string\n"
	    "@:1: rate rule r: needs name, per, limit, window and action");
}

/* Every content kind, mode, score and thresholds, read into the spec. */
static void
test_content_rules(void **state)
{
	struct conf c;
	const struct rules_spec *r;

	(void)state;
	write_conf("domains.txt", "# spam\nbad.example\nworse.example\n");
	conf_ok(
	    "keywords: ( { name = \"k\"; action = \"score\"; score = 3; "
	    "words = [ \"x\" ]; mode = \"shadow\"; } );\n"
	    "rates: ( { name = \"r\"; per = \"ip\"; limit = 1; window = 1; "
	    "action = \"hold\"; score = -2; } );\n"
	    "links: ( { name = \"l\"; max = 2; action = \"hold\"; },\n"
	    "  { name = \"fl\"; max = 0; approved_below = 3; "
	    "action = \"score\"; score = 1; },\n"
	    "  { name = \"bd\"; domains = [ \"spam.example\" ]; "
	    "file = \"domains.txt\"; action = \"reject\"; } );\n"
	    "link_allow = [ \"example.org\" ];\n"
	    "repeats: ( { name = \"rp\"; per = \"thread\"; window = 300; "
	    "action = \"hold\"; mode = \"enforce\"; } );\n"
	    "campaigns: ( { name = \"cp\"; authors = 3; window = 3600; "
	    "action = \"hold\"; },\n"
	    "  { name = \"cp2\"; authors = 2; window = 60; similarity = 0.9; "
	    "min_words = 10; action = \"reject\"; } );\n"
	    "shouting: ( { name = \"sh\"; action = \"score\"; score = 4; } );\n"
	    "length: ( { name = \"ln\"; max = 5000; action = \"hold\"; } );\n"
	    "thresholds: { hold = 5; reject = 10; };\n",
	    &c);
	r = &c.rules;
	assert_int_equal(r->lists[0].action, RULES_APPROVE);
	assert_int_equal(r->lists[0].shadow, 1);
	assert_int_equal(r->lists[0].score, 3);
	assert_int_equal(r->rates[0].score, -2);
	assert_int_equal(r->rates[0].shadow, 0);
	assert_int_equal(r->nlinks, 3);
	assert_string_equal(r->links[0].name, "l");
	assert_int_equal(r->links[0].max, 2);
	assert_int_equal(r->links[0].approved_below, 0);
	assert_int_equal(r->links[1].max, 0);
	assert_int_equal(r->links[1].approved_below, 3);
	assert_int_equal(r->links[1].score, 1);
	assert_int_equal(r->links[2].max, -1);
	assert_int_equal(r->links[2].action, RULES_REJECT);
	assert_int_equal(r->links[2].ndomains, 3);
	assert_string_equal(r->links[2].domains[0].text, "spam.example");
	assert_string_equal(r->links[2].domains[2].text, "worse.example");
	assert_int_equal(r->links[2].domains[2].line, 3);
	assert_int_equal(r->nlink_allow, 1);
	assert_string_equal(r->link_allow[0].text, "example.org");
	assert_int_equal(r->nrepeats, 1);
	assert_int_equal(r->repeats[0].per, RULES_PER_THREAD);
	assert_int_equal(r->repeats[0].window, 300);
	assert_int_equal(r->ncampaigns, 2);
	assert_int_equal(r->campaigns[0].authors, 3);
	assert_true(r->campaigns[0].similarity == 0.52);
	assert_int_equal(r->campaigns[0].min_words, 6);
	assert_true(r->campaigns[1].similarity == 0.9);
	assert_int_equal(r->campaigns[1].min_words, 10);
	assert_int_equal(r->nshouts, 1);
	assert_int_equal(r->shouts[0].min_letters, 20);
	assert_true(r->shouts[0].ratio == 0.7);
	assert_int_equal(r->shouts[0].score, 4);
	assert_int_equal(r->nlengths, 1);
	assert_int_equal(r->lengths[0].max, 5000);
	assert_int_equal(r->thresholds.hold, 5);
	assert_int_equal(r->thresholds.reject, 10);
	conf_free(&c);
}

/* The content rules' errors: all of them, each at its file:line. */
static void
test_content_errors(void **state)
{
	(void)state;
	conf_fails("links: ( { name = \"x\"; approved_below = 3; "
	           "action = \"hold\"; } );\n"
	           "campaigns: ( { name = \"c\"; action = \"score\"; "
	           "window = 5;\n authors = 1; } );\n"
	           "thresholds: { hold = 5; reject = 5; };\n"
	           "shouting: ( { name = \"s\"; action = \"hold\"; ratio = 2; "
	           "mode = \"loud\"; }, {} );\n"
	           "length: ( { name = \"ln\"; max = 0; action = \"hold\"; "
	           "score = 1000001; } );\n"
	           "repeats: ( { name = \"ln\"; per = \"site\"; window = 1; "
	           "action = \"hold\"; bogus = 1; } );\n",
	    "@:1: links rule x: needs max, domains or file\n"
	    "@:3: authors: 1 is out of range (2 to 256)\n"
	    "@:2: campaigns rule c: action \"score\" needs a score\n"
	    "@:5: ratio: must be a number from 0 to 1\n"
	    "@:5: mode: \"loud\" is not enforce or shadow\n"
	    "@:5: shouting rule without a name\n"
	    "@:6: max: 0 is out of range (1 to 100000000)\n"
	    "@:6: score: 1000001 is out of range (-1000000 to 1000000)\n"
	    "@:7: rule name \"ln\" is used twice\n"
	    "@:7: per: \"site\" is not author, ip or thread\n"
	    "@:7: unknown option bogus in a repeats rule\n"
	    "@:4: thresholds: hold (5) must be below reject (5)\n"
	    "@:4: thresholds: no rule has a score");
	conf_fails(
	    "length: ( { name = \"a\"; max = 1; action = \"hold\"; } );\n"
	    "shouting: ( { name = \"a\"; action = \"hold\"; } );\n",
	    "@:2: rule name \"a\" is used twice");
	conf_fails("links: ( { name = \"score-hold\"; max = 1; "
	           "action = \"hold\"; } );\n",
	    "@:1: rule name \"score-hold\" is a built-in reason");
	conf_fails("links: ( { name = \"x\"; domains = [ \"a.example\" ]; "
	           "approved_below = 3; action = \"hold\"; } );\n",
	    "@:1: links rule x: approved_below needs max");
	conf_fails("thresholds = 5;\n",
	    "@:1: thresholds: must be a group { hold = N; reject = N; }");
	conf_fails("link_allow = [ \"example.org\" ];\n",
	    "@:1: link_allow: no links rule counts links");
	conf_fails("link_allow = \"example.org\";\n",
	    "@:1: link_allow: must be an array [ \"...\", ... ]");
}

static void
test_rate_ranges(void **state)
{
	(void)state;
	conf_fails("rates: ( { name = \"r\"; per = \"ip\"; window = 1; "
	           "action = \"hold\";\n  limit = 0; } );\n",
	    "@:2: limit: 0 is out of range (1 to 1000000)");
	conf_fails("rates: ( { name = \"r\"; per = \"ip\"; window = 1; "
	           "action = \"hold\"; limit = 1000001; } );\n",
	    "@:1: limit: 1000001 is out of range (1 to 1000000)");
	conf_fails("rates: ( { name = \"r\"; per = \"ip\"; limit = 1; "
	           "action = \"hold\"; window = 0; } );\n",
	    "@:1: window: 0 is out of range (1 to 2592000)");
	conf_fails("rates: ( { name = \"r\"; per = \"ip\"; limit = 1; "
	           "action = \"hold\"; window = 2592001; } );\n",
	    "@:1: window: 2592001 is out of range (1 to 2592000)");
	conf_fails("rates: ( { name = \"r\"; per = \"ip\"; limit = \"5\"; "
	           "action = \"hold\"; window = 5; } );\n",
	    "@:1: limit: must be an integer");
	conf_fails("rates: ( { name = \"r\"; per = \"ip\"; limit = 5; "
	           "action = \"block\"; window = 5; } );\n",
	    "@:1: action: \"block\" is not reject, hold or score");
}

static void
test_rate_bounds(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("rates: (\n"
	        "  { name = \"lo\"; per = \"thread\"; limit = 1; window = 1; "
	        "action = \"reject\"; },\n"
	        "  { name = \"hi\"; per = \"ip\"; limit = 1000000; "
	        "window = 2592000; action = \"hold\"; }\n);\n",
	    &c);
	assert_int_equal(c.rules.nrates, 2);
	assert_string_equal(c.rules.rates[0].name, "lo");
	assert_int_equal(c.rules.rates[0].per, RULES_PER_THREAD);
	assert_int_equal(c.rules.rates[0].limit, 1);
	assert_int_equal(c.rules.rates[0].window, 1);
	assert_int_equal(c.rules.rates[0].action, RULES_REJECT);
	assert_int_equal(c.rules.rates[1].limit, 1000000);
	assert_int_equal(c.rules.rates[1].window, 2592000);
	assert_int_equal(c.rules.rates[1].per, RULES_PER_IP);
	conf_free(&c);
}

/* A rates list of n rules r0..r(n-1), one a line from line 2. */
static char *
rates_text(int n)
{
	char *text = xstrdup("rates: (\n"), *t;
	int i;

	for (i = 0; i < n; i++) {
		xasprintf(&t,
		    "%s  { name = \"r%d\"; per = \"author\"; limit = 1; "
		    "window = 1; action = \"hold\"; }%s\n",
		    text, i, i + 1 < n ? "," : "");
		free(text);
		text = t;
	}
	xasprintf(&t, "%s);\n", text);
	free(text);
	return (t);
}

static void
test_rate_too_many(void **state)
{
	struct conf c;
	char *text;

	(void)state;
	text = rates_text(RULES_MAX_RATES);
	conf_ok(text, &c);
	assert_int_equal(c.rules.nrates, RULES_MAX_RATES);
	assert_string_equal(c.rules.rates[31].name, "r31");
	conf_free(&c);
	free(text);
	text = rates_text(RULES_MAX_RATES + 1);
	conf_fails(text, "@:34: too many rate rules (at most 32)");
	free(text);
	text = rates_text(RULES_MAX_RATES + 2);
	conf_fails(text,
	    "@:34: too many rate rules (at most 32)\n"
	    "@:35: too many rate rules (at most 32)");
	free(text);
}

static void
test_rate_unknown_option(void **state)
{
	(void)state;
	conf_fails("rates: (\n  { name = \"r\"; per = \"ip\"; limit = 1; "
	           "window = 1; action = \"hold\";\n    burst = 5; }\n);\n",
	    "@:3: unknown option burst in a rate rule");
}

static void
test_authors_premod(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("authors: { premod_until_approved = 3; };\n", &c);
	assert_int_equal(c.rules.authors.premod_until_approved, 3);
	assert_int_equal(c.rules.authors.hold_if_rejected, 0);
	conf_free(&c);
	conf_ok("authors: { premod_until_approved = 1000000; };\n", &c);
	assert_int_equal(c.rules.authors.premod_until_approved, 1000000);
	conf_free(&c);
	conf_fails("authors: {\n  premod_until_approved = -1;\n};\n",
	    "@:2: premod_until_approved: -1 is out of range (0 to 1000000)");
	conf_fails("authors: { premod_until_approved = 1000001; };\n",
	    "@:1: premod_until_approved: 1000001 is out of range (0 to "
	    "1000000)");
	conf_fails("authors: { premod_until_approved = \"2\"; };\n",
	    "@:1: premod_until_approved: must be an integer");
}

static void
test_authors_unknown(void **state)
{
	(void)state;
	conf_fails("authors: {\n  premod = 1;\n};\n",
	    "@:2: unknown option authors.premod");
}

static void
test_hold_if_rejected_defaults(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("authors: { hold_if_rejected = { }; };\n", &c);
	assert_int_equal(c.rules.authors.hold_if_rejected, 1);
	assert_true(c.rules.authors.rejected_ratio == 0.3);
	assert_int_equal(c.rules.authors.rejected_min, 3);
	assert_int_equal(c.rules.authors.rejected_days, 7);
	assert_int_equal(c.rules.authors.premod_until_approved, 0);
	conf_free(&c);
}

static void
test_hold_if_rejected_overrides(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("authors: { hold_if_rejected = { ratio = 0.5; min = 1; "
	        "days = 90; }; };\n",
	    &c);
	assert_true(c.rules.authors.rejected_ratio == 0.5);
	assert_int_equal(c.rules.authors.rejected_min, 1);
	assert_int_equal(c.rules.authors.rejected_days, 90);
	conf_free(&c);
	conf_ok("authors: { hold_if_rejected = { min = 10; }; };\n", &c);
	assert_true(c.rules.authors.rejected_ratio == 0.3);
	assert_int_equal(c.rules.authors.rejected_min, 10);
	assert_int_equal(c.rules.authors.rejected_days, 7);
	conf_free(&c);
	conf_ok("authors: { hold_if_rejected = { ratio = 0.0; }; };\n", &c);
	assert_true(c.rules.authors.rejected_ratio == 0.0);
	conf_free(&c);
	conf_ok("authors: { hold_if_rejected = { ratio = 1.0; }; };\n", &c);
	assert_true(c.rules.authors.rejected_ratio == 1.0);
	conf_free(&c);
	conf_ok("authors: { hold_if_rejected = { ratio = 0; }; };\n", &c);
	assert_true(c.rules.authors.rejected_ratio == 0.0);
	conf_free(&c);
}

static void
test_hold_if_rejected_errors(void **state)
{
	(void)state;
	conf_fails("authors: { hold_if_rejected = {\n  ratio = 1.5; }; };\n",
	    "@:2: ratio: must be a number from 0 to 1");
	conf_fails("authors: { hold_if_rejected = { ratio = -0.1; }; };\n",
	    "@:1: ratio: must be a number from 0 to 1");
	conf_fails("authors: { hold_if_rejected = { ratio = \"0.3\"; }; };\n",
	    "@:1: ratio: must be a number from 0 to 1");
	conf_fails("authors: { hold_if_rejected = { min = 0; }; };\n",
	    "@:1: min: 0 is out of range (1 to 1000000)");
	conf_fails("authors: { hold_if_rejected = { days = 91; }; };\n",
	    "@:1: days: 91 is out of range (1 to 90)");
	conf_fails("authors: { hold_if_rejected = { days = 0; }; };\n",
	    "@:1: days: 0 is out of range (1 to 90)");
	conf_fails("authors: { hold_if_rejected = {\n  window = 3; }; };\n",
	    "@:2: unknown option authors.hold_if_rejected.window");
	conf_fails("authors: {\n  hold_if_rejected = true;\n};\n",
	    "@:2: hold_if_rejected: must be a group { ... }");
}

static void
test_password_file(void **state)
{
	struct conf c;

	(void)state;
	write_conf("pass1", "hunter2\n");
	conf_ok("redis: { password_file = \"pass1\"; };\n", &c);
	assert_string_equal(c.redis_password_file, "pass1");
	assert_string_equal(c.redis_password, "hunter2");
	conf_free(&c);
	write_conf("pass2", "crlf-pass\r\nsecond\n");
	conf_ok(
	    "redis: { user = \"modqd\"; password_file = \"pass2\"; };\n", &c);
	assert_string_equal(c.redis_user, "modqd");
	assert_string_equal(c.redis_password, "crlf-pass");
	conf_free(&c);
	write_conf("pass3", "no newline");
	conf_ok("redis: { password_file = \"pass3\"; };\n", &c);
	assert_string_equal(c.redis_password, "no newline");
	conf_free(&c);
	/* Only the end of line is stripped: the rest is the password. */
	write_conf("pass4", " spaced \t\n");
	conf_ok("redis: { password_file = \"pass4\"; };\n", &c);
	assert_string_equal(c.redis_password, " spaced \t");
	conf_free(&c);
}

static void
test_password_file_absolute(void **state)
{
	struct conf c;
	const char *p;
	char *text;

	(void)state;
	p = write_conf("abs.pass", "abs-secret\n");
	xasprintf(&text, "redis: { password_file = \"%s\"; };\n", p);
	conf_ok(text, &c);
	assert_string_equal(c.redis_password, "abs-secret");
	assert_string_equal(c.redis_password_file, p);
	conf_free(&c);
	free(text);
}

static void
test_password_file_missing(void **state)
{
	char *want;

	(void)state;
	xasprintf(&want, "@:3: redis.password_file: ~/no-such.pass: %s",
	    strerror(ENOENT));
	conf_fails("redis: {\n  user = \"u\";\n  password_file = "
	           "\"no-such.pass\";\n};\n",
	    want);
	free(want);
}

static void
test_password_file_empty(void **state)
{
	(void)state;
	write_conf("empty.pass", "");
	conf_fails("redis: {\n  password_file = \"empty.pass\";\n};\n",
	    "@:2: redis.password_file: ~/empty.pass: empty");
	write_conf("newline.pass", "\n");
	conf_fails("redis: { password_file = \"newline.pass\"; };\n",
	    "@:1: redis.password_file: ~/newline.pass: empty");
	write_conf("crlf.pass", "\r\nsecond\n");
	conf_fails("redis: { password_file = \"crlf.pass\"; };\n",
	    "@:1: redis.password_file: ~/crlf.pass: empty");
}

static void
test_redis_user_without_password(void **state)
{
	(void)state;
	conf_fails("redis: {\n  host = \"h\";\n  user = \"modqd\";\n};\n",
	    "@:3: redis.user needs redis.password_file");
}

static void
test_syntax_error(void **state)
{
	(void)state;
	conf_fails(
	    "redis: {\n  host = \"x\"\n  port = ;\n};\n", "@:3: syntax error");
	conf_fails("redis: { host = \"a\"; host = \"b\"; };\n",
	    "@:1: duplicate setting name");
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\";\n"
	           "  words = [ \"x\", 5 ]; } );\n",
	    "@:2: mismatched element type in array");
	conf_fails("\n\n\nredis: {\n", "@:5: syntax error");
}

/* An error in an @include'd file names that file by a path one can open. */
static void
test_include_error_path(void **state)
{
	char *want;

	(void)state;
	write_conf("sub.conf", "redis: {\n  port = 0;\n};\n");
	write_conf("subbad.conf", "redis: { port = ; };\n");
	xasprintf(&want, "%s: port: 0 is out of range (1 to 65535)",
	    tpath("sub.conf:2"));
	path_fails(write_conf("inc.conf", "@include \"sub.conf\"\n"), want);
	free(want);
	xasprintf(&want, "%s: syntax error", tpath("subbad.conf:1"));
	path_fails(write_conf("inc2.conf", "@include \"subbad.conf\"\n"), want);
	free(want);
}

static void
test_missing_file(void **state)
{
	char *want;

	(void)state;
	xasprintf(&want, "@: %s", strerror(ENOENT));
	path_fails(tpath("does-not-exist.conf"), want);
	free(want);
}

static void
test_include(void **state)
{
	struct conf c;

	(void)state;
	write_conf("inc.conf", "queue: { batch = 17; };\n");
	conf_ok("@include \"inc.conf\"\nredis: { db = 2; };\n", &c);
	assert_int_equal(c.batch, 17);
	assert_int_equal(c.redis_db, 2);
	conf_free(&c);
	conf_fails(
	    "\n@include \"nope.conf\"\n", "@:2: cannot open include file");
}

static void
test_many_errors(void **state)
{
	const char *p;
	struct conf c;
	char *cause = NULL, *want;

	(void)state;
	p = write_conf("many.conf",
	    "redis: {\n" /* 1 */
	    "  port = 0;\n" /* 2 */
	    "  hots = \"x\";\n" /* 3 */
	    "};\n" /* 4 */
	    "queue: {\n" /* 5 */
	    "  batch = 0;\n" /* 6 */
	    "  max_deliveries = \"5\";\n" /* 7 */
	    "};\n" /* 8 */
	    "decisions: { maxlen = 10; };\n" /* 9 */
	    "keywords: (\n" /* 10 */
	    "  { name = \"author-banned\"; action = \"drop\";\n" /* 11 */
	    "    words = [ \"x\" ]; }\n" /* 12 */
	    ");\n" /* 13 */
	    "rates: (\n" /* 14 */
	    "  { name = \"r\"; per = \"user\"; limit = 0; window = 1; "
	    "action = \"hold\"; }\n" /* 15 */
	    ");\n" /* 16 */
	    "authors: { premod = 1; };\n" /* 17 */
	    "metrics: { listen = \"nowhere\"; };\n" /* 18 */
	    "log: { decisions = 0; };\n" /* 19 */
	    "bogus = 1;\n"); /* 20 */
	assert_int_equal(conf_load(p, &c, &cause), -1);
	want =
	    expand("@:2: port: 0 is out of range (1 to 65535)\n"
	           "@:3: unknown option redis.hots\n"
	           "@:6: batch: 0 is out of range (1 to 4096)\n"
	           "@:7: max_deliveries: must be an integer\n"
	           "@:9: maxlen: 10 is out of range (1000 to 1000000000)\n"
	           "@:11: rule name \"author-banned\" is a built-in reason\n"
	           "@:11: action: \"drop\" is not reject, hold or score\n"
	           "@:11: keyword rule author-banned: no valid action\n"
	           "@:15: per: \"user\" is not author, ip or thread\n"
	           "@:15: limit: 0 is out of range (1 to 1000000)\n"
	           "@:17: unknown option authors.premod\n"
	           "@:18: metrics.listen: must be host:port or [address]:port\n"
	           "@:19: log.decisions: must be true or false\n"
	           "@:20: unknown option bogus",
	        p);
	assert_string_equal(cause, want);
	assert_int_equal(count_lines(cause), 14);
	free(want);
	free(cause);
}

static void
test_batch_inflight(void **state)
{
	struct conf c;

	(void)state;
	conf_fails("queue: {\n  max_inflight = 1000;\n  batch = 2000;\n};\n",
	    "@:3: queue.batch (2000) is larger than queue.max_inflight (1000)");
	conf_ok("queue: { max_inflight = 300; batch = 300; };\n", &c);
	assert_int_equal(c.batch, 300);
	assert_int_equal(c.max_inflight, 300);
	conf_free(&c);
}

static void
test_metrics_listen(void **state)
{
	static const char *const good[] = {"127.0.0.1:9187", "[::1]:9187",
	    "localhost:1", "0.0.0.0:65535", "metrics.example:80"};
	struct conf c;
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		xasprintf(&text, "metrics: { listen = \"%s\"; };\n", good[i]);
		conf_ok(text, &c);
		assert_string_equal(c.metrics_listen, good[i]);
		conf_free(&c);
		free(text);
	}
	conf_fails("metrics: {\n  listen = \"9187\";\n};\n",
	    "@:2: metrics.listen: must be host:port or [address]:port");
	conf_fails("metrics: { listen = \":9187\"; };\n",
	    "@:1: metrics.listen: must be host:port or [address]:port");
	conf_fails("metrics: { listen = \"\"; };\n",
	    "@:1: metrics.listen: must be host:port or [address]:port");
	conf_fails("metrics: { listen = \"localhost:0\"; };\n",
	    "@:1: metrics.listen: port must be 1 to 65535");
	conf_fails("metrics: { listen = \"localhost:65536\"; };\n",
	    "@:1: metrics.listen: port must be 1 to 65535");
	conf_fails("metrics: { listen = \"localhost:http\"; };\n",
	    "@:1: metrics.listen: port must be 1 to 65535");
	conf_fails("metrics: { listen = \"localhost:\"; };\n",
	    "@:1: metrics.listen: port must be 1 to 65535");
	conf_fails("metrics: { listen = \"localhost:80x\"; };\n",
	    "@:1: metrics.listen: port must be 1 to 65535");
}

static void
test_allow(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("allow = [\n  \"scunthorpe\",\n  \"van dyke\" ];\n", &c);
	assert_int_equal(c.rules.nallow, 2);
	assert_string_equal(c.rules.allow[0].text, "scunthorpe");
	assert_int_equal(c.rules.allow[0].line, 2);
	assert_string_equal(c.rules.allow[1].text, "van dyke");
	assert_int_equal(c.rules.allow[1].line, 3);
	conf_free(&c);
	conf_fails(
	    "allow = ( \"x\",\n  1 );\n", "@:2: entry: must be a string");
}

/* Read a whole file into an allocated string. */
static char *
read_file(const char *path)
{
	char *buf = xmalloc(65536);
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/*
 * Load two configs and carry the first into the second; returns what
 * conf_carry() logged (journal format: "<4>" priority prefixes).
 */
static char *
carry(
    const char *old_text, const char *new_text, struct conf *o, struct conf *n)
{
	const char *logpath = tpath("carry.log");
	char *cause = NULL;
	int fd, saved;

	if (conf_load(write_conf("old.conf", old_text), o, &cause) != 0)
		fail_msg("old: %s", cause);
	if (conf_load(write_conf("new.conf", new_text), n, &cause) != 0)
		fail_msg("new: %s", cause);
	fflush(stderr);
	saved = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	log_init(LOG_TO_JOURNAL, 0);
	conf_carry(o, n);
	fflush(stderr);
	log_init(LOG_TO_STDERR, 0);
	dup2(saved, 2);
	close(saved);
	return (read_file(logpath));
}

static void
test_carry_restart_only(void **state)
{
	struct conf o, n;
	char *log, *want;

	(void)state;
	write_conf("p-old", "old-pass\n");
	write_conf("p-new", "new-pass\n");
	log = carry(
	    "redis: { host = \"h1\"; port = 1001; user = \"u1\"; "
	    "password_file = \"p-old\"; db = 1; prefix = \"p1\"; };\n"
	    "queue: { stream = \"s1\"; group = \"g1\"; consumer = \"c1\"; };\n"
	    "metrics: { listen = \"127.0.0.1:1\"; };\n",
	    "redis: { unix = \"/run/r.sock\"; host = \"h2\"; port = 1002; "
	    "user = \"u2\"; password_file = \"p-new\"; db = 2; "
	    "prefix = \"p2\"; };\n"
	    "queue: { stream = \"s2\"; group = \"g2\"; consumer = \"c2\"; };\n",
	    &o, &n);
	want = expand("<4>~/new.conf: redis.host changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.port changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.unix changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.user changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.password_file changed; it takes "
	              "effect at the next restart\n"
	              "<4>~/new.conf: redis.db changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.prefix changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: queue.stream changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: queue.group changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: queue.consumer changed; it takes effect "
	              "at the next restart\n"
	              "<4>~/new.conf: metrics.listen changed; it takes effect "
	              "at the next restart\n",
	    "");
	assert_string_equal(log, want);
	free(log);
	free(want);
	assert_string_equal(n.redis_host, "h1");
	assert_int_equal(n.redis_port, 1001);
	assert_null(n.redis_unix);
	assert_string_equal(n.redis_user, "u1");
	assert_string_equal(n.redis_password_file, "p-old");
	assert_string_equal(n.redis_password, "old-pass");
	assert_int_equal(n.redis_db, 1);
	assert_string_equal(n.prefix, "p1");
	assert_string_equal(n.stream, "s1");
	assert_string_equal(n.group, "g1");
	assert_string_equal(n.consumer, "c1");
	assert_string_equal(n.metrics_listen, "127.0.0.1:1");
	/* The old conf is left as it was. */
	assert_string_equal(o.redis_host, "h1");
	assert_string_equal(o.redis_password, "old-pass");
	conf_free(&o);
	conf_free(&n);
}

static void
test_carry_reloadable(void **state)
{
	struct conf o, n;
	char *log;

	(void)state;
	log = carry(
	    "redis: { timeout_ms = 100; };\n"
	    "queue: { batch = 10; max_body = 1000; claim_idle_ms = 1000; "
	    "max_deliveries = 2; max_inflight = 20; "
	    "shutdown_timeout_ms = 0; };\n"
	    "decisions: { ttl_days = 1; maxlen = 1000; };\n"
	    "log: { decisions = true; };\n"
	    "authors: { premod_until_approved = 1; };\n",
	    "redis: { timeout_ms = 200; };\n"
	    "queue: { batch = 11; max_body = 2000; claim_idle_ms = 2000; "
	    "max_deliveries = 3; max_inflight = 21; "
	    "shutdown_timeout_ms = 5; };\n"
	    "decisions: { ttl_days = 2; maxlen = 2000; };\n"
	    "log: { decisions = false; };\n"
	    "authors: { premod_until_approved = 4; };\n"
	    "keywords: ( { name = \"k\"; action = \"hold\"; words = [ \"x\" ]; "
	    "} );\n",
	    &o, &n);
	assert_string_equal(log, ""); /* nothing restart-only changed */
	free(log);
	assert_int_equal(n.timeout_ms, 200);
	assert_int_equal(n.batch, 11);
	assert_int_equal(n.max_body, 2000);
	assert_int_equal(n.claim_idle_ms, 2000);
	assert_int_equal(n.max_deliveries, 3);
	assert_int_equal(n.max_inflight, 21);
	assert_int_equal(n.shutdown_timeout_ms, 5);
	assert_int_equal(n.ttl_days, 2);
	assert_int_equal(n.maxlen, 2000);
	assert_int_equal(n.log_decisions, 0);
	/* Rules always come from the new file. */
	assert_int_equal(n.rules.authors.premod_until_approved, 4);
	assert_int_equal(n.rules.nlists, 1);
	assert_string_equal(n.path, tpath("new.conf"));
	conf_free(&o);
	conf_free(&n);
}

static void
test_carry_unchanged(void **state)
{
	struct conf o, n;
	char *log, *want;

	(void)state;
	log = carry("redis: { host = \"same\"; };\n",
	    "redis: { host = \"same\"; };\n", &o, &n);
	assert_string_equal(log, "");
	free(log);
	assert_string_equal(n.redis_host, "same");
	assert_int_equal(n.redis_port, 6379);
	assert_null(n.redis_password);
	assert_null(n.metrics_listen);
	conf_free(&o);
	conf_free(&n);
	/* Restart-only options the new file adds are dropped. */
	write_conf("p", "pw\n");
	log = carry(
	    "", "redis: { password_file = \"p\"; unix = \"/s\"; };\n", &o, &n);
	want = expand("<4>~/new.conf: redis.unix changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.password_file changed; it takes "
	              "effect at the next restart\n",
	    "");
	assert_string_equal(log, want);
	free(want);
	free(log);
	assert_null(n.redis_password_file);
	assert_null(n.redis_password);
	assert_null(n.redis_unix);
	conf_free(&o);
	conf_free(&n);
}

static void
test_build_bad_regex(void **state)
{
	struct conf c;
	struct ruleset *rs = NULL;
	const char *p;
	char *cause = NULL, *want;

	(void)state;
	p = write_conf("re.conf",
	    "keywords: (\n"
	    "  { name = \"k\"; action = \"hold\";\n"
	    "    words = [ \"fine\",\n"
	    "              \"/(isi/\",\n"
	    "              \"/(a)\\\\1/\" ]; }\n"
	    ");\n");
	if (conf_load(p, &c, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(rules_build(&c.rules, &rs, &cause), -1);
	assert_null(rs);
	want = expand("@:4: bad regular expression /(isi/: Missing close "
	              "parenthesis for group started at index 0.\n"
	              "@:5: bad regular expression /(a)\\1/: "
	              "back-references (\\1, \\k<name>) cannot be run: "
	              "write the repeated text out, or one entry per text "
	              "(Hyperscan: Back-references are unsupported.)",
	    p);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	conf_free(&c);
}

/* A config's errors and its entries' compile errors come out in one run. */
static void
test_load_rules_every_error(void **state)
{
	struct conf c;
	struct ruleset *rs = NULL;
	const char *p;
	char *cause = NULL, *want;

	(void)state;
	write_conf("every.txt", "fine\n/(a)\\1/\n");
	p = write_conf("every.conf",
	    "queue: { colour = 3; };\n"
	    "keywords: (\n"
	    "  { name = \"k\"; action = \"hold\";\n"
	    "    words = [ \"fine\", \"/(isi/\" ]; },\n"
	    "  { name = \"f\"; action = \"sometimes\"; file = \"every.txt\"; "
	    "}\n"
	    ");\n");
	assert_int_equal(conf_load_rules(p, &c, &rs, &cause), -1);
	assert_null(rs);
	want =
	    expand("@:1: unknown option queue.colour\n"
	           "@:5: action: \"sometimes\" is not reject, hold or score\n"
	           "@:5: keyword rule f: no valid action\n"
	           "@:4: bad regular expression /(isi/: Missing close "
	           "parenthesis for group started at index 0.\n"
	           "~/every.txt:2: bad regular expression /(a)\\1/: "
	           "back-references (\\1, \\k<name>) cannot be run: write "
	           "the repeated text out, or one entry per text "
	           "(Hyperscan: Back-references are unsupported.)",
	        p);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	/* A good config loads and builds as before. */
	p = write_conf("good.conf",
	    "keywords: ( { name = \"k\"; action = \"hold\"; "
	    "words = [ \"/\\\\bfine\\\\b/\" ]; } );\n");
	if (conf_load_rules(p, &c, &rs, &cause) != 0)
		fail_msg("%s", cause);
	assert_non_null(rs);
	rules_unref(rs);
	conf_free(&c);
}

static void
test_build_empty_entries(void **state)
{
	struct conf c;
	struct ruleset *rs = NULL;
	const char *p;
	char *cause = NULL, *want;

	(void)state;
	write_conf("punct.txt", "# only punctuation below\nok\n...\n  --  \n");
	p = write_conf("punct.conf",
	    "keywords: (\n"
	    "  { name = \"k\"; action = \"hold\"; file = \"punct.txt\"; },\n"
	    "  { name = \"w\"; action = \"hold\";\n"
	    "    words = [ \"**\", \"*!*\" ]; }\n"
	    ");\n"
	    "allow = [ \"?\" ];\n");
	if (conf_load(p, &c, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(rules_build(&c.rules, &rs, &cause), -1);
	want = expand(
	    "~/punct.txt:3: entry \"...\" has no letters, digits or symbols "
	    "to match\n"
	    "~/punct.txt:4: entry \"--\" has no letters, digits or symbols "
	    "to match\n"
	    "@:4: entry \"**\" is only wildcards\n"
	    "@:4: part of \"*!*\" has no letters, digits or symbols\n"
	    "@:6: entry \"?\" has no letters, digits or symbols to match",
	    p);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	conf_free(&c);
}

/*
 * Files named in the config: a FIFO, a device or a directory in place of
 * a word list or the password file is refused at once ("not a regular
 * file"), never waited on.  alarm() bounds each test: a blocking open
 * would kill the test binary instead of hanging it.
 */

static int capture_saved = -1; /* stderr while capturing */

/* Start capturing what is logged (journal format) in capture.log. */
static void
capture_begin(void)
{
	int fd;

	fflush(stderr);
	capture_saved = dup(2);
	fd = open(tpath("capture.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(capture_saved != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	log_init(LOG_TO_JOURNAL, 0);
}

/* Stop capturing; returns what was logged (allocated). */
static char *
capture_end(void)
{
	fflush(stderr);
	log_init(LOG_TO_STDERR, 0);
	dup2(capture_saved, 2);
	close(capture_saved);
	return (read_file(tpath("capture.log")));
}

static void
test_keyword_file_fifo(void **state)
{
	(void)state;
	assert_int_equal(mkfifo(tpath("fifo.txt"), 0600), 0);
	alarm(10);
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "file = \"fifo.txt\"; } );\n",
	    "@:1: file: ~/fifo.txt: not a regular file");
	alarm(0);
}

static void
test_keyword_file_not_regular(void **state)
{
	(void)state;
	assert_int_equal(mkdir(tpath("dir.txt"), 0700), 0);
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "file = \"dir.txt\"; } );\n",
	    "@:1: file: ~/dir.txt: not a regular file");
	alarm(10);
	conf_fails("keywords: ( { name = \"k\"; action = \"hold\"; "
	           "file = \"/dev/null\"; } );\n",
	    "@:1: file: /dev/null: not a regular file");
	alarm(0);
}

static void
test_password_file_not_regular(void **state)
{
	(void)state;
	assert_int_equal(mkfifo(tpath("fifo.pass"), 0600), 0);
	alarm(10);
	conf_fails("redis: {\n  password_file = \"fifo.pass\";\n};\n",
	    "@:2: redis.password_file: ~/fifo.pass: not a regular file");
	alarm(0);
	assert_int_equal(mkdir(tpath("dir.pass"), 0700), 0);
	conf_fails("redis: { password_file = \"dir.pass\"; };\n",
	    "@:1: redis.password_file: ~/dir.pass: not a regular file");
}

/* Write a password file of n bytes of 'p' followed by end. */
static void
write_password(const char *name, size_t n, const char *end)
{
	char *buf = xmalloc(n + strlen(end));

	memset(buf, 'p', n);
	memcpy(buf + n, end, strlen(end));
	write_bytes(name, buf, n + strlen(end));
	free(buf);
}

static void
test_password_file_length(void **state)
{
	struct conf c;

	(void)state;
	write_password("max.pass", 1024, "\r\n");
	conf_ok("redis: { password_file = \"max.pass\"; };\n", &c);
	assert_int_equal(strlen(c.redis_password), 1024);
	assert_int_equal(strspn(c.redis_password, "p"), 1024);
	conf_free(&c);
	write_password("max2.pass", 1024, "");
	conf_ok("redis: { password_file = \"max2.pass\"; };\n", &c);
	assert_int_equal(strlen(c.redis_password), 1024);
	conf_free(&c);
	write_password("long.pass", 1025, "\n");
	conf_fails("redis: {\n  password_file = \"long.pass\";\n};\n",
	    "@:2: redis.password_file: ~/long.pass: password longer than "
	    "1024 bytes");
	write_password("huge.pass", 5000, "");
	conf_fails("redis: { password_file = \"huge.pass\"; };\n",
	    "@:1: redis.password_file: ~/huge.pass: password longer than "
	    "1024 bytes");
	write_bytes("nul.pass", "ab\0cd\n", 6);
	conf_fails("redis: { password_file = \"nul.pass\"; };\n",
	    "@:1: redis.password_file: ~/nul.pass: NUL byte in the password");
}

/* Load a config naming mode.pass, set to mode; returns what was logged. */
static char *
password_mode_log(mode_t mode)
{
	struct conf c;
	char *log;

	assert_int_equal(chmod(tpath("mode.pass"), mode), 0);
	capture_begin();
	conf_ok("redis: { password_file = \"mode.pass\"; };\n", &c);
	log = capture_end();
	conf_free(&c);
	return (log);
}

/* Check one password_mode_log() result against want (expanded). */
static void
password_mode_warns(mode_t mode, const char *want)
{
	char *log, *w;

	log = password_mode_log(mode);
	w = expand(want, tpath("t.conf"));
	assert_string_equal(log, w);
	free(w);
	free(log);
}

static void
test_password_file_mode(void **state)
{
	char *want;

	(void)state;
	write_conf("mode.pass", "secret\n");
	password_mode_warns(0644,
	    "<4>@:1: redis.password_file: ~/mode.pass: mode 0644 lets others "
	    "read or write it; make it 0600, or 0640 with modqd's group\n");
	password_mode_warns(0602,
	    "<4>@:1: redis.password_file: ~/mode.pass: mode 0602 lets others "
	    "read or write it; make it 0600, or 0640 with modqd's group\n");
	xasprintf(&want,
	    "<4>@:1: redis.password_file: ~/mode.pass: mode 0620 lets group "
	    "%u read or write it; make it 0600, or 0640 with modqd's group\n",
	    (unsigned)getegid());
	password_mode_warns(0620, want);
	free(want);
	password_mode_warns(0600, "");
	password_mode_warns(0400, "");
	password_mode_warns(0640, ""); /* the file's group is modqd's */
}

/* As root: a file of another user, or readable by a foreign group. */
static void
test_password_file_owner(void **state)
{
	char *want;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	write_conf("mode.pass", "secret\n");
	assert_int_equal(chown(tpath("mode.pass"), 65534, 65534), 0);
	xasprintf(&want,
	    "<4>@:1: redis.password_file: ~/mode.pass: mode 0640 lets group "
	    "65534 (modqd runs as group %u) read or write it; make it 0600, "
	    "or 0640 with modqd's group\n"
	    "<4>@:1: redis.password_file: ~/mode.pass: owned by uid 65534, "
	    "not by root or by the user modqd runs as (uid 0)\n",
	    (unsigned)getegid());
	password_mode_warns(0640, want);
	free(want);
}

static void
test_sentinels(void **state)
{
	struct conf c;

	(void)state;
	write_conf("sentinel.pass", "s-secret\n");
	conf_ok(
	    "redis: {\n"
	    "  sentinels = [ \"10.0.0.5:26379\", \"sentinel-2.example:26380\","
	    " \"[2001:db8::7]:26381\" ];\n"
	    "  master = \"mymaster\";\n"
	    "  sentinel_user = \"modq-sentinel\";\n"
	    "  sentinel_password_file = \"sentinel.pass\";\n"
	    "  sentinel_timeout_ms = 250;\n"
	    "  password_file = \"sentinel.pass\";\n"
	    "};\n",
	    &c);
	assert_int_equal(c.nsentinels, 3);
	assert_string_equal(c.sentinels[0].host, "10.0.0.5");
	assert_int_equal(c.sentinels[0].port, 26379);
	assert_string_equal(c.sentinels[1].host, "sentinel-2.example");
	assert_int_equal(c.sentinels[1].port, 26380);
	assert_string_equal(c.sentinels[2].host, "2001:db8::7");
	assert_int_equal(c.sentinels[2].port, 26381);
	assert_string_equal(c.sentinel_master, "mymaster");
	assert_string_equal(c.sentinel_user, "modq-sentinel");
	assert_string_equal(c.sentinel_password_file, "sentinel.pass");
	assert_string_equal(c.sentinel_password, "s-secret");
	assert_int_equal(c.sentinel_timeout_ms, 250);
	/* the primary's own password stays its own */
	assert_string_equal(c.redis_password, "s-secret");
	conf_free(&c);
	/* A list ( ... ) does as well as an array; no password needed. */
	conf_ok("redis: { sentinels = ( \"127.0.0.1:26379\" ); "
	        "master = \"m-1.b_c:d\"; };\n",
	    &c);
	assert_int_equal(c.nsentinels, 1);
	assert_null(c.sentinel_password);
	assert_string_equal(c.sentinel_master, "m-1.b_c:d");
	conf_free(&c);
}

static void
test_sentinels_pairing(void **state)
{
	(void)state;
	conf_fails("redis: {\n  sentinels = [ \"h:1\" ];\n};\n",
	    "@:2: redis.sentinels needs redis.master");
	conf_fails("redis: {\n\n  master = \"m\";\n};\n",
	    "@:3: redis.master needs redis.sentinels");
	conf_fails("redis: {\n  sentinels = [ \"h:1\" ];\n  master = \"m\";\n"
	           "  host = \"10.0.0.1\";\n  port = 6380;\n"
	           "  unix = \"/run/redis.sock\";\n};\n",
	    "@:4: redis.host: not with redis.sentinels (the sentinels name "
	    "the primary)\n"
	    "@:5: redis.port: not with redis.sentinels (the sentinels name "
	    "the primary)\n"
	    "@:6: redis.unix: not with redis.sentinels (the sentinels name "
	    "the primary)");
	write_conf("sp.pass", "x\n");
	conf_fails("redis: {\n  sentinels = [ \"h:1\" ];\n  master = \"m\";\n"
	           "  sentinel_user = \"u\";\n};\n",
	    "@:4: redis.sentinel_user needs redis.sentinel_password_file");
	conf_fails("redis: {\n  sentinel_password_file = \"sp.pass\";\n};\n",
	    "@:2: redis.sentinel_password_file needs redis.sentinels");
}

static void
test_sentinels_errors(void **state)
{
	char text[2048];
	size_t n;
	int i;

	(void)state;
	conf_fails("redis: {\n  sentinels = [ ];\n  master = \"m\";\n};\n",
	    "@:2: redis.sentinels: names no sentinel");
	conf_fails("redis: {\n  sentinels = \"h:1\";\n  master = \"m\";\n};\n",
	    "@:2: redis.sentinels: must be an array [ \"host:port\", ... ]");
	conf_fails("redis: { master = \"m\";\n  sentinels = [ \"h\", \"h:0\", "
	           "\"::1:26379\", \":5\", \"h:x\" ]; };\n",
	    "@:2: redis.sentinels: \"h\": must be host:port or "
	    "[address]:port\n"
	    "@:2: redis.sentinels: \"h:0\": port must be 1 to 65535\n"
	    "@:2: redis.sentinels: \"::1:26379\": must be host:port or "
	    "[address]:port\n"
	    "@:2: redis.sentinels: \":5\": must be host:port or "
	    "[address]:port\n"
	    "@:2: redis.sentinels: \"h:x\": port must be 1 to 65535");
	conf_fails(
	    "redis: { master = \"m\";\n  sentinels = ( \"h:1\", 5 ); };\n",
	    "@:2: entry: must be a string");
	n = (size_t)snprintf(
	    text, sizeof text, "redis: { master = \"m\";\n  sentinels = [ ");
	for (i = 0; i < 17; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s\"h%d:1\"",
		    i > 0 ? ", " : "", i);
	snprintf(text + n, sizeof text - n, " ]; };\n");
	conf_fails(text, "@:2: redis.sentinels: more than 16 sentinels");
	conf_fails("redis: {\n  sentinels = [ \"h:1\" ];\n"
	           "  master = \"my master\";\n};\n",
	    "@:3: redis.master: must be 1 to 64 characters of A-Z a-z 0-9 . "
	    "_ : -");
}

/* The sentinel password file is read and checked as password_file is. */
static void
test_sentinel_password_file(void **state)
{
	char *want, *log;
	struct conf c;
	const char *head =
	    "redis: {\n  sentinels = [ \"h:1\" ];\n  master = \"m\";\n";
	char text[512];

	(void)state;
	xasprintf(&want,
	    "@:4: redis.sentinel_password_file: ~/no-such.pass: %s",
	    strerror(ENOENT));
	snprintf(text, sizeof text,
	    "%s  sentinel_password_file = \"no-such.pass\";\n};\n", head);
	conf_fails(text, want);
	free(want);
	write_conf("s-empty.pass", "\n");
	snprintf(text, sizeof text,
	    "%s  sentinel_password_file = \"s-empty.pass\";\n};\n", head);
	conf_fails(
	    text, "@:4: redis.sentinel_password_file: ~/s-empty.pass: empty");
	write_password("s-long.pass", 1025, "\n");
	snprintf(text, sizeof text,
	    "%s  sentinel_password_file = \"s-long.pass\";\n};\n", head);
	conf_fails(text,
	    "@:4: redis.sentinel_password_file: ~/s-long.pass: "
	    "password longer than 1024 bytes");
	write_password("s-max.pass", 1024, "\n");
	snprintf(text, sizeof text,
	    "%s  sentinel_password_file = \"s-max.pass\";\n};\n", head);
	conf_ok(text, &c);
	assert_int_equal(strlen(c.sentinel_password), 1024);
	conf_free(&c);
	assert_int_equal(mkfifo(tpath("s-fifo.pass"), 0600), 0);
	alarm(10);
	snprintf(text, sizeof text,
	    "%s  sentinel_password_file = \"s-fifo.pass\";\n};\n", head);
	conf_fails(text,
	    "@:4: redis.sentinel_password_file: ~/s-fifo.pass: "
	    "not a regular file");
	alarm(0);
	write_conf("s-mode.pass", "secret\n");
	assert_int_equal(chmod(tpath("s-mode.pass"), 0644), 0);
	snprintf(text, sizeof text,
	    "%s  sentinel_password_file = \"s-mode.pass\";\n};\n", head);
	capture_begin();
	conf_ok(text, &c);
	log = capture_end();
	conf_free(&c);
	want = expand("<4>@:4: redis.sentinel_password_file: ~/s-mode.pass: "
	              "mode 0644 lets others read or write it; make it 0600, "
	              "or 0640 with modqd's group\n",
	    tpath("t.conf"));
	assert_string_equal(log, want);
	free(want);
	free(log);
}

/* The Sentinel options are restart-only; the password is carried. */
static void
test_carry_sentinels(void **state)
{
	struct conf o, n;
	char *log, *want;

	(void)state;
	write_conf("sp-old", "old-s\n");
	write_conf("sp-new", "new-s\n");
	log =
	    carry("redis: { sentinels = [ \"a:1\", \"b:2\" ]; master = \"m1\"; "
	          "sentinel_password_file = \"sp-old\"; };\n",
	        "redis: { sentinels = [ \"a:1\", \"c:3\" ]; master = \"m2\"; "
	        "sentinel_password_file = \"sp-new\"; "
	        "sentinel_timeout_ms = 900; };\n",
	        &o, &n);
	want = expand("<4>~/new.conf: redis.master changed; it takes effect at "
	              "the next restart\n"
	              "<4>~/new.conf: redis.sentinel_password_file changed; it "
	              "takes effect at the next restart\n"
	              "<4>~/new.conf: redis.sentinel_timeout_ms changed; it "
	              "takes effect at the next restart\n"
	              "<4>~/new.conf: redis.sentinels changed; it takes effect "
	              "at the next restart\n",
	    "");
	assert_string_equal(log, want);
	free(want);
	free(log);
	assert_int_equal(n.nsentinels, 2);
	assert_string_equal(n.sentinels[1].host, "b");
	assert_int_equal(n.sentinels[1].port, 2);
	assert_string_equal(n.sentinel_master, "m1");
	assert_string_equal(n.sentinel_password, "old-s");
	assert_int_equal(n.sentinel_timeout_ms, 500);
	conf_free(&o);
	conf_free(&n);
	/* The same sentinels: nothing to say. */
	log = carry("redis: { sentinels = [ \"a:1\" ]; master = \"m\"; };\n",
	    "redis: { sentinels = [ \"a:1\" ]; master = \"m\"; };\n", &o, &n);
	assert_string_equal(log, "");
	free(log);
	conf_free(&o);
	conf_free(&n);
}

/*
 * Regression tests: found failing, then fixed.
 */

/* An integer ratio is read with config_setting_get_float(), giving 0. */
static void
test_bug_ratio_integer(void **state)
{
	struct conf c;

	(void)state;
	conf_ok("authors: { hold_if_rejected = { ratio = 1; }; };\n", &c);
	assert_true(c.rules.authors.rejected_ratio == 1.0);
	conf_free(&c);
	conf_fails("authors: { hold_if_rejected = { ratio = 2; }; };\n",
	    "@:1: ratio: must be a number from 0 to 1");
}

/* With queue.batch left at its default the error has line 0. */
static void
test_bug_batch_inflight_line(void **state)
{
	(void)state;
	conf_fails("queue: {\n  max_inflight = 100;\n};\n",
	    "@:2: queue.batch (256) is larger than queue.max_inflight (100)");
}

/* An unbracketed IPv6 address passes as host ":" and port 1. */
static void
test_bug_metrics_listen_v6(void **state)
{
	(void)state;
	conf_fails("metrics: { listen = \"::1\"; };\n",
	    "@:1: metrics.listen: must be host:port or [address]:port");
}

/* A regex that matches the empty string fails without its file:line. */
static void
test_bug_empty_regex_line(void **state)
{
	struct conf c;
	struct ruleset *rs = NULL;
	const char *p;
	char *cause = NULL, *prefix;

	(void)state;
	p = write_conf("empty-re.conf",
	    "keywords: (\n  { name = \"k\"; action = \"hold\";\n"
	    "    words = [ \"/a*/\" ]; }\n);\n");
	if (conf_load(p, &c, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(rules_build(&c.rules, &rs, &cause), -1);
	prefix = expand("@:3: regular expression /a*/ can match nothing at "
	                "all",
	    p);
	if (strncmp(cause, prefix, strlen(prefix)) != 0)
		fail_msg("got \"%s\", wanted it to start with \"%s\"", cause,
		    prefix);
	free(prefix);
	free(cause);
	conf_free(&c);
}

static int
setup(void **state)
{
	(void)state;
	umask(077); /* files the tests write are private, as they should be */
	return (mkdtemp(tmpdir) == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_defaults_rules),
	    cmocka_unit_test(test_empty_groups),
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_example_builds),
	    cmocka_unit_test(test_unix_socket),
	    cmocka_unit_test(test_range_errors),
	    cmocka_unit_test(test_range_bounds),
	    cmocka_unit_test(test_range_int64),
	    cmocka_unit_test(test_int64_value),
	    cmocka_unit_test(test_integer_type_errors),
	    cmocka_unit_test(test_string_type_errors),
	    cmocka_unit_test(test_log_decisions),
	    cmocka_unit_test(test_log_target),
	    cmocka_unit_test(test_queue_trim),
	    cmocka_unit_test(test_queue_format),
	    cmocka_unit_test(test_name_options),
	    cmocka_unit_test(test_unknown_option),
	    cmocka_unit_test(test_unknown_in_each_group),
	    cmocka_unit_test(test_unknown_top_level),
	    cmocka_unit_test(test_group_not_a_group),
	    cmocka_unit_test(test_keyword_missing_name),
	    cmocka_unit_test(test_keyword_missing_action),
	    cmocka_unit_test(test_keyword_bad_action),
	    cmocka_unit_test(test_keyword_match),
	    cmocka_unit_test(test_keyword_no_words),
	    cmocka_unit_test(test_keyword_empty_words),
	    cmocka_unit_test(test_keyword_words_type),
	    cmocka_unit_test(test_keyword_entry_lines),
	    cmocka_unit_test(test_keyword_file_not_found),
	    cmocka_unit_test(test_keyword_file_relative),
	    cmocka_unit_test(test_keyword_file_cwd),
	    cmocka_unit_test(test_keyword_file_absolute),
	    cmocka_unit_test(test_keyword_words_and_file),
	    cmocka_unit_test(test_keyword_file_errors),
	    cmocka_unit_test(test_keyword_unknown_option),
	    cmocka_unit_test(test_rule_name_duplicate),
	    cmocka_unit_test(test_rule_name_case),
	    cmocka_unit_test(test_rule_name_reserved),
	    cmocka_unit_test(test_rule_name_invalid),
	    cmocka_unit_test(test_rate_missing_fields),
	    cmocka_unit_test(test_rate_bad_per),
	    cmocka_unit_test(test_rate_ranges),
	    cmocka_unit_test(test_content_rules),
	    cmocka_unit_test(test_content_errors),
	    cmocka_unit_test(test_rate_bounds),
	    cmocka_unit_test(test_rate_too_many),
	    cmocka_unit_test(test_rate_unknown_option),
	    cmocka_unit_test(test_authors_premod),
	    cmocka_unit_test(test_authors_unknown),
	    cmocka_unit_test(test_hold_if_rejected_defaults),
	    cmocka_unit_test(test_hold_if_rejected_overrides),
	    cmocka_unit_test(test_hold_if_rejected_errors),
	    cmocka_unit_test(test_password_file),
	    cmocka_unit_test(test_password_file_absolute),
	    cmocka_unit_test(test_password_file_missing),
	    cmocka_unit_test(test_password_file_empty),
	    cmocka_unit_test(test_redis_user_without_password),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_include_error_path),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_many_errors),
	    cmocka_unit_test(test_batch_inflight),
	    cmocka_unit_test(test_metrics_listen),
	    cmocka_unit_test(test_allow),
	    cmocka_unit_test(test_carry_restart_only),
	    cmocka_unit_test(test_carry_reloadable),
	    cmocka_unit_test(test_carry_unchanged),
	    cmocka_unit_test(test_build_bad_regex),
	    cmocka_unit_test(test_load_rules_every_error),
	    cmocka_unit_test(test_build_empty_entries),
	    cmocka_unit_test(test_keyword_file_fifo),
	    cmocka_unit_test(test_keyword_file_not_regular),
	    cmocka_unit_test(test_password_file_not_regular),
	    cmocka_unit_test(test_password_file_length),
	    cmocka_unit_test(test_password_file_mode),
	    cmocka_unit_test(test_password_file_owner),
	    cmocka_unit_test(test_sentinels),
	    cmocka_unit_test(test_sentinels_pairing),
	    cmocka_unit_test(test_sentinels_errors),
	    cmocka_unit_test(test_sentinel_password_file),
	    cmocka_unit_test(test_carry_sentinels),
	    cmocka_unit_test(test_bug_ratio_integer),
	    cmocka_unit_test(test_bug_batch_inflight_line),
	    cmocka_unit_test(test_bug_metrics_listen_v6),
	    cmocka_unit_test(test_bug_empty_regex_line),
	    cmocka_unit_test(test_cluster),
	};

	log_init(LOG_TO_STDERR, 0);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
