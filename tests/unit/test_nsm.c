/*
 * test_nsm.c - the Nitro Secure Module: the message codec against bytes
 * built by hand from the serde definitions, its bounds and Error replies;
 * the device front without a device; the emulated NSM end to end through
 * the attestation verifier.
 *
 * Hand-built bytes follow aws/aws-nitro-enclaves-nsm-api src/api/mod.rs
 * (enum Request, enum Response, enum ErrorCode) as serde_cbor 0.11 encodes
 * them by default (pyfisch/cbor src/ser.rs: enum_as_map = true, packed =
 * false); tests/data/nsm_api_serde_cbor.txt adds the bytes serde_cbor
 * 0.11.2 itself produced, from that project's own tests:
 *   unit variant    -> the variant name as a text string   (Request::GetRandom)
 *   struct variant  -> a1 <text name> <map n> (<text field> <value>)*
 *   newtype variant -> a1 <text name> <value>               (Response::Error(ErrorCode))
 *   Option::None    -> f6;  ByteBuf / serde_bytes -> a byte string;  u16 -> uint
 *
 * There is no /dev/nsm on development machines or in CI: the device is
 * exercised only as far as opening it (refused when absent or not a
 * character device) and an ioctl on a character device that is not the NSM
 * (/dev/null, refused).  Inside an enclave, where /dev/nsm exists, a
 * GetRandom and DescribePCR smoke test runs on it too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nitrowallet/nsm.h"
#include "nitrowallet/nsm_codec.h"

#define B(s) (const uint8_t *)(s), (sizeof(s) - 1)

/* clang-format off: each CBOR message stays on one line, item by item. */

/* --- requests ----------------------------------------------------------------- */

static void encode_request(const struct nw_nsm_request *req, const uint8_t *want, size_t want_len)
{
    struct nw_nsm_request back;
    struct nw_error err = {0};
    struct nw_buf b;

    nw_buf_init(&b, NW_NSM_REQUEST_MAX);
    assert_int_equal(nw_nsm_request_encode(&b, req, &err), NW_OK);
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.data, want, want_len);
    /* And back (the emulated NSM's side). */
    assert_int_equal(nw_nsm_request_decode(&back, want, want_len, &err), NW_OK);
    assert_int_equal(back.op, req->op);
    assert_int_equal(back.index, req->index);
    assert_int_equal(back.user_data_len, req->user_data_len);
    assert_int_equal(back.user_data == NULL, req->user_data == NULL);
    assert_int_equal(back.nonce == NULL, req->nonce == NULL);
    assert_int_equal(back.public_key == NULL, req->public_key == NULL);
    nw_buf_free(&b);
}

static void test_request_get_random_is_a_bare_text(void **state)
{
    struct nw_nsm_request req = {.op = NW_NSM_OP_GET_RANDOM};
    (void)state;
    encode_request(&req, B("\x69"
                           "GetRandom"));
}

static void test_request_describe_pcr(void **state)
{
    struct nw_nsm_request req = {.op = NW_NSM_OP_DESCRIBE_PCR, .index = 5};
    (void)state;
    encode_request(&req, B("\xa1\x6b"
                           "DescribePCR"
                           "\xa1\x65"
                           "index"
                           "\x05"));
    req.index = 300; /* a two-byte uint */
    encode_request(&req, B("\xa1\x6b"
                           "DescribePCR"
                           "\xa1\x65"
                           "index"
                           "\x19\x01\x2c"));
    req.index = 0xffff;
    encode_request(&req, B("\xa1\x6b"
                           "DescribePCR"
                           "\xa1\x65"
                           "index"
                           "\x19\xff\xff"));
}

static void test_request_attestation(void **state)
{
    static const uint8_t ud[2] = {1, 2}, pk[1] = {0xff};
    struct nw_nsm_request req = {.op = NW_NSM_OP_ATTESTATION};
    (void)state;
    /* All three None: three nulls, fields in declaration order. */
    encode_request(&req, B("\xa1\x6b"
                           "Attestation"
                           "\xa3"
                           "\x69"
                           "user_data"
                           "\xf6"
                           "\x65"
                           "nonce"
                           "\xf6"
                           "\x6a"
                           "public_key"
                           "\xf6"));
    /* Present values are byte strings; an empty nonce is h'' (40), not null. */
    req.user_data = ud, req.user_data_len = 2;
    req.nonce = ud, req.nonce_len = 0;
    req.public_key = pk, req.public_key_len = 1;
    encode_request(&req, B("\xa1\x6b"
                           "Attestation"
                           "\xa3"
                           "\x69"
                           "user_data"
                           "\x42\x01\x02"
                           "\x65"
                           "nonce"
                           "\x40"
                           "\x6a"
                           "public_key"
                           "\x41\xff"));
}

