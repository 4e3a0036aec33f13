/*
 * fuzz_entry.c -- libFuzzer target for one stream entry on its way through
 * modqd: entry_validate() on fields split from the input (every reason
 * of a fixed kind, the metrics label), then
 * normalize_text(), rules_match_text() and rules_decide() on the body
 * against a representative ruleset built once, with the invariants of each
 * step checked by abort().
 *
 * Input: byte 0 is the delivery count (its top bit: check the body's
 * normalisation as a rule entry's, keep_runs, instead of as a comment's),
 * byte 1 queue.max_deliveries, byte 2 queue.max_body,
 * byte 3 the author and thread state for rules_decide();
 * the rest is field, value, field, value, ... separated by 0x1f, with NUL
 * bytes allowed anywhere.  The value after the first "body" field is the
 * body; without one, the whole rest is.  The body is matched whether or
 * not the entry validates: the normaliser takes any bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "modqd.h"
#include "rules_int.h"
#include "xmalloc.h"

#define FUZZ_SEP 0x1f /* separates fields */
#define FUZZ_HEAD 4 /* bytes of parameters before the fields */
#define FUZZ_MAX_FIELDS 256
#define FUZZ_FILE "fuzz_entry.conf"

/* One keyword list of the representative ruleset. */
struct fuzz_list {
	const char *name;
	enum rules_verdict action;
	enum rules_matchmode match;
	const char *const *words; /* NULL-terminated */
};

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void fuzz_entries(const char *const *, struct rules_entry **, size_t *);
static void fuzz_build(void);
static int fuzz_utf8(const char *, size_t, size_t *);
static size_t fuzz_split(const uint8_t *, size_t, char **, size_t *);
static void fuzz_check_utf8(const char *, size_t);
static void fuzz_check_norm(const char *, size_t, int);
static void fuzz_check_match(const struct rules_match *, int);
static void fuzz_check_same(
    const struct rules_match *, const struct rules_match *);
static void fuzz_decide(const struct rules_match *, uint8_t);
static void fuzz_match(const char *, size_t, uint8_t, int);

static const char *const fuzz_slurs[] = {"fuck*", "shit", "asshole", "cunt",
    "bastard", "terror*", "*phobe", "f*ck*r", "go * yourself", "kill you",
    "kill them all", "behead*", "burn your house", NULL};
static const char *const fuzz_watch[] = {"/isi\\s+agents?/", "/ kys /",
    "/\\d{3} \\d{4}/", "/free (money|cash)/", "/ kill (all|every) \\w+s /",
    "traitor", "ass", "bad", "god", "bob", "idiot", "kiss my ass", "ano", "s&m",
    "e.g.", NULL};
static const char *const fuzz_spam[] = {
    "viagra", "casino", "bit.ly/", "xxx", "crypto*", NULL};
static const char *const fuzz_intl[] = {"сука", "блядь", "мудак", "कमीना",
    "हरामी", "ज़लील", "حرامی", "کمینہ", "傻逼", "씨발", "死ね", "🖕", "🍆💦",
    "🇷🇺", "💩", "𝒷𝒾𝓉𝒸𝒽", "coño", "hijo de puta", "filho da puta", NULL};
static const char *const fuzz_allow[] = {"scunthorpe", "van dyke", "class",
    "assassin", "bass guitar", "cockpit", "año", NULL};

static const struct fuzz_list fuzz_lists[] = {
    {"slurs", RULES_REJECT, RULES_MATCH_WORD, fuzz_slurs},
    {"watch", RULES_HOLD, RULES_MATCH_WORD, fuzz_watch},
    {"spam", RULES_HOLD, RULES_MATCH_SUBSTRING, fuzz_spam},
    {"intl", RULES_REJECT, RULES_MATCH_WORD, fuzz_intl},
};
#define FUZZ_NLISTS (sizeof fuzz_lists / sizeof fuzz_lists[0])

static struct ruleset *fuzz_rules; /* owned, for the whole run */
static struct norm fuzz_norm; /* scratch, reused as the daemon does */

/* Copy a NULL-terminated word array into entries. */
static void
fuzz_entries(const char *const *words, struct rules_entry **e, size_t *n)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		;
	*e = xcalloc(i, sizeof **e);
	for (*n = 0; *n < i; (*n)++) {
		(*e)[*n].text = xstrdup(words[*n]);
		(*e)[*n].file = xstrdup(FUZZ_FILE);
		(*e)[*n].line = (int)*n + 1;
	}
}

