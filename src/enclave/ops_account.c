/*
 * ops_account.c - the enclave operations that create and open accounts:
 * generate_account (key from NSM randomness, data key from KMS
 * GenerateDataKey with Recipient, sealed per design §5) and the shared
 * open path of every sign_* operation (KMS Decrypt with Recipient, open the
 * seal, check the address).  Schemas: docs/protocol.md.
 *
 * Trust boundary: private keys and data keys exist only here, in locked
 * memory (struct nw_secret), and are wiped before returning.  The account
 * record comes from the untrusted host: KMS's encryption context and the
 * seal's AAD (name, address, KMS key id, policy digest) bind it, so any
 * field swapped between accounts fails to open.
 */
#include "enclave_internal.h"

#include <stdlib.h>
#include <string.h>

#include "nitrowallet/account_proof.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/dkcache.h"
#include "nitrowallet/json.h"

#define KEY_DRAWS 8

static const char *const generate_keys[] = {"name", "kms_key_id", "policy", "credentials", "proof_nonce", NULL};
static const char *const prove_keys[] = {"account", "credentials", "nonce", NULL};

#define PROOF_NONCE_MAX 64
#define PROOF_DOC_MAX (64u * 1024u)

/* The data-key cache id of an account: everything KMS judged when it
 * released the key (key id, CiphertextBlob, encryption context) and the
 * credentials it accepted, so a request with other credentials misses and
 * is judged by KMS again. */
static void cache_id(uint8_t id[NW_DKCACHE_ID_LEN], const struct nw_enclave_account *a, const uint8_t *blob,
                     size_t blob_len, const struct nw_kms_kv kv[2], const struct nw_aws_credentials *creds,
                     const uint8_t *sealed, size_t sealed_len)
{
    const char *token = creds->session_token ? creds->session_token : "";
    const struct nw_dkcache_part parts[] = {
        {a->kms_key_id, strlen(a->kms_key_id)},
        {blob, blob_len},
        {kv[0].key, strlen(kv[0].key)},
        {kv[0].value, strlen(kv[0].value)},
        {kv[1].key, strlen(kv[1].key)},
        {kv[1].value, strlen(kv[1].value)},
        {creds->access_key_id, strlen(creds->access_key_id)},
        {creds->secret_access_key, strlen(creds->secret_access_key)},
        {token, strlen(token)},
        {sealed, sealed_len},
    };
    nw_dkcache_id(id, parts, sizeof parts / sizeof parts[0]);
}

/* The account's KMS key must be one the enclave's image names, checked
 * before any KMS call or cache lookup (enclave.h, struct nw_enclave_kms_keys). */
static enum nw_err check_key_allowed(const struct nw_enclave_ops *ops, const struct nw_enclave_account *a,
                                     struct nw_error *err)
{
    if (nw_enclave_key_allowed(ops->keys, a->kms_key_id, a->kms_key_id_len))
        return NW_OK;
    return nw_fail(err, NW_ERR_POLICY_DENIED, "kms_key_id: not one of this enclave's KMS keys (its --kms-key-arn, "
                   "listed by health); nothing was sent to KMS");
}

/* A private key from NSM randomness, redrawing out-of-range entropy. */
static enum nw_err key_from_nsm(struct nw_nsm *nsm, struct nw_secret *sk, struct nw_error *err)
{
    struct nw_secret entropy = {0};
    enum nw_err rc = nw_secret_alloc(&entropy, 32);

    if (rc != NW_OK)
        return nw_fail(err, rc, "generate_account: cannot allocate locked memory");
    rc = NW_ERR_KEY_INVALID;
    for (int i = 0; i < KEY_DRAWS && rc == NW_ERR_KEY_INVALID; i++) {
        NW_GUARD(nw_nsm_get_random(nsm, entropy.data, 32, err));
        rc = nw_key_from_entropy(sk, entropy.data);
    }
    if (rc != NW_OK)
        rc = nw_fail(err, rc == NW_ERR_KEY_INVALID ? NW_ERR_RANDOM : rc, "generate_account: no valid key drawn");
out:
    nw_secret_free(&entropy);
    return rc;
}

static enum nw_err add_base64(cJSON *obj, const char *key, const uint8_t *p, size_t len)
{
    char *s = malloc(NW_BASE64_SIZE(len));
    enum nw_err rc = NW_ERR_NOMEM;

