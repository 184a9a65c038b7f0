/*
 * cbor.h - a bounded CBOR (RFC 8949) reader and a small writer.
 *
 * The reader never allocates and never trusts a declared length: every
 * length is checked against the bytes that remain before it is used (see
 * platform notes: libcbor's cbor_load is unsafe on untrusted input).  Only
 * definite-length items are accepted (NSM documents and COSE use no others);
 * floats are refused.  The writer appends canonical (shortest-form) heads
 * to a bounded nw_buf.
 */
#ifndef NITROWALLET_CBOR_H
#define NITROWALLET_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"

#define NW_CBOR_MAX_DEPTH 16

enum nw_cbor_major {
    NW_CBOR_UINT = 0,
    NW_CBOR_NEGINT = 1, /* value is -1 - val */
    NW_CBOR_BYTES = 2,
    NW_CBOR_TEXT = 3,
    NW_CBOR_ARRAY = 4,
    NW_CBOR_MAP = 5,
    NW_CBOR_TAG = 6,
    NW_CBOR_SIMPLE = 7, /* val: 20 false, 21 true, 22 null, 23 undefined */
};

#define NW_CBOR_FALSE 20
#define NW_CBOR_TRUE 21
#define NW_CBOR_NULL 22

struct nw_cbor {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

struct nw_cbor_item {
    enum nw_cbor_major major;
    uint64_t val;        /* integer value, byte/text length, element/pair count, tag, simple value */
    const uint8_t *data; /* BYTES/TEXT: the payload (val bytes), pointing into the input */
    size_t offset;       /* where the item's head starts, for messages */
};

void nw_cbor_init(struct nw_cbor *c, const uint8_t *p, size_t len);

/*
 * Read one head; for BYTES and TEXT also step over the payload (checked to
 * be present).  For ARRAY/MAP/TAG only the head is consumed: the caller
 * reads the contents next.  Array and map counts are checked to be at most
 * the bytes remaining (each element takes at least one byte).
 */
NW_MUST_CHECK enum nw_err nw_cbor_read(struct nw_cbor *c, struct nw_cbor_item *it, struct nw_error *err);

/* Skip one complete item, nested containers included, to NW_CBOR_MAX_DEPTH. */
NW_MUST_CHECK enum nw_err nw_cbor_skip(struct nw_cbor *c, struct nw_error *err);

/* 1 if every byte has been consumed. */
int nw_cbor_at_end(const struct nw_cbor *c);

/* --- writer (shortest-form heads) --- */
NW_MUST_CHECK enum nw_err nw_cbor_put_head(struct nw_buf *b, enum nw_cbor_major major, uint64_t val);
NW_MUST_CHECK enum nw_err nw_cbor_put_bytes(struct nw_buf *b, const uint8_t *p, size_t n);
NW_MUST_CHECK enum nw_err nw_cbor_put_text(struct nw_buf *b, const char *s, size_t n);
NW_MUST_CHECK enum nw_err nw_cbor_put_uint(struct nw_buf *b, uint64_t v);
NW_MUST_CHECK enum nw_err nw_cbor_put_null(struct nw_buf *b);

#endif
