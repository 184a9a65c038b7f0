/*
 * secret.h - memory for secrets: private keys, data keys, seeds.
 *
 * A `struct nw_secret` owns a private anonymous mapping that is locked into
 * RAM (mlock), excluded from core dumps (MADV_DONTDUMP) and wiped before it
 * is unmapped.  Its size is fixed at allocation: a secret buffer is never
 * reallocated, so no copy of a secret is left behind in freed heap memory.
 * Locking failure is an error (NW_ERR_NOMEM) rather than a silent downgrade.
 *
 * nw_wipe() clears stack or heap copies that cannot live in a nw_secret;
 * nw_ct_equal() compares MACs, tags and tokens in constant time.
 */
#ifndef NITROWALLET_SECRET_H
#define NITROWALLET_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

struct nw_secret {
    uint8_t *data;  /* `len` usable bytes, zero-filled at allocation */
    size_t len;
    size_t map_len; /* size of the locked mapping (page multiple) */
};

/* Allocate a locked, non-dumpable, zeroed buffer of `len` bytes (1..1 MiB).
 * On failure `s` is left empty ({NULL, 0, 0}). */
NW_MUST_CHECK enum nw_err nw_secret_alloc(struct nw_secret *s, size_t len);

/* Wipe, unlock and unmap.  Safe on an empty or already-freed secret. */
void nw_secret_free(struct nw_secret *s);

/* Overwrite `len` bytes at `p` with zeros in a way the compiler keeps. */
void nw_wipe(void *p, size_t len);

/* 1 if the two buffers are equal, 0 otherwise; time depends only on len. */
int nw_ct_equal(const void *a, const void *b, size_t len);

/*
 * Fill `buf` with `len` bytes from the operating system's CSPRNG
 * (getrandom(2)).  Inside a Nitro Enclave the kernel pool is fed by the
 * NSM hardware RNG.
 */
NW_MUST_CHECK enum nw_err nw_random(void *buf, size_t len);

/* Make the calling process non-dumpable, disable core files and have glibc
 * overwrite freed heap blocks (M_PERTURB; blocks its per-thread cache keeps,
 * up to 1032 bytes, are not: our own code wipes what it frees).  Daemons
 * that hold secrets call this first. */
NW_MUST_CHECK enum nw_err nw_process_harden(void);

#endif
