/*
 * similar.c -- owns the prints of normalised text and the index of recent
 * prints behind the repeats and campaigns rules, and the packed form of a
 * record that daemons share through a Redis stream.
 *
 * A print is a hash of the token sequence (repeats: the same text again)
 * and a MinHash signature of the text's set of distinct content words,
 * English function words left out (campaigns: nearly the same text from
 * many authors).  The shingles are single words, not pairs of words: a
 * campaign pastes a text with a few words changed, and a changed word
 * takes one word out of the word set but two pairs out of the pair set.
 * Function words are most of what two unrelated short comments share;
 * campaigns.min_words counts content words too, and keeps the short
 * texts ("so true", "lol") out.
 *
 * Defaults: similarity 0.52, min_words 6.  tools/campaign-bench.c
 * measured the choices: 200 campaigns of 10 copies (1 to 3 words edited)
 * among 20,000 tweets, authors = 3; copies caught / ordinary comments
 * grouped with texts that are not copies of them:
 *
 *   shingles               values  similarity  min_words  caught  grouped
 *   all words              64      0.50        5          96.1%   0.345%
 *   all words              64      0.55        5          92.6%   0.110%
 *   all words              64      0.60        5          88.2%   0.060%
 *   all words              128     0.55        5          92.6%   0.085%
 *   pairs and words        64      0.40        6          91.9%   0.085%
 *   content words, all     64      0.50        5          95.1%   0.805%
 *     words counted
 *   content words          64      0.50        5          98.1%   0.265%
 *   content words          64      0.55        6          95.5%   0.080%
 *   content pairs and      128     0.40        6          95.8%   0.060%
 *     content words
 *   content words          128     0.50        6          98.3%   0.095%
 *   content words          128     0.52        5          98.0%   0.130%
 *   content words          128     0.52        6          97.6%   0.070%
 *   content words          128     0.55        5          96.9%   0.080%
 *   content words          128     0.55        6          96.6%   0.050%
 *   the same, 4 bands      128     0.50        6          95.6%   0.050%
 *     of 21 equal
 *
 * At 0.52 and 6, six seeds of the bench give 95.8% to 97.6% caught and
 * 0.050% to 0.080% grouped.  Values of 8 bits measured as 16-bit ones.
 *
 * Every hash is a fixed function of the bytes (FNV-1a, the splitmix64
 * finaliser and multiply-adds, with fixed seeds), so all daemons on all
 * machines agree.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "ralloc.h"

/*
 * LSH banding: a record is a candidate for a query when all ROWS values of
 * at least one of BANDS bands of their signatures are equal, which for
 * word sets of Jaccard similarity J happens with probability
 * 1 - (1 - J^ROWS)^BANDS: 0.99 at J = 0.6, 0.92 at 0.5, 0.03 at 0.2 for
 * 21 x 3 (tools/campaign-bench.c weighs the choices).  Each candidate is
 * then verified on the whole signature.
 */
#define SIMILAR_ROWS 3
#define SIMILAR_BANDS 21
#define SIMILAR_NCHAIN (SIMILAR_BANDS + 3) /* bands, then repeats per kind */
#define SIMILAR_CHAIN_BITS 5 /* chain number in the low bits of a link */
#define SIMILAR_CHAIN_MASK ((1u << SIMILAR_CHAIN_BITS) - 1)
#define SIMILAR_MAX_RECORDS (1u << 26) /* a link's distance fits 27 bits */
/*
 * The bound on one query's cost: a walk looks at no more than VISITS
 * records of one bucket (those of other keys, later records and already
 * counted authors included), so a campaigns query looks at no more than
 * BANDS * VISITS = 5,376 records and a repeats query at VISITS; and a
 * query counts at most COUNT_MAX distinct ids or authors.
 */
#define SIMILAR_VISITS 256
#define SIMILAR_COUNT_MAX 256
#define SIMILAR_SET_SLOTS 512 /* > 2 * (SIMILAR_COUNT_MAX + 1), power of 2 */
#define SIMILAR_VERSION 2
#define SIMILAR_FIXED (1 + 8 + 8 + 4 + RULES_SIG) /* before the strings */
#define SIMILAR_NSTR 5 /* id, who, author, ip, thread */
#define SIMILAR_GOLDEN 0x9e3779b97f4a7c15ULL
#define SIMILAR_SEED 0x6d6f64712d73696dULL /* "modq-sim" */
#define SIMILAR_STOP_MAX 5 /* bytes of the longest word of SIMILAR_STOP */

