/*
 * test_http_client.c - the enclave's HTTP/1.1-over-TLS client, layer by
 * layer: the response parser (a pure function: framing by Content-Length,
 * chunked and close; interim responses; every malformation and bound
 * refused), transport specs (malformed ones refused before any socket;
 * vsock is never connected here: there is no vsock loopback on these
 * machines and the host's device is not ours), and the client against a
 * loopback TLS server (tls_test_server.h): the right CA verifies, a wrong
 * CA or a wrong name is refused, SNI/IP SANs, keep-alive reuse, reconnect
 * after a silent close, Connection: close, unix sockets, timeouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nitrowallet/http_client.h"
#include "nitrowallet/transport.h"
#include "tls_test_server.h"

/* --- the parser -------------------------------------------------------------- */

static enum nw_err parse(const char *raw, int eof, struct nw_http_response *r, int *complete, size_t *consumed,
                         struct nw_error *err)
{
    return nw_http_response_parse(r, complete, consumed, (const uint8_t *)raw, strlen(raw), eof, err);
}

static void expect_body(const char *raw, int status, const char *body, int keep_alive)
{
    struct nw_http_response r;
    struct nw_error err = {0};
    int complete;
    size_t consumed, i;

    nw_http_response_init(&r);
    assert_int_equal(parse(raw, 0, &r, &complete, &consumed, &err), NW_OK);
    if (!complete) /* close-delimited: only complete at EOF */
        assert_int_equal(parse(raw, 1, &r, &complete, &consumed, &err), NW_OK);
    assert_true(complete);
    assert_int_equal(consumed, strlen(raw));
    assert_int_equal(r.status, status);
    assert_int_equal(r.body.len, strlen(body));
    if (r.body.len)
        assert_memory_equal(r.body.data, body, r.body.len);
    assert_int_equal(r.keep_alive, keep_alive);
    /* Every strict prefix is a valid, incomplete response. */
    for (i = 0; i < strlen(raw); i++) {
        assert_int_equal(nw_http_response_parse(&r, &complete, &consumed, (const uint8_t *)raw, i, 0, &err), NW_OK);
        assert_false(complete);
    }
    nw_http_response_free(&r);
}

static void expect_malformed(const char *raw, enum nw_err code, const char *why)
{
    struct nw_http_response r;
    struct nw_error err = {0};
    int complete = 1;
    size_t consumed;

    nw_http_response_init(&r);
    assert_int_equal(parse(raw, 1, &r, &complete, &consumed, &err), code);
    assert_false(complete);
    if (strstr(err.msg, why) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", err.msg, why);
    nw_http_response_free(&r);
}

static void test_parser_framing(void **state)
{
    (void)state;
    expect_body("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", 1);
    expect_body("HTTP/1.1 400 Bad Request\r\ncontent-length:2\r\nX-Amzn-ErrorType: AccessDeniedException:http://x\r\n"
                "\r\n{}",
                400, "{}", 1);
    expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n", 200,
                "hello!", 1);
    expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
                200, "0123456789", 1);
    expect_body("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", 1);
    expect_body("HTTP/1.1 204 No Content\r\n\r\n", 204, "", 1);
    expect_body("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 200, "", 0);
    expect_body("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", 0);
    expect_body("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", 200, "x", 1);
    expect_body("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", 200, "x", 1); /* empty reason */
    expect_body("HTTP/1.1 200 OK\r\n\r\nuntil close", 200, "until close", 0);
}

static void test_parser_error_type_header(void **state)
{
    struct nw_http_response r;
    int complete;
    size_t consumed;
    (void)state;

    nw_http_response_init(&r);
    assert_int_equal(parse("HTTP/1.1 400 X\r\nx-amzn-ErrorType: NotFoundException:http://internal/\r\n"
                           "Content-Length: 0\r\n\r\n",
                           0, &r, &complete, &consumed, NULL),
                     NW_OK);
    assert_string_equal(r.error_type, "NotFoundException");
    nw_http_response_free(&r);
}

