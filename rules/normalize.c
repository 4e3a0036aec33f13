/*
 * normalize.c -- turns comment text (and every rule entry, through the same
 * code) into the match buffer: lower-case tokens separated by one space, with
 * evasions undone.  Each output byte remembers the input bytes it came from,
 * so a match can be shown to a moderator as the author typed it.
 *
 * The steps, in order: HTML tags dropped and entities decoded; Unicode NFKD
 * with compatibility mappings and case folding (utf8proc), default-ignorable
 * characters removed; combining marks removed after Latin, Greek, Cyrillic,
 * Hebrew and Arabic letters (kept in scripts where they are vowels), except
 * that n + tilde stays the letter ñ; look-alike letters mapped to Latin
 * (confusables.c, derived from UTS #39); tokens made of letters, digits and
 * the leetspeak symbols @ $ !; runs of single letters joined (f.u.c.k);
 * leetspeak decoded inside words only; runs of three or more of one letter
 * collapsed.  Collapsing is done twice when it happens: to one letter
 * (fuuuck -> fuck) in form[0] and to two (assss -> ass) in form[1], so that
 * boob and good are never turned into bob and god.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "rules.h"
#include "xmalloc.h"

enum norm_class {
	N_SEP = 0, /* space, punctuation, control */
	N_BREAK, /* line break or block tag: ends a run of spread letters */
	N_LETTER,
	N_DIGIT,
	N_LEET, /* @ $ ! until proven part of a word */
	N_MARK, /* combining mark kept as part of a word */
	N_SYMBOL /* emoji and other symbols: a token of its own */
};

#define ITEM_STRIPMARKS 0x01 /* marks after this letter are accents */
#define ITEM_ACCEPTED 0x02 /* N_LEET: part of a token */
#define ITEM_NONLEET 0x04 /* N_DIGIT: not one of 0 1 3 4 5 7 */

struct norm_item {
	uint32_t cp;
	uint32_t s; /* input offset of the first byte */
	uint32_t e; /* input offset past the last byte */
	uint8_t cls;
	uint8_t flags;
};

#define TOK_WORD 0 /* letters, maybe with leetspeak */
#define TOK_PLAIN 1 /* letters and digits that are not leetspeak */
#define TOK_NUMBER 2 /* no letters */
#define TOK_SYMBOL 3

struct norm_tok {
	uint32_t first; /* item index */
	uint32_t last; /* item index, inclusive */
	uint8_t kind;
	uint8_t single; /* one letter or leet character */
};

#define NORM_DECOMP_MAX 32 /* longest NFKD + casefold expansion is 18 */
#define NORM_TAG_MAX 1024 /* bytes scanned for the end of an HTML tag */
#define NORM_ENTITY_MAX 40 /* bytes of an HTML entity name */
#define NORM_SPREAD_GAP 3 /* separators allowed between spread letters */

static void normalize_push(
    struct norm *, uint32_t, uint8_t, uint32_t, uint32_t);
static void normalize_ascii(struct norm *, unsigned char, uint32_t, uint32_t);
static void normalize_cp(struct norm *, uint32_t, uint32_t, uint32_t);
static void normalize_decomposed(struct norm *, uint32_t, uint32_t, uint32_t);
static void normalize_mark(struct norm *, uint32_t, uint32_t, uint32_t);
static int normalize_strips_marks(uint32_t);
static uint32_t normalize_arabic(uint32_t);
static int normalize_foldable(uint32_t);
static size_t normalize_tag(struct norm *, const char *, size_t, size_t);
static int normalize_inline_tag(const char *, size_t);
static size_t normalize_entity(struct norm *, const char *, size_t, size_t);
static void normalize_decode(struct norm *, const char *, size_t);
static void normalize_accept_leet(struct norm *);
static int normalize_wordish(const struct norm_item *);
static void normalize_tokenize(struct norm *);
static void normalize_join_spread(struct norm *);
static int normalize_gap_ok(const struct norm *, uint32_t, uint32_t);
static void normalize_classify(struct norm *, struct norm_tok *);
static int normalize_unit_suffix(const struct norm *, const struct norm_tok *);
static uint32_t normalize_leet(uint32_t);
static size_t normalize_token_chars(struct norm *, const struct norm_tok *);
static int normalize_emit(struct norm *, int);
static void normalize_out_put(struct norm_out *, uint32_t, uint32_t, uint32_t);

