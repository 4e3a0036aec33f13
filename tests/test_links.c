/*
 * test_links.c -- unit tests of rules/links.c: the links a reader would
 * see in a comment (URLs, bare domains, disguised dots, HTML anchors),
 * what is not one (prose, numbers, file names, e-mail addresses), allow
 * and deny domains with their subdomains, the errors of bad domain
 * entries, the bounds on hostile text, and the precision and recall over
 * the labelled set in tests/links/labelled.tsv.  Links with
 * build/librules.a alone.  No Redis, no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rules_int.h"
#include "ralloc.h"

#define LABELLED "tests/links/labelled.tsv"
#define MIN_PRECISION 0.97
#define MIN_RECALL 0.95

static struct links *links_new(enum rules_format, const char *const *,
    const char *const *, const char *const *);
static size_t count(struct links *, const char *, uint32_t *);
static void expect(struct links *, const char *, size_t);
static void set_entries(struct rules_entry **, size_t *, const char *const *);
static char *labelled_unescape(char *);

static struct links *plain; /* plain text, no lists */
static struct links *html; /* HTML, no lists */

/* Fill an entry array from a NULL-ended list; entry k is on line k + 1. */
static void
set_entries(struct rules_entry **e, size_t *n, const char *const *v)
{
	size_t i;

	for (*n = 0; v != NULL && v[*n] != NULL; (*n)++)
		;
	*e = xcalloc(*n, sizeof **e);
	for (i = 0; i < *n; i++) {
		(*e)[i].text = xstrdup(v[i]);
		(*e)[i].file = xstrdup("lists/domains.txt");
		(*e)[i].line = (int)i + 1;
	}
}

/*
 * Build a link counter: rule 0 denies deny0, rule 1 (which has no
 * domains) nothing, rule 2 denies deny2, link_allow holds allow.
 */
static struct links *
links_new(enum rules_format fmt, const char *const *deny0,
    const char *const *deny2, const char *const *allow)
{
	struct rules_spec spec;
	struct links *l = NULL;
	char *cause = NULL;
	size_t i;

	memset(&spec, 0, sizeof spec);
	spec.format = fmt;
	spec.nlinks = 3;
	set_entries(&spec.links[0].domains, &spec.links[0].ndomains, deny0);
	set_entries(&spec.links[1].domains, &spec.links[1].ndomains, NULL);
	set_entries(&spec.links[2].domains, &spec.links[2].ndomains, deny2);
	set_entries(&spec.link_allow, &spec.nlink_allow, allow);
	if (links_build(&spec, &l, &cause) == -1)
		fail_msg("links_build: %s", cause);
	for (i = 0; i < 3; i++)
		rules_entries_free(
		    spec.links[i].domains, spec.links[i].ndomains);
	rules_entries_free(spec.link_allow, spec.nlink_allow);
	return (l);
}

/* Scan a C string; give the count and the deny bits. */
static size_t
count(struct links *l, const char *s, uint32_t *deny)
{
	size_t n;
	uint32_t d;

	assert_int_equal(links_scan(l, s, strlen(s), &n, &d), 0);
	if (deny != NULL)
		*deny = d;
	return (n);
}

/* Check the count of links in a text. */
static void
expect(struct links *l, const char *s, size_t want)
{
	size_t got = count(l, s, NULL);

	if (got != want)
		fail_msg("\"%s\": %zu links, wanted %zu", s, got, want);
}

static int
setup(void **state)
{
	(void)state;
	plain = links_new(RULES_FORMAT_TEXT, NULL, NULL, NULL);
	html = links_new(RULES_FORMAT_HTML, NULL, NULL, NULL);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	links_free(plain);
	links_free(html);
	return (0);
}

