/*
 * entry.c -- the check of one stream entry before anything uses it: field
 * count and names, duplicates, reserved names, the id's length and
 * characters, the body's size and UTF-8 (no overlong forms, no surrogates),
 * author, thread and ip, and the delivery count.  Pure C with no I/O, so it
 * can be fuzzed on its own.  Each kind of problem has its own dead-letter
 * reason.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "modqd.h"
#include "xmalloc.h"

#define ENTRY_SLOTS 128 /* duplicate check: > 2 * ENTRY_MAX_PAIRS, power of 2 */
#define ENTRY_MAX_ID 128
#define ENTRY_MAX_NAME 256 /* bytes of author and thread */
#define ENTRY_MAX_FIELD 64 /* bytes of a field name */
#define ENTRY_ID_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"

/* Fields the decision writes; an entry may not bring its own. */
static const char *const entry_reserved[] = {
    RECORD_FIELDS, RECORD_EDIT_FIELDS, RECORD_MOD_FIELDS, RECORD_RULE_FIELDS};

/*
 * Every dead-letter reason as a pattern of its text, and the fixed kind it
 * is counted under: the metrics label, which never holds anything taken
 * from the entry (a field name, a size).  "entry has no fields" comes from
 * intake.c.  Anything else is "other", the last kind.
 */
static const struct {
	const char *pattern; /* fnmatch(3) */
	const char *kind; /* the metrics label */
	const char *word; /* the reasons of its decisions entry */
} entry_kinds[] = {
    {"too many deliveries (*", "too many deliveries", "too-many-deliveries"},
    {"malformed entry: *", "malformed entry", "malformed"},
    {"entry has no fields", "entry has no fields", "no-fields"},
    {"bad field name: *", "bad field name", "bad-field-name"},
    {"duplicate field: *", "duplicate field", "duplicate-field"},
    {"reserved field: *", "reserved field", "reserved-field"},
    {"too many fields (*", "too many fields", "too-many-fields"},
    {"missing field: *", "missing field", "missing-field"},
    {"bad id: *", "bad id", "bad-id"},
    {"bad author: *", "bad author", "bad-author"},
    {"bad thread: *", "bad thread", "bad-thread"},
    {"body too large: *", "body too large", "too-large"},
    {"body is not valid UTF-8 (*", "body is not valid UTF-8", "bad-utf8"},
    {"field * too large: *", "field too large", "too-large"},
    {"extra fields too large: *", "extra fields too large", "too-large"},
    {NULL, "other", "other"},
};
_Static_assert(sizeof entry_kinds / sizeof entry_kinds[0] == ENTRY_KINDS,
    "ENTRY_KINDS is the number of kinds");

static int entry_name_ok(const char *, size_t);
static char *entry_check_field(const char *, const char *, size_t, long);
static unsigned int entry_known(const char *);
static char *entry_check_size(char **, size_t, size_t);
static char *entry_check_total(char **, const size_t *, size_t, long);
static int entry_duplicate(char **, size_t *, size_t, uint32_t *, size_t);

/*
 * Check that len bytes are valid UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF.  On failure *bad is the offset of the bad byte.
 */
int
entry_utf8(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned int cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			goto bad;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			goto bad;
		i += n + 1;
	}
	return (0);
bad:
	*bad = i;
	return (-1);
}

/*
 * Check an author or thread id: 1-256 bytes of UTF-8 with no control
 * character (C0 or C1), no invisible format character and no line or
 * paragraph separator; spaces are allowed ("John Smith").
 */
static int
entry_name_ok(const char *s, size_t len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t m;
	size_t i, bad;

	if (len == 0 || len > ENTRY_MAX_NAME || entry_utf8(s, len, &bad) == -1)
		return (0);
	for (i = 0; i < len; i += (size_t)m) {
		m = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(len - i), &cp);
		if (m <= 0)
			return (0);
		switch (utf8proc_category(cp)) {
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			return (0);
		default:
			break;
		}
	}
	return (1);
}