    if (s == NULL)
        return rc;
    if (nw_base64_encode(s, NW_BASE64_SIZE(len), p, len) == NW_OK && cJSON_AddStringToObject(obj, key, s) != NULL)
        rc = NW_OK;
    free(s);
    return rc;
}

/* KMS must agree to Decrypt what it just generated before the account
 * exists: with a key policy that allows GenerateDataKey but not Decrypt the
 * account would sign from the cache for a while and then never again,
 * stranding whatever was sent to it.  The key it returns must be the one
 * sealed with. */
static enum nw_err confirm_decrypt(struct nw_enclave_ops *ops, const struct nw_aws_credentials *creds,
                                   const struct nw_enclave_account *a, const struct nw_buf *blob,
                                   const struct nw_kms_kv kv[2], const struct nw_secret *dk, struct nw_error *err)
{
    struct nw_secret back = {0};
    enum nw_err rc = nw_kms_decrypt(ops->kms, creds, a->kms_key_id, blob->data, blob->len, kv, 2, &back, err);

    if (rc != NW_OK) {
        nw_error_prefix(err, "generate_account: KMS will not Decrypt the new data key, so no account was created "
                        "(the key policy must allow kms:Decrypt for the enclave, as it does GenerateDataKey)");
    } else if (back.len != dk->len || !nw_ct_equal(back.data, dk->data, dk->len)) {
        rc = nw_fail(err, NW_ERR_KMS_DENIED, "generate_account: KMS decrypted the new data key to another key; no "
                     "account was created");
    }
    nw_secret_free(&back);
    return rc;
}

/* On success `policy` belongs to `result`. */
static enum nw_err generate_result(cJSON *result, const struct nw_enclave_account *a, const uint8_t pub[65],
                                   const struct nw_buf *sealed, const struct nw_buf *blob, cJSON *policy)
{
    enum nw_err rc = NW_ERR_NOMEM;

    if (cJSON_AddStringToObject(result, "address", a->address_str) == NULL)
        goto out;
    NW_GUARD(nw_enclave_add_hex(result, "public_key", pub, 65));
    NW_GUARD(add_base64(result, "encrypted_private_key", sealed->data, sealed->len));
    NW_GUARD(add_base64(result, "encrypted_data_key", blob->data, blob->len));
    NW_GUARD(nw_enclave_add_hex(result, "policy_digest", a->policy.digest, 32));
    rc = cJSON_AddItemToObject(result, "policy", policy) ? NW_OK : NW_ERR_NOMEM;
out:
    return rc;
}

/* params.<field>: "0x" and 1..64 bytes, the client's nonce for a proof. */
static enum nw_err proof_nonce(uint8_t nonce[PROOF_NONCE_MAX], size_t *len, const cJSON *item, const char *field,
                               struct nw_error *err)
{
    enum nw_err rc = nw_enclave_hex_param(nonce, PROOF_NONCE_MAX, len, item, field, err);

    /* not a string: nw_json_string's message; a string that is not 1..64 bytes of hex: this one */
    if ((rc == NW_ERR_BAD_REQUEST && cJSON_IsString(item)) || (rc == NW_OK && *len == 0))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "%s: \"0x\" and 1..%d bytes of hex", field, PROOF_NONCE_MAX);
    return rc;
}

/* result.proof: an attestation document whose user_data binds the opened
 * (or just created) account, with the client's nonce (account_proof.h). */
static enum nw_err add_proof(struct nw_enclave_ops *ops, cJSON *result, const struct nw_enclave_account *a,
                             const uint8_t *nonce, size_t nonce_len, struct nw_error *err)
{
    struct nw_account_claim claim = {.name = a->name, .kms_key_id = a->kms_key_id};
    uint8_t user[32];
    struct nw_buf doc;
    cJSON *proof;
    char *b64 = NULL;
    enum nw_err rc;

    memcpy(claim.address, a->address, 20);
    memcpy(claim.policy_digest, a->policy.digest, 32);
    nw_account_proof_user_data(user, &claim);
    nw_buf_init(&doc, PROOF_DOC_MAX);
    NW_GUARD(nw_nsm_attest(ops->nsm, &doc, user, sizeof user, nonce, nonce_len, NULL, 0, err));
    rc = NW_ERR_NOMEM;
    if ((b64 = malloc(NW_BASE64_SIZE(doc.len))) == NULL ||
        nw_base64_encode(b64, NW_BASE64_SIZE(doc.len), doc.data, doc.len) != NW_OK ||
        (proof = cJSON_AddObjectToObject(result, "proof")) == NULL ||
        cJSON_AddStringToObject(proof, "document", b64) == NULL) {
        rc = nw_fail(err, NW_ERR_NOMEM, "out of memory building the proof");
        goto out;
    }
    NW_GUARD(nw_enclave_add_hex(proof, "user_data", user, sizeof user));
    rc = NW_OK;
out:
    free(b64);
    nw_buf_free(&doc);
    return rc;
}

