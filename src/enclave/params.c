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

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"

static const char *const policy_keys[] = {"allow_digest", NULL};
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

enum nw_err nw_enclave_parse_policy(struct nw_enclave_policy *p, const cJSON *item, struct nw_error *err)
{
    const cJSON *allow;
    const char *canon;
    unsigned int n = 0;
    enum nw_err rc;

    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(item))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "policy: required, an object");
    rc = nw_json_check_keys(item, policy_keys, "policy", err);
    if (rc != NW_OK)
        return rc;
    allow = nw_json_get(item, "allow_digest");
    if (!cJSON_IsBool(allow))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "policy.allow_digest: required, true or false");
    p->allow_digest = cJSON_IsTrue(allow);
    canon = p->allow_digest ? NW_ENCLAVE_POLICY_ALLOW : NW_ENCLAVE_POLICY_DENY;
    if (!EVP_Digest(canon, strlen(canon), p->digest, &n, EVP_sha256(), NULL) || n != 32)
        return nw_fail(err, NW_ERR_INTERNAL, "policy: digest failed");
    return NW_OK;
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
    NW_GUARD(nw_enclave_parse_policy(&a->policy, nw_json_get(item, "policy"), err));
out:
    if (rc != NW_OK) {
        nw_error_prefix(err, "account");
        memset(a, 0, sizeof *a);
    }
    return rc;
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
