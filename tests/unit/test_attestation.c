/*
 * test_attestation.c - real AWS Nitro attestation documents against the
 * AWS root: what verifies, and that everything else is refused with its
 * own reason.
 *
 * The documents in tests/data/attestation/ were produced by real Nitro
 * hardware (sources in tests/data/README.md); the certificate validity
 * bounds used below were read with `openssl x509 -dates`, the root's
 * fingerprint is the one AWS publishes.  Run from the repository root, or
 * set NW_SRCDIR to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../src/attest/attest_internal.h"
#include "nitrowallet/account_proof.h"
#include "nitrowallet/attestation.h"

#define PROD_TS 1725719859545LL    /* 2024-09-07T14:37:39.545Z */
#define DEBUG_TS 1725719886508LL   /* 2024-09-07T14:38:06.508Z */
#define DEBUG23_TS 1695049410860LL /* 2023-09-18T15:03:30.860Z */
/* nitro_prod.cbor's leaf: notBefore 2024-09-07 14:37:36Z, notAfter 17:37:39Z. */
#define PROD_LEAF_NOT_BEFORE_MS 1725719856000LL
#define PROD_LEAF_NOT_AFTER_MS 1725730659000LL
#define AWS_ROOT_SHA256 "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

static struct nw_attest_roots *aws;

static uint8_t *load(const char *name, size_t *len)
{
    const char *dir = getenv("NW_SRCDIR");
    char path[512];
    FILE *f;
    uint8_t *buf = calloc(1, NW_ATT_MAX_DOC + 2);

    assert_non_null(buf);
    snprintf(path, sizeof path, "%s/tests/data/attestation/%s", dir ? dir : ".", name);
    if ((f = fopen(path, "rb")) == NULL)
        fail_msg("cannot open %s (run from the repository root or set NW_SRCDIR)", path);
    *len = fread(buf, 1, NW_ATT_MAX_DOC + 1, f);
    fclose(f);
    return buf;
}

/* Verify `doc` with the AWS root at `at_ms`; expect `code`, and a message
 * containing `msg` when it fails. */
