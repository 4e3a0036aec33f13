/*
 * test_entry.c -- the checks of stream entries (entry.c): every kind of
 * dead letter has its exact reason, and good entries pass.  Fields are
 * given with explicit lengths, so values may hold NUL bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define MAX_FIELDS 160

/* One field name or value with its length (it may hold NUL bytes). */
struct fld {
	const char *p;
	size_t len;
};

/* A string literal with its length, NUL bytes included. */
#define S(x) \
	{ \
		(x), sizeof(x) - 1 \
	}

#define REASON_NAME \
	"bad field name: must be 1 to 64 characters of A-Z a-z 0-9 . _ : -"
#define REASON_ID "bad id: must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"
#define REASON_AUTHOR \
	"bad author: must be 1 to 256 bytes of UTF-8 without control " \
	"characters"
#define REASON_THREAD \
	"bad thread: must be 1 to 256 bytes of UTF-8 without control " \
	"characters"

/* Validate n fields with explicit limits. */
static char *
validate(const struct fld *f, size_t n, long deliveries, long max_deliveries,
    long max_body)
{
	char *fv[MAX_FIELDS];
	size_t len[MAX_FIELDS], i;

	assert_true(n <= MAX_FIELDS);
	for (i = 0; i < n; i++) {
		fv[i] = (char *)(uintptr_t)f[i].p;
		len[i] = f[i].len;
	}
	return (
	    entry_validate(fv, len, n, deliveries, max_deliveries, max_body));
}

/* Validate with the default limits (5 deliveries, 64 KiB bodies). */
static char *
check(const struct fld *f, size_t n)
{
	return (validate(f, n, 1, 5, 65536));
}

/* Check that the fields fail with exactly want. */
static void
expect_reason(const struct fld *f, size_t n, const char *want)
{
	char *err = check(f, n);

	assert_non_null(err);
	assert_string_equal(err, want);
	free(err);
}

/* Check that id 1, the given field and a body pass or fail with want. */
static void
expect_field(const char *name, const char *v, size_t vlen, const char *want)
{
	struct fld f[6] = {S("id"), S("1"), {name, strlen(name)}, {v, vlen},
	    S("body"), S("text")};
	char *err = check(f, 6);

	if (want == NULL) {
		if (err != NULL)
			fail_msg("%s=\"%s\": unexpected \"%s\"", name, v, err);
		return;
	}
	if (err == NULL)
		fail_msg("%s=\"%s\": passed, wanted \"%s\"", name, v, want);
	assert_string_equal(err, want);
	free(err);
}

/* Check a body; want NULL means it must pass. */
static void
expect_body(const char *b, size_t len, const char *want)
{
	struct fld f[4] = {S("id"), S("1"), S("body"), {b, len}};
	char *err = check(f, 4);

	if (want == NULL) {
		if (err != NULL)
			fail_msg("unexpected \"%s\"", err);
		return;
	}
	assert_non_null(err);
	assert_string_equal(err, want);
	free(err);
}

static void
test_good_entry(void **state)
{
	static const struct fld f[] = {S("id"), S("81231"), S("author"),
	    S("u-77"), S("ip"), S("203.0.113.9"), S("thread"), S("pk-us-ties"),
	    S("body"), S("text")};

	(void)state;
	assert_null(check(f, 10));
}

static void
test_good_minimal(void **state)
{
	static const struct fld f[] = {S("body"), S("x"), S("id"), S("a")};
	static const struct fld empty[] = {S("id"), S("a"), S("body"), S("")};

	(void)state;
	assert_null(check(f, 4));
	assert_null(check(empty, 4)); /* an empty body can be judged */
}

static void
test_missing_id(void **state)
{
	static const struct fld f[] = {S("body"), S("text")};
	static const struct fld none[] = {S("x"), S("y")};
	static const struct fld upper[] = {S("ID"), S("1"), S("body"), S("t")};

	(void)state;
	expect_reason(f, 2, "missing field: id");
	expect_reason(none, 2, "missing field: id"); /* id before body */
	expect_reason(upper, 4, "missing field: id"); /* names are exact */
	expect_reason(NULL, 0, "missing field: id");
}

static void
test_missing_body(void **state)
{
	static const struct fld f[] = {S("id"), S("1")};
	static const struct fld g[] = {
	    S("id"), S("1"), S("author"), S("a"), S("Body"), S("x")};

	(void)state;
	expect_reason(f, 2, "missing field: body");
	expect_reason(g, 6, "missing field: body");
}

