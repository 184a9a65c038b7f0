/*
 * ops_keys.c - nitrowallet-kms's key management operations: CreateKey,
 * DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
 * CancelKeyDeletion, GetKeyPolicy, PutKeyPolicy (AWS KMS API reference,
 * 2014-11-01).
 *
 * Only symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT,
 * origin AWS_KMS) exist here.  Which key references each operation takes
 * follows the API reference: DescribeKey takes aliases, the others a key
 * id or key ARN only.  Every change is persisted before it is answered;
 * if persisting fails the change is undone and KMSInternalException is
 * returned.
 *
 * Trust boundary: request members (untrusted), validated in args.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"

static const char *const state_names[] = {"Enabled", "Disabled", "PendingDeletion"};

void kms_reply_metadata(struct kms_call *c, const struct kms_key *k)
{
    struct kms_jw *w = &c->out;
    char arn[KMS_ARN_MAX];

    kms_key_arn(&c->svc->store, k->id, arn, sizeof arn);
    kms_jw_key(w, "KeyMetadata");
    kms_jw_open(w, '{');
    kms_jw_kstr(w, "AWSAccountId", c->svc->account);
    kms_jw_kstr(w, "KeyId", k->id);
    kms_jw_kstr(w, "Arn", arn);
    kms_jw_key(w, "CreationDate");
    kms_jw_date(w, k->created_ms);
    kms_jw_key(w, "Enabled");
    kms_jw_bool(w, k->state == KMS_KEY_ENABLED);
    kms_jw_kstr(w, "Description", k->description);
    kms_jw_kstr(w, "KeyUsage", "ENCRYPT_DECRYPT");
    kms_jw_kstr(w, "KeyState", state_names[k->state]);
    if (k->state == KMS_KEY_PENDING_DELETION) {
        kms_jw_key(w, "DeletionDate");
        kms_jw_date(w, k->deletion_ms);
    }
    kms_jw_kstr(w, "Origin", "AWS_KMS");
    kms_jw_kstr(w, "KeyManager", "CUSTOMER");
    kms_jw_kstr(w, "CustomerMasterKeySpec", "SYMMETRIC_DEFAULT");
    kms_jw_kstr(w, "KeySpec", "SYMMETRIC_DEFAULT");
    kms_jw_key(w, "EncryptionAlgorithms");
    kms_jw_open(w, '[');
    kms_jw_str(w, "SYMMETRIC_DEFAULT");
    kms_jw_close(w, ']');
    kms_jw_key(w, "MultiRegion");
    kms_jw_bool(w, 0);
    kms_jw_close(w, '}');
}

enum nw_err kms_persist_failed(struct kms_call *c, const struct nw_error *e)
{
    return kms_fail(c, "KMSInternalException", "nitrowallet-kms could not persist the change: %s", e->msg);
}

/* The new policy must let the caller change it again (AWS's lockout check). */
enum nw_err kms_lockout_check(struct kms_call *c, const cJSON *tree, const char *key_id)
{
    char arn[KMS_ARN_MAX];
    struct kms_policy_request pr = {"kms:PutKeyPolicy", c->caller->principal_arn, c->caller->account, arn, NULL, NULL};
    int bypass = 0;
    enum nw_err rc;

    if ((rc = kms_arg_bool(c, "BypassPolicyLockoutSafetyCheck", &bypass)) != NW_OK || bypass)
        return rc;
    kms_key_arn(&c->svc->store, key_id, arn, sizeof arn);
    if (kms_policy_evaluate(tree, &pr) != KMS_ALLOW)
        return kms_fail(c, "MalformedPolicyDocumentException",
                        "The new key policy will not allow you to update the key policy in the future.");
    return NW_OK;
}

/* Policy member: parsed and validated; LimitExceeded past 32 KiB. */
enum nw_err kms_policy_arg(struct kms_call *c, int required, const char **text, cJSON **tree)
{
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc;

    *tree = NULL;
    if ((rc = kms_arg_string(c, "Policy", required, 1, 131072, text)) != NW_OK || *text == NULL)
        return rc;
    if (strlen(*text) > KMS_MAX_POLICY)
        return kms_fail(c, "LimitExceededException", "The key policy exceeds the maximum size of %d bytes",
                        KMS_MAX_POLICY);
    if (kms_policy_parse(tree, *text, strlen(*text), &e) != NW_OK)
        return kms_fail(c, "MalformedPolicyDocumentException", "%s", e.msg);
    return NW_OK;
}

