/*
 * rlp.c - Recursive Length Prefix encoding and strict decoding (see rlp.h).
 *
 * Specification: Ethereum Yellow Paper, appendix B ("Recursive Length
 * Prefix"), and the canonical-form rules that execution clients enforce when
 * they read transactions (go-ethereum rlp: "non-canonical size information",
 * "non-canonical integer"):
 *   0x00..0x7f  a single byte that is its own encoding;
 *   0x80..0xb7  a string of 0..55 bytes (0x81 followed by a byte below 0x80
 *               is refused: that byte must encode itself);
 *   0xb8..0xbf  a string whose length (> 55, no leading zero byte) follows
 *               in 1..8 big-endian bytes;
 *   0xc0..0xf7  a list whose items take 0..55 bytes;
 *   0xf8..0xff  a list whose payload length (> 55, no leading zero) follows.
 *
 * Trust boundary: the decoder reads untrusted request bytes (raw
 * transactions) before anything is signed.  It never reads outside
 * in[0..len), checks every length against the bytes that remain before any
 * arithmetic, refuses rather than repairs, and reports the offset of the
 * offending item.  Items point into the input; nothing is allocated.
 */
#include "nitrowallet/rlp.h"

#include <string.h>

#define SHORT_MAX 55          /* longest payload with a one-byte header */
#define STRING_BASE 0x80u     /* 0x80 + len for short strings */
#define LIST_BASE 0xc0u       /* 0xc0 + len for short lists */
#define HEADER_MAX (1 + sizeof(size_t))

/* --- encoding --- */

/* Write the header for a payload of `len` bytes; returns its length. */
static size_t header(uint8_t out[HEADER_MAX], unsigned base, size_t len)
{
    size_t n = 0, tmp, i;

    if (len <= SHORT_MAX) {
        out[0] = (uint8_t)(base + len);
        return 1;
    }
    for (tmp = len; tmp != 0; tmp >>= 8)
        n++;
    out[0] = (uint8_t)(base + SHORT_MAX + n);
    for (i = 0; i < n; i++)
        out[n - i] = (uint8_t)(len >> (8 * i));
    return 1 + n;
}

/* Append header and payload, or nothing: the room is checked first so that
 * a failure leaves the buffer as it was. */
static enum nw_err put_item(struct nw_buf *b, unsigned base, const uint8_t *p, size_t n, int with_payload)
{
    uint8_t hdr[HEADER_MAX];
    size_t h = header(hdr, base, n);
    size_t total = with_payload ? n : 0;
    enum nw_err rc;

    if (b->len > b->max || total > b->max - b->len || h > b->max - b->len - total)
        return NW_ERR_TOO_LARGE;
    rc = nw_buf_append(b, hdr, h);
    if (rc == NW_OK && with_payload)
        rc = nw_buf_append(b, p, n);
    return rc;
}

enum nw_err nw_rlp_put_bytes(struct nw_buf *b, const uint8_t *p, size_t n)
{
    if (n == 1 && p[0] < STRING_BASE)
        return nw_buf_append_byte(b, p[0]);
    return put_item(b, STRING_BASE, p, n, 1);
}

enum nw_err nw_rlp_put_uint(struct nw_buf *b, const struct nw_u256 *x)
{
    uint8_t be[32];

    return nw_rlp_put_bytes(b, be, nw_u256_to_min_be(be, x));
}

enum nw_err nw_rlp_put_u64(struct nw_buf *b, uint64_t v)
{
    struct nw_u256 x;

    nw_u256_from_u64(&x, v);
    return nw_rlp_put_uint(b, &x);
}

enum nw_err nw_rlp_put_list_header(struct nw_buf *b, size_t payload_len)
{
    return put_item(b, LIST_BASE, NULL, payload_len, 0);
}

enum nw_err nw_rlp_put_list(struct nw_buf *b, const uint8_t *payload, size_t payload_len)
{
    return put_item(b, LIST_BASE, payload, payload_len, 1);
}

/* --- decoding --- */

/*
 * Where an item is read from: `in` holds `len` bytes that start at offset
 * `base` of the whole input (for messages), inside the top-level input or
 * inside an enclosing list.
 */
struct span {
    const uint8_t *in;
    size_t len;
    size_t base;
    const char *where; /* "input" or "enclosing list" */
};

/* Read the big-endian long-form length of the item whose header is at
 * in[at]; `nbytes` (1..8) length bytes follow the header byte. */
static enum nw_err long_length(size_t *out, const struct span *s, size_t at, unsigned nbytes, const char *kind,
                               struct nw_error *err)
{
    size_t n = 0;
    unsigned i;

