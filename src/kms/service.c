/*
 * service.c - nitrowallet-kms's request handling: AWS JSON 1.1 (POST /,
 * X-Amz-Target: TrentService.<Operation>, a JSON object body), SigV4
 * authentication, dispatch to the operations, key policy authorisation,
 * and AWS's error shape {"__type": "...", "message": "..."} with AWS's
 * HTTP statuses (400 for client errors including AccessDeniedException,
 * 500 KMSInternalException).
 *
 * Trust boundary: requests from the loopback socket (untrusted).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"
#include "nitrowallet/json.h"

#define REPLY_MAX (128u * 1024u)

enum nw_err kms_fail(struct kms_call *c, const char *type, const char *fmt, ...)
{
    va_list ap;

    c->fault_type = type;
    va_start(ap, fmt);
    vsnprintf(c->fault_msg, sizeof c->fault_msg, fmt, ap);
    va_end(ap);
    return strcmp(type, "KMSInternalException") == 0 ? NW_ERR_INTERNAL : NW_ERR_BAD_REQUEST;
}

int kms_fault_status(const char *type)
{
    if (strcmp(type, "KMSInternalException") == 0 || strcmp(type, "KeyUnavailableException") == 0)
        return 500;
    if (strcmp(type, "DependencyTimeoutException") == 0)
        return 503;
    return 400;
}

/* --- operations table ------------------------------------------------------------ */

struct op {
    const char *name;
    enum nw_err (*run)(struct kms_call *c);
};

static const struct op ops[] = {
    {"CreateKey", kms_op_create_key},
    {"DescribeKey", kms_op_describe_key},
    {"ListKeys", kms_op_list_keys},
    {"CreateAlias", kms_op_create_alias},
    {"ListAliases", kms_op_list_aliases},
    {"EnableKey", kms_op_enable_key},
    {"DisableKey", kms_op_disable_key},
    {"ScheduleKeyDeletion", kms_op_schedule_key_deletion},
    {"CancelKeyDeletion", kms_op_cancel_key_deletion},
    {"Encrypt", kms_op_encrypt},
    {"Decrypt", kms_op_decrypt},
    {"GenerateDataKey", kms_op_generate_data_key},
    {"GenerateDataKeyWithoutPlaintext", kms_op_generate_data_key_without_plaintext},
    {"GenerateRandom", kms_op_generate_random},
    {"GetKeyPolicy", kms_op_get_key_policy},
    {"PutKeyPolicy", kms_op_put_key_policy},
};

static const struct op *find_op(const char *target, size_t len)
{
    static const char prefix[] = "TrentService.";

    if (len <= sizeof prefix - 1 || memcmp(target, prefix, sizeof prefix - 1) != 0)
        return NULL;
    target += sizeof prefix - 1;
    len -= sizeof prefix - 1;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strlen(ops[i].name) == len && memcmp(ops[i].name, target, len) == 0)
            return &ops[i];
    return NULL;
}

/* --- replies ------------------------------------------------------------------------ */

void kms_uuid4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[16];
    size_t o = 0;

    if (nw_random(r, sizeof r) != NW_OK)
        memset(r, 0, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
}

void kms_reply_init(struct nw_kms_reply *reply)
{
    reply->status = 200;
    nw_buf_init(&reply->body, REPLY_MAX);
    kms_uuid4(reply->request_id);
}

static void reply_error(struct nw_kms_reply *reply, const char *type, const char *msg)
{
    struct kms_jw w;

    nw_buf_free(&reply->body);
    reply->status = kms_fault_status(type);
    kms_jw_init(&w, &reply->body);
    kms_jw_open(&w, '{');
    kms_jw_kstr(&w, "__type", type);
    kms_jw_kstr(&w, "message", msg);
    kms_jw_close(&w, '}');
    if (w.rc != NW_OK) {
        /* Only allocation can fail here: answer with no body. */
        nw_buf_free(&reply->body);
        reply->status = 500;
    }
}

void kms_service_dispatch(struct nw_kms_service *svc, const struct kms_caller *caller, const char *target,
                          size_t target_len, const uint8_t *body, size_t body_len, int64_t now_ms,
                          struct nw_kms_reply *reply)
{
    const struct op *op = find_op(target, target_len);
    struct kms_call c;
    cJSON *in = NULL;
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc;

