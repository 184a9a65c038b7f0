/*
 * credentials_fetch.c - the network side of the credential sources
 * (credentials_internal.h): STS AssumeRoleWithWebIdentity, the container
 * credentials endpoint (ECS, EKS Pod Identity) and EC2 instance metadata
 * (IMDSv2), over libcurl.
 *
 * Trust boundary: host side; responses are untrusted and carry secrets.
 * Every exchange is bounded (NW_CREDS_MAX_RESPONSE, into a locked secret
 * buffer), time-limited (1 s to connect to the link-local endpoints, as the
 * SDKs do), follows no redirect (a redirect could carry the Authorization
 * header or the token elsewhere), speaks only http/https, verifies TLS, and
 * goes through no proxy for the metadata endpoints.  No URL that may carry
 * a capability, no token and no response body is ever put in a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "credentials_internal.h"
#include "nitrowallet/secret.h"

#define META_CONNECT_MS 1000L
#define META_TOTAL_MS 5000L
#define STS_CONNECT_MS 5000L
#define STS_TOTAL_MS 15000L
#define META_ATTEMPTS 2
#define IMDS_TOKEN_TTL "21600" /* seconds, the SDKs' value */
#define IMDS_TOKEN_MAX 1024
#define IMDS_ROLE_MAX 128

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { (void)curl_global_init(CURL_GLOBAL_DEFAULT); }
void creds_curl_init(void) { pthread_once(&curl_once, curl_init_once); }

/* ------------------------------------------------------------ HTTP */

struct http_resp {
    long status;
    struct nw_secret buf; /* NW_CREDS_MAX_RESPONSE + 1 bytes */
    size_t len;
    int overflow;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t add = size * n;
    if (add > NW_CREDS_MAX_RESPONSE - r->len) {
        r->overflow = 1;
        return 0; /* aborts the transfer */
    }
    memcpy(r->buf.data + r->len, p, add);
    r->len += add;
    return add;
}

struct http_req {
    const char *method;      /* "GET", "PUT", "POST" */
    const char *url;
    struct curl_slist *headers;
    const char *body;        /* POST/PUT; NULL = empty */
    size_t body_len;
    int metadata;            /* link-local endpoint: short timeouts, no proxy */
    const char *ca_file;     /* "" or NULL = system CAs */
    const char *what;        /* names the endpoint in messages */
};

static enum nw_err http_once(const struct http_req *q, struct http_resp *r, CURLcode *cc, struct nw_error *err)
{
    CURL *h = curl_easy_init();
    if (h == NULL) return nw_fail(err, NW_ERR_NOMEM, "%s: curl", q->what);
    r->len = 0;
    r->overflow = 0;
    r->status = 0;
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (q->ca_file != NULL && q->ca_file[0] != '\0') curl_easy_setopt(h, CURLOPT_CAINFO, q->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, q->metadata ? META_CONNECT_MS : STS_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->metadata ? META_TOTAL_MS : STS_TOTAL_MS);
    if (q->metadata) curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nitrowallet-host");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (strcmp(q->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body != NULL ? q->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body != NULL ? q->body_len : 0));
        if (strcmp(q->method, "POST") != 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    }
    *cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
    if (r->overflow) return nw_fail(err, NW_ERR_UNAVAILABLE, "%s: response over %u bytes", q->what, NW_CREDS_MAX_RESPONSE);
    if (*cc != CURLE_OK) return nw_fail(err, NW_ERR_UNAVAILABLE, "%s: %s", q->what, curl_easy_strerror(*cc));
    r->buf.data[r->len] = '\0';
    return NW_OK;
}

/* One exchange; metadata endpoints get a second try after a transport error. */
static enum nw_err http_do(const struct http_req *q, struct http_resp *r, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    CURLcode cc = CURLE_OK;
    int attempts = q->metadata ? META_ATTEMPTS : 1;
    for (int i = 0; i < attempts; i++) {
        rc = http_once(q, r, &cc, err);
        if (rc == NW_OK || r->overflow) break;
    }
    return rc; /* the body stays in r->buf (locked), wiped when it is freed */
}

static enum nw_err secret(struct nw_secret *s, size_t len, struct nw_error *err)
{
    enum nw_err rc = nw_secret_alloc(s, len);
    return rc == NW_OK ? NW_OK : nw_fail(err, rc, "cannot allocate locked memory for credentials");
}

static enum nw_err resp_init(struct http_resp *r, struct nw_error *err)
{
    memset(r, 0, sizeof(*r));
    return secret(&r->buf, NW_CREDS_MAX_RESPONSE + 1, err);
}

/* ------------------------------------------------------------ files */

/* Read a token file (re-read on every refresh: the kubelet rotates them).
 * Trailing line breaks are dropped; the rest must be printable ASCII. */
