/* mfs_ctl.h -- MOUNTPOINT/.memofs: the control files of a mount.
 *
 * A directory that readdir of the root never lists (ls -a does not show
 * it) but that every lookup finds, holding:
 *   stats       counters per function and in total, as `memofs stats`
 *               prints them (text);
 *   stats.json  the same as JSON (`memofs stats --json`);
 *   jobs        one line per computation running or queued;
 *   clear       the target of the MFS_IOC_CLEAR ioctl (`memofs clear`);
 *               reading it shows how to use it.
 * Their content is made afresh by each stat (getattr) and a read()
 * makes the kernel send one first (the files have no attribute caching,
 * and a changed mtime drops their pages: FUSE_CAP_AUTO_INVAL_DATA), so
 * every cat sees the state of that moment.
 *
 * Clearing goes through an ioctl because the mount is read-only (the
 * kernel refuses a write(2) or setxattr(2) with EROFS before memofs sees
 * it) while ioctl(2) on a file opened for reading reaches memofs with the
 * caller's uid (fuse_req_ctx()).  A function named ".memofs" is hidden
 * by this directory.
 *
 * Threads: FUSE threads and the upkeep thread (mfs_upkeep.c) call in;
 * the snapshots have a lock of their own, taken without fs->lock held.
 */
#ifndef MEMOFS_MFS_CTL_H
#define MEMOFS_MFS_CTL_H

#include <stdint.h>
#include <sys/ioctl.h>

#include "mfs.h"

#define MFS_CTL_DIR ".memofs"

/* The ioctl of `memofs clear`: what = "" (every result), "FUNCTION" or
 * "FUNCTION/ARGUMENT" (one result; the argument as a file name of the
 * function's directory), NUL-terminated.  ioctl() returns how many
 * stored results were removed, or fails with EPERM (neither the
 * mounting user nor root), ENOENT (no such function or argument),
 * EINVAL (no NUL) or EIO. */
#define MFS_CTL_WHAT_MAX 4096
struct mfs_ctl_clear {
	char what[MFS_CTL_WHAT_MAX];
};
#define MFS_IOC_CLEAR _IOW('M', 0x51, struct mfs_ctl_clear)

/* What stats shows about the cache, set before the session starts. */
struct mfs_ctl_config {
	const char *mountpoint;
	const char *cache_dir;
	uint64_t max_size;	/* bytes, 0: none */
	uint64_t max_age_ns;	/* 0: none */
};

/* Makes fs->ctl.  0 or -ENOMEM. */
int mfs_ctl_new(struct mfs *fs, const struct mfs_ctl_config *cfg);
void mfs_ctl_free(struct mfs *fs);	/* NULL fs->ctl: a no-op */

/* Is ino one of .memofs's nodes? */
int mfs_ctl_owns(const struct mfs *fs, fuse_ino_t ino);

/* Is ino (owned) the .memofs directory itself? */
int mfs_ctl_is_dir(const struct mfs *fs, fuse_ino_t ino);

/* The FUSE operations on those nodes (ino owned), and the lookup of
 * .memofs in the root. */
void mfs_ctl_lookup_root(fuse_req_t req, struct mfs *fs);
void mfs_ctl_lookup(fuse_req_t req, struct mfs *fs, fuse_ino_t parent,
		    const char *name);
void mfs_ctl_getattr(fuse_req_t req, struct mfs *fs, fuse_ino_t ino);
void mfs_ctl_read(fuse_req_t req, struct mfs *fs, fuse_ino_t ino,
		  size_t size, off_t off);
void mfs_ctl_readdir(fuse_req_t req, struct mfs *fs, fuse_ino_t ino,
		     size_t size, off_t off);
void mfs_ctl_ioctl(fuse_req_t req, struct mfs *fs, fuse_ino_t ino,
		   unsigned int cmd, const void *in, size_t in_size);

/* Drops from the kernel (pages and attributes) the results of function
 * fn (NULL: every result) with canonical argument arg (NULL: any), and
 * makes their nodes show the placeholder again: the next read asks
 * memofs, which recomputes.  Any thread, without fs->lock held. */
void mfs_ctl_invalidate(struct mfs *fs, const char *fn, const char *arg);

#endif
