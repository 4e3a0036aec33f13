/*
 * modq-bench-load: the load generator and stopwatch of `make bench`.  It owns
 * the corpus (the Davidson CSV, parsed once with libcsv), its own hiredis
 * connections and the timing tables.  `fill` adds comments to the incoming
 * stream as fast as pipelining allows, `rate` adds them at a fixed pace and
 * times each decision, `wait` polls until a number of comments are decided,
 * and `floor` drains the stream itself with only the Redis commands the
 * contract needs (no daemon): the cost modqd is measured against.
 * Every result is one line of key=value pairs on stdout; every error is a
 * message on stderr and exit status 1.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>
#include <hiredis/hiredis.h>

#define PROG "modq-bench-load"
#define OPTSTRING "+a:b:d:D:f:g:h:I:k:M:n:p:P:r:R:s:S:t:T:w:x:"
#define CHUNK 1000 /* commands per pipelined round trip */
#define READ_COUNT "1000" /* decisions per XREAD */
#define READ_BLOCK "1000" /* ms an idle XREAD stays blocked */
#define WAIT_POLL_NS 2000000L /* wait mode: 2 ms between polls */
#define MAX_COMMENTS 100000000UL
#define MAX_RUN 32
#define ID_MAX 128 /* modqd(8): ids are 1 to 128 characters */
#define FLOOR_RATES 8 /* -R rules at most */
#define FLOOR_NAME_MAX 64 /* modqd.conf(5): rule names are 1-64 bytes */
#define FLOOR_NAME_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define FLOOR_STRINGS 74 /* fields and values of an entry (modqd.h) */
#define FLOOR_KEY_MAX 512 /* bytes of a key name built here */
#define FLOOR_CONSUMER "floor"
/* A ruleset stamp is 12 hex digits: the record's bytes match modqd's. */
#define FLOOR_STAMP "000000000000"

enum floor_per { PER_AUTHOR, PER_IP, PER_THREAD };

/* Floor mode: one rate rule of the modqd config, from -R name:per:window. */
struct floor_rate {
	char name[FLOOR_NAME_MAX + 1];
	enum floor_per per;
	long long window_ms;
};

struct row {
	char *index; /* owned: the CSV's row index column */
	char *body; /* owned: the tweet column */
	size_t len;
};

struct corpus {
	const char *path; /* borrowed: for messages */
	struct row *rows; /* owned */
	size_t nrows;
	size_t cap;
	size_t line; /* CSV records seen, header included */
	int col; /* column of the field being parsed */
	int tweet_col;
	int header_done;
	char *cur_index; /* owned until the row is stored */
	char *cur_body; /* owned until the row is stored */
	size_t cur_len;
};

struct opts {
	const char *sock;
	const char *host;
	long port;
	const char *key;
	const char *dkey;
	const char *skey;
	const char *csv;
	const char *source;
	char run[MAX_RUN + 1];
	unsigned long n;
	unsigned long authors;
	unsigned long threads;
	double timeout;
	double idle;
	pid_t pid;
	const char *mode;
	double rate;
	unsigned long want;
	const char *group; /* floor: modqd's queue.group */
	const char *prefix; /* floor: modqd's redis.prefix */
	unsigned long batch; /* floor: modqd's queue.batch */
	long ttl_days; /* floor: modqd's decisions.ttl_days */
	long maxlen; /* floor: modqd's decisions.maxlen */
	struct floor_rate rates[FLOOR_RATES];
	size_t nrates;
};

/* One XADD, its argument vector pointing into its own buffers. */
struct xadd {
	char id[ID_MAX + 1];
	char author[32];
	char ip[16];
	char thread[32];
	const char *argv[13];
	size_t argvlen[13];
};

/*
 * Floor mode: one command's argument vector, with room for the longest
 * (an XACK of a whole batch); strings are borrowed until it is sent.
 */
struct floor_cmd {
	const char **argv; /* owned array */
	size_t *len; /* owned */
	int argc;
	int cap;
};

/* Floor mode: the fields of one stream entry that name its keys. */
struct floor_entry {
	const char *sid; /* borrowed from the reply */
	long long ts; /* milliseconds of the stream id */
	unsigned long long seq; /* sequence of the stream id */
	const redisReply *fv; /* borrowed: field, value, ... */
	const char *id, *author, *ip, *thread; /* borrowed, "" if absent */
};

/* Rate mode: when each comment was added and what came back. */
struct track {
	uint64_t *added; /* owned: per comment, µs; 0 = not sent yet */
	uint64_t *lat; /* owned: latencies in arrival order, µs */
	unsigned char *seen; /* owned: per comment, a decision arrived */
	size_t nlat;
	size_t dup;
	char last[64]; /* last decisions stream id read */
};

static void die(const char *, ...)
    __attribute__((__format__(__printf__, 1, 2), __noreturn__));
static void usage(void) __attribute__((__noreturn__));
static void *xrealloc(void *, size_t);
static char *xmemdup(const void *, size_t);
static uint64_t now_us(void);
static uint64_t mix64(uint64_t);
static unsigned long parse_ulong(
    const char *, const char *, unsigned long, unsigned long);
static double parse_double(const char *, const char *, double, double);
static void parse_run(struct opts *, const char *);
static void parse_rate_rule(struct opts *, const char *);
static void parse_defaults(struct opts *);
static void parse_opt(struct opts *, int, const char *, const char **);
static void parse_args(struct opts *, int, char **);
static void corpus_field_cb(void *, size_t, void *);
static void corpus_row_cb(int, void *);
static int corpus_space(unsigned char);
static void corpus_load(struct corpus *, const char *);
static redisContext *load_connect(const struct opts *);
static void load_check(redisContext *, redisReply *, const char *);
static void load_comment(
    const struct opts *, const struct corpus *, unsigned long, struct xadd *);
static void load_send(redisContext *, const struct opts *,
    const struct corpus *, unsigned long, unsigned long);