static void test_request_bounds(void **state)
{
    static uint8_t big[NW_NSM_MAX_USER_DATA + 1];
    struct nw_nsm_request req = {.op = NW_NSM_OP_ATTESTATION};
    struct nw_error err = {0};
    struct nw_buf b;
    (void)state;

    nw_buf_init(&b, NW_NSM_REQUEST_MAX);
    /* 1024 bytes in each of the three fields fits in one 4 KiB request. */
    req.user_data = req.nonce = req.public_key = big;
    req.user_data_len = req.nonce_len = req.public_key_len = NW_NSM_MAX_USER_DATA;
    assert_int_equal(nw_nsm_request_encode(&b, &req, &err), NW_OK);
    assert_true(b.len <= NW_NSM_REQUEST_MAX);
    b.len = 0;
    req.user_data_len = NW_NSM_MAX_USER_DATA + 1;
    assert_int_equal(nw_nsm_request_encode(&b, &req, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "user_data of 1025 bytes"));
    req.user_data_len = 1, req.nonce_len = NW_NSM_MAX_NONCE + 1;
    assert_int_equal(nw_nsm_request_encode(&b, &req, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "nonce"));
    req.nonce_len = 1, req.public_key_len = NW_NSM_MAX_PUBLIC_KEY + 1;
    assert_int_equal(nw_nsm_request_encode(&b, &req, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "public_key"));
    assert_int_equal(b.len, 0); /* nothing left behind */

    req.op = NW_NSM_OP_DESCRIBE_PCR, req.index = 0x10000;
    assert_int_equal(nw_nsm_request_encode(&b, &req, &err), NW_ERR_BAD_REQUEST);
    nw_buf_free(&b);
}

static void test_request_decode_as_serde_does(void **state)
{
    struct nw_nsm_request q;
    struct nw_error err = {0};
    (void)state;
    /* Fields in another order, absent Option fields (serde: None). */
    assert_int_equal(nw_nsm_request_decode(&q,
                                           B("\xa1\x6b"
                                             "Attestation"
                                             "\xa1\x65"
                                             "nonce"
                                             "\x41\x07"),
                                           &err),
                     NW_OK);
    assert_int_equal(q.op, NW_NSM_OP_ATTESTATION);
    assert_null(q.user_data);
    assert_null(q.public_key);
    assert_int_equal(q.nonce_len, 1);
    assert_int_equal(q.nonce[0], 7);
    /* Refused: a u16 index over 65535, a DescribePCR without index, a unit
     * Attestation, an unknown request, trailing bytes. */
    assert_int_equal(nw_nsm_request_decode(&q,
                                           B("\xa1\x6b"
                                             "DescribePCR"
                                             "\xa1\x65"
                                             "index"
                                             "\x1a\x00\x01\x00\x00"),
                                           &err),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_nsm_request_decode(&q,
                                           B("\xa1\x6b"
                                             "DescribePCR"
                                             "\xa0"),
                                           &err),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_nsm_request_decode(&q,
                                           B("\x6b"
                                             "Attestation"),
                                           &err),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_nsm_request_decode(&q,
                                           B("\x6b"
                                             "DescribeNSM"),
                                           &err),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_nsm_request_decode(&q,
                                           B("\x69"
                                             "GetRandom"
                                             "\x00"),
                                           &err),
                     NW_ERR_BAD_REQUEST);
}

/* --- responses --------------------------------------------------------------- */

