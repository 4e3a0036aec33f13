/*
 * cluster.c -- Redis Cluster, in the few pieces modqd needs (Debian's
 * hiredis 0.14 knows nothing of clusters, and modqd needs no general
 * client: all keys of a site are in one hash slot, redis.prefix's hash
 * tag, so all its connections go to one node, that slot's primary).
 *
 * At every (re)connect redis.c asks cluster_locate() where to go: it asks
 * a node CLUSTER SLOTS (the node a MOVED reply named, then the primaries
 * the last answer listed, then the seed of the config, until one
 * answers), finds the primary of the site's slot in the answer, and loads
 * the Functions library on every other primary with short-lived
 * connections, so that a slot migrated there later finds it (redis.c
 * loads it on the slot's primary in its handshake).  When a reply is
 * -MOVED, redis.c hands it to cluster_moved(), which keeps the node it
 * names for the next cluster_locate(), and reconnects.
 *
 * Everything here is synchronous, on connections of its own, each bounded
 * by redis.timeout_ms from the start of the step.  A node's replies are
 * hostile input: read within CLUSTER_REPLY_BYTES bytes and
 * CLUSTER_REPLY_OBJECTS objects, their types and ranges checked before
 * use.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "modqd.h"
#include "xmalloc.h"

#define CLUSTER_SLOTS 16384
#define CLUSTER_HOST_MAX 255 /* bytes of a host name */
#define CLUSTER_NODES_MAX 256 /* primaries remembered and loaded */
#define CLUSTER_REPLY_BYTES (4 * 1024 * 1024) /* buffered of one reply */
#define CLUSTER_REPLY_OBJECTS 400000 /* objects of one reply */

/* A node: host and port. */
struct cluster_node {
	char *host; /* owned */
	int port;
};

static struct {
	/* The node the last MOVED named; host NULL: none. */
	struct cluster_node moved;
	struct cluster_node known[CLUSTER_NODES_MAX]; /* primaries last seen */
	size_t nknown;
} cl;

static uint16_t cluster_crc16(const char *, size_t);
static int cluster_deadline_left(const struct timeval *, struct timeval *);
static redisContext *cluster_connect(const struct conf *,
    const struct cluster_node *, const struct timeval *, char **);
static redisReply *cluster_command(redisContext *, const struct timeval *,
    char **, const char *, int, const char **, const size_t *);
static int cluster_ask(const struct conf *, const struct cluster_node *, int,
    struct cluster_node *, char **);
static int cluster_parse(const redisReply *, int, const struct cluster_node *,
    struct cluster_node *, char **);
static int cluster_node_of(
    const redisReply *, const struct cluster_node *, struct cluster_node *);
static void cluster_remember(const struct cluster_node *);
static void cluster_node_free(struct cluster_node *);
/*
 * CRC16 as Redis Cluster computes a key's slot: CCITT, XMODEM variant
 * (polynomial 0x1021, initial value 0, no reflection, no final xor).
 * crc16("123456789") is 0x31c3.
 */
static uint16_t
cluster_crc16(const char *s, size_t len)
{
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)s[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
			                     : (uint16_t)(crc << 1);
	}
	return (crc);
}

/*
 * The hash slot of every key of a site: the slot of its prefix's hash
 * tag (conf_hash_tag(); conf.c refuses a cluster prefix without one), or
 * of the whole prefix when it has none.
 */
int
cluster_slot(const char *prefix)
{
	const char *tag;
	size_t len;

	if ((tag = conf_hash_tag(prefix, &len)) == NULL) {
		tag = prefix;
		len = strlen(prefix);
	}
	return (cluster_crc16(tag, len) & (CLUSTER_SLOTS - 1));
}

/* Set *left to the time until *deadline; -1 when it has passed. */
static int
cluster_deadline_left(const struct timeval *deadline, struct timeval *left)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	if (!timercmp(&now, deadline, <))
		return (-1);
	timersub(deadline, &now, left);
	return (0);
}

/*
 * Connect to node n within the deadline and log in as the config says;
 * the replies of the connection are read through the guard.  NULL with
 * *cause on failure.
 */
