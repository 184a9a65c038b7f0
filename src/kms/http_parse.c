/*
 * http_parse.c - one HTTP/1.1 request (RFC 9112) out of untrusted bytes,
 * for nitrowallet-kms.
 *
 * Deliberately narrow: origin-form targets, CRLF line endings only, no
 * obs-fold, no Transfer-Encoding (AWS SDKs send Content-Length for the
 * JSON protocols), at most NW_KMS_HTTP_MAX_HEADERS headers in
 * NW_KMS_HTTP_MAX_HEADER_BYTES, a body of at most NW_KMS_MAX_BODY bytes.
 * Headers that the service relies on (Host, Content-Length, Authorization,
 * X-Amz-*) may appear only once, so a request cannot carry one value to
 * the signature check and another to the operation.  Pure: no I/O, no
 * allocation; it is the fuzz target fuzz_kms_request's first stage.
 *
 * Trust boundary: the loopback socket.
 */
#include <string.h>
#include <strings.h>

#include "nitrowallet/kms_server.h"

static const char *const single_headers[] = {
    "host",         "content-length",       "transfer-encoding",    "authorization", "x-amz-date",
    "x-amz-target", "x-amz-security-token", "x-amz-content-sha256", "content-type",  "expect",
    NULL,
};

static enum nw_err refuse(int *status, int code, struct nw_error *err, const char *what)
{
    *status = code;
    return nw_fail(err, code == 413 || code == 431 ? NW_ERR_TOO_LARGE : NW_ERR_BAD_REQUEST, "HTTP request: %s", what);
}

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Offset just past "\r\n\r\n" within the first `len` bytes, or 0. */
static size_t find_header_end(const uint8_t *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* The line starting at `pos` ends with CRLF before `end`; no bare CR/LF. */
static int line_end(const uint8_t *buf, size_t pos, size_t end, size_t *eol)
{
    for (size_t i = pos; i < end; i++) {
        if (buf[i] == '\r')
            return i + 1 < end && buf[i + 1] == '\n' ? (*eol = i, 1) : 0;
        if (buf[i] == '\n')
            return 0;
    }
    return 0;
}

static enum nw_err request_line(struct nw_kms_http_request *req, const uint8_t *buf, size_t eol, int *status,
                                struct nw_error *err)
{
    size_t i = 0, m, t0, tlen, q;

    while (i < eol && buf[i] >= 'A' && buf[i] <= 'Z' && i < sizeof req->method - 1)
        i++;
    if (i == 0 || i >= eol || buf[i] != ' ')
        return refuse(status, 400, err, "malformed method");
    memcpy(req->method, buf, i);
    req->method[i] = '\0';
    m = ++i;
    t0 = m;
    while (i < eol && buf[i] > 0x20 && buf[i] < 0x7f)
        i++;
    tlen = i - t0;
    if (tlen == 0 || i >= eol || buf[i] != ' ')
        return refuse(status, 400, err, "malformed request target");
    if (tlen > NW_KMS_HTTP_MAX_TARGET)
        return refuse(status, 431, err, "request target too long");
    if (buf[t0] != '/' || memchr(buf + t0, '#', tlen) != NULL)
        return refuse(status, 400, err, "request target must be an absolute path");
    i++;
    if (eol - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0) {
        if (eol - i >= 5 && memcmp(buf + i, "HTTP/", 5) == 0)
            return refuse(status, 505, err, "unsupported HTTP version");
        return refuse(status, 400, err, "malformed HTTP version");
    }
    if (buf[i + 7] != '0' && buf[i + 7] != '1')
        return refuse(status, 505, err, "unsupported HTTP version");
    req->minor_version = buf[i + 7] - '0';
    for (q = 0; q < tlen && buf[t0 + q] != '?'; q++)
        ;
    memcpy(req->path, buf + t0, q);
    req->path[q] = '\0';
    if (q < tlen) {
        memcpy(req->query, buf + t0 + q + 1, tlen - q - 1);
        req->query[tlen - q - 1] = '\0';
    }
    return NW_OK;
}

static int name_is(const struct nw_http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Parse "name: value" in buf[pos..eol) into h. */
static enum nw_err header_line(struct nw_http_header *h, const uint8_t *buf, size_t pos, size_t eol, int *status,
                               struct nw_error *err)
{
    size_t i = pos, v, e;

    while (i < eol && is_tchar(buf[i]))
        i++;
    if (i == pos || i >= eol || buf[i] != ':')
        return refuse(status, 400, err, "malformed header field name");
    h->name = (const char *)buf + pos;
    h->name_len = i - pos;
    v = i + 1;
    while (v < eol && (buf[v] == ' ' || buf[v] == '\t'))
        v++;
    for (size_t j = v; j < eol; j++)
        if ((buf[j] < 0x20 && buf[j] != '\t') || buf[j] == 0x7f)
            return refuse(status, 400, err, "control character in a header value");
    e = eol;
    while (e > v && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
        e--;
    h->value = (const char *)buf + v;
    h->value_len = e - v;
    return NW_OK;
}

/* Does the comma-separated token list contain `token` (case-insensitive)? */
static int has_token(const struct nw_http_header *h, const char *token)
{
    size_t n = strlen(token), i = 0;

    while (i < h->value_len) {
        size_t s, e;
        while (i < h->value_len && (h->value[i] == ' ' || h->value[i] == '\t' || h->value[i] == ','))
            i++;
        s = i;
        while (i < h->value_len && h->value[i] != ',')
            i++;
        e = i;
        while (e > s && (h->value[e - 1] == ' ' || h->value[e - 1] == '\t'))
            e--;
        if (e - s == n && strncasecmp(h->value + s, token, n) == 0)
            return 1;
    }
    return 0;
}

static enum nw_err content_length(struct nw_kms_http_request *req, const struct nw_http_header *h, int *status,
                                  struct nw_error *err)
{
    size_t v = 0;

    if (h->value_len == 0)
        return refuse(status, 400, err, "empty Content-Length");
    for (size_t i = 0; i < h->value_len; i++) {
        if (h->value[i] < '0' || h->value[i] > '9')
            return refuse(status, 400, err, "malformed Content-Length");
        if (v > NW_KMS_MAX_BODY)
            break;
        v = v * 10 + (size_t)(h->value[i] - '0');
    }
    if (v > NW_KMS_MAX_BODY)
        return refuse(status, 413, err, "body larger than 64 KiB");
    req->content_length = v;
    return NW_OK;
}

/* Duplicates, framing and connection semantics of the parsed headers. */
static enum nw_err header_semantics(struct nw_kms_http_request *req, int *status, struct nw_error *err)
{
    size_t hosts = 0;

    req->keep_alive = req->minor_version == 1;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct nw_http_header *h = &req->headers[i];
        enum nw_err rc;
        for (size_t s = 0; single_headers[s] != NULL; s++)
            if (name_is(h, single_headers[s]))
                for (size_t j = i + 1; j < req->n_headers; j++)
                    if (name_is(&req->headers[j], single_headers[s]))
                        return refuse(status, 400, err, "a header that may appear once is repeated");
        if (name_is(h, "transfer-encoding"))
            return refuse(status, 501, err, "Transfer-Encoding is not supported; send Content-Length");
        if (name_is(h, "content-length") && (rc = content_length(req, h, status, err)) != NW_OK)
            return rc;
        if (name_is(h, "host"))
            hosts++;
        if (name_is(h, "connection")) {
            if (has_token(h, "close"))
                req->keep_alive = 0;
            else if (has_token(h, "keep-alive"))
                req->keep_alive = 1;
        }
        if (name_is(h, "expect")) {
            if (h->value_len != 12 || strncasecmp(h->value, "100-continue", 12) != 0)
                return refuse(status, 417, err, "unsupported Expect");
            req->expect_continue = 1;
        }
    }
    if (req->minor_version == 1 && hosts != 1)
        return refuse(status, 400, err, "HTTP/1.1 request without a Host header");
    return NW_OK;
}

enum nw_err nw_kms_http_parse(struct nw_kms_http_request *req, int *complete, int *status, const uint8_t *buf,
                              size_t len, struct nw_error *err)
{
    size_t scan = len < NW_KMS_HTTP_MAX_HEADER_BYTES ? len : NW_KMS_HTTP_MAX_HEADER_BYTES;
    size_t hdr_end = find_header_end(buf, scan), pos, eol;
    enum nw_err rc;

    memset(req, 0, sizeof *req);
    *complete = 0;
    *status = 0;
    if (hdr_end == 0) {
        if (len >= NW_KMS_HTTP_MAX_HEADER_BYTES)
            return refuse(status, 431, err, "request line and headers exceed 16 KiB");
        return NW_OK;
    }
    if (!line_end(buf, 0, hdr_end, &eol))
        return refuse(status, 400, err, "malformed request line");
    if ((rc = request_line(req, buf, eol, status, err)) != NW_OK)
        return rc;
    for (pos = eol + 2; pos < hdr_end - 2; pos = eol + 2) {
        if (!line_end(buf, pos, hdr_end, &eol))
            return refuse(status, 400, err, "bare CR or LF in the header section");
        if (buf[pos] == ' ' || buf[pos] == '\t')
            return refuse(status, 400, err, "obsolete line folding");
        if (req->n_headers == NW_KMS_HTTP_MAX_HEADERS)
            return refuse(status, 431, err, "too many header fields");
        if ((rc = header_line(&req->headers[req->n_headers], buf, pos, eol, status, err)) != NW_OK)
            return rc;
        req->n_headers++;
    }
    if ((rc = header_semantics(req, status, err)) != NW_OK)
        return rc;
    req->header_len = hdr_end;
    req->total_len = hdr_end + req->content_length;
    if (len < req->total_len)
        return NW_OK;
    req->body = buf + hdr_end;
    req->body_len = req->content_length;
    *complete = 1;
    return NW_OK;
}

const struct nw_http_header *nw_kms_http_header(const struct nw_kms_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (name_is(&req->headers[i], name))
            return &req->headers[i];
    return NULL;
}
