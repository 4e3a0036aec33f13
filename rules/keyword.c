/*
 * keyword.c -- owns the compiled keyword matcher: every entry of every
 * keyword list and of the allow list, normalised by normalize.c and compiled
 * into one Hyperscan literal database (words, phrases, wildcards at the ends,
 * substrings) and one regex database (regular expressions, inner wildcards).
 * A third database holds the literals again with any letter also matching a
 * censor mark (f*ck); it scans only texts that have one.
 * A comment is normalised once and scanned once per form, whatever the
 * number of entries.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "rules_int.h"
#include "ralloc.h"

#define KW_EXTEND_LEFT 0x01 /* widen a hit to the start of its token */
#define KW_EXTEND_RIGHT 0x02 /* widen a hit to the end of its token */
#define KW_TIGHT 0x04 /* written without spaces: none in the matched text */
#define KW_SPACES " \t\r\n" /* what KW_TIGHT means by a space */
#define KW_RUN_MAX 16 /* longest run an entry asks for (Hyperscan's limit) */
#define KW_MAX_HITS 65536 /* hits kept per comment before the scan stops */
#define KW_MAX_SNIPS 16 /* matched texts shown per comment */
#define KW_SNIPS_PER_LIST 3
#define KW_SNIP_BYTES 80 /* bytes of original text in one snippet */
#define KW_MARK '*' /* normalize.c's censor mark: any one letter */
#define KW_CENSOR_MAX 64 /* longest literal a censor mark may stand in */
#define KW_IL '|' /* normalize.c's | : i or l */
#define KW_REGEX_FLAGS \
	(HS_FLAG_UTF8 | HS_FLAG_UCP | HS_FLAG_CASELESS | HS_FLAG_SOM_LEFTMOST)

/* What a pattern id stands for. */
struct kw_pat {
	int list; /* index of the keyword list, -1 for the allow list */
	uint32_t len; /* literal length; 0 for a regex */
	uint8_t extend;
};

/* One match, in original-text byte offsets. */
struct kw_hit {
	int list;
	uint32_t s;
	uint32_t e;
};

/* Patterns of one kind, literals or regexes, as building collects them. */
struct kw_set {
	char **text; /* owned: the patterns */
	struct kw_pat *pat; /* what each stands for */
	const struct rules_entry **src; /* owned array: the entry of each */
	size_t n;
};

/* What the regex rewriter last copied or will copy next (\b, \B). */
enum kw_atom {
	KW_AT_EDGE, /* start or end of the pattern, a group or an alternative */
	KW_AT_SPACE, /* a space: ' ', \s or \x20, at least once */
	KW_AT_WORD, /* a letter or digit written as itself, exactly once */
	KW_AT_OTHER /* anything else: ., a class, a group, a quantified atom */
};

/* State of the \b and \B rewrite of one regex entry. */
struct kw_edges {
	const char *p; /* borrowed: the pattern, without its slashes */
	size_t n;
	size_t i; /* where the \b or \B being rewritten is */
	char *out; /* owned: the rewritten pattern */
	size_t len;
	enum kw_atom last; /* what the rewritten pattern ends with */
	uint8_t extend; /* KW_EXTEND_*: \B shows whole words */
};

/* Patterns collected while building. */
struct kw_build {
	struct kw_set lit;
	size_t *litlen; /* the length of each literal */
	struct kw_set re;
	char *errors; /* owned: one "file:line: ..." line each */
	struct norm norm;
	const struct rules_entry *cur; /* borrowed: the entry being compiled */
};

struct keyword {
	hs_database_t *lit;
	hs_database_t *re;
	hs_database_t *cen; /* the literals, censor marks for letters */
	hs_scratch_t *scratch;
	struct kw_pat *lpat; /* owned */
	size_t nlit;
	struct kw_pat *rpat; /* owned */
	size_t nre;
	size_t nlists;
	char **names; /* owned copies of the list names */
	enum rules_verdict *actions; /* owned */
	struct norm norm;
	struct kw_hit *hits; /* owned */
	size_t nhits;
	size_t caphits;
	int truncated;
	const struct norm_out *out; /* form being scanned */
	const char *text; /* borrowed: the text being matched */
	int scanning_re;
};

static void keyword_error(struct kw_build *, const struct rules_entry *,
    const char *, ...) __attribute__((format(printf, 3, 4)));
static void keyword_add(
    struct kw_build *, struct kw_set *, char *, uint32_t, int, uint8_t);
static void keyword_set_free(struct kw_set *);
static void keyword_add_lit(
    struct kw_build *, const char *, size_t, int, uint8_t);
static void keyword_add_re(struct kw_build *, char *, int, uint8_t);
static int keyword_re_next(const char *, size_t, size_t);
static int keyword_re_edge(
    struct kw_build *, const struct rules_entry *, struct kw_edges *, char);
static char *keyword_re_edges(
    struct kw_build *, const struct rules_entry *, char *, uint8_t *);
static size_t keyword_re_atom(const char *, size_t, size_t);
static const char *keyword_re_hint(const char *, const char *);
static int keyword_norm_part(
    struct kw_build *, const char *, size_t, const char **, size_t *);
static void keyword_entry(
    struct kw_build *, const struct rules_entry *, int, enum rules_matchmode);
static void keyword_entry_regex(
    struct kw_build *, const struct rules_entry *, int);
static void keyword_entry_wild(
    struct kw_build *, const struct rules_entry *, int, enum rules_matchmode);
static void keyword_escape(char **, size_t *, const char *, size_t);
static int keyword_star_alone(const char *, size_t);
static void keyword_entry_one(
    struct kw_build *, const struct rules_entry *, int, enum rules_matchmode);
static int keyword_long_run(const char *, size_t);
static void keyword_runs(
    struct kw_build *, int, enum rules_matchmode, const char *, size_t);
static void keyword_substring(
    struct kw_build *, const struct rules_entry *, int, const char *, size_t);