static void load_replies(redisContext *, unsigned long, const char *);
static int load_fill(const struct opts *, const struct corpus *);
static void rate_last_id(redisContext *, const char *, char *, size_t);
static void rate_read_send(redisContext *, const struct opts *, const char *);
static void rate_match(
    struct track *, const struct opts *, const char *, size_t, uint64_t);
static void rate_entry(
    struct track *, const struct opts *, redisReply *, uint64_t);
static void rate_decisions(
    struct track *, const struct opts *, redisReply *, uint64_t);
static void rate_poll(redisContext *, struct track *, const struct opts *, int);
static int rate_cmp(const void *, const void *);
static void rate_pct(const char *, const struct track *, unsigned long);
static int rate_report(struct track *, const struct opts *, uint64_t);
static unsigned long rate_send(redisContext *, struct track *,
    const struct opts *, const struct corpus *, unsigned long, uint64_t);
static int load_rate(const struct opts *, const struct corpus *);
static int wait_alive(pid_t);
static long long wait_count(redisContext *, const struct opts *);
static int wait_report(const struct opts *, long long, uint64_t, const char *);
static int load_wait(const struct opts *);
static void floor_be(char *, unsigned long long, int);
static void floor_key(char *, const char *, ...)
    __attribute__((__format__(__printf__, 2, 3)));
static void floor_arg(struct floor_cmd *, const char *, size_t);
static void floor_args(struct floor_cmd *, const char *);
static void floor_send(redisContext *, struct floor_cmd *, unsigned long *);
static void floor_parse(struct floor_entry *, const redisReply *);
static void floor_rates(redisContext *, const struct opts *, struct floor_cmd *,
    const struct floor_entry *, unsigned long *);
static void floor_entry(redisContext *, const struct opts *, struct floor_cmd *,
    const struct floor_entry *, const char *, unsigned long *);
static redisReply *floor_read(redisContext *, const struct opts *);
static unsigned long floor_batch(redisContext *, const struct opts *,
    struct floor_cmd *, const redisReply *);
static void floor_group(redisContext *, const struct opts *);
static int load_floor(const struct opts *);

/* Print an error and exit 1. */
static void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Print the synopsis and exit 1. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s [-s socket | -h host -p port] [-k key] [-d key]"
	    " [-S key]\n"
	    "\t[-f csv] [-n count] [-a authors] [-t threads] [-r run]"
	    " [-T seconds]\n"
	    "\t[-I seconds] [-w stats|xlen] [-P pid] [-b batch] [-g group]"
	    " [-x prefix]\n"
	    "\t[-D ttl_days] [-M maxlen] [-R name:per:window]"
	    " fill | rate R | wait N | floor\n",
	    PROG);
	exit(1);
}

/* Resize an allocation or die. */
static void *
xrealloc(void *p, size_t size)
{
	void *q;

	if ((q = realloc(p, size)) == NULL)
		die("out of memory");
	return (q);
}

/* Copy len bytes into a new NUL-terminated string. */
static char *
xmemdup(const void *s, size_t len)
{
	char *p;

	p = xrealloc(NULL, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

/* Return CLOCK_MONOTONIC in microseconds. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		die("clock_gettime: %s", strerror(errno));
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* Scramble a number (splitmix64) for deterministic pseudo-random fields. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31));
}

/* Parse a decimal number in [min, max] or die naming the option. */
static unsigned long
parse_ulong(
    const char *what, const char *s, unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min ||
	    v > max)
		die("%s: '%s' is not a number in %lu-%lu", what, s, min, max);
	return (v);
}

/* Parse a decimal fraction in [min, max] or die naming the option. */
static double
parse_double(const char *what, const char *s, double min, double max)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(v >= min && v <= max))
		die("%s: '%s' is not a number in %g-%g", what, s, min, max);
	return (v);
}

/* Set the run tag: the given one, or one from the clock. */
static void
parse_run(struct opts *o, const char *s)
{
	struct timespec ts;
	size_t i;

	if (s == NULL) {
		if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
			die("clock_gettime: %s", strerror(errno));
		snprintf(o->run, sizeof(o->run), "%llx",
		    (unsigned long long)ts.tv_sec * 1000000 +
		        (unsigned long long)ts.tv_nsec / 1000);
		return;
	}
	if (*s == '\0' || strlen(s) > MAX_RUN)
		die("-r: run tag must be 1-%d characters", MAX_RUN);
	for (i = 0; s[i] != '\0'; i++) {
		if (!isalnum((unsigned char)s[i]))
			die("-r: run tag must be letters and digits");
	}
	strcpy(o->run, s);
}

/* Set the defaults of every option. */
static void
parse_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port = 6379;
	o->key = "modq:incoming";
	o->dkey = "modq:decisions";
	o->skey = "modq:stats";
	o->csv = "../shared/corpus/davidson_labeled_data.csv";
	o->source = "stats";
	o->n = 100000;
	o->authors = 10000;
	o->threads = 100;
	o->timeout = 60;
	o->group = "modqd";
	o->prefix = "modq";
	o->batch = 256;
	o->ttl_days = 30;
	o->maxlen = 1000000;
}

/*
 * Add a floor rate rule, "name:per:window" (per: author, ip or thread;
 * window in seconds), as the bench's modqd config has it.
 */
