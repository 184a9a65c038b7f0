/*
 * enclave_pool.c - persistent, failing-over connections from the host to
 * nitrowallet-enclave endpoints (include/nitrowallet/enclave_pool.h,
 * docs/protocol.md: 4-byte big-endian length + JSON, one request at a time
 * per connection).
 *
 * Trust boundary: host side.  The enclave's replies are parsed strictly; the
 * AWS credentials added to a frame are wiped from memory once it is sent.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nitrowallet/enclave_pool.h"

#include "nitrowallet/clock.h"
#include "nitrowallet/proto.h"
#include "nitrowallet/transport.h"

#define POOL_BACKOFF_MS 500
#define POOL_PROBE_TIMEOUT_MS 2000

struct pool_conn {
    int fd;   /* -1 when closed */
    int busy;
};

struct pool_endpoint {
    char spec[NW_TRANSPORT_SPEC_MAX + 1];
    long long down_until_ms; /* skipped until then after a failed connect or probe */
    int up;                  /* the last probe or call reached it */
    struct nw_enclave_endpoint_stats health; /* from its last health reply */
    struct pool_conn *conns;
};

struct nw_enclave_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pool_endpoint *eps;
    size_t n_eps;
    unsigned n_conns;
    int timeout_ms;
    int wait_ms;        /* bound on waiting for a free connection */
    int has_creds;
    struct nw_credentials_provider creds; /* asked for every frame that carries credentials */
    unsigned long long next_id;
    size_t rr;
    struct nw_enclave_pool_stats stats;
    int probe_ms;       /* 0 = no background health checks */
    int stopping;
    int prober_running;
    int probe_now;      /* a caller asked for a probe round before the interval ends */
    pthread_cond_t probe_cv; /* CLOCK_MONOTONIC; wakes the prober to stop */
    pthread_t prober;
};


static void *prober_main(void *arg);

enum nw_err nw_enclave_pool_open(struct nw_enclave_pool **out, const struct nw_enclave_pool_config *cfg,
                                 struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    *out = NULL;
    if (cfg->n_endpoints == 0 || cfg->n_endpoints > NW_POOL_MAX_ENDPOINTS)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "1..%d enclave endpoints required", NW_POOL_MAX_ENDPOINTS);
    unsigned n = cfg->connections ? cfg->connections : NW_POOL_DEFAULT_CONNECTIONS;
    if (n > NW_POOL_MAX_CONNECTIONS) return nw_fail(err, NW_ERR_BAD_REQUEST, "too many connections per endpoint");
    struct nw_enclave_pool *p = calloc(1, sizeof(*p));
    if (p == NULL) return nw_fail(err, NW_ERR_NOMEM, "pool");
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_cond_init(&p->probe_cv, &ca);
    pthread_condattr_destroy(&ca);
    p->probe_ms = cfg->probe_interval_ms < 0 ? 0 : cfg->probe_interval_ms ? cfg->probe_interval_ms
                                                                           : NW_POOL_DEFAULT_PROBE_MS;
    p->n_conns = n;
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : NW_POOL_DEFAULT_TIMEOUT_MS;
    p->wait_ms = cfg->wait_ms > 0 ? cfg->wait_ms : NW_POOL_DEFAULT_WAIT_MS;
    p->eps = calloc(cfg->n_endpoints, sizeof(*p->eps));
    if (p->eps == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "pool endpoints"));
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        struct pool_endpoint *e = &p->eps[i];
        size_t len = strlen(cfg->endpoints[i]);
        if (len == 0 || len > NW_TRANSPORT_SPEC_MAX)
            NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "enclave endpoint %zu: bad length", i + 1));
        memcpy(e->spec, cfg->endpoints[i], len + 1);
        e->conns = calloc(n, sizeof(*e->conns));
        if (e->conns == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "pool connections"));
        for (unsigned j = 0; j < n; j++) e->conns[j].fd = -1;
        p->n_eps++;
    }
    if (cfg->credentials != NULL) {
        /* fail at start, not at the first request, when there are none */
        struct nw_host_credentials probe;
        rc = cfg->credentials->get(cfg->credentials->ctx, &probe, err);
        nw_host_credentials_wipe(&probe);
        if (rc != NW_OK) goto out;
        p->creds = *cfg->credentials;
        p->has_creds = 1;
    }
    if (p->probe_ms > 0) {
        if (pthread_create(&p->prober, NULL, prober_main, p) != 0)
            NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "cannot start the enclave health checks"));
        p->prober_running = 1;
    }
    *out = p;
    p = NULL;
