/*
 * clock.c -- the one test of "at most once every ms" that what the
 * housekeeping tick drives at its own pace goes through.
 */
#include <sys/time.h>

#include <stddef.h>

#include "modqd.h"

/*
 * Tell whether ms milliseconds have passed since *last, or *last is not
 * set yet; if so, *last becomes now.  What the tick drives at its own
 * pace (a trim, the gauges, a clock of expire.c) runs at most once every
 * ms through this.
 */
int
clock_due(struct timeval *last, long ms)
{
	struct timeval now, d;

	gettimeofday(&now, NULL);
	timersub(&now, last, &d);
	if (timerisset(last) && d.tv_sec * 1000 + d.tv_usec / 1000 < ms)
		return (0);
	*last = now;
	return (1);
}
