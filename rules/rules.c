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

/* Built-in reasons; rule names may not take them. */
static const char *const rules_reserved[] = {"author-banned", "author-premod",
    "author-trusted", "thread-closed", "thread-premod", "new-author",
    "rejection-history", "matcher-error", "score-hold", "score-reject"};

static uint64_t rules_hash(uint64_t, const void *, size_t);
static uint64_t rules_hash_str(uint64_t, const char *);
static void rules_make_stamp(struct ruleset *, const struct rules_spec *);
static void rules_copy_content(struct ruleset *, const struct rules_spec *);
static uint64_t rules_stamp_content(uint64_t, const struct rules_spec *);
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
	h = rules_stamp_content(h, spec);
	snprintf(rs->stamp, sizeof rs->stamp, "%012llx",
	    (unsigned long long)(h >> 16));
}

/*
 * Copy the content rules into the ruleset, names owned; a links rule's
 * domains stay with the spec (links_build() compiled them).
 */
static void
rules_copy_content(struct ruleset *rs, const struct rules_spec *spec)
{
	size_t i;

	memcpy(rs->lrules, spec->links, sizeof rs->lrules);
	rs->nlrules = spec->nlinks;
	for (i = 0; i < rs->nlrules; i++) {
		rs->lrules[i].name = xstrdup(spec->links[i].name);
		rs->lrules[i].domains = NULL;
	}
	memcpy(rs->repeats, spec->repeats, sizeof rs->repeats);
	rs->nrepeats = spec->nrepeats;
	for (i = 0; i < rs->nrepeats; i++)
		rs->repeats[i].name = xstrdup(spec->repeats[i].name);
	memcpy(rs->campaigns, spec->campaigns, sizeof rs->campaigns);
	rs->ncampaigns = spec->ncampaigns;
	for (i = 0; i < rs->ncampaigns; i++)
		rs->campaigns[i].name = xstrdup(spec->campaigns[i].name);
	memcpy(rs->shouts, spec->shouts, sizeof rs->shouts);
	rs->nshouts = spec->nshouts;
	for (i = 0; i < rs->nshouts; i++)
		rs->shouts[i].name = xstrdup(spec->shouts[i].name);
	memcpy(rs->lengths, spec->lengths, sizeof rs->lengths);
	rs->nlengths = spec->nlengths;
	for (i = 0; i < rs->nlengths; i++)
		rs->lengths[i].name = xstrdup(spec->lengths[i].name);
	rs->thresholds = spec->thresholds;
	rs->format = spec->format;
}

/*
 * Mix the content rules, modes and scores into the stamp.  A ruleset
 * without any of them adds nothing: its stamp stays what it was.
 */
