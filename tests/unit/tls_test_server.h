/*
 * tls_test_server.h - a loopback HTTPS server for test_http_client.c and
 * test_kms_client.c: a thread serving one connection at a time with
 * OpenSSL, a test CA and a leaf certificate made in memory (P-256), and a
 * handler that turns each request into raw response bytes.  It listens on
 * 127.0.0.1 (a free port) or on a unix socket, counts the connections it
 * accepted, and can drop a connection after N requests without saying so
 * (to exercise the client's reconnect).
 *
 * Test code only: requests are read with a simple, bounded reader (head up
 * to the blank line, then Content-Length bytes).
 */
#ifndef NW_TLS_TEST_SERVER_H
#define NW_TLS_TEST_SERVER_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "nitrowallet/buf.h"

#define TS_FN static __attribute__((unused))
#define TS_MAX_REQUEST (128u * 1024u)

/* --- certificates ------------------------------------------------------------ */

struct ts_pki {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca, *leaf;
    char ca_file[64]; /* PEM of the CA, for the client's ca_file */
};

static int ts_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *ts_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *san)
{
    X509 *c = X509_new();
    X509_NAME *name = X509_NAME_new();
    static long serial = 1;
    int ok;

    ok = c != NULL && name != NULL && X509_set_version(c, X509_VERSION_3) &&
         ASN1_INTEGER_set(X509_get_serialNumber(c), serial++) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_subject_name(c, name) && X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) &&
         X509_gmtime_adj(X509_getm_notBefore(c), -3600) && X509_gmtime_adj(X509_getm_notAfter(c), 86400) &&
         X509_set_pubkey(c, key);
    if (ok && issuer == NULL)
        ok = ts_add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") &&
             ts_add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             ts_add_ext(c, c, NID_subject_key_identifier, "hash");
    if (ok && issuer != NULL)
        ok = ts_add_ext(c, issuer, NID_subject_alt_name, san) &&
             ts_add_ext(c, issuer, NID_ext_key_usage, "serverAuth") &&
             ts_add_ext(c, issuer, NID_authority_key_identifier, "keyid");
    ok = ok && X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(c);
        return NULL;
    }
    return c;
}

/* A CA and a leaf for `san` (e.g. "DNS:localhost,IP:127.0.0.1"). */
TS_FN int ts_pki_make(struct ts_pki *p, const char *ca_name, const char *san)
{
    FILE *f;
    int fd;

    memset(p, 0, sizeof *p);
    p->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    p->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (p->ca_key == NULL || p->leaf_key == NULL)
        return 0;
    p->ca = ts_cert(p->ca_key, ca_name, NULL, NULL, NULL);
    if (p->ca == NULL)
        return 0;
    p->leaf = ts_cert(p->leaf_key, "test server", p->ca, p->ca_key, san);
    if (p->leaf == NULL)
        return 0;
    snprintf(p->ca_file, sizeof p->ca_file, "/tmp/nw-test-ca-XXXXXX");
    fd = mkstemp(p->ca_file);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
        return 0;
    PEM_write_X509(f, p->ca);
    return fclose(f) == 0;
}

TS_FN void ts_pki_free(struct ts_pki *p)
{
    if (p->ca_file[0])
        unlink(p->ca_file);
    X509_free(p->ca);
    X509_free(p->leaf);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->leaf_key);
    memset(p, 0, sizeof *p);
}

/* --- the server ------------------------------------------------------------------ */

/* Build the raw response for one request; set *close_after to drop the
 * connection after sending it. */
typedef void (*ts_handler)(void *arg, const char *head, size_t head_len, const uint8_t *body, size_t body_len,
                           struct nw_buf *resp, int *close_after);

struct ts_server {
    int listen_fd;
    int port;
    char unix_path[108];
    SSL_CTX *ctx;
    pthread_t thread;
    volatile int stop;
    volatile unsigned long accepts;
    volatile unsigned long requests;
    unsigned drop_after; /* close silently after this many requests per connection; 0 = never */
    ts_handler handler;
    void *arg;
};

