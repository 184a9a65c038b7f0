/*
 * tx.c - encoding and signing of Ethereum transactions.
 *
 *   legacy (EIP-155):  sign keccak(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]))
 *                      raw  rlp([nonce, gasPrice, gas, to, value, data, v, r, s]),
 *                      v = chainId * 2 + 35 + yParity
 *   EIP-2930 (type 1): 0x01 || rlp([chainId, nonce, gasPrice, gas, to, value, data, accessList
 *                                   (, yParity, r, s)])
 *   EIP-1559 (type 2): 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to,
 *                                   value, data, accessList (, yParity, r, s)])
 * The transaction hash is keccak256 of the raw signed encoding.
 *
 * Trust boundary: signs with a plaintext key; linked into the enclave.
 */
#include "nitrowallet/tx.h"

#include <string.h>

#include "nitrowallet/keccak.h"
#include "nitrowallet/rlp.h"

/* Bound on any encoding of a transaction that passed nw_tx_from_json. */
#define TX_MAX_ENCODED \
    (NW_TX_MAX_DATA + NW_TX_MAX_ACCESS_ADDRESSES * 32u + NW_TX_MAX_STORAGE_KEYS * 40u + 4096u)

static enum nw_err put_access_list(struct nw_buf *out, const struct nw_tx *tx)
{
    struct nw_buf list, entry, keys;
    enum nw_err rc = NW_OK;

    nw_buf_init(&list, TX_MAX_ENCODED);
    nw_buf_init(&entry, TX_MAX_ENCODED);
    nw_buf_init(&keys, TX_MAX_ENCODED);
    for (size_t i = 0; i < tx->n_access; i++) {
        const struct nw_access_entry *e = &tx->access_list[i];
        entry.len = 0;
        keys.len = 0;
        for (size_t k = 0; k < e->n_keys; k++)
            NW_GUARD(nw_rlp_put_bytes(&keys, e->keys[k], 32));
        NW_GUARD(nw_rlp_put_bytes(&entry, e->address, 20));
        NW_GUARD(nw_rlp_put_list(&entry, keys.data, keys.len));
        NW_GUARD(nw_rlp_put_list(&list, entry.data, entry.len));
    }
    rc = nw_rlp_put_list(out, list.data, list.len);
out:
    nw_buf_free(&list);
    nw_buf_free(&entry);
    nw_buf_free(&keys);
    return rc;
}

/* The fields every form shares, in the order of the transaction's type. */
static enum nw_err put_fields(struct nw_buf *b, const struct nw_tx *tx)
{
    enum nw_err rc;

    if (tx->type != NW_TX_LEGACY)
        NW_GUARD(nw_rlp_put_u64(b, tx->chain_id));
    NW_GUARD(nw_rlp_put_u64(b, tx->nonce));
    if (tx->type == NW_TX_EIP1559) {
        NW_GUARD(nw_rlp_put_uint(b, &tx->max_priority_fee_per_gas));
        NW_GUARD(nw_rlp_put_uint(b, &tx->max_fee_per_gas));
    } else {
        NW_GUARD(nw_rlp_put_uint(b, &tx->gas_price));
    }
    NW_GUARD(nw_rlp_put_u64(b, tx->gas));
    NW_GUARD(nw_rlp_put_bytes(b, tx->to, tx->has_to ? 20 : 0));
    NW_GUARD(nw_rlp_put_uint(b, &tx->value));
    NW_GUARD(nw_rlp_put_bytes(b, tx->data, tx->data_len));
    if (tx->type != NW_TX_LEGACY)
        NW_GUARD(put_access_list(b, tx));
out:
    return rc;
}

/* Encode the unsigned (sig == NULL) or signed form into `out`. */
static enum nw_err encode(struct nw_buf *out, const struct nw_tx *tx, const struct nw_sig *sig, uint64_t v)
{
    struct nw_buf payload;
    struct nw_u256 r, s;
    enum nw_err rc;

