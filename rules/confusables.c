/*
 * confusables.c -- owns the look-alike table: the ASCII lower-case Latin
 * letter that a non-ASCII letter looks like, keyed by the code point as it
 * is after NFKD, case folding and mark removal.  The table is data made by
 * tools/gen-confusables.py into confusables.inc; the code that searches it
 * is here, written once, so the generator carries no C of its own.
 */
#include <stdint.h>
#include <stdlib.h>

#include "rules_int.h"

struct confusable {
	uint32_t cp;
	uint8_t latin;
};

static int confusables_cmp(const void *, const void *);

#include "confusables.inc"

/* Compare a code point with a table entry, for bsearch(). */
static int
confusables_cmp(const void *key, const void *elem)
{
	const uint32_t *cp = key;
	const struct confusable *e = elem;

	if (*cp < e->cp)
		return (-1);
	return (*cp > e->cp);
}

/* Return the Latin letter ('a'..'z') that cp looks like, or 0. */
uint32_t
confusables_latin(uint32_t cp)
{
	const struct confusable *e;

	if (cp < confusables_table[0].cp)
		return (0);
	e = bsearch(&cp, confusables_table,
	    sizeof(confusables_table) / sizeof(confusables_table[0]),
	    sizeof(confusables_table[0]), confusables_cmp);
	return (e == NULL ? 0 : e->latin);
}
