/*
 * policy_parse.c - the strict, bounded parser of policy documents
 * (docs/policy.md).
 *
 * Trust boundary: a policy comes from whoever creates the account, through
 * the untrusted host, and is read back from untrusted storage.  Storage
 * cannot change it (the seal's AAD binds its digest), so what matters here
 * is that every document maps to exactly one meaning: unknown and
 * duplicate keys, members that do not belong to the rule's kind, duplicate
 * list entries and values out of range are refused, each with the path of
 * the offending item; every list and the whole document are bounded.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/key.h"

static const char *const top_keys[] = {"version", "rules", NULL};
static const char *const rule_keys[] = {"id", "effect", "kind", "description",
                                        /* transaction */
                                        "tx_types", "chain_ids", "to", "not_to", "contract_creation", "value_max",
                                        "gas_max", "fee_max", "selectors", "allow_unlimited_approval", "erc20",
                                        /* typed_data */
                                        "domain", "primary_types", "permit",
                                        /* message */
                                        "max_length", NULL};
static const char *const erc20_keys[] = {"functions", "tokens", "recipients", "amount_max", NULL};
static const char *const domain_keys[] = {"names", "versions", "chain_ids", "verifying_contracts", NULL};
static const char *const permit_keys[] = {"types", "spenders", "tokens", "amount_max", "deadline_max_seconds", NULL};

/* Which members each kind may carry (beyond id, effect, kind, description). */
static const char *const tx_members[] = {"tx_types",  "chain_ids", "to",      "not_to",    "contract_creation",
                                         "value_max", "gas_max",   "fee_max", "selectors", "allow_unlimited_approval",
                                         "erc20",     NULL};
static const char *const typed_members[] = {"domain", "primary_types", "permit", NULL};
static const char *const message_members[] = {"max_length", NULL};
static const char *const no_members[] = {NULL};

static const char *const kind_names[] = {"transaction", "message", "typed_data", "digest"};
const char *const policy_erc20_names[4] = {"transfer", "transferFrom", "approve", "increaseAllowance"};
const char *const policy_permit_names[4] = {"Permit", "PermitSingle", "PermitBatch", "PermitTransferFrom"};

struct parser {
    size_t entries; /* list entries so far, against NW_POLICY_MAX_ENTRIES */
    struct nw_error *err;
};

/* path + "." + name, or path + "[i]", into buf (truncated if it must be).
 * Built for every member on every parse (a policy is parsed on each signing
 * request), so by hand rather than with snprintf. */
static const char *sub(char *buf, size_t cap, const char *path, const char *name)
{
    size_t a = strlen(path), b = strlen(name);
    if (a + 1 + b + 1 > cap) {
        if (snprintf(buf, cap, "%s.%s", path, name) < 0)
            buf[0] = '\0';
        return buf;
    }
    memcpy(buf, path, a);
    buf[a] = '.';
    memcpy(buf + a + 1, name, b + 1);
    return buf;
}

static const char *idx(char *buf, size_t cap, const char *path, int i)
{
    if (snprintf(buf, cap, "%s[%d]", path, i) < 0)
        buf[0] = '\0';
    return buf;
}

const char *nw_policy_kind_name(enum nw_policy_kind kind)
{
    return (unsigned)kind < 4 ? kind_names[kind] : "unknown";
}

