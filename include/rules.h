/*
 * rules.h -- the API of rules/ (build/librules.a), the pure library that
 * judges comment text and context: what the daemon calls.  It links with
 * Hyperscan, utf8proc and libpsl only; no libevent, no hiredis.  The
 * normaliser, the matcher and the rest of the internals are in
 * rules/rules_int.h.
 */
#ifndef RULES_H
#define RULES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct stat;

#define RULES_MAX_RATES 32 /* rate rules in one ruleset */
#define RULES_MAX_NAME 64 /* bytes in a rule name */
#define RULES_STAMP_LEN 12 /* hex digits of rules_stamp() */
#define RULES_MAX_CONTENT 32 /* content rules of one kind in one ruleset */
#define RULES_SIG 128 /* MinHash values in a text's print, a byte each */

/* Verdicts in order of precedence: a larger value wins. */
enum rules_verdict { RULES_APPROVE = 0, RULES_HOLD, RULES_REJECT };

enum rules_matchmode { RULES_MATCH_WORD = 0, RULES_MATCH_SUBSTRING };

enum rules_per { RULES_PER_AUTHOR = 0, RULES_PER_IP, RULES_PER_THREAD };

enum rules_trust {
	RULES_TRUST_NONE = 0,
	RULES_TRUST_TRUSTED,
	RULES_TRUST_PREMOD,
	RULES_TRUST_BANNED
};

enum rules_mode { RULES_MODE_OPEN = 0, RULES_MODE_PREMOD, RULES_MODE_CLOSED };

/* How comment text and entries are read: as HTML, or as plain text. */
enum rules_format { RULES_FORMAT_HTML = 0, RULES_FORMAT_TEXT };

/* One word-list entry as the operator wrote it, and where. */
struct rules_entry {
	char *text; /* owned */
	char *file; /* owned: the config or word-list file */
	int line;
};

/*
 * Every rule of every kind also has a mode and a score: a shadow rule is
 * evaluated and counted but never changes the verdict; a rule's score is
 * added to the comment's when it fires.  action = "score" is stored as
 * RULES_APPROVE: a verdict that never wins.
 */

/* A keyword rule: a named list of entries with an action. */
struct rules_list {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
	enum rules_matchmode match;
	struct rules_entry *entries; /* owned */
	size_t nentries;
	char *file; /* owned: where the rule is defined */
	int line;
};

/* A rate rule: at most limit comments per window seconds per field. */
struct rules_rate {
	char *name; /* owned */
	enum rules_per per;
	long limit;
	long window; /* seconds */
	enum rules_verdict action;
	int shadow;
	long score;
};

/*
 * A links rule: more than max links (max < 0: no count), counted only for
 * authors with fewer than approved_below approved comments (0: everyone);
 * or, with domains, any link to one of them or a subdomain.
 */
struct rules_link {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
	long max;
	long approved_below;
	struct rules_entry *domains; /* owned: lowercase host names */
	size_t ndomains;
};

/* A repeats rule: the same normalised text again per field in window. */
struct rules_repeat {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
	enum rules_per per;
	long window; /* seconds */
};

/*
 * A campaigns rule: texts of at least min_words distinct content words
 * (function words such as "the" or "and" left out) whose word shingles
 * are at least similarity alike, from at least authors distinct authors
 * within window.
 */
struct rules_campaign {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
	long authors;
	long window; /* seconds */
	double similarity;
	long min_words;
};

/* A shouting rule: at least min_letters letters, ratio of them capitals. */
struct rules_shout {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
	long min_letters;
	double ratio;
};

/* A length rule: more than max characters (code points) of text. */
struct rules_length {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
	long max;
};

/* Score thresholds; 0 means none. */
struct rules_thresholds {
	long hold;
	long reject;
};

/* Author reputation rules; zero values mean off. */
struct rules_authors {
	long premod_until_approved;
	int hold_if_rejected; /* the block below is configured */
	double rejected_ratio;
	long rejected_min;
	long rejected_days;
};

/* Everything a ruleset is built from; conf.c fills it. */
struct rules_spec {
	struct rules_list *lists; /* owned */
	size_t nlists;
	struct rules_entry *allow; /* owned */
	size_t nallow;
	struct rules_rate rates[RULES_MAX_RATES];
	size_t nrates;
	struct rules_authors authors;
	enum rules_format format;
	struct rules_link links[RULES_MAX_CONTENT]; /* names, domains owned */
	size_t nlinks;
	struct rules_entry *link_allow; /* owned: hosts never counted */
	size_t nlink_allow;
	struct rules_repeat repeats[RULES_MAX_CONTENT]; /* names owned */
	size_t nrepeats;
	struct rules_campaign campaigns[RULES_MAX_CONTENT]; /* names owned */
	size_t ncampaigns;
	struct rules_shout shouts[RULES_MAX_CONTENT]; /* names owned */
	size_t nshouts;
	struct rules_length lengths[RULES_MAX_CONTENT]; /* names owned */
	size_t nlengths;
	struct rules_thresholds thresholds;
};

