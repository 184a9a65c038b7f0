/*
 * storage_dynamodb_http.c - one DynamoDB JSON API call (POST /, X-Amz-Target
 * DynamoDB_20120810.<Op>, application/x-amz-json-1.0) over libcurl, signed
 * with our SigV4 signer (sigv4.h, service "dynamodb"), with the retry policy.
 *
 * Host-side.  Trust boundary: the host holds AWS credentials (asked from the
 * provider before every attempt, so expiring credentials are renewed) and
 * never logs them or a body; responses are untrusted, bounded to
 * DDB_RESPONSE_MAX and parsed strictly (storage_dynamodb_item.c).
 *
 * Retry policy (docs/storage.md): ProvisionedThroughputExceededException,
 * ThrottlingException, RequestLimitExceeded (400: not applied), any 5xx and
 * transport failures (perhaps applied: the caller is told, `ambiguous`) are
 * retried up to NW_DYNAMODB_MAX_ATTEMPTS attempts with "full jitter"
 * backoff, sleep = random(0, min(cap, base * 2^n)) (AWS Architecture Blog,
 * "Exponential Backoff And Jitter").  Other 4xx are final and never retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/credentials.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/sigv4.h"
#include "storage_dynamodb_internal.h"

#define TARGET_PREFIX "DynamoDB_20120810."

static const char *const throttling[] = {"ProvisionedThroughputExceededException", "ThrottlingException",
                                         "RequestLimitExceeded", NULL};

static int is_throttling(const char *type)
{
    for (size_t i = 0; throttling[i] != NULL; i++)
        if (strcmp(type, throttling[i]) == 0)
            return 1;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct nw_buf *b = ctx;

    /* size is 1 for curl write callbacks; returning less aborts the transfer */
    return nw_buf_append(b, p, size * n) == NW_OK ? size * n : 0;
}

static CURL *take_handle(struct ddb *d)
{
    CURL *c = NULL;

    pthread_mutex_lock(&d->lock);
    if (d->n_idle > 0)
        c = d->idle[--d->n_idle];
    pthread_mutex_unlock(&d->lock);
    return c != NULL ? c : curl_easy_init();
}