static int keyword_compile(struct keyword *, struct kw_build *);
static char **keyword_lit_regexes(const struct kw_build *, int);
static void keyword_compile_error(
    struct kw_build *, const hs_compile_error_t *, int);
static void keyword_build_free(struct kw_build *);
static int keyword_hit_cb(
    unsigned int, unsigned long long, unsigned long long, unsigned int, void *);
static int keyword_spaced(const char *, uint32_t, uint32_t);
static int keyword_scan(struct keyword *, const struct norm_out *);
static int keyword_reading(struct keyword *, const char *, size_t, int);
static int keyword_hits(struct keyword *, const char *, size_t);
static int keyword_allowed(
    const struct kw_hit *, size_t, const struct kw_hit *);
static int keyword_cmp_hit(const void *, const void *);
static void keyword_snip(char **, size_t *, size_t *, const char *,
    const char *, size_t, const struct kw_hit *);
static void keyword_result(
    struct keyword *, const char *, size_t, struct rules_match *);

/* Record a build error against an entry. */
static void
keyword_error(
    struct kw_build *b, const struct rules_entry *en, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rules_verror(&b->errors, en->file, en->line, fmt, ap);
	va_end(ap);
}

/*
 * Add a pattern (owned) of list to a set, from the entry being compiled;
 * len is a literal's length, 0 for a regex.
 */
static void
keyword_add(struct kw_build *b, struct kw_set *set, char *text, uint32_t len,
    int list, uint8_t extend)
{
	set->text = xreallocarray(set->text, set->n + 1, sizeof *set->text);
	set->pat = xreallocarray(set->pat, set->n + 1, sizeof *set->pat);
	set->src = xreallocarray(set->src, set->n + 1, sizeof *set->src);
	set->text[set->n] = text;
	set->pat[set->n].list = list;
	set->pat[set->n].len = len;
	set->pat[set->n].extend = extend;
	set->src[set->n] = b->cur;
	set->n++;
}

/* Free a set of patterns. */
static void
keyword_set_free(struct kw_set *set)
{
	freev(set->text, set->n);
	free(set->pat);
	free(set->src);
}

/* Add a literal pattern. */
static void
keyword_add_lit(
    struct kw_build *b, const char *s, size_t len, int list, uint8_t extend)
{
	char *text = xmalloc(len + 1);

	memcpy(text, s, len);
	text[len] = '\0';
	b->litlen = xreallocarray(b->litlen, b->lit.n + 1, sizeof *b->litlen);
	b->litlen[b->lit.n] = len;
	keyword_add(b, &b->lit, text, (uint32_t)len, list, extend);
}

/* Add a regex pattern; takes ownership of re. */
static void
keyword_add_re(struct kw_build *b, char *re, int list, uint8_t extend)
{
	keyword_add(b, &b->re, re, 0, list, extend);
}

/*
 * Normalise one piece of an entry; *out and *outlen get its tokens without
 * the surrounding spaces (pointing into b->norm).  Returns -1 if nothing is
 * left.
 */
static int
keyword_norm_part(struct kw_build *b, const char *s, size_t len,
    const char **out, size_t *outlen)
{
	b->norm.keep_runs = 1; /* an entry means its letters as written */
	normalize_text(&b->norm, s, len);
	if (b->norm.form[0].len <= 2)
		return (-1);
	*out = b->norm.form[0].buf + 1;
	*outlen = b->norm.form[0].len - 2;
	return (0);
}

/* Compile one entry of list (or of the allow list when list is -1). */
static void
keyword_entry_one(struct kw_build *b, const struct rules_entry *en, int list,
    enum rules_matchmode mode)
{
	size_t len = strlen(en->text), n;
	const char *norm;
	char *lit;

	if (strchr(en->text, '*') != NULL) {
		keyword_entry_wild(b, en, list, mode);
		return;
	}
	if (keyword_norm_part(b, en->text, len, &norm, &n) == -1) {
		keyword_error(b, en,
		    "entry \"%s\" has no letters, digits or "
		    "symbols to match",
		    en->text);
		return;
	}
	if (keyword_long_run(norm, n)) {
		keyword_runs(b, list, mode, norm, n);
		return;
	}
	if (mode == RULES_MATCH_SUBSTRING) {
		keyword_substring(b, en, list, norm, n);
		return;
	}
	lit = xmalloc(n + 2);
	lit[0] = ' ';
	memcpy(lit + 1, norm, n);
	lit[n + 1] = ' ';
	keyword_add_lit(b, lit, n + 2, list, 0);
	free(lit);
}

/* Tell whether normalised text has a run of three or more of one letter. */
static int
keyword_long_run(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i++) {
		if (s[i] == s[i + 1] && s[i] == s[i + 2] &&
		    ((s[i] >= 'a' && s[i] <= 'z') ||
		        (unsigned char)s[i] >= 0x80))
			return (1);
	}
	return (0);
}

/*
 * Add an entry with a run of three or more of one letter (xxx, www): the
 * run matches itself or longer (xxxx), never fewer letters (x marks).  A
 * run longer than KW_RUN_MAX asks for KW_RUN_MAX or more: Hyperscan cannot
 * compile a much longer counted repeat with match starts.
 */
static void
keyword_runs(struct kw_build *b, int list, enum rules_matchmode mode,
    const char *norm, size_t n)
{
	char *re = NULL, rep[32];
	size_t i, j, relen = 0;

	if (mode == RULES_MATCH_WORD)
		keyword_escape(&re, &relen, " ", 1);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && norm[j] == norm[i]; j++)
			;
		if (j - i >= 3 && norm[i] >= 'a' && norm[i] <= 'z') {
			snprintf(rep, sizeof rep, "%c{%zu,}", norm[i],
			    j - i < KW_RUN_MAX ? j - i : (size_t)KW_RUN_MAX);
			re = xreallocarray(re, relen + strlen(rep) + 1, 1);
			memcpy(re + relen, rep, strlen(rep) + 1);
			relen += strlen(rep);
		} else
			keyword_escape(&re, &relen, norm + i, j - i);
	}
	if (mode == RULES_MATCH_WORD)
		keyword_escape(&re, &relen, " ", 1);
	keyword_add_re(b, re, list, 0);
}

