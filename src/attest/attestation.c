/*
 * attestation.c - AWS Nitro Enclaves attestation documents: the payload
 * parser, and verification in order (signature, chain, expectations).
 *
 * Follows AWS's "Verifying the root of trust" (Nitro Enclaves User Guide)
 * and the document definition in aws-nitro-enclaves-nsm-api: the payload
 * is a CBOR map with module_id (text), digest ("SHA384"), timestamp (uint,
 * ms since the epoch), pcrs ({index < 32: 32/48/64 bytes}), certificate and
 * cabundle (DER), and the optional public_key, user_data, nonce (bytes or
 * null).  Keys AWS may add later are skipped; a known key given twice is refused.
 * Beyond AWS's rules, PCR0 must be present (it names the enclave image and
 * tells a debug-mode enclave, whose PCRs are all zero, from a real one).
 * Trust boundary: the document is untrusted until nw_attestation_verify
 * returns NW_OK; the parse alone proves nothing.  See docs/attestation.md.
 */
#include "nitrowallet/attestation.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest_internal.h"
#include "nitrowallet/cbor.h"
#include "nitrowallet/cose.h"

#define USER_FIELD_MAX 1024 /* public_key, user_data, nonce: the NSM's limit */
#define FUTURE_SKEW_MS (5 * 60 * 1000)

enum field { F_MODULE_ID, F_DIGEST, F_TIMESTAMP, F_PCRS, F_CERTIFICATE, F_CABUNDLE, F_PUBLIC_KEY, F_USER_DATA,
             F_NONCE, F_COUNT };
#define REQUIRED_FIELDS ((1u << F_PUBLIC_KEY) - 1)

static const char *const field_name[F_COUNT] = {
    "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce",
};

/* What verification needs beyond the public struct. */
struct parsed {
    struct nw_cose_sign1 cose;
    const uint8_t *cab[NW_ATT_MAX_CABUNDLE];
    size_t cab_len[NW_ATT_MAX_CABUNDLE];
    size_t n_cab;
};

