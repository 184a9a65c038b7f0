/*
 * http.c - the HTTP(S) server of nitrowallet-host on libmicrohttpd: a pool
 * of event threads (epoll), each serving many connections, so idle
 * connections cost no thread; limits on connections in all and per client
 * address; a deadline for each request's TLS handshake, headers and body
 * (http_guard.c); TLS from PEM files (plain HTTP only when asked), bounded
 * request bodies, a request id per request (X-Request-Id), JSON responses
 * and a log line per request.
 *
 * Event threads never wait for an enclave or storage: once a request's
 * headers and body are in, its connection is suspended (libmicrohttpd's
 * suspend/resume) and the request goes to a bounded FIFO served by worker
 * threads (NW_HOST_DEFAULT_WORKERS), which route it (api_route.c), may wait
 * for an enclave (bounded: enclave_pool.h), and resume the connection;
 * libmicrohttpd then calls the handler again, which queues the response.
 * /healthz and requests on the metrics listener are answered on the event
 * thread (nothing they do waits); a full queue is answered there with 503.
 * When the server stops, the workers finish what is queued and new
 * requests are answered on the event thread.
 *
 * Keep-alive (docs/platform-notes): the first access-handler call only sets
 * *con_cls; the response is queued on a later call, so MHD keeps the
 * connection open.
 *
 * Trust boundary: network-facing.  Log lines carry the request id, method,
 * endpoint label, status and token id: never a token, body or credential.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "api_internal.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/secret.h"

#define PEM_MAX (256 * 1024)
#define HTTP_POOL_BYTES (64 * 1024) /* per connection: headers; bodies are copied out as they arrive */

/* Each connection holds two descriptors (MHD's socket and the guard's dup):
 * raise the soft limit toward what max_connections needs, within the hard limit. */
static void raise_fd_limit(unsigned max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections * 2 + 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
        fprintf(stderr, "nitrowallet-host: open files limited to %llu: fewer than %u connections will fit\n",
                (unsigned long long)rl.rlim_cur, max_connections);
}

/* --- the worker pool ------------------------------------------------------------- */

struct api_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct api_req *head, *tail; /* FIFO through api_req.next */
    size_t queued, max_queue;
    int stopping;
    pthread_t *threads;
    unsigned n;
};

static void *worker_main(void *arg)
{
    struct api_workers *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        struct api_req *rq = w->head;
        if (rq == NULL) { /* stopping, and nothing left */
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        w->head = rq->next;
        if (w->head == NULL) w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->mu);
        rq->next = NULL;
        api_route(rq, &rq->resp);
        rq->state = API_REQ_ANSWERED;
        MHD_resume_connection(rq->conn); /* the handler runs again and queues rq->resp */
    }
}

/* Hand `rq` to the workers: 1 if queued (its connection suspended), 0 if the
 * caller must answer it here (queue full: *full set; or stopping). */
static int workers_take(struct api_workers *w, struct api_req *rq, int *full)
{
    *full = 0;
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->queued >= w->max_queue) {
        *full = !w->stopping;
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    rq->state = API_REQ_QUEUED;
    MHD_suspend_connection(rq->conn); /* before a worker can resume it */
    if (w->tail != NULL) w->tail->next = rq;
    else w->head = rq;
    w->tail = rq;
    w->queued++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 1;
}

static struct api_workers *workers_new(unsigned n, size_t max_queue)
{
    struct api_workers *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    if (pthread_cond_init(&w->cv, NULL) != 0 || (w->threads = calloc(n, sizeof *w->threads)) == NULL) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    w->max_queue = max_queue;
    for (; w->n < n; w->n++)
        if (pthread_create(&w->threads[w->n], NULL, worker_main, w) != 0) break;
    return w;
}

/* Finish what is queued, then join; requests arriving meanwhile are answered
 * on their event thread (workers_take refuses once stopping is set). */
static void workers_stop(struct api_workers *w)
{
    if (w == NULL) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n; i++) pthread_join(w->threads[i], NULL);
}

