/*
 * keyfile.c - nitrowallet-kms's state on disk: one JSON file per key in
 * <state>/keys/ (directory 0700, files 0600), holding the key's metadata,
 * its policy, its aliases and its material (base64).
 *
 * Writes are atomic and durable: a temporary file in the same directory is
 * written and fsync'ed, then renamed over the old file (updates) or
 * hard-linked to the new name (creation, which therefore never replaces an
 * existing key), and the directory is fsync'ed.  A crash leaves either the
 * old or the new file, plus at most a ".tmp-*" file that loading ignores.
 * Loading refuses to start on any file it cannot read completely: a key is
 * never dropped or replaced silently.  The format is in docs/kms.md.
 *
 * Trust boundary: the state directory is the operator's; files are still
 * parsed strictly (nw_json_parse) and bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kms_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/json.h"

#define KEYFILE_FORMAT "nitrowallet-kms key v1"
#define KEYFILE_MAX (256u * 1024u)

static const char *const state_names[] = {"Enabled", "Disabled", "PendingDeletion"};

/* --- files --------------------------------------------------------------------- */

static enum nw_err fsync_dir(const char *dir, struct nw_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "cannot open %s: %s", dir, strerror(errno));
    if (fsync(fd) != 0) {
        close(fd);
        return nw_fail(err, NW_ERR_INTERNAL, "fsync %s: %s", dir, strerror(errno));
    }
    close(fd);
    return NW_OK;
}

static enum nw_err write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NW_ERR_INTERNAL;
        p += n;
        len -= (size_t)n;
    }
    return NW_OK;
}

enum nw_err kms_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
                             int exclusive, struct nw_error *err)
{
    char tmp[4096], dst[4096];
    uint8_t rnd[8];
    int fd, n;
    enum nw_err rc = NW_OK;

    if (nw_random(rnd, sizeof rnd) != NW_OK)
        return nw_fail(err, NW_ERR_RANDOM, "no randomness for a temporary file name");
    n = snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%02x%02x%02x%02x%02x%02x%02x%02x", dir, name, rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if (n < 0 || (size_t)n >= sizeof tmp || (size_t)snprintf(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "state path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != NW_OK || fsync(fd) != 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        goto out;
    }
    if (close(fd) != 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (exclusive ? link(tmp, dst) != 0 : rename(tmp, dst) != 0) {
        rc = errno == EEXIST ? nw_fail(err, NW_ERR_INTERNAL, "refusing to replace existing %s", dst)
                             : nw_fail(err, NW_ERR_INTERNAL, "cannot install %s: %s", dst, strerror(errno));
        goto out;
    }
    rc = fsync_dir(dir, err);
out:
    unlink(tmp); /* after rename it no longer exists; after link it is the second name */
    return rc;
}

enum nw_err kms_read_file(const char *path, struct nw_buf *out, size_t max, struct nw_error *err)
{
    uint8_t chunk[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    enum nw_err rc = NW_OK;

    if (fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = nw_fail(err, NW_ERR_INTERNAL, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (nw_buf_append(out, chunk, (size_t)n) != NW_OK) {
            rc = nw_fail(err, NW_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
            break;
        }
    }
    nw_wipe(chunk, sizeof chunk);
    close(fd);
    return rc;
}

enum nw_err kms_mkdirs(const char *path, mode_t mode, struct nw_error *err)
{
    char p[4096];
    size_t n = strlen(path);
    struct stat st;

    if (n == 0 || n >= sizeof p)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "bad directory path");
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST)
            return nw_fail(err, NW_ERR_INTERNAL, "cannot create %s: %s", p, strerror(errno));
        p[i] = i < n ? '/' : '\0';
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return nw_fail(err, NW_ERR_INTERNAL, "%s is not a directory", path);
    if (st.st_uid == geteuid() && (st.st_mode & 07777) != mode && chmod(path, mode) != 0)
        return nw_fail(err, NW_ERR_INTERNAL, "cannot chmod %s: %s", path, strerror(errno));
    return NW_OK;
}

/* --- encoding -------------------------------------------------------------------- */

enum nw_err kms_keyfile_encode(struct nw_buf *out, const struct kms_store *s, const struct kms_key *k,
                               struct nw_error *err)
{
    struct kms_jw w;

