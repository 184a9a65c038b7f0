/*
 * credentials_internal.h - the credential sources behind the default chain
 * (credentials.c picks one from the environment; credentials_fetch.c talks to
 * STS, the container endpoint and IMDS with libcurl).
 *
 * Each source's state is a single allocation that holds secrets (tokens); it
 * is wiped before it is freed.
 */
#ifndef NITROWALLET_CREDENTIALS_INTERNAL_H
#define NITROWALLET_CREDENTIALS_INTERNAL_H

#include "nitrowallet/credentials.h"

#define CREDS_URL_MAX 2048
#define CREDS_PATH_MAX 4096
#define CREDS_ARN_MAX 2048
#define CREDS_TOKEN_MAX 20000   /* STS WebIdentityToken: up to 20,000 characters */
#define CREDS_AUTH_MAX 8192     /* container Authorization header value */

struct creds_web_identity {
    char role_arn[CREDS_ARN_MAX + 1];
    char token_file[CREDS_PATH_MAX + 1];
    char session_name[65];       /* AWS_ROLE_SESSION_NAME, or "" to generate one per call */
    char sts_url[CREDS_URL_MAX + 1];
    char ca_file[CREDS_PATH_MAX + 1]; /* AWS_CA_BUNDLE, "" = system CAs */
};

struct creds_container {
    char url[CREDS_URL_MAX + 1];
    char auth_file[CREDS_PATH_MAX + 1]; /* re-read on every fetch; wins over auth */
    char auth[CREDS_AUTH_MAX + 1];      /* AWS_CONTAINER_AUTHORIZATION_TOKEN, "" if none */
    char ca_file[CREDS_PATH_MAX + 1];
};

struct creds_imds {
    char base[CREDS_URL_MAX + 1]; /* "http://169.254.169.254", no trailing '/' */
};

enum nw_err creds_fetch_web_identity(void *ctx, struct nw_host_credentials *out, long long *expires_at,
                                     struct nw_error *err);
enum nw_err creds_fetch_container(void *ctx, struct nw_host_credentials *out, long long *expires_at,
                                  struct nw_error *err);
enum nw_err creds_fetch_imds(void *ctx, struct nw_host_credentials *out, long long *expires_at,
                             struct nw_error *err);

/* The STS endpoint for a region under AWS_STS_REGIONAL_ENDPOINTS semantics
 * ("legacy" sends the legacy global regions to sts.amazonaws.com). */
NW_MUST_CHECK enum nw_err creds_sts_url(char *out, size_t cap, const char *region, const char *mode,
                                        struct nw_error *err);

/* FULL_URI must be https, or http to loopback or the ECS/EKS agent addresses. */
NW_MUST_CHECK enum nw_err creds_container_url_allowed(const char *url, struct nw_error *err);

/* Make libcurl ready once, before threads use it. */
void creds_curl_init(void);

#endif
