/*
 * blob.c - nitrowallet-kms's ciphertext blobs (CiphertextBlob of Encrypt
 * and GenerateDataKey*), AES-256-GCM (NIST SP 800-38D) under the key's
 * material.
 *
 *     "nw" | version (1) | key id length (1, = 36) | key id (36, ASCII)
 *     | nonce (12) | ciphertext | tag (16)
 *
 * The GCM additional data binds the blob to its key and its encryption
 * context:
 *     "nitrowallet-kms/blob" | version | key id
 *     | u32be(pairs) | for each pair in bytewise key order:
 *       u32be(len) key | u32be(len) value
 * so Decrypt with any other context, another key's material, or any changed
 * byte fails (InvalidCiphertextException) and releases nothing.  The format
 * is ours (AWS's is not public); docs/kms.md has it.
 *
 * Trust boundary: blobs come from requests (untrusted).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kms_internal.h"

static const char aad_label[] = "nitrowallet-kms/blob";

static enum nw_err put_u32(struct nw_buf *b, size_t v)
{
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return nw_buf_append(b, be, 4);
}

static enum nw_err build_aad(struct nw_buf *aad, const char *key_id, const struct kms_context *ctx)
{
    enum nw_err rc = NW_OK;
    uint8_t version = KMS_BLOB_VERSION;

    if ((rc = nw_buf_append(aad, aad_label, sizeof aad_label - 1)) != NW_OK ||
        (rc = nw_buf_append(aad, &version, 1)) != NW_OK || (rc = nw_buf_append(aad, key_id, KMS_KEY_ID_LEN)) != NW_OK ||
        (rc = put_u32(aad, ctx != NULL ? ctx->n : 0)) != NW_OK)
        return rc;
    for (size_t i = 0; ctx != NULL && i < ctx->n && rc == NW_OK; i++) {
        const struct kms_pair *p = &ctx->pairs[i];
        if ((rc = put_u32(aad, p->key_len)) == NW_OK && (rc = nw_buf_append(aad, p->key, p->key_len)) == NW_OK &&
            (rc = put_u32(aad, p->value_len)) == NW_OK)
            rc = nw_buf_append(aad, p->value, p->value_len);
    }
    return rc;
}

static int gcm(int enc, const uint8_t key[KMS_MATERIAL_LEN], const uint8_t *nonce, const struct nw_buf *aad,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[KMS_BLOB_TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n, ok;

    if (c == NULL)
        return 0;
    ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, KMS_BLOB_NONCE, NULL) &&
         EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) && EVP_CipherUpdate(c, NULL, &n, aad->data, (int)aad->len) &&
         EVP_CipherUpdate(c, out, &n, in, (int)len) && (size_t)n == len &&
         (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KMS_BLOB_TAG, tag)) &&
         EVP_CipherFinal_ex(c, out + len, &n) > 0 && n == 0 &&
         (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KMS_BLOB_TAG, tag));
    EVP_CIPHER_CTX_free(c);
    return ok;
}

enum nw_err kms_blob_seal(struct nw_buf *out, const uint8_t key[KMS_MATERIAL_LEN], const char *key_id,
                          const struct kms_context *ctx, const uint8_t *pt, size_t len, struct nw_error *err)
{
    uint8_t head[KMS_BLOB_HEADER + KMS_BLOB_NONCE], tag[KMS_BLOB_TAG];
    uint8_t *nonce = head + KMS_BLOB_HEADER, *ct = NULL;
    struct nw_buf aad;
    enum nw_err rc;

    if (len == 0 || len > KMS_MAX_PLAINTEXT || strlen(key_id) != KMS_KEY_ID_LEN)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "blob: plaintext must be 1..%d bytes", KMS_MAX_PLAINTEXT);
    nw_buf_init(&aad, 64u * 1024u);
    head[0] = 'n';
    head[1] = 'w';
    head[2] = KMS_BLOB_VERSION;
    head[3] = KMS_KEY_ID_LEN;
    memcpy(head + 4, key_id, KMS_KEY_ID_LEN);
    if (nw_random(nonce, KMS_BLOB_NONCE) != NW_OK) {
        rc = nw_fail(err, NW_ERR_RANDOM, "blob: no randomness for the nonce");
        goto out;
    }
    if ((rc = build_aad(&aad, key_id, ctx)) != NW_OK) {
        rc = nw_fail(err, rc, "blob: encryption context too large");
        goto out;
    }
    /* The output buffer is public (ciphertext only), so encrypt into a
     * scratch copy and append. */
    if ((ct = malloc(len + KMS_BLOB_TAG)) == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "blob: out of memory");
        goto out;
    }
    if (!gcm(1, key, nonce, &aad, pt, len, ct, tag)) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "blob: AES-256-GCM failed");
        goto out;
    }
    if ((rc = nw_buf_append(out, head, sizeof head)) != NW_OK || (rc = nw_buf_append(out, ct, len)) != NW_OK ||
        (rc = nw_buf_append(out, tag, sizeof tag)) != NW_OK)
        rc = nw_fail(err, rc, "blob: output buffer too small");
