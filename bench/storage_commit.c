/*
 * storage_commit.c - how fast the SQLite backend records signatures, and
 * what group commit buys (docs/storage.md "Group commit").  Prints one JSON
 * object:
 *   {"threads":N,"serial":0|1,"seconds":S,"rows":N,"rows_per_s":R,
 *    "commits":N,"rows_per_commit":R,"p50_ms":..,"p99_ms":..}
 *
 *   storage_commit --dir DIR [--threads N] [--seconds S] [--serial]
 *
 * N threads call nw_storage_record_signed_value in a loop on one handle (a
 * fresh database in DIR, removed afterwards), each row a 65-byte signature
 * like the API's.  --serial makes the threads take turns (one call at a time
 * in the whole process), which is the pre-group-commit protocol: one
 * transaction, so one WAL fsync, per signature.  Without it, writes that
 * arrive during a commit share the next one.  The database is on DIR's file
 * system: put it where the host's state directory would be (tmpfs makes
 * fsync free and the comparison meaningless).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/host/storage/storage_sqlite_internal.h"
#include "nitrowallet/storage.h"

#define MAX_THREADS 256
#define MAX_SAMPLES (1u << 20)

static struct nw_storage *st;
static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;
static int serial;
static double seconds = 3;

struct worker {
    pthread_t t;
    unsigned id;
    double *lat_ms;
    size_t n;
    int failed;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    char rid[48], sig[2 + 130 + 1] = "0x";
    double end = now_s() + seconds;

    memset(sig + 2, 'a', 130);
    while (!w->failed && w->n < MAX_SAMPLES) {
        double t0 = now_s();
        if (t0 >= end)
            break;
        snprintf(rid, sizeof rid, "req-%u-%zu", w->id, w->n);
        struct nw_signed_value_record r = {
            .name = "bench",
            .kind = "message",
            .transaction = "{\"message\":\"hello\"}",
            .signed_value = sig,
            .tx_hash = "",
            .created_at = "2026-11-21T09:30:00.123Z",
            .request_id = rid,
        };
        struct nw_error err = {0};
        if (serial)
            pthread_mutex_lock(&serial_lock);
        enum nw_err rc = nw_storage_record_signed_value(st, &r, &err);
        if (serial)
            pthread_mutex_unlock(&serial_lock);
        if (rc != NW_OK) {
            fprintf(stderr, "storage_commit: %s\n", err.msg);
            w->failed = 1;
            break;
        }
        w->lat_ms[w->n++] = (now_s() - t0) * 1e3;
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int open_db(const char *dir, char *path, size_t cap)
{
    struct nw_error err = {0};
    int exists = 0;

    snprintf(path, cap, "%s/storage_commit-%ld.db", dir, (long)getpid());
    if (nw_storage_sqlite_open(&st, path, &err) != NW_OK) {
        fprintf(stderr, "storage_commit: %s\n", err.msg);
        return 0;
    }
    struct nw_account_record a = {
        .name = "bench",
        .kms_key_id = "alias/bench",
        .address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        .encrypted_private_key = "AQIDBA==",
        .encrypted_data_key = "AQIDBAUG",
        .policy = "{\"allow_digest\":false}",
        .policy_digest = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        .created_at = "2026-11-21T09:30:00.123Z",
    };
    if (nw_storage_create_account(st, &a, &exists, &err) != NW_OK) {
        fprintf(stderr, "storage_commit: %s\n", err.msg);
        return 0;
    }
    return 1;
}

static void remove_db(const char *path)
{
    char p[4200];

    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

int main(int argc, char **argv)
{
    static struct worker w[MAX_THREADS];
    const char *dir = NULL;
    unsigned threads = 32;
    char path[4096];
    unsigned long long commits0, rows0, commits, rows;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--serial") == 0)
            serial = 1;
        else
            dir = NULL, i = argc;
    }
    if (dir == NULL || threads < 1 || threads > MAX_THREADS || !(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "usage: storage_commit --dir DIR [--threads 1..%d] [--seconds S] [--serial]\n", MAX_THREADS);
        return 2;
    }
    if (!open_db(dir, path, sizeof path))
        return 1;
    nw_sqlite_stats(st, &commits0, &rows0);
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++) {
        w[i].id = i;
        w[i].lat_ms = malloc(MAX_SAMPLES * sizeof(double));
        if (w[i].lat_ms == NULL || pthread_create(&w[i].t, NULL, run, &w[i]) != 0) {
            fprintf(stderr, "storage_commit: cannot start thread %u\n", i);
            return 1;
        }
    }
    size_t total = 0, k = 0;
    int failed = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(w[i].t, NULL);
        total += w[i].n;
        failed |= w[i].failed;
    }
    double elapsed = now_s() - t0;
    nw_sqlite_stats(st, &commits, &rows);
    double *all = malloc((total + 1) * sizeof(double));
    if (all == NULL)
        return 1;
    for (unsigned i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat_ms, w[i].n * sizeof(double));
        k += w[i].n;
        free(w[i].lat_ms);
    }
    qsort(all, total, sizeof(double), cmp);
    commits -= commits0;
    rows -= rows0;
    printf("{\"threads\":%u,\"serial\":%d,\"seconds\":%.3f,\"rows\":%llu,\"rows_per_s\":%.1f,\"commits\":%llu,"
           "\"rows_per_commit\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
           threads, serial, elapsed, rows, (double)rows / elapsed, commits,
           commits ? (double)rows / (double)commits : 0.0, total ? all[total / 2] : 0.0,
           total ? all[(size_t)((double)total * 0.99)] : 0.0);
    free(all);
    nw_storage_close(st);
    remove_db(path);
    return failed || total == 0;
}
