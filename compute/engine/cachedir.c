/* cachedir.c -- the cache directory (see cachedir.h for the trust rule).
 *
 * cachedir_prepare() resolves the part of the path that exists with
 * realpath(3) (symbolic links among the parents are fine, as long as the
 * directories they lead to pass), then walks the resolved path from "/"
 * with openat(O_NOFOLLOW), checking each existing directory with fstat
 * on its own descriptor and creating the missing ones (mode 0700)
 * relative to their parent's descriptor, so that nothing is followed or
 * checked by a path that someone could change in between.
 *
 * Temporary caches carry a lock file, CACHEDIR_LOCK, flock()ed by their
 * daemon for its whole life and released by the kernel when it dies,
 * however it dies: that lock, not RocksDB's (which a store reopened after
 * a full disk releases for a moment), says whether one is in use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/cachedir.h"
#include "util/log.h"
#include "util/name.h"
#include "data/quote.h"

#define CACHEDIR_LOCK "memofs-lock"
#define CACHEDIR_TEMP_PREFIX "memofs-"
#define CACHEDIR_TEMP_GRACE_S 60	/* a lock-less temporary cache younger
					   than this may be a new one */
#define CACHEDIR_MAX_DEPTH 8		/* RocksDB makes one level at most */

/* ---- checks ------------------------------------------------------------- */

