/*
 * account_proof.c - the user_data of an account proof and its verification
 * (account_proof.h, docs/attestation.md "Account proofs").
 *
 * Trust boundary: a proof comes from the network (through an untrusted
 * host); only what nw_attestation_verify accepts, with the caller's own
 * PCRs and nonce, and a user_data equal to the caller's own digest of what
 * it expects, counts.
 */
#include <string.h>

#include <openssl/evp.h>

#include "nitrowallet/account_proof.h"

#define PROOF_DOMAIN "nitrowallet account proof v1"
#define NITRO_PCRS 16

static void put_len(EVP_MD_CTX *md, size_t n)
{
    uint8_t be[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    EVP_DigestUpdate(md, be, 2);
}

void nw_account_proof_user_data(uint8_t out[32], const struct nw_account_claim *c)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t name_len = strlen(c->name), key_len = strlen(c->kms_key_id);
    unsigned int n = 0;

    memset(out, 0, 32);
    if (md == NULL)
        return;
    if (name_len > 0xffff)
        name_len = 0xffff;
    if (key_len > 0xffff)
        key_len = 0xffff;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, PROOF_DOMAIN, sizeof PROOF_DOMAIN); /* with its NUL */
    put_len(md, name_len);
    EVP_DigestUpdate(md, c->name, name_len);
    EVP_DigestUpdate(md, c->address, 20);
    put_len(md, key_len);
    EVP_DigestUpdate(md, c->kms_key_id, key_len);
    EVP_DigestUpdate(md, c->policy_digest, 32);
    if (!EVP_DigestFinal_ex(md, out, &n) || n != 32)
        memset(out, 0, 32);
    EVP_MD_CTX_free(md);
}

static int names_pcr0(const struct nw_attest_expect *x)
{
    for (size_t i = 0; i < x->n_pcrs; i++)
        if (x->pcrs[i].index == 0 && x->pcrs[i].len > 0)
            return 1;
    return 0;
}

enum nw_err nw_account_proof_verify(struct nw_attestation *out, const uint8_t *doc, size_t len,
                                    const struct nw_attest_roots *roots, const struct nw_attest_expect *expect,
                                    const struct nw_account_claim *claim, struct nw_error *err)
{
    uint8_t want[32];
    enum nw_err rc;

    if (expect == NULL || !names_pcr0(expect))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "proof: the PCR0 to expect is required");
    if (expect->nonce == NULL || expect->nonce_len == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "proof: the nonce to expect is required");
    if ((rc = nw_attestation_verify(out, doc, len, roots, expect, err)) != NW_OK)
        return rc;
    for (unsigned i = 0; i < NW_ATT_NUM_PCRS; i++) {
        int present = (out->pcr_present >> i) & 1u;
        if (i < NITRO_PCRS && !present)
            return nw_fail(err, NW_ERR_ATTESTATION, "proof: PCR%u missing (a Nitro document carries PCR0..15)", i);
        if (present && out->pcr_len[i] != out->pcr_len[0])
            return nw_fail(err, NW_ERR_ATTESTATION, "proof: PCR%u is %zu bytes, PCR0 %zu", i, out->pcr_len[i],
                           out->pcr_len[0]);
    }
    nw_account_proof_user_data(want, claim);
    if (out->user_data == NULL || out->user_data_len != 32)
        return nw_fail(err, NW_ERR_ATTESTATION, "proof: user_data is not a 32-byte account digest");
    if (memcmp(out->user_data, want, 32) != 0)
        return nw_fail(err, NW_ERR_ATTESTATION,
                       "proof: user_data does not match this account's name, address, KMS key and policy digest");
    return NW_OK;
}
