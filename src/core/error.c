/*
 * error.c - names, HTTP statuses and message formatting for enum nw_err.
 */
#include "nitrowallet/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *nw_err_name(enum nw_err code)
{
    switch (code) {
    case NW_OK: return "OK";
    case NW_ERR_BAD_REQUEST: return "BAD_REQUEST";
    case NW_ERR_POLICY_DENIED: return "POLICY_DENIED";
    case NW_ERR_SEAL_INVALID: return "SEAL_INVALID";
    case NW_ERR_KMS_UNAVAILABLE: return "KMS_UNAVAILABLE";
    case NW_ERR_KMS_DENIED: return "KMS_DENIED";
    case NW_ERR_NOMEM: return "NOMEM";
    case NW_ERR_TOO_LARGE: return "TOO_LARGE";
    case NW_ERR_KEY_INVALID: return "KEY_INVALID";
    case NW_ERR_INTERNAL: return "INTERNAL";
    case NW_ERR_RANDOM: return "RANDOM";
    case NW_ERR_ATTESTATION: return "ATTESTATION_INVALID";
    case NW_ERR_UNAVAILABLE: return "UNAVAILABLE";
    }
    return "INTERNAL";
}

int nw_err_http_status(enum nw_err code)
{
    switch (code) {
    case NW_OK: return 200;
    case NW_ERR_BAD_REQUEST: return 400;
    case NW_ERR_POLICY_DENIED: return 403;
    case NW_ERR_TOO_LARGE: return 413;
    case NW_ERR_SEAL_INVALID: return 422;
    case NW_ERR_KMS_DENIED: return 502;
    case NW_ERR_KMS_UNAVAILABLE:
    case NW_ERR_UNAVAILABLE: return 503;
    case NW_ERR_ATTESTATION: return 422;
    case NW_ERR_NOMEM:
    case NW_ERR_KEY_INVALID:
    case NW_ERR_INTERNAL:
    case NW_ERR_RANDOM: return 500;
    }
    return 500;
}

enum nw_err nw_fail(struct nw_error *err, enum nw_err code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void nw_error_prefix(struct nw_error *err, const char *fmt, ...)
{
    char prefix[NW_ERROR_MSG_MAX];
    char old[NW_ERROR_MSG_MAX];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Truncation is intended: messages are bounded. */
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    n += 2;
    size_t m = strlen(old);
    if (m > sizeof err->msg - 1 - n)
        m = sizeof err->msg - 1 - n;
    memcpy(err->msg + n, old, m);
    err->msg[n + m] = '\0';
}
