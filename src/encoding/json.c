/*
 * json.c - strict, bounded JSON input (see json.h for why cJSON alone is
 * not enough for a signer).
 *
 * The validator is a recursive-descent recogniser of RFC 8259 with a depth
 * bound; it never allocates.  Numbers must be integer literals, so every
 * number cJSON later turns into a double is exact when below 2^53 and is
 * known to carry no fraction.  Duplicate keys are found on the parsed tree.
 */
#include "nitrowallet/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/utf8.h"

struct scan {
    const unsigned char *p;
    size_t len;
    size_t pos;
    char key[48]; /* last object key seen, for messages (printable, truncated) */
    struct nw_error *err;
};

static enum nw_err value(struct scan *s, int depth);

static enum nw_err fail_at(struct scan *s, const char *what)
{
    if (s->key[0])
        return nw_fail(s->err, NW_ERR_BAD_REQUEST, "invalid JSON at byte %zu (after key \"%s\"): %s", s->pos,
                       s->key, what);
    return nw_fail(s->err, NW_ERR_BAD_REQUEST, "invalid JSON at byte %zu: %s", s->pos, what);
}

static void skip_ws(struct scan *s)
{
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        s->pos++;
    }
}

static int hex4(struct scan *s, unsigned *out)
{
    unsigned v = 0;
    if (s->len - s->pos < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        int d = nw_hex_digit(s->p[s->pos + (size_t)i]);
        if (d < 0)
            return 0;
        v = v << 4 | (unsigned)d;
    }
    s->pos += 4;
    *out = v;
    return 1;
}

/* After a backslash: one escape; \u0000 and unpaired surrogates refused. */
static enum nw_err escape(struct scan *s)
{
    unsigned u, lo;

    if (s->pos >= s->len)
        return fail_at(s, "unterminated string");
    switch (s->p[s->pos++]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return NW_OK;
    case 'u':
        break;
    default:
        s->pos--;
        return fail_at(s, "invalid escape sequence in string");
    }
    if (!hex4(s, &u))
        return fail_at(s, "invalid \\u escape in string");
    if (u == 0)
        return fail_at(s, "\\u0000 is not allowed in strings");
    if (u >= 0xDC00 && u <= 0xDFFF)
        return fail_at(s, "unpaired low surrogate in string");
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (s->len - s->pos < 2 || s->p[s->pos] != '\\' || s->p[s->pos + 1] != 'u')
            return fail_at(s, "unpaired high surrogate in string");
        s->pos += 2;
        if (!hex4(s, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(s, "unpaired high surrogate in string");
    }
    return NW_OK;
}

/* A string starting at the opening quote; raw bytes must be valid UTF-8. */
static enum nw_err string(struct scan *s, int is_key)
{
    size_t start, run;
    enum nw_err rc;

    s->pos++; /* opening quote */
    start = s->pos;
    run = s->pos;
    for (;;) {
        if (s->pos >= s->len)
            return fail_at(s, "unterminated string");
        unsigned char c = s->p[s->pos];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail_at(s, "control character in string");
        if (c == '\\') {
            if (!nw_utf8_valid(s->p + run, s->pos - run))
                return fail_at(s, "invalid UTF-8 in string");
            s->pos++;
            rc = escape(s);
            if (rc != NW_OK)
                return rc;
            run = s->pos;
            continue;
        }
        s->pos++;
    }
    if (!nw_utf8_valid(s->p + run, s->pos - run))
        return fail_at(s, "invalid UTF-8 in string");
    if (is_key) {
        size_t n = 0;
        for (size_t i = start; i < s->pos && n < sizeof s->key - 1; i++)
            s->key[n++] = (s->p[i] >= 0x20 && s->p[i] < 0x7f && s->p[i] != '"') ? (char)s->p[i] : '?';
        s->key[n] = '\0';
    }
    s->pos++; /* closing quote */
    return NW_OK;
}

static enum nw_err number(struct scan *s)
{
    if (s->p[s->pos] == '-')
        s->pos++;
    if (s->pos >= s->len || s->p[s->pos] < '0' || s->p[s->pos] > '9')
        return fail_at(s, "invalid number");
    if (s->p[s->pos] == '0') {
        s->pos++;
        if (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9')
            return fail_at(s, "number with a leading zero");
    } else {
        while (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9')
            s->pos++;
    }
    if (s->pos < s->len && (s->p[s->pos] == '.' || s->p[s->pos] == 'e' || s->p[s->pos] == 'E'))
        return fail_at(s, "number with a fraction or exponent: only integers are accepted");
    return NW_OK;
}

static enum nw_err literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0)
        return fail_at(s, "unexpected character");
    s->pos += n;
    return NW_OK;
}

static enum nw_err container(struct scan *s, int depth, int is_object)
{
    char close = is_object ? '}' : ']';
    enum nw_err rc;

