/*
 * test_rules.c -- unit tests of rules/: normalisation (exact match buffers
 * and source offsets), keyword matching (verdicts, reasons and matched
 * snippets), verdict precedence, rate arithmetic, word-list files, names,
 * stamps and reference counts.  No Redis, no network.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules_int.h"
#include "ralloc.h"

static struct norm nst; /* scratch state shared by the normalise tests */
static char tmpdir[] = "/tmp/modq-test-rules.XXXXXX";

/* Normalise len bytes of s and give form f as a string (static buffer). */
static const char *
norm_n(const char *s, size_t len, int f)
{
	static char out[65536];

	normalize_text(&nst, s, len);
	if (f >= nst.nforms)
		return ("(none)");
	assert_true(nst.form[f].len < sizeof out);
	memcpy(out, nst.form[f].buf, nst.form[f].len);
	out[nst.form[f].len] = '\0';
	return (out);
}

/* Normalise a C string and give form f. */
static const char *
norm(const char *s, int f)
{
	return (norm_n(s, strlen(s), f));
}

/* Check that s normalises to exactly one form, want. */
static void
expect_norm_n(const char *s, size_t len, const char *want)
{
	const char *got = norm_n(s, len, 0);

	if (strcmp(got, want) != 0)
		fail_msg("normalize(\"%s\"): got \"%s\", wanted \"%s\"", s, got,
		    want);
	if (nst.nforms != 1)
		fail_msg(
		    "normalize(\"%s\"): %d forms, wanted 1", s, nst.nforms);
}

/* Check that a C string normalises to exactly one form, want. */
static void
expect_norm(const char *s, const char *want)
{
	expect_norm_n(s, strlen(s), want);
}

/* Check that s, read as plain text, normalises to one form, want. */
static void
expect_plain(const char *s, const char *want)
{
	const char *got;

	nst.plain = 1;
	got = norm(s, 0);
	nst.plain = 0;
	if (strcmp(got, want) != 0)
		fail_msg("normalize(\"%s\") as text: got \"%s\", wanted \"%s\"",
		    s, got, want);
	if (nst.nforms != 1 || nst.hideable)
		fail_msg("normalize(\"%s\") as text: %d forms, hideable %d", s,
		    nst.nforms, nst.hideable);
}

/*
 * Check the HTML readings of s: as shown, where only markup is dropped, and
 * as a browser given the raw text would show it (NULL: the same, so the
 * text must not be hideable).
 */
static void
expect_html(const char *s, const char *shown, const char *hidden)
{
	const char *got;

	expect_norm(s, shown);
	if (hidden == NULL) {
		if (nst.hideable)
			fail_msg("normalize(\"%s\"): hideable", s);
		return;
	}
	if (!nst.hideable)
		fail_msg("normalize(\"%s\"): not hideable", s);
	nst.hide_markup = 1;
	got = norm(s, 0);
	nst.hide_markup = 0;
	if (strcmp(got, hidden) != 0)
		fail_msg("normalize(\"%s\") hidden: got \"%s\", wanted \"%s\"",
		    s, got, hidden);
}

/* Check that s normalises to forms f0 and f1, then the text as written. */
static void
expect_norm2(const char *s, const char *f0, const char *f1)
{
	const char *got = norm(s, 0);

	if (strcmp(got, f0) != 0)
		fail_msg("normalize(\"%s\") form 0: got \"%s\", wanted \"%s\"",
		    s, got, f0);
	if (nst.nforms != 3)
		fail_msg(
		    "normalize(\"%s\"): %d forms, wanted 3", s, nst.nforms);
	got = norm(s, 1);
	if (strcmp(got, f1) != 0)
		fail_msg("normalize(\"%s\") form 1: got \"%s\", wanted \"%s\"",
		    s, got, f1);
}

/* Check that s normalises to three forms, then the text as written. */
static void
expect_norm3(const char *s, const char *f0, const char *f1, const char *f2)
{
	const char *want[3] = {f0, f1, f2}, *got;
	int f;

	for (f = 0; f < 3; f++) {
		got = norm(s, f);
		if (strcmp(got, want[f]) != 0)
			fail_msg(
			    "normalize(\"%s\") form %d: got \"%s\", wanted "
			    "\"%s\"",
			    s, f, got, want[f]);
	}
	if (nst.nforms != 4)
		fail_msg(
		    "normalize(\"%s\"): %d forms, wanted 4", s, nst.nforms);
}

/* Check the source range of byte i of form f of the last text. */
static void
expect_src(int f, size_t i, uint32_t start, uint32_t end)
{
	assert_true(i < nst.form[f].len);
	if (nst.form[f].src_start[i] != start || nst.form[f].src_end[i] != end)
		fail_msg("byte %zu ('%c'): source %u..%u, wanted %u..%u", i,
		    nst.form[f].buf[i], nst.form[f].src_start[i],
		    nst.form[f].src_end[i], start, end);
}

/* Add a keyword list with NULL-terminated words to spec. */
static void
add_list(struct rules_spec *spec, const char *name, enum rules_verdict action,
    enum rules_matchmode match, const char *const *words)
{
	struct rules_list *l;
	size_t i;

	spec->lists =
	    xreallocarray(spec->lists, spec->nlists + 1, sizeof *spec->lists);
	l = &spec->lists[spec->nlists++];
	memset(l, 0, sizeof *l);
	l->name = xstrdup(name);
	l->action = action;
	l->match = match;
	l->file = xstrdup("test.conf");
	l->line = (int)spec->nlists;
	for (i = 0; words[i] != NULL; i++) {
		l->entries =
		    xreallocarray(l->entries, i + 1, sizeof *l->entries);
		l->entries[i].text = xstrdup(words[i]);
		l->entries[i].file = xstrdup(name);
		l->entries[i].line = (int)i + 1;
	}
	l->nentries = i;
}

/* Add NULL-terminated words to the allow list of spec. */
static void
add_allow(struct rules_spec *spec, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		spec->allow = xreallocarray(
		    spec->allow, spec->nallow + 1, sizeof *spec->allow);
		spec->allow[spec->nallow].text = xstrdup(words[i]);
		spec->allow[spec->nallow].file = xstrdup("allow");
		spec->allow[spec->nallow].line = (int)i + 1;
		spec->nallow++;
	}
}

/* Add a rate rule to spec. */
static void
add_rate(struct rules_spec *spec, const char *name, enum rules_per per,
    long limit, long window, enum rules_verdict action)
{
	struct rules_rate *r = &spec->rates[spec->nrates++];

	r->name = xstrdup(name);
	r->per = per;
	r->limit = limit;
	r->window = window;
	r->action = action;
}

/* Build spec (which is freed) into a ruleset; fails the test on error. */
static struct ruleset *
build_spec(struct rules_spec *spec)
{
	struct ruleset *rs = NULL;
	char *cause = NULL;

	if (rules_build(spec, &rs, &cause) == -1)
		fail_msg("rules_build: %s", cause);
	rules_spec_free(spec);
	assert_non_null(rs);
	return (rs);
}

/* Build spec (which is freed); it must fail; returns the cause. */
static char *
build_fails(struct rules_spec *spec)
{
	struct ruleset *rs = NULL;
	char *cause = NULL;

	assert_int_equal(rules_build(spec, &rs, &cause), -1);
	assert_null(rs);
	assert_non_null(cause);
	rules_spec_free(spec);
	return (cause);
}

/* A ruleset of one list named "list". */
static struct ruleset *
build1(const char *const *words, enum rules_verdict action,
    enum rules_matchmode match)
{
	struct rules_spec spec;

	memset(&spec, 0, sizeof spec);
	add_list(&spec, "list", action, match, words);
	return (build_spec(&spec));
}

/* Match len bytes of text and check verdict, reasons and matched texts. */
static void
expect_match_n(struct ruleset *rs, const char *text, size_t len,
    enum rules_verdict v, const char *reasons, const char *matched)
{
	struct rules_match m;

	assert_int_equal(rules_match_text(rs, text, len, &m), 0);
	if (m.verdict != v || strcmp(m.reasons, reasons) != 0 ||
	    strcmp(m.matched, matched) != 0)
		fail_msg("match(\"%s\"): got %s [%s] [%s], wanted %s [%s] [%s]",
		    text, rules_verdict_name(m.verdict), m.reasons, m.matched,
		    rules_verdict_name(v), reasons, matched);
	rules_match_free(&m);
}

/* Match a C string. */
static void
expect_match(struct ruleset *rs, const char *text, enum rules_verdict v,
    const char *reasons, const char *matched)
{
	expect_match_n(rs, text, strlen(text), v, reasons, matched);
}

/* Check that text is approved with nothing matched. */
static void
expect_clean(struct ruleset *rs, const char *text)
{
	expect_match(rs, text, RULES_APPROVE, "", "");
}

/* A context with nothing known: no author, open thread, no rate counts. */
static void
ctx_init(struct rules_ctx *ctx)
{
	size_t i;

	memset(ctx, 0, sizeof *ctx);
	for (i = 0; i < RULES_MAX_RATES; i++)
		ctx->rate[i] = -1;
	for (i = 0; i < RULES_MAX_CONTENT; i++)
		ctx->repeat[i] = ctx->campaign[i] = -1;
}

/* Decide and check the verdict and reasons. */
static void
expect_decide(const struct ruleset *rs, const struct rules_match *m,
    const struct rules_ctx *ctx, enum rules_verdict v, const char *reasons)
{
	struct rules_decision d;

	rules_decide(rs, m, ctx, &d);
	if (d.verdict != v || strcmp(d.reasons, reasons) != 0)
		fail_msg("decide: got %s [%s], wanted %s [%s]",
		    rules_verdict_name(d.verdict), d.reasons,
		    rules_verdict_name(v), reasons);
	rules_decision_free(&d);
	assert_null(d.reasons);
}

/* Write len bytes to name in the temp dir; returns the path (static). */
static const char *
write_file(const char *name, const char *data, size_t len)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return (p);
}

/* Load a word list that must fail; check the cause (path prefixed). */
static void
expect_list_error(const char *path, const char *want)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL, *w;

	assert_int_equal(rules_load_list(path, &e, &n, &cause), -1);
	xasprintf(&w, "%s%s", path, want);
	assert_string_equal(cause, w);
	free(w);
	free(cause);
	rules_entries_free(e, n);
}

/* ---- normalize.c ---- */

static void
test_normalize_basic(void **state)
{
	(void)state;
	expect_norm("Hello, World!", " hello world ");
	expect_norm("", " ");
	expect_norm("   \t  ", " ");
	expect_norm("...!?", " ");
	expect_norm("one  two\t\tthree", " one two three ");
	expect_norm("foo_bar", " foo*bar "); /* a censor mark, f_ck */
	assert_int_equal(nst.ambiguous, 1);
	nst.split_lead = 1; /* or punctuation in the second reading */
	expect_norm("foo_bar", " foo bar ");
	nst.split_lead = 0;
	expect_norm("don't", " don t ");
}

static void
test_normalize_case(void **state)
{
	(void)state;
	expect_norm("FUCK Fuck fUcK", " fuck fuck fuck ");
	expect_norm("STRAßE", " strasse ");
	expect_norm("\xc4\xb0stanbul", " istanbul "); /* dotted capital I */
	expect_norm("\xc4\xb1", " i "); /* dotless i */
}

static void
test_normalize_accents(void **state)
{
	(void)state;
	expect_norm("CAF\xc3\x89 caf\xc3\xa9", " cafe cafe ");
	expect_norm("cafe\xcc\x81", " cafe "); /* decomposed e + acute */
	expect_norm("fu\xc3\xa7k", " fuck ");
	expect_norm("na\xc3\xafve r\xc3\xa9sum\xc3\xa9", " naive resume ");
	expect_norm("\xc5\x82\xc3\xb3"
	            "d\xc5\xba",
	    " lodz ");
}

static void
test_normalize_enye(void **state)
{
	(void)state;
	expect_norm("a\xc3\xb1o ano", " a\xc3\xb1o ano ");
	expect_norm("A\xc3\x91O", " a\xc3\xb1o ");
	expect_norm("an\xcc\x83o", " a\xc3\xb1o "); /* n + combining tilde */
	expect_norm("jalape\xc3\xb1o", " jalape\xc3\xb1o ");
	/* Other accents on n are dropped. */
	expect_norm("n\xcc\x81", " n ");
	assert_string_equal(norm("ano", 0), " ano ");
}

static void
test_normalize_fullwidth(void **state)
{
	(void)state;
	expect_norm("\xef\xbc\xa6\xef\xbc\xb5\xef\xbc\xa3\xef\xbc\xab "
	            "\xef\xbd\x86\xef\xbd\x95\xef\xbd\x83\xef\xbd\x8b",
	    " fuck fuck ");
	expect_norm(
	    "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3\xef\xbc\x91\xef\xbc\x92"
	    "\xef\xbc\x93",
	    " abc123 ");
	/* Fullwidth comma separates like a comma. */
	expect_norm(
	    "\xef\xbd\x88\xef\xbd\x89\xef\xbc\x8c\xef\xbd\x99\xef\xbd\x8f",
	    " hi yo ");
}

static void
test_normalize_ligatures(void **state)
{
	(void)state;
	expect_norm("\xef\xac\x81nd", " find ");
	expect_norm("\xef\xac\x80 \xef\xac\x82 \xef\xac\x83", " ff fl ffi ");
	expect_norm("\xc7\x86", " dz ");
	expect_norm("\xe2\x84\xa2", " tm ");
}

static void
test_normalize_math_letters(void **state)
{
	(void)state;
	/* Fraktur and bold. */
	expect_norm("\xf0\x9d\x94\xa3\xf0\x9d\x94\xb2\xf0\x9d\x94\xa0"
	            "\xf0\x9d\x94\xa8",
	    " fuck ");
	expect_norm("\xf0\x9d\x90\x9f\xf0\x9d\x90\xae\xf0\x9d\x90\x9c"
	            "\xf0\x9d\x90\xa4 \xf0\x9d\x96\x8b\xf0\x9d\x96\x9a"
	            "\xf0\x9d\x96\x88\xf0\x9d\x96\x90",
	    " fuck fuck ");
	expect_norm("\xf0\x9d\x9f\x93", " 5 "); /* mathematical bold 5 */
}

