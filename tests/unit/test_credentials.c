/*
 * test_credentials.c - the credentials chain's parsers (STS XML, container /
 * IMDS JSON, ISO 8601 expiry), endpoint rules, and the cache's refresh logic
 * under an injected clock and many threads.  Expected times come from
 * Python's calendar.timegm, not from our own code.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/aws/credentials_internal.h"
#include "nitrowallet/credentials.h"

#define S(x) x, strlen(x)

static void test_time_iso8601_utc(void **state)
{
    long long t = 0;
    (void)state;
    assert_int_equal(nw_creds_parse_time(&t, S("2000-01-01T00:00:00Z"), NULL), NW_OK);
    assert_true(t == 946684800LL);
    assert_int_equal(nw_creds_parse_time(&t, S("2016-02-29T12:00:00Z"), NULL), NW_OK);
    assert_true(t == 1456747200LL);
    assert_int_equal(nw_creds_parse_time(&t, S("2019-11-09T13:34:41.123Z"), NULL), NW_OK);
    assert_true(t == 1573306481LL);
    assert_int_equal(nw_creds_parse_time(&t, S("2038-01-19T03:14:08+00:00"), NULL), NW_OK);
    assert_true(t == 2147483648LL);
    assert_int_equal(nw_creds_parse_time(&t, S("2099-12-31T23:59:59Z"), NULL), NW_OK);
    assert_true(t == 4102444799LL);
}

static void test_time_refusals(void **state)
{
    static const char *const bad[] = {
        "2019-02-29T00:00:00Z", "2019-13-01T00:00:00Z", "2019-11-09 13:34:41Z", "2019-11-09T13:34:41",
        "2019-11-09T13:34:41+01:00", "2019-11-09T13:34:41.Z", "2019-11-09T13:34:41.1234567890Z",
        "2019-11-09T24:00:00Z", "2019-11-09T13:60:00Z", "1969-12-31T23:59:59Z", "2019-11-09T13:34:41ZZ",
        "+019-11-09T13:34:41Z", "",
    };
    long long t;
    struct nw_error err = {0};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nw_creds_parse_time(&t, S(bad[i]), &err), NW_ERR_BAD_REQUEST);
}

static const char sts_ok[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>\n"
    "    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>"
    "<AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId></AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE&amp;x</SessionToken>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
    "      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <SourceIdentity/>\n"
    "    <Provider>www.amazon.com</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_sts_xml_reads_the_credentials(void **state)
{
    struct nw_host_credentials c;
    long long exp = 0;
    struct nw_error err = {0};
    (void)state;
    assert_int_equal(nw_creds_parse_sts(&c, &exp, S(sts_ok), &err), NW_OK);
    assert_string_equal(c.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(c.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE&x");
    assert_true(exp == 1414191623LL); /* calendar.timegm(2014-10-24T23:00:23) */
}

/* Replace the first `from` in sts_ok with `to` and parse. */
static enum nw_err sts_variant(const char *from, const char *to, struct nw_error *err)
{
    static char buf[sizeof(sts_ok) + 512];
    struct nw_host_credentials c;
    long long exp;
    const char *p = strstr(sts_ok, from);
    assert_non_null(p);
    int n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - sts_ok), sts_ok, to, p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    enum nw_err rc = nw_creds_parse_sts(&c, &exp, buf, (size_t)n, err);
    if (rc != NW_OK) assert_string_equal(c.secret_access_key, ""); /* wiped */
    return rc;
}

