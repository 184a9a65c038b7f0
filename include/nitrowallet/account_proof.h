/*
 * account_proof.h - proof that an enclave build holds an account: an
 * attestation document whose user_data binds the account's name, address,
 * KMS key and policy digest (docs/attestation.md, "Account proofs").
 *
 * The enclave makes it after opening the account (so the seal and the KMS
 * key are proven); a client checks it with nw_account_proof_verify against
 * the AWS root (or a dev root), the PCRs it trusts, its nonce, and the
 * address, key and policy it expects.
 */
#ifndef NITROWALLET_ACCOUNT_PROOF_H
#define NITROWALLET_ACCOUNT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/attestation.h"
#include "nitrowallet/error.h"

/* What a proof claims. */
struct nw_account_claim {
    const char *name;
    uint8_t address[20];
    const char *kms_key_id;
    uint8_t policy_digest[32];
};

/*
 * The document's user_data: SHA-256 of
 *   "nitrowallet account proof v1" 0x00
 *   || u16be(len(name)) || name || address (20 bytes)
 *   || u16be(len(kms_key_id)) || kms_key_id || policy_digest (32 bytes).
 * Names are at most 128 bytes and key ids 2048 (docs/protocol.md).
 */
void nw_account_proof_user_data(uint8_t out[32], const struct nw_account_claim *c);

/*
 * Verify `doc` as a proof of `claim`: nw_attestation_verify with `expect`
 * (the chain to `roots`, the signature, the PCRs, the nonce), and beyond it:
 * `expect` must name PCR0 and a nonce (a proof without either proves
 * nothing to this client), every PCR the document carries must be of one
 * hash length and PCRs 0..15 present (a document that leaves some out is
 * refused, not read as "unchecked"), and user_data must be exactly the
 * digest of `claim`.  NW_ERR_ATTESTATION names what failed.
 */
NW_MUST_CHECK enum nw_err nw_account_proof_verify(struct nw_attestation *out, const uint8_t *doc, size_t len,
                                                  const struct nw_attest_roots *roots,
                                                  const struct nw_attest_expect *expect,
                                                  const struct nw_account_claim *claim, struct nw_error *err);

#endif