/*
 * The English function words left out of a print's shingles and word
 * count, sorted: articles, pronouns, forms of be, have and do, modal
 * verbs, common prepositions and conjunctions, and what the normaliser
 * leaves of contractions ("it's" is "it s").  They are most of the words
 * two unrelated short comments share.  Negations ("no", "not", "don" of
 * "don't") are kept: they carry the meaning.  Text in another language
 * keeps all its words; text of function words alone is printed whole.
 */
static const char *const similar_stop[] = {"a", "about", "after", "all", "am",
    "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could",
    "d", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just",
    "ll", "m", "me", "my", "of", "on", "or", "our", "out", "re", "s", "she",
    "so", "t", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "those", "to", "up", "us", "ve", "was", "we", "were",
    "what", "when", "which", "who", "will", "with", "would", "you", "your"};

/*
 * One record in the ring.  Every chain is a singly linked list of records,
 * newest first, threaded through one bucket of the table: next[c] leads
 * from this record, reached through chain c, to the record inserted into
 * the same bucket before it, as its distance in sequence numbers and the
 * chain it was reached through.  Records leave the ring oldest first, so a
 * link to a sequence number no longer in the ring ends the list: nothing
 * is ever unlinked.  Bytes per record: 304 here (LP64); the strings'
 * allocation (their lengths + 5, plus malloc's 8 to 16); and the table, a
 * power of two of at least 8 buckets of 8 bytes a record (84 bytes a
 * record at 100,000).  About 480 bytes with strings of 70 bytes in all:
 * 48 MB for 100,000 records.
 */
struct similar_item {
	uint64_t seq;
	long long ts;
	uint64_t idh; /* hash of the id */
	uint64_t whoh; /* hash of who */
	struct rules_print print;
	char *str; /* owned: id, who, author, ip, thread, NUL-terminated */
	uint32_t off[SIMILAR_NSTR]; /* where each string starts in str */
	uint32_t next[SIMILAR_NCHAIN]; /* (distance << 5 | chain) + 1; 0: end */
};

struct similar {
	struct similar_item *ring; /* owned: record seq at (seq - 1) % max */
	size_t max;
	uint64_t first; /* the oldest record in the ring */
	uint64_t next; /* the sequence number of the next record */
	uint64_t *heads; /* owned: per bucket, seq << 5 | chain; 0: none */
	size_t mask; /* buckets - 1 */
};

/* Strings already counted by one query: an open-addressing set. */
struct similar_set {
	const char *str[SIMILAR_SET_SLOTS];
	uint64_t h[SIMILAR_SET_SLOTS];
};

/* What a campaigns query looks for. */
struct similar_query {
	const struct similar_rec *me;
	uint64_t before;
	long long from;
	int equal; /* signature values that must be equal */
	long long need;
};

static uint64_t similar_mix(uint64_t);
static uint64_t similar_hash(const char *, size_t);
static int similar_cmp_u64(const void *, const void *);
static uint64_t *similar_grow(uint64_t *, const uint64_t *, size_t *);
static void similar_minhash(const uint64_t *, size_t, uint8_t *);
static int similar_stopword(const char *, size_t);
static size_t similar_tokens(
    const char *, size_t, int, uint64_t **, uint64_t *, size_t *, uint64_t *);
static const struct similar_item *similar_at(const struct similar *, uint64_t);
static const struct similar_item *similar_head(
    const struct similar *, uint64_t, unsigned *);
static const struct similar_item *similar_next(
    const struct similar *, const struct similar_item *, unsigned *);
static uint64_t similar_band_key(const struct rules_print *, unsigned);
static uint64_t similar_repeat_key(uint64_t, unsigned, const char *);
static void similar_link(
    struct similar *, struct similar_item *, uint64_t, unsigned);
static void similar_copy(struct similar_item *, const struct similar_rec *);
static void similar_drop(struct similar *);
static const char *similar_str(const struct similar_item *, unsigned);
static void similar_set_init(struct similar_set *);
static int similar_set_add(struct similar_set *, const char *, uint64_t, int);
static int similar_equal(const uint8_t *, const uint8_t *);
static int similar_seen(
    const struct similar_item *, const struct rules_print *, unsigned);
