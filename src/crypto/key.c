/*
 * key.c - secp256k1 keys, Ethereum addresses (Yellow Paper eq. 284) with
 * EIP-55 checksums, and recoverable ECDSA signatures via libsecp256k1.
 *
 * Trust boundary: this module handles plaintext private keys; it is linked
 * into the enclave.  Keys are only read from caller-owned secret buffers;
 * the few stack copies here are wiped before return.
 */
#include "nitrowallet/key.h"

#include <pthread.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/keccak.h"

static secp256k1_context *ctx;
static enum nw_err ctx_status = NW_ERR_INTERNAL;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_create(void)
{
    uint8_t seed[32];

    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL) {
        ctx_status = NW_ERR_NOMEM;
        return;
    }
    /* Blinding of the signing multiplication against side channels. */
    if (nw_random(seed, sizeof seed) != NW_OK) {
        ctx_status = NW_ERR_RANDOM;
    } else if (!secp256k1_context_randomize(ctx, seed)) {
        ctx_status = NW_ERR_INTERNAL;
    } else {
        ctx_status = NW_OK;
    }
    nw_wipe(seed, sizeof seed);
}

enum nw_err nw_key_init(void)
{
    pthread_once(&ctx_once, ctx_create);
    return ctx_status;
}

enum nw_err nw_key_from_entropy(struct nw_secret *sk, const uint8_t entropy[32])
{
    enum nw_err rc;

    sk->data = NULL;
    sk->len = 0;
    if ((rc = nw_key_init()) != NW_OK)
        return rc;
    /* Reject zero and scalars >= n instead of reducing them (no bias). */
    if (!secp256k1_ec_seckey_verify(ctx, entropy))
        return NW_ERR_KEY_INVALID;
    if ((rc = nw_secret_alloc(sk, 32)) != NW_OK)
        return rc;
    memcpy(sk->data, entropy, 32);
    return NW_OK;
}

enum nw_err nw_key_generate(struct nw_secret *sk)
{
    uint8_t entropy[32];
    enum nw_err rc = NW_ERR_KEY_INVALID;

    /* An out-of-range draw has probability < 2^-127: a few tries suffice. */
    for (int tries = 0; tries < 8 && rc == NW_ERR_KEY_INVALID; tries++) {
        rc = nw_random(entropy, sizeof entropy);
        if (rc == NW_OK)
            rc = nw_key_from_entropy(sk, entropy);
    }
    nw_wipe(entropy, sizeof entropy);
    return rc;
}

enum nw_err nw_key_pubkey(uint8_t pub[65], const uint8_t sk[32])
{
    secp256k1_pubkey pk;
    size_t len = 65;
    enum nw_err rc;

    if ((rc = nw_key_init()) != NW_OK)
        return rc;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, sk))
        return NW_ERR_KEY_INVALID;
    secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    return NW_OK;
}

void nw_address_from_pubkey(uint8_t addr[NW_ADDRESS_LEN], const uint8_t pub[65])
{
    uint8_t h[32];

    nw_keccak256(h, pub + 1, 64);
    memcpy(addr, h + 12, NW_ADDRESS_LEN);
}

enum nw_err nw_key_address(uint8_t addr[NW_ADDRESS_LEN], const uint8_t sk[32])
{
    uint8_t pub[65];
    enum nw_err rc = nw_key_pubkey(pub, sk);

    if (rc == NW_OK)
        nw_address_from_pubkey(addr, pub);
    return rc;
}

/* EIP-55: a hex letter is upper-case when the matching nibble of
 * keccak256(lower-case hex address) is 8 or more. */
void nw_address_to_checksum(char out[NW_ADDRESS_STR_SIZE], const uint8_t addr[NW_ADDRESS_LEN])
{
    static const char digits[] = "0123456789abcdef";
    char lower[40];
    uint8_t h[32];

    for (int i = 0; i < NW_ADDRESS_LEN; i++) {
        lower[2 * i] = digits[addr[i] >> 4];
        lower[2 * i + 1] = digits[addr[i] & 15];
    }
    nw_keccak256(h, lower, sizeof lower);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        int nibble = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 15;
        char c = lower[i];
        out[2 + i] = (c >= 'a' && nibble >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = '\0';
}

enum nw_err nw_address_parse(uint8_t addr[NW_ADDRESS_LEN], const char *s, size_t slen, struct nw_error *err)
{
    int has_lower = 0, has_upper = 0;
    char want[NW_ADDRESS_STR_SIZE];
    enum nw_err rc;

    if (slen != 42 || s[0] != '0' || s[1] != 'x')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "address must be \"0x\" followed by 40 hex digits");
    if ((rc = nw_hex_decode_exact(addr, NW_ADDRESS_LEN, s, slen, err)) != NW_OK)
        return rc;
    for (size_t i = 2; i < slen; i++) {
        has_lower |= s[i] >= 'a' && s[i] <= 'f';
        has_upper |= s[i] >= 'A' && s[i] <= 'F';
    }
    if (has_lower && has_upper) {
        nw_address_to_checksum(want, addr);
        if (memcmp(want + 2, s + 2, 40) != 0) {
            memset(addr, 0, NW_ADDRESS_LEN);
            return nw_fail(err, NW_ERR_BAD_REQUEST, "mixed-case address fails its EIP-55 checksum (expected %s)",
                           want);
        }
    }
    return NW_OK;
}

enum nw_err nw_sign_digest(struct nw_sig *sig, const uint8_t sk[32], const uint8_t digest[32])
{
    secp256k1_ecdsa_recoverable_signature rs;
    uint8_t compact[64];
    int recid = 0;
    enum nw_err rc;

    memset(sig, 0, sizeof *sig);
    if ((rc = nw_key_init()) != NW_OK)
        return rc;
    /* NULL nonce function: RFC 6979 deterministic nonces; output is low-S. */
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, digest, sk, NULL, NULL))
        return NW_ERR_KEY_INVALID;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &rs);
    memcpy(sig->r, compact, 32);
    memcpy(sig->s, compact + 32, 32);
    sig->y_parity = recid & 1;
    return NW_OK;
}

enum nw_err nw_recover_address(uint8_t addr[NW_ADDRESS_LEN], const struct nw_sig *sig, const uint8_t digest[32])
{
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_pubkey pk;
    uint8_t compact[64], pub[65];
    size_t len = sizeof pub;
    enum nw_err rc;

    if ((rc = nw_key_init()) != NW_OK)
        return rc;
    if (sig->y_parity != 0 && sig->y_parity != 1)
        return NW_ERR_BAD_REQUEST;
    memcpy(compact, sig->r, 32);
    memcpy(compact + 32, sig->s, 32);
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, compact, sig->y_parity) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &rs, digest))
        return NW_ERR_BAD_REQUEST;
    secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    nw_address_from_pubkey(addr, pub);
    return NW_OK;
}

void nw_sig_to_65(uint8_t out[65], const struct nw_sig *sig)
{
    memcpy(out, sig->r, 32);
    memcpy(out + 32, sig->s, 32);
    out[64] = (uint8_t)(27 + sig->y_parity);
}
