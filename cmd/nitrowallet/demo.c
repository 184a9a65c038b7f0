/*
 * demo.c - `nitrowallet demo`: the seed flow end to end against a running
 * stack (`make run`), one numbered step per line, each checked here with
 * the library's own verifiers (recovery of the signer from every
 * signature, digests recomputed from the inputs, the attestation verified
 * against the development NSM root and our nonce).  Exit 0 only if every
 * step held.  Uses the admin token to create the account and the signer
 * token to sign (separation of duties, docs/auth.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "nitrowallet/attestation.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/eip712.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/keccak.h"
#include "nitrowallet/key.h"
#include "nitrowallet/message.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/tx.h"

#define STEPS 9

static const char DEMO_TX[] =
    "{\"type\":2,\"chainId\":31337,\"nonce\":0,\"gas\":21000,\"maxFeePerGas\":\"0x77359400\","
    "\"maxPriorityFeePerGas\":\"0x3b9aca00\",\"to\":\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\","
    "\"value\":\"0x2386f26fc10000\",\"data\":\"0x\"}";
static const char DEMO_MESSAGE[] = "nitrowallet demo: signed inside the enclave";
static const char DEMO_TYPED[] =
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":\"string\"},"
    "{\"name\":\"chainId\",\"type\":\"uint256\"}],\"Transfer\":[{\"name\":\"to\",\"type\":\"address\"},"
    "{\"name\":\"amount\",\"type\":\"uint256\"},{\"name\":\"memo\",\"type\":\"string\"}]},"
    "\"primaryType\":\"Transfer\",\"domain\":{\"name\":\"nitrowallet demo\",\"version\":\"1\",\"chainId\":31337},"
    "\"message\":{\"to\":\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\",\"amount\":\"1000000\",\"memo\":\"demo\"}}";

struct demo {
    const struct cli_client *c;
    char admin[CLI_TOKEN_MAX], signer[CLI_TOKEN_MAX];
    char name[80], address[NW_ADDRESS_STR_SIZE];
    int step;
};

static void say(struct demo *d, const char *fmt, ...)
{
    va_list ap;
    printf("[%d/%d] ", ++d->step, STEPS);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int bad(const char *fmt, ...)
{
    va_list ap;
    fputs("nitrowallet demo: FAILED: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* A request that must answer `want`; the response stays in *r. */
static int expect(struct demo *d, const char *method, const char *path, const char *token, const char *body,
                  long want, struct cli_response *r)
{
    if (cli_request(d->c, method, path, token, body, NULL, r) != 0)
        return bad("%s %s: no answer from %s (is `make run` running?)", method, path, d->c->url);
    if (r->status != want) {
        cli_print_error(r);
        cli_response_free(r);
        return bad("%s %s: HTTP %ld, expected %ld", method, path, r->status, want);
    }
    if (r->json == NULL) {
        cli_response_free(r);
        return bad("%s %s: the answer is not JSON", method, path);
    }
    return 0;
}

static int hex_exact(uint8_t *out, size_t n, const char *s)
{
    size_t got;
    return s && nw_hex_decode(out, n, &got, s, strlen(s), NULL) == NW_OK && got == n;
}

/* The signer recovered from a 65-byte hex signature over `digest` is the account. */
static int recovers(struct demo *d, const char *sig_hex, const uint8_t digest[32], const char *what)
{
    uint8_t sig65[65], addr[NW_ADDRESS_LEN];
    char got[NW_ADDRESS_STR_SIZE];
    struct nw_sig sig;

    if (!hex_exact(sig65, 65, sig_hex))
        return bad("%s: signature is not 65 bytes of hex", what);
    memcpy(sig.r, sig65, 32);
    memcpy(sig.s, sig65 + 32, 32);
    sig.y_parity = sig65[64] >= 27 ? sig65[64] - 27 : sig65[64];
    if (sig.y_parity > 1 || nw_recover_address(addr, &sig, digest) != NW_OK)
        return bad("%s: signature does not recover", what);
    nw_address_to_checksum(got, addr);
    if (strcmp(got, d->address) != 0)
        return bad("%s: recovers %s, not the account %s", what, got, d->address);
    return 0;
}

