/*
 * sigv4_tool.c - SigV4 signing and verification from the command line, for
 * the botocore comparison suite (tests/suites/sigv4_botocore.sh).
 *
 *   sigv4_tool          read one request as JSON on stdin, print the
 *                       Authorization header value nw_sigv4_sign computes
 *   sigv4_tool verify   read one signed request (its Authorization among the
 *                       headers, plus "now"), print "OK" or
 *                       "<KIND> <message>" (KIND: MISSING, MALFORMED,
 *                       UNKNOWN_KEY, BAD_SIGNATURE, EXPIRED)
 *   --lines             one JSON request per line, one answer per line
 *
 * Request: {"method", "path", "query", "headers": [[name, value], ...],
 * "body_b64", "access_key", "secret_key", "session_token" (optional),
 * "region", "service", "now" (verify), "max_skew" (verify, default 300)}.
 * In verify mode the key lookup knows exactly access_key -> secret_key and
 * "service" is the service the verifier expects.
 * Exit status (single request): 0 signed / verified, 1 refused, 2 bad input.
 * Test tool only: the secret arrives in the JSON and is never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/base64.h"
#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/sigv4.h"

#define INPUT_MAX (4u << 20)

struct input {
    cJSON *root;
    const char *method, *path, *query, *access_key, *secret_key, *session_token, *region, *service;
    struct nw_http_header headers[NW_SIGV4_MAX_HEADERS + 8];
    size_t n_headers;
    uint8_t *body;
    size_t body_len;
    long long now;
    long long max_skew;
};

static const char *const keys[] = {"method", "path", "query", "headers", "body_b64", "access_key", "secret_key",
                                   "session_token", "region", "service", "now", "max_skew", NULL};

static enum nw_err get_str(const char **out, const cJSON *root, const char *key, int required, struct nw_error *err)
{
    const cJSON *it = nw_json_get(root, key);
    size_t len;

    *out = NULL;
    if (it == NULL || cJSON_IsNull(it))
        return required ? nw_fail(err, NW_ERR_BAD_REQUEST, "missing \"%s\"", key) : NW_OK;
    return nw_json_string(out, &len, it, key, err);
}

static enum nw_err get_headers(struct input *in, struct nw_error *err)
{
    const cJSON *arr = nw_json_get(in->root, "headers"), *pair;
    size_t n = 0;

    if (!cJSON_IsArray(arr))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "\"headers\" must be an array");
    cJSON_ArrayForEach(pair, arr)
    {
        const cJSON *name = cJSON_GetArrayItem(pair, 0), *value = cJSON_GetArrayItem(pair, 1);
        enum nw_err rc;
        if (n == sizeof in->headers / sizeof in->headers[0])
            return nw_fail(err, NW_ERR_TOO_LARGE, "too many headers");
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "header %zu must be [name, value]", n);
        if ((rc = nw_json_string(&in->headers[n].name, &in->headers[n].name_len, name, "header name", err)) != NW_OK ||
            (rc = nw_json_string(&in->headers[n].value, &in->headers[n].value_len, value, "header value", err)) !=
                NW_OK)
            return rc;
        n++;
    }
    in->n_headers = n;
    return NW_OK;
}

static enum nw_err get_body(struct input *in, struct nw_error *err)
{
    const char *b64;
    size_t len;
    const cJSON *it = nw_json_get(in->root, "body_b64");
    enum nw_err rc;

    in->body_len = 0;
    if (it == NULL)
        return NW_OK;
    if ((rc = nw_json_string(&b64, &len, it, "body_b64", err)) != NW_OK)
        return rc;
    if ((in->body = malloc(NW_BASE64_DECODED_MAX(len) + 1)) == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    return nw_base64_decode(in->body, NW_BASE64_DECODED_MAX(len) + 1, &in->body_len, b64, len, err);
}

static enum nw_err get_int(long long *out, const cJSON *root, const char *key, long long dflt,
                           struct nw_error *err)
{
    const cJSON *it = nw_json_get(root, key);

    *out = dflt;
    if (it == NULL)
        return NW_OK;
    if (!cJSON_IsNumber(it))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "\"%s\" must be an integer", key);
    *out = (long long)it->valuedouble; /* integers below 2^53 only (json.h) */
    return NW_OK;
}

static enum nw_err read_input(struct input *in, const char *text, size_t len, struct nw_error *err)
{
    enum nw_err rc;

