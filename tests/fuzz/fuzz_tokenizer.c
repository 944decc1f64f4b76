/* fuzz_tokenizer.c -- libFuzzer target: checks.tokenizer of tests/fuzz/checks.lua on
 * every input (see there for what is checked, and lua_target.h for how).
 * Build and run: make fuzz FUZZ_TARGETS=tokenizer. */
#define FUZZ_CHECK "tokenizer"
#include "lua_target.h"
