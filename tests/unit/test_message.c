/*
 * test_message.c - EIP-191 personal_sign hashing and signatures.
 * (Thousands of random messages are also checked against ethers by the
 * oracle in tests/oracle.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/message.h"

static void test_hello_world_hash(void **state)
{
    /* ethers v6 documentation, hashMessage("Hello World"). */
    static const char want[] = "0xa1de988600a42c4b4ab089b619297c17d53cffae5d5120d82d8a92d0bb3b78f2";
    uint8_t d[32];
    char hex[NW_HEX_SIZE(32)];
    (void)state;
    assert_int_equal(nw_eip191_hash(d, (const uint8_t *)"Hello World", 11, NULL), NW_OK);
    assert_int_equal(nw_hex_encode(hex, sizeof hex, d, 32), NW_OK);
    assert_string_equal(hex, want);
}

static void test_signature_recovers_with_v_27_28(void **state)
{
    struct nw_secret sk;
    uint8_t sig[65], d[32], addr[20], rec[20];
    struct nw_sig s;
    (void)state;
    assert_int_equal(nw_key_generate(&sk), NW_OK);
    assert_int_equal(nw_key_address(addr, sk.data), NW_OK);
    assert_int_equal(nw_eip191_sign(sig, sk.data, (const uint8_t *)"", 0, NULL), NW_OK);
    assert_true(sig[64] == 27 || sig[64] == 28);
    memcpy(s.r, sig, 32);
    memcpy(s.s, sig + 32, 32);
    s.y_parity = sig[64] - 27;
    assert_int_equal(nw_eip191_hash(d, (const uint8_t *)"", 0, NULL), NW_OK);
    assert_int_equal(nw_recover_address(rec, &s, d), NW_OK);
    assert_memory_equal(rec, addr, 20);
    nw_secret_free(&sk);
}

static void test_size_bound(void **state)
{
    uint8_t *m = calloc(1, NW_MESSAGE_MAX + 1);
    uint8_t d[32];
    struct nw_error err = {0};
    (void)state;
    assert_non_null(m);
    assert_int_equal(nw_eip191_hash(d, m, NW_MESSAGE_MAX, &err), NW_OK);
    assert_int_equal(nw_eip191_hash(d, m, NW_MESSAGE_MAX + 1, &err), NW_ERR_TOO_LARGE);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_world_hash),
        cmocka_unit_test(test_signature_recovers_with_v_27_28),
        cmocka_unit_test(test_size_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
