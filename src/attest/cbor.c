/*
 * cbor.c - a bounded CBOR reader and a small canonical writer (RFC 8949).
 *
 * Follows RFC 8949 section 3 (major types, additional information) for the
 * subset that AWS Nitro attestation documents, NSM replies and COSE_Sign1
 * (RFC 9052) use: integers, byte and text strings, arrays, maps, tags and
 * the simple values false/true/null/undefined.  Indefinite lengths
 * (additional information 31), the reserved values 28-30 and floats are
 * refused.  Trust boundary: the reader's input is untrusted (documents from
 * other enclaves, replies of a device): every declared length is compared
 * with the bytes that remain before it is used, and nothing is allocated.
 * The writer emits shortest-form heads into a bounded nw_buf.
 */
#include "nitrowallet/cbor.h"

#include <string.h>

void nw_cbor_init(struct nw_cbor *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->len = len;
    c->pos = 0;
}

int nw_cbor_at_end(const struct nw_cbor *c)
{
    return c->pos == c->len;
}

static size_t remaining(const struct nw_cbor *c)
{
    return c->len - c->pos;
}

/* Read the argument that follows an initial byte with additional info `ai`
 * (RFC 8949 section 3: 0-23 inline, 24..27 one to eight bytes). */
static enum nw_err read_arg(struct nw_cbor *c, unsigned ai, uint64_t *val, size_t head, struct nw_error *err)
{
    size_t n, i;

    if (ai < 24) {
        *val = ai;
        return NW_OK;
    }
    if (ai > 27)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cbor: %s at offset %zu",
                       ai == 31 ? "indefinite length not supported" : "reserved additional information", head);
    n = (size_t)1 << (ai - 24);
    if (remaining(c) < n)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cbor: truncated head at offset %zu", head);
    *val = 0;
    for (i = 0; i < n; i++)
        *val = (*val << 8) | c->p[c->pos + i];
    c->pos += n;
    return NW_OK;
}

enum nw_err nw_cbor_read(struct nw_cbor *c, struct nw_cbor_item *it, struct nw_error *err)
{
    size_t head = c->pos;
    unsigned ib, ai;
    enum nw_err rc;

    if (c->pos >= c->len)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cbor: unexpected end of input at offset %zu", head);
    ib = c->p[c->pos++];
    ai = ib & 0x1f;
    memset(it, 0, sizeof *it);
    it->major = (enum nw_cbor_major)(ib >> 5);
    it->offset = head;
    rc = read_arg(c, ai, &it->val, head, err);
    if (rc != NW_OK) {
        c->pos = head;
        return rc;
    }
    switch (it->major) {
    case NW_CBOR_BYTES:
    case NW_CBOR_TEXT:
        if (it->val > remaining(c))
            goto truncated;
        it->data = c->p + c->pos;
        c->pos += (size_t)it->val;
        break;
    case NW_CBOR_ARRAY:
        if (it->val > remaining(c))
            goto truncated;
        break;
    case NW_CBOR_MAP:
        /* Each pair takes at least two bytes. */
        if (it->val > remaining(c) / 2)
            goto truncated;
        break;
    case NW_CBOR_SIMPLE:
        /* 0-23 simple values inline; 24 = one-byte simple (only >= 32 is
         * well-formed); 25-27 are floats. */
        if (ai > 24 || (ai == 24 && it->val < 32)) {
            c->pos = head;
            return nw_fail(err, NW_ERR_BAD_REQUEST, "cbor: %s at offset %zu",
                           ai > 24 ? "floating-point value not supported" : "malformed simple value", head);
        }
        break;
    default:
        break;
    }
    return NW_OK;

truncated:
    rc = nw_fail(err, NW_ERR_BAD_REQUEST, "cbor: declared length %llu at offset %zu exceeds the %zu bytes left",
                 (unsigned long long)it->val, head, remaining(c));
    c->pos = head;
    return rc;
}

/* Iterative skip: `todo[d]` counts the items still to read at depth d. */
enum nw_err nw_cbor_skip(struct nw_cbor *c, struct nw_error *err)
{
    uint64_t todo[NW_CBOR_MAX_DEPTH + 1];
    struct nw_cbor_item it;
    size_t depth = 0;
    enum nw_err rc;

    todo[0] = 1;
    for (;;) {
        while (todo[depth] == 0) {
            if (depth == 0)
                return NW_OK;
            depth--;
        }
        todo[depth]--;
        rc = nw_cbor_read(c, &it, err);
        if (rc != NW_OK)
            return rc;
        if (it.major != NW_CBOR_ARRAY && it.major != NW_CBOR_MAP && it.major != NW_CBOR_TAG)
            continue;
        if (it.major == NW_CBOR_TAG && depth < NW_CBOR_MAX_DEPTH) {
            todo[++depth] = 1;
            continue;
        }
        if (depth >= NW_CBOR_MAX_DEPTH)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "cbor: nesting deeper than %d at offset %zu",
                           NW_CBOR_MAX_DEPTH, it.offset);
        /* Map counts are at most len/2 (checked by nw_cbor_read): no overflow. */
        todo[++depth] = it.major == NW_CBOR_MAP ? it.val * 2 : it.val;
    }
}

/* --- writer ---------------------------------------------------------------- */

enum nw_err nw_cbor_put_head(struct nw_buf *b, enum nw_cbor_major major, uint64_t val)
{
    uint8_t h[9];
    size_t n, i;
    unsigned ai;

    if ((unsigned)major > 7)
        return NW_ERR_INTERNAL;
    if (val < 24) {
        h[0] = (uint8_t)(((unsigned)major << 5) | (unsigned)val);
        return nw_buf_append(b, h, 1);
    }
    if (val <= 0xff) {
        ai = 24, n = 1;
    } else if (val <= 0xffff) {
        ai = 25, n = 2;
    } else if (val <= 0xffffffffu) {
        ai = 26, n = 4;
    } else {
        ai = 27, n = 8;
    }
    h[0] = (uint8_t)(((unsigned)major << 5) | ai);
    for (i = 0; i < n; i++)
        h[1 + i] = (uint8_t)(val >> (8 * (n - 1 - i)));
    return nw_buf_append(b, h, 1 + n);
}

static enum nw_err put_string(struct nw_buf *b, enum nw_cbor_major major, const void *p, size_t n)
{
    enum nw_err rc = nw_cbor_put_head(b, major, n);

    if (rc != NW_OK)
        return rc;
    return nw_buf_append(b, p, n);
}

enum nw_err nw_cbor_put_bytes(struct nw_buf *b, const uint8_t *p, size_t n)
{
    return put_string(b, NW_CBOR_BYTES, p, n);
}

enum nw_err nw_cbor_put_text(struct nw_buf *b, const char *s, size_t n)
{
    return put_string(b, NW_CBOR_TEXT, s, n);
}

enum nw_err nw_cbor_put_uint(struct nw_buf *b, uint64_t v)
{
    return nw_cbor_put_head(b, NW_CBOR_UINT, v);
}

enum nw_err nw_cbor_put_null(struct nw_buf *b)
{
    return nw_cbor_put_head(b, NW_CBOR_SIMPLE, NW_CBOR_NULL);
}
