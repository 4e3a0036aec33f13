/*
 * test_cases.c -- rule behaviour by data: every tests/cases/NAME.conf is
 * loaded with conf_load() and built with rules_build(), and every line of
 * tests/cases/NAME.txt is judged offline, exactly as `modqd -e` does.
 *
 * A case line is tab-separated:
 *
 *	verdict<TAB>reasons<TAB>text[<TAB>matched]
 *
 * verdict is approve, hold or reject; reasons the fired rules in config
 * order, space-separated, or "-"; text the comment, with C escapes (\n \t
 * \\ \xHH \uXXXX \U00XXXXXX) so any character can be written; matched, if
 * present, the exact third column of `modqd -e`.  Blank lines and lines
 * starting with '#' are skipped.  Each file is one cmocka test; every
 * failing line is reported, then the test fails.
 */
#include <dirent.h>
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

#define CASES_DIR "tests/cases"
#define CASES_MAX 256

static char *case_names[CASES_MAX];

/* Append a code point as UTF-8. */
static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return (1);
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return (2);
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return (3);
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return (4);
}

/* Decode the C escapes of a case's text; returns the length. */
static size_t
unescape(const char *in, char *out)
{
	size_t n = 0, digits;
	uint32_t cp;
	char hex[9];

	while (*in != '\0') {
		if (*in != '\\' || in[1] == '\0') {
			out[n++] = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 'n':
			out[n++] = '\n';
			in++;
			break;
		case 't':
			out[n++] = '\t';
			in++;
			break;
		case 'x':
		case 'u':
		case 'U':
			digits = *in == 'x' ? 2 : *in == 'u' ? 4 : 8;
			memcpy(hex, in + 1, digits);
			hex[digits] = '\0';
			cp = (uint32_t)strtoul(hex, NULL, 16);
			if (digits == 2)
				out[n++] = (char)cp;
			else
				n += put_utf8(out + n, cp);
			in += 1 + digits;
			break;
		default:
			out[n++] = *in++;
			break;
		}
	}
	out[n] = '\0';
	return (n);
}

/* Judge one case line; returns 0 when it passes, after printing why not. */
static int
run_line(struct ruleset *rs, const char *file, int lineno, char *line)
{
	char *verdict, *reasons, *text, *matched, *buf;
	struct rules_match m;
	size_t len;
	int ok;

	verdict = strsep(&line, "\t");
	reasons = strsep(&line, "\t");
	text = strsep(&line, "\t");
	matched = line;
	if (verdict == NULL || reasons == NULL || text == NULL) {
		print_error("%s:%d: malformed case line\n", file, lineno);
		return (-1);
	}
	buf = xmalloc(strlen(text) + 1);
	len = unescape(text, buf);
	assert_int_equal(rules_match_text(rs, buf, len, &m), 0);
	ok = strcmp(verdict, rules_verdict_name(m.verdict)) == 0 &&
	    strcmp(reasons, *m.reasons != '\0' ? m.reasons : "-") == 0 &&
	    (matched == NULL ||
	        strcmp(matched, *m.matched != '\0' ? m.matched : "-") == 0);
	if (!ok)
		print_error("%s:%d: %s\n    expected %s [%s]%s%s\n"
		            "    got      %s [%s] %s\n",
		    file, lineno, text, verdict, reasons,
		    matched != NULL ? " " : "", matched != NULL ? matched : "",
		    rules_verdict_name(m.verdict),
		    *m.reasons != '\0' ? m.reasons : "-",
		    *m.matched != '\0' ? m.matched : "-");
	rules_match_free(&m);
	free(buf);
	return (ok ? 0 : -1);
}

/* One test per case file: every line must be judged as written. */
static void
test_case_file(void **state)
{
	const char *name = *state;
	char *conf_path, *txt_path, *cause = NULL, *line = NULL;
	struct conf conf;
	struct ruleset *rs;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, failed = 0, total = 0;
	FILE *f;

	xasprintf(&conf_path, "%s/%s.conf", CASES_DIR, name);
	xasprintf(&txt_path, "%s/%s.txt", CASES_DIR, name);
	if (conf_load(conf_path, &conf, &cause) == -1)
		fail_msg("%s", cause);
	if (rules_build(&conf.rules, &rs, &cause) == -1)
		fail_msg("%s", cause);
	f = fopen(txt_path, "r");
	assert_non_null(f);
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		while (
		    len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		total++;
		if (run_line(rs, txt_path, lineno, line) == -1)
			failed++;
	}
	fclose(f);
	free(line);
	print_message("%s: %d cases, %d failed\n", name, total, failed);
	rules_unref(rs);
	conf_free(&conf);
	free(conf_path);
	free(txt_path);
	assert_int_equal(failed, 0);
}

int
main(void)
{
	struct CMUnitTest tests[CASES_MAX];
	struct dirent *de;
	DIR *d;
	size_t n = 0, len;

	log_init(LOG_TO_STDERR, 0);
	if ((d = opendir(CASES_DIR)) == NULL)
		fatal("%s", CASES_DIR);
	while ((de = readdir(d)) != NULL && n < CASES_MAX) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		case_names[n] = xstrndup(de->d_name, len - 5);
		memset(&tests[n], 0, sizeof tests[n]);
		tests[n].name = case_names[n];
		tests[n].test_func = test_case_file;
		tests[n].initial_state = case_names[n];
		n++;
	}
	closedir(d);
	return (_cmocka_run_group_tests("cases", tests, n, NULL, NULL));
}
