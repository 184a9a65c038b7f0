/*
 * kms_e2e.c - the enclave's side of the end-to-end KMS test, as a tool.
 *
 * It plays the enclave: an emulated NSM (whose PCR0 is the SHA-384 of this
 * very executable) and the in-process KMS client, talking to
 * nitrowallet-kms.  tests/suites/kms_e2e.sh drives it.  Data keys are never
 * printed: only their SHA-256 fingerprints, which is enough to show that
 * two paths produced the same key.
 *
 *   kms_e2e init    NSM_STATE                  create the emulated NSM's dev chain
 *   kms_e2e pcr0    NSM_STATE                  print PCR0 (hex) as the NSM reports it
 *   kms_e2e gdk     NSM_STATE KEY_ID [k=v...]  GenerateDataKey with Recipient:
 *                                              prints "fingerprint HEX" and "blob BASE64"
 *   kms_e2e decrypt NSM_STATE BLOB [k=v...]    Decrypt with Recipient: prints "fingerprint HEX"
 *   kms_e2e recipient NSM_STATE DIR            write DIR/recipient.pem (RSA private key) and
 *                                              DIR/attestation.b64 (document carrying its SPKI)
 *
 * Environment: NW_KMS_CONNECT (e.g. tcp:127.0.0.1:4000), NW_KMS_CA (PEM),
 * AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/kms_client.h"
#include "nitrowallet/nsm.h"

#define MAX_CONTEXT 8

static int die(const char *what, const struct nw_error *err)
{
    fprintf(stderr, "kms_e2e: %s: %s: %s\n", what, nw_err_name(err->code), err->msg);
    return 1;
}

static void print_fingerprint(const struct nw_secret *s)
{
    uint8_t h[32];
    char hex[NW_HEX_SIZE(32)];
    unsigned int n = 0;

    EVP_Digest(s->data, s->len, h, &n, EVP_sha256(), NULL);
    if (nw_hex_encode(hex, sizeof hex, h, sizeof h) == NW_OK)
        printf("fingerprint %s\n", hex);
}

/* "k=v" arguments into an encryption context. */
static size_t parse_context(struct nw_kms_kv *kv, char **args, int n)
{
    size_t k = 0;
    for (int i = 0; i < n && k < MAX_CONTEXT; i++) {
        char *eq = strchr(args[i], '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        kv[k].key = args[i];
        kv[k].value = eq + 1;
        k++;
    }
    return k;
}

static int client(struct nw_kms_client **c, struct nw_nsm **nsm, const char *state, struct nw_error *err)
{
    struct nw_kms_config cfg = {
        .region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1",
        .endpoint = NULL,
        .connect = getenv("NW_KMS_CONNECT"),
        .ca_file = getenv("NW_KMS_CA"),
    };
    if (nw_nsm_open_emulated(nsm, state, err) != NW_OK)
        return 0;
    return nw_kms_client_new(c, &cfg, *nsm, err) == NW_OK;
}

static struct nw_aws_credentials creds_from_env(void)
{
    struct nw_aws_credentials c = {getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                                   getenv("AWS_SESSION_TOKEN")};
    return c;
}

static int cmd_gdk(const char *state, const char *key_id, char **ctx_args, int n_ctx)
{
    struct nw_error err = {0};
    struct nw_nsm *nsm = NULL;
    struct nw_kms_client *c = NULL;
    struct nw_secret dk = {0};
    struct nw_buf blob;
    struct nw_kms_kv kv[MAX_CONTEXT];
    struct nw_aws_credentials creds = creds_from_env();
    size_t n = parse_context(kv, ctx_args, n_ctx);
    int rc = 1;

    nw_buf_init(&blob, 8192);
    if (!client(&c, &nsm, state, &err)) {
        rc = die("setup", &err);
    } else if (nw_kms_generate_data_key(c, &creds, key_id, kv, n, &dk, &blob, &err) != NW_OK) {
        rc = die("GenerateDataKey", &err);
    } else {
        char *b64 = malloc(NW_BASE64_SIZE(blob.len));
        if (b64 != NULL && nw_base64_encode(b64, NW_BASE64_SIZE(blob.len), blob.data, blob.len) == NW_OK) {
            print_fingerprint(&dk);
            printf("blob %s\n", b64);
            rc = dk.len == 32 ? 0 : 1;
        }
        free(b64);
    }
    nw_secret_free(&dk);
    nw_buf_free(&blob);
    nw_kms_client_free(c);
    nw_nsm_close(nsm);
    return rc;
}

static int cmd_decrypt(const char *state, const char *b64, char **ctx_args, int n_ctx)
{
    struct nw_error err = {0};
    struct nw_nsm *nsm = NULL;
    struct nw_kms_client *c = NULL;
    struct nw_secret pt = {0};
    struct nw_kms_kv kv[MAX_CONTEXT];
    struct nw_aws_credentials creds = creds_from_env();
    size_t n = parse_context(kv, ctx_args, n_ctx), blob_len = 0, b64_len = strlen(b64);
    uint8_t *blob = malloc(NW_BASE64_DECODED_MAX(b64_len) + 1);
    int rc = 1;

    if (blob == NULL)
        return 1;
    if (nw_base64_decode(blob, NW_BASE64_DECODED_MAX(b64_len) + 1, &blob_len, b64, b64_len, &err) != NW_OK) {
        rc = die("blob", &err);
    } else if (!client(&c, &nsm, state, &err)) {
        rc = die("setup", &err);
    } else if (nw_kms_decrypt(c, &creds, NULL, blob, blob_len, kv, n, &pt, &err) != NW_OK) {
        rc = die("Decrypt", &err);
    } else {
        print_fingerprint(&pt);
        rc = 0;
    }
    nw_secret_free(&pt);
    free(blob);
    nw_kms_client_free(c);
    nw_nsm_close(nsm);
    return rc;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* A recipient key and an attestation document carrying its public key, for
 * the test's second, independent client (botocore + openssl cms).  The key
 * is made with OpenSSL directly, so nothing of nitrowallet's CMS code is on
 * this path. */
static int cmd_recipient(const char *state, const char *dir)
{
    struct nw_error err = {0};
    struct nw_nsm *nsm = NULL;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    struct nw_buf doc;
    unsigned char *spki = NULL;
    uint8_t nonce[16];
    char path[4096];
    FILE *f;
    int spki_len, rc = 1;

    nw_buf_init(&doc, 16384);
    if (pkey == NULL || (spki_len = i2d_PUBKEY(pkey, &spki)) <= 0)
        goto out;
    if (nw_nsm_open_emulated(&nsm, state, &err) != NW_OK || nw_random(nonce, sizeof nonce) != NW_OK ||
        nw_nsm_attest(nsm, &doc, NULL, 0, nonce, sizeof nonce, spki, (size_t)spki_len, &err) != NW_OK) {
        die("attest", &err);
        goto out;
    }
    char *b64 = malloc(NW_BASE64_SIZE(doc.len));
    if (b64 != NULL && nw_base64_encode(b64, NW_BASE64_SIZE(doc.len), doc.data, doc.len) == NW_OK &&
        write_file(dir, "attestation.b64", b64, strlen(b64)))
        rc = 0;
    free(b64);
    snprintf(path, sizeof path, "%s/recipient.pem", dir);
    if (rc == 0 && ((f = fopen(path, "wb")) == NULL || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) ||
                    fclose(f) != 0))
        rc = 1;
out:
    OPENSSL_free(spki);
    EVP_PKEY_free(pkey);
    nw_buf_free(&doc);
    nw_nsm_close(nsm);
    return rc;
}

static int cmd_pcr0(const char *state)
{
    struct nw_error err = {0};
    struct nw_nsm *nsm = NULL;
    uint8_t v[64];
    size_t n = 0;
    int locked = 0;
    char hex[NW_HEX_SIZE(64)];

    if (nw_nsm_open_emulated(&nsm, state, &err) != NW_OK ||
        nw_nsm_describe_pcr(nsm, 0, v, sizeof v, &n, &locked, &err) != NW_OK)
        return die("pcr0", &err);
    nw_nsm_close(nsm);
    if (nw_hex_encode(hex, sizeof hex, v, n) != NW_OK)
        return 1;
    puts(hex + 2);
    return 0;
}

int main(int argc, char **argv)
{
    struct nw_error err = {0};
    struct nw_nsm *nsm = NULL;

    if (argc >= 3 && strcmp(argv[1], "init") == 0) {
        if (nw_nsm_open_emulated(&nsm, argv[2], &err) != NW_OK)
            return die("init", &err);
        nw_nsm_close(nsm);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "pcr0") == 0)
        return cmd_pcr0(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "gdk") == 0)
        return cmd_gdk(argv[2], argv[3], argv + 4, argc - 4);
    if (argc >= 4 && strcmp(argv[1], "decrypt") == 0)
        return cmd_decrypt(argv[2], argv[3], argv + 4, argc - 4);
    if (argc == 4 && strcmp(argv[1], "recipient") == 0)
        return cmd_recipient(argv[2], argv[3]);
    fprintf(stderr, "usage: kms_e2e init|pcr0|gdk|decrypt|recipient NSM_STATE ...\n");
    return 2;
}
