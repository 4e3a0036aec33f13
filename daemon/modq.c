/*
 * modq.c -- the moderator's command: work the modq held queue from a
 * terminal.  It owns the command line, one hiredis connection and what is
 * printed.  Every action is one FCALL of the modq Functions library that
 * modqd loads, every view one FCALL_RO of its read-only functions, so a
 * moderator at redis-cli sees the same thing.  Comment data reaches Redis
 * only as binary-safe argv; on a terminal every value printed is escaped
 * (modq_escape()), piped output keeps the bytes.  See modq(1).
 */
#include <sys/ioctl.h>
#include <sys/time.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>
#include <utf8proc.h>

#include "log.h"
#include "xmalloc.h"

#define MODQ_VERSION "0.1.0"
#define MODQ_MAX_ID 128
#define MODQ_ID_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
#define MODQ_TIMEOUT_S 30 /* connect and reply; tail blocks for 5 s */
#define MODQ_TAIL_BATCH 100 /* decisions fetched at a time */
#define MODQ_TAIL_BATCH_S "100"
#define MODQ_MAXARGV 10 /* arguments of a command modq sends */
#define MODQ_REDIRECTS 5 /* -c: MOVED and ASK followed for one command */
#define MODQ_HOST_MAX 255 /* bytes of a host a redirect names */
#define MODQ_RAW 2 /* modq_vcommand(): the reply unchecked */

#define OUT_AUTO 0
#define OUT_PLAIN 1
#define OUT_TABLE 2

/* The command line, read once by modq_parse(). */
struct opts {
	const char *host; /* borrowed from argv or the environment */
	const char *port;
	const char *sock;
	const char *pass;
	const char *user;
	const char *db;
	const char *prefix;
	const char *as;
	const char *stream;
	const char *group;
	const char *note;
	const char *thread;
	const char *limit; /* NULL: not given */
	const char *count;
	int body;
	int cluster; /* -c: follow a Redis Cluster's MOVED and ASK */
	int all; /* retry --all */
	int outmode;
	int tty; /* standard output is a terminal */
	int width; /* terminal width for tables, 0: no limit */
	const char **args; /* owned array; the command and its arguments */
	int nargs;
};

/* Flags of modq_date(). */
#define DATE_CLOCK 0x1 /* in a table, the time of day only */

/* Escaping flags of modq_escape(). */
#define ESC_KEEPNL 0x1 /* newline and tab as they are */
#define ESC_BACKSLASH 0x2 /* a backslash as \\ */

/* A column of a table: its header, and the widest a cell may be (0: any). */
struct column {
	const char *name;
	int cap;
};

/* Rows of cells printed as tab-separated lines or aligned columns. */
struct table {
	char ***rows; /* owned */
	size_t *ncells;
	size_t nrows;
	const struct column *cols; /* header and caps, or NULL; borrowed */
	size_t ncols;
};

/* A command of the command line. */
struct cmd {
	const char *name;
	int (*fn)(void);
};

static struct opts o;
static redisContext *conn; /* owned; see modq_conn() */

/* The columns of the tables of held and dead. */
static const struct column held_cols[] = {{"ID", 0}, {"AGE", 0}, {"AUTHOR", 20},
    {"THREAD", 20}, {"REASONS", 30}, {"BODY", 0}};
static const struct column dead_cols[] = {{"ENTRY", 0}, {"TIME", 0},
    {"ERROR", 40}, {"ID", 30}, {"DEAD", 0}, {"BODY", 0}};

static void modq_usage(void);
static void modq_verror(const char *, va_list)
    __attribute__((format(printf, 1, 0)));
static void modq_usage_error(const char *, ...)
    __attribute__((format(printf, 1, 2))) __attribute__((noreturn));
static void modq_error(const char *, ...) __attribute__((format(printf, 1, 2)));
static char *modq_safe(const char *);
static void modq_out_check(void);
static const char *modq_number(const char *, const char *);
static int modq_longopt(int, char **, int *);
static int modq_shortopt(int, char **, int *);
static void modq_addarg(const char *);
static void modq_parse(int, char **);
static void modq_only(const char *);
static void modq_nargs(int, int);
static void modq_need_as(void);
static void modq_need_id(const char *);
static void modq_out_mode(void);
static char *modq_escape(const char *, size_t, int);
static int modq_utf8(const char *, size_t, int32_t *);
static int modq_escape_cp(int32_t);
static size_t modq_width(const char *, size_t, size_t, size_t *);
static char *modq_cut(const char *, size_t);
static void table_add(struct table *, const char **, size_t);
static void table_add_reply(struct table *, const redisReply *);
static void table_print_aligned(struct table *);
static void table_print(struct table *);
static void table_free(struct table *);
static int modq_login(redisContext *);
static redisContext *modq_connect(void);
static redisContext *modq_conn(void);
static void modq_redis_error(const char *);
static int modq_route(redisContext *);
static int modq_redirect(redisContext *, const char *, int);
static redisReply *modq_command(
    redisContext *, int, const char **, const size_t *);
static redisReply *modq_vcommand(redisContext *, int, const char *, va_list);
static redisReply *modq_call(redisContext *, const char *, ...);
static redisReply *modq_rawcall(redisContext *, const char *, ...);
static void modq_append(redisContext *, const char *, ...);
static redisReply *modq_reply(redisContext *, redisReply *);
static const char *modq_str(const redisReply *, char *, size_t);
static void modq_age(long long, char *, size_t);
static void modq_date(const char *, int, char *, size_t);
static int modq_time_field(const char *);
static int cmd_held(void);
static int cmd_show(void);
static int cmd_show_body(redisContext *, const char *);
static void cmd_show_write(const redisReply *);
static void cmd_show_header(const redisReply *, long long);
static int cmd_moderate(void);
static int cmd_moderate_result(
    const char *, const char *, redisReply *, struct table *);
static int cmd_forget(void);
static int cmd_retry(void);
static int cmd_state(void);
static int cmd_state_ok(const char *, const char *);
static void cmd_print_pairs(const redisReply *);
static int cmd_view_pairs(
    const char *, const char *, const char *, const char *);
static int cmd_stats(void);
static int cmd_dead_row(const redisReply *);
static int cmd_dead_sids(redisContext *, const redisReply *, char **);
static int cmd_dead(void);
static int cmd_tail(void);
static void cmd_tail_row(const redisReply *);
static int cmd_tail_print(const redisReply *, long, long *);
static int cmd_help(void);

static const struct cmd cmds[] = {
    {"help", cmd_help},
    {"held", cmd_held},
    {"show", cmd_show},
    {"approve", cmd_moderate},
    {"reject", cmd_moderate},
    {"delete", cmd_moderate},
    {"forget", cmd_forget},
    {"retry", cmd_retry},
    {"author", cmd_state},
    {"thread", cmd_state},
    {"stats", cmd_stats},
    {"tail", cmd_tail},
    {"dead", cmd_dead},
};

/* Short options, all with a value ("-p PORT"): where it goes. */
static const struct {
	const char *name;
	const char **value;
	int number; /* a whole number */
} shortopts[] = {
    {"-h", &o.host, 0},
    {"-p", &o.port, 1},
    {"-s", &o.sock, 0},
    {"-a", &o.pass, 0},
    {"-n", &o.db, 1},
};

