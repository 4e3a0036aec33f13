/*
 * normalize.c -- turns comment text (and every rule entry, through the same
 * code) into the match buffer: lower-case tokens separated by one space, with
 * evasions undone.  Each output byte remembers the input bytes it came from,
 * so a match can be shown to a moderator as the author typed it.
 *
 * The steps, in order:
 *  - HTML as a browser renders it, unless plain is set: tags of HTML
 *    elements dropped (a block element's tag separates words, any other
 *    joins them), character references decoded (named, numeric, and the
 *    legacy forms without ';'); anything else tag-shaped (<fuck you>) and
 *    what an HTML comment holds stay text.  With hide_markup they are
 *    dropped too, joining words, as by a browser given the raw text;
 *  - Unicode NFKD with compatibility mappings and case folding (utf8proc),
 *    default-ignorable characters removed;
 *  - combining marks removed after Latin, Greek, Cyrillic, Hebrew and Arabic
 *    letters (kept where they are vowels, as in Devanagari), except that
 *    n + tilde stays the letter ñ;
 *  - look-alike letters (confusables.c, from UTS #39): Latin-script ones
 *    (small capitals, IPA, dotless i) always become Latin; those of other
 *    scripts (Cyrillic, Greek, ...) only inside a word that also has Latin
 *    letters, so Russian stays Russian while fuсk with one Cyrillic с does
 *    not pass; enclosed and regional-indicator letters become letters;
 *  - tokens: letters, digits and the symbols @ $ ! & inside words; each
 *    Chinese or Japanese character is a token of its own (those scripts do
 *    not separate words), an emoji or a flag is a token of its own;
 *  - runs of single letters joined: three or more (f u c k, f. u. c. k),
 *    or two tight against punctuation (f.u.c.k, e.g.), never across a
 *    change of separator (a d.i.c.k stays a + dick);
 *  - leetspeak (4 @ 3 1 ! 0 $ 5 7) decoded inside words only, never in
 *    numbers, prices, versions or dates (45s, 1990s, 4.5.5, $100);
 *  - glue symbols between letters: ( ¢ + }{ € £ | for c c t h e l i-or-l
 *    (fu(k, bi+ch), and censor marks * # _ that keyword.c lets stand for
 *    one letter of an entry (f*ck, f**k); never in f(x), i++, a*b, prices
 *    or user names.  Glue and ! between letters may also join two words
 *    (kill!you), so such a text has a second reading (split_lead) with
 *    them as punctuation;
 *  - runs of three or more of one letter collapsed, in up to three forms:
 *    to one (fuuuck -> fuck), to two (assss -> ass), and vowels to one with
 *    consonants to two (aaasss -> ass); words without such runs are left
 *    alone, so boob and good never become bob and god.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "rules_int.h"
#include "ralloc.h"

enum norm_class {
	N_SEP = 0, /* space, punctuation, control */
	N_BREAK, /* line break or block tag */
	N_LETTER,
	N_DIGIT,
	N_LEET, /* @ $ ! & and glue until proven part of a word */
	N_MARK, /* combining mark kept as part of a word */
	N_SYMBOL /* emoji and other symbols: a token of its own */
};

#define ITEM_STRIPMARKS 0x01 /* marks after this letter are accents */
#define ITEM_ACCEPTED 0x02 /* N_LEET: part of a word */
#define ITEM_NONLEET 0x04 /* N_DIGIT: not one of 0 1 3 4 5 7 */
#define ITEM_LATIN 0x08 /* N_LETTER: of the Latin script */
#define ITEM_SOLO 0x10 /* N_LETTER: a word of its own (CJK) */
#define ITEM_PAIR 0x20 /* N_SYMBOL: first half of a flag */
#define ITEM_SPACE 0x40 /* N_SEP: white space */
#define ITEM_LONE 0x80 /* N_LEET: alone between separators */

/*
 * Glue: symbols that stand for letters only between letters (fu(k, bi+ch,
 * he||o, fu¢k, s}{it) or, for a currency sign, at the start of a word
 * (€lit): ( ¢ for c, € for e, £ for l, + for t, }{ for h, | for i or l;
 * and censor marks (* # _) for any one letter.  Written between letters
 * they may also join two words (kill+you, shit_happens), so a text with
 * one is read a second time with them as punctuation (split_lead).
 */
#define NORM_GLUE_RUN 3 /* glue symbols in a row standing for letters */
#define NORM_MARK '*' /* what a censor mark becomes: any one letter */
#define NORM_IL '|' /* what | becomes: i or l */

struct norm_item {
	uint32_t cp;
	uint32_t fold; /* Latin look-alike of a non-Latin letter, or 0 */
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
	uint8_t single; /* one letter, digit or symbol: may be spread */
};

/* Kinds of gap between spread letters; a run keeps to one. */
#define GAP_SPACE 0 /* white space only */
#define GAP_TIGHT 1 /* punctuation only: e.g, S/M, f.u.c.k */
#define GAP_PUNCT 2 /* punctuation and spaces: f. u. c. k. */
#define GAP_BREAK 3
#define GAP_SYMBOL 4

/* How normalize_emit() treats runs of three or more of one letter. */
#define NORM_ONE 0 /* collapse to one */
#define NORM_TWO 1 /* collapse to two */
#define NORM_MIXED 2 /* vowels to one, consonants to two */
#define NORM_KEEP 3 /* keep as written */

#define NORM_DECOMP_MAX 32 /* longest NFKD + casefold expansion is 18 */
#define NORM_TAG_MAX 1024 /* bytes scanned for the end of an HTML tag */
#define NORM_COMMENT_MAX 4096 /* bytes scanned for the end of a comment */
#define NORM_ENTITY_MAX 40 /* bytes of an HTML entity name */
#define NORM_NAME_MAX 10 /* bytes of the longest element name */
#define NORM_SPREAD_GAP 3 /* separators allowed between spread letters */

/* A half-open range of code points, [lo, hi). */
struct norm_range {
	uint32_t lo;
	uint32_t hi;
};

/* Whether cp is in one of the ranges of the table r. */
#define NORM_IN(cp, r) normalize_in((cp), (r), sizeof(r) / sizeof((r)[0]))

