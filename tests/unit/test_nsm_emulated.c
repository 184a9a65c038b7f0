/*
 * test_nsm_emulated.c - the development NSM end to end: its documents
 * verify with the development root through the attestation verifier
 * (src/attest/attestation.c) and are refused with the AWS root; they have
 * the layout of a real AWS document (tests/data/attestation/nitro_prod.cbor)
 * and serde's field order (tests/data/nsm_api_serde_cbor.txt); PCR0 is the
 * SHA-384 of the running binary (a modified copy of this test binary
 * attests differently); the state directory is created once, reused, safe
 * under concurrent first use by processes and threads, and never silently
 * replaced when damaged.
 *
 * Run from the repository root (tests/run.sh does), or set NW_SRCDIR.
 * Temporary state goes under $TMPDIR (default /tmp) and is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../src/attest/devca.h"
#include "nitrowallet/attestation.h"
#include "nitrowallet/cbor.h"
#include "nitrowallet/nsm.h"
#include "nitrowallet/secret.h"

#define DOC_MAX (16u * 1024u)
#define PCR_LEN 48

struct fixture {
    char dir[256];   /* a fresh temporary directory */
    char state[300]; /* dir/state: the emulated NSM's state directory */
    struct nw_nsm *nsm;
    struct nw_attest_roots *dev_root;
};

/* --- helpers ------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, name) < cap);
}

static void read_file(const char *path, struct nw_buf *out)
{
    uint8_t chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        fail_msg("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(nw_buf_append(out, chunk, n), NW_OK);
    fclose(f);
}

static void sha384_file(const char *path, uint8_t out[PCR_LEN])
{
    struct nw_buf b;
    nw_buf_init(&b, 1u << 30);
    read_file(path, &b);
    assert_int_equal(EVP_Digest(b.data, b.len, out, NULL, EVP_sha384(), NULL), 1);
    nw_buf_free(&b);
}

static void sha384_str(const char *s, uint8_t out[PCR_LEN])
{
    assert_int_equal(EVP_Digest(s, strlen(s), out, NULL, EVP_sha384(), NULL), 1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct nw_attest_roots *roots_from_file(const char *state)
{
    struct nw_attest_roots *roots = NULL;
    struct nw_error err = {0};
    char path[400];
    struct nw_buf pem;

    path_in(path, sizeof path, state, NW_NSM_DEV_ROOT_FILE);
    nw_buf_init(&pem, 1u << 20);
    read_file(path, &pem);
    if (nw_attest_roots_from_pem(&roots, (const char *)pem.data, pem.len, &err) != NW_OK)
        fail_msg("dev root: %s", err.msg);
    nw_buf_free(&pem);
    return roots;
}

static void attest(struct nw_nsm *nsm, struct nw_buf *doc, const uint8_t *ud, size_t ud_len, const uint8_t *nonce,
                   size_t nonce_len, const uint8_t *pk, size_t pk_len)
{
    struct nw_error err = {0};

    nw_buf_init(doc, DOC_MAX);
    if (nw_nsm_attest(nsm, doc, ud, ud_len, nonce, nonce_len, pk, pk_len, &err) != NW_OK)
        fail_msg("attest: %s", err.msg);
}

static void verify_ok(const struct nw_attest_roots *roots, const struct nw_buf *doc, const struct nw_attest_expect *x,
                      struct nw_attestation *a)
{
    struct nw_error err = {0};
    if (nw_attestation_verify(a, doc->data, doc->len, roots, x, &err) != NW_OK)
        fail_msg("verify: %s", err.msg);
}

static void verify_refused(const struct nw_attest_roots *roots, const struct nw_buf *doc,
                           const struct nw_attest_expect *x, const char *why)
{
    struct nw_attestation a;
    struct nw_error err = {0};
    enum nw_err rc = nw_attestation_verify(&a, doc->data, doc->len, roots, x, &err);

    if (rc == NW_OK)
        fail_msg("verified, expected refusal: %s", why);
    if (strstr(err.msg, why) == NULL)
        fail_msg("refused with \"%s\", expected \"%s\"", err.msg, why);
}

static int setup(void **state)
{
    static struct fixture f;
    struct nw_error err = {0};
    const char *tmp = getenv("TMPDIR");

    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s/nw-test-nsm-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(f.dir) == NULL)
        return -1;
    snprintf(f.state, sizeof f.state, "%s/state", f.dir);
    if (nw_nsm_open_emulated(&f.nsm, f.state, &err) != NW_OK) {
        fprintf(stderr, "open emulated: %s\n", err.msg);
        return -1;
    }
    f.dev_root = roots_from_file(f.state);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nw_nsm_close(f->nsm);
    nw_attest_roots_free(f->dev_root);
    rm_tree(f->dir);
    return 0;
}

/* --- the state directory ------------------------------------------------------- */