static long long similar_band(const struct similar *, unsigned,
    const struct similar_query *, struct similar_set *, long long);
static void similar_strings(const struct similar_rec *, const char **);
static void similar_put(unsigned char *, uint64_t, int);
static uint64_t similar_get(const unsigned char *, int);

/* The splitmix64 finaliser: a bijective mix of 64 bits. */
static uint64_t
similar_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (x);
}

/* Hash len bytes: FNV-1a, mixed so every bit depends on every byte. */
static uint64_t
similar_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return (similar_mix(h + SIMILAR_SEED));
}

static int
similar_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Double an array of token hashes that may still be the caller's stack. */
static uint64_t *
similar_grow(uint64_t *h, const uint64_t *local, size_t *cap)
{
	uint64_t *n;

	if (h != local)
		n = xreallocarray(h, *cap, 2 * sizeof *h);
	else {
		n = xreallocarray(NULL, *cap, 2 * sizeof *h);
		memcpy(n, local, *cap * sizeof *h);
	}
	*cap *= 2;
	return (n);
}

/*
 * The MinHash signature of n distinct token hashes: per value i, the
 * smallest of the tokens under the i-th hash function, 8 of its bits kept
 * (bits 32 to 39: the high bits of a minimum are mostly zero).  The i-th
 * function is a_i * h + b_i modulo 2^64, a_i odd: a permutation of the
 * already mixed token hashes, a multiply and an add where a full mix
 * would cost five steps.  Two different minimums agree by chance once in
 * 256, which raises an estimate by (1 - J) / 256 at most.
 */
static void
similar_minhash(const uint64_t *h, size_t n, uint8_t *sig)
{
	uint64_t a, b, min, v;
	size_t i, j;

	for (i = 0; i < RULES_SIG; i++) {
		a = similar_mix(SIMILAR_SEED + (2 * i + 1) * SIMILAR_GOLDEN);
		a |= 1; /* odd: a bijection */
		b = similar_mix(SIMILAR_SEED + (2 * i + 2) * SIMILAR_GOLDEN);
		min = UINT64_MAX;
		for (j = 0; j < n; j++) {
			v = a * h[j] + b;
			if (v < min)
				min = v;
		}
		sig[i] = (uint8_t)(min >> 32);
	}
}

/*
 * Tell whether a token is one of the English function words left out of
 * a print's shingles (SIMILAR_STOP).
 */
static int
similar_stopword(const char *w, size_t len)
{
	size_t lo = 0, hi = sizeof similar_stop / sizeof *similar_stop, mid;
	int c;

	if (len > SIMILAR_STOP_MAX)
		return (0);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strncmp(similar_stop[mid], w, len)) == 0 &&
		    similar_stop[mid][len] != '\0')
			c = 1;
		if (c == 0)
			return (1);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (0);
}

/*
 * Hash the tokens of normalised text into *h (growing it, *cap its size),
 * all of them or only those that are not function words; returns their
 * number and sets *seq to the hash of the whole token sequence.
 */
static size_t
similar_tokens(const char *norm, size_t len, int all, uint64_t **h,
    uint64_t *local, size_t *cap, uint64_t *seq)
{
	size_t n = 0, i = 0, e;
	uint64_t t;

	*seq = SIMILAR_SEED;
	while (i < len) {
		if (norm[i] == ' ') {
			i++;
			continue;
		}
		for (e = i; e < len && norm[e] != ' '; e++)
			continue;
		t = similar_hash(norm + i, e - i);
		*seq = similar_mix(*seq ^ t); /* order counts */
		if (all || !similar_stopword(norm + i, e - i)) {
			if (n == *cap)
				*h = similar_grow(*h, local, cap);
			(*h)[n++] = t;
		}
		i = e;
	}
	return (n);
}

/*
 * Print normalised text (tokens between single spaces; any run of spaces
 * is read as one): the hash of all its tokens, and the signature and count
 * of its distinct content words, or of all its words when every one is a
 * function word.  Text without tokens gets an all-zero print.
 */
