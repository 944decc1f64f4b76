/* l_repl.c -- the terminal half of the REPL (lua/lunet/repl/ is the rest):
 *
 *   _repl.readline(prompt) -> line | nil (Ctrl-D at an empty line) | false (Ctrl-C)
 *   _repl.add_history(line)           recall with the arrow keys and Ctrl-R
 *   _repl.set_completer(fn)           Tab calls fn(word, line, start) -> {candidates}
 *   _repl.call(fn, ...) -> true, results... | false, message with traceback
 *                                     (Ctrl-C stops fn with "interrupted"; the REPL lives on;
 *                                     SIGTERM stops fn and raises "terminated" out of the REPL)
 *   _repl.isatty(fd) -> boolean       _repl.terminal_size() -> columns, rows | nil
 *   _repl.docs() -> {["docs/nn.md"] = text, ...}, the docs compiled in (for help)
 *
 * Line editing is libedit (BSD licence) through its readline interface, used in
 * callback mode: we wait for input with select() ourselves, so a Ctrl-C at the
 * prompt interrupts the wait, and we drop the line instead of leaving libedit
 * inside a read() it cannot be woken from.
 */
#include "embedded.h"
#include "l_interrupt.h"
#include "l_tensor.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>
#include <editline/readline.h>

/* ---- reading a line ---------------------------------------------------------- */

static char *line_read;                /* what the callback handed over */
static int line_done;
static volatile sig_atomic_t sigint_at_prompt;
static lua_State *completing_L;        /* the state Tab completion calls into */

static void on_line(char *line) {
  line_read = line;
  line_done = 1;
  rl_callback_handler_remove(); /* restores the terminal before the code runs */
}

static void on_prompt_sigint(int sig) { (void)sig; sigint_at_prompt = 1; }

static int r_readline(lua_State *L) {
  const char *prompt = luaL_checkstring(L, 1);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint; /* no SA_RESTART: select() returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  line_read = NULL;
  line_done = 0;
  sigint_at_prompt = 0;
  completing_L = L;
  rl_callback_handler_install(prompt, on_line);
  while (!line_done && !sigint_at_prompt) {
    fd_set in;
    FD_ZERO(&in);
    FD_SET(STDIN_FILENO, &in);
    if (select(STDIN_FILENO + 1, &in, NULL, NULL, NULL) < 0) {
      if (errno == EINTR) continue;
      break; /* stdin is gone: treat as end of input */
    }
    rl_callback_read_char();
  }
  sigaction(SIGINT, &old, NULL);
  completing_L = NULL;
  if (!line_done) {
    rl_callback_handler_remove();
    if (sigint_at_prompt) {
      fputs("^C\n", stdout);
      fflush(stdout);
      lua_pushboolean(L, 0);
      return 1;
    }
    lua_pushnil(L);
    return 1;
  }
  if (!line_read) { /* Ctrl-D */
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line_read); /* may raise on memory: free first */
  free(line_read);
  return 1;
}

static int r_add_history(lua_State *L) {
  add_history(luaL_checkstring(L, 1));
  return 0;
}

/* ---- Tab completion ------------------------------------------------------------ */

#define COMPLETER_KEY "lunet.repl.completer"

static char **candidates; /* from the Lua completer, handed out one by one */
static int n_candidates, next_candidate;

static void free_candidates(void) {
  for (int i = next_candidate; i < n_candidates; i++) free(candidates[i]);
  free(candidates);
  candidates = NULL;
  n_candidates = next_candidate = 0;
}

/* calls the Lua completer: word, line, start (1-based) -> table of strings */
static int call_completer(lua_State *L) {
  const char *word = lua_tostring(L, 1);
  int start = (int)lua_tointeger(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
  lua_pushstring(L, word);
  lua_pushstring(L, rl_line_buffer ? rl_line_buffer : "");
  lua_pushinteger(L, start + 1);
  lua_call(L, 3, 1);
  if (!lua_istable(L, -1)) return 0;
  lua_Integer n = luaL_len(L, -1);
  if (n > 100000) n = 100000;
  candidates = calloc((size_t)n + 1, sizeof *candidates);
  if (!candidates) return 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    const char *s = lua_tostring(L, -1);
    if (s && (candidates[n_candidates] = strdup(s)) != NULL) n_candidates++;
    lua_pop(L, 1);
  }
  return 0;
}

static char *next_match(const char *text, int state) {
  (void)text;
  (void)state;
  if (next_candidate >= n_candidates) return NULL;
  return candidates[next_candidate++]; /* libedit frees it */
}

static char **complete(const char *text, int start, int end) {
  (void)end;
  rl_attempted_completion_over = 1; /* no file-name completion when we find nothing */
  lua_State *L = completing_L;
  free_candidates();
  if (!L) return NULL;
  lua_getfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
  int has = lua_isfunction(L, -1);
  lua_pop(L, 1);
  if (!has) return NULL;
  lua_pushcfunction(L, call_completer);
  lua_pushstring(L, text);
  lua_pushinteger(L, start);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1); /* a broken completer completes nothing */
  if (n_candidates == 0) { free_candidates(); return NULL; }
  char **matches = rl_completion_matches(text, next_match);
  free_candidates();
  return matches;
}

static int r_set_completer(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
  return 0;
}

/* ---- running what was typed ---------------------------------------------------- */

static int r_call(lua_State *L) {
  luaL_checkany(L, 1);
  int n = lua_gettop(L) - 1;
  lb_clear_interrupt();
  int status = lb_pcall_interruptible(L, n, LUA_MULTRET, 1);
  /* SIGTERM or SIGHUP ends the session (the run history marks it killed); Ctrl-C only the line */
  if (lb_interrupt_signal() == SIGTERM || lb_interrupt_signal() == SIGHUP) return luaL_error(L, "terminated");
  lb_clear_interrupt();
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

/* ---- the terminal --------------------------------------------------------------- */

static int r_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= 1023, 1, "expected a file descriptor (0 to 1023)");
  lua_pushboolean(L, isatty((int)fd));
  return 1;
}

static int r_terminal_size(lua_State *L) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 0;
  lua_pushinteger(L, ws.ws_col);
  lua_pushinteger(L, ws.ws_row);
  return 2;
}

/* ---- the docs compiled into the binary ------------------------------------------ */

static int r_docs(lua_State *L) {
  lua_newtable(L);
  for (const lunet_embedded_file *f = lunet_embedded; f->path; f++) {
    if (f->module) continue;
    lua_pushlstring(L, f->source, f->size);
    lua_setfield(L, -2, f->path);
  }
  return 1;
}

void lb_open_repl(lua_State *L, int module) {
  static const luaL_Reg fns[] = {
      {"readline", r_readline}, {"add_history", r_add_history}, {"set_completer", r_set_completer},
      {"call", r_call},         {"isatty", r_isatty},           {"terminal_size", r_terminal_size},
      {"docs", r_docs},         {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, module, "_repl");
  /* words end at these; '.' and ':' stay inside, so "x:si" completes as a whole */
  static char breaks[] = " \t\n\"'`@$><=;|&{(,+-*/%^~#[]}";
  rl_completer_word_break_characters = breaks;
  rl_basic_word_break_characters = breaks;
  rl_attempted_completion_function = complete;
  rl_completion_append_character = '\0';
  rl_catch_signals = 0; /* SIGINT is ours (see r_readline) */
  rl_readline_name = "lunet"; /* ~/.editrc can say "lunet:bind ..." */
}