    if (nbytes > s->len - at - 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST,
                       "RLP: %s at offset %zu has a %u-byte length but only %zu bytes remain in the %s", kind,
                       s->base + at, nbytes, s->len - at - 1, s->where);
    if (s->in[at + 1] == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: leading zero in the length of the %s at offset %zu", kind,
                       s->base + at);
    if (nbytes > sizeof(size_t))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: length of the %s at offset %zu does not fit in memory", kind,
                       s->base + at);
    for (i = 0; i < nbytes; i++)
        n = (n << 8) | s->in[at + 1 + i];
    if (n <= SHORT_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: long form for a %zu-byte %s at offset %zu", n, kind,
                       s->base + at);
    *out = n;
    return NW_OK;
}

/* Decode the header at s->in[*pos] into `item` and step past the item. */
static enum nw_err next_item(struct nw_rlp_item *item, const struct span *s, size_t *pos, struct nw_error *err)
{
    size_t at = *pos, hdr = 1, n;
    unsigned prefix;
    const char *kind;
    enum nw_err rc;

    if (at >= s->len)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: no item at offset %zu: the %s ends", s->base + at, s->where);
    prefix = s->in[at];
    if (prefix < STRING_BASE) { /* a single byte, its own payload */
        item->is_list = 0;
        item->payload = s->in + at;
        item->len = 1;
        *pos = at + 1;
        return NW_OK;
    }
    item->is_list = prefix >= LIST_BASE;
    kind = item->is_list ? "list" : "string";
    n = prefix - (item->is_list ? LIST_BASE : STRING_BASE);
    if (n > SHORT_MAX) {
        unsigned nbytes = (unsigned)(n - SHORT_MAX);
        rc = long_length(&n, s, at, nbytes, kind, err);
        if (rc != NW_OK)
            return rc;
        hdr += nbytes;
    }
    if (n > s->len - at - hdr)
        return nw_fail(err, NW_ERR_BAD_REQUEST,
                       "RLP: %s at offset %zu declares %zu payload bytes but only %zu remain in the %s", kind,
                       s->base + at, n, s->len - at - hdr, s->where);
    if (!item->is_list && n == 1 && s->in[at + 1] < STRING_BASE)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: non-canonical single byte at offset %zu", s->base + at);
    item->payload = s->in + at + hdr;
    item->len = n;
    *pos = at + hdr + n;
    return NW_OK;
}

enum nw_err nw_rlp_next(struct nw_rlp_item *item, const uint8_t *in, size_t len, size_t *pos, struct nw_error *err)
{
    struct span s = { in, len, 0, "input" };

    return next_item(item, &s, pos, err);
}

/* Check every item inside `list` (at absolute offset `off` of its payload),
 * recursing into lists; `depth` counts the lists enclosing the items. */
static enum nw_err validate_list(const struct nw_rlp_item *list, size_t off, unsigned depth, struct nw_error *err)
{
    struct span s = { list->payload, list->len, off, "enclosing list" };
    struct nw_rlp_item child;
    size_t pos = 0, start;
    enum nw_err rc;

    while (pos < list->len) {
        start = pos;
        rc = next_item(&child, &s, &pos, err);
        if (rc != NW_OK)
            return rc;
        if (!child.is_list)
            continue;
        if (depth + 1 > NW_RLP_MAX_DEPTH)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: list at offset %zu is nested deeper than %d lists",
                           off + start, NW_RLP_MAX_DEPTH);
        rc = validate_list(&child, off + (size_t)(child.payload - list->payload), depth + 1, err);
        if (rc != NW_OK)
            return rc;
    }
    return NW_OK;
}

enum nw_err nw_rlp_decode(struct nw_rlp_item *item, const uint8_t *in, size_t len, struct nw_error *err)
{
    struct span s = { in, len, 0, "input" };
    size_t pos = 0;
    enum nw_err rc;

    if (len == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: empty input");
    rc = next_item(item, &s, &pos, err);
    if (rc != NW_OK)
        return rc;
    if (pos != len)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: trailing %zu bytes after item", len - pos);
    if (!item->is_list)
        return NW_OK;
    return validate_list(item, (size_t)(item->payload - in), 1, err);
}

enum nw_err nw_rlp_item_uint(struct nw_u256 *x, const struct nw_rlp_item *item, struct nw_error *err)
{
    if (item->is_list)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: expected an integer, found a list");
    if (item->len > 32)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: integer of %zu bytes exceeds 32", item->len);
    if (item->len > 0 && item->payload[0] == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "RLP: integer with a leading zero byte");
    nw_u256_from_be(x, item->payload, item->len);
    return NW_OK;
}
