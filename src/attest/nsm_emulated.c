/*
 * nsm_emulated.c - the development NSM: answers the same CBOR messages as
 * /dev/nsm (nsm_codec.c), with documents signed by a local P-384 chain.
 *
 * Reached only through nw_nsm_open_emulated(), never as a fallback for a
 * missing device.  What it reports (docs/attestation.md, "Emulated NSM"):
 *   module_id  "i-nitrowallet-dev-enc<16 hex>", random per open
 *   PCR0       SHA-384 of the bytes of /proc/self/exe (read once per
 *              process), so a rebuilt binary attests differently, as a
 *              rebuilt enclave image would
 *   PCR1..4,8  SHA-384 of the ASCII strings "nitrowallet-dev-pcr1", ...
 *              "nitrowallet-dev-pcr4", "nitrowallet-dev-pcr8"
 *   others     48 zero bytes (as on real hardware); 0..15 locked, 16..31
 *              unlocked, DescribePCR on 32 or above is InvalidIndex
 *   GetRandom  256 bytes from getrandom(2)
 * Trust boundary: development only; anything it signs chains to the root
 * "nitrowallet DEVELOPMENT NSM root - not AWS", which a verifier set up
 * with the AWS root refuses.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "devca.h"
#include "nitrowallet/nsm.h"
#include "nitrowallet/nsm_codec.h"
#include "nitrowallet/secret.h"
#include "nsm_impl.h"

#define EMU_PCRS 32    /* the NSM's max_pcrs */
#define EMU_LOCKED 16  /* PCRs 0..15 are locked at boot */
#define EMU_RANDOM 256 /* bytes per GetRandom reply */
#define MODULE_PREFIX "i-nitrowallet-dev-enc"

struct emu {
    pthread_mutex_t mu; /* guards the leaf in `ca` */
    struct nw_devca *ca;
    char module_id[48];
    char leaf_cn[64];
    uint8_t pcrs[NW_DEVDOC_PCRS][NW_DEVDOC_PCR_LEN];
};

static pthread_mutex_t pcr0_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t pcr0_cache[NW_DEVDOC_PCR_LEN];
static int pcr0_done;

static enum nw_err hash_self(uint8_t out[NW_DEVDOC_PCR_LEN], struct nw_error *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t chunk[16384];
    enum nw_err rc = NW_OK;
    ssize_t r = 0;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || md == NULL || EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1) {
        rc = nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot read /proc/self/exe for PCR0");
        goto out;
    }
    while ((r = read(fd, chunk, sizeof chunk)) > 0)
        if (EVP_DigestUpdate(md, chunk, (size_t)r) != 1)
            break;
    if (r != 0 || EVP_DigestFinal_ex(md, out, NULL) != 1)
        rc = nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot hash /proc/self/exe for PCR0");
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(md);
    return rc;
}

/* PCR0 = SHA-384 of the running executable, computed once per process. */
static enum nw_err pcr0_of_self(uint8_t out[NW_DEVDOC_PCR_LEN], struct nw_error *err)
{
    enum nw_err rc = NW_OK;

    pthread_mutex_lock(&pcr0_mu);
    if (!pcr0_done) {
        rc = hash_self(pcr0_cache, err);
        pcr0_done = rc == NW_OK;
    }
    if (rc == NW_OK)
        memcpy(out, pcr0_cache, NW_DEVDOC_PCR_LEN);
    pthread_mutex_unlock(&pcr0_mu);
    return rc;
}

static enum nw_err fill_pcrs(struct emu *e, struct nw_error *err)
{
    static const unsigned fixed[] = {1, 2, 3, 4, 8};
    char label[32];
    size_t i;

    memset(e->pcrs, 0, sizeof e->pcrs);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        int n = snprintf(label, sizeof label, "nitrowallet-dev-pcr%u", fixed[i]);
        if (EVP_Digest(label, (size_t)n, e->pcrs[fixed[i]], NULL, EVP_sha384(), NULL) != 1)
            return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: SHA-384 failed");
    }
    return pcr0_of_self(e->pcrs[0], err);
}

static enum nw_err make_module_id(struct emu *e, struct nw_error *err)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[8];
    char *p;
    size_t i;

    if (nw_random(r, sizeof r) != NW_OK)
        return nw_fail(err, NW_ERR_RANDOM, "emulated NSM: no randomness for the module id");
    memcpy(e->module_id, MODULE_PREFIX, sizeof MODULE_PREFIX - 1);
    p = e->module_id + sizeof MODULE_PREFIX - 1;
    for (i = 0; i < sizeof r; i++) {
        *p++ = hex[r[i] >> 4];
        *p++ = hex[r[i] & 15];
    }
    *p = '\0';
    /* The leaf's subject names the module, as AWS's leaves do. */
    memcpy(e->leaf_cn, e->module_id, (size_t)(p - e->module_id));
    memcpy(e->leaf_cn + (p - e->module_id), ".nitrowallet-dev", sizeof ".nitrowallet-dev");
    return NW_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Build a document for `q` into `doc`, refreshing the leaf if needed. */
static enum nw_err attest(struct emu *e, const struct nw_nsm_request *q, struct nw_buf *doc, struct nw_error *err)
{
    struct nw_devca_view chain;
    struct nw_devdoc d;
    enum nw_err rc;

