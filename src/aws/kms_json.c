/*
 * kms_json.c - request bodies for KMS GenerateDataKey/Decrypt with a
 * Recipient, and the reading of KMS's replies (see kms_json.h).  Field
 * names and shapes follow the AWS KMS API Reference; the error shape is the
 * AWS JSON 1.1 protocol's ({"__type", "message"}, some services spell it
 * "Message", and __type may carry a "namespace#" prefix).
 *
 * Trust boundary: request fields come from the enclave's caller (key ids,
 * encryption context) and are validated as UTF-8 within KMS's limits, then
 * escaped; replies come from the network (through verified TLS, but still
 * parsed as hostile: strict JSON, bounded sizes, strict base64).  Messages
 * copied from KMS into errors are bounded and reduced to printable ASCII.
 */
#include "nitrowallet/kms_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/cms.h"
#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/utf8.h"

#define TYPE_MAX 100
#define MESSAGE_MAX 150

/* --- writing ---------------------------------------------------------------- */

static enum nw_err put(struct nw_buf *b, const char *s)
{
    return nw_buf_append(b, s, strlen(s));
}

/* A JSON string (RFC 8259 section 7) of valid UTF-8. */
static enum nw_err put_string(struct nw_buf *b, const char *s)
{
    enum nw_err rc = nw_buf_append_byte(b, '"');
    size_t i;

    for (i = 0; s[i] != '\0' && rc == NW_OK; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            rc = nw_buf_append(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            rc = nw_buf_append(b, esc, 6);
        } else {
            rc = nw_buf_append_byte(b, ch);
        }
    }
    return rc == NW_OK ? nw_buf_append_byte(b, '"') : rc;
}

static enum nw_err put_b64(struct nw_buf *b, const uint8_t *p, size_t n)
{
    size_t cap = NW_BASE64_SIZE(n);
    char *s = malloc(cap);
    enum nw_err rc;

    if (s == NULL)
        return NW_ERR_NOMEM;
    rc = nw_base64_encode(s, cap, p, n);
    if (rc == NW_OK)
        rc = nw_buf_append_byte(b, '"');
    if (rc == NW_OK)
        rc = put(b, s);
    if (rc == NW_OK)
        rc = nw_buf_append_byte(b, '"');
    free(s);
    return rc;
}

static enum nw_err check_text(const char *s, size_t max, const char *field, struct nw_error *err)
{
    size_t n = s ? strnlen(s, max + 1) : 0;

    if (n == 0 || n > max)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: %s must be 1..%zu bytes", field, max);
    if (!nw_utf8_valid((const uint8_t *)s, n))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: %s is not valid UTF-8", field);
    return NW_OK;
}

static enum nw_err check_context(const struct nw_kms_kv *kv, size_t n, struct nw_error *err)
{
    size_t i, j, total = 0;
    enum nw_err rc;

    if (n > NW_KMS_MAX_CONTEXT || (n > 0 && kv == NULL))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: at most %d encryption context pairs", NW_KMS_MAX_CONTEXT);
    for (i = 0; i < n; i++) {
        if ((rc = check_text(kv[i].key, NW_KMS_CONTEXT_MAX_BYTES, "encryption context key", err)) != NW_OK ||
            (rc = check_text(kv[i].value, NW_KMS_CONTEXT_MAX_BYTES, "encryption context value", err)) != NW_OK)
            return rc;
        total += strlen(kv[i].key) + strlen(kv[i].value);
        if (total > NW_KMS_CONTEXT_MAX_BYTES)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: encryption context exceeds %d bytes",
                           NW_KMS_CONTEXT_MAX_BYTES);
        for (j = 0; j < i; j++)
            if (strcmp(kv[i].key, kv[j].key) == 0)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: encryption context key repeated");
    }
    return NW_OK;
}

#define PUT(x) NW_GUARD(x)

static enum nw_err put_context(struct nw_buf *b, const struct nw_kms_kv *kv, size_t n)
{
    enum nw_err rc = NW_OK;
    size_t i;

    if (n == 0)
        return NW_OK;
    PUT(put(b, ",\"EncryptionContext\":{"));
    for (i = 0; i < n; i++) {
        PUT(put(b, i ? "," : ""));
        PUT(put_string(b, kv[i].key));
        PUT(put(b, ":"));
        PUT(put_string(b, kv[i].value));
    }
    PUT(put(b, "}"));
out:
    return rc;
}

