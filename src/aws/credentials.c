/*
 * credentials.c - AWS credentials for the host (include/nitrowallet/credentials.h):
 * the plain environment provider, the default chain that picks a source the
 * way AWS SDKs do, and the cache that refreshes temporary credentials ahead
 * of their expiry (docs/credentials.md).
 *
 * Trust boundary: the host process holds the credentials; the secret key,
 * session token and the tokens that obtain them never appear in an error
 * message or a log line, and every copy is wiped when dropped.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "credentials_internal.h"
#include "nitrowallet/secret.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_DEFAULT_V6 "http://[fd00:ec2::254]"
#define CONTAINER_HOST "http://169.254.170.2"

void nw_host_credentials_view(struct nw_aws_credentials *out, const struct nw_host_credentials *c)
{
    out->access_key_id = c->access_key_id;
    out->secret_access_key = c->secret_access_key;
    out->session_token = c->session_token[0] ? c->session_token : NULL;
}

/* ------------------------------------------------------------ environment */

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

static enum nw_err env_get(void *ctx, struct nw_host_credentials *out, struct nw_error *err)
{
    enum nw_err rc;
    (void)ctx;
    memset(out, 0, sizeof(*out));
    NW_GUARD(env_copy(out->access_key_id, sizeof(out->access_key_id), "AWS_ACCESS_KEY_ID", 1, err));
    NW_GUARD(env_copy(out->secret_access_key, sizeof(out->secret_access_key), "AWS_SECRET_ACCESS_KEY", 1, err));
    NW_GUARD(env_copy(out->session_token, sizeof(out->session_token), "AWS_SESSION_TOKEN", 0, err));
out:
    if (rc != NW_OK) nw_host_credentials_wipe(out);
    return rc;
}

const struct nw_credentials_provider nw_credentials_env = {"env", env_get, NULL};

/* The chain's environment source: a snapshot taken at start, never expiring. */
static enum nw_err env_fetch(void *ctx, struct nw_host_credentials *out, long long *expires_at, struct nw_error *err)
{
    (void)err;
    memcpy(out, ctx, sizeof(*out));
    *expires_at = 0;
    return NW_OK;
}

/* ------------------------------------------------------------ the cache */

struct nw_creds_chain {
    pthread_mutex_t mu;         /* guards everything below but src */
    pthread_mutex_t refresh_mu; /* one fetch at a time */
    struct nw_creds_source src;
    void *owned;                /* the source's state when the chain made it */
    size_t owned_len;
    const char *fallback_note;  /* prefixed to errors of the last-resort source */
    long long (*now)(void *);
    void *clock_ctx;
    int margin_s, retry_s;
    int have;
    struct nw_host_credentials cached;
    long long expires_at;       /* 0 = never */
    long long retry_at;         /* no fetch before this while the cache is usable */
    struct nw_creds_stats stats;
};

static long long system_now(void *ctx)
{
    (void)ctx;
    return (long long)time(NULL);
}

enum nw_err nw_creds_chain_new(struct nw_creds_chain **out, const struct nw_creds_source *src,
                               const struct nw_creds_chain_config *cfg, struct nw_error *err)
{
    *out = NULL;
    struct nw_creds_chain *c = calloc(1, sizeof(*c));
    if (c == NULL) return nw_fail(err, NW_ERR_NOMEM, "credentials chain");
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->refresh_mu, NULL);
    c->src = *src;
    c->now = cfg != NULL && cfg->now != NULL ? cfg->now : system_now;
    c->clock_ctx = cfg != NULL ? cfg->clock_ctx : NULL;
    c->margin_s = cfg != NULL && cfg->refresh_margin_s > 0 ? cfg->refresh_margin_s : NW_CREDS_REFRESH_MARGIN_S;
    c->retry_s = cfg != NULL && cfg->retry_s > 0 ? cfg->retry_s : NW_CREDS_RETRY_S;
    *out = c;
    return NW_OK;
}