    kms_jw_init(&w, out);
    kms_jw_open(&w, '{');
    kms_jw_kstr(&w, "Format", KEYFILE_FORMAT);
    kms_jw_kstr(&w, "KeyId", k->id);
    kms_jw_key(&w, "CreationDate");
    kms_jw_int(&w, k->created_ms);
    kms_jw_kstr(&w, "KeyState", state_names[k->state]);
    if (k->state == KMS_KEY_PENDING_DELETION) {
        kms_jw_key(&w, "DeletionDate");
        kms_jw_int(&w, k->deletion_ms);
        kms_jw_key(&w, "PendingWindowInDays");
        kms_jw_int(&w, k->pending_days);
    }
    kms_jw_kstr(&w, "Description", k->description);
    kms_jw_kstr(&w, "Policy", k->policy);
    kms_jw_key(&w, "Aliases");
    kms_jw_open(&w, '[');
    for (size_t i = 0; i < s->n_aliases; i++) {
        if (strcmp(s->aliases[i].key_id, k->id) != 0)
            continue;
        kms_jw_open(&w, '{');
        kms_jw_kstr(&w, "AliasName", s->aliases[i].name);
        kms_jw_key(&w, "CreationDate");
        kms_jw_int(&w, s->aliases[i].created_ms);
        kms_jw_key(&w, "LastUpdatedDate");
        kms_jw_int(&w, s->aliases[i].updated_ms);
        kms_jw_close(&w, '}');
    }
    kms_jw_close(&w, ']');
    kms_jw_key(&w, "KeyMaterial");
    kms_jw_b64(&w, k->material, KMS_MATERIAL_LEN);
    kms_jw_close(&w, '}');
    if (w.rc != NW_OK)
        return nw_fail(err, w.rc, "key file for %s could not be encoded", k->id);
    return NW_OK;
}

/* --- decoding -------------------------------------------------------------------- */

static enum nw_err get_int(int64_t *out, const cJSON *obj, const char *name, struct nw_error *err)
{
    uint64_t v;
    enum nw_err rc = nw_json_u64(&v, nw_json_get(obj, name), NW_JSON_MAX_SAFE_INT, name, err);

    *out = (int64_t)v;
    return rc;
}

static enum nw_err get_str(const char **out, const cJSON *obj, const char *name, size_t max, struct nw_error *err)
{
    size_t len;
    enum nw_err rc = nw_json_string(out, &len, nw_json_get(obj, name), name, err);

    if (rc == NW_OK && len > max)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s is longer than %zu bytes", name, max);
    return rc;
}

static enum nw_err decode_aliases(struct kms_store *s, const struct kms_key *k, const cJSON *list, struct nw_error *err)
{
    static const char *const keys[] = {"AliasName", "CreationDate", "LastUpdatedDate", NULL};
    const cJSON *a;
    enum nw_err rc;

    if (!cJSON_IsArray(list))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "Aliases: expected a list");
    cJSON_ArrayForEach(a, list)
    {
        struct kms_alias al;
        const char *name;
        memset(&al, 0, sizeof al);
        if ((rc = nw_json_check_keys(a, keys, "alias", err)) != NW_OK ||
            (rc = get_str(&name, a, "AliasName", KMS_MAX_ALIAS_NAME, err)) != NW_OK ||
            (rc = get_int(&al.created_ms, a, "CreationDate", err)) != NW_OK ||
            (rc = get_int(&al.updated_ms, a, "LastUpdatedDate", err)) != NW_OK)
            return rc;
        if (strncmp(name, "alias/", 6) != 0)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "alias name must start with alias/");
        memcpy(al.name, name, strlen(name) + 1);
        memcpy(al.key_id, k->id, sizeof al.key_id);
        if ((rc = kms_store_insert_alias(s, &al, err)) != NW_OK)
            return rc;
    }
    return NW_OK;
}