static void
test_deliveries(void **state)
{
	static const struct fld f[] = {S("id"), S("1"), S("body"), S("t")};
	static const struct fld odd[] = {S("id")};
	char *err;

	(void)state;
	assert_null(validate(f, 4, 5, 5, 65536));
	assert_null(validate(f, 4, 1, 1, 65536));
	err = validate(f, 4, 6, 5, 65536);
	assert_string_equal(
	    err, "too many deliveries (6, queue.max_deliveries is 5)");
	free(err);
	err = validate(f, 4, 1001, 1000, 65536);
	assert_string_equal(
	    err, "too many deliveries (1001, queue.max_deliveries is 1000)");
	free(err);
	/* Checked first: even a malformed entry reports its deliveries. */
	err = validate(odd, 1, 2, 1, 65536);
	assert_string_equal(
	    err, "too many deliveries (2, queue.max_deliveries is 1)");
	free(err);
}

static void
test_odd_fields(void **state)
{
	static const struct fld one[] = {S("id")};
	static const struct fld three[] = {S("id"), S("1"), S("body")};
	static const struct fld bad[] = {S(""), S("1"), S("body")};

	(void)state;
	expect_reason(one, 1, "malformed entry: odd number of fields");
	expect_reason(three, 3, "malformed entry: odd number of fields");
	/* The count is checked before any name. */
	expect_reason(bad, 3, "malformed entry: odd number of fields");
}

static void
test_field_name_empty(void **state)
{
	static const struct fld f[] = {
	    S("id"), S("1"), S(""), S("v"), S("body"), S("t")};

	(void)state;
	expect_reason(f, 6, REASON_NAME);
}

static void
test_field_name_length(void **state)
{
	char name[66];
	struct fld f[6] = {
	    S("id"), S("1"), {name, 64}, S("v"), S("body"), S("t")};
	char *err;

	(void)state;
	memset(name, 'n', sizeof name - 1);
	name[64] = '\0';
	assert_null(check(f, 6));
	name[64] = 'n';
	name[65] = '\0';
	f[2].len = 65;
	err = check(f, 6);
	assert_string_equal(err, REASON_NAME);
	free(err);
}

static void
test_field_name_chars(void **state)
{
	static const char *const bad[] = {"na me", "a/b", "na\xc3\xafve",
	    "tab\there", "semi;colon", "a=b", "x\n", "\x7f"};
	static const char *const good[] = {"a.b", "a_b", "a:b", "a-b", "A9z"};
	struct fld f[6] = {S("id"), S("1"), S(""), S("v"), S("body"), S("t")};
	size_t i;
	char *err;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f[2].p = bad[i];
		f[2].len = strlen(bad[i]);
		err = check(f, 6);
		if (err == NULL)
			fail_msg("field name \"%s\" passed", bad[i]);
		assert_string_equal(err, REASON_NAME);
		free(err);
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		f[2].p = good[i];
		f[2].len = strlen(good[i]);
		if ((err = check(f, 6)) != NULL)
			fail_msg("field name \"%s\": %s", good[i], err);
	}
}

static void
test_field_name_nul(void **state)
{
	static const struct fld f[] = {
	    S("id"), S("1"), S("a\0b"), S("v"), S("body"), S("t")};
	static const struct fld g[] = {S("id\0"), S("1"), S("body"), S("t")};

	(void)state;
	expect_reason(f, 6, REASON_NAME);
	expect_reason(g, 4, REASON_NAME);
}

static void
test_duplicate_field(void **state)
{
	static const struct fld id[] = {
	    S("id"), S("1"), S("body"), S("t"), S("id"), S("2")};
	static const struct fld body[] = {
	    S("id"), S("1"), S("body"), S("t"), S("body"), S("u")};
	static const struct fld extra[] = {S("id"), S("1"), S("lang"), S("en"),
	    S("body"), S("t"), S("lang"), S("de")};
	static const struct fld cased[] = {S("id"), S("1"), S("lang"), S("en"),
	    S("Lang"), S("de"), S("body"), S("t")};
	static const struct fld prefix[] = {S("id"), S("1"), S("lang"), S("en"),
	    S("lang2"), S("de"), S("body"), S("t")};

	(void)state;
	expect_reason(id, 6, "duplicate field: id");
	expect_reason(body, 6, "duplicate field: body");
	expect_reason(extra, 8, "duplicate field: lang");
	assert_null(check(cased, 8));
	assert_null(check(prefix, 8));
}

