/*
 * eip712_internal.h - shared between eip712_types.c (reading "types" and the
 * domain type) and eip712.c (encodeType, encodeData, the digests); not a
 * public interface (that is include/nitrowallet/eip712.h).
 *
 * Trust boundary: the typed data is untrusted; everything here is bounded
 * by the limits in eip712.h and reports errors with the JSON path.
 */
#ifndef NITROWALLET_EIP712_INTERNAL_H
#define NITROWALLET_EIP712_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/eip712.h"
#include "nitrowallet/error.h"

#define NAME_MAX_LEN 64               /* struct and member names */
#define ENCODE_TYPE_MAX (64u * 1024u) /* bytes of one encodeType string */
#define PATH_CAP 256                  /* "message.a[3].b" in messages */
#define DOMAIN_NAME "EIP712Domain"
#define N_DOMAIN_FIELDS 5

enum kind { K_STRUCT, K_BOOL, K_ADDRESS, K_STRING, K_BYTES, K_BYTESN, K_UINT, K_INT };

struct field {
    const char *name; /* NUL-terminated, owned by the JSON tree */
    const char *type; /* as written, for encodeType */
    enum kind kind;
    unsigned width; /* bits of uintN / intN, bytes of bytesN */
    size_t sidx;    /* the struct, for K_STRUCT */
    unsigned ndims;
    uint16_t dims[NW_EIP712_MAX_DEPTH]; /* dims[0] outermost; 0 = dynamic */
};

struct stype {
    const char *name;
    struct field *fields;
    size_t nfields;
    bool hashed;
    uint8_t type_hash[32];
};

struct ctx {
    struct stype types[NW_EIP712_MAX_TYPES + 1]; /* + a derived domain type */
    size_t ntypes;                               /* given in "types" */
    size_t order[NW_EIP712_MAX_TYPES];           /* given types, by name */
    struct field *pool;
    size_t pool_used, pool_cap;
    char path[PATH_CAP];
    size_t path_len;
    struct nw_error *err;
};

/* ---- paths and messages (eip712_types.c) ---- */

/* Append to the path; returns the length to restore with eip712_path_pop. */
__attribute__((format(printf, 2, 3))) size_t eip712_path_push(struct ctx *c, const char *fmt, ...);
void eip712_path_pop(struct ctx *c, size_t old);
/* Fail with "path: message". */
__attribute__((format(printf, 3, 4))) NW_MUST_CHECK enum nw_err eip712_fail(struct ctx *c, enum nw_err code,
                                                                          const char *fmt, ...);
/* Put the path in front of a message a helper has already recorded. */
NW_MUST_CHECK enum nw_err eip712_prefix(struct ctx *c, enum nw_err rc);

/* ---- types (eip712_types.c) ---- */

/* The given struct type named s[0..n), by binary search of c->order. */
bool eip712_find_type(const struct ctx *c, const char *name, size_t n, size_t *idx);
/* Load and check "types": names, members, member types, the domain type's shape. */
NW_MUST_CHECK enum nw_err eip712_load_types(struct ctx *c, const cJSON *types);
/* The EIP712Domain type: the given one, or derived from `domain`'s keys. */
NW_MUST_CHECK enum nw_err eip712_domain_type(struct ctx *c, const cJSON *domain, size_t *idx);

#endif
