/*
 * nitrowallet-host - the parent-instance daemon: the HTTPS API (host.h) over
 * storage (storage.h: SQLite by default, or DynamoDB with --storage
 * dynamodb; docs/storage.md), bearer-token auth (auth.h) and a pool of
 * connections to nitrowallet-enclave (enclave_pool.h, docs/protocol.md),
 * and the KMS proxy that is the enclave's only way to KMS (kms_proxy.h,
 * docs/operations.md).
 *
 * Trust boundary: untrusted with keys; holds the AWS credentials (the
 * default provider chain, credentials.h: environment, web identity,
 * container, IMDSv2) that it forwards to the enclave and signs DynamoDB
 * requests with, never logged.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_cmd.h"
#include "nitrowallet/auth.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/host.h"
#include "nitrowallet/kms_proxy.h"
#include "nitrowallet/proto.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/transport.h"
#include "nitrowallet/storage.h"

#define MAX_PATH 4096
#define MAX_PROXIES 8
#define MAX_ALLOW 32

static void usage(void)
{
    fprintf(stderr,
            "usage: nitrowallet-host [--listen IP:PORT] --enclave unix:/path|vsock:CID:PORT [--enclave ...]\n"
            "         [--db PATH] [--tokens FILE] [--kms-key-id ID] [--connections N] [--probe-interval MS]\n"
            "         [--tls-cert FILE --tls-key FILE | --insecure-http]\n"
            "         [--storage sqlite|dynamodb] [--dynamodb-region REGION] [--dynamodb-endpoint URL]\n"
            "         [--table-prefix PREFIX] [--create-tables]\n"
            "         [--kms-proxy LISTEN[=HOST:PORT] ...] [--proxy-allow HOST:PORT ...] [--kms-region R]\n"
            "         [--proxy-max-connections N] [--proxy-idle-timeout S] [--proxy-connect-timeout S]\n"
            "         [--http-threads N] [--http-workers N] [--max-connections N] [--max-connections-per-ip N]\n"
            "         [--request-timeout S] [--keepalive-timeout S] [--enclave-wait MS]\n"
            "         [--metrics-listen IP:PORT|off]\n"
            "defaults: --listen %s, --db $NITROWALLET_HOME/host.db, --tokens $NITROWALLET_HOME/tokens.json,\n"
            "          --tls-cert/--tls-key $NITROWALLET_HOME/host-cert.pem / host-key.pem,\n"
            "          --storage sqlite, --dynamodb-region $AWS_REGION (else $AWS_DEFAULT_REGION),\n"
            "          --dynamodb-endpoint https://dynamodb.REGION.amazonaws.com, --table-prefix \"\"\n"
            "          --kms-proxy LISTEN is vsock:PORT (e.g. vsock:8000), unix:/path or tcp:IP:PORT; the remote\n"
            "          defaults to kms.REGION.amazonaws.com:443 and must be on the allowlist (--proxy-allow,\n"
            "          default: only kms.REGION.amazonaws.com:443); --kms-region $AWS_REGION (else\n"
            "          $AWS_DEFAULT_REGION); --proxy-max-connections %d, --proxy-idle-timeout %d,\n"
            "          --proxy-connect-timeout %d (seconds)\n"
            "          --http-threads %d (event threads), --http-workers %d (threads that route requests),\n"
            "          --max-connections %d, --max-connections-per-ip %d,\n"
            "          --request-timeout %d (TLS handshake + headers + body), --keepalive-timeout %d (seconds),\n"
            "          --enclave-wait %d (ms a request waits for a free enclave connection, then 503),\n"
            "          --metrics-listen %s (plain HTTP: /metrics, /healthz, /readyz with details)\n"
            "       nitrowallet-host token add|remove ...   manage the tokens file (see `token` alone)\n",
            NW_HOST_DEFAULT_LISTEN, NW_KMS_PROXY_DEFAULT_MAX_CONNECTIONS, NW_KMS_PROXY_DEFAULT_IDLE_MS / 1000,
            NW_KMS_PROXY_DEFAULT_CONNECT_MS / 1000, NW_HOST_DEFAULT_THREADS, NW_HOST_DEFAULT_WORKERS,
            NW_HOST_DEFAULT_MAX_CONNECTIONS,
            NW_HOST_DEFAULT_MAX_PER_IP, NW_HOST_DEFAULT_REQUEST_TIMEOUT_S, NW_HOST_DEFAULT_KEEPALIVE_S,
            NW_POOL_DEFAULT_WAIT_MS, NW_HOST_DEFAULT_METRICS_LISTEN);
}

struct opts {
    struct nw_host_config host;
    const char *enclaves[NW_POOL_MAX_ENDPOINTS];
    size_t n_enclaves;
    const char *db, *tokens;
    unsigned connections, probe_ms, enclave_wait_ms;
    int probe_set;
    int dynamodb;
    struct nw_dynamodb_config ddb;
    char db_buf[MAX_PATH], tokens_buf[MAX_PATH], cert_buf[MAX_PATH], key_buf[MAX_PATH];
    const char *proxy_args[MAX_PROXIES], *allow[MAX_ALLOW], *kms_region;
    size_t n_proxies, n_allow;
    unsigned proxy_max, proxy_idle_s, proxy_connect_s;
};

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    if (*s == '\0' || strlen(s) > 9) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > max) return 0;
    *out = (unsigned)v;
    return 1;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--insecure-http") == 0) { o->host.insecure_http = 1; continue; }
        if (strcmp(a, "--create-tables") == 0) { o->ddb.create_tables = 1; continue; }
        if (v == NULL) return 0;
        i++;
        if (strcmp(a, "--listen") == 0) o->host.listen = v;
        else if (strcmp(a, "--metrics-listen") == 0) o->host.metrics_listen = strcmp(v, "off") == 0 ? NULL : v;
        else if (strcmp(a, "--enclave") == 0) {
            if (o->n_enclaves == NW_POOL_MAX_ENDPOINTS) return 0;
            o->enclaves[o->n_enclaves++] = v;
        } else if (strcmp(a, "--db") == 0) o->db = v;
        else if (strcmp(a, "--tokens") == 0) o->tokens = v;
        else if (strcmp(a, "--kms-key-id") == 0) o->host.kms_key_id = v;
        else if (strcmp(a, "--tls-cert") == 0) o->host.tls_cert = v;
        else if (strcmp(a, "--tls-key") == 0) o->host.tls_key = v;
        else if (strcmp(a, "--storage") == 0) {
            if (strcmp(v, "sqlite") != 0 && strcmp(v, "dynamodb") != 0) return 0;
            o->dynamodb = strcmp(v, "dynamodb") == 0;
        } else if (strcmp(a, "--dynamodb-region") == 0) o->ddb.region = v;
        else if (strcmp(a, "--dynamodb-endpoint") == 0) o->ddb.endpoint = v;
        else if (strcmp(a, "--table-prefix") == 0) o->ddb.table_prefix = v;
        else if (strcmp(a, "--kms-proxy") == 0) {
            if (o->n_proxies == MAX_PROXIES) return 0;
            o->proxy_args[o->n_proxies++] = v;
        } else if (strcmp(a, "--proxy-allow") == 0) {
            if (o->n_allow == MAX_ALLOW) return 0;
            o->allow[o->n_allow++] = v;
        } else if (strcmp(a, "--kms-region") == 0) o->kms_region = v;
        else if (strcmp(a, "--proxy-max-connections") == 0) { if (!parse_uint(v, NW_KMS_PROXY_LIMIT_CONNECTIONS, &o->proxy_max) || o->proxy_max == 0) return 0; }
        else if (strcmp(a, "--proxy-idle-timeout") == 0) { if (!parse_uint(v, 86400, &o->proxy_idle_s) || o->proxy_idle_s == 0) return 0; }
        else if (strcmp(a, "--proxy-connect-timeout") == 0) { if (!parse_uint(v, 600, &o->proxy_connect_s) || o->proxy_connect_s == 0) return 0; }
        else if (strcmp(a, "--http-threads") == 0) { if (!parse_uint(v, NW_HOST_MAX_THREADS, &o->host.threads) || o->host.threads == 0) return 0; }
        else if (strcmp(a, "--http-workers") == 0) { if (!parse_uint(v, NW_HOST_MAX_WORKERS, &o->host.workers) || o->host.workers == 0) return 0; }
        else if (strcmp(a, "--max-connections") == 0) { if (!parse_uint(v, NW_HOST_MAX_CONNECTIONS, &o->host.max_connections) || o->host.max_connections == 0) return 0; }
        else if (strcmp(a, "--max-connections-per-ip") == 0) { if (!parse_uint(v, NW_HOST_MAX_CONNECTIONS, &o->host.max_per_ip) || o->host.max_per_ip == 0) return 0; }
        else if (strcmp(a, "--request-timeout") == 0) { if (!parse_uint(v, 3600, &o->host.request_timeout_s) || o->host.request_timeout_s == 0) return 0; }
        else if (strcmp(a, "--keepalive-timeout") == 0) { if (!parse_uint(v, 3600, &o->host.keepalive_s) || o->host.keepalive_s == 0) return 0; }
        else if (strcmp(a, "--enclave-wait") == 0) { if (!parse_uint(v, 600000, &o->enclave_wait_ms) || o->enclave_wait_ms == 0) return 0; }
        else if (strcmp(a, "--connections") == 0) { if (!parse_uint(v, NW_POOL_MAX_CONNECTIONS, &o->connections)) return 0; }
        else if (strcmp(a, "--probe-interval") == 0) { if (!parse_uint(v, 3600000, &o->probe_ms)) return 0; o->probe_set = 1; }
        else return 0;
    }
    return o->n_enclaves > 0;
}

/* Fill unset paths from $NITROWALLET_HOME (default ./.nitrowallet). */
static int defaults(struct opts *o)
{
    const char *home = getenv("NITROWALLET_HOME");
    if (home == NULL || home[0] == '\0') home = ".nitrowallet";
    if (strlen(home) > MAX_PATH - 32) return 0;
    if (o->ddb.region == NULL) o->ddb.region = getenv("AWS_REGION");
    if (o->ddb.region == NULL || o->ddb.region[0] == '\0') o->ddb.region = getenv("AWS_DEFAULT_REGION");
    if (o->kms_region == NULL) o->kms_region = getenv("AWS_REGION");
    if (o->kms_region == NULL || o->kms_region[0] == '\0') o->kms_region = getenv("AWS_DEFAULT_REGION");
    if (o->db == NULL) { snprintf(o->db_buf, sizeof(o->db_buf), "%s/host.db", home); o->db = o->db_buf; }
    if (o->tokens == NULL) { snprintf(o->tokens_buf, sizeof(o->tokens_buf), "%s/tokens.json", home); o->tokens = o->tokens_buf; }
    if (!o->host.insecure_http && o->host.tls_cert == NULL) {
        snprintf(o->cert_buf, sizeof(o->cert_buf), "%s/host-cert.pem", home);
        o->host.tls_cert = o->cert_buf;
    }
    if (!o->host.insecure_http && o->host.tls_key == NULL) {
        snprintf(o->key_buf, sizeof(o->key_buf), "%s/host-key.pem", home);
        o->host.tls_key = o->key_buf;
    }
    return 1;
}

