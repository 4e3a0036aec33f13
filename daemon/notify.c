/*
 * notify.c -- tells systemd how the daemon is doing through sd_notify():
 * READY, RELOADING (with MONOTONIC_USEC), STOPPING, a STATUS line and
 * watchdog pings.  Outside systemd (no $NOTIFY_SOCKET) every call is a no-op.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

/* Tell systemd the daemon is ready (or ready again after a reload). */
void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

/* Tell systemd a reload has started. */
void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	        (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* Tell systemd the daemon is stopping. */
void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

/* Set the one-line status systemctl status shows. */
void
notify_status(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", s);
	free(s);
}

/* Give the watchdog interval in microseconds, or 0 when it is off. */
unsigned long long
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return (0);
	return ((unsigned long long)usec);
}

/* Ping the watchdog. */
void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}
