/*
 * devca.c - the emulated NSM's P-384 certificate chain (development only).
 *
 * Shape follows AWS's (docs/attestation_process.md of
 * aws/aws-nitro-enclaves-nsm-api, and the chains in real documents): a
 * long-lived root, an intermediate, and a leaf that lives 3 hours and
 * signs documents with ECDSA P-384 / SHA-384.  Every subject says
 * DEVELOPMENT and "not AWS", so nobody mistakes this material for Nitro's.
 *
 * State directory (devstate.c does the file handling):
 *   nsm-dev-root-key.pem          root private key, PKCS#8 PEM, 0600
 *   nsm-dev-root.pem              root certificate (NW_NSM_DEV_ROOT_FILE), the
 *                                 file a verifier trusts; written last, so
 *                                 its presence marks a complete chain
 *   nsm-dev-intermediate-key.pem  intermediate private key, 0600
 *   nsm-dev-intermediate.pem      intermediate certificate
 *   nsm-dev.lock                  flock'd while the chain is read or made
 * The leaf and its key stay in memory and are re-issued when less than 30
 * minutes remain.  An existing chain is never replaced: if the root
 * certificate is present but the rest is missing or inconsistent, opening
 * fails and says so.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "devca.h"
#include "nitrowallet/nsm.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/x509.h"

#define ROOT_CN "nitrowallet DEVELOPMENT NSM root - not AWS"
#define INTER_CN "nitrowallet DEVELOPMENT NSM intermediate - not AWS"
#define DEV_O "nitrowallet development"
#define DEV_OU "DEVELOPMENT - not AWS Nitro"
#define DAYS(n) ((time_t)86400 * (n))
#define ROOT_LIFETIME DAYS(30 * 365)
#define INTER_LIFETIME DAYS(20 * 365)
#define BACKDATE 60 /* seconds; tolerate small clock differences */

struct nw_devca {
    X509 *root, *inter, *leaf;
    EVP_PKEY *inter_key, *leaf_key;
    uint8_t *root_der, *inter_der, *leaf_der;
    size_t root_len, inter_len, leaf_len;
    time_t leaf_not_after;
    char leaf_cn[65];
};

enum cert_kind { CERT_ROOT, CERT_INTER, CERT_LEAF };

static enum nw_err ossl_fail(struct nw_error *err, const char *what)
{
    return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: %s failed", what);
}

static EVP_PKEY *new_p384_key(void)
{
    return EVP_EC_gen("P-384");
}

static const struct nw_x509_ext root_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};
static const struct nw_x509_ext inter_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};
static const struct nw_x509_ext leaf_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_authority_key_identifier, "keyid:always"},
};
static const struct {
    const struct nw_x509_ext *list;
    size_t n;
} kind_exts[] = {
    [CERT_ROOT] = {root_exts, sizeof root_exts / sizeof root_exts[0]},
    [CERT_INTER] = {inter_exts, sizeof inter_exts / sizeof inter_exts[0]},
    [CERT_LEAF] = {leaf_exts, sizeof leaf_exts / sizeof leaf_exts[0]},
};

/* A certificate for `key` named `cn`, valid from now - BACKDATE to now +
 * `lifetime` seconds, signed by (issuer, issuer_key); a root when issuer is
 * NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, enum cert_kind kind,
                       time_t now, time_t lifetime)
{
    const struct nw_x509_spec spec = {
        .key = key,
        .subject = {.o = DEV_O, .ou = DEV_OU, .cn = cn},
        .issuer = issuer,
        .issuer_key = issuer_key,
        .not_before = now - BACKDATE,
        .not_after = now + lifetime,
        .exts = kind_exts[kind].list,
        .n_exts = kind_exts[kind].n,
        .md = EVP_sha384(),
    };
    X509 *x;

    return nw_x509_make(&x, &spec, NULL) == NW_OK ? x : NULL;
}

static enum nw_err der_of(X509 *x, uint8_t **der, size_t *len, struct nw_error *err)
{
    int n;

    OPENSSL_free(*der);
    *der = NULL;
    n = i2d_X509(x, der);
    if (n <= 0)
        return ossl_fail(err, "certificate encoding");
    *len = (size_t)n;
    return NW_OK;
}

/* --- PEM files ---------------------------------------------------------------- */