    if (depth >= NW_JSON_MAX_DEPTH)
        return fail_at(s, "nesting deeper than 64 levels");
    s->pos++;
    skip_ws(s);
    if (s->pos < s->len && s->p[s->pos] == close) {
        s->pos++;
        return NW_OK;
    }
    for (;;) {
        skip_ws(s);
        if (is_object) {
            if (s->pos >= s->len || s->p[s->pos] != '"')
                return fail_at(s, "expected a string key");
            if ((rc = string(s, 1)) != NW_OK)
                return rc;
            skip_ws(s);
            if (s->pos >= s->len || s->p[s->pos] != ':')
                return fail_at(s, "expected ':'");
            s->pos++;
        }
        if ((rc = value(s, depth + 1)) != NW_OK)
            return rc;
        skip_ws(s);
        if (s->pos >= s->len)
            return fail_at(s, is_object ? "unterminated object" : "unterminated array");
        if (s->p[s->pos] == ',') {
            s->pos++;
            continue;
        }
        if (s->p[s->pos] == close) {
            s->pos++;
            return NW_OK;
        }
        return fail_at(s, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static enum nw_err value(struct scan *s, int depth)
{
    skip_ws(s);
    if (s->pos >= s->len)
        return fail_at(s, "unexpected end of input");
    switch (s->p[s->pos]) {
    case '{': return container(s, depth, 1);
    case '[': return container(s, depth, 0);
    case '"': return string(s, 0);
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default:
        if (s->p[s->pos] == '-' || (s->p[s->pos] >= '0' && s->p[s->pos] <= '9'))
            return number(s);
        return fail_at(s, "unexpected character");
    }
}

enum nw_err nw_json_validate(const char *buf, size_t len, struct nw_error *err)
{
    struct scan s = {.p = (const unsigned char *)buf, .len = len, .err = err};
    enum nw_err rc = value(&s, 0);

    if (rc != NW_OK)
        return rc;
    skip_ws(&s);
    if (s.pos != s.len)
        return fail_at(&s, "trailing characters after the JSON value");
    return NW_OK;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuse duplicate keys anywhere in the tree (cJSON keeps all of them). */
static enum nw_err no_duplicates(const cJSON *node, struct nw_error *err)
{
    const cJSON *c;
    size_t n = 0, i = 0;
    const char **keys;
    enum nw_err rc = NW_OK;

    for (c = node->child; c != NULL; c = c->next) {
        n++;
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            if ((rc = no_duplicates(c, err)) != NW_OK)
                return rc;
        }
    }
    if (!cJSON_IsObject(node) || n < 2)
        return NW_OK;
    keys = malloc(n * sizeof *keys);
    if (keys == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "out of memory");
    for (c = node->child; c != NULL; c = c->next)
        keys[i++] = c->string;
    qsort(keys, n, sizeof *keys, cmp_keys);
    for (i = 1; i < n; i++) {
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            rc = nw_fail(err, NW_ERR_BAD_REQUEST, "invalid JSON: duplicate key \"%.40s\"", keys[i]);
            break;
        }
    }
    free(keys);
    return rc;
}

enum nw_err nw_json_parse(cJSON **out, const char *buf, size_t len, size_t max_len, struct nw_error *err)
{
    enum nw_err rc;
    cJSON *root;

    *out = NULL;
    if (len > max_len)
        return nw_fail(err, NW_ERR_TOO_LARGE, "JSON is %zu bytes, at most %zu allowed", len, max_len);
    if ((rc = nw_json_validate(buf, len, err)) != NW_OK)
        return rc;
    root = cJSON_ParseWithLength(buf, len);
    if (root == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "JSON could not be parsed (out of memory)");
    if ((rc = no_duplicates(root, err)) != NW_OK) {
        nw_json_delete_wiped(root); /* the refused tree may still carry secrets */
        return rc;
    }
    *out = root;
    return NW_OK;
}

static void wipe_tree(cJSON *node, int depth)
{
    for (; node != NULL; node = node->next) {
        if (node->type & cJSON_IsReference) /* not owned: not ours to wipe */
            continue;
        if (node->valuestring != NULL)
            nw_wipe(node->valuestring, strlen(node->valuestring));
        if (node->string != NULL && !(node->type & cJSON_StringIsConst))
            nw_wipe(node->string, strlen(node->string));
        node->valuedouble = 0;
        node->valueint = 0;
        if (node->child != NULL && depth <= NW_JSON_MAX_DEPTH)
            wipe_tree(node->child, depth + 1);
    }
}

void nw_json_delete_wiped(cJSON *tree)
{
    if (tree == NULL)
        return;
    wipe_tree(tree, 0);
    cJSON_Delete(tree);
}

const cJSON *nw_json_get(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

enum nw_err nw_json_check_keys(const cJSON *obj, const char *const *allowed, const char *what,
                               struct nw_error *err)
{
    if (!cJSON_IsObject(obj))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: expected a JSON object", what);
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(c->string, allowed[i]) == 0;
        if (!ok)
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: unknown field \"%.40s\"", what, c->string);
    }
    return NW_OK;
}

enum nw_err nw_json_quantity(struct nw_u256 *out, const cJSON *item, const char *field, struct nw_error *err)
{
    enum nw_err rc;

