/*
 * cli_io.c - input helpers shared by the CLI's subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Read a whole file of at most `max` bytes; NULL (message printed) if not. */
uint8_t *nw_cli_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *buf;

    if (f == NULL) {
        fprintf(stderr, "nitrowallet: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(max + 1);
    if (buf != NULL) {
        *len = fread(buf, 1, max + 1, f);
        if (ferror(f) || *len > max) {
            fprintf(stderr, "nitrowallet: %s: %s\n", path, ferror(f) ? "read error" : "file too large");
            free(buf);
            buf = NULL;
        }
    }
    if (f != stdin)
        fclose(f);
    return buf;
}

