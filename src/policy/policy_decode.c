/*
 * policy_decode.c - what a request does, read the way the contract that
 * receives it would read it: ERC-20 calldata and EIP-2612 / Uniswap
 * Permit2 typed data (docs/policy.md, "What the enclave decodes").
 *
 * ERC-20 calldata is read as the EVM's CALLDATALOAD reads it, which is what
 * the most lenient token (compiled before Solidity's ABI decoder checked
 * lengths and padding) acts on: bytes past the end of the calldata are
 * zero, an address is the low 20 bytes of its word, trailing bytes are
 * ignored.  A stricter token reverts on the inputs where the two differ, so
 * a condition checked on this reading holds for every token.
 *
 * A permit is recognised only when its struct types are exactly the
 * standard ones (names, types and order of members): the contract verifies
 * the signature against its own type hash, so a document with any other
 * definition of "Permit" is not a permit it would accept.
 */
#include "policy_internal.h"

#include <string.h>

#include "nitrowallet/json.h"
#include "nitrowallet/key.h"

/* keccak256 of the signatures, first four bytes (the ABI's selectors). */
#define SEL_TRANSFER 0xa9059cbbu           /* transfer(address,uint256) */
#define SEL_TRANSFER_FROM 0x23b872ddu      /* transferFrom(address,address,uint256) */
#define SEL_APPROVE 0x095ea7b3u            /* approve(address,uint256) */
#define SEL_INCREASE_ALLOWANCE 0x39509351u /* increaseAllowance(address,uint256) */

/* Word `i` (0-based, after the selector) as CALLDATALOAD gives it. */
static void word(uint8_t w[32], const struct nw_tx *tx, size_t i)
{
    size_t off = 4 + 32 * i;

    memset(w, 0, 32);
    if (off < tx->data_len)
        memcpy(w, tx->data + off, tx->data_len - off < 32 ? tx->data_len - off : 32);
}

int policy_decode_erc20(struct policy_erc20_call *c, const struct nw_tx *tx)
{
    uint8_t w[32];
    uint32_t sel;
    size_t party = 0, amount = 1;

    memset(c, 0, sizeof *c);
    if (!tx->has_to || tx->data_len < 4)
        return 0;
    sel = (uint32_t)tx->data[0] << 24 | (uint32_t)tx->data[1] << 16 | (uint32_t)tx->data[2] << 8 | tx->data[3];
    switch (sel) {
    case SEL_TRANSFER: c->function = ERC20_TRANSFER; break;
    case SEL_TRANSFER_FROM:
        c->function = ERC20_TRANSFER_FROM;
        party = 1; /* transferFrom(from, to, amount): the recipient is `to` */
        amount = 2;
        break;
    case SEL_APPROVE: c->function = ERC20_APPROVE; break;
    case SEL_INCREASE_ALLOWANCE: c->function = ERC20_INCREASE_ALLOWANCE; break;
    default: return 0;
    }
    word(w, tx, party);
    memcpy(c->party, w + 12, 20);
    word(w, tx, amount);
    nw_u256_from_be(&c->amount, w, 32);
    return 1;
}

/* --- typed data ------------------------------------------------------------- */

int policy_typed_uint(struct nw_u256 *x, const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble < 0)
            return 0;
        nw_u256_from_u64(x, (uint64_t)v->valuedouble);
        return 1;
    }
    if (cJSON_IsString(v))
        return nw_u256_parse(x, v->valuestring, strlen(v->valuestring), NW_U256_LEADING_ZEROS, NULL) == NW_OK;
    return 0;
}

int policy_typed_address(uint8_t a[20], const cJSON *v)
{
    return cJSON_IsString(v) && nw_address_parse(a, v->valuestring, strlen(v->valuestring), NULL) == NW_OK;
}

void policy_decode_domain(struct policy_domain *d, const cJSON *typed_data)
{
    const cJSON *dom = nw_json_get(typed_data, "domain"), *v;
    struct nw_u256 id;

    memset(d, 0, sizeof *d);
    if (!cJSON_IsObject(dom))
        return;
    if (cJSON_IsString(v = nw_json_get(dom, "name")))
        d->name = v->valuestring;
    if (cJSON_IsString(v = nw_json_get(dom, "version")))
        d->version = v->valuestring;
    if ((v = nw_json_get(dom, "chainId")) != NULL && policy_typed_uint(&id, v) && nw_u256_to_u64(&id, &d->chain_id))
        d->has_chain_id = 1;
    if ((v = nw_json_get(dom, "verifyingContract")) != NULL && policy_typed_address(d->contract, v))
        d->has_contract = 1;
}