static void give_handle(struct ddb *d, CURL *c)
{
    pthread_mutex_lock(&d->lock);
    if (d->n_idle < DDB_IDLE_HANDLES) {
        d->idle[d->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&d->lock);
    curl_easy_cleanup(c);
}

void ddb_http_close(struct ddb *d)
{
    for (size_t i = 0; i < d->n_idle; i++)
        curl_easy_cleanup(d->idle[i]);
    d->n_idle = 0;
}

/* "Name: value" for curl; 0 when it does not fit. */
static int header_line(char *out, size_t cap, const char *name, const char *value)
{
    int n = snprintf(out, cap, "%s: %s", name, value);

    return n > 0 && (size_t)n < cap;
}

struct signed_headers {
    char target[64], date[17], auth[NW_SIGV4_AUTH_MAX];
    struct nw_host_credentials creds;
};

/* Sign the request; fills h->auth and h->date. */
static enum nw_err sign(struct ddb *d, struct signed_headers *h, const char *op, const char *body, size_t len,
                        struct nw_error *err)
{
    struct nw_http_header hd[5];
    struct nw_error e = {0};
    size_t n = 0;
    enum nw_err rc;

    if (d->credentials == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "dynamodb: no credentials provider");
    if (d->credentials->get(d->credentials->ctx, &h->creds, &e) != NW_OK) {
        /* the host's configuration, not the API client's request */
        rc = nw_fail(err, e.code == NW_ERR_NOMEM ? NW_ERR_NOMEM : NW_ERR_INTERNAL, "dynamodb: credentials (%s): %s",
                     d->credentials->name, e.msg);
        goto out;
    }
    snprintf(h->target, sizeof h->target, TARGET_PREFIX "%s", op);
    nw_sigv4_amz_date(h->date, time(NULL));
#define HDR(nm, val) hd[n++] = (struct nw_http_header){nm, strlen(nm), val, strlen(val)}
    HDR("content-type", "application/x-amz-json-1.0");
    HDR("host", d->host);
    HDR("x-amz-date", h->date);
    HDR("x-amz-target", h->target);
    if (h->creds.session_token[0] != '\0')
        HDR("x-amz-security-token", h->creds.session_token);
#undef HDR
    struct nw_sigv4_request rq = {"POST", "/", "", hd, n, (const uint8_t *)body, len};
    struct nw_aws_credentials ac = {h->creds.access_key_id, h->creds.secret_access_key,
                                    h->creds.session_token[0] ? h->creds.session_token : NULL};
    rc = nw_sigv4_sign(h->auth, sizeof h->auth, &rq, &ac, d->region, "dynamodb", err);
out:
    return rc;
}

struct attempt {
    long status; /* 0: transport failure */
    CURLcode curl_rc;
    struct nw_buf body;
};

/* One HTTP exchange.  NW_OK whenever an attempt was made (see a->status). */
static enum nw_err attempt_once(struct ddb *d, const char *op, const char *body, size_t len, struct attempt *a,
                                struct nw_error *err)
{
    struct signed_headers *h = calloc(1, sizeof *h);
    char lines[5][NW_CREDS_MAX + 64];
    struct curl_slist *list = NULL, *tmp;
    CURL *c = NULL;
    enum nw_err rc = NW_OK;
    int ok = 1;

    if (h == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
    NW_GUARD(sign(d, h, op, body, len, err));
    ok = header_line(lines[0], sizeof lines[0], "Content-Type", "application/x-amz-json-1.0") &&
         header_line(lines[1], sizeof lines[1], "X-Amz-Date", h->date) &&
         header_line(lines[2], sizeof lines[2], "X-Amz-Target", h->target) &&
         header_line(lines[3], sizeof lines[3], "Authorization", h->auth) &&
         header_line(lines[4], sizeof lines[4], "X-Amz-Security-Token", h->creds.session_token);
    if (!ok) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: a request header is too long");
        goto out;
    }
    /* "Expect:" stops curl's 100-continue round trip; Host comes from the URL, as signed */
    const char *fixed[] = {lines[0], lines[1], lines[2], lines[3], "Expect:", "Accept:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + (h->creds.session_token[0] != '\0'); i++) {
        tmp = curl_slist_append(list, i < 6 ? fixed[i] : lines[4]);
        if (tmp == NULL) {
            rc = nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
            goto out;
        }
        list = tmp;
    }
    if ((c = take_handle(d)) == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "dynamodb: cannot create a curl handle");
        goto out;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->timeout_ms < 3000 ? d->timeout_ms : 3000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DDB_RESPONSE_MAX);
    a->curl_rc = curl_easy_perform(c);
    a->status = 0;
    if (a->curl_rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    else if (a->curl_rc == CURLE_WRITE_ERROR || a->curl_rc == CURLE_FILESIZE_EXCEEDED)
        rc = nw_fail(err, NW_ERR_TOO_LARGE, "dynamodb: %s response exceeds %u bytes", op, DDB_RESPONSE_MAX);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    give_handle(d, c);
out:
    curl_slist_free_all(list);
    nw_wipe(lines, sizeof lines);
    if (h != NULL) {
        nw_wipe(h, sizeof *h);
        free(h);
    }
    return rc;
}

/* Sleep random(0, min(cap, base * 2^n)) milliseconds. */
static void backoff(unsigned n)
{
    unsigned long ceiling = NW_DYNAMODB_BACKOFF_BASE_MS, r = 0;
    struct timespec ts;

    for (unsigned i = 0; i < n && ceiling < NW_DYNAMODB_BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > NW_DYNAMODB_BACKOFF_CAP_MS)
        ceiling = NW_DYNAMODB_BACKOFF_CAP_MS;
    if (nw_random(&r, sizeof r) != NW_OK)
        r = (unsigned long)time(NULL);
    r %= ceiling + 1;
    ts.tv_sec = (time_t)(r / 1000);
    ts.tv_nsec = (long)(r % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Decide on one attempt: 1 = retry, 0 = final (rc says how). */
static int classify(struct ddb *d, const char *op, enum ddb_table table, struct attempt *a, struct ddb_result *res,
                    enum nw_err *rc, char last[DDB_TYPE_MAX + 32], struct nw_error *err)
{
    char type[DDB_TYPE_MAX];

    if (a->status == 0) {
        res->ambiguous = 1;
        snprintf(last, DDB_TYPE_MAX + 32, "transport failure (%s)", curl_easy_strerror(a->curl_rc));
        return 1;
    }
    ddb_error_type(type, (const char *)a->body.data, a->body.len);
    if (a->status == 200) {
        /* table descriptions carry fractional times (CreationDateTime), which the
         * strict parser refuses; only their TableStatus string is read */
        if (strcmp(op, "DescribeTable") == 0 || strcmp(op, "CreateTable") == 0)
            *rc = ddb_parse_table_body(&res->json, (const char *)a->body.data, a->body.len, err);
        else
            *rc = ddb_parse_body(&res->json, (const char *)a->body.data, a->body.len, err);
        if (*rc != NW_OK)
            nw_error_prefix(err, "dynamodb: %s response", op);
        return 0;
    }
    if (a->status >= 500 || (a->status == 400 && is_throttling(type))) {
        res->ambiguous |= a->status >= 500;
        snprintf(last, DDB_TYPE_MAX + 32, "HTTP %ld%s%s", a->status, type[0] ? " " : "", type);
        return 1;
    }
    snprintf(res->type, sizeof res->type, "%s", type);
    if (strcmp(type, "ResourceNotFoundException") == 0)
        *rc = nw_fail(err, NW_ERR_INTERNAL,
                      "dynamodb: table '%s' does not exist (create it, or start the host with --create-tables)",
                      d->table[table]);
    else
        /* our request was refused: a fault of the host or its table, not of the API client */
        *rc = nw_fail(err, NW_ERR_INTERNAL, "dynamodb: %s on %s: HTTP %ld %s", op, d->table[table], a->status,
                      type[0] ? type : "(no error type)");
    return 0;
}

enum nw_err ddb_call(struct ddb *d, const char *op, const cJSON *req, enum ddb_table table, struct ddb_result *res,
                     struct nw_error *err)
{
    char *body = cJSON_PrintUnformatted(req);
    char last[DDB_TYPE_MAX + 32] = "";
    enum nw_err rc = NW_OK;
    struct attempt a;

    memset(res, 0, sizeof *res);
    if (body == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "dynamodb: out of memory");
    for (;;) {
        nw_buf_init(&a.body, DDB_RESPONSE_MAX);
        res->attempts++;
        rc = attempt_once(d, op, body, strlen(body), &a, err);
        int again = rc == NW_OK && classify(d, op, table, &a, res, &rc, last, err);
        nw_buf_free(&a.body);
        if (!again)
            break;
        if (res->attempts >= NW_DYNAMODB_MAX_ATTEMPTS) {
            rc = nw_fail(err, NW_ERR_UNAVAILABLE, "dynamodb: %s on %s failed %u times, last: %s", op, d->table[table],
                         res->attempts, last);
            break;
        }
        backoff(res->attempts - 1);
    }
    free(body);
    return rc;
}

void ddb_result_clear(struct ddb_result *res)
{
    cJSON_Delete(res->json);
    res->json = NULL;
}
