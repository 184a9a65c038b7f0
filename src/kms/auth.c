/*
 * auth.c - who may call nitrowallet-kms: its credentials, and SigV4
 * verification of every request (AWS General Reference, "Signature
 * Version 4"), with AWS's error types for each failure.
 *
 * Credentials come from a JSON file (--credentials: a list of
 * {"AccessKeyId", "SecretAccessKey", optional "SessionToken" and
 * "PrincipalArn"}), from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or,
 * when neither is given, from <state>/credentials, generated on first start
 * (mode 0600) in the same format; a memory-only service (no state directory,
 * for tests) may have none.  Secret keys are kept in locked memory.
 * A credential with a SessionToken requires that exact
 * X-Amz-Security-Token; without one any token is accepted (development).
 * Each credential acts as PrincipalArn, by default the account root
 * arn:aws:iam::<account>:root, for key policy evaluation.
 *
 * Trust boundary: request headers (untrusted); the credentials file is the
 * operator's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kms_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/json.h"

#define CREDENTIALS_MAX (64u * 1024u)

static int printable_id(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);

    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ',' || s[i] == '/' || s[i] == '=')
            return 0;
    return 1;
}

enum nw_err kms_auth_add(struct kms_auth *a, const char *akid, const char *secret, const char *token,
                         const char *principal_arn, struct nw_error *err)
{
    struct kms_cred *c, *grown;
    size_t slen = strlen(secret);

    if (a->n == KMS_MAX_CREDENTIALS)
        return nw_fail(err, NW_ERR_TOO_LARGE, "credentials: at most %d", KMS_MAX_CREDENTIALS);
    if (!printable_id(akid, 4, 128))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "credentials: AccessKeyId must be 4..128 printable characters");
    if (slen == 0 || slen > 128)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "credentials: SecretAccessKey must be 1..128 characters");
    if (principal_arn != NULL && (strlen(principal_arn) >= KMS_ARN_MAX || strncmp(principal_arn, "arn:", 4) != 0))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "credentials: PrincipalArn must be an ARN");
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->creds[i].access_key_id, akid) == 0)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "credentials: AccessKeyId %s given twice", akid);
    if ((grown = calloc(a->n + 1, sizeof *grown)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    if (a->n)
        memcpy(grown, a->creds, a->n * sizeof *grown);
    free(a->creds);
    a->creds = grown;
    c = &a->creds[a->n];
    if (nw_secret_alloc(&c->secret, slen + 1) != NW_OK)
        return nw_fail(err, NW_ERR_NOMEM, "credentials: cannot lock memory");
    memcpy(c->secret.data, secret, slen + 1);
    if (token != NULL && (c->session_token = strdup(token)) == NULL) {
        nw_secret_free(&c->secret);
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    }
    memcpy(c->access_key_id, akid, strlen(akid) + 1);
    memcpy(c->principal_arn, principal_arn ? principal_arn : "", principal_arn ? strlen(principal_arn) + 1 : 1);
    a->n++;
    return NW_OK;
}

static enum nw_err add_entry(struct kms_auth *a, const cJSON *e, const char *account, struct nw_error *err)
{
    static const char *const keys[] = {"AccessKeyId", "SecretAccessKey", "SessionToken", "PrincipalArn", NULL};
    const cJSON *tok = nw_json_get(e, "SessionToken"), *arn = nw_json_get(e, "PrincipalArn");
    const char *akid, *secret;
    char root[KMS_ARN_MAX];
    size_t n;
    enum nw_err rc;

    if ((rc = nw_json_check_keys(e, keys, "credential", err)) != NW_OK ||
        (rc = nw_json_string(&akid, &n, nw_json_get(e, "AccessKeyId"), "AccessKeyId", err)) != NW_OK ||
        (rc = nw_json_string(&secret, &n, nw_json_get(e, "SecretAccessKey"), "SecretAccessKey", err)) != NW_OK)
        return rc;
    if ((tok != NULL && !cJSON_IsString(tok)) || (arn != NULL && !cJSON_IsString(arn)))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "SessionToken and PrincipalArn must be strings");
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", account);
    return kms_auth_add(a, akid, secret, tok ? tok->valuestring : NULL, arn ? arn->valuestring : root, err);
}

static enum nw_err load_file(struct kms_auth *a, const char *path, const char *account, struct nw_error *err)
{
    struct nw_buf text;
    cJSON *root = NULL;
    const cJSON *e;
    enum nw_err rc;

    nw_buf_init(&text, CREDENTIALS_MAX);
    NW_GUARD(kms_read_file(path, &text, CREDENTIALS_MAX, err));
    NW_GUARD(nw_json_parse(&root, (const char *)text.data, text.len, CREDENTIALS_MAX, err));
    if (cJSON_IsObject(root)) {
        NW_GUARD(add_entry(a, root, account, err));
    } else if (cJSON_IsArray(root) && root->child != NULL) {
        cJSON_ArrayForEach(e, root)
        {
            NW_GUARD(add_entry(a, e, account, err));
        }
    } else {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "expected a non-empty list of credentials");
    }
out:
    nw_json_delete_wiped(root);
    nw_buf_free(&text);
    if (rc != NW_OK)
        nw_error_prefix(err, "credentials file %s", path);
    return rc;
}

/* A development credential: "AKIANWKMSDEV" + 8 base32 characters, and a
 * 40-character secret (base64 of 30 random bytes). */
