/*
 * test_rlp.c - RLP encoding and strict decoding (src/encoding/rlp.c).
 *
 * Expected encodings come from outside this project:
 *   - the examples of the RLP page of the Ethereum documentation
 *     (ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/,
 *     the former Ethereum wiki page) and Yellow Paper appendix B;
 *   - tests/data/rlptest.json and tests/data/invalidRLPTest.json, copied
 *     unchanged from github.com/ethereum/tests, RLPTests/, commit
 *     4c87ebbf024a3e9ec842bcce90564f629a3bcd82.  In rlptest.json a string
 *     "#<decimal>" is a big integer and "0x<hex>" a byte string.
 * The negative tests name each non-canonical form the decoder must refuse
 * and check the exact message it gives.
 *
 * Run from the repository root (tests/run.sh does), or point NW_TEST_DATA
 * at the tests/data directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "nitrowallet/rlp.h"

#define BUF_MAX (1u << 20)

/* --- helpers ------------------------------------------------------------- */

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex (optionally "0x"-prefixed) into a malloc'd buffer; *n gets its length. */
static uint8_t *unhex(const char *s, size_t *n)
{
    size_t len, i;
    uint8_t *out;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    len = strlen(s);
    assert_int_equal(len % 2, 0);
    out = malloc(len / 2 + 1);
    assert_non_null(out);
    for (i = 0; i < len / 2; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *n = len / 2;
    return out;
}

static void assert_buf_hex(const struct nw_buf *b, const char *hex)
{
    size_t n;
    uint8_t *want = unhex(hex, &n);

    if (b->len != n || (n > 0 && memcmp(b->data, want, n) != 0)) {
        free(want);
        fail_msg("encoding differs from %s", hex);
    }
    free(want);
}

static void decode_hex(struct nw_rlp_item *item, const char *hex, enum nw_err want_rc, const char *want_msg)
{
    struct nw_error err = { 0 };
    size_t n;
    uint8_t *in = unhex(hex, &n);
    enum nw_err rc = nw_rlp_decode(item, in, n, &err);

    free(in); /* item is only used by callers that expect failure */
    if (rc != want_rc)
        fail_msg("%s: rc %d (%s), want %d", hex, rc, rc ? err.msg : "ok", want_rc);
    if (want_msg != NULL)
        assert_string_equal(err.msg, want_msg);
}

/* The decoder must refuse `hex` with exactly `msg`. */
static void refuse(const char *hex, const char *msg)
{
    struct nw_rlp_item item;

    decode_hex(&item, hex, NW_ERR_BAD_REQUEST, msg);
}

/* The decoder must accept `hex`. */
static void accept(const char *hex)
{
    struct nw_rlp_item item;

    decode_hex(&item, hex, NW_OK, NULL);
}

/* Re-encode a decoded item from its parts (strings with nw_rlp_put_bytes,
 * lists from their re-encoded children). */
static void reencode(struct nw_buf *out, const struct nw_rlp_item *item)
{
    struct nw_buf inner;
    struct nw_rlp_item child;
    struct nw_error err;
    size_t pos = 0;

    if (!item->is_list) {
        assert_int_equal(nw_rlp_put_bytes(out, item->payload, item->len), NW_OK);
        return;
    }
    nw_buf_init(&inner, BUF_MAX);
    while (pos < item->len) {
        assert_int_equal(nw_rlp_next(&child, item->payload, item->len, &pos, &err), NW_OK);
        reencode(&inner, &child);
    }
    assert_int_equal(nw_rlp_put_list(out, inner.data, inner.len), NW_OK);
    nw_buf_free(&inner);
}

static void assert_round_trip(const uint8_t *enc, size_t n)
{
    struct nw_rlp_item item;
    struct nw_error err = { 0 };
    struct nw_buf again;

    if (nw_rlp_decode(&item, enc, n, &err) != NW_OK)
        fail_msg("canonical encoding refused: %s", err.msg);
    nw_buf_init(&again, BUF_MAX);
    reencode(&again, &item);
    assert_int_equal(again.len, n);
    assert_memory_equal(again.data, enc, n);
    nw_buf_free(&again);
}

static cJSON *load_json(const char *name)
{
    const char *dir = getenv("NW_TEST_DATA");
    char path[512], *text;
    cJSON *json;
    long size;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root or set NW_TEST_DATA)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    json = cJSON_Parse(text);
    free(text);
    assert_non_null(json);
    return json;
}