static void workers_free(struct api_workers *w)
{
    if (w == NULL) return;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w);
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct api_req *req_new(struct nw_host *h, struct MHD_Connection *conn, const char *url, const char *method)
{
    uint8_t rnd[16];
    char hex[NW_HEX_SIZE(16)];
    struct api_req *rq = calloc(1, sizeof(*rq));
    if (rq == NULL) return NULL;
    rq->host = h;
    rq->conn = conn;
    rq->method = method;
    rq->start_us = now_us();
    nw_buf_init(&rq->body, h->cfg.body_max);
    size_t n = strlen(url);
    if (n >= sizeof(rq->path)) rq->path_too_long = 1;
    else memcpy(rq->path, url, n + 1);
    if (nw_random(rnd, sizeof(rnd)) != NW_OK || nw_hex_encode(hex, sizeof(hex), rnd, sizeof(rnd)) != NW_OK) {
        free(rq);
        return NULL;
    }
    snprintf(rq->request_id, sizeof(rq->request_id), "req-%s", hex + 2);
    return rq;
}

static enum MHD_Result send_resp(struct api_req *rq, struct api_resp *rs)
{
    if (rs->body == NULL) api_error(rq, rs, 500, "INTERNAL", "no response");
    if (rs->body == NULL) return MHD_NO;
    size_t len = strlen(rs->body);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, rs->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(rs->body);
        return MHD_NO;
    }
    rs->body = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type ? rs->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", rq->request_id);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rs->status == 401) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    long long us = now_us() - rq->start_us;
    api_metrics_observe(rq->host->metrics, rq->endpoint, rs->status, us);
    fprintf(stderr, "nitrowallet-host: %s %s %s %d token=%s %lldms\n", rq->request_id, rq->method,
            rq->endpoint ? rq->endpoint : "other", rs->status, rq->who.id ? rq->who.id : "-", us / 1000);
    return ret;
}

/* 1 if a Content-Length header announces more than `max` bytes. */
static int announced_too_large(struct MHD_Connection *conn, size_t max)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t v = 0;
    if (cl == NULL) return 0;
    for (; *cl >= '0' && *cl <= '9'; cl++) {
        if (v > max) return 1;
        v = v * 10 + (size_t)(*cl - '0');
    }
    return v > max;
}

static enum MHD_Result handle(struct nw_host *h, int on_metrics, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *upload, size_t *upload_size, void **con_cls)
{
    struct api_req *rq = *con_cls;
    if (rq == NULL) {
        rq = req_new(h, conn, url, method);
        if (rq == NULL) return MHD_NO;
        rq->on_metrics = on_metrics;
        *con_cls = rq;
        if (api_guard_expired(rq->host, conn)) return MHD_NO;
        if (!announced_too_large(conn, rq->host->cfg.body_max)) return MHD_YES;
        /* refuse before reading the body (MHD then closes the connection) */
        struct api_resp early = {0};
        rq->endpoint = "other";
        api_error(rq, &early, 413, "TOO_LARGE", "request body exceeds %zu bytes", rq->host->cfg.body_max);
        return send_resp(rq, &early);
    }
    if (*upload_size > 0) {
        if (api_guard_expired(rq->host, conn)) return MHD_NO; /* the body is late: close */
        if (!rq->too_large && nw_buf_append(&rq->body, upload, *upload_size) != NW_OK) {
            rq->too_large = 1;
            nw_buf_free(&rq->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->state == API_REQ_ANSWERED) /* resumed by its worker */
        return send_resp(rq, &rq->resp);
    if (rq->state == API_REQ_QUEUED) /* not expected: MHD calls again only after the resume */
        return MHD_YES;
    struct api_resp rs = {0};
    int full = 0;
    api_guard_answering(rq->host, conn);
    if (rq->too_large && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)) {
        rq->endpoint = "other";
        api_error(rq, &rs, 413, "TOO_LARGE", "request body exceeds %zu bytes", rq->host->cfg.body_max);
    } else if (on_metrics || strcmp(rq->path, "/healthz") == 0) {
        api_route(rq, &rs); /* answered here: nothing on these paths waits */
    } else if (workers_take(rq->host->workers, rq, &full)) {
        return MHD_YES;
    } else if (full) {
        rq->endpoint = "other";
        api_error(rq, &rs, 503, "UNAVAILABLE", "too many requests queued; retry later");
    } else {
        api_route(rq, &rs); /* stopping: no workers left */
    }
    return send_resp(rq, &rs);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    return handle(cls, 0, conn, url, method, upload, upload_size, con_cls);
}

static enum MHD_Result on_metrics_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                          const char *version, const char *upload, size_t *upload_size,
                                          void **con_cls)
{
    (void)version;
    return handle(cls, 1, conn, url, method, upload, upload_size, con_cls);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode code)
{
    (void)code;
    api_guard_answered(cls, conn);
    struct api_req *rq = *con_cls;
    if (rq == NULL) return;
    nw_buf_free(&rq->body);
    free(rq->resp.body);
    free(rq);
    *con_cls = NULL;
}

