/*
 * test_entry.c -- the checks of stream entries (entry.c): every kind of
 * dead letter has its exact reason, and good entries pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

/* Validate fields given as NUL-terminated strings. */
static char *
check(const char *const *fields, size_t n, long deliveries)
{
	char *fv[80];
	size_t len[80], i;

	for (i = 0; i < n; i++) {
		fv[i] = (char *)(uintptr_t)fields[i];
		len[i] = strlen(fields[i]);
	}
	return (entry_validate(fv, len, n, deliveries, 5, 65536));
}

static void
test_good_entry(void **state)
{
	static const char *const f[] = { "id", "81231", "author", "u-77",
		"ip", "203.0.113.9", "thread", "pk-us-ties", "body", "text" };

	(void)state;
	assert_null(check(f, 10, 1));
}

static void
test_missing_id(void **state)
{
	static const char *const f[] = { "body", "text" };
	char *err = check(f, 2, 1);

	(void)state;
	assert_string_equal(err, "missing field: id");
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_entry),
		cmocka_unit_test(test_missing_id),
	};

	log_init(LOG_TO_STDERR, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
