/*
 * test_eip712.c - unit tests for src/eth/eip712.c (EIP-712 typed data).
 *
 * Known-answer vectors, each with its source:
 *  - the EIP's "Ether Mail" example: MetaMask eth-sig-util
 *    src/sign-typed-data.test.ts (earlier src/index.test.ts) "signedTypeData"
 *    and go-ethereum signer/core/signed_data_test.go assert typeHash
 *    0xa0ce..., domainSeparator 0xf2ce..., hashStruct 0xc52c..., digest
 *    0xbe60...; ethereum/EIPs assets/eip-712/Example.js asserts the same
 *    encodeType/typeHash/hashStruct and, for its domain with the extra
 *    member httpOrigin, the digest 0xa5f5...;
 *  - eth-sig-util "signedTypeData_v4" (arrays of structs and addresses) and
 *    "signedTypeData with bytes";
 *  - two vectors computed with ethers 6.15.0 TypedDataEncoder (derived
 *    domains, int/uint bounds, hex and decimal strings, nested fixed and
 *    dynamic arrays, empty bytes, JSON unicode escapes) with
 *    tests/oracle/node_modules/ethers;
 *  - hand-built expectations (keccak of the spec formulas) for encodeType
 *    ordering, empty structs, recursive types and single-word encodings.
 * Then one test per refusal, checking the code and the message's path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/eip712.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/keccak.h"

/* ---- helpers ----------------------------------------------------------- */

static enum nw_err run(const char *json, struct nw_eip712_hashes *h, struct nw_error *e)
{
    memset(e, 0, sizeof *e);
    return nw_eip712_hash_json(h, json, strlen(json), e);
}

static void assert_hex32(const uint8_t got[32], const char *want_hex)
{
    uint8_t want[32];
    struct nw_error e;

    assert_int_equal(nw_hex_decode_exact(want, 32, want_hex, strlen(want_hex), &e), NW_OK);
    assert_memory_equal(got, want, 32);
}

static void assert_ok(const char *json, const char *domain, const char *st, const char *digest)
{
    struct nw_eip712_hashes h;
    struct nw_error e;
    enum nw_err rc = run(json, &h, &e);

    if (rc != NW_OK)
        fail_msg("unexpected error: %s", e.msg);
    if (domain != NULL)
        assert_hex32(h.domain_separator, domain);
    if (st != NULL)
        assert_hex32(h.struct_hash, st);
    if (digest != NULL)
        assert_hex32(h.digest, digest);
}

/* The call fails with `code` and a message containing `want`. */
static void assert_refused(const char *json, enum nw_err code, const char *want)
{
    struct nw_eip712_hashes h;
    struct nw_error e;
    static const uint8_t zero[32];
    enum nw_err rc = run(json, &h, &e);

    if (rc == NW_OK)
        fail_msg("accepted, expected \"%s\": %s", want, json);
    if (rc != code || strstr(e.msg, want) == NULL)
        fail_msg("got %d \"%s\", expected %d \"%s\"", rc, e.msg, code, want);
    assert_memory_equal(h.digest, zero, 32);
}

/* Typed data with one struct T {<type> v} and message {"v": <value>}. */
static char *one(const char *type, const char *value)
{
    static char buf[4096];

    snprintf(buf, sizeof buf,
             "{\"types\":{\"T\":[{\"name\":\"v\",\"type\":\"%s\"}]},\"primaryType\":\"T\","
             "\"domain\":{},\"message\":{\"v\":%s}}",
             type, value);
    return buf;
}

static void keccak_str(uint8_t out[32], const char *s)
{
    nw_keccak256(out, s, strlen(s));
}

/* keccak(a || b || ...), each 32 bytes, NULL-terminated. */
static void keccak_words(uint8_t out[32], ...)
{
    struct nw_keccak k;
    const uint8_t *w;
    va_list ap;

    nw_keccak_init(&k);
    va_start(ap, out);
    while ((w = va_arg(ap, const uint8_t *)) != NULL)
        nw_keccak_update(&k, w, 32);
    va_end(ap);
    nw_keccak_final(&k, out);
}

/* T {<type> v} with message value `value` encodes to the word `word_hex`. */
static void assert_word(const char *type, const char *value, const char *word_hex)
{
    char enc_type[128];
    uint8_t th[32], word[32], want[32];
    struct nw_eip712_hashes h;
    struct nw_error e;
    enum nw_err rc = run(one(type, value), &h, &e);

    if (rc != NW_OK)
        fail_msg("%s %s: %s", type, value, e.msg);
    snprintf(enc_type, sizeof enc_type, "T(%s v)", type);
    keccak_str(th, enc_type);
    assert_int_equal(nw_hex_decode_exact(word, 32, word_hex, strlen(word_hex), &e), NW_OK);
    keccak_words(want, th, word, NULL);
    assert_memory_equal(h.struct_hash, want, 32);
}

#define MAIL_TYPES                                                                                                     \
    "\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"wallet\",\"type\":\"address\"}],"                 \
    "\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Person\"},"                         \
    "{\"name\":\"contents\",\"type\":\"string\"}]"
#define MAIL_DOMAIN_TYPE                                                                                               \
    "\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":\"string\"},"            \
    "{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":\"address\"}]"
#define MAIL_DOMAIN                                                                                                    \
    "{\"name\":\"Ether Mail\",\"version\":\"1\",\"chainId\":1,"                                                        \
    "\"verifyingContract\":\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"}"
