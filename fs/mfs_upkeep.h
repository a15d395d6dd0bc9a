/* mfs_upkeep.h -- the thread that enforces -o max_size and -o max_age.
 *
 * Once a second (MFS_UPKEEP_PERIOD_NS), off every request path, it
 *   1. writes the uses memo noted (memo_flush_uses()) into the stored
 *      results' accounting entries: recency for the LRU order;
 *   2. when the cache directory takes more than max_size on disk, or
 *      a scan for max_age is due (every quarter of max_age, and at least
 *      once a minute), removes results (memo_evict()): the expired ones,
 *      then the least recently used until the results left take at most
 *      MFS_UPKEEP_LOW_WATER of max_size, then compacts the store so the
 *      space really returns to the disk;
 *   3. drops each removed result from the kernel (mfs_ctl_invalidate()).
 */
#ifndef MEMOFS_MFS_UPKEEP_H
#define MEMOFS_MFS_UPKEEP_H

#include <stdint.h>

#include "mfs.h"

#define MFS_UPKEEP_PERIOD_NS 1000000000ll
#define MFS_UPKEEP_LOW_WATER 0.8	/* of max_size, after an eviction */
#define MFS_UPKEEP_AGE_MAX_NS (60 * 1000000000ll) /* max_age scans, apart */

/* Starts the thread, as fs->upkeep (fs->m and fs->se set).  max_size in
 * bytes and max_age_ns: 0 for no limit.  0 or a negative errno. */
int mfs_upkeep_start(struct mfs *fs, uint64_t max_size, uint64_t max_age_ns);

/* Stops and joins it (before the memo and the store go); a no-op when
 * fs->upkeep is NULL. */
void mfs_upkeep_stop(struct mfs *fs);

#endif
