/*
 * storage_sqlite_ops.c - the storage.h operations on SQLite: conditional
 * account creation, reads, keyset pagination, the audit trail and
 * idempotency records.
 *
 * Host-side (ciphertext and public data only).  Records arrive validated
 * (storage_check.c).  Reads run on the handle's reader connection under its
 * mutex.  Writes are queued for group commit (storage_sqlite_batch.c): each
 * returns once the transaction holding it has committed, which with
 * synchronous=FULL is durable when COMMIT returns.  Conditional writes use
 * INSERT ... ON CONFLICT DO NOTHING and report `exists` from the change
 * count.  Cursors are opaque to callers: "n" + hex of the last account name,
 * "q" + the decimal Seq of the last audit row (pages are keyset-based, so
 * rows added between pages are neither skipped nor repeated).
 */
#include "storage_cursor.h"
#include "storage_sqlite_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"

#define ACCOUNT_COLUMNS "KeyId, Name, Address, EncryptedPrivateKey, EncryptedDataKey, Policy, PolicyDigest, CreatedAt"
#define SIGNED_COLUMNS "Seq, Name, Kind, \"Transaction\", SignedValue, TxHash, CreatedAt, RequestId"

static struct sqlite_storage *handle(struct nw_storage *st)
{
    return (struct sqlite_storage *)st;
}

/* Queue one write for group commit and hand back its own result. */
static enum nw_err queue_write(struct sqlite_storage *s, struct sqlite_write *w, int *exists, struct nw_error *err)
{
    enum nw_err rc = nw_sqlite_write(s, w);

    if (rc != NW_OK && err != NULL)
        *err = w->err;
    if (rc == NW_OK && exists != NULL)
        *exists = w->exists;
    return rc;
}

static enum nw_err create_account(struct nw_storage *st, const struct nw_account_record *r, int *exists,
                                  struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    const char *const v[] = {
        r->kms_key_id,    r->name,       r->address, r->encrypted_private_key, r->encrypted_data_key, r->policy,
        r->policy_digest, r->created_at, NULL};
    struct sqlite_write w = {.kind = SQLITE_WRITE_ACCOUNT, .values = v};

    return queue_write(s, &w, exists, err);
}

static enum nw_err read_account(sqlite3_stmt *stmt, struct nw_account_record *r, struct nw_error *err)
{
    char **cols[] = {&r->kms_key_id,         &r->name,   &r->address,       &r->encrypted_private_key,
                     &r->encrypted_data_key, &r->policy, &r->policy_digest, &r->created_at};
    enum nw_err rc = NW_OK;

    for (int i = 0; i < 8 && rc == NW_OK; i++)
        rc = nw_sqlite_column(cols[i], stmt, i, err);
    if (rc != NW_OK)
        nw_account_record_clear(r);
    return rc;
}

static enum nw_err get_account(struct nw_storage *st, const char *name, struct nw_account_record *out, int *found,
                               struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    sqlite3_stmt *stmt = NULL;
    enum nw_err rc;
    int src;

    pthread_mutex_lock(&s->read_lock);
    NW_GUARD(nw_sqlite_prepare(s->rdb, "SELECT " ACCOUNT_COLUMNS " FROM AccountTable WHERE Name = ?", &stmt, err));
    NW_GUARD(nw_sqlite_bind(s->rdb, stmt, 1, name, err));
    src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        NW_GUARD(read_account(stmt, out, err));
        *found = 1;
    } else if (src != SQLITE_DONE) {
        rc = nw_sqlite_fail(err, s->rdb, src, "select");
    }
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->read_lock);
    return rc;
}

static enum nw_err list_accounts(struct nw_storage *st, size_t limit, const char *cursor, struct nw_account_page *out,
                                 struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    char after[NW_STORAGE_NAME_MAX + 1] = "";
    sqlite3_stmt *stmt = NULL;
    enum nw_err rc = NW_OK;
    int src;

    if (cursor[0] != '\0' && (rc = nw_storage_account_cursor_decode(after, cursor, err)) != NW_OK)
        return rc;
    out->items = calloc(limit, sizeof *out->items);
    if (out->items == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "storage: out of memory");
    pthread_mutex_lock(&s->read_lock);
    NW_GUARD(nw_sqlite_prepare(
        s->rdb, "SELECT " ACCOUNT_COLUMNS " FROM AccountTable WHERE Name > ? ORDER BY Name LIMIT ?", &stmt, err));
    NW_GUARD(nw_sqlite_bind(s->rdb, stmt, 1, after, err));
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)limit + 1);
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && out->count < limit) {
        NW_GUARD(read_account(stmt, &out->items[out->count], err));
        out->count++;
    }
    if (src == SQLITE_ROW)
        nw_storage_account_cursor_encode(out->next_cursor, out->items[out->count - 1].name);
    else if (src != SQLITE_DONE)
        rc = nw_sqlite_fail(err, s->rdb, src, "select");
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->read_lock);
    if (rc != NW_OK)
        nw_account_page_free(out);
    return rc;
}

