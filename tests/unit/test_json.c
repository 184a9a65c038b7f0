/*
 * test_json.c - the strict JSON layer: RFC 8259 grammar, UTF-8, depth,
 * duplicates, integer-only numbers, and the field helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nitrowallet/json.h"

static void test_accepts_valid_documents(void **state)
{
    static const char *const ok[] = {
        "{}", "[]", " { \"a\" : [1, -2, 0, true, false, null, \"x\"] } ", "\"\\u00e9\\ud83d\\ude00\\n\\/\"",
        "{\"a\":{\"b\":{\"c\":[]}}}", "\"\xc3\xa9\xf0\x9f\x98\x80\"", "0", "-0", "9007199254740993",
        "{\"a\":1,\"b\":1}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct nw_error err = {0};
        cJSON *j;
        if (nw_json_parse(&j, ok[i], strlen(ok[i]), 1024, &err) != NW_OK)
            fail_msg("refused %s: %s", ok[i], err.msg);
        cJSON_Delete(j);
    }
}

static void test_refuses_with_reason(void **state)
{
    static const char *const bad[][2] = {
        {"", "unexpected end of input"},
        {"{,}", "expected a string key"},
        {"{\"a\":1,}", "expected a string key"},
        {"[1,]", "unexpected character"},
        {"{'a':1}", "expected a string key"},
        {"NaN", "unexpected character"},
        {"[01]", "leading zero"},
        {"[1.0]", "fraction or exponent"},
        {"{\"gas\":2e3}", "after key \"gas\""},
        {"[-]", "invalid number"},
        {"[+1]", "unexpected character"},
        {"\"a\tb\"", "control character"},
        {"\"\\x\"", "invalid escape"},
        {"\"\\u12\"", "invalid \\u escape"},
        {"\"\\u0000\"", "\\u0000 is not allowed"},
        {"\"\\udc00\"", "unpaired low surrogate"},
        {"\"\\ud800x\"", "unpaired high surrogate"},
        {"\"\\ud800\\u0041\"", "unpaired high surrogate"},
        {"\"\xc0\x80\"", "invalid UTF-8"},
        {"\"\xed\xa0\x80\"", "invalid UTF-8"},
        {"\"\xf5\x80\x80\x80\"", "invalid UTF-8"},
        {"\"\xe2\x82\"", "invalid UTF-8"},
        {"\xef\xbb\xbf{}", "unexpected character"},
        {"{} {}", "trailing characters"},
        {"tru", "unexpected character"},
        {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
        {"{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\""},
        {"[{\"x\":{\"k\":1,\"k\":1}}]", "duplicate key \"k\""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_error err = {0};
        cJSON *j = (cJSON *)1;
        if (nw_json_parse(&j, bad[i][0], strlen(bad[i][0]), 1024, &err) == NW_OK)
            fail_msg("accepted %s", bad[i][0]);
        assert_null(j);
        if (strstr(err.msg, bad[i][1]) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i][1]);
    }
}

static void test_depth_bound(void **state)
{
    char doc[2 * NW_JSON_MAX_DEPTH + 3];
    struct nw_error err = {0};
    cJSON *j;
    (void)state;
    for (int depth = NW_JSON_MAX_DEPTH; depth <= NW_JSON_MAX_DEPTH + 1; depth++) {
        memset(doc, '[', (size_t)depth);
        memset(doc + depth, ']', (size_t)depth);
        enum nw_err rc = nw_json_parse(&j, doc, 2 * (size_t)depth, sizeof doc, &err);
        if (depth == NW_JSON_MAX_DEPTH) {
            assert_int_equal(rc, NW_OK);
            cJSON_Delete(j);
        } else {
            assert_int_equal(rc, NW_ERR_BAD_REQUEST);
            assert_non_null(strstr(err.msg, "nesting deeper than 64"));
        }
    }
}

static void test_size_bound(void **state)
{
    struct nw_error err = {0};
    cJSON *j;
    (void)state;
    assert_int_equal(nw_json_parse(&j, "[1,2,3]", 7, 6, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "7 bytes, at most 6"));
}

static void test_quantity_helper(void **state)
{
    static const char doc[] = "{\"a\":9007199254740991,\"b\":9007199254740992,\"c\":-5,\"d\":\"0x10\",\"e\":null}";
    struct nw_error err = {0};
    struct nw_u256 x;
    uint64_t v;
    cJSON *j;
    (void)state;
    assert_int_equal(nw_json_parse(&j, doc, strlen(doc), 1024, &err), NW_OK);
    assert_int_equal(nw_json_quantity(&x, nw_json_get(j, "a"), "a", &err), NW_OK);
    assert_int_equal(x.w[0], 9007199254740991ULL);
    assert_int_equal(nw_json_quantity(&x, nw_json_get(j, "b"), "b", &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "b: JSON number is 2^53 or more"));
    assert_int_equal(nw_json_quantity(&x, nw_json_get(j, "c"), "c", &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_json_u64(&v, nw_json_get(j, "d"), 16, "d", &err), NW_OK);
    assert_int_equal(v, 16);
    assert_int_equal(nw_json_u64(&v, nw_json_get(j, "d"), 15, "d", &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "d: value exceeds the maximum 15"));
    assert_int_equal(nw_json_quantity(&x, nw_json_get(j, "e"), "e", &err), NW_ERR_BAD_REQUEST);
    cJSON_Delete(j);
}

static void test_check_keys(void **state)
{
    static const char *const allowed[] = {"a", "b", NULL};
    struct nw_error err = {0};
    cJSON *j;
    (void)state;
    assert_int_equal(nw_json_parse(&j, "{\"a\":1,\"c\":2}", 13, 64, &err), NW_OK);
    assert_int_equal(nw_json_check_keys(j, allowed, "thing", &err), NW_ERR_BAD_REQUEST);
    assert_string_equal(err.msg, "thing: unknown field \"c\"");
    cJSON_Delete(j);
}

/* What the host forwards to the enclave: the integers the client sent. */
static void test_exact_integers_survive_printing(void **state)
{
    static const char in[] = "{\"v\":1000000000000000,\"a\":[-2500000000000000,0,-0,7,[9007199254740991]],"
                             "\"o\":{\"m\":-9007199254740991,\"s\":\"1e+15\",\"t\":true}}";
    static const char want[] = "{\"v\":1000000000000000,\"a\":[-2500000000000000,0,-0,7,[9007199254740991]],"
                               "\"o\":{\"m\":-9007199254740991,\"s\":\"1e+15\",\"t\":true}}";
    struct nw_error err = {0};
    cJSON *j;
    char *out;
    (void)state;
    assert_int_equal(nw_json_parse(&j, in, strlen(in), 1024, &err), NW_OK);
    out = cJSON_PrintUnformatted(j); /* the bug this guards against */
    assert_non_null(strstr(out, "\"v\":1e+15"));
    free(out);
    assert_int_equal(nw_json_exact_integers(j, &err), NW_OK);
    out = cJSON_PrintUnformatted(j);
    assert_string_equal(out, want);
    free(out);
    /* the printed text passes the strict parser again (as in the enclave) */
    cJSON *back;
    assert_int_equal(nw_json_parse(&back, want, strlen(want), 1024, &err), NW_OK);
    cJSON_Delete(back);
    cJSON_Delete(j);
}

static void test_exact_integers_refuses_2_53(void **state)
{
    static const char *const big[] = {"{\"value\":9007199254740992}", "[1,-9007199254740993]",
                                      "{\"a\":{\"b\":[100000000000000000000000000000000000000000000000000]}}"};
    static const char *const name[] = {"value:", "array element:", "array element:"};
    (void)state;
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        struct nw_error err = {0};
        cJSON *j;
        assert_int_equal(nw_json_parse(&j, big[i], strlen(big[i]), 1024, &err), NW_OK);
        assert_int_equal(nw_json_exact_integers(j, &err), NW_ERR_BAD_REQUEST);
        if (strstr(err.msg, name[i]) != err.msg || strstr(err.msg, "2^53") == NULL) fail_msg("%s: %s", big[i], err.msg);
        cJSON_Delete(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_valid_documents),
        cmocka_unit_test(test_refuses_with_reason),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_size_bound),
        cmocka_unit_test(test_quantity_helper),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_exact_integers_survive_printing),
        cmocka_unit_test(test_exact_integers_refuses_2_53),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
