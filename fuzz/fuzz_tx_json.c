/*
 * fuzz_tx_json.c - transaction JSON parser (and, for what it accepts, the
 * encoder and signer).  Invariants checked beyond "no crash": an accepted
 * transaction signs, its raw encoding is canonical RLP that our decoder
 * accepts whole, and the signature recovers to the signing key.  And the
 * host's forwarding (api_sign: strict parse, nw_json_exact_integers, cJSON
 * re-print) must hand the enclave a text that signs to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"
#include "nitrowallet/rlp.h"
#include "nitrowallet/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The text the host would forward, or NULL where the host refuses. */
static char *forwarded(const uint8_t *data, size_t size)
{
    cJSON *j = NULL;
    char *text = NULL;
    if (nw_json_parse(&j, (const char *)data, size, size, NULL) == NW_OK && cJSON_IsObject(j) &&
        nw_json_exact_integers(j, NULL) == NW_OK)
        text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

static void check_forwarding(const uint8_t *data, size_t size, const struct nw_signed_tx *want, const uint8_t *key)
{
    struct nw_tx tx;
    struct nw_signed_tx got;
    char *text = forwarded(data, size);
    if (text == NULL)
        return;
    if (nw_tx_parse(&tx, text, strlen(text), NULL) != NW_OK || nw_tx_sign(&got, &tx, key, NULL) != NW_OK)
        abort(); /* the host turned an accepted transaction into a refused one */
    if (got.raw.len != want->raw.len || memcmp(got.raw.data, want->raw.data, got.raw.len) != 0)
        abort(); /* ... or into another transaction */
    nw_signed_tx_free(&got);
    nw_tx_free(&tx);
    cJSON_free(text);
}

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
    check_forwarding(data, size, &out, sk.data);
    nw_signed_tx_free(&out);
    nw_tx_free(&tx);
    return 0;
}
