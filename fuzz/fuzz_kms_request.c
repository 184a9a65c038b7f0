/*
 * fuzz_kms_request.c - nitrowallet-kms's request path without the network:
 * the HTTP/1.1 parser, then the whole service (SigV4 verification against
 * one fixed credential at a fixed time, so seeds signed for that moment
 * pass, then dispatch), then dispatch again as an authenticated caller so
 * mutated bodies reach every operation's member parsing, key references,
 * policies, blobs and Recipient documents (verified against the AWS root).
 *
 * Invariants checked: the parser's lengths stay inside the input; every
 * reply has a status and a JSON body; an error reply names its __type.
 * The service is memory-only and is rebuilt every few thousand inputs so
 * keys created by inputs do not pile up.  Seeds: fuzz/corpus/fuzz_kms_request/
 * (requests signed with botocore for 2024-09-07T14:37:40Z with AKIDEXAMPLE;
 * the Recipient seeds carry ../shared/vectors/attestation/nitro_prod.cbor).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/kms/kms_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXED_NOW 1725719860 /* 2024-09-07T14:37:40Z: nitro_prod.cbor is fresh then */
#define RESET_EVERY 4000

static struct nw_kms_service *svc;
static unsigned runs;

static void check_reply(struct nw_kms_reply *reply)
{
    if (reply->status < 200 || reply->status > 599 || reply->body.len == 0 || reply->body.data[0] != '{' ||
        reply->body.data[reply->body.len - 1] != '}')
        abort();
    if (reply->status != 200 && memmem(reply->body.data, reply->body.len, "\"__type\":\"", 10) == NULL)
        abort();
    nw_buf_free(&reply->body);
}

static void dispatch(const char *target, const uint8_t *body, size_t len)
{
    struct kms_caller caller;
    struct nw_kms_reply reply;

    kms_caller_root(&caller, svc);
    kms_reply_init(&reply);
    kms_service_dispatch(svc, &caller, target, strlen(target), body, len, (int64_t)FIXED_NOW * 1000, &reply);
    check_reply(&reply);
}

static void open_service(void)
{
    struct nw_kms_service_config cfg;
    static const char alias[] =
        "{\"AliasName\":\"alias/fuzz\",\"TargetKeyId\":\"00000000-0000-4000-8000-000000000000\"}";

    memset(&cfg, 0, sizeof cfg);
    cfg.region = "us-east-1";
    cfg.trust_aws_root = 1;
    if (nw_kms_service_open(&svc, &cfg, NULL) != NW_OK ||
        kms_auth_add(&svc->auth, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
                     "arn:aws:iam::111122223333:root", NULL) != NW_OK)
        abort();
    dispatch("TrentService.CreateKey", (const uint8_t *)"{}", 2);
    /* alias/fuzz names the first key, whatever its random id */
    {
        char body[sizeof alias];
        memcpy(body, alias, sizeof alias);
        memcpy(strstr(body, "00000000"), svc->store.keys[0]->id, KMS_KEY_ID_LEN);
        dispatch("TrentService.CreateAlias", (const uint8_t *)body, strlen(body));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nw_kms_http_request req;
    const struct nw_http_header *target;
    struct nw_kms_reply reply;
    struct nw_error err;
    int complete = 0, status = 0;
    char name[96];

    if (svc == NULL || ++runs % RESET_EVERY == 0) {
        nw_kms_service_free(svc);
        open_service();
    }
    if (nw_kms_http_parse(&req, &complete, &status, data, size, &err) != NW_OK) {
        if (status < 400 || status > 505)
            abort();
        return 0;
    }
    if (!complete)
        return 0;
    if (req.total_len > size || req.header_len > req.total_len || req.body + req.body_len > data + size)
        abort();
    nw_kms_service_handle(svc, &req, FIXED_NOW, &reply);
    check_reply(&reply);
    target = nw_kms_http_header(&req, "x-amz-target");
    if (target != NULL && target->value_len < sizeof name) {
        memcpy(name, target->value, target->value_len);
        name[target->value_len] = '\0';
        dispatch(name, req.body, req.body_len);
    }
    return 0;
}
