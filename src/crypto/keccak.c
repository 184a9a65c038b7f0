/*
 * keccak.c - the Keccak-f[1600] permutation and the Keccak-256 sponge that
 * Ethereum calls "keccak256" (see keccak.h).
 *
 * The permutation follows "The Keccak reference", version 3.0 (Bertoni,
 * Daemen, Peeters, Van Assche, 2011), section 1.2, whose step mappings are
 * the same as FIPS 202 section 3.2: theta, rho, pi, chi, iota over a 5x5
 * array of 64-bit lanes, lane (x, y) stored at st[x + 5y], 24 rounds.
 * The sponge uses rate 1088 bits (136 bytes), capacity 512, and the
 * original multi-rate padding pad10*1 applied directly to the message:
 * a 0x01 byte after the message and 0x80 ORed into the last byte of the
 * block.  FIPS 202 SHA3-256 first appends the bits 01 (hence its 0x06);
 * Ethereum predates that change, so this is not SHA3-256.
 *
 * Bytes enter and leave the lanes little-endian through explicit shifts, so
 * the code gives the same digests on any host byte order.  Inputs are
 * public or secret alike: the code has no data-dependent branches or
 * table lookups.  nw_keccak_final() wipes the state.
 */
#include "nitrowallet/keccak.h"

#include <string.h>

#include "nitrowallet/secret.h"

#define ROUNDS 24
#define LANES 25
#define RATE_LANES (NW_KECCAK256_RATE / 8)

/* Round constants for iota (Keccak reference 3.0, table 1.1). */
static const uint64_t ROUND_CONSTANTS[ROUNDS] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808Aull, 0x8000000080008000ull,
    0x000000000000808Bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008Aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000Aull,
    0x000000008000808Bull, 0x800000000000008Bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800Aull, 0x800000008000000Aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

