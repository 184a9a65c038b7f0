/*
 * sigv4_auth.c - strict parsing of what a SigV4-signed request claims: the
 * Authorization header value and the x-amz-date timestamp (AWS General
 * Reference, "Add the signature to the HTTP request" and "Elements of an AWS
 * API request signature").
 *
 * Trust boundary: network input to nitrowallet-kms.  The value is bounded
 * (NW_SIGV4_AUTH_MAX), read through a cursor that never passes its end, and
 * accepted only in the one form AWS's SDKs, botocore and curl produce: no
 * alternative spellings, nothing after the signature.
 */
#include "sigv4_internal.h"

#include <string.h>

struct cursor {
    const char *p;
    size_t n;
};

static int take_lit(struct cursor *c, const char *lit)
{
    size_t k = strlen(lit);

    if (c->n < k || memcmp(c->p, lit, k) != 0)
        return 0;
    c->p += k;
    c->n -= k;
    return 1;
}

/* The bytes up to `stop` (or the end); the cursor is left on `stop`. */
static void take_until(struct cursor *c, char stop, const char **s, size_t *len)
{
    const char *e = memchr(c->p, stop, c->n);
    size_t k = e ? (size_t)(e - c->p) : c->n;

    *s = c->p;
    *len = k;
    c->p += k;
    c->n -= k;
}

static void skip_spaces(struct cursor *c)
{
    while (c->n > 0 && c->p[0] == ' ') {
        c->p++;
        c->n--;
    }
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int nw_sigv4_scope_part_ok(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > NW_SIGV4_SCOPE_PART_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i]) || s[i] == '-'))
            return 0;
    return 1;
}

int nw_sigv4_akid_ok(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > NW_SIGV4_AKID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || is_digit(s[i])))
            return 0;
    return 1;
}

/* Credential=AKID/YYYYMMDD/region/service/aws4_request */
static enum nw_err parse_credential(struct nw_sigv4_auth *a, const char *s, size_t len, struct nw_error *err)
{
    struct cursor c = {s, len};
    const char *part[5];
    size_t plen[5];

    for (int i = 0; i < 5; i++) {
        take_until(&c, '/', &part[i], &plen[i]);
        if (i < 4 && !take_lit(&c, "/"))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential must have 5 '/'-separated parts");
    }
    if (c.n != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential must have 5 '/'-separated parts");
    if (!nw_sigv4_akid_ok(part[0], plen[0]))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential access key id must be 1..%d letters or digits",
                       NW_SIGV4_AKID_MAX);
    if (plen[1] != 8)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential date must be YYYYMMDD");
    for (int i = 0; i < 8; i++)
        if (!is_digit(part[1][i]))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential date must be YYYYMMDD");
    if (!nw_sigv4_scope_part_ok(part[2], plen[2]) || !nw_sigv4_scope_part_ok(part[3], plen[3]))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential region and service must be 1..%d of [a-z0-9-]",
                       NW_SIGV4_SCOPE_PART_MAX);
    if (plen[4] != 12 || memcmp(part[4], "aws4_request", 12) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Credential must end in aws4_request");
    a->akid = part[0];
    a->akid_len = plen[0];
    a->date = part[1];
    a->region = part[2];
    a->region_len = plen[2];
    a->service = part[3];
    a->service_len = plen[3];
    return NW_OK;
}

static int is_lower_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* SignedHeaders=a;b;c - lowercase tokens, strictly ascending, bounded. */
static enum nw_err parse_signed_headers(const char *s, size_t len, struct nw_error *err)
{
    const char *prev = NULL;
    size_t prev_len = 0, start = 0, count = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ';') {
            if (!is_lower_tchar(s[i]))
                return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: SignedHeaders byte 0x%02x at %zu", (uint8_t)s[i], i);
            continue;
        }
        size_t k = i - start;
        if (k == 0 || k > NW_SIGV4_HEADER_NAME_MAX)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: SignedHeaders has an empty or overlong name");
        if (++count > NW_SIGV4_MAX_HEADERS)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: SignedHeaders names more than %d headers",
                           NW_SIGV4_MAX_HEADERS);
        if (prev != NULL) {
            int c = memcmp(prev, s + start, prev_len < k ? prev_len : k);
            if (c > 0 || (c == 0 && prev_len >= k))
                return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: SignedHeaders not sorted or repeated");
        }
        prev = s + start;
        prev_len = k;
        start = i + 1;
    }
    return NW_OK;
}

static int is_lower_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

enum nw_err nw_sigv4_parse_authorization(struct nw_sigv4_auth *out, const char *v, size_t len,
                                         struct nw_error *err)
{
    struct cursor c = {v, len};
    const char *s;
    size_t n;
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    if (len > NW_SIGV4_AUTH_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization longer than %d bytes", NW_SIGV4_AUTH_MAX);
    if (!take_lit(&c, "AWS4-HMAC-SHA256 "))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization must start with 'AWS4-HMAC-SHA256 '");
    skip_spaces(&c);
    if (!take_lit(&c, "Credential="))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization: expected Credential=");
    take_until(&c, ',', &s, &n);
    if ((rc = parse_credential(out, s, n, err)) != NW_OK)
        return rc;
    if (!take_lit(&c, ","))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization: expected ',' after Credential");
    skip_spaces(&c);
    if (!take_lit(&c, "SignedHeaders="))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization: expected SignedHeaders=");
    take_until(&c, ',', &s, &n);
    if ((rc = parse_signed_headers(s, n, err)) != NW_OK)
        return rc;
    out->signed_headers = s;
    out->signed_headers_len = n;
    if (!take_lit(&c, ","))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization: expected ',' after SignedHeaders");
    skip_spaces(&c);
    if (!take_lit(&c, "Signature=") || c.n != 64)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Authorization must end in Signature=<64 hex digits>");
    for (size_t i = 0; i < 64; i++)
        if (!is_lower_hex(c.p[i]))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: Signature must be 64 lowercase hex digits");
    out->signature = c.p;
    return NW_OK;
}

static int num(const char *s, int k)
{
    int v = 0;

    for (int i = 0; i < k; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

enum nw_err nw_sigv4_parse_amz_date(time_t *out, const char *s, size_t len, struct nw_error *err)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec;

    if (len != 16 || s[8] != 'T' || s[15] != 'Z')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: x-amz-date must be YYYYMMDDTHHMMSSZ");
    for (int i = 0; i < 15; i++)
        if (i != 8 && !is_digit(s[i]))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: x-amz-date must be YYYYMMDDTHHMMSSZ");
    y = num(s, 4);
    mo = num(s + 4, 2);
    d = num(s + 6, 2);
    h = num(s + 9, 2);
    mi = num(s + 11, 2);
    sec = num(s + 13, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59 ||
        (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: x-amz-date is not a valid UTC time");
    *out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec);
    return NW_OK;
}