/*
 * Check one field's value; returns the dead-letter reason or NULL.  With v
 * NULL only its size len is checked (an entry modq_read cut: see
 * entry_cut_reason()), and each check looks at the size before it reads.
 */
static char *
entry_check_field(const char *name, const char *v, size_t len, long max_body)
{
	char *err;
	size_t bad;

	if (strcmp(name, "id") == 0) {
		if (len == 0 || len > ENTRY_MAX_ID ||
		    (v != NULL && !entry_id_ok(v, len)))
			return (xstrdup("bad id: must be 1 to 128 characters "
			                "of A-Z a-z 0-9 . _ : -"));
	} else if (strcmp(name, "body") == 0) {
		if (len > (size_t)max_body) {
			xasprintf(&err,
			    "body too large: %zu bytes "
			    "(queue.max_body is %ld)",
			    len, max_body);
			return (err);
		}
		if (v != NULL && entry_utf8(v, len, &bad) == -1) {
			xasprintf(
			    &err, "body is not valid UTF-8 (at byte %zu)", bad);
			return (err);
		}
	} else if (strcmp(name, "author") == 0 || strcmp(name, "thread") == 0) {
		/* empty: as if absent */
		if (len > ENTRY_MAX_NAME ||
		    (v != NULL && len > 0 && !entry_name_ok(v, len))) {
			xasprintf(&err,
			    "bad %s: must be 1 to %d bytes of "
			    "UTF-8 without control characters",
			    name, ENTRY_MAX_NAME);
			return (err);
		}
	} else if (strcmp(name, "ip") == 0) {
		/* no address: judged without ip rules (pipeline_fields()) */
	} else if (len > (size_t)max_body) {
		xasprintf(&err, "field %s too large: %zu bytes", name, len);
		return (err);
	}
	return (NULL);
}

/* The bit of a field name the contract knows (id ... thread), or 0. */
static unsigned int
entry_known(const char *name)
{
	static const char *const known[] = {
	    "id", "body", "author", "ip", "thread"};
	unsigned int k;

	for (k = 0; k < sizeof known / sizeof known[0]; k++)
		if (strcmp(name, known[k]) == 0)
			return (1u << k);
	return (0);
}

/*
 * Check the number of fields before anything looks at their names or
 * values, so the work below is bounded whatever arrives: at most
 * ENTRY_MAX_EXTRA fields besides the five known ones (each known name
 * counted once: its duplicates are extras).
 */
static char *
entry_check_size(char **fv, size_t n, size_t ntotal)
{
	size_t i, known = 0;
	unsigned int seen = 0, bit;
	char *err;

	for (i = 0; i < n; i += 2) {
		bit = entry_known(fv[i]);
		if (bit != 0 && (seen & bit) == 0) {
			seen |= bit;
			known++;
		}
	}
	if (ntotal / 2 - known > ENTRY_MAX_EXTRA) {
		xasprintf(&err,
		    "too many fields (%zu besides id, body, author, "
		    "ip and thread; at most %d)",
		    ntotal / 2 - known, ENTRY_MAX_EXTRA);
		return (err);
	}
	return (NULL);
}

/*
 * Check that the values of the extra fields (those besides id, body,
 * author, ip and thread, which have limits of their own; an ip of more
 * than ENTRY_IP_TEXT bytes, which is no address, counts as one) take at most
 * max_body bytes together, or ENTRY_EXTRA_MIN with a smaller max_body, so
 * a whole entry stays within max_body + max(max_body, ENTRY_EXTRA_MIN)
 * and a few KiB.
 */
