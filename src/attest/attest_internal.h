/*
 * attest_internal.h - pieces shared by the attestation sources
 * (attestation.c, attest_chain.c, aws_root.c) and their unit test; not part
 * of the public API.
 */
#ifndef NITROWALLET_ATTEST_INTERNAL_H
#define NITROWALLET_ATTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/attestation.h"

/* At most this many certificates in a document's cabundle (AWS sends 4). */
#define NW_ATT_MAX_CABUNDLE 16
/* AWS's syntactic rules bound every certificate to 1..1024 bytes. */
#define NW_ATT_MAX_CERT 1024

/* The AWS Nitro Enclaves root G1 in PEM (aws_root.c). */
extern const char nw_attest_aws_root_pem[];
extern const size_t nw_attest_aws_root_pem_len;

/* OpenSSL's X509 (typedef struct x509_st X509). */
struct x509_st;

/*
 * Verify that `leaf` (whose DER is leaf_der; NULL: decoded from it when needed) chains through the cabundle certificates (DER, any
 * order) to one of `roots`, every certificate valid at `at_s` (seconds
 * since the epoch).  Failure: NW_ERR_ATTESTATION "certificate chain: <the
 * reason OpenSSL gives>", or NW_ERR_BAD_REQUEST for a certificate that is
 * not DER X.509.
 */
NW_MUST_CHECK enum nw_err nw_attest_chain_verify(const struct nw_attest_roots *roots, struct x509_st *leaf,
                                                 const uint8_t *leaf_der, size_t leaf_len,
                                                 const uint8_t *const *cabundle, const size_t *cabundle_len,
                                                 size_t n, int64_t at_s, struct nw_error *err);

/* The verified-signature cache of `roots` (attest_chain.c): 1 if a
 * document with this SHA-256 had its signature verified before. */
int nw_attest_roots_signed_seen(const struct nw_attest_roots *roots, const uint8_t digest[32]);
void nw_attest_roots_signed_add(const struct nw_attest_roots *roots, const uint8_t digest[32]);

/* Decode exactly one DER certificate filling all `len` bytes; NULL if not. */
struct x509_st *nw_attest_cert_decode(const uint8_t *der, size_t len);

#endif
