/*
 * sigv4_verify.c - verification of SigV4-signed requests (header form) for
 * nitrowallet-kms, in the terms AWS answers with (sigv4.h: enum
 * nw_sigv4_failure).
 *
 * Trust boundary: the whole request is network input.  Rules (docs/sigv4.md):
 * exactly one Authorization, x-amz-date and host; the Authorization in its one
 * strict form; host and x-amz-date among the signed headers, every signed
 * header present and every x-amz-* header signed; the credential's date equal
 * to x-amz-date's, its service the expected one; x-amz-date within the allowed
 * skew of now; x-amz-content-sha256, when sent, equal to the body's hash;
 * then the signature recomputed over what arrived and compared in constant
 * time.  The secret from the lookup is wiped before returning.
 */
#include "nitrowallet/sigv4.h"

#include <string.h>
#include <strings.h>

#include "nitrowallet/secret.h"
#include "sigv4_internal.h"

struct claims {
    struct nw_sigv4_auth auth;
    char amz[17];
    time_t t;
    char akid[NW_SIGV4_AKID_MAX + 1];
};

static enum nw_err refuse(enum nw_sigv4_failure *why, enum nw_sigv4_failure kind, enum nw_err rc)
{
    *why = kind;
    return rc;
}

/* The Authorization value and x-amz-date, parsed. */
static enum nw_err read_claims(struct claims *c, const struct nw_sigv4_request *req, enum nw_sigv4_failure *why,
                               struct nw_error *err)
{
    const struct nw_http_header *h;
    size_t n;
    const char *v;
    size_t len;
    enum nw_err rc;

