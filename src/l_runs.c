/* l_runs.c -- Lua bindings of the run store (runs_db.c), reached from Lua as
 * require("lunet.core")._runs; lua/lunet/runs/ builds on them.
 *
 *   _runs.open(path, {readonly = b}) -> db    db:query(sql, params) -> rows (rows.columns: the order)
 *   db:query(sql, params, {by_column = true}) -> {columns =, n =, [i]/[name] = array per column}
 *   db:query(sql, params, {tensor = true})    -> the same with 1-D int64/float64 tensors (NULL -> NaN)
 *   db:exec(sql, params) -> changes           db:close()
 *   _runs.start(path, info) -> run            (the recorder: run:log{...} etc.)
 * Statements are prepared with parameters bound, never pasted into the SQL.
 */
#include "l_interrupt.h"
#include "l_tensor.h"
#include "runs_db.h"
#include "version.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_HANDLE "lunet.runs_db"
#define RUN_HANDLE "lunet.run"

/* created closed, then opened: __gc can always run (liolib's rule) */
typedef struct { sqlite3 *db; sqlite3_stmt *st; int readonly; } dbh;
typedef struct { lr_run *r; } runh;

/* ---- the generic handle ------------------------------------------------- */
static dbh *check_db(lua_State *L, const char *fname) {
  dbh *h = luaL_checkudata(L, 1, DB_HANDLE);
  if (!h->db) luaL_error(L, "%s: the database is closed", fname);
  return h;
}

static int db_gc(lua_State *L) {
  dbh *h = luaL_checkudata(L, 1, DB_HANDLE);
  sqlite3_finalize(h->st);
  h->st = NULL;
  if (h->db) sqlite3_close_v2(h->db);
  h->db = NULL;
  return 0;
}

static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int readonly = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_argexpected(L, lua_istable(L, 2), 2, "options table");
    lua_getfield(L, 2, "readonly");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
      luaL_error(L, "runs.open: option readonly must be a boolean, got %s", luaL_typename(L, -1));
    readonly = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  dbh *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->db = NULL;
  h->st = NULL;
  h->readonly = readonly;
  luaL_setmetatable(L, DB_HANDLE);
  char err[512];
  if (!(h->db = lr_open(path, readonly, err, sizeof err))) return luaL_error(L, "runs.open: %s", err);
  return 1;
}

/* bind params (a Lua array at arg, or nil) to h->st */
static void bind_params(lua_State *L, dbh *h, int arg, const char *fname) {
  if (lua_isnoneornil(L, arg)) return;
  luaL_argexpected(L, lua_istable(L, arg), arg, "array of parameters");
  int want = sqlite3_bind_parameter_count(h->st);
  lua_Integer n = (lua_Integer)lua_rawlen(L, arg);
  if (lua_getfield(L, arg, "n") == LUA_TNUMBER) n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (n > want) luaL_error(L, "%s: %d parameters given, the statement has %d", fname, (int)n, want);
  for (int i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, arg, i), rc;
    if (t == LUA_TNIL) rc = sqlite3_bind_null(h->st, i);
    else if (t == LUA_TBOOLEAN) rc = sqlite3_bind_int(h->st, i, lua_toboolean(L, -1));
    else if (lua_isinteger(L, -1)) rc = sqlite3_bind_int64(h->st, i, lua_tointeger(L, -1));
    else if (t == LUA_TNUMBER) rc = sqlite3_bind_double(h->st, i, lua_tonumber(L, -1));
    else if (t == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      rc = sqlite3_bind_text(h->st, i, s, (int)len, SQLITE_TRANSIENT);
    } else
      return (void)luaL_error(L, "%s: parameter %d must be a number, string, boolean or nil, got %s", fname, i,
                              luaL_typename(L, -1));
    if (rc != SQLITE_OK) luaL_error(L, "%s: cannot bind parameter %d: %s", fname, i, sqlite3_errmsg(h->db));
    lua_pop(L, 1);
  }
}

