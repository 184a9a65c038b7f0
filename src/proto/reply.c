/*
 * reply.c - the protocol's replies (include/nitrowallet/proto.h,
 * docs/protocol.md): {"id":...,"result":{...}} or
 * {"id":...,"error":{"code","message"}}, built by the enclave and parsed by
 * the host, and the error codes both sides name.
 *
 * Trust boundary: the host parses what an enclave endpoint sends strictly
 * (nw_json_parse) and accepts only the reply to its own request id.
 */
#include "nitrowallet/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"

static enum nw_err emit(struct nw_buf *out, cJSON *reply)
{
    char *s = cJSON_PrintUnformatted(reply);
    enum nw_err rc;

    if (s == NULL)
        return NW_ERR_NOMEM;
    nw_buf_free(out);
    nw_buf_init(out, NW_PROTO_MAX_FRAME);
    rc = nw_buf_append(out, s, strlen(s));
    nw_wipe(s, strlen(s));
    free(s);
    return rc;
}

/* The id as the request sent it: an integer id (valid_id in request.c) in
 * plain decimal, never cJSON's exponent form (10^15 would be 1e+15). */
static cJSON *id_copy(const cJSON *id)
{
    char text[32];

    if (id == NULL)
        return cJSON_CreateNull();
    if (!cJSON_IsNumber(id))
        return cJSON_Duplicate(id, 1);
    snprintf(text, sizeof text, "%lld", (long long)id->valuedouble);
    return cJSON_CreateRaw(text);
}

static cJSON *reply_with_id(const cJSON *id)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON *copy = id_copy(id);

    if (reply == NULL || copy == NULL || !cJSON_AddItemToObject(reply, "id", copy)) {
        cJSON_Delete(reply);
        cJSON_Delete(copy);
        return NULL;
    }
    return reply;
}

enum nw_err nw_proto_reply_result(struct nw_buf *out, const cJSON *id, const cJSON *result)
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

enum nw_err nw_proto_reply_error(struct nw_buf *out, const cJSON *id, const char *code, const char *message)
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

enum nw_err nw_proto_error_code(const char *code)
{
    for (int c = NW_ERR_BAD_REQUEST; c <= NW_ERR_UNAVAILABLE; c++)
        if (strcmp(code, nw_err_name((enum nw_err)c)) == 0)
            return (enum nw_err)c;
    if (strcmp(code, NW_PROTO_BUSY) == 0)
        return NW_ERR_UNAVAILABLE;
    return NW_ERR_INTERNAL;
}

enum nw_err nw_proto_reply_parse(const uint8_t *p, size_t len, unsigned long long id, cJSON **result, int *busy,
                                 struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    cJSON *root = NULL;

    *result = NULL;
    *busy = 0;
    NW_GUARD(nw_json_parse(&root, (const char *)p, len, NW_PROTO_MAX_FRAME, err));
    const cJSON *rid = nw_json_get(root, "id");
    const cJSON *e = nw_json_get(root, "error");
    if (cJSON_IsNull(rid) && e != NULL) {
        /* the enclave could not read our request's id: it could not parse the frame */
        const cJSON *code = nw_json_get(e, "code"), *msg = nw_json_get(e, "message");
        NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "the enclave could not read the request: %.32s: %.300s",
                         cJSON_IsString(code) ? code->valuestring : "?", cJSON_IsString(msg) ? msg->valuestring : "?"));
    }
    if (!cJSON_IsNumber(rid) || rid->valuedouble != (double)id)
        NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "enclave reply id does not match"));
    if (e != NULL) {
        const cJSON *code = nw_json_get(e, "code"), *msg = nw_json_get(e, "message");
        if (!cJSON_IsString(code) || !cJSON_IsString(msg))
            NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "malformed enclave error reply"));
        *busy = strcmp(code->valuestring, NW_PROTO_BUSY) == 0;
        NW_GUARD(nw_fail(err, nw_proto_error_code(code->valuestring), "%s", msg->valuestring));
    }
    cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "enclave reply without result"));
    }
    *result = r;
out:
    cJSON_Delete(root);
    return rc;
}
