/*
 * ralloc.h -- the xmalloc() family, written once for rules/ and daemon/.
 * No function returns NULL, so no caller tests a result; how the process
 * ends is up to the includer, through two macros that get a printf format
 * and its arguments: RALLOC_FAIL() when the C library failed (errno says
 * why) and RALLOC_FAILX() when a size overflows.
 *
 * rules/ includes this header alone, so the library needs nothing from
 * daemon/: the functions are static to each file that includes it, and
 * both macros print the function's name to stderr and abort().
 * daemon/xmalloc.c defines RALLOC_FN and the macros first, to give these
 * same bodies the external linkage of include/xmalloc.h and end through
 * fatal() and fatalx().  Anywhere else, include this or include/xmalloc.h,
 * never both.
 */
#ifndef RALLOC_H
#define RALLOC_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RALLOC_FN
#define RALLOC_FN static inline
#define RALLOC_FAIL(...) ralloc_fail(__func__)
#define RALLOC_FAILX(...) ralloc_fail(__func__)

static inline void ralloc_fail(const char *) __attribute__((noreturn));

/* End the process: memory is exhausted or a size overflows. */
static inline void
ralloc_fail(const char *what)
{
	fprintf(stderr, "rules: %s: cannot allocate memory\n", what);
	abort();
}
#endif

RALLOC_FN int xvasprintf(char **, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
RALLOC_FN int xasprintf(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocate size bytes. */
RALLOC_FN void *
xmalloc(size_t size)
{
	void *p;

	if (size == 0)
		size = 1;
	if ((p = malloc(size)) == NULL)
		RALLOC_FAIL("xmalloc: %zu bytes", size);
	return (p);
}

/* Allocate a zeroed array of nmemb elements. */
RALLOC_FN void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		RALLOC_FAIL("xcalloc: %zu * %zu bytes", nmemb, size);
	return (p);
}

/* Resize an array, checking the multiplication for overflow. */
RALLOC_FN void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (nmemb > SIZE_MAX / size)
		RALLOC_FAILX("xreallocarray: %zu * %zu overflows", nmemb, size);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		RALLOC_FAIL("xreallocarray: %zu * %zu bytes", nmemb, size);
	return (p);
}

/* Duplicate a string. */
RALLOC_FN char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		RALLOC_FAIL("xstrdup");
	return (p);
}

/* Duplicate at most n bytes of a string, always terminated. */
RALLOC_FN char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		RALLOC_FAIL("xstrndup");
	return (p);
}

/* Format into a newly allocated string. */
RALLOC_FN int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int n;

	if ((n = vasprintf(ret, fmt, ap)) == -1)
		RALLOC_FAIL("xvasprintf");
	return (n);
}

/* Format into a newly allocated string. */
RALLOC_FN int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return (n);
}

/* Free the n strings of an array and the array. */
RALLOC_FN void
freev(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

#endif