/* Long options that take a value, and where it goes. */
static const struct {
	const char *name;
	const char **value;
} longopts[] = {
    {"--user", &o.user},
    {"--pass", &o.pass},
    {"--prefix", &o.prefix},
    {"--as", &o.as},
    {"--stream", &o.stream},
    {"--group", &o.group},
    {"--note", &o.note},
    {"--thread", &o.thread},
    {"--limit", &o.limit},
    {"--count", &o.count},
};

/* Print the summary of commands and options. */
static void
modq_usage(void)
{
	fputs("usage: modq [options] command [arguments]\n"
	      "\n"
	      "commands:\n"
	      "  held [--thread T] [--limit N]     held comments, oldest "
	      "first\n"
	      "  show ID [--body]                  one comment, whole "
	      "record and body\n"
	      "  approve ID... [--note TEXT]       approve held (or "
	      "rejected) comments\n"
	      "  reject ID... [--note TEXT]        reject comments\n"
	      "  delete ID... [--note TEXT]        delete comments (the "
	      "site's delete)\n"
	      "  forget AUTHOR [--note TEXT]       erase an author and "
	      "every record of it\n"
	      "  retry DEAD-ID... | --all          put dead letters back "
	      "on the stream\n"
	      "  author ID [STATE] [--note TEXT]   show an author, or set "
	      "trusted, premod,\n"
	      "                                    banned or clear\n"
	      "  thread ID [STATE] [--note TEXT]   show a thread, or set "
	      "open, premod or\n"
	      "                                    closed\n"
	      "  stats [--limit N]                 counters, stream "
	      "length, backlog, top rules\n"
	      "  tail [--count N]                  follow decisions live "
	      "(Ctrl-C stops)\n"
	      "  dead [--limit N]                  dead letters with "
	      "their errors\n"
	      "  help                              this text\n"
	      "\n"
	      "options:\n"
	      "  -h HOST  -p PORT  -s SOCKET  -a PASSWORD  --user USER  -n "
	      "DB\n"
	      "                     connect like redis-cli (REDISCLI_AUTH "
	      "is honoured)\n"
	      "  -c                 Redis Cluster: follow MOVED and ASK to "
	      "the node named\n"
	      "  --prefix P         Redis key prefix (default modq)\n"
	      "  --as NAME          moderator name for actions (default "
	      "$MODQ_USER)\n"
	      "  --stream S         incoming stream name under the prefix "
	      "(default: the site's)\n"
	      "  --group G          consumer group of modqd (default: the "
	      "site's)\n"
	      "  --plain, --table   tab-separated or aligned output "
	      "(default: aligned\n"
	      "                     on a terminal, tab-separated "
	      "otherwise)\n"
	      "  --help, --version\n"
	      "\n"
	      "Exit status: 0 ok, 1 an action or Redis failed, 2 usage "
	      "error.\n",
	    stdout);
}

/* Report an error on standard error. */
static void
modq_verror(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("modq: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Report a usage error and exit 2. */
static void
modq_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	modq_verror(fmt, ap);
	va_end(ap);
	exit(2);
}

/* Report an error on standard error. */
static void
modq_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	modq_verror(fmt, ap);
	va_end(ap);
}

/* Return a copy of s with control bytes as '?', for an error message. */
static char *
modq_safe(const char *s)
{
	char *t, *p;

	t = xstrdup(s);
	for (p = t; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return (t);
}

/*
 * Flush standard output.  If its reader has gone (modq show ID | head -3),
 * end as cat(1) would there, killed by SIGPIPE, without a message: main()
 * ignores SIGPIPE only so that a Redis connection closed under hiredis's
 * write is an error that gets reported.  Any other write error is left
 * to the caller.
 */
static void
modq_out_check(void)
{
	sigset_t set;

	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	if (errno != EPIPE)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGPIPE, SIG_DFL);
	raise(SIGPIPE);
	_exit(128 + SIGPIPE); /* not reached */
}

/* Check a whole number of at most 9 digits for option name; return it. */
static const char *
modq_number(const char *name, const char *v)
{
	if (*v == '\0' || strspn(v, "0123456789") != strlen(v))
		modq_usage_error("%s: not a number: %s", name, v);
	if (strlen(v) > 9)
		modq_usage_error("%s: number too large: %s", name, v);
	return (v);
}

/*
 * Take the long option at argv[*i] if it is one with a value ("--opt
 * VALUE" or "--opt=VALUE"); return 0 if it is not one.
 */
static int
modq_longopt(int argc, char **argv, int *i)
{
	const char *a = argv[*i], *eq, *v;
	size_t k, n;

	eq = strchr(a, '=');
	n = eq != NULL ? (size_t)(eq - a) : strlen(a);
	for (k = 0; k < sizeof longopts / sizeof longopts[0]; k++) {
		if (strlen(longopts[k].name) != n ||
		    strncmp(a, longopts[k].name, n) != 0)
			continue;
		if (eq != NULL)
			v = eq + 1;
		else if (*i + 1 < argc)
			v = argv[++*i];
		else
			modq_usage_error("option %s needs a value", a);
		if (longopts[k].value == &o.limit ||
		    longopts[k].value == &o.count)
			modq_number(longopts[k].name, v);
		*longopts[k].value = v;
		return (1);
	}
	return (0);
}

/* Take the short option at argv[*i] (-h -p -s -a -n); 0 if it is not one. */
static int
modq_shortopt(int argc, char **argv, int *i)
{
	size_t k;

	for (k = 0; k < sizeof shortopts / sizeof shortopts[0]; k++) {
		if (strcmp(argv[*i], shortopts[k].name) != 0)
			continue;
		if (*i + 1 >= argc)
			modq_usage_error("option %s needs a value", argv[*i]);
		*shortopts[k].value = argv[++*i];
		if (shortopts[k].number)
			modq_number(shortopts[k].name, argv[*i]);
		return (1);
	}
	return (0);
}

/* Add an argument (the command or one of its arguments). */
static void
modq_addarg(const char *a)
{
	o.args = xreallocarray(o.args, o.nargs + 1, sizeof *o.args);
	o.args[o.nargs++] = a;
}

/* Read the command line into o.  Options may come anywhere. */
static void
modq_parse(int argc, char **argv)
{
	char *s;
	int i;

	for (i = 1; i < argc; i++) {
		if (modq_shortopt(argc, argv, &i) ||
		    (strncmp(argv[i], "--", 2) == 0 &&
		        modq_longopt(argc, argv, &i)))
			continue;
		if (strcmp(argv[i], "--plain") == 0)
			o.outmode = OUT_PLAIN;
		else if (strcmp(argv[i], "--table") == 0)
			o.outmode = OUT_TABLE;
		else if (strcmp(argv[i], "--body") == 0)
			o.body = 1;
		else if (strcmp(argv[i], "-c") == 0)
			o.cluster = 1;
		else if (strcmp(argv[i], "--all") == 0)
			o.all = 1;
		else if (strcmp(argv[i], "--help") == 0) {
			o.nargs = 0;
			modq_addarg("help");
			return;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("modq %s\n", MODQ_VERSION);
			exit(0);
		} else if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				modq_addarg(argv[i]);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			s = modq_safe(argv[i]);
			modq_usage_error(
			    "unknown option %s (see modq --help)", s);
		} else
			modq_addarg(argv[i]);
	}
	if (*o.prefix == '\0')
		modq_usage_error("--prefix: empty prefix");
}

