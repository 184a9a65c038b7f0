/*
 * api_metrics.c - GET /metrics of the host API, Prometheus text exposition
 * format 0.0.4: requests by endpoint and status, a latency histogram by
 * endpoint, the enclave pool's call counters and the KMS proxy's counters
 * (summed over the host's --kms-proxy listeners).
 *
 * Trust boundary: network-facing, unauthenticated (nothing secret: labels
 * are fixed endpoint names, status codes and policy rule ids, never account
 * names or token ids).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/policy.h"

#define M_ENDPOINTS 16
#define M_STATUSES 24
static const double buckets_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define M_BUCKETS (sizeof(buckets_s) / sizeof(buckets_s[0]))

struct m_endpoint {
    const char *name;
    int statuses[M_STATUSES];
    unsigned long long counts[M_STATUSES];
    unsigned long long bucket[M_BUCKETS];
    unsigned long long n;
    double sum_s;
};

/* Policy decisions by rule id (docs/policy.md): ids are [A-Za-z0-9._-]
 * (the enclave's parser checks), at most M_RULES distinct ones; past that
 * they count under rule="_other". */
#define M_RULES 256
struct m_rule {
    char id[NW_POLICY_MAX_ID + 1];
    unsigned long long allowed, denied;
};

struct api_metrics {
    pthread_mutex_t mu;
    struct m_endpoint ep[M_ENDPOINTS];
    struct m_rule rules[M_RULES];
    size_t n_rules;
    unsigned long long other_allowed, other_denied;
};

