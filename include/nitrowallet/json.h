/*
 * json.h - strict, bounded JSON input on top of cJSON.
 *
 * cJSON builds the tree, but it is lenient in ways a signer cannot afford:
 * it truncates strings at an escaped NUL, keeps duplicate keys (and returns
 * the first), accepts invalid UTF-8 and non-standard numbers, and turns every
 * number into a double.  nw_json_parse() therefore first runs its own
 * single-pass validator over the raw bytes (RFC 8259 grammar, UTF-8, a depth
 * bound, no "\u0000", no duplicate keys in an object, numbers only in integer
 * form) and only then lets cJSON build the tree.  After that, every number in
 * the tree is an integer literal, and helpers here read fields with precise
 * messages that name the field.
 */
#ifndef NITROWALLET_JSON_H
#define NITROWALLET_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nitrowallet/error.h"
#include "nitrowallet/u256.h"

#define NW_JSON_MAX_DEPTH 64

/* Largest integer a JSON number may carry (2^53 - 1, exact in a double). */
#define NW_JSON_MAX_SAFE_INT 9007199254740991ULL

/*
 * Validate and parse `len` bytes (no NUL needed) of at most `max_len` bytes.
 * On success *out owns a tree to be released with cJSON_Delete().
 */
NW_MUST_CHECK enum nw_err nw_json_parse(cJSON **out, const char *buf, size_t len, size_t max_len,
                                        struct nw_error *err);

/*
 * Wipe every string, raw text, member name and number in `tree`, then free it.  For
 * trees that carried secrets (AWS credentials in an enclave request); a tree
 * nw_json_parse refuses is released this way too.  NULL is fine.
 */
void nw_json_delete_wiped(cJSON *tree);

/* Only the validator (for fuzzing and for callers that need no tree). */
NW_MUST_CHECK enum nw_err nw_json_validate(const char *buf, size_t len, struct nw_error *err);

/*
 * Check that `obj` is an object whose every key is in the NULL-terminated
 * list `allowed`.  `what` names the object in messages ("transaction").
 */
NW_MUST_CHECK enum nw_err nw_json_check_keys(const cJSON *obj, const char *const *allowed,
                                             const char *what, struct nw_error *err);

/* The member named `key` (case-sensitive) or NULL. */
const cJSON *nw_json_get(const cJSON *obj, const char *key);

/*
 * A non-negative integer quantity: a QUANTITY or decimal string (u256.h), or
 * a JSON number below 2^53.  `field` names it in messages.
 */
NW_MUST_CHECK enum nw_err nw_json_quantity(struct nw_u256 *out, const cJSON *item, const char *field,
                                           struct nw_error *err);

/* As nw_json_quantity, limited to `max`. */
NW_MUST_CHECK enum nw_err nw_json_u64(uint64_t *out, const cJSON *item, uint64_t max, const char *field,
                                      struct nw_error *err);

/*
 * Rewrite every number in `tree` (from nw_json_parse, so integer literals
 * only) as a raw cJSON item holding its exact decimal text, so that a tree
 * forwarded with cJSON_Print* carries the integer the client sent.  cJSON
 * alone prints doubles with "%1.15g": 10^15 would leave as "1e+15", which
 * the enclave's strict parser (rightly) refuses.  A magnitude of 2^53 or
 * more is refused here (NW_ERR_BAD_REQUEST naming the member): its double
 * may already differ from the literal, and no field accepts such a number.
 * Numbers become cJSON_Raw: read them before, not after.
 */
NW_MUST_CHECK enum nw_err nw_json_exact_integers(cJSON *tree, struct nw_error *err);

/* A string member, with its length (strings never contain NUL here). */
NW_MUST_CHECK enum nw_err nw_json_string(const char **s, size_t *len, const cJSON *item, const char *field,
                                         struct nw_error *err);

#endif
