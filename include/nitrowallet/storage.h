/*
 * storage.h - the host's one storage interface: accounts, the signing audit
 * trail and idempotency records.
 *
 * The host is not trusted with keys (design section 3): everything stored
 * here is ciphertext (EncryptedPrivateKey, EncryptedDataKey) or public data.
 * A backend implements `struct nw_storage_ops`; SQLite (storage_sqlite.c) is
 * the default and DynamoDB follows.  Callers use the nw_storage_* dispatch
 * functions, which validate every record against the bounds below before a
 * backend sees it (refuse, never truncate), so backends may rely on them.
 * Item shapes and table layouts are in docs/storage.md.
 *
 * Every write returns only once it is durable (SQLite: committed with
 * synchronous=FULL).  All functions are safe to call from several threads on
 * one handle.  Strings are NUL-terminated UTF-8.  Records read back are
 * owned by the caller and released with the matching clear or free call.
 */
#ifndef NITROWALLET_STORAGE_H
#define NITROWALLET_STORAGE_H

#include <stddef.h>

#include "nitrowallet/error.h"

/* Bounds, in bytes excluding the NUL.  Writes beyond them are refused. */
#define NW_STORAGE_NAME_MAX 64         /* [A-Za-z0-9._-], 1..64, not starting with '.' */
#define NW_STORAGE_KMS_KEY_ID_MAX 2048 /* KMS KeyId, ARN or alias, printable ASCII */
#define NW_STORAGE_ADDRESS_LEN 42      /* "0x" + 40 hex, EIP-55 checksum form */
#define NW_STORAGE_B64_MAX 8192        /* EncryptedPrivateKey / EncryptedDataKey, base64 */
#define NW_STORAGE_POLICY_MAX 65536    /* policy JSON object (the enclave bounds its canonical text to 64 KiB) */
#define NW_STORAGE_DIGEST_LEN 66       /* "0x" + 64 lowercase hex */
#define NW_STORAGE_TIME_LEN 24         /* "2026-11-21T09:30:00.123Z" (RFC 3339, UTC, ms) */
#define NW_STORAGE_KIND_MAX 16
#define NW_STORAGE_TRANSACTION_MAX 65536 /* request payload JSON */
#define NW_STORAGE_SIGNED_MAX 262144     /* "0x" + hex of raw tx or signature */
#define NW_STORAGE_TX_HASH_LEN 66        /* "0x" + 64 hex, or empty */
#define NW_STORAGE_REQUEST_ID_MAX 128    /* printable ASCII */
#define NW_STORAGE_IDEM_KEY_MAX 255      /* printable ASCII */
#define NW_STORAGE_FINGERPRINT_MAX 128   /* printable ASCII (the API uses SHA-256 hex) */
#define NW_STORAGE_RESPONSE_MAX 262144   /* stored response body */
#define NW_STORAGE_CURSOR_MAX 256        /* opaque pagination cursor, printable ASCII */
#define NW_STORAGE_PAGE_MAX 100          /* largest page a list call returns */

/*
 * An AccountTable item.  On writes the strings are borrowed; on reads each
 * is a heap string owned by the record (nw_account_record_clear).
 */
struct nw_account_record {
    char *name;
    char *kms_key_id;
    char *address;               /* EIP-55 checksummed "0x..." */
    char *encrypted_private_key; /* base64 (design section 5) */
    char *encrypted_data_key;    /* base64 of KMS CiphertextBlob */
    char *policy;                /* JSON object text, e.g. {"allow_digest":false} */
    char *policy_digest;         /* "0x" + 64 lowercase hex */
    char *created_at;            /* NW_STORAGE_TIME_LEN form (nw_storage_timestamp) */
};

/* A SignedValueTable item.  Seq is assigned by the backend on write. */
struct nw_signed_value_record {
    long long seq; /* > 0 on reads; ignored on writes */
    char *name;
    char *kind;         /* "transaction" | "message" | "typed_data" | "digest" */
    char *transaction;  /* the request payload, JSON text */
    char *signed_value; /* "0x" raw signed transaction or 65-byte signature */
    char *tx_hash;      /* "0x" + 64 hex for transactions, "" otherwise */
    char *created_at;
    char *request_id;
};