/* Refuse the options the command does not take (allowed: their names). */
static void
modq_only(const char *allowed)
{
	const struct {
		const char *name;
		int set;
	} opts[] = {
	    {"note", o.note != NULL},
	    {"thread", o.thread != NULL},
	    {"limit", o.limit != NULL},
	    {"count", o.count != NULL},
	    {"body", o.body},
	    {"all", o.all},
	};
	size_t k;

	for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
		if (opts[k].set && strstr(allowed, opts[k].name) == NULL)
			modq_usage_error("--%s does not apply to '%s'",
			    opts[k].name, o.args[0]);
}

/* Check the number of arguments after the command. */
static void
modq_nargs(int min, int max)
{
	if (o.nargs - 1 < min || o.nargs - 1 > max)
		modq_usage_error("%s: wrong number of arguments "
		                 "(see modq --help)",
		    o.args[0]);
}

/* Exit 2 unless a moderator name is known. */
static void
modq_need_as(void)
{
	if (o.as == NULL || *o.as == '\0')
		modq_usage_error(
		    "no moderator name: use --as NAME or set MODQ_USER");
}

/* Exit 2 unless id is a comment id. */
static void
modq_need_id(const char *id)
{
	const char *hint = "";
	char *s;

	if (*id == '\0' || strspn(id, MODQ_ID_CHARS) != strlen(id)) {
		if (strcmp(o.args[0], "approve") == 0 ||
		    strcmp(o.args[0], "reject") == 0 ||
		    strcmp(o.args[0], "delete") == 0)
			hint = " (use --note TEXT for a note)";
		s = modq_safe(id);
		modq_usage_error("not a comment id: '%s'%s", s, hint);
	}
	if (strlen(id) > MODQ_MAX_ID)
		modq_usage_error("comment id longer than 128 bytes");
}

/*
 * Pick the output mode (aligned on a terminal, tab-separated otherwise,
 * unless a flag says) and the width tables are cut to: COLUMNS, or the
 * terminal's.
 */
