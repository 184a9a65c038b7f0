/*
 * policy.c - key policies in AWS's JSON policy language (IAM JSON policy
 * reference: Version, Statement, Sid, Effect, Principal, Action/NotAction,
 * Resource, Condition), for nitrowallet-kms.
 *
 * Supported, and validated on CreateKey/PutKeyPolicy: principals "*" and
 * {"AWS": ...} (an account id or "arn:...:iam::ACCOUNT:root" stands for
 * every principal of that account, any other ARN matches exactly); actions
 * "kms:..." with '*' and '?' wildcards; conditions with StringEquals,
 * StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase,
 * StringLike, StringNotLike (each optionally ...IfExists) on the keys
 * kms:RecipientAttestation:ImageSha384 (= PCR0), kms:RecipientAttestation:
 * PCR0..PCR31 (lowercase hex, compared without regard to case),
 * kms:EncryptionContext:<key>, kms:CallerAccount and aws:PrincipalArn.
 * Anything else in a policy is refused (MalformedPolicyDocumentException)
 * rather than ignored, since ignoring a condition could grant access.
 *
 * Evaluation follows AWS: an explicit Deny wins, otherwise an Allow is
 * needed.  A condition on a key the request does not carry (e.g. an
 * attestation key in a call without Recipient) is false for the positive
 * operators and true for the negated ones, so an Allow conditioned on
 * attestation never allows a call that is not attested.
 *
 * Trust boundary: policy text comes from requests (untrusted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kms_internal.h"
#include "nitrowallet/json.h"

#define ATT_PREFIX "kms:RecipientAttestation:"
#define CTX_PREFIX "kms:EncryptionContext:"

static const char *const operators[] = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    NULL,
};

#define malformed(err, ...) nw_fail(err, NW_ERR_BAD_REQUEST, __VA_ARGS__)

int kms_wildcard_match(const char *p, const char *s, int ignore_case)
{
    const char *star = NULL, *resume = NULL;

    while (*s != '\0') {
        char a = *p, b = *s;
        if (ignore_case && a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (ignore_case && b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p != '\0' && (*p == '?' || a == b)) {
            p++;
            s++;
        } else if (star != NULL) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* A string or a non-empty list of strings. */
static int string_or_list(const cJSON *v)
{
    const cJSON *e;

    if (cJSON_IsString(v))
        return 1;
    if (!cJSON_IsArray(v) || v->child == NULL)
        return 0;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e))
            return 0;
    }
    return 1;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Operator name without "IfExists"; 0 if unsupported. */
static int parse_operator(const char *name, char *base, size_t cap, int *if_exists)
{
    size_t n = strlen(name);

    *if_exists = n > 8 && strcmp(name + n - 8, "IfExists") == 0;
    if (*if_exists)
        n -= 8;
    if (n >= cap)
        return 0;
    memcpy(base, name, n);
    base[n] = '\0';
    for (size_t i = 0; operators[i] != NULL; i++)
        if (strcmp(base, operators[i]) == 0)
            return 1;
    return 0;
}

static int known_condition_key(const char *key)
{
    if (strcasecmp(key, ATT_PREFIX "ImageSha384") == 0)
        return 1;
    if (has_prefix_ci(key, ATT_PREFIX "PCR")) {
        const char *d = key + strlen(ATT_PREFIX "PCR");
        size_t n = strlen(d);
        return (n == 1 && d[0] >= '0' && d[0] <= '9') ||
               (n == 2 && d[0] >= '1' && d[0] <= '3' && d[1] >= '0' && d[1] <= '9' && (d[0] < '3' || d[1] <= '1'));
    }
    if (has_prefix_ci(key, CTX_PREFIX))
        return strlen(key) > strlen(CTX_PREFIX);
    return strcasecmp(key, "kms:CallerAccount") == 0 || strcasecmp(key, "aws:PrincipalArn") == 0;
}

static enum nw_err check_condition(const cJSON *cond, struct nw_error *err)
{
    const cJSON *op, *k;
    char base[48];
    int if_exists;

