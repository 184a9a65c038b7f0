/*
 * cose.c - COSE_Sign1 with ES384 (RFC 9052 sections 4.2 and 4.4, RFC 9053
 * section 2.1): parsing, the Sig_structure, verification and signing.
 *
 * Trust boundary: nw_cose_sign1_parse reads untrusted bytes (attestation
 * documents sent by enclaves) through the bounded CBOR reader; the parsed
 * message points into the caller's buffer.  COSE carries an ECDSA signature
 * as r || s (48 + 48 bytes for P-384); OpenSSL wants a DER ECDSA-Sig-Value,
 * so the two are converted here.  Signing is used by the emulated NSM only.
 */
#include "nitrowallet/cose.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "nitrowallet/cbor.h"

#define COSE_HDR_ALG 1
#define COSE_HDR_CRIT 2
#define SIG_STRUCTURE_MAX (64u * 1024u)
#define P384_SCALAR 48

/* Check the protected header, a serialized map: alg (label 1) must be
 * present once and equal ES384; crit (label 2) is refused, as no extension
 * is understood; other labels are skipped. */
static enum nw_err check_protected(const uint8_t *p, size_t len, struct nw_error *err)
{
    struct nw_cbor c;
    struct nw_cbor_item map, key, val;
    int have_alg = 0;
    uint64_t i;

    nw_cbor_init(&c, p, len);
    if (nw_cbor_read(&c, &map, err) != NW_OK || map.major != NW_CBOR_MAP)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: protected header is not a map");
    for (i = 0; i < map.val; i++) {
        if (nw_cbor_read(&c, &key, err) != NW_OK)
            goto bad;
        if (key.major == NW_CBOR_UINT && key.val == COSE_HDR_CRIT)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: critical header parameters not supported");
        if (key.major == NW_CBOR_UINT && key.val == COSE_HDR_ALG) {
            if (have_alg)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: duplicate alg in protected header");
            have_alg = 1;
            if (nw_cbor_read(&c, &val, err) != NW_OK)
                goto bad;
            /* ES384 = -35, i.e. negative integer with argument 34. */
            if (val.major != NW_CBOR_NEGINT || val.val != (uint64_t)(-1 - NW_COSE_ALG_ES384))
                return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: alg is not ES384 (-35)");
            continue;
        }
        if (key.major != NW_CBOR_UINT && key.major != NW_CBOR_NEGINT && key.major != NW_CBOR_TEXT)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: protected header label is not an int or text");
        if (nw_cbor_skip(&c, err) != NW_OK)
            goto bad;
    }
    if (!nw_cbor_at_end(&c))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: bytes after the protected header map");
    if (!have_alg)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: protected header has no alg");
    return NW_OK;
bad:
    nw_error_prefix(err, "cose: protected header");
    return NW_ERR_BAD_REQUEST;
}

static enum nw_err read_bstr(struct nw_cbor *c, const uint8_t **p, size_t *n, const char *what,
                             struct nw_error *err)
{
    struct nw_cbor_item it;

    if (nw_cbor_read(c, &it, err) != NW_OK) {
        nw_error_prefix(err, "cose: %s", what);
        return NW_ERR_BAD_REQUEST;
    }
    if (it.major != NW_CBOR_BYTES)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: %s is not a byte string", what);
    *p = it.data;
    *n = (size_t)it.val;
    return NW_OK;
}

/* The unprotected header: a map (skipped: nothing in it is trusted) or, as
 * some NSM versions write it, null. */
static enum nw_err skip_unprotected(struct nw_cbor *c, struct nw_error *err)
{
    struct nw_cbor probe = *c;
    struct nw_cbor_item it;

