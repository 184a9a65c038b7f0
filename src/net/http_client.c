/*
 * http_client.c - HTTP/1.1 POST over a kept-alive TLS connection on a
 * socket from transport.c (see http_client.h).
 *
 * Trust boundary: requests carry SigV4 signatures and session tokens (not
 * secrets that sign, but credentials that must not leak): the request
 * buffer is wiped when freed and nothing here logs.  Responses are
 * untrusted and go through the bounded parser in http_response.c.
 *
 * Connection policy: one connection, reused while the server keeps it
 * open.  A request that fails before any byte of its response arrived is
 * sent once more on a new connection (the usual fate of a reused
 * connection the server has just closed for idleness); after a partial
 * response nothing is retried.
 */
#include "nitrowallet/http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nitrowallet/clock.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/tls.h"
#include "nitrowallet/transport.h"

#define HOST_MAX 300
#define READ_CHUNK 16384

struct nw_http_client {
    char host[HOST_MAX];         /* Host header value */
    char name[HOST_MAX];         /* TLS server name */
    char connect[NW_TRANSPORT_SPEC_MAX];
    int timeout_ms;
    struct nw_tls_ctx *tls_ctx;
    struct nw_tls *conn;         /* NULL when not connected */
    unsigned long connections;
};

/* --- configuration ------------------------------------------------------- */

static int dns_or_ipv4(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '.'))
            return 0;
    }
    return 1;
}

/* Split cfg->host into the TLS name and a port ("443" by default). */
static enum nw_err parse_host(struct nw_http_client *c, char port[6], const char *host, struct nw_error *err)
{
    size_t n = host ? strnlen(host, HOST_MAX) : 0;
    const char *name = host, *colon;
    size_t name_len;

    if (n == 0 || n >= HOST_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: endpoint host must be 1..%d bytes", HOST_MAX - 1);
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed IPv6 endpoint");
        name = host + 1;
        name_len = (size_t)(close - name);
        colon = close[1] == ':' ? close + 1 : NULL;
        if (name_len == 0 || strspn(name, "0123456789abcdefABCDEF:.") < name_len)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed IPv6 endpoint");
    } else {
        colon = strchr(host, ':');
        name_len = colon ? (size_t)(colon - host) : n;
        if (!dns_or_ipv4(host, name_len))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: endpoint must be a DNS name or an IP address");
    }
    memcpy(c->name, name, name_len);
    c->name[name_len] = '\0';
    memcpy(c->host, host, n + 1);
    if (colon == NULL) {
        memcpy(port, "443", 4);
        return NW_OK;
    }
    if (strlen(colon + 1) < 1 || strlen(colon + 1) > 5 || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        colon[1] == '0' || strtoul(colon + 1, NULL, 10) > 65535)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: endpoint port must be 1..65535");
    memcpy(port, colon + 1, strlen(colon + 1) + 1);
    return NW_OK;
}

enum nw_err nw_http_client_new(struct nw_http_client **out, const struct nw_http_config *cfg, struct nw_error *err)
{
    struct nw_http_client *c;
    char port[6];
    enum nw_err rc;
    int n;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "http: out of memory");
    NW_GUARD(parse_host(c, port, cfg->host, err));
    if (cfg->connect != NULL)
        n = snprintf(c->connect, sizeof c->connect, "%s", cfg->connect);
    else if (c->host[0] == '[')
        n = snprintf(c->connect, sizeof c->connect, "tcp:[%s]:%s", c->name, port);
    else
        n = snprintf(c->connect, sizeof c->connect, "tcp:%s:%s", c->name, port);
    if (n < 0 || (size_t)n >= sizeof c->connect) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "http: connect address too long");
        goto out;
    }
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : NW_TRANSPORT_DEFAULT_TIMEOUT_MS;
    NW_GUARD(nw_tls_ctx_new(&c->tls_ctx, cfg->ca_file, cfg->ca_pem, err));
    *out = c;
    return NW_OK;
out:
    nw_http_client_free(c);
    return rc;
}

void nw_http_client_free(struct nw_http_client *c)
{
    if (c == NULL)
        return;
    nw_tls_close(c->conn);
    nw_tls_ctx_free(c->tls_ctx);
    free(c);
}

const char *nw_http_client_host(const struct nw_http_client *c)
{
    return c->host;
}

unsigned long nw_http_client_connections(const struct nw_http_client *c)
{
    return c->connections;
}

/* --- one exchange ---------------------------------------------------------- */

static int valid_header(const struct nw_http_header *h)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t i;

    if (h->name_len == 0 || h->name_len > 256 || h->value_len > NW_HTTP_MAX_LINE)
        return 0;
    for (i = 0; i < h->name_len; i++)
        if (h->name[i] == '\0' || strchr(tchar, h->name[i]) == NULL)
            return 0;
    for (i = 0; i < h->value_len; i++) {
        unsigned char ch = (unsigned char)h->value[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return 0;
    }
    return h->name_len != 14 || strncasecmp(h->name, "content-length", 14) != 0;
}

static int reserved_header(const struct nw_http_header *h)
{
    return (h->name_len == 17 && strncasecmp(h->name, "transfer-encoding", 17) == 0) ||
           (h->name_len == 10 && strncasecmp(h->name, "connection", 10) == 0);
}

#define APPEND(b, p, n) NW_GUARD(nw_buf_append((b), (p), (n)))
#define APPEND_STR(b, s) APPEND((b), (s), strlen(s))

