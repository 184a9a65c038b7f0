/*
 * request.c - the protocol's requests (include/nitrowallet/proto.h,
 * docs/protocol.md): {"v":1,"id":...,"op":"...","params":{...}}, parsed by
 * the enclave and built by the host.
 *
 * Trust boundary: request bytes come from the untrusted host and go through
 * nw_json_parse (strict RFC 8259, UTF-8, depth bound, no duplicate keys)
 * before anything reads them.  Requests carry AWS credentials, so the tree
 * is wiped string by string before it is freed, on both sides.
 */
#include "nitrowallet/proto.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"

static const char *const envelope_keys[] = {"v", "id", "op", "params", NULL};

/* A string id of 1..128 printable ASCII characters, or an integer of at most 2^53 - 1 in size. */
static int valid_id(const cJSON *id)
{
    if (cJSON_IsNumber(id))
        return id->valuedouble >= -(double)NW_JSON_MAX_SAFE_INT && id->valuedouble <= (double)NW_JSON_MAX_SAFE_INT &&
               id->valuedouble == (double)(long long)id->valuedouble;
    if (!cJSON_IsString(id))
        return 0;
    size_t n = strlen(id->valuestring);
    if (n == 0 || n > NW_PROTO_MAX_ID_STRING)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (id->valuestring[i] < 0x20 || id->valuestring[i] > 0x7e)
            return 0;
    return 1;
}

static enum nw_err parse_op(struct nw_proto_request *req, const cJSON *op, struct nw_error *err)
{
    const char *s;
    size_t n;
    enum nw_err rc = nw_json_string(&s, &n, op, "op", err);

    if (rc != NW_OK)
        return rc;
    if (n == 0 || n > NW_PROTO_MAX_OP)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "op: must be 1..%d characters", NW_PROTO_MAX_OP);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "op: only [a-z_] allowed");
    memcpy(req->op, s, n + 1);
    return NW_OK;
}

enum nw_err nw_proto_request_parse(struct nw_proto_request *req, const uint8_t *p, size_t len,
                                     struct nw_error *err)
{
    const cJSON *v, *id, *params;
    enum nw_err rc;

    memset(req, 0, sizeof *req);
    rc = nw_json_parse(&req->root, (const char *)p, len, NW_PROTO_MAX_FRAME, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "request");
        return rc == NW_ERR_TOO_LARGE ? rc : NW_ERR_BAD_REQUEST;
    }
    if (!cJSON_IsObject(req->root))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "request: must be a JSON object");
    id = nw_json_get(req->root, "id");
    if (id == NULL || !valid_id(id))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "id: required, a string of 1..%d printable characters "
                       "or an integer", NW_PROTO_MAX_ID_STRING);
    req->id = id;
    rc = nw_json_check_keys(req->root, envelope_keys, "request", err);
    if (rc != NW_OK)
        return rc;
    v = nw_json_get(req->root, "v");
    if (!cJSON_IsNumber(v) || v->valuedouble != NW_PROTO_VERSION)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "v: must be %d", NW_PROTO_VERSION);
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

void nw_proto_request_free(struct nw_proto_request *req)
{
    nw_json_delete_wiped(req->root);
    memset(req, 0, sizeof *req);
}

enum nw_err nw_proto_request_peek_id(cJSON **id, const uint8_t *p, size_t len)
{
    static const char head[] = "{\"v\":1,\"id\":";
    const size_t h = sizeof head - 1;
    char text[NW_PROTO_MAX_ID_STRING + 1];
    size_t i = h, n = 0;

