/*
 * proof.c - `nitrowallet account verify NAME --pcr 0=HEX ...`: does an
 * enclave build the client trusts hold this account, under this policy and
 * KMS key?  (docs/attestation.md, "Account proofs")
 *
 * Asks the host for a proof with a fresh nonce (GET
 * /v1/accounts/{name}/proof), or reads one saved with --proof FILE (then
 * --nonce is the nonce it was asked with), and checks it with
 * nw_account_proof_verify: the AWS root (or --root PEMs), the PCRs given,
 * the nonce, and a user_data equal to the digest of the name, the address,
 * the KMS key and the policy digest the client expects.  What the client
 * does not pin with --address, --kms-key-id, --policy FILE or
 * --policy-digest is taken from the host's answer, and printed, so that a
 * "verified" line says exactly what was proven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "nitrowallet/account_proof.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/key.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/secret.h"

#define MAX_ROOTS 8
#define PROOF_FILE_MAX (256u * 1024u)

struct verify_opts {
    const char *name, *proof, *address, *kms_key_id, *policy, *policy_digest;
    const char *roots[MAX_ROOTS];
    size_t n_roots;
    struct nw_attest_pcr pcrs[NW_ATT_NUM_PCRS];
    struct nw_attest_expect x;
    uint8_t nonce[64];
    int have_nonce;
};

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "nitrowallet: account verify: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    fputs("usage: nitrowallet account verify NAME --pcr 0=HEX [--pcr N=HEX]... [--root PEM]... [--nonce HEX]\n"
          "           [--proof FILE] [--address 0x..] [--kms-key-id ARN] [--policy FILE | --policy-digest 0x..]\n"
          "           [--allow-debug]\n",
          stderr);
    return 2;
}

static int parse(struct verify_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->x.pcrs = o->pcrs;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t n;
        if (strcmp(a, "--allow-debug") == 0) {
            o->x.allow_debug = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o->name != NULL)
                return usage("one NAME only", a);
            o->name = a;
            continue;
        }
        if (v == NULL)
            return usage("a value is required", a);
        i++;
        if (strcmp(a, "--pcr") == 0) {
            if (nw_cli_pcr_arg(&o->x, o->pcrs, v) != 0)
                return usage("--pcr: expected N=HEX with N < 32 and at most 64 bytes", v);
        } else if (strcmp(a, "--root") == 0) {
            if (o->n_roots >= MAX_ROOTS)
                return usage("too many --root", v);
            o->roots[o->n_roots++] = v;
        } else if (strcmp(a, "--nonce") == 0) {
            if (nw_cli_hex_arg(o->nonce, sizeof o->nonce, &n, v) != 0)
                return usage("--nonce: expected hex of 1..64 bytes", v);
            o->x.nonce = o->nonce;
            o->x.nonce_len = n;
            o->have_nonce = 1;
        } else if (strcmp(a, "--proof") == 0) {
            o->proof = v;
        } else if (strcmp(a, "--address") == 0) {
            o->address = v;
        } else if (strcmp(a, "--kms-key-id") == 0) {
            o->kms_key_id = v;
        } else if (strcmp(a, "--policy") == 0) {
            o->policy = v;
        } else if (strcmp(a, "--policy-digest") == 0) {
            o->policy_digest = v;
        } else {
            return usage("unknown option", a);
        }
    }
    if (o->name == NULL)
        return usage("NAME is required", NULL);
    if (o->policy != NULL && o->policy_digest != NULL)
        return usage("--policy or --policy-digest, not both", NULL);
    if (o->proof != NULL && !o->have_nonce)
        return usage("--proof needs the --nonce it was asked with", NULL);
    return 0;
}

/* The proof as the host answers GET /v1/accounts/{name}/proof. */
static cJSON *fetch(const struct cli_client *c, struct verify_opts *o)
{
    struct cli_response r;
    char token[CLI_TOKEN_MAX], path[512], hex[NW_HEX_SIZE(32)];
    cJSON *j = NULL;

    if (o->proof != NULL) {
        size_t len;
        char *text = (char *)nw_cli_read_file(o->proof, PROOF_FILE_MAX, &len);
        if (text != NULL && nw_json_parse(&j, text, len, PROOF_FILE_MAX, NULL) != NW_OK)
            fprintf(stderr, "nitrowallet: account verify: %s is not JSON\n", o->proof);
        free(text);
        return j;
    }
    if (!o->have_nonce) {
        if (nw_random(o->nonce, 32) != NW_OK)
            return NULL;
        o->x.nonce = o->nonce;
        o->x.nonce_len = 32;
    }
    if (nw_hex_encode(hex, sizeof hex, o->nonce, o->x.nonce_len) != NW_OK || strlen(o->name) > 200)
        return NULL;
    snprintf(path, sizeof path, "/v1/accounts/%s/proof?nonce=%s", o->name, hex);
    if (cli_token_load(c, c->token_file, "admin.token", token) != 0)
        return NULL;
    if (cli_request(c, "GET", path, token, NULL, NULL, &r) != 0) {
        cli_token_wipe(token);
        return NULL;
    }
    cli_token_wipe(token);
    if (r.status != 200) {
        cli_print_error(&r);
    } else {
        j = r.json;
        r.json = NULL;
    }
    cli_response_free(&r);
    return j;
}

