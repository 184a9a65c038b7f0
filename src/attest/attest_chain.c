/*
 * attest_chain.c - trusted roots and certificate-chain verification for
 * attestation documents.
 *
 * Follows AWS's "Verifying the root of trust" (Nitro Enclaves User Guide):
 * the document's leaf certificate must chain through the certificates of
 * its cabundle to a trusted root, each valid at the verification time.  The
 * path is built and checked by OpenSSL's X509_verify_cert (RFC 5280 path
 * validation) against an X509_STORE that holds only the configured roots;
 * the cabundle is only ever an untrusted pool of intermediates, so a
 * document that brings its own root is refused.
 *
 * Verified chains are remembered (CHAIN_CACHE_SLOTS per roots object): the
 * outcome of path validation for the same certificate bytes against the
 * same roots depends on the time only, through each certificate's validity
 * period, so a chain that verified once is accepted again, without
 * decoding or verifying it, at any time within the intersection of its
 * certificates' validity periods; any other time, or other bytes, is
 * verified in full.  An NSM's leaf certificate lives for hours, so a
 * service that checks one enclave's documents (nitrowallet-kms) verifies
 * its chain once, not on every call.  Likewise a document whose signature
 * verified is remembered by its SHA-256 (the bytes fix the leaf key and the
 * signature, so the outcome cannot change): the same document presented
 * again, as an enclave does for up to a minute (kms_client.c), skips the
 * ECDSA verification; its chain, age and expectations are still checked
 * every time.  Failures are never cached.
 *
 * Trust boundary: the
 * certificates come from untrusted documents; the roots come from the
 * binary (the AWS root) or from the operator's configuration.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest_internal.h"

#define ROOTS_PEM_MAX (1u << 20)
#define CHAIN_CACHE_SLOTS 16

struct chain_entry {
    uint8_t digest[32];           /* SHA-256 over the leaf and cabundle DER, each length-prefixed */
    int64_t not_before, not_after; /* valid at t when not_before <= t < not_after (OpenSSL's rule) */
    int used;
};

struct chain_cache {
    pthread_mutex_t mu;
    struct chain_entry slot[CHAIN_CACHE_SLOTS];
    unsigned next; /* round-robin replacement */
    unsigned long hits;
    uint8_t signed_doc[CHAIN_CACHE_SLOTS][32]; /* SHA-256 of documents whose signature verified */
    int signed_used[CHAIN_CACHE_SLOTS];
    unsigned signed_next;
};

struct nw_attest_roots {
    X509_STORE *store;
    struct chain_cache *cache; /* mutable behind a const roots: lookups only add entries */
    atomic_uint refs;
};

X509 *nw_attest_cert_decode(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (len == 0 || len > LONG_MAX)
        return NULL;
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

enum nw_err nw_attest_roots_add_pem(struct nw_attest_roots *roots, const char *pem, size_t len,
                                    struct nw_error *err)
{
    BIO *bio = NULL;
    X509 *x = NULL;
    unsigned n = 0;
    enum nw_err rc = NW_ERR_BAD_REQUEST;

    if (len > ROOTS_PEM_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "roots: PEM text larger than %u bytes", ROOTS_PEM_MAX);
    ERR_clear_error();
    if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "roots: out of memory");
        goto out;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!X509_STORE_add_cert(roots->store, x)) {
            nw_fail(err, rc, "roots: certificate %u could not be added", n + 1);
            goto out;
        }
        X509_free(x);
        x = NULL;
        n++;
    }
    /* The loop ends at the end of the text (no more BEGIN lines) or at a
     * block that does not decode. */
    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
        nw_fail(err, rc, "roots: certificate %u is not a valid PEM certificate", n + 1);
        goto out;
    }
    if (n == 0) {
        nw_fail(err, rc, "roots: no certificate in the PEM text");
        goto out;
    }
    rc = NW_OK;
out:
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

enum nw_err nw_attest_roots_from_pem(struct nw_attest_roots **out, const char *pem, size_t len,
                                     struct nw_error *err)
{
    struct nw_attest_roots *r = calloc(1, sizeof *r);
    enum nw_err rc;

