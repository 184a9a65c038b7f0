/*
 * test_kms_client.c - the enclave's KMS client.
 *
 * Pure parts: the GenerateDataKey and Decrypt bodies (exact bytes, JSON
 * escaping, KMS's limits), and the reply reader: success fields, a reply
 * carrying Plaintext refused, AWS errors mapped to "Type: message" with the
 * namespace stripped (KMS_DENIED for 4xx, KMS_UNAVAILABLE for 5xx and
 * throttling), malformed replies refused.
 *
 * The whole client, in process, against a fake KMS on loopback TLS
 * (tls_test_server.h) with the emulated NSM: the fake verifies the SigV4
 * signature (nw_sigv4_verify), the Host, the target and the attestation
 * document (nw_attestation_verify against the development root), takes the
 * RSA public key from the document and answers with a CiphertextForRecipient
 * made by nw_cms_seal.  The real end to end against nitrowallet-kms is
 * tests/suites/kms_e2e.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <time.h>

#include "nitrowallet/attestation.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/cms.h"
#include "nitrowallet/json.h"
#include "nitrowallet/kms_client.h"
#include "nitrowallet/kms_json.h"
#include "tls_test_server.h"

static const uint8_t doc3[3] = {1, 2, 3}; /* "AQID" */

/* --- request bodies ------------------------------------------------------------ */

static void expect_body(const struct nw_buf *b, const char *want)
{
    cJSON *root;

    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(b->data, want, b->len);
    /* And it is strict JSON. */
    assert_int_equal(nw_json_parse(&root, (const char *)b->data, b->len, 1 << 20, NULL), NW_OK);
    cJSON_Delete(root);
}

static void test_generate_data_key_body(void **state)
{
    struct nw_kms_kv ctx[2] = {{"account", "treasury"}, {"q\"uo\\te", "tab\there\x01 \xc3\xa9"}};
    struct nw_buf b;
    (void)state;

    nw_buf_init(&b, NW_KMS_REQUEST_MAX);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "alias/wallet", NULL, 0, doc3, 3, NULL), NW_OK);
    expect_body(&b, "{\"KeyId\":\"alias/wallet\",\"KeySpec\":\"AES_256\",\"Recipient\":{\"KeyEncryptionAlgorithm\":"
                    "\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":\"AQID\"}}");
    b.len = 0;
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", ctx, 2, doc3, 3, NULL), NW_OK);
    expect_body(&b, "{\"KeyId\":\"k\",\"KeySpec\":\"AES_256\",\"EncryptionContext\":{\"account\":\"treasury\","
                    "\"q\\\"uo\\\\te\":\"tab\\u0009here\\u0001 \xc3\xa9\"},\"Recipient\":{\"KeyEncryptionAlgorithm\":"
                    "\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":\"AQID\"}}");
    nw_buf_free(&b);
}

static void test_decrypt_body(void **state)
{
    struct nw_kms_kv ctx[1] = {{"a", "b"}};
    static const uint8_t blob[4] = {0xde, 0xad, 0xbe, 0xef};
    struct nw_buf b;
    (void)state;

    nw_buf_init(&b, NW_KMS_REQUEST_MAX);
    assert_int_equal(nw_kms_json_decrypt(&b, NULL, blob, 4, NULL, 0, doc3, 3, NULL), NW_OK);
    expect_body(&b, "{\"CiphertextBlob\":\"3q2+7w==\",\"Recipient\":{\"KeyEncryptionAlgorithm\":"
                    "\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":\"AQID\"}}");
    b.len = 0;
    assert_int_equal(nw_kms_json_decrypt(&b, "arn:aws:kms:us-east-1:111122223333:key/k", blob, 4, ctx, 1, doc3, 3,
                                         NULL),
                     NW_OK);
    expect_body(&b, "{\"CiphertextBlob\":\"3q2+7w==\",\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/k\","
                    "\"EncryptionContext\":{\"a\":\"b\"},\"Recipient\":{\"KeyEncryptionAlgorithm\":"
                    "\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":\"AQID\"}}");
    nw_buf_free(&b);
}

