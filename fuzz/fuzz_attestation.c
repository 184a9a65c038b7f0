/*
 * fuzz_attestation.c - libFuzzer target for attestation documents
 * (src/attest/attestation.c over cose.c and cbor.c).
 *
 * Each input is parsed as a document (nw_attestation_parse) and as a
 * COSE_Sign1; whatever is accepted must point inside the input and respect
 * the documented bounds.  Then it is fully verified against the AWS root
 * at the time of the real production document in the seed corpus
 * (2024-09-07T14:37:39.545Z), so inputs derived from real documents reach
 * the signature and certificate-chain code.  Acceptance of anything other
 * than a real document would need a forged ES384 signature; the target
 * checks memory safety and the invariants, and aborts on any violation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/attestation.h"
#include "nitrowallet/cose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AT_MS 1725719859545LL

static int inside(const uint8_t *data, size_t size, const uint8_t *p, size_t n)
{
    return p == NULL ? n == 0 : p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static void check_doc(const uint8_t *data, size_t size, const struct nw_attestation *a)
{
    size_t i;

    if (!inside(data, size, a->certificate, a->certificate_len) || a->certificate == NULL ||
        !inside(data, size, a->public_key, a->public_key_len) ||
        !inside(data, size, a->user_data, a->user_data_len) || !inside(data, size, a->nonce, a->nonce_len))
        abort();
    if (a->public_key_len > 1024 || a->user_data_len > 1024 || a->nonce_len > 1024)
        abort();
    if (!(a->pcr_present & 1u) || a->timestamp_ms == 0 || a->module_id[0] == '\0' ||
        strlen(a->module_id) >= sizeof a->module_id)
        abort();
    for (i = 0; i < NW_ATT_NUM_PCRS; i++) {
        size_t n = a->pcr_len[i];
        if ((a->pcr_present & (1u << i)) ? (n != 32 && n != 48 && n != 64) : n != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nw_attest_roots *aws;
    struct nw_attest_expect x = {.at_ms = AT_MS, .allow_debug = 1};
    struct nw_attestation a;
    struct nw_cose_sign1 m;
    struct nw_error err;

    if (aws == NULL && nw_attest_roots_aws(&aws, &err) != NW_OK)
        abort();
    if (nw_cose_sign1_parse(&m, data, size, &err) == NW_OK) {
        if (!inside(data, size, m.protected_hdr, m.protected_len) || !inside(data, size, m.payload, m.payload_len) ||
            !inside(data, size, m.signature, m.signature_len) || m.signature_len != NW_COSE_ES384_SIG_LEN)
            abort();
    }
    if (nw_attestation_parse(&a, data, size, &err) == NW_OK)
        check_doc(data, size, &a);
    if (nw_attestation_verify(&a, data, size, aws, &x, &err) == NW_OK)
        check_doc(data, size, &a);
    return 0;
}
