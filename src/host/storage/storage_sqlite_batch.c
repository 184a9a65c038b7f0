/*
 * storage_sqlite_batch.c - group commit: every write of the SQLite backend
 * (accounts, audit rows, idempotency records) is queued, and one thread at a
 * time inserts a batch of queued writes in ONE transaction and commits it
 * once, so that one fsync makes a whole batch durable instead of one fsync
 * per signature.
 *
 * Protocol (leader/follower, no extra thread): a caller appends its write to
 * a FIFO queue and, while its write is not done, either waits (another
 * thread is committing) or becomes the committer: it takes up to
 * NW_SQLITE_BATCH_MAX writes from the head of the queue, runs BEGIN
 * IMMEDIATE, one INSERT per write, COMMIT, then marks them done and wakes
 * everyone.  A lone write commits at once (no timer, no added latency);
 * writes that arrive while a commit is in flight form the next batch.
 *
 * Durability: with journal_mode=WAL and synchronous=FULL, COMMIT returns
 * only after the WAL has been fsynced (https://www.sqlite.org/pragma.html#pragma_synchronous),
 * and a write is marked done only after COMMIT returned, so a caller never
 * sees NW_OK for a row that a power loss could take back.
 *
 * Isolation of failures: a write refused by a constraint (an unknown account
 * in SignedValueTable) fails alone: SQLite's default ABORT conflict
 * resolution backs out that statement only and keeps the transaction
 * (https://www.sqlite.org/lang_conflict.html).  An error that ends the
 * transaction (SQLite rolls back on e.g. I/O errors or a full disk; we check
 * sqlite3_get_autocommit) or a failed COMMIT fails every write of the batch,
 * none of which was reported durable.
 *
 * Host-side (ciphertext and public data only).  Inputs were validated by
 * storage.c and are only ever bound as parameters.
 */
#include "storage_sqlite_internal.h"

#include <string.h>

/* clang-format off */
static const char *const insert_sql[SQLITE_WRITE_KINDS] = {
    [SQLITE_WRITE_ACCOUNT] =
        "INSERT INTO AccountTable (KeyId, Name, Address, EncryptedPrivateKey, EncryptedDataKey, Policy,"
        " PolicyDigest, CreatedAt) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(Name) DO NOTHING",
    [SQLITE_WRITE_SIGNED] =
        "INSERT INTO SignedValueTable (Name, Kind, \"Transaction\", SignedValue, TxHash, CreatedAt, RequestId)"
        " VALUES (?,?,?,?,?,?,?)",
    [SQLITE_WRITE_IDEMPOTENCY] =
        "INSERT INTO IdempotencyTable (\"Key\", Fingerprint, Response, CreatedAt, Status)"
        " VALUES (?,?,?,?,?) ON CONFLICT(\"Key\") DO NOTHING",
};
/* clang-format on */

/* Bind w's parameters to its kind's statement, prepared once per batch. */
static enum nw_err bind_write(sqlite3 *db, sqlite3_stmt **stmts, struct sqlite_write *w, struct nw_error *err)
{
    sqlite3_stmt **stmt = &stmts[w->kind];
    enum nw_err rc = NW_OK;

    if (*stmt == NULL && (rc = nw_sqlite_prepare(db, insert_sql[w->kind], stmt, err)) != NW_OK)
        return rc;
    sqlite3_reset(*stmt);
    sqlite3_clear_bindings(*stmt);
    for (int i = 0; w->values[i] != NULL && rc == NW_OK; i++)
        rc = nw_sqlite_bind(db, *stmt, i + 1, w->values[i], err);
    if (rc == NW_OK && w->kind == SQLITE_WRITE_IDEMPOTENCY)
        sqlite3_bind_int(*stmt, 5, w->status);
    return rc;
}

/*
 * Insert one write inside the open transaction and set its own result.
 * Returns non-OK (and the reason in *txerr) only when the transaction
 * itself is gone, so that the whole batch fails.
 */
static enum nw_err insert_one(sqlite3 *db, sqlite3_stmt **stmts, struct sqlite_write *w, struct nw_error *txerr)
{
    int src;

