/*
 * eip712_types.c - the type half of EIP-712 typed data (eip712.c has the
 * encoding and hashing): the JSON paths errors name, struct and member
 * names, member types ("uint256", "Person[2][]"), loading "types" and the
 * EIP712Domain type, given or derived from the domain's keys as ethers does.
 *
 * Trust boundary: the input is untrusted: identifiers only as names, no
 * "uint"/"int" aliases, every count and length bounded (eip712.h).
 */
#include "eip712_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/json.h"

static const struct {
    const char *name, *type;
} domain_fields[N_DOMAIN_FIELDS] = {
    {"name", "string"},  {"version", "string"}, {"chainId", "uint256"}, {"verifyingContract", "address"},
    {"salt", "bytes32"},
};

/* ---- paths and messages ------------------------------------------------ */

/* Append to the path; returns the length to restore with path_pop. */
size_t eip712_path_push(struct ctx *c, const char *fmt, ...)
{
    size_t old = c->path_len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + old, PATH_CAP - old, fmt, ap);
    va_end(ap);
    if (n < 0)
        c->path[old] = '\0';
    else
        c->path_len = old + (size_t)n < PATH_CAP ? old + (size_t)n : PATH_CAP - 1;
    return old;
}

void eip712_path_pop(struct ctx *c, size_t old)
{
    c->path_len = old;
    c->path[old] = '\0';
}

/* Fail with "path: message". */
enum nw_err eip712_fail(struct ctx *c, enum nw_err code, const char *fmt, ...)
{
    char msg[NW_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nw_fail(c->err, code, "%s: %s", c->path, msg);
}

/* Put the path in front of a message a helper has already recorded. */
enum nw_err eip712_prefix(struct ctx *c, enum nw_err rc)
{
    nw_error_prefix(c->err, "%s", c->path);
    return rc;
}

/* ---- names and types --------------------------------------------------- */

static bool is_identifier(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '$' ||
                  (i > 0 && ch >= '0' && ch <= '9');
        if (!ok || i >= NAME_MAX_LEN)
            return false;
    }
    return i > 0;
}

/* Decimal digits without a leading zero, 1..max; 0 when not. */
static unsigned parse_small(const char *s, size_t n, unsigned max)
{
    unsigned v = 0;

    if (n == 0 || n > 5 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= max ? v : 0;
}

static bool prefixed(const char *s, size_t n, const char *p, size_t *plen)
{
    *plen = strlen(p);
    return n >= *plen && memcmp(s, p, *plen) == 0;
}

/*
 * Classify s[0..n) as an atomic type: 1 (kind and width set), 0 when it is
 * not an atomic type name at all, -1 when it belongs to an atomic family
 * but is not a valid member of it ("uint", "uint7", "bytes33", "int08").
 */
static int atomic_type(const char *s, size_t n, enum kind *kind, unsigned *width)
{
    static const struct {
        const char *name;
        enum kind kind;
    } plain[] = {{"bool", K_BOOL}, {"address", K_ADDRESS}, {"string", K_STRING}, {"bytes", K_BYTES}};
    size_t p;

    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (strlen(plain[i].name) == n && memcmp(s, plain[i].name, n) == 0) {
            *kind = plain[i].kind;
            *width = 0;
            return 1;
        }
    }
    if (prefixed(s, n, "bytes", &p) || prefixed(s, n, "uint", &p) || prefixed(s, n, "int", &p)) {
        bool digits = true;
        for (size_t i = p; i < n; i++)
            digits = digits && s[i] >= '0' && s[i] <= '9';
        if (!digits)
            return 0;
        *kind = s[0] == 'b' ? K_BYTESN : s[0] == 'u' ? K_UINT : K_INT;
        *width = parse_small(s + p, n - p, *kind == K_BYTESN ? 32 : 256);
        if (*width == 0 || (*kind != K_BYTESN && *width % 8 != 0))
            return -1;
        return 1;
    }
    return 0;
}

bool eip712_find_type(const struct ctx *c, const char *name, size_t n, size_t *idx)
{
    for (size_t i = 0; i < c->ntypes; i++) {
        if (strlen(c->types[i].name) == n && memcmp(c->types[i].name, name, n) == 0) {
            *idx = i;
            return true;
        }
    }
    return false;
}

