/*
 * ops_crypto.c - nitrowallet-kms's cryptographic operations: Encrypt,
 * Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom
 * (AWS KMS API reference, 2014-11-01, plus the Recipient parameter for
 * Nitro Enclaves).
 *
 * Order of checks, as AWS: request members, then the key reference
 * (NotFoundException), the key policy (AccessDeniedException, with the
 * encryption context and the verified attestation document as condition
 * values), the key state (DisabledException, KMSInvalidStateException),
 * then the cryptography.  With a Recipient, plaintext leaves only as
 * CiphertextForRecipient.  Plaintexts and data keys live in locked memory
 * and are wiped on every path.
 *
 * Trust boundary: request members (untrusted), validated in args.c.
 */
#include <string.h>

#include "kms_internal.h"

static enum nw_err algorithm(struct kms_call *c)
{
    static const char *const algs[] = {"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE", NULL};
    const char *alg;
    enum nw_err rc = kms_arg_enum(c, "EncryptionAlgorithm", algs, &alg);

    if (rc == NW_OK && alg != NULL && strcmp(alg, "SYMMETRIC_DEFAULT") != 0)
        return kms_fail(c, "InvalidKeyUsageException",
                        "The encryption algorithm %s is not compatible with this KMS key (SYMMETRIC_DEFAULT)", alg);
    return rc;
}

/* Resolve, authorise and check the state of the key, under the lock. */
static enum nw_err usable_key(struct kms_call *c, const char *ref, const char *action, const struct kms_context *ctx,
                              const struct kms_recipient *r, struct kms_key **k)
{
    enum nw_err rc;

    if ((rc = kms_resolve(c, &c->svc->store, ref, KMS_REF_KEY | KMS_REF_ALIAS, k)) != NW_OK ||
        (rc = kms_authorize(c, *k, action, ctx, r)) != NW_OK)
        return rc;
    return kms_require_enabled(c, *k);
}

/* Plaintext (or, with a Recipient, CiphertextForRecipient) into the reply. */
static enum nw_err reply_secret(struct kms_call *c, const struct kms_recipient *r, const uint8_t *p, size_t n)
{
    if (r->present)
        return kms_recipient_reply(c, r, p, n);
    kms_jw_key(&c->out, "Plaintext");
    kms_jw_b64(&c->out, p, n);
    return NW_OK;
}

static void reply_blob(struct kms_call *c, const struct nw_buf *blob, const char *key_id)
{
    char arn[KMS_ARN_MAX];

    kms_key_arn(&c->svc->store, key_id, arn, sizeof arn);
    if (blob != NULL) {
        kms_jw_key(&c->out, "CiphertextBlob");
        kms_jw_b64(&c->out, blob->data, blob->len);
    }
    kms_jw_kstr(&c->out, "KeyId", arn);
}

enum nw_err kms_op_encrypt(struct kms_call *c)
{
    static const char *const allowed[] = {"KeyId",       "Plaintext",           "EncryptionContext",
                                          "GrantTokens", "EncryptionAlgorithm", NULL};
    struct kms_store *s = &c->svc->store;
    struct kms_context ctx;
    struct nw_secret pt = {NULL, 0, 0};
    struct nw_buf blob;
    struct nw_error e = {NW_OK, ""};
    struct kms_key *k;
    const char *ref;
    char id[KMS_KEY_ID_LEN + 1];
    enum nw_err rc;

    nw_buf_init(&blob, KMS_MAX_CIPHERTEXT);
    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = kms_arg_grant_tokens(c)) != NW_OK ||
        (rc = algorithm(c)) != NW_OK || (rc = kms_arg_context(c, &ctx)) != NW_OK ||
        (rc = kms_arg_string(c, "KeyId", 1, 1, 2048, &ref)) != NW_OK ||
        (rc = kms_arg_blob(c, "Plaintext", 1, KMS_MAX_PLAINTEXT, &pt)) != NW_OK)
        return rc;
    kms_store_lock(s);
    if ((rc = usable_key(c, ref, "kms:Encrypt", &ctx, NULL, &k)) == NW_OK) {
        memcpy(id, k->id, sizeof id);
        if (kms_blob_seal(&blob, k->material, k->id, &ctx, pt.data, pt.len, &e) != NW_OK)
            rc = kms_fail(c, "KMSInternalException", "%s", e.msg);
    }
    kms_store_unlock(s);
    if (rc == NW_OK) {
        reply_blob(c, &blob, id);
        kms_jw_kstr(&c->out, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    }
    nw_secret_free(&pt);
    nw_buf_free(&blob);
    return rc;
}

