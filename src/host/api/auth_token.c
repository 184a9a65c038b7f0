/*
 * auth_token.c - API token generation and hashing, and loading the tokens
 * config file (auth.h has the format).
 *
 * Host-side.  A token is "nwt_" + base64url without padding (RFC 4648
 * section 5) of 32 bytes from the OS CSPRNG (256 bits: guessing is out of
 * reach, so a fast unsalted SHA-256 is the right stored form).  Plaintext
 * tokens exist only in the caller's buffer; every intermediate copy made
 * here is wiped.
 */
#include "nitrowallet/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/secret.h"

#define TOKEN_RANDOM_BYTES 32

enum nw_err nw_auth_sha256(uint8_t out[32], const void *p, size_t len)
{
    unsigned int n = 0;

    if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return NW_ERR_INTERNAL;
    return NW_OK;
}

enum nw_err nw_auth_token_hash(char sha256_hex[NW_AUTH_HASH_HEX_SIZE], const char *token, size_t len,
                               struct nw_error *err)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[32];

    if (nw_auth_sha256(d, token, len) != NW_OK)
        return nw_fail(err, NW_ERR_INTERNAL, "SHA-256 failed");
    for (size_t i = 0; i < 32; i++) {
        sha256_hex[2 * i] = digits[d[i] >> 4];
        sha256_hex[2 * i + 1] = digits[d[i] & 15];
    }
    sha256_hex[64] = '\0';
    nw_wipe(d, sizeof d);
    return NW_OK;
}

enum nw_err nw_auth_token_generate(char token[NW_AUTH_TOKEN_SIZE], char sha256_hex[NW_AUTH_HASH_HEX_SIZE],
                                   struct nw_error *err)
{
    uint8_t raw[TOKEN_RANDOM_BYTES];
    char b64[NW_BASE64_SIZE(TOKEN_RANDOM_BYTES)];
    size_t n = 4;
    enum nw_err rc;

    memset(token, 0, NW_AUTH_TOKEN_SIZE);
    if ((rc = nw_random(raw, sizeof raw)) != NW_OK) {
        rc = nw_fail(err, rc, "token generation: the entropy source failed");
        goto out;
    }
    if ((rc = nw_base64_encode(b64, sizeof b64, raw, sizeof raw)) != NW_OK) {
        rc = nw_fail(err, rc, "token generation: encoding failed");
        goto out;
    }
    memcpy(token, "nwt_", 4);
    for (size_t i = 0; b64[i] != '\0' && b64[i] != '=' && n < NW_AUTH_TOKEN_SIZE - 1; i++)
        token[n++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    token[n] = '\0';
    rc = nw_auth_token_hash(sha256_hex, token, n, err);
out:
    if (rc != NW_OK)
        nw_wipe(token, NW_AUTH_TOKEN_SIZE);
    nw_wipe(raw, sizeof raw);
    nw_wipe(b64, sizeof b64);
    return rc;
}

/* Read a whole regular file of at most `max` bytes into a heap buffer. */
static enum nw_err read_file(char **out, size_t *len, const char *path, size_t max, struct nw_error *err)
{
    struct stat sb;
    size_t got = 0;
    enum nw_err rc = NW_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *out = NULL;
    if (fd < 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens config: cannot open: %s", strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "tokens config: not a regular file");
        goto out;
    }
    if (sb.st_size < 0 || (unsigned long long)sb.st_size > max) {
        rc = nw_fail(err, NW_ERR_TOO_LARGE, "tokens config: larger than %zu bytes", max);
        goto out;
    }
    *out = malloc((size_t)sb.st_size + 1);
    if (*out == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "out of memory");
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, *out + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = nw_fail(err, NW_ERR_BAD_REQUEST, "tokens config: read failed");
            goto out;
        }
        got += (size_t)r;
    }
    *len = got;
out:
    close(fd);
    if (rc != NW_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

enum nw_err nw_auth_load_file(struct nw_auth **out, const char *path, struct nw_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    enum nw_err rc;

    *out = NULL;
    if ((rc = read_file(&buf, &len, path, NW_AUTH_CONFIG_MAX, err)) != NW_OK)
        return rc;
    rc = nw_auth_load(out, buf, len, err);
    free(buf);
    return rc;
}
