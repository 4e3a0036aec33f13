/*
 * rules_int.h -- the internals of rules/: the normaliser, the keyword
 * matcher, rate and list helpers, and the generated tables.  For the files
 * of rules/ and the tests that look inside them; the daemon sees only
 * include/rules.h.
 */
#ifndef RULES_INT_H
#define RULES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

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
	int split_lead; /* in: the second reading: a leading "a" or "i" is
			   not a spread letter, and glue and ! between
			   letters are punctuation (kill!you) */
	int plain; /* in: plain text: no tags, no character references */
	int hide_markup; /* in: hide all a browser hides, not only markup */
	int ambiguous; /* out: split_lead may read the text differently */
	int hideable; /* out: hide_markup would read the text differently */
};

/* normalize.c */
void normalize_init(struct norm *);
void normalize_free(struct norm *);
void normalize_text(struct norm *, const char *, size_t);
int normalize_element(const char *, size_t, int *);
size_t normalize_tag_scan(const char *, size_t, size_t);
size_t normalize_numeric_ref(const char *, size_t, size_t, uint32_t *);

/* A keyword rule's name and how it acts, for rules_decide(). */
struct rules_act {
	char *name; /* owned */
	enum rules_verdict action;
	int shadow;
	long score;
};

/*
 * A built ruleset: what rules.c builds and owns and decide.c reads.  The
 * content rules are the spec's, names owned, domain lists left out (links
 * holds them compiled).
 */
struct ruleset {
	int refs;
	struct keyword *kw; /* owned */
	struct links *links; /* owned; NULL: no links rules */
	struct rules_act *acts; /* owned: one per keyword rule */
	size_t nacts;
	struct rules_rate rates[RULES_MAX_RATES]; /* names owned */
	size_t nrates;
	struct rules_authors authors;
	struct rules_link lrules[RULES_MAX_CONTENT];
	size_t nlrules;
	struct rules_repeat repeats[RULES_MAX_CONTENT];
	size_t nrepeats;
	struct rules_campaign campaigns[RULES_MAX_CONTENT];
	size_t ncampaigns;
	struct rules_shout shouts[RULES_MAX_CONTENT];
	size_t nshouts;
	struct rules_length lengths[RULES_MAX_CONTENT];
	size_t nlengths;
	struct rules_thresholds thresholds;
	int scored; /* a rule has a score, or thresholds are set */
	enum rules_format format;
	char stamp[RULES_STAMP_LEN + 1];
};

/* decide.c */
void content_measure(
    enum rules_format, const char *, size_t, struct rules_match *);

/* keyword.c */
struct keyword;
int keyword_build(const struct rules_spec *, struct keyword **, char **);
void keyword_free(struct keyword *);
int keyword_match(struct keyword *, const char *, size_t, struct rules_match *);
int keyword_match_lists(struct keyword *, const char *, size_t,
    void (*)(int, size_t, size_t, void *), void *);
size_t keyword_npatterns(const struct keyword *);
const struct norm_out *keyword_form(const struct keyword *);

/*
 * links.c: the links of a text as a reader would see them (URLs, bare
 * domains, "example dot com", "example[.]com", spaced dots), with libpsl
 * telling domains from prose (e.g., 3.5, file.txt).
 */
struct links;
int links_build(const struct rules_spec *, struct links **, char **);
void links_free(struct links *);
/*
 * Scan text (read as HTML or plain text, as the ruleset reads): set *count
 * to the links not under link_allow and *deny's bit i when one of them is
 * under links rule i's domains.  Returns -1 only on running out of memory.
 */
int links_scan(struct links *, const char *, size_t, size_t *, uint32_t *);

/*
 * similar.c: prints of normalised text (a hash and a MinHash signature of
 * word shingles) and the index of recent texts behind repeats and
 * campaigns.  The daemon feeds the index with every daemon's records read
 * from Redis, in the order Redis took them; each record gets a sequence
 * number, and a comment is compared only with records before its own.
 */
void similar_print(const char *, size_t, struct rules_print *);

#define SIMILAR_STR_MAX 256 /* bytes of one string of a record */

/*
 * One record of the index: a comment's text print and who sent it.  The
 * strings are borrowed; similar_unpack() points them into store, since a
 * packed record's strings are not NUL-terminated.
 */
struct similar_rec {
	long long ts; /* ms: the comment's time */
	const char *id; /* the site's comment id */
	const char *who; /* author, else "ip:" address, else "id:" id */
	const char *per[3]; /* author, ip, thread ("" when absent) */
	struct rules_print print;
	char store[5 * (SIMILAR_STR_MAX + 1)]; /* similar_unpack()'s copies */
};

struct similar;
struct similar *similar_new(size_t);
void similar_free(struct similar *);
uint64_t similar_add(struct similar *, const struct similar_rec *);
uint64_t similar_first(const struct similar *, const struct similar_rec *);
void similar_expire(struct similar *, long long);
size_t similar_size(const struct similar *);
long long similar_repeats(const struct similar *, uint64_t, long long,
    const struct similar_rec *, enum rules_per);
long long similar_authors(const struct similar *, uint64_t, long long,
    const struct similar_rec *, double, long long);
size_t similar_pack(const struct similar_rec *, char *, size_t);
int similar_unpack(const char *, size_t, struct similar_rec *);

/* rate.c */
const char *rate_per_name(enum rules_per);
int rate_exceeded(const struct rules_rate *, long long);

/* confusables.c (its table generated by tools/gen-confusables.py) */
uint32_t confusables_latin(uint32_t);

/* entities.c (its table generated by tools/gen-entities.py) */
int entities_lookup(const char *, size_t, uint32_t[2]);

#endif
