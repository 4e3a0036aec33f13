/*
 * campaign-bench.c -- how well the campaigns index of rules/similar.c
 * tells campaigns from ordinary comments, and how fast it answers.
 *
 * From a corpus of comments, one a line, it takes campaign sources (lines
 * of at least 8 distinct normalised words) and ordinary comments (the
 * other lines, each from its own author).  Each source is pasted by
 * several authors, each copy with 1 to 3 words replaced, inserted or
 * deleted and some case and punctuation changed.  All are mixed at random
 * times within one window and fed in time order through the normaliser,
 * similar_print() and the index, as the daemon would; each comment asks
 * similar_authors() with authors = 3.  It prints, per similarity and
 * min_words (a comment of fewer distinct words is never grouped):
 *   campaign_caught   copies from the 3rd author on that reach 3 authors
 *   exact_caught      the same without LSH: each copy compared with every
 *                     earlier comment
 *   ordinary_grouped  ordinary comments that reach 3 authors although
 *                     fewer than 2 of the earlier texts alike are copies
 *                     of them (wrongly grouped); a copy shares a run of
 *                     BENCH_RUN words with it, or is at most BENCH_EDITS
 *                     word edits from it, the edits a campaign copy gets
 *   ordinary_copied   ordinary comments that reach 3 authors with 2 such
 *                     texts: the corpus's own copies (retweets, memes,
 *                     spam), which the rule is right to group
 *   queries_per_s     similar_add() and similar_authors() per second
 * Everything comes from a fixed seed.
 *
 * usage: campaign-bench [-c campaigns] [-M min_words,...] [-n copies]
 *            [-o ordinary] [-S similarity,...] [-s seed] [-v] corpus.txt
 *   -v  also print each wrongly grouped ordinary comment and the earlier
 *       comments alike
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules_int.h"
#include "ralloc.h"

#define BENCH_MIN_SOURCE 8 /* distinct words of a campaign source */
#define BENCH_AUTHORS 3
#define BENCH_WINDOW 3600000LL /* ms: every comment falls in one window */
#define BENCH_MAX_RECORDS 100000
#define BENCH_WORDS_MAX 512 /* words of a line that a copy edits */
#define BENCH_RUN 4 /* words in a row that make two texts one copied */
#define BENCH_EDITS 3 /* word edits that keep a text a copy, as mutate() */

struct lines {
	char **s;
	size_t n;
};

struct comment {
	char *text; /* owned */
	char *norm; /* owned: normalised text, form 0 */
	long long ts;
	int campaign; /* -1: ordinary */
	int rank; /* 1 for the campaign's first author in time, ... */
	char who[32];
	struct rules_print print;
	long long authors; /* similar_authors() */
	long long exact; /* the same without LSH (campaign copies only) */
	int copied; /* grouped with 2+ texts that are copies of it */
};

struct bench {
	struct comment *c; /* owned */
	size_t n;
	uint64_t rng;
};

#define BENCH_SIMS_MAX 16
static double sims[BENCH_SIMS_MAX] = {0.4, 0.45, 0.5, 0.52, 0.55, 0.6};
static size_t nsims = 6;
static long minwords[BENCH_SIMS_MAX] = {1, 3, 5, 6, 8};
static size_t nminwords = 5;

static void usage(void) __attribute__((noreturn));
static void parse_sims(const char *);
static void parse_minwords(const char *);
static uint64_t bench_rand(struct bench *);
static void read_lines(const char *, struct lines *);
static void print_text(struct norm *, const char *, struct rules_print *);
static size_t tokens(const char *, const char **, size_t *);
static int shares_run(const char *const *, const size_t *, size_t,
    const char *const *, const size_t *, size_t);
static size_t word_edits(const char *const *, const size_t *, size_t,
    const char *const *, const size_t *, size_t);
static int is_copy(const char *, const char *);
static void judge(struct bench *, double);
static const char *random_word(struct bench *, const struct lines *);
static char *mutate(struct bench *, const char *, const struct lines *);
static void add(struct bench *, char *, int, const char *);
static void build(struct bench *, const struct lines *, int, int, int);
static int cmp_ts(const void *, const void *);
static void rank(struct bench *, int);
static double run(struct bench *, double);
static void exact(struct bench *, double);
static void report(const struct bench *, double, double);
static void explain(const struct bench *, double);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: campaign-bench [-c campaigns] [-M min_words,...] "
	    "[-n copies] [-o ordinary] [-S sim,...] [-s seed] [-v] "
	    "corpus.txt\n");
	exit(2);
}