/* Strip the array suffixes of s[0..*n) into f->dims (outermost first). */
static enum nw_err parse_dims(struct ctx *c, struct field *f, const char *s, size_t *n)
{
    while (*n > 0 && s[*n - 1] == ']') {
        size_t close = *n - 1, open = close;
        unsigned v = 0;

        while (open > 0 && s[open - 1] >= '0' && s[open - 1] <= '9')
            open--;
        if (open == 0 || s[open - 1] != '[')
            return eip712_fail(c, NW_ERR_BAD_REQUEST, "malformed array suffix in type \"%.80s\"", s);
        open--;
        if (close - open > 1) {
            v = parse_small(s + open + 1, close - open - 1, NW_EIP712_MAX_ARRAY);
            if (v == 0)
                return eip712_fail(c, NW_ERR_BAD_REQUEST, "array length in \"%.80s\" must be 1..%u without leading zeros", s,
                            NW_EIP712_MAX_ARRAY);
        }
        if (f->ndims == NW_EIP712_MAX_DEPTH)
            return eip712_fail(c, NW_ERR_TOO_LARGE, "type has more than %d array dimensions", NW_EIP712_MAX_DEPTH);
        f->dims[f->ndims++] = (uint16_t)v;
        *n = open;
    }
    return NW_OK;
}

/* Parse a member type: an atomic or struct base and array suffixes. */
static enum nw_err parse_type(struct ctx *c, struct field *f)
{
    const char *s = f->type;
    size_t n = strlen(s);
    enum nw_err rc;
    int a;

    if ((rc = parse_dims(c, f, s, &n)) != NW_OK)
        return rc;
    a = atomic_type(s, n, &f->kind, &f->width);
    if (a == 1)
        return NW_OK;
    if (a < 0)
        return eip712_fail(c, NW_ERR_BAD_REQUEST,
                    "invalid type \"%.*s\" (use uint8..uint256, int8..int256 in steps "
                    "of 8, bytes1..bytes32)",
                    (int)(n > 80 ? 80 : n), s);
    f->kind = K_STRUCT;
    if (!eip712_find_type(c, s, n, &f->sidx))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "unknown type \"%.*s\"", (int)(n > 80 ? 80 : n), s);
    if (strcmp(c->types[f->sidx].name, DOMAIN_NAME) == 0)
        return eip712_fail(c, NW_ERR_BAD_REQUEST, DOMAIN_NAME " must not be referenced by other types");
    return NW_OK;
}

/* ---- loading "types" --------------------------------------------------- */

/* First pass: struct names, member counts; allocates the field pool. */
static enum nw_err load_names(struct ctx *c, const cJSON *types)
{
    size_t total = N_DOMAIN_FIELDS;
    const cJSON *t;
    enum kind k;
    unsigned w;

    if (!cJSON_IsObject(types))
        return nw_fail(c->err, NW_ERR_BAD_REQUEST, "types: expected a JSON object");
    for (t = types->child; t != NULL; t = t->next) {
        size_t nf = 0;
        if (c->ntypes == NW_EIP712_MAX_TYPES)
            return nw_fail(c->err, NW_ERR_TOO_LARGE, "types: more than %d struct types", NW_EIP712_MAX_TYPES);
        if (!is_identifier(t->string))
            return nw_fail(c->err, NW_ERR_BAD_REQUEST, "types: invalid struct name \"%.80s\"", t->string);
        if (atomic_type(t->string, strlen(t->string), &k, &w) != 0)
            return nw_fail(c->err, NW_ERR_BAD_REQUEST, "types: struct name \"%s\" is reserved for an atomic type",
                           t->string);
        if (!cJSON_IsArray(t))
            return nw_fail(c->err, NW_ERR_BAD_REQUEST, "types.%s: expected an array of {name, type}", t->string);
        for (const cJSON *m = t->child; m != NULL; m = m->next)
            nf++;
        if (nf > NW_EIP712_MAX_FIELDS)
            return nw_fail(c->err, NW_ERR_TOO_LARGE, "types.%s: more than %d members", t->string, NW_EIP712_MAX_FIELDS);
        c->types[c->ntypes].name = t->string;
        c->types[c->ntypes++].nfields = nf;
        total += nf;
    }
    c->pool = calloc(total, sizeof *c->pool);
    if (c->pool == NULL)
        return nw_fail(c->err, NW_ERR_NOMEM, "out of memory");
    c->pool_cap = total;
    return NW_OK;
}

/* One {"name", "type"} member, at c->path. */
static enum nw_err load_field(struct ctx *c, const struct stype *st, size_t i, const cJSON *m)
{
    static const char *const keys[] = {"name", "type", NULL};
    struct field *f = &st->fields[i];
    const cJSON *name = nw_json_get(m, "name"), *type = nw_json_get(m, "type");
    enum nw_err rc;
    size_t old;

