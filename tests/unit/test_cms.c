/*
 * test_cms.c - KMS's CiphertextForRecipient: the real vector (captured from
 * AWS KMS, tests/data/kms, source in tests/data/README.md) opens to its
 * plaintext with its key; a fresh key is refused, also when the message is
 * re-addressed to it; every single-byte change is refused or, where CBC
 * malleability lets it through, never yields the plaintext; the content
 * bound is enforced; nw_cms_seal's output opens (round trip) and carries
 * KMS's structure.  openssl(1) cross-checks live in tests/suites/cms_openssl.sh.
 *
 * Run from the repository root (tests/run.sh does) or set NW_SRCDIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "nitrowallet/cms.h"

#define VECTOR_LEN 606
/* Offsets in the vector (openssl asn1parse -i): the 32-byte
 * subjectKeyIdentifier, the AES-CBC IV and the encrypted content. */
#define VECTOR_SKI_OFFSET 33
#define VECTOR_IV 415
#define VECTOR_IV_END 431
#define VECTOR_CONTENT 436
#define VECTOR_CONTENT_END 596

struct vec {
    uint8_t *der, *key, *plain;
    size_t der_len, key_len, plain_len;
    struct nw_rsa_recipient *r;
};

static uint8_t *load(const char *name, size_t *len)
{
    const char *dir = getenv("NW_SRCDIR");
    char path[512];
    uint8_t *buf = calloc(1, 8192);
    FILE *f;

    assert_non_null(buf);
    snprintf(path, sizeof path, "%s/tests/data/kms/%s", dir ? dir : ".", name);
    if ((f = fopen(path, "rb")) == NULL)
        fail_msg("cannot open %s (run from the repository root or set NW_SRCDIR)", path);
    *len = fread(buf, 1, 8192, f);
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    static struct vec v;
    struct nw_error err = {0};

    v.der = load("ciphertext_for_recipient.der", &v.der_len);
    v.key = load("recipient_rsa_pkcs1.der", &v.key_len);
    v.plain = load("ciphertext_for_recipient.plaintext", &v.plain_len);
    assert_int_equal(v.der_len, VECTOR_LEN);
    assert_int_equal(v.plain_len, 154);
    assert_int_equal(nw_rsa_recipient_from_der(&v.r, v.key, v.key_len, &err), NW_OK);
    *state = &v;
    return 0;
}

static int teardown(void **state)
{
    struct vec *v = *state;
    nw_rsa_recipient_free(v->r);
    free(v->der);
    free(v->key);
    free(v->plain);
    return 0;
}