static char *
entry_check_total(char **fv, const size_t *fvlen, size_t n, long max_body)
{
	size_t i, extra = 0, limit = (size_t)max_body;
	char *err;

	if (limit < ENTRY_EXTRA_MIN)
		limit = ENTRY_EXTRA_MIN;
	for (i = 0; i < n; i += 2)
		if (entry_known(fv[i]) == 0 ||
		    (strcmp(fv[i], "ip") == 0 && fvlen[i + 1] > ENTRY_IP_TEXT))
			extra += fvlen[i + 1];
	if (extra <= limit)
		return (NULL);
	xasprintf(&err,
	    "extra fields too large: %zu bytes in all (at most %zu)", extra,
	    limit);
	return (err);
}

/*
 * Tell whether field name i repeats an earlier one, in one pass: names are
 * hashed into a table twice the size of the (already bounded) field count.
 */
static int
entry_duplicate(
    char **fv, size_t *fvlen, size_t i, uint32_t *slot, size_t nslot)
{
	uint32_t h = 2166136261u;
	size_t k, j;

	for (k = 0; k < fvlen[i]; k++)
		h = (h ^ (unsigned char)fv[i][k]) * 16777619u;
	for (j = h & (nslot - 1);; j = (j + 1) & (nslot - 1)) {
		if (slot[j] == 0) {
			slot[j] = (uint32_t)i + 1;
			return (0);
		}
		k = slot[j] - 1;
		if (fvlen[k] == fvlen[i] && memcmp(fv[k], fv[i], fvlen[i]) == 0)
			return (1);
	}
}

/*
 * Check a stream entry before it is used: delivery count and field count
 * first (so the rest is bounded), then names, duplicates, id, body size
 * and UTF-8, author, thread and ip, and the size of all the fields
 * besides the body.  Returns NULL when it can be judged, else
 * the dead-letter reason (allocated).
 */
char *
entry_validate(char **fv, size_t *fvlen, size_t n, long deliveries,
    long max_deliveries, long max_body)
{
	uint32_t slot[ENTRY_SLOTS];
	size_t i, k;
	int have_id = 0, have_body = 0;
	char *err;

	if (deliveries > max_deliveries) {
		xasprintf(&err,
		    "too many deliveries (%ld, queue.max_deliveries "
		    "is %ld)",
		    deliveries, max_deliveries);
		return (err);
	}
	if (n % 2 != 0)
		return (xstrdup("malformed entry: odd number of fields"));
	if ((err = entry_check_size(fv, n, n)) != NULL)
		return (err);
	memset(slot, 0, sizeof slot);
	for (i = 0; i < n; i += 2) {
		if (fvlen[i] == 0 || fvlen[i] > ENTRY_MAX_FIELD ||
		    strspn(fv[i], ENTRY_ID_CHARS) != fvlen[i])
			return (xstrdup("bad field name: must be 1 to 64 "
			                "characters of A-Z a-z 0-9 . _ : -"));
		if (entry_duplicate(fv, fvlen, i, slot, ENTRY_SLOTS)) {
			xasprintf(&err, "duplicate field: %s", fv[i]);
			return (err);
		}
		for (k = 0;
		     k < sizeof entry_reserved / sizeof entry_reserved[0];
		     k++) {
			if (strcmp(fv[i], entry_reserved[k]) == 0) {
				xasprintf(&err, "reserved field: %s", fv[i]);
				return (err);
			}
		}
		have_id |= strcmp(fv[i], "id") == 0;
		have_body |= strcmp(fv[i], "body") == 0;
		if ((err = entry_check_field(
		         fv[i], fv[i + 1], fvlen[i + 1], max_body)) != NULL)
			return (err);
	}
	if ((err = entry_check_total(fv, fvlen, n, max_body)) != NULL)
		return (err);
	if (!have_id)
		return (xstrdup("missing field: id"));
	if (!have_body)
		return (xstrdup("missing field: body"));
	return (NULL);
}

/*
 * The reason for an entry that modq_read or modq_claim cut before handing
 * it over (see modq.lua): ntotal strings in all, and len[i] the size each
 * of the n kept strings fv[i] had before it was cut.  The checks are those
 * of entry_validate() that need only sizes, in the same order, so the
 * reason is the same as for the whole entry.
 */