static enum nw_err read_kind(struct nw_cbor *c, struct nw_cbor_item *it, enum nw_cbor_major major,
                             const char *what, struct nw_error *err)
{
    if (nw_cbor_read(c, it, err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (it->major != major)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "not %s", what);
    return NW_OK;
}

static enum nw_err parse_module_id(struct nw_cbor *c, struct nw_attestation *a, struct nw_error *err)
{
    struct nw_cbor_item it;
    size_t i;

    if (read_kind(c, &it, NW_CBOR_TEXT, "a text string", err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (it.val == 0 || it.val >= sizeof a->module_id)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "length %llu not in 1..%zu", (unsigned long long)it.val,
                       sizeof a->module_id - 1);
    /* Printable ASCII only: it is shown to operators. */
    for (i = 0; i < it.val; i++)
        if (it.data[i] < 0x20 || it.data[i] > 0x7e)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "byte %zu is not printable ASCII", i);
    memcpy(a->module_id, it.data, (size_t)it.val);
    a->module_id[it.val] = '\0';
    return NW_OK;
}

static enum nw_err parse_digest(struct nw_cbor *c, struct nw_error *err)
{
    struct nw_cbor_item it;

    if (read_kind(c, &it, NW_CBOR_TEXT, "a text string", err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (it.val != 6 || memcmp(it.data, "SHA384", 6) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "not \"SHA384\"");
    return NW_OK;
}

static enum nw_err parse_timestamp(struct nw_cbor *c, struct nw_attestation *a, struct nw_error *err)
{
    struct nw_cbor_item it;

    if (read_kind(c, &it, NW_CBOR_UINT, "an unsigned integer", err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (it.val == 0 || it.val > (uint64_t)INT64_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "out of range");
    a->timestamp_ms = it.val;
    return NW_OK;
}

static enum nw_err parse_pcrs(struct nw_cbor *c, struct nw_attestation *a, struct nw_error *err)
{
    struct nw_cbor_item map, key, val;
    uint64_t i;

    if (read_kind(c, &map, NW_CBOR_MAP, "a map", err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (map.val == 0 || map.val > NW_ATT_NUM_PCRS)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%llu entries, expected 1..%d", (unsigned long long)map.val,
                       NW_ATT_NUM_PCRS);
    for (i = 0; i < map.val; i++) {
        if (read_kind(c, &key, NW_CBOR_UINT, "an unsigned integer index", err) != NW_OK)
            return NW_ERR_BAD_REQUEST;
        if (key.val >= NW_ATT_NUM_PCRS)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "index %llu out of range", (unsigned long long)key.val);
        if (a->pcr_present & (1u << key.val))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "PCR%u appears twice", (unsigned)key.val);
        if (read_kind(c, &val, NW_CBOR_BYTES, "a byte string", err) != NW_OK) {
            nw_error_prefix(err, "PCR%u", (unsigned)key.val);
            return NW_ERR_BAD_REQUEST;
        }
        if (val.val != 32 && val.val != 48 && val.val != 64)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "PCR%u is %llu bytes, expected 32, 48 or 64",
                           (unsigned)key.val, (unsigned long long)val.val);
        a->pcr_present |= 1u << key.val;
        a->pcr_len[key.val] = (size_t)val.val;
        memcpy(a->pcrs[key.val], val.data, (size_t)val.val);
    }
    return NW_OK;
}

/* A DER certificate: a byte string of 1..NW_ATT_MAX_CERT bytes. */
static enum nw_err parse_cert(struct nw_cbor *c, const uint8_t **p, size_t *n, struct nw_error *err)
{
    struct nw_cbor_item it;

    if (read_kind(c, &it, NW_CBOR_BYTES, "a byte string", err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (it.val == 0 || it.val > NW_ATT_MAX_CERT)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "certificate of %llu bytes, expected 1..%d",
                       (unsigned long long)it.val, NW_ATT_MAX_CERT);
    *p = it.data;
    *n = (size_t)it.val;
    return NW_OK;
}

/* AWS sends an array of 1..n certificates, root first.  Null and the empty
 * array are accepted as "no intermediates" so that a leaf without a path
 * to a configured root is refused by the chain check, with its reason. */
static enum nw_err parse_cabundle(struct nw_cbor *c, struct parsed *p, struct nw_error *err)
{
    struct nw_cbor_item arr;
    size_t i;

    if (nw_cbor_read(c, &arr, err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (arr.major == NW_CBOR_SIMPLE && arr.val == NW_CBOR_NULL)
        return NW_OK;
    if (arr.major != NW_CBOR_ARRAY)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "not an array or null");
    if (arr.val > NW_ATT_MAX_CABUNDLE)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%llu certificates, at most %d", (unsigned long long)arr.val,
                       NW_ATT_MAX_CABUNDLE);
    p->n_cab = (size_t)arr.val;
    for (i = 0; i < p->n_cab; i++) {
        if (parse_cert(c, &p->cab[i], &p->cab_len[i], err) != NW_OK) {
            nw_error_prefix(err, "[%zu]", i);
            return NW_ERR_BAD_REQUEST;
        }
    }
    return NW_OK;
}

/* public_key, user_data, nonce: bytes (at most USER_FIELD_MAX) or null. */
static enum nw_err parse_optional(struct nw_cbor *c, const uint8_t **p, size_t *n, struct nw_error *err)
{
    struct nw_cbor_item it;

    if (nw_cbor_read(c, &it, err) != NW_OK)
        return NW_ERR_BAD_REQUEST;
    if (it.major == NW_CBOR_SIMPLE && it.val == NW_CBOR_NULL)
        return NW_OK;
    if (it.major != NW_CBOR_BYTES)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "not a byte string or null");
    if (it.val > USER_FIELD_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%llu bytes, at most %d", (unsigned long long)it.val,
                       USER_FIELD_MAX);
    *p = it.data;
    *n = (size_t)it.val;
    return NW_OK;
}

static enum nw_err parse_field(struct nw_cbor *c, enum field f, struct nw_attestation *a, struct parsed *p,
                               struct nw_error *err)
{
    switch (f) {
    case F_MODULE_ID: return parse_module_id(c, a, err);
    case F_DIGEST: return parse_digest(c, err);
    case F_TIMESTAMP: return parse_timestamp(c, a, err);
    case F_PCRS: return parse_pcrs(c, a, err);
    case F_CERTIFICATE: return parse_cert(c, &a->certificate, &a->certificate_len, err);
    case F_CABUNDLE: return parse_cabundle(c, p, err);
    case F_PUBLIC_KEY: return parse_optional(c, &a->public_key, &a->public_key_len, err);
    case F_USER_DATA: return parse_optional(c, &a->user_data, &a->user_data_len, err);
    case F_NONCE: return parse_optional(c, &a->nonce, &a->nonce_len, err);
    case F_COUNT: break;
    }
    return nw_fail(err, NW_ERR_INTERNAL, "unknown field");
}

static int find_field(const struct nw_cbor_item *key)
{
    int f;

    for (f = 0; f < F_COUNT; f++)
        if (strlen(field_name[f]) == key->val && memcmp(field_name[f], key->data, (size_t)key->val) == 0)
            return f;
    return -1;
}

static enum nw_err parse_payload(struct nw_attestation *a, struct parsed *p, struct nw_error *err)
{
    struct nw_cbor c;
    struct nw_cbor_item map, key;
    unsigned seen = 0;
    uint64_t i;
    int f;

    nw_cbor_init(&c, p->cose.payload, p->cose.payload_len);
    if (read_kind(&c, &map, NW_CBOR_MAP, "a map", err) != NW_OK)
        goto bad;
    for (i = 0; i < map.val; i++) {
        if (read_kind(&c, &key, NW_CBOR_TEXT, "a text key", err) != NW_OK)
            goto bad;
        if ((f = find_field(&key)) < 0) {
            if (nw_cbor_skip(&c, err) != NW_OK)
                goto bad;
            continue;
        }
        if (seen & (1u << f))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: %s appears twice", field_name[f]);
        seen |= 1u << f;
        if (parse_field(&c, (enum field)f, a, p, err) != NW_OK) {
            nw_error_prefix(err, "attestation: %s", field_name[f]);
            return NW_ERR_BAD_REQUEST;
        }
    }
    if (!nw_cbor_at_end(&c))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: bytes after the payload map");
    for (f = 0; f < F_COUNT; f++)
        if ((REQUIRED_FIELDS & (1u << f)) && !(seen & (1u << f)))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: %s missing", field_name[f]);
    return NW_OK;
bad:
    nw_error_prefix(err, "attestation: payload");
    return NW_ERR_BAD_REQUEST;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static enum nw_err parse_doc(struct nw_attestation *a, struct parsed *p, const uint8_t *doc, size_t len,
                             struct nw_error *err)
{
    enum nw_err rc;

    memset(a, 0, sizeof *a);
    memset(p, 0, sizeof *p);
    if (doc == NULL || len == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: empty document");
    if (len > NW_ATT_MAX_DOC)
        return nw_fail(err, NW_ERR_TOO_LARGE, "attestation: document of %zu bytes exceeds %u", len,
                       NW_ATT_MAX_DOC);
    if ((rc = nw_cose_sign1_parse(&p->cose, doc, len, err)) != NW_OK)
        return rc;
    if ((rc = parse_payload(a, p, err)) != NW_OK)
        return rc;
    if (!(a->pcr_present & 1u))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: pcrs: PCR0 missing");
    a->is_debug = all_zero(a->pcrs[0], a->pcr_len[0]);
    return NW_OK;
}

enum nw_err nw_attestation_parse(struct nw_attestation *out, const uint8_t *doc, size_t len, struct nw_error *err)
{
    struct parsed p;

    return parse_doc(out, &p, doc, len, err);
}

/* --- verification ------------------------------------------------------------ */

static enum nw_err check_pcrs(const struct nw_attestation *a, const struct nw_attest_expect *x,
                              struct nw_error *err)
{
    size_t i;

    for (i = 0; i < x->n_pcrs; i++) {
        const struct nw_attest_pcr *want = &x->pcrs[i];

        if (want->index >= NW_ATT_NUM_PCRS || want->len > NW_ATT_PCR_MAX)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "expected PCR%u: bad index or length", want->index);
        if (!(a->pcr_present & (1u << want->index)))
            return nw_fail(err, NW_ERR_ATTESTATION, "PCR%u missing from the document", want->index);
        if (a->pcr_len[want->index] != want->len ||
            memcmp(a->pcrs[want->index], want->value, want->len) != 0)
            return nw_fail(err, NW_ERR_ATTESTATION, "PCR%u does not match", want->index);
    }
    return NW_OK;
}

/* The caller's expectations, after signature and chain are known good. */
static enum nw_err check_expectations(const struct nw_attestation *a, const struct nw_attest_expect *x,
                                      int64_t at_ms, struct nw_error *err)
{
    uint64_t at = (uint64_t)at_ms;
    enum nw_err rc;

    if (a->is_debug && !x->allow_debug)
        return nw_fail(err, NW_ERR_ATTESTATION, "debug-mode enclave (PCR0 all zero)");
    if (a->timestamp_ms > at + FUTURE_SKEW_MS)
        return nw_fail(err, NW_ERR_ATTESTATION, "timestamp is %llu ms in the future",
                       (unsigned long long)(a->timestamp_ms - at));
    if (x->max_age_ms != 0 && at > a->timestamp_ms && at - a->timestamp_ms > x->max_age_ms)
        return nw_fail(err, NW_ERR_ATTESTATION, "document too old: %llu ms, at most %llu ms",
                       (unsigned long long)(at - a->timestamp_ms), (unsigned long long)x->max_age_ms);
    if ((rc = check_pcrs(a, x, err)) != NW_OK)
        return rc;
    if (x->nonce != NULL) {
        if (a->nonce == NULL)
            return nw_fail(err, NW_ERR_ATTESTATION, "nonce missing from the document");
        if (a->nonce_len != x->nonce_len || memcmp(a->nonce, x->nonce, x->nonce_len) != 0)
            return nw_fail(err, NW_ERR_ATTESTATION, "nonce does not match");
    }
    return NW_OK;
}

static enum nw_err verification_time(int64_t *at_ms, const struct nw_attest_expect *x, struct nw_error *err)
{
    struct timespec ts;

    if (x->at_ms < 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "verification time before 1970");
    if (x->at_ms > 0) {
        *at_ms = x->at_ms;
        return NW_OK;
    }
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return nw_fail(err, NW_ERR_INTERNAL, "clock unavailable");
    *at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return NW_OK;
}

enum nw_err nw_attestation_verify(struct nw_attestation *out, const uint8_t *doc, size_t len,
                                  const struct nw_attest_roots *roots, const struct nw_attest_expect *expect,
                                  struct nw_error *err)
{
    static const struct nw_attest_expect defaults;
    struct parsed p;
    X509 *leaf = NULL;
    int64_t at_ms = 0;
    uint8_t digest[32];
    int have_digest;
    enum nw_err rc;

    if (expect == NULL)
        expect = &defaults;
    NW_GUARD(parse_doc(out, &p, doc, len, err));
    NW_GUARD(verification_time(&at_ms, expect, err));
    /* 1. The leaf's key signed the document (one ECDSA verification:
     * checked first so that altered documents cost least; skipped for the
     * very bytes verified before with these roots: attest_chain.c); 2. the
     * leaf chains to a configured root at the verification time.  Both must
     * hold; the order only decides which reason a doubly bad document gets. */
    have_digest = roots != NULL && EVP_Digest(doc, len, digest, NULL, EVP_sha256(), NULL) == 1;
    if (!have_digest || !nw_attest_roots_signed_seen(roots, digest)) {
        if ((leaf = nw_attest_cert_decode(out->certificate, out->certificate_len)) == NULL) {
            rc = nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: certificate: not a DER X.509 certificate");
            goto out;
        }
        NW_GUARD(nw_cose_sign1_verify_es384(&p.cose, X509_get0_pubkey(leaf), err));
        if (have_digest)
            nw_attest_roots_signed_add(roots, digest);
    }
    NW_GUARD(nw_attest_chain_verify(roots, leaf, out->certificate, out->certificate_len, p.cab, p.cab_len,
                                    p.n_cab, at_ms / 1000, err));
    /* 3. What the caller expects of this enclave and this document. */
    NW_GUARD(check_expectations(out, expect, at_ms, err));
out:
    X509_free(leaf);
    ERR_clear_error();
    return rc;
}