/* Prepare empty scratch state. */
void
normalize_init(struct norm *n)
{
	memset(n, 0, sizeof *n);
}

/* Free the scratch state. */
void
normalize_free(struct norm *n)
{
	int i;

	free(n->items);
	free(n->toks);
	free(n->chars);
	free(n->cs);
	free(n->ce);
	for (i = 0; i < 2; i++) {
		free(n->form[i].buf);
		free(n->form[i].src_start);
		free(n->form[i].src_end);
	}
	memset(n, 0, sizeof *n);
}

/*
 * Normalise len bytes of text into n->form[0] (and n->form[1] when a run of
 * three or more letters was collapsed; n->nforms says which).  Invalid UTF-8
 * bytes count as separators, so any input is accepted.
 */
void
normalize_text(struct norm *n, const char *text, size_t len)
{
	n->nitems = n->ntoks = 0;
	normalize_decode(n, text, len);
	normalize_accept_leet(n);
	normalize_tokenize(n);
	normalize_join_spread(n);
	n->nforms = 1;
	if (normalize_emit(n, 0))
		n->nforms = 2;
	if (n->nforms == 2)
		normalize_emit(n, 1);
}

/* Append one item. */
static void
normalize_push(struct norm *n, uint32_t cp, uint8_t cls, uint32_t s, uint32_t e)
{
	struct norm_item *it;

	if (n->nitems == n->capitems) {
		n->capitems = n->capitems == 0 ? 256 : n->capitems * 2;
		n->items = xreallocarray(n->items, n->capitems, sizeof *it);
	}
	it = &n->items[n->nitems++];
	it->cp = cp;
	it->cls = cls;
	it->s = s;
	it->e = e;
	it->flags = 0;
}

/* Classify one ASCII character (already lower case when it is a letter). */
static void
normalize_ascii(struct norm *n, unsigned char ch, uint32_t s, uint32_t e)
{
	if (ch >= 'A' && ch <= 'Z')
		ch = ch - 'A' + 'a';
	if (ch >= 'a' && ch <= 'z') {
		normalize_push(n, ch, N_LETTER, s, e);
		n->items[n->nitems - 1].flags = ITEM_STRIPMARKS;
	} else if (ch >= '0' && ch <= '9') {
		normalize_push(n, ch, N_DIGIT, s, e);
		if (normalize_leet(ch) == 0)
			n->items[n->nitems - 1].flags = ITEM_NONLEET;
	} else if (ch == '@' || ch == '$' || ch == '!')
		normalize_push(n, ch, N_LEET, s, e);
	else if (ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v')
		normalize_push(n, ch, N_BREAK, s, e);
	else
		normalize_push(n, ch, N_SEP, s, e);
}

/* Decompose and case-fold one code point, then classify the result. */
static void
normalize_cp(struct norm *n, uint32_t cp, uint32_t s, uint32_t e)
{
	utf8proc_int32_t buf[NORM_DECOMP_MAX];
	utf8proc_ssize_t i, m;
	int bc = 0;

	if (cp < 0x80) {
		normalize_ascii(n, (unsigned char)cp, s, e);
		return;
	}
	m = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, NORM_DECOMP_MAX,
	    UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	        UTF8PROC_IGNORE,
	    &bc);
	if (m < 0 || m > NORM_DECOMP_MAX) {
		normalize_push(n, ' ', N_SEP, s, e);
		return;
	}
	for (i = 0; i < m; i++)
		normalize_decomposed(n, (uint32_t)buf[i], s, e);
}