static void expect_result(const uint8_t *doc, size_t len, const struct nw_attest_expect *x, enum nw_err code,
                          const char *msg)
{
    struct nw_attestation a;
    struct nw_error err = {0};
    enum nw_err rc = nw_attestation_verify(&a, doc, len, aws, x, &err);

    if (rc != code)
        fail_msg("got %s (%s), expected %s", nw_err_name(rc), err.msg, nw_err_name(code));
    if (msg != NULL && strstr(err.msg, msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
}

static int setup(void **state)
{
    (void)state;
    return nw_attest_roots_aws(&aws, NULL) == NW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nw_attest_roots_free(aws);
    return 0;
}

static void der_sha256_hex(char hex[65], const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    unsigned char *der = NULL, md[32];
    int n;

    assert_non_null(x);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
}

static void test_builtin_aws_root_is_the_published_one(void **state)
{
    char hex[65];
    size_t len;
    uint8_t *pem = load("aws_nitro_root_g1.pem", &len);
    (void)state;

    der_sha256_hex(hex, nw_attest_aws_root_pem, nw_attest_aws_root_pem_len);
    assert_string_equal(hex, AWS_ROOT_SHA256);
    der_sha256_hex(hex, (const char *)pem, len);
    assert_string_equal(hex, AWS_ROOT_SHA256);
    free(pem);
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void test_prod_verifies_at_its_time(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS};
    struct nw_attestation a;
    struct nw_error err = {0};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    if (nw_attestation_verify(&a, doc, len, aws, &x, &err) != NW_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(a.module_id, "i-0a22e5c5f24d22174-enc0191cceb4289903f");
    assert_true(a.timestamp_ms == (uint64_t)PROD_TS);
    assert_int_equal(a.pcr_present, 0xffff);
    for (int i = 0; i < 16; i++)
        assert_int_equal(a.pcr_len[i], 48);
    assert_false(a.is_debug);
    assert_int_equal(a.public_key_len, 1024);
    assert_int_equal(a.user_data_len, 1024);
    assert_int_equal(a.nonce_len, 1024);
    assert_true(all_bytes(a.public_key, 1024, 1) && all_bytes(a.user_data, 1024, 1) && all_bytes(a.nonce, 1024, 1));
    assert_true(a.certificate > doc && a.certificate + a.certificate_len <= doc + len);
    free(doc);
}

static void test_tagged_form_verifies_too(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    memmove(doc + 1, doc, len);
    doc[0] = 0xd2; /* tag 18, COSE_Sign1: not covered by the signature */
    expect_result(doc, len + 1, &x, NW_OK, NULL);
    doc[0] = 0xd1; /* tag 17, COSE_Mac0 */
    expect_result(doc, len + 1, &x, NW_ERR_BAD_REQUEST, "tag 17 is not COSE_Sign1");
    free(doc);
}

static void test_debug_refused_unless_allowed(void **state)
{
    struct nw_attest_expect x = {.at_ms = DEBUG_TS};
    struct nw_attestation a;
    size_t len;
    uint8_t *doc = load("nitro_debug.cbor", &len);
    (void)state;

    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "debug-mode enclave (PCR0 all zero)");
    x.allow_debug = 1;
    assert_int_equal(nw_attestation_verify(&a, doc, len, aws, &x, NULL), NW_OK);
    assert_true(a.is_debug);
    assert_true(all_bytes(a.pcrs[0], 48, 0) && all_bytes(a.pcrs[1], 48, 0) && all_bytes(a.pcrs[2], 48, 0));
    assert_false(all_bytes(a.pcrs[4], 48, 0));
    free(doc);
}

static void test_debug_2023_at_its_own_time(void **state)
{
    struct nw_attest_expect x = {.at_ms = DEBUG23_TS};
    struct nw_attestation a;
    size_t len;
    uint8_t *doc = load("nitro_debug_2023.cbor", &len);
    (void)state;

    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "debug-mode enclave");
    x.allow_debug = 1;
    assert_int_equal(nw_attestation_verify(&a, doc, len, aws, &x, NULL), NW_OK);
    assert_true(a.timestamp_ms == (uint64_t)DEBUG23_TS);
    assert_null(a.public_key); /* CBOR null */
    assert_int_equal(a.user_data_len, 91);
    assert_int_equal(a.nonce_len, 256);
    /* A year later its chain has long expired. */
    x.at_ms = PROD_TS;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate has expired");
    free(doc);
}

/* The self-signed document is refused by the chain, and only by it: with
 * its own certificate configured as a root it verifies. */
static void test_selfsigned_refused_by_chain(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS};
    struct nw_attestation a;
    struct nw_attest_roots *own = NULL;
    struct nw_error err = {0};
    const unsigned char *p;
    BIO *bio = BIO_new(BIO_s_mem());
    X509 *cert;
    char *pem;
    long pem_len;
    size_t len;
    uint8_t *doc = load("selfsigned_root.cbor", &len);
    (void)state;

    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate chain: self-signed certificate");
    assert_int_equal(nw_attestation_parse(&a, doc, len, NULL), NW_OK);
    p = a.certificate;
    cert = d2i_X509(NULL, &p, (long)a.certificate_len);
    assert_non_null(cert);
    assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
    pem_len = BIO_get_mem_data(bio, &pem);
    assert_int_equal(nw_attest_roots_from_pem(&own, pem, (size_t)pem_len, NULL), NW_OK);
    if (nw_attestation_verify(&a, doc, len, own, &x, &err) != NW_OK)
        fail_msg("%s", err.msg);
    /* The AWS root and this one together: both kinds verify. */
    assert_int_equal(nw_attest_roots_add_pem(own, nw_attest_aws_root_pem, nw_attest_aws_root_pem_len, NULL),
                     NW_OK);
    assert_int_equal(nw_attestation_verify(&a, doc, len, own, &x, NULL), NW_OK);
    free(doc);
    doc = load("nitro_prod.cbor", &len);
    assert_int_equal(nw_attestation_verify(&a, doc, len, own, &x, NULL), NW_OK);
    nw_attest_roots_free(own);
    X509_free(cert);
    BIO_free(bio);
    free(doc);
}

static void test_every_bit_flip_refused(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS};
    struct nw_attestation a;
    unsigned counts[16] = {0};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    for (size_t i = 0; i < len; i++) {
        struct nw_error err = {0};
        enum nw_err rc;

        doc[i] ^= (uint8_t)(1u << (i % 8));
        rc = nw_attestation_verify(&a, doc, len, aws, &x, &err);
        if (rc == NW_OK)
            fail_msg("flipping bit %zu of byte %zu was accepted", i % 8, i);
        if (rc != NW_ERR_BAD_REQUEST && rc != NW_ERR_ATTESTATION)
            fail_msg("byte %zu: unexpected %s (%s)", i, nw_err_name(rc), err.msg);
        counts[rc]++;
        doc[i] ^= (uint8_t)(1u << (i % 8));
    }
    print_message("%zu flips refused: %u malformed, %u invalid\n", len, counts[NW_ERR_BAD_REQUEST],
                  counts[NW_ERR_ATTESTATION]);
    expect_result(doc, len, &x, NW_OK, NULL); /* restored */
    free(doc);
}

