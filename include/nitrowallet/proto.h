/*
 * proto.h - the host <-> enclave wire protocol (design §4, docs/protocol.md):
 * frames, the JSON request/response envelope, the operation names and the
 * error codes.  The one module both sides of the trust boundary link:
 * the enclave parses requests and builds replies with it, the host builds
 * requests and parses replies with it.
 *
 * Trust boundary: whoever reads a frame does not trust its sender.  The
 * enclave reads what the untrusted host sends; the host reads what an
 * enclave endpoint (or anything listening there) answers.  Every length is
 * checked before anything is allocated, JSON goes through nw_json_parse, and
 * request text (it carries AWS credentials) is built and freed wiped.
 */
#ifndef NITROWALLET_PROTO_H
#define NITROWALLET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"

#define NW_PROTO_VERSION 1
#define NW_PROTO_MAX_FRAME (1024u * 1024u) /* bytes of JSON in one frame */
#define NW_PROTO_MAX_OP 32
#define NW_PROTO_MAX_ID_STRING 128
/* The error code of a full queue (not an enum nw_err: it is the server's). */
#define NW_PROTO_BUSY "BUSY"

/* ---- operation names ---- */
#define NW_OP_HEALTH "health"
#define NW_OP_ATTESTATION "attestation"
#define NW_OP_GENERATE_ACCOUNT "generate_account"
#define NW_OP_SIGN_TRANSACTION "sign_transaction"
#define NW_OP_SIGN_MESSAGE "sign_message"
#define NW_OP_SIGN_TYPED_DATA "sign_typed_data"
#define NW_OP_SIGN_DIGEST "sign_digest"
#define NW_OP_PROVE_ACCOUNT "prove_account"

/* ---- framing: 4-byte big-endian length, then that many bytes of JSON ---- */

/* Length from a frame header; NW_ERR_TOO_LARGE over NW_PROTO_MAX_FRAME,
 * NW_ERR_BAD_REQUEST for an empty frame. */
NW_MUST_CHECK enum nw_err nw_proto_frame_length(size_t *len, const uint8_t hdr[4], struct nw_error *err);

/* Read one frame into `out` (reset first).  NW_ERR_UNAVAILABLE on a clean
 * end of stream before a header (`*eof` set), on I/O errors and truncation;
 * the header's own errors as nw_proto_frame_length (the payload is then
 * not read: framing is lost and the caller replies and closes). */
NW_MUST_CHECK enum nw_err nw_proto_frame_read(int fd, struct nw_buf *out, int *eof, struct nw_error *err);

/* Write one frame (payload of at most NW_PROTO_MAX_FRAME bytes). */
NW_MUST_CHECK enum nw_err nw_proto_frame_write(int fd, const uint8_t *p, size_t len, struct nw_error *err);

/* ---- requests: {"v":1,"id":...,"op":"...","params":{...}} ---- */

struct nw_proto_request {
    cJSON *root;          /* owned; release with nw_proto_request_free */
    const cJSON *id;      /* string or integer, echoed verbatim */
    char op[NW_PROTO_MAX_OP + 1];
    const cJSON *params;  /* an object */
};

/* Enclave side.  Parse and check a request.  On failure req->id is still set
 * when an id could be read (so the error can echo it); call
 * nw_proto_request_free on success and failure alike. */
NW_MUST_CHECK enum nw_err nw_proto_request_parse(struct nw_proto_request *req, const uint8_t *p, size_t len,
                                                 struct nw_error *err);

/* Wipe every string in the tree (credentials among them) and free it. */
void nw_proto_request_free(struct nw_proto_request *req);

/* Enclave side, without parsing the frame: the id of a request that starts
 * exactly as nw_proto_request_build writes one, {"v":1,"id":ID, with ID an
 * integer of at most 16 digits or a string of 1..NW_PROTO_MAX_ID_STRING
 * printable characters (no quote or backslash).  Reads at most the first
 * 160 bytes, so a BUSY answer costs the same for a 1 MiB request as for a
 * small one.  *id is NULL when the frame does not start so (the reply then
 * carries a null id); NW_ERR_NOMEM only when the id cannot be allocated. */
NW_MUST_CHECK enum nw_err nw_proto_request_peek_id(cJSON **id, const uint8_t *p, size_t len);

/* The AWS credentials a request carries as params.credentials (borrowed). */
struct nw_proto_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* "" or NULL when there is none */
};

/* Host side.  The text of a request with integer id `id`, operation `op`
 * and a copy of `params` (an object), with params.credentials added when
 * `creds` is not NULL.  Every copy of the credentials made on the way is
 * wiped; release `*text` with nw_proto_text_free. */
NW_MUST_CHECK enum nw_err nw_proto_request_build(char **text, unsigned long long id, const char *op,
                                                 const cJSON *params, const struct nw_proto_credentials *creds,
                                                 struct nw_error *err);

/* Wipe and free a text from nw_proto_request_build (NULL is fine). */
void nw_proto_text_free(char *text);

/* ---- replies: {"id":...,"result":{...}} or {"id":...,"error":{"code","message"}} ---- */

/* Enclave side.  Serialise a result reply into `out` (reset first); `id`
 * may be NULL (sent as null).  `result` is not consumed. */
NW_MUST_CHECK enum nw_err nw_proto_reply_result(struct nw_buf *out, const cJSON *id, const cJSON *result);

/* Enclave side.  Serialise an error reply. */
NW_MUST_CHECK enum nw_err nw_proto_reply_error(struct nw_buf *out, const cJSON *id, const char *code,
                                               const char *message);

/* Host side.  Parse the reply to the request with integer id `id`.  A result
 * is detached into *result (the caller deletes it).  An error reply fails
 * with the code's enum nw_err (nw_proto_error_code) and the enclave's
 * message; *busy is set when the code is NW_PROTO_BUSY.  A reply whose id
 * is null (the enclave could not read the request) or another request's is
 * NW_ERR_INTERNAL. */
NW_MUST_CHECK enum nw_err nw_proto_reply_parse(const uint8_t *p, size_t len, unsigned long long id, cJSON **result,
                                               int *busy, struct nw_error *err);

/* ---- error codes ---- */

/* The enum nw_err an error code names (nw_err_name's inverse); NW_PROTO_BUSY
 * is NW_ERR_UNAVAILABLE; an unknown code is NW_ERR_INTERNAL. */
enum nw_err nw_proto_error_code(const char *code);

#endif