static uint64_t rotl(uint64_t v, unsigned n)
{
    /* The mask keeps the right shift below 64 when n == 0. */
    return (v << n) | (v >> ((64 - n) & 63));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * One round.  theta's column parities C and mixing values D are computed
 * first; theta's XOR of D[x] into every lane of column x is then folded into
 * rho and pi, which move the lanes: B[y, 2x + 3y] = rot(A[x, y] ^ D[x],
 * r[x, y]), with the rotation offsets r of the Keccak reference 3.0,
 * table 1.2.  chi and iota then produce the next state from B.
 */
#define RHO_PI(x, y, r) b[(y) + 5 * ((2 * (x) + 3 * (y)) % 5)] = rotl(a[(x) + 5 * (y)] ^ d[(x)], (r))

/* chi on the row of lanes first .. first + 4. */
#define CHI_ROW(first)                                                         \
    do {                                                                       \
        a[(first) + 0] = b[(first) + 0] ^ (~b[(first) + 1] & b[(first) + 2]); \
        a[(first) + 1] = b[(first) + 1] ^ (~b[(first) + 2] & b[(first) + 3]); \
        a[(first) + 2] = b[(first) + 2] ^ (~b[(first) + 3] & b[(first) + 4]); \
        a[(first) + 3] = b[(first) + 3] ^ (~b[(first) + 4] & b[(first) + 0]); \
        a[(first) + 4] = b[(first) + 4] ^ (~b[(first) + 0] & b[(first) + 1]); \
    } while (0)

static void round_f(uint64_t a[LANES], uint64_t rc)
{
    uint64_t b[LANES], c[5], d[5];
    unsigned i;

    /* theta: D[x] = C[x - 1] ^ rot(C[x + 1], 1), C[x] the parity of column x. */
    for (i = 0; i < 5; i++)
        c[i] = a[i] ^ a[i + 5] ^ a[i + 10] ^ a[i + 15] ^ a[i + 20];
    d[0] = c[4] ^ rotl(c[1], 1);
    d[1] = c[0] ^ rotl(c[2], 1);
    d[2] = c[1] ^ rotl(c[3], 1);
    d[3] = c[2] ^ rotl(c[4], 1);
    d[4] = c[3] ^ rotl(c[0], 1);

    /* rho and pi, lane by lane so that every index and offset is a constant. */
    RHO_PI(0, 0, 0);  RHO_PI(1, 0, 1);  RHO_PI(2, 0, 62); RHO_PI(3, 0, 28); RHO_PI(4, 0, 27);
    RHO_PI(0, 1, 36); RHO_PI(1, 1, 44); RHO_PI(2, 1, 6);  RHO_PI(3, 1, 55); RHO_PI(4, 1, 20);
    RHO_PI(0, 2, 3);  RHO_PI(1, 2, 10); RHO_PI(2, 2, 43); RHO_PI(3, 2, 25); RHO_PI(4, 2, 39);
    RHO_PI(0, 3, 41); RHO_PI(1, 3, 45); RHO_PI(2, 3, 15); RHO_PI(3, 3, 21); RHO_PI(4, 3, 8);
    RHO_PI(0, 4, 18); RHO_PI(1, 4, 2);  RHO_PI(2, 4, 61); RHO_PI(3, 4, 56); RHO_PI(4, 4, 14);

    /* chi, the only non-linear step: A[x, y] = B[x, y] ^ (~B[x+1, y] & B[x+2, y]). */
    CHI_ROW(0);
    CHI_ROW(5);
    CHI_ROW(10);
    CHI_ROW(15);
    CHI_ROW(20);

    a[0] ^= rc; /* iota */
}

#undef RHO_PI
#undef CHI_ROW

static void keccak_f1600(uint64_t st[LANES])
{
    unsigned round;

    for (round = 0; round < ROUNDS; round++)
        round_f(st, ROUND_CONSTANTS[round]);
}

/* XOR one byte into the state at byte offset `pos` of the rate. */
static void xor_byte(uint64_t st[LANES], size_t pos, uint8_t v)
{
    st[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

static void absorb_block(uint64_t st[LANES], const uint8_t *block)
{
    unsigned i;

    for (i = 0; i < RATE_LANES; i++)
        st[i] ^= load_le64(block + 8 * i);
    keccak_f1600(st);
}

void nw_keccak_init(struct nw_keccak *k)
{
    memset(k->st, 0, sizeof k->st);
    k->pos = 0;
}

void nw_keccak_update(struct nw_keccak *k, const void *in, size_t len)
{
    const uint8_t *p = in;

    /* Finish a partly filled block byte by byte. */
    while (len > 0 && k->pos != 0) {
        xor_byte(k->st, k->pos, *p++);
        len--;
        if (++k->pos == NW_KECCAK256_RATE) {
            keccak_f1600(k->st);
            k->pos = 0;
        }
    }
    /* Whole blocks a lane at a time. */
    while (len >= NW_KECCAK256_RATE) {
        absorb_block(k->st, p);
        p += NW_KECCAK256_RATE;
        len -= NW_KECCAK256_RATE;
    }
    /* The tail starts a new block; it is shorter than the rate. */
    for (; len > 0; len--)
        xor_byte(k->st, k->pos++, *p++);
}

void nw_keccak_final(struct nw_keccak *k, uint8_t out[32])
{
    unsigned i;

    /* pad10*1: k->pos < rate always holds here, so both bytes fit the block
     * (and coincide as 0x81 when pos == rate - 1). */
    xor_byte(k->st, k->pos, 0x01);
    xor_byte(k->st, NW_KECCAK256_RATE - 1, 0x80);
    keccak_f1600(k->st);
    for (i = 0; i < 4; i++)
        store_le64(out + 8 * i, k->st[i]);
    nw_wipe(k, sizeof *k);
}

void nw_keccak256(uint8_t out[32], const void *in, size_t len)
{
    struct nw_keccak k;

    nw_keccak_init(&k);
    nw_keccak_update(&k, in, len);
    nw_keccak_final(&k, out);
}