static void
parse_rate_rule(struct opts *o, const char *s)
{
	static const char *const pers[] = {"author", "ip", "thread"};
	struct floor_rate *r;
	const char *c1, *c2;
	char num[32];
	size_t n, k;

	if (o->nrates == FLOOR_RATES)
		die("-R: at most %d rate rules", FLOOR_RATES);
	r = &o->rates[o->nrates];
	if ((c1 = strchr(s, ':')) == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
		die("-R %s: not name:per:window", s);
	n = (size_t)(c1 - s);
	if (n == 0 || n > FLOOR_NAME_MAX || strspn(s, FLOOR_NAME_CHARS) < n)
		die("-R %s: the name must be 1-%d of [A-Za-z0-9._-]", s,
		    FLOOR_NAME_MAX);
	memcpy(r->name, s, n);
	r->name[n] = '\0';
	n = (size_t)(c2 - c1 - 1);
	for (k = 0; k < 3; k++)
		if (strlen(pers[k]) == n && memcmp(c1 + 1, pers[k], n) == 0)
			break;
	if (k == 3)
		die("-R %s: per must be author, ip or thread", s);
	r->per = (enum floor_per)k;
	snprintf(num, sizeof(num), "%s", c2 + 1);
	r->window_ms =
	    1000 * (long long)parse_ulong("-R window", num, 1, 86400 * 366);
	o->nrates++;
}

/* Apply one command line option. */
static void
parse_opt(struct opts *o, int ch, const char *arg, const char **run)
{
	switch (ch) {
	case 'a':
		o->authors = parse_ulong("-a", arg, 1, UINT32_MAX);
		break;
	case 'b':
		o->batch = parse_ulong("-b", arg, 1, 4096);
		break;
	case 'd':
		o->dkey = arg;
		break;
	case 'D':
		o->ttl_days = (long)parse_ulong("-D", arg, 1, 3650);
		break;
	case 'f':
		o->csv = arg;
		break;
	case 'g':
		o->group = arg;
		break;
	case 'h':
		o->host = arg;
		break;
	case 'I':
		o->idle = parse_double("-I", arg, 0, 86400);
		break;
	case 'k':
		o->key = arg;
		break;
	case 'M':
		o->maxlen = (long)parse_ulong("-M", arg, 1000, 1000000000);
		break;
	case 'n':
		o->n = parse_ulong("-n", arg, 1, MAX_COMMENTS);
		break;
	case 'p':
		o->port = (long)parse_ulong("-p", arg, 1, 65535);
		break;
	case 'P':
		o->pid = (pid_t)parse_ulong("-P", arg, 1, INT_MAX);
		break;
	case 'r':
		*run = arg;
		break;
	case 'R':
		parse_rate_rule(o, arg);
		break;
	case 's':
		o->sock = arg;
		break;
	case 'S':
		o->skey = arg;
		break;
	case 't':
		o->threads = parse_ulong("-t", arg, 1, UINT32_MAX);
		break;
	case 'T':
		o->timeout = parse_double("-T", arg, 0.001, 86400);
		break;
	case 'w':
		o->source = arg;
		break;
	case 'x':
		o->prefix = arg;
		break;
	default:
		usage();
	}
}

/* Fill opts from the command line: options, then the mode. */
static void
parse_args(struct opts *o, int argc, char **argv)
{
	const char *run = NULL;
	int ch;

	parse_defaults(o);
	while ((ch = getopt(argc, argv, OPTSTRING)) != -1)
		parse_opt(o, ch, optarg, &run);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	o->mode = argv[0];
	if ((strcmp(o->mode, "fill") == 0 || strcmp(o->mode, "floor") == 0) &&
	    argc == 1)
		;
	else if (strcmp(o->mode, "rate") == 0 && argc == 2)
		o->rate = parse_double("rate", argv[1], 1, 10000000);
	else if (strcmp(o->mode, "wait") == 0 && argc == 2)
		o->want = parse_ulong("wait", argv[1], 0, LONG_MAX);
	else
		usage();
	if (strcmp(o->source, "stats") != 0 && strcmp(o->source, "xlen") != 0)
		die("-w: source must be stats or xlen");
	if (o->sock != NULL && o->host != NULL)
		die("-s and -h are exclusive");
	if (o->sock == NULL && o->host == NULL)
		o->host = "127.0.0.1";
	parse_run(o, run);
}

/* Keep the row index and tweet fields of the record being parsed. */
static void
corpus_field_cb(void *s, size_t len, void *arg)
{
	struct corpus *cp = arg;

	if (!cp->header_done) {
		if (len == 5 && memcmp(s, "tweet", 5) == 0)
			cp->tweet_col = cp->col;
	} else if (cp->col == 0) {
		free(cp->cur_index);
		cp->cur_index = xmemdup(s, len);
	} else if (cp->col == cp->tweet_col) {
		free(cp->cur_body);
		cp->cur_body = xmemdup(s, len);
		cp->cur_len = len;
	}
	cp->col++;
}

/* Store a finished record as a row; the first one is the header. */
static void
corpus_row_cb(int c, void *arg)
{
	struct corpus *cp = arg;
	struct row *r;
	size_t len;

	(void)c;
	cp->line++;
	if (!cp->header_done) {
		if (cp->tweet_col <= 0)
			die("%s: the header has no tweet column", cp->path);
		cp->header_done = 1;
	} else {
		len = cp->cur_index == NULL ? 0 : strlen(cp->cur_index);
		if (cp->cur_body == NULL || len == 0 || len > 20 ||
		    strspn(cp->cur_index, "0123456789") != len)
			die("%s: record %zu: no numeric index or no tweet",
			    cp->path, cp->line);
		if (cp->nrows == cp->cap) {
			cp->cap = cp->cap == 0 ? 32768 : cp->cap * 2;
			cp->rows = xrealloc(cp->rows, cp->cap * sizeof(*r));
		}
		r = &cp->rows[cp->nrows++];
		r->index = cp->cur_index;
		r->body = cp->cur_body;
		r->len = cp->cur_len;
		cp->cur_index = cp->cur_body = NULL;
	}
	cp->col = 0;
}

/* Treat no character as padding: tweets keep their blanks. */
static int
corpus_space(unsigned char c)
{
	(void)c;
	return (0);
}

/* Read the whole CSV into memory. */
static void
corpus_load(struct corpus *cp, const char *path)
{
	struct csv_parser p;
	char buf[65536];
	size_t len;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s (use -f)", path, strerror(errno));
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		die("csv_init failed");
	csv_set_space_func(&p, corpus_space);
	cp->path = path;
	cp->tweet_col = -1;
	while ((len = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (csv_parse(&p, buf, len, corpus_field_cb, corpus_row_cb,
		        cp) != len)
			die("%s: after record %zu: %s", path, cp->line,
			    csv_strerror(csv_error(&p)));
	}
	if (ferror(f))
		die("%s: %s", path, strerror(errno));
	if (csv_fini(&p, corpus_field_cb, corpus_row_cb, cp) != 0)
		die("%s: at the end: %s", path, csv_strerror(csv_error(&p)));
	csv_free(&p);
	fclose(f);
	if (cp->nrows == 0)
		die("%s: no comments", path);
}

/* Connect to Redis with bounded connect and command timeouts. */
static redisContext *
load_connect(const struct opts *o)
{
	struct timeval ctv = {5, 0}, tv = {30, 0};
	redisContext *c;

	if (o->sock != NULL)
		c = redisConnectUnixWithTimeout(o->sock, ctv);
	else
		c = redisConnectWithTimeout(o->host, (int)o->port, ctv);
	if (c == NULL)
		die("cannot allocate a redis context");
	if (c->err != 0) {
		if (o->sock != NULL)
			die("redis %s: %s", o->sock, c->errstr);
		die("redis %s:%ld: %s", o->host, o->port, c->errstr);
	}
	if (redisSetTimeout(c, tv) != REDIS_OK)
		die("redis: cannot set timeout: %s", c->errstr);
	return (c);
}

/* Die unless the reply exists and is not an error. */
static void
load_check(redisContext *c, redisReply *r, const char *what)
{
	if (r == NULL)
		die("redis %s: %s", what,
		    c->err != 0 ? c->errstr : "connection lost");
	if (r->type == REDIS_REPLY_ERROR)
		die("redis %s: %s", what, r->str);
}

/* Build the XADD of comment i: id b<run>-<i>-<row index>. */
static void
load_comment(const struct opts *o, const struct corpus *cp, unsigned long i,
    struct xadd *x)
{
	const struct row *r = &cp->rows[i % cp->nrows];
	uint64_t a, h;
	int k;

	a = mix64(i * 2 + 1) % o->authors;
	h = mix64(a ^ 0x5bd1e995);
	snprintf(x->id, sizeof(x->id), "b%s-%lu-%s", o->run, i, r->index);
	snprintf(x->author, sizeof(x->author), "u-%llu", (unsigned long long)a);
	snprintf(x->thread, sizeof(x->thread), "t-%llu",
	    (unsigned long long)(mix64(i * 2 + 2) % o->threads));
	snprintf(x->ip, sizeof(x->ip), "%s.%u",
	    (h & 1) ? "198.51.100" : "203.0.113", (unsigned)(h >> 1) % 254 + 1);
	x->argv[0] = "XADD";
	x->argv[1] = o->key;
	x->argv[2] = "*";
	x->argv[3] = "id";
	x->argv[4] = x->id;
	x->argv[5] = "author";
	x->argv[6] = x->author;
	x->argv[7] = "ip";
	x->argv[8] = x->ip;
	x->argv[9] = "thread";
	x->argv[10] = x->thread;
	x->argv[11] = "body";
	x->argv[12] = r->body;
	for (k = 0; k < 12; k++)
		x->argvlen[k] = strlen(x->argv[k]);
	x->argvlen[12] = r->len;
}

/* Queue the XADDs of comments [first, first + count). */
static void
load_send(redisContext *c, const struct opts *o, const struct corpus *cp,
    unsigned long first, unsigned long count)
{
	struct xadd x;
	unsigned long i;

	for (i = first; i < first + count; i++) {
		load_comment(o, cp, i, &x);
		if (redisAppendCommandArgv(c, 13, x.argv, x.argvlen) !=
		    REDIS_OK)
			die("redis XADD: %s", c->errstr);
	}
}

/* Flush the queued commands and check all their replies. */
static void
load_replies(redisContext *c, unsigned long count, const char *what)
{
	redisReply *r;
	void *v;

	while (count-- > 0) {
		v = NULL;
		if (redisGetReply(c, &v) != REDIS_OK)
			v = NULL;
		r = v;
		load_check(c, r, what);
		freeReplyObject(r);
	}
}

/* Fill mode: add all comments with pipelining and time it. */
static int
load_fill(const struct opts *o, const struct corpus *cp)
{
	redisContext *c;
	unsigned long i, m;
	uint64_t t0;
	double sec;

	c = load_connect(o);
	t0 = now_us();
	for (i = 0; i < o->n; i += m) {
		m = o->n - i < CHUNK ? o->n - i : CHUNK;
		load_send(c, o, cp, i, m);
		load_replies(c, m, "XADD");
	}
	sec = (double)(now_us() - t0) / 1e6;
	printf("mode=fill run=%s n=%lu seconds=%.3f rate=%.0f\n", o->run, o->n,
	    sec, (double)o->n / (sec > 0 ? sec : 1e-6));
	redisFree(c);
	return (0);
}

/* Find the newest decision id now, so later ones are all new. */
static void
rate_last_id(redisContext *c, const char *key, char *last, size_t size)
{
	redisReply *r, *e;

	r = redisCommand(c, "XREVRANGE %s + - COUNT 1", key);
	load_check(c, r, "XREVRANGE");
	if (r->type != REDIS_REPLY_ARRAY)
		die("redis XREVRANGE %s: unexpected reply", key);
	if (r->elements == 0)
		snprintf(last, size, "0-0");
	else {
		e = r->element[0];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[0]->len >= size)
			die("redis XREVRANGE %s: unexpected entry", key);
		memcpy(last, e->element[0]->str, e->element[0]->len + 1);
	}
	freeReplyObject(r);
}

/* Send one XREAD for decisions after last, without waiting for it. */
static void
rate_read_send(redisContext *c, const struct opts *o, const char *last)
{
	const char *argv[8] = {"XREAD", "COUNT", READ_COUNT, "BLOCK",
	    READ_BLOCK, "STREAMS", o->dkey, last};
	int done = 0;

	if (redisAppendCommandArgv(c, 8, argv, NULL) != REDIS_OK)
		die("redis XREAD: %s", c->errstr);
	while (!done) {
		if (redisBufferWrite(c, &done) != REDIS_OK)
			die("redis XREAD: %s", c->errstr);
	}
}

/* Time the decision for id if it is one of this run's comments. */
static void
rate_match(struct track *t, const struct opts *o, const char *id, size_t len,
    uint64_t now)
{
	unsigned long i;
	size_t plen;
	char buf[ID_MAX + 1], *end;

	plen = strlen(o->run) + 2;
	if (len <= plen || len > ID_MAX || id[0] != 'b' ||
	    memcmp(id + 1, o->run, plen - 2) != 0 || id[plen - 1] != '-')
		return;
	memcpy(buf, id, len);
	buf[len] = '\0';
	errno = 0;
	i = strtoul(buf + plen, &end, 10);
	if (errno != 0 || end == buf + plen || *end != '-' || i >= o->n ||
	    t->added[i] == 0)
		return;
	if (t->seen[i]) {
		t->dup++;
		return;
	}
	t->seen[i] = 1;
	t->lat[t->nlat++] = now - t->added[i];
}

/* Handle one decisions entry: [stream id, [field, value, ...]]. */
static void
rate_entry(struct track *t, const struct opts *o, redisReply *e, uint64_t now)
{
	redisReply *f;
	size_t k;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[0]->len >= sizeof(t->last))
		die("redis XREAD %s: unexpected entry", o->dkey);
	memcpy(t->last, e->element[0]->str, e->element[0]->len + 1);
	f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY)
		return;
	for (k = 0; k + 1 < f->elements; k += 2) {
		if (f->element[k]->type == REDIS_REPLY_STRING &&
		    f->element[k]->len == 2 &&
		    memcmp(f->element[k]->str, "id", 2) == 0 &&
		    f->element[k + 1]->type == REDIS_REPLY_STRING) {
			rate_match(t, o, f->element[k + 1]->str,
			    f->element[k + 1]->len, now);
			return;
		}
	}
}

