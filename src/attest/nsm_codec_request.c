/*
 * nsm_codec_request.c - NSM requests as serde-CBOR (nsm_codec.h): encoding
 * what the enclave asks the device for, and decoding it (the emulated
 * device and the tests read requests).
 *
 * Trust boundary: the decoder never allocates and never reads past `len`.
 */
#include "nsm_codec_internal.h"

#include <string.h>

#include "nitrowallet/nsm.h"

static enum nw_err encode_request_body(struct nw_buf *out, const struct nw_nsm_request *req)
{
    enum nw_err rc;

    switch (req->op) {
    case NW_NSM_OP_ATTESTATION:
        rc = nsm_put_struct_variant(out, "Attestation", 3);
        if (rc == NW_OK)
            rc = nsm_put_bytes_field(out, "user_data", req->user_data, req->user_data_len);
        if (rc == NW_OK)
            rc = nsm_put_bytes_field(out, "nonce", req->nonce, req->nonce_len);
        if (rc == NW_OK)
            rc = nsm_put_bytes_field(out, "public_key", req->public_key, req->public_key_len);
        return rc;
    case NW_NSM_OP_GET_RANDOM: return nsm_put_text(out, "GetRandom");
    case NW_NSM_OP_DESCRIBE_PCR:
        rc = nsm_put_struct_variant(out, "DescribePCR", 1);
        if (rc == NW_OK)
            rc = nsm_put_text(out, "index");
        if (rc == NW_OK)
            rc = nw_cbor_put_uint(out, req->index);
        return rc;
    case NW_NSM_OP_ERROR: break;
    }
    return NW_ERR_INTERNAL;
}

enum nw_err nw_nsm_request_encode(struct nw_buf *out, const struct nw_nsm_request *req, struct nw_error *err)
{
    size_t start = out->len;
    enum nw_err rc;

    if (req->op == NW_NSM_OP_ATTESTATION) {
        if ((rc = nsm_check_field_len("user_data", req->user_data_len, NW_NSM_MAX_USER_DATA, err)) != NW_OK ||
            (rc = nsm_check_field_len("nonce", req->nonce_len, NW_NSM_MAX_NONCE, err)) != NW_OK ||
            (rc = nsm_check_field_len("public_key", req->public_key_len, NW_NSM_MAX_PUBLIC_KEY, err)) != NW_OK)
            return rc;
    }
    if (req->op == NW_NSM_OP_DESCRIBE_PCR && req->index > NW_NSM_MAX_PCR_INDEX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM request: PCR index %u out of range", req->index);
    rc = encode_request_body(out, req);
    if (rc == NW_OK && out->len - start > NW_NSM_REQUEST_MAX)
        rc = NW_ERR_TOO_LARGE;
    if (rc != NW_OK) {
        out->len = start;
        return nw_fail(err, rc, "NSM request %s: cannot encode (%s)", nsm_op_name(req->op), nw_err_name(rc));
    }
    return NW_OK;
}


/* --- requests ---------------------------------------------------------------- */

static const char *const attestation_fields[] = {"user_data", "nonce", "public_key"};
static const char *const describe_pcr_fields[] = {"index"};

static enum nw_err read_request_field(struct nw_cbor *c, unsigned f, void *out, struct nw_error *err)
{
    struct nw_nsm_request *r = out;
    const uint8_t **p = f == 0 ? &r->user_data : f == 1 ? &r->nonce : &r->public_key;
    size_t *n = f == 0 ? &r->user_data_len : f == 1 ? &r->nonce_len : &r->public_key_len;
    struct nw_cbor_item it;
    enum nw_err rc;

    if (r->op == NW_NSM_OP_DESCRIBE_PCR) {
        if ((rc = nw_cbor_read(c, &it, err)) != NW_OK)
            return rc;
        if (it.major != NW_CBOR_UINT || it.val > NW_NSM_MAX_PCR_INDEX)
            return nsm_malformed(err, "PCR index is not a u16", &it);
        r->index = (unsigned)it.val;
        return NW_OK;
    }
    if ((rc = nsm_read_bytes(c, 1, p, n, err)) != NW_OK)
        return rc;
    /* The three limits are the same (nsm.h, attestation_process.md 2.2). */
    return nsm_check_field_len(attestation_fields[f], *n, NW_NSM_MAX_USER_DATA, err);
}

enum nw_err nw_nsm_request_decode(struct nw_nsm_request *out, const uint8_t *p, size_t len, struct nw_error *err)
{
    struct nw_cbor_item name;
    struct nw_cbor c;
    unsigned seen;
    int is_unit;
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    if (len > NW_NSM_REQUEST_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "NSM request of %zu bytes exceeds %u", len, NW_NSM_REQUEST_MAX);
    nw_cbor_init(&c, p, len);
    if ((rc = nsm_read_variant(&c, &name, &is_unit, err)) != NW_OK)
        return rc;
    if (is_unit && nsm_text_is(&name, "GetRandom")) {
        out->op = NW_NSM_OP_GET_RANDOM;
    } else if (!is_unit && nsm_text_is(&name, "Attestation")) {
        out->op = NW_NSM_OP_ATTESTATION;
        rc = nsm_read_fields(&c, attestation_fields, 3, read_request_field, out, &seen, err);
    } else if (!is_unit && nsm_text_is(&name, "DescribePCR")) {
        out->op = NW_NSM_OP_DESCRIBE_PCR;
        rc = nsm_read_fields(&c, describe_pcr_fields, 1, read_request_field, out, &seen, err);
        if (rc == NW_OK && seen != 1)
            rc = nsm_malformed(err, "DescribePCR without index", &name);
    } else {
        rc = nsm_malformed(err, "unsupported request", &name);
    }
    return rc != NW_OK ? rc : nsm_finish(&c, err);
}