/* --- encoding: the documentation's examples -------------------------------- */

static void test_doc_examples_strings_and_ints(void **state)
{
    static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    const uint8_t dog[] = "dog";
    struct nw_buf b;

    (void)state;
    nw_buf_init(&b, BUF_MAX);
    assert_int_equal(nw_rlp_put_bytes(&b, dog, 3), NW_OK);
    assert_buf_hex(&b, "83646f67");
    nw_buf_free(&b);

    assert_int_equal(nw_rlp_put_bytes(&b, NULL, 0), NW_OK);
    assert_buf_hex(&b, "80");
    nw_buf_free(&b);

    assert_int_equal(nw_rlp_put_u64(&b, 0), NW_OK);
    assert_buf_hex(&b, "80");
    nw_buf_free(&b);

    assert_int_equal(nw_rlp_put_bytes(&b, (const uint8_t *)"\x00", 1), NW_OK);
    assert_buf_hex(&b, "00");
    nw_buf_free(&b);

    assert_int_equal(nw_rlp_put_u64(&b, 15), NW_OK);
    assert_buf_hex(&b, "0f");
    nw_buf_free(&b);

    assert_int_equal(nw_rlp_put_u64(&b, 1024), NW_OK);
    assert_buf_hex(&b, "820400");
    nw_buf_free(&b);

    assert_int_equal(sizeof lorem - 1, 56);
    assert_int_equal(nw_rlp_put_bytes(&b, (const uint8_t *)lorem, 56), NW_OK);
    assert_buf_hex(&b, "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e73656374657475722061646970697369"
                       "63696e6720656c6974");
    nw_buf_free(&b);
}

static void test_doc_examples_lists(void **state)
{
    struct nw_buf b, inner;

    (void)state;
    nw_buf_init(&b, BUF_MAX);
    nw_buf_init(&inner, BUF_MAX);

    /* [ "cat", "dog" ] */
    assert_int_equal(nw_rlp_put_bytes(&inner, (const uint8_t *)"cat", 3), NW_OK);
    assert_int_equal(nw_rlp_put_bytes(&inner, (const uint8_t *)"dog", 3), NW_OK);
    assert_int_equal(nw_rlp_put_list(&b, inner.data, inner.len), NW_OK);
    assert_buf_hex(&b, "c88363617483646f67");
    nw_buf_free(&b);
    nw_buf_free(&inner);

    /* [] */
    assert_int_equal(nw_rlp_put_list(&b, NULL, 0), NW_OK);
    assert_buf_hex(&b, "c0");
    nw_buf_free(&b);

    /* The set-theoretic three, [ [], [[]], [ [], [[]] ] ], built with
     * put_list_header and the payloads appended by hand. */
    assert_int_equal(nw_rlp_put_list_header(&b, 7), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 0), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 1), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 0), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 3), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 0), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 1), NW_OK);
    assert_int_equal(nw_rlp_put_list_header(&b, 0), NW_OK);
    assert_buf_hex(&b, "c7c0c1c0c3c0c1c0");
    nw_buf_free(&b);
}

static void test_uint_encodings(void **state)
{
    static const struct {
        uint64_t v;
        const char *hex;
    } cases[] = {
        { 0, "80" },       { 1, "01" },         { 0x7f, "7f" },           { 0x80, "8180" },
        { 0xff, "81ff" },  { 0x100, "820100" }, { 0xffff, "82ffff" },     { 0x10000, "83010000" },
        { UINT64_MAX, "88ffffffffffffffff" },
    };
    struct nw_u256 max;
    struct nw_buf b;
    size_t i;

    (void)state;
    nw_buf_init(&b, BUF_MAX);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nw_rlp_put_u64(&b, cases[i].v), NW_OK);
        assert_buf_hex(&b, cases[i].hex);
        nw_buf_free(&b);
    }
    memset(&max, 0xff, sizeof max);
    assert_int_equal(nw_rlp_put_uint(&b, &max), NW_OK);
    assert_buf_hex(&b, "a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    nw_buf_free(&b);
}