static void test_truncated_and_extended_refused(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS};
    struct nw_attestation a;
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    for (size_t n = 0; n < len; n++)
        assert_int_equal(nw_attestation_verify(&a, doc, n, aws, &x, NULL), NW_ERR_BAD_REQUEST);
    doc[len] = 0x00;
    expect_result(doc, len + 1, &x, NW_ERR_BAD_REQUEST, "1 bytes after the COSE_Sign1");
    expect_result(doc, NW_ATT_MAX_DOC + 1, &x, NW_ERR_TOO_LARGE, NULL);
    free(doc);
}

static void test_outside_leaf_validity_refused(void **state)
{
    struct nw_attest_expect x = {0};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    x.at_ms = PROD_LEAF_NOT_BEFORE_MS;
    expect_result(doc, len, &x, NW_OK, NULL);
    x.at_ms = PROD_LEAF_NOT_BEFORE_MS - 1;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate chain: certificate is not yet valid");
    /* OpenSSL treats the notAfter second itself as expired. */
    x.at_ms = PROD_LEAF_NOT_AFTER_MS - 1;
    expect_result(doc, len, &x, NW_OK, NULL);
    x.at_ms = PROD_LEAF_NOT_AFTER_MS;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate chain: certificate has expired");
    /* No time given: now, long after the leaf expired. */
    x.at_ms = 0;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate has expired");
    expect_result(doc, len, NULL, NW_ERR_ATTESTATION, "certificate has expired");
    free(doc);
}

/* A chain verified once is accepted from the cache only inside its
 * certificates' common validity; the document's signature is checked on
 * every call. */
static void test_verified_chain_cache(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    unsigned long hits;
    (void)state;

    expect_result(doc, len, &x, NW_OK, NULL);
    hits = nw_attest_roots_cache_hits(aws);
    expect_result(doc, len, &x, NW_OK, NULL);
    /* the document's signature and its chain, both from the cache */
    assert_int_equal(nw_attest_roots_cache_hits(aws), hits + 2);
    x.at_ms = PROD_LEAF_NOT_AFTER_MS;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate has expired");
    x.at_ms = PROD_LEAF_NOT_BEFORE_MS - 1;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "certificate is not yet valid");
    /* the signature again from the cache, never the chain outside its validity */
    assert_int_equal(nw_attest_roots_cache_hits(aws), hits + 4);
    x.at_ms = PROD_TS;
    doc[len - 1] ^= 1; /* the signature's last byte: same chain, bad signature */
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "signature does not verify");
    free(doc);
}

static void test_expected_pcrs(void **state)
{
    struct nw_attest_pcr want[3];
    struct nw_attest_expect x = {.at_ms = PROD_TS, .pcrs = want};
    struct nw_attestation a;
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    assert_int_equal(nw_attestation_parse(&a, doc, len, NULL), NW_OK);
    for (unsigned i = 0; i < 3; i++) {
        want[i].index = i == 2 ? 4 : i;
        want[i].len = 48;
        memcpy(want[i].value, a.pcrs[want[i].index], 48);
    }
    x.n_pcrs = 3;
    expect_result(doc, len, &x, NW_OK, NULL);
    want[2].value[47] ^= 1;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "PCR4 does not match");
    want[2].value[47] ^= 1;
    want[1].len = 32;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "PCR1 does not match");
    want[1].len = 48;
    want[0].index = 20;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "PCR20 missing");
    want[0].index = 32;
    expect_result(doc, len, &x, NW_ERR_BAD_REQUEST, "expected PCR32");
    free(doc);
}

static void test_expected_nonce(void **state)
{
    uint8_t nonce[1024];
    struct nw_attest_expect x = {.at_ms = PROD_TS, .nonce = nonce, .nonce_len = sizeof nonce};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    memset(nonce, 1, sizeof nonce);
    expect_result(doc, len, &x, NW_OK, NULL);
    nonce[500] = 2;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "nonce does not match");
    nonce[500] = 1;
    x.nonce_len = 1023;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "nonce does not match");
    free(doc);
}

