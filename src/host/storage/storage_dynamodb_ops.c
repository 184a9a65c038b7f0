/*
 * storage_dynamodb_ops.c - the storage.h operations on DynamoDB.
 *
 * Host-side (ciphertext and public data only).  Records arrive validated
 * (storage_check.c); items read back are validated again
 * (storage_dynamodb_item.c).  Design (docs/storage.md, "DynamoDB backend"):
 *  - conditional writes are PutItem with attribute_not_exists on the key,
 *    so two hosts never overwrite each other; ConditionalCheckFailed means
 *    "exists", unless an earlier attempt of the same call may have been
 *    applied (5xx or transport failure), in which case the stored item is
 *    read back (consistently) and compared with ours;
 *  - every GetItem and Query on a table is ConsistentRead, so a write that
 *    returned is seen by the next read on any host (the account list uses a
 *    global secondary index, which DynamoDB only reads eventually
 *    consistently);
 *  - the audit trail's Seq is a per-account counter (AccountTable LastSeq,
 *    UpdateItem ADD with attribute_exists(Name), which also refuses unknown
 *    accounts like SQLite's foreign key), then a conditional PutItem; a crash
 *    or an ambiguous retry between the two leaves a gap, never a reuse;
 *  - there is no TransactWriteItems (dynalite lacks it, and no operation here
 *    needs two items changed atomically: SQLite also writes the signature and
 *    its idempotency record in two transactions).
 * Pages follow LastEvaluatedKey until limit + 1 items are in hand.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "storage_cursor.h"
#include "storage_dynamodb_internal.h"

static struct ddb *handle(struct nw_storage *st)
{
    return (struct ddb *)st;
}

static enum nw_err nomem(struct nw_error *err)
{
    return nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
}

/* {"TableName": t, "Key": {k1: v1[, k2: v2]}} (takes v1, v2). */
static cJSON *keyed(struct ddb *d, enum ddb_table t, const char *k1, cJSON *v1, const char *k2, cJSON *v2)
{
    cJSON *req = cJSON_CreateObject(), *key = cJSON_AddObjectToObject(req, "Key");

    if (key == NULL || v1 == NULL || (k2 != NULL && v2 == NULL) ||
        !cJSON_AddStringToObject(req, "TableName", d->table[t])) {
        cJSON_Delete(v1);
        cJSON_Delete(v2);
        cJSON_Delete(req);
        return NULL;
    }
    cJSON_AddItemToObject(key, k1, v1);
    if (k2 != NULL)
        cJSON_AddItemToObject(key, k2, v2);
    return req;
}

/* A consistent GetItem; *item is NULL when there is none (owned by res). */
static enum nw_err get_item(struct ddb *d, cJSON *req, enum ddb_table t, struct ddb_result *res, const cJSON **item,
                            struct nw_error *err)
{
    enum nw_err rc;

    *item = NULL;
    if (req == NULL || !cJSON_AddTrueToObject(req, "ConsistentRead")) {
        cJSON_Delete(req);
        return nomem(err);
    }
    rc = ddb_call(d, "GetItem", req, t, res, err);
    cJSON_Delete(req);
    if (rc == NW_OK) {
        *item = nw_json_get(res->json, "Item");
        if (*item != NULL && !cJSON_IsObject(*item))
            rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: GetItem: Item is not an object");
    }
    return rc;
}

/*
 * PutItem `item` (taken) with attribute_not_exists(key).  *conflict = 1
 * when it was refused; *ambiguous when an earlier attempt may have stored it.
 */
static enum nw_err put_new(struct ddb *d, enum ddb_table t, const char *key, cJSON *item, int *conflict, int *ambiguous,
                           struct nw_error *err)
{
    cJSON *req = cJSON_CreateObject(), *names = cJSON_AddObjectToObject(req, "ExpressionAttributeNames");
    struct ddb_result res = {0};
    enum nw_err rc;

    *conflict = 0;
    if (item == NULL || names == NULL || !cJSON_AddStringToObject(req, "TableName", d->table[t]) ||
        !cJSON_AddStringToObject(names, "#k", key) ||
        !cJSON_AddStringToObject(req, "ConditionExpression", "attribute_not_exists(#k)")) {
        cJSON_Delete(item);
        cJSON_Delete(req);
        return nomem(err);
    }
    cJSON_AddItemToObject(req, "Item", item);
    rc = ddb_call(d, "PutItem", req, t, &res, err);
    cJSON_Delete(req);
    if (rc != NW_OK && strcmp(res.type, "ConditionalCheckFailedException") == 0) {
        *conflict = 1;
        rc = NW_OK;
    }
    *ambiguous = res.ambiguous;
    ddb_result_clear(&res);
    return rc;
}

