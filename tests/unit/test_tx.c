/*
 * test_tx.c - transaction JSON parsing, refusals and signing.
 *
 * Byte-exact agreement with independent implementations is proved by the
 * ethers oracle (tests/oracle) and the published vectors it replays
 * (tests/data/published_vectors.jsonl); here: the EIP-155 example from the
 * EIP text, and one negative test per refusal in docs/signing.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/keccak.h"
#include "nitrowallet/rlp.h"
#include "nitrowallet/tx.h"

/* EIP-155 example: https://eips.ethereum.org/EIPS/eip-155 */
static const char eip155_key[] = "0x4646464646464646464646464646464646464646464646464646464646464646";
static const char eip155_tx[] =
    "{\"chainId\":1,\"nonce\":9,\"gasPrice\":\"20000000000\",\"gas\":21000,"
    "\"to\":\"0x3535353535353535353535353535353535353535\",\"value\":\"1000000000000000000\",\"data\":\"0x\"}";
static const char eip155_signing_hash[] = "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53";
static const char eip155_raw[] =
    "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2"
    "195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b"
    "6d83";

static void load_key(struct nw_secret *sk, const char *hex)
{
    assert_int_equal(nw_secret_alloc(sk, 32), NW_OK);
    assert_int_equal(nw_hex_decode_exact(sk->data, 32, hex, strlen(hex), NULL), NW_OK);
}

static void hex_of(char *out, size_t cap, const uint8_t *p, size_t n)
{
    assert_int_equal(nw_hex_encode(out, cap, p, n), NW_OK);
}

static void test_eip155_example_signs_byte_exact(void **state)
{
    struct nw_secret sk;
    struct nw_tx tx;
    struct nw_signed_tx out;
    struct nw_error err = {0};
    uint8_t h[32];
    char buf[512];
    (void)state;

    load_key(&sk, eip155_key);
    assert_int_equal(nw_tx_parse(&tx, eip155_tx, strlen(eip155_tx), &err), NW_OK);
    assert_int_equal(tx.type, NW_TX_LEGACY);
    assert_int_equal(nw_tx_signing_hash(h, &tx, &err), NW_OK);
    hex_of(buf, sizeof buf, h, 32);
    assert_string_equal(buf, eip155_signing_hash);
    assert_int_equal(nw_tx_sign(&out, &tx, sk.data, &err), NW_OK);
    hex_of(buf, sizeof buf, out.raw.data, out.raw.len);
    assert_string_equal(buf, eip155_raw);
    assert_int_equal(out.v, 37);
    nw_keccak256(h, out.raw.data, out.raw.len);
    assert_memory_equal(h, out.hash, 32);
    /* nw_tx_sign_as (address already known) gives the same bytes */
    struct nw_signed_tx as;
    assert_int_equal(nw_tx_sign_as(&as, &tx, sk.data, out.from, &err), NW_OK);
    assert_int_equal(as.raw.len, out.raw.len);
    assert_memory_equal(as.raw.data, out.raw.data, out.raw.len);
    assert_memory_equal(as.from, out.from, 20);
    nw_signed_tx_free(&as);
    nw_signed_tx_free(&out);
    nw_tx_free(&tx);
    nw_secret_free(&sk);
}

/* A signed typed transaction decodes as canonical RLP with the fields in
 * EIP-1559 order and recovers to the signer. */
static void test_eip1559_roundtrip_decodes_and_recovers(void **state)
{
    static const char j[] =
        "{\"type\":\"0x2\",\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"maxFeePerGas\":\"0x77359400\","
        "\"maxPriorityFeePerGas\":\"0x3b9aca00\",\"gasLimit\":\"0x5208\",\"to\":null,\"value\":\"0\","
        "\"input\":\"0x6001\",\"accessList\":[{\"address\":\"0x000000000000000000000000000000000000dead\","
        "\"storageKeys\":[\"0x0000000000000000000000000000000000000000000000000000000000000001\"]}]}";
    struct nw_secret sk;
    struct nw_tx tx;
    struct nw_signed_tx out;
    struct nw_rlp_item top, item;
    struct nw_error err = {0};
    uint8_t digest[32], addr[20];
    size_t pos = 0, fields = 0;
    (void)state;

    load_key(&sk, eip155_key);
    assert_int_equal(nw_tx_parse(&tx, j, strlen(j), &err), NW_OK);
    assert_int_equal(tx.type, NW_TX_EIP1559);
    assert_false(tx.has_to);
    assert_int_equal(nw_tx_sign(&out, &tx, sk.data, &err), NW_OK);
    assert_int_equal(out.raw.data[0], 2);
    assert_int_equal(nw_rlp_decode(&top, out.raw.data + 1, out.raw.len - 1, &err), NW_OK);
    assert_true(top.is_list);
    while (pos < top.len) {
        assert_int_equal(nw_rlp_next(&item, top.payload, top.len, &pos, &err), NW_OK);
        if (fields == 5)
            assert_int_equal(item.len, 0); /* to: empty for contract creation */
        if (fields == 8)
            assert_true(item.is_list); /* accessList */
        fields++;
    }
    assert_int_equal(fields, 12);
    assert_int_equal(nw_tx_signing_hash(digest, &tx, &err), NW_OK);
    assert_int_equal(nw_recover_address(addr, &out.sig, digest), NW_OK);
    assert_memory_equal(addr, out.from, 20);
    nw_signed_tx_free(&out);
    nw_tx_free(&tx);
    nw_secret_free(&sk);
}

