/*
 * replay.c -- runs a libFuzzer harness over files without libFuzzer, so
 * make check can replay the seeds and every regression input with gcc (and
 * under ASan in its second pass) on machines without clang.  Each file is
 * read whole and passed once to LLVMFuzzerTestOneInput(); a harness that
 * finds a broken invariant aborts, which fails the run.
 *
 * usage: replay_TARGET file ...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Read a whole file; returns its bytes (allocated) and length. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0, n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	*len = 0;
	do {
		if (*len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((buf = realloc(buf, cap)) == NULL) {
				perror("realloc");
				exit(1);
			}
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f)) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return (buf);
}

int
main(int argc, char **argv)
{
	uint8_t *data;
	size_t len;
	int i;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		data = replay_read(argv[i], &len);
		LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	printf("%s: %d inputs replayed\n", argv[0], argc - 1);
	return (0);
}