enum nw_err nw_enclave_op_prove_account(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                        struct nw_error *err)
{
    struct nw_enclave_account a;
    struct nw_secret sk = {0};
    uint8_t nonce[PROOF_NONCE_MAX];
    size_t nonce_len = 0;
    enum nw_err rc;

    memset(&a, 0, sizeof a);
    NW_GUARD(nw_json_check_keys(params, prove_keys, "params", err));
    NW_GUARD(proof_nonce(nonce, &nonce_len, nw_json_get(params, "nonce"), "nonce", err));
    /* Opening proves the seal (and so the policy) and the KMS key; the key
     * itself is not used. */
    NW_GUARD(nw_enclave_open_account(ops, params, &a, &sk, err));
    nw_secret_free(&sk);
    rc = add_proof(ops, result, &a, nonce, nonce_len, err);
    if (rc == NW_OK && (cJSON_AddStringToObject(result, "address", a.address_str) == NULL ||
                        nw_enclave_add_hex(result, "policy_digest", a.policy.digest, 32) != NW_OK))
        rc = nw_fail(err, NW_ERR_NOMEM, "out of memory building the result");
out:
    nw_secret_free(&sk);
    nw_enclave_account_free(&a);
    return rc;
}

enum nw_err nw_enclave_op_generate_account(struct nw_enclave_ops *ops, const cJSON *params, cJSON *result,
                                           struct nw_error *err)
{
    struct nw_enclave_account a;
    struct nw_aws_credentials creds;
    struct nw_secret sk = {0}, dk = {0};
    struct nw_buf blob, sealed;
    struct nw_seal_context sctx;
    struct nw_kms_kv kv[2];
    uint8_t pub[65], nonce[PROOF_NONCE_MAX];
    size_t nonce_len = 0;
    cJSON *policy = NULL;
    enum nw_err rc;

    memset(&a, 0, sizeof a);
    nw_buf_init(&blob, NW_ENCLAVE_MAX_DATA_KEY_BLOB);
    nw_buf_init(&sealed, NW_ENCLAVE_MAX_SEALED);
    NW_GUARD(nw_json_check_keys(params, generate_keys, "params", err));
    NW_GUARD(nw_enclave_parse_name(&a.name, &a.name_len, nw_json_get(params, "name"), err));
    NW_GUARD(nw_enclave_parse_key_id(&a.kms_key_id, &a.kms_key_id_len, nw_json_get(params, "kms_key_id"), err));
    NW_GUARD(check_key_allowed(ops, &a, err));
    /* an account without a policy gets the default (docs/policy.md) */
    NW_GUARD(nw_enclave_parse_policy(&a.policy, nw_json_get(params, "policy"), 1, err));
    NW_GUARD(nw_enclave_policy_json(&policy, &a.policy, err));
    NW_GUARD(nw_enclave_parse_credentials(&creds, nw_json_get(params, "credentials"), err));
    if (nw_json_get(params, "proof_nonce") != NULL)
        NW_GUARD(proof_nonce(nonce, &nonce_len, nw_json_get(params, "proof_nonce"), "proof_nonce", err));
    /* The address is part of the encryption context, so the key comes first. */
    NW_GUARD(key_from_nsm(ops->nsm, &sk, err));
    rc = nw_key_pubkey(pub, sk.data);
    if (rc != NW_OK) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "generate_account: public key derivation failed");
        goto out;
    }
    nw_address_from_pubkey(a.address, pub);
    nw_address_to_checksum(a.address_str, a.address);
    nw_enclave_kms_context(kv, &a);
    NW_GUARD(nw_kms_generate_data_key(ops->kms, &creds, a.kms_key_id, kv, 2, &dk, &blob, err));
    nw_enclave_seal_context(&sctx, &a);
    NW_GUARD(nw_seal_key(&sealed, &dk, &sctx, sk.data, err));
    NW_GUARD(confirm_decrypt(ops, &creds, &a, &blob, kv, &dk, err));
    if (ops->dkcache != NULL && dk.len == NW_DKCACHE_KEY_LEN) {
        uint8_t id[NW_DKCACHE_ID_LEN];
        cache_id(id, &a, blob.data, blob.len, kv, &creds, sealed.data, sealed.len);
        nw_dkcache_put(ops->dkcache, id, dk.data);
    }
    rc = generate_result(result, &a, pub, &sealed, &blob, policy);
    if (rc == NW_OK)
        policy = NULL;
    else
        rc = nw_fail(err, rc, "generate_account: out of memory");
    /* a proof only when asked for (one more NSM attestation) */
    if (rc == NW_OK && nonce_len > 0)
        rc = add_proof(ops, result, &a, nonce, nonce_len, err);
