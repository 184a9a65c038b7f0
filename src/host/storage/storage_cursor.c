/*
 * storage_cursor.c - the pagination cursors every storage backend hands out
 * (storage_cursor.h), so a cursor means the same on SQLite and DynamoDB.
 * Cursors come back from API clients: decoding is strict and bounded.
 */
#include "storage_cursor.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nitrowallet/hex.h"

/* "n" + lowercase hex of the name: the last name of the previous page. */
enum nw_err nw_storage_account_cursor_decode(char name[NW_STORAGE_NAME_MAX + 1], const char *cursor, struct nw_error *err)
{
    size_t len = strlen(cursor), n = 0;

    if (len < 3 || len > 1 + 2 * NW_STORAGE_NAME_MAX || cursor[0] != 'n' || len % 2 == 0)
        goto bad;
    for (size_t i = 1; i < len; i += 2) {
        int hi = nw_hex_digit(cursor[i]), lo = nw_hex_digit(cursor[i + 1]);
        /* only the canonical (lowercase) form this code hands out */
        if (hi < 0 || lo < 0 || (cursor[i] >= 'A' && cursor[i] <= 'F') || (cursor[i + 1] >= 'A' && cursor[i + 1] <= 'F'))
            goto bad;
        if ((hi | lo) == 0) /* a NUL would end the name early: "n686f00" is not "ho" */
            goto bad;
        name[n++] = (char)(hi << 4 | lo);
    }
    name[n] = '\0';
    if (nw_storage_name_valid(name))
        return NW_OK;
bad:
    return nw_fail(err, NW_ERR_BAD_REQUEST, "cursor: not a cursor of this account list");
}

void nw_storage_account_cursor_encode(char out[NW_STORAGE_CURSOR_MAX + 1], const char *name)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;

    out[n++] = 'n';
    for (size_t i = 0; name[i] != '\0' && n + 2 < NW_STORAGE_CURSOR_MAX; i++) {
        out[n++] = digits[(unsigned char)name[i] >> 4];
        out[n++] = digits[(unsigned char)name[i] & 15];
    }
    out[n] = '\0';
}

/* "q" + decimal Seq (1..2^63-1, no leading zero) of the last row shown. */
enum nw_err nw_storage_seq_cursor_decode(long long *before, const char *cursor, struct nw_error *err)
{
    size_t len = strlen(cursor);
    unsigned long long v = 0;

    if (len < 2 || len > 20 || cursor[0] != 'q' || cursor[1] == '0')
        goto bad;
    for (size_t i = 1; i < len; i++) {
        if (cursor[i] < '0' || cursor[i] > '9' || v > ((unsigned long long)INT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (unsigned)(cursor[i] - '0');
    }
    *before = (long long)v;
    return NW_OK;
bad:
    return nw_fail(err, NW_ERR_BAD_REQUEST, "cursor: not a cursor of this audit trail");
}

void nw_storage_seq_cursor_encode(char out[NW_STORAGE_CURSOR_MAX + 1], long long seq)
{
    snprintf(out, NW_STORAGE_CURSOR_MAX + 1, "q%lld", seq);
}
