/*
 * cms.c - the opener of KMS's CiphertextForRecipient (see cms.h): CMS
 * EnvelopedData, RFC 5652, with one KeyTransRecipientInfo using RSAES-OAEP
 * (RFC 8017, RFC 4055 parameters: SHA-256, MGF1 with SHA-256, empty
 * label) and AES-256-CBC content encryption (RFC 3565), in BER with
 * indefinite lengths as KMS sends it.
 *
 * Trust boundary: the message comes from KMS over TLS, but it is parsed in
 * the enclave, so it is treated as hostile: size-bounded, fully consumed by
 * the decoder (no trailing bytes), and its algorithms checked before any
 * private-key operation.  OpenSSL does the ASN.1 and the cryptography.
 *
 * OpenSSL's MMA countermeasure (on a failed key transport it silently
 * continues with a random content key) is switched off with
 * CMS_DEBUG_DECRYPT: the key transport here is OAEP, whose decoding is
 * constant-time with a single error, the message only ever arrives from KMS
 * over verified TLS, and the recipient key is short-lived; in exchange a
 * wrong key is refused deterministically instead of "succeeding" with
 * garbage one time in a few hundred.  AES-CBC has no integrity: a damaged
 * content block can still decrypt to different bytes, so callers
 * authenticate what they open (a data key must open an AES-GCM seal).
 *
 * Beyond what OpenSSL checks, the message must be addressed to us exactly
 * as KMS addresses it: EnvelopedData version 2 without originatorInfo, one
 * KeyTransRecipientInfo version 2 whose rid is the subjectKeyIdentifier
 * SHA-256(our DER SubjectPublicKeyInfo) (what the real vector carries, and
 * what nw_cms_seal writes).  So no byte of the structure can change without
 * the message being refused; only the CBC ciphertext and IV are malleable.
 *
 * The plaintext is read from the decrypting BIO straight into locked
 * memory (struct nw_secret); no intermediate buffer holds it.
 */
#include "nitrowallet/cms.h"

#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms_internal.h"

/* --- algorithm checks ----------------------------------------------------------- */

/* An AlgorithmIdentifier for SHA-256 with absent or NULL parameters. */
static int is_sha256(const X509_ALGOR *a)
{
    const ASN1_OBJECT *obj;
    int ptype;

    if (a == NULL)
        return 0; /* absent means SHA-1 (RFC 4055 defaults) */
    X509_ALGOR_get0(&obj, &ptype, NULL, a);
    return OBJ_obj2nid(obj) == NID_sha256 && (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL);
}

/* MGF1 whose parameter is the SHA-256 AlgorithmIdentifier. */
static int is_mgf1_sha256(const X509_ALGOR *a)
{
    const ASN1_OBJECT *obj;
    const void *pval;
    const ASN1_STRING *seq;
    const unsigned char *p;
    X509_ALGOR *hash;
    int ptype, ok;

    if (a == NULL)
        return 0;
    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    if (OBJ_obj2nid(obj) != NID_mgf1 || ptype != V_ASN1_SEQUENCE)
        return 0;
    seq = pval;
    p = ASN1_STRING_get0_data(seq);
    hash = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq));
    ok = hash != NULL && p == ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq) && is_sha256(hash);
    X509_ALGOR_free(hash);
    return ok;
}

/* pSourceFunc absent, or pSpecified with an empty label. */
static int is_empty_label(const X509_ALGOR *a)
{
    const ASN1_OBJECT *obj;
    const void *pval;
    int ptype;

    if (a == NULL)
        return 1;
    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    return OBJ_obj2nid(obj) == NID_pSpecified && ptype == V_ASN1_OCTET_STRING &&
           ASN1_STRING_length((const ASN1_STRING *)pval) == 0;
}

/* keyEncryptionAlgorithm must be RSAES-OAEP(SHA-256, MGF1-SHA-256, ""). */
static enum nw_err check_oaep(const X509_ALGOR *alg, struct nw_error *err)
{
    const ASN1_OBJECT *obj;
    const void *pval;
    const ASN1_STRING *seq;
    const unsigned char *p;
    RSA_OAEP_PARAMS *oaep = NULL;
    int ptype, ok;

    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    if (OBJ_obj2nid(obj) != NID_rsaesOaep)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: key transport is not RSAES-OAEP");
    if (ptype != V_ASN1_SEQUENCE)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: RSAES-OAEP without parameters (SHA-1 defaults)");
    seq = pval;
    p = ASN1_STRING_get0_data(seq);
    oaep = d2i_RSA_OAEP_PARAMS(NULL, &p, ASN1_STRING_length(seq));
    ok = oaep != NULL && p == ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq) && is_sha256(oaep->hashFunc) &&
         is_mgf1_sha256(oaep->maskGenFunc) && is_empty_label(oaep->pSourceFunc);
    RSA_OAEP_PARAMS_free(oaep);
    ERR_clear_error();
    if (!ok)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: RSAES-OAEP parameters are not SHA-256/MGF1-SHA-256/empty label");
    return NW_OK;
}

