/*
 * auth.c - the host's tokens config (auth.h has the file format and the
 * role rules): strict parsing, and the bearer-token check.
 *
 * Trust boundary: the Authorization header comes from any client that can
 * reach the API.  It is parsed with fixed bounds (RFC 6750 section 2.1
 * b64token), hashed with SHA-256, and the hash is compared with every
 * configured hash through nw_ct_equal, never stopping early, so the time
 * taken does not depend on which entry (if any) matched.  The presented
 * token is never copied, logged or echoed; its digest is wiped after use.
 */
#include "nitrowallet/auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_internal.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/storage.h"

static int id_valid(const char *s)
{
    size_t len = strnlen(s, NW_AUTH_ID_MAX + 1);

    if (len == 0 || len > NW_AUTH_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* Exactly 64 hex digits (either case, no prefix) into 32 bytes. */
static int hash_decode(uint8_t out[32], const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = nw_hex_digit(s[2 * i]), lo = nw_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static enum nw_err parse_accounts(struct nw_auth_token *t, const cJSON *arr, size_t idx, struct nw_error *err)
{
    size_t n = 0;
    const cJSON *c;

    if (!cJSON_IsArray(arr))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens[%zu].accounts: expected an array of names", idx);
    cJSON_ArrayForEach(c, arr) n++;
    if (n == 0 || n > NW_AUTH_MAX_ACCOUNTS)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens[%zu].accounts: expected 1..%d names", idx,
                       NW_AUTH_MAX_ACCOUNTS);
    t->accounts = calloc(n, sizeof *t->accounts);
    if (t->accounts == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    cJSON_ArrayForEach(c, arr)
    {
        if (!cJSON_IsString(c) || !nw_storage_name_valid(c->valuestring))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens[%zu].accounts[%zu]: not a valid account name", idx,
                           t->n_accounts);
        for (size_t j = 0; j < t->n_accounts; j++)
            if (strcmp(t->accounts[j], c->valuestring) == 0)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens[%zu].accounts[%zu]: duplicate name", idx,
                               t->n_accounts);
        t->accounts[t->n_accounts++] = c->valuestring; /* owned by the kept tree */
    }
    return NW_OK;
}

static enum nw_err parse_entry(struct nw_auth_token *t, const cJSON *e, size_t idx, struct nw_error *err)
{
    static const char *const keys[] = {"id", "role", "sha256", "accounts", "all_accounts", NULL};
    const cJSON *id = nw_json_get(e, "id"), *role = nw_json_get(e, "role");
    const cJSON *hash = nw_json_get(e, "sha256"), *accounts = nw_json_get(e, "accounts");
    const cJSON *all = nw_json_get(e, "all_accounts");
    char what[32];
    enum nw_err rc;

    snprintf(what, sizeof what, "tokens[%zu]", idx);
    if ((rc = nw_json_check_keys(e, keys, what, err)) != NW_OK)
        return rc;
    if (!cJSON_IsString(id) || !id_valid(id->valuestring))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s.id: expected 1..%d characters of [A-Za-z0-9._-]", what,
                       NW_AUTH_ID_MAX);
    t->id = id->valuestring;
    if (cJSON_IsString(role) && strcmp(role->valuestring, "admin") == 0)
        t->role = NW_AUTH_ROLE_ADMIN;
    else if (cJSON_IsString(role) && strcmp(role->valuestring, "signer") == 0)
        t->role = NW_AUTH_ROLE_SIGNER;
    else
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s.role: expected \"admin\" or \"signer\"", what);
    if (!cJSON_IsString(hash) || !hash_decode(t->hash, hash->valuestring))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s.sha256: expected 64 hex digits", what);
    if (t->role != NW_AUTH_ROLE_SIGNER) {
        if (accounts != NULL || all != NULL)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s.%s: only signer tokens have an account list", what,
                           accounts != NULL ? "accounts" : "all_accounts");
        return NW_OK;
    }
    /* A signer names its accounts, or says plainly that it may sign for
     * every account: a forgotten list must not mean "all". */
    if (all != NULL && !cJSON_IsTrue(all))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s.all_accounts: only true is allowed (list the accounts instead)",
                       what);
    if (all != NULL && accounts != NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: \"accounts\" and \"all_accounts\" together", what);
    if (all != NULL) {
        t->all_accounts = 1;
        return NW_OK;
    }
    if (accounts == NULL)
        return nw_fail(err, NW_ERR_BAD_REQUEST,
                       "%s (id '%s'): a signer token lists its \"accounts\" or says \"all_accounts\": true "
                       "(a missing list no longer means every account)",
                       what, t->id);
    return parse_accounts(t, accounts, idx, err);
}

/* Two entries with one id or one hash would make logs or matches ambiguous. */
static enum nw_err check_unique(const struct nw_auth *a, struct nw_error *err)
{
    for (size_t i = 0; i < a->count; i++)
        for (size_t j = 0; j < i; j++) {
            if (strcmp(a->tokens[i].id, a->tokens[j].id) == 0)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens[%zu].id: duplicate of tokens[%zu]", i, j);
            if (memcmp(a->tokens[i].hash, a->tokens[j].hash, 32) == 0)
                return nw_fail(err, NW_ERR_BAD_REQUEST, "tokens[%zu].sha256: duplicate of tokens[%zu]", i, j);
        }
    return NW_OK;
}

