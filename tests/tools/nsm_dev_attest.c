/*
 * nsm_dev_attest.c - test helper: ask the emulated NSM for one attestation
 * document and write its raw CBOR to standard output.
 *
 *   nsm_dev_attest STATE_DIR [USER_DATA_HEX [NONCE_HEX [PUBLIC_KEY_HEX]]]
 *
 * Each hex argument is "0x..." or "-" (absent).  Used by
 * tests/suites/nsm_emulated.sh to check documents with independent tools
 * (Python's cryptography, openssl).  Development material only.
 */
#include <stdio.h>
#include <string.h>

#include "nitrowallet/hex.h"
#include "nitrowallet/nsm.h"

static int field(const char *arg, uint8_t *buf, size_t cap, const uint8_t **p, size_t *len)
{
    struct nw_error err = {0};

    *p = NULL, *len = 0;
    if (arg == NULL || strcmp(arg, "-") == 0)
        return 0;
    if (nw_hex_decode(buf, cap, len, arg, strlen(arg), &err) != NW_OK) {
        fprintf(stderr, "nsm_dev_attest: %s\n", err.msg);
        return -1;
    }
    *p = buf;
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t ud[NW_NSM_MAX_USER_DATA], nonce[NW_NSM_MAX_NONCE], pk[NW_NSM_MAX_PUBLIC_KEY];
    const uint8_t *pu, *pn, *pp;
    size_t lu, ln, lp;
    struct nw_error err = {0};
    struct nw_nsm *nsm = NULL;
    struct nw_buf doc;
    int rc = 1;

    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: nsm_dev_attest STATE_DIR [USER_DATA_HEX [NONCE_HEX [PUBLIC_KEY_HEX]]]\n");
        return 2;
    }
    if (field(argc > 2 ? argv[2] : NULL, ud, sizeof ud, &pu, &lu) != 0 ||
        field(argc > 3 ? argv[3] : NULL, nonce, sizeof nonce, &pn, &ln) != 0 ||
        field(argc > 4 ? argv[4] : NULL, pk, sizeof pk, &pp, &lp) != 0)
        return 2;
    nw_buf_init(&doc, 16 * 1024);
    if (nw_nsm_open_emulated(&nsm, argv[1], &err) != NW_OK ||
        nw_nsm_attest(nsm, &doc, pu, lu, pn, ln, pp, lp, &err) != NW_OK) {
        fprintf(stderr, "nsm_dev_attest: %s: %s\n", nw_err_name(err.code), err.msg);
        goto out;
    }
    rc = fwrite(doc.data, 1, doc.len, stdout) == doc.len && fflush(stdout) == 0 ? 0 : 1;
out:
    nw_nsm_close(nsm);
    nw_buf_free(&doc);
    return rc;
}
