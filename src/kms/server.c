/*
 * server.c - nitrowallet-kms's listener: TCP on a loopback address or a
 * unix socket, TLS (devcert.c) unless plain HTTP was asked for explicitly,
 * HTTP/1.1 with keep-alive and 100-continue, one thread per connection up
 * to max_connections (further clients wait in the listen backlog), idle
 * and I/O timeouts, and a clean stop: the accept loop wakes on a pipe,
 * shuts every open connection down and waits for its thread.
 *
 * Each connection reads into one bounded buffer (headers 16 KiB + body
 * 64 KiB), which is wiped after every request since bodies carry
 * plaintexts; replies are assembled in a wiping struct nw_buf.
 *
 * Trust boundary: the socket.  Binding anything but a loopback address is
 * refused: this server holds master keys and development credentials.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "kms_internal.h"

#define CONN_BUF (NW_KMS_HTTP_MAX_HEADER_BYTES + NW_KMS_MAX_BODY)

struct conn {
    struct nw_kms_server *srv;
    int fd;
    SSL *ssl;
    struct conn *next;
};

struct nw_kms_server {
    struct nw_kms_service *svc;
    int listen_fd;
    int stop_pipe[2];
    SSL_CTX *ssl_ctx;
    char url[160];
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned max_connections;
    unsigned idle_timeout_s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned active;
    struct conn *conns;
    int stopping;
};

/* --- I/O ------------------------------------------------------------------------------ */