static void
test_reserved_fields(void **state)
{
	static const char *const reserved[] = {"status", "reasons", "matched",
	    "decided_at", "decided_by", "ruleset", "stream_id", "note",
	    "judged_at"};
	static const char *const near[] = {
	    "Status", "statuses", "notes", "decided", "stream"};
	struct fld f[6] = {S("id"), S("1"), S(""), S("x"), S("body"), S("t")};
	char *err, *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		f[2].p = reserved[i];
		f[2].len = strlen(reserved[i]);
		xasprintf(&want, "reserved field: %s", reserved[i]);
		err = check(f, 6);
		if (err == NULL)
			fail_msg("%s passed", reserved[i]);
		assert_string_equal(err, want);
		free(err);
		free(want);
	}
	for (i = 0; i < sizeof near / sizeof near[0]; i++) {
		f[2].p = near[i];
		f[2].len = strlen(near[i]);
		if ((err = check(f, 6)) != NULL)
			fail_msg("%s: %s", near[i], err);
	}
}

static void
test_id_empty(void **state)
{
	static const struct fld f[] = {S("id"), S(""), S("body"), S("t")};

	(void)state;
	expect_reason(f, 4, REASON_ID);
}

static void
test_id_length(void **state)
{
	char id[130];
	struct fld f[4] = {S("id"), {id, 128}, S("body"), S("t")};
	char *err;

	(void)state;
	memset(id, '7', sizeof id);
	id[128] = '\0';
	assert_null(check(f, 4));
	id[128] = '7';
	id[129] = '\0';
	f[1].len = 129;
	err = check(f, 4);
	assert_string_equal(err, REASON_ID);
	free(err);
}

static void
test_id_chars(void **state)
{
	static const char *const bad[] = {"1 2", "a/b", "a+b", "caf\xc3\xa9",
	    "x\n", "a,b", "<1>", "\"1\"", "a*b"};
	static const char *const good[] = {
	    "81231", "a.b_c:d-e", "ABCxyz019", "-", "...", ":"};
	size_t i;
	char *err;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fld f[4] = {
		    S("id"), {bad[i], strlen(bad[i])}, S("body"), S("t")};

		err = check(f, 4);
		if (err == NULL)
			fail_msg("id \"%s\" passed", bad[i]);
		assert_string_equal(err, REASON_ID);
		free(err);
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct fld f[4] = {
		    S("id"), {good[i], strlen(good[i])}, S("body"), S("t")};

		if ((err = check(f, 4)) != NULL)
			fail_msg("id \"%s\": %s", good[i], err);
	}
}

static void
test_id_nul(void **state)
{
	static const struct fld f[] = {
	    S("id"), S("12\0003"), S("body"), S("t")};
	static const struct fld g[] = {S("id"), S("123\0"), S("body"), S("t")};

	(void)state;
	expect_reason(f, 4, REASON_ID);
	expect_reason(g, 4, REASON_ID);
}

static void
test_body_too_large(void **state)
{
	static const struct fld f17[] = {
	    S("id"), S("1"), S("body"), S("12345678901234567")};
	static const struct fld f16[] = {
	    S("id"), S("1"), S("body"), S("1234567890123456")};
	char *err;

	(void)state;
	assert_null(validate(f16, 4, 1, 5, 16));
	err = validate(f17, 4, 1, 5, 16);
	assert_string_equal(
	    err, "body too large: 17 bytes (queue.max_body is 16)");
	free(err);
}

static void
test_body_64k(void **state)
{
	struct fld f[4] = {S("id"), S("1"), S("body"), {NULL, 65537}};
	char *b = xmalloc(65538);
	char *err;

	(void)state;
	memset(b, 'a', 65537);
	b[65537] = '\0';
	f[3].p = b;
	expect_body(b, 65536, NULL);
	err = check(f, 4);
	assert_string_equal(
	    err, "body too large: 65537 bytes (queue.max_body is 65536)");
	free(err);
	free(b);
}

