/*
 * nitrowallet-host - the parent-instance daemon: the HTTPS API (host.h) over
 * storage (storage.h: SQLite by default, or DynamoDB with --storage
 * dynamodb; docs/storage.md), bearer-token auth (auth.h) and a pool of
 * connections to nitrowallet-enclave (enclave_pool.h, docs/protocol.md).
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
#include "nitrowallet/storage.h"

#define MAX_PATH 4096

static void usage(void)
{
    fprintf(stderr,
            "usage: nitrowallet-host [--listen IP:PORT] --enclave unix:/path|vsock:CID:PORT [--enclave ...]\n"
            "         [--db PATH] [--tokens FILE] [--kms-key-id ID] [--connections N] [--probe-interval MS]\n"
            "         [--tls-cert FILE --tls-key FILE | --insecure-http]\n"
            "         [--storage sqlite|dynamodb] [--dynamodb-region REGION] [--dynamodb-endpoint URL]\n"
            "         [--table-prefix PREFIX] [--create-tables]\n"
            "defaults: --listen %s, --db $NITROWALLET_HOME/host.db, --tokens $NITROWALLET_HOME/tokens.json,\n"
            "          --tls-cert/--tls-key $NITROWALLET_HOME/host-cert.pem / host-key.pem,\n"
            "          --storage sqlite, --dynamodb-region $AWS_REGION (else $AWS_DEFAULT_REGION),\n"
            "          --dynamodb-endpoint https://dynamodb.REGION.amazonaws.com, --table-prefix \"\"\n"
            "       nitrowallet-host token add|remove ...   manage the tokens file (see `token` alone)\n",
            NW_HOST_DEFAULT_LISTEN);
}

struct opts {
    struct nw_host_config host;
    const char *enclaves[NW_POOL_MAX_ENDPOINTS];
    size_t n_enclaves;
    const char *db, *tokens;
    unsigned connections, probe_ms;
    int probe_set;
    int dynamodb;
    struct nw_dynamodb_config ddb;
    char db_buf[MAX_PATH], tokens_buf[MAX_PATH], cert_buf[MAX_PATH], key_buf[MAX_PATH];
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

static int wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return sigwait(&set, &sig) == 0 ? sig : -1;
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
    int status = 1;
    sigset_t set;
    memset(&o, 0, sizeof(o));
    if (argc >= 2 && strcmp(argv[1], "token") == 0)
        return nw_host_token_cmd(argc - 1, argv + 1);
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
                                        .probe_interval_ms = !o.probe_set ? 0 : o.probe_ms == 0 ? -1 : (int)o.probe_ms};
    if (nw_creds_chain_from_env(&creds, NULL, &err) != NW_OK) goto fail;
    nw_creds_chain_provider(&provider, creds);
    o.ddb.credentials = &provider; /* DynamoDB requests are signed with the same chain */
    if (nw_auth_load_file(&auth, o.tokens, &err) != NW_OK) goto fail;
    if (o.dynamodb ? nw_storage_dynamodb_open(&st, &o.ddb, &err) != NW_OK
                   : nw_storage_sqlite_open(&st, o.db, &err) != NW_OK)
        goto fail;
    if (nw_enclave_pool_open(&pool, &pc, &err) != NW_OK) goto fail;
    o.host.storage = st;
    o.host.auth = auth;
    o.host.pool = pool;
    if (nw_host_start(&host, &o.host, &err) != NW_OK) goto fail;
    const char *listen = o.host.listen ? o.host.listen : NW_HOST_DEFAULT_LISTEN;
    fprintf(stderr, "nitrowallet-host: AWS credentials from %s\n", nw_creds_chain_source(creds));
    printf("nitrowallet-host: listening on %s://%.*s:%u\n", o.host.insecure_http ? "http" : "https",
           (int)(strrchr(listen, ':') - listen), listen, nw_host_port(host));
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
    nw_enclave_pool_close(pool);
    nw_storage_close(st);
    nw_auth_free(auth);
    nw_creds_chain_free(creds);
    return status;
}
