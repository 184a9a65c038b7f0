/*
 * storage_sqlite_internal.h - shared between storage_sqlite.c (open,
 * schema, helpers), storage_sqlite_batch.c (group commit of writes) and
 * storage_sqlite_ops.c (the storage.h operations).  Host-side only; never
 * linked into the enclave.
 */
#ifndef NITROWALLET_STORAGE_SQLITE_INTERNAL_H
#define NITROWALLET_STORAGE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "nitrowallet/storage.h"

/* Most writes one group commit takes into its transaction (docs/storage.md). */
#define NW_SQLITE_BATCH_MAX 256

/* What a queued write inserts (one constant SQL text each). */
enum sqlite_write_kind {
    SQLITE_WRITE_ACCOUNT,     /* AccountTable, ON CONFLICT DO NOTHING */
    SQLITE_WRITE_SIGNED,      /* SignedValueTable, Seq assigned */
    SQLITE_WRITE_IDEMPOTENCY, /* IdempotencyTable, ON CONFLICT DO NOTHING */
    SQLITE_WRITE_KINDS
};

/*
 * One write waiting for group commit.  It lives on its caller's stack: the
 * caller fills the inputs and blocks in nw_sqlite_write until `done`, so
 * the committer may read the inputs and set the results without copying.
 */
struct sqlite_write {
    enum sqlite_write_kind kind;
    const char *const *values; /* NULL-terminated, bound to parameters 1.. */
    int status;                /* IdempotencyTable.Status (parameter 5) */
    /* results, set by the committer before `done` */
    enum nw_err rc;
    struct nw_error err; /* when rc != NW_OK */
    int exists;          /* conditional writes: the key was already there */
    long long seq;       /* SignedValueTable: the Seq assigned */
    int done;            /* committed (or failed); guarded by group_lock */
    struct sqlite_write *next;
};

/*
 * One handle.  Writes go through the group commit queue and only the
 * committing thread (at most one at a time: `committing`) uses `db`; reads
 * use their own connection `rdb` under `read_lock`, so a read never waits
 * for a commit's fsync (WAL: readers and the writer do not block each other).
 */
struct sqlite_storage {
    struct nw_storage base; /* first: a struct nw_storage * points here */
    sqlite3 *db;            /* the writer connection */
    sqlite3 *rdb;           /* the reader connection (query_only) */
    pthread_mutex_t read_lock;
    pthread_mutex_t group_lock; /* guards the queue, `committing`, `done` */
    pthread_cond_t group_cond;  /* a batch finished */
    struct sqlite_write *head, *tail;
    int committing;
    unsigned long long commits, rows; /* statistics (tests, bench) */
};

extern const struct nw_storage_ops nw_sqlite_ops;

/* Record SQLite's error message (never data) for `what`. */
enum nw_err nw_sqlite_fail(struct nw_error *err, sqlite3 *db, int rc, const char *what);

/* Prepare a static SQL statement. */
NW_MUST_CHECK enum nw_err nw_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, struct nw_error *err);

/* Bind a NUL-terminated string, as a copy. */
NW_MUST_CHECK enum nw_err nw_sqlite_bind(sqlite3 *db, sqlite3_stmt *stmt, int idx, const char *s, struct nw_error *err);

/* A heap copy of text column `col` ("" for NULL). */
NW_MUST_CHECK enum nw_err nw_sqlite_column(char **out, sqlite3_stmt *stmt, int col, struct nw_error *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
NW_MUST_CHECK enum nw_err nw_sqlite_begin(sqlite3 *db, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_sqlite_commit(sqlite3 *db, struct nw_error *err);
void nw_sqlite_rollback(sqlite3 *db);

/*
 * Queue `w` and return once the transaction holding it has committed
 * (durably: synchronous=FULL) or failed.  Returns w->rc; w->err, w->exists
 * and w->seq hold the write's own result.  Thread-safe; see
 * storage_sqlite_batch.c for the protocol.
 */
NW_MUST_CHECK enum nw_err nw_sqlite_write(struct sqlite_storage *s, struct sqlite_write *w);

/* Wait until no write is queued or being committed (used by close). */
void nw_sqlite_drain(struct sqlite_storage *s);

/* Commits and rows written so far (consistent pair). */
void nw_sqlite_stats(struct nw_storage *st, unsigned long long *commits, unsigned long long *rows);

/* The ops table's close: drain, finalise the connections, free the handle. */
void nw_sqlite_close(struct nw_storage *base);

#endif
