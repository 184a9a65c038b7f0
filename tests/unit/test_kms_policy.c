/*
 * test_kms_policy.c - nitrowallet-kms's key policies: what validation
 * refuses, and evaluation as AWS documents it (explicit Deny wins, an Allow
 * is needed, wildcards, principals of an account, and conditions on
 * kms:RecipientAttestation:* and kms:EncryptionContext:*, which never match
 * a request that does not carry them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/kms/kms_internal.h"

#define ACCOUNT "111122223333"
#define KEY_ARN "arn:aws:kms:us-east-1:111122223333:key/8bcfc867-1f1e-4cb1-9feb-637d8569d16a"
#define ROOT "arn:aws:iam::111122223333:root"

static cJSON *parse_ok(const char *text)
{
    cJSON *tree = NULL;
    struct nw_error err = {NW_OK, ""};

    if (kms_policy_parse(&tree, text, strlen(text), &err) != NW_OK)
        fail_msg("policy refused: %s\n%s", err.msg, text);
    return tree;
}

static void refused(const char *text, const char *why)
{
    cJSON *tree = (cJSON *)1;
    struct nw_error err = {NW_OK, ""};

    if (kms_policy_parse(&tree, text, strlen(text), &err) == NW_OK)
        fail_msg("policy accepted: %s", text);
    assert_null(tree);
    if (why != NULL && strstr(err.msg, why) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", why, err.msg);
}

static const char *stmt(const char *effect, const char *principal, const char *action, const char *cond)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"%s\",\"Principal\":%s,\"Action\":%s,"
             "\"Resource\":\"*\"%s%s}]}",
             effect, principal, action, cond ? ",\"Condition\":" : "", cond ? cond : "");
    return buf;
}

static void validation_refusals(void **state)
{
    (void)state;
    refused("not json", "not valid JSON");
    refused("{}", "Statement");
    refused("{\"Statement\":[]}", "Statement");
    refused("{\"Version\":\"2020-01-01\",\"Statement\":{}}", "Version");
    refused("{\"Statement\":{},\"Extra\":1}", "unknown field");
    refused(stmt("allow", "\"*\"", "\"kms:*\"", NULL), "Effect");
    refused(stmt("Allow", "\"someone\"", "\"kms:*\"", NULL), "Principal");
    refused(stmt("Allow", "{\"Bogus\":\"x\"}", "\"kms:*\"", NULL), "principal type");
    refused(stmt("Allow", "{\"AWS\":[]}", "\"kms:*\"", NULL), "principal");
    refused(stmt("Allow", "\"*\"", "\"s3:GetObject\"", NULL), "not a KMS action");
    refused(stmt("Allow", "\"*\"", "[]", NULL), "Action");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"NumericLessThan\":{\"kms:CallerAccount\":\"1\"}}"), "operator");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"ForAnyValue:StringEquals\":{\"kms:CallerAccount\":\"1\"}}"),
            "operator");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"StringEquals\":{\"aws:SourceIp\":\"1\"}}"), "condition key");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"StringEquals\":{\"kms:RecipientAttestation:PCR32\":\"1\"}}"),
            "condition key");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"StringEquals\":{\"kms:RecipientAttestation:PCR\":\"1\"}}"),
            "condition key");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"StringEquals\":{\"kms:CallerAccount\":1}}"), "string");
    refused(stmt("Allow", "\"*\"", "\"kms:*\"", "{\"StringEquals\":{}}"), "object of keys");
    refused("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"NotAction\":\"kms:x\","
            "\"Resource\":\"*\"}}",
            "exactly one");
    refused("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}}", "Resource");
    refused("{\"Statement\":{\"Effect\":\"Allow\",\"NotPrincipal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"}}",
            "NotPrincipal");
    refused("{\"Statement\":{\"Effect\":\"Allow\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\","
            "\"Resource\":\"*\"}}",
            NULL); /* duplicate key */
}

static struct kms_policy_request request(const char *action)
{
    struct kms_policy_request r = {action, ROOT, ACCOUNT, KEY_ARN, NULL, NULL};
    return r;
}

