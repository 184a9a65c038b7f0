/*
 * args.c - reading a KMS request's members with AWS's types and
 * constraints (botocore's KMS service model, 2014-11-01).
 *
 * A member of the wrong JSON type is a SerializationException; a member
 * outside its constraints, a missing required member or an unknown member
 * is a ValidationException in AWS's wording ("1 validation error detected:
 * Value at 'keyId' failed to satisfy constraint: ...").  Values are never
 * echoed in messages (they may be plaintext).  Blobs are decoded into
 * locked memory.
 *
 * Trust boundary: request bodies (untrusted), already through nw_json_parse.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/json.h"

/* "KeyId" -> "keyId", as AWS names members in validation messages. */
static void member(char out[64], const char *name)
{
    size_t n = strlen(name);

    if (n > 63)
        n = 63;
    memcpy(out, name, n);
    out[n] = '\0';
    out[0] = (char)tolower((unsigned char)out[0]);
}

static enum nw_err invalid(struct kms_call *c, const char *name, const char *constraint)
{
    char m[64];

    member(m, name);
    return kms_fail(c, "ValidationException",
                    "1 validation error detected: Value at '%s' failed to satisfy constraint: %s", m, constraint);
}

static enum nw_err wrong_type(struct kms_call *c, const char *name, const char *type)
{
    return kms_fail(c, "SerializationException", "%s must be %s", name, type);
}

enum nw_err kms_arg_check(struct kms_call *c, const char *const *allowed)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, c->in)
    {
        size_t i;
        for (i = 0; allowed[i] != NULL && strcmp(allowed[i], m->string) != 0; i++)
            ;
        if (allowed[i] == NULL)
            return kms_fail(c, "ValidationException", "%s does not take the member %.64s (nitrowallet-kms)", c->op,
                            m->string);
    }
    return NW_OK;
}

enum nw_err kms_arg_string(struct kms_call *c, const char *name, int required, size_t min, size_t max, const char **out)
{
    const cJSON *v = nw_json_get(c->in, name);
    char constraint[96];
    size_t n;

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return required ? invalid(c, name, "Member must not be null") : NW_OK;
    if (!cJSON_IsString(v))
        return wrong_type(c, name, "a string");
    n = strlen(v->valuestring);
    if (n < min || n > max) {
        snprintf(constraint, sizeof constraint, "Member must have length %s %zu",
                 n < min ? "greater than or equal to" : "less than or equal to", n < min ? min : max);
        return invalid(c, name, constraint);
    }
    *out = v->valuestring;
    return NW_OK;
}

enum nw_err kms_arg_int(struct kms_call *c, const char *name, long min, long max, long *out, int *present)
{
    const cJSON *v = nw_json_get(c->in, name);
    char constraint[96];
    double d;

    *present = 0;
    if (v == NULL || cJSON_IsNull(v))
        return NW_OK;
    if (!cJSON_IsNumber(v))
        return wrong_type(c, name, "an integer");
    d = v->valuedouble; /* an integer literal below 2^53 (nw_json_parse) */
    if (d < (double)min || d > (double)max) {
        snprintf(constraint, sizeof constraint, "Member must have value %s %ld",
                 d < (double)min ? "greater than or equal to" : "less than or equal to", d < (double)min ? min : max);
        return invalid(c, name, constraint);
    }
    *out = (long)d;
    *present = 1;
    return NW_OK;
}

enum nw_err kms_arg_bool(struct kms_call *c, const char *name, int *out)
{
    const cJSON *v = nw_json_get(c->in, name);

    *out = 0;
    if (v == NULL || cJSON_IsNull(v))
        return NW_OK;
    if (!cJSON_IsBool(v))
        return wrong_type(c, name, "a boolean");
    *out = cJSON_IsTrue(v);
    return NW_OK;
}

enum nw_err kms_arg_blob(struct kms_call *c, const char *name, size_t min, size_t max, struct nw_secret *out)
{
    const cJSON *v = nw_json_get(c->in, name);
    char constraint[96];
    size_t slen, n = 0;

