/*
 * test_similar.c -- unit tests of rules/similar.c: prints, the exact
 * counts of repeats and campaign authors (per field, windows, sequence
 * numbers, redelivery, early stop, expiry, ring overflow) and the packed
 * record, valid and garbage.  Links build/librules.a alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules_int.h"

#define T0 1700000000000LL /* ms */

/* Fill a record; text is normalised text (tokens between spaces). */
static void
rec(struct similar_rec *r, long long ts, const char *id, const char *who,
    const char *ip, const char *thread, const char *text)
{
	memset(r, 0, sizeof *r);
	r->ts = ts;
	r->id = id;
	r->who = who;
	r->per[RULES_PER_AUTHOR] = who[0] == 'i' && who[1] == 'p' ? "" : who;
	r->per[RULES_PER_IP] = ip;
	r->per[RULES_PER_THREAD] = thread;
	similar_print(text, strlen(text), &r->print);
}

/* Add a record; returns its sequence number. */
static uint64_t
add(struct similar *s, long long ts, const char *id, const char *who,
    const char *ip, const char *thread, const char *text)
{
	struct similar_rec r;

	rec(&r, ts, id, who, ip, thread, text);
	return (similar_add(s, &r));
}

static const char *campaign =
    " buy cheap watches now at our store best prices in town today ";
static const char *campaign2 =
    " buy cheap watches now at our shop best prices in town today ";
static const char *other =
    " the match last night was great and the referee did fine ";

static void
test_print(void **state)
{
	struct rules_print a, b, c;

	(void)state;
	similar_print("", 0, &a);
	assert_int_equal(a.hash, 0);
	assert_int_equal(a.words, 0);
	similar_print("   ", 3, &a);
	assert_int_equal(a.hash, 0);
	similar_print(" b c b ", 7, &a);
	assert_int_equal(a.words, 2);
	assert_int_not_equal(a.hash, 0);
	similar_print("b  c b", 6, &b); /* spaces are only separators */
	assert_memory_equal(&a, &b, sizeof a);
	similar_print(" c b ", 5, &c); /* same words, other order */
	assert_int_not_equal(a.hash, c.hash);
	assert_memory_equal(a.sig, c.sig, sizeof a.sig);
	similar_print(campaign, strlen(campaign), &a);
	similar_print(campaign, strlen(campaign), &b);
	assert_memory_equal(&a, &b, sizeof a);
	assert_int_equal(a.words, 9); /* not "at", "our", "in" */
	similar_print(other, strlen(other), &c);
	assert_int_not_equal(a.hash, c.hash);
	assert_memory_not_equal(a.sig, c.sig, sizeof a.sig);
}

/*
 * Function words are left out of the signature and the word count, but
 * not out of the hash; negations stay; text of function words alone is
 * printed whole.
 */
static void
test_print_stopwords(void **state)
{
	struct rules_print a, b;

	(void)state;
	similar_print(" the cat is on the mat ", 23, &a);
	similar_print(" a cat and a mat ", 17, &b);
	assert_int_equal(a.words, 2);
	assert_memory_equal(a.sig, b.sig, sizeof a.sig);
	assert_int_not_equal(a.hash, b.hash);
	similar_print(" cat not on mat ", 16, &b);
	assert_int_equal(b.words, 3);
	assert_memory_not_equal(a.sig, b.sig, sizeof a.sig);
	similar_print(" it is what it is ", 18, &a);
	assert_int_equal(a.words, 3);
	assert_int_not_equal(a.hash, 0);
	similar_print(" it was what it was ", 20, &b);
	assert_memory_not_equal(a.sig, b.sig, sizeof a.sig);
	/* Another language keeps its words but "in"; whole tokens only. */
	similar_print(" der hund ist in dem haus ", 26, &a);
	assert_int_equal(a.words, 5);
	similar_print(" thee tot ", 10, &a);
	assert_int_equal(a.words, 2);
}

/* Fixed seeds: a print is the same in every process and on every machine. */
static void
test_print_stable(void **state)
{
	static const uint8_t want[4] = {0xf2, 0xc8, 0x09, 0x53};
	struct rules_print a;

	(void)state;
	similar_print(" so true ", 9, &a); /* "so" is a function word */
	assert_int_equal(a.words, 1);
	assert_int_equal(a.hash, 0x8d107f2254ac128dULL);
	assert_memory_equal(a.sig, want, sizeof want);
	assert_int_equal(a.sig[RULES_SIG - 1], 0x6e);
}

