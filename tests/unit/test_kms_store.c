/*
 * test_kms_store.c - nitrowallet-kms's state survives a restart and is
 * never silently damaged: keys, aliases, policies and key states come back
 * after the service is reopened, ciphertexts still decrypt, files have
 * their modes, creation never replaces an existing file, and any damaged
 * or unexpected file makes the service refuse to start with a message
 * naming the file (no key is ever dropped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/kms/kms_internal.h"
#include "nitrowallet/json.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_kms_store.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static struct nw_kms_service *open_service(enum nw_err want, const char *want_msg)
{
    struct nw_kms_service_config cfg;
    struct nw_kms_service *svc = NULL;
    struct nw_error err = {NW_OK, ""};

    memset(&cfg, 0, sizeof cfg);
    cfg.state_dir = dir;
    cfg.region = "us-east-1";
    if (nw_kms_service_open(&svc, &cfg, &err) != want)
        fail_msg("open: %s", err.msg);
    if (want_msg != NULL && strstr(err.msg, want_msg) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", want_msg, err.msg);
    return svc;
}

/* One operation.  Returns the reply, or NULL with the error's type in `type`. */
static cJSON *call(struct nw_kms_service *svc, const char *op, const char *body, char type[64])
{
    struct kms_caller caller;
    struct nw_kms_reply reply;
    char target[64];
    cJSON *out = NULL;
    const cJSON *t;

    kms_caller_root(&caller, svc);
    kms_reply_init(&reply);
    snprintf(target, sizeof target, "TrentService.%s", op);
    kms_service_dispatch(svc, &caller, target, strlen(target), (const uint8_t *)body, strlen(body),
                         (int64_t)time(NULL) * 1000, &reply);
    /* Replies carry dates as seconds with a fraction, which the strict
     * request parser refuses by design: read them with plain cJSON. */
    out = cJSON_ParseWithLength((const char *)reply.body.data, reply.body.len);
    assert_non_null(out);
    nw_buf_free(&reply.body);
    type[0] = '\0';
    if ((t = nw_json_get(out, "__type")) != NULL) {
        snprintf(type, 64, "%s", t->valuestring);
        cJSON_Delete(out);
        return NULL;
    }
    assert_int_equal(reply.status, 200);
    return out;
}

/* A successful call; the string at `path` ("A.B") copied into `out`. */
static void call_ok(struct nw_kms_service *svc, const char *op, const char *body, const char *path, char *out,
                    size_t cap)
{
    char type[64], p[128], *seg, *dot;
    cJSON *r = call(svc, op, body, type);
    const cJSON *v = r;

    if (r == NULL)
        fail_msg("%s %s: %s", op, body, type);
    if (path != NULL) {
        snprintf(p, sizeof p, "%s", path);
        for (seg = p; (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
            *dot = '\0';
            v = nw_json_get(v, seg);
        }
        v = nw_json_get(v, seg);
        assert_true(cJSON_IsString(v));
        snprintf(out, cap, "%s", v->valuestring);
    }
    cJSON_Delete(r);
}

static void call_fails(struct nw_kms_service *svc, const char *op, const char *body, const char *want)
{
    char type[64];
    cJSON *r = call(svc, op, body, type);

    if (r != NULL)
        fail_msg("%s %s succeeded, expected %s", op, body, want);
    assert_string_equal(type, want);
}

static const char policy[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"persisted\",\"Effect\":\"Allow\","
                             "\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";

static char key1[40], key2[40], key3[40], blob[256];

static void populate(void)
{
    struct nw_kms_service *svc = open_service(NW_OK, NULL);
    char body[1024], esc[512];
    size_t n = 0;

    call_ok(svc, "CreateKey", "{\"Description\":\"first \\u00e9\"}", "KeyMetadata.KeyId", key1, sizeof key1);
    call_ok(svc, "CreateKey", "{}", "KeyMetadata.KeyId", key2, sizeof key2);
    call_ok(svc, "CreateKey", "{}", "KeyMetadata.KeyId", key3, sizeof key3);
    snprintf(body, sizeof body, "{\"AliasName\":\"alias/first\",\"TargetKeyId\":\"%s\"}", key1);
    call_ok(svc, "CreateAlias", body, NULL, NULL, 0);
    for (const char *s = policy; *s; s++) {
        if (*s == '"')
            esc[n++] = '\\';
        esc[n++] = *s;
    }
    esc[n] = '\0';
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"PolicyName\":\"default\",\"Policy\":\"%s\"}", key1, esc);
    call_ok(svc, "PutKeyPolicy", body, NULL, NULL, 0);
    call_ok(svc, "Encrypt",
            "{\"KeyId\":\"alias/first\",\"Plaintext\":\"aGVsbG8=\",\"EncryptionContext\":{\"a\":\"b\"}}",
            "CiphertextBlob", blob, sizeof blob);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", key2);
    call_ok(svc, "DisableKey", body, NULL, NULL, 0);
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"PendingWindowInDays\":9}", key3);
    call_ok(svc, "ScheduleKeyDeletion", body, NULL, NULL, 0);
    nw_kms_service_free(svc);
}

