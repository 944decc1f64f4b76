/* runs_db.c -- the run store on SQLite (see runs_db.h and docs/runs.md). */
#define _GNU_SOURCE
#include "runs_db.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ---- sha256 (FIPS 180-4) ------------------------------------------------ */
typedef struct { uint32_t h[8]; uint64_t len; unsigned char buf[64]; size_t nbuf; } sha_ctx;

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(sha_ctx *c, const unsigned char *p) {
  uint32_t w[64], s[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(s, c->h, sizeof s);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = s[7] + (ROR(s[4], 6) ^ ROR(s[4], 11) ^ ROR(s[4], 25)) + ((s[4] & s[5]) ^ (~s[4] & s[6])) + K[i] + w[i];
    uint32_t t2 = (ROR(s[0], 2) ^ ROR(s[0], 13) ^ ROR(s[0], 22)) + ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
    memmove(s + 1, s, 7 * sizeof *s);
    s[4] += t1;
    s[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) c->h[i] += s[i];
}

static void sha_init(sha_ctx *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof h0);
  c->len = 0;
  c->nbuf = 0;
}

static void sha_update(sha_ctx *c, const void *data, size_t n) {
  const unsigned char *p = data;
  c->len += n;
  while (n > 0) {
    size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
    memcpy(c->buf + c->nbuf, p, k);
    c->nbuf += k; p += k; n -= k;
    if (c->nbuf == 64) { sha_block(c, c->buf); c->nbuf = 0; }
  }
}

static void sha_final(sha_ctx *c, char hex[65]) {
  uint64_t bits = c->len * 8;
  unsigned char pad = 0x80, zero = 0, lenb[8];
  sha_update(c, &pad, 1);
  while (c->nbuf != 56) sha_update(c, &zero, 1);
  for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
  sha_update(c, lenb, 8);
  for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
}

void lr_sha256(const void *data, size_t n, char hex[65]) {
  sha_ctx c;
  sha_init(&c);
  sha_update(&c, data, n);
  sha_final(&c, hex);
}

int lr_sha256_file(const char *path, char hex[65], int64_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  sha_ctx c;
  sha_init(&c);
  unsigned char buf[1 << 15];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha_update(&c, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad) return -1;
  *size = (int64_t)c.len;
  sha_final(&c, hex);
  return 0;
}

