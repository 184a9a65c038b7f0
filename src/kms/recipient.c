/*
 * recipient.c - KMS's Recipient parameter for Nitro Enclaves (AWS KMS API
 * reference, RecipientInfo; KMS developer guide, "How AWS Nitro Enclaves
 * uses AWS KMS"): {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
 * "AttestationDocument": <base64>}.
 *
 * The document is verified with nw_attestation_verify against the
 * configured roots (explicit --attestation-root files and, optionally, the
 * AWS root; without explicit roots, the emulated NSM's development root,
 * re-read on every request so it may appear or change after the server
 * starts).  The roots object is kept while its PEM text stays the same, so
 * its cache of verified chains (attestation.h) lasts across requests: one
 * enclave's chain is verified once, then only its documents' signatures.  At
 * the request's time, at most max_attestation_age_ms old.  Debug-mode
 * documents pass verification as they do at AWS: a key policy pinning
 * PCR0 is what refuses them.  The reply then carries the plaintext only as
 * CiphertextForRecipient (CMS EnvelopedData to the document's public key,
 * nw_cms_seal), never as Plaintext.
 *
 * Errors: a missing, malformed or unverifiable document (bad signature,
 * chain, time, age) is a ValidationException naming the reason; a document
 * that verifies but does not satisfy the key policy is an
 * AccessDeniedException from the policy check (service.c).
 *
 * Trust boundary: the document is untrusted until verified.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/cms.h"
#include "nitrowallet/json.h"

#define ROOTS_PEM_MAX (256u * 1024u)

void kms_recipient_free(struct kms_recipient *r)
{
    free(r->doc);
    memset(r, 0, sizeof *r);
}

/* The cached roots when they were built from exactly `pem` (a new reference), else NULL. */
static struct nw_attest_roots *cached_roots(struct nw_kms_service *svc, const struct nw_buf *pem)
{
    struct nw_attest_roots *r = NULL;
    pthread_mutex_lock(&svc->roots_mu);
    if (svc->roots != NULL && svc->roots_key_len == pem->len &&
        (pem->len == 0 || memcmp(svc->roots_key, pem->data, pem->len) == 0))
        r = nw_attest_roots_ref(svc->roots);
    pthread_mutex_unlock(&svc->roots_mu);
    return r;
}

/* Keep `r`, built from `pem`, for the next requests (best effort). */
static void keep_roots(struct nw_kms_service *svc, struct nw_attest_roots *r, const struct nw_buf *pem)
{
    uint8_t *key = malloc(pem->len ? pem->len : 1);
    if (key == NULL)
        return;
    if (pem->len)
        memcpy(key, pem->data, pem->len);
    pthread_mutex_lock(&svc->roots_mu);
    nw_attest_roots_free(svc->roots);
    free(svc->roots_key);
    svc->roots = nw_attest_roots_ref(r);
    svc->roots_key = key;
    svc->roots_key_len = pem->len;
    pthread_mutex_unlock(&svc->roots_mu);
}

static enum nw_err load_roots(struct kms_call *c, struct nw_attest_roots **out)
{
    struct nw_kms_service *svc = c->svc;
    struct nw_buf pem;
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc = NW_OK;

    *out = NULL;
    nw_buf_init(&pem, ROOTS_PEM_MAX);
    if (svc->roots_pem != NULL)
        rc = nw_buf_append(&pem, svc->roots_pem, svc->roots_pem_len);
    else if (svc->dev_root_file != NULL && kms_read_file(svc->dev_root_file, &pem, ROOTS_PEM_MAX, &e) != NW_OK)
        nw_buf_free(&pem); /* not there (yet): only the AWS root, if trusted */
    if (rc != NW_OK) {
        nw_buf_free(&pem);
        return kms_fail(c, "KMSInternalException", "attestation roots too large");
    }
    if ((*out = cached_roots(svc, &pem)) != NULL) {
        nw_buf_free(&pem);
        return NW_OK;
    }
    if (svc->trust_aws_root) {
        rc = nw_attest_roots_aws(out, &e);
        if (rc == NW_OK && pem.len > 0)
            rc = nw_attest_roots_add_pem(*out, (const char *)pem.data, pem.len, &e);
    } else if (pem.len > 0) {
        rc = nw_attest_roots_from_pem(out, (const char *)pem.data, pem.len, &e);
    } else {
        nw_buf_free(&pem);
        return kms_fail(c, "ValidationException",
                        "Recipient: nitrowallet-kms has no attestation root (no --attestation-root, no %s yet, "
                        "no --trust-aws-root)",
                        svc->dev_root_file ? svc->dev_root_file : "development root");
    }
    if (rc == NW_OK)
        keep_roots(svc, *out, &pem);
    nw_buf_free(&pem);
    if (rc != NW_OK) {
        nw_attest_roots_free(*out);
        *out = NULL;
        return kms_fail(c, "KMSInternalException", "attestation roots: %s", e.msg);
    }
    return NW_OK;
}

