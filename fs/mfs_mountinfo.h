/* mfs_mountinfo.h -- what the kernel says and takes about a mount point:
 * its line in /proc/self/mountinfo, its readahead in /sys/class/bdi.
 *
 * Neither reads the mount point itself, so both are safe in the daemon
 * whose FUSE loop is not running yet (a stat() there would wait on a
 * GETATTR that memofs has not started answering).
 */
#ifndef MEMOFS_MFS_MOUNTINFO_H
#define MEMOFS_MFS_MOUNTINFO_H

#include <stddef.h>

/* The readahead memofs asks for its mounts, in KiB (see
 * mfs_readahead_raise()). */
#define MFS_READAHEAD_KB 1024

/* Is abs (a resolved path) a mount point: 1 or 0.  When it is and dev is
 * not NULL, dev (devlen bytes) gets the "MAJOR:MINOR" of its top-most
 * mount (the last of its lines).  Mount points in /proc/self/mountinfo
 * are the fifth field, with blanks and backslashes octal-escaped; abs is
 * compared escaped the same way. */
int mfs_mountinfo_find(const char *abs, char *dev, size_t devlen);

/* Raises the readahead of the FUSE mount at abs to kb KiB, through
 * /sys/class/bdi/MAJOR:MINOR/read_ahead_kb (root only; never lowers it).
 * Call it after the mount and before the FUSE loop answers INIT, whose
 * reply must then say max_readahead = kb KiB: the kernel keeps the
 * smaller of the two (fs/fuse/inode.c, process_init_reply()), and the
 * mount's own starts at the kernel's default, 128 KiB here, the INIT
 * request's max_readahead.  So a large cold read is one READ request per
 * 128 KiB; at 1024 KiB (libfuse allows READs up to max_pages 256 = 1 MiB)
 * it is one per MiB.  Measured
 * on this project's VM (tests/bench/run.py figures 15 and 16 and the
 * README's Performance): a cold 98 MB text view read by Python took 749
 * READs at 128 KiB and 188 at 1024.  0, or a negative errno (-EACCES for
 * a user other than root; -ENOENT when abs is not a mount point). */
int mfs_readahead_raise(const char *abs, unsigned kb);

#endif