static unsigned mode_of(const char *dir, const char *name)
{
    char path[400];
    struct stat st;
    path_in(path, sizeof path, dir, name);
    assert_int_equal(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 0777);
}

static void subject_of_pem(const char *dir, const char *name, char *out, size_t cap)
{
    char path[400];
    X509 *x;
    FILE *f;

    path_in(path, sizeof path, dir, name);
    assert_non_null(f = fopen(path, "r"));
    assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
    fclose(f);
    X509_NAME_oneline(X509_get_subject_name(x), out, (int)cap);
    X509_free(x);
}

static void test_state_files_say_development(void **state)
{
    struct fixture *f = *state;
    char subject[256], path[400];
    struct stat st;

    assert_true(nw_nsm_is_emulated(f->nsm));
    assert_int_equal(stat(f->state, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(mode_of(f->state, NW_DEVCA_ROOT_KEY_FILE), 0600);
    assert_int_equal(mode_of(f->state, NW_DEVCA_INTER_KEY_FILE), 0600);
    subject_of_pem(f->state, NW_NSM_DEV_ROOT_FILE, subject, sizeof subject);
    assert_non_null(strstr(subject, "CN=nitrowallet DEVELOPMENT NSM root - not AWS"));
    subject_of_pem(f->state, NW_DEVCA_INTER_FILE, subject, sizeof subject);
    assert_non_null(strstr(subject, "DEVELOPMENT"));
    /* No temporary file is left behind. */
    path_in(path, sizeof path, f->state, "." NW_NSM_DEV_ROOT_FILE ".tmp-0");
    assert_int_not_equal(access(path, F_OK), 0);
}

/* --- documents ----------------------------------------------------------------- */

static void test_document_verifies_with_the_dev_root(void **state)
{
    struct fixture *f = *state;
    uint8_t ud[32], nonce[16], pk[294], want[PCR_LEN], zero[PCR_LEN] = {0};
    struct nw_attest_expect x = {0};
    struct nw_attestation a;
    struct nw_buf doc;
    uint64_t before, after;
    char label[32];
    unsigned i;

    assert_int_equal(nw_random(ud, sizeof ud), NW_OK);
    assert_int_equal(nw_random(nonce, sizeof nonce), NW_OK);
    assert_int_equal(nw_random(pk, sizeof pk), NW_OK);
    before = now_ms();
    attest(f->nsm, &doc, ud, sizeof ud, nonce, sizeof nonce, pk, sizeof pk);
    after = now_ms();
    x.nonce = nonce, x.nonce_len = sizeof nonce;
    verify_ok(f->dev_root, &doc, &x, &a);

    /* The facts come back as given. */
    assert_int_equal(a.user_data_len, sizeof ud);
    assert_memory_equal(a.user_data, ud, sizeof ud);
    assert_int_equal(a.nonce_len, sizeof nonce);
    assert_memory_equal(a.nonce, nonce, sizeof nonce);
    assert_int_equal(a.public_key_len, sizeof pk);
    assert_memory_equal(a.public_key, pk, sizeof pk);
    assert_true(a.timestamp_ms >= before && a.timestamp_ms <= after);
    assert_int_equal(strncmp(a.module_id, "i-nitrowallet-dev-enc", 21), 0);
    assert_int_equal(strlen(a.module_id), 21 + 16);
    assert_false(a.is_debug);

    /* PCRs: 0 is this binary, 1-4 and 8 the documented constants, the rest zero. */
    assert_int_equal(a.pcr_present, 0xffffu);
    sha384_file("/proc/self/exe", want);
    assert_memory_equal(a.pcrs[0], want, PCR_LEN);
    for (i = 1; i < 16; i++) {
        assert_int_equal(a.pcr_len[i], PCR_LEN);
        if (i <= 4 || i == 8) {
            snprintf(label, sizeof label, "nitrowallet-dev-pcr%u", i);
            sha384_str(label, want);
            assert_memory_equal(a.pcrs[i], want, PCR_LEN);
        } else {
            assert_memory_equal(a.pcrs[i], zero, PCR_LEN);
        }
    }
    nw_buf_free(&doc);
}

static void test_document_refused_with_the_aws_root(void **state)
{
    struct fixture *f = *state;
    struct nw_attest_roots *aws = NULL;
    struct nw_buf doc;

    assert_int_equal(nw_attest_roots_aws(&aws, NULL), NW_OK);
    attest(f->nsm, &doc, NULL, 0, NULL, 0, NULL, 0);
    verify_refused(aws, &doc, NULL, "certificate chain");
    nw_attest_roots_free(aws);
    nw_buf_free(&doc);
}

static void test_document_expectations(void **state)
{
    struct fixture *f = *state;
    struct nw_attest_pcr pcr = {.index = 0, .len = PCR_LEN};
    struct nw_attest_expect x = {0};
    struct nw_attestation a;
    uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct nw_buf doc;

    attest(f->nsm, &doc, NULL, 0, nonce, sizeof nonce, NULL, 0);
    sha384_file("/proc/self/exe", pcr.value);
    x.pcrs = &pcr, x.n_pcrs = 1;
    verify_ok(f->dev_root, &doc, &x, &a); /* a key policy pinning this binary's PCR0 */
    pcr.value[0] ^= 1;
    verify_refused(f->dev_root, &doc, &x, "PCR0 does not match");
    x.n_pcrs = 0;
    nonce[0] ^= 1;
    x.nonce = nonce, x.nonce_len = sizeof nonce;
    verify_refused(f->dev_root, &doc, &x, "nonce does not match");
    doc.data[doc.len / 2] ^= 0x01;
    verify_refused(f->dev_root, &doc, NULL, "");
    nw_buf_free(&doc);
}

static void test_absent_fields_and_bounds(void **state)
{
    static uint8_t big[NW_NSM_MAX_USER_DATA + 1];
    struct fixture *f = *state;
    struct nw_attestation a;
    struct nw_error err = {0};
    struct nw_buf doc;

    attest(f->nsm, &doc, NULL, 0, NULL, 0, NULL, 0);
    verify_ok(f->dev_root, &doc, NULL, &a);
    assert_null(a.user_data);
    assert_null(a.nonce);
    assert_null(a.public_key);
    nw_buf_free(&doc);

    /* The largest request there is: 1024 bytes in each field. */
    memset(big, 0x01, sizeof big);
    attest(f->nsm, &doc, big, NW_NSM_MAX_USER_DATA, big, NW_NSM_MAX_NONCE, big, NW_NSM_MAX_PUBLIC_KEY);
    assert_true(doc.len < 0x3000);
    verify_ok(f->dev_root, &doc, NULL, &a);
    assert_int_equal(a.user_data_len, NW_NSM_MAX_USER_DATA);
    nw_buf_free(&doc);

    nw_buf_init(&doc, DOC_MAX);
    assert_int_equal(nw_nsm_attest(f->nsm, &doc, big, sizeof big, NULL, 0, NULL, 0, &err), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_nsm_attest(f->nsm, &doc, NULL, 0, big, sizeof big, NULL, 0, &err), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_nsm_attest(f->nsm, &doc, NULL, 0, NULL, 0, big, sizeof big, &err), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_nsm_attest(f->nsm, &doc, NULL, 5, NULL, 0, NULL, 0, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(doc.len, 0);
    /* A caller's buffer too small for the document: refused, not truncated. */
    nw_buf_init(&doc, 512);
    assert_int_equal(nw_nsm_attest(f->nsm, &doc, NULL, 0, NULL, 0, NULL, 0, &err), NW_ERR_TOO_LARGE);
    assert_int_equal(doc.len, 0);
    nw_buf_free(&doc);
}

/* --- the layout of a document, compared with AWS's ------------------------------- */

struct layout {
    const uint8_t *protected_hdr;
    size_t protected_len;
    uint64_t unprotected_pairs;
    char keys[16][16];
    size_t n_keys;
    uint64_t pcr_index[32];
    size_t pcr_len[32];
    size_t n_pcrs;
    const uint8_t *cab[8];
    size_t cab_len[8];
    size_t n_cab;
    const uint8_t *cert;
    size_t cert_len;
    size_t sig_len;
};

static void next(struct nw_cbor *c, struct nw_cbor_item *it, enum nw_cbor_major major)
{
    assert_int_equal(nw_cbor_read(c, it, NULL), NW_OK);
    assert_int_equal(it->major, major);
}

/* The keys of a payload map in order, with its pcrs, certificate, cabundle. */
static void payload_layout(const uint8_t *p, size_t len, struct layout *l)
{
    struct nw_cbor_item it, key;
    struct nw_cbor c;
    uint64_t i, j;

    nw_cbor_init(&c, p, len);
    next(&c, &it, NW_CBOR_MAP);
    for (i = 0; i < it.val; i++) {
        next(&c, &key, NW_CBOR_TEXT);
        assert_true(key.val < sizeof l->keys[0] && l->n_keys < 16);
        memcpy(l->keys[l->n_keys], key.data, (size_t)key.val);
        l->keys[l->n_keys++][key.val] = '\0';
        if (strcmp(l->keys[l->n_keys - 1], "pcrs") == 0) {
            struct nw_cbor_item m, idx, v;
            next(&c, &m, NW_CBOR_MAP);
            for (j = 0; j < m.val && l->n_pcrs < 32; j++, l->n_pcrs++) {
                next(&c, &idx, NW_CBOR_UINT);
                next(&c, &v, NW_CBOR_BYTES);
                l->pcr_index[l->n_pcrs] = idx.val, l->pcr_len[l->n_pcrs] = (size_t)v.val;
            }
        } else if (strcmp(l->keys[l->n_keys - 1], "cabundle") == 0) {
            struct nw_cbor_item arr, v;
            next(&c, &arr, NW_CBOR_ARRAY);
            for (j = 0; j < arr.val && l->n_cab < 8; j++, l->n_cab++) {
                next(&c, &v, NW_CBOR_BYTES);
                l->cab[l->n_cab] = v.data, l->cab_len[l->n_cab] = (size_t)v.val;
            }
        } else if (strcmp(l->keys[l->n_keys - 1], "certificate") == 0) {
            struct nw_cbor_item v;
            next(&c, &v, NW_CBOR_BYTES);
            l->cert = v.data, l->cert_len = (size_t)v.val;
        } else {
            assert_int_equal(nw_cbor_skip(&c, NULL), NW_OK);
        }
    }
    assert_true(nw_cbor_at_end(&c));
}

static void doc_layout(const uint8_t *doc, size_t len, struct layout *l)
{
    struct nw_cbor_item it, payload;
    struct nw_cbor c;

    memset(l, 0, sizeof *l);
    nw_cbor_init(&c, doc, len);
    next(&c, &it, NW_CBOR_ARRAY); /* untagged: no tag 18 in front */
    assert_int_equal(it.val, 4);
    next(&c, &it, NW_CBOR_BYTES);
    l->protected_hdr = it.data, l->protected_len = (size_t)it.val;
    next(&c, &it, NW_CBOR_MAP);
    l->unprotected_pairs = it.val;
    next(&c, &payload, NW_CBOR_BYTES);
    next(&c, &it, NW_CBOR_BYTES);
    l->sig_len = (size_t)it.val;
    assert_true(nw_cbor_at_end(&c));
    payload_layout(payload.data, (size_t)payload.val, l);
}

static void load_data(const char *name, struct nw_buf *out)
{
    const char *dir = getenv("NW_SRCDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/tests/data/%s", dir ? dir : ".", name);
    nw_buf_init(out, 1u << 20);
    read_file(path, out);
}

/* The payload that serde_cbor wrote for AttestationDoc (the "doc" line). */
static void serde_doc_layout(struct layout *l)
{
    struct nw_buf text;
    uint8_t bin[512];
    char *line, *hex, *end;
    size_t n = 0;
    unsigned v;

    load_data("nsm_api_serde_cbor.txt", &text);
    assert_int_equal(nw_buf_append_byte(&text, 0), NW_OK);
    line = strstr((char *)text.data, "\ndoc ");
    assert_non_null(line);
    if ((end = strchr(line + 1, '\n')) != NULL)
        *end = '\0';
    hex = strrchr(line + 1, ' ') + 1;
    while (hex[2 * n] && n < sizeof bin) {
        assert_int_equal(sscanf(hex + 2 * n, "%2x", &v), 1);
        bin[n++] = (uint8_t)v;
    }
    memset(l, 0, sizeof *l);
    payload_layout(bin, n, l);
    nw_buf_free(&text);
}

static void test_document_has_aws_layout(void **state)
{
    struct fixture *f = *state;
    struct layout ours, aws, serde;
    struct nw_attestation a;
    struct nw_buf doc, real, root_pem;
    char path[400];
    X509 *leaf, *inter, *root;
    const uint8_t *p;
    int days, secs;
    size_t i;

    attest(f->nsm, &doc, NULL, 0, NULL, 0, NULL, 0);
    verify_ok(f->dev_root, &doc, NULL, &a);
    doc_layout(doc.data, doc.len, &ours);
    load_data("attestation/nitro_prod.cbor", &real);
    doc_layout(real.data, real.len, &aws);
    serde_doc_layout(&serde);

    /* Same COSE envelope: protected {1: -35}, empty unprotected, 96-byte signature. */
    assert_int_equal(ours.protected_len, aws.protected_len);
    assert_memory_equal(ours.protected_hdr, aws.protected_hdr, aws.protected_len);
    assert_int_equal(ours.unprotected_pairs, 0);
    assert_int_equal(aws.unprotected_pairs, 0);
    assert_int_equal(ours.sig_len, 96);
    assert_int_equal(aws.sig_len, 96);
    /* Same payload keys in the same order as AWS's document and serde's. */
    assert_int_equal(ours.n_keys, 9);
    assert_int_equal(aws.n_keys, 9);
    assert_int_equal(serde.n_keys, 9);
    for (i = 0; i < 9; i++) {
        assert_string_equal(ours.keys[i], aws.keys[i]);
        assert_string_equal(ours.keys[i], serde.keys[i]);
    }
    /* 16 PCRs, indices 0..15 in order, 48 bytes each, as on real hardware. */
    assert_int_equal(ours.n_pcrs, 16);
    assert_int_equal(aws.n_pcrs, 16);
    for (i = 0; i < 16; i++) {
        assert_int_equal(ours.pcr_index[i], i);
        assert_int_equal(aws.pcr_index[i], i);
        assert_int_equal(ours.pcr_len[i], aws.pcr_len[i]);
    }

    /* cabundle = [root, intermediate]; the root is the state file's. */
    assert_int_equal(ours.n_cab, 2);
    path_in(path, sizeof path, f->state, NW_NSM_DEV_ROOT_FILE);
    nw_buf_init(&root_pem, 1u << 20);
    read_file(path, &root_pem);
    {
        BIO *bio = BIO_new_mem_buf(root_pem.data, (int)root_pem.len);
        uint8_t *der = NULL;
        int n;
        root = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        assert_non_null(root);
        n = i2d_X509(root, &der);
        assert_int_equal((size_t)n, ours.cab_len[0]);
        assert_memory_equal(der, ours.cab[0], ours.cab_len[0]);
        OPENSSL_free(der);
    }
    p = ours.cab[1];
    assert_non_null(inter = d2i_X509(NULL, &p, (long)ours.cab_len[1]));
    p = ours.cert;
    assert_non_null(leaf = d2i_X509(NULL, &p, (long)ours.cert_len));
    /* The leaf: issued by the intermediate, lives 3 h (+ 60 s backdating),
     * names the module and says it is development material. */
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(inter)), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(inter), X509_get_subject_name(root)), 0);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)), 1);
    assert_int_equal(days * 86400 + secs, 3 * 3600 + 60);
    {
        char subject[256];
        X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof subject);
        assert_non_null(strstr(subject, a.module_id));
        assert_non_null(strstr(subject, "DEVELOPMENT"));
    }
    X509_free(leaf);
    X509_free(inter);
    X509_free(root);
    nw_buf_free(&root_pem);
    nw_buf_free(&real);
    nw_buf_free(&doc);
}

