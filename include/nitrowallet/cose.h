/*
 * cose.h - COSE_Sign1 (RFC 9052 section 4.2) with ES384 only, as AWS Nitro
 * attestation documents use it.
 *
 * A COSE_Sign1 is [protected: bstr(map), unprotected: map, payload: bstr,
 * signature: bstr], optionally under CBOR tag 18.  The signature is the
 * ECDSA P-384 / SHA-384 signature over the Sig_structure
 * ["Signature1", protected, external_aad = h'', payload] (RFC 9052 section
 * 4.4), encoded as r || s, 48 bytes each (RFC 9053 section 2.1).  The parser
 * is bounded (cbor.h); messages parsed from untrusted input point into the
 * caller's buffer.
 */
#ifndef NITROWALLET_COSE_H
#define NITROWALLET_COSE_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"

#define NW_COSE_TAG_SIGN1 18
#define NW_COSE_ALG_ES384 (-35)
#define NW_COSE_ES384_SIG_LEN 96

/* OpenSSL's EVP_PKEY (typedef struct evp_pkey_st EVP_PKEY). */
struct evp_pkey_st;

struct nw_cose_sign1 {
    const uint8_t *protected_hdr; /* contents of the protected bstr (a serialized map) */
    size_t protected_len;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *signature;
    size_t signature_len;
    int tagged; /* 1 if the message carried tag 18 */
};

/*
 * Parse a COSE_Sign1 (tagged or untagged; the unprotected header may be a
 * map or null) and check that the protected header says alg = ES384 and the
 * signature is 96 bytes.  Nothing may follow the message.  Malformed input:
 * NW_ERR_BAD_REQUEST.
 */
NW_MUST_CHECK enum nw_err nw_cose_sign1_parse(struct nw_cose_sign1 *out, const uint8_t *msg, size_t len,
                                              struct nw_error *err);

/* Append the CBOR Sig_structure for a COSE_Sign1 with an empty external_aad. */
NW_MUST_CHECK enum nw_err nw_cose_sig_structure(struct nw_buf *out, const uint8_t *protected_hdr,
                                                size_t protected_len, const uint8_t *payload,
                                                size_t payload_len);

/*
 * Verify the message's signature with `key`, which must be an EC P-384
 * public key.  A wrong key type: NW_ERR_ATTESTATION "signing key is not
 * EC P-384"; a bad signature: NW_ERR_ATTESTATION "signature does not verify".
 */
NW_MUST_CHECK enum nw_err nw_cose_sign1_verify_es384(const struct nw_cose_sign1 *msg, struct evp_pkey_st *key,
                                                     struct nw_error *err);

/*
 * Append an untagged COSE_Sign1 over `payload` signed with the P-384
 * private key `key`: protected {1: -35}, unprotected {} (the layout the NSM
 * produces).  For the emulated NSM and tests.
 */
NW_MUST_CHECK enum nw_err nw_cose_sign1_sign_es384(struct nw_buf *out, const uint8_t *payload, size_t payload_len,
                                                   struct evp_pkey_st *key, struct nw_error *err);

#endif
