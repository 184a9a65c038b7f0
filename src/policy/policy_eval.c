/*
 * policy_eval.c - deciding a request under a policy (docs/policy.md,
 * "Evaluation").
 *
 * Every rule of the request's kind is checked, each condition in a fixed
 * order, on what the request is once decoded (the parsed transaction and
 * its calldata, the typed data's domain and message, the message's
 * length).  A matching deny rule denies; otherwise the first matching
 * allow rule allows; otherwise the request is denied, and the decision
 * names the allow rule that came closest (the most conditions held) with
 * the condition that failed, so that an operator sees why.
 *
 * An unlimited ERC-20 approval (approve or increaseAllowance of 2^256 - 1,
 * to any contract) is allowed only by an allow rule that says
 * allow_unlimited_approval: no other rule matches it.
 */
#include "policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"
#include "nitrowallet/key.h"

/* What the request is, decoded once for all rules. */
struct facts {
    const struct nw_policy_request *r;
    int is_erc20;
    struct policy_erc20_call erc20;
    int unlimited_approval;
    int fee_overflow;
    struct nw_u256 fee;
    struct policy_domain domain;
    int is_permit;
    struct policy_permit_doc *permit;
};

/* The result of checking one rule. */
struct check {
    unsigned held;                     /* conditions that held before the first failure */
    char reason[NW_POLICY_REASON_MAX]; /* the first failure; empty when the rule matched */
};

static int fail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    return 0;
}

static int addr_in(const struct policy_addrs *l, const uint8_t a[20])
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->a[i], a, 20) == 0)
            return 1;
    return 0;
}

static int u64_in(const struct policy_u64s *l, uint64_t v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return 1;
    return 0;
}

static int str_in(const struct policy_strs *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->s[i], s) == 0)
            return 1;
    return 0;
}

static void hexaddr(char out[NW_ADDRESS_STR_SIZE], const uint8_t a[20])
{
    nw_address_to_checksum(out, a);
}

/* x <= cap, else a reason "WHAT N is over FIELD M". */
static int within(struct check *c, const struct nw_u256 *x, const struct policy_cap *cap, const char *what,
                  const char *field)
{
    char v[80], m[80];
    if (nw_u256_cmp(x, &cap->max) <= 0)
        return 1;
    nw_u256_to_dec(v, sizeof v, x);
    nw_u256_to_dec(m, sizeof m, &cap->max);
    return fail(c, "%s %s is over %s %s", what, v, field, m);
}

/* gas * per_gas, exactly; 0 on overflow past 2^256 - 1. */
static int mul_u64(struct nw_u256 *out, const struct nw_u256 *x, uint64_t y)
{
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 p = (unsigned __int128)x->w[i] * y + carry;
        out->w[i] = (uint64_t)p;
        carry = p >> 64;
    }
    return carry == 0;
}

static const char *bit_name(const char *const *names, unsigned bit)
{
    unsigned i = 0;
    while (i < 3 && !(bit & (1u << i)))
        i++;
    return names[i];
}

static int check_erc20(struct check *c, const struct policy_erc20 *e, const struct facts *f)
{
    char a[NW_ADDRESS_STR_SIZE];

    if (!f->is_erc20)
        return fail(c, "not an ERC-20 transfer, transferFrom, approve or increaseAllowance call");
    c->held++;
    if (!(e->functions & f->erc20.function))
        return fail(c, "ERC-20 %s is not in erc20.functions", bit_name(policy_erc20_names, f->erc20.function));
    if (e->tokens.present) {
        c->held++;
        if (!addr_in(&e->tokens, f->r->tx->to))
            return hexaddr(a, f->r->tx->to), fail(c, "token %s is not in erc20.tokens", a);
    }
    if (e->recipients.present) {
        c->held++;
        if (!addr_in(&e->recipients, f->erc20.party))
            return hexaddr(a, f->erc20.party),
                   fail(c, "%s %s is not in erc20.recipients",
                        f->erc20.function & (ERC20_APPROVE | ERC20_INCREASE_ALLOWANCE) ? "spender" : "recipient", a);
    }
    if (e->amount.present) {
        c->held++;
        if (!within(c, &f->erc20.amount, &e->amount, "ERC-20 amount", "erc20.amount_max"))
            return 0;
    }
    return 1;
}

