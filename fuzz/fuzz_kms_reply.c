/*
 * fuzz_kms_reply.c - the KMS reply reader (kms_json.c) over arbitrary
 * bodies.  The first byte picks the HTTP status, the second whether a
 * CiphertextBlob is wanted and whether an x-amzn-ErrorType header came;
 * the rest is the body.  Checked: only OK, KMS_DENIED, KMS_UNAVAILABLE or
 * NOMEM; success only for 200 with sizes in bounds; nothing appended on
 * failure; KMS_DENIED only for a 4xx; messages printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/cms.h"
#include "nitrowallet/kms_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int statuses[8] = {200, 200, 200, 400, 403, 500, 503, 201};
    struct nw_buf cfr, blob;
    struct nw_error err = {0};
    int status, want_blob;
    const char *hdr;
    enum nw_err rc;
    size_t i;

    if (size < 2 || size > NW_KMS_REPLY_MAX)
        return 0;
    status = statuses[data[0] & 7];
    want_blob = data[1] & 1;
    hdr = (data[1] & 2) ? "AccessDeniedException:http://internal.amazon.com/coral/" : "";
    nw_buf_init(&cfr, NW_CMS_MAX);
    nw_buf_init(&blob, NW_KMS_BLOB_MAX);
    rc = nw_kms_json_reply(&cfr, want_blob ? &blob : NULL, status, hdr, data + 2, size - 2, &err);
    if (rc == NW_OK) {
        if (status != 200 || cfr.len == 0 || cfr.len > NW_CMS_MAX || (want_blob && blob.len == 0) ||
            blob.len > NW_KMS_BLOB_MAX)
            abort();
    } else {
        if (rc != NW_ERR_KMS_DENIED && rc != NW_ERR_KMS_UNAVAILABLE && rc != NW_ERR_NOMEM)
            abort();
        if (rc == NW_ERR_KMS_DENIED && (status < 400 || status > 499))
            abort();
        if (cfr.len != 0 || blob.len != 0 || err.code != rc || err.msg[0] == '\0')
            abort();
        for (i = 0; err.msg[i] != '\0'; i++)
            if (err.msg[i] < 0x20 || err.msg[i] > 0x7e)
                abort();
    }
    nw_buf_free(&cfr);
    nw_buf_free(&blob);
    return 0;
}