    if (nw_cbor_read(&probe, &it, err) != NW_OK)
        goto bad;
    if (it.major == NW_CBOR_SIMPLE && it.val == NW_CBOR_NULL) {
        *c = probe;
        return NW_OK;
    }
    if (it.major != NW_CBOR_MAP)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: unprotected header is not a map");
    if (nw_cbor_skip(c, err) == NW_OK)
        return NW_OK;
bad:
    nw_error_prefix(err, "cose: unprotected header");
    return NW_ERR_BAD_REQUEST;
}

enum nw_err nw_cose_sign1_parse(struct nw_cose_sign1 *out, const uint8_t *msg, size_t len, struct nw_error *err)
{
    struct nw_cbor c;
    struct nw_cbor_item it;
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    nw_cbor_init(&c, msg, len);
    if (nw_cbor_read(&c, &it, err) != NW_OK) {
        nw_error_prefix(err, "cose");
        return NW_ERR_BAD_REQUEST;
    }
    if (it.major == NW_CBOR_TAG) {
        if (it.val != NW_COSE_TAG_SIGN1)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: tag %llu is not COSE_Sign1 (18)",
                           (unsigned long long)it.val);
        out->tagged = 1;
        if (nw_cbor_read(&c, &it, err) != NW_OK) {
            nw_error_prefix(err, "cose");
            return NW_ERR_BAD_REQUEST;
        }
    }
    if (it.major != NW_CBOR_ARRAY || it.val != 4)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: COSE_Sign1 is not an array of 4");
    if ((rc = read_bstr(&c, &out->protected_hdr, &out->protected_len, "protected header", err)) != NW_OK ||
        (rc = skip_unprotected(&c, err)) != NW_OK ||
        (rc = read_bstr(&c, &out->payload, &out->payload_len, "payload", err)) != NW_OK ||
        (rc = read_bstr(&c, &out->signature, &out->signature_len, "signature", err)) != NW_OK)
        return rc;
    if (!nw_cbor_at_end(&c))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: %zu bytes after the COSE_Sign1", len - c.pos);
    if (out->signature_len != NW_COSE_ES384_SIG_LEN)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: ES384 signature is %zu bytes, expected %d",
                       out->signature_len, NW_COSE_ES384_SIG_LEN);
    return check_protected(out->protected_hdr, out->protected_len, err);
}

enum nw_err nw_cose_sig_structure(struct nw_buf *out, const uint8_t *protected_hdr, size_t protected_len,
                                  const uint8_t *payload, size_t payload_len)
{
    static const char context[] = "Signature1";
    enum nw_err rc;

    if ((rc = nw_cbor_put_head(out, NW_CBOR_ARRAY, 4)) != NW_OK ||
        (rc = nw_cbor_put_text(out, context, sizeof context - 1)) != NW_OK ||
        (rc = nw_cbor_put_bytes(out, protected_hdr, protected_len)) != NW_OK ||
        (rc = nw_cbor_put_bytes(out, NULL, 0)) != NW_OK)
        return rc;
    return nw_cbor_put_bytes(out, payload, payload_len);
}

static int is_p384(EVP_PKEY *key)
{
    char group[32];
    size_t n = 0;

    if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
        return 0;
    if (!EVP_PKEY_get_group_name(key, group, sizeof group, &n))
        return 0;
    return strcmp(group, "secp384r1") == 0;
}

/* r || s (48 + 48 bytes) to a DER ECDSA-Sig-Value. */
static enum nw_err sig_to_der(const uint8_t *rs, uint8_t **der, int *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, P384_SCALAR, NULL);
    BIGNUM *s = BN_bin2bn(rs + P384_SCALAR, P384_SCALAR, NULL);
    enum nw_err rc = NW_ERR_NOMEM;

    *der = NULL;
    if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s))
        goto out;
    r = s = NULL; /* owned by sig now */
    *der_len = i2d_ECDSA_SIG(sig, der);
    if (*der_len > 0)
        rc = NW_OK;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return rc;
}

enum nw_err nw_cose_sign1_verify_es384(const struct nw_cose_sign1 *msg, EVP_PKEY *key, struct nw_error *err)
{
    struct nw_buf tbs;
    EVP_MD_CTX *md = NULL;
    uint8_t *der = NULL;
    int der_len = 0;
    enum nw_err rc;

