# modq -- build, test, benchmark and install.
#
#   make            build build/modqd and build/modq
#   make check      unit tests, rule cases and integration tests (also ASan)
#   make run        demo: private redis-server + modqd + sample comments
#   make bench      throughput and latency benchmark
#   make campaign-bench  campaign detection: caught, wrongly grouped, speed
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
DESTDIR ?=

B ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libevent hiredis libconfig libsystemd libhs libutf8proc libpsl
RULES_PKGS = libhs libutf8proc libpsl

OPT ?= -O2 -g
WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual \
	-Wwrite-strings -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wsign-compare -Wundef
# Recursive (=) so pkg-config runs only when something is compiled, after
# `make deps` has had a chance to install the packages.
BASE_CFLAGS = -std=gnu11 $(OPT) $(WARN) -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -D_GNU_SOURCE -Iinclude $(SAN)
ALL_CFLAGS = $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS)) \
	$(CPPFLAGS) $(CFLAGS)
ALL_LDLIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm $(LDLIBS)
TEST_LDLIBS = $(shell $(PKG_CONFIG) --libs cmocka) $(ALL_LDLIBS)
# rules/ is a library of its own, build/librules.a: compiled with the flags
# of Hyperscan, utf8proc and libpsl only, and needing nothing else to link.
# Tests and tools that look at its internals add -Irules for
# rules/rules_int.h.
RULES_CFLAGS = $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(RULES_PKGS)) \
	$(CPPFLAGS) $(CFLAGS)
RULES_LDLIBS = $(shell $(PKG_CONFIG) --libs $(RULES_PKGS)) -lm $(LDLIBS)

RULES_SRCS = rules/normalize.c rules/keyword.c rules/rate.c rules/rules.c \
	rules/decide.c rules/links.c rules/similar.c \
	rules/confusables.c rules/entities.c rules/lint.c
COMMON_SRCS = daemon/log.c daemon/xmalloc.c daemon/conf.c daemon/conf_content.c \
	daemon/entry.c
DAEMON_SRCS = daemon/main.c daemon/server.c daemon/redis.c daemon/args.c daemon/clock.c \
	daemon/intake.c daemon/pipeline.c daemon/context.c daemon/texts.c daemon/commit.c \
	daemon/expire.c daemon/notify.c daemon/metrics.c daemon/trial.c \
	daemon/rejudge.c daemon/check.c daemon/sentinel.c \
	daemon/cluster.c daemon/guard.c
TESTS = test_rules test_similar test_links test_conf test_entry test_cases test_log

