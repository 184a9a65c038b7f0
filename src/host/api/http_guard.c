/*
 * http_guard.c - what a client can make the HTTP server hold (issue 11,
 * point 3; docs/host-api.md "Connection limits").
 *
 * libmicrohttpd's own idle timeout is reset by every byte, so a client
 * sending one header byte a second (slow loris) or never finishing its TLS
 * handshake keeps its connection forever.  Here every connection carries a
 * deadline by which the current request's TLS handshake, headers and body
 * must all have arrived: request_timeout from the accept for the first
 * request, and from the end of the previous response (plus the keep-alive
 * idle allowance) for later ones.  While a request is being answered the
 * deadline is off (the enclave call has its own bounds).  A reaper thread
 * shuts down (shutdown(2), both ways) every connection past its deadline;
 * libmicrohttpd then sees the socket end and closes it.
 *
 * The reaper shuts down a dup(2) of the connection's socket taken when the
 * connection opened, so a descriptor number the server has already closed
 * and reused for a new client can never be hit by mistake.
 *
 * Trust boundary: network-facing; counts only, no request content.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "nitrowallet/clock.h"

#define REAP_INTERVAL_MS 100

struct api_conn {
    struct api_conn *prev, *next;
    int fd;               /* our dup of the socket */
    long long deadline;   /* monotonic ms; 0 = no deadline (being answered, or already shut) */
};

struct api_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct api_conn head; /* circular list of open connections */
    pthread_t thread;
    int started, stopping;
    long long request_ms, keepalive_ms;
    unsigned long long open, reaped;
};


static void *reaper(void *arg)
{
    struct api_guard *g = arg;

    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        struct timespec until;
        long long now = nw_clock_ms();
        for (struct api_conn *c = g->head.next; c != &g->head; c = c->next) {
            if (c->deadline != 0 && now > c->deadline) {
                shutdown(c->fd, SHUT_RDWR);
                c->deadline = 0;
                g->reaped++;
            }
        }
        nw_clock_deadline(&until, REAP_INTERVAL_MS);
        pthread_cond_timedwait(&g->cv, &g->mu, &until);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

struct api_guard *api_guard_new(unsigned request_timeout_s, unsigned keepalive_s)
{
    struct api_guard *g = calloc(1, sizeof *g);
    pthread_condattr_t ca;

    if (g == NULL)
        return NULL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    g->head.next = g->head.prev = &g->head;
    g->request_ms = (long long)request_timeout_s * 1000;
    g->keepalive_ms = (long long)keepalive_s * 1000;
    if (pthread_create(&g->thread, NULL, reaper, g) != 0) {
        api_guard_free(g);
        return NULL;
    }
    g->started = 1;
    return g;
}

void api_guard_free(struct api_guard *g)
{
    if (g == NULL)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stopping = 1;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    /* the daemon is stopped first: every connection was closed and unlinked */
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void api_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    struct nw_host *h = cls;
    struct api_guard *g = h->guard;
    struct api_conn *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = calloc(1, sizeof *c);
        if (c == NULL || ci == NULL || (c->fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
            /* cannot guard it: end it now rather than let it be held without bound */
            if (ci != NULL)
                shutdown(ci->connect_fd, SHUT_RDWR);
            free(c);
            *socket_context = NULL;
            return;
        }
        pthread_mutex_lock(&g->mu);
        c->deadline = nw_clock_ms() + g->request_ms;
        c->next = g->head.next;
        c->prev = &g->head;
        g->head.next->prev = c;
        g->head.next = c;
        g->open++;
        pthread_mutex_unlock(&g->mu);
        *socket_context = c;
        return;
    }
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->mu); /* MHD_CONNECTION_NOTIFY_CLOSED */
    c->prev->next = c->next;
    c->next->prev = c->prev;
    g->open--;
    pthread_mutex_unlock(&g->mu);
    close(c->fd);
    free(c);
    *socket_context = NULL;
}

static struct api_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

int api_guard_expired(struct nw_host *h, struct MHD_Connection *conn)
{
    struct api_conn *c = conn_of(conn);
    int expired;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&h->guard->mu);
    expired = c->deadline != 0 && nw_clock_ms() > c->deadline;
    pthread_mutex_unlock(&h->guard->mu);
    return expired;
}

void api_guard_answering(struct nw_host *h, struct MHD_Connection *conn)
{
    struct api_conn *c = conn_of(conn);

    if (c == NULL)
        return;
    pthread_mutex_lock(&h->guard->mu);
    c->deadline = 0;
    pthread_mutex_unlock(&h->guard->mu);
}

void api_guard_answered(struct nw_host *h, struct MHD_Connection *conn)
{
    struct api_conn *c = conn_of(conn);

    if (c == NULL)
        return;
    pthread_mutex_lock(&h->guard->mu);
    c->deadline = nw_clock_ms() + h->guard->keepalive_ms + h->guard->request_ms;
    pthread_mutex_unlock(&h->guard->mu);
}

void api_guard_stats(struct api_guard *g, unsigned long long *open, unsigned long long *reaped)
{
    pthread_mutex_lock(&g->mu);
    *open = g->open;
    *reaped = g->reaped;
    pthread_mutex_unlock(&g->mu);
}