    nw_buf_init(&payload, TX_MAX_ENCODED);
    NW_GUARD(put_fields(&payload, tx));
    if (sig != NULL) {
        nw_u256_from_be(&r, sig->r, 32);
        nw_u256_from_be(&s, sig->s, 32);
        NW_GUARD(nw_rlp_put_u64(&payload, v));
        NW_GUARD(nw_rlp_put_uint(&payload, &r));
        NW_GUARD(nw_rlp_put_uint(&payload, &s));
    } else if (tx->type == NW_TX_LEGACY) {
        /* EIP-155: chainId, 0, 0 take the place of v, r, s. */
        NW_GUARD(nw_rlp_put_u64(&payload, tx->chain_id));
        NW_GUARD(nw_rlp_put_u64(&payload, 0));
        NW_GUARD(nw_rlp_put_u64(&payload, 0));
    }
    if (tx->type != NW_TX_LEGACY)
        NW_GUARD(nw_buf_append_byte(out, (uint8_t)tx->type));
    rc = nw_rlp_put_list(out, payload.data, payload.len);
out:
    nw_buf_free(&payload);
    return rc;
}

enum nw_err nw_tx_signing_hash(uint8_t hash[32], const struct nw_tx *tx, struct nw_error *err)
{
    struct nw_buf unsigned_tx;
    enum nw_err rc;

    nw_buf_init(&unsigned_tx, TX_MAX_ENCODED);
    rc = encode(&unsigned_tx, tx, NULL, 0);
    if (rc == NW_OK)
        nw_keccak256(hash, unsigned_tx.data, unsigned_tx.len);
    else
        nw_fail(err, rc, "transaction could not be encoded");
    nw_buf_free(&unsigned_tx);
    return rc;
}

enum nw_err nw_tx_sign(struct nw_signed_tx *out, const struct nw_tx *tx, const uint8_t sk[32],
                       struct nw_error *err)
{
    uint8_t address[20];
    enum nw_err rc;

    if ((rc = nw_key_address(address, sk)) != NW_OK) {
        memset(out, 0, sizeof *out);
        nw_buf_init(&out->raw, TX_MAX_ENCODED);
        return nw_fail(err, rc, "invalid signing key");
    }
    return nw_tx_sign_as(out, tx, sk, address, err);
}

enum nw_err nw_tx_sign_as(struct nw_signed_tx *out, const struct nw_tx *tx, const uint8_t sk[32],
                          const uint8_t address[20], struct nw_error *err)
{
    uint8_t digest[32];
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    nw_buf_init(&out->raw, TX_MAX_ENCODED);
    memcpy(out->from, address, 20);
    if (tx->has_from && memcmp(tx->from, out->from, 20) != 0) {
        char want[NW_ADDRESS_STR_SIZE];
        nw_address_to_checksum(want, out->from);
        return nw_fail(err, NW_ERR_POLICY_DENIED, "from: does not match the signing account's address %s", want);
    }
    if ((rc = nw_tx_signing_hash(digest, tx, err)) != NW_OK)
        return rc;
    if ((rc = nw_sign_digest(&out->sig, sk, digest)) != NW_OK)
        return nw_fail(err, rc, "signing failed");
    out->v = tx->type == NW_TX_LEGACY ? tx->chain_id * 2 + 35 + (uint64_t)out->sig.y_parity
                                      : (uint64_t)out->sig.y_parity;
    if ((rc = encode(&out->raw, tx, &out->sig, out->v)) != NW_OK) {
        nw_signed_tx_free(out);
        return nw_fail(err, rc, "signed transaction could not be encoded");
    }
    nw_keccak256(out->hash, out->raw.data, out->raw.len);
    return NW_OK;
}

void nw_signed_tx_free(struct nw_signed_tx *out)
{
    nw_buf_free(&out->raw);
    memset(out, 0, sizeof *out);
}
