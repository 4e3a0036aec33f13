/*
 * log.h -- logging API shared by daemon/ and rules/.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#define LOG_TO_SYSLOG 0 /* syslog(3), facility LOG_DAEMON */
#define LOG_TO_STDERR 1 /* stderr with timestamps */
#define LOG_TO_JOURNAL 2 /* stderr with <N> priority prefixes */
#define LOG_TO_AUTO 3 /* journal if stderr is systemd's stream, else stderr */

int log_sink_parse(const char *);
int log_stderr_is_journal(void);
void log_init(int, int);
void log_setverbose(int);
int log_getverbose(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));
char *log_escape(const char *, size_t, size_t);

#endif