    if (op == NULL) {
        reply_error(reply, "UnknownOperationException", "nitrowallet-kms does not support this operation");
        return;
    }
    if (body_len == 0) {
        body = (const uint8_t *)"{}";
        body_len = 2;
    }
    if (nw_json_parse(&in, (const char *)body, body_len, NW_KMS_MAX_BODY, &e) != NW_OK || !cJSON_IsObject(in)) {
        nw_json_delete_wiped(in);
        reply_error(reply, "SerializationException", in ? "the request body must be a JSON object" : e.msg);
        return;
    }
    memset(&c, 0, sizeof c);
    c.svc = svc;
    c.op = op->name;
    c.caller = caller;
    c.in = in;
    c.now_ms = now_ms;
    kms_jw_init(&c.out, &reply->body);
    kms_jw_open(&c.out, '{');
    rc = op->run(&c);
    kms_jw_close(&c.out, '}');
    if (rc == NW_OK && c.out.rc != NW_OK)
        rc = kms_fail(&c, "KMSInternalException", "reply too large");
    if (rc != NW_OK)
        reply_error(reply, c.fault_type ? c.fault_type : "KMSInternalException",
                    c.fault_type ? c.fault_msg : "internal error");
    nw_json_delete_wiped(in);
}

void nw_kms_service_handle(struct nw_kms_service *svc, const struct nw_kms_http_request *req, time_t now,
                           struct nw_kms_reply *reply)
{
    const struct nw_http_header *target;
    struct kms_caller caller;
    struct kms_call c;

    kms_reply_init(reply);
    memset(&c, 0, sizeof c);
    c.svc = svc;
    c.op = "request";
    if (strcmp(req->method, "POST") != 0 || strcmp(req->path, "/") != 0) {
        reply_error(reply, "UnknownOperationException", "nitrowallet-kms answers POST / (AWS JSON 1.1) only");
        return;
    }
    if (kms_auth_verify(&c, &svc->auth, req, svc->region, now, svc->max_skew_s, &caller) != NW_OK) {
        reply_error(reply, c.fault_type, c.fault_msg);
        return;
    }
    target = nw_kms_http_header(req, "x-amz-target");
    if (target == NULL) {
        reply_error(reply, "UnknownOperationException", "X-Amz-Target is missing");
        return;
    }
    kms_service_dispatch(svc, &caller, target->value, target->value_len, req->body, req->body_len, (int64_t)now * 1000,
                         reply);
}

/* --- authorisation --------------------------------------------------------------------- */

void kms_caller_root(struct kms_caller *caller, const struct nw_kms_service *svc)
{
    memset(caller, 0, sizeof *caller);
    memcpy(caller->access_key_id, "internal", 9);
    snprintf(caller->principal_arn, sizeof caller->principal_arn, "arn:aws:iam::%s:root", svc->account);
    memcpy(caller->account, svc->account, sizeof caller->account);
}

enum nw_err kms_authorize(struct kms_call *c, const struct kms_key *k, const char *action,
                          const struct kms_context *ctx, const struct kms_recipient *r)
{
    char arn[KMS_ARN_MAX];
    struct kms_policy_request pr;
    enum kms_decision d;

    kms_key_arn(&c->svc->store, k->id, arn, sizeof arn);
    pr.action = action;
    pr.principal_arn = c->caller->principal_arn;
    pr.account = c->caller->account;
    pr.resource_arn = arn;
    pr.context = ctx;
    pr.attestation = r != NULL && r->present ? &r->att : NULL;
    d = kms_policy_evaluate(k->policy_tree, &pr);
    if (d == KMS_ALLOW)
        return NW_OK;
    if (d == KMS_DENY_EXPLICIT)
        return kms_fail(c, "AccessDeniedException",
                        "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in a "
                        "resource-based policy",
                        c->caller->principal_arn, action, arn);
    return kms_fail(c, "AccessDeniedException",
                    "User: %s is not authorized to perform: %s on resource: %s because no resource-based policy "
                    "allows the %s action",
                    c->caller->principal_arn, action, arn, action);
}

enum nw_err kms_require_enabled(struct kms_call *c, const struct kms_key *k)
{
    char arn[KMS_ARN_MAX];

    kms_key_arn(&c->svc->store, k->id, arn, sizeof arn);
    if (k->state == KMS_KEY_DISABLED)
        return kms_fail(c, "DisabledException", "%s is disabled.", arn);
    if (k->state == KMS_KEY_PENDING_DELETION)
        return kms_fail(c, "KMSInvalidStateException", "%s is pending deletion.", arn);
    return NW_OK;
}