static int check_selector(struct check *c, const struct nw_policy_rule *rule, const struct nw_tx *tx)
{
    uint32_t sel;

    if (tx->data_len == 0)
        return rule->selectors_allow_empty ? 1 : fail(c, "no calldata, and selectors does not list \"0x\"");
    if (tx->data_len < 4)
        return fail(c, "calldata of %zu bytes has no selector", tx->data_len);
    sel = (uint32_t)tx->data[0] << 24 | (uint32_t)tx->data[1] << 16 | (uint32_t)tx->data[2] << 8 | tx->data[3];
    for (size_t i = 0; i < rule->n_selectors; i++)
        if (rule->selectors[i] == sel)
            return 1;
    return fail(c, "selector 0x%08lx is not in selectors", (unsigned long)sel);
}

static int check_tx(struct check *c, const struct nw_policy_rule *rule, const struct facts *f)
{
    const struct nw_tx *tx = f->r->tx;
    char a[NW_ADDRESS_STR_SIZE];

    if (rule->has_tx_types) {
        if (!(rule->tx_types & (1u << tx->type)))
            return fail(c, "transaction type %d is not in tx_types", (int)tx->type);
        c->held++;
    }
    if (rule->chain_ids.present) {
        if (!u64_in(&rule->chain_ids, tx->chain_id))
            return fail(c, "chain id %llu is not in chain_ids", (unsigned long long)tx->chain_id);
        c->held++;
    }
    if (rule->contract_creation >= 0) {
        if (rule->contract_creation != !tx->has_to)
            return fail(c, tx->has_to ? "not a contract creation (contract_creation is true)"
                                      : "a contract creation, and contract_creation is false");
        c->held++;
    }
    if (rule->to.present) {
        if (!tx->has_to)
            return fail(c, "a contract creation has no to, and the rule lists to");
        if (!addr_in(&rule->to, tx->to))
            return hexaddr(a, tx->to), fail(c, "to %s is not in to", a);
        c->held++;
    }
    if (rule->not_to.present) {
        if (tx->has_to && addr_in(&rule->not_to, tx->to))
            return hexaddr(a, tx->to), fail(c, "to %s is in not_to", a);
        c->held++;
    }
    if (rule->has_selectors) {
        if (!check_selector(c, rule, tx))
            return 0;
        c->held++;
    }
    if (rule->erc20.present) {
        if (!check_erc20(c, &rule->erc20, f))
            return 0;
        c->held++;
    }
    if (rule->value.present) {
        if (!within(c, &tx->value, &rule->value, "value", "value_max"))
            return 0;
        c->held++;
    }
    if (rule->has_gas_max) {
        if (tx->gas > rule->gas_max)
            return fail(c, "gas %llu is over gas_max %llu", (unsigned long long)tx->gas,
                        (unsigned long long)rule->gas_max);
        c->held++;
    }
    if (rule->fee.present) {
        if (f->fee_overflow)
            return fail(c, "the fee (gas times fee per gas) is over fee_max");
        if (!within(c, &f->fee, &rule->fee, "fee (gas times fee per gas)", "fee_max"))
            return 0;
        c->held++;
    }
    if (rule->allow && f->unlimited_approval && !rule->allow_unlimited_approval)
        return fail(c, "an unlimited ERC-20 approval (2^256 - 1) needs a rule with allow_unlimited_approval");
    return 1;
}

