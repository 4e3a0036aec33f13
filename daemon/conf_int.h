/*
 * conf_int.h -- what the files of the config reader share: the state of
 * one conf_load() run and the readers of settings (conf.c), used by the
 * content rules' reader (conf_content.c).  Nothing outside the config
 * reader includes it.
 */
#ifndef CONF_INT_H
#define CONF_INT_H

#include <libconfig.h>

#include "modqd.h"

/* State of one conf_load() run. */
struct conf_ctx {
	const char *path;
	char *dir; /* owned: directory of the config file */
	char **files; /* owned: @include names resolved against dir */
	size_t nfiles;
	char *errors; /* owned */
	int nerrors;
	struct conf *conf;
};

/* A rule group being read, for conf_rules(): one rule of any kind. */
struct conf_rule {
	const char *name; /* borrowed from the libconfig tree; NULL: none */
	int have; /* bits: the settings given, by kind */
	int shadow; /* mode = "shadow" */
	long score;
	struct rules_list list; /* a keyword rule */
	struct rules_rate rate; /* a rate rule */
	const struct conf_kind *kind; /* a content rule: its kind */
	void *rule; /* a content rule: its struct, in the spec's array */
};

/* Read one setting of a group, given its name; see conf_each(). */
typedef void (*conf_key_cb)(
    struct conf_ctx *, const config_setting_t *, const char *, void *);

/* Check and keep a rule that conf_rules() read; see conf_keyword(). */
typedef void (*conf_done_cb)(
    struct conf_ctx *, const config_setting_t *, struct conf_rule *);

/* conf.c */
void conf_error(struct conf_ctx *, const config_setting_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int conf_line(const config_setting_t *);
const char *conf_file(struct conf_ctx *, const config_setting_t *);
void conf_each(
    struct conf_ctx *, const config_setting_t *, conf_key_cb, void *);
int conf_get_long(
    struct conf_ctx *, const config_setting_t *, long, long, long *);
int conf_get_fraction(struct conf_ctx *, const config_setting_t *, double *);
const char *conf_get_string(struct conf_ctx *, const config_setting_t *);
int conf_verdict(
    struct conf_ctx *, const config_setting_t *, enum rules_verdict *);
void conf_entries(struct conf_ctx *, const config_setting_t *,
    struct rules_entry **, size_t *);
char *conf_resolve(struct conf_ctx *, const char *);
int conf_list_file(struct conf_ctx *, const config_setting_t *,
    struct rules_entry **, size_t *);
void conf_rules(
    struct conf_ctx *, const config_setting_t *, conf_key_cb, conf_done_cb);
const char *conf_rule_name(struct conf_ctx *, const config_setting_t *);

/* conf_content.c */
int conf_common_key(struct conf_ctx *, const config_setting_t *, const char *,
    struct conf_rule *);
int conf_content(struct conf_ctx *, const config_setting_t *, const char *);
int conf_name_taken(const struct rules_spec *, const char *);
void conf_content_finish(struct conf_ctx *, config_setting_t *);

#endif
