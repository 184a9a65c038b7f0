/*
 * enclave.h - the enclave daemon's protocol (design §4, docs/protocol.md):
 * framing, the JSON request/response envelope, the operations and the
 * concurrent server that runs them.
 *
 * Trust boundary: everything here runs inside the enclave.  Frames come
 * from the host, which is untrusted: every byte is bounded and validated
 * before use, and no reply, error or log line carries a secret (private
 * keys, data keys, AWS secret keys or session tokens).
 */
#ifndef NITROWALLET_ENCLAVE_H
#define NITROWALLET_ENCLAVE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/kms_client.h"
#include "nitrowallet/dkcache.h"
#include "nitrowallet/nsm.h"

#define NW_ENCLAVE_PROTOCOL_VERSION 1
#define NW_ENCLAVE_MAX_FRAME (1024u * 1024u) /* bytes of JSON in one frame */
#define NW_ENCLAVE_DEFAULT_PORT 5000
#define NW_ENCLAVE_DEFAULT_QUEUE 64
#define NW_ENCLAVE_MAX_WORKERS 256
#define NW_ENCLAVE_MAX_QUEUE 65536
#define NW_ENCLAVE_MAX_CONNECTIONS 256
#define NW_ENCLAVE_MAX_OP 32
/* The error code of a full queue (not an enum nw_err: it is the server's). */
#define NW_ENCLAVE_BUSY "BUSY"

/* ---- framing: 4-byte big-endian length, then that many bytes of JSON ---- */

/* Length from a frame header; NW_ERR_TOO_LARGE over NW_ENCLAVE_MAX_FRAME,
 * NW_ERR_BAD_REQUEST for an empty frame. */
NW_MUST_CHECK enum nw_err nw_enclave_frame_length(size_t *len, const uint8_t hdr[4], struct nw_error *err);

/* Read one frame into `out` (reset first).  NW_ERR_UNAVAILABLE on a clean
 * end of stream before a header (`*eof` set), on I/O errors and truncation;
 * the header's own errors as nw_enclave_frame_length (the payload is then
 * not read: framing is lost and the caller replies and closes). */
NW_MUST_CHECK enum nw_err nw_enclave_frame_read(int fd, struct nw_buf *out, int *eof, struct nw_error *err);

/* Write one frame (payload of at most NW_ENCLAVE_MAX_FRAME bytes). */
NW_MUST_CHECK enum nw_err nw_enclave_frame_write(int fd, const uint8_t *p, size_t len, struct nw_error *err);

/* ---- envelope ---- */

struct nw_enclave_request {
    cJSON *root;          /* owned; release with nw_enclave_request_free */
    const cJSON *id;      /* string or integer, echoed verbatim */
    char op[NW_ENCLAVE_MAX_OP + 1];
    const cJSON *params;  /* an object */
};

/* Parse and check {"v":1,"id":...,"op":"...","params":{...}}.  On failure
 * req->id is still set when an id could be read (so the error can echo it);
 * call nw_enclave_request_free on success and failure alike. */
NW_MUST_CHECK enum nw_err nw_enclave_request_parse(struct nw_enclave_request *req, const uint8_t *p, size_t len,
                                                   struct nw_error *err);

/* Wipe every string in the tree (credentials among them) and free it. */
void nw_enclave_request_free(struct nw_enclave_request *req);

/* Serialise {"id":id,"result":result} into `out` (reset first); `id` may be
 * NULL (sent as null).  `result` is not consumed. */
NW_MUST_CHECK enum nw_err nw_enclave_reply_result(struct nw_buf *out, const cJSON *id, const cJSON *result);

/* Serialise {"id":id,"error":{"code":code,"message":message}}. */
NW_MUST_CHECK enum nw_err nw_enclave_reply_error(struct nw_buf *out, const cJSON *id, const char *code,
                                                 const char *message);

/* ---- operations ---- */

struct nw_enclave_ops {
    struct nw_nsm *nsm;               /* shared by all workers */
    struct nw_kms_client *kms;        /* this worker's own client (not thread-safe) */
    struct nw_dkcache *dkcache;       /* shared data-key cache (dkcache.h); NULL = none */
};

/* Handle one request frame and always produce a reply frame in `out`
 * (an error reply when anything fails).  NW_OK unless the reply itself
 * could not be built (out of memory). */
NW_MUST_CHECK enum nw_err nw_enclave_handle(struct nw_enclave_ops *ops, const uint8_t *p, size_t len,
                                            struct nw_buf *out);

/* ---- server ---- */

struct nw_enclave_config {
    const char *listen;              /* "unix:/path" or "vsock:PORT" */
    struct nw_nsm *nsm;
    struct nw_kms_config kms;
    unsigned workers;                /* 1..NW_ENCLAVE_MAX_WORKERS */
    unsigned queue;                  /* 1..NW_ENCLAVE_MAX_QUEUE */
    struct nw_dkcache_config cache;  /* data-key cache; .enabled = 0 turns it off */
};

/* Bind, print the ready line via `ready` (may be NULL), serve until *stop
 * becomes non-zero, then stop cleanly (connections closed, workers joined). */
NW_MUST_CHECK enum nw_err nw_enclave_serve(const struct nw_enclave_config *cfg, volatile sig_atomic_t *stop,
                                           void (*ready)(const char *listen_spec), struct nw_error *err);

#endif
