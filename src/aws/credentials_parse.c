/*
 * credentials_parse.c - readers for the three credential documents the host
 * receives (include/nitrowallet/credentials.h): STS AssumeRoleWithWebIdentity
 * XML, the container/IMDS JSON document, and their ISO 8601 Expiration.
 *
 * Trust boundary: the bytes come from the network (STS over TLS, a link-local
 * metadata endpoint) and hold secrets.  Every reader is bounded, refuses
 * rather than repairs, never echoes a value in an error message, and is
 * fuzzed (fuzz/fuzz_creds_sts.c, fuzz/fuzz_creds_json.c).
 *
 * The XML reader is deliberately tiny instead of a general XML library: the
 * STS reply is a fixed shape, and a reader that knows no DTD, entity
 * declarations, CDATA or external references cannot be tricked into
 * expanding or fetching anything (XML 1.0, section 2-4: we accept a strict
 * subset: elements, attributes, character data and the five predefined
 * entities).
 */
#include <string.h>

#include "nitrowallet/credentials.h"
#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"

#define XML_MAX_DEPTH 16
#define XML_MAX_NAME 64
#define TIME_MAX 64

/* Here rather than in credentials.c so that the parsers (and their fuzz
 * targets) link without libcurl. */
void nw_host_credentials_wipe(struct nw_host_credentials *c)
{
    if (c != NULL) nw_wipe(c, sizeof(*c));
}

/* ------------------------------------------------------------------ time */

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar arithmetic
 * with March-based years, so the leap day is the last day of the year). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m - 1] + (m == 2 && leap);
}

enum nw_err nw_creds_parse_time(long long *out, const char *s, size_t len, struct nw_error *err)
{
    int y, mo, d, h, mi, sec;
    if (len < 20 || len > TIME_MAX || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
        !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "Expiration is not an ISO 8601 UTC time");
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "Expiration is out of range");
    size_t i = 19;
    if (s[i] == '.') { /* fraction of a second: 1..9 digits, ignored */
        size_t j = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == j || i - j > 9) return nw_fail(err, NW_ERR_BAD_REQUEST, "Expiration has a bad fraction");
    }
    int utc = (len - i == 1 && s[i] == 'Z') || (len - i == 6 && memcmp(s + i, "+00:00", 6) == 0);
    if (!utc) return nw_fail(err, NW_ERR_BAD_REQUEST, "Expiration is not in UTC (Z)");
    *out = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec;
    return NW_OK;
}

/* ------------------------------------------------------------- values */

/* Credentials are printable ASCII without spaces, and fit their field. */
static enum nw_err check_value(const char *v, size_t len, size_t cap, const char *field, struct nw_error *err)
{
    if (len == 0) return nw_fail(err, NW_ERR_BAD_REQUEST, "%s is empty", field);
    if (len >= cap) return nw_fail(err, NW_ERR_TOO_LARGE, "%s is longer than %zu bytes", field, cap - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s has invalid characters", field);
    return NW_OK;
}

static enum nw_err put_value(char *dst, size_t cap, const char *v, size_t len, const char *field,
                             struct nw_error *err)
{
    enum nw_err rc = check_value(v, len, cap, field, err);
    if (rc != NW_OK) return rc;
    memcpy(dst, v, len);
    dst[len] = '\0';
    return NW_OK;
}

/* ------------------------------------------------------------- XML */

struct xml_leaf {
    const char *name;
    char *dst; /* decoded text, NUL-terminated */
    size_t cap;
    size_t len;
    int seen;
};

struct xml {
    const char *p, *end;
    const char *const *path; /* element names from the root down to the leaves' parent */
    size_t n_path;
    struct xml_leaf *leaves;
    size_t n_leaves;
    int depth;
    int on_path[XML_MAX_DEPTH + 1]; /* the open element at depth d continues `path` */
    struct { const char *s; size_t n; } open[XML_MAX_DEPTH];
    struct xml_leaf *capture; /* leaf whose text is being read */
};

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':'; }
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

