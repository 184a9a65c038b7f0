/*
 * test_cose.c - COSE_Sign1/ES384 and the attestation payload rules, on
 * documents built here with a throwaway P-384 chain.
 *
 * The real documents (test_attestation.c) cannot show each malformation
 * on its own, since any change breaks their signature first; here every
 * variant is correctly signed, so each refusal is the rule under test.
 * The Sig_structure is checked byte for byte against RFC 9052 section 4.4
 * and signatures made by nw_cose_sign1_sign_es384 are checked with OpenSSL
 * directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nitrowallet/attestation.h"
#include "nitrowallet/cbor.h"
#include "nitrowallet/cose.h"

#define T0 1700000000LL /* seconds: the documents' time */
#define DAY 86400L
#define OUT_MAX (64u * 1024u)

static const uint8_t PROT_ES384[] = {0xa1, 0x01, 0x38, 0x22};

struct chain {
    EVP_PKEY *root_key, *leaf_key, *p256_key, *other_key;
    X509 *root, *leaf, *p256_leaf, *other_root, *foreign_leaf;
    struct nw_attest_roots *roots;
};
static struct chain ch;

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *issuer_key, X509 *issuer, const char *cn, int ca)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(cn[0] + 1));
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(T0 - DAY));
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(T0 + DAY));
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, issuer_key, EVP_sha384()) > 0);
    return x;
}

static struct nw_attest_roots *roots_of(X509 *root)
{
    struct nw_attest_roots *r = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long n;

    assert_int_equal(PEM_write_bio_X509(bio, root), 1);
    n = BIO_get_mem_data(bio, &pem);
    assert_int_equal(nw_attest_roots_from_pem(&r, pem, (size_t)n, NULL), NW_OK);
    BIO_free(bio);
    return r;
}

