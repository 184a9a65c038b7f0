/*
 * nsm_codec.c - NSM requests and responses as CBOR (see nsm_codec.h).
 *
 * Follows the serde data model of aws/aws-nitro-enclaves-nsm-api
 * src/api/mod.rs (Request, Response, ErrorCode) as serde_cbor 0.11 encodes
 * it by default (enum_as_map, not packed): a struct variant is
 * a1 <text variant> <map of n> (<text field> <value>)*, in declaration
 * order; a unit variant is its name as text; Option::None is f6.  Decoding
 * accepts what serde's derived deserializers accept from such input: fields
 * in any order, unknown fields skipped, duplicate fields refused, absent
 * Option fields taken as None; everything else (other enum encodings, tags,
 * trailing bytes, unknown variants or error codes) is refused.
 *
 * Trust boundary: the response decoder reads what the device returns; it
 * never allocates and never reads past `len` (lengths checked by the CBOR
 * reader).  This file does no I/O, so it is unit-tested and fuzzed as is.
 */
#include "nitrowallet/nsm_codec.h"

#include <string.h>

#include "nitrowallet/cbor.h"
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

static const char *op_name(enum nw_nsm_op op)
{
    switch (op) {
    case NW_NSM_OP_ATTESTATION: return "Attestation";
    case NW_NSM_OP_GET_RANDOM: return "GetRandom";
    case NW_NSM_OP_DESCRIBE_PCR: return "DescribePCR";
    case NW_NSM_OP_ERROR: return "Error";
    }
    return "?";
}

/* --- writing --------------------------------------------------------------- */

static enum nw_err put_text(struct nw_buf *b, const char *s)
{
    return nw_cbor_put_text(b, s, strlen(s));
}

/* a1 <name> <map of n>: the head of a serde struct variant. */
static enum nw_err put_struct_variant(struct nw_buf *b, const char *name, uint64_t n_fields)
{
    enum nw_err rc = nw_cbor_put_head(b, NW_CBOR_MAP, 1);
    if (rc == NW_OK)
        rc = put_text(b, name);
    if (rc == NW_OK)
        rc = nw_cbor_put_head(b, NW_CBOR_MAP, n_fields);
    return rc;
}

static enum nw_err put_bytes_field(struct nw_buf *b, const char *field, const uint8_t *p, size_t n)
{
    enum nw_err rc = put_text(b, field);
    if (rc != NW_OK)
        return rc;
    if (p == NULL)
        return n == 0 ? nw_cbor_put_null(b) : NW_ERR_INTERNAL;
    return nw_cbor_put_bytes(b, p, n);
}

static enum nw_err check_field_len(const char *field, size_t n, size_t max, struct nw_error *err)
{
    if (n > max)
        return nw_fail(err, NW_ERR_TOO_LARGE, "NSM request: %s of %zu bytes exceeds %zu", field, n, max);
    return NW_OK;
}

static enum nw_err encode_request_body(struct nw_buf *out, const struct nw_nsm_request *req)
{
    enum nw_err rc;

    switch (req->op) {
    case NW_NSM_OP_ATTESTATION:
        rc = put_struct_variant(out, "Attestation", 3);
        if (rc == NW_OK)
            rc = put_bytes_field(out, "user_data", req->user_data, req->user_data_len);
        if (rc == NW_OK)
            rc = put_bytes_field(out, "nonce", req->nonce, req->nonce_len);
        if (rc == NW_OK)
            rc = put_bytes_field(out, "public_key", req->public_key, req->public_key_len);
        return rc;
    case NW_NSM_OP_GET_RANDOM: return put_text(out, "GetRandom");
    case NW_NSM_OP_DESCRIBE_PCR:
        rc = put_struct_variant(out, "DescribePCR", 1);
        if (rc == NW_OK)
            rc = put_text(out, "index");
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
        if ((rc = check_field_len("user_data", req->user_data_len, NW_NSM_MAX_USER_DATA, err)) != NW_OK ||
            (rc = check_field_len("nonce", req->nonce_len, NW_NSM_MAX_NONCE, err)) != NW_OK ||
            (rc = check_field_len("public_key", req->public_key_len, NW_NSM_MAX_PUBLIC_KEY, err)) != NW_OK)
            return rc;
    }
    if (req->op == NW_NSM_OP_DESCRIBE_PCR && req->index > NW_NSM_MAX_PCR_INDEX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM request: PCR index %u out of range", req->index);
    rc = encode_request_body(out, req);
    if (rc == NW_OK && out->len - start > NW_NSM_REQUEST_MAX)
        rc = NW_ERR_TOO_LARGE;
    if (rc != NW_OK) {
        out->len = start;
        return nw_fail(err, rc, "NSM request %s: cannot encode (%s)", op_name(req->op), nw_err_name(rc));
    }
    return NW_OK;
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
        rc = put_struct_variant(out, op_name(resp->op), 1);
        if (rc == NW_OK)
            rc = put_text(out, resp->op == NW_NSM_OP_ATTESTATION ? "document" : "random");
        if (rc == NW_OK)
            rc = nw_cbor_put_bytes(out, resp->data, resp->len);
        break;
    case NW_NSM_OP_DESCRIBE_PCR:
        rc = put_struct_variant(out, "DescribePCR", 2);
        if (rc == NW_OK)
            rc = put_text(out, "lock");
        if (rc == NW_OK)
            rc = nw_cbor_put_head(out, NW_CBOR_SIMPLE, resp->lock ? NW_CBOR_TRUE : NW_CBOR_FALSE);
        if (rc == NW_OK)
            rc = put_text(out, "data");
        if (rc == NW_OK)
            rc = nw_cbor_put_bytes(out, resp->data, resp->len);
        break;
    case NW_NSM_OP_ERROR:
        if ((unsigned)resp->error >= N_ERROR_NAMES)
            break;
        rc = nw_cbor_put_head(out, NW_CBOR_MAP, 1);
        if (rc == NW_OK)
            rc = put_text(out, "Error");
        if (rc == NW_OK)
            rc = put_text(out, error_names[resp->error]);
        break;
    }
    if (rc == NW_OK && out->len - start > NW_NSM_RESPONSE_MAX)
        rc = NW_ERR_TOO_LARGE;
    if (rc != NW_OK) {
        out->len = start;
        return nw_fail(err, rc, "NSM response %s: cannot encode (%s)", op_name(resp->op), nw_err_name(rc));
    }
    return NW_OK;
}

