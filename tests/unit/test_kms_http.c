/*
 * test_kms_http.c - nitrowallet-kms's HTTP/1.1 request parser: complete,
 * partial and pipelined requests, keep-alive and 100-continue, and a
 * refusal with the right status for each malformed or oversized request
 * (RFC 9112 framing, the limits in docs/kms.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/kms_server.h"

static struct nw_kms_http_request req;

static int parse(const char *s, size_t len, int *complete, int *status)
{
    struct nw_error err = {NW_OK, ""};
    return nw_kms_http_parse(&req, complete, status, (const uint8_t *)s, len, &err) == NW_OK;
}

static void expect_status(const char *s, int want)
{
    int complete = 7, status = 0;

    assert_false(parse(s, strlen(s), &complete, &status));
    assert_int_equal(complete, 0);
    assert_int_equal(status, want);
}

static const char post[] = "POST /?a=1 HTTP/1.1\r\n"
                           "Host: 127.0.0.1:4000\r\n"
                           "X-Amz-Target:   TrentService.ListKeys  \r\n"
                           "Content-Length: 2\r\n"
                           "\r\n"
                           "{}";

static void complete_request(void **state)
{
    const struct nw_http_header *h;
    int complete, status;

    (void)state;
    assert_true(parse(post, strlen(post), &complete, &status));
    assert_int_equal(complete, 1);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/");
    assert_string_equal(req.query, "a=1");
    assert_int_equal(req.minor_version, 1);
    assert_int_equal(req.n_headers, 3);
    assert_int_equal(req.body_len, 2);
    assert_memory_equal(req.body, "{}", 2);
    assert_int_equal(req.total_len, strlen(post));
    assert_true(req.keep_alive);
    h = nw_kms_http_header(&req, "x-amz-target");
    assert_non_null(h);
    assert_int_equal(h->value_len, strlen("TrentService.ListKeys"));
    assert_memory_equal(h->value, "TrentService.ListKeys", h->value_len);
    assert_null(nw_kms_http_header(&req, "authorization"));
}

static void partial_requests_need_more(void **state)
{
    size_t head = strlen(post) - 2;
    int complete, status;

    (void)state;
    for (size_t n = 0; n < head; n++) {
        assert_true(parse(post, n, &complete, &status));
        assert_int_equal(complete, 0);
        assert_int_equal(req.header_len, 0);
    }
    assert_true(parse(post, head + 1, &complete, &status));
    assert_int_equal(complete, 0);
    assert_int_equal(req.header_len, head);
    assert_int_equal(req.content_length, 2);
}

static void pipelined_requests(void **state)
{
    char two[512];
    int complete, status;

    (void)state;
    snprintf(two, sizeof two, "%s%s", post, post);
    assert_true(parse(two, strlen(two), &complete, &status));
    assert_int_equal(complete, 1);
    assert_int_equal(req.total_len, strlen(post));
    assert_true(parse(two + req.total_len, strlen(post), &complete, &status));
    assert_int_equal(complete, 1);
}

static void connection_semantics(void **state)
{
    static const char close_[] = "POST / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n";
    static const char old[] = "POST / HTTP/1.0\r\n\r\n";
    static const char old_keep[] = "POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    static const char cont[] = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
    int complete, status;

    (void)state;
    assert_true(parse(close_, strlen(close_), &complete, &status));
    assert_int_equal(complete, 1);
    assert_false(req.keep_alive);
    assert_true(parse(old, strlen(old), &complete, &status));
    assert_false(req.keep_alive);
    assert_int_equal(req.body_len, 0);
    assert_true(parse(old_keep, strlen(old_keep), &complete, &status));
    assert_true(req.keep_alive);
    assert_true(parse(cont, strlen(cont), &complete, &status));
    assert_int_equal(complete, 0);
    assert_true(req.expect_continue);
    assert_int_equal(req.header_len, strlen(cont));
}

static void malformed_requests_refused(void **state)
{
    (void)state;
    expect_status("POST / HTTP/1.1\nHost: x\r\n\r\n", 400);              /* bare LF */
    expect_status("POST / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400); /* obs-fold */
    expect_status("POST / HTTP/1.1\r\n\r\n", 400);                       /* no Host */
    expect_status("POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* two Hosts */
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: a\r\nx-amz-target: b\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", 413);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413);
    expect_status("POST / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    expect_status("POST / HTTP/1.2\r\nHost: x\r\n\r\n", 505);
    expect_status("POST / FTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_status("post / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_status("POST  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_status("POST * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_status("POST http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_status("POST /#f HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400);
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417);
    expect_status("\r\n\r\n", 400);
    expect_status("POSTPOSTPOSTPOSTPOST / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

static void nul_in_header_refused(void **state)
{
    static const char s[] = "POST / HTTP/1.1\r\nHost: x\0y\r\n\r\n";
    int complete, status;

    (void)state;
    assert_false(parse(s, sizeof s - 1, &complete, &status));
    assert_int_equal(status, 400);
}

static void limits(void **state)
{
    static const char tail[] = " HTTP/1.1\r\nHost: x\r\n\r\n";
    char *big = malloc(NW_KMS_HTTP_MAX_HEADER_BYTES + 4096);
    size_t n;
    int complete, status;

    (void)state;
    assert_non_null(big);
    /* 64 headers pass, 65 do not */
    n = (size_t)snprintf(big, 64, "POST / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(big + n, 32, "H%d: v\r\n", i);
    memcpy(big + n, "\r\n", 3);
    assert_true(parse(big, n + 2, &complete, &status));
    assert_int_equal(complete, 1);
    memcpy(big + n, "X: y\r\n\r\n", 9);
    expect_status(big, 431);
    /* headers past 16 KiB, with or without their end in sight */
    n = (size_t)snprintf(big, 64, "POST / HTTP/1.1\r\nHost: x\r\nA: ");
    memset(big + n, 'a', NW_KMS_HTTP_MAX_HEADER_BYTES);
    assert_false(parse(big, n + NW_KMS_HTTP_MAX_HEADER_BYTES, &complete, &status));
    assert_int_equal(status, 431);
    memcpy(big + n + NW_KMS_HTTP_MAX_HEADER_BYTES, "\r\n\r\n", 5);
    expect_status(big, 431);
    /* a long target */
    n = (size_t)snprintf(big, 8, "POST /");
    memset(big + n, 'a', NW_KMS_HTTP_MAX_TARGET);
    memcpy(big + n + NW_KMS_HTTP_MAX_TARGET, tail, sizeof tail);
    expect_status(big, 431);
    free(big);
}

static void body_of_64k_accepted(void **state)
{
    size_t head, total;
    char *buf = malloc(256 + NW_KMS_MAX_BODY);
    int complete, status;

    (void)state;
    assert_non_null(buf);
    head = (size_t)snprintf(buf, 256, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", NW_KMS_MAX_BODY);
    memset(buf + head, 'b', NW_KMS_MAX_BODY);
    total = head + NW_KMS_MAX_BODY;
    assert_true(parse(buf, total - 1, &complete, &status));
    assert_int_equal(complete, 0);
    assert_true(parse(buf, total, &complete, &status));
    assert_int_equal(complete, 1);
    assert_int_equal(req.body_len, NW_KMS_MAX_BODY);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(complete_request),
        cmocka_unit_test(partial_requests_need_more),
        cmocka_unit_test(pipelined_requests),
        cmocka_unit_test(connection_semantics),
        cmocka_unit_test(malformed_requests_refused),
        cmocka_unit_test(nul_in_header_refused),
        cmocka_unit_test(limits),
        cmocka_unit_test(body_of_64k_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