/* May a parent directory with status sb hold a trusted cache? */
static int cachedir_check_parent(const char *dir, const char *path,
				 const struct stat *sb, char *err,
				 size_t errlen)
{
	uid_t me = geteuid();

	if (sb->st_uid != 0 && sb->st_uid != me) {
		snprintf(err, errlen, "cache %s: its parent %s is owned by "
			 "uid %u, not by you (uid %u) or root", dir, path,
			 (unsigned)sb->st_uid, (unsigned)me);
		return -EPERM;
	}
	if ((sb->st_mode & (S_IWGRP | S_IWOTH)) && !(sb->st_mode & S_ISVTX)) {
		snprintf(err, errlen, "cache %s: its parent %s is writable by "
			 "group or others (mode %04o) without the sticky bit",
			 dir, path, (unsigned)(sb->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Is the cache directory itself, with status sb, trusted? */
static int cachedir_check_self(const char *dir, const struct stat *sb,
			       char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (sb->st_uid != me) {
		snprintf(err, errlen, "cache %s: owned by uid %u, not by you "
			 "(uid %u)", dir, (unsigned)sb->st_uid, (unsigned)me);
		return -EPERM;
	}
	if (sb->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "cache %s: writable by group or others "
			 "(mode %04o); chmod go-w it if you trust its content",
			 dir, (unsigned)(sb->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Is the entry name, with status sb, of the cache dir a file of ours that
 * is no link?  The name is quoted: someone else may have chosen it. */
static int cachedir_check_entry(const char *dir, const char *name,
				const struct stat *sb, char *err,
				size_t errlen)
{
	char q[QUOTE_BUF];

	if (!S_ISLNK(sb->st_mode) && sb->st_uid == geteuid())
		return 0;
	quote_bytes(q, name, strlen(name));
	if (S_ISLNK(sb->st_mode)) {
		snprintf(err, errlen, "cache %s: %s in it is a symbolic link "
			 "(memofs never follows one there)", dir, q);
		return -ELOOP;
	}
	snprintf(err, errlen, "cache %s: %s in it is owned by uid %u, not by "
		 "you (uid %u)", dir, q, (unsigned)sb->st_uid,
		 (unsigned)geteuid());
	return -EPERM;
}

/* Opens a stream on the directory fd, on a descriptor of its own (fd
 * stays the caller's): 0 with *d for closedir(), or a negative errno. */
static int cachedir_opendir_fd(int fd, DIR **d)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dfd >= 0 && (*d = fdopendir(dfd)))
		return 0;
	rc = -errno;
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* Is every entry of the directory fd (dir) a file of ours, no link? */
static int cachedir_check_entries(const char *dir, int fd, char *err,
				  size_t errlen)
{
	struct dirent *e;
	struct stat sb;
	DIR *d;
	int rc = cachedir_opendir_fd(fd, &d);

	if (rc) {
		snprintf(err, errlen, "cache %s: %s", dir, strerror(-rc));
		return rc;
	}
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW)) {
			rc = -errno;
			snprintf(err, errlen, "cache %s: %s", dir,
				 strerror(-rc));
		} else {
			rc = cachedir_check_entry(dir, e->d_name, &sb, err,
						  errlen);
		}
	}
	closedir(d);
	return rc;
}

/* ---- the walk ----------------------------------------------------------- */

/* Opens the directory name in the directory fd without following a link.
 * Returns the descriptor or a negative errno. */
static int cachedir_open_dir(int fd, const char *name)
{
	int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				   O_CLOEXEC);

	if (nfd < 0)
		return -errno;
	return nfd;
}

/* cachedir_open_dir(), creating the directory (mode 0700) when it is
 * missing; *created says whether this call did.  Returns the descriptor
 * or a negative errno (-ELOOP for a link, -ENOTDIR for another file). */
static int cachedir_open_at(int fd, const char *name, int *created)
{
	int nfd = cachedir_open_dir(fd, name);

	*created = 0;
	if (nfd != -ENOENT)
		return nfd;
	if (mkdirat(fd, name, 0700) == 0)
		*created = 1;
	else if (errno != EEXIST)
		return -errno;
	return cachedir_open_dir(fd, name);
}

/* Walks the absolute canonical path from "/", checking the existing
 * parents and creating the missing directories; dir is the name the user
 * gave, for messages.  made (PATH_MAX bytes) receives the first directory
 * created, or "".  Returns 0 with *out_fd open on the last one; on
 * failure, made names what the caller must remove. */
static int cachedir_walk(const char *dir, const char *canon, int *out_fd,
			 char *made, char *err, size_t errlen)
{
	char prefix[PATH_MAX] = "/", name[NAME_MAX + 1];
	const char *p = canon, *end;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), nfd, created;
	struct stat sb;
	int rc = fd < 0 ? -errno : 0;

	made[0] = '\0';
	while (rc == 0) {
		p += strspn(p, "/");
		if (!*p)
			break;
		end = p + strcspn(p, "/");
		if (end - p > NAME_MAX) {
			rc = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = '\0';
		if (fstat(fd, &sb) != 0) {
			rc = -errno;
			break;
		}
		rc = cachedir_check_parent(dir, prefix, &sb, err, errlen);
		if (rc)
			break;
		nfd = cachedir_open_at(fd, name, &created);
		if (created && !made[0])
			snprintf(made, PATH_MAX, "%.*s", (int)(end - canon),
				 canon);
		if (nfd < 0) {
			rc = nfd;
			if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(sb.st_mode))
				rc = -ELOOP;
			snprintf(err, errlen, "cache %s: %.*s: %s", dir,
				 (int)(end - canon), canon, rc == -ELOOP
				 ? "is a symbolic link, which memofs does not "
				   "follow here"
				 : strerror(-rc));
		}
		close(fd);
		fd = nfd;
		if (rc)
			break;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(end - canon),
			 canon);
		p = end;
	}
	if (rc == 0) {
		*out_fd = fd;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (!err[0])
		snprintf(err, errlen, "cache %s: %s", dir, strerror(-rc));
	return rc;
}

/* Removes the empty directory dir, then each parent of it up to and
 * including top (dir itself or a parent of it), deepest first; a missing
 * one (or one whose name is too long to exist) is skipped.  Returns 0, or
 * the negative errno of the first rmdir that failed (-ENOTEMPTY:
 * something is in it; it stays, with its parents). */
static int cachedir_rmdirs(const char *dir, const char *top)
{
	char path[PATH_MAX];
	size_t n = strlen(top);
	char *slash;

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	for (;;) {
		if (rmdir(path) != 0 && errno != ENOENT &&
		    errno != ENAMETOOLONG)
			return errno == EEXIST ? -ENOTEMPTY : -errno;
		slash = strrchr(path, '/');
		if (strlen(path) <= n || !slash || slash == path)
			return 0;
		*slash = '\0';
	}
}

/* ---- the canonical path ------------------------------------------------- */

/* Has path a "." or ".." component?  (Such a name, after the part of
 * the path that exists, would make memofs create or trust a directory
 * other than the one it names.) */
static int cachedir_has_dots(const char *path)
{
	for (const char *p = path; *p; p++) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		p += n;
		if (!*p)
			break;
	}
	return 0;
}

/* abs made canonical: the longest existing prefix of its parent resolved
 * by realpath, then the missing components; abs's last component is
 * never resolved.  Returns 0, -EINVAL for "..", -ENAMETOOLONG. */