/*
 * Add a substring entry.  It matches anywhere inside words, except that
 * punctuation at either end anchors that end to a word boundary (bit.ly/
 * does not match bit.lyrics), and one written without spaces never matches
 * across a space (nor a rabbit lying down).
 */
static void
keyword_substring(struct kw_build *b, const struct rules_entry *en, int list,
    const char *norm, size_t n)
{
	size_t len = strlen(en->text), k = 0;
	int lpunct, rpunct;
	uint8_t flags = 0;
	char *lit;

	lpunct = ispunct((unsigned char)en->text[0]);
	rpunct = len > 0 && ispunct((unsigned char)en->text[len - 1]);
	if (strpbrk(en->text, KW_SPACES) == NULL &&
	    memchr(norm, ' ', n) != NULL)
		flags |= KW_TIGHT;
	lit = xmalloc(n + 2);
	if (lpunct)
		lit[k++] = ' ';
	else
		flags |= KW_EXTEND_LEFT;
	memcpy(lit + k, norm, n);
	k += n;
	if (rpunct)
		lit[k++] = ' ';
	else
		flags |= KW_EXTEND_RIGHT;
	keyword_add_lit(b, lit, k, list, flags);
	free(lit);
}

/*
 * Compile an entry.  Text folds look-alike letters only in words that mix
 * them with Latin ones, so an entry in another script (сука) also gets a
 * second, fully folded pattern: it then catches the same word spelled with
 * Latin look-alikes (cуkа, CYKA) too.
 */
static void
keyword_entry(struct kw_build *b, const struct rules_entry *en, int list,
    enum rules_matchmode mode)
{
	size_t len = strlen(en->text), i, nlit = b->lit.n, nre = b->re.n;

	b->cur = en;
	if (len >= 2 && en->text[0] == '/' && en->text[len - 1] == '/') {
		keyword_entry_regex(b, en, list);
		return;
	}
	keyword_entry_one(b, en, list, mode);
	for (i = 0; i < len && (unsigned char)en->text[i] < 0x80; i++)
		;
	if (i == len || b->errors != NULL)
		return;
	nlit = b->lit.n;
	nre = b->re.n;
	b->norm.fold_all = 1;
	keyword_entry_one(b, en, list, mode);
	b->norm.fold_all = 0;
	if (b->lit.n == nlit + 1 && nlit > 0 &&
	    b->litlen[nlit] == b->litlen[nlit - 1] &&
	    memcmp(b->lit.text[nlit], b->lit.text[nlit - 1], b->litlen[nlit]) ==
	        0)
		free(b->lit.text[--b->lit.n]);
	if (b->re.n == nre + 1 && nre > 0 &&
	    strcmp(b->re.text[nre], b->re.text[nre - 1]) == 0)
		free(b->re.text[--b->re.n]);
}

/*
 * Check and add a /regex/ entry; it runs over the normalised text, after
 * keyword_re_edges() has rewritten its \b and \B.
 */
static void
keyword_entry_regex(struct kw_build *b, const struct rules_entry *en, int list)
{
	hs_compile_error_t *err = NULL;
	hs_expr_info_t *info = NULL;
	size_t len = strlen(en->text);
	const char *hint;
	uint8_t extend = 0;
	char *re;

	if (len == 2) {
		keyword_error(b, en, "empty regular expression //");
		return;
	}
	re = xstrndup(en->text + 1, len - 2);
	if ((re = keyword_re_edges(b, en, re, &extend)) == NULL)
		return;
	if (hs_expression_info(re, KW_REGEX_FLAGS, &info, &err) != HS_SUCCESS) {
		hint = err != NULL ? keyword_re_hint(re, err->message) : NULL;
		if (hint != NULL)
			keyword_error(b, en,
			    "bad regular expression %s: %s (Hyperscan: %s)",
			    en->text, hint, err->message);
		else
			keyword_error(b, en, "bad regular expression %s: %s",
			    en->text, err != NULL ? err->message : "rejected");
		hs_free_compile_error(err);
		free(re);
		return;
	}
	if (info->min_width == 0) {
		keyword_error(b, en,
		    "regular expression %s can match nothing "
		    "at all, so it would match every comment",
		    en->text);
		free(info);
		free(re);
		return;
	}
	free(info);
	keyword_add_re(b, re, list, extend);
}

/* What to write instead of what Hyperscan refuses, by its message. */
static const struct {
	const char *message; /* a part of Hyperscan's message */
	const char *pattern; /* and of the pattern, or NULL */
	const char *hint;
} keyword_re_hints[] = {
    {"Zero-width assertions", "(?<",
        "lookbehind (?<= (?<! cannot be run: make the text before it part "
        "of the expression, or write a space for a word edge"},
    {"Zero-width assertions", NULL,
        "lookahead (?= (?! cannot be run: make the text after it part of "
        "the expression, or list what may follow in a class ([^s ])"},
    {"Back-references", NULL,
        "back-references (\\1, \\k<name>) cannot be run: write the "
        "repeated text out, or one entry per text"},
    {"back reference", NULL,
        "back-references (\\1, \\k<name>) cannot be run: write the "
        "repeated text out, or one entry per text"},
    {"Atomic groups", NULL, "write a plain group (?:...) for (?>...)"},
    {"Possessive quantifiers", NULL,
        "write the quantifier without its + (a+ for a++)"},
    {"Embedded start anchors", NULL,
        "the text begins with a space: write \\b or a space for a word "
        "edge, not ^ inside the expression"},
    {"Embedded end anchors", NULL,
        "the text ends with a space: write \\b or a space for a word edge, "
        "not $ inside the expression"},
    {"\\G", NULL, "\\G cannot be run: leave it out"},
    {"\\K", NULL,
        "\\K cannot be run: the whole match is shown to moderators, so "
        "leave it out"},
    {"\\R", NULL,
        "\\R cannot be run: the normalised text has no line breaks, write "
        "a space"},
    {"\\X", NULL, "\\X cannot be run: write . for one character"},
    {"\\C", NULL, "\\C cannot be run: write . for one character"},
};

