/*
 * client.c - HTTPS to nitrowallet-host with libcurl (see client.h).
 *
 * Policy: TLS peer verification always on (a CA file or the system CAs),
 * HTTP or HTTPS only, no redirects, bounded response size, 30 s per
 * request.  The CLI is not part of the enclave, so a well-kept client
 * library is the right tool here.
 */
#include "client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/secret.h"

#define DEFAULT_URL "https://127.0.0.1:8443"
#define TIMEOUT_S 30L

/* Copy, truncating to the buffer (paths here come from the operator). */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void cli_client_defaults(struct cli_client *c)
{
    const char *home = getenv("NITROWALLET_HOME"), *url = getenv("NITROWALLET_URL"), *ca = getenv("NITROWALLET_CA");
    char path[CLI_PATH_MAX + 16];

    memset(c, 0, sizeof *c);
    copy(c->home, sizeof c->home, home && *home ? home : ".nitrowallet");
    copy(c->url, sizeof c->url, url && *url ? url : DEFAULT_URL);
    if (ca && *ca) {
        copy(c->ca, sizeof c->ca, ca);
    } else {
        snprintf(path, sizeof path, "%s/ca.pem", c->home);
        if (access(path, R_OK) == 0)
            copy(c->ca, sizeof c->ca, path);
    }
}

void cli_token_wipe(char token[CLI_TOKEN_MAX])
{
    nw_wipe(token, CLI_TOKEN_MAX);
}

int cli_token_load(const struct cli_client *c, const char *file, const char *default_name, char token[CLI_TOKEN_MAX])
{
    const char *env_file = getenv("NITROWALLET_TOKEN_FILE"), *env_tok = getenv("NITROWALLET_TOKEN");
    char path[CLI_PATH_MAX + 64];
    size_t n;
    FILE *f;

    memset(token, 0, CLI_TOKEN_MAX);
    if ((file == NULL || *file == '\0') && (env_file == NULL || *env_file == '\0') && env_tok && *env_tok) {
        if (strlen(env_tok) >= CLI_TOKEN_MAX) {
            fprintf(stderr, "nitrowallet: $NITROWALLET_TOKEN is too long\n");
            return -1;
        }
        copy(token, CLI_TOKEN_MAX, env_tok);
        return 0;
    }
    if (file && *file)
        copy(path, sizeof path, file);
    else if (env_file && *env_file)
        copy(path, sizeof path, env_file);
    else
        snprintf(path, sizeof path, "%s/%s", c->home, default_name);
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "nitrowallet: cannot read the API token %s (give --token-file FILE, or run `make run` "
                        "to create one)\n", path);
        return -1;
    }
    n = fread(token, 1, CLI_TOKEN_MAX - 1, f);
    fclose(f);
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
        token[--n] = '\0';
    if (n == 0 || n >= CLI_TOKEN_MAX - 1 || strpbrk(token, "\r\n") != NULL) {
        cli_token_wipe(token);
        fprintf(stderr, "nitrowallet: %s does not hold one token\n", path);
        return -1;
    }
    return 0;
}

struct sink {
    struct nw_buf buf;
    int too_large;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;

    if (nw_buf_append(&s->buf, p, n) != NW_OK) {
        s->too_large = 1;
        return 0; /* makes curl fail the transfer */
    }
    return n;
}

int cli_request(const struct cli_client *c, const char *method, const char *path, const char *token,
                const char *json_body, const char *idempotency_key, struct cli_response *r)
{
    static int curl_ready;
    char url[2048], auth[CLI_TOKEN_MAX + 32], idem[300];
    struct curl_slist *h = NULL;
    struct sink s = {.too_large = 0};
    CURL *e;
    CURLcode rc;

    memset(r, 0, sizeof *r);
    nw_buf_init(&s.buf, CLI_RESPONSE_MAX + 1);
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return fprintf(stderr, "nitrowallet: cannot initialise libcurl\n"), -1;
        curl_ready = 1;
    }
    if (snprintf(url, sizeof url, "%s%s", c->url, path) >= (int)sizeof url)
        return fprintf(stderr, "nitrowallet: URL too long\n"), -1;
    e = curl_easy_init();
    if (e == NULL)
        return fprintf(stderr, "nitrowallet: out of memory\n"), -1;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
        nw_wipe(auth, sizeof auth);
    }
    if (json_body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (idempotency_key) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", idempotency_key);
        h = curl_slist_append(h, idem);
    }
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, TIMEOUT_S);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
    if (json_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, json_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json_body));
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
    rc = curl_easy_perform(e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    for (struct curl_slist *n = h; n; n = n->next) /* the list holds a copy of the token */
        nw_wipe(n->data, strlen(n->data));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK) {
        fprintf(stderr, "nitrowallet: %s %s: %s\n", method, url,
                s.too_large ? "response larger than 4 MiB" : curl_easy_strerror(rc));
        nw_buf_free(&s.buf);
        return -1;
    }
    if (nw_buf_append_byte(&s.buf, 0) != NW_OK) {
        nw_buf_free(&s.buf);
        return fprintf(stderr, "nitrowallet: out of memory\n"), -1;
    }
    r->body = (char *)s.buf.data; /* the response owns the buffer now */
    r->len = s.buf.len - 1;
    r->json = cJSON_ParseWithLength(r->body, r->len);
    return 0;
}

void cli_response_free(struct cli_response *r)
{
    cJSON_Delete(r->json);
    free(r->body);
    memset(r, 0, sizeof *r);
}

const char *cli_json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int cli_print_error(const struct cli_response *r)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
    const char *code = cli_json_str(e, "code"), *msg = cli_json_str(e, "message"), *rid = cli_json_str(e, "request_id");

    if (code && msg)
        fprintf(stderr, "nitrowallet: HTTP %ld %s: %s%s%s%s\n", r->status, code, msg, rid ? " (request " : "",
                rid ? rid : "", rid ? ")" : "");
    else
        fprintf(stderr, "nitrowallet: HTTP %ld: %.200s\n", r->status, r->body ? r->body : "");
    return 1;
}
