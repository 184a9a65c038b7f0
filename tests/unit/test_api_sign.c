/*
 * test_api_sign.c - how the host's signing endpoint (src/host/api/api_sign.c)
 * turns a stored account record into the enclave's `account` param, and how
 * it reports an enclave error: a damaged stored record (any field the
 * storage contract would refuse, or one the enclave's parser refuses) is
 * SEAL_INVALID (422), never the client's BAD_REQUEST (400) nor a NOMEM
 * (500), and the message names the field without echoing its value.  The
 * end-to-end view is tests/suites/host_faults.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/host/api/api_internal.h"

/* EIP-55 test vector (https://eips.ethereum.org/EIPS/eip-55). */
#define ADDR "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

static struct nw_account_record good(void)
{
    struct nw_account_record a = {
        .name = "alice",
        .kms_key_id = "1234abcd-12ab-34cd-56ef-1234567890ab",
        .address = ADDR,
        .encrypted_private_key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PQ==",
        .encrypted_data_key = "AQIDBAUGBwgJCgsMDQ4PEA==",
        .policy = "{\"allow_digest\":false}",
        .policy_digest = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        .created_at = "2026-11-21T09:30:00.123Z",
    };
    return a;
}

static void test_param_from_a_good_record(void **state)
{
    (void)state;
    struct nw_account_record a = good();
    struct nw_error err = {0};
    cJSON *p = api_account_param(&a, &err);
    assert_non_null(p);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring, "alice");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "address")->valuestring, ADDR);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "kms_key_id")->valuestring, a.kms_key_id);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "encrypted_private_key")->valuestring,
                        a.encrypted_private_key);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "encrypted_data_key")->valuestring, a.encrypted_data_key);
    /* the stored policy text, as it is (cJSON_Raw): forwarded without a tree */
    assert_true(cJSON_IsRaw(cJSON_GetObjectItemCaseSensitive(p, "policy")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "policy")->valuestring, a.policy);
    /* the digest and the timestamp are the host's, never sent */
    assert_null(cJSON_GetObjectItemCaseSensitive(p, "policy_digest"));
    assert_null(cJSON_GetObjectItemCaseSensitive(p, "created_at"));
    cJSON_Delete(p);
}

/* Set one field of a good record to `value`: SEAL_INVALID naming `field`. */
static void damaged(size_t offset, char *value, const char *field)
{
    struct nw_account_record a = good();
    struct nw_error err = {0};
    memcpy((char *)&a + offset, &value, sizeof value);
    cJSON *p = api_account_param(&a, &err);
    assert_null(p);
    assert_int_equal(err.code, NW_ERR_SEAL_INVALID);
    assert_int_equal(nw_err_http_status(err.code), 422);
    assert_non_null(strstr(err.msg, "the stored account record is damaged: "));
    assert_non_null(strstr(err.msg, field));
    if (strlen(value) >= 4) assert_null(strstr(err.msg, value));
}

#define DAMAGED(member, value, field) damaged(offsetof(struct nw_account_record, member), value, field)

static void test_damaged_records_are_seal_invalid(void **state)
{
    (void)state;
    DAMAGED(encrypted_private_key, "not base64!", "encrypted_private_key");
    DAMAGED(encrypted_data_key, "%%%%", "encrypted_data_key");
    DAMAGED(address, "0x1234", "address");
    /* the same address, not in the EIP-55 form the host writes */
    DAMAGED(address, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "address");
    DAMAGED(policy, "garbage", "policy"); /* was a 500 "out of memory" */
    DAMAGED(policy, "[true]", "policy");
    DAMAGED(policy_digest, "xyz", "policy_digest");
    DAMAGED(kms_key_id, "has space", "kms_key_id");
    DAMAGED(created_at, "yesterday", "created_at");
    DAMAGED(name, ".hidden", "name");
}

static void test_enclave_account_errors_become_seal_invalid(void **state)
{
    (void)state;
    struct nw_error err = {0};
    nw_fail(&err, NW_ERR_BAD_REQUEST, "account: policy.allow_digest: required, true or false");
    api_sign_enclave_error(&err);
    assert_int_equal(err.code, NW_ERR_SEAL_INVALID);
    assert_string_equal(err.msg,
                        "the stored account record is damaged: account: policy.allow_digest: required, true or false");
}