static void
test_body_size_before_utf8(void **state)
{
	static const struct fld f[] = {S("id"), S("1"), S("body"),
	    S("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	      "\xff")};
	char *err;

	(void)state;
	err = validate(f, 4, 1, 5, 16);
	assert_string_equal(
	    err, "body too large: 17 bytes (queue.max_body is 16)");
	free(err);
}

static void
test_body_utf8_overlong(void **state)
{
	(void)state;
	expect_body("ab\xc0\x80", 4, "body is not valid UTF-8 (at byte 2)");
	expect_body("\xc1\xbf", 2, "body is not valid UTF-8 (at byte 0)");
	expect_body(
	    "xyz\xe0\x80\x80", 6, "body is not valid UTF-8 (at byte 3)");
	expect_body("\xe0\x9f\xbf", 3, "body is not valid UTF-8 (at byte 0)");
	expect_body(
	    "12345\xf0\x80\x80\x80", 9, "body is not valid UTF-8 (at byte 5)");
	expect_body(
	    "\xf0\x8f\xbf\xbf", 4, "body is not valid UTF-8 (at byte 0)");
}

static void
test_body_utf8_surrogate(void **state)
{
	(void)state;
	expect_body("x\xed\xa0\x80", 4, "body is not valid UTF-8 (at byte 1)");
	expect_body("\xed\xbf\xbfyy", 5, "body is not valid UTF-8 (at byte 0)");
	/* Next to the surrogates: U+D7FF and U+E000 are fine. */
	expect_body("\xed\x9f\xbf\xee\x80\x80", 6, NULL);
}

static void
test_body_utf8_too_high(void **state)
{
	(void)state;
	expect_body(
	    "ab\xf4\x90\x80\x80", 6, "body is not valid UTF-8 (at byte 2)");
	expect_body(
	    "\xf5\x80\x80\x80", 4, "body is not valid UTF-8 (at byte 0)");
	expect_body(
	    "\xf7\xbf\xbf\xbf", 4, "body is not valid UTF-8 (at byte 0)");
	expect_body(
	    "\xf8\x88\x80\x80\x80", 5, "body is not valid UTF-8 (at byte 0)");
	expect_body("a\xfe", 2, "body is not valid UTF-8 (at byte 1)");
	expect_body("a\xff", 2, "body is not valid UTF-8 (at byte 1)");
	expect_body("\xf4\x8f\xbf\xbf", 4, NULL); /* U+10FFFF */
}

static void
test_body_utf8_truncated(void **state)
{
	(void)state;
	expect_body("abc\xe2\x82", 5, "body is not valid UTF-8 (at byte 3)");
	expect_body("abc\xc3", 4, "body is not valid UTF-8 (at byte 3)");
	expect_body("\xf0\x9f\x98", 3, "body is not valid UTF-8 (at byte 0)");
	expect_body("\xe2\x82z", 3, "body is not valid UTF-8 (at byte 0)");
	expect_body("\xc3 ", 2, "body is not valid UTF-8 (at byte 0)");
	/* A continuation that is really the next lead byte. */
	expect_body("\xe2\xc3\xa9", 3, "body is not valid UTF-8 (at byte 0)");
}

static void
test_body_utf8_continuation(void **state)
{
	(void)state;
	expect_body("\x80", 1, "body is not valid UTF-8 (at byte 0)");
	expect_body("a\xbf"
	            "b",
	    3, "body is not valid UTF-8 (at byte 1)");
	expect_body(
	    "caf\xc3\xa9\xa9", 6, "body is not valid UTF-8 (at byte 5)");
}

static void
test_body_utf8_valid(void **state)
{
	(void)state;
	expect_body("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, NULL);
	expect_body("\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85", 8, NULL);
	expect_body("\xef\xbf\xbf\xc2\x80\xdf\xbf", 7, NULL);
	expect_body("\xe0\xa0\x80\xf0\x90\x80\x80", 7, NULL);
}

static void
test_body_nul_bytes(void **state)
{
	(void)state;
	expect_body("a\0b\0\0c", 6, NULL);
	expect_body("\0", 1, NULL);
}

static void
test_entry_utf8_direct(void **state)
{
	size_t bad = 12345;

	(void)state;
	assert_int_equal(entry_utf8("", 0, &bad), 0);
	assert_int_equal(bad, 12345); /* untouched on success */
	assert_int_equal(entry_utf8("h\xc3\xa9llo", 6, &bad), 0);
	assert_int_equal(entry_utf8("h\xc3\xa9llo", 2, &bad), -1);
	assert_int_equal(bad, 1); /* the length bounds the check */
	assert_int_equal(entry_utf8("ok\xed\xa0\x80", 5, &bad), -1);
	assert_int_equal(bad, 2);
	assert_int_equal(entry_utf8("\xc0\xaf", 2, &bad), -1);
	assert_int_equal(bad, 0);
}

static void
test_author_bad(void **state)
{
	static const char *const bad[] = {"u\t77", "u\x01", "\x7f", "u\n",
	    "u\xff", "u\xc3", "\xed\xa0\x80", "u\xe2\x80\xa8"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_field("author", bad[i], strlen(bad[i]), REASON_AUTHOR);
	expect_field("author", "a\0b", 3, REASON_AUTHOR);
	/* empty: as if absent; spaces are allowed */
	expect_field("author", "", 0, NULL);
	expect_field("author", "John Smith", 10, NULL);
	expect_field("author", " ", 1, NULL);
}

static void
test_author_length(void **state)
{
	char a[258];

	(void)state;
	memset(a, 'a', sizeof a);
	a[256] = '\0';
	expect_field("author", a, 256, NULL);
	a[256] = 'a';
	a[257] = '\0';
	expect_field("author", a, 257, REASON_AUTHOR);
}

static void
test_author_good(void **state)
{
	(void)state;
	expect_field("author", "u-77", 4, NULL);
	expect_field("author",
	    "\xc3\xbc"
	    "n\xc3\xaf"
	    "c\xc3\xb6"
	    "de",
	    9, NULL);
	expect_field("author", "alice@example.com", 17, NULL);
	expect_field("author", "\xe0\xa4\xa8\xe0\xa4\xae", 6, NULL);
}

static void
test_thread_bad(void **state)
{
	char t[258];

	(void)state;
	expect_field("thread", "pk us ties", 10, NULL);
	expect_field("thread", "x\r", 2, REASON_THREAD);
	expect_field("thread", "", 0, NULL);
	expect_field("thread", "\xc0\x80", 2, REASON_THREAD);
	memset(t, 't', sizeof t);
	t[257] = '\0';
	expect_field("thread", t, 257, REASON_THREAD);
	expect_field("thread", t, 256, NULL);
	expect_field("thread", "pk-us-ties", 10, NULL);
}

/*
 * An ip that is no address never makes a dead letter (the daemon judges
 * the comment without ip rules, and says so in its warnings); whether it
 * is one is entry_ip_canon()'s to say, below.
 */
static void
test_ip_bad(void **state)
{
	static const char *const bad[] = {"garbage", "1.2.3", "1.2.3.4.5",
	    "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24", "2001:db8:::1",
	    "2001:db8::g", "[::1]", "localhost", "1.2.3.-4", ""};
	char out[ENTRY_IP_MAX], big[9000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect_field("ip", bad[i], strlen(bad[i]), NULL);
		assert_int_equal(
		    entry_ip_canon(bad[i], strlen(bad[i]), out, sizeof out),
		    -1);
	}
	/* a long one counts with the extra fields, so the entry stays bounded */
	memset(big, '1', sizeof big);
	expect_field("ip", big, ENTRY_IP_TEXT, NULL);
	{
		struct fld f[] = {S("id"), S("1"), S("body"), S("t"), S("ip"),
		    {big, sizeof big}};
		char *err = validate(f, 6, 1, 5, 1024);

		assert_non_null(err);
		assert_string_equal(err,
		    "extra fields too large: 9000 bytes in all (at most 8192)");
		free(err);
	}
}

/* The whole value is the address: no NUL byte may hide garbage. */
static void
test_ip_nul(void **state)
{
	char out[ENTRY_IP_MAX];

	(void)state;
	assert_int_equal(
	    entry_ip_canon("1.2.3.4\0garbage", 15, out, sizeof out), -1);
	assert_int_equal(entry_ip_canon("::1\0x", 5, out, sizeof out), -1);
	assert_int_equal(entry_ip_canon("1.2.3.4\0", 8, out, sizeof out), -1);
}

static void
test_ip_good(void **state)
{
	static const char *const good[] = {"203.0.113.9", "0.0.0.0",
	    "255.255.255.255", "2001:db8::1", "::1", "::", "::ffff:192.0.2.1",
	    "fe80::1:2:3:4", "2001:0db8:0000:0000:0000:ff00:0042:8329"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		expect_field("ip", good[i], strlen(good[i]), NULL);
}

/* Build id, body and then nextra fields x0..x(nextra-1). */
static char *
check_extras(size_t nextra, int all_known)
{
	struct fld f[MAX_FIELDS];
	char names[40][24];
	size_t n = 0, i;

	f[n++] = (struct fld)S("id");
	f[n++] = (struct fld)S("1");
	f[n++] = (struct fld)S("body");
	f[n++] = (struct fld)S("t");
	if (all_known) {
		f[n++] = (struct fld)S("author");
		f[n++] = (struct fld)S("a");
		f[n++] = (struct fld)S("ip");
		f[n++] = (struct fld)S("::1");
		f[n++] = (struct fld)S("thread");
		f[n++] = (struct fld)S("t");
	}
	for (i = 0; i < nextra; i++) {
		snprintf(names[i], sizeof names[i], "x%zu", i);
		f[n].p = names[i];
		f[n++].len = strlen(names[i]);
		f[n++] = (struct fld)S("v");
	}
	return (check(f, n));
}

static void
test_extra_fields(void **state)
{
	char *err;

	(void)state;
	assert_null(check_extras(0, 0));
	assert_null(check_extras(32, 0));
	assert_null(check_extras(32, 1));
	err = check_extras(33, 0);
	assert_string_equal(err,
	    "too many fields (33 besides id, body, author, ip and thread; "
	    "at most 32)");
	free(err);
	err = check_extras(33, 1);
	assert_string_equal(err,
	    "too many fields (33 besides id, body, author, ip and thread; "
	    "at most 32)");
	free(err);
	err = check_extras(40, 1);
	assert_string_equal(err,
	    "too many fields (40 besides id, body, author, ip and thread; "
	    "at most 32)");
	free(err);
}

static void
test_extra_field_too_large(void **state)
{
	static const struct fld f[] = {S("id"), S("1"), S("lang"),
	    S("12345678901234567"), S("body"), S("t")};
	static const struct fld g[] = {S("id"), S("1"), S("lang"),
	    S("1234567890123456"), S("body"), S("t")};
	static const struct fld bin[] = {
	    S("id"), S("1"), S("blob"), S("\xff\x00\xfe"), S("body"), S("t")};
	char *err;

	(void)state;
	err = validate(f, 6, 1, 5, 16);
	assert_string_equal(err, "field lang too large: 17 bytes");
	free(err);
	assert_null(validate(g, 6, 1, 5, 16));
	/* Other fields are kept verbatim: any bytes. */
	assert_null(check(bin, 6));
}

static void
test_first_problem_wins(void **state)
{
	static const struct fld f[] = {
	    S("thread"), S("a\nb"), S("id"), S(""), S("body"), S("t")};
	static const struct fld g[] = {
	    S("id"), S("bad id"), S("thread"), S("a\nb"), S("body"), S("t")};
	static const struct fld h[] = {
	    S("id"), S("1"), S("status"), S("x"), S("id"), S("1")};

	(void)state;
	expect_reason(f, 6, REASON_THREAD);
	expect_reason(g, 6, REASON_ID);
	expect_reason(h, 6, "reserved field: status");
}

/* Check that the fields fail with a reason of the given kind. */
static void
expect_kind(const struct fld *f, size_t n, long deliveries, long max_body,
    const char *kind)
{
	char *err = validate(f, n, deliveries, 5, max_body);

	assert_non_null(err);
	if (strcmp(entry_kind_name(entry_error_kind(err)), kind) != 0)
		fail_msg("\"%s\" is of kind \"%s\", wanted \"%s\"", err,
		    entry_kind_name(entry_error_kind(err)), kind);
	free(err);
}

/*
 * Every reason has a fixed kind (the metrics label); field names an entry
 * chooses never show in a kind, whatever the name.
 */
static void
test_error_kinds(void **state)
{
	static const struct fld dup[] = {
	    S("id"), S("1"), S("zq:x7"), S("a"), S("zq:x7"), S("b")};
	static const struct fld big[] = {
	    S("id"), S("1"), S("too:large:x"), S("12345"), S("body"), S("t")};
	static const struct fld odd[] = {S("id")};
	static const struct fld res[] = {S("note"), S("x")};
	static const struct fld name[] = {S("a b"), S("x")};
	static const struct fld body[] = {
	    S("id"), S("1"), S("body"), S("\xff")};
	static const struct fld ok[] = {S("id"), S("1"), S("body"), S("t")};
	static const struct fld nobody[] = {S("id"), S("1")};
	static const struct fld id[] = {S("id"), S("a b")};
	struct fld many[2 * 33 + 4] = {S("id"), S("1"), S("body"), S("t")};
	char names[33][8];
	size_t i, j;

	(void)state;
	expect_kind(dup, 6, 1, 64, "duplicate field");
	expect_kind(big, 6, 1, 4, "field too large");
	expect_kind(odd, 1, 1, 64, "malformed entry");
	expect_kind(res, 2, 1, 64, "reserved field");
	expect_kind(name, 2, 1, 64, "bad field name");
	expect_kind(body, 4, 1, 64, "body is not valid UTF-8");
	expect_kind(ok, 4, 1, 0, "body too large");
	expect_kind(ok, 4, 6, 64, "too many deliveries");
	expect_kind(nobody, 2, 1, 64, "missing field");
	expect_kind(id, 2, 1, 64, "bad id");
	for (i = 0; i < 33; i++) {
		snprintf(names[i], sizeof names[i], "x%zu", i);
		many[4 + 2 * i] = (struct fld){names[i], strlen(names[i])};
		many[5 + 2 * i] = (struct fld)S("v");
	}
	expect_kind(many, 4 + 2 * 33, 1, 64, "too many fields");
	assert_string_equal(
	    entry_kind_name(entry_error_kind("entry has no fields")),
	    "entry has no fields");
	assert_string_equal(
	    entry_kind_name(entry_error_kind(REASON_AUTHOR)), "bad author");
	assert_string_equal(
	    entry_kind_name(entry_error_kind(REASON_THREAD)), "bad thread");
	assert_string_equal(
	    entry_kind_name(entry_error_kind("something new: x")), "other");
	assert_string_equal(entry_kind_name(entry_error_kind("")), "other");
	assert_string_equal(entry_kind_name(ENTRY_KINDS), "other");
	for (i = 0; i < ENTRY_KINDS; i++) {
		for (j = 0; j < i; j++)
			assert_string_not_equal(
			    entry_kind_name(i), entry_kind_name(j));
	}
}

/*
 * Regression tests: found failing, then fixed.
 */

/* C1 control characters (U+0080-U+009F) pass as author and thread. */
static void
test_bug_author_c1_control(void **state)
{
	(void)state;
	expect_field("author", "u\xc2\x85x", 4, REASON_AUTHOR); /* NEL */
	expect_field("thread",
	    "t\xc2\x9b"
	    "1m",
	    5, REASON_THREAD); /* CSI */
}

/*
 * 60,000 fields: the count is checked before names and duplicates, so the
 * answer is "too many fields" whatever the names are (they all repeat one
 * name here, which the duplicate check would also catch, quadratically in
 * the old order).
 */
static void
test_huge_field_count(void **state)
{
	size_t n = 120000, i;
	char **fv = calloc(n, sizeof *fv);
	size_t *len = calloc(n, sizeof *len);
	char *err;

	(void)state;
	assert_non_null(fv);
	assert_non_null(len);
	for (i = 0; i < n; i += 2) {
		fv[i] = (char *)(uintptr_t)(i == 0 ? "id" : "x");
		len[i] = strlen(fv[i]);
		fv[i + 1] = (char *)(uintptr_t) "1";
		len[i + 1] = 1;
	}
	err = entry_validate(fv, len, n, 1, 5, 65536);
	assert_string_equal(err,
	    "too many fields (59999 besides id, body, author, ip and thread; "
	    "at most 32)");
	free(err);
	free(fv);
	free(len);
}

/* The duplicate check finds a repeat anywhere among the 37 fields. */
static void
test_duplicate_last(void **state)
{
	char names[40][8];
	struct fld f[80];
	size_t n = 0, i;

	(void)state;
	f[n++] = (struct fld)S("id");
	f[n++] = (struct fld)S("1");
	f[n++] = (struct fld)S("body");
	f[n++] = (struct fld)S("t");
	for (i = 0; i < 31; i++) {
		snprintf(names[i], sizeof names[i], "x%zu", i);
		f[n].p = names[i];
		f[n++].len = strlen(names[i]);
		f[n++] = (struct fld)S("v");
	}
	f[n++] = (struct fld)S("x0");
	f[n++] = (struct fld)S("w");
	expect_reason(f, n, "duplicate field: x0");
	f[n - 2] = (struct fld)S("x31");
	assert_null(check(f, n));
}

/* The extra fields' values together: at most max_body (8 KiB at least). */
static void
test_extra_total(void **state)
{
	static char big[6000];
	struct fld f[8] = {S("id"), S("1"), S("body"), S("t")};
	char *err;

	(void)state;
	memset(big, 'v', sizeof big);
	f[4] = (struct fld)S("a");
	f[5] = (struct fld){big, 5000};
	f[6] = (struct fld)S("b");
	f[7] = (struct fld){big, 3192};
	assert_null(check(f, 8));
	assert_null(validate(f, 8, 1, 5, 6000));
	f[7].len = 3193;
	assert_null(check(f, 8)); /* max_body 64 KiB allows 64 KiB */
	err = validate(f, 8, 1, 5, 6000);
	assert_string_equal(
	    err, "extra fields too large: 8193 bytes in all (at most 8192)");
	free(err);
	err = validate(f, 8, 1, 5, 4096);
	assert_string_equal(err, "field a too large: 5000 bytes");
	free(err);
}

/* An entry modq_read cut: the reason from sizes alone. */
static void
test_cut_reason(void **state)
{
	char *fv[6] = {(char *)(uintptr_t) "id", (char *)(uintptr_t) "big",
	    (char *)(uintptr_t) "author", (char *)(uintptr_t) "u",
	    (char *)(uintptr_t) "body", (char *)(uintptr_t) "aaaa"};
	size_t len[6] = {2, 3, 6, 1, 4, 52428800};
	char *err;

	(void)state;
	err = entry_cut_reason(fv, len, 6, 6, 65536);
	assert_string_equal(
	    err, "body too large: 52428800 bytes (queue.max_body is 65536)");
	free(err);
	err = entry_cut_reason(fv, len, 6, 200002, 65536);
	assert_string_equal(err,
	    "too many fields (99998 besides id, body, author, ip and thread; "
	    "at most 32)");
	free(err);
	len[3] = 9000; /* an author cut for its size */
	err = entry_cut_reason(fv, len, 6, 6, 65536);
	assert_string_equal(err, REASON_AUTHOR);
	free(err);
}

/* One address, one text: the canonical form of IPv4 and IPv6. */
static void
test_ip_canon(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {{"192.0.2.7", "192.0.2.7"}, {"::ffff:192.0.2.7", "192.0.2.7"},
	    {"2001:DB8::1", "2001:db8::1"},
	    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	    {"::1", "::1"}, {"fe80:0:0:0:0:0:0:a", "fe80::a"}};
	char out[ENTRY_IP_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(
		    entry_ip_canon(t[i].in, strlen(t[i].in), out, sizeof out),
		    0);
		assert_string_equal(out, t[i].out);
	}
	assert_int_equal(entry_ip_canon("1.2.3", 5, out, sizeof out), -1);
	assert_int_equal(entry_ip_canon("::1\0x", 5, out, sizeof out), -1);
	assert_int_equal(entry_ip_canon("", 0, out, sizeof out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_entry),
	    cmocka_unit_test(test_good_minimal),
	    cmocka_unit_test(test_missing_id),
	    cmocka_unit_test(test_missing_body),
	    cmocka_unit_test(test_deliveries),
	    cmocka_unit_test(test_odd_fields),
	    cmocka_unit_test(test_field_name_empty),
	    cmocka_unit_test(test_field_name_length),
	    cmocka_unit_test(test_field_name_chars),
	    cmocka_unit_test(test_field_name_nul),
	    cmocka_unit_test(test_duplicate_field),
	    cmocka_unit_test(test_reserved_fields),
	    cmocka_unit_test(test_id_empty),
	    cmocka_unit_test(test_id_length),
	    cmocka_unit_test(test_id_chars),
	    cmocka_unit_test(test_id_nul),
	    cmocka_unit_test(test_body_too_large),
	    cmocka_unit_test(test_body_64k),
	    cmocka_unit_test(test_body_size_before_utf8),
	    cmocka_unit_test(test_body_utf8_overlong),
	    cmocka_unit_test(test_body_utf8_surrogate),
	    cmocka_unit_test(test_body_utf8_too_high),
	    cmocka_unit_test(test_body_utf8_truncated),
	    cmocka_unit_test(test_body_utf8_continuation),
	    cmocka_unit_test(test_body_utf8_valid),
	    cmocka_unit_test(test_body_nul_bytes),
	    cmocka_unit_test(test_entry_utf8_direct),
	    cmocka_unit_test(test_author_bad),
	    cmocka_unit_test(test_author_length),
	    cmocka_unit_test(test_author_good),
	    cmocka_unit_test(test_thread_bad),
	    cmocka_unit_test(test_ip_bad),
	    cmocka_unit_test(test_ip_nul),
	    cmocka_unit_test(test_ip_good),
	    cmocka_unit_test(test_extra_fields),
	    cmocka_unit_test(test_extra_field_too_large),
	    cmocka_unit_test(test_first_problem_wins),
	    cmocka_unit_test(test_error_kinds),
	    cmocka_unit_test(test_bug_author_c1_control),
	    cmocka_unit_test(test_huge_field_count),
	    cmocka_unit_test(test_duplicate_last),
	    cmocka_unit_test(test_extra_total),
	    cmocka_unit_test(test_cut_reason),
	    cmocka_unit_test(test_ip_canon),
	};

	log_init(LOG_TO_STDERR, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