    *out = NULL;
    if (r == NULL || (r->store = X509_STORE_new()) == NULL || (r->cache = calloc(1, sizeof *r->cache)) == NULL ||
        pthread_mutex_init(&r->cache->mu, NULL) != 0) {
        if (r != NULL) {
            X509_STORE_free(r->store);
            free(r->cache);
        }
        free(r);
        return nw_fail(err, NW_ERR_NOMEM, "roots: out of memory");
    }
    atomic_init(&r->refs, 1);
    rc = nw_attest_roots_add_pem(r, pem, len, err);
    if (rc != NW_OK) {
        nw_attest_roots_free(r);
        return rc;
    }
    *out = r;
    return NW_OK;
}

enum nw_err nw_attest_roots_aws(struct nw_attest_roots **out, struct nw_error *err)
{
    return nw_attest_roots_from_pem(out, nw_attest_aws_root_pem, nw_attest_aws_root_pem_len, err);
}

struct nw_attest_roots *nw_attest_roots_ref(struct nw_attest_roots *roots)
{
    atomic_fetch_add(&roots->refs, 1);
    return roots;
}

void nw_attest_roots_free(struct nw_attest_roots *roots)
{
    if (roots == NULL || atomic_fetch_sub(&roots->refs, 1) != 1)
        return;
    X509_STORE_free(roots->store);
    pthread_mutex_destroy(&roots->cache->mu);
    free(roots->cache);
    free(roots);
}

int nw_attest_roots_signed_seen(const struct nw_attest_roots *roots, const uint8_t digest[32])
{
    struct chain_cache *c = roots->cache;
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    for (unsigned i = 0; i < CHAIN_CACHE_SLOTS && !hit; i++)
        hit = c->signed_used[i] && memcmp(c->signed_doc[i], digest, 32) == 0;
    c->hits += (unsigned long)hit;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void nw_attest_roots_signed_add(const struct nw_attest_roots *roots, const uint8_t digest[32])
{
    struct chain_cache *c = roots->cache;
    pthread_mutex_lock(&c->mu);
    memcpy(c->signed_doc[c->signed_next], digest, 32);
    c->signed_used[c->signed_next] = 1;
    c->signed_next = (c->signed_next + 1) % CHAIN_CACHE_SLOTS;
    pthread_mutex_unlock(&c->mu);
}

unsigned long nw_attest_roots_cache_hits(const struct nw_attest_roots *roots)
{
    unsigned long n;
    pthread_mutex_lock(&roots->cache->mu);
    n = roots->cache->hits;
    pthread_mutex_unlock(&roots->cache->mu);
    return n;
}

static int put_len(EVP_MD_CTX *md, size_t len)
{
    uint8_t be[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    return EVP_DigestUpdate(md, be, sizeof be);
}

static int chain_digest(uint8_t out[32], const uint8_t *leaf, size_t leaf_len, const uint8_t *const *cab,
                        const size_t *cab_len, size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && put_len(md, leaf_len) &&
             EVP_DigestUpdate(md, leaf, leaf_len);
    for (size_t i = 0; ok && i < n; i++)
        ok = put_len(md, cab_len[i]) && EVP_DigestUpdate(md, cab[i], cab_len[i]);
    ok = ok && EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
    return ok;
}

static int cache_hit(struct chain_cache *c, const uint8_t digest[32], int64_t at_s)
{
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    for (unsigned i = 0; i < CHAIN_CACHE_SLOTS && !hit; i++) {
        const struct chain_entry *e = &c->slot[i];
        hit = e->used && memcmp(e->digest, digest, 32) == 0 && e->not_before <= at_s && at_s < e->not_after;
    }
    c->hits += (unsigned long)hit;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

static void cache_put(struct chain_cache *c, const uint8_t digest[32], int64_t not_before, int64_t not_after)
{
    pthread_mutex_lock(&c->mu);
    struct chain_entry *e = &c->slot[c->next];
    c->next = (c->next + 1) % CHAIN_CACHE_SLOTS;
    memcpy(e->digest, digest, 32);
    e->not_before = not_before;
    e->not_after = not_after;
    e->used = 1;
    pthread_mutex_unlock(&c->mu);
}

/* Seconds since the epoch of an ASN1_TIME; 0 if it cannot be read. */
static int asn1_seconds(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

/* The intersection of the validity periods of the verified chain. */
static int chain_window(X509_STORE_CTX *ctx, int64_t *not_before, int64_t *not_after)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    *not_before = INT64_MIN;
    *not_after = INT64_MAX;
    if (chain == NULL || sk_X509_num(chain) < 1)
        return 0;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        int64_t nb, na;
        if (!asn1_seconds(X509_get0_notBefore(x), &nb) || !asn1_seconds(X509_get0_notAfter(x), &na))
            return 0;
        if (nb > *not_before)
            *not_before = nb;
        if (na < *not_after)
            *not_after = na;
    }
    return *not_before <= *not_after;
}

static enum nw_err run_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *pool, int64_t at_s,
                              int64_t *not_before, int64_t *not_after, int *window, struct nw_error *err)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    enum nw_err rc = NW_ERR_NOMEM;
    int e;

    if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, pool)) {
        nw_fail(err, rc, "certificate chain: out of memory");
        goto out;
    }
    /* Sets X509_V_FLAG_USE_CHECK_TIME on this context's parameters only:
     * the store is shared and never changed. */
    X509_STORE_CTX_set_time(ctx, 0, (time_t)at_s);
    if (X509_verify_cert(ctx) == 1) {
        *window = chain_window(ctx, not_before, not_after);
        rc = NW_OK;
        goto out;
    }
    e = X509_STORE_CTX_get_error(ctx);
    rc = nw_fail(err, NW_ERR_ATTESTATION, "certificate chain: %s (at depth %d)",
                 X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
out:
    X509_STORE_CTX_free(ctx);
    return rc;
}