/* Decode `p`, check its kind and payload, and re-encode it to the same bytes. */
static void decode_response(const uint8_t *p, size_t len, enum nw_nsm_op op, const uint8_t *data, size_t data_len)
{
    struct nw_nsm_response r;
    struct nw_error err = {0};
    struct nw_buf b;

    assert_int_equal(nw_nsm_response_decode(&r, p, len, &err), NW_OK);
    assert_int_equal(r.op, op);
    if (op != NW_NSM_OP_ERROR) {
        assert_int_equal(r.len, data_len);
        assert_memory_equal(r.data, data, data_len);
        assert_true(r.data >= p && r.data + r.len <= p + len); /* points into the input */
        assert_int_equal(nw_nsm_response_expect(&r, op, &err), NW_OK);
    }
    nw_buf_init(&b, NW_NSM_RESPONSE_MAX);
    assert_int_equal(nw_nsm_response_encode(&b, &r, &err), NW_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, p, len);
    nw_buf_free(&b);
}

static void test_response_attestation_and_random(void **state)
{
    (void)state;
    decode_response(B("\xa1\x6b"
                      "Attestation"
                      "\xa1\x68"
                      "document"
                      "\x43\x84\x40\xa0"),
                    NW_NSM_OP_ATTESTATION, (const uint8_t *)"\x84\x40\xa0", 3);
    decode_response(B("\xa1\x69"
                      "GetRandom"
                      "\xa1\x66"
                      "random"
                      "\x44\x01\x02\x03\x04"),
                    NW_NSM_OP_GET_RANDOM, (const uint8_t *)"\x01\x02\x03\x04", 4);
}

static void test_response_describe_pcr(void **state)
{
    static const char head[] = "\xa1\x6b"
                               "DescribePCR"
                               "\xa2\x64"
                               "lock"
                               "\xf5\x64"
                               "data"
                               "\x58\x30";
    uint8_t msg[sizeof head - 1 + 48], value[48];
    struct nw_nsm_response r;
    (void)state;

    memset(value, 0xab, sizeof value);
    memcpy(msg, head, sizeof head - 1);
    memcpy(msg + sizeof head - 1, value, sizeof value);
    decode_response(msg, sizeof msg, NW_NSM_OP_DESCRIBE_PCR, value, sizeof value);
    assert_int_equal(nw_nsm_response_decode(&r, msg, sizeof msg, NULL), NW_OK);
    assert_int_equal(r.lock, 1);
    msg[sizeof "\xa1\x6b"
               "DescribePCR"
               "\xa2\x64"
               "lock" -
        1] = 0xf4; /* false */
    assert_int_equal(nw_nsm_response_decode(&r, msg, sizeof msg, NULL), NW_OK);
    assert_int_equal(r.lock, 0);
    /* Serde takes the fields in any order. */
    assert_int_equal(nw_nsm_response_decode(&r,
                                            B("\xa1\x6b"
                                              "DescribePCR"
                                              "\xa2\x64"
                                              "data"
                                              "\x41\x09"
                                              "\x64"
                                              "lock"
                                              "\xf5"),
                                            NULL),
                     NW_OK);
    assert_int_equal(r.len, 1);
    assert_int_equal(r.lock, 1);
}

static const struct {
    const char *name;
    enum nw_nsm_error_code code;
    enum nw_err err;
} error_codes[] = {
    {"Success", NW_NSM_E_SUCCESS, NW_ERR_UNAVAILABLE},
    {"InvalidArgument", NW_NSM_E_INVALID_ARGUMENT, NW_ERR_BAD_REQUEST},
    {"InvalidIndex", NW_NSM_E_INVALID_INDEX, NW_ERR_BAD_REQUEST},
    {"InvalidResponse", NW_NSM_E_INVALID_RESPONSE, NW_ERR_UNAVAILABLE},
    {"ReadOnlyIndex", NW_NSM_E_READ_ONLY_INDEX, NW_ERR_BAD_REQUEST},
    {"InvalidOperation", NW_NSM_E_INVALID_OPERATION, NW_ERR_BAD_REQUEST},
    {"BufferTooSmall", NW_NSM_E_BUFFER_TOO_SMALL, NW_ERR_UNAVAILABLE},
    {"InputTooLarge", NW_NSM_E_INPUT_TOO_LARGE, NW_ERR_TOO_LARGE},
    {"InternalError", NW_NSM_E_INTERNAL_ERROR, NW_ERR_UNAVAILABLE},
};

/* {"Error": "<code>"}: Response::Error(ErrorCode), a newtype variant whose
 * value is a unit variant, i.e. a text string. */
