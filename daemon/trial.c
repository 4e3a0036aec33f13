/*
 * trial.c -- judging without the daemon, for an operator who tries rules
 * before trusting them: the context-free judgement of one text that -e
 * prints, and the line reader of -e - whose lines have a bounded length.
 */
#include <stdio.h>
#include <string.h>

#include "modqd.h"

/*
 * Judge one text as an anonymous comment with no history would be judged:
 * no author, ip or thread, so rate, repeats, campaigns, author and thread
 * rules, which need Redis, never fire.  Fill m and d for the caller to
 * free; on -1 (the matcher failed) there is nothing to free.
 */
int
trial_judge(struct ruleset *rs, const char *text, size_t len,
    struct rules_match *m, struct rules_decision *d)
{
	struct rules_ctx ctx;
	size_t i;

	if (rules_match_text(rs, text, len, m) == -1)
		return (-1);
	memset(&ctx, 0, sizeof ctx);
	for (i = 0; i < RULES_MAX_RATES; i++)
		ctx.rate[i] = -1;
	for (i = 0; i < RULES_MAX_CONTENT; i++)
		ctx.repeat[i] = ctx.campaign[i] = -1;
	rules_decide(rs, m, &ctx, d);
	return (0);
}

/*
 * Read one line of f, without its newline, into buf (max + 1 bytes): set
 * *len to the bytes kept and *total to the line's length.  A line longer
 * than max is read to its end but only its first max bytes are kept, so
 * memory stays bounded whatever the input.  Return 0, or -1 at the end
 * of the input or on an error (ferror() tells).
 */
int
trial_getline(FILE *f, char *buf, size_t max, size_t *len, size_t *total)
{
	int ch;

	*len = *total = 0;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if ((*total)++ < max)
			buf[(*len)++] = (char)ch;
	}
	if (ch == EOF && *total == 0)
		return (-1);
	return (0);
}
