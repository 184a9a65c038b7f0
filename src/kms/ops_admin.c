/*
 * ops_admin.c - nitrowallet-kms's key administration operations:
 * ScheduleKeyDeletion, CancelKeyDeletion, GetKeyPolicy, PutKeyPolicy,
 * CreateAlias, ListAliases (AWS KMS API reference, 2014-11-01).
 *
 * A key scheduled for deletion stays PendingDeletion (unusable) after its
 * DeletionDate: nitrowallet-kms never destroys key material on its own
 * (docs/kms.md).  Aliases are stored in their target key's file.
 *
 * Trust boundary: request members (untrusted), validated in args.c.
 */
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"

#define DAY_MS (24LL * 60 * 60 * 1000)

static enum nw_err pending(struct kms_call *c, const struct kms_key *k)
{
    char arn[KMS_ARN_MAX];

    kms_key_arn(&c->svc->store, k->id, arn, sizeof arn);
    return kms_fail(c, "KMSInvalidStateException", "%s is pending deletion.", arn);
}

enum nw_err kms_op_schedule_key_deletion(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId", "PendingWindowInDays", NULL};
    struct kms_store *s = &c->svc->store;
    struct nw_error e = {NW_OK, ""};
    char arn[KMS_ARN_MAX];
    struct kms_key *k;
    enum kms_key_state was;
    long days = 30;
    int present;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK ||
        (rc = kms_arg_int(c, "PendingWindowInDays", 7, 30, &days, &present)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_target_key(c, KMS_REF_KEY, "kms:ScheduleKeyDeletion", &k)) != NW_OK)
        goto out;
    if (k->state == KMS_KEY_PENDING_DELETION) {
        rc = pending(c, k);
        goto out;
    }
    was = k->state;
    k->state = KMS_KEY_PENDING_DELETION;
    k->deletion_ms = c->now_ms + days * DAY_MS;
    k->pending_days = days;
    if (kms_store_save(s, k, 0, &e) != NW_OK) {
        k->state = was;
        rc = kms_persist_failed(c, &e);
        goto out;
    }
    kms_key_arn(s, k->id, arn, sizeof arn);
    kms_jw_kstr(&c->out, "KeyId", arn);
    kms_jw_key(&c->out, "DeletionDate");
    kms_jw_date(&c->out, k->deletion_ms);
    kms_jw_kstr(&c->out, "KeyState", "PendingDeletion");
    kms_jw_key(&c->out, "PendingWindowInDays");
    kms_jw_int(&c->out, days);
out:
    kms_store_unlock(s);
    return rc;
}

enum nw_err kms_op_cancel_key_deletion(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId", NULL};
    struct kms_store *s = &c->svc->store;
    struct nw_error e = {NW_OK, ""};
    char arn[KMS_ARN_MAX];
    struct kms_key *k;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_target_key(c, KMS_REF_KEY, "kms:CancelKeyDeletion", &k)) != NW_OK)
        goto out;
    kms_key_arn(s, k->id, arn, sizeof arn);
    if (k->state != KMS_KEY_PENDING_DELETION) {
        rc = kms_fail(c, "KMSInvalidStateException", "%s is not pending deletion.", arn);
        goto out;
    }
    k->state = KMS_KEY_DISABLED; /* as AWS: a cancelled deletion leaves the key disabled */
    if (kms_store_save(s, k, 0, &e) != NW_OK) {
        k->state = KMS_KEY_PENDING_DELETION;
        rc = kms_persist_failed(c, &e);
        goto out;
    }
    kms_jw_kstr(&c->out, "KeyId", arn);
out:
    kms_store_unlock(s);
    return rc;
}

static enum nw_err policy_name(struct kms_call *c, int required)
{
    const char *name;
    enum nw_err rc = kms_arg_string(c, "PolicyName", required, 1, 128, &name);

    if (rc == NW_OK && name != NULL && strcmp(name, "default") != 0)
        return kms_fail(c, "NotFoundException", "No such policy exists: the only key policy name is \"default\"");
    return rc;
}

enum nw_err kms_op_get_key_policy(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId", "PolicyName", NULL};
    struct kms_store *s = &c->svc->store;
    struct kms_key *k;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = policy_name(c, 0)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_target_key(c, KMS_REF_KEY, "kms:GetKeyPolicy", &k)) == NW_OK) {
        kms_jw_kstr(&c->out, "Policy", k->policy);
        kms_jw_kstr(&c->out, "PolicyName", "default");
    }
    kms_store_unlock(s);
    return rc;
}

enum nw_err kms_op_put_key_policy(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck", NULL};
    struct kms_store *s = &c->svc->store;
    struct nw_error e = {NW_OK, ""};
    const char *text;
    char *old_text = NULL, *new_text = NULL;
    cJSON *tree = NULL, *old_tree;
    struct kms_key *k;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = policy_name(c, 0)) != NW_OK ||
        (rc = kms_policy_arg(c, 1, &text, &tree)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_target_key(c, KMS_REF_KEY, "kms:PutKeyPolicy", &k)) != NW_OK ||
        (rc = kms_lockout_check(c, tree, k->id)) != NW_OK)
        goto out;
    if ((new_text = strdup(text)) == NULL) {
        rc = kms_fail(c, "KMSInternalException", "out of memory");
        goto out;
    }
    old_text = k->policy;
    old_tree = k->policy_tree;
    k->policy = new_text;
    k->policy_tree = tree;
    if (kms_store_save(s, k, 0, &e) != NW_OK) {
        k->policy = old_text;
        k->policy_tree = old_tree;
        old_text = new_text; /* freed below, with the new tree */
        rc = kms_persist_failed(c, &e);
        goto out;
    }
    tree = old_tree;