#define MAIL_MESSAGE                                                                                                   \
    "{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"                          \
    "\"to\":{\"name\":\"Bob\",\"wallet\":\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},"                             \
    "\"contents\":\"Hello, Bob!\"}"

#define MAIL_DOMAIN_SEP "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
#define MAIL_STRUCT "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"
#define MAIL_DIGEST "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"

/* Mail typed data with `message` replaced. */
static char *mail_with(const char *message)
{
    static char buf[4096];

    snprintf(buf, sizeof buf,
             "{\"types\":{" MAIL_TYPES "},\"primaryType\":\"Mail\",\"domain\":" MAIL_DOMAIN ",\"message\":%s}",
             message);
    return buf;
}

/* ---- known answers ----------------------------------------------------- */

static void test_mail_example(void **state)
{
    static const char json[] = "{\"types\":{" MAIL_DOMAIN_TYPE "," MAIL_TYPES "},\"primaryType\":\"Mail\","
                               "\"domain\":" MAIL_DOMAIN ",\"message\":" MAIL_MESSAGE "}";
    uint8_t th[32];

    (void)state;
    keccak_str(th, "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
    assert_hex32(th, "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
    assert_ok(json, MAIL_DOMAIN_SEP, MAIL_STRUCT, MAIL_DIGEST);
}

/* Without types.EIP712Domain the domain type is derived (ethers). */
static void test_mail_derived_domain(void **state)
{
    (void)state;
    assert_ok(mail_with(MAIL_MESSAGE), MAIL_DOMAIN_SEP, MAIL_STRUCT, MAIL_DIGEST);
}

/* Lowercase addresses hash the same (eth-sig-util / hardware-wallet suites). */
static void test_mail_lowercase(void **state)
{
    (void)state;
    assert_ok(mail_with("{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826\"},"
                        "\"to\":{\"name\":\"Bob\",\"wallet\":\"0xBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\"},"
                        "\"contents\":\"Hello, Bob!\"}"),
              MAIL_DOMAIN_SEP, MAIL_STRUCT, MAIL_DIGEST);
}

/* ethereum/EIPs assets/eip-712/Example.js: a domain with member httpOrigin. */
static void test_eip_example_http_origin(void **state)
{
    static const char json[] =
        "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":"
        "\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"httpOrigin\",\"type\":\"string\"},"
        "{\"name\":\"verifyingContract\",\"type\":\"address\"}]," MAIL_TYPES "},\"primaryType\":\"Mail\","
        "\"domain\":{\"name\":\"Ether Mail\",\"version\":\"1\",\"chainId\":1,\"httpOrigin\":"
        "\"https://ether-mail.eth\",\"verifyingContract\":\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"},"
        "\"message\":" MAIL_MESSAGE "}";

    (void)state;
    assert_ok(json, NULL, MAIL_STRUCT, "0xa5f5fa6b05af38f2e9d2889ac36f5a4ba31e20646781d23739de458d86d6593e");
}

/* eth-sig-util "signedTypeData_v4": arrays of structs and of addresses. */
static void test_v4_arrays(void **state)
{
    static const char json[] =
        "{\"types\":{" MAIL_DOMAIN_TYPE ",\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":"
        "\"wallets\",\"type\":\"address[]\"}],\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":\"to\","
        "\"type\":\"Person[]\"},{\"name\":\"contents\",\"type\":\"string\"}],\"Group\":[{\"name\":\"name\","
        "\"type\":\"string\"},{\"name\":\"members\",\"type\":\"Person[]\"}]},\"domain\":" MAIL_DOMAIN ","
        "\"primaryType\":\"Mail\",\"message\":{\"from\":{\"name\":\"Cow\",\"wallets\":["
        "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\",\"0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF\"]},"
        "\"to\":[{\"name\":\"Bob\",\"wallets\":[\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\","
        "\"0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57\",\"0xB0B0b0b0b0b0B000000000000000000000000000\"]}],"
        "\"contents\":\"Hello, Bob!\"}}";

    (void)state;
    assert_ok(json, MAIL_DOMAIN_SEP, "0xeb4221181ff3f1a83ea7313993ca9218496e424604ba9492bb4052c03d5c3df8",
              "0xa85c2e2b118698e88db68a8105b794a8cc7cec074e89ef991cb4f5f533819cc2");
}

/* eth-sig-util "signedTypeData with bytes". */
static void test_v4_bytes(void **state)
{
    static const char json[] =
        "{\"types\":{" MAIL_DOMAIN_TYPE ",\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":"
        "\"wallet\",\"type\":\"address\"}],\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},{\"name\":\"to\","
        "\"type\":\"Person\"},{\"name\":\"contents\",\"type\":\"string\"},{\"name\":\"payload\",\"type\":"
        "\"bytes\"}]},\"primaryType\":\"Mail\",\"domain\":" MAIL_DOMAIN ",\"message\":{\"from\":{\"name\":"
        "\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},\"to\":{\"name\":\"Bob\",\"wallet\":"
        "\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},\"contents\":\"Hello, Bob!\",\"payload\":"
        "\"0x25192142931f380985072cdd991e37f65cf8253ba7a0e675b54163a1d133b8ca\"}}";

    (void)state;
    assert_ok(json, MAIL_DOMAIN_SEP, "0xe004bdc1ca57ba9ad5ea8c81e54dcbdb3bfce2d1d5ad92113f0871fb2a6eb052",
              "0xb4aaf457227fec401db772ec22d2095d1235ee5d0833f56f59108c9ffc90fb4b");
}

/* ethers 6.15.0: domain {chainId} only; integer forms and bounds. */
static void test_ethers_integers(void **state)
{
    static const char json[] =
        "{\"types\":{\"Order\":[{\"name\":\"amount\",\"type\":\"int8\"},{\"name\":\"min\",\"type\":\"int256\"},"
        "{\"name\":\"max\",\"type\":\"uint256\"},{\"name\":\"tag\",\"type\":\"bytes3\"},{\"name\":\"grid\","
        "\"type\":\"uint16[2][]\"},{\"name\":\"ok\",\"type\":\"bool\"}]},\"primaryType\":\"Order\",\"domain\":"
        "{\"chainId\":137},\"message\":{\"amount\":\"-0x80\",\"min\":\"-5789604461865809771178549250434395392663"
        "4992332820282019728792003956564819968\",\"max\":\"0xffffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffffffffffffff\",\"tag\":\"0xABcdef\",\"grid\":[[1,\"0x02\"],[\"003\",65535]],\"ok\":false}}";

    (void)state;
    assert_ok(json, "0x0f36ac79126b93ead2d733b9e11d4778e4cd7ced7ec0a48c4843b51d32055cc1",
              "0x6aa83f6f7706ebdf007fd6f23b3ec5820107bef0f0279f485d72a6b9da005a64",
              "0x472d5c9ba3c8591f52911709fbcdca7be37544b565174d2ba59d655f3a15b740");
}

/* ethers 6.15.0: domain keys out of order (derived order is fixed), salt,
 * fixed arrays of structs, "Wallet[][1]", empty bytes, non-ASCII string. */
static void test_ethers_nested(void **state)
{
    static const char json[] =
        "{\"types\":{\"Wallet\":[{\"name\":\"owner\",\"type\":\"address\"},{\"name\":\"data\",\"type\":\"bytes\"}],"
        "\"Batch\":[{\"name\":\"wallets\",\"type\":\"Wallet[2]\"},{\"name\":\"note\",\"type\":\"string\"},"
        "{\"name\":\"nested\",\"type\":\"Wallet[][1]\"}]},\"primaryType\":\"Batch\",\"domain\":{\"name\":"
        "\"Permit2\",\"salt\":\"0x1111111111111111111111111111111111111111111111111111111111111111\","
        "\"verifyingContract\":\"0x000000000022D473030F116dDEE9F6B43aC78BA3\",\"version\":\"2\"},\"message\":"
        "{\"wallets\":[{\"owner\":\"0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826\",\"data\":\"0x\"},{\"owner\":"
        "\"0xCD2A3D9F938E13CD947EC05ABC7FE734DF8DD826\",\"data\":\"0xDEADbeef\"}],\"note\":"
        "\"\\u00fcn\\u00efc\\u00f6d\\u00e9 \\ud83d\\ude01\",\"nested\":[[]]}}";

    (void)state;
    assert_ok(json, "0x2453175a52b90ed787a722e319a94d2c7618d75a14a02b5edc3588e1006b98e9",
              "0x6747eb9f8f35aea4cb27f7d5c9b6b6d9f3a126747cb130bcae2ed3f286a634ee",
              "0x607d4ece390c84e26c6e1b91988ab3b63f6f7d24dc0c63574ac5b700a1a9573f");
}

/* encodeType: primary first, then referenced types sorted by name; unused
 * types are left out; empty structs are "Name()". */
static void test_encode_type_order(void **state)
{
    static const char json[] =
        "{\"types\":{\"Z\":[{\"name\":\"b\",\"type\":\"B\"},{\"name\":\"a\",\"type\":\"A\"},{\"name\":\"c\","
        "\"type\":\"C[]\"}],\"C\":[],\"B\":[{\"name\":\"x\",\"type\":\"C[2]\"}],\"A\":[],\"Unused\":[]},"
        "\"primaryType\":\"Z\",\"domain\":{},\"message\":{\"b\":{\"x\":[{},{}]},\"a\":{},\"c\":[]}}";
    uint8_t tz[32], ta[32], tb[32], tc[32], a[32], b[32], c[32], cs[32], empty[32], want[32];
    struct nw_eip712_hashes h;
    struct nw_error e;

    (void)state;
    assert_int_equal(run(json, &h, &e), NW_OK);
    keccak_str(tz, "Z(B b,A a,C[] c)A()B(C[2] x)C()");
    keccak_str(ta, "A()");
    keccak_str(tb, "B(C[2] x)C()");
    keccak_str(tc, "C()");
    keccak_words(a, ta, NULL);
    keccak_words(c, tc, NULL);
    keccak_words(cs, c, c, NULL);
    keccak_words(b, tb, cs, NULL);
    nw_keccak256(empty, "", 0);
    keccak_words(want, tz, b, a, empty, NULL);
    assert_memory_equal(h.struct_hash, want, 32);
    /* domain {}: hashStruct of "EIP712Domain()" */
    keccak_str(ta, "EIP712Domain()");
    keccak_words(want, ta, NULL);
    assert_memory_equal(h.domain_separator, want, 32);
}

/* A type referencing itself (EIP-712 allows it; ethers refuses). */
static void test_recursive_type(void **state)
{
    static const char json[] =
        "{\"types\":{\"Person\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"friends\",\"type\":"
        "\"Person[]\"}]},\"primaryType\":\"Person\",\"domain\":{},\"message\":{\"name\":\"Alice\",\"friends\":"
        "[{\"name\":\"Bob\",\"friends\":[]}]}}";
    uint8_t th[32], alice[32], bob[32], none[32], bob_hash[32], friends[32], want[32];
    struct nw_eip712_hashes h;
    struct nw_error e;

    (void)state;
    assert_int_equal(run(json, &h, &e), NW_OK);
    keccak_str(th, "Person(string name,Person[] friends)");
    keccak_str(alice, "Alice");
    keccak_str(bob, "Bob");
    nw_keccak256(none, "", 0);
    keccak_words(bob_hash, th, bob, none, NULL);
    keccak_words(friends, bob_hash, NULL);
    keccak_words(want, th, alice, friends, NULL);
    assert_memory_equal(h.struct_hash, want, 32);
}

/* Mutually recursive types A -> B -> A. */
static void test_cycle(void **state)
{
    static const char json[] =
        "{\"types\":{\"A\":[{\"name\":\"b\",\"type\":\"B[]\"}],\"B\":[{\"name\":\"a\",\"type\":\"A[]\"}]},"
        "\"primaryType\":\"B\",\"domain\":{},\"message\":{\"a\":[]}}";
    uint8_t th[32], empty[32], want[32];
    struct nw_eip712_hashes h;
    struct nw_error e;

    (void)state;
    assert_int_equal(run(json, &h, &e), NW_OK);
    keccak_str(th, "B(A[] a)A(B[] b)");
    nw_keccak256(empty, "", 0);
    keccak_words(want, th, empty, NULL);
    assert_memory_equal(h.struct_hash, want, 32);
}

#define W0 "0x0000000000000000000000000000000000000000000000000000000000000000"
#define W1 "0x0000000000000000000000000000000000000000000000000000000000000001"
#define WFF "0x00000000000000000000000000000000000000000000000000000000000000ff"
#define W7F "0x000000000000000000000000000000000000000000000000000000000000007f"
#define WM1 "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define WM128 "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80"

static void test_atomic_words(void **state)
{
    (void)state;
    assert_word("bool", "true", W1);
    assert_word("bool", "false", W0);
    assert_word("uint8", "255", WFF);
    assert_word("uint8", "\"0xff\"", WFF);
    assert_word("uint8", "\"0x00ff\"", WFF);
    assert_word("uint8", "\"000255\"", WFF);
    assert_word("uint8", "0", W0);
    assert_word("uint8", "-0", W0);
    assert_word("int8", "127", W7F);
    assert_word("int8", "-128", WM128);
    assert_word("int8", "\"-128\"", WM128);
    assert_word("int8", "\"-0x80\"", WM128);
    assert_word("int8", "\"-0\"", W0);
    assert_word("int16", "-1", WM1);
    assert_word("uint256", "\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"", WM1);
    assert_word("int256", "\"-0x8000000000000000000000000000000000000000000000000000000000000000\"",
                "0x8000000000000000000000000000000000000000000000000000000000000000");
    assert_word("uint64", "9007199254740991", "0x000000000000000000000000000000000000000000000000001fffffffffffff");
    assert_word("address", "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"",
                "0x000000000000000000000000cd2a3d9f938e13cd947ec05abc7fe734df8dd826");
    assert_word("bytes1", "\"0xAb\"", "0xab00000000000000000000000000000000000000000000000000000000000000");
    assert_word("bytes32", "\"0x0102030405060708091011121314151617181920212223242526272829303132\"",
                "0x0102030405060708091011121314151617181920212223242526272829303132");
    /* keccak("") and keccak of the empty byte string */
    assert_word("string", "\"\"", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    assert_word("bytes", "\"0x\"", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

/* ---- refusals: types ---------------------------------------------------- */

static void test_unknown_type(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"Person\":[{\"name\":\"name\",\"type\":\"string\"}],\"Mail\":[{\"name\":\"from\","
                   "\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Persn\"}]},\"primaryType\":\"Mail\","
                   "\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types.Mail[1].type: unknown type \"Persn\"");
    assert_refused(one("Foo[]", "[]"), NW_ERR_BAD_REQUEST, "types.T[0].type: unknown type \"Foo\"");
    assert_refused(one("", "1"), NW_ERR_BAD_REQUEST, "unknown type \"\"");
    /* an unused type is still checked */
    assert_refused("{\"types\":{\"T\":[],\"U\":[{\"name\":\"x\",\"type\":\"Nope\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types.U[0].type: unknown type \"Nope\"");
}

static void test_bad_atomic_types(void **state)
{
    (void)state;
    assert_refused(one("uint", "1"), NW_ERR_BAD_REQUEST, "invalid type \"uint\"");
    assert_refused(one("int", "1"), NW_ERR_BAD_REQUEST, "invalid type \"int\"");
    assert_refused(one("uint7", "1"), NW_ERR_BAD_REQUEST, "invalid type \"uint7\"");
    assert_refused(one("uint264", "1"), NW_ERR_BAD_REQUEST, "invalid type \"uint264\"");
    assert_refused(one("int08", "1"), NW_ERR_BAD_REQUEST, "invalid type \"int08\"");
    assert_refused(one("bytes0", "\"0x\""), NW_ERR_BAD_REQUEST, "invalid type \"bytes0\"");
    assert_refused(one("bytes33", "\"0x\""), NW_ERR_BAD_REQUEST, "invalid type \"bytes33\"");
    assert_refused(one("uint8[0]", "[]"), NW_ERR_BAD_REQUEST, "array length");
    assert_refused(one("uint8[01]", "[1]"), NW_ERR_BAD_REQUEST, "array length");
    assert_refused(one("uint8[1025]", "[]"), NW_ERR_BAD_REQUEST, "array length");
    assert_refused(one("uint8[x]", "[]"), NW_ERR_BAD_REQUEST, "malformed array suffix");
    assert_refused(one("uint8]", "[]"), NW_ERR_BAD_REQUEST, "malformed array suffix");
    assert_refused(one("uint8[", "[]"), NW_ERR_BAD_REQUEST, "unknown type \"uint8[\"");
    assert_refused(one("uint8[][][][][][][][][][][][][][][][][]", "[]"), NW_ERR_TOO_LARGE, "array dimensions");
}

static void test_bad_identifiers(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"Foo Bar\":[]},\"primaryType\":\"Foo Bar\",\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types: invalid struct name \"Foo Bar\"");
    assert_refused("{\"types\":{\"T\":[{\"name\":\"1x\",\"type\":\"bool\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types.T[0].name: invalid member name \"1x\"");
    assert_refused("{\"types\":{\"T\":[{\"name\":\"a(b\",\"type\":\"bool\"}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "invalid member name");
    assert_refused("{\"types\":{\"uint8\":[]},\"primaryType\":\"uint8\",\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "reserved for an atomic type");
    assert_refused("{\"types\":{\"bytes\":[]},\"primaryType\":\"bytes\",\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "reserved for an atomic type");
    assert_refused("{\"types\":{\"A23456789012345678901234567890123456789012345678901234567890123456\":[]},"
                   "\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "invalid struct name");
}

static void test_bad_member_objects(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"T\":[{\"name\":\"a\",\"type\":\"bool\",\"x\":1}]},\"primaryType\":\"T\","
                   "\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types.T[0]: unknown field \"x\"");
    assert_refused("{\"types\":{\"T\":[{\"name\":\"a\"}]},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types.T[0]: expected {\"name\": string, \"type\": string}");
    assert_refused("{\"types\":{\"T\":{}},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}", NW_ERR_BAD_REQUEST,
                   "types.T: expected an array");
    assert_refused("{\"types\":[],\"primaryType\":\"T\",\"domain\":{},\"message\":{}}", NW_ERR_BAD_REQUEST,
                   "types: expected a JSON object");
}

static void test_duplicate_field(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"T\":[{\"name\":\"a\",\"type\":\"bool\"},{\"name\":\"a\",\"type\":\"uint8\"}]},"
                   "\"primaryType\":\"T\",\"domain\":{},\"message\":{\"a\":true}}",
                   NW_ERR_BAD_REQUEST, "types.T[1].name: duplicate member name \"a\"");
}

static void test_domain_type_referenced(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"EIP712Domain\":[],\"T\":[{\"name\":\"d\",\"type\":\"EIP712Domain\"}]},"
                   "\"primaryType\":\"T\",\"domain\":{},\"message\":{\"d\":{}}}",
                   NW_ERR_BAD_REQUEST, "types.T[0].type: EIP712Domain must not be referenced");
}

/* ---- refusals: top level and primaryType -------------------------------- */

static void test_top_level(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{},\"message\":{},\"x\":1}",
                   NW_ERR_BAD_REQUEST, "typed data: unknown field \"x\"");
    assert_refused("{\"types\":{\"T\":[]},\"domain\":{},\"message\":{}}", NW_ERR_BAD_REQUEST,
                   "typed data: missing \"primaryType\"");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{}}", NW_ERR_BAD_REQUEST,
                   "typed data: missing \"message\"");
    assert_refused("[]", NW_ERR_BAD_REQUEST, "typed data: expected a JSON object");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{},\"message\":[]}", NW_ERR_BAD_REQUEST,
                   "message: expected an object of type T");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":[],\"message\":{}}", NW_ERR_BAD_REQUEST,
                   "domain: expected a JSON object");
}

