# lunet -- build, dependencies, tests, benchmarks, sanitizers.
# `make` builds ./lunet; `make deps` installs the Debian packages it needs.

CC      ?= cc
OPT     ?= -O3 -march=native -mprefer-vector-width=512
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
INC     := -I/usr/include/lua5.4 -I/usr/include/x86_64-linux-gnu/openblas-openmp -Isrc
# -fwrapv: int64 tensor arithmetic wraps like PyTorch's instead of being undefined
BASE    := -std=gnu11 -fopenmp -fwrapv -fno-math-errno $(WARN) $(INC)
LIBS    := -llua5.4 -lopenblas -lsqlite3 -lpng -ledit -lz -lm -ldl
BUILD   ?= build
BIN     ?= lunet

# the C core is every src/*.c but the Lua bindings (l_*.c) and main.c
BIND_SRC := $(sort $(wildcard src/l_*.c))
CORE_SRC := $(filter-out $(BIND_SRC) src/main.c,$(sort $(wildcard src/*.c)))
LUA_SRC  := $(shell find lua -name '*.lua' | sort)
DOC_SRC  := $(sort $(wildcard docs/*.md))

CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/%.o)
BIND_OBJ := $(BIND_SRC:src/%.c=$(BUILD)/%.o)
OBJ      := $(CORE_OBJ) $(BIND_OBJ) $(BUILD)/main.o $(BUILD)/embedded.o

DEB_PACKAGES := build-essential liblua5.4-dev libopenblas-openmp-dev libsqlite3-dev zlib1g-dev \
                libpng-dev libedit-dev dataset-fashion-mnist chromium tmux

.PHONY: all deps run test bench sanitize valgrind check check-all clean

all: $(BIN)

$(BIN): $(OBJ)
	$(CC) $(CFLAGS) $(BASE) -o $@ $(OBJ) $(LIBS)

$(BUILD)/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)
	$(CC) $(CFLAGS) $(BASE) -c -o $@ $<

$(BUILD)/embed: tools/embed.c | $(BUILD)
	$(CC) -O2 -o $@ $<

$(BUILD)/embedded.c: $(BUILD)/embed $(LUA_SRC) $(DOC_SRC)
	$(BUILD)/embed $@ lua $(LUA_SRC) $(DOC_SRC)

$(BUILD)/embedded.o: $(BUILD)/embedded.c src/embedded.h
	$(CC) $(CFLAGS) $(BASE) -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD)

# Debian packages, installed only when missing
deps:
	@missing=""; for p in $(DEB_PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# ---- the main job: train a seed model on Fashion-MNIST
run: $(BIN)
	./$(BIN) examples/cnn.lua && ./$(BIN) runs ls

# ---- tests: C unit tests, then Lua specs; the last line is "N passed, N failed"
TEST_C   := $(wildcard tests/c/test_*.c)
TEST_BIN := $(TEST_C:tests/c/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(CORE_OBJ)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS) $(BASE) -Itests/c -o $@ $< $(CORE_OBJ) $(LIBS)

test: $(BIN) $(TEST_BIN)
	@LUNET=./$(BIN) ./tests/run.sh $(TEST_BIN)

# ---- benchmarks (side by side with PyTorch when python3-torch is installed)
bench: $(BIN)
	@./experiments/bench.sh

# ---- ASan + UBSan build of everything, then the whole test suite
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
sanitize:
	LUNET_CACHE_MB=0 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build-san BIN=build-san/lunet CFLAGS="$(SAN_FLAGS)" test

# ---- the README's test command: the suite, then the same suite under ASan + UBSan;
# the last line adds up both ("N passed, N failed"), a failed build counting as a failure
check:
	@log=$$(mktemp); \
	{ $(MAKE) --no-print-directory test; echo "exit=$$?"; \
	  $(MAKE) --no-print-directory sanitize; echo "exit=$$?"; } 2>&1 | tee $$log | grep -v '^exit='; \
	bad=$$(grep -c '^exit=[1-9]' $$log); \
	set -- $$(grep -E '^[0-9]+ passed, [0-9]+ failed$$' $$log | awk '{ p += $$1; f += $$3 } END { print p + 0, f + 0 }'); \
	rm -f $$log; echo "plain and sanitized suites together:"; echo "$$1 passed, $$(($$2 + bad)) failed"; \
	[ "$$bad" -eq 0 ] && [ "$$2" -eq 0 ]

# ---- everything docs/reliability.md names: the suite, then under the sanitizers and
# valgrind, then each fuzzer for FUZZ_SECONDS (one after the other: they share 2 cores)
check-all:
	$(MAKE) check && $(MAKE) valgrind && $(MAKE) fuzz

# ---- valgrind memcheck of the test suite, then of a training example (examples/mlp.lua
# --quick: fit, DataLoader, checkpoint, run logging), in a scratch directory and database:
# no leaks, no invalid accesses. Built without -march=native and with OpenBLAS held to
# AVX2 kernels, since valgrind does not decode AVX-512.
VG_RUN := OPENBLAS_CORETYPE=Haswell LUNET_CACHE_MB=0 LUNET_NUM_THREADS=1 valgrind -q --error-exitcode=1 \
  --leak-check=full --errors-for-leak-kinds=definite,indirect --show-possibly-lost=no
valgrind:
	$(MAKE) BUILD=build-vg BIN=build-vg/lunet OPT="-O1" build-vg/lunet
	$(VG_RUN) build-vg/lunet tests/spec_runner.lua $(VALGRIND_SPECS)
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && echo "valgrind: examples/mlp.lua --quick --epochs 2" && \
	  LUNET_DB=$$dir/runs.db $(VG_RUN) build-vg/lunet examples/mlp.lua --quick --epochs 2 --save $$dir/mlp >$$dir/out.txt 2>&1 || \
	  { cat $$dir/out.txt; exit 1; }; tail -n 2 $$dir/out.txt

clean:
	rm -rf build build-san build-vg build-fuzz lunet

# ---- fuzzing: each tests/fuzz/fuzz_<name>.c is a libFuzzer target (clang,
# ASan + UBSan), run for FUZZ_SECONDS from the seeds in tests/fuzz/corpus/<name>/
# with tests/fuzz/<name>.dict and the libFuzzer options in tests/fuzz/<name>.options
# when there are:
#   csv, idx (plain, and gzip as the file reader meets it), idx_gz (the input
#   gzip-compressed by the target, so every IDX mutation reaches zlib's path),
#   safetensors: the C parsers;
#   filter, tokenizer: the Lua parsers (lua/lunet/runs/filter.lua,
#   lua/lunet/data/text.lua), through tests/fuzz/lua_target.h, which runs the
#   checks of tests/fuzz/checks.lua (shared with tests/spec/fuzz_replay.lua)
#   and feeds Lua line coverage to libFuzzer.
# `make fuzz` installs FUZZ_PACKAGES when missing (`make fuzz-deps` alone), then
# fuzzes the targets one after another (FUZZ_TARGETS="csv idx" for fewer); run
# it from the repository's root. New inputs go to $(FUZZ_BUILD)/corpus/<name>/
# and findings to $(FUZZ_BUILD)/<name>-crash-* (or -timeout-, -leak-), so the
# tree stays as it is. To keep a finding as a regression test, fix it and copy
# the input into tests/fuzz/corpus/<name>/: `make test` replays every seed
# there (tests/c/test_<name>.c for the C targets, test_idx.c for idx_gz,
# tests/spec/fuzz_replay.lua for the Lua ones). To reproduce one input:
# $(FUZZ_BUILD)/fuzz_<name> FILE. FUZZ_ARGS passes more libFuzzer options
# (-runs=0 replays the corpus once without fuzzing).
FUZZ_SECONDS  ?= 60
FUZZ_CC       ?= clang
FUZZ_BUILD    ?= build-fuzz
FUZZ_PACKAGES := clang libclang-rt-14-dev libomp-dev
# what the build needs of `make deps` (no data set, browser or tmux)
FUZZ_BASE_PACKAGES := $(filter-out dataset-fashion-mnist chromium tmux,$(DEB_PACKAGES))
FUZZ_SAN      := -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SRC      := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES    := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_TARGETS  ?= $(FUZZ_NAMES)
# the C core, the bindings and the embedded Lua library, instrumented for
# coverage; the linker takes from the archive only what a target needs
FUZZ_OBJ := $(CORE_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o) $(BIND_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o) \
            $(FUZZ_BUILD)/obj/embedded.o
FUZZ_LIB := $(FUZZ_BUILD)/liblunet_fuzz.a

# C tests that include a fuzz target to replay its seeds
$(BUILD)/tests/test_csv: tests/fuzz/fuzz_csv.c
$(BUILD)/tests/test_idx: tests/fuzz/fuzz_idx_gz.c

.PHONY: fuzz fuzz-deps
fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(FUZZ_BASE_PACKAGES)" EXTRA_PACKAGES="$(FUZZ_PACKAGES)"

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link,address,undefined $(BASE) -c -o $@ $<

$(FUZZ_BUILD)/embed: tools/embed.c
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) -O2 -o $@ $<

$(FUZZ_BUILD)/embedded.c: $(FUZZ_BUILD)/embed $(LUA_SRC) $(DOC_SRC)
	$(FUZZ_BUILD)/embed $@ lua $(LUA_SRC) $(DOC_SRC)

$(FUZZ_BUILD)/obj/embedded.o: $(FUZZ_BUILD)/embedded.c src/embedded.h
	@mkdir -p $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=address,undefined $(BASE) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $(FUZZ_OBJ)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer,address,undefined $(BASE) -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@for name in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  dict=; [ -f tests/fuzz/$$name.dict ] && dict=-dict=tests/fuzz/$$name.dict; \
	  opts=; [ -f tests/fuzz/$$name.options ] && opts=$$(cat tests/fuzz/$$name.options); \
	  echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	  LUNET_CACHE_MB=0 OMP_NUM_THREADS=1 $(FUZZ_BUILD)/fuzz_$$name -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -print_final_stats=1 $$dict $$opts \
	    -artifact_prefix=$(FUZZ_BUILD)/$$name- $(FUZZ_ARGS) $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name \
	    || exit 1; \
	done
