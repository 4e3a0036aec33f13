/*
 * lint.c -- owns the dictionary check of keyword entries (modqd -n): which
 * entries also match ordinary words.  Each entry becomes a list of its own
 * in one keyword matcher, built with the allow list by keyword.c, and each
 * word is judged by it as a comment would be, so a word list of 100,000
 * words costs one scan each, whatever the number of entries.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_int.h"
#include "ralloc.h"

/* What the scan of one word needs. */
struct lint_scan {
	const struct rules_entry **entry; /* borrowed: the entry of each list */
	char **stem; /* owned: each entry's, lint_stem() */
	char **normed; /* owned: each stem normalised (w0rd: word) */
	struct rules_lint *res; /* one per entry, in spec order */
	const char *word; /* borrowed: the word being judged */
};

static int lint_skip(const char *);
static char *lint_stem(const char *);
static int lint_own_form(const char *, int, const char *);
static int lint_own(const struct lint_scan *, int, size_t, size_t);
static void lint_hit_cb(int, size_t, size_t, void *);
static void lint_keep(struct rules_lint *, const char *);

/*
 * Tell whether a dictionary word is left out: a name or an abbreviation
 * (capital first letter), or a possessive (an apostrophe), whose plain
 * word the dictionary holds too.
 */
static int
lint_skip(const char *w)
{
	return (*w == '\0' || isupper((unsigned char)*w) ||
	    strchr(w, '\'') != NULL);
}

/*
 * Give the stem of an entry whose own forms can be told (allocated): the
 * entry, without its last character if that is the only *; NULL for a
 * regex or another wildcard entry.
 */
static char *
lint_stem(const char *t)
{
	size_t n = strlen(t);
	const char *star = strchr(t, '*');

	if (n >= 2 && t[0] == '/' && t[n - 1] == '/')
		return (NULL);
	if (star == NULL)
		return (xstrdup(t));
	if (star != t + n - 1 || n == 1)
		return (NULL);
	return (xstrndup(t, n - 1));
}

/*
 * Tell whether word is one of the own forms of stem: stem itself or with
 * s, es or 's added, and for an entry that ended in * (trail), with ed,
 * er, ers or ing too (ASCII case ignored).
 */
static int
lint_own_form(const char *stem, int trail, const char *word)
{
	static const char *const ends[] = {
	    "", "s", "es", "'s", "ed", "er", "ers", "ing"};
	size_t n = strlen(stem), i;

	if (strncasecmp(stem, word, n) != 0)
		return (0);
	for (i = 0; i < (trail ? 8u : 4u); i++)
		if (strcasecmp(word + n, ends[i]) == 0)
			return (1);
	return (0);
}

/*
 * Tell whether the word being judged is entry k's own: a regex's when it
 * matches the word whole (word[s, e)); a word or phrase's, or a stem*'s,
 * by lint_own_form(), as written or normalised (wh0r3: whore).  Other
 * wildcard entries (c*nt, *phobe) have no own forms.
 */
static int
lint_own(const struct lint_scan *sc, int k, size_t s, size_t e)
{
	const char *t = sc->entry[k]->text;
	size_t n = strlen(t);

	if (n >= 2 && t[0] == '/' && t[n - 1] == '/')
		return (s == 0 && e == strlen(sc->word));
	if (sc->stem[k] == NULL)
		return (0);
	return (lint_own_form(sc->stem[k], t[n - 1] == '*', sc->word) ||
	    (sc->normed[k] != NULL &&
	        lint_own_form(sc->normed[k], t[n - 1] == '*', sc->word)));
}

/* Keep word among the first three in byte order, and count it. */
static void
lint_keep(struct rules_lint *r, const char *word)
{
	size_t i,
	    n = r->nwords < RULES_LINT_SHOWN ? r->nwords : RULES_LINT_SHOWN;

	r->nwords++;
	for (i = n; i > 0 && strcmp(word, r->words[i - 1]) < 0; i--)
		;
	if (i == RULES_LINT_SHOWN)
		return;
	if (n == RULES_LINT_SHOWN)
		free(r->words[--n]);
	memmove(&r->words[i + 1], &r->words[i], (n - i) * sizeof *r->words);
	r->words[i] = xstrdup(word);
}

