/*
 * policy_canon.c - the canonical text of a parsed policy, whose sha256 is
 * the policy digest the seal's AAD binds (docs/policy.md, docs/sealing.md).
 *
 * Written from the parsed form, not from the JSON the client sent, so that
 * two documents with the same meaning (keys reordered, an address in
 * another case, a quantity in hex) have one text and one digest, and the
 * text is exactly what the enclave enforces.  Parsing the canonical text
 * gives it back unchanged (tests/unit/test_policy.c checks).
 */
#include "policy_internal.h"

#include <stdio.h>
#include <string.h>

#include "nitrowallet/json.h"

struct out {
    struct nw_buf *b;
    enum nw_err rc;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->rc == NW_OK)
        o->rc = nw_buf_append(o->b, s, n);
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* A JSON string: the text was valid UTF-8 when parsed; escape what JSON requires. */
static void str(struct out *o, const char *s)
{
    char esc[8];

    put(o, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(o, esc, 6);
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    put(o, "\"", 1);
}

static void key(struct out *o, int *first, const char *k)
{
    if (!*first)
        put(o, ",", 1);
    *first = 0;
    str(o, k);
    put(o, ":", 1);
}

static void u64(struct out *o, uint64_t v)
{
    char d[24];
    snprintf(d, sizeof d, "%llu", (unsigned long long)v);
    puts_(o, d);
}

static void quantity(struct out *o, const struct nw_u256 *x)
{
    char d[80];
    nw_u256_to_dec(d, sizeof d, x);
    str(o, d);
}

/* "0x" + lower-case hex, in quotes (no escaping needed); by table, since
 * the canonical text is written on every signing request. */
static void hex_str(struct out *o, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char h[2 + 2 * 32 + 2];
    size_t k = 0;
    h[k++] = '"';
    h[k++] = '0';
    h[k++] = 'x';
    for (size_t i = 0; i < n; i++) {
        h[k++] = digits[p[i] >> 4];
        h[k++] = digits[p[i] & 15];
    }
    h[k++] = '"';
    put(o, h, k);
}

static void addr(struct out *o, const uint8_t a[20])
{
    hex_str(o, a, 20);
}

static void addrs(struct out *o, int *first, const char *k, const struct policy_addrs *l)
{
    if (!l->present)
        return;
    key(o, first, k);
    put(o, "[", 1);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            put(o, ",", 1);
        addr(o, l->a[i]);
    }
    put(o, "]", 1);
}

/* Chain ids: JSON numbers below 10^15, decimal strings from there on: a
 * number must stay exact in a double to be accepted back, and cJSON (which
 * the host stores the text with) prints 10^15 as "1e+15". */
static void u64s(struct out *o, int *first, const char *k, const struct policy_u64s *l)
{
    if (!l->present)
        return;
    key(o, first, k);
    put(o, "[", 1);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            put(o, ",", 1);
        if (l->v[i] < 1000000000000000ull)
            u64(o, l->v[i]);
        else
            quantity(o, &(struct nw_u256){{l->v[i], 0, 0, 0}});
    }
    put(o, "]", 1);
}

static void strs(struct out *o, int *first, const char *k, const struct policy_strs *l)
{
    if (!l->present)
        return;
    key(o, first, k);
    put(o, "[", 1);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            put(o, ",", 1);
        str(o, l->s[i]);
    }
    put(o, "]", 1);
}

static void names(struct out *o, int *first, const char *k, unsigned bits, const char *const *n)
{
    int f = 1;
    key(o, first, k);
    put(o, "[", 1);
    for (unsigned i = 0; i < 4; i++)
        if (bits & (1u << i)) {
            if (!f)
                put(o, ",", 1);
            f = 0;
            str(o, n[i]);
        }
    put(o, "]", 1);
}

static void cap(struct out *o, int *first, const char *k, const struct policy_cap *c)
{
    if (!c->present)
        return;
    key(o, first, k);
    quantity(o, &c->max);
}