static void test_type_is_inferred(void **state)
{
    static const struct {
        const char *json;
        enum nw_tx_type type;
    } cases[] = {
        {"{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":1}", NW_TX_LEGACY},
        {"{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":1,\"accessList\":[]}", NW_TX_EIP2930},
        {"{\"chainId\":1,\"nonce\":0,\"gas\":1,\"maxFeePerGas\":2,\"maxPriorityFeePerGas\":1}", NW_TX_EIP1559},
        {"{\"type\":1,\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":1}", NW_TX_EIP2930},
        {"{\"type\":\"2\",\"chainId\":1,\"nonce\":0,\"gas\":1,\"maxFeePerGas\":2,\"maxPriorityFeePerGas\":2}",
         NW_TX_EIP1559},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nw_tx tx;
        struct nw_error err = {0};
        assert_int_equal(nw_tx_parse(&tx, cases[i].json, strlen(cases[i].json), &err), NW_OK);
        assert_int_equal(tx.type, cases[i].type);
        nw_tx_free(&tx);
    }
}

/* Accepted edge forms: aliases that agree, maximal values, both address cases. */
static void test_accepts_edge_forms(void **state)
{
    static const char *const ok[] = {
        "{\"chainId\":\"9223372036854775771\",\"nonce\":\"0xfffffffffffffffe\",\"gas\":\"0xffffffffffffffff\","
        "\"gasPrice\":\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\","
        "\"value\":\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"}",
        "{\"chainId\":1,\"nonce\":9007199254740991,\"gas\":1,\"gasLimit\":\"0x1\",\"gasPrice\":0,"
        "\"data\":\"0xAB\",\"input\":\"0xab\"}",
        "{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":0,\"to\":\"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED\"}",
        "{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":0,\"to\":\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"}",
        "{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":0,\"to\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\"}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct nw_tx tx;
        struct nw_error err = {0};
        enum nw_err rc = nw_tx_parse(&tx, ok[i], strlen(ok[i]), &err);
        if (rc != NW_OK)
            fail_msg("case %zu refused: %s", i, err.msg);
        nw_tx_free(&tx);
    }
}

struct refusal {
    const char *json;
    enum nw_err code;
    const char *msg; /* substring the message must contain */
};

