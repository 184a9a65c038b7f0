/*
 * http_client.h - a minimal HTTP/1.1 client over TLS on a socket we connect
 * ourselves, for AWS JSON APIs (KMS) from inside the enclave.
 *
 * Why not libcurl: inside the enclave the only way out is AF_VSOCK, and
 * handing curl 7.88 a pre-connected socket is broken (curl/curl#10626), so
 * the enclave connects (transport.h), runs TLS (tls.h) and speaks just
 * enough HTTP/1.1: POST with a Content-Length body, responses framed by
 * Content-Length or chunked transfer coding (or, failing both, by a clean
 * close), one keep-alive connection reused across requests.
 *
 * Responses are parsed by nw_http_response_parse(), a pure function over
 * bytes (fuzzed by fuzz/fuzz_http_response.c) with hard bounds on the status
 * line, each header line, the header count, the head size and the body.
 * Anything malformed is refused, never repaired (RFC 9112 message syntax;
 * obsolete line folding, bare CR or LF, duplicate or conflicting framing
 * headers and transfer codings other than chunked are all errors).
 */
#ifndef NITROWALLET_HTTP_CLIENT_H
#define NITROWALLET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/sigv4.h" /* struct nw_http_header */

#define NW_HTTP_MAX_BODY (256u * 1024u)  /* decoded response body */
#define NW_HTTP_MAX_LINE 8192u           /* status line, one header line */
#define NW_HTTP_MAX_HEADERS 100u         /* header fields (and trailers) per response */
#define NW_HTTP_MAX_HEAD (32u * 1024u)   /* status line + header section */
#define NW_HTTP_MAX_INTERIM 4u           /* 1xx responses skipped before the final one */
#define NW_HTTP_MAX_RAW (1024u * 1024u)  /* bytes read for one response, framing included */
#define NW_HTTP_MAX_REQUEST (1024u * 1024u)
#define NW_HTTP_ERROR_TYPE_MAX 128

struct nw_http_response {
    int status;                                /* 200..599 */
    int keep_alive;                            /* the connection may carry another request */
    char error_type[NW_HTTP_ERROR_TYPE_MAX];   /* x-amzn-ErrorType up to ':', "" if absent */
    struct nw_buf body;                        /* decoded body, at most NW_HTTP_MAX_BODY */
};

void nw_http_response_init(struct nw_http_response *r);
void nw_http_response_free(struct nw_http_response *r);

/*
 * Parse one response from the `len` bytes at `buf`; `eof` says that no more
 * bytes will arrive.  NW_OK with *complete = 1: `r` holds the final response
 * and *consumed the bytes it used.  NW_OK with *complete = 0: the bytes are
 * a valid prefix, call again with more (never when eof).  Otherwise
 * NW_ERR_BAD_REQUEST (malformed) or NW_ERR_TOO_LARGE (a bound), with the
 * reason.  `r` must have been initialised; its previous content is replaced.
 */
NW_MUST_CHECK enum nw_err nw_http_response_parse(struct nw_http_response *r, int *complete, size_t *consumed,
                                                 const uint8_t *buf, size_t len, int eof, struct nw_error *err);

struct nw_http_config {
    const char *host;    /* "name", "name:port" or "[v6]:port": the Host header; the name is the TLS
                            server name (SNI and certificate check) */
    const char *connect; /* transport.h spec; NULL = "tcp:<host>" with port 443 unless given */
    const char *ca_file; /* PEM bundle file; NULL = ca_pem, else the system CAs */
    int timeout_ms;      /* the whole of one post (connect, TLS, request, response; a retry
                          * included), however the peer paces its bytes; 0 =
                          * NW_TRANSPORT_DEFAULT_TIMEOUT_MS */
    const char *ca_pem;  /* PEM text of the CAs to trust when ca_file is NULL (the enclave's
                          * bundled roots, trust_roots.h); both NULL = the system CAs */
};

struct nw_http_client;

NW_MUST_CHECK enum nw_err nw_http_client_new(struct nw_http_client **out, const struct nw_http_config *cfg,
                                             struct nw_error *err);
void nw_http_client_free(struct nw_http_client *c);

/* The Host header value the caller must send (and sign): cfg->host. */
const char *nw_http_client_host(const struct nw_http_client *c);

/* Connections opened so far (tests and metrics: keep-alive reuse). */
unsigned long nw_http_client_connections(const struct nw_http_client *c);

/*
 * POST `body` to `path` with exactly the given headers (the caller includes
 * Host and whatever it signed) plus Content-Length, and read the response
 * into `resp` (initialised by the caller; any HTTP status is NW_OK here).
 * The connection is kept for the next request unless the server closes it;
 * if a request fails before any byte of the response arrived (e.g. the
 * server dropped an idle connection), it is sent once more on a new
 * connection.  Transport and TLS failures are NW_ERR_UNAVAILABLE; a
 * malformed response NW_ERR_BAD_REQUEST or NW_ERR_TOO_LARGE.  Header names
 * must be tokens and values printable (no CR/LF); Content-Length,
 * Transfer-Encoding and Connection are set here and refused from callers.
 */
NW_MUST_CHECK enum nw_err nw_http_client_post(struct nw_http_client *c, const char *path,
                                              const struct nw_http_header *headers, size_t n_headers,
                                              const uint8_t *body, size_t body_len, struct nw_http_response *resp,
                                              struct nw_error *err);

#endif