static enum nw_err create_account(struct nw_storage *st, const struct nw_account_record *r, int *exists,
                                  struct nw_error *err)
{
    struct ddb *d = handle(st);
    struct nw_account_record stored = {0};
    int ambiguous = 0, found = 0;
    enum nw_err rc;

    NW_GUARD(put_new(d, DDB_ACCOUNTS, "Name", ddb_account_item(r), exists, &ambiguous, err));
    if (*exists && ambiguous) {
        /* our own earlier attempt may be what is there: the sealed key is unique to it */
        NW_GUARD(st->ops->get_account(st, r->name, &stored, &found, err));
        *exists = !(found && ddb_same_account(&stored, r));
    }
out:
    nw_account_record_clear(&stored);
    return rc;
}

static enum nw_err get_account(struct nw_storage *st, const char *name, struct nw_account_record *out, int *found,
                               struct nw_error *err)
{
    struct ddb *d = handle(st);
    struct ddb_result res = {0};
    const cJSON *item;
    enum nw_err rc;

    rc = get_item(d, keyed(d, DDB_ACCOUNTS, "Name", ddb_s(name), NULL, NULL), DDB_ACCOUNTS, &res, &item, err);
    if (rc == NW_OK && item != NULL && (rc = ddb_read_account(item, out, err)) == NW_OK)
        *found = 1;
    ddb_result_clear(&res);
    return rc;
}

/*
 * Query until `want` items are in `items` (or the key range ends), each read
 * by `read` into slot i of `out` (element size `size`); `req` is the Query
 * (borrowed, its ExclusiveStartKey replaced page by page).
 */
typedef enum nw_err (*read_fn)(const cJSON *item, void *out, struct nw_error *err);

static enum nw_err query_pages(struct ddb *d, cJSON *req, enum ddb_table t, size_t want, read_fn read, char *out,
                               size_t size, size_t *count, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    const cJSON *items, *it, *lek;
    struct ddb_result res = {0};

    for (;;) {
        NW_GUARD(ddb_call(d, "Query", req, t, &res, err));
        items = nw_json_get(res.json, "Items");
        lek = nw_json_get(res.json, "LastEvaluatedKey");
        if (!cJSON_IsArray(items) || (lek != NULL && !cJSON_IsObject(lek))) {
            rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: Query on %s: malformed Items or LastEvaluatedKey",
                         d->table[t]);
            goto out;
        }
        cJSON_ArrayForEach(it, items)
        {
            if (*count == want)
                break;
            NW_GUARD(read(it, out + *count * size, err));
            ++*count;
        }
        if (*count == want || lek == NULL)
            break;
        cJSON_DeleteItemFromObject(req, "ExclusiveStartKey");
        cJSON *copy = cJSON_Duplicate(lek, 1);
        if (copy == NULL || !cJSON_AddItemToObject(req, "ExclusiveStartKey", copy)) {
            cJSON_Delete(copy);
            rc = nomem(err);
            goto out;
        }
        ddb_result_clear(&res);
    }
out:
    ddb_result_clear(&res);
    return rc;
}

static enum nw_err read_account_any(const cJSON *item, void *out, struct nw_error *err)
{
    return ddb_read_account(item, out, err);
}

static enum nw_err read_signed_any(const cJSON *item, void *out, struct nw_error *err)
{
    return ddb_read_signed(item, out, err);
}

