/*
 * nsm_codec.h - the Nitro Secure Module's messages: requests and responses
 * as CBOR, encoded and decoded by pure functions (no device needed).
 *
 * The NSM speaks the serde encoding of the Request and Response enums of
 * aws/aws-nitro-enclaves-nsm-api (src/api/mod.rs) as serde_cbor 0.11 writes
 * them: externally tagged, struct variants as a one-pair map
 * {"Variant": {"field": value, ...}} with text field names in declaration
 * order, unit variants as a bare text string ("GetRandom"), Option::None as
 * null, byte buffers as CBOR byte strings.  Requests are at most 0x1000
 * bytes, responses at most 0x3000 (NSM_REQUEST_MAX_SIZE /
 * NSM_RESPONSE_MAX_SIZE in src/driver/mod.rs and the kernel's
 * include/uapi/linux/nsm.h).
 *
 * Trust boundary: response decoding reads the device's reply (in the
 * emulated NSM, request decoding reads our own encoder's output); both are
 * bounded and refuse malformed input.  Decoded byte strings point into the
 * caller's input buffer.
 */
#ifndef NITROWALLET_NSM_CODEC_H
#define NITROWALLET_NSM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"

#define NW_NSM_REQUEST_MAX 0x1000u
#define NW_NSM_RESPONSE_MAX 0x3000u
#define NW_NSM_MAX_PCR_INDEX 0xffffu /* the index is a u16 in the API */
#define NW_NSM_PCR_DATA_MAX 64u      /* SHA-512 banks; SHA-384 PCRs are 48 bytes */

enum nw_nsm_op {
    NW_NSM_OP_ATTESTATION = 1,
    NW_NSM_OP_GET_RANDOM = 2,
    NW_NSM_OP_DESCRIBE_PCR = 3,
    NW_NSM_OP_ERROR = 4, /* responses only */
};

/* The ErrorCode enum of src/api/mod.rs, in its declaration order. */
enum nw_nsm_error_code {
    NW_NSM_E_SUCCESS = 0,
    NW_NSM_E_INVALID_ARGUMENT,
    NW_NSM_E_INVALID_INDEX,
    NW_NSM_E_INVALID_RESPONSE,
    NW_NSM_E_READ_ONLY_INDEX,
    NW_NSM_E_INVALID_OPERATION,
    NW_NSM_E_BUFFER_TOO_SMALL,
    NW_NSM_E_INPUT_TOO_LARGE,
    NW_NSM_E_INTERNAL_ERROR,
};

struct nw_nsm_request {
    enum nw_nsm_op op;
    /* Attestation: each NULL = absent (null), at most 1024 bytes. */
    const uint8_t *user_data;
    size_t user_data_len;
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *public_key;
    size_t public_key_len;
    /* DescribePCR */
    unsigned index;
};

struct nw_nsm_response {
    enum nw_nsm_op op;
    /* Attestation: the document; GetRandom: the bytes; DescribePCR: the value. */
    const uint8_t *data;
    size_t len;
    int lock;                     /* DescribePCR */
    enum nw_nsm_error_code error; /* Error */
};

/* Append the CBOR of `req` to `out`; refuses fields over their bounds and
 * an encoding over NW_NSM_REQUEST_MAX. */
NW_MUST_CHECK enum nw_err nw_nsm_request_encode(struct nw_buf *out, const struct nw_nsm_request *req,
                                                struct nw_error *err);

/* Decode one complete request (trailing bytes refused). */
NW_MUST_CHECK enum nw_err nw_nsm_request_decode(struct nw_nsm_request *out, const uint8_t *p, size_t len,
                                                struct nw_error *err);

/* Append the CBOR of `resp` to `out`. */
NW_MUST_CHECK enum nw_err nw_nsm_response_encode(struct nw_buf *out, const struct nw_nsm_response *resp,
                                                 struct nw_error *err);

/* Decode one complete response (at most NW_NSM_RESPONSE_MAX bytes;
 * trailing bytes, unknown variants and unknown error codes refused; unknown
 * fields skipped and duplicate fields refused, as serde does). */
NW_MUST_CHECK enum nw_err nw_nsm_response_decode(struct nw_nsm_response *out, const uint8_t *p, size_t len,
                                                 struct nw_error *err);

/* The serde name of an error code ("InvalidIndex"); "?" if out of range. */
const char *nw_nsm_error_name(enum nw_nsm_error_code code);

/*
 * Check that `resp` answers a request for `op`.  An Error reply becomes
 * NW_ERR_TOO_LARGE (InputTooLarge), NW_ERR_BAD_REQUEST (InvalidArgument,
 * InvalidIndex, ReadOnlyIndex, InvalidOperation) or NW_ERR_UNAVAILABLE (the
 * others) with the message "NSM refused <op>: <Code> (<meaning>)"; a reply
 * of another kind is NW_ERR_INTERNAL.
 */
NW_MUST_CHECK enum nw_err nw_nsm_response_expect(const struct nw_nsm_response *resp, enum nw_nsm_op op,
                                                 struct nw_error *err);

#endif