/* --- ethereum/tests RLPTests ---------------------------------------------- */

/* Encode a value of rlptest.json's "in"; NW_ERR_BAD_REQUEST for a big
 * integer that does not fit 256 bits. */
static enum nw_err encode_json(struct nw_buf *b, const cJSON *v)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    struct nw_buf inner;
    const cJSON *child;
    struct nw_u256 x;
    enum nw_err rc;
    uint8_t *bytes;
    size_t n;

    if (cJSON_IsNumber(v)) {
        assert_true(v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0);
        return nw_rlp_put_u64(b, (uint64_t)v->valuedouble);
    }
    if (cJSON_IsArray(v)) {
        nw_buf_init(&inner, BUF_MAX);
        cJSON_ArrayForEach(child, v) {
            rc = encode_json(&inner, child);
            if (rc != NW_OK) {
                nw_buf_free(&inner);
                return rc;
            }
        }
        rc = nw_rlp_put_list(b, inner.data, inner.len);
        nw_buf_free(&inner);
        return rc;
    }
    assert_non_null(s);
    if (s[0] == '#') {
        rc = nw_u256_parse(&x, s + 1, strlen(s + 1), NW_U256_STRICT, NULL);
        return rc != NW_OK ? rc : nw_rlp_put_uint(b, &x);
    }
    if (s[0] == '0' && s[1] == 'x') {
        bytes = unhex(s, &n);
        rc = nw_rlp_put_bytes(b, bytes, n);
        free(bytes);
        return rc;
    }
    return nw_rlp_put_bytes(b, (const uint8_t *)s, strlen(s));
}

static void test_ethereum_rlptest_encode(void **state)
{
    cJSON *json = load_json("rlptest.json");
    const cJSON *tc;
    struct nw_buf b;
    int ran = 0, too_big = 0;

    (void)state;
    nw_buf_init(&b, BUF_MAX);
    cJSON_ArrayForEach(tc, json) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(tc, "in");
        const char *out = cJSON_GetObjectItemCaseSensitive(tc, "out")->valuestring;
        enum nw_err rc;
        if (strcmp(tc->string, "bytestring00") == 0)
            rc = nw_rlp_put_bytes(&b, (const uint8_t *)"", 1); /* "\u0000": cJSON strings end at NUL */
        else
            rc = encode_json(&b, in);
        if (rc != NW_OK) {
            /* Only "bigint" (2^256) is beyond nw_u256; decoded below. */
            assert_string_equal(tc->string, "bigint");
            too_big++;
        } else {
            assert_buf_hex(&b, out);
            ran++;
        }
        nw_buf_free(&b);
    }
    cJSON_Delete(json);
    assert_int_equal(too_big, 1);
    assert_int_equal(ran, 27);
}

static void test_ethereum_rlptest_decode(void **state)
{
    cJSON *json = load_json("rlptest.json");
    const cJSON *tc;
    struct nw_rlp_item item;
    struct nw_error err = { 0 };
    struct nw_u256 x;
    uint64_t v;
    uint8_t *enc;
    size_t n;

    (void)state;
    cJSON_ArrayForEach(tc, json) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(tc, "in");
        enc = unhex(cJSON_GetObjectItemCaseSensitive(tc, "out")->valuestring, &n);
        assert_round_trip(enc, n);
        assert_int_equal(nw_rlp_decode(&item, enc, n, &err), NW_OK);
        if (cJSON_IsNumber(in)) {
            assert_int_equal(nw_rlp_item_uint(&x, &item, &err), NW_OK);
            assert_true(nw_u256_to_u64(&x, &v));
            assert_int_equal(v, (uint64_t)in->valuedouble);
        } else if (strcmp(tc->string, "bigint") == 0) {
            assert_int_equal(nw_rlp_item_uint(&x, &item, &err), NW_ERR_BAD_REQUEST);
            assert_string_equal(err.msg, "RLP: integer of 33 bytes exceeds 32");
        }
        free(enc);
    }
    cJSON_Delete(json);
}

