/*
 * keys.c - the KMS keys the enclave seals under (include/nitrowallet/enclave.h):
 * checking the `--kms-key-arn` values of the enclave image's command line,
 * and matching the key a request names against them.
 *
 * Trust boundary: the ARNs come from the measured image (PCR0 covers its
 * command line); the key a request names comes from the untrusted host and
 * is compared byte for byte, so no alias, bare id or other spelling of a
 * key the image does not name ever reaches KMS.
 */
#include "nitrowallet/enclave.h"

#include <string.h>

/* Advance *p past `n` characters of which `ok` accepts each; 0 when short. */
static int span(const char **p, size_t n, int (*ok)(char))
{
    for (size_t i = 0; i < n; i++)
        if (!ok((*p)[i]))
            return 0;
    *p += n;
    return 1;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A key id: a UUID (8-4-4-4-12 lowercase hex) or mrk- and 32 hex digits. */
static int key_id_valid(const char *s)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};

    if (strncmp(s, "mrk-", 4) == 0) {
        s += 4;
        return strlen(s) == 32 && span(&s, 32, is_hex);
    }
    for (size_t g = 0; g < 5; g++) {
        if (strlen(s) < groups[g] || !span(&s, groups[g], is_hex))
            return 0;
        if (g < 4 && *s++ != '-')
            return 0;
    }
    return *s == '\0';
}

/* Copy the next ':'-terminated field of *p into out (cap bytes); 0 when absent or too long. */
static int field(const char **p, char *out, size_t cap)
{
    const char *colon = strchr(*p, ':');
    size_t n = colon ? (size_t)(colon - *p) : 0;

    if (colon == NULL || n == 0 || n >= cap)
        return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = colon + 1;
    return 1;
}

enum nw_err nw_enclave_key_arn_check(const char *arn, const char *region, struct nw_error *err)
{
    char partition[32], service[8], arn_region[32], account[16];
    const char *p = arn;
    size_t len = strlen(arn);

    if (len == 0 || len > NW_ENCLAVE_MAX_KEY_ARN)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn: must be 1..%d characters", NW_ENCLAVE_MAX_KEY_ARN);
    if (strncmp(arn, "alias/", 6) == 0 || (strncmp(arn, "arn:", 4) == 0 && strstr(arn, ":alias/") != NULL))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: an alias is refused (it can be pointed at "
                       "another key without changing the image); give the key's full ARN", arn);
    if (strncmp(p, "arn:", 4) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: not an ARN; a bare key id is refused (it "
                       "resolves in the caller's account); give arn:aws:kms:REGION:ACCOUNT:key/ID", arn);
    p += 4;
    if (!field(&p, partition, sizeof partition) || !field(&p, service, sizeof service) ||
        !field(&p, arn_region, sizeof arn_region) || !field(&p, account, sizeof account))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: expected arn:PARTITION:kms:REGION:ACCOUNT:"
                       "key/ID", arn);
    if (strncmp(partition, "aws", 3) != 0 || (partition[3] != '\0' && partition[3] != '-'))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: partition must be aws or aws-*", arn);
    if (strcmp(service, "kms") != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: not a KMS ARN", arn);
    for (const char *r = arn_region; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || is_digit(*r) || *r == '-'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: bad region", arn);
    if (region != NULL && strcmp(arn_region, region) != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: the key is in %s but the enclave calls KMS "
                       "in %s (--kms-region)", arn, arn_region, region);
    const char *acct = account;
    if (strlen(account) != 12 || !span(&acct, 12, is_digit))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: the account must be 12 digits", arn);
    if (strncmp(p, "key/", 4) != 0 || !key_id_valid(p + 4))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "--kms-key-arn %.300s: expected key/ and a key id (a UUID or "
                       "mrk-...)", arn);
    return NW_OK;
}

int nw_enclave_key_allowed(const struct nw_enclave_kms_keys *keys, const char *s, size_t len)
{
    if (keys == NULL)
        return 0;
    for (size_t i = 0; i < keys->n; i++)
        if (strlen(keys->arn[i]) == len && memcmp(keys->arn[i], s, len) == 0)
            return 1;
    return 0;
}
