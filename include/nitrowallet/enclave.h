/*
 * enclave.h - the enclave daemon (design §4, docs/protocol.md): the
 * operations and the concurrent server that runs them.  The wire format
 * they speak (frames, envelope, operation names, error codes) is proto.h,
 * the one module shared with the host.
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
#include "nitrowallet/proto.h"

#define NW_ENCLAVE_DEFAULT_PORT 5000
#define NW_ENCLAVE_DEFAULT_QUEUE 64
#define NW_ENCLAVE_MAX_WORKERS 256
#define NW_ENCLAVE_MAX_QUEUE 65536
#define NW_ENCLAVE_MAX_CONNECTIONS 256
#define NW_ENCLAVE_MAX_KMS_KEYS 16
#define NW_ENCLAVE_MAX_KEY_ARN 2048

/* ---- the KMS keys this enclave seals under ---- */

/* The enclave's measured configuration (its image's command line,
 * `--kms-key-arn`, covered by PCR0): the only KMS keys it generates data
 * keys under or asks to Decrypt.  A request naming any other key is refused
 * with POLICY_DENIED before KMS is called, so a host cannot have a key
 * sealed under a KMS key whose policy lets the host itself Decrypt. */
struct nw_enclave_kms_keys {
    const char *arn[NW_ENCLAVE_MAX_KMS_KEYS]; /* borrowed; full key ARNs */
    size_t n;
};

/* A full KMS key ARN in `region`: arn:PARTITION:kms:REGION:ACCOUNT:key/ID,
 * ID a key id (UUID) or a multi-Region key id (mrk-...).  Aliases and bare
 * key ids are refused: an alias can be repointed, and a bare id resolves in
 * whatever account the caller's credentials belong to. */
NW_MUST_CHECK enum nw_err nw_enclave_key_arn_check(const char *arn, const char *region, struct nw_error *err);

/* 1 when s[0..len) is exactly one of the keys. */
int nw_enclave_key_allowed(const struct nw_enclave_kms_keys *keys, const char *s, size_t len);

/* ---- operations ---- */

struct nw_enclave_ops {
    struct nw_nsm *nsm;               /* shared by all workers */
    struct nw_kms_client *kms;        /* this worker's own client (not thread-safe) */
    struct nw_dkcache *dkcache;       /* shared data-key cache (dkcache.h); NULL = none */
    const struct nw_enclave_kms_keys *keys; /* the allowed KMS keys; NULL or none = every key refused */
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
    struct nw_enclave_kms_keys keys; /* 1..NW_ENCLAVE_MAX_KMS_KEYS, each in kms.region */
    unsigned workers;                /* 1..NW_ENCLAVE_MAX_WORKERS */
    unsigned queue;                  /* 1..NW_ENCLAVE_MAX_QUEUE */
    struct nw_dkcache_config cache;  /* data-key cache; .enabled = 0 turns it off */
};

/* Bind, print the ready line via `ready` (may be NULL), serve until *stop
 * becomes non-zero, then stop cleanly (connections closed, workers joined). */
NW_MUST_CHECK enum nw_err nw_enclave_serve(const struct nw_enclave_config *cfg, volatile sig_atomic_t *stop,
                                           void (*ready)(const char *listen_spec), struct nw_error *err);

#endif
