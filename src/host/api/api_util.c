/*
 * api_util.c - helpers of the host API: JSON error bodies
 * ({"error":{"code","message","request_id"}}), strict request bodies
 * (application/json, nw_json_parse, unknown fields refused), authorization
 * and pagination arguments.
 *
 * Trust boundary: network-facing.  Error messages name fields and bounds,
 * never echo request bodies or tokens; text from KMS, IAM, storage and the
 * enclave's machinery (role and key ARNs, account ids, endpoints) goes to
 * the host's log, the client gets the stable code and a fixed sentence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "nitrowallet/json.h"

static int error_body(struct api_req *rq, struct api_resp *rs, int status, const char *code, const char *msg,
                      const char *rule);

int api_error(struct api_req *rq, struct api_resp *rs, int status, const char *code, const char *fmt, ...)
{
    char msg[NW_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return error_body(rq, rs, status, code, msg, NULL);
}

static int error_body(struct api_req *rq, struct api_resp *rs, int status, const char *code, const char *msg,
                      const char *rule)
{
    free(rs->body);
    rs->body = NULL;
    rs->status = status;
    rs->content_type = "application/json";
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    if (e != NULL) {
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", msg);
        if (rule != NULL) cJSON_AddStringToObject(e, "rule", rule);
        cJSON_AddStringToObject(e, "request_id", rq->request_id);
        rs->body = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    return 0;
}

/* The fixed sentence a client gets for codes whose text comes from KMS, IAM,
 * storage or the enclave's own machinery, or NULL for codes about the
 * request itself. */
static const char *fixed_message(enum nw_err code)
{
    switch (code) {
    case NW_ERR_KMS_DENIED: return "KMS refused the operation";
    case NW_ERR_KMS_UNAVAILABLE: return "KMS could not be reached; retry later";
    case NW_ERR_UNAVAILABLE: return "temporarily unavailable; retry later";
    case NW_ERR_ATTESTATION: return "attestation failed";
    case NW_ERR_NOMEM:
    case NW_ERR_KEY_INVALID:
    case NW_ERR_RANDOM:
    case NW_ERR_INTERNAL: return "internal error";
    default: return NULL;
    }
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Copy `msg` with ARNs and 12-digit AWS account ids replaced.  1 if any was. */
static int redact(const char *msg, char *out, size_t cap)
{
    size_t o = 0;
    int changed = 0;
    for (size_t i = 0; msg[i] != '\0' && o + 1 < cap;) {
        const char *rep = NULL;
        size_t skip = 0;
        int start = i == 0 || !is_word(msg[i - 1]);
        if (start && strncmp(msg + i, "arn:", 4) == 0) {
            while (msg[i + skip] != '\0' && strchr(" \t\n\"'`,;()[]{}<>", msg[i + skip]) == NULL) skip++;
            rep = "<arn>";
        } else if (start && is_digit(msg[i])) {
            while (is_digit(msg[i + skip])) skip++;
            if (skip == 12) rep = "<account>";
        }
        if (rep != NULL) {
            size_t n = strlen(rep);
            if (o + n >= cap) break;
            memcpy(out + o, rep, n);
            o += n;
            changed = 1;
        } else {
            size_t n = skip ? skip : 1;
            if (o + n >= cap) n = cap - 1 - o;
            memcpy(out + o, msg + i, n);
            o += n;
        }
        i += skip ? skip : 1;
    }
    out[o] = '\0';
    return changed;
}

int api_client_message(const struct nw_error *err, char *out, size_t cap)
{
    const char *fixed = fixed_message(err->code);
    if (fixed != NULL) {
        snprintf(out, cap, "%s (details in the host log under this request_id)", fixed);
        return 1;
    }
    return redact(err->msg, out, cap);
}

int api_fail_rule(struct api_req *rq, struct api_resp *rs, const struct nw_error *err, const char *rule)
{
    char msg[NW_ERROR_MSG_MAX + 64];
    if (api_client_message(err, msg, sizeof msg))
        fprintf(stderr, "nitrowallet-host: %s: %s: %s\n", rq->request_id, nw_err_name(err->code), err->msg);
    msg[NW_ERROR_MSG_MAX - 1] = '\0';
    return error_body(rq, rs, nw_err_http_status(err->code), nw_err_name(err->code), msg, rule);
}

int api_fail(struct api_req *rq, struct api_resp *rs, const struct nw_error *err)
{
    return api_fail_rule(rq, rs, err, NULL);
}

int api_json(struct api_req *rq, struct api_resp *rs, int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (text == NULL) return api_error(rq, rs, 500, "NOMEM", "out of memory");
    free(rs->body);
    rs->body = text;
    rs->status = status;
    rs->content_type = "application/json";
    return 1;
}

static int json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    if (ct == NULL || strncasecmp(ct, want, sizeof(want) - 1) != 0) return 0;
    ct += sizeof(want) - 1;
    while (*ct == ' ' || *ct == '\t') ct++;
    return *ct == '\0' || *ct == ';';
}