/* Find the blob's key, check KeyId (if given) names it, authorise, open. */
static enum nw_err decrypt_locked(struct kms_call *c, const struct nw_secret *blob, const struct kms_context *ctx,
                                  const struct kms_recipient *r, struct nw_secret *pt, char id[KMS_KEY_ID_LEN + 1])
{
    struct kms_store *s = &c->svc->store;
    struct kms_key *given = NULL, *k;
    const char *ref;
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc;

    if ((rc = kms_arg_string(c, "KeyId", 0, 1, 2048, &ref)) != NW_OK ||
        (ref != NULL && (rc = kms_resolve(c, s, ref, KMS_REF_KEY | KMS_REF_ALIAS, &given)) != NW_OK))
        return rc;
    if (kms_blob_key_id(id, blob->data, blob->len, &e) != NW_OK || (k = kms_store_find(s, id)) == NULL)
        return kms_fail(c, "InvalidCiphertextException",
                        "The ciphertext is not a nitrowallet-kms ciphertext blob of a key in this KMS");
    if (given != NULL && given != k)
        return kms_fail(c, "IncorrectKeyException",
                        "The key ID in the request does not identify a KMS key that can perform this operation.");
    if ((rc = kms_authorize(c, k, "kms:Decrypt", ctx, r)) != NW_OK || (rc = kms_require_enabled(c, k)) != NW_OK)
        return rc;
    if (kms_blob_open(pt, k->material, blob->data, blob->len, ctx, &e) != NW_OK)
        return kms_fail(c, "InvalidCiphertextException",
                        "The ciphertext failed authentication (wrong encryption context, or damaged)");
    return NW_OK;
}

enum nw_err kms_op_decrypt(struct kms_call *c)
{
    static const char *const allowed[] = {"CiphertextBlob",      "EncryptionContext", "GrantTokens", "KeyId",
                                          "EncryptionAlgorithm", "Recipient",         NULL};
    struct kms_store *s = &c->svc->store;
    struct kms_context ctx;
    struct kms_recipient r;
    struct nw_secret blob = {NULL, 0, 0}, pt = {NULL, 0, 0};
    char id[KMS_KEY_ID_LEN + 1];
    enum nw_err rc;

    memset(&r, 0, sizeof r);
    if ((rc = kms_arg_check(c, allowed)) != NW_OK || (rc = kms_arg_grant_tokens(c)) != NW_OK ||
        (rc = algorithm(c)) != NW_OK || (rc = kms_arg_context(c, &ctx)) != NW_OK ||
        (rc = kms_arg_blob(c, "CiphertextBlob", 1, KMS_MAX_CIPHERTEXT, &blob)) != NW_OK ||
        (rc = kms_recipient_parse(c, &r)) != NW_OK)
        goto out;
    kms_store_lock(s);
    rc = decrypt_locked(c, &blob, &ctx, &r, &pt, id);
    kms_store_unlock(s);
    if (rc != NW_OK)
        goto out;
    reply_blob(c, NULL, id);
    if ((rc = reply_secret(c, &r, pt.data, pt.len)) == NW_OK)
        kms_jw_kstr(&c->out, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
out:
    kms_recipient_free(&r);
    nw_secret_free(&pt);
    nw_secret_free(&blob);
    return rc;
}

/* KeySpec or NumberOfBytes, exactly one. */
static enum nw_err data_key_length(struct kms_call *c, size_t *n)
{
    static const char *const specs[] = {"AES_256", "AES_128", NULL};
    const char *spec;
    long bytes = 0;
    int present;
    enum nw_err rc;

