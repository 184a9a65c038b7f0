/*
 * sigv4_internal.h - the pieces of AWS Signature Version 4 that sigv4.c
 * assembles, exposed for the unit tests, the test tools and the fuzz target
 * (not part of the public API).
 *
 * Canonical forms follow the AWS General Reference ("Create a canonical
 * request for Signature Version 4") as the published SigV4 test suite and
 * botocore's SigV4Auth apply them to services other than S3; docs/sigv4.md
 * lists every rule and the cases where clients disagree.
 */
#ifndef NITROWALLET_SIGV4_INTERNAL_H
#define NITROWALLET_SIGV4_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/sigv4.h"

/* Bounds on what is canonicalised (refused beyond, never truncated). */
#define NW_SIGV4_PATH_MAX 8192
#define NW_SIGV4_QUERY_MAX 8192
#define NW_SIGV4_QUERY_PARAMS_MAX 512
#define NW_SIGV4_HEADER_NAME_MAX 128
#define NW_SIGV4_HEADER_VALUE_MAX 8192
#define NW_SIGV4_HEADERS_TOTAL_MAX 32768
#define NW_SIGV4_CREQ_MAX (3 * NW_SIGV4_PATH_MAX + 3 * NW_SIGV4_QUERY_MAX + 2 * NW_SIGV4_HEADERS_TOTAL_MAX + 1024)
#define NW_SIGV4_AKID_MAX 128
#define NW_SIGV4_SCOPE_PART_MAX 32
#define NW_SIGV4_SECRET_MAX 256

/* Canonical URI: remove empty, "." and ".." segments (botocore's
 * remove_dot_segments, the suite's normalize-path cases), then percent-encode
 * every byte except RFC 3986 unreserved characters and '/'.  `path` is the
 * path as sent, so an escape already in it is encoded again ("%20" ->
 * "%2520"), which is what AWS expects of every service but S3. */
NW_MUST_CHECK enum nw_err nw_sigv4_canonical_uri(struct nw_buf *out, const char *path, size_t len,
                                                 struct nw_error *err);

/* Canonical query: split on '&' (empty parameters are dropped), name and
 * value at the first '=', each percent-decoded and re-encoded (unreserved
 * bytes kept, every other byte "%XX" uppercase; '+' is a literal plus),
 * sorted by encoded name, then encoded value, joined "n=v&n=v". */
NW_MUST_CHECK enum nw_err nw_sigv4_canonical_query(struct nw_buf *out, const char *query, size_t len,
                                                   struct nw_error *err);

/*
 * Canonical headers ("name:value\n" each) and the signed-headers list
 * ("a;b;c") for the headers whose lowercase name appears in `only` (a
 * ';'-separated list; NULL = every header).  Names are lowercased, values
 * trimmed and inner runs of spaces and tabs collapsed to one space, headers of
 * the same name joined with ',' in the order they came, sorted by name.
 */
NW_MUST_CHECK enum nw_err nw_sigv4_canonical_headers(struct nw_buf *out, struct nw_buf *signed_list,
                                                     const struct nw_http_header *h, size_t n, const char *only,
                                                     size_t only_len, struct nw_error *err);

/*
 * The whole canonical request (method, URI, query, headers, signed headers,
 * hashed payload), headers selected as in nw_sigv4_canonical_headers; the
 * signed-headers list also goes to `signed_list` (may be NULL).  The hashed
 * payload is the x-amz-content-sha256 value when the request has one (as
 * botocore does), else the SHA-256 of the body.
 */
NW_MUST_CHECK enum nw_err nw_sigv4_canonical_request(struct nw_buf *out, struct nw_buf *signed_list,
                                                     const struct nw_sigv4_request *req, const char *only,
                                                     size_t only_len, struct nw_error *err);

/* Case-insensitive lookup: the number of headers named `name` (lowercase)
 * and the first of them in *first (may be NULL). */
size_t nw_sigv4_find_header(const struct nw_sigv4_request *req, const char *name,
                            const struct nw_http_header **first);

/* Value with surrounding spaces/tabs removed. */
void nw_sigv4_trim(const char **v, size_t *len);

/* "YYYYMMDDTHHMMSSZ" (exactly 16 bytes) to seconds since the epoch. */
NW_MUST_CHECK enum nw_err nw_sigv4_parse_amz_date(time_t *out, const char *s, size_t len, struct nw_error *err);

/* A region or service name of the credential scope: 1..32 of [a-z0-9-]. */
int nw_sigv4_scope_part_ok(const char *s, size_t len);

/* An access key id: 1..128 of [A-Za-z0-9]. */
int nw_sigv4_akid_ok(const char *s, size_t len);

/* An Authorization header value, parsed; pointers are into the value. */
struct nw_sigv4_auth {
    const char *akid;
    size_t akid_len;
    const char *date; /* 8 digits */
    const char *region;
    size_t region_len;
    const char *service;
    size_t service_len;
    const char *signed_headers;
    size_t signed_headers_len;
    const char *signature; /* 64 lowercase hex digits */
};

/*
 * Strict parse of "AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/service/
 * aws4_request, SignedHeaders=a;b, Signature=<64 hex>": the three parts in
 * that order, separated by ',' and optional spaces, nothing after; the
 * signed-headers list lowercase, strictly ascending and at most
 * NW_SIGV4_MAX_HEADERS names.
 */
NW_MUST_CHECK enum nw_err nw_sigv4_parse_authorization(struct nw_sigv4_auth *out, const char *v, size_t len,
                                                       struct nw_error *err);

/* The single x-amz-date header of `req`, trimmed and checked: its text in
 * amz[17] and its time in *t. */
NW_MUST_CHECK enum nw_err nw_sigv4_get_amz_date(char amz[17], time_t *t, const struct nw_sigv4_request *req,
                                                struct nw_error *err);

/* "AWS4-HMAC-SHA256\n<amz>\n<YYYYMMDD>/<region>/<service>/aws4_request\n"
 * followed by the hex SHA-256 of the canonical request. */
NW_MUST_CHECK enum nw_err nw_sigv4_string_to_sign(struct nw_buf *sts, const char amz[16], const char *region,
                                                  size_t region_len, const char *service, size_t service_len,
                                                  const struct nw_buf *creq, struct nw_error *err);

/* hex(HMAC(kSigning, sts)) with kSigning = HMAC chain over "AWS4"+secret,
 * date8, region, service, "aws4_request".  Intermediate keys are wiped. */
NW_MUST_CHECK enum nw_err nw_sigv4_signature(char sig[65], const char *secret, const char *date8,
                                             const char *region, size_t region_len, const char *service,
                                             size_t service_len, const uint8_t *sts, size_t sts_len,
                                             struct nw_error *err);

/*
 * nw_sigv4_sign, also returning the canonical request and the string to sign
 * (each NUL-terminated; either may be NULL) for the test suite.
 */
NW_MUST_CHECK enum nw_err nw_sigv4_sign_debug(char *authorization, size_t cap, const struct nw_sigv4_request *req,
                                              const struct nw_aws_credentials *creds, const char *region,
                                              const char *service, struct nw_buf *creq, struct nw_buf *sts,
                                              struct nw_error *err);

#endif