/* Record that the word being judged matched list (entry) k. */
static void
lint_hit_cb(int k, size_t s, size_t e, void *arg)
{
	struct lint_scan *sc = arg;

	if (lint_own(sc, k, s, e))
		return;
	lint_keep(&sc->res[k], sc->word);
}

/*
 * Judge each of words[0..nwords) with every keyword entry of spec, as
 * comments are judged (the allow list included), and give in *out each
 * entry that matches a word other than its own forms: how many, and the
 * first RULES_LINT_SHOWN in byte order.  Returns -1 with *cause if the
 * entries do not compile or the matcher fails.
 */
int
rules_lint(const struct rules_spec *spec, const char *const *words,
    size_t nwords, struct rules_lint **out, size_t *nout, char **cause)
{
	struct rules_spec one;
	struct lint_scan sc;
	struct keyword *kw;
	struct norm norm;
	size_t i, j, k, n = 0;
	int rc = -1;

	for (i = 0; i < spec->nlists; i++)
		n += spec->lists[i].nentries;
	memset(&one, 0, sizeof one);
	one.lists = xcalloc(n + 1, sizeof *one.lists);
	sc.entry = xcalloc(n + 1, sizeof *sc.entry);
	for (i = 0; i < spec->nlists; i++) {
		for (j = 0; j < spec->lists[i].nentries; j++) {
			one.lists[one.nlists] = spec->lists[i]; /* shallow */
			one.lists[one.nlists].entries =
			    &spec->lists[i].entries[j];
			one.lists[one.nlists].nentries = 1;
			sc.entry[one.nlists++] = &spec->lists[i].entries[j];
		}
	}
	sc.normed = xcalloc(n + 1, sizeof *sc.normed);
	sc.stem = xcalloc(n + 1, sizeof *sc.stem);
	normalize_init(&norm);
	norm.plain = spec->format == RULES_FORMAT_TEXT;
	for (k = 0; k < n; k++) {
		if ((sc.stem[k] = lint_stem(sc.entry[k]->text)) == NULL)
			continue;
		normalize_text(&norm, sc.stem[k], strlen(sc.stem[k]));
		if (norm.form[0].len > 2)
			sc.normed[k] = xstrndup(
			    norm.form[0].buf + 1, norm.form[0].len - 2);
	}
	normalize_free(&norm);
	one.allow = spec->allow;
	one.nallow = spec->nallow;
	one.format = spec->format;
	sc.res = xcalloc(n + 1, sizeof *sc.res);
	*out = NULL;
	*nout = 0;
	if (keyword_build(&one, &kw, cause) == -1)
		goto fail;
	for (i = 0; i < nwords; i++) {
		if (lint_skip(words[i]))
			continue;
		sc.word = words[i];
		if (keyword_match_lists(kw, words[i], strlen(words[i]),
		        lint_hit_cb, &sc) == -1) {
			xasprintf(
			    cause, "the matcher failed on \"%s\"", words[i]);
			keyword_free(kw);
			goto fail;
		}
	}
	keyword_free(kw);
	for (k = 0; k < n; k++) {
		sc.res[k].entry = sc.entry[k];
		if (sc.res[k].nwords > 0)
			sc.res[(*nout)++] = sc.res[k];
	}
	*out = sc.res;
	sc.res = NULL;
	rc = 0;
fail:
	rules_lint_free(sc.res, n);
	freev(sc.normed, n);
	freev(sc.stem, n);
	free(sc.entry);
	free(one.lists);
	return (rc);
}

/* Free what rules_lint() gave. */
void
rules_lint_free(struct rules_lint *r, size_t n)
{
	size_t i, j;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++)
		for (j = 0; j < RULES_LINT_SHOWN; j++)
			free(r[i].words[j]);
	free(r);
}