out:
    nw_enclave_pool_close(p);
    return rc;
}

void nw_enclave_pool_close(struct nw_enclave_pool *pool)
{
    if (pool == NULL) return;
    if (pool->prober_running) {
        pthread_mutex_lock(&pool->mu);
        pool->stopping = 1;
        pthread_cond_broadcast(&pool->probe_cv);
        pthread_mutex_unlock(&pool->mu);
        pthread_join(pool->prober, NULL);
    }
    for (size_t i = 0; i < pool->n_eps; i++) {
        for (unsigned j = 0; j < pool->n_conns; j++)
            if (pool->eps[i].conns[j].fd >= 0) close(pool->eps[i].conns[j].fd);
        free(pool->eps[i].conns);
    }
    free(pool->eps);
    pthread_cond_destroy(&pool->cv);
    pthread_cond_destroy(&pool->probe_cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

size_t nw_enclave_pool_endpoints(struct nw_enclave_pool *pool, struct nw_enclave_endpoint_stats *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&pool->mu);
    for (; n < pool->n_eps && n < max; n++) {
        out[n] = pool->eps[n].health;
        out[n].spec = pool->eps[n].spec;
        out[n].up = pool->eps[n].up && pool->eps[n].down_until_ms <= nw_clock_ms();
    }
    pthread_mutex_unlock(&pool->mu);
    return n;
}

/* Endpoints that answered their last call or probe and are not in back-off (p->mu held). */
static size_t endpoints_up(const struct nw_enclave_pool *p)
{
    size_t n = 0;
    long long t = nw_clock_ms();
    for (size_t i = 0; i < p->n_eps; i++)
        n += p->eps[i].up && p->eps[i].down_until_ms <= t;
    return n;
}

void nw_enclave_pool_stats(struct nw_enclave_pool *pool, struct nw_enclave_pool_stats *out)
{
    pthread_mutex_lock(&pool->mu);
    *out = pool->stats;
    out->endpoints = pool->n_eps;
    out->endpoints_up = endpoints_up(pool);
    pthread_mutex_unlock(&pool->mu);
}

/* Take a free connection on an endpoint not in back-off and not in `tried`.
 * When every untried endpoint is marked down, they are tried anyway as a
 * last resort (a call never fails without trying: one that came back since
 * the last probe is found at once).  Waits while every usable endpoint is
 * fully busy, for at most wait_ms.  1 taken, 0 when none is usable, -1 when
 * the wait ran out. */
static int pool_take(struct nw_enclave_pool *p, const unsigned char *tried, size_t *ep, unsigned *cn)
{
    struct timespec until;
    nw_clock_deadline(&until, p->wait_ms);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        int usable = 0;
        long long t = nw_clock_ms();
        for (size_t k = 0; k < 2 * p->n_eps; k++) {
            size_t i = (p->rr + k) % p->n_eps;
            if (k == p->n_eps && usable) break; /* the last-resort pass only when nothing was usable */
            if (tried[i] || (k < p->n_eps && p->eps[i].down_until_ms > t)) continue;
            usable = 1;
            for (unsigned j = 0; j < p->n_conns; j++) {
                if (p->eps[i].conns[j].busy) continue;
                p->eps[i].conns[j].busy = 1;
                p->rr = i + 1;
                *ep = i;
                *cn = j;
                pthread_mutex_unlock(&p->mu);
                return 1;
            }
        }
        if (!usable) break;
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT) {
            p->stats.wait_timeouts++;
            pthread_mutex_unlock(&p->mu);
            return -1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void pool_give(struct nw_enclave_pool *p, size_t ep, unsigned cn, int fd, int endpoint_down)
{
    pthread_mutex_lock(&p->mu);
    p->eps[ep].conns[cn].fd = fd;
    p->eps[ep].conns[cn].busy = 0;
    if (endpoint_down)
        p->eps[ep].up = 0;
    else if (fd >= 0)
        p->eps[ep].up = 1; /* a connection is open: it answered */
    if (endpoint_down) p->eps[ep].down_until_ms = nw_clock_ms() + POOL_BACKOFF_MS;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* 1 if some endpoint not in `tried` is not in back-off. */
static int pool_has_untried(struct nw_enclave_pool *p, const unsigned char *tried)
{
    int any = 0;
    pthread_mutex_lock(&p->mu);
    long long t = nw_clock_ms();
    for (size_t i = 0; i < p->n_eps && !any; i++)
        any = !tried[i] && p->eps[i].down_until_ms <= t;
    pthread_mutex_unlock(&p->mu);
    return any;
}

/* The request frame text, with this call's AWS credentials when asked for. */
static enum nw_err build_frame(struct nw_enclave_pool *p, const char *op, const cJSON *params, int with_creds,
                               unsigned long long id, char **text, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct nw_host_credentials creds;
    struct nw_proto_credentials pc;
    memset(&creds, 0, sizeof(creds));
    *text = NULL;
    if (!with_creds) return nw_proto_request_build(text, id, op, params, NULL, err);
    if (!p->has_creds) return nw_fail(err, NW_ERR_INTERNAL, "no AWS credentials configured");
    NW_GUARD(p->creds.get(p->creds.ctx, &creds, err));
    pc = (struct nw_proto_credentials){.access_key_id = creds.access_key_id,
                                       .secret_access_key = creds.secret_access_key,
                                       .session_token = creds.session_token};
    rc = nw_proto_request_build(text, id, op, params, &pc, err);
out:
    nw_host_credentials_wipe(&creds);
    return rc;
}

/* One exchange on a connection; *io_failed tells a transport failure apart,
 * *busy an enclave whose queue is full. */
static enum nw_err exchange(int *fd, const char *spec, int timeout_ms, const char *frame, unsigned long long id,
                            cJSON **result, int *io_failed, int *busy, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct nw_buf reply;
    int eof = 0;
    nw_buf_init(&reply, NW_PROTO_MAX_FRAME);
    *io_failed = 1;
    *busy = 0;
    if (*fd < 0) NW_GUARD(nw_transport_connect_timeout(fd, spec, timeout_ms, err));
    NW_GUARD(nw_proto_frame_write(*fd, (const uint8_t *)frame, strlen(frame), err));
    NW_GUARD(nw_proto_frame_read(*fd, &reply, &eof, err));
    *io_failed = 0;
    NW_GUARD(nw_proto_reply_parse(reply.data, reply.len, id, result, busy, err));
out:
    nw_buf_free(&reply);
    return rc;
}

/*
 * Background health checks.  Every probe_ms each endpoint gets a `health`
 * call on a short-lived connection of its own (never a pooled one, so a
 * probe neither waits behind signing work nor takes a connection from it).
 * A probe that connects and is answered (even BUSY) marks the endpoint up
 * and ends its back-off at once: recovery does not wait for a client
 * request to find it.  A probe that cannot connect (the process is gone)
 * marks it down until a probe reaches it again, so calls skip it instead of each one
 * discovering the failure.  A slow answer changes nothing: a loaded enclave
 * is not a dead one.
 */
static unsigned long long count_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e18 ? (unsigned long long)v->valuedouble : 0;
}

/* The counters a health reply carries (docs/protocol.md); absent ones are 0. */
static void read_health(struct nw_enclave_endpoint_stats *h, const cJSON *res)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(res, "kms"),
                *c = cJSON_GetObjectItemCaseSensitive(res, "data_key_cache");
    h->reported = 1;
    h->kms_generate_data_key = count_of(k, "generate_data_key");
    h->kms_decrypt = count_of(k, "decrypt");
    h->kms_failures = count_of(k, "failures");
    h->cache_hits = count_of(c, "hits");
    h->cache_misses = count_of(c, "misses");
    h->cache_entries = count_of(c, "entries");
}

static void probe_endpoint(struct nw_enclave_pool *p, size_t i)
{
    struct nw_error e = {0};
    cJSON *res = NULL, *params = cJSON_CreateObject();
    char *frame = NULL;
    int fd = -1, io_failed = 0, busy = 0, connected;
    enum nw_err rc;

    pthread_mutex_lock(&p->mu);
    unsigned long long id = ++p->next_id;
    pthread_mutex_unlock(&p->mu);
    rc = params ? nw_proto_request_build(&frame, id, NW_OP_HEALTH, params, NULL, &e) : NW_ERR_NOMEM;
    cJSON_Delete(params);
    if (rc != NW_OK) {
        pthread_mutex_lock(&p->mu);
        p->stats.probes++;
        p->stats.probe_failures++;
        pthread_mutex_unlock(&p->mu);
        return;
    }
    connected = nw_transport_connect_timeout(&fd, p->eps[i].spec, POOL_PROBE_TIMEOUT_MS, &e) == NW_OK;
    rc = connected ? exchange(&fd, p->eps[i].spec, POOL_PROBE_TIMEOUT_MS, frame, id, &res, &io_failed, &busy, &e)
                   : NW_ERR_UNAVAILABLE;
    if (fd >= 0) close(fd);
    pthread_mutex_lock(&p->mu);
    p->stats.probes++;
    if (!connected) {
        p->stats.probe_failures++;
        p->eps[i].up = 0;
        p->eps[i].down_until_ms = LLONG_MAX; /* until a probe reaches it again */
    } else if (rc == NW_OK || busy) {
        if (rc == NW_OK)
            read_health(&p->eps[i].health, res);
        p->eps[i].up = 1;
        p->eps[i].down_until_ms = 0;
        pthread_cond_broadcast(&p->cv); /* callers waiting for a usable endpoint */
    } else {
        p->stats.probe_failures++;
    }
    pthread_mutex_unlock(&p->mu);
    cJSON_Delete(res);
    nw_proto_text_free(frame);
}

static void *prober_main(void *arg)
{
    struct nw_enclave_pool *p = arg;
    struct timespec until;

    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        nw_clock_deadline(&until, p->probe_ms);
        while (!p->stopping && !p->probe_now && pthread_cond_timedwait(&p->probe_cv, &p->mu, &until) == 0) {
        }
        if (p->stopping) break;
        p->probe_now = 0;
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < p->n_eps; i++)
            probe_endpoint(p, i);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int nw_enclave_pool_wait_ready(struct nw_enclave_pool *p, int wait_ms)
{
    struct timespec until;
    int ready;

    nw_clock_deadline(&until, wait_ms);
    pthread_mutex_lock(&p->mu);
    if (endpoints_up(p) == 0 && p->prober_running) {
        p->probe_now = 1;
        pthread_cond_signal(&p->probe_cv);
        while (endpoints_up(p) == 0 && pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT) {
        }
    }
    ready = endpoints_up(p) > 0;
    pthread_mutex_unlock(&p->mu);
    return ready;
}

enum nw_err nw_enclave_pool_call(struct nw_enclave_pool *p, const char *op, const cJSON *params, int with_credentials,
                                 cJSON **result, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    char *frame = NULL;
    unsigned char tried[NW_POOL_MAX_ENDPOINTS] = {0};
    size_t ep = 0;
    unsigned cn = 0;
    *result = NULL;
    pthread_mutex_lock(&p->mu);
    unsigned long long id = ++p->next_id;
    p->stats.calls++;
    pthread_mutex_unlock(&p->mu);
    NW_GUARD(build_frame(p, op, params, with_credentials, id, &frame, err));
    for (int attempt = 0;; attempt++) {
        int took = pool_take(p, tried, &ep, &cn);
        if (took < 0) {
            rc = nw_fail(err, NW_ERR_UNAVAILABLE, "every enclave connection stayed busy for %d ms; retry later",
                         p->wait_ms);
            break;
        }
        if (took == 0) {
            rc = nw_fail(err, NW_ERR_UNAVAILABLE, "no healthy enclave");
            break;
        }
        int fd = p->eps[ep].conns[cn].fd, reused = fd >= 0, io_failed = 0, busy = 0;
        rc = exchange(&fd, p->eps[ep].spec, p->timeout_ms, frame, id, result, &io_failed, &busy, err);
        if (busy) {
            /* full queue: another enclave may have room; this one is healthy */
            pool_give(p, ep, cn, fd, 0);
            tried[ep] = 1;
            if (!pool_has_untried(p, tried)) {
                rc = nw_fail(err, NW_ERR_UNAVAILABLE, "every enclave is busy (queue full); retry later");
                break;
            }
            pthread_mutex_lock(&p->mu);
            p->stats.busy_retries++;
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        if (rc == NW_OK || !io_failed) {
            pool_give(p, ep, cn, fd, 0);
            break;
        }
        if (fd >= 0) close(fd);
        /* a stale persistent connection gets one fresh retry on the same endpoint */
        if (!reused) tried[ep] = 1;
        pool_give(p, ep, cn, -1, !reused);
        pthread_mutex_lock(&p->mu);
        p->stats.failovers++;
        pthread_mutex_unlock(&p->mu);
    }
out:
    nw_proto_text_free(frame);
    if (rc != NW_OK) {
        pthread_mutex_lock(&p->mu);
        p->stats.failures++;
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}
