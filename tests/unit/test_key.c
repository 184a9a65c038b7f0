/*
 * test_key.c - keys, addresses and EIP-55 against published vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/key.h"

/* The EIP-55 specification's test cases (https://eips.ethereum.org/EIPS/eip-55). */
static const char *const eip55[] = {
    "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};

static void test_eip55_vectors(void **state)
{
    (void)state;
    for (size_t i = 4; i < sizeof eip55 / sizeof eip55[0]; i++) {
        uint8_t addr[20];
        char out[NW_ADDRESS_STR_SIZE];
        assert_int_equal(nw_address_parse(addr, eip55[i], 42, NULL), NW_OK);
        nw_address_to_checksum(out, addr);
        assert_string_equal(out, eip55[i]);
    }
    /* The all-caps and all-lower vectors parse as they are. */
    for (size_t i = 0; i < 4; i++) {
        uint8_t addr[20];
        assert_int_equal(nw_address_parse(addr, eip55[i], 42, NULL), NW_OK);
    }
}

static void test_bad_checksum_refused_per_letter(void **state)
{
    (void)state;
    /* Flipping the case of any one letter of a checksummed address breaks it. */
    for (size_t i = 4; i < sizeof eip55 / sizeof eip55[0]; i++) {
        for (size_t k = 2; k < 42; k++) {
            char s[43];
            uint8_t addr[20];
            struct nw_error err = {0};
            memcpy(s, eip55[i], 43);
            if (s[k] >= 'a' && s[k] <= 'f')
                s[k] = (char)(s[k] - 'a' + 'A');
            else if (s[k] >= 'A' && s[k] <= 'F')
                s[k] = (char)(s[k] - 'A' + 'a');
            else
                continue;
            /* A flip that leaves one case only is a valid all-lower/upper form. */
            int lower = 0, upper = 0;
            for (size_t m = 2; m < 42; m++) {
                lower |= s[m] >= 'a' && s[m] <= 'f';
                upper |= s[m] >= 'A' && s[m] <= 'F';
            }
            if (!(lower && upper))
                continue;
            assert_int_equal(nw_address_parse(addr, s, 42, &err), NW_ERR_BAD_REQUEST);
            assert_non_null(strstr(err.msg, "EIP-55 checksum"));
        }
    }
}

static void test_known_key_addresses(void **state)
{
    /* Key 1 and the EIP-155 example key (0x46 * 32), with their published addresses. */
    static const char *const pairs[][2] = {
        {"0x0000000000000000000000000000000000000000000000000000000000000001",
         "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
        {"0x4646464646464646464646464646464646464646464646464646464646464646",
         "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"},
    };
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct nw_secret sk;
        uint8_t e[32], addr[20];
        char out[NW_ADDRESS_STR_SIZE];
        assert_int_equal(nw_hex_decode_exact(e, 32, pairs[i][0], 66, NULL), NW_OK);
        assert_int_equal(nw_key_from_entropy(&sk, e), NW_OK);
        assert_int_equal(nw_key_address(addr, sk.data), NW_OK);
        nw_address_to_checksum(out, addr);
        assert_string_equal(out, pairs[i][1]);
        nw_secret_free(&sk);
    }
}

static void test_out_of_range_entropy_refused(void **state)
{
    /* secp256k1 group order n (SEC 2, section 2.4.1). */
    static const char n_hex[] = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    static const char n1_hex[] = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
    uint8_t e[32];
    struct nw_secret sk;
    (void)state;

    memset(e, 0, 32);
    assert_int_equal(nw_key_from_entropy(&sk, e), NW_ERR_KEY_INVALID);
    assert_null(sk.data);
    memset(e, 0xff, 32);
    assert_int_equal(nw_key_from_entropy(&sk, e), NW_ERR_KEY_INVALID);
    assert_int_equal(nw_hex_decode_exact(e, 32, n_hex, 66, NULL), NW_OK);
    assert_int_equal(nw_key_from_entropy(&sk, e), NW_ERR_KEY_INVALID);
    assert_int_equal(nw_hex_decode_exact(e, 32, n1_hex, 66, NULL), NW_OK);
    assert_int_equal(nw_key_from_entropy(&sk, e), NW_OK);
    nw_secret_free(&sk);
}

static void test_generate_sign_recover(void **state)
{
    struct nw_secret a, b;
    uint8_t digest[32] = {1, 2, 3}, addr[20], rec[20];
    struct nw_sig s1, s2;
    (void)state;
    assert_int_equal(nw_key_generate(&a), NW_OK);
    assert_int_equal(nw_key_generate(&b), NW_OK);
    assert_memory_not_equal(a.data, b.data, 32);
    assert_int_equal(nw_key_address(addr, a.data), NW_OK);
    assert_int_equal(nw_sign_digest(&s1, a.data, digest), NW_OK);
    assert_int_equal(nw_sign_digest(&s2, a.data, digest), NW_OK);
    assert_memory_equal(&s1, &s2, sizeof s1); /* RFC 6979: deterministic */
    assert_true(s1.s[0] < 0x80);              /* low-S (EIP-2) */
    assert_int_equal(nw_recover_address(rec, &s1, digest), NW_OK);
    assert_memory_equal(rec, addr, 20);
    digest[0] ^= 1;
    assert_int_equal(nw_recover_address(rec, &s1, digest), NW_OK);
    assert_memory_not_equal(rec, addr, 20);
    nw_secret_free(&a);
    nw_secret_free(&b);
}

static void test_address_form_refusals(void **state)
{
    static const char *const bad[] = {
        "", "0x", "52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886E0F7030069857D2E4169EE",
        "0x52908400098527886E0F7030069857D2E4169EE70", "0X52908400098527886E0F7030069857D2E4169EE7",
        "0x52908400098527886E0F7030069857D2E4169EEG",
    };
    uint8_t addr[20];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_error err = {0};
        assert_int_not_equal(nw_address_parse(addr, bad[i], strlen(bad[i]), &err), NW_OK);
        assert_true(err.msg[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip55_vectors),
        cmocka_unit_test(test_bad_checksum_refused_per_letter),
        cmocka_unit_test(test_known_key_addresses),
        cmocka_unit_test(test_out_of_range_entropy_refused),
        cmocka_unit_test(test_generate_sign_recover),
        cmocka_unit_test(test_address_form_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
