/*
 * api_route.c - request routing of the host API (docs/host-api.md): health
 * without authentication, /metrics (and /readyz's details) only on the
 * metrics listener (loopback by default), everything under /v1 behind a bearer
 * token (auth.h; 401 before anything else is looked at), Idempotency-Key
 * handling around the creating and signing POSTs (after their authorization),
 * and GET /v1/attestation.
 *
 * Trust boundary: network-facing.  Paths are bounded and account names
 * validated (nw_storage_name_valid) before they reach storage or logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/json.h"

/*
 * /healthz: this process answers (nothing else is consulted).  /readyz: an
 * enclave answered its last call or background probe, read from the pool's
 * state without taking a connection, so it never waits behind signing
 * traffic (when none is known up, a probe round is asked for and awaited
 * for up to READY_WAIT_MS).  On the API listener both say only ok / ready or not; on the
 * metrics listener /readyz also lists the endpoints.
 */
#define READY_WAIT_MS 1000 /* a probe round when no enclave is known up (the probe's own bound is 2 s) */

void api_health(struct api_req *rq, struct api_resp *rs, int ready)
{
    cJSON *o = cJSON_CreateObject();
    int up;

    if (o == NULL) {
        api_error(rq, rs, 500, "NOMEM", "out of memory");
        return;
    }
    if (!ready) {
        cJSON_AddStringToObject(o, "status", "ok");
        api_json(rq, rs, 200, o);
        return;
    }
    up = nw_enclave_pool_wait_ready(rq->host->cfg.pool, READY_WAIT_MS);
    if (!up && !rq->on_metrics) {
        cJSON_Delete(o);
        api_error(rq, rs, 503, "UNAVAILABLE", "not ready: no healthy enclave");
        return;
    }
    cJSON_AddStringToObject(o, "status", up ? "ready" : "not ready");
    if (rq->on_metrics) {
        struct nw_enclave_endpoint_stats e[NW_POOL_MAX_ENDPOINTS];
        size_t n = nw_enclave_pool_endpoints(rq->host->cfg.pool, e, NW_POOL_MAX_ENDPOINTS);
        cJSON *list = cJSON_AddArrayToObject(o, "enclaves");
        for (size_t i = 0; list != NULL && i < n; i++) {
            cJSON *it = cJSON_CreateObject();
            cJSON_AddStringToObject(it, "endpoint", e[i].spec);
            cJSON_AddBoolToObject(it, "up", e[i].up);
            cJSON_AddItemToArray(list, it);
        }
    }
    api_json(rq, rs, up ? 200 : 503, o);
}

void api_attestation(struct api_req *rq, struct api_resp *rs)
{
    struct nw_error err = {0};
    const char *nonce = api_query(rq, "nonce");
    cJSON *params = NULL, *res = NULL;
    if (nonce == NULL || strlen(nonce) < 4 || strlen(nonce) > 130) {
        api_error(rq, rs, 400, "BAD_REQUEST", "nonce: required, 0x + 1..64 bytes of hex");
        return;
    }
    params = cJSON_CreateObject();
    if (params == NULL || cJSON_AddStringToObject(params, "nonce", nonce) == NULL) {
        api_error(rq, rs, 500, "NOMEM", "out of memory");
        goto out;
    }
    if (nw_enclave_pool_call(rq->host->cfg.pool, NW_OP_ATTESTATION, params, 0, &res, &err) != NW_OK) {
        nw_error_prefix(&err, "nonce");
        api_fail(rq, rs, &err);
        goto out;
    }
    api_json(rq, rs, 200, res);
    res = NULL;
out:
    cJSON_Delete(params);
    cJSON_Delete(res);
}

static int authenticate(struct api_req *rq, struct api_resp *rs)
{
    const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    enum nw_auth_result r = nw_auth_check(rq->host->cfg.auth, h, h ? strlen(h) : 0, &rq->who);
    if (r == NW_AUTH_OK) return 1;
    return api_error(rq, rs, 401, "UNAUTHORIZED", "%s", nw_auth_result_message(r));
}

static int method_is(const struct api_req *rq, const char *m)
{
    return strcmp(rq->method, m) == 0;
}

static void not_allowed(struct api_req *rq, struct api_resp *rs)
{
    api_error(rq, rs, 405, "METHOD_NOT_ALLOWED", "method %s not allowed here", rq->method);
}