/* The claim: the client's pins, else the host's answer. */
static int claim_of(struct nw_account_claim *cl, const struct verify_opts *o, const cJSON *proof)
{
    const char *addr = o->address ? o->address : cli_json_str(proof, "address");
    const char *digest = o->policy_digest ? o->policy_digest : cli_json_str(proof, "policy_digest");
    struct nw_error err = {0};
    size_t n;

    cl->name = o->name;
    cl->kms_key_id = o->kms_key_id ? o->kms_key_id : cli_json_str(proof, "kms_key_id");
    if (addr == NULL || nw_address_parse(cl->address, addr, strlen(addr), &err) != NW_OK) {
        fprintf(stderr, "nitrowallet: account verify: address: %s\n", addr ? err.msg : "missing");
        return 1;
    }
    if (cl->kms_key_id == NULL) {
        fprintf(stderr, "nitrowallet: account verify: kms_key_id missing\n");
        return 1;
    }
    if (o->policy != NULL) {
        struct nw_policy p;
        char *text = (char *)nw_cli_read_file(o->policy, NW_POLICY_MAX_JSON, &n);
        if (text == NULL)
            return 1;
        if (nw_policy_parse(&p, text, n, &err) != NW_OK) {
            free(text);
            fprintf(stderr, "nitrowallet: account verify: %s: %s\n", o->policy, err.msg);
            return 1;
        }
        memcpy(cl->policy_digest, p.digest, 32);
        nw_policy_free(&p);
        free(text);
        return 0;
    }
    if (digest == NULL || nw_hex_decode_exact(cl->policy_digest, 32, digest, strlen(digest), &err) != NW_OK) {
        fprintf(stderr, "nitrowallet: account verify: policy_digest: %s\n", digest ? err.msg : "missing");
        return 1;
    }
    return 0;
}

int nw_cli_account_verify(const struct cli_client *c, int argc, char **argv)
{
    struct verify_opts o;
    struct nw_attest_roots *roots = NULL;
    struct nw_account_claim cl;
    struct nw_attestation att;
    struct nw_error err = {0};
    cJSON *proof = NULL;
    const char *b64;
    uint8_t *doc = NULL;
    size_t len = 0;
    char addr[NW_ADDRESS_STR_SIZE], hex[NW_HEX_SIZE(64)];
    int rc;

    if ((rc = parse(&o, argc, argv)) != 0)
        return rc;
    rc = 1;
    if (nw_cli_load_roots(&roots, o.roots, o.n_roots) != 0 || (proof = fetch(c, &o)) == NULL ||
        claim_of(&cl, &o, proof) != 0)
        goto out;
    /* GET .../proof answers {"document"}; POST /v1/accounts {"proof_nonce"}, {"proof":{"document"}} */
    b64 = cli_json_str(proof, "document");
    if (b64 == NULL)
        b64 = cli_json_str(cJSON_GetObjectItemCaseSensitive(proof, "proof"), "document");
    if (b64 == NULL || (doc = malloc(strlen(b64) + 1)) == NULL ||
        nw_base64_decode(doc, strlen(b64) + 1, &len, b64, strlen(b64), &err) != NW_OK) {
        fprintf(stderr, "nitrowallet: account verify: the proof has no base64 document\n");
        goto out;
    }
    if (nw_account_proof_verify(&att, doc, len, roots, &o.x, &cl, &err) != NW_OK) {
        fprintf(stderr, "nitrowallet: account verify: NOT VERIFIED: %s: %s\n", nw_err_name(err.code), err.msg);
        goto out;
    }
    nw_address_to_checksum(addr, cl.address);
    printf("verified: yes\nname: %s\naddress: %s\nkms_key_id: %s\n", cl.name, addr, cl.kms_key_id);
    if (nw_hex_encode(hex, sizeof hex, cl.policy_digest, 32) == NW_OK)
        printf("policy_digest: %s\n", hex);
    if (nw_hex_encode(hex, sizeof hex, att.pcrs[0], att.pcr_len[0]) == NW_OK)
        printf("pcr0: %s\n", hex);
    printf("timestamp_ms: %llu\n", (unsigned long long)att.timestamp_ms);
    rc = 0;
out:
    free(doc);
    cJSON_Delete(proof);
    nw_attest_roots_free(roots);
    return rc;
}
