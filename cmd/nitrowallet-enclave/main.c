/*
 * nitrowallet-enclave - the signing daemon that runs inside the Nitro
 * Enclave (design §4-§6, docs/protocol.md).  A thin layer over
 * libnitrowallet-enclave: flags, the NSM (the real /dev/nsm, or the
 * emulated one only with --dev), process hardening, signals (SIGTERM and
 * SIGINT stop it cleanly) and one line on standard output once it accepts
 * connections:
 *     nitrowallet-enclave: listening on unix:/path (NSM: emulated, DEVELOPMENT)
 *
 * Trust boundary: this process holds private keys and data keys; its
 * flags come from the enclave image (or, locally, the developer).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nitrowallet/enclave.h"
#include "nitrowallet/key.h"
#include "nitrowallet/nsm.h"
#include "nitrowallet/secret.h"

/* Inside a Nitro Enclave the only way out is vsock to the parent (CID 3),
 * where nitrowallet-host --kms-proxy vsock:8000 forwards to KMS. */
#define DEFAULT_KMS_CONNECT "vsock:3:8000"
#define DEFAULT_NSM_DEVICE "/dev/nsm"

static volatile sig_atomic_t g_stop;
static int g_emulated;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: nitrowallet-enclave [--listen unix:/path|vsock:PORT] [--nsm device|emulated]\n"
            "         [--nsm-device PATH] [--nsm-state DIR] [--dev] [--kms-region R] [--kms-endpoint HOST]\n"
            "         [--kms-connect tcp:H:P|vsock:CID:PORT|unix:/path] [--kms-ca FILE]\n"
            "         --kms-key-arn ARN [--kms-key-arn ARN]... [--workers N] [--queue N] [--nsm-init]\n"
            "         [--data-key-cache on|off] [--data-key-cache-max-age S] [--data-key-cache-max-uses N]\n"
            "         [--data-key-cache-max-entries N]\n"
            "  --kms-key-arn  a KMS key the enclave seals under (full key ARN in --kms-region; aliases and\n"
            "               bare ids refused); repeat for up to %d keys.  Part of the image: covered by PCR0\n"
            "  --listen     default vsock:%d\n"
            "  --nsm        default device (--nsm-device, default %s); emulated requires --dev and --nsm-state\n"
            "  --kms-connect  default %s (the parent's KMS proxy); --kms-endpoint (the TLS name)\n"
            "               --kms-ca: with --dev only, the CA to trust for KMS instead of the Amazon Trust\n"
            "               Services roots compiled in (the system store is never used)\n"
            "               default kms.REGION.amazonaws.com; --kms-region default $AWS_REGION, else us-east-1\n"
            "  --workers    default: online CPUs; --queue default %d\n"
            "  --data-key-cache  KMS-released data keys kept in locked memory (default on: %us / %llu uses /\n"
            "               %u entries); off = every signature asks KMS (docs/performance.md)\n"
            "  --nsm-init   with --dev --nsm emulated: create the development chain in --nsm-state\n"
            "               (kept if present), print the root certificate's path and exit\n",
            NW_ENCLAVE_MAX_KMS_KEYS, NW_ENCLAVE_DEFAULT_PORT, DEFAULT_NSM_DEVICE, DEFAULT_KMS_CONNECT, NW_ENCLAVE_DEFAULT_QUEUE, NW_DKCACHE_DEFAULT_MAX_AGE_S,
            NW_DKCACHE_DEFAULT_MAX_USES, NW_DKCACHE_DEFAULT_MAX_ENTRIES);
}

static int parse_count(unsigned *out, const char *s, unsigned max)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v < 1 || v > max)
        return 0;
    *out = (unsigned)v;
    return 1;
}

static void ready(const char *spec)
{
    printf("nitrowallet-enclave: listening on %s (NSM: %s)\n", spec, g_emulated ? "emulated, DEVELOPMENT" : "device");
    fflush(stdout);
}

struct opts {
    struct nw_enclave_config cfg;
    const char *nsm_kind, *nsm_state, *nsm_device;
    int dev, nsm_init;
};

static int parse_args(struct opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (strcmp(a, "--dev") == 0) {
            o->dev = 1;
            continue;
        }
        if (strcmp(a, "--nsm-init") == 0) {
            o->nsm_init = 1;
            continue;
        }
        if (v == NULL)
            return 0;
        i++;
        if (strcmp(a, "--listen") == 0) o->cfg.listen = v;
        else if (strcmp(a, "--nsm") == 0) o->nsm_kind = v;
        else if (strcmp(a, "--nsm-state") == 0) o->nsm_state = v;
        else if (strcmp(a, "--nsm-device") == 0) o->nsm_device = v;
        else if (strcmp(a, "--kms-region") == 0) o->cfg.kms.region = v;
        else if (strcmp(a, "--kms-endpoint") == 0) o->cfg.kms.endpoint = v;
        else if (strcmp(a, "--kms-connect") == 0) o->cfg.kms.connect = v;
        else if (strcmp(a, "--kms-ca") == 0) o->cfg.kms.ca_file = v;
        else if (strcmp(a, "--kms-key-arn") == 0) {
            if (o->cfg.keys.n == NW_ENCLAVE_MAX_KMS_KEYS) {
                fprintf(stderr, "nitrowallet-enclave: at most %d --kms-key-arn\n", NW_ENCLAVE_MAX_KMS_KEYS);
                return 0;
            }
            o->cfg.keys.arn[o->cfg.keys.n++] = v;
        }
        else if (strcmp(a, "--workers") == 0) ok = parse_count(&o->cfg.workers, v, NW_ENCLAVE_MAX_WORKERS);
        else if (strcmp(a, "--queue") == 0) ok = parse_count(&o->cfg.queue, v, NW_ENCLAVE_MAX_QUEUE);
        else if (strcmp(a, "--data-key-cache") == 0) {
            ok = strcmp(v, "on") == 0 || strcmp(v, "off") == 0;
            o->cfg.cache.enabled = strcmp(v, "on") == 0;
        } else if (strcmp(a, "--data-key-cache-max-age") == 0) ok = parse_count(&o->cfg.cache.max_age_s, v, 86400);
        else if (strcmp(a, "--data-key-cache-max-entries") == 0)
            ok = parse_count(&o->cfg.cache.max_entries, v, NW_DKCACHE_LIMIT_ENTRIES);
        else if (strcmp(a, "--data-key-cache-max-uses") == 0) {
            unsigned n = 0;
            ok = parse_count(&n, v, 1000000000u);
            o->cfg.cache.max_uses = n;
        }
        else ok = 0;
        if (!ok)
            return 0;
    }
    return 1;
}