static void test_ethereum_invalid_rlp(void **state)
{
    cJSON *json = load_json("invalidRLPTest.json");
    const cJSON *tc;
    struct nw_rlp_item item;
    struct nw_error err;
    uint8_t *enc;
    size_t n;
    int count = 0;

    (void)state;
    cJSON_ArrayForEach(tc, json) {
        enc = unhex(cJSON_GetObjectItemCaseSensitive(tc, "out")->valuestring, &n);
        memset(&err, 0, sizeof err);
        if (nw_rlp_decode(&item, enc, n, &err) != NW_ERR_BAD_REQUEST)
            fail_msg("invalidRLPTest.json \"%s\" accepted", tc->string);
        assert_memory_equal(err.msg, "RLP: ", 5);
        free(enc);
        count++;
    }
    cJSON_Delete(json);
    assert_int_equal(count, 26);
}

/* --- decoding: accepted forms ---------------------------------------------- */

static void test_round_trip_every_length_class(void **state)
{
    static const size_t lens[] = { 0, 1, 2, 55, 56, 57, 255, 256, 257, 65535, 65536, 70000 };
    struct nw_buf b;
    uint8_t *data;
    size_t i, j;

    (void)state;
    data = malloc(70000);
    assert_non_null(data);
    for (j = 0; j < 70000; j++)
        data[j] = (uint8_t)(j * 131 + 7);
    nw_buf_init(&b, BUF_MAX);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(nw_rlp_put_bytes(&b, data, lens[i]), NW_OK);
        assert_round_trip(b.data, b.len);
        nw_buf_free(&b);
        /* The same bytes as a list payload of single bytes below 0x80. */
        for (j = 0; j < lens[i]; j++)
            data[j] &= 0x7f;
        assert_int_equal(nw_rlp_put_list(&b, data, lens[i]), NW_OK);
        assert_round_trip(b.data, b.len);
        nw_buf_free(&b);
    }
    free(data);
}

static void test_round_trip_every_single_byte(void **state)
{
    struct nw_buf b;
    uint8_t c;
    int v;

    (void)state;
    nw_buf_init(&b, BUF_MAX);
    for (v = 0; v < 256; v++) {
        c = (uint8_t)v;
        assert_int_equal(nw_rlp_put_bytes(&b, &c, 1), NW_OK);
        assert_int_equal(b.len, v < 0x80 ? 1u : 2u);
        assert_round_trip(b.data, b.len);
        nw_buf_free(&b);
    }
}

static void test_headers_at_length_boundaries(void **state)
{
    static const struct {
        size_t len;
        const char *string_hdr, *list_hdr;
    } cases[] = {
        { 55, "b7", "f7" },        { 56, "b838", "f838" },       { 255, "b8ff", "f8ff" },
        { 256, "b90100", "f90100" }, { 65536, "ba010000", "fa010000" },
    };
    struct nw_buf b;
    uint8_t *zeros;
    size_t i, n;
    uint8_t *want;

    (void)state;
    zeros = calloc(1, 65536);
    assert_non_null(zeros);
    nw_buf_init(&b, BUF_MAX);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nw_rlp_put_bytes(&b, zeros, cases[i].len), NW_OK);
        want = unhex(cases[i].string_hdr, &n);
        assert_int_equal(b.len, n + cases[i].len);
        assert_memory_equal(b.data, want, n);
        free(want);
        nw_buf_free(&b);
        assert_int_equal(nw_rlp_put_list_header(&b, cases[i].len), NW_OK);
        assert_buf_hex(&b, cases[i].list_hdr);
        nw_buf_free(&b);
    }
    free(zeros);
}