/* --- lifecycle ------------------------------------------------------------------------------ */

static enum nw_err load_roots(struct nw_kms_service *svc, const struct nw_kms_service_config *cfg, struct nw_error *err)
{
    struct nw_buf pem;
    enum nw_err rc = NW_OK;

    if (cfg->n_attestation_roots == 0) {
        if (cfg->dev_root_file != NULL && (svc->dev_root_file = strdup(cfg->dev_root_file)) == NULL)
            return nw_fail(err, NW_ERR_NOMEM, "out of memory");
        return NW_OK;
    }
    nw_buf_init(&pem, 256u * 1024u);
    for (size_t i = 0; i < cfg->n_attestation_roots && rc == NW_OK; i++) {
        struct nw_attest_roots *check = NULL;
        size_t start = pem.len;
        rc = kms_read_file(cfg->attestation_roots[i], &pem, 256u * 1024u, err);
        if (rc == NW_OK &&
            (rc = nw_attest_roots_from_pem(&check, (const char *)pem.data + start, pem.len - start, err)) != NW_OK)
            nw_error_prefix(err, "--attestation-root %s", cfg->attestation_roots[i]);
        nw_attest_roots_free(check);
        if (rc == NW_OK)
            rc = nw_buf_append(&pem, "\n", 1);
    }
    if (rc == NW_OK) {
        svc->roots_pem = malloc(pem.len);
        if (svc->roots_pem == NULL)
            rc = nw_fail(err, NW_ERR_NOMEM, "out of memory");
        else {
            memcpy(svc->roots_pem, pem.data, pem.len);
            svc->roots_pem_len = pem.len;
        }
    }
    nw_buf_free(&pem);
    return rc;
}

enum nw_err nw_kms_service_open(struct nw_kms_service **out, const struct nw_kms_service_config *cfg,
                                struct nw_error *err)
{
    struct nw_kms_service *svc;
    const char *account = cfg->account_id ? cfg->account_id : KMS_DEFAULT_ACCOUNT;
    char keys_dir[4096];
    enum nw_err rc;

    *out = NULL;
    if (cfg->region == NULL || strlen(cfg->region) == 0 || strlen(cfg->region) > 32)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "region must be 1..32 characters");
    if (strlen(account) != 12 || strspn(account, "0123456789") != 12)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "account id must be 12 digits");
    if ((svc = calloc(1, sizeof *svc)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&svc->roots_mu, NULL) != 0) {
        free(svc);
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    }
    memcpy(svc->region, cfg->region, strlen(cfg->region) + 1);
    memcpy(svc->account, account, 13);
    svc->trust_aws_root = cfg->trust_aws_root;
    svc->max_skew_s = cfg->max_skew_s > 0 ? cfg->max_skew_s : 300;
    svc->max_attestation_age_ms = cfg->max_attestation_age_ms ? cfg->max_attestation_age_ms : 5u * 60u * 1000u;
    if (cfg->state_dir != NULL) {
        if ((size_t)snprintf(keys_dir, sizeof keys_dir, "%s/keys", cfg->state_dir) >= sizeof keys_dir) {
            free(svc);
            return nw_fail(err, NW_ERR_BAD_REQUEST, "state path too long");
        }
        if ((rc = kms_mkdirs(cfg->state_dir, 0700, err)) != NW_OK) {
            free(svc);
            return rc;
        }
    }
    if ((rc = kms_store_open(&svc->store, cfg->state_dir ? keys_dir : NULL, svc->region, account, err)) != NW_OK) {
        free(svc);
        return rc;
    }
    if ((rc = kms_auth_open(&svc->auth, cfg, account, err)) != NW_OK || (rc = load_roots(svc, cfg, err)) != NW_OK) {
        nw_kms_service_free(svc);
        return rc;
    }
    *out = svc;
    return NW_OK;
}

const char *nw_kms_service_credentials_path(const struct nw_kms_service *svc)
{
    return svc->auth.generated_path;
}

void nw_kms_service_free(struct nw_kms_service *svc)
{
    if (svc == NULL)
        return;
    kms_store_close(&svc->store);
    kms_auth_close(&svc->auth);
    free(svc->roots_pem);
    free(svc->dev_root_file);
    nw_attest_roots_free(svc->roots);
    free(svc->roots_key);
    pthread_mutex_destroy(&svc->roots_mu);
    free(svc);
}
