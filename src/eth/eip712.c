/*
 * eip712.c - EIP-712 typed structured data hashing, as eth_signTypedData_v4
 * sends it: {"types", "primaryType", "domain", "message"}.  This file holds
 * encodeType, encodeData and the digests; reading "types" and the domain
 * type is eip712_types.c.
 *
 * Follows EIP-712 (https://eips.ethereum.org/EIPS/eip-712) and, where the
 * EIP leaves room, what ethers v6 TypedDataEncoder does, so that digests of
 * valid input match ethers byte for byte:
 *
 *   encodeType(T) = "T(type1 name1,...)" followed by every struct type that T
 *                   references (transitively, T itself excluded), sorted by
 *                   name; member types are written as given ("Person[2][]").
 *   hashStruct(T, v) = keccak(keccak(encodeType(T)) || enc(v.m1) || ...)
 *   enc: bool, address, uintN, intN (two's complement) as 32-byte words;
 *        bytesN right-padded; bytes and string as keccak of their bytes;
 *        structs as hashStruct; arrays as keccak of their elements' enc.
 *   digest = keccak(0x19 0x01 || hashStruct(EIP712Domain, domain)
 *                             || hashStruct(primaryType, message))
 *
 * The domain type is types.EIP712Domain when given; otherwise it is derived
 * from the domain keys present, in the order name, version, chainId,
 * verifyingContract, salt (as ethers' TypedDataEncoder.hashDomain does).
 *
 * The input is untrusted, so this is stricter than ethers and MetaMask:
 * identifiers only as struct and member names, no "uint"/"int" aliases,
 * value objects must carry exactly the members of their type (no missing,
 * no extra), integers are range-checked, addresses EIP-55-checked, and
 * every dimension is bounded (eip712.h).  Types may be recursive (EIP-712
 * allows it; ethers does not): value nesting is bounded by
 * NW_EIP712_MAX_DEPTH and all recursion here carries that depth.  Every
 * JSON value is visited once, and each struct's type hash is computed once,
 * so the work is linear in the input size.
 */
#include "eip712_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/json.h"
#include "nitrowallet/keccak.h"
#include "nitrowallet/key.h"
#include "nitrowallet/u256.h"

/* ---- encodeType and typeHash ------------------------------------------- */

static void absorb_str(struct nw_keccak *k, size_t *total, const char *s)
{
    size_t n = strlen(s);

    nw_keccak_update(k, s, n);
    *total += n;
}

/* Absorb "Name(type1 name1,type2 name2)". */
static void absorb_type(struct nw_keccak *k, size_t *total, const struct stype *st)
{
    absorb_str(k, total, st->name);
    absorb_str(k, total, "(");
    for (size_t i = 0; i < st->nfields; i++) {
        if (i > 0)
            absorb_str(k, total, ",");
        absorb_str(k, total, st->fields[i].type);
        absorb_str(k, total, " ");
        absorb_str(k, total, st->fields[i].name);
    }
    absorb_str(k, total, ")");
}

/* keccak(encodeType(T)), computed once per type (c->path names the value). */
static enum nw_err type_hash(struct ctx *c, size_t idx, uint8_t out[32])
{
    struct stype *st = &c->types[idx];
    bool seen[NW_EIP712_MAX_TYPES + 1] = {false};
    size_t queue[NW_EIP712_MAX_TYPES + 1], head = 0, tail = 0, total = 0;
    struct nw_keccak k;

    if (!st->hashed) {
        seen[idx] = true;
        queue[tail++] = idx;
        while (head < tail) {
            const struct stype *t = &c->types[queue[head++]];
            for (size_t i = 0; i < t->nfields; i++) {
                if (t->fields[i].kind == K_STRUCT && !seen[t->fields[i].sidx]) {
                    seen[t->fields[i].sidx] = true;
                    queue[tail++] = t->fields[i].sidx;
                }
            }
        }
        nw_keccak_init(&k);
        absorb_type(&k, &total, st);
        for (size_t i = 0; i < c->ntypes; i++) {
            if (seen[c->order[i]] && c->order[i] != idx)
                absorb_type(&k, &total, &c->types[c->order[i]]);
        }
        nw_keccak_final(&k, st->type_hash);
        if (total > ENCODE_TYPE_MAX)
            return eip712_fail(c, NW_ERR_TOO_LARGE, "encodeType of %s is %zu bytes, at most %u allowed", st->name, total,
                        ENCODE_TYPE_MAX);
        st->hashed = true;
    }
    memcpy(out, st->type_hash, 32);
    return NW_OK;
}

