/*
 * cms_key.c - the enclave's RSA recipient key for KMS's Recipient
 * parameter (see cms.h): RSA-2048 generated in process (OpenSSL's
 * EVP_PKEY_Q_keygen, seeded from the kernel CSPRNG, which the NSM feeds
 * inside an enclave), or loaded from DER for tests; its public half as DER
 * SubjectPublicKeyInfo for the attestation document, and SHA-256 of that,
 * the subjectKeyIdentifier KMS addresses the reply to.
 *
 * Trust boundary: the private key never leaves this process; OpenSSL keeps
 * it in BIGNUMs that are cleared when the key is freed.
 */
#include "nitrowallet/cms.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cms_internal.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 4096
#define RSA_DER_MAX 8192

static enum nw_err wrap_key(struct nw_rsa_recipient **out, EVP_PKEY *pkey, struct nw_error *err)
{
    struct nw_rsa_recipient *r = OPENSSL_zalloc(sizeof *r);
    unsigned char *der = NULL;
    int n;

    if (r == NULL) {
        EVP_PKEY_free(pkey);
        return nw_fail(err, NW_ERR_NOMEM, "rsa: out of memory");
    }
    r->pkey = pkey;
    n = i2d_PUBKEY(pkey, &der);
    if (n <= 0) {
        nw_rsa_recipient_free(r);
        ERR_clear_error();
        return nw_fail(err, NW_ERR_INTERNAL, "rsa: cannot encode the public key");
    }
    r->spki = der;
    r->spki_len = (size_t)n;
    if (EVP_Digest(der, (size_t)n, r->ski, NULL, EVP_sha256(), NULL) != 1) {
        nw_rsa_recipient_free(r);
        ERR_clear_error();
        return nw_fail(err, NW_ERR_INTERNAL, "rsa: cannot hash the public key");
    }
    *out = r;
    return NW_OK;
}

enum nw_err nw_rsa_recipient_generate(struct nw_rsa_recipient **out, struct nw_error *err)
{
    EVP_PKEY *pkey;

    *out = NULL;
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (pkey == NULL) {
        ERR_clear_error();
        return nw_fail(err, NW_ERR_RANDOM, "rsa: key generation failed");
    }
    return wrap_key(out, pkey, err);
}

enum nw_err nw_rsa_recipient_from_der(struct nw_rsa_recipient **out, const uint8_t *der, size_t len,
                                      struct nw_error *err)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey;
    int bits;

    *out = NULL;
    if (len == 0 || len > RSA_DER_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "rsa: private key DER must be 1..%d bytes", RSA_DER_MAX);
    /* d2i_AutoPrivateKey takes PKCS#1 RSAPrivateKey and PKCS#8 alike. */
    pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
    ERR_clear_error();
    if (pkey == NULL || p != der + len || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        return nw_fail(err, NW_ERR_BAD_REQUEST, "rsa: not a DER RSA private key (PKCS#1 or PKCS#8)");
    }
    bits = EVP_PKEY_get_bits(pkey);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        EVP_PKEY_free(pkey);
        return nw_fail(err, NW_ERR_BAD_REQUEST, "rsa: key of %d bits (want %d..%d)", bits, RSA_MIN_BITS,
                       RSA_MAX_BITS);
    }
    return wrap_key(out, pkey, err);
}

void nw_rsa_recipient_spki(const struct nw_rsa_recipient *r, const uint8_t **der, size_t *len)
{
    *der = r->spki;
    *len = r->spki_len;
}

void nw_rsa_recipient_free(struct nw_rsa_recipient *r)
{
    if (r == NULL)
        return;
    EVP_PKEY_free(r->pkey); /* OpenSSL clears the private BIGNUMs */
    OPENSSL_free(r->spki);
    OPENSSL_free(r);
}