    if ((rc = kms_arg_enum(c, "KeySpec", specs, &spec)) != NW_OK ||
        (rc = kms_arg_int(c, "NumberOfBytes", 1, 1024, &bytes, &present)) != NW_OK)
        return rc;
    if ((spec != NULL) == present)
        return kms_fail(c, "ValidationException", "Please specify either number of bytes or key spec.");
    *n = spec == NULL ? (size_t)bytes : strcmp(spec, "AES_256") == 0 ? 32 : 16;
    return NW_OK;
}

static enum nw_err generate_data_key(struct kms_call *c, int with_plaintext)
{
    static const char *const allowed[] = {
        "KeyId", "EncryptionContext", "NumberOfBytes", "KeySpec", "GrantTokens", "Recipient", NULL};
    /* GenerateDataKeyWithoutPlaintext has no Recipient. */
    static const char *const allowed_without[] = {"KeyId",   "EncryptionContext", "NumberOfBytes",
                                                  "KeySpec", "GrantTokens",       NULL};
    const char *action = with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext";
    struct kms_store *s = &c->svc->store;
    struct kms_context ctx;
    struct kms_recipient r;
    struct nw_secret dk = {NULL, 0, 0};
    struct nw_buf blob;
    struct nw_error e = {NW_OK, ""};
    struct kms_key *k;
    const char *ref;
    char id[KMS_KEY_ID_LEN + 1];
    size_t n = 0;
    enum nw_err rc;

    memset(&r, 0, sizeof r);
    nw_buf_init(&blob, KMS_MAX_CIPHERTEXT);
    if ((rc = kms_arg_check(c, with_plaintext ? allowed : allowed_without)) != NW_OK ||
        (rc = kms_arg_grant_tokens(c)) != NW_OK || (rc = kms_arg_context(c, &ctx)) != NW_OK ||
        (rc = data_key_length(c, &n)) != NW_OK || (rc = kms_arg_string(c, "KeyId", 1, 1, 2048, &ref)) != NW_OK ||
        (rc = kms_recipient_parse(c, &r)) != NW_OK)
        goto out;
    if (nw_secret_alloc(&dk, n) != NW_OK || nw_random(dk.data, n) != NW_OK) {
        rc = kms_fail(c, "KMSInternalException", "cannot make a data key");
        goto out;
    }
    kms_store_lock(s);
    if ((rc = usable_key(c, ref, action, &ctx, &r, &k)) == NW_OK) {
        memcpy(id, k->id, sizeof id);
        if (kms_blob_seal(&blob, k->material, k->id, &ctx, dk.data, dk.len, &e) != NW_OK)
            rc = kms_fail(c, "KMSInternalException", "%s", e.msg);
    }
    kms_store_unlock(s);
    if (rc != NW_OK)
        goto out;
    reply_blob(c, &blob, id);
    if (with_plaintext)
        rc = reply_secret(c, &r, dk.data, dk.len);
out:
    kms_recipient_free(&r);
    nw_secret_free(&dk);
    nw_buf_free(&blob);
    return rc;
}

enum nw_err kms_op_generate_data_key(struct kms_call *c)
{
    return generate_data_key(c, 1);
}

enum nw_err kms_op_generate_data_key_without_plaintext(struct kms_call *c)
{
    return generate_data_key(c, 0);
}

enum nw_err kms_op_generate_random(struct kms_call *c)
{
    static const char *const allowed[] = {"NumberOfBytes", "CustomKeyStoreId", "Recipient", NULL};
    struct kms_recipient r;
    struct nw_secret rnd = {NULL, 0, 0};
    const char *store;
    long n = 0;
    int present;
    enum nw_err rc;

    memset(&r, 0, sizeof r);
    if ((rc = kms_arg_check(c, allowed)) != NW_OK ||
        (rc = kms_arg_int(c, "NumberOfBytes", 1, 1024, &n, &present)) != NW_OK ||
        (rc = kms_arg_string(c, "CustomKeyStoreId", 0, 1, 64, &store)) != NW_OK)
        goto out;
    if (!present) {
        rc = kms_fail(c, "ValidationException", "NumberOfBytes is required");
        goto out;
    }
    if (store != NULL) {
        rc = kms_fail(c, "CustomKeyStoreNotFoundException", "nitrowallet-kms has no custom key stores");
        goto out;
    }
    if ((rc = kms_recipient_parse(c, &r)) != NW_OK)
        goto out;
    if (nw_secret_alloc(&rnd, (size_t)n) != NW_OK || nw_random(rnd.data, (size_t)n) != NW_OK) {
        rc = kms_fail(c, "KMSInternalException", "no randomness");
        goto out;
    }
    rc = reply_secret(c, &r, rnd.data, rnd.len);
out:
    kms_recipient_free(&r);
    nw_secret_free(&rnd);
    return rc;
}
