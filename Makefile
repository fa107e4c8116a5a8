# binday - build, test and run.
#
#   make          release build of ./build/release/binday (and ./binday link)
#   make run      install deps, build, generate demo data and TLS cert, serve on :8443
#   make test     install deps, build with ASan+UBSan, run unit + integration tests
#   make tsan     ThreadSanitizer build, unit + integration tests (docs/architecture.md)
#   make lint     clang -Werror build + cppcheck
#   make fuzz     libFuzzer builds of tests/fuzz/fuzz_*.c (clang)
#   make bench    benchmarks (see bench/README.md)
#   make deps     install the Debian packages everything above needs (idempotent)
#   make man      man pages from --help into build/release/man (tools/help2roff.py)
#   make deb      Debian package build/deb/binday_VERSION_amd64.deb (tools/build-deb.sh), lintian-checked

SHELL := /bin/bash
CC ?= cc
# libargon2: staff console passwords (Argon2id, docs/staff-console.md)
PKGS := libh2o libuv openssl jansson libcurl lmdb zlib libargon2

# Debian packages: building, testing, benchmarking. `make deps` installs the missing ones.
DEB_PKGS := build-essential pkg-config clang cppcheck openssl ca-certificates curl \
            libh2o-dev libuv1-dev libssl-dev libjansson-dev libcurl4-openssl-dev \
            liblmdb-dev zlib1g-dev lmdb-utils python3 python3-aiosmtpd libical-dev tzdata libmimalloc-dev \
            python3-prometheus-client python3-yaml \
            libargon2-dev chromium chromium-driver python3-selenium
# the Debian package: `make deb`, and tests/integration/test_deb.py and
# test_man.py in `make test` (man-db renders the pages as lintian does)
DEB_TOOLS := debhelper dpkg-dev fakeroot lintian man-db
DEB_PKGS += $(DEB_TOOLS)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# debian/rules sets it from debian/changelog (the package build has no .git)
ifndef BINDAY_VERSION
BINDAY_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
endif
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -g -Iinclude $(PKG_CFLAGS) -D_GNU_SOURCE -DH2O_USE_LIBUV=1 \
               -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
               -DBINDAY_VERSION=\"$(BINDAY_VERSION)\"
RELEASE_CFLAGS := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := -O1 $(SAN)
# The release binary runs on mimalloc (docs/performance.md, "jansson's allocator": it
# took glibc malloc's place for every library in the process, and jsonmem's for
# jansson). Listed first and kept as needed so its malloc is the one every library
# binds to. Sanitizer builds keep their own allocator.
RELEASE_LDFLAGS := -Wl,--push-state,--no-as-needed -lmimalloc -Wl,--pop-state

# Library sources: every subsystem folder but cli/ (the CLI is the program, not
# the library: tests, fuzzers and benches link libbinday.a; binday links both).
LIB_SRC := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# unit tests and replays track their includes too (depfiles under DIR/dep/)
DEPFLAGS = -MMD -MP

R := build/release
A := build/asan
T := build/tsan
F := build/fuzz

.PHONY: all run test lint fuzz bench deps web-deps clean unit integration asan tsan tsan-build layers man deb
all: $(R)/binday
	@ln -sf $(R)/binday binday

# One build variant: objects under DIR/obj mirroring src/, the library archive,
# the binary. $(1)=dir $(2)=compiler $(3)=cflags $(4)=link flags.
define VARIANT
$(1)/obj/%.o: src/%.c
	@mkdir -p $$(@D)
	$(2) $$(BASE_CFLAGS) $(3) $$(DEPFLAGS) -c $$< -o $$@
# the config schema is compiled in with .incbin, which -MMD does not see
$(1)/obj/config/config.o: schemas/config.schema.json
$(1)/obj/dev/demodata.o: data/materials.csv
$(1)/obj/skill/skill_apl.o: deploy/skill-package/response/display/BinDayCollections/document.json
$(1)/obj/cli/cmd_skillpkg.o: deploy/skill-package/skill.json deploy/skill-package/interactionModels/custom/en-GB.json
$(1)/libbinday.a: $$(patsubst src/%.c,$(1)/obj/%.o,$$(LIB_SRC))
	rm -f $$@; ar rcs $$@ $$^
$(1)/binday: $$(patsubst src/%.c,$(1)/obj/%.o,$$(CLI_SRC)) $(1)/libbinday.a
	$(2) $(4) -o $$@ $$^ $$(PKG_LIBS) -lm -lpthread
$(1)/tests/%: tests/unit/%.c $(1)/libbinday.a
	@mkdir -p $$(@D) $(1)/dep/tests
	$(2) $$(BASE_CFLAGS) $(3) $$(DEPFLAGS) -MF $(1)/dep/tests/$$*.d -MT $$@ -Itests/unit -o $$@ $$< $(1)/libbinday.a $$(PKG_LIBS) -lm -lpthread