    out->data = NULL;
    out->len = 0;
    out->map_len = 0;
    if (v == NULL || cJSON_IsNull(v))
        return invalid(c, name, "Member must not be null");
    if (!cJSON_IsString(v))
        return wrong_type(c, name, "a base64 string");
    slen = strlen(v->valuestring);
    if (slen > NW_BASE64_SIZE(max) || slen == 0) {
        snprintf(constraint, sizeof constraint, "Member must have length %s %zu",
                 slen == 0 ? "greater than or equal to" : "less than or equal to", slen == 0 ? min : max);
        return invalid(c, name, constraint);
    }
    if (nw_secret_alloc(out, NW_BASE64_DECODED_MAX(slen) + 1) != NW_OK)
        return kms_fail(c, "KMSInternalException", "cannot allocate locked memory");
    if (nw_base64_decode(out->data, out->len, &n, v->valuestring, slen, NULL) != NW_OK) {
        nw_secret_free(out);
        return wrong_type(c, name, "canonical base64");
    }
    out->len = n;
    if (n < min || n > max) {
        nw_secret_free(out);
        snprintf(constraint, sizeof constraint, "Member must have length %s %zu",
                 n < min ? "greater than or equal to" : "less than or equal to", n < min ? min : max);
        return invalid(c, name, constraint);
    }
    return NW_OK;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct kms_pair *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int r = memcmp(x->key, y->key, n);

    if (r != 0)
        return r;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

enum nw_err kms_arg_context(struct kms_call *c, struct kms_context *ctx)
{
    const cJSON *v = nw_json_get(c->in, "EncryptionContext"), *e;
    size_t total = 0;

    ctx->n = 0;
    if (v == NULL || cJSON_IsNull(v))
        return NW_OK;
    if (!cJSON_IsObject(v))
        return wrong_type(c, "EncryptionContext", "an object of strings");
    cJSON_ArrayForEach(e, v)
    {
        struct kms_pair *p;
        if (!cJSON_IsString(e))
            return wrong_type(c, "EncryptionContext", "an object of strings");
        if (ctx->n == KMS_MAX_CONTEXT)
            return invalid(c, "EncryptionContext", "Member must have at most 64 entries (nitrowallet-kms)");
        p = &ctx->pairs[ctx->n++];
        p->key = e->string;
        p->key_len = strlen(e->string);
        p->value = e->valuestring;
        p->value_len = strlen(e->valuestring);
        if (p->key_len == 0)
            return invalid(c, "EncryptionContext", "Map keys must have length greater than or equal to 1");
        total += p->key_len + p->value_len;
        if (total > KMS_MAX_CONTEXT_BYTES)
            return invalid(c, "EncryptionContext", "Member must be at most 8192 bytes (nitrowallet-kms)");
    }
    /* Keys are unique: nw_json_parse refuses duplicate keys. */
    qsort(ctx->pairs, ctx->n, sizeof ctx->pairs[0], pair_cmp);
    return NW_OK;
}

enum nw_err kms_arg_grant_tokens(struct kms_call *c)
{
    const cJSON *v = nw_json_get(c->in, "GrantTokens"), *e;
    int n = 0;

    if (v == NULL || cJSON_IsNull(v))
        return NW_OK;
    if (!cJSON_IsArray(v))
        return wrong_type(c, "GrantTokens", "a list of strings");
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e))
            return wrong_type(c, "GrantTokens", "a list of strings");
        if (++n > 10)
            return invalid(c, "GrantTokens", "Member must have length less than or equal to 10");
    }
    return NW_OK;
}

enum nw_err kms_arg_enum(struct kms_call *c, const char *name, const char *const *values, const char **out)
{
    char constraint[256], m[64];
    size_t n = 0;
    enum nw_err rc = kms_arg_string(c, name, 0, 1, 64, out);

    if (rc != NW_OK || *out == NULL)
        return rc;
    for (size_t i = 0; values[i] != NULL; i++)
        if (strcmp(*out, values[i]) == 0)
            return NW_OK;
    n = (size_t)snprintf(constraint, sizeof constraint, "Member must satisfy enum value set: [");
    for (size_t i = 0; values[i] != NULL && n < sizeof constraint; i++)
        n += (size_t)snprintf(constraint + n, sizeof constraint - n, "%s%s", i ? ", " : "", values[i]);
    if (n < sizeof constraint)
        snprintf(constraint + n, sizeof constraint - n, "]");
    member(m, name);
    return kms_fail(c, "ValidationException",
                    "1 validation error detected: Value '%.64s' at '%s' failed to satisfy constraint: %s", *out, m,
                    constraint);
}