static enum nw_err record_signed_value(struct nw_storage *st, const struct nw_signed_value_record *r,
                                       struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    const char *const v[] = {r->name,    r->kind,       r->transaction, r->signed_value,
                             r->tx_hash, r->created_at, r->request_id,  NULL};
    struct sqlite_write w = {.kind = SQLITE_WRITE_SIGNED, .values = v};

    return queue_write(s, &w, NULL, err);
}

static enum nw_err read_signed(sqlite3_stmt *stmt, struct nw_signed_value_record *r, struct nw_error *err)
{
    char **cols[] = {&r->name,    &r->kind,       &r->transaction, &r->signed_value,
                     &r->tx_hash, &r->created_at, &r->request_id};
    enum nw_err rc = NW_OK;

    r->seq = sqlite3_column_int64(stmt, 0);
    for (int i = 0; i < 7 && rc == NW_OK; i++)
        rc = nw_sqlite_column(cols[i], stmt, i + 1, err);
    if (rc != NW_OK)
        nw_signed_value_record_clear(r);
    return rc;
}

static enum nw_err list_signed_values(struct nw_storage *st, const char *name, size_t limit, const char *cursor,
                                      struct nw_signed_value_page *out, struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    long long before = INT64_MAX;
    sqlite3_stmt *stmt = NULL;
    enum nw_err rc = NW_OK;
    int src;

    if (cursor[0] != '\0' && (rc = nw_storage_seq_cursor_decode(&before, cursor, err)) != NW_OK)
        return rc;
    out->items = calloc(limit, sizeof *out->items);
    if (out->items == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "storage: out of memory");
    pthread_mutex_lock(&s->read_lock);
    NW_GUARD(nw_sqlite_prepare(s->rdb,
                               "SELECT " SIGNED_COLUMNS " FROM SignedValueTable WHERE Name = ? AND Seq < ?"
                               " ORDER BY Seq DESC LIMIT ?",
                               &stmt, err));
    NW_GUARD(nw_sqlite_bind(s->rdb, stmt, 1, name, err));
    sqlite3_bind_int64(stmt, 2, before);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)limit + 1);
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && out->count < limit) {
        NW_GUARD(read_signed(stmt, &out->items[out->count], err));
        out->count++;
    }
    if (src == SQLITE_ROW)
        nw_storage_seq_cursor_encode(out->next_cursor, out->items[out->count - 1].seq);
    else if (src != SQLITE_DONE)
        rc = nw_sqlite_fail(err, s->rdb, src, "select");
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->read_lock);
    if (rc != NW_OK)
        nw_signed_value_page_free(out);
    return rc;
}

static enum nw_err idempotency_get(struct nw_storage *st, const char *key, struct nw_idempotency_record *out,
                                   int *found, struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    sqlite3_stmt *stmt = NULL;
    enum nw_err rc;
    int src;

    pthread_mutex_lock(&s->read_lock);
    NW_GUARD(nw_sqlite_prepare(s->rdb,
                               "SELECT \"Key\", Fingerprint, Response, CreatedAt, Status FROM IdempotencyTable"
                               " WHERE \"Key\" = ?",
                               &stmt, err));
    NW_GUARD(nw_sqlite_bind(s->rdb, stmt, 1, key, err));
    src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        char **cols[] = {&out->key, &out->fingerprint, &out->response, &out->created_at};
        for (int i = 0; i < 4 && rc == NW_OK; i++)
            rc = nw_sqlite_column(cols[i], stmt, i, err);
        out->status = sqlite3_column_int(stmt, 4);
        if (rc != NW_OK)
            nw_idempotency_record_clear(out);
        *found = rc == NW_OK;
    } else if (src != SQLITE_DONE) {
        rc = nw_sqlite_fail(err, s->rdb, src, "select");
    }
out:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&s->read_lock);
    return rc;
}

static enum nw_err idempotency_put(struct nw_storage *st, const struct nw_idempotency_record *r, int *exists,
                                   struct nw_error *err)
{
    struct sqlite_storage *s = handle(st);
    const char *const v[] = {r->key, r->fingerprint, r->response, r->created_at, NULL};
    struct sqlite_write w = {.kind = SQLITE_WRITE_IDEMPOTENCY, .values = v, .status = r->status};

    return queue_write(s, &w, exists, err);
}

const struct nw_storage_ops nw_sqlite_ops = {
    .name = "sqlite",
    .create_account = create_account,
    .get_account = get_account,
    .list_accounts = list_accounts,
    .record_signed_value = record_signed_value,
    .list_signed_values = list_signed_values,
    .idempotency_get = idempotency_get,
    .idempotency_put = idempotency_put,
    .close = nw_sqlite_close,
};
