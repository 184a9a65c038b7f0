/*
 * api_sign.c - POST /v1/accounts/{name}/sign/{transaction,message,
 * typed-data,digest}: the stored account is sent with the request to the
 * enclave (docs/protocol.md sign_*), and the signature is written to the
 * audit trail (SignedValueTable) BEFORE it is returned; if recording fails
 * the client gets a 500 (503 when storage is unreachable) and no signature.
 *
 * Trust boundary: network-facing.  The host never sees a key; the enclave
 * re-checks the sealed account and enforces the sealed policy.  A stored
 * record that is damaged (refused by nw_storage_check_account here, or by
 * the enclave's parser) is reported as SEAL_INVALID, as a swapped one is:
 * the client's request was fine, the account does not open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/json.h"
#include "nitrowallet/policy.h"

struct sign_kind {
    const char *path;   /* URL segment */
    const char *op;     /* enclave operation */
    const char *record; /* SignedValueTable Kind */
    const char *const *allowed;
    const char *value;  /* result field recorded as SignedValue */
};

static const char *const tx_keys[] = {"transaction", NULL};
static const char *const msg_keys[] = {"message", "message_hex", NULL};
static const char *const typed_keys[] = {"typed_data", NULL};
static const char *const digest_keys[] = {"digest", NULL};

static const struct sign_kind kinds[] = {
    {"transaction", NW_OP_SIGN_TRANSACTION, "transaction", tx_keys, "raw_transaction"},
    {"message", NW_OP_SIGN_MESSAGE, "message", msg_keys, "signature"},
    {"typed-data", NW_OP_SIGN_TYPED_DATA, "typed_data", typed_keys, "signature"},
    {"digest", NW_OP_SIGN_DIGEST, "digest", digest_keys, "signature"},
};

static const struct sign_kind *find_kind(const char *path)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].path, path) == 0) return &kinds[i];
    return NULL;
}

#define DAMAGED "the stored account record is damaged"

