/*
 * policy.c - `nitrowallet policy check POLICY REQUEST` and `policy show
 * POLICY`: an account policy evaluated offline, with the code the enclave
 * decides with (src/policy/), so an operator can test a policy before an
 * account is created with it (docs/policy.md).
 *
 * REQUEST is the body of a signing request, as POST
 * /v1/accounts/{name}/sign/{tx,message,typed-data,digest} takes it:
 * {"transaction": {...}}, {"message": "..."} or {"message_hex": "0x.."},
 * {"typed_data": {...}}, {"digest": "0x.."}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nitrowallet/eip712.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/message.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/tx.h"

#define REQUEST_MAX (1u << 20)
/* Exit codes: 0 allowed, 3 denied (1: invalid input, 2: usage). */
#define EXIT_DENIED 3

static int fail(const char *what, const struct nw_error *err)
{
    fprintf(stderr, "nitrowallet: %s: %s: %s\n", what, nw_err_name(err->code), err->msg);
    return 1;
}

static int load_policy(struct nw_policy *p, const char *path)
{
    size_t len;
    char *text = (char *)nw_cli_read_file(path, NW_POLICY_MAX_JSON, &len);
    struct nw_error err = {0};
    int rc = 0;

    if (text == NULL)
        return 1;
    if (nw_policy_parse(p, text, len, &err) != NW_OK)
        rc = fail(path, &err);
    free(text);
    return rc;
}

static void print_digest(const struct nw_policy *p)
{
    char hex[NW_HEX_SIZE(32)];
    if (nw_hex_encode(hex, sizeof hex, p->digest, 32) == NW_OK)
        printf("policy_digest: %s\n", hex);
}

static int show(const char *path)
{
    struct nw_policy p;
    struct nw_buf canon;
    struct nw_error err = {0};
    int rc;

    if (load_policy(&p, path) != 0)
        return 1;
    nw_buf_init(&canon, NW_POLICY_MAX_CANONICAL);
    rc = nw_policy_canonical(&canon, &p, &err) == NW_OK ? 0 : fail(path, &err);
    if (rc == 0) {
        printf("rules: %zu\n", p.n_rules);
        print_digest(&p);
        printf("canonical: %.*s\n", (int)canon.len, (const char *)canon.data);
    }
    nw_buf_free(&canon);
    nw_policy_free(&p);
    return rc;
}

/* The request's kind and what the policy reads of it, decoded as the enclave decodes it. */
static int decode(struct nw_policy_request *r, struct nw_tx *tx, int *have_tx, const cJSON *body, struct nw_error *err)
{
    const cJSON *t = nw_json_get(body, "transaction"), *m = nw_json_get(body, "message");
    const cJSON *mh = nw_json_get(body, "message_hex"), *td = nw_json_get(body, "typed_data");
    const cJSON *dg = nw_json_get(body, "digest");
    int n = (t != NULL) + (m != NULL) + (mh != NULL) + (td != NULL) + (dg != NULL);

    if (n != 1)
        return nw_fail(err, NW_ERR_BAD_REQUEST,
                       "request: exactly one of transaction, message, message_hex, typed_data, digest");
    if (t != NULL) {
        if (nw_tx_from_json(tx, t, err) != NW_OK)
            return nw_error_prefix(err, "transaction"), err->code;
        *have_tx = 1;
        r->kind = NW_POLICY_TRANSACTION;
        r->tx = tx;
    } else if (m != NULL || mh != NULL) {
        const char *s;
        size_t len;
        if (nw_json_string(&s, &len, m ? m : mh, m ? "message" : "message_hex", err) != NW_OK)
            return err->code;
        if (mh != NULL) {
            uint8_t *buf = malloc(NW_MESSAGE_MAX);
            enum nw_err rc = buf ? nw_hex_decode(buf, NW_MESSAGE_MAX, &len, s, len, err)
                                 : nw_fail(err, NW_ERR_NOMEM, "out of memory");
            free(buf);
            if (rc != NW_OK)
                return nw_error_prefix(err, "message_hex"), rc;
        }
        if (len > NW_MESSAGE_MAX)
            return nw_fail(err, NW_ERR_TOO_LARGE, "message: more than %u bytes", NW_MESSAGE_MAX);
        r->kind = NW_POLICY_MESSAGE;
        r->message_len = len;
    } else if (td != NULL) {
        struct nw_eip712_hashes h;
        if (nw_eip712_hash(&h, td, err) != NW_OK)
            return nw_error_prefix(err, "typed_data"), err->code;
        r->kind = NW_POLICY_TYPED_DATA;
        r->typed_data = td;
    } else {
        r->kind = NW_POLICY_DIGEST;
    }
    return NW_OK;
}

static int check(const char *policy_path, const char *request_path, long long now)
{
    struct nw_policy p;
    struct nw_policy_request r = {.now = now >= 0 ? (uint64_t)now : (uint64_t)time(NULL)};
    struct nw_policy_decision d;
    struct nw_tx tx;
    struct nw_error err = {0};
    cJSON *body = NULL;
    size_t len;
    char *text;
    int have_tx = 0, rc = 1;

    if (load_policy(&p, policy_path) != 0)
        return 1;
    if ((text = (char *)nw_cli_read_file(request_path, REQUEST_MAX, &len)) == NULL)
        goto out;
    if (nw_json_parse(&body, text, len, REQUEST_MAX, &err) != NW_OK || !cJSON_IsObject(body)) {
        if (err.code == NW_OK)
            nw_fail(&err, NW_ERR_BAD_REQUEST, "request: must be a JSON object");
        rc = fail(request_path, &err);
        goto out;
    }
    if (decode(&r, &tx, &have_tx, body, &err) != NW_OK) {
        rc = fail(request_path, &err);
        goto out;
    }
    if (nw_policy_evaluate(&d, &p, &r, &err) != NW_OK && err.code != NW_ERR_POLICY_DENIED) {
        rc = fail("evaluate", &err);
        goto out;
    }
    printf("decision: %s\nkind: %s\nrule: %s\nreason: %s\n", d.allowed ? "allow" : "deny", nw_policy_kind_name(r.kind),
           d.rule, d.reason);
    print_digest(&p);
    rc = d.allowed ? 0 : EXIT_DENIED;
out:
    if (have_tx)
        nw_tx_free(&tx);
    cJSON_Delete(body);
    free(text);
    nw_policy_free(&p);
    return rc;
}

int nw_cli_policy(int argc, char **argv)
{
    long long now = -1;

    if (argc == 3 && strcmp(argv[1], "show") == 0)
        return show(argv[2]);
    if ((argc == 4 || argc == 6) && strcmp(argv[1], "check") == 0) {
        if (argc == 6) {
            char *end;
            if (strcmp(argv[4], "--now") != 0 || (now = strtoll(argv[5], &end, 10)) < 0 || *end != '\0' ||
                end == argv[5]) {
                fprintf(stderr, "nitrowallet: policy check: --now takes Unix seconds\n");
                return 2;
            }
        }
        return check(argv[2], argv[3], now);
    }
    fprintf(stderr, "usage: nitrowallet policy check POLICY.json REQUEST.json [--now UNIX_SECONDS]\n"
                    "       nitrowallet policy show POLICY.json\n");
    return 2;
}
