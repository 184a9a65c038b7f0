/*
 * test_u256.c - 256-bit quantities: parsing at the bounds, conversions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/u256.h"

static const char max_dec[] = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
static const char max_hex[] = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

static void parse_ok(struct nw_u256 *x, const char *s, unsigned flags)
{
    struct nw_error err = {0};
    if (nw_u256_parse(x, s, strlen(s), flags, &err) != NW_OK)
        fail_msg("\"%s\" refused: %s", s, err.msg);
}

static void test_max_value_both_forms(void **state)
{
    struct nw_u256 a, b;
    char dec[80];
    uint8_t be[32];
    (void)state;
    parse_ok(&a, max_dec, NW_U256_STRICT);
    parse_ok(&b, max_hex, NW_U256_STRICT);
    assert_int_equal(nw_u256_cmp(&a, &b), 0);
    assert_int_equal(nw_u256_bits(&a), 256);
    nw_u256_to_dec(dec, sizeof dec, &a);
    assert_string_equal(dec, max_dec);
    nw_u256_to_be32(be, &a);
    for (int i = 0; i < 32; i++)
        assert_int_equal(be[i], 0xff);
}

static void test_small_values_and_conversions(void **state)
{
    struct nw_u256 x, y;
    uint8_t min[32];
    uint64_t v;
    char dec[80];
    (void)state;
    parse_ok(&x, "0x0", NW_U256_STRICT);
    assert_true(nw_u256_is_zero(&x));
    assert_int_equal(nw_u256_to_min_be(min, &x), 0);
    nw_u256_to_dec(dec, sizeof dec, &x);
    assert_string_equal(dec, "0");
    parse_ok(&x, "1024", NW_U256_STRICT);
    assert_int_equal(nw_u256_to_min_be(min, &x), 2);
    assert_memory_equal(min, "\x04\x00", 2);
    assert_true(nw_u256_to_u64(&x, &v));
    assert_int_equal(v, 1024);
    parse_ok(&y, "0x10000000000000000", NW_U256_STRICT);
    assert_false(nw_u256_to_u64(&y, &v));
    assert_int_equal(nw_u256_bits(&y), 65);
    assert_int_equal(nw_u256_cmp(&x, &y), -1);
    assert_int_equal(nw_u256_cmp(&y, &x), 1);
    nw_u256_from_be(&x, (const uint8_t *)"\x01\x00\x00\x00\x00\x00\x00\x00\x00", 9);
    assert_int_equal(nw_u256_cmp(&x, &y), 0);
}

static void test_negate_is_twos_complement(void **state)
{
    struct nw_u256 x;
    uint8_t be[32];
    (void)state;
    nw_u256_from_u64(&x, 1);
    nw_u256_negate(&x);
    nw_u256_to_be32(be, &x);
    for (int i = 0; i < 32; i++)
        assert_int_equal(be[i], 0xff);
    nw_u256_negate(&x);
    assert_int_equal(x.w[0], 1);
    nw_u256_from_u64(&x, 0);
    nw_u256_negate(&x);
    assert_true(nw_u256_is_zero(&x));
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {
        "", "0x", "0x01", "00", "01", "-1", "+1", "1 ", " 1", "0X1", "0xg", "1e3", "0x-1",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        "0x10000000000000000000000000000000000000000000000000000000000000000",
    };
    struct nw_u256 x;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_error err = {0};
        if (nw_u256_parse(&x, bad[i], strlen(bad[i]), NW_U256_STRICT, &err) == NW_OK)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(nw_u256_is_zero(&x));
        assert_true(err.msg[0] != '\0');
    }
}

static void test_leading_zeros_only_when_asked(void **state)
{
    struct nw_u256 x;
    (void)state;
    parse_ok(&x, "0x0001", NW_U256_LEADING_ZEROS);
    assert_int_equal(x.w[0], 1);
    parse_ok(&x, "007", NW_U256_LEADING_ZEROS);
    assert_int_equal(x.w[0], 7);
    parse_ok(&x, "0x00000000000000000000000000000000000000000000000000000000000000000000ff", NW_U256_LEADING_ZEROS);
    assert_int_equal(x.w[0], 255);
    assert_int_equal(nw_u256_parse(&x, "0x0001", 6, NW_U256_STRICT, NULL), NW_ERR_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_value_both_forms),
        cmocka_unit_test(test_small_values_and_conversions),
        cmocka_unit_test(test_negate_is_twos_complement),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_leading_zeros_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
