/*
 * nitrowallet - the operator's and client's command-line tool.
 *
 * Runs outside the enclave and never touches private keys.  It is a client
 * of the nitrowallet-host API (accounts, signing, the audit trail,
 * attestation; client.h says where it finds the URL, CA and token), runs
 * the end-to-end demo, and offers the offline checks a client wants before
 * asking the service to sign: what digest a transaction or typed-data
 * document will produce, whether an address carries a valid EIP-55
 * checksum, and whether an attestation document verifies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "nitrowallet/eip712.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/keccak.h"
#include "nitrowallet/key.h"
#include "nitrowallet/tx.h"

#define NW_VERSION "0.1.0"
#define FILE_MAX (1u << 20)

static int usage(FILE *f)
{
    fputs("usage: nitrowallet [--url URL] [--cacert PEM] [--token-file FILE] <command> [args]\n"
          "service (nitrowallet-host API; defaults: $NITROWALLET_URL or https://127.0.0.1:8443,\n"
          "         $NITROWALLET_HOME/ca.pem, $NITROWALLET_HOME/admin.token or signer.token for sign):\n"
          "  account create [--name N] [--policy FILE | --allow-digest] [--kms-key-id ID] [--idempotency-key K]\n"
          "  account list [--limit N]       one line per account: name, address, created_at\n"
          "  account show NAME\n"
          "  account verify NAME --pcr 0=HEX [--root PEM] [--nonce HEX] [--proof FILE] [--address A]\n"
          "                 [--kms-key-id ARN] [--policy FILE | --policy-digest HEX]\n"
          "                                 an attestation that an enclave of that PCR0 holds the account,\n"
          "                                 with that address, KMS key and policy (docs/attestation.md)\n"
          "  sign tx NAME FILE|-            transaction JSON (docs/signing.md)\n"
          "  sign message NAME FILE|-       personal_sign of the file's exact bytes (or --text STRING)\n"
          "  sign typed-data NAME FILE|-    eth_signTypedData_v4 JSON\n"
          "  sign digest NAME 0xHEX|FILE|-  raw 32-byte digest (accounts created with --allow-digest)\n"
          "                                 (sign takes --idempotency-key K: a retry returns the first result)\n"
          "  signatures NAME [--limit N] [--cursor C]   the account's audit trail, newest first\n"
          "  attestation get --nonce 0xHEX [--out FILE] the enclave's attestation document\n"
          "  demo [--signer-token-file F]   the seed flow end to end against a running stack\n"
          "offline:\n"
          "  version                       print the version\n"
          "  address ADDRESS               validate an address, print its EIP-55 form\n"
          "  keccak256 0xHEX               Keccak-256 of hex bytes\n"
          "  tx hash FILE|-                signing digest of a transaction JSON object\n"
          "  typed-data hash FILE|-        EIP-712 digest of eth_signTypedData_v4 JSON\n"
          "  attestation verify FILE [--root PEM]... [--at RFC3339] [--pcr N=HEX]... [--nonce HEX]\n"
          "                     [--max-age SECONDS] [--allow-debug]\n"
          "                                verify a Nitro attestation document, print its facts\n"
          "  policy check POLICY REQUEST [--now SECONDS]\n"
          "                                decide a signing request (an API request body) under a\n"
          "                                policy, with the enclave's code: exit 0 allow, 3 deny\n"
          "  policy show POLICY            validate a policy, print its canonical text and digest\n",
          f);
    return f == stderr ? 2 : 0;
}

static int fail(const struct nw_error *err)
{
    fprintf(stderr, "nitrowallet: %s: %s\n", nw_err_name(err->code), err->msg);
    return 1;
}

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
    char hex[NW_HEX_SIZE(32)];
    if (nw_hex_encode(hex, sizeof hex, p, n) == NW_OK)
        printf("%s%s\n", label, hex);
}

static int cmd_address(const char *s)
{
    uint8_t addr[20];
    char out[NW_ADDRESS_STR_SIZE];
    struct nw_error err = {0};

    if (nw_address_parse(addr, s, strlen(s), &err) != NW_OK)
        return fail(&err);
    nw_address_to_checksum(out, addr);
    puts(out);
    return 0;
}

static int cmd_keccak(const char *s)
{
    size_t len = strlen(s), n;
    uint8_t *buf = malloc(len / 2 + 1), h[32];
    struct nw_error err = {0};
    int rc = 0;

    if (buf == NULL)
        return 1;
    if (nw_hex_decode(buf, len / 2 + 1, &n, s, len, &err) != NW_OK) {
        rc = fail(&err);
    } else {
        nw_keccak256(h, buf, n);
        print_hex("", h, 32);
    }
    free(buf);
    return rc;
}

static int cmd_tx_hash(const char *path)
{
    size_t len;
    char *json = (char *)nw_cli_read_file(path, FILE_MAX, &len);
    struct nw_tx tx;
    struct nw_error err = {0};
    uint8_t h[32];
    int rc = 1;

    if (json == NULL)
        return 1;
    if (nw_tx_parse(&tx, json, len, &err) != NW_OK || nw_tx_signing_hash(h, &tx, &err) != NW_OK) {
        rc = fail(&err);
    } else {
        printf("type: %d\n", (int)tx.type);
        print_hex("signing_hash: ", h, 32);
        rc = 0;
    }
    nw_tx_free(&tx);
    free(json);
    return rc;
}

static int cmd_typed_data_hash(const char *path)
{
    size_t len;
    char *json = (char *)nw_cli_read_file(path, FILE_MAX, &len);
    struct nw_eip712_hashes h;
    struct nw_error err = {0};
    int rc;

    if (json == NULL)
        return 1;
    if (nw_eip712_hash_json(&h, json, len, &err) != NW_OK) {
        rc = fail(&err);
    } else {
        print_hex("domain_separator: ", h.domain_separator, 32);
        print_hex("struct_hash: ", h.struct_hash, 32);
        print_hex("digest: ", h.digest, 32);
        rc = 0;
    }
    free(json);
    return rc;
}

/* Global options before the command; returns the index of the command. */
static int global_flags(struct cli_client *c, int argc, char **argv)
{
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        char *dst = strcmp(argv[i], "--url") == 0          ? c->url
                    : strcmp(argv[i], "--cacert") == 0     ? c->ca
                    : strcmp(argv[i], "--token-file") == 0 ? c->token_file
                                                           : NULL;
        size_t cap = dst == c->url ? sizeof c->url : CLI_PATH_MAX;
        if (dst == NULL || strlen(argv[i + 1]) >= cap)
            return -1;
        memcpy(dst, argv[i + 1], strlen(argv[i + 1]) + 1);
    }
    while (strlen(c->url) > 0 && c->url[strlen(c->url) - 1] == '/')
        c->url[strlen(c->url) - 1] = '\0';
    if (strncmp(c->url, "https://", 8) != 0 && strncmp(c->url, "http://", 7) != 0)
        return -1;
    return i;
}

