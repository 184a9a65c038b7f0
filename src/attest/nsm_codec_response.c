/*
 * nsm_codec_response.c - NSM responses as serde-CBOR (nsm_codec.h):
 * decoding what the device returns, encoding it (the emulated device), and
 * turning an Error response into a message.
 *
 * Trust boundary: the decoder reads what the device returns; it never
 * allocates and never reads past `len`.
 */
#include "nsm_codec_internal.h"

#include <string.h>

#include "nitrowallet/nsm.h"

static const char *const error_names[] = {
    "Success",          "InvalidArgument", "InvalidIndex",  "InvalidResponse", "ReadOnlyIndex",
    "InvalidOperation", "BufferTooSmall",  "InputTooLarge", "InternalError",
};
#define N_ERROR_NAMES (sizeof error_names / sizeof error_names[0])

const char *nw_nsm_error_name(enum nw_nsm_error_code code)
{
    return (unsigned)code < N_ERROR_NAMES ? error_names[code] : "?";
}

enum nw_err nw_nsm_response_encode(struct nw_buf *out, const struct nw_nsm_response *resp, struct nw_error *err)
{
    size_t start = out->len;
    enum nw_err rc = NW_ERR_INTERNAL;

    if (resp->data == NULL && resp->len != 0)
        return nw_fail(err, NW_ERR_INTERNAL, "NSM response: no data for %zu bytes", resp->len);
    switch (resp->op) {
    case NW_NSM_OP_ATTESTATION:
    case NW_NSM_OP_GET_RANDOM:
        rc = nsm_put_struct_variant(out, nsm_op_name(resp->op), 1);
        if (rc == NW_OK)
            rc = nsm_put_text(out, resp->op == NW_NSM_OP_ATTESTATION ? "document" : "random");
        if (rc == NW_OK)
            rc = nw_cbor_put_bytes(out, resp->data, resp->len);
        break;
    case NW_NSM_OP_DESCRIBE_PCR:
        rc = nsm_put_struct_variant(out, "DescribePCR", 2);
        if (rc == NW_OK)
            rc = nsm_put_text(out, "lock");
        if (rc == NW_OK)
            rc = nw_cbor_put_head(out, NW_CBOR_SIMPLE, resp->lock ? NW_CBOR_TRUE : NW_CBOR_FALSE);
        if (rc == NW_OK)
            rc = nsm_put_text(out, "data");
        if (rc == NW_OK)
            rc = nw_cbor_put_bytes(out, resp->data, resp->len);
        break;
    case NW_NSM_OP_ERROR:
        if ((unsigned)resp->error >= N_ERROR_NAMES)
            break;
        rc = nw_cbor_put_head(out, NW_CBOR_MAP, 1);
        if (rc == NW_OK)
            rc = nsm_put_text(out, "Error");
        if (rc == NW_OK)
            rc = nsm_put_text(out, error_names[resp->error]);
        break;
    }
    if (rc == NW_OK && out->len - start > NW_NSM_RESPONSE_MAX)
        rc = NW_ERR_TOO_LARGE;
    if (rc != NW_OK) {
        out->len = start;
        return nw_fail(err, rc, "NSM response %s: cannot encode (%s)", nsm_op_name(resp->op), nw_err_name(rc));
    }
    return NW_OK;
}


/* --- responses --------------------------------------------------------------- */

static const char *const document_fields[] = {"document"};
static const char *const random_fields[] = {"random"};
static const char *const describe_pcr_reply_fields[] = {"lock", "data"};

static enum nw_err read_response_field(struct nw_cbor *c, unsigned f, void *out, struct nw_error *err)
{
    struct nw_nsm_response *r = out;
    struct nw_cbor_item it;
    enum nw_err rc;

    if (r->op != NW_NSM_OP_DESCRIBE_PCR)
        return nsm_read_bytes(c, 0, &r->data, &r->len, err);
    if (f == 1) {
        if ((rc = nsm_read_bytes(c, 0, &r->data, &r->len, err)) != NW_OK)
            return rc;
        if (r->len > NW_NSM_PCR_DATA_MAX)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM reply: PCR value of %zu bytes exceeds %u", r->len,
                           NW_NSM_PCR_DATA_MAX);
        return NW_OK;
    }
    if ((rc = nw_cbor_read(c, &it, err)) != NW_OK)
        return rc;
    if (it.major != NW_CBOR_SIMPLE || (it.val != NW_CBOR_TRUE && it.val != NW_CBOR_FALSE))
        return nsm_malformed(err, "lock is not a bool", &it);
    r->lock = it.val == NW_CBOR_TRUE;
    return NW_OK;
}

