/*
 * tx_json.c - transaction JSON (Ethereum JSON-RPC style) into struct nw_tx.
 *
 * Trust boundary: parses untrusted input inside the enclave.  Every field
 * is checked for form, range and membership in the transaction's type
 * (EIP-155 legacy, EIP-2930, EIP-1559); the first problem found is reported
 * with the field's name.  Nothing is defaulted that would change what gets
 * signed except value (0), data (empty), to (absent: contract creation) and
 * accessList (empty), which is what JSON-RPC clients mean by omitting them.
 */
#include "nitrowallet/tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"

static const char *const tx_keys[] = {
    "type", "chainId", "nonce", "gas", "gasLimit", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas",
    "to", "value", "data", "input", "accessList", "from", NULL,
};

static const char *const type_names[] = {"type 0 (legacy)", "type 1 (EIP-2930)", "type 2 (EIP-1559)"};

static enum nw_err parse_type(enum nw_tx_type *type, const cJSON *obj, struct nw_error *err)
{
    const cJSON *t = nw_json_get(obj, "type");
    uint64_t v;
    enum nw_err rc;

    if (t == NULL) {
        /* Inferred as ethers and geth do: fee market fields mean 1559. */
        if (nw_json_get(obj, "maxFeePerGas") || nw_json_get(obj, "maxPriorityFeePerGas"))
            *type = NW_TX_EIP1559;
        else if (nw_json_get(obj, "accessList"))
            *type = NW_TX_EIP2930;
        else
            *type = NW_TX_LEGACY;
        return NW_OK;
    }
    if ((rc = nw_json_u64(&v, t, UINT64_MAX, "type", err)) != NW_OK)
        return rc;
    if (v > 2)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "type: unsupported transaction type %llu (supported: 0, 1, 2)",
                       (unsigned long long)v);
    *type = (enum nw_tx_type)v;
    return NW_OK;
}

/* Refuse fields that the type does not have. */
static enum nw_err check_membership(const cJSON *obj, enum nw_tx_type type, struct nw_error *err)
{
    static const char *const not_legacy[] = {"maxFeePerGas", "maxPriorityFeePerGas", "accessList", NULL};
    static const char *const not_2930[] = {"maxFeePerGas", "maxPriorityFeePerGas", NULL};
    static const char *const not_1559[] = {"gasPrice", NULL};
    const char *const *bad = type == NW_TX_LEGACY ? not_legacy : type == NW_TX_EIP2930 ? not_2930 : not_1559;

    for (size_t i = 0; bad[i] != NULL; i++) {
        if (nw_json_get(obj, bad[i]))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: field does not belong to a %s transaction", bad[i],
                           type_names[type]);
    }
    return NW_OK;
}

static const cJSON *required(const cJSON *obj, const char *key, enum nw_tx_type type, struct nw_error *err)
{
    const cJSON *v = nw_json_get(obj, key);
    if (v == NULL)
        nw_fail(err, NW_ERR_BAD_REQUEST, "%s: required for a %s transaction", key, type_names[type]);
    return v;
}

static enum nw_err parse_quantity_field(struct nw_u256 *out, const cJSON *obj, const char *key,
                                        enum nw_tx_type type, struct nw_error *err)
{
    const cJSON *v = required(obj, key, type, err);
    return v ? nw_json_quantity(out, v, key, err) : NW_ERR_BAD_REQUEST;
}

/* "gas" and its alias "gasLimit": one is required; both must agree. */
static enum nw_err parse_gas(struct nw_tx *tx, const cJSON *obj, struct nw_error *err)
{
    const cJSON *gas = nw_json_get(obj, "gas"), *limit = nw_json_get(obj, "gasLimit");
    uint64_t a, b;
    enum nw_err rc;

    if (gas == NULL && limit == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "gas: required (or its alias gasLimit)");
    if (gas && (rc = nw_json_u64(&a, gas, UINT64_MAX, "gas", err)) != NW_OK)
        return rc;
    if (limit && (rc = nw_json_u64(&b, limit, UINT64_MAX, "gasLimit", err)) != NW_OK)
        return rc;
    if (gas && limit && a != b)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "gas and gasLimit are both given and differ");
    tx->gas = gas ? a : b;
    return NW_OK;
}

static enum nw_err parse_bytes(uint8_t **out, size_t *out_len, const cJSON *item, const char *field,
                               struct nw_error *err)
{
    const char *s;
    size_t len;
    enum nw_err rc;