static void skip_space(struct xml *x)
{
    while (x->p < x->end && is_space(*x->p)) x->p++;
}

static enum nw_err xml_name(struct xml *x, const char **s, size_t *n, struct nw_error *err)
{
    const char *b = x->p;
    if (x->p == x->end || !name_start(*x->p)) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: bad name");
    while (x->p < x->end && name_char(*x->p)) x->p++;
    *s = b;
    *n = (size_t)(x->p - b);
    if (*n > XML_MAX_NAME) return nw_fail(err, NW_ERR_TOO_LARGE, "XML: name too long");
    return NW_OK;
}

/* One "&name;" reference at x->p (on '&'): the five predefined entities only. */
static enum nw_err xml_entity(struct xml *x, char *c, struct nw_error *err)
{
    static const struct { const char *e; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        size_t n = strlen(ents[i].e);
        if ((size_t)(x->end - x->p) >= n && memcmp(x->p, ents[i].e, n) == 0) {
            x->p += n;
            *c = ents[i].c;
            return NW_OK;
        }
    }
    return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: unsupported reference");
}

/* Character data up to the next '<', stored when a leaf is being captured. */
static enum nw_err xml_text(struct xml *x, struct nw_error *err)
{
    while (x->p < x->end && *x->p != '<') {
        char c = *x->p;
        if (c == '&') {
            enum nw_err rc = xml_entity(x, &c, err);
            if (rc != NW_OK) return rc;
        } else {
            if ((unsigned char)c < 0x20 && !is_space(c)) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: control character");
            x->p++;
        }
        if (x->capture != NULL) {
            struct xml_leaf *l = x->capture;
            if (l->len + 1 >= l->cap) return nw_fail(err, NW_ERR_TOO_LARGE, "XML: %s too long", l->name);
            l->dst[l->len++] = c;
        } else if (x->depth == 0 && !is_space(c)) {
            return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: text outside the root element");
        }
    }
    return NW_OK;
}

static int name_is(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(s, want, n) == 0;
}

/* Attributes after a start tag's name, up to and including '>' or "/>". */
static enum nw_err xml_attributes(struct xml *x, int *empty, struct nw_error *err)
{
    enum nw_err rc;
    for (;;) {
        int had_space = x->p < x->end && is_space(*x->p);
        skip_space(x);
        if (x->p == x->end) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: truncated tag");
        if (*x->p == '>' || (*x->p == '/' && x->end - x->p >= 2 && x->p[1] == '>')) {
            *empty = *x->p == '/';
            x->p += *empty ? 2 : 1;
            return NW_OK;
        }
        if (!had_space) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: bad tag");
        const char *an;
        size_t alen;
        if ((rc = xml_name(x, &an, &alen, err)) != NW_OK) return rc;
        skip_space(x);
        if (x->p == x->end || *x->p != '=') return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: attribute without value");
        x->p++;
        skip_space(x);
        if (x->p == x->end || (*x->p != '"' && *x->p != '\'')) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: bad attribute");
        char q = *x->p++;
        while (x->p < x->end && *x->p != q) {
            char c;
            if (*x->p == '<') return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: '<' in attribute");
            if (*x->p == '&') {
                if ((rc = xml_entity(x, &c, err)) != NW_OK) return rc;
            } else {
                x->p++;
            }
        }
        if (x->p == x->end) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: truncated attribute");
        x->p++;
    }
}