/* Read one request: head through CRLFCRLF, then Content-Length bytes. */
static int ts_read_request(SSL *ssl, struct nw_buf *req, size_t *head_len, size_t *body_len)
{
    uint8_t chunk[4096];
    size_t n;

    req->len = 0;
    *head_len = 0;
    for (;;) {
        if (*head_len == 0 && req->len >= 4) {
            uint8_t *end = memmem(req->data, req->len, "\r\n\r\n", 4);
            if (end != NULL) {
                const char *cl;
                *head_len = (size_t)(end - req->data) + 4;
                req->data[*head_len - 1] = '\0'; /* the head as a string (last LF lost) */
                cl = strcasestr((const char *)req->data, "\r\nContent-Length: ");
                *body_len = cl ? strtoul(cl + 18, NULL, 10) : 0;
            }
        }
        if (*head_len != 0 && req->len >= *head_len + *body_len)
            return 1;
        if (SSL_read_ex(ssl, chunk, sizeof chunk, &n) != 1 || nw_buf_append(req, chunk, n) != NW_OK)
            return 0;
    }
}

static void ts_serve_connection(struct ts_server *s, int fd)
{
    SSL *ssl = SSL_new(s->ctx);
    struct nw_buf req, resp;
    size_t head_len, body_len;
    unsigned served = 0;
    struct timeval tv = {5, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    nw_buf_init(&req, TS_MAX_REQUEST);
    nw_buf_init(&resp, TS_MAX_REQUEST * 8);
    if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
        while (!s->stop && ts_read_request(ssl, &req, &head_len, &body_len)) {
            int close_after = 0;
            resp.len = 0;
            s->requests++;
            s->handler(s->arg, (const char *)req.data, head_len, req.data + head_len, body_len, &resp, &close_after);
            if (resp.len > 0 && SSL_write(ssl, resp.data, (int)resp.len) <= 0)
                break;
            if (close_after || (s->drop_after && ++served >= s->drop_after))
                break;
        }
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    nw_buf_free(&req);
    nw_buf_free(&resp);
}

static void *ts_main(void *arg)
{
    struct ts_server *s = arg;
    sigset_t pipe;

    /* SIGPIPE stays deliverable on the client's (main) thread, so a client
     * that wrote to a closed socket without MSG_NOSIGNAL would die. */
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    while (!s->stop) {
        struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
        int fd;
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        s->accepts++;
        ts_serve_connection(s, fd);
    }
    return NULL;
}

static int ts_listen(struct ts_server *s)
{
    if (s->unix_path[0]) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memcpy(a.sun_path, s->unix_path, strlen(s->unix_path) + 1);
        unlink(s->unix_path);
        return s->listen_fd >= 0 && bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) == 0 &&
               listen(s->listen_fd, 8) == 0;
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            listen(s->listen_fd, 8) != 0 || getsockname(s->listen_fd, (struct sockaddr *)&a, &len) != 0)
            return 0;
        s->port = ntohs(a.sin_port);
        return 1;
    }
}

/* Start serving with `pki`'s leaf; unix_path NULL = TCP on 127.0.0.1. */
TS_FN int ts_start(struct ts_server *s, const struct ts_pki *pki, const char *unix_path, ts_handler handler,
                   void *arg)
{
    memset(s, 0, sizeof *s);
    s->handler = handler;
    s->arg = arg;
    if (unix_path != NULL)
        snprintf(s->unix_path, sizeof s->unix_path, "%s", unix_path);
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (s->ctx == NULL || SSL_CTX_use_certificate(s->ctx, pki->leaf) != 1 ||
        SSL_CTX_use_PrivateKey(s->ctx, pki->leaf_key) != 1 || !ts_listen(s))
        return 0;
    return pthread_create(&s->thread, NULL, ts_main, s) == 0;
}

TS_FN void ts_stop(struct ts_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    if (s->unix_path[0])
        unlink(s->unix_path);
    SSL_CTX_free(s->ctx);
}

/* Append a whole response with Content-Length. */
TS_FN void ts_respond(struct nw_buf *resp, int status, const char *extra_headers, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\n%sContent-Type: application/x-amz-json-1.1\r\n"
                                        "Content-Length: %zu\r\n\r\n",
                     status, extra_headers ? extra_headers : "", strlen(body));
    if (nw_buf_append(resp, head, (size_t)n) != NW_OK || nw_buf_append(resp, body, strlen(body)) != NW_OK)
        abort();
}

#endif
