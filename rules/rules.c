/*
 * rules.c -- owns struct ruleset: built once from a rules_spec (word lists
 * read, patterns compiled), shared by reference count between the daemon's
 * current pointer and every comment in flight, never changed after it is
 * built.  Also the verdict precedence (reject over hold over approve), the
 * word-list file reader, rules_open(), the one way files named in the
 * config are opened, and rules_verror(), the one form of their errors.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utf8proc.h>

#include "rules_int.h"
#include "ralloc.h"

#define RULES_LINE_MAX 4096 /* bytes in one word-list line */
#define RULES_LIST_MAX (64L * 1024 * 1024) /* bytes in one word list */

struct ruleset {
	int refs;
	struct keyword *kw; /* owned */
	struct rules_rate rates[RULES_MAX_RATES]; /* names owned */
	size_t nrates;
	struct rules_authors authors;
	char stamp[RULES_STAMP_LEN + 1];
};

/* A decision being made: the rules that fired so far, and their verdict. */
struct rules_fired {
	char *reasons; /* owned: space-separated */
	size_t len;
	size_t cap;
	enum rules_verdict verdict;
};

/* Built-in reasons; rule names may not take them. */
static const char *const rules_reserved[] = {"author-banned", "author-premod",
    "author-trusted", "thread-closed", "thread-premod", "new-author",
    "rejection-history", "matcher-error"};

static uint64_t rules_hash(uint64_t, const void *, size_t);
static uint64_t rules_hash_str(uint64_t, const char *);
static void rules_make_stamp(struct ruleset *, const struct rules_spec *);
static void rules_fire(struct rules_fired *, const char *, enum rules_verdict);
static int rules_list_line(char *, size_t, const char *, int, char **);

/* Mix bytes into a 64-bit FNV-1a hash. */
static uint64_t
rules_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return (h);
}

/* Mix a string and its terminator into the hash. */
static uint64_t
rules_hash_str(uint64_t h, const char *s)
{
	return (rules_hash(h, s, strlen(s) + 1));
}

/* Stamp the ruleset with a short hash of everything it judges by. */
static void
rules_make_stamp(struct ruleset *rs, const struct rules_spec *spec)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, j;
	long v[4];

	for (i = 0; i < spec->nlists; i++) {
		h = rules_hash_str(h, spec->lists[i].name);
		v[0] = spec->lists[i].action;
		v[1] = spec->lists[i].match;
		h = rules_hash(h, v, 2 * sizeof v[0]);
		for (j = 0; j < spec->lists[i].nentries; j++)
			h = rules_hash_str(h, spec->lists[i].entries[j].text);
	}
	h = rules_hash_str(h, "\001allow");
	for (j = 0; j < spec->nallow; j++)
		h = rules_hash_str(h, spec->allow[j].text);
	for (i = 0; i < spec->nrates; i++) {
		h = rules_hash_str(h, spec->rates[i].name);
		v[0] = spec->rates[i].per;
		v[1] = spec->rates[i].limit;
		v[2] = spec->rates[i].window;
		v[3] = spec->rates[i].action;
		h = rules_hash(h, v, sizeof v);
	}
	h = rules_hash(h, &spec->authors.premod_until_approved, sizeof(long));
	if (spec->authors.hold_if_rejected) {
		v[0] = (long)(spec->authors.rejected_ratio * 1000000);
		v[1] = spec->authors.rejected_min;
		v[2] = spec->authors.rejected_days;
		h = rules_hash(h, v, 3 * sizeof v[0]);
	}
	/*
	 * The same rules judge "&lt;" or "<x>" differently in plain text, so
	 * the stamp tells the formats apart; HTML, the default, adds nothing
	 * and keeps the stamps it always had.
	 */
	if (spec->format != RULES_FORMAT_HTML)
		h = rules_hash_str(h, "\001text");
	snprintf(rs->stamp, sizeof rs->stamp, "%012llx",
	    (unsigned long long)(h >> 16));
}

/*
 * Build a ruleset from spec (which the caller keeps).  On error *cause gets
 * every problem, one "file:line: what" line each.
 */
int
rules_build(const struct rules_spec *spec, struct ruleset **rsp, char **cause)
{
	struct ruleset *rs;
	size_t i;

	if (spec->nrates > RULES_MAX_RATES) {
		xasprintf(
		    cause, "too many rate rules (at most %d)", RULES_MAX_RATES);
		return (-1);
	}
	rs = xcalloc(1, sizeof *rs);
	if (keyword_build(spec, &rs->kw, cause) == -1) {
		free(rs);
		return (-1);
	}
	rs->refs = 1;
	rs->nrates = spec->nrates;
	for (i = 0; i < spec->nrates; i++) {
		rs->rates[i] = spec->rates[i];
		rs->rates[i].name = xstrdup(spec->rates[i].name);
	}
	rs->authors = spec->authors;
	rules_make_stamp(rs, spec);
	*rsp = rs;
	return (0);
}

/* Take a reference. */
struct ruleset *
rules_ref(struct ruleset *rs)
{
	rs->refs++;
	return (rs);
}

