/*
 * envelope.c - the enclave protocol's JSON envelope (design §4,
 * docs/protocol.md): requests {"v":1,"id":...,"op":"...","params":{...}},
 * replies {"id":...,"result":{...}} or {"id":...,"error":{"code","message"}}.
 *
 * Trust boundary: request bytes come from the untrusted host and go through
 * nw_json_parse (strict RFC 8259, UTF-8, depth bound, no duplicate keys)
 * before anything reads them.  Requests carry AWS credentials, so the tree
 * is wiped string by string before it is freed.
 */
#include "nitrowallet/enclave.h"

#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"

#define MAX_ID_STRING 128

static const char *const envelope_keys[] = {"v", "id", "op", "params", NULL};

/* A string id of 1..128 printable ASCII characters, or an integer of at most 2^53 - 1 in size. */
static int valid_id(const cJSON *id)
{
    if (cJSON_IsNumber(id))
        return id->valuedouble >= -(double)NW_JSON_MAX_SAFE_INT && id->valuedouble <= (double)NW_JSON_MAX_SAFE_INT;
    if (!cJSON_IsString(id))
        return 0;
    size_t n = strlen(id->valuestring);
    if (n == 0 || n > MAX_ID_STRING)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (id->valuestring[i] < 0x20 || id->valuestring[i] > 0x7e)
            return 0;
    return 1;
}

static enum nw_err parse_op(struct nw_enclave_request *req, const cJSON *op, struct nw_error *err)
{
    const char *s;
    size_t n;
    enum nw_err rc = nw_json_string(&s, &n, op, "op", err);

    if (rc != NW_OK)
        return rc;
    if (n == 0 || n > NW_ENCLAVE_MAX_OP)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "op: must be 1..%d characters", NW_ENCLAVE_MAX_OP);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "op: only [a-z_] allowed");
    memcpy(req->op, s, n + 1);
    return NW_OK;
}

enum nw_err nw_enclave_request_parse(struct nw_enclave_request *req, const uint8_t *p, size_t len,
                                     struct nw_error *err)
{
    const cJSON *v, *id, *params;
    enum nw_err rc;

    memset(req, 0, sizeof *req);
    rc = nw_json_parse(&req->root, (const char *)p, len, NW_ENCLAVE_MAX_FRAME, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "request");
        return rc == NW_ERR_TOO_LARGE ? rc : NW_ERR_BAD_REQUEST;
    }
    if (!cJSON_IsObject(req->root))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "request: must be a JSON object");
    id = nw_json_get(req->root, "id");
    if (id == NULL || !valid_id(id))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "id: required, a string of 1..%d printable characters "
                       "or an integer", MAX_ID_STRING);
    req->id = id;
    rc = nw_json_check_keys(req->root, envelope_keys, "request", err);
    if (rc != NW_OK)
        return rc;
    v = nw_json_get(req->root, "v");
    if (!cJSON_IsNumber(v) || v->valuedouble != NW_ENCLAVE_PROTOCOL_VERSION)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "v: must be %d", NW_ENCLAVE_PROTOCOL_VERSION);
    rc = parse_op(req, nw_json_get(req->root, "op"), err);
    if (rc != NW_OK)
        return rc;
    params = nw_json_get(req->root, "params");
    if (params == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "params: required (use {} when empty)");
    if (!cJSON_IsObject(params))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "params: must be an object");
    req->params = params;
    return NW_OK;
}

static void wipe_tree(cJSON *node, int depth)
{
    for (; node != NULL; node = node->next) {
        if (node->valuestring != NULL)
            nw_wipe(node->valuestring, strlen(node->valuestring));
        if (node->string != NULL)
            nw_wipe(node->string, strlen(node->string));
        if (node->child != NULL && depth < NW_JSON_MAX_DEPTH + 1)
            wipe_tree(node->child, depth + 1);
    }
}

void nw_enclave_request_free(struct nw_enclave_request *req)
{
    if (req->root != NULL) {
        wipe_tree(req->root, 0);
        cJSON_Delete(req->root);
    }
    memset(req, 0, sizeof *req);
}

static enum nw_err emit(struct nw_buf *out, cJSON *reply)
{
    char *s = cJSON_PrintUnformatted(reply);
    enum nw_err rc;

    if (s == NULL)
        return NW_ERR_NOMEM;
    nw_buf_free(out);
    nw_buf_init(out, NW_ENCLAVE_MAX_FRAME);
    rc = nw_buf_append(out, s, strlen(s));
    nw_wipe(s, strlen(s));
    free(s);
    return rc;
}

static cJSON *reply_with_id(const cJSON *id)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON *copy = id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull();

    if (reply == NULL || copy == NULL || !cJSON_AddItemToObject(reply, "id", copy)) {
        cJSON_Delete(reply);
        cJSON_Delete(copy);
        return NULL;
    }
    return reply;
}

enum nw_err nw_enclave_reply_result(struct nw_buf *out, const cJSON *id, const cJSON *result)
{
    cJSON *reply = reply_with_id(id);
    cJSON *copy = result ? cJSON_Duplicate(result, 1) : NULL;
    enum nw_err rc = NW_ERR_NOMEM;

    if (reply == NULL || copy == NULL || !cJSON_AddItemToObject(reply, "result", copy)) {
        cJSON_Delete(copy);
        goto out;
    }
    rc = emit(out, reply);
out:
    cJSON_Delete(reply);
    return rc;
}

enum nw_err nw_enclave_reply_error(struct nw_buf *out, const cJSON *id, const char *code, const char *message)
{
    cJSON *reply = reply_with_id(id);
    cJSON *e = cJSON_CreateObject();
    enum nw_err rc = NW_ERR_NOMEM;

    if (reply == NULL || e == NULL || !cJSON_AddItemToObject(reply, "error", e)) {
        cJSON_Delete(e);
        goto out;
    }
    if (cJSON_AddStringToObject(e, "code", code) == NULL || cJSON_AddStringToObject(e, "message", message) == NULL)
        goto out;
    rc = emit(out, reply);
out:
    cJSON_Delete(reply);
    return rc;
}
