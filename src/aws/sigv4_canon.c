/*
 * sigv4_canon.c - the canonical URI and canonical query string of AWS
 * Signature Version 4 (AWS General Reference, "Create a canonical request for
 * Signature Version 4", steps 2-4; checked against the published SigV4 test
 * suite and botocore's SigV4Auth, see docs/sigv4.md).  Headers and the
 * assembled request are in sigv4_headers.c.
 *
 * Trust boundary: both sides.  The enclave's KMS client canonicalises the
 * requests it builds; nitrowallet-kms canonicalises requests from the
 * network, so everything here is bounded: lengths are checked before any
 * arithmetic, counts are capped, malformed input is refused, never truncated.
 */
#include "sigv4_internal.h"

#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"

static const char hexdig[] = "0123456789ABCDEF";

static int is_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static enum nw_err buf_fail(enum nw_err rc, struct nw_error *err, const char *what)
{
    if (rc == NW_ERR_TOO_LARGE)
        return nw_fail(err, rc, "sigv4: %s exceeds its bound", what);
    return nw_fail(err, rc, "sigv4: out of memory building the %s", what);
}

/* Append `n` bytes, percent-encoding all but unreserved bytes. */
static enum nw_err put_encoded(struct nw_buf *b, const uint8_t *s, size_t n)
{
    uint8_t tmp[96];
    size_t k = 0;
    enum nw_err rc;

    for (size_t i = 0; i < n; i++) {
        if (k > sizeof tmp - 3) {
            if ((rc = nw_buf_append(b, tmp, k)) != NW_OK)
                return rc;
            k = 0;
        }
        if (is_unreserved(s[i])) {
            tmp[k++] = s[i];
        } else {
            tmp[k++] = '%';
            tmp[k++] = (uint8_t)hexdig[s[i] >> 4];
            tmp[k++] = (uint8_t)hexdig[s[i] & 15];
        }
    }
    return nw_buf_append(b, tmp, k);
}

struct span {
    size_t off;
    size_t len;
};

/* Push or pop one path segment, as botocore's remove_dot_segments. */
static void path_segment(struct span *stack, size_t *depth, const char *path, size_t off, size_t len)
{
    if (len == 0 || (len == 1 && path[off] == '.'))
        return;
    if (len == 2 && path[off] == '.' && path[off + 1] == '.') {
        if (*depth > 0)
            (*depth)--;
        return;
    }
    stack[*depth].off = off;
    stack[*depth].len = len;
    (*depth)++;
}

enum nw_err nw_sigv4_canonical_uri(struct nw_buf *out, const char *path, size_t len, struct nw_error *err)
{
    struct span *stack = NULL;
    size_t depth = 0, nseg = 1, start = 0;
    enum nw_err rc = NW_OK;

    if (len > NW_SIGV4_PATH_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: path longer than %d bytes", NW_SIGV4_PATH_MAX);
    if (len == 0 || path[0] != '/')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: path must start with '/'");
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)path[i];
        if (c < 0x20 || c == 0x7f || c == '?' || c == '#')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: path byte 0x%02x at %zu not allowed", c, i);
        nseg += c == '/';
    }
    if ((stack = calloc(nseg, sizeof *stack)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "sigv4: out of memory normalising the path");
    for (size_t i = 0; i <= len; i++) {
        if (i == len || path[i] == '/') {
            path_segment(stack, &depth, path, start, i - start);
            start = i + 1;
        }
    }
    NW_GUARD(nw_buf_append_byte(out, '/'));
    for (size_t i = 0; i < depth; i++) {
        if (i > 0)
            NW_GUARD(nw_buf_append_byte(out, '/'));
        NW_GUARD(put_encoded(out, (const uint8_t *)path + stack[i].off, stack[i].len));
    }
    if (depth > 0 && path[len - 1] == '/')
        NW_GUARD(nw_buf_append_byte(out, '/'));
out:
    free(stack);
    if (rc == NW_ERR_TOO_LARGE || rc == NW_ERR_NOMEM)
        return buf_fail(rc, err, "canonical URI");
    return rc;
}

