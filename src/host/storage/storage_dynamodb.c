/*
 * storage_dynamodb.c - the DynamoDB storage backend: configuration (region,
 * endpoint, table prefix), the tables' existence check or creation at open,
 * and close.  The operations are in storage_dynamodb_ops.c, the signed HTTP
 * calls in storage_dynamodb_http.c, the items in storage_dynamodb_item.c.
 *
 * Host-side (not trusted with keys; items hold ciphertext and public data).
 * The endpoint is https://dynamodb.<region>.amazonaws.com unless overridden
 * (tests: dynalite on loopback, plain http).  Table layouts, the capacity
 * mode used by --create-tables and the retry policy: docs/storage.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "nitrowallet/json.h"
#include "storage_dynamodb_internal.h"

#define DEFAULT_TIMEOUT_MS 10000
#define ACTIVE_WAIT_MS 60000 /* CreateTable takes seconds on AWS */

static const char *const base_names[DDB_TABLES] = {"AccountTable", "SignedValueTable", "IdempotencyTable"};

/* The key schema of each table (docs/storage.md), as CreateTable JSON.  The
 * account index projects every attribute but LastSeq, so that raising the audit
 * counter on each signature does not write the index's single partition. */
static const char *const table_specs[DDB_TABLES] = {
    "{\"AttributeDefinitions\":[{\"AttributeName\":\"Name\",\"AttributeType\":\"S\"},"
    "{\"AttributeName\":\"Listing\",\"AttributeType\":\"S\"}],"
    "\"KeySchema\":[{\"AttributeName\":\"Name\",\"KeyType\":\"HASH\"}],"
    "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"AccountByListing\","
    "\"KeySchema\":[{\"AttributeName\":\"Listing\",\"KeyType\":\"HASH\"},"
    "{\"AttributeName\":\"Name\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"INCLUDE\","
    "\"NonKeyAttributes\":[\"KeyId\",\"Address\",\"EncryptedPrivateKey\",\"EncryptedDataKey\",\"Policy\","
    "\"PolicyDigest\",\"CreatedAt\"]}}],"
    "\"BillingMode\":\"PAY_PER_REQUEST\"}",
    "{\"AttributeDefinitions\":[{\"AttributeName\":\"Name\",\"AttributeType\":\"S\"},"
    "{\"AttributeName\":\"Seq\",\"AttributeType\":\"N\"}],"
    "\"KeySchema\":[{\"AttributeName\":\"Name\",\"KeyType\":\"HASH\"},"
    "{\"AttributeName\":\"Seq\",\"KeyType\":\"RANGE\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
    "{\"AttributeDefinitions\":[{\"AttributeName\":\"Key\",\"AttributeType\":\"S\"}],"
    "\"KeySchema\":[{\"AttributeName\":\"Key\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
};

static int region_valid(const char *r)
{
    size_t n = strlen(r);

    if (n == 0 || n > NW_DYNAMODB_REGION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return 0;
    return 1;
}

/* Table names: [A-Za-z0-9_.-]{3,255} (DynamoDB's rule). */
static int prefix_valid(const char *p)
{
    size_t n = strlen(p);

    if (n > NW_DYNAMODB_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
              p[i] == '_' || p[i] == '-' || p[i] == '.'))
            return 0;
    return 1;
}

/* http(s)://host[:port][/] -> d->url ("scheme://host[:port]/") and d->host. */
static enum nw_err set_endpoint(struct ddb *d, const char *endpoint, struct nw_error *err)
{
    const char *rest;
    size_t n;

    if (strncmp(endpoint, "https://", 8) == 0)
        rest = endpoint + 8;
    else if (strncmp(endpoint, "http://", 7) == 0)
        rest = endpoint + 7;
    else
        return nw_fail(err, NW_ERR_BAD_REQUEST, "dynamodb endpoint: must start with http:// or https://");
    n = strcspn(rest, "/");
    if (n == 0 || n > NW_DYNAMODB_ENDPOINT_MAX - 8 || (rest[n] == '/' && rest[n + 1] != '\0'))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "dynamodb endpoint: expected scheme://host[:port] with no path");
    for (size_t i = 0; i < n; i++) {
        char c = rest[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "dynamodb endpoint: invalid character in the host");
    }
    memcpy(d->host, rest, n);
    d->host[n] = '\0';
    /* fits: scheme (at most 8) + n (at most MAX - 8) + "/" */
    memcpy(d->url, endpoint, (size_t)(rest - endpoint) + n);
    memcpy(d->url + (rest - endpoint) + n, "/", 2);
    return NW_OK;
}

static enum nw_err configure(struct ddb *d, const struct nw_dynamodb_config *cfg, struct nw_error *err)
{
    const char *prefix = cfg->table_prefix != NULL ? cfg->table_prefix : "";
    char def[NW_DYNAMODB_ENDPOINT_MAX + 1];