static enum nw_err check_spec(struct kms_call *c)
{
    static const char *const usages[] = {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", NULL};
    static const char *const specs[] = {"RSA_2048",
                                        "RSA_3072",
                                        "RSA_4096",
                                        "ECC_NIST_P256",
                                        "ECC_NIST_P384",
                                        "ECC_NIST_P521",
                                        "ECC_SECG_P256K1",
                                        "SYMMETRIC_DEFAULT",
                                        "HMAC_224",
                                        "HMAC_256",
                                        "HMAC_384",
                                        "HMAC_512",
                                        "SM2",
                                        NULL};
    static const char *const origins[] = {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE", NULL};
    const char *usage, *spec, *cmk_spec, *origin;
    int multi = 0;
    enum nw_err rc;

    if ((rc = kms_arg_enum(c, "KeyUsage", usages, &usage)) != NW_OK ||
        (rc = kms_arg_enum(c, "KeySpec", specs, &spec)) != NW_OK ||
        (rc = kms_arg_enum(c, "CustomerMasterKeySpec", specs, &cmk_spec)) != NW_OK ||
        (rc = kms_arg_enum(c, "Origin", origins, &origin)) != NW_OK ||
        (rc = kms_arg_bool(c, "MultiRegion", &multi)) != NW_OK)
        return rc;
    if (spec != NULL && cmk_spec != NULL)
        return kms_fail(c, "ValidationException", "You cannot specify KeySpec and CustomerMasterKeySpec together");
    if ((usage && strcmp(usage, "ENCRYPT_DECRYPT")) || (spec && strcmp(spec, "SYMMETRIC_DEFAULT")) ||
        (cmk_spec && strcmp(cmk_spec, "SYMMETRIC_DEFAULT")) || (origin && strcmp(origin, "AWS_KMS")) || multi)
        return kms_fail(c, "UnsupportedOperationException",
                        "nitrowallet-kms creates only single-Region SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys with "
                        "origin AWS_KMS");
    return NW_OK;
}

/* A new key's fields; `k` owns what is set here. */
static enum nw_err fill_new_key(struct kms_call *c, struct kms_key *k, const char *desc, const char *policy,
                                cJSON *tree)
{
    size_t n = strlen(desc ? desc : "") + 1;

    k->policy_tree = tree;
    kms_uuid4(k->id);
    k->created_ms = c->now_ms;
    k->state = KMS_KEY_ENABLED;
    free(k->description);
    if ((k->description = malloc(n)) == NULL)
        return kms_fail(c, "KMSInternalException", "out of memory");
    memcpy(k->description, desc ? desc : "", n);
    if (policy != NULL) {
        if ((k->policy = strdup(policy)) == NULL)
            return kms_fail(c, "KMSInternalException", "out of memory");
    } else if (kms_policy_default(&k->policy, c->svc->account) != NW_OK) {
        return kms_fail(c, "KMSInternalException", "out of memory");
    }
    if (tree == NULL && kms_policy_parse(&k->policy_tree, k->policy, strlen(k->policy), NULL) != NW_OK)
        return kms_fail(c, "KMSInternalException", "default policy");
    if (nw_random(k->material, KMS_MATERIAL_LEN) != NW_OK)
        return kms_fail(c, "KMSInternalException", "no randomness for key material");
    return NW_OK;
}

enum nw_err kms_op_create_key(struct kms_call *c)
{
    static const char *const allowed[] = {"Policy",
                                          "Description",
                                          "KeyUsage",
                                          "CustomerMasterKeySpec",
                                          "KeySpec",
                                          "Origin",
                                          "BypassPolicyLockoutSafetyCheck",
                                          "MultiRegion",
                                          NULL};
    struct kms_store *s = &c->svc->store;
    struct kms_key *k = NULL;
    const char *desc, *policy;
    cJSON *tree = NULL;
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = check_spec(c)) != NW_OK ||
        (rc = kms_arg_string(c, "Description", 0, 0, KMS_MAX_DESCRIPTION, &desc)) != NW_OK ||
        (rc = kms_policy_arg(c, 0, &policy, &tree)) != NW_OK) {
        cJSON_Delete(tree);
        return rc;
    }
    kms_store_lock(s);
    if (kms_store_new_key(s, &k, &e) != NW_OK) {
        rc = kms_fail(c, e.code == NW_ERR_TOO_LARGE ? "LimitExceededException" : "KMSInternalException", "%s", e.msg);
        goto out;
    }
    rc = fill_new_key(c, k, desc, policy, tree);
    tree = NULL; /* owned by k now */
    if (rc != NW_OK || (rc = kms_lockout_check(c, k->policy_tree, k->id)) != NW_OK)
        goto out;
    if (kms_store_find(s, k->id) != NULL) {
        rc = kms_fail(c, "KMSInternalException", "key id collision; try again");
        goto out;
    }
    if (kms_store_save(s, k, 1, &e) != NW_OK || kms_store_insert(s, k, &e) != NW_OK) {
        rc = kms_persist_failed(c, &e);
        goto out;
    }
    kms_reply_metadata(c, k);
    k = NULL;
out:
    kms_key_free(k);
    cJSON_Delete(tree);
    kms_store_unlock(s);
    return rc;
}