int nw_policy_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > NW_POLICY_MAX_ID)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* The array at `item`, within the per-list and whole-policy bounds. */
static enum nw_err list_of(struct parser *ps, const cJSON *item, const char *path, int *n)
{
    if (!cJSON_IsArray(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must be an array", path);
    *n = cJSON_GetArraySize(item);
    if (*n > NW_POLICY_MAX_LIST)
        return nw_fail(ps->err, NW_ERR_TOO_LARGE, "%s: more than %d entries (NW_POLICY_MAX_LIST)", path,
                       NW_POLICY_MAX_LIST);
    ps->entries += (size_t)*n;
    if (ps->entries > NW_POLICY_MAX_ENTRIES)
        return nw_fail(ps->err, NW_ERR_TOO_LARGE, "%s: the policy has more than %d list entries in all", path,
                       NW_POLICY_MAX_ENTRIES);
    return NW_OK;
}

static enum nw_err parse_addrs(struct parser *ps, struct policy_addrs *l, const cJSON *item, const char *path)
{
    const cJSON *e;
    int n, i = 0;

    if (item == NULL)
        return NW_OK;
    if (list_of(ps, item, path, &n) != NW_OK)
        return ps->err->code;
    l->present = 1;
    if (n > 0 && (l->a = calloc((size_t)n, 20)) == NULL)
        return nw_fail(ps->err, NW_ERR_NOMEM, "%s: out of memory", path);
    cJSON_ArrayForEach(e, item)
    {
        const char *s;
        size_t len;
        if (!cJSON_IsString(e))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: must be an address string", path, i);
        s = e->valuestring;
        len = strlen(s);
        if (nw_address_parse(l->a[i], s, len, ps->err) != NW_OK) {
            nw_error_prefix(ps->err, "%s[%d]", path, i);
            return NW_ERR_BAD_REQUEST;
        }
        for (int j = 0; j < i; j++)
            if (memcmp(l->a[j], l->a[i], 20) == 0)
                return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: the same address as %s[%d]", path, i, path, j);
        i++;
    }
    l->n = (size_t)n;
    return NW_OK;
}

static enum nw_err parse_chain_ids(struct parser *ps, struct policy_u64s *l, const cJSON *item, const char *path)
{
    const cJSON *e;
    char at[96];
    int n, i = 0;

    if (item == NULL)
        return NW_OK;
    if (list_of(ps, item, path, &n) != NW_OK)
        return ps->err->code;
    l->present = 1;
    if (n > 0 && (l->v = calloc((size_t)n, sizeof *l->v)) == NULL)
        return nw_fail(ps->err, NW_ERR_NOMEM, "%s: out of memory", path);
    cJSON_ArrayForEach(e, item)
    {
        idx(at, sizeof at, path, i);
        if (nw_json_u64(&l->v[i], e, NW_TX_MAX_CHAIN_ID, at, ps->err) != NW_OK)
            return ps->err->code;
        if (l->v[i] == 0)
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: a chain id is at least 1", at);
        for (int j = 0; j < i; j++)
            if (l->v[j] == l->v[i])
                return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: the same chain id as %s[%d]", at, path, j);
        i++;
    }
    l->n = (size_t)n;
    return NW_OK;
}

static enum nw_err parse_strs(struct parser *ps, struct policy_strs *l, const cJSON *item, const char *path)
{
    const cJSON *e;
    int n, i = 0;

    if (item == NULL)
        return NW_OK;
    if (list_of(ps, item, path, &n) != NW_OK)
        return ps->err->code;
    l->present = 1;
    if (n > 0 && (l->s = calloc((size_t)n, sizeof *l->s)) == NULL)
        return nw_fail(ps->err, NW_ERR_NOMEM, "%s: out of memory", path);
    cJSON_ArrayForEach(e, item)
    {
        size_t len;
        if (!cJSON_IsString(e))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: must be a string", path, i);
        len = strlen(e->valuestring);
        if (len > NW_POLICY_MAX_STRING)
            return nw_fail(ps->err, NW_ERR_TOO_LARGE, "%s[%d]: more than %d bytes", path, i, NW_POLICY_MAX_STRING);
        for (int j = 0; j < i; j++)
            if (strcmp(l->s[j], e->valuestring) == 0)
                return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: the same as %s[%d]", path, i, path, j);
        if ((l->s[i] = strdup(e->valuestring)) == NULL)
            return nw_fail(ps->err, NW_ERR_NOMEM, "%s: out of memory", path);
        l->n = (size_t)++i;
    }
    return NW_OK;
}

/* A list of names from `names` (count `k`), as a bit set. */
static enum nw_err parse_names(struct parser *ps, unsigned *bits, const cJSON *item, const char *const *names,
                               unsigned k, const char *path)
{
    const cJSON *e;
    int n, i = 0;

    if (list_of(ps, item, path, &n) != NW_OK)
        return ps->err->code;
    if (n == 0)
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must name at least one", path);
    *bits = 0;
    cJSON_ArrayForEach(e, item)
    {
        unsigned j = 0;
        if (cJSON_IsString(e))
            for (; j < k && strcmp(names[j], e->valuestring) != 0; j++)
                ;
        if (!cJSON_IsString(e) || j == k)
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: not one of %s, %s, %s, %s", path, i, names[0],
                           names[1], names[2], names[3]);
        if (*bits & (1u << j))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: named twice", path, i);
        *bits |= 1u << j;
        i++;
    }
    return NW_OK;
}

static enum nw_err parse_cap(struct parser *ps, struct policy_cap *c, const cJSON *item, const char *path)
{
    if (item == NULL)
        return NW_OK;
    c->present = 1;
    return nw_json_quantity(&c->max, item, path, ps->err);
}

static enum nw_err parse_tx_types(struct parser *ps, struct nw_policy_rule *r, const cJSON *item, const char *path)
{
    const cJSON *e;
    char at[96];
    int n, i = 0;