/* Find what to write instead of what Hyperscan refused, or NULL. */
static const char *
keyword_re_hint(const char *re, const char *message)
{
	size_t i;

	for (i = 0; i < sizeof keyword_re_hints / sizeof keyword_re_hints[0];
	     i++) {
		if (strstr(message, keyword_re_hints[i].message) != NULL &&
		    (keyword_re_hints[i].pattern == NULL ||
		        strstr(re, keyword_re_hints[i].pattern) != NULL))
			return (keyword_re_hints[i].hint);
	}
	return (NULL);
}

/* Give the length of the atom at p[j]: a character or an escape. */
static size_t
keyword_re_atom(const char *p, size_t n, size_t j)
{
	size_t k = j + 1;

	if (p[j] == '\\' && k < n) {
		k++;
		if (strchr("xpPN", p[k - 1]) != NULL && k < n && p[k] == '{') {
			while (k < n && p[k] != '}')
				k++;
			return (k < n ? k + 1 - j : n - j);
		}
		if (p[k - 1] == 'x')
			while (
			    k < n && k < j + 4 && isxdigit((unsigned char)p[k]))
				k++;
		else if (p[k - 1] == 'c' && k < n)
			k++;
		return (k - j);
	}
	while (k < n && ((unsigned char)p[k] & 0xc0) == 0x80)
		k++;
	return (k - j);
}

/*
 * Tell what the pattern holds at p[j]: an edge (its end, '|' or ')'), a
 * space or a letter written once, or anything else.
 */
static int
keyword_re_next(const char *p, size_t n, size_t j)
{
	size_t k;
	int kind;

	if (j >= n || p[j] == '|' || p[j] == ')')
		return (KW_AT_EDGE);
	k = j + keyword_re_atom(p, n, j);
	if (p[j] == ' ' || (k - j == 2 && p[j + 1] == 's') ||
	    (k - j == 4 && strncmp(p + j, "\\x20", 4) == 0))
		kind = KW_AT_SPACE;
	else if (isalnum((unsigned char)p[j]) || (unsigned char)p[j] >= 0x80)
		kind = KW_AT_WORD;
	else
		return (KW_AT_OTHER);
	if (k < n &&
	    (p[k] == '*' || p[k] == '?' || p[k] == '{' ||
	        (p[k] == '+' && kind == KW_AT_WORD)))
		return (KW_AT_OTHER); /* perhaps not there, or more */
	return (kind);
}

/*
 * Rewrite the \b (c 'b') or \B (c 'B') at e->p[e->i] into e->out.  In the
 * normalised text words are separated by exactly one space and the text
 * begins and ends with one, so a word edge is always a space beside a
 * word: \b is that space (matched, never shown: hits are trimmed of
 * spaces), and nothing when the pattern writes a space there itself.  \B
 * at the start or end of the pattern, a group or an alternative is one
 * more character of the same word, [^ ], and the hit shown widens to the
 * whole word; between two letters it is nothing.  Elsewhere either could
 * never match or has no exact rewrite: an error.
 */
static int
keyword_re_edge(struct kw_build *b, const struct rules_entry *en,
    struct kw_edges *e, char c)
{
	int next = keyword_re_next(e->p, e->n, e->i + 2);
	const char *add = "";

	if (c == 'b') {
		if (e->last == KW_AT_WORD && next == KW_AT_WORD) {
			keyword_error(b, en,
			    "regular expression %s: \\b between two letters "
			    "can never match: write a space to separate words",
			    en->text);
			return (-1);
		}
		if (e->last != KW_AT_SPACE && next != KW_AT_SPACE) {
			add = " ";
			e->last = KW_AT_SPACE;
		}
	} else if (e->last == KW_AT_SPACE || next == KW_AT_SPACE) {
		keyword_error(b, en,
		    "regular expression %s: \\B beside a space can never match",
		    en->text);
		return (-1);
	} else if (e->last == KW_AT_EDGE || next == KW_AT_EDGE) {
		add = "[^ ]";
		e->extend |= KW_EXTEND_LEFT | KW_EXTEND_RIGHT;
		e->last = KW_AT_OTHER;
	} else if (e->last != KW_AT_WORD || next != KW_AT_WORD) {
		keyword_error(b, en,
		    "regular expression %s: \\B is supported only at the start "
		    "or end of the expression, a group or an alternative, or "
		    "between two letters: write [^ ] for one more letter of "
		    "the word",
		    en->text);
		return (-1);
	}
	memcpy(e->out + e->len, add, strlen(add) + 1); /* room: see caller */
	e->len += strlen(add);
	return (0);
}

/*
 * Rewrite the \b and \B of a regex entry (re, owned) for Hyperscan, which
 * refuses them in UCP mode (keyword_re_edge() says how); \b inside a
 * class, a backspace in PCRE, is refused.  Returns the new pattern, or
 * NULL after recording an error.
 */
static char *
keyword_re_edges(
    struct kw_build *b, const struct rules_entry *en, char *re, uint8_t *extend)
{
	struct kw_edges e;
	size_t j, n = strlen(re);
	int class = 0, quote = 0;
	char c;

