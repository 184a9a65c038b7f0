/*
 * auth_internal.h - the loaded tokens config, shared by auth.c (parsing,
 * checks) and auth_token.c (hashing, generation, file loading).  Host-side.
 */
#ifndef NITROWALLET_AUTH_INTERNAL_H
#define NITROWALLET_AUTH_INTERNAL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/auth.h"

struct nw_auth_token {
    const char *id; /* points into the kept cJSON tree */
    enum nw_auth_role role;
    uint8_t hash[32];      /* SHA-256 of the token text */
    const char **accounts; /* n_accounts names (into the tree), for a signer without all_accounts */
    size_t n_accounts;
    int all_accounts; /* a signer with "all_accounts": true */
};

struct nw_auth {
    cJSON *tree; /* the parsed config; ids and names point into it */
    struct nw_auth_token *tokens;
    size_t count;
};

/* SHA-256 of `len` bytes. */
NW_MUST_CHECK enum nw_err nw_auth_sha256(uint8_t out[32], const void *p, size_t len);

#endif