static enum nw_err read_pem(char **out, const char *path, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct nw_buf b;
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    nw_buf_init(&b, PEM_MAX);
    *out = NULL;
    if (f == NULL) return nw_fail(err, NW_ERR_BAD_REQUEST, "cannot open %s", path);
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) NW_GUARD(nw_buf_append(&b, chunk, n));
    NW_GUARD(nw_buf_append_byte(&b, 0));
    *out = malloc(b.len);
    if (*out == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "pem"));
    memcpy(*out, b.data, b.len);
out:
    if (rc != NW_OK && err != NULL && err->msg[0] == '\0') nw_fail(err, rc, "%s: too large", path);
    fclose(f);
    nw_buf_free(&b);
    return rc;
}

static enum nw_err parse_listen(struct sockaddr_in *sa, const char *listen, struct nw_error *err)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) || colon[1] == '\0' || strlen(colon + 1) > 5)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--listen: want IPv4:PORT");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    unsigned port = 0;
    for (const char *c = colon + 1; *c; c++) {
        if (*c < '0' || *c > '9') return nw_fail(err, NW_ERR_BAD_REQUEST, "--listen: bad port");
        port = port * 10 + (unsigned)(*c - '0');
    }
    if (port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--listen: want IPv4:PORT");
    sa->sin_port = htons((uint16_t)port);
    return NW_OK;
}

enum nw_err nw_host_start(struct nw_host **out, const struct nw_host_config *cfg, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct sockaddr_in sa;
    struct nw_host *h = calloc(1, sizeof(*h));
    *out = NULL;
    if (h == NULL) return nw_fail(err, NW_ERR_NOMEM, "host");
    h->cfg = *cfg;
    if (h->cfg.body_max == 0) h->cfg.body_max = NW_HOST_DEFAULT_BODY_MAX;
    if (h->cfg.body_max > NW_HOST_MAX_BODY_MAX) NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "body limit too large"));
    if (h->cfg.listen == NULL) h->cfg.listen = NW_HOST_DEFAULT_LISTEN;
    if (h->cfg.threads == 0) h->cfg.threads = NW_HOST_DEFAULT_THREADS;
    if (h->cfg.workers == 0) h->cfg.workers = NW_HOST_DEFAULT_WORKERS;
    if (h->cfg.max_connections == 0) h->cfg.max_connections = NW_HOST_DEFAULT_MAX_CONNECTIONS;
    if (h->cfg.max_per_ip == 0) h->cfg.max_per_ip = NW_HOST_DEFAULT_MAX_PER_IP;
    if (h->cfg.request_timeout_s == 0) h->cfg.request_timeout_s = NW_HOST_DEFAULT_REQUEST_TIMEOUT_S;
    if (h->cfg.keepalive_s == 0) h->cfg.keepalive_s = NW_HOST_DEFAULT_KEEPALIVE_S;
    if (h->cfg.threads > NW_HOST_MAX_THREADS || h->cfg.workers > NW_HOST_MAX_WORKERS ||
        h->cfg.max_connections > NW_HOST_MAX_CONNECTIONS || h->cfg.max_per_ip > h->cfg.max_connections)
        NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "connection limits: at most %d threads, %d workers and %d "
                         "connections, and no more per address than in all", NW_HOST_MAX_THREADS,
                         NW_HOST_MAX_WORKERS, NW_HOST_MAX_CONNECTIONS));
    NW_GUARD(parse_listen(&sa, h->cfg.listen, err));
    h->metrics = api_metrics_new();
    h->inflight = api_inflight_new();
    if (h->metrics == NULL || h->inflight == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "metrics"));
    /* TLS 1.2 and 1.3 only; AEAD ciphers with forward secrecy (GnuTLS priority string, docs/host-api.md). */
