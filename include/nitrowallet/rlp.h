/*
 * rlp.h - Recursive Length Prefix (Ethereum Yellow Paper, appendix B).
 *
 * The encoder writes canonical RLP into a bounded nw_buf.  The decoder reads
 * untrusted bytes and accepts canonical RLP only: a single byte below 0x80
 * must encode itself, long-form lengths must exceed 55 and carry no leading
 * zero bytes, items must fit inside their parent, nothing may trail the top
 * item, and integers (nw_rlp_item_uint) must have no leading zero bytes.
 */
#ifndef NITROWALLET_RLP_H
#define NITROWALLET_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/u256.h"

#define NW_RLP_MAX_DEPTH 16

/* --- encoding --- */

NW_MUST_CHECK enum nw_err nw_rlp_put_bytes(struct nw_buf *b, const uint8_t *p, size_t n);
NW_MUST_CHECK enum nw_err nw_rlp_put_uint(struct nw_buf *b, const struct nw_u256 *x);
NW_MUST_CHECK enum nw_err nw_rlp_put_u64(struct nw_buf *b, uint64_t v);
/* Header of a list whose encoded items take `payload_len` bytes; the caller
 * appends those bytes next. */
NW_MUST_CHECK enum nw_err nw_rlp_put_list_header(struct nw_buf *b, size_t payload_len);
/* Header plus payload in one call. */
NW_MUST_CHECK enum nw_err nw_rlp_put_list(struct nw_buf *b, const uint8_t *payload, size_t payload_len);

/* --- decoding --- */

struct nw_rlp_item {
    int is_list;
    const uint8_t *payload; /* points into the input */
    size_t len;             /* payload length */
};

/*
 * Read one item from in[*pos..len) and advance *pos past it.  Only the
 * item's own header is checked; use nw_rlp_validate for the whole tree.
 */
NW_MUST_CHECK enum nw_err nw_rlp_next(struct nw_rlp_item *item, const uint8_t *in, size_t len, size_t *pos,
                                      struct nw_error *err);

/*
 * Decode exactly one top-level item covering all of in[0..len), checking
 * every nested item canonically down to NW_RLP_MAX_DEPTH.
 */
NW_MUST_CHECK enum nw_err nw_rlp_decode(struct nw_rlp_item *item, const uint8_t *in, size_t len,
                                        struct nw_error *err);

/* A byte-string item as a canonical unsigned integer of at most 32 bytes. */
NW_MUST_CHECK enum nw_err nw_rlp_item_uint(struct nw_u256 *x, const struct nw_rlp_item *item,
                                           struct nw_error *err);

#endif
