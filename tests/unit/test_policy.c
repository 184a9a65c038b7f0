/*
 * test_policy.c - account policies (src/policy/): table-driven cases of the
 * parser (what it refuses, with which limit), of evaluation (each condition
 * just inside and just outside its bound, deny over allow, the closest rule
 * named), of the decoders (ERC-20 calldata built from keccak-derived
 * selectors, EIP-2612 and Permit2 documents hashed by our EIP-712 code
 * first) and of the canonical text (equivalent documents, one digest).
 *
 * In the tables, policies and documents are written with ' for " to stay
 * readable; each row is one case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/eip712.h"
#include "nitrowallet/json.h"
#include "nitrowallet/keccak.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/tx.h"

#define A "0x1111111111111111111111111111111111111111"
#define B "0x2222222222222222222222222222222222222222"
#define C "0x3333333333333333333333333333333333333333"
#define T "0x4444444444444444444444444444444444444444" /* a token */
#define U "0x5555555555555555555555555555555555555555" /* another token */
/* EIP-55's own example, checksummed and in lower case. */
#define E55 "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define E55L "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
#define E55U "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"
#define PERMIT2 "0x000000000022d473030f116ddee9f6b43ac78ba3"
#define ETH "1000000000000000000"
#define ETH_PLUS_1 "1000000000000000001"
#define MAX256 "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define NOW 1700000000ull

/* ' -> " */
static char *q(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static enum nw_err parse_policy(struct nw_policy *p, const char *text, struct nw_error *err)
{
    char *j = q(text);
    enum nw_err rc = nw_policy_parse(p, j, strlen(j), err);
    free(j);
    return rc;
}

static void must_parse(struct nw_policy *p, const char *text)
{
    struct nw_error err = {0};
    if (parse_policy(p, text, &err) != NW_OK)
        fail_msg("policy refused: %s\n%s", err.msg, text);
}

/* --- the parser ------------------------------------------------------------ */

#define RULE(body) "{'version':1,'rules':[{'id':'r','effect':'allow'," body "}]}"
#define TXRULE(body) RULE("'kind':'transaction'," body)

struct parse_case {
    const char *policy;
    enum nw_err rc;
    const char *msg; /* substring of the error */
};

static const struct parse_case parse_cases[] = {
    /* accepted */
    {"{'version':1,'rules':[]}", NW_OK, NULL},
    {RULE("'kind':'digest'"), NW_OK, NULL},
    {RULE("'kind':'message','max_length':0"), NW_OK, NULL},
    {TXRULE("'to':['" A "','" B "'],'value_max':'" ETH "'"), NW_OK, NULL},
    {TXRULE("'value_max':'0xde0b6b3a7640000'"), NW_OK, NULL},
    {TXRULE("'value_max':1000"), NW_OK, NULL},
    {TXRULE("'chain_ids':[1,'0x89','10']"), NW_OK, NULL},
    {TXRULE("'tx_types':[0,1,2],'contract_creation':false"), NW_OK, NULL},
    {TXRULE("'selectors':['0x','0xa9059cbb']"), NW_OK, NULL},
    {TXRULE("'erc20':{'functions':['transfer'],'tokens':['" T "'],'recipients':['" B "'],'amount_max':'5'}"), NW_OK,
     NULL},
    {TXRULE("'erc20':{}"), NW_OK, NULL},
    {TXRULE("'to':['" E55 "']"), NW_OK, NULL},
    {TXRULE("'to':['" E55U "']"), NW_OK, NULL},
    {TXRULE("'gas_max':21000,'fee_max':'" MAX256 "'"), NW_OK, NULL},
    {RULE("'kind':'typed_data','domain':{'names':['Permit2'],'chain_ids':[1],'verifying_contracts':['" PERMIT2
          "']},'primary_types':['PermitSingle'],'permit':{'spenders':['" B "'],'deadline_max_seconds':3600}"),
     NW_OK, NULL},
    {"{'version':1,'rules':[{'id':'a.b_c-D9','effect':'deny','kind':'message','description':'no messages'}]}", NW_OK,
     NULL},
    /* refused: shape */
    {"[]", NW_ERR_BAD_REQUEST, "policy: must be an object"},
    {"{'rules':[]}", NW_ERR_BAD_REQUEST, "policy.version"},
    {"{'version':2,'rules':[]}", NW_ERR_BAD_REQUEST, "not a version this build knows"},
    {"{'version':'1','rules':[]}", NW_OK, NULL}, /* a quantity string, as everywhere */
    {"{'version':1}", NW_ERR_BAD_REQUEST, "policy.rules: required"},
    {"{'version':1,'rules':{}}", NW_ERR_BAD_REQUEST, "policy.rules: required, an array"},
    {"{'version':1,'rules':[],'extra':1}", NW_ERR_BAD_REQUEST, "extra"},
    {"{'version':1,'version':1,'rules':[]}", NW_ERR_BAD_REQUEST, "duplicate"},
    {"{'version':1,'rules':[{'id':'r','id':'s','effect':'allow','kind':'digest'}]}", NW_ERR_BAD_REQUEST,
     "duplicate"},
    {"{'version':1,'rules':[7]}", NW_ERR_BAD_REQUEST, "rules[0]: must be an object"},
    {"{'version':1,'rules':[{'effect':'allow','kind':'digest'}]}", NW_ERR_BAD_REQUEST, "rules[0].id: required"},
    {"{'version':1,'rules':[{'id':'','effect':'allow','kind':'digest'}]}", NW_ERR_BAD_REQUEST, "1..64"},
    {"{'version':1,'rules':[{'id':'a b','effect':'allow','kind':'digest'}]}", NW_ERR_BAD_REQUEST,
     "[A-Za-z0-9._-]"},
    {"{'version':1,'rules':[{'id':'default','effect':'allow','kind':'digest'}]}", NW_ERR_BAD_REQUEST, "reserved"},
    {"{'version':1,'rules':[{'id':'x','effect':'allow','kind':'digest'},{'id':'x','effect':'deny','kind':'digest'}]}",
     NW_ERR_BAD_REQUEST, "also the id of rules[0]"},
    {"{'version':1,'rules':[{'id':'r','kind':'digest'}]}", NW_ERR_BAD_REQUEST, "effect: required"},
    {"{'version':1,'rules':[{'id':'r','effect':'permit','kind':'digest'}]}", NW_ERR_BAD_REQUEST, "effect"},
    {"{'version':1,'rules':[{'id':'r','effect':'allow'}]}", NW_ERR_BAD_REQUEST, "kind: required"},
    {RULE("'kind':'tx'"), NW_ERR_BAD_REQUEST, "kind: required"},
    {RULE("'kind':'digest','colour':'red'"), NW_ERR_BAD_REQUEST, "colour"},
    /* refused: members of another kind */
    {RULE("'kind':'message','value_max':1"), NW_ERR_BAD_REQUEST, "value_max: not a condition of kind message"},
    {RULE("'kind':'digest','max_length':1"), NW_ERR_BAD_REQUEST, "not a condition of kind digest"},
    {TXRULE("'primary_types':['Mail']"), NW_ERR_BAD_REQUEST, "not a condition of kind transaction"},
    {RULE("'kind':'typed_data','to':['" A "']"), NW_ERR_BAD_REQUEST, "not a condition of kind typed_data"},
    /* refused: values */
    {TXRULE("'to':['0x1234']"), NW_ERR_BAD_REQUEST, "rules[0].to[0]"},
    {TXRULE("'to':['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD']"), NW_ERR_BAD_REQUEST, "to[0]"}, /* bad checksum */
    {TXRULE("'to':[7]"), NW_ERR_BAD_REQUEST, "must be an address string"},
    {TXRULE("'to':'" A "'"), NW_ERR_BAD_REQUEST, "to: must be an array"},
    {TXRULE("'to':['" E55 "','" E55L "']"), NW_ERR_BAD_REQUEST, "to[1]: the same address as"},
    {TXRULE("'value_max':'-1'"), NW_ERR_BAD_REQUEST, "value_max"},
    {TXRULE("'value_max':'1.5'"), NW_ERR_BAD_REQUEST, "value_max"},
    {TXRULE("'value_max':'0x'"), NW_ERR_BAD_REQUEST, "value_max"},
    {TXRULE("'value_max':'00'"), NW_ERR_BAD_REQUEST, "value_max"},
    {TXRULE("'value_max':'115792089237316195423570985008687907853269984665640564039457584007913129639936'"),
     NW_ERR_BAD_REQUEST, "value_max"},
    {TXRULE("'value_max':true"), NW_ERR_BAD_REQUEST, "value_max"},
    {TXRULE("'chain_ids':[0]"), NW_ERR_BAD_REQUEST, "at least 1"},
    {TXRULE("'chain_ids':[1,'0x1']"), NW_ERR_BAD_REQUEST, "the same chain id"},
    {TXRULE("'chain_ids':['9223372036854775772']"), NW_ERR_BAD_REQUEST, "chain_ids[0]"},
    {TXRULE("'tx_types':[3]"), NW_ERR_BAD_REQUEST, "0, 1 or 2"},
    {TXRULE("'tx_types':[2,2]"), NW_ERR_BAD_REQUEST, "named twice"},
    {TXRULE("'contract_creation':1"), NW_ERR_BAD_REQUEST, "true or false"},
    {TXRULE("'contract_creation':true,'to':['" A "']"), NW_ERR_BAD_REQUEST, "cannot be combined"},
    {TXRULE("'selectors':['0xa9059cb']"), NW_ERR_BAD_REQUEST, "8 hex digits"},
    {TXRULE("'selectors':['a9059cbb']"), NW_ERR_BAD_REQUEST, "8 hex digits"},
    {TXRULE("'selectors':['0xa9059cbb','0xA9059CBB']"), NW_ERR_BAD_REQUEST, "named twice"},
    {TXRULE("'selectors':['0x','0x']"), NW_ERR_BAD_REQUEST, "named twice"},
    {TXRULE("'gas_max':-1"), NW_ERR_BAD_REQUEST, "gas_max"},
    {TXRULE("'erc20':{'functions':['mint']}"), NW_ERR_BAD_REQUEST, "erc20.functions[0]: not one of"},
    {TXRULE("'erc20':{'functions':[]}"), NW_ERR_BAD_REQUEST, "at least one"},
    {TXRULE("'erc20':{'functions':['approve','approve']}"), NW_ERR_BAD_REQUEST, "named twice"},
    {TXRULE("'erc20':{'spenders':['" A "']}"), NW_ERR_BAD_REQUEST, "spenders"},
    {TXRULE("'erc20':[]"), NW_ERR_BAD_REQUEST, "erc20: must be an object"},
    {TXRULE("'allow_unlimited_approval':'yes'"), NW_ERR_BAD_REQUEST, "true or false"},
    {"{'version':1,'rules':[{'id':'r','effect':'deny','kind':'transaction','allow_unlimited_approval':true}]}",
     NW_ERR_BAD_REQUEST, "only in an allow rule"},
    {RULE("'kind':'typed_data','domain':{'name':['x']}"), NW_ERR_BAD_REQUEST, "domain"},
    {RULE("'kind':'typed_data','domain':{'names':[1]}"), NW_ERR_BAD_REQUEST, "must be a string"},
    {RULE("'kind':'typed_data','domain':{'names':['a','a']}"), NW_ERR_BAD_REQUEST, "the same as"},
    {RULE("'kind':'typed_data','permit':{'types':['Permit3']}"), NW_ERR_BAD_REQUEST, "permit.types[0]"},
    {RULE("'kind':'typed_data','permit':{'deadline_max_seconds':316224001}"), NW_ERR_BAD_REQUEST,
     "deadline_max_seconds"},
    {RULE("'kind':'typed_data','permit':{'amount_max':'x'}"), NW_ERR_BAD_REQUEST, "amount_max"},
    {RULE("'kind':'message','max_length':4294967296"), NW_ERR_BAD_REQUEST, "max_length"},
    {RULE("'kind':'message','description':7"), NW_ERR_BAD_REQUEST, "description: must be a string"},
    {"{'version':1,'rules':[]", NW_ERR_BAD_REQUEST, "policy"},
};

static void test_parser_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof *parse_cases; i++) {
        const struct parse_case *c = &parse_cases[i];
        struct nw_policy p;
        struct nw_error err = {0};
        enum nw_err rc = parse_policy(&p, c->policy, &err);
        if (rc != c->rc)
            fail_msg("case %zu: rc %s, want %s (%s)\n%s", i, nw_err_name(rc), nw_err_name(c->rc), err.msg,
                     c->policy);
        if (c->msg != NULL && strstr(err.msg, c->msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, c->msg);
        if (rc == NW_OK)
            nw_policy_free(&p);
        else
            assert_null(p.rules); /* nothing held after a refusal */
    }
}

