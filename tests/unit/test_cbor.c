/*
 * test_cbor.c - the bounded CBOR reader and the shortest-form writer.
 *
 * Encodings are taken from RFC 8949 Appendix A ("Examples of Encoded CBOR
 * Data Items"), the independent reference; the refusals cover every case
 * the reader promises to reject: indefinite lengths, reserved additional
 * information, floats, truncated heads and payloads, counts larger than the
 * input, and nesting beyond NW_CBOR_MAX_DEPTH.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/cbor.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;

    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        assert_true(n < cap);
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Read exactly one item from `hex`, which must be fully consumed. */
static void read_one(const char *hex, struct nw_cbor_item *it)
{
    uint8_t buf[64];
    size_t n = unhex(buf, sizeof buf, hex);
    struct nw_cbor c;
    struct nw_error err = {0};

    nw_cbor_init(&c, buf, n);
    if (nw_cbor_read(&c, it, &err) != NW_OK)
        fail_msg("%s: %s", hex, err.msg);
    it->data = NULL; /* points into buf, which is gone */
    if (it->major != NW_CBOR_ARRAY && it->major != NW_CBOR_MAP && it->major != NW_CBOR_TAG)
        assert_true(nw_cbor_at_end(&c));
}

static void test_rfc8949_integers(void **state)
{
    static const struct {
        const char *hex;
        enum nw_cbor_major major;
        uint64_t val;
    } v[] = {
        {"00", NW_CBOR_UINT, 0},
        {"17", NW_CBOR_UINT, 23},
        {"1818", NW_CBOR_UINT, 24},
        {"1864", NW_CBOR_UINT, 100},
        {"1903e8", NW_CBOR_UINT, 1000},
        {"1a000f4240", NW_CBOR_UINT, 1000000},
        {"1b000000e8d4a51000", NW_CBOR_UINT, 1000000000000ull},
        {"1bffffffffffffffff", NW_CBOR_UINT, 18446744073709551615ull},
        {"20", NW_CBOR_NEGINT, 0},                 /* -1 */
        {"3863", NW_CBOR_NEGINT, 99},              /* -100 */
        {"3903e7", NW_CBOR_NEGINT, 999},           /* -1000 */
        {"3bffffffffffffffff", NW_CBOR_NEGINT, 18446744073709551615ull},
        {"c074", NW_CBOR_TAG, 0},                  /* 0("2013-03-21T20:04:00Z"): head only */
        {"f4", NW_CBOR_SIMPLE, NW_CBOR_FALSE},
        {"f5", NW_CBOR_SIMPLE, NW_CBOR_TRUE},
        {"f6", NW_CBOR_SIMPLE, NW_CBOR_NULL},
        {"f7", NW_CBOR_SIMPLE, 23},
        {"f0", NW_CBOR_SIMPLE, 16},
        {"f8ff", NW_CBOR_SIMPLE, 255},
    };
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct nw_cbor_item it;
        read_one(v[i].hex, &it);
        assert_int_equal(it.major, v[i].major);
        assert_true(it.val == v[i].val);
    }
}

static void test_rfc8949_strings_and_containers(void **state)
{
    uint8_t buf[32];
    size_t n = unhex(buf, sizeof buf, "a201020304" "6449455446" "4401020304" "83010203" "40" "60");
    struct nw_cbor c;
    struct nw_cbor_item it;
    (void)state;

    nw_cbor_init(&c, buf, n);
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_OK); /* {1: 2, 3: 4} */
    assert_int_equal(it.major, NW_CBOR_MAP);
    assert_int_equal(it.val, 2);
    assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK);
    assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK);
    assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK);
    assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK);
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_OK); /* "IETF" */
    assert_int_equal(it.major, NW_CBOR_TEXT);
    assert_int_equal(it.val, 4);
    assert_memory_equal(it.data, "IETF", 4);
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_OK); /* h'01020304' */
    assert_int_equal(it.major, NW_CBOR_BYTES);
    assert_memory_equal(it.data, "\x01\x02\x03\x04", 4);
    assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK); /* [1, 2, 3] */
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_OK); /* h'' */
    assert_int_equal(it.val, 0);
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_OK); /* "" */
    assert_int_equal(it.major, NW_CBOR_TEXT);
    assert_true(nw_cbor_at_end(&c));
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_ERR_BAD_REQUEST);
}

