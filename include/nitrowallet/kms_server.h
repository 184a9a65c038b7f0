/*
 * kms_server.h - nitrowallet-kms: a KMS for development and tests that
 * speaks AWS KMS's wire protocol (AWS JSON 1.1, X-Amz-Target
 * TrentService.<Operation>, SigV4) over HTTPS on loopback.
 *
 * Three layers, each usable on its own (tests and fuzzers use the first two
 * without any socket):
 *   - nw_kms_http_parse: one HTTP/1.1 request out of untrusted bytes,
 *     bounded (docs/kms.md lists the limits);
 *   - struct nw_kms_service: credentials, SigV4 verification, the key
 *     store in a state directory, key policies, attestation roots, and the
 *     operations; one parsed request in, one AWS-style reply out;
 *   - struct nw_kms_server: the loopback listener (TCP or unix socket), TLS
 *     with a locally generated CA, keep-alive, a thread per connection.
 *
 * Trust boundary: everything arriving on the socket is untrusted.  The
 * service holds the local master keys; it is never linked into the enclave.
 */
#ifndef NITROWALLET_KMS_SERVER_H
#define NITROWALLET_KMS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/sigv4.h"

/* --- HTTP/1.1 requests --------------------------------------------------- */

#define NW_KMS_HTTP_MAX_HEADERS NW_SIGV4_MAX_HEADERS
#define NW_KMS_HTTP_MAX_HEADER_BYTES (16u * 1024u) /* request line + headers + blank line */
#define NW_KMS_HTTP_MAX_TARGET 2048
#define NW_KMS_MAX_BODY (64u * 1024u)

struct nw_kms_http_request {
    char method[16];
    char path[NW_KMS_HTTP_MAX_TARGET + 1];                  /* NUL-terminated, before '?' */
    char query[NW_KMS_HTTP_MAX_TARGET + 1];                 /* after '?', "" for none */
    int minor_version;                                      /* HTTP/1.<minor_version> */
    struct nw_http_header headers[NW_KMS_HTTP_MAX_HEADERS]; /* point into the parsed buffer */
    size_t n_headers;
    size_t header_len;     /* bytes of request line, headers and blank line */
    size_t content_length; /* declared body length */
    const uint8_t *body;   /* points into the parsed buffer; valid when complete */
    size_t body_len;
    size_t total_len;    /* header_len + content_length: what this request consumes */
    int keep_alive;      /* the client allows the connection to stay open */
    int expect_continue; /* "Expect: 100-continue" */
};

/*
 * Parse the request at the start of buf[0..len).  Returns NW_OK with
 * *complete = 1 when the whole request (headers and body) is present, or
 * *complete = 0 when more bytes are needed (req->header_len is non-zero
 * once the headers are complete, so a server can answer 100-continue).
 * Failures return NW_ERR_BAD_REQUEST or NW_ERR_TOO_LARGE with the HTTP
 * status to answer in *status (400, 413, 431, 417, 501, 505) and the
 * reason in err; the connection must then be closed.
 */
NW_MUST_CHECK enum nw_err nw_kms_http_parse(struct nw_kms_http_request *req, int *complete, int *status,
                                            const uint8_t *buf, size_t len, struct nw_error *err);

/* The value of header `name` (case-insensitive), or NULL. */
const struct nw_http_header *nw_kms_http_header(const struct nw_kms_http_request *req, const char *name);

/* --- the service ---------------------------------------------------------- */

struct nw_kms_service_config {
    const char *state_dir;                /* keys, CA, generated credentials; NULL = keys in memory only
                                             (tests and fuzzing) */
    const char *region;                   /* "us-east-1" */
    const char *account_id;               /* 12 digits; "111122223333" by default */
    const char *credentials_file;         /* JSON list of {AccessKeyId, SecretAccessKey[, SessionToken]
                                             [, PrincipalArn]}; NULL = none */
    int use_env_credentials;              /* also accept AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY */
    const char *const *attestation_roots; /* PEM files, read at start */
    size_t n_attestation_roots;
    const char *dev_root_file;       /* used (re-read per request) when no attestation_roots are given;
                                        NULL = none */
    int trust_aws_root;              /* also trust the AWS Nitro Enclaves root */
    long max_skew_s;                 /* SigV4 clock skew; 0 = 300 */
    uint64_t max_attestation_age_ms; /* 0 = 5 minutes */
};

struct nw_kms_service;

/* Load (or create) the state, read the credentials and roots.  A corrupt
 * key file is an error naming the file: no key is ever dropped silently. */
NW_MUST_CHECK enum nw_err nw_kms_service_open(struct nw_kms_service **out, const struct nw_kms_service_config *cfg,
                                              struct nw_error *err);
void nw_kms_service_free(struct nw_kms_service *svc);

/* Where generated development credentials were written ("" if none). */
const char *nw_kms_service_credentials_path(const struct nw_kms_service *svc);

struct nw_kms_reply {
    int status;          /* HTTP status */
    struct nw_buf body;  /* JSON; may hold plaintext data keys: freed (wiped) by the caller */
    char request_id[37]; /* x-amzn-RequestId */
};

/* Answer one complete request: authenticate (SigV4), dispatch on
 * X-Amz-Target, fill `reply` (initialised here).  Never fails: every
 * problem becomes an AWS-style error reply. */
void nw_kms_service_handle(struct nw_kms_service *svc, const struct nw_kms_http_request *req, time_t now,
                           struct nw_kms_reply *reply);

/* --- the server ------------------------------------------------------------ */

struct nw_kms_listen {
    const char *address;      /* "127.0.0.1:PORT" (PORT 0 = any free port), "[::1]:PORT", "localhost:PORT"
                                 or "unix:/path" */
    int insecure_http;        /* plain HTTP instead of TLS */
    unsigned max_connections; /* 0 = 64 */
    unsigned idle_timeout_s;  /* 0 = 60 */
};

struct nw_kms_server;

/* Bind the listener (loopback only) and prepare TLS (the CA and server
 * certificate in the service's state directory, created on first use). */
NW_MUST_CHECK enum nw_err nw_kms_server_open(struct nw_kms_server **out, struct nw_kms_service *svc,
                                             const struct nw_kms_listen *listen, const char *state_dir,
                                             const char *region, struct nw_error *err);

/* "https://127.0.0.1:PORT" or "https+unix:/path" (http... with insecure_http). */
const char *nw_kms_server_url(const struct nw_kms_server *srv);

/* Accept and serve until nw_kms_server_stop(); then close every connection
 * and wait for their threads. */
NW_MUST_CHECK enum nw_err nw_kms_server_run(struct nw_kms_server *srv, struct nw_error *err);

/* Ask a running server to stop.  Async-signal-safe. */
void nw_kms_server_stop(struct nw_kms_server *srv);

void nw_kms_server_free(struct nw_kms_server *srv);

#endif
