/*
 * sqlite_fixture.h - a SQLite storage in a fresh temporary directory, for
 * the storage unit tests (test_storage_sqlite.c, test_storage_sqlite_batch.c),
 * and the vectors they share.  Included, not compiled on its own.
 */
#ifndef NITROWALLET_TEST_SQLITE_FIXTURE_H
#define NITROWALLET_TEST_SQLITE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nitrowallet/storage.h"

/* EIP-55 test vectors (https://eips.ethereum.org/EIPS/eip-55). */
#define ADDR1 "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define ADDR2 "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
#define DIGEST "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define TIME "2026-11-21T09:30:00.123Z"

struct fixture {
    char dir[64];
    char path[96];
    struct nw_storage *st;
};

/* A new database in a fresh /tmp/<prefix>-XXXXXX directory; NULL on failure. */
static struct fixture *fixture_open(const char *prefix)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct nw_error err = {0};

    if (f == NULL)
        return NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/%s-XXXXXX", prefix);
    snprintf(f->path, sizeof f->path, "%s/nitrowallet.db", mkdtemp(f->dir) ? f->dir : "/nonexistent");
    if (nw_storage_sqlite_open(&f->st, f->path, &err) != NW_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        free(f);
        return NULL;
    }
    return f;
}

/* Close the storage and remove the database, its WAL files and the directory. */
static void fixture_close(struct fixture *f)
{
    char p[128];

    nw_storage_close(f->st);
    unlink(f->path);
    snprintf(p, sizeof p, "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->path);
    unlink(p);
    rmdir(f->dir);
    free(f);
}

#endif