/* Read a comma-separated list of similarities, each in (0, 1]. */
static void
parse_sims(const char *arg)
{
	char *end;
	double v;

	nsims = 0;
	do {
		v = strtod(arg, &end);
		if (end == arg || v <= 0 || v > 1 || nsims == BENCH_SIMS_MAX ||
		    (*end != ',' && *end != '\0'))
			usage();
		sims[nsims++] = v;
		arg = end + 1;
	} while (*end == ',');
}

/* Read a comma-separated list of min_words values, each at least 1. */
static void
parse_minwords(const char *arg)
{
	char *end;
	long v;

	nminwords = 0;
	do {
		v = strtol(arg, &end, 10);
		if (end == arg || v < 1 || v > 1000 ||
		    nminwords == BENCH_SIMS_MAX ||
		    (*end != ',' && *end != '\0'))
			usage();
		minwords[nminwords++] = v;
		arg = end + 1;
	} while (*end == ',');
}

/* splitmix64: the bench's only source of randomness. */
static uint64_t
bench_rand(struct bench *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Read one comment a line. */
static void
read_lines(const char *path, struct lines *l)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	memset(l, 0, sizeof *l);
	while ((len = getline(&line, &cap, f)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		l->s = xreallocarray(l->s, l->n + 1, sizeof *l->s);
		l->s[l->n++] = strdup(line);
		if (l->s[l->n - 1] == NULL)
			abort();
	}
	free(line);
	fclose(f);
}

/* Normalise text as the keyword matcher does and print form 0. */
static void
print_text(struct norm *n, const char *text, struct rules_print *p)
{
	normalize_text(n, text, strlen(text));
	similar_print(n->form[0].buf, n->form[0].len, p);
}

/* A random word of a random line. */
static const char *
random_word(struct bench *b, const struct lines *l)
{
	static char w[64];
	const char *s;
	size_t i, n = 0, pick;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		s = l->s[bench_rand(b) % l->n];
		pick = bench_rand(b) % 16;
		for (i = 0; s[i] != '\0'; i++) {
			if (s[i] == ' ' || (i > 0 && s[i - 1] != ' '))
				continue;
			if (pick-- == 0)
				break;
		}
		for (n = 0; s[i] != '\0' && s[i] != ' ' && n < sizeof w - 1;)
			w[n++] = s[i++];
		if (n > 0)
			break;
	}
	w[n] = '\0';
	return (n > 0 ? w : "word");
}

/*
 * A campaign copy of src: 1 to 3 words replaced, inserted or deleted, then
 * maybe a word in capitals, a capital first letter, or "!!" at the end.
 */
static char *
mutate(struct bench *b, const char *src, const struct lines *l)
{
	char *w[BENCH_WORDS_MAX + 4], *copy = strdup(src), *tok, *save, *out;
	size_t n = 0, i, k, edits, at, len = 0;

	if (copy == NULL)
		abort();
	for (tok = strtok_r(copy, " ", &save);
	     tok != NULL && n < BENCH_WORDS_MAX;
	     tok = strtok_r(NULL, " ", &save))
		w[n++] = strdup(tok);
	edits = 1 + bench_rand(b) % 3;
	for (k = 0; k < edits; k++) {
		at = bench_rand(b) % n;
		switch (bench_rand(b) % 3) {
		case 0:
			free(w[at]);
			w[at] = strdup(random_word(b, l));
			break;
		case 1:
			memmove(w + at + 1, w + at, (n - at) * sizeof *w);
			w[at] = strdup(random_word(b, l));
			n++;
			break;
		default:
			if (n < 2)
				break;
			free(w[at]);
			memmove(w + at, w + at + 1, (n - at - 1) * sizeof *w);
			n--;
		}
	}
	if (bench_rand(b) % 2)
		for (tok = w[bench_rand(b) % n]; *tok != '\0'; tok++)
			*tok = (char)(*tok >= 'a' && *tok <= 'z' ? *tok - 32
			                                         : *tok);
	if (bench_rand(b) % 3 == 0 && w[0][0] >= 'a' && w[0][0] <= 'z')
		w[0][0] = (char)(w[0][0] - 32);
	for (i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	out = xmalloc(len + 3);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, w[i]);
		strcat(out, i + 1 < n ? " " : "");
		free(w[i]);
	}
	if (bench_rand(b) % 2)
		strcat(out, "!!");
	free(copy);
	return (out);
}

