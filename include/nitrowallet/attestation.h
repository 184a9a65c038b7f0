/*
 * attestation.h - AWS Nitro Enclaves attestation documents: parsing and
 * verification.
 *
 * A document is a COSE_Sign1 (RFC 9052; tagged 18 or untagged) whose
 * payload is a CBOR map with module_id, digest ("SHA384"), timestamp (ms),
 * pcrs {index: bytes}, certificate (leaf, DER), cabundle [root..intermediate,
 * DER], public_key, user_data, nonce (each bytes or null).  Verification:
 * ES384 signature over the Sig_structure with the leaf's key; the chain
 * leaf <- cabundle <- a configured root, valid at the given time; then the
 * caller's expectations (PCRs, nonce, age, debug mode).
 *
 * See docs/attestation.md.  Trust boundary: used by the KMS emulator, the
 * CLI and clients; the input is untrusted.
 */
#ifndef NITROWALLET_ATTESTATION_H
#define NITROWALLET_ATTESTATION_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

#define NW_ATT_MAX_DOC (16u * 1024u)
#define NW_ATT_NUM_PCRS 32
#define NW_ATT_PCR_MAX 64 /* bytes; SHA-384 PCRs are 48 */

struct nw_attestation {
    char module_id[128];
    uint64_t timestamp_ms;
    uint32_t pcr_present;                         /* bit i: pcrs[i] was in the document */
    uint8_t pcrs[NW_ATT_NUM_PCRS][NW_ATT_PCR_MAX];
    size_t pcr_len[NW_ATT_NUM_PCRS];
    /* The following point into the caller's document buffer; NULL when
     * absent or CBOR null. */
    const uint8_t *certificate;
    size_t certificate_len;
    const uint8_t *public_key;
    size_t public_key_len;
    const uint8_t *user_data;
    size_t user_data_len;
    const uint8_t *nonce;
    size_t nonce_len;
    int is_debug; /* PCR0 all zero: a debug-mode enclave */
};

/* A set of trusted root certificates. */
struct nw_attest_roots;

/* The AWS Nitro Enclaves root (G1), built in. */
NW_MUST_CHECK enum nw_err nw_attest_roots_aws(struct nw_attest_roots **out, struct nw_error *err);
/* Every certificate in a PEM text. */
NW_MUST_CHECK enum nw_err nw_attest_roots_from_pem(struct nw_attest_roots **out, const char *pem, size_t len,
                                                   struct nw_error *err);
/* Add the certificates of a PEM text to an existing set. */
NW_MUST_CHECK enum nw_err nw_attest_roots_add_pem(struct nw_attest_roots *roots, const char *pem, size_t len,
                                                  struct nw_error *err);
/* Another reference to `roots` (thread-safe); each is released with
 * nw_attest_roots_free, the last one frees. */
struct nw_attest_roots *nw_attest_roots_ref(struct nw_attest_roots *roots);
void nw_attest_roots_free(struct nw_attest_roots *roots);
/* Chains accepted from the roots' cache of verified chains (attest_chain.c):
 * a chain verified once is accepted again without decoding while every one
 * of its certificates is valid at the verification time. */
unsigned long nw_attest_roots_cache_hits(const struct nw_attest_roots *roots);

struct nw_attest_pcr {
    unsigned index;
    uint8_t value[NW_ATT_PCR_MAX];
    size_t len;
};

struct nw_attest_expect {
    int64_t at_ms;            /* verification time, ms since the epoch; 0 = now */
    uint64_t max_age_ms;      /* 0 = no bound on at_ms - timestamp */
    const uint8_t *nonce;     /* NULL = not checked */
    size_t nonce_len;
    const struct nw_attest_pcr *pcrs;
    size_t n_pcrs;
    int allow_debug;          /* accept PCR0 all zero */
};

/* Structure only (no signature or chain check): for tools and fuzzing. */
NW_MUST_CHECK enum nw_err nw_attestation_parse(struct nw_attestation *out, const uint8_t *doc, size_t len,
                                               struct nw_error *err);

/*
 * Parse and verify.  Failures return NW_ERR_ATTESTATION (NW_ERR_BAD_REQUEST
 * for malformed input) with a message naming the reason: "signature does
 * not verify", "certificate chain: certificate has expired", "PCR0 does not
 * match", "nonce does not match", "debug-mode enclave (PCR0 all zero)", ...
 */
NW_MUST_CHECK enum nw_err nw_attestation_verify(struct nw_attestation *out, const uint8_t *doc, size_t len,
                                                const struct nw_attest_roots *roots,
                                                const struct nw_attest_expect *expect, struct nw_error *err);

#endif
