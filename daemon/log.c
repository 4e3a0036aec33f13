/*
 * log.c -- the one log sink of the process: stderr with timestamps, stderr
 * with <N> priority prefixes for the journal (journald keeps the levels), or
 * syslog; log.target chooses, and by default ("auto") the journal when
 * stderr is the stream systemd connected to it, stderr with timestamps
 * otherwise.  Every message is escaped on its way out
 * (control, bidi and invalid UTF-8 bytes), so whatever a comment id, an
 * author or an error text holds, one call writes exactly one line.  errno
 * is preserved across every call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define LOG_LINE_MAX 4096 /* bytes of one message before escaping */
#define LOG_ESC_BACKSLASH 0x1 /* escape backslashes too */

static int log_sink = LOG_TO_STDERR;
static int log_verbose;

static size_t log_utf8(const unsigned char *, size_t, uint32_t *);
static int log_unsafe(uint32_t);
static size_t log_escape_span(char *, const char *, size_t, int);
static void log_vlog(int, const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/*
 * Give the sink a log.target value names (LOG_TO_AUTO for "auto"), or -1
 * if it names none.
 */
int
log_sink_parse(const char *s)
{
	static const struct {
		const char *name;
		int sink;
	} sinks[] = {
	    {"auto", LOG_TO_AUTO},
	    {"stderr", LOG_TO_STDERR},
	    {"syslog", LOG_TO_SYSLOG},
	    {"journal", LOG_TO_JOURNAL},
	};
	size_t i;

	for (i = 0; i < sizeof sinks / sizeof sinks[0]; i++)
		if (strcmp(s, sinks[i].name) == 0)
			return (sinks[i].sink);
	return (-1);
}

/*
 * Tell whether stderr is the journal stream systemd set up for us: it
 * names it in JOURNAL_STREAM as "device:inode", and a process started
 * from a service, whose stderr went elsewhere, inherits the variable all
 * the same (systemd.exec(5) says to compare).
 */
int
log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (v == NULL || sscanf(v, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    v[n] != '\0' || fstat(STDERR_FILENO, &st) == -1)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

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

/*
 * Decode one UTF-8 sequence at s (len > 0 bytes) into *cp; returns its
 * length, or 0 if s does not start a valid one (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).
 */
static size_t
log_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t min;
	size_t n, k;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		min = 0x80;
		*cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		min = 0x800;
		*cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		min = 0x10000;
		*cp = s[0] & 0x07;
	} else
		return (0);
	if (n > len)
		return (0);
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return (0);
		*cp = (*cp << 6) | (s[k] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp < 0xe000))
		return (0);
	return (n);
}

/*
 * Tell whether a code point must not reach a log line as it is: C0, DEL,
 * C1, the bidi embeddings, overrides and isolates (they reorder what a
 * terminal shows) and the Unicode line and paragraph separators.
 */
static int
log_unsafe(uint32_t cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
}

/*
 * The one escaper of the process.  Write len bytes of s to dst as text
 * that is valid UTF-8 and holds no control or bidi character, so it
 * cannot end a log line or forge the next one: \n \r \t, \xNN for
 * other C0 bytes, DEL and bytes that are not UTF-8, \u{NNNN} for C1,
 * bidi and separator code points; with LOG_ESC_BACKSLASH a backslash
 * becomes \\ too.  dst needs room for 4 * len + 1 bytes; returns the
 * length written, not counting the NUL.
 */
static size_t
log_escape_span(char *dst, const char *s, size_t len, int flags)
{
	const unsigned char *u = (const unsigned char *)s;
	char *p = dst;
	uint32_t cp;
	size_t i, n;

	for (i = 0; i < len; i += n) {
		if ((n = log_utf8(u + i, len - i, &cp)) == 0) {
			p += sprintf(p, "\\x%02x", u[i]);
			n = 1;
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			*p++ = '\\';
			*p++ = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
		} else if (cp < 0x20 || cp == 0x7f)
			p += sprintf(p, "\\x%02x", (unsigned)cp);
		else if (log_unsafe(cp))
			p += sprintf(p, "\\u{%04x}", (unsigned)cp);
		else if (cp == '\\' && (flags & LOG_ESC_BACKSLASH)) {
			*p++ = '\\';
			*p++ = '\\';
		} else {
			memcpy(p, u + i, n);
			p += n;
		}
	}
	*p = '\0';
	return ((size_t)(p - dst));
}

/*
 * Write one line at priority pri, with an optional suffix.  The whole
 * message is escaped here, whatever the caller passed: one call, one line.
 */
static void
log_vlog(int pri, const char *fmt, const char *suffix, va_list ap)
{
	char raw[LOG_LINE_MAX], line[4 * LOG_LINE_MAX + 1], stamp[32];
	struct timespec ts;
	struct tm tm;
	int saved = errno;
	size_t n;

	vsnprintf(raw, sizeof raw, fmt, ap);
	n = strlen(raw);
	if (suffix != NULL)
		snprintf(raw + n, sizeof raw - n, ": %s", suffix);
	log_escape_span(line, raw, strlen(raw), 0);
	switch (log_sink) {
	case LOG_TO_SYSLOG:
		syslog(pri, "%s", line);
		break;
	case LOG_TO_JOURNAL:
		fprintf(stderr, "<%d>%s\n", pri, line);
		break;
	default:
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(
		    stderr, "%s.%03ld %s\n", stamp, ts.tv_nsec / 1000000, line);
		break;
	}
	errno = saved;
}

/*
 * Log at priority pri, with strerror(errno) appended if flags has
 * LOG_STRERROR; a debug message is not even formatted unless debug is on.
 * log.h names the levels.
 */
void
log_msg(int pri, int flags, const char *fmt, ...)
{
	va_list ap;
	const char *err = NULL;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	if (flags & LOG_STRERROR)
		err = strerror(errno);
	va_start(ap, fmt);
	log_vlog(pri, fmt, err, ap);
	va_end(ap);
}

/*
 * Escape at most max bytes of untrusted text (a comment body) for a log
 * line, backslashes included so the text reads back exactly; a cut falls
 * between UTF-8 sequences and is marked "...".  The result is allocated.
 */
char *
log_escape(const char *s, size_t len, size_t max)
{
	char *out;
	size_t n = len, k;

	if (n > max) {
		n = max;
		for (k = 0; k < 3 && ((unsigned char)s[n] & 0xc0) == 0x80; k++)
			n--;
	}
	out = xmalloc(4 * n + 4);
	k = log_escape_span(out, s, n, LOG_ESC_BACKSLASH);
	if (n < len)
		memcpy(out + k, "...", 4);
	return (out);
}
