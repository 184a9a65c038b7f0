/*
 * nsm_codec_internal.h - the serde-CBOR pieces NSM requests and responses
 * share (nsm_codec.c), for nsm_codec_request.c and nsm_codec_response.c;
 * not a public interface (that is include/nitrowallet/nsm_codec.h).
 *
 * Trust boundary: the readers here see what the device (or, for requests,
 * a test) returns; every length is checked by the CBOR reader.
 */
#ifndef NITROWALLET_NSM_CODEC_INTERNAL_H
#define NITROWALLET_NSM_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/cbor.h"
#include "nitrowallet/error.h"
#include "nitrowallet/nsm_codec.h"

/* The serde variant name of an operation ("Attestation", ...). */
const char *nsm_op_name(enum nw_nsm_op op);

/* ---- writing ---- */

NW_MUST_CHECK enum nw_err nsm_put_text(struct nw_buf *b, const char *s);
/* a1 <name> <map of n>: the head of a serde struct variant. */
NW_MUST_CHECK enum nw_err nsm_put_struct_variant(struct nw_buf *b, const char *name, uint64_t n_fields);
/* <field> <bytes>, or <field> null when p is NULL. */
NW_MUST_CHECK enum nw_err nsm_put_bytes_field(struct nw_buf *b, const char *field, const uint8_t *p, size_t n);
NW_MUST_CHECK enum nw_err nsm_check_field_len(const char *field, size_t n, size_t max, struct nw_error *err);

/* ---- reading ---- */

int nsm_text_is(const struct nw_cbor_item *it, const char *s);
/* NW_ERR_BAD_REQUEST naming what was wrong and where. */
NW_MUST_CHECK enum nw_err nsm_malformed(struct nw_error *err, const char *what, const struct nw_cbor_item *it);
/* The outside of an externally tagged enum: a unit variant's name (*is_unit
 * = 1) or a one-pair map whose text key names the variant (the reader is
 * left at the value). */
NW_MUST_CHECK enum nw_err nsm_read_variant(struct nw_cbor *c, struct nw_cbor_item *name, int *is_unit,
                                           struct nw_error *err);
/* Reads field number `field` of a struct variant into `out`. */
typedef enum nw_err (*nsm_field_reader)(struct nw_cbor *c, unsigned field, void *out, struct nw_error *err);
/* Walk a struct variant's fields: known ones through `read`, unknown ones
 * skipped, duplicates refused; *seen is the bitmask of fields found. */
NW_MUST_CHECK enum nw_err nsm_read_fields(struct nw_cbor *c, const char *const *fields, unsigned n_fields,
                                          nsm_field_reader read, void *out, unsigned *seen, struct nw_error *err);
/* A byte string; with `nullable`, CBOR null gives (NULL, 0). */
NW_MUST_CHECK enum nw_err nsm_read_bytes(struct nw_cbor *c, int nullable, const uint8_t **p, size_t *n,
                                         struct nw_error *err);
/* NW_ERR_BAD_REQUEST when bytes are left after the message. */
NW_MUST_CHECK enum nw_err nsm_finish(const struct nw_cbor *c, struct nw_error *err);

#endif
