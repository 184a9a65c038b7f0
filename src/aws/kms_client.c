/*
 * kms_client.c - the enclave's KMS client: GenerateDataKey and Decrypt with
 * an attested Recipient, in process (see kms_client.h; design section 6).
 * What AWS's kmstool_enclave_cli does, without a helper process:
 *
 *   1. an RSA-2048 recipient key (reused for a bounded time, below);
 *   2. an attestation document from the NSM with the key's DER
 *      SubjectPublicKeyInfo as public_key;
 *   3. POST / (AWS JSON 1.1, X-Amz-Target TrentService.<Op>) signed with
 *      SigV4 for service "kms", over TLS to the endpoint name on a socket
 *      from transport.c (vsock to the parent's proxy in production);
 *   4. CiphertextForRecipient opened with the RSA key into locked memory.
 *
 * Recipient key reuse: generating RSA-2048 costs tens of milliseconds, so a
 * key serves up to RECIPIENT_MAX_USES calls or RECIPIENT_MAX_AGE_S seconds,
 * whichever comes first, and is replaced at once after any failure to open
 * a reply.  Its private half never leaves this process; KMS only ever
 * encrypts to it under an attestation document it verified, so reuse
 * widens nothing an attacker outside the enclave can reach.
 *
 * Attestation document reuse: the document for the current recipient key
 * serves every call for DOC_MAX_AGE_MS (60 s, a fifth of the 5 minutes KMS
 * accepts: docs/kms.md), then a fresh one is asked of the NSM.  It carries
 * no nonce and binds only the public key, so a copy in the host's hands is
 * worth nothing: KMS encrypts to that key, whose private half is here.  It
 * goes with the key: a new key, or a reply that failed to open, means a new
 * document.  An account creation (GenerateDataKey, then Decrypt) thus asks
 * the NSM once, not twice.
 *
 * Trust boundary: credentials arrive from the host with each request and
 * are used only to sign (never logged, never in errors); KMS's replies are
 * parsed by kms_json.c and cms.c.  The client is not thread-safe: use one
 * per thread, or serialise calls.
 */
#include "nitrowallet/kms_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nitrowallet/clock.h"
#include "nitrowallet/cms.h"
#include "nitrowallet/http_client.h"
#include "nitrowallet/kms_json.h"
#include "nitrowallet/trust_roots.h"

#define RECIPIENT_MAX_AGE_S 600
#define RECIPIENT_MAX_USES 10000ul
#define REGION_MAX 32
#define ENDPOINT_MAX 256
#define DATA_KEY_LEN 32
#define DOC_MAX_AGE_MS 60000

struct nw_kms_client {
    struct nw_http_client *http;
    struct nw_nsm *nsm;
    char region[REGION_MAX + 1];
    struct nw_rsa_recipient *rsa;
    time_t rsa_born;
    unsigned long rsa_uses;
    struct nw_buf doc;   /* the attestation document for `rsa`, empty when none */
    long long doc_born;  /* nw_clock_ms when the NSM made it */
};

/* --- setup --------------------------------------------------------------- */

