/*
 * attestation.c - `nitrowallet attestation verify FILE [options]`.
 *
 * Verifies an AWS Nitro Enclaves attestation document (raw CBOR, or the
 * same in base64 text as KMS requests carry it) with the library's
 * nw_attestation_verify: chain to the AWS root (or the roots given with
 * --root) at the given time, the ES384 signature, then the operator's
 * expectations.  Prints the document's facts and "verified: yes", or the
 * reason of the refusal on stderr with exit status 1; usage errors exit 2.
 * Runs on an operator's machine; the document is untrusted input.
 * See docs/attestation.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nitrowallet/attestation.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "rfc3339.h"

#define ROOT_PEM_MAX (1u << 20)
#define DOC_FILE_MAX (2u * NW_ATT_MAX_DOC + 64) /* room for base64 text */
#define NONCE_MAX 1024
#define SHOW_MAX 32 /* bytes of a long field that are printed */
#define MAX_ROOT_FILES 8

struct opts {
    const char *file;
    const char *roots[MAX_ROOT_FILES];
    size_t n_roots;
    struct nw_attest_pcr pcrs[NW_ATT_NUM_PCRS];
    uint8_t nonce[NONCE_MAX];
    struct nw_attest_expect x;
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "nitrowallet: attestation: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    fputs("usage: nitrowallet attestation verify FILE [--root PEM]... [--at RFC3339] [--pcr N=HEX]...\n"
          "                                      [--nonce HEX] [--allow-debug] [--max-age SECONDS]\n",
          stderr);
    return 2;
}

int nw_cli_hex_arg(uint8_t *out, size_t cap, size_t *n, const char *s)
{
    char tmp[2 + 2 * NONCE_MAX + 1];
    size_t len = strlen(s);
    int ok;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2, len -= 2;
    if (len > 2 * cap || len == 0)
        return -1;
    memcpy(tmp, "0x", 2);
    memcpy(tmp + 2, s, len);
    ok = nw_hex_decode(out, cap, n, tmp, len + 2, NULL) == NW_OK;
    return ok ? 0 : -1;
}

/* Strict unsigned decimal (no sign, no spaces) of at most 15 digits. */
static int parse_uint(uint64_t *v, const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 15)
        return -1;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    }
    return 0;
}

int nw_cli_pcr_arg(struct nw_attest_expect *x, struct nw_attest_pcr *pcrs, const char *s)
{
    struct nw_attest_pcr *p = &pcrs[x->n_pcrs];
    const char *eq = strchr(s, '=');
    char idx[4];
    uint64_t i;

    if (x->n_pcrs >= NW_ATT_NUM_PCRS || eq == NULL || eq == s || (size_t)(eq - s) >= sizeof idx)
        return -1;
    memcpy(idx, s, (size_t)(eq - s));
    idx[eq - s] = '\0';
    if (parse_uint(&i, idx) || i >= NW_ATT_NUM_PCRS || nw_cli_hex_arg(p->value, sizeof p->value, &p->len, eq + 1))
        return -1;
    p->index = (unsigned)i;
    x->n_pcrs++;
    return 0;
}

/* One option with its value; returns 0, or the exit status of a usage error. */
static int parse_option(struct opts *o, const char *name, const char *val)
{
    uint64_t secs;

    if (strcmp(name, "--root") == 0) {
        if (o->n_roots >= MAX_ROOT_FILES)
            return usage_error("too many --root options", NULL);
        o->roots[o->n_roots++] = val;
    } else if (strcmp(name, "--at") == 0) {
        if (rfc3339_parse(&o->x.at_ms, val) != 0 || o->x.at_ms == 0)
            return usage_error("--at: not an RFC 3339 time after 1970 (e.g. 2024-09-07T14:37:39.545Z)", val);
    } else if (strcmp(name, "--pcr") == 0) {
        if (nw_cli_pcr_arg(&o->x, o->pcrs, val) != 0)
            return usage_error("--pcr: expected N=HEX with N < 32 and at most 64 bytes", val);
    } else if (strcmp(name, "--nonce") == 0) {
        if (nw_cli_hex_arg(o->nonce, sizeof o->nonce, &o->x.nonce_len, val) != 0)
            return usage_error("--nonce: expected hex of 1..1024 bytes", val);
        o->x.nonce = o->nonce;
    } else if (strcmp(name, "--max-age") == 0) {
        if (parse_uint(&secs, val) != 0 || secs == 0)
            return usage_error("--max-age: expected a positive number of seconds", val);
        o->x.max_age_ms = secs * 1000;
    } else {
        return usage_error("unknown option", name);
    }
    return 0;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    int i, rc;

    if (argc < 2 || strcmp(argv[1], "verify") != 0)
        return usage_error("expected \"verify\"", NULL);
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *eq;
        char name[16];

        if (strcmp(a, "--allow-debug") == 0) {
            o->x.allow_debug = 1;
        } else if (strncmp(a, "--", 2) == 0) {
            /* "--name value" or "--name=value" */
            if ((eq = strchr(a, '=')) != NULL && (size_t)(eq - a) < sizeof name) {
                memcpy(name, a, (size_t)(eq - a));
                name[eq - a] = '\0';
                rc = parse_option(o, name, eq + 1);
            } else if (eq == NULL && i + 1 < argc) {
                rc = parse_option(o, a, argv[++i]);
            } else {
                rc = usage_error("option needs a value", a);
            }
            if (rc != 0)
                return rc;
        } else if (o->file == NULL) {
            o->file = a;
        } else {
            return usage_error("more than one FILE", a);
        }
    }
    return o->file == NULL ? usage_error("no FILE given", NULL) : 0;
}

