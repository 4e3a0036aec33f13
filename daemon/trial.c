/*
 * trial.c -- judging without the daemon, for an operator who tries rules
 * before trusting them: the context-free judgement of one text that -e
 * prints, the line reader of -e - whose lines have a bounded length, and
 * -t's summary of a file of texts: how many each verdict, how often each
 * rule fired.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modqd.h"
#include "xmalloc.h"

#define TRIAL_DEAD 3 /* an outcome beside the verdicts: a dead letter */
#define TRIAL_NOUT 4

/* How many lines a rule fired on, for -t. */
struct trial_rule {
	char *name; /* owned */
	int shadow;
	unsigned long long hits;
};

/*
 * -t's counts: each line's outcome and each rule that fired.  The rules
 * are those of one ruleset and the built-in reasons, so the table stays
 * as small as the config however long the input.
 */
struct trial_tally {
	unsigned long long lines;
	unsigned long long out[TRIAL_NOUT]; /* by verdict, then TRIAL_DEAD */
	struct trial_rule *rules; /* owned */
	size_t nrules;
	size_t cap;
};

static int trial_tally_line(
    struct ruleset *, struct trial_tally *, const char *, size_t);
static void trial_tally_words(struct trial_tally *, const char *, int);
static void trial_tally_hit(struct trial_tally *, const char *, size_t, int);
static int trial_rule_cmp(const void *, const void *);
static double trial_pct(unsigned long long, unsigned long long);
static void trial_tally_print(struct trial_tally *);
static void trial_tally_free(struct trial_tally *);

/*
 * Judge one text as an anonymous comment with no history would be judged:
 * no author, ip or thread, so rate, repeats, campaigns, author and thread
 * rules, which need Redis, never fire.  Fill m and d for the caller to
 * free; on -1 (the matcher failed) there is nothing to free.
 */
int
trial_judge(struct ruleset *rs, const char *text, size_t len,
    struct rules_match *m, struct rules_decision *d)
{
	struct rules_ctx ctx;
	size_t i;

	if (rules_match_text(rs, text, len, m) == -1)
		return (-1);
	memset(&ctx, 0, sizeof ctx);
	for (i = 0; i < RULES_MAX_RATES; i++)
		ctx.rate[i] = -1;
	for (i = 0; i < RULES_MAX_CONTENT; i++)
		ctx.repeat[i] = ctx.campaign[i] = -1;
	rules_decide(rs, m, &ctx, d);
	return (0);
}

/*
 * Read one line of f, without its newline, into buf (max + 1 bytes): set
 * *len to the bytes kept and *total to the line's length.  A line longer
 * than max is read to its end but only its first max bytes are kept, so
 * memory stays bounded whatever the input.  Return 0, or -1 at the end
 * of the input or on an error (ferror() tells).
 */
int
trial_getline(FILE *f, char *buf, size_t max, size_t *len, size_t *total)
{
	int ch;

	*len = *total = 0;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if ((*total)++ < max)
			buf[(*len)++] = (char)ch;
	}
	if (ch == EOF && *total == 0)
		return (-1);
	return (0);
}

/*
 * -t: judge every line of path ("-": standard input) as -e - would, and
 * print the totals and each rule's hits instead of a line each.  A line
 * longer than max bytes is counted dead and read past.  Return 0, or 1
 * when the input could not be read or the matcher failed.
 */
int
trial_file(struct ruleset *rs, const char *path, size_t max)
{
	struct trial_tally t;
	const char *name = path;
	size_t len, total;
	char *buf;
	FILE *f;
	int rc = 0;

	if (strcmp(path, "-") == 0) {
		f = stdin;
		name = "standard input";
	} else if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "modqd: %s: %s\n", path, strerror(errno));
		return (1);
	}
	memset(&t, 0, sizeof t);
	buf = xmalloc(max + 1);
	while (rc == 0 && trial_getline(f, buf, max, &len, &total) == 0) {
		t.lines++;
		if (total > max) {
			fprintf(stderr,
			    "modqd: %s:%llu: body too large: %zu bytes "
			    "(queue.max_body is %zu)\n",
			    name, t.lines, total, max);
			t.out[TRIAL_DEAD]++;
		} else if (trial_tally_line(rs, &t, buf, len) == -1)
			rc = 1;
	}
	if (ferror(f)) {
		fprintf(stderr, "modqd: %s: %s\n", name, strerror(errno));
		rc = 1;
	}
	if (f != stdin)
		fclose(f);
	free(buf);
	if (rc == 0) {
		trial_tally_print(&t);
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	trial_tally_free(&t);
	return (rc);
}

