/*
 * creds_tool - resolve the host's default AWS credentials chain
 * (credentials.h) the way nitrowallet-host does, for
 * tests/suites/credentials_chain.sh.
 *
 * It never prints a secret: only the AccessKeyId, SHA-256 fingerprints of
 * the secret key and session token (the suite compares them with what the
 * stand-in issued), the expiry and the chain's counters.
 *
 * Reads one command per line on stdin and answers one line each:
 *   get          -> "ok source=S key=AKID secret_sha256=H token_sha256=H expires=T fetches=N failures=M"
 *                   or "error CODE message fetches=N failures=M"
 *   advance N    -> moves the chain's clock N seconds ahead (the clock is
 *                   injectable, so refresh-before-expiry is observable
 *                   without waiting an hour); "ok now=T"
 * At start it prints "ready source=S" or "error CODE message" and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "nitrowallet/credentials.h"
#include "nitrowallet/secret.h"

static long long offset_s;

static long long tool_now(void *ctx)
{
    (void)ctx;
    return (long long)time(NULL) + offset_s;
}

static void fingerprint(char out[65], const char *s)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void do_get(struct nw_creds_chain *chain)
{
    struct nw_host_credentials c;
    struct nw_error err = {0};
    struct nw_creds_stats st;
    long long exp = 0;
    enum nw_err rc = nw_creds_chain_get(chain, &c, &exp, &err);
    nw_creds_chain_stats(chain, &st);
    if (rc != NW_OK) {
        printf("error %s %s fetches=%llu failures=%llu\n", nw_err_name(rc), err.msg, st.fetches, st.failures);
        return;
    }
    char hs[65], ht[65] = "none";
    fingerprint(hs, c.secret_access_key);
    if (c.session_token[0]) fingerprint(ht, c.session_token);
    printf("ok source=%s key=%s secret_sha256=%s token_sha256=%s expires=%lld fetches=%llu failures=%llu\n",
           nw_creds_chain_source(chain), c.access_key_id, hs, ht, exp, st.fetches, st.failures);
    nw_host_credentials_wipe(&c);
}

int main(void)
{
    struct nw_creds_chain *chain = NULL;
    struct nw_error err = {0};
    struct nw_creds_chain_config cfg = {.now = tool_now};
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (nw_creds_chain_from_env(&chain, &cfg, &err) != NW_OK) {
        printf("error %s %s\n", nw_err_name(err.code), err.msg);
        return 1;
    }
    printf("ready source=%s\n", nw_creds_chain_source(chain));
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "get") == 0) {
            do_get(chain);
        } else if (strncmp(line, "advance ", 8) == 0) {
            char *end = NULL;
            long long n = strtoll(line + 8, &end, 10);
            if (end == line + 8 || *end != '\0' || n < 0 || n > 100000000) {
                printf("error bad advance\n");
                continue;
            }
            offset_s += n;
            printf("ok now=%lld\n", tool_now(NULL));
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("error unknown command\n");
        }
    }
    nw_creds_chain_free(chain);
    return 0;
}
