/*
 * http_response.c - a strict, bounded HTTP/1.1 response parser (RFC 9112
 * message syntax, RFC 9110 semantics for framing), a pure function over the
 * bytes received so far (see http_client.h).
 *
 * Trust boundary: the bytes come from the TLS peer (KMS, or whatever the
 * configured endpoint is) and are untrusted.  Every line is CRLF-terminated
 * and bounded before it is examined; counts and sizes are checked before
 * they are added; anything outside the grammar is refused, never repaired.
 * The caller re-runs the parser on the growing buffer until it reports a
 * complete response, so no state survives between calls.
 */
#include "nitrowallet/http_client.h"

#include <string.h>
#include <strings.h>

struct cur {
    const uint8_t *p;
    size_t len;
    size_t pos;
    size_t head;      /* head bytes (status line + fields) of the current response */
    unsigned fields;  /* header fields seen in the current response */
    int eof;
};

/* Result of reading a line: got one, need more bytes, or error (set). */
enum step { STEP_OK, STEP_MORE, STEP_ERR };

static enum step more(const struct cur *c, enum nw_err *rc, struct nw_error *err)
{
    if (!c->eof)
        return STEP_MORE;
    *rc = nw_fail(err, NW_ERR_BAD_REQUEST, "http: connection closed in the middle of the response");
    return STEP_ERR;
}

/* One CRLF-terminated line of at most `max` bytes (CRLF excluded). */
static enum step line(struct cur *c, size_t max, const uint8_t **l, size_t *n, enum nw_err *rc,
                      struct nw_error *err)
{
    size_t avail = c->len - c->pos, scan = avail < max + 2 ? avail : max + 2;
    const uint8_t *start = c->p + c->pos, *lf = memchr(start, '\n', scan);

    if (lf == NULL) {
        if (scan == max + 2) {
            *rc = nw_fail(err, NW_ERR_TOO_LARGE, "http: line longer than %zu bytes", max);
            return STEP_ERR;
        }
        return more(c, rc, err);
    }
    if (lf == start || lf[-1] != '\r') {
        *rc = nw_fail(err, NW_ERR_BAD_REQUEST, "http: line not terminated by CRLF");
        return STEP_ERR;
    }
    *l = start;
    *n = (size_t)(lf - start) - 1;
    c->pos += *n + 2;
    return STEP_OK;
}

static int is_tchar(uint8_t ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* field-vchar / SP / HTAB (obs-text allowed, as RFC 9110 section 5.5). */
static int is_text(uint8_t ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int all_text(const uint8_t *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!is_text(s[i]))
            return 0;
    return 1;
}

static enum nw_err status_line(struct nw_http_response *r, int *http10, const uint8_t *l, size_t n,
                               struct nw_error *err)
{
    int s;

    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: not an HTTP/1.x status line");
    if (l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed status code");
    if (n > 12 && (l[12] != ' ' || !all_text(l + 13, n - 13)))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed reason phrase");
    s = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    r->status = s;
    *http10 = l[7] == '0';
    return NW_OK;
}

/* What the header section says about framing and the connection. */
struct framing {
    int chunked;
    int has_length;
    size_t length;
    int close;
    int keep_alive;
};

static int token_eq(const uint8_t *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp((const char *)s, word, n) == 0;
}

/* Connection: a comma-separated list of tokens (RFC 9110 section 7.6.1). */
static void connection_options(struct framing *f, const uint8_t *v, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t s, e;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (token_eq(v + s, e - s, "close"))
            f->close = 1;
        else if (token_eq(v + s, e - s, "keep-alive"))
            f->keep_alive = 1;
    }
}

static enum nw_err content_length(struct framing *f, const uint8_t *v, size_t n, struct nw_error *err)
{
    size_t i, len = 0;

    if (f->has_length)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: more than one Content-Length");
    if (n == 0 || n > 10)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed Content-Length");
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed Content-Length");
        len = len * 10 + (size_t)(v[i] - '0');
    }
    if (len > NW_HTTP_MAX_BODY)
        return nw_fail(err, NW_ERR_TOO_LARGE, "http: body of %zu bytes exceeds %u", len, NW_HTTP_MAX_BODY);
    f->has_length = 1;
    f->length = len;
    return NW_OK;
}