static void test_sts_xml_refusals(void **state)
{
    static const char *const cases[][2] = {
        {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "<!DOCTYPE x [<!ENTITY e \"boom\">]>"},
        {"<Provider>", "<![CDATA[x]]><Provider>"},
        {"<Provider>", "<!-- c --><Provider>"},
        {"<Provider>", "<?pi x?><Provider>"},
        {"</Provider>", "</Provide>"},
        {"<SessionToken>AQ", "<SessionToken>&#65;AQ"},
        {"<SessionToken>AQ", "<SessionToken>&foo;AQ"},
        {"<SessionToken>AQ", "<SessionToken><b/>AQ"},
        {"<SessionToken>AQ", "<SessionToken>A Q"},
        {"<AccessKeyId>", "<AccessKeyId>x</AccessKeyId><AccessKeyId>"},
        {"      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n", ""},
        {"<Expiration>2014-10-24T23:00:23Z", "<Expiration>2014-10-24T23:00:23"},
        {"<AssumeRoleWithWebIdentityResponse ", "<AssumeRoleResponse "},
        {"</AssumeRoleWithWebIdentityResponse>\n", "</AssumeRoleWithWebIdentityResponse><x/>"},
        {"</AssumeRoleWithWebIdentityResponse>\n", "</AssumeRoleWithWebIdentityResponse>junk"},
        {"</AssumeRoleWithWebIdentityResponse>\n", ""},
        {"xmlns=\"https", "xmlns=https"},
        {"<Credentials>", "<Credentials a=\"1\"b=\"2\">"},
    };
    struct nw_error err = {0};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum nw_err rc = sts_variant(cases[i][0], cases[i][1], &err);
        if (rc == NW_OK) fail_msg("case %zu accepted", i);
        assert_null(strstr(err.msg, "wJalrXUtnFEMI")); /* no value in messages */
    }
    /* a Credentials element outside the result path is not taken */
    assert_int_equal(sts_variant("<RequestId>", "<Credentials><AccessKeyId>X</AccessKeyId></Credentials><RequestId>", &err),
                     NW_OK);
    /* ... but a second one on it is refused */
    assert_int_equal(sts_variant("<Provider>", "<Credentials><AccessKeyId>X</AccessKeyId></Credentials><Provider>", &err),
                     NW_ERR_BAD_REQUEST);
}

static void test_sts_xml_depth_bound(void **state)
{
    char buf[2048];
    size_t n = 0;
    struct nw_host_credentials c;
    long long exp;
    struct nw_error err = {0};
    (void)state;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "<AssumeRoleWithWebIdentityResponse>");
    for (int i = 0; i < 20; i++) n += (size_t)snprintf(buf + n, sizeof(buf) - n, "<a>");
    assert_int_equal(nw_creds_parse_sts(&c, &exp, buf, n, &err), NW_ERR_TOO_LARGE);
}

static void test_sts_error_code(void **state)
{
    static const char e[] = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                            "<Code>InvalidIdentityToken</Code><Message>Couldn't retrieve key</Message></Error>"
                            "<RequestId>x</RequestId></ErrorResponse>";
    char code[64];
    (void)state;
    nw_creds_sts_error_code(code, sizeof(code), S(e));
    assert_string_equal(code, "InvalidIdentityToken");
    nw_creds_sts_error_code(code, sizeof(code), S("<ErrorResponse><Error><Code>a b</Code></Error></ErrorResponse>"));
    assert_string_equal(code, "");
    nw_creds_sts_error_code(code, sizeof(code), S("not xml"));
    assert_string_equal(code, "");
}

static const char imds_ok[] = "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2012-04-26T16:39:16Z\",\n"
                              "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAIOSFODNN7EXAMPLE\",\n"
                              "  \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n"
                              "  \"Token\" : \"token\",\n  \"Expiration\" : \"2017-05-17T15:09:54Z\"\n}";

static void test_json_imds_and_container(void **state)
{
    struct nw_host_credentials c;
    long long exp = 0;
    struct nw_error err = {0};
    (void)state;
    assert_int_equal(nw_creds_parse_json(&c, &exp, S(imds_ok), 1, &err), NW_OK);
    assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_string_equal(c.session_token, "token");
    assert_true(exp == 1495033794LL); /* calendar.timegm(2017-05-17T15:09:54) */
    /* Pod Identity adds AccountId; the container document has no Code */
    static const char pod[] = "{\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                              "\"AccountId\":\"111122223333\",\"Expiration\":\"2024-01-01T00:00:00Z\"}";
    assert_int_equal(nw_creds_parse_json(&c, &exp, S(pod), 0, &err), NW_OK);
    assert_int_equal(nw_creds_parse_json(&c, &exp, S(pod), 1, &err), NW_ERR_BAD_REQUEST); /* IMDS needs Code */
}

static void test_json_refusals(void **state)
{
    static const char *const bad[] = {
        "{\"Code\":\"Failure\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2024-01-01T00:00:00Z\"}",
        "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"2024-01-01T00:00:00Z\"}",
        "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2024-01-01T00:00:00Z\"}",
        "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"tomorrow\"}",
        "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s x\",\"Token\":\"t\",\"Expiration\":\"2024-01-01T00:00:00Z\"}",
        "{\"Code\":\"Success\",\"AccessKeyId\":1,\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2024-01-01T00:00:00Z\"}",
        "{\"Code\":\"Success\",\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2024-01-01T00:00:00Z\"}",
        "[]", "{", "",
    };
    struct nw_host_credentials c;
    long long exp;
    struct nw_error err = {0};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (nw_creds_parse_json(&c, &exp, S(bad[i]), 1, &err) == NW_OK) fail_msg("case %zu accepted", i);
        assert_string_equal(c.secret_access_key, "");
    }
}

