# binday - build, test and run.
#
#   make          release build of ./build/release/binday (and ./binday link)
#   make run      install deps, build, generate demo data and TLS cert, serve on :8443
#   make test     install deps, build with ASan+UBSan, run unit + integration tests
#   make lint     clang -Werror build + cppcheck
#   make fuzz     libFuzzer builds of tests/fuzz/fuzz_*.c (clang)
#   make bench    benchmarks (see bench/README.md)
#   make deps     install the Debian packages everything above needs (idempotent)

SHELL := /bin/bash
CC ?= cc
PKGS := libh2o libuv openssl jansson libcurl lmdb

# Debian packages: building, testing, benchmarking. `make deps` installs the missing ones.
DEB_PKGS := build-essential pkg-config clang cppcheck openssl ca-certificates curl \
            libh2o-dev libuv1-dev libssl-dev libjansson-dev libcurl4-openssl-dev \
            liblmdb-dev lmdb-utils python3 python3-aiosmtpd libical-dev tzdata

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -g -Iinclude $(PKG_CFLAGS) -D_GNU_SOURCE -DH2O_USE_LIBUV=1 \
               -DBINDAY_VERSION=\"$(shell git describe --always --dirty 2>/dev/null || echo dev)\"
RELEASE_CFLAGS := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := -O1 $(SAN)

LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
HDRS := $(wildcard include/binday/*.h) $(wildcard src/*.h) $(wildcard schemas/*.json)

R := build/release
A := build/asan

.PHONY: all run test lint fuzz bench deps clean unit integration asan
all: $(R)/binday
	@ln -sf $(R)/binday binday

# ---- release build ----------------------------------------------------------
$(R)/%.o: src/%.c $(HDRS) | $(R)
	$(CC) $(BASE_CFLAGS) $(RELEASE_CFLAGS) -c $< -o $@
$(R)/libbinday.a: $(patsubst src/%.c,$(R)/%.o,$(LIB_SRC))
	rm -f $@; ar rcs $@ $^
$(R)/binday: $(R)/main.o $(R)/libbinday.a
	$(CC) -o $@ $^ $(PKG_LIBS) -lm -lpthread
$(R):
	mkdir -p $@

# ---- sanitizer build (what the tests run) ------------------------------------
$(A)/%.o: src/%.c $(HDRS) | $(A)
	$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -c $< -o $@
$(A)/libbinday.a: $(patsubst src/%.c,$(A)/%.o,$(LIB_SRC))
	rm -f $@; ar rcs $@ $^
$(A)/binday: $(A)/main.o $(A)/libbinday.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) -lm -lpthread
$(A)/tests/%: tests/unit/%.c $(A)/libbinday.a tests/unit/tap.h $(HDRS) | $(A)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -Itests/unit -o $@ $< $(A)/libbinday.a $(PKG_LIBS) -lm -lpthread
# fuzz targets linked with a replay main: every corpus file runs in `make test`
$(A)/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(A)/libbinday.a | $(A)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(A)/libbinday.a $(PKG_LIBS) -lm -lpthread
$(A):
	mkdir -p $@

asan: $(A)/binday $(patsubst tests/unit/%.c,$(A)/tests/%,$(UNIT_SRC)) \
      $(patsubst tests/fuzz/%.c,$(A)/replay/%,$(FUZZ_SRC))

# ---- commands ------------------------------------------------------------------
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or: sudo make deps)"; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: deps
	$(MAKE) --no-print-directory asan
	/usr/bin/python3 tests/run.py

run: deps
	$(MAKE) --no-print-directory all
	./deploy/dev-run.sh

lint: deps
	$(MAKE) --no-print-directory clean-lint
	$(MAKE) --no-print-directory CC=clang R=build/clang build/clang/binday
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude src tests/unit

clean-lint:
	rm -rf build/clang

FUZZ_CFLAGS := -std=gnu11 $(WARN) -g -O1 -Iinclude $(PKG_CFLAGS) -D_GNU_SOURCE -DH2O_USE_LIBUV=1 \
               -DBINDAY_VERSION=\"fuzz\" -fsanitize=fuzzer,address,undefined
fuzz: deps
	@mkdir -p build/fuzz
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(FUZZ_CFLAGS) -o build/fuzz/$$n $$f $(LIB_SRC) $(PKG_LIBS) -lm -lpthread || exit 1; done
	@echo "run e.g.: build/fuzz/fuzz_certurl -max_total_time=60 tests/fuzz/corpus/fuzz_certurl"

bench: deps
	$(MAKE) --no-print-directory all
	./bench/run.sh

clean:
	rm -rf build binday
