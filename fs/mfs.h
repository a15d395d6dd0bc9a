/* mfs.h -- the state of one memofs mount, shared by main and the ops.
 *
 * One struct mfs exists per process; it is the FUSE session's userdata.
 * Everything but the fields marked "protected by lock" is set before the
 * session starts and read-only afterwards.
 */
#ifndef MEMOFS_MFS_H
#define MEMOFS_MFS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <time.h>

#include "functions/cmdfn.h"
#include "data/ds.h"
#include "engine/memo.h"
#include "mfs_node.h"
#include "engine/pool.h"
#include "functions/reg.h"

/* The kernel reads a result in chunks (READs), each a lookup in memo:
 * memo's in-memory cache is given this budget (memo_set_cache_bytes()),
 * so that a result up to this size is kept in memory for all its chunks,
 * not fetched from RocksDB again.  Only a result's last page is pushed
 * into the page cache (mfs_ops.c, mfs_push_first()). */
#define MFS_PUSH_MAX (256u << 20)

struct mfs_wait;
struct mfs_ctl;
struct mfs_upkeep;

struct mfs {
	const reg *r;
	const ds *data;
	memo *m;
	cmdfn *cmds;			/* stopped at unmount */
	pool *digests;			/* lookups that read large files */
	_Atomic int stopping;		/* the session loop has ended */
	struct fuse_session *se;
	int no_open;			/* kernel does zero-message opens */
	int no_opendir;			/* set once, in init */
	unsigned readahead_kb;		/* raised before init (KiB), or 0 */
	uid_t uid;			/* owner every file shows (-o uid) */
	gid_t gid;			/* group every file shows (-o gid) */
	mode_t file_mode;		/* permission bits of results */
	mode_t dir_mode;		/* permission bits of directories */
	int stat_compute;		/* -o stat=compute */
	struct timespec mounted;	/* every file's times (CLOCK_REALTIME) */
	pthread_mutex_t lock;
	mfs_node_table *nodes;		/* protected by lock */
	struct mfs_wait *waits;		/* protected by lock: deferred replies */
	struct mfs_ctl *ctl;		/* MOUNTPOINT/.memofs (mfs_ctl.h) */
	struct mfs_upkeep *upkeep;	/* limits, recency (mfs_upkeep.h) */
};

/* The low-level operations table of memofs. */
extern const struct fuse_lowlevel_ops mfs_ops;

#endif