out:
    if (ct != NULL) {
        nw_wipe(ct, len + KMS_BLOB_TAG);
        free(ct);
    }
    nw_buf_free(&aad);
    return rc;
}

enum nw_err kms_blob_key_id(char id[KMS_KEY_ID_LEN + 1], const uint8_t *blob, size_t len, struct nw_error *err)
{
    id[0] = '\0';
    if (len < KMS_BLOB_OVERHEAD + 1 || len > KMS_MAX_CIPHERTEXT || blob[0] != 'n' || blob[1] != 'w')
        return nw_fail(err, NW_ERR_SEAL_INVALID, "not a nitrowallet-kms ciphertext blob");
    if (blob[2] != KMS_BLOB_VERSION || blob[3] != KMS_KEY_ID_LEN)
        return nw_fail(err, NW_ERR_SEAL_INVALID, "unknown ciphertext blob version %u", blob[2]);
    memcpy(id, blob + 4, KMS_KEY_ID_LEN);
    id[KMS_KEY_ID_LEN] = '\0';
    if (!kms_is_key_id(id)) {
        id[0] = '\0';
        return nw_fail(err, NW_ERR_SEAL_INVALID, "ciphertext blob names no valid key id");
    }
    return NW_OK;
}

enum nw_err kms_blob_open(struct nw_secret *pt, const uint8_t key[KMS_MATERIAL_LEN], const uint8_t *blob, size_t len,
                          const struct kms_context *ctx, struct nw_error *err)
{
    char id[KMS_KEY_ID_LEN + 1];
    uint8_t tag[KMS_BLOB_TAG];
    struct nw_buf aad;
    size_t ct_len;
    enum nw_err rc;

    pt->data = NULL;
    pt->len = 0;
    pt->map_len = 0;
    if ((rc = kms_blob_key_id(id, blob, len, err)) != NW_OK)
        return rc;
    ct_len = len - KMS_BLOB_OVERHEAD;
    nw_buf_init(&aad, 64u * 1024u);
    if ((rc = build_aad(&aad, id, ctx)) != NW_OK) {
        nw_buf_free(&aad);
        return nw_fail(err, NW_ERR_SEAL_INVALID, "encryption context too large");
    }
    /* One spare byte: EVP_CipherFinal_ex writes nothing for GCM but takes a pointer. */
    if (nw_secret_alloc(pt, ct_len + 1) != NW_OK) {
        nw_buf_free(&aad);
        return nw_fail(err, NW_ERR_NOMEM, "cannot allocate locked memory");
    }
    pt->len = ct_len;
    memcpy(tag, blob + len - KMS_BLOB_TAG, KMS_BLOB_TAG);
    if (!gcm(0, key, blob + KMS_BLOB_HEADER, &aad, blob + KMS_BLOB_HEADER + KMS_BLOB_NONCE, ct_len, pt->data, tag)) {
        nw_secret_free(pt);
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "ciphertext blob failed authentication");
    }
    nw_buf_free(&aad);
    return rc;
}