/* Handle an XREAD reply: nil or [[key, [entry, ...]]]. */
static void
rate_decisions(
    struct track *t, const struct opts *o, redisReply *r, uint64_t now)
{
	redisReply *s;
	size_t k;

	if (r->type == REDIS_REPLY_NIL)
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1)
		die("redis XREAD %s: unexpected reply", o->dkey);
	s = r->element[0];
	if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
	    s->element[1]->type != REDIS_REPLY_ARRAY)
		die("redis XREAD %s: unexpected reply", o->dkey);
	for (k = 0; k < s->element[1]->elements; k++)
		rate_entry(t, o, s->element[1]->element[k], now);
}

/* Wait up to ms for the pending XREAD; if it is back, handle and resend. */
static void
rate_poll(redisContext *c, struct track *t, const struct opts *o, int ms)
{
	struct pollfd pfd;
	redisReply *r;
	void *v = NULL;
	int n;

	pfd.fd = c->fd;
	pfd.events = POLLIN;
	if ((n = poll(&pfd, 1, ms)) == -1 && errno != EINTR)
		die("poll: %s", strerror(errno));
	if (n <= 0)
		return;
	if (redisGetReply(c, &v) != REDIS_OK)
		v = NULL;
	r = v;
	load_check(c, r, "XREAD");
	rate_decisions(t, o, r, now_us());
	freeReplyObject(r);
	rate_read_send(c, o, t->last);
}