void nw_creds_chain_free(struct nw_creds_chain *c)
{
    if (c == NULL) return;
    nw_host_credentials_wipe(&c->cached);
    if (c->owned != NULL) {
        nw_wipe(c->owned, c->owned_len);
        free(c->owned);
    }
    pthread_mutex_destroy(&c->refresh_mu);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *nw_creds_chain_source(const struct nw_creds_chain *c) { return c->src.name; }

void nw_creds_chain_stats(struct nw_creds_chain *c, struct nw_creds_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

/* With c->mu held. */
static int fresh(const struct nw_creds_chain *c, long long now)
{
    return c->have && (c->expires_at == 0 || now < c->expires_at - c->margin_s);
}

static int usable(const struct nw_creds_chain *c, long long now)
{
    return c->have && (c->expires_at == 0 || now < c->expires_at);
}

/* Hand out the cache if `ok(c, now)`; 1 when done.  Takes c->mu. */
static int take_cached(struct nw_creds_chain *c, int (*ok)(const struct nw_creds_chain *, long long), int honour_retry,
                       struct nw_host_credentials *out, long long *expires_at)
{
    pthread_mutex_lock(&c->mu);
    long long now = c->now(c->clock_ctx);
    int done = ok(c, now) || (honour_retry && usable(c, now) && now < c->retry_at);
    if (done) {
        memcpy(out, &c->cached, sizeof(*out));
        if (expires_at != NULL) *expires_at = c->expires_at;
    }
    pthread_mutex_unlock(&c->mu);
    return done;
}

/* Fetch from the source and update the cache; with c->refresh_mu held. */
static enum nw_err refresh(struct nw_creds_chain *c, struct nw_host_credentials *out, long long *expires_at,
                           struct nw_error *err)
{
    struct nw_host_credentials fetched;
    struct nw_error ferr = {0};
    long long exp = 0;
    enum nw_err rc = c->src.fetch(c->src.ctx, &fetched, &exp, &ferr);
    pthread_mutex_lock(&c->mu);
    long long now = c->now(c->clock_ctx);
    c->stats.fetches++;
    if (rc == NW_OK && exp != 0 && exp <= now) {
        rc = nw_fail(&ferr, NW_ERR_UNAVAILABLE, "%s: credentials received already expired", c->src.name);
    }
    if (rc == NW_OK) {
        memcpy(&c->cached, &fetched, sizeof(fetched));
        c->expires_at = exp;
        c->have = 1;
    } else {
        c->stats.failures++;
    }
    /* a failure, or credentials that are already inside the margin, wait
     * retry_s before the next fetch while what we hold is still usable */
    c->retry_at = fresh(c, now) ? 0 : now + c->retry_s;
    if (usable(c, now)) {
        memcpy(out, &c->cached, sizeof(*out));
        if (expires_at != NULL) *expires_at = c->expires_at;
        rc = NW_OK;
    }
    pthread_mutex_unlock(&c->mu);
    nw_host_credentials_wipe(&fetched);
    if (rc != NW_OK && err != NULL) {
        *err = ferr;
        if (c->fallback_note != NULL) nw_error_prefix(err, "%s", c->fallback_note);
    }
    return rc;
}

enum nw_err nw_creds_chain_get(struct nw_creds_chain *c, struct nw_host_credentials *out, long long *expires_at,
                               struct nw_error *err)
{
    enum nw_err rc;
    memset(out, 0, sizeof(*out));
    if (take_cached(c, fresh, 1, out, expires_at)) return NW_OK;
    /* inside the margin but still valid: if another thread is already
     * refreshing, do not wait for it */
    if (pthread_mutex_trylock(&c->refresh_mu) != 0) {
        if (take_cached(c, usable, 0, out, expires_at)) return NW_OK;
        pthread_mutex_lock(&c->refresh_mu);
    }
    if (take_cached(c, fresh, 1, out, expires_at)) { /* refreshed meanwhile */
        pthread_mutex_unlock(&c->refresh_mu);
        return NW_OK;
    }
    rc = refresh(c, out, expires_at, err);
    pthread_mutex_unlock(&c->refresh_mu);
    if (rc != NW_OK) nw_host_credentials_wipe(out);
    return rc;
}

static enum nw_err chain_provider_get(void *ctx, struct nw_host_credentials *out, struct nw_error *err)
{
    return nw_creds_chain_get(ctx, out, NULL, err);
}

void nw_creds_chain_provider(struct nw_credentials_provider *out, struct nw_creds_chain *c)
{
    out->name = c->src.name;
    out->get = chain_provider_get;
    out->ctx = c;
}

/* ------------------------------------------------------------ selection */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Copy an environment value into a fixed field, refusing what does not fit. */
static enum nw_err env_into(char *dst, size_t cap, const char *name, struct nw_error *err)
{
    const char *v = env(name);
    dst[0] = '\0';
    if (v == NULL) return NW_OK;
    size_t len = strlen(v);
    if (len >= cap) return nw_fail(err, NW_ERR_TOO_LARGE, "%s is longer than %zu bytes", name, cap - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s has control characters", name);
    memcpy(dst, v, len + 1);
    return NW_OK;
}

static enum nw_err adopt(struct nw_creds_chain **out, const char *name, void *state, size_t len,
                         enum nw_err (*fetch)(void *, struct nw_host_credentials *, long long *, struct nw_error *),
                         const struct nw_creds_chain_config *cfg, struct nw_error *err)
{
    struct nw_creds_source src = {name, fetch, state};
    enum nw_err rc = nw_creds_chain_new(out, &src, cfg, err);
    if (rc != NW_OK) {
        nw_wipe(state, len);
        free(state);
        return rc;
    }
    (*out)->owned = state;
    (*out)->owned_len = len;
    return NW_OK;
}

static enum nw_err pick_env(struct nw_creds_chain **out, const struct nw_creds_chain_config *cfg, struct nw_error *err)
{
    struct nw_host_credentials *s = calloc(1, sizeof(*s));
    if (s == NULL) return nw_fail(err, NW_ERR_NOMEM, "credentials");
    enum nw_err rc = env_get(NULL, s, err);
    if (rc != NW_OK) {
        free(s);
        nw_error_prefix(err, "environment credentials");
        return rc;
    }
    return adopt(out, "environment", s, sizeof(*s), env_fetch, cfg, err);
}

static enum nw_err pick_web_identity(struct nw_creds_chain **out, const struct nw_creds_chain_config *cfg,
                                     struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct creds_web_identity *w = calloc(1, sizeof(*w));
    if (w == NULL) return nw_fail(err, NW_ERR_NOMEM, "credentials");
    NW_GUARD(env_into(w->role_arn, sizeof(w->role_arn), "AWS_ROLE_ARN", err));
    NW_GUARD(env_into(w->token_file, sizeof(w->token_file), "AWS_WEB_IDENTITY_TOKEN_FILE", err));
    NW_GUARD(env_into(w->session_name, sizeof(w->session_name), "AWS_ROLE_SESSION_NAME", err));
    NW_GUARD(env_into(w->ca_file, sizeof(w->ca_file), "AWS_CA_BUNDLE", err));
    if (!w->role_arn[0] || !w->token_file[0])
        NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "web identity needs both AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"));
    for (const char *p = w->session_name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_+=,.@-", *p)))
            NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_ROLE_SESSION_NAME has invalid characters"));
    /* a configured endpoint (service-specific first) replaces the regional one */
    const char *ep = env("AWS_ENDPOINT_URL_STS") ? env("AWS_ENDPOINT_URL_STS") : env("AWS_ENDPOINT_URL");
    if (ep != NULL) {
        NW_GUARD(env_into(w->sts_url, sizeof(w->sts_url), env("AWS_ENDPOINT_URL_STS") ? "AWS_ENDPOINT_URL_STS"
                                                                                      : "AWS_ENDPOINT_URL", err));
    } else {
        const char *region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
        NW_GUARD(creds_sts_url(w->sts_url, sizeof(w->sts_url), region, env("AWS_STS_REGIONAL_ENDPOINTS"), err));
    }
    rc = adopt(out, "web identity", w, sizeof(*w), creds_fetch_web_identity, cfg, err);
    w = NULL;
out:
    if (w != NULL) {
        nw_wipe(w, sizeof(*w));
        free(w);
    }
    return rc;
}

static enum nw_err pick_container(struct nw_creds_chain **out, const struct nw_creds_chain_config *cfg,
                                  struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct creds_container *c = calloc(1, sizeof(*c));
    if (c == NULL) return nw_fail(err, NW_ERR_NOMEM, "credentials");
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (rel != NULL) { /* the ECS agent address; the relative form wins, as in the SDKs */
        if (rel[0] != '/') NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /"));
        if (strlen(rel) + sizeof(CONTAINER_HOST) > sizeof(c->url))
            NW_GUARD(nw_fail(err, NW_ERR_TOO_LARGE, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI too long"));
        memcpy(c->url, CONTAINER_HOST, sizeof(CONTAINER_HOST) - 1);
        NW_GUARD(env_into(c->url + sizeof(CONTAINER_HOST) - 1, sizeof(c->url) - sizeof(CONTAINER_HOST) + 1,
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", err));
    } else {
        NW_GUARD(env_into(c->url, sizeof(c->url), "AWS_CONTAINER_CREDENTIALS_FULL_URI", err));
        NW_GUARD(creds_container_url_allowed(c->url, err));
    }
    NW_GUARD(env_into(c->auth_file, sizeof(c->auth_file), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", err));
    NW_GUARD(env_into(c->auth, sizeof(c->auth), "AWS_CONTAINER_AUTHORIZATION_TOKEN", err));
    NW_GUARD(env_into(c->ca_file, sizeof(c->ca_file), "AWS_CA_BUNDLE", err));
    rc = adopt(out, "container", c, sizeof(*c), creds_fetch_container, cfg, err);
    c = NULL;
out:
    if (c != NULL) {
        nw_wipe(c, sizeof(*c));
        free(c);
    }
    return rc;
}

static enum nw_err pick_imds(struct nw_creds_chain **out, const struct nw_creds_chain_config *cfg,
                             struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    struct creds_imds *m = calloc(1, sizeof(*m));
    if (m == NULL) return nw_fail(err, NW_ERR_NOMEM, "credentials");
    const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (mode != NULL && strcasecmp(mode, "IPv4") != 0 && strcasecmp(mode, "IPv6") != 0)
        NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6"));
    if (env("AWS_EC2_METADATA_SERVICE_ENDPOINT") != NULL)
        NW_GUARD(env_into(m->base, sizeof(m->base), "AWS_EC2_METADATA_SERVICE_ENDPOINT", err));
    else
        snprintf(m->base, sizeof(m->base), "%s", mode != NULL && strcasecmp(mode, "IPv6") == 0 ? IMDS_DEFAULT_V6 : IMDS_DEFAULT);
    size_t n = strlen(m->base);
    while (n > 0 && m->base[n - 1] == '/') m->base[--n] = '\0';
    if (strncmp(m->base, "http://", 7) != 0 && strncmp(m->base, "https://", 8) != 0)
        NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL"));
    rc = adopt(out, "instance metadata", m, sizeof(*m), creds_fetch_imds, cfg, err);
    m = NULL;
out:
    free(m);
    return rc;
}

enum nw_err nw_creds_chain_from_env(struct nw_creds_chain **out, const struct nw_creds_chain_config *cfg,
                                    struct nw_error *err)
{
    enum nw_err rc;
    *out = NULL;
    creds_curl_init();
    if (env("AWS_ACCESS_KEY_ID") != NULL) return pick_env(out, cfg, err);
    if (env("AWS_SECRET_ACCESS_KEY") != NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    if (env("AWS_ROLE_ARN") != NULL || env("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL)
        return pick_web_identity(out, cfg, err);
    if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL || env("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL)
        return pick_container(out, cfg, err);
    const char *off = env("AWS_EC2_METADATA_DISABLED");
    if (off != NULL && strcasecmp(off, "true") == 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST,
                       "no AWS credentials configured: tried environment (AWS_ACCESS_KEY_ID), web identity "
                       "(AWS_ROLE_ARN), container (AWS_CONTAINER_CREDENTIALS_*), IMDS (AWS_EC2_METADATA_DISABLED)");
    rc = pick_imds(out, cfg, err);
    if (rc == NW_OK) (*out)->fallback_note = "no credentials in environment, web identity or container settings";
    return rc;
}
