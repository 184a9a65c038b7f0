/*
 * fuzz_hex.c - libFuzzer target for the "0x" hex decoder (src/encoding/hex.c,
 * JSON-RPC DATA).
 *
 * The input is taken as text.  Whatever nw_hex_decode accepts must re-encode
 * with nw_hex_encode to the input up to letter case (the decoder accepts
 * either case, the encoder writes lowercase), must be exactly "0x" plus two
 * digits per byte, and nw_hex_decode_exact must agree on the same length and
 * refuse any other.  Any disagreement aborts.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 512 /* bytes the decoder may write: longer inputs must be refused */

static int same_ignoring_case(const char *a, const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower(b[i]))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    uint8_t out[CAP], exact[CAP + 1];
    char enc[NW_HEX_SIZE(CAP)];
    struct nw_error err;
    size_t n;

    if (nw_hex_decode(out, sizeof out, &n, s, size, &err) != NW_OK)
        return 0;
    if (n > CAP || size != 2 + 2 * n)
        abort();
    if (nw_hex_encode(enc, sizeof enc, out, n) != NW_OK || strlen(enc) != size)
        abort();
    if (!same_ignoring_case(enc, data, size))
        abort();
    if (nw_hex_decode_exact(exact, n, s, size, &err) != NW_OK || memcmp(exact, out, n) != 0)
        abort();
    if (nw_hex_decode_exact(exact, n + 1, s, size, &err) == NW_OK)
        abort();
    return 0;
}
