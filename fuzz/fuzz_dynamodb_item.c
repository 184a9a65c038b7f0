/*
 * fuzz_dynamodb_item.c - the DynamoDB backend's readers of untrusted
 * responses (src/host/storage/storage_dynamodb_item.c): the body parser, the error
 * type extractor, the strict item readers and the number reader.  The first
 * byte picks what the body is read as: 0 GetItem of AccountTable, 1 of
 * SignedValueTable, 2 of IdempotencyTable, 3 a Query page of accounts, 4 of
 * audit items, 5 UpdateItem's Attributes.LastSeq; every input also goes
 * through ddb_error_type and the table-description parser.  Checked: a
 * record read successfully passes storage.h's write validation; a failed
 * read leaves the record empty; an error type is [A-Za-z0-9]+ and bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/host/storage/storage_dynamodb_internal.h"
#include "nitrowallet/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void item(const cJSON *it, int kind)
{
    struct nw_error err = {0};
    struct nw_account_record a;
    struct nw_signed_value_record s;
    struct nw_idempotency_record i;

    if (kind == 0) {
        if (ddb_read_account(it, &a, &err) == NW_OK) {
            if (nw_storage_check_account(&a, &err) != NW_OK)
                abort();
        } else if (a.name != NULL || a.address != NULL || a.created_at != NULL) {
            abort();
        }
        nw_account_record_clear(&a);
    } else if (kind == 1) {
        if (ddb_read_signed(it, &s, &err) == NW_OK) {
            if (s.seq < 1 || nw_storage_check_signed_value(&s, &err) != NW_OK)
                abort();
        } else if (s.name != NULL || s.signed_value != NULL) {
            abort();
        }
        nw_signed_value_record_clear(&s);
    } else {
        if (ddb_read_idem(it, &i, &err) == NW_OK) {
            if (i.status < 100 || i.status > 599 || nw_storage_check_idempotency(&i, &err) != NW_OK)
                abort();
        } else if (i.key != NULL || i.response != NULL) {
            abort();
        }
        nw_idempotency_record_clear(&i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nw_error err = {0};
    char type[DDB_TYPE_MAX];
    cJSON *j = NULL;
    const cJSON *it;
    long long seq;
    int kind;

    if (size < 1 || size > DDB_RESPONSE_MAX)
        return 0;
    kind = data[0] % 6;
    ddb_error_type(type, (const char *)data + 1, size - 1);
    for (size_t k = 0; type[k] != '\0'; k++)
        if (k >= DDB_TYPE_MAX - 1 || !((type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z') ||
                                       (type[k] >= '0' && type[k] <= '9')))
            abort();
    if (ddb_parse_table_body(&j, (const char *)data + 1, size - 1, &err) == NW_OK)
        cJSON_Delete(j);
    j = NULL;
    if (ddb_parse_body(&j, (const char *)data + 1, size - 1, &err) != NW_OK) {
        if (j != NULL)
            abort();
        return 0;
    }
    if (kind < 3) {
        item(nw_json_get(j, "Item"), kind);
    } else if (kind < 5) {
        cJSON_ArrayForEach(it, nw_json_get(j, "Items")) item(it, kind == 3 ? 0 : 1);
    } else if (ddb_read_seq(nw_json_get(nw_json_get(j, "Attributes"), "LastSeq"), "LastSeq", &seq, &err) == NW_OK) {
        if (seq < 1 || (unsigned long long)seq > NW_JSON_MAX_SAFE_INT)
            abort();
    }
    cJSON_Delete(j);
    return 0;
}
