/*
 * fuzz_wordlist.c -- libFuzzer target for the word-list reader and the
 * keyword compiler: the input is written as a word-list file in a private
 * directory made once, rules_load_list() reads it, and a list that loads
 * becomes a word list and a substring list of one ruleset, and the word
 * list and allow list of another.  Fixed texts and every entry are judged.
 *
 * The invariants: an entry that is neither a regex nor a wildcard matches
 * itself in both lists of the first ruleset, and is approved by the second,
 * whose allow list holds it; such entries always compile.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utf8proc.h>

#include "rules_int.h"
#include "xmalloc.h"

#include "fuzz.h"

#define FUZZ_MAX_HITS 65536 /* keyword.c's KW_MAX_HITS */

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void fuzz_cleanup(void);
static void fuzz_check_entries(const struct rules_entry *, size_t);
static int fuzz_regex(const char *);
static int fuzz_plain(const char *);
static int fuzz_keep(const char *, const char *);
static size_t fuzz_normlen(const char *);
static struct rules_entry *fuzz_copy(
    const struct rules_entry *, size_t, const char *, size_t *);
static void fuzz_list(struct rules_list *, const char *, enum rules_verdict,
    enum rules_matchmode, const struct rules_entry *, size_t, const char *);
static void fuzz_fail(const char *, const char *, const struct rules_match *)
    __attribute__((noreturn));
static void fuzz_check_match(const struct rules_match *);
static int fuzz_judge(struct ruleset *, const char *, struct rules_match *);
static int fuzz_build_pair(
    const struct rules_entry *, size_t, const char *, struct ruleset **);
static void fuzz_build_allow(
    const struct rules_entry *, size_t, const char *, struct ruleset **);

static const char *const fuzz_texts[] = {"", "a perfectly fine comment",
    "f u c k this sh1t and a$$", "<b>isi</b> agents &amp; bit.ly/x",
    "сука cyka 傻逼 🖕🏽", "aaaaaaaaaaaa bbbbbbbb"};

static char fuzz_dir[] = "/tmp/modq-fuzz-list-XXXXXX";
static int fuzz_known; /* $FUZZ_KNOWN set: tolerate reported bugs */
static char *fuzz_path; /* owned: the word-list file */
static struct norm fuzz_norm;

/* Remove the private directory at exit. */
static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
	free(fuzz_path);
	normalize_free(&fuzz_norm);
}

/* Make the private directory. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_mkdtemp(fuzz_dir);
	xasprintf(&fuzz_path, "%s/list.txt", fuzz_dir);
	fuzz_known = getenv("FUZZ_KNOWN") != NULL;
	normalize_init(&fuzz_norm);
	atexit(fuzz_cleanup);
	return (0);
}

/*
 * Check what rules_load_list() promises: entries are trimmed, valid UTF-8,
 * never comments, with the file and increasing line numbers.
 */
static void
fuzz_check_entries(const struct rules_entry *e, size_t n)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t m;
	size_t i, k, len;
	const char *t;

	for (i = 0; i < n; i++) {
		t = e[i].text;
		len = strlen(t);
		if (len == 0 || t[0] == '#' || t[0] == ' ' || t[0] == '\t' ||
		    strchr(" \t\r\n", t[len - 1]) != NULL ||
		    strchr(t, '\n') != NULL ||
		    strcmp(e[i].file, fuzz_path) != 0 || e[i].line < 1 ||
		    (i > 0 && e[i].line <= e[i - 1].line))
			abort();
		for (k = 0; k < len; k += (size_t)m) {
			m = utf8proc_iterate((const utf8proc_uint8_t *)t + k,
			    (utf8proc_ssize_t)(len - k), &cp);
			if (m <= 0)
				abort();
		}
	}
}

/* Tell whether an entry is a /regex/. */
static int
fuzz_regex(const char *t)
{
	size_t len = strlen(t);

	return (len >= 2 && t[0] == '/' && t[len - 1] == '/');
}

/*
 * Tell whether an entry is a plain word or phrase with something to match:
 * no regex, no '*'.
 */
static int
fuzz_plain(const char *t)
{
	if (fuzz_regex(t) || strchr(t, '*') != NULL)
		return (0);
	return (fuzz_normlen(t) > 2);
}

