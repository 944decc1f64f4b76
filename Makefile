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

.PHONY: all deps run test bench sanitize valgrind clean

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
	LUNET_CACHE_MB=0 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) BUILD=build-san BIN=build-san/lunet CFLAGS="$(SAN_FLAGS)" test

# ---- valgrind memcheck of the test suite: no leaks, no invalid accesses.
# Built without -march=native and with OpenBLAS held to AVX2 kernels, since
# valgrind does not decode AVX-512.
valgrind:
	$(MAKE) BUILD=build-vg BIN=build-vg/lunet OPT="-O1" build-vg/lunet
	OPENBLAS_CORETYPE=Haswell LUNET_CACHE_MB=0 LUNET_NUM_THREADS=1 valgrind -q --error-exitcode=1 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect --show-possibly-lost=no \
	  build-vg/lunet tests/spec_runner.lua $(VALGRIND_SPECS)

clean:
	rm -rf build build-san build-vg lunet

# ---- fuzzing: each tests/fuzz/fuzz_<name>.c is a libFuzzer target over the C
# core (clang, ASan + UBSan; needs `apt-get install -y clang libomp-dev`), run
# for FUZZ_SECONDS from the seeds in tests/fuzz/corpus/<name>/ with
# tests/fuzz/<name>.dict when there is one. New inputs go to
# $(FUZZ_BUILD)/corpus/<name>/ and crashes to $(FUZZ_BUILD)/<name>-crash-*, so
# the tree stays as it is. To keep a crash as a regression test, fix it and
# copy the input into tests/fuzz/corpus/<name>/: the C test of <name> replays
# every seed there. FUZZ_ARGS passes more libFuzzer options (-jobs=4, or
# -runs=0 to replay the corpus once without fuzzing).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(wildcard src/*.h)
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs $(FUZZ_CC): apt-get install -y clang libomp-dev"; exit 1; }
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(BASE) -o $@ $< $(CORE_SRC) $(LIBS)

.PHONY: fuzz
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
	  name=$${f#$(FUZZ_BUILD)/fuzz_}; mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  dict=; [ -f tests/fuzz/$$name.dict ] && dict=-dict=tests/fuzz/$$name.dict; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	  LUNET_CACHE_MB=0 $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ_BUILD)/$$name- $(FUZZ_ARGS) $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name \
	    || exit 1; \
	done
