/*
 * credentials.c - AWS credentials providers for the host's enclave calls
 * (include/nitrowallet/enclave_pool.h).  This issue has one: the static
 * environment provider (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), read once at start.
 *
 * Trust boundary: the host process holds the credentials; the secret key and
 * session token never appear in an error message or a log line.
 */
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/secret.h"

static int printable_token(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) return 0;
    }
    return 1;
}

static enum nw_err env_copy(char *dst, size_t cap, const char *var, int required, struct nw_error *err)
{
    const char *v = getenv(var);
    dst[0] = '\0';
    if (v == NULL || v[0] == '\0') {
        if (required) return nw_fail(err, NW_ERR_BAD_REQUEST, "%s is not set", var);
        return NW_OK;
    }
    size_t len = strlen(v);
    if (len >= cap) return nw_fail(err, NW_ERR_TOO_LARGE, "%s is longer than %zu bytes", var, cap - 1);
    if (!printable_token(v, len)) return nw_fail(err, NW_ERR_BAD_REQUEST, "%s has invalid characters", var);
    memcpy(dst, v, len + 1);
    return NW_OK;
}

static enum nw_err env_get(struct nw_host_credentials *out, struct nw_error *err)
{
    enum nw_err rc;
    memset(out, 0, sizeof(*out));
    NW_GUARD(env_copy(out->access_key_id, sizeof(out->access_key_id), "AWS_ACCESS_KEY_ID", 1, err));
    NW_GUARD(env_copy(out->secret_access_key, sizeof(out->secret_access_key), "AWS_SECRET_ACCESS_KEY", 1, err));
    NW_GUARD(env_copy(out->session_token, sizeof(out->session_token), "AWS_SESSION_TOKEN", 0, err));
out:
    if (rc != NW_OK) nw_host_credentials_wipe(out);
    return rc;
}

const struct nw_credentials_provider nw_credentials_env = {"env", env_get};

void nw_host_credentials_wipe(struct nw_host_credentials *c)
{
    if (c != NULL) nw_wipe(c, sizeof(*c));
}