static enum nw_err put_recipient(struct nw_buf *b, const uint8_t *doc, size_t doc_len)
{
    enum nw_err rc = NW_OK;

    PUT(put(b, ",\"Recipient\":{\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":"));
    PUT(put_b64(b, doc, doc_len));
    PUT(put(b, "}}"));
out:
    return rc;
}

static enum nw_err check_doc(const uint8_t *doc, size_t len, struct nw_error *err)
{
    if (doc == NULL || len == 0 || len > NW_KMS_DOC_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: attestation document must be 1..%u bytes", NW_KMS_DOC_MAX);
    return NW_OK;
}

static enum nw_err written(enum nw_err rc, struct nw_error *err)
{
    if (rc == NW_OK)
        return NW_OK;
    return nw_fail(err, rc, "kms: request body exceeds its buffer (%s)", nw_err_name(rc));
}

enum nw_err nw_kms_json_generate_data_key(struct nw_buf *out, const char *key_id, const struct nw_kms_kv *context,
                                          size_t n_context, const uint8_t *doc, size_t doc_len, struct nw_error *err)
{
    enum nw_err rc;

    if ((rc = check_text(key_id, NW_KMS_KEY_ID_MAX, "KeyId", err)) != NW_OK ||
        (rc = check_context(context, n_context, err)) != NW_OK || (rc = check_doc(doc, doc_len, err)) != NW_OK)
        return rc;
    PUT(put(out, "{\"KeyId\":"));
    PUT(put_string(out, key_id));
    PUT(put(out, ",\"KeySpec\":\"AES_256\""));
    PUT(put_context(out, context, n_context));
    PUT(put_recipient(out, doc, doc_len));
out:
    return written(rc, err);
}

enum nw_err nw_kms_json_decrypt(struct nw_buf *out, const char *key_id, const uint8_t *blob, size_t blob_len,
                                const struct nw_kms_kv *context, size_t n_context, const uint8_t *doc,
                                size_t doc_len, struct nw_error *err)
{
    enum nw_err rc;

    if (blob == NULL || blob_len == 0 || blob_len > NW_KMS_BLOB_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms: CiphertextBlob must be 1..%d bytes", NW_KMS_BLOB_MAX);
    if ((key_id != NULL && (rc = check_text(key_id, NW_KMS_KEY_ID_MAX, "KeyId", err)) != NW_OK) ||
        (rc = check_context(context, n_context, err)) != NW_OK || (rc = check_doc(doc, doc_len, err)) != NW_OK)
        return rc;
    PUT(put(out, "{\"CiphertextBlob\":"));
    PUT(put_b64(out, blob, blob_len));
    if (key_id != NULL) {
        PUT(put(out, ",\"KeyId\":"));
        PUT(put_string(out, key_id));
    }
    PUT(put_context(out, context, n_context));
    PUT(put_recipient(out, doc, doc_len));
out:
    return written(rc, err);
}

/* --- reading ------------------------------------------------------------------ */

/* "ns#Type" or "Type:uri" -> "Type"; 0 unless 1..TYPE_MAX of [A-Za-z0-9_.]. */
static int error_type_name(char out[TYPE_MAX + 1], const char *s)
{
    const char *hash = strrchr(s, '#');
    size_t n, i;

    if (hash != NULL)
        s = hash + 1;
    n = strcspn(s, ":");
    if (n == 0 || n > TYPE_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.'))
            return 0;
        out[i] = ch;
    }
    out[n] = '\0';
    return 1;
}

/* KMS's message as printable ASCII, at most MESSAGE_MAX bytes. */
static void printable(char out[MESSAGE_MAX + 1], const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0' && i < MESSAGE_MAX; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[i] = '\0';
}

static enum nw_err error_reply(int status, const char *header_type, const uint8_t *body, size_t len,
                               struct nw_error *err)
{
    cJSON *root = NULL;
    const cJSON *t, *m;
    char type[TYPE_MAX + 1], message[MESSAGE_MAX + 1] = "";
    int have_type = 0;
    enum nw_err code;

    if (len > 0 && nw_json_parse(&root, (const char *)body, len, NW_KMS_REPLY_MAX, NULL) == NW_OK &&
        cJSON_IsObject(root)) {
        t = nw_json_get(root, "__type");
        m = nw_json_get(root, "message");
        if (m == NULL)
            m = nw_json_get(root, "Message");
        if (cJSON_IsString(t))
            have_type = error_type_name(type, t->valuestring);
        if (cJSON_IsString(m))
            printable(message, m->valuestring);
    }
    cJSON_Delete(root);
    if (!have_type && header_type != NULL && header_type[0] != '\0')
        have_type = error_type_name(type, header_type);
    if (!have_type)
        return nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: HTTP %d without an AWS error type", status);
    /* KMS's refusals are 4xx; 5xx (and anything else) is KMS failing. */
    code = status >= 400 && status <= 499 && strcmp(type, "ThrottlingException") != 0 ? NW_ERR_KMS_DENIED
                                                                                     : NW_ERR_KMS_UNAVAILABLE;
    if (message[0] == '\0')
        return nw_fail(err, code, "%s", type);
    return nw_fail(err, code, "%s: %s", type, message);
}

/* A base64 string member, decoded and appended to `out` (at most `max`). */
static enum nw_err b64_field(struct nw_buf *out, const cJSON *root, const char *name, size_t max,
                             struct nw_error *err)
{
    const cJSON *item = nw_json_get(root, name);
    size_t slen, n = 0;
    uint8_t *tmp;
    enum nw_err rc;

    if (!cJSON_IsString(item))
        return nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: reply without %s", name);
    slen = strlen(item->valuestring);
    if (slen == 0 || NW_BASE64_DECODED_MAX(slen) > max + 2)
        return nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: %s must be 1..%zu bytes", name, max);
    tmp = malloc(NW_BASE64_DECODED_MAX(slen));
    if (tmp == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "kms: out of memory");
    rc = nw_base64_decode(tmp, NW_BASE64_DECODED_MAX(slen), &n, item->valuestring, slen, err);
    if (rc != NW_OK)
        rc = nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: %s is not canonical base64", name);
    else if (n > max)
        rc = nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: %s must be 1..%zu bytes", name, max);
    else if (nw_buf_append(out, tmp, n) != NW_OK)
        rc = nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: %s does not fit its buffer", name);
    free(tmp);
    return rc;
}

/* Wipe a Plaintext member before the tree is freed. */
static int wipe_plaintext(cJSON *root)
{
    cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "Plaintext");

    if (pt == NULL)
        return 0;
    if (cJSON_IsString(pt) && pt->valuestring != NULL)
        nw_wipe(pt->valuestring, strlen(pt->valuestring));
    return 1;
}

/* Messages may quote reply bytes (a JSON key): printable ASCII only. */
static enum nw_err printable_error(enum nw_err rc, struct nw_error *err)
{
    size_t i;

    if (rc != NW_OK && err != NULL)
        for (i = 0; i < sizeof err->msg && err->msg[i] != '\0'; i++)
            if (err->msg[i] < 0x20 || err->msg[i] > 0x7e)
                err->msg[i] = '?';
    return rc;
}

enum nw_err nw_kms_json_reply(struct nw_buf *cfr, struct nw_buf *blob, int status, const char *error_type,
                              const uint8_t *body, size_t len, struct nw_error *err)
{
    cJSON *root = NULL;
    size_t cfr_len = cfr->len, blob_len = blob ? blob->len : 0;
    enum nw_err rc;

    if (status != 200)
        return printable_error(error_reply(status, error_type, body, len, err), err);
    rc = nw_json_parse(&root, (const char *)body, len, NW_KMS_REPLY_MAX, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "kms: reply is not strict JSON");
        if (err != NULL)
            err->code = NW_ERR_KMS_UNAVAILABLE;
        return printable_error(NW_ERR_KMS_UNAVAILABLE, err);
    }
    if (!cJSON_IsObject(root)) {
        rc = nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: reply is not a JSON object");
        goto out;
    }
    if (wipe_plaintext(root)) {
        rc = nw_fail(err, NW_ERR_KMS_UNAVAILABLE, "kms: reply carries Plaintext although a Recipient was sent: "
                                                  "refused");
        goto out;
    }
    NW_GUARD(b64_field(cfr, root, "CiphertextForRecipient", NW_CMS_MAX, err));
    if (blob != NULL)
        NW_GUARD(b64_field(blob, root, "CiphertextBlob", NW_KMS_BLOB_MAX, err));
out:
    if (rc != NW_OK) { /* nothing appended on failure */
        cfr->len = cfr_len;
        if (blob != NULL)
            blob->len = blob_len;
    }
    cJSON_Delete(root);
    return printable_error(rc, err);
}