out:
    kms_store_unlock(s);
    free(old_text);
    cJSON_Delete(tree);
    return rc;
}

static enum nw_err alias_name(struct kms_call *c, const char **name)
{
    enum nw_err rc = kms_arg_string(c, "AliasName", 1, 1, KMS_MAX_ALIAS_NAME, name);
    const char *p;

    if (rc != NW_OK)
        return rc;
    for (p = *name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(":/_-", *p) != NULL))
            return kms_fail(c, "ValidationException",
                            "1 validation error detected: Value at 'aliasName' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
    if (strncmp(*name, "alias/", 6) != 0 || (*name)[6] == '\0')
        return kms_fail(c, "InvalidAliasNameException", "Alias must start with the prefix \"alias/\".");
    if (strncmp(*name, "alias/aws/", 10) == 0)
        return kms_fail(c, "InvalidAliasNameException",
                        "Alias names starting with alias/aws/ are reserved for AWS managed keys.");
    return NW_OK;
}

enum nw_err kms_op_create_alias(struct kms_call *c)
{
    static const char *const allowed[] = {"AliasName", "TargetKeyId", NULL};
    struct kms_store *s = &c->svc->store;
    struct nw_error e = {NW_OK, ""};
    struct kms_alias a;
    struct kms_key *k;
    const char *name, *target;
    char arn[KMS_ARN_MAX];
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = alias_name(c, &name)) != NW_OK ||
        (rc = kms_arg_string(c, "TargetKeyId", 1, 1, 2048, &target)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = kms_resolve(c, s, target, KMS_REF_KEY, &k)) != NW_OK ||
        (rc = kms_authorize(c, k, "kms:CreateAlias", NULL, NULL)) != NW_OK)
        goto out;
    if (k->state == KMS_KEY_PENDING_DELETION) {
        rc = pending(c, k);
        goto out;
    }
    if (kms_store_find_alias(s, name) != NULL) {
        kms_alias_arn(s, name, arn, sizeof arn);
        rc = kms_fail(c, "AlreadyExistsException", "An alias with the name %s already exists", arn);
        goto out;
    }
    memset(&a, 0, sizeof a);
    memcpy(a.name, name, strlen(name) + 1);
    memcpy(a.key_id, k->id, sizeof a.key_id);
    a.created_ms = a.updated_ms = c->now_ms;
    if (kms_store_insert_alias(s, &a, &e) != NW_OK) {
        rc = kms_fail(c, "LimitExceededException", "%s", e.msg);
        goto out;
    }
    if (kms_store_save(s, k, 0, &e) != NW_OK) {
        kms_store_remove_alias(s, name);
        rc = kms_persist_failed(c, &e);
    }
out:
    kms_store_unlock(s);
    return rc;
}

static void alias_entry(struct kms_call *c, const struct kms_alias *a)
{
    char arn[KMS_ARN_MAX];

    kms_alias_arn(&c->svc->store, a->name, arn, sizeof arn);
    kms_jw_open(&c->out, '{');
    kms_jw_kstr(&c->out, "AliasName", a->name);
    kms_jw_kstr(&c->out, "AliasArn", arn);
    kms_jw_kstr(&c->out, "TargetKeyId", a->key_id);
    kms_jw_key(&c->out, "CreationDate");
    kms_jw_date(&c->out, a->created_ms);
    kms_jw_key(&c->out, "LastUpdatedDate");
    kms_jw_date(&c->out, a->updated_ms);
    kms_jw_close(&c->out, '}');
}

enum nw_err kms_op_list_aliases(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId", "Limit", "Marker", NULL};
    struct kms_store *s = &c->svc->store;
    const struct kms_key *only = NULL;
    struct kms_key *k;
    const char *ref, *marker;
    long limit = 50;
    int present;
    size_t i = 0, n = 0;
    enum nw_err rc;

    if ((rc = kms_arg_check(c, allowed)) != NW_OK ||
        (rc = kms_arg_int(c, "Limit", 1, 100, &limit, &present)) != NW_OK ||
        (rc = kms_arg_string(c, "Marker", 0, 1, 1024, &marker)) != NW_OK ||
        (rc = kms_arg_string(c, "KeyId", 0, 1, 2048, &ref)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if (ref != NULL && (rc = kms_resolve(c, s, ref, KMS_REF_KEY, &k)) != NW_OK)
        goto out;
    only = ref != NULL ? k : NULL;
    if (marker != NULL && kms_store_find_alias(s, marker) == NULL) {
        rc = kms_fail(c, "InvalidMarkerException", "The marker is not valid");
        goto out;
    }
    if (marker != NULL)
        i = (size_t)(kms_store_find_alias(s, marker) - s->aliases);
    kms_jw_key(&c->out, "Aliases");
    kms_jw_open(&c->out, '[');
    for (; i < s->n_aliases && n < (size_t)limit; i++) {
        if (only != NULL && strcmp(s->aliases[i].key_id, only->id) != 0)
            continue;
        alias_entry(c, &s->aliases[i]);
        n++;
    }
    while (only != NULL && i < s->n_aliases && strcmp(s->aliases[i].key_id, only->id) != 0)
        i++;
    kms_jw_close(&c->out, ']');
    if (i < s->n_aliases)
        kms_jw_kstr(&c->out, "NextMarker", s->aliases[i].name);
    kms_jw_key(&c->out, "Truncated");
    kms_jw_bool(&c->out, i < s->n_aliases);
out:
    kms_store_unlock(s);
    return rc;
}
