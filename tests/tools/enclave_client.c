/*
 * enclave_client.c - a small client of the enclave protocol (design §4,
 * docs/protocol.md) for scripted tests.  Each request is sent as one frame
 * on one connection, in order, and each reply is printed on its own line.
 *
 *   enclave_client SPEC [JSON...]       requests from the arguments, or one
 *                                       per line from standard input
 *   enclave_client SPEC --oversize      send a header announcing 1 MiB + 1
 *                                       bytes and print the reply
 *   enclave_client SPEC --empty JSON    an empty frame, then JSON: shows the
 *                                       connection survives
 *
 * SPEC is "unix:/path" (anything nw_transport_connect accepts).  Exit
 * status 0 when every reply arrived, 1 otherwise.
 *
 * Trust boundary: a test tool; it trusts its arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nitrowallet/proto.h"
#include "nitrowallet/transport.h"

#define LINE_MAX_BYTES (2u * 1024u * 1024u)
/* longer than the enclave's own KMS deadline (10 s), so its answer to a KMS timeout arrives */
#define CLIENT_TIMEOUT_MS 30000

static int exchange(int fd, const char *req, size_t len)
{
    struct nw_buf reply;
    struct nw_error err = {0};
    int eof = 0;

    nw_buf_init(&reply, NW_PROTO_MAX_FRAME);
    if (len > 0 && nw_proto_frame_write(fd, (const uint8_t *)req, len, &err) != NW_OK) {
        fprintf(stderr, "enclave_client: %s\n", err.msg);
        return 0;
    }
    if (nw_proto_frame_read(fd, &reply, &eof, &err) != NW_OK) {
        fprintf(stderr, "enclave_client: %s\n", eof ? "connection closed" : err.msg);
        return 0;
    }
    fwrite(reply.data, 1, reply.len, stdout);
    putchar('\n');
    fflush(stdout);
    nw_buf_free(&reply);
    return 1;
}

static int send_raw(int fd, const uint8_t *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static int from_stdin(int fd)
{
    char *line = malloc(LINE_MAX_BYTES);
    int ok = 1;

    if (line == NULL)
        return 0;
    while (ok && fgets(line, LINE_MAX_BYTES, stdin) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0)
            ok = exchange(fd, line, n);
    }
    free(line);
    return ok;
}

int main(int argc, char **argv)
{
    struct nw_error err = {0};
    int fd = -1, ok = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: enclave_client SPEC [JSON...|--oversize|--empty JSON]\n");
        return 2;
    }
    if (nw_transport_connect_timeout(&fd, argv[1], CLIENT_TIMEOUT_MS, &err) != NW_OK) {
        fprintf(stderr, "enclave_client: connect %s: %s\n", argv[1], err.msg);
        return 1;
    }
    if (argc == 3 && strcmp(argv[2], "--oversize") == 0) {
        const uint8_t hdr[4] = {0x00, 0x10, 0x00, 0x01};
        ok = send_raw(fd, hdr, sizeof hdr) && exchange(fd, NULL, 0);
    } else if (argc == 4 && strcmp(argv[2], "--empty") == 0) {
        const uint8_t hdr[4] = {0, 0, 0, 0};
        ok = send_raw(fd, hdr, sizeof hdr) && exchange(fd, NULL, 0) && exchange(fd, argv[3], strlen(argv[3]));
    } else if (argc == 2) {
        ok = from_stdin(fd);
    } else {
        for (int i = 2; i < argc && ok; i++)
            ok = exchange(fd, argv[i], strlen(argv[i]));
    }
    close(fd);
    return ok ? 0 : 1;
}
