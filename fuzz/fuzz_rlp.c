/*
 * fuzz_rlp.c - libFuzzer target for the RLP decoder (src/encoding/rlp.c).
 *
 * The decoder accepts canonical RLP only (Yellow Paper appendix B plus the
 * canonical-form rules of rlp.h), so every accepted input has exactly one
 * encoding: re-encoding the decoded tree with the encoder must give back the
 * input byte for byte.  Each byte string that nw_rlp_item_uint accepts must
 * also re-encode through nw_rlp_put_uint to the same bytes, and it must be
 * accepted exactly when it is a canonical integer of at most 32 bytes; and
 * nw_rlp_next, run over the raw input, must only ever step forward inside
 * it.  Any disagreement aborts.  Built with -fsanitize=fuzzer for `make fuzz`, and
 * with fuzz/replay_main.c to replay the seed corpus in `make test`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/rlp.h"
#include "nitrowallet/u256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (1u << 24)

static void check_uint(const struct nw_rlp_item *item)
{
    struct nw_error err;
    struct nw_buf a, b;
    struct nw_u256 x;
    int canonical = item->len <= 32 && (item->len == 0 || item->payload[0] != 0);

    if ((nw_rlp_item_uint(&x, item, &err) == NW_OK) != canonical)
        abort();
    if (!canonical)
        return;
    nw_buf_init(&a, OUT_MAX);
    nw_buf_init(&b, OUT_MAX);
    if (nw_rlp_put_uint(&a, &x) != NW_OK || nw_rlp_put_bytes(&b, item->payload, item->len) != NW_OK)
        abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    nw_buf_free(&a);
    nw_buf_free(&b);
}

/* Re-encode `item` into `out`; `depth` guards the recursion should the
 * decoder ever let a deeper tree through. */
static void reencode(struct nw_buf *out, const struct nw_rlp_item *item, unsigned depth)
{
    struct nw_rlp_item child;
    struct nw_error err;
    struct nw_buf inner;
    size_t pos = 0;

    if (!item->is_list) {
        check_uint(item);
        if (nw_rlp_put_bytes(out, item->payload, item->len) != NW_OK)
            abort();
        return;
    }
    if (depth > NW_RLP_MAX_DEPTH)
        abort();
    nw_buf_init(&inner, OUT_MAX);
    while (pos < item->len) {
        /* A validated list must split into items without error. */
        if (nw_rlp_next(&child, item->payload, item->len, &pos, &err) != NW_OK)
            abort();
        reencode(&inner, &child, depth + 1);
    }
    if (nw_rlp_put_list(out, inner.data, inner.len) != NW_OK)
        abort();
    nw_buf_free(&inner);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nw_rlp_item item;
    struct nw_error err;
    struct nw_buf out;
    size_t pos = 0, before;

    /* Item headers one after another: each accepted one moves forward and
     * stays inside the input. */
    while (pos < size) {
        before = pos;
        if (nw_rlp_next(&item, data, size, &pos, &err) != NW_OK)
            break;
        if (pos <= before || pos > size || item.payload < data || item.len > size)
            abort();
    }

    if (nw_rlp_decode(&item, data, size, &err) != NW_OK)
        return 0;
    nw_buf_init(&out, OUT_MAX);
    reencode(&out, &item, 1);
    if (out.len != size || memcmp(out.data, data, size) != 0)
        abort();
    nw_buf_free(&out);
    return 0;
}