/* Add one comment at a random time in the window. */
static void
add(struct bench *b, char *text, int campaign, const char *who)
{
	struct comment *c;

	b->c = xreallocarray(b->c, b->n + 1, sizeof *b->c);
	c = &b->c[b->n++];
	memset(c, 0, sizeof *c);
	c->text = text;
	c->campaign = campaign;
	c->ts = (long long)(bench_rand(b) % BENCH_WINDOW);
	snprintf(c->who, sizeof c->who, "%s", who);
}

/*
 * Take ncamp sources of at least BENCH_MIN_SOURCE distinct words and nord
 * ordinary lines from a shuffled corpus; make ncopy copies of each source.
 */
static void
build(struct bench *b, const struct lines *l, int ncamp, int ncopy, int nord)
{
	struct rules_print p;
	struct norm n;
	size_t *order, i, j, t;
	int camps = 0, ords = 0, k;
	char who[32];

	order = xcalloc(l->n, sizeof *order);
	for (i = 0; i < l->n; i++)
		order[i] = i;
	for (i = l->n - 1; i > 0; i--) {
		j = bench_rand(b) % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	normalize_init(&n);
	for (i = 0; i < l->n && (camps < ncamp || ords < nord); i++) {
		print_text(&n, l->s[order[i]], &p);
		if (camps < ncamp && p.words >= BENCH_MIN_SOURCE) {
			for (k = 0; k < ncopy; k++) {
				snprintf(who, sizeof who, "c%d.%d", camps, k);
				add(b, mutate(b, l->s[order[i]], l), camps,
				    who);
			}
			camps++;
		} else if (ords < nord) {
			snprintf(who, sizeof who, "o%d", ords++);
			add(b, xstrdup(l->s[order[i]]), -1, who);
		}
	}
	for (i = 0; i < b->n; i++) {
		print_text(&n, b->c[i].text, &b->c[i].print);
		b->c[i].norm = xmalloc(n.form[0].len + 1);
		memcpy(b->c[i].norm, n.form[0].buf, n.form[0].len);
		b->c[i].norm[n.form[0].len] = '\0';
	}
	normalize_free(&n);
	free(order);
	qsort(b->c, b->n, sizeof *b->c, cmp_ts);
	rank(b, camps);
	fprintf(
	    stderr, "campaigns=%d copies=%d ordinary=%d\n", camps, ncopy, ords);
}

static int
cmp_ts(const void *a, const void *b)
{
	const struct comment *x = a, *y = b;

	if (x->ts != y->ts)
		return (x->ts < y->ts ? -1 : 1);
	return (strcmp(x->who, y->who));
}

/* Number each campaign's copies in time order. */
static void
rank(struct bench *b, int ncamp)
{
	int *seen = xcalloc((size_t)ncamp + 1, sizeof *seen);
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->c[i].campaign >= 0)
			b->c[i].rank = ++seen[b->c[i].campaign];
	}
	free(seen);
}

