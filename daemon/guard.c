/*
 * guard.c -- a hiredis reply reader that counts what it builds: the
 * objects and string bytes of the reply being read, and the elements each
 * array announces, each within its limit.  hiredis builds a reply of any
 * size it is sent; through the guard, a reply over a limit fails the read
 * (hiredis takes it as out of memory) and the guard says why.  The
 * synchronous connections of sentinel.c and cluster.c read through it;
 * redis.c's connections have their own, which also bounds what each
 * request expects.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "modqd.h"

static void *guard_count(const redisReadTask *, size_t);
static void *guard_string(const redisReadTask *, char *, size_t);
static void *guard_array(const redisReadTask *, int);
static void *guard_integer(const redisReadTask *, long long);
static void *guard_nil(const redisReadTask *);
static void guard_free(void *);

static redisReplyObjectFunctions guard_fn = {
    guard_string, guard_array, guard_integer, guard_nil, guard_free};
static redisReplyObjectFunctions *guard_hiredis; /* hiredis's own builders */

/*
 * Make hiredis build c's replies through guard g, whose limits the caller
 * set; its counts start from nothing.
 */
void
reply_guard_attach(redisContext *c, struct reply_guard *g)
{
	if (guard_hiredis == NULL)
		guard_hiredis = c->reader->fn;
	c->reader->fn = &guard_fn;
	c->reader->privdata = g;
	g->objs = g->bytes = 0;
	g->over = NULL;
}

/* Count one object of len string bytes; NULL when it goes over a limit. */
static void *
guard_count(const redisReadTask *t, size_t len)
{
	struct reply_guard *g = t->privdata;

	if (t->parent == NULL) { /* a new reply */
		g->objs = 0;
		g->bytes = 0;
	}
	g->objs++;
	g->bytes += len;
	if (g->objs > g->max_objs)
		g->over = "a reply of too many elements";
	else if (g->bytes > g->max_bytes)
		g->over = "a reply of too many bytes";
	else
		return (g);
	return (NULL); /* hiredis: out of memory, the read fails */
}

static void *
guard_string(const redisReadTask *t, char *s, size_t len)
{
	if (guard_count(t, len) == NULL)
		return (NULL);
	return (guard_hiredis->createString(t, s, len));
}

static void *
guard_array(const redisReadTask *t, int n)
{
	struct reply_guard *g;

	if ((g = guard_count(t, 0)) == NULL)
		return (NULL);
	if (n > 0 && (size_t)n > g->max_elems) {
		g->over = "a reply of too many elements";
		return (NULL);
	}
	return (guard_hiredis->createArray(t, n));
}

static void *
guard_integer(const redisReadTask *t, long long v)
{
	if (guard_count(t, 0) == NULL)
		return (NULL);
	return (guard_hiredis->createInteger(t, v));
}

static void *
guard_nil(const redisReadTask *t)
{
	if (guard_count(t, 0) == NULL)
		return (NULL);
	return (guard_hiredis->createNil(t));
}

static void
guard_free(void *obj)
{
	guard_hiredis->freeObject(obj);
}