static enum nw_err decode_document(struct kms_call *c, const cJSON *rec, struct kms_recipient *r)
{
    static const char *const keys[] = {"KeyEncryptionAlgorithm", "AttestationDocument", NULL};
    const cJSON *alg = nw_json_get(rec, "KeyEncryptionAlgorithm"), *doc = nw_json_get(rec, "AttestationDocument");
    struct nw_error e = {NW_OK, ""};
    size_t slen;

    if (nw_json_check_keys(rec, keys, "Recipient", &e) != NW_OK)
        return kms_fail(c, "ValidationException", "%s", e.msg);
    if (alg != NULL && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RSAES_OAEP_SHA_256") != 0))
        return kms_fail(c, "ValidationException",
                        "1 validation error detected: Value at 'recipient.keyEncryptionAlgorithm' failed to satisfy "
                        "constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]");
    if (!cJSON_IsString(doc))
        return kms_fail(c, "ValidationException", "Recipient: AttestationDocument (base64) is required");
    slen = strlen(doc->valuestring);
    if (slen == 0 || NW_BASE64_DECODED_MAX(slen) > NW_ATT_MAX_DOC + 2)
        return kms_fail(c, "ValidationException", "Recipient: AttestationDocument must be 1..%u bytes", NW_ATT_MAX_DOC);
    if ((r->doc = malloc(NW_BASE64_DECODED_MAX(slen) + 1)) == NULL)
        return kms_fail(c, "KMSInternalException", "out of memory");
    if (nw_base64_decode(r->doc, NW_BASE64_DECODED_MAX(slen) + 1, &r->doc_len, doc->valuestring, slen, &e) != NW_OK)
        return kms_fail(c, "SerializationException", "Recipient: AttestationDocument is not canonical base64");
    return NW_OK;
}

enum nw_err kms_recipient_parse(struct kms_call *c, struct kms_recipient *r)
{
    const cJSON *rec = nw_json_get(c->in, "Recipient");
    struct nw_attest_expect expect;
    struct nw_attest_roots *roots = NULL;
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc;

    memset(r, 0, sizeof *r);
    if (rec == NULL || cJSON_IsNull(rec))
        return NW_OK;
    if (!cJSON_IsObject(rec))
        return kms_fail(c, "SerializationException", "Recipient must be an object");
    if ((rc = decode_document(c, rec, r)) != NW_OK || (rc = load_roots(c, &roots)) != NW_OK)
        return rc;
    memset(&expect, 0, sizeof expect);
    expect.at_ms = c->now_ms;
    expect.max_age_ms = c->svc->max_attestation_age_ms;
    expect.allow_debug = 1;
    rc = nw_attestation_verify(&r->att, r->doc, r->doc_len, roots, &expect, &e);
    nw_attest_roots_free(roots);
    if (rc != NW_OK)
        return kms_fail(c, "ValidationException", "Recipient: invalid attestation document: %s", e.msg);
    if (r->att.public_key == NULL || r->att.public_key_len == 0)
        return kms_fail(c, "ValidationException", "Recipient: the attestation document carries no public_key");
    r->present = 1;
    return NW_OK;
}

enum nw_err kms_recipient_reply(struct kms_call *c, const struct kms_recipient *r, const uint8_t *pt, size_t len)
{
    struct nw_buf cms;
    struct nw_error e = {NW_OK, ""};
    enum nw_err rc;

    nw_buf_init(&cms, NW_CMS_MAX);
    rc = nw_cms_seal(&cms, r->att.public_key, r->att.public_key_len, pt, len, &e);
    if (rc == NW_OK) {
        kms_jw_key(&c->out, "CiphertextForRecipient");
        kms_jw_b64(&c->out, cms.data, cms.len);
    } else if (rc == NW_ERR_BAD_REQUEST) {
        rc = kms_fail(c, "ValidationException",
                      "Recipient: the attestation document's public_key is not a usable RSA key: %s", e.msg);
    } else {
        rc = kms_fail(c, "KMSInternalException", "CiphertextForRecipient: %s", e.msg);
    }
    nw_buf_free(&cms);
    return rc;
}
