/* main.c -- the lunet program: runs scripts, -e code, or a plain REPL.
 *
 *   lunet script.lua a b     runs the script with arg = {[0] = "script.lua", "a", "b"}
 *   lunet -e 'code'          runs code (several -e run in order)
 *   lunet                    REPL on a terminal; reads a script from a pipe
 *   lunet -v | --version     versions of lunet, Lua and BLAS, and the thread count
 *   lunet runs ARGS...       queries the run history (lua/lunet/runs/cli.lua)
 *
 * A script run records itself in the run history (lunet.runs): a run row made
 * before it starts and finished after it with the status finished, failed (a
 * Lua error, with message and traceback) or killed (SIGINT/SIGTERM/SIGHUP: the Lua
 * hook stops the script, the run is flushed, exit 130/143).
 */
#include "l_interrupt.h"
#include "l_library.h"
#include "tensor.h"
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "version.h"


/* call the function below nargs arguments with a traceback on error; Ctrl-C
   or SIGTERM stops the script at its next Lua instruction, a second one at once */
static int docall(lua_State *L, int nargs, int nres) { return lb_pcall_interruptible(L, nargs, nres, 0); }

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "lunet: %s\n", msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* global `lunet`, so scripts and the REPL need no require */
static int preload_lunet(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunet");
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, "lunet");
  return report(L, status);
}

static void print_version(lua_State *L) {
  printf("lunet %s\n%s\nBLAS: %s\nthreads: %d\n", LUNET_VERSION, LUA_RELEASE, lt_blas_info(),
         lt_get_num_threads());
  (void)L;
}

static void print_usage(void) {
  printf("usage: lunet [options] [script [args]]\n"
         "  -e code        run code (may be repeated)\n"
         "  -i             enter the REPL after running the script or code\n"
         "  -v, --version  print lunet, Lua and BLAS versions and the thread count\n"
         "  --db PATH      record runs in PATH (default: $LUNET_DB, else ./runs.db)\n"
         "  --no-run       do not record this script as a run (also LUNET_NO_RUN=1)\n"
         "  lunet runs ... query the run history (lunet runs help)\n"
         "  -h, --help     print this help\n"
         "  -              run the script read from standard input\n"
         "With no script and a terminal on standard input, starts the REPL;\n"
         "with a pipe, runs what it reads as a script.\n"
         "Environment: LUNET_NUM_THREADS (threads, default: all cores), LUNET_DB, LUNET_NO_RUN.\n");
}

/* arg = {[0] = script, ...}, negative indices for the interpreter and options */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* report, keeping the first error message (with traceback) in *errmsg for the run history */
static int report_keeping(lua_State *L, int status, char **errmsg) {
  if (status != LUA_OK && lua_isstring(L, -1) && !*errmsg) *errmsg = strdup(lua_tostring(L, -1));
  return report(L, status);
}

static int run_script(lua_State *L, const char *path, char **argv, int argc, int script, char **errmsg) {
  const char *fname = strcmp(path, "-") == 0 ? NULL : path;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = 0;
    for (int i = script + 1; i < argc; i++, n++) lua_pushstring(L, argv[i]);
    status = docall(L, n, 0);
  }
  return report_keeping(L, status, errmsg);
}

/* ---- the run history: lunet.runs records the script -------------------------- */

/* the command line as a shell would take it back */
static void push_command_line(lua_State *L, char **argv, int argc) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; i < argc; i++) {
    if (i) luaL_addchar(&b, ' ');
    const char *a = argv[i];
    if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == strlen(a)) {
      luaL_addstring(&b, a);
      continue;
    }
    luaL_addchar(&b, '\'');
    for (; *a; a++) {
      if (*a == '\'') luaL_addstring(&b, "'\\''");
      else luaL_addchar(&b, *a);
    }
    luaL_addchar(&b, '\'');
  }
  luaL_pushresult(&b);
}

/* call lunet.runs.<fn> with the nargs values below; a failure only warns */
static void runs_hook(lua_State *L, const char *fn, int nargs) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunet.runs");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    fprintf(stderr, "lunet: run history unavailable: %s\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_pop(L, 1 + nargs);
    return;
  }
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  lua_insert(L, -1 - nargs);
  if (lua_pcall(L, nargs, 0, 0) != LUA_OK) {
    fprintf(stderr, "lunet: run history: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

static void runs_begin(lua_State *L, const char *script, char **argv, int argc, int record) {
  if (script) lua_pushstring(L, script); else lua_pushnil(L);
  push_command_line(L, argv, argc);
  lua_pushboolean(L, record);
  runs_hook(L, "_begin", 3);
}

/* finish the open runs: status from how the program ends; returns the exit code */
static int runs_end(lua_State *L, int status, const char *errmsg) {
  int code = status == LUA_OK ? 0 : 1;
  int stop_signal = lb_interrupt_signal();
  if (stop_signal) {
    code = 128 + stop_signal;
    lua_pushliteral(L, "killed");
    lua_pushinteger(L, code);
    lua_pushstring(L, stop_signal == SIGINT ? "killed by SIGINT" : stop_signal == SIGHUP ? "killed by SIGHUP"
                                                                                 : "killed by SIGTERM");
    lua_pushnil(L);
  } else if (status == LUA_OK) {
    lua_pushliteral(L, "finished");
    lua_pushinteger(L, 0);
    lua_pushnil(L);
    lua_pushnil(L);
  } else {
    const char *msg = errmsg ? errmsg : "(error object is not a string)";
    const char *tb = strstr(msg, "\nstack traceback:");
    lua_pushliteral(L, "failed");
    lua_pushinteger(L, code);
    if (tb) lua_pushlstring(L, msg, (size_t)(tb - msg)); else lua_pushstring(L, msg);
    if (tb) lua_pushstring(L, tb + 1); else lua_pushnil(L);
  }
  runs_hook(L, "_end", 4);
  return code;
}

/* lunet runs ARGS...: lunet.runs.cli.main{ARGS...} */
static int runs_command(lua_State *L, char **argv, int argc, int first) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunet.runs.cli");
  int status = docall(L, 1, 1);
  if (status != LUA_OK) return report(L, status) ? 1 : 0;
  if (!lua_istable(L, -1) || lua_getfield(L, -1, "main") != LUA_TFUNCTION) {
    fprintf(stderr, "lunet runs: not available yet\n");
    return 1;
  }
  lua_createtable(L, argc - first, 0);
  for (int i = first; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - first + 1);
  }
  /* a user's mistake (a bad filter, an unknown run) is a message, not a traceback */
  status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "lunet runs: %s\n", msg ? msg : "(error object is not a string)");
    return 1;
  }
  if (lb_interrupt_signal()) return 128 + lb_interrupt_signal();
  return lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : lua_toboolean(L, -1) || lua_isnil(L, -1) ? 0 : 1;
}