/* prepare the statement at *sql (advancing it past the statement) into h->st */
static int prepare(lua_State *L, dbh *h, const char **sql, const char *fname) {
  sqlite3_finalize(h->st);
  h->st = NULL;
  const char *tail;
  if (sqlite3_prepare_v2(h->db, *sql, -1, &h->st, &tail) != SQLITE_OK)
    return luaL_error(L, "%s: %s", fname, sqlite3_errmsg(h->db));
  *sql = tail;
  return h->st != NULL;
}

static void push_column(lua_State *L, sqlite3_stmt *st, int i) {
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(st, i)); break;
  case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(st, i)); break;
  case SQLITE_NULL: lua_pushnil(L); break;
  default: lua_pushlstring(L, (const char *)sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
  }
}

/* pushes {name1, name2, ...}: the statement's column order */
static void push_names(lua_State *L, sqlite3_stmt *st, int ncol) {
  lua_createtable(L, ncol, 0);
  for (int i = 0; i < ncol; i++) {
    lua_pushstring(L, sqlite3_column_name(st, i));
    lua_rawseti(L, -2, i + 1);
  }
}

/* rows as tables, name -> value; rows.columns gives the order */
static int query_rows(lua_State *L, dbh *h, int ncol) {
  int rc;
  lua_newtable(L);
  lua_Integer n = 0;
  while ((rc = sqlite3_step(h->st)) == SQLITE_ROW) {
    lua_createtable(L, 0, ncol);
    for (int i = 0; i < ncol; i++) {
      push_column(L, h->st, i);
      lua_setfield(L, -2, sqlite3_column_name(h->st, i));
    }
    lua_rawseti(L, -2, ++n);
  }
  if (rc != SQLITE_DONE) return luaL_error(L, "db:query: %s", sqlite3_errmsg(h->db));
  push_names(L, h->st, ncol);
  lua_setfield(L, -2, "columns");
  return 1;
}

/* the column-wise result {columns =, n =, [i] = col, [name] = col}; checks names */
static int new_by_column(lua_State *L, sqlite3_stmt *st, int ncol) {
  for (int i = 0; i < ncol; i++) {
    const char *name = sqlite3_column_name(st, i);
    if (strcmp(name, "columns") == 0 || strcmp(name, "n") == 0)
      return luaL_error(L, "db:query: column name '%s' is reserved in by_column results (rename it with AS)", name);
  }
  lua_createtable(L, ncol, ncol + 2);
  push_names(L, st, ncol);
  lua_setfield(L, -2, "columns");
  return lua_gettop(L);
}

/* one Lua array per column: NULLs leave holes, so result.n is the row count */
static int query_columns(lua_State *L, dbh *h, int ncol) {
  int res = new_by_column(L, h->st, ncol), rc;
  luaL_checkstack(L, ncol + 4, "db:query: too many columns");
  for (int i = 0; i < ncol; i++) lua_newtable(L);
  lua_Integer n = 0;
  while ((rc = sqlite3_step(h->st)) == SQLITE_ROW) {
    n++;
    for (int i = 0; i < ncol; i++) {
      if (sqlite3_column_type(h->st, i) == SQLITE_NULL) continue;
      push_column(L, h->st, i);
      lua_rawseti(L, res + 1 + i, n);
    }
  }
  if (rc != SQLITE_DONE) return luaL_error(L, "db:query: %s", sqlite3_errmsg(h->db));
  for (int i = ncol - 1; i >= 0; i--) {
    lua_pushvalue(L, res + 1 + i);
    lua_setfield(L, res, sqlite3_column_name(h->st, i));
    lua_rawseti(L, res, i + 1);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, res, "n");
  return 1;
}

/* one tensor per column: int64 while every value is an integer, else float64
   (NULL -> NaN); the values are gathered in C buffers, freed before any error */
typedef union { double d; int64_t i; } cell;
typedef struct { cell *v; int is_int; } colbuf;

