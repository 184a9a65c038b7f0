/*
 * frame.c - the protocol's framing (include/nitrowallet/proto.h, design §4,
 * docs/protocol.md): a 4-byte big-endian length followed by that many bytes
 * (1..1 MiB) of UTF-8 JSON, over a stream socket.  Both sides use it.
 *
 * Trust boundary: the bytes come from the untrusted peer (the host, for the
 * enclave; whatever answers an enclave endpoint, for the host).  The length is
 * checked before anything is allocated or read; short reads, EINTR and a
 * peer that disappears are all handled without trusting the stream.
 */
#include "nitrowallet/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum nw_err nw_proto_frame_length(size_t *len, const uint8_t hdr[4], struct nw_error *err)
{
    uint32_t n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];

    *len = 0;
    if (n == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "frame: empty frame");
    if (n > NW_PROTO_MAX_FRAME)
        return nw_fail(err, NW_ERR_TOO_LARGE, "frame: %lu bytes exceeds the limit of %u",
                       (unsigned long)n, NW_PROTO_MAX_FRAME);
    *len = n;
    return NW_OK;
}

/* Read exactly `len` bytes; *got says how many arrived before an EOF. */
static enum nw_err read_full(int fd, uint8_t *p, size_t len, size_t *got, struct nw_error *err)
{
    *got = 0;
    while (*got < len) {
        ssize_t r = read(fd, p + *got, len - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return nw_fail(err, NW_ERR_UNAVAILABLE, "frame: read failed (errno %d)", errno);
        if (r == 0)
            return nw_fail(err, NW_ERR_UNAVAILABLE, "frame: connection closed mid-frame");
        *got += (size_t)r;
    }
    return NW_OK;
}

enum nw_err nw_proto_frame_read(int fd, struct nw_buf *out, int *eof, struct nw_error *err)
{
    uint8_t hdr[4];
    size_t got = 0, len = 0;
    enum nw_err rc;

    *eof = 0;
    nw_buf_free(out);
    rc = read_full(fd, hdr, sizeof hdr, &got, err);
    if (rc != NW_OK) {
        if (got == 0)
            *eof = 1;
        return rc;
    }
    rc = nw_proto_frame_length(&len, hdr, err);
    if (rc != NW_OK)
        return rc;
    nw_buf_init(out, NW_PROTO_MAX_FRAME);
    out->data = malloc(len);
    if (out->data == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "frame: out of memory");
    out->cap = len;
    rc = read_full(fd, out->data, len, &got, err);
    if (rc != NW_OK) {
        nw_buf_free(out);
        return rc;
    }
    out->len = len;
    return NW_OK;
}

enum nw_err nw_proto_frame_write(int fd, const uint8_t *p, size_t len, struct nw_error *err)
{
    uint8_t hdr[4];
    size_t off = 0;

    if (len == 0 || len > NW_PROTO_MAX_FRAME)
        return nw_fail(err, NW_ERR_TOO_LARGE, "frame: reply of %zu bytes out of range", len);
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
    while (off < 4 + len) {
        const uint8_t *src = off < 4 ? hdr + off : p + (off - 4);
        size_t n = off < 4 ? 4 - off : len - (off - 4);
        ssize_t w = send(fd, src, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return nw_fail(err, NW_ERR_UNAVAILABLE, "frame: write failed (errno %d)", errno);
        off += (size_t)w;
    }
    return NW_OK;
}