static void
test_normalize_zero_width(void **state)
{
	(void)state;
	expect_norm("fu\xe2\x80\x8b"
	            "ck",
	    " fuck "); /* ZWSP */
	expect_norm("good\xe2\x80\x8b"
	            "bad",
	    " goodbad "); /* one word */
	expect_norm("fu\xc2\xad"
	            "ck",
	    " fuck "); /* soft hyphen */
	expect_norm("x\xe2\x80\x8dy", " xy "); /* ZWJ */
	expect_norm("go\xe2\x81\xa0od", " good "); /* word joiner */
	expect_norm("x\xef\xbb\xbfy", " xy "); /* BOM */
	expect_norm("a\xcd\x8f"
	            "b",
	    " ab "); /* CGJ */
	/* Visible spaces still separate. */
	expect_norm("x\xc2\xa0y", " x y ");
	expect_norm("x\xe3\x80\x80y", " x y ");
}

static void
test_normalize_zalgo(void **state)
{
	(void)state;
	expect_norm("z\xcc\xb7"
	            "a\xcc\xb8l\xcc\xb4g\xcc\xb6o\xcc\xb5",
	    " zalgo ");
	expect_norm("f\xcc\xb6u\xcc\xb6"
	            "c\xcc\xb6k\xcc\xb6",
	    " fuck ");
	expect_norm("e\xcc\x81\xcc\x82\xcc\x83\xcc\x84\xcc\x85", " e ");
	/* A mark with nothing before it is dropped. */
	expect_norm("\xcc\x81"
	            "abc",
	    " abc ");
}

static void
test_normalize_lookalikes(void **state)
{
	(void)state;
	/* Cyrillic dze, shha, byelorussian i. */
	expect_norm("\xd1\x95\xd2\xbb\xd1\x96t", " shit ");
	expect_norm("\xd0\xb0ss", " ass "); /* Cyrillic a */
	expect_norm("\xd1\x95\xd1\x81\xd0\xb0m", " scam ");
	expect_norm("\xce\xbaill", " kill "); /* Greek kappa */
	expect_norm("\xe1\x8f\x9ahit", " shit "); /* Cherokee S */
	expect_norm("fu\xd1\x81k", " fuck "); /* Cyrillic es */
	expect_norm("\xd0\xa0orn", " porn "); /* Cyrillic er */
}

static void
test_normalize_other_scripts_kept(void **state)
{
	(void)state;
	/* Words wholly in another script keep their letters. */
	expect_norm("\xd0\xbc\xd0\xb0\xd0\xbc\xd0\xb0",
	    " \xd0\xbc\xd0\xb0\xd0\xbc\xd0\xb0 ");
	expect_norm("\xd1\x81\xd1\x83\xd0\xba\xd0\xb0",
	    " \xd1\x81\xd1\x83\xd0\xba\xd0\xb0 ");
	expect_norm("\xce\x9a\xce\x91\xce\x9b\xce\x97\xce\x9c\xce\x95"
	            "\xce\xa1\xce\x91",
	    " \xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xb5\xcf\x81"
	    "\xce\xb1 ");
	expect_norm("\xe1\x8f\x9a", " \xe1\x8f\x9a ");
	expect_norm("cyka", " cyka ");
}

static void
test_normalize_small_caps(void **state)
{
	(void)state;
	expect_norm(
	    "\xea\x9c\xb0\xe1\xb4\x9c\xe1\xb4\x84\xe1\xb4\x8b", " fuck ");
	expect_norm(
	    "\xca\x99\xc9\xaa\xe1\xb4\x9b\xe1\xb4\x84\xca\x9c", " bitch ");
}

static void
test_normalize_leet_words(void **state)
{
	(void)state;
	expect_norm("k1ll", " kill ");
	expect_norm("sh!t", " shit ");
	expect_norm("a$$", " ass ");
	expect_norm("@ss", " ass ");
	expect_norm("$hit", " shit ");
	expect_norm("k1ll sh!t a$$ @ss $hit", " kill shit ass ass shit ");
	expect_norm("r3tard", " retard ");
	expect_norm("p0rn", " porn ");
	expect_norm("l33t", " leet ");
	expect_norm("a55hole", " asshole ");
	expect_norm("4ss", " ass ");
	expect_norm("5hit", " shit ");
	expect_norm("shi7", " shit ");
	expect_norm("b00b", " boob ");
	expect_norm("f@g", " fag ");
	expect_norm("d!ck", " dick ");
}

static void
test_normalize_leet_symbols(void **state)
{
	(void)state;
	/* '!' only between letters, never at the end of a word. */
	expect_norm("shit!", " shit ");
	expect_norm("wow!", " wow ");
	expect_norm("sh!t!", " shit ");
	expect_norm("hi!!!", " hi ");
	expect_norm("k!!l", " kiil ");
	expect_norm("sh!!t", " shiit ");
	expect_norm("what?!", " what ");
	/* Lone symbols are separators. */
	expect_norm("$$", " ss "); /* a word of symbols */
	expect_norm("!!!", " ");
	expect_norm("@", " ");
	expect_norm("ab & cd @ ef", " ab cd ef ");
}

static void
test_normalize_glue(void **state)
{
	(void)state;
	/* Symbols that stand for letters inside a word of letters. */
	expect_norm("fu(k bi+ch s}{it", " fuck bitch shit ");
	expect_norm("fu\u00a2k sh\u20acll \u20aclite", " fuck shell elite ");
	expect_norm("he||o", " he||o "); /* | is i or l: keyword.c */
	expect_norm("f*ck f**k f#ck", " f*ck f**k f*ck ");
	expect_norm("f***k", " f***k "); /* marks never collapse */
	/* Never in code, math, prices or markup. */
	expect_norm("f(x) word(s)", " fx word s "); /* as S/M */
	expect_norm("i++", " i ");
	expect_norm("2*3=6", " 2 3 6 ");
	expect_norm("a*b", " ab "); /* spread, as a.b */
	expect_norm("\u20ac20 \u00a35 20\u20ac", " 20 5 20 ");
	expect_norm("*really* __init__", " really init ");
	expect_norm("s*h*i*t", " shit "); /* spread letters */
	/* The second reading takes glue and ! between letters as punctuation. */
	nst.split_lead = 1;
	expect_norm("kill!you go+die f*ck", " kill you go die f ck ");
	nst.split_lead = 0;
}

static void
test_normalize_numbers(void **state)
{
	(void)state;
	expect_norm("version 4.5.5", " version 4 5 5 ");
	expect_norm("the 1990s", " the 1990s ");
	expect_norm("45s", " 45s ");
	expect_norm("$100", " 100 ");
	expect_norm("$5", " 5 ");
	expect_norm("7pm 4th 1st", " 7pm 4th 1st ");
	expect_norm("1000000", " 1000000 ");
	expect_norm("1111", " 1111 "); /* digits never collapse */
	expect_norm("covid19", " covid19 ");
	expect_norm("4 5 5", " 4 5 5 ");
	expect_norm("x 1 2 3", " x 1 2 3 ");
}

static void
test_normalize_spread(void **state)
{
	(void)state;
	expect_norm("f u c k", " fuck ");
	expect_norm("f.u.c.k", " fuck ");
	expect_norm("s*h*i*t", " shit ");
	expect_norm("s h 1 t", " shit ");
	expect_norm("s.h.i.t.", " shit ");
	expect_norm("f-u-c-k", " fuck ");
	expect_norm("f_u_c_k", " fuck ");
	expect_norm("f/u/c/k", " fuck ");
	expect_norm("f . u . c . k", " fuck ");
	expect_norm("f...u...c...k", " fuck ");
	expect_norm("f\tu\tc\tk", " fuck ");
	expect_norm("f u c k i n g", " fucking ");
	expect_norm("U.S.A.", " usa ");
	/* Two are enough with punctuation between them. */
	expect_norm("a.b", " ab ");
	expect_norm("e.g.", " eg ");
	/* One letter a line, or a block each. */
	expect_norm("f\nu\nc\nk", " fuck ");
	expect_norm("f<br>u<br>c<br>k", " fuck ");
	expect_norm("<p>a</p><p>b</p><p>c</p>", " abc ");
}

static void
test_normalize_spread_limits(void **state)
{
	(void)state;
	expect_norm("the pen is", " the pen is ");
	expect_norm("who're", " who re ");
	expect_norm("a b", " a b "); /* two with spaces stay apart */
	expect_norm("a. b", " a b ");
	expect_norm("f    u c k", " f uck "); /* gap of four */
	/* A run keeps to one kind of separator. */
	expect_norm("a d.i.c.k", " a dick ");
}

static void
test_normalize_repeats(void **state)
{
	(void)state;
	expect_norm2("fuuuuck", " fuck ", " fuuck ");
	expect_norm2("assss", " as ", " ass ");
	expect_norm2("shiiiit", " shit ", " shiit ");
	expect_norm2("b0000b", " bob ", " boob ");
	expect_norm2("zzzzzz", " z ", " zz ");
	expect_norm2("a$$$hole", " ashole ", " asshole ");
	expect_norm2("fuuuuck you ass", " fuck you ass ", " fuuck you ass ");
}

static void
test_normalize_no_repeats(void **state)
{
	(void)state;
	expect_norm("good boob", " good boob ");
	assert_string_equal(norm("good boob", 1), "(none)");
	expect_norm("ffuucckk", " ffuucckk ");
	expect_norm("aa bb", " aa bb ");
}

static void
test_normalize_third_form(void **state)
{
	(void)state;
	/* Vowels to one, consonants to two: a third form when it differs. */
	expect_norm3("aaasss", " as ", " aass ", " ass ");
	expect_norm3("fuuuuuccckkk", " fuck ", " fuucckk ", " fucckk ");
	expect_norm3("ssshhhiiittt", " shit ", " sshhiitt ", " sshhitt ");
	expect_norm2("fuuuuck", " fuck ", " fuuck ");
}

static void
test_normalize_leet_digit_first(void **state)
{
	(void)state;
	expect_norm("5h1t", " shit ");
	expect_norm("1d10t", " idiot ");
	expect_norm("7h3", " the ");
	expect_norm("4ss", " ass ");
	/* Numbers with units and ordinals stay numbers. */
	expect_norm("1990s 45s 4th 3d 10k", " 1990s 45s 4th 3d 10k ");
}

static void
test_normalize_cjk(void **state)
{
	(void)state;
	/* Each Chinese character is a word; kana runs stay together. */
	expect_norm("\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97",
	    " \xe4\xb8\xad \xe6\x96\x87 \xe5\xad\x97 ");
	expect_norm("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xa7"
	            "\xe3\x81\x99",
	    " \xe6\x97\xa5 \xe6\x9c\xac \xe8\xaa\x9e \xe3\x81\xa6\xe3\x82"
	    "\x99\xe3\x81\x99 "); /* de decomposed: te + dakuten */
}

static void
test_normalize_flags_enclosed(void **state)
{
	(void)state;
	/* Regional indicators pair into flags; a lone one is a letter. */
	expect_norm("\xf0\x9f\x87\xba\xf0\x9f\x87\xb8\xf0\x9f\x87\xac"
	            "\xf0\x9f\x87\xa7",
	    " \xf0\x9f\x87\xba\xf0\x9f\x87\xb8 \xf0\x9f\x87\xac\xf0\x9f"
	    "\x87\xa7 ");
	expect_norm("\xf0\x9f\x87\xba", " u ");
	/* Circled and squared letters are letters. */
	expect_norm(
	    "\xe2\x92\xbb\xe2\x93\xa4\xe2\x93\x92\xe2\x93\x9a", " fuck ");
	expect_norm("\xf0\x9f\x85\xb5\xf0\x9f\x86\x84\xf0\x9f\x85\xb2"
	            "\xf0\x9f\x85\xba",
	    " fuck ");
}

static void
test_normalize_html_inline(void **state)
{
	(void)state;
	expect_norm("half<b></b>way", " halfway ");
	expect_norm("<i>f</i><i>u</i>ck", " fuck ");
	expect_norm("fu<span class=\"x\">ck</span>", " fuck ");
	expect_norm("<a href=\"x\">click</a>here", " clickhere ");
	expect_norm("<B>bold</B>", " bold ");
	expect_norm("<<b>>", " ");
	/* Quoted attributes may hold '>'. */
	expect_norm("<a title=\"x>y\">z</a>", " z ");
	expect_norm("<a title='x>y'>z</a>", " z ");
}

static void
test_normalize_html_block(void **state)
{
	(void)state;
	expect_norm("<p>a</p><p>b</p>", " a b ");
	expect_norm("<div>fu</div>ck", " fu ck ");
	expect_norm("fu<br/>ck", " fu ck ");
	expect_norm("fu<br />ck", " fu ck ");
	expect_norm("<script>x</script>", " x ");
}

static void
test_normalize_html_tag_names(void **state)
{
	static const char *const inl[] = {"a", "abbr", "b", "bdi", "bdo", "big",
	    "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
	    "kbd", "mark", "q", "s", "samp", "small", "span", "strike",
	    "strong", "sub", "sup", "time", "tt", "u", "var", "wbr", "blink",
	    "svg", "B", "Span"};
	static const char *const block[] = {"p", "div", "br", "li", "ul", "ol",
	    "h1", "h6", "td", "th", "tr", "table", "hr", "img", "blockquote",
	    "section", "article", "pre", "textarea", "figcaption", "video",
	    "DIV", "Br"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof inl / sizeof inl[0]; i++) {
		snprintf(text, sizeof text, "fu<%s class=\"x\">ck</%s>", inl[i],
		    inl[i]);
		expect_norm(text, " fuck ");
	}
	for (i = 0; i < sizeof block / sizeof block[0]; i++) {
		snprintf(text, sizeof text, "fu<%s>ck", block[i]);
		expect_norm(text, " fu ck ");
	}
}

static void
test_normalize_html_not_tags(void **state)
{
	(void)state;
	expect_norm("ab<cd", " ab cd ");
	expect_norm("<p", " p ");
	expect_norm("xx < yy > zz", " xx yy zz ");
	expect_norm("1<2", " 1 2 ");
	expect_html("a <3 b", " a 3 b ", NULL);
	expect_html("<<<", " ", NULL);
	expect_html("a < b", " a b ", NULL);
}