RULES_OBJS = $(RULES_SRCS:%.c=$(B)/%.o)
LIBRULES = $(B)/librules.a
COMMON_OBJS = $(COMMON_SRCS:%.c=$(B)/%.o)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/%.o) $(B)/modq_lua.o
TEST_BINS = $(TESTS:%=$(B)/tests/%)
HEADERS = $(wildcard include/*.h rules/*.h daemon/*.h)

.PHONY: all deps check unit replay integration check-asan run bench fuzz deb \
	install clean format campaign-bench

all: $(B)/modqd $(B)/modq

$(B)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/rules/%.o: rules/%.c include/rules.h $(wildcard rules/*.h rules/*.inc)
	@mkdir -p $(dir $@)
	$(CC) $(RULES_CFLAGS) -c $< -o $@

$(LIBRULES): $(RULES_OBJS)
	rm -f $@
	$(AR) rcs $@ $(RULES_OBJS)

$(B)/modq_lua.c: daemon/modq.lua tools/embed.sh
	@mkdir -p $(B)
	sh tools/embed.sh modq_lua daemon/modq.lua > $@

$(B)/modq_lua.o: $(B)/modq_lua.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/modqd: $(DAEMON_OBJS) $(COMMON_OBJS) $(LIBRULES)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(ALL_LDLIBS)

# The moderator's command needs hiredis and utf8proc only.
MODQ_OBJS = $(B)/daemon/modq.o $(B)/daemon/log.o $(B)/daemon/xmalloc.o
$(B)/modq: $(MODQ_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $(MODQ_OBJS) $(LDFLAGS) \
	    $(shell $(PKG_CONFIG) --libs hiredis libutf8proc) $(LDLIBS)

$(B)/tests/%: tests/%.c $(COMMON_OBJS) $(LIBRULES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Irules -o $@ $< $(COMMON_OBJS) $(LIBRULES) \
	    $(LDFLAGS) $(TEST_LDLIBS)

# The unit tests of rules/ link with the library alone (and cmocka): the
# proof that it stands without daemon/, libevent, hiredis or libconfig.
$(B)/tests/test_rules $(B)/tests/test_links: $(B)/tests/%: tests/%.c \
    $(LIBRULES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(RULES_CFLAGS) -Irules -o $@ $< $(LIBRULES) $(LDFLAGS) \
	    $(shell $(PKG_CONFIG) --libs cmocka) $(RULES_LDLIBS)

$(B)/tests/test_similar: tests/test_similar.c $(LIBRULES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(RULES_CFLAGS) -Irules -o $@ $< $(LIBRULES) $(LDFLAGS) \
	    $(shell $(PKG_CONFIG) --libs cmocka) $(RULES_LDLIBS)

# Install the Debian packages the build and the tests need, if missing.
deps:
	@sh tools/deps.sh

unit: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do \
	    echo "== $$t"; ./$$t; done

# The fuzz harnesses, built with the normal compiler and a driver that
# replays files, so make check runs every seed and regression input.
FUZZ_TARGETS = entry conf wordlist batch
REPLAY_BINS = $(FUZZ_TARGETS:%=$(B)/tests/replay_%)
$(B)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h \
    $(COMMON_OBJS) $(LIBRULES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Irules -o $@ tests/fuzz/fuzz_$*.c \
	    tests/fuzz/replay.c $(COMMON_OBJS) $(LIBRULES) $(LDFLAGS) \
	    $(ALL_LDLIBS)

# The batch target links the daemon's pipeline itself; only the I/O edge
# (redis.c, server.c, metrics.c) is the harness's own fake, and the clock
# (gettimeofday(), wrapped) the model's.
BATCH_OBJS = $(B)/daemon/args.o $(B)/daemon/clock.o $(B)/daemon/intake.o \
	$(B)/daemon/pipeline.o $(B)/daemon/context.o $(B)/daemon/texts.o \
	$(B)/daemon/commit.o
BATCH_SRCS = tests/fuzz/fuzz_batch.c tests/fuzz/batch_model.c \
	tests/fuzz/fake_redis.c
$(B)/tests/replay_batch: $(BATCH_SRCS) tests/fuzz/batch.h tests/fuzz/replay.c \
    tests/fuzz/fuzz.h daemon/pipeline.h $(BATCH_OBJS) $(COMMON_OBJS) \
    $(LIBRULES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Irules -Idaemon -o $@ $(BATCH_SRCS) \
	    tests/fuzz/replay.c $(BATCH_OBJS) $(COMMON_OBJS) $(LIBRULES) \
	    -Wl,--wrap=gettimeofday $(LDFLAGS) $(ALL_LDLIBS)

replay: $(REPLAY_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp \
	    ./$(B)/tests/replay_$$t tests/fuzz/corpus/$$t/* \
	    $$(ls tests/fuzz/regress/$$t/* 2>/dev/null); done

$(B)/tests/notify-listen: tests/notify-listen.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ tests/notify-listen.c

# Every shell test suite in tests/ against the binaries in $(B); the
# fault-injection suite (a few minutes) only when FAULTS is set.
SUITES = tests/integration.sh tests/moderator.sh tests/service.sh \
	tests/hostile.sh tests/metrics.sh tests/model.sh tests/example.sh \
	tests/content.sh tests/trial.sh tests/lint.sh tests/sites.sh \
	tests/sentinel.sh \
	tests/cluster.sh \
	$(if $(FAULTS),tests/faults.sh)
integration: all $(B)/tests/notify-listen
	@set -e; for t in $(SUITES); do \
	    echo "== $$t"; bash $$t $(B); done

check: deps
	$(MAKE) all unit replay
	$(MAKE) integration FAULTS=1
	$(MAKE) check-asan

# The unit tests and the integration tests again, under ASan and UBSan.
check-asan:
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    all unit replay integration

run: deps
	$(MAKE) all
	bash tools/demo.sh $(B)

$(B)/modq-bench-match: tools/bench-match.c $(COMMON_OBJS) $(LIBRULES) \
    $(HEADERS)
	$(CC) $(ALL_CFLAGS) -Irules -o $@ tools/bench-match.c $(COMMON_OBJS) \
	    $(LIBRULES) $(LDFLAGS) $(ALL_LDLIBS)

# Campaign detection: copies caught, ordinary comments wrongly grouped,
# queries per second (rules/ alone, no Redis).
$(B)/campaign-bench: tools/campaign-bench.c $(LIBRULES) $(HEADERS)
	$(CC) $(RULES_CFLAGS) -Irules -o $@ tools/campaign-bench.c \
	    $(LIBRULES) $(LDFLAGS) $(RULES_LDLIBS)

campaign-bench: $(B)/campaign-bench
	./$(B)/campaign-bench $(CORPUS)/corpus.txt

# Normalisation plus matching on one core (400 and 5,000 entries), the
# campaign benchmark, then the daemon's throughput and latency against a
# private redis-server.
CORPUS ?= ../shared/corpus/perf
bench: deps
	$(MAKE) all $(B)/modq-bench-match $(B)/campaign-bench
	./$(B)/modq-bench-match $(CORPUS)/words_400.txt $(CORPUS)/corpus.txt
	./$(B)/modq-bench-match $(CORPUS)/words_5000.txt $(CORPUS)/corpus.txt
	./$(B)/campaign-bench $(CORPUS)/corpus.txt
	bash tools/bench.sh

# The Debian package, built from a clean copy and checked with lintian.
deb:
	sh tools/deb.sh

# libFuzzer targets (clang), each for a bounded time; see tools/fuzz.sh.
fuzz: deps
	sh tools/deps.sh clang libclang-rt-14-dev
	sh tools/fuzz.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/modq/lists
	install -m 755 $(B)/modqd $(DESTDIR)$(SBINDIR)/modqd
	install -m 755 $(B)/modq $(DESTDIR)$(BINDIR)/modq
	install -m 644 daemon/modqd.8 $(DESTDIR)$(MANDIR)/man8/modqd.8
	install -m 644 daemon/modqd.conf.5 $(DESTDIR)$(MANDIR)/man5/modqd.conf.5
	install -m 644 daemon/modq.1 $(DESTDIR)$(MANDIR)/man1/modq.1
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/modqd.service > \
	    $(DESTDIR)$(UNITDIR)/modqd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/modqd.service
	for f in systemd/modqd.conf systemd/lists/*.txt; do \
	    t=$(DESTDIR)$(SYSCONFDIR)/modq/$${f#systemd/}; \
	    if [ -e "$$t" ]; then echo "keeping existing $$t"; \
	    else install -m 644 "$$f" "$$t"; fi; done

format:
	clang-format -i daemon/*.c rules/*.c rules/*.h include/*.h tests/*.c

clean:
	rm -rf build