static long conn_read(struct conn *c, uint8_t *p, size_t n)
{
    if (c->ssl != NULL)
        return SSL_read(c->ssl, p, n > 65536 ? 65536 : (int)n);
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

static int conn_write(struct conn *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        long w;
        if (c->ssl != NULL) {
            w = SSL_write(c->ssl, p, n > 65536 ? 65536 : (int)n);
        } else {
            w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
        }
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

static int send_reply(struct conn *c, const struct nw_kms_reply *r, int keep_alive)
{
    char head[512], date[64];
    struct nw_buf out;
    time_t now = time(NULL);
    struct tm tm;
    int n, ok;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\nx-amzn-RequestId: %s\r\nContent-Type: application/x-amz-json-1.1\r\n"
                 "Content-Length: %zu\r\nDate: %s\r\nConnection: %s\r\n\r\n",
                 r->status, reason(r->status), r->request_id, r->body.len, date, keep_alive ? "keep-alive" : "close");
    nw_buf_init(&out, sizeof head + r->body.len);
    ok = nw_buf_append(&out, head, (size_t)n) == NW_OK && nw_buf_append(&out, r->body.data, r->body.len) == NW_OK &&
         conn_write(c, out.data, out.len);
    nw_buf_free(&out);
    return ok;
}

/* An HTTP-level refusal (the connection closes after it). */
static void send_refusal(struct conn *c, int status, const struct nw_error *e)
{
    struct nw_kms_reply r;
    struct kms_jw w;

    r.status = status;
    kms_uuid4(r.request_id);
    nw_buf_init(&r.body, 1024);
    kms_jw_init(&w, &r.body);
    kms_jw_open(&w, '{');
    kms_jw_kstr(&w, "__type", "ValidationException");
    kms_jw_kstr(&w, "message", e->msg);
    kms_jw_close(&w, '}');
    if (w.rc == NW_OK)
        (void)send_reply(c, &r, 0);
    nw_buf_free(&r.body);
}

/* --- one connection ----------------------------------------------------------------------- */

/* Serve requests until the client closes, an error, a timeout or stop. */
static void serve(struct conn *c, uint8_t *buf)
{
    struct nw_kms_http_request *req = malloc(sizeof *req);
    size_t len = 0;
    int sent_continue = 0;

    while (req != NULL) {
        struct nw_error e = {NW_OK, ""};
        int complete, status, keep;
        struct nw_kms_reply reply;
        long n;

        if (nw_kms_http_parse(req, &complete, &status, buf, len, &e) != NW_OK) {
            send_refusal(c, status, &e);
            break;
        }
        if (!complete) {
            if (req->header_len && req->expect_continue && !sent_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (!conn_write(c, (const uint8_t *)cont, sizeof cont - 1))
                    break;
                sent_continue = 1;
            }
            if (len == CONN_BUF || (n = conn_read(c, buf + len, CONN_BUF - len)) <= 0)
                break;
            len += (size_t)n;
            continue;
        }
        nw_kms_service_handle(c->srv->svc, req, time(NULL), &reply);
        pthread_mutex_lock(&c->srv->mu);
        keep = req->keep_alive && !c->srv->stopping;
        pthread_mutex_unlock(&c->srv->mu);
        keep = send_reply(c, &reply, keep) && keep;
        nw_buf_free(&reply.body);
        nw_wipe(buf, req->total_len);
        memmove(buf, buf + req->total_len, len - req->total_len);
        len -= req->total_len;
        sent_continue = 0;
        if (!keep)
            break;
    }
    free(req);
    nw_wipe(buf, CONN_BUF);
}

static void release_tls(struct conn *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
}

static void finish(struct conn *c)
{
    struct nw_kms_server *srv = c->srv;
    struct conn **pp;

    release_tls(c);
    pthread_mutex_lock(&srv->mu);
    for (pp = &srv->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    close(c->fd);
    srv->active--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    free(c);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    uint8_t *buf = malloc(CONN_BUF);

    if (buf != NULL && (c->ssl == NULL || SSL_accept(c->ssl) == 1))
        serve(c, buf);
    free(buf);
    release_tls(c);
    /* Free OpenSSL's per-thread state now rather than in the thread-exit
     * destructor: once finish() counts this connection out, a stopping
     * server may return and the process exit before a detached thread's
     * destructors run (LeakSanitizer then reports the state as leaked). */
    OPENSSL_thread_stop();
    finish(c);
    return NULL;
}

static void set_timeouts(int fd, unsigned idle_s)
{
    struct timeval rcv = {(time_t)idle_s, 0}, snd = {30, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
}

/* Start a thread for an accepted socket (which it then owns). */
static void start_conn(struct nw_kms_server *srv, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    pthread_attr_t attr;
    pthread_t t;

    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    set_timeouts(fd, srv->idle_timeout_s);
    if (srv->ssl_ctx != NULL && ((c->ssl = SSL_new(srv->ssl_ctx)) == NULL || !SSL_set_fd(c->ssl, fd))) {
        SSL_free(c->ssl);
        free(c);
        close(fd);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    c->next = srv->conns;
    srv->conns = c;
    srv->active++;
    pthread_mutex_unlock(&srv->mu);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_main, c) != 0)
        finish(c);
    pthread_attr_destroy(&attr);
}

/* --- the accept loop ------------------------------------------------------------------------ */

enum nw_err nw_kms_server_run(struct nw_kms_server *srv, struct nw_error *err)
{
    struct pollfd p[2] = {{srv->listen_fd, POLLIN, 0}, {srv->stop_pipe[0], POLLIN, 0}};

    for (;;) {
        int fd, full;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return nw_fail(err, NW_ERR_INTERNAL, "poll: %s", strerror(errno));
        }
        if (p[1].revents)
            break;
        pthread_mutex_lock(&srv->mu);
        full = srv->active >= srv->max_connections;
        pthread_mutex_unlock(&srv->mu);
        if (full) {
            /* Leave the client in the backlog; look again soon (or stop). */
            (void)poll(&p[1], 1, 50);
            continue;
        }
        fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                usleep(100000);
            continue;
        }
        start_conn(srv, fd);
    }
    pthread_mutex_lock(&srv->mu);
    srv->stopping = 1;
    for (struct conn *c = srv->conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (srv->active > 0)
        pthread_cond_wait(&srv->cv, &srv->mu);
    pthread_mutex_unlock(&srv->mu);
    return NW_OK;
}

void nw_kms_server_stop(struct nw_kms_server *srv)
{
    char one = 1;
    ssize_t r = write(srv->stop_pipe[1], &one, 1);

    (void)r; /* a full pipe already holds a stop request */
}

enum nw_err nw_kms_server_open(struct nw_kms_server **out, struct nw_kms_service *svc,
                               const struct nw_kms_listen *listen, const char *state_dir, const char *region,
                               struct nw_error *err)
{
    struct nw_kms_server *srv;
    enum nw_err rc = NW_OK;

    *out = NULL;
    if ((srv = calloc(1, sizeof *srv)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    srv->svc = svc;
    srv->listen_fd = srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
    srv->max_connections = listen->max_connections ? listen->max_connections : 64;
    srv->idle_timeout_s = listen->idle_timeout_s ? listen->idle_timeout_s : 60;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    if (pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "pipe: %s", strerror(errno));
        goto out;
    }
    if (!listen->insecure_http) {
        if (state_dir == NULL) {
            rc = nw_fail(err, NW_ERR_BAD_REQUEST, "TLS needs a state directory for its CA");
            goto out;
        }
        NW_GUARD(kms_devcert_ssl_ctx(&srv->ssl_ctx, state_dir, region, err));
    }
    NW_GUARD(kms_listen_socket(&srv->listen_fd, listen->address, !listen->insecure_http, srv->url, sizeof srv->url,
                               srv->unix_path, sizeof srv->unix_path, err));
    *out = srv;
    srv = NULL;
out:
    nw_kms_server_free(srv);
    return rc;
}

const char *nw_kms_server_url(const struct nw_kms_server *srv)
{
    return srv->url;
}

void nw_kms_server_free(struct nw_kms_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->unix_path[0] != '\0')
        unlink(srv->unix_path);
    if (srv->stop_pipe[0] >= 0)
        close(srv->stop_pipe[0]);
    if (srv->stop_pipe[1] >= 0)
        close(srv->stop_pipe[1]);
    SSL_CTX_free(srv->ssl_ctx);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
