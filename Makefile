# nnsweep: NNGP and data-parallel CNN sweeps for HPC clusters.
#   make            build build/nnsweep
#   make test       apt-get the missing Debian test packages (root), build, run every test
#   make bench      apt-get the missing Debian packages, PyTorch too (root), benchmarks against it
#   make demo       apt-get the missing Debian build packages (root), build, the default NNGP sweep
#   make deps       install every missing Debian package (as root; elsewhere prints what to run)
#   make install    build if needed, then install the program, its man page, the jobs/ files and
#                   the slurm/ scripts under PREFIX (default /usr/local; DESTDIR for packagers);
#                   make uninstall removes them
# demo, test and bench install first (scripts/deps.sh) and then build in a new make, so the
# pkg-config flags are read after the packages exist (a fresh machine's first command works);
# NNSWEEP_NO_DEPS=1 leaves the install step out (clusters with modules, no root).
#   make SANITIZE=1 test   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz SECONDS=N    apt-get clang and its fuzzer runtime (root), build the libFuzzer
#                   harnesses of tests/fuzz (parsers and readers, ASan + UBSan, in build-fuzz/) and
#                   run each for N seconds (default 60); fails on any crash, hang or sanitizer report
# A cluster overrides anything below in config.mk (or on the command line).
-include config.mk

ifeq ($(origin CC),default)
CC = mpicc
endif
OPT     ?= -O3 -g
ARCH    ?= -march=native
PKG_CONFIG ?= pkg-config
# pkg-config names of the dependencies; override for a cluster's module system.
PKG_MPI       ?= ompi
PKG_SCALAPACK ?= scalapack-openmpi
PKG_HDF5      ?= hdf5-openmpi
PKG_BLAS      ?= openblas
PKG_ZLIB      ?= zlib
PKG_INIH      ?= inih
PKG_CAIRO     ?= cairo
PKG_TEST      ?= cmocka
HDF5_HL_LIB   ?= -lhdf5_hl
PKGS = $(PKG_MPI) $(PKG_SCALAPACK) $(PKG_HDF5) $(PKG_BLAS) $(PKG_ZLIB) $(PKG_INIH) $(PKG_CAIRO)

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(SANITIZE),1)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
PKG_FOUND  := $(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo yes)
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
VERSION    := 0.1.0

ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE $(OPT) $(ARCH) -fopenmp $(WARN) $(SAN) $(FUZZ_DEFS) \
             -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = -fopenmp $(SAN) $(LDFLAGS)
ALL_LIBS = $(PKG_LIBS) $(HDF5_HL_LIB) -lm $(LDLIBS)
BUILD_DEFS = -DNNSWEEP_VERSION='"$(VERSION)"' -DNNSWEEP_COMMIT='"$(GIT_COMMIT)"' \
             -DNNSWEEP_CC='"$(CC)"' -DNNSWEEP_CFLAGS='"$(strip $(OPT) $(ARCH) $(SAN) $(CFLAGS))"'

# The fuzzing build (FUZZ=1, what `make fuzz` makes): clang with libFuzzer's coverage hooks and
# both sanitizers on every object, in build-fuzz/.
FUZZ_CC ?= clang-14
ifeq ($(FUZZ),1)
CC    = $(FUZZ_CC)
OPT   = -O1 -g
SAN   = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer
BUILD = build-fuzz
# Small read buffers in the IDX and CIFAR-10 readers: their megabytes per file cost milliseconds
# per input under ASan, and small ones make reads cross the buffer edges.
FUZZ_DEFS = -DIDX_GZ_BUFFER=8192 -DIDX_FIRST_ALLOC=65536 -DCIFAR_CHUNK=3
endif
# Sanitizer builds live apart, so switching never mixes objects built with other flags.
BUILD ?= build$(if $(filter 1,$(SANITIZE)),-san)
LIB_SRC  = $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ = $(BUILD)/src/cli/main.o
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(PKG_TEST) 2>/dev/null)
# Helper programs of the shell tests (tests/NAME.c, not test_*): built by make test, run by the
# scripts, e.g. feat_probe by test_vgg.sh.
PROBE_BIN = $(BUILD)/tests/feat_probe
# Fuzz harnesses tests/fuzz/fuzz_NAME.c: $(BUILD)/fuzz/fuzz_NAME with libFuzzer (FUZZ=1 only),
# $(BUILD)/fuzz/replay_NAME with tests/fuzz/replay.c's main (make test replays the regression
# inputs and the seed corpora with these).
FUZZ_NAMES  = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_COMMON = $(BUILD)/tests/fuzz/common.o $(BUILD)/tests/fuzz/dataset_checks.o
FUZZ_BIN    = $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
REPLAY_BIN  = $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
SECONDS ?= 60
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all test bench demo deps clean FORCE pkgcheck install uninstall fuzz fuzz-build
.SECONDARY:
all: $(BUILD)/nnsweep

$(BUILD)/nnsweep: $(MAIN_OBJ) $(BUILD)/libnnsweep.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/libnnsweep.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# provenance.c records how the program was built: it alone sees the build definitions. The stamp
# file changes only when the commit or the flags do, and then rebuilds the two objects.
$(BUILD)/src/io/provenance.o: ALL_CFLAGS += $(BUILD_DEFS)
$(BUILD)/src/cli/main.o: ALL_CFLAGS += $(BUILD_DEFS)
$(BUILD)/src/io/provenance.o $(BUILD)/src/cli/main.o: $(BUILD)/build-stamp
$(BUILD)/build-stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_DEFS)' | cmp -s - $@ || echo '$(BUILD_DEFS)' > $@
FORCE:

# Without the libraries every compile would fail on a missing header: say what to do instead.
$(LIB_OBJ) $(MAIN_OBJ): | pkgcheck
pkgcheck:
	@[ "$(PKG_FOUND)" = yes ] || { echo "nnsweep: pkg-config does not find all of: $(PKGS)." \
	  "Run 'make deps' (Debian), or name your modules' packages in config.mk (PKG_MPI, ...)." >&2; \
	  $(PKG_CONFIG) --print-errors --exists $(PKGS); exit 1; }

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libnnsweep.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(ALL_LIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -c -o $@ $<

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(FUZZ_COMMON) \
                       $(BUILD)/libnnsweep.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(BUILD)/libnnsweep.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(ALL_LIBS)

# The install step of demo, test and bench: scripts/deps.sh KIND, nothing when NNSWEEP_NO_DEPS=1.
deps_step = $(if $(filter 1,$(NNSWEEP_NO_DEPS)),,@scripts/deps.sh $(1))

deps:
	@scripts/deps.sh all

test:
	$(call deps_step,test)
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(REPLAY_BIN) $(PROBE_BIN)
	@SANITIZE=$(SANITIZE) NNSWEEP_BIN=$(CURDIR)/$(BUILD)/nnsweep tests/run.sh $(TEST_BIN)

bench:
	$(call deps_step,bench)
	@$(MAKE) --no-print-directory all
	@bench/run.sh

demo:
	$(call deps_step,build)
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

# make fuzz SECONDS=N: the harnesses built in a make of their own (FUZZ=1: clang, build-fuzz/),
# then tests/fuzz/run.sh runs each for N seconds on its corpus (one at a time, niced).
fuzz:
	$(call deps_step,fuzz)
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) FUZZ=1 fuzz-build
	@tests/fuzz/run.sh $(SECONDS) $(FUZZ_NAMES)

fuzz-build: $(FUZZ_BIN)

clean:
	rm -rf build build-san build-fuzz

# Installation, GNU style: DESTDIR stages for a package and is never written into the files.
# The installed slurm/ scripts get the install paths in place of the repository's
# $SLURM_SUBMIT_DIR-relative ones (common.sh, build/nnsweep, jobs/), so they run from any
# directory; the check after sed fails the install if a repository path was left in them.
# INSTALL_BIN=FILE installs an already built program instead of building $(BUILD)/nnsweep with
# `all` (tests/test_install.sh installs the binary it tests that way).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
PKGDATADIR ?= $(DATADIR)/nnsweep
INSTALL    ?= install
INSTALL_BIN ?=
SHARE_FILES = $(wildcard jobs/*.ini) $(wildcard slurm/*.sh slurm/*.sbatch)
D_BIN = $(DESTDIR)$(BINDIR)
D_MAN = $(DESTDIR)$(MANDIR)/man1
D_PKG = $(DESTDIR)$(PKGDATADIR)

install: $(if $(INSTALL_BIN),,all)
	$(INSTALL) -d "$(D_BIN)" "$(D_MAN)" "$(D_PKG)/jobs" "$(D_PKG)/slurm"
	$(INSTALL) -m 755 "$(or $(INSTALL_BIN),$(BUILD)/nnsweep)" "$(D_BIN)/nnsweep"
	sed -e '/^\.TH /s|"nnsweep [^"]*"|"nnsweep $(VERSION)"|' \
	    -e 's|/usr/local/share/nnsweep|$(PKGDATADIR)|g' -e 's|/usr/local/bin|$(BINDIR)|g' \
	    docs/nnsweep.1 > "$(D_MAN)/nnsweep.1"
	chmod 644 "$(D_MAN)/nnsweep.1"
	$(INSTALL) -m 644 jobs/*.ini "$(D_PKG)/jobs"
	@set -e; for f in slurm/*.sh slurm/*.sbatch; do \
	  to="$(D_PKG)/$$f"; \
	  sed -e 's|$${SLURM_SUBMIT_DIR:-\.}/slurm/|$(PKGDATADIR)/slurm/|' \
	      -e 's|$${SLURM_SUBMIT_DIR:-\.}/build/nnsweep|$(BINDIR)/nnsweep|' \
	      -e 's|"$${1:-jobs/|"$${1:-$(PKGDATADIR)/jobs/|' \
	      -e 's|: submit from the repository.s top directory|: reinstall nnsweep|' \
	      -e '1a\# Installed by make install: paths point to $(PREFIX); submit from any directory.' \
	      "$$f" > "$$to"; \
	  case $$f in *.sbatch) chmod 755 "$$to" ;; *) chmod 644 "$$to" ;; esac; \
	  if grep -nE 'SLURM_SUBMIT_DIR:-\.\}/|:-jobs/' "$$to"; then \
	    echo "make install: $$f: a repository path is left in $$to (update the sed in the" \
	         "Makefile's install rule)" >&2; exit 1; fi; \
	  echo "installed $$to"; \
	done

uninstall:
	rm -f "$(D_BIN)/nnsweep" "$(D_MAN)/nnsweep.1" $(foreach f,$(SHARE_FILES),"$(D_PKG)/$(f)")
	rmdir "$(D_PKG)/jobs" "$(D_PKG)/slurm" "$(D_PKG)" 2>/dev/null || true

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:%=%.d) $(PROBE_BIN:%=%.d) \
         $(wildcard $(BUILD)/tests/fuzz/*.d)