/* --- reading --------------------------------------------------------------- */

static int text_is(const struct nw_cbor_item *it, const char *s)
{
    size_t n = strlen(s);
    return it->major == NW_CBOR_TEXT && it->val == n && memcmp(it->data, s, n) == 0;
}

static enum nw_err malformed(struct nw_error *err, const char *what, const struct nw_cbor_item *it)
{
    return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM message: %s at offset %zu", what, it->offset);
}

/*
 * The outside of an externally tagged enum: either a text (a unit variant;
 * *is_unit = 1) or a map of exactly one pair whose text key names the
 * variant (the reader is left at the value).  `name` receives the text.
 */
static enum nw_err read_variant(struct nw_cbor *c, struct nw_cbor_item *name, int *is_unit, struct nw_error *err)
{
    struct nw_cbor_item it;
    enum nw_err rc = nw_cbor_read(c, &it, err);

    if (rc != NW_OK)
        return rc;
    if (it.major == NW_CBOR_TEXT) {
        *name = it;
        *is_unit = 1;
        return NW_OK;
    }
    if (it.major != NW_CBOR_MAP || it.val != 1)
        return malformed(err, "expected a variant name or a one-pair map", &it);
    if ((rc = nw_cbor_read(c, name, err)) != NW_OK)
        return rc;
    if (name->major != NW_CBOR_TEXT)
        return malformed(err, "variant name is not text", name);
    *is_unit = 0;
    return NW_OK;
}

/*
 * Walk the fields of a struct variant: for each text key that matches
 * fields[i], call `read_field(i)`; skip unknown keys' values; refuse
 * duplicates.  Returns the bitmask of fields seen in *seen.
 */
typedef enum nw_err (*field_reader)(struct nw_cbor *c, unsigned field, void *out, struct nw_error *err);

static enum nw_err read_fields(struct nw_cbor *c, const char *const *fields, unsigned n_fields, field_reader read,
                               void *out, unsigned *seen, struct nw_error *err)
{
    struct nw_cbor_item it, key;
    enum nw_err rc;
    uint64_t i;
    unsigned f;

    *seen = 0;
    if ((rc = nw_cbor_read(c, &it, err)) != NW_OK)
        return rc;
    if (it.major != NW_CBOR_MAP)
        return malformed(err, "variant fields are not a map", &it);
    for (i = 0; i < it.val; i++) {
        if ((rc = nw_cbor_read(c, &key, err)) != NW_OK)
            return rc;
        if (key.major != NW_CBOR_TEXT)
            return malformed(err, "field name is not text", &key);
        for (f = 0; f < n_fields && !text_is(&key, fields[f]); f++)
            ;
        if (f == n_fields) {
            if ((rc = nw_cbor_skip(c, err)) != NW_OK)
                return rc;
            continue;
        }
        if (*seen & (1u << f))
            return malformed(err, "duplicate field", &key);
        *seen |= 1u << f;
        if ((rc = read(c, f, out, err)) != NW_OK)
            return rc;
    }
    return NW_OK;
}

/* A byte string; with `nullable`, CBOR null gives (NULL, 0). */
static enum nw_err read_bytes(struct nw_cbor *c, int nullable, const uint8_t **p, size_t *n, struct nw_error *err)
{
    struct nw_cbor_item it;
    enum nw_err rc = nw_cbor_read(c, &it, err);