static enum nw_err decode_state(struct kms_key *k, const cJSON *root, struct nw_error *err)
{
    const char *st;
    int64_t days;
    enum nw_err rc;

    if ((rc = get_str(&st, root, "KeyState", 32, err)) != NW_OK)
        return rc;
    for (int i = 0; i < 3; i++)
        if (strcmp(st, state_names[i]) == 0)
            k->state = (enum kms_key_state)i;
    if (strcmp(st, state_names[k->state]) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "unknown KeyState \"%.32s\"", st);
    if (k->state != KMS_KEY_PENDING_DELETION)
        return NW_OK;
    if ((rc = get_int(&k->deletion_ms, root, "DeletionDate", err)) != NW_OK ||
        (rc = get_int(&days, root, "PendingWindowInDays", err)) != NW_OK)
        return rc;
    if (days < 7 || days > 30)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "PendingWindowInDays out of range");
    k->pending_days = (long)days;
    return NW_OK;
}

static enum nw_err dup_string(char **out, const char *s)
{
    size_t n = strlen(s) + 1;

    if ((*out = malloc(n)) == NULL)
        return NW_ERR_NOMEM;
    memcpy(*out, s, n);
    return NW_OK;
}

static enum nw_err decode_fields(struct kms_store *s, struct kms_key *k, const cJSON *root, const char *expect_id,
                                 struct nw_error *err)
{
    static const char *const keys[] = {
        "Format", "KeyId",   "CreationDate", "KeyState", "DeletionDate", "PendingWindowInDays", "Description",
        "Policy", "Aliases", "KeyMaterial",  NULL};
    const char *fmt, *id, *desc, *policy, *mat;
    size_t mat_len = 0;
    enum nw_err rc;

    if ((rc = nw_json_check_keys(root, keys, "key file", err)) != NW_OK ||
        (rc = get_str(&fmt, root, "Format", 64, err)) != NW_OK)
        return rc;
    if (strcmp(fmt, KEYFILE_FORMAT) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "unknown Format \"%.64s\"", fmt);
    if ((rc = get_str(&id, root, "KeyId", KMS_KEY_ID_LEN, err)) != NW_OK ||
        (rc = get_int(&k->created_ms, root, "CreationDate", err)) != NW_OK ||
        (rc = decode_state(k, root, err)) != NW_OK ||
        (rc = get_str(&desc, root, "Description", KMS_MAX_DESCRIPTION, err)) != NW_OK ||
        (rc = get_str(&policy, root, "Policy", KMS_MAX_POLICY, err)) != NW_OK ||
        (rc = get_str(&mat, root, "KeyMaterial", 64, err)) != NW_OK)
        return rc;
    if (!kms_is_key_id(id))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "KeyId is not a key id");
    /* Before anything is registered (aliases below), so the refusal names
     * the real problem whatever order the directory lists files in. */
    if (expect_id != NULL && strncmp(expect_id, id, KMS_KEY_ID_LEN) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "file name does not match its KeyId %s", id);
    memcpy(k->id, id, KMS_KEY_ID_LEN + 1);
    if ((rc = nw_base64_decode(k->material, KMS_MATERIAL_LEN, &mat_len, mat, strlen(mat), err)) != NW_OK ||
        mat_len != KMS_MATERIAL_LEN)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "KeyMaterial is not %d bytes of base64", KMS_MATERIAL_LEN);
    if ((rc = kms_policy_parse(&k->policy_tree, policy, strlen(policy), err)) != NW_OK) {
        nw_error_prefix(err, "Policy");
        return rc;
    }
    free(k->description);
    k->description = NULL;
    if (dup_string(&k->description, desc) != NW_OK || dup_string(&k->policy, policy) != NW_OK)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    return decode_aliases(s, k, nw_json_get(root, "Aliases"), err);
}