static void test_primary_type(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"U\",\"domain\":{},\"message\":{}}", NW_ERR_BAD_REQUEST,
                   "primaryType: unknown type \"U\"");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":1,\"domain\":{},\"message\":{}}", NW_ERR_BAD_REQUEST,
                   "primaryType: expected a string");
    assert_refused("{\"types\":{\"EIP712Domain\":[]},\"primaryType\":\"EIP712Domain\",\"domain\":{},"
                   "\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "primaryType: EIP712Domain is not supported");
}

/* ---- refusals: values --------------------------------------------------- */

static void test_missing_and_extra_members(void **state)
{
    (void)state;
    assert_refused(mail_with("{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"
                             "\"to\":{\"name\":\"Bob\"},\"contents\":\"Hello, Bob!\"}"),
                   NW_ERR_BAD_REQUEST, "message.to: missing member \"wallet\" of type Person");
    assert_refused(mail_with("{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"
                             "\"to\":{\"name\":\"Bob\",\"wallet\":\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\","
                             "\"age\":3},\"contents\":\"Hello, Bob!\"}"),
                   NW_ERR_BAD_REQUEST, "message.to: unknown member \"age\" (not in type Person)");
    assert_refused(mail_with("{\"from\":null,\"to\":{},\"contents\":\"\"}"), NW_ERR_BAD_REQUEST,
                   "message.from: expected an object of type Person");
}

