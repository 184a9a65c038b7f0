/*
 * test_sigv4_verify.c - nw_sigv4_verify refuses every mutation of a validly
 * signed request, with the failure kind AWS would answer with.
 *
 * The signed requests are AWS's own (tests/data/sigv4/: the 2015 suite's
 * .sreq files and aws-c-auth's header-signed-request.txt, see
 * tests/data/README.md), verified at the suite's time 20150830T123600Z with
 * a 300 s skew.  Each mutation changes one thing: method, path, query, a
 * signed header, the body, the date, the secret, the key id, the service,
 * the Authorization header (truncated, malformed, one signature digit), the
 * SignedHeaders list; plus the changes that must NOT matter (header order and
 * case, extra whitespace, unsigned non-x-amz headers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/aws/sigv4_internal.h"
#include "nitrowallet/sigv4.h"
#include "sigv4_req.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW 1440938160 /* 20150830T123600Z */

enum lookup_mode { LOOKUP_GOOD, LOOKUP_WRONG_SECRET, LOOKUP_UNKNOWN, LOOKUP_UNTERMINATED };

static enum nw_err lookup(void *ctx, const char *akid, char *secret, size_t cap)
{
    enum lookup_mode m = *(enum lookup_mode *)ctx;
    const char *s = m == LOOKUP_WRONG_SECRET ? "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ" : SECRET;

    if (m == LOOKUP_UNKNOWN || strcmp(akid, AKID) != 0 || cap < strlen(s) + 1)
        return NW_ERR_POLICY_DENIED;
    if (m == LOOKUP_UNTERMINATED) {
        memset(secret, 'k', cap);
        return NW_OK;
    }
    memcpy(secret, s, strlen(s) + 1);
    return NW_OK;
}

static enum nw_sigv4_failure check(const struct treq *r, const char *service, enum lookup_mode m, time_t now)
{
    struct nw_sigv4_request req = treq_view(r);
    struct nw_sigv4_verified v;
    enum nw_sigv4_failure why = NW_SIGV4_OK;
    struct nw_error err = {0};
    enum nw_err rc = nw_sigv4_verify(&v, &why, &req, service, lookup, &m, now, 300, &err);

    assert_true((rc == NW_OK) == (why == NW_SIGV4_OK));
    if (rc != NW_OK) {
        assert_true(err.msg[0] != '\0');
        assert_null(strstr(err.msg, SECRET)); /* the secret never appears in a message */
        assert_int_equal(v.access_key_id[0], '\0');
    }
    return why;
}

#define EXPECT(r, kind, what)                                                                                     \
    do {                                                                                                          \
        enum nw_sigv4_failure got_ = check((r), "service", LOOKUP_GOOD, SUITE_NOW);                             \
        if (got_ != (kind))                                                                                       \
            fail_msg("%s: %s: got kind %d, want %d", base_name_, (what), got_, (kind));                          \
    } while (0)

static const char *const bases[][2] = {
    {"aws-sig-v4-test-suite/get-vanilla-query-order-key-case/get-vanilla-query-order-key-case.sreq", "2015"},
    {"aws-sig-v4-test-suite/get-header-value-trim/get-header-value-trim.sreq", "2015"},
    {"aws-sig-v4-test-suite/post-sts-token/post-sts-header-before/post-sts-header-before.sreq", "2015"},
    {"aws-sig-v4-test-suite/normalize-path/get-space/get-space.sreq", "2015"},
    {"aws-sig-v4-test-suite/post-vanilla-query/post-vanilla-query.sreq", "2015"},
    {"aws-c-auth-v4/post-x-www-form-urlencoded-parameters/header-signed-request.txt", "crt"},
    {"aws-c-auth-v4/get-vanilla-with-session-token/header-signed-request.txt", "crt"},
};

static void load_base(struct treq *r, size_t i)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sigv4/%s", test_data_dir(), bases[i][0]);
    if (treq_load(r, path, strcmp(bases[i][1], "crt") == 0 ? FOLD_AS_SPACE : FOLD_AS_NEW_VALUE) != 0)
        fail_msg("cannot parse %s", path);
}

static void append(char *s, size_t cap, const char *more)
{
    size_t n = strlen(s);
    snprintf(s + n, cap - n, "%s", more);
}

/* Replace the value of header `name` with value + suffix. */
static void header_append(struct treq *r, const char *name, const char *suffix)
{
    char v[4096];
    int i = treq_find(r, name);
    assert_true(i >= 0);
    snprintf(v, sizeof v, "%.*s%s", (int)r->h[i].value_len, r->h[i].value, suffix);
    assert_int_equal(treq_set_value(r, i, v), 0);
}

