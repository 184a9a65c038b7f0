/*
 * listen.c - the enclave daemon's listening socket: "unix:/path" for local
 * runs and tests, "vsock:PORT" (AF_VSOCK bound to VMADDR_CID_ANY) inside a
 * Nitro Enclave, where the parent instance's host process connects.  The
 * socket itself is made by nw_transport_listen (transport.h), the same code
 * as the host's KMS proxy; the enclave only refuses TCP, which it never
 * serves.
 *
 * Trust boundary: the spec is operator configuration; whoever connects is
 * the untrusted host and is handled by server.c.
 */
#include "server_internal.h"

#include <string.h>

#include "nitrowallet/transport.h"

enum nw_err nw_enclave_listen(int *fd, const char *spec, struct nw_error *err)
{
    *fd = -1;
    if (spec == NULL || (strncmp(spec, "unix:", 5) != 0 && strncmp(spec, "vsock:", 6) != 0))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: expected unix:/path or vsock:PORT");
    return nw_transport_listen(fd, spec, err);
}
