/*
 * fuzz_host_request.c - raw HTTP requests against a running nitrowallet-host
 * API (host.h, src/host/api/http.c, api_*.c): routing, bearer-token parsing,
 * body bounds, content type, strict bodies, pagination arguments and the
 * Idempotency-Key path.  The host is started once, on 127.0.0.1 with plain
 * HTTP, SQLite in a temporary directory and one admin and one signer token;
 * its enclave endpoint does not exist (calls fail with 503), so inputs
 * exercise everything up to the enclave.  Each input is sent on a fresh
 * connection and the reply is read until the server closes, or goes quiet
 * for 2 ms after a whole response (10 ms inside one, 20 ms before any; an
 * input without the end of a header block gets no answer and no wait).
 * Trust boundary: the network-facing side of the host.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nitrowallet/auth.h"
#include "nitrowallet/enclave_pool.h"
#include "nitrowallet/host.h"
#include "nitrowallet/storage.h"

#define ADMIN_TOKEN "nwt_fuzzadminfuzzadminfuzzadminfuzzadminfuzzadm"
#define SIGNER_TOKEN "nwt_fuzzsignerfuzzsignerfuzzsignerfuzzsignerfu"
#define INPUT_MAX (200u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned port;
static char dir[] = "/tmp/nw-fuzz-host-XXXXXX";

/* Remove the temporary database at exit (the host threads are idle then). */
static void remove_dir(void)
{
    static const char *const files[] = {"host.db", "host.db-wal", "host.db-shm"};
    char path[96];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void start_host(void)
{
    char db[64], cfg[512], ha[NW_AUTH_HASH_HEX_SIZE], hs[NW_AUTH_HASH_HEX_SIZE];
    struct nw_error err;
    struct nw_storage *st = NULL;
    struct nw_auth *auth = NULL;
    struct nw_enclave_pool *pool = NULL;
    struct nw_host *host = NULL;
    static const char *spec = "unix:/nonexistent-nitrowallet-fuzz/e.sock";
    setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret", 1);
    if (mkdtemp(dir) == NULL) abort();
    atexit(remove_dir);
    snprintf(db, sizeof(db), "%s/host.db", dir);
    if (nw_auth_token_hash(ha, ADMIN_TOKEN, strlen(ADMIN_TOKEN), &err) != NW_OK ||
        nw_auth_token_hash(hs, SIGNER_TOKEN, strlen(SIGNER_TOKEN), &err) != NW_OK)
        abort();
    snprintf(cfg, sizeof(cfg),
             "[{\"id\":\"ops\",\"role\":\"admin\",\"sha256\":\"%s\"},"
             "{\"id\":\"pay\",\"role\":\"signer\",\"sha256\":\"%s\",\"accounts\":[\"hot-1\"]}]",
             ha, hs);
    struct nw_enclave_pool_config pc = {.endpoints = &spec, .n_endpoints = 1, .timeout_ms = 1000,
                                        .credentials = &nw_credentials_env};
    if (nw_auth_load(&auth, cfg, strlen(cfg), &err) != NW_OK || nw_storage_sqlite_open(&st, db, &err) != NW_OK ||
        nw_enclave_pool_open(&pool, &pc, &err) != NW_OK) {
        fprintf(stderr, "fuzz_host_request: setup: %s\n", err.msg);
        abort();
    }
    struct nw_host_config hc = {.listen = "127.0.0.1:0", .insecure_http = 1, .kms_key_id = "fuzz-key",
                                .storage = st, .auth = auth, .pool = pool};
    if (nw_host_start(&host, &hc, &err) != NW_OK) {
        fprintf(stderr, "fuzz_host_request: start: %s\n", err.msg);
        abort();
    }
    port = nw_host_port(host);
    /* the host lives for the whole process */
}

/* The last response in buf[0..n) has all its headers and Content-Length bytes. */
static int response_complete(char *buf, size_t n)
{
    char *start = buf, *h, *end, *cl;
    buf[n] = '\0';
    for (char *next; (next = strstr(start + 1, "HTTP/1.")) != NULL;)
        start = next;
    if ((end = strstr(start, "\r\n\r\n")) == NULL)
        return 0;
    *end = '\0';
    h = strcasestr(start, "\r\ncontent-length:");
    cl = h ? h + 17 : NULL;
    *end = '\r';
    return cl != NULL && (size_t)(end + 4 - buf) + strtoul(cl, NULL, 10) <= n;
}

static void exchange(const uint8_t *data, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char buf[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    /* the request is complete: a half-close lets MHD answer and then close */
    shutdown(fd, SHUT_WR);
    /* without the end of a header block no answer comes (MHD drops the
     * connection at our EOF, in its own time): nothing to wait for */
    if (memmem(data, size, "\r\n\r\n", 4) == NULL && memmem(data, size, "\n\n", 2) == NULL) {
        close(fd);
        return;
    }
    size_t have = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* once a whole response is in, more comes only from pipelined
         * requests, which follow at once: wait 2 ms, not 20 */
        if (poll(&p, 1, have == 0 ? 20 : response_complete(buf, have) ? 2 : 10) <= 0) break;
        ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (r <= 0) break;
        have += (size_t)r;
        if (have > sizeof(buf) / 2) have = 0; /* keep room; only the tail matters */
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (port == 0) start_host();
    if (size > INPUT_MAX) return 0;
    /* /readyz with no enclave up holds a worker for a second by design
     * (READY_WAIT_MS): inputs that reach it would leave the run waiting, not
     * fuzzing, so they are skipped (host_api.sh covers /readyz). */
    if (memmem(data, size, "readyz", 6) != NULL) return 0;
    exchange(data, size);
    return 0;
}