cJSON *api_account_param(const struct nw_account_record *a, struct nw_error *err)
{
    if (nw_storage_check_account(a, err) != NW_OK) {
        nw_error_prefix(err, DAMAGED);
        err->code = NW_ERR_SEAL_INVALID;
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    /* The stored text as it is (nw_storage_check_account just validated it
     * as one JSON object): no tree to build, copy and print on every request;
     * the enclave parses it strictly. */
    cJSON *policy = cJSON_CreateRaw(a->policy);
    if (o == NULL || policy == NULL || cJSON_AddStringToObject(o, "name", a->name) == NULL ||
        cJSON_AddStringToObject(o, "address", a->address) == NULL ||
        cJSON_AddStringToObject(o, "kms_key_id", a->kms_key_id) == NULL ||
        cJSON_AddStringToObject(o, "encrypted_private_key", a->encrypted_private_key) == NULL ||
        cJSON_AddStringToObject(o, "encrypted_data_key", a->encrypted_data_key) == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(policy);
        nw_fail(err, NW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    cJSON_AddItemToObject(o, "policy", policy);
    return o;
}

void api_sign_enclave_error(struct nw_error *err)
{
    static const char prefix[] = "account: ";
    if (err->code != NW_ERR_BAD_REQUEST || strncmp(err->msg, prefix, sizeof(prefix) - 1) != 0) return;
    nw_error_prefix(err, DAMAGED);
    err->code = NW_ERR_SEAL_INVALID;
}

static int record(struct api_req *rq, struct api_resp *rs, const struct sign_kind *k, const char *name,
                  const cJSON *res, char **payload)
{
    struct nw_error err = {0};
    char created[NW_STORAGE_TIME_LEN + 1];
    const cJSON *v = nw_json_get(res, k->value), *h = nw_json_get(res, "transaction_hash");
    if (!cJSON_IsString(v) || (strcmp(k->record, "transaction") == 0 && !cJSON_IsString(h)))
        return api_error(rq, rs, 500, "INTERNAL", "enclave reply lacks %s", k->value);
    struct nw_signed_value_record rec = {
        .name = (char *)name,
        .kind = (char *)k->record,
        .transaction = *payload,
        .signed_value = v->valuestring,
        .tx_hash = cJSON_IsString(h) ? h->valuestring : (char *)"",
        .created_at = created,
        .request_id = rq->request_id,
    };
    if (nw_storage_timestamp(created, &err) != NW_OK ||
        nw_storage_record_signed_value(rq->host->cfg.storage, &rec, &err) != NW_OK) {
        /* 503 when storage was unreachable (retrying later may succeed), else 500; the
         * storage's own text (tables, endpoints, IAM) goes to the log only (api_client_message) */
        fprintf(stderr, "nitrowallet-host: %s: AUDIT_FAILED: %s\n", rq->request_id, err.msg);
        return api_error(rq, rs, err.code == NW_ERR_UNAVAILABLE ? 503 : 500, "AUDIT_FAILED",
                         "recording the signature failed; it is not returned (details in the host log under this "
                         "request_id)");
    }
    return 1;
}

/* The rule a denial names: the enclave's message is `policy: rule "ID": ...`
 * (docs/policy.md); rule ids are [A-Za-z0-9._-]{1,64}.  "" when it names none
 * (a KMS key the enclave does not serve, for one). */
static void denial_rule(char out[NW_POLICY_MAX_ID + 1], const char *msg)
{
    static const char prefix[] = "policy: rule \"";
    const char *end;
    out[0] = '\0';
    if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0) return;
    msg += sizeof(prefix) - 1;
    if ((end = strchr(msg, '"')) == NULL || !nw_policy_id_valid(msg, (size_t)(end - msg))) return;
    memcpy(out, msg, (size_t)(end - msg));
    out[end - msg] = '\0';
}

/* A denial goes to the audit trail as kind "denied" (docs/host-api.md): what
 * was asked, which rule refused it and why, under the request id.  The
 * answer is 403 either way; a denial that cannot be recorded is logged. */
static void record_denial(struct api_req *rq, const struct sign_kind *k, const char *name, const char *payload,
                          const char *rule, const struct nw_error *denial)
{
    struct nw_error err = {0};
    char created[NW_STORAGE_TIME_LEN + 1], *head, *text = NULL;
    cJSON *o = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(o, "denied");
    size_t hl, pl = strlen(payload);
    if (d == NULL || cJSON_AddStringToObject(d, "kind", k->record) == NULL ||
        cJSON_AddStringToObject(d, "rule", rule) == NULL ||
        cJSON_AddStringToObject(d, "message", denial->msg) == NULL || (head = cJSON_PrintUnformatted(o)) == NULL) {
        cJSON_Delete(o);
        fprintf(stderr, "nitrowallet-host: %s: AUDIT_FAILED: out of memory recording a denial\n", rq->request_id);
        return;
    }
    cJSON_Delete(o);
    /* {"denied":{...},"request":PAYLOAD}, the request left out if it would not fit */
    hl = strlen(head);
    if (hl + pl + 16 <= NW_STORAGE_TRANSACTION_MAX && (text = malloc(hl + pl + 16)) != NULL)
        snprintf(text, hl + pl + 16, "%.*s,\"request\":%s}", (int)(hl - 1), head, payload);
    struct nw_signed_value_record rec = {
        .name = (char *)name,
        .kind = (char *)"denied",
        .transaction = text ? text : head,
        .signed_value = (char *)"0x",
        .tx_hash = (char *)"",
        .created_at = created,
        .request_id = rq->request_id,
    };
    if (nw_storage_timestamp(created, &err) != NW_OK ||
        nw_storage_record_signed_value(rq->host->cfg.storage, &rec, &err) != NW_OK)
        fprintf(stderr, "nitrowallet-host: %s: AUDIT_FAILED: the denial was not recorded: %s\n", rq->request_id,
                err.msg);
    free(text);
    cJSON_free(head);
}

static void denied(struct api_req *rq, struct api_resp *rs, const struct sign_kind *k, const char *name,
                   const char *payload, const struct nw_error *err)
{
    char rule[NW_POLICY_MAX_ID + 1];
    denial_rule(rule, err->msg);
    /* a POLICY_DENIED that names no rule is not the account's policy (a KMS
     * key the enclave does not serve): not a policy decision to audit */
    if (rule[0] == '\0') {
        api_fail(rq, rs, err);
        return;
    }
    record_denial(rq, k, name, payload, rule, err);
    api_metrics_policy(rq->host->metrics, rule, 0);
    api_fail_rule(rq, rs, err, rule);
}

void api_sign(struct api_req *rq, struct api_resp *rs, const char *name, const char *kind)
{
    const struct sign_kind *k = find_kind(kind);
    struct nw_account_record acct = {0};
    struct nw_error err = {0};
    cJSON *body = NULL, *params = NULL, *res = NULL, *ap = NULL;
    char *payload = NULL;
    int found = 0;
    if (k == NULL) {
        api_error(rq, rs, 404, "NOT_FOUND", "no such signing endpoint");
        return;
    }
    if (!api_allowed(rq, rs, NW_AUTH_SIGN, name) || !api_body(rq, rs, k->allowed, &body)) goto out;
    if (nw_storage_get_account(rq->host->cfg.storage, name, &acct, &found, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    if (!found) {
        api_error(rq, rs, 404, "NOT_FOUND", "no account '%s'", name);
        goto out;
    }
    ap = api_account_param(&acct, &err);
    if (ap == NULL) {
        api_fail(rq, rs, &err);
        goto out;
    }
    params = cJSON_Duplicate(body, 1);
    payload = malloc(rq->body.len + 1);
    if (params == NULL || payload == NULL) {
        api_error(rq, rs, 500, "NOMEM", "out of memory");
        goto out;
    }
    /* cJSON would re-print 10^15 as "1e+15" on the way to the enclave */
    if (nw_json_exact_integers(params, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    memcpy(payload, rq->body.data, rq->body.len);
    payload[rq->body.len] = '\0';
    cJSON_AddItemToObject(params, "account", ap);
    ap = NULL;
    if (nw_enclave_pool_call(rq->host->cfg.pool, k->op, params, 1, &res, &err) != NW_OK) {
        api_sign_enclave_error(&err);
        if (err.code == NW_ERR_POLICY_DENIED)
            denied(rq, rs, k, name, payload, &err);
        else
            api_fail(rq, rs, &err);
        goto out;
    }
    const cJSON *by = nw_json_get(res, "policy_rule");
    api_metrics_policy(rq->host->metrics, cJSON_IsString(by) ? by->valuestring : "_none", 1);
    if (!record(rq, rs, k, name, res, &payload)) goto out;
    api_json(rq, rs, 200, res);
    res = NULL;
out:
    nw_account_record_clear(&acct);
    cJSON_Delete(body);
    cJSON_Delete(params);
    cJSON_Delete(res);
    cJSON_Delete(ap);
    free(payload);
}
