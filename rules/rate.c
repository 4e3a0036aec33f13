/*
 * rate.c -- the arithmetic of rate rules.  The counting itself happens in
 * Redis (so every daemon on one Redis shares it); this module says which
 * window a comment falls in and whether its count breaks the limit.
 *
 * A comment stamped t (milliseconds, from its stream entry id) counts the
 * comments of the same author, ip or thread stamped in (t - window, t],
 * itself included.  The rule fires when that count exceeds limit, that is on
 * the limit + 1-th comment inside the window.
 */
#include <string.h>

#include "rules_int.h"

static const char *const rate_names[] = {"author", "ip", "thread"};

/* Name the field a rate rule counts per. */
const char *
rate_per_name(enum rules_per per)
{
	if ((size_t)per >= sizeof rate_names / sizeof rate_names[0])
		return ("?");
	return (rate_names[per]);
}

/* Parse "author", "ip" or "thread"; returns -1 for anything else. */
int
rate_per_parse(const char *s, enum rules_per *per)
{
	size_t i;

	for (i = 0; i < sizeof rate_names / sizeof rate_names[0]; i++) {
		if (strcmp(s, rate_names[i]) == 0) {
			*per = (enum rules_per)i;
			return (0);
		}
	}
	return (-1);
}

/* Give the inclusive score range [*min, *max] of the window ending at t. */
void
rate_window(
    const struct rules_rate *r, long long t, long long *min, long long *max)
{
	*min = t - r->window * 1000 + 1;
	*max = t;
}

/*
 * Say how often a rate key is trimmed and given a new TTL: a quarter of its
 * window.
 */
long long
rate_refresh_ms(const struct rules_rate *r)
{
	return (r->window * 1000 / 4);
}

/*
 * Say what TTL a rate key gets at a refresh: its window, plus the time to
 * the next refresh, plus a second.
 */
long long
rate_ttl_ms(const struct rules_rate *r)
{
	return (r->window * 1000 + rate_refresh_ms(r) + 1000);
}

/* Tell whether count comments in the window break the rule. */
int
rate_exceeded(const struct rules_rate *r, long long count)
{
	return (count > r->limit);
}
