/*
 * storage_check.c - validation of storage records before any backend sees
 * them (storage.h lists the bounds; docs/storage.md the item shapes).
 *
 * This runs on the host, which is not trusted with keys; its job is that
 * the database only ever holds well-formed, bounded items, so a backend can
 * store them without further checks and every reader can rely on the
 * shapes.  Over-long or malformed fields are refused, never truncated.
 * Messages name the field and the bound, never the value.
 */
#include "nitrowallet/storage.h"

#include <string.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/key.h"
#include "nitrowallet/utf8.h"

/* Length of `s`, refusing NULL, fewer than `min` or more than `max` bytes. */
static enum nw_err text(size_t *len, const char *s, size_t min, size_t max, const char *field, struct nw_error *err)
{
    if (s == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: missing", field);
    *len = strnlen(s, max + 1);
    if (*len > max)
        return nw_fail(err, NW_ERR_TOO_LARGE, "%s: longer than %zu bytes", field, max);
    if (*len < min)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: shorter than %zu bytes", field, min);
    return NW_OK;
}

/* Printable ASCII without spaces, min..max bytes. */
static enum nw_err token_text(const char *s, size_t min, size_t max, const char *field, struct nw_error *err)
{
    size_t len = 0;
    enum nw_err rc = text(&len, s, min, max, field, err);

    if (rc != NW_OK)
        return rc;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: character %zu is not printable ASCII", field, i);
    return NW_OK;
}

/* "0x" + exactly `digits` lowercase hex digits (or, if `even`, any even count up to `digits`). */
static enum nw_err lower_hex(const char *s, size_t digits, int even, const char *field, struct nw_error *err)
{
    size_t len = 0;
    enum nw_err rc = text(&len, s, even ? 4 : 2 + digits, 2 + digits, field, err);

    if (rc != NW_OK)
        return rc;
    if (s[0] != '0' || s[1] != 'x')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: must start with \"0x\"", field);
    if (len % 2 != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: odd number of hex digits", field);
    for (size_t i = 2; i < len; i++)
        if (nw_hex_digit(s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: character %zu is not lowercase hex", field, i);
    return NW_OK;
}

int nw_storage_name_valid(const char *name)
{
    size_t len = 0;

    if (name == NULL)
        return 0;
    len = strnlen(name, NW_STORAGE_NAME_MAX + 1);
    if (len == 0 || len > NW_STORAGE_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static enum nw_err check_name(const char *name, struct nw_error *err)
{
    if (!nw_storage_name_valid(name))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "name: 1..%d characters of [A-Za-z0-9._-], not starting with '.'",
                       NW_STORAGE_NAME_MAX);
    return NW_OK;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ": the shape only (the writer is nw_storage_timestamp). */
static enum nw_err check_time(const char *s, struct nw_error *err)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t len = 0;
    enum nw_err rc = text(&len, s, NW_STORAGE_TIME_LEN, NW_STORAGE_TIME_LEN, "created_at", err);

    if (rc != NW_OK)
        return rc;
    for (size_t i = 0; i < len; i++) {
        int ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
        if (!ok)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "created_at: not of the form %s", shape);
    }
    return NW_OK;
}

static enum nw_err check_address(const char *s, struct nw_error *err)
{
    uint8_t addr[NW_ADDRESS_LEN];
    char canon[NW_ADDRESS_STR_SIZE];
    size_t len = 0;
    enum nw_err rc = text(&len, s, NW_STORAGE_ADDRESS_LEN, NW_STORAGE_ADDRESS_LEN, "address", err);

    if (rc != NW_OK)
        return rc;
    if ((rc = nw_address_parse(addr, s, len, err)) != NW_OK) {
        nw_error_prefix(err, "address");
        return rc;
    }
    nw_address_to_checksum(canon, addr);
    if (strcmp(canon, s) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "address: not in EIP-55 checksum form");
    return NW_OK;
}

static enum nw_err check_base64(const char *s, const char *field, struct nw_error *err)
{
    uint8_t out[NW_BASE64_DECODED_MAX(NW_STORAGE_B64_MAX)]; /* public ciphertext, discarded */
    size_t len = 0, n;
    enum nw_err rc = text(&len, s, 4, NW_STORAGE_B64_MAX, field, err);

    if (rc != NW_OK)
        return rc;
    if ((rc = nw_base64_decode(out, sizeof out, &n, s, len, err)) != NW_OK)
        nw_error_prefix(err, "%s", field);
    return rc;
}

/* A JSON object, parsed strictly (no duplicate keys). */
static enum nw_err check_json_object(const char *s, size_t len, size_t max, const char *field, struct nw_error *err)
{
    cJSON *root = NULL;
    enum nw_err rc = nw_json_parse(&root, s, len, max, err);

    if (rc != NW_OK) {
        nw_error_prefix(err, "%s", field);
        return rc;
    }
    if (!cJSON_IsObject(root))
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "%s: expected a JSON object", field);
    cJSON_Delete(root);
    return rc;
}

static enum nw_err check_policy(const char *s, struct nw_error *err)
{
    size_t len = 0;
    enum nw_err rc = text(&len, s, 2, NW_STORAGE_POLICY_MAX, "policy", err);

    if (rc != NW_OK)
        return rc;
    return check_json_object(s, len, NW_STORAGE_POLICY_MAX, "policy", err);
}

enum nw_err nw_storage_check_account(const struct nw_account_record *rec, struct nw_error *err)
{
    enum nw_err rc;

    if (rec == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "account: missing");
    if ((rc = check_name(rec->name, err)) != NW_OK ||
        (rc = token_text(rec->kms_key_id, 1, NW_STORAGE_KMS_KEY_ID_MAX, "kms_key_id", err)) != NW_OK ||
        (rc = check_address(rec->address, err)) != NW_OK ||
        (rc = check_base64(rec->encrypted_private_key, "encrypted_private_key", err)) != NW_OK ||
        (rc = check_base64(rec->encrypted_data_key, "encrypted_data_key", err)) != NW_OK ||
        (rc = check_policy(rec->policy, err)) != NW_OK ||
        (rc = lower_hex(rec->policy_digest, 64, 0, "policy_digest", err)) != NW_OK)
        return rc;
    return check_time(rec->created_at, err);
}

static enum nw_err check_kind(const char *kind, int *is_tx, struct nw_error *err)
{
    static const char *const kinds[] = {"transaction", "message", "typed_data", "digest", "denied"};

    if (kind != NULL)
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strcmp(kind, kinds[i]) == 0) {
                *is_tx = i == 0;
                return NW_OK;
            }
    return nw_fail(err, NW_ERR_BAD_REQUEST, "kind: expected transaction, message, typed_data, digest or denied");
}

enum nw_err nw_storage_check_signed_value(const struct nw_signed_value_record *rec, struct nw_error *err)
{
    size_t len = 0;
    int is_tx = 0;
    enum nw_err rc;