static void free_cols(colbuf *c, int ncol) {
  for (int i = 0; i < ncol; i++) free(c[i].v);
  free(c);
}

static int query_tensors(lua_State *L, dbh *h, int ncol) {
  int res = new_by_column(L, h->st, ncol), rc;
  colbuf *c = calloc((size_t)ncol + 1, sizeof *c);
  if (!c) return luaL_error(L, "db:query: out of memory");
  for (int i = 0; i < ncol; i++) c[i].is_int = 1;
  int64_t n = 0, cap = 0;
  char err[256] = "";
  while ((rc = sqlite3_step(h->st)) == SQLITE_ROW) {
    if (n == cap) {
      cap = cap ? 2 * cap : 1024;
      for (int i = 0; i < ncol; i++) {
        cell *v = realloc(c[i].v, (size_t)cap * sizeof *v);
        if (!v) { snprintf(err, sizeof err, "db:query: out of memory"); goto fail; }
        c[i].v = v;
      }
    }
    for (int i = 0; i < ncol; i++) {
      int t = sqlite3_column_type(h->st, i);
      if (t == SQLITE_INTEGER && c[i].is_int) { c[i].v[n].i = sqlite3_column_int64(h->st, i); continue; }
      if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
        snprintf(err, sizeof err, "db:query: column '%s' holds text at row %lld, so it cannot be a tensor",
                 sqlite3_column_name(h->st, i), (long long)n + 1);
        goto fail;
      }
      if (c[i].is_int) { /* the first non-integer: the column becomes float64 */
        for (int64_t r = 0; r < n; r++) c[i].v[r].d = (double)c[i].v[r].i;
        c[i].is_int = 0;
      }
      c[i].v[n].d = t == SQLITE_NULL ? NAN : sqlite3_column_double(h->st, i);
    }
    n++;
  }
  if (rc != SQLITE_DONE) {
    snprintf(err, sizeof err, "db:query: %s", sqlite3_errmsg(h->db));
    goto fail;
  }
  for (int i = 0; i < ncol; i++) {
    lt_tensor **box = lb_newbox(L);
    if (!(*box = lt_empty(c[i].is_int ? LT_INT64 : LT_FLOAT64, 1, (int64_t[]){n}))) {
      free_cols(c, ncol);
      return lb_error(L, "db:query");
    }
    lb_account(L);
    if (n) memcpy(lt_data(*box), c[i].v, (size_t)n * sizeof(cell)); /* 8-byte int64 or double */
    lua_pushvalue(L, -1);
    lua_setfield(L, res, sqlite3_column_name(h->st, i));
    lua_rawseti(L, res, i + 1);
  }
  free_cols(c, ncol);
  lua_pushinteger(L, n);
  lua_setfield(L, res, "n");
  return 1;
fail:
  free_cols(c, ncol);
  return luaL_error(L, "%s", err);
}

