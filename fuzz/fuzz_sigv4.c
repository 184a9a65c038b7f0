/*
 * fuzz_sigv4.c - SigV4 canonicalisation, Authorization parsing and
 * verification on arbitrary bytes (the input nitrowallet-kms takes from the
 * network).  The first byte picks what is exercised:
 *
 *   0  canonical URI of the rest: if accepted, the result starts with '/',
 *      holds only unreserved bytes, '/' and uppercase %XX, and has no empty,
 *      "." or ".." segment;
 *   1  canonical query of the rest: if accepted, only unreserved bytes, '=',
 *      '&' and uppercase %XX, and canonicalising it again changes nothing;
 *   2  a request "METHOD\nPATH\nQUERY\nName:value\n...\n\nBODY" verified at
 *      20150830T123600Z against AKIDEXAMPLE's secret (seeds: the AWS suite's
 *      signed requests); the result and the failure kind must agree;
 *   3  the same request form signed with that key: whatever nw_sigv4_sign
 *      accepts must verify (unless x-amz-content-sha256 is not the body's
 *      hash: then it must be refused as BAD_SIGNATURE), and a request that
 *      verified must stop verifying when one body byte changes.
 * Any violated property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/aws/sigv4_internal.h"
#include "nitrowallet/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW 1440938160

static int is_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static int is_upper_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Only unreserved bytes, bytes in `also`, and %XX with uppercase hex. */
static void check_encoded(const uint8_t *p, size_t n, const char *also)
{
    for (size_t i = 0; i < n; i++) {
        if (is_unreserved(p[i]) || (p[i] != 0 && strchr(also, p[i]) != NULL))
            continue;
        if (p[i] != '%' || n - i < 3 || !is_upper_hex(p[i + 1]) || !is_upper_hex(p[i + 2]))
            abort();
        i += 2;
    }
}

static void fuzz_uri(const uint8_t *d, size_t n)
{
    struct nw_buf b;

    nw_buf_init(&b, 1 << 20);
    if (nw_sigv4_canonical_uri(&b, (const char *)d, n, NULL) == NW_OK) {
        if (b.len == 0 || b.data[0] != '/')
            abort();
        check_encoded(b.data, b.len, "/");
        for (size_t i = 0; i + 1 < b.len; i++)
            if (b.data[i] == '/' && (b.data[i + 1] == '/' ||
                                     (b.data[i + 1] == '.' && (i + 2 == b.len || b.data[i + 2] == '/')) ||
                                     (i + 2 < b.len && b.data[i + 1] == '.' && b.data[i + 2] == '.' &&
                                      (i + 3 == b.len || b.data[i + 3] == '/'))))
                abort();
    }
    nw_buf_free(&b);
}

static void fuzz_query(const uint8_t *d, size_t n)
{
    struct nw_buf a, b;

    nw_buf_init(&a, 1 << 20);
    nw_buf_init(&b, 1 << 20);
    if (nw_sigv4_canonical_query(&a, (const char *)d, n, NULL) == NW_OK) {
        check_encoded(a.data, a.len, "=&");
        if (a.len > 0 && a.len <= NW_SIGV4_QUERY_MAX && (nw_sigv4_canonical_query(&b, (const char *)a.data, a.len, NULL) != NW_OK ||
                          b.len != a.len || memcmp(a.data, b.data, a.len) != 0))
            abort();
    }
    nw_buf_free(&a);
    nw_buf_free(&b);
}

/* A request parsed from "METHOD\nPATH\nQUERY\nName:value\n...\n\nBODY";
 * strings are copied so they can be NUL-terminated. */
struct freq {
    char method[32], path[2048], query[2048];
    struct nw_http_header h[NW_SIGV4_MAX_HEADERS + 2];
    size_t n;
    const uint8_t *body;
    size_t body_len;
};

static const uint8_t *take_line(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));

    *len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    *p = nl ? nl + 1 : end;
    return s;
}