/* ---- encodeData: atomic values ----------------------------------------- */

static bool single_bit(const struct nw_u256 *x)
{
    int ones = 0;

    for (int i = 0; i < 4; i++)
        ones += __builtin_popcountll(x->w[i]);
    return ones == 1;
}

/* The magnitude and sign of an integer given as a JSON number or string. */
static enum nw_err read_integer(struct ctx *c, const cJSON *v, bool is_signed, struct nw_u256 *mag, bool *neg)
{
    enum nw_err rc;
    const char *s;
    size_t n;

    *neg = false;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        int64_t i = 0;
        if (d >= -(double)NW_JSON_MAX_SAFE_INT && d <= (double)NW_JSON_MAX_SAFE_INT)
            i = (int64_t)d;
        if ((double)i != d)
            return eip712_fail(c, NW_ERR_BAD_REQUEST,
                        "JSON number is not an integer below 2^53; "
                        "send large values as a decimal or hex string");
        *neg = i < 0;
        nw_u256_from_u64(mag, (uint64_t)(i < 0 ? -i : i));
        return NW_OK;
    }
    if (!cJSON_IsString(v))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected an integer (JSON number, decimal or hex string)");
    s = v->valuestring;
    n = strlen(s);
    if (n > 0 && s[0] == '-') {
        if (!is_signed)
            return eip712_fail(c, NW_ERR_BAD_REQUEST, "negative value for an unsigned type");
        *neg = true;
        s++;
        n--;
    }
    rc = nw_u256_parse(mag, s, n, NW_U256_LEADING_ZEROS, c->err);
    return rc == NW_OK ? NW_OK : eip712_prefix(c, rc);
}

/* uintN / intN: range-checked, two's complement over 256 bits. */
static enum nw_err enc_integer(struct ctx *c, const struct field *f, const cJSON *v, uint8_t out[32])
{
    bool is_signed = f->kind == K_INT, neg, fits;
    struct nw_u256 mag;
    enum nw_err rc;
    unsigned bits;

    if ((rc = read_integer(c, v, is_signed, &mag, &neg)) != NW_OK)
        return rc;
    bits = nw_u256_bits(&mag);
    if (!is_signed)
        fits = !neg && bits <= f->width;
    else if (!neg)
        fits = bits < f->width;
    else
        fits = bits < f->width || (bits == f->width && single_bit(&mag));
    if (!fits)
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "value does not fit %sint%u", is_signed ? "" : "u", f->width);
    if (neg)
        nw_u256_negate(&mag);
    nw_u256_to_be32(out, &mag);
    return NW_OK;
}

/* bytes: keccak of the decoded value. */
static enum nw_err enc_bytes(struct ctx *c, const char *s, uint8_t out[32])
{
    size_t n = strlen(s), got = 0;
    enum nw_err rc = NW_OK;
    uint8_t *buf;

    if (n > NW_EIP712_MAX_JSON)
        return eip712_fail(c, NW_ERR_TOO_LARGE, "bytes value longer than %u characters", NW_EIP712_MAX_JSON);
    buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return nw_fail(c->err, NW_ERR_NOMEM, "out of memory");
    rc = nw_hex_decode(buf, n / 2, &got, s, n, c->err);
    if (rc != NW_OK) {
        rc = eip712_prefix(c, rc);
        goto out;
    }
    nw_keccak256(out, buf, got);
out:
    free(buf);
    return rc;
}

/* A non-struct, non-array value (f->kind is not K_STRUCT). */
static enum nw_err enc_atomic(struct ctx *c, const struct field *f, const cJSON *v, uint8_t out[32])
{
    enum nw_err rc = NW_OK;
    const char *s;

    memset(out, 0, 32);
    if (f->kind == K_BOOL) {
        if (!cJSON_IsBool(v))
            return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected true or false");
        out[31] = cJSON_IsTrue(v) ? 1 : 0;
        return NW_OK;
    }
    if (f->kind == K_UINT || f->kind == K_INT)
        return enc_integer(c, f, v, out);
    if (!cJSON_IsString(v))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected a string");
    s = v->valuestring;
    if (f->kind == K_STRING)
        nw_keccak256(out, s, strlen(s));
    else if (f->kind == K_ADDRESS)
        rc = nw_address_parse(out + 12, s, strlen(s), c->err);
    else if (f->kind == K_BYTESN)
        rc = nw_hex_decode_exact(out, f->width, s, strlen(s), c->err);
    else
        return enc_bytes(c, s, out);
    return rc == NW_OK ? NW_OK : eip712_prefix(c, rc);
}