/* Order two latencies. */
static int
rate_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Print the nearest-rank percentile pct of the sorted latencies. */
static void
rate_pct(const char *name, const struct track *t, unsigned long pct)
{
	size_t k;

	if (t->nlat == 0) {
		printf(" %s_ms=-", name);
		return;
	}
	k = (t->nlat * pct + 99) / 100;
	printf(" %s_ms=%.2f", name, (double)t->lat[k - 1] / 1000);
}

/* Print the rate mode result; fail if decisions are missing. */
static int
rate_report(struct track *t, const struct opts *o, uint64_t send_us)
{
	size_t missing = o->n - t->nlat;
	double sec;

	qsort(t->lat, t->nlat, sizeof(*t->lat), rate_cmp);
	sec = (double)send_us / 1e6;
	printf("mode=rate run=%s n=%lu rate=%.0f send_seconds=%.3f"
	       " send_rate=%.0f decided=%zu missing=%zu dup=%zu",
	    o->run, o->n, o->rate, sec, (double)o->n / (sec > 0 ? sec : 1e-6),
	    t->nlat, missing, t->dup);
	rate_pct("p50", t, 50);
	rate_pct("p90", t, 90);
	rate_pct("p99", t, 99);
	rate_pct("max", t, 100);
	printf("\n");
	if (missing == 0)
		return (0);
	fflush(stdout);
	fprintf(stderr, "%s: %zu of %lu comments got no decision within %gs\n",
	    PROG, missing, o->n, o->timeout);
	return (1);
}

/* Add the comments due by now (a burst of CHUNK at most); return the count. */
static unsigned long
rate_send(redisContext *c, struct track *t, const struct opts *o,
    const struct corpus *cp, unsigned long sent, uint64_t elapsed)
{
	unsigned long due, m, i;
	uint64_t now;

	due = 1 + (unsigned long)((double)elapsed * o->rate / 1e6);
	due = due < o->n ? due : o->n;
	if (due <= sent)
		return (0);
	m = due - sent < CHUNK ? due - sent : CHUNK;
	now = now_us();
	for (i = sent; i < sent + m; i++)
		t->added[i] = now;
	load_send(c, o, cp, sent, m);
	load_replies(c, m, "XADD");
	return (m);
}

