/* fuzz_filter.c -- libFuzzer target: checks.filter of tests/fuzz/checks.lua on
 * every input (see there for what is checked, and lua_target.h for how).
 * Build and run: make fuzz FUZZ_TARGETS=filter. */
#define FUZZ_CHECK "filter"
#include "lua_target.h"