static int step_ready(struct demo *d)
{
    struct cli_response r;
    if (cli_request(d->c, "GET", "/readyz", NULL, NULL, NULL, &r) != 0)
        return bad("no answer from %s: start the stack with `make run` first", d->c->url);
    long st = r.status;
    cli_response_free(&r);
    if (st != 200)
        return bad("GET /readyz: HTTP %ld (no enclave reachable yet?)", st);
    say(d, "%s is ready: the host reaches an enclave", d->c->url);
    return 0;
}

static int step_create(struct demo *d)
{
    struct cli_response r;
    uint8_t rnd[4];
    char hex[NW_HEX_SIZE(4)], body[160];

    if (nw_random(rnd, sizeof rnd) != NW_OK || nw_hex_encode(hex, sizeof hex, rnd, sizeof rnd) != NW_OK)
        return bad("no randomness");
    snprintf(d->name, sizeof d->name, "demo-%s", hex + 2);
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", d->name);
    if (expect(d, "POST", "/v1/accounts", d->admin, body, 201, &r))
        return 1;
    const char *a = cli_json_str(r.json, "address"), *k = cli_json_str(r.json, "kms_key_id");
    if (a == NULL || strlen(a) != NW_ADDRESS_STR_SIZE - 1)
        return cli_response_free(&r), bad("account created without an address");
    snprintf(d->address, sizeof d->address, "%s", a);
    say(d, "created account %s: address %s; its key was generated and sealed in the enclave under a data key "
           "from KMS key %s; the host stored only ciphertext", d->name, d->address, k ? k : "?");
    cli_response_free(&r);
    return 0;
}

static int step_show(struct demo *d)
{
    struct cli_response r;
    char path[160];
    snprintf(path, sizeof path, "/v1/accounts/%s", d->name);
    if (expect(d, "GET", path, d->admin, NULL, 200, &r))
        return 1;
    int same = cli_json_str(r.json, "address") && strcmp(cli_json_str(r.json, "address"), d->address) == 0;
    cli_response_free(&r);
    if (!same)
        return bad("GET %s: a different address", path);
    say(d, "read it back: %s -> %s", d->name, d->address);
    return 0;
}

static int step_tx(struct demo *d)
{
    struct cli_response r;
    struct nw_tx tx;
    struct nw_error err = {0};
    uint8_t digest[32], raw[512], h[32], sig65[65];
    char path[160], *body = malloc(sizeof DEMO_TX + 32), hash_hex[NW_HEX_SIZE(32)], sig_hex[NW_HEX_SIZE(65)];
    size_t raw_len;
    int rc = 1;

    memset(&tx, 0, sizeof tx);
    if (body == NULL)
        return 1;
    snprintf(body, sizeof DEMO_TX + 32, "{\"transaction\":%s}", DEMO_TX);
    snprintf(path, sizeof path, "/v1/accounts/%s/sign/transaction", d->name);
    if (expect(d, "POST", path, d->signer, body, 200, &r)) {
        free(body);
        return 1;
    }
    free(body);
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(r.json, "signature");
    const char *rh = cli_json_str(sig, "r"), *sh = cli_json_str(sig, "s"), *raw_hex = cli_json_str(r.json, "raw_transaction");
    const cJSON *yp = cJSON_GetObjectItemCaseSensitive(sig, "y_parity");
    if (nw_tx_parse(&tx, DEMO_TX, strlen(DEMO_TX), &err) != NW_OK || nw_tx_signing_hash(digest, &tx, &err) != NW_OK) {
        bad("the demo transaction: %s", err.msg);
        goto out;
    }
    if (!hex_exact(sig65, 32, rh) || !hex_exact(sig65 + 32, 32, sh) || !cJSON_IsNumber(yp) || yp->valueint < 0 ||
        yp->valueint > 1) {
        bad("signature fields r, s, y_parity missing or malformed");
        goto out;
    }
    sig65[64] = (uint8_t)yp->valueint;
    if (nw_hex_encode(sig_hex, sizeof sig_hex, sig65, 65) != NW_OK || recovers(d, sig_hex, digest, "transaction"))
        goto out;
    if (raw_hex == NULL || nw_hex_decode(raw, sizeof raw, &raw_len, raw_hex, strlen(raw_hex), NULL) != NW_OK) {
        bad("raw_transaction missing or malformed");
        goto out;
    }
    nw_keccak256(h, raw, raw_len);
    if (nw_hex_encode(hash_hex, sizeof hash_hex, h, 32) != NW_OK || cli_json_str(r.json, "transaction_hash") == NULL ||
        strcmp(hash_hex, cli_json_str(r.json, "transaction_hash")) != 0) {
        bad("transaction_hash is not keccak256(raw_transaction)");
        goto out;
    }
    say(d, "signed an EIP-1559 transfer (chain 31337): the signature recovers to %s; transaction hash %s", d->address,
        hash_hex);
    rc = 0;
out:
    nw_tx_free(&tx);
    cli_response_free(&r);
    return rc;
}