/* A Query request: table, key condition, names and values. */
static cJSON *query(struct ddb *d, enum ddb_table t, const char *cond, size_t limit)
{
    cJSON *req = cJSON_CreateObject();

    if (req == NULL || !cJSON_AddStringToObject(req, "TableName", d->table[t]) ||
        !cJSON_AddStringToObject(req, "KeyConditionExpression", cond) ||
        !cJSON_AddNumberToObject(req, "Limit", (double)limit) ||
        !cJSON_AddObjectToObject(req, "ExpressionAttributeNames") ||
        !cJSON_AddObjectToObject(req, "ExpressionAttributeValues")) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

static int bind(cJSON *req, const char *name, const char *attr, const char *value_name, cJSON *value)
{
    if (value == NULL)
        return 0;
    if (name != NULL &&
        !cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames"), name, attr)) {
        cJSON_Delete(value);
        return 0;
    }
    return cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues"), value_name, value);
}

static enum nw_err list_accounts(struct nw_storage *st, size_t limit, const char *cursor, struct nw_account_page *out,
                                 struct nw_error *err)
{
    struct ddb *d = handle(st);
    char after[NW_STORAGE_NAME_MAX + 1] = "";
    struct nw_account_record *items = NULL;
    size_t count = 0;
    cJSON *req = NULL;
    enum nw_err rc = NW_OK;

    if (cursor[0] != '\0')
        NW_GUARD(nw_storage_account_cursor_decode(after, cursor, err));
    items = calloc(limit + 1, sizeof *items);
    req = query(d, DDB_ACCOUNTS, after[0] ? "#l = :l AND #n > :a" : "#l = :l", limit + 1);
    if (items == NULL || req == NULL || !cJSON_AddStringToObject(req, "IndexName", "AccountByListing") ||
        !bind(req, "#l", "Listing", ":l", ddb_s(DDB_LISTING)) ||
        (after[0] && (!bind(req, "#n", "Name", ":a", ddb_s(after))))) {
        rc = nomem(err);
        goto out;
    }
    NW_GUARD(query_pages(d, req, DDB_ACCOUNTS, limit + 1, read_account_any, (char *)items, sizeof *items, &count, err));
    if (count > limit) {
        nw_account_record_clear(&items[limit]);
        nw_storage_account_cursor_encode(out->next_cursor, items[limit - 1].name);
        count = limit;
    }
    out->items = items;
    out->count = count;
    items = NULL;
out:
    for (size_t i = 0; items != NULL && i < count; i++)
        nw_account_record_clear(&items[i]);
    free(items);
    cJSON_Delete(req);
    return rc;
}

/* Raise the account's LastSeq; *seq is the new value (refuses unknown accounts). */
static enum nw_err next_seq(struct ddb *d, const char *name, long long *seq, struct nw_error *err)
{
    cJSON *req = keyed(d, DDB_ACCOUNTS, "Name", ddb_s(name), NULL, NULL);
    struct ddb_result res = {0};
    enum nw_err rc = NW_OK;

    if (req == NULL || !cJSON_AddStringToObject(req, "UpdateExpression", "ADD #c :one") ||
        !cJSON_AddStringToObject(req, "ConditionExpression", "attribute_exists(#n)") ||
        !cJSON_AddStringToObject(req, "ReturnValues", "UPDATED_NEW") ||
        !cJSON_AddObjectToObject(req, "ExpressionAttributeNames") ||
        !cJSON_AddObjectToObject(req, "ExpressionAttributeValues") || !bind(req, "#c", "LastSeq", ":one", ddb_n(1)) ||
        !cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames"), "#n", "Name")) {
        rc = nomem(err);
        goto out;
    }
    rc = ddb_call(d, "UpdateItem", req, DDB_ACCOUNTS, &res, err);
    if (rc != NW_OK && strcmp(res.type, "ConditionalCheckFailedException") == 0)
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "storage: the account does not exist");
    if (rc == NW_OK)
        rc = ddb_read_seq(nw_json_get(nw_json_get(res.json, "Attributes"), "LastSeq"), "UpdateItem: LastSeq", seq, err);
out:
    ddb_result_clear(&res);
    cJSON_Delete(req);
    return rc;
}

static enum nw_err record_signed_value(struct nw_storage *st, const struct nw_signed_value_record *r,
                                       struct nw_error *err)
{
    struct ddb *d = handle(st);
    struct nw_signed_value_record rec = *r, stored = {0};
    struct ddb_result res = {0};
    const cJSON *item;
    int conflict = 0, ambiguous = 0;
    enum nw_err rc;