static int open_nsm(struct opts *o, struct nw_error *err)
{
    if (strcmp(o->nsm_kind, "device") == 0)
        return nw_nsm_open_device(&o->cfg.nsm, o->nsm_device, err) == NW_OK;
    if (o->nsm_device != NULL) {
        fprintf(stderr, "nitrowallet-enclave: --nsm-device is for --nsm device\n");
        return 0;
    }
    if (strcmp(o->nsm_kind, "emulated") != 0) {
        fprintf(stderr, "nitrowallet-enclave: --nsm must be device or emulated\n");
        return 0;
    }
    if (!o->dev) {
        fprintf(stderr, "nitrowallet-enclave: refusing the emulated NSM without --dev: its attestation is "
                        "signed by a local development root and proves nothing about the code running\n");
        return 0;
    }
    if (o->nsm_state == NULL) {
        fprintf(stderr, "nitrowallet-enclave: --nsm emulated needs --nsm-state DIR\n");
        return 0;
    }
    g_emulated = 1;
    return nw_nsm_open_emulated(&o->cfg.nsm, o->nsm_state, err) == NW_OK;
}

int main(int argc, char **argv)
{
    struct opts o = {.nsm_kind = "device"};
    struct nw_error err = {0};
    struct sigaction sa;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int status = 1;

    o.cfg.listen = "vsock:5000";
    o.cfg.queue = NW_ENCLAVE_DEFAULT_QUEUE;
    o.cfg.cache.enabled = 1;
    o.cfg.workers = cpus < 1 ? 1 : cpus > NW_ENCLAVE_MAX_WORKERS ? NW_ENCLAVE_MAX_WORKERS : (unsigned)cpus;
    o.cfg.kms.region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1";
    o.cfg.kms.connect = DEFAULT_KMS_CONNECT;
    if (!parse_args(&o, argc, argv)) {
        usage();
        return 2;
    }
    if (o.cfg.kms.ca_file != NULL && !o.dev) {
        fprintf(stderr, "nitrowallet-enclave: --kms-ca is for --dev: outside development the enclave trusts "
                        "only the Amazon Trust Services roots compiled into it\n");
        return 2;
    }
    if (o.nsm_init && strcmp(o.nsm_kind, "emulated") != 0) {
        fprintf(stderr, "nitrowallet-enclave: --nsm-init is for the emulated NSM (--dev --nsm emulated)\n");
        return 2;
    }
    if (nw_process_harden() != NW_OK || nw_key_init() != NW_OK) {
        fprintf(stderr, "nitrowallet-enclave: cannot harden the process or set up the signing context\n");
        return 1;
    }
    if (!open_nsm(&o, &err)) {
        if (err.code != NW_OK)
            fprintf(stderr, "nitrowallet-enclave: NSM: %s: %s\n", nw_err_name(err.code), err.msg);
        return 1;
    }
    if (o.nsm_init) {
        /* the chain now exists (open created it); nitrowallet-kms trusts its root */
        printf("%s/%s\n", o.nsm_state, NW_NSM_DEV_ROOT_FILE);
        nw_nsm_close(o.cfg.nsm);
        return 0;
    }
    if (o.cfg.keys.n == 0) {
        fprintf(stderr, "nitrowallet-enclave: --kms-key-arn is required: the enclave seals only under the KMS keys "
                        "its image names\n");
        nw_nsm_close(o.cfg.nsm);
        return 2;
    }
    for (size_t i = 0; i < o.cfg.keys.n; i++)
        if (nw_enclave_key_arn_check(o.cfg.keys.arn[i], o.cfg.kms.region, &err) != NW_OK) {
            fprintf(stderr, "nitrowallet-enclave: %s\n", err.msg);
            nw_nsm_close(o.cfg.nsm);
            return 2;
        }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (nw_enclave_serve(&o.cfg, &g_stop, ready, &err) != NW_OK)
        fprintf(stderr, "nitrowallet-enclave: %s: %s\n", nw_err_name(err.code), err.msg);
    else
        status = 0;
    if (strncmp(o.cfg.listen, "unix:", 5) == 0 && status == 0)
        unlink(o.cfg.listen + 5);
    nw_nsm_close(o.cfg.nsm);
    fprintf(stderr, "nitrowallet-enclave: stopped\n");
    return status;
}