static void state_survives_restart(void **state)
{
    struct nw_kms_service *svc;
    char body[512], got[4096];

    (void)state;
    populate();
    svc = open_service(NW_OK, NULL);
    call_ok(svc, "DescribeKey", "{\"KeyId\":\"alias/first\"}", "KeyMetadata.KeyId", got, sizeof got);
    assert_string_equal(got, key1);
    call_ok(svc, "DescribeKey", "{\"KeyId\":\"alias/first\"}", "KeyMetadata.Description", got, sizeof got);
    assert_string_equal(got, "first \xc3\xa9");
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\",\"PolicyName\":\"default\"}", key1);
    call_ok(svc, "GetKeyPolicy", body, "Policy", got, sizeof got);
    assert_string_equal(got, policy);
    snprintf(body, sizeof body, "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"a\":\"b\"}}", blob);
    call_ok(svc, "Decrypt", body, "Plaintext", got, sizeof got);
    assert_string_equal(got, "aGVsbG8=");
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", key2);
    call_ok(svc, "DescribeKey", body, "KeyMetadata.KeyState", got, sizeof got);
    assert_string_equal(got, "Disabled");
    snprintf(body, sizeof body, "{\"KeyId\":\"%s\"}", key3);
    call_ok(svc, "DescribeKey", body, "KeyMetadata.KeyState", got, sizeof got);
    assert_string_equal(got, "PendingDeletion");
    call_fails(svc, "Encrypt", "{\"KeyId\":\"alias/nope\",\"Plaintext\":\"aGVsbG8=\"}", "NotFoundException");
    nw_kms_service_free(svc);
}

