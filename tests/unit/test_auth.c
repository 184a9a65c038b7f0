/*
 * test_auth.c - API tokens: the tokens config parser and its refusals, the
 * bearer header check (valid admin and signer, wrong token, missing and
 * malformed headers), role and account-allowlist decisions, that every
 * entry is compared on each check, and token generation.  Token hashes in
 * the configs were computed independently with `printf %s TOKEN | sha256sum`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <unistd.h>

#include "nitrowallet/auth.h"

#define ADMIN_TOKEN "nwt_admin-token-0001"
#define ADMIN_HASH "0bcce770b69c048d8e4b5dd0ec910453622c928b1b70b7f324af5931630c278b"
#define SIGNER_TOKEN "nwt_signer-token-0002"
#define SIGNER_HASH "6f60ae32b3e7d5e6dcce9380548bb60e17cd61024a09c1ef9420a4f33b864e20"
#define ALL_TOKEN "nwt_signer-all-0003"
#define ALL_HASH "583d5269d9b7613742588f705e682dec7e9c1dbc30ef30bdc9be0a18359af5b4"

static const char config[] =
    "[{\"id\":\"ops\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\"},"
    " {\"id\":\"payments\",\"role\":\"signer\",\"sha256\":\"" SIGNER_HASH "\",\"accounts\":[\"hot-1\"]},"
    " {\"id\":\"any\",\"role\":\"signer\",\"sha256\":\"" ALL_HASH "\",\"all_accounts\":true}]";

static struct nw_auth *load(void)
{
    struct nw_auth *a = NULL;
    struct nw_error err = {0};

    if (nw_auth_load(&a, config, strlen(config), &err) != NW_OK)
        fail_msg("load: %s", err.msg);
    return a;
}

static enum nw_auth_result check(struct nw_auth *a, const char *header, struct nw_auth_principal *p)
{
    return nw_auth_check(a, header, header == NULL ? 0 : strlen(header), p);
}

static void test_valid_admin_and_signer(void **state)
{
    struct nw_auth *a = load();
    struct nw_auth_principal p;
    (void)state;

    assert_int_equal(nw_auth_count(a), 3);
    assert_int_equal(check(a, "Bearer " ADMIN_TOKEN, &p), NW_AUTH_OK);
    assert_int_equal(p.role, NW_AUTH_ROLE_ADMIN);
    assert_string_equal(p.id, "ops");
    assert_int_equal(check(a, "bearer  " SIGNER_TOKEN, &p), NW_AUTH_OK); /* scheme is case-insensitive */
    assert_int_equal(p.role, NW_AUTH_ROLE_SIGNER);
    assert_string_equal(p.id, "payments");
    assert_int_equal(check(a, "BEARER " ALL_TOKEN, &p), NW_AUTH_OK);
    assert_string_equal(p.id, "any");
    nw_auth_free(a);
}

static void test_wrong_missing_and_malformed(void **state)
{
    struct nw_auth *a = load();
    struct nw_auth_principal p;
    static const char *const malformed[] = {
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer" ADMIN_TOKEN,
        "Bearer " ADMIN_TOKEN " ",
        "Bearer " ADMIN_TOKEN "\n",
        "Bearer a b",
        "Bearer ===",
        "Bearer abc===",
        "Bearer ab\xc3\xa9",
        " Bearer " ADMIN_TOKEN,
        "Bearer\t" ADMIN_TOKEN,
    };
    char huge[NW_AUTH_TOKEN_MAX + 16];
    (void)state;

    assert_int_equal(check(a, NULL, &p), NW_AUTH_MISSING);
    assert_int_equal(check(a, "", &p), NW_AUTH_MISSING);
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        if (check(a, malformed[i], &p) != NW_AUTH_MALFORMED)
            fail_msg("case %zu accepted as well-formed", i);
    assert_int_equal(p.role, NW_AUTH_ROLE_NONE);
    assert_int_equal(check(a, "Bearer nwt_admin-token-0002", &p), NW_AUTH_INVALID);
    assert_int_equal(check(a, "Bearer " ADMIN_HASH, &p), NW_AUTH_INVALID); /* the hash is not the token */
    assert_int_equal(check(a, "Bearer abc=", &p), NW_AUTH_INVALID);
    assert_null(p.token);
    /* Exactly the bytes given: a prefix of a valid token is not it. */
    assert_int_equal(nw_auth_check(a, "Bearer " ADMIN_TOKEN, strlen("Bearer " ADMIN_TOKEN) - 1, &p), NW_AUTH_INVALID);
    memcpy(huge, "Bearer ", 7);
    memset(huge + 7, 'a', sizeof huge - 8);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(check(a, huge, &p), NW_AUTH_MALFORMED);
    assert_non_null(strstr(nw_auth_result_message(NW_AUTH_MISSING), "missing"));
    nw_auth_free(a);
}