/* x-amzn-ErrorType: "Type" or "Type:uri"; kept only if it fits. */
static void error_type(struct nw_http_response *r, const uint8_t *v, size_t n)
{
    const uint8_t *colon = memchr(v, ':', n);
    size_t t = colon ? (size_t)(colon - v) : n;

    if (t < sizeof r->error_type) {
        memcpy(r->error_type, v, t);
        r->error_type[t] = '\0';
    }
}

/* One header field line; `f` NULL for trailer fields (checked, ignored). */
static enum nw_err field(struct nw_http_response *r, struct framing *f, const uint8_t *l, size_t n,
                         struct nw_error *err)
{
    size_t name = 0, vs, ve;

    while (name < n && is_tchar(l[name]))
        name++;
    if (name == 0 || name == n || l[name] != ':')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed header field (or obsolete line folding)");
    vs = name + 1;
    while (vs < n && (l[vs] == ' ' || l[vs] == '\t'))
        vs++;
    ve = n;
    while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
        ve--;
    if (!all_text(l + vs, ve - vs))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: control character in a header value");
    if (f == NULL)
        return NW_OK;
    if (token_eq(l, name, "content-length"))
        return content_length(f, l + vs, ve - vs, err);
    if (token_eq(l, name, "transfer-encoding")) {
        if (f->chunked || !token_eq(l + vs, ve - vs, "chunked"))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: unsupported Transfer-Encoding (only chunked)");
        f->chunked = 1;
    } else if (token_eq(l, name, "connection")) {
        connection_options(f, l + vs, ve - vs);
    } else if (token_eq(l, name, "x-amzn-errortype")) {
        error_type(r, l + vs, ve - vs);
    }
    return NW_OK;
}

/* Header (or trailer) fields up to the empty line, within the bounds. */
static enum step fields(struct cur *c, struct nw_http_response *r, struct framing *f, enum nw_err *rc,
                        struct nw_error *err)
{
    for (;;) {
        const uint8_t *l;
        size_t n;
        enum step s = line(c, NW_HTTP_MAX_LINE, &l, &n, rc, err);
        if (s != STEP_OK)
            return s;
        c->head += n + 2;
        if (c->head > NW_HTTP_MAX_HEAD) {
            *rc = nw_fail(err, NW_ERR_TOO_LARGE, "http: header section exceeds %u bytes", NW_HTTP_MAX_HEAD);
            return STEP_ERR;
        }
        if (n == 0)
            return STEP_OK;
        if (++c->fields > NW_HTTP_MAX_HEADERS) {
            *rc = nw_fail(err, NW_ERR_TOO_LARGE, "http: more than %u header fields", NW_HTTP_MAX_HEADERS);
            return STEP_ERR;
        }
        *rc = field(r, f, l, n, err);
        if (*rc != NW_OK)
            return STEP_ERR;
    }
}

static enum step body_bytes(struct cur *c, struct nw_http_response *r, size_t n, enum nw_err *rc,
                            struct nw_error *err)
{
    if (c->len - c->pos < n)
        return more(c, rc, err);
    *rc = nw_buf_append(&r->body, c->p + c->pos, n);
    if (*rc != NW_OK) {
        *rc = nw_fail(err, *rc, "http: body exceeds %u bytes", NW_HTTP_MAX_BODY);
        return STEP_ERR;
    }
    c->pos += n;
    return STEP_OK;
}

/* The CRLF that ends a chunk's data. */
static enum step crlf(struct cur *c, enum nw_err *rc, struct nw_error *err)
{
    size_t avail = c->len - c->pos;

    if (avail >= 1 && c->p[c->pos] != '\r')
        goto bad;
    if (avail < 2)
        return more(c, rc, err);
    if (c->p[c->pos + 1] != '\n')
        goto bad;
    c->pos += 2;
    return STEP_OK;
bad:
    *rc = nw_fail(err, NW_ERR_BAD_REQUEST, "http: chunk data not followed by CRLF");
    return STEP_ERR;
}

/* chunk-size [ BWS chunk-ext ] : hex digits, bounded. */
static enum nw_err chunk_size(size_t *size, const uint8_t *l, size_t n, struct nw_error *err)
{
    size_t i = 0, v = 0;