struct api_metrics *api_metrics_new(void)
{
    struct api_metrics *m = calloc(1, sizeof(*m));
    if (m != NULL) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void api_metrics_free(struct api_metrics *m)
{
    if (m == NULL) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void api_metrics_observe(struct api_metrics *m, const char *endpoint, int status, long long micros)
{
    if (m == NULL || endpoint == NULL) return;
    pthread_mutex_lock(&m->mu);
    struct m_endpoint *e = NULL;
    for (size_t i = 0; i < M_ENDPOINTS && e == NULL; i++) {
        if (m->ep[i].name == NULL) m->ep[i].name = endpoint; /* labels are static strings */
        if (strcmp(m->ep[i].name, endpoint) == 0) e = &m->ep[i];
    }
    if (e != NULL) {
        double s = (double)micros / 1e6;
        for (size_t i = 0; i < M_STATUSES; i++) {
            if (e->statuses[i] == 0) e->statuses[i] = status;
            if (e->statuses[i] == status) {
                e->counts[i]++;
                break;
            }
        }
        for (size_t b = 0; b < M_BUCKETS; b++)
            if (s <= buckets_s[b]) e->bucket[b]++;
        e->n++;
        e->sum_s += s;
    }
    pthread_mutex_unlock(&m->mu);
}

void api_metrics_policy(struct api_metrics *m, const char *rule, int allowed)
{
    struct m_rule *r = NULL;
    if (m == NULL || rule == NULL) return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_rules && r == NULL; i++)
        if (strcmp(m->rules[i].id, rule) == 0) r = &m->rules[i];
    if (r == NULL && m->n_rules < M_RULES && nw_policy_id_valid(rule, strlen(rule))) {
        r = &m->rules[m->n_rules++];
        snprintf(r->id, sizeof r->id, "%s", rule);
    }
    if (r != NULL)
        allowed ? r->allowed++ : r->denied++;
    else
        allowed ? m->other_allowed++ : m->other_denied++;
    pthread_mutex_unlock(&m->mu);
}

static int out_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

static void render_endpoints(struct api_metrics *m, FILE *f)
{
    out_printf(f, "# TYPE nitrowallet_http_requests_total counter\n");
    for (size_t i = 0; i < M_ENDPOINTS && m->ep[i].name; i++)
        for (size_t j = 0; j < M_STATUSES && m->ep[i].statuses[j]; j++)
            out_printf(f, "nitrowallet_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", m->ep[i].name,
                       m->ep[i].statuses[j], m->ep[i].counts[j]);
    out_printf(f, "# TYPE nitrowallet_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < M_ENDPOINTS && m->ep[i].name; i++) {
        const struct m_endpoint *e = &m->ep[i];
        for (size_t b = 0; b < M_BUCKETS; b++)
            out_printf(f, "nitrowallet_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                       e->name, buckets_s[b], e->bucket[b]);
        out_printf(f, "nitrowallet_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
                   e->name, e->n);
        out_printf(f, "nitrowallet_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", e->name, e->sum_s);
        out_printf(f, "nitrowallet_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n", e->name, e->n);
    }
}

static void render_policy(struct api_metrics *m, FILE *f)
{
    out_printf(f, "# TYPE nitrowallet_policy_decisions_total counter\n");
    for (size_t i = 0; i < m->n_rules; i++)
        out_printf(f,
                   "nitrowallet_policy_decisions_total{rule=\"%s\",decision=\"allow\"} %llu\n"
                   "nitrowallet_policy_decisions_total{rule=\"%s\",decision=\"deny\"} %llu\n",
                   m->rules[i].id, m->rules[i].allowed, m->rules[i].id, m->rules[i].denied);
    if (m->other_allowed || m->other_denied)
        out_printf(f,
                   "nitrowallet_policy_decisions_total{rule=\"_other\",decision=\"allow\"} %llu\n"
                   "nitrowallet_policy_decisions_total{rule=\"_other\",decision=\"deny\"} %llu\n",
                   m->other_allowed, m->other_denied);
}

static void render_kms_proxy(const struct nw_host_config *cfg, FILE *f)
{
    struct nw_kms_proxy_stats sum = {0}, one;

    for (size_t i = 0; i < cfg->n_kms_proxies; i++) {
        nw_kms_proxy_stats(cfg->kms_proxies[i], &one);
        sum.connections += one.connections;
        sum.active += one.active;
        sum.refused += one.refused;
        sum.idle_closed += one.idle_closed;
        sum.connect_failures += one.connect_failures;
        sum.bytes_to_remote += one.bytes_to_remote;
        sum.bytes_from_remote += one.bytes_from_remote;
    }
    out_printf(f, "# TYPE nitrowallet_kms_proxy_connections_total counter\n"
                  "nitrowallet_kms_proxy_connections_total %llu\n", sum.connections);
    out_printf(f, "# TYPE nitrowallet_kms_proxy_active gauge\nnitrowallet_kms_proxy_active %llu\n", sum.active);
    out_printf(f, "# TYPE nitrowallet_kms_proxy_refused_total counter\nnitrowallet_kms_proxy_refused_total %llu\n",
               sum.refused);
    out_printf(f, "# TYPE nitrowallet_kms_proxy_idle_closed_total counter\n"
                  "nitrowallet_kms_proxy_idle_closed_total %llu\n", sum.idle_closed);
    out_printf(f, "# TYPE nitrowallet_kms_proxy_connect_failures_total counter\n"
                  "nitrowallet_kms_proxy_connect_failures_total %llu\n", sum.connect_failures);
    out_printf(f, "# TYPE nitrowallet_kms_proxy_bytes_total counter\n"
                  "nitrowallet_kms_proxy_bytes_total{direction=\"to_kms\"} %llu\n"
                  "nitrowallet_kms_proxy_bytes_total{direction=\"from_kms\"} %llu\n",
               sum.bytes_to_remote, sum.bytes_from_remote);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') fputc('\\', f);
        if (*v == '\n') { fputs("\\n", f); continue; }
        fputc(*v, f);
    }
}

/* The KMS calls and data-key cache counters each enclave reported in its
 * last health probe (docs/host-api.md). */
static void render_enclave_endpoints(struct nw_enclave_pool *pool, FILE *f)
{
    struct nw_enclave_endpoint_stats e[NW_POOL_MAX_ENDPOINTS];
    size_t n = nw_enclave_pool_endpoints(pool, e, NW_POOL_MAX_ENDPOINTS);
    static const char *const names[] = {"nitrowallet_enclave_up", "nitrowallet_enclave_kms_calls_total",
                                        "nitrowallet_enclave_kms_calls_total", "nitrowallet_enclave_kms_failures_total",
                                        "nitrowallet_enclave_data_key_cache_hits_total",
                                        "nitrowallet_enclave_data_key_cache_misses_total",
                                        "nitrowallet_enclave_data_key_cache_entries"};
    static const char *const ops[] = {NULL, "GenerateDataKey", "Decrypt", NULL, NULL, NULL, NULL};
    static const char *const types[] = {"gauge", "counter", NULL, "counter", "counter", "counter", "gauge"};

    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        if (types[m]) fprintf(f, "# TYPE %s %s\n", names[m], types[m]);
        for (size_t i = 0; i < n; i++) {
            unsigned long long v[] = {(unsigned long long)e[i].up, e[i].kms_generate_data_key, e[i].kms_decrypt,
                                      e[i].kms_failures, e[i].cache_hits, e[i].cache_misses, e[i].cache_entries};
            if (m > 0 && !e[i].reported) continue;
            fprintf(f, "%s{endpoint=\"", names[m]);
            label(f, e[i].spec);
            if (ops[m]) fprintf(f, "\",op=\"%s", ops[m]);
            fprintf(f, "\"} %llu\n", v[m]);
        }
    }
}

