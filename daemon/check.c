/*
 * check.c -- owns the dictionary check of modqd -n: reads the system word
 * list (or $MODQD_DICT), has rules_lint() judge every word with every
 * keyword entry, and prints a warning for each entry that also matches
 * ordinary words.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modqd.h"
#include "xmalloc.h"

#define CHECK_DICT "/usr/share/dict/words"
#define CHECK_DICT_MAX (64 * 1024 * 1024) /* bytes of dictionary read */

static char *check_read(const char *, size_t *, const char **);
static char **check_words(char *, size_t, size_t *);
static void check_warn(const struct rules_lint *);

/*
 * Read the whole file at path (NUL-terminated), opened as every file a
 * config names is (rules_open(): a FIFO never blocks, only a regular file
 * is read); or NULL with *why set, and errno ENOENT if there is no file.
 */
static char *
check_read(const char *path, size_t *len, const char **why)
{
	struct stat st;
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n;
	int fd;

	errno = 0;
	if ((fd = rules_open(path, &st, why)) == -1)
		return (NULL);
	if ((f = fdopen(fd, "r")) == NULL) {
		*why = strerror(errno);
		close(fd);
		return (NULL);
	}
	*len = 0;
	do {
		if (*len + 65536 + 1 > cap) {
			cap = *len + 65536 + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		n = fread(buf + *len, 1, 65536, f);
		*len += n;
	} while (n > 0 && *len <= CHECK_DICT_MAX);
	if (ferror(f) || *len > CHECK_DICT_MAX) {
		errno = *len > CHECK_DICT_MAX ? EFBIG : errno;
		*why = strerror(errno);
		errno = 0;
		fclose(f);
		free(buf);
		return (NULL);
	}
	fclose(f);
	buf[*len] = '\0';
	return (buf);
}

/* Split buf into its lines, in place, without their line endings. */
static char **
check_words(char *buf, size_t len, size_t *n)
{
	char **w = NULL, *p = buf, *nl;
	size_t cap = 0;

	*n = 0;
	while (p < buf + len) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) != NULL)
			*nl = '\0';
		if (nl != NULL && nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			w = xreallocarray(w, cap, sizeof *w);
		}
		w[(*n)++] = p;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return (w);
}

/* Print one entry's warning: up to RULES_LINT_SHOWN words, then a count. */
static void
check_warn(const struct rules_lint *r)
{
	size_t i;

	fprintf(stderr, "%s:%d: warning: \"%s\" also matches", r->entry->file,
	    r->entry->line, r->entry->text);
	for (i = 0; i < RULES_LINT_SHOWN && i < r->nwords; i++)
		fprintf(stderr, "%s %s", i > 0 ? "," : "", r->words[i]);
	if (r->nwords > RULES_LINT_SHOWN)
		fprintf(stderr, " (+%zu more)", r->nwords - RULES_LINT_SHOWN);
	fprintf(stderr, "\n");
}

/*
 * Check every keyword entry of c against the dictionary ($MODQD_DICT, else
 * /usr/share/dict/words) and print a warning for each that also matches
 * ordinary words.  Returns the number of warnings, or -1 (after saying
 * why) when the check could not run.  No dictionary is no warning: it is
 * said once, on standard error.
 */
int
check_dictionary(const struct conf *c)
{
	const char *path = getenv("MODQD_DICT");
	struct rules_lint *res;
	size_t len, nwords, nres, i;
	char *buf, **words, *cause;
	const char *why;
	int rc;

	if (path == NULL || *path == '\0')
		path = CHECK_DICT;
	if ((buf = check_read(path, &len, &why)) == NULL) {
		if (errno == ENOENT)
			fprintf(stderr,
			    "modqd: no dictionary (%s): install wamerican "
			    "to check entries against ordinary words\n",
			    path);
		else
			fprintf(
			    stderr, "modqd: dictionary %s: %s\n", path, why);
		return (0);
	}
	words = check_words(buf, len, &nwords);
	if (rules_lint(&c->rules, (const char *const *)words, nwords, &res,
	        &nres, &cause) == -1) {
		fprintf(stderr, "modqd: dictionary check: %s\n", cause);
		free(cause);
		rc = -1;
	} else {
		for (i = 0; i < nres; i++)
			check_warn(&res[i]);
		rc = (int)(nres < 1000000 ? nres : 1000000);
		rules_lint_free(res, nres);
	}
	free(words);
	free(buf);
	return (rc);
}
