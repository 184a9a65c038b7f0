/*
 * tls.c - TLS client sessions over caller-connected sockets (see tls.h).
 *
 * Trust boundary: everything between this process and the TLS peer is
 * untrusted (in production the parent instance relays the bytes over
 * vsock), so the session is only as good as the verification policy set
 * here: TLS >= 1.2, SSL_VERIFY_PEER against the configured anchors, the
 * endpoint name checked with SSL_set1_host (RFC 6125 rules, no partial
 * wildcards) or, for an IP literal, against iPAddress SANs.
 *
 * The socket is wrapped in a small BIO of our own instead of SSL_set_fd:
 * OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
 * peer has gone; ours uses send(MSG_NOSIGNAL), and reports the errno of a
 * failed read (EAGAIN = the SO_RCVTIMEO timeout or the session's deadline
 * passed) for the message.  With a deadline set, every socket call first
 * waits (poll) only for what is left of it, so a peer that sends one byte
 * at a time cannot stretch a handshake or a response past the deadline:
 * OpenSSL reads a record in as many socket calls as the peer likes.
 */
#include "nitrowallet/tls.h"

#include "nitrowallet/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct nw_tls_ctx {
    SSL_CTX *ssl_ctx;
};

struct nw_tls {
    SSL *ssl;
    int fd;
    int io_errno; /* errno of the last failed socket call, 0 for EOF */
    int broken;   /* a fatal error happened: no close_notify at close */
    long long deadline_ms; /* CLOCK_MONOTONIC; 0 = none (the socket's own timeouts only) */
};


/* 1 when the socket is ready for `events` before the deadline; 0 (io_errno
 * EAGAIN, as a socket timeout) when the deadline has passed. */
static int wait_ready(struct nw_tls *t, short events)
{
    struct pollfd p = {.fd = t->fd, .events = events};
    int r;

    if (t->deadline_ms == 0)
        return 1;
    for (;;) {
        long long left = t->deadline_ms - nw_clock_ms();
        if (left <= 0)
            break;
        r = poll(&p, 1, left > 600000 ? 600000 : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1; /* let the socket call report it */
    }
    t->io_errno = EAGAIN;
    return 0;
}

/* --- the socket BIO ------------------------------------------------------ */

static int sock_write(BIO *b, const char *buf, int len)
{
    struct nw_tls *t = BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (!wait_ready(t, POLLOUT))
        return -1;
    do {
        n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL | (t->deadline_ms ? MSG_DONTWAIT : 0));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        t->io_errno = errno;
        return -1;
    }
    return (int)n;
}

static int sock_read(BIO *b, char *buf, int len)
{
    struct nw_tls *t = BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (!wait_ready(t, POLLIN))
        return -1;
    do {
        n = recv(t->fd, buf, (size_t)len, t->deadline_ms ? MSG_DONTWAIT : 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        t->io_errno = errno;
        return -1;
    }
    if (n == 0)
        t->io_errno = 0;
    return (int)n;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *sock_method;
static pthread_once_t sock_method_once = PTHREAD_ONCE_INIT;

static void sock_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nitrowallet socket");

    if (m == NULL)
        return;
    if (!BIO_meth_set_write(m, sock_write) || !BIO_meth_set_read(m, sock_read) ||
        !BIO_meth_set_ctrl(m, sock_ctrl)) {
        BIO_meth_free(m);
        return;
    }
    sock_method = m; /* lives as long as the process */
}

/* --- errors --------------------------------------------------------------- */

/* Describe why an SSL_* call failed, from SSL_get_error, errno and the
 * OpenSSL error queue (which is emptied). */
static enum nw_err io_fail(struct nw_tls *t, int ret, const char *what, struct nw_error *err)
{
    int e = SSL_get_error(t->ssl, ret);
    unsigned long code = ERR_peek_last_error();
    char reason[120] = "unknown error";
    long vr = SSL_get_verify_result(t->ssl);

    t->broken = 1;
    if (vr != X509_V_OK) {
        ERR_clear_error();
        return nw_fail(err, NW_ERR_UNAVAILABLE, "tls %s: certificate verification failed: %s", what,
                       X509_verify_cert_error_string(vr));
    }
    if (e == SSL_ERROR_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        snprintf(reason, sizeof reason, "connection closed by peer without close_notify");
    else if (e == SSL_ERROR_SSL && code != 0)
        ERR_error_string_n(code, reason, sizeof reason);
    else if (e == SSL_ERROR_SYSCALL && (t->io_errno == EAGAIN || t->io_errno == EWOULDBLOCK))
        snprintf(reason, sizeof reason, "timed out");
    else if (e == SSL_ERROR_SYSCALL && t->io_errno != 0)
        snprintf(reason, sizeof reason, "%s", strerror(t->io_errno));
    else if (e == SSL_ERROR_SYSCALL)
        snprintf(reason, sizeof reason, "connection closed by peer");
    ERR_clear_error();
    return nw_fail(err, NW_ERR_UNAVAILABLE, "tls %s: %s", what, reason);
}

int nw_tls_timed_out(const struct nw_tls *t)
{
    return t != NULL && (t->io_errno == EAGAIN || t->io_errno == EWOULDBLOCK);
}

/* --- context ---------------------------------------------------------------- */

/* Every certificate in the PEM text goes into the context's store; at least one. */
static int load_pem(SSL_CTX *ctx, const char *pem)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x;
    int n = 0, ok = 1;

    if (bio == NULL)
        return 0;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        ok = ok && X509_STORE_add_cert(store, x) == 1;
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    return ok && n > 0;
}

enum nw_err nw_tls_ctx_new(struct nw_tls_ctx **out, const char *ca_file, const char *ca_pem, struct nw_error *err)
{
    struct nw_tls_ctx *c;
    int ok;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "tls: out of memory");
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (c->ssl_ctx == NULL) {
        free(c);
        ERR_clear_error();
        return nw_fail(err, NW_ERR_NOMEM, "tls: cannot create a context");
    }
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    ok = ca_file ? SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, NULL)
         : ca_pem ? load_pem(c->ssl_ctx, ca_pem)
                  : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
    ERR_clear_error();
    if (ok != 1) {
        nw_tls_ctx_free(c);
        return nw_fail(err, NW_ERR_BAD_REQUEST, "tls: cannot load CA certificates from %s",
                       ca_file ? ca_file : ca_pem ? "the bundled roots" : "the system store");
    }
    *out = c;
    return NW_OK;
}

