/*
 * secret.c - locked, non-dumpable, wiped-on-free memory for secrets.
 *
 * Each secret gets its own private anonymous mapping so that mlock(2) and
 * madvise(MADV_DONTDUMP) apply to whole pages that hold nothing else.  The
 * cost (one page per secret) is fine for the handful of keys a request
 * holds; a cache of many data keys would use an arena over the same calls.
 *
 * Mapping, locking and unmapping a page per secret costs more than a
 * signature when threads do it concurrently (mmap_lock contention and TLB
 * shootdown IPIs; docs/performance.md).  So each thread keeps up to
 * STASH_PAGES freed single-page mappings, wiped, still locked and
 * non-dumpable, and hands them out again; they are unmapped when the thread
 * exits.  A secret never shares a page with anything else either way.
 */
#include "nitrowallet/secret.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define SECRET_MAX (1u << 20)
#define STASH_PAGES 16

static __thread void *stash[STASH_PAGES];
static __thread int stash_n;
static pthread_key_t stash_key;
static pthread_once_t stash_once = PTHREAD_ONCE_INIT;
static long page_size;

static void stash_release(void *unused)
{
    (void)unused;
    while (stash_n > 0) {
        void *p = stash[--stash_n];
        munlock(p, (size_t)page_size);
        munmap(p, (size_t)page_size);
    }
}

static void stash_init(void)
{
    page_size = sysconf(_SC_PAGESIZE);
    if (pthread_key_create(&stash_key, stash_release) != 0)
        page_size = -1; /* no destructor: do not stash */
}

enum nw_err nw_secret_alloc(struct nw_secret *s, size_t len)
{
    long page;
    size_t map_len;
    void *p;

    pthread_once(&stash_once, stash_init);
    page = page_size > 0 ? page_size : sysconf(_SC_PAGESIZE);
    s->data = NULL;
    s->len = 0;
    s->map_len = 0;
    if (len == 0 || len > SECRET_MAX || page <= 0)
        return NW_ERR_NOMEM;
    if (len <= (size_t)page && stash_n > 0) { /* wiped when it was stashed */
        s->data = stash[--stash_n];
        s->len = len;
        s->map_len = (size_t)page;
        return NW_OK;
    }
    map_len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
    p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NW_ERR_NOMEM;
    if (madvise(p, map_len, MADV_DONTDUMP) != 0 || mlock(p, map_len) != 0) {
        munmap(p, map_len);
        return NW_ERR_NOMEM;
    }
    s->data = p;
    s->len = len;
    s->map_len = map_len;
    return NW_OK;
}

void nw_secret_free(struct nw_secret *s)
{
    if (s == NULL || s->data == NULL)
        return;
    nw_wipe(s->data, s->map_len);
    if (page_size > 0 && s->map_len == (size_t)page_size && stash_n < STASH_PAGES) {
        if (stash_n == 0)
            pthread_setspecific(stash_key, stash); /* arms the destructor at thread exit */
        stash[stash_n++] = s->data;
    } else {
        munlock(s->data, s->map_len);
        munmap(s->data, s->map_len);
    }
    s->data = NULL;
    s->len = 0;
    s->map_len = 0;
}

void nw_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

int nw_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

enum nw_err nw_random(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return NW_ERR_RANDOM;
        }
        p += n;
        len -= (size_t)n;
    }
    return NW_OK;
}

enum nw_err nw_process_harden(void)
{
    struct rlimit none = {0, 0};

    /* glibc overwrites blocks as they are freed (all but those its per-thread
     * cache keeps, <= 1032 bytes): libraries that free buffers unwiped
     * (GnuTLS records holding decrypted request headers) leave no copy.
     * Best effort: sanitizer runtimes own malloc and ignore it. */
    (void)mallopt(M_PERTURB, 0xa5);
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return NW_ERR_INTERNAL;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return NW_ERR_INTERNAL;
    return NW_OK;
}
