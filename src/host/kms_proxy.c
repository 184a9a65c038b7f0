/*
 * kms_proxy.c - the host's byte forwarder from the enclave to KMS
 * (kms_proxy.h, docs/operations.md "KMS proxy and vsock").
 *
 * One acceptor thread polls the listening socket and a stop pipe; each
 * admitted connection gets a detached thread (at most max_connections of
 * them: one more connection is closed at once and counted) that connects to
 * the remote and then relays both directions with one poll loop over
 * non-blocking sockets and a 16 KiB buffer per direction.  EOF from one side
 * is propagated as shutdown(SHUT_WR) to the other once its buffer is
 * drained; the pair closes when both directions are done, on an error, when
 * no byte moved for the idle timeout, or when the proxy stops (the stop
 * pipe stays readable, so every thread sees it).
 *
 * Trust boundary: host side, between the enclave (or whatever can reach
 * the listening socket) and the network.  Bytes are never interpreted: TLS
 * runs end to end between the enclave and KMS.
 */
#include "nitrowallet/kms_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nitrowallet/clock.h"
#include "nitrowallet/transport.h"

#define RELAY_BUF 16384
#define HOST_NAME_MAX_LEN 253
#define ACCEPT_BACKOFF_MS 100

struct nw_kms_proxy {
    int lfd;
    int stop[2]; /* pipe: a byte written to stop[1] stops every thread */
    pthread_t acceptor;
    char connect_spec[4 + NW_KMS_PROXY_HOSTPORT_MAX + 1]; /* "tcp:" + remote */
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned max_connections, idle_ms, connect_ms, port;
    pthread_mutex_t mu;
    pthread_cond_t idle_cv; /* signalled when a connection thread ends */
    struct nw_kms_proxy_stats st;
};

struct direction {
    int from, to;
    size_t off, len;
    int eof, done;
    unsigned long long *counter; /* in the proxy's stats, under mu */
    char buf[RELAY_BUF];
};

struct conn {
    struct nw_kms_proxy *p;
    int cfd;
    struct direction d[2]; /* 0: client -> remote, 1: remote -> client */
};

/* --- configuration ------------------------------------------------------ */

static int port_ok(const char *s)
{
    size_t n = strlen(s), i;
    unsigned long v = 0;

    if (n == 0 || n > 5 || s[0] == '0')
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

static int chars_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(extra, c)))
            return 0;
    }
    return 1;
}

enum nw_err nw_kms_proxy_check_hostport(const char *hp, struct nw_error *err)
{
    const char *colon;
    size_t hlen;

    if (hp == NULL || strnlen(hp, NW_KMS_PROXY_HOSTPORT_MAX + 1) > NW_KMS_PROXY_HOSTPORT_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: missing or overlong HOST:PORT");
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':' || (hlen = (size_t)(close - hp - 1)) < 2 || hlen > 45 ||
            !chars_ok(hp + 1, hlen, ":.") || !port_ok(close + 2))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: expected [IPV6]:PORT, got \"%.64s\"", hp);
        return NW_OK;
    }
    colon = strrchr(hp, ':');
    if (colon == NULL || (hlen = (size_t)(colon - hp)) == 0 || hlen > HOST_NAME_MAX_LEN ||
        !chars_ok(hp, hlen, ".-") || !port_ok(colon + 1))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: expected HOST:PORT (port 1..65535), got \"%.64s\"", hp);
    return NW_OK;
}

enum nw_err nw_kms_proxy_split_arg(char *listen, size_t listen_cap, char *remote, size_t remote_cap,
                                   const char *arg, struct nw_error *err)
{
    const char *eq = arg ? strrchr(arg, '=') : NULL;
    size_t llen = arg == NULL ? 0 : eq ? (size_t)(eq - arg) : strlen(arg);
    size_t rlen = eq ? strlen(eq + 1) : 0;

    if (arg == NULL || llen == 0 || llen >= listen_cap || rlen >= remote_cap || (eq != NULL && rlen == 0))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: expected LISTEN[=HOST:PORT], e.g. vsock:8000");
    memcpy(listen, arg, llen);
    listen[llen] = '\0';
    memcpy(remote, eq ? eq + 1 : "", rlen);
    remote[rlen] = '\0';
    return NW_OK;
}

int nw_kms_proxy_allowed(const char *remote, const char *const *allow, size_t n_allow)
{
    /* Both sides passed nw_kms_proxy_check_hostport: ports have no leading
     * zeros, so a case-insensitive comparison compares name and port. */
    for (size_t i = 0; i < n_allow; i++)
        if (allow[i] != NULL && strcasecmp(remote, allow[i]) == 0)
            return 1;
    return 0;
}

static enum nw_err check_config(const struct nw_kms_proxy_config *cfg, struct nw_error *err)
{
    enum nw_err rc;

