/*
 * credentials.h - AWS credentials for the host: the provider interface the
 * enclave pool uses, and the default provider chain (docs/credentials.md).
 *
 * The chain looks for credentials in the order AWS SDKs use and takes the
 * first source that is configured:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY[, AWS_SESSION_TOKEN]
 *   2. web identity (IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE ->
 *      STS AssumeRoleWithWebIdentity
 *   3. container (ECS, EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *      or _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]
 *   4. EC2 instance metadata, IMDSv2 only (unless AWS_EC2_METADATA_DISABLED=true)
 * A source that is configured but fails is an error: the chain does not fall
 * through to another identity.  Temporary credentials are cached and
 * refreshed when they come within the refresh margin of their Expiration; a
 * failed refresh keeps the old ones while they are still valid.
 *
 * Trust boundary: host side.  The secret key, session token and the web
 * identity / authorization tokens are secrets: they are wiped when dropped
 * and never appear in an error message.  This module uses libcurl and is
 * never linked into the enclave (tests/suites/enclave_tcb.sh).
 */
#ifndef NITROWALLET_CREDENTIALS_H
#define NITROWALLET_CREDENTIALS_H

#include <stddef.h>

#include "nitrowallet/error.h"
#include "nitrowallet/sigv4.h"

#define NW_CREDS_MAX 4096                 /* secret key or session token, bytes */
#define NW_CREDS_REFRESH_MARGIN_S 300     /* refresh this long before Expiration */
#define NW_CREDS_RETRY_S 10               /* wait after a failed refresh (old still valid) */
#define NW_CREDS_MAX_RESPONSE (64u * 1024u) /* STS, container and IMDS response bodies */

/* AWS credentials, as the enclave's `credentials` param wants them. */
struct nw_host_credentials {
    char access_key_id[129];
    char secret_access_key[NW_CREDS_MAX + 1];
    char session_token[NW_CREDS_MAX + 1]; /* "" when none */
};

/* Wipe credentials. */
void nw_host_credentials_wipe(struct nw_host_credentials *c);

/* Borrowed view for SigV4 signing (sigv4.h); valid while `c` is. */
void nw_host_credentials_view(struct nw_aws_credentials *out, const struct nw_host_credentials *c);

/*
 * A credentials provider: fills `out`.  Called from many threads at once;
 * `ctx` is the provider's own state.
 */
struct nw_credentials_provider {
    const char *name;
    enum nw_err (*get)(void *ctx, struct nw_host_credentials *out, struct nw_error *err);
    void *ctx;
};

/* Only AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional). */
extern const struct nw_credentials_provider nw_credentials_env;

/*
 * One source of credentials.  fetch fills `out` and *expires_at (Unix
 * seconds; 0 = never expires).  `ctx` belongs to the source.
 */
struct nw_creds_source {
    const char *name;
    enum nw_err (*fetch)(void *ctx, struct nw_host_credentials *out, long long *expires_at, struct nw_error *err);
    void *ctx;
};

struct nw_creds_chain_config {
    long long (*now)(void *clock_ctx); /* Unix seconds; NULL = the system clock */
    void *clock_ctx;
    int refresh_margin_s;              /* 0 = NW_CREDS_REFRESH_MARGIN_S */
    int retry_s;                       /* 0 = NW_CREDS_RETRY_S */
};

struct nw_creds_chain;

/*
 * The default chain: pick the first configured source from the environment
 * (read now; token files are re-read on every refresh).  `cfg` may be NULL.
 * Fails with NW_ERR_BAD_REQUEST naming every source when none is configured
 * (only possible with instance metadata disabled) or when a configured source
 * is malformed (e.g. an access key without a secret key).  Nothing is fetched
 * yet.
 */
NW_MUST_CHECK enum nw_err nw_creds_chain_from_env(struct nw_creds_chain **out, const struct nw_creds_chain_config *cfg,
                                                  struct nw_error *err);

/* A cache over one given source (copied; its ctx must outlive the chain). */
NW_MUST_CHECK enum nw_err nw_creds_chain_new(struct nw_creds_chain **out, const struct nw_creds_source *src,
                                             const struct nw_creds_chain_config *cfg, struct nw_error *err);

/* Wipe and free (NULL is fine). */
void nw_creds_chain_free(struct nw_creds_chain *c);

/*
 * Current credentials, fetched or refreshed when needed.  Thread-safe: one
 * thread refreshes; while the cached ones are still valid the others keep
 * using them.  `expires_at` may be NULL.
 */
NW_MUST_CHECK enum nw_err nw_creds_chain_get(struct nw_creds_chain *c, struct nw_host_credentials *out,
                                             long long *expires_at, struct nw_error *err);

/* Name of the source in use ("environment", "web identity", ...). */
const char *nw_creds_chain_source(const struct nw_creds_chain *c);

struct nw_creds_stats {
    unsigned long long fetches;  /* calls into the source */
    unsigned long long failures; /* of which failed */
};
void nw_creds_chain_stats(struct nw_creds_chain *c, struct nw_creds_stats *out);

/* The chain as a provider for the enclave pool (the chain must outlive it). */
void nw_creds_chain_provider(struct nw_credentials_provider *out, struct nw_creds_chain *c);

/* --- response parsers (pure functions; fuzz/fuzz_creds_*.c) --------------- */

/*
 * An STS AssumeRoleWithWebIdentity XML response body (at most
 * NW_CREDS_MAX_RESPONSE bytes): a strict, bounded reader that accepts only
 * well-formed XML without DTD, CDATA or processing instructions (other than
 * the XML declaration), and takes exactly
 * AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/
 * {AccessKeyId,SecretAccessKey,SessionToken,Expiration}, each once.
 */
NW_MUST_CHECK enum nw_err nw_creds_parse_sts(struct nw_host_credentials *out, long long *expires_at,
                                             const char *body, size_t len, struct nw_error *err);

/* The <Code> of an STS ErrorResponse ("" when absent or malformed). */
void nw_creds_sts_error_code(char *out, size_t cap, const char *body, size_t len);

/*
 * A container or IMDS credentials JSON document: AccessKeyId,
 * SecretAccessKey, Token, Expiration (strings).  With `require_success` the
 * document must also carry "Code": "Success" (IMDS).
 */
NW_MUST_CHECK enum nw_err nw_creds_parse_json(struct nw_host_credentials *out, long long *expires_at,
                                              const char *body, size_t len, int require_success,
                                              struct nw_error *err);

/* An ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)" as Unix seconds. */
NW_MUST_CHECK enum nw_err nw_creds_parse_time(long long *out, const char *s, size_t len, struct nw_error *err);

#endif