static void
test_urls(void **state)
{
	(void)state;
	expect(plain, "see http://example.com", 1);
	expect(plain, "see https://www.example.com/a/b?c=d&e=f#g", 1);
	expect(plain, "HTTPS://EXAMPLE.COM/X", 1);
	expect(plain, "ftp://files.example.org/pub", 1);
	expect(plain, "http://localhost:8080/admin", 1);
	expect(plain, "http://192.168.1.1/setup", 1);
	expect(plain, "http://[2001:db8::1]/x", 1);
	expect(plain, "http://user:pw@example.com/", 1);
	expect(plain, "hxxp://evil.example.com/payload", 1);
	expect(plain, "hxxps[:]//evil[.]example[.]com", 1);
	expect(plain, "(http://example.com/a)", 1);
	/* a URL whose query holds another domain is one link */
	expect(plain, "http://example.com/r?u=other.com/x", 1);
	expect(plain, "http://a.com http://a.com https://b.org", 3);
	expect(plain, "http:// nothing here", 0);
	expect(plain, "the http protocol", 0);
}

static void
test_bare(void **state)
{
	(void)state;
	expect(plain, "example.com", 1);
	expect(plain, "visit example.com.", 1);
	expect(plain, "Visit Example.COM, now", 1);
	expect(plain, "www.example.org", 1);
	expect(plain, "www.example.py", 1);
	expect(plain, "bit.ly/abc123", 1);
	expect(plain, "t.co/xyz", 1);
	expect(plain, "youtu.be/dQw4w9WgXcQ", 1);
	expect(plain, "sub.example.co.uk", 1);
	expect(plain, "bbc.co.uk and news.bbc.co.uk", 2);
	expect(plain, "abc.net.au", 1);
	expect(plain, "example.com:8080", 1);
	expect(plain, "example.com/x example.com/y", 2);
	expect(plain, "Wait...example.com is down", 1);
	expect(plain, "(example.com)", 1);
	expect(plain, "\"example.com\"", 1);
	expect(plain, "пример.рф", 1);
	expect(plain, "例子.中国", 1);
	expect(plain, "münchen.de", 1);
	expect(plain, "我喜欢example.com网站", 1);
}

static void
test_disguised(void **state)
{
	(void)state;
	expect(plain, "example dot com", 1);
	expect(plain, "example DOT com", 1);
	expect(plain, "example[.]com", 1);
	expect(plain, "example(.)com", 1);
	expect(plain, "example{.}com", 1);
	expect(plain, "example(dot)com", 1);
	expect(plain, "example [dot] com", 1);
	expect(plain, "example (dot) net", 1);
	expect(plain, "example . com", 1);
	expect(plain, "example .com", 1);
	expect(plain, "example[.]py", 1);
	expect(plain, "example dot co dot uk", 1);
	expect(plain, "ｅｘａｍｐｌｅ．ｃｏｍ", 1);
	expect(plain, "example。com", 1);
	expect(plain, "exa\xe2\x80\x8bmple.com", 1); /* zero-width space */
	expect(plain, "the dot com bubble", 0);
	expect(plain, "a dot com millionaire", 0);
	expect(plain, "I was in Rome . It was hot", 0);
	expect(plain, "polka dot dress", 0);
}

static void
test_prose(void **state)
{
	(void)state;
	expect(plain, "e.g. this, i.e. that", 0);
	expect(plain, "the U.S. and the U.K. at 10 a.m. or 5 p.m.", 0);
	expect(plain, "Dr. Smith, Mr.Jones, St.Louis, etc.", 0);
	expect(plain, "version 3.5 or 1.2.3, costs $4.99, 1.000.000 people", 0);
	expect(plain, "at 10.30 on 12.05.2023", 0);
	expect(plain, "open report.pdf, image.png, setup.exe", 0);
	expect(plain, "run script.py and read readme.md", 0);
	expect(plain, "install.sh, archive.zip, clip.mov, index.html", 0);
	expect(plain, "Node.js and Vue.js", 0);
	expect(plain, "I said it.It is true", 0);
	expect(plain, "z.B. gut, d.h. nein, EE.UU. y S.A.", 0);
	expect(plain, "a.a.a.a.a.a", 0);
	expect(plain, "...", 0);
	expect(plain, "", 0);
	expect(plain, "C:\\files\\x.com", 0);
	expect(plain, "docs/foo.com", 0);
	expect(plain, "my_site.com", 0);
	expect(plain, "co.uk", 0);
	expect(plain, "-example.com", 1);
}

