/*
 * sigv4.h - AWS Signature Version 4, header form, both directions.
 *
 * Signing (the enclave's KMS client, the host's AWS clients): the caller
 * passes every header it will send, including host, x-amz-date,
 * x-amz-content-sha256 and, with temporary credentials,
 * x-amz-security-token; all of them are signed.  Verification (the KMS
 * emulator) rebuilds the canonical request from what arrived and compares
 * in constant time.  Reference: AWS General Reference, "Create a signed AWS
 * API request" and the SigV4 test suite.
 */
#ifndef NITROWALLET_SIGV4_H
#define NITROWALLET_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nitrowallet/error.h"

#define NW_SIGV4_MAX_HEADERS 64
#define NW_SIGV4_AUTH_MAX 2048

struct nw_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct nw_sigv4_request {
    const char *method;       /* "POST" */
    const char *path;         /* as sent on the request line, e.g. "/" (already URI-encoded) */
    const char *query;        /* raw query string without '?', "" for none */
    const struct nw_http_header *headers;
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
};

struct nw_aws_credentials {
    const char *access_key_id;
    const char *secret_access_key; /* never logged; callers wipe their copies */
    const char *session_token;     /* NULL for long-term credentials */
};

/* Lowercase hex SHA-256 of the body, for x-amz-content-sha256. */
void nw_sigv4_payload_hash(char out[65], const uint8_t *body, size_t len);

/* "YYYYMMDDTHHMMSSZ" for a time. */
void nw_sigv4_amz_date(char out[17], time_t t);

/*
 * Compute the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=...") for `req`, whose headers must include
 * host and x-amz-date (the date of the credential scope is taken from it).
 */
NW_MUST_CHECK enum nw_err nw_sigv4_sign(char *authorization, size_t cap, const struct nw_sigv4_request *req,
                                        const struct nw_aws_credentials *creds, const char *region,
                                        const char *service, struct nw_error *err);

/* Look up the secret key for an access key id; NW_ERR_POLICY_DENIED if unknown. */
typedef enum nw_err (*nw_sigv4_lookup_fn)(void *ctx, const char *access_key_id, char *secret, size_t cap);

struct nw_sigv4_verified {
    char access_key_id[129];
    char region[33];
    char service[33];
    char amz_date[17];
};

/* Why a verification failed, so servers can answer in AWS's terms. */
enum nw_sigv4_failure {
    NW_SIGV4_OK = 0,
    NW_SIGV4_MISSING,        /* no Authorization / x-amz-date: MissingAuthenticationTokenException */
    NW_SIGV4_MALFORMED,      /* IncompleteSignatureException */
    NW_SIGV4_UNKNOWN_KEY,    /* UnrecognizedClientException */
    NW_SIGV4_BAD_SIGNATURE,  /* InvalidSignatureException */
    NW_SIGV4_EXPIRED,        /* InvalidSignatureException "Signature expired" */
};

/*
 * Verify the request's Authorization header (found among req->headers).
 * `now` and `max_skew_s` bound the x-amz-date (AWS allows 5 minutes);
 * `service` must match the credential scope.  On failure *why says which
 * AWS error applies and err->msg says exactly what did not match.
 */
NW_MUST_CHECK enum nw_err nw_sigv4_verify(struct nw_sigv4_verified *out, enum nw_sigv4_failure *why,
                                          const struct nw_sigv4_request *req, const char *service,
                                          nw_sigv4_lookup_fn lookup, void *lookup_ctx, time_t now,
                                          long max_skew_s, struct nw_error *err);

#endif