static size_t error_reply(uint8_t *out, const char *code)
{
    size_t n = strlen(code);
    memcpy(out,
           "\xa1\x65"
           "Error",
           7);
    out[7] = (uint8_t)(0x60 + n); /* every name is shorter than 24 */
    memcpy(out + 8, code, n);
    return 8 + n;
}

static void test_response_error_replies(void **state)
{
    struct nw_nsm_response r;
    struct nw_error err = {0};
    uint8_t msg[64];
    size_t i, n;
    (void)state;

    for (i = 0; i < sizeof error_codes / sizeof error_codes[0]; i++) {
        n = error_reply(msg, error_codes[i].name);
        decode_response(msg, n, NW_NSM_OP_ERROR, NULL, 0);
        assert_int_equal(nw_nsm_response_decode(&r, msg, n, &err), NW_OK);
        assert_int_equal(r.error, error_codes[i].code);
        assert_string_equal(nw_nsm_error_name(r.error), error_codes[i].name);
        /* An Error reply is never success, and the message names the code. */
        assert_int_equal(nw_nsm_response_expect(&r, NW_NSM_OP_ATTESTATION, &err), error_codes[i].err);
        assert_int_equal(err.code, error_codes[i].err);
        assert_non_null(strstr(err.msg, "NSM refused Attestation"));
        assert_non_null(strstr(err.msg, error_codes[i].name));
    }
    n = error_reply(msg, "InvalidIndex");
    assert_int_equal(nw_nsm_response_decode(&r, msg, n, &err), NW_OK);
    assert_int_equal(nw_nsm_response_expect(&r, NW_NSM_OP_DESCRIBE_PCR, &err), NW_ERR_BAD_REQUEST);
    assert_string_equal(err.msg, "NSM refused DescribePCR: InvalidIndex (PCR index out of bounds)");
}

static void test_response_of_another_kind_is_internal(void **state)
{
    struct nw_nsm_response r;
    struct nw_error err = {0};
    (void)state;
    assert_int_equal(nw_nsm_response_decode(&r,
                                            B("\xa1\x69"
                                              "GetRandom"
                                              "\xa1\x66"
                                              "random"
                                              "\x41\x01"),
                                            &err),
                     NW_OK);
    assert_int_equal(nw_nsm_response_expect(&r, NW_NSM_OP_ATTESTATION, &err), NW_ERR_INTERNAL);
    assert_string_equal(err.msg, "NSM answered a Attestation request with GetRandom");
}