/* Letters after which marks are accents to drop. */
static const struct norm_range normalize_strips_marks[] = {
    {0x0000, 0x0900}, /* Latin to Arabic, Syriac, Thaana, NKo */
    {0x1d00, 0x2000}, /* phonetic, Latin/Greek extended */
    {0x2c60, 0x2c80}, /* Latin Extended-C */
    {0xa720, 0xa800}, /* Latin Extended-D */
    {0xab30, 0xab70}, /* Latin Extended-E */
    {0xfb00, 0xff00}, /* presentation forms */
};

/* Letters of the Latin script (IPA, small caps too). */
static const struct norm_range normalize_latin_script[] = {
    {0x00c0, 0x0250}, /* Latin-1 letters, Latin Extended-A and -B */
    {0x0250, 0x02b0}, /* IPA */
    {0x1d00, 0x1dc0}, /* phonetic extensions */
    {0x1e00, 0x1f00}, /* Latin Extended Additional */
    {0x2c60, 0x2c80}, /* Latin Extended-C */
    {0xa720, 0xa800}, /* Latin Extended-D */
    {0xab30, 0xab70}, /* Latin Extended-E */
};

/*
 * Letters never folded to a Latin look-alike.  Readers of these scripts
 * (Hebrew, Arabic, Indic, Thai, ...) never mistake them for Latin, so words
 * in them are matched as written.
 */
static const struct norm_range normalize_unfoldable[] = {
    {0x0590, 0x1000}, /* Hebrew to Tibetan */
    {0xfb1d, 0xfe00}, /* Hebrew and Arabic presentation forms */
    {0xfe70, 0xff00}, /* Arabic presentation forms-B */
    {0x2d30, 0x2d80}, /* Tifinagh */
};

/*
 * Chinese characters: each a word of its own, since Chinese and Japanese
 * put no spaces between words.  Kana runs stay words, so Japanese
 * inflections keep their meaning (死ね is not まだ死ねない).
 */
static const struct norm_range normalize_solo[] = {
    {0x3400, 0x4dc0}, /* CJK Extension A */
    {0x4e00, 0xa000}, /* CJK Unified Ideographs */
    {0xf900, 0xfb00}, /* CJK Compatibility Ideographs */
    {0x20000, 0x30000}, /* plane 2, the ideographic supplement */
};

static void normalize_push(
    struct norm *, uint32_t, uint8_t, uint32_t, uint32_t);
static void normalize_ascii(struct norm *, unsigned char, uint32_t, uint32_t);
static void normalize_cp(struct norm *, uint32_t, uint32_t, uint32_t);
static int normalize_special(struct norm *, uint32_t, uint32_t, uint32_t);
static void normalize_decomposed(struct norm *, uint32_t, uint32_t, uint32_t);
static void normalize_letter(struct norm *, uint32_t, uint32_t, uint32_t);
static void normalize_mark(struct norm *, uint32_t, uint32_t, uint32_t);
static int normalize_in(uint32_t, const struct norm_range *, size_t);
static uint32_t normalize_arabic(uint32_t);
static size_t normalize_tag(struct norm *, const char *, size_t, size_t);
static size_t normalize_tag_end(const char *, size_t, size_t, size_t *);
static size_t normalize_comment(struct norm *, const char *, size_t, size_t);
static size_t normalize_entity(struct norm *, const char *, size_t, size_t);
static size_t normalize_numeric(struct norm *, const char *, size_t, size_t);
static void normalize_decode(struct norm *, const char *, size_t);
static void normalize_flags(struct norm *);
static int normalize_wordish(const struct norm_item *);
static int normalize_sepish(const struct norm *, size_t);
static void normalize_accept_leet(struct norm *);
static void normalize_tokenize(struct norm *);
static struct norm_tok *normalize_new_tok(struct norm *);
static int normalize_gap(const struct norm *, uint32_t, uint32_t);
static void normalize_join_spread(struct norm *);
static void normalize_classify(struct norm *, struct norm_tok *);
static int normalize_all_leet(const struct norm *, const struct norm_tok *);
static int normalize_price(const struct norm *, size_t, size_t);
static int normalize_disguise(uint32_t);
static void normalize_fold(struct norm *, const struct norm_tok *);
static int normalize_unit_suffix(const struct norm *, const struct norm_tok *);
static uint32_t normalize_leet(uint32_t);
static int normalize_glue(uint32_t);
static int normalize_inner(const struct norm_item *);
static int normalize_glue_ok(const struct norm *, size_t, size_t);
static int normalize_glue_at(const struct norm *, size_t);
static int normalize_handle(const struct norm *, size_t);
static int normalize_spread_glue(const struct norm *, size_t, size_t);
static size_t normalize_accept_glue(struct norm *, size_t);
static int normalize_counted(uint32_t);
static size_t normalize_token_chars(struct norm *, const struct norm_tok *);
static int normalize_vowel(uint32_t);
static int normalize_emit(struct norm *, int, int);
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
	for (i = 0; i < 4; i++) {
		free(n->form[i].buf);
		free(n->form[i].src_start);
		free(n->form[i].src_end);
	}
	memset(n, 0, sizeof *n);
}

/*
 * Normalise len bytes of text into n->form[0 .. n->nforms - 1].  Without
 * runs of three or more of one letter there is one form; with them, the
 * runs collapsed to one letter, to two, (vowels to one and consonants to
 * two when the text has runs of both,) and the text as written.  With
 * keep_runs set (rule entries) there is always one form, as written.
 * Invalid UTF-8 bytes count as separators, so any input is accepted.
 * hideable says whether the text holds what a browser would hide but this
 * reading shows (normalize_tag()); hide_markup gives the other reading.
 */
void
normalize_text(struct norm *n, const char *text, size_t len)
{
	int collapsed;

	n->nitems = n->ntoks = 0;
	n->ambiguous = n->hideable = 0;
	normalize_decode(n, text, len);
	normalize_flags(n);
	normalize_accept_leet(n);
	normalize_tokenize(n);
	normalize_join_spread(n);
	n->nforms = 1;
	if (n->keep_runs) {
		normalize_emit(n, 0, NORM_KEEP);
		return;
	}
	collapsed = normalize_emit(n, 0, NORM_ONE);
	if (collapsed == 0)
		return;
	normalize_emit(n, n->nforms++, NORM_TWO);
	if (collapsed == 3)
		normalize_emit(n, n->nforms++, NORM_MIXED);
	normalize_emit(n, n->nforms++, NORM_KEEP);
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
	it->fold = 0;
	it->cls = cls;
	it->s = s;
	it->e = e;
	it->flags = 0;
}

