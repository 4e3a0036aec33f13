/*
 * notify-listen.c -- a stand-in for systemd's notification socket in tests:
 * binds a unix datagram socket at PATH and prints each message it receives
 * (newlines inside a message become spaces), one a line, until SECONDS pass.
 *
 * usage: notify-listen PATH SECONDS
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	struct timespec start, now;
	char buf[4096];
	ssize_t n, i;
	long secs;
	int fd;

	if (argc != 3 || (secs = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: notify-listen path seconds\n");
		return (2);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "notify-listen: path too long\n");
		return (2);
	}
	strcpy(sun.sun_path, argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "notify-listen: %s: %s\n", argv[1],
		    strerror(errno));
		return (1);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= secs)
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof buf - 1, 0)) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		buf[n] = '\0';
		printf("%s\n", buf);
	}
	close(fd);
	unlink(argv[1]);
	return (0);
}
