/*
 * server.c - the enclave daemon's concurrent server (design §4,
 * docs/protocol.md "Concurrency"): an accept loop, one thread per
 * connection, a fixed number of workers and a bounded queue.
 *
 * A worker is an execution slot: its own KMS client (they are not
 * thread-safe), the shared NSM and data-key cache.  A connection's thread
 * reads one frame, takes a free worker (or waits for one when none is free,
 * at most `queue` threads waiting; BUSY at once beyond that), handles the
 * request itself, gives the worker back and writes the reply.  Handling in
 * the thread that read the frame costs no hand-over between threads (two
 * context switches per request, measured in docs/performance.md).  A
 * worker is held only while a request is computed, never while a socket is
 * read or written, so a slow or dead client only ever blocks its own
 * thread.
 *
 * Trust boundary: every connection is the untrusted host.  Frames are
 * bounded by src/proto/frame.c; request buffers (which carry AWS credentials) are
 * wiped when released.
 */
#include "server_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_POLL_MS 200

struct worker {
    struct nw_enclave_ops ops;
    struct worker *next_free;
};

struct server {
    const struct nw_enclave_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t free_cv;  /* a worker was given back */
    pthread_cond_t done_cv;  /* a connection ended */
    struct worker *free;     /* idle workers */
    unsigned waiting;        /* connection threads waiting for a worker */
    int stopping;            /* no new requests; connections are being closed */
    int conn_fd[NW_ENCLAVE_MAX_CONNECTIONS];
    unsigned n_conns;
};

struct conn {
    struct server *srv;
    int fd;
    unsigned slot;
};

/* Take a worker, waiting while none is free; NULL when `queue` threads are
 * already waiting (BUSY) or the server is stopping. */
static struct worker *take_worker(struct server *s)
{
    struct worker *w = NULL;

    pthread_mutex_lock(&s->mu);
    if (s->free == NULL && !s->stopping && s->waiting < s->cfg->queue) {
        s->waiting++;
        while (s->free == NULL && !s->stopping)
            pthread_cond_wait(&s->free_cv, &s->mu);
        s->waiting--;
    }
    if (s->free != NULL && !s->stopping) {
        w = s->free;
        s->free = w->next_free;
    }
    pthread_mutex_unlock(&s->mu);
    return w;
}

static void give_worker(struct server *s, struct worker *w)
{
    pthread_mutex_lock(&s->mu);
    w->next_free = s->free;
    s->free = w;
    pthread_cond_signal(&s->free_cv);
    pthread_mutex_unlock(&s->mu);
}

/* An error reply outside the workers (BUSY, a bad frame header): it echoes
 * the id from the frame's first bytes (nw_proto_request_peek_id), never
 * parsing the whole request, so a full queue costs no more for a 1 MiB frame
 * than for a small one. */
static enum nw_err write_error(int fd, const uint8_t *req, size_t req_len, const char *code, const char *msg)
{
    struct nw_error e;
    struct nw_buf out;
    cJSON *id = NULL;
    enum nw_err rc = NW_OK;

    nw_buf_init(&out, NW_PROTO_MAX_FRAME);
    if (req != NULL)
        rc = nw_proto_request_peek_id(&id, req, req_len);
    if (rc == NW_OK)
        rc = nw_proto_reply_error(&out, id, code, msg);
    if (rc == NW_OK)
        rc = nw_proto_frame_write(fd, out.data, out.len, &e);
    cJSON_Delete(id);
    nw_buf_free(&out);
    return rc;
}

/* One request: NW_OK to keep reading, anything else to close. */
static enum nw_err serve_one(struct server *s, int fd)
{
    struct nw_buf req, reply;
    struct nw_error e = {0};
    struct worker *w;
    int eof = 0;
    enum nw_err rc;

    nw_buf_init(&req, NW_PROTO_MAX_FRAME);
    nw_buf_init(&reply, NW_PROTO_MAX_FRAME);
    rc = nw_proto_frame_read(fd, &req, &eof, &e);
    if (rc == NW_ERR_UNAVAILABLE || rc == NW_ERR_NOMEM)
        goto out;
    if (rc != NW_OK) {
        /* A bad header: an empty frame keeps framing, an oversized one loses it. */
        enum nw_err wrc = write_error(fd, NULL, 0, nw_err_name(rc), e.msg);
        rc = rc == NW_ERR_BAD_REQUEST && wrc == NW_OK ? NW_OK : rc;
        goto out;
    }
    if ((w = take_worker(s)) == NULL) {
        rc = write_error(fd, req.data, req.len, NW_PROTO_BUSY, "the enclave's request queue is full; retry later");
        goto out;
    }
    if (nw_enclave_handle(&w->ops, req.data, req.len, &reply) != NW_OK)
        reply.len = 0; /* out of memory */
    give_worker(s, w);
    nw_buf_free(&req); /* wipes: it carried AWS credentials */
    if (reply.len == 0)
        rc = write_error(fd, NULL, 0, nw_err_name(NW_ERR_INTERNAL), "out of memory building the reply");
    else
        rc = nw_proto_frame_write(fd, reply.data, reply.len, &e);
out:
    nw_buf_free(&req);
    nw_buf_free(&reply);
    return rc;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct server *s = c->srv;

