/*
 * test_base64.c - base64 against the RFC 4648 section 10 test vectors, and
 * refusal of every non-canonical form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/base64.h"

static const char *const rfc4648[][2] = {
    {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors_both_ways(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        const char *plain = rfc4648[i][0], *enc = rfc4648[i][1];
        char out[16];
        uint8_t dec[16];
        size_t n;
        assert_int_equal(nw_base64_encode(out, sizeof out, (const uint8_t *)plain, strlen(plain)), NW_OK);
        assert_string_equal(out, enc);
        assert_int_equal(nw_base64_decode(dec, sizeof dec, &n, enc, strlen(enc), NULL), NW_OK);
        assert_int_equal(n, strlen(plain));
        assert_memory_equal(dec, plain, n);
    }
}

static void test_all_byte_values_round_trip(void **state)
{
    uint8_t in[256], dec[256];
    char enc[NW_BASE64_SIZE(256)];
    size_t n;
    (void)state;
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    for (size_t len = 0; len <= 256; len += 1) {
        assert_int_equal(nw_base64_encode(enc, sizeof enc, in, len), NW_OK);
        assert_int_equal(nw_base64_decode(dec, sizeof dec, &n, enc, strlen(enc), NULL), NW_OK);
        assert_int_equal(n, len);
        assert_memory_equal(dec, in, len);
    }
}

static void test_non_canonical_refused(void **state)
{
    static const char *const bad[] = {
        "Zg=", "Zg", "Z===", "====", "Zh==", "Zm9=", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v",
        "Zm9v====", "Z=g=",
    };
    uint8_t dec[16];
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_error err = {0};
        if (nw_base64_decode(dec, sizeof dec, &n, bad[i], strlen(bad[i]), &err) == NW_OK)
            fail_msg("accepted non-canonical \"%s\"", bad[i]);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_output_bound(void **state)
{
    uint8_t dec[5];
    size_t n;
    char small[8];
    (void)state;
    assert_int_equal(nw_base64_decode(dec, sizeof dec, &n, "Zm9vYmFy", 8, NULL), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_base64_encode(small, sizeof small, (const uint8_t *)"foob", 4), NW_ERR_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors_both_ways),
        cmocka_unit_test(test_all_byte_values_round_trip),
        cmocka_unit_test(test_non_canonical_refused),
        cmocka_unit_test(test_output_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