    if ((rc = nw_json_check_keys(m, keys, c->path, c->err)) != NW_OK)
        return rc;
    if (!cJSON_IsString(name) || !cJSON_IsString(type))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "expected {\"name\": string, \"type\": string}");
    f->name = name->valuestring;
    f->type = type->valuestring;
    old = eip712_path_push(c, ".name");
    if (!is_identifier(f->name))
        return eip712_fail(c, NW_ERR_BAD_REQUEST, "invalid member name \"%.80s\"", f->name);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(st->fields[j].name, f->name) == 0)
            return eip712_fail(c, NW_ERR_BAD_REQUEST, "duplicate member name \"%s\"", f->name);
    }
    eip712_path_pop(c, old);
    old = eip712_path_push(c, ".type");
    if ((rc = parse_type(c, f)) != NW_OK)
        return rc;
    eip712_path_pop(c, old);
    return NW_OK;
}

/* Sort the given types by name (encodeType appends dependencies so). */
static void sort_types(struct ctx *c)
{
    for (size_t i = 0; i < c->ntypes; i++) {
        size_t j = i, v = i;
        while (j > 0 && strcmp(c->types[c->order[j - 1]].name, c->types[v].name) > 0) {
            c->order[j] = c->order[j - 1];
            j--;
        }
        c->order[j] = v;
    }
}

enum nw_err eip712_load_types(struct ctx *c, const cJSON *types)
{
    enum nw_err rc;
    const cJSON *t;
    size_t ti = 0;

    if ((rc = load_names(c, types)) != NW_OK)
        return rc;
    for (t = types->child; t != NULL; t = t->next, ti++) {
        struct stype *st = &c->types[ti];
        size_t i = 0;
        st->fields = c->pool + c->pool_used;
        c->pool_used += st->nfields;
        for (const cJSON *m = t->child; m != NULL; m = m->next, i++) {
            size_t old = eip712_path_push(c, "types.%s[%zu]", st->name, i);
            if ((rc = load_field(c, st, i, m)) != NW_OK)
                return rc;
            eip712_path_pop(c, old);
        }
    }
    sort_types(c);
    return NW_OK;
}

/* ---- the domain type --------------------------------------------------- */

/* A given EIP712Domain: the standard member names keep their standard types. */
static enum nw_err check_domain_type(struct ctx *c, const struct stype *st)
{
    for (size_t i = 0; i < st->nfields; i++) {
        for (size_t j = 0; j < N_DOMAIN_FIELDS; j++) {
            if (strcmp(st->fields[i].name, domain_fields[j].name) == 0 &&
                strcmp(st->fields[i].type, domain_fields[j].type) != 0)
                return nw_fail(c->err, NW_ERR_BAD_REQUEST,
                               "types." DOMAIN_NAME "[%zu].type: domain member \"%s\" must have type %s", i,
                               domain_fields[j].name, domain_fields[j].type);
        }
    }
    return NW_OK;
}

/* Derive EIP712Domain from the keys present in `domain`, as ethers does. */
static enum nw_err derive_domain_type(struct ctx *c, const cJSON *domain, size_t *idx)
{
    static const char *const keys[] = {"name", "version", "chainId", "verifyingContract", "salt", NULL};
    struct stype *st = &c->types[c->ntypes];
    enum nw_err rc;

    if ((rc = nw_json_check_keys(domain, keys, "domain", c->err)) != NW_OK)
        return rc;
    if (c->pool_used + N_DOMAIN_FIELDS > c->pool_cap)
        return nw_fail(c->err, NW_ERR_INTERNAL, "eip712: field pool exhausted");
    st->name = DOMAIN_NAME;
    st->fields = c->pool + c->pool_used;
    for (size_t j = 0; j < N_DOMAIN_FIELDS; j++) {
        struct field *f = &st->fields[st->nfields];
        if (nw_json_get(domain, domain_fields[j].name) == NULL)
            continue;
        f->name = domain_fields[j].name;
        f->type = domain_fields[j].type;
        if (atomic_type(f->type, strlen(f->type), &f->kind, &f->width) != 1)
            return nw_fail(c->err, NW_ERR_INTERNAL, "domain type table");
        st->nfields++;
    }
    c->pool_used += st->nfields;
    *idx = c->ntypes;
    return NW_OK;
}

enum nw_err eip712_domain_type(struct ctx *c, const cJSON *domain, size_t *idx)
{
    if (!cJSON_IsObject(domain))
        return nw_fail(c->err, NW_ERR_BAD_REQUEST, "domain: expected a JSON object");
    if (eip712_find_type(c, DOMAIN_NAME, strlen(DOMAIN_NAME), idx))
        return check_domain_type(c, &c->types[*idx]);
    return derive_domain_type(c, domain, idx);
}

