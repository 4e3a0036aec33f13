/*
 * wait-cost.c -- what WAIT 1 <ms> after each decision transaction would
 * cost: the time of a transaction shaped like one batch's decisions
 * (MULTI, per comment an HSET of its record, an XADD to the decisions
 * stream and an XACK, EXEC), with and without a WAIT 1 after it, against
 * a primary that has one replica.  Prints the median, 90th and 99th
 * percentile in microseconds of each.  tools/wait-cost.sh runs it against
 * a private primary and replica.
 *
 * Usage: wait-cost HOST PORT [ROUNDS [BATCH [WAIT_MS]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* Send one batch's transaction (and WAIT when wait_ms >= 0); read all. */
static int
round_trip(redisContext *c, int round, int batch, long wait_ms)
{
	redisReply *r;
	int i, n = 2 + 3 * batch;

	redisAppendCommand(c, "MULTI");
	for (i = 0; i < batch; i++) {
		redisAppendCommand(c,
		    "HSET wc:c:%d-%d status approved reasons %s matched %s "
		    "decided_by modqd ruleset 0123456789ab stream_id 1-%d "
		    "digest 0123456789abcdef body %s",
		    round, i, "", "", i,
		    "a comment of about the usual length, judged and approved");
		redisAppendCommand(c,
		    "XADD wc:decisions MAXLEN ~ 100000 * id %d-%d status "
		    "approved reasons %s by modqd",
		    round, i, "");
		redisAppendCommand(c, "XACK wc:incoming modqd 1-%d", i);
	}
	redisAppendCommand(c, "EXEC");
	if (wait_ms >= 0) {
		redisAppendCommand(c, "WAIT 1 %ld", wait_ms);
		n++;
	}
	for (i = 0; i < n; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return (-1);
		if (wait_ms >= 0 && i == n - 1 &&
		    (r->type != REDIS_REPLY_INTEGER || r->integer < 1)) {
			fprintf(stderr, "WAIT: no replica acknowledged\n");
			freeReplyObject(r);
			return (-1);
		}
		freeReplyObject(r);
	}
	return (0);
}

/* Print the percentiles of n times under a label. */
static void
report(const char *label, int batch, double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp);
	printf("%-22s batch %4d: p50 %7.0f us  p90 %7.0f us  p99 %7.0f us\n",
	    label, batch, t[n / 2], t[n * 9 / 10], t[n * 99 / 100]);
}

/*
 * Time rounds transactions without and with the WAIT, one of each in
 * turn, so that a noisy moment weighs on both alike.
 */
static int
measure(redisContext *c, int rounds, int batch, long wait_ms)
{
	double *t[2], t0;
	char label[64];
	int i, k;

	t[0] = calloc((size_t)rounds, sizeof *t[0]);
	t[1] = calloc((size_t)rounds, sizeof *t[1]);
	if (t[0] == NULL || t[1] == NULL)
		return (-1);
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < 2; k++) {
			t0 = now_us();
			if (round_trip(c, i * 2 + k, batch,
			        k == 0 ? -1 : wait_ms) == -1)
				return (-1);
			t[k][i] = now_us() - t0;
		}
	}
	report("EXEC", batch, t[0], rounds);
	snprintf(label, sizeof label, "EXEC + WAIT 1 %ld", wait_ms);
	report(label, batch, t[1], rounds);
	free(t[0]);
	free(t[1]);
	return (0);
}

int
main(int argc, char **argv)
{
	redisContext *c;
	int rounds, batch;
	long wait_ms;

	if (argc < 3) {
		fprintf(stderr,
		    "usage: wait-cost HOST PORT [ROUNDS [BATCH "
		    "[WAIT_MS]]]\n");
		return (2);
	}
	rounds = argc > 3 ? atoi(argv[3]) : 2000;
	batch = argc > 4 ? atoi(argv[4]) : 64;
	wait_ms = argc > 5 ? atol(argv[5]) : 1000;
	if ((c = redisConnect(argv[1], atoi(argv[2]))) == NULL || c->err) {
		fprintf(stderr, "cannot connect\n");
		return (1);
	}
	if (measure(c, rounds, batch, wait_ms) == -1)
		return (1);
	redisFree(c);
	return (0);
}
