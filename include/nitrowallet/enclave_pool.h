/*
 * enclave_pool.h - the host's connections to one or more nitrowallet-enclave
 * endpoints (docs/protocol.md), and the AWS credentials it forwards to them.
 *
 * Trust boundary: the host is untrusted with keys, but it holds the AWS
 * credentials the enclave uses for KMS.  They come from a provider
 * (credentials.h: the default chain caches and refreshes them), are checked
 * once at open, asked for again for every frame that carries them, sent only
 * inside request frames, and never logged or put in an error message.
 * Replies from the enclave are parsed strictly (nw_json_parse).
 *
 * Each endpoint ("unix:/path" or "vsock:CID:PORT", transport.h) gets up to N
 * persistent connections.  A call takes a free connection, sends one frame and
 * reads the reply within the timeout.  A connection that fails is closed and
 * reopened lazily; an endpoint that cannot be reached is skipped for a short
 * back-off and the call fails over to another one; an enclave that answers
 * BUSY (its queue is full) is healthy, and the call moves to another one if
 * there is one.  When none answers the call fails with NW_ERR_UNAVAILABLE,
 * message "no healthy enclave" (HTTP 503).  A background thread probes every
 * endpoint with `health` (probe_interval_ms): a dead one is skipped until it
 * answers again, a recovered one is used at once.
 * Safe to call from several threads.
 */
#ifndef NITROWALLET_ENCLAVE_POOL_H
#define NITROWALLET_ENCLAVE_POOL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "nitrowallet/credentials.h"
#include "nitrowallet/error.h"

#define NW_POOL_MAX_ENDPOINTS 16
#define NW_POOL_DEFAULT_CONNECTIONS 4
#define NW_POOL_MAX_CONNECTIONS 64
#define NW_POOL_DEFAULT_TIMEOUT_MS 30000
#define NW_POOL_DEFAULT_PROBE_MS 2000
#define NW_POOL_DEFAULT_WAIT_MS 5000

struct nw_enclave_pool;

struct nw_enclave_pool_config {
    const char *const *endpoints; /* specs, 1..NW_POOL_MAX_ENDPOINTS */
    size_t n_endpoints;
    unsigned connections;         /* per endpoint; 0 = NW_POOL_DEFAULT_CONNECTIONS */
    int timeout_ms;               /* per send/receive; 0 = NW_POOL_DEFAULT_TIMEOUT_MS */
    const struct nw_credentials_provider *credentials; /* copied; its ctx must outlive the pool.
                                                          NULL: no credentials */
    int probe_interval_ms;        /* background health checks; 0 = NW_POOL_DEFAULT_PROBE_MS, <0 = off */
    int wait_ms;                  /* how long a call waits for a free connection when every one is busy,
                                     then NW_ERR_UNAVAILABLE; 0 = NW_POOL_DEFAULT_WAIT_MS */
};

/* Check that the provider yields credentials and prepare the pool (no
 * connection is opened). */
NW_MUST_CHECK enum nw_err nw_enclave_pool_open(struct nw_enclave_pool **out, const struct nw_enclave_pool_config *cfg,
                                               struct nw_error *err);

void nw_enclave_pool_close(struct nw_enclave_pool *pool);

/*
 * Run `op` with `params` (borrowed; an object) on some healthy enclave.
 * With `with_credentials` the provider's credentials are added as
 * params.credentials for the frame only.  On NW_OK *result owns the reply's
 * `result` object.  An enclave error reply maps its code back to enum nw_err
 * with the enclave's message; BUSY moves the call to another enclave, and
 * is NW_ERR_UNAVAILABLE when every one is busy.
 */
NW_MUST_CHECK enum nw_err nw_enclave_pool_call(struct nw_enclave_pool *pool, const char *op, const cJSON *params,
                                               int with_credentials, cJSON **result, struct nw_error *err);

/*
 * 1 when some endpoint answered its last call or probe.  When none did, ask
 * the background prober for a round now and wait up to wait_ms for one to
 * answer.  Takes no pool connection: /readyz never waits behind calls.
 */
int nw_enclave_pool_wait_ready(struct nw_enclave_pool *pool, int wait_ms);

/* Counters for /metrics. */
struct nw_enclave_pool_stats {
    unsigned long long calls, failures, failovers;
    unsigned long long busy_retries;             /* calls moved to another enclave after BUSY */
    unsigned long long wait_timeouts;            /* calls that found no free connection within wait_ms */
    unsigned long long probes, probe_failures;   /* background health checks */
    size_t endpoints, endpoints_up;              /* configured; reachable at the last call or probe */
};
void nw_enclave_pool_stats(struct nw_enclave_pool *pool, struct nw_enclave_pool_stats *out);

/* Per endpoint, as its last health probe reported it: the enclave's KMS
 * calls and data-key cache counters (counters restart with the enclave). */
struct nw_enclave_endpoint_stats {
    const char *spec; /* the endpoint; valid while the pool lives */
    int up, reported; /* reported: a health reply has been read */
    unsigned long long kms_generate_data_key, kms_decrypt, kms_failures;
    unsigned long long cache_hits, cache_misses, cache_entries;
};
size_t nw_enclave_pool_endpoints(struct nw_enclave_pool *pool, struct nw_enclave_endpoint_stats *out, size_t max);

#endif
