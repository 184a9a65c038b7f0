/*
 * x509.c - build and sign X.509 v3 certificates (see x509.h).
 *
 * Follows RFC 5280: version 3 (4.1.2.1), a positive serial of 16 bytes
 * from the system's entropy (4.1.2.2: at most 20 octets, unique per
 * issuer; 127 random bits make a collision negligible), the issuer's
 * subject as issuer name (4.1.2.4), and extensions built by OpenSSL from
 * configuration strings with the issuer certificate as context, which is
 * what subjectKeyIdentifier "hash" and authorityKeyIdentifier
 * "keyid:always" need (4.2.1.1, 4.2.1.2).
 *
 * Trust boundary: none crossed.  Callers pass their own keys and constant
 * descriptions; the private keys stay in their EVP_PKEYs.
 */
#include "nitrowallet/x509.h"

#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nitrowallet/secret.h"

#define SERIAL_BYTES 16

/* A random positive 128-bit serial number: top bit clear (positive), low
 * bit of the first byte set (so it is always 16 bytes long). */
static enum nw_err set_serial(X509 *x)
{
    uint8_t r[SERIAL_BYTES];
    BIGNUM *bn;
    int ok;

    if (nw_random(r, sizeof r) != NW_OK)
        return NW_ERR_RANDOM;
    r[0] = (uint8_t)((r[0] & 0x7f) | 0x01);
    bn = BN_bin2bn(r, sizeof r, NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? NW_OK : NW_ERR_INTERNAL;
}

static int add_entry(X509_NAME *name, const char *field, const char *value)
{
    return value == NULL ||
           X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, (const unsigned char *)value, -1, -1, 0) == 1;
}

/* Subject O, OU, CN; issuer = the issuer's subject, or our own. */
static int set_names(X509 *x, const struct nw_x509_name *n, X509 *issuer)
{
    X509_NAME *subject = X509_get_subject_name(x);

    return add_entry(subject, "O", n->o) && add_entry(subject, "OU", n->ou) && add_entry(subject, "CN", n->cn) &&
           X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) == 1;
}

static int set_validity(X509 *x, time_t not_before, time_t not_after)
{
    if (not_before == 0 && not_after == 0)
        return 1;
    return ASN1_TIME_set(X509_getm_notBefore(x), not_before) != NULL &&
           ASN1_TIME_set(X509_getm_notAfter(x), not_after) != NULL;
}

/* Add the extensions in order; the public key must be set already. */
static enum nw_err add_exts(X509 *x, const struct nw_x509_spec *spec, struct nw_error *err)
{
    X509V3_CTX ctx;

    X509V3_set_ctx(&ctx, spec->issuer ? spec->issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; i < spec->n_exts; i++) {
        const struct nw_x509_ext *e = &spec->exts[i];
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, e->nid, e->value);
        int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;

        X509_EXTENSION_free(ext);
        if (!ok)
            return nw_fail(err, NW_ERR_INTERNAL, "x509: cannot add the %s extension", OBJ_nid2sn(e->nid));
    }
    return NW_OK;
}

enum nw_err nw_x509_make(X509 **out, const struct nw_x509_spec *spec, struct nw_error *err)
{
    X509 *x = X509_new();
    enum nw_err rc = NW_OK;

    *out = NULL;
    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "x509: cannot start a certificate");
        goto out;
    }
    if ((rc = set_serial(x)) != NW_OK) {
        rc = nw_fail(err, rc, "x509: cannot make a serial number");
        goto out;
    }
    if (!set_names(x, &spec->subject, spec->issuer) || !set_validity(x, spec->not_before, spec->not_after) ||
        X509_set_pubkey(x, spec->key) != 1) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "x509: cannot set the names, validity or public key");
        goto out;
    }
    NW_GUARD(add_exts(x, spec, err));
    if (X509_sign(x, spec->issuer_key ? spec->issuer_key : spec->key, spec->md) <= 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "x509: cannot sign the certificate");
        goto out;
    }
    *out = x;
    x = NULL;
out:
    X509_free(x);
    return rc;
}
