/*
 * message.c - EIP-191 version 0x45 signed messages (personal_sign).
 *
 * Trust boundary: signs with a plaintext key; linked into the enclave.
 */
#include "nitrowallet/message.h"

#include <stdio.h>

#include "nitrowallet/keccak.h"

static const char prefix[] = "\x19" "Ethereum Signed Message:\n";

enum nw_err nw_eip191_hash(uint8_t digest[32], const uint8_t *msg, size_t len, struct nw_error *err)
{
    struct nw_keccak k;
    char decimal[24];
    int n;

    if (len > NW_MESSAGE_MAX)
        return nw_fail(err, NW_ERR_TOO_LARGE, "message is %zu bytes, at most %u allowed", len, NW_MESSAGE_MAX);
    n = snprintf(decimal, sizeof decimal, "%zu", len);
    nw_keccak_init(&k);
    nw_keccak_update(&k, prefix, sizeof prefix - 1);
    nw_keccak_update(&k, decimal, (size_t)n);
    nw_keccak_update(&k, msg, len);
    nw_keccak_final(&k, digest);
    return NW_OK;
}

enum nw_err nw_eip191_sign(uint8_t sig65[65], const uint8_t sk[32], const uint8_t *msg, size_t len,
                           struct nw_error *err)
{
    uint8_t digest[32];
    struct nw_sig sig;
    enum nw_err rc;

    if ((rc = nw_eip191_hash(digest, msg, len, err)) != NW_OK)
        return rc;
    if ((rc = nw_sign_digest(&sig, sk, digest)) != NW_OK)
        return nw_fail(err, rc, "signing failed");
    nw_sig_to_65(sig65, &sig);
    return NW_OK;
}