static void test_request_inputs_validated(void **state)
{
    static uint8_t blob[NW_KMS_BLOB_MAX + 1];
    static char long_id[NW_KMS_KEY_ID_MAX + 2];
    struct nw_kms_kv dup[2] = {{"a", "1"}, {"a", "2"}};
    struct nw_kms_kv bad_utf8[1] = {{"a", "\xc3\x28"}};
    struct nw_kms_kv empty_key[1] = {{"", "v"}};
    struct nw_kms_kv many[NW_KMS_MAX_CONTEXT + 1];
    struct nw_buf b;
    struct nw_error err = {0};
    unsigned i;
    (void)state;

    for (i = 0; i <= NW_KMS_MAX_CONTEXT; i++)
        many[i].key = many[i].value = "x";
    memset(long_id, 'k', sizeof long_id - 1);
    nw_buf_init(&b, NW_KMS_REQUEST_MAX);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "", NULL, 0, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, NULL, NULL, 0, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, long_id, NULL, 0, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "\xff", NULL, 0, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", dup, 2, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "repeated"));
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", bad_utf8, 1, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", empty_key, 1, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", many, NW_KMS_MAX_CONTEXT + 1, doc3, 3, &err),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", NULL, 0, doc3, 0, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_decrypt(&b, NULL, blob, 0, NULL, 0, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_json_decrypt(&b, NULL, blob, sizeof blob, NULL, 0, doc3, 3, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(b.len, 0);
    /* A buffer too small is an error, not a truncated body. */
    nw_buf_init(&b, 20);
    assert_int_equal(nw_kms_json_generate_data_key(&b, "k", NULL, 0, doc3, 3, &err), NW_ERR_TOO_LARGE);
    nw_buf_free(&b);
}

/* --- replies -------------------------------------------------------------------------- */

static enum nw_err reply(int status, const char *hdr, const char *body, int want_blob, struct nw_buf *cfr,
                         struct nw_buf *blob, struct nw_error *err)
{
    nw_buf_init(cfr, NW_CMS_MAX);
    nw_buf_init(blob, NW_KMS_BLOB_MAX);
    return nw_kms_json_reply(cfr, want_blob ? blob : NULL, status, hdr, (const uint8_t *)body, strlen(body), err);
}

static void expect_reply_error(int status, const char *hdr, const char *body, enum nw_err code, const char *msg)
{
    struct nw_buf cfr, blob;
    struct nw_error err = {0};

    if (reply(status, hdr, body, 1, &cfr, &blob, &err) != code)
        fail_msg("%.60s: got %s (%s), want %s", body, nw_err_name(err.code), err.msg, nw_err_name(code));
    if (msg != NULL && strcmp(err.msg, msg) != 0)
        fail_msg("message \"%s\", want \"%s\"", err.msg, msg);
    assert_int_equal(cfr.len, 0);
    assert_int_equal(blob.len, 0);
    nw_buf_free(&cfr);
    nw_buf_free(&blob);
}

static void test_reply_success(void **state)
{
    struct nw_buf cfr, blob;
    struct nw_error err = {0};
    (void)state;

    assert_int_equal(reply(200, NULL,
                           "{\"KeyId\":\"arn:aws:kms:us-east-1:1:key/k\",\"CiphertextBlob\":\"3q2+7w==\","
                           "\"CiphertextForRecipient\":\"AQID\",\"KeyMaterialId\":\"future field\"}",
                           1, &cfr, &blob, &err),
                     NW_OK);
    assert_int_equal(cfr.len, 3);
    assert_memory_equal(cfr.data, doc3, 3);
    assert_int_equal(blob.len, 4);
    nw_buf_free(&cfr);
    nw_buf_free(&blob);
    /* Decrypt: no CiphertextBlob wanted. */
    assert_int_equal(reply(200, NULL, "{\"CiphertextForRecipient\":\"AQID\",\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}",
                           0, &cfr, &blob, &err),
                     NW_OK);
    nw_buf_free(&cfr);
}

static void test_reply_with_plaintext_refused(void **state)
{
    (void)state;
    expect_reply_error(200, NULL,
                       "{\"CiphertextBlob\":\"3q2+7w==\",\"CiphertextForRecipient\":\"AQID\",\"Plaintext\":"
                       "\"c2VjcmV0IGRhdGEga2V5IGJ5dGVzIDAxMjM0NTY3OA==\"}",
                       NW_ERR_KMS_UNAVAILABLE,
                       "kms: reply carries Plaintext although a Recipient was sent: refused");
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":\"AQID\",\"Plaintext\":null}", NW_ERR_KMS_UNAVAILABLE,
                       NULL);
}

static void test_reply_errors_mapped(void **state)
{
    (void)state;
    expect_reply_error(400, NULL,
                       "{\"__type\":\"com.amazonaws.kms#AccessDeniedException\",\"message\":\"User: x is not "
                       "authorized to perform: kms:GenerateDataKey\"}",
                       NW_ERR_KMS_DENIED,
                       "AccessDeniedException: User: x is not authorized to perform: kms:GenerateDataKey");
    expect_reply_error(400, NULL, "{\"__type\":\"AccessDeniedException\",\"Message\":\"PCR0 mismatch\"}",
                       NW_ERR_KMS_DENIED, "AccessDeniedException: PCR0 mismatch");
    expect_reply_error(400, NULL, "{\"__type\":\"NotFoundException\"}", NW_ERR_KMS_DENIED, "NotFoundException");
    expect_reply_error(400, "InvalidCiphertextException:http://internal.amazon.com/coral/", "", NW_ERR_KMS_DENIED,
                       "InvalidCiphertextException");
    expect_reply_error(400, NULL, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
                       NW_ERR_KMS_UNAVAILABLE, "ThrottlingException: Rate exceeded");
    expect_reply_error(500, NULL, "{\"__type\":\"KMSInternalException\",\"message\":\"oops\"}",
                       NW_ERR_KMS_UNAVAILABLE, "KMSInternalException: oops");
    /* Control bytes in KMS's message are not passed on; an escaped NUL is
     * not strict JSON, so such a body is not KMS's answer at all. */
    expect_reply_error(400, NULL, "{\"__type\":\"X\",\"message\":\"a\\nb\\u0000c\"}", NW_ERR_KMS_UNAVAILABLE,
                       "kms: HTTP 400 without an AWS error type");
    expect_reply_error(400, NULL, "{\"__type\":\"X\",\"message\":\"a\\nb\\u00e9\"}", NW_ERR_KMS_DENIED,
                       "X: a?b??");
    /* No AWS error type: not KMS's answer. */
    expect_reply_error(403, NULL, "<html>Forbidden</html>", NW_ERR_KMS_UNAVAILABLE,
                       "kms: HTTP 403 without an AWS error type");
    expect_reply_error(502, NULL, "", NW_ERR_KMS_UNAVAILABLE, "kms: HTTP 502 without an AWS error type");
    expect_reply_error(400, NULL, "{\"__type\":\"bad type!\",\"message\":\"m\"}", NW_ERR_KMS_UNAVAILABLE, NULL);
    expect_reply_error(201, NULL, "{}", NW_ERR_KMS_UNAVAILABLE, NULL);
}

static void test_reply_malformed_refused(void **state)
{
    static char big[NW_CMS_MAX * 2];
    size_t n;
    (void)state;

    expect_reply_error(200, NULL, "", NW_ERR_KMS_UNAVAILABLE, NULL);
    expect_reply_error(200, NULL, "not json", NW_ERR_KMS_UNAVAILABLE, NULL);
    expect_reply_error(200, NULL, "[]", NW_ERR_KMS_UNAVAILABLE, "kms: reply is not a JSON object");
    expect_reply_error(200, NULL, "{\"CiphertextBlob\":\"3q2+7w==\"}", NW_ERR_KMS_UNAVAILABLE,
                       "kms: reply without CiphertextForRecipient");
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":\"AQID\"}", NW_ERR_KMS_UNAVAILABLE,
                       "kms: reply without CiphertextBlob");
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":\"AQI\",\"CiphertextBlob\":\"3q2+7w==\"}",
                       NW_ERR_KMS_UNAVAILABLE, "kms: CiphertextForRecipient is not canonical base64");
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":\"AQIE\\n\",\"CiphertextBlob\":\"3q2+7w==\"}",
                       NW_ERR_KMS_UNAVAILABLE, NULL);
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":\"\",\"CiphertextBlob\":\"3q2+7w==\"}",
                       NW_ERR_KMS_UNAVAILABLE, NULL);
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":1,\"CiphertextBlob\":\"3q2+7w==\"}",
                       NW_ERR_KMS_UNAVAILABLE, NULL);
    expect_reply_error(200, NULL, "{\"CiphertextForRecipient\":\"AQID\",\"CiphertextForRecipient\":\"AQID\","
                                  "\"CiphertextBlob\":\"3q2+7w==\"}",
                       NW_ERR_KMS_UNAVAILABLE, NULL);
    /* Larger than a CMS message may be. */
    n = snprintf(big, sizeof big, "{\"CiphertextBlob\":\"3q2+7w==\",\"CiphertextForRecipient\":\"");
    memset(big + n, 'A', NW_CMS_MAX / 3 * 4 + 8);
    memcpy(big + n + NW_CMS_MAX / 3 * 4 + 8, "\"}", 3);
    expect_reply_error(200, NULL, big, NW_ERR_KMS_UNAVAILABLE, NULL);
}