/* Write a private key (0600) or a certificate as PEM, atomically. */
static enum nw_err write_pem(int dirfd, const char *name, EVP_PKEY *key, X509 *cert, struct nw_error *err)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    enum nw_err rc;
    char *data;
    long n;

    if (bio == NULL)
        return ossl_fail(err, "BIO_new");
    if (key ? !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) : !PEM_write_bio_X509(bio, cert)) {
        BIO_free(bio);
        return ossl_fail(err, "PEM encoding");
    }
    n = BIO_get_mem_data(bio, &data);
    rc = nw_devstate_write(dirfd, name, data, (size_t)n, key ? 0600 : 0644, err);
    BIO_free(bio); /* a secmem BIO clears its buffer */
    return rc;
}

/* Read one PEM object: a private key when `key` is given, else a certificate. */
static enum nw_err read_pem(int dirfd, const char *name, EVP_PKEY **key, X509 **cert, struct nw_error *err)
{
    struct nw_buf text;
    enum nw_err rc;
    BIO *bio = NULL;

    nw_buf_init(&text, NW_DEVSTATE_FILE_MAX);
    NW_GUARD(nw_devstate_read(dirfd, name, key != NULL, &text, err));
    if (text.len == 0) {
        rc = nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: %s is empty", name);
        goto out;
    }
    bio = BIO_new_mem_buf(text.data, (int)text.len);
    if (bio == NULL) {
        rc = ossl_fail(err, "BIO_new_mem_buf");
        goto out;
    }
    if (key)
        *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    else
        *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (key ? *key == NULL : *cert == NULL)
        rc = nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: %s does not hold a PEM %s", name,
                     key ? "private key" : "certificate");
out:
    BIO_free(bio);
    nw_buf_free(&text); /* wipes */
    return rc;
}

/* --- the chain --------------------------------------------------------------- */

static enum nw_err create_chain(struct nw_devca *ca, int dirfd, struct nw_error *err)
{
    EVP_PKEY *root_key = new_p384_key();
    time_t now = time(NULL);
    enum nw_err rc = NW_OK;

    ca->inter_key = new_p384_key();
    if (root_key == NULL || ca->inter_key == NULL) {
        rc = ossl_fail(err, "P-384 key generation");
        goto out;
    }
    ca->root = make_cert(root_key, ROOT_CN, NULL, NULL, CERT_ROOT, now, ROOT_LIFETIME);
    ca->inter =
        ca->root ? make_cert(ca->inter_key, INTER_CN, ca->root, root_key, CERT_INTER, now, INTER_LIFETIME) : NULL;
    if (ca->inter == NULL) {
        rc = ossl_fail(err, "development certificate creation");
        goto out;
    }
    /* The root certificate last: it marks the chain complete. */
    NW_GUARD(write_pem(dirfd, NW_DEVCA_ROOT_KEY_FILE, root_key, NULL, err));
    NW_GUARD(write_pem(dirfd, NW_DEVCA_INTER_KEY_FILE, ca->inter_key, NULL, err));
    NW_GUARD(write_pem(dirfd, NW_DEVCA_INTER_FILE, NULL, ca->inter, err));
    NW_GUARD(write_pem(dirfd, NW_NSM_DEV_ROOT_FILE, NULL, ca->root, err));
out:
    EVP_PKEY_free(root_key);
    return rc;
}

static int is_p384(EVP_PKEY *key)
{
    char group[32];
    size_t n = 0;
    return EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_group_name(key, group, sizeof group, &n) &&
           strcmp(group, "secp384r1") == 0;
}

/* Load every file of a complete chain and check that they belong together;
 * the root key is only checked (it signs nothing after creation). */
static enum nw_err load_chain(struct nw_devca *ca, int dirfd, struct nw_error *err)
{
    time_t need = time(NULL) + NW_DEVCA_LEAF_SECONDS;
    EVP_PKEY *root_key = NULL;
    enum nw_err rc;
    int ok;