static void test_roles_and_account_allowlist(void **state)
{
    struct nw_auth *a = load();
    struct nw_auth_principal admin, signer, any, none = {0};
    (void)state;

    assert_int_equal(check(a, "Bearer " ADMIN_TOKEN, &admin), NW_AUTH_OK);
    assert_int_equal(check(a, "Bearer " SIGNER_TOKEN, &signer), NW_AUTH_OK);
    assert_int_equal(check(a, "Bearer " ALL_TOKEN, &any), NW_AUTH_OK);

    assert_true(nw_auth_allowed(&admin, NW_AUTH_ACCOUNT_CREATE, NULL));
    assert_true(nw_auth_allowed(&admin, NW_AUTH_ACCOUNT_LIST, NULL));
    assert_true(nw_auth_allowed(&admin, NW_AUTH_ACCOUNT_READ, "hot-1"));
    assert_true(nw_auth_allowed(&admin, NW_AUTH_AUDIT_READ, "hot-2"));
    assert_false(nw_auth_allowed(&admin, NW_AUTH_SIGN, "hot-1")); /* admins manage, never sign */

    assert_false(nw_auth_allowed(&signer, NW_AUTH_ACCOUNT_CREATE, NULL));
    assert_false(nw_auth_allowed(&signer, NW_AUTH_ACCOUNT_LIST, NULL));
    assert_true(nw_auth_allowed(&signer, NW_AUTH_SIGN, "hot-1"));
    assert_true(nw_auth_allowed(&signer, NW_AUTH_ACCOUNT_READ, "hot-1"));
    assert_true(nw_auth_allowed(&signer, NW_AUTH_AUDIT_READ, "hot-1"));
    assert_false(nw_auth_allowed(&signer, NW_AUTH_SIGN, "hot-2"));
    assert_false(nw_auth_allowed(&signer, NW_AUTH_SIGN, "hot-1x"));
    assert_false(nw_auth_allowed(&signer, NW_AUTH_SIGN, "hot-"));
    assert_false(nw_auth_allowed(&signer, NW_AUTH_ACCOUNT_READ, "hot-2"));

    assert_true(nw_auth_allowed(&any, NW_AUTH_SIGN, "hot-2"));
    assert_false(nw_auth_allowed(&any, NW_AUTH_SIGN, "../etc"));
    assert_false(nw_auth_allowed(&any, NW_AUTH_ACCOUNT_CREATE, NULL));
    assert_false(nw_auth_allowed(&none, NW_AUTH_ACCOUNT_READ, "hot-1"));
    assert_false(nw_auth_allowed(NULL, NW_AUTH_ACCOUNT_LIST, NULL));
    nw_auth_free(a);
}

/* Every entry is compared on every check, whichever matched first. */
static void test_all_entries_compared(void **state)
{
    struct nw_auth *a = load();
    struct nw_auth_principal p;
    (void)state;

    assert_int_equal(check(a, "Bearer " ADMIN_TOKEN, &p), NW_AUTH_OK); /* entry 0 */
    assert_int_equal(p.compared, 3);
    assert_int_equal(check(a, "Bearer " ALL_TOKEN, &p), NW_AUTH_OK); /* entry 2 */
    assert_int_equal(p.compared, 3);
    assert_int_equal(check(a, "Bearer nope", &p), NW_AUTH_INVALID);
    assert_int_equal(p.compared, 3);
    nw_auth_free(a);
}