static int step_message(struct demo *d)
{
    struct cli_response r;
    uint8_t digest[32];
    char path[160], body[200];
    int rc;

    snprintf(body, sizeof body, "{\"message\":\"%s\"}", DEMO_MESSAGE);
    snprintf(path, sizeof path, "/v1/accounts/%s/sign/message", d->name);
    if (expect(d, "POST", path, d->signer, body, 200, &r))
        return 1;
    if (nw_eip191_hash(digest, (const uint8_t *)DEMO_MESSAGE, strlen(DEMO_MESSAGE), NULL) != NW_OK)
        return cli_response_free(&r), bad("EIP-191 hash");
    rc = recovers(d, cli_json_str(r.json, "signature"), digest, "personal_sign");
    cli_response_free(&r);
    if (rc == 0)
        say(d, "personal_sign of \"%s\": recovers to %s", DEMO_MESSAGE, d->address);
    return rc;
}

static int step_typed(struct demo *d)
{
    struct cli_response r;
    struct nw_eip712_hashes h;
    char path[160], *body = malloc(sizeof DEMO_TYPED + 32), digest_hex[NW_HEX_SIZE(32)];
    int rc = 1;

    if (body == NULL)
        return 1;
    snprintf(body, sizeof DEMO_TYPED + 32, "{\"typed_data\":%s}", DEMO_TYPED);
    snprintf(path, sizeof path, "/v1/accounts/%s/sign/typed-data", d->name);
    rc = expect(d, "POST", path, d->signer, body, 200, &r);
    free(body);
    if (rc)
        return 1;
    rc = 1;
    if (nw_eip712_hash_json(&h, DEMO_TYPED, strlen(DEMO_TYPED), NULL) != NW_OK ||
        nw_hex_encode(digest_hex, sizeof digest_hex, h.digest, 32) != NW_OK)
        bad("EIP-712 hash of the demo document");
    else if (cli_json_str(r.json, "digest") == NULL || strcmp(cli_json_str(r.json, "digest"), digest_hex) != 0)
        bad("the service's EIP-712 digest differs from ours");
    else
        rc = recovers(d, cli_json_str(r.json, "signature"), h.digest, "EIP-712");
    cli_response_free(&r);
    if (rc == 0)
        say(d, "EIP-712 Transfer signed: digest %s, recovers to %s", digest_hex, d->address);
    return rc;
}

static int step_digest_refused(struct demo *d)
{
    struct cli_response r;
    char path[160];
    const char *body = "{\"digest\":\"0x1111111111111111111111111111111111111111111111111111111111111111\"}";

    snprintf(path, sizeof path, "/v1/accounts/%s/sign/digest", d->name);
    if (expect(d, "POST", path, d->signer, body, 403, &r))
        return 1;
    const char *code = cli_json_str(cJSON_GetObjectItemCaseSensitive(r.json, "error"), "code");
    int ok = code && strcmp(code, "POLICY_DENIED") == 0;
    cli_response_free(&r);
    if (!ok)
        return bad("sign/digest refused, but not by the account's policy");
    say(d, "a raw-digest signature is refused (403 POLICY_DENIED): the account was not created with allow_digest");
    return 0;
}

