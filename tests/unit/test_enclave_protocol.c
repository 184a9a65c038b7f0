/*
 * test_enclave_protocol.c - the enclave protocol's framing, envelope and
 * params parsers (docs/protocol.md): frame headers at and around the 1 MiB
 * bound, frames over a socketpair (round trip, truncation, end of stream),
 * request envelopes accepted and refused with the id echoed when readable,
 * replies' exact bytes, account/credentials/policy parsing, and the
 * dispatcher's replies for requests that need no NSM or KMS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/enclave/enclave_internal.h"
#include "nitrowallet/hex.h"

static void frame_header_bounds(void **state)
{
    struct nw_error err;
    size_t len;
    const uint8_t zero[4] = {0, 0, 0, 0}, one[4] = {0, 0, 0, 1};
    const uint8_t max[4] = {0, 0x10, 0, 0}, over[4] = {0, 0x10, 0, 1}, huge[4] = {0xff, 0xff, 0xff, 0xff};

    (void)state;
    assert_int_equal(nw_proto_frame_length(&len, zero, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_proto_frame_length(&len, one, &err), NW_OK);
    assert_int_equal(len, 1);
    assert_int_equal(nw_proto_frame_length(&len, max, &err), NW_OK);
    assert_int_equal(len, NW_PROTO_MAX_FRAME);
    assert_int_equal(nw_proto_frame_length(&len, over, &err), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_proto_frame_length(&len, huge, &err), NW_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "4294967295"));
}

static void frame_round_trip(void **state)
{
    int sv[2], eof = 1;
    struct nw_error err;
    struct nw_buf b;
    const char *msg = "{\"v\":1}";

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nw_buf_init(&b, NW_PROTO_MAX_FRAME);
    assert_int_equal(nw_proto_frame_write(sv[0], (const uint8_t *)msg, strlen(msg), &err), NW_OK);
    assert_int_equal(nw_proto_frame_write(sv[0], (const uint8_t *)"x", 1, &err), NW_OK);
    assert_int_equal(nw_proto_frame_write(sv[0], (const uint8_t *)"x", 0, &err), NW_ERR_TOO_LARGE);
    assert_int_equal(nw_proto_frame_read(sv[1], &b, &eof, &err), NW_OK);
    assert_int_equal(eof, 0);
    assert_int_equal(b.len, strlen(msg));
    assert_memory_equal(b.data, msg, b.len);
    assert_int_equal(nw_proto_frame_read(sv[1], &b, &eof, &err), NW_OK);
    assert_int_equal(b.len, 1);
    /* A header promising 10 bytes, then 3 and the end of the stream. */
    assert_int_equal(write(sv[0], "\0\0\0\x0a" "abc", 7), 7);
    close(sv[0]);
    assert_int_equal(nw_proto_frame_read(sv[1], &b, &eof, &err), NW_ERR_UNAVAILABLE);
    assert_int_equal(eof, 0);
    assert_int_equal(nw_proto_frame_read(sv[1], &b, &eof, &err), NW_ERR_UNAVAILABLE);
    assert_int_equal(eof, 1);
    nw_buf_free(&b);
    close(sv[1]);
}

static enum nw_err parse(struct nw_proto_request *r, const char *s, struct nw_error *err)
{
    return nw_proto_request_parse(r, (const uint8_t *)s, strlen(s), err);
}

static void envelope_accepts(void **state)
{
    struct nw_proto_request r;
    struct nw_error err;

    (void)state;
    assert_int_equal(parse(&r, "{\"v\":1,\"id\":\"r-1\",\"op\":\"health\",\"params\":{}}", &err), NW_OK);
    assert_string_equal(r.op, "health");
    assert_string_equal(r.id->valuestring, "r-1");
    assert_true(cJSON_IsObject(r.params));
    nw_proto_request_free(&r);
    assert_int_equal(parse(&r, "{\"params\":{\"a\":1},\"op\":\"sign_digest\",\"id\":9007199254740991,\"v\":1}", &err),
                     NW_OK);
    assert_int_equal(r.id->valuedouble, 9007199254740991.0);
    nw_proto_request_free(&r);
}

