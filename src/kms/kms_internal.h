/*
 * kms_internal.h - the pieces of nitrowallet-kms shared between its source
 * files (not a public interface; unit tests and the fuzzer include it).
 *
 *   jsonw.c     JSON reply writer (bounded, wiping buffers)
 *   args.c      request fields: types, AWS constraints, encryption context
 *   keystore.c  keys and aliases in memory, key references, locked material
 *   keyfile.c   one JSON file per key, written atomically; loading
 *   blob.c      the ciphertext blob format
 *   policy.c    key policies: validation and evaluation
 *   recipient.c attested Recipient: document verification, CMS to the enclave
 *   auth.c      credentials and SigV4 verification
 *   service.c   request routing and AWS-style errors
 *   ops_keys.c, ops_crypto.c  the operations
 *   devcert.c, server.c       TLS material and the listener
 *
 * Trust boundary: everything here handles input from the loopback socket.
 */
#ifndef NITROWALLET_KMS_INTERNAL_H
#define NITROWALLET_KMS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "nitrowallet/attestation.h"
#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"
#include "nitrowallet/kms_server.h"
#include "nitrowallet/secret.h"

#define KMS_KEY_ID_LEN 36   /* a UUID in its 8-4-4-4-12 text form */
#define KMS_MATERIAL_LEN 32 /* AES-256 */
#define KMS_MAX_KEYS 50000
#define KMS_MAX_ALIASES 50000
#define KMS_MAX_POLICY 32768 /* AWS's key policy size quota */
#define KMS_MAX_DESCRIPTION 8192
#define KMS_MAX_ALIAS_NAME 256
#define KMS_MAX_CONTEXT 64 /* encryption context pairs */
#define KMS_MAX_CONTEXT_BYTES 8192
#define KMS_ARN_MAX 320
#define KMS_FAULT_MSG_MAX 512
#define KMS_MAX_PLAINTEXT 4096  /* Encrypt */
#define KMS_MAX_CIPHERTEXT 6144 /* Decrypt */
#define KMS_DEFAULT_ACCOUNT "111122223333"

/* --- jsonw.c --------------------------------------------------------------- */

/* Writes compact JSON into a buffer; the first failure sticks in rc. */
struct kms_jw {
    struct nw_buf *b;
    enum nw_err rc;
};

void kms_jw_init(struct kms_jw *w, struct nw_buf *b);
void kms_jw_open(struct kms_jw *w, char brace);  /* '{' or '[' */
void kms_jw_close(struct kms_jw *w, char brace); /* '}' or ']' */
void kms_jw_key(struct kms_jw *w, const char *key);
void kms_jw_strn(struct kms_jw *w, const char *s, size_t n);
void kms_jw_str(struct kms_jw *w, const char *s);
void kms_jw_int(struct kms_jw *w, long long v);
void kms_jw_bool(struct kms_jw *w, int v);
void kms_jw_date(struct kms_jw *w, int64_t ms);                /* epoch seconds with milliseconds, as AWS */
void kms_jw_b64(struct kms_jw *w, const uint8_t *p, size_t n); /* stack copies wiped */
void kms_jw_kstr(struct kms_jw *w, const char *key, const char *s);

/* --- per-request state ---------------------------------------------------- */

struct kms_caller {
    char access_key_id[129];
    char principal_arn[KMS_ARN_MAX];
    char account[13];
};

struct kms_call {
    struct nw_kms_service *svc;
    const char *op; /* "Encrypt" */
    const struct kms_caller *caller;
    const cJSON *in;   /* the request object */
    struct kms_jw out; /* the reply object (already opened) */
    int64_t now_ms;
    const char *fault_type; /* set by kms_fail */
    char fault_msg[KMS_FAULT_MSG_MAX];
};

/* Record an AWS error (its __type and message) and return NW_ERR_BAD_REQUEST
 * (NW_ERR_INTERNAL for KMSInternalException). */
