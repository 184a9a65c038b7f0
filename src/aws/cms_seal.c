/*
 * cms_seal.c - build a CiphertextForRecipient the way AWS KMS does (see
 * cms.h): CMS EnvelopedData (RFC 5652) version 2 with one
 * KeyTransRecipientInfo version 2 whose rid is a subjectKeyIdentifier of 32
 * bytes, SHA-256 of the recipient's DER SubjectPublicKeyInfo (that is what
 * the real vector in tests/data/kms carries), key transport RSAES-OAEP with
 * SHA-256 / MGF1-SHA-256 / empty label (RFC 4055), content AES-256-CBC
 * with a random key and IV (RFC 3565).  Output is DER (definite lengths);
 * KMS sends BER, and both decode the same.
 *
 * Used by nitrowallet-kms (the emulator) and by tests; the enclave only
 * opens.  Trust boundary: the public key comes from an attestation
 * document that the caller has already verified; it is still parsed
 * strictly (one RSA SubjectPublicKeyInfo, 2048..4096 bits, nothing after).
 *
 * OpenSSL adds KeyTransRecipientInfos only from certificates, so the key is
 * carried in a throwaway certificate (x509.h) holding just the public key
 * and the subjectKeyIdentifier extension; CMS_USE_KEYID makes OpenSSL put
 * that identifier in the rid.  The certificate never leaves this function.
 * The plaintext is written straight from the caller's buffer into the
 * encrypting BIO (no copies outside OpenSSL's cipher context).
 */
#include "nitrowallet/cms.h"

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nitrowallet/x509.h"

#define SPKI_MAX 2048
#define SEAL_PLAINTEXT_MAX (NW_CMS_MAX - 1024u)

static EVP_PKEY *parse_spki(const uint8_t *spki, size_t len)
{
    const unsigned char *p = spki;
    EVP_PKEY *pkey;
    int bits;

    if (len == 0 || len > SPKI_MAX)
        return NULL;
    pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey == NULL)
        return NULL;
    bits = EVP_PKEY_get_bits(pkey);
    if (p != spki + len || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || bits < 2048 || bits > 4096) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/*
 * A certificate shell carrying `pkey` and SKI = SHA-256(spki).  OpenSSL
 * reads the SKI only from a certificate it can encode, so the shell is
 * signed with a key made for the purpose and dropped at once (Ed25519: the
 * cheapest); nobody ever verifies that signature.  It has no names and no
 * validity; the SKI goes in as hex, the extension syntax for its bytes.
 */
static X509 *recipient_cert(EVP_PKEY *pkey, const uint8_t *spki, size_t len)
{
    unsigned char ski[32];
    EVP_PKEY *shell_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    struct nw_x509_ext ext = {NID_subject_key_identifier, NULL};
    const struct nw_x509_spec spec = {.key = pkey, .issuer_key = shell_key, .exts = &ext, .n_exts = 1};
    char *hex = NULL;
    X509 *cert = NULL;

    if (shell_key != NULL && EVP_Digest(spki, len, ski, NULL, EVP_sha256(), NULL) == 1)
        hex = OPENSSL_buf2hexstr(ski, (long)sizeof ski);
    ext.value = hex;
    if (hex == NULL || nw_x509_make(&cert, &spec, NULL) != NW_OK || X509_get0_subject_key_id(cert) == NULL) {
        X509_free(cert);
        cert = NULL;
    }
    OPENSSL_free(hex);
    EVP_PKEY_free(shell_key);
    return cert;
}

/* OAEP with SHA-256 and MGF1-SHA-256 on the recipient's key context. */
static int set_oaep(CMS_RecipientInfo *ri)
{
    EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);

    return pctx != NULL && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
}

/* Encrypt the content and finish the structure. */
static int encrypt_content(CMS_ContentInfo *cms, const uint8_t *plaintext, size_t len)
{
    BIO *bio = CMS_dataInit(cms, NULL);
    size_t written = 0;
    int ok;

    if (bio == NULL)
        return 0;
    ok = BIO_write_ex(bio, plaintext, len, &written) == 1 && written == len && BIO_flush(bio) == 1 &&
         CMS_dataFinal(cms, bio) == 1;
    BIO_free_all(bio);
    return ok;
}

enum nw_err nw_cms_seal(struct nw_buf *out, const uint8_t *spki, size_t spki_len, const uint8_t *plaintext,
                        size_t len, struct nw_error *err)
{
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    CMS_ContentInfo *cms = NULL;
    CMS_RecipientInfo *ri;
    unsigned char *der = NULL;
    int der_len;
    enum nw_err rc = NW_OK;

    if (len == 0 || len > SEAL_PLAINTEXT_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: plaintext must be 1..%u bytes", SEAL_PLAINTEXT_MAX);
    pkey = parse_spki(spki, spki_len);
    if (pkey == NULL) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "cms: recipient is not a DER RSA SubjectPublicKeyInfo (2048..4096)");
        goto out;
    }
    cert = recipient_cert(pkey, spki, spki_len);
    cms = CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), CMS_BINARY | CMS_PARTIAL);
    if (cert == NULL || cms == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "cms: cannot set up EnvelopedData");
        goto out;
    }
    ri = CMS_add1_recipient_cert(cms, cert, CMS_USE_KEYID | CMS_KEY_PARAM);
    if (ri == NULL || !set_oaep(ri) || !encrypt_content(cms, plaintext, len)) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "cms: encryption to the recipient failed");
        goto out;
    }
    der_len = i2d_CMS_ContentInfo(cms, &der);
    if (der_len <= 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "cms: cannot encode EnvelopedData");
        goto out;
    }
    rc = nw_buf_append(out, der, (size_t)der_len);
    if (rc != NW_OK)
        rc = nw_fail(err, rc, "cms: output buffer too small for %d bytes", der_len);
out:
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}
