/*
 * buf.c - bounded growable byte buffers (see buf.h).
 */
#include "nitrowallet/buf.h"

#include <stdlib.h>
#include <string.h>

#include "nitrowallet/secret.h"

void nw_buf_init(struct nw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static enum nw_err reserve(struct nw_buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *p;

    if (extra > b->max || b->len > b->max - extra)
        return NW_ERR_TOO_LARGE;
    need = b->len + extra;
    if (need <= b->cap)
        return NW_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    /* Grow by copy, never realloc, so the old block is wiped before free. */
    p = malloc(cap);
    if (p == NULL)
        return NW_ERR_NOMEM;
    if (b->len)
        memcpy(p, b->data, b->len);
    if (b->data) {
        nw_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return NW_OK;
}

enum nw_err nw_buf_append(struct nw_buf *b, const void *p, size_t n)
{
    enum nw_err rc;

    if (n == 0)
        return NW_OK;
    rc = reserve(b, n);
    if (rc != NW_OK)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return NW_OK;
}

enum nw_err nw_buf_append_byte(struct nw_buf *b, uint8_t c)
{
    return nw_buf_append(b, &c, 1);
}

void nw_buf_free(struct nw_buf *b)
{
    if (b->data) {
        nw_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
