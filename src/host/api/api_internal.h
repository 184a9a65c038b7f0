/*
 * api_internal.h - shared pieces of the host API (src/host/api/api_*.c, http.c):
 * the per-request state, the response being built and small helpers.
 * Trust boundary: network-facing, host side.
 */
#ifndef NITROWALLET_API_INTERNAL_H
#define NITROWALLET_API_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "nitrowallet/auth.h"
#include "nitrowallet/buf.h"
#include "nitrowallet/host.h"
#include "nitrowallet/proto.h"
#include "nitrowallet/storage.h"

#define API_REQUEST_ID_LEN 36 /* "req-" + 32 hex */

struct api_metrics;

struct api_guard;
struct api_workers;

struct nw_host {
    struct MHD_Daemon *daemon;
    struct MHD_Daemon *metrics_daemon; /* --metrics-listen (plain HTTP, one thread), or NULL */
    unsigned metrics_port;
    struct api_guard *guard;       /* per-connection request deadlines (http_guard.c) */
    struct api_workers *workers;   /* threads that route requests off the event threads (http.c) */
    struct nw_host_config cfg;
    char *cert_pem, *key_pem;
    unsigned port;
    struct api_metrics *metrics;
    struct api_inflight *inflight; /* Idempotency-Keys being acted on (api_idem.c) */
};

struct api_resp {
    int status;
    char *body; /* malloc'd JSON (or text for /metrics) */
    const char *content_type;
};

enum api_req_state {
    API_REQ_RECEIVING = 0, /* headers and body arriving */
    API_REQ_QUEUED,        /* connection suspended, with the workers */
    API_REQ_ANSWERED,      /* resp set by a worker, connection resumed */
};

struct api_req {
    struct nw_host *host;
    struct MHD_Connection *conn;
    const char *method;
    char path[512];
    struct nw_buf body;
    int too_large;
    int path_too_long;
    char request_id[API_REQUEST_ID_LEN + 1];
    struct nw_auth_principal who;
    long long start_us;
    const char *endpoint; /* metrics label */
    int on_metrics;       /* arrived on the metrics listener (--metrics-listen) */
    enum api_req_state state;
    struct api_resp resp; /* a worker's answer */
    struct api_req *next; /* in the workers' queue */
};