static enum nw_err read_token_file(char *out, size_t cap, const char *path, const char *what, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return nw_fail(err, NW_ERR_UNAVAILABLE, "%s: cannot open token file: %s", what, strerror(errno));
    for (;;) {
        if (len == cap) NW_GUARD(nw_fail(err, NW_ERR_TOO_LARGE, "%s: token file over %zu bytes", what, cap - 1));
        ssize_t n = read(fd, out + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) NW_GUARD(nw_fail(err, NW_ERR_UNAVAILABLE, "%s: cannot read token file: %s", what, strerror(errno)));
        if (n == 0) break;
        len += (size_t)n;
    }
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r')) len--;
    if (len == 0 || len >= cap) NW_GUARD(nw_fail(err, NW_ERR_UNAVAILABLE, "%s: token file is empty or too long", what));
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
            NW_GUARD(nw_fail(err, NW_ERR_UNAVAILABLE, "%s: token file has invalid characters", what));
    out[len] = '\0';
out:
    close(fd);
    if (rc != NW_OK) nw_wipe(out, cap);
    return rc;
}

/* ------------------------------------------------------------ web identity */

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
static int form_append(char *out, size_t cap, size_t *len, const char *key, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    int n = snprintf(out + *len, cap - *len, "%s%s=", *len ? "&" : "", key);
    if (n < 0 || (size_t)n >= cap - *len) return 0;
    *len += (size_t)n;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '~';
        if (cap - *len < 4) return 0;
        if (plain) {
            out[(*len)++] = (char)c;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[c >> 4];
            out[(*len)++] = hex[c & 15];
        }
    }
    out[*len] = '\0';
    return 1;
}

static enum nw_err sts_error(const struct http_resp *r, struct nw_error *err)
{
    char code[64];
    nw_creds_sts_error_code(code, sizeof(code), (const char *)r->buf.data, r->len);
    return nw_fail(err, NW_ERR_UNAVAILABLE, "STS AssumeRoleWithWebIdentity: HTTP %ld%s%s%s", r->status,
                   code[0] ? " (" : "", code, code[0] ? ")" : "");
}

enum nw_err creds_fetch_web_identity(void *ctx, struct nw_host_credentials *out, long long *expires_at,
                                     struct nw_error *err)
{
    const struct creds_web_identity *w = ctx;
    enum nw_err rc = NW_OK;
    struct nw_secret token = {0}, body = {0};
    struct http_resp r;
    struct curl_slist *hdr = NULL;
    char session[80];
    size_t blen = 0;
    if (resp_init(&r, err) != NW_OK) return err ? err->code : NW_ERR_NOMEM;
    NW_GUARD(secret(&token, CREDS_TOKEN_MAX + 1, err));
    NW_GUARD(secret(&body, 3 * CREDS_TOKEN_MAX + 3 * CREDS_ARN_MAX + 512, err));
    NW_GUARD(read_token_file((char *)token.data, token.len, w->token_file, "web identity", err));
    if (w->session_name[0]) snprintf(session, sizeof(session), "%s", w->session_name);
    else snprintf(session, sizeof(session), "nitrowallet-%lld", (long long)time(NULL));
    char *b = (char *)body.data;
    if (!form_append(b, body.len, &blen, "Action", "AssumeRoleWithWebIdentity") ||
        !form_append(b, body.len, &blen, "Version", "2011-06-15") ||
        !form_append(b, body.len, &blen, "RoleArn", w->role_arn) ||
        !form_append(b, body.len, &blen, "RoleSessionName", session) ||
        !form_append(b, body.len, &blen, "WebIdentityToken", (const char *)token.data))
        NW_GUARD(nw_fail(err, NW_ERR_INTERNAL, "STS request too large"));
    /* AssumeRoleWithWebIdentity is not signed: the token is the proof */
    hdr = curl_slist_append(hdr, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    if (hdr == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "STS request"));
    struct http_req q = {.method = "POST", .url = w->sts_url, .headers = hdr, .body = b, .body_len = blen,
                         .ca_file = w->ca_file, .what = "STS"};
    NW_GUARD(http_do(&q, &r, err));
    if (r.status != 200) NW_GUARD(sts_error(&r, err));
    rc = nw_creds_parse_sts(out, expires_at, (const char *)r.buf.data, r.len, err);
    if (rc != NW_OK) rc = err ? (err->code = NW_ERR_UNAVAILABLE) : NW_ERR_UNAVAILABLE;
out:
    curl_slist_free_all(hdr);
    nw_secret_free(&token);
    nw_secret_free(&body);
    nw_secret_free(&r.buf);
    if (rc != NW_OK) nw_error_prefix(err, "web identity");
    return rc;
}

/* ------------------------------------------------------------ container */