static int cachedir_canonical(const char *abs, char *out, size_t outlen)
{
	char head[PATH_MAX], real[PATH_MAX];
	const char *tail;
	size_t cut;
	struct stat sb;

	snprintf(head, sizeof(head), "%s", abs);
	/* The parent of the last component; then shorter while missing. */
	do {
		char *slash = strrchr(head, '/');

		if (!slash)
			return -EINVAL;
		*slash = '\0';
	} while (head[0] && lstat(head, &sb) != 0 && errno == ENOENT);
	cut = strlen(head);
	if (!realpath(head[0] ? head : "/", real))
		return -errno;
	tail = abs + cut;	/* "/missing/.../last" */
	if (cachedir_has_dots(tail))
		return -EINVAL;
	if ((size_t)snprintf(out, outlen, "%s%s", strcmp(real, "/") ? real : "",
			     tail) >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* Is every symbolic link among the existing components of the absolute
 * path abs owned by root or by the user?  (A link someone else owns, in a
 * sticky /tmp say, would let them choose where memofs puts its cache.)
 * dir is the name the user gave, for messages. */
static int cachedir_check_links(const char *dir, const char *abs, char *err,
				size_t errlen)
{
	char prefix[PATH_MAX];
	struct stat sb;
	size_t n = 0;

	while (abs[n]) {
		n += 1 + strcspn(abs + n + 1, "/");
		snprintf(prefix, sizeof(prefix), "%.*s", (int)n, abs);
		if (lstat(prefix, &sb) != 0)
			return 0;	/* missing from here on: walked later */
		if (S_ISLNK(sb.st_mode) && sb.st_uid != 0 &&
		    sb.st_uid != geteuid()) {
			snprintf(err, errlen, "cache %s: %s is a symbolic link "
				 "owned by uid %u, not by you (uid %u) or root",
				 dir, prefix, (unsigned)sb.st_uid,
				 (unsigned)geteuid());
			return -EPERM;
		}
	}
	return 0;
}

int cachedir_prepare(const char *path, char *out, size_t outlen, char *made,
		     size_t madelen, char *err, size_t errlen)
{
	char abs[PATH_MAX], cwd[PATH_MAX], canon[PATH_MAX], top[PATH_MAX];
	struct stat sb;
	size_t n;
	int fd, rc;

	err[0] = '\0';
	if (made && madelen)
		made[0] = '\0';
	if (path[0] == '/') {
		n = (size_t)snprintf(abs, sizeof(abs), "%s", path);
	} else if (getcwd(cwd, sizeof(cwd))) {
		n = (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	} else {
		rc = -errno;
		snprintf(err, errlen, "cache %s: cannot find the working "
			 "directory: %s", path, strerror(-rc));
		return rc;
	}
	while (n > 1 && abs[n - 1] == '/')
		abs[--n] = '\0';	/* "dir/" names dir */
	if (n >= sizeof(abs)) {
		snprintf(err, errlen, "cache %s: path too long", path);
		return -ENAMETOOLONG;
	}
	rc = cachedir_check_links(path, abs, err, errlen);
	if (rc)
		return rc;
	rc = cachedir_canonical(abs, canon, sizeof(canon));
	if (rc) {
		snprintf(err, errlen, "cache %s: %s", path, rc == -EINVAL
			 ? "'.' or '..' after a missing directory"
			 : strerror(-rc));
		return rc;
	}
	rc = cachedir_walk(path, canon, &fd, top, err, errlen);
	if (rc)
		goto out_unmake;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cache %s: %s", path, strerror(-rc));
	}
	if (rc == 0)
		rc = cachedir_check_self(path, &sb, err, errlen);
	if (rc == 0)
		rc = cachedir_check_entries(path, fd, err, errlen);
	close(fd);
	if (rc == 0 && ((size_t)snprintf(out, outlen, "%s", canon) >= outlen ||
			(made && (size_t)snprintf(made, madelen, "%s", top) >=
					 madelen))) {
		snprintf(err, errlen, "cache %s: path too long", path);
		rc = -ENAMETOOLONG;
	}
out_unmake:
	if (rc && top[0])	/* what this call made, empty: as it was */
		cachedir_rmdirs(canon, top);
	return rc;
}

/* ---- removal ------------------------------------------------------------ */

/* Removes every entry of the directory fd (closed here), recursing into
 * directories by descriptor, never through a link.  0 or -errno. */
static int cachedir_empty_fd(int fd, unsigned depth)
{
	struct dirent *e;
	DIR *d = fdopendir(fd);
	int rc = 0, sub;

	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = rc ? rc : -errno;
			continue;
		}
		sub = depth < CACHEDIR_MAX_DEPTH
			      ? openat(fd, e->d_name, O_RDONLY | O_DIRECTORY |
						  O_NOFOLLOW | O_CLOEXEC)
			      : -1;
		if (sub < 0 || cachedir_empty_fd(sub, depth + 1) != 0 ||
		    unlinkat(fd, e->d_name, AT_REMOVEDIR) != 0)
			rc = rc ? rc : -EIO;
	}
	closedir(d);
	return rc;
}