# fuzz targets linked with a replay main: every corpus file runs in `make test`
$(1)/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(1)/libbinday.a
	@mkdir -p $$(@D) $(1)/dep/replay
	$(2) $$(BASE_CFLAGS) $(3) $$(DEPFLAGS) -MF $(1)/dep/replay/$$*.d -MT $$@ -o $$@ $$< tests/fuzz/replay_main.c $(1)/libbinday.a $$(PKG_LIBS) -lm -lpthread
-include $$(shell find $(1) -name '*.d' 2>/dev/null)
endef

TSAN := -fsanitize=thread -fno-omit-frame-pointer
$(eval $(call VARIANT,$(R),$(CC),$(RELEASE_CFLAGS),$(RELEASE_LDFLAGS)))
$(eval $(call VARIANT,$(A),$(CC),$(ASAN_CFLAGS),$(SAN)))
$(eval $(call VARIANT,$(T),$(CC),-O1 $(TSAN),$(TSAN)))
$(eval $(call VARIANT,build/clang,clang,$(RELEASE_CFLAGS),))
# build/pkg: what the Debian package ships (debian/rules): the release build
# with dpkg-buildflags' CPPFLAGS/CFLAGS/LDFLAGS (exported by dh) in place of
# RELEASE_CFLAGS, in its own directory so no object built with other flags
# can end up in the package.
$(eval $(call VARIANT,build/pkg,$(CC),$(CPPFLAGS) $(CFLAGS),$(RELEASE_LDFLAGS) $(LDFLAGS)))

asan: $(A)/binday $(patsubst tests/unit/%.c,$(A)/tests/%,$(UNIT_SRC)) \
      $(patsubst tests/fuzz/%.c,$(A)/replay/%,$(FUZZ_SRC))
tsan-build: $(T)/binday $(patsubst tests/unit/%.c,$(T)/tests/%,$(UNIT_SRC))

# ---- commands ------------------------------------------------------------------
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or: sudo make deps)"; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# npm: Debian's package, unless a Node.js that bundles npm is installed already
	@command -v npm >/dev/null || { if [ "$$(id -u)" != 0 ]; then echo "run as root (or: sudo make deps)"; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	@$(MAKE) --no-print-directory web-deps

# The staff console's npm packages (web/package.json, pinned by its lock file):
# govuk-frontend's CSS, fonts and images, served by binday from build/web;
# axe-core for the browser tests. Never committed.
WEB := build/web
web-deps: $(WEB)/node_modules/.binday-installed
$(WEB)/node_modules/.binday-installed: web/package.json web/package-lock.json
	@mkdir -p $(WEB)
	cp web/package.json web/package-lock.json $(WEB)/
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: deps
	$(MAKE) --no-print-directory asan
	/usr/bin/python3 tests/run.py

run: deps
	$(MAKE) --no-print-directory all
	./deploy/dev-run.sh

lint: deps
	$(MAKE) --no-print-directory clean-lint
	$(MAKE) --no-print-directory build/clang/binday
	/usr/bin/python3 tools/check_layers.py
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Isrc/cli src tests/unit

clean-lint:
	rm -rf build/clang

# ThreadSanitizer: unit and integration tests against build/tsan (docs/architecture.md
# explains the one suppression, tests/tsan.supp)
tsan: deps
	$(MAKE) --no-print-directory tsan-build
	BINDAY_BUILD=$(T) /usr/bin/python3 tests/run.py

# libFuzzer: one archive built with coverage instrumentation, each target linked
# against it. -fno-sanitize-recover=all: undefined behaviour stops the run and
# leaves a crash-* reproducer instead of a message scrolling past.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
$(eval $(call VARIANT,$(F),clang,-O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN),))
$(F)/fuzz_%: tests/fuzz/fuzz_%.c $(F)/libbinday.a
	clang $(BASE_CFLAGS) -O1 -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(F)/libbinday.a $(PKG_LIBS) -lm -lpthread
fuzz: deps
	$(MAKE) --no-print-directory $(patsubst tests/fuzz/%.c,$(F)/%,$(FUZZ_SRC))
	@echo "run e.g.: build/fuzz/fuzz_certurl -max_total_time=60 tests/fuzz/corpus/fuzz_certurl"

man: $(R)/binday
	/usr/bin/python3 tools/help2roff.py $(R)/binday $(R)/man

# DEB_VERSION=X builds the package as version X (the upgrade test's second build)
deb: deps
	./tools/build-deb.sh $(DEB_VERSION)

bench: deps
	$(MAKE) --no-print-directory all
	./bench/run.sh

clean:
	rm -rf build binday
