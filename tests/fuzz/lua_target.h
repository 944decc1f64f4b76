/* lua_target.h -- the body of a libFuzzer target over lunet's Lua library.
 *
 * A target defines FUZZ_CHECK (a field of tests/fuzz/checks.lua) and includes
 * this file. Once, it builds a lua_State as the lunet program does (the
 * standard libraries, lunet.core, the Lua library compiled into the binary,
 * the global `lunet`) and loads checks.lua (from the repository's root, or
 * $LUNET_FUZZ_CHECKS). Then for each input it calls checks[FUZZ_CHECK](bytes),
 * which returns nil when the code under test behaved and a description of the
 * finding otherwise (the rules are in checks.lua, shared with
 * tests/spec/fuzz_replay.lua); a finding, or an error escaping the check,
 * aborts so libFuzzer keeps the input.
 *
 * The Lua interpreter is not instrumented, so libFuzzer would see no coverage
 * of the Lua code: a line hook feeds it instead, counting each transition
 * between two executed Lua lines into libFuzzer's extra counters.
 */
#include "l_library.h"
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COV_SIZE (1 << 16)
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_cov[COV_SIZE];
static uintptr_t lua_cov_prev;

static void line_hook(lua_State *L, lua_Debug *ar) {
  /* the line alone (asking which file costs more than the rest of the hook):
     lines of different files may share a counter, a small loss */
  uintptr_t site = (uintptr_t)ar->currentline * 2654435761u;
  uint8_t *c = &lua_cov[(site ^ lua_cov_prev) % COV_SIZE];
  if (*c < 255) (*c)++;
  lua_cov_prev = site >> 1; /* shifted, so a->b and b->a differ */
  (void)L;
}

static void die(lua_State *L, const char *what) {
  fprintf(stderr, "fuzz target %s: %s: %s\n", FUZZ_CHECK, what, lua_tostring(L, -1));
  abort();
}

static lua_State *fuzz_L;

/* the checks' temporary files go when libFuzzer exits */
static void cleanup(void) {
  lua_getfield(fuzz_L, LUA_REGISTRYINDEX, "lunet.fuzz.checks");
  lua_getfield(fuzz_L, -1, "cleanup");
  lua_pcall(fuzz_L, 0, 0, 0);
  lua_settop(fuzz_L, 0);
}

static lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  if (!L) abort();
  lb_install_library(L); /* as the lunet program does */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunet");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) die(L, "require 'lunet'");
  lua_setglobal(L, "lunet");
  const char *path = getenv("LUNET_FUZZ_CHECKS");
  if (!path) path = "tests/fuzz/checks.lua";
  if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) die(L, "loading the checks (run from the repository's root)");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "lunet.fuzz.checks");
  lua_getfield(L, -1, FUZZ_CHECK);
  if (!lua_isfunction(L, -1)) die(L, "checks.lua has no such check");
  lua_setfield(L, LUA_REGISTRYINDEX, "lunet.fuzz.check");
  lua_settop(L, 0);
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  return L;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (!fuzz_L) {
    fuzz_L = new_state();
    atexit(cleanup);
  }
  lua_State *L = fuzz_L;
  lua_cov_prev = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, "lunet.fuzz.check");
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) die(L, "error escaping the check");
  if (!lua_isnil(L, -1)) die(L, "finding");
  lua_settop(L, 0);
  return 0;
}