static void check(const char *policy, const struct kms_policy_request *r, enum kms_decision want)
{
    cJSON *tree = parse_ok(policy);
    enum kms_decision got = kms_policy_evaluate(tree, r);

    cJSON_Delete(tree);
    if (got != want)
        fail_msg("%s by %s: got %d, want %d\n%s", r->action, r->principal_arn, got, want, policy);
}

static void default_policy(void **state)
{
    struct kms_policy_request r = request("kms:Decrypt");
    char *text = NULL;

    (void)state;
    assert_int_equal(kms_policy_default(&text, ACCOUNT), NW_OK);
    check(text, &r, KMS_ALLOW);
    r.principal_arn = "arn:aws:iam::111122223333:role/enclave"; /* the account root covers its principals */
    check(text, &r, KMS_ALLOW);
    r.principal_arn = "arn:aws:iam::999988887777:root";
    r.account = "999988887777";
    check(text, &r, KMS_DENY_IMPLICIT);
    free(text);
}

static void principals_actions_resources(void **state)
{
    struct kms_policy_request r = request("kms:GenerateDataKey");

    (void)state;
    check(stmt("Allow", "\"*\"", "\"kms:Gen*\"", NULL), &r, KMS_ALLOW);
    check(stmt("Allow", "\"*\"", "\"KMS:generatedatakey\"", NULL), &r, KMS_ALLOW);
    check(stmt("Allow", "\"*\"", "\"kms:GenerateDataKey?\"", NULL), &r, KMS_DENY_IMPLICIT);
    check(stmt("Allow", "\"*\"", "[\"kms:Decrypt\",\"kms:Encrypt\"]", NULL), &r, KMS_DENY_IMPLICIT);
    check(stmt("Allow", "\"*\"", "\"*\"", NULL), &r, KMS_ALLOW);
    check(stmt("Allow", "{\"AWS\":\"" ACCOUNT "\"}", "\"kms:*\"", NULL), &r, KMS_ALLOW);
    check(stmt("Allow", "{\"AWS\":\"arn:aws:iam::111122223333:role/other\"}", "\"kms:*\"", NULL), &r,
          KMS_DENY_IMPLICIT);
    check(stmt("Allow", "{\"Service\":\"ec2.amazonaws.com\"}", "\"kms:*\"", NULL), &r, KMS_DENY_IMPLICIT);
    r.principal_arn = "arn:aws:iam::111122223333:role/other";
    check(stmt("Allow", "{\"AWS\":[\"arn:aws:iam::1:root\",\"arn:aws:iam::111122223333:role/other\"]}", "\"kms:*\"",
               NULL),
          &r, KMS_ALLOW);
    check("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"kms:Gen*\",\"Resource\":\"*\"}}",
          &r, KMS_DENY_IMPLICIT);
    check("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"" KEY_ARN
          "\"}}",
          &r, KMS_ALLOW);
    check("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","
          "\"Resource\":\"arn:aws:kms:us-east-1:111122223333:key/other\"}}",
          &r, KMS_DENY_IMPLICIT);
}

static void explicit_deny_wins(void **state)
{
    static const char policy[] =
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"},"
        "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"},"
        "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}";
    struct kms_policy_request r = request("kms:Decrypt");

    (void)state;
    check(policy, &r, KMS_DENY_EXPLICIT);
    r.action = "kms:Encrypt";
    check(policy, &r, KMS_ALLOW);
}

static void attestation(struct nw_attestation *att, uint8_t pcr0_byte)
{
    memset(att, 0, sizeof *att);
    for (unsigned i = 0; i < 16; i++) {
        att->pcr_present |= 1u << i;
        att->pcr_len[i] = 48;
        memset(att->pcrs[i], i == 0 ? pcr0_byte : (int)i, 48);
    }
}

static char *hex48(char out[97], int byte, int upper)
{
    for (int i = 0; i < 48; i++)
        snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", byte);
    return out;
}

