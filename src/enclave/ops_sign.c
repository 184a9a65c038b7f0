/*
 * ops_sign.c - the enclave's signing operations (docs/protocol.md):
 * sign_transaction (EIP-155 legacy, EIP-2930, EIP-1559; docs/signing.md),
 * sign_message (EIP-191 personal_sign), sign_typed_data (EIP-712) and
 * sign_digest (raw 32-byte digest).  Each is decided under the account's
 * sealed policy (docs/policy.md) after the account opened, on the request
 * as parsed here.
 *
 * Trust boundary: inputs come from the untrusted host and are parsed and
 * bounded before the account is opened; the private key lives in locked
 * memory for the duration of one signature and is wiped before return.
 */
#include "enclave_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/eip712.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/message.h"
#include "nitrowallet/tx.h"

static const char *const tx_keys[] = {"account", "credentials", "transaction", NULL};
static const char *const msg_keys[] = {"account", "credentials", "message", "message_hex", NULL};
static const char *const typed_keys[] = {"account", "credentials", "typed_data", NULL};
static const char *const digest_keys[] = {"account", "credentials", "digest", NULL};

static enum nw_err nomem(struct nw_error *err)
{
    return nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
}

static enum nw_err tx_result(cJSON *result, const struct nw_signed_tx *st)
{
    char from[NW_ADDRESS_STR_SIZE], v[24];
    cJSON *sig;
    enum nw_err rc = NW_ERR_NOMEM;

    NW_GUARD(nw_enclave_add_hex(result, "raw_transaction", st->raw.data, st->raw.len));
    NW_GUARD(nw_enclave_add_hex(result, "transaction_hash", st->hash, 32));
    nw_address_to_checksum(from, st->from);
    rc = NW_ERR_NOMEM;
    if (cJSON_AddStringToObject(result, "from", from) == NULL || (sig = cJSON_AddObjectToObject(result, "signature")) == NULL)
        goto out;
    NW_GUARD(nw_enclave_add_hex(sig, "r", st->sig.r, 32));
    NW_GUARD(nw_enclave_add_hex(sig, "s", st->sig.s, 32));
    rc = NW_ERR_NOMEM;
    snprintf(v, sizeof v, "0x%llx", (unsigned long long)st->v);
    if (cJSON_AddNumberToObject(sig, "y_parity", st->sig.y_parity) == NULL || cJSON_AddStringToObject(sig, "v", v) == NULL)
        goto out;
    rc = NW_OK;
out:
    return rc;
}

enum nw_err nw_enclave_op_sign_transaction(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                           struct nw_error *err)
{
    struct nw_enclave_account a;
    struct nw_secret sk = {0};
    struct nw_tx tx;
    struct nw_signed_tx st;
    struct nw_policy_decision dec;
    struct nw_policy_request pr = {.kind = NW_POLICY_TRANSACTION, .tx = &tx};
    int have_tx = 0, have_st = 0;
    enum nw_err rc;

    memset(&a, 0, sizeof a);
    memset(&st, 0, sizeof st);
    NW_GUARD(nw_json_check_keys(params, tx_keys, "params", err));
    if (nw_json_get(params, "transaction") == NULL) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "transaction: required");
        goto out;
    }
    rc = nw_tx_from_json(&tx, nw_json_get(params, "transaction"), err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "transaction");
        goto out;
    }
    have_tx = 1;
    NW_GUARD(nw_enclave_open_account(ops, params, &a, &sk, err));
    /* the policy is the sealed one: it opened with the key */
    NW_GUARD(nw_enclave_check_policy(&a.policy, &pr, &dec, err));
    /* nw_enclave_open_account checked that the key is a.address */
    NW_GUARD(nw_tx_sign_as(&st, &tx, sk.data, a.address, err));
    have_st = 1;
    if (tx_result(result, &st) != NW_OK)
        rc = nomem(err);
    else
        rc = nw_enclave_add_decision(result, &dec, err);
out:
    nw_secret_free(&sk);
    nw_enclave_account_free(&a);
    if (have_st)
        nw_signed_tx_free(&st);
    if (have_tx)
        nw_tx_free(&tx);
    return rc;
}

static enum nw_err add_sig65(cJSON *result, const uint8_t sig[65], struct nw_error *err)
{
    return nw_enclave_add_hex(result, "signature", sig, 65) == NW_OK ? NW_OK : nomem(err);
}

/* params.message (UTF-8 text) or params.message_hex ("0x" bytes), exactly one. */
static enum nw_err message_bytes(uint8_t *buf, size_t *len, const cJSON *params, struct nw_error *err)
{
    const cJSON *text = nw_json_get(params, "message"), *hex = nw_json_get(params, "message_hex");
    const char *s;
    size_t n;
    enum nw_err rc;