static void test_response_refusals(void **state)
{
    static const struct {
        const char *why;
        const char *msg;
        size_t len;
    } bad[] = {
#define BAD(why, s) {why, s, sizeof(s) - 1}
        BAD("empty", ""),
        BAD("trailing byte", "\xa1\x69"
                             "GetRandom"
                             "\xa1\x66"
                             "random"
                             "\x41\x01"
                             "\x00"),
        BAD("truncated bytes", "\xa1\x69"
                               "GetRandom"
                               "\xa1\x66"
                               "random"
                               "\x44\x01"),
        BAD("truncated map", "\xa1\x6b"
                             "Attestation"),
        BAD("unknown variant", "\xa1\x67"
                               "LockPCR"
                               "\xa0"),
        BAD("unit variant", "\x69"
                            "GetRandom"),
        BAD("unit variant LockPCR", "\x67"
                                    "LockPCR"),
        BAD("unknown error code", "\xa1\x65"
                                  "Error"
                                  "\x65"
                                  "Bogus"),
        BAD("error code as integer", "\xa1\x65"
                                     "Error"
                                     "\x02"),
        BAD("error without code", "\xa1\x65"
                                  "Error"),
        BAD("duplicate field", "\xa1\x69"
                               "GetRandom"
                               "\xa2\x66"
                               "random"
                               "\x41\x01\x66"
                               "random"
                               "\x41\x02"),
        BAD("missing field", "\xa1\x69"
                             "GetRandom"
                             "\xa0"),
        BAD("missing lock", "\xa1\x6b"
                            "DescribePCR"
                            "\xa1\x64"
                            "data"
                            "\x41\x01"),
        BAD("document as text", "\xa1\x6b"
                                "Attestation"
                                "\xa1\x68"
                                "document"
                                "\x61\x41"),
        BAD("document null", "\xa1\x6b"
                             "Attestation"
                             "\xa1\x68"
                             "document"
                             "\xf6"),
        BAD("lock as integer", "\xa1\x6b"
                               "DescribePCR"
                               "\xa2\x64"
                               "lock"
                               "\x01\x64"
                               "data"
                               "\x40"),
        BAD("two variants", "\xa2\x69"
                            "GetRandom"
                            "\xa1\x66"
                            "random"
                            "\x40\x65"
                            "Error"
                            "\x6d"
                            "InternalError"),
        BAD("legacy array enum", "\x82\x69"
                                 "GetRandom"
                                 "\xa1\x66"
                                 "random"
                                 "\x40"),
        BAD("indefinite map", "\xbf\x69"
                              "GetRandom"
                              "\xa1\x66"
                              "random"
                              "\x40\xff"),
        BAD("tagged", "\xd8\x18\xa1\x69"
                      "GetRandom"
                      "\xa1\x66"
                      "random"
                      "\x40"),
        BAD("variant name as bytes", "\xa1\x49"
                                     "GetRandom"
                                     "\xa1\x66"
                                     "random"
                                     "\x40"),
        BAD("field name as integer", "\xa1\x69"
                                     "GetRandom"
                                     "\xa1\x00\x40"),
        BAD("fields as array", "\xa1\x69"
                               "GetRandom"
                               "\x81\x40"),
        BAD("huge declared length", "\xa1\x69"
                                    "GetRandom"
                                    "\xa1\x66"
                                    "random"
                                    "\x5b\xff\xff\xff\xff\xff\xff\xff\xff"),
#undef BAD
    };
    struct nw_nsm_response r;
    struct nw_error err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        if (nw_nsm_response_decode(&r, (const uint8_t *)bad[i].msg, bad[i].len, &err) != NW_ERR_BAD_REQUEST)
            fail_msg("accepted or wrong code: %s", bad[i].why);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_response_pcr_value_bound(void **state)
{
    static const char head[] = "\xa1\x6b"
                               "DescribePCR"
                               "\xa2\x64"
                               "lock"
                               "\xf5\x64"
                               "data"
                               "\x58";
    uint8_t msg[sizeof head + NW_NSM_PCR_DATA_MAX + 1];
    struct nw_nsm_response r;
    struct nw_error err = {0};
    (void)state;

    memcpy(msg, head, sizeof head - 1);
    memset(msg + sizeof head, 0, NW_NSM_PCR_DATA_MAX + 1);
    msg[sizeof head - 1] = NW_NSM_PCR_DATA_MAX; /* 64 bytes: a SHA-512 bank */
    assert_int_equal(nw_nsm_response_decode(&r, msg, sizeof msg - 1, &err), NW_OK);
    msg[sizeof head - 1] = NW_NSM_PCR_DATA_MAX + 1;
    assert_int_equal(nw_nsm_response_decode(&r, msg, sizeof msg, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "65 bytes"));
}

static void test_response_size_bound(void **state)
{
    static const char head[] = "\xa1\x69"
                               "GetRandom"
                               "\xa1\x66"
                               "random"
                               "\x59";
    size_t hl = sizeof head - 1 + 2, n;
    uint8_t *msg = calloc(1, NW_NSM_RESPONSE_MAX + 1);
    struct nw_nsm_response r;
    struct nw_error err = {0};
    (void)state;

    assert_non_null(msg);
    /* Exactly 12 KiB (NSM_RESPONSE_MAX_SIZE): accepted. */
    n = NW_NSM_RESPONSE_MAX - hl;
    memcpy(msg, head, sizeof head - 1);
    msg[hl - 2] = (uint8_t)(n >> 8), msg[hl - 1] = (uint8_t)n;
    assert_int_equal(nw_nsm_response_decode(&r, msg, NW_NSM_RESPONSE_MAX, &err), NW_OK);
    assert_int_equal(r.len, n);
    /* One byte more: refused before parsing. */
    n++;
    msg[hl - 2] = (uint8_t)(n >> 8), msg[hl - 1] = (uint8_t)n;
    assert_int_equal(nw_nsm_response_decode(&r, msg, NW_NSM_RESPONSE_MAX + 1, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "exceeds 12288"));
    free(msg);
}

static void test_response_unknown_field_skipped(void **state)
{
    struct nw_nsm_response r;
    (void)state;
    /* serde's derived Deserialize ignores fields it does not know. */
    assert_int_equal(nw_nsm_response_decode(&r,
                                            B("\xa1\x6b"
                                              "Attestation"
                                              "\xa2\x65"
                                              "extra"
                                              "\x82\x01\xa0\x68"
                                              "document"
                                              "\x41\x07"),
                                            NULL),
                     NW_OK);
    assert_int_equal(r.op, NW_NSM_OP_ATTESTATION);
    assert_int_equal(r.len, 1);
    assert_int_equal(r.data[0], 7);
}

/* clang-format on */

/* --- serde_cbor's own bytes ------------------------------------------------------ */

/* tests/data/nsm_api_serde_cbor.txt: what serde_cbor 0.11.2 wrote for the
 * nsm-api's Request and Response values (copied from that project's tests). */
static FILE *open_data(const char *name)
{
    const char *dir = getenv("NW_TEST_DATA");
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root or set NW_TEST_DATA)", path);
    return f;
}

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2, i;
    unsigned v;

    assert_true(strlen(hex) % 2 == 0 && n <= cap);
    for (i = 0; i < n; i++) {
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void check_serde_request(const char *value, const uint8_t *msg, size_t len)
{
    static const uint8_t ud[] = {9, 9}, pk[] = {7};
    struct nw_nsm_request req = {0}, back;

    if (strcmp(value, "DescribePCR{index:3}") == 0) {
        req.op = NW_NSM_OP_DESCRIBE_PCR, req.index = 3;
    } else if (strcmp(value, "GetRandom") == 0) {
        req.op = NW_NSM_OP_GET_RANDOM;
    } else if (strcmp(value, "Attestation{user_data:0909,nonce:None,public_key:07}") == 0) {
        req.op = NW_NSM_OP_ATTESTATION;
        req.user_data = ud, req.user_data_len = 2, req.public_key = pk, req.public_key_len = 1;
    } else {
        /* ExtendPCR, LockPCR, LockPCRs, DescribeNSM: never sent, refused. */
        assert_int_equal(nw_nsm_request_decode(&back, msg, len, NULL), NW_ERR_BAD_REQUEST);
        return;
    }
    encode_request(&req, msg, len);
}

static void check_serde_response(const char *value, const uint8_t *msg, size_t len)
{
    struct nw_nsm_response r;

    if (strcmp(value, "DescribePCR{lock:true,data:aabb}") == 0) {
        decode_response(msg, len, NW_NSM_OP_DESCRIBE_PCR, (const uint8_t *)"\xaa\xbb", 2);
    } else if (strcmp(value, "Attestation{document:d284}") == 0) {
        decode_response(msg, len, NW_NSM_OP_ATTESTATION, (const uint8_t *)"\xd2\x84", 2);
    } else if (strcmp(value, "GetRandom{random:040404}") == 0) {
        decode_response(msg, len, NW_NSM_OP_GET_RANDOM, (const uint8_t *)"\x04\x04\x04", 3);
    } else if (strcmp(value, "Error(InvalidIndex)") == 0) {
        decode_response(msg, len, NW_NSM_OP_ERROR, NULL, 0);
        assert_int_equal(nw_nsm_response_decode(&r, msg, len, NULL), NW_OK);
        assert_int_equal(r.error, NW_NSM_E_INVALID_INDEX);
        return;
    } else {
        /* ExtendPCR, LockPCR, LockPCRs, DescribeNSM: never asked for. */
        assert_int_equal(nw_nsm_response_decode(&r, msg, len, NULL), NW_ERR_BAD_REQUEST);
        return;
    }
    assert_int_equal(nw_nsm_response_decode(&r, msg, len, NULL), NW_OK);
    if (r.op == NW_NSM_OP_DESCRIBE_PCR)
        assert_int_equal(r.lock, 1);
}

static void test_serde_cbor_vectors(void **state)
{
    char line[1024], dir[16], value[128], hex[512];
    uint8_t msg[256];
    int requests = 0, responses = 0;
    FILE *f = open_data("nsm_api_serde_cbor.txt");
    size_t n;
    (void)state;

    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        assert_int_equal(sscanf(line, "%15s %127s %511s", dir, value, hex), 3);
        if (strcmp(dir, "doc") == 0)
            continue;
        n = unhex(msg, sizeof msg, hex);
        if (strcmp(dir, "request") == 0)
            check_serde_request(value, msg, n), requests++;
        else if (strcmp(dir, "response") == 0)
            check_serde_response(value, msg, n), responses++;
        else
            fail_msg("unknown line kind %s", dir);
    }
    fclose(f);
    assert_int_equal(requests, 7);
    assert_int_equal(responses, 8);
}