static void test_other_enclave_errors_are_kept(void **state)
{
    (void)state;
    static const struct {
        enum nw_err code;
        const char *msg;
    } keep[] = {
        {NW_ERR_BAD_REQUEST, "transaction: chainId: required"}, /* the client's own input */
        {NW_ERR_BAD_REQUEST, "accounts: not a prefix match"},
        {NW_ERR_SEAL_INVALID, "account: the sealed key does not open for this account"},
        {NW_ERR_KMS_DENIED, "AccessDeniedException: not authorized"},
        {NW_ERR_KMS_UNAVAILABLE, "kms Decrypt: transport: connect: Connection refused"},
        {NW_ERR_POLICY_DENIED, "sign_digest: the account's policy does not allow raw digests"},
        {NW_ERR_UNAVAILABLE, "no healthy enclave"},
    };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        struct nw_error err = {0};
        nw_fail(&err, keep[i].code, "%s", keep[i].msg);
        api_sign_enclave_error(&err);
        assert_int_equal(err.code, keep[i].code);
        assert_string_equal(err.msg, keep[i].msg);
    }
}

/* Issue 11, point 7: KMS and IAM text never reaches an API client. */
static void test_client_messages_hide_aws_text(void **state)
{
    (void)state;
    static const char denied[] =
        "AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/nw-host/i-0abc is not authorized "
        "to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/1234abcd";
    static const struct {
        enum nw_err code;
        const char *msg, *want;
        int changed;
    } cases[] = {
        {NW_ERR_KMS_DENIED, denied, "KMS refused the operation (details in the host log under this request_id)", 1},
        {NW_ERR_KMS_UNAVAILABLE, "kms Decrypt: transport: kms.us-east-1.amazonaws.com: Connection refused",
         "KMS could not be reached; retry later (details in the host log under this request_id)", 1},
        {NW_ERR_UNAVAILABLE, "dynamodb: PutItem on nw-accounts failed 3 times, last: User: arn:aws:iam::1:x",
         "temporarily unavailable; retry later (details in the host log under this request_id)", 1},
        {NW_ERR_ATTESTATION, "PCR0 does not match", "attestation failed (details in the host log under this request_id)",
         1},
        {NW_ERR_INTERNAL, "dynamodb: ValidationException on nw-accounts",
         "internal error (details in the host log under this request_id)", 1},
        /* the request's own errors keep their text */
        {NW_ERR_BAD_REQUEST, "transaction: chainId: required", "transaction: chainId: required", 0},
        {NW_ERR_POLICY_DENIED, "kms_key_id: not one of this enclave's KMS keys (its --kms-key-arn, listed by health)",
         "kms_key_id: not one of this enclave's KMS keys (its --kms-key-arn, listed by health)", 0},
        {NW_ERR_BAD_REQUEST, "value: 1234567890123 wei over 111122223333", "value: 1234567890123 wei over <account>", 1},
        /* ... but not an ARN or an account id, wherever they came from */
        {NW_ERR_SEAL_INVALID, "KeyId arn:aws:kms:us-east-1:111122223333:key/x, not ours",
         "KeyId <arn>, not ours", 1},
        {NW_ERR_BAD_REQUEST, "(arn:aws:iam::111122223333:role/r)", "(<arn>)", 1},
        {NW_ERR_BAD_REQUEST, "learn:this", "learn:this", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nw_error err = {0};
        char out[NW_ERROR_MSG_MAX + 64];
        nw_fail(&err, cases[i].code, "%s", cases[i].msg);
        assert_int_equal(api_client_message(&err, out, sizeof out), cases[i].changed);
        assert_string_equal(out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_from_a_good_record),
        cmocka_unit_test(test_client_messages_hide_aws_text),
        cmocka_unit_test(test_damaged_records_are_seal_invalid),
        cmocka_unit_test(test_enclave_account_errors_become_seal_invalid),
        cmocka_unit_test(test_other_enclave_errors_are_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
