/*
 * params.c - parsers for the enclave operations' shared params (account,
 * policy, credentials; docs/protocol.md) and the derived seal AAD and KMS
 * encryption context (design §5, docs/sealing.md).
 *
 * Trust boundary: params come from the untrusted host.  Every field is
 * type- and length-checked here; whether the account is genuine is decided
 * later by KMS (encryption context) and the seal (AAD).  Credentials are
 * never copied: they stay in the request tree, which is wiped when freed.
 */
#include "enclave_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"

static const char *const legacy_keys[] = {"allow_digest", NULL};
static const char *const cred_keys[] = {"access_key_id", "secret_access_key", "session_token", NULL};
static const char *const account_keys[] = {"name", "address", "kms_key_id", "encrypted_private_key",
                                           "encrypted_data_key", "policy", NULL};

enum nw_err nw_enclave_parse_name(const char **s, size_t *len, const cJSON *item, struct nw_error *err)
{
    enum nw_err rc = nw_json_string(s, len, item, "name", err);

    if (rc != NW_OK)
        return rc;
    if (*len == 0 || *len > NW_SEAL_MAX_NAME)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "name: must be 1..%d characters", NW_SEAL_MAX_NAME);
    for (size_t i = 0; i < *len; i++) {
        char c = (*s)[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "name: only [A-Za-z0-9._-] allowed");
    }
    return NW_OK;
}

enum nw_err nw_enclave_hex_param(uint8_t *out, size_t cap, size_t *len, const cJSON *item, const char *field,
                                 struct nw_error *err)
{
    const char *s;
    size_t n;
    enum nw_err rc = nw_json_string(&s, &n, item, field, err);

    if (rc != NW_OK)
        return rc;
    if (nw_hex_decode(out, cap, len, s, n, err) != NW_OK) {
        nw_error_prefix(err, "%s", field);
        return NW_ERR_BAD_REQUEST;
    }
    return NW_OK;
}

enum nw_err nw_enclave_parse_key_id(const char **s, size_t *len, const cJSON *item, struct nw_error *err)
{
    enum nw_err rc = nw_json_string(s, len, item, "kms_key_id", err);

    if (rc != NW_OK)
        return rc;
    if (*len == 0 || *len > NW_SEAL_MAX_KEY_ID)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms_key_id: must be 1..%d characters", NW_SEAL_MAX_KEY_ID);
    for (size_t i = 0; i < *len; i++)
        if ((*s)[i] <= 0x20 || (*s)[i] > 0x7e)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "kms_key_id: only printable ASCII without spaces");
    return NW_OK;
}

/* The two legacy policies, parsed once and shared read-only by every
 * request (evaluation never writes to a policy). */
static const char legacy_text[2][512] = {
    "{\"version\":1,\"rules\":[" NW_POLICY_DEFAULT_RULES "]}",
    "{\"version\":1,\"rules\":[" NW_POLICY_DEFAULT_RULES
    ",{\"id\":\"legacy-allow-digest\",\"effect\":\"allow\",\"kind\":\"digest\"}]}",
};
static struct nw_policy legacy_policy[2];
static int legacy_ok;
static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;

static void legacy_init(void)
{
    legacy_ok = nw_policy_parse(&legacy_policy[0], legacy_text[0], strlen(legacy_text[0]), NULL) == NW_OK &&
                nw_policy_parse(&legacy_policy[1], legacy_text[1], strlen(legacy_text[1]), NULL) == NW_OK;
}

static enum nw_err parse_legacy(struct nw_enclave_policy *p, const cJSON *item, struct nw_error *err)
{
    const cJSON *allow = nw_json_get(item, "allow_digest");
    const char *canon;
    unsigned int n = 0;
    enum nw_err rc = nw_json_check_keys(item, legacy_keys, "policy", err);

    if (rc != NW_OK)
        return rc;
    if (!cJSON_IsBool(allow))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "policy.allow_digest: required, true or false");
    pthread_once(&legacy_once, legacy_init);
    if (!legacy_ok)
        return nw_fail(err, NW_ERR_NOMEM, "policy: the legacy policies could not be built");
    p->legacy = 1;
    p->rules = &legacy_policy[cJSON_IsTrue(allow) ? 1 : 0];
    canon = cJSON_IsTrue(allow) ? NW_ENCLAVE_POLICY_ALLOW : NW_ENCLAVE_POLICY_DENY;
    if (!EVP_Digest(canon, strlen(canon), p->digest, &n, EVP_sha256(), NULL) || n != 32)
        return nw_fail(err, NW_ERR_INTERNAL, "policy: digest failed");
    return NW_OK;
}

