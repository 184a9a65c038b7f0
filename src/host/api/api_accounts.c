/*
 * api_accounts.c - account endpoints of the host API: POST /v1/accounts
 * (enclave generate_account, then a conditional AccountTable write committed
 * before the address is returned), GET /v1/accounts (paginated) and
 * GET /v1/accounts/{name}, plus the audit trail GET .../signatures.
 *
 * Trust boundary: network-facing.  Only public data is returned: the sealed
 * key and data key stay in storage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/secret.h"

static cJSON *account_json(const struct nw_account_record *a)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) return NULL;
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "address", a->address);
    cJSON_AddStringToObject(o, "kms_key_id", a->kms_key_id);
    cJSON_AddStringToObject(o, "policy_digest", a->policy_digest);
    cJSON_AddStringToObject(o, "created_at", a->created_at);
    return o;
}

/* The name from the body, or "acct-" + 16 random hex digits. */
static int pick_name(struct api_req *rq, struct api_resp *rs, const cJSON *body, char name[NW_STORAGE_NAME_MAX + 1])
{
    const cJSON *n = nw_json_get(body, "name");
    if (n != NULL) {
        if (!cJSON_IsString(n) || !nw_storage_name_valid(n->valuestring))
            return api_error(rq, rs, 400, "BAD_REQUEST",
                             "name: must be 1..%d characters of [A-Za-z0-9._-], not starting with '.'",
                             NW_STORAGE_NAME_MAX);
        snprintf(name, NW_STORAGE_NAME_MAX + 1, "%s", n->valuestring);
        return 1;
    }
    uint8_t rnd[8];
    char hex[NW_HEX_SIZE(8)];
    if (nw_random(rnd, sizeof(rnd)) != NW_OK || nw_hex_encode(hex, sizeof(hex), rnd, sizeof(rnd)) != NW_OK)
        return api_error(rq, rs, 500, "RANDOM", "could not draw a name");
    snprintf(name, NW_STORAGE_NAME_MAX + 1, "acct-%s", hex + 2);
    return 1;
}

/* The body's "policy" (checked here with the enclave's own parser, so a
 * mistake is a 400 that names the field before any enclave call), or the
 * legacy "allow_digest": true (the default policy plus raw digests).  On
 * success *policy is the tree to forward (NULL: the enclave's default). */
static int pick_policy(struct api_req *rq, struct api_resp *rs, const cJSON *body, cJSON **policy)
{
    static const char digest_policy[] = "{\"version\":1,\"rules\":[" NW_POLICY_DEFAULT_RULES
                                        ",{\"id\":\"allow-digest\",\"effect\":\"allow\",\"kind\":\"digest\"}]}";
    const cJSON *p = nw_json_get(body, "policy"), *d = nw_json_get(body, "allow_digest");
    struct nw_policy parsed;
    struct nw_error err = {0};

    *policy = NULL;
    if (p != NULL && d != NULL)
        return api_error(rq, rs, 400, "BAD_REQUEST", "policy and allow_digest: give one (a policy names its own "
                         "digest rule)");
    if (d != NULL && !cJSON_IsBool(d))
        return api_error(rq, rs, 400, "BAD_REQUEST", "allow_digest: must be true or false");
    if (p == NULL) {
        if (d == NULL || !cJSON_IsTrue(d)) return 1;
        if ((*policy = cJSON_Parse(digest_policy)) == NULL) return api_error(rq, rs, 500, "NOMEM", "out of memory");
        return 1;
    }
    if (nw_policy_from_json(&parsed, p, &err) != NW_OK) return api_fail(rq, rs, &err);
    nw_policy_free(&parsed);
    /* forwarded with its integers exactly as sent (cJSON alone would print 10^15 as 1e+15) */
    if ((*policy = cJSON_Duplicate(p, 1)) == NULL) return api_error(rq, rs, 500, "NOMEM", "out of memory");
    if (nw_json_exact_integers(*policy, &err) != NW_OK) {
        cJSON_Delete(*policy);
        *policy = NULL;
        return api_fail(rq, rs, &err);
    }
    return 1;
}

static int pick_options(struct api_req *rq, struct api_resp *rs, const cJSON *body, const char **kms,
                        cJSON **policy)
{
    const cJSON *k = nw_json_get(body, "kms_key_id");
    *kms = rq->host->cfg.kms_key_id;
    *policy = NULL;
    if (k != NULL) {
        if (!cJSON_IsString(k) || k->valuestring[0] == '\0' || strlen(k->valuestring) > NW_STORAGE_KMS_KEY_ID_MAX)
            return api_error(rq, rs, 400, "BAD_REQUEST", "kms_key_id: must be a non-empty string");
        *kms = k->valuestring;
    }
    if (*kms == NULL) return api_error(rq, rs, 400, "BAD_REQUEST", "kms_key_id: required (no default configured)");
    return pick_policy(rq, rs, body, policy);
}

static const char *result_string(const cJSON *r, const char *key)
{
    const cJSON *v = nw_json_get(r, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "0x" and 2..128 hex digits (1..64 bytes), or 0. */
static int nonce_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 4 || n > 130 || n % 2 != 0 || s[0] != '0' || s[1] != 'x') return 0;
    return strspn(s + 2, "0123456789abcdefABCDEF") == n - 2;
}