static void test_next_walks_list_items(void **state)
{
    struct nw_rlp_item top, a, b;
    struct nw_error err;
    size_t pos = 0;
    size_t n;
    uint8_t *in = unhex("c88363617483646f67", &n);

    (void)state;
    assert_int_equal(nw_rlp_decode(&top, in, n, &err), NW_OK);
    assert_true(top.is_list);
    assert_int_equal(top.len, 8);
    assert_int_equal(nw_rlp_next(&a, top.payload, top.len, &pos, &err), NW_OK);
    assert_int_equal(pos, 4);
    assert_int_equal(nw_rlp_next(&b, top.payload, top.len, &pos, &err), NW_OK);
    assert_int_equal(pos, 8);
    assert_false(a.is_list);
    assert_int_equal(a.len, 3);
    assert_memory_equal(a.payload, "cat", 3);
    assert_memory_equal(b.payload, "dog", 3);
    assert_ptr_equal(a.payload, in + 2);
    assert_int_equal(nw_rlp_next(&a, top.payload, top.len, &pos, &err), NW_ERR_BAD_REQUEST);
    assert_string_equal(err.msg, "RLP: no item at offset 8: the input ends");
    free(in);
}

static void test_uint_decoding(void **state)
{
    static const struct {
        const char *hex;
        uint64_t v;
    } cases[] = {
        { "80", 0 }, { "01", 1 }, { "0f", 15 }, { "7f", 127 }, { "8180", 128 }, { "820400", 1024 },
        { "88ffffffffffffffff", UINT64_MAX },
    };
    struct nw_rlp_item item;
    struct nw_error err;
    struct nw_u256 x;
    uint8_t *in;
    uint64_t v;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        in = unhex(cases[i].hex, &n);
        assert_int_equal(nw_rlp_decode(&item, in, n, &err), NW_OK);
        assert_int_equal(nw_rlp_item_uint(&x, &item, &err), NW_OK);
        assert_true(nw_u256_to_u64(&x, &v));
        assert_int_equal(v, cases[i].v);
        free(in);
    }
}