static void test_parser_refuses_malformed(void **state)
{
    char big[NW_HTTP_MAX_LINE + 64];
    (void)state;
    expect_malformed("HTTP/2 200 OK\r\n\r\n", NW_ERR_BAD_REQUEST, "status line");
    expect_malformed("HTTP/1.1 20 OK\r\n\r\n", NW_ERR_BAD_REQUEST, "status code");
    expect_malformed("HTTP/1.1 600 OK\r\n\r\n", NW_ERR_BAD_REQUEST, "status code");
    expect_malformed("HTTP/1.1 200OK\r\n\r\n", NW_ERR_BAD_REQUEST, "reason");
    expect_malformed("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", NW_ERR_BAD_REQUEST, "CRLF");
    expect_malformed("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", NW_ERR_BAD_REQUEST, "control character");
    expect_malformed("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", NW_ERR_BAD_REQUEST, "line folding");
    expect_malformed("HTTP/1.1 200 OK\r\nA b\r\n\r\n", NW_ERR_BAD_REQUEST, "header field");
    expect_malformed("HTTP/1.1 200 OK\r\n: b\r\n\r\n", NW_ERR_BAD_REQUEST, "header field");
    expect_malformed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", NW_ERR_BAD_REQUEST,
                     "more than one");
    expect_malformed("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", NW_ERR_BAD_REQUEST, "Content-Length");
    expect_malformed("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", NW_ERR_BAD_REQUEST, "Content-Length");
    expect_malformed("HTTP/1.1 200 OK\r\nContent-Length: 262145\r\n\r\n", NW_ERR_TOO_LARGE, "exceeds");
    expect_malformed("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", NW_ERR_BAD_REQUEST, "Content-Length");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", NW_ERR_BAD_REQUEST, "chunked");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
                     NW_ERR_BAD_REQUEST, "both");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", NW_ERR_BAD_REQUEST, "chunk size");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\n", NW_ERR_BAD_REQUEST,
                     "chunk size");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", NW_ERR_TOO_LARGE, "exceeds");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n", NW_ERR_BAD_REQUEST, "extension");
    expect_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", NW_ERR_BAD_REQUEST, "CRLF");
    expect_malformed("HTTP/1.1 101 Switching\r\n\r\n", NW_ERR_BAD_REQUEST, "protocol switch");
    expect_malformed("HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
                     "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
                     NW_ERR_BAD_REQUEST, "interim");
    expect_malformed("", NW_ERR_BAD_REQUEST, "before a response");
    expect_malformed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", NW_ERR_BAD_REQUEST, "middle");
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    big[sizeof big - 1] = '\0';
    expect_malformed(big, NW_ERR_TOO_LARGE, "line longer");
}

static void test_parser_bounds_header_count_and_head(void **state)
{
    struct nw_buf raw;
    unsigned i;
    (void)state;

    nw_buf_init(&raw, 1u << 20);
    assert_int_equal(nw_buf_append(&raw, "HTTP/1.1 200 OK\r\n", 17), NW_OK);
    for (i = 0; i <= NW_HTTP_MAX_HEADERS; i++)
        assert_int_equal(nw_buf_append(&raw, "A: b\r\n", 6), NW_OK);
    assert_int_equal(nw_buf_append(&raw, "\r\n\0", 3), NW_OK);
    expect_malformed((const char *)raw.data, NW_ERR_TOO_LARGE, "header fields");
    raw.len = 17;
    for (i = 0; i < 10; i++) {
        char line[4000];
        memset(line, 'v', sizeof line);
        memcpy(line, "B: ", 3);
        memcpy(line + sizeof line - 2, "\r\n", 2);
        assert_int_equal(nw_buf_append(&raw, line, sizeof line), NW_OK);
    }
    assert_int_equal(nw_buf_append(&raw, "\r\n\0", 3), NW_OK);
    expect_malformed((const char *)raw.data, NW_ERR_TOO_LARGE, "header section");
    nw_buf_free(&raw);
}

/* --- transport specs ---------------------------------------------------------------- */

static void test_transport_specs_refused(void **state)
{
    static const char *bad[] = {"", "foo:1", "tcp:", "tcp:host", "tcp:host:", "tcp:host:0", "tcp:host:65536",
                                "tcp:host:08", "tcp:host:-1", "tcp:::1:80", "tcp:[::1]80", "tcp:[::1", "vsock:",
                                "vsock:3", "vsock:x:8000", "vsock:3:", "vsock:4294967296:1", "unix:", NULL};
    char long_unix[200];
    struct nw_error err = {0};
    int fd = 5, i;
    (void)state;

    for (i = 0; bad[i] != NULL; i++) {
        assert_int_equal(nw_transport_connect(&fd, bad[i], &err), NW_ERR_BAD_REQUEST);
        assert_int_equal(fd, -1);
    }
    memset(long_unix, 'a', sizeof long_unix);
    memcpy(long_unix, "unix:/", 6);
    long_unix[sizeof long_unix - 1] = '\0';
    assert_int_equal(nw_transport_connect(&fd, long_unix, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_transport_connect_timeout(&fd, "tcp:127.0.0.1:1", 0, &err), NW_ERR_BAD_REQUEST);
    /* Nothing listens on a unix path that does not exist. */
    assert_int_equal(nw_transport_connect(&fd, "unix:/nonexistent/nitrowallet.sock", &err), NW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "No such file"));
}