static void tx_conditions(struct out *o, int *first, const struct nw_policy_rule *r)
{
    if (r->has_tx_types) {
        int f = 1;
        key(o, first, "tx_types");
        put(o, "[", 1);
        for (unsigned t = 0; t < 3; t++)
            if (r->tx_types & (1u << t)) {
                if (!f)
                    put(o, ",", 1);
                f = 0;
                u64(o, t);
            }
        put(o, "]", 1);
    }
    u64s(o, first, "chain_ids", &r->chain_ids);
    addrs(o, first, "to", &r->to);
    addrs(o, first, "not_to", &r->not_to);
    if (r->contract_creation >= 0) {
        key(o, first, "contract_creation");
        puts_(o, r->contract_creation ? "true" : "false");
    }
    cap(o, first, "value_max", &r->value);
    if (r->has_gas_max) {
        key(o, first, "gas_max");
        quantity(o, &(struct nw_u256){{r->gas_max, 0, 0, 0}});
    }
    cap(o, first, "fee_max", &r->fee);
    if (r->has_selectors) {
        key(o, first, "selectors");
        put(o, "[", 1);
        if (r->selectors_allow_empty)
            str(o, "0x");
        for (size_t i = 0; i < r->n_selectors; i++) {
            uint32_t v = r->selectors[i];
            uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
            if (i || r->selectors_allow_empty)
                put(o, ",", 1);
            hex_str(o, b, 4);
        }
        put(o, "]", 1);
    }
    if (r->allow_unlimited_approval) {
        key(o, first, "allow_unlimited_approval");
        puts_(o, "true");
    }
    if (r->erc20.present) {
        int f = 1;
        key(o, first, "erc20");
        put(o, "{", 1);
        names(o, &f, "functions", r->erc20.functions, policy_erc20_names);
        addrs(o, &f, "tokens", &r->erc20.tokens);
        addrs(o, &f, "recipients", &r->erc20.recipients);
        cap(o, &f, "amount_max", &r->erc20.amount);
        put(o, "}", 1);
    }
}

static void typed_conditions(struct out *o, int *first, const struct nw_policy_rule *r)
{
    if (r->domain_names.present || r->domain_versions.present || r->domain_chain_ids.present ||
        r->domain_contracts.present) {
        int f = 1;
        key(o, first, "domain");
        put(o, "{", 1);
        strs(o, &f, "names", &r->domain_names);
        strs(o, &f, "versions", &r->domain_versions);
        u64s(o, &f, "chain_ids", &r->domain_chain_ids);
        addrs(o, &f, "verifying_contracts", &r->domain_contracts);
        put(o, "}", 1);
    }
    strs(o, first, "primary_types", &r->primary_types);
    if (r->permit.present) {
        int f = 1;
        key(o, first, "permit");
        put(o, "{", 1);
        names(o, &f, "types", r->permit.types, policy_permit_names);
        addrs(o, &f, "spenders", &r->permit.spenders);
        addrs(o, &f, "tokens", &r->permit.tokens);
        cap(o, &f, "amount_max", &r->permit.amount);
        if (r->permit.has_deadline) {
            key(o, &f, "deadline_max_seconds");
            u64(o, r->permit.deadline_max_seconds);
        }
        put(o, "}", 1);
    }
}

static void rule(struct out *o, const struct nw_policy_rule *r)
{
    int first = 1;

    put(o, "{", 1);
    key(o, &first, "id");
    str(o, r->id);
    key(o, &first, "effect");
    str(o, r->allow ? "allow" : "deny");
    key(o, &first, "kind");
    str(o, nw_policy_kind_name(r->kind));
    if (r->description != NULL) {
        key(o, &first, "description");
        str(o, r->description);
    }
    tx_conditions(o, &first, r);
    typed_conditions(o, &first, r);
    if (r->has_max_length) {
        key(o, &first, "max_length");
        u64(o, r->max_length);
    }
    put(o, "}", 1);
}

enum nw_err nw_policy_canonical(struct nw_buf *b, const struct nw_policy *p, struct nw_error *err)
{
    struct out o = {b, NW_OK};

    puts_(&o, "{\"version\":");
    u64(&o, p->version);
    puts_(&o, ",\"rules\":[");
    for (size_t i = 0; i < p->n_rules; i++) {
        if (i)
            put(&o, ",", 1);
        rule(&o, &p->rules[i]);
    }
    puts_(&o, "]}");
    if (o.rc != NW_OK)
        return nw_fail(err, o.rc, "policy: the canonical text does not fit (%zu bytes)", b->max);
    return NW_OK;
}
