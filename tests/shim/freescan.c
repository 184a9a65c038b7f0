/*
 * freescan.c - an LD_PRELOAD shim for the secret-hygiene suites
 * (tests/suites/secrets_freed.sh, issue 11 point 6).  On every free() (and
 * every block realloc() gives up) it scans the block for the suite's known
 * secrets and, on a hit, prints which secret, the block's size and the
 * offset, the stack that allocated the block and the stack freeing it, then
 * aborts.  A secret that reaches free() unwiped stays in the heap until the
 * allocator reuses it: readable by a core dump, a memory disclosure bug or
 * the next owner of that memory.
 *
 * NW_FREESCAN_SECRETS names a file with one secret per line (at least 8
 * bytes each; shorter lines are ignored), read once at start.  Without it
 * the shim only records and frees.  NW_FREESCAN_LOG (optional) is a file
 * the report is appended to as well as standard error; at a normal exit a
 * line saying how many blocks were scanned and whether the process had made
 * itself non-dumpable (prctl PR_GET_DUMPABLE) is appended there too.
 *
 * A process that sets mallopt(M_PERTURB) (nw_process_harden does) has glibc
 * overwrite every block it frees outside the per-thread cache; on glibc
 * 2.36 x86_64 that is every block of more than 1032 usable bytes
 * (TCACHE_MAX_USABLE).  Such blocks are counted as wiped by the allocator
 * instead of scanned: that is how third-party buffers (GnuTLS records with
 * decrypted request headers) are cleared.  Smaller blocks are scanned
 * whatever the setting, since the cache hands them back unwiped.
 *
 * It wraps glibc's allocator (__libc_malloc and friends) rather than
 * replacing it, so malloc_usable_size() gives the block's size; allocation
 * stacks live in a table of mmap'd memory guarded by one mutex.  Test
 * tooling only: never linked into nitrowallet, and not usable under ASan
 * (which owns malloc).
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
extern int __libc_mallopt(int, int);

#define FRAMES 8
#define BUCKETS (1u << 18)
#define NODES (1u << 22)
#define SECRETS_MAX 64
#define SECRETS_BYTES 65536

struct node {
    uintptr_t ptr;
    struct node *next;
    void *frames[FRAMES];
    int n;
};

static struct node **buckets;
static struct node *pool, *free_nodes;
static size_t pool_used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int busy; /* inside the shim: backtrace() may allocate */
static int ready;

static char secret_text[SECRETS_BYTES];
static const char *secret[SECRETS_MAX];
static size_t secret_len[SECRETS_MAX];
static int n_secrets;
static int log_fd = -1;
static unsigned long scanned;   /* blocks scanned (relaxed atomics: a report) */
static unsigned long perturbed; /* blocks glibc wipes itself (M_PERTURB) */
static int perturb;             /* the process's M_PERTURB byte, 0 = off */
#define TCACHE_MAX_USABLE 1032  /* glibc 2.36, 64-bit: larger blocks bypass the thread cache */

static size_t bucket_of(uintptr_t p)
{
    return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 46) & (BUCKETS - 1);
}

static void load_secrets(void)
{
    const char *path = getenv("NW_FREESCAN_SECRETS");
    ssize_t n, total = 0;
    int fd;

    if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    while (total < SECRETS_BYTES - 1 && (n = read(fd, secret_text + total, SECRETS_BYTES - 1 - (size_t)total)) > 0)
        total += n;
    close(fd);
    for (char *p = secret_text, *end = secret_text + total; p < end && n_secrets < SECRETS_MAX;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len >= 8) {
            secret[n_secrets] = p;
            secret_len[n_secrets++] = len;
        }
        p += len + 1;
    }
}