static redisContext *
cluster_connect(const struct conf *c, const struct cluster_node *n,
    const struct timeval *deadline, char **cause)
{
	struct timeval left;
	redisContext *rc;
	redisReply *r;
	const char *argv[3];
	size_t len[3];
	int argc = 0, i;

	if (cluster_deadline_left(deadline, &left) == -1) {
		xasprintf(cause, "%s:%d: no time left", n->host, n->port);
		return (NULL);
	}
	rc = redisConnectWithTimeout(n->host, n->port, left);
	if (rc == NULL || rc->err) {
		xasprintf(cause, "%s:%d: %s", n->host, n->port,
		    rc != NULL ? rc->errstr : "out of memory");
		if (rc != NULL)
			redisFree(rc);
		return (NULL);
	}
	if (c->redis_password == NULL)
		return (rc);
	argv[argc++] = "AUTH";
	if (c->redis_user != NULL)
		argv[argc++] = c->redis_user;
	argv[argc++] = c->redis_password;
	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if ((r = cluster_command(
	         rc, deadline, cause, "AUTH", argc, argv, len)) == NULL) {
		redisFree(rc);
		return (NULL);
	}
	freeReplyObject(r);
	return (rc);
}

/*
 * Send one command (what names it in errors) and read its reply before
 * the deadline, buffering at most CLUSTER_REPLY_BYTES of it.  An error reply is a failure too.
 * NULL with *cause on failure.
 */
static redisReply *
cluster_command(redisContext *rc, const struct timeval *deadline, char **cause,
    const char *what, int argc, const char **argv, const size_t *len)
{
	struct reply_guard g = {
	    CLUSTER_REPLY_OBJECTS, (size_t)-1, CLUSTER_SLOTS, 0, 0, NULL};
	struct timeval left;
	void *reply = NULL;
	redisReply *r;
	int done = 0;

	reply_guard_attach(rc, &g);
	if (redisAppendCommandArgv(rc, argc, argv, len) != REDIS_OK)
		goto fail;
	while (!done) {
		if (cluster_deadline_left(deadline, &left) == -1 ||
		    redisSetTimeout(rc, left) != REDIS_OK ||
		    redisBufferWrite(rc, &done) != REDIS_OK)
			goto fail;
	}
	for (;;) {
		if (redisReaderGetReply(rc->reader, &reply) != REDIS_OK)
			goto fail;
		if (reply != NULL)
			break;
		if (rc->reader->len - rc->reader->pos > CLUSTER_REPLY_BYTES) {
			xasprintf(cause, "%s: reply longer than %d bytes", what,
			    CLUSTER_REPLY_BYTES);
			return (NULL);
		}
		if (cluster_deadline_left(deadline, &left) == -1) {
			xasprintf(cause, "%s: no reply in time", what);
			return (NULL);
		}
		if (redisSetTimeout(rc, left) != REDIS_OK ||
		    redisBufferRead(rc) != REDIS_OK)
			goto fail;
	}
	r = reply;
	if (r->type == REDIS_REPLY_ERROR) {
		xasprintf(cause, "%s: %.200s", what,
		    r->str != NULL ? r->str : "error");
		freeReplyObject(r);
		return (NULL);
	}
	return (r);
fail:
	if (g.over != NULL)
		xasprintf(cause, "%s: %s", what, g.over);
	else
		xasprintf(cause, "%s: %s", what,
		    rc->err               ? rc->errstr
		        : rc->reader->err ? rc->reader->errstr
		                          : "no reply in time");
	return (NULL);
}

/*
 * Read a node out of a CLUSTER SLOTS entry's node array: a host (empty:
 * the node that answered) and a port.  Returns -1 when it is not one.
 */
static int
cluster_node_of(const redisReply *e, const struct cluster_node *asked,
    struct cluster_node *out)
{
	const redisReply *h, *p;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
		return (-1);
	h = e->element[0];
	p = e->element[1];
	if (h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_INTEGER ||
	    p->integer < 1 || p->integer > 65535 || h->len > CLUSTER_HOST_MAX ||
	    strlen(h->str) != h->len || strcmp(h->str, "?") == 0)
		return (-1);
	out->host = xstrdup(h->len == 0 ? asked->host : h->str);
	out->port = (int)p->integer;
	return (0);
}

/*
 * Find slot's primary in a CLUSTER SLOTS reply from node asked, and
 * remember every primary it lists.  -1 with *cause when the reply is not
 * one or no node serves the slot.
 */
static int
cluster_parse(const redisReply *r, int slot, const struct cluster_node *asked,
    struct cluster_node *owner, char **cause)
{
	struct cluster_node n;
	const redisReply *e;
	size_t i;