    if (cfg->region == NULL || !region_valid(cfg->region))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "dynamodb region: expected e.g. us-east-1 (set AWS_REGION)");
    if (!prefix_valid(prefix))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "table prefix: up to %d characters of [A-Za-z0-9_.-]",
                       NW_DYNAMODB_PREFIX_MAX);
    snprintf(d->region, sizeof d->region, "%s", cfg->region);
    for (int t = 0; t < DDB_TABLES; t++)
        snprintf(d->table[t], sizeof d->table[t], "%s%s", prefix, base_names[t]);
    d->credentials = cfg->credentials;
    d->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    snprintf(def, sizeof def, "https://dynamodb.%s.amazonaws.com", d->region);
    return set_endpoint(d, cfg->endpoint != NULL && cfg->endpoint[0] ? cfg->endpoint : def, err);
}

/* {"TableName": table} plus the fields of `spec` (a JSON text, or NULL). */
static cJSON *table_request(struct ddb *d, enum ddb_table t, const char *spec)
{
    cJSON *req = spec != NULL ? cJSON_Parse(spec) : cJSON_CreateObject();

    if (req != NULL && !cJSON_AddStringToObject(req, "TableName", d->table[t])) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* DescribeTable: *status is "ACTIVE", "CREATING", ... or "" when there is no such table. */
static enum nw_err describe(struct ddb *d, enum ddb_table t, char status[32], struct nw_error *err)
{
    cJSON *req = table_request(d, t, NULL);
    struct ddb_result res = {0};
    const cJSON *s;
    enum nw_err rc;

    status[0] = '\0';
    if (req == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
    rc = ddb_call(d, "DescribeTable", req, t, &res, err);
    if (rc != NW_OK && strcmp(res.type, "ResourceNotFoundException") == 0) {
        rc = NW_OK;
        goto out;
    }
    if (rc != NW_OK)
        goto out;
    s = nw_json_get(nw_json_get(res.json, "Table"), "TableStatus");
    if (!cJSON_IsString(s) || strlen(s->valuestring) >= 32) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: DescribeTable %s: no TableStatus", d->table[t]);
        goto out;
    }
    snprintf(status, 32, "%s", s->valuestring);
out:
    ddb_result_clear(&res);
    cJSON_Delete(req);
    return rc;
}

static enum nw_err create(struct ddb *d, enum ddb_table t, struct nw_error *err)
{
    cJSON *req = table_request(d, t, table_specs[t]);
    struct ddb_result res = {0};
    enum nw_err rc;

    if (req == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
    rc = ddb_call(d, "CreateTable", req, t, &res, err);
    if (rc != NW_OK && strcmp(res.type, "ResourceInUseException") == 0)
        rc = NW_OK; /* another host created it first */
    ddb_result_clear(&res);
    cJSON_Delete(req);
    return rc;
}

/* Each table must be ACTIVE (waiting for one being created), or is created. */
static enum nw_err check_tables(struct ddb *d, int create_missing, struct nw_error *err)
{
    char status[32];
    enum nw_err rc;

    for (int t = 0; t < DDB_TABLES; t++) {
        for (int waited = 0;; waited += 200) {
            if ((rc = describe(d, (enum ddb_table)t, status, err)) != NW_OK)
                return rc;
            if (strcmp(status, "ACTIVE") == 0)
                break;
            if (status[0] == '\0' && !create_missing)
                return nw_fail(err, NW_ERR_INTERNAL,
                               "dynamodb: table '%s' does not exist (create it, or start with --create-tables)",
                               d->table[t]);
            if (status[0] == '\0' && (rc = create(d, (enum ddb_table)t, err)) != NW_OK)
                return rc;
            if (waited >= ACTIVE_WAIT_MS)
                return nw_fail(err, NW_ERR_UNAVAILABLE, "dynamodb: table '%s' is still %s", d->table[t],
                               status[0] ? status : "being created");
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NW_OK;
}

/* libcurl's global state, once per process (not thread-safe to repeat). */
static void global_init(void)
{
    (void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

void ddb_close(struct nw_storage *base)
{
    struct ddb *d = (struct ddb *)base;

    ddb_http_close(d);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

enum nw_err nw_storage_dynamodb_open(struct nw_storage **out, const struct nw_dynamodb_config *cfg,
                                     struct nw_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct ddb *d;
    enum nw_err rc;

    *out = NULL;
    (void)pthread_once(&once, global_init);
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "storage: out of memory");
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return nw_fail(err, NW_ERR_INTERNAL, "storage: cannot create a mutex");
    }
    d->base.ops = &nw_dynamodb_ops;
    NW_GUARD(configure(d, cfg, err));
    NW_GUARD(check_tables(d, cfg->create_tables, err));
    *out = &d->base;
    d = NULL;
out:
    if (d != NULL)
        ddb_close(&d->base);
    return rc;
}
