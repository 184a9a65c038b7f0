/*
 * transport_listen.c - the listening side of transport.h: "unix:/path",
 * "tcp:IPV4:PORT" and "vsock:PORT" become one bound, listening socket.
 *
 * Trust boundary: the spec is operator configuration (the host's
 * --kms-proxy); whoever connects is untrusted and is handled by the caller.
 * Parsing is separate from the socket calls so that the vsock spec, which
 * cannot be exercised on machines without vsock loopback, is unit-tested;
 * after parsing, every family goes through the same socket/bind/listen.
 */
#include "nitrowallet/transport.h"

#include "transport_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define LISTEN_BACKLOG 128

static enum nw_err addr_unix(struct sockaddr_storage *ss, socklen_t *salen, const char *path, struct nw_error *err)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)ss;
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof sun->sun_path)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: unix socket path must be 1..%zu bytes",
                       sizeof sun->sun_path - 1);
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, n + 1);
    *salen = (socklen_t)sizeof *sun;
    return NW_OK;
}

static enum nw_err addr_tcp(struct sockaddr_storage *ss, socklen_t *salen, const char *rest, struct nw_error *err)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    const char *colon = strrchr(rest, ':');
    char ip[INET_ADDRSTRLEN];
    unsigned long port;
    size_t n;

    if (colon == NULL || (n = (size_t)(colon - rest)) == 0 || n >= sizeof ip)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: expected tcp:IPV4:PORT");
    memcpy(ip, rest, n);
    ip[n] = '\0';
    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: tcp host must be an IPv4 literal");
    if (!nw_transport_parse_num(colon + 1, strlen(colon + 1), 65535, &port))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: tcp port must be 0..65535");
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    *salen = (socklen_t)sizeof *sin;
    return NW_OK;
}

static enum nw_err addr_vsock(struct sockaddr_storage *ss, socklen_t *salen, const char *rest, struct nw_error *err)
{
    struct sockaddr_vm *svm = (struct sockaddr_vm *)ss;
    unsigned long port;

    /* VMADDR_PORT_ANY (2^32 - 1) would pick a random port nobody knows. */
    if (!nw_transport_parse_num(rest, strlen(rest), 0xFFFFFFFEul, &port) || port == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: expected vsock:PORT (1..4294967294)");
    svm->svm_family = AF_VSOCK;
    svm->svm_cid = VMADDR_CID_ANY;
    svm->svm_port = (unsigned)port;
    *salen = (socklen_t)sizeof *svm;
    return NW_OK;
}

enum nw_err nw_transport_listen_addr(struct sockaddr_storage *sa, socklen_t *salen, int *family, const char *spec,
                                     struct nw_error *err)
{
    enum nw_err rc;

    memset(sa, 0, sizeof *sa);
    *salen = 0;
    *family = AF_UNSPEC;
    if (spec == NULL || strnlen(spec, NW_TRANSPORT_SPEC_MAX) >= NW_TRANSPORT_SPEC_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: missing or overlong address");
    if (strncmp(spec, "unix:", 5) == 0)
        rc = addr_unix(sa, salen, spec + 5, err);
    else if (strncmp(spec, "tcp:", 4) == 0)
        rc = addr_tcp(sa, salen, spec + 4, err);
    else if (strncmp(spec, "vsock:", 6) == 0)
        rc = addr_vsock(sa, salen, spec + 6, err);
    else
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: address must be unix:/path, tcp:IPV4:PORT or vsock:PORT");
    if (rc == NW_OK)
        *family = sa->ss_family;
    return rc;
}

/* Replace a stale socket from an earlier run, never any other file. */
static enum nw_err clear_stale_unix(const struct sockaddr_un *sun, struct nw_error *err)
{
    struct stat st;

    if (lstat(sun->sun_path, &st) != 0)
        return NW_OK;
    if (!S_ISSOCK(st.st_mode))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen: %s exists and is not a socket", sun->sun_path);
    unlink(sun->sun_path);
    return NW_OK;
}

enum nw_err nw_transport_listen(int *fd, const char *spec, struct nw_error *err)
{
    struct sockaddr_storage ss;
    socklen_t salen;
    int family, s, one = 1, e;
    enum nw_err rc;

    *fd = -1;
    rc = nw_transport_listen_addr(&ss, &salen, &family, spec, err);
    if (rc != NW_OK)
        return rc;
    if (family == AF_UNIX && (rc = clear_stale_unix((const struct sockaddr_un *)&ss, err)) != NW_OK)
        return rc;
    s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "listen: %s: socket: %s", spec, strerror(errno));
    if (family == AF_INET)
        (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&ss, salen) != 0 || listen(s, LISTEN_BACKLOG) != 0) {
        e = errno;
        close(s);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "listen: cannot listen on %s: %s", spec, strerror(e));
    }
    *fd = s;
    return NW_OK;
}

unsigned nw_transport_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_VSOCK)
        return ((struct sockaddr_vm *)&ss)->svm_port;
    return 0;
}