	owner->host = NULL;
	if (r->type != REDIS_REPLY_ARRAY) {
		xasprintf(cause, "CLUSTER SLOTS: not an array");
		return (-1);
	}
	for (i = 0; i < cl.nknown; i++)
		cluster_node_free(&cl.known[i]);
	cl.nknown = 0;
	for (i = 0; i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    cluster_node_of(e->element[2], asked, &n) == -1)
			continue; /* not a range we can use */
		cluster_remember(&n);
		if (owner->host == NULL && e->element[0]->integer <= slot &&
		    slot <= e->element[1]->integer) {
			*owner = n;
			owner->host = xstrdup(n.host);
		}
		cluster_node_free(&n);
	}
	if (owner->host == NULL) {
		xasprintf(cause,
		    "no node serves slot %d (CLUSTER SLOTS of %s:%d)", slot,
		    asked->host, asked->port);
		return (-1);
	}
	return (0);
}

/* Keep a primary for the next search (and the library), once. */
static void
cluster_remember(const struct cluster_node *n)
{
	size_t i;

	for (i = 0; i < cl.nknown; i++)
		if (cl.known[i].port == n->port &&
		    strcmp(cl.known[i].host, n->host) == 0)
			return;
	if (cl.nknown == CLUSTER_NODES_MAX)
		return;
	cl.known[cl.nknown].host = xstrdup(n->host);
	cl.known[cl.nknown++].port = n->port;
}

static void
cluster_node_free(struct cluster_node *n)
{
	free(n->host);
	n->host = NULL;
}

/* Ask node n for slot's primary; -1 with *cause. */
static int
cluster_ask(const struct conf *c, const struct cluster_node *n, int slot,
    struct cluster_node *owner, char **cause)
{
	static const char *argv[] = {"CLUSTER", "SLOTS"};
	static const size_t len[] = {7, 5};
	struct timeval deadline, add;
	redisContext *rc;
	redisReply *r;
	char *why = NULL;
	int rv;

	gettimeofday(&deadline, NULL);
	add.tv_sec = c->timeout_ms / 1000;
	add.tv_usec = (c->timeout_ms % 1000) * 1000;
	timeradd(&deadline, &add, &deadline);
	if ((rc = cluster_connect(c, n, &deadline, &why)) == NULL) {
		*cause = why;
		return (-1);
	}
	if ((r = cluster_command(
	         rc, &deadline, &why, "CLUSTER SLOTS", 2, argv, len)) == NULL) {
		xasprintf(cause, "%s:%d: %s", n->host, n->port, why);
		free(why);
		redisFree(rc);
		return (-1);
	}
	rv = cluster_parse(r, slot, n, owner, cause);
	freeReplyObject(r);
	redisFree(rc);
	return (rv);
}

/*
 * Find the primary of the site's slot: ask the node the last MOVED named,
 * then the primaries last seen, then the seed, until one answers.  Sets
 * *host (allocated) and *port; -1 with *cause when no node could tell.
 */
int
cluster_primary(const struct conf *c, char **host, int *port, char **cause)
{
	struct cluster_node *ask, owner;
	const char *h;
	size_t i, k, n = 0;
	int slot = cluster_slot(c->prefix), rv = -1, p;
	char *why, *all = NULL, *t;

	/* Copies: each answer replaces the primaries last seen. */
	ask = xcalloc(CLUSTER_NODES_MAX + 2, sizeof *ask);
	if (cl.moved.host != NULL)
		ask[n++] = cl.moved;
	cl.moved.host = NULL;
	for (i = 0; i <= cl.nknown; i++) {
		h = i < cl.nknown ? cl.known[i].host : c->redis_host;
		p = i < cl.nknown ? cl.known[i].port : (int)c->redis_port;
		for (k = 0; k < n; k++)
			if (ask[k].port == p && strcmp(ask[k].host, h) == 0)
				break;
		if (k < n)
			continue; /* asked once is enough */
		ask[n].host = xstrdup(h);
		ask[n++].port = p;
	}
	for (i = 0; i < n && rv == -1; i++) {
		if (cluster_ask(c, &ask[i], slot, &owner, &why) == 0) {
			*host = owner.host;
			*port = owner.port;
			rv = 0;
			break;
		}
		xasprintf(&t, "%s%s%s", all != NULL ? all : "",
		    all != NULL ? "; " : "", why);
		free(all);
		free(why);
		all = t;
	}
	for (i = 0; i < n; i++)
		cluster_node_free(&ask[i]);
	free(ask);
	if (rv == -1)
		xasprintf(cause,
		    "no node of the cluster says which is the primary "
		    "of hash slot %d (%s): %s",
		    slot, c->prefix, all);
	free(all);
	return (rv);
}