    if (!cJSON_IsObject(cond))
        return malformed(err, "Condition must be an object");
    cJSON_ArrayForEach(op, cond)
    {
        if (!parse_operator(op->string, base, sizeof base, &if_exists))
            return malformed(err, "condition operator %.60s is not supported by nitrowallet-kms", op->string);
        if (!cJSON_IsObject(op) || op->child == NULL)
            return malformed(err, "condition operator %.60s needs an object of keys", op->string);
        cJSON_ArrayForEach(k, op)
        {
            if (!known_condition_key(k->string))
                return malformed(err, "condition key %.80s is not supported by nitrowallet-kms", k->string);
            if (!string_or_list(k))
                return malformed(err, "condition key %.80s needs a string or a list of strings", k->string);
        }
    }
    return NW_OK;
}

static enum nw_err check_principal(const cJSON *p, struct nw_error *err)
{
    const cJSON *e;

    if (cJSON_IsString(p))
        return strcmp(p->valuestring, "*") == 0 ? NW_OK : malformed(err, "Principal must be \"*\" or an object");
    if (!cJSON_IsObject(p) || p->child == NULL)
        return malformed(err, "Principal must be \"*\" or an object");
    cJSON_ArrayForEach(e, p)
    {
        if (strcmp(e->string, "AWS") != 0 && strcmp(e->string, "Service") != 0 && strcmp(e->string, "Federated") != 0 &&
            strcmp(e->string, "CanonicalUser") != 0)
            return malformed(err, "unknown principal type %.40s", e->string);
        if (!string_or_list(e))
            return malformed(err, "principal %.40s needs a string or a list of strings", e->string);
    }
    return NW_OK;
}

static enum nw_err check_actions(const cJSON *a, struct nw_error *err)
{
    const cJSON *e;

    if (!string_or_list(a))
        return malformed(err, "Action needs a string or a list of strings");
    for (e = cJSON_IsArray(a) ? a->child : a; e != NULL; e = cJSON_IsArray(a) ? e->next : NULL)
        if (strcmp(e->valuestring, "*") != 0 && !has_prefix_ci(e->valuestring, "kms:"))
            return malformed(err, "action %.80s is not a KMS action (kms:...)", e->valuestring);
    return NW_OK;
}

static enum nw_err check_statement(const cJSON *st, struct nw_error *err)
{
    static const char *const keys[] = {"Sid",       "Effect",   "Principal", "Action",
                                       "NotAction", "Resource", "Condition", NULL};
    const cJSON *effect = nw_json_get(st, "Effect"), *sid = nw_json_get(st, "Sid");
    const cJSON *action = nw_json_get(st, "Action"), *not_action = nw_json_get(st, "NotAction");
    const cJSON *cond = nw_json_get(st, "Condition");
    enum nw_err rc;

    if (nw_json_get(st, "NotPrincipal") || nw_json_get(st, "NotResource"))
        return malformed(err, "NotPrincipal and NotResource are not supported by nitrowallet-kms");
    if ((rc = nw_json_check_keys(st, keys, "policy statement", err)) != NW_OK)
        return rc;
    if (sid != NULL && !cJSON_IsString(sid))
        return malformed(err, "Sid must be a string");
    if (!cJSON_IsString(effect) || (strcmp(effect->valuestring, "Allow") && strcmp(effect->valuestring, "Deny")))
        return malformed(err, "Effect must be \"Allow\" or \"Deny\"");
    if ((rc = check_principal(nw_json_get(st, "Principal"), err)) != NW_OK)
        return rc;
    if ((action == NULL) == (not_action == NULL))
        return malformed(err, "a statement needs exactly one of Action and NotAction");
    if ((rc = check_actions(action ? action : not_action, err)) != NW_OK)
        return rc;
    if (!string_or_list(nw_json_get(st, "Resource")))
        return malformed(err, "Resource needs a string or a list of strings");
    return cond != NULL ? check_condition(cond, err) : NW_OK;
}

enum nw_err kms_policy_parse(cJSON **tree, const char *text, size_t len, struct nw_error *err)
{
    static const char *const keys[] = {"Version", "Id", "Statement", NULL};
    const cJSON *version, *sts, *st;
    cJSON *root = NULL;
    enum nw_err rc;

