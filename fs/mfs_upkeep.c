/* mfs_upkeep.c -- the limits' thread (see mfs_upkeep.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"
#include "mfs_ctl.h"
#include "mfs_upkeep.h"

struct mfs_upkeep {
	struct mfs *fs;
	uint64_t max_size, max_age_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* CLOCK_MONOTONIC */
	int stop;			/* protected by lock */
	int64_t aged_ns;		/* CLOCK_MONOTONIC of the last scan for
					 * max_age (this thread's only) */
};

static uint64_t mfs_upkeep_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* memo_evict()'s callback. */
static void mfs_upkeep_removed(void *arg, const char *fn, const char *a)
{
	struct mfs *fs = arg;

	mfs_ctl_invalidate(fs, fn, a);
}

/* Is a scan for max_age due?  One costs a read of every accounting
 * entry, so it runs every quarter of max_age (but at least once a
 * minute: MFS_UPKEEP_AGE_MAX_NS), in rounds one second apart.  A result that
 * expires between two scans is not served anyway (memo_set_max_age()). */
static int mfs_upkeep_age_due(struct mfs_upkeep *u)
{
	int64_t now = util_now_ns(), every = (int64_t)(u->max_age_ns / 4);

	if (!u->max_age_ns)
		return 0;
	if (every > MFS_UPKEEP_AGE_MAX_NS)
		every = MFS_UPKEEP_AGE_MAX_NS;
	if (u->aged_ns && now - u->aged_ns < every)
		return 0;
	u->aged_ns = now;
	return 1;
}

/* One round: recency, then the limits. */
static void mfs_upkeep_round(struct mfs_upkeep *u)
{
	uint64_t disk = 0, target = 0;
	size_t evicted = 0;
	int rc = memo_flush_uses(u->fs->m);

	if (rc)
		log_debug("upkeep: cannot record uses: %s", strerror(-rc));
	if (u->max_size && memo_disk_bytes(u->fs->m, &disk) == 0 &&
	    disk > u->max_size)
		target = (uint64_t)((double)u->max_size * MFS_UPKEEP_LOW_WATER);
	if (!mfs_upkeep_age_due(u) && !target)
		return;
	rc = memo_evict(u->fs->m, target, mfs_upkeep_now(), mfs_upkeep_removed,
			u->fs, &evicted);
	if (rc)
		log_warn("upkeep: cannot remove results: %s", strerror(-rc));
	if (evicted)
		log_info("removed %zu results (cache was %llu bytes on disk, "
			 "max_size %llu, max_age %llu s)", evicted,
			 (unsigned long long)disk,
			 (unsigned long long)u->max_size,
			 (unsigned long long)(u->max_age_ns / 1000000000u));
}

static void *mfs_upkeep_main(void *arg)
{
	struct mfs_upkeep *u = arg;
	struct timespec until;
	int stop;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += MFS_UPKEEP_PERIOD_NS / 1000000000ll;
		pthread_mutex_lock(&u->lock);
		while (!u->stop && pthread_cond_timedwait(&u->wake, &u->lock,
							  &until) != ETIMEDOUT)
			;
		stop = u->stop;
		pthread_mutex_unlock(&u->lock);
		if (stop)
			return NULL;
		mfs_upkeep_round(u);
	}
}

int mfs_upkeep_start(struct mfs *fs, uint64_t max_size, uint64_t max_age_ns)
{
	struct mfs_upkeep *u = calloc(1, sizeof(*u));
	pthread_condattr_t ca;
	int rc;

	if (!u)
		return -ENOMEM;
	*u = (struct mfs_upkeep){ .fs = fs, .max_size = max_size,
				  .max_age_ns = max_age_ns };
	pthread_mutex_init(&u->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->wake, &ca);
	pthread_condattr_destroy(&ca);
	memo_set_max_age(fs->m, max_age_ns);
	rc = pthread_create(&u->thread, NULL, mfs_upkeep_main, u);
	if (rc) {
		pthread_cond_destroy(&u->wake);
		pthread_mutex_destroy(&u->lock);
		free(u);
		return -rc;
	}
	fs->upkeep = u;
	return 0;
}

void mfs_upkeep_stop(struct mfs *fs)
{
	struct mfs_upkeep *u = fs->upkeep;

	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = 1;
	pthread_cond_signal(&u->wake);
	pthread_mutex_unlock(&u->lock);
	pthread_join(u->thread, NULL);
	pthread_cond_destroy(&u->wake);
	pthread_mutex_destroy(&u->lock);
	free(u);
	fs->upkeep = NULL;
}
