/*
 * cms_tool.c - nw_cms_seal / nw_cms_open from the command line, so that
 * tests/suites/cms_openssl.sh can cross-check them against openssl(1):
 *
 *   cms_tool seal SPKI.der PLAINTEXT OUT.der   seal to a DER SubjectPublicKeyInfo
 *   cms_tool open KEY.der CMS.der OUT          open with a DER RSA private key
 *
 * Test helper only: it writes the opened plaintext to a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/cms.h"

#define FILE_MAX (64u * 1024u)

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;

    if (f == NULL)
        return NULL;
    buf = malloc(FILE_MAX + 1);
    if (buf != NULL)
        *len = fread(buf, 1, FILE_MAX + 1, f);
    fclose(f);
    if (buf != NULL && *len > FILE_MAX) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int spill(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return 0;
    ok = fwrite(p, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static int seal(const uint8_t *spki, size_t spki_len, const uint8_t *in, size_t len, const char *out_path)
{
    struct nw_buf out;
    struct nw_error err = {0};
    int ok;

    nw_buf_init(&out, NW_CMS_MAX);
    if (nw_cms_seal(&out, spki, spki_len, in, len, &err) != NW_OK) {
        fprintf(stderr, "cms_tool: %s\n", err.msg);
        return 1;
    }
    ok = spill(out_path, out.data, out.len);
    nw_buf_free(&out);
    return ok ? 0 : 1;
}

static int open_cms(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len, const char *out_path)
{
    struct nw_rsa_recipient *r;
    struct nw_secret out;
    struct nw_error err = {0};
    int ok;

    if (nw_rsa_recipient_from_der(&r, key, key_len, &err) != NW_OK) {
        fprintf(stderr, "cms_tool: %s\n", err.msg);
        return 1;
    }
    if (nw_cms_open(&out, r, in, len, 4096, &err) != NW_OK) {
        fprintf(stderr, "cms_tool: %s\n", err.msg);
        nw_rsa_recipient_free(r);
        return 1;
    }
    ok = spill(out_path, out.data, out.len);
    nw_secret_free(&out);
    nw_rsa_recipient_free(r);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    uint8_t *a, *b;
    size_t alen = 0, blen = 0;
    int rc = 2;

    if (argc != 5 || (strcmp(argv[1], "seal") != 0 && strcmp(argv[1], "open") != 0)) {
        fprintf(stderr, "usage: cms_tool seal SPKI.der PLAINTEXT OUT.der | open KEY.der CMS.der OUT\n");
        return 2;
    }
    a = slurp(argv[2], &alen);
    b = slurp(argv[3], &blen);
    if (a == NULL || b == NULL)
        fprintf(stderr, "cms_tool: cannot read %s or %s\n", argv[2], argv[3]);
    else if (strcmp(argv[1], "seal") == 0)
        rc = seal(a, alen, b, blen, argv[4]);
    else
        rc = open_cms(a, alen, b, blen, argv[4]);
    free(a);
    free(b);
    return rc;
}