/* db:query(sql [, params [, {by_column = b, tensor = b}]]) */
static int l_query(lua_State *L) {
  dbh *h = check_db(L, "db:query");
  const char *sql = luaL_checkstring(L, 2);
  int by_column = 0, tensor = 0;
  if (!lua_isnoneornil(L, 4)) {
    luaL_argexpected(L, lua_istable(L, 4), 4, "options table");
    lua_pushnil(L);
    while (lua_next(L, 4)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      int *flag = strcmp(k, "by_column") == 0 ? &by_column : strcmp(k, "tensor") == 0 ? &tensor : NULL;
      if (!flag) return luaL_error(L, "db:query: unknown option '%s' (expected by_column or tensor)",
                                   lua_type(L, -2) == LUA_TSTRING ? k : luaL_typename(L, -2));
      if (!lua_isboolean(L, -1))
        return luaL_error(L, "db:query: option %s must be a boolean, got %s", k, luaL_typename(L, -1));
      *flag = lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
  }
  if (!prepare(L, h, &sql, "db:query")) return luaL_error(L, "db:query: the SQL holds no statement");
  while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r' || *sql == ';') sql++;
  if (*sql) return luaL_error(L, "db:query: one statement at a time (more SQL follows: %s)", sql);
  bind_params(L, h, 3, "db:query");
  lua_settop(L, 4);
  int ncol = sqlite3_column_count(h->st);
  if (tensor) query_tensors(L, h, ncol);
  else if (by_column) query_columns(L, h, ncol);
  else query_rows(L, h, ncol);
  sqlite3_finalize(h->st);
  h->st = NULL;
  return 1;
}

static int l_exec(lua_State *L) {
  dbh *h = check_db(L, "db:exec");
  const char *sql = luaL_checkstring(L, 2);
  if (h->readonly) return luaL_error(L, "db:exec: the database was opened readonly");
  sqlite3_int64 before = sqlite3_total_changes64(h->db);
  while (prepare(L, h, &sql, "db:exec")) {
    bind_params(L, h, 3, "db:exec");
    int rc;
    while ((rc = sqlite3_step(h->st)) == SQLITE_ROW) {}
    if (rc != SQLITE_DONE) return luaL_error(L, "db:exec: %s", sqlite3_errmsg(h->db));
  }
  sqlite3_finalize(h->st);
  h->st = NULL;
  lua_pushinteger(L, (lua_Integer)(sqlite3_total_changes64(h->db) - before));
  return 1;
}

static int l_readonly(lua_State *L) {
  lua_pushboolean(L, check_db(L, "db:is_readonly")->readonly);
  return 1;
}

/* ---- the recorder ------------------------------------------------------- */
static lr_run *check_run(lua_State *L, const char *fname) {
  runh *h = luaL_checkudata(L, 1, RUN_HANDLE);
  if (!h->r) luaL_error(L, "%s: the run is closed", fname);
  return h->r;
}

static const char *opt_field(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return NULL; }
  if (!lua_isstring(L, -1)) luaL_error(L, "runs.start: info.%s must be a string, got %s", key, luaL_typename(L, -1));
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* still referenced by the info table */
  return s;
}

static int l_start(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lr_run_info in = {.lunet_version = LUNET_VERSION, .lua_version = LUA_RELEASE, .blas = lt_blas_info(),
                    .threads = lt_get_num_threads(), .seed = (int64_t)lt_initial_seed()};
  in.name = opt_field(L, 2, "name");
  in.script_path = opt_field(L, 2, "script");
  in.command_line = opt_field(L, 2, "command_line");
  runh *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->r = NULL;
  luaL_setmetatable(L, RUN_HANDLE);
  char err[512];
  if (!(h->r = lr_run_start(path, &in, err, sizeof err))) return luaL_error(L, "runs.start: %s", err);
  return 1;
}

/* run:log{key = value, ...} or run:log(t, step): the hot path */
static int l_log(lua_State *L) {
  lr_run *r = check_run(L, "run:log");
  luaL_checktype(L, 2, LUA_TTABLE);
  int64_t step;
  if (lua_isnoneornil(L, 3)) step = lr_run_next_step(r);
  else {
    int ok;
    step = (int64_t)lua_tointegerx(L, 3, &ok);
    if (!ok) return luaL_error(L, "run:log: step (argument 2) must be an integer, got %s", luaL_typename(L, 3));
  }
  double now = lr_now();
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return luaL_error(L, "run:log: metric names must be strings, got %s", luaL_typename(L, -2));
    size_t len;
    const char *name = lua_tolstring(L, -2, &len);
    if (lua_type(L, -1) != LUA_TNUMBER)
      return luaL_error(L, "run:log: metric '%s' must be a number%s, got %s", name,
                        lb_test(L, -1) ? " (use x:item() for a tensor)" : "", luaL_typename(L, -1));
    int k = lr_run_key(r, name, len);
    if (k < 0) return luaL_error(L, "run:log: out of memory");
    lr_run_log(r, k, step, lua_tonumber(L, -1), now);
    lua_pop(L, 1);
  }
  lr_run_end_step(r, step);
  if (lr_run_maybe_flush(r) != 0) /* the points stay buffered: a later flush may still write them */
    return luaL_error(L, "run:log: %s; %I points and changes are kept in memory for the next try", lr_run_error(r),
                      (lua_Integer)lr_run_pending(r));
  return 0;
}