static void
test_email(void **state)
{
	(void)state;
	expect(plain, "mail me at john@example.com", 0);
	expect(plain, "john.smith@mail.example.co.uk", 0);
	expect(plain, "mailto:a@b.com", 0);
	expect(plain, "john@example.com or example.com", 1);
}

static void
test_html(void **state)
{
	(void)state;
	expect(html, "<a href=\"http://x.example.com/\">click here</a>", 1);
	expect(html, "<a href='https://example.com'>example.com</a>", 1);
	expect(html,
	    "<A HREF=https://example.com>here</A> and <a "
	    "href=\"//cdn.example.org/x\">there</a>",
	    2);
	expect(html, "<a href=\"/relative/page\">example.com</a>", 1);
	expect(html, "<a href=\"mailto:a@b.com\">write</a>", 0);
	expect(html, "<a href=\"#top\">top</a>", 0);
	expect(html, "<a href=\"javascript:void(0)\">x</a>", 0);
	expect(html,
	    "<a href=\"http://a.com\">x</a><a href=\"http://b.com\">y</a>", 2);
	/* an anchor left open ends at the next one, or at the end */
	expect(
	    html, "<a href=\"http://a.com\">x <a href=\"http://b.com\">y", 2);
	expect(html, "<a href=\"http://a.com\">x</a> then example.org", 2);
	/* tags are not text: inline ones join, block ones separate */
	expect(html, "exa<b></b>mple.com", 1);
	expect(html, "example<br>com", 0);
	expect(html, "<img src=\"http://example.com/x.png\">", 0);
	expect(html, "example&#46;com", 1);
	expect(html, "example&period;com", 1);
	expect(html, "&lt;http://example.com&gt;", 1);
	expect(html, "<p>example.com</p><p>other.net</p>", 2);
	expect(html, "<x>not markup</x> example.com", 1);
	/* in plain text, tags are text: a reader sees mple.com */
	expect(plain, "exa<b></b>mple.com", 1);
	expect(plain, "<a href=\"http://x.com\">here</a>", 1);
}

