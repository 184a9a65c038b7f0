/*
 * error.h - the one error type of nitrowallet.
 *
 * Every fallible function returns an `enum nw_err` and is marked
 * NW_MUST_CHECK.  The numeric values are stable: they are never renumbered,
 * new codes are appended.  Each code has a stable name that is also the
 * error code of the host <-> enclave protocol (design section 4) and maps to
 * one HTTP status.  A `struct nw_error` carries the code plus a short,
 * human-readable message; messages name fields, lengths and positions, and
 * never contain secret material or raw request bodies.
 */
#ifndef NITROWALLET_ERROR_H
#define NITROWALLET_ERROR_H

#include <stddef.h>

#define NW_MUST_CHECK __attribute__((warn_unused_result))

enum nw_err {
    NW_OK = 0,
    NW_ERR_BAD_REQUEST = 1,    /* malformed or out-of-range input */
    NW_ERR_POLICY_DENIED = 2,  /* well-formed but refused by policy */
    NW_ERR_SEAL_INVALID = 3,   /* sealed blob failed authentication */
    NW_ERR_KMS_UNAVAILABLE = 4,
    NW_ERR_KMS_DENIED = 5,
    NW_ERR_NOMEM = 6,          /* allocation or memory locking failed */
    NW_ERR_TOO_LARGE = 7,      /* input exceeds a documented bound */
    NW_ERR_KEY_INVALID = 8,    /* scalar out of range: draw new entropy */
    NW_ERR_INTERNAL = 9,
    NW_ERR_RANDOM = 10,        /* the entropy source failed */
    NW_ERR_ATTESTATION = 11,   /* attestation document invalid or not as expected */
    NW_ERR_UNAVAILABLE = 12,   /* a peer or device could not be reached (not a denial) */
};

#define NW_ERROR_MSG_MAX 200

struct nw_error {
    enum nw_err code;
    char msg[NW_ERROR_MSG_MAX];
};

/* Stable protocol name of a code, e.g. "BAD_REQUEST".  Never NULL. */
const char *nw_err_name(enum nw_err code);

/* HTTP status a code maps to (400, 403, 422, 503, 500, ...). */
int nw_err_http_status(enum nw_err code);

/*
 * Record `code` and a printf-style message in `err` (which may be NULL) and
 * return `code`, so that a failure reads `return nw_fail(err, ..., "...")`.
 * The message is truncated to NW_ERROR_MSG_MAX - 1 bytes.
 */
enum nw_err nw_fail(struct nw_error *err, enum nw_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in `err` with "prefix: " (for field context). */
void nw_error_prefix(struct nw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Evaluate a call returning enum nw_err; on failure store it in `rc` and
 * jump to the function's single `out:` label.  Used where resources are held. */
#define NW_GUARD(expr)                  \
    do {                                \
        rc = (expr);                    \
        if (rc != NW_OK) goto out;      \
    } while (0)

#endif
