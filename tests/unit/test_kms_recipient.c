/*
 * test_kms_recipient.c - nitrowallet-kms's Recipient flow with the emulated
 * NSM (nw_nsm_open_emulated) as the enclave: GenerateDataKey, Decrypt and
 * GenerateRandom with an attestation document answer with
 * CiphertextForRecipient (no Plaintext), which nw_cms_open opens with the
 * enclave's RSA key to the same data key that Decrypt returns; a key policy
 * pinning PCR0 (kms:RecipientAttestation:ImageSha384) admits this binary's
 * documents and refuses them once pinned to another image, and refuses
 * calls without Recipient; a stale, damaged, or foreign-rooted document is a
 * ValidationException.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../src/kms/kms_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/cms.h"
#include "nitrowallet/json.h"
#include "nitrowallet/nsm.h"

#define BODY_MAX (64u * 1024u)

static char dir[64], nsm_dir[128], root_file[192];
static struct nw_kms_service *svc;
static struct nw_nsm *nsm;
static struct nw_rsa_recipient *rsa;
static char doc_b64[NW_BASE64_SIZE(NW_ATT_MAX_DOC)];
static char key_id[40];
static int64_t now_ms;

struct reply {
    cJSON *json;
    char type[64];
    char message[512];
};

static void call(struct reply *r, const char *op, const char *body)
{
    struct kms_caller caller;
    struct nw_kms_reply reply;
    char target[64];
    const cJSON *t;

    kms_caller_root(&caller, svc);
    kms_reply_init(&reply);
    snprintf(target, sizeof target, "TrentService.%s", op);
    kms_service_dispatch(svc, &caller, target, strlen(target), (const uint8_t *)body, strlen(body), now_ms, &reply);
    r->json = cJSON_ParseWithLength((const char *)reply.body.data, reply.body.len);
    assert_non_null(r->json);
    nw_buf_free(&reply.body);
    r->type[0] = r->message[0] = '\0';
    if ((t = nw_json_get(r->json, "__type")) != NULL) {
        snprintf(r->type, sizeof r->type, "%s", t->valuestring);
        snprintf(r->message, sizeof r->message, "%s", nw_json_get(r->json, "message")->valuestring);
    }
}

static void expect_error(const char *op, const char *body, const char *type)
{
    struct reply r;

    call(&r, op, body);
    if (strcmp(r.type, type) != 0)
        fail_msg("%s: expected %s, got \"%s\" (%s)", op, type, r.type, r.message);
    printf("    refused as expected: %s: %s\n", r.type, r.message);
    cJSON_Delete(r.json);
}

/* Decode a base64 member of a reply. */
static size_t b64_member(const cJSON *obj, const char *name, uint8_t *out, size_t cap)
{
    const cJSON *v = nw_json_get(obj, name);
    size_t n = 0;

    if (!cJSON_IsString(v))
        fail_msg("no %s in the reply", name);
    assert_int_equal(nw_base64_decode(out, cap, &n, v->valuestring, strlen(v->valuestring), NULL), NW_OK);
    return n;
}

/* Open a CiphertextForRecipient member with the enclave's key. */
static size_t open_for_recipient(const cJSON *obj, uint8_t *out, size_t cap)
{
    static uint8_t cms[NW_CMS_MAX];
    size_t n = b64_member(obj, "CiphertextForRecipient", cms, sizeof cms);
    struct nw_secret pt;
    struct nw_error err = {NW_OK, ""};

    if (nw_cms_open(&pt, rsa, cms, n, cap, &err) != NW_OK)
        fail_msg("nw_cms_open: %s", err.msg);
    memcpy(out, pt.data, pt.len);
    n = pt.len;
    nw_secret_free(&pt);
    return n;
}

static void attest(void)
{
    struct nw_buf doc;
    const uint8_t *spki;
    size_t spki_len;

    nw_rsa_recipient_spki(rsa, &spki, &spki_len);
    nw_buf_init(&doc, NW_ATT_MAX_DOC);
    assert_int_equal(nw_nsm_attest(nsm, &doc, NULL, 0, NULL, 0, spki, spki_len, NULL), NW_OK);
    assert_int_equal(nw_base64_encode(doc_b64, sizeof doc_b64, doc.data, doc.len), NW_OK);
    nw_buf_free(&doc);
}

