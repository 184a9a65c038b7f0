/*
 * key.h - secp256k1 keys, Ethereum addresses and recoverable signatures.
 *
 * Built on libsecp256k1 with one process-wide context, created with
 * SECP256K1_CONTEXT_NONE and randomized (side-channel blinding) by
 * nw_key_init().  Signing is deterministic (RFC 6979) and always low-S,
 * so the same key and digest give the same bytes as ethers.
 *
 * Private keys are 32-byte scalars that the caller keeps in a nw_secret.
 */
#ifndef NITROWALLET_KEY_H
#define NITROWALLET_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"
#include "nitrowallet/secret.h"

#define NW_ADDRESS_LEN 20
/* "0x" + 40 hex digits + NUL */
#define NW_ADDRESS_STR_SIZE 43

struct nw_sig {
    uint8_t r[32];
    uint8_t s[32];
    int y_parity; /* 0 or 1 */
};

/* Create and randomize the shared context.  Idempotent, thread-safe. */
NW_MUST_CHECK enum nw_err nw_key_init(void);

/*
 * Turn 32 bytes of caller-supplied entropy into a private key in `sk`
 * (allocated here).  Returns NW_ERR_KEY_INVALID when the entropy is zero or
 * not below the curve order; the caller then draws fresh entropy.
 */
NW_MUST_CHECK enum nw_err nw_key_from_entropy(struct nw_secret *sk, const uint8_t entropy[32]);

/* Generate a key from the OS CSPRNG (retrying out-of-range draws). */
NW_MUST_CHECK enum nw_err nw_key_generate(struct nw_secret *sk);

/* Uncompressed public key (0x04 || X || Y). */
NW_MUST_CHECK enum nw_err nw_key_pubkey(uint8_t pub[65], const uint8_t sk[32]);

/* Address of an uncompressed public key: last 20 bytes of keccak(X || Y). */
void nw_address_from_pubkey(uint8_t addr[NW_ADDRESS_LEN], const uint8_t pub[65]);

NW_MUST_CHECK enum nw_err nw_key_address(uint8_t addr[NW_ADDRESS_LEN], const uint8_t sk[32]);

/* EIP-55 mixed-case checksum form, "0x"-prefixed. */
void nw_address_to_checksum(char out[NW_ADDRESS_STR_SIZE], const uint8_t addr[NW_ADDRESS_LEN]);

/*
 * Parse "0x" + 40 hex digits.  All-lowercase and all-uppercase digits are
 * accepted as they are; mixed case must be the exact EIP-55 checksum form.
 */
NW_MUST_CHECK enum nw_err nw_address_parse(uint8_t addr[NW_ADDRESS_LEN], const char *s, size_t slen,
                                           struct nw_error *err);

/* Recoverable ECDSA signature of a 32-byte digest. */
NW_MUST_CHECK enum nw_err nw_sign_digest(struct nw_sig *sig, const uint8_t sk[32], const uint8_t digest[32]);

/* Address that signed `digest` (for verification in tests and tools). */
NW_MUST_CHECK enum nw_err nw_recover_address(uint8_t addr[NW_ADDRESS_LEN], const struct nw_sig *sig,
                                             const uint8_t digest[32]);

/* r || s || v with v = 27 + y_parity (the personal_sign / eth_sign form). */
void nw_sig_to_65(uint8_t out[65], const struct nw_sig *sig);

#endif