int api_body(struct api_req *rq, struct api_resp *rs, const char *const *allowed, cJSON **obj)
{
    struct nw_error err = {0};
    *obj = NULL;
    if (rq->too_large)
        return api_error(rq, rs, 413, "TOO_LARGE", "request body exceeds %zu bytes", rq->host->cfg.body_max);
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!json_content_type(ct))
        return api_error(rq, rs, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
    if (rq->body.len == 0) return api_error(rq, rs, 400, "BAD_REQUEST", "empty request body");
    if (nw_json_parse(obj, (const char *)rq->body.data, rq->body.len, rq->host->cfg.body_max, &err) != NW_OK) {
        nw_error_prefix(&err, "request body");
        return api_fail(rq, rs, &err);
    }
    if (!cJSON_IsObject(*obj)) {
        cJSON_Delete(*obj);
        *obj = NULL;
        return api_error(rq, rs, 400, "BAD_REQUEST", "request body must be a JSON object");
    }
    if (nw_json_check_keys(*obj, allowed, "request body", &err) != NW_OK) {
        cJSON_Delete(*obj);
        *obj = NULL;
        return api_fail(rq, rs, &err);
    }
    return 1;
}

int api_allowed(struct api_req *rq, struct api_resp *rs, enum nw_auth_action action, const char *account)
{
    if (nw_auth_allowed(&rq->who, action, account)) return 1;
    return api_error(rq, rs, 403, "FORBIDDEN", "token '%s' may not do this%s%s", rq->who.id ? rq->who.id : "",
                     account ? " on account " : "", account ? account : "");
}

const char *api_query(struct api_req *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

int api_page_args(struct api_req *rq, struct api_resp *rs, size_t *limit, const char **cursor)
{
    const char *l = api_query(rq, "limit");
    *limit = 50;
    *cursor = api_query(rq, "cursor");
    if (*cursor != NULL && strlen(*cursor) > NW_STORAGE_CURSOR_MAX)
        return api_error(rq, rs, 400, "BAD_REQUEST", "cursor: longer than %d characters", NW_STORAGE_CURSOR_MAX);
    if (l == NULL) return 1;
    size_t v = 0, n = strlen(l);
    if (n == 0 || n > 3) return api_error(rq, rs, 400, "BAD_REQUEST", "limit: must be 1..%d", NW_STORAGE_PAGE_MAX);
    for (size_t i = 0; i < n; i++) {
        if (l[i] < '0' || l[i] > '9')
            return api_error(rq, rs, 400, "BAD_REQUEST", "limit: must be 1..%d", NW_STORAGE_PAGE_MAX);
        v = v * 10 + (size_t)(l[i] - '0');
    }
    if (v < 1 || v > NW_STORAGE_PAGE_MAX)
        return api_error(rq, rs, 400, "BAD_REQUEST", "limit: must be 1..%d", NW_STORAGE_PAGE_MAX);
    *limit = v;
    return 1;
}
