/*
 * host.h - the HTTPS API of nitrowallet-host (docs/host-api.md): accounts,
 * signing through the enclave pool, the audit trail, health and metrics.
 *
 * Trust boundary: the API faces clients over the network.  Every request is
 * authenticated (auth.h), bodies are bounded, typed and parsed strictly, and
 * no reply carries a secret: the host never sees a private key, and the AWS
 * credentials it forwards to the enclave stay inside the pool.
 */
#ifndef NITROWALLET_HOST_H
#define NITROWALLET_HOST_H

#include <stddef.h>

#include "nitrowallet/auth.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/error.h"
#include "nitrowallet/kms_proxy.h"
#include "nitrowallet/storage.h"

#define NW_HOST_DEFAULT_LISTEN "127.0.0.1:8443"
#define NW_HOST_DEFAULT_BODY_MAX (64 * 1024)
#define NW_HOST_MAX_BODY_MAX (1024 * 1024)

struct nw_host_config {
    const char *listen;       /* "IPv4:PORT" (port 0: any free port) */
    const char *tls_cert;     /* PEM file; required unless insecure_http */
    const char *tls_key;      /* PEM file */
    int insecure_http;        /* plain HTTP (tests, loopback only) */
    size_t body_max;          /* 0 = NW_HOST_DEFAULT_BODY_MAX */
    const char *kms_key_id;   /* default KMS key for new accounts (may be NULL) */
    struct nw_storage *storage;
    const struct nw_auth *auth;
    struct nw_enclave_pool *pool;
    struct nw_kms_proxy *const *kms_proxies; /* counted in /metrics (may be none) */
    size_t n_kms_proxies;
};

struct nw_host;

/* Bind and start serving in background threads. */
NW_MUST_CHECK enum nw_err nw_host_start(struct nw_host **out, const struct nw_host_config *cfg, struct nw_error *err);

/* The bound TCP port. */
unsigned nw_host_port(const struct nw_host *h);

/* Stop serving (in-flight requests finish) and free the handle.  NULL is ignored. */
void nw_host_stop(struct nw_host *h);

#endif
