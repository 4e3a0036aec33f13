/*
 * links.c -- owns struct links: counts the links a reader would see in a
 * comment, and tells which of them fall under the domains of a links rule
 * or of link_allow.
 *
 * The text is read as the ruleset reads it: as HTML (tags of HTML elements
 * are not text, character references are decoded, an <a href> to another
 * site is a link whatever its text says), or as plain text.  It is then
 * folded with Unicode NFKC and case folding (utf8proc), default-ignorable
 * characters removed, so fullwidth letters and dots, zero-width joiners
 * and capitals change nothing; the ideographic full stops are dots.
 *
 * What is a link, scanning the folded text once, left to right:
 *  - a URL: http, https, ftp, or the defanged hxxp and hxxps, then "://"
 *    or "[:]//" and a host; everything up to the next white space is
 *    part of it.  A URL is a link whatever its host;
 *  - a bare domain: labels (letters, digits, '-') joined by dots, or by
 *    the disguised dots "[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}",
 *    " dot ", " . " and " .".  Its last label must be a public suffix of
 *    the list libpsl loads (no "*" rule, so file.txt, e.g., 3.5 and
 *    1.000.000 are out), and the domain must not itself be one.  Then it
 *    is a link when any of these holds:
 *      it starts with "www.";
 *      a path, query or port follows (example.com/x, bit.ly/abc);
 *      it is written with a bracketed dot (example[.]com), only done to
 *      dodge link filters;
 *      its public suffix has two labels or more (co.uk, com.au) or its
 *      top-level domain is not ASCII (.рф, .中国);
 *      its top-level domain is one of links_common[], the ones people
 *      type in links and not typed in prose by accident.
 *    Top-level domains that are also file-name extensions or English
 *    words (.py, .md, .sh, .zip, .mov, .it, .is, .in, .to, .me, .am, ...)
 *    count only with one of the first four signs, so script.py, readme.md
 *    and "it.Is" written without a space are not links.  Written with
 *    " dot " or a spaced dot, the label before the top-level domain must
 *    not be a word of links_stop[] ("the dot com bubble").
 *  - not an e-mail address: a domain right after '@', or a run of labels
 *    right before one, is never a link, nor is a deny-listed domain in an
 *    address (an address is no link a reader can follow).  Nor is a run
 *    right after '/', '\\' or '_' (a path or a file name).
 *
 * In HTML an anchor whose href is a URL (or "//host") is one link, and the
 * links its text shows are part of it: checked against the deny domains,
 * not counted again.  An href that is relative, mailto: or javascript: is
 * no link; the anchor's text is scanned like any text.
 *
 * Allow and deny: a domain entry covers the host and all its subdomains
 * (matched on whole labels).  A link under link_allow is not counted; a
 * link under a rule's domains sets the rule's bit whether or not it is
 * also allowed, so allowing example.com does not excuse bad.example.com.
 * Hosts are matched as written and again with look-alike letters of a
 * label that also has Latin ones folded to Latin (pаypal.com, with a
 * Cyrillic а, is paypal.com).
 *
 * The public suffix list is libpsl's psl_latest(NULL): the newer of the
 * list Debian's publicsuffix package installs
 * (/usr/share/publicsuffix/public_suffix_list.dafsa) and the copy built
 * into libpsl5; both are on the machine, so it works offline, and a
 * publicsuffix update brings new top-level domains without a rebuild.
 *
 * Bounds: the scan is linear in the text (each byte is looked at a fixed
 * number of times; no backtracking), and stops at LINKS_MAX links: a
 * text with more is over any sane limit already.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>
#include <utf8proc.h>

#include "rules_int.h"
#include "ralloc.h"

#define LINKS_MAX 1000 /* links examined in one text; the rest ignored */
#define LINKS_HOST_MAX 253 /* bytes in a host name */
#define LINKS_LABEL_MAX 63 /* bytes in one label */
#define LINKS_TAG_MAX 1024 /* bytes scanned for the end of an HTML tag */
#define LINKS_ENTITY_MAX 40 /* bytes of an HTML entity name */
#define LINKS_USER_MAX 256 /* bytes scanned for a URL's "user@" */
#define LINKS_ANCHOR '\001' /* in the read text: a link anchor starts */
#define LINKS_ANCHOR_END '\002' /* in the read text: it ends */

