/*
 * kms_proxy.h - the host's KMS proxy: the enclave's only way to KMS.
 *
 * Inside a Nitro Enclave there is no network; the enclave connects to
 * vsock:3:PORT (the parent instance) and the parent forwards the byte stream
 * to kms.<region>.amazonaws.com:443.  Like AWS's vsock-proxy, each proxy
 * listens on one address and forwards every connection to ONE configured
 * remote HOST:PORT, which must be on the allowlist; the allowlist is checked
 * once, at start, against the configured name and port (the remote name is
 * resolved by DNS at each connect, as vsock-proxy does).  The proxy is a byte
 * forwarder and nothing more: TLS runs end to end between the enclave and
 * KMS, so the host never sees a request, a credential signature or a
 * ciphertext for recipient in the clear.
 *
 * Bounds: at most max_connections forwarded connections at once (one more is
 * closed at once and counted as refused), an idle timeout (no byte either
 * way for that long closes both sides), a connect timeout to the remote.
 * Half-closes are propagated (EOF from one side becomes shutdown(SHUT_WR)
 * on the other), so request/response protocols that end with a FIN work.
 *
 * Trust boundary: host side.  The client is the (trusted for its own
 * purposes, but not for the host's) enclave, or locally any process that can
 * reach the socket; the remote is the network.  Neither is parsed.
 */
#ifndef NITROWALLET_KMS_PROXY_H
#define NITROWALLET_KMS_PROXY_H

#include <stddef.h>

#include "nitrowallet/error.h"

#define NW_KMS_PROXY_DEFAULT_MAX_CONNECTIONS 256
#define NW_KMS_PROXY_LIMIT_CONNECTIONS 4096
#define NW_KMS_PROXY_DEFAULT_IDLE_MS 60000
#define NW_KMS_PROXY_DEFAULT_CONNECT_MS 10000
#define NW_KMS_PROXY_HOSTPORT_MAX 262 /* 253-byte name or [IPv6] + ":65535" */

struct nw_kms_proxy_config {
    const char *listen;             /* "vsock:PORT", "unix:/path" or "tcp:IPV4:PORT" (transport.h) */
    const char *remote;             /* "HOST:PORT" or "[IPV6]:PORT" */
    const char *const *allow;       /* allowlist of "HOST:PORT" entries */
    size_t n_allow;
    unsigned max_connections;       /* 0 = NW_KMS_PROXY_DEFAULT_MAX_CONNECTIONS */
    unsigned idle_timeout_ms;       /* 0 = NW_KMS_PROXY_DEFAULT_IDLE_MS */
    unsigned connect_timeout_ms;    /* 0 = NW_KMS_PROXY_DEFAULT_CONNECT_MS */
};

/* Counters since start; the host's /metrics sums them over its proxies. */
struct nw_kms_proxy_stats {
    unsigned long long connections;      /* accepted within the bound */
    unsigned long long active;           /* being forwarded now */
    unsigned long long refused;          /* closed at once: over max_connections */
    unsigned long long idle_closed;      /* closed by the idle timeout */
    unsigned long long connect_failures; /* the remote could not be reached */
    unsigned long long bytes_to_remote;  /* client -> remote (to KMS) */
    unsigned long long bytes_from_remote;
};

struct nw_kms_proxy;

/*
 * Split "LISTEN=HOST:PORT" (a --kms-proxy argument) at its last '=' into
 * listen and remote, both NUL-terminated copies in the caller's buffers.
 * Without '=' the whole argument is the listen address and *remote is "".
 */
NW_MUST_CHECK enum nw_err nw_kms_proxy_split_arg(char *listen, size_t listen_cap, char *remote, size_t remote_cap,
                                                 const char *arg, struct nw_error *err);

/* Check that `hostport` is "NAME:PORT" or "[IPV6]:PORT" with a plausible
 * host name (letters, digits, '-', '.'; 1..253 bytes) and a port 1..65535. */
NW_MUST_CHECK enum nw_err nw_kms_proxy_check_hostport(const char *hostport, struct nw_error *err);

/* 1 if `remote` equals one allowlist entry (host name case-insensitive,
 * port exact), else 0. */
int nw_kms_proxy_allowed(const char *remote, const char *const *allow, size_t n_allow);

/* Validate the configuration (remote on the allowlist), bind the listen
 * address and start forwarding in background threads. */
NW_MUST_CHECK enum nw_err nw_kms_proxy_start(struct nw_kms_proxy **out, const struct nw_kms_proxy_config *cfg,
                                             struct nw_error *err);

/* The bound port (tcp: or vsock:), 0 for unix. */
unsigned nw_kms_proxy_port(const struct nw_kms_proxy *p);

void nw_kms_proxy_stats(const struct nw_kms_proxy *p, struct nw_kms_proxy_stats *out);

/* Stop accepting, close every forwarded connection, wait for the threads,
 * remove a unix socket file and free the proxy.  NULL is ignored. */
void nw_kms_proxy_stop(struct nw_kms_proxy *p);

#endif