static void
test_allow_deny(void **state)
{
	static const char *const deny0[] = {"bad.com", "evil.co.uk", NULL};
	static const char *const deny2[] = {"bad.com", "xyz", NULL};
	static const char *const allow[] = {"example.com", "nytimes.com", NULL};
	struct links *l;
	uint32_t d;

	(void)state;
	l = links_new(RULES_FORMAT_HTML, deny0, deny2, allow);
	assert_int_equal(count(l, "example.com", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(count(l, "https://www.nytimes.com/2024/x", &d), 0);
	assert_int_equal(count(l, "notexample.com", &d), 1);
	assert_int_equal(count(l, "bad.com", &d), 1);
	assert_int_equal(d, 0x5);
	assert_int_equal(count(l, "http://cdn.files.bad.com/x", &d), 1);
	assert_int_equal(d, 0x5);
	assert_int_equal(count(l, "notbad.com", &d), 1);
	assert_int_equal(d, 0);
	assert_int_equal(count(l, "shop.evil.co.uk/sale", &d), 1);
	assert_int_equal(d, 0x1);
	assert_int_equal(count(l, "win.xyz", &d), 1);
	assert_int_equal(d, 0x4);
	assert_int_equal(count(l, "bad dot com and example.com", &d), 1);
	assert_int_equal(d, 0x5);
	/* a deny under an allowed domain still denies */
	assert_int_equal(count(l, "bad.com.example.com", &d), 0);
	assert_int_equal(d, 0);
	/* look-alike letters: Cyrillic а in bаd.com */
	assert_int_equal(count(l,
	                     "b\xd0\xb0"
	                     "d.com",
	                     &d),
	    1);
	assert_int_equal(d, 0x5);
	/* but a look-alike of an allowed domain is another site */
	assert_int_equal(count(l,
	                     "ex\xd0\xb0"
	                     "mple.com",
	                     &d),
	    1);
	assert_int_equal(d, 0);
	assert_int_equal(count(l, "BAD.COM", &d), 1);
	assert_int_equal(d, 0x5);
	/* e-mail addresses are not links, deny-listed or not */
	assert_int_equal(count(l, "me@bad.com", &d), 0);
	assert_int_equal(d, 0);
	/* an anchor's text is checked, not counted again */
	assert_int_equal(
	    count(l, "<a href=\"http://example.com\">bad.com</a>", &d), 0);
	assert_int_equal(d, 0x5);
	assert_int_equal(count(l, "<a href=\"http://bad.com\">x</a>", &d), 1);
	assert_int_equal(d, 0x5);
	assert_int_equal(
	    count(l, "example.com example.com other.org other.org", &d), 2);
	links_free(l);
}

/* Build from one bad entry; check the error. */
static void
expect_error(const char *entry, int allow, const char *want)
{
	const char *const v[] = {"ok.example.com", entry, NULL};
	struct rules_spec spec;
	struct links *l = NULL;
	char *cause = NULL;

	memset(&spec, 0, sizeof spec);
	spec.nlinks = 1;
	if (allow)
		set_entries(&spec.link_allow, &spec.nlink_allow, v);
	else
		set_entries(&spec.links[0].domains, &spec.links[0].ndomains, v);
	assert_int_equal(links_build(&spec, &l, &cause), -1);
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg(
		    "\"%s\": got \"%s\", wanted \"%s\"", entry, cause, want);
	free(cause);
	rules_entries_free(spec.links[0].domains, spec.links[0].ndomains);
	rules_entries_free(spec.link_allow, spec.nlink_allow);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("exa mple.com", 0,
	    "lists/domains.txt:2: \"exa mple.com\" is not a domain name");
	expect_error("http://example.com/", 0,
	    "lists/domains.txt:2: \"http://example.com/\" is not a domain "
	    "name");
	expect_error("example..com", 1,
	    "lists/domains.txt:2: \"example..com\" is not a domain name");
	expect_error("-example.com", 0,
	    "lists/domains.txt:2: \"-example.com\" is not a domain name");
	expect_error("example[.]com", 0,
	    "lists/domains.txt:2: \"example[.]com\" is not a domain name");
	expect_error("", 0, "lists/domains.txt:2: \"\" is not a domain name");
	expect_error("example.notatld", 0,
	    "lists/domains.txt:2: \"example.notatld\" has no known public "
	    "suffix");
	expect_error("co.uk", 1,
	    "lists/domains.txt:2: \"co.uk\" is a public suffix: it would "
	    "allow every site under it");
}

static void
test_errors_all(void **state)
{
	const char *const v[] = {"a b", "ok.com", "x.notatld", NULL};
	struct rules_spec spec;
	struct links *l = NULL;
	char *cause = NULL;

	(void)state;
	memset(&spec, 0, sizeof spec);
	spec.nlinks = 1;
	set_entries(&spec.links[0].domains, &spec.links[0].ndomains, v);
	assert_int_equal(links_build(&spec, &l, &cause), -1);
	assert_string_equal(cause,
	    "lists/domains.txt:1: \"a b\" is not a domain name\n"
	    "lists/domains.txt:3: \"x.notatld\" has no known public suffix");
	free(cause);
	rules_entries_free(spec.links[0].domains, spec.links[0].ndomains);
}

/* Scan len bytes and give the seconds it took. */
static double
timed(struct links *l, const char *s, size_t len, size_t *n)
{
	struct timespec a, b;
	uint32_t d;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(links_scan(l, s, len, n, &d), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9);
}

/* A megabyte of each hostile pattern, in well under a second each. */
static void
test_bounds(void **state)
{
	static const char *const pat[] = {"a.", "a.b ", "example.com ",
	    "a dot ", "a[.]", "http://", "<a href=x>", "&#46;", "x@y.com ",
	    "\xe3\x80\x82", "-", "a-", NULL};
	size_t len = 1 << 20, i, k, m, n;
	char *s = xmalloc(len + 1);
	double t;

	(void)state;
	for (k = 0; pat[k] != NULL; k++) {
		m = strlen(pat[k]);
		for (i = 0; i + m <= len; i += m)
			memcpy(s + i, pat[k], m);
		t = timed(html, s, i, &n);
		if (t > 1.0)
			fail_msg("\"%s\" x %zu: %.2f s", pat[k], i / m, t);
		/* at most LINKS_MAX (1000) links are examined */
		assert_true(n <= 1000);
	}
	free(s);
}

/* Undo the escapes of a labelled text: \t, \n and \\. */
static char *
labelled_unescape(char *s)
{
	char *r = s, *w = s;

	for (; *r != '\0'; r++) {
		if (*r == '\\' &&
		    (r[1] == 't' || r[1] == 'n' || r[1] == '\\')) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : '\\';
		} else
			*w++ = *r;
	}
	*w = '\0';
	return (s);
}

/*
 * The labelled set: one text a line, "COUNT\tTEXT" (COUNT followed by
 * "h" reads the text as HTML, else as plain text; '#' lines are
 * comments).  Over all texts, with expected e and counted g links each,
 * true positives are min(e, g), false positives max(g - e, 0) and false
 * negatives max(e - g, 0); precision is TP / (TP + FP), recall
 * TP / (TP + FN).  Every text counted wrong is printed.
 */
static void
test_labelled(void **state)
{
	FILE *f;
	char *line = NULL, *tab, *end;
	size_t cap = 0, got, texts = 0, tp = 0, fp = 0, fn = 0;
	ssize_t n;
	long want;
	double precision, recall;

	(void)state;
	if ((f = fopen(LABELLED, "r")) == NULL)
		fail_msg(
		    "%s: cannot open (run from the top directory)", LABELLED);
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if ((tab = strchr(line, '\t')) == NULL)
			fail_msg("%s: no tab in \"%s\"", LABELLED, line);
		want = strtol(line, &end, 10);
		if (end == line ||
		    (end != tab && !(*end == 'h' && end + 1 == tab)))
			fail_msg("%s: bad count in \"%s\"", LABELLED, line);
		labelled_unescape(tab + 1);
		got = count(*end == 'h' ? html : plain, tab + 1, NULL);
		if (got != (size_t)want)
			print_message("labelled: %zu links, wanted %ld: %s\n",
			    got, want, tab + 1);
		tp += got < (size_t)want ? got : (size_t)want;
		fp += got > (size_t)want ? got - (size_t)want : 0;
		fn += got < (size_t)want ? (size_t)want - got : 0;
		texts++;
	}
	free(line);
	fclose(f);
	assert_true(texts >= 300);
	precision = tp + fp == 0 ? 1 : (double)tp / (double)(tp + fp);
	recall = tp + fn == 0 ? 1 : (double)tp / (double)(tp + fn);
	print_message("labelled: %zu texts, %zu links: precision %.4f, "
	              "recall %.4f\n",
	    texts, tp + fn, precision, recall);
	assert_true(precision >= MIN_PRECISION);
	assert_true(recall >= MIN_RECALL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_bare),
	    cmocka_unit_test(test_disguised),
	    cmocka_unit_test(test_prose),
	    cmocka_unit_test(test_email),
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_allow_deny),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_errors_all),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_labelled),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