static int copy_str(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    if (n >= cap || memchr(s, 0, n) != NULL)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int parse_request(struct freq *r, const uint8_t *d, size_t size)
{
    const uint8_t *p = d, *end = d + size, *s;
    size_t n;

    memset(r, 0, sizeof *r);
    s = take_line(&p, end, &n);
    if (copy_str(r->method, sizeof r->method, s, n))
        return -1;
    s = take_line(&p, end, &n);
    if (copy_str(r->path, sizeof r->path, s, n))
        return -1;
    s = take_line(&p, end, &n);
    if (copy_str(r->query, sizeof r->query, s, n))
        return -1;
    while (p < end) {
        const uint8_t *colon;
        s = take_line(&p, end, &n);
        if (n == 0)
            break;
        if (r->n == sizeof r->h / sizeof r->h[0] || (colon = memchr(s, ':', n)) == NULL)
            return -1;
        r->h[r->n].name = (const char *)s;
        r->h[r->n].name_len = (size_t)(colon - s);
        r->h[r->n].value = (const char *)colon + 1;
        r->h[r->n].value_len = n - (size_t)(colon - s) - 1;
        r->n++;
    }
    r->body = p;
    r->body_len = (size_t)(end - p);
    return 0;
}

static struct nw_sigv4_request view(const struct freq *r)
{
    struct nw_sigv4_request v = {r->method, r->path, r->query, r->h, r->n, r->body, r->body_len};
    return v;
}

static enum nw_err lookup(void *ctx, const char *akid, char *secret, size_t cap)
{
    (void)ctx;
    if (strcmp(akid, AKID) != 0 || cap < sizeof SECRET)
        return NW_ERR_POLICY_DENIED;
    memcpy(secret, SECRET, sizeof SECRET);
    return NW_OK;
}

static enum nw_sigv4_failure verify(const struct nw_sigv4_request *req, time_t now)
{
    struct nw_sigv4_verified v;
    enum nw_sigv4_failure why = NW_SIGV4_OK;
    enum nw_err rc = nw_sigv4_verify(&v, &why, req, "service", lookup, NULL, now, 300, NULL);

    if ((rc == NW_OK) != (why == NW_SIGV4_OK) || (rc == NW_OK && strcmp(v.access_key_id, AKID) != 0))
        abort();
    return why;
}

static void fuzz_verify(const uint8_t *d, size_t n)
{
    struct freq r;
    struct nw_sigv4_request req;

    if (parse_request(&r, d, n) != 0)
        return;
    req = view(&r);
    (void)verify(&req, SUITE_NOW);
}

/* The session token to sign with: the request's x-amz-security-token. */
static const char *token_of(const struct nw_sigv4_request *req, char *buf, size_t cap)
{
    const struct nw_http_header *h;
    const char *v;
    size_t len;

    if (nw_sigv4_find_header(req, "x-amz-security-token", &h) != 1)
        return NULL;
    v = h->value;
    len = h->value_len;
    nw_sigv4_trim(&v, &len);
    if (len >= cap || memchr(v, 0, len) != NULL)
        return NULL;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return buf;
}

static int payload_claim_wrong(const struct nw_sigv4_request *req)
{
    const struct nw_http_header *h;
    const char *v;
    size_t len;
    char hex[65];

    if (nw_sigv4_find_header(req, "x-amz-content-sha256", &h) == 0)
        return 0;
    v = h->value;
    len = h->value_len;
    nw_sigv4_trim(&v, &len);
    nw_sigv4_payload_hash(hex, req->body, req->body_len);
    return len != 64 || memcmp(v, hex, 64) != 0;
}

static void fuzz_round_trip(const uint8_t *d, size_t n)
{
    static char token[NW_SIGV4_HEADER_VALUE_MAX + 1];
    static uint8_t body[1 << 16];
    struct freq r;
    struct nw_sigv4_request req;
    struct nw_aws_credentials creds = {AKID, SECRET, NULL};
    char authz[NW_SIGV4_AUTH_MAX], amz[17];
    time_t t;
    int claim_wrong;

    if (parse_request(&r, d, n) != 0 || r.body_len > sizeof body)
        return;
    req = view(&r);
    creds.session_token = token_of(&req, token, sizeof token);
    if (nw_sigv4_sign(authz, sizeof authz, &req, &creds, "us-east-1", "service", NULL) != NW_OK)
        return;
    if (nw_sigv4_get_amz_date(amz, &t, &req, NULL) != NW_OK || r.n >= NW_SIGV4_MAX_HEADERS + 2)
        abort();
    r.h[r.n].name = "Authorization";
    r.h[r.n].name_len = 13;
    r.h[r.n].value = authz;
    r.h[r.n].value_len = strlen(authz);
    r.n++;
    req = view(&r);
    claim_wrong = payload_claim_wrong(&req);
    if (verify(&req, t) != (claim_wrong ? NW_SIGV4_BAD_SIGNATURE : NW_SIGV4_OK))
        abort();
    if (r.body_len == 0 || claim_wrong) /* a changed body may match a wrong claim: nothing to assert */
        return;
    memcpy(body, r.body, r.body_len);
    body[r.body_len / 2] ^= 1;
    req.body = body;
    if (verify(&req, t) == NW_SIGV4_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 4) {
    case 0: fuzz_uri(data + 1, size - 1); break;
    case 1: fuzz_query(data + 1, size - 1); break;
    case 2: fuzz_verify(data + 1, size - 1); break;
    default: fuzz_round_trip(data + 1, size - 1); break;
    }
    return 0;
}