/* {"error":{"code","message","request_id"}} with `status`.  Always returns 0. */
int api_error(struct api_req *rq, struct api_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* An error from an enum nw_err (status from nw_err_http_status, code from
 * its name, message from api_client_message; the full text is logged with
 * the request id when the client's message differs). */
int api_fail(struct api_req *rq, struct api_resp *rs, const struct nw_error *err);
/* As api_fail, with error.rule set (a policy denial; rule may be NULL). */
int api_fail_rule(struct api_req *rq, struct api_resp *rs, const struct nw_error *err, const char *rule);

/* What a client may read of `err` (issue 11): KMS_DENIED, KMS_UNAVAILABLE,
 * UNAVAILABLE, ATTESTATION_INVALID and the internal codes carry text from
 * AWS and the deployment (role and key ARNs, account ids, endpoints, table
 * names), so they get a fixed sentence per code; for the codes about the
 * request itself (BAD_REQUEST, POLICY_DENIED, SEAL_INVALID, TOO_LARGE) the
 * text is kept, with any ARN still in it shown as "<arn>" and any 12-digit
 * account id as "<account>".  Returns 1 when the message differs from
 * err->msg (the caller logs the original). */
int api_client_message(const struct nw_error *err, char *out, size_t cap);

/* Print `obj` (consumed) as the response body with `status`.  Returns 1, or 0 on NOMEM (500 set). */
int api_json(struct api_req *rq, struct api_resp *rs, int status, cJSON *obj);

/* Check content type, parse the body strictly and allow only `allowed` keys.
 * 1 and *obj set on success; 0 with the error response set. */
int api_body(struct api_req *rq, struct api_resp *rs, const char *const *allowed, cJSON **obj);

/* 1 if the principal may do `action` (on `account`); else 403 set and 0. */
int api_allowed(struct api_req *rq, struct api_resp *rs, enum nw_auth_action action, const char *account);

/* Query argument or NULL. */
const char *api_query(struct api_req *rq, const char *key);

/* Pagination arguments: limit (1..100, default 50) and cursor.  0 with 400 set on error. */
int api_page_args(struct api_req *rq, struct api_resp *rs, size_t *limit, const char **cursor);

/* Dispatch one complete request (api_route.c). */
void api_route(struct api_req *rq, struct api_resp *rs);

/* Route handlers (api_accounts.c, api_sign.c). */
void api_accounts_create(struct api_req *rq, struct api_resp *rs);
void api_accounts_list(struct api_req *rq, struct api_resp *rs);
void api_accounts_get(struct api_req *rq, struct api_resp *rs, const char *name);
void api_accounts_proof(struct api_req *rq, struct api_resp *rs, const char *name);
void api_signatures_list(struct api_req *rq, struct api_resp *rs, const char *name);
void api_sign(struct api_req *rq, struct api_resp *rs, const char *name, const char *kind);
void api_health(struct api_req *rq, struct api_resp *rs, int ready);
void api_attestation(struct api_req *rq, struct api_resp *rs);

/* The `account` param of a sign_* call from a stored record (api_sign.c).
 * The record is checked as it is read (nw_storage_check_account): the
 * database is outside the enclave's trust boundary, so a damaged field is
 * SEAL_INVALID, like a swapped one, not the client's BAD_REQUEST.  NULL with
 * *err set (SEAL_INVALID or NOMEM) on failure. */
cJSON *api_account_param(const struct nw_account_record *a, struct nw_error *err);

/* An enclave error for a sign_* call, as the client must see it: a
 * BAD_REQUEST about the `account` param concerns the stored record (clients
 * cannot send that param), so it becomes SEAL_INVALID. */
void api_sign_enclave_error(struct nw_error *err);

/* Idempotency (api_idem.c): 1 when a stored response was replayed (or refused). */
int api_idem_lookup(struct api_req *rq, struct api_resp *rs, char key[NW_STORAGE_IDEM_KEY_MAX + 1],
                    char fp[NW_STORAGE_FINGERPRINT_MAX + 1]);
void api_idem_store(struct api_req *rq, const struct api_resp *rs, const char *key, const char *fp);
struct api_inflight *api_inflight_new(void);
void api_inflight_free(struct api_inflight *f);

/* Connection deadlines (http_guard.c): the TLS handshake, headers and body
 * of each request within request_timeout_s; later requests on a keep-alive
 * connection get keepalive_s more. */
struct api_guard *api_guard_new(unsigned request_timeout_s, unsigned keepalive_s);
void api_guard_free(struct api_guard *g); /* after the daemon stopped */
void api_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code); /* MHD_OPTION_NOTIFY_CONNECTION, cls = nw_host */
int api_guard_expired(struct nw_host *h, struct MHD_Connection *conn);  /* past its deadline */
void api_guard_answering(struct nw_host *h, struct MHD_Connection *conn); /* headers and body are in */
void api_guard_answered(struct nw_host *h, struct MHD_Connection *conn);  /* response done: keep-alive */
void api_guard_stats(struct api_guard *g, unsigned long long *open, unsigned long long *reaped);

/* Metrics (api_metrics.c). */
struct api_metrics *api_metrics_new(void);
void api_metrics_free(struct api_metrics *m);
void api_metrics_observe(struct api_metrics *m, const char *endpoint, int status, long long micros);
/* One policy decision of the enclave, by the rule that made it. */
void api_metrics_policy(struct api_metrics *m, const char *rule, int allowed);
void api_metrics_render(struct api_req *rq, struct api_resp *rs);

#endif