/* An IdempotencyTable item: the first response to a request, replayed on retries. */
struct nw_idempotency_record {
    char *key;         /* the API scopes it (e.g. "<token id>:<Idempotency-Key>") */
    char *fingerprint; /* of the request; a retry with another fingerprint is refused */
    int status;        /* HTTP status of the stored response, 100..599 */
    char *response;    /* response body */
    char *created_at;
};

/* One page of a list.  next_cursor is "" when there are no more items. */
struct nw_account_page {
    struct nw_account_record *items;
    size_t count;
    char next_cursor[NW_STORAGE_CURSOR_MAX + 1];
};

struct nw_signed_value_page {
    struct nw_signed_value_record *items;
    size_t count;
    char next_cursor[NW_STORAGE_CURSOR_MAX + 1];
};

struct nw_storage;

/*
 * A backend.  Inputs reaching these have been validated.  Conditional
 * writes report an existing item through *exists (1) with NW_OK, and store
 * nothing; reads report absence through *found (0) with NW_OK.
 */
struct nw_storage_ops {
    const char *name; /* "sqlite", "dynamodb" */
    enum nw_err (*create_account)(struct nw_storage *st, const struct nw_account_record *rec, int *exists,
                                  struct nw_error *err);
    enum nw_err (*get_account)(struct nw_storage *st, const char *name, struct nw_account_record *out, int *found,
                               struct nw_error *err);
    enum nw_err (*list_accounts)(struct nw_storage *st, size_t limit, const char *cursor, struct nw_account_page *out,
                                 struct nw_error *err);
    enum nw_err (*record_signed_value)(struct nw_storage *st, const struct nw_signed_value_record *rec,
                                       struct nw_error *err);
    enum nw_err (*list_signed_values)(struct nw_storage *st, const char *name, size_t limit, const char *cursor,
                                      struct nw_signed_value_page *out, struct nw_error *err);
    enum nw_err (*idempotency_get)(struct nw_storage *st, const char *key, struct nw_idempotency_record *out,
                                   int *found, struct nw_error *err);
    enum nw_err (*idempotency_put)(struct nw_storage *st, const struct nw_idempotency_record *rec, int *exists,
                                   struct nw_error *err);
    void (*close)(struct nw_storage *st);
};

/* Every backend handle starts with this. */
struct nw_storage {
    const struct nw_storage_ops *ops;
};

/*
 * Store a new account.  If an account of that name exists, *exists is set
 * to 1, nothing is written and NW_OK is returned (the API answers 409).
 */
NW_MUST_CHECK enum nw_err nw_storage_create_account(struct nw_storage *st, const struct nw_account_record *rec,
                                                    int *exists, struct nw_error *err);

/* Read one account; *found is 0 (and `out` empty) when there is none. */
NW_MUST_CHECK enum nw_err nw_storage_get_account(struct nw_storage *st, const char *name, struct nw_account_record *out,
                                                 int *found, struct nw_error *err);

/*
 * Accounts in ascending order of name, at most `limit` (1..NW_STORAGE_PAGE_MAX)
 * per page.  `cursor` is NULL or "" for the first page, else a next_cursor
 * from a previous page of the same backend (anything else is BAD_REQUEST).
 */
NW_MUST_CHECK enum nw_err nw_storage_list_accounts(struct nw_storage *st, size_t limit, const char *cursor,
                                                   struct nw_account_page *out, struct nw_error *err);

/*
 * Append to the audit trail.  Returns NW_OK only once the record is durable;
 * the caller must not return the signature otherwise.  An unknown account
 * name is refused (BAD_REQUEST) by backends that can check it (SQLite).
 */
NW_MUST_CHECK enum nw_err
nw_storage_record_signed_value(struct nw_storage *st, const struct nw_signed_value_record *rec, struct nw_error *err);

/* The audit trail of one account, newest first, paginated as accounts are. */
NW_MUST_CHECK enum nw_err nw_storage_list_signed_values(struct nw_storage *st, const char *name, size_t limit,
                                                        const char *cursor, struct nw_signed_value_page *out,
                                                        struct nw_error *err);