/* Classify one ASCII character. */
static void
normalize_ascii(struct norm *n, unsigned char ch, uint32_t s, uint32_t e)
{
	if (ch >= 'A' && ch <= 'Z')
		ch = ch - 'A' + 'a';
	if (ch >= 'a' && ch <= 'z') {
		normalize_push(n, ch, N_LETTER, s, e);
		n->items[n->nitems - 1].flags = ITEM_STRIPMARKS | ITEM_LATIN;
	} else if (ch >= '0' && ch <= '9') {
		normalize_push(n, ch, N_DIGIT, s, e);
		if (normalize_leet(ch) == 0)
			n->items[n->nitems - 1].flags = ITEM_NONLEET;
	} else if (ch == ' ' || ch == '\t') {
		normalize_push(n, ch, N_SEP, s, e);
		n->items[n->nitems - 1].flags = ITEM_SPACE;
	} else if (ch == '@' || ch == '$' || ch == '!' || ch == '&' ||
	    (normalize_glue(ch) && ch != '}')) /* }{ is normalize_decode's */
		normalize_push(n, ch, N_LEET, s, e);
	else if (ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v')
		normalize_push(n, ch, N_BREAK, s, e);
	else
		normalize_push(n, ch, N_SEP, s, e);
}

/*
 * Handle code points that decomposition would get wrong for matching:
 * enclosed letters (🅵 🄵 🅕) become letters, regional indicators wait to
 * be paired into flags.  Returns 1 when it has handled cp.
 */
static int
normalize_special(struct norm *n, uint32_t cp, uint32_t s, uint32_t e)
{
	uint32_t letter = 0;

	if (cp >= 0x1f130 && cp <= 0x1f149) /* squared */
		letter = 'a' + cp - 0x1f130;
	else if (cp >= 0x1f150 && cp <= 0x1f169) /* negative circled */
		letter = 'a' + cp - 0x1f150;
	else if (cp >= 0x1f170 && cp <= 0x1f189) /* negative squared */
		letter = 'a' + cp - 0x1f170;
	else if (cp >= 0x1f1e6 && cp <= 0x1f1ff) { /* regional indicator */
		normalize_push(n, cp, N_SYMBOL, s, e);
		return (1);
	} else
		return (0);
	normalize_push(n, letter, N_LETTER, s, e);
	n->items[n->nitems - 1].flags = ITEM_STRIPMARKS | ITEM_LATIN;
	return (1);
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
	if (normalize_special(n, cp, s, e))
		return;
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
	struct norm_item *prev;

	if (cp < 0x80) {
		normalize_ascii(n, (unsigned char)cp, s, e);
		return;
	}
	if (normalize_glue(cp)) { /* ¢ £ € */
		normalize_push(n, cp, N_LEET, s, e);
		return;
	}
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		normalize_letter(n, cp, s, e);
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
		if (cp >= 0x1f3fb && cp <= 0x1f3ff) { /* skin tones */
			prev = n->nitems > 0 ? &n->items[n->nitems - 1] : NULL;
			if (prev != NULL && prev->cls == N_SYMBOL &&
			    e > prev->e)
				prev->e = e;
			return;
		}
		break;
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		normalize_push(n, cp, N_BREAK, s, e);
		return;
	case UTF8PROC_CATEGORY_ZS:
		normalize_push(n, cp, N_SEP, s, e);
		n->items[n->nitems - 1].flags = ITEM_SPACE;
		return;
	default:
		break;
	}
	normalize_push(n, cp, cp == 0x85 ? N_BREAK : N_SEP, s, e);
}

/*
 * Classify a letter: Latin-script look-alikes become Latin now, those of
 * other scripts are remembered in fold and applied per word later.
 */
static void
normalize_letter(struct norm *n, uint32_t cp, uint32_t s, uint32_t e)
{
	struct norm_item *it;
	uint32_t latin;

	if (cp == 0x0640) /* Arabic tatweel only stretches a word */
		return;
	cp = normalize_arabic(cp);
	latin = NORM_IN(cp, normalize_unfoldable) ? 0 : confusables_latin(cp);
	if (latin != 0 && NORM_IN(cp, normalize_latin_script)) {
		cp = latin;
		latin = 0;
	}
	normalize_push(n, cp, N_LETTER, s, e);
	it = &n->items[n->nitems - 1];
	it->fold = latin;
	if (NORM_IN(cp, normalize_strips_marks))
		it->flags |= ITEM_STRIPMARKS;
	if (cp < 0x80 || NORM_IN(cp, normalize_latin_script))
		it->flags |= ITEM_LATIN;
	if (NORM_IN(cp, normalize_solo))
		it->flags |= ITEM_SOLO;
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

	if (n->nitems == 0)
		return;
	prev = &n->items[n->nitems - 1];
	if (prev->cls != N_LETTER && prev->cls != N_MARK &&
	    prev->cls != N_DIGIT && prev->cls != N_SYMBOL)
		return;
	if ((prev->cls == N_LETTER && (prev->flags & ITEM_STRIPMARKS)) ||
	    prev->cls == N_DIGIT || prev->cls == N_SYMBOL) {
		if (prev->cls == N_LETTER && prev->cp == 'n' && cp == 0x0303)
			prev->cp = 0x00f1;
		if (e > prev->e)
			prev->e = e;
		return;
	}
	normalize_push(n, cp, N_MARK, s, e);
}

/* Tell whether cp falls in one of the n ranges of r; see NORM_IN(). */
static int
normalize_in(uint32_t cp, const struct norm_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (cp >= r[i].lo && cp < r[i].hi)
			return (1);
	}
	return (0);
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
		return (0x06c1);
	case 0x0622: /* alef with madda, hamza above, hamza below */
	case 0x0623:
	case 0x0625:
		return (0x0627);
	default:
		return (cp);
	}
}

#include "elements.inc" /* norm_elements[]: the HTML elements, sorted */

/*
 * Tell whether the tag whose name starts at s, len bytes before its '>',
 * names an HTML element: the name, in any case, then white space, '/' or
 * the '>' (so <b>, <B class="x">, <br/>, but not <bx> or <b-x>).  *block
 * says whether the element renders as a line break.
 */