/* The region's KMS endpoint as HOST:PORT (China regions: amazonaws.com.cn). */
static enum nw_err kms_hostport(char *out, size_t cap, const char *region, struct nw_error *err)
{
    int n;
    if (region == NULL || region[0] == '\0')
        return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: the default remote and allowlist need a region "
                                                "(--kms-region or $AWS_REGION)");
    n = snprintf(out, cap, "kms.%s.amazonaws.com%s:443", region, strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    if (n < 0 || (size_t)n >= cap) return nw_fail(err, NW_ERR_BAD_REQUEST, "kms-proxy: region name too long");
    return NW_OK;
}

/* Start one proxy per --kms-proxy; each remote must be on the allowlist. */
static enum nw_err start_proxies(struct opts *o, struct nw_kms_proxy **proxies, struct nw_error *err)
{
    char listen[NW_TRANSPORT_SPEC_MAX], remote[NW_KMS_PROXY_HOSTPORT_MAX + 1], kms[NW_KMS_PROXY_HOSTPORT_MAX + 1];
    const char *default_allow[1] = {kms};
    enum nw_err rc;

    for (size_t i = 0; i < o->n_proxies; i++) {
        rc = nw_kms_proxy_split_arg(listen, sizeof listen, remote, sizeof remote, o->proxy_args[i], err);
        if (rc == NW_OK && (remote[0] == '\0' || o->n_allow == 0))
            rc = kms_hostport(kms, sizeof kms, o->kms_region, err);
        if (rc != NW_OK) return rc;
        struct nw_kms_proxy_config pc = {
            .listen = listen, .remote = remote[0] ? remote : kms,
            .allow = o->n_allow ? o->allow : default_allow, .n_allow = o->n_allow ? o->n_allow : 1,
            .max_connections = o->proxy_max, .idle_timeout_ms = o->proxy_idle_s * 1000,
            .connect_timeout_ms = o->proxy_connect_s * 1000};
        if ((rc = nw_kms_proxy_start(&proxies[i], &pc, err)) != NW_OK) return rc;
        unsigned port = nw_kms_proxy_port(proxies[i]);
        printf("nitrowallet-host: KMS proxy on %s forwarding to %s", listen, pc.remote);
        printf(port && strncmp(listen, "tcp:", 4) == 0 ? " (port %u)\n" : "\n", port);
    }
    return NW_OK;
}

