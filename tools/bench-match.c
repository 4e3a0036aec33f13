/*
 * bench-match.c -- speed of normalisation plus keyword matching on one
 * core: loads a word list as one reject rule, reads comments one a line,
 * and judges them all several times over.  Prints key=value lines: the
 * median comments/s and MB/s over the runs, and how many comments hit.
 *
 * usage: modq-bench-match [-r runs] [-n normalise-only] words.txt corpus.txt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rules_int.h"
#include "xmalloc.h"

struct corpus {
	char **line;
	size_t *len;
	size_t n;
	size_t bytes;
};

static void
usage(void)
{
	fprintf(
	    stderr, "usage: modq-bench-match [-n] [-r runs] words corpus\n");
	exit(2);
}

/* Read one comment a line. */
static void
read_corpus(const char *path, struct corpus *c)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		fatal("%s", path);
	memset(c, 0, sizeof *c);
	while ((len = getline(&line, &cap, f)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		c->line = xreallocarray(c->line, c->n + 1, sizeof *c->line);
		c->len = xreallocarray(c->len, c->n + 1, sizeof *c->len);
		c->line[c->n] = xstrndup(line, (size_t)len);
		c->len[c->n] = (size_t)len;
		c->bytes += (size_t)len;
		c->n++;
	}
	free(line);
	fclose(f);
}

/* Build a ruleset with the word list as one reject rule. */
static struct ruleset *
build(const char *words)
{
	struct rules_spec spec;
	struct ruleset *rs;
	char *cause;

	memset(&spec, 0, sizeof spec);
	spec.lists = xcalloc(1, sizeof *spec.lists);
	spec.nlists = 1;
	spec.lists[0].name = xstrdup("words");
	spec.lists[0].action = RULES_REJECT;
	if (rules_load_list(words, &spec.lists[0].entries,
	        &spec.lists[0].nentries, &cause) == -1 ||
	    rules_build(&spec, &rs, &cause) == -1)
		fatalx("%s", cause);
	rules_spec_free(&spec);
	return (rs);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* Seconds of CPU time this process has used. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

int
main(int argc, char **argv)
{
	struct ruleset *rs;
	struct rules_match m;
	struct corpus c;
	struct norm n;
	double *rates, t0, t;
	size_t i, hits = 0;
	int ch, runs = 7, r, normonly = 0;

	while ((ch = getopt(argc, argv, "nr:")) != -1) {
		switch (ch) {
		case 'n':
			normonly = 1;
			break;
		case 'r':
			runs = atoi(optarg) > 0 ? atoi(optarg) : 7;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	log_init(LOG_TO_STDERR, 0);
	rs = build(argv[optind]);
	read_corpus(argv[optind + 1], &c);
	normalize_init(&n);
	rates = xcalloc((size_t)runs, sizeof *rates);
	for (r = 0; r < runs; r++) {
		hits = 0;
		t0 = cpu_now();
		for (i = 0; i < c.n; i++) {
			if (normonly) {
				normalize_text(&n, c.line[i], c.len[i]);
				continue;
			}
			if (rules_match_text(rs, c.line[i], c.len[i], &m) == -1)
				fatalx("matcher failed");
			hits += m.verdict != RULES_APPROVE;
			rules_match_free(&m);
		}
		t = cpu_now() - t0;
		rates[r] = (double)c.n / t;
	}
	qsort(rates, (size_t)runs, sizeof *rates, cmp_double);
	printf("words=%s patterns=%zu comments=%zu hits=%zu runs=%d "
	       "median_per_s=%.0f min_per_s=%.0f max_per_s=%.0f "
	       "median_mb_s=%.1f mode=%s\n",
	    argv[optind], rules_npatterns(rs), c.n, hits, runs, rates[runs / 2],
	    rates[0], rates[runs - 1],
	    rates[runs / 2] * (double)c.bytes / (double)c.n / 1e6,
	    normonly ? "normalise" : "match");
	normalize_free(&n);
	rules_unref(rs);
	return (0);
}