/* Classify one code point of a decomposition. */
static void
normalize_decomposed(struct norm *n, uint32_t cp, uint32_t s, uint32_t e)
{
	uint32_t latin;

	if (cp < 0x80) {
		normalize_ascii(n, (unsigned char)cp, s, e);
		return;
	}
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		if (cp == 0x0640) /* Arabic tatweel only stretches a word */
			return;
		cp = normalize_arabic(cp);
		if (normalize_foldable(cp) &&
		    (latin = confusables_latin(cp)) != 0) {
			normalize_push(n, latin, N_LETTER, s, e);
			n->items[n->nitems - 1].flags = ITEM_STRIPMARKS;
			return;
		}
		normalize_push(n, cp, N_LETTER, s, e);
		if (normalize_strips_marks(cp))
			n->items[n->nitems - 1].flags = ITEM_STRIPMARKS;
		return;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		normalize_mark(n, cp, s, e);
		return;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		normalize_push(n, cp, N_DIGIT, s, e);
		n->items[n->nitems - 1].flags = ITEM_NONLEET;
		return;
	case UTF8PROC_CATEGORY_SO:
		normalize_push(n, cp, N_SYMBOL, s, e);
		return;
	case UTF8PROC_CATEGORY_SK:
		if (cp >= 0x1f3fb && cp <= 0x1f3ff) /* skin tone modifiers */
			return;
		break;
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		normalize_push(n, cp, N_BREAK, s, e);
		return;
	default:
		break;
	}
	normalize_push(n, cp, cp == 0x85 ? N_BREAK : N_SEP, s, e);
}

/*
 * Handle a combining mark: an accent on a Latin-like letter is dropped (the
 * letter's source range grows to cover it, so a match shows it), n + tilde
 * becomes ñ, and marks of scripts that need them stay part of the word.
 */
static void
normalize_mark(struct norm *n, uint32_t cp, uint32_t s, uint32_t e)
{
	struct norm_item *prev;

	(void)s;
	if (n->nitems == 0)
		return;
	prev = &n->items[n->nitems - 1];
	if (prev->cls != N_LETTER && prev->cls != N_MARK &&
	    prev->cls != N_DIGIT) {
		return;
	}
	if (prev->cls == N_LETTER && (prev->flags & ITEM_STRIPMARKS)) {
		if (prev->cp == 'n' && cp == 0x0303)
			prev->cp = 0x00f1;
		if (e > prev->e)
			prev->e = e;
		return;
	}
	if (prev->cls == N_DIGIT) {
		if (e > prev->e)
			prev->e = e;
		return;
	}
	normalize_push(n, cp, N_MARK, s, e);
}

/* Tell whether marks after this letter are accents to drop. */
static int
normalize_strips_marks(uint32_t cp)
{
	if (cp < 0x0900) /* Latin to Arabic, Syriac, Thaana, NKo */
		return (1);
	if (cp >= 0x1d00 && cp < 0x2000) /* phonetic, Latin/Greek extended */
		return (1);
	if ((cp >= 0x2c60 && cp < 0x2c80) || (cp >= 0xa720 && cp < 0xa800) ||
	    (cp >= 0xab30 && cp < 0xab70))
		return (1);
	if (cp >= 0xfb00 && cp < 0xff00) /* presentation forms */
		return (1);
	return (0);
}

/*
 * Tell whether a letter may be folded to a Latin look-alike.  Scripts whose
 * readers never mistake them for Latin (Hebrew, Arabic, Indic, Thai, ...)
 * keep their letters, so words in them are matched as written.
 */
static int
normalize_foldable(uint32_t cp)
{
	if (cp >= 0x0590 && cp < 0x1000) /* Hebrew to Tibetan */
		return (0);
	if ((cp >= 0xfb1d && cp < 0xfe00) || (cp >= 0xfe70 && cp < 0xff00))
		return (0); /* Hebrew and Arabic presentation forms */
	if (cp >= 0x2d30 && cp < 0x2d80) /* Tifinagh */
		return (0);
	return (1);
}

/* Fold Arabic letter variants to the forms Urdu and Persian write. */
static uint32_t
normalize_arabic(uint32_t cp)
{
	switch (cp) {
	case 0x064a: /* yeh */
	case 0x0649: /* alef maksura */
		return (0x06cc);
	case 0x0643: /* kaf */
		return (0x06a9);
	case 0x0647: /* heh */
	case 0x06c1: /* heh goal */
		return (0x06c1);
	case 0x0622: /* alef with madda, hamza above, hamza below */
	case 0x0623:
	case 0x0625:
		return (0x0627);
	default:
		return (cp);
	}
}