/* ---- small helpers ------------------------------------------------------ */
double lr_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int lr_pid_alive(int64_t pid) {
  if (pid <= 0 || pid > 0x7fffffff) return 0;
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

const char *lr_hostname(void) {
  static char host[256];
  if (!host[0] && gethostname(host, sizeof host - 1) != 0) strcpy(host, "unknown");
  return host;
}

/* ---- waiting for a lock -------------------------------------------------
 * Another process may hold the write lock for a while: a run flushing, `lunet
 * runs rm` or `gc` (VACUUM), a sqlite3 shell inside a transaction. Every
 * connection waits for it up to LUNET_DB_TIMEOUT seconds (default 60),
 * polling with a backoff from 1 ms to 100 ms, and says so on stderr once a
 * wait passes a second, so a training loop that stalls explains itself.
 * Once the user asks to stop (Ctrl-C, SIGTERM), a wait lasts at most
 * LOCK_WAIT_STOPPING seconds, so the script stops and the run is closed
 * without a minute's delay. */
#define LOCK_WARN_AFTER 1.0
#define LOCK_WAIT_STOPPING 2.0

/* one wait at a time per thread: SQLite calls the handler synchronously */
static _Thread_local double lock_wait_start, lock_gave_up_after;
static _Thread_local int lock_wait_warned;
static int (*stop_requested)(void);

void lr_set_stop_check(int (*stopping)(void)) { stop_requested = stopping; }

double lr_lock_timeout(void) {
  const char *env = getenv("LUNET_DB_TIMEOUT");
  if (!env || !*env) return 60.0;
  char *end;
  double s = strtod(env, &end);
  return *end == 0 && s >= 0 && s <= 1e6 ? s : 60.0; /* NaN fails s >= 0 */
}

static int wait_for_lock(void *db, int count) {
  double now = mono(), timeout = lr_lock_timeout();
  if (stop_requested && stop_requested() && timeout > LOCK_WAIT_STOPPING) timeout = LOCK_WAIT_STOPPING;
  if (count == 0) { lock_wait_start = now; lock_wait_warned = 0; }
  double waited = now - lock_wait_start;
  if (waited >= timeout) { /* give up: the statement returns SQLITE_BUSY */
    lock_gave_up_after = timeout;
    return 0;
  }
  if (!lock_wait_warned && waited >= LOCK_WARN_AFTER) {
    lock_wait_warned = 1;
    const char *file = sqlite3_db_filename(db, "main");
    fprintf(stderr, "lunet.runs: %s is locked by another process; waiting (up to %g s, LUNET_DB_TIMEOUT)\n",
            file && *file ? file : "the runs database", timeout);
    fflush(stderr);
  }
  double ms = count < 7 ? (double)(1 << count) : 100.0, left_ms = (timeout - waited) * 1000.0;
  if (ms > left_ms) ms = left_ms < 1.0 ? 1.0 : left_ms;
  struct timespec ts = {(time_t)(ms / 1000.0), (long)(fmod(ms, 1000.0) * 1e6)};
  nanosleep(&ts, NULL);
  return 1;
}

/* why the last statement on db failed, for a message: a lock held too long,
   or SQLite's words with the OS's reason for an I/O error ("File too large").
   SQLite often leaves sqlite3_system_errno at 0 after a failed write, so the
   errno of that write, still current when this is called, stands in. */
static void describe_failure(sqlite3 *db, char *out, size_t n) {
  int sys = errno, code = sqlite3_errcode(db) & 0xff;
  if (sqlite3_system_errno(db) != 0) sys = sqlite3_system_errno(db);
  if (code == SQLITE_BUSY)
    snprintf(out, n, "the database is locked by another process (waited %g s; LUNET_DB_TIMEOUT sets the wait)",
             lock_gave_up_after > 0 ? lock_gave_up_after : lr_lock_timeout());
  else if ((code == SQLITE_IOERR || code == SQLITE_FULL) && sys != 0)
    snprintf(out, n, "%s (%s)", sqlite3_errmsg(db), strerror(sys));
  else
    snprintf(out, n, "%s", sqlite3_errmsg(db));
}

static void seterr(char *err, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

static char *dupstr(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* ---- schema ------------------------------------------------------------- */
static const char *SCHEMA =
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
  "CREATE TABLE experiments(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created REAL NOT NULL);"
  "CREATE TABLE scripts(sha256 TEXT PRIMARY KEY, source BLOB NOT NULL);"
  "CREATE TABLE runs(id INTEGER PRIMARY KEY, experiment_id INTEGER REFERENCES experiments(id),"
  " parent_id INTEGER REFERENCES runs(id), name TEXT,"
  " status TEXT NOT NULL CHECK (status IN ('running','finished','failed','killed','crashed')),"
  " started REAL NOT NULL, ended REAL, heartbeat REAL NOT NULL,"
  " script_path TEXT, script_sha256 TEXT REFERENCES scripts(sha256), command_line TEXT, cwd TEXT,"
  " git_commit TEXT, git_dirty INTEGER, host TEXT, pid INTEGER, lunet_version TEXT, lua_version TEXT, blas TEXT,"
  " threads INTEGER, seed INTEGER, exit_status INTEGER, error TEXT, traceback TEXT, notes TEXT);"
  "CREATE TABLE params(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL,"
  " value TEXT NOT NULL, num REAL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
  "CREATE TABLE tags(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL,"
  " value TEXT NOT NULL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
  "CREATE TABLE metric_keys(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
  " goal TEXT NOT NULL CHECK (goal IN ('min','max')));"
  "CREATE TABLE metrics(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
  " key_id INTEGER NOT NULL REFERENCES metric_keys(id), step INTEGER NOT NULL, value REAL,"
  " time REAL NOT NULL, is_nan INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, key_id, step)) WITHOUT ROWID;"
  "CREATE TABLE metric_summary(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
  " key_id INTEGER NOT NULL, count INTEGER NOT NULL, first REAL, first_step INTEGER, last REAL,"
  " last_step INTEGER, min REAL, min_step INTEGER, max REAL, max_step INTEGER,"
  " PRIMARY KEY (run_id, key_id)) WITHOUT ROWID;"
  "CREATE TABLE artifacts(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
  " path TEXT NOT NULL, kind TEXT, size INTEGER, sha256 TEXT, created REAL NOT NULL);"
  "CREATE TABLE notes(id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
  " time REAL NOT NULL, text TEXT NOT NULL);"
  "CREATE TABLE logs(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
  " stream TEXT NOT NULL, time REAL NOT NULL, line TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"
  "CREATE TABLE system_info(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL,"
  " value TEXT, PRIMARY KEY (run_id, key)) WITHOUT ROWID;"
  "CREATE INDEX runs_status ON runs(status);"
  "CREATE INDEX runs_started ON runs(started);"
  "CREATE INDEX runs_experiment ON runs(experiment_id);"
  "CREATE INDEX params_key_num ON params(key, num);"
  "CREATE INDEX metric_summary_key_last ON metric_summary(key_id, last);"
  "INSERT INTO meta VALUES ('app', 'lunet'), ('schema_version', '1');";

/* migrations[v] turns schema version v into v + 1 (none yet: version 1 is the first) */
static const char *const migrations[LR_SCHEMA_VERSION] = {NULL};

/* what the file holds: -1 an error (in err), 0 empty, else its schema_version */
static int schema_version(sqlite3 *db, const char *path, char *err, size_t errlen) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT count(*), sum(name = 'meta') FROM sqlite_master", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    seterr(err, errlen, "%s is not a lunet runs database (%s)", path, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return -1;
  }
  int ntables = sqlite3_column_int(st, 0), has_meta = sqlite3_column_int(st, 1);
  sqlite3_finalize(st);
  if (ntables == 0) return 0;
  const char *why = "it has no lunet meta table";
  int version = -1;
  if (has_meta && sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key = 'app'),"
                                         " (SELECT value FROM meta WHERE key = 'schema_version')",
                                     -1, &st, NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *app = (const char *)sqlite3_column_text(st, 0);
      if (!app || strcmp(app, "lunet") != 0) why = "its meta table does not say app = lunet";
      else if (sqlite3_column_type(st, 1) == SQLITE_NULL) why = "it has no schema_version";
      else version = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
  }
  if (version < 0) { seterr(err, errlen, "%s is not a lunet runs database (%s)", path, why); return -1; }
  if (version > LR_SCHEMA_VERSION) {
    seterr(err, errlen, "%s has schema_version %d, newer than this lunet supports (%d): upgrade lunet",
           path, version, LR_SCHEMA_VERSION);
    return -1;
  }
  if (version < 1) { seterr(err, errlen, "%s has an invalid schema_version %d", path, version); return -1; }
  return version;
}

