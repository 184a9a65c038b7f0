/*
 * kms_json.h - the bodies of the enclave's KMS calls (AWS JSON 1.1, the
 * GenerateDataKey and Decrypt operations of the AWS KMS API Reference) and
 * the reading of KMS's replies: pure functions over bytes, so they are unit
 * tested and fuzzed without a network (fuzz/fuzz_kms_reply.c).
 *
 * Requests always carry a Recipient (RSAES_OAEP_SHA_256 and the attestation
 * document, base64).  A successful reply must then carry
 * CiphertextForRecipient and must NOT carry Plaintext: a reply with a
 * plaintext field is refused (and the field wiped), because a data key that
 * travelled outside the enclave's RSA envelope is no longer secret.
 *
 * Error replies ({"__type": "...", "message": "..."}, AWS JSON 1.1 error
 * shape) become "<Type>: <message>" with any namespace before '#' removed
 * and non-printable bytes replaced: NW_ERR_KMS_DENIED for 4xx,
 * NW_ERR_KMS_UNAVAILABLE for any other status and for ThrottlingException
 * (worth a retry).
 * A reply that is not KMS's (no error type, not JSON, missing fields) is
 * NW_ERR_KMS_UNAVAILABLE with the reason.
 */
#ifndef NITROWALLET_KMS_JSON_H
#define NITROWALLET_KMS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/kms_client.h" /* struct nw_kms_kv */

#define NW_KMS_MAX_CONTEXT 64              /* encryption context pairs */
#define NW_KMS_CONTEXT_MAX_BYTES 8192      /* keys + values, KMS's limit */
#define NW_KMS_KEY_ID_MAX 2048             /* KMS's KeyId limit */
#define NW_KMS_BLOB_MAX 6144               /* CiphertextBlob, KMS's limit */
#define NW_KMS_PLAINTEXT_MAX 4096          /* Decrypt plaintext, KMS's limit */
#define NW_KMS_DOC_MAX (16u * 1024u)       /* attestation document */
#define NW_KMS_REQUEST_MAX (60u * 1024u)   /* request body (the emulator takes 64 KiB) */
#define NW_KMS_REPLY_MAX (256u * 1024u)    /* reply body */

/* GenerateDataKey (KeySpec AES_256) body, appended to `out`. */
NW_MUST_CHECK enum nw_err nw_kms_json_generate_data_key(struct nw_buf *out, const char *key_id,
                                                        const struct nw_kms_kv *context, size_t n_context,
                                                        const uint8_t *doc, size_t doc_len, struct nw_error *err);

/* Decrypt body, appended to `out`; key_id may be NULL. */
NW_MUST_CHECK enum nw_err nw_kms_json_decrypt(struct nw_buf *out, const char *key_id, const uint8_t *blob,
                                              size_t blob_len, const struct nw_kms_kv *context, size_t n_context,
                                              const uint8_t *doc, size_t doc_len, struct nw_error *err);

/*
 * Read a reply: `status` is the HTTP status, `error_type` the
 * x-amzn-ErrorType header ("" or NULL if absent; used when the body has no
 * __type).  On success the decoded CiphertextForRecipient is appended to
 * `cfr` and, if `blob` is not NULL (GenerateDataKey), the decoded
 * CiphertextBlob to `blob`.
 */
NW_MUST_CHECK enum nw_err nw_kms_json_reply(struct nw_buf *cfr, struct nw_buf *blob, int status,
                                            const char *error_type, const uint8_t *body, size_t len,
                                            struct nw_error *err);

#endif
