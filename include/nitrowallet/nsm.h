/*
 * nsm.h - the Nitro Secure Module, real or emulated.
 *
 * Real: /dev/nsm, one ioctl per request (request <= 4 KiB, response
 * <= 12 KiB), CBOR in serde's externally tagged form, as the
 * aws-nitro-enclaves-nsm-api driver defines it.
 *
 * Emulated (development only, chosen explicitly): documents in the real
 * format signed by a local P-384 chain (root -> intermediate -> short-lived
 * leaf) kept in a state directory; PCR0 is the SHA-384 of the running
 * executable's bytes, so a rebuilt binary attests differently.  Everything
 * it makes names itself as development material (docs/attestation.md).
 */
#ifndef NITROWALLET_NSM_H
#define NITROWALLET_NSM_H

#include <stddef.h>
#include <stdint.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"

#define NW_NSM_MAX_USER_DATA 1024
#define NW_NSM_MAX_NONCE 1024
#define NW_NSM_MAX_PUBLIC_KEY 1024
/* File in an emulated NSM's state directory holding its root certificate. */
#define NW_NSM_DEV_ROOT_FILE "nsm-dev-root.pem"

struct nw_nsm;

/* Open the real device (path NULL = "/dev/nsm"). */
NW_MUST_CHECK enum nw_err nw_nsm_open_device(struct nw_nsm **out, const char *path, struct nw_error *err);

/* Open the emulated NSM; creates the development chain in `state_dir` on
 * first use (mode 0700 directory, 0600 keys). */
NW_MUST_CHECK enum nw_err nw_nsm_open_emulated(struct nw_nsm **out, const char *state_dir, struct nw_error *err);

void nw_nsm_close(struct nw_nsm *nsm);

int nw_nsm_is_emulated(const struct nw_nsm *nsm);

/* An attestation document (COSE_Sign1 bytes) appended to `doc`.  Each of
 * user_data, nonce, public_key may be NULL (absent). */
NW_MUST_CHECK enum nw_err nw_nsm_attest(struct nw_nsm *nsm, struct nw_buf *doc, const uint8_t *user_data,
                                        size_t user_data_len, const uint8_t *nonce, size_t nonce_len,
                                        const uint8_t *public_key, size_t public_key_len, struct nw_error *err);

/* Random bytes from the NSM (any length; repeated requests as needed). */
NW_MUST_CHECK enum nw_err nw_nsm_get_random(struct nw_nsm *nsm, uint8_t *buf, size_t len, struct nw_error *err);

/* One PCR's value (48 bytes for SHA-384) and whether it is locked. */
NW_MUST_CHECK enum nw_err nw_nsm_describe_pcr(struct nw_nsm *nsm, unsigned index, uint8_t *value, size_t cap,
                                              size_t *len, int *locked, struct nw_error *err);

#endif