/* create or migrate under an exclusive lock, re-reading the version there
   since another process may have created the schema meanwhile */
static int create_or_migrate(sqlite3 *db, const char *path, char *err, size_t errlen) {
  char *msg = NULL;
  if (sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, &msg) != SQLITE_OK) goto sqlerr;
  int v = schema_version(db, path, err, errlen);
  if (v < 0) { sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); return -1; }
  if (v == 0 && sqlite3_exec(db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) goto rollback;
  for (; v > 0 && v < LR_SCHEMA_VERSION; v++) {
    if (migrations[v] && sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) goto rollback;
    char up[96];
    snprintf(up, sizeof up, "UPDATE meta SET value = '%d' WHERE key = 'schema_version'", v + 1);
    if (sqlite3_exec(db, up, NULL, NULL, &msg) != SQLITE_OK) goto rollback;
  }
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto rollback;
  return 0;
rollback:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
sqlerr:
  seterr(err, errlen, "cannot create the schema in %s: %s", path, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  return -1;
}

sqlite3 *lr_open(const char *path, int readonly, char *err, size_t errlen) {
  sqlite3 *db = NULL;
  int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
    seterr(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_handler(db, wait_for_lock, db);
  sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
  /* check before changing anything, so a foreign database is left as it was */
  int v = schema_version(db, path, err, errlen);
  if (v < 0) { sqlite3_close(db); return NULL; }
  if (readonly) {
    if (v == 0) { seterr(err, errlen, "%s is not a lunet runs database (it is empty)", path); sqlite3_close(db); return NULL; }
    return db;
  }
  char *msg = NULL;
  if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg) != SQLITE_OK) {
    seterr(err, errlen, "cannot open %s: %s", path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return NULL;
  }
  if (v != LR_SCHEMA_VERSION && create_or_migrate(db, path, err, errlen) != 0) { sqlite3_close(db); return NULL; }
  return db;
}

/* ---- recording ---------------------------------------------------------- */
/* a metric key of the run, with its running summary (NaN stands for NULL) */
typedef struct {
  char *name;
  int64_t id;                 /* metric_keys.id, 0 until written */
  int id_new, touched, recompute;
  int64_t count, first_step, last_step, min_step, max_step;
  double first, last, min, max;
} lr_key;

typedef struct { int key; int64_t step; double value, time; } lr_point;

enum { OP_PARAM, OP_TAG, OP_NOTE, OP_ARTIFACT, OP_SET, OP_EXPERIMENT, OP_GOAL, OP_FINISH };
typedef struct { int kind; char *a, *b, *c; int has_num; double num; int64_t i, j; double time; } lr_op;

struct lr_run {
  sqlite3 *db;
  char *path;
  int64_t id, step;           /* step: the last one used, for automatic steps */
  char status[16];
  lr_key *keys;
  int nkeys, capkeys;
  lr_point *pts;
  size_t npts, cappts;
  lr_op *ops;
  int nops, capops;
  double last_flush;          /* monotonic seconds */
  int warned;
  char error[512];            /* why the last write failed, "" after a good one */
};

static int grow(void **p, size_t elem, size_t need, size_t *cap) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap * 2 : 64;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* the goal of a metric from the words of its name: accuracy-like ones are maximised */
static const char *guess_goal(const char *name) {
  static const char *const up[] = {"acc", "accuracy", "auc", "f1", "precision", "recall", "score",
                                   "iou", "map", "bleu", NULL};
  char word[32];
  const char *p = name;
  while (*p) {
    size_t n = 0;
    while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) p++;
    while (*p && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
      if (n < sizeof word - 1) word[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
      p++;
    }
    word[n] = 0;
    for (int i = 0; up[i]; i++)
      if (strcmp(word, up[i]) == 0) return "max";
  }
  return "min";
}

static void warn_once(lr_run *r) {
  if (r->warned) return;
  r->warned = 1;
  fprintf(stderr, "lunet.runs: %s; keeping its data in memory and retrying\n", r->error);
  fflush(stderr);
}

static char *run_cmd(const char *cmd) {
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  pclose(p);
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  return n ? dupstr(buf) : NULL;
}

/* git commit and dirty flag of the repository holding dir (NULL outside one) */
static char *git_info(const char *dir, int *dirty) {
  char q[4200], cmd[4400];
  size_t n = 0;
  q[n++] = '\'';
  for (const char *s = dir; *s && n < sizeof q - 8; s++) {
    if (*s == '\'') { memcpy(q + n, "'\\''", 4); n += 4; }
    else q[n++] = *s;
  }
  q[n++] = '\'';
  q[n] = 0;
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse HEAD 2>/dev/null", q);
  char *commit = run_cmd(cmd);
  if (!commit) return NULL;
  /* a line per changed file; its first column may be a space (" M file") */
  snprintf(cmd, sizeof cmd, "git -C %s status --porcelain 2>/dev/null | head -n 1 | wc -l", q);
  char *st = run_cmd(cmd);
  *dirty = st != NULL && strcmp(st, "0") != 0;
  free(st);
  return commit;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
  return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int bind_real(sqlite3_stmt *st, int i, double v) {
  return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* run sql with text/int arguments: fmt letters s (char*), i (int64), d (double) */
static int exec_args(sqlite3 *db, const char *sql, const char *fmt, ...) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  va_list ap;
  va_start(ap, fmt);
  for (int i = 0; fmt[i]; i++) {
    if (fmt[i] == 's') bind_text(st, i + 1, va_arg(ap, const char *));
    else if (fmt[i] == 'i') sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
    else bind_real(st, i + 1, va_arg(ap, double));
  }
  va_end(ap);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static char *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 14, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    len += fread(buf + len, 1, cap - len, f);
    if (len < cap) break;
    char *b = realloc(buf, cap * 2);
    if (!b) { free(buf); buf = NULL; break; }
    buf = b;
    cap *= 2;
  }
  fclose(f);
  *n = len;
  return buf;
}

static int insert_run(lr_run *r, const lr_run_info *in, char *why, size_t whylen) {
  sqlite3 *db = r->db;
  char sha[65], *src = NULL, cwd[4096], *commit = NULL;
  const char *shap = NULL;
  size_t srclen = 0;
  int dirty = 0, have_dirty = 0;
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
  if (in->script_path && (src = read_file(in->script_path, &srclen))) { lr_sha256(src, srclen, sha); shap = sha; }
  if (in->script_path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", in->script_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else strcpy(dir, ".");
    if (slash == dir) strcpy(dir, "/");
    commit = git_info(dir, &dirty);
  } else commit = git_info(cwd, &dirty);
  have_dirty = commit != NULL;
  double now = lr_now();
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK && shap) {
    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO scripts(sha256, source) VALUES (?1, ?2)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(st, 1, shap, -1, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, src, (int)srclen, SQLITE_STATIC);
      rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
      sqlite3_finalize(st);
    }
  }
  if (rc == SQLITE_OK) {
    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(db,
      "INSERT INTO runs(name, status, started, heartbeat, script_path, script_sha256, command_line, cwd,"
      " git_commit, git_dirty, host, pid, lunet_version, lua_version, blas, threads, seed)"
      " VALUES (?1, 'running', ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
      bind_text(st, 1, in->name);
      sqlite3_bind_double(st, 2, now);
      bind_text(st, 3, in->script_path);
      bind_text(st, 4, shap);
      bind_text(st, 5, in->command_line);
      bind_text(st, 6, cwd);
      bind_text(st, 7, commit);
      if (have_dirty) sqlite3_bind_int(st, 8, dirty);
      bind_text(st, 9, lr_hostname());
      sqlite3_bind_int64(st, 10, (int64_t)getpid());
      bind_text(st, 11, in->lunet_version);
      bind_text(st, 12, in->lua_version);
      bind_text(st, 13, in->blas);
      sqlite3_bind_int(st, 14, in->threads);
      sqlite3_bind_int64(st, 15, in->seed);
      rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
      sqlite3_finalize(st);
      r->id = sqlite3_last_insert_rowid(db);
    }
  }
  if (rc == SQLITE_OK) {
    struct utsname u;
    char os[600], cpus[32];
    if (uname(&u) == 0) snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    else strcpy(os, "?");
    snprintf(cpus, sizeof cpus, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    const char *kv[][2] = {{"os", os}, {"cpus", cpus}, {"sqlite", sqlite3_libversion()},
                           {"LUNET_NUM_THREADS", getenv("LUNET_NUM_THREADS")},
                           {"OMP_NUM_THREADS", getenv("OMP_NUM_THREADS")}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv && rc == SQLITE_OK; i++)
      if (kv[i][1] && exec_args(db, "INSERT INTO system_info VALUES (?1, ?2, ?3)", "iss", r->id, kv[i][0], kv[i][1]) != 0)
        rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    describe_failure(db, why, whylen); /* before ROLLBACK replaces the error */
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  }
  free(src);
  free(commit);
  return rc == SQLITE_OK ? 0 : -1;
}