    w->rc = bind_write(db, stmts, w, &w->err);
    if (w->rc != NW_OK)
        goto out;
    src = sqlite3_step(stmts[w->kind]);
    if (src == SQLITE_DONE) {
        w->exists = sqlite3_changes(db) == 0;
        if (w->kind == SQLITE_WRITE_SIGNED)
            w->seq = (long long)sqlite3_last_insert_rowid(db);
    } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
        w->rc = nw_fail(&w->err, NW_ERR_BAD_REQUEST, "storage: the account does not exist");
    } else {
        w->rc = nw_sqlite_fail(&w->err, db, src, "insert");
    }
    sqlite3_reset(stmts[w->kind]);
out:
    if (w->rc != NW_OK && sqlite3_get_autocommit(db)) {
        *txerr = w->err;
        return w->rc;
    }
    return NW_OK;
}

/* Run one transaction for the batch; returns the number of rows committed. */
static unsigned long long commit_batch(sqlite3 *db, struct sqlite_write *batch)
{
    sqlite3_stmt *stmts[SQLITE_WRITE_KINDS] = {NULL};
    struct nw_error txerr = {0};
    unsigned long long ok = 0;
    enum nw_err rc = nw_sqlite_begin(db, &txerr);

    for (struct sqlite_write *w = batch; w != NULL && rc == NW_OK; w = w->next)
        rc = insert_one(db, stmts, w, &txerr);
    for (int k = 0; k < SQLITE_WRITE_KINDS; k++)
        sqlite3_finalize(stmts[k]);
    if (rc == NW_OK)
        rc = nw_sqlite_commit(db, &txerr);
    if (rc != NW_OK)
        nw_sqlite_rollback(db);
    for (struct sqlite_write *w = batch; w != NULL; w = w->next) {
        if (rc != NW_OK && w->rc == NW_OK) {
            /* nothing of this batch is durable: a write not yet reached, or
             * inserted before the transaction was lost, fails with it */
            w->rc = rc;
            w->err = txerr;
            w->exists = 0;
            w->seq = 0;
        }
        ok += w->rc == NW_OK;
    }
    return ok;
}

/* Detach up to NW_SQLITE_BATCH_MAX writes from the head of the queue. */
static struct sqlite_write *take_batch(struct sqlite_storage *s)
{
    struct sqlite_write *batch = s->head, *last = s->head;

    for (int n = 1; n < NW_SQLITE_BATCH_MAX && last->next != NULL; n++)
        last = last->next;
    s->head = last->next;
    if (s->head == NULL)
        s->tail = NULL;
    last->next = NULL;
    return batch;
}

enum nw_err nw_sqlite_write(struct sqlite_storage *s, struct sqlite_write *w)
{
    w->rc = NW_OK;
    memset(&w->err, 0, sizeof w->err);
    w->exists = 0;
    w->seq = 0;
    w->done = 0;
    w->next = NULL;
    pthread_mutex_lock(&s->group_lock);
    if (s->tail != NULL)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    while (!w->done) {
        if (s->committing) {
            pthread_cond_wait(&s->group_cond, &s->group_lock);
            continue;
        }
        /* Become the committer.  Our own write is in this batch unless more
         * than a batch was queued ahead of it; then we loop and lead again. */
        struct sqlite_write *batch = take_batch(s);
        s->committing = 1;
        pthread_mutex_unlock(&s->group_lock);
        unsigned long long ok = commit_batch(s->db, batch);
        pthread_mutex_lock(&s->group_lock);
        /* Under the lock: each owner returns (and its stack entry goes) only
         * after we release it, so walking `next` here is safe. */
        for (struct sqlite_write *b = batch; b != NULL; b = b->next)
            b->done = 1;
        s->commits++;
        s->rows += ok;
        s->committing = 0;
        pthread_cond_broadcast(&s->group_cond);
    }
    pthread_mutex_unlock(&s->group_lock);
    return w->rc;
}

void nw_sqlite_drain(struct sqlite_storage *s)
{
    pthread_mutex_lock(&s->group_lock);
    while (s->head != NULL || s->committing)
        pthread_cond_wait(&s->group_cond, &s->group_lock);
    pthread_mutex_unlock(&s->group_lock);
}

void nw_sqlite_stats(struct nw_storage *st, unsigned long long *commits, unsigned long long *rows)
{
    struct sqlite_storage *s = (struct sqlite_storage *)st;

    pthread_mutex_lock(&s->group_lock);
    *commits = s->commits;
    *rows = s->rows;
    pthread_mutex_unlock(&s->group_lock);
}
