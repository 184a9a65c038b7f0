/*
 * test_x509.c - nw_x509_make, read back through OpenSSL's parser: version
 * 3, a positive 16-byte serial that differs every time, subject O/OU/CN in
 * that order with parts left out, issuer name from the issuer certificate,
 * validity exactly as asked (UTCTime until 2049, GeneralizedTime after, as
 * RFC 5280 4.1.2.5 says) or absent, extensions in order with their
 * criticality, authorityKeyIdentifier = the issuer's subjectKeyIdentifier,
 * the requested signature algorithm (ECDSA-SHA384/-SHA256, Ed25519), and an
 * unparsable extension refused with its name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nitrowallet/x509.h"

#define NOW ((time_t)1700000000) /* 2023-11-14 */
#define YEAR_2055 ((time_t)2682374400)

static const struct nw_x509_ext ca_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};
static const struct nw_x509_ext leaf_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_authority_key_identifier, "keyid:always"},
    {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
};

static X509 *make_ca(EVP_PKEY *key)
{
    const struct nw_x509_spec spec = {
        .key = key,
        .subject = {.o = "test org", .ou = "test unit", .cn = "test CA"},
        .not_before = NOW - 60,
        .not_after = YEAR_2055,
        .exts = ca_exts,
        .n_exts = 3,
        .md = EVP_sha384(),
    };
    struct nw_error err = {0};
    X509 *x = NULL;

    assert_int_equal(nw_x509_make(&x, &spec, &err), NW_OK);
    assert_non_null(x);
    return x;
}

static void assert_serial_16_positive(const X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

    assert_non_null(bn);
    assert_false(BN_is_negative(bn));
    assert_int_equal(BN_num_bytes(bn), 16);
    BN_free(bn);
}

static void assert_entry(const X509_NAME *name, int i, int nid, const char *value)
{
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);

    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), nid);
    assert_int_equal(ASN1_STRING_length(s), (int)strlen(value));
    assert_memory_equal(ASN1_STRING_get0_data(s), value, strlen(value));
}

static void assert_ext(const X509 *x, int i, int nid, int critical)
{
    X509_EXTENSION *e = X509_get_ext(x, i);

    assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(e)), nid);
    assert_int_equal(X509_EXTENSION_get_critical(e), critical);
}

static void test_self_signed_ca(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-384");
    X509 *x;

    (void)state;
    assert_non_null(key);
    x = make_ca(key);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_serial_16_positive(x);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 3);
    assert_entry(X509_get_subject_name(x), 0, NID_organizationName, "test org");
    assert_entry(X509_get_subject_name(x), 1, NID_organizationalUnitName, "test unit");
    assert_entry(X509_get_subject_name(x), 2, NID_commonName, "test CA");
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), NOW - 60), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), YEAR_2055), 0);
    assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);
    assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
    assert_int_equal(X509_get_ext_count(x), 3);
    assert_ext(x, 0, NID_basic_constraints, 1);
    assert_ext(x, 1, NID_key_usage, 1);
    assert_ext(x, 2, NID_subject_key_identifier, 0);
    assert_int_equal(X509_check_ca(x), 1);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
    assert_int_equal(X509_verify(x, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void test_issued_cert_names_and_keyid_come_from_the_issuer(void **state)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-384"), *key = EVP_EC_gen("P-256");
    X509 *ca, *x = NULL;
    struct nw_x509_spec spec = {
        .key = key,
        .subject = {.o = "test org", .cn = "leaf"},
        .issuer_key = ca_key,
        .not_before = NOW,
        .not_after = NOW + 3 * 3600,
        .exts = leaf_exts,
        .n_exts = 3,
        .md = EVP_sha256(),
    };

    (void)state;
    assert_non_null(ca_key);
    assert_non_null(key);
    spec.issuer = ca = make_ca(ca_key);
    assert_int_equal(nw_x509_make(&x, &spec, NULL), NW_OK);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 2); /* no OU */
    assert_entry(X509_get_subject_name(x), 0, NID_organizationName, "test org");
    assert_entry(X509_get_subject_name(x), 1, NID_commonName, "leaf");
    assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca)), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), NOW + 3 * 3600), 0);
    assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_UTCTIME);
    assert_ext(x, 0, NID_basic_constraints, 1);
    assert_ext(x, 1, NID_authority_key_identifier, 0);
    assert_ext(x, 2, NID_subject_alt_name, 0);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_verify(x, ca_key), 1);
    assert_int_not_equal(X509_verify(x, key), 1);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(ca)), 0);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    ERR_clear_error();
}

/* cms_seal.c's shell: no names, no validity, SKI bytes given as hex,
 * signed by an Ed25519 key that is not the subject's. */
static void test_ed25519_shell_without_names_or_validity(void **state)
{
    static const uint8_t ski[4] = {0x01, 0xab, 0x00, 0xff};
    EVP_PKEY *key = EVP_EC_gen("P-256"), *shell = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    const struct nw_x509_ext ext = {NID_subject_key_identifier, "01:AB:00:FF"};
    const struct nw_x509_spec spec = {.key = key, .issuer_key = shell, .exts = &ext, .n_exts = 1};
    const ASN1_OCTET_STRING *got;
    X509 *x = NULL;

    (void)state;
    assert_non_null(key);
    assert_non_null(shell);
    assert_int_equal(nw_x509_make(&x, &spec, NULL), NW_OK);
    got = X509_get0_subject_key_id(x);
    assert_non_null(got);
    assert_int_equal(ASN1_STRING_length(got), 4);
    assert_memory_equal(ASN1_STRING_get0_data(got), ski, 4);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
    assert_int_equal(X509_NAME_entry_count(X509_get_issuer_name(x)), 0);
    assert_int_equal(ASN1_STRING_length(X509_get0_notBefore(x)), 0);
    assert_int_equal(ASN1_STRING_length(X509_get0_notAfter(x)), 0);
    assert_serial_16_positive(x);
    assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
    assert_int_equal(X509_verify(x, shell), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
    X509_free(x);
    EVP_PKEY_free(shell);
    EVP_PKEY_free(key);
}

static void test_serials_are_fresh(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *a, *b;

    (void)state;
    assert_non_null(key);
    a = make_ca(key);
    b = make_ca(key);
    assert_serial_16_positive(b);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)), 0);
    X509_free(a);
    X509_free(b);
    EVP_PKEY_free(key);
}

static void test_unparsable_extension_refused_by_name(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    const struct nw_x509_ext bad[] = {{NID_key_usage, "critical,digitalSignature"},
                                      {NID_basic_constraints, "CA:MAYBE"}};
    const struct nw_x509_spec spec = {
        .key = key, .not_before = NOW, .not_after = NOW + 60, .exts = bad, .n_exts = 2, .md = EVP_sha256()};
    struct nw_error err = {0};
    X509 *x = (X509 *)&err; /* must be reset to NULL */

    (void)state;
    assert_non_null(key);
    assert_int_equal(nw_x509_make(&x, &spec, &err), NW_ERR_INTERNAL);
    assert_null(x);
    assert_int_equal(err.code, NW_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "basicConstraints"));
    EVP_PKEY_free(key);
    ERR_clear_error();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_ca),
        cmocka_unit_test(test_issued_cert_names_and_keyid_come_from_the_issuer),
        cmocka_unit_test(test_ed25519_shell_without_names_or_validity),
        cmocka_unit_test(test_serials_are_fresh),
        cmocka_unit_test(test_unparsable_extension_refused_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