#define NW_HOST_TLS_PRIORITIES                                                                                  \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"     \
    "-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (!cfg->insecure_http) {
        if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
            NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "TLS needs --tls-cert and --tls-key (or --insecure-http)"));
        NW_GUARD(read_pem(&h->cert_pem, cfg->tls_cert, err));
        NW_GUARD(read_pem(&h->key_pem, cfg->tls_key, err));
        flags |= MHD_USE_TLS;
    }
    h->guard = api_guard_new(h->cfg.request_timeout_s, h->cfg.keepalive_s);
    if (h->guard == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "connection guard"));
    /* one request per connection at a time, so the queue never needs more than max_connections */
    h->workers = workers_new(h->cfg.workers, h->cfg.max_connections);
    if (h->workers == NULL || h->workers->n != h->cfg.workers)
        NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "cannot start %u API worker threads", h->cfg.workers));
    raise_fd_limit(h->cfg.max_connections);
    /* The connection memory pool above 32 KiB is its own mmap (libmicrohttpd's memorypool.c), so request
     * headers (bearer tokens) go back to the kernel with the connection, never into the freed heap. */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)NW_HOST_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
        MHD_OPTION_NOTIFY_CONNECTION, api_guard_notify, h, MHD_OPTION_THREAD_POOL_SIZE, h->cfg.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.keepalive_s, MHD_OPTION_CONNECTION_LIMIT, h->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.max_per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_POOL_BYTES, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY,
        cfg->insecure_http ? none : tls, MHD_OPTION_END);
    if (h->daemon == NULL) NW_GUARD(nw_fail(err, NW_ERR_UNAVAILABLE, "cannot listen on %s", h->cfg.listen));
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : ntohs(sa.sin_port);
    if (h->cfg.metrics_listen != NULL) {
        /* for the scraper on this machine: small, one thread, no TLS, nothing secret */
        struct sockaddr_in ma;
        NW_GUARD(parse_listen(&ma, h->cfg.metrics_listen, err));
        h->metrics_daemon = MHD_start_daemon(
            MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_metrics_request, h,
            MHD_OPTION_SOCK_ADDR, &ma, MHD_OPTION_NOTIFY_COMPLETED, on_done, h, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
            MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
        if (h->metrics_daemon == NULL)
            NW_GUARD(nw_fail(err, NW_ERR_UNAVAILABLE, "cannot listen on %s (--metrics-listen)", h->cfg.metrics_listen));
        info = MHD_get_daemon_info(h->metrics_daemon, MHD_DAEMON_INFO_BIND_PORT);
        h->metrics_port = info ? info->port : ntohs(ma.sin_port);
    }
    *out = h;
    h = NULL;
out:
    nw_host_stop(h);
    return rc;
}

unsigned nw_host_port(const struct nw_host *h)
{
    return h->port;
}

unsigned nw_host_metrics_port(const struct nw_host *h)
{
    return h->metrics_port;
}

void nw_host_stop(struct nw_host *h)
{
    if (h == NULL) return;
    /* the workers first: every suspended connection is resumed before the daemon stops */
    workers_stop(h->workers);
    if (h->daemon != NULL) MHD_stop_daemon(h->daemon);
    if (h->metrics_daemon != NULL) MHD_stop_daemon(h->metrics_daemon);
    api_guard_free(h->guard);
    workers_free(h->workers);
    api_metrics_free(h->metrics);
    api_inflight_free(h->inflight);
    if (h->key_pem != NULL) {
        nw_wipe(h->key_pem, strlen(h->key_pem));
        free(h->key_pem);
    }
    free(h->cert_pem);
    free(h);
}