static void test_uint_32_bytes_is_the_maximum(void **state)
{
    struct nw_rlp_item item;
    struct nw_error err;
    struct nw_u256 x;
    size_t n, i;
    uint8_t *in = unhex("a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &n);

    (void)state;
    assert_int_equal(nw_rlp_decode(&item, in, n, &err), NW_OK);
    assert_int_equal(nw_rlp_item_uint(&x, &item, &err), NW_OK);
    for (i = 0; i < 4; i++)
        assert_true(x.w[i] == UINT64_MAX);
    free(in);
}

/* --- decoding: refusals, one per non-canonical form ------------------------ */

static void test_refuses_0x81_before_small_byte(void **state)
{
    char hex[8];
    int v;

    (void)state;
    for (v = 0; v < 0x80; v++) {
        snprintf(hex, sizeof hex, "81%02x", v);
        refuse(hex, "RLP: non-canonical single byte at offset 0");
    }
    /* Inside a list the offset is that of the offending item. */
    refuse("c601028181817f", "RLP: non-canonical single byte at offset 5");
}

static void test_refuses_long_form_for_short_string(void **state)
{
    (void)state;
    refuse("b8050102030405", "RLP: long form for a 5-byte string at offset 0");
    refuse("b800", "RLP: leading zero in the length of the string at offset 0");
    refuse("b837000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031"
           "3233343536",
           "RLP: long form for a 55-byte string at offset 0");
}

/* hex of `prefix` followed by `count` copies of the byte `fill`. */
static char *hex_with_fill(const char *prefix, unsigned fill, size_t count)
{
    size_t len = strlen(prefix), i;
    char *hex = malloc(len + 2 * count + 1);

    assert_non_null(hex);
    memcpy(hex, prefix, len);
    for (i = 0; i < count; i++)
        snprintf(hex + len + 2 * i, 3, "%02x", fill & 0xffu);
    hex[len + 2 * count] = '\0';
    return hex;
}

static void test_refuses_leading_zero_in_length(void **state)
{
    char *hex;

    (void)state;
    /* The length 56 written as 00 38: well-formed apart from the zero. */
    hex = hex_with_fill("b90038", 0x61, 56);
    refuse(hex, "RLP: leading zero in the length of the string at offset 0");
    free(hex);
    hex = hex_with_fill("f90038", 0x01, 56);
    refuse(hex, "RLP: leading zero in the length of the list at offset 0");
    free(hex);
    /* Their canonical forms are accepted. */
    hex = hex_with_fill("b838", 0x61, 56);
    accept(hex);
    free(hex);
    hex = hex_with_fill("f838", 0x01, 56);
    accept(hex);
    free(hex);
}

static void test_refuses_long_form_for_short_list(void **state)
{
    (void)state;
    refuse("f80180", "RLP: long form for a 1-byte list at offset 0");
    refuse("f8050102030405", "RLP: long form for a 5-byte list at offset 0");
    refuse("f800", "RLP: leading zero in the length of the list at offset 0");
}

static void test_refuses_truncated_payload(void **state)
{
    (void)state;
    refuse("83646f", "RLP: string at offset 0 declares 3 payload bytes but only 2 remain in the input");
    refuse("81", "RLP: string at offset 0 declares 1 payload bytes but only 0 remain in the input");
    refuse("c40102", "RLP: list at offset 0 declares 4 payload bytes but only 2 remain in the input");
}

static void test_refuses_truncated_length(void **state)
{
    (void)state;
    refuse("b9", "RLP: string at offset 0 has a 2-byte length but only 0 bytes remain in the input");
    refuse("b901", "RLP: string at offset 0 has a 2-byte length but only 1 bytes remain in the input");
    refuse("ff0102", "RLP: list at offset 0 has a 8-byte length but only 2 bytes remain in the input");
}

static void test_refuses_length_beyond_input(void **state)
{
    (void)state;
    /* 2^64 - 1 bytes declared: compared with what remains, never added. */
    refuse("bfffffffffffffffff00",
           "RLP: string at offset 0 declares 18446744073709551615 payload bytes but only 1 remain in the input");
    refuse("ffffffffffffffffff0001020304050607",
           "RLP: list at offset 0 declares 18446744073709551615 payload bytes but only 8 remain in the input");
}

static void test_refuses_trailing_bytes(void **state)
{
    (void)state;
    refuse("83646f670000", "RLP: trailing 2 bytes after item");
    refuse("c000", "RLP: trailing 1 bytes after item");
    refuse("0000", "RLP: trailing 1 bytes after item");
}

static void test_refuses_empty_input(void **state)
{
    (void)state;
    refuse("", "RLP: empty input");
}

static void test_refuses_child_overrunning_list(void **state)
{
    (void)state;
    /* c3 [83 61 62]: the string claims 3 bytes, its list holds 2 more. */
    refuse("c3836162",
           "RLP: string at offset 1 declares 3 payload bytes but only 2 remain in the enclosing list");
    /* c3 [c3 01 02]: a nested list overrunning its parent. */
    refuse("c3c30102", "RLP: list at offset 1 declares 3 payload bytes but only 2 remain in the enclosing list");
    /* Deeper: the overrun is reported where it happens, offsets absolute. */
    refuse("c4c3c30102", "RLP: list at offset 2 declares 3 payload bytes but only 2 remain in the enclosing list");
}

static void test_refuses_nesting_deeper_than_max(void **state)
{
    uint8_t enc[NW_RLP_MAX_DEPTH + 2];
    struct nw_rlp_item item;
    struct nw_error err;
    int depth, i;

    (void)state;
    /* depth nested empty lists: c(d-1) c(d-2) ... c0, each wrapping the rest. */
    for (depth = 1; depth <= NW_RLP_MAX_DEPTH + 1; depth++) {
        for (i = 0; i < depth; i++)
            enc[i] = (uint8_t)(0xc0 + depth - 1 - i);
        memset(&err, 0, sizeof err);
        if (depth <= NW_RLP_MAX_DEPTH) {
            if (nw_rlp_decode(&item, enc, (size_t)depth, &err) != NW_OK)
                fail_msg("%d nested lists refused: %s", depth, err.msg);
        } else {
            assert_int_equal(nw_rlp_decode(&item, enc, (size_t)depth, &err), NW_ERR_BAD_REQUEST);
            assert_string_equal(err.msg, "RLP: list at offset 16 is nested deeper than 16 lists");
        }
    }
}

static void test_uint_refusals(void **state)
{
    static const struct {
        const char *hex, *msg;
    } cases[] = {
        { "820001", "RLP: integer with a leading zero byte" },
        { "00", "RLP: integer with a leading zero byte" },
        { "a1010000000000000000000000000000000000000000000000000000000000000000",
          "RLP: integer of 33 bytes exceeds 32" },
        { "c0", "RLP: expected an integer, found a list" },
        { "c180", "RLP: expected an integer, found a list" },
    };
    struct nw_rlp_item item;
    struct nw_error err;
    struct nw_u256 x;
    uint8_t *in;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        in = unhex(cases[i].hex, &n);
        assert_int_equal(nw_rlp_decode(&item, in, n, &err), NW_OK);
        memset(&err, 0, sizeof err);
        assert_int_equal(nw_rlp_item_uint(&x, &item, &err), NW_ERR_BAD_REQUEST);
        assert_string_equal(err.msg, cases[i].msg);
        free(in);
    }
}

