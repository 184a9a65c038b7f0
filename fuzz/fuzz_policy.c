/*
 * fuzz_policy.c - the policy parser and evaluator (src/policy/).
 *
 * Input: a policy document, optionally followed by a NUL byte, one kind
 * byte ('t' transaction JSON, 'y' EIP-712 JSON, 'm' a message of the
 * remaining length, 'd' a digest) and the request.  Invariants beyond "no
 * crash": an accepted policy's canonical text parses back to the same text
 * and digest; a refused one holds nothing; a decision agrees with its
 * return code and names a rule of the policy (or "default").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/eip712.h"
#include "nitrowallet/json.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const struct nw_policy *p)
{
    struct nw_buf a, b;
    struct nw_policy p2;

    nw_buf_init(&a, NW_POLICY_MAX_CANONICAL);
    nw_buf_init(&b, NW_POLICY_MAX_CANONICAL);
    if (nw_policy_canonical(&a, p, NULL) != NW_OK)
        abort(); /* a policy within the limits always has a canonical text */
    if (nw_policy_parse(&p2, (const char *)a.data, a.len, NULL) != NW_OK)
        abort(); /* ... which parses */
    if (nw_policy_canonical(&b, &p2, NULL) != NW_OK || a.len != b.len || memcmp(a.data, b.data, a.len) != 0 ||
        memcmp(p->digest, p2.digest, 32) != 0)
        abort(); /* ... back to itself */
    nw_policy_free(&p2);
    nw_buf_free(&a);
    nw_buf_free(&b);
}

static void check_decision(const struct nw_policy *p, const struct nw_policy_request *r)
{
    struct nw_policy_decision d;
    struct nw_error err = {0};
    enum nw_err rc = nw_policy_evaluate(&d, p, r, &err);

    if (rc == NW_ERR_NOMEM)
        return;
    if ((rc == NW_OK) != d.allowed || (rc != NW_OK && rc != NW_ERR_POLICY_DENIED))
        abort();
    if (d.rule_index < p->n_rules ? strcmp(d.rule, "default") == 0 : strcmp(d.rule, "default") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0, size);
    size_t plen = sep ? (size_t)(sep - data) : size;
    struct nw_policy p;
    struct nw_policy_request r = {.now = 1700000000};

    if (nw_policy_parse(&p, (const char *)data, plen, NULL) != NW_OK) {
        if (p.rules != NULL || p.n_rules != 0)
            abort();
        return 0;
    }
    check_canonical(&p);
    if (sep != NULL && plen + 1 < size) {
        const char *req = (const char *)sep + 2;
        size_t rlen = size - plen - 2;
        switch (sep[1]) {
        case 't': {
            struct nw_tx tx;
            if (nw_tx_parse(&tx, req, rlen, NULL) == NW_OK) {
                r.kind = NW_POLICY_TRANSACTION;
                r.tx = &tx;
                check_decision(&p, &r);
                nw_tx_free(&tx);
            }
            break;
        }
        case 'y': {
            cJSON *doc = NULL;
            struct nw_eip712_hashes h;
            if (nw_json_parse(&doc, req, rlen, NW_EIP712_MAX_JSON, NULL) == NW_OK &&
                nw_eip712_hash(&h, doc, NULL) == NW_OK) {
                r.kind = NW_POLICY_TYPED_DATA;
                r.typed_data = doc;
                check_decision(&p, &r);
            }
            cJSON_Delete(doc);
            break;
        }
        case 'm':
            r.kind = NW_POLICY_MESSAGE;
            r.message_len = rlen;
            check_decision(&p, &r);
            break;
        case 'd':
            r.kind = NW_POLICY_DIGEST;
            check_decision(&p, &r);
            break;
        default: break;
        }
    }
    nw_policy_free(&p);
    return 0;
}