enum nw_err kms_fail(struct kms_call *c, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* HTTP status AWS uses for an error type. */
int kms_fault_status(const char *type);

/* --- args.c ---------------------------------------------------------------- */

struct kms_pair {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

/* An encryption context, sorted by key (bytewise), keys unique. */
struct kms_context {
    struct kms_pair pairs[KMS_MAX_CONTEXT];
    size_t n;
};

NW_MUST_CHECK enum nw_err kms_arg_check(struct kms_call *c, const char *const *allowed);
NW_MUST_CHECK enum nw_err kms_arg_string(struct kms_call *c, const char *name, int required, size_t min, size_t max,
                                         const char **out);
NW_MUST_CHECK enum nw_err kms_arg_int(struct kms_call *c, const char *name, long min, long max, long *out,
                                      int *present);
NW_MUST_CHECK enum nw_err kms_arg_bool(struct kms_call *c, const char *name, int *out);
/* Base64 blob of min..max bytes decoded into a locked secret. */
NW_MUST_CHECK enum nw_err kms_arg_blob(struct kms_call *c, const char *name, size_t min, size_t max,
                                       struct nw_secret *out);
NW_MUST_CHECK enum nw_err kms_arg_context(struct kms_call *c, struct kms_context *ctx);
/* An optional string that must be one of `values` (NULL-terminated). */
NW_MUST_CHECK enum nw_err kms_arg_enum(struct kms_call *c, const char *name, const char *const *values,
                                       const char **out);
/* Refuse GrantTokens that are not a list of strings (they are otherwise ignored). */
NW_MUST_CHECK enum nw_err kms_arg_grant_tokens(struct kms_call *c);

/* --- keystore.c ------------------------------------------------------------- */

enum kms_key_state { KMS_KEY_ENABLED = 0, KMS_KEY_DISABLED = 1, KMS_KEY_PENDING_DELETION = 2 };

struct kms_key {
    char id[KMS_KEY_ID_LEN + 1];
    int64_t created_ms;
    enum kms_key_state state;
    int64_t deletion_ms; /* PendingDeletion only */
    long pending_days;
    char *description;  /* owned, never NULL */
    char *policy;       /* owned: the key policy text as given */
    cJSON *policy_tree; /* owned: parsed and validated policy */
    uint8_t *material;  /* KMS_MATERIAL_LEN bytes inside a locked slab */
};

struct kms_alias {
    char name[KMS_MAX_ALIAS_NAME + 1];
    char key_id[KMS_KEY_ID_LEN + 1];
    int64_t created_ms;
    int64_t updated_ms;
};

struct kms_store {
    pthread_mutex_t mu;
    char *keys_dir; /* NULL: memory only */
    char region[33];
    char account[13];
    char arn_prefix[96];   /* "arn:aws:kms:us-east-1:111122223333:" */
    struct kms_key **keys; /* sorted by id */
    size_t n_keys, cap_keys;
    struct kms_alias *aliases; /* sorted by name */
    size_t n_aliases, cap_aliases;
    struct nw_secret *slabs; /* key material, locked pages */
    size_t n_slabs, cap_slabs, slab_used;
};

NW_MUST_CHECK enum nw_err kms_store_open(struct kms_store *s, const char *keys_dir, const char *region,
                                         const char *account, struct nw_error *err);
void kms_store_close(struct kms_store *s);
void kms_store_lock(struct kms_store *s);
void kms_store_unlock(struct kms_store *s);

/* Under the lock: */
struct kms_key *kms_store_find(const struct kms_store *s, const char *id);
struct kms_alias *kms_store_find_alias(const struct kms_store *s, const char *name);
/* A fresh key slot with material space; insert it with kms_store_insert or
 * drop it with kms_key_free. */
NW_MUST_CHECK enum nw_err kms_store_new_key(struct kms_store *s, struct kms_key **out, struct nw_error *err);
NW_MUST_CHECK enum nw_err kms_store_insert(struct kms_store *s, struct kms_key *k, struct nw_error *err);
NW_MUST_CHECK enum nw_err kms_store_insert_alias(struct kms_store *s, const struct kms_alias *a, struct nw_error *err);
void kms_store_remove_alias(struct kms_store *s, const char *name);
void kms_key_free(struct kms_key *k);
/* Persist a key (with its aliases); `create` refuses to replace a file. */
NW_MUST_CHECK enum nw_err kms_store_save(struct kms_store *s, const struct kms_key *k, int create,
                                         struct nw_error *err);
void kms_key_arn(const struct kms_store *s, const char *id, char *out, size_t cap);
void kms_alias_arn(const struct kms_store *s, const char *name, char *out, size_t cap);
int kms_is_key_id(const char *s);

/* Which forms of key reference an operation accepts (AWS API reference). */
#define KMS_REF_KEY 1u   /* key id or key ARN */
#define KMS_REF_ALIAS 2u /* alias name or alias ARN */
/* Resolve a reference to a key (under the lock); NotFoundException otherwise. */
NW_MUST_CHECK enum nw_err kms_resolve(struct kms_call *c, struct kms_store *s, const char *ref, unsigned forms,
                                      struct kms_key **out);

/* --- keyfile.c -------------------------------------------------------------- */

NW_MUST_CHECK enum nw_err kms_keyfile_encode(struct nw_buf *out, const struct kms_store *s, const struct kms_key *k,
                                             struct nw_error *err);
/* Decode a key file into a key whose material pointer is already set; the
 * aliases it names are inserted into the store.  `expect_id` (the file's
 * name, or NULL) must begin with the KeyId the file holds. */
NW_MUST_CHECK enum nw_err kms_keyfile_decode(struct kms_store *s, struct kms_key *k, const char *text, size_t len,
                                             const char *expect_id, struct nw_error *err);
/* Write dir/name atomically (temporary file, fsync, rename or link, fsync
 * dir).  With `exclusive`, an existing dir/name is never replaced. */
NW_MUST_CHECK enum nw_err kms_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
                                           int exclusive, struct nw_error *err);
/* Read a whole file of at most `max` bytes. */
NW_MUST_CHECK enum nw_err kms_read_file(const char *path, struct nw_buf *out, size_t max, struct nw_error *err);
/* mkdir -p with `mode` for the last component; refuses a group/world-writable result. */
NW_MUST_CHECK enum nw_err kms_mkdirs(const char *path, mode_t mode, struct nw_error *err);

/* --- blob.c ------------------------------------------------------------------- */

#define KMS_BLOB_VERSION 1
#define KMS_BLOB_NONCE 12
#define KMS_BLOB_TAG 16
#define KMS_BLOB_HEADER (2 + 1 + 1 + KMS_KEY_ID_LEN)
#define KMS_BLOB_OVERHEAD (KMS_BLOB_HEADER + KMS_BLOB_NONCE + KMS_BLOB_TAG)

NW_MUST_CHECK enum nw_err kms_blob_seal(struct nw_buf *out, const uint8_t key[KMS_MATERIAL_LEN], const char *key_id,
                                        const struct kms_context *ctx, const uint8_t *pt, size_t len,
                                        struct nw_error *err);
/* The key id a blob names (structure only, nothing authenticated yet). */
NW_MUST_CHECK enum nw_err kms_blob_key_id(char id[KMS_KEY_ID_LEN + 1], const uint8_t *blob, size_t len,
                                          struct nw_error *err);
/* Open into a locked secret; any mismatch is NW_ERR_SEAL_INVALID. */
NW_MUST_CHECK enum nw_err kms_blob_open(struct nw_secret *pt, const uint8_t key[KMS_MATERIAL_LEN], const uint8_t *blob,
                                        size_t len, const struct kms_context *ctx, struct nw_error *err);

/* --- policy.c ----------------------------------------------------------------- */

struct kms_policy_request {
    const char *action;                       /* "kms:Decrypt" */
    const char *principal_arn;                /* the caller */
    const char *account;                      /* the caller's account */
    const char *resource_arn;                 /* the key's ARN */
    const struct kms_context *context;        /* NULL: none in the request */
    const struct nw_attestation *attestation; /* NULL: no Recipient */
};

enum kms_decision { KMS_DENY_IMPLICIT = 0, KMS_DENY_EXPLICIT = 1, KMS_ALLOW = 2 };

/* Parse and validate a key policy (MalformedPolicyDocumentException text in err). */
NW_MUST_CHECK enum nw_err kms_policy_parse(cJSON **tree, const char *text, size_t len, struct nw_error *err);
enum kms_decision kms_policy_evaluate(const cJSON *tree, const struct kms_policy_request *r);
/* AWS's default key policy: everything to the account root. */
NW_MUST_CHECK enum nw_err kms_policy_default(char **out, const char *account);
/* Wildcard match ('*', '?'), optionally ignoring ASCII case. */
int kms_wildcard_match(const char *pattern, const char *s, int ignore_case);

/* --- recipient.c --------------------------------------------------------------- */

struct kms_recipient {
    int present;
    struct nw_attestation att;
    uint8_t *doc; /* owned; att points into it */
    size_t doc_len;
};

/* Decode and verify the request's Recipient, if any (ValidationException,
 * AccessDeniedException). */
NW_MUST_CHECK enum nw_err kms_recipient_parse(struct kms_call *c, struct kms_recipient *r);
/* Write "CiphertextForRecipient": the plaintext in CMS to the document's key. */
NW_MUST_CHECK enum nw_err kms_recipient_reply(struct kms_call *c, const struct kms_recipient *r, const uint8_t *pt,
                                              size_t len);
void kms_recipient_free(struct kms_recipient *r);

/* --- auth.c ----------------------------------------------------------------------- */

struct kms_cred {
    char access_key_id[129];
    struct nw_secret secret; /* NUL-terminated secret access key */
    char *session_token;     /* NULL: any token accepted */
    char principal_arn[KMS_ARN_MAX];
};

struct kms_auth {
    struct kms_cred *creds;
    size_t n;
    char generated_path[4096]; /* where a generated credential was written */
};

#define KMS_MAX_CREDENTIALS 32

NW_MUST_CHECK enum nw_err kms_auth_open(struct kms_auth *a, const struct nw_kms_service_config *cfg,
                                        const char *account, struct nw_error *err);
void kms_auth_close(struct kms_auth *a);
/* Add one credential (tests). */
NW_MUST_CHECK enum nw_err kms_auth_add(struct kms_auth *a, const char *akid, const char *secret, const char *token,
                                       const char *principal_arn, struct nw_error *err);
/* Verify a request; on failure c->fault_type/msg hold AWS's answer. */
NW_MUST_CHECK enum nw_err kms_auth_verify(struct kms_call *c, const struct kms_auth *a,
                                          const struct nw_kms_http_request *req, const char *region, time_t now,
                                          long max_skew_s, struct kms_caller *caller);

/* --- service.c --------------------------------------------------------------------- */

struct nw_kms_service {
    struct kms_store store;
    struct kms_auth auth;
    char region[33];
    char account[13];
    char *roots_pem; /* explicit attestation roots, concatenated PEM */
    size_t roots_pem_len;
    char *dev_root_file; /* re-read per request when no explicit roots */
    pthread_mutex_t roots_mu; /* guards the three below (recipient.c) */
    struct nw_attest_roots *roots; /* the last roots built, kept while their PEM is unchanged */
    uint8_t *roots_key;            /* the PEM text they were built from */
    size_t roots_key_len;
    int trust_aws_root;
    long max_skew_s;
    uint64_t max_attestation_age_ms;
};

/* Status 200, an empty body, a fresh request id. */
void kms_reply_init(struct nw_kms_reply *reply);
/* Dispatch an authenticated request body to its operation (fuzzing enters here). */
void kms_service_dispatch(struct nw_kms_service *svc, const struct kms_caller *caller, const char *target,
                          size_t target_len, const uint8_t *body, size_t body_len, int64_t now_ms,
                          struct nw_kms_reply *reply);

/* Caller for a principal of the service's own account root (tests). */
void kms_caller_root(struct kms_caller *caller, const struct nw_kms_service *svc);

/* Authorise an operation on a key; AccessDeniedException otherwise. */
NW_MUST_CHECK enum nw_err kms_authorize(struct kms_call *c, const struct kms_key *k, const char *action,
                                        const struct kms_context *ctx, const struct kms_recipient *r);
/* DisabledException / KMSInvalidStateException unless the key is enabled. */
NW_MUST_CHECK enum nw_err kms_require_enabled(struct kms_call *c, const struct kms_key *k);

/* --- operations ------------------------------------------------------------------- */

void kms_uuid4(char out[37]);
/* "KeyMetadata": {...} into the reply. */
void kms_reply_metadata(struct kms_call *c, const struct kms_key *k);
/* Resolve the KeyId member (under the lock) and authorise `action` on it. */
NW_MUST_CHECK enum nw_err kms_target_key(struct kms_call *c, unsigned forms, const char *action, struct kms_key **k);
NW_MUST_CHECK enum nw_err kms_persist_failed(struct kms_call *c, const struct nw_error *e);
/* The Policy member, parsed and validated (MalformedPolicyDocumentException). */
NW_MUST_CHECK enum nw_err kms_policy_arg(struct kms_call *c, int required, const char **text, cJSON **tree);
/* Unless BypassPolicyLockoutSafetyCheck, the policy must let the caller PutKeyPolicy. */
NW_MUST_CHECK enum nw_err kms_lockout_check(struct kms_call *c, const cJSON *tree, const char *key_id);

NW_MUST_CHECK enum nw_err kms_op_create_key(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_describe_key(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_list_keys(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_enable_key(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_disable_key(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_schedule_key_deletion(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_cancel_key_deletion(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_get_key_policy(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_put_key_policy(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_create_alias(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_list_aliases(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_encrypt(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_decrypt(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_generate_data_key(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_generate_data_key_without_plaintext(struct kms_call *c);
NW_MUST_CHECK enum nw_err kms_op_generate_random(struct kms_call *c);

/* --- devcert.c ----------------------------------------------------------------------- */

struct ssl_ctx_st;
/* A server SSL_CTX for a fresh certificate signed by the state directory's
 * CA (created on first use at <state>/ca.pem, key <state>/ca-key.pem 0600). */
NW_MUST_CHECK enum nw_err kms_devcert_ssl_ctx(struct ssl_ctx_st **out, const char *state_dir, const char *region,
                                              struct nw_error *err);

/* --- listen.c ------------------------------------------------------------------------------ */

/* A listening socket for "127.0.0.1:PORT", "localhost:PORT", "[::1]:PORT"
 * or "unix:/path" (loopback only); its URL, and the unix path to remove. */
NW_MUST_CHECK enum nw_err kms_listen_socket(int *fd, const char *address, int tls, char *url, size_t url_cap,
                                            char *unix_path, size_t path_cap, struct nw_error *err);

#endif
