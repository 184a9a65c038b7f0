/*
 * cms_key.c - the enclave's RSA recipient key for KMS's Recipient
 * parameter (see cms.h): RSA-2048 generated in process (OpenSSL's
 * EVP_PKEY_Q_keygen, seeded from the kernel CSPRNG, which the NSM feeds
 * inside an enclave), or loaded from DER for tests; its public half as DER
 * SubjectPublicKeyInfo for the attestation document, and SHA-256 of that,
 * the subjectKeyIdentifier KMS addresses the reply to.
 *
 * Trust boundary: the private key never leaves this process.  Its private
 * BIGNUMs (d, p, q and the CRT values) live in OpenSSL's secure heap, which
 * this file sets up before the first key exists: one mapping, locked into
 * RAM (mlock), excluded from core dumps and cleared when a block is freed.
 * OpenSSL puts the private halves of generated and DER-decoded RSA keys
 * there by itself once the heap exists; failing to lock it is an error, as
 * for nw_secret (secret.h), never a silent fallback to the ordinary heap.
 */
#include "nitrowallet/cms.h"

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cms_internal.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 4096
#define RSA_DER_MAX 8192

/* One RSA-4096 key's private BIGNUMs take under 4 KiB of the heap (the
 * buddy allocator rounds each to a power of two); the rest is headroom for
 * OpenSSL's secure temporaries while a key is generated. */
#define SECURE_HEAP_BYTES (256 * 1024)
#define SECURE_HEAP_MIN 32

static pthread_once_t secure_heap_once = PTHREAD_ONCE_INIT;
static int secure_heap_rc; /* CRYPTO_secure_malloc_init: 1 = mapped and locked */

static void secure_heap_init(void)
{
    secure_heap_rc = CRYPTO_secure_malloc_init(SECURE_HEAP_BYTES, SECURE_HEAP_MIN);
}

static enum nw_err secure_heap(struct nw_error *err)
{
    if (pthread_once(&secure_heap_once, secure_heap_init) != 0 || secure_heap_rc != 1)
        return nw_fail(err, NW_ERR_NOMEM,
                       "rsa: cannot set up OpenSSL's locked secure heap (%d KiB; check RLIMIT_MEMLOCK)",
                       SECURE_HEAP_BYTES / 1024);
    return NW_OK;
}

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
    enum nw_err rc;

    *out = NULL;
    if ((rc = secure_heap(err)) != NW_OK)
        return rc;
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
    enum nw_err rc;

    *out = NULL;
    if ((rc = secure_heap(err)) != NW_OK)
        return rc;
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
    EVP_PKEY_free(r->pkey); /* the secure heap clears the private BIGNUMs */
    OPENSSL_free(r->spki);
    OPENSSL_free(r);
}
