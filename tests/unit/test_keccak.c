/*
 * test_keccak.c - Keccak-256 (src/crypto/keccak.c) against published vectors.
 *
 * Every expected digest comes from outside this project:
 *   - Crypto++ TestVectors/keccak.txt (github.com/weidai11/cryptopp, commit
 *     3d57241e9f0f0c467d78e7e0e3b05e9738c7699f), section "Keccak-256": the
 *     empty string, "abc", the two "quick brown fox" strings, the 448- and
 *     896-bit NIST strings and one million 'a'.
 *   - tests/data/keccak_kat.txt: the Keccak team's ShortMsgKAT_256.txt (every
 *     byte length 0..255, so all positions around the 136-byte rate) and part
 *     of LongMsgKAT_256.txt (up to 4288 bytes), from KeccakKAT-3.zip; the file
 *     names where it was copied from.  ExtremelyLongMsgKAT_256.txt (1 GiB)
 *     runs only when NW_TEST_SLOW is set.
 * Incremental hashing is checked against the same digests with the message
 * split at every offset and fed in every chunk size around the rate.
 *
 * Run from the repository root (tests/run.sh does), or point NW_TEST_DATA
 * at the tests/data directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/keccak.h"

#define KAT_MAX 300
#define MSG_MAX 4400

struct kat {
    size_t len;
    uint8_t *msg;
    uint8_t md[32];
};

static struct kat kats[KAT_MAX];
static size_t n_kats;

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode exactly n bytes of hex from s (test helper; aborts the test on
 * malformed data). */