static void
modq_out_mode(void)
{
	struct winsize ws;
	const char *w = getenv("COLUMNS");

	o.tty = isatty(STDOUT_FILENO);
	if (o.outmode == OUT_AUTO)
		o.outmode = o.tty ? OUT_TABLE : OUT_PLAIN;
	if (w != NULL && *w != '\0') {
		if (strspn(w, "0123456789") == strlen(w) && strlen(w) <= 6)
			o.width = atoi(w);
	} else if (o.outmode == OUT_TABLE && o.tty &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		o.width = ws.ws_col;
}

/*
 * Decode the UTF-8 character at the start of s (len bytes): return its
 * length and set *cp, or return 0 if the bytes are not valid UTF-8.
 */
static int
modq_utf8(const char *s, size_t len, int32_t *cp)
{
	utf8proc_ssize_t n;

	n = utf8proc_iterate(
	    (const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, cp);
	return (n > 0 ? (int)n : 0);
}

/* Tell whether cp is a C1 control or a line separator or bidi control. */
static int
modq_escape_cp(int32_t cp)
{
	return ((cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
}

/*
 * Escape len bytes for a terminal, as the Functions escape values: newline,
 * tab and carriage return as \n \t \r, other C0 controls, DEL and bytes
 * that are not UTF-8 as \xHH, C1, line separator and bidi controls as
 * \uHHHH; see ESC_*.  The result is allocated.
 */
static char *
modq_escape(const char *s, size_t len, int flags)
{
	char *out, *p;
	size_t i = 0;
	int32_t cp;
	int n;
	unsigned char ch;

	p = out = xmalloc(len * 6 + 1);
	while (i < len) {
		ch = (unsigned char)s[i];
		n = modq_utf8(s + i, len - i, &cp);
		if (ch == '\\' && (flags & ESC_BACKSLASH))
			p += sprintf(p, "\\\\");
		else if ((ch == '\n' || ch == '\t') && (flags & ESC_KEEPNL))
			*p++ = (char)ch;
		else if (ch == '\n' || ch == '\t' || ch == '\r')
			p += sprintf(p, "\\%c",
			    ch == '\n'       ? 'n'
			        : ch == '\t' ? 't'
			                     : 'r');
		else if (ch < 0x20 || ch == 0x7f || n == 0)
			p += sprintf(p, "\\x%02x", ch);
		else if (modq_escape_cp(cp))
			p += sprintf(p, "\\u%04x", (unsigned int)cp);
		else {
			memcpy(p, s + i, (size_t)n);
			p += n;
		}
		i += n > 0 ? (size_t)n : 1;
	}
	*p = '\0';
	return (out);
}

/*
 * Return the width in columns of len bytes of s.  With max > 0 also set
 * *cut to the length of its longest prefix at most max columns wide.
 */
static size_t
modq_width(const char *s, size_t len, size_t max, size_t *cut)
{
	size_t i = 0, w = 0, cw;
	int32_t cp;
	int n;

	if (cut != NULL)
		*cut = len;
	while (i < len) {
		n = modq_utf8(s + i, len - i, &cp);
		cw = n > 0 ? (size_t)utf8proc_charwidth(cp) : 1;
		if (n == 0)
			n = 1;
		if (cut != NULL && w + cw > max) {
			*cut = i;
			return (w);
		}
		w += cw;
		i += (size_t)n;
	}
	return (w);
}

/* Return s cut to fit width columns, ending with an ellipsis. */
static char *
modq_cut(const char *s, size_t width)
{
	char *t;
	size_t cut;

	modq_width(s, strlen(s), width, &cut);
	xasprintf(&t, "%.*s\342\200\246", (int)cut, s);
	return (t);
}

/*
 * Add a row.  Each cell is escaped when the output is a terminal (a no-op
 * for what the Functions escaped) and cut to its column's cap in tables.
 */
static void
table_add(struct table *t, const char **cells, size_t n)
{
	char **row, *old;
	size_t c;
	int cap;

	row = xcalloc(n, sizeof *row);
	for (c = 0; c < n; c++) {
		if (o.tty)
			row[c] = modq_escape(cells[c], strlen(cells[c]), 0);
		else
			row[c] = xstrdup(cells[c]);
		cap = c < t->ncols ? t->cols[c].cap : 0;
		if (o.outmode == OUT_TABLE && cap > 0 &&
		    modq_width(row[c], strlen(row[c]), 0, NULL) > (size_t)cap) {
			old = row[c];
			row[c] = modq_cut(old, (size_t)cap - 1);
			free(old);
		}
	}
	t->rows = xreallocarray(t->rows, t->nrows + 1, sizeof *t->rows);
	t->ncells = xreallocarray(t->ncells, t->nrows + 1, sizeof *t->ncells);
	t->rows[t->nrows] = row;
	t->ncells[t->nrows++] = n;
}

/* Add a row from an array reply of strings and numbers. */
static void
table_add_reply(struct table *t, const redisReply *r)
{
	char(*num)[32];
	const char **cells;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return;
	cells = xcalloc(r->elements, sizeof *cells);
	num = xcalloc(r->elements, sizeof *num);
	for (i = 0; i < r->elements; i++)
		cells[i] = modq_str(r->element[i], num[i], sizeof num[i]);
	table_add(t, cells, r->elements);
	free(num);
	free(cells);
}

/* Print the rows as aligned columns under hdr (NULL: none). */
static void
table_print_aligned(struct table *t)
{
	size_t r, c, ncol = 0, *wid, used = 0, w, room;
	char *v;

	for (r = 0; r < t->nrows; r++)
		if (t->ncells[r] > ncol)
			ncol = t->ncells[r];
	wid = xcalloc(ncol + 1, sizeof *wid);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncells[r]; c++) {
			w = modq_width(
			    t->rows[r][c], strlen(t->rows[r][c]), 0, NULL);
			if (w > wid[c])
				wid[c] = w;
		}
	for (c = 0; c + 1 < ncol; c++)
		used += wid[c] + 2;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncells[r]; c++) {
			v = t->rows[r][c];
			w = modq_width(v, strlen(v), 0, NULL);
			if (c + 1 < t->ncells[r]) {
				printf("%s%*s", v, (int)(wid[c] - w + 2), "");
				continue;
			}
			if (o.width > 0 && c + 1 == ncol &&
			    used + w > (size_t)o.width) {
				room = (size_t)o.width > used + 1
				    ? (size_t)o.width - used - 1
				    : 1;
				v = modq_cut(v, room);
				fputs(v, stdout);
				free(v);
			} else
				fputs(v, stdout);
		}
		putchar('\n');
	}
	free(wid);
}

/*
 * Print the rows as the output mode wants: tab-separated, or aligned
 * under the header of t's columns if it has them.  Nothing at all if
 * there are no rows.
 */
static void
table_print(struct table *t)
{
	struct table h = {NULL, NULL, 0, NULL, 0};
	const char **hdr;
	size_t r, c;

	if (t->nrows == 0)
		return;
	if (o.outmode == OUT_PLAIN) {
		for (r = 0; r < t->nrows; r++)
			for (c = 0; c < t->ncells[r]; c++)
				printf("%s%c", t->rows[r][c],
				    c + 1 < t->ncells[r] ? '\t' : '\n');
		return;
	}
	if (t->cols != NULL) {
		hdr = xcalloc(t->ncols, sizeof *hdr);
		for (c = 0; c < t->ncols; c++)
			hdr[c] = t->cols[c].name;
		table_add(&h, hdr, t->ncols);
		free(hdr);
		h.rows = xreallocarray(h.rows, t->nrows + 1, sizeof *h.rows);
		h.ncells =
		    xreallocarray(h.ncells, t->nrows + 1, sizeof *h.ncells);
		memcpy(h.rows + 1, t->rows, t->nrows * sizeof *t->rows);
		memcpy(h.ncells + 1, t->ncells, t->nrows * sizeof *t->ncells);
		h.nrows = t->nrows + 1;
		table_print_aligned(&h);
		h.nrows = 1; /* the other rows are t's */
		table_free(&h);
	} else
		table_print_aligned(t);
}

/* Free the rows. */
static void
table_free(struct table *t)
{
	size_t r, c;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncells[r]; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	free(t->rows);
	free(t->ncells);
	t->rows = NULL;
	t->ncells = NULL;
	t->nrows = 0;
}

/* Send AUTH and SELECT as the options say; -1 (reported) on failure. */
static int
modq_login(redisContext *c)
{
	redisReply *r;

	if (o.pass != NULL && *o.pass != '\0') {
		if (o.user != NULL)
			r = modq_call(c, "AUTH", o.user, o.pass, NULL);
		else
			r = modq_call(c, "AUTH", o.pass, NULL);
		if (r == NULL)
			return (-1);
		freeReplyObject(r);
	}
	if (o.db != NULL) {
		if ((r = modq_call(c, "SELECT", o.db, NULL)) == NULL)
			return (-1);
		freeReplyObject(r);
	}
	return (0);
}

/* Connect and log in; NULL (reported) on failure. */
static redisContext *
modq_connect(void)
{
	struct timeval tv = {MODQ_TIMEOUT_S, 0};
	redisContext *c;
	char where[512];

	if (o.sock != NULL) {
		snprintf(where, sizeof where, "%s", o.sock);
		c = redisConnectUnixWithTimeout(o.sock, tv);
	} else {
		snprintf(where, sizeof where, "%s:%s", o.host, o.port);
		c = redisConnectWithTimeout(o.host, atoi(o.port), tv);
	}
	if (c == NULL || c->err) {
		modq_error("cannot connect to %s: %s", where,
		    c != NULL ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		return (NULL);
	}
	if (redisSetTimeout(c, tv) != REDIS_OK || modq_login(c) == -1) {
		redisFree(c);
		return (NULL);
	}
	return (c);
}

/*
 * Return the connection, made on first use; NULL (reported) if none.
 * With -c it is moved to the node that owns the site's hash slot first,
 * so that the commands modq pipelines go there too.
 */
static redisContext *
modq_conn(void)
{
	if (conn == NULL && (conn = modq_connect()) != NULL && o.cluster &&
	    modq_route(conn) == -1) {
		redisFree(conn);
		conn = NULL;
	}
	return (conn);
}

/*
 * -c: ask for the type of <prefix>:conf, which a node that does not own
 * the site's slot answers with MOVED (followed by modq_command()).
 */
static int
modq_route(redisContext *c)
{
	redisReply *r;
	char *key;

	xasprintf(&key, "%s:conf", o.prefix);
	r = modq_call(c, "TYPE", key, NULL);
	free(key);
	if (r == NULL)
		return (-1);
	freeReplyObject(r);
	return (0);
}

/*
 * -c: follow a "MOVED <slot> <host>:<port>" or "ASK ..." error: connect
 * to the node it names and log in, with ASKING first for an ASK, and
 * swap the new connection into *c (the callers hold c; hiredis keeps
 * nothing that points into the struct), closing the old one.  -1
 * (reported) when the error does not parse or the node cannot be
 * reached.
 */
static int
modq_redirect(redisContext *c, const char *err, int ask)
{
	struct timeval tv = {MODQ_TIMEOUT_S, 0};
	const char *sp, *colon;
	char host[MODQ_HOST_MAX + 1], *end, *e;
	redisContext *n, tmp;
	redisReply *r;
	long port;
	size_t hlen;

	errno = 0;
	if ((sp = strchr(err, ' ')) == NULL ||
	    (sp = strchr(sp + 1, ' ')) == NULL ||
	    (colon = strrchr(sp, ':')) == NULL ||
	    (hlen = (size_t)(colon - sp - 1)) == 0 || hlen > MODQ_HOST_MAX ||
	    (port = strtol(colon + 1, &end, 10)) < 1 || port > 65535 ||
	    *end != '\0' || errno != 0) {
		e = modq_safe(err);
		modq_error("cannot follow the redirect: %s", e);
		free(e);
		return (-1);
	}
	memcpy(host, sp + 1, hlen);
	host[hlen] = '\0';
	n = redisConnectWithTimeout(host, (int)port, tv);
	if (n == NULL || n->err) {
		e = modq_safe(host);
		modq_error("cannot connect to %s:%ld: %s", e, port,
		    n != NULL ? n->errstr : "out of memory");
		free(e);
		if (n != NULL)
			redisFree(n);
		return (-1);
	}
	if (redisSetTimeout(n, tv) != REDIS_OK || modq_login(n) == -1 ||
	    (ask && (r = modq_call(n, "ASKING", NULL)) == NULL)) {
		redisFree(n);
		return (-1);
	}
	if (ask)
		freeReplyObject(r);
	tmp = *c;
	*c = *n;
	*n = tmp;
	redisFree(n);
	return (0);
}

/*
 * Run one command and return its reply as it comes (an error reply too;
 * NULL on a connection error).  With -c a MOVED or ASK is followed to
 * the node it names and the command sent again there, MODQ_REDIRECTS
 * times at most.
 */
static redisReply *
modq_command(redisContext *c, int n, const char **argv, const size_t *lens)
{
	redisReply *r;
	int hops, ask;

	for (hops = 0;; hops++) {
		r = redisCommandArgv(c, n, argv, lens);
		if (!o.cluster || r == NULL || r->type != REDIS_REPLY_ERROR ||
		    r->str == NULL || hops == MODQ_REDIRECTS)
			return (r);
		ask = strncmp(r->str, "ASK ", 4) == 0;
		if (!ask && strncmp(r->str, "MOVED ", 6) != 0)
			return (r);
		if (modq_redirect(c, r->str, ask) == -1)
			return (r);
		freeReplyObject(r);
	}
}

/* Report an error reply of Redis or the library. */
static void
modq_redis_error(const char *msg)
{
	char *s;

	if (strstr(msg, "Function not found") != NULL) {
		modq_error("the modq Functions library is not loaded "
		           "(is modqd running against this Redis?)");
		return;
	}
	if (strncmp(msg, "ERR modq: ", 10) == 0)
		msg += 10;
	s = modq_safe(msg);
	if (!o.cluster &&
	    (strncmp(msg, "MOVED ", 6) == 0 || strncmp(msg, "ASK ", 4) == 0))
		modq_error("%s (a Redis Cluster: -c follows it)", s);
	else
		modq_error("%s", s);
	free(s);
}

/*
 * Check a reply: NULL (a connection error) and error replies are
 * reported and give NULL; others are returned.
 */
static redisReply *
modq_reply(redisContext *c, redisReply *r)
{
	if (r == NULL) {
		modq_error("%s",
		    c->errstr[0] != '\0' ? c->errstr : "no reply from Redis");
		return (NULL);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		modq_redis_error(r->str);
		freeReplyObject(r);
		return (NULL);
	}
	return (r);
}

/*
 * Send a command given as a NULL-terminated list of at most MODQ_MAXARGV
 * strings.  With wait, return its reply as modq_reply() checks it (with
 * MODQ_RAW, as it comes); without, only queue it for a pipeline and
 * return NULL.
 */
static redisReply *
modq_vcommand(redisContext *c, int wait, const char *cmd, va_list ap)
{
	const char *argv[MODQ_MAXARGV], *a;
	size_t lens[MODQ_MAXARGV];
	int n = 0;

	for (a = cmd; a != NULL; a = va_arg(ap, const char *)) {
		if (n == MODQ_MAXARGV)
			fatalx("too many arguments");
		argv[n] = a;
		lens[n++] = strlen(a);
	}
	if (wait == MODQ_RAW)
		return (modq_command(c, n, argv, lens));
	if (wait)
		return (modq_reply(c, modq_command(c, n, argv, lens)));
	if (redisAppendCommandArgv(c, n, argv, lens) != REDIS_OK)
		fatalx("out of memory");
	return (NULL);
}

/* Run a command given as NULL-terminated strings; see modq_reply(). */
static redisReply *
modq_call(redisContext *c, const char *cmd, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, cmd);
	r = modq_vcommand(c, 1, cmd, ap);
	va_end(ap);
	return (r);
}

/* Run a command given as NULL-terminated strings; its reply as it comes. */
static redisReply *
modq_rawcall(redisContext *c, const char *cmd, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, cmd);
	r = modq_vcommand(c, MODQ_RAW, cmd, ap);
	va_end(ap);
	return (r);
}

