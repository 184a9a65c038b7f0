/*
 * message.h - EIP-191 version 0x45 ("personal_sign") messages.
 *
 * The signed digest is keccak256("\x19Ethereum Signed Message:\n" ||
 * decimal(len) || message).  Messages are bytes: UTF-8 text as given, or
 * the bytes of a "0x" hex string.  Signatures are 65 bytes r || s || v with
 * v = 27 + yParity, as personal_sign returns them.
 */
#ifndef NITROWALLET_MESSAGE_H
#define NITROWALLET_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/error.h"
#include "nitrowallet/key.h"

#define NW_MESSAGE_MAX (64u * 1024u)

/* Refuses messages over NW_MESSAGE_MAX bytes. */
NW_MUST_CHECK enum nw_err nw_eip191_hash(uint8_t digest[32], const uint8_t *msg, size_t len,
                                         struct nw_error *err);

NW_MUST_CHECK enum nw_err nw_eip191_sign(uint8_t sig65[65], const uint8_t sk[32], const uint8_t *msg,
                                         size_t len, struct nw_error *err);

#endif
