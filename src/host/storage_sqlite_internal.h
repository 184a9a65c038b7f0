/*
 * storage_sqlite_internal.h - shared between storage_sqlite.c (open,
 * schema, helpers) and storage_sqlite_ops.c (the storage.h operations).
 * Host-side only; never linked into the enclave.
 */
#ifndef NITROWALLET_STORAGE_SQLITE_INTERNAL_H
#define NITROWALLET_STORAGE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "nitrowallet/storage.h"

/* One connection per handle; `lock` serialises its users, so a transaction
 * begun by one thread never takes in another thread's statements. */
struct sqlite_storage {
    struct nw_storage base; /* first: a struct nw_storage * points here */
    sqlite3 *db;
    pthread_mutex_t lock;
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

/* The ops table's close: finalise the connection and free the handle. */
void nw_sqlite_close(struct nw_storage *base);

#endif
