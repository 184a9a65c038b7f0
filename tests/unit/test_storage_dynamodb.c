/*
 * test_storage_dynamodb.c - the DynamoDB backend's item layer and
 * configuration without a server: records encode to the documented
 * attribute-value items and read back equal; the readers refuse extra,
 * missing, mistyped, doubly-typed and out-of-bounds attributes, numbers
 * that are not integers in 1..2^53-1, and items that fail the write
 * validation; error types are taken from __type; opening refuses a bad
 * region, prefix or endpoint before any request.  Behaviour against a real
 * DynamoDB API (dynalite) and under faults is in tests/suites/host_api_dynamodb.sh
 * and host_dynamodb_faults.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/host/storage/storage_dynamodb_internal.h"
#include "nitrowallet/enclave_pool.h"

/* EIP-55 test vector (https://eips.ethereum.org/EIPS/eip-55). */
#define ADDR1 "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define DIGEST "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define TIME "2026-11-21T09:30:00.123Z"

static const struct nw_account_record acct = {.name = "hot-1",
                                              .kms_key_id = "alias/nitrowallet",
                                              .address = ADDR1,
                                              .encrypted_private_key = "AAECAwQFBgcICQoLDA0ODw==",
                                              .encrypted_data_key = "AQIDBAUGBwgJCgsMDQ4PEA==",
                                              .policy = "{\"allow_digest\":false}",
                                              .policy_digest = DIGEST,
                                              .created_at = TIME};

static cJSON *parse(const char *text)
{
    cJSON *j = NULL;
    struct nw_error err = {0};

    assert_int_equal(ddb_parse_body(&j, text, strlen(text), &err), NW_OK);
    return j;
}

static void test_account_round_trip(void **state)
{
    (void)state;
    struct nw_account_record back = {0};
    struct nw_error err = {0};
    cJSON *item = ddb_account_item(&acct);
    char *text = cJSON_PrintUnformatted(item);

    assert_non_null(strstr(text, "\"Address\":{\"S\":\"" ADDR1 "\"}"));
    assert_non_null(strstr(text, "\"Listing\":{\"S\":\"account\"}"));
    assert_int_equal(ddb_read_account(item, &back, &err), NW_OK);
    assert_true(ddb_same_account(&back, &acct));
    /* the audit counter may be present */
    assert_true(ddb_put_n(item, "LastSeq", 3));
    nw_account_record_clear(&back);
    assert_int_equal(ddb_read_account(item, &back, &err), NW_OK);
    nw_account_record_clear(&back);
    free(text);
    cJSON_Delete(item);
}

/* Change one attribute of a valid account item and expect INTERNAL naming it. */
static void refused_as(const char *attr, cJSON *value, enum nw_err code, const char *want)
{
    struct nw_account_record back = {0};
    struct nw_error err = {0};
    cJSON *item = ddb_account_item(&acct);

    if (value != NULL) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(item, attr, value))
            assert_true(cJSON_AddItemToObject(item, attr, value));
    } else
        cJSON_DeleteItemFromObjectCaseSensitive(item, attr);
    assert_int_equal(ddb_read_account(item, &back, &err), code);
    assert_non_null(strstr(err.msg, want));
    assert_null(back.name);
    assert_null(back.address);
    cJSON_Delete(item);
}

/* Not a well-formed item: INTERNAL.  Well-formed but refused by the write
 * checks: the account does not open, SEAL_INVALID (docs/host-api.md). */
static void refused(const char *attr, cJSON *value, const char *want)
{
    refused_as(attr, value, NW_ERR_INTERNAL, want);
}

