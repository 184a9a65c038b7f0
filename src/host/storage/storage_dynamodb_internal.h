/*
 * storage_dynamodb_internal.h - shared between the DynamoDB backend's files:
 * storage_dynamodb.c (open, tables), storage_dynamodb_http.c (signed
 * requests, retries), storage_dynamodb_item.c (item encoding and the strict
 * response parsers, fuzzed by fuzz/fuzz_dynamodb_item.c) and
 * storage_dynamodb_ops.c (the storage.h operations).
 * Host-side only; never linked into the enclave.
 */
#ifndef NITROWALLET_STORAGE_DYNAMODB_INTERNAL_H
#define NITROWALLET_STORAGE_DYNAMODB_INTERNAL_H

#include <pthread.h>

#include <cjson/cJSON.h>

#include "nitrowallet/storage.h"

#define DDB_RESPONSE_MAX (4u * 1024u * 1024u) /* a Query page is at most 1 MB of items; JSON adds escapes */
#define DDB_TYPE_MAX 96                       /* the error type after '#' in __type */
#define DDB_IDLE_HANDLES 16
#define DDB_LISTING "account" /* the constant GSI partition key of every account item */

enum ddb_table { DDB_ACCOUNTS = 0, DDB_SIGNED = 1, DDB_IDEM = 2, DDB_TABLES = 3 };

struct ddb {
    struct nw_storage base;                  /* first: a struct nw_storage * points here */
    char url[NW_DYNAMODB_ENDPOINT_MAX + 2];  /* scheme://host[:port]/ */
    char host[NW_DYNAMODB_ENDPOINT_MAX + 1]; /* the Host header, signed */
    char region[NW_DYNAMODB_REGION_MAX + 1];
    char table[DDB_TABLES][256];
    const struct nw_credentials_provider *credentials;
    long timeout_ms;
    pthread_mutex_t lock;         /* guards idle[] */
    void *idle[DDB_IDLE_HANDLES]; /* CURL easy handles kept for keep-alive reuse */
    size_t n_idle;
};

/* The outcome of one DynamoDB call (after retries). */
struct ddb_result {
    cJSON *json;             /* the 200 response's object; owned by the caller */
    char type[DDB_TYPE_MAX]; /* error type of a final error reply, "" otherwise */
    int ambiguous;           /* an earlier attempt may have been applied (5xx or transport failure) */
    unsigned attempts;
};

/*
 * POST `op` (e.g. "PutItem") with the JSON object `req` (borrowed) to the
 * endpoint, retrying throttling errors, 5xx and transport failures.  NW_OK
 * with res->json on a 200.  A final DynamoDB error reply returns
 * NW_ERR_INTERNAL with res->type set (callers map the types they expect,
 * e.g. ConditionalCheckFailedException; ResourceNotFoundException's message
 * names `table`); exhausted retries NW_ERR_UNAVAILABLE.
 */
NW_MUST_CHECK enum nw_err ddb_call(struct ddb *d, const char *op, const cJSON *req, enum ddb_table table,
                                   struct ddb_result *res, struct nw_error *err);
void ddb_result_clear(struct ddb_result *res);
void ddb_http_close(struct ddb *d);

/* Attribute values: {"S": s}, {"N": decimal}. */
cJSON *ddb_s(const char *s);
cJSON *ddb_n(long long v);
/* Add attribute `name` = {"S": s} / {"N": v} to `item`; 0 when out of memory. */
int ddb_put_s(cJSON *item, const char *name, const char *s);
int ddb_put_n(cJSON *item, const char *name, long long v);

/* Items from records (NULL when out of memory). */
cJSON *ddb_account_item(const struct nw_account_record *r);
cJSON *ddb_signed_item(const struct nw_signed_value_record *r);
cJSON *ddb_idem_item(const struct nw_idempotency_record *r);

/*
 * Strict readers of items from DynamoDB: exactly the documented attributes,
 * each of its documented type, within storage.h's bounds, then the same
 * validation as writes (nw_storage_check_*).  A malformed item is
 * NW_ERR_INTERNAL naming the table and attribute; `out` is left empty.
 */
NW_MUST_CHECK enum nw_err ddb_read_account(const cJSON *item, struct nw_account_record *out, struct nw_error *err);
NW_MUST_CHECK enum nw_err ddb_read_signed(const cJSON *item, struct nw_signed_value_record *out, struct nw_error *err);
NW_MUST_CHECK enum nw_err ddb_read_idem(const cJSON *item, struct nw_idempotency_record *out, struct nw_error *err);

/* A decimal DynamoDB number {"N": "..."} of 1..2^53-1 (Seq, LastSeq). */
NW_MUST_CHECK enum nw_err ddb_read_seq(const cJSON *attr, const char *what, long long *out, struct nw_error *err);

/* Parse a response body: a JSON object of at most DDB_RESPONSE_MAX bytes. */
NW_MUST_CHECK enum nw_err ddb_parse_body(cJSON **out, const char *body, size_t len, struct nw_error *err);

/* A DescribeTable/CreateTable body: any RFC 8259 object (cJSON, bounded); only strings are read from it. */
NW_MUST_CHECK enum nw_err ddb_parse_table_body(cJSON **out, const char *body, size_t len, struct nw_error *err);

/* The error type of an error body ("...#ThrottlingException" -> "ThrottlingException"); "" if none. */
void ddb_error_type(char out[DDB_TYPE_MAX], const char *body, size_t len);

/* 1 when a and b hold the same items (string compare of each field). */
int ddb_same_account(const struct nw_account_record *a, const struct nw_account_record *b);

/* The ops table's close (storage_dynamodb.c). */
void ddb_close(struct nw_storage *base);

extern const struct nw_storage_ops nw_dynamodb_ops;

#endif
