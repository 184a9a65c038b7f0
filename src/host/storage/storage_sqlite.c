/*
 * storage_sqlite.c - the SQLite storage backend: opening the database file,
 * its pragmas, the versioned schema and the statement helpers.
 *
 * Host-side (not trusted with keys; the rows hold ciphertext and public
 * data).  The file is created 0600 before SQLite opens it (SQLite gives the
 * -wal and -shm files the database file's mode).  Durability: WAL journal
 * with synchronous=FULL, so a COMMIT has reached the disk when it returns
 * (https://www.sqlite.org/pragma.html#pragma_synchronous).  The schema
 * version lives in PRAGMA user_version and is raised one migration step at
 * a time inside a write transaction; a newer version than this build knows
 * is refused.  Every SQL text here is a constant: input only ever reaches
 * SQLite through bound parameters.  Two connections per handle: a writer
 * used only by group commit (storage_sqlite_batch.c) and a query_only
 * reader, so that reads do not queue behind a commit's fsync.  Table
 * layouts: docs/storage.md.
 */
#include "storage_sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

/* clang-format off */
static const char schema_v1[] =
    "CREATE TABLE AccountTable ("
    " KeyId TEXT NOT NULL,"
    " Name TEXT NOT NULL PRIMARY KEY,"
    " Address TEXT NOT NULL,"
    " EncryptedPrivateKey TEXT NOT NULL,"
    " EncryptedDataKey TEXT NOT NULL,"
    " Policy TEXT NOT NULL,"
    " PolicyDigest TEXT NOT NULL,"
    " CreatedAt TEXT NOT NULL);"
    "CREATE TABLE SignedValueTable ("
    " Seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " Name TEXT NOT NULL REFERENCES AccountTable(Name),"
    " Kind TEXT NOT NULL,"
    " \"Transaction\" TEXT NOT NULL,"
    " SignedValue TEXT NOT NULL,"
    " TxHash TEXT NOT NULL,"
    " CreatedAt TEXT NOT NULL,"
    " RequestId TEXT NOT NULL);"
    "CREATE INDEX SignedValueByName ON SignedValueTable(Name, Seq);"
    "CREATE TABLE IdempotencyTable ("
    " \"Key\" TEXT NOT NULL PRIMARY KEY,"
    " Fingerprint TEXT NOT NULL,"
    " Status INTEGER NOT NULL,"
    " Response TEXT NOT NULL,"
    " CreatedAt TEXT NOT NULL);"
    "PRAGMA user_version = 1;";
/* clang-format on */

/* migrations[v] takes the schema from version v to v + 1. */
static const char *const migrations[] = {schema_v1};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum nw_err nw_sqlite_fail(struct nw_error *err, sqlite3 *db, int rc, const char *what)
{
    enum nw_err code = NW_ERR_INTERNAL;

    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        code = NW_ERR_UNAVAILABLE;
    else if ((rc & 0xff) == SQLITE_NOMEM)
        code = NW_ERR_NOMEM;
    return nw_fail(err, code, "storage: %s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

enum nw_err nw_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, struct nw_error *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, stmt, NULL);

    if (rc != SQLITE_OK)
        return nw_sqlite_fail(err, db, rc, "prepare");
    return NW_OK;
}

enum nw_err nw_sqlite_bind(sqlite3 *db, sqlite3_stmt *stmt, int idx, const char *s, struct nw_error *err)
{
    int rc = sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT);

    if (rc != SQLITE_OK)
        return nw_sqlite_fail(err, db, rc, "bind");
    return NW_OK;
}

enum nw_err nw_sqlite_column(char **out, sqlite3_stmt *stmt, int col, struct nw_error *err)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(stmt, col);

    *out = malloc(n + 1);
    if (*out == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "storage: out of memory");
    if (t != NULL && n > 0)
        memcpy(*out, t, n);
    (*out)[n] = '\0';
    return NW_OK;
}

static enum nw_err exec(sqlite3 *db, const char *sql, const char *what, struct nw_error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return nw_sqlite_fail(err, db, rc, what);
    return NW_OK;
}

enum nw_err nw_sqlite_begin(sqlite3 *db, struct nw_error *err)
{
    return exec(db, "BEGIN IMMEDIATE", "begin", err);
}

enum nw_err nw_sqlite_commit(sqlite3 *db, struct nw_error *err)
{
    return exec(db, "COMMIT", "commit", err);
}