/* /v1/accounts/{name}[/rest]: split off and validate the name. */
static void route_account(struct api_req *rq, struct api_resp *rs, const char *p)
{
    char name[NW_STORAGE_NAME_MAX + 1];
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n > NW_STORAGE_NAME_MAX) {
        api_error(rq, rs, 404, "NOT_FOUND", "no such account");
        return;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    if (!nw_storage_name_valid(name)) {
        api_error(rq, rs, 404, "NOT_FOUND", "no such account");
        return;
    }
    const char *rest = slash ? slash : "";
    if (rest[0] == '\0') {
        rq->endpoint = "accounts_get";
        if (method_is(rq, "GET")) api_accounts_get(rq, rs, name);
        else not_allowed(rq, rs);
    } else if (strcmp(rest, "/proof") == 0) {
        rq->endpoint = "accounts_proof";
        if (method_is(rq, "GET")) api_accounts_proof(rq, rs, name);
        else not_allowed(rq, rs);
    } else if (strcmp(rest, "/signatures") == 0) {
        rq->endpoint = "signatures_list";
        if (method_is(rq, "GET")) api_signatures_list(rq, rs, name);
        else not_allowed(rq, rs);
    } else if (strncmp(rest, "/sign/", 6) == 0) {
        rq->endpoint = "sign";
        if (strcmp(rest + 6, "transaction") == 0) rq->endpoint = "sign_transaction";
        else if (strcmp(rest + 6, "message") == 0) rq->endpoint = "sign_message";
        else if (strcmp(rest + 6, "typed-data") == 0) rq->endpoint = "sign_typed_data";
        else if (strcmp(rest + 6, "digest") == 0) rq->endpoint = "sign_digest";
        if (method_is(rq, "POST")) api_sign(rq, rs, name, rest + 6);
        else not_allowed(rq, rs);
    } else {
        api_error(rq, rs, 404, "NOT_FOUND", "no such endpoint");
    }
}

static void route_v1(struct api_req *rq, struct api_resp *rs)
{
    const char *p = rq->path;
    if (strcmp(p, "/v1/attestation") == 0) {
        rq->endpoint = "attestation";
        if (method_is(rq, "GET")) api_attestation(rq, rs);
        else not_allowed(rq, rs);
    } else if (strcmp(p, "/v1/accounts") == 0) {
        rq->endpoint = method_is(rq, "POST") ? "accounts_create" : "accounts_list";
        if (method_is(rq, "POST")) api_accounts_create(rq, rs);
        else if (method_is(rq, "GET")) api_accounts_list(rq, rs);
        else not_allowed(rq, rs);
    } else if (strncmp(p, "/v1/accounts/", 13) == 0) {
        route_account(rq, rs, p + 13);
    } else {
        api_error(rq, rs, 404, "NOT_FOUND", "no such endpoint");
    }
}

/*
 * A POST that Idempotency-Key can replay (create, sign) is authorized for
 * its action and account before the stored response is looked up: a token
 * whose grant changed since (tokens.json edited, host restarted) must not
 * be handed the signature it may no longer ask for.  1: authorized, look up;
 * 0: not such a POST, route it without idempotency; -1: 403 set.
 */
static int replay_authorized(struct api_req *rq, struct api_resp *rs)
{
    char name[NW_STORAGE_NAME_MAX + 1];
    const char *p = rq->path, *slash;
    size_t n;

    if (!method_is(rq, "POST"))
        return 0;
    if (strcmp(p, "/v1/accounts") == 0) {
        rq->endpoint = "accounts_create";
        return api_allowed(rq, rs, NW_AUTH_ACCOUNT_CREATE, NULL) ? 1 : -1;
    }
    if (strncmp(p, "/v1/accounts/", 13) != 0 || (slash = strchr(p + 13, '/')) == NULL ||
        strncmp(slash, "/sign/", 6) != 0)
        return 0;
    n = (size_t)(slash - (p + 13));
    if (n == 0 || n > NW_STORAGE_NAME_MAX)
        return 0;
    memcpy(name, p + 13, n);
    name[n] = '\0';
    if (!nw_storage_name_valid(name))
        return 0;
    rq->endpoint = "sign";
    return api_allowed(rq, rs, NW_AUTH_SIGN, name) ? 1 : -1;
}

void api_route(struct api_req *rq, struct api_resp *rs)
{
    char key[NW_STORAGE_IDEM_KEY_MAX + 1] = "", fp[NW_STORAGE_FINGERPRINT_MAX + 1] = "";
    rq->endpoint = "other";
    if (rq->path_too_long) {
        api_error(rq, rs, 414, "TOO_LARGE", "request path too long");
    } else if (strcmp(rq->path, "/healthz") == 0 || strcmp(rq->path, "/readyz") == 0) {
        int ready = rq->path[1] == 'r';
        rq->endpoint = ready ? "readyz" : "healthz";
        if (method_is(rq, "GET")) api_health(rq, rs, ready);
        else not_allowed(rq, rs);
    } else if (strcmp(rq->path, "/metrics") == 0 && rq->on_metrics) {
        rq->endpoint = "metrics";
        if (method_is(rq, "GET")) api_metrics_render(rq, rs);
        else not_allowed(rq, rs);
    } else if (strcmp(rq->path, "/metrics") == 0) {
        api_error(rq, rs, 404, "NOT_FOUND", "metrics are served on the metrics listener (--metrics-listen)");
    } else if (rq->on_metrics) {
        api_error(rq, rs, 404, "NOT_FOUND", "the metrics listener serves /metrics, /healthz and /readyz only");
    } else if (strncmp(rq->path, "/v1/", 4) != 0) {
        api_error(rq, rs, 404, "NOT_FOUND", "no such endpoint");
    } else if (authenticate(rq, rs)) {
        int replayable = replay_authorized(rq, rs);
        if (replayable < 0 || (replayable > 0 && api_idem_lookup(rq, rs, key, fp))) return;
        route_v1(rq, rs);
        api_idem_store(rq, rs, key, fp);
    }
}