    *id = NULL;
    if (len <= h || memcmp(p, head, h) != 0)
        return NW_OK;
    if (p[i] == '"') {
        for (i++; i < len && n <= NW_PROTO_MAX_ID_STRING && p[i] != '"'; i++, n++) {
            if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '\\' || n == NW_PROTO_MAX_ID_STRING)
                return NW_OK;
            text[n] = (char)p[i];
        }
        if (i + 1 >= len || p[i] != '"' || n == 0 || p[i + 1] != ',')
            return NW_OK;
        text[n] = '\0';
        *id = cJSON_CreateString(text);
        return *id != NULL ? NW_OK : NW_ERR_NOMEM;
    }
    size_t neg = p[i] == '-';
    i += neg;
    if (neg)
        text[n++] = '-';
    for (; i < len && p[i] >= '0' && p[i] <= '9' && n <= 17; i++)
        text[n++] = (char)p[i];
    /* 1..16 digits, no leading zero and no "-0" (the full parse echoes 0), then the next member */
    if (n == neg || n - neg > 16 || i >= len || p[i] != ',' || (text[neg] == '0' && (n - neg > 1 || neg)))
        return NW_OK;
    text[n] = '\0';
    *id = cJSON_CreateRaw(text);
    return *id != NULL ? NW_OK : NW_ERR_NOMEM;
}

/* Characters a string of n bytes may take once JSON-escaped, quotes included. */
static size_t escaped_max(const char *s)
{
    return s != NULL ? 6 * strlen(s) + 2 : 0;
}

/*
 * With credentials, the text is printed into one buffer sized up front
 * (cJSON_PrintPreallocated), because cJSON_PrintUnformatted grows its
 * buffer with realloc and would leave copies of the secret key in freed
 * heap.  The bound: the request printed before the credentials are added,
 * plus every credential string escaped at six bytes per byte, plus room for
 * the member names.
 */
static enum nw_err add_credentials(char **text, cJSON *req, cJSON *prm, const struct nw_proto_credentials *creds,
                                   struct nw_error *err)
{
    char *plain = cJSON_PrintUnformatted(req); /* no secrets yet */
    cJSON *c;
    size_t cap;

    if (plain == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "enclave request");
    cap = strlen(plain) + escaped_max(creds->access_key_id) + escaped_max(creds->secret_access_key) +
          escaped_max(creds->session_token) + 128;
    free(plain);
    if (cap > (size_t)INT_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "enclave request");
    if ((c = cJSON_AddObjectToObject(prm, "credentials")) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "credentials");
    cJSON_AddStringToObject(c, "access_key_id", creds->access_key_id);
    cJSON_AddStringToObject(c, "secret_access_key", creds->secret_access_key);
    if (creds->session_token != NULL && creds->session_token[0] != '\0')
        cJSON_AddStringToObject(c, "session_token", creds->session_token);
    *text = malloc(cap);
    if (*text == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "enclave request");
    if (!cJSON_PrintPreallocated(req, *text, (int)cap, 0)) {
        nw_wipe(*text, cap);
        free(*text);
        *text = NULL;
        return nw_fail(err, NW_ERR_INTERNAL, "enclave request did not fit its bound");
    }
    return NW_OK;
}

enum nw_err nw_proto_request_build(char **text, unsigned long long id, const char *op, const cJSON *params,
                                   const struct nw_proto_credentials *creds, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    cJSON *req = cJSON_CreateObject();
    cJSON *prm = cJSON_Duplicate(params, 1);
    char id_text[24];

    *text = NULL;
    if (req == NULL || prm == NULL) {
        cJSON_Delete(prm);
        NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "enclave request"));
    }
    cJSON_AddNumberToObject(req, "v", NW_PROTO_VERSION);
    snprintf(id_text, sizeof id_text, "%llu", id); /* plain decimal: cJSON would write 10^15 as 1e+15 */
    cJSON_AddRawToObject(req, "id", id_text);
    cJSON_AddStringToObject(req, "op", op);
    cJSON_AddItemToObject(req, "params", prm); /* req owns prm from here */
    if (creds != NULL)
        NW_GUARD(add_credentials(text, req, prm, creds, err));
    else if ((*text = cJSON_PrintUnformatted(req)) == NULL)
        NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "enclave request"));
out:
    nw_json_delete_wiped(req); /* the credential strings */
    return rc;
}

void nw_proto_text_free(char *text)
{
    if (text == NULL)
        return;
    nw_wipe(text, strlen(text));
    free(text);
}
