/*
 * seal.h - sealing a private key under a KMS data key (design section 5).
 *
 * Blob (EncryptedPrivateKey, before base64):
 *     version (1) || nonce (12) || AES-256-GCM ciphertext || tag (16)
 * Version 1 seals one 32-byte secp256k1 private key.  The GCM additional
 * authenticated data binds the blob to its account: a fixed label, the
 * version, and the length-prefixed account name, address, KMS key id and
 * policy digest (docs/sealing.md has the exact bytes).  Opening with any of
 * these changed, any byte of the blob changed, or another data key fails
 * with NW_ERR_SEAL_INVALID and releases nothing.
 */
#ifndef NITROWALLET_SEAL_H
#define NITROWALLET_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/secret.h"

#define NW_SEAL_VERSION_1 1
#define NW_SEAL_NONCE_LEN 12
#define NW_SEAL_TAG_LEN 16
#define NW_SEAL_KEY_LEN 32
#define NW_SEAL_V1_LEN (1 + NW_SEAL_NONCE_LEN + 32 + NW_SEAL_TAG_LEN)
#define NW_SEAL_MAX_NAME 128
#define NW_SEAL_MAX_KEY_ID 2048

struct nw_seal_context {
    const char *account_name;
    size_t account_name_len; /* 1..NW_SEAL_MAX_NAME */
    uint8_t address[20];
    const char *kms_key_id;
    size_t kms_key_id_len;   /* 1..NW_SEAL_MAX_KEY_ID */
    uint8_t policy_digest[32];
};

/* Seal the 32-byte private key `sk` under the 32-byte `data_key`; the blob
 * is appended to `out` (which must be empty). */
NW_MUST_CHECK enum nw_err nw_seal_key(struct nw_buf *out, const struct nw_secret *data_key,
                                      const struct nw_seal_context *ctx, const uint8_t sk[32],
                                      struct nw_error *err);

/* Open a blob into `sk` (allocated here as a 32-byte secret). */
NW_MUST_CHECK enum nw_err nw_seal_open_key(struct nw_secret *sk, const struct nw_secret *data_key,
                                           const struct nw_seal_context *ctx, const uint8_t *blob,
                                           size_t blob_len, struct nw_error *err);

#endif