/* --- limits ---------------------------------------------------------------- */

static char *rules_text(int n)
{
    size_t cap = 64 + (size_t)n * 64;
    char *s = malloc(cap);
    size_t len;
    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "{\"version\":1,\"rules\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s{\"id\":\"r%d\",\"effect\":\"allow\",\"kind\":\"digest\"}",
                                i ? "," : "", i);
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* A transaction rule with `n` addresses in `to`, plus `extra` rules of 256. */
static char *list_text(int n, int extra_rules)
{
    size_t cap = 256 + (size_t)(n + extra_rules * 256) * 48 + (size_t)extra_rules * 64;
    char *s = malloc(cap);
    size_t len;
    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "{\"version\":1,\"rules\":[{\"id\":\"big\",\"effect\":\"allow\","
                                   "\"kind\":\"transaction\",\"to\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"0x%040x\"", i ? "," : "", i + 1);
    len += (size_t)snprintf(s + len, cap - len, "]}");
    for (int r = 0; r < extra_rules; r++) {
        len += (size_t)snprintf(s + len, cap - len,
                                ",{\"id\":\"x%d\",\"effect\":\"allow\",\"kind\":\"transaction\",\"chain_ids\":[", r);
        for (int i = 0; i < 256; i++)
            len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? "," : "", i + 1);
        len += (size_t)snprintf(s + len, cap - len, "]}");
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void expect(const char *text, size_t len, enum nw_err want, const char *msg)
{
    struct nw_policy p;
    struct nw_error err = {0};
    enum nw_err rc = nw_policy_parse(&p, text, len, &err);
    if (rc != want)
        fail_msg("rc %s, want %s (%s)", nw_err_name(rc), nw_err_name(want), err.msg);
    if (msg != NULL && strstr(err.msg, msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
    if (rc == NW_OK)
        nw_policy_free(&p);
}

static void test_limits_are_named(void **state)
{
    char *s;
    (void)state;
    s = rules_text(NW_POLICY_MAX_RULES);
    expect(s, strlen(s), NW_OK, NULL);
    free(s);
    s = rules_text(NW_POLICY_MAX_RULES + 1);
    expect(s, strlen(s), NW_ERR_TOO_LARGE, "NW_POLICY_MAX_RULES");
    free(s);
    s = list_text(NW_POLICY_MAX_LIST, 0);
    expect(s, strlen(s), NW_OK, NULL);
    free(s);
    s = list_text(NW_POLICY_MAX_LIST + 1, 0);
    expect(s, strlen(s), NW_ERR_TOO_LARGE, "NW_POLICY_MAX_LIST");
    free(s);
    /* 16 lists of 256 is the whole-policy bound exactly; one more entry is over */
    s = list_text(256, 15);
    expect(s, strlen(s), NW_OK, NULL);
    free(s);
    s = list_text(1, 16);
    expect(s, strlen(s), NW_ERR_TOO_LARGE, "list entries in all");
    free(s);
    /* the document itself */
    s = calloc(1, NW_POLICY_MAX_JSON + 2);
    assert_non_null(s);
    memset(s, ' ', NW_POLICY_MAX_JSON + 1);
    memcpy(s, "{\"version\":1,\"rules\":[]}", 24);
    expect(s, NW_POLICY_MAX_JSON, NW_OK, NULL); /* trailing spaces are JSON whitespace */
    expect(s, NW_POLICY_MAX_JSON + 1, NW_ERR_TOO_LARGE, "NW_POLICY_MAX_JSON");
    free(s);
    /* a description and an id at and over their bounds */
    s = malloc(1024);
    assert_non_null(s);
    snprintf(s, 1024, "{\"version\":1,\"rules\":[{\"id\":\"%064d\",\"effect\":\"allow\",\"kind\":\"digest\","
                      "\"description\":\"%0256d\"}]}", 0, 0);
    expect(s, strlen(s), NW_OK, NULL);
    snprintf(s, 1024, "{\"version\":1,\"rules\":[{\"id\":\"r\",\"effect\":\"allow\",\"kind\":\"digest\","
                      "\"description\":\"%0257d\"}]}", 0);
    expect(s, strlen(s), NW_ERR_TOO_LARGE, "description: more than 256");
    snprintf(s, 1024, "{\"version\":1,\"rules\":[{\"id\":\"%065d\",\"effect\":\"allow\",\"kind\":\"digest\"}]}", 0);
    expect(s, strlen(s), NW_ERR_BAD_REQUEST, "1..64");
    free(s);
}

/* --- canonical text and digest -------------------------------------------------- */

static void canonical(const struct nw_policy *p, char **out)
{
    struct nw_buf b;
    nw_buf_init(&b, NW_POLICY_MAX_CANONICAL);
    assert_int_equal(nw_policy_canonical(&b, p, NULL), NW_OK);
    *out = calloc(1, b.len + 1);
    assert_non_null(*out);
    memcpy(*out, b.data, b.len);
    nw_buf_free(&b);
}

static void test_canonical_round_trip_for_every_accepted_case(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof *parse_cases; i++) {
        struct nw_policy p, p2;
        char *c1, *c2;
        struct nw_error err = {0};
        if (parse_cases[i].rc != NW_OK)
            continue;
        must_parse(&p, parse_cases[i].policy);
        canonical(&p, &c1);
        if (nw_policy_parse(&p2, c1, strlen(c1), &err) != NW_OK)
            fail_msg("case %zu: canonical text refused: %s\n%s", i, err.msg, c1);
        canonical(&p2, &c2);
        assert_string_equal(c1, c2);
        assert_memory_equal(p.digest, p2.digest, 32);
        free(c1);
        free(c2);
        nw_policy_free(&p);
        nw_policy_free(&p2);
    }
}

static void same_digest(const char *a, const char *b, int want_same)
{
    struct nw_policy pa, pb;
    must_parse(&pa, a);
    must_parse(&pb, b);
    if ((memcmp(pa.digest, pb.digest, 32) == 0) != want_same)
        fail_msg("digests %s:\n%s\n%s", want_same ? "differ" : "are equal", a, b);
    nw_policy_free(&pa);
    nw_policy_free(&pb);
}

static void test_equivalent_documents_have_one_digest(void **state)
{
    (void)state;
    /* address case, quantity form, key order */
    same_digest(TXRULE("'to':['" E55 "']"), TXRULE("'to':['" E55L "']"), 1);
    same_digest(TXRULE("'to':['" E55U "']"), TXRULE("'to':['" E55L "']"), 1);
    same_digest(TXRULE("'value_max':'" ETH "'"), TXRULE("'value_max':'0xde0b6b3a7640000'"), 1);
    same_digest(TXRULE("'value_max':1000"), TXRULE("'value_max':'1000'"), 1);
    same_digest(TXRULE("'chain_ids':[137]"), TXRULE("'chain_ids':['0x89']"), 1);
    same_digest("{'version':1,'rules':[{'id':'r','effect':'allow','kind':'digest'}]}",
                "{'rules':[{'kind':'digest','effect':'allow','id':'r'}],'version':1}", 1);
    /* and different meanings, different digests */
    same_digest(TXRULE("'value_max':'" ETH "'"), TXRULE("'value_max':'" ETH_PLUS_1 "'"), 0);
    same_digest(TXRULE("'to':['" A "']"), TXRULE("'to':['" B "']"), 0);
    same_digest(TXRULE("'to':['" A "']"), TXRULE("'not_to':['" A "']"), 0);
    same_digest(RULE("'kind':'digest'"), "{'version':1,'rules':[{'id':'r','effect':'deny','kind':'digest'}]}", 0);
    same_digest(RULE("'kind':'digest'"), "{'version':1,'rules':[{'id':'s','effect':'allow','kind':'digest'}]}", 0);
    same_digest(TXRULE("'selectors':['0x']"), TXRULE("'selectors':[]"), 0);
    same_digest(TXRULE("'erc20':{}"), TXRULE("'erc20':{'functions':['transfer','transferFrom','approve',"
                                             "'increaseAllowance']}"), 1);
}

static void test_default_policy(void **state)
{
    struct nw_policy p;
    char *c;
    (void)state;
    assert_int_equal(nw_policy_default(&p, NULL), NW_OK);
    assert_int_equal(p.n_rules, 3);
    canonical(&p, &c);
    assert_non_null(strstr(c, "\"allow_unlimited_approval\":true"));
    assert_null(strstr(c, "digest"));
    free(c);
    nw_policy_free(&p);
}

/* --- transactions ------------------------------------------------------------- */

#define TX(type_fields, to, value) \
    "{" type_fields ",'nonce':0,'to':'" to "','value':'" value "'}"
#define T2(chain, gas, fee) "'type':2,'chainId':" chain ",'gas':" gas ",'maxFeePerGas':'" fee "','maxPriorityFeePerGas':'1'"
#define TX2(to, value) TX(T2("1", "21000", "1000000000"), to, value)
#define TXC(chain, to) TX(T2(chain, "21000", "1000000000"), to, "0")
#define TXL(gas, price, to) "{'type':0,'chainId':1,'nonce':0,'gas':" gas ",'gasPrice':'" price "','to':'" to "','value':'0'}"
#define CREATE "{'type':2,'chainId':1,'nonce':0,'gas':100000,'maxFeePerGas':'1','maxPriorityFeePerGas':'1','value':'0','data':'0x6000'}"

struct tx_case {
    const char *policy;
    const char *tx;
    const char *call;   /* "fn TO AMOUNT" / "transferFrom FROM TO AMOUNT", or raw "0x.." calldata */
    int allowed;
    const char *rule;   /* the deciding rule */
    const char *reason; /* substring of the reason */
};

#define HOT                                                                                                \
    "{'version':1,'rules':[{'id':'hot-pay','effect':'allow','kind':'transaction','chain_ids':[1],'to':['" A \
    "','" B "','" C "'],'value_max':'" ETH "','contract_creation':false,'selectors':['0x']}]}"
#define DENY_C                                                                                                   \
    "{'version':1,'rules':[{'id':'any','effect':'allow','kind':'transaction'},{'id':'never-c','effect':'deny'," \
    "'kind':'transaction','to':['" C "'],'description':'C is a known scam'}]}"
#define ERC20_POL                                                                                                \
    "{'version':1,'rules':[{'id':'usdt','effect':'allow','kind':'transaction','to':['" T "'],'erc20':{"        \
    "'functions':['transfer','transferFrom'],'recipients':['" A "','" B "'],'amount_max':'1000000'}},"        \
    "{'id':'approve-router','effect':'allow','kind':'transaction','erc20':{'functions':['approve'],"          \
    "'tokens':['" T "','" U "'],'recipients':['" C "'],'amount_max':'5000'}}]}"
#define UNLIMITED_POL                                                                                             \
    "{'version':1,'rules':[{'id':'cap','effect':'allow','kind':'transaction','erc20':{'functions':['approve'," \
    "'increaseAllowance']}},{'id':'router-unlimited','effect':'allow','kind':'transaction','to':['" U "'],"    \
    "'allow_unlimited_approval':true}]}"
#define SEL_POL                                                                                                   \
    "{'version':1,'rules':[{'id':'router','effect':'allow','kind':'transaction','to':['" A "'],'selectors':['" \
    "0x38ed1739','0x7ff36ab5']},{'id':'pay-b','effect':'allow','kind':'transaction','to':['" B "'],"           \
    "'selectors':['0x']}]}"
#define GAS_POL                                                                                                   \
    "{'version':1,'rules':[{'id':'cheap','effect':'allow','kind':'transaction','gas_max':50000,'fee_max':'" \
    "21000000000000'}]}"

static const struct tx_case tx_cases[] = {
    /* hot wallet: three addresses, up to 1 ETH, chain 1, no calldata */
    {HOT, TX2(A, ETH), NULL, 1, "hot-pay", "allowed"},
    {HOT, TX2(B, "0"), NULL, 1, "hot-pay", "allowed"},
    {HOT, TX2(A, ETH_PLUS_1), NULL, 0, "hot-pay", "value 1000000000000000001 is over value_max 1000000000000000000"},
    {HOT, TX2(A, MAX256), NULL, 0, "hot-pay", "over value_max"},
    {HOT, TX2(E55, "1"), NULL, 0, "hot-pay", "is not in to"},
    {HOT, TXC("5", A), NULL, 0, "hot-pay", "chain id 5 is not in chain_ids"},
    {HOT, TXC("137", A), NULL, 0, "hot-pay", "chain id 137"},
    {HOT, CREATE, NULL, 0, "hot-pay", "a contract creation, and contract_creation is false"},
    {HOT, TX2(A, "1"), "0xdeadbeef", 0, "hot-pay", "selector 0xdeadbeef is not in selectors"},
    {HOT, TX2(A, "1"), "0x00", 0, "hot-pay", "calldata of 1 bytes has no selector"},
    {HOT, TXL("21000", "1", A), NULL, 1, "hot-pay", NULL},
    /* address case: a checksummed list entry matches a lower-case transaction, and back */
    {TXRULE("'to':['" E55 "']"), TX2(E55L, "1"), NULL, 1, "r", NULL},
    {TXRULE("'to':['" E55L "']"), TX2(E55, "1"), NULL, 1, "r", NULL},
    {TXRULE("'to':['" E55U "']"), TX2(E55, "1"), NULL, 1, "r", NULL},
    /* hex and decimal caps are the same cap */
    {TXRULE("'value_max':'0xde0b6b3a7640000'"), TX2(A, ETH), NULL, 1, "r", NULL},
    {TXRULE("'value_max':'0xde0b6b3a7640000'"), TX2(A, ETH_PLUS_1), NULL, 0, "r", "over value_max"},
    {TXRULE("'value_max':'0xde0b6b3a7640000'"), TX2(A, "0xde0b6b3a7640001"), NULL, 0, "r", "over value_max"},
    {TXRULE("'value_max':0"), TX2(A, "0"), NULL, 1, "r", NULL},
    {TXRULE("'value_max':0"), TX2(A, "1"), NULL, 0, "r", "value 1 is over value_max 0"},
    {TXRULE("'value_max':'" MAX256 "'"), TX2(A, MAX256), NULL, 1, "r", NULL},
    /* transaction types */
    {TXRULE("'tx_types':[2]"), TX2(A, "0"), NULL, 1, "r", NULL},
    {TXRULE("'tx_types':[2]"), TXL("21000", "1", A), NULL, 0, "r", "transaction type 0 is not in tx_types"},
    {TXRULE("'tx_types':[0,1]"), TXL("21000", "1", A), NULL, 1, "r", NULL},
    {TXRULE("'tx_types':[]"), TX2(A, "0"), NULL, 0, "r", "not in tx_types"},
    /* contract creation */
    {TXRULE("'contract_creation':true"), CREATE, NULL, 1, "r", NULL},
    {TXRULE("'contract_creation':true"), TX2(A, "0"), NULL, 0, "r", "not a contract creation"},
    {TXRULE("'contract_creation':false"), CREATE, NULL, 0, "r", "contract_creation is false"},
    {TXRULE("'value_max':0"), CREATE, NULL, 1, "r", NULL}, /* no condition on creation: any */
    {TXRULE("'to':['" A "']"), CREATE, NULL, 0, "r", "a contract creation has no to"},
    {TXRULE("'not_to':['" A "']"), CREATE, NULL, 1, "r", NULL},
    /* deny lists and deny rules */
    {TXRULE("'not_to':['" A "','" B "']"), TX2(C, "0"), NULL, 1, "r", NULL},
    {TXRULE("'not_to':['" A "','" B "']"), TX2(B, "0"), NULL, 0, "r", "is in not_to"},
    {DENY_C, TX2(A, ETH), NULL, 1, "any", NULL},
    {DENY_C, TX2(C, "0"), NULL, 0, "never-c", "denied by a deny rule: C is a known scam"},
    {"{'version':1,'rules':[{'id':'d','effect':'deny','kind':'transaction'},{'id':'a','effect':'allow',"
     "'kind':'transaction'}]}",
     TX2(A, "0"), NULL, 0, "d", "denied by a deny rule"},
    {"{'version':1,'rules':[{'id':'d','effect':'deny','kind':'transaction','value_max':'10'},{'id':'a','effect':"
     "'allow','kind':'transaction'}]}",
     TX2(A, "11"), NULL, 1, "a", NULL},
    {"{'version':1,'rules':[{'id':'d','effect':'deny','kind':'transaction','value_max':'10'},{'id':'a','effect':"
     "'allow','kind':'transaction'}]}",
     TX2(A, "10"), NULL, 0, "d", NULL},
    /* deny by default, and which rule is named */
    {"{'version':1,'rules':[]}", TX2(A, "0"), NULL, 0, "default", "no rule allows transactions"},
    {"{'version':1,'rules':[{'id':'m','effect':'allow','kind':'message'}]}", TX2(A, "0"), NULL, 0, "default",
     "no rule allows transactions"},
    {"{'version':1,'rules':[{'id':'d','effect':'deny','kind':'transaction','to':['" B "']}]}", TX2(A, "0"), NULL, 0,
     "default", "no rule allows"},
    {"{'version':1,'rules':[{'id':'far','effect':'allow','kind':'transaction','chain_ids':[5]},{'id':'near',"
     "'effect':'allow','kind':'transaction','chain_ids':[1],'to':['" A "'],'value_max':'1'}]}",
     TX2(A, "2"), NULL, 0, "near", "value 2 is over value_max 1"},
    {"{'version':1,'rules':[{'id':'first','effect':'allow','kind':'transaction','to':['" B "']},{'id':'second',"
     "'effect':'allow','kind':'transaction','to':['" A "']}]}",
     TX2(A, "0"), NULL, 1, "second", NULL},
    {"{'version':1,'rules':[{'id':'first','effect':'allow','kind':'transaction'},{'id':'second','effect':'allow',"
     "'kind':'transaction'}]}",
     TX2(A, "0"), NULL, 1, "first", NULL},
    /* selectors per destination */
    {SEL_POL, TX2(A, "0"), "0x38ed1739", 1, "router", NULL},
    {SEL_POL, TX2(A, "0"), "0x7ff36ab5" "00000000000000000000000000000000000000000000000000000000000000ff", 1, "router",
     NULL},
    {SEL_POL, TX2(A, "0"), "0x095ea7b3", 0, "router", "selector 0x095ea7b3 is not in selectors"},
    {SEL_POL, TX2(A, "0"), NULL, 0, "router", "no calldata"},
    {SEL_POL, TX2(B, "5"), NULL, 1, "pay-b", NULL},
    {SEL_POL, TX2(B, "5"), "0x38ed1739", 0, NULL, "not in selectors"},
    {SEL_POL, TX2(C, "5"), NULL, 0, NULL, "is not in to"},
    /* gas and fee */
    {GAS_POL, TX(T2("1", "21000", "1000000000"), A, "0"), NULL, 1, "cheap", NULL},
    {GAS_POL, TX(T2("1", "50000", "1"), A, "0"), NULL, 1, "cheap", NULL},
    {GAS_POL, TX(T2("1", "50001", "1"), A, "0"), NULL, 0, "cheap", "gas 50001 is over gas_max 50000"},
    {GAS_POL, TX(T2("1", "21000", "1000000001"), A, "0"), NULL, 0, "cheap",
     "fee (gas times fee per gas) 21000000021000 is over fee_max 21000000000000"},
    {GAS_POL, TXL("21000", "1000000000", A), NULL, 1, "cheap", NULL},
    {GAS_POL, TXL("21000", "1000000001", A), NULL, 0, "cheap", "over fee_max"},
    {GAS_POL, TXL("21000", MAX256, A), NULL, 0, "cheap", "over fee_max"},
    {TXRULE("'fee_max':'" MAX256 "'"), TXL("2", MAX256, A), NULL, 0, "r", "the fee (gas times fee per gas) is over"},
    {TXRULE("'fee_max':'" MAX256 "'"), TXL("1", MAX256, A), NULL, 1, "r", NULL},
    /* ERC-20 transfers: token, recipient, amount */
    {ERC20_POL, TX2(T, "0"), "transfer A 1000000", 1, "usdt", NULL},
    {ERC20_POL, TX2(T, "0"), "transfer B 0", 1, "usdt", NULL},
    {ERC20_POL, TX2(T, "0"), "transfer A 1000001", 0, "usdt", "ERC-20 amount 1000001 is over erc20.amount_max 1000000"},
    {ERC20_POL, TX2(T, "0"), "transfer C 1", 0, "usdt", "recipient 0x3333333333333333333333333333333333333333 is not in"},
    {ERC20_POL, TX2(T, "0"), "transferFrom C A 1000000", 1, "usdt", NULL},
    {ERC20_POL, TX2(T, "0"), "transferFrom A C 1", 0, "usdt", "recipient"},
    {ERC20_POL, TX2(T, "0"), "transferFrom A B 1000001", 0, "usdt", "over erc20.amount_max"},
    {ERC20_POL, TX2(U, "0"), "transfer A 1", 0, NULL, NULL},
    {ERC20_POL, TX2(T, "0"), "0xa9059cbb", 0, "usdt", "recipient 0x0000000000000000000000000000000000000000"},
    {ERC20_POL, TX2(T, "0"), "0x12345678", 0, "usdt", "not an ERC-20"},
    {ERC20_POL, TX2(T, "0"), NULL, 0, "usdt", "not an ERC-20"},
    /* trailing bytes are ignored as a token ignores them; dirty high bytes read as the low 20 */
    {ERC20_POL, TX2(T, "0"), "transfer A 5 +ff", 1, "usdt", NULL},
    {ERC20_POL, TX2(T, "0"), "transfer A 5 dirty", 1, "usdt", NULL},
    /* approvals */
    {ERC20_POL, TX2(T, "0"), "approve C 5000", 1, "approve-router", NULL},
    {ERC20_POL, TX2(U, "0"), "approve C 5000", 1, "approve-router", NULL},
    {ERC20_POL, TX2(T, "0"), "approve C 5001", 0, NULL, "over erc20.amount_max"},
    {ERC20_POL, TX2(T, "0"), "approve A 1", 0, NULL, "spender 0x1111111111111111111111111111111111111111 is not"},
    {ERC20_POL, TX2(A, "0"), "approve C 1", 0, "approve-router", "token 0x1111111111111111111111111111111111111111 is not in erc20.tokens"},
    {ERC20_POL, TX2(T, "0"), "increaseAllowance C 1", 0, NULL, "ERC-20 increaseAllowance is not in erc20.functions"},
    {ERC20_POL, TX2(T, "0"), "approve C max", 0, NULL, NULL},
    /* unlimited approvals only by name */
    {UNLIMITED_POL, TX2(T, "0"), "approve C 5", 1, "cap", NULL},
    {UNLIMITED_POL, TX2(T, "0"), "approve C max", 0, "cap", "unlimited ERC-20 approval"},
    {UNLIMITED_POL, TX2(T, "0"), "increaseAllowance C max", 0, "cap", "allow_unlimited_approval"},
    {UNLIMITED_POL, TX2(T, "0"), "approve C max-1", 1, "cap", NULL},
    {UNLIMITED_POL, TX2(U, "0"), "approve C max", 1, "router-unlimited", NULL},
    {TXRULE("'to':['" T "']"), TX2(T, "0"), "approve C max", 0, "r", "unlimited"},
    {TXRULE("'to':['" T "'],'allow_unlimited_approval':true"), TX2(T, "0"), "approve C max", 1, "r", NULL},
    {"{'version':1,'rules':[]}", TX2(T, "0"), "approve C max", 0, "default", NULL},
};

static void set_word_addr(char *hex, const char *addr, int dirty)
{
    memcpy(hex, dirty ? "ffffffffffffffffffffffff" : "000000000000000000000000", 24);
    memcpy(hex + 24, addr + 2, 40);
}

static const char *letter(const char *s)
{
    switch (s[0]) {
    case 'A': return A;
    case 'B': return B;
    case 'C': return C;
    default: return NULL;
    }
}

/* "fn X [Y] AMOUNT [+ff|dirty]" -> "0x" calldata, the selector from keccak of
 * the signature; or a spec that starts "0x", as it is. */
static void calldata(char *out, size_t cap, const char *spec)
{
    static const char *const sigs[][2] = {{"transfer", "transfer(address,uint256)"},
                                          {"transferFrom", "transferFrom(address,address,uint256)"},
                                          {"approve", "approve(address,uint256)"},
                                          {"increaseAllowance", "increaseAllowance(address,uint256)"}};
    char tok[5][96] = {{0}};
    const char *sig = NULL, *amount, *extra;
    uint8_t h[32], be[32];
    struct nw_u256 v;
    size_t len;
    int n, two;

    if (spec[0] == '0') {
        snprintf(out, cap, "%s", spec);
        return;
    }
    n = sscanf(spec, "%95s %95s %95s %95s %95s", tok[0], tok[1], tok[2], tok[3], tok[4]);
    two = strcmp(tok[0], "transferFrom") == 0;
    assert_true(n >= 3 + two);
    amount = tok[2 + two];
    extra = tok[3 + two];
    for (size_t i = 0; i < 4; i++)
        if (strcmp(sigs[i][0], tok[0]) == 0)
            sig = sigs[i][1];
    assert_non_null(sig);
    nw_keccak256(h, sig, strlen(sig));
    len = (size_t)snprintf(out, cap, "0x%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
    set_word_addr(out + len, letter(tok[1]), strcmp(extra, "dirty") == 0);
    len += 64;
    if (two) {
        set_word_addr(out + len, letter(tok[2]), 0);
        len += 64;
    }
    if (strncmp(amount, "max", 3) == 0) {
        assert_int_equal(nw_u256_parse(&v, MAX256, strlen(MAX256), 0, NULL), NW_OK);
        if (amount[3] == '-')
            v.w[0] -= 1;
    } else {
        assert_int_equal(nw_u256_parse(&v, amount, strlen(amount), 0, NULL), NW_OK);
    }
    nw_u256_to_be32(be, &v);
    for (int i = 0; i < 32; i++)
        len += (size_t)snprintf(out + len, cap - len, "%02x", be[i]);
    out[len] = '\0';
    if (strcmp(extra, "+ff") == 0)
        snprintf(out + len, cap - len, "ff");
}

static void load_tx(struct nw_tx *tx, const char *tx_text, const char *call)
{
    char *j = q(tx_text), *full;
    char data[512];
    struct nw_error err = {0};
    size_t n = strlen(j) + 600;

    full = malloc(n);
    assert_non_null(full);
    if (call != NULL) {
        calldata(data, sizeof data, call);
        j[strlen(j) - 1] = '\0';
        snprintf(full, n, "%s,\"data\":\"%s\"}", j, data);
    } else {
        snprintf(full, n, "%s", j);
    }
    if (nw_tx_parse(tx, full, strlen(full), &err) != NW_OK)
        fail_msg("transaction refused: %s\n%s", err.msg, full);
    free(full);
    free(j);
}

static void check_decision(size_t i, const struct nw_policy_decision *d, enum nw_err rc, struct nw_error *err,
                           int allowed, const char *rule, const char *reason)
{
    if (d->allowed != allowed || (rc == NW_OK) != allowed)
        fail_msg("case %zu: %s by rule %s (%s), want %s", i, d->allowed ? "allowed" : "denied", d->rule, d->reason,
                 allowed ? "allowed" : "denied");
    if (rule != NULL && strcmp(d->rule, rule) != 0)
        fail_msg("case %zu: decided by \"%s\" (%s), want \"%s\"", i, d->rule, d->reason, rule);
    if (reason != NULL && strstr(d->reason, reason) == NULL)
        fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, d->reason, reason);
    if (!allowed) {
        assert_int_equal(rc, NW_ERR_POLICY_DENIED);
        assert_non_null(strstr(err->msg, d->rule)); /* the error names the rule */
    }
}

static void test_transaction_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof tx_cases / sizeof *tx_cases; i++) {
        const struct tx_case *c = &tx_cases[i];
        struct nw_policy p;
        struct nw_tx tx;
        struct nw_policy_decision d;
        struct nw_error err = {0};
        struct nw_policy_request r = {.kind = NW_POLICY_TRANSACTION, .now = NOW};
        enum nw_err rc;

        must_parse(&p, c->policy);
        load_tx(&tx, c->tx, c->call);
        r.tx = &tx;
        rc = nw_policy_evaluate(&d, &p, &r, &err);
        check_decision(i, &d, rc, &err, c->allowed, c->rule, c->reason);
        nw_tx_free(&tx);
        nw_policy_free(&p);
    }
}

