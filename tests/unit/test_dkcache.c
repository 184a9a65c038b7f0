/*
 * test_dkcache.c - the enclave's data-key cache (dkcache.h): hits and
 * misses, each bound (age, uses, entries), the off switch, replacement, ids
 * that change with every input KMS judged, concurrency, and that the keys
 * live in locked memory.  A fake clock drives the age bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "nitrowallet/dkcache.h"

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static struct nw_dkcache *make(int enabled, unsigned age_s, unsigned long long uses, unsigned entries)
{
    struct nw_dkcache_config cfg = {.enabled = enabled, .max_age_s = age_s, .max_uses = uses,
                                    .max_entries = entries, .now_ms = fake_clock};
    struct nw_dkcache *c = NULL;
    struct nw_error err = {0};
    assert_int_equal(nw_dkcache_new(&c, &cfg, &err), NW_OK);
    return c;
}

/* An id over a key id, a blob and text fields, as the enclave builds them. */
static void idv(uint8_t id[32], const char *key, const uint8_t *blob, size_t blob_len, const char *const *ctx, size_t n)
{
    struct nw_dkcache_part parts[8];
    parts[0] = (struct nw_dkcache_part){key, strlen(key)};
    parts[1] = (struct nw_dkcache_part){blob, blob_len};
    for (size_t i = 0; i < n; i++) parts[2 + i] = (struct nw_dkcache_part){ctx[i], strlen(ctx[i])};
    nw_dkcache_id(id, parts, 2 + n);
}

static void id_of(uint8_t id[32], int n)
{
    char name[32];
    const char *ctx[2] = {"nitrowallet:account", name};
    uint8_t blob[8] = {1, 2, 3, 4, 5, 6, 7, (uint8_t)n};
    snprintf(name, sizeof name, "acct-%d", n);
    idv(id, "key-1", blob, sizeof blob, ctx, 2);
}

static void key_of(uint8_t k[32], int n)
{
    for (int i = 0; i < 32; i++) k[i] = (uint8_t)(n * 7 + i);
}

static void test_hit_and_miss(void **state)
{
    (void)state;
    struct nw_dkcache *c = make(1, 0, 0, 0);
    struct nw_dkcache_stats st;
    uint8_t id[32], k[32], got[32];
    fake_now = 1000;
    id_of(id, 1);
    key_of(k, 1);
    assert_int_equal(nw_dkcache_get(c, id, got), 0);
    nw_dkcache_put(c, id, k);
    assert_int_equal(nw_dkcache_get(c, id, got), 1);
    assert_memory_equal(got, k, 32);
    id_of(id, 2);
    assert_int_equal(nw_dkcache_get(c, id, got), 0);
    nw_dkcache_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.entries, 1);
    /* defaults as documented */
    assert_int_equal(st.max_age_s, 300);
    assert_int_equal(st.max_uses, 100000);
    assert_int_equal(st.max_entries, 10000);
    nw_dkcache_free(c);
}

static void test_age_bound(void **state)
{
    (void)state;
    struct nw_dkcache *c = make(1, 10, 0, 0);
    uint8_t id[32], k[32], got[32];
    id_of(id, 1);
    key_of(k, 1);
    fake_now = 50000;
    nw_dkcache_put(c, id, k);
    fake_now += 9999;
    assert_int_equal(nw_dkcache_get(c, id, got), 1);
    fake_now += 1; /* exactly 10 s after KMS released it */
    assert_int_equal(nw_dkcache_get(c, id, got), 0);
    struct nw_dkcache_stats st;
    nw_dkcache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.evictions, 1);
    nw_dkcache_free(c);
}

static void test_uses_bound(void **state)
{
    (void)state;
    struct nw_dkcache *c = make(1, 0, 3, 0);
    uint8_t id[32], k[32], got[32];
    fake_now = 0;
    id_of(id, 1);
    key_of(k, 1);
    nw_dkcache_put(c, id, k);
    for (int i = 0; i < 3; i++) assert_int_equal(nw_dkcache_get(c, id, got), 1);
    assert_int_equal(nw_dkcache_get(c, id, got), 0); /* the 4th use goes to KMS */
    nw_dkcache_free(c);
}

static void test_entries_bound_evicts_oldest(void **state)
{
    (void)state;
    struct nw_dkcache *c = make(1, 0, 0, 4);
    uint8_t id[32], k[32], got[32];
    struct nw_dkcache_stats st;
    for (int n = 1; n <= 6; n++) {
        fake_now = n * 10;
        id_of(id, n);
        key_of(k, n);
        nw_dkcache_put(c, id, k);
    }
    nw_dkcache_stats(c, &st);
    assert_int_equal(st.entries, 4);
    for (int n = 1; n <= 6; n++) {
        id_of(id, n);
        key_of(k, n);
        int hit = nw_dkcache_get(c, id, got);
        assert_int_equal(hit, n > 2); /* 1 and 2 were the oldest */
        if (hit) assert_memory_equal(got, k, 32);
    }
    nw_dkcache_free(c);
}

