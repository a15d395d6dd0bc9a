/* cachedir.h -- the cache directory: where it may live, creating it,
 * trusting it, moving a damaged one aside, removing a temporary one or
 * the one a failed start made, and sweeping the temporary ones that
 * killed daemons left behind.
 *
 * The trust rule (README, "The cache"), as ssh's StrictModes applies it to
 * ~/.ssh: memofs stores results in DIR, and RocksDB opens files in it by
 * path, so nobody else may be able to put a file or a link there, or
 * replace DIR or one of its parents:
 *   - DIR is a directory (never a symbolic link), owned by the mounting
 *     user, not writable by group or others; every file in it is owned
 *     by that user and none is a symbolic link;
 *   - every parent of DIR, after symbolic links in the path are resolved
 *     (DIR's own name never is), is owned by root or by that user and is
 *     not writable by group or others, unless it has the sticky bit (as
 *     /tmp has: others may not rename or remove what they do not own),
 *     and every symbolic link on the path as given is owned by root or
 *     by that user;
 *   - the directories memofs creates (DIR and missing parents) are created
 *     with mode 0700.
 * Only start-up calls these functions (one thread); they never follow a
 * symbolic link inside DIR.
 */
#ifndef MEMOFS_CACHEDIR_H
#define MEMOFS_CACHEDIR_H

#include <stddef.h>

#define CACHEDIR_ERR_MAX 1024	/* room for a message naming two paths */

/* Makes path (absolute, or relative to the working directory) a trusted
 * cache directory, creating what is missing, and writes its canonical
 * absolute path into out (outlen bytes, PATH_MAX is enough).  Unless made
 * is NULL, it receives (madelen bytes, PATH_MAX is enough) the first
 * directory this call created, out itself or a parent of it, or "" when
 * out existed: what cachedir_remove_made() removes if the start fails.
 * Returns 0; -EPERM when a directory or file has the wrong owner or mode,
 * -ELOOP for a symbolic link, -ENOTDIR, -EINVAL (a ".." among the missing
 * parts), -ENAMETOOLONG, or the errno of a failed system call.  On
 * failure the directories this call created are removed again, and err
 * holds one line saying what is wrong and how to fix it. */
int cachedir_prepare(const char *path, char *out, size_t outlen, char *made,
		     size_t madelen, char *err, size_t errlen);

/* Undoes a cachedir_prepare() that created dir (its out) or parents of it
 * (made, its made), once the start that used them has failed and closed
 * its store: removes the files in dir if each is a regular file of this
 * user's that RocksDB names as its own (IDENTITY, CURRENT, LOCK, LOG,
 * MANIFEST-N, N.sst...), then dir and its parents up to made, each only
 * once empty.  Anything else in them (the user's) keeps them, and what is
 * in them, as they are; so does a RocksDB another process opened in dir
 * (its LOCK is held).  Never follows a symbolic link.  Returns 0 (also
 * when made is ""), -ENOTEMPTY, -EBUSY, -EINVAL when made is neither dir
 * nor a parent of it, or the errno of a failed system call. */
int cachedir_remove_made(const char *dir, const char *made);

/* Creates a temporary cache tmpdir/memofs-XXXXXX (mode 0700, trusted as
 * above) and marks it in use: *lock_fd holds an flock on its lock file
 * until closed, after the directory is removed.  Returns 0, or a negative
 * errno with err set. */
int cachedir_make_temp(const char *tmpdir, char *out, size_t outlen,
		       int *lock_fd, char *err, size_t errlen);

/* Removes the temporary caches in tmpdir that no living memofs uses: the
 * directories named memofs-XXXXXX, owned by this user, of mode 0700,
 * whose lock file can be locked (its daemon is gone); or that have no
 * lock file, are older than a minute (never one that a memofs has just
 * created) and whose RocksDB LOCK is free.  Returns how many it removed;
 * each is logged. */
int cachedir_sweep(const char *tmpdir);

/* Removes dir and everything in it, never following a symbolic link.
 * Returns 0 or a negative errno. */
int cachedir_remove(const char *dir);

/* Renames a damaged cache dir to dir.damaged-YYYYMMDD-HHMMSS (a suffix
 * -N when taken) and writes the new name into out.  Returns 0 or a
 * negative errno. */
int cachedir_set_aside(const char *dir, char *out, size_t outlen);

#endif