    if (req->n_headers > NW_SIGV4_MAX_HEADERS)
        return refuse(why, NW_SIGV4_MALFORMED,
                      nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: more than %d headers", NW_SIGV4_MAX_HEADERS));
    if ((n = nw_sigv4_find_header(req, "authorization", &h)) != 1)
        return refuse(why, n ? NW_SIGV4_MALFORMED : NW_SIGV4_MISSING,
                      nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: need exactly one Authorization header, found %zu", n));
    v = h->value;
    len = h->value_len;
    nw_sigv4_trim(&v, &len);
    if ((rc = nw_sigv4_parse_authorization(&c->auth, v, len, err)) != NW_OK)
        return refuse(why, NW_SIGV4_MALFORMED, rc);
    if ((n = nw_sigv4_find_header(req, "x-amz-date", NULL)) == 0)
        return refuse(why, NW_SIGV4_MISSING, nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: no x-amz-date header"));
    if ((rc = nw_sigv4_get_amz_date(c->amz, &c->t, req, err)) != NW_OK)
        return refuse(why, NW_SIGV4_MALFORMED, rc);
    if ((n = nw_sigv4_find_header(req, "host", NULL)) != 1)
        return refuse(why, NW_SIGV4_MALFORMED,
                      nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: need exactly one host header, found %zu", n));
    memcpy(c->akid, c->auth.akid, c->auth.akid_len);
    c->akid[c->auth.akid_len] = '\0';
    return NW_OK;
}

/* Is `name` (any case) in the lowercase SignedHeaders list? */
static int listed(const struct nw_sigv4_auth *a, const char *name, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i <= a->signed_headers_len; i++) {
        if (i < a->signed_headers_len && a->signed_headers[i] != ';')
            continue;
        if (i - start == len && strncasecmp(a->signed_headers + start, name, len) == 0)
            return 1;
        start = i + 1;
    }
    return 0;
}

static int has_amz_prefix(const struct nw_http_header *h)
{
    return h->name_len >= 6 && strncasecmp(h->name, "x-amz-", 6) == 0;
}

/* host and x-amz-date signed, every signed header present, every x-amz-*
 * header signed, the Authorization header itself not signed. */
static enum nw_err check_signed_set(const struct claims *c, const struct nw_sigv4_request *req,
                                    enum nw_sigv4_failure *why, struct nw_error *err)
{
    const struct nw_sigv4_auth *a = &c->auth;
    char name[NW_SIGV4_HEADER_NAME_MAX + 1];
    size_t start = 0;

    if (!listed(a, "host", 4) || !listed(a, "x-amz-date", 10) || listed(a, "authorization", 13))
        return refuse(why, NW_SIGV4_MALFORMED,
                      nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: SignedHeaders must include host and x-amz-date"));
    for (size_t i = 0; i <= a->signed_headers_len; i++) {
        if (i < a->signed_headers_len && a->signed_headers[i] != ';')
            continue;
        memcpy(name, a->signed_headers + start, i - start); /* length checked by the parser */
        name[i - start] = '\0';
        if (nw_sigv4_find_header(req, name, NULL) == 0)
            return refuse(why, NW_SIGV4_BAD_SIGNATURE,
                          nw_fail(err, NW_ERR_POLICY_DENIED, "sigv4: signed header '%s' is not in the request", name));
        start = i + 1;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct nw_http_header *h = &req->headers[i];
        if (has_amz_prefix(h) && (h->name_len > NW_SIGV4_HEADER_NAME_MAX || !listed(a, h->name, h->name_len)))
            return refuse(why, NW_SIGV4_MALFORMED,
                          nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: header '%.*s' is not signed",
                                  (int)(h->name_len > 64 ? 64 : h->name_len), h->name));
    }
    return NW_OK;
}

static enum nw_err check_scope(const struct claims *c, const char *service, time_t now, long max_skew_s,
                               enum nw_sigv4_failure *why, struct nw_error *err)
{
    const struct nw_sigv4_auth *a = &c->auth;
    int64_t diff;

    if (memcmp(a->date, c->amz, 8) != 0)
        return refuse(why, NW_SIGV4_BAD_SIGNATURE,
                      nw_fail(err, NW_ERR_POLICY_DENIED, "sigv4: Credential date %.8s differs from x-amz-date %.8s",
                              a->date, c->amz));
    if (service == NULL || strlen(service) != a->service_len || memcmp(service, a->service, a->service_len) != 0)
        return refuse(why, NW_SIGV4_BAD_SIGNATURE,
                      nw_fail(err, NW_ERR_POLICY_DENIED, "sigv4: Credential should be scoped to service '%.32s'",
                              service ? service : ""));
    if (max_skew_s < 0 || __builtin_sub_overflow((int64_t)now, (int64_t)c->t, &diff) ||
        diff < -(int64_t)max_skew_s || diff > (int64_t)max_skew_s)
        return refuse(why, NW_SIGV4_EXPIRED,
                      nw_fail(err, NW_ERR_POLICY_DENIED, "sigv4: Signature expired: %s is more than %ld s from now",
                              c->amz, max_skew_s));
    return NW_OK;
}

/* x-amz-content-sha256, when sent, must be the body's hash: the signature
 * covers the header, so this binds the body. */
static enum nw_err check_payload(const struct nw_sigv4_request *req, enum nw_sigv4_failure *why,
                                 struct nw_error *err)
{
    const struct nw_http_header *h;
    size_t n = nw_sigv4_find_header(req, "x-amz-content-sha256", &h);
    char hex[65];
    const char *v;
    size_t len;

    if (n == 0)
        return NW_OK;
    if (n > 1)
        return refuse(why, NW_SIGV4_MALFORMED,
                      nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: more than one x-amz-content-sha256 header"));
    if (req->body == NULL && req->body_len != 0)
        return refuse(why, NW_SIGV4_MALFORMED, nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: request without body"));
    v = h->value;
    len = h->value_len;
    nw_sigv4_trim(&v, &len);
    nw_sigv4_payload_hash(hex, req->body, req->body_len);
    if (len != 64 || memcmp(v, hex, 64) != 0)
        return refuse(why, NW_SIGV4_BAD_SIGNATURE,
                      nw_fail(err, NW_ERR_POLICY_DENIED, "sigv4: x-amz-content-sha256 does not match the body"));
    return NW_OK;
}

/* Rebuild the canonical request from what arrived, sign it with `secret`,
 * compare with the claimed signature in constant time. */
static enum nw_err check_signature(const struct claims *c, const struct nw_sigv4_request *req, const char *secret,
                                   enum nw_sigv4_failure *why, struct nw_error *err)
{
    const struct nw_sigv4_auth *a = &c->auth;
    struct nw_buf creq, sts;
    char sig[65];
    enum nw_err rc;

    nw_buf_init(&creq, NW_SIGV4_CREQ_MAX);
    nw_buf_init(&sts, 256);
    memset(sig, 0, sizeof sig);
    *why = NW_SIGV4_MALFORMED;
    NW_GUARD(nw_sigv4_canonical_request(&creq, NULL, req, a->signed_headers, a->signed_headers_len, err));
    NW_GUARD(nw_sigv4_string_to_sign(&sts, c->amz, a->region, a->region_len, a->service, a->service_len, &creq, err));
    *why = NW_SIGV4_BAD_SIGNATURE;
    NW_GUARD(nw_sigv4_signature(sig, secret, a->date, a->region, a->region_len, a->service, a->service_len, sts.data,
                                sts.len, err));
    if (!nw_ct_equal(sig, a->signature, 64))
        rc = nw_fail(err, NW_ERR_POLICY_DENIED, "sigv4: The request signature does not match the one calculated");
out:
    nw_wipe(sig, sizeof sig);
    nw_buf_free(&creq);
    nw_buf_free(&sts);
    return rc;
}

static enum nw_err lookup_secret(char *secret, size_t cap, const struct claims *c, nw_sigv4_lookup_fn lookup,
                                 void *ctx, enum nw_sigv4_failure *why, struct nw_error *err)
{
    enum nw_err rc = lookup ? lookup(ctx, c->akid, secret, cap) : NW_ERR_POLICY_DENIED;

    if (rc != NW_OK)
        return refuse(why, NW_SIGV4_UNKNOWN_KEY,
                      nw_fail(err, rc, "sigv4: unknown access key id '%s'", c->akid));
    if (memchr(secret, '\0', cap) == NULL)
        return refuse(why, NW_SIGV4_UNKNOWN_KEY,
                      nw_fail(err, NW_ERR_INTERNAL, "sigv4: secret for '%s' is not terminated", c->akid));
    return NW_OK;
}

enum nw_err nw_sigv4_verify(struct nw_sigv4_verified *out, enum nw_sigv4_failure *why,
                            const struct nw_sigv4_request *req, const char *service, nw_sigv4_lookup_fn lookup,
                            void *lookup_ctx, time_t now, long max_skew_s, struct nw_error *err)
{
    struct claims c;
    char secret[NW_SIGV4_SECRET_MAX + 1];
    enum nw_sigv4_failure dummy;
    enum nw_err rc;

    if (why == NULL)
        why = &dummy;
    *why = NW_SIGV4_OK;
    memset(out, 0, sizeof *out);
    memset(secret, 0, sizeof secret);
    memset(&c, 0, sizeof c);
    NW_GUARD(read_claims(&c, req, why, err));
    NW_GUARD(check_signed_set(&c, req, why, err));
    NW_GUARD(check_scope(&c, service, now, max_skew_s, why, err));
    NW_GUARD(check_payload(req, why, err));
    NW_GUARD(lookup_secret(secret, sizeof secret, &c, lookup, lookup_ctx, why, err));
    NW_GUARD(check_signature(&c, req, secret, why, err));
    memcpy(out->access_key_id, c.akid, sizeof c.akid);
    memcpy(out->region, c.auth.region, c.auth.region_len);
    memcpy(out->service, c.auth.service, c.auth.service_len);
    memcpy(out->amz_date, c.amz, sizeof c.amz);
    *why = NW_SIGV4_OK;
out:
    nw_wipe(secret, sizeof secret);
    return rc;
}
