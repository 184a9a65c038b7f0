/*
 * nitrowallet-kms - a KMS for development and tests that speaks AWS KMS's
 * wire protocol (AWS JSON 1.1 over HTTPS, SigV4) on loopback.  See
 * docs/kms.md, section "nitrowallet-kms".
 *
 * A thin layer over libnitrowallet-kms: flags, the state directory's
 * default, signals (SIGTERM and SIGINT stop it cleanly, closing every
 * connection), and one line on standard output once it accepts
 * connections:
 *     nitrowallet-kms: listening on https://127.0.0.1:PORT (state DIR)
 *
 * Trust boundary: holds the local master keys; never deploy it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/kms_server.h"
#include "nitrowallet/nsm.h"
#include "nitrowallet/secret.h"

#define MAX_ROOTS 16

static struct nw_kms_server *g_server;

static void on_signal(int sig)
{
    (void)sig;
    if (g_server != NULL)
        nw_kms_server_stop(g_server);
}

static int usage(FILE *f)
{
    fputs("usage: nitrowallet-kms [options]\n"
          "  --listen ADDR            127.0.0.1:PORT, [::1]:PORT or unix:/path (default 127.0.0.1:4000)\n"
          "  --port N                 same as --listen 127.0.0.1:N (0 = any free port)\n"
          "  --state DIR              keys, CA and credentials (default $NITROWALLET_HOME/kms,\n"
          "                           else ./.nitrowallet/kms)\n"
          "  --region R               region of ARNs and SigV4 scope (default us-east-1)\n"
          "  --account ID             12-digit account of ARNs (default 111122223333)\n"
          "  --credentials FILE       JSON list of {AccessKeyId, SecretAccessKey[, SessionToken][, PrincipalArn]}\n"
          "  --no-env-credentials     ignore AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY\n"
          "  --attestation-root PEM   trust this root for Recipient documents (repeatable; default: the\n"
          "                           emulated NSM's $NITROWALLET_HOME/nsm/" NW_NSM_DEV_ROOT_FILE ")\n"
          "  --trust-aws-root         also trust the AWS Nitro Enclaves root\n"
          "  --insecure-http          plain HTTP instead of TLS\n"
          "  --max-connections N      concurrent connections (default 64)\n",
          f);
    return f == stderr ? 2 : 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && *out <= max;
}

struct options {
    struct nw_kms_service_config cfg;
    struct nw_kms_listen listen;
    const char *roots[MAX_ROOTS];
    char listen_buf[64];
    char state_buf[4096];
    char dev_root_buf[4096];
};

/* Returns 0 to run, otherwise the exit status. */
static int parse_args(struct options *o, int argc, char **argv)
{
    unsigned long n;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout) + 1;
        if (strcmp(a, "--trust-aws-root") == 0) {
            o->cfg.trust_aws_root = 1;
            continue;
        }
        if (strcmp(a, "--insecure-http") == 0) {
            o->listen.insecure_http = 1;
            continue;
        }
        if (strcmp(a, "--no-env-credentials") == 0) {
            o->cfg.use_env_credentials = 0;
            continue;
        }
        if (v == NULL)
            return usage(stderr);
        i++;
        if (strcmp(a, "--listen") == 0)
            o->listen.address = v;
        else if (strcmp(a, "--port") == 0 && parse_uint(v, 65535, &n)) {
            snprintf(o->listen_buf, sizeof o->listen_buf, "127.0.0.1:%lu", n);
            o->listen.address = o->listen_buf;
        } else if (strcmp(a, "--state") == 0)
            o->cfg.state_dir = v;
        else if (strcmp(a, "--region") == 0)
            o->cfg.region = v;
        else if (strcmp(a, "--account") == 0)
            o->cfg.account_id = v;
        else if (strcmp(a, "--credentials") == 0)
            o->cfg.credentials_file = v;
        else if (strcmp(a, "--attestation-root") == 0 && o->cfg.n_attestation_roots < MAX_ROOTS)
            o->roots[o->cfg.n_attestation_roots++] = v;
        else if (strcmp(a, "--max-connections") == 0 && parse_uint(v, 4096, &n) && n > 0)
            o->listen.max_connections = (unsigned)n;
        else
            return usage(stderr);
    }
    return 0;
}

static void defaults(struct options *o)
{
    const char *home = getenv("NITROWALLET_HOME");

    if (home == NULL || *home == '\0')
        home = "./.nitrowallet";
    if (o->cfg.state_dir == NULL) {
        snprintf(o->state_buf, sizeof o->state_buf, "%s/kms", home);
        o->cfg.state_dir = o->state_buf;
    }
    snprintf(o->dev_root_buf, sizeof o->dev_root_buf, "%s/nsm/%s", home, NW_NSM_DEV_ROOT_FILE);
    o->cfg.dev_root_file = o->dev_root_buf;
    o->cfg.attestation_roots = o->roots;
    if (o->cfg.region == NULL)
        o->cfg.region = "us-east-1";
    if (o->listen.address == NULL)
        o->listen.address = "127.0.0.1:4000";
}

static int serve(struct options *o)
{
    struct nw_kms_service *svc = NULL;
    struct nw_kms_server *srv = NULL;
    struct nw_error err = {NW_OK, ""};
    struct sigaction sa;
    int status = 1;

    if (nw_kms_service_open(&svc, &o->cfg, &err) != NW_OK ||
        nw_kms_server_open(&srv, svc, &o->listen, o->cfg.state_dir, o->cfg.region, &err) != NW_OK) {
        fprintf(stderr, "nitrowallet-kms: refusing to start: %s\n", err.msg);
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_server = srv;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (nw_kms_service_credentials_path(svc)[0] != '\0')
        fprintf(stderr, "nitrowallet-kms: development credentials in %s\n", nw_kms_service_credentials_path(svc));
    printf("nitrowallet-kms: listening on %s (state %s)\n", nw_kms_server_url(srv), o->cfg.state_dir);
    fflush(stdout);
    if (nw_kms_server_run(srv, &err) != NW_OK) {
        fprintf(stderr, "nitrowallet-kms: %s\n", err.msg);
        goto out;
    }
    fprintf(stderr, "nitrowallet-kms: stopped\n");
    status = 0;
out:
    g_server = NULL;
    nw_kms_server_free(srv);
    nw_kms_service_free(svc);
    return status;
}

int main(int argc, char **argv)
{
    static struct options o;
    int rc;

    o.cfg.use_env_credentials = 1;
    if ((rc = parse_args(&o, argc, argv)) != 0)
        return rc == 1 ? 0 : rc; /* 1: --help was answered */
    defaults(&o);
    signal(SIGPIPE, SIG_IGN);
    if (nw_process_harden() != NW_OK) {
        fputs("nitrowallet-kms: cannot disable core dumps\n", stderr);
        return 1;
    }
    return serve(&o);
}