/* --- the client against a loopback TLS server ----------------------------------------- */

enum reply_kind { REPLY_ECHO, REPLY_CHUNKED, REPLY_CLOSE, REPLY_SLOW };

/* The handler runs on the server thread: no cmocka asserts there. */
#define CHECK(x)        \
    do {                \
        if (!(x))       \
            abort();    \
    } while (0)

static void handler(void *arg, const char *head, size_t head_len, const uint8_t *body, size_t body_len,
                    struct nw_buf *resp, int *close_after)
{
    enum reply_kind kind = *(enum reply_kind *)arg;
    char line[256];
    (void)head_len;

    /* The request as the client must send it. */
    if (strncmp(head, "POST /p HTTP/1.1\r\n", 18) != 0 || strstr(head, "\r\nHost: ") == NULL ||
        strstr(head, "\r\nX-Test: 1\r\n") == NULL) {
        ts_respond(resp, 500, NULL, "bad request line or headers");
        return;
    }
    if (kind == REPLY_SLOW) /* a hung peer, as far as a 300 ms client can tell */
        usleep(800 * 1000);
    if (kind == REPLY_CHUNKED) {
        snprintf(line, sizeof line, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", body_len);
        CHECK(nw_buf_append(resp, line, strlen(line)) == NW_OK);
        CHECK(nw_buf_append(resp, body, body_len) == NW_OK);
        CHECK(nw_buf_append(resp, "\r\n0\r\n\r\n", 7) == NW_OK);
        return;
    }
    snprintf(line, sizeof line, "HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\n\r\n",
             kind == REPLY_CLOSE ? "Connection: close\r\n" : "", body_len);
    CHECK(nw_buf_append(resp, line, strlen(line)) == NW_OK);
    CHECK(nw_buf_append(resp, body, body_len) == NW_OK);
    *close_after = kind == REPLY_CLOSE;
}

struct fixture {
    struct ts_pki pki, other;
    struct ts_server srv;
    enum reply_kind kind;
    char connect[128];
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    assert_true(ts_pki_make(&f.pki, "nitrowallet test CA", "DNS:localhost,IP:127.0.0.1"));
    assert_true(ts_pki_make(&f.other, "some other CA", "DNS:localhost,IP:127.0.0.1"));
    assert_true(ts_start(&f.srv, &f.pki, NULL, handler, &f.kind));
    snprintf(f.connect, sizeof f.connect, "tcp:127.0.0.1:%d", f.srv.port);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ts_stop(&f->srv);
    ts_pki_free(&f->pki);
    ts_pki_free(&f->other);
    return 0;
}

static struct nw_http_client *client(struct fixture *f, const char *host, const char *ca, enum nw_err want)
{
    struct nw_http_config cfg = {host, f->connect, ca, 2000, NULL};
    struct nw_http_client *c = NULL;
    struct nw_error err = {0};

    assert_int_equal(nw_http_client_new(&c, &cfg, &err), want);
    return c;
}

static enum nw_err post(struct nw_http_client *c, const char *body, struct nw_http_response *r,
                        struct nw_error *err)
{
    struct nw_http_header h[2] = {{"Host", 4, nw_http_client_host(c), strlen(nw_http_client_host(c))},
                                  {"X-Test", 6, "1", 1}};
    nw_http_response_free(r);
    nw_http_response_init(r);
    return nw_http_client_post(c, "/p", h, 2, (const uint8_t *)body, strlen(body), r, err);
}

static void expect_echo(struct nw_http_client *c, const char *body)
{
    struct nw_http_response r;
    struct nw_error err = {0};

    nw_http_response_init(&r);
    if (post(c, body, &r, &err) != NW_OK)
        fail_msg("post: %s", err.msg);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, strlen(body));
    assert_memory_equal(r.body.data, body, r.body.len);
    nw_http_response_free(&r);
}

static void test_right_ca_keep_alive_reuse(void **state)
{
    struct fixture *f = *state;
    unsigned long before = f->srv.accepts;
    struct nw_http_client *c = client(f, "localhost", f->pki.ca_file, NW_OK);
    int i;

    f->kind = REPLY_ECHO;
    for (i = 0; i < 5; i++)
        expect_echo(c, "{\"KeyId\":\"alias/x\"}");
    assert_int_equal(nw_http_client_connections(c), 1);
    nw_http_client_free(c);
    assert_int_equal(f->srv.accepts - before, 1);
}

