/* test_runs_db.c -- the run store's C core (runs_db.c): sha256 vectors, the
 * schema of a new database, a recorded run's rows, a metric summary that
 * follows out-of-order steps, the refusal of foreign databases, and waiting
 * for (then giving up on) another connection's write lock, sooner when the
 * user asked to stop. */
#include "check.h"
#include "runs_db.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t one_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void test_sha256(void) {
  char hex[65];
  lr_sha256("abc", 3, hex);
  CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  /* 55 and 56 bytes: the padding spills into a second block at 56 */
  char a[64];
  memset(a, 'a', sizeof a);
  lr_sha256(a, 55, hex);
  CHECK(strcmp(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318") == 0);
  lr_sha256(a, 56, hex);
  CHECK(strcmp(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a") == 0);
}

static void test_record(const char *path) {
  char err[512];
  lr_run_info in = {.name = "c", .lunet_version = "0", .lua_version = "Lua", .blas = "b", .threads = 1, .seed = 7};
  lr_run *r = lr_run_start(path, &in, err, sizeof err);
  CHECK(r != NULL);
  if (!r) { fprintf(stderr, "%s\n", err); return; }
  int k = lr_run_key(r, "val_acc", 7);
  CHECK(k == lr_run_key(r, "val_acc", 7) && k == 0);
  double v[] = {0.5, 0.7, 0.6};
  for (int i = 0; i < 3; i++) lr_run_log(r, k, i + 1, v[i], lr_now());
  lr_run_log(r, k, 2, 0.9, lr_now()); /* replaces step 2 */
  CHECK(lr_run_param(r, "lr", "0.1", 1, 0.1) == 0);
  CHECK(lr_run_finish(r, "finished", 0, NULL, NULL, 7) == 0);
  lr_run_free(r);
  sqlite3 *db = lr_open(path, 1, err, sizeof err);
  CHECK(db != NULL);
  if (!db) return;
  CHECK(one_int(db, "SELECT count(*) FROM metrics") == 3);
  CHECK(one_int(db, "SELECT count FROM metric_summary") == 3);
  CHECK(one_int(db, "SELECT max_step FROM metric_summary") == 2);
  CHECK(one_int(db, "SELECT max = 0.9 AND last = 0.6 AND min = 0.5 FROM metric_summary") == 1);
  CHECK(one_int(db, "SELECT goal = 'max' FROM metric_keys") == 1);
  CHECK(one_int(db, "SELECT num = 0.1 FROM params") == 1);
  CHECK(one_int(db, "SELECT seed FROM runs WHERE status = 'finished'") == 7);
  CHECK(one_int(db, "SELECT value FROM meta WHERE key = 'schema_version'") == 1);
  sqlite3_close(db);
}

static void test_refusals(const char *path) {
  char err[512];
  sqlite3 *db;
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL);
  sqlite3_close(db);
  CHECK(lr_open(path, 0, err, sizeof err) == NULL);
  CHECK(strstr(err, "is not a lunet runs database") != NULL);
  CHECK(lr_open(path, 1, err, sizeof err) == NULL);
}

static void test_lock_timeout_setting(void) {
  const char *cases[][2] = {{"", "60"}, {"2.5", "2.5"}, {"0", "0"}, {"-1", "60"}, {"soon", "60"}, {"nan", "60"},
                            {"1e9", "60"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    setenv("LUNET_DB_TIMEOUT", cases[i][0], 1);
    CHECK(lr_lock_timeout() == atof(cases[i][1]));
  }
  unsetenv("LUNET_DB_TIMEOUT");
  CHECK(lr_lock_timeout() == 60);
}

/* a flush that meets another connection's write lock waits LUNET_DB_TIMEOUT,
   then fails saying so and keeps the points; once the lock is gone they are written */
static void test_lock_give_up_and_retry(const char *path) {
  char err[512];
  lr_run_info in = {.name = "locked", .lunet_version = "0", .lua_version = "Lua", .blas = "b", .threads = 1};
  lr_run *r = lr_run_start(path, &in, err, sizeof err);
  sqlite3 *holder = lr_open(path, 0, err, sizeof err);
  CHECK(r != NULL && holder != NULL);
  if (!r || !holder) { lr_run_free(r); sqlite3_close(holder); return; }
  int k = lr_run_key(r, "loss", 4);
  for (int i = 1; i <= 10; i++) lr_run_log(r, k, i, 1.0 / i, lr_now());
  CHECK(sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
  setenv("LUNET_DB_TIMEOUT", "0.2", 1);
  double t0 = lr_now();
  CHECK(lr_run_flush(r) != 0);
  CHECK(lr_now() - t0 >= 0.15); /* it waited before giving up */
  CHECK(strstr(lr_run_error(r), "locked by another process (waited 0.2 s") != NULL);
  CHECK(strstr(lr_run_error(r), path) != NULL);
  CHECK(lr_run_pending(r) == 10);
  CHECK(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
  CHECK(lr_run_flush(r) == 0);
  CHECK(lr_run_error(r)[0] == 0 && lr_run_pending(r) == 0);
  unsetenv("LUNET_DB_TIMEOUT");
  CHECK(lr_run_finish(r, "finished", 0, NULL, NULL, 0) == 0);
  lr_run_free(r);
  CHECK(one_int(holder, "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = 'locked'") == 10);
  sqlite3_close(holder);
}

/* once the user asks to stop, a lock is waited for 2 s, not LUNET_DB_TIMEOUT's 60 */
static int stopping(void) { return 1; }

static void test_lock_wait_cut_short_when_stopping(const char *path) {
  char err[512];
  lr_run_info in = {.name = "stopped", .lunet_version = "0", .lua_version = "Lua", .blas = "b", .threads = 1};
  lr_run *r = lr_run_start(path, &in, err, sizeof err);
  sqlite3 *holder = lr_open(path, 0, err, sizeof err);
  CHECK(r != NULL && holder != NULL);
  if (!r || !holder) { lr_run_free(r); sqlite3_close(holder); return; }
  lr_run_log(r, lr_run_key(r, "loss", 4), 1, 0.5, lr_now());
  CHECK(sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
  unsetenv("LUNET_DB_TIMEOUT");
  lr_set_stop_check(stopping);
  CHECK(lr_run_flush(r) != 0);
  lr_set_stop_check(NULL);
  CHECK(strstr(lr_run_error(r), "locked by another process (waited 2 s") != NULL);
  CHECK(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
  CHECK(lr_run_finish(r, "killed", 130, NULL, NULL, 0) == 0);
  lr_run_free(r);
  CHECK(one_int(holder, "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id"
                        " WHERE r.name = 'stopped' AND r.status = 'killed'") == 1);
  sqlite3_close(holder);
}

int main(void) {
  char dir[] = "/tmp/lunet-runs-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char db1[64], db2[64], cmd[128];
  snprintf(db1, sizeof db1, "%s/a.db", dir);
  snprintf(db2, sizeof db2, "%s/b.db", dir);
  test_sha256();
  test_record(db1);
  test_refusals(db2);
  test_lock_timeout_setting();
  test_lock_give_up_and_retry(db1);
  test_lock_wait_cut_short_when_stopping(db1);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return CHECK_REPORT();
}