void
similar_print(const char *norm, size_t len, struct rules_print *p)
{
	uint64_t local[256], *h = local, seq;
	size_t n, cap = 256, i, u;

	memset(p, 0, sizeof *p);
	n = similar_tokens(norm, len, 0, &h, local, &cap, &seq);
	if (n == 0)
		n = similar_tokens(norm, len, 1, &h, local, &cap, &seq);
	if (n > 0) {
		p->hash = seq != 0 ? seq : 1;
		qsort(h, n, sizeof *h, similar_cmp_u64);
		for (i = u = 1; i < n; i++) {
			if (h[i] != h[u - 1])
				h[u++] = h[i];
		}
		p->words = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
		similar_minhash(h, u, p->sig);
	}
	if (h != local)
		free(h);
}

/* Make an index of at most max records (at least 1, at most 2^26). */
struct similar *
similar_new(size_t max)
{
	struct similar *s;
	size_t buckets = 1;

	if (max < 1)
		max = 1;
	if (max > SIMILAR_MAX_RECORDS)
		max = SIMILAR_MAX_RECORDS;
	/* At most 3 chain entries a bucket: short walks, little memory. */
	while (buckets < max * SIMILAR_NCHAIN / 3)
		buckets *= 2;
	s = xcalloc(1, sizeof *s);
	s->ring = xcalloc(max, sizeof *s->ring);
	s->max = max;
	s->first = s->next = 1;
	s->heads = xcalloc(buckets, sizeof *s->heads);
	s->mask = buckets - 1;
	return (s);
}

/* Free an index and every record. */
void
similar_free(struct similar *s)
{
	if (s == NULL)
		return;
	while (s->first < s->next)
		similar_drop(s);
	free(s->ring);
	free(s->heads);
	free(s);
}

/* The number of records in the index. */
size_t
similar_size(const struct similar *s)
{
	return ((size_t)(s->next - s->first));
}

/* The record with sequence number seq, or NULL if it has left the ring. */
static const struct similar_item *
similar_at(const struct similar *s, uint64_t seq)
{
	if (seq < s->first || seq >= s->next)
		return (NULL);
	return (&s->ring[(seq - 1) % s->max]);
}

/* The newest record in key's bucket and the chain it came through. */
static const struct similar_item *
similar_head(const struct similar *s, uint64_t key, unsigned *chain)
{
	uint64_t l = s->heads[key & s->mask];

	*chain = (unsigned)(l & SIMILAR_CHAIN_MASK);
	return (similar_at(s, l >> SIMILAR_CHAIN_BITS));
}

/* The next older record of a bucket after it, reached through *chain. */
static const struct similar_item *
similar_next(
    const struct similar *s, const struct similar_item *it, unsigned *chain)
{
	uint32_t l = it->next[*chain];

	if (l-- == 0)
		return (NULL);
	*chain = l & SIMILAR_CHAIN_MASK;
	return (similar_at(s, it->seq - (l >> SIMILAR_CHAIN_BITS)));
}

/* The key of band b of a signature. */
static uint64_t
similar_band_key(const struct rules_print *p, unsigned b)
{
	uint64_t k = SIMILAR_SEED + (b + 1) * SIMILAR_GOLDEN;
	unsigned r;

	for (r = 0; r < SIMILAR_ROWS; r++)
		k = similar_mix(k ^ p->sig[b * SIMILAR_ROWS + r]);
	return (k);
}

/* The key of a text hash with the value of one kind of field. */
static uint64_t
similar_repeat_key(uint64_t hash, unsigned kind, const char *v)
{
	return (similar_mix(similar_mix(hash + (kind + 1) * SIMILAR_GOLDEN) ^
	    similar_hash(v, strlen(v))));
}

/*
 * Put a new record at the head of key's bucket, through chain.  Two of
 * its chains may share the bucket: then the link leads to the record
 * itself, distance 0, through the other chain.
 */
static void
similar_link(
    struct similar *s, struct similar_item *it, uint64_t key, unsigned chain)
{
	uint64_t *head = &s->heads[key & s->mask], old;

	old = *head >> SIMILAR_CHAIN_BITS;
	it->next[chain] = 0;
	if (old >= s->first && old <= it->seq)
		it->next[chain] =
		    (uint32_t)((it->seq - old) << SIMILAR_CHAIN_BITS |
		        (*head & SIMILAR_CHAIN_MASK)) +
		    1;
	*head = it->seq << SIMILAR_CHAIN_BITS | chain;
}

/* The strings of a record in packing order, "" for NULL. */
static void
similar_strings(const struct similar_rec *r, const char **str)
{
	const char *from[SIMILAR_NSTR] = {
	    r->id, r->who, r->per[0], r->per[1], r->per[2]};
	unsigned i;

	for (i = 0; i < SIMILAR_NSTR; i++)
		str[i] = from[i] != NULL ? from[i] : "";
}