static enum nw_err read_error_code(struct nw_cbor *c, struct nw_nsm_response *out, struct nw_error *err)
{
    struct nw_cbor_item it;
    enum nw_err rc = nw_cbor_read(c, &it, err);
    unsigned i;

    if (rc != NW_OK)
        return rc;
    for (i = 0; i < N_ERROR_NAMES; i++) {
        if (nsm_text_is(&it, error_names[i])) {
            out->error = (enum nw_nsm_error_code)i;
            return NW_OK;
        }
    }
    return nsm_malformed(err, "unknown error code", &it);
}

enum nw_err nw_nsm_response_decode(struct nw_nsm_response *out, const uint8_t *p, size_t len, struct nw_error *err)
{
    const char *const *fields = NULL;
    struct nw_cbor_item name;
    struct nw_cbor c;
    unsigned n_fields = 1, seen;
    int is_unit;
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    if (len > NW_NSM_RESPONSE_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "NSM reply of %zu bytes exceeds %u", len, NW_NSM_RESPONSE_MAX);
    nw_cbor_init(&c, p, len);
    if ((rc = nsm_read_variant(&c, &name, &is_unit, err)) != NW_OK)
        return rc;
    if (is_unit)
        return nsm_malformed(err, "unexpected unit variant", &name);
    if (nsm_text_is(&name, "Error")) {
        out->op = NW_NSM_OP_ERROR;
        rc = read_error_code(&c, out, err);
        return rc != NW_OK ? rc : nsm_finish(&c, err);
    }
    if (nsm_text_is(&name, "Attestation")) {
        out->op = NW_NSM_OP_ATTESTATION, fields = document_fields;
    } else if (nsm_text_is(&name, "GetRandom")) {
        out->op = NW_NSM_OP_GET_RANDOM, fields = random_fields;
    } else if (nsm_text_is(&name, "DescribePCR")) {
        out->op = NW_NSM_OP_DESCRIBE_PCR, fields = describe_pcr_reply_fields, n_fields = 2;
    } else {
        return nsm_malformed(err, "unsupported reply", &name);
    }
    if ((rc = nsm_read_fields(&c, fields, n_fields, read_response_field, out, &seen, err)) != NW_OK)
        return rc;
    if (seen != (1u << n_fields) - 1)
        return nsm_malformed(err, "reply lacks a field", &name);
    return nsm_finish(&c, err);
}

/* --- error replies ------------------------------------------------------------- */

/* What each code means (comments of ErrorCode in src/api/mod.rs). */
static const char *const error_meanings[] = {
    "no error",
    "input argument(s) invalid",
    "PCR index out of bounds",
    "the response does not correspond to the request",
    "PCR is read-only",
    "missing capabilities",
    "output buffer too small",
    "input too large",
    "internal error of the NSM",
};

enum nw_err nw_nsm_response_expect(const struct nw_nsm_response *resp, enum nw_nsm_op op, struct nw_error *err)
{
    enum nw_err code;

    if (resp->op == op)
        return NW_OK;
    if (resp->op != NW_NSM_OP_ERROR)
        return nw_fail(err, NW_ERR_INTERNAL, "NSM answered a %s request with %s", nsm_op_name(op), nsm_op_name(resp->op));
    if ((unsigned)resp->error >= N_ERROR_NAMES)
        return nw_fail(err, NW_ERR_INTERNAL, "NSM refused %s with an unknown error", nsm_op_name(op));
    switch (resp->error) {
    case NW_NSM_E_INPUT_TOO_LARGE: code = NW_ERR_TOO_LARGE; break;
    case NW_NSM_E_INVALID_ARGUMENT:
    case NW_NSM_E_INVALID_INDEX:
    case NW_NSM_E_READ_ONLY_INDEX:
    case NW_NSM_E_INVALID_OPERATION: code = NW_ERR_BAD_REQUEST; break;
    default: code = NW_ERR_UNAVAILABLE; break;
    }
    return nw_fail(err, code, "NSM refused %s: %s (%s)", nsm_op_name(op), error_names[resp->error],
                   error_meanings[resp->error]);
}