    if (item == NULL)
        return NW_OK;
    if (list_of(ps, item, path, &n) != NW_OK)
        return ps->err->code;
    r->has_tx_types = 1;
    cJSON_ArrayForEach(e, item)
    {
        uint64_t t;
        idx(at, sizeof at, path, i++);
        if (nw_json_u64(&t, e, 2, at, ps->err) != NW_OK)
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: a transaction type is 0, 1 or 2", at);
        if (r->tx_types & (1u << t))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: named twice", at);
        r->tx_types |= 1u << t;
    }
    return NW_OK;
}

static enum nw_err parse_selectors(struct parser *ps, struct nw_policy_rule *r, const cJSON *item, const char *path)
{
    const cJSON *e;
    int n, i = 0;

    if (item == NULL)
        return NW_OK;
    if (list_of(ps, item, path, &n) != NW_OK)
        return ps->err->code;
    r->has_selectors = 1;
    if (n > 0 && (r->selectors = calloc((size_t)n, sizeof *r->selectors)) == NULL)
        return nw_fail(ps->err, NW_ERR_NOMEM, "%s: out of memory", path);
    cJSON_ArrayForEach(e, item)
    {
        uint8_t b[4];
        size_t got;
        uint32_t sel;
        if (!cJSON_IsString(e))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: must be a string", path, i);
        if (strcmp(e->valuestring, "0x") == 0) {
            if (r->selectors_allow_empty)
                return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: \"0x\" named twice", path, i);
            r->selectors_allow_empty = 1;
            i++;
            continue;
        }
        if (strlen(e->valuestring) != 10 || nw_hex_decode(b, 4, &got, e->valuestring, 10, NULL) != NW_OK || got != 4)
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST,
                           "%s[%d]: a selector is \"0x\" and 8 hex digits (or \"0x\" for no calldata)", path, i);
        sel = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        for (size_t j = 0; j < r->n_selectors; j++)
            if (r->selectors[j] == sel)
                return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s[%d]: named twice", path, i);
        r->selectors[r->n_selectors++] = sel;
        i++;
    }
    return NW_OK;
}