static void test_integer_bounds(void **state)
{
    (void)state;
    assert_refused(one("uint8", "256"), NW_ERR_BAD_REQUEST, "message.v: value does not fit uint8");
    assert_refused(one("uint8", "\"0x100\""), NW_ERR_BAD_REQUEST, "value does not fit uint8");
    assert_refused(one("int8", "128"), NW_ERR_BAD_REQUEST, "message.v: value does not fit int8");
    assert_refused(one("int8", "-129"), NW_ERR_BAD_REQUEST, "message.v: value does not fit int8");
    assert_refused(one("int8", "\"-0x81\""), NW_ERR_BAD_REQUEST, "value does not fit int8");
    assert_refused(one("int256", "\"0x8000000000000000000000000000000000000000000000000000000000000000\""),
                   NW_ERR_BAD_REQUEST, "value does not fit int256");
    assert_refused(one("int256", "\"-0x8000000000000000000000000000000000000000000000000000000000000001\""),
                   NW_ERR_BAD_REQUEST, "value does not fit int256");
    assert_refused(one("uint256", "\"0x10000000000000000000000000000000000000000000000000000000000000000\""),
                   NW_ERR_BAD_REQUEST, "message.v: quantity exceeds 2^256-1");
    assert_refused(one("uint64", "9007199254740992"), NW_ERR_BAD_REQUEST, "below 2^53");
    assert_refused(one("int64", "-9007199254740992"), NW_ERR_BAD_REQUEST, "below 2^53");
}

