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
 * document that brings its own root is refused.  Trust boundary: the
 * certificates come from untrusted documents; the roots come from the
 * binary (the AWS root) or from the operator's configuration.
 */
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest_internal.h"

#define ROOTS_PEM_MAX (1u << 20)

struct nw_attest_roots {
    X509_STORE *store;
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
    if (r == NULL || (r->store = X509_STORE_new()) == NULL) {
        free(r);
        return nw_fail(err, NW_ERR_NOMEM, "roots: out of memory");
    }
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

void nw_attest_roots_free(struct nw_attest_roots *roots)
{
    if (roots == NULL)
        return;
    X509_STORE_free(roots->store);
    free(roots);
}

static enum nw_err run_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *pool, int64_t at_s,
                              struct nw_error *err)
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

enum nw_err nw_attest_chain_verify(const struct nw_attest_roots *roots, X509 *leaf,
                                   const uint8_t *const *cabundle, const size_t *cabundle_len, size_t n,
                                   int64_t at_s, struct nw_error *err)
{
    STACK_OF(X509) *pool = NULL;
    X509 *x = NULL;
    size_t i;
    enum nw_err rc = NW_ERR_NOMEM;

    if (roots == NULL || roots->store == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "certificate chain: no trusted roots configured");
    if (n > NW_ATT_MAX_CABUNDLE || at_s < 0 || (int64_t)(time_t)at_s != at_s)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "certificate chain: bad arguments");
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
    rc = run_verify(roots->store, leaf, pool, at_s, err);
out:
    if (rc == NW_ERR_NOMEM)
        nw_fail(err, rc, "certificate chain: out of memory");
    X509_free(x);
    sk_X509_pop_free(pool, X509_free);
    ERR_clear_error();
    return rc;
}