static int allowed_http_host(const char *host)
{
    static const char *const hosts[] = {"169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "localhost", "[::1]"};
    struct in_addr a4;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        if (strcmp(host, hosts[i]) == 0) return 1;
    /* any IPv4 loopback literal, 127.0.0.0/8 */
    return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

enum nw_err creds_container_url_allowed(const char *url, struct nw_error *err)
{
    enum nw_err rc = NW_OK;
    char *scheme = NULL, *host = NULL;
    CURLU *u = curl_url();
    if (u == NULL) return nw_fail(err, NW_ERR_NOMEM, "url");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL"));
    if (strcmp(scheme, "https") == 0) goto out;
    if (strcmp(scheme, "http") != 0 || !allowed_http_host(host))
        NW_GUARD(nw_fail(err, NW_ERR_BAD_REQUEST,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to loopback, 169.254.170.2, "
                         "169.254.170.23 or fd00:ec2::23"));
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

enum nw_err creds_fetch_container(void *ctx, struct nw_host_credentials *out, long long *expires_at,
                                  struct nw_error *err)
{
    const struct creds_container *c = ctx;
    enum nw_err rc = NW_OK;
    struct nw_secret auth = {0};
    struct http_resp r;
    struct curl_slist *hdr = NULL, *h2;
    if (resp_init(&r, err) != NW_OK) return err ? err->code : NW_ERR_NOMEM;
    NW_GUARD(secret(&auth, CREDS_AUTH_MAX + 32, err));
    hdr = curl_slist_append(NULL, "Accept: application/json");
    if (hdr == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "container request"));
    char *a = (char *)auth.data;
    memcpy(a, "Authorization: ", 15);
    if (c->auth_file[0]) {
        NW_GUARD(read_token_file(a + 15, CREDS_AUTH_MAX + 1, c->auth_file, "container", err));
    } else if (c->auth[0]) {
        memcpy(a + 15, c->auth, strlen(c->auth) + 1);
    }
    if (a[15] != '\0') {
        if ((h2 = curl_slist_append(hdr, a)) == NULL) NW_GUARD(nw_fail(err, NW_ERR_NOMEM, "container request"));
        hdr = h2;
    }
    struct http_req q = {.method = "GET", .url = c->url, .headers = hdr, .metadata = 1, .ca_file = c->ca_file,
                         .what = "container endpoint"};
    NW_GUARD(http_do(&q, &r, err));
    if (r.status != 200) NW_GUARD(nw_fail(err, NW_ERR_UNAVAILABLE, "HTTP %ld", r.status));
    rc = nw_creds_parse_json(out, expires_at, (const char *)r.buf.data, r.len, 0, err);
    if (rc != NW_OK) rc = err ? (err->code = NW_ERR_UNAVAILABLE) : NW_ERR_UNAVAILABLE;
out:
    /* curl copies header strings into its slist: wipe those too */
    for (struct curl_slist *s = hdr; s != NULL; s = s->next) nw_wipe(s->data, strlen(s->data));
    curl_slist_free_all(hdr);
    nw_secret_free(&auth);
    nw_secret_free(&r.buf);
    if (rc != NW_OK) nw_error_prefix(err, "container");
    return rc;
}

/* ------------------------------------------------------------ IMDSv2 */

static enum nw_err imds_get(const struct creds_imds *m, const char *path, const char *token_hdr,
                            struct http_resp *r, struct nw_error *err)
{
    char url[CREDS_URL_MAX + 256];
    struct curl_slist *hdr = curl_slist_append(NULL, token_hdr);
    if (hdr == NULL) return nw_fail(err, NW_ERR_NOMEM, "IMDS request");
    snprintf(url, sizeof(url), "%s%s", m->base, path);
    struct http_req q = {.method = "GET", .url = url, .headers = hdr, .metadata = 1, .what = m->base};
    enum nw_err rc = http_do(&q, r, err);
    for (struct curl_slist *s = hdr; s != NULL; s = s->next) nw_wipe(s->data, strlen(s->data));
    curl_slist_free_all(hdr);
    if (rc == NW_OK && r->status != 200) {
        if (r->status == 404 && strcmp(path, "/latest/meta-data/iam/security-credentials/") == 0)
            return nw_fail(err, NW_ERR_UNAVAILABLE, "no IAM role attached to this instance");
        return nw_fail(err, NW_ERR_UNAVAILABLE, "HTTP %ld", r->status);
    }
    return rc;
}

/* The session token, as a ready "X-aws-ec2-metadata-token: <t>" header. */
static enum nw_err imds_token(const struct creds_imds *m, struct nw_secret *hdr_out, struct http_resp *r,
                              struct nw_error *err)
{
    char url[CREDS_URL_MAX + 32];
    struct curl_slist *hdr = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
    struct curl_slist *h2 = hdr ? curl_slist_append(hdr, "Content-Type:") : NULL; /* no form type on the PUT */
    if (h2 == NULL) {
        curl_slist_free_all(hdr);
        return nw_fail(err, NW_ERR_NOMEM, "IMDS request");
    }
    snprintf(url, sizeof(url), "%s/latest/api/token", m->base);
    struct http_req q = {.method = "PUT", .url = url, .headers = hdr, .metadata = 1, .what = m->base};
    enum nw_err rc = http_do(&q, r, err);
    curl_slist_free_all(hdr);
    if (rc != NW_OK) return rc;
    if (r->status != 200) return nw_fail(err, NW_ERR_UNAVAILABLE, "session token: HTTP %ld", r->status);
    if (r->len == 0 || r->len > IMDS_TOKEN_MAX) return nw_fail(err, NW_ERR_UNAVAILABLE, "bad session token length");
    for (size_t i = 0; i < r->len; i++)
        if (r->buf.data[i] <= 0x20 || r->buf.data[i] >= 0x7f)
            return nw_fail(err, NW_ERR_UNAVAILABLE, "session token has invalid characters");
    snprintf((char *)hdr_out->data, hdr_out->len, "X-aws-ec2-metadata-token: %.*s", (int)r->len, (const char *)r->buf.data);
    return NW_OK;
}

/* The first line of the role listing; IAM role names are [\w+=,.@-]{1,64}. */
static enum nw_err imds_role(char *role, size_t cap, const struct http_resp *r, struct nw_error *err)
{
    size_t n = 0;
    while (n < r->len && r->buf.data[n] != '\n' && r->buf.data[n] != '\r') n++;
    if (n == 0 || n >= cap) return nw_fail(err, NW_ERR_UNAVAILABLE, "bad role name length");
    for (size_t i = 0; i < n; i++) {
        char c = (char)r->buf.data[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("_+=,.@-", c);
        if (!ok) return nw_fail(err, NW_ERR_UNAVAILABLE, "bad role name");
        role[i] = c;
    }
    role[n] = '\0';
    return NW_OK;
}

enum nw_err creds_fetch_imds(void *ctx, struct nw_host_credentials *out, long long *expires_at, struct nw_error *err)
{
    const struct creds_imds *m = ctx;
    enum nw_err rc = NW_OK;
    struct nw_secret tok = {0};
    struct http_resp r;
    char role[IMDS_ROLE_MAX + 1], path[IMDS_ROLE_MAX + 64];
    if (resp_init(&r, err) != NW_OK) return err ? err->code : NW_ERR_NOMEM;
    NW_GUARD(secret(&tok, IMDS_TOKEN_MAX + 64, err));
    NW_GUARD(imds_token(m, &tok, &r, err));
    NW_GUARD(imds_get(m, "/latest/meta-data/iam/security-credentials/", (const char *)tok.data, &r, err));
    NW_GUARD(imds_role(role, sizeof(role), &r, err));
    snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", role);
    NW_GUARD(imds_get(m, path, (const char *)tok.data, &r, err));
    rc = nw_creds_parse_json(out, expires_at, (const char *)r.buf.data, r.len, 1, err);
    if (rc != NW_OK) rc = err ? (err->code = NW_ERR_UNAVAILABLE) : NW_ERR_UNAVAILABLE;
out:
    nw_secret_free(&tok);
    nw_secret_free(&r.buf);
    if (rc != NW_OK) nw_error_prefix(err, "IMDS");
    return rc;
}

/* ------------------------------------------------------------ endpoints */

/* Regions where "legacy" mode used the global endpoint (the SDKs' list). */
static int legacy_global_region(const char *region)
{
    static const char *const r[] = {"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
                                    "aws-global", "ca-central-1", "eu-central-1", "eu-north-1",
                                    "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
                                    "us-east-1", "us-east-2", "us-west-1", "us-west-2"};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (strcmp(region, r[i]) == 0) return 1;
    return 0;
}

enum nw_err creds_sts_url(char *out, size_t cap, const char *region, const char *mode, struct nw_error *err)
{
    if (mode != NULL && mode[0] && strcmp(mode, "legacy") != 0 && strcmp(mode, "regional") != 0)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "AWS_STS_REGIONAL_ENDPOINTS must be legacy or regional");
    if (region == NULL || region[0] == '\0' || (mode != NULL && strcmp(mode, "legacy") == 0 && legacy_global_region(region))) {
        snprintf(out, cap, "https://sts.amazonaws.com/");
        return NW_OK;
    }
    if (strlen(region) > 64) return nw_fail(err, NW_ERR_BAD_REQUEST, "AWS region too long");
    for (const char *p = region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "AWS region has invalid characters");
    const char *domain = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    snprintf(out, cap, "https://sts.%s.%s/", region, domain);
    return NW_OK;
}