/* Build the representative ruleset; a failure is a bug in the harness. */
static void
fuzz_build(void)
{
	static const char *const rates[] = {
	    "author-flood", "ip-flood", "thread-surge"};
	struct rules_spec spec;
	struct rules_list *l;
	char *cause = NULL;
	size_t i;

	memset(&spec, 0, sizeof spec);
	spec.lists = xcalloc(FUZZ_NLISTS, sizeof *spec.lists);
	for (i = 0; i < FUZZ_NLISTS; i++) {
		l = &spec.lists[i];
		l->name = xstrdup(fuzz_lists[i].name);
		l->action = fuzz_lists[i].action;
		l->match = fuzz_lists[i].match;
		l->file = xstrdup(FUZZ_FILE);
		l->line = (int)i + 1;
		fuzz_entries(fuzz_lists[i].words, &l->entries, &l->nentries);
	}
	spec.nlists = FUZZ_NLISTS;
	fuzz_entries(fuzz_allow, &spec.allow, &spec.nallow);
	for (i = 0; i < 3; i++) {
		spec.rates[i].name = xstrdup(rates[i]);
		spec.rates[i].per = (enum rules_per)i;
		spec.rates[i].limit = 1 + (long)i * 10;
		spec.rates[i].window = 60;
		spec.rates[i].action = i == 1 ? RULES_REJECT : RULES_HOLD;
	}
	spec.nrates = 3;
	spec.authors.premod_until_approved = 2;
	spec.authors.hold_if_rejected = 1;
	spec.authors.rejected_ratio = 0.3;
	spec.authors.rejected_min = 3;
	spec.authors.rejected_days = 7;
	if (rules_build(&spec, &fuzz_rules, &cause) == -1) {
		fprintf(stderr, "fuzz_entry: %s\n", cause);
		abort();
	}
	rules_spec_free(&spec);
}

/* Build the ruleset once for the whole run. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_build();
	normalize_init(&fuzz_norm);
	return (0);
}

/*
 * Check UTF-8 with utf8proc, independently of entry_utf8(): returns -1
 * with *bad at the first bad sequence, or 0.
 */
static int
fuzz_utf8(const char *s, size_t len, size_t *bad)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t m;
	size_t i = 0;

	while (i < len) {
		m = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(len - i), &cp);
		if (m <= 0) {
			*bad = i;
			return (-1);
		}
		i += (size_t)m;
	}
	return (0);
}

/*
 * Split len bytes into fields at FUZZ_SEP, each copied into a buffer of
 * its own with a NUL after it, as hiredis hands them over.
 */
static size_t
fuzz_split(const uint8_t *p, size_t len, char **fv, size_t *fvlen)
{
	size_t i, n = 0, start = 0;

	for (i = 0; i <= len && n < FUZZ_MAX_FIELDS; i++) {
		if (i < len && p[i] != FUZZ_SEP)
			continue;
		fvlen[n] = i - start;
		fv[n] = xmalloc(fvlen[n] + 1);
		memcpy(fv[n], p + start, fvlen[n]);
		fv[n][fvlen[n]] = '\0';
		n++;
		start = i + 1;
	}
	return (n);
}

/* Abort unless s is valid UTF-8. */
static void
fuzz_check_utf8(const char *s, size_t len)
{
	size_t bad;

	if (fuzz_utf8(s, len, &bad) == -1)
		abort();
}

/*
 * Normalise text as a comment, or as a rule entry (keep_runs: one form),
 * and check every form: valid UTF-8, a space at each end, never two in a
 * row, every source range inside the text.
 */
static void
fuzz_check_norm(const char *text, size_t len, int keep_runs)
{
	const struct norm_out *o;
	size_t i;
	int f;

	fuzz_norm.keep_runs = keep_runs;
	normalize_text(&fuzz_norm, text, len);
	if (fuzz_norm.nforms < 1 || (keep_runs && fuzz_norm.nforms != 1) ||
	    (size_t)fuzz_norm.nforms >
	        sizeof fuzz_norm.form / sizeof fuzz_norm.form[0])
		abort();
	for (f = 0; f < fuzz_norm.nforms; f++) {
		o = &fuzz_norm.form[f];
		if (o->len == 0 || o->buf[0] != ' ' ||
		    o->buf[o->len - 1] != ' ')
			abort();
		fuzz_check_utf8(o->buf, o->len);
		for (i = 0; i < o->len; i++) {
			if (i > 0 && o->buf[i] == ' ' && o->buf[i - 1] == ' ')
				abort();
			if (o->src_start[i] > o->src_end[i] ||
			    o->src_end[i] > len)
				abort();
		}
	}
}

/*
 * Check a match: reasons, matched and the verdict agree (every list of the
 * ruleset holds or rejects); matched is valid UTF-8 when the text is.
 */
