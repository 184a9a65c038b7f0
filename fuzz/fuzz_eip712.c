/*
 * fuzz_eip712.c - libFuzzer target for nw_eip712_hash_json (eip712.h).
 *
 * The input is raw typed-data JSON as a client would send it.  Besides the
 * sanitizers' checks this asserts the module's contract: a failure carries
 * BAD_REQUEST, TOO_LARGE or NOMEM with a NUL-terminated, non-empty message
 * and all-zero hashes; a success is deterministic (a second run over the
 * same bytes gives the same three hashes).  Seeds: fuzz/corpus/fuzz_eip712.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/eip712.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct nw_eip712_hashes zero;
    struct nw_eip712_hashes h, again;
    struct nw_error err;
    enum nw_err rc;

    memset(&err, 0, sizeof err);
    rc = nw_eip712_hash_json(&h, (const char *)data, size, &err);
    if (rc != NW_OK) {
        if (rc != NW_ERR_BAD_REQUEST && rc != NW_ERR_TOO_LARGE && rc != NW_ERR_NOMEM)
            abort();
        if (err.code != rc || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof err.msg) == NULL)
            abort();
        if (memcmp(&h, &zero, sizeof h) != 0)
            abort();
        return 0;
    }
    if (nw_eip712_hash_json(&again, (const char *)data, size, &err) != NW_OK || memcmp(&h, &again, sizeof h) != 0)
        abort();
    return 0;
}