    *tree = NULL;
    if ((rc = nw_json_parse(&root, text, len, KMS_MAX_POLICY, err)) != NW_OK)
        return rc == NW_ERR_TOO_LARGE ? rc : nw_fail(err, NW_ERR_BAD_REQUEST, "policy is not valid JSON");
    NW_GUARD(nw_json_check_keys(root, keys, "policy", err));
    version = nw_json_get(root, "Version");
    if (version != NULL && (!cJSON_IsString(version) || (strcmp(version->valuestring, "2012-10-17") != 0 &&
                                                         strcmp(version->valuestring, "2008-10-17") != 0))) {
        rc = malformed(err, "Version must be \"2012-10-17\" or \"2008-10-17\"");
        goto out;
    }
    if (nw_json_get(root, "Id") != NULL && !cJSON_IsString(nw_json_get(root, "Id"))) {
        rc = malformed(err, "Id must be a string");
        goto out;
    }
    sts = nw_json_get(root, "Statement");
    if (!cJSON_IsObject(sts) && (!cJSON_IsArray(sts) || sts->child == NULL)) {
        rc = malformed(err, "Statement must be an object or a non-empty list");
        goto out;
    }
    for (st = cJSON_IsArray(sts) ? sts->child : sts; st != NULL; st = cJSON_IsArray(sts) ? st->next : NULL) {
        if (!cJSON_IsObject(st)) {
            rc = malformed(err, "each statement must be an object");
            goto out;
        }
        NW_GUARD(check_statement(st, err));
    }
    *tree = root;
    root = NULL;
out:
    cJSON_Delete(root);
    return rc;
}

/* --- evaluation ------------------------------------------------------------------- */

/* Does a principal value (from {"AWS": ...}) name the caller? */
static int principal_value_matches(const char *v, const struct kms_policy_request *r)
{
    const char *p, *acct;

    if (strcmp(v, "*") == 0 || strcmp(v, r->principal_arn) == 0)
        return 1;
    if (strlen(v) == 12 && strcmp(v, r->account) == 0)
        return 1;
    /* arn:<partition>:iam::<account>:root */
    if (strncmp(v, "arn:", 4) != 0 || (p = strchr(v + 4, ':')) == NULL || strncmp(p, ":iam::", 6) != 0)
        return 0;
    acct = p + 6;
    return strncmp(acct, r->account, 12) == 0 && strcmp(acct + 12, ":root") == 0;
}

static int any_value(const cJSON *v, int (*match)(const char *, const void *), const void *arg)
{
    const cJSON *e;

    if (cJSON_IsString(v))
        return match(v->valuestring, arg);
    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsString(e) && match(e->valuestring, arg))
            return 1;
    }
    return 0;
}

static int match_principal(const char *v, const void *arg)
{
    return principal_value_matches(v, arg);
}

static int match_action(const char *v, const void *arg)
{
    return kms_wildcard_match(v, arg, 1);
}

static int match_resource(const char *v, const void *arg)
{
    return kms_wildcard_match(v, arg, 0);
}

static int principal_matches(const cJSON *p, const struct kms_policy_request *r)
{
    const cJSON *aws;

    if (cJSON_IsString(p))
        return strcmp(p->valuestring, "*") == 0;
    aws = nw_json_get(p, "AWS");
    return aws != NULL && any_value(aws, match_principal, r);
}

/* The request's value for a condition key, or NULL when it has none. */
static const char *context_value(const char *key, const struct kms_policy_request *r, char *buf, size_t cap)
{
    if (has_prefix_ci(key, ATT_PREFIX)) {
        const char *name = key + strlen(ATT_PREFIX);
        unsigned idx = 0;
        if (r->attestation == NULL)
            return NULL;
        if (strcasecmp(name, "ImageSha384") != 0)
            for (const char *d = name + 3; *d; d++)
                idx = idx * 10 + (unsigned)(*d - '0');
        if (idx >= NW_ATT_NUM_PCRS || !(r->attestation->pcr_present & (1u << idx)) ||
            r->attestation->pcr_len[idx] * 2 + 1 > cap)
            return NULL;
        for (size_t i = 0; i < r->attestation->pcr_len[idx]; i++)
            snprintf(buf + 2 * i, 3, "%02x", r->attestation->pcrs[idx][i]);
        buf[2 * r->attestation->pcr_len[idx]] = '\0';
        return buf;
    }
    if (has_prefix_ci(key, CTX_PREFIX)) {
        const char *k = key + strlen(CTX_PREFIX);
        for (size_t i = 0; r->context != NULL && i < r->context->n; i++) {
            const struct kms_pair *p = &r->context->pairs[i];
            if (p->key_len == strlen(k) && memcmp(p->key, k, p->key_len) == 0 && p->value_len < cap &&
                memchr(p->value, '\0', p->value_len) == NULL) {
                memcpy(buf, p->value, p->value_len);
                buf[p->value_len] = '\0';
                return buf;
            }
        }
        return NULL;
    }
    if (strcasecmp(key, "kms:CallerAccount") == 0)
        return r->account;
    if (strcasecmp(key, "aws:PrincipalArn") == 0)
        return r->principal_arn;
    return NULL;
}

