/*
 * clock.h - CLOCK_MONOTONIC in milliseconds, for deadlines and timeouts
 * (never for timestamps that leave the process).
 */
#ifndef NITROWALLET_CLOCK_H
#define NITROWALLET_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
long long nw_clock_ms(void);

/* `ms` milliseconds from now on CLOCK_MONOTONIC, for pthread_cond_timedwait
 * on a condition variable set to that clock (pthread_condattr_setclock). */
void nw_clock_deadline(struct timespec *out, long long ms);

#endif