enum nw_err nw_enclave_parse_policy(struct nw_enclave_policy *p, const cJSON *item, int absent_is_default,
                                    struct nw_error *err)
{
    enum nw_err rc;

    memset(p, 0, sizeof *p);
    if (item == NULL && absent_is_default)
        rc = nw_policy_default(&p->owned, err);
    else if (!cJSON_IsObject(item))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "policy: required, an object");
    else if (nw_json_get(item, "version") == NULL && nw_json_get(item, "allow_digest") != NULL)
        return parse_legacy(p, item, err);
    else
        rc = nw_policy_from_json(&p->owned, item, err);
    if (rc != NW_OK)
        return rc;
    p->rules = &p->owned;
    memcpy(p->digest, p->owned.digest, 32);
    return NW_OK;
}

enum nw_err nw_enclave_policy_json(cJSON **out, const struct nw_enclave_policy *p, struct nw_error *err)
{
    struct nw_buf canon;
    enum nw_err rc = NW_OK;

    *out = NULL;
    if (p->legacy) {
        if ((*out = cJSON_CreateObject()) == NULL ||
            cJSON_AddBoolToObject(*out, "allow_digest", p->rules == &legacy_policy[1]) == NULL)
            rc = nw_fail(err, NW_ERR_NOMEM, "policy: out of memory");
        goto out;
    }
    nw_buf_init(&canon, NW_POLICY_MAX_JSON);
    rc = nw_policy_canonical(&canon, p->rules, err);
    if (rc == NW_ERR_TOO_LARGE)
        rc = nw_fail(err, NW_ERR_TOO_LARGE, "policy: its canonical text is over %u bytes", NW_POLICY_MAX_JSON);
    /* our own text, within the bound: cJSON may read it as it is */
    if (rc == NW_OK && (*out = cJSON_ParseWithLength((const char *)canon.data, canon.len)) == NULL)
        rc = nw_fail(err, NW_ERR_NOMEM, "policy: out of memory");
    nw_buf_free(&canon);
out:
    if (rc != NW_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

void nw_enclave_policy_free(struct nw_enclave_policy *p)
{
    if (p->rules == &p->owned)
        nw_policy_free(&p->owned);
    memset(p, 0, sizeof *p);
}

enum nw_err nw_enclave_check_policy(const struct nw_enclave_policy *p, struct nw_policy_request *r,
                                    struct nw_policy_decision *d, struct nw_error *err)
{
    if (p->rules == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "policy: none parsed");
    r->now = (uint64_t)time(NULL);
    return nw_policy_evaluate(d, p->rules, r, err);
}

enum nw_err nw_enclave_add_decision(cJSON *result, const struct nw_policy_decision *d, struct nw_error *err)
{
    return cJSON_AddStringToObject(result, "policy_rule", d->rule) != NULL
               ? NW_OK
               : nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
}

static enum nw_err bounded_string(const char **s, const cJSON *item, const char *field, size_t min, size_t max,
                                  struct nw_error *err)
{
    size_t len;
    enum nw_err rc = nw_json_string(s, &len, item, field, err);

    if (rc != NW_OK)
        return rc;
    if (len < min || len > max)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: must be %zu..%zu characters", field, min, max);
    for (size_t i = 0; i < len; i++)
        if ((*s)[i] < 0x21 || (*s)[i] > 0x7e)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: only printable ASCII without spaces", field);
    return NW_OK;
}

enum nw_err nw_enclave_parse_credentials(struct nw_aws_credentials *c, const cJSON *item, struct nw_error *err)
{
    const cJSON *tok;
    enum nw_err rc;

    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(item))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "credentials: required, an object");
    rc = nw_json_check_keys(item, cred_keys, "credentials", err);
    if (rc == NW_OK)
        rc = bounded_string(&c->access_key_id, nw_json_get(item, "access_key_id"), "credentials.access_key_id",
                            1, 128, err);
    if (rc == NW_OK)
        rc = bounded_string(&c->secret_access_key, nw_json_get(item, "secret_access_key"),
                            "credentials.secret_access_key", 1, NW_ENCLAVE_MAX_SECRET_FIELD, err);
    tok = nw_json_get(item, "session_token");
    if (rc == NW_OK && tok != NULL)
        rc = bounded_string(&c->session_token, tok, "credentials.session_token", 1,
                            NW_ENCLAVE_MAX_SECRET_FIELD, err);
    if (rc != NW_OK)
        memset(c, 0, sizeof *c);
    return rc;
}

