/*
 * base64.h - standard base64 (RFC 4648 section 4), strict.
 *
 * The decoder accepts only canonical input: padded to a multiple of four,
 * no whitespace, no characters outside the alphabet, and zero bits in the
 * unused low bits of the last symbol, so each byte string has exactly one
 * accepted encoding.
 */
#ifndef NITROWALLET_BASE64_H
#define NITROWALLET_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

/* Characters nw_base64_encode writes for `n` bytes, including the NUL. */
#define NW_BASE64_SIZE(n) ((((size_t)(n) + 2) / 3) * 4 + 1)

/* Largest number of bytes `n` base64 characters can decode to. */
#define NW_BASE64_DECODED_MAX(n) (((size_t)(n) / 4) * 3)

NW_MUST_CHECK enum nw_err nw_base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t len);

NW_MUST_CHECK enum nw_err nw_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                           const char *s, size_t slen, struct nw_error *err);

#endif