/* a value for params and tags as text (numbers as Lua prints them) */
static const char *value_text(lua_State *L, int arg, const char *fname) {
  int t = lua_type(L, arg);
  if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
    luaL_error(L, "%s: value must be a number, string or boolean, got %s", fname, luaL_typename(L, arg));
  return luaL_tolstring(L, arg, NULL);
}

static int l_log_param(lua_State *L) {
  lr_run *r = check_run(L, "run:log_param");
  const char *key = luaL_checkstring(L, 2);
  const char *text = value_text(L, 3, "run:log_param");
  int has = 0;
  double num = 0;
  if (lua_type(L, 3) == LUA_TNUMBER) { has = 1; num = lua_tonumber(L, 3); }
  else if (lua_type(L, 3) == LUA_TSTRING && lua_stringtonumber(L, text)) { has = 1; num = lua_tonumber(L, -1); }
  if (has && isnan(num)) has = 0;
  if (lr_run_param(r, key, text, has, num) != 0) return luaL_error(L, "run:log_param: out of memory");
  return 0;
}

static int l_set_tag(lua_State *L) {
  lr_run *r = check_run(L, "run:set_tag");
  const char *key = luaL_checkstring(L, 2);
  if (lr_run_tag(r, key, value_text(L, 3, "run:set_tag")) != 0) return luaL_error(L, "run:set_tag: out of memory");
  return 0;
}

static int l_note(lua_State *L) {
  lr_run *r = check_run(L, "run:note");
  if (lr_run_note(r, luaL_checkstring(L, 2)) != 0) return luaL_error(L, "run:note: out of memory");
  return 0;
}

static int l_artifact(lua_State *L) {
  lr_run *r = check_run(L, "run:artifact");
  const char *path = luaL_checkstring(L, 2), *kind = luaL_optstring(L, 3, NULL);
  char sha[65];
  int64_t size;
  if (lr_sha256_file(path, sha, &size) != 0)
    return luaL_error(L, "run:artifact: cannot read %s: %s", path, strerror(errno));
  if (lr_run_artifact(r, path, kind, size, sha) != 0) return luaL_error(L, "run:artifact: out of memory");
  lua_pushinteger(L, size);
  lua_pushstring(L, sha);
  return 2;
}

static int l_set(lua_State *L) {
  lr_run *r = check_run(L, "run:_set");
  const char *field = luaL_checkstring(L, 2), *value = luaL_checkstring(L, 3);
  if (lr_run_set(r, field, value) != 0)
    return luaL_error(L, "run:_set: field must be name, notes, parent_id or experiment, got '%s'", field);
  return 0;
}

static int l_set_goal(lua_State *L) {
  lr_run *r = check_run(L, "run:set_goal");
  const char *metric = luaL_checkstring(L, 2), *goal = luaL_checkstring(L, 3);
  if (strcmp(goal, "min") != 0 && strcmp(goal, "max") != 0)
    return luaL_error(L, "run:set_goal: goal must be 'min' or 'max', got '%s'", goal);
  if (lr_run_goal(r, metric, goal) != 0) return luaL_error(L, "run:set_goal: out of memory");
  return 0;
}

/* true, or false and why: a write that failed is "reported", not raised */
static int push_written(lua_State *L, lr_run *r, int ok) {
  lua_pushboolean(L, ok);
  if (ok) return 1;
  lua_pushstring(L, lr_run_error(r));
  return 2;
}