static void test_sts_endpoint_rules(void **state)
{
    char u[256];
    struct nw_error err = {0};
    (void)state;
    assert_int_equal(creds_sts_url(u, sizeof(u), "eu-west-1", NULL, &err), NW_OK);
    assert_string_equal(u, "https://sts.eu-west-1.amazonaws.com/");
    assert_int_equal(creds_sts_url(u, sizeof(u), "us-east-1", "legacy", &err), NW_OK);
    assert_string_equal(u, "https://sts.amazonaws.com/");
    assert_int_equal(creds_sts_url(u, sizeof(u), "ap-east-1", "legacy", &err), NW_OK); /* opt-in: regional */
    assert_string_equal(u, "https://sts.ap-east-1.amazonaws.com/");
    assert_int_equal(creds_sts_url(u, sizeof(u), "us-east-1", "regional", &err), NW_OK);
    assert_string_equal(u, "https://sts.us-east-1.amazonaws.com/");
    assert_int_equal(creds_sts_url(u, sizeof(u), "cn-north-1", NULL, &err), NW_OK);
    assert_string_equal(u, "https://sts.cn-north-1.amazonaws.com.cn/");
    assert_int_equal(creds_sts_url(u, sizeof(u), NULL, NULL, &err), NW_OK);
    assert_string_equal(u, "https://sts.amazonaws.com/");
    assert_int_equal(creds_sts_url(u, sizeof(u), "eu-west-1", "global", &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(creds_sts_url(u, sizeof(u), "eu-west-1.evil.com/x?", NULL, &err), NW_ERR_BAD_REQUEST);
}

static void test_container_full_uri_hosts(void **state)
{
    static const char *const ok[] = {"http://127.0.0.1:8080/creds", "http://127.1.2.3/x", "http://localhost/x",
                                     "http://169.254.170.2/v2/credentials/abc", "http://169.254.170.23/v1/credentials",
                                     "http://[fd00:ec2::23]/v1/credentials", "http://[::1]:9/x", "https://creds.example.com/x"};
    static const char *const bad[] = {"http://example.com/x", "http://169.254.169.254/x", "http://128.0.0.1/x",
                                      "ftp://127.0.0.1/x", "file:///etc/passwd", "http://127.0.0.1.nip.io/x", "nonsense"};
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (creds_container_url_allowed(ok[i], NULL) != NW_OK) fail_msg("%s refused", ok[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (creds_container_url_allowed(bad[i], NULL) == NW_OK) fail_msg("%s allowed", bad[i]);
}

/* --- the cache, with a fake source and clock ------------------------------ */

struct fake {
    pthread_mutex_t mu;
    long long now;
    long long lifetime; /* 0 = never expires */
    int fail;
    int calls;
    int sleep_us;
};

static long long fake_now(void *ctx)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    long long t = f->now;
    pthread_mutex_unlock(&f->mu);
    return t;
}

static enum nw_err fake_fetch(void *ctx, struct nw_host_credentials *out, long long *exp, struct nw_error *err)
{
    struct fake *f = ctx;
    if (f->sleep_us) usleep((useconds_t)f->sleep_us);
    pthread_mutex_lock(&f->mu);
    int n = ++f->calls, fail = f->fail;
    long long t = f->now, life = f->lifetime;
    pthread_mutex_unlock(&f->mu);
    if (fail) return nw_fail(err, NW_ERR_UNAVAILABLE, "fake source down");
    memset(out, 0, sizeof(*out));
    snprintf(out->access_key_id, sizeof(out->access_key_id), "AKID%d", n);
    snprintf(out->secret_access_key, sizeof(out->secret_access_key), "secret%d", n);
    *exp = life ? t + life : 0;
    return NW_OK;
}

static struct nw_creds_chain *fake_chain(struct fake *f)
{
    struct nw_creds_source src = {"fake", fake_fetch, f};
    struct nw_creds_chain_config cfg = {.now = fake_now, .clock_ctx = f};
    struct nw_creds_chain *c = NULL;
    pthread_mutex_init(&f->mu, NULL);
    assert_int_equal(nw_creds_chain_new(&c, &src, &cfg, NULL), NW_OK);
    return c;
}

static const char *key_now(struct nw_creds_chain *c, enum nw_err want)
{
    static struct nw_host_credentials h;
    struct nw_error err = {0};
    assert_int_equal(nw_creds_chain_get(c, &h, NULL, &err), want);
    return h.access_key_id;
}

static void test_cache_refreshes_inside_the_margin(void **state)
{
    struct fake f = {.now = 1000000, .lifetime = 3600};
    struct nw_creds_chain *c = fake_chain(&f);
    (void)state;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    f.now += 3600 - NW_CREDS_REFRESH_MARGIN_S - 1; /* one second before the margin */
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_int_equal(f.calls, 1);
    f.now += 1; /* exactly at the margin: refresh */
    assert_string_equal(key_now(c, NW_OK), "AKID2");
    assert_int_equal(f.calls, 2);
    nw_creds_chain_free(c);
}

static void test_cache_keeps_valid_credentials_when_refresh_fails(void **state)
{
    struct fake f = {.now = 1000000, .lifetime = 3600};
    struct nw_creds_chain *c = fake_chain(&f);
    struct nw_creds_stats st;
    struct nw_error err = {0};
    struct nw_host_credentials h;
    (void)state;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    f.fail = 1;
    f.now += 3500; /* 100 s left */
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_int_equal(f.calls, 2);
    f.now += NW_CREDS_RETRY_S - 1; /* backing off: no new attempt */
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_int_equal(f.calls, 2);
    f.now += 1;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_int_equal(f.calls, 3);
    f.now += 100; /* expired */
    assert_int_equal(nw_creds_chain_get(c, &h, NULL, &err), NW_ERR_UNAVAILABLE);
    assert_string_equal(err.msg, "fake source down");
    assert_string_equal(h.secret_access_key, "");
    nw_creds_chain_stats(c, &st);
    assert_true(st.fetches == 4 && st.failures == 3);
    f.fail = 0;
    assert_string_equal(key_now(c, NW_OK), "AKID5");
    nw_creds_chain_free(c);
}

static void test_cache_static_credentials_never_refetched(void **state)
{
    struct fake f = {.now = 1000000, .lifetime = 0};
    struct nw_creds_chain *c = fake_chain(&f);
    (void)state;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    f.now += 100000000;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_int_equal(f.calls, 1);
    nw_creds_chain_free(c);
}

static void test_cache_short_lived_credentials_not_refetched_every_call(void **state)
{
    struct fake f = {.now = 1000000, .lifetime = 60}; /* shorter than the margin */
    struct nw_creds_chain *c = fake_chain(&f);
    (void)state;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    assert_int_equal(f.calls, 1);
    nw_creds_chain_free(c);
}

struct worker {
    struct nw_creds_chain *c;
    int bad;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 200; i++) {
        struct nw_host_credentials h;
        if (nw_creds_chain_get(w->c, &h, NULL, NULL) != NW_OK || strncmp(h.access_key_id, "AKID", 4) != 0 ||
            strncmp(h.secret_access_key, "secret", 6) != 0 ||
            strcmp(h.access_key_id + 4, h.secret_access_key + 6) != 0) /* never a torn pair */
            w->bad++;
    }
    return NULL;
}

static void test_cache_many_threads_one_refresh(void **state)
{
    struct fake f = {.now = 1000000, .lifetime = 3600, .sleep_us = 20000};
    struct nw_creds_chain *c = fake_chain(&f);
    pthread_t t[8];
    struct worker w[8];
    (void)state;
    assert_string_equal(key_now(c, NW_OK), "AKID1");
    f.now += 3500; /* inside the margin, still valid: one refresh, nobody waits */
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){c, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    assert_int_equal(f.calls, 2);
    nw_creds_chain_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_iso8601_utc),
        cmocka_unit_test(test_time_refusals),
        cmocka_unit_test(test_sts_xml_reads_the_credentials),
        cmocka_unit_test(test_sts_xml_refusals),
        cmocka_unit_test(test_sts_xml_depth_bound),
        cmocka_unit_test(test_sts_error_code),
        cmocka_unit_test(test_json_imds_and_container),
        cmocka_unit_test(test_json_refusals),
        cmocka_unit_test(test_sts_endpoint_rules),
        cmocka_unit_test(test_container_full_uri_hosts),
        cmocka_unit_test(test_cache_refreshes_inside_the_margin),
        cmocka_unit_test(test_cache_keeps_valid_credentials_when_refresh_fails),
        cmocka_unit_test(test_cache_static_credentials_never_refetched),
        cmocka_unit_test(test_cache_short_lived_credentials_not_refetched_every_call),
        cmocka_unit_test(test_cache_many_threads_one_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
