/*
 * hex.c - "0x"-prefixed hex encoding of byte strings (JSON-RPC DATA).
 */
#include "nitrowallet/hex.h"

int nw_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum nw_err nw_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";

    if (len > (SIZE_MAX - 3) / 2 || out_cap < NW_HEX_SIZE(len))
        return NW_ERR_TOO_LARGE;
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[in[i] >> 4];
        out[3 + 2 * i] = digits[in[i] & 15];
    }
    out[2 + 2 * len] = '\0';
    return NW_OK;
}

enum nw_err nw_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *s, size_t slen,
                          struct nw_error *err)
{
    size_t digits, n;

    *out_len = 0;
    if (slen < 2 || s[0] != '0' || s[1] != 'x')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "hex data must start with \"0x\"");
    digits = slen - 2;
    if (digits % 2)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "hex data has an odd number of digits (%zu)", digits);
    n = digits / 2;
    if (n > out_cap)
        return nw_fail(err, NW_ERR_TOO_LARGE, "hex data is %zu bytes, at most %zu allowed", n, out_cap);
    for (size_t i = 0; i < n; i++) {
        int hi = nw_hex_digit(s[2 + 2 * i]);
        int lo = nw_hex_digit(s[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "invalid hex digit at position %zu",
                           2 + 2 * i + (hi < 0 ? 0 : 1));
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = n;
    return NW_OK;
}

enum nw_err nw_hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t slen, struct nw_error *err)
{
    size_t got;

    if (slen != 2 + 2 * n || slen < 2)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "expected \"0x\" and %zu hex digits (%zu bytes), got %zu characters",
                       2 * n, n, slen);
    return nw_hex_decode(out, n, &got, s, slen, err);
}