    if ((rc = read_pem(dirfd, NW_NSM_DEV_ROOT_FILE, NULL, &ca->root, err)) != NW_OK ||
        (rc = read_pem(dirfd, NW_DEVCA_ROOT_KEY_FILE, &root_key, NULL, err)) != NW_OK ||
        (rc = read_pem(dirfd, NW_DEVCA_INTER_FILE, NULL, &ca->inter, err)) != NW_OK ||
        (rc = read_pem(dirfd, NW_DEVCA_INTER_KEY_FILE, &ca->inter_key, NULL, err)) != NW_OK) {
        EVP_PKEY_free(root_key);
        nw_error_prefix(err, "emulated NSM state damaged (remove the directory to start over)");
        return rc;
    }
    ok = X509_verify(ca->root, X509_get0_pubkey(ca->root)) == 1 && X509_check_private_key(ca->root, root_key) == 1 &&
         X509_verify(ca->inter, X509_get0_pubkey(ca->root)) == 1 && is_p384(ca->inter_key) &&
         X509_check_private_key(ca->inter, ca->inter_key) == 1;
    EVP_PKEY_free(root_key);
    if (!ok)
        return nw_fail(err, NW_ERR_UNAVAILABLE,
                       "emulated NSM state damaged: the development chain is inconsistent (remove the directory "
                       "to start over)");
    if (X509_cmp_time(X509_get0_notAfter(ca->inter), &need) <= 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE,
                       "emulated NSM: the development intermediate expires within 3 hours (remove the state "
                       "directory to start over)");
    return NW_OK;
}

enum nw_err nw_devca_open(struct nw_devca **out, const char *state_dir, struct nw_error *err)
{
    struct nw_devca *ca = calloc(1, sizeof *ca);
    int dirfd = -1, lockfd = -1;
    enum nw_err rc;

    *out = NULL;
    if (ca == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "emulated NSM: out of memory");
    NW_GUARD(nw_devstate_open_dir(&dirfd, state_dir, err));
    NW_GUARD(nw_devstate_lock(dirfd, &lockfd, err));
    if (nw_devstate_exists(dirfd, NW_NSM_DEV_ROOT_FILE))
        NW_GUARD(load_chain(ca, dirfd, err));
    else
        NW_GUARD(create_chain(ca, dirfd, err));
    NW_GUARD(der_of(ca->root, &ca->root_der, &ca->root_len, err));
    NW_GUARD(der_of(ca->inter, &ca->inter_der, &ca->inter_len, err));
    *out = ca;
    ca = NULL;
out:
    if (lockfd >= 0)
        close(lockfd);
    if (dirfd >= 0)
        close(dirfd);
    nw_devca_free(ca);
    ERR_clear_error(); /* leave no OpenSSL errors behind for the caller's next call */
    return rc;
}

void nw_devca_free(struct nw_devca *ca)
{
    if (ca == NULL)
        return;
    X509_free(ca->root);
    X509_free(ca->inter);
    X509_free(ca->leaf);
    EVP_PKEY_free(ca->inter_key);
    EVP_PKEY_free(ca->leaf_key);
    OPENSSL_free(ca->root_der);
    OPENSSL_free(ca->inter_der);
    OPENSSL_free(ca->leaf_der);
    free(ca);
}

enum nw_err nw_devca_leaf_refresh(struct nw_devca *ca, time_t now, const char *cn, struct nw_error *err)
{
    EVP_PKEY *key;
    X509 *leaf;
    size_t n = strlen(cn);

    if (n == 0 || n >= sizeof ca->leaf_cn)
        return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: leaf name of %zu bytes", n);
    if (ca->leaf != NULL && strcmp(cn, ca->leaf_cn) == 0 && ca->leaf_not_after - now >= NW_DEVCA_LEAF_MIN_LEFT)
        return NW_OK;
    key = new_p384_key();
    leaf = key ? make_cert(key, cn, ca->inter, ca->inter_key, CERT_LEAF, now, NW_DEVCA_LEAF_SECONDS) : NULL;
    if (leaf == NULL || der_of(leaf, &ca->leaf_der, &ca->leaf_len, err) != NW_OK) {
        X509_free(leaf);
        EVP_PKEY_free(key);
        ca->leaf_len = 0;
        X509_free(ca->leaf);
        EVP_PKEY_free(ca->leaf_key);
        ca->leaf = NULL, ca->leaf_key = NULL;
        ERR_clear_error();
        return ossl_fail(err, "development leaf issuance");
    }
    X509_free(ca->leaf);
    EVP_PKEY_free(ca->leaf_key);
    ca->leaf = leaf;
    ca->leaf_key = key;
    ca->leaf_not_after = now + NW_DEVCA_LEAF_SECONDS;
    memcpy(ca->leaf_cn, cn, n + 1);
    return NW_OK;
}

void nw_devca_view(const struct nw_devca *ca, struct nw_devca_view *v)
{
    v->root_der = ca->root_der, v->root_len = ca->root_len;
    v->inter_der = ca->inter_der, v->inter_len = ca->inter_len;
    v->leaf_der = ca->leaf_der, v->leaf_len = ca->leaf_len;
    v->leaf_key = ca->leaf_key;
}