static void
test_repeats_per(void **state)
{
	struct similar *s = similar_new(100);
	struct similar_rec me;
	uint64_t seq;

	(void)state;
	add(s, T0, "c1", "alice", "10.0.0.1", "t1", " hello there ");
	add(s, T0 + 1, "c2", "alice", "10.0.0.2", "t2", " hello there ");
	add(s, T0 + 2, "c3", "bob", "10.0.0.1", "t2", " hello there ");
	add(s, T0 + 3, "c4", "bob", "10.0.0.1", "t1", " hello world ");
	rec(&me, T0 + 4, "c5", "alice", "10.0.0.1", "t1", " hello there ");
	seq = similar_add(s, &me);
	assert_int_equal(seq, 5);
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_AUTHOR), 2);
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_IP), 2);
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_THREAD), 1);
	/* The window, and only records before me's own. */
	assert_int_equal(
	    similar_repeats(s, seq, T0 + 1, &me, RULES_PER_AUTHOR), 1);
	assert_int_equal(similar_repeats(s, 2, T0, &me, RULES_PER_AUTHOR), 1);
	assert_int_equal(similar_repeats(s, 1, T0, &me, RULES_PER_AUTHOR), 0);
	similar_free(s);
}

static void
test_repeats_empty(void **state)
{
	struct similar *s = similar_new(100);
	struct similar_rec me;
	uint64_t seq;

	(void)state;
	add(s, T0, "c1", "ip:10.0.0.1", "10.0.0.1", "", " hello ");
	add(s, T0, "c2", "ip:10.0.0.1", "10.0.0.1", "", " hello ");
	rec(&me, T0, "c3", "ip:10.0.0.1", "10.0.0.1", "", " hello ");
	seq = similar_add(s, &me);
	/* No author, no thread: "" never matches, and me's "" asks nothing. */
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_AUTHOR), 0);
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_THREAD), 0);
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_IP), 2);
	rec(&me, T0, "c4", "ip:10.0.0.1", "10.0.0.1", "", "  ");
	seq = similar_add(s, &me); /* no words: no repeats */
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_IP), 0);
	similar_free(s);
}

static void
test_repeats_redelivery(void **state)
{
	struct similar *s = similar_new(100);
	struct similar_rec me;
	uint64_t seq;

	(void)state;
	add(s, T0, "c1", "alice", "", "", " spam spam ");
	add(s, T0, "c1", "alice", "", "", " spam spam "); /* again */
	add(s, T0 + 5, "c2", "alice", "", "", " spam spam ");
	rec(&me, T0 + 9, "c3", "alice", "", "", " spam spam ");
	seq = similar_add(s, &me);
	similar_add(s, &me); /* c3 itself delivered again */
	assert_int_equal(similar_repeats(s, seq, T0, &me, RULES_PER_AUTHOR), 2);
	assert_int_equal(
	    similar_repeats(s, seq + 1, T0, &me, RULES_PER_AUTHOR), 2);
	similar_free(s);
}

static void
test_authors(void **state)
{
	struct similar *s = similar_new(100);
	struct similar_rec me;
	uint64_t seq;

	(void)state;
	add(s, T0, "c1", "a1", "", "", campaign);
	add(s, T0, "c2", "a1", "", "", campaign2); /* a1 again */
	add(s, T0, "c3", "a2", "", "", campaign2);
	add(s, T0, "c4", "a3", "", "", other);
	add(s, T0, "c5", "a4", "", "", campaign);
	rec(&me, T0, "c6", "a5", "", "", campaign);
	seq = similar_add(s, &me);
	assert_int_equal(similar_authors(s, seq, T0, &me, 0.5, 100), 4);
	assert_int_equal(similar_authors(s, 4, T0, &me, 0.5, 100), 3);
	assert_int_equal(similar_authors(s, 2, T0, &me, 0.5, 100), 2);
	assert_int_equal(similar_authors(s, 1, T0, &me, 0.5, 100), 1);
	/* Early stop: the count reaches need and no more. */
	assert_int_equal(similar_authors(s, seq, T0, &me, 0.5, 3), 3);
	assert_int_equal(similar_authors(s, seq, T0, &me, 0.5, 1), 1);
	/* Identical copies only. */
	assert_int_equal(similar_authors(s, seq, T0, &me, 1.0, 100), 3);
	/* The window. */
	assert_int_equal(similar_authors(s, seq, T0 + 1, &me, 0.5, 100), 1);
	similar_free(s);
}

static void
test_authors_redelivery(void **state)
{
	struct similar *s = similar_new(100);
	struct similar_rec me;
	uint64_t seq;

	(void)state;
	add(s, T0, "c1", "a1", "", "", campaign);
	add(s, T0, "c1", "a1", "", "", campaign);
	/* Me's own earlier copy, under another "who", never counts. */
	add(s, T0, "c9", "ip:1.2.3.4", "", "", campaign);
	rec(&me, T0, "c9", "a9", "", "", campaign);
	seq = similar_add(s, &me);
	assert_int_equal(similar_authors(s, seq, T0, &me, 0.5, 100), 2);
	/* Me's author's other comments do not count either. */
	add(s, T0, "c10", "a9", "", "", campaign);
	assert_int_equal(similar_authors(s, seq + 2, T0, &me, 0.5, 100), 2);
	/* A text without words has no others. */
	rec(&me, T0, "c11", "a11", "", "", " ");
	assert_int_equal(
	    similar_authors(s, similar_add(s, &me), T0, &me, 0.0, 100), 1);
	similar_free(s);
}