static void
fuzz_check_match(const struct rules_match *m, int text_utf8)
{
	int fired;

	if (m->reasons == NULL || m->matched == NULL)
		abort();
	fired = m->reasons[0] != '\0';
	if (fired != (m->matched[0] != '\0') ||
	    fired != (m->verdict != RULES_APPROVE))
		abort();
	if (m->verdict < RULES_APPROVE || m->verdict > RULES_REJECT)
		abort();
	if (text_utf8)
		fuzz_check_utf8(m->matched, strlen(m->matched));
}

/* Abort unless two matches of one text are identical. */
static void
fuzz_check_same(const struct rules_match *a, const struct rules_match *b)
{
	if (a->verdict != b->verdict || strcmp(a->reasons, b->reasons) != 0 ||
	    strcmp(a->matched, b->matched) != 0)
		abort();
}

/*
 * Combine the keyword verdict with a context made from one byte; a
 * keyword reject stays a reject whatever the author's trust.
 */
static void
fuzz_decide(const struct rules_match *m, uint8_t ctxbyte)
{
	struct rules_decision d;
	struct rules_ctx ctx;
	size_t i;

	memset(&ctx, 0, sizeof ctx);
	ctx.trust = (enum rules_trust)(ctxbyte & 3);
	ctx.mode = (enum rules_mode)((ctxbyte >> 2) % 3);
	ctx.has_author = (ctxbyte >> 4) & 1;
	ctx.approved = (ctxbyte >> 5) & 3;
	ctx.recent_decided = ctxbyte >> 5;
	ctx.recent_rejected = (ctxbyte >> 6) * 2;
	for (i = 0; i < RULES_MAX_RATES; i++)
		ctx.rate[i] = i < 3 ? (long long)(ctxbyte % 23) - 1 : -1;
	rules_decide(fuzz_rules, m, &ctx, &d);
	if (d.reasons == NULL || (int)d.verdict < (int)m->verdict - 1 ||
	    (m->verdict == RULES_REJECT && d.verdict != RULES_REJECT))
		abort();
	rules_decision_free(&d);
}

/* Normalise and match the body twice, checking each step. */
static void
fuzz_match(const char *body, size_t len, uint8_t ctxbyte, int keep_runs)
{
	struct rules_match m1, m2;
	size_t bad;
	int utf8;

	utf8 = fuzz_utf8(body, len, &bad) == 0;
	fuzz_check_norm(body, len, keep_runs);
	if (rules_match_text(fuzz_rules, body, len, &m1) == -1)
		abort();
	fuzz_check_match(&m1, utf8);
	if (rules_match_text(fuzz_rules, body, len, &m2) == -1)
		abort();
	fuzz_check_same(&m1, &m2);
	fuzz_decide(&m1, ctxbyte);
	rules_match_free(&m1);
	rules_match_free(&m2);
}

/* Validate the entry, then match its body. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *fv[FUZZ_MAX_FIELDS], *err;
	size_t fvlen[FUZZ_MAX_FIELDS], n, i, bad1 = 0, bad2 = 0;
	const char *body;
	size_t bodylen;
	long deliveries, max_deliveries, max_body;
	int r1, r2;

	if (size < FUZZ_HEAD)
		return (0);
	deliveries = data[0] % 10;
	max_deliveries = 1 + data[1] % 8;
	max_body = data[2] < 128 ? 65536 : 16 + (long)(data[2] - 128) * 4;
	n = fuzz_split(data + FUZZ_HEAD, size - FUZZ_HEAD, fv, fvlen);

	/* entry_utf8() must agree with utf8proc, down to the offset. */
	r1 =
	    entry_utf8((const char *)data + FUZZ_HEAD, size - FUZZ_HEAD, &bad1);
	r2 = fuzz_utf8((const char *)data + FUZZ_HEAD, size - FUZZ_HEAD, &bad2);
	if (r1 != r2 || (r1 == -1 && bad1 != bad2))
		abort();

	err =
	    entry_validate(fv, fvlen, n, deliveries, max_deliveries, max_body);
	if (err != NULL && err[0] == '\0')
		abort();
	if (err != NULL && entry_error_kind(err) == ENTRY_KINDS - 1)
		abort(); /* a reason without its kind: counted as "other" */
	body = (const char *)data + FUZZ_HEAD;
	bodylen = size - FUZZ_HEAD;
	for (i = 0; i + 1 < n; i += 2) {
		if (fvlen[i] == 4 && memcmp(fv[i], "body", 4) == 0) {
			body = fv[i + 1];
			bodylen = fvlen[i + 1];
			break;
		}
	}
	if (err == NULL &&
	    (bodylen > (size_t)max_body ||
	        fuzz_utf8(body, bodylen, &bad1) == -1))
		abort(); /* validated, but not a body the daemon can judge */
	fuzz_match(body, bodylen, data[3], data[0] >> 7);
	free(err);
	for (i = 0; i < n; i++)
		free(fv[i]);
	return (0);
}