	memset(&e, 0, sizeof e);
	e.p = re;
	e.n = n;
	e.out = xmalloc(n * 2 + 1); /* \B, 2 bytes, becomes [^ ], 4 */
	e.last = KW_AT_EDGE;
	for (e.i = 0; e.i < n; e.i = j) {
		c = re[e.i];
		j = e.i + keyword_re_atom(re, n, e.i);
		if (quote) {
			quote = strncmp(re + e.i, "\\E", j - e.i) != 0;
		} else if (class) {
			if (c == '\\' &&
			    (re[e.i + 1] == 'b' || re[e.i + 1] == 'B')) {
				keyword_error(b, en,
				    "regular expression %s: \\%c inside a "
				    "character class is a backspace or an "
				    "error, never a word edge: write \\b "
				    "outside the class",
				    en->text, re[e.i + 1]);
				goto fail;
			}
			if (c == '[' && j < n && re[j] == ':')
				for (; j < n && re[j - 1] != ']'; j++)
					;
			else if (c == ']')
				class = 0;
		} else if (c == '\\' && j == e.i + 2 &&
		    (re[e.i + 1] == 'b' || re[e.i + 1] == 'B')) {
			if (keyword_re_edge(b, en, &e, re[e.i + 1]) == -1)
				goto fail;
			continue;
		} else if (c == '\\' && re[e.i + 1] == 'Q') {
			quote = 1;
			e.last = KW_AT_OTHER;
		} else if (c == '[') {
			class = 1;
			j += j < n && re[j] == '^';
			j += j < n && re[j] == ']';
			e.last = KW_AT_OTHER;
		} else if (c == '(' || c == '|') {
			if (c == '(' && j < n && re[j] == '?') {
				while (j < n && strchr(":)>=!'", re[j]) == NULL)
					j++;
				j += j < n;
			}
			e.last = KW_AT_EDGE;
		} else if (c == '+' && e.last == KW_AT_SPACE)
			;
		else if (strchr(")*+?{", c) != NULL) {
			if (c == '{')
				while (j < n && re[j - 1] != '}')
					j++;
			e.last = KW_AT_OTHER;
		} else
			e.last = keyword_re_next(re, n, e.i);
		memcpy(e.out + e.len, re + e.i, j - e.i);
		e.len += j - e.i;
	}
	e.out[e.len] = '\0';
	*extend = e.extend;
	free(re);
	return (e.out);
fail:
	free(re);
	free(e.out);
	return (NULL);
}

/* Tell whether the '*' at text[i] stands alone, as a whole word. */
static int
keyword_star_alone(const char *text, size_t i)
{
	return ((i == 0 || text[i - 1] == ' ') &&
	    (text[i + 1] == '\0' || text[i + 1] == ' '));
}

/*
 * Add an entry with '*' wildcards.  A '*' inside a word stands for any
 * letters within that word (terror*, *phobe, f*ck); one standing alone
 * between spaces stands for exactly one word (go * yourself).  A single
 * part with stars only at its ends is a literal that may continue inside
 * the word; anything else needs a regex.
 */
static void
keyword_entry_wild(struct kw_build *b, const struct rules_entry *en, int list,
    enum rules_matchmode mode)
{
	const char *t = en->text, *norm, *inner;
	size_t len = strlen(t), i = 0, j, n, parts = 0, relen = 0;
	int lead = t[0] == '*', trail = t[len - 1] == '*', alone = 0;
	int word = mode == RULES_MATCH_WORD;
	char *re = NULL;
	uint8_t ext;

	for (j = 0; j < len; j++)
		if (t[j] == '*' && keyword_star_alone(t, j))
			alone = 1;
	if (word && !lead)
		keyword_escape(&re, &relen, " ", 1);
	while (i <= len) {
		for (j = i; j < len && t[j] != '*'; j++)
			;
		if (j > i) {
			if (keyword_norm_part(b, t + i, j - i, &norm, &n) ==
			    -1) {
				if (strspn(t + i, " ") < j - i) {
					keyword_error(b, en,
					    "part of \"%s\" "
					    "has no letters, digits or symbols",
					    t);
					free(re);
					return;
				}
			} else {
				keyword_escape(&re, &relen, norm, n);
				parts++;
			}
		}
		if (j < len)
			keyword_escape(&re, &relen,
			    keyword_star_alone(t, j) ? "*" : NULL, 0);
		i = j + 1;
	}
	if (parts == 0) {
		keyword_error(b, en, "entry \"%s\" is only wildcards", t);
		free(re);
		return;
	}
	if (word && !trail)
		keyword_escape(&re, &relen, " ", 1);
	inner = strchr(t + lead, '*');
	if (parts > 1 || alone || (inner != NULL && inner < t + len - trail)) {
		keyword_add_re(b, re, list, 0);
		return;
	}
	free(re);
	keyword_norm_part(
	    b, t + lead, len - (size_t)lead - (size_t)trail, &norm, &n);
	re = xmalloc(n + 2);
	relen = 0;
	if (word && !lead)
		re[relen++] = ' ';
	memcpy(re + relen, norm, n);
	relen += n;
	if (word && !trail)
		re[relen++] = ' ';
	ext = (lead || !word ? KW_EXTEND_LEFT : 0) |
	    (trail || !word ? KW_EXTEND_RIGHT : 0);
	keyword_add_lit(b, re, relen, list, ext);
	free(re);
}

/*
 * Append s to the regex being built, ASCII punctuation escaped (UTF-8
 * sequences are copied whole).  s == NULL appends "any letters within one
 * word"; s == "*" with n == 0 appends "exactly one whole word".
 */
static void
keyword_escape(char **re, size_t *len, const char *s, size_t n)
{
	const char *lit = NULL;
	unsigned char ch;
	size_t i;

	if (s == NULL)
		lit = "[^ ]*";
	else if (n == 0 && strcmp(s, "*") == 0)
		lit = " [^ ]+ ";
	if (lit != NULL) {
		*re = xreallocarray(*re, *len + strlen(lit) + 1, 1);
		memcpy(*re + *len, lit, strlen(lit) + 1);
		*len += strlen(lit);
		return;
	}
	*re = xreallocarray(*re, *len + n * 4 + 1, 1);
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if (ch >= 0x80 || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9'))
			(*re)[(*len)++] = (char)ch;
		else
			*len += (size_t)sprintf(*re + *len, "\\x%02x", ch);
	}
	(*re)[*len] = '\0';
}