/* ---- heartbeat ----------------------------------------------------------
 * A thread refreshes runs.heartbeat of this process's running runs every
 * 5 seconds (LUNET_HEARTBEAT_SECONDS for tests) on its own connections, so
 * a run that computes for minutes without logging is not taken for crashed.
 * It runs while there are running runs, and is joined when the last one ends. */
#define HB_MAX 64

static pthread_mutex_t hb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hb_wake = PTHREAD_COND_INITIALIZER;
static lr_run *hb_runs[HB_MAX];
static int hb_n, hb_running;
static pthread_t hb_thread;

static void *hb_main(void *unused) {
  struct { char *path; sqlite3 *db; } conn[HB_MAX];
  int nconn = 0;
  const char *env = getenv("LUNET_HEARTBEAT_SECONDS");
  double every = env && atof(env) > 0 ? atof(env) : 5.0;
  pthread_mutex_lock(&hb_lock);
  while (hb_n > 0) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)((every - floor(every)) * 1e9);
    until.tv_sec += (time_t)every + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    if (pthread_cond_timedwait(&hb_wake, &hb_lock, &until) == 0) continue; /* woken: re-check hb_n */
    struct { char path[1024]; int64_t id; } todo[HB_MAX];
    int n = 0;
    for (int i = 0; i < hb_n; i++) {
      if (hb_runs[i]->id <= 0) continue;
      snprintf(todo[n].path, sizeof todo[n].path, "%s", hb_runs[i]->path);
      todo[n++].id = hb_runs[i]->id;
    }
    pthread_mutex_unlock(&hb_lock); /* never hold the lock over SQLite */
    /* let go of databases no running run uses any more: an open connection
       would keep a deleted file's space, or a file system from unmounting */
    for (int c = nconn - 1; c >= 0; c--) {
      int used = 0;
      for (int i = 0; i < n && !used; i++) used = strcmp(conn[c].path, todo[i].path) == 0;
      if (used) continue;
      sqlite3_close(conn[c].db);
      free(conn[c].path);
      conn[c] = conn[--nconn];
    }
    for (int i = 0; i < n; i++) {
      int c = 0;
      while (c < nconn && strcmp(conn[c].path, todo[i].path) != 0) c++;
      if (c == nconn) {
        if (nconn == HB_MAX || sqlite3_open_v2(todo[i].path, &conn[c].db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
          if (nconn < HB_MAX) sqlite3_close(conn[c].db);
          continue;
        }
        sqlite3_busy_timeout(conn[c].db, 1000);
        conn[c].path = dupstr(todo[i].path);
        nconn++;
      }
      exec_args(conn[c].db, "UPDATE runs SET heartbeat = ?2 WHERE id = ?1 AND status = 'running'", "id",
                todo[i].id, lr_now());
    }
    pthread_mutex_lock(&hb_lock);
  }
  pthread_mutex_unlock(&hb_lock);
  for (int c = 0; c < nconn; c++) { sqlite3_close(conn[c].db); free(conn[c].path); }
  return unused;
}