static enum nw_err base64_field(uint8_t *out, size_t cap, size_t *len, const cJSON *item, const char *field,
                                struct nw_error *err)
{
    const char *s;
    size_t n;
    enum nw_err rc = nw_json_string(&s, &n, item, field, err);

    if (rc != NW_OK)
        return rc;
    if (n == 0 || n > NW_BASE64_SIZE(cap) - 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: must be 1..%zu bytes of base64", field, cap);
    rc = nw_base64_decode(out, cap, len, s, n, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "%s", field);
        return NW_ERR_BAD_REQUEST;
    }
    return NW_OK;
}

enum nw_err nw_enclave_parse_account(struct nw_enclave_account *a, const cJSON *item, struct nw_error *err)
{
    const char *addr;
    size_t addr_len;
    enum nw_err rc;

    memset(a, 0, sizeof *a);
    if (!cJSON_IsObject(item))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "account: required, an object");
    NW_GUARD(nw_json_check_keys(item, account_keys, "account", err));
    NW_GUARD(nw_enclave_parse_name(&a->name, &a->name_len, nw_json_get(item, "name"), err));
    NW_GUARD(nw_enclave_parse_key_id(&a->kms_key_id, &a->kms_key_id_len, nw_json_get(item, "kms_key_id"), err));
    NW_GUARD(nw_json_string(&addr, &addr_len, nw_json_get(item, "address"), "address", err));
    NW_GUARD(nw_address_parse(a->address, addr, addr_len, err));
    nw_address_to_checksum(a->address_str, a->address);
    NW_GUARD(base64_field(a->sealed, sizeof a->sealed, &a->sealed_len, nw_json_get(item, "encrypted_private_key"),
                          "encrypted_private_key", err));
    NW_GUARD(base64_field(a->data_key_blob, sizeof a->data_key_blob, &a->data_key_blob_len,
                          nw_json_get(item, "encrypted_data_key"), "encrypted_data_key", err));
    NW_GUARD(nw_enclave_parse_policy(&a->policy, nw_json_get(item, "policy"), 0, err));
out:
    if (rc != NW_OK) {
        nw_error_prefix(err, "account");
        nw_enclave_account_free(a);
    }
    return rc;
}

void nw_enclave_account_free(struct nw_enclave_account *a)
{
    nw_enclave_policy_free(&a->policy);
    memset(a, 0, sizeof *a);
}

void nw_enclave_seal_context(struct nw_seal_context *ctx, const struct nw_enclave_account *a)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->account_name = a->name;
    ctx->account_name_len = a->name_len;
    memcpy(ctx->address, a->address, sizeof ctx->address);
    ctx->kms_key_id = a->kms_key_id;
    ctx->kms_key_id_len = a->kms_key_id_len;
    memcpy(ctx->policy_digest, a->policy.digest, sizeof ctx->policy_digest);
}

void nw_enclave_kms_context(struct nw_kms_kv kv[2], const struct nw_enclave_account *a)
{
    kv[0].key = NW_ENCLAVE_CTX_ACCOUNT;
    kv[0].value = a->name;
    kv[1].key = NW_ENCLAVE_CTX_ADDRESS;
    kv[1].value = a->address_str;
}

enum nw_err nw_enclave_add_hex(cJSON *obj, const char *key, const uint8_t *p, size_t len)
{
    char *s = malloc(NW_HEX_SIZE(len));
    enum nw_err rc = NW_ERR_NOMEM;

    if (s == NULL)
        return rc;
    if (nw_hex_encode(s, NW_HEX_SIZE(len), p, len) == NW_OK && cJSON_AddStringToObject(obj, key, s) != NULL)
        rc = NW_OK;
    free(s);
    return rc;
}