/* Queue a command given as NULL-terminated strings (pipelining). */
static void
modq_append(redisContext *c, const char *cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	modq_vcommand(c, 0, cmd, ap);
	va_end(ap);
}

/* Return a string or number reply as a string (numbers in buf). */
static const char *
modq_str(const redisReply *r, char *buf, size_t len)
{
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		return (r->str);
	if (r->type == REDIS_REPLY_INTEGER) {
		snprintf(buf, len, "%lld", r->integer);
		return (buf);
	}
	return ("");
}

/* Show a duration in milliseconds as 45s, 5m, 2h or 3d. */
static void
modq_age(long long ms, char *buf, size_t len)
{
	long long s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%lldh", s / 3600);
	else
		snprintf(buf, len, "%lldd", s / 86400);
}

/*
 * Format a time in milliseconds since the epoch for the output mode:
 * --plain, for programs, as ISO 8601 in UTC with milliseconds
 * (2026-12-02T03:30:44.123Z); a table, for people, as a local date and
 * time, or with DATE_CLOCK the time of day only.  Whatever is not a time
 * is copied as it is.
 */
static void
modq_date(const char *ms, int flags, char *buf, size_t len)
{
	struct tm tm;
	long long v;
	time_t t;
	size_t n = 0;

	snprintf(buf, len, "%s", ms);
	if (*ms == '\0' || strspn(ms, "0123456789") != strlen(ms) ||
	    strlen(ms) > 15)
		return;
	v = strtoll(ms, NULL, 10);
	t = (time_t)(v / 1000);
	if (o.outmode == OUT_PLAIN && gmtime_r(&t, &tm) != NULL) {
		n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
		if (n != 0 && n + 6 < len)
			snprintf(buf + n, len - n, ".%03lldZ", v % 1000);
	} else if (localtime_r(&t, &tm) != NULL)
		n = strftime(buf, len,
		    (flags & DATE_CLOCK) ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S",
		    &tm);
	if (n == 0)
		snprintf(buf, len, "%s", ms);
}

/*
 * Tell whether a field of a record is one of its times in milliseconds:
 * the site's own fields (a created_at in seconds, say) are shown as sent.
 */
static int
modq_time_field(const char *f)
{
	static const char *const times[] = {
	    "decided_at", "judged_at", "held_at", "expires_at"};
	size_t i;

	for (i = 0; i < sizeof times / sizeof times[0]; i++)
		if (strcmp(f, times[i]) == 0)
			return (1);
	return (0);
}

/* held: the held queue, oldest first, with a count in table mode. */
static int
cmd_held(void)
{
	struct table t = {NULL, NULL, 0, held_cols, 6};
	redisContext *c;
	redisReply *r;
	long long total;
	size_t i, shown;

	modq_only("thread limit");
	modq_nargs(0, 0);
	modq_out_mode();
	if ((c = modq_conn()) == NULL)
		return (1);
	r = modq_call(c, "FCALL_RO", "modq_held", "1", o.prefix,
	    o.limit != NULL ? o.limit : "50", o.thread != NULL ? o.thread : "",
	    "200", NULL);
	if (r == NULL)
		return (1);
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		modq_error("unexpected reply from modq_held");
		freeReplyObject(r);
		return (1);
	}
	total = r->element[0]->integer;
	for (i = 1; i < r->elements; i++)
		table_add_reply(&t, r->element[i]);
	shown = t.nrows;
	freeReplyObject(r);
	table_print(&t);
	table_free(&t);
	if (o.outmode != OUT_TABLE)
		return (0);
	if (total == 0)
		printf("no held comments\n");
	else if (shown == 0)
		printf("no held comments in that thread (%lld held)\n", total);
	else if ((long long)shown < total && o.thread == NULL)
		printf("(%zu of %lld held shown; --limit N for more)\n", shown,
		    total);
	else
		printf("(%zu shown, %lld held)\n", shown, total);
	return (0);
}