static enum nw_err xml_start(struct xml *x, struct nw_error *err)
{
    enum nw_err rc;
    const char *n;
    size_t len;
    int empty = 0;
    if (x->capture != NULL) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: element inside %s", x->capture->name);
    if (x->depth == XML_MAX_DEPTH) return nw_fail(err, NW_ERR_TOO_LARGE, "XML: nested too deeply");
    if ((rc = xml_name(x, &n, &len, err)) != NW_OK) return rc;
    if ((rc = xml_attributes(x, &empty, err)) != NW_OK) return rc;
    int d = x->depth;
    int parent_on = d == 0 ? 1 : x->on_path[d - 1];
    if ((size_t)d < x->n_path) {
        if (d == 0 && !name_is(n, len, x->path[0]))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: unexpected root element");
        x->on_path[d] = parent_on && name_is(n, len, x->path[d]);
    } else {
        x->on_path[d] = 0;
        for (size_t i = 0; parent_on && (size_t)d == x->n_path && i < x->n_leaves; i++) {
            if (!name_is(n, len, x->leaves[i].name)) continue;
            if (x->leaves[i].seen) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: %s twice", x->leaves[i].name);
            x->leaves[i].seen = 1;
            x->capture = &x->leaves[i];
        }
    }
    if (empty) {
        x->capture = NULL;
        return NW_OK;
    }
    x->open[d].s = n;
    x->open[d].n = len;
    x->depth++;
    return NW_OK;
}

static enum nw_err xml_end(struct xml *x, struct nw_error *err)
{
    enum nw_err rc;
    const char *n;
    size_t len;
    if ((rc = xml_name(x, &n, &len, err)) != NW_OK) return rc;
    skip_space(x);
    if (x->p == x->end || *x->p != '>') return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: bad end tag");
    x->p++;
    if (x->depth == 0) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: end tag without start");
    x->depth--;
    if (x->open[x->depth].n != len || memcmp(x->open[x->depth].s, n, len) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: mismatched end tag");
    x->capture = NULL;
    return NW_OK;
}

/* Run the reader over the whole document; leaves get their text. */
static enum nw_err xml_read(struct xml *x, struct nw_error *err)
{
    enum nw_err rc;
    int root_done = 0;
    if (x->end - x->p >= 5 && memcmp(x->p, "<?xml", 5) == 0 && (x->end - x->p == 5 || is_space(x->p[5]))) {
        const char *q = x->p + 5;
        while (q + 1 < x->end && !(q[0] == '?' && q[1] == '>')) {
            if (*q == '<') return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: bad declaration");
            q++;
        }
        if (q + 1 >= x->end) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: truncated declaration");
        x->p = q + 2;
    }
    while (x->p < x->end) {
        if ((rc = xml_text(x, err)) != NW_OK) return rc;
        if (x->p == x->end) break;
        x->p++; /* '<' */
        if (x->p == x->end) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: truncated");
        if (*x->p == '!' || *x->p == '?')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: comments, CDATA, DTD and PIs are not accepted");
        if (*x->p == '/') {
            x->p++;
            if ((rc = xml_end(x, err)) != NW_OK) return rc;
        } else {
            if (root_done) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: more than one root element");
            if ((rc = xml_start(x, err)) != NW_OK) return rc;
        }
        if (x->depth == 0) root_done = 1;
    }
    if (!root_done || x->depth != 0) return nw_fail(err, NW_ERR_BAD_REQUEST, "XML: truncated document");
    return NW_OK;
}

enum nw_err nw_creds_parse_sts(struct nw_host_credentials *out, long long *expires_at, const char *body, size_t len,
                               struct nw_error *err)
{
    static const char *const path[] = {"AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
                                       "Credentials"};
    enum nw_err rc = NW_OK;
    char key[sizeof(out->access_key_id)], exp[TIME_MAX + 1];
    struct xml_leaf leaves[] = {
        {"AccessKeyId", key, sizeof(key), 0, 0},
        {"SecretAccessKey", out->secret_access_key, sizeof(out->secret_access_key), 0, 0},
        {"SessionToken", out->session_token, sizeof(out->session_token), 0, 0},
        {"Expiration", exp, sizeof(exp), 0, 0},
    };
    struct xml x = {.p = body, .end = body + len, .path = path, .n_path = 3, .leaves = leaves, .n_leaves = 4};
    memset(out, 0, sizeof(*out));
    if (len > NW_CREDS_MAX_RESPONSE) NW_GUARD(nw_fail(err, NW_ERR_TOO_LARGE, "STS response too large"));
    NW_GUARD(xml_read(&x, err));
    for (size_t i = 0; i < 4; i++) {
        if (!leaves[i].seen) NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "STS response without %s", leaves[i].name));
        leaves[i].dst[leaves[i].len] = '\0';
    }
    NW_GUARD(put_value(out->access_key_id, sizeof(out->access_key_id), key, leaves[0].len, "AccessKeyId", err));
    NW_GUARD(check_value(out->secret_access_key, leaves[1].len, sizeof(out->secret_access_key), "SecretAccessKey", err));
    NW_GUARD(check_value(out->session_token, leaves[2].len, sizeof(out->session_token), "SessionToken", err));
    NW_GUARD(nw_creds_parse_time(expires_at, exp, leaves[3].len, err));
