/*
 * cms_internal.h - what cms.c (opening), cms_key.c (the recipient key) and
 * cms_shape.c (BER shape checks) share.  Not a public header.
 */
#ifndef NITROWALLET_CMS_INTERNAL_H
#define NITROWALLET_CMS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "nitrowallet/error.h"

struct nw_rsa_recipient {
    EVP_PKEY *pkey;
    uint8_t *spki; /* DER SubjectPublicKeyInfo (OPENSSL_malloc'd) */
    size_t spki_len;
    uint8_t ski[32]; /* SHA-256(spki): the rid KMS addresses us by */
};

/*
 * What OpenSSL's decoder lets through but KMS never sends (cms_shape.c):
 * EnvelopedData and KeyTransRecipientInfo versions other than 2,
 * originatorInfo, and encrypted-content chunks not tagged OCTET STRING.
 */
NW_MUST_CHECK enum nw_err nw_cms_check_shape(const uint8_t *der, size_t len, struct nw_error *err);

#endif
