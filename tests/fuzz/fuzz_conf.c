/*
 * fuzz_conf.c -- libFuzzer target for the config parser: the input is
 * written as modqd.conf in a private directory made once (with the word
 * lists and password file the seeds name), conf_load() reads it, and a
 * config that loads is built into a ruleset and judges a few texts.
 * Everything is freed, so LeakSanitizer finds what is not.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "modqd.h"
#include "rules.h"
#include "xmalloc.h"

#include "fuzz.h"

/* Files made next to the config, relative to the private directory. */
struct fuzz_file {
	const char *name;
	const char *text;
};

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void fuzz_cleanup(void);
static void fuzz_check_conf(const struct conf *);
static void fuzz_rules(const struct conf *);

static const struct fuzz_file fuzz_files[] = {
    {"lists", NULL},
    {"lists/slurs.txt", "# slurs\nfuck*\nshit\n\n  asshole  \r\n/b[i1]tch/\n"},
    {"lists/threats.txt", "kill you\nbehead*\ngo * yourself\n"},
    {"lists/intl.txt", "сука\nकमीना\nحرامی\n傻逼\n🖕\n"},
    {"lists/bad.txt", "ok\n\xff\xfe\n"},
    {"redis.pass", "s3cret\n"},
    {"empty.pass", ""},
    {"inc.conf", "decisions: { ttl_days = 7; };\n"},
    {"range.conf", "decisions: { ttl_days = 0; };\n"},
};
#define FUZZ_NFILES (sizeof fuzz_files / sizeof fuzz_files[0])

static const char *const fuzz_texts[] = {"a perfectly fine comment",
    "f u c k this sh1t", "go jump yourself", "ISI agents", "сука", "Scunthorpe",
    "<b>fu</b>ck &amp; bit.ly/x"};

static char fuzz_dir[] = "/tmp/modq-fuzz-conf-XXXXXX";
static char *fuzz_path; /* owned: the config file */
static int fuzz_known; /* $FUZZ_KNOWN set: tolerate reported bugs */

/* Remove the private directory at exit. */
static void
fuzz_cleanup(void)
{
	char *p;
	size_t i;

	unlink(fuzz_path);
	for (i = FUZZ_NFILES; i-- > 0;) {
		xasprintf(&p, "%s/%s", fuzz_dir, fuzz_files[i].name);
		if (fuzz_files[i].text != NULL)
			unlink(p);
		else
			rmdir(p);
		free(p);
	}
	rmdir(fuzz_dir);
	free(fuzz_path);
}

/* Make the private directory and the files next to the config. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *p;
	size_t i;

	(void)argc;
	(void)argv;
	fuzz_mkdtemp(fuzz_dir);
	for (i = 0; i < FUZZ_NFILES; i++) {
		xasprintf(&p, "%s/%s", fuzz_dir, fuzz_files[i].name);
		if (fuzz_files[i].text == NULL) {
			if (mkdir(p, 0700) == -1) {
				perror(p);
				abort();
			}
		} else
			fuzz_write(
			    p, fuzz_files[i].text, strlen(fuzz_files[i].text));
		free(p);
	}
	xasprintf(&fuzz_path, "%s/modqd.conf", fuzz_dir);
	fuzz_known = getenv("FUZZ_KNOWN") != NULL;
	atexit(fuzz_cleanup);
	return (0);
}

/* Check what conf_load() promises of a config that loaded. */
static void
fuzz_check_conf(const struct conf *c)
{
	size_t i;

	if (c->path == NULL || strcmp(c->path, fuzz_path) != 0 ||
	    c->redis_host == NULL || c->prefix == NULL || c->stream == NULL ||
	    c->group == NULL || c->consumer == NULL || c->consumer[0] == '\0')
		abort();
	if (c->redis_port < 1 || c->redis_port > 65535 || c->batch < 1 ||
	    c->batch > c->max_inflight || c->max_body < 16 ||
	    c->max_deliveries < 1 || c->rules.nrates > RULES_MAX_RATES)
		abort();
	if ((c->redis_password_file == NULL) != (c->redis_password == NULL) ||
	    (c->redis_user != NULL && c->redis_password == NULL))
		abort();
	for (i = 0; i < c->rules.nlists; i++) {
		if (!rules_name_valid(c->rules.lists[i].name) ||
		    rules_name_reserved(c->rules.lists[i].name))
			abort();
	}
}

/* Build the ruleset of a config that loaded and judge a few texts. */
static void
fuzz_rules(const struct conf *c)
{
	struct rules_match m;
	struct ruleset *rs;
	char *cause = NULL;
	size_t i;

	if (rules_build(&c->rules, &rs, &cause) == -1) {
		/*
		 * Every error is "file:line: what" (regress/conf/regex-*,
		 * long-letter-run-*); $FUZZ_KNOWN tolerates the compiler's
		 * "keyword matcher: ..." for now.
		 */
		if (cause == NULL ||
		    (cause[0] != '/' &&
		        !(fuzz_known &&
		            strncmp(cause, "keyword matcher: ", 17) == 0))) {
			fprintf(stderr,
			    "fuzz_conf: error without file:line: %s\n",
			    cause != NULL ? cause : "(null)");
			abort();
		}
		free(cause);
		return;
	}
	for (i = 0; i < sizeof fuzz_texts / sizeof fuzz_texts[0]; i++) {
		if (rules_match_text(
		        rs, fuzz_texts[i], strlen(fuzz_texts[i]), &m) == -1)
			abort();
		rules_match_free(&m);
	}
	rules_unref(rs);
}

/* Load the input as a config; build what loads. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char *cause = NULL;

	fuzz_write(fuzz_path, data, size);
	if (conf_load(fuzz_path, &c, &cause) == -1) {
		/*
		 * Every error starts with a file name, all of them absolute,
		 * those in @include files too (regress/conf/include-*).
		 */
		if (cause == NULL || cause[0] != '/') {
			fprintf(stderr,
			    "fuzz_conf: error without file:line: %s\n",
			    cause != NULL ? cause : "(null)");
			abort();
		}
		free(cause);
		return (0);
	}
	fuzz_check_conf(&c);
	fuzz_rules(&c);
	conf_free(&c);
	return (0);
}
