/*
 * buf.h - a growable byte buffer with a hard maximum size.
 *
 * Every buffer is given its maximum when it is initialised (as curl's
 * dynbuf): appending past it fails with NW_ERR_TOO_LARGE instead of growing
 * without bound.  Buffers hold public data (encodings, replies); secrets live
 * in struct nw_secret.  nw_buf_free() still wipes, as buffers may hold
 * signatures of requests that the caller considers confidential.
 */
#ifndef NITROWALLET_BUF_H
#define NITROWALLET_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

struct nw_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* An empty buffer that may grow to `max` bytes.  Allocates nothing. */
void nw_buf_init(struct nw_buf *b, size_t max);

NW_MUST_CHECK enum nw_err nw_buf_append(struct nw_buf *b, const void *p, size_t n);
NW_MUST_CHECK enum nw_err nw_buf_append_byte(struct nw_buf *b, uint8_t c);

/* Wipe and free the storage; the buffer is empty (and reusable) afterwards. */
void nw_buf_free(struct nw_buf *b);

#endif
