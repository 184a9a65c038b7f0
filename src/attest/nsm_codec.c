/*
 * nsm_codec.c - NSM requests and responses as CBOR (see nsm_codec.h): the
 * serde shapes both share.  Requests are nsm_codec_request.c, responses
 * nsm_codec_response.c.
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
 * reader).  These files do no I/O, so they are unit-tested and fuzzed as is.
 */
#include "nsm_codec_internal.h"

#include <string.h>

const char *nsm_op_name(enum nw_nsm_op op)
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

enum nw_err nsm_put_text(struct nw_buf *b, const char *s)
{
    return nw_cbor_put_text(b, s, strlen(s));
}

/* a1 <name> <map of n>: the head of a serde struct variant. */
enum nw_err nsm_put_struct_variant(struct nw_buf *b, const char *name, uint64_t n_fields)
{
    enum nw_err rc = nw_cbor_put_head(b, NW_CBOR_MAP, 1);
    if (rc == NW_OK)
        rc = nsm_put_text(b, name);
    if (rc == NW_OK)
        rc = nw_cbor_put_head(b, NW_CBOR_MAP, n_fields);
    return rc;
}

enum nw_err nsm_put_bytes_field(struct nw_buf *b, const char *field, const uint8_t *p, size_t n)
{
    enum nw_err rc = nsm_put_text(b, field);
    if (rc != NW_OK)
        return rc;
    if (p == NULL)
        return n == 0 ? nw_cbor_put_null(b) : NW_ERR_INTERNAL;
    return nw_cbor_put_bytes(b, p, n);
}

enum nw_err nsm_check_field_len(const char *field, size_t n, size_t max, struct nw_error *err)
{
    if (n > max)
        return nw_fail(err, NW_ERR_TOO_LARGE, "NSM request: %s of %zu bytes exceeds %zu", field, n, max);
    return NW_OK;
}

/* --- reading --------------------------------------------------------------- */

int nsm_text_is(const struct nw_cbor_item *it, const char *s)
{
    size_t n = strlen(s);
    return it->major == NW_CBOR_TEXT && it->val == n && memcmp(it->data, s, n) == 0;
}

enum nw_err nsm_malformed(struct nw_error *err, const char *what, const struct nw_cbor_item *it)
{
    return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM message: %s at offset %zu", what, it->offset);
}

/*
 * The outside of an externally tagged enum: either a text (a unit variant;
 * *is_unit = 1) or a map of exactly one pair whose text key names the
 * variant (the reader is left at the value).  `name` receives the text.
 */
enum nw_err nsm_read_variant(struct nw_cbor *c, struct nw_cbor_item *name, int *is_unit, struct nw_error *err)
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
        return nsm_malformed(err, "expected a variant name or a one-pair map", &it);
    if ((rc = nw_cbor_read(c, name, err)) != NW_OK)
        return rc;
    if (name->major != NW_CBOR_TEXT)
        return nsm_malformed(err, "variant name is not text", name);
    *is_unit = 0;
    return NW_OK;
}

/*
 * Walk the fields of a struct variant: for each text key that matches
 * fields[i], call `read_field(i)`; skip unknown keys' values; refuse
 * duplicates.  Returns the bitmask of fields seen in *seen.
 */
enum nw_err nsm_read_fields(struct nw_cbor *c, const char *const *fields, unsigned n_fields, nsm_field_reader read,
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
        return nsm_malformed(err, "variant fields are not a map", &it);
    for (i = 0; i < it.val; i++) {
        if ((rc = nw_cbor_read(c, &key, err)) != NW_OK)
            return rc;
        if (key.major != NW_CBOR_TEXT)
            return nsm_malformed(err, "field name is not text", &key);
        for (f = 0; f < n_fields && !nsm_text_is(&key, fields[f]); f++)
            ;
        if (f == n_fields) {
            if ((rc = nw_cbor_skip(c, err)) != NW_OK)
                return rc;
            continue;
        }
        if (*seen & (1u << f))
            return nsm_malformed(err, "duplicate field", &key);
        *seen |= 1u << f;
        if ((rc = read(c, f, out, err)) != NW_OK)
            return rc;
    }
    return NW_OK;
}

/* A byte string; with `nullable`, CBOR null gives (NULL, 0). */
enum nw_err nsm_read_bytes(struct nw_cbor *c, int nullable, const uint8_t **p, size_t *n, struct nw_error *err)
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
        return nsm_malformed(err, nullable ? "expected bytes or null" : "expected bytes", &it);
    *p = it.data;
    *n = (size_t)it.val;
    return NW_OK;
}

enum nw_err nsm_finish(const struct nw_cbor *c, struct nw_error *err)
{
    if (!nw_cbor_at_end(c))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM message: %zu trailing bytes", c->len - c->pos);
    return NW_OK;
}