static int run_string(lua_State *L, const char *code, char **errmsg) {
  int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report_keeping(L, status, errmsg);
}

/* the REPL (lua/lunet/repl): its own Ctrl-C handling runs each line; between
   lines a Ctrl-C must not kill the session, so it is ignored there */
static int repl(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunet.repl");
  struct sigaction ignore, old;
  memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGINT, &ignore, &old);
  int status = lua_pcall(L, 1, 1, 0);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "run");
    lua_remove(L, -2);
    status = lua_pcall(L, 0, 0, 0);
  }
  sigaction(SIGINT, &old, NULL);
  return report(L, status);
}

int main(int argc, char **argv) {
  lt_runtime_init();
  /* a write past `ulimit -f` or into a closed pipe fails with an error the caller reports
     (a checkpoint save raises, `lunet x.lua | head` keeps training), instead of a signal
     that kills the process and leaves its run "crashed" */
  signal(SIGXFSZ, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  lua_State *L = luaL_newstate();
  if (!L) { fprintf(stderr, "lunet: cannot create the Lua state (out of memory)\n"); return 1; }
  lb_install_library(L);
  /* Every tensor op makes a short-lived box; the generational collector
     frees them young, which makes a small op 3x cheaper than with the
     incremental one (0.28 vs 0.90 us for x + y on 2x2). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  int script = 0, interactive = 0, ran = 0, status = LUA_OK, record = 1, runs_cmd = 0;
  const char *no_run = getenv("LUNET_NO_RUN");
  if (no_run && *no_run && strcmp(no_run, "0") != 0) record = 0;
  /* first pass: options that do not run anything, and where the script is */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) { print_version(L); lua_close(L); return 0; }
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { print_usage(); lua_close(L); return 0; }
    if (strcmp(argv[i], "-e") == 0) {
      if (++i >= argc) { fprintf(stderr, "lunet: '-e' needs an argument\n"); lua_close(L); return 1; }
      continue;
    }
    if (strcmp(argv[i], "-i") == 0) { interactive = 1; continue; }
    if (strcmp(argv[i], "--no-run") == 0) { record = 0; continue; }
    if (strcmp(argv[i], "--db") == 0) {
      if (++i >= argc || !*argv[i]) { fprintf(stderr, "lunet: '--db' needs a path\n"); lua_close(L); return 1; }
      setenv("LUNET_DB", argv[i], 1); /* children (and lunet.runs) see the same database */
      continue;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "lunet: unknown option '%s'\n", argv[i]);
      print_usage();
      lua_close(L);
      return 1;
    }
    script = i;
    break;
  }
  if (script && strcmp(argv[script], "runs") == 0) runs_cmd = 1;
  create_arg_table(L, argv, argc, script);
  if (preload_lunet(L) != LUA_OK) { lua_close(L); return 1; }
  if (runs_cmd) {
    int code = runs_command(L, argv, argc, script + 1);
    lua_close(L);
    return code;
  }
  /* scripts from files are recorded; -e code and stdin only when they call lunet.runs.start */
  /* a missing script is no run; a script that fails to compile is a failed one */
  int real_script = script && strcmp(argv[script], "-") != 0 && access(argv[script], R_OK) == 0;
  runs_begin(L, real_script ? argv[script] : NULL, argv, argc, record && real_script);
  char *errmsg = NULL;
  int end = script ? script : argc;
  for (int i = 1; i < end && status == LUA_OK; i++)
    if (strcmp(argv[i], "-e") == 0) { status = run_string(L, argv[++i], &errmsg); ran = 1; }
  if (status == LUA_OK && script) {
    status = run_script(L, argv[script], argv, argc, script, &errmsg);
    ran = 1;
  }
  if (status == LUA_OK && !lb_interrupt_signal() && (interactive || !ran)) {
    if (isatty(STDIN_FILENO)) status = repl(L);
    else if (!ran || interactive) status = run_script(L, "-", argv, argc, argc - 1, &errmsg);
  }
  int code = runs_end(L, status, errmsg);
  free(errmsg);
  lua_close(L);
  return code;
}