/* Percent-decode q[off..off+n) and append it re-encoded. */
static enum nw_err put_requoted(struct nw_buf *b, const char *q, size_t off, size_t n, struct nw_error *err)
{
    size_t end = off + n;
    enum nw_err rc;

    for (size_t i = off; i < end; i++) {
        uint8_t c = (uint8_t)q[i];
        if (c == '%') {
            int hi = end - i >= 3 ? nw_hex_digit((uint8_t)q[i + 1]) : -1;
            int lo = end - i >= 3 ? nw_hex_digit((uint8_t)q[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return nw_fail(err, NW_ERR_BAD_REQUEST,
                               "sigv4: query '%%' at %zu is not followed by two hex digits", i);
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        if ((rc = put_encoded(b, &c, 1)) != NW_OK)
            return buf_fail(rc, err, "canonical query");
    }
    return NW_OK;
}

struct param {
    size_t name_off, name_len, val_off, val_len;
    const uint8_t *base;
};

static int cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_param(const void *pa, const void *pb)
{
    const struct param *a = pa, *b = pb;
    int c = cmp_bytes(a->base + a->name_off, a->name_len, b->base + b->name_off, b->name_len);
    if (c != 0)
        return c;
    return cmp_bytes(a->base + a->val_off, a->val_len, b->base + b->val_off, b->val_len);
}

/* Split the query into re-encoded parameters stored in `enc`. */
static enum nw_err split_query(struct param *ps, size_t *np, struct nw_buf *enc, const char *q, size_t len,
                               struct nw_error *err)
{
    size_t start = 0, n = 0;
    enum nw_err rc;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && q[i] != '&')
            continue;
        if (i > start) {
            const char *eq = memchr(q + start, '=', i - start);
            size_t name_end = eq ? (size_t)(eq - q) : i;
            if (n == NW_SIGV4_QUERY_PARAMS_MAX)
                return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: more than %d query parameters",
                               NW_SIGV4_QUERY_PARAMS_MAX);
            ps[n].name_off = enc->len;
            if ((rc = put_requoted(enc, q, start, name_end - start, err)) != NW_OK)
                return rc;
            ps[n].name_len = enc->len - ps[n].name_off;
            ps[n].val_off = enc->len;
            if (eq && (rc = put_requoted(enc, q, name_end + 1, i - name_end - 1, err)) != NW_OK)
                return rc;
            ps[n].val_len = enc->len - ps[n].val_off;
            n++;
        }
        start = i + 1;
    }
    *np = n;
    return NW_OK;
}

enum nw_err nw_sigv4_canonical_query(struct nw_buf *out, const char *query, size_t len, struct nw_error *err)
{
    struct param *ps = NULL;
    struct nw_buf enc;
    const uint8_t *base;
    size_t n = 0;
    enum nw_err rc = NW_OK;

    nw_buf_init(&enc, 3 * NW_SIGV4_QUERY_MAX);
    if (len > NW_SIGV4_QUERY_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: query longer than %d bytes", NW_SIGV4_QUERY_MAX);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)query[i];
        if (c < 0x20 || c == 0x7f || c == '#')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: query byte 0x%02x at %zu not allowed", c, i);
    }
    if ((ps = calloc(NW_SIGV4_QUERY_PARAMS_MAX, sizeof *ps)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "sigv4: out of memory for the query");
    NW_GUARD(split_query(ps, &n, &enc, query, len, err));
    base = enc.data ? enc.data : (const uint8_t *)""; /* "=" alone encodes to nothing */
    for (size_t i = 0; i < n; i++)
        ps[i].base = base;
    if (n > 1)
        qsort(ps, n, sizeof *ps, cmp_param);
    for (size_t i = 0; i < n && rc == NW_OK; i++) {
        if (i > 0)
            rc = nw_buf_append_byte(out, '&');
        if (rc == NW_OK)
            rc = nw_buf_append(out, base + ps[i].name_off, ps[i].name_len);
        if (rc == NW_OK)
            rc = nw_buf_append_byte(out, '=');
        if (rc == NW_OK)
            rc = nw_buf_append(out, base + ps[i].val_off, ps[i].val_len);
    }
    if (rc != NW_OK)
        rc = buf_fail(rc, err, "canonical query");
out:
    free(ps);
    nw_buf_free(&enc);
    return rc;
}
