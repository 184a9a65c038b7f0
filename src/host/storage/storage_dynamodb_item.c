/*
 * storage_dynamodb_item.c - DynamoDB items <-> storage.h records, and the
 * strict readers of what DynamoDB returns (fuzzed: fuzz/fuzz_dynamodb_item.c).
 *
 * Host-side.  Trust boundary: responses come from the network (or from
 * whoever can write the tables), so a body is parsed with nw_json_parse
 * (RFC 8259, UTF-8, no duplicate keys, bounded) and an item is accepted only
 * with exactly its documented attributes (docs/storage.md), each an
 * AttributeValue object holding one value of the documented type, within
 * storage.h's bounds, and then passes the same nw_storage_check_* validation
 * as a write.  Error messages name tables and attributes, never values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"
#include "storage_dynamodb_internal.h"

cJSON *ddb_s(const char *s)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL && cJSON_AddStringToObject(o, "S", s) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *ddb_n(long long v)
{
    char num[24];

    snprintf(num, sizeof num, "%lld", v);
    cJSON *o = cJSON_CreateObject();
    if (o != NULL && cJSON_AddStringToObject(o, "N", num) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int put(cJSON *item, const char *name, cJSON *v)
{
    if (v == NULL)
        return 0;
    if (!cJSON_AddItemToObject(item, name, v)) {
        cJSON_Delete(v);
        return 0;
    }
    return 1;
}

int ddb_put_s(cJSON *item, const char *name, const char *s)
{
    return put(item, name, ddb_s(s));
}

int ddb_put_n(cJSON *item, const char *name, long long v)
{
    return put(item, name, ddb_n(v));
}

/* An item of string attributes names[i] = values[i] (NULL-terminated). */
static cJSON *string_item(const char *const *names, const char *const *values)
{
    cJSON *item = cJSON_CreateObject();

    for (size_t i = 0; item != NULL && names[i] != NULL; i++)
        if (!ddb_put_s(item, names[i], values[i])) {
            cJSON_Delete(item);
            item = NULL;
        }
    return item;
}

static const char *const account_attrs[] = {
    "Name",      "KeyId",   "Address", "EncryptedPrivateKey", "EncryptedDataKey", "Policy", "PolicyDigest",
    "CreatedAt", "Listing", NULL};

cJSON *ddb_account_item(const struct nw_account_record *r)
{
    const char *const v[] = {
        r->name,          r->kms_key_id, r->address, r->encrypted_private_key, r->encrypted_data_key, r->policy,
        r->policy_digest, r->created_at, DDB_LISTING};
    return string_item(account_attrs, v);
}

static const char *const signed_attrs[] = {"Name",   "Kind",      "Transaction", "SignedValue",
                                           "TxHash", "CreatedAt", "RequestId",   NULL};