/* Copy a record's time, print and strings into a ring slot. */
static void
similar_copy(struct similar_item *it, const struct similar_rec *r)
{
	const char *str[SIMILAR_NSTR];
	size_t len[SIMILAR_NSTR], total = 0;
	unsigned i;

	similar_strings(r, str);
	for (i = 0; i < SIMILAR_NSTR; i++) {
		len[i] = strlen(str[i]);
		if (len[i] > UINT32_MAX - SIMILAR_NSTR - total)
			RALLOC_FAILX("similar: strings too long");
		total += len[i] + 1;
	}
	it->str = xmalloc(total);
	for (i = 0, total = 0; i < SIMILAR_NSTR; i++) {
		it->off[i] = (uint32_t)total;
		memcpy(it->str + total, str[i], len[i] + 1);
		total += len[i] + 1;
	}
	it->ts = r->ts;
	it->print = r->print;
	it->idh = similar_hash(str[0], len[0]);
	it->whoh = similar_hash(str[1], len[1]);
}

/* String i (0 id, 1 who, 2 + kind a field) of a record. */
static const char *
similar_str(const struct similar_item *it, unsigned i)
{
	return (it->str + it->off[i]);
}

/*
 * Add a record (its strings copied), dropping the oldest when the index is
 * full; returns its sequence number.  A print without words goes into no
 * band, and a field that is "" into no repeats chain: neither ever matches.
 */
uint64_t
similar_add(struct similar *s, const struct similar_rec *r)
{
	struct similar_item *it;
	unsigned b, k;

	if (s->next - s->first == s->max)
		similar_drop(s);
	it = &s->ring[(s->next - 1) % s->max];
	it->seq = s->next++;
	similar_copy(it, r);
	for (b = 0; b < SIMILAR_BANDS; b++) {
		if (r->print.words > 0)
			similar_link(s, it, similar_band_key(&r->print, b), b);
		else
			it->next[b] = 0;
	}
	for (k = 0; k < 3; k++) {
		if (r->print.hash != 0 && *similar_str(it, 2 + k) != '\0')
			similar_link(s, it,
			    similar_repeat_key(
			        r->print.hash, k, similar_str(it, 2 + k)),
			    SIMILAR_BANDS + k);
		else
			it->next[SIMILAR_BANDS + k] = 0;
	}
	return (it->seq);
}

/* Drop the oldest record. */
static void
similar_drop(struct similar *s)
{
	struct similar_item *it = &s->ring[(s->first - 1) % s->max];

	free(it->str);
	it->str = NULL;
	s->first++;
}

/*
 * Drop the records older than ts (ms).  Records leave in sequence order,
 * so one older than ts behind a newer one (another daemon's clock a little
 * behind) waits for it; queries never count it, as they look at ts.
 */
void
similar_expire(struct similar *s, long long ts)
{
	while (s->first < s->next && similar_at(s, s->first)->ts < ts)
		similar_drop(s);
}

static void
similar_set_init(struct similar_set *set)
{
	memset(set->str, 0, sizeof set->str);
}

/*
 * Look for a string in the set and, with add, add it when missing; returns
 * 1 if it was missing.  A query adds at most SIMILAR_COUNT_MAX + 1
 * strings, so the set never fills.
 */
static int
similar_set_add(struct similar_set *set, const char *str, uint64_t h, int add)
{
	size_t i = h & (SIMILAR_SET_SLOTS - 1);

	while (set->str[i] != NULL) {
		if (set->h[i] == h && strcmp(set->str[i], str) == 0)
			return (0);
		i = (i + 1) & (SIMILAR_SET_SLOTS - 1);
	}
	if (add) {
		set->str[i] = str;
		set->h[i] = h;
	}
	return (1);
}

/*
 * Count the distinct comment ids other than me's among the records before
 * before_seq, not older than from_ts, with me's text and me's value of the
 * field per ("" never matches).  The same comment added twice (delivered
 * again) counts once.  Stops at SIMILAR_COUNT_MAX.
 */
