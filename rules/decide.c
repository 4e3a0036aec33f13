/*
 * decide.c -- the verdict of a comment: every rule that fired, by kind
 * (keyword, rate, links, repeats, campaigns, shouting, length, author and
 * thread state), each with its action, mode and score, then the score
 * thresholds.  Reject beats hold beats approve; a shadow rule is named
 * apart and changes nothing.  Also content_measure(), the letters,
 * capitals and length of a text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "rules_int.h"
#include "ralloc.h"

/* A decision being made: the rules that fired so far, and their verdict. */
struct rules_fired {
	char *reasons; /* owned: space-separated */
	size_t len;
	size_t cap;
	char *shadow; /* owned: shadow rules, space-separated */
	size_t slen;
	size_t scap;
	long score;
	enum rules_verdict verdict;
};

static void decide_append(char **, size_t *, size_t *, const char *, size_t);
static void decide_fire(
    struct rules_fired *, const char *, size_t, enum rules_verdict, int, long);
static void decide_keywords(
    const struct ruleset *, const struct rules_match *, struct rules_fired *);
static void decide_content(const struct ruleset *, const struct rules_match *,
    const struct rules_ctx *, struct rules_fired *);
static void decide_people(
    const struct ruleset *, const struct rules_ctx *, struct rules_fired *);