static void set_authz(struct treq *r, const char *v)
{
    assert_int_equal(treq_set_value(r, treq_find(r, "authorization"), v), 0);
}

static void authz_of(const struct treq *r, char *out, size_t cap)
{
    int i = treq_find(r, "authorization");
    assert_true(i >= 0);
    const char *v = r->h[i].value;
    size_t len = r->h[i].value_len;
    nw_sigv4_trim(&v, &len);
    snprintf(out, cap, "%.*s", (int)len, v);
}

/* The request mutations: each must be refused as BAD_SIGNATURE. */
static void request_mutations(const struct treq *base, const char *base_name_)
{
    struct treq r;

    r = *base;
    snprintf(r.method, sizeof r.method, "%s", strcmp(base->method, "GET") ? "GET" : "POST");
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "method changed");
    r = *base;
    append(r.path, sizeof r.path, "zz");
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "path changed");
    r = *base;
    append(r.query, sizeof r.query, r.query[0] ? "&zzmut=1" : "zzmut=1");
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "query parameter added");
    if (base->query[0]) {
        r = *base;
        append(r.query, sizeof r.query, "x");
        EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "query value changed");
    }
    r = *base;
    header_append(&r, "host", "z");
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "host changed");
    for (size_t i = 0; i < base->n; i++) {
        const struct nw_http_header *h = &base->h[i];
        char authz[NW_SIGV4_AUTH_MAX], name[64];
        authz_of(base, authz, sizeof authz);
        snprintf(name, sizeof name, "%.*s", (int)h->name_len, h->name);
        for (char *p = name; *p; p++)
            *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        if (strcmp(name, "authorization") == 0 || strcmp(name, "x-amz-date") == 0 || strstr(authz, name) == NULL)
            continue;
        r = *base;
        header_append(&r, name, "Z");
        EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "signed header value changed");
    }
    r = *base;
    r.body[r.body_len++] = 'x';
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "body changed");
    r = *base;
    assert_int_equal(treq_set_value(&r, treq_find(&r, "x-amz-date"), "20150830T123601Z"), 0);
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "x-amz-date moved by one second");
}

/* Time, secret, key id, service. */
static void context_mutations(const struct treq *base, const char *base_name_)
{
    struct treq r = *base;
    char authz[NW_SIGV4_AUTH_MAX], *p;

    assert_int_equal(check(base, "service", LOOKUP_GOOD, SUITE_NOW + 300), NW_SIGV4_OK);
    assert_int_equal(check(base, "service", LOOKUP_GOOD, SUITE_NOW - 300), NW_SIGV4_OK);
    assert_int_equal(check(base, "service", LOOKUP_GOOD, SUITE_NOW + 301), NW_SIGV4_EXPIRED);
    assert_int_equal(check(base, "service", LOOKUP_GOOD, SUITE_NOW - 301), NW_SIGV4_EXPIRED);
    assert_int_equal(check(base, "service", LOOKUP_GOOD, 0), NW_SIGV4_EXPIRED);
    assert_int_equal(check(base, "service", LOOKUP_WRONG_SECRET, SUITE_NOW), NW_SIGV4_BAD_SIGNATURE);
    assert_int_equal(check(base, "service", LOOKUP_UNKNOWN, SUITE_NOW), NW_SIGV4_UNKNOWN_KEY);
    assert_int_equal(check(base, "service", LOOKUP_UNTERMINATED, SUITE_NOW), NW_SIGV4_UNKNOWN_KEY);
    assert_int_equal(check(base, "kms", LOOKUP_GOOD, SUITE_NOW), NW_SIGV4_BAD_SIGNATURE);
    assert_int_equal(check(base, "servic", LOOKUP_GOOD, SUITE_NOW), NW_SIGV4_BAD_SIGNATURE);
    /* a later day in x-amz-date than in the credential, inside the skew */
    assert_int_equal(treq_set_value(&r, treq_find(&r, "x-amz-date"), "20150831T000000Z"), 0);
    assert_int_equal(check(&r, "service", LOOKUP_GOOD, SUITE_NOW + 41040), NW_SIGV4_BAD_SIGNATURE);
    authz_of(base, authz, sizeof authz);
    r = *base;
    p = strstr(authz, AKID);
    memcpy(p, "AKIDEXAMPLF", 11);
    set_authz(&r, authz);
    EXPECT(&r, NW_SIGV4_UNKNOWN_KEY, "unknown key id");
    authz_of(base, authz, sizeof authz);
    p = strstr(authz, "us-east-1");
    p[8] = '2';
    set_authz(&r, authz);
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "region changed");
}

