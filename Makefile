# nnsweep: NNGP and data-parallel CNN sweeps for HPC clusters.
#   make            build build/nnsweep
#   make test       install what the tests need, build, run every test (ends "N passed, N failed")
#   make bench      install PyTorch if missing, side-by-side benchmarks against it (prints ratios)
#   make demo       install what the build needs, build, the default NNGP sweep on all cores
#   make deps       install every missing Debian package (as root; elsewhere prints what to run)
# demo, test and bench install first and then build in a new make, so the pkg-config flags are
# read after the packages exist (a fresh machine's first command works).
#   make SANITIZE=1 test   the tests under AddressSanitizer + UndefinedBehaviorSanitizer
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

ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE $(OPT) $(ARCH) -fopenmp $(WARN) $(SAN) \
             -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = -fopenmp $(SAN) $(LDFLAGS)
ALL_LIBS = $(PKG_LIBS) $(HDF5_HL_LIB) -lm $(LDLIBS)
BUILD_DEFS = -DNNSWEEP_VERSION='"$(VERSION)"' -DNNSWEEP_COMMIT='"$(GIT_COMMIT)"' \
             -DNNSWEEP_CC='"$(CC)"' -DNNSWEEP_CFLAGS='"$(strip $(OPT) $(ARCH) $(SAN) $(CFLAGS))"'

# Sanitizer builds live apart, so switching never mixes objects built with other flags.
BUILD ?= build$(if $(filter 1,$(SANITIZE)),-san)
LIB_SRC  = $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ = $(BUILD)/src/cli/main.o
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(PKG_TEST) 2>/dev/null)

.PHONY: all test bench demo deps clean FORCE pkgcheck
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

deps:
	@scripts/deps.sh all

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@SANITIZE=$(SANITIZE) NNSWEEP_BIN=$(CURDIR)/$(BUILD)/nnsweep tests/run.sh $(TEST_BIN)

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@bench/run.sh

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:%=%.d)