/* --- PCRs and randomness ---------------------------------------------------------- */

static void test_describe_pcr_and_random(void **state)
{
    struct fixture *f = *state;
    uint8_t value[64], want[PCR_LEN], zero[PCR_LEN] = {0}, r1[1000], r2[1000];
    struct nw_error err = {0};
    size_t len;
    int locked;

    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 0, value, sizeof value, &len, &locked, &err), NW_OK);
    sha384_file("/proc/self/exe", want);
    assert_int_equal(len, PCR_LEN);
    assert_memory_equal(value, want, PCR_LEN);
    assert_true(locked);
    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 4, value, sizeof value, &len, &locked, &err), NW_OK);
    sha384_str("nitrowallet-dev-pcr4", want);
    assert_memory_equal(value, want, PCR_LEN);
    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 15, value, sizeof value, &len, &locked, &err), NW_OK);
    assert_memory_equal(value, zero, PCR_LEN);
    assert_true(locked);
    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 16, value, sizeof value, &len, &locked, &err), NW_OK);
    assert_memory_equal(value, zero, PCR_LEN);
    assert_false(locked);
    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 31, value, sizeof value, &len, &locked, &err), NW_OK);
    /* Past the NSM's 32 PCRs: the device's own InvalidIndex reply. */
    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 32, value, sizeof value, &len, &locked, &err), NW_ERR_BAD_REQUEST);
    assert_string_equal(err.msg, "NSM refused DescribePCR: InvalidIndex (PCR index out of bounds)");
    assert_int_equal(nw_nsm_describe_pcr(f->nsm, 0, value, PCR_LEN - 1, &len, &locked, &err), NW_ERR_TOO_LARGE);

    /* 1000 bytes take four 256-byte GetRandom replies; two draws differ. */
    assert_int_equal(nw_nsm_get_random(f->nsm, r1, sizeof r1, &err), NW_OK);
    assert_int_equal(nw_nsm_get_random(f->nsm, r2, sizeof r2, &err), NW_OK);
    assert_memory_not_equal(r1, r2, sizeof r1);
    assert_memory_not_equal(r1 + 744, zero, 32); /* the last reply's bytes arrived too */
    assert_int_equal(nw_nsm_get_random(f->nsm, r1, 0, &err), NW_OK);
}

