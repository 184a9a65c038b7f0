/*
 * auth.h - API tokens of nitrowallet-host: the tokens config file, bearer
 * token checks (RFC 6750 section 2.1) and what each role may do.
 *
 * Tokens are random ("nwt_" + base64url of 32 CSPRNG bytes) and kept only as
 * SHA-256 hashes in a JSON config file:
 *
 *   [{"id": "ops", "role": "admin", "sha256": "<64 hex>"},
 *    {"id": "payments", "role": "signer", "sha256": "<64 hex>", "accounts": ["hot-1"]},
 *    {"id": "sweeper", "role": "signer", "sha256": "<64 hex>", "all_accounts": true}]
 *
 * A signer has exactly one of "accounts" (1..256 names) and "all_accounts":
 * true; admins have neither.  A signer with no list is refused, so a
 * forgotten list never grants every account.  The
 * file is parsed strictly (nw_json_parse: unknown keys, duplicate ids or
 * hashes and malformed entries are refused).  A presented token is hashed
 * and compared with every entry in constant time (nw_ct_equal), without
 * stopping at a match.  Plaintext tokens are never stored, logged or put in
 * error messages; a token's `id` is what logs may name.
 *
 * Roles (separation of duties): `admin` creates, lists and reads accounts
 * and reads any audit trail, but cannot sign; `signer` signs with, and reads
 * the record and audit trail of, the accounts it is allowed, and cannot
 * create or list accounts.
 */
#ifndef NITROWALLET_AUTH_H
#define NITROWALLET_AUTH_H

#include <stddef.h>

#include "nitrowallet/error.h"

#define NW_AUTH_CONFIG_MAX (256 * 1024) /* bytes of tokens config */
#define NW_AUTH_MAX_TOKENS 256
#define NW_AUTH_MAX_ACCOUNTS 256 /* per signer token */
#define NW_AUTH_ID_MAX 64        /* [A-Za-z0-9._-] */
#define NW_AUTH_TOKEN_MAX 256    /* longest credential accepted in a header */
#define NW_AUTH_TOKEN_SIZE 48    /* "nwt_" + 43 base64url characters + NUL */
#define NW_AUTH_HASH_HEX_SIZE 65 /* 64 lowercase hex + NUL */

enum nw_auth_role {
    NW_AUTH_ROLE_NONE = 0,
    NW_AUTH_ROLE_ADMIN = 1,
    NW_AUTH_ROLE_SIGNER = 2,
};

/* Outcome of nw_auth_check; everything but NW_AUTH_OK is HTTP 401. */
enum nw_auth_result {
    NW_AUTH_OK = 0,
    NW_AUTH_MISSING = 1,   /* no Authorization header */
    NW_AUTH_MALFORMED = 2, /* not "Bearer <b64token>" */
    NW_AUTH_INVALID = 3,   /* well-formed, but no such token */
};

enum nw_auth_action {
    NW_AUTH_ACCOUNT_CREATE, /* admin */
    NW_AUTH_ACCOUNT_LIST,   /* admin */
    NW_AUTH_ACCOUNT_READ,   /* admin; signer for its accounts */
    NW_AUTH_AUDIT_READ,     /* admin; signer for its accounts */
    NW_AUTH_SIGN,           /* signer for its accounts only */
};

struct nw_auth;       /* a loaded tokens config (immutable, shareable by threads) */
struct nw_auth_token; /* one entry of it */

/* Who a request is: valid while the struct nw_auth it came from lives. */
struct nw_auth_principal {
    enum nw_auth_role role;
    const char *id; /* the token's id, for logs */
    const struct nw_auth_token *token;
    size_t compared; /* entries compared (always all of them) */
};

/* Parse a tokens config of `len` bytes.  *out is freed with nw_auth_free. */
NW_MUST_CHECK enum nw_err nw_auth_load(struct nw_auth **out, const char *json, size_t len, struct nw_error *err);

/* As nw_auth_load, from a regular file of at most NW_AUTH_CONFIG_MAX bytes. */
NW_MUST_CHECK enum nw_err nw_auth_load_file(struct nw_auth **out, const char *path, struct nw_error *err);

void nw_auth_free(struct nw_auth *auth);

/* Number of tokens in the config. */
size_t nw_auth_count(const struct nw_auth *auth);

/*
 * Check an Authorization header value (`header` may be NULL when absent;
 * `len` bytes, no NUL needed).  The scheme "Bearer" is matched case-
 * insensitively, then one or more spaces, then a b64token (RFC 6750) of at
 * most NW_AUTH_TOKEN_MAX bytes and nothing after it.  On NW_AUTH_OK, *out
 * names the token; otherwise *out has role NW_AUTH_ROLE_NONE.
 */
enum nw_auth_result nw_auth_check(const struct nw_auth *auth, const char *header, size_t len,
                                  struct nw_auth_principal *out);

/* Short reason for a result, for the 401 body ("missing bearer token", ...). */
const char *nw_auth_result_message(enum nw_auth_result r);

/*
 * 1 if `p` may perform `action`; `account` names the account for READ,
 * AUDIT_READ and SIGN (ignored otherwise).  0 means HTTP 403.
 */
int nw_auth_allowed(const struct nw_auth_principal *p, enum nw_auth_action action, const char *account);

/*
 * A fresh token: `token` receives "nwt_" + base64url(32 random bytes), and
 * `sha256_hex` the lowercase hex SHA-256 of the token text, as the config
 * file wants it.  The caller writes the token where only its owner can read
 * it (for example .nitrowallet/admin.token, mode 0600) and wipes it.
 */
NW_MUST_CHECK enum nw_err nw_auth_token_generate(char token[NW_AUTH_TOKEN_SIZE], char sha256_hex[NW_AUTH_HASH_HEX_SIZE],
                                                 struct nw_error *err);

/* Lowercase hex SHA-256 of `len` bytes of token text. */
NW_MUST_CHECK enum nw_err nw_auth_token_hash(char sha256_hex[NW_AUTH_HASH_HEX_SIZE], const char *token, size_t len,
                                             struct nw_error *err);

#endif
