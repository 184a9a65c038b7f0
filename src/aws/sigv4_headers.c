/*
 * sigv4_headers.c - canonical headers, signed-headers list and the assembled
 * canonical request of AWS Signature Version 4 (AWS General Reference,
 * "Create a canonical request for Signature Version 4", steps 5-8).
 *
 * Trust boundary: both sides; on the server the headers come from the
 * network, so names and values are checked (RFC 9110 token names, no control
 * bytes but tab in values) and counted and measured before use.
 */
#include "sigv4_internal.h"

#include <string.h>

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* RFC 9110 section 5.6.2 token characters. */
static int is_tchar(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

void nw_sigv4_trim(const char **v, size_t *len)
{
    while (*len > 0 && is_ows((*v)[0])) {
        (*v)++;
        (*len)--;
    }
    while (*len > 0 && is_ows((*v)[*len - 1]))
        (*len)--;
}

/* Compare two header names case-insensitively, bytewise after lowercasing. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = lower((uint8_t)a[i]), y = lower((uint8_t)b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen;
}

size_t nw_sigv4_find_header(const struct nw_sigv4_request *req, const char *name,
                            const struct nw_http_header **first)
{
    size_t count = 0, nlen = strlen(name);

    if (first != NULL)
        *first = NULL;
    for (size_t i = 0; i < req->n_headers && i < NW_SIGV4_MAX_HEADERS; i++) {
        const struct nw_http_header *h = &req->headers[i];
        if (name_cmp(h->name, h->name_len, name, nlen) != 0)
            continue;
        if (count++ == 0 && first != NULL)
            *first = h;
    }
    return count;
}

/* The selected headers (idx[0..m)) are well formed and within bounds. */
static enum nw_err check_headers(const struct nw_http_header *h, const size_t *idx, size_t m, struct nw_error *err)
{
    size_t total = 0;

    for (size_t j = 0; j < m; j++) {
        const struct nw_http_header *x = &h[idx[j]];
        size_t i = idx[j];
        if (x->name_len == 0 || x->name_len > NW_SIGV4_HEADER_NAME_MAX)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: header %zu: name must be 1..%d bytes", i,
                           NW_SIGV4_HEADER_NAME_MAX);
        if (x->value_len > NW_SIGV4_HEADER_VALUE_MAX)
            return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: header %zu: value longer than %d bytes", i,
                           NW_SIGV4_HEADER_VALUE_MAX);
        total += x->name_len + x->value_len;
        if (total > NW_SIGV4_HEADERS_TOTAL_MAX)
            return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: signed headers exceed %d bytes",
                           NW_SIGV4_HEADERS_TOTAL_MAX);
        for (size_t k = 0; k < x->name_len; k++)
            if (!is_tchar((uint8_t)x->name[k]))
                return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: header %zu: byte 0x%02x in name", i,
                               (uint8_t)x->name[k]);
        for (size_t k = 0; k < x->value_len; k++) {
            uint8_t c = (uint8_t)x->value[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: header %zu: control byte 0x%02x in value", i, c);
        }
    }
    return NW_OK;
}

/* Is `name` one of the ';'-separated lowercase names in `only`? */
static int in_list(const char *name, size_t len, const char *only, size_t only_len)
{
    size_t start = 0;

    for (size_t i = 0; i <= only_len; i++) {
        if (i < only_len && only[i] != ';')
            continue;
        if (name_cmp(name, len, only + start, i - start) == 0)
            return 1;
        start = i + 1;
    }
    return 0;
}

/* Append the value trimmed, with each inner run of spaces and tabs as one
 * space (the "Trimall" of the AWS documentation). */
static enum nw_err put_trimall(struct nw_buf *b, const char *v, size_t len)
{
    int pending = 0;
    enum nw_err rc;

    nw_sigv4_trim(&v, &len);
    for (size_t i = 0; i < len; i++) {
        if (is_ows(v[i])) {
            pending = 1;
            continue;
        }
        if (pending && (rc = nw_buf_append_byte(b, ' ')) != NW_OK)
            return rc;
        pending = 0;
        if ((rc = nw_buf_append_byte(b, (uint8_t)v[i])) != NW_OK)
            return rc;
    }
    return NW_OK;
}

static enum nw_err put_lower(struct nw_buf *b, const char *s, size_t len)
{
    enum nw_err rc = NW_OK;

    for (size_t i = 0; i < len && rc == NW_OK; i++)
        rc = nw_buf_append_byte(b, lower((uint8_t)s[i]));
    return rc;
}

/* Indices of the selected headers, stably sorted by lowercase name. */
static size_t select_sorted(size_t *idx, const struct nw_http_header *h, size_t n, const char *only,
                            size_t only_len)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        if (only != NULL && !in_list(h[i].name, h[i].name_len, only, only_len))
            continue;
        size_t j = m++;
        while (j > 0 && name_cmp(h[idx[j - 1]].name, h[idx[j - 1]].name_len, h[i].name, h[i].name_len) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return m;
}

enum nw_err nw_sigv4_canonical_headers(struct nw_buf *out, struct nw_buf *signed_list,
                                       const struct nw_http_header *h, size_t n, const char *only, size_t only_len,
                                       struct nw_error *err)
{
    size_t idx[NW_SIGV4_MAX_HEADERS], m;
    enum nw_err rc = NW_OK;