static void test_integer_syntax(void **state)
{
    (void)state;
    assert_refused(one("uint8", "-1"), NW_ERR_BAD_REQUEST, "value does not fit uint8");
    assert_refused(one("uint8", "\"-1\""), NW_ERR_BAD_REQUEST, "message.v: negative value for an unsigned type");
    assert_refused(one("uint8", "\"-0\""), NW_ERR_BAD_REQUEST, "negative value");
    assert_refused(one("uint8", "\"\""), NW_ERR_BAD_REQUEST, "empty quantity");
    assert_refused(one("int8", "\"-\""), NW_ERR_BAD_REQUEST, "empty quantity");
    assert_refused(one("uint8", "\"0x\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("uint8", "\"+1\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("uint8", "\" 1\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("uint8", "\"1e2\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("uint8", "\"0X1\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("int8", "\"--1\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("uint8", "true"), NW_ERR_BAD_REQUEST, "message.v: expected an integer");
    assert_refused(one("uint8", "null"), NW_ERR_BAD_REQUEST, "message.v: expected an integer");
}

static void test_bytes_values(void **state)
{
    (void)state;
    assert_refused(one("bytes4", "\"0x010203\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("bytes4", "\"0x0102030405\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("bytes1", "\"0xzz\""), NW_ERR_BAD_REQUEST, "message.v: invalid hex digit");
    assert_refused(one("bytes", "\"0x123\""), NW_ERR_BAD_REQUEST, "message.v: hex data has an odd number");
    assert_refused(one("bytes", "\"0xgg\""), NW_ERR_BAD_REQUEST, "message.v: invalid hex digit");
    assert_refused(one("bytes", "\"1234\""), NW_ERR_BAD_REQUEST, "message.v: hex data must start with");
    assert_refused(one("bytes", "12"), NW_ERR_BAD_REQUEST, "message.v: expected a string");
    assert_refused(one("string", "12"), NW_ERR_BAD_REQUEST, "message.v: expected a string");
}

static void test_bool_and_address_values(void **state)
{
    (void)state;
    assert_refused(one("bool", "\"true\""), NW_ERR_BAD_REQUEST, "message.v: expected true or false");
    assert_refused(one("bool", "1"), NW_ERR_BAD_REQUEST, "message.v: expected true or false");
    assert_refused(one("address", "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827\""), NW_ERR_BAD_REQUEST,
                   "message.v: mixed-case address fails its EIP-55 checksum");
    assert_refused(one("address", "\"0xcd2a3d9f938e13cd947ec05abc7fe734df8dd8\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(one("address", "\"cd2a3d9f938e13cd947ec05abc7fe734df8dd826\""), NW_ERR_BAD_REQUEST, "message.v:");
    assert_refused(mail_with("{\"from\":{\"name\":\"Cow\",\"wallet\":\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"
                             "\"to\":{\"name\":\"Bob\",\"wallet\":\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbb\"},"
                             "\"contents\":\"Hello, Bob!\"}"),
                   NW_ERR_BAD_REQUEST, "message.to.wallet: mixed-case address fails its EIP-55 checksum");
}

static void test_array_values(void **state)
{
    (void)state;
    assert_refused(one("uint8[3]", "[1,2]"), NW_ERR_BAD_REQUEST, "message.v: expected 3 array elements, got 2");
    assert_refused(one("uint8[2][]", "[[1,2],[3]]"), NW_ERR_BAD_REQUEST,
                   "message.v[1]: expected 2 array elements, got 1");
    assert_refused(one("uint8[]", "{}"), NW_ERR_BAD_REQUEST, "message.v: expected an array");
    assert_refused(one("uint8[]", "[1,256]"), NW_ERR_BAD_REQUEST, "message.v[1]: value does not fit uint8");
}

static void test_array_limit(void **state)
{
    size_t cap = 8 * (NW_EIP712_MAX_ARRAY + 2) + 64, n = 0;
    char *arr = malloc(cap);

    (void)state;
    assert_non_null(arr);
    arr[n++] = '[';
    for (int i = 0; i < NW_EIP712_MAX_ARRAY; i++)
        n += (size_t)snprintf(arr + n, cap - n, "%s1", i ? "," : "");
    arr[n++] = ']';
    arr[n] = '\0';
    assert_ok(one("uint8[]", arr), NULL, NULL, NULL);
    memcpy(arr + n - 1, ",1]", 4);
    assert_refused(one("uint8[]", arr), NW_ERR_TOO_LARGE, "message.v: array has more than 1024 elements");
    free(arr);
}

/* Struct/array nesting: message is level 1; NW_EIP712_MAX_DEPTH levels pass. */
static void test_depth_limit(void **state)
{
    char val[256];
    char type[128];
    int n = 0;

    (void)state;
    /* message (1) + 15 array levels = 16 */
    snprintf(type, sizeof type, "uint8");
    for (int i = 0; i < NW_EIP712_MAX_DEPTH - 1; i++)
        strcat(type, "[]");
    for (int i = 0; i < NW_EIP712_MAX_DEPTH - 1; i++)
        val[n++] = '[';
    for (int i = 0; i < NW_EIP712_MAX_DEPTH - 1; i++)
        val[n++] = ']';
    val[n] = '\0';
    assert_ok(one(type, val), NULL, NULL, NULL);
    strcat(type, "[]");
    memmove(val + 1, val, strlen(val) + 1);
    val[0] = '[';
    strcat(val, "]");
    assert_refused(one(type, val), NW_ERR_TOO_LARGE, "nested deeper than 16 levels");
    /* an empty outer array never reaches the limit */
    assert_ok(one(type, "[]"), NULL, NULL, NULL);
}

/* The same for a recursive struct: {"n": [{"n": [...]}]}. */
static void test_depth_limit_struct(void **state)
{
    char json[1024];
    size_t n;

    (void)state;
    n = (size_t)snprintf(json, sizeof json,
                         "{\"types\":{\"N\":[{\"name\":\"n\",\"type\":\"N[]\"}]},"
                         "\"primaryType\":\"N\",\"domain\":{},\"message\":");
    for (int i = 0; i < 9; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "{\"n\":[");
    n += (size_t)snprintf(json + n, sizeof json - n, "{\"n\":[]}");
    for (int i = 0; i < 9; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "]}");
    snprintf(json + n, sizeof json - n, "}");
    assert_refused(json, NW_ERR_TOO_LARGE, "nested deeper than 16 levels");
}

static void test_type_limits(void **state)
{
    size_t cap = 64 * 1024, n = 0;
    char *json = malloc(cap);

    (void)state;
    assert_non_null(json);
    n += (size_t)snprintf(json + n, cap - n, "{\"types\":{");
    for (int i = 0; i <= NW_EIP712_MAX_TYPES; i++)
        n += (size_t)snprintf(json + n, cap - n, "%s\"T%d\":[]", i ? "," : "", i);
    snprintf(json + n, cap - n, "},\"primaryType\":\"T0\",\"domain\":{},\"message\":{}}");
    assert_refused(json, NW_ERR_TOO_LARGE, "types: more than 64 struct types");
    n = (size_t)snprintf(json, cap, "{\"types\":{\"T\":[");
    for (int i = 0; i <= NW_EIP712_MAX_FIELDS; i++)
        n += (size_t)snprintf(json + n, cap - n, "%s{\"name\":\"f%d\",\"type\":\"bool\"}", i ? "," : "", i);
    snprintf(json + n, cap - n, "]},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}");
    assert_refused(json, NW_ERR_TOO_LARGE, "types.T: more than 64 members");
    free(json);
}

/* One encodeType string is bounded (64 KiB): a chain of 64 types, each with
 * 63 long member names, makes the first type's encodeType about 190 KiB. */
static void test_encode_type_limit(void **state)
{
    static const char name40[] = "m234567890123456789012345678901234567890";
    size_t cap = 400 * 1024, n = 0;
    char *json = malloc(cap);

    (void)state;
    assert_non_null(json);
    n += (size_t)snprintf(json + n, cap - n, "{\"types\":{");
    for (int t = 0; t < NW_EIP712_MAX_TYPES; t++) {
        n += (size_t)snprintf(json + n, cap - n, "%s\"T%d\":[", t ? "," : "", t);
        for (int i = 0; i < NW_EIP712_MAX_FIELDS - 1; i++)
            n += (size_t)snprintf(json + n, cap - n, "{\"name\":\"%s%02d\",\"type\":\"string\"},", name40, i);
        if (t + 1 < NW_EIP712_MAX_TYPES)
            n += (size_t)snprintf(json + n, cap - n, "{\"name\":\"next\",\"type\":\"T%d\"}]", t + 1);
        else
            n += (size_t)snprintf(json + n, cap - n, "{\"name\":\"next\",\"type\":\"bool\"}]");
    }
    n += (size_t)snprintf(json + n, cap - n, "},\"primaryType\":\"T0\",\"domain\":{},\"message\":{");
    for (int i = 0; i < NW_EIP712_MAX_FIELDS - 1; i++)
        n += (size_t)snprintf(json + n, cap - n, "\"%s%02d\":\"\",", name40, i);
    snprintf(json + n, cap - n, "\"next\":{}}}");
    assert_refused(json, NW_ERR_TOO_LARGE, "message: encodeType of T0 is");
    free(json);
}

/* Names of exactly 64 characters are fine. */
static void test_long_names(void **state)
{
    static const char json[] =
        "{\"types\":{\"A234567890123456789012345678901234567890123456789012345678901234\":[{\"name\":"
        "\"b234567890123456789012345678901234567890123456789012345678901234\",\"type\":\"bool\"}]},"
        "\"primaryType\":\"A234567890123456789012345678901234567890123456789012345678901234\",\"domain\":{},"
        "\"message\":{\"b234567890123456789012345678901234567890123456789012345678901234\":true}}";

    (void)state;
    assert_ok(json, NULL, NULL, NULL);
}

/* ---- refusals: the domain ----------------------------------------------- */

static void test_domain_unknown_key(void **state)
{
    (void)state;
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"name\":\"x\",\"foo\":1},"
                   "\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "domain: unknown field \"foo\"");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"name\":null},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "domain.name: expected a string");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"chainId\":-1},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "domain.chainId: value does not fit uint256");
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"salt\":\"0x01\"},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "domain.salt:");
}

static void test_domain_type_mismatch(void **state)
{
    (void)state;
    /* the declared type has verifyingContract, the object does not */
    assert_refused("{\"types\":{" MAIL_DOMAIN_TYPE ",\"T\":[]},\"primaryType\":\"T\",\"domain\":{\"name\":\"a\","
                   "\"version\":\"1\",\"chainId\":1},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "domain: missing member \"verifyingContract\" of type EIP712Domain");
    /* the object has a key the declared type lacks */
    assert_refused("{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"}],\"T\":[]},"
                   "\"primaryType\":\"T\",\"domain\":{\"name\":\"a\",\"chainId\":1},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "domain: unknown member \"chainId\" (not in type EIP712Domain)");
    /* a standard member with another type */
    assert_refused("{\"types\":{\"EIP712Domain\":[{\"name\":\"chainId\",\"type\":\"string\"}],\"T\":[]},"
                   "\"primaryType\":\"T\",\"domain\":{\"chainId\":\"1\"},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "types.EIP712Domain[0].type: domain member \"chainId\" must have type uint256");
}