cJSON *ddb_signed_item(const struct nw_signed_value_record *r)
{
    const char *const v[] = {r->name,    r->kind,       r->transaction, r->signed_value,
                             r->tx_hash, r->created_at, r->request_id};
    cJSON *item = string_item(signed_attrs, v);

    if (item != NULL && !ddb_put_n(item, "Seq", r->seq)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

static const char *const idem_attrs[] = {"Key", "Fingerprint", "Response", "CreatedAt", NULL};

cJSON *ddb_idem_item(const struct nw_idempotency_record *r)
{
    const char *const v[] = {r->key, r->fingerprint, r->response, r->created_at};
    cJSON *item = string_item(idem_attrs, v);

    if (item != NULL && !ddb_put_n(item, "Status", r->status)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

/* The single value of AttributeValue `attr` of type `type` ("S" or "N"). */
static const cJSON *value_of(const cJSON *attr, const char *type)
{
    if (!cJSON_IsObject(attr) || attr->child == NULL || attr->child->next != NULL ||
        strcmp(attr->child->string, type) != 0 || !cJSON_IsString(attr->child))
        return NULL;
    return attr->child;
}

/* A heap copy of string attribute `name` of at most `max` bytes. */
static enum nw_err read_s(const cJSON *item, const char *name, size_t max, char **out, const char *table,
                          struct nw_error *err)
{
    const cJSON *v = value_of(nw_json_get(item, name), "S");
    size_t len;

    if (v == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s item: %s is missing or not a string", table, name);
    len = strlen(v->valuestring);
    if (len > max)
        return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s item: %s is longer than %zu bytes", table, name, max);
    *out = malloc(len + 1);
    if (*out == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
    memcpy(*out, v->valuestring, len + 1);
    return NW_OK;
}

enum nw_err ddb_read_seq(const cJSON *attr, const char *what, long long *out, struct nw_error *err)
{
    const cJSON *v = value_of(attr, "N");
    unsigned long long x = 0;
    size_t len;

    if (v == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s is missing or not a number", what);
    len = strlen(v->valuestring);
    if (len == 0 || len > 16 || v->valuestring[0] == '0')
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (v->valuestring[i] < '0' || v->valuestring[i] > '9')
            goto bad;
        x = x * 10 + (unsigned)(v->valuestring[i] - '0');
    }
    if (x > NW_JSON_MAX_SAFE_INT)
        goto bad;
    *out = (long long)x;
    return NW_OK;
bad:
    return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s is not an integer in 1..2^53-1", what);
}

/* Check the item's attribute names against `allowed` (with its own name in messages). */
static enum nw_err check_attrs(const cJSON *item, const char *const *allowed, const char *table, struct nw_error *err)
{
    struct nw_error e = {0};

    if (!cJSON_IsObject(item))
        return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s item is not an object", table);
    if (nw_json_check_keys(item, allowed, table, &e) != NW_OK)
        return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s", e.msg);
    return NW_OK;
}

enum nw_err ddb_read_account(const cJSON *item, struct nw_account_record *r, struct nw_error *err)
{
    static const char *const allowed[] = {"Name",
                                          "KeyId",
                                          "Address",
                                          "EncryptedPrivateKey",
                                          "EncryptedDataKey",
                                          "Policy",
                                          "PolicyDigest",
                                          "CreatedAt",
                                          "Listing",
                                          "LastSeq",
                                          NULL};
    char **f[] = {&r->name,   &r->kms_key_id,    &r->address,   &r->encrypted_private_key, &r->encrypted_data_key,
                  &r->policy, &r->policy_digest, &r->created_at};
    const size_t max[] = {NW_STORAGE_NAME_MAX, NW_STORAGE_KMS_KEY_ID_MAX, NW_STORAGE_ADDRESS_LEN, NW_STORAGE_B64_MAX,
                          NW_STORAGE_B64_MAX,  NW_STORAGE_POLICY_MAX,     NW_STORAGE_DIGEST_LEN,  NW_STORAGE_TIME_LEN};
    const cJSON *listing, *last;
    long long seq;
    struct nw_error e = {0};
    enum nw_err rc;

    memset(r, 0, sizeof *r);
    NW_GUARD(check_attrs(item, allowed, "AccountTable", err));
    for (size_t i = 0; i < 8; i++)
        NW_GUARD(read_s(item, account_attrs[i], max[i], f[i], "AccountTable", err));
    listing = value_of(nw_json_get(item, "Listing"), "S");
    if (listing == NULL || strcmp(listing->valuestring, DDB_LISTING) != 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: AccountTable item: Listing is not \"" DDB_LISTING "\"");
        goto out;
    }
    if ((last = nw_json_get(item, "LastSeq")) != NULL)
        NW_GUARD(ddb_read_seq(last, "AccountTable item: LastSeq", &seq, err));
    /* well-formed as DynamoDB goes, refused by the write checks: the account
     * does not open, as when SQLite's row is damaged (docs/host-api.md) */
    if (nw_storage_check_account(r, &e) != NW_OK)
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "the stored account record is damaged: %s", e.msg);
out:
    if (rc != NW_OK)
        nw_account_record_clear(r);
    return rc;
}

enum nw_err ddb_read_signed(const cJSON *item, struct nw_signed_value_record *r, struct nw_error *err)
{
    static const char *const allowed[] = {"Name",   "Seq",       "Kind",      "Transaction", "SignedValue",
                                          "TxHash", "CreatedAt", "RequestId", NULL};
    char **f[] = {&r->name, &r->kind, &r->transaction, &r->signed_value, &r->tx_hash, &r->created_at, &r->request_id};
    const size_t max[] = {NW_STORAGE_NAME_MAX,      NW_STORAGE_KIND_MAX,    NW_STORAGE_TRANSACTION_MAX,
                          NW_STORAGE_SIGNED_MAX,    NW_STORAGE_TX_HASH_LEN, NW_STORAGE_TIME_LEN,
                          NW_STORAGE_REQUEST_ID_MAX};
    struct nw_error e = {0};
    enum nw_err rc;

    memset(r, 0, sizeof *r);
    NW_GUARD(check_attrs(item, allowed, "SignedValueTable", err));
    for (size_t i = 0; i < 7; i++)
        NW_GUARD(read_s(item, signed_attrs[i], max[i], f[i], "SignedValueTable", err));
    NW_GUARD(ddb_read_seq(nw_json_get(item, "Seq"), "SignedValueTable item: Seq", &r->seq, err));
    if (nw_storage_check_signed_value(r, &e) != NW_OK)
        rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: SignedValueTable item: %s", e.msg);
out:
    if (rc != NW_OK)
        nw_signed_value_record_clear(r);
    return rc;
}

enum nw_err ddb_read_idem(const cJSON *item, struct nw_idempotency_record *r, struct nw_error *err)
{
    static const char *const allowed[] = {"Key", "Fingerprint", "Response", "CreatedAt", "Status", NULL};
    char **f[] = {&r->key, &r->fingerprint, &r->response, &r->created_at};
    const size_t max[] = {NW_STORAGE_IDEM_KEY_MAX, NW_STORAGE_FINGERPRINT_MAX, NW_STORAGE_RESPONSE_MAX,
                          NW_STORAGE_TIME_LEN};
    long long status = 0;
    struct nw_error e = {0};
    enum nw_err rc;

    memset(r, 0, sizeof *r);
    NW_GUARD(check_attrs(item, allowed, "IdempotencyTable", err));
    for (size_t i = 0; i < 4; i++)
        NW_GUARD(read_s(item, idem_attrs[i], max[i], f[i], "IdempotencyTable", err));
    NW_GUARD(ddb_read_seq(nw_json_get(item, "Status"), "IdempotencyTable item: Status", &status, err));
    if (status < 100 || status > 599) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: IdempotencyTable item: Status is not 100..599");
        goto out;
    }
    r->status = (int)status;
    if (nw_storage_check_idempotency(r, &e) != NW_OK)
        rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: IdempotencyTable item: %s", e.msg);
out:
    if (rc != NW_OK)
        nw_idempotency_record_clear(r);
    return rc;
}

enum nw_err ddb_parse_body(cJSON **out, const char *body, size_t len, struct nw_error *err)
{
    struct nw_error e = {0};
    enum nw_err rc;

    *out = NULL;
    if ((rc = nw_json_parse(out, body, len, DDB_RESPONSE_MAX, &e)) != NW_OK)
        return nw_fail(err, rc == NW_ERR_NOMEM ? rc : NW_ERR_INTERNAL, "not valid JSON: %s", e.msg);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return nw_fail(err, NW_ERR_INTERNAL, "not a JSON object");
    }
    return NW_OK;
}

enum nw_err ddb_parse_table_body(cJSON **out, const char *body, size_t len, struct nw_error *err)
{
    *out = len <= DDB_RESPONSE_MAX ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return nw_fail(err, NW_ERR_INTERNAL, "not a JSON object");
    }
    return NW_OK;
}

void ddb_error_type(char out[DDB_TYPE_MAX], const char *body, size_t len)
{
    cJSON *j = NULL;
    struct nw_error e = {0};
    const cJSON *t;

    out[0] = '\0';
    if (len == 0 || len > 64 * 1024 || ddb_parse_body(&j, body, len, &e) != NW_OK)
        return;
    t = nw_json_get(j, "__type");
    if (cJSON_IsString(t)) {
        const char *s = strrchr(t->valuestring, '#');
        s = s != NULL ? s + 1 : t->valuestring;
        size_t n = strlen(s);
        int ok = n > 0 && n < DDB_TYPE_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
        if (ok)
            memcpy(out, s, n + 1);
    }
    cJSON_Delete(j);
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int ddb_same_account(const struct nw_account_record *a, const struct nw_account_record *b)
{
    return same(a->name, b->name) && same(a->kms_key_id, b->kms_key_id) && same(a->address, b->address) &&
           same(a->encrypted_private_key, b->encrypted_private_key) &&
           same(a->encrypted_data_key, b->encrypted_data_key) && same(a->policy, b->policy) &&
           same(a->policy_digest, b->policy_digest) && same(a->created_at, b->created_at);
}