int nw_cli_load_roots(struct nw_attest_roots **roots, const char *const *files, size_t n_files)
{
    struct nw_error err = {0};
    size_t i, len;
    enum nw_err rc = NW_OK;

    if (n_files == 0)
        rc = nw_attest_roots_aws(roots, &err);
    for (i = 0; i < n_files && rc == NW_OK; i++) {
        uint8_t *pem = nw_cli_read_file(files[i], ROOT_PEM_MAX, &len);

        if (pem == NULL)
            return 2;
        rc = i == 0 ? nw_attest_roots_from_pem(roots, (const char *)pem, len, &err)
                    : nw_attest_roots_add_pem(*roots, (const char *)pem, len, &err);
        free(pem);
        if (rc != NW_OK)
            nw_error_prefix(&err, "%s", files[i]);
    }
    if (rc == NW_OK)
        return 0;
    fprintf(stderr, "nitrowallet: %s: %s\n", nw_err_name(rc), err.msg);
    return 2;
}

static int is_base64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

/* The document as bytes: a file of base64 text (as in KMS's Recipient
 * parameter, trailing newline allowed) is decoded; anything else is taken
 * as raw CBOR.  Decodes in place. */
static int maybe_base64(uint8_t *buf, size_t *len)
{
    size_t n = *len, i, out_len;
    uint8_t *tmp;
    int rc = 0;

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    for (i = 0; i < n; i++)
        if (!is_base64_char(buf[i]))
            return 0;
    if (n == 0 || (tmp = malloc(NW_BASE64_DECODED_MAX(n) + 1)) == NULL)
        return 0;
    if (nw_base64_decode(tmp, NW_BASE64_DECODED_MAX(n) + 1, &out_len, (const char *)buf, n, NULL) == NW_OK) {
        memcpy(buf, tmp, out_len);
        *len = out_len;
    } else {
        rc = -1;
    }
    free(tmp);
    return rc;
}

static void print_hex(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        printf("%02x", p[i]);
}

/* "label: null", or "label: N bytes HEX", HEX cut after `show` bytes. */
static void print_bytes(const char *label, const uint8_t *p, size_t n, size_t show)
{
    printf("%s:", label);
    if (p == NULL) {
        puts(" null");
        return;
    }
    printf(" %zu bytes", n);
    if (n > 0 && show > 0) {
        putchar(' ');
        print_hex(p, n < show ? n : show);
    }
    puts(n > show && show > 0 ? "..." : "");
}

static void print_facts(const struct nw_attestation *a, int64_t at_ms)
{
    char when[RFC3339_SIZE];
    unsigned i;

    printf("module_id: %s\n", a->module_id);
    if (rfc3339_format(when, a->timestamp_ms) == 0)
        printf("timestamp: %s (%llu ms)\n", when, (unsigned long long)a->timestamp_ms);
    else
        printf("timestamp: %llu ms\n", (unsigned long long)a->timestamp_ms);
    puts("digest: SHA384");
    for (i = 0; i < NW_ATT_NUM_PCRS; i++) {
        if (!(a->pcr_present & (1u << i)))
            continue;
        printf("pcr%u: ", i);
        print_hex(a->pcrs[i], a->pcr_len[i]);
        putchar('\n');
    }
    print_bytes("certificate", a->certificate, a->certificate_len, 0);
    print_bytes("public_key", a->public_key, a->public_key_len, SHOW_MAX);
    print_bytes("user_data", a->user_data, a->user_data_len, SHOW_MAX);
    print_bytes("nonce", a->nonce, a->nonce_len, SHOW_MAX);
    printf("debug_mode: %s\n", a->is_debug ? "yes (PCR0 all zero)" : "no");
    if (at_ms > 0 && rfc3339_format(when, (uint64_t)at_ms) == 0)
        printf("verified_at: %s\n", when);
    puts("verified: yes");
}

int nw_cli_attestation(int argc, char **argv)
{
    struct opts o;
    struct nw_attest_roots *roots = NULL;
    struct nw_attestation a;
    struct nw_error err = {0};
    uint8_t *doc = NULL;
    size_t len = 0;
    int rc;

    memset(&o, 0, sizeof o);
    o.x.pcrs = o.pcrs;
    if ((rc = parse_args(&o, argc, argv)) != 0)
        return rc;
    if ((rc = nw_cli_load_roots(&roots, o.roots, o.n_roots)) != 0)
        return rc;
    rc = 2;
    if ((doc = nw_cli_read_file(o.file, DOC_FILE_MAX, &len)) == NULL)
        goto out;
    rc = 1;
    if (maybe_base64(doc, &len) != 0) {
        fprintf(stderr, "nitrowallet: BAD_REQUEST: %s: not valid base64\n", o.file);
        goto out;
    }
    if (nw_attestation_verify(&a, doc, len, roots, &o.x, &err) != NW_OK) {
        fprintf(stderr, "nitrowallet: %s: %s\n", nw_err_name(err.code), err.msg);
        goto out;
    }
    print_facts(&a, o.x.at_ms);
    rc = 0;
out:
    free(doc);
    nw_attest_roots_free(roots);
    return rc;
}