static void
test_normalize_html_not_elements(void **state)
{
	(void)state;
	/* Tag-shaped, but no HTML element: text, or hidden by a browser. */
	expect_html("<fuck you>", " fuck you ", " ");
	expect_html("</fuck>", " fuck ", " ");
	expect_html("sh<x>it", " sh x it ", " shit ");
	expect_html(
	    "fu<bx class=\"x\">ck</bx>", " fu bx class x ck bx ", " fuck ");
	expect_html("fu<strongly>ck", " fu strongly ck ", " fuck ");
	expect_html("fu<hx>ck", " fu hx ck ", " fuck ");
	expect_html("<my-tag>shit</my-tag>", " my tag shit my tag ", " shit ");
	expect_html("<b-x>shit", " bx shit ", " shit ");
	expect_html("<?fuck?>", " fuck ", " ");
	expect_html("<!fuck>", " fuck ", " ");
	/* Tags of elements are markup, whatever their attributes hold. */
	expect_html("<b>fuck</b>", " fuck ", NULL);
	expect_html("<B\tclass=x>fuck</B >", " fuck ", NULL);
	expect_html("fu<br/>ck", " fu ck ", NULL);
	expect_html("<b fuck you>", " ", NULL);
	expect_html("<img src=x onerror=alert(1)>", " ", NULL);
	expect_html("<img src=\"x\" onerror=\"alert('<b>')\">", " ", NULL);
	expect_norm("fu<fuck you>ck", " fu fuck you ck ");
	expect_src(0, 4, 3, 4);
}

static void
test_normalize_html_comments(void **state)
{
	(void)state;
	/* What a comment holds is judged; "<!--" separates words. */
	expect_html("<!-- fuck -->", " fuck ", " ");
	expect_html("<!--fuck-->", " fuck ", " ");
	expect_html("fu<!-- x -->ck", " fu x ck ", " fuck ");
	expect_html("<!-- c -->x", " c x ", " x ");
	expect_html("<!---->x", " x ", " x ");
	expect_html("<!-- <b>f</b>u<i>ck</i> -->", " fuck ", " ");
	expect_html("<!-- unterminated fuck", " unterminated fuck ", NULL);
	expect_norm("<!-- fuck -->", " fuck ");
	expect_src(0, 1, 5, 6);
	expect_src(0, 4, 8, 9);
}

static void
test_normalize_entities(void **state)
{
	(void)state;
	expect_norm("&amp;", " ");
	expect_norm("&#8220;quoted&#8221;", " quoted ");
	expect_norm("&#x41;BC", " abc ");
	expect_norm("&#X66;uck", " fuck ");
	expect_norm("&#65;BC", " abc ");
	expect_norm("&eacute;t&eacute;", " ete ");
	expect_norm("&#102;&#117;&#99;&#107;", " fuck ");
	expect_norm("&lt;b&gt;", " b ");
	expect_norm("&quot;hi&quot;", " hi ");
	expect_norm("&amp;amp;", " amp ");
	expect_norm("&nbsp;x&nbsp;", " x ");
}

static void
test_normalize_plain(void **state)
{
	(void)state;
	/* Shown as sent: no tags, no character references. */
	expect_plain("<fuck you>", " fuck you ");
	expect_plain("<b>fuck</b>", " b fuck b ");
	expect_plain("<!-- fuck -->", " fuck ");
	expect_plain("a <3 b", " a 3 b ");
	expect_plain("&lt;b&gt;", " lt b&gt ");
	expect_plain("&#107;ill", " 107 ill ");
	expect_plain(
	    "<img src=x onerror=alert(1)>", " img src x onerror alert 1 ");
	expect_plain("AT&amp;T", " at&amp t ");
	expect_plain("caf\xc3\xa9 f\xc3\xbc"
	             "ck",
	    " cafe fuck ");
}

static void
test_normalize_entities_invalid(void **state)
{
	(void)state;
	expect_norm("AT&T", " at&t ");
	expect_norm("&amp", " "); /* legacy: no ';' needed */
	expect_norm("&ampx", " x ");
	expect_norm("&#102uck", " fuck ");
	expect_norm("&unknown;", " unknown ");
	expect_norm("&#;", " ");
	expect_norm("&#x;", " x ");
	expect_norm("&#123456789;", " \xef\xbf\xbd ");
	/* Invalid code points become U+FFFD, a symbol of its own. */
	expect_norm("&#0;", " \xef\xbf\xbd ");
	expect_norm("x&#xD800;y", " x \xef\xbf\xbd y ");
	expect_norm("&#x110000;", " \xef\xbf\xbd ");
}

static void
test_normalize_invalid_utf8(void **state)
{
	(void)state;
	expect_norm("ab\xff"
	            "cd",
	    " ab cd ");
	expect_norm("fu\xc0\x80"
	            "ck",
	    " fu ck ");
	expect_norm("ab\xed\xa0\x80"
	            "cd",
	    " ab cd ");
	expect_norm("abc\xe2\x82", " abc ");
	expect_norm("\x80\x80\x80", " ");
}

static void
test_normalize_nul(void **state)
{
	(void)state;
	expect_norm_n("ab\0cd", 5, " ab cd ");
	expect_norm_n("a\0b", 3, " ab "); /* two letters, punctuation */
	expect_norm_n("fu\0ck", 5, " fu ck ");
	expect_norm_n("f\0u\0c\0k", 7, " fuck ");
	expect_norm_n("\0\0\0", 3, " ");
	expect_norm_n("word\0", 5, " word ");
}

static void
test_normalize_controls(void **state)
{
	(void)state;
	expect_norm("fu\x01"
	            "ck",
	    " fu ck ");
	expect_norm("fu\rck", " fu ck ");
	expect_norm("line\r\nnext", " line next ");
}

static void
test_normalize_emoji(void **state)
{
	(void)state;
	expect_norm("\xf0\x9f\x98\x80hello\xf0\x9f\x98\x80",
	    " \xf0\x9f\x98\x80 hello \xf0\x9f\x98\x80 ");
	/* Skin tones dropped, ZWJ sequences split. */
	expect_norm("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", " \xf0\x9f\x91\x8d ");
	expect_norm("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9",
	    " \xf0\x9f\x91\xa8 \xf0\x9f\x91\xa9 ");
	expect_norm("\xc2\xa9", " \xc2\xa9 ");
}

static void
test_normalize_devanagari(void **state)
{
	(void)state;
	/* Vowel signs and virama are kept: they are letters of the word. */
	expect_norm(
	    "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4"
	    "\xe0\xa5\x87 \xe0\xa4\xa6\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa4"
	    "\xbf\xe0\xa4\xaf\xe0\xa4\xbe",
	    " \xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4"
	    "\xe0\xa5\x87 \xe0\xa4\xa6\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa4\xbf"
	    "\xe0\xa4\xaf\xe0\xa4\xbe ");
	expect_norm(
	    "\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\xac",
	    " \xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\xac ");
}

static void
test_normalize_urdu(void **state)
{
	(void)state;
	expect_norm("\xd8\xa7\xd8\xb1\xd8\xaf\xd9\x88 \xd8\xb2\xd8\xa8\xd8\xa7"
	            "\xd9\x86",
	    " \xd8\xa7\xd8\xb1\xd8\xaf\xd9\x88 "
	    "\xd8\xb2\xd8\xa8\xd8\xa7\xd9\x86 ");
	/* Arabic kaf and yeh are written as Urdu keheh and Farsi yeh. */
	expect_norm("\xd9\x83\xd8\xaa\xd8\xa7\xd8\xa8",
	    " \xda\xa9\xd8\xaa\xd8\xa7\xd8\xa8 ");
	expect_norm("\xd8\xaf\xd9\x86\xd9\x8a\xd8\xa7",
	    " \xd8\xaf\xd9\x86\xdb\x8c\xd8\xa7 ");
	/* Harakat are dropped, alef with hamza is alef. */
	expect_norm("\xd8\xb3\xd9\x8e\xd9\x84\xd8\xa7\xd9\x85",
	    " \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 ");
	expect_norm("\xd8\xa3\xd8\xad\xd9\x85\xd8\xaf",
	    " \xd8\xa7\xd8\xad\xd9\x85\xd8\xaf ");
	/* Presentation forms are the same word. */
	expect_norm("\xef\xbb\x9b\xef\xba\x98\xef\xba\x8e\xef\xba\x8f",
	    " \xda\xa9\xd8\xaa\xd8\xa7\xd8\xa8 ");
}

static void
test_normalize_offsets_spread(void **state)
{
	(void)state;
	expect_norm("f.u.c.k", " fuck ");
	expect_src(0, 0, 0, 0);
	expect_src(0, 1, 0, 1);
	expect_src(0, 2, 2, 3);
	expect_src(0, 3, 4, 5);
	expect_src(0, 4, 6, 7);
	expect_src(0, 5, 7, 7);
}

static void
test_normalize_offsets_accent(void **state)
{
	(void)state;
	expect_norm("caf\xc3\xa9", " cafe ");
	expect_src(0, 4, 3, 5);
	expect_norm("cafe\xcc\x81s", " cafes ");
	expect_src(0, 4, 3, 6); /* the mark is part of the e */
	expect_src(0, 5, 6, 7);
	expect_norm("\xef\xbd\x86\xef\xbd\x95", " fu ");
	expect_src(0, 1, 0, 3);
	expect_src(0, 2, 3, 6);
	expect_norm("\xef\xac\x81x", " fix ");
	expect_src(0, 1, 0, 3);
	expect_src(0, 2, 0, 3);
	expect_src(0, 3, 3, 4);
}

static void
test_normalize_offsets_repeat(void **state)
{
	(void)state;
	expect_norm2("fuuuuck", " fuck ", " fuuck ");
	norm("fuuuuck", 0);
	expect_src(0, 2, 1, 5);
	expect_src(0, 3, 5, 6);
	expect_src(1, 2, 1, 5);
	expect_src(1, 3, 1, 5);
	expect_src(1, 4, 5, 6);
}

static void
test_normalize_offsets_markup(void **state)
{
	(void)state;
	expect_norm("half<b></b>way", " halfway ");
	expect_src(0, 4, 3, 4);
	expect_src(0, 5, 11, 12);
	expect_norm("&#102;uck", " fuck ");
	expect_src(0, 1, 0, 6);
	expect_src(0, 2, 6, 7);
	expect_norm("e&eacute;", " ee ");
	expect_src(0, 2, 1, 9);
	expect_norm("k1ll", " kill ");
	expect_src(0, 2, 1, 2);
}

static void
test_normalize_reuse(void **state)
{
	struct norm n;
	char *big;

	(void)state;
	normalize_init(&n);
	big = xmalloc(100001);
	memset(big, 'a', 100000);
	big[100000] = '\0';
	normalize_text(&n, big, 100000);
	assert_int_equal(n.nforms, 3);
	assert_int_equal(n.form[0].len, 3);
	assert_memory_equal(n.form[0].buf, " a ", 3);
	assert_int_equal(n.form[0].src_end[1], 100000);
	normalize_text(&n, "ok", 2);
	assert_int_equal(n.nforms, 1);
	assert_int_equal(n.form[0].len, 4);
	assert_memory_equal(n.form[0].buf, " ok ", 4);
	normalize_free(&n);
	normalize_free(&n); /* idempotent */
	free(big);
}

/* ---- keyword.c through rules_build() and rules_match_text() ---- */

static void
test_match_word(void **state)
{
	static const char *const w[] = {"ass", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "you ass", RULES_REJECT, "list", "list:\"ass\"");
	expect_match(rs, "ASS!", RULES_REJECT, "list", "list:\"ASS\"");
	expect_match(rs, "ass-hat", RULES_REJECT, "list", "list:\"ass\"");
	expect_match(rs, "a$$", RULES_REJECT, "list", "list:\"a$$\"");
	expect_match(
	    rs, "\xd0\xb0ss", RULES_REJECT, "list", "list:\"\xd0\xb0ss\"");
	expect_match(rs, "a.s.s", RULES_REJECT, "list", "list:\"a.s.s\"");
	expect_clean(rs, "class");
	expect_clean(rs, "assess");
	expect_clean(rs, "bass");
	expect_clean(rs, "as");
	rules_unref(rs);
}

