/*
 * main.c -- command line and startup order of modqd: parse options, load
 * and check the config, build the rules, then either judge texts offline
 * (-e), try the rules on a file (-t) or on the comments Redis decided last
 * (-R), report the check (-n), print the version (-V), or run the daemon.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define MAIN_MMAP_THRESHOLD (32 * 1024) /* a long comment goes back at once */

static void usage(void) __attribute__((noreturn));
static int main_load(const char *, struct conf *, struct ruleset **);
static int main_judge(struct ruleset *, const char *, size_t);
static int main_evaluate(struct ruleset *, int, char **);
static int main_evaluate_lines(struct ruleset *, size_t);
static void main_log(const struct conf *, int, int);
static void main_trial_check(const char *, const char *, int, long *);
static int main_trial(struct ruleset *, struct conf *, const char *, long);
static int main_check(const struct conf *, int);

/* Print usage and exit 2. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: modqd [-dv] [-c file]\n"
	    "       modqd [-W] [-c file] -n\n"
	    "       modqd [-c file] -e text ...\n"
	    "       modqd [-c file] -e -\n"
	    "       modqd [-c file] -t file\n"
	    "       modqd [-c file] -t -\n"
	    "       modqd [-c file] -R count\n"
	    "       modqd -V\n");
	exit(2);
}

/* Load the config and build the rules, printing every error. */
static int
main_load(const char *path, struct conf *conf, struct ruleset **rs)
{
	char *cause;

	if (conf_load_rules(path, conf, rs, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/*
 * Judge one text as an anonymous comment with no history would be judged,
 * and print verdict<TAB>rules<TAB>matched<TAB>shadow rules.  Rate, repeats
 * and campaigns rules need Redis and are not judged here.
 */
static int
main_judge(struct ruleset *rs, const char *text, size_t len)
{
	struct rules_match m;
	struct rules_decision d;

	if (trial_judge(rs, text, len, &m, &d) == -1) {
		fprintf(stderr, "modqd: matcher failed\n");
		return (-1);
	}
	printf("%s\t%s\t%s\t%s\n", rules_verdict_name(d.verdict),
	    *d.reasons != '\0' ? d.reasons : "-",
	    *m.matched != '\0' ? m.matched : "-",
	    *d.shadow != '\0' ? d.shadow : "-");
	rules_decision_free(&d);
	rules_match_free(&m);
	return (0);
}

/* Judge each argument, one line of output each. */
static int
main_evaluate(struct ruleset *rs, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (main_judge(rs, argv[i], strlen(argv[i])) == -1)
			return (1);
	return (fflush(stdout) == 0 ? 0 : 1);
}

/*
 * -e -: judge each line of standard input, without its newline, and write
 * its line of output at once, so that another program can ask line by
 * line.  A line longer than max bytes (queue.max_body: the daemon would
 * make it a dead letter) is read to its end but not kept nor judged: its
 * output line is "dead - - -", standard error says why, and the exit status
 * is 1.  So memory stays bounded and output lines match input lines.
 */
static int
main_evaluate_lines(struct ruleset *rs, size_t max)
{
	char *buf;
	size_t len, total, line = 0;
	int rc = 0;

	buf = xmalloc(max + 1);
	while (trial_getline(stdin, buf, max, &len, &total) == 0) {
		line++;
		if (total > max) {
			fprintf(stderr,
			    "modqd: line %zu: body too large: %zu "
			    "bytes (queue.max_body is %zu)\n",
			    line, total, max);
			printf("dead\t-\t-\t-\n");
			rc = 1;
		} else if (main_judge(rs, buf, len) == -1) {
			rc = 1;
			break;
		}
		if (fflush(stdout) != 0) {
			rc = 1;
			break;
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, "modqd: standard input: %s\n", strerror(errno));
		rc = 1;
	}
	free(buf);
	return (rc);
}

/*
 * -n, once the config and rules are known good: check the keyword entries
 * against the dictionary and print the verdict.  With werror (-W) a
 * warning fails the check.
 */
static int
main_check(const struct conf *conf, int werror)
{
	int n;

	if ((n = check_dictionary(conf)) == -1)
		return (1);
	if (n > 0 && werror) {
		fprintf(stderr, "configuration has warnings\n");
		return (1);
	}
	if (conf->redis_cluster)
		printf("redis.prefix %s: Redis Cluster hash slot %d\n",
		    conf->prefix, cluster_slot(conf->prefix));
	printf("configuration OK\n");
	return (fflush(stdout) == 0 ? 0 : 1);
}

/*
 * Choose where the daemon logs: -d, the foreground, forces stderr with
 * timestamps and debug messages; else log.target, whose "auto" is the
 * journal when stderr is systemd's stream to it and stderr otherwise,
 * never syslog, which loses everything where nothing reads /dev/log.
 */
static void
main_log(const struct conf *conf, int debug, int verbose)
{
	int sink;

	if (debug) {
		log_init(LOG_TO_STDERR, 1);
		return;
	}
	if ((sink = log_sink_parse(conf->log_target)) == LOG_TO_AUTO)
		sink = log_stderr_is_journal() ? LOG_TO_JOURNAL : LOG_TO_STDERR;
	log_init(sink, verbose);
}

/*
 * -t and -R go alone: no -e, -n or texts beside them, nor each other.
 * Set *count to -R's count, which must be 1 to 1000000.
 */
static void
main_trial_check(const char *tpath, const char *rarg, int other, long *count)
{
	if (tpath == NULL && rarg == NULL)
		return;
	if (other || (tpath != NULL && rarg != NULL))
		usage();
	if (rarg != NULL && (*count = rejudge_count(rarg)) == -1) {
		fprintf(stderr, "modqd: -R %s: not a count from 1 to 1000000\n",
		    rarg);
		usage();
	}
}

/* Run -t or -R, then free the rules and the config. */
static int
main_trial(struct ruleset *rs, struct conf *conf, const char *tpath, long count)
{
	int rc;

	if (tpath != NULL)
		rc = trial_file(rs, tpath, (size_t)conf->max_body);
	else
		rc = rejudge_run(rs, conf, count);
	rules_unref(rs);
	conf_free(conf);
	return (rc);
}

int
main(int argc, char **argv)
{
	const char *path = MODQD_CONF, *tpath = NULL, *rarg = NULL;
	struct ruleset *rs;
	struct conf conf;
	long count = 0;
	int ch, debug = 0, check = 0, eval = 0, verbose = 0, rc, prev;
	int werror = 0;

	/*
	 * "+": no permuting.  -e ends the options: every argument after it
	 * is a text, even "------> RT" or "-n".  So -e must end its word
	 * ("-ex" is refused); getopt has then moved optind past it.  A "--"
	 * right after -e is still the usual end of options, skipped, so that
	 * scripts' "modqd -e -- TEXT..." judges what it always did.
	 */
	for (prev = optind;
	     !eval && (ch = getopt(argc, argv, "+c:dehnR:t:VvW")) != -1;
	     prev = optind) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			if (optind == prev)
				usage();
			eval = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'R':
			rarg = optarg;
			break;
		case 't':
			tpath = optarg;
			break;
		case 'V':
			printf("modqd %s\n", MODQD_VERSION);
			return (fflush(stdout) == 0 ? 0 : 1);
		case 'v':
			verbose = 1;
			break;
		case 'W':
			werror = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (eval && argc > 0 && strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	}
	if ((eval && argc == 0) || (!eval && argc != 0) || (eval && check) ||
	    (werror && !check))
		usage();
	main_trial_check(tpath, rarg, eval || check, &count);
	log_init(LOG_TO_STDERR, 0);
	if (main_load(path, &conf, &rs) == -1)
		return (1);
	if (tpath != NULL || rarg != NULL)
		return (main_trial(rs, &conf, tpath, count));
	if (check || eval) {
		if (check)
			rc = main_check(&conf, werror);
		else if (argc == 1 && strcmp(argv[0], "-") == 0)
			rc = main_evaluate_lines(rs, (size_t)conf.max_body);
		else
			rc = main_evaluate(rs, argc, argv);
		rules_unref(rs);
		conf_free(&conf);
		return (rc);
	}
	main_log(&conf, debug, verbose);
	/*
	 * Comments of up to queue.max_body bytes come and go: a fixed mmap
	 * threshold of 32 KiB gives every long string (a body, its copy, a
	 * transaction's buffer) back to the system when it is freed, where
	 * glibc's moving threshold would keep them in a heap that only grows
	 * and fragments (the memory bound in modqd(8) counts on it: with
	 * 128 KiB, 64 KiB bodies peaked from 19 to 27 MiB over base, with
	 * 32 KiB 16 to 19.4, against a bound of 24.75).
	 */
	mallopt(M_MMAP_THRESHOLD, MAIN_MMAP_THRESHOLD);
	server_init(&conf, rs);
	return (server_loop());
}
