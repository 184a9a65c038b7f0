/*
 * transport.h - connect a stream socket from a one-line address spec.
 *
 * The enclave cannot open TCP connections: its only way out is AF_VSOCK to
 * the parent instance, where a proxy forwards to KMS.  Locally and in tests
 * the same code talks over a unix socket or TCP on loopback.  One spec string
 * names the peer in all three cases, so configuration (not code) chooses:
 *
 *   unix:/path/to/socket      AF_UNIX stream socket (path < 108 bytes)
 *   tcp:HOST:PORT             TCP; HOST is an IPv4 literal, an IPv6 literal
 *                             in brackets ("tcp:[::1]:443") or a DNS name
 *                             (getaddrinfo, each address tried in turn)
 *   vsock:CID:PORT            AF_VSOCK (CID 3 = the parent instance)
 *
 * The returned descriptor is blocking, close-on-exec, and has send and
 * receive timeouts (SO_SNDTIMEO/SO_RCVTIMEO) so that a silent peer cannot
 * hang the caller; the connect itself is bounded by the same timeout.  The
 * bytes on the socket are not protected here: TLS runs on top (tls.h).
 */
#ifndef NITROWALLET_TRANSPORT_H
#define NITROWALLET_TRANSPORT_H

#include <sys/socket.h>

#include "nitrowallet/error.h"

#define NW_TRANSPORT_DEFAULT_TIMEOUT_MS 10000
#define NW_TRANSPORT_SPEC_MAX 512

/*
 * Connect to `spec` with the default timeout.  On success *fd is the socket
 * (the caller closes it); on failure *fd is -1 and the error is
 * NW_ERR_BAD_REQUEST for a malformed spec or NW_ERR_UNAVAILABLE (with the
 * system's reason) when the peer cannot be reached.
 */
NW_MUST_CHECK enum nw_err nw_transport_connect(int *fd, const char *spec, struct nw_error *err);

/* As nw_transport_connect with a timeout in milliseconds (1..600000) for
 * the connect and for each later send or receive on the socket. */
NW_MUST_CHECK enum nw_err nw_transport_connect_timeout(int *fd, const char *spec, int timeout_ms,
                                                       struct nw_error *err);

/*
 * Listening side, for the host's KMS proxy (kms_proxy.h).  Specs:
 *
 *   unix:/path               AF_UNIX; a stale socket file is replaced, any
 *                            other file at the path is refused
 *   tcp:IPV4:PORT            TCP on an IPv4 literal (PORT 0: any free port)
 *   vsock:PORT               AF_VSOCK on VMADDR_CID_ANY (the parent instance
 *                            side of the enclave's vsock:3:PORT)
 *
 * nw_transport_listen_addr only parses (no socket): *family and the address
 * to bind.  nw_transport_listen binds and listens (close-on-exec, backlog
 * 128) through the same code for every family.
 */
NW_MUST_CHECK enum nw_err nw_transport_listen_addr(struct sockaddr_storage *sa, socklen_t *salen, int *family,
                                                   const char *spec, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_transport_listen(int *fd, const char *spec, struct nw_error *err);

/* The bound port of a TCP or vsock listening socket (0 for unix or on error). */
unsigned nw_transport_bound_port(int fd);

#endif