    if ((rc = nw_json_string(&s, &len, item, field, err)) != NW_OK)
        return rc;
    /* Room for what the string can hold, never more than the bound. */
    size_t cap = len / 2 + 1 < NW_TX_MAX_DATA ? len / 2 + 1 : NW_TX_MAX_DATA;
    *out = malloc(cap);
    if (*out == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    rc = nw_hex_decode(*out, cap, out_len, s, len, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "%s", field);
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* "data" and its alias "input": both optional; both must agree. */
static enum nw_err parse_data(struct nw_tx *tx, const cJSON *obj, struct nw_error *err)
{
    const cJSON *data = nw_json_get(obj, "data"), *input = nw_json_get(obj, "input");
    uint8_t *other = NULL;
    size_t other_len = 0;
    enum nw_err rc;

    if (data && (rc = parse_bytes(&tx->data, &tx->data_len, data, "data", err)) != NW_OK)
        return rc;
    if (input == NULL)
        return NW_OK;
    if ((rc = parse_bytes(data ? &other : &tx->data, data ? &other_len : &tx->data_len, input, "input", err)) !=
        NW_OK)
        return rc;
    if (data && (other_len != tx->data_len || memcmp(other, tx->data, other_len) != 0))
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "data and input are both given and differ");
    free(other);
    return rc;
}

static enum nw_err parse_address_field(uint8_t addr[20], const cJSON *item, const char *field,
                                       struct nw_error *err)
{
    const char *s;
    size_t len;
    enum nw_err rc;

