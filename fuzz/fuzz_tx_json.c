/*
 * fuzz_tx_json.c - transaction JSON parser (and, for what it accepts, the
 * encoder and signer).  Invariants checked beyond "no crash": an accepted
 * transaction signs, its raw encoding is canonical RLP that our decoder
 * accepts whole, and the signature recovers to the signing key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/rlp.h"
#include "nitrowallet/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nw_secret sk;
    struct nw_tx tx;
    struct nw_signed_tx out;
    struct nw_rlp_item item;
    uint8_t digest[32], rec[20];
    size_t skip;

    if (sk.data == NULL) {
        uint8_t e[32];
        memset(e, 0x46, sizeof e);
        if (nw_key_from_entropy(&sk, e) != NW_OK)
            abort();
    }
    if (nw_tx_parse(&tx, (const char *)data, size, NULL) != NW_OK)
        return 0;
    enum nw_err rc = nw_tx_sign(&out, &tx, sk.data, NULL);
    if (rc == NW_ERR_POLICY_DENIED && tx.has_from) {
        nw_tx_free(&tx);
        return 0;
    }
    if (rc != NW_OK)
        abort();
    skip = tx.type == NW_TX_LEGACY ? 0 : 1;
    if (nw_rlp_decode(&item, out.raw.data + skip, out.raw.len - skip, NULL) != NW_OK || !item.is_list)
        abort();
    if (nw_tx_signing_hash(digest, &tx, NULL) != NW_OK || nw_recover_address(rec, &out.sig, digest) != NW_OK ||
        memcmp(rec, out.from, 20) != 0)
        abort();
    nw_signed_tx_free(&out);
    nw_tx_free(&tx);
    return 0;
}