enum nw_err kms_keyfile_decode(struct kms_store *s, struct kms_key *k, const char *text, size_t len,
                               const char *expect_id, struct nw_error *err)
{
    cJSON *root = NULL;
    enum nw_err rc = nw_json_parse(&root, text, len, KEYFILE_MAX, err);

    if (rc == NW_OK)
        rc = decode_fields(s, k, root, expect_id, err);
    nw_json_delete_wiped(root);
    return rc;
}

/* --- loading ----------------------------------------------------------------------- */

static enum nw_err load_one(struct kms_store *s, const char *fname, struct nw_error *err)
{
    char path[4096];
    struct nw_buf text;
    struct kms_key *k = NULL;
    enum nw_err rc;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", s->keys_dir, fname) >= sizeof path)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "state path too long");
    nw_buf_init(&text, KEYFILE_MAX);
    NW_GUARD(kms_read_file(path, &text, KEYFILE_MAX, err));
    NW_GUARD(kms_store_new_key(s, &k, err));
    NW_GUARD(kms_keyfile_decode(s, k, (const char *)text.data, text.len, fname, err));
    NW_GUARD(kms_store_insert(s, k, err));
    k = NULL;
out:
    kms_key_free(k);
    nw_buf_free(&text);
    if (rc != NW_OK)
        nw_error_prefix(err, "corrupt key file %s", path);
    return rc;
}

/* "<uuid>.json" */
static int is_key_file(const char *name)
{
    char id[KMS_KEY_ID_LEN + 1];

    if (strlen(name) != KMS_KEY_ID_LEN + 5 || strcmp(name + KMS_KEY_ID_LEN, ".json") != 0)
        return 0;
    memcpy(id, name, KMS_KEY_ID_LEN);
    id[KMS_KEY_ID_LEN] = '\0';
    return kms_is_key_id(id);
}

static enum nw_err load_all(struct kms_store *s, struct nw_error *err)
{
    DIR *d = opendir(s->keys_dir);
    struct dirent *e;
    enum nw_err rc = NW_OK;

    if (d == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "cannot open %s: %s", s->keys_dir, strerror(errno));
    while (rc == NW_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and ".tmp-*" left by a crash before rename */
        if (!is_key_file(e->d_name))
            rc = nw_fail(err, NW_ERR_BAD_REQUEST, "unexpected file %s/%s (refusing to start)", s->keys_dir, e->d_name);
        else
            rc = load_one(s, e->d_name, err);
    }
    closedir(d);
    return rc;
}

static const char *partition(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0)
        return "aws-cn";
    if (strncmp(region, "us-gov-", 7) == 0)
        return "aws-us-gov";
    return "aws";
}

enum nw_err kms_store_open(struct kms_store *s, const char *keys_dir, const char *region, const char *account,
                           struct nw_error *err)
{
    enum nw_err rc;

    memset(s, 0, sizeof *s);
    if (strlen(region) == 0 || strlen(region) >= sizeof s->region || strlen(account) != 12)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "region must be 1..32 characters and the account 12 digits");
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return nw_fail(err, NW_ERR_INTERNAL, "cannot create the store mutex");
    memcpy(s->region, region, strlen(region) + 1);
    memcpy(s->account, account, 13);
    snprintf(s->arn_prefix, sizeof s->arn_prefix, "arn:%s:kms:%s:%s:", partition(region), region, account);
    if (keys_dir == NULL)
        return NW_OK;
    if (dup_string(&s->keys_dir, keys_dir) != NW_OK) {
        kms_store_close(s);
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    }
    if ((rc = kms_mkdirs(keys_dir, 0700, err)) != NW_OK || (rc = load_all(s, err)) != NW_OK) {
        kms_store_close(s);
        return rc;
    }
    return NW_OK;
}
