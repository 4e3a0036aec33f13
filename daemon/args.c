/*
 * args.c -- the argument lists of Redis commands (struct redis_args in
 * modqd.h) and the test of an error reply: plain C with no connection,
 * kept apart from redis.c so that what builds a command can be linked and
 * tested without hiredis's async code or a Redis.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "modqd.h"
#include "xmalloc.h"

/* Start an empty argument list. */
void
redis_args_init(struct redis_args *a)
{
	memset(a, 0, sizeof *a);
}

/* Append an argument (borrowed: it must live until the command is sent). */
void
redis_args_add(struct redis_args *a, const char *s, size_t len)
{
	if (a->argc == a->cap) {
		a->cap = a->cap == 0 ? 16 : a->cap * 2;
		a->argv =
		    xreallocarray(a->argv, (size_t)a->cap, sizeof *a->argv);
		a->len = xreallocarray(a->len, (size_t)a->cap, sizeof *a->len);
	}
	a->argv[a->argc] = s;
	a->len[a->argc] = len;
	a->argc++;
}

/* Append a NUL-terminated argument (borrowed). */
void
redis_args_adds(struct redis_args *a, const char *s)
{
	redis_args_add(a, s, strlen(s));
}

/* Start a list of arg and the arguments after it up to a NULL (borrowed). */
void
redis_args_initv(struct redis_args *a, const char *arg, va_list ap)
{
	redis_args_init(a);
	for (; arg != NULL; arg = va_arg(ap, const char *))
		redis_args_adds(a, arg);
}

/*
 * Start the arguments of FCALL fn 1 prefix: every function of the modq
 * library takes the site's key prefix as its one key (see modq.lua).
 */
void
redis_args_fcall(struct redis_args *a, const char *fn, const char *prefix)
{
	redis_args_init(a);
	redis_args_adds(a, "FCALL");
	redis_args_adds(a, fn);
	redis_args_adds(a, "1");
	redis_args_adds(a, prefix);
}

/* Append a formatted argument (owned by the list). */
void
redis_args_addf(struct redis_args *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	a->strs = xreallocarray(a->strs, (size_t)a->nstrs + 1, sizeof *a->strs);
	a->strs[a->nstrs++] = s;
	redis_args_add(a, s, (size_t)n);
}

/* Free an argument list. */
void
redis_args_free(struct redis_args *a)
{
	freev(a->strs, (size_t)a->nstrs);
	free(a->argv);
	free(a->len);
	memset(a, 0, sizeof *a);
}

/* Tell whether a reply is an error, and give its text. */
int
redis_reply_error(void *r, const char **msg)
{
	redisReply *reply = r;

	if (reply->type != REDIS_REPLY_ERROR)
		return (0);
	*msg = reply->str != NULL ? reply->str : "error";
	return (1);
}