/* ---- the JSON layer ----------------------------------------------------- */

static void test_json_layer(void **state)
{
    struct nw_eip712_hashes h;
    struct nw_error e;

    (void)state;
    assert_refused("{\"types\":{\"T\":[]},\"primaryType\":\"T\",\"domain\":{},\"message\":{}", NW_ERR_BAD_REQUEST, "");
    assert_refused("{\"types\":{\"T\":[]},\"types\":{},\"primaryType\":\"T\",\"domain\":{},\"message\":{}}",
                   NW_ERR_BAD_REQUEST, "duplicate key");
    assert_refused(one("uint8", "1.5"), NW_ERR_BAD_REQUEST, "");
    assert_int_equal(nw_eip712_hash_json(&h, "{}", NW_EIP712_MAX_JSON + 1, &e), NW_ERR_TOO_LARGE);
}

/* nw_eip712_hash on a tree built by cJSON directly (duplicates possible). */
static void test_tree_entry(void **state)
{
    struct nw_eip712_hashes h;
    struct nw_error e;
    cJSON *root = cJSON_Parse("{\"types\":{\"T\":[{\"name\":\"a\",\"type\":\"uint8\"},{\"name\":\"b\",\"type\":"
                              "\"uint8\"}]},\"primaryType\":\"T\",\"domain\":{},\"message\":{\"a\":1,\"a\":2}}");

    (void)state;
    assert_non_null(root);
    assert_int_equal(nw_eip712_hash(&h, root, &e), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "message: missing member \"b\""));
    cJSON_Delete(root);
    root = cJSON_Parse("{\"types\":{\"T\":[{\"name\":\"a\",\"type\":\"uint8\"}]},\"primaryType\":\"T\","
                       "\"domain\":{},\"message\":{\"a\":1.5}}");
    assert_non_null(root);
    assert_int_equal(nw_eip712_hash(&h, root, &e), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "message.a: JSON number is not an integer"));
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_example),
        cmocka_unit_test(test_mail_derived_domain),
        cmocka_unit_test(test_mail_lowercase),
        cmocka_unit_test(test_eip_example_http_origin),
        cmocka_unit_test(test_v4_arrays),
        cmocka_unit_test(test_v4_bytes),
        cmocka_unit_test(test_ethers_integers),
        cmocka_unit_test(test_ethers_nested),
        cmocka_unit_test(test_encode_type_order),
        cmocka_unit_test(test_recursive_type),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_atomic_words),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_bad_atomic_types),
        cmocka_unit_test(test_bad_identifiers),
        cmocka_unit_test(test_bad_member_objects),
        cmocka_unit_test(test_duplicate_field),
        cmocka_unit_test(test_domain_type_referenced),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_primary_type),
        cmocka_unit_test(test_missing_and_extra_members),
        cmocka_unit_test(test_integer_bounds),
        cmocka_unit_test(test_integer_syntax),
        cmocka_unit_test(test_bytes_values),
        cmocka_unit_test(test_bool_and_address_values),
        cmocka_unit_test(test_array_values),
        cmocka_unit_test(test_array_limit),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_limit_struct),
        cmocka_unit_test(test_type_limits),
        cmocka_unit_test(test_encode_type_limit),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_domain_unknown_key),
        cmocka_unit_test(test_domain_type_mismatch),
        cmocka_unit_test(test_json_layer),
        cmocka_unit_test(test_tree_entry),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