/* Rate mode: add comments at o->rate per second and time each decision. */
static int
load_rate(const struct opts *o, const struct corpus *cp)
{
	struct track t = {0};
	redisContext *w, *rd;
	unsigned long sent = 0, m;
	uint64_t t0, end = 0;
	int ms;

	t.added = xrealloc(NULL, o->n * sizeof(*t.added));
	t.lat = xrealloc(NULL, o->n * sizeof(*t.lat));
	t.seen = xrealloc(NULL, o->n);
	memset(t.added, 0, o->n * sizeof(*t.added));
	memset(t.seen, 0, o->n);
	w = load_connect(o);
	rd = load_connect(o);
	rate_last_id(rd, o->dkey, t.last, sizeof(t.last));
	rate_read_send(rd, o, t.last);
	t0 = now_us();
	while (t.nlat < o->n) {
		ms = 100;
		if (sent < o->n) {
			m = rate_send(w, &t, o, cp, sent, now_us() - t0);
			if ((sent += m) == o->n)
				end = now_us();
			/* Behind schedule after a full burst: only peek. */
			ms = m == CHUNK ? 0 : 1;
		} else if (now_us() - end > (uint64_t)(o->timeout * 1e6))
			break;
		rate_poll(rd, &t, o, ms);
	}
	redisFree(w);
	redisFree(rd);
	return (rate_report(&t, o, end - t0));
}

/* Tell whether pid still runs (a zombie does not). */
static int
wait_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t len;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return (0);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (errno != ENOENT);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z')
		return (0);
	return (1);
}

/* Return the number of decided comments the wait source reports. */
static long long
wait_count(redisContext *c, const struct opts *o)
{
	redisReply *r;
	long long v;
	char *end;

	if (strcmp(o->source, "xlen") == 0)
		r = redisCommand(c, "XLEN %s", o->dkey);
	else
		r = redisCommand(c, "HGET %s processed", o->skey);
	load_check(c, r, o->source[0] == 'x' ? "XLEN" : "HGET");
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_NIL)
		v = 0;
	else if (r->type == REDIS_REPLY_STRING) {
		errno = 0;
		v = strtoll(r->str, &end, 10);
		if (errno != 0 || end == r->str || *end != '\0' || v < 0)
			die("redis %s processed: '%s' is not a count", o->skey,
			    r->str);
	} else
		die("redis %s: unexpected reply", o->source);
	freeReplyObject(r);
	return (v);
}

/* Print the wait mode result; status is ok or why it gave up. */
static int
wait_report(
    const struct opts *o, long long count, uint64_t us, const char *status)
{
	double sec = (double)us / 1e6;

	printf("mode=wait source=%s n=%lu count=%lld seconds=%.3f rate=%.0f"
	       " status=%s\n",
	    o->source, o->want, count, sec,
	    (double)count / (sec > 0 ? sec : 1e-6), status);
	if (strcmp(status, "ok") == 0)
		return (0);
	fflush(stdout);
	fprintf(stderr, "%s: wait: %s with %lld of %lu decided\n", PROG, status,
	    count, o->want);
	return (1);
}

/* Wait mode: poll until o->want comments are decided or give up. */
static int
load_wait(const struct opts *o)
{
	struct timespec ts = {0, WAIT_POLL_NS};
	redisContext *c;
	long long v, last = -1;
	uint64_t t0, now, moved;
	const char *status = NULL;

	c = load_connect(o);
	t0 = moved = now_us();
	for (;;) {
		v = wait_count(c, o);
		now = now_us();
		if (v != last) {
			last = v;
			moved = now;
		}
		if (v >= (long long)o->want)
			status = "ok";
		else if (now - t0 > (uint64_t)(o->timeout * 1e6))
			status = "timeout";
		else if (o->idle > 0 && now - moved > (uint64_t)(o->idle * 1e6))
			status = "stalled";
		else if (o->pid != 0 && !wait_alive(o->pid))
			status = "exited";
		if (status != NULL)
			break;
		nanosleep(&ts, NULL);
	}
	redisFree(c);
	return (wait_report(o, v, now - t0, status));
}

/* Write the low n bytes of v, big-endian, as modqd's rate records are. */
static void
floor_be(char *p, unsigned long long v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

/* Format a key name into a FLOOR_KEY_MAX buffer or die. */
static void
floor_key(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, FLOOR_KEY_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= FLOOR_KEY_MAX)
		die("floor: a key name over %d bytes", FLOOR_KEY_MAX - 1);
}

/* Append one argument of len bytes. */
static void
floor_arg(struct floor_cmd *cmd, const char *s, size_t len)
{
	if (cmd->argc == cmd->cap)
		die("floor: more than %d arguments in a command", cmd->cap);
	cmd->argv[cmd->argc] = s;
	cmd->len[cmd->argc] = len;
	cmd->argc++;
}

/* Append one NUL-terminated argument. */
static void
floor_args(struct floor_cmd *cmd, const char *s)
{
	floor_arg(cmd, s, strlen(s));
}

/*
 * Queue the command (hiredis copies it into its output buffer, so the
 * borrowed strings may change after), count it and start the next.
 */
static void
floor_send(redisContext *c, struct floor_cmd *cmd, unsigned long *ncmd)
{
	if (redisAppendCommandArgv(c, cmd->argc, cmd->argv, cmd->len) !=
	    REDIS_OK)
		die("redis %s: %s", cmd->argv[0], c->errstr);
	(*ncmd)++;
	cmd->argc = 0;
}