/* Write a body: exact bytes, or escaped on a terminal. */
static void
cmd_show_write(const redisReply *r)
{
	char *s;

	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return;
	if (o.tty) {
		s = modq_escape(r->str, r->len, ESC_KEEPNL | ESC_BACKSLASH);
		fputs(s, stdout);
		free(s);
	} else
		fwrite(r->str, 1, r->len, stdout);
}

/*
 * show --body: only the body, without a newline.  Plain commands, so it
 * works without the Functions library.
 */
static int
cmd_show_body(redisContext *c, const char *key)
{
	redisReply *r;

	if ((r = modq_call(c, "HMGET", key, "status", "body", NULL)) == NULL)
		return (1);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    (r->element[0]->type == REDIS_REPLY_NIL &&
	        r->element[1]->type == REDIS_REPLY_NIL)) {
		modq_error("no comment %s", o.args[1]);
		freeReplyObject(r);
		return (1);
	}
	cmd_show_write(r->element[1]);
	freeReplyObject(r);
	return (0);
}

/*
 * Add the header lines of show: field, value; the record's times as
 * modq_date() shows them, in a table with how long ago (or how long
 * until), by the server's clock.
 */
static void
cmd_show_header(const redisReply *r, long long now)
{
	struct table t = {NULL, NULL, 0, NULL, 0};
	const char *cell[2];
	char date[64], age[32], buf[128], b0[32];
	size_t i;
	long long ms;

	for (i = 0; i + 1 < r->elements; i += 2) {
		cell[0] = modq_str(r->element[i], b0, sizeof b0);
		cell[1] = modq_str(r->element[i + 1], buf, sizeof buf);
		if (modq_time_field(cell[0]) && *cell[1] != '\0' &&
		    strspn(cell[1], "0123456789") == strlen(cell[1])) {
			ms = strtoll(cell[1], NULL, 10);
			modq_date(cell[1], 0, date, sizeof date);
			modq_age(
			    now >= ms ? now - ms : ms - now, age, sizeof age);
			if (o.outmode == OUT_TABLE)
				snprintf(buf, sizeof buf, "%s (%s%s%s)", date,
				    now >= ms ? "" : "in ", age,
				    now >= ms ? " ago" : "");
			else
				snprintf(buf, sizeof buf, "%s", date);
			cell[1] = buf;
		}
		table_add(&t, cell, 2);
	}
	table_print(&t);
	table_free(&t);
}

/* show: the record, an empty line, the body and a newline. */
static int
cmd_show(void)
{
	redisReply *r[3] = {NULL, NULL, NULL};
	redisContext *c;
	const char *id;
	char *key;
	int i, rc = 1;
	long long now;

	modq_only("body");
	modq_nargs(1, 1);
	id = o.args[1];
	modq_need_id(id);
	modq_out_mode();
	if ((c = modq_conn()) == NULL)
		return (1);
	xasprintf(&key, "%s:c:%s", o.prefix, id);
	if (o.body) {
		rc = cmd_show_body(c, key);
		free(key);
		return (rc);
	}
	modq_append(c, "TIME", NULL);
	modq_append(c, "FCALL_RO", "modq_show", "1", o.prefix, id, NULL);
	modq_append(c, "HGET", key, "body", NULL);
	for (i = 0; i < 3; i++)
		if (redisGetReply(c, (void **)&r[i]) != REDIS_OK)
			r[i] = NULL;
	for (i = 0; i < 3; i++)
		if ((r[i] = modq_reply(c, r[i])) == NULL)
			goto out;
	if (r[1]->type != REDIS_REPLY_ARRAY || r[1]->elements == 0) {
		modq_error("no comment %s", id);
		goto out;
	}
	now = 0;
	if (r[0]->type == REDIS_REPLY_ARRAY && r[0]->elements == 2)
		now = strtoll(r[0]->element[0]->str, NULL, 10) * 1000 +
		    strtoll(r[0]->element[1]->str, NULL, 10) / 1000;
	cmd_show_header(r[1], now);
	putchar('\n');
	cmd_show_write(r[2]);
	putchar('\n');
	rc = 0;
out:
	for (i = 0; i < 3; i++)
		if (r[i] != NULL)
			freeReplyObject(r[i]);
	free(key);
	return (rc);
}

/*
 * Print one approve or reject result: a line for the table, or the error
 * (named by the id) on standard error.  Returns 1 if the id failed.
 */
static int
cmd_moderate_result(
    const char *id, const char *status, redisReply *r, struct table *t)
{
	const char *cell[2] = {id, status}, *msg;
	char buf[64], *s;

	if (r == NULL) {
		modq_error("%s: not done (no reply from Redis)", id);
		return (1);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		msg = r->str;
		if (strncmp(msg, "ERR modq: ", 10) == 0)
			msg += 10;
		if (strstr(msg, "Function not found") != NULL ||
		    strstr(msg, id) != NULL)
			modq_redis_error(msg);
		else {
			xasprintf(&s, "%s: %s", id, msg);
			modq_redis_error(s);
			free(s);
		}
		return (1);
	}
	if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
		snprintf(buf, sizeof buf, "already %s", status);
		cell[1] = buf;
	}
	table_add(t, cell, 2);
	return (0);
}

/*
 * approve, reject, delete: one atomic FCALL per id, pipelined after a
 * PING that tells a connection or login failure (nothing done) from a
 * refused id.
 */
static int
cmd_moderate(void)
{
	struct table t = {NULL, NULL, 0, NULL, 0};
	const char *fn = "modq_approve", *status = "approved";
	redisContext *c;
	redisReply *r;
	int i, rc = 0;

	modq_only("note");
	if (o.nargs < 2)
		modq_usage_error(
		    "%s: which comment? (modq %s ID...)", o.args[0], o.args[0]);
	modq_need_as();
	for (i = 1; i < o.nargs; i++)
		modq_need_id(o.args[i]);
	modq_out_mode();
	if (strcmp(o.args[0], "reject") == 0) {
		fn = "modq_reject";
		status = "rejected";
	} else if (strcmp(o.args[0], "delete") == 0) {
		fn = "modq_delete";
		status = "deleted";
	}
	if ((c = modq_conn()) == NULL ||
	    (r = modq_call(c, "PING", NULL)) == NULL) {
		modq_error("nothing done");
		return (1);
	}
	freeReplyObject(r);
	for (i = 1; i < o.nargs && !o.cluster; i++)
		modq_append(c, "FCALL", fn, "1", o.prefix, o.args[i], o.as,
		    o.note != NULL ? o.note : "", NULL);
	for (i = 1; i < o.nargs; i++) {
		if (o.cluster) /* one at a time: each may be redirected */
			r = modq_rawcall(c, "FCALL", fn, "1", o.prefix,
			    o.args[i], o.as, o.note != NULL ? o.note : "",
			    NULL);
		else if (redisGetReply(c, (void **)&r) != REDIS_OK)
			r = NULL;
		rc |= cmd_moderate_result(o.args[i], status, r, &t);
		if (r != NULL)
			freeReplyObject(r);
	}
	table_print(&t);
	table_free(&t);
	return (rc);
}

