/*
 * dkcache.h - the enclave's data-key cache: KMS-released data keys kept in
 * locked memory so that signing does not need a KMS Decrypt (with a fresh
 * attestation document) every time.
 *
 * An entry is found by an id that binds everything KMS checked when it
 * released the key: the KMS key id, the EncryptedDataKey (CiphertextBlob),
 * the encryption context (account name and address), the AWS credentials
 * the request carried, and the sealed private key the data key opened (so a
 * hit also means "this sealed key was opened and checked against this
 * address before").  A request that differs in any of them
 * misses and goes to KMS, which judges it as before; only a key that then
 * opened the account's seal is cached.
 *
 * Bounds (all three apply; defaults in brackets): age since KMS released
 * the key [300 s], number of uses [100,000], number of entries [10,000;
 * when full the oldest entry goes].  Evicted keys are wiped.  All keys live
 * in one locked, non-dumpable arena (secret.h) sized for max_entries.
 *
 * The trade-off (docs/performance.md): while a key is cached, a change to
 * the KMS key policy, an IAM permission revoked from the same credentials
 * or a disabled key does not stop signing with that account until the
 * entry expires.  `enabled = 0` (the
 * enclave's `--data-key-cache off`) makes every signature ask KMS.
 * Thread-safe.
 */
#ifndef NITROWALLET_DKCACHE_H
#define NITROWALLET_DKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"

#define NW_DKCACHE_KEY_LEN 32
#define NW_DKCACHE_ID_LEN 32
#define NW_DKCACHE_DEFAULT_MAX_AGE_S 300u
#define NW_DKCACHE_DEFAULT_MAX_USES 100000ull
#define NW_DKCACHE_DEFAULT_MAX_ENTRIES 10000u
#define NW_DKCACHE_LIMIT_ENTRIES 32768u /* 1 MiB of locked key material */

struct nw_dkcache_config {
    int enabled;
    unsigned max_age_s;           /* 1..; 0 = default */
    unsigned long long max_uses;  /* 1..; 0 = default */
    unsigned max_entries;         /* 1..NW_DKCACHE_LIMIT_ENTRIES; 0 = default */
    int64_t (*now_ms)(void);      /* clock (monotonic ms); NULL = CLOCK_MONOTONIC; tests inject one */
};

struct nw_dkcache_stats {
    int enabled;
    unsigned long long hits, misses, insertions, evictions;
    size_t entries, max_entries;
    unsigned max_age_s;
    unsigned long long max_uses;
};

struct nw_dkcache;

/* A disabled cache is valid too (every get misses, put does nothing). */
NW_MUST_CHECK enum nw_err nw_dkcache_new(struct nw_dkcache **out, const struct nw_dkcache_config *cfg,
                                         struct nw_error *err);
void nw_dkcache_free(struct nw_dkcache *c); /* wipes every key; NULL is fine */

/* One input of an id: `len` bytes at `p` (text or binary alike). */
struct nw_dkcache_part {
    const void *p;
    size_t len;
};

/* The id of the given parts, in order: SHA-256 over a domain tag and each
 * part length-prefixed, so no two different part lists share an id. */
void nw_dkcache_id(uint8_t id[NW_DKCACHE_ID_LEN], const struct nw_dkcache_part *parts, size_t n_parts);

/* 1 and the key copied to `key` on a hit (one use counted; an entry that
 * reaches its last use or its age is removed and wiped); 0 on a miss. */
int nw_dkcache_get(struct nw_dkcache *c, const uint8_t id[NW_DKCACHE_ID_LEN], uint8_t key[NW_DKCACHE_KEY_LEN]);

/* Remember `key` for `id` (replacing an entry with the same id). */
void nw_dkcache_put(struct nw_dkcache *c, const uint8_t id[NW_DKCACHE_ID_LEN], const uint8_t key[NW_DKCACHE_KEY_LEN]);

void nw_dkcache_stats(struct nw_dkcache *c, struct nw_dkcache_stats *out);

#endif