static void
test_match_phrase(void **state)
{
	static const char *const w[] = {"kill you", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(
	    rs, "I will kill you", RULES_REJECT, "list", "list:\"kill you\"");
	expect_match(rs, "I'll KILL... you", RULES_REJECT, "list",
	    "list:\"KILL... you\"");
	expect_match(rs, "kill\n\nyou", RULES_REJECT, "list",
	    "list:\"kill\\x0a\\x0ayou\"");
	expect_match(rs, "k1ll y0u", RULES_REJECT, "list", "list:\"k1ll y0u\"");
	expect_clean(rs, "kill your darlings");
	expect_clean(rs, "you kill");
	expect_clean(rs, "kill them and you");
	expect_clean(rs, "skill you");
	rules_unref(rs);
}

static void
test_match_trailing_wildcard(void **state)
{
	static const char *const w[] = {"behead*", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(
	    rs, "beheading", RULES_REJECT, "list", "list:\"beheading\"");
	expect_match(
	    rs, "they BEHEADED him", RULES_REJECT, "list", "list:\"BEHEADED\"");
	expect_match(rs, "behead", RULES_REJECT, "list", "list:\"behead\"");
	expect_clean(rs, "unbeheaded");
	expect_clean(rs, "behe ad");
	rules_unref(rs);
}

static void
test_match_leading_wildcard(void **state)
{
	static const char *const w[] = {"*phobic", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);

	(void)state;
	expect_match(
	    rs, "so homophobic!", RULES_HOLD, "list", "list:\"homophobic\"");
	expect_match(rs, "phobic", RULES_HOLD, "list", "list:\"phobic\"");
	expect_clean(rs, "phobics");
	rules_unref(rs);
}

static void
test_match_middle_wildcard(void **state)
{
	static const char *const w[] = {"mother*ker", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "you motherfucker", RULES_REJECT, "list",
	    "list:\"motherfucker\"");
	expect_match(
	    rs, "MOTHERKER", RULES_REJECT, "list", "list:\"MOTHERKER\"");
	expect_clean(rs, "mother ker");
	expect_clean(rs, "motherfuckers");
	expect_clean(rs, "smotherker");
	rules_unref(rs);
}

static void
test_match_both_wildcards(void **state)
{
	static const char *const w[] = {"*nazi*", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);

	(void)state;
	expect_match(
	    rs, "grammarnazis", RULES_HOLD, "list", "list:\"grammarnazis\"");
	expect_match(rs, "nazi", RULES_HOLD, "list", "list:\"nazi\"");
	expect_clean(rs, "na zi");
	rules_unref(rs);
}

static void
test_match_word_wildcard(void **state)
{
	static const char *const w[] = {"go * yourself", "f*ck", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	/* A standalone '*' is exactly one word. */
	expect_match(rs, "go hug yourself", RULES_REJECT, "list",
	    "list:\"go hug yourself\"");
	expect_clean(rs, "go yourself");
	expect_clean(rs, "go hug it yourself");
	/* Inside a word it is any letters of that word. */
	expect_match(rs, "fck", RULES_REJECT, "list", "list:\"fck\"");
	expect_match(rs, "FRACK", RULES_REJECT, "list", "list:\"FRACK\"");
	expect_clean(rs, "f ck");
	rules_unref(rs);
}

static void
test_match_folded_entry(void **state)
{
	static const char *const w[] = {
	    "\xd1\x81\xd1\x83\xd0\xba\xd0\xb0", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	/* A Cyrillic entry also catches its Latin look-alike spelling. */
	assert_int_equal(rules_npatterns(rs), 2);
	expect_match(rs, "\xd1\x81\xd1\x83\xd0\xba\xd0\xb0", RULES_REJECT,
	    "list", "list:\"\xd1\x81\xd1\x83\xd0\xba\xd0\xb0\"");
	expect_match(rs, "CYKA", RULES_REJECT, "list", "list:\"CYKA\"");
	expect_match(rs, "c\xd1\x83k\xd0\xb0", RULES_REJECT, "list",
	    "list:\"c\xd1\x83k\xd0\xb0\"");
	expect_clean(rs, "\xd1\x81\xd1\x83\xd0\xbf");
	rules_unref(rs);
}

static void
test_match_regex(void **state)
{
	static const char *const w[] = {"/isi\\s+agents?/", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "ISI agents everywhere", RULES_HOLD, "list",
	    "list:\"ISI agents\"");
	expect_match(
	    rs, "an isi agent", RULES_HOLD, "list", "list:\"isi agent\"");
	/* The regex runs over the normalised text. */
	expect_match(
	    rs, "I.S.I. agents", RULES_HOLD, "list", "list:\"I.S.I. agents\"");
	expect_clean(rs, "isiagent");
	rules_unref(rs);
}

static void
test_match_substring(void **state)
{
	static const char *const w[] = {"bit.ly/", "ass", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_SUBSTRING);

	(void)state;
	expect_match(
	    rs, "see bit.ly/xyz", RULES_HOLD, "list", "list:\"bit.ly\"");
	expect_match(rs, "grass", RULES_HOLD, "list", "list:\"grass\"");
	expect_match(
	    rs, "the classroom", RULES_HOLD, "list", "list:\"classroom\"");
	expect_match(rs, "ass", RULES_HOLD, "list", "list:\"ass\"");
	expect_clean(rs, "a ss");
	rules_unref(rs);
}

static void
test_match_allow_substring(void **state)
{
	static const char *const w[] = {"ass", "cunt", NULL};
	static const char *const allow[] = {
	    "scunthorpe", "class", "assassin", NULL};
	struct rules_spec spec;
	struct ruleset *rs;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "sub", RULES_REJECT, RULES_MATCH_SUBSTRING, w);
	add_allow(&spec, allow);
	rs = build_spec(&spec);
	expect_clean(rs, "Scunthorpe");
	expect_clean(rs, "class");
	expect_clean(rs, "assassin");
	expect_clean(rs, "class assassin Scunthorpe");
	expect_clean(rs, "CL@SS");
	expect_match(rs, "class ass", RULES_REJECT, "sub", "sub:\"ass\"");
	expect_match(rs, "classy", RULES_REJECT, "sub", "sub:\"classy\"");
	expect_match(rs, "grass", RULES_REJECT, "sub", "sub:\"grass\"");
	rules_unref(rs);
}

static void
test_match_allow_phrase(void **state)
{
	static const char *const w[] = {"dyke", NULL};
	static const char *const allow[] = {"van dyke", NULL};
	struct rules_spec spec;
	struct ruleset *rs;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "slurs", RULES_REJECT, RULES_MATCH_WORD, w);
	add_allow(&spec, allow);
	rs = build_spec(&spec);
	expect_clean(rs, "Van Dyke");
	expect_clean(rs, "Dick Van-Dyke");
	expect_match(rs, "that dyke", RULES_REJECT, "slurs", "slurs:\"dyke\"");
	expect_match(
	    rs, "van dyke dyke", RULES_REJECT, "slurs", "slurs:\"dyke\"");
	expect_match(rs, "dyke van", RULES_REJECT, "slurs", "slurs:\"dyke\"");
	rules_unref(rs);
}

static void
test_match_allow_only(void **state)
{
	static const char *const allow[] = {"scunthorpe", NULL};
	struct rules_spec spec;
	struct ruleset *rs;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_allow(&spec, allow);
	rs = build_spec(&spec);
	expect_clean(rs, "Scunthorpe");
	expect_clean(rs, "anything");
	assert_int_equal(rules_npatterns(rs), 1);
	rules_unref(rs);
}

static void
test_match_multiple_lists(void **state)
{
	static const char *const a[] = {"traitor", NULL};
	static const char *const b[] = {"idiot", NULL};
	static const char *const c[] = {"kill you", NULL};
	struct rules_spec spec;
	struct ruleset *rs;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "watch", RULES_HOLD, RULES_MATCH_WORD, a);
	add_list(&spec, "insults", RULES_REJECT, RULES_MATCH_WORD, b);
	add_list(&spec, "threats", RULES_HOLD, RULES_MATCH_WORD, c);
	rs = build_spec(&spec);
	/* Reasons in config order, whatever the order in the text. */
	expect_match(rs, "I kill you, idiot traitor", RULES_REJECT,
	    "watch insults threats",
	    "watch:\"traitor\" insults:\"idiot\" threats:\"kill you\"");
	expect_match(rs, "kill you traitor", RULES_HOLD, "watch threats",
	    "watch:\"traitor\" threats:\"kill you\"");
	expect_match(rs, "idiot", RULES_REJECT, "insults", "insults:\"idiot\"");
	expect_clean(rs, "hello");
	rules_unref(rs);
}

static void
test_match_same_entry_two_lists(void **state)
{
	static const char *const w[] = {"spam", NULL};
	struct rules_spec spec;
	struct ruleset *rs;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "one", RULES_HOLD, RULES_MATCH_WORD, w);
	add_list(&spec, "two", RULES_REJECT, RULES_MATCH_SUBSTRING, w);
	rs = build_spec(&spec);
	expect_match(
	    rs, "spam!", RULES_REJECT, "one two", "one:\"spam\" two:\"spam\"");
	expect_match(rs, "spammer", RULES_REJECT, "two", "two:\"spammer\"");
	rules_unref(rs);
}

static void
test_match_duplicate_entry(void **state)
{
	static const char *const w[] = {"ass", "ass", "ASS", "a$$", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "ass", RULES_REJECT, "list", "list:\"ass\"");
	/* Found in both forms, shown once. */
	expect_match(
	    rs, "fuuuuck you ass", RULES_REJECT, "list", "list:\"ass\"");
	rules_unref(rs);
}

static void
test_match_repeats(void **state)
{
	static const char *const w[] = {"fuck", "ass", "bob", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "fuuuuuck", RULES_REJECT, "list", "list:\"fuuuuuck\"");
	expect_match(rs, "assss", RULES_REJECT, "list", "list:\"assss\"");
	expect_match(rs, "aaasss", RULES_REJECT, "list", "list:\"aaasss\"");
	expect_clean(rs, "boob");
	expect_clean(rs, "good");
	rules_unref(rs);
}

static void
test_match_evasions(void **state)
{
	static const char *const w[] = {"fuck", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "f.u.c.k", RULES_REJECT, "list", "list:\"f.u.c.k\"");
	expect_match(
	    rs, "f u c k off", RULES_REJECT, "list", "list:\"f u c k\"");
	expect_match(rs,
	    "fu\xe2\x80\x8b"
	    "ck",
	    RULES_REJECT, "list",
	    "list:\"fu\xe2\x80\x8b"
	    "ck\"");
	expect_match(rs, "\xef\xbd\x86\xef\xbd\x95\xef\xbd\x83\xef\xbd\x8b",
	    RULES_REJECT, "list",
	    "list:\"\xef\xbd\x86\xef\xbd\x95\xef\xbd\x83\xef\xbd\x8b\"");
	expect_match(
	    rs, "f<b></b>uck", RULES_REJECT, "list", "list:\"f<b></b>uck\"");
	expect_match(
	    rs, "&#102;uck", RULES_REJECT, "list", "list:\"&#102;uck\"");
	expect_match(rs,
	    "f\xcc\xb6u\xcc\xb6"
	    "ck",
	    RULES_REJECT, "list",
	    "list:\"f\xcc\xb6u\xcc\xb6"
	    "ck\"");
	rules_unref(rs);
}

/*
 * Two lists, as in tests/cases/html.conf: profanity (reject) and probe
 * (hold: "b", which fires only when "<b>" is read as text), in a format.
 */
static struct ruleset *
build_format(enum rules_format format)
{
	static const char *const bad[] = {"fuck", "kill", NULL};
	static const char *const probe[] = {"b", NULL};
	struct rules_spec spec;

	memset(&spec, 0, sizeof spec);
	add_list(&spec, "profanity", RULES_REJECT, RULES_MATCH_WORD, bad);
	add_list(&spec, "probe", RULES_HOLD, RULES_MATCH_WORD, probe);
	spec.format = format;
	return (build_spec(&spec));
}

static void
test_match_html(void **state)
{
	struct ruleset *rs = build_format(RULES_FORMAT_HTML);

	(void)state;
	expect_match(
	    rs, "<fuck you>", RULES_REJECT, "profanity", "profanity:\"fuck\"");
	expect_match(
	    rs, "<b>fuck</b>", RULES_REJECT, "profanity", "profanity:\"fuck\"");
	expect_match(rs, "<!-- fuck -->", RULES_REJECT, "profanity",
	    "profanity:\"fuck\"");
	expect_match(rs, "fu<!-- x -->ck", RULES_REJECT, "profanity",
	    "profanity:\"fu<!-- x -->ck\"");
	expect_match(
	    rs, "fu<x>ck", RULES_REJECT, "profanity", "profanity:\"fu<x>ck\"");
	expect_match(rs, "&#107;ill", RULES_REJECT, "profanity",
	    "profanity:\"&#107;ill\"");
	expect_match(rs, "a <3 b", RULES_HOLD, "probe", "probe:\"b\"");
	expect_match(rs, "&lt;b&gt;", RULES_HOLD, "probe", "probe:\"b\"");
	expect_clean(rs, "<img src=x onerror=alert(1)>");
	expect_clean(rs, "<b fuck you>");
	rules_unref(rs);
}

static void
test_match_text(void **state)
{
	struct ruleset *rs = build_format(RULES_FORMAT_TEXT);

	(void)state;
	expect_match(
	    rs, "<fuck you>", RULES_REJECT, "profanity", "profanity:\"fuck\"");
	expect_match(rs, "<b>fuck</b>", RULES_REJECT, "profanity probe",
	    "profanity:\"fuck\" probe:\"b\" probe:\"b\"");
	expect_match(rs, "<!-- fuck -->", RULES_REJECT, "profanity",
	    "profanity:\"fuck\"");
	expect_match(rs, "a <3 b", RULES_HOLD, "probe", "probe:\"b\"");
	expect_clean(rs, "&lt;b&gt;");
	expect_clean(rs, "&#107;ill");
	expect_clean(rs, "fu<x>ck");
	expect_clean(rs, "<img src=x onerror=alert(1)>");
	rules_unref(rs);
}

static void
test_match_enye(void **state)
{
	static const char *const w[] = {"ano", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "ANO", RULES_HOLD, "list", "list:\"ANO\"");
	expect_match(
	    rs, "\xc3\xa1no", RULES_HOLD, "list", "list:\"\xc3\xa1no\"");
	expect_clean(rs, "feliz a\xc3\xb1o");
	expect_clean(rs, "an\xcc\x83o");
	rules_unref(rs);
}

static void
test_match_non_latin(void **state)
{
	static const char *const w[] = {"\xd9\x83\xd8\xaa\xd8\xa7\xd8\xa8",
	    "\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\xac",
	    NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);

	(void)state;
	/* The entry's Arabic kaf matches the Urdu keheh and vice versa. */
	expect_match(rs, "\xda\xa9\xd8\xaa\xd8\xa7\xd8\xa8", RULES_HOLD, "list",
	    "list:\"\xda\xa9\xd8\xaa\xd8\xa7\xd8\xa8\"");
	expect_match(rs,
	    "x \xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe"
	    "\xe0\xa4\xac y",
	    RULES_HOLD, "list",
	    "list:\"\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4"
	    "\xac\"");
	/* Without its vowel sign it is another word. */
	expect_clean(rs, "\xe0\xa4\x95\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\xac");
	rules_unref(rs);
}

static void
test_match_emoji_entry(void **state)
{
	static const char *const w[] = {"\xf0\x9f\x96\x95", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);

	(void)state;
	/* The skin tone is shown with the emoji it changes. */
	expect_match(rs, "here\xf0\x9f\x96\x95\xf0\x9f\x8f\xbb!", RULES_HOLD,
	    "list", "list:\"\xf0\x9f\x96\x95\xf0\x9f\x8f\xbb\"");
	expect_clean(rs, "\xf0\x9f\x98\x80");
	rules_unref(rs);
}