/* types[name] is exactly these members ("name:type" each), in this order. */
static int type_is(const cJSON *types, const char *name, const char *const *members)
{
    const cJSON *t = nw_json_get(types, name), *m;
    size_t i = 0;

    if (!cJSON_IsArray(t))
        return 0;
    cJSON_ArrayForEach(m, t)
    {
        const cJSON *n = nw_json_get(m, "name"), *ty = nw_json_get(m, "type");
        const char *want = members[i], *colon;
        if (want == NULL || !cJSON_IsString(n) || !cJSON_IsString(ty))
            return 0;
        colon = strchr(want, ':');
        if (strlen(n->valuestring) != (size_t)(colon - want) ||
            strncmp(n->valuestring, want, (size_t)(colon - want)) != 0 || strcmp(ty->valuestring, colon + 1) != 0)
            return 0;
        i++;
    }
    return members[i] == NULL;
}

static const char *const eip2612_permit[] = {"owner:address", "spender:address",  "value:uint256",
                                             "nonce:uint256", "deadline:uint256", NULL};
static const char *const permit2_details[] = {"token:address", "amount:uint160", "expiration:uint48", "nonce:uint48",
                                              NULL};
static const char *const permit2_single[] = {"details:PermitDetails", "spender:address", "sigDeadline:uint256", NULL};
static const char *const permit2_batch[] = {"details:PermitDetails[]", "spender:address", "sigDeadline:uint256", NULL};
static const char *const permit2_token_permissions[] = {"token:address", "amount:uint256", NULL};
static const char *const permit2_transfer_from[] = {"permitted:TokenPermissions", "spender:address", "nonce:uint256",
                                                    "deadline:uint256", NULL};

/* One {token, amount} pair from an object with those members. */
static int token_amount(struct policy_permit_doc *d, const cJSON *obj)
{
    if (d->n >= POLICY_PERMIT_MAX_TOKENS || !policy_typed_address(d->token[d->n], nw_json_get(obj, "token")) ||
        !policy_typed_uint(&d->amount[d->n], nw_json_get(obj, "amount")))
        return 0;
    d->n++;
    return 1;
}

static int spender_deadline(struct policy_permit_doc *d, const cJSON *msg, const char *deadline)
{
    return policy_typed_address(d->spender, nw_json_get(msg, "spender")) &&
           policy_typed_uint(&d->deadline, nw_json_get(msg, deadline));
}

int policy_decode_permit(struct policy_permit_doc *d, const cJSON *typed_data)
{
    const cJSON *types = nw_json_get(typed_data, "types"), *pt = nw_json_get(typed_data, "primaryType");
    const cJSON *msg = nw_json_get(typed_data, "message"), *e;
    struct policy_domain dom;

    memset(d, 0, sizeof *d);
    if (!cJSON_IsObject(types) || !cJSON_IsString(pt) || !cJSON_IsObject(msg))
        return 0;
    if (strcmp(pt->valuestring, "Permit") == 0 && type_is(types, "Permit", eip2612_permit)) {
        /* EIP-2612: the token is the domain's verifying contract. */
        d->type = PERMIT_EIP2612;
        policy_decode_domain(&dom, typed_data);
        if (!dom.has_contract || !spender_deadline(d, msg, "deadline") ||
            !policy_typed_uint(&d->amount[0], nw_json_get(msg, "value")))
            return 0;
        memcpy(d->token[0], dom.contract, 20);
        d->n = 1;
        return 1;
    }
    if (strcmp(pt->valuestring, "PermitSingle") == 0 && type_is(types, "PermitSingle", permit2_single) &&
        type_is(types, "PermitDetails", permit2_details)) {
        d->type = PERMIT2_SINGLE;
        return spender_deadline(d, msg, "sigDeadline") && token_amount(d, nw_json_get(msg, "details"));
    }
    if (strcmp(pt->valuestring, "PermitBatch") == 0 && type_is(types, "PermitBatch", permit2_batch) &&
        type_is(types, "PermitDetails", permit2_details)) {
        const cJSON *details = nw_json_get(msg, "details");
        d->type = PERMIT2_BATCH;
        if (!cJSON_IsArray(details) || !spender_deadline(d, msg, "sigDeadline"))
            return 0;
        cJSON_ArrayForEach(e, details) if (!token_amount(d, e)) return 0;
        return 1;
    }
    if (strcmp(pt->valuestring, "PermitTransferFrom") == 0 &&
        type_is(types, "PermitTransferFrom", permit2_transfer_from) &&
        type_is(types, "TokenPermissions", permit2_token_permissions)) {
        d->type = PERMIT2_TRANSFER_FROM;
        return spender_deadline(d, msg, "deadline") && token_amount(d, nw_json_get(msg, "permitted"));
    }
    return 0;
}