static void envelope_refuses(void **state)
{
    static const struct {
        const char *json;
        int has_id;
        const char *msg;
    } cases[] = {
        {"{\"v\":1,\"id\":1,", 0, "invalid JSON"},
        {"[]", 0, "object"},
        {"{\"v\":1,\"op\":\"health\",\"params\":{}}", 0, "id"},
        {"{\"v\":1,\"id\":\"\",\"op\":\"health\",\"params\":{}}", 0, "id"},
        {"{\"v\":1,\"id\":1.5,\"op\":\"health\",\"params\":{}}", 0, "invalid JSON"},
        {"{\"v\":1,\"id\":9007199254740992,\"op\":\"health\",\"params\":{}}", 0, "id"},
        {"{\"v\":1,\"id\":[1],\"op\":\"health\",\"params\":{}}", 0, "id"},
        {"{\"v\":1,\"id\":1,\"id\":2,\"op\":\"health\",\"params\":{}}", 0, "duplicate"},
        {"{\"v\":2,\"id\":1,\"op\":\"health\",\"params\":{}}", 1, "v: must be 1"},
        {"{\"id\":1,\"op\":\"health\",\"params\":{}}", 1, "v: must be 1"},
        {"{\"v\":1,\"id\":1,\"op\":\"Health\",\"params\":{}}", 1, "op"},
        {"{\"v\":1,\"id\":1,\"op\":\"\",\"params\":{}}", 1, "op"},
        {"{\"v\":1,\"id\":1,\"op\":\"health\"}", 1, "params: required"},
        {"{\"v\":1,\"id\":1,\"op\":\"health\",\"params\":[]}", 1, "params: must be an object"},
        {"{\"v\":1,\"id\":1,\"op\":\"health\",\"params\":{},\"x\":0}", 1, "unknown"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nw_proto_request r;
        struct nw_error err = {0};
        assert_int_equal(parse(&r, cases[i].json, &err), NW_ERR_BAD_REQUEST);
        if ((r.id != NULL) != cases[i].has_id || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: %s (id %p)", i, err.msg, (const void *)r.id);
        nw_proto_request_free(&r);
    }
}

static void replies_exact(void **state)
{
    struct nw_buf out;
    cJSON *id = cJSON_CreateString("a\"b"), *res = cJSON_CreateObject();

    (void)state;
    nw_buf_init(&out, NW_PROTO_MAX_FRAME);
    cJSON_AddStringToObject(res, "status", "ok");
    assert_int_equal(nw_proto_reply_result(&out, id, res), NW_OK);
    assert_int_equal(out.len, strlen("{\"id\":\"a\\\"b\",\"result\":{\"status\":\"ok\"}}"));
    assert_memory_equal(out.data, "{\"id\":\"a\\\"b\",\"result\":{\"status\":\"ok\"}}", out.len);
    assert_int_equal(nw_proto_reply_error(&out, NULL, "BUSY", "full"), NW_OK);
    assert_memory_equal(out.data, "{\"id\":null,\"error\":{\"code\":\"BUSY\",\"message\":\"full\"}}", out.len);
    nw_buf_free(&out);
    cJSON_Delete(id);
    cJSON_Delete(res);
}

/* Ids echo exactly: 10^15 is not 1e+15, on the enclave's replies and the host's requests. */
static void ids_exact(void **state)
{
    static const char req_text[] = "{\"v\":1,\"id\":1000000000000000,\"op\":\"health\",\"params\":{}}";
    static const char want[] = "{\"id\":1000000000000000,\"result\":{}}";
    struct nw_proto_request req;
    struct nw_error err = {0};
    struct nw_buf out;
    cJSON *params = cJSON_CreateObject(), *res = NULL;
    char *text = NULL;
    int busy = 1;

    (void)state;
    nw_buf_init(&out, NW_PROTO_MAX_FRAME);
    assert_int_equal(nw_proto_request_parse(&req, (const uint8_t *)req_text, strlen(req_text), &err), NW_OK);
    assert_int_equal(nw_proto_reply_result(&out, req.id, params), NW_OK);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    nw_proto_request_free(&req);
    assert_int_equal(nw_proto_reply_parse(out.data, out.len, 1000000000000000ull, &res, &busy, &err), NW_OK);
    assert_int_equal(busy, 0);
    cJSON_Delete(res);
    assert_int_equal(nw_proto_request_build(&text, 1000000000000000ull, NW_OP_HEALTH, params, NULL, &err), NW_OK);
    assert_string_equal(text, req_text);
    nw_proto_text_free(text);
    /* a fractional id is not an integer id */
    static const char frac[] = "{\"v\":1,\"id\":1.5,\"op\":\"health\",\"params\":{}}";
    assert_int_equal(nw_proto_request_parse(&req, (const uint8_t *)frac, strlen(frac), &err), NW_ERR_BAD_REQUEST);
    nw_proto_request_free(&req);
    cJSON_Delete(params);
    nw_buf_free(&out);
}

/* BUSY's id comes from the frame's first bytes only. */
static void peek_id(void **state)
{
    static const struct {
        const char *frame, *want; /* want NULL: no id */
    } cases[] = {
        {"{\"v\":1,\"id\":42,\"op\":\"x\"", "42"},
        {"{\"v\":1,\"id\":1000000000000000,", "1000000000000000"},
        {"{\"v\":1,\"id\":-7,", "-7"},
        {"{\"v\":1,\"id\":0,", "0"},
        {"{\"v\":1,\"id\":\"req-1\",", "\"req-1\""},
        {"{\"v\":1,\"id\":-0,", NULL},
        {"{\"v\":1,\"id\":042,", NULL},
        {"{\"v\":1,\"id\":1.5,", NULL},
        {"{\"v\":1,\"id\":12345678901234567,", NULL},
        {"{\"v\":1,\"id\":42", NULL},
        {"{\"v\":1,\"id\":\"a\\\"b\",", NULL},
        {"{\"v\":1,\"id\":\"\",", NULL},
        {"{\"id\":42,\"v\":1,", NULL},
        {"", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *id = NULL;
        assert_int_equal(nw_proto_request_peek_id(&id, (const uint8_t *)cases[i].frame, strlen(cases[i].frame)), NW_OK);
        if (cases[i].want == NULL) {
            if (id != NULL)
                fail_msg("case %zu: an id from %s", i, cases[i].frame);
            continue;
        }
        char *s = id ? cJSON_PrintUnformatted(id) : NULL;
        if (s == NULL || strcmp(s, cases[i].want) != 0)
            fail_msg("case %zu: %s, want %s", i, s ? s : "(none)", cases[i].want);
        free(s);
        cJSON_Delete(id);
    }
}

#define ADDR "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

static cJSON *account_json(const char *extra_key, const char *extra_json)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"name\":\"treasury-1\",\"address\":\"%s\",\"kms_key_id\":\"alias/nw\","
             "\"encrypted_private_key\":\"AAECAw==\",\"encrypted_data_key\":\"BAUG\","
             "\"policy\":{\"allow_digest\":false}%s%s%s}",
             ADDR, extra_key ? ",\"" : "", extra_key ? extra_key : "", extra_json ? extra_json : "");
    return cJSON_Parse(buf);
}

static void params_account(void **state)
{
    struct nw_enclave_account a;
    struct nw_error err;
    struct nw_seal_context ctx;
    struct nw_kms_kv kv[2];
    cJSON *j = account_json(NULL, NULL);

    (void)state;
    assert_int_equal(nw_enclave_parse_account(&a, j, &err), NW_OK);
    assert_int_equal(a.name_len, 10);
    assert_string_equal(a.address_str, ADDR);
    assert_int_equal(a.sealed_len, 4);
    assert_int_equal(a.data_key_blob_len, 3);
    assert_int_equal(a.policy.legacy, 1);
    nw_enclave_seal_context(&ctx, &a);
    assert_int_equal(ctx.kms_key_id_len, 8);
    assert_memory_equal(ctx.policy_digest, a.policy.digest, 32);
    nw_enclave_kms_context(kv, &a);
    assert_string_equal(kv[0].key, "nitrowallet:account");
    assert_string_equal(kv[0].value, "treasury-1");
    assert_string_equal(kv[1].value, ADDR);
    nw_enclave_account_free(&a);
    cJSON_Delete(j);
    j = account_json("extra\":", "1");
    assert_int_equal(nw_enclave_parse_account(&a, j, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "unknown"));
    cJSON_Delete(j);
}

static void params_policy_digest(void **state)
{
    struct nw_enclave_policy p;
    struct nw_error err;
    cJSON *t = cJSON_Parse("{\"allow_digest\":true}"), *f = cJSON_Parse("{\"allow_digest\":false}");
    cJSON *bad = cJSON_Parse("{\"allow_digest\":1}"), *extra = cJSON_Parse("{\"allow_digest\":true,\"x\":1}");
    /* `printf '{"allow_digest":true}' | sha256sum` (coreutils), and false. */
    uint8_t want_true[32], want_false[32];

    (void)state;
    assert_int_equal(nw_hex_decode_exact(want_true, 32,
                                         "0xd49ca8db5cdb801c31f7f95c1f2e8ad17bb5181a59397adcd30f8dc5b595af75", 66, &err),
                     NW_OK);
    assert_int_equal(nw_hex_decode_exact(want_false, 32,
                                         "0x09f0aaf8b3a636fd04b9bf5be9fbaafb8889e0fe5423b60f8c9cec6d30014cec", 66, &err),
                     NW_OK);
    struct nw_policy_request digest_req = {.kind = NW_POLICY_DIGEST}, msg_req = {.kind = NW_POLICY_MESSAGE};
    cJSON *doc = cJSON_Parse("{\"version\":1,\"rules\":[{\"id\":\"d\",\"effect\":\"allow\",\"kind\":\"digest\"}]}");
    /* legacy records: the digests their seals bind, and what they allowed */
    assert_int_equal(nw_enclave_parse_policy(&p, t, 0, &err), NW_OK);
    assert_int_equal(p.legacy, 1);
    assert_memory_equal(want_true, p.digest, 32);
    assert_int_equal(nw_enclave_check_policy(&p, &digest_req, NULL, &err), NW_OK);
    assert_int_equal(nw_enclave_check_policy(&p, &msg_req, NULL, &err), NW_OK);
    nw_enclave_policy_free(&p);
    assert_int_equal(nw_enclave_parse_policy(&p, f, 0, &err), NW_OK);
    assert_memory_equal(want_false, p.digest, 32);
    assert_int_equal(nw_enclave_check_policy(&p, &digest_req, NULL, &err), NW_ERR_POLICY_DENIED);
    assert_int_equal(nw_enclave_check_policy(&p, &msg_req, NULL, &err), NW_OK);
    nw_enclave_policy_free(&p);
    assert_int_equal(nw_enclave_parse_policy(&p, bad, 0, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_enclave_parse_policy(&p, extra, 0, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_enclave_parse_policy(&p, NULL, 0, &err), NW_ERR_BAD_REQUEST);
    /* a policy document: its own digest; absent at creation: the default, no digests */
    assert_int_equal(nw_enclave_parse_policy(&p, doc, 0, &err), NW_OK);
    assert_int_equal(p.legacy, 0);
    assert_memory_equal(p.digest, p.owned.digest, 32);
    assert_int_equal(nw_enclave_check_policy(&p, &digest_req, NULL, &err), NW_OK);
    assert_int_equal(nw_enclave_check_policy(&p, &msg_req, NULL, &err), NW_ERR_POLICY_DENIED);
    assert_non_null(strstr(err.msg, "rule \"default\""));
    nw_enclave_policy_free(&p);
    assert_int_equal(nw_enclave_parse_policy(&p, NULL, 1, &err), NW_OK);
    assert_int_equal(nw_enclave_check_policy(&p, &digest_req, NULL, &err), NW_ERR_POLICY_DENIED);
    assert_int_equal(nw_enclave_check_policy(&p, &msg_req, NULL, &err), NW_OK);
    nw_enclave_policy_free(&p);
    cJSON_Delete(doc);
    cJSON_Delete(t);
    cJSON_Delete(f);
    cJSON_Delete(bad);
    cJSON_Delete(extra);
}

static void params_credentials(void **state)
{
    struct nw_aws_credentials c;
    struct nw_error err;
    cJSON *ok = cJSON_Parse("{\"access_key_id\":\"AKID\",\"secret_access_key\":\"s3cr3t\"}");
    cJSON *tok = cJSON_Parse("{\"access_key_id\":\"AKID\",\"secret_access_key\":\"s3cr3t\",\"session_token\":\"T\"}");
    cJSON *none = cJSON_Parse("{\"access_key_id\":\"AKID\"}");
    cJSON *space = cJSON_Parse("{\"access_key_id\":\"AKID\",\"secret_access_key\":\"s3 cr3t\"}");

    (void)state;
    assert_int_equal(nw_enclave_parse_credentials(&c, ok, &err), NW_OK);
    assert_null(c.session_token);
    assert_int_equal(nw_enclave_parse_credentials(&c, tok, &err), NW_OK);
    assert_string_equal(c.session_token, "T");
    assert_int_equal(nw_enclave_parse_credentials(&c, none, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_enclave_parse_credentials(&c, space, &err), NW_ERR_BAD_REQUEST);
    /* The secret never appears in a message. */
    assert_null(strstr(err.msg, "s3"));
    assert_null(c.secret_access_key);
    cJSON_Delete(ok);
    cJSON_Delete(tok);
    cJSON_Delete(none);
    cJSON_Delete(space);
}

static void handle_without_nsm(void **state)
{
    static const struct {
        const char *req, *want;
    } cases[] = {
        {"{bad", "{\"id\":null,\"error\":{\"code\":\"BAD_REQUEST\""},
        {"{\"v\":1,\"id\":7,\"op\":\"nope\",\"params\":{}}", "{\"id\":7,\"error\":{\"code\":\"BAD_REQUEST\""},
        {"{\"v\":1,\"id\":8,\"op\":\"generate_account\",\"params\":{\"name\":\"a b\"}}", "{\"id\":8,\"error\""},
        {"{\"v\":1,\"id\":\"d\",\"op\":\"sign_digest\",\"params\":{\"digest\":\"0x00\"}}", "{\"id\":\"d\",\"error\""},
        {"{\"v\":1,\"id\":9,\"op\":\"sign_message\",\"params\":{}}", "{\"id\":9,\"error\""},
    };
    struct nw_enclave_ops ops = {0};
    struct nw_buf out;

    (void)state;
    nw_buf_init(&out, NW_PROTO_MAX_FRAME);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nw_enclave_handle(&ops, (const uint8_t *)cases[i].req, strlen(cases[i].req), &out), NW_OK);
        if (out.len < strlen(cases[i].want) || memcmp(out.data, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: %.*s", i, (int)out.len, (const char *)out.data);
    }
    nw_buf_free(&out);
}

/* --kms-key-arn: full key ARNs in the enclave's region only; matching is exact. */
static void kms_key_arns(void **state)
{
    static const char *const good[] = {
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws-us-gov:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    };
    static const char *const bad[] = {
        "",
        "alias/nitrowallet",
        "arn:aws:kms:us-east-1:111122223333:alias/nitrowallet",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab ",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890",
        "arn:aws:kms:us-east-1:111122223333:key/mrk-1234",
        "arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:awsx:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/",
    };
    struct nw_enclave_kms_keys keys = {.arn = {good[0], good[1]}, .n = 2};
    struct nw_error err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (nw_enclave_key_arn_check(good[i], "us-east-1", &err) != NW_OK)
            fail_msg("refused %s: %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (nw_enclave_key_arn_check(bad[i], "us-east-1", &err) != NW_ERR_BAD_REQUEST)
            fail_msg("accepted %s", bad[i]);
    assert_true(nw_enclave_key_allowed(&keys, good[1], strlen(good[1])));
    assert_false(nw_enclave_key_allowed(&keys, good[0], strlen(good[0]) - 1));
    assert_false(nw_enclave_key_allowed(&keys, good[2], strlen(good[2])));
    assert_false(nw_enclave_key_allowed(NULL, good[0], strlen(good[0])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_header_bounds), cmocka_unit_test(frame_round_trip),
        cmocka_unit_test(envelope_accepts),    cmocka_unit_test(envelope_refuses),
        cmocka_unit_test(replies_exact),       cmocka_unit_test(params_account),
        cmocka_unit_test(params_policy_digest), cmocka_unit_test(params_credentials),
        cmocka_unit_test(handle_without_nsm),  cmocka_unit_test(kms_key_arns),
        cmocka_unit_test(ids_exact),           cmocka_unit_test(peek_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
