/*
 * u256.h - unsigned 256-bit integers for Ethereum quantities.
 *
 * Parsing follows the JSON-RPC conventions nitrowallet accepts: a QUANTITY
 * ("0x" + hex digits without leading zeros; "0x0" is zero) or a decimal
 * string (digits without leading zeros), each at most 2^256 - 1.  Words are
 * little-endian: w[0] holds the least significant 64 bits.
 */
#ifndef NITROWALLET_U256_H
#define NITROWALLET_U256_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

struct nw_u256 {
    uint64_t w[4];
};

void nw_u256_from_u64(struct nw_u256 *x, uint64_t v);

/* 1 if x fits in 64 bits (and stores it in *v), 0 otherwise. */
int nw_u256_to_u64(const struct nw_u256 *x, uint64_t *v);

/* -1, 0, 1 as a < b, a == b, a > b. */
int nw_u256_cmp(const struct nw_u256 *a, const struct nw_u256 *b);

int nw_u256_is_zero(const struct nw_u256 *x);

/* Number of significant bits (0 for zero). */
unsigned nw_u256_bits(const struct nw_u256 *x);

/* Two's complement negation modulo 2^256. */
void nw_u256_negate(struct nw_u256 *x);

/* 32-byte big-endian form. */
void nw_u256_to_be32(uint8_t out[32], const struct nw_u256 *x);
void nw_u256_from_be(struct nw_u256 *x, const uint8_t *in, size_t len); /* len <= 32 */

/* Minimal big-endian form (no leading zero bytes; zero is empty).
 * Returns the length written into out[32]. */
size_t nw_u256_to_min_be(uint8_t out[32], const struct nw_u256 *x);

/* Flags for nw_u256_parse. */
#define NW_U256_STRICT 0u
/* Accept leading zeros ("0x0001", "007"), as EIP-712 values often carry them. */
#define NW_U256_LEADING_ZEROS 1u

/*
 * Parse a "0x" QUANTITY or a decimal string of exactly slen bytes.  Refuses
 * an empty string, "0x" alone, a sign, a non-digit, leading zeros (unless
 * flagged) and values above 2^256 - 1, each with its own message.
 */
NW_MUST_CHECK enum nw_err nw_u256_parse(struct nw_u256 *x, const char *s, size_t slen, unsigned flags,
                                        struct nw_error *err);

/* Decimal text of x into out (at least 79 bytes). */
void nw_u256_to_dec(char *out, size_t out_cap, const struct nw_u256 *x);

#endif
