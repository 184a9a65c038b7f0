/*
 * enclave_internal.h - shared between the enclave daemon's operation files
 * (params.c, ops.c, ops_account.c, ops_sign.c); not a public interface.
 *
 * Trust boundary: the parsers here read the untrusted host's params; the
 * account they produce still has to pass KMS and the seal before any key
 * is used.
 */
#ifndef NITROWALLET_ENCLAVE_INTERNAL_H
#define NITROWALLET_ENCLAVE_INTERNAL_H

#include <cjson/cJSON.h>

#include "nitrowallet/enclave.h"
#include "nitrowallet/key.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/seal.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/sigv4.h"

#define NW_ENCLAVE_MAX_SEALED 1024        /* decoded encrypted_private_key */
#define NW_ENCLAVE_MAX_DATA_KEY_BLOB 6144 /* decoded encrypted_data_key (KMS CiphertextBlob bound) */
#define NW_ENCLAVE_MAX_SECRET_FIELD 4096  /* secret_access_key, session_token */
/* The canonical text of the two policies accounts had before account
 * policies (docs/policy.md): their SHA-256 is the policy digest in those
 * accounts' seals, so they keep opening. */
#define NW_ENCLAVE_POLICY_ALLOW "{\"allow_digest\":true}"
#define NW_ENCLAVE_POLICY_DENY "{\"allow_digest\":false}"
#define NW_ENCLAVE_CTX_ACCOUNT "nitrowallet:account"
#define NW_ENCLAVE_CTX_ADDRESS "nitrowallet:address"

/*
 * An account's policy: what is enforced (`rules`) and the digest its seal
 * binds.  `rules` points to `owned` (a policy document, docs/policy.md) or
 * to one of two shared, read-only policies for records of the legacy form
 * {"allow_digest": bool}: the default policy, with raw digests when true.
 * Release with nw_enclave_policy_free (nw_enclave_account_free).
 */
struct nw_enclave_policy {
    uint8_t digest[32]; /* SHA-256 of the canonical text */
    const struct nw_policy *rules;
    struct nw_policy owned;
    int legacy;
};

struct nw_enclave_account {
    const char *name;                   /* points into the request tree */
    size_t name_len;
    const char *kms_key_id;
    size_t kms_key_id_len;
    uint8_t address[NW_ADDRESS_LEN];
    char address_str[NW_ADDRESS_STR_SIZE]; /* EIP-55 */
    struct nw_enclave_policy policy;
    uint8_t sealed[NW_ENCLAVE_MAX_SEALED];
    size_t sealed_len;
    uint8_t data_key_blob[NW_ENCLAVE_MAX_DATA_KEY_BLOB];
    size_t data_key_blob_len;
};

NW_MUST_CHECK enum nw_err nw_enclave_parse_name(const char **s, size_t *len, const cJSON *item,
                                                struct nw_error *err);
/* A "0x" hex string member of at most `cap` bytes, decoded into `out`. */
NW_MUST_CHECK enum nw_err nw_enclave_hex_param(uint8_t *out, size_t cap, size_t *len, const cJSON *item,
                                               const char *field, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_parse_key_id(const char **s, size_t *len, const cJSON *item,
                                                  struct nw_error *err);
/* A policy document or the legacy {"allow_digest": bool}; NULL (absent) is
 * the default policy only where `absent_is_default` (generate_account). */
NW_MUST_CHECK enum nw_err nw_enclave_parse_policy(struct nw_enclave_policy *p, const cJSON *item,
                                                  int absent_is_default, struct nw_error *err);
void nw_enclave_policy_free(struct nw_enclave_policy *p);
/* The policy as the host stores it: the canonical text (at most
 * NW_POLICY_MAX_JSON, TOO_LARGE otherwise) or the legacy object, as a tree. */
NW_MUST_CHECK enum nw_err nw_enclave_policy_json(cJSON **out, const struct nw_enclave_policy *p,
                                                 struct nw_error *err);
/* Decide `r` under the account's policy (now: the enclave's clock): NW_OK,
 * or POLICY_DENIED naming the rule; `d` (may be NULL) says which rule. */
NW_MUST_CHECK enum nw_err nw_enclave_check_policy(const struct nw_enclave_policy *p,
                                                  struct nw_policy_request *r, struct nw_policy_decision *d,
                                                  struct nw_error *err);
/* result.policy_rule: the rule that allowed a signature (docs/protocol.md). */
NW_MUST_CHECK enum nw_err nw_enclave_add_decision(cJSON *result, const struct nw_policy_decision *d,
                                                  struct nw_error *err);
/* Pointers into the request tree, which nw_proto_request_free wipes. */
NW_MUST_CHECK enum nw_err nw_enclave_parse_credentials(struct nw_aws_credentials *c, const cJSON *item,
                                                       struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_parse_account(struct nw_enclave_account *a, const cJSON *item,
                                                   struct nw_error *err);
/* Release what the account's policy holds; a zeroed account is fine. */
void nw_enclave_account_free(struct nw_enclave_account *a);

/* The seal's associated data and KMS's encryption context for an account. */
void nw_enclave_seal_context(struct nw_seal_context *ctx, const struct nw_enclave_account *a);
void nw_enclave_kms_context(struct nw_kms_kv kv[2], const struct nw_enclave_account *a);

/* Parse params.account and params.credentials, KMS Decrypt the data key
 * (Recipient, the account's encryption context), open the sealed key into
 * `sk` and check that it is the account's address.  SEAL_INVALID on any
 * mismatch.  The caller frees `sk`. */
NW_MUST_CHECK enum nw_err nw_enclave_open_account(struct nw_enclave_ops *ops, const cJSON *params,
                                                  struct nw_enclave_account *a, struct nw_secret *sk,
                                                  struct nw_error *err);

/* Result builders: NW_ERR_NOMEM when cJSON cannot allocate. */
NW_MUST_CHECK enum nw_err nw_enclave_add_hex(cJSON *obj, const char *key, const uint8_t *p, size_t len);

/* Operations: fill `result` (an empty object) or fail with `err`. */
typedef enum nw_err (*nw_enclave_op_fn)(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                        struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_op_generate_account(struct nw_enclave_ops *ops, const cJSON *params,
                                                         cJSON *result, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_op_prove_account(struct nw_enclave_ops *ops, const cJSON *params,
                                                      cJSON *result, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_op_sign_transaction(struct nw_enclave_ops *ops, const cJSON *params,
                                                         cJSON *result, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_op_sign_message(struct nw_enclave_ops *ops, const cJSON *params,
                                                     cJSON *result, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_op_sign_typed_data(struct nw_enclave_ops *ops, const cJSON *params,
                                                        cJSON *result, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_enclave_op_sign_digest(struct nw_enclave_ops *ops, const cJSON *params,
                                                    cJSON *result, struct nw_error *err);

#endif
