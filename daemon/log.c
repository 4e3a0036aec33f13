/*
 * log.c -- the one log sink of the process: stderr with timestamps in the
 * foreground, stderr with <N> priority prefixes under systemd (journald keeps
 * the levels), syslog otherwise.  errno is preserved across every call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

static int log_sink = LOG_TO_STDERR;
static int log_verbose;

static void log_vlog(int, const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* Choose the sink; verbose enables debug messages. */
void
log_init(int sink, int verbose)
{
	log_sink = sink;
	log_verbose = verbose;
	if (sink == LOG_TO_SYSLOG)
		openlog("modqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

/* Change the verbosity at run time. */
void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/* Report whether debug messages are wanted. */
int
log_getverbose(void)
{
	return (log_verbose);
}

/* Write one line at priority pri, with an optional suffix. */
static void
log_vlog(int pri, const char *fmt, const char *suffix, va_list ap)
{
	char line[4096], stamp[32];
	struct timespec ts;
	struct tm tm;
	int saved = errno;

	vsnprintf(line, sizeof line, fmt, ap);
	switch (log_sink) {
	case LOG_TO_SYSLOG:
		if (suffix != NULL)
			syslog(pri, "%s: %s", line, suffix);
		else
			syslog(pri, "%s", line);
		break;
	case LOG_TO_JOURNAL:
		fprintf(stderr, "<%d>%s%s%s\n", pri, line,
		    suffix != NULL ? ": " : "", suffix != NULL ? suffix : "");
		break;
	default:
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s%s%s\n", stamp,
		    ts.tv_nsec / 1000000, line, suffix != NULL ? ": " : "",
		    suffix != NULL ? suffix : "");
		break;
	}
	errno = saved;
}

/* Warn, appending strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, fmt, err, ap);
	va_end(ap);
}

/* Warn. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, fmt, NULL, ap);
	va_end(ap);
}

/* Log at info level. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, fmt, NULL, ap);
	va_end(ap);
}

/* Log at debug level; nothing is formatted unless debug is on. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, fmt, NULL, ap);
	va_end(ap);
}

/* Log an error with strerror(errno) and exit. */
void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	log_vlog(LOG_ERR, fmt, err, ap);
	va_end(ap);
	exit(1);
}

/* Log an error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, fmt, NULL, ap);
	va_end(ap);
	exit(1);
}

/*
 * Escape at most max bytes of untrusted text for a log line: control bytes,
 * backslash and DEL become escapes; the result is allocated.
 */
char *
log_escape(const char *s, size_t len, size_t max)
{
	char *out, *p;
	size_t i, n = len < max ? len : max;
	unsigned char ch;

	p = out = xmalloc(n * 4 + 4);
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if (ch == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (ch == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (ch < 0x20 || ch == 0x7f)
			p += sprintf(p, "\\x%02x", ch);
		else
			*p++ = (char)ch;
	}
	if (n < len) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p = '\0';
	return (out);
}
