/* clock.h -- the monotonic clock, in one place.
 *
 * Durations, deadlines and "how long ago" in memofs are measured on
 * CLOCK_MONOTONIC (never set back, unlike the wall clock), in nanoseconds.
 * Safe from any thread.
 */
#ifndef MEMOFS_UTIL_CLOCK_H
#define MEMOFS_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define UTIL_NS_PER_S 1000000000LL

/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t util_now_ns(void);

/* A timespec as nanoseconds (either clock). */
int64_t util_ts_ns(struct timespec t);

#endif
