/*
 * loadgen.c - the load generator behind `make bench` (scripts/bench.sh).
 * Three modes, each printing one JSON object on stdout:
 *   {"ops":N,"errors":N,"seconds":S,"ops_per_s":R,"p50_ms":..,"p99_ms":..,"p999_ms":..}
 *
 *   loadgen raw --threads N --seconds S
 *       libsecp256k1 recoverable ECDSA signatures (secp256k1_ecdsa_sign_recoverable),
 *       one context and key per thread: the physical limit of this machine.
 *   loadgen enclave --connect SPEC --request FILE --conns N --seconds S [--rate R]
 *       frames of FILE (one enclave request, docs/protocol.md) over N
 *       persistent connections to nitrowallet-enclave; a reply without
 *       "result" counts as an error.
 *   loadgen http --url URL [--cacert PEM] [--token-file F] [--body FILE]
 *                --conns N --seconds S [--rate R] [--expect STATUS]
 *       POSTs over N keep-alive connections (libcurl, one handle per thread).
 *
 * Closed loop by default (each connection sends its next request when the
 * previous one is answered).  With --rate R the connections share R
 * requests per second on a fixed schedule and latency is measured from the
 * scheduled send time, so queueing behind a slow answer is counted (no
 * coordinated omission).  Latencies of every request are kept and sorted;
 * the generator runs on the same machine as the service and its CPU is part
 * of the machine's budget.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nitrowallet/proto.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/transport.h"

#define MAX_THREADS 256
#define MAX_SAMPLES (4u << 20) /* per thread */

struct opts {
    const char *mode, *connect, *request, *url, *cacert, *token_file, *body_file;
    unsigned threads;
    double seconds, rate;
    long expect;
};