long long
similar_repeats(const struct similar *s, uint64_t before, long long from,
    const struct similar_rec *me, enum rules_per per)
{
	const struct similar_item *it;
	struct similar_set set;
	const char *v, *id = me->id != NULL ? me->id : "";
	unsigned chain, k = (unsigned)per, visits = 0;
	long long n = 0;

	if (k > 2 || (v = me->per[k]) == NULL || *v == '\0' ||
	    me->print.hash == 0)
		return (0);
	similar_set_init(&set);
	similar_set_add(&set, id, similar_hash(id, strlen(id)), 1);
	it = similar_head(s, similar_repeat_key(me->print.hash, k, v), &chain);
	for (; it != NULL && visits < SIMILAR_VISITS;
	     it = similar_next(s, it, &chain), visits++) {
		if (chain != SIMILAR_BANDS + k || it->seq >= before ||
		    it->ts < from || it->print.hash != me->print.hash ||
		    strcmp(similar_str(it, 2 + k), v) != 0)
			continue;
		if (similar_set_add(&set, similar_str(it, 0), it->idh, 1) &&
		    ++n == SIMILAR_COUNT_MAX)
			break;
	}
	return (n);
}

/*
 * The sequence number of the first record of me's comment (its id) with
 * me's text, or 0 if there is none: a comment judged again is compared
 * with what came before it the first time.  Every record is on band 0's
 * chain of its signature, so the walk finds it, unless SIMILAR_VISITS
 * newer records of that bucket hide it: then the oldest one found.
 */
uint64_t
similar_first(const struct similar *s, const struct similar_rec *me)
{
	const struct similar_item *it;
	const char *id = me->id != NULL ? me->id : "";
	uint64_t h = similar_hash(id, strlen(id)), first = 0;
	unsigned chain, visits = 0;

	it = similar_head(s, similar_band_key(&me->print, 0), &chain);
	for (; it != NULL && visits < SIMILAR_VISITS;
	     it = similar_next(s, it, &chain), visits++) {
		if (chain == 0 && it->idh == h &&
		    strcmp(similar_str(it, 0), id) == 0)
			first = it->seq;
	}
	return (first);
}

/* The number of equal values of two signatures. */
static int
similar_equal(const uint8_t *a, const uint8_t *b)
{
	int i, n = 0;

	for (i = 0; i < RULES_SIG; i++)
		n += a[i] == b[i];
	return (n);
}

/* Tell whether a band before b already made it a candidate. */
static int
similar_seen(
    const struct similar_item *it, const struct rules_print *p, unsigned b)
{
	unsigned i;

	for (i = 0; i < b; i++) {
		if (memcmp(it->print.sig + i * SIMILAR_ROWS,
		        p->sig + i * SIMILAR_ROWS,
		        SIMILAR_ROWS * sizeof *p->sig) == 0)
			return (1);
	}
	return (0);
}

/*
 * Walk band b's bucket, adding to the set the authors of the candidates
 * alike enough; returns the count n, now with them.
 */
static long long
similar_band(const struct similar *s, unsigned b, const struct similar_query *q,
    struct similar_set *set, long long n)
{
	const struct rules_print *p = &q->me->print;
	const struct similar_item *it;
	const char *id = q->me->id != NULL ? q->me->id : "";
	unsigned chain, visits = 0;

	it = similar_head(s, similar_band_key(p, b), &chain);
	for (; it != NULL && visits < SIMILAR_VISITS && n < q->need;
	     it = similar_next(s, it, &chain), visits++) {
		if (chain != b || it->seq >= q->before || it->ts < q->from ||
		    memcmp(it->print.sig + b * SIMILAR_ROWS,
		        p->sig + b * SIMILAR_ROWS,
		        SIMILAR_ROWS * sizeof *p->sig) != 0 ||
		    similar_seen(it, p, b))
			continue;
		if (!similar_set_add(set, similar_str(it, 1), it->whoh, 0) ||
		    strcmp(similar_str(it, 0), id) == 0 ||
		    similar_equal(it->print.sig, p->sig) < q->equal)
			continue;
		similar_set_add(set, similar_str(it, 1), it->whoh, 1);
		n++;
	}
	return (n);
}

/*
 * Count the authors of me's text: 1 (me) and the distinct others ("who")
 * of the records before before_seq, not older than from_ts and not of
 * me's id, whose signatures share at least similarity of their values
 * with me's.  Stops once the count reaches need (at most
 * SIMILAR_COUNT_MAX): a campaign of thousands costs no more than one of
 * need.  A text without words has no others.
 */