static int wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return sigwait(&set, &sig) == 0 ? sig : -1;
}

/* The enclave seals only under the KMS keys its image names (health lists
 * them): a default --kms-key-id outside them would make every account
 * creation fail, so say so at start.  An enclave not up yet is not an error
 * (it still refuses other keys itself).  0 when the key is refused. */
static int check_kms_key(struct nw_enclave_pool *pool, const char *key)
{
    struct nw_error e = {0};
    cJSON *params = cJSON_CreateObject(), *res = NULL;
    int ok = 1;

    if (key == NULL || params == NULL) {
        cJSON_Delete(params);
        return 1;
    }
    if (nw_enclave_pool_call(pool, NW_OP_HEALTH, params, 0, &res, &e) != NW_OK) {
        fprintf(stderr, "nitrowallet-host: --kms-key-id not checked yet (enclave: %s); the enclave refuses any key "
                        "its --kms-key-arn does not name\n", e.msg);
    } else {
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(res, "kms_keys"), *k;
        int found = 0;
        cJSON_ArrayForEach(k, keys) found |= cJSON_IsString(k) && strcmp(k->valuestring, key) == 0;
        if (!found) {
            fprintf(stderr, "nitrowallet-host: --kms-key-id %s is not one of the enclave's KMS keys (its "
                            "--kms-key-arn, %d listed): every account creation would be refused\n",
                    key, cJSON_GetArraySize(keys));
            ok = 0;
        } else {
            fprintf(stderr, "nitrowallet-host: --kms-key-id is one of the enclave's KMS keys\n");
        }
    }
    cJSON_Delete(params);
    cJSON_Delete(res);
    return ok;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct nw_error err = {0};
    struct nw_storage *st = NULL;
    struct nw_auth *auth = NULL;
    struct nw_enclave_pool *pool = NULL;
    struct nw_host *host = NULL;
    struct nw_creds_chain *creds = NULL;
    struct nw_credentials_provider provider;
    struct nw_kms_proxy *proxies[MAX_PROXIES] = {0};
    int status = 1;
    sigset_t set;
    memset(&o, 0, sizeof(o));
    /* The host holds IAM credentials, the TLS key and API tokens: no core
     * dumps and not dumpable (no ptrace by same-uid processes), as the enclave. */
    if (nw_process_harden() != NW_OK) {
        fprintf(stderr, "nitrowallet-host: cannot harden the process (core dumps, dumpable)\n");
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "token") == 0)
        return nw_host_token_cmd(argc - 1, argv + 1);
    o.host.metrics_listen = NW_HOST_DEFAULT_METRICS_LISTEN; /* "--metrics-listen off" clears it */
    if (!parse_args(&o, argc, argv) || !defaults(&o)) {
        usage();
        return 2;
    }
    /* block the stop signals in every thread; main waits for them */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct nw_enclave_pool_config pc = {.endpoints = o.enclaves, .n_endpoints = o.n_enclaves,
                                        .connections = o.connections, .credentials = &provider,
                                        .wait_ms = (int)o.enclave_wait_ms,
                                        .probe_interval_ms = !o.probe_set ? 0 : o.probe_ms == 0 ? -1 : (int)o.probe_ms};
    if (nw_creds_chain_from_env(&creds, NULL, &err) != NW_OK) goto fail;
    nw_creds_chain_provider(&provider, creds);
    o.ddb.credentials = &provider; /* DynamoDB requests are signed with the same chain */
    if (nw_auth_load_file(&auth, o.tokens, &err) != NW_OK) goto fail;
    if (o.dynamodb ? nw_storage_dynamodb_open(&st, &o.ddb, &err) != NW_OK
                   : nw_storage_sqlite_open(&st, o.db, &err) != NW_OK)
        goto fail;
    if (nw_enclave_pool_open(&pool, &pc, &err) != NW_OK) goto fail;
    if (start_proxies(&o, proxies, &err) != NW_OK) goto fail;
    o.host.kms_proxies = proxies;
    o.host.n_kms_proxies = o.n_proxies;
    o.host.storage = st;
    o.host.auth = auth;
    o.host.pool = pool;
    if (!check_kms_key(pool, o.host.kms_key_id)) {
        status = 2;
        goto done;
    }
    if (nw_host_start(&host, &o.host, &err) != NW_OK) goto fail;
    const char *listen = o.host.listen ? o.host.listen : NW_HOST_DEFAULT_LISTEN;
    fprintf(stderr, "nitrowallet-host: AWS credentials from %s\n", nw_creds_chain_source(creds));
    printf("nitrowallet-host: listening on %s://%.*s:%u\n", o.host.insecure_http ? "http" : "https",
           (int)(strrchr(listen, ':') - listen), listen, nw_host_port(host));
    if (o.host.metrics_listen != NULL)
        printf("nitrowallet-host: metrics on http://%.*s:%u\n",
               (int)(strrchr(o.host.metrics_listen, ':') - o.host.metrics_listen), o.host.metrics_listen,
               nw_host_metrics_port(host));
    fflush(stdout);
    wait_for_signal();
    nw_host_stop(host);
    host = NULL;
    fprintf(stderr, "nitrowallet-host: stopped\n");
    status = 0;
    goto done;
fail:
    fprintf(stderr, "nitrowallet-host: %s: %s\n", nw_err_name(err.code), err.msg);
done:
    nw_host_stop(host);
    for (size_t i = 0; i < o.n_proxies; i++) nw_kms_proxy_stop(proxies[i]);
    nw_enclave_pool_close(pool);
    nw_storage_close(st);
    nw_auth_free(auth);
    nw_creds_chain_free(creds);
    return status;
}