/* Take the stream id and the key-naming fields out of an entry. */
static void
floor_parse(struct floor_entry *fe, const redisReply *e)
{
	const redisReply *f, *name;
	const char **slot;
	char *end;
	size_t k;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		die("floor: XREADGROUP: unexpected entry");
	fe->sid = e->element[0]->str;
	errno = 0;
	fe->ts = strtoll(fe->sid, &end, 10);
	if (errno != 0 || *end != '-')
		die("floor: stream id %s: not ms-seq", fe->sid);
	fe->seq = strtoull(end + 1, NULL, 10);
	f = fe->fv = e->element[1];
	if (f->elements % 2 != 0 || f->elements > FLOOR_STRINGS)
		die("floor: entry %s: %zu strings, not pairs or over %d",
		    fe->sid, f->elements, FLOOR_STRINGS);
	fe->id = fe->author = fe->ip = fe->thread = "";
	for (k = 0; k < f->elements; k += 2) {
		name = f->element[k];
		if (name->type != REDIS_REPLY_STRING ||
		    f->element[k + 1]->type != REDIS_REPLY_STRING)
			die("floor: entry %s: a non-string field", fe->sid);
		if (strcmp(name->str, "id") == 0)
			slot = &fe->id;
		else if (strcmp(name->str, "author") == 0)
			slot = &fe->author;
		else if (strcmp(name->str, "ip") == 0)
			slot = &fe->ip;
		else if (strcmp(name->str, "thread") == 0)
			slot = &fe->thread;
		else
			continue;
		*slot = f->element[k + 1]->str;
	}
	if (*fe->id == '\0')
		die("floor: entry %s has no id", fe->sid);
}

/*
 * Queue the rate windows of one entry as modqd records them: ZADD NX of a
 * 12-byte record (the id's milliseconds, 8 bytes, and sequence, 4) scored
 * by its time, and ZCOUNT of (t - window, t].  modqd also trims each key
 * and renews its TTL once per quarter window, not per comment: left out.
 */
static void
floor_rates(redisContext *c, const struct opts *o, struct floor_cmd *cmd,
    const struct floor_entry *fe, unsigned long *ncmd)
{
	const struct floor_rate *r;
	const char *v;
	char key[FLOOR_KEY_MAX], rec[12], ts[32], lo[32];
	size_t k;

	floor_be(rec, (unsigned long long)fe->ts, 8);
	floor_be(rec + 8, fe->seq, 4);
	snprintf(ts, sizeof(ts), "%lld", fe->ts);
	for (k = 0; k < o->nrates; k++) {
		r = &o->rates[k];
		v = r->per == PER_AUTHOR ? fe->author
		    : r->per == PER_IP   ? fe->ip
		                         : fe->thread;
		if (*v == '\0')
			continue;
		floor_key(key, "%s:rate:%s:%s", o->prefix, r->name, v);
		snprintf(lo, sizeof(lo), "(%lld", fe->ts - r->window_ms);
		floor_args(cmd, "ZADD");
		floor_args(cmd, key);
		floor_args(cmd, "NX");
		floor_args(cmd, ts);
		floor_arg(cmd, rec, sizeof(rec));
		floor_send(c, cmd, ncmd);
		floor_args(cmd, "ZCOUNT");
		floor_args(cmd, key);
		floor_args(cmd, lo);
		floor_args(cmd, ts);
		floor_send(c, cmd, ncmd);
	}
}

/*
 * Queue what the contract needs for one comment, decided "approved" at
 * now: the author's trust and approved count, the thread's mode, the rate
 * windows, the record (the entry's fields and those of a decision), its
 * TTL, the decisions entry and the author's counter.
 */
static void
floor_entry(redisContext *c, const struct opts *o, struct floor_cmd *cmd,
    const struct floor_entry *fe, const char *now, unsigned long *ncmd)
{
	char akey[FLOOR_KEY_MAX], tkey[FLOOR_KEY_MAX], ckey[FLOOR_KEY_MAX];
	char ttl[32], maxlen[32];
	const redisReply *s;
	size_t k;

	if (*fe->author != '\0') {
		floor_key(akey, "%s:author:%s", o->prefix, fe->author);
		floor_args(cmd, "HMGET");
		floor_args(cmd, akey);
		floor_args(cmd, "trust");
		floor_args(cmd, "approved");
		floor_send(c, cmd, ncmd);
	}
	if (*fe->thread != '\0') {
		floor_key(tkey, "%s:thread:%s", o->prefix, fe->thread);
		floor_args(cmd, "HGET");
		floor_args(cmd, tkey);
		floor_args(cmd, "mode");
		floor_send(c, cmd, ncmd);
	}
	floor_rates(c, o, cmd, fe, ncmd);
	floor_key(ckey, "%s:c:%s", o->prefix, fe->id);
	floor_args(cmd, "HSET");
	floor_args(cmd, ckey);
	for (k = 0; k < fe->fv->elements; k++) {
		s = fe->fv->element[k];
		floor_arg(cmd, s->str, s->len);
	}
	floor_args(cmd, "status");
	floor_args(cmd, "approved");
	floor_args(cmd, "reasons");
	floor_args(cmd, "");
	floor_args(cmd, "matched");
	floor_args(cmd, "");
	floor_args(cmd, "decided_by");
	floor_args(cmd, "modqd");
	floor_args(cmd, "ruleset");
	floor_args(cmd, FLOOR_STAMP);
	floor_args(cmd, "stream_id");
	floor_args(cmd, fe->sid);
	floor_args(cmd, "decided_at");
	floor_args(cmd, now);
	floor_send(c, cmd, ncmd);
	snprintf(ttl, sizeof(ttl), "%ld", o->ttl_days * 86400);
	floor_args(cmd, "EXPIRE");
	floor_args(cmd, ckey);
	floor_args(cmd, ttl);
	floor_send(c, cmd, ncmd);
	snprintf(maxlen, sizeof(maxlen), "%ld", o->maxlen);
	floor_args(cmd, "XADD");
	floor_args(cmd, o->dkey);
	floor_args(cmd, "MAXLEN");
	floor_args(cmd, "~");
	floor_args(cmd, maxlen);
	floor_args(cmd, "*");
	floor_args(cmd, "id");
	floor_args(cmd, fe->id);
	floor_args(cmd, "status");
	floor_args(cmd, "approved");
	floor_args(cmd, "reasons");
	floor_args(cmd, "");
	floor_args(cmd, "by");
	floor_args(cmd, "modqd");
	floor_send(c, cmd, ncmd);
	if (*fe->author != '\0') {
		floor_args(cmd, "HINCRBY");
		floor_args(cmd, akey);
		floor_args(cmd, "approved");
		floor_args(cmd, "1");
		floor_send(c, cmd, ncmd);
	}
}