__attribute__((constructor)) static void freescan_init(void)
{
    void *warm[2];
    const char *log = getenv("NW_FREESCAN_LOG");

    busy = 1;
    buckets = mmap(NULL, BUCKETS * sizeof *buckets, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pool = mmap(NULL, NODES * sizeof *pool, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    if (buckets == MAP_FAILED || pool == MAP_FAILED)
        abort();
    backtrace(warm, 2); /* loads the unwinder now, not inside a malloc */
    load_secrets();
    if (log != NULL)
        log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    ready = 1;
    busy = 0;
}

static void record(void *p)
{
    struct node *nd;
    void *frames[FRAMES + 2];
    int n;

    if (p == NULL || !ready || busy)
        return;
    busy = 1;
    n = backtrace(frames, FRAMES + 2); /* frames[0..1]: record() and the shim's malloc */
    pthread_mutex_lock(&lock);
    if (free_nodes != NULL) {
        nd = free_nodes;
        free_nodes = nd->next;
    } else if (pool_used < NODES) {
        nd = &pool[pool_used++];
    } else {
        nd = NULL; /* table full: this block goes unnamed */
    }
    if (nd != NULL) {
        size_t b = bucket_of((uintptr_t)p);
        nd->ptr = (uintptr_t)p;
        nd->n = n > 2 ? n - 2 : 0;
        memcpy(nd->frames, frames + 2, (size_t)nd->n * sizeof *frames);
        nd->next = buckets[b];
        buckets[b] = nd;
    }
    pthread_mutex_unlock(&lock);
    busy = 0;
}

/* Remove p's entry; copy its frames out (for a report) when asked. */
static int forget(void *p, void **frames)
{
    int n = -1;

    if (p == NULL || !ready)
        return -1;
    pthread_mutex_lock(&lock);
    for (struct node **pp = &buckets[bucket_of((uintptr_t)p)]; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->ptr == (uintptr_t)p) {
            struct node *nd = *pp;
            *pp = nd->next;
            n = nd->n;
            if (frames != NULL)
                memcpy(frames, nd->frames, (size_t)n * sizeof *frames);
            nd->next = free_nodes;
            free_nodes = nd;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return n;
}

static void say(const char *s)
{
    write(2, s, strlen(s));
    if (log_fd >= 0)
        write(log_fd, s, strlen(s));
}

static void frames_out(void **frames, int n)
{
    backtrace_symbols_fd(frames, n, 2);
    if (log_fd >= 0)
        backtrace_symbols_fd(frames, n, log_fd);
}

static void scan(void *p)
{
    size_t size;

    if (p == NULL || n_secrets == 0 || busy)
        return;
    size = malloc_usable_size(p);
    if (__atomic_load_n(&perturb, __ATOMIC_RELAXED) != 0 && size > TCACHE_MAX_USABLE) {
        __atomic_add_fetch(&perturbed, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_add_fetch(&scanned, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < n_secrets; i++) {
        const char *hit = memmem(p, size, secret[i], secret_len[i]);
        void *alloc[FRAMES], *now[FRAMES + 1];
        char line[256];
        int na, nn;

        if (hit == NULL)
            continue;
        busy = 1;
        na = forget(p, alloc);
        snprintf(line, sizeof line,
                 "freescan: secret #%d (%zu bytes, starts \"%.4s\") found in a freed %zu-byte block at offset %zu\n"
                 "freescan: allocated at:\n",
                 i + 1, secret_len[i], secret[i], size, (size_t)(hit - (const char *)p));
        say(line);
        if (na > 0)
            frames_out(alloc, na);
        else
            say("  (allocation not recorded)\n");
        say("freescan: freed at:\n");
        nn = backtrace(now, FRAMES + 1);
        frames_out(now, nn);
        abort();
    }
}

__attribute__((destructor)) static void freescan_fini(void)
{
    char line[256], name[64] = "?";
    int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        ssize_t n = read(fd, name, sizeof name - 1);
        name[n > 0 ? n - 1 : 0] = '\0';
        close(fd);
    }
    snprintf(line, sizeof line,
             "freescan: %s exit: %lu blocks scanned for %d secrets, %lu wiped by the allocator, dumpable=%d\n", name,
             __atomic_load_n(&scanned, __ATOMIC_RELAXED), n_secrets, __atomic_load_n(&perturbed, __ATOMIC_RELAXED),
             prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    if (log_fd >= 0)
        write(log_fd, line, strlen(line));
}

int mallopt(int param, int value)
{
    if (param == M_PERTURB)
        __atomic_store_n(&perturb, value & 0xff, __ATOMIC_RELAXED);
    return __libc_mallopt(param, value);
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    record(p);
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = __libc_calloc(a, b);
    record(p);
    return p;
}

void free(void *p)
{
    if (p == NULL)
        return;
    scan(p);
    forget(p, NULL);
    __libc_free(p);
}

/* Always move, so the old block is scanned as it is given up. */
void *realloc(void *old, size_t n)
{
    void *p;
    size_t keep;

    if (old == NULL)
        return malloc(n);
    if (n == 0) {
        free(old);
        return NULL;
    }
    if (busy)
        return __libc_realloc(old, n);
    p = __libc_malloc(n);
    if (p == NULL)
        return NULL;
    keep = malloc_usable_size(old);
    memcpy(p, old, keep < n ? keep : n);
    record(p);
    free(old);
    return p;
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    record(p);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return 22; /* EINVAL */
    p = memalign(align, n);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(page, (n + page - 1) / page * page);
}