static void hb_add(lr_run *r) {
  pthread_mutex_lock(&hb_lock);
  if (hb_n < HB_MAX) hb_runs[hb_n++] = r;
  if (!hb_running && hb_n > 0 && pthread_create(&hb_thread, NULL, hb_main, NULL) == 0) hb_running = 1;
  pthread_mutex_unlock(&hb_lock);
}

static void hb_remove(lr_run *r) {
  pthread_mutex_lock(&hb_lock);
  int was = hb_n;
  for (int i = 0; i < hb_n; i++)
    if (hb_runs[i] == r) { hb_runs[i] = hb_runs[--hb_n]; break; }
  int join = hb_running && hb_n == 0 && was > 0;
  if (join) hb_running = 0;
  pthread_cond_signal(&hb_wake);
  pthread_mutex_unlock(&hb_lock);
  if (join) pthread_join(hb_thread, NULL);
}

lr_run *lr_run_start(const char *path, const lr_run_info *info, char *err, size_t errlen) {
  lr_run *r = calloc(1, sizeof *r);
  if (!r || !(r->path = dupstr(path))) { free(r); seterr(err, errlen, "out of memory"); return NULL; }
  if (!(r->db = lr_open(path, 0, err, errlen))) { free(r->path); free(r); return NULL; }
  /* WAL stays consistent with NORMAL (a power cut may lose the last flush, never
     corrupt); a bigger page cache keeps the metrics B-tree's right edge in memory */
  sqlite3_exec(r->db, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384", NULL, NULL, NULL);
  char why[400];
  if (insert_run(r, info, why, sizeof why) != 0) {
    seterr(err, errlen, "cannot record a run in %s: %s", path, why);
    sqlite3_close(r->db);
    free(r->path);
    free(r);
    return NULL;
  }
  strcpy(r->status, "running");
  r->last_flush = mono();
  hb_add(r);
  return r;
}

int64_t lr_run_id(const lr_run *r) { return r->id; }
const char *lr_run_status(const lr_run *r) { return r->status; }

int lr_run_key(lr_run *r, const char *name, size_t len) {
  for (int i = 0; i < r->nkeys; i++)
    if (strncmp(r->keys[i].name, name, len) == 0 && r->keys[i].name[len] == 0) return i;
  size_t cap = (size_t)r->capkeys;
  if (grow((void **)&r->keys, sizeof *r->keys, (size_t)r->nkeys + 1, &cap) != 0) return -1;
  r->capkeys = (int)cap;
  lr_key *k = &r->keys[r->nkeys];
  memset(k, 0, sizeof *k);
  if (!(k->name = malloc(len + 1))) return -1;
  memcpy(k->name, name, len);
  k->name[len] = 0;
  k->first = k->last = k->min = k->max = NAN;
  return r->nkeys++;
}

int64_t lr_run_next_step(lr_run *r) { return r->step + 1; }
void lr_run_end_step(lr_run *r, int64_t step) { r->step = step; }

void lr_run_log(lr_run *r, int key, int64_t step, double value, double time) {
  if (r->npts == r->cappts && grow((void **)&r->pts, sizeof *r->pts, r->npts + 1, &r->cappts) != 0) return;
  r->pts[r->npts++] = (lr_point){key, step, value, time};
  lr_key *k = &r->keys[key];
  k->touched = 1;
  if (k->count > 0 && step <= k->last_step) k->recompute = 1; /* a replaced or earlier step */
  if (k->count++ == 0) { k->first = value; k->first_step = step; }
  k->last = value;
  k->last_step = step;
  if (!isnan(value)) {
    if (isnan(k->min) || value < k->min) { k->min = value; k->min_step = step; }
    if (isnan(k->max) || value > k->max) { k->max = value; k->max_step = step; }
  }
}

int lr_run_maybe_flush(lr_run *r) {
  if (r->npts >= (1u << 16) || mono() - r->last_flush >= 1.0) return lr_run_flush(r);
  return 0;
}

const char *lr_run_error(const lr_run *r) { return r->error; }
size_t lr_run_pending(const lr_run *r) { return r->npts + (size_t)r->nops; }

static int push_op(lr_run *r, lr_op op) {
  size_t cap = (size_t)r->capops;
  if (grow((void **)&r->ops, sizeof *r->ops, (size_t)r->nops + 1, &cap) != 0) return -1;
  r->capops = (int)cap;
  op.time = lr_now();
  r->ops[r->nops++] = op;
  return 0;
}

static int op3(lr_run *r, int kind, const char *a, const char *b, const char *c, lr_op op) {
  op.kind = kind;
  op.a = dupstr(a); op.b = dupstr(b); op.c = dupstr(c);
  if ((a && !op.a) || (b && !op.b) || (c && !op.c) || push_op(r, op) != 0) {
    free(op.a); free(op.b); free(op.c);
    return -1;
  }
  return 0;
}

int lr_run_param(lr_run *r, const char *key, const char *value, int has_num, double num) {
  return op3(r, OP_PARAM, key, value, NULL, (lr_op){.has_num = has_num, .num = num});
}
int lr_run_tag(lr_run *r, const char *key, const char *value) { return op3(r, OP_TAG, key, value, NULL, (lr_op){0}); }
int lr_run_note(lr_run *r, const char *text) { return op3(r, OP_NOTE, text, NULL, NULL, (lr_op){0}); }
int lr_run_artifact(lr_run *r, const char *path, const char *kind, int64_t size, const char *sha) {
  return op3(r, OP_ARTIFACT, path, kind, sha, (lr_op){.i = size});
}
int lr_run_set(lr_run *r, const char *field, const char *value) {
  if (strcmp(field, "experiment") == 0) return op3(r, OP_EXPERIMENT, value, NULL, NULL, (lr_op){0});
  if (strcmp(field, "name") && strcmp(field, "notes") && strcmp(field, "parent_id")) return -1;
  return op3(r, OP_SET, field, value, NULL, (lr_op){0});
}
int lr_run_goal(lr_run *r, const char *metric, const char *goal) {
  return op3(r, OP_GOAL, metric, goal, NULL, (lr_op){0});
}

static int write_op(lr_run *r, const lr_op *o) {
  sqlite3 *db = r->db;
  switch (o->kind) {
  case OP_PARAM:
    return exec_args(db, "INSERT OR REPLACE INTO params VALUES (?1, ?2, ?3, ?4)", "issd", r->id, o->a, o->b,
                     o->has_num ? o->num : NAN);
  case OP_TAG: return exec_args(db, "INSERT OR REPLACE INTO tags VALUES (?1, ?2, ?3)", "iss", r->id, o->a, o->b);
  case OP_NOTE:
    return exec_args(db, "INSERT INTO notes(run_id, time, text) VALUES (?1, ?2, ?3)", "ids", r->id, o->time, o->a);
  case OP_ARTIFACT:
    return exec_args(db, "INSERT INTO artifacts(run_id, path, kind, size, sha256, created)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", "issisd", r->id, o->a, o->b, o->i, o->c, o->time);
  case OP_SET: {
    const char *sql = strcmp(o->a, "name") == 0 ? "UPDATE runs SET name = ?2 WHERE id = ?1"
                      : strcmp(o->a, "notes") == 0 ? "UPDATE runs SET notes = ?2 WHERE id = ?1"
                                                   : "UPDATE runs SET parent_id = CAST(?2 AS INTEGER) WHERE id = ?1";
    return exec_args(db, sql, "is", r->id, o->b);
  }
  case OP_EXPERIMENT:
    if (exec_args(db, "INSERT OR IGNORE INTO experiments(name, created) VALUES (?1, ?2)", "sd", o->a, o->time)) return -1;
    return exec_args(db, "UPDATE runs SET experiment_id = (SELECT id FROM experiments WHERE name = ?2) WHERE id = ?1",
                     "is", r->id, o->a);
  case OP_GOAL:
    if (exec_args(db, "INSERT OR IGNORE INTO metric_keys(name, goal) VALUES (?1, ?2)", "ss", o->a, o->b)) return -1;
    return exec_args(db, "UPDATE metric_keys SET goal = ?2 WHERE name = ?1", "ss", o->a, o->b);
  case OP_FINISH:
    return exec_args(db, "UPDATE runs SET status = ?2, ended = ?3, heartbeat = ?3, exit_status = ?4, error = ?5,"
                         " traceback = ?6, seed = ?7 WHERE id = ?1", "isdissi", r->id, o->a, o->time, o->i, o->b,
                     o->c, o->j);
  }
  return -1;
}

static int key_ids(lr_run *r) {
  for (int i = 0; i < r->nkeys; i++) {
    lr_key *k = &r->keys[i];
    if (k->id || !k->touched) continue;
    if (exec_args(r->db, "INSERT OR IGNORE INTO metric_keys(name, goal) VALUES (?1, ?2)", "ss", k->name,
                  guess_goal(k->name)) != 0) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT id FROM metric_keys WHERE name = ?1", -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(st, 1, k->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) { k->id = sqlite3_column_int64(st, 0); k->id_new = 1; }
    sqlite3_finalize(st);
    if (!k->id) return -1;
  }
  return 0;
}

/* points go in statements of BATCH rows: a third cheaper than one row per statement */
#define BATCH 64

static void bind_point(lr_run *r, sqlite3_stmt *st, int at, const lr_point *p) {
  sqlite3_bind_int64(st, at + 1, r->id);
  sqlite3_bind_int64(st, at + 2, r->keys[p->key].id);
  sqlite3_bind_int64(st, at + 3, p->step);
  bind_real(st, at + 4, p->value);
  sqlite3_bind_double(st, at + 5, p->time);
  sqlite3_bind_int(st, at + 6, isnan(p->value));
}

static int write_points(lr_run *r) {
  static char sql[64 + BATCH * 16];
  if (!sql[0]) {
    strcpy(sql, "INSERT OR REPLACE INTO metrics VALUES (?,?,?,?,?,?)");
    for (int i = 1; i < BATCH; i++) strcat(sql, ",(?,?,?,?,?,?)");
  }
  sqlite3_stmt *many = NULL, *one = NULL;
  int rc = sqlite3_prepare_v2(r->db, sql, -1, &many, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(r->db, sql, (int)strlen("INSERT OR REPLACE INTO metrics VALUES (?,?,?,?,?,?)"),
                              &one, NULL) == SQLITE_OK ? 0 : -1;
  size_t i = 0;
  for (; rc == 0 && i + BATCH <= r->npts; i += BATCH) {
    for (int j = 0; j < BATCH; j++) bind_point(r, many, 6 * j, &r->pts[i + (size_t)j]);
    if (sqlite3_step(many) != SQLITE_DONE) rc = -1;
    sqlite3_reset(many);
  }
  for (; rc == 0 && i < r->npts; i++) {
    bind_point(r, one, 0, &r->pts[i]);
    if (sqlite3_step(one) != SQLITE_DONE) rc = -1;
    sqlite3_reset(one);
  }
  sqlite3_finalize(many);
  sqlite3_finalize(one);
  return rc;
}

#define SUMMARY_OF(col, where, order) \
  "(SELECT " col " FROM metrics WHERE run_id = ?1 AND key_id = ?2" where " ORDER BY " order " LIMIT 1)"

/* the summary of a key whose steps were not increasing, from the stored points */
static int recompute(lr_run *r, lr_key *k) {
  static const char *sql =
    "SELECT count(*), " SUMMARY_OF("value", "", "step") ", min(step), " SUMMARY_OF("value", "", "step DESC")
    ", max(step), " SUMMARY_OF("value", " AND value IS NOT NULL", "value, step")
    ", " SUMMARY_OF("step", " AND value IS NOT NULL", "value, step")
    ", " SUMMARY_OF("value", " AND value IS NOT NULL", "value DESC, step")
    ", " SUMMARY_OF("step", " AND value IS NOT NULL", "value DESC, step")
    " FROM metrics WHERE run_id = ?1 AND key_id = ?2";
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  sqlite3_bind_int64(st, 1, r->id);
  sqlite3_bind_int64(st, 2, k->id);
  int ok = sqlite3_step(st) == SQLITE_ROW;
  if (ok) {
#define COLD(i) (sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i))
    k->count = sqlite3_column_int64(st, 0);
    k->first = COLD(1); k->first_step = sqlite3_column_int64(st, 2);
    k->last = COLD(3); k->last_step = sqlite3_column_int64(st, 4);
    k->min = COLD(5); k->min_step = sqlite3_column_int64(st, 6);
    k->max = COLD(7); k->max_step = sqlite3_column_int64(st, 8);
#undef COLD
  }
  sqlite3_finalize(st);
  return ok ? 0 : -1;
}

static int write_summaries(lr_run *r) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO metric_summary VALUES"
                                " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", -1, &st, NULL)) return -1;
  int rc = 0;
  for (int i = 0; i < r->nkeys && rc == 0; i++) {
    lr_key *k = &r->keys[i];
    if (!k->touched) continue;
    if (k->recompute && recompute(r, k) != 0) { rc = -1; break; }
    int has_min = !isnan(k->min);
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_int64(st, 2, k->id);
    sqlite3_bind_int64(st, 3, k->count);
    bind_real(st, 4, k->first);
    sqlite3_bind_int64(st, 5, k->first_step);
    bind_real(st, 6, k->last);
    sqlite3_bind_int64(st, 7, k->last_step);
    bind_real(st, 8, k->min);
    if (has_min) sqlite3_bind_int64(st, 9, k->min_step); else sqlite3_bind_null(st, 9);
    bind_real(st, 10, k->max);
    if (has_min) sqlite3_bind_int64(st, 11, k->max_step); else sqlite3_bind_null(st, 11);
    if (sqlite3_step(st) != SQLITE_DONE) rc = -1;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return rc;
}

