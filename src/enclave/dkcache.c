/*
 * dkcache.c - the enclave's data-key cache (include/nitrowallet/dkcache.h).
 *
 * Layout: `slots[i]` holds an entry's id, birth time and use count; the key
 * itself is arena[i * 32 .. +32] in one locked mapping.  A chained hash
 * table (bucket heads and `next` links, indices into slots) finds an id in
 * O(1); free slots form a list.  When full, the oldest entry is evicted by
 * a scan (inserts happen at KMS speed, not signing speed).  Every removal
 * wipes the key's 32 bytes.  One mutex guards it all.
 *
 * Trust boundary: inside the enclave.  Ids are hashes of public inputs;
 * only the arena holds secrets.
 */
#include "nitrowallet/dkcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "nitrowallet/secret.h"

struct slot {
    uint8_t id[NW_DKCACHE_ID_LEN];
    int64_t born_ms;
    unsigned long long uses;
    int32_t next; /* hash chain or free list; -1 ends */
    int used;
};

struct nw_dkcache {
    pthread_mutex_t mu;
    struct nw_dkcache_config cfg;
    struct nw_secret arena;
    struct slot *slots;
    int32_t *buckets;
    uint32_t n_buckets; /* power of two */
    int32_t free_head;
    size_t n;
    struct nw_dkcache_stats st;
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum nw_err nw_dkcache_new(struct nw_dkcache **out, const struct nw_dkcache_config *cfg, struct nw_error *err)
{
    struct nw_dkcache *c = calloc(1, sizeof *c);

    *out = NULL;
    if (c == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "data-key cache: out of memory");
    c->cfg = *cfg;
    if (c->cfg.max_age_s == 0) c->cfg.max_age_s = NW_DKCACHE_DEFAULT_MAX_AGE_S;
    if (c->cfg.max_uses == 0) c->cfg.max_uses = NW_DKCACHE_DEFAULT_MAX_USES;
    if (c->cfg.max_entries == 0) c->cfg.max_entries = NW_DKCACHE_DEFAULT_MAX_ENTRIES;
    if (c->cfg.now_ms == NULL) c->cfg.now_ms = monotonic_ms;
    if (c->cfg.max_entries > NW_DKCACHE_LIMIT_ENTRIES) {
        free(c);
        return nw_fail(err, NW_ERR_BAD_REQUEST, "data-key cache: at most %u entries", NW_DKCACHE_LIMIT_ENTRIES);
    }
    pthread_mutex_init(&c->mu, NULL);
    c->free_head = -1;
    c->st.enabled = c->cfg.enabled;
    c->st.max_entries = c->cfg.max_entries;
    c->st.max_age_s = c->cfg.max_age_s;
    c->st.max_uses = c->cfg.max_uses;
    if (c->cfg.enabled) {
        uint32_t nb = 1;
        while (nb < 2 * c->cfg.max_entries) nb <<= 1;
        c->n_buckets = nb;
        c->slots = calloc(c->cfg.max_entries, sizeof *c->slots);
        c->buckets = malloc(nb * sizeof *c->buckets);
        if (c->slots == NULL || c->buckets == NULL ||
            nw_secret_alloc(&c->arena, (size_t)c->cfg.max_entries * NW_DKCACHE_KEY_LEN) != NW_OK) {
            nw_dkcache_free(c);
            return nw_fail(err, NW_ERR_NOMEM, "data-key cache: cannot allocate %u locked entries", cfg->max_entries);
        }
        for (uint32_t b = 0; b < nb; b++) c->buckets[b] = -1;
        for (int32_t i = (int32_t)c->cfg.max_entries - 1; i >= 0; i--) {
            c->slots[i].next = c->free_head;
            c->free_head = i;
        }
    }
    *out = c;
    return NW_OK;
}

void nw_dkcache_free(struct nw_dkcache *c)
{
    if (c == NULL) return;
    nw_secret_free(&c->arena);
    free(c->slots);
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void put_field(EVP_MD_CTX *ctx, const void *p, size_t len)
{
    uint8_t n[8];
    for (int i = 0; i < 8; i++) n[i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    EVP_DigestUpdate(ctx, n, sizeof n);
    if (len) EVP_DigestUpdate(ctx, p, len);
}

void nw_dkcache_id(uint8_t id[NW_DKCACHE_ID_LEN], const struct nw_dkcache_part *parts, size_t n_parts)
{
    static const char domain[] = "nitrowallet data-key cache v1";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;

    memset(id, 0, NW_DKCACHE_ID_LEN);
    if (ctx == NULL) return; /* an all-zero id is never inserted (see put) */
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        put_field(ctx, domain, sizeof domain - 1);
        for (size_t i = 0; i < n_parts; i++) put_field(ctx, parts[i].p, parts[i].len);
        if (EVP_DigestFinal_ex(ctx, id, &len) != 1 || len != NW_DKCACHE_ID_LEN) memset(id, 0, NW_DKCACHE_ID_LEN);
    }
    EVP_MD_CTX_free(ctx);
}

static int id_is_zero(const uint8_t id[NW_DKCACHE_ID_LEN])
{
    uint8_t acc = 0;
    for (int i = 0; i < NW_DKCACHE_ID_LEN; i++) acc |= id[i];
    return acc == 0;
}

static uint32_t bucket_of(const struct nw_dkcache *c, const uint8_t id[NW_DKCACHE_ID_LEN])
{
    uint32_t h;
    memcpy(&h, id, sizeof h);
    return h & (c->n_buckets - 1);
}

static uint8_t *key_of(struct nw_dkcache *c, int32_t i)
{
    return c->arena.data + (size_t)i * NW_DKCACHE_KEY_LEN;
}

/* Unlink slot i from its chain, wipe its key, return it to the free list. */
static void evict(struct nw_dkcache *c, int32_t i)
{
    int32_t *pp = &c->buckets[bucket_of(c, c->slots[i].id)];
    while (*pp != -1 && *pp != i) pp = &c->slots[*pp].next;
    if (*pp == i) *pp = c->slots[i].next;
    nw_wipe(key_of(c, i), NW_DKCACHE_KEY_LEN);
    memset(&c->slots[i], 0, sizeof c->slots[i]);
    c->slots[i].next = c->free_head;
    c->free_head = i;
    c->n--;
    c->st.evictions++;
}

static int32_t find(struct nw_dkcache *c, const uint8_t id[NW_DKCACHE_ID_LEN])
{
    for (int32_t i = c->buckets[bucket_of(c, id)]; i != -1; i = c->slots[i].next)
        if (memcmp(c->slots[i].id, id, NW_DKCACHE_ID_LEN) == 0) return i;
    return -1;
}

static int expired(const struct nw_dkcache *c, const struct slot *s, int64_t now)
{
    return now - s->born_ms >= (int64_t)c->cfg.max_age_s * 1000 || s->uses >= c->cfg.max_uses;
}

int nw_dkcache_get(struct nw_dkcache *c, const uint8_t id[NW_DKCACHE_ID_LEN], uint8_t key[NW_DKCACHE_KEY_LEN])
{
    int hit = 0;
    if (!c->cfg.enabled) {
        pthread_mutex_lock(&c->mu);
        c->st.misses++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    int32_t i = find(c, id);
    if (i >= 0 && expired(c, &c->slots[i], c->cfg.now_ms())) {
        evict(c, i);
        i = -1;
    }
    if (i >= 0) {
        memcpy(key, key_of(c, i), NW_DKCACHE_KEY_LEN);
        if (++c->slots[i].uses >= c->cfg.max_uses) evict(c, i); /* that was its last use */
        hit = 1;
        c->st.hits++;
    } else {
        c->st.misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void nw_dkcache_put(struct nw_dkcache *c, const uint8_t id[NW_DKCACHE_ID_LEN], const uint8_t key[NW_DKCACHE_KEY_LEN])
{
    if (!c->cfg.enabled || id_is_zero(id)) return;
    pthread_mutex_lock(&c->mu);
    int64_t now = c->cfg.now_ms();
    int32_t i = find(c, id);
    if (i >= 0) evict(c, i);
    if (c->free_head == -1) { /* full: the oldest goes */
        int32_t oldest = -1;
        for (int32_t k = 0; k < (int32_t)c->cfg.max_entries; k++)
            if (c->slots[k].used && (oldest < 0 || c->slots[k].born_ms < c->slots[oldest].born_ms)) oldest = k;
        evict(c, oldest);
    }
    i = c->free_head;
    c->free_head = c->slots[i].next;
    memcpy(c->slots[i].id, id, NW_DKCACHE_ID_LEN);
    c->slots[i].born_ms = now;
    c->slots[i].uses = 0;
    c->slots[i].used = 1;
    memcpy(key_of(c, i), key, NW_DKCACHE_KEY_LEN);
    uint32_t b = bucket_of(c, id);
    c->slots[i].next = c->buckets[b];
    c->buckets[b] = i;
    c->n++;
    c->st.insertions++;
    pthread_mutex_unlock(&c->mu);
}

void nw_dkcache_stats(struct nw_dkcache *c, struct nw_dkcache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->entries = c->n;
    pthread_mutex_unlock(&c->mu);
}