static void test_chunked_and_large_bodies(void **state)
{
    struct fixture *f = *state;
    struct nw_http_client *c = client(f, "localhost", f->pki.ca_file, NW_OK);
    static char big[100001];

    memset(big, 'q', sizeof big - 1);
    f->kind = REPLY_CHUNKED;
    expect_echo(c, "chunked body");
    expect_echo(c, big);
    f->kind = REPLY_ECHO;
    expect_echo(c, big);
    assert_int_equal(nw_http_client_connections(c), 1);
    nw_http_client_free(c);
}

static void test_reconnect_after_silent_close_and_connection_close(void **state)
{
    struct fixture *f = *state;
    struct nw_http_client *c = client(f, "localhost", f->pki.ca_file, NW_OK);

    f->kind = REPLY_ECHO;
    f->srv.drop_after = 1; /* the server drops every connection after one reply */
    expect_echo(c, "one");
    usleep(100 * 1000);
    expect_echo(c, "two"); /* stale connection: resent once on a new one */
    assert_int_equal(nw_http_client_connections(c), 2);
    usleep(100 * 1000);
    f->srv.drop_after = 0;
    f->kind = REPLY_CLOSE;
    expect_echo(c, "three"); /* stale again, then Connection: close */
    expect_echo(c, "four");  /* so a new connection each time */
    assert_int_equal(nw_http_client_connections(c), 4);
    nw_http_client_free(c);
}