    pthread_mutex_lock(&e->mu);
    rc = nw_devca_leaf_refresh(e->ca, time(NULL), e->leaf_cn, err);
    if (rc == NW_OK) {
        nw_devca_view(e->ca, &chain);
        memset(&d, 0, sizeof d);
        d.module_id = e->module_id;
        d.timestamp_ms = now_ms();
        d.pcrs = (const uint8_t(*)[NW_DEVDOC_PCR_LEN])e->pcrs;
        d.chain = &chain;
        d.user_data = q->user_data, d.user_data_len = q->user_data_len;
        d.nonce = q->nonce, d.nonce_len = q->nonce_len;
        d.public_key = q->public_key, d.public_key_len = q->public_key_len;
        rc = nw_devdoc_build(doc, &d, err);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* Work out the reply to one decoded request; buffers it points into are
 * `doc` and `rnd`, owned by the caller. */
static enum nw_err answer(struct emu *e, const struct nw_nsm_request *q, struct nw_nsm_response *r, struct nw_buf *doc,
                          uint8_t rnd[EMU_RANDOM], struct nw_error *err)
{
    static const uint8_t zero[NW_DEVDOC_PCR_LEN];
    enum nw_err rc;

    r->op = q->op;
    switch (q->op) {
    case NW_NSM_OP_ATTESTATION:
        rc = attest(e, q, doc, err);
        if (rc == NW_ERR_TOO_LARGE) {
            r->op = NW_NSM_OP_ERROR, r->error = NW_NSM_E_INPUT_TOO_LARGE;
            return NW_OK;
        }
        r->data = doc->data, r->len = doc->len;
        return rc;
    case NW_NSM_OP_GET_RANDOM:
        if (nw_random(rnd, EMU_RANDOM) != NW_OK)
            return nw_fail(err, NW_ERR_RANDOM, "emulated NSM: getrandom failed");
        r->data = rnd, r->len = EMU_RANDOM;
        return NW_OK;
    case NW_NSM_OP_DESCRIBE_PCR:
        if (q->index >= EMU_PCRS) {
            r->op = NW_NSM_OP_ERROR, r->error = NW_NSM_E_INVALID_INDEX;
            return NW_OK;
        }
        r->data = q->index < NW_DEVDOC_PCRS ? e->pcrs[q->index] : zero;
        r->len = NW_DEVDOC_PCR_LEN;
        r->lock = q->index < EMU_LOCKED;
        return NW_OK;
    case NW_NSM_OP_ERROR: break;
    }
    return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: unexpected request");
}

static enum nw_err emu_transact(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap,
                                size_t *resp_len, struct nw_error *err)
{
    struct nw_nsm_response r = {0};
    struct nw_nsm_request q;
    struct nw_buf doc, out;
    uint8_t rnd[EMU_RANDOM];
    enum nw_err rc;

    nw_buf_init(&doc, NW_NSM_RESPONSE_MAX);
    nw_buf_init(&out, cap);
    /* A request the device would not understand gets the device's answer. */
    rc = nw_nsm_request_decode(&q, req, req_len, NULL);
    if (rc != NW_OK) {
        r.op = NW_NSM_OP_ERROR;
        r.error = rc == NW_ERR_TOO_LARGE ? NW_NSM_E_INPUT_TOO_LARGE : NW_NSM_E_INVALID_ARGUMENT;
    } else {
        NW_GUARD(answer(ctx, &q, &r, &doc, rnd, err));
    }
    if (nw_nsm_response_encode(&out, &r, NULL) != NW_OK) {
        r.op = NW_NSM_OP_ERROR, r.error = NW_NSM_E_INPUT_TOO_LARGE;
        NW_GUARD(nw_nsm_response_encode(&out, &r, err));
    }
    memcpy(resp, out.data, out.len);
    *resp_len = out.len;
out:
    nw_wipe(rnd, sizeof rnd);
    nw_buf_free(&out);
    nw_buf_free(&doc);
    return rc;
}

static void emu_close(void *ctx)
{
    struct emu *e = ctx;
    if (e == NULL)
        return;
    nw_devca_free(e->ca);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static const struct nw_nsm_backend emu_backend = {"emulated", emu_transact, emu_close};

enum nw_err nw_nsm_open_emulated(struct nw_nsm **out, const char *state_dir, struct nw_error *err)
{
    struct emu *e;
    enum nw_err rc;

    *out = NULL;
    if (state_dir == NULL || state_dir[0] == '\0')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "emulated NSM: a state directory is required");
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "emulated NSM: out of memory");
    if (pthread_mutex_init(&e->mu, NULL) != 0) {
        free(e);
        return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: mutex");
    }
    NW_GUARD(nw_devca_open(&e->ca, state_dir, err));
    NW_GUARD(fill_pcrs(e, err));
    NW_GUARD(make_module_id(e, err));
    NW_GUARD(nw_devca_leaf_refresh(e->ca, time(NULL), e->leaf_cn, err));
    return nw_nsm_wrap(out, &emu_backend, e, 1, err);
out:
    emu_close(e);
    return rc;
}