#define LINKS_FOLD \
	(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | \
	    UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* Character classes of label characters; a label keeps to one. */
#define CLASS_NONE 0
#define CLASS_WORD 1 /* letters and digits of alphabetic scripts */
#define CLASS_CJK 2 /* Han, kana, hangul: written without spaces */
#define CLASS_HYPHEN 3 /* '-', inside a label of either */

/* How the labels of a host were joined; bits of links_host.seps. */
#define SEP_DOT 0x01 /* "." */
#define SEP_BRACKET 0x02 /* "[.]", "(dot)" ...: a disguise */
#define SEP_WORD 0x04 /* " dot ", " . ": could be prose */

/* One domain of the allow and deny lists. */
struct links_dom {
	char *host; /* owned: folded */
	uint32_t deny; /* bit i: links rule i's domains hold it */
	int allow;
};

struct links {
	psl_ctx_t *psl; /* owned */
	struct links_dom *doms; /* owned: sorted by host */
	size_t ndoms;
	int html;
	char *raw; /* owned: the text as read, before folding */
	size_t rawlen;
	size_t rawcap;
	char **hrefs; /* owned: hosts of the link anchors, in order */
	size_t nhrefs;
	size_t caphrefs;
};

/* A host as parsed from folded text. */
struct links_host {
	char buf[LINKS_HOST_MAX + 1]; /* labels joined by '.' */
	size_t len;
	size_t tld; /* offset of the last label in buf */
	size_t sld; /* offset of the label before it */
	int nlabels;
	int seps; /* SEP_* */
	int bad; /* not a valid host name */
};

/* A scan of one folded text. */
struct links_st {
	struct links *l;
	const char *s; /* borrowed: the folded text */
	size_t len;
	size_t count;
	uint32_t deny;
	size_t seen; /* links examined */
	size_t href; /* next of l->hrefs */
	int in_anchor;
};

/* Disguised and plain dots, tried in this order after a label. */
static const struct {
	const char *s;
	int kind;
} links_seps[] = {{".", SEP_DOT}, {"[.]", SEP_BRACKET}, {"(.)", SEP_BRACKET},
    {"{.}", SEP_BRACKET}, {"[dot]", SEP_BRACKET}, {"(dot)", SEP_BRACKET},
    {"{dot}", SEP_BRACKET}, {" [.] ", SEP_BRACKET}, {" (.) ", SEP_BRACKET},
    {" [dot] ", SEP_BRACKET}, {" (dot) ", SEP_BRACKET}, {" dot ", SEP_WORD},
    {" . ", SEP_WORD}, {" .", SEP_WORD}};

/* Schemes of URLs, the defanged ones too; longest first. */
static const char *const links_schemes[] = {
    "https", "http", "hxxps", "hxxp", "ftp"};

/*
 * Top-level domains that a bare domain may end in with no other sign of
 * being a link: the generic ones, country codes that are not English
 * words or file-name extensions, and the cheap ones spam uses.  Sorted.
 */
static const char *const links_common[] = {"ai", "app", "ar", "au", "biz", "br",
    "ca", "cc", "cf", "ch", "cn", "co", "com", "cz", "de", "dev", "dk", "edu",
    "es", "eu", "fi", "fr", "ga", "gd", "gl", "gov", "gq", "gr", "hk", "hu",
    "icu", "ie", "il", "info", "int", "io", "jp", "kr", "ly", "mil", "ml", "mx",
    "net", "nl", "nz", "online", "org", "pl", "pt", "pw", "ro", "ru", "se",
    "sg", "shop", "site", "store", "su", "tk", "top", "tr", "tv", "tw", "ua",
    "uk", "vn", "ws", "xyz", "za"};

/* Words before " dot com" in prose; sorted. */
static const char *const links_stop[] = {"a", "an", "any", "big", "early",
    "every", "failed", "first", "last", "late", "old", "polka", "that", "the",
    "this", "whole"};

static void links_error(char **, const char *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));
static int links_add(struct links *, const struct rules_entry *, uint32_t, int,
    size_t *, char **);
static int links_domcmp(const void *, const void *);
static int links_strcmp(const void *, const void *);
static void links_merge(struct links *);
static char *links_fold(const char *, size_t);
static void links_put(struct links *, const char *, size_t);
static void links_put_cp(struct links *, int32_t);
static size_t links_put_char(struct links *, const char *, size_t, size_t);
static size_t links_entity(struct links *, const char *, size_t, size_t);
static size_t links_numeric(struct links *, const char *, size_t, size_t);
static size_t links_tag_end(const char *, size_t, size_t);
static int links_element(const char *, size_t, int *);
static size_t links_tag(struct links *, const char *, size_t, size_t, int *);
static void links_anchor_open(struct links *, const char *, size_t, int *);
static char *links_href(struct links *, const char *, size_t);
static void links_read(struct links *, const char *, size_t);
static size_t links_char(const char *, size_t, size_t, int32_t *);
static int links_class(int32_t);
static int32_t links_prev(const char *, size_t);
static size_t links_label(const char *, size_t, size_t);
static size_t links_sep(const char *, size_t, size_t, int *);
static size_t links_host(const char *, size_t, size_t, struct links_host *);
static size_t links_scheme(const char *, size_t, size_t);
static size_t links_url_end(const char *, size_t, size_t);
static size_t links_authority(
    const char *, size_t, size_t, struct links_host *);