/* Generate in the enclave and store; on success `rec` describes the account.
 * `policy` (NULL: the enclave's default) is consumed.  What is stored is the
 * policy as the enclave returned it (its canonical text, whose digest the
 * seal binds), not what the client sent. */
static int generate_and_store(struct api_req *rq, struct api_resp *rs, const char *name, const char *kms,
                              cJSON *policy, const char *proof_nonce, char created[NW_STORAGE_TIME_LEN + 1])
{
    struct nw_error err = {0};
    cJSON *params = cJSON_CreateObject(), *res = NULL;
    char *stored = NULL;
    int ok = 0, exists = 0;
    if (params == NULL) {
        cJSON_Delete(policy);
        return api_error(rq, rs, 500, "NOMEM", "out of memory");
    }
    cJSON_AddStringToObject(params, "name", name);
    cJSON_AddStringToObject(params, "kms_key_id", kms);
    if (policy != NULL) cJSON_AddItemToObject(params, "policy", policy);
    if (proof_nonce != NULL) cJSON_AddStringToObject(params, "proof_nonce", proof_nonce);
    if (nw_enclave_pool_call(rq->host->cfg.pool, NW_OP_GENERATE_ACCOUNT, params, 1, &res, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    const cJSON *rp = nw_json_get(res, "policy");
    if (!cJSON_IsObject(rp) || (stored = cJSON_PrintUnformatted(rp)) == NULL) {
        api_error(rq, rs, 502, "INTERNAL", "enclave reply lacks the account's policy");
        goto out;
    }
    struct nw_account_record rec = {
        .name = (char *)name,
        .kms_key_id = (char *)kms,
        .address = (char *)result_string(res, "address"),
        .encrypted_private_key = (char *)result_string(res, "encrypted_private_key"),
        .encrypted_data_key = (char *)result_string(res, "encrypted_data_key"),
        .policy = stored,
        .policy_digest = (char *)result_string(res, "policy_digest"),
        .created_at = created,
    };
    if (!rec.address || !rec.encrypted_private_key || !rec.encrypted_data_key || !rec.policy_digest) {
        api_error(rq, rs, 502, "INTERNAL", "enclave reply lacks account fields");
        goto out;
    }
    if (nw_storage_timestamp(created, &err) != NW_OK ||
        nw_storage_create_account(rq->host->cfg.storage, &rec, &exists, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    if (exists) {
        api_error(rq, rs, 409, "CONFLICT", "account '%s' exists", name);
        goto out;
    }
    cJSON *o = account_json(&rec);
    const cJSON *proof = nw_json_get(res, "proof");
    if (o != NULL && proof_nonce != NULL && cJSON_IsObject(proof) && result_string(proof, "document") != NULL) {
        cJSON *p = cJSON_AddObjectToObject(o, "proof");
        cJSON_AddStringToObject(p, "nonce", proof_nonce);
        cJSON_AddStringToObject(p, "document", result_string(proof, "document"));
    }
    ok = api_json(rq, rs, 201, o);
out:
    cJSON_free(stored);
    cJSON_Delete(params);
    cJSON_Delete(res);
    return ok;
}

void api_accounts_create(struct api_req *rq, struct api_resp *rs)
{
    static const char *const allowed[] = {"name", "kms_key_id", "policy", "allow_digest", "proof_nonce", NULL};
    cJSON *body = NULL, *policy = NULL;
    char name[NW_STORAGE_NAME_MAX + 1], created[NW_STORAGE_TIME_LEN + 1];
    const char *kms = NULL;
    int found = 0;
    struct nw_account_record old = {0};
    struct nw_error err = {0};
    if (!api_allowed(rq, rs, NW_AUTH_ACCOUNT_CREATE, NULL) || !api_body(rq, rs, allowed, &body)) goto out;
    if (!pick_name(rq, rs, body, name) || !pick_options(rq, rs, body, &kms, &policy)) goto out;
    const cJSON *pn = nw_json_get(body, "proof_nonce");
    if (pn != NULL && (!cJSON_IsString(pn) || !nonce_ok(pn->valuestring))) {
        api_error(rq, rs, 400, "BAD_REQUEST", "proof_nonce: \"0x\" and 1..64 bytes of hex");
        goto out;
    }
    /* a name already taken costs no enclave or KMS call */
    if (nw_storage_get_account(rq->host->cfg.storage, name, &old, &found, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    if (found) {
        api_error(rq, rs, 409, "CONFLICT", "account '%s' exists", name);
        goto out;
    }
    (void)generate_and_store(rq, rs, name, kms, policy, pn ? pn->valuestring : NULL, created);
    policy = NULL;
out:
    cJSON_Delete(policy);
    nw_account_record_clear(&old);
    cJSON_Delete(body);
}

void api_accounts_list(struct api_req *rq, struct api_resp *rs)
{
    size_t limit;
    const char *cursor;
    struct nw_account_page page = {0};
    struct nw_error err = {0};
    if (!api_allowed(rq, rs, NW_AUTH_ACCOUNT_LIST, NULL) || !api_page_args(rq, rs, &limit, &cursor)) return;
    if (nw_storage_list_accounts(rq->host->cfg.storage, limit, cursor, &page, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "accounts");
    for (size_t i = 0; arr != NULL && i < page.count; i++) cJSON_AddItemToArray(arr, account_json(&page.items[i]));
    cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    nw_account_page_free(&page);
    api_json(rq, rs, 200, o);
}

void api_accounts_get(struct api_req *rq, struct api_resp *rs, const char *name)
{
    struct nw_account_record rec = {0};
    struct nw_error err = {0};
    int found = 0;
    if (!api_allowed(rq, rs, NW_AUTH_ACCOUNT_READ, name)) return;
    if (nw_storage_get_account(rq->host->cfg.storage, name, &rec, &found, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        return;
    }
    if (!found) {
        api_error(rq, rs, 404, "NOT_FOUND", "no account '%s'", name);
        return;
    }
    cJSON *o = account_json(&rec);
    cJSON *p = cJSON_Parse(rec.policy);
    if (o != NULL && p != NULL) cJSON_AddItemToObject(o, "policy", p);
    else cJSON_Delete(p);
    nw_account_record_clear(&rec);
    api_json(rq, rs, 200, o);
}

/* GET /v1/accounts/{name}/proof?nonce=0x..: the enclave opens the account
 * and attests to it (docs/attestation.md, "Account proofs"). */
void api_accounts_proof(struct api_req *rq, struct api_resp *rs, const char *name)
{
    struct nw_account_record rec = {0};
    struct nw_error err = {0};
    const char *nonce = api_query(rq, "nonce");
    cJSON *params = NULL, *res = NULL, *ap = NULL;
    int found = 0;
    if (!api_allowed(rq, rs, NW_AUTH_ACCOUNT_READ, name)) return;
    if (!nonce_ok(nonce)) {
        api_error(rq, rs, 400, "BAD_REQUEST", "nonce: required, \"0x\" and 1..64 bytes of hex");
        return;
    }
    if (nw_storage_get_account(rq->host->cfg.storage, name, &rec, &found, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    if (!found) {
        api_error(rq, rs, 404, "NOT_FOUND", "no account '%s'", name);
        goto out;
    }
    if ((ap = api_account_param(&rec, &err)) == NULL || (params = cJSON_CreateObject()) == NULL) {
        if (ap == NULL) api_fail(rq, rs, &err);
        else api_error(rq, rs, 500, "NOMEM", "out of memory");
        goto out;
    }
    cJSON_AddItemToObject(params, "account", ap);
    ap = NULL;
    cJSON_AddStringToObject(params, "nonce", nonce);
    if (nw_enclave_pool_call(rq->host->cfg.pool, NW_OP_PROVE_ACCOUNT, params, 1, &res, &err) != NW_OK) {
        api_sign_enclave_error(&err);
        api_fail(rq, rs, &err);
        goto out;
    }
    const cJSON *proof = nw_json_get(res, "proof");
    const char *doc = cJSON_IsObject(proof) ? result_string(proof, "document") : NULL;
    if (doc == NULL) {
        api_error(rq, rs, 502, "INTERNAL", "enclave reply lacks the proof");
        goto out;
    }
    cJSON *o = account_json(&rec);
    if (o != NULL) {
        cJSON_AddStringToObject(o, "nonce", nonce);
        cJSON_AddStringToObject(o, "document", doc);
    }
    api_json(rq, rs, 200, o);
out:
    nw_account_record_clear(&rec);
    cJSON_Delete(params);
    cJSON_Delete(res);
    cJSON_Delete(ap);
}

void api_signatures_list(struct api_req *rq, struct api_resp *rs, const char *name)
{
    size_t limit;
    const char *cursor;
    struct nw_signed_value_page page = {0};
    struct nw_error err = {0};
    if (!api_allowed(rq, rs, NW_AUTH_AUDIT_READ, name) || !api_page_args(rq, rs, &limit, &cursor)) return;
    if (nw_storage_list_signed_values(rq->host->cfg.storage, name, limit, cursor, &page, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "signatures");
    for (size_t i = 0; arr != NULL && i < page.count; i++) {
        const struct nw_signed_value_record *s = &page.items[i];
        cJSON *it = cJSON_CreateObject();
        cJSON_AddNumberToObject(it, "seq", (double)s->seq);
        cJSON_AddStringToObject(it, "kind", s->kind);
        cJSON_AddStringToObject(it, "signed_value", s->signed_value);
        cJSON_AddStringToObject(it, "tx_hash", s->tx_hash);
        cJSON_AddStringToObject(it, "created_at", s->created_at);
        cJSON_AddStringToObject(it, "request_id", s->request_id);
        cJSON *req = cJSON_Parse(s->transaction);
        if (req != NULL) cJSON_AddItemToObject(it, "request", req);
        cJSON_AddItemToArray(arr, it);
    }
    cJSON_AddStringToObject(o, "next_cursor", page.next_cursor);
    nw_signed_value_page_free(&page);
    api_json(rq, rs, 200, o);
}