    if (n > NW_SIGV4_MAX_HEADERS)
        return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: more than %d headers", NW_SIGV4_MAX_HEADERS);
    m = select_sorted(idx, h, n, only, only_len);
    if ((rc = check_headers(h, idx, m, err)) != NW_OK)
        return rc;
    for (size_t k = 0; k < m && rc == NW_OK; k++) {
        const struct nw_http_header *x = &h[idx[k]];
        int same = k > 0 && name_cmp(h[idx[k - 1]].name, h[idx[k - 1]].name_len, x->name, x->name_len) == 0;
        if (same) {
            rc = nw_buf_append_byte(out, ',');
        } else {
            if (k > 0)
                rc = nw_buf_append_byte(out, '\n');
            if (rc == NW_OK && k > 0)
                rc = nw_buf_append_byte(signed_list, ';');
            if (rc == NW_OK)
                rc = put_lower(signed_list, x->name, x->name_len);
            if (rc == NW_OK)
                rc = put_lower(out, x->name, x->name_len);
            if (rc == NW_OK)
                rc = nw_buf_append_byte(out, ':');
        }
        if (rc == NW_OK)
            rc = put_trimall(out, x->value, x->value_len);
    }
    if (rc == NW_OK && m > 0)
        rc = nw_buf_append_byte(out, '\n');
    if (rc != NW_OK)
        return nw_fail(err, rc, "sigv4: canonical headers exceed their bound");
    return NW_OK;
}

static enum nw_err check_method(const char *m, struct nw_error *err)
{
    size_t len = m ? strlen(m) : 0;

    if (len == 0 || len > 16)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: method must be 1..16 bytes");
    for (size_t i = 0; i < len; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: method must be uppercase letters");
    return NW_OK;
}

static enum nw_err too_large(struct nw_error *err)
{
    return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: canonical request exceeds its bound");
}

/* The last line: x-amz-content-sha256 as sent (trimmed), else SHA-256(body). */
static enum nw_err put_payload_hash(struct nw_buf *out, const struct nw_sigv4_request *req, struct nw_error *err)
{
    const struct nw_http_header *h;
    size_t n = nw_sigv4_find_header(req, "x-amz-content-sha256", &h);
    char hex[65];

    if (n > 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: more than one x-amz-content-sha256 header");
    if (n == 1)
        return put_trimall(out, h->value, h->value_len) == NW_OK ? NW_OK : too_large(err);
    nw_sigv4_payload_hash(hex, req->body, req->body_len);
    return nw_buf_append(out, hex, 64) == NW_OK ? NW_OK : too_large(err);
}

static enum nw_err put_line(struct nw_buf *out, const void *p, size_t n, struct nw_error *err)
{
    if (nw_buf_append(out, p, n) != NW_OK || nw_buf_append_byte(out, '\n') != NW_OK)
        return too_large(err);
    return NW_OK;
}

/* method \n URI \n query \n headers \n signed-headers \n payload-hash */
static enum nw_err assemble(struct nw_buf *out, const struct nw_sigv4_request *req, const struct nw_buf *hdrs,
                            const struct nw_buf *list, struct nw_error *err)
{
    const char *query = req->query ? req->query : "";
    enum nw_err rc;

    if ((rc = put_line(out, req->method, strlen(req->method), err)) != NW_OK ||
        (rc = nw_sigv4_canonical_uri(out, req->path, strlen(req->path), err)) != NW_OK ||
        (rc = put_line(out, "", 0, err)) != NW_OK ||
        (rc = nw_sigv4_canonical_query(out, query, strlen(query), err)) != NW_OK ||
        (rc = put_line(out, "", 0, err)) != NW_OK || (rc = put_line(out, hdrs->data, hdrs->len, err)) != NW_OK ||
        (rc = put_line(out, list->data, list->len, err)) != NW_OK)
        return rc;
    return put_payload_hash(out, req, err);
}

enum nw_err nw_sigv4_canonical_request(struct nw_buf *out, struct nw_buf *signed_list,
                                       const struct nw_sigv4_request *req, const char *only, size_t only_len,
                                       struct nw_error *err)
{
    struct nw_buf hdrs, list;
    enum nw_err rc;

    nw_buf_init(&hdrs, 2 * NW_SIGV4_HEADERS_TOTAL_MAX);
    nw_buf_init(&list, NW_SIGV4_MAX_HEADERS * (NW_SIGV4_HEADER_NAME_MAX + 1));
    NW_GUARD(check_method(req->method, err));
    if (req->path == NULL || (req->body == NULL && req->body_len != 0)) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: request without path or body");
        goto out;
    }
    NW_GUARD(nw_sigv4_canonical_headers(&hdrs, &list, req->headers, req->n_headers, only, only_len, err));
    NW_GUARD(assemble(out, req, &hdrs, &list, err));
    if (signed_list != NULL && nw_buf_append(signed_list, list.data, list.len) != NW_OK)
        rc = too_large(err);
out:
    nw_buf_free(&hdrs);
    nw_buf_free(&list);
    return rc;
}