/* A copy of this binary with one byte appended is another "build": run it
 * (it prints its own PCR0, see main) and compare. */
static void test_pcr0_follows_the_binary(void **state)
{
    struct fixture *f = *state;
    uint8_t mine[PCR_LEN], theirs[PCR_LEN];
    char copy[400], cmd[1200], out[200], hex[2 * PCR_LEN + 1];
    struct nw_buf bin;
    FILE *p;
    size_t i;
    int fd;

    nw_buf_init(&bin, 1u << 30);
    read_file("/proc/self/exe", &bin);
    assert_int_equal(nw_buf_append_byte(&bin, 0), NW_OK);
    path_in(copy, sizeof copy, f->dir, "rebuilt");
    fd = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0700);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bin.data, bin.len), (ssize_t)bin.len);
    close(fd);
    nw_buf_free(&bin);
    sha384_file(copy, theirs);
    sha384_file("/proc/self/exe", mine);
    assert_memory_not_equal(mine, theirs, PCR_LEN);

    snprintf(cmd, sizeof cmd, "'%s' --print-pcr0 '%s'", copy, f->state);
    assert_non_null(p = popen(cmd, "r"));
    assert_non_null(fgets(out, sizeof out, p));
    assert_int_equal(pclose(p), 0);
    for (i = 0; i < PCR_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", theirs[i]);
    assert_int_equal(strncmp(out, hex, 2 * PCR_LEN), 0);
}