static void files_and_modes(void **state)
{
    char path[256];
    struct stat st;
    struct nw_buf text;

    (void)state;
    snprintf(path, sizeof path, "%s/keys", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/keys/%s.json", dir, key1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    nw_buf_init(&text, 1u << 20);
    assert_int_equal(kms_read_file(path, &text, 1u << 20, NULL), NW_OK);
    assert_non_null(memmem(text.data, text.len, "\"Format\":\"nitrowallet-kms key v1\"", 33));
    assert_non_null(memmem(text.data, text.len, "\"AliasName\":\"alias/first\"", 25));
    assert_non_null(memmem(text.data, text.len, "\"KeyMaterial\":\"", 15));
    nw_buf_free(&text);
    snprintf(path, sizeof path, "%s/credentials", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void creation_never_replaces(void **state)
{
    char path[256];
    struct nw_buf text;
    struct nw_error err = {NW_OK, ""};

    (void)state;
    assert_int_equal(kms_write_atomic(dir, "once", "first", 5, 0600, 1, &err), NW_OK);
    assert_int_not_equal(kms_write_atomic(dir, "once", "second", 6, 0600, 1, &err), NW_OK);
    assert_non_null(strstr(err.msg, "refusing to replace"));
    snprintf(path, sizeof path, "%s/once", dir);
    nw_buf_init(&text, 64);
    assert_int_equal(kms_read_file(path, &text, 64, NULL), NW_OK);
    assert_memory_equal(text.data, "first", 5);
    nw_buf_free(&text);
    assert_int_equal(kms_write_atomic(dir, "once", "third", 5, 0600, 0, &err), NW_OK);
    nw_buf_init(&text, 64);
    assert_int_equal(kms_read_file(path, &text, 64, NULL), NW_OK);
    assert_memory_equal(text.data, "third", 5);
    nw_buf_free(&text);
    unlink(path);
}

/* Replace key1's file by its text with `find` replaced (NULL: appended to),
 * expect the service to refuse to start, then restore the file. */
static void damaged(const char *what, const char *find, const char *replace)
{
    char keys[128], name[64];
    struct nw_buf text, out;
    uint8_t *at;

    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(name, sizeof name, "%s.json", key1);
    {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", keys, name);
        nw_buf_init(&text, 1u << 20);
        assert_int_equal(kms_read_file(path, &text, 1u << 20, NULL), NW_OK);
    }
    nw_buf_init(&out, 1u << 20);
    at = find ? memmem(text.data, text.len, find, strlen(find)) : text.data + text.len;
    if (at == NULL)
        fail_msg("%s: \"%s\" not in the key file", what, find);
    assert_int_equal(nw_buf_append(&out, text.data, (size_t)(at - text.data)), NW_OK);
    assert_int_equal(nw_buf_append(&out, replace, strlen(replace)), NW_OK);
    if (find)
        assert_int_equal(nw_buf_append(&out, at + strlen(find), text.len - (size_t)(at - text.data) - strlen(find)),
                         NW_OK);
    assert_int_equal(kms_write_atomic(keys, name, out.data, out.len, 0600, 0, NULL), NW_OK);
    if (open_service(NW_ERR_BAD_REQUEST, "corrupt key file") != NULL)
        fail_msg("%s: the service started", what);
    assert_int_equal(kms_write_atomic(keys, name, text.data, text.len, 0600, 0, NULL), NW_OK);
    nw_buf_free(&text);
    nw_buf_free(&out);
}

static void damaged_files_refused(void **state)
{
    struct nw_kms_service *svc;
    char path[256], other[256];
    FILE *f;

    (void)state;
    damaged("garbage appended", NULL, "x");
    damaged("truncated", "\"KeyMaterial\"", "\"KeyMaterial\"}");
    damaged("unknown field", "\"KeyId\"", "\"Extra\":1,\"KeyId\"");
    damaged("unknown state", "\"KeyState\":\"Enabled\"", "\"KeyState\":\"Gone\"");
    damaged("bad policy", "\"Policy\":\"{", "\"Policy\":\"[{");
    damaged("short material", "\"KeyMaterial\":\"", "\"KeyMaterial\":\"AAAA");
    damaged("other format", "key v1", "key v2");
    damaged("alias without prefix", "alias/first", "first");
    damaged("id mismatch", "\"KeyId\":\"", "\"KeyId\":\"0");
    /* an unexpected file */
    snprintf(path, sizeof path, "%s/keys/notes.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_null(open_service(NW_ERR_BAD_REQUEST, "unexpected file"));
    unlink(path);
    /* a key file under another key's name */
    snprintf(path, sizeof path, "%s/keys/%s.json", dir, key1);
    snprintf(other, sizeof other, "%s/keys/00000000-0000-4000-8000-000000000000.json", dir);
    assert_int_equal(link(path, other), 0);
    assert_null(open_service(NW_ERR_BAD_REQUEST, "does not match"));
    unlink(other);
    /* a temporary file left by a crash is ignored */
    snprintf(path, sizeof path, "%s/keys/.tmp-crash", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
    svc = open_service(NW_OK, NULL);
    nw_kms_service_free(svc);
    unlink(path);
}

static void credentials_file_errors(void **state)
{
    struct nw_kms_service_config cfg;
    struct nw_kms_service *svc = NULL;
    struct nw_error err = {NW_OK, ""};
    char path[256];
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/creds.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\",\"Bogus\":1}]", f);
    fclose(f);
    memset(&cfg, 0, sizeof cfg);
    cfg.state_dir = dir;
    cfg.region = "us-east-1";
    cfg.credentials_file = path;
    assert_int_not_equal(nw_kms_service_open(&svc, &cfg, &err), NW_OK);
    assert_non_null(strstr(err.msg, "credentials file"));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[{\"AccessKeyId\":\"AKIATEST\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\","
          "\"PrincipalArn\":\"arn:aws:iam::111122223333:role/x\"}]",
          f);
    fclose(f);
    assert_int_equal(nw_kms_service_open(&svc, &cfg, &err), NW_OK);
    assert_string_equal(nw_kms_service_credentials_path(svc), "");
    nw_kms_service_free(svc);
    cfg.account_id = "12345";
    assert_int_not_equal(nw_kms_service_open(&svc, &cfg, &err), NW_OK);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_survives_restart),  cmocka_unit_test(files_and_modes),
        cmocka_unit_test(creation_never_replaces), cmocka_unit_test(damaged_files_refused),
        cmocka_unit_test(credentials_file_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