/* Every prefix of the Authorization value, and each digit of the signature. */
static void authorization_mutations(const struct treq *base, const char *base_name_)
{
    char authz[NW_SIGV4_AUTH_MAX], cut[NW_SIGV4_AUTH_MAX];
    struct treq r = *base;
    size_t len, sig;

    authz_of(base, authz, sizeof authz);
    len = strlen(authz);
    for (size_t k = 0; k < len; k++) {
        snprintf(cut, sizeof cut, "%.*s", (int)k, authz);
        r = *base; /* a fresh copy: each edit uses the copy's store */
        set_authz(&r, cut);
        EXPECT(&r, NW_SIGV4_MALFORMED, "truncated Authorization");
    }
    sig = len - 64;
    for (size_t k = 0; k < 64; k++) {
        snprintf(cut, sizeof cut, "%s", authz);
        cut[sig + k] = cut[sig + k] == '0' ? '1' : '0';
        r = *base;
        set_authz(&r, cut);
        EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "one signature digit changed");
    }
}

/* authz with the first `from` replaced by `to`; fails the test if absent. */
static void replaced(char *out, size_t cap, const char *authz, const char *from, const char *to)
{
    const char *p = strstr(authz, from);
    if (p == NULL)
        fail_msg("'%s' not in '%s'", from, authz);
    snprintf(out, cap, "%.*s%s%s", (int)(p - authz), authz, to, p + strlen(from));
}

static void test_malformed_authorization_refused(void **state)
{
    static const char *const edits[][2] = {
        {"AWS4-HMAC-SHA256", "aws4-hmac-sha256"}, {"AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"},
        {"AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256"}, {"Credential=", "credential="}, {"Credential=", "Credential ="},
        {", SignedHeaders", " SignedHeaders"}, {", Signature", " Signature"}, {"aws4_request", "aws4_requesu"},
        {"/us-east-1", ""}, {"/service/", "/service/x/"}, {"/20150830/", "/2015083a/"}, {"/20150830/", "/201508300/"},
        {"host;x-amz-date", "x-amz-date;host"}, {"host;x-amz-date", "host;host;x-amz-date"},
        {"host;x-amz-date", "Host;x-amz-date"}, {"host;x-amz-date", "host;;x-amz-date"},
        {"host;x-amz-date", ";host;x-amz-date"}, {"host;x-amz-date", "host;x-amz-date;"},
        {"host;x-amz-date", "x-amz-date"}, {"host;x-amz-date", "host"},
        {"host;x-amz-date", "authorization;host;x-amz-date"}, {"host;x-amz-date", "host x-amz-date"},
        {"us-east-1", "US-EAST-1"}, {"/service/", "/ser_vice/"}, {"AKIDEXAMPLE", "AKID+EXAMPLE"},
        {"AKIDEXAMPLE/", "/"}, {"Signature=", "Signature= "}, {"Signature=", "signature="},
        {"Signature=", "Signature=0"}, {"SignedHeaders=", "SignedHeaders=,"},
    };
    const char *base_name_ = "get-vanilla-query-order-key-case";
    char authz[NW_SIGV4_AUTH_MAX], bad[2 * NW_SIGV4_AUTH_MAX], *sig;
    struct treq base, r;
    (void)state;
    load_base(&base, 0);
    authz_of(&base, authz, sizeof authz);
    r = base;
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        replaced(bad, sizeof bad, authz, edits[i][0], edits[i][1]);
        r = base;
        set_authz(&r, bad);
        EXPECT(&r, NW_SIGV4_MALFORMED, bad);
    }
    snprintf(bad, sizeof bad, "%s, Extra=1", authz);
    set_authz(&r, bad);
    EXPECT(&r, NW_SIGV4_MALFORMED, "trailing part");
    snprintf(bad, sizeof bad, "%s", authz);
    for (sig = bad + strlen(bad) - 64; *sig; sig++)
        *sig = (char)(*sig >= 'a' ? *sig - 32 : *sig);
    set_authz(&r, bad);
    EXPECT(&r, NW_SIGV4_MALFORMED, "uppercase signature");
    memset(bad, 'A', NW_SIGV4_AUTH_MAX + 1);
    bad[NW_SIGV4_AUTH_MAX + 1] = '\0';
    set_authz(&r, bad);
    EXPECT(&r, NW_SIGV4_MALFORMED, "overlong Authorization");
    /* the separators botocore does not use but AWS accepts */
    replaced(bad, sizeof bad, authz, ", SignedHeaders", ",SignedHeaders");
    set_authz(&r, bad);
    EXPECT(&r, NW_SIGV4_OK, "',' without space");
    replaced(bad, sizeof bad, authz, ", Signature", ",   Signature");
    set_authz(&r, bad);
    EXPECT(&r, NW_SIGV4_OK, "',' with spaces");
}