static int check_permit(struct check *c, const struct policy_permit *p, const struct facts *f)
{
    const struct policy_permit_doc *d = f->permit;
    char a[NW_ADDRESS_STR_SIZE];

    if (!f->is_permit)
        return fail(c, "not an EIP-2612 Permit or a Permit2 PermitSingle, PermitBatch or PermitTransferFrom");
    c->held++;
    if (!(p->types & d->type))
        return fail(c, "%s is not in permit.types", bit_name(policy_permit_names, d->type));
    if (p->spenders.present) {
        c->held++;
        if (!addr_in(&p->spenders, d->spender))
            return hexaddr(a, d->spender), fail(c, "spender %s is not in permit.spenders", a);
    }
    for (size_t i = 0; i < d->n; i++) {
        if (p->tokens.present && !addr_in(&p->tokens, d->token[i]))
            return hexaddr(a, d->token[i]), fail(c, "token %s is not in permit.tokens", a);
        if (p->amount.present && !within(c, &d->amount[i], &p->amount, "permit amount", "permit.amount_max"))
            return 0;
    }
    c->held += p->tokens.present + p->amount.present;
    if (p->has_deadline) {
        struct nw_u256 limit;
        char v[80];
        nw_u256_from_u64(&limit, f->r->now);
        limit.w[1] = __builtin_add_overflow(limit.w[0], p->deadline_max_seconds, &limit.w[0]);
        if (nw_u256_cmp(&d->deadline, &limit) > 0) {
            nw_u256_to_dec(v, sizeof v, &d->deadline);
            return fail(c, "deadline %s is more than %llu seconds after now (%llu)", v,
                        (unsigned long long)p->deadline_max_seconds, (unsigned long long)f->r->now);
        }
        c->held++;
    }
    return 1;
}

static int check_typed(struct check *c, const struct nw_policy_rule *rule, const struct facts *f)
{
    const struct policy_domain *d = &f->domain;
    const cJSON *pt = nw_json_get(f->r->typed_data, "primaryType");
    char a[NW_ADDRESS_STR_SIZE];

    if (rule->domain_names.present) {
        if (d->name == NULL || !str_in(&rule->domain_names, d->name))
            return d->name ? fail(c, "domain name \"%.64s\" is not in domain.names", d->name)
                           : fail(c, "the domain has no name, and the rule lists domain.names");
        c->held++;
    }
    if (rule->domain_versions.present) {
        if (d->version == NULL || !str_in(&rule->domain_versions, d->version))
            return d->version ? fail(c, "domain version \"%.64s\" is not in domain.versions", d->version)
                              : fail(c, "the domain has no version, and the rule lists domain.versions");
        c->held++;
    }
    if (rule->domain_chain_ids.present) {
        if (!d->has_chain_id || !u64_in(&rule->domain_chain_ids, d->chain_id))
            return d->has_chain_id
                       ? fail(c, "domain chainId %llu is not in domain.chain_ids", (unsigned long long)d->chain_id)
                       : fail(c, "the domain has no chainId, and the rule lists domain.chain_ids");
        c->held++;
    }
    if (rule->domain_contracts.present) {
        if (!d->has_contract || !addr_in(&rule->domain_contracts, d->contract))
            return d->has_contract ? (hexaddr(a, d->contract),
                                      fail(c, "domain verifyingContract %s is not in domain.verifying_contracts", a))
                                   : fail(c, "the domain has no verifyingContract, and the rule lists "
                                             "domain.verifying_contracts");
        c->held++;
    }
    if (rule->primary_types.present) {
        if (!cJSON_IsString(pt) || !str_in(&rule->primary_types, pt->valuestring))
            return fail(c, "primaryType \"%.64s\" is not in primary_types", cJSON_IsString(pt) ? pt->valuestring : "");
        c->held++;
    }
    if (rule->permit.present) {
        if (!check_permit(c, &rule->permit, f))
            return 0;
        c->held++;
    }
    return 1;
}

static int check_rule(struct check *c, const struct nw_policy_rule *rule, const struct facts *f)
{
    memset(c, 0, sizeof *c);
    switch (rule->kind) {
    case NW_POLICY_TRANSACTION: return check_tx(c, rule, f);
    case NW_POLICY_TYPED_DATA: return check_typed(c, rule, f);
    case NW_POLICY_MESSAGE:
        if (rule->has_max_length && f->r->message_len > rule->max_length)
            return fail(c, "a message of %zu bytes is over max_length %llu", f->r->message_len,
                        (unsigned long long)rule->max_length);
        return 1;
    case NW_POLICY_DIGEST: return 1;
    }
    return fail(c, "unknown kind");
}