    while (serve_one(s, c->fd) == NW_OK)
        ;
    pthread_mutex_lock(&s->mu);
    s->conn_fd[c->slot] = -1;
    s->n_conns--;
    close(c->fd);
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->mu);
    free(c);
    return NULL;
}

static void start_conn(struct server *s, int fd)
{
    pthread_attr_t attr;
    pthread_t t;
    struct conn *c = calloc(1, sizeof *c);
    unsigned slot = 0;

    pthread_mutex_lock(&s->mu);
    while (slot < NW_ENCLAVE_MAX_CONNECTIONS && s->conn_fd[slot] >= 0)
        slot++;
    if (c == NULL || slot == NW_ENCLAVE_MAX_CONNECTIONS) {
        pthread_mutex_unlock(&s->mu);
        free(c);
        (void)write_error(fd, NULL, 0, NW_PROTO_BUSY, "too many connections");
        close(fd);
        return;
    }
    *c = (struct conn){.srv = s, .fd = fd, .slot = slot};
    s->conn_fd[slot] = fd;
    s->n_conns++;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_main, c) != 0) {
        s->conn_fd[slot] = -1;
        s->n_conns--;
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&s->mu);
}

static void accept_loop(struct server *s, int lfd, volatile sig_atomic_t *stop)
{
    while (!*stop) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, ACCEPT_POLL_MS) <= 0)
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            start_conn(s, fd);
        else if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
            (void)poll(NULL, 0, ACCEPT_POLL_MS); /* out of descriptors: do not spin */
    }
}

/* Close every connection and wait for their threads (each finishes the
 * request it is computing, if any), then free the workers. */
static void shutdown_all(struct server *s, struct worker *w, unsigned n)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->free_cv); /* waiters answer BUSY */
    for (unsigned i = 0; i < NW_ENCLAVE_MAX_CONNECTIONS; i++)
        if (s->conn_fd[i] >= 0)
            shutdown(s->conn_fd[i], SHUT_RDWR);
    while (s->n_conns > 0)
        pthread_cond_wait(&s->done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < n; i++)
        nw_kms_client_free(w[i].ops.kms);
}

static enum nw_err make_workers(struct server *s, struct worker *w, struct nw_dkcache *cache, struct nw_error *err)
{
    for (unsigned i = 0; i < s->cfg->workers; i++) {
        w[i].ops.nsm = s->cfg->nsm;
        w[i].ops.dkcache = cache;
        w[i].ops.keys = &s->cfg->keys;
        if (nw_kms_client_new(&w[i].ops.kms, &s->cfg->kms, s->cfg->nsm, err) != NW_OK)
            return err->code;
        w[i].next_free = s->free;
        s->free = &w[i];
    }
    return NW_OK;
}

enum nw_err nw_enclave_serve(const struct nw_enclave_config *cfg, volatile sig_atomic_t *stop,
                             void (*ready)(const char *listen_spec), struct nw_error *err)
{
    struct server s;
    struct worker *w = NULL;
    struct nw_dkcache *cache = NULL;
    int lfd = -1;
    enum nw_err rc;

    if (cfg->workers < 1 || cfg->workers > NW_ENCLAVE_MAX_WORKERS || cfg->queue < 1 ||
        cfg->queue > NW_ENCLAVE_MAX_QUEUE || cfg->nsm == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "server: workers must be 1..%d, queue 1..%d, and an NSM is needed",
                       NW_ENCLAVE_MAX_WORKERS, NW_ENCLAVE_MAX_QUEUE);
    if (cfg->keys.n == 0 || cfg->keys.n > NW_ENCLAVE_MAX_KMS_KEYS)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "server: 1..%d KMS key ARNs (--kms-key-arn) are required: they are "
                       "the only keys the enclave seals under", NW_ENCLAVE_MAX_KMS_KEYS);
    for (size_t i = 0; i < cfg->keys.n; i++)
        if (nw_enclave_key_arn_check(cfg->keys.arn[i], cfg->kms.region, err) != NW_OK)
            return err->code;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    for (unsigned i = 0; i < NW_ENCLAVE_MAX_CONNECTIONS; i++)
        s.conn_fd[i] = -1;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.free_cv, NULL);
    pthread_cond_init(&s.done_cv, NULL);
    w = calloc(cfg->workers, sizeof *w);
    if (w == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "server: out of memory");
        goto out;
    }
    NW_GUARD(nw_dkcache_new(&cache, &cfg->cache, err));
    NW_GUARD(nw_enclave_listen(&lfd, cfg->listen, err));
    NW_GUARD(make_workers(&s, w, cache, err));
    if (ready != NULL)
        ready(cfg->listen);
    accept_loop(&s, lfd, stop);
out:
    if (lfd >= 0)
        close(lfd);
    if (w != NULL)
        shutdown_all(&s, w, cfg->workers);
    free(w);
    nw_dkcache_free(cache); /* after the last request: wipes every cached key */
    pthread_cond_destroy(&s.done_cv);
    pthread_cond_destroy(&s.free_cv);
    pthread_mutex_destroy(&s.mu);
    return rc;
}
