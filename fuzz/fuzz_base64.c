/*
 * fuzz_base64.c - libFuzzer target for the strict base64 decoder
 * (src/encoding/base64.c, RFC 4648 section 4).
 *
 * The decoder accepts only the canonical encoding of each byte string
 * (padded, no whitespace, zero bits before the padding), so whatever it
 * accepts must re-encode with nw_base64_encode to the input exactly; a
 * decoded length must also respect NW_BASE64_DECODED_MAX.  Any disagreement
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = NW_BASE64_DECODED_MAX(size), n;
    struct nw_error err;
    uint8_t *out;
    char *enc;

    out = malloc(cap + 1);
    if (out == NULL)
        return 0;
    if (nw_base64_decode(out, cap, &n, (const char *)data, size, &err) != NW_OK) {
        free(out);
        return 0;
    }
    if (n > cap)
        abort();
    enc = malloc(NW_BASE64_SIZE(n));
    if (enc == NULL)
        abort();
    if (nw_base64_encode(enc, NW_BASE64_SIZE(n), out, n) != NW_OK)
        abort();
    if (strlen(enc) != size || memcmp(enc, data, size) != 0)
        abort();
    free(enc);
    free(out);
    return 0;
}