/* --- typed data --------------------------------------------------------------- */

#define DOMAIN_TYPE_FULL                                                                                   \
    "'EIP712Domain':[{'name':'name','type':'string'},{'name':'version','type':'string'},{'name':'chainId'," \
    "'type':'uint256'},{'name':'verifyingContract','type':'address'}]"
#define DOMAIN_TYPE_P2                                                                                      \
    "'EIP712Domain':[{'name':'name','type':'string'},{'name':'chainId','type':'uint256'},{'name':"         \
    "'verifyingContract','type':'address'}]"
#define PERMIT_TYPE                                                                                          \
    "'Permit':[{'name':'owner','type':'address'},{'name':'spender','type':'address'},{'name':'value','type':" \
    "'uint256'},{'name':'nonce','type':'uint256'},{'name':'deadline','type':'uint256'}]"
#define DETAILS_TYPE                                                                                           \
    "'PermitDetails':[{'name':'token','type':'address'},{'name':'amount','type':'uint160'},{'name':'expiration'," \
    "'type':'uint48'},{'name':'nonce','type':'uint48'}]"
#define P2_DOMAIN "'domain':{'name':'Permit2','chainId':1,'verifyingContract':'" PERMIT2 "'}"

#define EIP2612(name, chain, token, spender, value, deadline)                                                     \
    "{'types':{" DOMAIN_TYPE_FULL "," PERMIT_TYPE "},'primaryType':'Permit','domain':{'name':'" name            \
    "','version':'2','chainId':" chain ",'verifyingContract':'" token "'},'message':{'owner':'" A "','spender':'" \
    spender "','value':'" value "','nonce':0,'deadline':'" deadline "'}}"