static size_t links_after(const char *, size_t, size_t, int *);
static int links_known(struct links *, const struct links_host *);
static int links_bare(struct links *, const struct links_host *, int);
static void links_lookup(struct links *, const char *, int *, uint32_t *);
static void links_lookalike(const char *, char *);
static void links_found(struct links_st *, const char *, int);
static size_t links_url(struct links_st *, size_t);
static size_t links_run(struct links_st *, size_t);
static void links_walk(struct links_st *);

/* Add one "file:line: what" line to *cause. */
static void
links_error(char **cause, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rules_verror(cause, file, line, fmt, ap);
	va_end(ap);
}

/* Order domains by host, for bsearch() and merging. */
static int
links_domcmp(const void *a, const void *b)
{
	const struct links_dom *da = a, *db = b;

	return (strcmp(da->host, db->host));
}

/* Compare a string with an entry of a table of strings, for bsearch(). */
static int
links_strcmp(const void *key, const void *elem)
{
	return (strcmp(key, *(const char *const *)elem));
}

/*
 * Check one domain entry and add it with its deny bits, or its allow.  A
 * public suffix may be denied (every .xyz link) but not allowed, which
 * would let every site under it through.  Returns -1 after adding the
 * problem to *cause.
 */
static int
links_add(struct links *l, const struct rules_entry *e, uint32_t deny,
    int allow, size_t *cap, char **cause)
{
	struct links_host h;
	char *host;
	size_t len, end;

	host = links_fold(e->text, strlen(e->text));
	len = strlen(host);
	end = len == 0 ? 0 : links_host(host, len, 0, &h);
	if (len == 0 || end != len || h.bad ||
	    h.seps != (h.nlabels > 1 ? SEP_DOT : 0) ||
	    links_class((int32_t)(unsigned char)host[0]) == CLASS_HYPHEN) {
		links_error(cause, e->file, e->line,
		    "\"%s\" is not a domain name", e->text);
		goto fail;
	}
	if (!psl_is_public_suffix2(
	        l->psl, host + h.tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) {
		links_error(cause, e->file, e->line,
		    "\"%s\" has no known public suffix", e->text);
		goto fail;
	}
	if (allow && psl_registrable_domain(l->psl, host) == NULL) {
		links_error(cause, e->file, e->line,
		    "\"%s\" is a public suffix: it would allow every site "
		    "under it",
		    e->text);
		goto fail;
	}
	if (l->ndoms == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		l->doms = xreallocarray(l->doms, *cap, sizeof *l->doms);
	}
	l->doms[l->ndoms].host = host;
	l->doms[l->ndoms].deny = deny;
	l->doms[l->ndoms++].allow = allow;
	return (0);
fail:
	free(host);
	return (-1);
}

/* Sort the domains and merge the entries of one host. */
static void
links_merge(struct links *l)
{
	size_t i, n = 0;

	if (l->ndoms == 0)
		return;
	qsort(l->doms, l->ndoms, sizeof *l->doms, links_domcmp);
	for (i = 1; i < l->ndoms; i++) {
		if (strcmp(l->doms[i].host, l->doms[n].host) == 0) {
			l->doms[n].deny |= l->doms[i].deny;
			l->doms[n].allow |= l->doms[i].allow;
			free(l->doms[i].host);
		} else
			l->doms[++n] = l->doms[i];
	}
	l->ndoms = n + 1;
}

/*
 * Build the link counter of a spec: the public suffix list and the allow
 * and deny domains, every bad one added to *cause (NULL or the errors so
 * far) as a "file:line: what" line.
 */
int
links_build(const struct rules_spec *spec, struct links **lp, char **cause)
{
	struct links *l;
	size_t i, j, cap = 0;
	char *old;
	int bad = 0;

	l = xcalloc(1, sizeof *l);
	l->html = spec->format == RULES_FORMAT_HTML;
	if ((l->psl = psl_latest(NULL)) == NULL) {
		old = *cause;
		xasprintf(cause, "%s%scannot load the public suffix list (%s)",
		    old != NULL ? old : "", old != NULL ? "\n" : "",
		    psl_dist_filename());
		free(old);
		free(l);
		return (-1);
	}
	for (i = 0; i < spec->nlinks && i < RULES_MAX_CONTENT; i++) {
		for (j = 0; j < spec->links[i].ndomains; j++)
			bad |= links_add(l, &spec->links[i].domains[j],
			    (uint32_t)1 << i, 0, &cap, cause);
	}
	for (j = 0; j < spec->nlink_allow; j++)
		bad |= links_add(l, &spec->link_allow[j], 0, 1, &cap, cause);
	if (bad) {
		links_free(l);
		return (-1);
	}
	links_merge(l);
	*lp = l;
	return (0);
}

/* Free a link counter. */
void
links_free(struct links *l)
{
	size_t i;

	if (l == NULL)
		return;
	psl_free(l->psl);
	for (i = 0; i < l->ndoms; i++)
		free(l->doms[i].host);
	free(l->doms);
	for (i = 0; i < l->nhrefs; i++)
		free(l->hrefs[i]);
	free(l->hrefs);
	free(l->raw);
	free(l);
}

/*
 * Fold len bytes of UTF-8 as the scan does, into a new string; bytes
 * that are not UTF-8 become U+FFFD first.
 */
static char *
links_fold(const char *s, size_t len)
{
	struct links tmp;
	utf8proc_uint8_t *out;
	utf8proc_ssize_t n;
	size_t i = 0;

	memset(&tmp, 0, sizeof tmp);
	while (i < len)
		i += links_put_char(&tmp, s, len, i);
	n = utf8proc_map(
	    (const utf8proc_uint8_t *)(tmp.raw == NULL ? "" : tmp.raw),
	    (utf8proc_ssize_t)tmp.rawlen, &out, LINKS_FOLD);
	free(tmp.raw);
	if (n < 0)
		RALLOC_FAIL("utf8proc_map");
	return ((char *)out);
}

/* Append bytes to the read text. */
static void
links_put(struct links *l, const char *p, size_t n)
{
	if (l->rawcap - l->rawlen < n + 1) {
		while (l->rawcap - l->rawlen < n + 1)
			l->rawcap = l->rawcap == 0 ? 256 : l->rawcap * 2;
		l->raw = xreallocarray(l->raw, 1, l->rawcap);
	}
	memcpy(l->raw + l->rawlen, p, n);
	l->rawlen += n;
}

/*
 * Append a code point to the read text.  Controls (our anchor marks among
 * them) become spaces; the ideographic full stops, which IDNA reads as
 * dots and NFKC leaves alone, become dots.
 */
static void
links_put_cp(struct links *l, int32_t cp)
{
	utf8proc_uint8_t b[4];
	utf8proc_ssize_t n;

	if (cp < 0x20 || cp == 0x7f)
		cp = ' ';
	else if (cp == 0x3002 || cp == 0xff61)
		cp = '.';
	n = utf8proc_encode_char(cp, b);
	links_put(l, (const char *)b, (size_t)n);
}

/* Append the character at t[i], U+FFFD if it is not UTF-8; its bytes. */
static size_t
links_put_char(struct links *l, const char *t, size_t len, size_t i)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;

	if ((unsigned char)t[i] >= 0x20 && (unsigned char)t[i] < 0x7f) {
		links_put(l, t + i, 1);
		return (1);
	}
	n = utf8proc_iterate(
	    (const utf8proc_uint8_t *)t + i, (utf8proc_ssize_t)(len - i), &cp);
	if (n <= 0) {
		links_put_cp(l, 0xfffd);
		return (1);
	}
	links_put_cp(l, cp);
	return ((size_t)n);
}