static enum nw_err generate(const char *state_dir, const char *path, struct nw_error *err)
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t rnd[38];
    char akid[21], secret[NW_BASE64_SIZE(30)], text[256];
    int n;
    enum nw_err rc;

    if (nw_random(rnd, sizeof rnd) != NW_OK)
        return nw_fail(err, NW_ERR_RANDOM, "no randomness for a credential");
    memcpy(akid, "AKIANWKMSDEV", 12);
    for (int i = 0; i < 8; i++)
        akid[12 + i] = b32[rnd[i] & 31];
    akid[20] = '\0';
    if (nw_base64_encode(secret, sizeof secret, rnd + 8, 30) != NW_OK)
        return nw_fail(err, NW_ERR_INTERNAL, "base64");
    n = snprintf(text, sizeof text, "[{\"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\"}]\n", akid, secret);
    rc = kms_write_atomic(state_dir, "credentials", text, (size_t)n, 0600, 1, err);
    nw_wipe(rnd, sizeof rnd);
    nw_wipe(secret, sizeof secret);
    nw_wipe(text, sizeof text);
    (void)path;
    return rc;
}

enum nw_err kms_auth_open(struct kms_auth *a, const struct nw_kms_service_config *cfg, const char *account,
                          struct nw_error *err)
{
    const char *akid = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    char root[KMS_ARN_MAX];
    struct stat st;
    enum nw_err rc = NW_OK;

    memset(a, 0, sizeof *a);
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", account);
    if (cfg->credentials_file != NULL)
        NW_GUARD(load_file(a, cfg->credentials_file, account, err));
    if (cfg->use_env_credentials && akid != NULL && *akid && secret != NULL && *secret)
        NW_GUARD(kms_auth_add(a, akid, secret, NULL, root, err));
    if (a->n == 0 && cfg->state_dir != NULL) {
        snprintf(a->generated_path, sizeof a->generated_path, "%s/credentials", cfg->state_dir);
        if (stat(a->generated_path, &st) != 0)
            NW_GUARD(generate(cfg->state_dir, a->generated_path, err));
        NW_GUARD(load_file(a, a->generated_path, account, err));
    }
    /* Memory-only services (tests, fuzzing) may have none: every request
     * is then refused as from an unknown access key. */
    if (a->n == 0 && cfg->state_dir != NULL)
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "no credentials configured");
out:
    if (rc != NW_OK)
        kms_auth_close(a);
    return rc;
}

void kms_auth_close(struct kms_auth *a)
{
    for (size_t i = 0; i < a->n; i++) {
        nw_secret_free(&a->creds[i].secret);
        if (a->creds[i].session_token != NULL) {
            nw_wipe(a->creds[i].session_token, strlen(a->creds[i].session_token));
            free(a->creds[i].session_token);
        }
    }
    free(a->creds);
    memset(a, 0, sizeof *a);
}

