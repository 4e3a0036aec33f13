/*
 * check-tables spot-checks the generated tables in rules/confusables.inc and
 * rules/entities.inc, through the code that searches them, after they are
 * regenerated. It is not part of the build:
 *
 *	gcc -std=gnu11 -O2 -Wall -Wextra -Iinclude -Irules \
 *	    tools/check-tables.c rules/confusables.c rules/entities.c \
 *	    -o /tmp/check-tables &&
 *	    /tmp/check-tables
 *
 * It prints each failure and exits 1 if there was one.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rules_int.h"

struct check_latin {
	uint32_t cp;
	uint32_t latin; /* 0: must not be mapped */
};

struct check_entity {
	const char *name;
	size_t len; /* 0: strlen(name) */
	int n; /* 0: must be unknown */
	uint32_t cp[2];
};

static int check_confusables(void);
static int check_entities(void);

static const struct check_latin check_latin_table[] = {
    /* Cyrillic, including the look-alikes of capitals. */
    {0x0430, 'a'},
    {0x0435, 'e'},
    {0x043e, 'o'},
    {0x0440, 'p'},
    {0x0441, 'c'},
    {0x0443, 'y'},
    {0x0445, 'x'},
    {0x0456, 'i'},
    {0x0455, 's'},
    {0x0458, 'j'},
    {0x043a, 'k'},
    {0x043c, 'm'},
    {0x043d, 'h'},
    {0x0442, 't'},
    {0x0432, 'b'},
    /* Greek. */
    {0x03b1, 'a'},
    {0x03bf, 'o'},
    {0x03c1, 'p'},
    {0x03b9, 'i'},
    {0x03ba, 'k'},
    {0x03bd, 'v'},
    {0x03c4, 't'},
    {0x03c5, 'u'},
    /* Latin small capitals. */
    {0x029c, 'h'},
    {0x026a, 'i'},
    {0x1d1b, 't'},
    {0x1d00, 'a'},
    {0x0299, 'b'},
    {0x1d04, 'c'},
    {0x1d05, 'd'},
    {0x1d07, 'e'},
    {0x0262, 'g'},
    {0x1d0a, 'j'},
    {0x1d0b, 'k'},
    {0x029f, 'l'},
    {0x1d0d, 'm'},
    {0x0274, 'n'},
    {0x1d0f, 'o'},
    {0x1d18, 'p'},
    {0x0280, 'r'},
    {0xa731, 's'},
    {0x1d1c, 'u'},
    {0x1d20, 'v'},
    {0x1d21, 'w'},
    {0x028f, 'y'},
    {0x1d22, 'z'},
    /* Other Latin letters. */
    {0x0131, 'i'},
    {0x0251, 'a'},
    {0x0237, 'j'},
    {0x00f8, 'o'},
    /* Armenian; Cherokee, which case folding turns into capitals. */
    {0x0585, 'o'},
    {0x057d, 'u'},
    {0x0570, 'h'},
    {0x13aa, 'a'},
    {0x13ac, 'e'},
    {0x13b3, 'w'},
    /* Not letters, not look-alikes, or looking like a digit. */
    {0x0660, 0},
    {0x0966, 0},
    {0xff10, 0},
    {0x1d7ce, 0},
    {0x00df, 0},
    {0x03c9, 0},
    {0x0431, 0},
    {0x2160, 0},
    {0x110000, 0},
    {0xffffffff, 0},
};

static const struct check_entity check_entity_table[] = {
    {"amp", 0, 1, {0x26, 0}},
    {"AMP", 0, 1, {0x26, 0}},
    {"lt", 0, 1, {0x3c, 0}},
    {"quot", 0, 1, {0x22, 0}},
    {"apos", 0, 1, {0x27, 0}},
    {"nbsp", 0, 1, {0xa0, 0}},
    {"eacute", 0, 1, {0xe9, 0}},
    {"Eacute", 0, 1, {0xc9, 0}},
    {"AElig", 0, 1, {0xc6, 0}},
    {"zwnj", 0, 1, {0x200c, 0}},
    {"Afr", 0, 1, {0x1d504, 0}},
    {"NotEqualTilde", 0, 2, {0x2242, 0x0338}},
    {"fjlig", 0, 2, {0x66, 0x6a}},
    {"CounterClockwiseContourIntegral", 0, 1, {0x2233, 0}},
    {"ampersand", 3, 1, {0x26, 0}},
    {"Amp", 0, 0, {0, 0}},
    {"amp;", 0, 0, {0, 0}},
    {"am", 0, 0, {0, 0}},
    {"ampx", 0, 0, {0, 0}},
    {"", 0, 0, {0, 0}},
    {"CounterClockwiseContourIntegralX", 0, 0, {0, 0}},
};

/* Check the listed mappings and that ASCII and results stay in range. */
static int
check_confusables(void)
{
	const struct check_latin *c;
	uint32_t cp, latin;
	size_t i;
	int bad = 0, mapped = 0;

	for (i = 0; i < sizeof(check_latin_table) / sizeof(*c); i++) {
		c = &check_latin_table[i];
		if ((latin = confusables_latin(c->cp)) != c->latin) {
			printf("confusables_latin(U+%04X) = %u, want %u\n",
			    (unsigned)c->cp, (unsigned)latin,
			    (unsigned)c->latin);
			bad = 1;
		}
	}
	for (cp = 0; cp < 0x110000; cp++) {
		if ((latin = confusables_latin(cp)) == 0)
			continue;
		mapped++;
		if (cp < 0x80 || latin < 'a' || latin > 'z') {
			printf("confusables_latin(U+%04X) = %u\n", (unsigned)cp,
			    (unsigned)latin);
			bad = 1;
		}
	}
	printf("confusables: %d code points mapped\n", mapped);
	return (bad);
}

/* Check the listed entities, found and unknown. */
static int
check_entities(void)
{
	const struct check_entity *c;
	uint32_t out[2];
	size_t i, len;
	int bad = 0, n;

	for (i = 0; i < sizeof(check_entity_table) / sizeof(*c); i++) {
		c = &check_entity_table[i];
		len = c->len != 0 ? c->len : strlen(c->name);
		out[0] = out[1] = 0;
		n = entities_lookup(c->name, len, out);
		if (n != c->n || (n > 0 && out[0] != c->cp[0]) ||
		    (n > 1 && out[1] != c->cp[1])) {
			printf(
			    "entities_lookup(\"%.*s\") = %d {U+%04X U+%04X}, "
			    "want %d\n",
			    (int)len, c->name, n, (unsigned)out[0],
			    (unsigned)out[1], c->n);
			bad = 1;
		}
	}
	printf("entities: %zu lookups checked\n", i);
	return (bad);
}

int
main(void)
{
	int bad;

	bad = check_confusables();
	bad |= check_entities();
	printf("%s\n", bad ? "FAILED" : "ok");
	return (bad);
}