/* --- the device, without a device ------------------------------------------- */

static void test_device_absent_or_not_a_device(void **state)
{
    struct nw_nsm *nsm = (struct nw_nsm *)1;
    struct nw_error err = {0};
    char path[] = "/tmp/nw-test-nsm-XXXXXX";
    int fd;
    (void)state;

    if (access("/dev/nsm", F_OK) != 0) {
        print_message("note: no /dev/nsm here (not a Nitro Enclave); the device is tested without it\n");
        assert_int_equal(nw_nsm_open_device(&nsm, NULL, &err), NW_ERR_UNAVAILABLE);
        assert_null(nsm);
        assert_non_null(strstr(err.msg, "cannot open /dev/nsm"));
    }
    assert_int_equal(nw_nsm_open_device(&nsm, "/nonexistent/nsm", &err), NW_ERR_UNAVAILABLE);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(nw_nsm_open_device(&nsm, path, &err), NW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "not a character device"));
    unlink(path);
}

static void test_device_ioctl_on_another_device_fails(void **state)
{
    struct nw_nsm *nsm = NULL;
    struct nw_error err = {0};
    uint8_t buf[16], value[48];
    size_t len;
    int locked;
    (void)state;

    /* /dev/null is a character device that knows no NSM ioctl. */
    assert_int_equal(nw_nsm_open_device(&nsm, "/dev/null", &err), NW_OK);
    assert_false(nw_nsm_is_emulated(nsm));
    assert_int_equal(nw_nsm_get_random(nsm, buf, sizeof buf, &err), NW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "ioctl failed"));
    assert_int_equal(nw_nsm_describe_pcr(nsm, 0, value, sizeof value, &len, &locked, &err), NW_ERR_UNAVAILABLE);
    /* The front refuses out-of-range input before reaching the device. */
    assert_int_equal(nw_nsm_describe_pcr(nsm, 0x10000, value, sizeof value, &len, &locked, &err), NW_ERR_BAD_REQUEST);
    nw_nsm_close(nsm);
}