out:
    cJSON_Delete(policy);
    nw_enclave_account_free(&a);
    nw_secret_free(&sk);
    nw_secret_free(&dk);
    nw_buf_free(&blob);
    nw_buf_free(&sealed);
    return rc;
}

enum nw_err nw_enclave_open_account(struct nw_enclave_ops *ops, const cJSON *params, struct nw_enclave_account *a,
                                    struct nw_secret *sk, struct nw_error *err)
{
    struct nw_aws_credentials creds;
    struct nw_secret dk = {0};
    struct nw_seal_context sctx;
    struct nw_kms_kv kv[2];
    uint8_t addr[NW_ADDRESS_LEN], id[NW_DKCACHE_ID_LEN];
    int cached = 0;
    enum nw_err rc;

    NW_GUARD(nw_enclave_parse_account(a, nw_json_get(params, "account"), err));
    NW_GUARD(check_key_allowed(ops, a, err));
    NW_GUARD(nw_enclave_parse_credentials(&creds, nw_json_get(params, "credentials"), err));
    nw_enclave_kms_context(kv, a);
    cache_id(id, a, a->data_key_blob, a->data_key_blob_len, kv, &creds, a->sealed, a->sealed_len);
    if (ops->dkcache != NULL && (rc = nw_secret_alloc(&dk, NW_DKCACHE_KEY_LEN)) != NW_OK)
        return nw_fail(err, rc, "account: cannot allocate locked memory");
    if (ops->dkcache != NULL && nw_dkcache_get(ops->dkcache, id, dk.data)) {
        cached = 1;
        rc = NW_OK;
    } else {
        nw_secret_free(&dk);
        rc = nw_kms_decrypt(ops->kms, &creds, a->kms_key_id, a->data_key_blob, a->data_key_blob_len, kv, 2, &dk,
                            err);
    }
    /* KMS authenticates the blob against the encryption context: a blob that
     * fails there belongs to another account (or is damaged), like a seal. */
    if (rc == NW_ERR_KMS_DENIED && strstr(err->msg, "InvalidCiphertextException") != NULL)
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "account: the encrypted data key does not open for this account "
                     "(KMS: InvalidCiphertextException)");
    /* The enclave always names the account's own key: a blob under another
     * key means the record's KeyId and data key do not belong together. */
    else if (rc == NW_ERR_KMS_DENIED && strstr(err->msg, "IncorrectKeyException") != NULL)
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "account: the encrypted data key was not made under the account's "
                     "KMS key (KMS: IncorrectKeyException)");
    if (rc != NW_OK)
        goto out;
    if (dk.len != NW_SEAL_KEY_LEN) {
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "account: the data key is not %d bytes", NW_SEAL_KEY_LEN);
        goto out;
    }
    nw_enclave_seal_context(&sctx, a);
    rc = nw_seal_open_key(sk, &dk, &sctx, a->sealed, a->sealed_len, err);
    if (rc != NW_OK) {
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "account: the sealed key does not open for this account");
        goto out;
    }
    /* A cache hit means this exact sealed key (the id binds it) opened to
     * this address when the entry was made: the check is not repeated. */
    if (!cached && (nw_key_address(addr, sk->data) != NW_OK || !nw_ct_equal(addr, a->address, sizeof addr))) {
        rc = nw_fail(err, NW_ERR_SEAL_INVALID, "account: the sealed key is not the account's address");
        goto out;
    }
    /* only a key that opened this account's seal is remembered */
    if (!cached && ops->dkcache != NULL)
        nw_dkcache_put(ops->dkcache, id, dk.data);
out:
    nw_secret_free(&dk);
    if (rc != NW_OK)
        nw_secret_free(sk);
    return rc;
}