/* Build the matcher for every keyword list and the allow list. */
int
keyword_build(const struct rules_spec *spec, struct keyword **kwp, char **cause)
{
	struct kw_build b;
	struct keyword *kw;
	size_t i, j;

	memset(&b, 0, sizeof b);
	normalize_init(&b.norm);
	b.norm.plain = spec->format == RULES_FORMAT_TEXT; /* entries too */
	for (i = 0; i < spec->nlists; i++) {
		for (j = 0; j < spec->lists[i].nentries; j++)
			keyword_entry(&b, &spec->lists[i].entries[j], (int)i,
			    spec->lists[i].match);
	}
	for (j = 0; j < spec->nallow; j++)
		keyword_entry(&b, &spec->allow[j], -1, RULES_MATCH_WORD);
	kw = xcalloc(1, sizeof *kw);
	normalize_init(&kw->norm);
	kw->norm.plain = b.norm.plain;
	if (b.errors == NULL && keyword_compile(kw, &b) == -1 &&
	    b.errors == NULL)
		b.errors = xstrdup("cannot build the keyword matcher");
	if (b.errors != NULL) {
		*cause = b.errors;
		b.errors = NULL;
		keyword_build_free(&b);
		keyword_free(kw);
		return (-1);
	}
	kw->nlists = spec->nlists;
	kw->names = xcalloc(spec->nlists, sizeof *kw->names);
	kw->actions = xcalloc(spec->nlists, sizeof *kw->actions);
	for (i = 0; i < spec->nlists; i++) {
		kw->names[i] = xstrdup(spec->lists[i].name);
		kw->actions[i] = spec->lists[i].action;
	}
	keyword_build_free(&b);
	*kwp = kw;
	return (0);
}

/*
 * Write each literal as a regex of escaped bytes.  Hyperscan 5.4's literal
 * API (hs_compile_lit_multi) builds databases that fail at scan time when
 * one literal ends the other in a long run of one character; its regex
 * compiler finds literals by itself and has no such bug.  With censor set,
 * each Latin letter of a literal of at most KW_CENSOR_MAX bytes also
 * matches a censor mark, and i and l a | (a longer one, a phrase nobody
 * censors, would pass Hyperscan's limit on a pattern's length).
 */