static void attestation_conditions(void **state)
{
    struct kms_policy_request r = request("kms:Decrypt");
    struct nw_attestation att;
    char cond[1024], h[97], h1[97];

    (void)state;
    attestation(&att, 0xab);
    snprintf(cond, sizeof cond, "{\"StringEqualsIgnoreCase\":{\"kms:RecipientAttestation:ImageSha384\":\"%s\"}}",
             hex48(h, 0xab, 1));
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_DENY_IMPLICIT); /* no Recipient */
    r.attestation = &att;
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_ALLOW);
    attestation(&att, 0xac); /* a rebuilt enclave */
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_DENY_IMPLICIT);
    /* StringEquals on attestation keys compares hex without regard to case */
    attestation(&att, 0xab);
    snprintf(cond, sizeof cond,
             "{\"StringEquals\":{\"kms:RecipientAttestation:PCR0\":\"%s\","
             "\"kms:RecipientAttestation:PCR1\":[\"00\",\"%s\"]}}",
             hex48(h, 0xab, 1), hex48(h1, 0x01, 0));
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_ALLOW);
    att.pcrs[1][47] ^= 1;
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_DENY_IMPLICIT);
    att.pcr_present &= ~2u; /* a PCR the document lacks */
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_DENY_IMPLICIT);
    /* StringLike, and a Deny with StringNotEquals (absent key: true) that
     * refuses every call that is not attested with the right image */
    attestation(&att, 0xab);
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", "{\"StringLike\":{\"kms:RecipientAttestation:PCR2\":\"0202*\"}}"),
          &r, KMS_ALLOW);
    snprintf(cond, sizeof cond, "{\"StringNotEquals\":{\"kms:RecipientAttestation:ImageSha384\":\"%s\"}}",
             hex48(h, 0xab, 0));
    check(stmt("Deny", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_DENY_IMPLICIT);
    r.attestation = NULL;
    check(stmt("Deny", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_DENY_EXPLICIT);
    /* ...IfExists: an absent key satisfies the condition */
    snprintf(cond, sizeof cond, "{\"StringEqualsIfExists\":{\"kms:RecipientAttestation:ImageSha384\":\"%s\"}}", h);
    check(stmt("Allow", "\"*\"", "\"kms:Decrypt\"", cond), &r, KMS_ALLOW);
}

static void context_conditions(void **state)
{
    struct kms_policy_request r = request("kms:Encrypt");
    struct kms_context ctx;
    static const char cond[] = "{\"StringEquals\":{\"kms:EncryptionContext:account\":\"alice\"},"
                               "\"StringLike\":{\"kms:CallerAccount\":\"1111*\"}}";

    (void)state;
    ctx.n = 1;
    ctx.pairs[0] = (struct kms_pair){"account", 7, "alice", 5};
    check(stmt("Allow", "\"*\"", "\"kms:*\"", cond), &r, KMS_DENY_IMPLICIT); /* no context */
    r.context = &ctx;
    check(stmt("Allow", "\"*\"", "\"kms:*\"", cond), &r, KMS_ALLOW);
    ctx.pairs[0].value = "Alice";
    check(stmt("Allow", "\"*\"", "\"kms:*\"", cond), &r, KMS_DENY_IMPLICIT);
    check(stmt("Allow", "\"*\"", "\"kms:*\"",
               "{\"StringEqualsIgnoreCase\":{\"kms:EncryptionContext:account\":\"ALICE\"}}"),
          &r, KMS_ALLOW);
    r.account = "222233334444";
    ctx.pairs[0].value = "alice";
    check(stmt("Allow", "\"*\"", "\"kms:*\"", cond), &r, KMS_DENY_IMPLICIT);
}

static void wildcards(void **state)
{
    (void)state;
    assert_true(kms_wildcard_match("*", "", 0));
    assert_true(kms_wildcard_match("a*b*c", "axxbyyc", 0));
    assert_false(kms_wildcard_match("a*b*c", "axxbyy", 0));
    assert_true(kms_wildcard_match("a?c", "abc", 0));
    assert_false(kms_wildcard_match("a?c", "ac", 0));
    assert_true(kms_wildcard_match("ABC", "abc", 1));
    assert_false(kms_wildcard_match("ABC", "abc", 0));
    assert_true(kms_wildcard_match("**x", "x", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validation_refusals),
        cmocka_unit_test(default_policy),
        cmocka_unit_test(principals_actions_resources),
        cmocka_unit_test(explicit_deny_wins),
        cmocka_unit_test(attestation_conditions),
        cmocka_unit_test(context_conditions),
        cmocka_unit_test(wildcards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
