/*
 * fuzz_http_response.c - the HTTP/1.1 response parser (http_response.c)
 * over arbitrary bytes, as they would arrive from the TLS peer.  Checked:
 * it never reads out of bounds or crashes; a complete response has a
 * status 200..599, consumed <= size and a body within NW_HTTP_MAX_BODY;
 * parsing is prefix-consistent (the consumed bytes alone give the same
 * response); at EOF the parser never asks for more bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/http_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, int eof)
{
    struct nw_http_response r, again;
    int complete, complete2;
    size_t consumed, consumed2;
    enum nw_err rc;

    nw_http_response_init(&r);
    nw_http_response_init(&again);
    rc = nw_http_response_parse(&r, &complete, &consumed, data, size, eof, NULL);
    if (rc != NW_OK) {
        if (complete || (rc != NW_ERR_BAD_REQUEST && rc != NW_ERR_TOO_LARGE))
            abort();
        goto out;
    }
    if (!complete) {
        if (eof) /* at EOF the answer is complete or an error */
            abort();
        goto out;
    }
    if (r.status < 200 || r.status > 599 || consumed > size || r.body.len > NW_HTTP_MAX_BODY)
        abort();
    if (!eof) {
        rc = nw_http_response_parse(&again, &complete2, &consumed2, data, consumed, 0, NULL);
        if (rc != NW_OK || !complete2 || consumed2 != consumed || again.status != r.status ||
            again.body.len != r.body.len || (r.body.len && memcmp(again.body.data, r.body.data, r.body.len) != 0) ||
            again.keep_alive != r.keep_alive)
            abort();
    }
out:
    nw_http_response_free(&r);
    nw_http_response_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > NW_HTTP_MAX_RAW)
        return 0;
    check(data, size, 0);
    check(data, size, 1);
    return 0;
}
