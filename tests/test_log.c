/*
 * test_log.c -- every log call writes exactly one line, whatever the text
 * it is given: control characters, C1, bidi characters and bytes that are
 * not UTF-8 are escaped before any sink sees them, so a comment id cannot
 * forge a journal line of its own priority.
 */
#include <errno.h>
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
#include "xmalloc.h"

static char logpath[] = "/tmp/modq-test-log.XXXXXX";
static int saved_fd = -1;

/* Send stderr to the capture file and choose the sink. */
static void
capture_begin(int sink)
{
	int fd;

	fflush(stderr);
	saved_fd = dup(2);
	fd = open(logpath, O_WRONLY | O_TRUNC);
	assert_true(saved_fd != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	log_init(sink, 0);
}

/* Restore stderr; returns what was logged (allocated). */
static char *
capture_end(void)
{
	char *buf = xmalloc(65536);
	size_t n;
	FILE *f;

	fflush(stderr);
	log_init(LOG_TO_STDERR, 0);
	dup2(saved_fd, 2);
	close(saved_fd);
	f = fopen(logpath, "r");
	assert_non_null(f);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* Count the lines of s (each ends in a newline). */
static int
lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return (n);
}

/* Log text as the argument of one warning (journal sink); check the line. */
static void
logs_as(const char *text, const char *want)
{
	char *got, *w;

	capture_begin(LOG_TO_JOURNAL);
	log_warnx("comment %s (1-0): dead letter", text);
	got = capture_end();
	xasprintf(&w, "<4>comment %s (1-0): dead letter\n", want);
	assert_string_equal(got, w);
	free(w);
	free(got);
}

static void
test_forged_line(void **state)
{
	(void)state;
	logs_as("id\n<0>forged", "id\\n<0>forged");
	logs_as("a\r\n<2>x", "a\\r\\n<2>x");
	logs_as("\n", "\\n");
}

static void
test_c0_and_del(void **state)
{
	(void)state;
	logs_as("a\tb", "a\\tb");
	logs_as("\x01\x1b[31mred", "\\x01\\x1b[31mred");
	logs_as("x\x7fy", "x\\x7fy");
	logs_as("\x1f\x0b\x0c", "\\x1f\\x0b\\x0c");
}

static void
test_c1(void **state)
{
	(void)state;
	logs_as("a\xc2\x85z", "a\\u{0085}z"); /* NEL */
	logs_as("\xc2\x80\xc2\x9b", "\\u{0080}\\u{009b}"); /* C1 CSI */
	logs_as("\xc2\xa0", "\xc2\xa0"); /* U+00A0 is no control */
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	logs_as("ab\xff", "ab\\xff");
	logs_as("x\xc0\xaf", "x\\xc0\\xaf"); /* overlong '/' */
	logs_as("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	logs_as("abc\xe2\x82", "abc\\xe2\\x82"); /* cut short */
	logs_as("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	logs_as("\x9b", "\\x9b"); /* a lone C1 byte of Latin-1 */
}

static void
test_bidi(void **state)
{
	(void)state;
	logs_as("a\xe2\x80\xaeZYX", "a\\u{202e}ZYX"); /* RLO */
	logs_as("\xe2\x80\xaa\xe2\x80\xac", "\\u{202a}\\u{202c}");
	logs_as("\xe2\x81\xa6x\xe2\x81\xa9", "\\u{2066}x\\u{2069}");
	logs_as("a\xe2\x80\xa8z", "a\\u{2028}z"); /* line separator */
}

static void
test_text_kept(void **state)
{
	(void)state;
	logs_as("naïve café ✓ 𝄞 Привет", "naïve café ✓ 𝄞 Привет");
	logs_as("re \\bword\\b", "re \\bword\\b");
	logs_as("", "");
}

/* The foreground sink: a timestamp, then the escaped message. */
static void
test_stderr_sink(void **state)
{
	char *got, *p;

	(void)state;
	capture_begin(LOG_TO_STDERR);
	log_info("comment %s: approved", "id\n<6>forged");
	got = capture_end();
	assert_int_equal(lines(got), 1);
	p = strchr(got, ' ');
	assert_non_null(p);
	p = strchr(p + 1, ' ');
	assert_non_null(p);
	assert_string_equal(p + 1, "comment id\\n<6>forged: approved\n");
	free(got);
}

/* The strerror() suffix is part of the one escaped line. */
static void
test_suffix(void **state)
{
	char *got, *w;

	(void)state;
	capture_begin(LOG_TO_JOURNAL);
	errno = ENOENT;
	log_warn("open %s", "a\nb");
	assert_int_equal(errno, ENOENT);
	got = capture_end();
	xasprintf(&w, "<4>open a\\nb: %s\n", strerror(ENOENT));
	assert_string_equal(got, w);
	free(w);
	free(got);
}

/* A message longer than the line buffer is still one line. */
static void
test_long_message(void **state)
{
	char *text, *got;

	(void)state;
	text = xmalloc(10001);
	memset(text, '\n', 10000);
	text[10000] = '\0';
	capture_begin(LOG_TO_JOURNAL);
	log_warnx("%s", text);
	got = capture_end();
	assert_int_equal(lines(got), 1);
	assert_true(strncmp(got, "<4>\\n\\n", 7) == 0);
	free(got);
	free(text);
}

/* log_escape() for bodies: backslashes too, and a cut between sequences. */
static void
test_escape_body(void **state)
{
	const char *s = "a\\b\n\xe2\x80\xae\x01";
	char *e;

	(void)state;
	e = log_escape(s, strlen(s), 100);
	assert_string_equal(e, "a\\\\b\\n\\u{202e}\\x01");
	free(e);
	e = log_escape("a\xc3\xa9z", 4, 2); /* the cut would split é */
	assert_string_equal(e, "a...");
	free(e);
	e = log_escape("abc\0d", 5, 5);
	assert_string_equal(e, "abc\\x00d");
	free(e);
	e = log_escape("abcdef", 6, 3);
	assert_string_equal(e, "abc...");
	free(e);
}

static void
test_sink_names(void **state)
{
	(void)state;
	assert_int_equal(log_sink_parse("auto"), LOG_TO_AUTO);
	assert_int_equal(log_sink_parse("stderr"), LOG_TO_STDERR);
	assert_int_equal(log_sink_parse("syslog"), LOG_TO_SYSLOG);
	assert_int_equal(log_sink_parse("journal"), LOG_TO_JOURNAL);
	assert_int_equal(log_sink_parse(""), -1);
	assert_int_equal(log_sink_parse("Stderr"), -1);
	assert_int_equal(log_sink_parse("journald"), -1);
}

/*
 * "auto" means the journal only when stderr is the very stream
 * JOURNAL_STREAM names; a variable inherited by a process whose stderr
 * goes elsewhere does not count.
 */
static void
test_journal_stream(void **state)
{
	struct stat st;
	char v[64];

	(void)state;
	capture_begin(LOG_TO_STDERR);
	assert_int_equal(fstat(2, &st), 0);
	snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", v, 1), 0);
	assert_int_equal(log_stderr_is_journal(), 1);
	snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	snprintf(v, sizeof v, "%llu:%llux", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	setenv("JOURNAL_STREAM", "", 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	unsetenv("JOURNAL_STREAM");
	assert_int_equal(log_stderr_is_journal(), 0);
	free(capture_end());
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	if ((fd = mkstemp(logpath)) == -1)
		return (-1);
	close(fd);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	return (unlink(logpath));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forged_line),
	    cmocka_unit_test(test_c0_and_del),
	    cmocka_unit_test(test_c1),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_bidi),
	    cmocka_unit_test(test_text_kept),
	    cmocka_unit_test(test_stderr_sink),
	    cmocka_unit_test(test_suffix),
	    cmocka_unit_test(test_long_message),
	    cmocka_unit_test(test_escape_body),
	    cmocka_unit_test(test_sink_names),
	    cmocka_unit_test(test_journal_stream),
	};

	log_init(LOG_TO_STDERR, 0);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
