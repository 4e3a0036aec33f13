/*
 * test_rules.c -- unit tests of rules/: normalisation, keyword matching,
 * rate window arithmetic and verdict precedence.  No Redis, no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "rules.h"
#include "xmalloc.h"

/* Normalise s and give form f as a string (static buffer). */
static const char *
norm(const char *s, int f)
{
	static struct norm n;
	static char out[4096];
	static int init;

	if (!init) {
		normalize_init(&n);
		init = 1;
	}
	normalize_text(&n, s, strlen(s));
	if (f >= n.nforms)
		return ("(none)");
	memcpy(out, n.form[f].buf, n.form[f].len);
	out[n.form[f].len] = '\0';
	return (out);
}

static void
test_normalize_basic(void **state)
{
	(void)state;
	assert_string_equal(norm("Hello, World!", 0), " hello world ");
	assert_string_equal(norm("", 0), " ");
	assert_string_equal(norm("CAFÉ café", 0), " cafe cafe ");
	assert_string_equal(norm("jalapeño", 0), " jalapeño ");
}

static void
test_normalize_repeats(void **state)
{
	(void)state;
	assert_string_equal(norm("good boob", 0), " good boob ");
	assert_int_equal(strcmp(norm("good boob", 1), "(none)"), 0);
	assert_string_equal(norm("fuuuuck assss", 0), " fuck as ");
	assert_string_equal(norm("fuuuuck assss", 1), " fuuck ass ");
}

/* A ruleset from inline words, for matching tests. */
static struct ruleset *
build(const char *const *words, size_t n, enum rules_verdict action)
{
	struct rules_spec spec;
	struct rules_list *l;
	struct ruleset *rs;
	char *cause = NULL;
	size_t i;

	memset(&spec, 0, sizeof spec);
	spec.lists = l = xcalloc(1, sizeof *l);
	spec.nlists = 1;
	l->name = xstrdup("list");
	l->action = action;
	l->entries = xcalloc(n, sizeof *l->entries);
	l->nentries = n;
	for (i = 0; i < n; i++) {
		l->entries[i].text = xstrdup(words[i]);
		l->entries[i].file = xstrdup("test");
		l->entries[i].line = (int)i + 1;
	}
	if (rules_build(&spec, &rs, &cause) == -1)
		fail_msg("%s", cause);
	rules_spec_free(&spec);
	return (rs);
}

static void
test_keyword_word(void **state)
{
	static const char *const words[] = {"ass", "kill you", "behead*"};
	struct ruleset *rs = build(words, 3, RULES_REJECT);
	struct rules_match m;

	(void)state;
	assert_int_equal(rules_match_text(rs, "class", 5, &m), 0);
	assert_int_equal(m.verdict, RULES_APPROVE);
	assert_string_equal(m.reasons, "");
	rules_match_free(&m);
	assert_int_equal(rules_match_text(rs, "I'll KILL... you", 16, &m), 0);
	assert_int_equal(m.verdict, RULES_REJECT);
	assert_string_equal(m.reasons, "list");
	assert_string_equal(m.matched, "list:\"KILL... you\"");
	rules_match_free(&m);
	rules_unref(rs);
}

static void
test_rate_window(void **state)
{
	struct rules_rate r = {NULL, RULES_PER_AUTHOR, 1, 15, RULES_HOLD};
	long long lo, hi;

	(void)state;
	rate_window(&r, 100000, &lo, &hi);
	assert_int_equal(lo, 85001);
	assert_int_equal(hi, 100000);
	assert_false(rate_exceeded(&r, 1));
	assert_true(rate_exceeded(&r, 2));
}

static void
test_decide_precedence(void **state)
{
	static const char *const words[] = {"traitor"};
	struct ruleset *rs = build(words, 1, RULES_HOLD);
	struct rules_match m;
	struct rules_ctx ctx;
	struct rules_decision d;

	(void)state;
	memset(&ctx, 0, sizeof ctx);
	assert_int_equal(rules_match_text(rs, "traitor", 7, &m), 0);
	ctx.trust = RULES_TRUST_BANNED;
	rules_decide(rs, &m, &ctx, &d);
	assert_int_equal(d.verdict, RULES_REJECT);
	assert_string_equal(d.reasons, "list author-banned");
	rules_decision_free(&d);
	ctx.trust = RULES_TRUST_TRUSTED;
	rules_decide(rs, &m, &ctx, &d);
	assert_int_equal(d.verdict, RULES_APPROVE);
	assert_string_equal(d.reasons, "list author-trusted");
	rules_decision_free(&d);
	rules_match_free(&m);
	rules_unref(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize_basic),
	    cmocka_unit_test(test_normalize_repeats),
	    cmocka_unit_test(test_keyword_word),
	    cmocka_unit_test(test_rate_window),
	    cmocka_unit_test(test_decide_precedence),
	};

	log_init(LOG_TO_STDERR, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
