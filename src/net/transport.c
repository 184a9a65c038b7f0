/*
 * transport.c - connect a stream socket to "unix:PATH", "tcp:HOST:PORT" or
 * "vsock:CID:PORT" (see transport.h).
 *
 * Trust boundary: the spec comes from the enclave's own configuration; the
 * peer is untrusted (the parent's vsock proxy, or whatever listens locally),
 * which is why everything above this layer is TLS.  Connects are
 * non-blocking with a deadline (poll + SO_ERROR), then the socket is made
 * blocking with SO_SNDTIMEO/SO_RCVTIMEO so every later read and write is
 * bounded too.  Sockets are created close-on-exec.
 *
 * AF_VSOCK cannot be exercised on the development machines (no vsock
 * loopback: binding CID 1 fails); the code path is the same as for the other
 * families apart from the address.
 */
#include "nitrowallet/transport.h"

#include "transport_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define HOST_MAX 253

int nw_transport_parse_num(const char *s, size_t len, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

static void set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    /* Best effort: failure leaves the socket usable, only unbounded. */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Wait for a non-blocking connect; 0 or an errno value. */
static int wait_connected(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int rc, soerr = 0;
    socklen_t sl = sizeof soerr;

    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return ETIMEDOUT;
    if (rc < 0)
        return errno;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return errno;
    return soerr;
}

/* Connect one address; on success *fd is a blocking socket with timeouts. */
static int connect_addr(int *fd, int family, const struct sockaddr *sa, socklen_t salen, int timeout_ms)
{
    int s, flags, e = 0;

    *fd = -1;
    s = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return errno;
    if (connect(s, sa, salen) != 0) {
        e = errno;
        if (e == EINPROGRESS)
            e = wait_connected(s, timeout_ms);
    }
    if (e == 0 && ((flags = fcntl(s, F_GETFL)) < 0 || fcntl(s, F_SETFL, flags & ~O_NONBLOCK) != 0))
        e = errno;
    if (e != 0) {
        close(s);
        return e;
    }
    set_timeouts(s, timeout_ms);
    if (family == AF_INET || family == AF_INET6) {
        int one = 1;
        (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    *fd = s;
    return 0;
}

static enum nw_err connect_unix(int *fd, const char *path, int timeout_ms, struct nw_error *err)
{
    struct sockaddr_un sun;
    size_t n = strlen(path);
    int e;

    if (n == 0 || n >= sizeof sun.sun_path)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: unix socket path must be 1..%zu bytes",
                       sizeof sun.sun_path - 1);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, n);
    e = connect_addr(fd, AF_UNIX, (const struct sockaddr *)&sun, (socklen_t)sizeof sun, timeout_ms);
    if (e != 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "transport: connect unix:%s: %s", path, strerror(e));
    return NW_OK;
}

static enum nw_err connect_vsock(int *fd, const char *rest, int timeout_ms, struct nw_error *err)
{
    struct sockaddr_vm svm;
    const char *colon = strchr(rest, ':');
    unsigned long cid, port;
    int e;

    if (colon == NULL || !nw_transport_parse_num(rest, (size_t)(colon - rest), 0xFFFFFFFFul, &cid) ||
        !nw_transport_parse_num(colon + 1, strlen(colon + 1), 0xFFFFFFFFul, &port))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: expected vsock:CID:PORT (decimal)");
    memset(&svm, 0, sizeof svm);
    svm.svm_family = AF_VSOCK;
    svm.svm_cid = (unsigned)cid;
    svm.svm_port = (unsigned)port;
    e = connect_addr(fd, AF_VSOCK, (const struct sockaddr *)&svm, (socklen_t)sizeof svm, timeout_ms);
    if (e != 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "transport: connect vsock:%lu:%lu: %s", cid, port, strerror(e));
    return NW_OK;
}

/* Split "HOST:PORT" or "[V6]:PORT" into host (NUL-terminated) and port. */
static enum nw_err split_host_port(char host[HOST_MAX + 1], char port[6], int *bracketed, const char *rest,
                                   struct nw_error *err)
{
    const char *h = rest, *colon;
    size_t hlen;
    unsigned long p;

    *bracketed = rest[0] == '[';
    if (*bracketed) {
        const char *close = strchr(rest, ']');
        if (close == NULL || close[1] != ':')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: expected tcp:[IPV6]:PORT");
        h = rest + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (colon == NULL || memchr(rest, ':', (size_t)(colon - rest)) != NULL)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: expected tcp:HOST:PORT (IPv6 in brackets)");
        hlen = (size_t)(colon - rest);
    }
    if (hlen == 0 || hlen > HOST_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: host must be 1..%d bytes", HOST_MAX);
    if (!nw_transport_parse_num(colon + 1, strlen(colon + 1), 65535, &p) || p == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: port must be 1..65535");
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, 6, "%u", (unsigned)(p & 0xFFFFu));
    return NW_OK;
}

static enum nw_err connect_tcp(int *fd, const char *rest, int timeout_ms, struct nw_error *err)
{
    char host[HOST_MAX + 1], port[6];
    struct addrinfo hints, *res = NULL, *ai;
    int bracketed, gai, e = 0;
    enum nw_err rc;

    rc = split_host_port(host, port, &bracketed, rest, err);
    if (rc != NW_OK)
        return rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : 0);
    gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return nw_fail(err, bracketed ? NW_ERR_BAD_REQUEST : NW_ERR_UNAVAILABLE, "transport: resolve %s: %s",
                       host, gai_strerror(gai));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        e = connect_addr(fd, ai->ai_family, ai->ai_addr, ai->ai_addrlen, timeout_ms);
        if (e == 0)
            break;
    }
    freeaddrinfo(res);
    if (*fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "transport: connect tcp:%s:%s: %s", host, port,
                       strerror(e ? e : EHOSTUNREACH));
    return NW_OK;
}

enum nw_err nw_transport_connect_timeout(int *fd, const char *spec, int timeout_ms, struct nw_error *err)
{
    *fd = -1;
    if (spec == NULL || strnlen(spec, NW_TRANSPORT_SPEC_MAX) >= NW_TRANSPORT_SPEC_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: missing or overlong address");
    if (timeout_ms < 1 || timeout_ms > 600000)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: timeout must be 1..600000 ms");
    if (strncmp(spec, "unix:", 5) == 0)
        return connect_unix(fd, spec + 5, timeout_ms, err);
    if (strncmp(spec, "tcp:", 4) == 0)
        return connect_tcp(fd, spec + 4, timeout_ms, err);
    if (strncmp(spec, "vsock:", 6) == 0)
        return connect_vsock(fd, spec + 6, timeout_ms, err);
    return nw_fail(err, NW_ERR_BAD_REQUEST, "transport: address must start with unix:, tcp: or vsock:");
}

enum nw_err nw_transport_connect(int *fd, const char *spec, struct nw_error *err)
{
    return nw_transport_connect_timeout(fd, spec, NW_TRANSPORT_DEFAULT_TIMEOUT_MS, err);
}