static uint64_t
rules_stamp_content(uint64_t h, const struct rules_spec *spec)
{
	size_t i, j;
	long v[6];

	for (i = 0; i < spec->nlists; i++) {
		if (spec->lists[i].shadow || spec->lists[i].score != 0) {
			h = rules_hash_str(h, spec->lists[i].name);
			v[0] = spec->lists[i].shadow;
			v[1] = spec->lists[i].score;
			h = rules_hash(h, v, 2 * sizeof v[0]);
		}
	}
	for (i = 0; i < spec->nrates; i++) {
		if (spec->rates[i].shadow || spec->rates[i].score != 0) {
			h = rules_hash_str(h, spec->rates[i].name);
			v[0] = spec->rates[i].shadow;
			v[1] = spec->rates[i].score;
			h = rules_hash(h, v, 2 * sizeof v[0]);
		}
	}
	for (i = 0; i < spec->nlinks; i++) {
		const struct rules_link *l = &spec->links[i];

		h = rules_hash_str(h, l->name);
		v[0] = l->action, v[1] = l->shadow, v[2] = l->score;
		v[3] = l->max, v[4] = l->approved_below, v[5] = 1;
		h = rules_hash(h, v, sizeof v);
		for (j = 0; j < l->ndomains; j++)
			h = rules_hash_str(h, l->domains[j].text);
	}
	if (spec->nlink_allow > 0)
		h = rules_hash_str(h, "\001link_allow");
	for (j = 0; j < spec->nlink_allow; j++)
		h = rules_hash_str(h, spec->link_allow[j].text);
	for (i = 0; i < spec->nrepeats; i++) {
		const struct rules_repeat *r = &spec->repeats[i];

		h = rules_hash_str(h, r->name);
		v[0] = r->action, v[1] = r->shadow, v[2] = r->score;
		v[3] = r->per, v[4] = r->window, v[5] = 2;
		h = rules_hash(h, v, sizeof v);
	}
	for (i = 0; i < spec->ncampaigns; i++) {
		const struct rules_campaign *c = &spec->campaigns[i];

		h = rules_hash_str(h, c->name);
		v[0] = c->action, v[1] = c->shadow, v[2] = c->score;
		v[3] = c->authors, v[4] = c->window;
		v[5] = (long)(c->similarity * 1000000) * 1000 + c->min_words;
		h = rules_hash(h, v, sizeof v);
	}
	for (i = 0; i < spec->nshouts; i++) {
		const struct rules_shout *sh = &spec->shouts[i];

		h = rules_hash_str(h, sh->name);
		v[0] = sh->action, v[1] = sh->shadow, v[2] = sh->score;
		v[3] = sh->min_letters, v[4] = (long)(sh->ratio * 1000000);
		v[5] = 3;
		h = rules_hash(h, v, sizeof v);
	}
	for (i = 0; i < spec->nlengths; i++) {
		const struct rules_length *l = &spec->lengths[i];

		h = rules_hash_str(h, l->name);
		v[0] = l->action, v[1] = l->shadow, v[2] = l->score;
		v[3] = l->max, v[4] = 0, v[5] = 4;
		h = rules_hash(h, v, sizeof v);
	}
	if (spec->thresholds.hold != 0 || spec->thresholds.reject != 0) {
		v[0] = spec->thresholds.hold, v[1] = spec->thresholds.reject;
		h = rules_hash(h, v, 2 * sizeof v[0]);
	}
	return (h);
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
	if (spec->nlinks > 0 && links_build(spec, &rs->links, cause) == -1) {
		keyword_free(rs->kw);
		free(rs);
		return (-1);
	}
	rs->refs = 1;
	rs->nrates = spec->nrates;
	for (i = 0; i < spec->nrates; i++) {
		rs->rates[i] = spec->rates[i];
		rs->rates[i].name = xstrdup(spec->rates[i].name);
	}
	rs->acts = xcalloc(spec->nlists + 1, sizeof *rs->acts);
	rs->nacts = spec->nlists;
	for (i = 0; i < spec->nlists; i++) {
		rs->acts[i].name = xstrdup(spec->lists[i].name);
		rs->acts[i].action = spec->lists[i].action;
		rs->acts[i].shadow = spec->lists[i].shadow;
		rs->acts[i].score = spec->lists[i].score;
	}
	rules_copy_content(rs, spec);
	rs->scored = rules_spec_has_scores(spec) ||
	    spec->thresholds.hold != 0 || spec->thresholds.reject != 0;
	rs->authors = spec->authors;
	rules_make_stamp(rs, spec);
	*rsp = rs;
	return (0);
}

/*
 * Compile the keyword entries of spec only, for a config that has other
 * errors: -1 with *cause holding every entry that does not compile.
 */