/* --- encoder bounds -------------------------------------------------------- */

static void test_encoder_respects_buffer_maximum(void **state)
{
    uint8_t data[60] = { 0 };
    struct nw_buf b;

    (void)state;
    nw_buf_init(&b, 60);
    assert_int_equal(nw_rlp_put_bytes(&b, data, 3), NW_OK); /* 4 bytes */
    /* 56 bytes need a 2-byte header: 62 in all, over the 60 allowed. */
    assert_int_equal(nw_rlp_put_bytes(&b, data, 56), NW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 4); /* nothing half-written */
    assert_int_equal(nw_rlp_put_list(&b, data, 56), NW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 4);
    assert_int_equal(nw_rlp_put_bytes(&b, data, 55), NW_OK); /* exactly 60 */
    assert_int_equal(b.len, 60);
    assert_int_equal(nw_rlp_put_u64(&b, 1), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_rlp_put_list_header(&b, 0), NW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 60);
    nw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_examples_strings_and_ints),
        cmocka_unit_test(test_doc_examples_lists),
        cmocka_unit_test(test_uint_encodings),
        cmocka_unit_test(test_ethereum_rlptest_encode),
        cmocka_unit_test(test_ethereum_rlptest_decode),
        cmocka_unit_test(test_ethereum_invalid_rlp),
        cmocka_unit_test(test_round_trip_every_length_class),
        cmocka_unit_test(test_round_trip_every_single_byte),
        cmocka_unit_test(test_headers_at_length_boundaries),
        cmocka_unit_test(test_next_walks_list_items),
        cmocka_unit_test(test_uint_decoding),
        cmocka_unit_test(test_uint_32_bytes_is_the_maximum),
        cmocka_unit_test(test_refuses_0x81_before_small_byte),
        cmocka_unit_test(test_refuses_long_form_for_short_string),
        cmocka_unit_test(test_refuses_leading_zero_in_length),
        cmocka_unit_test(test_refuses_long_form_for_short_list),
        cmocka_unit_test(test_refuses_truncated_payload),
        cmocka_unit_test(test_refuses_truncated_length),
        cmocka_unit_test(test_refuses_length_beyond_input),
        cmocka_unit_test(test_refuses_trailing_bytes),
        cmocka_unit_test(test_refuses_empty_input),
        cmocka_unit_test(test_refuses_child_overrunning_list),
        cmocka_unit_test(test_refuses_nesting_deeper_than_max),
        cmocka_unit_test(test_uint_refusals),
        cmocka_unit_test(test_encoder_respects_buffer_maximum),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
