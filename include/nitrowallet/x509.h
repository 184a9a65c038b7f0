/*
 * x509.h - build and sign an X.509 v3 certificate (RFC 5280) with OpenSSL.
 *
 * The certificates nitrowallet makes itself are all development or
 * in-process material: the emulated NSM's P-384 chain (src/attest/devca.c),
 * nitrowallet-kms's local CA and server certificate (src/kms/devcert.c) and
 * the throwaway shell that carries a CMS recipient key (src/aws/cms_seal.c).
 * They share one recipe, kept here: version 3, a random positive 128-bit
 * serial (RFC 5280 4.1.2.2), subject O/OU/CN, issuer name taken from the
 * issuer certificate, extensions in OpenSSL's configuration syntax with the
 * issuer as context (so "keyid:always" and "hash" resolve), then the
 * signature.  Nothing here parses untrusted input.
 */
#ifndef NITROWALLET_X509_H
#define NITROWALLET_X509_H

#include <stddef.h>
#include <time.h>

#include "nitrowallet/error.h"

struct x509_st;     /* OpenSSL's X509 */
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */
struct evp_md_st;   /* OpenSSL's EVP_MD */

/* A distinguished name: O, OU, CN in this order; a NULL part is left out
 * (all NULL: the empty name). */
struct nw_x509_name {
    const char *o;
    const char *ou;
    const char *cn;
};

/* One extension: an OpenSSL NID (NID_basic_constraints, ...) and its value
 * in OpenSSL's configuration syntax ("critical,CA:TRUE", "hash",
 * "keyid:always", "IP:127.0.0.1,DNS:localhost", or hex for an octet string). */
struct nw_x509_ext {
    int nid;
    const char *value;
};

struct nw_x509_spec {
    struct evp_pkey_st *key; /* the subject's public key */
    struct nw_x509_name subject;
    struct x509_st *issuer;         /* NULL: self-issued (issuer name = subject name) */
    struct evp_pkey_st *issuer_key; /* signs; NULL: `key` itself (self-signed) */
    time_t not_before, not_after;   /* both 0: no validity (a shell that never leaves the process) */
    const struct nw_x509_ext *exts; /* added in this order */
    size_t n_exts;
    const struct evp_md_st *md; /* signature digest; NULL for Ed25519 */
};

/*
 * Build and sign the certificate `spec` describes; the caller frees *out
 * with X509_free.  On failure *out is NULL and the error is NW_ERR_RANDOM
 * (no serial) or NW_ERR_INTERNAL (OpenSSL refused a part); `err` may be NULL.
 * OpenSSL's error queue is left to the caller.
 */
NW_MUST_CHECK enum nw_err nw_x509_make(struct x509_st **out, const struct nw_x509_spec *spec, struct nw_error *err);

#endif