static void test_refusals_name_the_reason(void **state)
{
    static const struct {
        const char *hex, *msg;
    } bad[] = {
        {"", "unexpected end of input"},
        {"5f42010243030405ff", "indefinite length"},    /* (_ h'0102', h'030405') */
        {"9fff", "indefinite length"},
        {"bfff", "indefinite length"},
        {"7f657374726561646d696e67ff", "indefinite length"},
        {"1c", "reserved additional information"},
        {"1d", "reserved additional information"},
        {"3e", "reserved additional information"},
        {"f90000", "floating-point"},                  /* 0.0 (half) */
        {"fa47c35000", "floating-point"},              /* 100000.0 */
        {"fb3ff199999999999a", "floating-point"},      /* 1.1 */
        {"f818", "malformed simple value"},            /* two-byte simple < 32 */
        {"19", "truncated head"},
        {"1b00000000000000", "truncated head"},
        {"450102", "exceeds the 2 bytes left"},
        {"5bffffffffffffffff00", "exceeds the 1 bytes left"},
        {"7b0000000100000000", "exceeds"},
        {"9a00000004000102", "exceeds the 3 bytes left"}, /* 4 elements, 3 bytes */
        {"9bffffffffffffffff", "exceeds"},
        {"a301020304", "exceeds"},                      /* 3 pairs in 4 bytes */
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[32];
        size_t n = unhex(buf, sizeof buf, bad[i].hex);
        struct nw_cbor c;
        struct nw_cbor_item it;
        struct nw_error err = {0};

        nw_cbor_init(&c, buf, n);
        if (nw_cbor_read(&c, &it, &err) != NW_ERR_BAD_REQUEST)
            fail_msg("case %s: accepted", bad[i].hex);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("case %s: \"%s\" lacks \"%s\"", bad[i].hex, err.msg, bad[i].msg);
        assert_int_equal(c.pos, 0); /* a refused read consumes nothing */
        nw_cbor_init(&c, buf, n);
        assert_int_equal(nw_cbor_skip(&c, NULL), NW_ERR_BAD_REQUEST);
    }
}

/* n nested one-element arrays around 0: [[[...[0]...]]]. */
static size_t nested(uint8_t *buf, size_t n, uint8_t head)
{
    memset(buf, head, n);
    buf[n] = 0x00;
    return n + 1;
}

static void test_skip_depth_bound(void **state)
{
    uint8_t buf[64];
    struct nw_cbor c;
    struct nw_error err = {0};
    size_t n;
    (void)state;

    n = nested(buf, NW_CBOR_MAX_DEPTH, 0x81);
    nw_cbor_init(&c, buf, n);
    assert_int_equal(nw_cbor_skip(&c, &err), NW_OK);
    assert_true(nw_cbor_at_end(&c));

    n = nested(buf, NW_CBOR_MAX_DEPTH + 1, 0x81);
    nw_cbor_init(&c, buf, n);
    assert_int_equal(nw_cbor_skip(&c, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "nesting deeper than 16"));

    /* Tags count as a level too. */
    n = nested(buf, NW_CBOR_MAX_DEPTH + 1, 0xc1);
    nw_cbor_init(&c, buf, n);
    assert_int_equal(nw_cbor_skip(&c, &err), NW_ERR_BAD_REQUEST);
}

static void test_skip_nested_and_truncated(void **state)
{
    uint8_t buf[64];
    size_t n = unhex(buf, sizeof buf, "a26161016162820203" "01"); /* {"a": 1, "b": [2, 3]}, 1 */
    struct nw_cbor c;
    (void)state;

    nw_cbor_init(&c, buf, n);
    assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK);
    assert_int_equal(c.pos, n - 1);
    for (size_t cut = 0; cut < n - 1; cut++) {
        nw_cbor_init(&c, buf, cut);
        assert_int_equal(nw_cbor_skip(&c, NULL), NW_ERR_BAD_REQUEST);
    }
}

static void check_put(uint64_t v, const char *hex)
{
    uint8_t want[16];
    size_t n = unhex(want, sizeof want, hex);
    struct nw_buf b;
    struct nw_cbor c;
    struct nw_cbor_item it;

    nw_buf_init(&b, 64);
    assert_int_equal(nw_cbor_put_uint(&b, v), NW_OK);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, want, n);
    nw_cbor_init(&c, b.data, b.len);
    assert_int_equal(nw_cbor_read(&c, &it, NULL), NW_OK);
    assert_true(it.val == v);
    nw_buf_free(&b);
}

static void test_writer_shortest_form(void **state)
{
    struct nw_buf b;
    (void)state;

    check_put(0, "00");
    check_put(23, "17");
    check_put(24, "1818");
    check_put(255, "18ff");
    check_put(256, "190100");
    check_put(65535, "19ffff");
    check_put(65536, "1a00010000");
    check_put(4294967295u, "1affffffff");
    check_put(4294967296ull, "1b0000000100000000");
    check_put(UINT64_MAX, "1bffffffffffffffff");

    nw_buf_init(&b, 64);
    assert_int_equal(nw_cbor_put_text(&b, "IETF", 4), NW_OK);
    assert_int_equal(nw_cbor_put_bytes(&b, (const uint8_t *)"\x01\x02", 2), NW_OK);
    assert_int_equal(nw_cbor_put_bytes(&b, NULL, 0), NW_OK);
    assert_int_equal(nw_cbor_put_null(&b), NW_OK);
    assert_int_equal(nw_cbor_put_head(&b, NW_CBOR_NEGINT, 34), NW_OK); /* -35 */
    assert_int_equal(b.len, 5 + 3 + 1 + 1 + 2);
    assert_memory_equal(b.data, "\x64IETF\x42\x01\x02\x40\xf6\x38\x22", b.len);
    nw_buf_free(&b);

    /* The buffer's bound is respected. */
    nw_buf_init(&b, 4);
    assert_int_equal(nw_cbor_put_text(&b, "IETF", 4), NW_ERR_TOO_LARGE);
    nw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8949_integers),
        cmocka_unit_test(test_rfc8949_strings_and_containers),
        cmocka_unit_test(test_refusals_name_the_reason),
        cmocka_unit_test(test_skip_depth_bound),
        cmocka_unit_test(test_skip_nested_and_truncated),
        cmocka_unit_test(test_writer_shortest_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
