/*
 * cms.h - KMS's CiphertextForRecipient: CMS EnvelopedData (RFC 5652) with
 * one KeyTransRecipientInfo (RSAES-OAEP, SHA-256, MGF1-SHA-256, empty
 * label) and AES-256-CBC content encryption, BER with indefinite lengths
 * as KMS sends it.
 *
 * The enclave holds an RSA-2048 recipient key, puts its public half (DER
 * SubjectPublicKeyInfo) in the attestation document, and opens what KMS
 * returns in process.  nitrowallet-kms builds the same structure.
 */
#ifndef NITROWALLET_CMS_H
#define NITROWALLET_CMS_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/secret.h"

#define NW_CMS_MAX (16u * 1024u)

struct nw_rsa_recipient;

/* Generate an RSA-2048 key pair. */
NW_MUST_CHECK enum nw_err nw_rsa_recipient_generate(struct nw_rsa_recipient **out, struct nw_error *err);
/* Load a private key from DER (PKCS#1 RSAPrivateKey or PKCS#8). */
NW_MUST_CHECK enum nw_err nw_rsa_recipient_from_der(struct nw_rsa_recipient **out, const uint8_t *der,
                                                    size_t len, struct nw_error *err);
/* The public key as DER SubjectPublicKeyInfo (valid until free). */
void nw_rsa_recipient_spki(const struct nw_rsa_recipient *r, const uint8_t **der, size_t *len);
void nw_rsa_recipient_free(struct nw_rsa_recipient *r);

/*
 * Open a CiphertextForRecipient into `out` (allocated here, locked).  The
 * content must be at most `max_len` bytes.  Any failure (wrong key, damaged
 * message, unexpected algorithms) is NW_ERR_KMS_DENIED-free: it returns
 * NW_ERR_BAD_REQUEST with the reason and releases nothing.
 */
NW_MUST_CHECK enum nw_err nw_cms_open(struct nw_secret *out, const struct nw_rsa_recipient *r, const uint8_t *cms,
                                      size_t cms_len, size_t max_len, struct nw_error *err);

/* Build a CiphertextForRecipient for `plaintext` to the RSA public key in
 * `spki` (DER SubjectPublicKeyInfo), appended to `out`. */
NW_MUST_CHECK enum nw_err nw_cms_seal(struct nw_buf *out, const uint8_t *spki, size_t spki_len,
                                      const uint8_t *plaintext, size_t len, struct nw_error *err);

#endif