struct cmp {
    const char *value;
    int like;
    int ignore_case;
};

static int match_condition_value(const char *v, const void *arg)
{
    const struct cmp *c = arg;

    if (c->like)
        return kms_wildcard_match(v, c->value, c->ignore_case);
    return c->ignore_case ? strcasecmp(v, c->value) == 0 : strcmp(v, c->value) == 0;
}

static int condition_holds(const char *op_name, const cJSON *keys, const struct kms_policy_request *r)
{
    char base[48], buf[KMS_MAX_CONTEXT_BYTES + 1];
    int if_exists, negated;
    const cJSON *k;

    if (!parse_operator(op_name, base, sizeof base, &if_exists))
        return 0;
    negated = strncmp(base, "StringNot", 9) == 0;
    cJSON_ArrayForEach(k, keys)
    {
        struct cmp c;
        c.value = context_value(k->string, r, buf, sizeof buf);
        c.like = strstr(base, "Like") != NULL;
        c.ignore_case = strstr(base, "IgnoreCase") != NULL || has_prefix_ci(k->string, ATT_PREFIX);
        if (c.value == NULL) {
            if (!(if_exists || negated))
                return 0;
            continue;
        }
        if (any_value(k, match_condition_value, &c) == negated)
            return 0;
    }
    return 1;
}

static int statement_applies(const cJSON *st, const struct kms_policy_request *r)
{
    const cJSON *action = nw_json_get(st, "Action"), *not_action = nw_json_get(st, "NotAction");
    const cJSON *cond = nw_json_get(st, "Condition"), *op;

    if (!principal_matches(nw_json_get(st, "Principal"), r))
        return 0;
    if (action != NULL ? !any_value(action, match_action, r->action) : any_value(not_action, match_action, r->action))
        return 0;
    if (!any_value(nw_json_get(st, "Resource"), match_resource, r->resource_arn))
        return 0;
    cJSON_ArrayForEach(op, cond)
    {
        if (!condition_holds(op->string, op, r))
            return 0;
    }
    return 1;
}

enum kms_decision kms_policy_evaluate(const cJSON *tree, const struct kms_policy_request *r)
{
    const cJSON *sts = nw_json_get(tree, "Statement"), *st;
    enum kms_decision d = KMS_DENY_IMPLICIT;

    for (st = cJSON_IsArray(sts) ? sts->child : sts; st != NULL; st = cJSON_IsArray(sts) ? st->next : NULL) {
        if (!statement_applies(st, r))
            continue;
        if (strcmp(nw_json_get(st, "Effect")->valuestring, "Deny") == 0)
            return KMS_DENY_EXPLICIT;
        d = KMS_ALLOW;
    }
    return d;
}

enum nw_err kms_policy_default(char **out, const char *account)
{
    static const char fmt[] = "{\n"
                              "  \"Version\" : \"2012-10-17\",\n"
                              "  \"Id\" : \"key-default-1\",\n"
                              "  \"Statement\" : [ {\n"
                              "    \"Sid\" : \"Enable IAM User Permissions\",\n"
                              "    \"Effect\" : \"Allow\",\n"
                              "    \"Principal\" : {\n"
                              "      \"AWS\" : \"arn:aws:iam::%s:root\"\n"
                              "    },\n"
                              "    \"Action\" : \"kms:*\",\n"
                              "    \"Resource\" : \"*\"\n"
                              "  } ]\n"
                              "}";
    size_t cap = sizeof fmt + 16;

    if ((*out = malloc(cap)) == NULL)
        return NW_ERR_NOMEM;
    snprintf(*out, cap, fmt, account);
    return NW_OK;
}
