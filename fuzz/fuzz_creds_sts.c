/*
 * fuzz_creds_sts.c - libFuzzer target for the STS AssumeRoleWithWebIdentity
 * XML reader and the STS error-code reader (src/aws/credentials_parse.c).
 *
 * Whatever the reader accepts must have produced four non-empty, printable,
 * NUL-terminated fields inside their bounds; on refusal the output must be
 * wiped.  The error-code reader must yield a bounded word or nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == 0 || n == cap) abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nw_host_credentials c;
    long long exp = 0;
    char code[64];
    if (nw_creds_parse_sts(&c, &exp, (const char *)data, size, NULL) == NW_OK) {
        check_field(c.access_key_id, sizeof(c.access_key_id));
        check_field(c.secret_access_key, sizeof(c.secret_access_key));
        check_field(c.session_token, sizeof(c.session_token));
        if (exp < 0) abort();
    } else if (c.secret_access_key[0] != '\0' || c.session_token[0] != '\0') {
        abort();
    }
    nw_creds_sts_error_code(code, sizeof(code), (const char *)data, size);
    if (strnlen(code, sizeof(code)) == sizeof(code)) abort();
    return 0;
}
