/*
 * entities.c -- owns the named character reference table: name, without
 * '&' and ';', to the one or two code points it stands for.  The table
 * (and ENTITIES_MAXLEN, its longest name) is data made by
 * tools/gen-entities.py into entities.inc; the code that searches it is
 * here, written once, so the generator carries no C of its own.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

struct entity {
	const char *name;
	uint8_t len;
	uint32_t cp[2]; /* cp[1] is 0 for one code point */
};

struct entities_key {
	const char *name; /* borrowed */
	size_t len;
};

static int entities_cmp(const void *, const void *);

#include "entities.inc"

/* Compare a name with a table entry, for bsearch(). */
static int
entities_cmp(const void *key, const void *elem)
{
	const struct entities_key *k = key;
	const struct entity *e = elem;
	size_t n;
	int r;

	n = k->len < e->len ? k->len : e->len;
	if ((r = memcmp(k->name, e->name, n)) != 0)
		return (r);
	if (k->len < e->len)
		return (-1);
	return (k->len > e->len);
}

/*
 * Look up the entity name[0..len) (no '&', no ';'); store its code points in
 * out and return how many there are (1 or 2), or return 0 if it is unknown.
 */
int
entities_lookup(const char *name, size_t len, uint32_t out[2])
{
	const struct entity *e;
	struct entities_key k;

	if (len == 0 || len > ENTITIES_MAXLEN)
		return (0);
	k.name = name;
	k.len = len;
	e = bsearch(&k, entities_table,
	    sizeof(entities_table) / sizeof(entities_table[0]),
	    sizeof(entities_table[0]), entities_cmp);
	if (e == NULL)
		return (0);
	out[0] = e->cp[0];
	if (e->cp[1] == 0)
		return (1);
	out[1] = e->cp[1];
	return (2);
}
