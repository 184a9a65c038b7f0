/*
 * fuzz_creds_json.c - libFuzzer target for the container / IMDS credentials
 * JSON reader and the ISO 8601 expiry reader (src/aws/credentials_parse.c).
 *
 * The first byte picks IMDS (Code "Success" required) or container; the rest
 * is the document.  Accepted documents must yield bounded, printable fields
 * (and, for IMDS, must also be accepted as a container document: that one
 * only drops a requirement); refused ones leave the output wiped.  The time
 * reader is run on the same bytes: anything it accepts is on or after 1970.
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
    long long exp = 0, t = 0;
    if (size == 0) return 0;
    int imds = data[0] & 1;
    const char *doc = (const char *)data + 1;
    if (nw_creds_parse_json(&c, &exp, doc, size - 1, imds, NULL) == NW_OK) {
        check_field(c.access_key_id, sizeof(c.access_key_id));
        check_field(c.secret_access_key, sizeof(c.secret_access_key));
        check_field(c.session_token, sizeof(c.session_token));
        if (exp < 0) abort();
        if (imds && nw_creds_parse_json(&c, &exp, doc, size - 1, 0, NULL) != NW_OK) abort();
    } else if (c.secret_access_key[0] != '\0' || c.session_token[0] != '\0') {
        abort();
    }
    if (nw_creds_parse_time(&t, doc, size - 1, NULL) == NW_OK && t < 0) abort();
    return 0;
}