static int valid_region(const char *r)
{
    size_t n = r ? strnlen(r, REGION_MAX + 1) : 0;
    return n > 0 && n <= REGION_MAX && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

enum nw_err nw_kms_client_new(struct nw_kms_client **out, const struct nw_kms_config *cfg, struct nw_nsm *nsm,
                              struct nw_error *err)
{
    struct nw_kms_client *c;
    struct nw_http_config http = {0};
    char endpoint[ENDPOINT_MAX];
    enum nw_err rc;

    *out = NULL;
    if (!valid_region(cfg->region))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: region must be 1..%d of [a-z0-9-]", REGION_MAX);
    if (nsm == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: an NSM is required for Recipient calls");
    /* China regions live under amazonaws.com.cn (AWS General Reference, endpoints). */
    snprintf(endpoint, sizeof endpoint, "kms.%s.amazonaws.com%s", cfg->region,
             strncmp(cfg->region, "cn-", 3) == 0 ? ".cn" : "");
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "kms: out of memory");
    memcpy(c->region, cfg->region, strlen(cfg->region) + 1);
    c->nsm = nsm;
    nw_buf_init(&c->doc, NW_KMS_DOC_MAX);
    http.host = cfg->endpoint ? cfg->endpoint : endpoint;
    http.connect = cfg->connect;
    http.ca_file = cfg->ca_file;
    http.ca_pem = nw_aws_trust_roots_pem; /* used only when ca_file is NULL */
    rc = nw_http_client_new(&c->http, &http, err);
    if (rc != NW_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return NW_OK;
}

void nw_kms_client_free(struct nw_kms_client *c)
{
    if (c == NULL)
        return;
    nw_http_client_free(c->http);
    nw_rsa_recipient_free(c->rsa);
    nw_buf_free(&c->doc);
    free(c);
}

/* --- one call ----------------------------------------------------------------- */

/* Every failure below KMS's own answer is KMS_UNAVAILABLE, with its reason. */
static enum nw_err unavailable(enum nw_err rc, const char *op, struct nw_error *err)
{
    if (rc == NW_OK || rc == NW_ERR_NOMEM)
        return rc;
    nw_error_prefix(err, "kms %s", op);
    if (err != NULL)
        err->code = NW_ERR_KMS_UNAVAILABLE;
    return NW_ERR_KMS_UNAVAILABLE;
}

static enum nw_err recipient(struct nw_kms_client *c, struct nw_error *err)
{
    time_t now = time(NULL);

    if (c->rsa != NULL && c->rsa_uses < RECIPIENT_MAX_USES && now >= c->rsa_born &&
        now - c->rsa_born < RECIPIENT_MAX_AGE_S)
        return NW_OK;
    nw_rsa_recipient_free(c->rsa);
    c->rsa = NULL;
    c->doc.len = 0; /* the document names the old key */
    c->rsa_uses = 0;
    c->rsa_born = now;
    return nw_rsa_recipient_generate(&c->rsa, err);
}

static _Atomic unsigned long long g_attestations;

/* Attestation document binding the current recipient key (reused, above). */
static enum nw_err attest(struct nw_kms_client *c, struct nw_buf *doc, struct nw_error *err)
{
    const uint8_t *spki;
    size_t spki_len;
    long long now;
    enum nw_err rc;

    rc = recipient(c, err);
    if (rc != NW_OK)
        return rc;
    c->rsa_uses++;
    now = nw_clock_ms();
    if (c->doc.len == 0 || now - c->doc_born >= DOC_MAX_AGE_MS) {
        c->doc.len = 0;
        nw_rsa_recipient_spki(c->rsa, &spki, &spki_len);
        rc = nw_nsm_attest(c->nsm, &c->doc, NULL, 0, NULL, 0, spki, spki_len, err);
        if (rc != NW_OK) {
            c->doc.len = 0;
            nw_error_prefix(err, "kms: attestation");
            return rc;
        }
        c->doc_born = now;
        g_attestations++;
    }
    return nw_buf_append(doc, c->doc.data, c->doc.len);
}

#define HDR(n, v) {(n), sizeof(n) - 1, (v), strlen(v)}

/* Sign and send `body` as TrentService.<op>; the reply lands in `resp`. */
static enum nw_err call(struct nw_kms_client *c, const struct nw_aws_credentials *creds, const char *op,
                        const struct nw_buf *body, struct nw_http_response *resp, struct nw_error *err)
{
    char target[64], date[17], sha[65], auth[NW_SIGV4_AUTH_MAX];
    struct nw_http_header h[7] = {
        HDR("Host", nw_http_client_host(c->http)),
        HDR("Content-Type", "application/x-amz-json-1.1"),
        HDR("X-Amz-Target", ""),
        HDR("X-Amz-Date", ""),
        HDR("X-Amz-Content-Sha256", ""),
    };
    size_t n = 5;
    struct nw_sigv4_request req = {"POST", "/", "", h, 0, body->data, body->len};
    enum nw_err rc;

    snprintf(target, sizeof target, "TrentService.%s", op);
    nw_sigv4_amz_date(date, time(NULL));
    nw_sigv4_payload_hash(sha, body->data, body->len);
    h[2].value = target, h[2].value_len = strlen(target);
    h[3].value = date, h[3].value_len = 16;
    h[4].value = sha, h[4].value_len = 64;
    if (creds->session_token != NULL) {
        struct nw_http_header tok = HDR("X-Amz-Security-Token", creds->session_token);
        h[n++] = tok;
    }
    req.n_headers = n;
    rc = nw_sigv4_sign(auth, sizeof auth, &req, creds, c->region, "kms", err);
    if (rc == NW_OK) {
        struct nw_http_header a = HDR("Authorization", auth);
        h[n++] = a;
        rc = unavailable(nw_http_client_post(c->http, "/", h, n, body->data, body->len, resp, err), op, err);
    }
    nw_wipe(auth, sizeof auth);
    return rc;
}

/* Process-wide counters (every worker's client adds to them), for the
 * enclave's health reply and so the host's /metrics. */
static _Atomic unsigned long long g_generate, g_decrypt, g_failures;

void nw_kms_client_stats(struct nw_kms_stats *out)
{
    out->generate_data_key = g_generate;
    out->decrypt = g_decrypt;
    out->failures = g_failures;
    out->attestations = g_attestations;
}

/*
 * The common path: attest, send `body`, read the reply, open
 * CiphertextForRecipient into `out` (at most `max_len` bytes).
 */
static enum nw_err recipient_call(struct nw_kms_client *c, const struct nw_aws_credentials *creds, const char *op,
                                  const struct nw_buf *body, struct nw_buf *blob, struct nw_secret *out,
                                  size_t max_len, struct nw_error *err)
{
    struct nw_http_response resp;
    struct nw_buf cfr;
    enum nw_err rc;

    nw_http_response_init(&resp);
    nw_buf_init(&cfr, NW_CMS_MAX);
    if (strcmp(op, "Decrypt") == 0)
        g_decrypt++;
    else
        g_generate++;
    NW_GUARD(call(c, creds, op, body, &resp, err));
    NW_GUARD(nw_kms_json_reply(&cfr, blob, resp.status, resp.error_type, resp.body.data, resp.body.len, err));
    rc = nw_cms_open(out, c->rsa, cfr.data, cfr.len, max_len, err);
    if (rc != NW_OK) {
        /* Never reuse a key, or its document, whose reply did not open. */
        nw_rsa_recipient_free(c->rsa);
        c->rsa = NULL;
        c->doc.len = 0;
        rc = unavailable(rc, op, err);
    }
out:
    if (rc != NW_OK) {
        g_failures++;
        c->doc.len = 0; /* whatever went wrong, the next call brings a fresh document */
    }
    nw_buf_free(&cfr);
    nw_http_response_free(&resp); /* wiped: it may have held a refused Plaintext */
    return rc;
}

static void empty_secret(struct nw_secret *s)
{
    s->data = NULL;
    s->len = 0;
    s->map_len = 0;
}

enum nw_err nw_kms_generate_data_key(struct nw_kms_client *c, const struct nw_aws_credentials *creds,
                                     const char *key_id, const struct nw_kms_kv *context, size_t n_context,
                                     struct nw_secret *data_key, struct nw_buf *ciphertext_blob,
                                     struct nw_error *err)
{
    struct nw_buf doc, body, blob;
    enum nw_err rc;

    empty_secret(data_key);
    nw_buf_init(&doc, NW_KMS_DOC_MAX);
    nw_buf_init(&body, NW_KMS_REQUEST_MAX);
    nw_buf_init(&blob, NW_KMS_BLOB_MAX);
    NW_GUARD(attest(c, &doc, err));
    NW_GUARD(nw_kms_json_generate_data_key(&body, key_id, context, n_context, doc.data, doc.len, err));
    NW_GUARD(recipient_call(c, creds, "GenerateDataKey", &body, &blob, data_key, DATA_KEY_LEN, err));
    if (data_key->len != DATA_KEY_LEN) {
        rc = nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms GenerateDataKey: data key of %zu bytes, want %d",
                     data_key->len, DATA_KEY_LEN);
        goto out;
    }
    rc = nw_buf_append(ciphertext_blob, blob.data, blob.len);
    if (rc != NW_OK)
        rc = nw_fail(err, rc, "kms GenerateDataKey: CiphertextBlob of %zu bytes does not fit", blob.len);
out:
    if (rc != NW_OK)
        nw_secret_free(data_key);
    nw_buf_free(&doc);
    nw_buf_free(&body);
    nw_buf_free(&blob);
    return rc;
}

enum nw_err nw_kms_decrypt(struct nw_kms_client *c, const struct nw_aws_credentials *creds, const char *key_id,
                           const uint8_t *ciphertext_blob, size_t blob_len, const struct nw_kms_kv *context,
                           size_t n_context, struct nw_secret *plaintext, struct nw_error *err)
{
    struct nw_buf doc, body;
    enum nw_err rc;

    empty_secret(plaintext);
    nw_buf_init(&doc, NW_KMS_DOC_MAX);
    nw_buf_init(&body, NW_KMS_REQUEST_MAX);
    NW_GUARD(attest(c, &doc, err));
    NW_GUARD(nw_kms_json_decrypt(&body, key_id, ciphertext_blob, blob_len, context, n_context, doc.data, doc.len,
                                 err));
    NW_GUARD(recipient_call(c, creds, "Decrypt", &body, NULL, plaintext, NW_KMS_PLAINTEXT_MAX, err));
out:
    if (rc != NW_OK)
        nw_secret_free(plaintext);
    nw_buf_free(&doc);
    nw_buf_free(&body);
    return rc;
}