static const struct kms_cred *find(const struct kms_auth *a, const char *akid)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->creds[i].access_key_id, akid) == 0)
            return &a->creds[i];
    return NULL;
}

static enum nw_err lookup(void *ctx, const char *akid, char *secret, size_t cap)
{
    const struct kms_cred *c = find(ctx, akid);

    if (c == NULL)
        return NW_ERR_POLICY_DENIED;
    if (strlen((const char *)c->secret.data) >= cap)
        return NW_ERR_TOO_LARGE;
    memcpy(secret, c->secret.data, strlen((const char *)c->secret.data) + 1);
    return NW_OK;
}

static enum nw_err refused(struct kms_call *c, enum nw_sigv4_failure why, const struct nw_error *e)
{
    const char *msg = strncmp(e->msg, "sigv4: ", 7) == 0 ? e->msg + 7 : e->msg;

    switch (why) {
    case NW_SIGV4_MISSING: return kms_fail(c, "MissingAuthenticationTokenException", "Missing Authentication Token");
    case NW_SIGV4_UNKNOWN_KEY:
        return kms_fail(c, "UnrecognizedClientException", "The security token included in the request is invalid.");
    case NW_SIGV4_EXPIRED:
        if (strncmp(msg, "Signature expired", 17) == 0)
            return kms_fail(c, "InvalidSignatureException", "%s", msg);
        return kms_fail(c, "InvalidSignatureException", "Signature expired: %s", msg);
    case NW_SIGV4_BAD_SIGNATURE:
        return kms_fail(c, "InvalidSignatureException",
                        "The request signature we calculated does not match the signature you provided. Check "
                        "your AWS Secret Access Key and signing method. Consult the service documentation for "
                        "details.");
    case NW_SIGV4_MALFORMED:
    case NW_SIGV4_OK: break;
    }
    return kms_fail(c, "IncompleteSignatureException", "%s", msg[0] ? msg : "Incomplete signature");
}

static int token_ok(const struct kms_cred *cred, const struct nw_kms_http_request *req)
{
    const struct nw_http_header *h = nw_kms_http_header(req, "x-amz-security-token");
    size_t n;

    if (cred->session_token == NULL)
        return 1;
    n = strlen(cred->session_token);
    return h != NULL && h->value_len == n && nw_ct_equal(h->value, cred->session_token, n);
}

enum nw_err kms_auth_verify(struct kms_call *c, const struct kms_auth *a, const struct nw_kms_http_request *req,
                            const char *region, time_t now, long max_skew_s, struct kms_caller *caller)
{
    struct nw_sigv4_request sreq = {req->method,    req->path, req->query,   req->headers,
                                    req->n_headers, req->body, req->body_len};
    struct nw_sigv4_verified v;
    enum nw_sigv4_failure why = NW_SIGV4_OK;
    struct nw_error e = {NW_OK, ""};
    const struct kms_cred *cred;
    const char *acct;

    memset(caller, 0, sizeof *caller);
    if (nw_sigv4_verify(&v, &why, &sreq, "kms", lookup, (void *)a, now, max_skew_s, &e) != NW_OK)
        return refused(c, why == NW_SIGV4_OK ? NW_SIGV4_MALFORMED : why, &e);
    if (strcmp(v.region, region) != 0)
        return kms_fail(c, "InvalidSignatureException", "Credential should be scoped to a valid region, not '%.32s'. ",
                        v.region);
    if ((cred = find(a, v.access_key_id)) == NULL || !token_ok(cred, req))
        return kms_fail(c, "UnrecognizedClientException", "The security token included in the request is invalid.");
    memcpy(caller->access_key_id, cred->access_key_id, sizeof caller->access_key_id);
    memcpy(caller->principal_arn, cred->principal_arn, sizeof caller->principal_arn);
    /* arn:<partition>:iam::<account>:... (sts assumed-role ARNs have the same shape) */
    acct = strstr(caller->principal_arn, "::");
    if (acct != NULL && strlen(acct) >= 14 && acct[14] == ':') {
        memcpy(caller->account, acct + 2, 12);
        caller->account[12] = '\0';
    } else {
        memcpy(caller->account, c->svc->account, sizeof caller->account);
    }
    return NW_OK;
}