static int step_audit(struct demo *d)
{
    struct cli_response r;
    char path[200];
    snprintf(path, sizeof path, "/v1/accounts/%s/signatures", d->name);
    if (expect(d, "GET", path, d->admin, NULL, 200, &r))
        return 1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r.json, "signatures"), *s;
    int n = cJSON_GetArraySize(list), denied = 0;
    cJSON_ArrayForEach(s, list) {
        const char *kind = cli_json_str(s, "kind");
        denied += kind != NULL && strcmp(kind, "denied") == 0;
    }
    cli_response_free(&r);
    if (n != 4 || denied != 1)
        return bad("the audit trail holds %d records (%d denials), expected 3 signatures and 1 denial", n, denied);
    say(d, "audit trail of %s: 3 signatures (typed data, message, transaction), stored before they were returned, "
           "and the refused raw digest with the rule that refused it",
        d->name);
    return 0;
}

static int step_attestation(struct demo *d)
{
    struct cli_response r;
    struct nw_attestation att;
    struct nw_attest_roots *roots = NULL;
    struct nw_error err = {0};
    uint8_t nonce[16], *doc = NULL, *pem = NULL;
    char nonce_hex[NW_HEX_SIZE(16)], path[200], root_path[CLI_PATH_MAX + 64], pcr0[20];
    size_t doc_len, pem_len;
    int rc = 1;

    if (nw_random(nonce, sizeof nonce) != NW_OK || nw_hex_encode(nonce_hex, sizeof nonce_hex, nonce, 16) != NW_OK)
        return bad("no randomness");
    snprintf(path, sizeof path, "/v1/attestation?nonce=%s", nonce_hex);
    if (expect(d, "GET", path, d->admin, NULL, 200, &r))
        return 1;
    const char *b64 = cli_json_str(r.json, "document");
    snprintf(root_path, sizeof root_path, "%s/nsm/nsm-dev-root.pem", d->c->home);
    struct nw_attest_expect x = {.nonce = nonce, .nonce_len = sizeof nonce, .max_age_ms = 5 * 60 * 1000};
    if (b64 == NULL || (doc = malloc(strlen(b64))) == NULL ||
        nw_base64_decode(doc, strlen(b64), &doc_len, b64, strlen(b64), &err) != NW_OK) {
        bad("attestation: no document in the answer");
    } else if ((pem = nw_cli_read_file(root_path, 1u << 20, &pem_len)) == NULL ||
               nw_attest_roots_from_pem(&roots, (const char *)pem, pem_len, &err) != NW_OK) {
        bad("attestation: cannot load the development NSM root %s", root_path);
    } else if (nw_attestation_verify(&att, doc, doc_len, roots, &x, &err) != NW_OK) {
        bad("attestation: %s", err.msg);
    } else {
        if (nw_hex_encode(pcr0, sizeof pcr0, att.pcrs[0], 8) != NW_OK)
            pcr0[0] = '\0';
        say(d, "attestation document for our nonce verified against the development NSM root "
               "(module %s, PCR0 %s...): DEVELOPMENT, not AWS", att.module_id, pcr0);
        rc = 0;
    }
    nw_attest_roots_free(roots);
    free(pem);
    free(doc);
    cli_response_free(&r);
    return rc;
}

int nw_cli_demo(const struct cli_client *c, int argc, char **argv)
{
    struct demo d = {.c = c};
    const char *admin_file = c->token_file, *signer_file = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--signer-token-file") == 0 && i + 1 < argc)
            signer_file = argv[++i];
        else
            return fprintf(stderr, "usage: nitrowallet [--token-file ADMIN] demo [--signer-token-file FILE]\n"), 2;
    }
    if (nw_key_init() != NW_OK)
        return bad("signing context");
    if (cli_token_load(c, admin_file, "admin.token", d.admin) != 0 ||
        cli_token_load(c, signer_file, "signer.token", d.signer) != 0)
        goto out;
    printf("nitrowallet demo against %s\n", c->url);
    if (step_ready(&d) || step_create(&d) || step_show(&d) || step_tx(&d) || step_message(&d) || step_typed(&d) ||
        step_digest_refused(&d) || step_audit(&d) || step_attestation(&d))
        goto out;
    printf("demo: all %d steps passed\n", STEPS);
    rc = 0;
out:
    cli_token_wipe(d.admin);
    cli_token_wipe(d.signer);
    return rc;
}
