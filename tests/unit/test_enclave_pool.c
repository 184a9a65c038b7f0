/*
 * test_enclave_pool.c - the host's enclave pool (enclave_pool.h) against
 * fake enclaves on unix sockets that speak the framed protocol of
 * docs/protocol.md: replies and error mapping, credentials added only when
 * asked (and taken from the environment), failover when an endpoint dies,
 * recovery when it comes back, "no healthy enclave" when none answers, and
 * the receive timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nitrowallet/proto.h"
#include "nitrowallet/enclave_pool.h"

#define MAX_CONNS 64

struct fake {
    int index;
    char path[108];
    char spec[120];
    int lfd;
    volatile int stop;
    volatile int all_busy; /* answer every request BUSY (a full queue) */
    pthread_t acceptor;
    pthread_t conns[MAX_CONNS];
    int fds[MAX_CONNS];
    int n_conns;
    pthread_mutex_t mu;
    char last[8192]; /* last request frame */
};

struct conn_arg {
    struct fake *f;
    int fd;
};

static void reply(int fd, const char *text)
{
    struct nw_error err;
    /* the client may be gone (timeout test): a failed write just ends this connection */
    if (nw_proto_frame_write(fd, (const uint8_t *)text, strlen(text), &err) != NW_OK) shutdown(fd, SHUT_RDWR);
}

static void *serve_conn(void *arg)
{
    struct conn_arg *ca = arg;
    struct fake *f = ca->f;
    int fd = ca->fd;
    free(ca);
    struct nw_buf b;
    nw_buf_init(&b, NW_PROTO_MAX_FRAME);
    for (;;) {
        int eof = 0;
        struct nw_error err;
        if (nw_proto_frame_read(fd, &b, &eof, &err) != NW_OK) break;
        char text[8192];
        snprintf(text, sizeof(text), "%.*s", (int)b.len, (const char *)b.data);
        pthread_mutex_lock(&f->mu);
        snprintf(f->last, sizeof(f->last), "%s", text);
        pthread_mutex_unlock(&f->mu);
        cJSON *req = cJSON_Parse(text);
        const cJSON *id = cJSON_GetObjectItem(req, "id"), *op = cJSON_GetObjectItem(req, "op");
        char out[512];
        long long idv = (long long)id->valuedouble;
        if (f->all_busy)
            snprintf(out, sizeof(out), "{\"id\":%lld,\"error\":{\"code\":\"BUSY\",\"message\":\"queue full\"}}", idv);
        else if (strcmp(op->valuestring, "fail") == 0)
            snprintf(out, sizeof(out), "{\"id\":%lld,\"error\":{\"code\":\"POLICY_DENIED\",\"message\":\"nope\"}}", idv);
        else if (strcmp(op->valuestring, "busy") == 0)
            snprintf(out, sizeof(out), "{\"id\":%lld,\"error\":{\"code\":\"BUSY\",\"message\":\"queue full\"}}", idv);
        else if (strcmp(op->valuestring, "unreadable") == 0)
            snprintf(out, sizeof(out), "{\"id\":null,\"error\":{\"code\":\"BAD_REQUEST\",\"message\":\"request: bad\"}}");
        else if (strcmp(op->valuestring, "wrongid") == 0)
            snprintf(out, sizeof(out), "{\"id\":%lld,\"result\":{}}", idv + 1);
        else {
            if (strcmp(op->valuestring, "hang") == 0) usleep(600 * 1000);
            snprintf(out, sizeof(out), "{\"id\":%lld,\"result\":{\"endpoint\":%d}}", idv, f->index);
        }
        cJSON_Delete(req);
        reply(fd, out);
    }
    nw_buf_free(&b);
    return NULL;
}

static void *acceptor(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0 || f->stop) {
            if (fd >= 0) close(fd);
            break;
        }
        pthread_mutex_lock(&f->mu);
        if (f->n_conns == MAX_CONNS) {
            pthread_mutex_unlock(&f->mu);
            close(fd);
            continue;
        }
        struct conn_arg *ca = malloc(sizeof(*ca));
        ca->f = f;
        ca->fd = fd;
        f->fds[f->n_conns] = fd;
        pthread_create(&f->conns[f->n_conns++], NULL, serve_conn, ca);
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

static void fake_start(struct fake *f)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    f->stop = 0;
    f->n_conns = 0;
    pthread_mutex_init(&f->mu, NULL);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    unlink(f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    pthread_create(&f->acceptor, NULL, acceptor, f);
}