/* Drop a reference; the last one frees the ruleset. */
void
rules_unref(struct ruleset *rs)
{
	size_t i;

	if (rs == NULL || --rs->refs > 0)
		return;
	keyword_free(rs->kw);
	for (i = 0; i < rs->nrates; i++)
		free(rs->rates[i].name);
	free(rs);
}

/* Give the short hash stamped on every decision made by this ruleset. */
const char *
rules_stamp(const struct ruleset *rs)
{
	return (rs->stamp);
}

/* Count the rate rules. */
size_t
rules_nrates(const struct ruleset *rs)
{
	return (rs->nrates);
}

/* Give rate rule i. */
const struct rules_rate *
rules_rate(const struct ruleset *rs, size_t i)
{
	return (&rs->rates[i]);
}

/* Give the author reputation rules. */
const struct rules_authors *
rules_authors(const struct ruleset *rs)
{
	return (&rs->authors);
}

/* Count the compiled keyword patterns. */
size_t
rules_npatterns(const struct ruleset *rs)
{
	return (keyword_npatterns(rs->kw));
}

/* Judge a text against the keyword rules. */
int
rules_match_text(
    struct ruleset *rs, const char *text, size_t len, struct rules_match *m)
{
	memset(m, 0, sizeof *m);
	return (keyword_match(rs->kw, text, len, m));
}

/* Free what a match holds. */
void
rules_match_free(struct rules_match *m)
{
	free(m->reasons);
	free(m->matched);
	m->reasons = m->matched = NULL;
}

/* Name a rule that fired, and raise the verdict to the one it asks for. */
static void
rules_fire(struct rules_fired *f, const char *name, enum rules_verdict v)
{
	size_t n = strlen(name);

	if (f->len + n + 2 > f->cap) {
		f->cap = (f->len + n + 2) * 2;
		f->reasons = xreallocarray(f->reasons, f->cap, 1);
	}
	if (f->len > 0)
		f->reasons[f->len++] = ' ';
	memcpy(f->reasons + f->len, name, n + 1);
	f->len += n;
	if (v > f->verdict)
		f->verdict = v;
}

/*
 * Combine the keyword verdict with what Redis knows: author and thread
 * state, reputation, rate counts.  Reject beats hold beats approve; a
 * trusted author skips holds but never rejects; every rule that fired is
 * named.
 */
void
rules_decide(const struct ruleset *rs, const struct rules_match *m,
    const struct rules_ctx *ctx, struct rules_decision *d)
{
	const struct rules_authors *a = &rs->authors;
	struct rules_fired f;
	size_t i;

	f.len = 0;
	f.cap = 64;
	f.reasons = xcalloc(1, f.cap);
	f.verdict = m->verdict;
	if (m->reasons != NULL && *m->reasons != '\0')
		rules_fire(&f, m->reasons, m->verdict);
	for (i = 0; i < rs->nrates; i++) {
		if (ctx->rate[i] >= 0 &&
		    rate_exceeded(&rs->rates[i], ctx->rate[i]))
			rules_fire(&f, rs->rates[i].name, rs->rates[i].action);
	}
	if (ctx->trust == RULES_TRUST_BANNED)
		rules_fire(&f, "author-banned", RULES_REJECT);
	if (ctx->mode == RULES_MODE_CLOSED)
		rules_fire(&f, "thread-closed", RULES_REJECT);
	if (ctx->mode == RULES_MODE_PREMOD)
		rules_fire(&f, "thread-premod", RULES_HOLD);
	if (ctx->trust == RULES_TRUST_PREMOD)
		rules_fire(&f, "author-premod", RULES_HOLD);
	if (ctx->has_author && ctx->trust == RULES_TRUST_NONE &&
	    a->premod_until_approved > 0 &&
	    ctx->approved < a->premod_until_approved)
		rules_fire(&f, "new-author", RULES_HOLD);
	if (ctx->has_author && ctx->trust == RULES_TRUST_NONE &&
	    a->hold_if_rejected && ctx->recent_rejected >= a->rejected_min &&
	    ctx->recent_decided > 0 &&
	    (double)ctx->recent_rejected >=
	        a->rejected_ratio * (double)ctx->recent_decided)
		rules_fire(&f, "rejection-history", RULES_HOLD);
	if (ctx->trust == RULES_TRUST_TRUSTED && f.verdict == RULES_HOLD) {
		rules_fire(&f, "author-trusted", RULES_APPROVE);
		f.verdict = RULES_APPROVE;
	}
	d->verdict = f.verdict;
	d->reasons = f.reasons;
}

/* Free what a decision holds. */
void
rules_decision_free(struct rules_decision *d)
{
	free(d->reasons);
	d->reasons = NULL;
}

/* Name a verdict as -e prints it. */
const char *
rules_verdict_name(enum rules_verdict v)
{
	static const char *const names[] = {"approve", "hold", "reject"};

	return (names[v]);
}

/* Name a verdict as the comment record's status. */
const char *
rules_status_name(enum rules_verdict v)
{
	static const char *const names[] = {"approved", "held", "rejected"};

	return (names[v]);
}