/* The rid must be our subjectKeyIdentifier. */
static enum nw_err check_rid(CMS_RecipientInfo *ri, const struct nw_rsa_recipient *r, struct nw_error *err)
{
    ASN1_OCTET_STRING *keyid = NULL;
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *serial = NULL;

    if (CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer, &serial) != 1 || keyid == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: recipient not identified by subjectKeyIdentifier");
    if (ASN1_STRING_length(keyid) != (int)sizeof r->ski ||
        memcmp(ASN1_STRING_get0_data(keyid), r->ski, sizeof r->ski) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: addressed to another key (subjectKeyIdentifier differs)");
    return NW_OK;
}

/* EnvelopedData of id-data, one KeyTransRecipientInfo with OAEP to us, content present. */
static enum nw_err check_structure(CMS_ContentInfo *cms, const struct nw_rsa_recipient *r, struct nw_error *err)
{
    STACK_OF(CMS_RecipientInfo) *ris;
    CMS_RecipientInfo *ri;
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING **content;
    enum nw_err rc;

    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: not EnvelopedData");
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: encrypted content type is not id-data");
    ris = CMS_get0_RecipientInfos(cms);
    if (ris == NULL || sk_CMS_RecipientInfo_num(ris) != 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: expected exactly one RecipientInfo");
    ri = sk_CMS_RecipientInfo_value(ris, 0);
    if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: RecipientInfo is not KeyTransRecipientInfo");
    if ((rc = check_rid(ri, r, err)) != NW_OK)
        return rc;
    if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1 || alg == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: no key encryption algorithm");
    content = CMS_get0_content(cms);
    if (content == NULL || *content == NULL || ASN1_STRING_length(*content) <= 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: no encrypted content (detached)");
    if (ASN1_STRING_length(*content) % 16 != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: encrypted content is not whole AES blocks");
    return check_oaep(alg, err);
}

/* --- opening ------------------------------------------------------------------------ */

/* Decrypt the content through `bio` into out->data, at most max_len bytes. */
static enum nw_err read_plaintext(struct nw_secret *out, BIO *bio, size_t max_len, struct nw_error *err)
{
    size_t total = 0, n;
    uint8_t extra = 0;
    EVP_CIPHER_CTX *cctx = NULL;

    if (BIO_method_type(bio) != BIO_TYPE_CIPHER || BIO_get_cipher_ctx(bio, &cctx) != 1 || cctx == NULL ||
        EVP_CIPHER_get_nid(EVP_CIPHER_CTX_get0_cipher(cctx)) != NID_aes_256_cbc)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: content encryption is not AES-256-CBC");
    for (;;) {
        int ok = total < max_len ? BIO_read_ex(bio, out->data + total, max_len - total, &n)
                                 : BIO_read_ex(bio, &extra, 1, &n);
        if (!ok || n == 0)
            break;
        if (total == max_len) {
            nw_wipe(&extra, 1);
            return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: content longer than %zu bytes", max_len);
        }
        total += n;
    }
    /* End of data: the final block's padding decides (cipher status). */
    if (BIO_get_cipher_status(bio) <= 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: content decryption failed (bad padding)");
    if (total == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: empty content");
    out->len = total;
    return NW_OK;
}

enum nw_err nw_cms_open(struct nw_secret *out, const struct nw_rsa_recipient *r, const uint8_t *cms_der,
                        size_t cms_len, size_t max_len, struct nw_error *err)
{
    const unsigned char *p = cms_der;
    CMS_ContentInfo *cms = NULL;
    BIO *bio = NULL;
    enum nw_err rc = NW_OK;

    out->data = NULL;
    out->len = 0;
    out->map_len = 0;
    if (cms_len == 0 || cms_len > NW_CMS_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: message must be 1..%u bytes", NW_CMS_MAX);
    if (max_len == 0 || max_len > NW_CMS_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: content bound must be 1..%u bytes", NW_CMS_MAX);
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)cms_len);
    if (cms == NULL || p != cms_der + cms_len) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "cms: not a single BER ContentInfo");
        goto out;
    }
    NW_GUARD(nw_cms_check_shape(cms_der, cms_len, err));
    NW_GUARD(check_structure(cms, r, err));
    /* Flags only (no key, no output): report key-transport failures. */
    (void)CMS_decrypt(cms, NULL, NULL, NULL, NULL, CMS_DEBUG_DECRYPT | CMS_BINARY);
    if (CMS_decrypt_set1_pkey(cms, r->pkey, NULL) != 1) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "cms: key transport failed (wrong recipient key or damaged)");
        goto out;
    }
    bio = CMS_dataInit(cms, NULL);
    if (bio == NULL) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "cms: cannot start content decryption");
        goto out;
    }
    if (nw_secret_alloc(out, max_len) != NW_OK) {
        rc = nw_fail(err, NW_ERR_NOMEM, "cms: cannot allocate locked memory");
        goto out;
    }
    NW_GUARD(read_plaintext(out, bio, max_len, err));
out:
    if (rc != NW_OK)
        nw_secret_free(out);
    BIO_free_all(bio);    /* the cipher BIO's context is cleared on free */
    CMS_ContentInfo_free(cms); /* and the content key */
    ERR_clear_error();
    return rc;
}