/*
 * A text's print for repeats and campaigns: a hash of its normalised text
 * and a MinHash signature of its word shingles.
 */
struct rules_print {
	uint64_t hash; /* 0: no words */
	uint32_t words; /* distinct content words (all words if none) */
	uint8_t sig[RULES_SIG];
};

/* What one text shows: keyword hits and what content rules look at. */
struct rules_match {
	enum rules_verdict verdict;
	char *reasons; /* owned: fired keyword rules, space-separated */
	char *matched; /* owned: name:"original text" pairs */
	size_t links; /* links a reader would see, allowed ones left out */
	uint32_t
	    link_deny; /* bit i: a link falls under links rule i's domains */
	size_t letters; /* letters of the text, and capitals among them */
	size_t capitals;
	size_t chars; /* code points of the text as read */
	struct rules_print print;
};

/* What Redis knows about a comment's author, thread and rates. */
struct rules_ctx {
	enum rules_trust trust;
	enum rules_mode mode;
	int has_author;
	long long approved; /* the author's approved comments */
	long long recent_decided; /* within authors.hold_if_rejected.days */
	long long recent_rejected;
	long long rate[RULES_MAX_RATES]; /* count with this one; -1 none */
	long long repeat[RULES_MAX_CONTENT]; /* earlier same texts; -1 none */
	long long campaign[RULES_MAX_CONTENT]; /* authors with this; -1 none */
};

/* The final verdict of a comment. */
struct rules_decision {
	enum rules_verdict verdict;
	char *reasons; /* owned: every rule that fired, space-separated */
	char *shadow; /* owned: shadow rules that fired, space-separated */
	long score; /* the sum of the scores of the rules that fired */
};

struct ruleset;

/* rate.c */
int rate_per_parse(const char *, enum rules_per *);
void rate_window(
    const struct rules_rate *, long long, long long *, long long *);
long long rate_refresh_ms(const struct rules_rate *);
long long rate_ttl_ms(const struct rules_rate *);

/* rules.c */
int rules_build(const struct rules_spec *, struct ruleset **, char **);
int rules_check(const struct rules_spec *, char **);

/* A keyword entry that also matches ordinary words (rules_lint()). */
#define RULES_LINT_SHOWN 3 /* words kept to show */
struct rules_lint {
	const struct rules_entry *entry; /* borrowed from the spec */
	char *words[RULES_LINT_SHOWN]; /* owned: the first, in byte order */
	size_t nwords; /* how many words it matches */
};
int rules_lint(const struct rules_spec *, const char *const *, size_t,
    struct rules_lint **, size_t *, char **);
void rules_lint_free(struct rules_lint *, size_t);
struct ruleset *rules_ref(struct ruleset *);
void rules_unref(struct ruleset *);
const char *rules_stamp(const struct ruleset *);
size_t rules_nrates(const struct ruleset *);
const struct rules_rate *rules_rate(const struct ruleset *, size_t);
const struct rules_authors *rules_authors(const struct ruleset *);
int rules_scored(const struct ruleset *);
size_t rules_nrepeats(const struct ruleset *);
const struct rules_repeat *rules_repeat(const struct ruleset *, size_t);
size_t rules_ncampaigns(const struct ruleset *);
const struct rules_campaign *rules_campaign(const struct ruleset *, size_t);
size_t rules_npatterns(const struct ruleset *);
int rules_match_text(
    struct ruleset *, const char *, size_t, struct rules_match *);
void rules_match_free(struct rules_match *);
void rules_decide(const struct ruleset *, const struct rules_match *,
    const struct rules_ctx *, struct rules_decision *);
void rules_decision_free(struct rules_decision *);
const char *rules_verdict_name(enum rules_verdict);
const char *rules_status_name(enum rules_verdict);
int rules_name_valid(const char *);
int rules_name_reserved(const char *);
int rules_open(const char *, struct stat *, const char **);
void rules_verror(char **, const char *, int, const char *, va_list)
    __attribute__((format(printf, 4, 0)));
int rules_load_list(const char *, struct rules_entry **, size_t *, char **);
void rules_entries_free(struct rules_entry *, size_t);
int rules_spec_has_scores(const struct rules_spec *);
void rules_spec_free(struct rules_spec *);

#endif