static void test_device_smoke_if_present(void **state)
{
    struct nw_nsm *nsm = NULL;
    struct nw_error err = {0};
    uint8_t buf[600], value[64];
    size_t len;
    int locked;
    (void)state;

    if (access("/dev/nsm", F_OK) != 0) {
        print_message("note: skipped, no /dev/nsm\n");
        return;
    }
    assert_int_equal(nw_nsm_open_device(&nsm, NULL, &err), NW_OK);
    assert_int_equal(nw_nsm_get_random(nsm, buf, sizeof buf, &err), NW_OK);
    assert_int_equal(nw_nsm_describe_pcr(nsm, 0, value, sizeof value, &len, &locked, &err), NW_OK);
    assert_int_equal(len, 48);
    assert_true(locked);
    nw_nsm_close(nsm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_get_random_is_a_bare_text),
        cmocka_unit_test(test_request_describe_pcr),
        cmocka_unit_test(test_request_attestation),
        cmocka_unit_test(test_request_bounds),
        cmocka_unit_test(test_request_decode_as_serde_does),
        cmocka_unit_test(test_response_attestation_and_random),
        cmocka_unit_test(test_response_describe_pcr),
        cmocka_unit_test(test_response_error_replies),
        cmocka_unit_test(test_response_of_another_kind_is_internal),
        cmocka_unit_test(test_response_refusals),
        cmocka_unit_test(test_response_pcr_value_bound),
        cmocka_unit_test(test_response_size_bound),
        cmocka_unit_test(test_response_unknown_field_skipped),
        cmocka_unit_test(test_serde_cbor_vectors),
        cmocka_unit_test(test_device_absent_or_not_a_device),
        cmocka_unit_test(test_device_ioctl_on_another_device_fails),
        cmocka_unit_test(test_device_smoke_if_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