enum nw_err nw_attest_chain_verify(const struct nw_attest_roots *roots, X509 *leaf, const uint8_t *leaf_der,
                                   size_t leaf_len, const uint8_t *const *cabundle, const size_t *cabundle_len,
                                   size_t n, int64_t at_s, struct nw_error *err)
{
    STACK_OF(X509) *pool = NULL;
    X509 *x = NULL, *decoded = NULL;
    size_t i;
    enum nw_err rc = NW_ERR_NOMEM;
    uint8_t digest[32];
    int64_t not_before = 0, not_after = 0;
    int have_digest, window = 0;

    if (roots == NULL || roots->store == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "certificate chain: no trusted roots configured");
    if (n > NW_ATT_MAX_CABUNDLE || at_s < 0 || (int64_t)(time_t)at_s != at_s)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "certificate chain: bad arguments");
    have_digest = chain_digest(digest, leaf_der, leaf_len, cabundle, cabundle_len, n);
    if (have_digest && cache_hit(roots->cache, digest, at_s))
        return NW_OK;
    if (leaf == NULL && (leaf = decoded = nw_attest_cert_decode(leaf_der, leaf_len)) == NULL) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "attestation: certificate: not a DER X.509 certificate");
        goto out;
    }
    if ((pool = sk_X509_new_null()) == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        if ((x = nw_attest_cert_decode(cabundle[i], cabundle_len[i])) == NULL) {
            rc = nw_fail(err, NW_ERR_BAD_REQUEST, "cabundle[%zu]: not a DER X.509 certificate", i);
            goto out;
        }
        if (!sk_X509_push(pool, x))
            goto out;
        x = NULL;
    }
    rc = run_verify(roots->store, leaf, pool, at_s, &not_before, &not_after, &window, err);
    if (rc == NW_OK && have_digest && window)
        cache_put(roots->cache, digest, not_before, not_after);
out:
    if (rc == NW_ERR_NOMEM)
        nw_fail(err, rc, "certificate chain: out of memory");
    X509_free(x);
    X509_free(decoded);
    sk_X509_pop_free(pool, X509_free);
    ERR_clear_error();
    return rc;
}