static int setup(void **state)
{
    struct nw_kms_service_config cfg;
    struct nw_error err = {NW_OK, ""};
    struct reply r;

    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_kms_recipient.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(nsm_dir, sizeof nsm_dir, "%s/nsm", dir);
    snprintf(root_file, sizeof root_file, "%s/%s", nsm_dir, NW_NSM_DEV_ROOT_FILE);
    if (nw_nsm_open_emulated(&nsm, nsm_dir, &err) != NW_OK)
        fail_msg("emulated NSM: %s", err.msg);
    assert_int_equal(nw_rsa_recipient_generate(&rsa, NULL), NW_OK);
    memset(&cfg, 0, sizeof cfg);
    cfg.region = "us-east-1";
    cfg.dev_root_file = root_file; /* as nitrowallet-kms's default, $NITROWALLET_HOME/nsm/... */
    if (nw_kms_service_open(&svc, &cfg, &err) != NW_OK)
        fail_msg("service: %s", err.msg);
    now_ms = (int64_t)time(NULL) * 1000;
    attest();
    call(&r, "CreateKey", "{}");
    snprintf(key_id, sizeof key_id, "%s", nw_json_get(nw_json_get(r.json, "KeyMetadata"), "KeyId")->valuestring);
    cJSON_Delete(r.json);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    nw_kms_service_free(svc);
    nw_rsa_recipient_free(rsa);
    nw_nsm_close(nsm);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static char *body_with_recipient(const char *fmt_members)
{
    static char body[BODY_MAX];
    snprintf(body, sizeof body,
             "{%s,\"Recipient\":{\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":\"%s\"}}",
             fmt_members, doc_b64);
    return body;
}

static void generate_data_key_then_decrypt(void **state)
{
    char members[1024], blob_b64[512];
    uint8_t dk[64], dk2[64], plain[64];
    struct reply r;
    size_t n;

    (void)state;
    snprintf(members, sizeof members,
             "\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\",\"EncryptionContext\":{\"account\":\"alice\"}", key_id);
    call(&r, "GenerateDataKey", body_with_recipient(members));
    assert_string_equal(r.type, "");
    assert_null(nw_json_get(r.json, "Plaintext")); /* never with a Recipient */
    assert_int_equal(open_for_recipient(r.json, dk, sizeof dk), 32);
    snprintf(blob_b64, sizeof blob_b64, "%s", nw_json_get(r.json, "CiphertextBlob")->valuestring);
    cJSON_Delete(r.json);

    snprintf(members, sizeof members, "\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"account\":\"alice\"}",
             blob_b64);
    call(&r, "Decrypt", body_with_recipient(members));
    assert_string_equal(r.type, "");
    assert_null(nw_json_get(r.json, "Plaintext"));
    assert_int_equal(open_for_recipient(r.json, dk2, sizeof dk2), 32);
    assert_memory_equal(dk, dk2, 32);
    cJSON_Delete(r.json);

    /* the same blob without a Recipient (default policy): the same plaintext */
    snprintf(members, sizeof members, "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"account\":\"alice\"}}",
             blob_b64);
    call(&r, "Decrypt", members);
    n = b64_member(r.json, "Plaintext", plain, sizeof plain);
    assert_int_equal(n, 32);
    assert_memory_equal(plain, dk, 32);
    cJSON_Delete(r.json);
}

static void generate_random_for_recipient(void **state)
{
    uint8_t out[128];
    struct reply r;

    (void)state;
    call(&r, "GenerateRandom", body_with_recipient("\"NumberOfBytes\":100"));
    assert_string_equal(r.type, "");
    assert_null(nw_json_get(r.json, "Plaintext"));
    assert_int_equal(open_for_recipient(r.json, out, sizeof out), 100);
    cJSON_Delete(r.json);
}

static void put_policy(const char *pcr0_hex)
{
    static char body[8192];
    struct reply r;

    /* admin to the account root; data keys only to an attested PCR0 */
    snprintf(body, sizeof body,
             "{\"KeyId\":\"%s\",\"PolicyName\":\"default\",\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\","
             "\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":\\\"111122223333\\\"},"
             "\\\"NotAction\\\":[\\\"kms:Decrypt\\\",\\\"kms:GenerateDataKey\\\"],\\\"Resource\\\":\\\"*\\\"},"
             "{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":\\\"111122223333\\\"},"
             "\\\"Action\\\":[\\\"kms:Decrypt\\\",\\\"kms:GenerateDataKey\\\"],\\\"Resource\\\":\\\"*\\\","
             "\\\"Condition\\\":{\\\"StringEqualsIgnoreCase\\\":{\\\"kms:RecipientAttestation:ImageSha384\\\":"
             "\\\"%s\\\"}}}]}\"}",
             key_id, pcr0_hex);
    call(&r, "PutKeyPolicy", body);
    if (r.type[0])
        fail_msg("PutKeyPolicy: %s %s", r.type, r.message);
    cJSON_Delete(r.json);
}

static void pcr0_pinned_policy(void **state)
{
    uint8_t pcr0[64], dk[64];
    size_t len = 0;
    int locked = 0;
    char hex[2 * 64 + 1], members[256];
    struct reply r;

    (void)state;
    assert_int_equal(nw_nsm_describe_pcr(nsm, 0, pcr0, sizeof pcr0, &len, &locked, NULL), NW_OK);
    assert_int_equal(len, 48);
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02X", pcr0[i]); /* upper case: compared without regard to case */
    put_policy(hex);
    snprintf(members, sizeof members, "\"KeyId\":\"%s\",\"NumberOfBytes\":32", key_id);
    call(&r, "GenerateDataKey", body_with_recipient(members));
    if (r.type[0])
        fail_msg("pinned to this image: %s %s", r.type, r.message);
    assert_int_equal(open_for_recipient(r.json, dk, sizeof dk), 32);
    cJSON_Delete(r.json);
    /* without a Recipient the conditioned Allow does not apply */
    snprintf(members, sizeof members, "{\"KeyId\":\"%s\",\"NumberOfBytes\":32}", key_id);
    expect_error("GenerateDataKey", members, "AccessDeniedException");
    /* a different image (rebuilt enclave): refused */
    hex[0] = hex[0] == '0' ? '1' : '0';
    put_policy(hex);
    snprintf(members, sizeof members, "\"KeyId\":\"%s\",\"NumberOfBytes\":32", key_id);
    expect_error("GenerateDataKey", body_with_recipient(members), "AccessDeniedException");
    /* restore everything to the account root */
    {
        char body[512];
        struct reply rr;
        snprintf(body, sizeof body,
                 "{\"KeyId\":\"%s\",\"PolicyName\":\"default\",\"Policy\":\"{\\\"Statement\\\":{\\\"Effect\\\":"
                 "\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":\\\"111122223333\\\"},\\\"Action\\\":\\\"kms:*\\\","
                 "\\\"Resource\\\":\\\"*\\\"}}\"}",
                 key_id);
        call(&rr, "PutKeyPolicy", body);
        assert_string_equal(rr.type, "");
        cJSON_Delete(rr.json);
    }
}

static void invalid_documents(void **state)
{
    char members[256], saved[sizeof doc_b64];
    int64_t real_now = now_ms;

    (void)state;
    snprintf(members, sizeof members, "\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\"", key_id);
    /* stale: six minutes after it was made */
    now_ms = real_now + 6 * 60 * 1000;
    expect_error("GenerateDataKey", body_with_recipient(members), "ValidationException");
    now_ms = real_now;
    memcpy(saved, doc_b64, sizeof saved);
    /* a changed byte in the signed payload */
    doc_b64[400] = doc_b64[400] == 'A' ? 'B' : 'A';
    expect_error("GenerateDataKey", body_with_recipient(members), "ValidationException");
    /* not a document at all, and not base64 */
    snprintf(doc_b64, sizeof doc_b64, "aGVsbG8=");
    expect_error("GenerateDataKey", body_with_recipient(members), "ValidationException");
    snprintf(doc_b64, sizeof doc_b64, "not base64!");
    expect_error("GenerateDataKey", body_with_recipient(members), "SerializationException");
    memcpy(doc_b64, saved, sizeof saved);
    /* another algorithm, or no document */
    snprintf(members, sizeof members,
             "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\",\"Recipient\":{\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_1\","
             "\"AttestationDocument\":\"aGVsbG8=\"}}",
             key_id);
    expect_error("GenerateDataKey", members, "ValidationException");
    snprintf(members, sizeof members, "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\",\"Recipient\":{}}", key_id);
    expect_error("GenerateDataKey", members, "ValidationException");
    /* GenerateDataKeyWithoutPlaintext takes no Recipient */
    snprintf(members, sizeof members, "\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\"", key_id);
    expect_error("GenerateDataKeyWithoutPlaintext", body_with_recipient(members), "ValidationException");
}

static void foreign_root_refused(void **state)
{
    char members[256];

    (void)state;
    /* a service that trusts only the AWS root refuses development documents */
    free(svc->dev_root_file);
    svc->dev_root_file = NULL;
    svc->trust_aws_root = 1;
    snprintf(members, sizeof members, "\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\"", key_id);
    expect_error("GenerateDataKey", body_with_recipient(members), "ValidationException");
    svc->trust_aws_root = 0;
    expect_error("GenerateDataKey", body_with_recipient(members), "ValidationException"); /* no root at all */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generate_data_key_then_decrypt),
        cmocka_unit_test(generate_random_for_recipient),
        cmocka_unit_test(pcr0_pinned_policy),
        cmocka_unit_test(invalid_documents),
        cmocka_unit_test(foreign_root_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