static int l_flush(lua_State *L) {
  lr_run *r = check_run(L, "run:flush");
  return push_written(L, r, lr_run_flush(r) == 0);
}

static const char *const STATUSES[] = {"finished", "failed", "killed", "crashed", NULL};

/* run:finish([status [, exit_status [, error [, traceback]]]]) -> written */
static int l_finish(lua_State *L) {
  lr_run *r = check_run(L, "run:finish");
  const char *status = STATUSES[luaL_checkoption(L, 2, "finished", STATUSES)];
  int exit_status = (int)luaL_optinteger(L, 3, strcmp(status, "finished") == 0 ? 0 : 1);
  const char *error = luaL_optstring(L, 4, NULL), *traceback = luaL_optstring(L, 5, NULL);
  return push_written(L, r, lr_run_finish(r, status, exit_status, error, traceback, (int64_t)lt_initial_seed()) == 0);
}

static int l_id(lua_State *L) {
  lua_pushinteger(L, lr_run_id(check_run(L, "run:id")));
  return 1;
}

static int l_status(lua_State *L) {
  lua_pushstring(L, lr_run_status(check_run(L, "run:status")));
  return 1;
}

static int run_gc(lua_State *L) {
  runh *h = luaL_checkudata(L, 1, RUN_HANDLE);
  lr_run_free(h->r); /* an unfinished run stays 'running' and is found crashed later */
  h->r = NULL;
  return 0;
}

/* `local run <close> = ...`: finished, or failed when the scope exits by an error */
static int run_close(lua_State *L) {
  runh *h = luaL_checkudata(L, 1, RUN_HANDLE);
  if (h->r && strcmp(lr_run_status(h->r), "running") == 0) {
    int failed = !lua_isnoneornil(L, 2);
    const char *msg = failed ? luaL_tolstring(L, 2, NULL) : NULL;
    lr_run_finish(h->r, failed ? "failed" : "finished", failed, msg, NULL, (int64_t)lt_initial_seed());
  }
  return 0;
}

static int l_pid_alive(lua_State *L) {
  lua_pushboolean(L, lr_pid_alive((int64_t)luaL_checkinteger(L, 1)));
  return 1;
}

static int l_hostname(lua_State *L) {
  lua_pushstring(L, lr_hostname());
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, lr_now());
  return 1;
}

static int l_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[65];
  lr_sha256(s, n, hex);
  lua_pushstring(L, hex);
  return 1;
}

void lb_open_runs(lua_State *L, int module) {
  lr_set_stop_check(lb_interrupt_signal); /* Ctrl-C cuts a long wait for a lock short */
  static const luaL_Reg db_methods[] = {{"query", l_query}, {"exec", l_exec}, {"close", db_gc},
                                        {"is_readonly", l_readonly}, {NULL, NULL}};
  static const luaL_Reg run_methods[] = {
    {"log", l_log}, {"log_param", l_log_param}, {"set_tag", l_set_tag}, {"note", l_note},
    {"artifact", l_artifact}, {"_set", l_set}, {"set_goal", l_set_goal}, {"flush", l_flush},
    {"finish", l_finish}, {"id", l_id}, {"status", l_status}, {NULL, NULL}};
  static const luaL_Reg fns[] = {{"open", l_open}, {"start", l_start}, {"pid_alive", l_pid_alive},
                                 {"hostname", l_hostname}, {"now", l_now}, {"sha256", l_sha256},
                                 {NULL, NULL}};
  luaL_newmetatable(L, DB_HANDLE);
  lua_pushcfunction(L, db_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, db_gc);
  lua_setfield(L, -2, "__close");
  luaL_newlib(L, db_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, fns);
  luaL_newmetatable(L, RUN_HANDLE);
  lua_pushcfunction(L, run_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, run_close);
  lua_setfield(L, -2, "__close");
  luaL_newlib(L, run_methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "run_methods"); /* so lua/lunet/runs can add methods */
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_setfield(L, module, "_runs");
}