/* The stored response for an idempotency key; *found is 0 when there is none. */
NW_MUST_CHECK enum nw_err nw_storage_idempotency_get(struct nw_storage *st, const char *key,
                                                     struct nw_idempotency_record *out, int *found,
                                                     struct nw_error *err);

/*
 * Store the first response for a key.  If the key exists, *exists is 1 and
 * the stored record is kept (the caller then reads it and replays it, or
 * refuses when the fingerprints differ).
 */
NW_MUST_CHECK enum nw_err nw_storage_idempotency_put(struct nw_storage *st, const struct nw_idempotency_record *rec,
                                                     int *exists, struct nw_error *err);

/* Close the backend and free the handle.  NULL is ignored. */
void nw_storage_close(struct nw_storage *st);

/* Release what a read put into a record or page (safe on zeroed ones). */
void nw_account_record_clear(struct nw_account_record *rec);
void nw_signed_value_record_clear(struct nw_signed_value_record *rec);
void nw_idempotency_record_clear(struct nw_idempotency_record *rec);
void nw_account_page_free(struct nw_account_page *page);
void nw_signed_value_page_free(struct nw_signed_value_page *page);

/* The current time in the form records use, "YYYY-MM-DDTHH:MM:SS.mmmZ". */
NW_MUST_CHECK enum nw_err nw_storage_timestamp(char out[NW_STORAGE_TIME_LEN + 1], struct nw_error *err);

/* 1 if `name` is a valid account name (NUL-terminated), 0 otherwise. */
int nw_storage_name_valid(const char *name);

/* Validation used by the dispatch functions (exposed for the API and tests). */
NW_MUST_CHECK enum nw_err nw_storage_check_account(const struct nw_account_record *rec, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_storage_check_signed_value(const struct nw_signed_value_record *rec, struct nw_error *err);
NW_MUST_CHECK enum nw_err nw_storage_check_idempotency(const struct nw_idempotency_record *rec, struct nw_error *err);

/*
 * Open (creating if needed, mode 0600) the SQLite database at `path`, in WAL
 * mode with synchronous=FULL, and migrate its schema to the current version.
 * A database with a newer schema version than this build knows is refused.
 */
NW_MUST_CHECK enum nw_err nw_storage_sqlite_open(struct nw_storage **out, const char *path, struct nw_error *err);

struct nw_credentials_provider; /* enclave_pool.h */

/* DynamoDB backend (storage_dynamodb*.c, docs/storage.md). */
#define NW_DYNAMODB_PREFIX_MAX 200   /* table names are prefix + "AccountTable" etc., at most 255 */
#define NW_DYNAMODB_ENDPOINT_MAX 512
#define NW_DYNAMODB_REGION_MAX 32
#define NW_DYNAMODB_MAX_ATTEMPTS 8   /* per request: 1 + 7 retries */
#define NW_DYNAMODB_BACKOFF_BASE_MS 25
#define NW_DYNAMODB_BACKOFF_CAP_MS 1000

struct nw_dynamodb_config {
    const char *region;       /* required: the SigV4 region and the default endpoint's */
    const char *endpoint;     /* NULL = https://dynamodb.<region>.amazonaws.com; else http(s)://host[:port] */
    const char *table_prefix; /* NULL = "" */
    int create_tables;        /* create missing tables (on-demand capacity) instead of failing */
    const struct nw_credentials_provider *credentials; /* asked before each request */
    int timeout_ms;           /* per HTTP attempt; 0 = 10000 */
};

/*
 * Open the DynamoDB backend: check that the three tables exist and are
 * ACTIVE (or create them with cfg->create_tables), else fail naming the
 * missing table.  Requests are signed with SigV4 (service "dynamodb");
 * throttling, 5xx and transport failures are retried with capped
 * exponential backoff and full jitter, at most NW_DYNAMODB_MAX_ATTEMPTS
 * attempts, then fail with NW_ERR_UNAVAILABLE.  Client errors are never
 * retried.
 */
NW_MUST_CHECK enum nw_err nw_storage_dynamodb_open(struct nw_storage **out, const struct nw_dynamodb_config *cfg,
                                                   struct nw_error *err);

#endif
