/*
 * eip712.h - EIP-712 typed structured data hashing, from the JSON form of
 * eth_signTypedData_v4: {"types":{...},"primaryType":"...","domain":{...},
 * "message":{...}}.
 *
 * digest = keccak256(0x19 0x01 || domainSeparator || hashStruct(message)).
 * Supported member types: structs (also recursive), dynamic and fixed-size
 * arrays (nested to any depth within the bounds), bytes, bytes1..32,
 * uint8..256, int8..256 (range-checked), address (EIP-55 checked when
 * mixed-case), bool and string.  The domain type is types.EIP712Domain when
 * given, otherwise derived from the domain fields present in the order
 * name, version, chainId, verifyingContract, salt.  See docs/signing.md.
 *
 * Stricter than ethers on purpose: struct and member names are identifiers
 * ([A-Za-z_$][A-Za-z0-9_$]*, at most 64 characters); "uint"/"int" without
 * a size are refused; every value object carries exactly the members of its
 * type (none missing, none extra); bool is JSON true/false only; integers
 * are JSON numbers below 2^53 or decimal/"0x" strings, '-' only for intN;
 * a given EIP712Domain may have any members, but name, version, chainId,
 * verifyingContract and salt must keep their standard types; primaryType
 * must not be EIP712Domain.  Unused entries of "types" are still checked.
 * One encodeType string is at most 64 KiB.  Errors name the path of the
 * offending item ("message.to[1].wallet: ...", "types.Mail[2].type: ...").
 */
#ifndef NITROWALLET_EIP712_H
#define NITROWALLET_EIP712_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/error.h"

#define NW_EIP712_MAX_JSON (512u * 1024u)
#define NW_EIP712_MAX_TYPES 64
#define NW_EIP712_MAX_FIELDS 64      /* per struct type */
#define NW_EIP712_MAX_DEPTH 16       /* struct/array nesting in values */
#define NW_EIP712_MAX_ARRAY 1024     /* elements per array */

struct nw_eip712_hashes {
    uint8_t domain_separator[32];
    uint8_t struct_hash[32];
    uint8_t digest[32];
};

NW_MUST_CHECK enum nw_err nw_eip712_hash(struct nw_eip712_hashes *out, const cJSON *typed_data,
                                         struct nw_error *err);

/* nw_json_parse + nw_eip712_hash over raw bytes (at most NW_EIP712_MAX_JSON). */
NW_MUST_CHECK enum nw_err nw_eip712_hash_json(struct nw_eip712_hashes *out, const char *json, size_t len,
                                              struct nw_error *err);

#endif
