/*
 * rules.h -- the whole API of rules/, the pure library that judges comment
 * text and context.  No libevent, no hiredis: the daemon drives it, tests
 * call it directly.
 */
#ifndef RULES_H
#define RULES_H

#include <stddef.h>
#include <stdint.h>

struct stat;

#define RULES_MAX_RATES 32 /* rate rules in one ruleset */
#define RULES_MAX_NAME 64 /* bytes in a rule name */
#define RULES_STAMP_LEN 12 /* hex digits of the ruleset stamp */

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

/* One word-list entry as the operator wrote it, and where. */
struct rules_entry {
	char *text; /* owned */
	char *file; /* owned: the config or word-list file */
	int line;
};

/* A keyword rule: a named list of entries with an action. */
struct rules_list {
	char *name; /* owned */
	enum rules_verdict action;
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
};

/* The keyword verdict of one text. */
struct rules_match {
	enum rules_verdict verdict;
	char *reasons; /* owned: fired keyword rules, space-separated */
	char *matched; /* owned: name:"original text" pairs */
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
};

/* The final verdict of a comment. */
struct rules_decision {
	enum rules_verdict verdict;
	char *reasons; /* owned: every rule that fired, space-separated */
};

/* Normalised text: tokens separated by one space, with a space at each end. */
struct norm_out {
	char *buf; /* owned */
	uint32_t *src_start; /* owned: input offset each byte came from */
	uint32_t *src_end; /* owned: input offset where that source ends */
	size_t len;
	size_t cap;
};

struct norm_item;
struct norm_tok;

/* Scratch state of the normaliser; reused from text to text. */
struct norm {
	struct norm_item *items; /* owned */
	size_t nitems;
	size_t capitems;
	struct norm_tok *toks; /* owned */
	size_t ntoks;
	size_t captoks;
	uint32_t *chars; /* owned: one token's code points while emitting */
	uint32_t *cs; /* owned */
	uint32_t *ce; /* owned */
	size_t capchars;
	struct norm_out form[4]; /* runs of 3+ letters as 1, 2, mixed, kept */
	int nforms;
	int fold_all; /* in: fold look-alikes in every word */
	int keep_runs; /* in: one form, runs kept (rule entries) */
	int split_lead; /* in: a leading "a" or "i" is not a spread letter */
	int ambiguous; /* out: split_lead would read the text differently */
};

struct ruleset;

/* normalize.c */
void normalize_init(struct norm *);
void normalize_free(struct norm *);
void normalize_text(struct norm *, const char *, size_t);

/* keyword.c */
struct keyword;
int keyword_build(const struct rules_spec *, struct keyword **, char **);
void keyword_free(struct keyword *);
int keyword_match(struct keyword *, const char *, size_t, struct rules_match *);
size_t keyword_npatterns(const struct keyword *);

/* rate.c */
const char *rate_per_name(enum rules_per);
int rate_per_parse(const char *, enum rules_per *);
void rate_window(
    const struct rules_rate *, long long, long long *, long long *);
long long rate_refresh_ms(const struct rules_rate *);
long long rate_ttl_ms(const struct rules_rate *);
int rate_exceeded(const struct rules_rate *, long long);

/* rules.c */
int rules_build(const struct rules_spec *, struct ruleset **, char **);
struct ruleset *rules_ref(struct ruleset *);
void rules_unref(struct ruleset *);
const char *rules_stamp(const struct ruleset *);
size_t rules_nrates(const struct ruleset *);
const struct rules_rate *rules_rate(const struct ruleset *, size_t);
const struct rules_authors *rules_authors(const struct ruleset *);
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
int rules_load_list(const char *, struct rules_entry **, size_t *, char **);
void rules_entries_free(struct rules_entry *, size_t);
void rules_spec_free(struct rules_spec *);

/* confusables.c (generated by tools/gen-confusables.py) */
uint32_t confusables_latin(uint32_t);

/* entities.c (generated by tools/gen-entities.py) */
int entities_lookup(const char *, size_t, uint32_t[2]);

#endif