#define BASE "\"chainId\":1,\"nonce\":0,\"gas\":21000"
static const struct refusal refusals[] = {
    /* JSON form */
    {"", NW_ERR_BAD_REQUEST, "unexpected end of input"},
    {"[]", NW_ERR_BAD_REQUEST, "expected a JSON object"},
    {"{" BASE ",\"gasPrice\":1", NW_ERR_BAD_REQUEST, "unterminated object"},
    {"{" BASE ",\"gasPrice\":1} x", NW_ERR_BAD_REQUEST, "trailing characters"},
    {"{" BASE ",\"gasPrice\":1,\"gasPrice\":2}", NW_ERR_BAD_REQUEST, "duplicate key \"gasPrice\""},
    {"{" BASE ",\"gasPrice\":1,\"hash\":\"0x00\"}", NW_ERR_BAD_REQUEST, "unknown field \"hash\""},
    {"{" BASE ",\"gasPrice\":1,\"Nonce\":1}", NW_ERR_BAD_REQUEST, "unknown field \"Nonce\""},
    /* numbers */
    {"{" BASE ",\"gasPrice\":1.5}", NW_ERR_BAD_REQUEST, "fraction or exponent"},
    {"{" BASE ",\"gasPrice\":1e9}", NW_ERR_BAD_REQUEST, "fraction or exponent"},
    {"{" BASE ",\"gasPrice\":-1}", NW_ERR_BAD_REQUEST, "gasPrice: negative"},
    {"{" BASE ",\"gasPrice\":-0}", NW_ERR_BAD_REQUEST, "gasPrice: negative"},
    {"{" BASE ",\"gasPrice\":9007199254740992}", NW_ERR_BAD_REQUEST, "gasPrice: JSON number is 2^53 or more"},
    {"{" BASE ",\"gasPrice\":012}", NW_ERR_BAD_REQUEST, "leading zero"},
    {"{" BASE ",\"gasPrice\":true}", NW_ERR_BAD_REQUEST, "gasPrice: expected a quantity"},
    /* quantity strings */
    {"{" BASE ",\"gasPrice\":\"\"}", NW_ERR_BAD_REQUEST, "gasPrice: empty quantity"},
    {"{" BASE ",\"gasPrice\":\"0x\"}", NW_ERR_BAD_REQUEST, "gasPrice: empty hex quantity"},
    {"{" BASE ",\"gasPrice\":\"0x01\"}", NW_ERR_BAD_REQUEST, "gasPrice: hex quantity has leading zero"},
    {"{" BASE ",\"gasPrice\":\"0xg1\"}", NW_ERR_BAD_REQUEST, "gasPrice: invalid hex digit"},
    {"{" BASE ",\"gasPrice\":\"0X1\"}", NW_ERR_BAD_REQUEST, "gasPrice: hex quantity must start with lowercase"},
    {"{" BASE ",\"gasPrice\":\"-1\"}", NW_ERR_BAD_REQUEST, "gasPrice: invalid decimal digit"},
    {"{" BASE ",\"gasPrice\":\"01\"}", NW_ERR_BAD_REQUEST, "gasPrice: decimal quantity has leading zeros"},
    {"{" BASE ",\"gasPrice\":\"1.5\"}", NW_ERR_BAD_REQUEST, "gasPrice: invalid decimal digit"},
    {"{" BASE ",\"gasPrice\":\" 1\"}", NW_ERR_BAD_REQUEST, "gasPrice: invalid decimal digit"},
    {"{" BASE ",\"gasPrice\":\"0x10000000000000000000000000000000000000000000000000000000000000000\"}",
     NW_ERR_BAD_REQUEST, "gasPrice: quantity exceeds 2^256-1"},
    {"{" BASE ",\"gasPrice\":1,\"value\":"
     "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"}",
     NW_ERR_BAD_REQUEST, "value: quantity exceeds 2^256-1"},
    /* per-field bounds */
    {"{\"chainId\":0,\"nonce\":0,\"gas\":1,\"gasPrice\":1}", NW_ERR_BAD_REQUEST, "chainId: must not be 0"},
    {"{\"chainId\":\"9223372036854775772\",\"nonce\":0,\"gas\":1,\"gasPrice\":1}", NW_ERR_BAD_REQUEST,
     "chainId: value exceeds the maximum"},
    {"{\"chainId\":1,\"nonce\":\"0xffffffffffffffff\",\"gas\":1,\"gasPrice\":1}", NW_ERR_BAD_REQUEST,
     "nonce: value exceeds the maximum"},
    {"{\"chainId\":1,\"nonce\":0,\"gas\":\"0x10000000000000000\",\"gasPrice\":1}", NW_ERR_BAD_REQUEST,
     "gas: value exceeds the maximum"},
    /* required fields */
    {"{\"nonce\":0,\"gas\":1,\"gasPrice\":1}", NW_ERR_BAD_REQUEST, "chainId: required"},
    {"{\"chainId\":1,\"gas\":1,\"gasPrice\":1}", NW_ERR_BAD_REQUEST, "nonce: required"},
    {"{\"chainId\":1,\"nonce\":0,\"gasPrice\":1}", NW_ERR_BAD_REQUEST, "gas: required"},
    {"{" BASE "}", NW_ERR_BAD_REQUEST, "gasPrice: required for a type 0"},
    {"{" BASE ",\"type\":1}", NW_ERR_BAD_REQUEST, "gasPrice: required for a type 1"},
    {"{" BASE ",\"type\":2,\"maxFeePerGas\":1}", NW_ERR_BAD_REQUEST, "maxPriorityFeePerGas: required"},
    {"{" BASE ",\"type\":2,\"maxPriorityFeePerGas\":1}", NW_ERR_BAD_REQUEST, "maxFeePerGas: required"},
    /* type membership */
    {"{" BASE ",\"type\":3,\"gasPrice\":1}", NW_ERR_BAD_REQUEST, "unsupported transaction type 3"},
    {"{" BASE ",\"type\":\"0x02\",\"gasPrice\":1}", NW_ERR_BAD_REQUEST, "type: hex quantity has leading zero"},
    {"{" BASE ",\"type\":0,\"gasPrice\":1,\"accessList\":[]}", NW_ERR_BAD_REQUEST,
     "accessList: field does not belong to a type 0"},
    {"{" BASE ",\"type\":0,\"gasPrice\":1,\"maxFeePerGas\":1}", NW_ERR_BAD_REQUEST,
     "maxFeePerGas: field does not belong to a type 0"},
    {"{" BASE ",\"type\":1,\"gasPrice\":1,\"maxPriorityFeePerGas\":1}", NW_ERR_BAD_REQUEST,
     "maxPriorityFeePerGas: field does not belong to a type 1"},
    {"{" BASE ",\"gasPrice\":1,\"maxFeePerGas\":1,\"maxPriorityFeePerGas\":1}", NW_ERR_BAD_REQUEST,
     "gasPrice: field does not belong to a type 2"},
    {"{" BASE ",\"maxFeePerGas\":1,\"maxPriorityFeePerGas\":2}", NW_ERR_BAD_REQUEST,
     "maxPriorityFeePerGas: exceeds maxFeePerGas"},
    /* aliases */
    {"{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasLimit\":2,\"gasPrice\":1}", NW_ERR_BAD_REQUEST,
     "gas and gasLimit are both given and differ"},
    {"{" BASE ",\"gasPrice\":1,\"data\":\"0x01\",\"input\":\"0x02\"}", NW_ERR_BAD_REQUEST,
     "data and input are both given and differ"},
    /* to / from */
    {"{" BASE ",\"gasPrice\":1,\"to\":\"\"}", NW_ERR_BAD_REQUEST, "to: address must be"},
    {"{" BASE ",\"gasPrice\":1,\"to\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea\"}", NW_ERR_BAD_REQUEST,
     "to: address must be"},
    {"{" BASE ",\"gasPrice\":1,\"to\":\"5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00\"}", NW_ERR_BAD_REQUEST,
     "to: address must be"},
    {"{" BASE ",\"gasPrice\":1,\"to\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg\"}", NW_ERR_BAD_REQUEST,
     "to: invalid hex digit"},
    {"{" BASE ",\"gasPrice\":1,\"to\":\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\"}", NW_ERR_BAD_REQUEST,
     "to: mixed-case address fails its EIP-55 checksum"},
    {"{" BASE ",\"gasPrice\":1,\"to\":1}", NW_ERR_BAD_REQUEST, "to: expected a string"},
    {"{" BASE ",\"gasPrice\":1,\"from\":null}", NW_ERR_BAD_REQUEST, "from: expected a string"},
    /* data */
    {"{" BASE ",\"gasPrice\":1,\"data\":\"ab\"}", NW_ERR_BAD_REQUEST, "data: hex data must start with \"0x\""},
    {"{" BASE ",\"gasPrice\":1,\"data\":\"0xabc\"}", NW_ERR_BAD_REQUEST, "data: hex data has an odd number"},
    {"{" BASE ",\"gasPrice\":1,\"data\":\"0xzz\"}", NW_ERR_BAD_REQUEST, "data: invalid hex digit"},
    {"{" BASE ",\"gasPrice\":1,\"input\":null}", NW_ERR_BAD_REQUEST, "input: expected a string"},
    /* access lists */
    {"{" BASE ",\"gasPrice\":1,\"accessList\":{}}", NW_ERR_BAD_REQUEST, "accessList: expected an array"},
    {"{" BASE ",\"gasPrice\":1,\"accessList\":[{\"address\":\"0x0000000000000000000000000000000000000001\"}]}",
     NW_ERR_BAD_REQUEST, "accessList[0]: needs both address and storageKeys"},
    {"{" BASE ",\"gasPrice\":1,\"accessList\":[{\"address\":\"0x0000000000000000000000000000000000000001\","
     "\"storageKeys\":[],\"x\":1}]}",
     NW_ERR_BAD_REQUEST, "accessList[0]: unknown field \"x\""},
    {"{" BASE ",\"gasPrice\":1,\"accessList\":[{\"address\":\"0x00\",\"storageKeys\":[]}]}", NW_ERR_BAD_REQUEST,
     "accessList[0].address: address must be"},
    {"{" BASE ",\"gasPrice\":1,\"accessList\":[{\"address\":\"0x0000000000000000000000000000000000000001\","
     "\"storageKeys\":[\"0x01\"]}]}",
     NW_ERR_BAD_REQUEST, "accessList[0].storageKeys[0]: expected \"0x\" and 64 hex digits"},
    {"{" BASE ",\"gasPrice\":1,\"accessList\":[{\"address\":\"0x0000000000000000000000000000000000000001\","
     "\"storageKeys\":[1]}]}",
     NW_ERR_BAD_REQUEST, "accessList[0].storageKeys[0]: expected a 32-byte hex string"},
    {"{" BASE ",\"gasPrice\":1,\"accessList\":[1]}", NW_ERR_BAD_REQUEST, "accessList[0]: expected a JSON object"},
    /* strings the JSON layer refuses */
    {"{" BASE ",\"gasPrice\":\"1\\u0000\"}", NW_ERR_BAD_REQUEST, "\\u0000 is not allowed"},
    {"{" BASE ",\"gasPrice\":\"\xff\"}", NW_ERR_BAD_REQUEST, "invalid UTF-8"},
    {"{" BASE ",\"gasPrice\":\"\\ud800\"}", NW_ERR_BAD_REQUEST, "unpaired high surrogate"},
};