/* Judge one line and count its verdict and its rules. */
static int
trial_tally_line(
    struct ruleset *rs, struct trial_tally *t, const char *text, size_t len)
{
	struct rules_match m;
	struct rules_decision d;

	if (trial_judge(rs, text, len, &m, &d) == -1) {
		fprintf(stderr, "modqd: matcher failed\n");
		return (-1);
	}
	t->out[d.verdict]++;
	trial_tally_words(t, d.reasons, 0);
	trial_tally_words(t, d.shadow, 1);
	rules_decision_free(&d);
	rules_match_free(&m);
	return (0);
}

/* Count a hit of each rule of a space-separated list. */
static void
trial_tally_words(struct trial_tally *t, const char *list, int shadow)
{
	size_t n;

	while (*list != '\0') {
		if ((n = strcspn(list, " ")) > 0)
			trial_tally_hit(t, list, n, shadow);
		list += n;
		list += strspn(list, " ");
	}
}

/* Count a hit of the rule name (len bytes), adding it when new. */
static void
trial_tally_hit(struct trial_tally *t, const char *name, size_t len, int shadow)
{
	struct trial_rule *r;
	size_t i;

	for (i = 0; i < t->nrules; i++) {
		r = &t->rules[i];
		if (r->shadow == shadow && strncmp(r->name, name, len) == 0 &&
		    r->name[len] == '\0') {
			r->hits++;
			return;
		}
	}
	if (t->nrules == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->rules = xreallocarray(t->rules, t->cap, sizeof *t->rules);
	}
	r = &t->rules[t->nrules++];
	r->name = xstrndup(name, len);
	r->shadow = shadow;
	r->hits = 1;
}

/* Most hits first, then by name, an enforced rule before a shadow one. */
static int
trial_rule_cmp(const void *a, const void *b)
{
	const struct trial_rule *x = a, *y = b;
	int c;

	if (x->hits != y->hits)
		return (x->hits > y->hits ? -1 : 1);
	if ((c = strcmp(x->name, y->name)) != 0)
		return (c);
	return (x->shadow - y->shadow);
}

/* n as a percentage of all; 0 of nothing. */
static double
trial_pct(unsigned long long n, unsigned long long all)
{
	return (all == 0 ? 0.0 : 100.0 * (double)n / (double)all);
}

/*
 * Print the totals line, then "rule<TAB>hits<TAB>share" and a line for
 * each rule that fired, a share being of all lines, dead ones included.
 */
static void
trial_tally_print(struct trial_tally *t)
{
	const struct trial_rule *r;
	size_t i;

	printf("lines %llu: approve %llu (%.2f%%), hold %llu (%.2f%%), "
	       "reject %llu (%.2f%%), dead %llu\n",
	    t->lines, t->out[RULES_APPROVE],
	    trial_pct(t->out[RULES_APPROVE], t->lines), t->out[RULES_HOLD],
	    trial_pct(t->out[RULES_HOLD], t->lines), t->out[RULES_REJECT],
	    trial_pct(t->out[RULES_REJECT], t->lines), t->out[TRIAL_DEAD]);
	printf("rule\thits\tshare\n");
	if (t->nrules > 0)
		qsort(t->rules, t->nrules, sizeof *t->rules, trial_rule_cmp);
	for (i = 0; i < t->nrules; i++) {
		r = &t->rules[i];
		printf("%s%s\t%llu\t%.2f%%\n", r->name,
		    r->shadow ? " (shadow)" : "", r->hits,
		    trial_pct(r->hits, t->lines));
	}
}

/* Free what the tally holds. */
static void
trial_tally_free(struct trial_tally *t)
{
	size_t i;

	for (i = 0; i < t->nrules; i++)
		free(t->rules[i].name);
	free(t->rules);
}