    while (i < n && i < 9 && ((l[i] >= '0' && l[i] <= '9') || ((l[i] | 0x20) >= 'a' && (l[i] | 0x20) <= 'f'))) {
        uint8_t ch = l[i] | 0x20;
        v = v * 16 + (size_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
        i++;
    }
    if (i == 0 || i == 9)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed chunk size");
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    if (i < n && (l[i] != ';' || !all_text(l + i, n - i)))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "http: malformed chunk extension");
    if (v > NW_HTTP_MAX_BODY)
        return nw_fail(err, NW_ERR_TOO_LARGE, "http: body exceeds %u bytes", NW_HTTP_MAX_BODY);
    *size = v;
    return NW_OK;
}

static enum step chunked(struct cur *c, struct nw_http_response *r, enum nw_err *rc, struct nw_error *err)
{
    for (;;) {
        const uint8_t *l;
        size_t n, size = 0;
        enum step s = line(c, 256, &l, &n, rc, err);
        if (s != STEP_OK)
            return s;
        *rc = chunk_size(&size, l, n, err);
        if (*rc != NW_OK)
            return STEP_ERR;
        if (size == 0)
            return fields(c, r, NULL, rc, err); /* trailer section */
        s = body_bytes(c, r, size, rc, err);
        if (s == STEP_OK)
            s = crlf(c, rc, err);
        if (s != STEP_OK)
            return s;
    }
}

/* One response (interim or final) from c->pos. */
static enum step response(struct cur *c, struct nw_http_response *r, enum nw_err *rc, struct nw_error *err)
{
    struct framing f = {0};
    const uint8_t *l;
    size_t n;
    int http10 = 0;
    enum step s;

    c->head = 0;
    c->fields = 0;
    r->body.len = 0;
    r->error_type[0] = '\0';
    if (c->eof && c->pos == c->len) {
        *rc = nw_fail(err, NW_ERR_BAD_REQUEST, "http: connection closed before a response arrived");
        return STEP_ERR;
    }
    s = line(c, NW_HTTP_MAX_LINE, &l, &n, rc, err);
    if (s != STEP_OK)
        return s;
    c->head = n + 2;
    *rc = status_line(r, &http10, l, n, err);
    if (*rc != NW_OK)
        return STEP_ERR;
    s = fields(c, r, &f, rc, err);
    if (s != STEP_OK)
        return s;
    if (f.chunked && f.has_length) {
        *rc = nw_fail(err, NW_ERR_BAD_REQUEST, "http: both Content-Length and Transfer-Encoding");
        return STEP_ERR;
    }
    r->keep_alive = http10 ? f.keep_alive && !f.close : !f.close;
    if (r->status < 200 || r->status == 204 || r->status == 304)
        return STEP_OK; /* no content (RFC 9110 sections 15.2, 15.3.5, 15.4.5) */
    if (f.chunked)
        return chunked(c, r, rc, err);
    if (f.has_length)
        return body_bytes(c, r, f.length, rc, err);
    /* Neither: the body runs to the end of the connection. */
    if (!c->eof)
        return STEP_MORE;
    r->keep_alive = 0;
    return body_bytes(c, r, c->len - c->pos, rc, err);
}

enum nw_err nw_http_response_parse(struct nw_http_response *r, int *complete, size_t *consumed,
                                   const uint8_t *buf, size_t len, int eof, struct nw_error *err)
{
    struct cur c = {buf, len, 0, 0, 0, eof};
    enum nw_err rc = NW_OK;
    unsigned interim = 0;

    *complete = 0;
    *consumed = 0;
    for (;;) {
        enum step s = response(&c, r, &rc, err);
        if (s == STEP_ERR)
            return rc;
        if (s == STEP_MORE)
            return NW_OK;
        if (r->status >= 200)
            break;
        if (r->status == 101)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: unexpected protocol switch (101)");
        if (++interim > NW_HTTP_MAX_INTERIM)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "http: more than %u interim responses", NW_HTTP_MAX_INTERIM);
    }
    *complete = 1;
    *consumed = c.pos;
    return NW_OK;
}

void nw_http_response_init(struct nw_http_response *r)
{
    r->status = 0;
    r->keep_alive = 0;
    r->error_type[0] = '\0';
    nw_buf_init(&r->body, NW_HTTP_MAX_BODY);
}

void nw_http_response_free(struct nw_http_response *r)
{
    nw_buf_free(&r->body);
    r->status = 0;
    r->error_type[0] = '\0';
}