/* Handle "&#..." at t[i], read as normalize.c reads it. */
static size_t
links_numeric(struct links *l, const char *t, size_t len, size_t i)
{
	uint32_t cp;
	size_t used;

	if ((used = normalize_numeric_ref(t, len, i, &cp)) != 0)
		links_put_cp(l, (int32_t)cp);
	return (used);
}

/*
 * Handle '&' at t[i]: a named character reference ending in ';' or a
 * numeric one.  Returns the bytes consumed, or 0 when it is just '&'.
 */
static size_t
links_entity(struct links *l, const char *t, size_t len, size_t i)
{
	uint32_t cps[2];
	size_t j, lim;
	int k, n;

	if (i + 1 < len && t[i + 1] == '#')
		return (links_numeric(l, t, len, i));
	lim = len - i < LINKS_ENTITY_MAX ? len : i + LINKS_ENTITY_MAX;
	for (j = i + 1; j < lim && t[j] != ';' && t[j] != '&' && t[j] != ' ';
	     j++)
		;
	if (j >= lim || t[j] != ';' || j == i + 1 ||
	    (n = entities_lookup(t + i + 1, j - i - 1, cps)) == 0)
		return (0);
	for (k = 0; k < n; k++)
		links_put_cp(l, (int32_t)cps[k]);
	return (j - i + 1);
}

/*
 * Find the '>' of a tag at t[i] == '<' (an optional '/', then a letter),
 * within LINKS_TAG_MAX bytes, quotes respected.  Returns its offset or 0.
 */