/*
 * Read the next batch of new entries: XREADGROUP without BLOCK, so a
 * drained stream answers at once (nil, or no entries).  Returns the
 * reply, checked: nil or [[key, [entry, ...]]].
 */
static redisReply *
floor_read(redisContext *c, const struct opts *o)
{
	redisReply *r;
	char count[32];

	snprintf(count, sizeof(count), "%lu", o->batch);
	r = redisCommand(c, "XREADGROUP GROUP %s %s COUNT %s STREAMS %s >",
	    o->group, FLOOR_CONSUMER, count, o->key);
	load_check(c, r, "XREADGROUP");
	if (r->type == REDIS_REPLY_NIL)
		return (r);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY ||
	    r->element[0]->elements != 2 ||
	    r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
		die("floor: XREADGROUP %s: unexpected reply", o->key);
	return (r);
}

/*
 * Decide one batch (the entries of an XREADGROUP reply) in one round
 * trip: every comment's commands, then one XACK of them all and the
 * stats, as modqd's transaction has them; every reply is read and
 * checked.  Returns the number of commands.
 */
static unsigned long
floor_batch(redisContext *c, const struct opts *o, struct floor_cmd *cmd,
    const redisReply *entries)
{
	struct floor_entry fe;
	struct timespec ts;
	unsigned long ncmd = 0;
	char now[32], cnt[32];
	size_t k;

	/* modqd takes the decision time from TIME once per batch. */
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		die("clock_gettime: %s", strerror(errno));
	snprintf(now, sizeof(now), "%lld",
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	for (k = 0; k < entries->elements; k++) {
		floor_parse(&fe, entries->element[k]);
		floor_entry(c, o, cmd, &fe, now, &ncmd);
	}
	floor_args(cmd, "XACK");
	floor_args(cmd, o->key);
	floor_args(cmd, o->group);
	for (k = 0; k < entries->elements; k++)
		floor_args(cmd, entries->element[k]->element[0]->str);
	floor_send(c, cmd, &ncmd);
	snprintf(cnt, sizeof(cnt), "%zu", entries->elements);
	floor_args(cmd, "HINCRBY");
	floor_args(cmd, o->skey);
	floor_args(cmd, "approved");
	floor_args(cmd, cnt);
	floor_send(c, cmd, &ncmd);
	floor_args(cmd, "HINCRBY");
	floor_args(cmd, o->skey);
	floor_args(cmd, "processed");
	floor_args(cmd, cnt);
	floor_send(c, cmd, &ncmd);
	load_replies(c, ncmd, "floor batch");
	return (ncmd);
}

/* Create the consumer group at 0, as modqd does on a new stream. */
static void
floor_group(redisContext *c, const struct opts *o)
{
	redisReply *r;

	r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", o->key, o->group);
	load_check(c, r, "XGROUP CREATE");
	freeReplyObject(r);
}

/*
 * Floor mode: drain the stream with the contract's commands alone and
 * time it.  Bounded by the number of batches the largest fill can make
 * and by -T seconds.
 */
static int
load_floor(const struct opts *o)
{
	struct floor_cmd cmd;
	redisContext *c;
	redisReply *r, *entries;
	unsigned long n = 0, nb = 0, ncmd = 0, maxb;
	const char *status = "ok";
	uint64_t t0;
	double sec;

	cmd.cap = (int)(o->batch + FLOOR_STRINGS + 16);
	cmd.argv = xrealloc(NULL, (size_t)cmd.cap * sizeof(*cmd.argv));
	cmd.len = xrealloc(NULL, (size_t)cmd.cap * sizeof(*cmd.len));
	cmd.argc = 0;
	maxb = MAX_COMMENTS / o->batch + 2;
	c = load_connect(o);
	floor_group(c, o);
	t0 = now_us();
	for (;;) {
		if (nb == maxb) {
			status = "unbounded";
			break;
		}
		if (now_us() - t0 > (uint64_t)(o->timeout * 1e6)) {
			status = "timeout";
			break;
		}
		r = floor_read(c, o);
		entries = r->type == REDIS_REPLY_NIL
		    ? NULL
		    : r->element[0]->element[1];
		if (entries == NULL || entries->elements == 0) {
			freeReplyObject(r);
			break;
		}
		ncmd += 1 + floor_batch(c, o, &cmd, entries);
		n += entries->elements;
		nb++;
		freeReplyObject(r);
	}
	sec = (double)(now_us() - t0) / 1e6;
	printf("mode=floor run=%s n=%lu batches=%lu commands=%lu"
	       " seconds=%.3f rate=%.0f status=%s\n",
	    o->run, n, nb, ncmd, sec, (double)n / (sec > 0 ? sec : 1e-6),
	    status);
	redisFree(c);
	free(cmd.argv);
	free(cmd.len);
	if (strcmp(status, "ok") == 0)
		return (0);
	fflush(stdout);
	fprintf(stderr, "%s: floor: %s after %lu comments\n", PROG, status, n);
	return (1);
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct corpus cp = {0};

	parse_args(&o, argc, argv);
	if (strcmp(o.mode, "wait") == 0)
		return (load_wait(&o));
	if (strcmp(o.mode, "floor") == 0)
		return (load_floor(&o));
	corpus_load(&cp, o.csv);
	if (strcmp(o.mode, "fill") == 0)
		return (load_fill(&o, &cp));
	return (load_rate(&o, &cp));
}