void nw_tls_ctx_free(struct nw_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* --- sessions ----------------------------------------------------------------- */

static int is_ip_literal(const char *name)
{
    unsigned char a[16];
    return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* Name checks: SNI + hostname for DNS names, iPAddress SAN for literals. */
static int set_peer_name(SSL *ssl, const char *name)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip_literal(name))
        return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1;
    return SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
}

enum nw_err nw_tls_connect(struct nw_tls **out, struct nw_tls_ctx *ctx, int fd, const char *server_name,
                           struct nw_error *err)
{
    return nw_tls_connect_by(out, ctx, fd, server_name, 0, err);
}

void nw_tls_set_deadline(struct nw_tls *t, long long deadline_ms)
{
    if (t != NULL)
        t->deadline_ms = deadline_ms;
}

enum nw_err nw_tls_connect_by(struct nw_tls **out, struct nw_tls_ctx *ctx, int fd, const char *server_name,
                              long long deadline_ms, struct nw_error *err)
{
    struct nw_tls *t;
    BIO *bio = NULL;
    int ret;
    enum nw_err rc;

    *out = NULL;
    pthread_once(&sock_method_once, sock_method_init);
    t = calloc(1, sizeof *t);
    if (t == NULL || sock_method == NULL) {
        free(t);
        close(fd);
        return nw_fail(err, NW_ERR_NOMEM, "tls: out of memory");
    }
    t->fd = fd;
    t->deadline_ms = deadline_ms;
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (t->ssl != NULL)
        bio = BIO_new(sock_method);
    if (bio == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "tls: out of memory");
        goto out;
    }
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio); /* the SSL owns the BIO now */
    if (!set_peer_name(t->ssl, server_name)) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "tls: cannot use \"%s\" as the server name", server_name);
        goto out;
    }
    ret = SSL_connect(t->ssl);
    if (ret != 1) {
        rc = io_fail(t, ret, "handshake", err);
        goto out;
    }
    if (SSL_get_verify_result(t->ssl) != X509_V_OK || SSL_get0_peer_certificate(t->ssl) == NULL) {
        rc = nw_fail(err, NW_ERR_UNAVAILABLE, "tls handshake: peer not verified");
        goto out;
    }
    *out = t;
    return NW_OK;
out:
    ERR_clear_error();
    SSL_free(t->ssl);
    close(t->fd);
    free(t);
    return rc;
}

enum nw_err nw_tls_write(struct nw_tls *t, const void *buf, size_t len, struct nw_error *err)
{
    const uint8_t *p = buf;

    while (len > 0) {
        size_t chunk = len > INT_MAX ? INT_MAX : len, done = 0;
        int ret = SSL_write_ex(t->ssl, p, chunk, &done);
        if (ret != 1)
            return io_fail(t, ret, "write", err);
        p += done;
        len -= done;
    }
    return NW_OK;
}

enum nw_err nw_tls_read(struct nw_tls *t, void *buf, size_t cap, size_t *n, struct nw_error *err)
{
    int ret;

    *n = 0;
    ret = SSL_read_ex(t->ssl, buf, cap, n);
    if (ret == 1)
        return NW_OK;
    *n = 0;
    if (SSL_get_error(t->ssl, ret) == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return NW_OK;
    }
    return io_fail(t, ret, "read", err);
}

void nw_tls_close(struct nw_tls *t)
{
    if (t == NULL)
        return;
    /* One close_notify without waiting for the peer's: the socket is closed
     * right after, and a failure here changes nothing for us. */
    if (!t->broken && SSL_is_init_finished(t->ssl))
        (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
    SSL_free(t->ssl);
    close(t->fd);
    free(t);
}