static void
test_snippet_escaping(void **state)
{
	static const char *const w[] = {"kill you", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(
	    rs, "kill \"you\"", RULES_REJECT, "list", "list:\"kill \\\"you\"");
	expect_match(
	    rs, "kill\\you", RULES_REJECT, "list", "list:\"kill\\\\you\"");
	expect_match(
	    rs, "kill\tyou", RULES_REJECT, "list", "list:\"kill\\x09you\"");
	expect_match(
	    rs, "kill\x7fyou", RULES_REJECT, "list", "list:\"kill\\x7fyou\"");
	expect_match(
	    rs, "kill\x1b you", RULES_REJECT, "list", "list:\"kill\\x1b you\"");
	expect_match_n(
	    rs, "kill\0you", 8, RULES_REJECT, "list", "list:\"kill\\x00you\"");
	rules_unref(rs);
}

static void
test_snippet_cut(void **state)
{
	static const char *const w[] = {"kill you", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);
	char text[256], want[512];

	(void)state;
	/* 80 bytes exactly: shown whole. */
	memcpy(text, "kill", 4);
	memset(text + 4, '.', 73);
	memcpy(text + 77, "you", 4);
	snprintf(want, sizeof want, "list:\"%s\"", text);
	expect_match(rs, text, RULES_REJECT, "list", want);
	/* 81 bytes: cut at 80 and marked. */
	memset(text + 4, '.', 74);
	memcpy(text + 78, "you", 4);
	snprintf(want, sizeof want, "list:\"%.80s...\"", text);
	expect_match(rs, text, RULES_REJECT, "list", want);
	/* Never cut inside a UTF-8 sequence: "\xe2\x80\xa6" at 79..81. */
	memset(text + 4, '.', 75);
	memcpy(text + 79, "\xe2\x80\xa6 you", 8);
	snprintf(want, sizeof want, "list:\"%.79s...\"", text);
	expect_match(rs, text, RULES_REJECT, "list", want);
	rules_unref(rs);
}

static void
test_snippet_limits(void **state)
{
	static const char *const w[] = {"ass", NULL};
	static const char *const names[] = {"l1", "l2", "l3", "l4", "l5", "l6"};
	struct rules_spec spec;
	struct ruleset *rs;
	char want[1024];
	size_t i, j, n = 0;

	(void)state;
	rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);
	expect_match(rs, "ass ASS Ass aSS", RULES_REJECT, "list",
	    "list:\"ass\" list:\"ASS\" list:\"Ass\"");
	rules_unref(rs);
	/* At most 3 a list and 16 in all; every list is still a reason. */
	memset(&spec, 0, sizeof spec);
	for (i = 0; i < 6; i++)
		add_list(&spec, names[i], RULES_HOLD, RULES_MATCH_WORD, w);
	rs = build_spec(&spec);
	want[0] = '\0';
	for (i = 0; i < 6; i++) {
		for (j = 0; j < 3 && n < 16; j++, n++)
			snprintf(want + strlen(want),
			    sizeof want - strlen(want), "%sl%zu:\"%s\"",
			    n > 0 ? " " : "", i + 1,
			    j == 0       ? "ass"
			        : j == 1 ? "ASS"
			                 : "Ass");
	}
	expect_match(
	    rs, "ass ASS Ass aSS", RULES_HOLD, "l1 l2 l3 l4 l5 l6", want);
	rules_unref(rs);
}

static void
test_match_empty_ruleset(void **state)
{
	struct rules_spec spec;
	struct ruleset *rs;

	(void)state;
	memset(&spec, 0, sizeof spec);
	rs = build_spec(&spec);
	assert_int_equal(rules_npatterns(rs), 0);
	assert_int_equal(rules_nrates(rs), 0);
	expect_clean(rs, "fuck you ass");
	expect_clean(rs, "");
	expect_match_n(rs, "\xff\0\xfe", 3, RULES_APPROVE, "", "");
	rules_unref(rs);
}

static void
test_match_empty_text(void **state)
{
	static const char *const w[] = {"x", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_clean(rs, "");
	expect_match_n(rs, "ignored", 0, RULES_APPROVE, "", "");
	expect_match(rs, "x", RULES_REJECT, "list", "list:\"x\"");
	rules_unref(rs);
}

/* Give the i-th generated entry: letters only, no letter thrice. */
static void
gen_word(size_t i, char *out)
{
	static const char a[] = "abcdefghijklm", b[] = "nopqrstuvwxyz";

	out[0] = 'q';
	out[1] = a[i % 13];
	out[2] = b[(i / 13) % 13];
	out[3] = a[(i / 169) % 13];
	out[4] = b[(i / 2197) % 13];
	out[5] = '\0';
}

static void
test_match_many_entries(void **state)
{
	struct rules_spec spec;
	struct rules_list *l;
	struct ruleset *rs;
	char w[8], text[64], want[64];
	size_t i;

	(void)state;
	memset(&spec, 0, sizeof spec);
	spec.lists = l = xcalloc(1, sizeof *l);
	spec.nlists = 1;
	l->name = xstrdup("big");
	l->action = RULES_HOLD;
	l->file = xstrdup("big.txt");
	l->entries = xcalloc(5000, sizeof *l->entries);
	l->nentries = 5000;
	for (i = 0; i < 5000; i++) {
		gen_word(i, w);
		l->entries[i].text = xstrdup(w);
		l->entries[i].file = xstrdup("big.txt");
		l->entries[i].line = (int)i + 1;
	}
	rs = build_spec(&spec);
	assert_int_equal(rules_npatterns(rs), 5000);
	for (i = 0; i < 5000; i += 499) {
		gen_word(i, w);
		snprintf(text, sizeof text, "well %s then", w);
		snprintf(want, sizeof want, "big:\"%s\"", w);
		expect_match(rs, text, RULES_HOLD, "big", want);
	}
	gen_word(4999, w);
	snprintf(text, sizeof text, "%s", w);
	snprintf(want, sizeof want, "big:\"%s\"", w);
	expect_match(rs, text, RULES_HOLD, "big", want);
	gen_word(5000, w); /* not in the list */
	expect_clean(rs, w);
	expect_clean(rs, "qa");
	rules_unref(rs);
}

static void
test_match_long_text(void **state)
{
	static const char *const w[] = {"needle", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);
	size_t len = 65536, i;
	char *text = xmalloc(len + 1);

	(void)state;
	for (i = 0; i < len; i++)
		text[i] = i % 4 == 3 ? ' ' : "hay"[i % 4];
	memcpy(text + len - 7, " needle", 7);
	text[len] = '\0';
	expect_match(rs, text, RULES_HOLD, "list", "list:\"needle\"");
	free(text);
	rules_unref(rs);
}

static void
test_match_many_hits(void **state)
{
	static const char *const w[] = {"a", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_SUBSTRING);
	size_t len = 200000, i;
	char *text = xmalloc(len + 1);

	(void)state;
	/* More hits than the matcher keeps: still a clean verdict. */
	for (i = 0; i < len; i++)
		text[i] = "ab "[i % 3];
	text[len] = '\0';
	expect_match(rs, text, RULES_HOLD, "list",
	    "list:\"ab\" list:\"ab\" list:\"ab\"");
	free(text);
	rules_unref(rs);
}

/* \b is the space at a word edge; \B one more letter of the same word. */
static void
test_match_regex_edges(void **state)
{
	static const char *const b[] = {"/\\bass\\b/", NULL};
	static const char *const nb[] = {"/\\Bass/", "/ing\\B/", NULL};
	static const char *const sp[] = {"/\\bkill\\b \\byou\\b/", NULL};
	static const char *const esc[] = {"/a\\\\b/", "/\\Q\\b\\E/", NULL};
	static const char *const mid[] = {"/\\bki(ll|ss)\\b/", NULL};
	struct ruleset *rs;

	(void)state;
	rs = build1(b, RULES_HOLD, RULES_MATCH_WORD);
	expect_match(rs, "you ass", RULES_HOLD, "list", "list:\"ass\"");
	expect_match(rs, "ASS!", RULES_HOLD, "list", "list:\"ASS\"");
	expect_match(rs, "ass", RULES_HOLD, "list", "list:\"ass\"");
	expect_clean(rs, "class");
	expect_clean(rs, "assess");
	expect_clean(rs, "bass guitar");
	rules_unref(rs);
	rs = build1(nb, RULES_HOLD, RULES_MATCH_WORD);
	expect_match(rs, "first class", RULES_HOLD, "list", "list:\"class\"");
	expect_match(rs, "kingdom", RULES_HOLD, "list", "list:\"kingdom\"");
	expect_clean(rs, "you ass");
	expect_clean(rs, "assess");
	expect_clean(rs, "going home");
	rules_unref(rs);
	rs = build1(sp, RULES_HOLD, RULES_MATCH_WORD);
	expect_match(
	    rs, "I will KILL you!", RULES_HOLD, "list", "list:\"KILL you\"");
	expect_clean(rs, "skill you");
	expect_clean(rs, "kill young");
	rules_unref(rs);
	/* An escaped backslash or a quoted \b is no word edge. */
	rs = build1(esc, RULES_HOLD, RULES_MATCH_WORD);
	expect_clean(rs, "a b");
	rules_unref(rs);
	rs = build1(mid, RULES_HOLD, RULES_MATCH_WORD);
	expect_match(rs, "a kiss", RULES_HOLD, "list", "list:\"kiss\"");
	expect_match(rs, "kill", RULES_HOLD, "list", "list:\"kill\"");
	expect_clean(rs, "skill");
	expect_clean(rs, "kisses");
	rules_unref(rs);
}

/* rules_lint(): the words each entry matches besides its own forms. */
static void
test_lint(void **state)
{
	static const char *const w[] = {
	    "c*nt", "ass", "behead*", "/\\bass(es)?\\b/", NULL};
	static const char *const allow[] = {"count", NULL};
	static const char *const dict[] = {"content", "comment", "cant",
	    "count", "cement", "Cantor", "can't", "ass", "asses", "beheaded",
	    "beheading", "beheadings", "class"};
	struct rules_spec spec;
	struct rules_lint *r;
	size_t n;
	char *cause = NULL;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_allow(&spec, allow);
	if (rules_lint(&spec, dict, sizeof dict / sizeof dict[0], &r, &n,
	        &cause) == -1)
		fail_msg("rules_lint: %s", cause);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].entry->text, "c*nt");
	assert_int_equal(r[0].nwords, 4); /* count allowed, Cantor a name */
	assert_string_equal(r[0].words[0], "cant");
	assert_string_equal(r[0].words[1], "cement");
	assert_string_equal(r[0].words[2], "comment");
	assert_string_equal(r[1].entry->text, "behead*");
	assert_int_equal(r[1].nwords, 1);
	assert_string_equal(r[1].words[0], "beheadings");
	assert_null(r[1].words[1]);
	rules_lint_free(r, n);
	rules_spec_free(&spec);
}

/* What cannot be rewritten or run is an error saying what to write. */
static void
test_build_regex_edge_errors(void **state)
{
	static const char *const w[] = {"/[\\b]x/", "/a\\bb/", "/ \\Bx/",
	    "/x.\\B./", "/x(?<=y)/", "/a(?!b)/", "/(?>ab)/", NULL};
	struct rules_spec spec;
	char *cause;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "errs", RULES_HOLD, RULES_MATCH_WORD, w);
	cause = build_fails(&spec);
	assert_string_equal(cause,
	    "errs:1: regular expression /[\\b]x/: \\b inside a character "
	    "class is a backspace or an error, never a word edge: write \\b "
	    "outside the class\n"
	    "errs:2: regular expression /a\\bb/: \\b between two letters can "
	    "never match: write a space to separate words\n"
	    "errs:3: regular expression / \\Bx/: \\B beside a space can never "
	    "match\n"
	    "errs:4: regular expression /x.\\B./: \\B is supported only at the "
	    "start or end of the expression, a group or an alternative, or "
	    "between two letters: write [^ ] for one more letter of the word\n"
	    "errs:5: bad regular expression /x(?<=y)/: lookbehind (?<= (?<! "
	    "cannot be run: make the text before it part of the expression, "
	    "or write a space for a word edge (Hyperscan: Zero-width "
	    "assertions are not supported.)\n"
	    "errs:6: bad regular expression /a(?!b)/: lookahead (?= (?! "
	    "cannot be run: make the text after it part of the expression, or "
	    "list what may follow in a class ([^s ]) (Hyperscan: Zero-width "
	    "assertions are not supported.)\n"
	    "errs:7: bad regular expression /(?>ab)/: write a plain group "
	    "(?:...) for (?>...) (Hyperscan: Atomic groups are unsupported.)");
	free(cause);
}

static void
test_build_errors(void **state)
{
	static const char *const w[] = {
	    "fine", "...", "/(a/", "**", "*!*", "/(a)\\1/", NULL};
	struct rules_spec spec;
	char *cause;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "errs", RULES_HOLD, RULES_MATCH_WORD, w);
	cause = build_fails(&spec);
	assert_string_equal(cause,
	    "errs:2: entry \"...\" has no letters, digits or symbols to match\n"
	    "errs:3: bad regular expression /(a/: Missing close parenthesis "
	    "for group started at index 0.\n"
	    "errs:4: entry \"**\" is only wildcards\n"
	    "errs:5: part of \"*!*\" has no letters, digits or symbols\n"
	    "errs:6: bad regular expression /(a)\\1/: back-references (\\1, "
	    "\\k<name>) cannot be run: write the repeated text out, or one "
	    "entry per text (Hyperscan: Back-references are unsupported.)");
	free(cause);
}

static void
test_build_allow_errors(void **state)
{
	static const char *const w[] = {"ok", NULL};
	static const char *const allow[] = {"fine", "--", NULL};
	struct rules_spec spec;
	char *cause;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_allow(&spec, allow);
	cause = build_fails(&spec);
	assert_string_equal(cause,
	    "allow:2: entry \"--\" has no letters, digits or symbols to match");
	free(cause);
}

static void
test_build_too_many_rates(void **state)
{
	struct rules_spec spec;
	struct ruleset *rs = NULL;
	char *cause = NULL;

	(void)state;
	memset(&spec, 0, sizeof spec);
	spec.nrates = RULES_MAX_RATES + 1;
	assert_int_equal(rules_build(&spec, &rs, &cause), -1);
	assert_string_equal(cause, "too many rate rules (at most 32)");
	assert_null(rs);
	free(cause);
}

static void
test_build_copies_spec(void **state)
{
	static const char *const w[] = {"spam", NULL};
	struct rules_spec spec;
	struct ruleset *rs;
	const struct rules_rate *r;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_rate(&spec, "flood", RULES_PER_IP, 3, 60, RULES_REJECT);
	spec.authors.premod_until_approved = 4;
	spec.authors.hold_if_rejected = 1;
	spec.authors.rejected_ratio = 0.5;
	spec.authors.rejected_min = 2;
	spec.authors.rejected_days = 9;
	rs = build_spec(&spec); /* frees the spec */
	assert_int_equal(rules_nrates(rs), 1);
	r = rules_rate(rs, 0);
	assert_string_equal(r->name, "flood");
	assert_int_equal(r->per, RULES_PER_IP);
	assert_int_equal(r->limit, 3);
	assert_int_equal(r->window, 60);
	assert_int_equal(r->action, RULES_REJECT);
	assert_int_equal(rules_authors(rs)->premod_until_approved, 4);
	assert_int_equal(rules_authors(rs)->hold_if_rejected, 1);
	assert_true(rules_authors(rs)->rejected_ratio == 0.5);
	assert_int_equal(rules_authors(rs)->rejected_min, 2);
	assert_int_equal(rules_authors(rs)->rejected_days, 9);
	expect_match(rs, "spam", RULES_HOLD, "k", "k:\"spam\"");
	rules_unref(rs);
}

/* ---- rules.c: rules_decide() ---- */

/*
 * The ruleset of the decide tests: keyword lists "kw" (hold: traitor) and
 * "bad" (reject: idiot); rates r-author (limit 2, hold), r-ip (limit 3,
 * reject), r-thread (limit 1, hold); new authors held until 2 approved;
 * held at a rejected ratio of 0.5 with at least 2 rejections.
 */
