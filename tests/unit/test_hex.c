/*
 * test_hex.c - "0x" hex DATA encoding and its refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/hex.h"

static void test_encode_lowercase_with_prefix(void **state)
{
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff};
    char out[NW_HEX_SIZE(4)];
    (void)state;
    assert_int_equal(nw_hex_encode(out, sizeof out, in, 4), NW_OK);
    assert_string_equal(out, "0x0001abff");
    assert_int_equal(nw_hex_encode(out, 3, in, 0), NW_OK);
    assert_string_equal(out, "0x");
    assert_int_equal(nw_hex_encode(out, sizeof out - 1, in, 4), NW_ERR_TOO_LARGE);
}

static void test_decode_either_case(void **state)
{
    uint8_t out[4];
    size_t n;
    (void)state;
    assert_int_equal(nw_hex_decode(out, sizeof out, &n, "0xDEadBe", 8, NULL), NW_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "\xde\xad\xbe", 3);
    assert_int_equal(nw_hex_decode(out, sizeof out, &n, "0x", 2, NULL), NW_OK);
    assert_int_equal(n, 0);
}

static void test_decode_refusals(void **state)
{
    static const struct {
        const char *in;
        enum nw_err code;
        const char *msg;
    } bad[] = {
        {"", NW_ERR_BAD_REQUEST, "must start with \"0x\""},
        {"ab", NW_ERR_BAD_REQUEST, "must start with \"0x\""},
        {"0Xab", NW_ERR_BAD_REQUEST, "must start with \"0x\""},
        {"0xabc", NW_ERR_BAD_REQUEST, "odd number of digits (3)"},
        {"0xag", NW_ERR_BAD_REQUEST, "invalid hex digit at position 3"},
        {"0x g", NW_ERR_BAD_REQUEST, "invalid hex digit at position 2"},
        {"0x0102030405", NW_ERR_TOO_LARGE, "5 bytes, at most 4"},
    };
    uint8_t out[4];
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_error err = {0};
        assert_int_equal(nw_hex_decode(out, sizeof out, &n, bad[i].in, strlen(bad[i].in), &err), bad[i].code);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
        assert_int_equal(n, 0);
    }
}

static void test_decode_exact_length(void **state)
{
    uint8_t out[2];
    struct nw_error err = {0};
    (void)state;
    assert_int_equal(nw_hex_decode_exact(out, 2, "0x0102", 6, &err), NW_OK);
    assert_int_equal(nw_hex_decode_exact(out, 2, "0x01", 4, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "expected \"0x\" and 4 hex digits"));
    assert_int_equal(nw_hex_decode_exact(out, 2, "0x010203", 8, &err), NW_ERR_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_lowercase_with_prefix),
        cmocka_unit_test(test_decode_either_case),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_decode_exact_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