static int setup(void **state)
{
    (void)state;
    ch.root_key = EVP_EC_gen("P-384");
    ch.leaf_key = EVP_EC_gen("P-384");
    ch.other_key = EVP_EC_gen("P-384");
    ch.p256_key = EVP_EC_gen("P-256");
    if (!ch.root_key || !ch.leaf_key || !ch.other_key || !ch.p256_key)
        return -1;
    ch.root = make_cert(ch.root_key, ch.root_key, NULL, "test root", 1);
    ch.leaf = make_cert(ch.leaf_key, ch.root_key, ch.root, "test leaf", 0);
    ch.p256_leaf = make_cert(ch.p256_key, ch.root_key, ch.root, "p256 leaf", 0);
    ch.other_root = make_cert(ch.other_key, ch.other_key, NULL, "other root", 1);
    ch.foreign_leaf = make_cert(ch.leaf_key, ch.other_key, ch.other_root, "foreign leaf", 0);
    ch.roots = roots_of(ch.root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(ch.root);
    X509_free(ch.leaf);
    X509_free(ch.p256_leaf);
    X509_free(ch.other_root);
    X509_free(ch.foreign_leaf);
    EVP_PKEY_free(ch.root_key);
    EVP_PKEY_free(ch.leaf_key);
    EVP_PKEY_free(ch.other_key);
    EVP_PKEY_free(ch.p256_key);
    nw_attest_roots_free(ch.roots);
    return 0;
}

/* Knobs for one synthetic payload; zero values mean "as AWS writes it". */
struct variant {
    const char *digest;
    const char *module_id;
    int64_t ts_offset_ms;   /* added to T0 */
    size_t pcr0_len;        /* 0: 48 */
    unsigned extra_pcr;     /* if non-zero: also this index */
    int no_pcr0;
    int dup_digest;
    int unknown_key;
    int omit_certificate;
    int null_cabundle;
    size_t user_data_len;
    X509 *leaf;             /* default ch.leaf */
};

static void put_key(struct nw_buf *b, const char *k)
{
    assert_int_equal(nw_cbor_put_text(b, k, strlen(k)), NW_OK);
}

static void put_cert(struct nw_buf *b, X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    assert_true(n > 0);
    assert_int_equal(nw_cbor_put_bytes(b, der, (size_t)n), NW_OK);
    OPENSSL_free(der);
}

static void put_pcrs(struct nw_buf *b, const struct variant *v)
{
    uint8_t val[64];
    unsigned n = 16 + (v->extra_pcr ? 1 : 0) - (v->no_pcr0 ? 1 : 0);

    memset(val, 0x5a, sizeof val);
    assert_int_equal(nw_cbor_put_head(b, NW_CBOR_MAP, n), NW_OK);
    for (unsigned i = v->no_pcr0 ? 1 : 0; i < 16; i++) {
        assert_int_equal(nw_cbor_put_uint(b, i), NW_OK);
        assert_int_equal(nw_cbor_put_bytes(b, val, i == 0 && v->pcr0_len ? v->pcr0_len : 48), NW_OK);
    }
    if (v->extra_pcr) {
        assert_int_equal(nw_cbor_put_uint(b, v->extra_pcr), NW_OK);
        assert_int_equal(nw_cbor_put_bytes(b, val, 48), NW_OK);
    }
}

/* The payload map in AWS's key order, with the variant's changes. */
static void build_payload(struct nw_buf *out, const struct variant *v)
{
    static const uint8_t user[1100];
    struct nw_buf body;
    uint64_t n = 0;

    nw_buf_init(&body, OUT_MAX);
    put_key(&body, "module_id"), n++;
    put_key(&body, v->module_id ? v->module_id : "i-0123456789abcdef0-enc0123456789abcdef");
    put_key(&body, "digest"), n++;
    put_key(&body, v->digest ? v->digest : "SHA384");
    if (v->dup_digest) {
        put_key(&body, "digest"), n++;
        put_key(&body, "SHA384");
    }
    put_key(&body, "timestamp"), n++;
    assert_int_equal(nw_cbor_put_uint(&body, (uint64_t)(T0 * 1000 + v->ts_offset_ms)), NW_OK);
    put_key(&body, "pcrs"), n++;
    put_pcrs(&body, v);
    if (!v->omit_certificate) {
        put_key(&body, "certificate"), n++;
        put_cert(&body, v->leaf ? v->leaf : ch.leaf);
    }
    put_key(&body, "cabundle"), n++;
    if (v->null_cabundle) {
        assert_int_equal(nw_cbor_put_null(&body), NW_OK);
    } else {
        assert_int_equal(nw_cbor_put_head(&body, NW_CBOR_ARRAY, 1), NW_OK);
        put_cert(&body, ch.root);
    }
    if (v->unknown_key) {
        put_key(&body, "added_later"), n++;
        assert_int_equal(nw_buf_append(&body, "\xa1\x01\x82\x02\x03", 5), NW_OK); /* {1: [2, 3]} */
    }
    put_key(&body, "public_key"), n++;
    assert_int_equal(nw_cbor_put_null(&body), NW_OK);
    put_key(&body, "user_data"), n++;
    assert_int_equal(nw_cbor_put_bytes(&body, user, v->user_data_len), NW_OK);
    put_key(&body, "nonce"), n++;
    assert_int_equal(nw_cbor_put_bytes(&body, (const uint8_t *)"\x01\x02", 2), NW_OK);
    assert_int_equal(nw_cbor_put_head(out, NW_CBOR_MAP, n), NW_OK);
    assert_int_equal(nw_buf_append(out, body.data, body.len), NW_OK);
    nw_buf_free(&body);
}

/* A COSE_Sign1 with any protected/unprotected bytes, signed with `key`. */
static void build_cose(struct nw_buf *out, const uint8_t *prot, size_t prot_len, const char *unprot,
                       size_t unprot_len, const struct nw_buf *payload, EVP_PKEY *key, size_t sig_len)
{
    struct nw_buf tbs;
    uint8_t der[128], rs[96];
    size_t der_len = sizeof der;
    const unsigned char *p = der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *sig;

    nw_buf_init(&tbs, OUT_MAX);
    assert_int_equal(nw_cose_sig_structure(&tbs, prot, prot_len, payload->data, payload->len), NW_OK);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, tbs.data, tbs.len), 1);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 48), 48);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 48, 48), 48);
    assert_int_equal(nw_cbor_put_head(out, NW_CBOR_ARRAY, 4), NW_OK);
    assert_int_equal(nw_cbor_put_bytes(out, prot, prot_len), NW_OK);
    assert_int_equal(nw_buf_append(out, unprot, unprot_len), NW_OK);
    assert_int_equal(nw_cbor_put_bytes(out, payload->data, payload->len), NW_OK);
    assert_int_equal(nw_cbor_put_bytes(out, rs, sig_len), NW_OK);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    nw_buf_free(&tbs);
}

