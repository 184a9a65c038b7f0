/*
 * test_seal.c - sealing binds a private key to its account: round trip,
 * and refusal of every change to the binding, every flipped bit, the wrong
 * data key, every truncation and unknown versions, releasing nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/seal.h"

struct fixture {
    struct nw_secret data_key;
    struct nw_seal_context ctx;
    uint8_t sk[32];
    struct nw_buf blob;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    assert_int_equal(nw_secret_alloc(&f.data_key, 32), NW_OK);
    assert_int_equal(nw_random(f.data_key.data, 32), NW_OK);
    assert_int_equal(nw_random(f.sk, 32), NW_OK);
    f.ctx.account_name = "treasury";
    f.ctx.account_name_len = 8;
    memset(f.ctx.address, 0x11, 20);
    f.ctx.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    f.ctx.kms_key_id_len = strlen(f.ctx.kms_key_id);
    memset(f.ctx.policy_digest, 0x22, 32);
    nw_buf_init(&f.blob, 256);
    assert_int_equal(nw_seal_key(&f.blob, &f.data_key, &f.ctx, f.sk, NULL), NW_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nw_buf_free(&f->blob);
    nw_secret_free(&f->data_key);
    return 0;
}

static void expect_refused(const struct fixture *f, const struct nw_secret *key, const struct nw_seal_context *ctx,
                           const uint8_t *blob, size_t len)
{
    struct nw_secret out = {(uint8_t *)1, 1, 1};
    struct nw_error err = {0};
    assert_int_equal(nw_seal_open_key(&out, key, ctx, blob, len, &err), NW_ERR_SEAL_INVALID);
    assert_null(out.data); /* nothing released */
    assert_int_equal(out.len, 0);
    assert_true(err.msg[0] != '\0');
    /* The message never carries key material. */
    assert_null(memmem(err.msg, strlen(err.msg), f->sk, 4));
}

static void test_round_trip_and_format(void **state)
{
    struct fixture *f = *state;
    struct nw_secret out;
    struct nw_buf again;
    (void)state;
    assert_int_equal(f->blob.len, NW_SEAL_V1_LEN);
    assert_int_equal(f->blob.data[0], NW_SEAL_VERSION_1);
    assert_null(memmem(f->blob.data, f->blob.len, f->sk, 32)); /* no plaintext in the blob */
    assert_int_equal(nw_seal_open_key(&out, &f->data_key, &f->ctx, f->blob.data, f->blob.len, NULL), NW_OK);
    assert_int_equal(out.len, 32);
    assert_memory_equal(out.data, f->sk, 32);
    nw_secret_free(&out);
    /* A fresh nonce each time: sealing twice gives different blobs. */
    nw_buf_init(&again, 256);
    assert_int_equal(nw_seal_key(&again, &f->data_key, &f->ctx, f->sk, NULL), NW_OK);
    assert_memory_not_equal(again.data + 1, f->blob.data + 1, NW_SEAL_NONCE_LEN);
    nw_buf_free(&again);
}

static void test_every_binding_field_changed_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_seal_context c;

    c = f->ctx;
    c.account_name = "treasurz";
    expect_refused(f, &f->data_key, &c, f->blob.data, f->blob.len);
    c = f->ctx;
    c.account_name_len = 7; /* a prefix of the name */
    expect_refused(f, &f->data_key, &c, f->blob.data, f->blob.len);
    for (int i = 0; i < 20; i++) {
        c = f->ctx;
        c.address[i] ^= 1;
        expect_refused(f, &f->data_key, &c, f->blob.data, f->blob.len);
    }
    c = f->ctx;
    c.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ac";
    expect_refused(f, &f->data_key, &c, f->blob.data, f->blob.len);
    for (int i = 0; i < 32; i++) {
        c = f->ctx;
        c.policy_digest[i] ^= 0x80;
        expect_refused(f, &f->data_key, &c, f->blob.data, f->blob.len);
    }
}

static void test_every_bit_flipped_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t b[NW_SEAL_V1_LEN];

    for (size_t i = 0; i < f->blob.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, f->blob.data, sizeof b);
            b[i] ^= (uint8_t)(1u << bit);
            expect_refused(f, &f->data_key, &f->ctx, b, sizeof b);
        }
    }
}

static void test_wrong_key_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_secret other;
    assert_int_equal(nw_secret_alloc(&other, 32), NW_OK);
    memcpy(other.data, f->data_key.data, 32);
    other.data[31] ^= 1;
    expect_refused(f, &other, &f->ctx, f->blob.data, f->blob.len);
    nw_secret_free(&other);
}

static void test_truncated_overlong_and_versions_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t b[NW_SEAL_V1_LEN + 1];

    for (size_t n = 0; n < f->blob.len; n++)
        expect_refused(f, &f->data_key, &f->ctx, f->blob.data, n);
    memcpy(b, f->blob.data, f->blob.len);
    b[f->blob.len] = 0;
    expect_refused(f, &f->data_key, &f->ctx, b, sizeof b);
    for (int v = 0; v < 256; v++) {
        if (v == NW_SEAL_VERSION_1)
            continue;
        memcpy(b, f->blob.data, f->blob.len);
        b[0] = (uint8_t)v;
        expect_refused(f, &f->data_key, &f->ctx, b, f->blob.len);
    }
}

static void test_swapped_blob_between_accounts_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_seal_context other = f->ctx;
    struct nw_buf blob2;
    uint8_t sk2[32] = {9};

    other.account_name = "payroll";
    other.account_name_len = 7;
    memset(other.address, 0x33, 20);
    nw_buf_init(&blob2, 256);
    assert_int_equal(nw_seal_key(&blob2, &f->data_key, &other, sk2, NULL), NW_OK);
    /* Account A's record with account B's ciphertext, same data key. */
    expect_refused(f, &f->data_key, &f->ctx, blob2.data, blob2.len);
    nw_buf_free(&blob2);
}

static void test_bad_inputs_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_seal_context c = f->ctx;
    struct nw_secret out, short_key;
    struct nw_buf b;
    struct nw_error err = {0};

    nw_buf_init(&b, 256);
    c.account_name_len = 0;
    assert_int_equal(nw_seal_key(&b, &f->data_key, &c, f->sk, &err), NW_ERR_BAD_REQUEST);
    c = f->ctx;
    c.kms_key_id_len = NW_SEAL_MAX_KEY_ID + 1;
    assert_int_equal(nw_seal_key(&b, &f->data_key, &c, f->sk, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_secret_alloc(&short_key, 16), NW_OK);
    assert_int_equal(nw_seal_key(&b, &short_key, &f->ctx, f->sk, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_seal_open_key(&out, &short_key, &f->ctx, f->blob.data, f->blob.len, &err),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(b.len, 0);
    nw_secret_free(&short_key);
    nw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_binding_field_changed_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bit_flipped_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_overlong_and_versions_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_blob_between_accounts_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