int
normalize_element(const char *s, size_t len, int *block)
{
	char name[NORM_NAME_MAX + 1];
	size_t k, lo = 0, hi, mid;
	int cmp;

	for (k = 0; k < len && k < NORM_NAME_MAX &&
	     ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
	         (s[k] >= '0' && s[k] <= '9'));
	     k++)
		name[k] = (char)(s[k] | 0x20);
	if (k < len && (s[k] == '\0' || strchr(" \t\n\r\f/", s[k]) == NULL))
		return (0);
	name[k] = '\0';
	hi = sizeof norm_elements / sizeof norm_elements[0];
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((cmp = strcmp(name, norm_elements[mid].name)) == 0) {
			*block = norm_elements[mid].block;
			return (1);
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (0);
}

/*
 * Walk a tag from t[j], just after its name's first letter, to lim: skip
 * quoted attribute values (they may hold '>'), and stop at a '>' or a
 * '<' outside quotes.  Returns the offset it stopped at, or lim.
 */
size_t
normalize_tag_scan(const char *t, size_t j, size_t lim)
{
	char quote = 0;

	for (; j < lim; j++) {
		if (quote != 0) {
			if (t[j] == quote)
				quote = 0;
		} else if (t[j] == '"' || t[j] == '\'')
			quote = t[j];
		else if (t[j] == '>' || t[j] == '<')
			break;
	}
	return (j);
}

/*
 * Find the end of a tag-shaped run at t[i] == '<': an optional '/', '!' or
 * '?', a letter (its offset goes to *name), then anything up to a '>'
 * outside quotes, within NORM_TAG_MAX bytes and with no other '<' (quoted
 * attribute values may hold '>').  Returns the offset of the '>', or 0.
 */
