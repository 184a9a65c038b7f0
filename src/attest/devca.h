/*
 * devca.h - private: the emulated NSM's development material.
 *
 * devstate.c keeps files in the state directory (0700 directory, atomic
 * writes, an flock so that processes opening it together agree); devca.c
 * holds the P-384 chain "nitrowallet DEVELOPMENT NSM root - not AWS" ->
 * intermediate -> short-lived leaf; nsm_devdoc.c writes attestation
 * documents in AWS's format signed by the leaf.  Development only: nothing
 * here is linked into a path that could be taken for the real NSM
 * (see nsm_emulated.c and docs/attestation.md "Emulated NSM").
 */
#ifndef NITROWALLET_DEVCA_H
#define NITROWALLET_DEVCA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>

#include "nitrowallet/buf.h"
#include "nitrowallet/error.h"

/* --- devstate.c --- */
#define NW_DEVSTATE_FILE_MAX (64u * 1024u)

/* Create (0700) or open the state directory; refuse one that others may write. */
NW_MUST_CHECK enum nw_err nw_devstate_open_dir(int *dirfd, const char *path, struct nw_error *err);
/* Take the directory's exclusive lock (blocking); release with close(). */
NW_MUST_CHECK enum nw_err nw_devstate_lock(int dirfd, int *lockfd, struct nw_error *err);
/* 1 if `name` exists in the directory (not following a symlink). */
int nw_devstate_exists(int dirfd, const char *name);
/* Write a file atomically: temporary file, fsync, rename, fsync the directory. */
NW_MUST_CHECK enum nw_err nw_devstate_write(int dirfd, const char *name, const void *p, size_t n, mode_t mode,
                                            struct nw_error *err);
/* Read a regular file (at most NW_DEVSTATE_FILE_MAX); with `private`, refuse
 * one that group or others can read. */
NW_MUST_CHECK enum nw_err nw_devstate_read(int dirfd, const char *name, int private_file, struct nw_buf *out,
                                           struct nw_error *err);

/* --- devca.c --- */
#define NW_DEVCA_ROOT_KEY_FILE "nsm-dev-root-key.pem"
#define NW_DEVCA_INTER_FILE "nsm-dev-intermediate.pem"
#define NW_DEVCA_INTER_KEY_FILE "nsm-dev-intermediate-key.pem"
#define NW_DEVCA_LOCK_FILE "nsm-dev.lock"
#define NW_DEVCA_LEAF_SECONDS (3 * 3600) /* like AWS's leaves */
#define NW_DEVCA_LEAF_MIN_LEFT (30 * 60) /* re-issue below this */

struct nw_devca;

/* Load the chain from `state_dir`, creating it on first use. */
NW_MUST_CHECK enum nw_err nw_devca_open(struct nw_devca **out, const char *state_dir, struct nw_error *err);
void nw_devca_free(struct nw_devca *ca);

/* Make sure the in-memory leaf (subject CN `cn`) has at least
 * NW_DEVCA_LEAF_MIN_LEFT seconds left at `now`; issue a new one if not. */
NW_MUST_CHECK enum nw_err nw_devca_leaf_refresh(struct nw_devca *ca, time_t now, const char *cn, struct nw_error *err);

struct nw_devca_view {
    const uint8_t *root_der;
    size_t root_len;
    const uint8_t *inter_der;
    size_t inter_len;
    const uint8_t *leaf_der;
    size_t leaf_len;
    EVP_PKEY *leaf_key;
};
void nw_devca_view(const struct nw_devca *ca, struct nw_devca_view *v);

/* --- nsm_devdoc.c --- */
#define NW_DEVDOC_PCRS 16
#define NW_DEVDOC_PCR_LEN 48

struct nw_devdoc {
    const char *module_id;
    uint64_t timestamp_ms;
    const uint8_t (*pcrs)[NW_DEVDOC_PCR_LEN]; /* NW_DEVDOC_PCRS of them */
    const struct nw_devca_view *chain;
    const uint8_t *user_data; /* each NULL = null in the document */
    size_t user_data_len;
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *public_key;
    size_t public_key_len;
};

/* Append an untagged COSE_Sign1 (ES384) attestation document to `out`. */
NW_MUST_CHECK enum nw_err nw_devdoc_build(struct nw_buf *out, const struct nw_devdoc *d, struct nw_error *err);

#endif