/* Feed every comment through the index; returns queries per second. */
static double
run(struct bench *b, double sim)
{
	struct similar *idx = similar_new(BENCH_MAX_RECORDS);
	struct similar_rec r;
	struct timespec t0, t1;
	double secs = 0;
	char id[32];
	size_t i;

	for (i = 0; i < b->n; i++) {
		memset(&r, 0, sizeof r);
		snprintf(id, sizeof id, "id%zu", i);
		r.ts = b->c[i].ts;
		r.id = id;
		r.who = r.per[RULES_PER_AUTHOR] = b->c[i].who;
		r.per[RULES_PER_IP] = r.per[RULES_PER_THREAD] = "";
		r.print = b->c[i].print;
		similar_expire(idx, r.ts - BENCH_WINDOW);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		b->c[i].authors = similar_authors(idx, similar_add(idx, &r),
		    r.ts - BENCH_WINDOW, &r, sim, BENCH_AUTHORS);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs += (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	}
	similar_free(idx);
	return ((double)b->n / secs);
}

/* Count the authors of each campaign copy by comparing with all before. */
static void
exact(struct bench *b, double sim)
{
	const struct comment *me, *o;
	size_t i, j, k, nwho;
	const char *who[BENCH_AUTHORS];
	int eq, need = (int)(sim * RULES_SIG + 0.999999);

	for (i = 0; i < b->n; i++) {
		me = &b->c[i];
		if (me->campaign < 0 || me->rank < BENCH_AUTHORS)
			continue;
		who[0] = me->who;
		for (j = 0, nwho = 1; j < i && nwho < BENCH_AUTHORS; j++) {
			o = &b->c[j];
			for (k = 0, eq = 0; k < RULES_SIG; k++)
				eq += o->print.sig[k] == me->print.sig[k];
			if (eq < need || o->print.words == 0)
				continue;
			for (k = 0; k < nwho && strcmp(who[k], o->who); k++)
				continue;
			if (k == nwho)
				who[nwho++] = o->who;
		}
		b->c[i].exact = (long long)nwho;
	}
}

/* Split normalised text into at most BENCH_WORDS_MAX tokens. */
static size_t
tokens(const char *s, const char **t, size_t *len)
{
	size_t n = 0, i = 0;

	while (s[i] != '\0' && n < BENCH_WORDS_MAX) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		t[n] = s + i;
		while (s[i] != '\0' && s[i] != ' ')
			i++;
		len[n] = (size_t)(s + i - t[n]);
		n++;
	}
	return (n);
}

/*
 * Tell whether two token lists share BENCH_RUN tokens in a row (all of
 * the shorter one when it has fewer).
 */
static int
shares_run(const char *const *ta, const size_t *la, size_t na,
    const char *const *tb, const size_t *lb, size_t nb)
{
	size_t i, j, k, run;

	run = na < nb ? na : nb;
	if (run > BENCH_RUN)
		run = BENCH_RUN;
	if (run == 0)
		return (0);
	for (i = 0; i + run <= na; i++) {
		for (j = 0; j + run <= nb; j++) {
			for (k = 0; k < run; k++) {
				if (la[i + k] != lb[j + k] ||
				    memcmp(ta[i + k], tb[j + k], la[i + k]))
					break;
			}
			if (k == run)
				return (1);
		}
	}
	return (0);
}

/*
 * The word edits (replace, insert, delete) that turn one token list into
 * the other, counted up to BENCH_EDITS + 1.
 */
static size_t
word_edits(const char *const *ta, const size_t *la, size_t na,
    const char *const *tb, const size_t *lb, size_t nb)
{
	size_t row[BENCH_WORDS_MAX + 1], diag, up, i, j, best;

	if ((na > nb ? na - nb : nb - na) > BENCH_EDITS)
		return (BENCH_EDITS + 1);
	for (j = 0; j <= nb; j++)
		row[j] = j;
	for (i = 1; i <= na; i++) {
		diag = row[0];
		row[0] = best = i;
		for (j = 1; j <= nb; j++) {
			up = row[j];
			row[j] = diag +
			    (la[i - 1] != lb[j - 1] ||
			        memcmp(ta[i - 1], tb[j - 1], la[i - 1]) != 0);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
			if (row[j] < best)
				best = row[j];
		}
		if (best > BENCH_EDITS)
			return (BENCH_EDITS + 1);
	}
	return (row[nb]);
}

/*
 * Tell whether two normalised texts are copies of each other: they share
 * a run of BENCH_RUN words (a quote, a retweet), or one is the other with
 * at most BENCH_EDITS words edited and at least half its words kept (what
 * mutate() does to a campaign copy).  A measure of copying that owes
 * nothing to word sets, to tell the corpus's own copies (retweets, memes,
 * spam) from ordinary comments grouped by chance.
 */
static int
is_copy(const char *a, const char *b)
{
	const char *ta[BENCH_WORDS_MAX], *tb[BENCH_WORDS_MAX];
	size_t la[BENCH_WORDS_MAX], lb[BENCH_WORDS_MAX], na, nb, d;

	na = tokens(a, ta, la);
	nb = tokens(b, tb, lb);
	if (shares_run(ta, la, na, tb, lb, nb))
		return (1);
	d = word_edits(ta, la, na, tb, lb, nb);
	return (d <= BENCH_EDITS && 2 * d <= (na < nb ? na : nb));
}

