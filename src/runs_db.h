/* runs_db.h -- the run store: a SQLite database of runs, params, metrics.
 *
 * Two halves, no Lua in either:
 *   lr_open          opens (and creates or migrates) a lunet runs database
 *   lr_run_*         records one run: metrics are buffered in memory and
 *                    written in one BEGIN IMMEDIATE transaction at least every
 *                    second and at finish, with metric_summary kept in step.
 * A lock held by another process is waited for (LUNET_DB_TIMEOUT seconds,
 * default 60, with a warning on stderr after a second). A write that fails
 * anyway (locked too long, read-only, disk full) keeps everything in memory
 * for the next flush, warns once on stderr, and lr_run_error says why.
 */
#ifndef LUNET_RUNS_DB_H
#define LUNET_RUNS_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define LR_SCHEMA_VERSION 1

/* open path; readonly opens without creating. NULL on error with a message in err.
   The connection waits for another's lock up to lr_lock_timeout() seconds. */
sqlite3 *lr_open(const char *path, int readonly, char *err, size_t errlen);

void lr_sha256(const void *data, size_t n, char hex[65]);
/* sha256 and size of a file; 0 on success */
int lr_sha256_file(const char *path, char hex[65], int64_t *size);
double lr_now(void);                 /* unix seconds */
double lr_lock_timeout(void);        /* LUNET_DB_TIMEOUT, else 60 (seconds) */
/* stopping() != 0 once the user asked the program to stop: lock waits shrink to 2 s */
void lr_set_stop_check(int (*stopping)(void));
int lr_pid_alive(int64_t pid);       /* on this host */
const char *lr_hostname(void);

typedef struct {
  const char *name, *script_path, *command_line;
  const char *lunet_version, *lua_version, *blas;
  int threads;
  int64_t seed;
} lr_run_info;

typedef struct lr_run lr_run;

/* start a run on its own connection to path; NULL with a message on error */
lr_run *lr_run_start(const char *path, const lr_run_info *info, char *err, size_t errlen);
int64_t lr_run_id(const lr_run *r);
const char *lr_run_status(const lr_run *r);   /* "running" until finished */
/* the metric key's index for lr_run_log (-1 when out of memory) */
int lr_run_key(lr_run *r, const char *name, size_t len);
/* buffer one point; step < 0 means the run's next automatic step */
void lr_run_log(lr_run *r, int key, int64_t step, double value, double time);
int64_t lr_run_next_step(lr_run *r);   /* the automatic step of the next log call */
void lr_run_end_step(lr_run *r, int64_t step); /* one log call done at step */
int lr_run_maybe_flush(lr_run *r);     /* flushes when a second has passed; -1 when that failed */

/* queued writes, done at the next flush */
int lr_run_param(lr_run *r, const char *key, const char *value, int has_num, double num);
int lr_run_tag(lr_run *r, const char *key, const char *value);
int lr_run_note(lr_run *r, const char *text);
int lr_run_artifact(lr_run *r, const char *path, const char *kind, int64_t size, const char *sha);
/* runs columns: "name", "notes", "parent_id" (value as text), "experiment" (a name) */
int lr_run_set(lr_run *r, const char *field, const char *value);
int lr_run_goal(lr_run *r, const char *metric, const char *goal);

/* write what is buffered now; 0 on success, else data stays buffered */
int lr_run_flush(lr_run *r);
/* "cannot write run N to PATH: why" after a failed flush, "" after a good one */
const char *lr_run_error(const lr_run *r);
size_t lr_run_pending(const lr_run *r); /* points and queued writes not yet written */
/* set the final status and flush; 0 when written */
int lr_run_finish(lr_run *r, const char *status, int exit_status, const char *error,
                  const char *traceback, int64_t seed);
void lr_run_free(lr_run *r);   /* flushes first when still running */

#endif