#define SINGLE(token, amount, spender, deadline)                                                                    \
    "{'types':{" DOMAIN_TYPE_P2 "," DETAILS_TYPE ",'PermitSingle':[{'name':'details','type':'PermitDetails'},"    \
    "{'name':'spender','type':'address'},{'name':'sigDeadline','type':'uint256'}]},'primaryType':'PermitSingle'," \
    P2_DOMAIN ",'message':{'details':{'token':'" token "','amount':'" amount "','expiration':'1800000000',"       \
    "'nonce':0},'spender':'" spender "','sigDeadline':'" deadline "'}}"
#define BATCH(t1, a1, t2, a2, spender, deadline)                                                                   \
    "{'types':{" DOMAIN_TYPE_P2 "," DETAILS_TYPE ",'PermitBatch':[{'name':'details','type':'PermitDetails[]'},"   \
    "{'name':'spender','type':'address'},{'name':'sigDeadline','type':'uint256'}]},'primaryType':'PermitBatch',"  \
    P2_DOMAIN ",'message':{'details':[{'token':'" t1 "','amount':'" a1 "','expiration':0,'nonce':0},{'token':'" \
    t2 "','amount':'" a2 "','expiration':0,'nonce':1}],'spender':'" spender "','sigDeadline':'" deadline "'}}"
