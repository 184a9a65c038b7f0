/*
 * keystore.c - nitrowallet-kms's keys and aliases in memory, and how a
 * request's key reference (key id, key ARN, alias name, alias ARN) finds a
 * key.
 *
 * Keys are kept sorted by id and aliases by name (ListKeys and ListAliases
 * page through them in that order).  Key material lives in locked,
 * non-dumpable slabs of 128 keys each, so thousands of keys fit in the
 * default RLIMIT_MEMLOCK.  Keys are never removed while the service runs
 * (ScheduleKeyDeletion only changes the state), so slots are never reused.
 * Everything here runs under the store mutex; persistence is keyfile.c.
 *
 * Trust boundary: key references come from requests (untrusted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"

#define SLAB_BYTES 4096
#define SLAB_SLOTS (SLAB_BYTES / KMS_MATERIAL_LEN)

void kms_store_lock(struct kms_store *s)
{
    pthread_mutex_lock(&s->mu);
}

void kms_store_unlock(struct kms_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

int kms_is_key_id(const char *s)
{
    static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != KMS_KEY_ID_LEN)
        return 0;
    for (size_t i = 0; i < KMS_KEY_ID_LEN; i++) {
        char ch = s[i];
        if (form[i] == '-' ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
    }
    return 1;
}

void kms_key_arn(const struct kms_store *s, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "%skey/%s", s->arn_prefix, id);
}

void kms_alias_arn(const struct kms_store *s, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", s->arn_prefix, name);
}

/* Index of the first key whose id is >= id. */
static size_t key_pos(const struct kms_store *s, const char *id)
{
    size_t lo = 0, hi = s->n_keys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->keys[mid]->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t alias_pos(const struct kms_store *s, const char *name)
{
    size_t lo = 0, hi = s->n_aliases;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->aliases[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct kms_key *kms_store_find(const struct kms_store *s, const char *id)
{
    size_t i = key_pos(s, id);
    return i < s->n_keys && strcmp(s->keys[i]->id, id) == 0 ? s->keys[i] : NULL;
}

struct kms_alias *kms_store_find_alias(const struct kms_store *s, const char *name)
{
    size_t i = alias_pos(s, name);
    return i < s->n_aliases && strcmp(s->aliases[i].name, name) == 0 ? &s->aliases[i] : NULL;
}

/* Make room for one more element of `size` bytes (grow by copy: no realloc). */
static enum nw_err grow(void **arr, size_t n, size_t *cap, size_t size, size_t max)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return NW_OK;
    if (n >= max)
        return NW_ERR_TOO_LARGE;
    ncap = *cap ? *cap * 2 : 16;
    if (ncap > max)
        ncap = max;
    p = calloc(ncap, size);
    if (p == NULL)
        return NW_ERR_NOMEM;
    if (n)
        memcpy(p, *arr, n * size);
    free(*arr);
    *arr = p;
    *cap = ncap;
    return NW_OK;
}

static enum nw_err material_slot(struct kms_store *s, uint8_t **out, struct nw_error *err)
{
    enum nw_err rc;

    if (s->n_slabs == 0 || s->slab_used == SLAB_SLOTS) {
        if ((rc = grow((void **)&s->slabs, s->n_slabs, &s->cap_slabs, sizeof *s->slabs,
                       KMS_MAX_KEYS / SLAB_SLOTS + 2)) != NW_OK)
            return nw_fail(err, rc, "key store: too many keys");
        if (nw_secret_alloc(&s->slabs[s->n_slabs], SLAB_BYTES) != NW_OK)
            return nw_fail(err, NW_ERR_NOMEM, "key store: cannot lock memory for key material (RLIMIT_MEMLOCK?)");
        s->n_slabs++;
        s->slab_used = 0;
    }
    *out = s->slabs[s->n_slabs - 1].data + s->slab_used * KMS_MATERIAL_LEN;
    s->slab_used++;
    return NW_OK;
}

enum nw_err kms_store_new_key(struct kms_store *s, struct kms_key **out, struct nw_error *err)
{
    struct kms_key *k;
    enum nw_err rc;

    *out = NULL;
    if (s->n_keys >= KMS_MAX_KEYS)
        return nw_fail(err, NW_ERR_TOO_LARGE, "key store: at most %d keys", KMS_MAX_KEYS);
    k = calloc(1, sizeof *k);
    if (k == NULL || (k->description = calloc(1, 1)) == NULL) {
        free(k);
        return nw_fail(err, NW_ERR_NOMEM, "key store: out of memory");
    }
    if ((rc = material_slot(s, &k->material, err)) != NW_OK) {
        kms_key_free(k);
        return rc;
    }
    *out = k;
    return NW_OK;
}

void kms_key_free(struct kms_key *k)
{
    if (k == NULL)
        return;
    if (k->material != NULL)
        nw_wipe(k->material, KMS_MATERIAL_LEN);
    free(k->description);
    free(k->policy);
    cJSON_Delete(k->policy_tree);
    free(k);
}

enum nw_err kms_store_insert(struct kms_store *s, struct kms_key *k, struct nw_error *err)
{
    size_t i = key_pos(s, k->id);
    enum nw_err rc;

    if (i < s->n_keys && strcmp(s->keys[i]->id, k->id) == 0)
        return nw_fail(err, NW_ERR_INTERNAL, "key store: key %s already exists", k->id);
    if ((rc = grow((void **)&s->keys, s->n_keys, &s->cap_keys, sizeof *s->keys, KMS_MAX_KEYS)) != NW_OK)
        return nw_fail(err, rc, "key store: too many keys");
    memmove(&s->keys[i + 1], &s->keys[i], (s->n_keys - i) * sizeof *s->keys);
    s->keys[i] = k;
    s->n_keys++;
    return NW_OK;
}

enum nw_err kms_store_insert_alias(struct kms_store *s, const struct kms_alias *a, struct nw_error *err)
{
    size_t i = alias_pos(s, a->name);
    enum nw_err rc;

    if (i < s->n_aliases && strcmp(s->aliases[i].name, a->name) == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "alias %s already exists", a->name);
    if ((rc = grow((void **)&s->aliases, s->n_aliases, &s->cap_aliases, sizeof *s->aliases, KMS_MAX_ALIASES)) != NW_OK)
        return nw_fail(err, rc, "key store: too many aliases");
    memmove(&s->aliases[i + 1], &s->aliases[i], (s->n_aliases - i) * sizeof *s->aliases);
    s->aliases[i] = *a;
    s->n_aliases++;
    return NW_OK;
}

void kms_store_remove_alias(struct kms_store *s, const char *name)
{
    size_t i = alias_pos(s, name);

    if (i >= s->n_aliases || strcmp(s->aliases[i].name, name) != 0)
        return;
    memmove(&s->aliases[i], &s->aliases[i + 1], (s->n_aliases - i - 1) * sizeof *s->aliases);
    s->n_aliases--;
}

static enum nw_err not_found_key(struct kms_call *c, struct kms_store *s, const char *id)
{
    char arn[KMS_ARN_MAX];

    kms_key_arn(s, id, arn, sizeof arn);
    return kms_fail(c, "NotFoundException", "Key '%s' does not exist", arn);
}

static enum nw_err by_alias(struct kms_call *c, struct kms_store *s, const char *name, struct kms_key **out)
{
    struct kms_alias *a = strlen(name) <= KMS_MAX_ALIAS_NAME ? kms_store_find_alias(s, name) : NULL;
    char arn[KMS_ARN_MAX];

    if (a == NULL || (*out = kms_store_find(s, a->key_id)) == NULL) {
        kms_alias_arn(s, name, arn, sizeof arn);
        return kms_fail(c, "NotFoundException", "Alias %.300s is not found.", arn);
    }
    return NW_OK;
}

enum nw_err kms_resolve(struct kms_call *c, struct kms_store *s, const char *ref, unsigned forms, struct kms_key **out)
{
    size_t plen = strlen(s->arn_prefix);
    const char *name = ref;
    int is_arn = 0;

    *out = NULL;
    if (strncmp(ref, s->arn_prefix, plen) == 0) {
        name = ref + plen;
        is_arn = 1;
    } else if (strncmp(ref, "arn:", 4) == 0) {
        return kms_fail(c, "NotFoundException", "Invalid arn %.300s (this KMS serves %s)", ref, s->arn_prefix);
    }
    if (strncmp(name, "alias/", 6) == 0 && (forms & KMS_REF_ALIAS))
        return by_alias(c, s, name, out);
    if (is_arn ? strncmp(name, "key/", 4) == 0 && kms_is_key_id(name + 4) : kms_is_key_id(name)) {
        const char *id = is_arn ? name + 4 : name;
        if ((*out = kms_store_find(s, id)) == NULL)
            return not_found_key(c, s, id);
        return NW_OK;
    }
    if (strncmp(name, "alias/", 6) == 0)
        return kms_fail(c, "NotFoundException", "Invalid keyId %.300s: %s takes a key ID or key ARN here, not an alias",
                        ref, c->op);
    return kms_fail(c, "NotFoundException", "Invalid keyId %.300s", ref);
}

enum nw_err kms_store_save(struct kms_store *s, const struct kms_key *k, int create, struct nw_error *err)
{
    struct nw_buf file;
    char name[KMS_KEY_ID_LEN + 8];
    enum nw_err rc;

    if (s->keys_dir == NULL)
        return NW_OK;
    nw_buf_init(&file, 256u * 1024u);
    if ((rc = kms_keyfile_encode(&file, s, k, err)) == NW_OK) {
        snprintf(name, sizeof name, "%s.json", k->id);
        rc = kms_write_atomic(s->keys_dir, name, file.data, file.len, 0600, create, err);
    }
    nw_buf_free(&file);
    return rc;
}

void kms_store_close(struct kms_store *s)
{
    for (size_t i = 0; i < s->n_keys; i++)
        kms_key_free(s->keys[i]);
    free(s->keys);
    free(s->aliases);
    for (size_t i = 0; i < s->n_slabs; i++)
        nw_secret_free(&s->slabs[i]);
    free(s->slabs);
    free(s->keys_dir);
    pthread_mutex_destroy(&s->mu);
    memset(s, 0, sizeof *s);
}