enum nw_err nw_auth_load(struct nw_auth **out, const char *json, size_t len, struct nw_error *err)
{
    struct nw_auth *a = NULL;
    const cJSON *e;
    size_t n = 0;
    enum nw_err rc;

    *out = NULL;
    a = calloc(1, sizeof *a);
    if (a == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    NW_GUARD(nw_json_parse(&a->tree, json, len, NW_AUTH_CONFIG_MAX, err));
    if (!cJSON_IsArray(a->tree)) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "tokens config: expected a JSON array of tokens");
        goto out;
    }
    cJSON_ArrayForEach(e, a->tree) n++;
    if (n == 0 || n > NW_AUTH_MAX_TOKENS) {
        rc = nw_fail(err, NW_ERR_BAD_REQUEST, "tokens config: expected 1..%d tokens", NW_AUTH_MAX_TOKENS);
        goto out;
    }
    a->tokens = calloc(n, sizeof *a->tokens);
    if (a->tokens == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(e, a->tree)
    {
        NW_GUARD(parse_entry(&a->tokens[a->count], e, a->count, err));
        a->count++;
    }
    NW_GUARD(check_unique(a, err));
    *out = a;
    a = NULL;
out:
    if (a != NULL && a->tokens != NULL)
        a->count = n; /* free every entry's list, parsed or not (calloc'd) */
    nw_auth_free(a);
    return rc;
}

void nw_auth_free(struct nw_auth *auth)
{
    if (auth == NULL)
        return;
    for (size_t i = 0; i < auth->count; i++)
        free(auth->tokens[i].accounts);
    free(auth->tokens);
    cJSON_Delete(auth->tree);
    free(auth);
}

size_t nw_auth_count(const struct nw_auth *auth)
{
    return auth == NULL ? 0 : auth->count;
}

/* RFC 6750 b64token character (the '=' padding is handled by the caller). */
static int b64token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
}

/* Find the credential in "Bearer <b64token>"; 0 if malformed. */
static int bearer_token(const char *h, size_t len, const char **tok, size_t *tok_len)
{
    size_t i = 6, start, pad = 0;

    if (len < 8 || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
        return 0;
    while (i < len && h[i] == ' ')
        i++;
    start = i;
    while (i < len && b64token_char(h[i]))
        i++;
    if (i == start)
        return 0;
    while (i < len && h[i] == '=' && pad < 2) {
        i++;
        pad++;
    }
    if (i != len || len - start > NW_AUTH_TOKEN_MAX)
        return 0;
    *tok = h + start;
    *tok_len = len - start;
    return 1;
}

enum nw_auth_result nw_auth_check(const struct nw_auth *auth, const char *header, size_t len,
                                  struct nw_auth_principal *out)
{
    uint8_t digest[32];
    const char *tok = NULL;
    size_t tok_len = 0, idx = 0;
    unsigned found = 0;

    memset(out, 0, sizeof *out);
    if (header == NULL || len == 0)
        return NW_AUTH_MISSING;
    if (!bearer_token(header, len, &tok, &tok_len))
        return NW_AUTH_MALFORMED;
    if (auth == NULL || nw_auth_sha256(digest, tok, tok_len) != NW_OK)
        return NW_AUTH_INVALID;
    for (size_t i = 0; i < auth->count; i++) {
        unsigned eq = (unsigned)nw_ct_equal(digest, auth->tokens[i].hash, sizeof digest);
        size_t mask = (size_t)0 - (size_t)(eq & (found ^ 1u)); /* all ones on the first match */
        idx |= i & mask;
        found |= eq;
        out->compared++;
    }
    nw_wipe(digest, sizeof digest);
    if (!found)
        return NW_AUTH_INVALID;
    out->token = &auth->tokens[idx];
    out->role = out->token->role;
    out->id = out->token->id;
    return NW_AUTH_OK;
}

const char *nw_auth_result_message(enum nw_auth_result r)
{
    switch (r) {
    case NW_AUTH_OK: return "authenticated";
    case NW_AUTH_MISSING: return "missing bearer token (Authorization: Bearer <token>)";
    case NW_AUTH_MALFORMED: return "malformed Authorization header: expected \"Bearer <token>\"";
    case NW_AUTH_INVALID: return "invalid token";
    }
    return "invalid token";
}

static int signer_may(const struct nw_auth_token *t, const char *account)
{
    if (!nw_storage_name_valid(account))
        return 0;
    if (t->all_accounts)
        return 1;
    for (size_t i = 0; i < t->n_accounts; i++)
        if (strcmp(t->accounts[i], account) == 0)
            return 1;
    return 0;
}

int nw_auth_allowed(const struct nw_auth_principal *p, enum nw_auth_action action, const char *account)
{
    if (p == NULL || p->token == NULL)
        return 0;
    if (p->role == NW_AUTH_ROLE_ADMIN)
        return action != NW_AUTH_SIGN;
    if (p->role != NW_AUTH_ROLE_SIGNER)
        return 0;
    switch (action) {
    case NW_AUTH_ACCOUNT_READ:
    case NW_AUTH_AUDIT_READ:
    case NW_AUTH_SIGN: return signer_may(p->token, account);
    case NW_AUTH_ACCOUNT_CREATE:
    case NW_AUTH_ACCOUNT_LIST: return 0;
    }
    return 0;
}
