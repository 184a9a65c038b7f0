/*
 * tls.h - a verified TLS client session over a socket the caller connected.
 *
 * The enclave reaches KMS through the parent's vsock proxy, which only moves
 * bytes: TLS runs end to end from inside the enclave, so the parent sees
 * ciphertext only.  OpenSSL does the protocol; this layer fixes the policy:
 * TLS 1.2 or newer, peer verification against the system CAs or a
 * configured PEM bundle, SNI and certificate name check for the configured
 * endpoint (an IP literal is checked against the certificate's IP SANs and
 * sent without SNI, as RFC 6066 requires).  Socket I/O uses
 * send(MSG_NOSIGNAL), so a peer that hangs up cannot raise SIGPIPE.
 */
#ifndef NITROWALLET_TLS_H
#define NITROWALLET_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

struct nw_tls_ctx;
struct nw_tls;

/*
 * Trust settings: `ca_file` is a PEM bundle file; else `ca_pem` is PEM text
 * (every certificate in it is trusted, nothing else is); both NULL means the
 * system CAs.
 */
NW_MUST_CHECK enum nw_err nw_tls_ctx_new(struct nw_tls_ctx **out, const char *ca_file, const char *ca_pem,
                                         struct nw_error *err);
void nw_tls_ctx_free(struct nw_tls_ctx *ctx);

/*
 * Handshake over `fd` (a connected, blocking socket with timeouts) and
 * verify that the peer is `server_name` (a DNS name or an IP literal).  The
 * session owns `fd` from this call on, also on failure (it is closed).
 * Errors are NW_ERR_UNAVAILABLE with OpenSSL's and the verifier's reason.
 */
NW_MUST_CHECK enum nw_err nw_tls_connect(struct nw_tls **out, struct nw_tls_ctx *ctx, int fd,
                                         const char *server_name, struct nw_error *err);

/* As nw_tls_connect, with the handshake bounded by `deadline_ms` (a
 * CLOCK_MONOTONIC time in ms, nw_clock_ms; 0 = none), which then stays
 * the session's deadline (nw_tls_set_deadline). */
NW_MUST_CHECK enum nw_err nw_tls_connect_by(struct nw_tls **out, struct nw_tls_ctx *ctx, int fd,
                                            const char *server_name, long long deadline_ms, struct nw_error *err);

/* Every later read and write fails (timed out, nw_tls_timed_out) once
 * CLOCK_MONOTONIC passes `deadline_ms`, however the peer paces its bytes;
 * 0 removes the deadline.  NULL is fine. */
void nw_tls_set_deadline(struct nw_tls *t, long long deadline_ms);


/* Write all `len` bytes. */
NW_MUST_CHECK enum nw_err nw_tls_write(struct nw_tls *t, const void *buf, size_t len, struct nw_error *err);

/* Read up to `cap` bytes into `buf`: *n > 0 bytes, or *n == 0 when the
 * peer ended the session with close_notify.  A connection dropped without
 * close_notify (possible truncation) is an error, not an end of data. */
NW_MUST_CHECK enum nw_err nw_tls_read(struct nw_tls *t, void *buf, size_t cap, size_t *n, struct nw_error *err);

/* 1 if the session's last failed socket call hit the socket's timeout (the
 * peer is there but silent), 0 otherwise.  NULL is 0. */
int nw_tls_timed_out(const struct nw_tls *t);

/* Send close_notify (best effort), close the socket, free.  NULL is fine. */
void nw_tls_close(struct nw_tls *t);

#endif
