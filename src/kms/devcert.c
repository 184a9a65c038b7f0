/*
 * devcert.c - nitrowallet-kms's TLS material: a development CA kept in the
 * state directory (<state>/ca.pem, key <state>/ca-key.pem, 0600; P-256,
 * ten years) and a server certificate made fresh at every start, signed by
 * that CA, with subjectAltName IP:127.0.0.1, IP:::1, DNS:localhost and
 * DNS:kms.<region>.amazonaws.com (and .amazonaws.com.cn for China
 * regions), so a client given --ca <state>/ca.pem can verify either the
 * loopback address or the AWS endpoint name it sends in SNI.
 *
 * Certificates follow RFC 5280 closely enough for strict verifiers
 * (basicConstraints, keyUsage, subject/authority key identifiers).  All of
 * it names itself as development material.
 *
 * Trust boundary: the state directory is the operator's; the CA key must
 * never leave it (anyone with it can impersonate KMS to local clients).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kms_internal.h"
#include "nitrowallet/x509.h"

#define DEV_O "nitrowallet development"
#define DAYS(n) ((time_t)86400 * (n))
#define CA_DAYS 3650
#define LEAF_DAYS 365
#define BACKDATE 3600 /* seconds before now; tolerates clock differences */

static const struct nw_x509_ext ca_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};

/* A certificate for `key`: self-signed CA when issuer is NULL, else a
 * server certificate with subjectAltName `san`. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *san)
{
    const struct nw_x509_ext leaf_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {NID_subject_alt_name, san},
    };
    time_t now = time(NULL);
    const struct nw_x509_spec spec = {
        .key = key,
        .subject = {.o = DEV_O, .cn = cn},
        .issuer = issuer,
        .issuer_key = issuer_key,
        .not_before = now - BACKDATE,
        .not_after = now + DAYS(issuer ? LEAF_DAYS : CA_DAYS),
        .exts = issuer ? leaf_exts : ca_exts,
        .n_exts = issuer ? sizeof leaf_exts / sizeof leaf_exts[0] : sizeof ca_exts / sizeof ca_exts[0],
        .md = EVP_sha256(),
    };
    X509 *x;

    return nw_x509_make(&x, &spec, NULL) == NW_OK ? x : NULL;
}

/* PEM of a certificate or a private key, written atomically. */
static enum nw_err write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key, struct nw_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    enum nw_err rc;

    if (b == NULL ||
        !(cert ? PEM_write_bio_X509(b, cert) : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))) {
        BIO_free(b);
        return nw_fail(err, NW_ERR_INTERNAL, "cannot encode %s", name);
    }
    len = BIO_get_mem_data(b, &data);
    rc = kms_write_atomic(dir, name, data, (size_t)len, cert ? 0644 : 0600, 1, err);
    nw_wipe(data, (size_t)len);
    BIO_free(b);
    return rc;
}

static enum nw_err create_ca(const char *dir, X509 **ca, EVP_PKEY **key, struct nw_error *err)
{
    enum nw_err rc;

    *key = EVP_EC_gen("P-256");
    *ca = *key ? make_cert(*key, "nitrowallet-kms development CA (not for production)", NULL, NULL, NULL) : NULL;
    if (*ca == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "cannot create the development CA");
    if ((rc = write_pem(dir, "ca-key.pem", NULL, *key, err)) != NW_OK)
        return rc;
    return write_pem(dir, "ca.pem", *ca, NULL, err);
}

static enum nw_err load_ca(const char *dir, X509 **ca, EVP_PKEY **key, struct nw_error *err)
{
    char cert_path[4096], key_path[4096];
    struct stat st;
    int have_cert, have_key;
    BIO *b;

    snprintf(cert_path, sizeof cert_path, "%s/ca.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/ca-key.pem", dir);
    have_cert = stat(cert_path, &st) == 0;
    have_key = stat(key_path, &st) == 0;
    if (!have_cert && !have_key)
        return create_ca(dir, ca, key, err);
    if (!have_cert || !have_key)
        return nw_fail(err, NW_ERR_INTERNAL, "%s and %s must both exist (or both be absent)", cert_path, key_path);
    if ((b = BIO_new_file(cert_path, "r")) != NULL)
        *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if ((b = BIO_new_file(key_path, "r")) != NULL)
        *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    if (*ca == NULL || *key == NULL || !X509_check_private_key(*ca, *key))
        return nw_fail(err, NW_ERR_INTERNAL, "cannot load the development CA from %s and %s", cert_path, key_path);
    if (X509_cmp_current_time(X509_get0_notAfter(*ca)) <= 0)
        return nw_fail(err, NW_ERR_INTERNAL, "the development CA %s has expired: remove it and ca-key.pem", cert_path);
    return NW_OK;
}

static enum nw_err san_for(char *out, size_t cap, const char *region, struct nw_error *err)
{
    int china = strncmp(region, "cn-", 3) == 0;

    if (strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "region may contain only a-z, 0-9 and '-'");
    snprintf(out, cap, "IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kms.%s.amazonaws.com%s%s%s", region,
             china ? ",DNS:kms." : "", china ? region : "", china ? ".amazonaws.com.cn" : "");
    return NW_OK;
}

enum nw_err kms_devcert_ssl_ctx(struct ssl_ctx_st **out, const char *state_dir, const char *region,
                                struct nw_error *err)
{
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    SSL_CTX *ctx = NULL;
    char san[256];
    enum nw_err rc = NW_OK;

    *out = NULL;
    NW_GUARD(san_for(san, sizeof san, region, err));
    NW_GUARD(kms_mkdirs(state_dir, 0700, err));
    NW_GUARD(load_ca(state_dir, &ca, &ca_key, err));
    key = EVP_EC_gen("P-256");
    leaf = key ? make_cert(key, "nitrowallet-kms (development)", ca, ca_key, san) : NULL;
    ctx = SSL_CTX_new(TLS_server_method());
    if (leaf == NULL || ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_use_certificate(ctx, leaf) || !SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx)) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "cannot set up TLS with a fresh server certificate");
        goto out;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    *out = ctx;
    ctx = NULL;
out:
    SSL_CTX_free(ctx);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}
