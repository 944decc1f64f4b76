/* l_interrupt.c -- Lua calls that SIGINT, SIGTERM and SIGHUP interrupt (see l_interrupt.h) */
#include "l_interrupt.h"
#include <lauxlib.h>
#include <signal.h>
#include <string.h>

static lua_State *running_L;             /* the state running interruptible code */
static volatile sig_atomic_t caught;     /* the last signal received */
static volatile sig_atomic_t keep_handler;

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, caught == SIGINT ? "interrupted" : "terminated");
}

/* only async-signal-safe work here: lua_sethook is documented as safe */
static void on_signal(int sig) {
  if (!keep_handler) signal(sig, SIG_DFL); /* a second one kills at once */
  caught = sig;
  lua_sethook(running_L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int lb_pcall_interruptible(lua_State *L, int nargs, int nres, int stay_alive) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  lua_State *outer = running_L;
  int outer_keep = keep_handler;
  running_L = L;
  keep_handler = stay_alive;
  struct sigaction sa, old_int, old_term, old_hup;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup); /* a closed terminal: the run ends "killed", not "crashed" */
  int status = lua_pcall(L, nargs, nres, base);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  running_L = outer;
  keep_handler = outer_keep;
  lua_sethook(L, NULL, 0, 0); /* a signal that came after the last instruction */
  lua_remove(L, base);
  return status;
}

int lb_interrupt_signal(void) { return caught; }
void lb_clear_interrupt(void) { caught = 0; }
