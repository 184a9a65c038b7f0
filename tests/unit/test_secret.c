/*
 * test_secret.c - secret buffers are locked, excluded from core dumps,
 * zeroed at allocation and released cleanly; helpers behave.
 *
 * Locking and MADV_DONTDUMP are read back from the kernel's own view of
 * the mapping (/proc/self/smaps), not from our bookkeeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "nitrowallet/secret.h"

/* Fill `flags` with the VmFlags line and *locked with the Locked: kB of the
 * mapping that starts at `addr`. */
static int smaps_of(const void *addr, char *flags, size_t cap, long *locked)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0, found = 0;
    char want[32];

    if (f == NULL)
        return 0;
    snprintf(want, sizeof want, "%lx-", (unsigned long)(uintptr_t)addr);
    while (fgets(line, sizeof line, f)) {
        if (strchr(line, '-') && strncmp(line, want, strlen(want)) == 0) {
            in = 1;
            found = 1;
            continue;
        }
        if (in && strncmp(line, "Locked:", 7) == 0)
            *locked = strtol(line + 7, NULL, 10);
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
    return found;
}

static void test_alloc_is_locked_dontdump_and_zeroed(void **state)
{
    struct nw_secret s;
    char flags[512] = "";
    long locked = -1;
    (void)state;
    assert_int_equal(nw_secret_alloc(&s, 32), NW_OK);
    assert_int_equal(s.len, 32);
    for (size_t i = 0; i < s.len; i++)
        assert_int_equal(s.data[i], 0);
    assert_true(smaps_of(s.data, flags, sizeof flags, &locked));
    assert_non_null(strstr(flags, " dd")); /* VM_DONTDUMP */
#ifndef __SANITIZE_ADDRESS__
    assert_non_null(strstr(flags, " lo")); /* VM_LOCKED */
    assert_true(locked >= 4);
#else
    (void)locked; /* ASan's mlock interceptor does nothing: checked in `make test` */
#endif
    nw_secret_free(&s);
    assert_null(s.data);
    assert_int_equal(s.len, 0);
    nw_secret_free(&s); /* freeing twice is harmless */
}

static void test_bounds(void **state)
{
    struct nw_secret s;
    (void)state;
    assert_int_equal(nw_secret_alloc(&s, 0), NW_ERR_NOMEM);
    assert_null(s.data);
    assert_int_equal(nw_secret_alloc(&s, (1u << 20) + 1), NW_ERR_NOMEM);
    assert_int_equal(nw_secret_alloc(&s, 1u << 20), NW_OK);
    nw_secret_free(&s);
}

/* When the kernel refuses to lock, allocation fails instead of silently
 * handing out swappable memory. */
static void test_lock_failure_is_an_error(void **state)
{
    struct rlimit old, none = {0, 0};
    struct nw_secret s;
    (void)state;
    assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &old), 0);
    if (setrlimit(RLIMIT_MEMLOCK, &none) != 0)
        skip();
    enum nw_err rc = nw_secret_alloc(&s, 32);
    setrlimit(RLIMIT_MEMLOCK, &old);
    /* root with CAP_IPC_LOCK may lock regardless of the limit. */
    if (rc == NW_OK) {
        nw_secret_free(&s);
        skip();
    }
    assert_int_equal(rc, NW_ERR_NOMEM);
    assert_null(s.data);
}

static void test_wipe_and_ct_equal(void **state)
{
    uint8_t a[40], b[40];
    (void)state;
    memset(a, 0xa5, sizeof a);
    nw_wipe(a, sizeof a);
    for (size_t i = 0; i < sizeof a; i++)
        assert_int_equal(a[i], 0);
    memset(a, 7, sizeof a);
    memset(b, 7, sizeof b);
    assert_true(nw_ct_equal(a, b, sizeof a));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x80;
        assert_false(nw_ct_equal(a, b, sizeof a));
        b[i] ^= 0x80;
    }
    assert_true(nw_ct_equal(a, b, 0));
}

static void test_random_fills(void **state)
{
    uint8_t a[64] = {0}, b[64] = {0};
    (void)state;
    assert_int_equal(nw_random(a, sizeof a), NW_OK);
    assert_int_equal(nw_random(b, sizeof b), NW_OK);
    assert_memory_not_equal(a, b, sizeof a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_is_locked_dontdump_and_zeroed),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_lock_failure_is_an_error),
        cmocka_unit_test(test_wipe_and_ct_equal),
        cmocka_unit_test(test_random_fills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
