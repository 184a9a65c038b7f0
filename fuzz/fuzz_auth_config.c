/*
 * fuzz_auth_config.c - libFuzzer target for the host's tokens config parser
 * and bearer header check (src/host/api/auth.c, auth.h).
 *
 * The input is tried as a tokens config: whatever nw_auth_load accepts must
 * hold 1..NW_AUTH_MAX_TOKENS tokens, every check must compare against all
 * of them, and a principal must have a role exactly when the check
 * succeeds.  The same bytes are then tried as an Authorization header
 * against a fixed config: only NW_AUTH_OK may carry a token, and only a
 * header naming the fixed token may succeed.  Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nitrowallet/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SHA-256("nwt_admin-token-0001"), computed with sha256sum. */
static const char fixed[] = "[{\"id\":\"ops\",\"role\":\"signer\",\"accounts\":[\"hot-1\"],"
                            "\"sha256\":\"0bcce770b69c048d8e4b5dd0ec910453622c928b1b70b7f324af5931630c278b\"}]";

static void check_principal(enum nw_auth_result r, const struct nw_auth_principal *p, size_t count)
{
    if (p->compared != (r == NW_AUTH_OK || r == NW_AUTH_INVALID ? count : 0))
        abort();
    if ((r == NW_AUTH_OK) != (p->token != NULL) || (r == NW_AUTH_OK) != (p->role != NW_AUTH_ROLE_NONE))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nw_auth *a = NULL;
    struct nw_auth_principal p;
    struct nw_error err;
    enum nw_auth_result r;

    if (nw_auth_load(&a, (const char *)data, size, &err) == NW_OK) {
        size_t n = nw_auth_count(a);
        if (n < 1 || n > NW_AUTH_MAX_TOKENS)
            abort();
        r = nw_auth_check(a, "Bearer nwt_x", 12, &p);
        check_principal(r, &p, n);
        (void)nw_auth_allowed(&p, NW_AUTH_SIGN, "hot-1");
        nw_auth_free(a);
    } else if (a != NULL) {
        abort();
    }

    if (nw_auth_load(&a, fixed, sizeof fixed - 1, &err) != NW_OK)
        abort();
    r = nw_auth_check(a, (const char *)data, size, &p);
    check_principal(r, &p, 1);
    if (r == NW_AUTH_OK) {
        /* Only "Bearer" (any case), spaces and the fixed token. */
        if (size < 27 || memcmp(data + size - 20, "nwt_admin-token-0001", 20) != 0)
            abort();
        if (!nw_auth_allowed(&p, NW_AUTH_SIGN, "hot-1") || nw_auth_allowed(&p, NW_AUTH_SIGN, "hot-2"))
            abort();
    }
    nw_auth_free(a);
    return 0;
}