static void test_every_refusal_has_its_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        struct nw_tx tx;
        struct nw_error err = {0};
        enum nw_err rc = nw_tx_parse(&tx, refusals[i].json, strlen(refusals[i].json), &err);
        if (rc != refusals[i].code || strstr(err.msg, refusals[i].msg) == NULL)
            fail_msg("case %zu: %s\n  want %s \"%s\"\n  got  %s \"%s\"", i, refusals[i].json,
                     nw_err_name(refusals[i].code), refusals[i].msg, nw_err_name(rc), err.msg);
        /* Nothing is left allocated or half-filled after a refusal. */
        assert_null(tx.data);
        assert_null(tx.access_list);
    }
}

static void test_bounds_refused(void **state)
{
    static const char head[] = "{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":1,\"data\":\"0x";
    size_t n = sizeof head - 1 + 2 * (NW_TX_MAX_DATA + 1) + 2;
    char *j = malloc(n + 1);
    struct nw_tx tx;
    struct nw_error err = {0};
    (void)state;

    assert_non_null(j);
    memcpy(j, head, sizeof head - 1);
    memset(j + sizeof head - 1, 'a', 2 * (NW_TX_MAX_DATA + 1));
    memcpy(j + n - 2, "\"}", 2);
    j[n] = '\0';
    assert_int_equal(nw_tx_parse(&tx, j, n, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "data: hex data is 131073 bytes, at most 131072"));
    /* exactly at the bound is accepted */
    memcpy(j + n - 4, "\"}", 2);
    assert_int_equal(nw_tx_parse(&tx, j, n - 2, &err), NW_OK);
    assert_int_equal(tx.data_len, NW_TX_MAX_DATA);
    nw_tx_free(&tx);
    free(j);
}

static void test_from_must_match_signer(void **state)
{
    static const char j[] = "{\"chainId\":1,\"nonce\":0,\"gas\":1,\"gasPrice\":1,"
                            "\"from\":\"0x0000000000000000000000000000000000000001\"}";
    struct nw_secret sk;
    struct nw_tx tx;
    struct nw_signed_tx out;
    struct nw_error err = {0};
    (void)state;

    load_key(&sk, eip155_key);
    assert_int_equal(nw_tx_parse(&tx, j, strlen(j), &err), NW_OK);
    assert_int_equal(nw_tx_sign(&out, &tx, sk.data, &err), NW_ERR_POLICY_DENIED);
    assert_non_null(strstr(err.msg, "from: does not match"));
    assert_null(out.raw.data);
    nw_tx_free(&tx);
    nw_secret_free(&sk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip155_example_signs_byte_exact),
        cmocka_unit_test(test_eip1559_roundtrip_decodes_and_recovers),
        cmocka_unit_test(test_type_is_inferred),
        cmocka_unit_test(test_accepts_edge_forms),
        cmocka_unit_test(test_every_refusal_has_its_message),
        cmocka_unit_test(test_bounds_refused),
        cmocka_unit_test(test_from_must_match_signer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
