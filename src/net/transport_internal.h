/*
 * transport_internal.h - shared by transport.c (connect) and
 * transport_listen.c (listen); not a public interface.
 */
#ifndef NITROWALLET_TRANSPORT_INTERNAL_H
#define NITROWALLET_TRANSPORT_INTERNAL_H

#include <stddef.h>

/* `len` characters of 1..10 decimal digits (no sign, no leading zero except
 * "0") whose value is at most `max`: 1 and *out set, else 0. */
int nw_transport_parse_num(const char *s, size_t len, unsigned long max, unsigned long *out);

#endif
