/*
 * fuzz_enclave_request.c - the enclave protocol's request parsing
 * (docs/protocol.md): the frame header, the envelope, and the params
 * parsers of every operation (account, credentials, policy), without NSM
 * or KMS.  Invariants beyond "no crash": an accepted request has an id and
 * an object params; an accepted account has a checksummed address that
 * parses back to the same bytes; error replies always serialise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/enclave/enclave_internal.h"
#include "nitrowallet/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void params(const cJSON *p)
{
    struct nw_enclave_account *a = malloc(sizeof *a);
    struct nw_aws_credentials c;
    struct nw_enclave_policy pol;
    struct nw_error err;
    const char *s;
    size_t n;
    uint8_t addr[NW_ADDRESS_LEN];

    if (a == NULL)
        return;
    if (nw_enclave_parse_account(a, nw_json_get(p, "account"), &err) == NW_OK) {
        if (nw_address_parse(addr, a->address_str, strlen(a->address_str), &err) != NW_OK ||
            memcmp(addr, a->address, sizeof addr) != 0 || a->name_len == 0 || a->sealed_len == 0)
            abort();
        nw_enclave_account_free(a);
    }
    if (nw_enclave_parse_credentials(&c, nw_json_get(p, "credentials"), &err) == NW_OK &&
        (c.access_key_id == NULL || c.secret_access_key == NULL))
        abort();
    if (nw_enclave_parse_policy(&pol, nw_json_get(p, "policy"), 1, &err) == NW_OK) {
        if (pol.rules == NULL || (!pol.legacy && memcmp(pol.digest, pol.owned.digest, 32) != 0))
            abort();
        nw_enclave_policy_free(&pol);
    }
    if (nw_enclave_parse_name(&s, &n, nw_json_get(p, "name"), &err) == NW_OK && (n == 0 || n > NW_SEAL_MAX_NAME))
        abort();
    if (nw_enclave_parse_key_id(&s, &n, nw_json_get(p, "kms_key_id"), &err) == NW_OK && n == 0)
        abort();
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nw_proto_request req;
    struct nw_error err;
    cJSON *peeked = NULL;
    struct nw_buf out;
    size_t len;

    if (size >= 4 && nw_proto_frame_length(&len, data, &err) == NW_OK && (len == 0 || len > NW_PROTO_MAX_FRAME))
        abort();
    nw_buf_init(&out, NW_PROTO_MAX_FRAME);
    if (nw_proto_request_peek_id(&peeked, data, size) != NW_OK)
        abort();
    if (nw_proto_request_parse(&req, data, size, &err) == NW_OK) {
        if (req.id == NULL || !cJSON_IsObject(req.params) || req.op[0] == '\0')
            abort();
        /* the BUSY path's id, read from the first bytes, is the id the full parse echoes */
        if (peeked != NULL) {
            struct nw_buf a, b;
            nw_buf_init(&a, NW_PROTO_MAX_FRAME);
            nw_buf_init(&b, NW_PROTO_MAX_FRAME);
            if (nw_proto_reply_error(&a, peeked, "BUSY", "m") != NW_OK ||
                nw_proto_reply_error(&b, req.id, "BUSY", "m") != NW_OK || a.len != b.len ||
                memcmp(a.data, b.data, a.len) != 0)
                abort();
            nw_buf_free(&a);
            nw_buf_free(&b);
        }
        params(req.params);
        if (nw_proto_reply_result(&out, req.id, req.params) != NW_OK)
            abort();
    } else if (nw_proto_reply_error(&out, req.id, nw_err_name(err.code), err.msg) != NW_OK) {
        abort();
    }
    nw_proto_request_free(&req);
    cJSON_Delete(peeked);
    nw_buf_free(&out);
    return 0;
}