/* A campaign of many copies: the count stops at need, and is exact. */
static void
test_authors_many(void **state)
{
	struct similar *s = similar_new(10000);
	struct similar_rec me;
	char id[32], who[32];
	uint64_t seq;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "c%d", i);
		snprintf(who, sizeof who, "a%d", i % 50);
		add(s, T0 + i, id, who, "", "", i % 2 ? campaign : other);
	}
	rec(&me, T0 + i, "me", "a-me", "", "", campaign);
	seq = similar_add(s, &me);
	assert_int_equal(similar_authors(s, seq, T0, &me, 0.5, 3), 3);
	assert_int_equal(similar_authors(s, seq, T0, &me, 0.5, 1000), 26);
	similar_free(s);
}

static void
test_expire(void **state)
{
	struct similar *s = similar_new(100);
	struct similar_rec me;
	uint64_t seq;

	(void)state;
	add(s, T0, "c1", "a1", "", "t", campaign);
	add(s, T0 + 10, "c2", "a2", "", "t", campaign);
	add(s, T0 + 20, "c3", "a3", "", "t", campaign);
	assert_int_equal(similar_size(s), 3);
	similar_expire(s, T0 + 10);
	assert_int_equal(similar_size(s), 2);
	rec(&me, T0 + 30, "c4", "a4", "", "t", campaign);
	seq = similar_add(s, &me);
	assert_int_equal(similar_authors(s, seq, 0, &me, 0.5, 100), 3);
	assert_int_equal(similar_repeats(s, seq, 0, &me, RULES_PER_THREAD), 2);
	similar_expire(s, T0 + 1000);
	assert_int_equal(similar_size(s), 0);
	assert_int_equal(similar_authors(s, seq + 1, 0, &me, 0.5, 100), 1);
	assert_int_equal(
	    similar_repeats(s, seq + 1, 0, &me, RULES_PER_THREAD), 0);
	/* Sequence numbers go on after the index empties. */
	assert_int_equal(similar_add(s, &me), seq + 1);
	similar_free(s);
}

static void
test_ring(void **state)
{
	struct similar *s = similar_new(3);
	struct similar_rec me;
	char id[32], who[32];
	uint64_t seq;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "c%d", i);
		snprintf(who, sizeof who, "a%d", i);
		add(s, T0, id, who, "", "t", campaign);
	}
	assert_int_equal(similar_size(s), 3);
	rec(&me, T0, "me", "me", "", "t", campaign);
	seq = similar_add(s, &me); /* drops c2 */
	assert_int_equal(seq, 6);
	assert_int_equal(similar_size(s), 3);
	assert_int_equal(similar_authors(s, seq, 0, &me, 0.5, 100), 3);
	assert_int_equal(similar_repeats(s, seq, 0, &me, RULES_PER_THREAD), 2);
	/* Many laps round the ring: old links never lead astray. */
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "d%d", i);
		add(s, T0, id, i % 2 ? "x" : "y", "", "t",
		    i % 3 ? other : campaign);
	}
	assert_int_equal(similar_size(s), 3);
	similar_free(s);
	similar_free(NULL);
}

/* Pack a record into buf; returns its length. */
static size_t
pack(const struct similar_rec *r, char *buf, size_t cap)
{
	size_t n = similar_pack(r, buf, cap);

	assert_true(n > 0 && n <= cap);
	return (n);
}

static void
test_pack(void **state)
{
	struct similar_rec r, u;
	char buf[2048], small[8];
	size_t n;

	(void)state;
	rec(&r, -5, "c1", "alice", "10.0.0.1", "thread-9", campaign);
	n = pack(&r, buf, sizeof buf);
	assert_int_equal(n, 149 + 10 + 2 + 5 + 5 + 8 + 8);
	assert_int_equal(similar_unpack(buf, n, &u), 0);
	assert_int_equal(u.ts, -5);
	assert_string_equal(u.id, "c1");
	assert_string_equal(u.who, "alice");
	assert_string_equal(u.per[0], "alice");
	assert_string_equal(u.per[1], "10.0.0.1");
	assert_string_equal(u.per[2], "thread-9");
	assert_int_equal(u.print.hash, r.print.hash);
	assert_int_equal(u.print.words, r.print.words);
	assert_memory_equal(u.print.sig, r.print.sig, sizeof r.print.sig);
	/* Like snprintf: the size, and nothing written when it does not fit. */
	memset(small, 'x', sizeof small);
	assert_int_equal(similar_pack(&r, small, sizeof small), n);
	assert_int_equal(similar_pack(&r, NULL, 0), n);
	assert_memory_equal(small, "xxxxxxxx", sizeof small);
	/* NULL strings pack as "". */
	r.per[1] = NULL;
	n = pack(&r, buf, sizeof buf);
	assert_int_equal(similar_unpack(buf, n, &u), 0);
	assert_string_equal(u.per[1], "");
}

