/*
 * listen.c - the enclave daemon's listening socket: "unix:/path" for local
 * runs and tests, "vsock:PORT" (AF_VSOCK bound to VMADDR_CID_ANY) inside a
 * Nitro Enclave, where the parent instance's host process connects.
 *
 * Trust boundary: the spec is operator configuration; whoever connects is
 * the untrusted host and is handled by server.c.
 */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define LISTEN_BACKLOG 128

static enum nw_err listen_unix(int *fd, const char *path, struct nw_error *err)
{
    struct sockaddr_un sa;
    struct stat st;
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof sa.sun_path)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: unix socket path must be 1..%zu bytes",
                       sizeof sa.sun_path - 1);
    /* Replace a stale socket from an earlier run, never any other file. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: %s exists and is not a socket", path);
        unlink(path);
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n + 1);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "listen: socket failed (errno %d)", errno);
    if (bind(*fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(*fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        return nw_fail(err, NW_ERR_UNAVAILABLE, "listen: cannot listen on unix:%s (errno %d)", path, e);
    }
    return NW_OK;
}

static enum nw_err listen_vsock(int *fd, const char *port_s, struct nw_error *err)
{
    struct sockaddr_vm sa;
    char *end = NULL;
    unsigned long port;

    errno = 0;
    port = strtoul(port_s, &end, 10);
    if (port_s[0] < '0' || port_s[0] > '9' || errno != 0 || *end != '\0' || port == 0 || port > 0xfffffffful)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: vsock port must be 1..4294967295");
    memset(&sa, 0, sizeof sa);
    sa.svm_family = AF_VSOCK;
    sa.svm_cid = VMADDR_CID_ANY;
    sa.svm_port = (unsigned int)port;
    *fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "listen: AF_VSOCK unavailable (errno %d)", errno);
    if (bind(*fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(*fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        return nw_fail(err, NW_ERR_UNAVAILABLE, "listen: cannot listen on vsock:%lu (errno %d)", port, e);
    }
    return NW_OK;
}

enum nw_err nw_enclave_listen(int *fd, const char *spec, struct nw_error *err)
{
    *fd = -1;
    if (spec == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: no address");
    if (strncmp(spec, "unix:", 5) == 0)
        return listen_unix(fd, spec + 5, err);
    if (strncmp(spec, "vsock:", 6) == 0)
        return listen_vsock(fd, spec + 6, err);
    return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: expected unix:/path or vsock:PORT");
}