static void test_request_shape_refused(void **state)
{
    const char *base_name_ = "get-header-value-trim";
    char authz[NW_SIGV4_AUTH_MAX];
    struct treq base, r;
    (void)state;
    load_base(&base, 1);
    authz_of(&base, authz, sizeof authz);
    r = base;
    treq_remove(&r, treq_find(&r, "authorization"));
    EXPECT(&r, NW_SIGV4_MISSING, "no Authorization");
    r = base;
    assert_int_equal(treq_add(&r, "Authorization", 13, authz, strlen(authz)), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "two Authorization headers");
    r = base;
    treq_remove(&r, treq_find(&r, "x-amz-date"));
    EXPECT(&r, NW_SIGV4_MISSING, "no x-amz-date");
    r = base;
    assert_int_equal(treq_add(&r, "X-Amz-Date", 10, "20150830T123600Z", 16), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "two x-amz-date headers");
    r = base;
    assert_int_equal(treq_set_value(&r, treq_find(&r, "x-amz-date"), "20150830T1236Z"), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "bad x-amz-date");
    r = base;
    assert_int_equal(treq_add(&r, "host", 4, "example.amazonaws.com", 21), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "two host headers");
    r = base;
    treq_remove(&r, treq_find(&r, "host"));
    EXPECT(&r, NW_SIGV4_MALFORMED, "no host header");
    r = base;
    treq_remove(&r, treq_find(&r, "my-header2"));
    EXPECT(&r, NW_SIGV4_BAD_SIGNATURE, "signed header removed");
    r = base;
    assert_int_equal(treq_add(&r, "X-Amz-Target", 12, "TrentService.Decrypt", 20), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "unsigned x-amz-* header");
    r = base;
    assert_int_equal(treq_add(&r, "x-amz-content-sha256", 20, "UNSIGNED-PAYLOAD", 16), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "unsigned x-amz-content-sha256");
    r = base;
    while (r.n <= NW_SIGV4_MAX_HEADERS)
        assert_int_equal(treq_add(&r, "X-Pad", 5, "p", 1), 0);
    EXPECT(&r, NW_SIGV4_MALFORMED, "too many headers");
    r = base;
    snprintf(r.path, sizeof r.path, "/a?b");
    EXPECT(&r, NW_SIGV4_MALFORMED, "'?' in path");
    r = base;
    snprintf(r.query, sizeof r.query, "a=%%zz");
    EXPECT(&r, NW_SIGV4_MALFORMED, "bad escape in query");
}

/* Changes that keep the canonical request, so must keep verifying. */
static void test_harmless_changes_accepted(void **state)
{
    const char *base_name_ = "get-header-value-trim";
    struct treq base, r;
    (void)state;
    load_base(&base, 1);
    r = base;
    for (size_t i = 0; i < r.n / 2; i++) {
        struct nw_http_header t = r.h[i];
        r.h[i] = r.h[r.n - 1 - i];
        r.h[r.n - 1 - i] = t;
    }
    EXPECT(&r, NW_SIGV4_OK, "headers reversed");
    r = base;
    r.h[treq_find(&r, "my-header1")].name = "MY-HEADER1";
    EXPECT(&r, NW_SIGV4_OK, "header name case");
    r = base;
    assert_int_equal(treq_set_value(&r, treq_find(&r, "my-header2"), "\t \"a \t b   c\"  "), 0);
    EXPECT(&r, NW_SIGV4_OK, "whitespace in a value");
    r = base;
    assert_int_equal(treq_add(&r, "User-Agent", 10, "aws-cli/2.9", 11), 0);
    assert_int_equal(treq_add(&r, "Content-Length", 14, "0", 1), 0);
    assert_int_equal(treq_add(&r, "X-Amzn-Trace-Id", 15, "Root=1", 6), 0);
    EXPECT(&r, NW_SIGV4_OK, "unsigned non-x-amz headers");
}

static void test_every_base_refuses_each_mutation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        const char *base_name_ = bases[i][0];
        struct treq base;
        load_base(&base, i);
        EXPECT(&base, NW_SIGV4_OK, "as published");
        request_mutations(&base, base_name_);
        context_mutations(&base, base_name_);
        authorization_mutations(&base, base_name_);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_base_refuses_each_mutation),
        cmocka_unit_test(test_malformed_authorization_refused),
        cmocka_unit_test(test_request_shape_refused),
        cmocka_unit_test(test_harmless_changes_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