/* KeyId member resolved under the lock, and the action authorised. */
enum nw_err kms_target_key(struct kms_call *c, unsigned forms, const char *action, struct kms_key **k)
{
    const char *ref;
    enum nw_err rc;

    if ((rc = kms_arg_string(c, "KeyId", 1, 1, 2048, &ref)) != NW_OK ||
        (rc = kms_resolve(c, &c->svc->store, ref, forms, k)) != NW_OK)
        return rc;
    return kms_authorize(c, *k, action, NULL, NULL);
}

enum nw_err kms_op_describe_key(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId", "GrantTokens", NULL};
    struct kms_store *s = &c->svc->store;
    struct kms_key *k;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = kms_arg_grant_tokens(c)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_target_key(c, KMS_REF_KEY | KMS_REF_ALIAS, "kms:DescribeKey", &k)) == NW_OK)
        kms_reply_metadata(c, k);
    kms_store_unlock(s);
    return rc;
}

enum nw_err kms_op_list_keys(struct kms_call *c)
{
    static const char *const allowed[] = {"Limit", "Marker", NULL};
    struct kms_store *s = &c->svc->store;
    const char *marker;
    long limit = 100;
    int present;
    size_t i = 0, n = 0;
    char arn[KMS_ARN_MAX];
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK ||
        (rc = kms_arg_int(c, "Limit", 1, 1000, &limit, &present)) != NW_OK ||
        (rc = kms_arg_string(c, "Marker", 0, 1, 1024, &marker)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if (marker != NULL) {
        for (i = 0; i < s->n_keys && strcmp(s->keys[i]->id, marker) != 0; i++)
            ;
        if (i == s->n_keys) {
            rc = kms_fail(c, "InvalidMarkerException", "The marker is not valid");
            goto out;
        }
    }
    kms_jw_key(&c->out, "Keys");
    kms_jw_open(&c->out, '[');
    for (; i < s->n_keys && n < (size_t)limit; i++, n++) {
        kms_key_arn(s, s->keys[i]->id, arn, sizeof arn);
        kms_jw_open(&c->out, '{');
        kms_jw_kstr(&c->out, "KeyId", s->keys[i]->id);
        kms_jw_kstr(&c->out, "KeyArn", arn);
        kms_jw_close(&c->out, '}');
    }
    kms_jw_close(&c->out, ']');
    if (i < s->n_keys)
        kms_jw_kstr(&c->out, "NextMarker", s->keys[i]->id);
    kms_jw_key(&c->out, "Truncated");
    kms_jw_bool(&c->out, i < s->n_keys);
out:
    kms_store_unlock(s);
    return rc;
}

/* Enable / disable: a change of state, persisted. */
static enum nw_err set_enabled(struct kms_call *c, const char *action, enum kms_key_state to)
{
    static const char *const allowed[] = {"KeyId", NULL};
    struct kms_store *s = &c->svc->store;
    struct nw_error e = {NW_OK, ""};
    struct kms_key *k;
    enum kms_key_state was;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_target_key(c, KMS_REF_KEY, action, &k)) != NW_OK)
        goto out;
    if (k->state == KMS_KEY_PENDING_DELETION) {
        char arn[KMS_ARN_MAX];
        kms_key_arn(s, k->id, arn, sizeof arn);
        rc = kms_fail(c, "KMSInvalidStateException", "%s is pending deletion.", arn);
        goto out;
    }
    was = k->state;
    k->state = to;
    if (was != to && kms_store_save(s, k, 0, &e) != NW_OK) {
        k->state = was;
        rc = kms_persist_failed(c, &e);
    }
out:
    kms_store_unlock(s);
    return rc;
}

enum nw_err kms_op_enable_key(struct kms_call *c)
{
    return set_enabled(c, "kms:EnableKey", KMS_KEY_ENABLED);
}

enum nw_err kms_op_disable_key(struct kms_call *c)
{
    return set_enabled(c, "kms:DisableKey", KMS_KEY_DISABLED);
}
