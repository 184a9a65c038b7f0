/*
 * fuzz_cbor.c - libFuzzer target for the bounded CBOR reader
 * (src/attest/cbor.c, RFC 8949).
 *
 * Over arbitrary input: every head nw_cbor_read accepts lies inside the
 * input, moves the cursor forward and, for strings, points its payload
 * inside the input; a refused read leaves the cursor where it was.  Each
 * accepted head re-encoded by the writer (shortest form) is never longer
 * than the input's head, and byte-identical when it is as long (the
 * writer and the reader agree).  nw_cbor_skip over the same input only
 * steps forward and stays inside it, whatever the nesting.  Any violation
 * aborts.  Built with -fsanitize=fuzzer for `make fuzz`, and with
 * fuzz/replay_main.c to replay the seed corpus in `make test`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head(const uint8_t *data, const struct nw_cbor_item *it, size_t head_len)
{
    struct nw_buf b;

    nw_buf_init(&b, 16);
    if (nw_cbor_put_head(&b, it->major, it->val) != NW_OK)
        abort();
    if (b.len > head_len || (b.len == head_len && memcmp(b.data, data + it->offset, head_len) != 0))
        abort();
    nw_buf_free(&b);
}

/* Flat walk: one head after another (contents of containers are just the
 * next heads). */
static void walk_heads(const uint8_t *data, size_t size)
{
    struct nw_cbor c;
    struct nw_cbor_item it;
    struct nw_error err;
    size_t before, head_len;

    nw_cbor_init(&c, data, size);
    while (!nw_cbor_at_end(&c)) {
        before = c.pos;
        if (nw_cbor_read(&c, &it, &err) != NW_OK) {
            if (c.pos != before)
                abort();
            return;
        }
        if (c.pos <= before || c.pos > size || it.offset != before)
            abort();
        head_len = c.pos - before;
        if (it.major == NW_CBOR_BYTES || it.major == NW_CBOR_TEXT) {
            if (it.data < data || it.val > size || it.data + it.val != data + c.pos)
                abort();
            head_len -= (size_t)it.val;
        }
        if ((it.major == NW_CBOR_ARRAY && it.val > size - c.pos) ||
            (it.major == NW_CBOR_MAP && it.val > (size - c.pos) / 2))
            abort();
        check_head(data, &it, head_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nw_cbor c;
    struct nw_error err;
    size_t before;

    walk_heads(data, size);
    nw_cbor_init(&c, data, size);
    while (!nw_cbor_at_end(&c)) {
        before = c.pos;
        if (nw_cbor_skip(&c, &err) != NW_OK)
            break;
        if (c.pos <= before || c.pos > size)
            abort();
    }
    return 0;
}