static struct ruleset *
decide_rules(void)
{
	static const char *const kw[] = {"traitor", NULL};
	static const char *const bad[] = {"idiot", NULL};
	struct rules_spec spec;

	memset(&spec, 0, sizeof spec);
	add_list(&spec, "kw", RULES_HOLD, RULES_MATCH_WORD, kw);
	add_list(&spec, "bad", RULES_REJECT, RULES_MATCH_WORD, bad);
	add_rate(&spec, "r-author", RULES_PER_AUTHOR, 2, 15, RULES_HOLD);
	add_rate(&spec, "r-ip", RULES_PER_IP, 3, 60, RULES_REJECT);
	add_rate(&spec, "r-thread", RULES_PER_THREAD, 1, 60, RULES_HOLD);
	spec.authors.premod_until_approved = 2;
	spec.authors.hold_if_rejected = 1;
	spec.authors.rejected_ratio = 0.5;
	spec.authors.rejected_min = 2;
	spec.authors.rejected_days = 7;
	return (build_spec(&spec));
}

/* Match text with rs into m. */
static void
match(struct ruleset *rs, const char *text, struct rules_match *m)
{
	assert_int_equal(rules_match_text(rs, text, strlen(text), m), 0);
}

static void
test_decide_approve(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "hello", &m);
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.has_author = 1;
	ctx.approved = 10;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	rules_match_free(&m);
	/* A zeroed match (no keyword pass) is an approve. */
	memset(&m, 0, sizeof m);
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	rules_unref(rs);
}

static void
test_decide_keywords(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "traitor", &m);
	expect_decide(rs, &m, &ctx, RULES_HOLD, "kw");
	rules_match_free(&m);
	match(rs, "idiot traitor", &m);
	expect_decide(rs, &m, &ctx, RULES_REJECT, "kw bad");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_banned(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	ctx.has_author = 1;
	ctx.trust = RULES_TRUST_BANNED;
	match(rs, "hello", &m);
	expect_decide(rs, &m, &ctx, RULES_REJECT, "author-banned");
	/* Never a new author or a rejection history when banned. */
	ctx.approved = 0;
	ctx.recent_decided = 10;
	ctx.recent_rejected = 10;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "author-banned");
	ctx.mode = RULES_MODE_PREMOD;
	expect_decide(
	    rs, &m, &ctx, RULES_REJECT, "author-banned thread-premod");
	rules_match_free(&m);
	match(rs, "traitor", &m);
	ctx.mode = RULES_MODE_OPEN;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "kw author-banned");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_thread_closed(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	ctx.mode = RULES_MODE_CLOSED;
	match(rs, "hello", &m);
	expect_decide(rs, &m, &ctx, RULES_REJECT, "thread-closed");
	ctx.trust = RULES_TRUST_PREMOD;
	ctx.has_author = 1;
	expect_decide(
	    rs, &m, &ctx, RULES_REJECT, "thread-closed author-premod");
	ctx.trust = RULES_TRUST_BANNED;
	expect_decide(
	    rs, &m, &ctx, RULES_REJECT, "author-banned thread-closed");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_premod(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "hello", &m);
	ctx.mode = RULES_MODE_PREMOD;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "thread-premod");
	ctx.mode = RULES_MODE_OPEN;
	ctx.has_author = 1;
	ctx.approved = 100;
	ctx.trust = RULES_TRUST_PREMOD;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "author-premod");
	ctx.mode = RULES_MODE_PREMOD;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "thread-premod author-premod");
	rules_match_free(&m);
	/* A hold never lowers a reject. */
	match(rs, "idiot", &m);
	expect_decide(
	    rs, &m, &ctx, RULES_REJECT, "bad thread-premod author-premod");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_new_author(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "hello", &m);
	ctx.has_author = 1;
	ctx.approved = 0;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "new-author");
	ctx.approved = 1;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "new-author");
	ctx.approved = 2; /* N approved: no longer new */
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.approved = 0;
	ctx.has_author = 0; /* no author field: nothing to count */
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.has_author = 1;
	ctx.trust = RULES_TRUST_TRUSTED;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.trust = RULES_TRUST_PREMOD;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "author-premod");
	ctx.trust = RULES_TRUST_BANNED;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "author-banned");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_new_author_off(void **state)
{
	static const char *const w[] = {"x", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	ctx.has_author = 1;
	ctx.approved = 0;
	ctx.recent_decided = 100;
	ctx.recent_rejected = 100;
	match(rs, "hello", &m);
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_rejection_history(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "hello", &m);
	ctx.has_author = 1;
	ctx.approved = 10;
	ctx.recent_decided = 4;
	ctx.recent_rejected = 2; /* exactly the ratio and the minimum */
	expect_decide(rs, &m, &ctx, RULES_HOLD, "rejection-history");
	ctx.recent_decided = 5; /* 2 < 0.5 * 5 */
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.recent_decided = 2;
	ctx.recent_rejected = 1; /* ratio met, minimum not */
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.recent_rejected = 2;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "rejection-history");
	ctx.recent_decided = 0;
	ctx.recent_rejected = 0;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.recent_decided = 3;
	ctx.recent_rejected = 3;
	ctx.has_author = 0;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.has_author = 1;
	ctx.trust = RULES_TRUST_TRUSTED;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.trust = RULES_TRUST_NONE;
	ctx.approved = 0;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "new-author rejection-history");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_rates(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "hello", &m);
	ctx.rate[0] = 2; /* at the limit: not fired */
	ctx.rate[1] = 3;
	ctx.rate[2] = 1;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.rate[0] = 3; /* limit + 1 */
	expect_decide(rs, &m, &ctx, RULES_HOLD, "r-author");
	ctx.rate[1] = 4;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "r-author r-ip");
	ctx.rate[2] = 2;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "r-author r-ip r-thread");
	ctx.rate[0] = -1; /* not counted: no author */
	ctx.rate[1] = -1;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "r-thread");
	ctx.rate[2] = 1000000000LL;
	expect_decide(rs, &m, &ctx, RULES_HOLD, "r-thread");
	ctx.rate[2] = 0;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	/* Counts beyond the rules are ignored. */
	ctx.rate[3] = 1000;
	ctx.rate[31] = 1000;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_trusted(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	ctx.has_author = 1;
	ctx.trust = RULES_TRUST_TRUSTED;
	match(rs, "hello", &m);
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "");
	ctx.rate[0] = 5;
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "r-author author-trusted");
	ctx.rate[1] = 5;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "r-author r-ip");
	ctx.rate[0] = ctx.rate[1] = -1;
	ctx.mode = RULES_MODE_PREMOD;
	expect_decide(
	    rs, &m, &ctx, RULES_APPROVE, "thread-premod author-trusted");
	ctx.mode = RULES_MODE_CLOSED;
	expect_decide(rs, &m, &ctx, RULES_REJECT, "thread-closed");
	rules_match_free(&m);
	ctx.mode = RULES_MODE_OPEN;
	match(rs, "traitor", &m);
	expect_decide(rs, &m, &ctx, RULES_APPROVE, "kw author-trusted");
	rules_match_free(&m);
	match(rs, "traitor idiot", &m);
	expect_decide(rs, &m, &ctx, RULES_REJECT, "kw bad");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_reason_order(void **state)
{
	struct ruleset *rs = decide_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	match(rs, "idiot traitor", &m);
	ctx.rate[0] = 10;
	ctx.rate[2] = 10;
	ctx.has_author = 1;
	ctx.trust = RULES_TRUST_BANNED;
	ctx.mode = RULES_MODE_CLOSED;
	expect_decide(rs, &m, &ctx, RULES_REJECT,
	    "kw bad r-author r-thread author-banned thread-closed");
	rules_match_free(&m);
	match(rs, "traitor", &m);
	ctx.rate[0] = ctx.rate[2] = -1;
	ctx.trust = RULES_TRUST_NONE;
	ctx.mode = RULES_MODE_PREMOD;
	ctx.approved = 0;
	ctx.recent_decided = 2;
	ctx.recent_rejected = 2;
	expect_decide(rs, &m, &ctx, RULES_HOLD,
	    "kw thread-premod new-author rejection-history");
	ctx.trust = RULES_TRUST_TRUSTED;
	ctx.rate[1] = 1;
	ctx.rate[2] = 2;
	expect_decide(rs, &m, &ctx, RULES_APPROVE,
	    "kw r-thread thread-premod author-trusted");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(rules_verdict_name(RULES_APPROVE), "approve");
	assert_string_equal(rules_verdict_name(RULES_HOLD), "hold");
	assert_string_equal(rules_verdict_name(RULES_REJECT), "reject");
	assert_string_equal(rules_status_name(RULES_APPROVE), "approved");
	assert_string_equal(rules_status_name(RULES_HOLD), "held");
	assert_string_equal(rules_status_name(RULES_REJECT), "rejected");
	assert_true(RULES_REJECT > RULES_HOLD && RULES_HOLD > RULES_APPROVE);
}

/* ---- rate.c ---- */

static void
test_rate_window(void **state)
{
	struct rules_rate r = {NULL, RULES_PER_AUTHOR, 1, 15, RULES_HOLD, 0, 0};
	long long lo, hi;

	(void)state;
	rate_window(&r, 100000, &lo, &hi);
	assert_int_equal(lo, 85001);
	assert_int_equal(hi, 100000);
	r.window = 1;
	rate_window(&r, 1700000000123LL, &lo, &hi);
	assert_int_equal(lo, 1699999999124LL);
	assert_int_equal(hi, 1700000000123LL);
	r.window = 2592000;
	rate_window(&r, 1700000000000LL, &lo, &hi);
	assert_int_equal(lo, 1697408000001LL);
	assert_int_equal(hi - lo + 1, 2592000000LL);
}

static void
test_rate_ttl(void **state)
{
	struct rules_rate r = {NULL, RULES_PER_IP, 30, 60, RULES_REJECT, 0, 0};

	(void)state;
	assert_int_equal(rate_refresh_ms(&r), 15000);
	assert_int_equal(rate_ttl_ms(&r), 76000);
	r.window = 1;
	assert_int_equal(rate_refresh_ms(&r), 250);
	assert_int_equal(rate_ttl_ms(&r), 2250);
	r.window = 2592000;
	assert_int_equal(rate_refresh_ms(&r), 648000000LL);
	assert_int_equal(rate_ttl_ms(&r), 3240001000LL);
}

static void
test_rate_exceeded(void **state)
{
	struct rules_rate r = {
	    NULL, RULES_PER_THREAD, 300, 60, RULES_HOLD, 0, 0};

	(void)state;
	assert_false(rate_exceeded(&r, 0));
	assert_false(rate_exceeded(&r, 299));
	assert_false(rate_exceeded(&r, 300));
	assert_true(rate_exceeded(&r, 301));
	assert_true(rate_exceeded(&r, 1000000));
	r.limit = 1;
	assert_false(rate_exceeded(&r, 1));
	assert_true(rate_exceeded(&r, 2));
	assert_false(rate_exceeded(&r, -1));
}

static void
test_rate_per(void **state)
{
	enum rules_per per = RULES_PER_THREAD;

	(void)state;
	assert_int_equal(rate_per_parse("author", &per), 0);
	assert_int_equal(per, RULES_PER_AUTHOR);
	assert_int_equal(rate_per_parse("ip", &per), 0);
	assert_int_equal(per, RULES_PER_IP);
	assert_int_equal(rate_per_parse("thread", &per), 0);
	assert_int_equal(per, RULES_PER_THREAD);
	assert_int_equal(rate_per_parse("Author", &per), -1);
	assert_int_equal(rate_per_parse("", &per), -1);
	assert_int_equal(rate_per_parse("ips", &per), -1);
	assert_int_equal(rate_per_parse("thread ", &per), -1);
	assert_int_equal(per, RULES_PER_THREAD); /* untouched on failure */
	assert_string_equal(rate_per_name(RULES_PER_AUTHOR), "author");
	assert_string_equal(rate_per_name(RULES_PER_IP), "ip");
	assert_string_equal(rate_per_name(RULES_PER_THREAD), "thread");
	assert_string_equal(rate_per_name((enum rules_per)3), "?");
	assert_string_equal(rate_per_name((enum rules_per) - 1), "?");
}

/* ---- rules.c: word lists, names, stamps, references ---- */

static void
test_load_list(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL;
	const char *p;

	(void)state;
	p = write_file("good.txt",
	    "# a comment\n"
	    "\n"
	    "plain\n"
	    "  padded\t \n"
	    "crlf\r\n"
	    "   # indented comment\n"
	    " \t \n"
	    "two words\n"
	    "not # a comment\n"
	    "last without newline",
	    108);
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_null(cause);
	assert_int_equal(n, 6);
	assert_string_equal(e[0].text, "plain");
	assert_int_equal(e[0].line, 3);
	assert_string_equal(e[0].file, p);
	assert_string_equal(e[1].text, "padded");
	assert_int_equal(e[1].line, 4);
	assert_string_equal(e[2].text, "crlf");
	assert_int_equal(e[2].line, 5);
	assert_string_equal(e[3].text, "two words");
	assert_int_equal(e[3].line, 8);
	assert_string_equal(e[4].text, "not # a comment");
	assert_int_equal(e[4].line, 9);
	assert_string_equal(e[5].text, "last without newline");
	assert_int_equal(e[5].line, 10);
	rules_entries_free(e, n);
}

static void
test_load_list_appends(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL;
	const char *p;

	(void)state;
	p = write_file("a.txt", "one\n", 4);
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	p = write_file("b.txt", "two\nthree\n", 10);
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].text, "one");
	assert_string_equal(e[2].text, "three");
	assert_int_equal(e[2].line, 2);
	assert_string_equal(e[2].file, p);
	rules_entries_free(e, n);
	p = write_file("empty.txt", "", 0);
	e = NULL;
	n = 0;
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_int_equal(n, 0);
	assert_null(e);
}

static void
test_load_list_utf8(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL;
	const char *p;

	(void)state;
	p = write_file(
	    "u.txt", "caf\xc3\xa9\n\xd9\x83\xd8\xaa\xd8\xa7\xd8\xa8\n", 15);
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].text, "caf\xc3\xa9");
	rules_entries_free(e, n);
	e = NULL;
	n = 0;
	expect_list_error(
	    write_file("bad1.txt", "ok\nbad\xff\n", 8), ":2: not valid UTF-8");
	expect_list_error(
	    write_file("bad2.txt", "\xc0\x80\n", 3), ":1: not valid UTF-8");
	expect_list_error(write_file("bad3.txt", "a\nb\nx\xed\xa0\x80y\n", 10),
	    ":3: not valid UTF-8");
	expect_list_error(
	    write_file("bad4.txt", "trunc\xe2\x82", 7), ":1: not valid UTF-8");
	/* A comment line is not checked. */
	p = write_file("c.txt", "# \xff\nok\n", 7);
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_int_equal(n, 1);
	rules_entries_free(e, n);
}