/*
 * Handle '<' at offset i: an HTML tag or comment is dropped (a block tag
 * breaks words, an inline one does not).  Returns the bytes consumed, or 0
 * when this '<' is just a character.
 */
static size_t
normalize_tag(struct norm *n, const char *t, size_t len, size_t i)
{
	size_t j, lim, name;
	const char *end;

	if (i + 1 >= len)
		return (0);
	lim = len - i < NORM_TAG_MAX ? len - i : NORM_TAG_MAX;
	if (lim >= 4 && memcmp(t + i, "<!--", 4) == 0) {
		end = memmem(t + i + 4, lim - 4, "-->", 3);
		if (end == NULL)
			return (0);
		normalize_push(n, ' ', N_SEP, (uint32_t)i, (uint32_t)i);
		return ((size_t)(end - (t + i)) + 3);
	}
	j = i + 1;
	if (t[j] == '/' || t[j] == '!' || t[j] == '?')
		j++;
	if (j >= len ||
	    !((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z')))
		return (0);
	for (name = j; j < i + lim && t[j] != '>' && t[j] != '<'; j++)
		;
	if (j >= i + lim || t[j] != '>')
		return (0);
	if (!normalize_inline_tag(t + name, j - name))
		normalize_push(n, '\n', N_BREAK, (uint32_t)i, (uint32_t)i);
	return (j - i + 1);
}

/* Tell whether the tag whose name starts at s is inline (joins words). */
static int
normalize_inline_tag(const char *s, size_t len)
{
	static const char *const inl[] = {"a", "abbr", "b", "bdi", "bdo", "big",
	    "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
	    "kbd", "mark", "q", "s", "samp", "small", "span", "strike",
	    "strong", "sub", "sup", "time", "tt", "u", "var", "wbr"};
	size_t i, k;
	char name[8];

	for (k = 0; k < len && k < sizeof name - 1; k++) {
		if (!((s[k] >= 'a' && s[k] <= 'z') ||
		        (s[k] >= 'A' && s[k] <= 'Z')))
			break;
		name[k] = (char)(s[k] | 0x20);
	}
	if (k == sizeof name - 1)
		return (0);
	name[k] = '\0';
	for (i = 0; i < sizeof inl / sizeof inl[0]; i++) {
		if (strcmp(inl[i], name) == 0)
			return (1);
	}
	return (0);
}

/*
 * Handle '&' at offset i: a named or numeric character reference ending in
 * ';' is decoded.  Returns the bytes consumed, or 0 when it is just '&'.
 */
static size_t
normalize_entity(struct norm *n, const char *t, size_t len, size_t i)
{
	uint32_t cps[2], cp = 0;
	size_t j, k, lim;
	int base = 10, ncp, digit;

	lim = len - i < NORM_ENTITY_MAX ? len - i : NORM_ENTITY_MAX;
	for (j = i + 1; j < i + lim && t[j] != ';'; j++)
		;
	if (j >= i + lim || j == i + 1)
		return (0);
	if (t[i + 1] != '#') {
		if ((ncp = entities_lookup(t + i + 1, j - i - 1, cps)) == 0)
			return (0);
		for (k = 0; k < (size_t)ncp; k++)
			normalize_cp(n, cps[k], (uint32_t)i, (uint32_t)j + 1);
		return (j - i + 1);
	}
	k = i + 2;
	if (k < j && (t[k] == 'x' || t[k] == 'X')) {
		base = 16;
		k++;
	}
	if (k == j || j - k > 8)
		return (0);
	for (; k < j; k++) {
		if (t[k] >= '0' && t[k] <= '9')
			digit = t[k] - '0';
		else if (base == 16 && (t[k] | 0x20) >= 'a' &&
		    (t[k] | 0x20) <= 'f')
			digit = (t[k] | 0x20) - 'a' + 10;
		else
			return (0);
		cp = cp * (uint32_t)base + (uint32_t)digit;
	}
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		cp = 0xfffd;
	normalize_cp(n, cp, (uint32_t)i, (uint32_t)j + 1);
	return (j - i + 1);
}

/* Decode the input into classified items. */
static void
normalize_decode(struct norm *n, const char *t, size_t len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t m;
	size_t i = 0, used;
	unsigned char ch;

	while (i < len) {
		ch = (unsigned char)t[i];
		if (ch == '<' && (used = normalize_tag(n, t, len, i)) != 0) {
			i += used;
			continue;
		}
		if (ch == '&' && (used = normalize_entity(n, t, len, i)) != 0) {
			i += used;
			continue;
		}
		if (ch < 0x80) {
			normalize_ascii(n, ch, (uint32_t)i, (uint32_t)i + 1);
			i++;
			continue;
		}
		m = utf8proc_iterate((const utf8proc_uint8_t *)t + i,
		    (utf8proc_ssize_t)(len - i), &cp);
		if (m <= 0) {
			normalize_push(
			    n, ' ', N_SEP, (uint32_t)i, (uint32_t)i + 1);
			i++;
			continue;
		}
		normalize_cp(n, (uint32_t)cp, (uint32_t)i, (uint32_t)(i + m));
		i += (size_t)m;
	}
}

/* Tell whether an item can stand next to a leetspeak symbol in a word. */
static int
normalize_wordish(const struct norm_item *it)
{
	return (it->cls == N_LETTER || it->cls == N_DIGIT ||
	    it->cls == N_MARK ||
	    (it->cls == N_LEET && (it->flags & ITEM_ACCEPTED)));
}

/*
 * Decide which @ $ ! belong to words: @ and $ next to a letter or digit
 * (@ss, a$$, $hit), ! only between two letters (sh!t, never shit!).  The
 * rest become separators.
 */
static void
normalize_accept_leet(struct norm *n)
{
	struct norm_item *it = n->items;
	size_t i, cnt = n->nitems;

	for (i = 0; i < cnt; i++) {
		if (it[i].cls != N_LEET || it[i].cp == '!')
			continue;
		if (i > 0 && normalize_wordish(&it[i - 1]))
			it[i].flags |= ITEM_ACCEPTED;
	}
	for (i = cnt; i-- > 0;) {
		if (it[i].cls != N_LEET)
			continue;
		if (it[i].cp == '!') {
			if (i > 0 && i + 1 < cnt && it[i - 1].cls == N_LETTER &&
			    (it[i + 1].cls == N_LETTER ||
			        it[i + 1].cls == N_DIGIT))
				it[i].flags |= ITEM_ACCEPTED;
		} else if (i + 1 < cnt && normalize_wordish(&it[i + 1]))
			it[i].flags |= ITEM_ACCEPTED;
	}
	for (i = 0; i < cnt; i++) {
		if (it[i].cls == N_LEET && !(it[i].flags & ITEM_ACCEPTED))
			it[i].cls = N_SEP;
	}
}

/* Split items into tokens: runs of word items, and single symbols. */
static void
normalize_tokenize(struct norm *n)
{
	struct norm_tok *tok;
	size_t i = 0, j;

	while (i < n->nitems) {
		if (!normalize_wordish(&n->items[i]) &&
		    n->items[i].cls != N_SYMBOL) {
			i++;
			continue;
		}
		j = i;
		if (n->items[i].cls != N_SYMBOL) {
			while (j + 1 < n->nitems &&
			    normalize_wordish(&n->items[j + 1]))
				j++;
		}
		if (n->ntoks == n->captoks) {
			n->captoks = n->captoks == 0 ? 64 : n->captoks * 2;
			n->toks =
			    xreallocarray(n->toks, n->captoks, sizeof *n->toks);
		}
		tok = &n->toks[n->ntoks++];
		tok->first = (uint32_t)i;
		tok->last = (uint32_t)j;
		tok->kind = n->items[i].cls == N_SYMBOL ? TOK_SYMBOL : TOK_WORD;
		tok->single = i == j && n->items[i].cls != N_SYMBOL &&
		    n->items[i].cls != N_MARK;
		i = j + 1;
	}
	for (i = 0; i < n->ntoks; i++)
		normalize_classify(n, &n->toks[i]);
}

/* Tell whether the items between two tokens may separate spread letters. */
static int
normalize_gap_ok(const struct norm *n, uint32_t from, uint32_t to)
{
	uint32_t i;

	if (to - from > NORM_SPREAD_GAP)
		return (0);
	for (i = from; i < to; i++) {
		if (n->items[i].cls != N_SEP)
			return (0);
	}
	return (1);
}

/*
 * Join runs of three or more single letters separated by a few spaces or
 * punctuation (f u c k, f.u.c.k, s*h*1*t) into one word; runs without two
 * real letters (4.5.5) are numbers and stay apart.
 */
static void
normalize_join_spread(struct norm *n)
{
	size_t i = 0, j, out = 0, letters;
	struct norm_tok *t = n->toks;

	while (i < n->ntoks) {
		j = i;
		letters = t[i].single && n->items[t[i].first].cls == N_LETTER;
		while (t[i].single && j + 1 < n->ntoks && t[j + 1].single &&
		    normalize_gap_ok(n, t[j].last + 1, t[j + 1].first)) {
			j++;
			letters += n->items[t[j].first].cls == N_LETTER;
		}
		if (j - i + 1 >= 3 && letters >= 2) {
			t[out] = t[i];
			t[out].last = t[j].last;
			t[out].single = 0;
			normalize_classify(n, &t[out]);
			out++;
		} else {
			memmove(&t[out], &t[i], (j - i + 1) * sizeof *t);
			out += j - i + 1;
		}
		i = j + 1;
	}
	n->ntoks = out;
}

/* Map a leetspeak character to its letter, or 0. */
static uint32_t
normalize_leet(uint32_t cp)
{
	switch (cp) {
	case '4':
	case '@':
		return ('a');
	case '3':
		return ('e');
	case '1':
	case '!':
		return ('i');
	case '0':
		return ('o');
	case '5':
	case '$':
		return ('s');
	case '7':
		return ('t');
	default:
		return (0);
	}
}

/*
 * Tell whether a token is digits followed by a unit or ordinal suffix
 * (45s, 1990s, 4th, 7pm), which is a number, never leetspeak.
 */
static int
normalize_unit_suffix(const struct norm *n, const struct norm_tok *tok)
{
	static const char *const suffix[] = {"s", "st", "nd", "rd", "th", "am",
	    "pm", "k", "m", "g", "h", "x", "d", "mm", "cm", "km", "kg", "mb",
	    "gb", "kb", "ms", "mph", "yo", "yr", "yrs", "hr", "hrs", "min",
	    "mins", "sec", "secs", "p", "fps", "lbs"};
	char buf[8];
	uint32_t i = tok->first;
	size_t k = 0, s;

	while (i <= tok->last && n->items[i].cls == N_DIGIT)
		i++;
	for (; i <= tok->last; i++) {
		if (n->items[i].cls != N_LETTER || n->items[i].cp >= 0x80 ||
		    k == sizeof buf - 1)
			return (0);
		buf[k++] = (char)n->items[i].cp;
	}
	buf[k] = '\0';
	for (s = 0; s < sizeof suffix / sizeof suffix[0]; s++) {
		if (strcmp(buf, suffix[s]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Decide whether a token is a word whose digits and symbols are leetspeak
 * (k1ll, a$$, sh!t, 4ss), a word with real digits (covid19), or a number.
 */
static void
normalize_classify(struct norm *n, struct norm_tok *tok)
{
	size_t letters = 0, digits = 0, nonleet = 0;
	uint32_t i;
	const struct norm_item *it;

	if (tok->kind == TOK_SYMBOL)
		return;
	for (i = tok->first; i <= tok->last; i++) {
		it = &n->items[i];
		if (it->cls == N_LETTER)
			letters++;
		else if (it->cls == N_DIGIT) {
			digits++;
			if (it->flags & ITEM_NONLEET)
				nonleet++;
		}
	}
	if (letters == 0)
		tok->kind = TOK_NUMBER;
	else if (nonleet > 0)
		tok->kind = TOK_PLAIN;
	else if (n->items[tok->first].cls == N_DIGIT &&
	    (letters <= digits || normalize_unit_suffix(n, tok)))
		tok->kind = TOK_PLAIN;
	else
		tok->kind = TOK_WORD;
}

/* Collect the code points a token contributes, with their sources. */
static size_t
normalize_token_chars(struct norm *n, const struct norm_tok *tok)
{
	const struct norm_item *it;
	size_t cnt = 0, need = tok->last - tok->first + 1;
	uint32_t i, cp;

	if (need > n->capchars) {
		n->capchars = need * 2;
		n->chars =
		    xreallocarray(n->chars, n->capchars, sizeof(uint32_t));
		n->cs = xreallocarray(n->cs, n->capchars, sizeof(uint32_t));
		n->ce = xreallocarray(n->ce, n->capchars, sizeof(uint32_t));
	}
	for (i = tok->first; i <= tok->last; i++) {
		it = &n->items[i];
		cp = it->cp;
		if (it->cls == N_SEP || it->cls == N_BREAK)
			continue;
		if (it->cls == N_LEET ||
		    (it->cls == N_DIGIT && tok->kind == TOK_WORD)) {
			if (tok->kind != TOK_WORD)
				continue;
			cp = normalize_leet(cp);
		}
		n->chars[cnt] = cp;
		n->cs[cnt] = it->s;
		n->ce[cnt] = it->e;
		cnt++;
	}
	return (cnt);
}

/*
 * Write every token into form[f], collapsing runs of three or more of one
 * letter to f + 1 letters.  Returns 1 if any run was collapsed.
 */
static int
normalize_emit(struct norm *n, int f)
{
	struct norm_out *o = &n->form[f];
	size_t t, i, j, k, cnt, keep;
	uint32_t s;
	int collapsed = 0;

	o->len = 0;
	normalize_out_put(o, ' ', 0, 0);
	for (t = 0; t < n->ntoks; t++) {
		cnt = normalize_token_chars(n, &n->toks[t]);
		if (cnt == 0)
			continue;
		for (i = 0; i < cnt; i = j) {
			for (j = i + 1; j < cnt && n->chars[j] == n->chars[i];
			     j++)
				;
			keep = j - i;
			if (keep < 3 ||
			    (n->chars[i] >= '0' && n->chars[i] <= '9')) {
				for (k = i; k < j; k++)
					normalize_out_put(
					    o, n->chars[k], n->cs[k], n->ce[k]);
				continue;
			}
			collapsed = 1;
			for (k = 0; k <= (size_t)f; k++)
				normalize_out_put(
				    o, n->chars[i], n->cs[i], n->ce[j - 1]);
		}
		s = n->ce[cnt - 1];
		normalize_out_put(o, ' ', s, s);
	}
	return (collapsed);
}

/* Append one code point, UTF-8 encoded, with its source range. */
static void
normalize_out_put(struct norm_out *o, uint32_t cp, uint32_t s, uint32_t e)
{
	utf8proc_uint8_t enc[4];
	utf8proc_ssize_t m, k;

	if (o->len + 4 > o->cap) {
		o->cap = o->cap == 0 ? 256 : o->cap * 2;
		o->buf = xreallocarray(o->buf, o->cap, 1);
		o->src_start =
		    xreallocarray(o->src_start, o->cap, sizeof(uint32_t));
		o->src_end =
		    xreallocarray(o->src_end, o->cap, sizeof(uint32_t));
	}
	if (cp < 0x80) {
		o->buf[o->len] = (char)cp;
		o->src_start[o->len] = s;
		o->src_end[o->len] = e;
		o->len++;
		return;
	}
	m = utf8proc_encode_char((utf8proc_int32_t)cp, enc);
	for (k = 0; k < m; k++) {
		o->buf[o->len] = (char)enc[k];
		o->src_start[o->len] = s;
		o->src_end[o->len] = e;
		o->len++;
	}
}