    if ((text == NULL) == (hex == NULL))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "message: exactly one of message and message_hex is required");
    rc = nw_json_string(&s, &n, text ? text : hex, text ? "message" : "message_hex", err);
    if (rc != NW_OK)
        return rc;
    if (hex != NULL)
        return nw_hex_decode(buf, NW_MESSAGE_MAX, len, s, n, err) == NW_OK
                   ? NW_OK
                   : (nw_error_prefix(err, "message_hex"), NW_ERR_BAD_REQUEST);
    if (n > NW_MESSAGE_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "message: more than %u bytes", NW_MESSAGE_MAX);
    memcpy(buf, s, n);
    *len = n;
    return NW_OK;
}

enum nw_err nw_enclave_op_sign_message(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                       struct nw_error *err)
{
    struct nw_enclave_account a;
    struct nw_secret sk = {0};
    uint8_t *msg = malloc(NW_MESSAGE_MAX), sig[65];
    size_t len = 0;
    struct nw_policy_decision dec;
    struct nw_policy_request pr = {.kind = NW_POLICY_MESSAGE};
    enum nw_err rc;

    memset(&a, 0, sizeof a);
    if (msg == NULL)
        return nomem(err);
    NW_GUARD(nw_json_check_keys(params, msg_keys, "params", err));
    NW_GUARD(message_bytes(msg, &len, params, err));
    NW_GUARD(nw_enclave_open_account(ops, params, &a, &sk, err));
    pr.message_len = len;
    NW_GUARD(nw_enclave_check_policy(&a.policy, &pr, &dec, err));
    NW_GUARD(nw_eip191_sign(sig, sk.data, msg, len, err));
    NW_GUARD(add_sig65(result, sig, err));
    rc = nw_enclave_add_decision(result, &dec, err);
out:
    nw_secret_free(&sk);
    nw_enclave_account_free(&a);
    free(msg);
    return rc;
}

static enum nw_err sign_hash(uint8_t sig65[65], const uint8_t sk[32], const uint8_t digest[32], struct nw_error *err)
{
    struct nw_sig sig;

    if (nw_sign_digest(&sig, sk, digest) != NW_OK)
        return nw_fail(err, NW_ERR_INTERNAL, "signing failed");
    nw_sig_to_65(sig65, &sig);
    return NW_OK;
}

enum nw_err nw_enclave_op_sign_typed_data(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                          struct nw_error *err)
{
    struct nw_enclave_account a;
    struct nw_secret sk = {0};
    struct nw_eip712_hashes h;
    uint8_t sig[65];
    struct nw_policy_decision dec;
    struct nw_policy_request pr = {.kind = NW_POLICY_TYPED_DATA};
    enum nw_err rc;

    memset(&a, 0, sizeof a);
    NW_GUARD(nw_json_check_keys(params, typed_keys, "params", err));
    if (nw_json_get(params, "typed_data") == NULL) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "typed_data: required");
        goto out;
    }
    rc = nw_eip712_hash(&h, nw_json_get(params, "typed_data"), err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "typed_data");
        goto out;
    }
    NW_GUARD(nw_enclave_open_account(ops, params, &a, &sk, err));
    /* the document nw_eip712_hash accepted, as it was hashed */
    pr.typed_data = nw_json_get(params, "typed_data");
    NW_GUARD(nw_enclave_check_policy(&a.policy, &pr, &dec, err));
    NW_GUARD(sign_hash(sig, sk.data, h.digest, err));
    NW_GUARD(add_sig65(result, sig, err));
    if (nw_enclave_add_hex(result, "digest", h.digest, 32) != NW_OK)
        rc = nomem(err);
    else
        rc = nw_enclave_add_decision(result, &dec, err);
out:
    nw_secret_free(&sk);
    nw_enclave_account_free(&a);
    return rc;
}

enum nw_err nw_enclave_op_sign_digest(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                      struct nw_error *err)
{
    struct nw_enclave_account a;
    struct nw_secret sk = {0};
    uint8_t digest[32], sig[65];
    const char *s;
    size_t n;
    struct nw_policy_decision dec;
    struct nw_policy_request pr = {.kind = NW_POLICY_DIGEST};
    enum nw_err rc;

    memset(&a, 0, sizeof a);
    NW_GUARD(nw_json_check_keys(params, digest_keys, "params", err));
    NW_GUARD(nw_json_string(&s, &n, nw_json_get(params, "digest"), "digest", err));
    rc = nw_hex_decode_exact(digest, 32, s, n, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "digest");
        rc = NW_ERR_BAD_REQUEST;
        goto out;
    }
    /* The policy is checked after opening: only the sealed policy counts. */
    NW_GUARD(nw_enclave_open_account(ops, params, &a, &sk, err));
    NW_GUARD(nw_enclave_check_policy(&a.policy, &pr, &dec, err));
    NW_GUARD(sign_hash(sig, sk.data, digest, err));
    NW_GUARD(add_sig65(result, sig, err));
    rc = nw_enclave_add_decision(result, &dec, err);
out:
    nw_secret_free(&sk);
    nw_enclave_account_free(&a);
    return rc;
}