    memset(in, 0, sizeof *in);
    if ((rc = nw_json_parse(&in->root, text, len, INPUT_MAX, err)) != NW_OK ||
        (rc = nw_json_check_keys(in->root, keys, "request", err)) != NW_OK ||
        (rc = get_str(&in->method, in->root, "method", 1, err)) != NW_OK ||
        (rc = get_str(&in->path, in->root, "path", 1, err)) != NW_OK ||
        (rc = get_str(&in->query, in->root, "query", 0, err)) != NW_OK ||
        (rc = get_str(&in->access_key, in->root, "access_key", 1, err)) != NW_OK ||
        (rc = get_str(&in->secret_key, in->root, "secret_key", 1, err)) != NW_OK ||
        (rc = get_str(&in->session_token, in->root, "session_token", 0, err)) != NW_OK ||
        (rc = get_str(&in->region, in->root, "region", 1, err)) != NW_OK ||
        (rc = get_str(&in->service, in->root, "service", 1, err)) != NW_OK ||
        (rc = get_headers(in, err)) != NW_OK || (rc = get_body(in, err)) != NW_OK ||
        (rc = get_int(&in->now, in->root, "now", 0, err)) != NW_OK ||
        (rc = get_int(&in->max_skew, in->root, "max_skew", 300, err)) != NW_OK)
        return rc;
    return NW_OK;
}

static void free_input(struct input *in)
{
    cJSON_Delete(in->root);
    free(in->body);
    in->root = NULL;
    in->body = NULL;
}

struct one_key {
    const char *akid, *secret;
};

static enum nw_err lookup(void *ctx, const char *akid, char *secret, size_t cap)
{
    const struct one_key *k = ctx;
    size_t n = strlen(k->secret);

    if (strcmp(akid, k->akid) != 0 || n + 1 > cap)
        return NW_ERR_POLICY_DENIED;
    memcpy(secret, k->secret, n + 1);
    return NW_OK;
}

static const char *kind_name(enum nw_sigv4_failure why)
{
    switch (why) {
    case NW_SIGV4_OK: return "OK";
    case NW_SIGV4_MISSING: return "MISSING";
    case NW_SIGV4_MALFORMED: return "MALFORMED";
    case NW_SIGV4_UNKNOWN_KEY: return "UNKNOWN_KEY";
    case NW_SIGV4_BAD_SIGNATURE: return "BAD_SIGNATURE";
    case NW_SIGV4_EXPIRED: return "EXPIRED";
    }
    return "UNKNOWN";
}

static int sign_one(const struct input *in, const struct nw_sigv4_request *req)
{
    struct nw_aws_credentials creds = {in->access_key, in->secret_key, in->session_token};
    char authz[NW_SIGV4_AUTH_MAX];
    struct nw_error err = {0};

    if (nw_sigv4_sign(authz, sizeof authz, req, &creds, in->region, in->service, &err) != NW_OK) {
        printf("ERROR %s\n", err.msg);
        return 2;
    }
    printf("%s\n", authz);
    return 0;
}

static int verify_one(const struct input *in, const struct nw_sigv4_request *req)
{
    struct one_key k = {in->access_key, in->secret_key};
    struct nw_sigv4_verified v;
    enum nw_sigv4_failure why = NW_SIGV4_OK;
    struct nw_error err = {0};

    if (nw_sigv4_verify(&v, &why, req, in->service, lookup, &k, (time_t)in->now, (long)in->max_skew, &err) ==
        NW_OK) {
        printf("OK\n");
        return 0;
    }
    printf("%s %s\n", kind_name(why), err.msg);
    return 1;
}

/* Handle one request text; print one line; return the exit status. */
static int handle(const char *text, size_t len, int verify)
{
    struct input in;
    struct nw_error err = {0};
    int status;

    if (read_input(&in, text, len, &err) != NW_OK) {
        printf("ERROR %s\n", err.msg);
        status = 2;
    } else {
        struct nw_sigv4_request req = {in.method, in.path, in.query ? in.query : "", in.headers, in.n_headers,
                                       in.body, in.body_len};
        status = verify ? verify_one(&in, &req) : sign_one(&in, &req);
    }
    fflush(stdout);
    free_input(&in);
    return status;
}

int main(int argc, char **argv)
{
    int verify = 0, lines = 0, status = 0;
    char *buf = malloc(INPUT_MAX + 1);
    size_t len = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "verify") == 0)
            verify = 1;
        else if (strcmp(argv[i], "--lines") == 0)
            lines = 1;
        else {
            fprintf(stderr, "usage: sigv4_tool [verify] [--lines] < request.json\n");
            return 2;
        }
    }
    if (buf == NULL)
        return 2;
    if (lines) {
        while (fgets(buf, (int)INPUT_MAX + 1, stdin) != NULL) {
            len = strlen(buf);
            if (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
            handle(buf, len, verify);
        }
    } else {
        len = fread(buf, 1, INPUT_MAX + 1, stdin);
        status = len > INPUT_MAX ? (printf("ERROR input too large\n"), 2) : handle(buf, len, verify);
    }
    free(buf);
    return status;
}
