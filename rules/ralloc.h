/*
 * ralloc.h -- the allocators of rules/, so that the library needs nothing
 * from daemon/: the house's xmalloc() family under the same names, static
 * to each file that includes this header.  On exhaustion they print to
 * stderr and abort(); no caller tests a result.  Include this or
 * include/xmalloc.h, never both.
 */
#ifndef RALLOC_H
#define RALLOC_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void ralloc_fail(const char *) __attribute__((noreturn));
static inline int xvasprintf(char **, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
static inline int xasprintf(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* End the process: memory is exhausted or a size overflows. */
static inline void
ralloc_fail(const char *what)
{
	fprintf(stderr, "rules: %s: cannot allocate memory\n", what);
	abort();
}

/* Allocate size bytes. */
static inline void *
xmalloc(size_t size)
{
	void *p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		ralloc_fail("xmalloc");
	return (p);
}

/* Allocate a zeroed array of nmemb elements. */
static inline void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		ralloc_fail("xcalloc");
	return (p);
}

/* Resize an array, checking the multiplication for overflow. */
static inline void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (nmemb > SIZE_MAX / size || (p = realloc(ptr, nmemb * size)) == NULL)
		ralloc_fail("xreallocarray");
	return (p);
}

/* Duplicate a string. */
static inline char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		ralloc_fail("xstrdup");
	return (p);
}

/* Duplicate at most n bytes of a string, always terminated. */
static inline char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		ralloc_fail("xstrndup");
	return (p);
}

/* Format into a newly allocated string. */
static inline int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int n;

	if ((n = vasprintf(ret, fmt, ap)) == -1)
		ralloc_fail("xvasprintf");
	return (n);
}

/* Format into a newly allocated string. */
static inline int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return (n);
}

#endif
