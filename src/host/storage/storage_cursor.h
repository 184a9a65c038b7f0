/*
 * storage_cursor.h - pagination cursors shared by the storage backends
 * (docs/storage.md).  Not a public interface.
 *   account list   "n" + lowercase hex of the last name of the previous page
 *   audit trail    "q" + decimal Seq (1..2^63-1, no leading zero) of the last
 *                  row of the previous page
 */
#ifndef NITROWALLET_STORAGE_CURSOR_H
#define NITROWALLET_STORAGE_CURSOR_H

#include "nitrowallet/storage.h"

NW_MUST_CHECK enum nw_err nw_storage_account_cursor_decode(char name[NW_STORAGE_NAME_MAX + 1], const char *cursor,
                                                           struct nw_error *err);
void nw_storage_account_cursor_encode(char out[NW_STORAGE_CURSOR_MAX + 1], const char *name);
NW_MUST_CHECK enum nw_err nw_storage_seq_cursor_decode(long long *before, const char *cursor, struct nw_error *err);
void nw_storage_seq_cursor_encode(char out[NW_STORAGE_CURSOR_MAX + 1], long long seq);

#endif