static void test_config_errors(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"", "invalid JSON"},
        {"{}", "expected a JSON array"},
        {"[]", "1..256 tokens"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\",\"extra\":1}]", "unknown field \"extra\""},
        {"[{\"id\":\"a\",\"role\":\"root\",\"sha256\":\"" ADMIN_HASH "\"}]", "tokens[0].role"},
        {"[{\"id\":\"a b\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\"}]", "tokens[0].id"},
        {"[{\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\"}]", "tokens[0].id"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"abcd\"}]", "tokens[0].sha256"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"0x" ADMIN_HASH "\"}]", "tokens[0].sha256"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\",\"accounts\":[\"x\"]}]", "only signer"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"accounts\":[]}]", "1..256 names"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"accounts\":[\"x\",\"x\"]}]", "duplicate"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"accounts\":[\"a/b\"]}]", "accounts[0]"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"accounts\":\"x\"}]", "array of names"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\"},"
         "{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"" SIGNER_HASH "\"}]",
         "tokens[1].id: duplicate"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\"},"
         "{\"id\":\"b\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"all_accounts\":true}]",
         "tokens[1].sha256: duplicate"},
        /* issue 11: a signer names its accounts or says all_accounts, never neither */
        {"[{\"id\":\"batch\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\"}]",
         "tokens[0] (id 'batch'): a signer token lists its \"accounts\" or says \"all_accounts\": true"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"all_accounts\":false}]",
         "tokens[0].all_accounts: only true"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH "\",\"all_accounts\":1}]",
         "tokens[0].all_accounts: only true"},
        {"[{\"id\":\"a\",\"role\":\"signer\",\"sha256\":\"" ADMIN_HASH
         "\",\"all_accounts\":true,\"accounts\":[\"x\"]}]",
         "\"accounts\" and \"all_accounts\" together"},
        {"[{\"id\":\"a\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\",\"all_accounts\":true}]",
         "tokens[0].all_accounts: only signer"},
        {"[{\"id\":\"a\",\"id\":\"b\",\"role\":\"admin\",\"sha256\":\"" ADMIN_HASH "\"}]", "duplicate key"},
        {"[1]", "expected a JSON object"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_auth *a = (struct nw_auth *)1;
        struct nw_error err = {0};
        assert_int_not_equal(nw_auth_load(&a, bad[i].json, strlen(bad[i].json), &err), NW_OK);
        assert_null(a);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
    }
}

static void test_config_file(void **state)
{
    char path[] = "/tmp/nw-auth-XXXXXX";
    struct nw_auth *a = NULL;
    struct nw_error err = {0};
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, config, strlen(config)), (ssize_t)strlen(config));
    close(fd);
    assert_int_equal(nw_auth_load_file(&a, path, &err), NW_OK);
    assert_int_equal(nw_auth_count(a), 3);
    nw_auth_free(a);
    unlink(path);
    assert_int_equal(nw_auth_load_file(&a, path, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_int_equal(nw_auth_load_file(&a, "/tmp", &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

/* A generated token authenticates against a config holding its hash. */
static void test_token_generation(void **state)
{
    char tok[NW_AUTH_TOKEN_SIZE], tok2[NW_AUTH_TOKEN_SIZE], hex[NW_AUTH_HASH_HEX_SIZE], want[65];
    char cfg[256], header[128];
    unsigned char d[SHA256_DIGEST_LENGTH];
    struct nw_auth *a = NULL;
    struct nw_auth_principal p;
    (void)state;

    assert_int_equal(nw_auth_token_generate(tok, hex, NULL), NW_OK);
    assert_int_equal(strlen(tok), 47);
    assert_memory_equal(tok, "nwt_", 4);
    for (size_t i = 4; i < 47; i++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", tok[i]) != NULL);
    SHA256((const unsigned char *)tok, strlen(tok), d); /* independent: OpenSSL's one-shot API */
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(want + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, want);
    assert_int_equal(nw_auth_token_hash(want, "abc", 3, NULL), NW_OK);
    assert_string_equal(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(nw_auth_token_generate(tok2, want, NULL), NW_OK);
    assert_string_not_equal(tok, tok2);

    snprintf(cfg, sizeof cfg, "[{\"id\":\"gen\",\"role\":\"admin\",\"sha256\":\"%s\"}]", hex);
    assert_int_equal(nw_auth_load(&a, cfg, strlen(cfg), NULL), NW_OK);
    snprintf(header, sizeof header, "Bearer %s", tok);
    assert_int_equal(check(a, header, &p), NW_AUTH_OK);
    snprintf(header, sizeof header, "Bearer %s", tok2);
    assert_int_equal(check(a, header, &p), NW_AUTH_INVALID);
    nw_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_admin_and_signer),
        cmocka_unit_test(test_wrong_missing_and_malformed),
        cmocka_unit_test(test_roles_and_account_allowlist),
        cmocka_unit_test(test_all_entries_compared),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_token_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
