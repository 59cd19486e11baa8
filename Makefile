# libcortex build. `make` builds the library and tools; `make test` runs the suite.
# Sources are found by directory, so adding a file needs no edit here. Only
# src/kernels/avx2/ and src/kernels/avx512/ get ISA flags; all else is portable C11.

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
OPT     ?= -O2
CFLAGS  ?=
BASE    := -std=c11 $(OPT) -g -Wall -Wextra -pthread -Iinclude -Isrc -Itests/support -D_GNU_SOURCE $(CFLAGS)
AVX2F   := -mavx2 -mfma -mf16c
AVX512F := $(AVX2F) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni
LDLIBS  := -lpthread -lm
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

B       ?= build
LIB_SRC := $(sort $(shell find src -name '*.c'))
TOOL_COMMON := tools/cli.c
TEST_SUPPORT := $(sort $(wildcard tests/support/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
# run again on the SIMDe build with the avx512 table: the kernel tests, and the
# Winograd and conv-layer tests that drive the AVX-512 kernels through the layers
KTEST_SRC := $(sort $(wildcard tests/test_kernel*.c)) tests/test_winograd.c tests/test_layers.c
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

define objs
$(patsubst %.c,$(1)/obj/%.o,$(2))
endef

LIB_OBJ := $(call objs,$(B),$(LIB_SRC))
TOOLS   := $(B)/cortex $(B)/cortex-convert $(B)/cortex-bench $(B)/npy-diff
TESTS   := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC))

# test objects are intermediates of the test programs: keep them between runs
.SECONDARY:

.PHONY: all test test-unit test-simde asan fuzz parity demo clean bench-compare
all: $(B)/libcortex.a $(TOOLS)

# flags by directory
isaflags = $(if $(findstring /kernels/avx512/,$(1)),$(AVX512F),$(if $(findstring /kernels/avx2/,$(1)),$(AVX2F),))

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(call isaflags,$@) -MMD -MP -c $< -o $@

$(B)/libcortex.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/cortex: $(call objs,$(B),tools/cortex.c $(TOOL_COMMON)) $(B)/libcortex.a
	$(CC) $(BASE) $^ -o $@ $(LDLIBS)
$(B)/cortex-convert: $(call objs,$(B),tools/cortex_convert.c $(TOOL_COMMON)) $(B)/libcortex.a
	$(CC) $(BASE) $^ -o $@ $(LDLIBS)
$(B)/cortex-bench: $(call objs,$(B),tools/cortex_bench.c $(TOOL_COMMON)) $(B)/libcortex.a
	$(CC) $(BASE) $^ -o $@ $(LDLIBS)

$(B)/npy-diff: $(call objs,$(B),tools/npy_diff.c $(TOOL_COMMON)) $(B)/libcortex.a
	$(CC) $(BASE) $^ -o $@ $(LDLIBS)

$(B)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/%: $(B)/obj/tests/%.o $(call objs,$(B),$(TEST_SUPPORT)) $(B)/libcortex.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $^ -o $@ $(CHECK_LIBS) $(LDLIBS)

# ---- tests: every tests/test_*.c is one Check program, run from the repo root
test: all $(TESTS) test-simde
	@CX_TESTS="$(TESTS)" sh tests/run.sh
	@B=$(B) sh tests/api_example.sh
	@B=$(B) sh tests/bad_inputs.sh

test-unit: all $(TESTS)
	@CX_TESTS="$(TESTS)" sh tests/run.sh

# ---- SIMDe build: the AVX-512 kernel sources on portable intrinsics, so their
# logic is tested on any x86-64. Test-only; the library never links SIMDe.
SB := $(B)/simde
SIMDE_LIB_OBJ := $(patsubst %.c,$(SB)/obj/%.o,$(LIB_SRC))
SIMDE_TESTS := $(patsubst tests/%.c,$(SB)/tests/%,$(KTEST_SRC))
$(SB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -Wno-psabi -DCX_SIMDE $(if $(findstring /kernels/avx512/,$@),,$(call isaflags,$@)) -MMD -MP -c $< -o $@
$(SB)/libcortex.a: $(SIMDE_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(SB)/tests/%: tests/%.c $(TEST_SUPPORT) $(SB)/libcortex.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -DCX_SIMDE $(CHECK_CFLAGS) $^ -o $@ $(CHECK_LIBS) $(LDLIBS)
test-simde: $(SIMDE_TESTS)
	@if [ -n "$(SIMDE_TESTS)" ]; then CORTEX_TEST_ISA=avx512 CX_TESTS="$(SIMDE_TESTS)" sh tests/run.sh; fi

# ---- sanitizers: the whole suite under ASan + UBSan
asan:
	$(MAKE) B=build/asan OPT=-O1 CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test-unit

# ---- fuzzing (clang + libFuzzer): FUZZ_SECONDS each harness
FUZZ_SECONDS ?= 60
FB := build/fuzz
fuzz:
	$(MAKE) B=$(FB) CC=clang OPT=-O1 CFLAGS="-fsanitize=fuzzer-no-link,address,undefined" $(FB)/libcortex.a
	@mkdir -p $(FB)/bin
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -std=c11 -O1 -g -Iinclude -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $$f $(FB)/libcortex.a -o $(FB)/bin/$$n $(LDLIBS); \
	  mkdir -p $(FB)/corpus/$$n; cp -f tests/fuzz/seeds/$$n/* $(FB)/corpus/$$n/ 2>/dev/null || true; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $(FB)/bin/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 $(FB)/corpus/$$n 2>&1 | tail -n 4; done

# ---- full-size comparisons with PyTorch (needs Debian python3-torch, python3-torchvision)
parity: all
	sh tools/parity/parity.sh

demo: all
	sh tools/demo.sh

bench-compare: all
	sh bench/compare

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
