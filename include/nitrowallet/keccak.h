/*
 * keccak.h - Keccak-256 as Ethereum uses it: the original Keccak submission
 * padding (0x01 ... 0x80), rate 1088 bits, capacity 512 bits.  This is not
 * FIPS 202 SHA3-256 (which pads with 0x06); OpenSSL 3.0 has only the latter.
 */
#ifndef NITROWALLET_KECCAK_H
#define NITROWALLET_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define NW_KECCAK256_RATE 136

struct nw_keccak {
    uint64_t st[25];
    size_t pos; /* bytes absorbed into the current block */
};

void nw_keccak_init(struct nw_keccak *k);
void nw_keccak_update(struct nw_keccak *k, const void *in, size_t len);
/* Finish and write the digest; the state is wiped afterwards. */
void nw_keccak_final(struct nw_keccak *k, uint8_t out[32]);

/* One-shot Keccak-256. */
void nw_keccak256(uint8_t out[32], const void *in, size_t len);

#endif
