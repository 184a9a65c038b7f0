/*
 * u256.c - unsigned 256-bit integers: parsing of Ethereum quantities
 * (JSON-RPC QUANTITY hex and decimal strings), comparison and conversion
 * to the big-endian forms RLP and ABI encoding need.
 */
#include "nitrowallet/u256.h"

#include <string.h>

#include "nitrowallet/hex.h"

void nw_u256_from_u64(struct nw_u256 *x, uint64_t v)
{
    memset(x, 0, sizeof *x);
    x->w[0] = v;
}

int nw_u256_to_u64(const struct nw_u256 *x, uint64_t *v)
{
    if (x->w[1] || x->w[2] || x->w[3])
        return 0;
    *v = x->w[0];
    return 1;
}

int nw_u256_cmp(const struct nw_u256 *a, const struct nw_u256 *b)
{
    for (int i = 3; i >= 0; i--) {
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

int nw_u256_is_zero(const struct nw_u256 *x)
{
    return (x->w[0] | x->w[1] | x->w[2] | x->w[3]) == 0;
}

unsigned nw_u256_bits(const struct nw_u256 *x)
{
    for (int i = 3; i >= 0; i--) {
        if (x->w[i])
            return (unsigned)i * 64 + 64 - (unsigned)__builtin_clzll(x->w[i]);
    }
    return 0;
}

void nw_u256_negate(struct nw_u256 *x)
{
    unsigned carry = 1;
    for (int i = 0; i < 4; i++) {
        uint64_t v = ~x->w[i] + carry;
        carry = carry && v == 0;
        x->w[i] = v;
    }
}

void nw_u256_to_be32(uint8_t out[32], const struct nw_u256 *x)
{
    for (int i = 0; i < 32; i++)
        out[31 - i] = (uint8_t)(x->w[i / 8] >> (8 * (i % 8)));
}

void nw_u256_from_be(struct nw_u256 *x, const uint8_t *in, size_t len)
{
    memset(x, 0, sizeof *x);
    for (size_t i = 0; i < len && i < 32; i++) {
        size_t bit = i; /* byte index from the least significant end */
        x->w[bit / 8] |= (uint64_t)in[len - 1 - i] << (8 * (bit % 8));
    }
}

size_t nw_u256_to_min_be(uint8_t out[32], const struct nw_u256 *x)
{
    uint8_t full[32];
    size_t skip = 0;

    nw_u256_to_be32(full, x);
    while (skip < 32 && full[skip] == 0)
        skip++;
    memcpy(out, full + skip, 32 - skip);
    return 32 - skip;
}

/* x = x * mul + add; returns 1 on overflow past 2^256 - 1. */
static int mul_add(struct nw_u256 *x, uint64_t mul, uint64_t add)
{
    unsigned __int128 carry = add;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 t = (unsigned __int128)x->w[i] * mul + carry;
        x->w[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry != 0;
}

static enum nw_err parse_hex(struct nw_u256 *x, const char *s, size_t n, unsigned flags, struct nw_error *err)
{
    if (n == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "empty hex quantity \"0x\"");
    if (s[0] == '0' && n > 1 && !(flags & NW_U256_LEADING_ZEROS))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "hex quantity has leading zero digits");
    for (size_t i = 0; i < n; i++) {
        int d = nw_hex_digit(s[i]);
        if (d < 0)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "invalid hex digit at position %zu", i + 2);
        if (mul_add(x, 16, (uint64_t)d))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "quantity exceeds 2^256-1");
    }
    return NW_OK;
}

static enum nw_err parse_dec(struct nw_u256 *x, const char *s, size_t n, unsigned flags, struct nw_error *err)
{
    if (s[0] == '0' && n > 1 && !(flags & NW_U256_LEADING_ZEROS))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "decimal quantity has leading zeros");
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "invalid decimal digit at position %zu", i);
        if (mul_add(x, 10, (uint64_t)(s[i] - '0')))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "quantity exceeds 2^256-1");
    }
    return NW_OK;
}

enum nw_err nw_u256_parse(struct nw_u256 *x, const char *s, size_t slen, unsigned flags, struct nw_error *err)
{
    enum nw_err rc;

    memset(x, 0, sizeof *x);
    if (slen == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "empty quantity");
    if (slen >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (s[1] == 'X')
            return nw_fail(err, NW_ERR_BAD_REQUEST, "hex quantity must start with lowercase \"0x\"");
        rc = parse_hex(x, s + 2, slen - 2, flags, err);
    } else {
        rc = parse_dec(x, s, slen, flags, err);
    }
    if (rc != NW_OK)
        memset(x, 0, sizeof *x);
    return rc;
}

void nw_u256_to_dec(char *out, size_t out_cap, const struct nw_u256 *x)
{
    char tmp[80];
    size_t n = 0;
    struct nw_u256 v = *x;

    if (out_cap == 0)
        return;
    do {
        /* v = v / 10, remainder r */
        unsigned __int128 r = 0;
        for (int i = 3; i >= 0; i--) {
            unsigned __int128 cur = (r << 64) | v.w[i];
            v.w[i] = (uint64_t)(cur / 10);
            r = cur % 10;
        }
        tmp[n++] = (char)('0' + (int)r);
    } while (!nw_u256_is_zero(&v));
    size_t i = 0;
    for (; i < n && i + 1 < out_cap; i++)
        out[i] = tmp[n - 1 - i];
    out[i] = '\0';
}