/* ---- encodeData: structs and arrays ------------------------------------ */

static enum nw_err hash_struct(struct ctx *c, size_t idx, const cJSON *v, unsigned depth, uint8_t out[32]);

/* enc(v) for member f with `level` array dimensions already taken off. */
static enum nw_err enc_value(struct ctx *c, const struct field *f, unsigned level, const cJSON *v, unsigned depth,
                             uint8_t out[32]);

/* Length of the prefix of f->type naming the value at `level` ("T[2]" of "T[2][]"). */
static int level_type_len(const struct field *f, unsigned level)
{
    size_t n = strlen(f->type);

    for (unsigned i = 0; i < level && n > 0; i++) {
        while (n > 0 && f->type[n - 1] != '[')
            n--;
        if (n > 0)
            n--;
    }
    return n > 80 ? 80 : (int)n;
}

static enum nw_err enc_array(struct ctx *c, const struct field *f, unsigned level, const cJSON *v, unsigned depth,
                             uint8_t out[32])
{
    const cJSON *e;
    struct nw_keccak k;
    enum nw_err rc;
    size_t n = 0;

    if (depth + 1 > NW_EIP712_MAX_DEPTH)
        return eip712_fail(c, NW_ERR_TOO_LARGE, "values nested deeper than %d levels", NW_EIP712_MAX_DEPTH);
    if (!cJSON_IsArray(v))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected an array of type %.*s", level_type_len(f, level), f->type);
    for (e = v->child; e != NULL && n <= NW_EIP712_MAX_ARRAY; e = e->next)
        n++;
    if (n > NW_EIP712_MAX_ARRAY)
        return eip712_fail(c, NW_ERR_TOO_LARGE, "array has more than %d elements", NW_EIP712_MAX_ARRAY);
    if (f->dims[level] != 0 && n != f->dims[level])
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected %u array elements, got %zu", f->dims[level], n);
    nw_keccak_init(&k);
    n = 0;
    for (e = v->child; e != NULL; e = e->next, n++) {
        uint8_t enc[32];
        size_t old = eip712_path_push(c, "[%zu]", n);
        if ((rc = enc_value(c, f, level + 1, e, depth + 1, enc)) != NW_OK)
            return rc;
        eip712_path_pop(c, old);
        nw_keccak_update(&k, enc, 32);
    }
    nw_keccak_final(&k, out);
    return NW_OK;
}

static enum nw_err enc_value(struct ctx *c, const struct field *f, unsigned level, const cJSON *v, unsigned depth,
                             uint8_t out[32])
{
    if (level < f->ndims)
        return enc_array(c, f, level, v, depth, out);
    if (f->kind == K_STRUCT)
        return hash_struct(c, f->sidx, v, depth + 1, out);
    return enc_atomic(c, f, v, out);
}

/* `v` must carry exactly the members of type st. */
static enum nw_err check_members(struct ctx *c, const struct stype *st, const cJSON *v)
{
    size_t n = 0;

    if (!cJSON_IsObject(v))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected an object of type %s", st->name);
    for (const cJSON *m = v->child; m != NULL; m = m->next, n++) {
        size_t i = 0;
        while (i < st->nfields && strcmp(st->fields[i].name, m->string) != 0)
            i++;
        if (i == st->nfields)
            return eip712_fail(c, NW_ERR_BAD_REQUEST, "unknown member \"%.40s\" (not in type %s)", m->string, st->name);
    }
    for (size_t i = 0; i < st->nfields; i++) {
        if (nw_json_get(v, st->fields[i].name) == NULL)
            return eip712_fail(c, NW_ERR_BAD_REQUEST, "missing member \"%s\" of type %s", st->fields[i].name, st->name);
    }
    if (n != st->nfields)
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "duplicate members in an object of type %s", st->name);
    return NW_OK;
}

/* hashStruct(T, v) = keccak(typeHash(T) || enc(v.member1) || ...). */
static enum nw_err hash_struct(struct ctx *c, size_t idx, const cJSON *v, unsigned depth, uint8_t out[32])
{
    const struct stype *st = &c->types[idx];
    uint8_t enc[32];
    struct nw_keccak k;
    enum nw_err rc;