int main(int argc, char **argv)
{
    struct cli_client c;
    int i;

    cli_client_defaults(&c);
    if ((i = global_flags(&c, argc, argv)) < 0) {
        fprintf(stderr, "nitrowallet: bad global option (--url http[s]://..., --cacert FILE, --token-file FILE)\n");
        return 2;
    }
    argc -= i - 1;
    argv += i - 1;
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "account") == 0)
        return nw_cli_account(&c, argc - 1, argv + 1);
    if (strcmp(argv[1], "sign") == 0)
        return nw_cli_sign(&c, argc - 1, argv + 1);
    if (strcmp(argv[1], "signatures") == 0)
        return nw_cli_signatures(&c, argc - 1, argv + 1);
    if (strcmp(argv[1], "demo") == 0)
        return nw_cli_demo(&c, argc - 1, argv + 1);
    if (strcmp(argv[1], "attestation") == 0 && argc >= 3 && strcmp(argv[2], "get") == 0)
        return nw_cli_attestation_get(&c, argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 && argc == 2) {
        puts("nitrowallet " NW_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)
        return usage(stdout);
    if (strcmp(argv[1], "address") == 0 && argc == 3)
        return cmd_address(argv[2]);
    if (strcmp(argv[1], "keccak256") == 0 && argc == 3)
        return cmd_keccak(argv[2]);
    if (strcmp(argv[1], "tx") == 0 && argc == 4 && strcmp(argv[2], "hash") == 0)
        return cmd_tx_hash(argv[3]);
    if (strcmp(argv[1], "typed-data") == 0 && argc == 4 && strcmp(argv[2], "hash") == 0)
        return cmd_typed_data_hash(argv[3]);
    if (strcmp(argv[1], "attestation") == 0)
        return nw_cli_attestation(argc - 1, argv + 1);
    if (strcmp(argv[1], "policy") == 0)
        return nw_cli_policy(argc - 1, argv + 1);
    return usage(stderr);
}
