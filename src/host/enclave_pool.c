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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nitrowallet/enclave.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/transport.h"

#define POOL_BACKOFF_MS 500

struct pool_conn {
    int fd;   /* -1 when closed */
    int busy;
};

struct pool_endpoint {
    char spec[NW_TRANSPORT_SPEC_MAX + 1];
    long long down_until_ms; /* skipped until then after a failed connect */
    struct pool_conn *conns;
};

struct nw_enclave_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pool_endpoint *eps;
    size_t n_eps;
    unsigned n_conns;
    int timeout_ms;
    int has_creds;
    struct nw_credentials_provider creds; /* asked for every frame that carries credentials */
    unsigned long long next_id;
    size_t rr;
    struct nw_enclave_pool_stats stats;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
    pthread_cond_init(&p->cv, NULL);
    p->n_conns = n;
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : NW_POOL_DEFAULT_TIMEOUT_MS;
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
    *out = p;
    p = NULL;
out:
    nw_enclave_pool_close(p);
    return rc;
}

void nw_enclave_pool_close(struct nw_enclave_pool *pool)
{
    if (pool == NULL) return;
    for (size_t i = 0; i < pool->n_eps; i++) {
        for (unsigned j = 0; j < pool->n_conns; j++)
            if (pool->eps[i].conns[j].fd >= 0) close(pool->eps[i].conns[j].fd);
        free(pool->eps[i].conns);
    }
    free(pool->eps);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

void nw_enclave_pool_stats(struct nw_enclave_pool *pool, struct nw_enclave_pool_stats *out)
{
    pthread_mutex_lock(&pool->mu);
    *out = pool->stats;
    pthread_mutex_unlock(&pool->mu);
}

/* Take a free connection on an endpoint not in back-off and not in `tried`.
 * Waits while every usable endpoint is fully busy.  0 when none is usable. */
static int pool_take(struct nw_enclave_pool *p, const unsigned char *tried, size_t *ep, unsigned *cn)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        int usable = 0;
        long long t = now_ms();
        for (size_t k = 0; k < p->n_eps; k++) {
            size_t i = (p->rr + k) % p->n_eps;
            if (tried[i] || p->eps[i].down_until_ms > t) continue;
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
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void pool_give(struct nw_enclave_pool *p, size_t ep, unsigned cn, int fd, int endpoint_down)
{
    pthread_mutex_lock(&p->mu);
    p->eps[ep].conns[cn].fd = fd;
    p->eps[ep].conns[cn].busy = 0;
    if (endpoint_down) p->eps[ep].down_until_ms = now_ms() + POOL_BACKOFF_MS;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The request frame text: {"v":1,"id":N,"op":op,"params":params+credentials}. */
static enum nw_err build_frame(struct nw_enclave_pool *p, const char *op, const cJSON *params, int with_creds,
                               unsigned long long id, char **text, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct nw_host_credentials creds;
    cJSON *req = cJSON_CreateObject();
    cJSON *prm = cJSON_Duplicate(params, 1);
    memset(&creds, 0, sizeof(creds));
    if (req == NULL || prm == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "enclave request"));
    cJSON_AddNumberToObject(req, "v", 1);
    cJSON_AddNumberToObject(req, "id", (double)id);
    cJSON_AddStringToObject(req, "op", op);
    if (with_creds) {
        if (!p->has_creds) NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "no AWS credentials configured"));
        NW_GUARD(p->creds.get(p->creds.ctx, &creds, err));
        cJSON *c = cJSON_AddObjectToObject(prm, "credentials");
        if (c == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "credentials"));
        cJSON_AddStringToObject(c, "access_key_id", creds.access_key_id);
        cJSON_AddStringToObject(c, "secret_access_key", creds.secret_access_key);
        if (creds.session_token[0] != '\0')
            cJSON_AddStringToObject(c, "session_token", creds.session_token);
    }
    cJSON_AddItemToObject(req, "params", prm);
    prm = NULL;
    *text = cJSON_PrintUnformatted(req);
    if (*text == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "enclave request"));
out:
    nw_host_credentials_wipe(&creds);
    /* wipe the credential copies inside the tree before freeing it */
    if (req != NULL) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "params"), "credentials");
        for (cJSON *it = c ? c->child : NULL; it != NULL; it = it->next)
            if (cJSON_IsString(it)) nw_wipe(it->valuestring, strlen(it->valuestring));
    }
    cJSON_Delete(req);
    cJSON_Delete(prm);
    return rc;
}

static enum nw_err map_code(const char *code)
{
    for (int c = NW_ERR_BAD_REQUEST; c <= NW_ERR_UNAVAILABLE; c++)
        if (strcmp(code, nw_err_name((enum nw_err)c)) == 0) return (enum nw_err)c;
    if (strcmp(code, NW_ENCLAVE_BUSY) == 0) return NW_ERR_UNAVAILABLE;
    return NW_ERR_INTERNAL;
}

/* Parse a reply frame: {"id":..,"result":{..}} or {"id":..,"error":{code,message}}. */
static enum nw_err parse_reply(const struct nw_buf *b, unsigned long long id, cJSON **result, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    cJSON *root = NULL;
    NW_GUARD(nw_json_parse(&root, (const char *)b->data, b->len, NW_ENCLAVE_MAX_FRAME, err));
    const cJSON *rid = nw_json_get(root, "id");
    if (!cJSON_IsNumber(rid) || rid->valuedouble != (double)id)
        NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "enclave reply id does not match"));
    const cJSON *e = nw_json_get(root, "error");
    if (e != NULL) {
        const cJSON *code = nw_json_get(e, "code"), *msg = nw_json_get(e, "message");
        if (!cJSON_IsString(code) || !cJSON_IsString(msg))
            NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "malformed enclave error reply"));
        NW_GUARD(nw_fail(err, map_code(code->valuestring), "%s", msg->valuestring));
    }
    cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
    if (!cJSON_IsObject(r)) {
        cJSON_Delete(r);
        NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "enclave reply without result"));
    }
    *result = r;
out:
    cJSON_Delete(root);
    return rc;
}

/* One exchange on a connection; *io_failed tells a transport failure apart. */
static enum nw_err exchange(struct nw_enclave_pool *p, int *fd, const char *spec, const char *frame,
                            unsigned long long id, cJSON **result, int *io_failed, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct nw_buf reply;
    int eof = 0;
    nw_buf_init(&reply, NW_ENCLAVE_MAX_FRAME);
    *io_failed = 1;
    if (*fd < 0) NW_GUARD(nw_transport_connect_timeout(fd, spec, p->timeout_ms, err));
    NW_GUARD(nw_enclave_frame_write(*fd, (const uint8_t *)frame, strlen(frame), err));
    NW_GUARD(nw_enclave_frame_read(*fd, &reply, &eof, err));
    *io_failed = 0;
    NW_GUARD(parse_reply(&reply, id, result, err));
out:
    nw_buf_free(&reply);
    return rc;
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
        if (!pool_take(p, tried, &ep, &cn)) {
            rc = nw_fail(err, NW_ERR_UNAVAILABLE, "no healthy enclave");
            break;
        }
        int fd = p->eps[ep].conns[cn].fd, reused = fd >= 0, io_failed = 0;
        rc = exchange(p, &fd, p->eps[ep].spec, frame, id, result, &io_failed, err);
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
    if (frame != NULL) {
        nw_wipe(frame, strlen(frame));
        free(frame);
    }
    if (rc != NW_OK) {
        pthread_mutex_lock(&p->mu);
        p->stats.failures++;
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}
