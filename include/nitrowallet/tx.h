/*
 * tx.h - Ethereum transactions: JSON in, signed raw transaction out.
 *
 * Types: legacy with EIP-155 replay protection (type 0), EIP-2930 (type 1)
 * and EIP-1559 (type 2).  The input is a JSON object in the style of the
 * Ethereum JSON-RPC `eth_signTransaction` parameter; see docs/signing.md for
 * every field, its accepted forms, bounds and the error for each refusal.
 */
#ifndef NITROWALLET_TX_H
#define NITROWALLET_TX_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/key.h"
#include "nitrowallet/u256.h"

#define NW_TX_MAX_DATA (128u * 1024u)     /* bytes of calldata (geth's txMaxSize) */
#define NW_TX_MAX_ACCESS_ADDRESSES 1024
#define NW_TX_MAX_STORAGE_KEYS 4096       /* over the whole access list */
#define NW_TX_MAX_JSON (1024u * 1024u)    /* bytes of transaction JSON (one protocol frame) */
/* EIP-2294: chain ids up to floor(MAX_UINT64 / 2) - 36 keep v in 64 bits. */
#define NW_TX_MAX_CHAIN_ID 9223372036854775771ULL
/* EIP-2681: nonce < 2^64 - 1. */
#define NW_TX_MAX_NONCE 18446744073709551614ULL

enum nw_tx_type { NW_TX_LEGACY = 0, NW_TX_EIP2930 = 1, NW_TX_EIP1559 = 2 };

struct nw_access_entry {
    uint8_t address[20];
    uint8_t (*keys)[32];
    size_t n_keys;
};

struct nw_tx {
    enum nw_tx_type type;
    uint64_t chain_id;
    uint64_t nonce;
    struct nw_u256 gas_price;                /* legacy, 2930 */
    struct nw_u256 max_priority_fee_per_gas; /* 1559 */
    struct nw_u256 max_fee_per_gas;          /* 1559 */
    uint64_t gas;
    int has_to;                              /* 0: contract creation */
    uint8_t to[20];
    struct nw_u256 value;
    uint8_t *data;
    size_t data_len;
    struct nw_access_entry *access_list;
    size_t n_access;
    int has_from;                            /* optional sender check */
    uint8_t from[20];
};

struct nw_signed_tx {
    struct nw_buf raw;  /* the network encoding, ready for eth_sendRawTransaction */
    uint8_t hash[32];   /* keccak256(raw) */
    struct nw_sig sig;
    uint64_t v;         /* legacy: chainId * 2 + 35 + yParity; typed: yParity */
    uint8_t from[20];
};

/* Parse and validate a transaction object.  On failure `tx` holds nothing. */
NW_MUST_CHECK enum nw_err nw_tx_from_json(struct nw_tx *tx, const cJSON *obj, struct nw_error *err);

/* nw_json_parse + nw_tx_from_json over raw bytes (at most NW_TX_MAX_JSON). */
NW_MUST_CHECK enum nw_err nw_tx_parse(struct nw_tx *tx, const char *json, size_t len, struct nw_error *err);

void nw_tx_free(struct nw_tx *tx);

/* The digest that is signed: keccak256 of the unsigned encoding. */
NW_MUST_CHECK enum nw_err nw_tx_signing_hash(uint8_t hash[32], const struct nw_tx *tx, struct nw_error *err);

/*
 * Sign with `sk`.  When the transaction names `from`, it must be the key's
 * address (NW_ERR_POLICY_DENIED otherwise).  Release out->raw with
 * nw_signed_tx_free().
 */
NW_MUST_CHECK enum nw_err nw_tx_sign(struct nw_signed_tx *out, const struct nw_tx *tx, const uint8_t sk[32],
                                     struct nw_error *err);

/* As nw_tx_sign, for a caller that already checked that `address` is the
 * address of `sk` (the enclave does when it opens an account): it saves
 * deriving the public key again, which costs as much as the signature. */
NW_MUST_CHECK enum nw_err nw_tx_sign_as(struct nw_signed_tx *out, const struct nw_tx *tx, const uint8_t sk[32],
                                        const uint8_t address[20], struct nw_error *err);

void nw_signed_tx_free(struct nw_signed_tx *out);

#endif