#define TRANSFER_FROM(token, amount, spender, deadline)                                                          \
    "{'types':{" DOMAIN_TYPE_P2 ",'TokenPermissions':[{'name':'token','type':'address'},{'name':'amount',"      \
    "'type':'uint256'}],'PermitTransferFrom':[{'name':'permitted','type':'TokenPermissions'},{'name':'spender'," \
    "'type':'address'},{'name':'nonce','type':'uint256'},{'name':'deadline','type':'uint256'}]},"               \
    "'primaryType':'PermitTransferFrom'," P2_DOMAIN ",'message':{'permitted':{'token':'" token "','amount':'"     \
    amount "'},'spender':'" spender "','nonce':'7','deadline':'" deadline "'}}"
/* A Permit whose type is not EIP-2612's (a member renamed): not a permit. */
#define FAKE_PERMIT                                                                                                \
    "{'types':{" DOMAIN_TYPE_FULL ",'Permit':[{'name':'owner','type':'address'},{'name':'spender','type':"      \
    "'address'},{'name':'amount','type':'uint256'},{'name':'nonce','type':'uint256'},{'name':'deadline','type':" \
    "'uint256'}]},'primaryType':'Permit','domain':{'name':'USD Coin','version':'2','chainId':1,"                \
    "'verifyingContract':'" T "'},'message':{'owner':'" A "','spender':'" B "','amount':'1','nonce':0,"          \
    "'deadline':'1700000001'}}"
