/*
 * fuzz_storage_cursor.c - libFuzzer target for the storage backends'
 * pagination cursors (src/host/storage/storage_cursor.c), which API clients send
 * back in `?cursor=`.
 *
 * The input is taken as text (NUL-terminated copy).  An account cursor that
 * decodes must name a valid account and re-encode to exactly the input; a
 * Seq cursor that decodes must be positive and print back as the input.
 * Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/host/storage/storage_cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), name[NW_STORAGE_NAME_MAX + 1], again[NW_STORAGE_CURSOR_MAX + 1];
    struct nw_error err = {0};
    long long seq = 0;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (nw_storage_account_cursor_decode(name, text, &err) == NW_OK) {
        if (!nw_storage_name_valid(name))
            abort();
        nw_storage_account_cursor_encode(again, name);
        if (strcmp(again, text) != 0)
            abort();
    }
    if (nw_storage_seq_cursor_decode(&seq, text, &err) == NW_OK) {
        nw_storage_seq_cursor_encode(again, seq);
        if (seq <= 0 || strcmp(again, text) != 0)
            abort();
    }
    free(text);
    return 0;
}