static void check(const struct nw_buf *doc, const struct nw_attest_roots *roots, enum nw_err code,
                  const char *msg)
{
    struct nw_attest_expect x = {.at_ms = T0 * 1000};
    struct nw_attestation a;
    struct nw_error err = {0};
    enum nw_err rc = nw_attestation_verify(&a, doc->data, doc->len, roots, &x, &err);

    if (rc != code)
        fail_msg("got %s (%s), expected %s", nw_err_name(rc), err.msg, nw_err_name(code));
    if (msg != NULL && strstr(err.msg, msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
}

/* Build the variant as a normal document (signed by nw_cose_sign1_sign_es384) and check it. */
static void check_variant(const struct variant *v, enum nw_err code, const char *msg)
{
    struct nw_buf payload, doc;

    nw_buf_init(&payload, OUT_MAX);
    nw_buf_init(&doc, OUT_MAX);
    build_payload(&payload, v);
    assert_int_equal(nw_cose_sign1_sign_es384(&doc, payload.data, payload.len, ch.leaf_key, NULL), NW_OK);
    check(&doc, ch.roots, code, msg);
    nw_buf_free(&payload);
    nw_buf_free(&doc);
}

static void test_sig_structure_is_rfc9052_layout(void **state)
{
    /* ["Signature1", h'a1013822', h'', h'68656c6c6f'] */
    static const uint8_t want[] = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1', 0x44, 0xa1, 0x01,
                                   0x38, 0x22, 0x40, 0x45, 'h', 'e', 'l', 'l', 'o'};
    struct nw_buf tbs, doc;
    struct nw_cose_sign1 m;
    uint8_t der[128];
    unsigned char *pd = der;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int der_len;
    (void)state;

    nw_buf_init(&tbs, 256);
    nw_buf_init(&doc, 1024);
    assert_int_equal(nw_cose_sig_structure(&tbs, PROT_ES384, 4, (const uint8_t *)"hello", 5), NW_OK);
    assert_int_equal(tbs.len, sizeof want);
    assert_memory_equal(tbs.data, want, sizeof want);

    /* What the signer makes, OpenSSL verifies over that structure. */
    assert_int_equal(nw_cose_sign1_sign_es384(&doc, (const uint8_t *)"hello", 5, ch.leaf_key, NULL), NW_OK);
    assert_int_equal(nw_cose_sign1_parse(&m, doc.data, doc.len, NULL), NW_OK);
    assert_false(m.tagged);
    assert_memory_equal(doc.data, "\x84\x44\xa1\x01\x38\x22\xa0\x45hello\x58\x60", 14);
    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(m.signature, 48, NULL), BN_bin2bn(m.signature + 48, 48, NULL)),
                     1);
    der_len = i2d_ECDSA_SIG(sig, &pd);
    assert_true(der_len > 0);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, ch.leaf_key), 1);
    assert_int_equal(EVP_DigestVerify(md, der, (size_t)der_len, want, sizeof want), 1);
    assert_int_equal(nw_cose_sign1_verify_es384(&m, ch.leaf_key, NULL), NW_OK);
    assert_int_equal(nw_cose_sign1_verify_es384(&m, ch.other_key, NULL), NW_ERR_ATTESTATION);
    assert_int_equal(nw_cose_sign1_verify_es384(&m, ch.p256_key, NULL), NW_ERR_ATTESTATION);
    assert_int_equal(nw_cose_sign1_sign_es384(&doc, (const uint8_t *)"x", 1, ch.p256_key, NULL), NW_ERR_INTERNAL);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    nw_buf_free(&tbs);
    nw_buf_free(&doc);
}

static void test_synthetic_document_verifies_with_its_root_only(void **state)
{
    struct variant v = {0};
    struct nw_buf payload, doc;
    struct nw_attest_roots *aws = NULL;
    (void)state;

    check_variant(&v, NW_OK, NULL);
    nw_buf_init(&payload, OUT_MAX);
    nw_buf_init(&doc, OUT_MAX);
    build_payload(&payload, &v);
    assert_int_equal(nw_cose_sign1_sign_es384(&doc, payload.data, payload.len, ch.leaf_key, NULL), NW_OK);
    assert_int_equal(nw_attest_roots_aws(&aws, NULL), NW_OK);
    /* The document's cabundle brings its own root: not trusted. */
    check(&doc, aws, NW_ERR_ATTESTATION, "certificate chain: self-signed certificate in certificate chain");
    check(&doc, NULL, NW_ERR_INTERNAL, "no trusted roots");
    nw_attest_roots_free(aws);
    nw_buf_free(&payload);
    nw_buf_free(&doc);
}