static void fake_stop(struct fake *f)
{
    f->stop = 1;
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->acceptor, NULL);
    close(f->lfd);
    unlink(f->path);
    for (int i = 0; i < f->n_conns; i++) shutdown(f->fds[i], SHUT_RDWR);
    for (int i = 0; i < f->n_conns; i++) {
        pthread_join(f->conns[i], NULL);
        close(f->fds[i]);
    }
    pthread_mutex_destroy(&f->mu);
}

struct fixture {
    char dir[64];
    struct fake fakes[2];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/nw-pool-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    for (int i = 0; i < 2; i++) {
        char path[108];
        struct fake *f = &fx->fakes[i];
        f->index = i + 1;
        snprintf(path, sizeof(path), "%s/e%d.sock", fx->dir, i + 1);
        memcpy(f->path, path, sizeof(path));
        snprintf(f->spec, sizeof(f->spec), "unix:%s", path);
        fake_start(f);
    }
    setenv("AWS_ACCESS_KEY_ID", "AKIDPOOLTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "pool-secret-value", 1);
    unsetenv("AWS_SESSION_TOKEN");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    for (int i = 0; i < 2; i++)
        if (!fx->fakes[i].stop) fake_stop(&fx->fakes[i]);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static struct nw_enclave_pool *open_pool_probing(struct fixture *fx, size_t n, int timeout_ms, int probe_ms)
{
    const char *specs[2] = {fx->fakes[0].spec, fx->fakes[1].spec};
    struct nw_enclave_pool_config cfg = {.endpoints = specs, .n_endpoints = n, .connections = 2,
                                         .timeout_ms = timeout_ms, .credentials = &nw_credentials_env,
                                         .probe_interval_ms = probe_ms};
    struct nw_enclave_pool *p = NULL;
    struct nw_error err;
    assert_int_equal(nw_enclave_pool_open(&p, &cfg, &err), NW_OK);
    return p;
}

/* Without background probes: the tests below count connections and calls. */
static struct nw_enclave_pool *open_pool(struct fixture *fx, size_t n, int timeout_ms)
{
    return open_pool_probing(fx, n, timeout_ms, -1);
}

/* Call `op`; return the reply's endpoint number, or -(error code). */
static int call(struct nw_enclave_pool *p, const char *op, int creds, struct nw_error *err)
{
    cJSON *params = cJSON_CreateObject(), *res = NULL;
    cJSON_AddStringToObject(params, "x", "y");
    enum nw_err rc = nw_enclave_pool_call(p, op, params, creds, &res, err);
    cJSON_Delete(params);
    if (rc != NW_OK) return -(int)rc;
    int ep = (int)cJSON_GetObjectItem(res, "endpoint")->valuedouble;
    cJSON_Delete(res);
    return ep;
}

static void test_reply_and_credentials(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool(fx, 1, 0);
    struct nw_error err;
    assert_int_equal(call(p, "health", 0, &err), 1);
    assert_null(strstr(fx->fakes[0].last, "credentials"));
    assert_non_null(strstr(fx->fakes[0].last, "\"params\":{\"x\":\"y\"}"));
    assert_int_equal(call(p, "sign_message", 1, &err), 1);
    assert_non_null(strstr(fx->fakes[0].last, "\"access_key_id\":\"AKIDPOOLTEST\""));
    assert_non_null(strstr(fx->fakes[0].last, "\"secret_access_key\":\"pool-secret-value\""));
    assert_null(strstr(fx->fakes[0].last, "session_token"));
    /* persistent: both calls went over one connection */
    assert_int_equal(fx->fakes[0].n_conns, 1);
    nw_enclave_pool_close(p);
}

static void test_errors_mapped(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool(fx, 1, 0);
    struct nw_error err;
    assert_int_equal(call(p, "fail", 0, &err), -NW_ERR_POLICY_DENIED);
    assert_string_equal(err.msg, "nope");
    assert_int_equal(call(p, "busy", 0, &err), -NW_ERR_UNAVAILABLE);
    assert_int_equal(call(p, "wrongid", 0, &err), -NW_ERR_INTERNAL);
    assert_string_equal(err.msg, "enclave reply id does not match");
    assert_int_equal(call(p, "unreadable", 0, &err), -NW_ERR_INTERNAL);
    assert_string_equal(err.msg, "the enclave could not read the request: BAD_REQUEST: request: bad");
    assert_int_equal(call(p, "health", 0, &err), 1);
    nw_enclave_pool_close(p);
}

static void test_missing_credentials_refused(void **state)
{
    (void)state;
    const char *spec = "unix:/nonexistent/e.sock";
    struct nw_enclave_pool_config cfg = {.endpoints = &spec, .n_endpoints = 1, .credentials = &nw_credentials_env};
    struct nw_enclave_pool *p = NULL;
    struct nw_error err;
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(nw_enclave_pool_open(&p, &cfg, &err), NW_ERR_BAD_REQUEST);
    assert_null(p);
    assert_string_equal(err.msg, "AWS_SECRET_ACCESS_KEY is not set");
}

static void test_no_healthy_enclave(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool(fx, 2, 0);
    struct nw_error err;
    fake_stop(&fx->fakes[0]);
    fake_stop(&fx->fakes[1]);
    assert_int_equal(call(p, "health", 0, &err), -NW_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "no healthy enclave");
    nw_enclave_pool_close(p);
}

static void test_failover_and_recovery(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool(fx, 2, 0);
    struct nw_error err;
    int seen[3] = {0};
    for (int i = 0; i < 4; i++) seen[call(p, "health", 0, &err)]++;
    assert_true(seen[1] > 0 && seen[2] > 0); /* both used */
    fake_stop(&fx->fakes[0]);
    for (int i = 0; i < 6; i++) assert_int_equal(call(p, "health", 1, &err), 2);
    fake_start(&fx->fakes[0]);
    usleep(700 * 1000); /* past the back-off */
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 6; i++) seen[call(p, "health", 0, &err)]++;
    assert_true(seen[1] > 0 && seen[2] > 0);
    struct nw_enclave_pool_stats st;
    nw_enclave_pool_stats(p, &st);
    assert_true(st.failovers >= 1);
    assert_int_equal(st.failures, 0);
    nw_enclave_pool_close(p);
}

/* An enclave whose queue is full answers BUSY: the call moves to another
 * one; when every enclave is busy the caller gets 503 and says so. */
static void test_busy_moves_to_another(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool(fx, 2, 0);
    struct nw_enclave_pool_stats st;
    struct nw_error err;
    fx->fakes[0].all_busy = 1;
    for (int i = 0; i < 6; i++) assert_int_equal(call(p, "sign_message", 1, &err), 2);
    nw_enclave_pool_stats(p, &st);
    assert_true(st.busy_retries >= 1); /* round robin sent some to the busy one first */
    assert_int_equal(st.failures, 0);
    fx->fakes[1].all_busy = 1;
    assert_int_equal(call(p, "sign_message", 1, &err), -NW_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "every enclave is busy (queue full); retry later");
    fx->fakes[0].all_busy = fx->fakes[1].all_busy = 0;
    assert_true(call(p, "health", 0, &err) > 0);
    nw_enclave_pool_close(p);
}

static int wait_up(struct nw_enclave_pool *p, size_t want)
{
    struct nw_enclave_pool_stats st;
    for (int i = 0; i < 100; i++) {
        nw_enclave_pool_stats(p, &st);
        if (st.endpoints_up == want) return 1;
        usleep(20 * 1000);
    }
    return 0;
}

/* Background health checks: a dead endpoint is skipped before any call
 * trips over it, and a recovered one is used again without a back-off. */
static void test_probes_mark_down_and_up(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool_probing(fx, 2, 0, 50);
    struct nw_enclave_pool_stats before, after;
    struct nw_error err;
    int seen[3] = {0};
    assert_true(wait_up(p, 2));
    fake_stop(&fx->fakes[0]);
    assert_true(wait_up(p, 1));
    nw_enclave_pool_stats(p, &before);
    assert_true(before.probe_failures >= 1);
    for (int i = 0; i < 6; i++) assert_int_equal(call(p, "health", 0, &err), 2);
    nw_enclave_pool_stats(p, &after);
    assert_int_equal(after.failovers, before.failovers); /* no call had to discover it */
    fake_start(&fx->fakes[0]);
    assert_true(wait_up(p, 2));
    for (int i = 0; i < 6; i++) seen[call(p, "health", 0, &err)]++;
    assert_true(seen[1] > 0 && seen[2] > 0);
    nw_enclave_pool_close(p);
}

static void test_timeout(void **state)
{
    struct fixture *fx = *state;
    struct nw_enclave_pool *p = open_pool(fx, 1, 200);
    struct nw_error err;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(call(p, "hang", 0, &err), -NW_ERR_UNAVAILABLE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms < 550);
    nw_enclave_pool_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_and_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_credentials_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_healthy_enclave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_moves_to_another, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probes_mark_down_and_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
