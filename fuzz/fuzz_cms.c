/*
 * fuzz_cms.c - nw_cms_open over arbitrary bytes with a fixed recipient key
 * (the real KMS vector's, tests/data/kms).  Every input must be refused
 * with NW_ERR_BAD_REQUEST and release nothing, or open to at most the
 * bound; the genuine vector must open to its plaintext.  Seeds: the vector,
 * our own seals to the same key, openssl-built variants, truncations.
 * Run from the repository root (or set NW_SRCDIR).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BOUND 4096

static uint8_t *load(const char *name, size_t *len)
{
    const char *dir = getenv("NW_SRCDIR");
    char path[512];
    uint8_t *buf = malloc(8192);
    FILE *f;

    snprintf(path, sizeof path, "%s/tests/data/kms/%s", dir ? dir : ".", name);
    f = fopen(path, "rb");
    if (buf == NULL || f == NULL) {
        fprintf(stderr, "fuzz_cms: cannot read %s (run from the repository root)\n", path);
        abort();
    }
    *len = fread(buf, 1, 8192, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nw_rsa_recipient *r;
    static uint8_t *vec, *plain;
    static size_t vec_len, plain_len;
    struct nw_secret out;
    enum nw_err rc;

    if (r == NULL) {
        size_t key_len;
        uint8_t *key = load("recipient_rsa_pkcs1.der", &key_len);
        if (nw_rsa_recipient_from_der(&r, key, key_len, NULL) != NW_OK)
            abort();
        free(key);
        vec = load("ciphertext_for_recipient.der", &vec_len);
        plain = load("ciphertext_for_recipient.plaintext", &plain_len);
    }
    rc = nw_cms_open(&out, r, data, size, BOUND, NULL);
    if (size == vec_len && memcmp(data, vec, size) == 0 &&
        (rc != NW_OK || out.len != plain_len || memcmp(out.data, plain, plain_len) != 0))
        abort();
    if (rc == NW_OK) {
        if (out.data == NULL || out.len == 0 || out.len > BOUND)
            abort();
        nw_secret_free(&out);
        return 0;
    }
    if (rc != NW_ERR_BAD_REQUEST || out.data != NULL || out.len != 0)
        abort();
    return 0;
}