static char **
keyword_lit_regexes(const struct kw_build *b, int censor)
{
	char **out = xcalloc(b->lit.n + 1, sizeof *out);
	size_t i, k, len;
	unsigned char ch;

	for (i = 0; i < b->lit.n; i++) {
		out[i] = xmalloc(b->litlen[i] * 12 + 1);
		for (k = 0, len = 0; k < b->litlen[i]; k++) {
			ch = (unsigned char)b->lit.text[i][k];
			if (censor && b->litlen[i] <= KW_CENSOR_MAX &&
			    ch >= 'a' && ch <= 'z')
				len += (size_t)sprintf(out[i] + len,
				    "[%c\\x%02x%s]", ch, KW_MARK,
				    ch == 'i' || ch == 'l' ? "\\x7c" : "");
			else if ((ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9'))
				out[i][len++] = (char)ch;
			else
				len += (size_t)sprintf(
				    out[i] + len, "\\x%02x", ch);
		}
		out[i][len] = '\0';
	}
	return (out);
}

/*
 * Report a failed compile at the entry whose pattern Hyperscan refused
 * ("Pattern is too large"), or for the whole matcher when it cannot say.
 */
static void
keyword_compile_error(
    struct kw_build *b, const hs_compile_error_t *err, int literals)
{
	const struct kw_set *set = literals ? &b->lit : &b->re;
	const struct rules_entry *en = NULL;
	int x = err->expression;

	if (x >= 0 && (size_t)x < set->n)
		en = set->src[x];
	if (en != NULL)
		keyword_error(b, en, "entry \"%s\" cannot be compiled: %s",
		    en->text, err->message);
	else
		xasprintf(&b->errors, "keyword matcher: %s", err->message);
}

/* Compile the collected patterns into Hyperscan databases. */
static int
keyword_compile(struct keyword *kw, struct kw_build *b)
{
	hs_compile_error_t *err = NULL;
	unsigned *ids, *flags;
	char **lit, **cen;
	size_t i, n = b->lit.n > b->re.n ? b->lit.n : b->re.n;
	int rc = -1;

	ids = xcalloc(n + 1, sizeof *ids);
	flags = xcalloc(n + 1, sizeof *flags);
	for (i = 0; i < n; i++)
		ids[i] = (unsigned)i;
	lit = keyword_lit_regexes(b, 0);
	cen = keyword_lit_regexes(b, 1);
	if (b->lit.n > 0 &&
	    hs_compile_multi((const char *const *)lit, flags, ids,
	        (unsigned)b->lit.n, HS_MODE_BLOCK, NULL, &kw->lit,
	        &err) != HS_SUCCESS)
		goto fail;
	if (b->lit.n > 0 &&
	    hs_compile_multi((const char *const *)cen, flags, ids,
	        (unsigned)b->lit.n, HS_MODE_BLOCK, NULL, &kw->cen,
	        &err) != HS_SUCCESS)
		goto fail;
	for (i = 0; i < b->re.n; i++)
		flags[i] = KW_REGEX_FLAGS;
	if (b->re.n > 0 &&
	    hs_compile_multi((const char *const *)b->re.text, flags, ids,
	        (unsigned)b->re.n, HS_MODE_BLOCK, NULL, &kw->re,
	        &err) != HS_SUCCESS)
		goto fail;
	if ((kw->lit != NULL &&
	        hs_alloc_scratch(kw->lit, &kw->scratch) != HS_SUCCESS) ||
	    (kw->cen != NULL &&
	        hs_alloc_scratch(kw->cen, &kw->scratch) != HS_SUCCESS) ||
	    (kw->re != NULL &&
	        hs_alloc_scratch(kw->re, &kw->scratch) != HS_SUCCESS))
		goto fail;
	kw->lpat = b->lit.pat;
	kw->nlit = b->lit.n;
	b->lit.pat = NULL;
	kw->rpat = b->re.pat;
	kw->nre = b->re.n;
	b->re.pat = NULL;
	rc = 0;
fail:
	if (err != NULL) {
		keyword_compile_error(b, err,
		    (kw->lit == NULL || kw->cen == NULL) && b->lit.n > 0);
		hs_free_compile_error(err);
	}
	freev(lit, b->lit.n);
	freev(cen, b->lit.n);
	free(ids);
	free(flags);
	return (rc);
}

/* Free what building collected. */
static void
keyword_build_free(struct kw_build *b)
{
	keyword_set_free(&b->lit);
	keyword_set_free(&b->re);
	free(b->litlen);
	free(b->errors);
	normalize_free(&b->norm);
}

/* Free a matcher. */
void
keyword_free(struct keyword *kw)
{
	if (kw == NULL)
		return;
	hs_free_database(kw->lit);
	hs_free_database(kw->re);
	hs_free_database(kw->cen);
	hs_free_scratch(kw->scratch);
	free(kw->lpat);
	free(kw->rpat);
	freev(kw->names, kw->nlists);
	free(kw->actions);
	free(kw->hits);
	normalize_free(&kw->norm);
	free(kw);
}

/* Count the compiled patterns. */
size_t
keyword_npatterns(const struct keyword *kw)
{
	return (kw->nlit + kw->nre);
}

/* Tell whether text[s, e) holds white space. */
static int
keyword_spaced(const char *text, uint32_t s, uint32_t e)
{
	uint32_t i;

	for (i = s; i < e; i++) {
		if (text[i] != '\0' && strchr(KW_SPACES, text[i]) != NULL)
			return (1);
	}
	return (0);
}

/* Record one Hyperscan match in original-text offsets. */
static int
keyword_hit_cb(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *arg)
{
	struct keyword *kw = arg;
	const struct norm_out *o = kw->out;
	const struct kw_pat *p;
	size_t a, z;
	struct kw_hit *h;

	(void)flags;
	p = kw->scanning_re ? &kw->rpat[id] : &kw->lpat[id];
	a = kw->scanning_re ? (size_t)from : (size_t)to - p->len;
	z = (size_t)to;
	while (a < z && o->buf[a] == ' ')
		a++;
	while (z > a && o->buf[z - 1] == ' ')
		z--;
	if (a == z)
		return (0);
	if ((p->extend & KW_TIGHT) &&
	    keyword_spaced(kw->text, o->src_start[a], o->src_end[z - 1]))
		return (0);
	if (p->extend & KW_EXTEND_LEFT)
		while (a > 0 && o->buf[a - 1] != ' ')
			a--;
	if (p->extend & KW_EXTEND_RIGHT)
		while (z < o->len && o->buf[z] != ' ')
			z++;
	if (kw->nhits == KW_MAX_HITS) {
		kw->truncated = 1;
		return (1);
	}
	if (kw->nhits == kw->caphits) {
		kw->caphits = kw->caphits == 0 ? 64 : kw->caphits * 2;
		kw->hits = xreallocarray(kw->hits, kw->caphits, sizeof *h);
	}
	h = &kw->hits[kw->nhits++];
	h->list = p->list;
	h->s = o->src_start[a];
	h->e = o->src_end[z - 1];
	return (0);
}

/* Scan one normalised form with both databases. */
static int
keyword_scan(struct keyword *kw, const struct norm_out *o)
{
	hs_error_t rc;

	kw->out = o;
	if (kw->lit != NULL) {
		kw->scanning_re = 0;
		rc = hs_scan(kw->lit, o->buf, (unsigned)o->len, 0, kw->scratch,
		    keyword_hit_cb, kw);
		if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
			return (-1);
	}
	if (kw->cen != NULL && !kw->truncated &&
	    (memchr(o->buf, KW_MARK, o->len) != NULL ||
	        memchr(o->buf, KW_IL, o->len) != NULL)) {
		kw->scanning_re = 0;
		rc = hs_scan(kw->cen, o->buf, (unsigned)o->len, 0, kw->scratch,
		    keyword_hit_cb, kw);
		if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
			return (-1);
	}
	if (kw->re != NULL && !kw->truncated) {
		kw->scanning_re = 1;
		rc = hs_scan(kw->re, o->buf, (unsigned)o->len, 0, kw->scratch,
		    keyword_hit_cb, kw);
		if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
			return (-1);
	}
	return (0);
}

/* Order hits by list (the allow list, -1, first), start, longest first. */
static int
keyword_cmp_hit(const void *va, const void *vb)
{
	const struct kw_hit *a = va, *b = vb;

	if (a->list != b->list)
		return (a->list < b->list ? -1 : 1);
	if (a->s != b->s)
		return (a->s < b->s ? -1 : 1);
	if (a->e != b->e)
		return (a->e > b->e ? -1 : 1);
	return (0);
}

/*
 * Tell whether hit h lies inside an allow-list hit; allow[] is sorted by
 * start, so only those up to the first starting after h are candidates.
 */
static int
keyword_allowed(
    const struct kw_hit *allow, size_t nallow, const struct kw_hit *h)
{
	size_t lo = 0, hi = nallow, i;

	while (lo < hi) { /* first allow hit starting after h */
		i = (lo + hi) / 2;
		if (allow[i].s <= h->s)
			lo = i + 1;
		else
			hi = i;
	}
	for (i = lo; i-- > 0;) {
		if (allow[i].e >= h->e)
			return (1);
	}
	return (0);
}

/* Append name:"snippet" for one hit to *out, escaped and cut short. */
static void
keyword_snip(char **out, size_t *len, size_t *cap, const char *name,
    const char *text, size_t textlen, const struct kw_hit *h)
{
	size_t i, n = h->e - h->s, cut = n;
	unsigned char ch;

	if (h->e > textlen)
		return;
	if (cut > KW_SNIP_BYTES) {
		cut = KW_SNIP_BYTES;
		while (
		    cut > 0 && ((unsigned char)text[h->s + cut] & 0xc0) == 0x80)
			cut--;
	}
	if (*len + strlen(name) + cut * 4 + 16 > *cap) {
		*cap = *len + strlen(name) + cut * 4 + 64;
		*out = xreallocarray(*out, *cap, 1);
	}
	*len +=
	    (size_t)sprintf(*out + *len, "%s%s:\"", *len > 0 ? " " : "", name);
	for (i = 0; i < cut; i++) {
		ch = (unsigned char)text[h->s + i];
		if (ch == '"' || ch == '\\') {
			(*out)[(*len)++] = '\\';
			(*out)[(*len)++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f)
			*len += (size_t)sprintf(*out + *len, "\\x%02x", ch);
		else
			(*out)[(*len)++] = (char)ch;
	}
	*len += (size_t)sprintf(*out + *len, "%s\"", cut < n ? "..." : "");
}

/* Turn the hits into a verdict, reasons and matched texts. */
static void
keyword_result(
    struct keyword *kw, const char *text, size_t len, struct rules_match *m)
{
	size_t i, j, nallow = 0, rlen = 0, rcap = 64, mlen = 0, mcap = 128;
	size_t nsnips = 0, perlist = 0;
	int last = -2;

	while (nallow < kw->nhits && kw->hits[nallow].list == -1)
		nallow++;
	m->verdict = RULES_APPROVE;
	m->reasons = xcalloc(1, rcap);
	m->matched = xcalloc(1, mcap);
	for (i = nallow; i < kw->nhits; i++) {
		if (keyword_allowed(kw->hits, nallow, &kw->hits[i]))
			continue;
		j = (size_t)kw->hits[i].list;
		if ((int)j != last) {
			if (rlen + strlen(kw->names[j]) + 2 > rcap) {
				rcap = (rlen + strlen(kw->names[j])) * 2 + 2;
				m->reasons = xreallocarray(m->reasons, rcap, 1);
			}
			rlen += (size_t)sprintf(m->reasons + rlen, "%s%s",
			    rlen > 0 ? " " : "", kw->names[j]);
			if (kw->actions[j] > m->verdict)
				m->verdict = kw->actions[j];
			last = (int)j;
			perlist = 0;
		} else if (kw->hits[i].s == kw->hits[i - 1].s &&
		    kw->hits[i].e <= kw->hits[i - 1].e)
			continue; /* same place, shorter or duplicate */
		if (perlist < KW_SNIPS_PER_LIST && nsnips < KW_MAX_SNIPS) {
			keyword_snip(&m->matched, &mlen, &mcap, kw->names[j],
			    text, len, &kw->hits[i]);
			perlist++;
			nsnips++;
		}
	}
}

/*
 * Normalise text one way (with hide set: markup and what a browser hides
 * both dropped) and scan every form.  A text that reads two ways around a
 * lone "a" or "i" ("what a f u c k") is normalised and scanned both ways.
 */
static int
keyword_reading(struct keyword *kw, const char *text, size_t len, int hide)
{
	int f, split, rc = 0;

	kw->norm.hide_markup = hide;
	for (split = 0; split < 2 && rc == 0; split++) {
		kw->norm.split_lead = split;
		normalize_text(&kw->norm, text, len);
		for (f = 0; f < kw->norm.nforms && rc == 0; f++)
			rc = keyword_scan(kw, &kw->norm.form[f]);
		if (!kw->norm.ambiguous)
			break;
	}
	kw->norm.split_lead = kw->norm.hide_markup = 0;
	return (rc);
}

/*
 * Match text against every keyword list.  Fills m (the caller frees it
 * with rules_match_free()); returns -1 only if the engine fails.  What a
 * browser given the raw text would hide but is not markup (<x>, an HTML
 * comment) is read both as shown and as hidden: the first reading catches
 * <fuck you> and <!-- fuck -->, the second sh<x>it and sh<!-- -->it.
 */
int
keyword_match(
    struct keyword *kw, const char *text, size_t len, struct rules_match *m)
{
	if (keyword_hits(kw, text, len) == -1)
		return (-1);
	keyword_result(kw, text, len, m);
	return (0);
}

/* Find every hit in text, sorted by keyword_cmp_hit(). */
static int
keyword_hits(struct keyword *kw, const char *text, size_t len)
{
	kw->nhits = 0;
	kw->truncated = 0;
	kw->text = text;
	if (keyword_reading(kw, text, len, 0) == -1)
		return (-1);
	if (kw->norm.hideable && keyword_reading(kw, text, len, 1) == -1)
		return (-1);
	if (kw->nhits > 1)
		qsort(kw->hits, kw->nhits, sizeof *kw->hits, keyword_cmp_hit);
	return (0);
}

/*
 * Match text and call cb once for each keyword list with a hit outside
 * the allow list's, with the first and longest such hit's byte offsets:
 * what rules_lint() needs, without verdict or snippets.
 */
int
keyword_match_lists(struct keyword *kw, const char *text, size_t len,
    void (*cb)(int, size_t, size_t, void *), void *arg)
{
	size_t i, nallow = 0;
	int last = -1;

	if (keyword_hits(kw, text, len) == -1)
		return (-1);
	while (nallow < kw->nhits && kw->hits[nallow].list == -1)
		nallow++;
	for (i = nallow; i < kw->nhits; i++) {
		if (kw->hits[i].list == last ||
		    keyword_allowed(kw->hits, nallow, &kw->hits[i]))
			continue;
		last = kw->hits[i].list;
		cb(last, kw->hits[i].s, kw->hits[i].e, arg);
	}
	return (0);
}

/*
 * Give the first form (runs of letters as one) of the last text matched:
 * what repeats and campaigns compare.  The same text always reads the same.
 */
const struct norm_out *
keyword_form(const struct keyword *kw)
{
	return (&kw->norm.form[0]);
}