static void test_cose_structure_rules(void **state)
{
    static const struct {
        const uint8_t *prot;
        size_t prot_len;
        const char *unprot;
        size_t unprot_len, sig_len;
        enum nw_err code;
        const char *msg;
    } c[] = {
        {PROT_ES384, 4, "\xa0", 1, 96, NW_OK, NULL},
        {PROT_ES384, 4, "\xf6", 1, 96, NW_OK, NULL},                     /* null, as some NSMs write */
        {PROT_ES384, 4, "\xa1\x04\x41\x01", 4, 96, NW_OK, NULL},         /* {kid: h'01'}: ignored */
        {PROT_ES384, 4, "\x80", 1, 96, NW_ERR_BAD_REQUEST, "unprotected header is not a map"},
        {PROT_ES384, 4, "\xa0", 1, 95, NW_ERR_BAD_REQUEST, "ES384 signature is 95 bytes"},
        {(const uint8_t *)"\xa1\x01\x26", 3, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "alg is not ES384"}, /* ES256 */
        {(const uint8_t *)"\xa1\x01\x38\x23", 4, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "alg is not ES384"},
        {(const uint8_t *)"\xa0", 1, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "protected header has no alg"},
        {(const uint8_t *)"", 0, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "protected header is not a map"},
        {(const uint8_t *)"\xa2\x01\x38\x22\x01\x38\x22", 7, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "duplicate alg"},
        {(const uint8_t *)"\xa2\x01\x38\x22\x02\x81\x01", 7, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "critical"},
        {(const uint8_t *)"\xa1\x01\x38\x22\x00", 5, "\xa0", 1, 96, NW_ERR_BAD_REQUEST, "after the protected"},
    };
    struct variant v = {0};
    struct nw_buf payload;
    (void)state;

    nw_buf_init(&payload, OUT_MAX);
    build_payload(&payload, &v);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct nw_buf doc;

        nw_buf_init(&doc, OUT_MAX);
        build_cose(&doc, c[i].prot, c[i].prot_len, c[i].unprot, c[i].unprot_len, &payload, ch.leaf_key,
                   c[i].sig_len);
        check(&doc, ch.roots, c[i].code, c[i].msg);
        nw_buf_free(&doc);
    }
    nw_buf_free(&payload);
}

static void test_payload_rules(void **state)
{
    static const char esc[] = "i-\x1b[31mred";
    struct variant v;
    (void)state;

#define CASE(field, value, code, msg)      \
    do {                                   \
        memset(&v, 0, sizeof v);           \
        v.field = value;                   \
        check_variant(&v, code, msg);      \
    } while (0)
    CASE(unknown_key, 1, NW_OK, NULL); /* keys AWS may add are skipped */
    /* No intermediates: fine for a leaf that a configured root signed. */
    CASE(null_cabundle, 1, NW_OK, NULL);
    CASE(digest, "SHA256", NW_ERR_BAD_REQUEST, "digest: not \"SHA384\"");
    CASE(dup_digest, 1, NW_ERR_BAD_REQUEST, "digest appears twice");
    CASE(omit_certificate, 1, NW_ERR_BAD_REQUEST, "certificate missing");
    CASE(pcr0_len, 20, NW_ERR_BAD_REQUEST, "PCR0 is 20 bytes, expected 32, 48 or 64");
    CASE(pcr0_len, 64, NW_OK, NULL);
    CASE(extra_pcr, 31, NW_OK, NULL);
    CASE(extra_pcr, 32, NW_ERR_BAD_REQUEST, "index 32 out of range");
    CASE(no_pcr0, 1, NW_ERR_BAD_REQUEST, "PCR0 missing");
    CASE(module_id, esc, NW_ERR_BAD_REQUEST, "module_id: byte 2 is not printable ASCII");
    CASE(module_id, "", NW_ERR_BAD_REQUEST, "module_id: length 0");
    CASE(user_data_len, 1024, NW_OK, NULL);
    CASE(user_data_len, 1025, NW_ERR_BAD_REQUEST, "user_data: 1025 bytes, at most 1024");
    CASE(ts_offset_ms, 5 * 60 * 1000, NW_OK, NULL); /* within the clock skew allowed */
    CASE(ts_offset_ms, 5 * 60 * 1000 + 1, NW_ERR_ATTESTATION, "timestamp is 300001 ms in the future");
    CASE(leaf, ch.p256_leaf, NW_ERR_ATTESTATION, "signing key is not EC P-384");
    CASE(leaf, ch.foreign_leaf, NW_ERR_ATTESTATION, "certificate chain: unable to get local issuer certificate");
#undef CASE
}

static void test_signature_by_another_key_refused(void **state)
{
    struct variant v = {0};
    struct nw_buf payload, doc;
    (void)state;

    nw_buf_init(&payload, OUT_MAX);
    nw_buf_init(&doc, OUT_MAX);
    build_payload(&payload, &v);
    build_cose(&doc, PROT_ES384, 4, "\xa0", 1, &payload, ch.other_key, 96);
    check(&doc, ch.roots, NW_ERR_ATTESTATION, "signature does not verify");
    nw_buf_free(&payload);
    nw_buf_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sig_structure_is_rfc9052_layout),
        cmocka_unit_test(test_synthetic_document_verifies_with_its_root_only),
        cmocka_unit_test(test_cose_structure_rules),
        cmocka_unit_test(test_payload_rules),
        cmocka_unit_test(test_signature_by_another_key_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