static void
test_load_list_nul(void **state)
{
	(void)state;
	expect_list_error(
	    write_file("nul.txt", "a\nb\0c\n", 6), ":2: NUL byte in word list");
	expect_list_error(
	    write_file("nul2.txt", "\0\n", 2), ":1: NUL byte in word list");
}

static void
test_load_list_long_line(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL, *buf = xmalloc(5000);
	const char *p;

	(void)state;
	memset(buf, 'a', 5000);
	buf[4095] = '\n';
	p = write_file("l4095.txt", buf, 4096); /* 4095 bytes + newline */
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(e[0].text), 4095);
	rules_entries_free(e, n);
	buf[4095] = 'a';
	expect_list_error(write_file("l4097.txt", buf, 4097),
	    ":1: line longer than 4096 bytes");
	buf[0] = '\n';
	buf[4999] = '\n';
	expect_list_error(
	    write_file("l2.txt", buf, 5000), ":2: line longer than 4096 bytes");
	free(buf);
}

static void
test_load_list_missing(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL, *want;

	(void)state;
	assert_int_equal(
	    rules_load_list("/nonexistent/modq/list.txt", &e, &n, &cause), -1);
	xasprintf(&want, "/nonexistent/modq/list.txt: %s", strerror(ENOENT));
	assert_string_equal(cause, want);
	assert_int_equal(n, 0);
	free(want);
	free(cause);
	/* A directory is not a word list. */
	assert_int_equal(rules_load_list(tmpdir, &e, &n, &cause), -1);
	xasprintf(&want, "%s: not a regular file", tmpdir);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	/* Nor is a device that never ends (found by the word-list fuzzer). */
	assert_int_equal(rules_load_list("/dev/zero", &e, &n, &cause), -1);
	assert_string_equal(cause, "/dev/zero: not a regular file");
	free(cause);
	rules_entries_free(e, n);
}

static void
test_name_valid(void **state)
{
	char name[70];

	(void)state;
	assert_true(rules_name_valid("slurs"));
	assert_true(rules_name_valid("author-flood"));
	assert_true(rules_name_valid("A.b_C-9"));
	assert_true(rules_name_valid("x"));
	assert_false(rules_name_valid(""));
	assert_false(rules_name_valid("two words"));
	assert_false(rules_name_valid("a:b"));
	assert_false(rules_name_valid("a/b"));
	assert_false(rules_name_valid("caf\xc3\xa9"));
	assert_false(rules_name_valid("tab\t"));
	memset(name, 'n', sizeof name);
	name[64] = '\0';
	assert_true(rules_name_valid(name));
	name[64] = 'n';
	name[65] = '\0';
	assert_false(rules_name_valid(name));
}

static void
test_name_reserved(void **state)
{
	static const char *const reserved[] = {"author-banned", "author-premod",
	    "author-trusted", "thread-closed", "thread-premod", "new-author",
	    "rejection-history"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		assert_true(rules_name_valid(reserved[i]));
		if (!rules_name_reserved(reserved[i]))
			fail_msg("%s is not reserved", reserved[i]);
	}
	assert_false(rules_name_reserved("Author-Banned"));
	assert_false(rules_name_reserved("author-banned2"));
	assert_false(rules_name_reserved("author"));
	assert_false(rules_name_reserved(""));
	assert_false(rules_name_reserved("slurs"));
}

/* Build a spec with one list of words and give its stamp (copied). */
static void
stamp_of(const char *const *words, enum rules_verdict action,
    enum rules_matchmode match, long limit, char *out)
{
	struct rules_spec spec;
	struct ruleset *rs;

	memset(&spec, 0, sizeof spec);
	add_list(&spec, "list", action, match, words);
	if (limit > 0)
		add_rate(&spec, "rate", RULES_PER_IP, limit, 60, RULES_HOLD);
	rs = build_spec(&spec);
	snprintf(out, RULES_STAMP_LEN + 1, "%s", rules_stamp(rs));
	rules_unref(rs);
}

static void
test_stamp(void **state)
{
	static const char *const a[] = {"one", "two", NULL};
	static const char *const b[] = {"one", "three", NULL};
	static const char *const c[] = {"two", "one", NULL};
	char s1[16], s2[16];
	size_t i;

	(void)state;
	stamp_of(a, RULES_HOLD, RULES_MATCH_WORD, 0, s1);
	assert_int_equal(strlen(s1), RULES_STAMP_LEN);
	for (i = 0; i < RULES_STAMP_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", s1[i]));
	stamp_of(a, RULES_HOLD, RULES_MATCH_WORD, 0, s2);
	assert_string_equal(s1, s2); /* stable */
	stamp_of(b, RULES_HOLD, RULES_MATCH_WORD, 0, s2);
	assert_string_not_equal(s1, s2); /* an entry changed */
	stamp_of(c, RULES_HOLD, RULES_MATCH_WORD, 0, s2);
	assert_string_not_equal(s1, s2); /* order changed */
	stamp_of(a, RULES_REJECT, RULES_MATCH_WORD, 0, s2);
	assert_string_not_equal(s1, s2); /* action changed */
	stamp_of(a, RULES_HOLD, RULES_MATCH_SUBSTRING, 0, s2);
	assert_string_not_equal(s1, s2); /* match changed */
	stamp_of(a, RULES_HOLD, RULES_MATCH_WORD, 5, s1);
	stamp_of(a, RULES_HOLD, RULES_MATCH_WORD, 6, s2);
	assert_string_not_equal(s1, s2); /* a rate limit changed */
}

static void
test_stamp_allow_and_authors(void **state)
{
	static const char *const w[] = {"x", NULL};
	static const char *const al1[] = {"ok", NULL};
	static const char *const al2[] = {"fine", NULL};
	struct rules_spec spec;
	struct ruleset *r1, *r2, *r3, *r4;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_allow(&spec, al1);
	r1 = build_spec(&spec);
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_allow(&spec, al2);
	r2 = build_spec(&spec);
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_allow(&spec, al1);
	spec.authors.premod_until_approved = 1;
	r3 = build_spec(&spec);
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	add_allow(&spec, al1);
	spec.authors.hold_if_rejected = 1;
	spec.authors.rejected_ratio = 0.3;
	spec.authors.rejected_min = 3;
	spec.authors.rejected_days = 7;
	r4 = build_spec(&spec);
	assert_string_not_equal(rules_stamp(r1), rules_stamp(r2));
	assert_string_not_equal(rules_stamp(r1), rules_stamp(r3));
	assert_string_not_equal(rules_stamp(r1), rules_stamp(r4));
	assert_string_not_equal(rules_stamp(r3), rules_stamp(r4));
	rules_unref(r1);
	rules_unref(r2);
	rules_unref(r3);
	rules_unref(r4);
}

static void
test_stamp_format(void **state)
{
	struct ruleset *r0, *r1, *r2;

	(void)state;
	r0 = build_format(RULES_FORMAT_HTML);
	r1 = build_format(RULES_FORMAT_HTML);
	r2 = build_format(RULES_FORMAT_TEXT);
	/* The same rules judge differently as text: another stamp. */
	assert_string_equal(rules_stamp(r0), rules_stamp(r1));
	assert_string_not_equal(rules_stamp(r0), rules_stamp(r2));
	rules_unref(r0);
	rules_unref(r1);
	rules_unref(r2);
}

static void
test_stamp_ignores_positions(void **state)
{
	static const char *const w[] = {"x", "y", NULL};
	struct rules_spec spec;
	struct ruleset *r1, *r2;

	(void)state;
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	r1 = build_spec(&spec);
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "k", RULES_HOLD, RULES_MATCH_WORD, w);
	spec.lists[0].entries[1].line = 99;
	free(spec.lists[0].entries[1].file);
	spec.lists[0].entries[1].file = xstrdup("elsewhere.txt");
	r2 = build_spec(&spec);
	/* Moving an entry to another file or line judges nothing new. */
	assert_string_equal(rules_stamp(r1), rules_stamp(r2));
	rules_unref(r1);
	rules_unref(r2);
}

static void
test_refcount(void **state)
{
	static const char *const w[] = {"spam", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);
	struct ruleset *r2, *r3;

	(void)state;
	r2 = rules_ref(rs);
	r3 = rules_ref(rs);
	assert_ptr_equal(r2, rs);
	assert_ptr_equal(r3, rs);
	rules_unref(rs); /* the "current" reference goes */
	expect_match(r2, "spam", RULES_HOLD, "list", "list:\"spam\"");
	rules_unref(r2);
	expect_match(r3, "spam", RULES_HOLD, "list", "list:\"spam\"");
	rules_unref(r3); /* the last one frees it (checked by ASan) */
	rules_unref(NULL);
}

static void
test_match_free(void **state)
{
	static const char *const w[] = {"spam", NULL};
	struct ruleset *rs = build1(w, RULES_HOLD, RULES_MATCH_WORD);
	struct rules_match m;

	(void)state;
	match(rs, "spam", &m);
	rules_match_free(&m);
	assert_null(m.reasons);
	assert_null(m.matched);
	rules_match_free(&m); /* a second free is harmless */
	rules_unref(rs);
}

/*
 * Regression tests: each was found failing, asserting what the README,
 * modqd.conf(5) or the module's own header comment asks for, and was fixed.
 */