    if (depth > NW_EIP712_MAX_DEPTH)
        return eip712_fail(c, NW_ERR_TOO_LARGE, "values nested deeper than %d levels", NW_EIP712_MAX_DEPTH);
    if ((rc = check_members(c, st, v)) != NW_OK || (rc = type_hash(c, idx, enc)) != NW_OK)
        return rc;
    nw_keccak_init(&k);
    nw_keccak_update(&k, enc, 32);
    for (size_t i = 0; i < st->nfields; i++) {
        const struct field *f = &st->fields[i];
        size_t old = eip712_path_push(c, ".%s", f->name);
        if ((rc = enc_value(c, f, 0, nw_json_get(v, f->name), depth, enc)) != NW_OK)
            return rc;
        eip712_path_pop(c, old);
        nw_keccak_update(&k, enc, 32);
    }
    nw_keccak_final(&k, out);
    return NW_OK;
}

/* ---- entry points ------------------------------------------------------ */

static enum nw_err primary_type(struct ctx *c, const cJSON *v, size_t *idx)
{
    const char *s;

    if (!cJSON_IsString(v))
        return nw_fail(c->err, NW_ERR_BAD_REQUEST, "primaryType: expected a string");
    s = v->valuestring;
    if (strcmp(s, DOMAIN_NAME) == 0)
        return nw_fail(c->err, NW_ERR_BAD_REQUEST,
                       "primaryType: " DOMAIN_NAME " is not supported (hashing a domain alone has no message)");
    if (!eip712_find_type(c, s, strlen(s), idx))
        return nw_fail(c->err, NW_ERR_BAD_REQUEST, "primaryType: unknown type \"%.80s\"", s);
    return NW_OK;
}

static enum nw_err hash_all(struct ctx *c, const cJSON *td, struct nw_eip712_hashes *out)
{
    static const char *const keys[] = {"types", "primaryType", "domain", "message", NULL};
    static const uint8_t prefix1901[2] = {0x19, 0x01};
    const cJSON *domain = nw_json_get(td, "domain");
    size_t pidx = 0, didx = 0;
    struct nw_keccak k;
    enum nw_err rc;

    if (!cJSON_IsObject(td))
        return nw_fail(c->err, NW_ERR_BAD_REQUEST, "typed data: expected a JSON object");
    if ((rc = nw_json_check_keys(td, keys, "typed data", c->err)) != NW_OK)
        return rc;
    for (size_t i = 0; keys[i] != NULL; i++) {
        if (nw_json_get(td, keys[i]) == NULL)
            return nw_fail(c->err, NW_ERR_BAD_REQUEST, "typed data: missing \"%s\"", keys[i]);
    }
    if ((rc = eip712_load_types(c, nw_json_get(td, "types"))) != NW_OK ||
        (rc = primary_type(c, nw_json_get(td, "primaryType"), &pidx)) != NW_OK ||
        (rc = eip712_domain_type(c, domain, &didx)) != NW_OK)
        return rc;
    eip712_path_push(c, "domain");
    if ((rc = hash_struct(c, didx, domain, 1, out->domain_separator)) != NW_OK)
        return rc;
    eip712_path_pop(c, 0);
    eip712_path_push(c, "message");
    if ((rc = hash_struct(c, pidx, nw_json_get(td, "message"), 1, out->struct_hash)) != NW_OK)
        return rc;
    nw_keccak_init(&k);
    nw_keccak_update(&k, prefix1901, 2);
    nw_keccak_update(&k, out->domain_separator, 32);
    nw_keccak_update(&k, out->struct_hash, 32);
    nw_keccak_final(&k, out->digest);
    return NW_OK;
}

enum nw_err nw_eip712_hash(struct nw_eip712_hashes *out, const cJSON *typed_data, struct nw_error *err)
{
    struct ctx *c;
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    c->err = err;
    rc = hash_all(c, typed_data, out);
    if (rc != NW_OK)
        memset(out, 0, sizeof *out);
    free(c->pool);
    free(c);
    return rc;
}

enum nw_err nw_eip712_hash_json(struct nw_eip712_hashes *out, const char *json, size_t len, struct nw_error *err)
{
    cJSON *root = NULL;
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    if (len > NW_EIP712_MAX_JSON)
        return nw_fail(err, NW_ERR_TOO_LARGE, "typed data is %zu bytes, at most %u allowed", len, NW_EIP712_MAX_JSON);
    if ((rc = nw_json_parse(&root, json, len, NW_EIP712_MAX_JSON, err)) != NW_OK)
        return rc;
    rc = nw_eip712_hash(out, root, err);
    cJSON_Delete(root);
    return rc;
}