/*
 * forget AUTHOR: modq_forget erases the author's own keys at once and
 * queues its records, which modqd erases a bounded step at a time.
 */
static int
cmd_forget(void)
{
	redisContext *c;
	redisReply *r;
	int rc;

	modq_only("note");
	modq_nargs(1, 1);
	modq_need_as();
	if ((c = modq_conn()) == NULL ||
	    (r = modq_call(c, "FCALL", "modq_forget", "1", o.prefix, o.args[1],
	         o.as, o.note != NULL ? o.note : "", NULL)) == NULL)
		return (1);
	if ((rc = r->type == REDIS_REPLY_ERROR))
		modq_redis_error(r->str);
	else
		printf("forgetting %s: its hash and rate windows are gone; "
		       "modqd erases its records in steps\n",
		    o.args[1]);
	freeReplyObject(r);
	return (rc);
}

/*
 * retry DEAD-ID... or --all: modq_retry puts dead letters back on the
 * stream, one id a call, or the oldest 100 a call until none is left
 * (bounded: as many calls as there were dead letters at the start).
 */
static int
cmd_retry(void)
{
	redisContext *c;
	redisReply *r;
	long long n = 0, len = 0;
	char *key;
	int i, rc = 0;

	modq_only("note all");
	if (o.all ? o.nargs != 1 : o.nargs < 2)
		modq_usage_error("retry: DEAD-ID... or --all");
	modq_need_as();
	if ((c = modq_conn()) == NULL)
		return (1);
	if (o.all) {
		xasprintf(&key, "%s:dead", o.prefix);
		r = modq_call(c, "XLEN", key, NULL);
		free(key);
		if (r == NULL)
			return (1);
		len = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
		freeReplyObject(r);
	}
	for (i = 1; o.all ? len >= 0 : i < o.nargs; i++, len -= 100) {
		r = modq_call(c, "FCALL", "modq_retry", "1", o.prefix,
		    o.all ? "all" : o.args[i], o.as,
		    o.note != NULL ? o.note : "", NULL);
		if (r == NULL)
			return (1);
		if (r->type == REDIS_REPLY_ERROR) {
			modq_redis_error(r->str);
			rc = 1;
		} else if (r->type == REDIS_REPLY_INTEGER)
			n += r->integer;
		if (o.all &&
		    (r->type != REDIS_REPLY_INTEGER || r->integer == 0))
			len = -1;
		freeReplyObject(r);
	}
	printf("%lld dead letter%s back on the stream\n", n, n == 1 ? "" : "s");
	return (rc);
}

/* Print a reply of field, value pairs as rows. */
static void
cmd_print_pairs(const redisReply *r)
{
	struct table t = {NULL, NULL, 0, NULL, 0};
	const char *cell[2];
	char b0[32], b1[32];
	size_t i;

	if (r->type == REDIS_REPLY_ARRAY)
		for (i = 0; i + 1 < r->elements; i += 2) {
			cell[0] = modq_str(r->element[i], b0, sizeof b0);
			cell[1] = modq_str(r->element[i + 1], b1, sizeof b1);
			table_add(&t, cell, 2);
		}
	table_print(&t);
	table_free(&t);
}

/* Run a view that returns field, value pairs, and print them. */
static int
cmd_view_pairs(const char *fn, const char *a1, const char *a2, const char *a3)
{
	redisContext *c;
	redisReply *r;

	if ((c = modq_conn()) == NULL ||
	    (r = modq_call(
	         c, "FCALL_RO", fn, "1", o.prefix, a1, a2, a3, NULL)) == NULL)
		return (1);
	cmd_print_pairs(r);
	freeReplyObject(r);
	return (0);
}

/* Tell whether state is one an author (or a thread) can be set to. */
static int
cmd_state_ok(const char *kind, const char *state)
{
	static const char *author[] = {
	    "trusted", "premod", "banned", "clear", NULL};
	static const char *thread[] = {"open", "premod", "closed", NULL};
	const char **s = strcmp(kind, "author") == 0 ? author : thread;

	for (; *s != NULL; s++)
		if (strcmp(*s, state) == 0)
			return (1);
	return (0);
}

/* author, thread: show one, or set an author's trust or a thread's mode. */
static int
cmd_state(void)
{
	struct table t = {NULL, NULL, 0, NULL, 0};
	const char *kind = o.args[0], *id, *state, *cell[2];
	char fn[32], buf[64], *safe;
	redisContext *c;
	redisReply *r;

	modq_only("note");
	modq_nargs(1, 2);
	id = o.args[1];
	if (*id == '\0')
		modq_usage_error("%s: empty %s id", kind, kind);
	modq_out_mode();
	snprintf(fn, sizeof fn, "modq_show_%s", kind);
	if (o.nargs == 2) {
		if (o.note != NULL)
			modq_usage_error("--note needs a state to set");
		return (cmd_view_pairs(fn, id, NULL, NULL));
	}
	state = o.args[2];
	if (!cmd_state_ok(kind, state) && strcmp(kind, "author") == 0)
		modq_usage_error("author state must be trusted, premod, "
		                 "banned or clear");
	if (!cmd_state_ok(kind, state))
		modq_usage_error("thread state must be open, premod or closed");
	modq_need_as();
	snprintf(fn, sizeof fn, "modq_%s", kind);
	if ((c = modq_conn()) == NULL ||
	    (r = modq_call(c, "FCALL", fn, "1", o.prefix, id, state, o.as,
	         o.note != NULL ? o.note : "", NULL)) == NULL)
		return (1);
	snprintf(buf, sizeof buf, "%s%s",
	    r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? "" : "already ",
	    state);
	freeReplyObject(r);
	safe = modq_safe(id);
	cell[0] = safe;
	cell[1] = buf;
	table_add(&t, cell, 2);
	table_print(&t);
	table_free(&t);
	free(safe);
	return (0);
}

/* stats: counters, stream length, backlog, pending and the top rules. */
static int
cmd_stats(void)
{
	modq_only("limit");
	modq_nargs(0, 0);
	modq_out_mode();
	return (cmd_view_pairs(
	    "modq_stats", o.stream, o.group, o.limit != NULL ? o.limit : "10"));
}

/* Tell whether a row of modq_dead is { entry, ms, error, id, body }. */
static int
cmd_dead_row(const redisReply *e)
{
	return (e->type == REDIS_REPLY_ARRAY && e->elements == 5 &&
	    e->element[0]->type == REDIS_REPLY_STRING);
}

/*
 * Find the stream_id field of each dead letter of r (modq_dead's rows,
 * which name the dead letter's own entry): the id of the comment's entry
 * in the incoming stream, as modqd logs it.  One pipelined XRANGE of each
 * entry; sids[i] stays NULL where there is none.  Returns -1 (reported)
 * if Redis failed.
 */
