/*
 * api_idem.c - the Idempotency-Key header of the host API.  A POST carrying
 * it is keyed by "<token id>:<key>" and fingerprinted by the SHA-256 of its
 * method, path and body.  A retry with the same fingerprint gets the first
 * (successful, 2xx) response replayed byte for byte without acting again; a
 * different fingerprint under the same key is refused with 422.  Only 2xx
 * responses are stored, so a failed request may be retried with its key.
 * While a request with a key is being acted on, another one with the same
 * key gets 409 IDEMPOTENCY_IN_PROGRESS instead of acting a second time (the
 * key is claimed in this process before the lookup and released after the
 * response is stored).
 *
 * Trust boundary: network-facing; keys are printable ASCII, bounded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api_internal.h"
#include "nitrowallet/hex.h"

#define IDEM_HEADER_MAX 128
#define INFLIGHT_MAX 256 /* = the HTTP server's connection limit */

struct api_inflight {
    pthread_mutex_t mu;
    char keys[INFLIGHT_MAX][NW_STORAGE_IDEM_KEY_MAX + 1]; /* "" = free slot */
};

struct api_inflight *api_inflight_new(void)
{
    struct api_inflight *f = calloc(1, sizeof(*f));
    if (f != NULL) pthread_mutex_init(&f->mu, NULL);
    return f;
}

void api_inflight_free(struct api_inflight *f)
{
    if (f == NULL) return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* 1 = claimed, 0 = another request holds it, -1 = no free slot. */
static int inflight_claim(struct api_inflight *f, const char *key)
{
    int free_slot = -1, rc = 1;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < INFLIGHT_MAX && rc == 1; i++) {
        if (f->keys[i][0] == '\0') { if (free_slot < 0) free_slot = i; }
        else if (strcmp(f->keys[i], key) == 0) rc = 0;
    }
    if (rc == 1 && free_slot < 0) rc = -1;
    if (rc == 1) snprintf(f->keys[free_slot], sizeof(f->keys[free_slot]), "%s", key);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void inflight_release(struct api_inflight *f, const char *key)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < INFLIGHT_MAX; i++)
        if (strcmp(f->keys[i], key) == 0) f->keys[i][0] = '\0';
    pthread_mutex_unlock(&f->mu);
}

static int fingerprint(struct api_req *rq, char fp[NW_STORAGE_FINGERPRINT_MAX + 1])
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    char hex[NW_HEX_SIZE(32)];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, rq->method, strlen(rq->method) + 1) == 1 &&
             EVP_DigestUpdate(ctx, rq->path, strlen(rq->path) + 1) == 1 &&
             (rq->body.len == 0 || EVP_DigestUpdate(ctx, rq->body.data, rq->body.len) == 1) &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32 &&
             nw_hex_encode(hex, sizeof(hex), md, sizeof(md)) == NW_OK;
    EVP_MD_CTX_free(ctx);
    if (ok) snprintf(fp, NW_STORAGE_FINGERPRINT_MAX + 1, "%s", hex + 2);
    return ok;
}

static int key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > IDEM_HEADER_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f) return 0;
    return 1;
}

int api_idem_lookup(struct api_req *rq, struct api_resp *rs, char key[NW_STORAGE_IDEM_KEY_MAX + 1],
                    char fp[NW_STORAGE_FINGERPRINT_MAX + 1])
{
    struct nw_idempotency_record rec = {0};
    struct nw_error err = {0};
    int found = 0, done = 1;
    const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Idempotency-Key");
    key[0] = '\0';
    if (h == NULL) return 0;
    if (!key_valid(h))
        return api_error(rq, rs, 400, "BAD_REQUEST", "Idempotency-Key: 1..%d printable characters, no spaces",
                         IDEM_HEADER_MAX) + 1;
    if (!fingerprint(rq, fp)) return api_error(rq, rs, 500, "INTERNAL", "fingerprint failed") + 1;
    snprintf(key, NW_STORAGE_IDEM_KEY_MAX + 1, "%s:%s", rq->who.id, h);
    int claim = inflight_claim(rq->host->inflight, key);
    if (claim <= 0) {
        key[0] = '\0'; /* not ours to release */
        if (claim == 0)
            return api_error(rq, rs, 409, "IDEMPOTENCY_IN_PROGRESS",
                             "a request with this Idempotency-Key is still being processed; retry later") + 1;
        return api_error(rq, rs, 503, "UNAVAILABLE", "too many requests in flight") + 1;
    }
    if (nw_storage_idempotency_get(rq->host->cfg.storage, key, &rec, &found, &err) != NW_OK) {
        api_fail(rq, rs, &err);
        goto out;
    }
    if (!found) {
        done = 0;
        goto out;
    }
    if (strcmp(rec.fingerprint, fp) != 0) {
        api_error(rq, rs, 422, "IDEMPOTENCY_MISMATCH", "Idempotency-Key was used with a different request");
        goto out;
    }
    free(rs->body);
    rs->body = rec.response;
    rec.response = NULL;
    rs->status = rec.status;
    rs->content_type = "application/json";
out:
    if (done) {
        inflight_release(rq->host->inflight, key);
        key[0] = '\0';
    }
    nw_idempotency_record_clear(&rec);
    return done;
}

void api_idem_store(struct api_req *rq, const struct api_resp *rs, const char *key, const char *fp)
{
    struct nw_error err = {0};
    char created[NW_STORAGE_TIME_LEN + 1];
    int exists = 0;
    if (key[0] == '\0') return;
    if (rs->status < 200 || rs->status > 299 || rs->body == NULL) {
        inflight_release(rq->host->inflight, key);
        return;
    }
    struct nw_idempotency_record rec = {
        .key = (char *)key, .fingerprint = (char *)fp, .status = rs->status, .response = rs->body,
        .created_at = created};
    if (nw_storage_timestamp(created, &err) != NW_OK ||
        nw_storage_idempotency_put(rq->host->cfg.storage, &rec, &exists, &err) != NW_OK)
        fprintf(stderr, "nitrowallet-host: %s: idempotency record not stored: %s\n", rq->request_id, err.msg);
    inflight_release(rq->host->inflight, key);
}
