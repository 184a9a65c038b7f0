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
#define NW_HOST_DEFAULT_METRICS_LISTEN "127.0.0.1:9464" /* nitrowallet-host's default; "off" = none */
#define NW_HOST_DEFAULT_BODY_MAX (64 * 1024)
#define NW_HOST_MAX_BODY_MAX (1024 * 1024)
/* Connection handling (docs/host-api.md "Connection limits"): a few event
 * threads serve every connection (epoll), so an idle one costs a socket and
 * a little memory, not a thread; complete requests are routed by worker
 * threads, which alone wait for enclaves and storage. */
#define NW_HOST_DEFAULT_THREADS 4
#define NW_HOST_MAX_THREADS 256
#define NW_HOST_DEFAULT_WORKERS 64
#define NW_HOST_MAX_WORKERS 1024
#define NW_HOST_DEFAULT_MAX_CONNECTIONS 4096
#define NW_HOST_MAX_CONNECTIONS 65536
#define NW_HOST_DEFAULT_MAX_PER_IP 512
#define NW_HOST_DEFAULT_REQUEST_TIMEOUT_S 10
#define NW_HOST_DEFAULT_KEEPALIVE_S 30

struct nw_host_config {
    const char *listen;       /* "IPv4:PORT" (port 0: any free port) */
    const char *metrics_listen; /* "IPv4:PORT" of the plain-HTTP /metrics listener; NULL = none */
    const char *tls_cert;     /* PEM file; required unless insecure_http */
    const char *tls_key;      /* PEM file */
    int insecure_http;        /* plain HTTP (tests, loopback only) */
    size_t body_max;          /* 0 = NW_HOST_DEFAULT_BODY_MAX */
    unsigned threads;         /* event threads, each serving many connections; 0 = NW_HOST_DEFAULT_THREADS */
    unsigned workers;         /* threads routing complete requests; 0 = NW_HOST_DEFAULT_WORKERS */
    unsigned max_connections; /* open connections in all; 0 = NW_HOST_DEFAULT_MAX_CONNECTIONS */
    unsigned max_per_ip;      /* open connections per client address; 0 = NW_HOST_DEFAULT_MAX_PER_IP */
    unsigned request_timeout_s; /* TLS handshake + headers + body of one request; 0 = default */
    unsigned keepalive_s;     /* idle keep-alive connection; 0 = NW_HOST_DEFAULT_KEEPALIVE_S */
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

/* The bound TCP port; the metrics listener's (0 without one). */
unsigned nw_host_port(const struct nw_host *h);
unsigned nw_host_metrics_port(const struct nw_host *h);

/* Stop serving (in-flight requests finish) and free the handle.  NULL is ignored. */
void nw_host_stop(struct nw_host *h);

#endif
