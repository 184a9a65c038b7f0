/*
 * fuzz_nsm_response.c - libFuzzer target for the NSM message decoders
 * (src/attest/nsm_codec.c): the reply decoder, which reads what /dev/nsm
 * returns, and the request decoder, which the emulated NSM runs.
 *
 * Properties checked on every input:
 *   - a decoded reply's byte string lies inside the input, and its kind is
 *     one of the four nitrowallet asks for;
 *   - re-encoding an accepted reply and decoding that again gives the same
 *     reply (kind, bytes, lock, error code), and nw_nsm_response_expect
 *     accepts exactly the matching kind;
 *   - the same for requests, with their three optional byte strings within
 *     the NSM's 1024-byte bound;
 *   - inputs over the 12 KiB reply bound are refused with NW_ERR_TOO_LARGE.
 * Any disagreement aborts.  Built with -fsanitize=fuzzer for `make fuzz`,
 * and with fuzz/replay_main.c to replay the seed corpus in `make test`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/nsm.h"
#include "nitrowallet/nsm_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p != NULL && p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static int same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (a == NULL || b == NULL)
        return a == b && an == 0 && bn == 0;
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void check_response(const uint8_t *data, size_t size)
{
    static const enum nw_nsm_op ops[] = {NW_NSM_OP_ATTESTATION, NW_NSM_OP_GET_RANDOM, NW_NSM_OP_DESCRIBE_PCR};
    struct nw_nsm_response r, again;
    struct nw_error err;
    struct nw_buf b;
    size_t i;

    if (nw_nsm_response_decode(&r, data, size, &err) != NW_OK) {
        if (size > NW_NSM_RESPONSE_MAX && err.code != NW_ERR_TOO_LARGE)
            abort();
        return;
    }
    if (size > NW_NSM_RESPONSE_MAX)
        abort();
    if (r.op == NW_NSM_OP_ERROR) {
        if (strcmp(nw_nsm_error_name(r.error), "?") == 0)
            abort();
    } else if (!inside(r.data, r.len, data, size) || (r.op == NW_NSM_OP_DESCRIBE_PCR && r.len > NW_NSM_PCR_DATA_MAX)) {
        abort();
    }
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if ((nw_nsm_response_expect(&r, ops[i], &err) == NW_OK) != (r.op == ops[i]))
            abort();
    nw_buf_init(&b, NW_NSM_RESPONSE_MAX);
    if (nw_nsm_response_encode(&b, &r, &err) != NW_OK || b.len > size ||
        nw_nsm_response_decode(&again, b.data, b.len, &err) != NW_OK)
        abort();
    if (again.op != r.op || again.lock != r.lock || again.error != r.error ||
        (r.op != NW_NSM_OP_ERROR && !same_bytes(again.data, again.len, r.data, r.len)))
        abort();
    nw_buf_free(&b);
}

static void check_request(const uint8_t *data, size_t size)
{
    struct nw_nsm_request q, again;
    struct nw_error err;
    struct nw_buf b;

    if (nw_nsm_request_decode(&q, data, size, &err) != NW_OK)
        return;
    if (size > NW_NSM_REQUEST_MAX || q.user_data_len > NW_NSM_MAX_USER_DATA || q.nonce_len > NW_NSM_MAX_NONCE ||
        q.public_key_len > NW_NSM_MAX_PUBLIC_KEY || q.index > NW_NSM_MAX_PCR_INDEX)
        abort();
    if ((q.user_data && !inside(q.user_data, q.user_data_len, data, size)) ||
        (q.nonce && !inside(q.nonce, q.nonce_len, data, size)) ||
        (q.public_key && !inside(q.public_key, q.public_key_len, data, size)))
        abort();
    nw_buf_init(&b, NW_NSM_REQUEST_MAX);
    if (nw_nsm_request_encode(&b, &q, &err) != NW_OK || nw_nsm_request_decode(&again, b.data, b.len, &err) != NW_OK)
        abort();
    if (again.op != q.op || again.index != q.index ||
        !same_bytes(again.user_data, again.user_data_len, q.user_data, q.user_data_len) ||
        !same_bytes(again.nonce, again.nonce_len, q.nonce, q.nonce_len) ||
        !same_bytes(again.public_key, again.public_key_len, q.public_key, q.public_key_len))
        abort();
    nw_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_response(data, size);
    check_request(data, size);
    return 0;
}