    if (cfg->listen == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: no listen address");
    if ((rc = nw_kms_proxy_check_hostport(cfg->remote, err)) != NW_OK)
        return rc;
    for (size_t i = 0; i < cfg->n_allow; i++) {
        if ((rc = nw_kms_proxy_check_hostport(cfg->allow[i], err)) != NW_OK) {
            nw_error_prefix(err, "allowlist entry %zu", i + 1);
            return rc;
        }
    }
    if (!nw_kms_proxy_allowed(cfg->remote, cfg->allow, cfg->n_allow))
        return nw_fail(err, NW_ERR_POLICY_DENIED,
                       "kms-proxy: remote %.*s is not on the allowlist (add it with --proxy-allow HOST:PORT)", 120,
                       cfg->remote);
    if (cfg->max_connections > NW_KMS_PROXY_LIMIT_CONNECTIONS)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: max connections must be 1..%d",
                       NW_KMS_PROXY_LIMIT_CONNECTIONS);
    return NW_OK;
}

/* --- relaying ----------------------------------------------------------- */


static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static int wants_read(const struct direction *d) { return !d->eof && d->len == 0; }
static int has_data(const struct direction *d) { return d->len > d->off; }

/* Poll events for `fd`: read for the direction leaving it, write for the one
 * entering it.  A descriptor we want nothing from is left out (fd -1) so a
 * POLLHUP on it cannot wake the loop again and again. */
static void poll_entry(struct pollfd *pf, int fd, const struct direction *out_of, const struct direction *into)
{
    pf->events = (short)((wants_read(out_of) ? POLLIN : 0) | (has_data(into) ? POLLOUT : 0));
    pf->fd = pf->events ? fd : -1;
    pf->revents = 0;
}