#define MAIL                                                                                                      \
    "{'types':{'EIP712Domain':[{'name':'name','type':'string'},{'name':'chainId','type':'uint256'}],'Mail':["  \
    "{'name':'contents','type':'string'}]},'primaryType':'Mail','domain':{'name':'Ether Mail','chainId':'0x1'}," \
    "'message':{'contents':'hello'}}"

#define MM                                                                                                         \
    "{'version':1,'rules':[{'id':'p2','effect':'allow','kind':'typed_data','domain':{'names':['Permit2'],"        \
    "'chain_ids':[1],'verifying_contracts':['" PERMIT2 "']},'permit':{'types':['PermitSingle','PermitBatch',"   \
    "'PermitTransferFrom'],'spenders':['" B "'],'tokens':['" T "','" U "'],'amount_max':'1000','deadline_max_"   \
    "seconds':3600}}]}"
#define USDC                                                                                                        \
    "{'version':1,'rules':[{'id':'usdc-permit','effect':'allow','kind':'typed_data','domain':{'names':['USD Coin']," \
    "'versions':['2'],'chain_ids':[1]},'primary_types':['Permit'],'permit':{'types':['Permit'],'spenders':['" C   \
    "'],'tokens':['" T "'],'amount_max':'" ETH "','deadline_max_seconds':0}}]}"