/*
 * Load the Functions library on every primary last seen but the one at
 * host:port (redis.c loads it there), so that the site's slot finds it
 * wherever it migrates.  A primary that fails is logged and skipped: the
 * next connect tries again.  All of it within redis.timeout_ms.
 */
void
cluster_load_library(const struct conf *c, const char *host, int port)
{
	static const char *argv[4] = {"FUNCTION", "LOAD", "REPLACE", NULL};
	size_t len[4] = {8, 4, 7, 0};
	struct timeval deadline, add;
	redisContext *rc;
	redisReply *r;
	char *why;
	size_t i;

	argv[3] = modq_lua;
	len[3] = modq_lua_len;
	gettimeofday(&deadline, NULL);
	add.tv_sec = c->timeout_ms / 1000;
	add.tv_usec = (c->timeout_ms % 1000) * 1000;
	timeradd(&deadline, &add, &deadline);
	for (i = 0; i < cl.nknown; i++) {
		if (cl.known[i].port == port &&
		    strcmp(cl.known[i].host, host) == 0)
			continue;
		if ((rc = cluster_connect(c, &cl.known[i], &deadline, &why)) ==
		    NULL) {
			log_warnx("redis: cluster: cannot load the modq "
			          "functions on %s",
			    why);
			free(why);
			continue;
		}
		if ((r = cluster_command(rc, &deadline, &why, "FUNCTION LOAD",
		         4, argv, len)) == NULL) {
			log_warnx("redis: cluster: cannot load the modq "
			          "functions on %s:%d: %s",
			    cl.known[i].host, cl.known[i].port, why);
			free(why);
		} else {
			log_debug("redis: cluster: modq functions loaded on "
			          "%s:%d",
			    cl.known[i].host, cl.known[i].port);
			freeReplyObject(r);
		}
		redisFree(rc);
	}
}

/*
 * Where the connections go next: the primary of the site's slot, with
 * the library loaded on every other primary.  -1 with *cause.
 */
int
cluster_locate(const struct conf *c, char **host, int *port, char **cause)
{
	if (cluster_primary(c, host, port, cause) == -1)
		return (-1);
	cluster_load_library(c, *host, *port);
	return (0);
}

/*
 * Tell whether reply r is "-MOVED <slot> <host>:<port>": if so, keep the
 * node it names for the next cluster_locate() and set *why to words for
 * the log.  A MOVED that does not parse still moves: the next search
 * starts from the nodes last seen.
 */
int
cluster_moved(const void *reply, const char *prefix, char **why)
{
	const redisReply *r = reply;
	const char *s, *colon;
	char *end;
	long slot, port;
	size_t hlen;

	if (r == NULL || r->type != REDIS_REPLY_ERROR || r->str == NULL ||
	    strncmp(r->str, "MOVED ", 6) != 0)
		return (0);
	s = r->str + 6;
	slot = strtol(s, &end, 10);
	colon = strrchr(end, ':');
	if (end == s || *end != ' ' || slot < 0 || slot >= CLUSTER_SLOTS ||
	    colon == NULL || (hlen = (size_t)(colon - end - 1)) == 0 ||
	    hlen > CLUSTER_HOST_MAX ||
	    (port = strtol(colon + 1, &end, 10)) < 1 || port > 65535 ||
	    *end != '\0' || memchr(r->str + 6, '\0', r->len - 6) != NULL) {
		xasprintf(why,
		    "the cluster moved the slot of %s (a MOVED reply we "
		    "cannot read); asking the cluster where it is now",
		    prefix);
		return (1);
	}
	cluster_node_free(&cl.moved);
	cl.moved.host = xstrndup(colon - hlen, hlen);
	cl.moved.port = (int)port;
	xasprintf(why,
	    "the cluster moved hash slot %ld of %s to %s:%ld; reconnecting "
	    "to its new primary",
	    slot, prefix, cl.moved.host, port);
	return (1);
}

/* Forget the nodes (shutdown). */
void
cluster_close(void)
{
	size_t i;

	cluster_node_free(&cl.moved);
	for (i = 0; i < cl.nknown; i++)
		cluster_node_free(&cl.known[i]);
	cl.nknown = 0;
}