    NW_GUARD(next_seq(d, r->name, &rec.seq, err));
    NW_GUARD(put_new(d, DDB_SIGNED, "Seq", ddb_signed_item(&rec), &conflict, &ambiguous, err));
    if (!conflict)
        goto out;
    /* Seq values are never handed out twice, so only our own earlier attempt can be there */
    if (ambiguous) {
        NW_GUARD(get_item(d, keyed(d, DDB_SIGNED, "Name", ddb_s(r->name), "Seq", ddb_n(rec.seq)), DDB_SIGNED, &res,
                          &item, err));
        if (item != NULL && ddb_read_signed(item, &stored, err) == NW_OK &&
            strcmp(stored.request_id, r->request_id) == 0 && strcmp(stored.signed_value, r->signed_value) == 0 &&
            strcmp(stored.created_at, r->created_at) == 0)
            goto out;
    }
    rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s already holds Seq %lld of this account", d->table[DDB_SIGNED],
                 rec.seq);
out:
    nw_signed_value_record_clear(&stored);
    ddb_result_clear(&res);
    return rc;
}

static enum nw_err list_signed_values(struct nw_storage *st, const char *name, size_t limit, const char *cursor,
                                      struct nw_signed_value_page *out, struct nw_error *err)
{
    struct ddb *d = handle(st);
    long long before = INT64_MAX;
    struct nw_signed_value_record *items = NULL;
    size_t count = 0;
    cJSON *req = NULL;
    enum nw_err rc = NW_OK;

    if (cursor[0] != '\0')
        NW_GUARD(nw_storage_seq_cursor_decode(&before, cursor, err));
    items = calloc(limit + 1, sizeof *items);
    req = query(d, DDB_SIGNED, "#n = :n AND #s < :b", limit + 1);
    if (items == NULL || req == NULL || !cJSON_AddFalseToObject(req, "ScanIndexForward") ||
        !cJSON_AddTrueToObject(req, "ConsistentRead") || !bind(req, "#n", "Name", ":n", ddb_s(name)) ||
        !bind(req, "#s", "Seq", ":b", ddb_n(before))) {
        rc = nomem(err);
        goto out;
    }
    NW_GUARD(query_pages(d, req, DDB_SIGNED, limit + 1, read_signed_any, (char *)items, sizeof *items, &count, err));
    if (count > limit) {
        nw_signed_value_record_clear(&items[limit]);
        nw_storage_seq_cursor_encode(out->next_cursor, items[limit - 1].seq);
        count = limit;
    }
    out->items = items;
    out->count = count;
    items = NULL;
out:
    for (size_t i = 0; items != NULL && i < count; i++)
        nw_signed_value_record_clear(&items[i]);
    free(items);
    cJSON_Delete(req);
    return rc;
}

static enum nw_err idempotency_get(struct nw_storage *st, const char *key, struct nw_idempotency_record *out,
                                   int *found, struct nw_error *err)
{
    struct ddb *d = handle(st);
    struct ddb_result res = {0};
    const cJSON *item;
    enum nw_err rc;

    rc = get_item(d, keyed(d, DDB_IDEM, "Key", ddb_s(key), NULL, NULL), DDB_IDEM, &res, &item, err);
    if (rc == NW_OK && item != NULL && (rc = ddb_read_idem(item, out, err)) == NW_OK)
        *found = 1;
    ddb_result_clear(&res);
    return rc;
}

static enum nw_err idempotency_put(struct nw_storage *st, const struct nw_idempotency_record *r, int *exists,
                                   struct nw_error *err)
{
    struct nw_idempotency_record stored = {0};
    int ambiguous = 0, found = 0;
    enum nw_err rc;

    NW_GUARD(put_new(handle(st), DDB_IDEM, "Key", ddb_idem_item(r), exists, &ambiguous, err));
    if (*exists && ambiguous) {
        NW_GUARD(idempotency_get(st, r->key, &stored, &found, err));
        *exists = !(found && strcmp(stored.fingerprint, r->fingerprint) == 0 && stored.status == r->status &&
                    strcmp(stored.response, r->response) == 0 && strcmp(stored.created_at, r->created_at) == 0);
    }
out:
    nw_idempotency_record_clear(&stored);
    return rc;
}

const struct nw_storage_ops nw_dynamodb_ops = {
    .name = "dynamodb",
    .create_account = create_account,
    .get_account = get_account,
    .list_accounts = list_accounts,
    .record_signed_value = record_signed_value,
    .list_signed_values = list_signed_values,
    .idempotency_get = idempotency_get,
    .idempotency_put = idempotency_put,
    .close = ddb_close,
};