static void test_max_age(void **state)
{
    struct nw_attest_expect x = {.at_ms = PROD_TS + 10000, .max_age_ms = 10000};
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    expect_result(doc, len, &x, NW_OK, NULL);
    x.max_age_ms = 9999;
    expect_result(doc, len, &x, NW_ERR_ATTESTATION, "document too old: 10000 ms, at most 9999 ms");
    free(doc);
}

static void test_roots_pem_refusals(void **state)
{
    static const char garbage[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    struct nw_attest_roots *r = NULL;
    struct nw_error err = {0};
    (void)state;

    assert_int_equal(nw_attest_roots_from_pem(&r, "", 0, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "no certificate"));
    assert_null(r);
    assert_int_equal(nw_attest_roots_from_pem(&r, garbage, sizeof garbage - 1, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "certificate 1 is not a valid PEM certificate"));
    assert_null(r);
}

/* nw_account_proof_verify on AWS's real document: chain, signature, PCRs and
 * nonce all good, and still refused, because its user_data (1024 bytes of
 * 0x01) is no account's digest; and the verifier's own requirements. */
static void test_account_proof_on_a_real_document(void **state)
{
    struct nw_attestation a, parsed;
    struct nw_error err = {0};
    struct nw_attest_pcr pcr0 = {.index = 0};
    uint8_t ones[1024];
    struct nw_attest_expect x = {.at_ms = PROD_TS, .pcrs = &pcr0, .n_pcrs = 1, .nonce = ones, .nonce_len = 1024};
    struct nw_account_claim claim = {.name = "alice", .kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/k"};
    uint8_t d1[32], d2[32];
    size_t len;
    uint8_t *doc = load("nitro_prod.cbor", &len);
    (void)state;

    memset(ones, 1, sizeof ones);
    assert_int_equal(nw_attestation_parse(&parsed, doc, len, &err), NW_OK);
    memcpy(pcr0.value, parsed.pcrs[0], 48);
    pcr0.len = 48;
    assert_int_equal(nw_account_proof_verify(&a, doc, len, aws, &x, &claim, &err), NW_ERR_ATTESTATION);
    assert_non_null(strstr(err.msg, "user_data is not a 32-byte account digest"));
    /* the rest of the document was good: the same document verifies as an attestation */
    assert_int_equal(nw_attestation_verify(&a, doc, len, aws, &x, &err), NW_OK);
    pcr0.value[47] ^= 1;
    assert_int_equal(nw_account_proof_verify(&a, doc, len, aws, &x, &claim, &err), NW_ERR_ATTESTATION);
    assert_non_null(strstr(err.msg, "PCR0 does not match"));
    x.nonce = NULL;
    assert_int_equal(nw_account_proof_verify(&a, doc, len, aws, &x, &claim, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "nonce to expect is required"));
    x.nonce = ones;
    x.n_pcrs = 0;
    assert_int_equal(nw_account_proof_verify(&a, doc, len, aws, &x, &claim, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "PCR0 to expect is required"));
    /* the digest binds every field */
    nw_account_proof_user_data(d1, &claim);
    claim.name = "alicf";
    nw_account_proof_user_data(d2, &claim);
    assert_memory_not_equal(d1, d2, 32);
    claim.name = "alice";
    claim.policy_digest[31] = 1;
    nw_account_proof_user_data(d2, &claim);
    assert_memory_not_equal(d1, d2, 32);
    claim.policy_digest[31] = 0;
    claim.address[0] = 1;
    nw_account_proof_user_data(d2, &claim);
    assert_memory_not_equal(d1, d2, 32);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_aws_root_is_the_published_one),
        cmocka_unit_test(test_prod_verifies_at_its_time),
        cmocka_unit_test(test_tagged_form_verifies_too),
        cmocka_unit_test(test_debug_refused_unless_allowed),
        cmocka_unit_test(test_debug_2023_at_its_own_time),
        cmocka_unit_test(test_selfsigned_refused_by_chain),
        cmocka_unit_test(test_every_bit_flip_refused),
        cmocka_unit_test(test_truncated_and_extended_refused),
        cmocka_unit_test(test_outside_leaf_validity_refused),
        cmocka_unit_test(test_verified_chain_cache),
        cmocka_unit_test(test_expected_pcrs),
        cmocka_unit_test(test_expected_nonce),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_roots_pem_refusals),
        cmocka_unit_test(test_account_proof_on_a_real_document),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
