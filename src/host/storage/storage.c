/*
 * storage.c - the backend-independent half of storage.h: argument and
 * record validation before dispatch, record release, timestamps.
 *
 * Runs on the host (not trusted with keys).  Every write passes through
 * nw_storage_check_* (storage_check.c) here, so no backend ever stores an
 * unbounded or malformed item; every list call has its limit and cursor
 * bounded here.
 */
#include "nitrowallet/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum nw_err check_handle(struct nw_storage *st, struct nw_error *err)
{
    if (st == NULL || st->ops == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "storage is not open");
    return NW_OK;
}

static enum nw_err check_page_args(size_t limit, const char *cursor, struct nw_error *err)
{
    if (limit < 1 || limit > NW_STORAGE_PAGE_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "limit: expected 1..%d", NW_STORAGE_PAGE_MAX);
    if (cursor != NULL && strnlen(cursor, NW_STORAGE_CURSOR_MAX + 1) > NW_STORAGE_CURSOR_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cursor: longer than %d bytes", NW_STORAGE_CURSOR_MAX);
    return NW_OK;
}

enum nw_err nw_storage_create_account(struct nw_storage *st, const struct nw_account_record *rec, int *exists,
                                      struct nw_error *err)
{
    enum nw_err rc;

    *exists = 0;
    if ((rc = check_handle(st, err)) != NW_OK || (rc = nw_storage_check_account(rec, err)) != NW_OK)
        return rc;
    return st->ops->create_account(st, rec, exists, err);
}

enum nw_err nw_storage_get_account(struct nw_storage *st, const char *name, struct nw_account_record *out, int *found,
                                   struct nw_error *err)
{
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    *found = 0;
    if ((rc = check_handle(st, err)) != NW_OK)
        return rc;
    if (!nw_storage_name_valid(name))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "name: not a valid account name");
    return st->ops->get_account(st, name, out, found, err);
}

enum nw_err nw_storage_list_accounts(struct nw_storage *st, size_t limit, const char *cursor,
                                     struct nw_account_page *out, struct nw_error *err)
{
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_handle(st, err)) != NW_OK || (rc = check_page_args(limit, cursor, err)) != NW_OK)
        return rc;
    return st->ops->list_accounts(st, limit, cursor == NULL ? "" : cursor, out, err);
}

enum nw_err nw_storage_record_signed_value(struct nw_storage *st, const struct nw_signed_value_record *rec,
                                           struct nw_error *err)
{
    enum nw_err rc;

    if ((rc = check_handle(st, err)) != NW_OK || (rc = nw_storage_check_signed_value(rec, err)) != NW_OK)
        return rc;
    return st->ops->record_signed_value(st, rec, err);
}

enum nw_err nw_storage_list_signed_values(struct nw_storage *st, const char *name, size_t limit, const char *cursor,
                                          struct nw_signed_value_page *out, struct nw_error *err)
{
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_handle(st, err)) != NW_OK || (rc = check_page_args(limit, cursor, err)) != NW_OK)
        return rc;
    if (!nw_storage_name_valid(name))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "name: not a valid account name");
    return st->ops->list_signed_values(st, name, limit, cursor == NULL ? "" : cursor, out, err);
}

enum nw_err nw_storage_idempotency_get(struct nw_storage *st, const char *key, struct nw_idempotency_record *out,
                                       int *found, struct nw_error *err)
{
    enum nw_err rc;

    memset(out, 0, sizeof *out);
    *found = 0;
    if ((rc = check_handle(st, err)) != NW_OK)
        return rc;
    if (key == NULL || key[0] == '\0' || strnlen(key, NW_STORAGE_IDEM_KEY_MAX + 1) > NW_STORAGE_IDEM_KEY_MAX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "idempotency key: 1..%d bytes", NW_STORAGE_IDEM_KEY_MAX);
    return st->ops->idempotency_get(st, key, out, found, err);
}

enum nw_err nw_storage_idempotency_put(struct nw_storage *st, const struct nw_idempotency_record *rec, int *exists,
                                       struct nw_error *err)
{
    enum nw_err rc;

    *exists = 0;
    if ((rc = check_handle(st, err)) != NW_OK || (rc = nw_storage_check_idempotency(rec, err)) != NW_OK)
        return rc;
    return st->ops->idempotency_put(st, rec, exists, err);
}

void nw_storage_close(struct nw_storage *st)
{
    if (st != NULL && st->ops != NULL)
        st->ops->close(st);
}

void nw_account_record_clear(struct nw_account_record *rec)
{
    free(rec->name);
    free(rec->kms_key_id);
    free(rec->address);
    free(rec->encrypted_private_key);
    free(rec->encrypted_data_key);
    free(rec->policy);
    free(rec->policy_digest);
    free(rec->created_at);
    memset(rec, 0, sizeof *rec);
}

void nw_signed_value_record_clear(struct nw_signed_value_record *rec)
{
    free(rec->name);
    free(rec->kind);
    free(rec->transaction);
    free(rec->signed_value);
    free(rec->tx_hash);
    free(rec->created_at);
    free(rec->request_id);
    memset(rec, 0, sizeof *rec);
}

void nw_idempotency_record_clear(struct nw_idempotency_record *rec)
{
    free(rec->key);
    free(rec->fingerprint);
    free(rec->response);
    free(rec->created_at);
    memset(rec, 0, sizeof *rec);
}

void nw_account_page_free(struct nw_account_page *page)
{
    for (size_t i = 0; i < page->count; i++)
        nw_account_record_clear(&page->items[i]);
    free(page->items);
    memset(page, 0, sizeof *page);
}

void nw_signed_value_page_free(struct nw_signed_value_page *page)
{
    for (size_t i = 0; i < page->count; i++)
        nw_signed_value_record_clear(&page->items[i]);
    free(page->items);
    memset(page, 0, sizeof *page);
}

enum nw_err nw_storage_timestamp(char out[NW_STORAGE_TIME_LEN + 1], struct nw_error *err)
{
    struct timespec ts;
    struct tm tm;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL)
        return nw_fail(err, NW_ERR_INTERNAL, "the system clock could not be read");
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return nw_fail(err, NW_ERR_INTERNAL, "the system clock is out of range");
    /* Each field is reduced to its width so the output is exactly 24 characters. */
    snprintf(out, NW_STORAGE_TIME_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             (unsigned)(ts.tv_nsec / 1000000) % 1000u);
    return NW_OK;
}