static int
cmd_dead_sids(redisContext *c, const redisReply *r, char **sids)
{
	const redisReply *f;
	redisReply *x;
	const char *id;
	char *key;
	size_t i, k;
	int rc = 0;

	xasprintf(&key, "%s:dead", o.prefix);
	for (i = 0; i < r->elements; i++) {
		if (!cmd_dead_row(r->element[i]))
			continue;
		id = r->element[i]->element[0]->str;
		modq_append(c, "XRANGE", key, id, id, NULL);
	}
	free(key);
	for (i = 0; i < r->elements; i++) {
		if (!cmd_dead_row(r->element[i]))
			continue;
		if (redisGetReply(c, (void **)&x) != REDIS_OK)
			x = NULL;
		if ((x = modq_reply(c, x)) == NULL) {
			rc = -1;
			continue;
		}
		f = x->type == REDIS_REPLY_ARRAY && x->elements == 1 &&
		        x->element[0]->type == REDIS_REPLY_ARRAY &&
		        x->element[0]->elements == 2
		    ? x->element[0]->element[1]
		    : NULL;
		for (k = 0; f != NULL && k + 1 < f->elements; k += 2)
			if (f->element[k]->type == REDIS_REPLY_STRING &&
			    f->element[k + 1]->type == REDIS_REPLY_STRING &&
			    strcmp(f->element[k]->str, "stream_id") == 0) {
				sids[i] = xstrdup(f->element[k + 1]->str);
				break;
			}
		freeReplyObject(x);
	}
	return (rc);
}

/*
 * dead: the last dead letters, oldest first: the comment's entry in the
 * incoming stream, when it became a dead letter, its error and id, the
 * dead letter's own id (what modq_retry takes) and the body.
 */
static int
cmd_dead(void)
{
	struct table t = {NULL, NULL, 0, dead_cols, 6};
	redisContext *c;
	redisReply *r, *e;
	const char *cell[6];
	char date[64], num[5][32], **sids;
	size_t i, k;
	int rc = 0;

	modq_only("limit");
	modq_nargs(0, 0);
	modq_out_mode();
	if ((c = modq_conn()) == NULL ||
	    (r = modq_call(c, "FCALL_RO", "modq_dead", "1", o.prefix,
	         o.limit != NULL ? o.limit : "50", "120", NULL)) == NULL)
		return (1);
	if (r->type != REDIS_REPLY_ARRAY) {
		modq_error("unexpected reply from modq_dead");
		freeReplyObject(r);
		return (1);
	}
	sids = xcalloc(r->elements + 1, sizeof *sids);
	if (cmd_dead_sids(c, r, sids) == -1)
		rc = 1;
	for (i = 0; rc == 0 && i < r->elements; i++) {
		if (!cmd_dead_row(e = r->element[i]))
			continue;
		for (k = 0; k < 5; k++)
			cell[k] =
			    modq_str(e->element[k], num[k], sizeof num[k]);
		cell[5] = cell[4]; /* the body last, cut to the width */
		cell[4] = cell[0]; /* the dead letter's own id */
		cell[0] = sids[i] != NULL ? sids[i] : "-";
		modq_date(cell[1], 0, date, sizeof date);
		cell[1] = date;
		table_add(&t, cell, 6);
	}
	freev(sids, r->elements);
	freeReplyObject(r);
	if (rc == 0 && t.nrows == 0 && o.outmode == OUT_TABLE)
		printf("no dead letters\n");
	table_print(&t);
	table_free(&t);
	return (rc);
}

/* Print one tail row (ms id status by reasons) and flush. */
static void
cmd_tail_row(const redisReply *e)
{
	const char *f[5];
	char *v[5], date[64];
	size_t i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 5)
		return;
	for (i = 0; i < 5; i++) {
		f[i] = e->element[i]->type == REDIS_REPLY_STRING
		    ? e->element[i]->str
		    : "";
		v[i] =
		    o.tty ? modq_escape(f[i], strlen(f[i]), 0) : xstrdup(f[i]);
	}
	if (o.outmode == OUT_PLAIN) {
		modq_date(f[0], 0, date, sizeof date);
		printf("%s\t%s\t%s\t%s\t%s\n", date, v[1], v[2], v[3], v[4]);
	} else {
		modq_date(f[0], DATE_CLOCK, date, sizeof date);
		printf("%s  %-20s  %-8s  %-12s  %s\n", date, v[1], v[2], v[3],
		    v[4]);
	}
	modq_out_check();
	for (i = 0; i < 5; i++)
		free(v[i]);
}

/*
 * Print the rows of a modq_tail reply, stopping at --count; *n counts the
 * rows printed.  Returns 1 when --count is reached.
 */
static int
cmd_tail_print(const redisReply *r, long count, long *n)
{
	size_t i;

	for (i = 1; i < r->elements; i++) {
		if (count >= 0 && *n >= count)
			break;
		cmd_tail_row(r->element[i]);
		(*n)++;
	}
	return (count >= 0 && *n >= count);
}

/*
 * tail: print decisions as they arrive.  XREAD BLOCK waits for an entry
 * after the last one seen (at first the stream's last, as "$" would); the
 * read-only modq_tail fetches them escaped.
 */
static int
cmd_tail(void)
{
	redisContext *c;
	redisReply *r;
	char *key, *last = NULL;
	long count = -1, n = 0;
	int rc = 1, more;

	modq_only("count");
	modq_nargs(0, 0);
	modq_out_mode();
	if (o.count != NULL)
		count = strtol(o.count, NULL, 10);
	xasprintf(&key, "%s:decisions", o.prefix);
	if ((c = modq_conn()) == NULL)
		goto out;
	for (;;) {
		r = modq_call(c, "FCALL_RO", "modq_tail", "1", o.prefix,
		    last != NULL ? last : "$", MODQ_TAIL_BATCH_S, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements == 0 ||
		    r->element[0]->type != REDIS_REPLY_STRING)
			break;
		free(last);
		last = xstrdup(r->element[0]->str);
		more = r->elements > MODQ_TAIL_BATCH;
		if (cmd_tail_print(r, count, &n)) {
			freeReplyObject(r);
			rc = 0;
			break;
		}
		freeReplyObject(r);
		if (more)
			continue;
		r = modq_call(c, "XREAD", "BLOCK", "5000", "COUNT", "1",
		    "STREAMS", key, last, NULL);
		if (r == NULL)
			break;
		freeReplyObject(r);
	}
out:
	free(last);
	free(key);
	return (rc);
}

/* help: the summary of commands and options. */
static int
cmd_help(void)
{
	modq_usage();
	return (0);
}

int
main(int argc, char **argv)
{
	size_t k;
	char *s;
	int rc;

	log_init(LOG_TO_STDERR, 0);
	signal(SIGPIPE, SIG_IGN); /* see modq_out_check() */
	o.host = "127.0.0.1";
	o.port = "6379";
	o.prefix = "modq";
	o.stream = ""; /* the site's, from <prefix>:conf */
	o.group = "";
	o.as = getenv("MODQ_USER");
	o.pass = getenv("REDISCLI_AUTH");
	modq_parse(argc, argv);
	if (o.nargs == 0)
		modq_usage_error("no command given (modq --help lists them)");
	for (k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
		if (strcmp(cmds[k].name, o.args[0]) != 0)
			continue;
		rc = cmds[k].fn();
		if (conn != NULL)
			redisFree(conn);
		free(o.args);
		modq_out_check();
		if (ferror(stdout))
			rc = 1;
		return (rc);
	}
	s = modq_safe(o.args[0]);
	modq_usage_error("unknown command '%s' (see modq --help)", s);
}