static enum nw_err gather(struct facts *f, const struct nw_policy_request *r, struct nw_error *err)
{
    static const struct nw_u256 all_ones = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    const cJSON *pt;

    memset(f, 0, sizeof *f);
    f->r = r;
    if (r->kind == NW_POLICY_TRANSACTION) {
        const struct nw_tx *tx = r->tx;
        if (tx == NULL)
            return nw_fail(err, NW_ERR_INTERNAL, "policy: a transaction request without a transaction");
        f->is_erc20 = policy_decode_erc20(&f->erc20, tx);
        f->unlimited_approval = f->is_erc20 && (f->erc20.function & (ERC20_APPROVE | ERC20_INCREASE_ALLOWANCE)) &&
                                nw_u256_cmp(&f->erc20.amount, &all_ones) == 0;
        f->fee_overflow = !mul_u64(&f->fee, tx->type == NW_TX_EIP1559 ? &tx->max_fee_per_gas : &tx->gas_price, tx->gas);
    } else if (r->kind == NW_POLICY_TYPED_DATA) {
        if (r->typed_data == NULL)
            return nw_fail(err, NW_ERR_INTERNAL, "policy: a typed-data request without a document");
        policy_decode_domain(&f->domain, r->typed_data);
        pt = nw_json_get(r->typed_data, "primaryType");
        if (cJSON_IsString(pt) && strncmp(pt->valuestring, "Permit", 6) == 0) {
            if ((f->permit = malloc(sizeof *f->permit)) == NULL)
                return nw_fail(err, NW_ERR_NOMEM, "policy: out of memory");
            f->is_permit = policy_decode_permit(f->permit, r->typed_data);
        }
    } else if ((unsigned)r->kind > NW_POLICY_DIGEST) {
        return nw_fail(err, NW_ERR_INTERNAL, "policy: unknown request kind");
    }
    return NW_OK;
}

static void decide(struct nw_policy_decision *d, int allowed, const struct nw_policy *p, size_t i, const char *reason)
{
    d->allowed = allowed;
    d->rule_index = i;
    snprintf(d->rule, sizeof d->rule, "%s", i < p->n_rules ? p->rules[i].id : "default");
    snprintf(d->reason, sizeof d->reason, "%s", reason);
}

enum nw_err nw_policy_evaluate(struct nw_policy_decision *out, const struct nw_policy *p,
                               const struct nw_policy_request *r, struct nw_error *err)
{
    static const char *const plural[] = {"transactions", "messages", "typed data", "raw digests"};
    struct nw_policy_decision scratch, *d = out ? out : &scratch;
    struct facts f;
    struct check c, best;
    size_t allow = p->n_rules, closest = p->n_rules;
    int any_allow_rule = 0;
    char why[NW_POLICY_REASON_MAX];
    enum nw_err rc;

    memset(d, 0, sizeof *d);
    memset(&best, 0, sizeof best);
    rc = gather(&f, r, err);
    if (rc != NW_OK)
        goto out;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct nw_policy_rule *rule = &p->rules[i];
        if (rule->kind != r->kind)
            continue;
        if (check_rule(&c, rule, &f)) {
            if (!rule->allow) {
                snprintf(why, sizeof why, "denied by a deny rule%s%.200s", rule->description ? ": " : "",
                         rule->description ? rule->description : "");
                decide(d, 0, p, i, why);
                goto denied;
            }
            if (allow == p->n_rules)
                allow = i;
        } else if (rule->allow) {
            if (!any_allow_rule || c.held > best.held) {
                best = c;
                closest = i;
            }
            any_allow_rule = 1;
        }
    }
    if (allow < p->n_rules) {
        decide(d, 1, p, allow, "allowed");
        rc = NW_OK;
        goto out;
    }
    if (any_allow_rule) {
        decide(d, 0, p, closest, best.reason);
    } else {
        snprintf(why, sizeof why, "no rule allows %s", plural[r->kind]);
        decide(d, 0, p, p->n_rules, why);
    }
denied:
    rc = nw_fail(err, NW_ERR_POLICY_DENIED, "policy: rule \"%s\": %s", d->rule, d->reason);
out:
    free(f.permit);
    return rc;
}