static void unhex(uint8_t *out, size_t n, const char *s)
{
    size_t i;

    assert_true(strlen(s) >= 2 * n);
    for (i = 0; i < n; i++) {
        int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

static void check_digest(const void *msg, size_t len, const char *hex)
{
    uint8_t want[32], got[32];

    unhex(want, 32, hex);
    nw_keccak256(got, msg, len);
    assert_memory_equal(got, want, 32);
}

/* --- vectors from Crypto++ TestVectors/keccak.txt ----------------------- */

static void test_empty_string(void **state)
{
    (void)state;
    check_digest("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    check_digest(NULL, 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

static void test_short_strings(void **state)
{
    static const char *const cases[][2] = {
        { "abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45" },
        { "The quick brown fox jumps over the lazy dog",
          "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15" },
        { "The quick brown fox jumps over the lazy dog.",
          "578951e24efd62a3d63a86f7cd19aaa53c898fe287d2552133220370240b572d" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "45d3b367a6904e6e8d502ee04999a7c27647f91fa845d456525fd352ae3d7371" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
          "f519747ed599024f3882238e5ab43960132572b7345fbeb9a90769dafd21ad67" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_digest(cases[i][0], strlen(cases[i][0]), cases[i][1]);
}

static void test_million_a(void **state)
{
    static const char want_hex[] = "fadae6b49f129bbb812be8407b7b2894f34aecf6dbd1f9b0f0c7e9853098fc96";
    uint8_t want[32], got[32], chunk[64];
    struct nw_keccak k;
    uint8_t *big;
    int i;

    (void)state;
    unhex(want, 32, want_hex);
    /* As the vector states it: 15625 updates of 64 'a's. */
    memset(chunk, 'a', sizeof chunk);
    nw_keccak_init(&k);
    for (i = 0; i < 15625; i++)
        nw_keccak_update(&k, chunk, sizeof chunk);
    nw_keccak_final(&k, got);
    assert_memory_equal(got, want, 32);
    /* And in one call. */
    big = malloc(1000000);
    assert_non_null(big);
    memset(big, 'a', 1000000);
    nw_keccak256(got, big, 1000000);
    free(big);
    assert_memory_equal(got, want, 32);
}

/* ExtremelyLongMsgKAT_256.txt from KeccakKAT-3.zip (copied from
 * pycryptodome, see tests/data/keccak_kat.txt): 2^24 repetitions of a
 * 64-byte text, 1 GiB in all.  Several seconds, so only with NW_TEST_SLOW=1. */
static void test_extremely_long_message(void **state)
{
    static const char text[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno";
    uint8_t want[32], got[32];
    struct nw_keccak k;
    uint32_t i;

    (void)state;
    if (getenv("NW_TEST_SLOW") == NULL)
        skip();
    unhex(want, 32, "5F313C39963DCF792B5470D4ADE9F3A356A3E4021748690A958372E2B06F82A4");
    nw_keccak_init(&k);
    for (i = 0; i < (UINT32_C(1) << 24); i++)
        nw_keccak_update(&k, text, 64);
    nw_keccak_final(&k, got);
    assert_memory_equal(got, want, 32);
}

/* --- the Keccak team's KAT files --------------------------------------- */

static const char *field(const char *line, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(line, name, n) != 0 || strncmp(line + n, " = ", 3) != 0)
        return NULL;
    return line + n + 3;
}

static void add_kat(size_t bits, const char *msg_hex, const char *md_hex)
{
    struct kat *t;

    assert_true(n_kats < KAT_MAX);
    assert_int_equal(bits % 8, 0);
    t = &kats[n_kats++];
    t->len = bits / 8;
    assert_true(t->len <= MSG_MAX);
    t->msg = malloc(t->len ? t->len : 1);
    assert_non_null(t->msg);
    unhex(t->msg, t->len, msg_hex);
    unhex(t->md, 32, md_hex);
}

static int load_kats(void **state)
{
    const char *dir = getenv("NW_TEST_DATA");
    char path[512], *line = NULL, *msg = NULL;
    size_t cap = 0;
    long bits = -1;
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/keccak_kat.txt", dir ? dir : "tests/data");
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository root or set NW_TEST_DATA)\n", path);
        return -1;
    }
    while (getline(&line, &cap, f) > 0) {
        const char *v;
        line[strcspn(line, "\r\n")] = '\0';
        if ((v = field(line, "Len")) != NULL) {
            bits = strtol(v, NULL, 10);
        } else if ((v = field(line, "Msg")) != NULL) {
            free(msg);
            msg = strdup(v);
        } else if ((v = field(line, "MD")) != NULL && bits >= 0 && msg != NULL) {
            add_kat((size_t)bits, msg, v);
            bits = -1;
        }
    }
    free(line);
    free(msg);
    fclose(f);
    return 0;
}

static int free_kats(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < n_kats; i++)
        free(kats[i].msg);
    n_kats = 0;
    return 0;
}

static const struct kat *kat_of_len(size_t len)
{
    size_t i;

    for (i = 0; i < n_kats; i++)
        if (kats[i].len == len)
            return &kats[i];
    fail_msg("no KAT with a %zu-byte message", len);
    return NULL;
}

static void test_kat_file_is_complete(void **state)
{
    static const size_t needed[] = { 0, 1, 134, 135, 136, 137, 255, 256, 319, 1012, 2020, 4288 };
    size_t i;

    (void)state;
    /* 256 short messages (0..255 bytes) and 5 long ones. */
    assert_int_equal(n_kats, 261);
    for (i = 0; i < sizeof needed / sizeof needed[0]; i++)
        assert_non_null(kat_of_len(needed[i]));
}

static void test_kat_one_shot(void **state)
{
    uint8_t got[32];
    size_t i;

    (void)state;
    for (i = 0; i < n_kats; i++) {
        nw_keccak256(got, kats[i].msg, kats[i].len);
        if (memcmp(got, kats[i].md, 32) != 0)
            fail_msg("KAT with a %zu-byte message: digest differs", kats[i].len);
    }
}

/* The rate boundaries named on their own, so a failure says which. */
static void test_rate_boundaries(void **state)
{
    static const size_t lens[] = { 134, 135, 136, 137, 138 };
    uint8_t got[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        const struct kat *t = kat_of_len(lens[i]);
        nw_keccak256(got, t->msg, t->len);
        if (memcmp(got, t->md, 32) != 0)
            fail_msg("%zu-byte KAT (rate is %d): digest differs", t->len, NW_KECCAK256_RATE);
    }
}

static void test_split_at_every_offset(void **state)
{
    static const size_t lens[] = { 1, 100, 135, 136, 137, 200, 255, 319, 1012 };
    struct nw_keccak k;
    uint8_t got[32];
    size_t i, cut;

    (void)state;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        const struct kat *t = kat_of_len(lens[i]);
        for (cut = 0; cut <= t->len; cut++) {
            nw_keccak_init(&k);
            nw_keccak_update(&k, t->msg, cut);
            nw_keccak_update(&k, t->msg + cut, t->len - cut);
            nw_keccak_final(&k, got);
            if (memcmp(got, t->md, 32) != 0)
                fail_msg("%zu-byte KAT split at %zu: digest differs", t->len, cut);
        }
    }
}

static void test_every_chunk_size(void **state)
{
    const struct kat *t;
    struct nw_keccak k;
    uint8_t got[32];
    size_t chunk, off, n;

    (void)state;
    t = kat_of_len(1012); /* 7 full blocks and a 60-byte tail */
    for (chunk = 1; chunk <= 2 * NW_KECCAK256_RATE + 1; chunk++) {
        nw_keccak_init(&k);
        for (off = 0; off < t->len; off += n) {
            n = t->len - off < chunk ? t->len - off : chunk;
            nw_keccak_update(&k, t->msg + off, n);
            nw_keccak_update(&k, t->msg + off, 0); /* empty updates change nothing */
        }
        nw_keccak_final(&k, got);
        if (memcmp(got, t->md, 32) != 0)
            fail_msg("1012-byte KAT in %zu-byte chunks: digest differs", chunk);
    }
}

static void test_final_wipes_state(void **state)
{
    static const uint8_t zero[sizeof(struct nw_keccak)];
    struct nw_keccak k;
    uint8_t got[32], want[32];

    (void)state;
    nw_keccak_init(&k);
    nw_keccak_update(&k, "secret material", 15);
    nw_keccak_final(&k, got);
    assert_memory_equal(&k, zero, sizeof k);
    /* The context can be initialised and used again. */
    nw_keccak_init(&k);
    nw_keccak_final(&k, got);
    unhex(want, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    assert_memory_equal(got, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_string),
        cmocka_unit_test(test_short_strings),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_extremely_long_message),
        cmocka_unit_test(test_kat_file_is_complete),
        cmocka_unit_test(test_kat_one_shot),
        cmocka_unit_test(test_rate_boundaries),
        cmocka_unit_test(test_split_at_every_offset),
        cmocka_unit_test(test_every_chunk_size),
        cmocka_unit_test(test_final_wipes_state),
    };

    return cmocka_run_group_tests(tests, load_kats, free_kats);
}