int lr_run_flush(lr_run *r) {
  if (!r->db) return -1;
  int rc = sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  if (rc == 0) rc = key_ids(r);
  for (int i = 0; i < r->nops && rc == 0; i++) rc = write_op(r, &r->ops[i]);
  if (rc == 0) rc = write_points(r);
  if (rc == 0) rc = write_summaries(r);
  if (rc == 0 && strcmp(r->status, "running") == 0)
    rc = exec_args(r->db, "UPDATE runs SET heartbeat = ?2 WHERE id = ?1", "id", r->id, lr_now());
  if (rc == 0) rc = sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  if (rc != 0) {
    char why[400];
    describe_failure(r->db, why, sizeof why); /* before ROLLBACK replaces the error */
    snprintf(r->error, sizeof r->error, "cannot write run %lld to %s: %s", (long long)r->id, r->path, why);
    warn_once(r);
    if (!sqlite3_get_autocommit(r->db)) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < r->nkeys; i++)
      if (r->keys[i].id_new) { r->keys[i].id = 0; r->keys[i].id_new = 0; }
    r->last_flush = mono(); /* after a long wait too: the next try is a second away */
    return -1;
  }
  for (int i = 0; i < r->nkeys; i++) r->keys[i].id_new = r->keys[i].touched = r->keys[i].recompute = 0;
  for (int i = 0; i < r->nops; i++) { free(r->ops[i].a); free(r->ops[i].b); free(r->ops[i].c); }
  r->nops = 0;
  r->npts = 0;
  r->error[0] = 0;
  r->last_flush = mono();
  if (r->warned) { fprintf(stderr, "lunet.runs: run %lld written to %s again\n", (long long)r->id, r->path); r->warned = 0; }
  return 0;
}

int lr_run_finish(lr_run *r, const char *status, int exit_status, const char *error, const char *traceback,
                  int64_t seed) {
  if (strcmp(r->status, "running") != 0) return 0;
  if (op3(r, OP_FINISH, status, error, traceback, (lr_op){.i = exit_status, .j = seed}) != 0) return -1;
  snprintf(r->status, sizeof r->status, "%s", status);
  hb_remove(r);
  return lr_run_flush(r);
}

void lr_run_free(lr_run *r) {
  if (!r) return;
  hb_remove(r);
  if ((r->npts || r->nops) && lr_run_flush(r) != 0) { /* the last chance: say what is lost */
    fprintf(stderr, "lunet.runs: %s; %zu points and changes of the run are lost\n", r->error, lr_run_pending(r));
    fflush(stderr);
  }
  for (int i = 0; i < r->nkeys; i++) free(r->keys[i].name);
  for (int i = 0; i < r->nops; i++) { free(r->ops[i].a); free(r->ops[i].b); free(r->ops[i].c); }
  free(r->keys);
  free(r->pts);
  free(r->ops);
  free(r->path);
  sqlite3_close(r->db);
  free(r);
}
