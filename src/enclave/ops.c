/*
 * ops.c - the enclave protocol's dispatcher (design §4, docs/protocol.md):
 * one request frame in, one reply frame out, always; plus the two
 * operations that need no account (health, attestation).
 *
 * Trust boundary: the request is the untrusted host's.  Errors carry only
 * nw_error messages, which never contain secrets by construction; one log
 * line per failed request names the op and the code, nothing else.
 */
#include "enclave_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/dkcache.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/kms_client.h"

#define MAX_ATTEST_NONCE 64
#define MAX_ATTEST_USER_DATA 512
#define ATTEST_DOC_MAX (64u * 1024u)

static const char *const no_keys[] = {NULL};
static const char *const attest_keys[] = {"nonce", "user_data", NULL};

static enum nw_err op_health(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result, struct nw_error *err)
{
    enum nw_err rc = nw_json_check_keys(params, no_keys, "params", err);

    if (rc != NW_OK)
        return rc;
    if (cJSON_AddStringToObject(result, "status", "ok") == NULL ||
        cJSON_AddStringToObject(result, "nsm", nw_nsm_is_emulated(ops->nsm) ? "emulated" : "device") == NULL ||
        cJSON_AddNumberToObject(result, "protocol", NW_PROTO_VERSION) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
    cJSON *arns = cJSON_AddArrayToObject(result, "kms_keys");
    for (size_t i = 0; arns != NULL && ops->keys != NULL && i < ops->keys->n; i++)
        if (!cJSON_AddItemToArray(arns, cJSON_CreateString(ops->keys->arn[i])))
            arns = NULL;
    if (arns == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
    struct nw_kms_stats ks;
    cJSON *k = cJSON_AddObjectToObject(result, "kms");
    nw_kms_client_stats(&ks);
    if (k == NULL || cJSON_AddNumberToObject(k, "generate_data_key", (double)ks.generate_data_key) == NULL ||
        cJSON_AddNumberToObject(k, "decrypt", (double)ks.decrypt) == NULL ||
        cJSON_AddNumberToObject(k, "failures", (double)ks.failures) == NULL ||
        cJSON_AddNumberToObject(k, "attestations", (double)ks.attestations) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
    if (ops->dkcache != NULL) {
        struct nw_dkcache_stats st;
        cJSON *c = cJSON_AddObjectToObject(result, "data_key_cache");
        nw_dkcache_stats(ops->dkcache, &st);
        if (c == NULL || cJSON_AddBoolToObject(c, "enabled", st.enabled) == NULL ||
            cJSON_AddNumberToObject(c, "entries", (double)st.entries) == NULL ||
            cJSON_AddNumberToObject(c, "hits", (double)st.hits) == NULL ||
            cJSON_AddNumberToObject(c, "misses", (double)st.misses) == NULL ||
            cJSON_AddNumberToObject(c, "evictions", (double)st.evictions) == NULL ||
            cJSON_AddNumberToObject(c, "max_entries", (double)st.max_entries) == NULL ||
            cJSON_AddNumberToObject(c, "max_age_s", st.max_age_s) == NULL ||
            cJSON_AddNumberToObject(c, "max_uses", (double)st.max_uses) == NULL)
            return nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
    }
    return NW_OK;
}

static enum nw_err op_attestation(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                  struct nw_error *err)
{
    uint8_t nonce[MAX_ATTEST_NONCE], user[MAX_ATTEST_USER_DATA];
    size_t nonce_len = 0, user_len = 0;
    struct nw_buf doc;
    char *b64 = NULL;
    enum nw_err rc;

    nw_buf_init(&doc, ATTEST_DOC_MAX);
    NW_GUARD(nw_json_check_keys(params, attest_keys, "params", err));
    NW_GUARD(nw_enclave_hex_param(nonce, sizeof nonce, &nonce_len, nw_json_get(params, "nonce"), "nonce", err));
    if (nw_json_get(params, "user_data") != NULL)
        NW_GUARD(nw_enclave_hex_param(user, sizeof user, &user_len, nw_json_get(params, "user_data"), "user_data", err));
    NW_GUARD(nw_nsm_attest(ops->nsm, &doc, user_len ? user : NULL, user_len, nonce_len ? nonce : NULL, nonce_len,
                           NULL, 0, err));
    b64 = malloc(NW_BASE64_SIZE(doc.len));
    if (b64 == NULL || nw_base64_encode(b64, NW_BASE64_SIZE(doc.len), doc.data, doc.len) != NW_OK ||
        cJSON_AddStringToObject(result, "document", b64) == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
        goto out;
    }
out:
    free(b64);
    nw_buf_free(&doc);
    return rc;
}

static const struct {
    const char *name;
    nw_enclave_op_fn fn;
} op_table[] = {
    {NW_OP_HEALTH, op_health},
    {NW_OP_ATTESTATION, op_attestation},
    {NW_OP_GENERATE_ACCOUNT, nw_enclave_op_generate_account},
    {NW_OP_SIGN_TRANSACTION, nw_enclave_op_sign_transaction},
    {NW_OP_SIGN_MESSAGE, nw_enclave_op_sign_message},
    {NW_OP_SIGN_TYPED_DATA, nw_enclave_op_sign_typed_data},
    {NW_OP_SIGN_DIGEST, nw_enclave_op_sign_digest},
    {NW_OP_PROVE_ACCOUNT, nw_enclave_op_prove_account},
};

static enum nw_err dispatch(struct nw_enclave_ops *ops, const struct nw_proto_request *req, cJSON *result,
                            struct nw_error *err)
{
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
        if (strcmp(op_table[i].name, req->op) == 0)
            return op_table[i].fn(ops, req->params, result, err);
    return nw_fail(err, NW_ERR_BAD_REQUEST, "op: unknown operation \"%s\"", req->op);
}

enum nw_err nw_enclave_handle(struct nw_enclave_ops *ops, const uint8_t *p, size_t len, struct nw_buf *out)
{
    struct nw_proto_request req;
    struct nw_error err = {0};
    cJSON *result = NULL;
    enum nw_err rc;

    rc = nw_proto_request_parse(&req, p, len, &err);
    if (rc == NW_OK) {
        result = cJSON_CreateObject();
        rc = result ? dispatch(ops, &req, result, &err) : nw_fail(&err, NW_ERR_NOMEM, "out of memory");
    }
    if (rc == NW_OK) {
        rc = nw_proto_reply_result(out, req.id, result);
    } else {
        fprintf(stderr, "nitrowallet-enclave: %s: %s: %s\n", req.op[0] ? req.op : "(request)", nw_err_name(rc),
                err.msg);
        rc = nw_proto_reply_error(out, req.id, nw_err_name(rc), err.msg);
    }
    cJSON_Delete(result);
    nw_proto_request_free(&req);
    return rc;
}