#define MAIL_POL                                                                                            \
    "{'version':1,'rules':[{'id':'mail','effect':'allow','kind':'typed_data','domain':{'names':['Ether Mail']," \
    "'chain_ids':[1]},'primary_types':['Mail']},{'id':'no-permits','effect':'deny','kind':'typed_data',"    \
    "'permit':{}}]}"

struct typed_case {
    const char *policy;
    const char *doc;
    int allowed;
    const char *rule;
    const char *reason;
};

static const struct typed_case typed_cases[] = {
    /* Permit2 for one spender, two tokens, an amount cap, an hour's deadline */
    {MM, SINGLE(T, "1000", B, "1700003600"), 1, "p2", NULL},
    {MM, SINGLE(U, "0", B, "1700000000"), 1, "p2", NULL},
    {MM, SINGLE(T, "1001", B, "1700003600"), 0, "p2", "permit amount 1001 is over permit.amount_max 1000"},
    {MM, SINGLE(T, "1000", C, "1700003600"), 0, "p2", "spender 0x3333333333333333333333333333333333333333 is not"},
    {MM, SINGLE(T, "1000", B, "1700003601"), 0, "p2", "deadline 1700003601 is more than 3600 seconds after now"},
    {MM, SINGLE(T, "1000", B, MAX256), 0, "p2", "more than 3600 seconds"},
    {MM, SINGLE(A, "1", B, "1700000001"), 0, "p2", "token 0x1111111111111111111111111111111111111111 is not in permit.tokens"},
    {MM, BATCH(T, "1000", U, "1000", B, "1700000001"), 1, "p2", NULL},
    {MM, BATCH(T, "1000", U, "1001", B, "1700000001"), 0, "p2", "over permit.amount_max"},
    {MM, BATCH(T, "1", A, "1", B, "1700000001"), 0, "p2", "not in permit.tokens"},
    {MM, BATCH(T, "1", U, "1", C, "1700000001"), 0, "p2", "spender"},
    {MM, TRANSFER_FROM(T, "1000", B, "1700000001"), 1, "p2", NULL},
    {MM, TRANSFER_FROM(T, "1000", B, "1700003601"), 0, "p2", "deadline"},
    {MM, TRANSFER_FROM(T, "1001", B, "1700000001"), 0, "p2", "over permit.amount_max"},
    {MM, EIP2612("Permit2", "1", PERMIT2, B, "1", "1700000001"), 0, "p2", "Permit is not in permit.types"},
    {MM, EIP2612("USD Coin", "1", T, B, "1", "1700000001"), 0, "p2", "domain name \"USD Coin\" is not in domain.names"},
    {MM, MAIL, 0, "p2", "domain name"},
    /* EIP-2612 on one token, one spender, deadline at most now */
    {USDC, EIP2612("USD Coin", "1", T, C, ETH, "1700000000"), 1, "usdc-permit", NULL},
    {USDC, EIP2612("USD Coin", "1", T, C, ETH_PLUS_1, "1700000000"), 0, "usdc-permit", "over permit.amount_max"},
    {USDC, EIP2612("USD Coin", "1", T, C, "1", "1700000001"), 0, "usdc-permit", "more than 0 seconds"},
    {USDC, EIP2612("USD Coin", "1", T, B, "1", "1"), 0, "usdc-permit", "spender"},
    {USDC, EIP2612("USD Coin", "5", T, C, "1", "1"), 0, "usdc-permit", "domain chainId 5 is not in domain.chain_ids"},
    {USDC, EIP2612("USD Coin", "1", U, C, "1", "1"), 0, "usdc-permit", "token 0x5555555555555555555555555555555555555555"},
    {USDC, EIP2612("USD Coin", "'0x01'", T, C, "1", "1"), 1, "usdc-permit", NULL}, /* chainId with a leading zero */
    {USDC, FAKE_PERMIT, 0, "usdc-permit", "not an EIP-2612 Permit"},
    {USDC, EIP2612("USD Coin ", "1", T, C, "1", "1"), 0, "usdc-permit", "domain name"},
    /* domains and primary types; permits refused by a deny rule */
    {MAIL_POL, MAIL, 1, "mail", NULL},
    {MAIL_POL, EIP2612("Ether Mail", "1", T, C, "1", "1"), 0, "no-permits", "denied by a deny rule"},
    {MAIL_POL, FAKE_PERMIT, 0, "mail", "domain name \"USD Coin\""},
    {RULE("'kind':'typed_data','domain':{'versions':['1']}"), MAIL, 0, "r", "the domain has no version"},
    {RULE("'kind':'typed_data','domain':{'verifying_contracts':['" T "']}"), MAIL, 0, "r", "no verifyingContract"},
    {RULE("'kind':'typed_data','primary_types':['Permit']"), MAIL, 0, "r", "primaryType \"Mail\" is not in"},
    {RULE("'kind':'typed_data','domain':{'chain_ids':['0x1']}"), MAIL, 1, "r", NULL},
    {RULE("'kind':'typed_data'"), SINGLE(T, "1461501637330902918203684832716283019655932542975", C, MAX256), 1, "r", NULL},
    {RULE("'kind':'typed_data','permit':{}"), MAIL, 0, "r", "not an EIP-2612 Permit or a Permit2"},
    {"{'version':1,'rules':[{'id':'t','effect':'allow','kind':'transaction'}]}", MAIL, 0, "default",
     "no rule allows typed data"},
};

