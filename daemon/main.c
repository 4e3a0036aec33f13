/*
 * main.c -- command line and startup order of modqd: parse options, load
 * and check the config, build the rules, then either judge texts offline
 * (-e), report the check (-n), or run the daemon.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define MAIN_MMAP_THRESHOLD (128 * 1024) /* glibc's initial threshold */

static void usage(void) __attribute__((noreturn));
static int main_load(const char *, struct conf *, struct ruleset **);
static int main_evaluate(struct ruleset *, int, char **);

/* Print usage and exit 2. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: modqd [-dnv] [-c file]\n"
	    "       modqd [-c file] -e text ...\n");
	exit(2);
}

/* Load the config and build the rules, printing every error. */
static int
main_load(const char *path, struct conf *conf, struct ruleset **rs)
{
	char *cause;

	if (conf_load(path, conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (-1);
	}
	if (rules_build(&conf->rules, rs, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		conf_free(conf);
		return (-1);
	}
	return (0);
}

/*
 * Judge each text against the keyword rules and print
 * verdict<TAB>rules<TAB>matched, one line per text.
 */
static int
main_evaluate(struct ruleset *rs, int argc, char **argv)
{
	struct rules_match m;
	int i;

	for (i = 0; i < argc; i++) {
		if (rules_match_text(rs, argv[i], strlen(argv[i]), &m) == -1) {
			fprintf(stderr, "modqd: matcher failed\n");
			return (1);
		}
		printf("%s\t%s\t%s\n", rules_verdict_name(m.verdict),
		    *m.reasons != '\0' ? m.reasons : "-",
		    *m.matched != '\0' ? m.matched : "-");
		rules_match_free(&m);
	}
	return (fflush(stdout) == 0 ? 0 : 1);
}

int
main(int argc, char **argv)
{
	const char *path = MODQD_CONF;
	struct ruleset *rs;
	struct conf conf;
	int ch, debug = 0, check = 0, eval = 0, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:dehnv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			eval = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((eval && argc == 0) || (!eval && argc != 0) || (eval && check))
		usage();
	log_init(LOG_TO_STDERR, 0);
	if (main_load(path, &conf, &rs) == -1)
		return (1);
	if (check || eval) {
		rc = check ? 0 : main_evaluate(rs, argc, argv);
		if (check)
			printf("configuration OK\n");
		rules_unref(rs);
		conf_free(&conf);
		return (rc);
	}
	if (debug)
		log_init(LOG_TO_STDERR, 1);
	else if (getenv("JOURNAL_STREAM") != NULL)
		log_init(LOG_TO_JOURNAL, verbose);
	else if (isatty(STDERR_FILENO))
		log_init(LOG_TO_STDERR, verbose);
	else
		log_init(LOG_TO_SYSLOG, verbose);
	/*
	 * Comments of up to queue.max_body bytes come and go: a fixed mmap
	 * threshold gives every large one back to the system when it is
	 * freed, where glibc's moving threshold would keep them in a heap
	 * that only grows (the memory bound in modqd(8) counts on it).
	 */
	mallopt(M_MMAP_THRESHOLD, MAIN_MMAP_THRESHOLD);
	server_init(&conf, rs);
	return (server_loop());
}
