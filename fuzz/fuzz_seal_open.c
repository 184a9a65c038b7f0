/*
 * fuzz_seal_open.c - the sealed-key blob reader.  Any input other than a
 * blob we sealed must be refused with NW_ERR_SEAL_INVALID and release
 * nothing; the one genuine blob (built on first call) must open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nw_secret key;
    static struct nw_buf genuine;
    static const uint8_t sk[32] = {1};
    struct nw_seal_context ctx = {"fuzz", 4, {0}, "key", 3, {0}};
    struct nw_secret out;
    enum nw_err rc;

    if (key.data == NULL) {
        if (nw_secret_alloc(&key, 32) != NW_OK)
            abort();
        memset(key.data, 7, 32);
        nw_buf_init(&genuine, 128);
        if (nw_seal_key(&genuine, &key, &ctx, sk, NULL) != NW_OK)
            abort();
    }
    rc = nw_seal_open_key(&out, &key, &ctx, data, size, NULL);
    if (size == genuine.len && memcmp(data, genuine.data, size) == 0) {
        if (rc != NW_OK || memcmp(out.data, sk, 32) != 0)
            abort();
        nw_secret_free(&out);
        return 0;
    }
    if (rc != NW_ERR_SEAL_INVALID || out.data != NULL)
        abort();
    return 0;
}
