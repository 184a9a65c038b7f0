/*
 * listen.c - nitrowallet-kms's listening socket: a loopback TCP address
 * ("127.0.0.1:PORT", any 127.0.0.0/8 address, "localhost:PORT",
 * "[::1]:PORT"; PORT 0 picks a free port) or a unix socket ("unix:/path",
 * mode 0600; a stale socket file left by a crash is replaced, a live one
 * is not).
 *
 * Trust boundary: refuses every non-loopback address, since the server
 * holds master keys and answers to development credentials.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kms_internal.h"

static enum nw_err listen_unix(int *fd, const char *path, char *unix_path, size_t path_cap, struct nw_error *err)
{
    struct sockaddr_un sa;
    struct stat st;
    int s;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) == 0 || strlen(path) >= sizeof sa.sun_path || strlen(path) >= path_cap)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "unix socket path must be 1..%zu bytes", sizeof sa.sun_path - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "socket: %s", strerror(errno));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode) || connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 || errno != ECONNREFUSED) {
            close(s);
            return nw_fail(err, NW_ERR_UNAVAILABLE, "%s exists and is not a stale socket", path);
        }
        unlink(path);
        close(s);
        if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return nw_fail(err, NW_ERR_INTERNAL, "socket: %s", strerror(errno));
    }
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0600) != 0 || listen(s, 128) != 0) {
        int e = errno;
        close(s);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "cannot listen on %s: %s", path, strerror(e));
    }
    memcpy(unix_path, path, strlen(path) + 1);
    *fd = s;
    return NW_OK;
}

/* host:port into a loopback socket address. */
static enum nw_err parse_tcp(struct sockaddr_storage *ss, socklen_t *len, const char *address, struct nw_error *err)
{
    char host[64];
    const char *colon = strrchr(address, ':');
    unsigned long port = 0;
    size_t hlen;

    if (colon == NULL || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "listen address must be HOST:PORT or unix:/path");
    for (const char *d = colon + 1; *d; d++)
        port = port * 10 + (unsigned long)(*d - '0');
    hlen = (size_t)(colon - address);
    if (port > 65535 || hlen == 0 || hlen >= sizeof host)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "bad listen address");
    memcpy(host, address, hlen);
    host[hlen] = '\0';
    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0)
        memcpy(host, "127.0.0.1", 10);
    if (host[0] == '[' && host[hlen - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        host[hlen - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1 || !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "refusing to listen on %s: loopback only", address);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1 || (ntohl(s4->sin_addr.s_addr) >> 24) != 127)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "refusing to listen on %s: loopback only", address);
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
    }
    return NW_OK;
}

static enum nw_err listen_tcp(int *fd, const char *address, int tls, char *url, size_t url_cap, struct nw_error *err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char host[INET6_ADDRSTRLEN];
    int s, one = 1;
    enum nw_err rc;

    if ((rc = parse_tcp(&ss, &len, address, err)) != NW_OK)
        return rc;
    if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "socket: %s", strerror(errno));
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, 128) != 0 ||
        getsockname(s, (struct sockaddr *)&ss, &len) != 0) {
        int e = errno;
        close(s);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "cannot listen on %s: %s", address, strerror(e));
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(url, url_cap, "%s://[%s]:%u", tls ? "https" : "http", host, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        snprintf(url, url_cap, "%s://%s:%u", tls ? "https" : "http", host, ntohs(s4->sin_port));
    }
    *fd = s;
    return NW_OK;
}

enum nw_err kms_listen_socket(int *fd, const char *address, int tls, char *url, size_t url_cap, char *unix_path,
                              size_t path_cap, struct nw_error *err)
{
    enum nw_err rc;

    *fd = -1;
    unix_path[0] = '\0';
    if (address == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "no listen address");
    if (strncmp(address, "unix:", 5) == 0) {
        if ((rc = listen_unix(fd, address + 5, unix_path, path_cap, err)) == NW_OK)
            snprintf(url, url_cap, "%s+unix:%s", tls ? "https" : "http", address + 5);
        return rc;
    }
    return listen_tcp(fd, address, tls, url, url_cap, err);
}
