/*
 * rfc3339.h - strict RFC 3339 timestamps for the CLI, in milliseconds.
 */
#ifndef NITROWALLET_CLI_RFC3339_H
#define NITROWALLET_CLI_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Characters rfc3339_format writes, NUL included ("YYYY-MM-DDTHH:MM:SS.mmmZ"). */
#define RFC3339_SIZE 25

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (RFC 3339 section 5.6;
 * 't' and 'z' also accepted) into ms since the epoch.  Fractions beyond
 * milliseconds are dropped; leap seconds (":60") and years before 1970 are
 * refused.  Returns 0 on success, -1 on any deviation.
 */
int rfc3339_parse(int64_t *ms, const char *s);

/* Format ms since the epoch (years 1970..9999) as UTC with milliseconds.
 * Returns 0, or -1 if out of range. */
int rfc3339_format(char out[RFC3339_SIZE], uint64_t ms);

#endif