    if (rec == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "signed value: missing");
    if ((rc = check_name(rec->name, err)) != NW_OK || (rc = check_kind(rec->kind, &is_tx, err)) != NW_OK ||
        (rc = text(&len, rec->transaction, 1, NW_STORAGE_TRANSACTION_MAX, "transaction", err)) != NW_OK)
        return rc;
    if ((rc = check_json_object(rec->transaction, len, NW_STORAGE_TRANSACTION_MAX, "transaction", err)) != NW_OK)
        return rc;
    /* a denial (kind "denied") signed nothing: its signed_value is "0x" */
    if (strcmp(rec->kind, "denied") == 0) {
        if (rec->signed_value == NULL || strcmp(rec->signed_value, "0x") != 0)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "signed_value: must be \"0x\" for a denial");
    } else if ((rc = lower_hex(rec->signed_value, NW_STORAGE_SIGNED_MAX - 2, 1, "signed_value", err)) != NW_OK) {
        return rc;
    }
    if (is_tx) {
        if ((rc = lower_hex(rec->tx_hash, 64, 0, "tx_hash", err)) != NW_OK)
            return rc;
    } else if (rec->tx_hash == NULL || rec->tx_hash[0] != '\0') {
        return nw_fail(err, NW_ERR_BAD_REQUEST, "tx_hash: must be empty unless kind is transaction");
    }
    if ((rc = check_time(rec->created_at, err)) != NW_OK)
        return rc;
    return token_text(rec->request_id, 1, NW_STORAGE_REQUEST_ID_MAX, "request_id", err);
}

enum nw_err nw_storage_check_idempotency(const struct nw_idempotency_record *rec, struct nw_error *err)
{
    size_t len = 0;
    enum nw_err rc;

    if (rec == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "idempotency record: missing");
    if ((rc = token_text(rec->key, 1, NW_STORAGE_IDEM_KEY_MAX, "idempotency key", err)) != NW_OK ||
        (rc = token_text(rec->fingerprint, 1, NW_STORAGE_FINGERPRINT_MAX, "fingerprint", err)) != NW_OK)
        return rc;
    if (rec->status < 100 || rec->status > 599)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "status: expected an HTTP status 100..599");
    if ((rc = text(&len, rec->response, 0, NW_STORAGE_RESPONSE_MAX, "response", err)) != NW_OK)
        return rc;
    if (!nw_utf8_valid((const uint8_t *)rec->response, len))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "response: invalid UTF-8");
    return check_time(rec->created_at, err);
}