static size_t
normalize_tag_end(const char *t, size_t len, size_t i, size_t *name)
{
	size_t j = i + 1, lim;

	if (j < len && (t[j] == '/' || t[j] == '!' || t[j] == '?'))
		j++;
	if (j >= len ||
	    !((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z')))
		return (0);
	*name = j;
	lim = len - i < NORM_TAG_MAX ? len : i + NORM_TAG_MAX;
	j = normalize_tag_scan(t, j, lim);
	if (j >= lim || t[j] != '>')
		return (0);
	return (j);
}

/*
 * Handle '<' at offset i.  Only a start or end tag of an HTML element is
 * markup (normalize_element()): it renders as nothing, or as a line break
 * for a block element.  Anything else tag-shaped (<fuck you>, <x>, <?..>,
 * <!..>) is text, as a site that escapes what is not markup shows it.  A
 * browser given the raw text would hide it instead, so it sets n->hideable
 * and, with n->hide_markup, renders as nothing, joining the letters around
 * it.  Returns the bytes consumed, or 0 when this '<' is text.
 */
static size_t
normalize_tag(struct norm *n, const char *t, size_t len, size_t i)
{
	size_t end, name;
	int block;

	if (len - i >= 4 && memcmp(t + i, "<!--", 4) == 0)
		return (normalize_comment(n, t, len, i));
	if ((end = normalize_tag_end(t, len, i, &name)) == 0)
		return (0);
	if (t[i + 1] != '!' && t[i + 1] != '?' &&
	    normalize_element(t + name, end - name, &block)) {
		if (block)
			normalize_push(
			    n, '\n', N_BREAK, (uint32_t)i, (uint32_t)end + 1);
		return (end - i + 1);
	}
	n->hideable = 1;
	return (n->hide_markup ? end - i + 1 : 0);
}

/*
 * Handle "<!--" at offset i.  What an HTML comment holds is judged like
 * any text, since a reader may be shown it and nothing may hide there; the
 * "<!--" is a separator.  With n->hide_markup a comment ended within
 * NORM_COMMENT_MAX bytes renders as nothing, joining the letters around it,
 * as in a browser.  Returns the bytes consumed.
 */
static size_t
normalize_comment(struct norm *n, const char *t, size_t len, size_t i)
{
	size_t lim = len - i < NORM_COMMENT_MAX ? len - i : NORM_COMMENT_MAX;
	const char *end;

	end = memmem(t + i + 4, lim - 4, "-->", 3);
	if (end != NULL) {
		n->hideable = 1;
		if (n->hide_markup)
			return ((size_t)(end - (t + i)) + 3);
	}
	normalize_push(n, '-', N_SEP, (uint32_t)i, (uint32_t)i + 4);
	return (4);
}

/*
 * Read the numeric character reference "&#..." at t[i]: decimal or hex,
 * any number of leading zeros, ';' optional as browsers accept; what no
 * character may be (0, a surrogate, past U+10FFFF) reads as U+FFFD.
 * Returns the bytes it takes, or 0 when no digit follows.  links.c reads
 * references the same way.
 */
size_t
normalize_numeric_ref(const char *t, size_t len, size_t i, uint32_t *cpp)
{
	size_t k = i + 2, start, sig = 0;
	uint32_t cp = 0;
	int base = 10, digit;

	if (k < len && (t[k] == 'x' || t[k] == 'X')) {
		base = 16;
		k++;
	}
	for (start = k; k < len; k++) {
		if (t[k] >= '0' && t[k] <= '9')
			digit = t[k] - '0';
		else if (base == 16 && (t[k] | 0x20) >= 'a' &&
		    (t[k] | 0x20) <= 'f')
			digit = (t[k] | 0x20) - 'a' + 10;
		else
			break;
		if (cp == 0 && digit == 0)
			continue;
		if (++sig <= 8)
			cp = cp * (uint32_t)base + (uint32_t)digit;
	}
	if (k == start)
		return (0);
	if (sig > 8 || cp == 0 || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp < 0xe000))
		cp = 0xfffd;
	if (k < len && t[k] == ';')
		k++;
	*cpp = cp;
	return (k - i);
}

/* Handle "&#..." at offset i (see normalize_numeric_ref()). */
static size_t
normalize_numeric(struct norm *n, const char *t, size_t len, size_t i)
{
	uint32_t cp;
	size_t used;

	if ((used = normalize_numeric_ref(t, len, i, &cp)) != 0)
		normalize_cp(n, cp, (uint32_t)i, (uint32_t)(i + used));
	return (used);
}

/*
 * Handle '&' at offset i: a named character reference ending in ';', a
 * legacy one without it (&amp &lt &gt &quot &nbsp), or a numeric one.
 * Returns the bytes consumed, or 0 when it is just '&'.
 */
static size_t
normalize_entity(struct norm *n, const char *t, size_t len, size_t i)
{
	static const char *const legacy[] = {
	    "amp", "AMP", "lt", "LT", "gt", "GT", "quot", "QUOT", "nbsp"};
	uint32_t cps[2];
	size_t j, k, lim, ln;
	int ncp;

	if (i + 1 < len && t[i + 1] == '#')
		return (normalize_numeric(n, t, len, i));
	lim = len - i < NORM_ENTITY_MAX ? len - i : NORM_ENTITY_MAX;
	for (j = i + 1;
	     j < i + lim && t[j] != ';' && t[j] != '&' && t[j] != ' '; j++)
		;
	if (j < i + lim && t[j] == ';' && j > i + 1 &&
	    (ncp = entities_lookup(t + i + 1, j - i - 1, cps)) != 0) {
		for (k = 0; k < (size_t)ncp; k++)
			normalize_cp(n, cps[k], (uint32_t)i, (uint32_t)j + 1);
		return (j - i + 1);
	}
	for (k = 0; k < sizeof legacy / sizeof legacy[0]; k++) {
		ln = strlen(legacy[k]);
		if (len - i - 1 >= ln &&
		    memcmp(t + i + 1, legacy[k], ln) == 0 &&
		    entities_lookup(legacy[k], ln, cps) == 1) {
			normalize_cp(
			    n, cps[0], (uint32_t)i, (uint32_t)(i + 1 + ln));
			return (ln + 1);
		}
	}
	return (0);
}

/*
 * Decode the input into classified items; in plain text '<' and '&' are
 * characters like any other, since the text is shown as sent.
 */
static void
normalize_decode(struct norm *n, const char *t, size_t len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t m;
	size_t i = 0, used;
	unsigned char ch;

	while (i < len) {
		ch = (unsigned char)t[i];
		if (ch == '<' && !n->plain &&
		    (used = normalize_tag(n, t, len, i)) != 0) {
			i += used;
			continue;
		}
		if (ch == '&' && !n->plain &&
		    (used = normalize_entity(n, t, len, i)) != 0) {
			i += used;
			continue;
		}
		if (ch == '}' && i + 1 < len && t[i + 1] == '{') { /* }{ is h */
			normalize_push(
			    n, '}', N_LEET, (uint32_t)i, (uint32_t)i + 2);
			i += 2;
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

/*
 * Pair regional indicators left to right into flags; one left alone is
 * the letter it shows (🇫 🇺 spelled apart).
 */
static void
normalize_flags(struct norm *n)
{
	struct norm_item *it = n->items;
	size_t i;

	for (i = 0; i < n->nitems; i++) {
		if (it[i].cls != N_SYMBOL || it[i].cp < 0x1f1e6 ||
		    it[i].cp > 0x1f1ff)
			continue;
		if (i + 1 < n->nitems && it[i + 1].cls == N_SYMBOL &&
		    it[i + 1].cp >= 0x1f1e6 && it[i + 1].cp <= 0x1f1ff) {
			it[i].flags |= ITEM_PAIR;
			i++;
			continue;
		}
		it[i].cp = 'a' + it[i].cp - 0x1f1e6;
		it[i].cls = N_LETTER;
		it[i].flags = ITEM_STRIPMARKS | ITEM_LATIN;
	}
}

/* Tell whether an item can stand next to a leetspeak symbol in a word. */
static int
normalize_wordish(const struct norm_item *it)
{
	return ((it->cls == N_LETTER && !(it->flags & ITEM_SOLO)) ||
	    it->cls == N_DIGIT || it->cls == N_MARK ||
	    (it->cls == N_LEET && (it->flags & ITEM_ACCEPTED)));
}

/* Tell whether item i is a separator or the edge of the text. */
static int
normalize_sepish(const struct norm *n, size_t i)
{
	return (i >= n->nitems || n->items[i].cls == N_SEP ||
	    n->items[i].cls == N_BREAK);
}

/*
 * Decide which @ $ ! & belong to words: @ and $ next to a letter or digit
 * (@ss, a$$, $hit), a run of ! between a letter and a letter or digit
 * (sh!t, sh!!!t, never shit!), & between two letters (s&m, AT&T).  One
 * standing alone between separators may still be a spread letter
 * ($ h i t); the rest become separators.
 */
static void
normalize_accept_leet(struct norm *n)
{
	struct norm_item *it = n->items;
	size_t i, j, cnt = n->nitems;

	for (i = 0; i < cnt; i = j + 1) { /* @$$, 4$$: words of symbols */
		size_t syms = 0, at = 0;

		for (j = i; j < cnt &&
		     ((it[j].cls == N_LEET &&
		          (it[j].cp == '@' || it[j].cp == '$')) ||
		         it[j].cls == N_DIGIT);
		     j++) {
			syms += it[j].cls == N_LEET;
			at += it[j].cls == N_LEET && it[j].cp == '@';
		}
		if (j - i >= 2 && (syms >= 2 || at > 0) &&
		    !normalize_price(n, i, j))
			for (; i < j; i++)
				if (it[i].cls == N_LEET)
					it[i].flags |= ITEM_ACCEPTED;
	}
	for (i = 0; i < cnt; i++) {
		if (it[i].cls != N_LEET || it[i].cp == '!' || it[i].cp == '&' ||
		    normalize_glue(it[i].cp))
			continue;
		if (i > 0 && normalize_wordish(&it[i - 1]))
			it[i].flags |= ITEM_ACCEPTED;
	}
	for (i = cnt; i-- > 0;) {
		if (it[i].cls != N_LEET || it[i].cp == '!' || it[i].cp == '&' ||
		    normalize_glue(it[i].cp))
			continue;
		if (i + 1 < cnt && normalize_wordish(&it[i + 1]))
			it[i].flags |= ITEM_ACCEPTED;
	}
	for (i = 0; i < cnt; i++) {
		if (it[i].cls != N_LEET || (it[i].flags & ITEM_ACCEPTED))
			continue;
		if (normalize_glue(it[i].cp)) {
			i = normalize_accept_glue(n, i);
			continue;
		}
		for (j = i; it[i].cp == '!' && j + 1 < cnt &&
		     it[j + 1].cls == N_LEET && it[j + 1].cp == '!';
		     j++)
			;
		if (i > 0 && j + 1 < cnt && it[i - 1].cls == N_LETTER &&
		    !(it[i - 1].flags & ITEM_SOLO) &&
		    (it[j + 1].cls == N_LETTER ||
		        (it[i].cp == '!' && it[j + 1].cls == N_DIGIT)) &&
		    (it[i].cp == '!' || (it[i].cp == '&' && j == i))) {
			if (it[i].cp == '!') /* sh!t, or kill!you */
				n->ambiguous = 1;
			for (; i <= j; i++) {
				if (it[i].cp == '!' && n->split_lead)
					it[i].cls = N_SEP;
				else
					it[i].flags |= ITEM_ACCEPTED;
			}
			i = j;
			continue;
		}
		if (i == j && normalize_sepish(n, i + 1) &&
		    (i == 0 || normalize_sepish(n, i - 1)))
			it[i].flags |= ITEM_LONE;
		else
			for (; i <= j; i++)
				it[i].cls = N_SEP;
		i = i > j ? j : i;
	}
}

/* Tell whether a symbol is glue: it stands for letters only in a word. */
static int
normalize_glue(uint32_t cp)
{
	switch (cp) {
	case '(':
	case '+':
	case '|':
	case '}': /* "}{", one item */
	case '*':
	case '#':
	case '_':
	case 0x00a2: /* ¢ */
	case 0x00a3: /* £ */
	case 0x20ac: /* € */
		return (1);
	default:
		return (0);
	}
}

/* Tell whether an item is a letter that may hold glue inside a word. */
static int
normalize_inner(const struct norm_item *it)
{
	return (it->cls == N_LETTER && !(it->flags & ITEM_SOLO));
}

/* Tell whether item k is a glue symbol, taken or not. */
static int
normalize_glue_at(const struct norm *n, size_t k)
{
	return (k < n->nitems &&
	    (n->items[k].cls == N_LEET || n->items[k].cls == N_SEP) &&
	    normalize_glue(n->items[k].cp));
}

/*
 * Tell whether item i is inside a user name or a hashtag (@big_fan,
 * #no_way): letters, digits and _ back to an @ or # that starts them.
 * There _ joins names, never censors a word.
 */
static int
normalize_handle(const struct norm *n, size_t i)
{
	const struct norm_item *it = n->items;

	while (i-- > 0) {
		if (it[i].cp == '@' || it[i].cp == '#')
			return (it[i].cls == N_LEET || it[i].cls == N_SEP);
		if (it[i].cls != N_LETTER && it[i].cls != N_DIGIT &&
		    it[i].cp != '_')
			return (0);
	}
	return (0);
}

/*
 * Tell whether the glue [i, j] between two letters spreads single letters
 * (s*h*i*t, a*b, s__h__i__t), which normalize_join_spread() joins, rather
 * than standing for letters of a word (f*ck, f**k).
 */
static int
normalize_spread_glue(const struct norm *n, size_t i, size_t j)
{
	const struct norm_item *it = n->items;

	if ((i >= 2 && normalize_inner(&it[i - 2])) ||
	    (j + 2 < n->nitems && normalize_inner(&it[j + 2])))
		return (0);
	return (i == j || (i >= 2 && normalize_glue_at(n, i - 2)) ||
	    normalize_glue_at(n, j + 2));
}

/*
 * Tell whether the glue symbols [i, j] stand for letters: a run of at most
 * NORM_GLUE_RUN between two letters (fu(k, f**k), never between single
 * letters spread apart (s*h*i*t), and never a "(" closed in the same word
 * (f(x), word(s)); or one currency sign or }{ starting a word of letters
 * (€lit, }{ate), never a price (€20, £5).
 */
static int
normalize_glue_ok(const struct norm *n, size_t i, size_t j)
{
	const struct norm_item *it = n->items;
	size_t k;

	if (j - i + 1 > NORM_GLUE_RUN || j + 1 >= n->nitems ||
	    !normalize_inner(&it[j + 1]))
		return (0);
	if (i > 0 && normalize_inner(&it[i - 1])) {
		if (normalize_spread_glue(n, i, j) ||
		    (it[i].cp == '_' && normalize_handle(n, i)))
			return (0);
		for (k = j + 1; it[i].cp == '(' && k < n->nitems &&
		     it[k].cls != N_BREAK && !(it[k].flags & ITEM_SPACE);
		     k++)
			if (it[k].cls == N_SEP && it[k].cp == ')')
				return (0);
		return (1);
	}
	return (i == j && (i == 0 || normalize_sepish(n, i - 1)) &&
	    (it[i].cp == '}' || it[i].cp >= 0x80) && j + 2 < n->nitems &&
	    normalize_inner(&it[j + 2]));
}

/*
 * Decide whether the run of glue symbols starting at item i stands for
 * letters (normalize_glue_ok()) or is a separator; returns its last item.
 * A text with glue between letters is ambiguous: the second reading
 * (split_lead) takes every glue symbol as punctuation, so kill+you and
 * shit_happens are two words there.
 */
static size_t
normalize_accept_glue(struct norm *n, size_t i)
{
	struct norm_item *it = n->items;
	size_t j = i, k;
	int inner;

	while (j + 1 < n->nitems && it[j + 1].cls == N_LEET &&
	    normalize_glue(it[j + 1].cp) &&
	    (it[j + 1].cp == it[i].cp ||
	        (normalize_leet(it[j + 1].cp) == NORM_MARK &&
	            normalize_leet(it[i].cp) == NORM_MARK)))
		j++;
	inner = i > 0 && normalize_inner(&it[i - 1]);
	if (normalize_glue_ok(n, i, j) && !(inner && n->split_lead)) {
		n->ambiguous |= inner;
		for (k = i; k <= j; k++)
			it[k].flags |= ITEM_ACCEPTED;
	} else
		for (k = i; k <= j; k++)
			it[k].cls = N_SEP;
	return (j);
}

/* Append an empty token. */
static struct norm_tok *
normalize_new_tok(struct norm *n)
{
	if (n->ntoks == n->captoks) {
		n->captoks = n->captoks == 0 ? 64 : n->captoks * 2;
		n->toks = xreallocarray(n->toks, n->captoks, sizeof *n->toks);
	}
	return (&n->toks[n->ntoks++]);
}

/*
 * Split items into tokens: runs of word items; a CJK letter with its marks;
 * a symbol (or a flag's two halves); a lone @ $ !.
 */
static void
normalize_tokenize(struct norm *n)
{
	struct norm_item *it = n->items;
	struct norm_tok *tok;
	size_t i = 0, j;
	int single;

	while (i < n->nitems) {
		j = i;
		if (it[i].cls == N_SYMBOL) {
			if ((it[i].flags & ITEM_PAIR) && i + 1 < n->nitems)
				j = i + 1;
			single = 0;
		} else if (it[i].cls == N_LETTER && (it[i].flags & ITEM_SOLO)) {
			while (j + 1 < n->nitems && it[j + 1].cls == N_MARK)
				j++;
			single = 0;
		} else if (it[i].cls == N_LEET && (it[i].flags & ITEM_LONE))
			single = 1;
		else if (normalize_wordish(&it[i])) {
			while (
			    j + 1 < n->nitems && normalize_wordish(&it[j + 1]))
				j++;
			single = i == j && it[i].cls != N_MARK;
		} else {
			i++;
			continue;
		}
		tok = normalize_new_tok(n);
		tok->first = (uint32_t)i;
		tok->last = (uint32_t)j;
		tok->kind = it[i].cls == N_SYMBOL ? TOK_SYMBOL : TOK_WORD;
		tok->single = (uint8_t)single;
		i = j + 1;
	}
	for (i = 0; i < n->ntoks; i++)
		normalize_classify(n, &n->toks[i]);
}

/*
 * Classify the items between two spread letters (a GAP_ kind), or -1 when
 * they are too many to be a spelling trick.
 */
static int
normalize_gap(const struct norm *n, uint32_t from, uint32_t to)
{
	int space = 0, punct = 0, brk = 0, sym = 0;
	uint32_t i;

	if (to - from > NORM_SPREAD_GAP || to == from)
		return (-1);
	for (i = from; i < to; i++) {
		if (n->items[i].cls == N_SYMBOL)
			sym = 1;
		else if (n->items[i].cls == N_BREAK)
			brk = 1;
		else if (n->items[i].cls != N_SEP)
			return (-1);
		else if (n->items[i].flags & ITEM_SPACE)
			space = 1;
		else
			punct = 1;
	}
	if (sym)
		return (GAP_SYMBOL);
	if (brk)
		return (GAP_BREAK);
	if (punct)
		return (space ? GAP_PUNCT : GAP_TIGHT);
	return (GAP_SPACE);
}

/*
 * Join runs of single letters that spell a word: three or more apart by
 * spaces, punctuation, line breaks or emoji (f u c k, f. u. c. k,
 * f🔥u🔥c🔥k), two or more tight against punctuation (e.g., S/M, f.u.c.k);
 * always with one kind of gap, so "a d.i.c.k" stays "a" + "dick" and
 * "a b a d idea" never reaches "bad".  Runs with fewer than two real
 * letters (4.5.5) are numbers and stay apart.
 */
static void
normalize_join_spread(struct norm *n)
{
	struct norm_tok *t = n->toks;
	size_t i = 0, j, m, out = 0, letters, count;
	int kind, g;

	while (i < n->ntoks) {
		j = i;
		kind = -1;
		count = 1;
		letters = t[i].single && n->items[t[i].first].cls == N_LETTER;
		while (t[i].single) {
			m = j + 1;
			if (m < n->ntoks && t[m].kind == TOK_SYMBOL &&
			    !(n->items[t[m].first].flags & ITEM_PAIR))
				m++; /* an emoji between letters */
			if (m >= n->ntoks || !t[m].single)
				break;
			g = normalize_gap(n, t[j].last + 1, t[m].first);
			if (g < 0 || (kind != -1 && g != kind))
				break;
			kind = g;
			j = m;
			count++;
			letters += n->items[t[j].first].cls == N_LETTER;
		}
		if (kind == GAP_SPACE && count >= 5 &&
		    n->items[t[i].first].cls == N_LETTER &&
		    (n->items[t[i].first].cp == 'a' ||
		        n->items[t[i].first].cp == 'i')) {
			/* "what a f u c k": a may be a word of its own */
			n->ambiguous = 1;
			if (n->split_lead) {
				t[out++] = t[i++];
				continue;
			}
		}
		if (letters >= 2 &&
		    (count >= 3 || (count == 2 && kind == GAP_TIGHT))) {
			t[out] = t[i];
			t[out].last = t[j].last;
			t[out].single = 0;
			t[out].kind = TOK_WORD;
			normalize_classify(n, &t[out]);
			out++;
			i = j + 1;
		} else
			t[out++] = t[i++]; /* the next letter may start a run */
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
	case '+':
		return ('t');
	case '(':
	case 0x00a2: /* ¢ */
		return ('c');
	case 0x20ac: /* € */
		return ('e');
	case 0x00a3: /* £ */
		return ('l');
	case '}': /* }{ */
		return ('h');
	case '|':
		return (NORM_IL);
	case '*':
	case '#':
	case '_':
		return (NORM_MARK);
	default:
		return (0);
	}
}

/*
 * Tell whether a token is digits followed by a unit or ordinal suffix
 * (45s, 4th, 7pm, 10k), which is a number, never leetspeak.
 */
static int
normalize_unit_suffix(const struct norm *n, const struct norm_tok *tok)
{
	static const char *const suffix[] = {"s", "st", "nd", "rd", "th", "am",
	    "pm", "k", "m", "g", "h", "x", "d", "mm", "cm", "km", "kg", "mb",
	    "gb", "kb", "ms", "mph", "yo", "yr", "yrs", "hr", "hrs", "min",
	    "mins", "sec", "secs", "p", "fps", "lbs", "ft", "in", "mg", "ml",
	    "v", "w", "kw", "hz", "mhz", "ghz"};
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
 * Tell whether a letter exists in no language a comment here is written in
 * but looks Latin: Macedonian dze (ѕ), Ukrainian i (і), Serbian je (ј),
 * shha (һ), Komi de (ԁ), qa (ԛ), we (ԝ), palochka (ӏ).  A word holding one
 * is a disguise.
 */
static int
normalize_disguise(uint32_t cp)
{
	switch (cp) {
	case 0x0455:
	case 0x0456:
	case 0x0458:
	case 0x04bb:
	case 0x04cf:
	case 0x0501:
	case 0x051b:
	case 0x051d:
		return (1);
	default:
		return (0);
	}
}

/*
 * Fold a word's non-Latin look-alikes to Latin when the word is a disguise:
 * it also has Latin letters (fuсk with a Cyrillic с), or a letter no
 * language here uses (аѕѕ), or mixes Cyrillic and Greek; or always in
 * fold_all mode (a second form of non-Latin entries).  Plain Russian or
 * Greek words stay as they are.
 */
static void
normalize_fold(struct norm *n, const struct norm_tok *tok)
{
	int disguise = n->fold_all, fold = 0, cyr = 0, greek = 0;
	const struct norm_item *it;
	uint32_t i;

	for (i = tok->first; i <= tok->last; i++) {
		it = &n->items[i];
		if (it->cls != N_LETTER)
			continue;
		if ((it->flags & ITEM_LATIN) || normalize_disguise(it->cp))
			disguise = 1;
		if (it->fold != 0)
			fold = 1;
		if (it->cp >= 0x0370 && it->cp < 0x0400)
			greek = 1;
		else if (it->cp >= 0x0400 && it->cp < 0x0530)
			cyr = 1;
	}
	if (!fold || !(disguise || (cyr && greek)))
		return;
	for (i = tok->first; i <= tok->last; i++) {
		if (n->items[i].cls == N_LETTER && n->items[i].fold != 0) {
			n->items[i].cp = n->items[i].fold;
			n->items[i].fold = 0;
			n->items[i].flags |= ITEM_LATIN | ITEM_STRIPMARKS;
		}
	}
}

/*
 * Decide whether a token is a word whose digits and symbols are leetspeak
 * (k1ll, 5h1t, a$$, sh!t, 4ss), a word with real digits (covid19, 3d), or
 * a number, and fold its look-alikes.
 */
static void
normalize_classify(struct norm *n, struct norm_tok *tok)
{
	size_t letters = 0, digits = 0, nonleet = 0;
	int interleaved = 0, seen_letter = 0;
	const struct norm_item *it;
	uint32_t i;

	if (tok->kind == TOK_SYMBOL)
		return;
	normalize_fold(n, tok);
	for (i = tok->first; i <= tok->last; i++) {
		it = &n->items[i];
		if (it->cls == N_LETTER) {
			letters++;
			seen_letter = 1;
		} else if (it->cls == N_DIGIT) {
			digits++;
			interleaved |= seen_letter;
			if (it->flags & ITEM_NONLEET)
				nonleet++;
		}
	}
	if (letters == 0)
		tok->kind = normalize_all_leet(n, tok) ? TOK_WORD : TOK_NUMBER;
	else if (nonleet > 0)
		tok->kind = TOK_PLAIN;
	else if (n->items[tok->first].cls == N_DIGIT && !interleaved &&
	    (letters <= digits || normalize_unit_suffix(n, tok)))
		tok->kind = TOK_PLAIN;
	else
		tok->kind = TOK_WORD;
}

/*
 * Tell whether a token without letters is a word written all in leetspeak
 * (@$$, 4$$): two or more of @ $ !, or an @, and only leet digits.  A price
 * ($100, 5$) has a single $ and stays a number.
 */
static int
normalize_all_leet(const struct norm *n, const struct norm_tok *tok)
{
	size_t syms = 0, at = 0, len = tok->last - tok->first + 1;
	const struct norm_item *it;
	uint32_t i;

	for (i = tok->first; i <= tok->last; i++) {
		it = &n->items[i];
		if (it->cls == N_DIGIT && (it->flags & ITEM_NONLEET))
			return (0);
		if (it->cls == N_LEET && it->cp != '&' &&
		    (it->flags & ITEM_ACCEPTED)) {
			syms++;
			at += it->cp == '@';
		}
	}
	return (len >= 2 && (syms >= 2 || at > 0) &&
	    !normalize_price(n, tok->first, tok->last + 1));
}

/* Tell whether items [from, to) hold a $ followed by a digit (@$5). */
static int
normalize_price(const struct norm *n, size_t from, size_t to)
{
	size_t i;

	for (i = from; i + 1 < to; i++) {
		if (n->items[i].cls == N_LEET && n->items[i].cp == '$' &&
		    n->items[i + 1].cls == N_DIGIT)
			return (1);
	}
	return (0);
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
		if (it->cls == N_SEP || it->cls == N_BREAK ||
		    (it->cls == N_SYMBOL && tok->kind != TOK_SYMBOL))
			continue;
		if (it->cls == N_LEET) {
			if (tok->kind == TOK_NUMBER ||
			    (cp != '&' && tok->kind != TOK_WORD))
				continue;
			if (cp != '&')
				cp = normalize_leet(cp);
		} else if (it->cls == N_DIGIT && tok->kind == TOK_WORD)
			cp = normalize_leet(cp);
		n->chars[cnt] = cp;
		n->cs[cnt] = it->s;
		n->ce[cnt] = it->e;
		cnt++;
	}
	return (cnt);
}

/* Tell whether a run of cp means its length: digits, censor marks, | . */
static int
normalize_counted(uint32_t cp)
{
	return ((cp >= '0' && cp <= '9') || cp == NORM_MARK || cp == NORM_IL);
}

/* Tell whether a letter is a Latin vowel (for the third repeat form). */
static int
normalize_vowel(uint32_t cp)
{
	return (cp == 'a' || cp == 'e' || cp == 'i' || cp == 'o' || cp == 'u' ||
	    cp == 'y');
}

/*
 * Write every token into form[f], treating runs of three or more of one
 * letter as mode says.  Returns 0 if the text has no such run, 1 if only
 * runs of vowels or only of consonants, 3 if both (NORM_MIXED differs).
 */
static int
normalize_emit(struct norm *n, int f, int mode)
{
	struct norm_out *o = &n->form[f];
	size_t t, i, j, k, cnt, keep;
	int collapsed = 0, vowel;
	uint32_t s;

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
			if (j - i < 3 || mode == NORM_KEEP ||
			    normalize_counted(n->chars[i])) {
				collapsed |= j - i >= 3 &&
				        !normalize_counted(n->chars[i])
				    ? (normalize_vowel(n->chars[i]) ? 1 : 2)
				    : 0;
				for (k = i; k < j; k++)
					normalize_out_put(
					    o, n->chars[k], n->cs[k], n->ce[k]);
				continue;
			}
			vowel = normalize_vowel(n->chars[i]);
			collapsed |= vowel ? 1 : 2;
			keep = mode == NORM_ONE ? 1
			    : mode == NORM_TWO  ? 2
			    : vowel             ? 1
			                        : 2;
			for (k = 0; k < keep; k++)
				normalize_out_put(
				    o, n->chars[i], n->cs[i], n->ce[j - 1]);
		}
		s = n->ce[cnt - 1];
		normalize_out_put(o, ' ', s, s);
	}
	return (collapsed == 3 ? 3 : collapsed != 0);
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
