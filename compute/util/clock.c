/* clock.c -- the monotonic clock (see clock.h). */
#include "util/clock.h"

int64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return util_ts_ns(ts);
}

int64_t util_ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * UTIL_NS_PER_S + t.tv_nsec;
}