void api_metrics_render(struct api_req *rq, struct api_resp *rs)
{
    char *text = NULL;
    size_t len = 0;
    struct nw_enclave_pool_stats st;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        api_error(rq, rs, 500, "NOMEM", "out of memory");
        return;
    }
    nw_enclave_pool_stats(rq->host->cfg.pool, &st);
    pthread_mutex_lock(&rq->host->metrics->mu);
    render_endpoints(rq->host->metrics, f);
    render_policy(rq->host->metrics, f);
    pthread_mutex_unlock(&rq->host->metrics->mu);
    out_printf(f, "# TYPE nitrowallet_enclave_calls_total counter\nnitrowallet_enclave_calls_total %llu\n", st.calls);
    out_printf(f, "# TYPE nitrowallet_enclave_call_failures_total counter\nnitrowallet_enclave_call_failures_total %llu\n",
               st.failures);
    out_printf(f, "# TYPE nitrowallet_enclave_failovers_total counter\nnitrowallet_enclave_failovers_total %llu\n",
               st.failovers);
    out_printf(f, "# TYPE nitrowallet_enclave_busy_retries_total counter\nnitrowallet_enclave_busy_retries_total %llu\n",
               st.busy_retries);
    out_printf(f, "# TYPE nitrowallet_enclave_probes_total counter\nnitrowallet_enclave_probes_total %llu\n", st.probes);
    out_printf(f, "# TYPE nitrowallet_enclave_probe_failures_total counter\nnitrowallet_enclave_probe_failures_total %llu\n",
               st.probe_failures);
    render_enclave_endpoints(rq->host->cfg.pool, f);
    out_printf(f, "# TYPE nitrowallet_enclave_endpoints gauge\nnitrowallet_enclave_endpoints %zu\n", st.endpoints);
    out_printf(f, "# TYPE nitrowallet_enclave_endpoints_up gauge\nnitrowallet_enclave_endpoints_up %zu\n", st.endpoints_up);
    render_kms_proxy(&rq->host->cfg, f);
    if (fclose(f) != 0 || text == NULL) {
        free(text);
        api_error(rq, rs, 500, "NOMEM", "out of memory");
        return;
    }
    free(rs->body);
    rs->body = text;
    rs->status = 200;
    rs->content_type = "text/plain; version=0.0.4";
}
