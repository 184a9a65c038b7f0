/*
 * policy_internal.h - the parsed form of a policy rule, shared by the
 * parser (policy_parse.c), the canonical printer (policy_canon.c), the
 * decoders (policy_decode.c) and the evaluator (policy_eval.c).
 *
 * A list member that is absent from the JSON has present == 0 and puts no
 * condition; a present list (possibly empty) is a condition.
 */
#ifndef NITROWALLET_POLICY_INTERNAL_H
#define NITROWALLET_POLICY_INTERNAL_H

#include "nitrowallet/eip712.h"
#include "nitrowallet/policy.h"

struct policy_addrs {
    int present;
    size_t n;
    uint8_t (*a)[20];
};

struct policy_u64s {
    int present;
    size_t n;
    uint64_t *v;
};

struct policy_strs {
    int present;
    size_t n;
    char **s;
};

struct policy_cap {
    int present;
    struct nw_u256 max;
};

/* The names of the ERC20_* and PERMIT_* bits, in bit order (policy_parse.c). */
extern const char *const policy_erc20_names[4];
extern const char *const policy_permit_names[4];

/* ERC-20 functions, as bits of erc20.functions. */
enum { ERC20_TRANSFER = 1, ERC20_TRANSFER_FROM = 2, ERC20_APPROVE = 4, ERC20_INCREASE_ALLOWANCE = 8 };
#define ERC20_ALL 15u

/* Permit kinds, as bits of permit.types. */
enum { PERMIT_EIP2612 = 1, PERMIT2_SINGLE = 2, PERMIT2_BATCH = 4, PERMIT2_TRANSFER_FROM = 8 };
#define PERMIT_ALL 15u

struct policy_erc20 {
    int present;
    unsigned functions;             /* ERC20_* bits */
    struct policy_addrs tokens;     /* the token: the transaction's `to` */
    struct policy_addrs recipients; /* transfer(From)'s recipient, approve's spender */
    struct policy_cap amount;
};

struct policy_permit {
    int present;
    unsigned types; /* PERMIT_* bits */
    struct policy_addrs spenders;
    struct policy_addrs tokens; /* 2612: the domain's verifyingContract; Permit2: each details.token */
    struct policy_cap amount;
    int has_deadline;
    uint64_t deadline_max_seconds;
};

struct nw_policy_rule {
    char id[NW_POLICY_MAX_ID + 1];
    char *description;
    int allow;
    enum nw_policy_kind kind;
    /* transaction */
    int has_tx_types;
    unsigned tx_types; /* bit n: type n */
    struct policy_u64s chain_ids;
    struct policy_addrs to, not_to;
    int contract_creation; /* -1: no condition, 0: calls only, 1: creations only */
    struct policy_cap value;
    int has_gas_max;
    uint64_t gas_max;
    struct policy_cap fee;
    int has_selectors;
    int selectors_allow_empty; /* "0x" in the list: no calldata */
    size_t n_selectors;
    uint32_t *selectors;
    int allow_unlimited_approval;
    struct policy_erc20 erc20;
    /* typed data */
    struct policy_strs domain_names, domain_versions;
    struct policy_u64s domain_chain_ids;
    struct policy_addrs domain_contracts;
    struct policy_strs primary_types;
    struct policy_permit permit;
    /* message */
    int has_max_length;
    uint64_t max_length;
};

/* --- decoders (policy_decode.c) ------------------------------------------ */

/* An ERC-20 call as the token contract's ABI decoder reads it. */
struct policy_erc20_call {
    unsigned function; /* one ERC20_* bit */
    uint8_t party[20]; /* recipient (transfer, transferFrom) or spender */
    struct nw_u256 amount;
};

/* 1 when tx's calldata is one of the four ERC-20 calls, decoded into *c. */
int policy_decode_erc20(struct policy_erc20_call *c, const struct nw_tx *tx);

/* A PermitBatch carries at most as many details as an EIP-712 array may. */
#define POLICY_PERMIT_MAX_TOKENS NW_EIP712_MAX_ARRAY

/* A permit as its contract reads it (EIP-2612 or Uniswap Permit2). */
struct policy_permit_doc {
    unsigned type; /* one PERMIT_* bit */
    uint8_t spender[20];
    struct nw_u256 deadline;
    size_t n; /* tokens and amounts */
    uint8_t token[POLICY_PERMIT_MAX_TOKENS][20];
    struct nw_u256 amount[POLICY_PERMIT_MAX_TOKENS];
};

/* 1 when the typed data is a permit of a known type, decoded into *d (large:
 * allocate it).  The typed data must be one nw_eip712_hash accepted. */
int policy_decode_permit(struct policy_permit_doc *d, const cJSON *typed_data);

/* The typed data's domain, each field present or not. */
struct policy_domain {
    const char *name, *version;
    int has_chain_id, has_contract;
    uint64_t chain_id; /* a chainId above 2^64 - 1 counts as absent */
    uint8_t contract[20];
};

void policy_decode_domain(struct policy_domain *d, const cJSON *typed_data);

/* An EIP-712 integer value (number, decimal or hex string, leading zeros
 * allowed): 1 and *x on success. */
int policy_typed_uint(struct nw_u256 *x, const cJSON *v);
int policy_typed_address(uint8_t a[20], const cJSON *v);

#endif
