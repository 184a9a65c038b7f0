/*
 * nsm_impl.h - private: how struct nw_nsm reaches a backend.
 *
 * The front (nsm.c) encodes each request with nsm_codec.c, hands the CBOR
 * to a backend's `transact`, and decodes the CBOR reply.  Two backends:
 * the device (/dev/nsm ioctl, nsm.c) and the development emulation
 * (nsm_emulated.c), which answers the same messages, so the emulated path
 * exercises the same codec as the real one.
 */
#ifndef NITROWALLET_NSM_IMPL_H
#define NITROWALLET_NSM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"
#include "nitrowallet/nsm.h"

struct nw_nsm_backend {
    const char *name; /* "device" or "emulated" */
    /* One request -> one reply of at most `cap` bytes in `resp`. */
    enum nw_err (*transact)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap, size_t *resp_len,
                            struct nw_error *err);
    void (*close)(void *ctx);
};

/* Wrap a backend context; on failure the context is closed. */
NW_MUST_CHECK enum nw_err nw_nsm_wrap(struct nw_nsm **out, const struct nw_nsm_backend *backend, void *ctx,
                                      int emulated, struct nw_error *err);

#endif