    if (rc != NW_OK)
        return rc;
    if (nullable && it.major == NW_CBOR_SIMPLE && it.val == NW_CBOR_NULL) {
        *p = NULL;
        *n = 0;
        return NW_OK;
    }
    if (it.major != NW_CBOR_BYTES)
        return malformed(err, nullable ? "expected bytes or null" : "expected bytes", &it);
    *p = it.data;
    *n = (size_t)it.val;
    return NW_OK;
}

static enum nw_err finish(const struct nw_cbor *c, struct nw_error *err)
{
    if (!nw_cbor_at_end(c))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM message: %zu trailing bytes", c->len - c->pos);
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
            return malformed(err, "PCR index is not a u16", &it);
        r->index = (unsigned)it.val;
        return NW_OK;
    }
    if ((rc = read_bytes(c, 1, p, n, err)) != NW_OK)
        return rc;
    /* The three limits are the same (nsm.h, attestation_process.md 2.2). */
    return check_field_len(attestation_fields[f], *n, NW_NSM_MAX_USER_DATA, err);
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
    if ((rc = read_variant(&c, &name, &is_unit, err)) != NW_OK)
        return rc;
    if (is_unit && text_is(&name, "GetRandom")) {
        out->op = NW_NSM_OP_GET_RANDOM;
    } else if (!is_unit && text_is(&name, "Attestation")) {
        out->op = NW_NSM_OP_ATTESTATION;
        rc = read_fields(&c, attestation_fields, 3, read_request_field, out, &seen, err);
    } else if (!is_unit && text_is(&name, "DescribePCR")) {
        out->op = NW_NSM_OP_DESCRIBE_PCR;
        rc = read_fields(&c, describe_pcr_fields, 1, read_request_field, out, &seen, err);
        if (rc == NW_OK && seen != 1)
            rc = malformed(err, "DescribePCR without index", &name);
    } else {
        rc = malformed(err, "unsupported request", &name);
    }
    return rc != NW_OK ? rc : finish(&c, err);
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
        return read_bytes(c, 0, &r->data, &r->len, err);
    if (f == 1) {
        if ((rc = read_bytes(c, 0, &r->data, &r->len, err)) != NW_OK)
            return rc;
        if (r->len > NW_NSM_PCR_DATA_MAX)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM reply: PCR value of %zu bytes exceeds %u", r->len,
                           NW_NSM_PCR_DATA_MAX);
        return NW_OK;
    }
    if ((rc = nw_cbor_read(c, &it, err)) != NW_OK)
        return rc;
    if (it.major != NW_CBOR_SIMPLE || (it.val != NW_CBOR_TRUE && it.val != NW_CBOR_FALSE))
        return malformed(err, "lock is not a bool", &it);
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
        if (text_is(&it, error_names[i])) {
            out->error = (enum nw_nsm_error_code)i;
            return NW_OK;
        }
    }
    return malformed(err, "unknown error code", &it);
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
    if ((rc = read_variant(&c, &name, &is_unit, err)) != NW_OK)
        return rc;
    if (is_unit)
        return malformed(err, "unexpected unit variant", &name);
    if (text_is(&name, "Error")) {
        out->op = NW_NSM_OP_ERROR;
        rc = read_error_code(&c, out, err);
        return rc != NW_OK ? rc : finish(&c, err);
    }
    if (text_is(&name, "Attestation")) {
        out->op = NW_NSM_OP_ATTESTATION, fields = document_fields;
    } else if (text_is(&name, "GetRandom")) {
        out->op = NW_NSM_OP_GET_RANDOM, fields = random_fields;
    } else if (text_is(&name, "DescribePCR")) {
        out->op = NW_NSM_OP_DESCRIBE_PCR, fields = describe_pcr_reply_fields, n_fields = 2;
    } else {
        return malformed(err, "unsupported reply", &name);
    }
    if ((rc = read_fields(&c, fields, n_fields, read_response_field, out, &seen, err)) != NW_OK)
        return rc;
    if (seen != (1u << n_fields) - 1)
        return malformed(err, "reply lacks a field", &name);
    return finish(&c, err);
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
        return nw_fail(err, NW_ERR_INTERNAL, "NSM answered a %s request with %s", op_name(op), op_name(resp->op));
    if ((unsigned)resp->error >= N_ERROR_NAMES)
        return nw_fail(err, NW_ERR_INTERNAL, "NSM refused %s with an unknown error", op_name(op));
    switch (resp->error) {
    case NW_NSM_E_INPUT_TOO_LARGE: code = NW_ERR_TOO_LARGE; break;
    case NW_NSM_E_INVALID_ARGUMENT:
    case NW_NSM_E_INVALID_INDEX:
    case NW_NSM_E_READ_ONLY_INDEX:
    case NW_NSM_E_INVALID_OPERATION: code = NW_ERR_BAD_REQUEST; break;
    default: code = NW_ERR_UNAVAILABLE; break;
    }
    return nw_fail(err, code, "NSM refused %s: %s (%s)", op_name(op), error_names[resp->error],
                   error_meanings[resp->error]);
}