out:
    nw_wipe(key, sizeof(key));
    if (rc != NW_OK) {
        nw_host_credentials_wipe(out);
        nw_error_prefix(err, "STS");
    }
    return rc;
}

void nw_creds_sts_error_code(char *out, size_t cap, const char *body, size_t len)
{
    static const char *const path[] = {"ErrorResponse", "Error"};
    struct xml_leaf leaf = {"Code", out, cap, 0, 0};
    struct xml x = {.p = body, .end = body + len, .path = path, .n_path = 2, .leaves = &leaf, .n_leaves = 1};
    if (cap == 0) return;
    out[0] = '\0';
    if (len > NW_CREDS_MAX_RESPONSE || xml_read(&x, NULL) != NW_OK || !leaf.seen) {
        out[0] = '\0';
        return;
    }
    out[leaf.len] = '\0';
    for (size_t i = 0; i < leaf.len; i++) /* an error code is a word: keep messages clean */
        if (!name_char(out[i])) {
            out[0] = '\0';
            return;
        }
}

/* ------------------------------------------------------------- JSON */

static enum nw_err json_field(char *dst, size_t cap, const cJSON *root, const char *field, struct nw_error *err)
{
    const char *s;
    size_t n;
    const cJSON *it = nw_json_get(root, field);
    if (it == NULL) return nw_fail(err, NW_ERR_BAD_REQUEST, "%s missing", field);
    enum nw_err rc = nw_json_string(&s, &n, it, field, err);
    if (rc != NW_OK) return rc;
    return put_value(dst, cap, s, n, field, err);
}

enum nw_err nw_creds_parse_json(struct nw_host_credentials *out, long long *expires_at, const char *body, size_t len,
                                int require_success, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    cJSON *root = NULL;
    char code[32], exp[TIME_MAX + 1];
    memset(out, 0, sizeof(*out));
    NW_GUARD(nw_json_parse(&root, body, len, NW_CREDS_MAX_RESPONSE, err));
    if (!cJSON_IsObject(root)) NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "not a JSON object"));
    if (require_success) {
        NW_GUARD(json_field(code, sizeof(code), root, "Code", err));
        if (strcmp(code, "Success") != 0) NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "Code is not Success"));
    }
    NW_GUARD(json_field(out->access_key_id, sizeof(out->access_key_id), root, "AccessKeyId", err));
    NW_GUARD(json_field(out->secret_access_key, sizeof(out->secret_access_key), root, "SecretAccessKey", err));
    NW_GUARD(json_field(out->session_token, sizeof(out->session_token), root, "Token", err));
    NW_GUARD(json_field(exp, sizeof(exp), root, "Expiration", err));
    NW_GUARD(nw_creds_parse_time(expires_at, exp, strlen(exp), err));
out:
    nw_json_delete_wiped(root);
    if (rc != NW_OK) nw_host_credentials_wipe(out);
    return rc;
}
