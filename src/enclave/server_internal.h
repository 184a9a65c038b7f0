/*
 * server_internal.h - the enclave daemon's server pieces shared between
 * listen.c and server.c; not a public interface.
 *
 * Trust boundary: see server.c.
 */
#ifndef NITROWALLET_ENCLAVE_SERVER_INTERNAL_H
#define NITROWALLET_ENCLAVE_SERVER_INTERNAL_H

#include "nitrowallet/enclave.h"

/* A listening stream socket for "unix:/path" or "vsock:PORT". */
NW_MUST_CHECK enum nw_err nw_enclave_listen(int *fd, const char *spec, struct nw_error *err);

#endif
