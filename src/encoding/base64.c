/*
 * base64.c - standard, padded base64 (RFC 4648 section 4); the decoder
 * accepts the one canonical encoding of each byte string only.
 */
#include "nitrowallet/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

enum nw_err nw_base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t len)
{
    size_t o = 0;

    if (len > (SIZE_MAX / 4) * 3 - 3 || out_cap < NW_BASE64_SIZE(len))
        return NW_ERR_TOO_LARGE;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t rem = len - i;
        if (rem > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (rem > 2)
            v |= in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = rem > 1 ? alphabet[v >> 6 & 63] : '=';
        out[o++] = rem > 2 ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return NW_OK;
}

enum nw_err nw_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *s, size_t slen,
                             struct nw_error *err)
{
    size_t o = 0;

    *out_len = 0;
    if (slen % 4)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "base64 length %zu is not a multiple of 4", slen);
    for (size_t i = 0; i < slen; i += 4) {
        int v[4];
        int pad = 0;
        int last = i + 4 == slen;
        for (int j = 0; j < 4; j++) {
            char c = s[i + (size_t)j];
            if (c == '=' && last && j >= 2) {
                pad++;
                v[j] = 0;
                continue;
            }
            v[j] = pad ? -1 : b64_value(c);
            if (v[j] < 0)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "invalid base64 character at position %zu", i + (size_t)j);
        }
        if (pad == 1 && s[i + 2] == '=')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "invalid base64 padding at position %zu", i + 2);
        /* Canonical: the bits dropped by the padding must be zero. */
        if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "non-canonical base64: unused bits set before padding");
        size_t n = 3 - (size_t)pad;
        if (o + n > out_cap)
            return nw_fail(err, NW_ERR_TOO_LARGE, "base64 data exceeds %zu bytes", out_cap);
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (n > 1)
            out[o++] = (uint8_t)(w >> 8);
        if (n > 2)
            out[o++] = (uint8_t)w;
    }
    *out_len = o;
    return NW_OK;
}