int
rules_check(const struct rules_spec *spec, char **cause)
{
	struct keyword *kw;

	if (keyword_build(spec, &kw, cause) == -1)
		return (-1);
	keyword_free(kw);
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
	links_free(rs->links);
	for (i = 0; i < rs->nrates; i++)
		free(rs->rates[i].name);
	for (i = 0; i < rs->nacts; i++)
		free(rs->acts[i].name);
	free(rs->acts);
	for (i = 0; i < rs->nlrules; i++)
		free(rs->lrules[i].name);
	for (i = 0; i < rs->nrepeats; i++)
		free(rs->repeats[i].name);
	for (i = 0; i < rs->ncampaigns; i++)
		free(rs->campaigns[i].name);
	for (i = 0; i < rs->nshouts; i++)
		free(rs->shouts[i].name);
	for (i = 0; i < rs->nlengths; i++)
		free(rs->lengths[i].name);
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

/*
 * Judge a text against the keyword rules, and measure what the content
 * rules look at: its links, letters and capitals, length, and print.
 */
int
rules_match_text(
    struct ruleset *rs, const char *text, size_t len, struct rules_match *m)
{
	const struct norm_out *o;

	memset(m, 0, sizeof *m);
	if (keyword_match(rs->kw, text, len, m) == -1)
		return (-1);
	if (rs->links != NULL &&
	    links_scan(rs->links, text, len, &m->links, &m->link_deny) == -1)
		return (-1);
	if (rs->nshouts > 0 || rs->nlengths > 0)
		content_measure(rs->format, text, len, m);
	if (rs->nrepeats > 0 || rs->ncampaigns > 0) {
		o = keyword_form(rs->kw);
		similar_print(o->buf, o->len, &m->print);
	}
	return (0);
}

/* Tell whether any rule has a score: then every record gets one. */
int
rules_scored(const struct ruleset *rs)
{
	return (rs->scored);
}

/* Tell whether any rule of a spec, of any kind, has a score. */
int
rules_spec_has_scores(const struct rules_spec *spec)
{
	size_t i;
	long any = 0;

	for (i = 0; i < spec->nlists; i++)
		any |= spec->lists[i].score;
	for (i = 0; i < spec->nrates; i++)
		any |= spec->rates[i].score;
	for (i = 0; i < spec->nlinks; i++)
		any |= spec->links[i].score;
	for (i = 0; i < spec->nrepeats; i++)
		any |= spec->repeats[i].score;
	for (i = 0; i < spec->ncampaigns; i++)
		any |= spec->campaigns[i].score;
	for (i = 0; i < spec->nshouts; i++)
		any |= spec->shouts[i].score;
	for (i = 0; i < spec->nlengths; i++)
		any |= spec->lengths[i].score;
	return (any != 0);
}

/* Count the repeats rules, and give rule i. */
size_t
rules_nrepeats(const struct ruleset *rs)
{
	return (rs->nrepeats);
}

const struct rules_repeat *
rules_repeat(const struct ruleset *rs, size_t i)
{
	return (&rs->repeats[i]);
}

/* Count the campaigns rules, and give rule i. */
size_t
rules_ncampaigns(const struct ruleset *rs)
{
	return (rs->ncampaigns);
}

const struct rules_campaign *
rules_campaign(const struct ruleset *rs, size_t i)
{
	return (&rs->campaigns[i]);
}

/* Free what a match holds. */
void
rules_match_free(struct rules_match *m)
{
	free(m->reasons);
	free(m->matched);
	m->reasons = m->matched = NULL;
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
	for (i = 0; i < spec->nlinks; i++) {
		free(spec->links[i].name);
		rules_entries_free(
		    spec->links[i].domains, spec->links[i].ndomains);
	}
	rules_entries_free(spec->link_allow, spec->nlink_allow);
	for (i = 0; i < spec->nrepeats; i++)
		free(spec->repeats[i].name);
	for (i = 0; i < spec->ncampaigns; i++)
		free(spec->campaigns[i].name);
	for (i = 0; i < spec->nshouts; i++)
		free(spec->shouts[i].name);
	for (i = 0; i < spec->nlengths; i++)
		free(spec->lengths[i].name);
	memset(spec, 0, sizeof *spec);
}