static void test_account_refusals(void **state)
{
    (void)state;
    refused("Address", NULL, "Address is missing");
    refused("Extra", ddb_s("x"), "Extra");
    refused("Address", ddb_n(1), "Address is missing or not a string");
    refused("Name", parse("{\"S\":\"a\",\"N\":\"1\"}"), "Name is missing or not a string");
    refused("Listing", ddb_s("other"), "Listing");
    refused("LastSeq", ddb_n(0), "LastSeq");
    refused("PolicyDigest", ddb_s(DIGEST "00"), "PolicyDigest is longer");
    refused_as("Address", ddb_s("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), NW_ERR_SEAL_INVALID,
               "the stored account record is damaged"); /* not EIP-55 */
    refused_as("Name", ddb_s(".hidden"), NW_ERR_SEAL_INVALID, "the stored account record is damaged");
    refused_as("Policy", ddb_s("{\"version\":1,\"ru"), NW_ERR_SEAL_INVALID, "policy");
}

static void test_signed_and_idem_round_trip(void **state)
{
    (void)state;
    struct nw_signed_value_record s = {.seq = 9,
                                       .name = "hot-1",
                                       .kind = "message",
                                       .transaction = "{\"message\":\"hi\"}",
                                       .signed_value = "0x1b",
                                       .tx_hash = "",
                                       .created_at = TIME,
                                       .request_id = "req-1"},
                                  sb = {0};
    struct nw_idempotency_record i = {.key = "ops:k-1",
                                      .fingerprint = "ab",
                                      .status = 201,
                                      .response = "{}",
                                      .created_at = TIME},
                                 ib = {0};
    struct nw_error err = {0};
    cJSON *si = ddb_signed_item(&s), *ii = ddb_idem_item(&i);

    assert_int_equal(ddb_read_signed(si, &sb, &err), NW_OK);
    assert_int_equal(sb.seq, 9);
    assert_string_equal(sb.signed_value, "0x1b");
    assert_string_equal(sb.tx_hash, "");
    assert_int_equal(ddb_read_idem(ii, &ib, &err), NW_OK);
    assert_int_equal(ib.status, 201);
    assert_string_equal(ib.response, "{}");
    nw_signed_value_record_clear(&sb);
    nw_idempotency_record_clear(&ib);
    cJSON_ReplaceItemInObjectCaseSensitive(ii, "Status", ddb_n(600));
    assert_int_equal(ddb_read_idem(ii, &ib, &err), NW_ERR_INTERNAL);
    assert_null(ib.key);
    cJSON_Delete(si);
    cJSON_Delete(ii);
}

static void test_seq_numbers(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"N\":\"0\"}",
                                      "{\"N\":\"01\"}",
                                      "{\"N\":\"1.5\"}",
                                      "{\"N\":\"-1\"}",
                                      "{\"N\":\"9007199254740992\"}",
                                      "{\"N\":\"1e3\"}",
                                      "{\"S\":\"1\"}",
                                      "{\"N\":\"\"}",
                                      NULL};
    struct nw_error err = {0};
    long long v = 0;
    cJSON *j = parse("{\"N\":\"9007199254740991\"}");

    assert_int_equal(ddb_read_seq(j, "Seq", &v, &err), NW_OK);
    assert_int_equal(v, 9007199254740991LL);
    cJSON_Delete(j);
    for (size_t k = 0; bad[k] != NULL; k++) {
        j = parse(bad[k]);
        assert_int_equal(ddb_read_seq(j, "Seq", &v, &err), NW_ERR_INTERNAL);
        cJSON_Delete(j);
    }
}

static void test_error_type_and_bodies(void **state)
{
    (void)state;
    char type[DDB_TYPE_MAX];
    const char *t =
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\",\"message\":\"x\"}";
    struct nw_error err = {0};
    cJSON *j = NULL;

    ddb_error_type(type, t, strlen(t));
    assert_string_equal(type, "ConditionalCheckFailedException");
    ddb_error_type(type, "Service Unavailable", 19);
    assert_string_equal(type, "");
    ddb_error_type(type, "{\"__type\":\"a#b c\"}", 18);
    assert_string_equal(type, "");
    assert_int_equal(ddb_parse_body(&j, "[1]", 3, &err), NW_ERR_INTERNAL);
    assert_int_equal(ddb_parse_body(&j, "{\"a\":1,\"a\":2}", 13, &err), NW_ERR_INTERNAL);
    assert_null(j);
}

static void test_open_refuses_bad_config(void **state)
{
    (void)state;
    struct nw_storage *st = NULL;
    struct nw_error err = {0};
    struct nw_dynamodb_config c = {.region = "us-east-1", .credentials = &nw_credentials_env};

    c.region = "US_EAST";
    assert_int_equal(nw_storage_dynamodb_open(&st, &c, &err), NW_ERR_BAD_REQUEST);
    c.region = "us-east-1";
    c.table_prefix = "bad prefix";
    assert_int_equal(nw_storage_dynamodb_open(&st, &c, &err), NW_ERR_BAD_REQUEST);
    c.table_prefix = NULL;
    c.endpoint = "ftp://127.0.0.1:1";
    assert_int_equal(nw_storage_dynamodb_open(&st, &c, &err), NW_ERR_BAD_REQUEST);
    c.endpoint = "http://127.0.0.1:1/path";
    assert_int_equal(nw_storage_dynamodb_open(&st, &c, &err), NW_ERR_BAD_REQUEST);
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_round_trip),         cmocka_unit_test(test_account_refusals),
        cmocka_unit_test(test_signed_and_idem_round_trip), cmocka_unit_test(test_seq_numbers),
        cmocka_unit_test(test_error_type_and_bodies),      cmocka_unit_test(test_open_refuses_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
