/*
 * policy.h - account policies: what an account may sign, decided on what
 * is actually signed (docs/policy.md).
 *
 * A policy is a JSON document {"version": 1, "rules": [...]} sealed with
 * the account's key (its digest is in the seal's AAD).  Each rule has an
 * id, an effect (allow or deny), a kind (transaction, message, typed_data,
 * digest) and conditions; a rule matches a request when every condition it
 * states holds.  Evaluation: any matching deny rule denies; otherwise the
 * first matching allow rule allows; otherwise the request is denied by
 * default.  Conditions read the request as the signer decodes it (the
 * parsed transaction, its calldata as an ERC-20 call, the typed data's
 * domain and message), never anything said about it.
 *
 * The module is pure code: no I/O, no clock (the caller passes the time),
 * no global state.  The enclave links it to decide; the host and the CLI
 * to validate early and to explain.  The parser is strict (unknown and
 * duplicate keys refused, every value type- and range-checked) and bounded
 * by the NW_POLICY_MAX_* limits below.
 */
#ifndef NITROWALLET_POLICY_H
#define NITROWALLET_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/tx.h"
#include "nitrowallet/u256.h"

#define NW_POLICY_VERSION 1
#define NW_POLICY_MAX_JSON (64u * 1024u) /* bytes of policy JSON */
#define NW_POLICY_MAX_RULES 64
#define NW_POLICY_MAX_LIST 256     /* entries in any one list */
#define NW_POLICY_MAX_ENTRIES 4096 /* list entries over the whole policy */
#define NW_POLICY_MAX_ID 64        /* rule id: [A-Za-z0-9._-], 1..64 */
#define NW_POLICY_MAX_DESCRIPTION 256
#define NW_POLICY_MAX_STRING 256                         /* a domain name or version, a primaryType */
#define NW_POLICY_MAX_DEADLINE (10ull * 366 * 24 * 3600) /* deadline_max_seconds */
/* The canonical text (nw_policy_canonical) of a policy within the limits. */
#define NW_POLICY_MAX_CANONICAL (256u * 1024u)
/* A decision's reason, rule id included. */
#define NW_POLICY_REASON_MAX 256

enum nw_policy_kind {
    NW_POLICY_TRANSACTION = 0,
    NW_POLICY_MESSAGE = 1,
    NW_POLICY_TYPED_DATA = 2,
    NW_POLICY_DIGEST = 3,
};

struct nw_policy_rule;

struct nw_policy {
    unsigned version;
    struct nw_policy_rule *rules;
    size_t n_rules;
    uint8_t digest[32]; /* sha256 of the canonical text (nw_policy_canonical) */
};

/*
 * Parse and validate a policy object.  On failure (NW_ERR_BAD_REQUEST, or
 * NW_ERR_TOO_LARGE naming the limit) `p` holds nothing.  Release with
 * nw_policy_free().
 */
NW_MUST_CHECK enum nw_err nw_policy_from_json(struct nw_policy *p, const cJSON *obj, struct nw_error *err);

/* nw_json_parse + nw_policy_from_json over raw bytes (at most NW_POLICY_MAX_JSON). */
NW_MUST_CHECK enum nw_err nw_policy_parse(struct nw_policy *p, const char *json, size_t len, struct nw_error *err);

/* The rules of the default policy (docs/policy.md), as JSON array members. */
#define NW_POLICY_DEFAULT_RULES                                                                                        \
    "{\"id\":\"default-transactions\",\"effect\":\"allow\",\"kind\":\"transaction\",\"allow_unlimited_approval\":"     \
    "true},"                                                                                                           \
    "{\"id\":\"default-messages\",\"effect\":\"allow\",\"kind\":\"message\"},"                                         \
    "{\"id\":\"default-typed-data\",\"effect\":\"allow\",\"kind\":\"typed_data\"}"

/*
 * The default policy of an account created without one: every transaction,
 * message and typed-data document, unlimited ERC-20 approvals included (all
 * an account could sign before policies existed); raw digests not.
 */
NW_MUST_CHECK enum nw_err nw_policy_default(struct nw_policy *p, struct nw_error *err);

void nw_policy_free(struct nw_policy *p);

/*
 * The canonical text of `p`: compact JSON, keys in a fixed order, addresses
 * in lower case, quantities as decimal strings, lists as given.  Parsing it
 * gives the same policy (and the same text); p->digest is its sha256.
 * Appends to `out` (initialised by the caller with a maximum).
 */
NW_MUST_CHECK enum nw_err nw_policy_canonical(struct nw_buf *out, const struct nw_policy *p, struct nw_error *err);

/* What is to be signed, as the signer decoded it. */
struct nw_policy_request {
    enum nw_policy_kind kind;
    const struct nw_tx *tx;  /* NW_POLICY_TRANSACTION */
    size_t message_len;      /* NW_POLICY_MESSAGE: bytes of the message */
    const cJSON *typed_data; /* NW_POLICY_TYPED_DATA: a document nw_eip712_hash accepted */
    uint64_t now;            /* Unix seconds, for permit deadlines */
};

struct nw_policy_decision {
    int allowed;
    /* The rule that decided; "default" when no rule of the request's kind
     * exists; for a default denial the allow rule that came closest. */
    char rule[NW_POLICY_MAX_ID + 1];
    char reason[NW_POLICY_REASON_MAX];
    size_t rule_index; /* into p->rules; p->n_rules for "default" */
};

/*
 * Decide `r` under `p`.  Returns NW_OK when allowed, NW_ERR_POLICY_DENIED
 * (with `rule "ID": reason` in err) when not.  `d` may be NULL.
 */
NW_MUST_CHECK enum nw_err nw_policy_evaluate(struct nw_policy_decision *d, const struct nw_policy *p,
                                             const struct nw_policy_request *r, struct nw_error *err);

const char *nw_policy_kind_name(enum nw_policy_kind kind);

/* 1 if s[0..len) is a well-formed rule id: 1..NW_POLICY_MAX_ID of [A-Za-z0-9._-]. */
int nw_policy_id_valid(const char *s, size_t len);

#endif