/* Tell whether an entry is one of which: "all", "noregex" or "plain". */
static int
fuzz_keep(const char *t, const char *which)
{
	if (strcmp(which, "plain") == 0)
		return (fuzz_plain(t));
	if (strcmp(which, "noregex") == 0)
		return (!fuzz_regex(t));
	return (1);
}

/* Normalise a text into fuzz_norm; give the length of form 0. */
static size_t
fuzz_normlen(const char *t)
{
	normalize_text(&fuzz_norm, t, strlen(t));
	return (fuzz_norm.form[0].len);
}

/* Copy the entries of a kind (fuzz_keep()) as a spec owns them. */
static struct rules_entry *
fuzz_copy(
    const struct rules_entry *e, size_t n, const char *which, size_t *nout)
{
	struct rules_entry *c;
	size_t i;

	c = xcalloc(n, sizeof *c);
	*nout = 0;
	for (i = 0; i < n; i++) {
		if (!fuzz_keep(e[i].text, which))
			continue;
		c[*nout].text = xstrdup(e[i].text);
		c[*nout].file = xstrdup(e[i].file);
		c[*nout].line = e[i].line;
		(*nout)++;
	}
	return (c);
}

/* Fill a keyword list with copies of the entries. */
static void
fuzz_list(struct rules_list *l, const char *name, enum rules_verdict action,
    enum rules_matchmode match, const struct rules_entry *e, size_t n,
    const char *which)
{
	memset(l, 0, sizeof *l);
	l->name = xstrdup(name);
	l->action = action;
	l->match = match;
	l->file = xstrdup(fuzz_path);
	l->line = 1;
	l->entries = fuzz_copy(e, n, which, &l->nentries);
}

/* Report a broken invariant about an entry and stop. */
static void
fuzz_fail(const char *what, const char *entry, const struct rules_match *m)
{
	fprintf(stderr,
	    "fuzz_wordlist: %s: entry \"%s\": verdict %d, "
	    "reasons \"%s\", matched %s\n",
	    what, entry, (int)m->verdict, m->reasons, m->matched);
	abort();
}

/* Check a match: reasons, matched and verdict agree; matched is UTF-8. */
static void
fuzz_check_match(const struct rules_match *m)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t k;
	size_t i, len;

	if (m->reasons == NULL || m->matched == NULL ||
	    (m->reasons[0] != '\0') != (m->matched[0] != '\0') ||
	    (m->reasons[0] != '\0') != (m->verdict != RULES_APPROVE))
		abort();
	len = strlen(m->matched);
	for (i = 0; i < len; i += (size_t)k) {
		k = utf8proc_iterate((const utf8proc_uint8_t *)m->matched + i,
		    (utf8proc_ssize_t)(len - i), &cp);
		if (k <= 0)
			abort();
	}
}

/*
 * Judge text with rs into m, checked.  Returns 1 when no hit can have been
 * dropped at keyword.c's limit of hits per comment (so a missing match is
 * a real miss), else 0.
 *
 * Hyperscan 5.4.0 can fail a scan of a literal database (HS_UNKNOWN_ERROR,
 * regress/wordlist/hyperscan-literal-scan-error); $FUZZ_KNOWN lets a long
 * run go on past it.
 */
static int
fuzz_judge(struct ruleset *rs, const char *text, struct rules_match *m)
{
	size_t bound = 0;
	int f;

	if (rules_match_text(rs, text, strlen(text), m) == -1) {
		fprintf(
		    stderr, "fuzz_wordlist: matcher failed on \"%s\"\n", text);
		if (!fuzz_known)
			abort();
		memset(m, 0, sizeof *m);
		return (0);
	}
	fuzz_check_match(m);
	fuzz_normlen(text);
	for (f = 0; f < fuzz_norm.nforms; f++)
		bound += fuzz_norm.form[f].len;
	return (bound * rules_npatterns(rs) < FUZZ_MAX_HITS);
}

/*
 * Build the entries (all or only the plain ones) as a word list "w" that
 * rejects and a substring list "s" that holds; regexes, the same in both
 * modes, only in "w" as they are slow to compile.  Returns -1 on error.
 */