void nw_sqlite_rollback(sqlite3 *db)
{
    (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* The single integer a pragma query returns (user_version, foreign_keys). */
static enum nw_err pragma_int(sqlite3 *db, const char *sql, int *out, struct nw_error *err)
{
    sqlite3_stmt *stmt = NULL;
    enum nw_err rc = nw_sqlite_prepare(db, sql, &stmt, err);

    if (rc != NW_OK)
        return rc;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *out = sqlite3_column_int(stmt, 0);
    else
        rc = nw_sqlite_fail(err, db, sqlite3_errcode(db), "pragma");
    sqlite3_finalize(stmt);
    return rc;
}

static enum nw_err set_wal(sqlite3 *db, struct nw_error *err)
{
    sqlite3_stmt *stmt = NULL;
    enum nw_err rc = nw_sqlite_prepare(db, "PRAGMA journal_mode=WAL", &stmt, err);

    if (rc != NW_OK)
        return rc;
    if (sqlite3_step(stmt) != SQLITE_ROW)
        rc = nw_sqlite_fail(err, db, sqlite3_errcode(db), "journal_mode");
    else if (sqlite3_stricmp((const char *)sqlite3_column_text(stmt, 0), "wal") != 0)
        rc = nw_fail(err, NW_ERR_INTERNAL, "storage: the database refused WAL journal mode");
    sqlite3_finalize(stmt);
    return rc;
}

/* Apply the missing migration steps, each in its own write transaction. */
static enum nw_err migrate(sqlite3 *db, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    int version = 0;

    for (;;) {
        if ((rc = nw_sqlite_begin(db, err)) != NW_OK)
            return rc;
        /* Read inside the transaction: another process may have migrated. */
        if ((rc = pragma_int(db, "PRAGMA user_version", &version, err)) != NW_OK)
            break;
        if (version > SCHEMA_VERSION) {
            rc = nw_fail(err, NW_ERR_INTERNAL, "storage: schema version %d is newer than this build's %d", version,
                         SCHEMA_VERSION);
            break;
        }
        if (version < 0 || version == SCHEMA_VERSION)
            break;
        if ((rc = exec(db, migrations[version], "migrate", err)) != NW_OK)
            break;
        if ((rc = nw_sqlite_commit(db, err)) != NW_OK)
            break;
    }
    nw_sqlite_rollback(db);
    if (rc == NW_OK && version < 0)
        rc = nw_fail(err, NW_ERR_INTERNAL, "storage: invalid schema version %d", version);
    return rc;
}

/* Create the file 0600 (or tighten an existing one) before SQLite opens it. */
static enum nw_err prepare_file(const char *path, struct nw_error *err)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    enum nw_err rc = NW_OK;

    if (fd < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "storage: cannot open the database file: %s", strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        rc = nw_fail(err, NW_ERR_INTERNAL, "storage: the database path is not a regular file");
    else if ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)
        rc = nw_fail(err, NW_ERR_INTERNAL, "storage: cannot restrict the database file to 0600: %s", strerror(errno));
    close(fd);
    return rc;
}

static enum nw_err configure(sqlite3 *db, struct nw_error *err)
{
    enum nw_err rc;
    int fk = 0;

    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if ((rc = set_wal(db, err)) != NW_OK || (rc = exec(db, "PRAGMA synchronous=FULL", "synchronous", err)) != NW_OK ||
        (rc = exec(db, "PRAGMA foreign_keys=ON", "foreign_keys", err)) != NW_OK ||
        (rc = pragma_int(db, "PRAGMA foreign_keys", &fk, err)) != NW_OK)
        return rc;
    if (fk != 1)
        return nw_fail(err, NW_ERR_INTERNAL, "storage: this SQLite does not enforce foreign keys");
    return migrate(db, err);
}

void nw_sqlite_close(struct nw_storage *base)
{
    struct sqlite_storage *s = (struct sqlite_storage *)base;

    /* Callers still inside a write each commit their own batch: wait for
     * them rather than closing the connection under them. */
    nw_sqlite_drain(s);
    sqlite3_close_v2(s->rdb);
    sqlite3_close_v2(s->db);
    pthread_cond_destroy(&s->group_cond);
    pthread_mutex_destroy(&s->group_lock);
    pthread_mutex_destroy(&s->read_lock);
    free(s);
}

static enum nw_err init_locks(struct sqlite_storage *s, struct nw_error *err)
{
    if (pthread_mutex_init(&s->read_lock, NULL) != 0)
        return nw_fail(err, NW_ERR_INTERNAL, "storage: cannot create a mutex");
    if (pthread_mutex_init(&s->group_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->read_lock);
        return nw_fail(err, NW_ERR_INTERNAL, "storage: cannot create a mutex");
    }
    if (pthread_cond_init(&s->group_cond, NULL) != 0) {
        pthread_mutex_destroy(&s->group_lock);
        pthread_mutex_destroy(&s->read_lock);
        return nw_fail(err, NW_ERR_INTERNAL, "storage: cannot create a condition variable");
    }
    return NW_OK;
}

/* The reader: opened after the writer migrated the schema; query_only so
 * that no code path can write through it outside group commit. */
static enum nw_err open_reader(struct sqlite_storage *s, const char *path, struct nw_error *err)
{
    int src =
        sqlite3_open_v2(path, &s->rdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);

    if (src != SQLITE_OK)
        return nw_sqlite_fail(err, s->rdb, src, "open");
    sqlite3_extended_result_codes(s->rdb, 1);
    sqlite3_busy_timeout(s->rdb, BUSY_TIMEOUT_MS);
    return exec(s->rdb, "PRAGMA query_only=1", "query_only", err);
}

enum nw_err nw_storage_sqlite_open(struct nw_storage **out, const char *path, struct nw_error *err)
{
    struct sqlite_storage *s = NULL;
    enum nw_err rc;
    int src;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "storage: no database path");
    NW_GUARD(prepare_file(path, err));
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "storage: out of memory");
    if ((rc = init_locks(s, err)) != NW_OK) {
        free(s);
        return rc;
    }
    s->base.ops = &nw_sqlite_ops;
    src = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    if (src != SQLITE_OK) {
        rc = nw_sqlite_fail(err, s->db, src, "open");
        goto out;
    }
    NW_GUARD(configure(s->db, err));
    NW_GUARD(open_reader(s, path, err));
    *out = &s->base;
    s = NULL;
out:
    if (s != NULL)
        nw_sqlite_close(&s->base);
    return rc;
}