    if (cJSON_IsString(item)) {
        rc = nw_u256_parse(out, item->valuestring, strlen(item->valuestring), NW_U256_STRICT, err);
        if (rc != NW_OK)
            nw_error_prefix(err, "%s", field);
        return rc;
    }
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (signbit(d))
            return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: negative numbers are not allowed", field);
        if (!(d <= (double)NW_JSON_MAX_SAFE_INT))
            return nw_fail(err, NW_ERR_BAD_REQUEST,
                           "%s: JSON number is 2^53 or more; send large values as a hex or decimal string", field);
        nw_u256_from_u64(out, (uint64_t)d);
        return NW_OK;
    }
    return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: expected a quantity (hex or decimal string, or integer)", field);
}

enum nw_err nw_json_u64(uint64_t *out, const cJSON *item, uint64_t max, const char *field, struct nw_error *err)
{
    struct nw_u256 x;
    enum nw_err rc = nw_json_quantity(&x, item, field, err);

    if (rc != NW_OK)
        return rc;
    if (!nw_u256_to_u64(&x, out) || *out > max)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: value exceeds the maximum %llu", field,
                       (unsigned long long)max);
    return NW_OK;
}

static enum nw_err exact_integers(cJSON *parent, struct nw_error *err)
{
    char text[32];
    cJSON *c = parent->child;

    while (c != NULL) {
        cJSON *next = c->next;
        if (cJSON_IsNumber(c)) {
            double d = c->valuedouble;
            cJSON *raw;
            if (!(fabs(d) <= (double)NW_JSON_MAX_SAFE_INT))
                return nw_fail(err, NW_ERR_BAD_REQUEST,
                               "%.40s: JSON number is 2^53 or more in magnitude; send large values as a hex or "
                               "decimal string", c->string != NULL ? c->string : "array element");
            /* exact: |d| < 2^53 and, from the validator, an integer */
            snprintf(text, sizeof text, "%.0f", d);
            raw = cJSON_CreateRaw(text);
            if (raw == NULL) return nw_fail(err, NW_ERR_NOMEM, "out of memory");
            /* the member name moves to the new item (ReplaceItemViaPointer keeps none) */
            raw->string = c->string;
            raw->type |= c->type & cJSON_StringIsConst;
            c->string = NULL;
            if (!cJSON_ReplaceItemViaPointer(parent, c, raw)) { /* cannot fail: c is parent's child */
                c->string = raw->string;
                raw->string = NULL;
                cJSON_Delete(raw);
                return nw_fail(err, NW_ERR_INTERNAL, "JSON number could not be replaced");
            }
        } else if (c->child != NULL) {
            enum nw_err rc = exact_integers(c, err); /* depth bounded by NW_JSON_MAX_DEPTH */
            if (rc != NW_OK) return rc;
        }
        c = next;
    }
    return NW_OK;
}

enum nw_err nw_json_exact_integers(cJSON *tree, struct nw_error *err)
{
    if (tree == NULL || cJSON_IsNumber(tree))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "expected a JSON object or array");
    return tree->child != NULL ? exact_integers(tree, err) : NW_OK;
}

enum nw_err nw_json_string(const char **s, size_t *len, const cJSON *item, const char *field,
                           struct nw_error *err)
{
    if (!cJSON_IsString(item))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: expected a string", field);
    *s = item->valuestring;
    *len = strlen(item->valuestring);
    return NW_OK;
}
