/*
 * kms_client.h - the enclave's AWS KMS client: GenerateDataKey and Decrypt
 * with an attested Recipient, in process (no helper processes).
 *
 * Each call: attestation document from the NSM carrying the client's
 * RSA-2048 public key -> AWS JSON 1.1 request (X-Amz-Target
 * TrentService.*) signed with SigV4 -> HTTPS over a socket the client
 * connects itself (vsock to the parent's proxy in production; unix or TCP
 * locally) with TLS verified for the configured endpoint name -> the
 * CiphertextForRecipient in the reply opened with the RSA key.
 *
 * Errors: KMS's own answer becomes NW_ERR_KMS_DENIED with message
 * "<__type>: <message>" (e.g. "AccessDeniedException: ..."); a failure to
 * connect, a TLS failure or a reply that is not KMS's is
 * NW_ERR_KMS_UNAVAILABLE.
 */
#ifndef NITROWALLET_KMS_CLIENT_H
#define NITROWALLET_KMS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/nsm.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/sigv4.h"

struct nw_kms_config {
    const char *region;   /* "us-east-1" */
    const char *endpoint; /* TLS name and Host; NULL = kms.<region>.amazonaws.com(.cn) */
    const char *connect;  /* where to connect: "unix:/path", "tcp:127.0.0.1:4000", "vsock:3:8000";
                             NULL = tcp to endpoint:443 */
    const char *ca_file;  /* PEM bundle to verify the server (development: nitrowallet-kms's CA);
                             NULL = the Amazon Trust Services roots compiled in (trust_roots.h),
                             never the system store */
};

struct nw_kms_kv {
    const char *key;
    const char *value;
};

struct nw_kms_client;

NW_MUST_CHECK enum nw_err nw_kms_client_new(struct nw_kms_client **out, const struct nw_kms_config *cfg,
                                            struct nw_nsm *nsm, struct nw_error *err);
void nw_kms_client_free(struct nw_kms_client *c);

/* GenerateDataKey (KeySpec AES_256) with Recipient: the plaintext data key
 * (32 bytes, locked) and the CiphertextBlob (raw bytes, not base64). */
NW_MUST_CHECK enum nw_err nw_kms_generate_data_key(struct nw_kms_client *c, const struct nw_aws_credentials *creds,
                                                   const char *key_id, const struct nw_kms_kv *context,
                                                   size_t n_context, struct nw_secret *data_key,
                                                   struct nw_buf *ciphertext_blob, struct nw_error *err);

/* Decrypt with Recipient: the plaintext (locked). key_id may be NULL. */
NW_MUST_CHECK enum nw_err nw_kms_decrypt(struct nw_kms_client *c, const struct nw_aws_credentials *creds,
                                         const char *key_id, const uint8_t *ciphertext_blob, size_t blob_len,
                                         const struct nw_kms_kv *context, size_t n_context,
                                         struct nw_secret *plaintext, struct nw_error *err);

/* KMS calls made by every client of this process since it started, and
 * the attestation documents asked of the NSM for them (each serves a
 * client's calls for up to 60 s: kms_client.c). */
struct nw_kms_stats {
    unsigned long long generate_data_key, decrypt, failures, attestations;
};
void nw_kms_client_stats(struct nw_kms_stats *out);

#endif