char *
entry_cut_reason(
    char **fv, const size_t *len, size_t n, size_t ntotal, long max_body)
{
	size_t i;
	char *err;

	if ((err = entry_check_size(fv, n, ntotal)) != NULL)
		return (err);
	for (i = 0; i + 1 < n; i += 2) {
		if (len[i] == 0 || len[i] > ENTRY_MAX_FIELD)
			return (xstrdup("bad field name: must be 1 to 64 "
			                "characters of A-Z a-z 0-9 . _ : -"));
		if ((err = entry_check_field(
		         fv[i], NULL, len[i + 1], max_body)) != NULL)
			return (err);
	}
	if ((err = entry_check_total(fv, len, n, max_body)) != NULL)
		return (err);
	/* the fields past the ones kept made it too large */
	xasprintf(&err, "extra fields too large: more than %ld bytes in all",
	    max_body > ENTRY_EXTRA_MIN ? max_body : (long)ENTRY_EXTRA_MIN);
	return (err);
}

/*
 * Say how many bytes of strings the largest entry may have that is read
 * whole, E = max_body + max(max_body, ENTRY_EXTRA_MIN) + ENTRY_SLACK: the
 * body, the extra fields (entry_check_total()) and the rest.  README and
 * modqd(8) state the memory bound with it.
 */
size_t
entry_max_size(long max_body)
{
	return ((max_body > 0 ? (size_t)max_body : 0) +
	    entry_max_string(max_body) + ENTRY_SLACK);
}

/*
 * Say how long the longest string of a valid entry may be: a body of
 * max_body bytes, or one extra field of max(max_body, ENTRY_EXTRA_MIN).
 */
size_t
entry_max_string(long max_body)
{
	size_t b = max_body > 0 ? (size_t)max_body : 0;

	return (b > ENTRY_EXTRA_MIN ? b : ENTRY_EXTRA_MIN);
}

/*
 * Write the canonical text of an IPv4 or IPv6 address (an IPv4-mapped
 * IPv6 address as IPv4) into out, so that one address always keys the
 * same rate window however the site spelled it.  Returns -1 if v is not
 * an address.
 */
int
entry_ip_canon(const char *v, size_t len, char *out, size_t outlen)
{
	unsigned char a[16];
	char buf[64];

	if (len == 0 || len >= sizeof buf || memchr(v, '\0', len) != NULL)
		return (-1);
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		return (inet_ntop(AF_INET, a, out, (socklen_t)outlen) == NULL
		        ? -1
		        : 0);
	if (inet_pton(AF_INET6, buf, a) != 1)
		return (-1);
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a))
		return (
		    inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen) == NULL
		        ? -1
		        : 0);
	return (
	    inet_ntop(AF_INET6, a, out, (socklen_t)outlen) == NULL ? -1 : 0);
}

/* Give the kind of a dead-letter reason: an index below ENTRY_KINDS. */
size_t
entry_error_kind(const char *error)
{
	size_t i;

	for (i = 0; i < ENTRY_KINDS - 1; i++) {
		if (fnmatch(entry_kinds[i].pattern, error, 0) == 0)
			return (i);
	}
	return (ENTRY_KINDS - 1);
}

/* Give the name of a kind of dead-letter reason. */
const char *
entry_kind_name(size_t kind)
{
	return (entry_kinds[kind < ENTRY_KINDS ? kind : ENTRY_KINDS - 1].kind);
}

/* Give the one-word name of a kind, for the decisions stream. */
const char *
entry_kind_word(size_t kind)
{
	return (entry_kinds[kind < ENTRY_KINDS ? kind : ENTRY_KINDS - 1].word);
}

/* Tell whether an entry's id, as it came, is one a record may have. */
int
entry_id_ok(const char *id, size_t len)
{
	return (len > 0 && len <= ENTRY_MAX_ID &&
	    strspn(id, ENTRY_ID_CHARS) == len);
}
