/*
 * log.h -- logging API shared by daemon/ and rules/.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdlib.h>
#include <syslog.h>

#define LOG_TO_SYSLOG 0 /* syslog(3), facility LOG_DAEMON */
#define LOG_TO_STDERR 1 /* stderr with timestamps */
#define LOG_TO_JOURNAL 2 /* stderr with <N> priority prefixes */
#define LOG_TO_AUTO 3 /* journal if stderr is systemd's stream, else stderr */

int log_sink_parse(const char *);
int log_stderr_is_journal(void);
void log_init(int, int);
void log_setverbose(int);
int log_getverbose(void);
void log_msg(int, int, const char *, ...) __attribute__((format(printf, 3, 4)));
char *log_escape(const char *, size_t, size_t);

/*
 * Every level is log_msg with a syslog(3) priority and flags; fatal and
 * fatalx exit after it, and since exit(3) does not return the compiler
 * knows that they do not either.
 */
#define LOG_STRERROR 0x1 /* end the line with strerror(errno) */

#define log_warn(...) log_msg(LOG_WARNING, LOG_STRERROR, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, 0, __VA_ARGS__)
#define fatal(...) (log_msg(LOG_ERR, LOG_STRERROR, __VA_ARGS__), exit(1))
#define fatalx(...) (log_msg(LOG_ERR, 0, __VA_ARGS__), exit(1))

#endif