/*
 * Mark the grouped ordinary comments that are copies in the corpus
 * itself: with at least 2 earlier texts of other authors alike enough
 * that are also copies of it.
 */
static void
judge(struct bench *b, double sim)
{
	struct comment *me;
	const struct comment *o;
	size_t i, j, k;
	int eq, copies, need = (int)(sim * RULES_SIG + 0.999999);

	for (i = 0; i < b->n; i++) {
		me = &b->c[i];
		me->copied = 0;
		if (me->campaign >= 0 || me->authors < BENCH_AUTHORS)
			continue;
		for (j = 0, copies = 0; j < i && copies < 2; j++) {
			o = &b->c[j];
			for (k = 0, eq = 0; k < RULES_SIG; k++)
				eq += o->print.sig[k] == me->print.sig[k];
			copies += eq >= need && o->print.words > 0 &&
			    strcmp(o->who, me->who) != 0 &&
			    is_copy(o->norm, me->norm);
		}
		me->copied = copies >= 2;
	}
}

/* Print each wrongly grouped ordinary comment and those alike before it. */
static void
explain(const struct bench *b, double sim)
{
	const struct comment *me, *o;
	size_t i, j, k;
	int eq, need = (int)(sim * RULES_SIG + 0.999999);

	for (i = 0; i < b->n; i++) {
		me = &b->c[i];
		if (me->campaign >= 0 || me->authors < BENCH_AUTHORS ||
		    me->copied)
			continue;
		printf("grouped %s [%u words]: %s\n", me->who, me->print.words,
		    me->text);
		for (j = 0; j < i; j++) {
			o = &b->c[j];
			for (k = 0, eq = 0; k < RULES_SIG; k++)
				eq += o->print.sig[k] == me->print.sig[k];
			if (eq >= need)
				printf("  %d/%d %s: %s\n", eq, RULES_SIG,
				    o->who, o->text);
		}
	}
}

/* Print one line per min_words for a similarity. */
static void
report(const struct bench *b, double sim, double qps)
{
	const struct comment *c;
	size_t i, m, copies, caught, exact_caught, ord, grouped, wrong;

	for (m = 0; m < nminwords; m++) {
		copies = caught = exact_caught = ord = grouped = wrong = 0;
		for (i = 0; i < b->n; i++) {
			c = &b->c[i];
			if (c->campaign < 0) {
				ord++;
				if (c->print.words < minwords[m] ||
				    c->authors < BENCH_AUTHORS)
					continue;
				grouped++;
				wrong += !c->copied;
			} else if (c->rank >= BENCH_AUTHORS) {
				copies++;
				if (c->print.words < minwords[m])
					continue;
				caught += c->authors >= BENCH_AUTHORS;
				exact_caught += c->exact >= BENCH_AUTHORS;
			}
		}
		printf("similarity=%.2f min_words=%ld authors=%d "
		       "campaign_caught=%.4f exact_caught=%.4f "
		       "ordinary_grouped=%.5f ordinary_copied=%.5f "
		       "queries_per_s=%.0f\n",
		    sim, minwords[m], BENCH_AUTHORS, (double)caught / copies,
		    (double)exact_caught / copies, (double)wrong / ord,
		    (double)(grouped - wrong) / ord, qps);
	}
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct lines l;
	int ch, ncamp = 200, ncopy = 10, nord = 20000, verbose = 0;
	size_t s;
	double qps;

	memset(&b, 0, sizeof b);
	b.rng = 20240601;
	while ((ch = getopt(argc, argv, "c:M:n:o:S:s:v")) != -1) {
		switch (ch) {
		case 'c':
			ncamp = atoi(optarg);
			break;
		case 'M':
			parse_minwords(optarg);
			break;
		case 'n':
			ncopy = atoi(optarg);
			break;
		case 'o':
			nord = atoi(optarg);
			break;
		case 's':
			b.rng = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			parse_sims(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || ncamp < 1 || ncopy < 1 || nord < 0)
		usage();
	read_lines(argv[optind], &l);
	if (l.n < 2)
		usage();
	build(&b, &l, ncamp, ncopy, nord);
	for (s = 0; s < nsims; s++) {
		qps = run(&b, sims[s]);
		exact(&b, sims[s]);
		judge(&b, sims[s]);
		report(&b, sims[s], qps);
		if (verbose)
			explain(&b, sims[s]);
	}
	return (0);
}