/* Append a name to a space-separated list. */
static void
decide_append(char **buf, size_t *len, size_t *cap, const char *name, size_t n)
{
	if (*len + n + 2 > *cap) {
		*cap = (*len + n + 2) * 2;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	if (*len > 0)
		(*buf)[(*len)++] = ' ';
	memcpy(*buf + *len, name, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/*
 * Name a rule that fired, of n bytes: a shadow rule only among the shadow
 * ones; any other adds its score and raises the verdict to its action.
 */
static void
decide_fire(struct rules_fired *f, const char *name, size_t n,
    enum rules_verdict v, int shadow, long score)
{
	if (shadow) {
		decide_append(&f->shadow, &f->slen, &f->scap, name, n);
		return;
	}
	decide_append(&f->reasons, &f->len, &f->cap, name, n);
	f->score += score;
	if (v > f->verdict)
		f->verdict = v;
}

/*
 * Fire the keyword rules the matcher named, each as its own rule says; a
 * name that is no keyword rule (matcher-error) keeps the matcher's verdict.
 */
static void
decide_keywords(const struct ruleset *rs, const struct rules_match *m,
    struct rules_fired *f)
{
	const char *p;
	size_t i, n;

	for (p = m->reasons; p != NULL && *p != '\0'; p += n) {
		while (*p == ' ')
			p++;
		if ((n = strcspn(p, " ")) == 0)
			continue;
		for (i = 0; i < rs->nacts; i++) {
			if (strlen(rs->acts[i].name) == n &&
			    memcmp(rs->acts[i].name, p, n) == 0)
				break;
		}
		if (i < rs->nacts)
			decide_fire(f, p, n, rs->acts[i].action,
			    rs->acts[i].shadow, rs->acts[i].score);
		else
			decide_fire(f, p, n, m->verdict, 0, 0);
	}
}

#define FIRE(f, r) \
	decide_fire((f), (r)->name, strlen((r)->name), (r)->action, \
	    (r)->shadow, (r)->score)

/*
 * Fire the content rules: links (for new authors only when approved_below
 * is set; an anonymous comment has approved nothing), repeats and
 * campaigns (counted from Redis: -1 when not), shouting and length.
 */
static void
decide_content(const struct ruleset *rs, const struct rules_match *m,
    const struct rules_ctx *ctx, struct rules_fired *f)
{
	const struct rules_link *l;
	const struct rules_shout *sh;
	size_t i;

	for (i = 0; i < rs->nlrules; i++) {
		l = &rs->lrules[i];
		if ((m->link_deny & (1U << i)) != 0 ||
		    (l->max >= 0 && (long)m->links > l->max &&
		        (l->approved_below == 0 ||
		            ctx->approved < l->approved_below)))
			FIRE(f, l);
	}
	for (i = 0; i < rs->nrepeats; i++)
		if (ctx->repeat[i] > 0)
			FIRE(f, &rs->repeats[i]);
	for (i = 0; i < rs->ncampaigns; i++)
		if (ctx->campaign[i] >= rs->campaigns[i].authors)
			FIRE(f, &rs->campaigns[i]);
	for (i = 0; i < rs->nshouts; i++) {
		sh = &rs->shouts[i];
		if ((long)m->letters >= sh->min_letters &&
		    (double)m->capitals >= sh->ratio * (double)m->letters)
			FIRE(f, sh);
	}
	for (i = 0; i < rs->nlengths; i++)
		if ((long)m->chars > rs->lengths[i].max)
			FIRE(f, &rs->lengths[i]);
}

#define BUILTIN(f, name, v) decide_fire((f), (name), sizeof name - 1, (v), 0, 0)

/* Fire what Redis says of the author and thread. */
static void
decide_people(const struct ruleset *rs, const struct rules_ctx *ctx,
    struct rules_fired *f)
{
	const struct rules_authors *a = &rs->authors;

	if (ctx->trust == RULES_TRUST_BANNED)
		BUILTIN(f, "author-banned", RULES_REJECT);
	if (ctx->mode == RULES_MODE_CLOSED)
		BUILTIN(f, "thread-closed", RULES_REJECT);
	if (ctx->mode == RULES_MODE_PREMOD)
		BUILTIN(f, "thread-premod", RULES_HOLD);
	if (ctx->trust == RULES_TRUST_PREMOD)
		BUILTIN(f, "author-premod", RULES_HOLD);
	if (ctx->has_author && ctx->trust == RULES_TRUST_NONE &&
	    a->premod_until_approved > 0 &&
	    ctx->approved < a->premod_until_approved)
		BUILTIN(f, "new-author", RULES_HOLD);
	if (ctx->has_author && ctx->trust == RULES_TRUST_NONE &&
	    a->hold_if_rejected && ctx->recent_rejected >= a->rejected_min &&
	    ctx->recent_decided > 0 &&
	    (double)ctx->recent_rejected >=
	        a->rejected_ratio * (double)ctx->recent_decided)
		BUILTIN(f, "rejection-history", RULES_HOLD);
}

/*
 * Combine the text's keyword and content hits with what Redis knows:
 * author and thread state, reputation, rate, repeat and campaign counts.
 * The summed score of the rules that fired meets the thresholds last; the
 * verdict is the strictest of all.  A trusted author skips holds but never
 * rejects; every rule that fired is named.
 */
void
rules_decide(const struct ruleset *rs, const struct rules_match *m,
    const struct rules_ctx *ctx, struct rules_decision *d)
{
	const struct rules_thresholds *t = &rs->thresholds;
	struct rules_fired f;
	size_t i;

	memset(&f, 0, sizeof f);
	f.cap = f.scap = 64;
	f.reasons = xcalloc(1, f.cap);
	f.shadow = xcalloc(1, f.scap);
	f.verdict = RULES_APPROVE;
	decide_keywords(rs, m, &f);
	for (i = 0; i < rs->nrates; i++) {
		if (ctx->rate[i] >= 0 &&
		    rate_exceeded(&rs->rates[i], ctx->rate[i]))
			FIRE(&f, &rs->rates[i]);
	}
	decide_content(rs, m, ctx, &f);
	decide_people(rs, ctx, &f);
	if (t->reject > 0 && f.score >= t->reject)
		BUILTIN(&f, "score-reject", RULES_REJECT);
	else if (t->hold > 0 && f.score >= t->hold)
		BUILTIN(&f, "score-hold", RULES_HOLD);
	if (ctx->trust == RULES_TRUST_TRUSTED && f.verdict == RULES_HOLD) {
		BUILTIN(&f, "author-trusted", RULES_APPROVE);
		f.verdict = RULES_APPROVE;
	}
	d->verdict = f.verdict;
	d->reasons = f.reasons;
	d->shadow = f.shadow;
	d->score = f.score;
}

/* Free what a decision holds. */
void
rules_decision_free(struct rules_decision *d)
{
	free(d->reasons);
	free(d->shadow);
	d->reasons = d->shadow = NULL;
}

/*
 * Count a text's code points, letters and capitals, as a reader sees it:
 * in HTML, tags are not text.  Invalid UTF-8 counts a byte a character.
 */
void
content_measure(enum rules_format format, const char *text, size_t len,
    struct rules_match *m)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	utf8proc_category_t cat;
	size_t i = 0;
	int tag = 0;

	while (i < len) {
		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0) {
			n = 1;
			cp = -1;
		}
		i += (size_t)n;
		if (tag ||
		    (format == RULES_FORMAT_HTML && cp == '<' && i < len &&
		        (text[i] == '/' || text[i] == '!' ||
		            ((text[i] | 0x20) >= 'a' &&
		                (text[i] | 0x20) <= 'z')))) {
			tag = cp != '>';
			continue;
		}
		m->chars++;
		if (cp < 0)
			continue;
		cat = utf8proc_category(cp);
		if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT)
			m->capitals++;
		if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO)
			m->letters++;
	}
}