static void test_off(void **state)
{
    (void)state;
    struct nw_dkcache *c = make(0, 0, 0, 0);
    struct nw_dkcache_stats st;
    uint8_t id[32], k[32], got[32];
    id_of(id, 1);
    key_of(k, 1);
    nw_dkcache_put(c, id, k);
    assert_int_equal(nw_dkcache_get(c, id, got), 0);
    nw_dkcache_stats(c, &st);
    assert_int_equal(st.enabled, 0);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.misses, 1);
    nw_dkcache_free(c);
}

static void test_replace_same_id(void **state)
{
    (void)state;
    struct nw_dkcache *c = make(1, 0, 0, 2);
    uint8_t id[32], k1[32], k2[32], got[32];
    fake_now = 0;
    id_of(id, 1);
    key_of(k1, 1);
    key_of(k2, 2);
    nw_dkcache_put(c, id, k1);
    nw_dkcache_put(c, id, k2);
    assert_int_equal(nw_dkcache_get(c, id, got), 1);
    assert_memory_equal(got, k2, 32);
    struct nw_dkcache_stats st;
    nw_dkcache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    nw_dkcache_free(c);
}

/* Every input changes the id: key id, blob, each context field, and the
 * field boundaries (length-prefixed, so "ab"+"c" differs from "a"+"bc"). */
static void test_id_binds_every_input(void **state)
{
    (void)state;
    uint8_t ids[7][32];
    const uint8_t blob[3] = {1, 2, 3}, blob2[3] = {1, 2, 4};
    const char *c1[2] = {"ab", "c"}, *c2[2] = {"a", "bc"}, *c3[2] = {"ab", "d"};
    idv(ids[0], "k", blob, 3, c1, 2);
    idv(ids[1], "k2", blob, 3, c1, 2);
    idv(ids[2], "k", blob2, 3, c1, 2);
    idv(ids[3], "k", blob, 3, c2, 2);
    idv(ids[4], "k", blob, 3, c3, 2);
    idv(ids[5], "k", blob, 2, c1, 2);
    idv(ids[6], "k", blob, 3, c1, 1);
    for (int i = 0; i < 7; i++)
        for (int j = i + 1; j < 7; j++) assert_memory_not_equal(ids[i], ids[j], 32);
    uint8_t again[32];
    idv(again, "k", blob, 3, c1, 2);
    assert_memory_equal(again, ids[0], 32);
}

static struct nw_dkcache *shared;
static void *hammer(void *arg)
{
    int base = (int)(intptr_t)arg;
    uint8_t id[32], k[32], got[32];
    for (int i = 0; i < 2000; i++) {
        int n = base + i % 50;
        id_of(id, n);
        key_of(k, n);
        if (nw_dkcache_get(shared, id, got)) {
            if (memcmp(got, k, 32) != 0) return (void *)1;
        } else {
            nw_dkcache_put(shared, id, k);
        }
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    pthread_t t[4];
    void *bad;
    fake_now = 0;
    shared = make(1, 0, 7, 64);
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)(i * 20));
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], &bad);
        assert_null(bad); /* never a wrong key for an id */
    }
    struct nw_dkcache_stats st;
    nw_dkcache_stats(shared, &st);
    assert_true(st.entries <= 64);
    assert_true(st.hits > 0);
    nw_dkcache_free(shared);
}

static void test_limits(void **state)
{
    (void)state;
    struct nw_dkcache_config cfg = {.enabled = 1, .max_entries = NW_DKCACHE_LIMIT_ENTRIES + 1};
    struct nw_dkcache *c = NULL;
    struct nw_error err = {0};
    assert_int_equal(nw_dkcache_new(&c, &cfg, &err), NW_ERR_BAD_REQUEST);
    assert_null(c);
    cfg.max_entries = NW_DKCACHE_LIMIT_ENTRIES; /* the largest arena still locks */
    assert_int_equal(nw_dkcache_new(&c, &cfg, &err), NW_OK);
    nw_dkcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_miss),      cmocka_unit_test(test_age_bound),
        cmocka_unit_test(test_uses_bound),        cmocka_unit_test(test_entries_bound_evicts_oldest),
        cmocka_unit_test(test_off),               cmocka_unit_test(test_replace_same_id),
        cmocka_unit_test(test_id_binds_every_input), cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
