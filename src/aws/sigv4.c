/*
 * sigv4.c - AWS Signature Version 4, header form: signing (the enclave's KMS
 * client, the host's AWS clients) and verification (nitrowallet-kms).
 * AWS General Reference, "Create a signed AWS API request": string to sign
 * "AWS4-HMAC-SHA256\n<amz-date>\n<date>/<region>/<service>/aws4_request\n
 * hex(SHA-256(canonical request))", signing key HMAC-SHA256 chained over
 * "AWS4"+secret, date, region, service, "aws4_request".
 *
 * Trust boundary: the secret access key crosses into this file (from the
 * caller when signing, from the lookup when verifying); it and every key
 * derived from it live on the stack only for the call and are wiped on every
 * path.  Verification treats the whole request as hostile: the Authorization
 * header is parsed strictly (sigv4_auth.c), the canonical request is rebuilt
 * from what arrived (sigv4_canon.c, sigv4_headers.c), and the signature is
 * compared in constant time.  docs/sigv4.md states the rules.
 */
#include "nitrowallet/sigv4.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nitrowallet/secret.h"
#include "sigv4_internal.h"

static void to_hex(char *out, const uint8_t *in, size_t n)
{
    static const char d[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void nw_sigv4_payload_hash(char out[65], const uint8_t *body, size_t len)
{
    uint8_t md[32];
    unsigned int n = 0;

    if (EVP_Digest(len ? body : (const uint8_t *)"", len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        memset(md, 0, sizeof md); /* cannot happen with the default provider; never matches a real hash */
    to_hex(out, md, 32);
}

static void put_digits(char *p, int v, int k)
{
    for (int i = k - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void nw_sigv4_amz_date(char out[17], time_t t)
{
    struct tm tm;

    memcpy(out, "00000000T000000Z", 17); /* also the answer for an unrepresentable time: no parser accepts it */
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return;
    put_digits(out, tm.tm_year + 1900, 4);
    put_digits(out + 4, tm.tm_mon + 1, 2);
    put_digits(out + 6, tm.tm_mday, 2);
    put_digits(out + 9, tm.tm_hour, 2);
    put_digits(out + 11, tm.tm_min, 2);
    put_digits(out + 13, tm.tm_sec, 2);
}

static int hmac(uint8_t out[32], const uint8_t *key, size_t klen, const void *msg, size_t mlen)
{
    unsigned int n = 0;

    return HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n) != NULL && n == 32;
}

enum nw_err nw_sigv4_signature(char sig[65], const char *secret, const char *date8, const char *region,
                               size_t region_len, const char *service, size_t service_len, const uint8_t *sts,
                               size_t sts_len, struct nw_error *err)
{
    uint8_t k0[4 + NW_SIGV4_SECRET_MAX], k[32], mac[32];
    size_t slen = secret ? strnlen(secret, NW_SIGV4_SECRET_MAX + 1) : 0;
    int ok;

    if (slen == 0 || slen > NW_SIGV4_SECRET_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: secret access key must be 1..%d bytes", NW_SIGV4_SECRET_MAX);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    ok = hmac(k, k0, 4 + slen, date8, 8) && hmac(k, k, 32, region, region_len) &&
         hmac(k, k, 32, service, service_len) && hmac(k, k, 32, "aws4_request", 12) &&
         hmac(mac, k, 32, sts, sts_len);
    to_hex(sig, mac, 32);
    nw_wipe(k0, sizeof k0);
    nw_wipe(k, sizeof k);
    nw_wipe(mac, sizeof mac);
    if (!ok) {
        nw_wipe(sig, 65);
        return nw_fail(err, NW_ERR_INTERNAL, "sigv4: HMAC-SHA256 failed");
    }
    return NW_OK;
}

enum nw_err nw_sigv4_string_to_sign(struct nw_buf *sts, const char amz[16], const char *region, size_t region_len,
                                    const char *service, size_t service_len, const struct nw_buf *creq,
                                    struct nw_error *err)
{
    char hex[65], head[128];
    int n;

    nw_sigv4_payload_hash(hex, creq->data, creq->len);
    n = snprintf(head, sizeof head, "AWS4-HMAC-SHA256\n%.16s\n%.8s/%.*s/%.*s/aws4_request\n", amz, amz,
                 (int)region_len, region, (int)service_len, service);
    if (n < 0 || (size_t)n >= sizeof head || nw_buf_append(sts, head, (size_t)n) != NW_OK ||
        nw_buf_append(sts, hex, 64) != NW_OK)
        return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: string to sign exceeds its bound");
    return NW_OK;
}

enum nw_err nw_sigv4_get_amz_date(char amz[17], time_t *t, const struct nw_sigv4_request *req, struct nw_error *err)
{
    const struct nw_http_header *h;
    size_t n = nw_sigv4_find_header(req, "x-amz-date", &h);
    const char *v;
    size_t len;
    enum nw_err rc;

    if (n != 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: need exactly one x-amz-date header, found %zu", n);
    v = h->value;
    len = h->value_len;
    nw_sigv4_trim(&v, &len);
    if ((rc = nw_sigv4_parse_amz_date(t, v, len, err)) != NW_OK)
        return rc;
    memcpy(amz, v, 16);
    amz[16] = '\0';
    return NW_OK;
}

static enum nw_err check_sign_inputs(const struct nw_sigv4_request *req, const struct nw_aws_credentials *creds,
                                     const char *region, const char *service, struct nw_error *err)
{
    const struct nw_http_header *h;

    /* room for the Authorization header: verification takes at most
     * NW_SIGV4_MAX_HEADERS headers in all */
    if (req->n_headers > NW_SIGV4_MAX_HEADERS - 1)
        return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: more than %d headers to sign", NW_SIGV4_MAX_HEADERS - 1);
    if (creds == NULL || creds->access_key_id == NULL ||
        !nw_sigv4_akid_ok(creds->access_key_id, strnlen(creds->access_key_id, NW_SIGV4_AKID_MAX + 1)))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: access key id must be 1..%d letters or digits",
                       NW_SIGV4_AKID_MAX);
    if (region == NULL || !nw_sigv4_scope_part_ok(region, strnlen(region, NW_SIGV4_SCOPE_PART_MAX + 1)) ||
        service == NULL || !nw_sigv4_scope_part_ok(service, strnlen(service, NW_SIGV4_SCOPE_PART_MAX + 1)))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: region and service must be 1..%d of [a-z0-9-]",
                       NW_SIGV4_SCOPE_PART_MAX);
    if (nw_sigv4_find_header(req, "host", NULL) != 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: need exactly one host header");
    if (nw_sigv4_find_header(req, "authorization", NULL) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: request already has an authorization header");
    if (creds->session_token != NULL) {
        size_t tlen = strlen(creds->session_token);
        const char *v;
        size_t vlen;
        if (nw_sigv4_find_header(req, "x-amz-security-token", &h) != 1)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: session token must be sent as one x-amz-security-token");
        v = h->value;
        vlen = h->value_len;
        nw_sigv4_trim(&v, &vlen);
        if (vlen != tlen || memcmp(v, creds->session_token, tlen) != 0)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "sigv4: x-amz-security-token differs from the session token");
    }
    return NW_OK;
}

static enum nw_err copy_out(struct nw_buf *dst, const struct nw_buf *src, struct nw_error *err)
{
    if (dst == NULL)
        return NW_OK;
    if (nw_buf_append(dst, src->data, src->len) != NW_OK || nw_buf_append_byte(dst, 0) != NW_OK)
        return nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: debug output exceeds its bound");
    dst->len--; /* the NUL is there but not counted */
    return NW_OK;
}

enum nw_err nw_sigv4_sign_debug(char *authorization, size_t cap, const struct nw_sigv4_request *req,
                                const struct nw_aws_credentials *creds, const char *region, const char *service,
                                struct nw_buf *creq_out, struct nw_buf *sts_out, struct nw_error *err)
{
    struct nw_buf creq, list, sts;
    char amz[17], sig[65];
    time_t t;
    int n;
    enum nw_err rc;

    nw_buf_init(&creq, NW_SIGV4_CREQ_MAX);
    nw_buf_init(&list, NW_SIGV4_AUTH_MAX);
    nw_buf_init(&sts, 256);
    memset(sig, 0, sizeof sig);
    NW_GUARD(check_sign_inputs(req, creds, region, service, err));
    NW_GUARD(nw_sigv4_get_amz_date(amz, &t, req, err));
    NW_GUARD(nw_sigv4_canonical_request(&creq, &list, req, NULL, 0, err));
    NW_GUARD(nw_sigv4_string_to_sign(&sts, amz, region, strlen(region), service, strlen(service), &creq, err));
    NW_GUARD(nw_sigv4_signature(sig, creds->secret_access_key, amz, region, strlen(region), service, strlen(service),
                                sts.data, sts.len, err));
    n = snprintf(authorization, cap, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%.*s, "
                 "Signature=%s", creds->access_key_id, amz, region, service, (int)list.len,
                 list.data ? (const char *)list.data : "", sig);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            authorization[0] = '\0';
        rc = nw_fail(err, NW_ERR_TOO_LARGE, "sigv4: Authorization needs %d bytes, have %zu", n + 1, cap);
        goto out;
    }
    NW_GUARD(copy_out(creq_out, &creq, err));
    NW_GUARD(copy_out(sts_out, &sts, err));
out:
    nw_buf_free(&creq);
    nw_buf_free(&list);
    nw_buf_free(&sts);
    return rc;
}

enum nw_err nw_sigv4_sign(char *authorization, size_t cap, const struct nw_sigv4_request *req,
                          const struct nw_aws_credentials *creds, const char *region, const char *service,
                          struct nw_error *err)
{
    return nw_sigv4_sign_debug(authorization, cap, req, creds, region, service, NULL, NULL, err);
}