static void test_typed_data_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof typed_cases / sizeof *typed_cases; i++) {
        const struct typed_case *c = &typed_cases[i];
        struct nw_policy p;
        struct nw_policy_decision d;
        struct nw_eip712_hashes h;
        struct nw_error err = {0};
        struct nw_policy_request r = {.kind = NW_POLICY_TYPED_DATA, .now = NOW};
        char *j = q(c->doc);
        cJSON *doc = NULL;
        enum nw_err rc;

        must_parse(&p, c->policy);
        if (nw_json_parse(&doc, j, strlen(j), NW_EIP712_MAX_JSON, &err) != NW_OK ||
            nw_eip712_hash(&h, doc, &err) != NW_OK)
            fail_msg("case %zu: the document is not valid EIP-712: %s\n%s", i, err.msg, j);
        r.typed_data = doc;
        rc = nw_policy_evaluate(&d, &p, &r, &err);
        check_decision(i, &d, rc, &err, c->allowed, c->rule, c->reason);
        cJSON_Delete(doc);
        free(j);
        nw_policy_free(&p);
    }
}

/* --- messages and digests ---------------------------------------------------------- */

struct simple_case {
    const char *policy;
    enum nw_policy_kind kind;
    size_t message_len;
    int allowed;
    const char *rule;
    const char *reason;
};

static const struct simple_case simple_cases[] = {
    {RULE("'kind':'message','max_length':32"), NW_POLICY_MESSAGE, 32, 1, "r", NULL},
    {RULE("'kind':'message','max_length':32"), NW_POLICY_MESSAGE, 33, 0, "r", "a message of 33 bytes is over max_length 32"},
    {RULE("'kind':'message','max_length':0"), NW_POLICY_MESSAGE, 0, 1, "r", NULL},
    {RULE("'kind':'message'"), NW_POLICY_MESSAGE, 1u << 20, 1, "r", NULL},
    {"{'version':1,'rules':[]}", NW_POLICY_MESSAGE, 1, 0, "default", "no rule allows messages"},
    {"{'version':1,'rules':[{'id':'m','effect':'deny','kind':'message'}]}", NW_POLICY_MESSAGE, 1, 0, "m", NULL},
    {RULE("'kind':'digest'"), NW_POLICY_DIGEST, 0, 1, "r", NULL},
    {RULE("'kind':'message'"), NW_POLICY_DIGEST, 0, 0, "default", "no rule allows raw digests"},
    {"{'version':1,'rules':[{'id':'d','effect':'allow','kind':'digest'},{'id':'nd','effect':'deny','kind':"
     "'digest'}]}",
     NW_POLICY_DIGEST, 0, 0, "nd", NULL},
    {"{'version':1,'rules':[{'id':'tx','effect':'allow','kind':'transaction'},{'id':'td','effect':'allow','kind':"
     "'typed_data'}]}",
     NW_POLICY_DIGEST, 0, 0, "default", NULL},
};

static void test_messages_and_digests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof simple_cases / sizeof *simple_cases; i++) {
        const struct simple_case *c = &simple_cases[i];
        struct nw_policy p;
        struct nw_policy_decision d;
        struct nw_error err = {0};
        struct nw_policy_request r = {.kind = c->kind, .message_len = c->message_len, .now = NOW};
        enum nw_err rc;

        must_parse(&p, c->policy);
        rc = nw_policy_evaluate(&d, &p, &r, &err);
        check_decision(i, &d, rc, &err, c->allowed, c->rule, c->reason);
        nw_policy_free(&p);
    }
}

/* The default policy: what an account could sign before policies, less raw digests. */
static void test_default_policy_decisions(void **state)
{
    struct nw_policy p;
    struct nw_tx tx;
    struct nw_policy_decision d;
    struct nw_policy_request r = {.kind = NW_POLICY_TRANSACTION, .now = NOW};
    (void)state;
    assert_int_equal(nw_policy_default(&p, NULL), NW_OK);
    load_tx(&tx, TX2(T, "0"), "approve C max");
    r.tx = &tx;
    assert_int_equal(nw_policy_evaluate(&d, &p, &r, NULL), NW_OK);
    assert_string_equal(d.rule, "default-transactions");
    nw_tx_free(&tx);
    load_tx(&tx, CREATE, NULL);
    assert_int_equal(nw_policy_evaluate(&d, &p, &r, NULL), NW_OK);
    nw_tx_free(&tx);
    r.kind = NW_POLICY_MESSAGE;
    assert_int_equal(nw_policy_evaluate(&d, &p, &r, NULL), NW_OK);
    r.kind = NW_POLICY_DIGEST;
    assert_int_equal(nw_policy_evaluate(&d, &p, &r, NULL), NW_ERR_POLICY_DENIED);
    assert_string_equal(d.rule, "default");
    nw_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_table),
        cmocka_unit_test(test_limits_are_named),
        cmocka_unit_test(test_canonical_round_trip_for_every_accepted_case),
        cmocka_unit_test(test_equivalent_documents_have_one_digest),
        cmocka_unit_test(test_default_policy),
        cmocka_unit_test(test_transaction_table),
        cmocka_unit_test(test_typed_data_table),
        cmocka_unit_test(test_messages_and_digests),
        cmocka_unit_test(test_default_policy_decisions),
    };
    fprintf(stderr, "test_policy: %zu parser, %zu transaction, %zu typed-data, %zu message/digest cases\n",
            sizeof parse_cases / sizeof *parse_cases, sizeof tx_cases / sizeof *tx_cases,
            sizeof typed_cases / sizeof *typed_cases, sizeof simple_cases / sizeof *simple_cases);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
