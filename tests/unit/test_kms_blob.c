/*
 * test_kms_blob.c - nitrowallet-kms's ciphertext blobs bind the key and the
 * encryption context: round trip, then refusal (and nothing released) for
 * another context (changed value, missing or extra pair, bytes moved
 * between key and value), another key's material, a changed key id, every
 * flipped bit, every truncation, and an unknown version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/kms/kms_internal.h"

static const char key_id[] = "8bcfc867-1f1e-4cb1-9feb-637d8569d16a";
static uint8_t material[32], other[32];
static const uint8_t pt[] = "a 32-byte data key, or any bytes";
static struct kms_context ctx2;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(nw_random(material, 32), NW_OK);
    assert_int_equal(nw_random(other, 32), NW_OK);
    ctx2.n = 2;
    ctx2.pairs[0] = (struct kms_pair){"account", 7, "alice", 5};
    ctx2.pairs[1] = (struct kms_pair){"purpose", 7, "seal", 4};
    return 0;
}

static void seal(struct nw_buf *b, const struct kms_context *ctx)
{
    nw_buf_init(b, KMS_MAX_CIPHERTEXT);
    assert_int_equal(kms_blob_seal(b, material, key_id, ctx, pt, sizeof pt, NULL), NW_OK);
    assert_int_equal(b->len, KMS_BLOB_OVERHEAD + sizeof pt);
}

static void refused(const uint8_t *key, const uint8_t *blob, size_t len, const struct kms_context *ctx)
{
    struct nw_secret out = {(uint8_t *)1, 1, 1};
    struct nw_error err = {NW_OK, ""};

    assert_int_equal(kms_blob_open(&out, key, blob, len, ctx, &err), NW_ERR_SEAL_INVALID);
    assert_null(out.data);
    assert_true(err.msg[0] != '\0');
}

static void round_trip(void **state)
{
    struct nw_buf b;
    struct nw_secret out;
    char id[KMS_KEY_ID_LEN + 1];

    (void)state;
    seal(&b, &ctx2);
    assert_int_equal(kms_blob_key_id(id, b.data, b.len, NULL), NW_OK);
    assert_string_equal(id, key_id);
    assert_int_equal(kms_blob_open(&out, material, b.data, b.len, &ctx2, NULL), NW_OK);
    assert_int_equal(out.len, sizeof pt);
    assert_memory_equal(out.data, pt, sizeof pt);
    nw_secret_free(&out);
    nw_buf_free(&b);
    seal(&b, NULL); /* no context */
    assert_int_equal(kms_blob_open(&out, material, b.data, b.len, NULL, NULL), NW_OK);
    nw_secret_free(&out);
    nw_buf_free(&b);
}

static void another_context_refused(void **state)
{
    struct nw_buf b;
    struct kms_context c;

    (void)state;
    seal(&b, &ctx2);
    refused(material, b.data, b.len, NULL);
    c = ctx2;
    c.pairs[0].value = "bob";
    c.pairs[0].value_len = 3;
    refused(material, b.data, b.len, &c);
    c = ctx2;
    c.n = 1;
    refused(material, b.data, b.len, &c);
    c = ctx2;
    c.n = 3;
    c.pairs[2] = (struct kms_pair){"z", 1, "", 0};
    refused(material, b.data, b.len, &c);
    nw_buf_free(&b);
    /* "ab" = "c" and "a" = "bc" share their bytes: length prefixes keep them apart */
    c.n = 1;
    c.pairs[0] = (struct kms_pair){"ab", 2, "c", 1};
    nw_buf_init(&b, KMS_MAX_CIPHERTEXT);
    assert_int_equal(kms_blob_seal(&b, material, key_id, &c, pt, sizeof pt, NULL), NW_OK);
    c.pairs[0] = (struct kms_pair){"a", 1, "bc", 2};
    refused(material, b.data, b.len, &c);
    nw_buf_free(&b);
}

static void another_key_or_id_refused(void **state)
{
    struct nw_buf b;

    (void)state;
    seal(&b, &ctx2);
    refused(other, b.data, b.len, &ctx2);
    b.data[4] = b.data[4] == '0' ? '1' : '0'; /* another (valid) key id */
    refused(material, b.data, b.len, &ctx2);
    nw_buf_free(&b);
}

static void every_flip_and_truncation_refused(void **state)
{
    struct nw_buf b;

    (void)state;
    seal(&b, &ctx2);
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (uint8_t)(1u << bit);
            refused(material, b.data, b.len, &ctx2);
            b.data[i] ^= (uint8_t)(1u << bit);
        }
    for (size_t n = 0; n < b.len; n++)
        refused(material, b.data, n, &ctx2);
    b.data[2] = 2;
    refused(material, b.data, b.len, &ctx2);
    nw_buf_free(&b);
}

static void bounds(void **state)
{
    uint8_t big[KMS_MAX_PLAINTEXT + 1] = {0};
    struct nw_buf b;

    (void)state;
    nw_buf_init(&b, 2 * KMS_MAX_CIPHERTEXT);
    assert_int_equal(kms_blob_seal(&b, material, key_id, NULL, big, 0, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(kms_blob_seal(&b, material, key_id, NULL, big, sizeof big, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(kms_blob_seal(&b, material, key_id, NULL, big, KMS_MAX_PLAINTEXT, NULL), NW_OK);
    assert_true(b.len <= KMS_MAX_CIPHERTEXT);
    nw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(another_context_refused),
        cmocka_unit_test(another_key_or_id_refused),
        cmocka_unit_test(every_flip_and_truncation_refused),
        cmocka_unit_test(bounds),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
