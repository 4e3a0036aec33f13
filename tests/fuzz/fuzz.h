/*
 * fuzz.h -- what the fuzz harnesses that need files share: a private
 * directory and whole-file writes.  Any failure ends the run, since a
 * harness without its files would only report false findings.
 */
#ifndef MODQ_FUZZ_H
#define MODQ_FUZZ_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Make the private directory from the template dir (mkdtemp). */
static void
fuzz_mkdtemp(char *dir)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

/* Write len bytes to path, replacing it. */
static void
fuzz_write(const char *path, const void *p, size_t len)
{
	ssize_t w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(path);
		abort();
	}
	while (len > 0) {
		if ((w = write(fd, p, len)) <= 0) {
			perror(path);
			abort();
		}
		p = (const char *)p + w;
		len -= (size_t)w;
	}
	close(fd);
}

#endif