/* --- state reuse, concurrency, damage ----------------------------------------------- */

static void test_state_reused_on_second_open(void **state)
{
    struct fixture *f = *state;
    struct nw_nsm *again = NULL;
    struct nw_attestation a1, a2;
    struct nw_error err = {0};
    struct nw_buf pem1, pem2, d1, d2;
    char path[400];

    path_in(path, sizeof path, f->state, NW_NSM_DEV_ROOT_FILE);
    nw_buf_init(&pem1, 1u << 20);
    read_file(path, &pem1);
    assert_int_equal(nw_nsm_open_emulated(&again, f->state, &err), NW_OK);
    nw_buf_init(&pem2, 1u << 20);
    read_file(path, &pem2);
    assert_int_equal(pem1.len, pem2.len);
    assert_memory_equal(pem1.data, pem2.data, pem1.len); /* the same root, not a new one */
    attest(f->nsm, &d1, NULL, 0, NULL, 0, NULL, 0);
    attest(again, &d2, NULL, 0, NULL, 0, NULL, 0);
    verify_ok(f->dev_root, &d1, NULL, &a1);
    verify_ok(f->dev_root, &d2, NULL, &a2);              /* the first root verifies the second open's documents */
    assert_string_not_equal(a1.module_id, a2.module_id); /* each open is another enclave */
    assert_memory_equal(a1.pcrs[0], a2.pcrs[0], PCR_LEN);
    nw_nsm_close(again);
    nw_buf_free(&pem1);
    nw_buf_free(&pem2);
    nw_buf_free(&d1);
    nw_buf_free(&d2);
}