static void expect_refused(struct fixture *f, const char *host, const char *ca, const char *why)
{
    struct nw_http_client *c = client(f, host, ca, NW_OK);
    struct nw_http_response r;
    struct nw_error err = {0};

    nw_http_response_init(&r);
    f->kind = REPLY_ECHO;
    assert_int_equal(post(c, "secret-free body", &r, &err), NW_ERR_UNAVAILABLE);
    if (strstr(err.msg, why) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", err.msg, why);
    print_message("refused %s: %s\n", host, err.msg);
    assert_int_equal(r.status, 0);
    nw_http_response_free(&r);
    nw_http_client_free(c);
}

static void test_wrong_ca_and_wrong_name_refused(void **state)
{
    struct fixture *f = *state;

    expect_refused(f, "localhost", f->other.ca_file, "certificate verification failed");
    expect_refused(f, "kms.us-east-1.amazonaws.com", f->pki.ca_file, "certificate verification failed");
    expect_refused(f, "127.0.0.2", f->pki.ca_file, "certificate verification failed");
    expect_refused(f, "localhost", NULL, "certificate verification failed"); /* system CAs */
}

static void test_ip_literal_and_port_in_host(void **state)
{
    struct fixture *f = *state;
    char host[64];
    struct nw_http_client *c;

    f->kind = REPLY_ECHO;
    c = client(f, "127.0.0.1", f->pki.ca_file, NW_OK); /* IP SAN, no SNI */
    expect_echo(c, "ip");
    nw_http_client_free(c);
    snprintf(host, sizeof host, "localhost:%d", f->srv.port);
    c = client(f, host, f->pki.ca_file, NW_OK);
    assert_string_equal(nw_http_client_host(c), host);
    expect_echo(c, "port");
    nw_http_client_free(c);
}

static void test_unix_socket_transport(void **state)
{
    struct fixture *f = *state;
    struct ts_server u;
    char path[64];
    enum reply_kind kind = REPLY_ECHO;
    struct nw_http_client *c;

    snprintf(path, sizeof path, "/tmp/nw-test-http-%d.sock", (int)getpid());
    assert_true(ts_start(&u, &f->pki, path, handler, &kind));
    snprintf(f->connect, sizeof f->connect, "unix:%s", path);
    c = client(f, "localhost", f->pki.ca_file, NW_OK);
    expect_echo(c, "over a unix socket");
    expect_echo(c, "again");
    assert_int_equal(nw_http_client_connections(c), 1);
    nw_http_client_free(c);
    ts_stop(&u);
    snprintf(f->connect, sizeof f->connect, "tcp:127.0.0.1:%d", f->srv.port);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_unreachable_and_timeout(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int silent = socket(AF_INET, SOCK_STREAM, 0);
    struct nw_http_config cfg = {"localhost", f->connect, f->pki.ca_file, 300, NULL};
    struct nw_http_client *c;
    struct nw_http_response r;
    struct nw_error err = {0};
    long long t0, waited;

    /* A listener that never accepts: the handshake times out. */
    assert_int_equal(bind(silent, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(silent, 4), 0);
    assert_int_equal(getsockname(silent, (struct sockaddr *)&a, &len), 0);
    snprintf(f->connect, sizeof f->connect, "tcp:127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(nw_http_client_new(&c, &cfg, &err), NW_OK);
    nw_http_response_init(&r);
    t0 = now_ms();
    assert_int_equal(post(c, "x", &r, &err), NW_ERR_UNAVAILABLE);
    waited = now_ms() - t0;
    assert_non_null(strstr(err.msg, "timed out"));
    /* One attempt: a fresh connection that failed is not retried, so a hung
     * peer costs one timeout, not two. */
    assert_int_equal(nw_http_client_connections(c), 1);
    print_message("handshake timeout (300 ms) reported after %lld ms\n", waited);
    nw_http_client_free(c);
    /* Nobody listening: connection refused. */
    close(silent);
    assert_int_equal(nw_http_client_new(&c, &cfg, &err), NW_OK);
    assert_int_equal(post(c, "x", &r, &err), NW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "refused"));
    nw_http_response_free(&r);
    nw_http_client_free(c);
    snprintf(f->connect, sizeof f->connect, "tcp:127.0.0.1:%d", f->srv.port);
}

/* A kept-alive connection whose peer stops answering: the read times out and
 * the request is not resent on a new connection (a silent peer is not a
 * stale connection; a second try would only double the wait). */
static void test_timeout_on_a_reused_connection_is_not_retried(void **state)
{
    struct fixture *f = *state;
    struct nw_http_config cfg = {"localhost", f->connect, f->pki.ca_file, 300, NULL};
    struct nw_http_client *c;
    struct nw_http_response r;
    struct nw_error err = {0};

    f->kind = REPLY_ECHO;
    assert_int_equal(nw_http_client_new(&c, &cfg, &err), NW_OK);
    expect_echo(c, "first");
    f->kind = REPLY_SLOW;
    nw_http_response_init(&r);
    assert_int_equal(post(c, "second", &r, &err), NW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "timed out"));
    assert_int_equal(nw_http_client_connections(c), 1);
    nw_http_response_free(&r);
    nw_http_client_free(c);
    f->kind = REPLY_ECHO;
    usleep(900 * 1000); /* let the server finish the slow reply */
}

static void test_request_validation(void **state)
{
    struct fixture *f = *state;
    struct nw_http_client *c = client(f, "localhost", f->pki.ca_file, NW_OK);
    struct nw_http_header crlf[1] = {{"X-A", 3, "a\r\nInjected: 1", 14}};
    struct nw_http_header cl[1] = {{"content-length", 14, "1", 1}};
    struct nw_http_header te[1] = {{"Transfer-Encoding", 17, "chunked", 7}};
    struct nw_http_header name[1] = {{"X A", 3, "1", 1}};
    struct nw_http_response r;
    struct nw_error err = {0};

    nw_http_response_init(&r);
    assert_int_equal(nw_http_client_post(c, "/", crlf, 1, NULL, 0, &r, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_http_client_post(c, "/", cl, 1, NULL, 0, &r, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_http_client_post(c, "/", te, 1, NULL, 0, &r, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_http_client_post(c, "/", name, 1, NULL, 0, &r, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_http_client_post(c, "/a b", NULL, 0, NULL, 0, &r, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_http_client_post(c, "noslash", NULL, 0, NULL, 0, &r, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_http_client_connections(c), 0); /* refused before connecting */
    nw_http_response_free(&r);
    nw_http_client_free(c);
    /* Endpoint names. */
    client(f, "", NULL, NW_ERR_BAD_REQUEST);
    client(f, "bad host", NULL, NW_ERR_BAD_REQUEST);
    client(f, "host:0", NULL, NW_ERR_BAD_REQUEST);
    client(f, "host:99999", NULL, NW_ERR_BAD_REQUEST);
    client(f, "[::1", NULL, NW_ERR_BAD_REQUEST);
    client(f, "localhost", "/nonexistent/ca.pem", NW_ERR_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_framing),
        cmocka_unit_test(test_parser_error_type_header),
        cmocka_unit_test(test_parser_refuses_malformed),
        cmocka_unit_test(test_parser_bounds_header_count_and_head),
        cmocka_unit_test(test_transport_specs_refused),
        cmocka_unit_test(test_right_ca_keep_alive_reuse),
        cmocka_unit_test(test_chunked_and_large_bodies),
        cmocka_unit_test(test_reconnect_after_silent_close_and_connection_close),
        cmocka_unit_test(test_wrong_ca_and_wrong_name_refused),
        cmocka_unit_test(test_ip_literal_and_port_in_host),
        cmocka_unit_test(test_unix_socket_transport),
        cmocka_unit_test(test_unreachable_and_timeout),
        cmocka_unit_test(test_timeout_on_a_reused_connection_is_not_retried),
        cmocka_unit_test(test_request_validation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