struct worker {
    pthread_t t;
    const struct opts *o;
    unsigned index;
    double *lat_ms;
    size_t n, cap;
    unsigned long long errors;
    char *payload; /* request frame or HTTP body */
    size_t payload_len;
    char auth[512];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double g_start, g_end;

static void record(struct worker *w, double ms)
{
    if (w->n < w->cap) w->lat_ms[w->n++] = ms;
}

/* The next send time of a rate-limited worker; 0 when closed loop. */
static double next_slot(struct worker *w, unsigned long long k)
{
    if (w->o->rate <= 0) return 0;
    double per = w->o->rate / w->o->threads;
    return g_start + ((double)k + (double)w->index / w->o->threads) / per;
}

static void wait_until(double t)
{
    double d = t - now_s();
    if (d > 0) {
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* --- raw ------------------------------------------------------------------ */

static void *raw_main(void *arg)
{
    struct worker *w = arg;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned char sk[32], msg[32];
    secp256k1_ecdsa_recoverable_signature sig;
    if (nw_random(sk, 32) != NW_OK || !secp256k1_ec_seckey_verify(ctx, sk)) {
        w->errors++;
        return NULL;
    }
    memset(msg, 0x5a, sizeof msg);
    for (unsigned long long k = 0;; k++) {
        double t0 = now_s();
        if (t0 >= g_end) break;
        memcpy(msg, &k, sizeof k);
        if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, msg, sk, NULL, NULL)) w->errors++;
        record(w, (now_s() - t0) * 1e3);
    }
    nw_wipe(sk, sizeof sk);
    secp256k1_context_destroy(ctx);
    return NULL;
}

/* --- enclave -------------------------------------------------------------- */

static void *enclave_main(void *arg)
{
    struct worker *w = arg;
    struct nw_error err = {0};
    struct nw_buf reply;
    int fd = -1;
    nw_buf_init(&reply, NW_PROTO_MAX_FRAME);
    for (unsigned long long k = 0;; k++) {
        double slot = next_slot(w, k);
        wait_until(slot);
        double t0 = now_s(), from = slot > 0 ? slot : t0;
        if (t0 >= g_end) break;
        int eof = 0, ok = 0;
        if (fd < 0 && nw_transport_connect(&fd, w->o->connect, &err) != NW_OK) fd = -1;
        if (fd >= 0 && nw_proto_frame_write(fd, (const uint8_t *)w->payload, w->payload_len, &err) == NW_OK &&
            nw_proto_frame_read(fd, &reply, &eof, &err) == NW_OK && !eof)
            ok = memmem(reply.data, reply.len, "\"result\"", 8) != NULL;
        else if (fd >= 0) {
            close(fd);
            fd = -1;
        }
        if (!ok) w->errors++;
        else record(w, (now_s() - from) * 1e3);
    }
    if (fd >= 0) close(fd);
    nw_buf_free(&reply);
    return NULL;
}

/* --- http ----------------------------------------------------------------- */

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void *http_main(void *arg)
{
    struct worker *w = arg;
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    if (e == NULL) {
        w->errors++;
        return NULL;
    }
    if (w->auth[0]) h = curl_slist_append(h, w->auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, w->o->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, w->payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)w->payload_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (w->o->cacert) curl_easy_setopt(e, CURLOPT_CAINFO, w->o->cacert);
    for (unsigned long long k = 0;; k++) {
        double slot = next_slot(w, k);
        wait_until(slot);
        double t0 = now_s(), from = slot > 0 ? slot : t0;
        long status = 0;
        if (t0 >= g_end) break;
        if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (status != w->o->expect) w->errors++;
        else record(w, (now_s() - from) * 1e3);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return NULL;
}

/* --- main ----------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "loadgen: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int usage(void)
{
    fprintf(stderr, "usage: loadgen raw|enclave|http [--threads|--conns N] [--seconds S] [--rate R]\n"
                    "       [--connect SPEC --request FILE] [--url URL --cacert PEM --token-file F --body FILE\n"
                    "       --expect STATUS]\n");
    return 2;
}

static int parse(struct opts *o, int argc, char **argv)
{
    if (argc < 2) return 0;
    o->mode = argv[1];
    o->threads = 1;
    o->seconds = 5;
    o->expect = 200;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--threads") == 0 || strcmp(a, "--conns") == 0) o->threads = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--seconds") == 0) o->seconds = strtod(v, NULL);
        else if (strcmp(a, "--rate") == 0) o->rate = strtod(v, NULL);
        else if (strcmp(a, "--connect") == 0) o->connect = v;
        else if (strcmp(a, "--request") == 0) o->request = v;
        else if (strcmp(a, "--url") == 0) o->url = v;
        else if (strcmp(a, "--cacert") == 0) o->cacert = v;
        else if (strcmp(a, "--token-file") == 0) o->token_file = v;
        else if (strcmp(a, "--body") == 0) o->body_file = v;
        else if (strcmp(a, "--expect") == 0) o->expect = strtol(v, NULL, 10);
        else return 0;
    }
    return o->threads >= 1 && o->threads <= MAX_THREADS && o->seconds > 0;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    static struct worker w[MAX_THREADS];
    void *(*fn)(void *);
    char *payload = NULL, auth[512] = "";
    size_t payload_len = 0;

    if (!parse(&o, argc, argv)) return usage();
    if (strcmp(o.mode, "raw") == 0) {
        fn = raw_main;
    } else if (strcmp(o.mode, "enclave") == 0 && o.connect && o.request) {
        fn = enclave_main;
        payload = slurp(o.request, &payload_len);
    } else if (strcmp(o.mode, "http") == 0 && o.url) {
        fn = http_main;
        payload = o.body_file ? slurp(o.body_file, &payload_len) : strdup("{}");
        if (payload == NULL) return 1;
        if (!o.body_file) payload_len = 2;
        if (o.token_file) {
            size_t tl;
            char *tok = slurp(o.token_file, &tl);
            snprintf(auth, sizeof auth, "Authorization: Bearer %.400s", tok);
            nw_wipe(tok, tl);
            free(tok);
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
    } else {
        return usage();
    }
    g_start = now_s() + 0.05;
    g_end = g_start + o.seconds;
    for (unsigned i = 0; i < o.threads; i++) {
        w[i].o = &o;
        w[i].index = i;
        w[i].cap = MAX_SAMPLES;
        w[i].lat_ms = malloc(MAX_SAMPLES * sizeof(double));
        w[i].payload = payload;
        w[i].payload_len = payload_len;
        memcpy(w[i].auth, auth, sizeof auth);
        if (w[i].lat_ms == NULL || pthread_create(&w[i].t, NULL, fn, &w[i]) != 0) return 1;
    }
    size_t total = 0;
    unsigned long long errors = 0;
    for (unsigned i = 0; i < o.threads; i++) {
        pthread_join(w[i].t, NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double elapsed = now_s() - g_start;
    double *all = malloc((total + 1) * sizeof(double));
    size_t k = 0;
    if (all == NULL) return 1;
    for (unsigned i = 0; i < o.threads; i++) {
        memcpy(all + k, w[i].lat_ms, w[i].n * sizeof(double));
        k += w[i].n;
        free(w[i].lat_ms);
    }
    qsort(all, total, sizeof(double), cmp_double);
#define PCT(p) (total ? all[(size_t)((double)(total - 1) * (p))] : 0.0)
    printf("{\"ops\":%zu,\"errors\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
           "\"p999_ms\":%.4f}\n",
           total, errors, elapsed, (double)total / (elapsed > o.seconds ? o.seconds : elapsed), PCT(0.50), PCT(0.99),
           PCT(0.999));
    free(all);
    if (payload) {
        nw_wipe(payload, payload_len);
        free(payload);
    }
    nw_wipe(auth, sizeof auth);
    return errors > total / 100 ? 3 : 0; /* more than 1% errors: the run does not count */
}