static void
test_pack_limits(void **state)
{
	struct similar_rec r, u;
	char buf[2048], big[SIMILAR_STR_MAX + 2];
	size_t n;

	(void)state;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	rec(&r, T0, "c1", "bob", "", big, " x ");
	assert_int_equal(similar_pack(&r, buf, sizeof buf), 0);
	big[SIMILAR_STR_MAX] = '\0';
	n = pack(&r, buf, sizeof buf);
	assert_int_equal(similar_unpack(buf, n, &u), 0);
	assert_int_equal(strlen(u.per[2]), SIMILAR_STR_MAX);
}

/* Check that garbage is refused: every truncation, bad bytes. */
static void
test_unpack_garbage(void **state)
{
	struct similar_rec r, u;
	char buf[2048], *copy;
	size_t n, i;

	(void)state;
	rec(&r, T0, "c1", "alice", "10.0.0.1", "t", campaign);
	n = pack(&r, buf, sizeof buf);
	for (i = 0; i < n; i++) {
		/* An exact-size copy, so ASan sees any read past the end. */
		copy = malloc(i + 1);
		memcpy(copy, buf, i);
		assert_int_equal(similar_unpack(copy, i, &u), -1);
		free(copy);
	}
	assert_int_equal(similar_unpack(NULL, 0, &u), -1);
	buf[n] = 'x'; /* a byte left over */
	assert_int_equal(similar_unpack(buf, n + 1, &u), -1);
	buf[0] = 1; /* another version: 64 values of 2 bytes */
	assert_int_equal(similar_unpack(buf, n, &u), -1);
	buf[0] = 3;
	assert_int_equal(similar_unpack(buf, n, &u), -1);
	buf[0] = 2;
	buf[149] = (char)0xff; /* the id's length: huge */
	buf[150] = (char)0xff;
	assert_int_equal(similar_unpack(buf, n, &u), -1);
	buf[149] = 2;
	buf[150] = 0;
	buf[152] = '\0'; /* a NUL inside the id */
	assert_int_equal(similar_unpack(buf, n, &u), -1);
	buf[152] = '1';
	assert_int_equal(similar_unpack(buf, n, &u), 0);
	buf[149] = 0; /* an empty id */
	memmove(buf + 151, buf + 153, n - 153);
	assert_int_equal(similar_unpack(buf, n - 2, &u), -1);
	n = pack(&r, buf, sizeof buf);
	memset(buf + 9, 0, 8); /* hash 0 with words */
	assert_int_equal(similar_unpack(buf, n, &u), -1);
}

/* Random bytes and random changes to a valid record never crash it. */
static void
test_unpack_random(void **state)
{
	struct similar_rec r, u;
	char buf[2048], *copy;
	uint64_t x = 42;
	size_t n, len, i;
	int k, ok = 0;

	(void)state;
	rec(&r, T0, "c1", "alice", "10.0.0.1", "t", campaign);
	n = pack(&r, buf, sizeof buf);
	for (k = 0; k < 20000; k++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		len = k % 2 ? n : (x >> 33) % 400;
		copy = malloc(len + 1);
		memcpy(copy, buf, len < n ? len : n);
		for (i = n; i < len; i++)
			copy[i] = (char)(x >> (i % 56));
		copy[(x >> 20) % (len + 1)] ^= (char)(x >> 40);
		if (similar_unpack(copy, len, &u) == 0) {
			ok++;
			assert_true(strlen(u.id) <= SIMILAR_STR_MAX);
			assert_true(similar_pack(&u, NULL, 0) == len);
		}
		free(copy);
	}
	assert_true(ok > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_print_stable),
	    cmocka_unit_test(test_print_stopwords),
	    cmocka_unit_test(test_repeats_per),
	    cmocka_unit_test(test_repeats_empty),
	    cmocka_unit_test(test_repeats_redelivery),
	    cmocka_unit_test(test_authors),
	    cmocka_unit_test(test_authors_redelivery),
	    cmocka_unit_test(test_authors_many),
	    cmocka_unit_test(test_expire),
	    cmocka_unit_test(test_ring),
	    cmocka_unit_test(test_pack),
	    cmocka_unit_test(test_pack_limits),
	    cmocka_unit_test(test_unpack_garbage),
	    cmocka_unit_test(test_unpack_random),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