#define RACE_THREADS 3

struct racer {
    const char *state;
    pthread_barrier_t *go;
    struct nw_buf doc;
    enum nw_err rc;
};

static enum nw_err open_and_attest(const char *state_dir, struct nw_buf *doc)
{
    struct nw_nsm *nsm = NULL;
    enum nw_err rc = nw_nsm_open_emulated(&nsm, state_dir, NULL);

    nw_buf_init(doc, DOC_MAX);
    if (rc == NW_OK)
        rc = nw_nsm_attest(nsm, doc, NULL, 0, NULL, 0, NULL, 0, NULL);
    nw_nsm_close(nsm);
    return rc;
}

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    r->rc = open_and_attest(r->state, &r->doc);
    return NULL;
}

/* A child process and RACE_THREADS threads open one fresh directory at once. */
static void race_once(const struct fixture *f, unsigned round)
{
    struct racer racers[RACE_THREADS];
    pthread_t threads[RACE_THREADS];
    pthread_barrier_t go;
    struct nw_attest_roots *roots;
    struct nw_attestation a;
    char dir[400], child_doc[400];
    struct nw_buf cdoc;
    int pipefd[2], status, entries = 0;
    struct dirent *de;
    DIR *d;
    pid_t pid;
    size_t i;
    char c = 'g';

    snprintf(dir, sizeof dir, "%s/race%u", f->dir, round);
    path_in(child_doc, sizeof child_doc, f->dir, "child.doc");
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct nw_buf doc;
        FILE *out;
        close(pipefd[1]);
        if (read(pipefd[0], &c, 1) != 1 || open_and_attest(dir, &doc) != NW_OK)
            _exit(1);
        out = fopen(child_doc, "wb");
        if (out == NULL || fwrite(doc.data, 1, doc.len, out) != doc.len || fclose(out) != 0)
            _exit(2);
        _exit(0);
    }
    close(pipefd[0]);
    assert_int_equal(pthread_barrier_init(&go, NULL, RACE_THREADS + 1), 0);
    for (i = 0; i < RACE_THREADS; i++) {
        racers[i].state = dir, racers[i].go = &go;
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    assert_int_equal(write(pipefd[1], &c, 1), 1);
    pthread_barrier_wait(&go);
    for (i = 0; i < RACE_THREADS; i++)
        pthread_join(threads[i], NULL);
    close(pipefd[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_barrier_destroy(&go);

    /* Everyone's document chains to the one root in the file. */
    roots = roots_from_file(dir);
    for (i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(racers[i].rc, NW_OK);
        verify_ok(roots, &racers[i].doc, NULL, &a);
        nw_buf_free(&racers[i].doc);
    }
    nw_buf_init(&cdoc, DOC_MAX);
    read_file(child_doc, &cdoc);
    verify_ok(roots, &cdoc, NULL, &a);
    nw_buf_free(&cdoc);
    nw_attest_roots_free(roots);
    unlink(child_doc);
    /* Exactly the five state files, no temporary leftovers. */
    assert_non_null(d = opendir(dir));
    while ((de = readdir(d)) != NULL)
        entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 5);
}

static void test_concurrent_first_open_agrees(void **state)
{
    unsigned round;
    for (round = 0; round < 4; round++)
        race_once(*state, round);
}

static void test_damaged_state_is_refused_not_replaced(void **state)
{
    struct fixture *f = *state;
    struct nw_nsm *nsm = (struct nw_nsm *)1;
    struct nw_error err = {0};
    struct nw_buf before, after, root;
    char key[400], inter[400], rootp[400];

    path_in(key, sizeof key, f->state, NW_DEVCA_INTER_KEY_FILE);
    path_in(inter, sizeof inter, f->state, NW_DEVCA_INTER_FILE);
    path_in(rootp, sizeof rootp, f->state, NW_NSM_DEV_ROOT_FILE);
    nw_buf_init(&before, 1u << 20);
    read_file(rootp, &before);

    /* The intermediate's key gone: refused, the root left as it was. */
    assert_int_equal(unlink(key), 0);
    assert_int_equal(nw_nsm_open_emulated(&nsm, f->state, &err), NW_ERR_UNAVAILABLE);
    assert_null(nsm);
    assert_non_null(strstr(err.msg, "state damaged"));
    nw_buf_init(&after, 1u << 20);
    read_file(rootp, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_not_equal(access(key, F_OK), 0);

    /* An intermediate that the root did not sign (here: the root itself). */
    nw_buf_init(&root, 1u << 20);
    read_file(rootp, &root);
    {
        FILE *w = fopen(inter, "wb");
        assert_non_null(w);
        assert_int_equal(fwrite(root.data, 1, root.len, w), root.len);
        fclose(w);
    }
    assert_int_equal(nw_nsm_open_emulated(&nsm, f->state, &err), NW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "state damaged"));
    nw_buf_free(&before);
    nw_buf_free(&after);
    nw_buf_free(&root);
}

static void test_open_permissions_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_nsm *nsm = NULL;
    struct nw_error err = {0};
    char key[400];

    assert_int_equal(chmod(f->state, 0777), 0);
    assert_int_equal(nw_nsm_open_emulated(&nsm, f->state, &err), NW_ERR_POLICY_DENIED);
    assert_non_null(strstr(err.msg, "not be writable by others"));
    assert_int_equal(chmod(f->state, 0700), 0);
    path_in(key, sizeof key, f->state, NW_DEVCA_INTER_KEY_FILE);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(nw_nsm_open_emulated(&nsm, f->state, &err), NW_ERR_POLICY_DENIED);
    assert_non_null(strstr(err.msg, "must be private"));
    assert_int_equal(chmod(key, 0600), 0);
    path_in(key, sizeof key, f->state, NW_DEVCA_ROOT_KEY_FILE);
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(nw_nsm_open_emulated(&nsm, f->state, &err), NW_ERR_POLICY_DENIED);
    assert_non_null(strstr(err.msg, NW_DEVCA_ROOT_KEY_FILE));
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(nw_nsm_open_emulated(&nsm, f->state, &err), NW_OK);
    nw_nsm_close(nsm);
    /* Only ever by an explicit call with a directory. */
    assert_int_equal(nw_nsm_open_emulated(&nsm, NULL, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_nsm_open_emulated(&nsm, "", &err), NW_ERR_BAD_REQUEST);
}

static void test_leaf_reissued_when_30_minutes_left(void **state)
{
    struct fixture *f = *state;
    struct nw_devca *ca = NULL;
    struct nw_devca_view v;
    uint8_t first[1024];
    size_t first_len;
    time_t t0 = time(NULL);

    assert_int_equal(nw_devca_open(&ca, f->state, NULL), NW_OK);
    assert_int_equal(nw_devca_leaf_refresh(ca, t0, "leaf.nitrowallet-dev", NULL), NW_OK);
    nw_devca_view(ca, &v);
    assert_true(v.leaf_len <= sizeof first);
    memcpy(first, v.leaf_der, v.leaf_len);
    first_len = v.leaf_len;
    /* 31 minutes left: kept. */
    assert_int_equal(nw_devca_leaf_refresh(ca, t0 + 3 * 3600 - 31 * 60, "leaf.nitrowallet-dev", NULL), NW_OK);
    nw_devca_view(ca, &v);
    assert_int_equal(v.leaf_len, first_len);
    assert_memory_equal(v.leaf_der, first, first_len);
    /* 29 minutes left: a new leaf. */
    assert_int_equal(nw_devca_leaf_refresh(ca, t0 + 3 * 3600 - 29 * 60, "leaf.nitrowallet-dev", NULL), NW_OK);
    nw_devca_view(ca, &v);
    assert_true(v.leaf_len != first_len || memcmp(v.leaf_der, first, first_len) != 0);
    nw_devca_free(ca);
}

static void test_no_fallback_to_emulation(void **state)
{
    struct nw_nsm *nsm = (struct nw_nsm *)1;
    struct nw_error err = {0};
    (void)state;
    /* A device that cannot be opened is an error, never an emulated NSM. */
    assert_int_equal(nw_nsm_open_device(&nsm, "/nonexistent/nsm", &err), NW_ERR_UNAVAILABLE);
    assert_null(nsm);
    assert_false(nw_nsm_is_emulated(nsm));
}

/* `test_nsm_emulated --print-pcr0 STATE`: print this binary's PCR0 as the
 * emulated NSM reports it (used by test_pcr0_follows_the_binary). */
static int print_pcr0(const char *state_dir)
{
    struct nw_nsm *nsm = NULL;
    struct nw_error err = {0};
    uint8_t v[64];
    size_t len, i;
    int locked;

    if (nw_nsm_open_emulated(&nsm, state_dir, &err) != NW_OK ||
        nw_nsm_describe_pcr(nsm, 0, v, sizeof v, &len, &locked, &err) != NW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        nw_nsm_close(nsm);
        return 1;
    }
    for (i = 0; i < len; i++)
        printf("%02x", v[i]);
    printf("\n");
    nw_nsm_close(nsm);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_files_say_development, setup, teardown),
        cmocka_unit_test_setup_teardown(test_document_verifies_with_the_dev_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_document_refused_with_the_aws_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_document_expectations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_fields_and_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_document_has_aws_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_pcr_and_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcr0_follows_the_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_reused_on_second_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_first_open_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_state_is_refused_not_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_permissions_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaf_reissued_when_30_minutes_left, setup, teardown),
        cmocka_unit_test(test_no_fallback_to_emulation),
    };

    if (argc == 3 && strcmp(argv[1], "--print-pcr0") == 0)
        return print_pcr0(argv[2]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
