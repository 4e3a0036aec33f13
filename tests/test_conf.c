/*
 * test_conf.c -- good configs load with their defaults; bad ones fail with
 * the expected "file:line: what is wrong".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/modq-test-conf.XXXXXX";

/* Write text to NAME in the temp dir; returns the path (static). */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return (path);
}

static void
test_defaults(void **state)
{
	struct conf c;
	char *cause = NULL;

	(void)state;
	assert_int_equal(
	    conf_load(write_conf("empty.conf", ""), &c, &cause), 0);
	assert_string_equal(c.redis_host, "127.0.0.1");
	assert_int_equal(c.redis_port, 6379);
	assert_string_equal(c.prefix, "modq");
	assert_string_equal(c.stream, "incoming");
	assert_string_equal(c.group, "modqd");
	assert_int_equal(c.batch, 256);
	assert_int_equal(c.max_body, 65536);
	assert_int_equal(c.claim_idle_ms, 60000);
	assert_int_equal(c.max_deliveries, 5);
	assert_int_equal(c.ttl_days, 30);
	assert_int_equal(c.maxlen, 1000000);
	assert_null(c.metrics_listen);
	conf_free(&c);
}

static void
test_unknown_option(void **state)
{
	struct conf c;
	char *cause = NULL, *want;
	const char *p;

	(void)state;
	p = write_conf("typo.conf", "redis: {\n  hots = \"x\";\n};\n");
	assert_int_equal(conf_load(p, &c, &cause), -1);
	xasprintf(&want, "%s:2: unknown option redis.hots", p);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
}

static int
setup(void **state)
{
	(void)state;
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
	    cmocka_unit_test(test_unknown_option),
	};

	log_init(LOG_TO_STDERR, 0);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