    nw_buf_init(&tbs, SIG_STRUCTURE_MAX);
    if (!is_p384(key))
        return nw_fail(err, NW_ERR_ATTESTATION, "signing key is not EC P-384");
    if (msg->signature_len != NW_COSE_ES384_SIG_LEN)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cose: ES384 signature is not %d bytes", NW_COSE_ES384_SIG_LEN);
    rc = nw_cose_sig_structure(&tbs, msg->protected_hdr, msg->protected_len, msg->payload, msg->payload_len);
    if (rc != NW_OK) {
        nw_fail(err, rc, "cose: Sig_structure larger than %u bytes", SIG_STRUCTURE_MAX);
        goto out;
    }
    NW_GUARD(sig_to_der(msg->signature, &der, &der_len));
    rc = NW_ERR_NOMEM;
    if ((md = EVP_MD_CTX_new()) == NULL)
        goto out;
    rc = NW_ERR_ATTESTATION;
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestVerify(md, der, (size_t)der_len, tbs.data, tbs.len) != 1) {
        nw_fail(err, rc, "signature does not verify");
        goto out;
    }
    rc = NW_OK;
out:
    if (rc == NW_ERR_NOMEM)
        nw_fail(err, rc, "cose: out of memory");
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    nw_buf_free(&tbs);
    return rc;
}

/* DER ECDSA-Sig-Value to r || s. */
static enum nw_err der_to_sig(uint8_t rs[NW_COSE_ES384_SIG_LEN], const uint8_t *der, size_t der_len)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    enum nw_err rc = NW_ERR_INTERNAL;

    if (sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, P384_SCALAR) == P384_SCALAR &&
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + P384_SCALAR, P384_SCALAR) == P384_SCALAR)
        rc = NW_OK;
    ECDSA_SIG_free(sig);
    return rc;
}

enum nw_err nw_cose_sign1_sign_es384(struct nw_buf *out, const uint8_t *payload, size_t payload_len,
                                     EVP_PKEY *key, struct nw_error *err)
{
    static const uint8_t prot[] = {0xa1, 0x01, 0x38, 0x22}; /* {1: -35} */
    uint8_t der[128], rs[NW_COSE_ES384_SIG_LEN];
    size_t der_len = sizeof der;
    struct nw_buf tbs;
    EVP_MD_CTX *md = NULL;
    enum nw_err rc;

    nw_buf_init(&tbs, SIG_STRUCTURE_MAX);
    if (!is_p384(key))
        return nw_fail(err, NW_ERR_INTERNAL, "cose: signing key is not EC P-384");
    NW_GUARD(nw_cose_sig_structure(&tbs, prot, sizeof prot, payload, payload_len));
    rc = NW_ERR_NOMEM;
    if ((md = EVP_MD_CTX_new()) == NULL)
        goto out;
    rc = NW_ERR_INTERNAL;
    if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &der_len, tbs.data, tbs.len) != 1)
        goto out;
    NW_GUARD(der_to_sig(rs, der, der_len));
    if ((rc = nw_cbor_put_head(out, NW_CBOR_ARRAY, 4)) != NW_OK ||
        (rc = nw_cbor_put_bytes(out, prot, sizeof prot)) != NW_OK ||
        (rc = nw_cbor_put_head(out, NW_CBOR_MAP, 0)) != NW_OK ||
        (rc = nw_cbor_put_bytes(out, payload, payload_len)) != NW_OK)
        goto out;
    rc = nw_cbor_put_bytes(out, rs, sizeof rs);
out:
    if (rc != NW_OK)
        nw_fail(err, rc, "cose: signing failed (%s)", nw_err_name(rc));
    EVP_MD_CTX_free(md);
    nw_buf_free(&tbs);
    return rc;
}