/* Tell whether a rule name is 1-64 bytes of [A-Za-z0-9._-]. */
int
rules_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RULES_MAX_NAME)
		return (0);
	return (strspn(s,
	            "abcdefghijklmnopqrstuvwxyz"
	            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n);
}

/* Tell whether a name belongs to a built-in reason. */
int
rules_name_reserved(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof rules_reserved / sizeof rules_reserved[0]; i++) {
		if (strcmp(s, rules_reserved[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Clean one word-list line in place: strip the end of line and surrounding
 * blanks.  Returns 1 for an entry, 0 for a blank or comment line, -1 (with
 * *cause) for a line that cannot be an entry.
 */
static int
rules_list_line(char *s, size_t len, const char *path, int lineno, char **cause)
{
	size_t a = 0;

	if (memchr(s, '\0', len) != NULL) {
		xasprintf(cause, "%s:%d: NUL byte in word list", path, lineno);
		return (-1);
	}
	while (len > 0 &&
	    (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
	        s[len - 1] == '\t'))
		s[--len] = '\0';
	while (a < len && (s[a] == ' ' || s[a] == '\t'))
		a++;
	if (a == len || s[a] == '#')
		return (0);
	if (utf8proc_decompose((const utf8proc_uint8_t *)s + a,
	        (utf8proc_ssize_t)(len - a), NULL, 0, UTF8PROC_STABLE) < 0) {
		xasprintf(cause, "%s:%d: not valid UTF-8", path, lineno);
		return (-1);
	}
	memmove(s, s + a, len - a + 1);
	return (1);
}

/*
 * Open a file named in the config for reading.  A FIFO, a device or a
 * directory in its place must not block or confuse the reader, so the open
 * does not wait (O_NONBLOCK, O_NOCTTY) and anything but a regular file is
 * refused; the descriptor is then made blocking again.  Fills *st; returns
 * the descriptor, or -1 with *why (static text) set.
 */
int
rules_open(const char *path, struct stat *st, const char **why)
{
	int fd, fl;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		*why = strerror(errno);
		return (-1);
	}
	if (fstat(fd, st) == -1)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		*why = "not a regular file";
		return (-1);
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		goto fail;
	return (fd);
fail:
	*why = strerror(errno);
	close(fd);
	return (-1);
}

/*
 * Append "file:line: message" to *errors (owned, NULL while there are
 * none), one error a line: the form of every error in a config and in the
 * entries it names, for conf.c and the matcher's build alike.
 */
void
rules_verror(
    char **errors, const char *file, int line, const char *fmt, va_list ap)
{
	char *msg, *all;

	xvasprintf(&msg, fmt, ap);
	xasprintf(&all, "%s%s%s:%d: %s", *errors != NULL ? *errors : "",
	    *errors != NULL ? "\n" : "", file, line, msg);
	free(msg);
	free(*errors);
	*errors = all;
}

/*
 * Read a word list: one entry a line, blank lines and lines starting with
 * '#' skipped.  Appends to *entries; returns -1 with *cause on error.
 */
int
rules_load_list(
    const char *path, struct rules_entry **entries, size_t *n, char **cause)
{
	struct stat st;
	const char *why;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int fd, lineno = 0, rc;

	if ((fd = rules_open(path, &st, &why)) == -1) {
		xasprintf(cause, "%s: %s", path, why);
		return (-1);
	}
	if (st.st_size > RULES_LIST_MAX) {
		xasprintf(cause, "%s: larger than 64 MiB", path);
		close(fd);
		return (-1);
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (lineno == 1 && len >= 3 &&
		    memcmp(line, "\xef\xbb\xbf", 3) == 0) { /* UTF-8 BOM */
			memmove(line, line + 3, (size_t)len - 2);
			len -= 3;
		}
		while (
		    len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > RULES_LINE_MAX) {
			xasprintf(cause, "%s:%d: line longer than %d bytes",
			    path, lineno, RULES_LINE_MAX);
			goto fail;
		}
		rc = rules_list_line(line, (size_t)len, path, lineno, cause);
		if (rc == -1)
			goto fail;
		if (rc == 0)
			continue;
		*entries = xreallocarray(*entries, *n + 1, sizeof **entries);
		(*entries)[*n].text = xstrdup(line);
		(*entries)[*n].file = xstrdup(path);
		(*entries)[*n].line = lineno;
		(*n)++;
	}
	if (ferror(f)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	free(line);
	fclose(f);
	return (0);
fail:
	free(line);
	fclose(f);
	return (-1);
}

/* Free an array of entries. */
void
rules_entries_free(struct rules_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].text);
		free(e[i].file);
	}
	free(e);
}

/* Free everything a spec holds (not the struct itself). */
void
rules_spec_free(struct rules_spec *spec)
{
	size_t i;

	for (i = 0; i < spec->nlists; i++) {
		free(spec->lists[i].name);
		free(spec->lists[i].file);
		rules_entries_free(
		    spec->lists[i].entries, spec->lists[i].nentries);
	}
	free(spec->lists);
	rules_entries_free(spec->allow, spec->nallow);
	for (i = 0; i < spec->nrates; i++)
		free(spec->rates[i].name);
	memset(spec, 0, sizeof *spec);
}