static int
fuzz_build_pair(const struct rules_entry *e, size_t n, const char *which,
    struct ruleset **rs)
{
	struct rules_spec spec;
	char *cause = NULL;
	int rc;

	memset(&spec, 0, sizeof spec);
	spec.lists = xcalloc(2, sizeof *spec.lists);
	fuzz_list(
	    &spec.lists[0], "w", RULES_REJECT, RULES_MATCH_WORD, e, n, which);
	fuzz_list(&spec.lists[1], "s", RULES_HOLD, RULES_MATCH_SUBSTRING, e, n,
	    strcmp(which, "all") == 0 ? "noregex" : which);
	spec.nlists = 2;
	rc = rules_build(&spec, rs, &cause);
	if (rc == -1) {
		/*
		 * Every error names its entry: "file:line: what", also for a
		 * pattern only the compiler rejects (regress/wordlist/regex-*,
		 * long-letter-run-*), which $FUZZ_KNOWN tolerates for now.
		 */
		if (cause == NULL ||
		    (strncmp(cause, fuzz_path, strlen(fuzz_path)) != 0 &&
		        !(fuzz_known &&
		            strncmp(cause, "keyword matcher: ", 17) == 0))) {
			fprintf(stderr,
			    "fuzz_wordlist: error without "
			    "file:line: %s\n",
			    cause != NULL ? cause : "(null)");
			abort();
		}
		free(cause);
	}
	rules_spec_free(&spec);
	return (rc);
}

/*
 * Build the entries but regexes as a word list with the plain ones
 * allowed.
 */
static void
fuzz_build_allow(const struct rules_entry *e, size_t n, const char *which,
    struct ruleset **rs)
{
	struct rules_spec spec;
	char *cause = NULL;

	memset(&spec, 0, sizeof spec);
	spec.lists = xcalloc(1, sizeof *spec.lists);
	fuzz_list(&spec.lists[0], "w", RULES_REJECT, RULES_MATCH_WORD, e, n,
	    strcmp(which, "all") == 0 ? "noregex" : which);
	spec.nlists = 1;
	spec.allow = fuzz_copy(e, n, "plain", &spec.nallow);
	if (rules_build(&spec, rs, &cause) == -1) {
		fprintf(stderr, "fuzz_wordlist: allow: %s\n", cause);
		abort(); /* the same entries built without the allow list */
	}
	rules_spec_free(&spec);
}

/* Load the input as a word list; build, judge and check what loads. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules_entry *e = NULL;
	struct ruleset *pair, *allow;
	struct rules_match m;
	const char *which = "all";
	char *cause = NULL;
	size_t n = 0, i;

	fuzz_write(fuzz_path, data, size);
	if (rules_load_list(fuzz_path, &e, &n, &cause) == -1) {
		if (cause == NULL ||
		    strncmp(cause, fuzz_path, strlen(fuzz_path)) != 0)
			abort();
		free(cause);
		rules_entries_free(e, n);
		return (0);
	}
	fuzz_check_entries(e, n);
	if (fuzz_build_pair(e, n, which, &pair) == -1) {
		which = "plain";
		if (fuzz_build_pair(e, n, which, &pair) == -1) {
			if (!fuzz_known)
				abort(); /* plain entries always compile */
			rules_entries_free(e, n);
			return (0);
		}
	}
	for (i = 0; i < sizeof fuzz_texts / sizeof fuzz_texts[0]; i++) {
		fuzz_judge(pair, fuzz_texts[i], &m);
		rules_match_free(&m);
	}
	fuzz_build_allow(e, n, which, &allow);
	for (i = 0; i < n; i++) {
		if (!fuzz_plain(e[i].text))
			continue;
		if (fuzz_judge(pair, e[i].text, &m) &&
		    (m.verdict != RULES_REJECT ||
		        strcmp(m.reasons, "w s") != 0))
			fuzz_fail("does not match itself", e[i].text, &m);
		rules_match_free(&m);
		if (fuzz_judge(allow, e[i].text, &m) &&
		    m.verdict != RULES_APPROVE)
			fuzz_fail("not covered by itself in the allow list",
			    e[i].text, &m);
		rules_match_free(&m);
	}
	rules_unref(pair);
	rules_unref(allow);
	rules_entries_free(e, n);
	return (0);
}
