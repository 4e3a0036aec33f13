/*
 * entry.c -- the check of one stream entry before anything uses it: field
 * count and names, duplicates, reserved names, the id's length and
 * characters, the body's size and UTF-8 (no overlong forms, no surrogates),
 * author, thread and ip, and the delivery count.  Pure C with no I/O, so it
 * can be fuzzed on its own.  Each kind of problem has its own dead-letter
 * reason.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "modqd.h"
#include "xmalloc.h"

#define ENTRY_MAX_EXTRA 32 /* fields besides id body author ip thread */
#define ENTRY_MAX_ID 128
#define ENTRY_MAX_NAME 128 /* bytes of author and thread */
#define ENTRY_MAX_FIELD 64 /* bytes of a field name */
#define ENTRY_ID_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"

/* Fields the decision writes; an entry may not bring its own. */
static const char *const entry_reserved[] = {"status", "reasons", "matched",
    "decided_at", "decided_by", "ruleset", "stream_id", "note", "judged_at"};

static int entry_name_ok(const char *, size_t);
static char *entry_check_field(const char *, const char *, size_t, long);

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
 * Check an author or thread id: 1-128 bytes of UTF-8 with no space, no
 * control character (C0 or C1) and no invisible format character.
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
		case UTF8PROC_CATEGORY_ZS:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			return (0);
		default:
			break;
		}
	}
	return (1);
}

/* Check one known field's value; returns the dead-letter reason or NULL. */
static char *
entry_check_field(const char *name, const char *v, size_t len, long max_body)
{
	unsigned char addr[16];
	char buf[64], *err;
	size_t bad;

	if (strcmp(name, "id") == 0) {
		if (len == 0 || len > ENTRY_MAX_ID ||
		    strspn(v, ENTRY_ID_CHARS) != len)
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
		if (entry_utf8(v, len, &bad) == -1) {
			xasprintf(
			    &err, "body is not valid UTF-8 (at byte %zu)", bad);
			return (err);
		}
	} else if (strcmp(name, "author") == 0 || strcmp(name, "thread") == 0) {
		if (!entry_name_ok(v, len)) {
			xasprintf(&err,
			    "bad %s: must be 1 to %d bytes of "
			    "UTF-8 without spaces or control characters",
			    name, ENTRY_MAX_NAME);
			return (err);
		}
	} else if (strcmp(name, "ip") == 0) {
		if (len == 0 || len >= sizeof buf ||
		    memchr(v, '\0', len) != NULL)
			return (xstrdup("bad ip: not an IPv4 or IPv6 address"));
		memcpy(buf, v, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET, buf, addr) != 1 &&
		    inet_pton(AF_INET6, buf, addr) != 1)
			return (xstrdup("bad ip: not an IPv4 or IPv6 address"));
	} else if (len > (size_t)max_body) {
		xasprintf(&err, "field %s too large: %zu bytes", name, len);
		return (err);
	}
	return (NULL);
}

/*
 * Check a stream entry before it is used: field count, names, duplicates,
 * id, body size and UTF-8, author, thread and ip, delivery count.  Returns
 * NULL when it can be judged, else the dead-letter reason (allocated).
 */
char *
entry_validate(char **fv, size_t *fvlen, size_t n, long deliveries,
    long max_deliveries, long max_body)
{
	size_t i, j, k, known = 0;
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
	for (i = 0; i < n; i += 2) {
		if (fvlen[i] == 0 || fvlen[i] > ENTRY_MAX_FIELD ||
		    strspn(fv[i], ENTRY_ID_CHARS) != fvlen[i])
			return (xstrdup("bad field name: must be 1 to 64 "
			                "characters of A-Z a-z 0-9 . _ : -"));
		for (j = 0; j < i; j += 2) {
			if (fvlen[j] == fvlen[i] &&
			    memcmp(fv[j], fv[i], fvlen[i]) == 0) {
				xasprintf(&err, "duplicate field: %s", fv[i]);
				return (err);
			}
		}
		for (k = 0;
		     k < sizeof entry_reserved / sizeof entry_reserved[0];
		     k++) {
			if (strcmp(fv[i], entry_reserved[k]) == 0) {
				xasprintf(&err, "reserved field: %s", fv[i]);
				return (err);
			}
		}
		if (strcmp(fv[i], "id") == 0 || strcmp(fv[i], "body") == 0 ||
		    strcmp(fv[i], "author") == 0 || strcmp(fv[i], "ip") == 0 ||
		    strcmp(fv[i], "thread") == 0)
			known++;
		have_id |= strcmp(fv[i], "id") == 0;
		have_body |= strcmp(fv[i], "body") == 0;
		if ((err = entry_check_field(
		         fv[i], fv[i + 1], fvlen[i + 1], max_body)) != NULL)
			return (err);
	}
	if (n / 2 - known > ENTRY_MAX_EXTRA) {
		xasprintf(&err,
		    "too many fields (%zu besides id, body, author, "
		    "ip and thread; at most %d)",
		    n / 2 - known, ENTRY_MAX_EXTRA);
		return (err);
	}
	if (!have_id)
		return (xstrdup("missing field: id"));
	if (!have_body)
		return (xstrdup("missing field: body"));
	return (NULL);
}