static enum nw_err parse_bool(struct parser *ps, int *out, const cJSON *item, const char *path)
{
    if (!cJSON_IsBool(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must be true or false", path);
    *out = cJSON_IsTrue(item);
    return NW_OK;
}

static enum nw_err parse_erc20(struct parser *ps, struct policy_erc20 *e, const cJSON *item, const char *path)
{
    char at[96];
    const cJSON *fn;

    if (item == NULL)
        return NW_OK;
    if (!cJSON_IsObject(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must be an object", path);
    if (nw_json_check_keys(item, erc20_keys, path, ps->err) != NW_OK)
        return ps->err->code;
    e->present = 1;
    e->functions = ERC20_ALL;
    fn = nw_json_get(item, "functions");
    sub(at, sizeof at, path, "functions");
    if (fn != NULL && parse_names(ps, &e->functions, fn, policy_erc20_names, 4, at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "tokens");
    if (parse_addrs(ps, &e->tokens, nw_json_get(item, "tokens"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "recipients");
    if (parse_addrs(ps, &e->recipients, nw_json_get(item, "recipients"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "amount_max");
    return parse_cap(ps, &e->amount, nw_json_get(item, "amount_max"), at);
}

static enum nw_err parse_domain(struct parser *ps, struct nw_policy_rule *r, const cJSON *item, const char *path)
{
    char at[96];

    if (item == NULL)
        return NW_OK;
    if (!cJSON_IsObject(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must be an object", path);
    if (nw_json_check_keys(item, domain_keys, path, ps->err) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "names");
    if (parse_strs(ps, &r->domain_names, nw_json_get(item, "names"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "versions");
    if (parse_strs(ps, &r->domain_versions, nw_json_get(item, "versions"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "chain_ids");
    if (parse_chain_ids(ps, &r->domain_chain_ids, nw_json_get(item, "chain_ids"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "verifying_contracts");
    return parse_addrs(ps, &r->domain_contracts, nw_json_get(item, "verifying_contracts"), at);
}

static enum nw_err parse_permit(struct parser *ps, struct policy_permit *p, const cJSON *item, const char *path)
{
    char at[96];
    const cJSON *t, *d;

    if (item == NULL)
        return NW_OK;
    if (!cJSON_IsObject(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must be an object", path);
    if (nw_json_check_keys(item, permit_keys, path, ps->err) != NW_OK)
        return ps->err->code;
    p->present = 1;
    p->types = PERMIT_ALL;
    t = nw_json_get(item, "types");
    sub(at, sizeof at, path, "types");
    if (t != NULL && parse_names(ps, &p->types, t, policy_permit_names, 4, at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "spenders");
    if (parse_addrs(ps, &p->spenders, nw_json_get(item, "spenders"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "tokens");
    if (parse_addrs(ps, &p->tokens, nw_json_get(item, "tokens"), at) != NW_OK)
        return ps->err->code;
    sub(at, sizeof at, path, "amount_max");
    if (parse_cap(ps, &p->amount, nw_json_get(item, "amount_max"), at) != NW_OK)
        return ps->err->code;
    d = nw_json_get(item, "deadline_max_seconds");
    if (d != NULL) {
        sub(at, sizeof at, path, "deadline_max_seconds");
        p->has_deadline = 1;
        if (nw_json_u64(&p->deadline_max_seconds, d, NW_POLICY_MAX_DEADLINE, at, ps->err) != NW_OK)
            return ps->err->code;
    }
    return NW_OK;
}

static enum nw_err parse_id(struct parser *ps, struct nw_policy_rule *r, const cJSON *item, const char *path)
{
    size_t len;

    if (!cJSON_IsString(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.id: required, a string", path);
    len = strlen(item->valuestring);
    if (len == 0 || len > NW_POLICY_MAX_ID)
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.id: must be 1..%d characters", path, NW_POLICY_MAX_ID);
    if (!nw_policy_id_valid(item->valuestring, len))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.id: only [A-Za-z0-9._-] allowed", path);
    if (strcmp(item->valuestring, "default") == 0)
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.id: \"default\" is reserved for the default decision", path);
    memcpy(r->id, item->valuestring, len + 1);
    return NW_OK;
}

/* id, effect, kind, description; then checks that only the kind's members are there. */
static enum nw_err parse_head(struct parser *ps, struct nw_policy_rule *r, const cJSON *item, const char *path)
{
    static const char *const *const members[] = {tx_members, message_members, typed_members, no_members};
    const cJSON *effect = nw_json_get(item, "effect"), *kind = nw_json_get(item, "kind");
    const cJSON *desc = nw_json_get(item, "description"), *m;
    unsigned k = 0;

    if (parse_id(ps, r, nw_json_get(item, "id"), path) != NW_OK)
        return ps->err->code;
    if (!cJSON_IsString(effect) ||
        (strcmp(effect->valuestring, "allow") != 0 && strcmp(effect->valuestring, "deny") != 0))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.effect: required, \"allow\" or \"deny\"", path);
    r->allow = strcmp(effect->valuestring, "allow") == 0;
    if (cJSON_IsString(kind))
        for (; k < 4 && strcmp(kind_names[k], kind->valuestring) != 0; k++)
            ;
    if (!cJSON_IsString(kind) || k == 4)
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST,
                       "%s.kind: required, \"transaction\", \"message\", \"typed_data\" or \"digest\"", path);
    r->kind = (enum nw_policy_kind)k;
    if (desc != NULL) {
        if (!cJSON_IsString(desc))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.description: must be a string", path);
        if (strlen(desc->valuestring) > NW_POLICY_MAX_DESCRIPTION)
            return nw_fail(ps->err, NW_ERR_TOO_LARGE, "%s.description: more than %d bytes", path,
                           NW_POLICY_MAX_DESCRIPTION);
        if ((r->description = strdup(desc->valuestring)) == NULL)
            return nw_fail(ps->err, NW_ERR_NOMEM, "%s: out of memory", path);
    }
    cJSON_ArrayForEach(m, item)
    {
        if (strcmp(m->string, "id") == 0 || strcmp(m->string, "effect") == 0 || strcmp(m->string, "kind") == 0 ||
            strcmp(m->string, "description") == 0)
            continue;
        if (!in_list(members[k], m->string))
            return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.%s: not a condition of kind %s", path, m->string,
                           kind_names[k]);
    }
    return NW_OK;
}

#define SUB(name) sub(at, sizeof at, path, name)

static enum nw_err parse_rule(struct parser *ps, struct nw_policy_rule *r, const cJSON *item, const char *path)
{
    char at[96];
    const cJSON *v;

    r->contract_creation = -1;
    if (!cJSON_IsObject(item))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s: must be an object", path);
    if (nw_json_check_keys(item, rule_keys, path, ps->err) != NW_OK)
        return ps->err->code;
    if (parse_head(ps, r, item, path) != NW_OK)
        return ps->err->code;
    if (parse_tx_types(ps, r, nw_json_get(item, "tx_types"), SUB("tx_types")) != NW_OK ||
        parse_chain_ids(ps, &r->chain_ids, nw_json_get(item, "chain_ids"), SUB("chain_ids")) != NW_OK ||
        parse_addrs(ps, &r->to, nw_json_get(item, "to"), SUB("to")) != NW_OK ||
        parse_addrs(ps, &r->not_to, nw_json_get(item, "not_to"), SUB("not_to")) != NW_OK ||
        parse_cap(ps, &r->value, nw_json_get(item, "value_max"), SUB("value_max")) != NW_OK ||
        parse_cap(ps, &r->fee, nw_json_get(item, "fee_max"), SUB("fee_max")) != NW_OK ||
        parse_selectors(ps, r, nw_json_get(item, "selectors"), SUB("selectors")) != NW_OK ||
        parse_erc20(ps, &r->erc20, nw_json_get(item, "erc20"), SUB("erc20")) != NW_OK ||
        parse_domain(ps, r, nw_json_get(item, "domain"), SUB("domain")) != NW_OK ||
        parse_strs(ps, &r->primary_types, nw_json_get(item, "primary_types"), SUB("primary_types")) != NW_OK ||
        parse_permit(ps, &r->permit, nw_json_get(item, "permit"), SUB("permit")) != NW_OK)
        return ps->err->code;
    if ((v = nw_json_get(item, "contract_creation")) != NULL &&
        parse_bool(ps, &r->contract_creation, v, SUB("contract_creation")) != NW_OK)
        return ps->err->code;
    if ((v = nw_json_get(item, "allow_unlimited_approval")) != NULL &&
        parse_bool(ps, &r->allow_unlimited_approval, v, SUB("allow_unlimited_approval")) != NW_OK)
        return ps->err->code;
    if ((v = nw_json_get(item, "gas_max")) != NULL) {
        r->has_gas_max = 1;
        if (nw_json_u64(&r->gas_max, v, UINT64_MAX, SUB("gas_max"), ps->err) != NW_OK)
            return ps->err->code;
    }
    if ((v = nw_json_get(item, "max_length")) != NULL) {
        r->has_max_length = 1;
        if (nw_json_u64(&r->max_length, v, UINT32_MAX, SUB("max_length"), ps->err) != NW_OK)
            return ps->err->code;
    }
    if (r->contract_creation == 1 && (r->to.present || r->erc20.present || r->has_selectors))
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST,
                       "%s: contract_creation true cannot be combined with to, selectors or erc20 (a creation has "
                       "no destination)",
                       path);
    if (r->allow_unlimited_approval && !r->allow)
        return nw_fail(ps->err, NW_ERR_BAD_REQUEST, "%s.allow_unlimited_approval: only in an allow rule", path);
    return NW_OK;
}

static void free_rule(struct nw_policy_rule *r)
{
    struct policy_strs *strs[] = {&r->domain_names, &r->domain_versions, &r->primary_types};

    free(r->description);
    free(r->chain_ids.v);
    free(r->to.a);
    free(r->not_to.a);
    free(r->selectors);
    free(r->erc20.tokens.a);
    free(r->erc20.recipients.a);
    free(r->domain_chain_ids.v);
    free(r->domain_contracts.a);
    free(r->permit.spenders.a);
    free(r->permit.tokens.a);
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < strs[k]->n; i++)
            free(strs[k]->s[i]);
        free(strs[k]->s);
    }
}

void nw_policy_free(struct nw_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_rules; i++)
        free_rule(&p->rules[i]);
    free(p->rules);
    memset(p, 0, sizeof *p);
}

static enum nw_err compute_digest(struct nw_policy *p, struct nw_error *err)
{
    struct nw_buf canon;
    unsigned int n = 0;
    enum nw_err rc;

    nw_buf_init(&canon, NW_POLICY_MAX_CANONICAL);
    rc = nw_policy_canonical(&canon, p, err);
    if (rc == NW_OK && (!EVP_Digest(canon.data, canon.len, p->digest, &n, EVP_sha256(), NULL) || n != 32))
        rc = nw_fail(err, NW_ERR_INTERNAL, "policy: digest failed");
    nw_buf_free(&canon);
    return rc;
}

enum nw_err nw_policy_from_json(struct nw_policy *p, const cJSON *obj, struct nw_error *err)
{
    struct nw_error scratch;
    struct parser ps = {0, err ? err : &scratch};
    const cJSON *rules, *item;
    uint64_t version;
    char path[32];
    int n;
    enum nw_err rc;

    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(obj))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "policy: must be an object");
    NW_GUARD(nw_json_check_keys(obj, top_keys, "policy", ps.err));
    rc = nw_json_u64(&version, nw_json_get(obj, "version"), UINT32_MAX, "policy.version", ps.err);
    if (rc == NW_OK && version != NW_POLICY_VERSION)
        rc = nw_fail(ps.err, NW_ERR_BAD_REQUEST, "policy.version: %llu is not a version this build knows (%d)",
                     (unsigned long long)version, NW_POLICY_VERSION);
    if (rc != NW_OK)
        goto out;
    p->version = (unsigned)version;
    rules = nw_json_get(obj, "rules");
    if (!cJSON_IsArray(rules)) {
        rc = nw_fail(ps.err, NW_ERR_BAD_REQUEST, "policy.rules: required, an array");
        goto out;
    }
    n = cJSON_GetArraySize(rules);
    if (n > NW_POLICY_MAX_RULES) {
        rc = nw_fail(ps.err, NW_ERR_TOO_LARGE, "policy.rules: more than %d rules (NW_POLICY_MAX_RULES)",
                     NW_POLICY_MAX_RULES);
        goto out;
    }
    if (n > 0 && (p->rules = calloc((size_t)n, sizeof *p->rules)) == NULL) {
        rc = nw_fail(ps.err, NW_ERR_NOMEM, "policy: out of memory");
        goto out;
    }
    cJSON_ArrayForEach(item, rules)
    {
        struct nw_policy_rule *r = &p->rules[p->n_rules++];
        snprintf(path, sizeof path, "policy.rules[%zu]", p->n_rules - 1);
        NW_GUARD(parse_rule(&ps, r, item, path));
        for (size_t j = 0; j + 1 < p->n_rules; j++)
            if (strcmp(p->rules[j].id, r->id) == 0) {
                rc = nw_fail(ps.err, NW_ERR_BAD_REQUEST, "%s.id: \"%s\" is also the id of rules[%zu]", path, r->id, j);
                goto out;
            }
    }
    rc = compute_digest(p, ps.err);
out:
    if (rc != NW_OK)
        nw_policy_free(p);
    return rc;
}

enum nw_err nw_policy_parse(struct nw_policy *p, const char *json, size_t len, struct nw_error *err)
{
    cJSON *tree = NULL;
    enum nw_err rc;

    memset(p, 0, sizeof *p);
    if (len > NW_POLICY_MAX_JSON)
        return nw_fail(err, NW_ERR_TOO_LARGE, "policy: more than %u bytes (NW_POLICY_MAX_JSON)", NW_POLICY_MAX_JSON);
    rc = nw_json_parse(&tree, json, len, NW_POLICY_MAX_JSON, err);
    if (rc != NW_OK) {
        nw_error_prefix(err, "policy");
        return rc;
    }
    rc = nw_policy_from_json(p, tree, err);
    cJSON_Delete(tree);
    return rc;
}

enum nw_err nw_policy_default(struct nw_policy *p, struct nw_error *err)
{
    static const char text[] = "{\"version\":1,\"rules\":[" NW_POLICY_DEFAULT_RULES "]}";
    return nw_policy_parse(p, text, sizeof text - 1, err);
}