    if ((rc = nw_json_string(&s, &len, item, field, err)) != NW_OK)
        return rc;
    if ((rc = nw_address_parse(addr, s, len, err)) != NW_OK)
        nw_error_prefix(err, "%s", field);
    return rc;
}

static enum nw_err parse_access_entry(struct nw_access_entry *e, const cJSON *item, size_t i,
                                      size_t *total_keys, struct nw_error *err)
{
    static const char *const keys[] = {"address", "storageKeys", NULL};
    const cJSON *addr = nw_json_get(item, "address"), *sk = nw_json_get(item, "storageKeys");
    char field[64];
    size_t n, k = 0;
    enum nw_err rc;

    snprintf(field, sizeof field, "accessList[%zu]", i);
    if ((rc = nw_json_check_keys(item, keys, field, err)) != NW_OK)
        return rc;
    if (addr == NULL || sk == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: needs both address and storageKeys", field);
    snprintf(field, sizeof field, "accessList[%zu].address", i);
    if ((rc = parse_address_field(e->address, addr, field, err)) != NW_OK)
        return rc;
    if (!cJSON_IsArray(sk))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "accessList[%zu].storageKeys: expected an array", i);
    n = (size_t)cJSON_GetArraySize(sk);
    if (n > NW_TX_MAX_STORAGE_KEYS - *total_keys)
        return nw_fail(err, NW_ERR_TOO_LARGE, "accessList: more than %u storage keys in total",
                       NW_TX_MAX_STORAGE_KEYS);
    *total_keys += n;
    if (n > 0 && (e->keys = calloc(n, sizeof *e->keys)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    for (const cJSON *c = sk->child; c != NULL; c = c->next, k++) {
        e->n_keys = k; /* keys[0..k) are filled */
        snprintf(field, sizeof field, "accessList[%zu].storageKeys[%zu]", i, k);
        if (!cJSON_IsString(c))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: expected a 32-byte hex string", field);
        rc = nw_hex_decode_exact(e->keys[k], 32, c->valuestring, strlen(c->valuestring), err);
        if (rc != NW_OK) {
            nw_error_prefix(err, "%s", field);
            return rc;
        }
    }
    e->n_keys = k;
    return NW_OK;
}

static enum nw_err parse_access_list(struct nw_tx *tx, const cJSON *obj, struct nw_error *err)
{
    const cJSON *list = nw_json_get(obj, "accessList");
    size_t n, i = 0, total_keys = 0;
    enum nw_err rc;

    if (list == NULL)
        return NW_OK;
    if (!cJSON_IsArray(list))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "accessList: expected an array");
    n = (size_t)cJSON_GetArraySize(list);
    if (n > NW_TX_MAX_ACCESS_ADDRESSES)
        return nw_fail(err, NW_ERR_TOO_LARGE, "accessList: more than %u entries", NW_TX_MAX_ACCESS_ADDRESSES);
    if (n == 0)
        return NW_OK;
    if ((tx->access_list = calloc(n, sizeof *tx->access_list)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    for (const cJSON *c = list->child; c != NULL; c = c->next, i++) {
        tx->n_access = i + 1; /* so nw_tx_free releases a partial entry */
        if ((rc = parse_access_entry(&tx->access_list[i], c, i, &total_keys, err)) != NW_OK)
            return rc;
    }
    return NW_OK;
}

static enum nw_err parse_fees(struct nw_tx *tx, const cJSON *obj, struct nw_error *err)
{
    enum nw_err rc;

    if (tx->type != NW_TX_EIP1559)
        return parse_quantity_field(&tx->gas_price, obj, "gasPrice", tx->type, err);
    if ((rc = parse_quantity_field(&tx->max_fee_per_gas, obj, "maxFeePerGas", tx->type, err)) != NW_OK)
        return rc;
    if ((rc = parse_quantity_field(&tx->max_priority_fee_per_gas, obj, "maxPriorityFeePerGas", tx->type, err)) !=
        NW_OK)
        return rc;
    /* EIP-1559: such a transaction can never be included. */
    if (nw_u256_cmp(&tx->max_priority_fee_per_gas, &tx->max_fee_per_gas) > 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "maxPriorityFeePerGas: exceeds maxFeePerGas");
    return NW_OK;
}

static enum nw_err parse_fields(struct nw_tx *tx, const cJSON *obj, struct nw_error *err)
{
    const cJSON *v;
    enum nw_err rc;

    if ((rc = nw_json_check_keys(obj, tx_keys, "transaction", err)) != NW_OK)
        return rc;
    if ((rc = parse_type(&tx->type, obj, err)) != NW_OK)
        return rc;
    if ((rc = check_membership(obj, tx->type, err)) != NW_OK)
        return rc;
    if ((v = required(obj, "chainId", tx->type, err)) == NULL)
        return NW_ERR_BAD_REQUEST;
    if ((rc = nw_json_u64(&tx->chain_id, v, NW_TX_MAX_CHAIN_ID, "chainId", err)) != NW_OK)
        return rc;
    if (tx->chain_id == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "chainId: must not be 0 (EIP-155 replay protection)");
    if ((v = required(obj, "nonce", tx->type, err)) == NULL)
        return NW_ERR_BAD_REQUEST;
    if ((rc = nw_json_u64(&tx->nonce, v, NW_TX_MAX_NONCE, "nonce", err)) != NW_OK)
        return rc;
    if ((rc = parse_gas(tx, obj, err)) != NW_OK || (rc = parse_fees(tx, obj, err)) != NW_OK)
        return rc;
    if ((v = nw_json_get(obj, "value")) != NULL && (rc = nw_json_quantity(&tx->value, v, "value", err)) != NW_OK)
        return rc;
    v = nw_json_get(obj, "to");
    if (v != NULL && !cJSON_IsNull(v)) {
        if ((rc = parse_address_field(tx->to, v, "to", err)) != NW_OK)
            return rc;
        tx->has_to = 1;
    }
    if ((v = nw_json_get(obj, "from")) != NULL) {
        if ((rc = parse_address_field(tx->from, v, "from", err)) != NW_OK)
            return rc;
        tx->has_from = 1;
    }
    if ((rc = parse_data(tx, obj, err)) != NW_OK)
        return rc;
    return parse_access_list(tx, obj, err);
}

enum nw_err nw_tx_from_json(struct nw_tx *tx, const cJSON *obj, struct nw_error *err)
{
    enum nw_err rc;

    memset(tx, 0, sizeof *tx);
    rc = parse_fields(tx, obj, err);
    if (rc != NW_OK)
        nw_tx_free(tx);
    return rc;
}

enum nw_err nw_tx_parse(struct nw_tx *tx, const char *json, size_t len, struct nw_error *err)
{
    cJSON *root = NULL;
    enum nw_err rc;

    memset(tx, 0, sizeof *tx);
    if ((rc = nw_json_parse(&root, json, len, NW_TX_MAX_JSON, err)) != NW_OK)
        return rc;
    rc = nw_tx_from_json(tx, root, err);
    cJSON_Delete(root);
    return rc;
}

void nw_tx_free(struct nw_tx *tx)
{
    for (size_t i = 0; i < tx->n_access; i++)
        free(tx->access_list[i].keys);
    free(tx->access_list);
    free(tx->data);
    memset(tx, 0, sizeof *tx);
}