/* Refused with BAD_REQUEST, a message, nothing released. */
static void expect_refused(const struct nw_rsa_recipient *r, const uint8_t *der, size_t len, size_t max,
                           const char *why)
{
    struct nw_secret out = {(uint8_t *)1, 1, 1};
    struct nw_error err = {0};

    assert_int_equal(nw_cms_open(&out, r, der, len, max, &err), NW_ERR_BAD_REQUEST);
    assert_null(out.data);
    assert_int_equal(out.len, 0);
    assert_true(err.msg[0] != '\0');
    if (why != NULL && strstr(err.msg, why) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
}

static void test_real_vector_opens_to_its_plaintext(void **state)
{
    struct vec *v = *state;
    struct nw_secret out;
    struct nw_error err = {0};

    assert_int_equal(nw_cms_open(&out, v->r, v->der, v->der_len, 4096, &err), NW_OK);
    assert_int_equal(out.len, v->plain_len);
    assert_memory_equal(out.data, v->plain, v->plain_len);
    assert_true(out.map_len >= out.len); /* locked mapping */
    nw_secret_free(&out);
    /* Exactly the content length is enough; one byte less is refused. */
    assert_int_equal(nw_cms_open(&out, v->r, v->der, v->der_len, v->plain_len, &err), NW_OK);
    nw_secret_free(&out);
    expect_refused(v->r, v->der, v->der_len, v->plain_len - 1, "longer than");
}

static void test_key_loading_and_spki(void **state)
{
    struct vec *v = *state;
    const uint8_t *spki;
    size_t len;
    uint8_t digest[32];
    static const uint8_t ski[4] = {0xf3, 0xdf, 0x02, 0x29}; /* the vector's rid starts so */
    struct nw_rsa_recipient *r;
    struct nw_error err = {0};

    nw_rsa_recipient_spki(v->r, &spki, &len);
    assert_int_equal(len, 294); /* RSA-2048 SubjectPublicKeyInfo */
    assert_int_equal(EVP_Digest(spki, len, digest, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(digest, ski, sizeof ski);
    assert_memory_equal(digest, v->der + VECTOR_SKI_OFFSET, 32);
    /* Not a key; trailing bytes; truncated. */
    assert_int_equal(nw_rsa_recipient_from_der(&r, v->der, v->der_len, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_rsa_recipient_from_der(&r, v->key, v->key_len - 1, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_rsa_recipient_from_der(&r, v->key, 0, &err), NW_ERR_BAD_REQUEST);
    assert_null(r);
}

/* Issue 11: the private halves of generated and loaded keys live in
 * OpenSSL's locked secure heap, and go back to it when the key is freed. */
static void test_private_key_in_secure_heap(void **state)
{
    struct vec *v = *state;
    struct nw_rsa_recipient *r;
    size_t base, with_key;

    assert_int_equal(CRYPTO_secure_malloc_initialized(), 1);
    base = CRYPTO_secure_used();
    assert_true(base > 0); /* the vector's key, loaded by setup */

    assert_int_equal(nw_rsa_recipient_generate(&r, NULL), NW_OK);
    with_key = CRYPTO_secure_used();
    /* d (256 bytes) and p, q, dP, dQ, qInv (128 each) at least */
    assert_true(with_key >= base + 256 + 5 * 128);
    nw_rsa_recipient_free(r);
    assert_int_equal(CRYPTO_secure_used(), base);

    assert_int_equal(nw_rsa_recipient_from_der(&r, v->key, v->key_len, NULL), NW_OK);
    assert_true(CRYPTO_secure_used() >= base + 256 + 5 * 128);
    nw_rsa_recipient_free(r);
    assert_int_equal(CRYPTO_secure_used(), base);
}

static void test_wrong_key_refused(void **state)
{
    struct vec *v = *state;
    uint8_t *copy = malloc(v->der_len);
    int i;

    assert_non_null(copy);
    for (i = 0; i < 4; i++) {
        struct nw_rsa_recipient *fresh;
        const uint8_t *spki;
        size_t len;
        assert_int_equal(nw_rsa_recipient_generate(&fresh, NULL), NW_OK);
        expect_refused(fresh, v->der, v->der_len, 4096, "addressed to another key");
        /* Re-addressed to the fresh key: now the RSA-OAEP step must refuse. */
        nw_rsa_recipient_spki(fresh, &spki, &len);
        memcpy(copy, v->der, v->der_len);
        assert_int_equal(EVP_Digest(spki, len, copy + VECTOR_SKI_OFFSET, NULL, EVP_sha256(), NULL), 1);
        expect_refused(fresh, copy, v->der_len, 4096, "key transport failed");
        nw_rsa_recipient_free(fresh);
    }
    free(copy);
}

/* Flip each byte with `mask`: refused, or opened to something else. */
static void flip_every_byte(const struct vec *v, uint8_t mask, int *refused, int *garbage)
{
    uint8_t *copy = malloc(v->der_len);
    size_t i;

    assert_non_null(copy);
    for (i = 0; i < v->der_len; i++) {
        struct nw_secret out;
        enum nw_err rc;
        memcpy(copy, v->der, v->der_len);
        copy[i] ^= mask;
        rc = nw_cms_open(&out, v->r, copy, v->der_len, 4096, NULL);
        if (rc == NW_OK) {
            /* CBC malleability (IV or content blocks): never the plaintext. */
            if (out.len == v->plain_len && memcmp(out.data, v->plain, out.len) == 0)
                fail_msg("byte %zu ^ 0x%02x still opened to the plaintext", i, mask);
            /* Only the IV and the content bytes are malleable. */
            if (!((i >= VECTOR_IV && i < VECTOR_IV_END) || (i >= VECTOR_CONTENT && i < VECTOR_CONTENT_END)))
                fail_msg("byte %zu ^ 0x%02x in the structure was accepted", i, mask);
            nw_secret_free(&out);
            (*garbage)++;
        } else {
            assert_int_equal(rc, NW_ERR_BAD_REQUEST);
            assert_null(out.data);
            (*refused)++;
        }
    }
    free(copy);
}

static void test_every_flipped_byte_refused_or_not_plaintext(void **state)
{
    struct vec *v = *state;
    int refused = 0, garbage = 0;

    flip_every_byte(v, 0x01, &refused, &garbage);
    flip_every_byte(v, 0x80, &refused, &garbage);
    print_message("flips: %d refused, %d opened to other bytes (CBC, caller authenticates)\n", refused, garbage);
    assert_int_equal(refused + garbage, 2 * VECTOR_LEN);
    assert_true(garbage <= 2 * ((VECTOR_IV_END - VECTOR_IV) + (VECTOR_CONTENT_END - VECTOR_CONTENT)));
}

static void test_truncations_and_trailing_bytes_refused(void **state)
{
    struct vec *v = *state;
    uint8_t *longer = malloc(v->der_len + 1);
    size_t n;

    assert_non_null(longer);
    for (n = 0; n < v->der_len; n += (n < 40 ? 1 : 37))
        expect_refused(v->r, v->der, n, 4096, NULL);
    expect_refused(v->r, v->der, v->der_len - 1, 4096, NULL);
    memcpy(longer, v->der, v->der_len);
    longer[v->der_len] = 0;
    expect_refused(v->r, longer, v->der_len + 1, 4096, "single BER");
    free(longer);
    expect_refused(v->r, v->der, NW_CMS_MAX + 1, 4096, "1..");
    expect_refused(v->r, v->der, v->der_len, 0, "bound");
}

static void test_seal_open_round_trip(void **state)
{
    struct vec *v = *state;
    struct nw_rsa_recipient *fresh;
    const uint8_t *spki;
    size_t len, sizes[] = {1, 15, 16, 17, 32, 4096};
    uint8_t msg[4096];
    unsigned i;

    (void)v;
    assert_int_equal(nw_rsa_recipient_generate(&fresh, NULL), NW_OK);
    nw_rsa_recipient_spki(fresh, &spki, &len);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct nw_buf sealed;
        struct nw_secret out;
        struct nw_error err = {0};
        assert_int_equal(nw_random(msg, sizes[i]), NW_OK);
        nw_buf_init(&sealed, NW_CMS_MAX);
        assert_int_equal(nw_cms_seal(&sealed, spki, len, msg, sizes[i], &err), NW_OK);
        if (sizes[i] >= 16)
            assert_null(memmem(sealed.data, sealed.len, msg, 16)); /* no plaintext in the message */
        assert_int_equal(nw_cms_open(&out, fresh, sealed.data, sealed.len, 4096, &err), NW_OK);
        assert_int_equal(out.len, sizes[i]);
        assert_memory_equal(out.data, msg, sizes[i]);
        nw_secret_free(&out);
        /* Addressed to `fresh`: the vector's key cannot open it. */
        expect_refused(v->r, sealed.data, sealed.len, 4096, "addressed to another key");
        nw_buf_free(&sealed);
    }
    nw_rsa_recipient_free(fresh);
}

static void test_seal_refuses_bad_inputs(void **state)
{
    struct vec *v = *state;
    const uint8_t *spki;
    size_t len;
    struct nw_buf out;
    uint8_t one = 1;

    nw_rsa_recipient_spki(v->r, &spki, &len);
    nw_buf_init(&out, NW_CMS_MAX);
    assert_int_equal(nw_cms_seal(&out, spki, len - 1, &one, 1, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_cms_seal(&out, v->key, v->key_len, &one, 1, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_cms_seal(&out, spki, len, &one, 0, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(out.len, 0);
    /* An output buffer too small is an error, not a truncation. */
    nw_buf_init(&out, 100);
    assert_int_equal(nw_cms_seal(&out, spki, len, &one, 1, NULL), NW_ERR_TOO_LARGE);
    nw_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_vector_opens_to_its_plaintext),
        cmocka_unit_test(test_key_loading_and_spki),
        cmocka_unit_test(test_private_key_in_secure_heap),
        cmocka_unit_test(test_wrong_key_refused),
        cmocka_unit_test(test_every_flipped_byte_refused_or_not_plaintext),
        cmocka_unit_test(test_truncations_and_trailing_bytes_refused),
        cmocka_unit_test(test_seal_open_round_trip),
        cmocka_unit_test(test_seal_refuses_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
