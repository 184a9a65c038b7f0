/*
 * hex.h - bounded hexadecimal encoding of byte strings ("DATA" in the
 * Ethereum JSON-RPC specification: "0x" followed by two hex digits per
 * byte, either case).  Numeric quantities ("QUANTITY") are parsed by u256.h.
 */
#ifndef NITROWALLET_HEX_H
#define NITROWALLET_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

/* Value of one hex digit (either case), or -1 for any other character. */
int nw_hex_digit(int c);

/* Characters nw_hex_encode writes for `n` bytes, including "0x" and NUL. */
#define NW_HEX_SIZE(n) (2 + 2 * (size_t)(n) + 1)

/*
 * Write "0x" + lowercase hex of in[0..len) + NUL into `out`, which must have
 * room for NW_HEX_SIZE(len) bytes.  Returns NW_ERR_TOO_LARGE otherwise.
 */
NW_MUST_CHECK enum nw_err nw_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t len);

/*
 * Decode "0x"-prefixed hex of any even length up to 2 * out_cap digits.
 * Refuses a missing prefix, an odd digit count, a non-hex character and
 * more than out_cap bytes, each with its own message.
 */
NW_MUST_CHECK enum nw_err nw_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                        const char *s, size_t slen, struct nw_error *err);

/* As nw_hex_decode, but the input must decode to exactly `n` bytes. */
NW_MUST_CHECK enum nw_err nw_hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t slen,
                                              struct nw_error *err);

#endif