long long
similar_authors(const struct similar *s, uint64_t before, long long from,
    const struct similar_rec *me, double similarity, long long need)
{
	struct similar_query q;
	struct similar_set set;
	const char *who = me->who != NULL ? me->who : "";
	long long n = 1;
	unsigned b;
	double e;

	if (me->print.words == 0)
		return (n);
	q.me = me;
	q.before = before;
	q.from = from;
	q.need = need < SIMILAR_COUNT_MAX ? need : SIMILAR_COUNT_MAX;
	e = ceil(similarity * RULES_SIG - 1e-9); /* 0.5 is 32 values, not 33 */
	q.equal = e < 1 ? 1 : e > RULES_SIG ? RULES_SIG : (int)e;
	similar_set_init(&set);
	similar_set_add(&set, who, similar_hash(who, strlen(who)), 1);
	for (b = 0; b < SIMILAR_BANDS && n < q.need; b++)
		n = similar_band(s, b, &q, &set, n);
	return (n);
}

/* Store the low bytes bytes of v, little-endian. */
static void
similar_put(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Load bytes bytes, little-endian. */
static uint64_t
similar_get(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return (v);
}

/*
 * Pack a record: version, ts, hash, words, signature (a byte a value),
 * then id, who, author, ip and thread, each as a 2-byte length and its
 * bytes; all little-endian.  Returns the bytes needed and writes them only if cap
 * suffices; 0 when a string is longer than SIMILAR_STR_MAX.
 */
size_t
similar_pack(const struct similar_rec *r, char *buf, size_t cap)
{
	const char *str[SIMILAR_NSTR];
	size_t len[SIMILAR_NSTR], need = SIMILAR_FIXED, i;
	unsigned char *p = (unsigned char *)buf;

	similar_strings(r, str);
	for (i = 0; i < SIMILAR_NSTR; i++) {
		if ((len[i] = strlen(str[i])) > SIMILAR_STR_MAX)
			return (0);
		need += 2 + len[i];
	}
	if (buf == NULL || cap < need)
		return (need);
	p[0] = SIMILAR_VERSION;
	similar_put(p + 1, (uint64_t)r->ts, 8);
	similar_put(p + 9, r->print.hash, 8);
	similar_put(p + 17, r->print.words, 4);
	memcpy(p + 21, r->print.sig, RULES_SIG);
	for (i = 0, p += SIMILAR_FIXED; i < SIMILAR_NSTR; i++) {
		similar_put(p, len[i], 2);
		memcpy(p + 2, str[i], len[i]);
		p += 2 + len[i];
	}
	return (need);
}

/*
 * Unpack what similar_pack() wrote into r, its strings copied into
 * r->store; returns -1, r's contents undefined, on anything else: another
 * version, a length past the end or over SIMILAR_STR_MAX, a NUL inside a
 * string, bytes left over, an empty id or who, or a hash and a word count
 * of which one is 0 and the other not.  Never reads past len.
 */
int
similar_unpack(const char *buf, size_t len, struct similar_rec *r)
{
	const unsigned char *p = (const unsigned char *)buf;
	const char **to[SIMILAR_NSTR] = {
	    &r->id, &r->who, &r->per[0], &r->per[1], &r->per[2]};
	char *dst = r->store;
	size_t off = SIMILAR_FIXED, n, i;

	if (buf == NULL || len < SIMILAR_FIXED || p[0] != SIMILAR_VERSION)
		return (-1);
	r->ts = (long long)similar_get(p + 1, 8);
	r->print.hash = similar_get(p + 9, 8);
	r->print.words = (uint32_t)similar_get(p + 17, 4);
	if ((r->print.hash == 0) != (r->print.words == 0))
		return (-1);
	memcpy(r->print.sig, p + 21, RULES_SIG);
	for (i = 0; i < SIMILAR_NSTR; i++) {
		if (len - off < 2)
			return (-1);
		n = (size_t)similar_get(p + off, 2);
		off += 2;
		if (n > SIMILAR_STR_MAX || n > len - off ||
		    memchr(p + off, '\0', n) != NULL)
			return (-1);
		memcpy(dst, p + off, n);
		dst[n] = '\0';
		*to[i] = dst;
		dst += n + 1;
		off += n;
	}
	if (off != len || *r->id == '\0' || *r->who == '\0')
		return (-1);
	return (0);
}
