/*
 * nsm_devdoc.c - attestation documents of the emulated NSM, in AWS's exact
 * format (development only; see devca.h).
 *
 * A document is an untagged COSE_Sign1 (RFC 9052 section 4.2), as the real
 * NSM returns it: [protected = bstr{1: -35 (ES384)}, unprotected = {},
 * payload = bstr, signature = bstr(96: r || s, 48 bytes each)], made by
 * nw_cose_sign1_sign_es384 (cose.c) with the leaf's key.  The payload is the
 * AttestationDoc of aws/aws-nitro-enclaves-nsm-api src/api/mod.rs with the
 * keys in the order real documents carry them: module_id, digest,
 * timestamp, pcrs (16 entries), certificate, cabundle [root, intermediate],
 * public_key, user_data, nonce (bytes or null).
 */
#include <string.h>

#include "devca.h"
#include "nitrowallet/cbor.h"
#include "nitrowallet/cose.h"
#include "nitrowallet/nsm_codec.h"

static enum nw_err put_key(struct nw_buf *b, const char *k)
{
    return nw_cbor_put_text(b, k, strlen(k));
}

static enum nw_err put_opt(struct nw_buf *b, const char *k, const uint8_t *p, size_t n)
{
    enum nw_err rc = put_key(b, k);
    if (rc != NW_OK)
        return rc;
    return p ? nw_cbor_put_bytes(b, p, n) : nw_cbor_put_null(b);
}

static enum nw_err build_payload(struct nw_buf *b, const struct nw_devdoc *d)
{
    enum nw_err rc;
    unsigned i;

#define PUT(x)                                                                                                         \
    do {                                                                                                               \
        if ((rc = (x)) != NW_OK)                                                                                       \
            return rc;                                                                                                 \
    } while (0)
    PUT(nw_cbor_put_head(b, NW_CBOR_MAP, 9));
    PUT(put_key(b, "module_id"));
    PUT(nw_cbor_put_text(b, d->module_id, strlen(d->module_id)));
    PUT(put_key(b, "digest"));
    PUT(put_key(b, "SHA384"));
    PUT(put_key(b, "timestamp"));
    PUT(nw_cbor_put_uint(b, d->timestamp_ms));
    PUT(put_key(b, "pcrs"));
    PUT(nw_cbor_put_head(b, NW_CBOR_MAP, NW_DEVDOC_PCRS));
    for (i = 0; i < NW_DEVDOC_PCRS; i++) {
        PUT(nw_cbor_put_uint(b, i));
        PUT(nw_cbor_put_bytes(b, d->pcrs[i], NW_DEVDOC_PCR_LEN));
    }
    PUT(put_key(b, "certificate"));
    PUT(nw_cbor_put_bytes(b, d->chain->leaf_der, d->chain->leaf_len));
    PUT(put_key(b, "cabundle"));
    PUT(nw_cbor_put_head(b, NW_CBOR_ARRAY, 2));
    PUT(nw_cbor_put_bytes(b, d->chain->root_der, d->chain->root_len));
    PUT(nw_cbor_put_bytes(b, d->chain->inter_der, d->chain->inter_len));
    PUT(put_opt(b, "public_key", d->public_key, d->public_key_len));
    PUT(put_opt(b, "user_data", d->user_data, d->user_data_len));
    PUT(put_opt(b, "nonce", d->nonce, d->nonce_len));
#undef PUT
    return NW_OK;
}

enum nw_err nw_devdoc_build(struct nw_buf *out, const struct nw_devdoc *d, struct nw_error *err)
{
    struct nw_buf payload;
    size_t start = out->len;
    enum nw_err rc;

    if (d->chain->leaf_key == NULL || d->chain->leaf_der == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: no leaf certificate");
    nw_buf_init(&payload, NW_NSM_RESPONSE_MAX);
    rc = build_payload(&payload, d);
    if (rc != NW_OK)
        rc = nw_fail(err, rc, "emulated NSM: document payload exceeds %u bytes", NW_NSM_RESPONSE_MAX);
    else
        rc = nw_cose_sign1_sign_es384(out, payload.data, payload.len, d->chain->leaf_key, err);
    if (rc != NW_OK)
        out->len = start;
    nw_buf_free(&payload);
    return rc;
}