/* A real one-letter word before spread letters swallows them. */
static void
test_bug_spread_after_single_word(void **state)
{
	static const char *const w[] = {"fuck", "hate", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(
	    rs, "what a f u c k", RULES_REJECT, "list", "list:\"f u c k\"");
	expect_match(
	    rs, "I h a t e you", RULES_REJECT, "list", "list:\"h a t e\"");
	rules_unref(rs);
}

/* An entry with a run of three letters is collapsed to one letter. */
static void
test_bug_entry_repeats_collapsed(void **state)
{
	static const char *const sub[] = {"www", NULL};
	static const char *const word[] = {"xxx", NULL};
	struct ruleset *rs;

	(void)state;
	rs = build1(sub, RULES_REJECT, RULES_MATCH_SUBSTRING);
	expect_match(
	    rs, "www.example.com", RULES_REJECT, "list", "list:\"www\"");
	expect_clean(rs, "wow, what now");
	rules_unref(rs);
	rs = build1(word, RULES_HOLD, RULES_MATCH_WORD);
	expect_match(rs, "xxx", RULES_HOLD, "list", "list:\"xxx\"");
	expect_clean(rs, "x marks the spot");
	rules_unref(rs);
}

/* A word made only of leetspeak symbols and digits vanishes. */
static void
test_bug_all_leet_word(void **state)
{
	static const char *const w[] = {"ass", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_norm("@$$", " ass ");
	expect_norm("4$$", " ass ");
	expect_match(rs, "you @$$", RULES_REJECT, "list", "list:\"@$$\"");
	rules_unref(rs);
}

/*
 * A word made only of look-alike letters of another script stays in that
 * script, so it evades the Latin entry it imitates (modqd.conf(5): a word
 * with a letter no language here is written with is a disguise, and its
 * look-alikes become Latin); U+0455 and U+0456 are not even Russian letters.
 */
static void
test_bug_all_lookalike_word(void **state)
{
	static const char *const w[] = {"ass", NULL};
	struct ruleset *rs = build1(w, RULES_REJECT, RULES_MATCH_WORD);

	(void)state;
	expect_match(rs, "you \xd0\xb0\xd1\x95\xd1\x95", RULES_REJECT, "list",
	    "list:\"\xd0\xb0\xd1\x95\xd1\x95\"");
	rules_unref(rs);
}

/* A UTF-8 byte order mark turns the first comment line into an entry. */
static void
test_bug_list_bom(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL;
	const char *p;

	(void)state;
	p = write_file("bom.txt", "\xef\xbb\xbf# comment\nword\n", 18);
	assert_int_equal(rules_load_list(p, &e, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].text, "word");
	rules_entries_free(e, n);
}

/* A line of exactly 4096 bytes is "longer than 4096 bytes". */
static void
test_bug_list_line_4096(void **state)
{
	struct rules_entry *e = NULL;
	size_t n = 0;
	char *cause = NULL, buf[4098];
	const char *p;

	(void)state;
	memset(buf, 'a', 4096);
	buf[4096] = '\n';
	p = write_file("l4096.txt", buf, 4097);
	if (rules_load_list(p, &e, &n, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(n, 1);
	rules_entries_free(e, n);
	e = NULL;
	n = 0;
	buf[4095] = '\r';
	buf[4096] = '\n';
	memset(buf, 'a', 4095);
	p = write_file("l4095crlf.txt", buf, 4097);
	if (rules_load_list(p, &e, &n, &cause) != 0)
		fail_msg("%s", cause);
	rules_entries_free(e, n);
}

static int
setup(void **state)
{
	(void)state;
	normalize_init(&nst);
	return (mkdtemp(tmpdir) == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	normalize_free(&nst);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

/*
 * A substring entry with a carriage return inside matches itself: "spaces"
 * mean the same when the entry is compiled and when a text is checked.
 * Found by the word-list fuzzer.
 */
static void
test_substring_cr_entry(void **state)
{
	static const char *const words[] = {"X\rc", NULL};
	struct ruleset *rs = build1(words, RULES_HOLD, RULES_MATCH_SUBSTRING);

	(void)state;
	expect_match(rs, "X\rc", RULES_HOLD, "list", "list:\"X\\x0dc\"");
	rules_unref(rs);
}

/* ---- decide.c: content rules, shadow mode, scores ---- */

/*
 * The ruleset of the content tests: keyword "meh" (score 3: idiot),
 * "spy" (hold, shadow: traitor), "bad" (reject: shit); links "links"
 * (more than 1: hold, score 2) and "first-links" (any link, authors with
 * fewer than 3 approved: score 1); repeats "rep" per author; campaigns
 * "camp" (3 authors); shouting "loud" (score 4); length "long" (over 40,
 * hold, shadow); thresholds hold 5, reject 8.
 */
static struct ruleset *
content_rules(void)
{
	static const char *const meh[] = {"idiot", NULL};
	static const char *const spy[] = {"traitor", NULL};
	static const char *const bad[] = {"shit", NULL};
	struct rules_spec spec;

	memset(&spec, 0, sizeof spec);
	add_list(&spec, "meh", RULES_APPROVE, RULES_MATCH_WORD, meh);
	spec.lists[0].score = 3;
	add_list(&spec, "spy", RULES_HOLD, RULES_MATCH_WORD, spy);
	spec.lists[1].shadow = 1;
	add_list(&spec, "bad", RULES_REJECT, RULES_MATCH_WORD, bad);
	spec.links[0] = (struct rules_link){.name = xstrdup("links"),
	    .action = RULES_HOLD,
	    .score = 2,
	    .max = 1};
	spec.links[1] = (struct rules_link){.name = xstrdup("first-links"),
	    .action = RULES_APPROVE,
	    .score = 1,
	    .max = 0,
	    .approved_below = 3};
	spec.nlinks = 2;
	spec.repeats[0] = (struct rules_repeat){.name = xstrdup("rep"),
	    .action = RULES_HOLD,
	    .per = RULES_PER_AUTHOR,
	    .window = 60};
	spec.nrepeats = 1;
	spec.campaigns[0] = (struct rules_campaign){.name = xstrdup("camp"),
	    .action = RULES_REJECT,
	    .authors = 3,
	    .window = 60,
	    .similarity = 0.7,
	    .min_words = 6};
	spec.ncampaigns = 1;
	spec.shouts[0] = (struct rules_shout){.name = xstrdup("loud"),
	    .action = RULES_APPROVE,
	    .score = 4,
	    .min_letters = 20,
	    .ratio = 0.7};
	spec.nshouts = 1;
	spec.lengths[0] = (struct rules_length){.name = xstrdup("long"),
	    .action = RULES_HOLD,
	    .shadow = 1,
	    .max = 40};
	spec.nlengths = 1;
	spec.thresholds.hold = 5;
	spec.thresholds.reject = 8;
	return (build_spec(&spec));
}

/* Decide and check verdict, reasons, shadow rules and score. */
static void
expect_content(const struct ruleset *rs, const struct rules_match *m,
    const struct rules_ctx *ctx, enum rules_verdict v, const char *reasons,
    const char *shadow, long score)
{
	struct rules_decision d;

	rules_decide(rs, m, ctx, &d);
	if (d.verdict != v || strcmp(d.reasons, reasons) != 0 ||
	    strcmp(d.shadow, shadow) != 0 || d.score != score)
		fail_msg(
		    "decide: got %s [%s] [%s] %ld, wanted %s [%s] [%s] %ld",
		    rules_verdict_name(d.verdict), d.reasons, d.shadow, d.score,
		    rules_verdict_name(v), reasons, shadow, score);
	rules_decision_free(&d);
}

static void
test_decide_shadow_score(void **state)
{
	struct ruleset *rs = content_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	ctx.has_author = 1;
	ctx.approved = 10;
	assert_int_equal(rules_scored(rs), 1);
	/* a shadow keyword rule is named apart and changes nothing */
	match(rs, "you traitor", &m);
	expect_content(rs, &m, &ctx, RULES_APPROVE, "", "spy", 0);
	rules_match_free(&m);
	/* action score: named, scored, no verdict of its own */
	match(rs, "you idiot", &m);
	expect_content(rs, &m, &ctx, RULES_APPROVE, "meh", "", 3);
	rules_match_free(&m);
	/* shouting (4) and meh (3) reach the hold threshold (5) */
	match(rs, "idiot THIS IS A VERY LOUD COMMENT", &m);
	assert_int_equal(m.letters, 27);
	assert_int_equal(m.capitals, 22);
	expect_content(rs, &m, &ctx, RULES_HOLD, "meh loud score-hold", "", 7);
	rules_match_free(&m);
	/* a trusted author skips the threshold's hold */
	ctx.trust = RULES_TRUST_TRUSTED;
	match(rs, "idiot THIS IS A VERY LOUD COMMENT", &m);
	expect_content(rs, &m, &ctx, RULES_APPROVE,
	    "meh loud score-hold author-trusted", "", 7);
	rules_match_free(&m);
	ctx.trust = RULES_TRUST_NONE;
	/* the length rule is in shadow mode: over 40 characters */
	match(rs, "a fine comment that goes on and on and on", &m);
	assert_int_equal(m.chars, 41);
	expect_content(rs, &m, &ctx, RULES_APPROVE, "", "long", 0);
	rules_match_free(&m);
	/* a keyword reject stands whatever the score */
	match(rs, "shit", &m);
	expect_content(rs, &m, &ctx, RULES_REJECT, "bad", "", 0);
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_decide_links_repeats_campaigns(void **state)
{
	struct ruleset *rs = content_rules();
	struct rules_match m;
	struct rules_ctx ctx;

	(void)state;
	ctx_init(&ctx);
	ctx.has_author = 1;
	ctx.approved = 10;
	match(rs, "fine", &m);
	/* links: counted by links.c; here the count is set by hand */
	m.links = 1;
	expect_content(rs, &m, &ctx, RULES_APPROVE, "", "", 0);
	ctx.approved = 2; /* a new author: first-links scores 1 */
	expect_content(rs, &m, &ctx, RULES_APPROVE, "first-links", "", 1);
	m.links = 2;
	expect_content(rs, &m, &ctx, RULES_HOLD, "links first-links", "", 3);
	m.links = 0;
	ctx.approved = 10;
	/* repeats: -1 not counted, 0 none before, 1 one before */
	ctx.repeat[0] = 0;
	expect_content(rs, &m, &ctx, RULES_APPROVE, "", "", 0);
	ctx.repeat[0] = 1;
	expect_content(rs, &m, &ctx, RULES_HOLD, "rep", "", 0);
	ctx.repeat[0] = -1;
	/* campaigns: the comment that makes 3 authors, and later ones */
	ctx.campaign[0] = 2;
	expect_content(rs, &m, &ctx, RULES_APPROVE, "", "", 0);
	ctx.campaign[0] = 3;
	expect_content(rs, &m, &ctx, RULES_REJECT, "camp", "", 0);
	ctx.campaign[0] = 50;
	expect_content(rs, &m, &ctx, RULES_REJECT, "camp", "", 0);
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_content_measure(void **state)
{
	struct rules_match m;

	(void)state;
	memset(&m, 0, sizeof m);
	content_measure(RULES_FORMAT_HTML, "<b>HELLO</b> wörld a < b",
	    strlen("<b>HELLO</b> wörld a < b"), &m);
	assert_int_equal(m.chars, 17);
	assert_int_equal(m.letters, 12);
	assert_int_equal(m.capitals, 5);
	memset(&m, 0, sizeof m);
	content_measure(RULES_FORMAT_TEXT, "<b>HI</b>", 9, &m);
	assert_int_equal(m.chars, 9);
	assert_int_equal(m.letters, 4);
	assert_int_equal(m.capitals, 2);
	memset(&m, 0, sizeof m);
	content_measure(RULES_FORMAT_TEXT,
	    "\xff\xfe"
	    "AB",
	    4, &m);
	assert_int_equal(m.chars, 4);
	assert_int_equal(m.capitals, 2);
}

/* A ruleset without scores writes no score; its stamp is unchanged. */
static void
test_stamp_without_content(void **state)
{
	static const char *const w[] = {"x", NULL};
	struct rules_spec spec;
	struct ruleset *a, *b;

	(void)state;
	a = build1(w, RULES_HOLD, RULES_MATCH_WORD);
	memset(&spec, 0, sizeof spec);
	add_list(&spec, "list", RULES_HOLD, RULES_MATCH_WORD, w);
	spec.lists[0].shadow = 1;
	b = build_spec(&spec);
	assert_int_equal(rules_scored(a), 0);
	assert_string_not_equal(rules_stamp(a), rules_stamp(b));
	rules_unref(a);
	rules_unref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_substring_cr_entry),
	    cmocka_unit_test(test_normalize_basic),
	    cmocka_unit_test(test_normalize_case),
	    cmocka_unit_test(test_normalize_accents),
	    cmocka_unit_test(test_normalize_enye),
	    cmocka_unit_test(test_normalize_fullwidth),
	    cmocka_unit_test(test_normalize_ligatures),
	    cmocka_unit_test(test_normalize_math_letters),
	    cmocka_unit_test(test_normalize_zero_width),
	    cmocka_unit_test(test_normalize_zalgo),
	    cmocka_unit_test(test_normalize_lookalikes),
	    cmocka_unit_test(test_normalize_other_scripts_kept),
	    cmocka_unit_test(test_normalize_small_caps),
	    cmocka_unit_test(test_normalize_leet_words),
	    cmocka_unit_test(test_normalize_leet_symbols),
	    cmocka_unit_test(test_normalize_glue),
	    cmocka_unit_test(test_normalize_numbers),
	    cmocka_unit_test(test_normalize_spread),
	    cmocka_unit_test(test_normalize_spread_limits),
	    cmocka_unit_test(test_normalize_repeats),
	    cmocka_unit_test(test_normalize_no_repeats),
	    cmocka_unit_test(test_normalize_third_form),
	    cmocka_unit_test(test_normalize_leet_digit_first),
	    cmocka_unit_test(test_normalize_cjk),
	    cmocka_unit_test(test_normalize_flags_enclosed),
	    cmocka_unit_test(test_normalize_html_inline),
	    cmocka_unit_test(test_normalize_html_block),
	    cmocka_unit_test(test_normalize_html_tag_names),
	    cmocka_unit_test(test_normalize_html_not_tags),
	    cmocka_unit_test(test_normalize_html_not_elements),
	    cmocka_unit_test(test_normalize_html_comments),
	    cmocka_unit_test(test_normalize_entities),
	    cmocka_unit_test(test_normalize_plain),
	    cmocka_unit_test(test_normalize_entities_invalid),
	    cmocka_unit_test(test_normalize_invalid_utf8),
	    cmocka_unit_test(test_normalize_nul),
	    cmocka_unit_test(test_normalize_controls),
	    cmocka_unit_test(test_normalize_emoji),
	    cmocka_unit_test(test_normalize_devanagari),
	    cmocka_unit_test(test_normalize_urdu),
	    cmocka_unit_test(test_normalize_offsets_spread),
	    cmocka_unit_test(test_normalize_offsets_accent),
	    cmocka_unit_test(test_normalize_offsets_repeat),
	    cmocka_unit_test(test_normalize_offsets_markup),
	    cmocka_unit_test(test_normalize_reuse),
	    cmocka_unit_test(test_match_word),
	    cmocka_unit_test(test_match_phrase),
	    cmocka_unit_test(test_match_trailing_wildcard),
	    cmocka_unit_test(test_match_leading_wildcard),
	    cmocka_unit_test(test_match_middle_wildcard),
	    cmocka_unit_test(test_match_both_wildcards),
	    cmocka_unit_test(test_match_word_wildcard),
	    cmocka_unit_test(test_match_folded_entry),
	    cmocka_unit_test(test_match_regex),
	    cmocka_unit_test(test_match_substring),
	    cmocka_unit_test(test_match_allow_substring),
	    cmocka_unit_test(test_match_allow_phrase),
	    cmocka_unit_test(test_match_allow_only),
	    cmocka_unit_test(test_match_multiple_lists),
	    cmocka_unit_test(test_match_same_entry_two_lists),
	    cmocka_unit_test(test_match_duplicate_entry),
	    cmocka_unit_test(test_match_repeats),
	    cmocka_unit_test(test_match_evasions),
	    cmocka_unit_test(test_match_html),
	    cmocka_unit_test(test_match_text),
	    cmocka_unit_test(test_match_enye),
	    cmocka_unit_test(test_match_non_latin),
	    cmocka_unit_test(test_match_emoji_entry),
	    cmocka_unit_test(test_snippet_escaping),
	    cmocka_unit_test(test_snippet_cut),
	    cmocka_unit_test(test_snippet_limits),
	    cmocka_unit_test(test_match_empty_ruleset),
	    cmocka_unit_test(test_match_empty_text),
	    cmocka_unit_test(test_match_many_entries),
	    cmocka_unit_test(test_match_long_text),
	    cmocka_unit_test(test_match_many_hits),
	    cmocka_unit_test(test_match_regex_edges),
	    cmocka_unit_test(test_lint),
	    cmocka_unit_test(test_build_regex_edge_errors),
	    cmocka_unit_test(test_build_errors),
	    cmocka_unit_test(test_build_allow_errors),
	    cmocka_unit_test(test_build_too_many_rates),
	    cmocka_unit_test(test_build_copies_spec),
	    cmocka_unit_test(test_decide_approve),
	    cmocka_unit_test(test_decide_keywords),
	    cmocka_unit_test(test_decide_banned),
	    cmocka_unit_test(test_decide_thread_closed),
	    cmocka_unit_test(test_decide_premod),
	    cmocka_unit_test(test_decide_new_author),
	    cmocka_unit_test(test_decide_new_author_off),
	    cmocka_unit_test(test_decide_rejection_history),
	    cmocka_unit_test(test_decide_rates),
	    cmocka_unit_test(test_decide_trusted),
	    cmocka_unit_test(test_decide_reason_order),
	    cmocka_unit_test(test_verdict_names),
	    cmocka_unit_test(test_rate_window),
	    cmocka_unit_test(test_rate_ttl),
	    cmocka_unit_test(test_rate_exceeded),
	    cmocka_unit_test(test_rate_per),
	    cmocka_unit_test(test_load_list),
	    cmocka_unit_test(test_load_list_appends),
	    cmocka_unit_test(test_load_list_utf8),
	    cmocka_unit_test(test_load_list_nul),
	    cmocka_unit_test(test_load_list_long_line),
	    cmocka_unit_test(test_load_list_missing),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_name_reserved),
	    cmocka_unit_test(test_stamp),
	    cmocka_unit_test(test_stamp_allow_and_authors),
	    cmocka_unit_test(test_stamp_format),
	    cmocka_unit_test(test_stamp_ignores_positions),
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_match_free),
	    cmocka_unit_test(test_bug_spread_after_single_word),
	    cmocka_unit_test(test_bug_entry_repeats_collapsed),
	    cmocka_unit_test(test_bug_all_leet_word),
	    cmocka_unit_test(test_bug_all_lookalike_word),
	    cmocka_unit_test(test_bug_list_bom),
	    cmocka_unit_test(test_bug_list_line_4096),
	    cmocka_unit_test(test_decide_shadow_score),
	    cmocka_unit_test(test_decide_links_repeats_campaigns),
	    cmocka_unit_test(test_content_measure),
	    cmocka_unit_test(test_stamp_without_content),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
