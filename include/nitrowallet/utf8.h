/*
 * utf8.h - UTF-8 validation (RFC 3629).
 */
#ifndef NITROWALLET_UTF8_H
#define NITROWALLET_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the bytes are well-formed UTF-8: shortest form only, no surrogate
 * code points, nothing above U+10FFFF.  0 otherwise. */
int nw_utf8_valid(const uint8_t *s, size_t len);

#endif
