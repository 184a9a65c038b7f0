/*
 * seal.c - AES-256-GCM sealing of private keys under a KMS data key
 * (design section 5; NIST SP 800-38D).
 *
 * Trust boundary: enclave only.  A fresh random 96-bit nonce per seal; each
 * data key seals one account's key, so nonce reuse under a key cannot occur
 * in practice.  The AAD (docs/sealing.md) is
 *     "nitrowallet/seal" || version || u16be(len) name || address(20)
 *     || u16be(len) kms_key_id || policy_digest(32)
 * Length prefixes keep distinct (name, key id) pairs from sharing bytes.
 */
#include "nitrowallet/seal.h"

#include <string.h>

#include <openssl/evp.h>

static const char aad_label[] = "nitrowallet/seal";

#define AAD_MAX (sizeof aad_label - 1 + 1 + 2 + NW_SEAL_MAX_NAME + 20 + 2 + NW_SEAL_MAX_KEY_ID + 32)

static enum nw_err build_aad(uint8_t *aad, size_t *aad_len, uint8_t version, const struct nw_seal_context *c,
                             struct nw_error *err)
{
    size_t n = 0;

    if (c->account_name_len == 0 || c->account_name_len > NW_SEAL_MAX_NAME)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "seal: account name must be 1..%d bytes", NW_SEAL_MAX_NAME);
    if (c->kms_key_id_len == 0 || c->kms_key_id_len > NW_SEAL_MAX_KEY_ID)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "seal: KMS key id must be 1..%d bytes", NW_SEAL_MAX_KEY_ID);
    memcpy(aad + n, aad_label, sizeof aad_label - 1);
    n += sizeof aad_label - 1;
    aad[n++] = version;
    aad[n++] = (uint8_t)(c->account_name_len >> 8);
    aad[n++] = (uint8_t)c->account_name_len;
    memcpy(aad + n, c->account_name, c->account_name_len);
    n += c->account_name_len;
    memcpy(aad + n, c->address, 20);
    n += 20;
    aad[n++] = (uint8_t)(c->kms_key_id_len >> 8);
    aad[n++] = (uint8_t)c->kms_key_id_len;
    memcpy(aad + n, c->kms_key_id, c->kms_key_id_len);
    n += c->kms_key_id_len;
    memcpy(aad + n, c->policy_digest, 32);
    n += 32;
    *aad_len = n;
    return NW_OK;
}

static enum nw_err check_data_key(const struct nw_secret *data_key, struct nw_error *err)
{
    if (data_key == NULL || data_key->data == NULL || data_key->len != NW_SEAL_KEY_LEN)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "seal: data key must be %d bytes", NW_SEAL_KEY_LEN);
    return NW_OK;
}

enum nw_err nw_seal_key(struct nw_buf *out, const struct nw_secret *data_key, const struct nw_seal_context *ctx,
                        const uint8_t sk[32], struct nw_error *err)
{
    uint8_t aad[AAD_MAX], blob[NW_SEAL_V1_LEN];
    uint8_t *nonce = blob + 1, *ct = blob + 1 + NW_SEAL_NONCE_LEN, *tag = ct + 32;
    size_t aad_len;
    EVP_CIPHER_CTX *c = NULL;
    int n, ok;
    enum nw_err rc;

    if ((rc = check_data_key(data_key, err)) != NW_OK ||
        (rc = build_aad(aad, &aad_len, NW_SEAL_VERSION_1, ctx, err)) != NW_OK)
        return rc;
    if (out->len != 0)
        return nw_fail(err, NW_ERR_INTERNAL, "seal: output buffer not empty");
    blob[0] = NW_SEAL_VERSION_1;
    if (nw_random(nonce, NW_SEAL_NONCE_LEN) != NW_OK)
        return nw_fail(err, NW_ERR_RANDOM, "seal: no randomness for the nonce");
    if ((c = EVP_CIPHER_CTX_new()) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "seal: out of memory");
    ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NW_SEAL_NONCE_LEN, NULL) &&
         EVP_EncryptInit_ex(c, NULL, NULL, data_key->data, nonce) &&
         EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) && EVP_EncryptUpdate(c, ct, &n, sk, 32) && n == 32 &&
         EVP_EncryptFinal_ex(c, ct + 32, &n) && n == 0 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, NW_SEAL_TAG_LEN, tag);
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        return nw_fail(err, NW_ERR_INTERNAL, "seal: AES-256-GCM failed");
    rc = nw_buf_append(out, blob, sizeof blob);
    nw_wipe(blob, sizeof blob);
    return rc == NW_OK ? NW_OK : nw_fail(err, rc, "seal: output buffer too small");
}

enum nw_err nw_seal_open_key(struct nw_secret *sk, const struct nw_secret *data_key,
                             const struct nw_seal_context *ctx, const uint8_t *blob, size_t blob_len,
                             struct nw_error *err)
{
    uint8_t aad[AAD_MAX], tag[NW_SEAL_TAG_LEN];
    size_t aad_len;
    EVP_CIPHER_CTX *c = NULL;
    int n, ok;
    enum nw_err rc;

    sk->data = NULL;
    sk->len = 0;
    if ((rc = check_data_key(data_key, err)) != NW_OK)
        return rc;
    if (blob_len == 0)
        return nw_fail(err, NW_ERR_SEAL_INVALID, "sealed key is empty");
    if (blob[0] != NW_SEAL_VERSION_1)
        return nw_fail(err, NW_ERR_SEAL_INVALID, "sealed key has unknown format version %u", blob[0]);
    if (blob_len != NW_SEAL_V1_LEN)
        return nw_fail(err, NW_ERR_SEAL_INVALID, "sealed key is %zu bytes, version 1 has %d", blob_len,
                       NW_SEAL_V1_LEN);
    if ((rc = build_aad(aad, &aad_len, blob[0], ctx, err)) != NW_OK)
        return rc;
    if ((rc = nw_secret_alloc(sk, 32)) != NW_OK)
        return nw_fail(err, rc, "open: cannot allocate locked memory");
    memcpy(tag, blob + 1 + NW_SEAL_NONCE_LEN + 32, NW_SEAL_TAG_LEN);
    if ((c = EVP_CIPHER_CTX_new()) == NULL) {
        nw_secret_free(sk);
        return nw_fail(err, NW_ERR_NOMEM, "open: out of memory");
    }
    ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NW_SEAL_NONCE_LEN, NULL) &&
         EVP_DecryptInit_ex(c, NULL, NULL, data_key->data, blob + 1) &&
         EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) &&
         EVP_DecryptUpdate(c, sk->data, &n, blob + 1 + NW_SEAL_NONCE_LEN, 32) && n == 32 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, NW_SEAL_TAG_LEN, tag) &&
         EVP_DecryptFinal_ex(c, sk->data + 32, &n) > 0;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        /* Wipes the unauthenticated plaintext: nothing is released. */
        nw_secret_free(sk);
        return nw_fail(err, NW_ERR_SEAL_INVALID,
                       "sealed key failed authentication (wrong data key, account binding, or damaged blob)");
    }
    return NW_OK;
}
