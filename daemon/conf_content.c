/*
 * conf_content.c -- the config of the content rules (links, repeats,
 * campaigns, shouting, length), link_allow and the score thresholds, and
 * the settings every rule of every kind takes: mode = "shadow" and score.
 * One table describes each kind's options; conf_rules() walks the groups.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf_int.h"
#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define CONF_SCORE_MAX 1000000 /* |score| of one rule, and thresholds */

enum conf_ftype { F_LONG, F_FRACTION, F_PER, F_DOMAINS, F_FILE };

/* One option of a content rule: where it goes and its range. */
struct conf_field {
	const char *key;
	enum conf_ftype type;
	size_t off;
	long min;
	long max;
};

/* One kind of content rule: its group, struct, array and options. */
struct conf_kind {
	const char *group;
	const char *what;
	size_t size;
	size_t array; /* offset in struct rules_spec of the array */
	size_t count; /* of its count */
	const struct conf_field *fields;
	size_t nfields;
	unsigned need; /* bits of fields that must be given */
	const char *needs; /* says which */
	void (*defaults)(void *);
};

/* What every kind's struct begins with; checked below. */
struct conf_head {
	char *name;
	enum rules_verdict action;
	int shadow;
	long score;
};

#define SAME_HEAD(t) \
	_Static_assert(offsetof(struct t, action) == \
	            offsetof(struct conf_head, action) && \
	        offsetof(struct t, shadow) == \
	            offsetof(struct conf_head, shadow) && \
	        offsetof(struct t, score) == \
	            offsetof(struct conf_head, score), \
	    #t " does not begin as struct conf_head")
SAME_HEAD(rules_link);
SAME_HEAD(rules_repeat);
SAME_HEAD(rules_campaign);
SAME_HEAD(rules_shout);
SAME_HEAD(rules_length);

static void conf_link_defaults(void *);
static void conf_campaign_defaults(void *);
static void conf_shout_defaults(void *);
static void conf_content_key(
    struct conf_ctx *, const config_setting_t *, const char *, void *);
static void conf_content_done(
    struct conf_ctx *, const config_setting_t *, struct conf_rule *);
static void conf_content_field(struct conf_ctx *, const config_setting_t *,
    const struct conf_field *, void *);
static void conf_thresholds_key(
    struct conf_ctx *, const config_setting_t *, const char *, void *);

#define L(f) offsetof(struct rules_link, f)
static const struct conf_field conf_link_fields[] = {
    {"max", F_LONG, L(max), 0, 100000},
    {"approved_below", F_LONG, L(approved_below), 1, 1000000},
    {"domains", F_DOMAINS, L(domains), 0, 0},
    {"file", F_FILE, L(domains), 0, 0},
};
#undef L
#define R(f) offsetof(struct rules_repeat, f)
static const struct conf_field conf_repeat_fields[] = {
    {"per", F_PER, R(per), 0, 0},
    {"window", F_LONG, R(window), 1, 86400 * 30},
};
#undef R
#define C(f) offsetof(struct rules_campaign, f)
static const struct conf_field conf_campaign_fields[] = {
    {"authors", F_LONG, C(authors), 2, 256},
    {"window", F_LONG, C(window), 1, 86400 * 7},
    {"similarity", F_FRACTION, C(similarity), 0, 0},
    {"min_words", F_LONG, C(min_words), 1, 1000},
};
#undef C
#define S(f) offsetof(struct rules_shout, f)
static const struct conf_field conf_shout_fields[] = {
    {"min_letters", F_LONG, S(min_letters), 1, 1000000},
    {"ratio", F_FRACTION, S(ratio), 0, 0},
};
#undef S
static const struct conf_field conf_length_fields[] = {
    {"max", F_LONG, offsetof(struct rules_length, max), 1, 100000000},
};

#define KIND(g, w, t, a, f, need, needs, d) \
	{ \
		g, w, sizeof(struct t), offsetof(struct rules_spec, a), \
		    offsetof(struct rules_spec, n##a), f, \
		    sizeof f / sizeof f[0], need, needs, d \
	}
static const struct conf_kind conf_kinds[] = {
    KIND("links", "links rule", rules_link, links, conf_link_fields, 0xd,
        "max, domains or file", conf_link_defaults),
    KIND("repeats", "repeats rule", rules_repeat, repeats, conf_repeat_fields,
        0x3, "per and window", NULL),
    KIND("campaigns", "campaigns rule", rules_campaign, campaigns,
        conf_campaign_fields, 0x3, "authors and window",
        conf_campaign_defaults),
    KIND("shouting", "shouting rule", rules_shout, shouts, conf_shout_fields, 0,
        "", conf_shout_defaults),
    KIND("length", "length rule", rules_length, lengths, conf_length_fields,
        0x1, "max", NULL),
};
#undef KIND

/* The kind being read by conf_rules(): its callbacks take no kind. */
static const struct conf_kind *conf_reading;

/* A links rule counts nothing until max is given. */
static void
conf_link_defaults(void *p)
{
	((struct rules_link *)p)->max = -1;
}

/*
 * Campaign defaults, measured with campaign-bench (make bench): texts of
 * fewer distinct words ("so true", "lol") are alike by nature.
 */
static void
conf_campaign_defaults(void *p)
{
	struct rules_campaign *c = p;

	c->similarity = 0.52;
	c->min_words = 6;
}

/* Shouting: a long enough text, mostly capitals. */
static void
conf_shout_defaults(void *p)
{
	struct rules_shout *s = p;

	s->min_letters = 20;
	s->ratio = 0.7;
}

/*
 * Read mode or score, which every rule of every kind takes; returns 0 if k
 * is neither.
 */
int
conf_common_key(struct conf_ctx *cx, const config_setting_t *s, const char *k,
    struct conf_rule *cr)
{
	const char *v;

	if (strcmp(k, "mode") == 0) {
		if ((v = conf_get_string(cx, s)) == NULL)
			return (1);
		if (strcmp(v, "shadow") == 0)
			cr->shadow = 1;
		else if (strcmp(v, "enforce") == 0)
			cr->shadow = 0;
		else
			conf_error(
			    cx, s, "mode: \"%s\" is not enforce or shadow", v);
		return (1);
	}
	if (strcmp(k, "score") == 0) {
		conf_get_long(
		    cx, s, -CONF_SCORE_MAX, CONF_SCORE_MAX, &cr->score);
		return (1);
	}
	return (0);
}

/* Tell whether a rule of any kind already has this name. */
int
conf_name_taken(const struct rules_spec *r, const char *name)
{
	const struct conf_kind *k;
	const char *base;
	size_t i, j, n;

	for (i = 0; i < r->nlists; i++)
		if (strcmp(r->lists[i].name, name) == 0)
			return (1);
	for (i = 0; i < r->nrates; i++)
		if (strcmp(r->rates[i].name, name) == 0)
			return (1);
	for (j = 0; j < sizeof conf_kinds / sizeof conf_kinds[0]; j++) {
		k = &conf_kinds[j];
		base = (const char *)r + k->array;
		n = *(const size_t *)((const char *)r + k->count);
		for (i = 0; i < n; i++)
			if (strcmp(
			        ((const struct conf_head *)(base + i * k->size))
			            ->name,
			        name) == 0)
				return (1);
	}
	return (0);
}

/*
 * Read a top-level setting if it belongs to the content rules: a kind's
 * list, link_allow or thresholds.  Returns 0 if it does not.
 */
int
conf_content(struct conf_ctx *cx, const config_setting_t *s, const char *k)
{
	struct rules_spec *r = &cx->conf->rules;
	size_t i;

	for (i = 0; i < sizeof conf_kinds / sizeof conf_kinds[0]; i++) {
		if (strcmp(k, conf_kinds[i].group) != 0)
			continue;
		conf_reading = &conf_kinds[i];
		conf_rules(cx, s, conf_content_key, conf_content_done);
		conf_reading = NULL;
		return (1);
	}
	if (strcmp(k, "link_allow") == 0) {
		conf_entries(cx, s, &r->link_allow, &r->nlink_allow);
		return (1);
	}
	if (strcmp(k, "thresholds") == 0) {
		if (!config_setting_is_group(s))
			conf_error(cx, s,
			    "thresholds: must be a group "
			    "{ hold = N; reject = N; }");
		else
			conf_each(cx, s, conf_thresholds_key, NULL);
		return (1);
	}
	return (0);
}

/* Read one setting of a content rule. */
static void
conf_content_key(
    struct conf_ctx *cx, const config_setting_t *s, const char *k, void *arg)
{
	const struct conf_kind *kind = conf_reading;
	struct conf_rule *cr = arg;
	size_t i;

	if (cr->rule == NULL) {
		cr->kind = kind;
		cr->rule = xcalloc(1, kind->size);
		if (kind->defaults != NULL)
			kind->defaults(cr->rule);
	}
	if (strcmp(k, "name") == 0) {
		cr->name = conf_rule_name(cx, s);
		return;
	}
	if (strcmp(k, "action") == 0) {
		if (conf_verdict(
		        cx, s, &((struct conf_head *)cr->rule)->action) == 0)
			cr->have |= 1 << 30;
		return;
	}
	if (conf_common_key(cx, s, k, cr))
		return;
	for (i = 0; i < kind->nfields; i++) {
		if (strcmp(k, kind->fields[i].key) == 0) {
			conf_content_field(cx, s, &kind->fields[i], cr->rule);
			cr->have |= 1 << i;
			return;
		}
	}
	conf_error(cx, s, "unknown option %s in a %s", k, kind->what);
}

/* Read one option of a content rule into its struct. */
static void
conf_content_field(struct conf_ctx *cx, const config_setting_t *s,
    const struct conf_field *f, void *rule)
{
	struct rules_link *l = rule;
	const char *v;

	switch (f->type) {
	case F_LONG:
		conf_get_long(
		    cx, s, f->min, f->max, (long *)((char *)rule + f->off));
		break;
	case F_FRACTION:
		conf_get_fraction(cx, s, (double *)((char *)rule + f->off));
		break;
	case F_PER:
		if ((v = conf_get_string(cx, s)) != NULL &&
		    rate_per_parse(
		        v, (enum rules_per *)((char *)rule + f->off)) == -1)
			conf_error(cx, s,
			    "per: \"%s\" is not author, ip or thread", v);
		break;
	case F_DOMAINS:
		conf_entries(cx, s, &l->domains, &l->ndomains);
		break;
	case F_FILE:
		conf_list_file(cx, s, &l->domains, &l->ndomains);
		break;
	}
}

/* Check a content rule read from g, and keep it in the spec's array. */
static void
conf_content_done(
    struct conf_ctx *cx, const config_setting_t *g, struct conf_rule *cr)
{
	const struct conf_kind *k = conf_reading;
	struct rules_spec *r = &cx->conf->rules;
	size_t *n = (size_t *)((char *)r + k->count);
	struct conf_head *h = cr->rule;
	const char *name = cr->name != NULL ? cr->name : "?";
	int ok = 1;

	if (cr->rule == NULL) { /* an empty group */
		conf_error(cx, g, "%s without a name", k->what);
		return;
	}
	if (cr->name == NULL)
		ok = 0, conf_error(cx, g, "%s without a name", k->what);
	if ((cr->have & (1 << 30)) == 0)
		ok = 0,
		conf_error(cx, g, "%s %s: no valid action", k->what, name);
	else if (h->action == RULES_APPROVE && cr->score == 0)
		ok = 0,
		conf_error(cx, g, "%s %s: action \"score\" needs a score",
		    k->what, name);
	if (k->need != 0 &&
	    (k == &conf_kinds[0] ? (cr->have & k->need) == 0
	                         : (cr->have & k->need) != k->need))
		ok = 0,
		conf_error(cx, g, "%s %s: needs %s", k->what, name, k->needs);
	else if (k == &conf_kinds[0] && (cr->have & 2) && !(cr->have & 1))
		ok = 0,
		conf_error(
		    cx, g, "%s %s: approved_below needs max", k->what, name);
	if (ok && *n == RULES_MAX_CONTENT)
		ok = 0,
		conf_error(cx, g, "too many %s (at most %d)", k->group,
		    RULES_MAX_CONTENT);
	if (ok) {
		h->name = xstrdup(cr->name);
		h->shadow = cr->shadow;
		h->score = cr->score;
		memcpy((char *)r + k->array + *n * k->size, h, k->size);
		(*n)++;
	} else if (k == &conf_kinds[0])
		rules_entries_free(((struct rules_link *)h)->domains,
		    ((struct rules_link *)h)->ndomains);
	free(cr->rule);
}

/* Read thresholds.hold or thresholds.reject. */
static void
conf_thresholds_key(struct conf_ctx *cx, const config_setting_t *s,
    const char *k, UNUSED void *arg)
{
	struct rules_thresholds *t = &cx->conf->rules.thresholds;

	if (strcmp(k, "hold") == 0)
		conf_get_long(cx, s, 1, CONF_SCORE_MAX, &t->hold);
	else if (strcmp(k, "reject") == 0)
		conf_get_long(cx, s, 1, CONF_SCORE_MAX, &t->reject);
	else
		conf_error(cx, s, "unknown option thresholds.%s", k);
}

/* Check what needs the whole file: thresholds against the scores. */
void
conf_content_finish(struct conf_ctx *cx, config_setting_t *root)
{
	const struct rules_thresholds *t = &cx->conf->rules.thresholds;
	const config_setting_t *s = config_setting_lookup(root, "thresholds");

	if (cx->conf->rules.nlink_allow > 0 && cx->conf->rules.nlinks == 0)
		conf_error(cx, config_setting_lookup(root, "link_allow"),
		    "link_allow: no links rule counts links");
	if (s == NULL)
		return;
	if (t->hold != 0 && t->reject != 0 && t->hold >= t->reject)
		conf_error(cx, s,
		    "thresholds: hold (%ld) must be below reject (%ld)",
		    t->hold, t->reject);
	if ((t->hold != 0 || t->reject != 0) &&
	    !rules_spec_has_scores(&cx->conf->rules))
		conf_error(cx, s, "thresholds: no rule has a score");
}