/* --- the client against a fake KMS ------------------------------------------------------- */

#define AKID "AKIDNITROWALLETTEST"
#define SECRET "test-secret-never-in-messages"
#define TOKEN "session-token-value"

enum fake_mode { FAKE_KMS, FAKE_DENY, FAKE_PLAINTEXT, FAKE_WRONG_RECIPIENT };

struct fake {
    enum fake_mode mode;
    struct nw_attest_roots *roots;
    uint8_t data_key[32];
    char host[128];
    uint8_t last_spki_hash[32];
    char problem[256]; /* first thing the fake found wrong, "" if none */
};

static void problem(struct fake *f, const char *what, const char *detail)
{
    if (f->problem[0] == '\0')
        snprintf(f->problem, sizeof f->problem, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

static enum nw_err lookup(void *ctx, const char *akid, char *secret, size_t cap)
{
    (void)ctx;
    if (strcmp(akid, AKID) != 0 || cap <= strlen(SECRET))
        return NW_ERR_POLICY_DENIED;
    memcpy(secret, SECRET, strlen(SECRET) + 1);
    return NW_OK;
}

/* Split the head into headers; 0 if malformed. */
static size_t headers_of(const char *head, struct nw_http_header *h, size_t cap, const char **value_of_host,
                         const char **target)
{
    const char *p = strstr(head, "\r\n"), *end;
    size_t n = 0;

    *value_of_host = *target = NULL;
    while (p != NULL && n < cap) {
        const char *colon;
        p += 2;
        end = strstr(p, "\r\n");
        if (end == NULL)
            end = p + strlen(p); /* the last line (its LF was cut) */
        if (end == p || (end - p == 1 && *p == '\r'))
            break;
        colon = memchr(p, ':', (size_t)(end - p));
        if (colon == NULL)
            return 0;
        h[n].name = p;
        h[n].name_len = (size_t)(colon - p);
        h[n].value = colon + 2;
        h[n].value_len = (size_t)(end - colon - 2);
        if (h[n].name_len == 4 && strncasecmp(p, "host", 4) == 0)
            *value_of_host = h[n].value;
        if (h[n].name_len == 12 && strncasecmp(p, "x-amz-target", 12) == 0)
            *target = h[n].value;
        n++;
        p = *end ? end : NULL;
    }
    return n;
}

/* Verify the signature, Host and document; the RSA key's SPKI out. */
static int fake_check(struct fake *f, const char *head, const uint8_t *body, size_t len, cJSON **root,
                      uint8_t *doc, size_t *doc_len, struct nw_attestation *att, const char **target)
{
    struct nw_http_header h[32];
    const char *host;
    size_t n = headers_of(head, h, 32, &host, target);
    struct nw_sigv4_request req = {"POST", "/", "", h, n, body, len};
    struct nw_sigv4_verified v;
    enum nw_sigv4_failure why;
    struct nw_attest_expect x = {0};
    const cJSON *rcp, *d;
    struct nw_error err = {0};

    if (n == 0 || host == NULL || strncmp(host, f->host, strlen(f->host)) != 0 || *target == NULL)
        return problem(f, "headers or Host", f->host), 0;
    if (nw_sigv4_verify(&v, &why, &req, "kms", lookup, NULL, time(NULL), 300, &err) != NW_OK)
        return problem(f, "SigV4", err.msg), 0;
    if (strstr(head, "\r\nX-Amz-Security-Token: " TOKEN "\r\n") == NULL ||
        strstr(head, "\r\nContent-Type: application/x-amz-json-1.1\r\n") == NULL)
        return problem(f, "token or content type", NULL), 0;
    if (nw_json_parse(root, (const char *)body, len, 1 << 20, &err) != NW_OK)
        return problem(f, "body", err.msg), 0;
    rcp = nw_json_get(*root, "Recipient");
    d = nw_json_get(rcp, "AttestationDocument");
    if (!cJSON_IsString(nw_json_get(rcp, "KeyEncryptionAlgorithm")) ||
        strcmp(nw_json_get(rcp, "KeyEncryptionAlgorithm")->valuestring, "RSAES_OAEP_SHA_256") != 0 ||
        !cJSON_IsString(d) ||
        nw_base64_decode(doc, NW_ATT_MAX_DOC, doc_len, d->valuestring, strlen(d->valuestring), &err) != NW_OK)
        return problem(f, "Recipient", NULL), 0;
    if (nw_attestation_verify(att, doc, *doc_len, f->roots, &x, &err) != NW_OK || att->public_key == NULL)
        return problem(f, "attestation", err.msg), 0;
    EVP_Digest(att->public_key, att->public_key_len, f->last_spki_hash, NULL, EVP_sha256(), NULL);
    return 1;
}

static void fake_reply(struct fake *f, const struct nw_attestation *att, int with_blob, struct nw_buf *resp)
{
    struct nw_rsa_recipient *other = NULL;
    const uint8_t *spki = att->public_key;
    size_t spki_len = att->public_key_len;
    struct nw_buf cms;
    static char body[32768], b64[24000];
    int n;

    nw_buf_init(&cms, NW_CMS_MAX);
    if (f->mode == FAKE_WRONG_RECIPIENT) {
        if (nw_rsa_recipient_generate(&other, NULL) != NW_OK)
            abort();
        nw_rsa_recipient_spki(other, &spki, &spki_len);
    }
    if (nw_cms_seal(&cms, spki, spki_len, f->data_key, sizeof f->data_key, NULL) != NW_OK ||
        nw_base64_encode(b64, sizeof b64, cms.data, cms.len) != NW_OK)
        abort();
    n = snprintf(body, sizeof body, "{\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/k\",%s%s"
                                    "\"CiphertextForRecipient\":\"%s\"}",
                 with_blob ? "\"CiphertextBlob\":\"YmxvYi1mb3ItdGVzdA==\"," : "",
                 f->mode == FAKE_PLAINTEXT ? "\"Plaintext\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"," : "",
                 b64);
    if (n <= 0 || (size_t)n >= sizeof body)
        abort();
    ts_respond(resp, 200, NULL, body);
    nw_buf_free(&cms);
    nw_rsa_recipient_free(other);
}

static void fake_handler(void *arg, const char *head, size_t head_len, const uint8_t *body, size_t len,
                         struct nw_buf *resp, int *close_after)
{
    struct fake *f = arg;
    static uint8_t doc[NW_ATT_MAX_DOC];
    size_t doc_len;
    struct nw_attestation att;
    cJSON *root = NULL;
    const char *target;
    (void)head_len, (void)close_after;

    if (!fake_check(f, head, body, len, &root, doc, &doc_len, &att, &target)) {
        ts_respond(resp, 400, NULL, "{\"__type\":\"IncompleteSignatureException\",\"message\":\"fake refused\"}");
    } else if (f->mode == FAKE_DENY) {
        ts_respond(resp, 400, NULL,
                   "{\"__type\":\"com.amazonaws.kms#AccessDeniedException\",\"message\":\"The attestation "
                   "document does not satisfy the key policy (PCR0)\"}");
    } else if (strncmp(target, "TrentService.GenerateDataKey\r", 29) == 0) {
        const cJSON *spec = nw_json_get(root, "KeySpec"), *ctx = nw_json_get(root, "EncryptionContext");
        if (!cJSON_IsString(spec) || strcmp(spec->valuestring, "AES_256") != 0 ||
            !cJSON_IsString(nw_json_get(ctx, "account")))
            problem(f, "GenerateDataKey body", NULL);
        fake_reply(f, &att, 1, resp);
    } else if (strncmp(target, "TrentService.Decrypt\r", 21) == 0) {
        const cJSON *blob = nw_json_get(root, "CiphertextBlob");
        if (!cJSON_IsString(blob) || strcmp(blob->valuestring, "YmxvYi1mb3ItdGVzdA==") != 0)
            problem(f, "Decrypt body", NULL);
        fake_reply(f, &att, 0, resp);
    } else {
        problem(f, "target", target);
        ts_respond(resp, 400, NULL, "{\"__type\":\"UnknownOperationException\"}");
    }
    cJSON_Delete(root);
}

struct kfix {
    char dir[64];
    struct nw_nsm *nsm;
    struct ts_pki pki;
    struct ts_server srv;
    struct fake fake;
    char connect[64];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    static struct kfix k;
    char path[128], pem[8192];
    size_t n;
    FILE *f;

    memset(&k, 0, sizeof k);
    snprintf(k.dir, sizeof k.dir, "/tmp/nw-test-kms-XXXXXX");
    assert_non_null(mkdtemp(k.dir));
    assert_int_equal(nw_nsm_open_emulated(&k.nsm, k.dir, NULL), NW_OK);
    snprintf(path, sizeof path, "%s/%s", k.dir, NW_NSM_DEV_ROOT_FILE);
    assert_non_null(f = fopen(path, "r"));
    n = fread(pem, 1, sizeof pem, f);
    fclose(f);
    assert_int_equal(nw_attest_roots_from_pem(&k.fake.roots, pem, n, NULL), NW_OK);
    assert_int_equal(nw_random(k.fake.data_key, 32), NW_OK);
    assert_true(ts_pki_make(&k.pki, "fake KMS CA",
                            "DNS:localhost,DNS:kms.us-east-1.amazonaws.com,DNS:kms.cn-north-1.amazonaws.com.cn"));
    assert_true(ts_start(&k.srv, &k.pki, NULL, fake_handler, &k.fake));
    snprintf(k.connect, sizeof k.connect, "tcp:127.0.0.1:%d", k.srv.port);
    *state = &k;
    return 0;
}

static int teardown(void **state)
{
    struct kfix *k = *state;
    ts_stop(&k->srv);
    ts_pki_free(&k->pki);
    nw_attest_roots_free(k->fake.roots);
    nw_nsm_close(k->nsm);
    nftw(k->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static const struct nw_aws_credentials creds = {AKID, SECRET, TOKEN};
static const struct nw_kms_kv context[1] = {{"account", "treasury"}};

static struct nw_kms_client *kms(struct kfix *k, const char *region, const char *endpoint)
{
    struct nw_kms_config cfg = {region, endpoint, k->connect, k->pki.ca_file};
    struct nw_kms_client *c = NULL;
    struct nw_error err = {0};

    if (nw_kms_client_new(&c, &cfg, k->nsm, &err) != NW_OK)
        fail_msg("client: %s", err.msg);
    snprintf(k->fake.host, sizeof k->fake.host, "%s",
             endpoint ? endpoint : strcmp(region, "cn-north-1") == 0 ? "kms.cn-north-1.amazonaws.com.cn"
                                                                      : "kms.us-east-1.amazonaws.com");
    k->fake.problem[0] = '\0';
    return c;
}

static void no_secrets_in(const struct nw_error *err)
{
    assert_null(strstr(err->msg, SECRET));
    assert_null(strstr(err->msg, TOKEN));
}

static void test_generate_then_decrypt(void **state)
{
    struct kfix *k = *state;
    struct nw_kms_client *c = kms(k, "us-east-1", "localhost");
    struct nw_secret key, again;
    struct nw_buf blob;
    struct nw_error err = {0};
    uint8_t first_spki[32];
    struct nw_kms_stats before, after;

    k->fake.mode = FAKE_KMS;
    nw_buf_init(&blob, NW_KMS_BLOB_MAX);
    nw_kms_client_stats(&before);
    if (nw_kms_generate_data_key(c, &creds, "alias/wallet", context, 1, &key, &blob, &err) != NW_OK)
        fail_msg("GenerateDataKey: %s (fake: %s)", err.msg, k->fake.problem);
    assert_string_equal(k->fake.problem, "");
    assert_int_equal(key.len, 32);
    assert_memory_equal(key.data, k->fake.data_key, 32);
    assert_int_equal(blob.len, 13);
    assert_memory_equal(blob.data, "blob-for-test", 13);
    memcpy(first_spki, k->fake.last_spki_hash, 32);
    if (nw_kms_decrypt(c, &creds, NULL, blob.data, blob.len, context, 1, &again, &err) != NW_OK)
        fail_msg("Decrypt: %s (fake: %s)", err.msg, k->fake.problem);
    assert_string_equal(k->fake.problem, "");
    assert_int_equal(again.len, 32);
    assert_memory_equal(again.data, k->fake.data_key, 32);
    /* The recipient key was reused (bounded reuse, see kms_client.c), and
     * so was its attestation document: one NSM call for the two. */
    assert_memory_equal(first_spki, k->fake.last_spki_hash, 32);
    nw_kms_client_stats(&after);
    assert_int_equal(after.attestations - before.attestations, 1);
    assert_int_equal(after.generate_data_key - before.generate_data_key, 1);
    assert_int_equal(after.decrypt - before.decrypt, 1);
    nw_secret_free(&key);
    nw_secret_free(&again);
    nw_buf_free(&blob);
    nw_kms_client_free(c);
}

static void test_default_endpoints(void **state)
{
    struct kfix *k = *state;
    const char *regions[2] = {"us-east-1", "cn-north-1"};
    int i;

    k->fake.mode = FAKE_KMS;
    for (i = 0; i < 2; i++) {
        struct nw_kms_client *c = kms(k, regions[i], NULL); /* TLS name and Host: the default endpoint */
        struct nw_secret key;
        struct nw_buf blob;
        struct nw_error err = {0};
        nw_buf_init(&blob, NW_KMS_BLOB_MAX);
        if (nw_kms_generate_data_key(c, &creds, "k", context, 1, &key, &blob, &err) != NW_OK)
            fail_msg("%s: %s (fake: %s)", regions[i], err.msg, k->fake.problem);
        assert_string_equal(k->fake.problem, "");
        nw_secret_free(&key);
        nw_buf_free(&blob);
        nw_kms_client_free(c);
    }
}

static void test_access_denied_carries_kms_message(void **state)
{
    struct kfix *k = *state;
    struct nw_kms_client *c = kms(k, "us-east-1", "localhost");
    struct nw_secret key = {(uint8_t *)1, 1, 1};
    struct nw_buf blob;
    struct nw_error err = {0};

    k->fake.mode = FAKE_DENY;
    nw_buf_init(&blob, NW_KMS_BLOB_MAX);
    assert_int_equal(nw_kms_generate_data_key(c, &creds, "k", context, 1, &key, &blob, &err), NW_ERR_KMS_DENIED);
    assert_string_equal(err.msg, "AccessDeniedException: The attestation document does not satisfy the key "
                                 "policy (PCR0)");
    assert_null(key.data);
    assert_int_equal(blob.len, 0);
    assert_int_equal(nw_kms_decrypt(c, &creds, "k", doc3, 3, NULL, 0, &key, &err), NW_ERR_KMS_DENIED);
    assert_null(key.data);
    /* Wrong credentials: the fake refuses the signature, as KMS would. */
    {
        struct nw_aws_credentials wrong = {AKID, "not-the-secret", TOKEN};
        k->fake.mode = FAKE_KMS;
        assert_int_equal(nw_kms_decrypt(c, &wrong, NULL, doc3, 3, NULL, 0, &key, &err), NW_ERR_KMS_DENIED);
        assert_non_null(strstr(err.msg, "IncompleteSignatureException"));
        assert_non_null(strstr(k->fake.problem, "SigV4"));
        assert_null(strstr(err.msg, "not-the-secret"));
    }
    no_secrets_in(&err);
    nw_kms_client_free(c);
}

static void test_plaintext_reply_and_wrong_recipient_refused(void **state)
{
    struct kfix *k = *state;
    struct nw_kms_client *c = kms(k, "us-east-1", "localhost");
    struct nw_secret key;
    struct nw_buf blob;
    struct nw_error err = {0};
    uint8_t before[32];

    nw_buf_init(&blob, NW_KMS_BLOB_MAX);
    k->fake.mode = FAKE_PLAINTEXT;
    assert_int_equal(nw_kms_generate_data_key(c, &creds, "k", context, 1, &key, &blob, &err),
                     NW_ERR_KMS_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "Plaintext"));
    assert_null(key.data);
    assert_int_equal(blob.len, 0);
    /* A reply addressed to another key: refused, and the key is replaced. */
    k->fake.mode = FAKE_WRONG_RECIPIENT;
    memcpy(before, k->fake.last_spki_hash, 32);
    assert_int_equal(nw_kms_generate_data_key(c, &creds, "k", context, 1, &key, &blob, &err),
                     NW_ERR_KMS_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "addressed to another key"));
    assert_memory_equal(before, k->fake.last_spki_hash, 32);
    k->fake.mode = FAKE_KMS;
    assert_int_equal(nw_kms_generate_data_key(c, &creds, "k", context, 1, &key, &blob, &err), NW_OK);
    assert_memory_not_equal(before, k->fake.last_spki_hash, 32);
    nw_secret_free(&key);
    nw_buf_free(&blob);
    nw_kms_client_free(c);
}

static void test_unreachable_is_unavailable_not_denied(void **state)
{
    struct kfix *k = *state;
    struct nw_kms_config cfg = {"us-east-1", "localhost", "unix:/nonexistent/kms.sock", k->pki.ca_file};
    struct nw_kms_config wrong_ca = {"us-east-1", "localhost", k->connect, NULL};
    struct nw_kms_client *c;
    struct nw_secret key;
    struct nw_error err = {0};

    assert_int_equal(nw_kms_client_new(&c, &cfg, k->nsm, &err), NW_OK);
    assert_int_equal(nw_kms_decrypt(c, &creds, NULL, doc3, 3, NULL, 0, &key, &err), NW_ERR_KMS_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "kms Decrypt: transport: connect unix:"));
    nw_kms_client_free(c);
    assert_int_equal(nw_kms_client_new(&c, &wrong_ca, k->nsm, &err), NW_OK);
    assert_int_equal(nw_kms_decrypt(c, &creds, NULL, doc3, 3, NULL, 0, &key, &err), NW_ERR_KMS_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "certificate verification failed"));
    nw_kms_client_free(c);
    /* Configuration errors. */
    cfg.region = "US EAST";
    assert_int_equal(nw_kms_client_new(&c, &cfg, k->nsm, &err), NW_ERR_BAD_REQUEST);
    cfg.region = "us-east-1";
    assert_int_equal(nw_kms_client_new(&c, &cfg, NULL, &err), NW_ERR_BAD_REQUEST);
    cfg.endpoint = "bad endpoint";
    assert_int_equal(nw_kms_client_new(&c, &cfg, k->nsm, &err), NW_ERR_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_generate_data_key_body),
        cmocka_unit_test(test_decrypt_body),
        cmocka_unit_test(test_request_inputs_validated),
        cmocka_unit_test(test_reply_success),
        cmocka_unit_test(test_reply_with_plaintext_refused),
        cmocka_unit_test(test_reply_errors_mapped),
        cmocka_unit_test(test_reply_malformed_refused),
    };
    const struct CMUnitTest client[] = {
        cmocka_unit_test(test_generate_then_decrypt),
        cmocka_unit_test(test_default_endpoints),
        cmocka_unit_test(test_access_denied_carries_kms_message),
        cmocka_unit_test(test_plaintext_reply_and_wrong_recipient_refused),
        cmocka_unit_test(test_unreachable_is_unavailable_not_denied),
    };
    int failed = cmocka_run_group_tests(pure, NULL, NULL);
    return failed + cmocka_run_group_tests(client, setup, teardown);
}