static enum nw_err build_request(struct nw_buf *req, const char *path, const struct nw_http_header *headers,
                                 size_t n_headers, size_t body_len, struct nw_error *err)
{
    char cl[48];
    size_t i;
    enum nw_err rc = NW_OK;

    if (path[0] != '/' || strpbrk(path, " \r\n\t") != NULL || strlen(path) > NW_HTTP_MAX_LINE)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed request path");
    for (i = 0; i < n_headers; i++)
        if (!valid_header(&headers[i]) || reserved_header(&headers[i]))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: header %zu is malformed or reserved", i);
    APPEND_STR(req, "POST ");
    APPEND_STR(req, path);
    APPEND_STR(req, " HTTP/1.1\r\n");
    for (i = 0; i < n_headers; i++) {
        APPEND(req, headers[i].name, headers[i].name_len);
        APPEND_STR(req, ": ");
        APPEND(req, headers[i].value, headers[i].value_len);
        APPEND_STR(req, "\r\n");
    }
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", body_len);
    APPEND_STR(req, cl);
out:
    if (rc != NW_OK)
        return nw_fail(err, rc, "http: request exceeds %u bytes", NW_HTTP_MAX_REQUEST);
    return NW_OK;
}

static enum nw_err open_connection(struct nw_http_client *c, long long deadline, struct nw_error *err)
{
    long long left = deadline - nw_clock_ms();
    int fd;
    enum nw_err rc;

    if (left <= 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "http: no response within %d ms", c->timeout_ms);
    rc = nw_transport_connect_timeout(&fd, c->connect, (int)left, err); /* left <= timeout_ms */
    if (rc != NW_OK)
        return rc;
    c->connections++;
    return nw_tls_connect_by(&c->conn, c->tls_ctx, fd, c->name, deadline, err);
}

/* Read until the parser has a complete response; *got_bytes says whether
 * anything arrived (a retry is only safe when nothing did). */
static enum nw_err read_response(struct nw_http_client *c, struct nw_http_response *resp, int *got_bytes,
                                 struct nw_error *err)
{
    struct nw_buf raw;
    uint8_t chunk[READ_CHUNK];
    size_t n, consumed = 0;
    int complete = 0, eof = 0;
    enum nw_err rc = NW_OK;

    nw_buf_init(&raw, NW_HTTP_MAX_RAW);
    while (!complete) {
        NW_GUARD(nw_tls_read(c->conn, chunk, sizeof chunk, &n, err));
        eof = n == 0;
        if (n > 0) {
            *got_bytes = 1;
            rc = nw_buf_append(&raw, chunk, n);
            if (rc != NW_OK) {
                rc = nw_fail(err, rc, "http: response exceeds %u bytes", NW_HTTP_MAX_RAW);
                goto out;
            }
        }
        NW_GUARD(nw_http_response_parse(resp, &complete, &consumed, raw.data, raw.len, eof, err));
    }
    /* Bytes after the response (unrequested data): do not reuse. */
    if (eof || consumed != raw.len)
        resp->keep_alive = 0;
out:
    nw_wipe(chunk, sizeof chunk);
    nw_buf_free(&raw);
    return rc;
}

static enum nw_err exchange(struct nw_http_client *c, const struct nw_buf *req, const uint8_t *body,
                            size_t body_len, long long deadline, struct nw_http_response *resp, int *got_bytes,
                            struct nw_error *err)
{
    enum nw_err rc;

    if (c->conn == NULL) {
        rc = open_connection(c, deadline, err);
        if (rc != NW_OK)
            return rc;
    }
    nw_tls_set_deadline(c->conn, deadline);
    rc = nw_tls_write(c->conn, req->data, req->len, err);
    if (rc == NW_OK && body_len > 0)
        rc = nw_tls_write(c->conn, body, body_len, err);
    if (rc == NW_OK)
        rc = read_response(c, resp, got_bytes, err);
    return rc;
}

enum nw_err nw_http_client_post(struct nw_http_client *c, const char *path, const struct nw_http_header *headers,
                                size_t n_headers, const uint8_t *body, size_t body_len,
                                struct nw_http_response *resp, struct nw_error *err)
{
    struct nw_buf req;
    int attempt, got_bytes = 0;
    enum nw_err rc;

    if (body_len > NW_HTTP_MAX_REQUEST)
        return nw_fail(err, NW_ERR_TOO_LARGE, "http: request body exceeds %u bytes", NW_HTTP_MAX_REQUEST);
    nw_buf_init(&req, NW_HTTP_MAX_REQUEST);
    NW_GUARD(build_request(&req, path, headers, n_headers, body_len, err));
    /* One deadline for the whole call: connect, handshake, request and
     * response, the retry included, however the peer paces its bytes. */
    long long deadline = nw_clock_ms() + c->timeout_ms;
    for (attempt = 0; attempt < 2; attempt++) {
        int reused = c->conn != NULL, timed_out;

        got_bytes = 0;
        rc = exchange(c, &req, body, body_len, deadline, resp, &got_bytes, err);
        if (rc == NW_OK && resp->keep_alive)
            break;
        timed_out = nw_tls_timed_out(c->conn);
        nw_tls_close(c->conn);
        c->conn = NULL;
        /* Only a kept-alive connection the server closed while idle earns a
         * second try.  A fresh one that failed (refused, handshake timed
         * out), or one whose peer is there but silent (timed out), would
         * fail again: retrying would double the wait on a hung KMS. */
        if (rc == NW_OK || got_bytes || !reused || timed_out)
            break;
    }
out:
    nw_buf_free(&req);
    return rc;
}