static size_t
links_tag_end(const char *t, size_t len, size_t i)
{
	size_t j = i + 1, lim;

	if (j < len && t[j] == '/')
		j++;
	if (j >= len ||
	    !((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z')))
		return (0);
	lim = len - i < LINKS_TAG_MAX ? len : i + LINKS_TAG_MAX;
	j = normalize_tag_scan(t, j, lim);
	return (j < lim && t[j] == '>' ? j : 0);
}

/*
 * Tell whether the name at s (len bytes to the '>') is an HTML element's,
 * as normalize.c reads it: anything else tag-shaped is text.  Returns 0,
 * or 1 with *block set, or 2 for "a".
 */
static int
links_element(const char *s, size_t len, int *block)
{
	if (!normalize_element(s, len, block))
		return (0);
	return ((s[0] | 0x20) == 'a' &&
	            (len == 1 || strchr(" \t\n\r\f/", s[1]) != NULL)
	        ? 2
	        : 1);
}

/*
 * Handle '<' at t[i] in HTML: an element's tag is not text (a block one
 * separates words); an <a> with a link href marks where its anchor starts
 * and </a> where it ends.  Returns the bytes consumed, 0 when it is text.
 */
static size_t
links_tag(struct links *l, const char *t, size_t len, size_t i, int *anchor)
{
	size_t end, name = i + 1;
	int block = 0, kind;

	if ((end = links_tag_end(t, len, i)) == 0)
		return (0);
	if (t[name] == '/')
		name++;
	if ((kind = links_element(t + name, end - name, &block)) == 0)
		return (0);
	if (kind == 2 && t[i + 1] == '/') {
		if (*anchor)
			links_put(l, "\002", 1);
		*anchor = 0;
	} else if (kind == 2)
		links_anchor_open(l, t + name + 1, end - name - 1, anchor);
	else if (block)
		links_put(l, " ", 1);
	return (end - i + 1);
}

/*
 * An <a> tag, its attributes in a (n bytes): when its href is a link, end
 * any open anchor (anchors do not nest) and mark a new one.
 */
static void
links_anchor_open(struct links *l, const char *a, size_t n, int *anchor)
{
	size_t k = 0, v, e;
	char q, *host;

	for (k = 0; k + 4 < n; k++) {
		if (strchr(" \t\n\r\f", a[k]) == NULL ||
		    strncasecmp(a + k + 1, "href", 4) != 0)
			continue;
		for (v = k + 5; v < n && strchr(" \t\n\r\f", a[v]) != NULL; v++)
			;
		if (v >= n || a[v] != '=')
			continue;
		for (v++; v < n && strchr(" \t\n\r\f", a[v]) != NULL; v++)
			;
		q = v < n && (a[v] == '"' || a[v] == '\'') ? a[v++] : 0;
		for (e = v; e < n &&
		     (q != 0 ? a[e] != q : strchr(" \t\n\r\f", a[e]) == NULL);
		     e++)
			;
		if ((host = links_href(l, a + v, e - v)) == NULL)
			return;
		if (l->nhrefs == l->caphrefs) {
			l->caphrefs = l->caphrefs == 0 ? 8 : l->caphrefs * 2;
			l->hrefs = xreallocarray(
			    l->hrefs, l->caphrefs, sizeof *l->hrefs);
		}
		l->hrefs[l->nhrefs++] = host;
		links_put(l, *anchor ? "\002\001" : "\001", *anchor ? 2 : 1);
		*anchor = 1;
		return;
	}
}

/*
 * The host an href value (v, n bytes, character references still in it)
 * links to: of a URL or "//host"; NULL for what leads nowhere else
 * (relative, mailto:, javascript:).  Unparsable hosts give "".
 */
static char *
links_href(struct links *l, const char *v, size_t n)
{
	struct links_host h;
	size_t mark = l->rawlen, i = 0, used, p, flen;
	char *f, *host = NULL;

	while (i < n) {
		if (v[i] == '&' && (used = links_entity(l, v, n, i)) != 0)
			i += used;
		else
			i += links_put_char(l, v, n, i);
	}
	f = links_fold(l->raw + mark, l->rawlen - mark);
	l->rawlen = mark;
	flen = strlen(f);
	for (i = 0; i < flen && f[i] == ' '; i++)
		;
	if ((p = links_scheme(f, flen, i)) == 0 && flen - i >= 2 &&
	    f[i] == '/' && f[i + 1] == '/')
		p = i + 2;
	if (p != 0) {
		links_authority(f, flen, p, &h);
		host = xstrdup(h.bad ? "" : h.buf);
	}
	free(f);
	return (host);
}

/*
 * Read the text as a reader sees it into l->raw: in HTML, tags out and
 * character references decoded, link anchors marked and their hosts in
 * l->hrefs; bytes that are not UTF-8 become U+FFFD.
 */
static void
links_read(struct links *l, const char *t, size_t len)
{
	size_t i = 0, used;
	int anchor = 0;

	l->rawlen = 0;
	while (i < len) {
		if (l->html && t[i] == '<' &&
		    (used = links_tag(l, t, len, i, &anchor)) != 0)
			i += used;
		else if (l->html && t[i] == '&' &&
		    (used = links_entity(l, t, len, i)) != 0)
			i += used;
		else
			i += links_put_char(l, t, len, i);
	}
	if (anchor)
		links_put(l, "\002", 1);
}

/* Decode the character at s[i] of folded (valid) UTF-8; its bytes. */
static size_t
links_char(const char *s, size_t len, size_t i, int32_t *cp)
{
	utf8proc_ssize_t n;

	if ((unsigned char)s[i] < 0x80) {
		*cp = (unsigned char)s[i];
		return (1);
	}
	n = utf8proc_iterate(
	    (const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), cp);
	if (n <= 0) {
		*cp = 0xfffd;
		return (1);
	}
	return ((size_t)n);
}

/* Tell what kind of label character cp is, if any. */
static int
links_class(int32_t cp)
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
		return (CLASS_WORD);
	if (cp == '-')
		return (CLASS_HYPHEN);
	if (cp < 0x80)
		return (CLASS_NONE);
	if ((cp >= 0x3040 && cp < 0x3100) || (cp >= 0x3400 && cp < 0xa000) ||
	    (cp >= 0xac00 && cp < 0xd7b0) || (cp >= 0xf900 && cp < 0xfb00) ||
	    (cp >= 0x20000 && cp < 0x32000))
		return (CLASS_CJK);
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ND:
		return (CLASS_WORD);
	default:
		return (CLASS_NONE);
	}
}

/* Give the code point before s[i], or 0 at the start. */
static int32_t
links_prev(const char *s, size_t i)
{
	size_t j = i;
	int32_t cp;

	if (i == 0)
		return (0);
	while (j > 0 && i - j < 4 && ((unsigned char)s[j - 1] & 0xc0) == 0x80)
		j--;
	if (j > 0)
		j--;
	links_char(s, i, j, &cp);
	return (cp);
}

/*
 * The end of the label at s[i]: characters of the class of its first, or
 * hyphens.  A change of class (example.com网站) ends it.
 */
static size_t
links_label(const char *s, size_t len, size_t i)
{
	int32_t cp;
	size_t w;
	int cls = 0, c;

	while (i < len) {
		w = links_char(s, len, i, &cp);
		c = links_class(cp);
		if (c == CLASS_NONE ||
		    (cls != 0 && c != cls && c != CLASS_HYPHEN))
			break;
		if (cls == 0 && c != CLASS_HYPHEN)
			cls = c;
		i += w;
	}
	return (i);
}

/*
 * A dot at s[i], plain or disguised, followed by the start of a label:
 * its length with its kind in *kind, or 0.
 */
static size_t
links_sep(const char *s, size_t len, size_t i, int *kind)
{
	size_t k, n;
	int32_t cp;
	int c;

	for (k = 0; k < sizeof links_seps / sizeof links_seps[0]; k++) {
		n = strlen(links_seps[k].s);
		if (len - i <= n || memcmp(s + i, links_seps[k].s, n) != 0)
			continue;
		links_char(s, len, i + n, &cp);
		c = links_class(cp);
		if (c == CLASS_NONE || c == CLASS_HYPHEN)
			return (0);
		*kind = links_seps[k].kind;
		return (n);
	}
	return (0);
}

/*
 * Parse the labels and dots of a host at s[i] into *h; returns the end of
 * the last label.  All of a run is consumed however long, so a text is
 * scanned once; a host too long or with a bad label is marked bad.
 */
static size_t
links_host(const char *s, size_t len, size_t i, struct links_host *h)
{
	size_t end, n, used;
	int kind;

	h->buf[0] = '\0';
	h->len = h->tld = h->sld = 0;
	h->nlabels = h->seps = h->bad = 0;
	for (;;) {
		end = links_label(s, len, i);
		n = end - i;
		if (n == 0 || n > LINKS_LABEL_MAX || s[i] == '-' ||
		    s[end - 1] == '-' || h->len + n + 1 > LINKS_HOST_MAX)
			h->bad = 1;
		else {
			if (h->nlabels > 0)
				h->buf[h->len++] = '.';
			h->sld = h->tld;
			h->tld = h->len;
			memcpy(h->buf + h->len, s + i, n);
			h->len += n;
			h->buf[h->len] = '\0';
		}
		h->nlabels++;
		i = end;
		if (i >= len || (used = links_sep(s, len, i, &kind)) == 0)
			return (i);
		h->seps |= kind;
		i += used;
	}
}

/* The end of "scheme://" at s[i], or 0. */
static size_t
links_scheme(const char *s, size_t len, size_t i)
{
	size_t k, n;

	for (k = 0; k < sizeof links_schemes / sizeof links_schemes[0]; k++) {
		n = strlen(links_schemes[k]);
		if (len - i < n || memcmp(s + i, links_schemes[k], n) != 0)
			continue;
		if (len - i - n >= 3 && memcmp(s + i + n, "://", 3) == 0)
			return (i + n + 3);
		if (len - i - n >= 5 && memcmp(s + i + n, "[:]//", 5) == 0)
			return (i + n + 5);
	}
	return (0);
}

/* The end of a URL's path at s[i]: the next space, quote or bracket. */
static size_t
links_url_end(const char *s, size_t len, size_t i)
{
	while (i < len && strchr(" \t\n\r\f<>\"\001\002", s[i]) == NULL)
		i++;
	return (i);
}

/*
 * Parse the host of a URL's authority at s[i] (after any "user@", an IPv6
 * literal kept whole) into *h; returns where the host ends.
 */
static size_t
links_authority(const char *s, size_t len, size_t i, struct links_host *h)
{
	size_t j, lim;

	lim = len - i < LINKS_USER_MAX ? len : i + LINKS_USER_MAX;
	for (j = i;
	     j < lim && strchr(" \t\n\r\f<>\"/?#@\001\002", s[j]) == NULL; j++)
		;
	if (j < lim && s[j] == '@')
		i = j + 1;
	if (i < len && s[i] == '[') {
		for (j = i; j < lim && s[j] != ']' && j - i < LINKS_HOST_MAX;
		     j++)
			;
		memset(h, 0, sizeof *h);
		memcpy(h->buf, s + i, j - i);
		h->len = j - i;
		h->nlabels = 1;
		return (j);
	}
	if (i >= len || links_label(s, len, i) == i) {
		memset(h, 0, sizeof *h);
		h->bad = 1;
		return (i);
	}
	return (links_host(s, len, i, h));
}

/*
 * What follows a bare host at s[i]: a port, a path or a query.  Sets
 * *strong when one does and returns where it ends; else returns i.
 */
static size_t
links_after(const char *s, size_t len, size_t i, int *strong)
{
	size_t j = i;

	*strong = 0;
	if (j < len && s[j] == ':') {
		for (j++; j < len && j - i <= 5 && s[j] >= '0' && s[j] <= '9';
		     j++)
			;
		if (j == i + 1 || j - i > 5 ||
		    (j < len && (unsigned char)s[j] >= 0x80)) /* not a port */
			return (i);
		*strong = 1;
	}
	if (j + 1 < len && (s[j] == '/' || s[j] == '?') &&
	    strchr(" \t\n\r\f<>\"\001\002", s[j + 1]) == NULL) {
		*strong = 1;
		return (links_url_end(s, len, j));
	}
	return (*strong ? j : i);
}

/*
 * Tell whether a host has a known top-level domain and is a site under
 * it: 2 when its public suffix is of two labels or more, or not ASCII.
 */
static int
links_known(struct links *l, const struct links_host *h)
{
	const char *tld = h->buf + h->tld, *reg, *p;

	if (h->bad || h->nlabels < 2 ||
	    strspn(tld, "0123456789") == strlen(tld))
		return (0);
	if (!psl_is_public_suffix2(
	        l->psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
		return (0);
	if ((reg = psl_registrable_domain(l->psl, h->buf)) == NULL)
		return (0);
	for (p = tld; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			return (2);
	}
	p = strchr(reg, '.');
	return (p != NULL && strchr(p + 1, '.') != NULL ? 2 : 1);
}

/* Decide whether a bare host (no scheme) is a link; see the top. */
static int
links_bare(struct links *l, const struct links_host *h, int strong)
{
	char sld[LINKS_LABEL_MAX + 1];
	size_t n;
	int known;

	if ((known = links_known(l, h)) == 0)
		return (0);
	if (strong || known == 2 || (h->seps & SEP_BRACKET) ||
	    strncmp(h->buf, "www.", 4) == 0)
		return (1);
	if (bsearch(h->buf + h->tld, links_common,
	        sizeof links_common / sizeof links_common[0],
	        sizeof links_common[0], links_strcmp) == NULL)
		return (0);
	if ((h->seps & SEP_WORD) == 0)
		return (1);
	n = h->tld - 1 - h->sld;
	memcpy(sld, h->buf + h->sld, n);
	sld[n] = '\0';
	return (
	    bsearch(sld, links_stop, sizeof links_stop / sizeof links_stop[0],
	        sizeof links_stop[0], links_strcmp) == NULL);
}

/*
 * Look a host and each of its parents up in the domain lists: *allow when
 * one is allowed, their deny bits into *deny.
 */
static void
links_lookup(struct links *l, const char *host, int *allow, uint32_t *deny)
{
	struct links_dom key, *d;
	const char *p = host;

	while (p != NULL && *p != '\0') {
		key.host = (char *)(uintptr_t)p;
		d = bsearch(
		    &key, l->doms, l->ndoms, sizeof *l->doms, links_domcmp);
		if (d != NULL) {
			*allow |= d->allow;
			*deny |= d->deny;
		}
		if ((p = strchr(p, '.')) != NULL)
			p++;
	}
}

/*
 * Write host into fold (LINKS_HOST_MAX + 1 bytes) with the look-alike
 * letters of each label that also has Latin letters folded to Latin, so
 * pаypal.com with a Cyrillic а is paypal.com while пример.рф stays.
 */
static void
links_lookalike(const char *host, char *fold)
{
	size_t i, o = 0, n, len = strlen(host), lab = 0;
	int32_t cp, lat;
	int latin = 0;

	for (i = 0; i < len; i += n) {
		if (i == lab) {
			latin = 0;
			for (; lab < len && host[lab] != '.'; lab++)
				latin |= host[lab] >= 'a' && host[lab] <= 'z';
			lab++;
		}
		n = links_char(host, len, i, &cp);
		if (latin && cp >= 0x80 &&
		    (lat = (int32_t)confusables_latin((uint32_t)cp)) != 0)
			fold[o++] = (char)lat;
		else {
			memcpy(fold + o, host + i, n);
			o += n;
		}
	}
	fold[o] = '\0';
}

/*
 * A link to host was found: match it, and for deny only also with its
 * look-alikes folded (exаmple.com with a Cyrillic а is not the allowed
 * example.com, but bаd.com is the denied bad.com); count it unless it is
 * allowed or counted says it is part of an anchor.
 */
static void
links_found(struct links_st *st, const char *host, int counted)
{
	char fold[LINKS_HOST_MAX + 1];
	int allow = 0, alike = 0;

	st->seen++;
	if (st->l->ndoms != 0 && *host != '\0') {
		links_lookup(st->l, host, &allow, &st->deny);
		links_lookalike(host, fold);
		if (strcmp(fold, host) != 0)
			links_lookup(st->l, fold, &alike, &st->deny);
	}
	if (counted && !allow)
		st->count++;
}

/* A URL, its host at s[p]: a link.  Returns where it ends. */
static size_t
links_url(struct links_st *st, size_t p)
{
	struct links_host h;
	size_t end;

	end = links_authority(st->s, st->len, p, &h);
	if (end == p && h.bad)
		return (p);
	links_found(st, h.bad ? "" : h.buf, !st->in_anchor);
	return (links_url_end(st->s, st->len, end));
}

/*
 * Judge the run of label characters at s[i]: a URL, a bare domain, part
 * of an e-mail address or prose.  Returns where the next run may start.
 */
static size_t
links_run(struct links_st *st, size_t i)
{
	struct links_host h;
	size_t end, after, p;
	int32_t prev;
	int strong;

	if ((p = links_scheme(st->s, st->len, i)) != 0)
		return (links_url(st, p));
	prev = links_prev(st->s, i);
	end = links_host(st->s, st->len, i, &h);
	if (h.nlabels < 2 || prev == '@' || prev == '/' || prev == '\\' ||
	    prev == '_' || (end < st->len && st->s[end] == '@'))
		return (end);
	after = links_after(st->s, st->len, end, &strong);
	if (!links_bare(st->l, &h, strong))
		return (end);
	links_found(st, h.buf, !st->in_anchor);
	return (after);
}

/* Scan the folded text for links, up to LINKS_MAX of them. */
static void
links_walk(struct links_st *st)
{
	size_t i = 0, w;
	int32_t cp;
	int c;

	while (i < st->len && st->seen < LINKS_MAX) {
		if (st->s[i] == LINKS_ANCHOR) {
			st->in_anchor = 1;
			if (st->href < st->l->nhrefs)
				links_found(st, st->l->hrefs[st->href++], 1);
			i++;
			continue;
		}
		if (st->s[i] == LINKS_ANCHOR_END) {
			st->in_anchor = 0;
			i++;
			continue;
		}
		w = links_char(st->s, st->len, i, &cp);
		c = links_class(cp);
		if (c == CLASS_NONE || c == CLASS_HYPHEN)
			i += w;
		else
			i = links_run(st, i);
	}
}

/*
 * Count the links of a text (see the top of the file): *count those not
 * under link_allow, *deny the rules whose domains one of them is under.
 */
int
links_scan(struct links *l, const char *text, size_t len, size_t *count,
    uint32_t *deny)
{
	struct links_st st;
	utf8proc_uint8_t *fold;
	utf8proc_ssize_t n;
	size_t i;

	*count = 0;
	*deny = 0;
	links_read(l, text, len);
	/* folding ASCII only lowers its case: most comments skip utf8proc */
	for (i = 0; i < l->rawlen && (unsigned char)l->raw[i] < 0x80; i++)
		;
	if (i == l->rawlen) {
		fold = xmalloc(l->rawlen + 1);
		for (i = 0; i < l->rawlen; i++)
			fold[i] = (utf8proc_uint8_t)(l->raw[i] >= 'A' &&
			            l->raw[i] <= 'Z'
			        ? l->raw[i] | 0x20
			        : l->raw[i]);
		fold[l->rawlen] = '\0';
		n = (utf8proc_ssize_t)l->rawlen;
	} else
		n = utf8proc_map(
		    (const utf8proc_uint8_t *)(l->raw == NULL ? "" : l->raw),
		    (utf8proc_ssize_t)l->rawlen, &fold, LINKS_FOLD);
	if (n >= 0) {
		memset(&st, 0, sizeof st);
		st.l = l;
		st.s = (const char *)fold;
		st.len = (size_t)n;
		links_walk(&st);
		*count = st.count;
		*deny = st.deny;
		free(fold);
	}
	for (i = 0; i < l->nhrefs; i++)
		free(l->hrefs[i]);
	l->nhrefs = 0;
	return (n < 0 ? -1 : 0);
}