/* Move what can be moved for one direction; 0 on a socket error. */
static int step(struct nw_kms_proxy *p, struct direction *d, short from_rev, short to_rev, long long *last)
{
    if (wants_read(d) && (from_rev & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(d->from, d->buf, sizeof d->buf);
        if (n > 0) {
            d->off = 0;
            d->len = (size_t)n;
            *last = nw_clock_ms();
            pthread_mutex_lock(&p->mu);
            *d->counter += (unsigned long long)n;
            pthread_mutex_unlock(&p->mu);
        } else if (n == 0) {
            d->eof = 1;
        } else if (errno != EAGAIN && errno != EINTR) {
            return 0;
        }
    }
    if (has_data(d) && (to_rev & (POLLOUT | POLLHUP | POLLERR))) {
        ssize_t w = send(d->to, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
        if (w > 0) {
            d->off += (size_t)w;
            *last = nw_clock_ms();
            if (d->off == d->len)
                d->off = d->len = 0;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return 0;
        }
    }
    if (d->eof && !has_data(d) && !d->done) {
        (void)shutdown(d->to, SHUT_WR); /* the half-close travels on */
        d->done = 1;
    }
    return 1;
}

/* Relay until both directions are done; 1 if it ended by the idle timeout. */
static int relay(struct conn *c, int rfd)
{
    struct nw_kms_proxy *p = c->p;
    struct direction *up = &c->d[0], *down = &c->d[1];
    long long last = nw_clock_ms();

    up->from = c->cfd, up->to = rfd, up->counter = &p->st.bytes_to_remote;
    down->from = rfd, down->to = c->cfd, down->counter = &p->st.bytes_from_remote;
    while (!(up->done && down->done)) {
        struct pollfd pf[3];
        long long left = p->idle_ms - (nw_clock_ms() - last);
        int rc;

        if (left <= 0)
            return 1;
        poll_entry(&pf[0], c->cfd, up, down);
        poll_entry(&pf[1], rfd, down, up);
        pf[2] = (struct pollfd){.fd = p->stop[0], .events = POLLIN};
        rc = poll(pf, 3, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || (pf[2].revents & POLLIN))
            return 0;
        if (rc == 0)
            continue; /* the deadline is checked at the top */
        if (!step(p, up, pf[0].revents, pf[1].revents, &last) || !step(p, down, pf[1].revents, pf[0].revents, &last))
            return 0;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct nw_kms_proxy *p = c->p;
    struct nw_error e = {0};
    int rfd = -1, idle = 0, failed = 0;

    /* DNS is resolved here, per connection, so a changed KMS address is
     * followed without a restart (as vsock-proxy does). */
    if (nw_transport_connect_timeout(&rfd, p->connect_spec, (int)p->connect_ms, &e) != NW_OK)
        failed = 1;
    else if (set_nonblocking(c->cfd) && set_nonblocking(rfd))
        idle = relay(c, rfd);
    if (rfd >= 0)
        close(rfd);
    close(c->cfd);
    free(c);
    pthread_mutex_lock(&p->mu);
    p->st.active--;
    p->st.connect_failures += (unsigned long long)failed;
    p->st.idle_closed += (unsigned long long)idle;
    pthread_cond_broadcast(&p->idle_cv);
    pthread_mutex_unlock(&p->mu); /* p may be freed from here on */
    return NULL;
}

/* --- accepting ---------------------------------------------------------- */

static void admit(struct nw_kms_proxy *p, int cfd)
{
    struct conn *c = NULL;
    pthread_attr_t attr;
    pthread_t t;
    int started = 0;

    pthread_mutex_lock(&p->mu);
    if (p->st.active >= p->max_connections) {
        p->st.refused++;
        pthread_mutex_unlock(&p->mu);
        close(cfd);
        return;
    }
    p->st.active++;
    p->st.connections++;
    pthread_mutex_unlock(&p->mu);
    c = calloc(1, sizeof *c);
    if (c != NULL && pthread_attr_init(&attr) == 0) {
        c->p = p;
        c->cfd = cfd;
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &attr, conn_main, c) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) { /* out of memory or threads: the same as over the bound */
        free(c);
        close(cfd);
        pthread_mutex_lock(&p->mu);
        p->st.active--;
        p->st.connections--;
        p->st.refused++;
        pthread_cond_broadcast(&p->idle_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *accept_main(void *arg)
{
    struct nw_kms_proxy *p = arg;

    for (;;) {
        struct pollfd pf[2] = {{.fd = p->lfd, .events = POLLIN}, {.fd = p->stop[0], .events = POLLIN}};
        int cfd;

        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
        if (pf[1].revents & POLLIN)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd >= 0) {
            admit(p, cfd);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of descriptors: back off instead of spinning on a
             * connection that stays pending. */
            struct pollfd s = {.fd = p->stop[0], .events = POLLIN};
            (void)poll(&s, 1, ACCEPT_BACKOFF_MS);
        }
    }
    return NULL;
}

/* --- life cycle --------------------------------------------------------- */

static void free_proxy(struct nw_kms_proxy *p)
{
    if (p->lfd >= 0)
        close(p->lfd);
    if (p->unix_path[0] != '\0')
        unlink(p->unix_path);
    if (p->stop[0] >= 0)
        close(p->stop[0]);
    if (p->stop[1] >= 0)
        close(p->stop[1]);
    pthread_cond_destroy(&p->idle_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

enum nw_err nw_kms_proxy_start(struct nw_kms_proxy **out, const struct nw_kms_proxy_config *cfg, struct nw_error *err)
{
    struct nw_kms_proxy *p;
    enum nw_err rc = NW_OK;

    *out = NULL;
    if ((rc = check_config(cfg, err)) != NW_OK)
        return rc;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "kms-proxy: out of memory");
    p->lfd = p->stop[0] = p->stop[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle_cv, NULL);
    p->max_connections = cfg->max_connections ? cfg->max_connections : NW_KMS_PROXY_DEFAULT_MAX_CONNECTIONS;
    p->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : NW_KMS_PROXY_DEFAULT_IDLE_MS;
    p->connect_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : NW_KMS_PROXY_DEFAULT_CONNECT_MS;
    if (p->connect_ms > 600000)
        p->connect_ms = 600000; /* transport.h's bound */
    snprintf(p->connect_spec, sizeof p->connect_spec, "tcp:%s", cfg->remote);
    NW_GUARD(nw_transport_listen(&p->lfd, cfg->listen, err));
    if (strncmp(cfg->listen, "unix:", 5) == 0)
        snprintf(p->unix_path, sizeof p->unix_path, "%s", cfg->listen + 5);
    p->port = nw_transport_bound_port(p->lfd);
    if (!set_nonblocking(p->lfd) || pipe2(p->stop, O_CLOEXEC) != 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "kms-proxy: %s", strerror(errno));
        goto out;
    }
    if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "kms-proxy: cannot start a thread");
        goto out;
    }
    *out = p;
out:
    if (rc != NW_OK)
        free_proxy(p);
    return rc;
}

unsigned nw_kms_proxy_port(const struct nw_kms_proxy *p)
{
    return p ? p->port : 0;
}

void nw_kms_proxy_stats(const struct nw_kms_proxy *p, struct nw_kms_proxy_stats *out)
{
    struct nw_kms_proxy *m = (struct nw_kms_proxy *)p; /* the lock is not part of the value */

    pthread_mutex_lock(&m->mu);
    *out = p->st;
    pthread_mutex_unlock(&m->mu);
}

void nw_kms_proxy_stop(struct nw_kms_proxy *p)
{
    if (p == NULL)
        return;
    while (write(p->stop[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(p->acceptor, NULL);
    /* Relays see the stop pipe at once; a thread still connecting to the
     * remote ends within the connect timeout. */
    pthread_mutex_lock(&p->mu);
    while (p->st.active > 0)
        pthread_cond_wait(&p->idle_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    free_proxy(p);
}