int cachedir_remove(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = cachedir_empty_fd(fd, 0);
	if (rc == 0 && rmdir(dir) != 0)
		rc = -errno;
	return rc;
}

/* ---- what a failed start made ------------------------------------------- */

/* The names RocksDB gives the files of its directory (RocksDB's
 * file/filename.cc, ParseFileName(), with the info log in the directory,
 * as memofs opens it): one of these, or prefix DIGITS suffix below. */
static const char *const cachedir_rdb_names[] = { "IDENTITY", "CURRENT",
						  "LOCK", "LOG" };
static const struct {
	const char *prefix, *suffix;
} cachedir_rdb_forms[] = {
	{ "LOG.old.", "" },	{ "MANIFEST-", "" }, { "METADB-", "" },
	{ "OPTIONS-", "" },	{ "OPTIONS-", ".dbtmp" }, { "", ".log" },
	{ "", ".sst" },		{ "", ".ldb" },	     { "", ".blob" },
	{ "", ".dbtmp" },
};

#define CACHEDIR_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Is name one RocksDB gives a file of its own? */
static int cachedir_is_rdb_name(const char *name)
{
	for (size_t i = 0; i < CACHEDIR_COUNT(cachedir_rdb_names); i++)
		if (strcmp(name, cachedir_rdb_names[i]) == 0)
			return 1;
	for (size_t i = 0; i < CACHEDIR_COUNT(cachedir_rdb_forms); i++) {
		const char *pre = cachedir_rdb_forms[i].prefix, *p = name;
		size_t n = strlen(pre);

		if (strncmp(p, pre, n) != 0)
			continue;
		p += n;
		n = strspn(p, "0123456789");
		if (n && strcmp(p + n, cachedir_rdb_forms[i].suffix) == 0)
			return 1;
	}
	return 0;
}

/* Takes RocksDB's lock on the LOCK file of the directory fd the way
 * RocksDB takes it (fcntl F_SETLK, the whole file), so that no RocksDB
 * opens the directory meanwhile.  A lock of this process's own always
 * succeeds (fcntl's locks are the process's): its store must be closed.
 * Returns 0 with *lock_fd holding it, or -1 when there is no LOCK file
 * (or a link or directory by that name, which cachedir_unlink_rdb()
 * refuses); -EBUSY when another process holds it, or a negative errno. */
static int cachedir_lock_rdb(int fd, int *lock_fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int rc;

	*lock_fd = openat(fd, "LOCK", O_RDWR | O_NOFOLLOW | O_NONBLOCK |
				      O_CLOEXEC);
	if (*lock_fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == EISDIR
			       ? 0 : -errno;
	if (fcntl(*lock_fd, F_SETLK, &fl) == 0)
		return 0;
	rc = errno == EACCES || errno == EAGAIN ? -EBUSY : -errno;
	close(*lock_fd);
	*lock_fd = -1;
	return rc;
}

/* Removes every entry of the directory fd if each is a regular file of
 * this user's that RocksDB names as its own; LOCK last.  Returns 0,
 * -ENOTEMPTY (another entry: nothing removed; one that appears between
 * the check and the removal is kept, and the directory with it), or a
 * negative errno. */
static int cachedir_unlink_rdb(int fd)
{
	struct dirent *e;
	struct stat sb;
	DIR *d;
	int rc = cachedir_opendir_fd(fd, &d);

	if (rc)
		return rc;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			rc = -errno;
		else if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
			 !cachedir_is_rdb_name(e->d_name))
			rc = -ENOTEMPTY;
	}
	rewinddir(d);
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "LOCK") == 0)
			continue;
		if (!cachedir_is_rdb_name(e->d_name))
			rc = -ENOTEMPTY;	/* new since the check */
		else if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT)
			rc = -errno;
	}
	if (rc == 0 && unlinkat(fd, "LOCK", 0) != 0 && errno != ENOENT)
		rc = -errno;
	closedir(d);
	return rc;
}

int cachedir_remove_made(const char *dir, const char *made)
{
	size_t n = strlen(made);
	int fd, lock_fd = -1, rc;

	if (!n)
		return 0;
	if (!util_path_within(dir, made))
		return -EINVAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = cachedir_lock_rdb(fd, &lock_fd);
	if (rc == 0)
		rc = cachedir_unlink_rdb(fd);
	if (lock_fd >= 0)
		close(lock_fd);	/* after the unlink: see cachedir_lock_rdb */
	close(fd);
	if (rc == 0)
		rc = cachedir_rmdirs(dir, made);
	return rc;
}

/* ---- temporary caches --------------------------------------------------- */

int cachedir_make_temp(const char *tmpdir, char *out, size_t outlen,
		       int *lock_fd, char *err, size_t errlen)
{
	char made[PATH_MAX];
	int dfd, fd = -1, rc;

	if ((size_t)snprintf(made, sizeof(made), "%s/" CACHEDIR_TEMP_PREFIX
			     "XXXXXX", tmpdir) >= sizeof(made)) {
		snprintf(err, errlen, "TMPDIR %s: path too long", tmpdir);
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(made)) {
		rc = -errno;
		snprintf(err, errlen, "cannot create a temporary cache in %s: "
			 "%s", tmpdir, strerror(-rc));
		return rc;
	}
	/* The lock first, then the checks: a memofs killed in between leaves
	 * a directory without a lock file, which the sweep removes only once
	 * it is a minute old (a CI run's ASan pass left one when a SIGINT
	 * came 50 ms into the start; the window is now two system calls). */
	err[0] = '\0';
	dfd = open(made, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = dfd < 0 ? -errno : 0;
	if (rc == 0) {
		fd = openat(dfd, CACHEDIR_LOCK, O_RDWR | O_CREAT | O_EXCL |
						O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
			rc = -errno;
	}
	if (dfd >= 0)
		close(dfd);
	if (rc == 0)
		rc = cachedir_prepare(made, out, outlen, NULL, 0, err,
				      errlen);
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "cannot lock the temporary cache "
				 "%s: %s", made, strerror(-rc));
		if (fd >= 0)
			close(fd);
		cachedir_remove(made);
		return rc;
	}
	*lock_fd = fd;
	return 0;
}

/* Is the temporary cache name (in the directory tfd) one of ours that no
 * living memofs uses?  On yes, *lock_fd holds its lock (or -1). */
static int cachedir_is_stale(int tfd, const char *name, int *lock_fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat sb;
	int dfd, fd, stale = 0;

	*lock_fd = -1;
	if (fstatat(tfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 07777) != 0700)
		return 0;
	dfd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				O_CLOEXEC);
	if (dfd < 0)
		return 0;
	fd = openat(dfd, CACHEDIR_LOCK, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
		if (stale)
			*lock_fd = fd;
		else
			close(fd);
	} else if (errno == ENOENT &&
		   time(NULL) - sb.st_mtime > CACHEDIR_TEMP_GRACE_S) {
		/* Made by a memofs killed before it locked, or by an older
		 * one: RocksDB's fcntl lock then says whether it is used. */
		fd = openat(dfd, "LOCK", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		stale = fd < 0 ? errno == ENOENT
			       : fcntl(fd, F_GETLK, &fl) == 0 &&
					 fl.l_type == F_UNLCK;
		if (fd >= 0)
			close(fd);
	}
	close(dfd);
	return stale;
}

/* Is name memofs-XXXXXX? */
static int cachedir_is_temp_name(const char *name)
{
	size_t n = strlen(CACHEDIR_TEMP_PREFIX);

	return strncmp(name, CACHEDIR_TEMP_PREFIX, n) == 0 &&
	       strlen(name) == n + 6 && !strchr(name + n, '.');
}

int cachedir_sweep(const char *tmpdir)
{
	char path[PATH_MAX];
	struct dirent *e;
	int tfd, lock_fd, removed = 0;
	DIR *d;

	tfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return 0;
	d = fdopendir(tfd);
	if (!d) {
		close(tfd);
		return 0;
	}
	while ((e = readdir(d))) {
		if (!cachedir_is_temp_name(e->d_name) ||
		    !cachedir_is_stale(tfd, e->d_name, &lock_fd))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		if (cachedir_remove(path) == 0) {
			removed++;
			log_info("removed %s, the temporary cache of a memofs "
				 "that is gone", path);
		}
		if (lock_fd >= 0)
			close(lock_fd);
	}
	closedir(d);
	return removed;
}

/* ---- damaged caches ----------------------------------------------------- */

int cachedir_set_aside(const char *dir, char *out, size_t outlen)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (unsigned i = 0; i < 100; i++) {
		int n = i ? snprintf(out, outlen, "%s.damaged-%s-%u", dir,
				     stamp, i)
			  : snprintf(out, outlen, "%s.damaged-%s", dir, stamp);

		if (n < 0 || (size_t)n >= outlen)
			return -ENAMETOOLONG;
		/* renameat2(RENAME_NOREPLACE) is Linux 3.15+; glibc has it. */
		if (renameat2(AT_FDCWD, dir, AT_FDCWD, out,
			      RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}
