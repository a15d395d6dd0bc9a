/* mfs_main.c -- the memofs program: options, dataset, mount, serve.
 *
 * Start-up runs in this order so that every user error is reported on the
 * terminal before memofs returns:
 *   1. parse options, check the mount point;
 *   2. without -f, fork: the parent waits on a pipe until the child says
 *      the mount is ready (exit 0) or why it failed (message, exit 1), or
 *      the child exits after printing its error on the terminal it shares
 *      until the mount is ready;
 *   3. a thread prepares the cache directory and opens the store while
 *      the main thread loads the dataset and builds the registry;
 *   4. once both are done, the main thread mounts, starts the workers and
 *      serves until unmounted or signalled, then stops the workers, closes
 *      the store and removes a temporary cache.
 * Step 3's thread exists for start-up time: loading RocksDB (engine/rdb.h)
 * and creating a temporary store, about 7 and 6-17 ms measured on this
 * project's 2-CPU VM, then cost nothing beside a dataset load of tens of
 * milliseconds.  The fork comes first because RocksDB's threads would not
 * survive it.
 *
 * How a mount ends (signals, unmount, the grace for running code) is
 * mfs_stop.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/cachedir.h"
#include "engine/rdb.h"
#include "engine/remote.h"
#include "util/clock.h"
#include "util/errmsg.h"
#include "util/file.h"
#include "functions/cmdfn.h"
#include "functions/argdir.h"
#include "functions/fn_args.h"
#include "functions/fn_builtin.h"
#include "util/log.h"
#include "util/name.h"
#include "memofs_config.h"
#include "mfs.h"
#include "mfs_cli.h"
#include "mfs_ctl.h"
#include "mfs_mountinfo.h"
#include "mfs_opts.h"
#include "mfs_upkeep.h"
#include "mfs_stop.h"
#include "functions/plugin.h"
#include "functions/resolve.h"
#include "engine/store.h"

#define MFS_FUSE_IDLE_THREADS 10	/* FUSE threads kept when idle */
#define MFS_DIGEST_THREADS 2	/* lookups that read large files */

/* What start-up hands to the serving part. */
struct mfs_start {
	const struct mfs_opts *o;
	char mountpoint[PATH_MAX];
	char cache_dir[PATH_MAX];
	/* The first directory of -o cache this start created (cache_dir or
	 * a parent), or "": removed if the start fails, kept once it has
	 * succeeded (cachedir_remove_made()). */
	char cache_made[PATH_MAX];
	int temporary_cache;	/* remove cache_dir at the end */
	int temp_lock;		/* its lock (cachedir_make_temp), or -1 */
	int ready_fd;		/* daemon: pipe to the waiting parent, or -1 */
	int abandoned;		/* computations still running at the end */
};

static void mfs_startup_error(struct mfs_start *s, const char *msg)
{
	if (s->ready_fd >= 0) {
		dprintf(s->ready_fd, "E%s", msg);
		close(s->ready_fd);
		s->ready_fd = -1;
	} else {
		fprintf(stderr, "memofs: %s\n", msg);
	}
}

/* Where a daemon logs once its terminal is gone: -o log=FILE (opened
 * before the fork, by mfs_log_open()), syslog, or, on a machine without
 * a syslog daemon (no /dev/log: containers, minimal systems), the file
 * memofs.log in the -o cache directory, else in $XDG_RUNTIME_DIR, else
 * $TMPDIR/memofs-UID.log (only if owned by the user). */
static void mfs_daemon_log(struct mfs_start *s)
{
	enum log_level lvl = s->o->quiet ? LOG_LVL_WARN : LOG_LVL_INFO;
	const char *rt = getenv("XDG_RUNTIME_DIR"), *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 32];
	int rc;

	if (s->o->log && strcmp(s->o->log, "syslog") != 0)
		return;		/* a file, already set; or stderr, kept */
	if (s->o->log || log_syslog_available()) {
		log_init(1, lvl);
		return;
	}
	if (!s->temporary_cache)
		snprintf(path, sizeof(path), "%s/memofs.log", s->cache_dir);
	else if (rt && rt[0] == '/')
		snprintf(path, sizeof(path), "%s/memofs.log", rt);
	else
		snprintf(path, sizeof(path), "%s/memofs-%u.log",
			 tmp && tmp[0] == '/' ? tmp : "/tmp",
			 (unsigned)getuid());
	rc = log_init_file(path, lvl);
	if (rc)
		log_init(1, lvl);	/* nowhere better */
	else
		log_info("no syslog on this machine: logging to %s", path);
}

/* -o log=FILE or stderr, before anything is logged: 0, or 1 with a
 * message. */
static int mfs_log_open(const struct mfs_opts *o)
{
	enum log_level lvl = o->debug ? LOG_LVL_DEBUG
			   : o->quiet ? LOG_LVL_WARN : LOG_LVL_INFO;
	int rc;

	if (o->log && strcmp(o->log, "syslog") == 0)
		log_init(1, lvl);
	if (!o->log || strcmp(o->log, "syslog") == 0 ||
	    strcmp(o->log, "stderr") == 0)
		return 0;
	rc = log_init_file(o->log, lvl);
	if (rc)
		fprintf(stderr, "memofs: log=%s: %s\n", o->log,
			strerror(-rc));
	return rc ? 1 : 0;
}

static void mfs_startup_done(struct mfs_start *s)
{
	int fd;

	s->cache_made[0] = '\0';	/* the start succeeded: the user's now */
	if (s->ready_fd < 0)
		return;
	/* The log file first: once the parent has returned, the file
	 * where the daemon logs exists (test_mount.py::
	 * test_daemon_mode_temporary_cache looked for it at once, and
	 * missed it under load when it was made after the "K"). */
	mfs_daemon_log(s);
	prctl(PR_SET_PDEATHSIG, 0);	/* the daemon outlives its parent */
	if (write(s->ready_fd, "K", 1) != 1)
		log_warn("cannot tell the parent the mount is ready");
	close(s->ready_fd);
	s->ready_fd = -1;
	/* The terminal is the parent's now; log to syslog from here on,
	 * unless -o log=stderr asked for the stderr memofs was given (a
	 * service manager's journal, a shell's 2>FILE): that one is kept. */
	if (chdir("/") != 0)
		log_warn("cannot chdir to /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (!s->o->log || strcmp(s->o->log, "stderr") != 0)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Fills s->cache_dir: -o cache, checked and made canonical (cachedir.h),
 * or a new temporary cache, locked as in use by s->temp_lock.  First
 * removes the temporary caches that killed daemons left in TMPDIR. */
static int mfs_prepare_cache(struct mfs_start *s, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	cachedir_sweep(tmp);
	if (s->o->cache_dir)
		return cachedir_prepare(s->o->cache_dir, s->cache_dir,
					sizeof(s->cache_dir), s->cache_made,
					sizeof(s->cache_made), err, errlen);
	s->temporary_cache = 1;
	return cachedir_make_temp(tmp, s->cache_dir, sizeof(s->cache_dir),
				  &s->temp_lock, err, errlen);
}

/* Opens the store in s->cache_dir.  A persistent cache whose database
 * RocksDB cannot open (a damaged MANIFEST or CURRENT: -EBADMSG) is renamed
 * aside, kept for inspection, and a fresh one takes its place; unless this
 * start made it: it holds nothing to inspect, and is removed instead. */
static int mfs_open_store(struct mfs_start *s, store **st, char *err,
			  size_t errlen)
{
	char aside[PATH_MAX + 64];
	int rc = store_open(s->cache_dir, st);

	if (rc == -EBADMSG && !s->temporary_cache && !s->cache_made[0] &&
	    cachedir_set_aside(s->cache_dir, aside, sizeof(aside)) == 0) {
		log_warn("cache %s is damaged (see above): moved to %s, "
			 "starting with an empty cache", s->cache_dir, aside);
		/* The fresh one stands for the user's: kept in any case. */
		rc = cachedir_prepare(s->cache_dir, s->cache_dir,
				      sizeof(s->cache_dir), NULL, 0, err,
				      errlen);
		if (rc)
			return rc;
		rc = store_open(s->cache_dir, st);
	}
	if (rc)
		snprintf(err, errlen, "cannot open cache %s: %s", s->cache_dir,
			 rc == -EBUSY ? "in use by another memofs"
			 : rc == -EBADMSG ? "damaged (see above)"
			 : strerror(-rc));
	return rc;
}

/* The cache and its store, prepared on a thread of their own while the
 * main thread loads the dataset (see the top of this file). */
struct mfs_store_job {
	struct mfs_start *s;	/* cache_dir, temporary_cache, temp_lock */
	pthread_t thread;
	int threaded;		/* the thread runs it (else the caller will) */
	int done;		/* finished: rc, st and prepared are final */
	int prepared;		/* the cache directory exists: clean it up */
	int rc;			/* 0, or -errno with err */
	store *st;
	char err[MFS_ERR_MAX + 2 * PATH_MAX];	/* names two paths */
};

static void mfs_store_job_run(struct mfs_store_job *j)
{
	int64_t t0 = util_now_ns();

	/* First, so a RocksDB that cannot be loaded is one line that says
	 * why (store_open() would log it and fail with -ELIBACC). */
	j->rc = rdb_load(j->err, sizeof(j->err));
	if (j->rc == 0)
		j->rc = mfs_prepare_cache(j->s, j->err, sizeof(j->err));
	j->prepared = j->rc == 0;
	/* A cache inside the mount point is hidden by the mount: measured, a
	 * thread of memofs that opened a path in it between the mount and
	 * the FUSE loop waited for ever for INIT's answer (kernel stack:
	 * path_openat, fuse_permission, fuse_get_req), and every reader with
	 * it; and RocksDB's later files would land in memofs. */
	if (j->rc == 0 && util_path_within(j->s->cache_dir, j->s->mountpoint)) {
		snprintf(j->err, sizeof(j->err), "cache %s is inside the mount "
			 "point %s, which hides it (use a cache or TMPDIR "
			 "elsewhere)", j->s->cache_dir, j->s->mountpoint);
		j->rc = -EINVAL;
	}
	if (j->rc == 0)
		j->rc = mfs_open_store(j->s, &j->st, j->err, sizeof(j->err));
	if (j->rc == 0)
		log_debug("cache %s opened in %.3f s", j->s->cache_dir,
			  (double)(util_now_ns() - t0) / 1e9);
}

static void *mfs_store_job_main(void *arg)
{
	mfs_store_job_run(arg);
	return NULL;
}

/* Starts j on a thread.  The thread, and RocksDB's threads it starts,
 * block the stop signals (mfs_stop.c: they are the main thread's); the
 * caller's mask is kept, so ^C still ends a long dataset load.  Without a
 * thread, mfs_store_job_finish() runs the job itself. */
static void mfs_store_job_start(struct mfs_store_job *j, struct mfs_start *s)
{
	sigset_t stop, old;

	*j = (struct mfs_store_job){ .s = s };
	mfs_stop_sigset(&stop);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	j->threaded = pthread_create(&j->thread, NULL, mfs_store_job_main,
				     j) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Waits for j (or runs it), once: 0, or -errno with j->err. */
static int mfs_store_job_finish(struct mfs_store_job *j)
{
	if (j->done)
		return j->rc;
	if (j->threaded)
		pthread_join(j->thread, NULL);
	else
		mfs_store_job_run(j);
	j->done = 1;
	return j->rc;
}

/* Undoes what j made, once it is finished: the store closed, a temporary
 * cache removed, and so is a -o cache directory that a failed start made
 * (unless something else than RocksDB's files is in it: not a word then,
 * the start's error is the one line a failure says). */
static void mfs_store_job_undo(struct mfs_store_job *j)
{
	struct mfs_start *s = j->s;
	int rc;

	mfs_store_job_finish(j);
	store_close(j->st);
	j->st = NULL;
	if (j->prepared && s->temporary_cache &&
	    cachedir_remove(s->cache_dir) != 0)
		log_warn("cannot remove the temporary cache %s",
			 s->cache_dir);
	if (j->prepared && !s->temporary_cache &&
	    (rc = cachedir_remove_made(s->cache_dir, s->cache_made)) != 0)
		log_debug("cache %s: %s left as it is: %s", s->cache_dir,
			  s->cache_made, strerror(-rc));
	s->cache_made[0] = '\0';
	if (s->temp_lock >= 0)
		close(s->temp_lock);	/* after the removal: see cachedir.h */
	s->temp_lock = -1;
	j->prepared = 0;
}

/* Reads a secret (what: "remote password file"...) from path into buf
 * (bufsize bytes, NUL-terminated): the whole file but one final newline,
 * min to bufsize - 1 bytes on one line.  Like ssh with a private key,
 * refuses a file that is not regular or that group or others may read
 * or write.  0, or -1 with err filled ("PATH: what: why"). */
static int mfs_read_secret(const char *path, const char *what, size_t min,
			   char *buf, size_t bufsize, char *err,
			   size_t errlen)
{
	/* O_NONBLOCK: a FIFO planted at path is refused below (not a regular
	 * file) instead of blocking memofs until a writer comes; it changes
	 * nothing for a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (fd < 0 || fstat(fd, &sb) != 0) {
		util_path_error(err, errlen, path, -1, "%s: %s", what,
				strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
		util_path_error(err, errlen, path, -1, "%s: %s", what,
				!S_ISREG(sb.st_mode) ? "not a regular file"
				: "group or others may access it (chmod 600 "
				  "it)");
		goto out_close;
	}
	rc = util_file_read_fd(fd, 64, bufsize - 1, &text, &len);
	if (rc == 0 && len && text[len - 1] == '\n')
		len--;
	if (rc || len < min || len >= bufsize || memchr(text, '\0', len) ||
	    memchr(text, '\n', len)) {
		if (rc)
			util_path_error(err, errlen, path, -1, "%s: %s", what,
					strerror(-rc));
		else
			util_path_error(err, errlen, path, -1, "%s: expected "
					"one line of %zu to %zu bytes", what,
					min, bufsize - 1);
		rc = -1;
		goto out_free;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
out_free:
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
out_close:
	if (fd >= 0)
		close(fd);
	return rc ? -1 : 0;
}

/* Opens the remote tier of -o remote=..., or leaves *rm NULL without it.
 * An unreachable Redis is no error (remote_open() logs it). */
static int mfs_open_remote(const struct mfs_opts *o, remote **rm, char *err,
			   size_t errlen)
{
	char password[REMOTE_PASSWORD_MAX + 1], key[REMOTE_KEY_MAX + 1];
	struct remote_cfg cfg = {
		.url = o->remote_url,
		.prefix = o->remote_prefix ? o->remote_prefix : "memofs",
		.readonly = o->remote_readonly,
		.timeout_ms = o->remote_timeout_ms,
		.max_value = o->remote_max_value,
		.max_age_ns = o->max_age_ns,
	};
	int rc;

	*rm = NULL;
	if (!o->remote)
		return 0;
	rc = 0;
	if (o->remote_password_file) {
		rc = mfs_read_secret(o->remote_password_file,
				     "remote password file", 1, password,
				     sizeof(password), err, errlen);
		cfg.password = password;
	}
	if (rc == 0 && o->remote_key_file) {
		rc = mfs_read_secret(o->remote_key_file, "remote key file",
				     REMOTE_KEY_MIN, key, sizeof(key), err,
				     errlen);
		cfg.key = key;
		cfg.key_len = strlen(key);
	}
	if (rc == 0) {
		rc = remote_open(&cfg, rm);
		if (rc)
			snprintf(err, errlen, "cannot start the remote tier: "
				 "%s", strerror(-rc));
	} else {
		rc = -EINVAL;
	}
	explicit_bzero(password, sizeof(password));
	explicit_bzero(key, sizeof(key));
	return rc;
}

/* Appends s to *p (within end), escaping what libfuse's option parser
 * would take for a separator or an escape. */
static void mfs_opt_escape(char **p, const char *end, const char *s)
{
	for (; *s && *p + 2 < end; s++) {
		if (*s == ',' || *s == '\\')
			*(*p)++ = '\\';
		*(*p)++ = *s;
	}
	**p = '\0';
}

/* The -o list memofs gives libfuse: read-only, what /proc/mounts shows,
 * the mount options passed on, and, with allow_other, the kernel's
 * permission checks (default_permissions).  Without allow_other the
 * kernel lets only the mounting user's processes in at all
 * (fuse_allow_current_process()), so the checks would decide nothing
 * but would cost a request: with them, every open() of a result not
 * computed yet (whose attributes expire at once) sends a GETATTR for
 * the check before the read's own.  Measured on this 2-CPU VM, a cold
 * read of a trivial result went from 4 requests to 3, p50 497-563 us to
 * 340-342 us (tests/bench/run.py --quick --only 11, alternating).  What
 * access() answers then comes from mfs_access(). */
static int mfs_fuse_optlist(const struct mfs_opts *o, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;
	int n;

	n = snprintf(p, len, "ro,%sfsname=",
		     o->allow_other ? "default_permissions," : "");
	p += n;
	mfs_opt_escape(&p, end, o->fsname ? o->fsname : "memofs");
	n = snprintf(p, (size_t)(end - p), ",subtype=%s%s%s%s%s",
		     o->subtype ? o->subtype : "memofs",
		     o->allow_other ? ",allow_other" : "",
		     o->auto_unmount ? ",auto_unmount" : "",
		     o->kernel_flags ? "," : "",
		     o->kernel_flags ? o->kernel_flags : "");
	return n < 0 || n >= end - p ? -ENAMETOOLONG : 0;
}

static struct fuse_session *mfs_session_new(struct mfs *fs,
					    const struct mfs_opts *o)
{
	char optlist[1024], name[] = "memofs", dash_o[] = "-o",
			    dash_d[] = "-d";
	char *argv[] = { name, dash_o, optlist, dash_d, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);
	struct fuse_session *se;

	if (mfs_fuse_optlist(o, optlist, sizeof(optlist)) != 0)
		return NULL;
	se = fuse_session_new(&args, &mfs_ops, sizeof(mfs_ops), fs);
	fuse_opt_free_args(&args);
	return se;
}

/* Owner and modes every file shows: -o uid, gid, umask, as libfuse's
 * high-level API means them, or the mounting user and read-only modes. */
static void mfs_set_identity(struct mfs *fs, const struct mfs_opts *o)
{
	fs->uid = o->uid >= 0 ? (uid_t)o->uid : getuid();
	fs->gid = o->gid >= 0 ? (gid_t)o->gid : getgid();
	fs->file_mode = o->umask >= 0 ? 0777 & ~(mode_t)o->umask : 0444;
	fs->dir_mode = o->umask >= 0 ? 0777 & ~(mode_t)o->umask : 0555;
}

/* Runs the session until unmounted or stopped; the main thread takes the
 * stop signals meanwhile (libfuse's threads block them).  With FUSE_USE_VERSION 34,
 * fuse_session_loop_mt() is libfuse 3.2's and takes 3.2's struct
 * fuse_loop_config: given fuse_loop_cfg_create()'s 3.12 one instead (as
 * memofs did) it read its version tag as clone_fd and 0 as
 * max_idle_threads, so every request opened a cloned /dev/fuse descriptor
 * and started and ended a thread (a request's round trip took 0.17 ms
 * instead of 0.05 ms here, a stat of a file argument 0.43 instead of 0.2).  The 3.2 form has no max_threads: libfuse's default, 10, holds
 * (it did before, too). */
static int mfs_loop(struct fuse_session *se)
{
	struct fuse_loop_config cfg = {
		.clone_fd = 0,
		.max_idle_threads = MFS_FUSE_IDLE_THREADS,
	};

	mfs_stop_signals_unblock();
	return fuse_session_loop_mt(se, &cfg);
}

/* Ends the lookups that digest large files: queued ones answer at once. */
static void mfs_digests_stop(struct mfs *fs)
{
	fs->stopping = 1;
	pool_free(fs->digests);
	fs->digests = NULL;
}

/* Serves until unmounted or signalled, then stops the computations;
 * frees the memo unless some are left running (s->abandoned). */
static int mfs_serve_loop(struct mfs *fs, struct mfs_start *s)
{
	struct mfs_stopper sp;
	int rc = mfs_stopper_start(&sp, fs);

	if (rc) {
		log_error("cannot start the stopper thread: %s", strerror(-rc));
		mfs_upkeep_stop(fs);
		mfs_digests_stop(fs);
		memo_cancel(fs->m);
		memo_free(fs->m);
		fs->m = NULL;
		return rc;
	}
	rc = mfs_loop(fs->se);
	mfs_upkeep_stop(fs);	/* before the memo and store go */
	mfs_digests_stop(fs);
	s->abandoned = mfs_stopper_end(&sp);
	if (!s->abandoned) {
		memo_free(fs->m);
		fs->m = NULL;
	}
	return rc;
}

/* Copies what fd holds from its start to stderr (best effort). */
static void mfs_copy_to_stderr(int fd)
{
	char buf[4096];
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			return;
}

/* fuse_session_mount(), for -o auto_unmount.  libfuse then leaves
 * fusermount3 running for the life of the mount, holding the stdin,
 * stdout and stderr it was given: a caller reading memofs's output
 * through a pipe ($(...), a pipeline) would wait until the unmount.  So
 * fusermount3 gets /dev/null and, for stderr, a temporary file whose
 * content (libfuse's error messages) is then copied to the real stderr. */
static int mfs_mount_detached(struct fuse_session *se, const char *mnt)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), saved[3], rc;
	FILE *msgs = tmpfile();

	if (null < 0 || !msgs) {
		if (null >= 0)
			close(null);
		if (msgs)
			fclose(msgs);
		return fuse_session_mount(se, mnt);
	}
	for (int fd = 0; fd < 3; fd++)
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(fileno(msgs), STDERR_FILENO);
	rc = fuse_session_mount(se, mnt);
	for (int fd = 0; fd < 3; fd++) {
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
		}
	}
	mfs_copy_to_stderr(fileno(msgs));
	fclose(msgs);
	close(null);
	return rc;
}

/* .memofs and the limits' thread (fs->m set). */
static int mfs_operating_start(struct mfs *fs, struct mfs_start *s)
{
	struct mfs_ctl_config cfg = { .mountpoint = s->mountpoint,
				      .cache_dir = s->cache_dir,
				      .max_size = s->o->max_size,
				      .max_age_ns = s->o->max_age_ns };
	int rc = mfs_ctl_new(fs, &cfg);

	if (rc == 0)
		rc = mfs_upkeep_start(fs, s->o->max_size, s->o->max_age_ns);
	return rc;
}

static int mfs_mount_and_serve(struct mfs *fs, struct mfs_start *s,
			       store *st, remote *rm)
{
	const struct mfs_opts *o = s->o;
	char msg[MFS_ERR_MAX + PATH_MAX];
	int rc = -EIO;

	fs->se = mfs_session_new(fs, o);
	if (!fs->se) {
		mfs_startup_error(s, "cannot create the FUSE session");
		return -EIO;
	}
	if ((o->auto_unmount ? mfs_mount_detached(fs->se, s->mountpoint)
			     : fuse_session_mount(fs->se, s->mountpoint)) != 0) {
		snprintf(msg, sizeof(msg), "cannot mount on %s (see above; "
			 "is it already mounted?)", s->mountpoint);
		mfs_startup_error(s, msg);
		goto out_destroy;
	}
	rc = mfs_readahead_raise(s->mountpoint, MFS_READAHEAD_KB);
	if (rc == 0)		/* before INIT's reply, which keeps the min */
		fs->readahead_kb = MFS_READAHEAD_KB;
	else		/* -EACCES unless root: reads in 128 KiB READs */
		log_debug("readahead of %s left as it is: %s", s->mountpoint,
			  strerror(-rc));
	rc = memo_new(st, fs->r, fs->data, o->workers, &fs->m);
	if (rc == 0) {
		memo_set_cache_bytes(fs->m, MFS_PUSH_MAX);
		if (rm)
			memo_set_remote(fs->m, rm);
		rc = pool_new(MFS_DIGEST_THREADS, &fs->digests);
	}
	if (rc == 0)
		rc = mfs_operating_start(fs, s);
	if (rc) {
		snprintf(msg, sizeof(msg), "cannot start %u workers: %s",
			 o->workers, strerror(-rc));
		mfs_startup_error(s, msg);
		pool_free(fs->digests);
		fs->digests = NULL;
		memo_free(fs->m);
		fs->m = NULL;
		goto out_unmount;
	}
	mfs_startup_done(s);	/* a daemon logs to syslog from here */
	log_info("mounted %s on %s: %zu rows x %zu columns, %u workers, "
		 "cache %s%s", ds_name(fs->data), s->mountpoint,
		 ds_nrows(fs->data), ds_ncols(fs->data), o->workers,
		 s->cache_dir, s->temporary_cache ? " (temporary)" : "");
	rc = mfs_serve_loop(fs, s);
out_unmount:
	fuse_session_unmount(fs->se);
out_destroy:
	fuse_session_destroy(fs->se);
	return rc;
}

/* The serving half: the store (from j), nodes, mount, loop, clean-up. */
static int mfs_serve(const reg *r, const ds *d, cmdfn *cmds,
		     struct mfs_start *s, struct mfs_store_job *j)
{
	struct mfs fs = { .r = r, .data = d, .cmds = cmds,
			  .stat_compute = s->o->stat_compute };
	char err[MFS_ERR_MAX + PATH_MAX];
	store *st;
	remote *rm = NULL;
	int rc;

	clock_gettime(CLOCK_REALTIME, &fs.mounted);
	pthread_mutex_init(&fs.lock, NULL);
	mfs_set_identity(&fs, s->o);
	rc = mfs_stop_signals_install();
	if (rc) {
		snprintf(err, sizeof(err), "cannot install signal handlers: %s",
			 strerror(-rc));
		mfs_startup_error(s, err);
		goto out_store;
	}
	rc = mfs_store_job_finish(j);
	if (rc) {
		mfs_startup_error(s, j->err);
		goto out_store;
	}
	st = j->st;
	rc = mfs_open_remote(s->o, &rm, err, sizeof(err));
	if (rc) {
		mfs_startup_error(s, err);
		goto out_store;
	}
	rc = mfs_node_table_new(r, &fs.nodes);
	if (rc) {
		mfs_startup_error(s, "out of memory");
		goto out_remote;
	}
	rc = mfs_mount_and_serve(&fs, s, st, rm);
	mfs_ctl_free(&fs);
	mfs_node_table_free(fs.nodes);
out_remote:
	if (!s->abandoned)	/* else running computations still use it */
		remote_close(rm);
out_store:
	mfs_store_job_undo(j);
	pthread_mutex_destroy(&fs.lock);
	return rc ? 1 : 0;
}

/* The daemon's pid in the parent, and the first stop signal the parent
 * got while it waited: the parent passes SIGINT, SIGTERM and SIGHUP on to
 * the child, which has left the terminal's session (setsid()) and would
 * not see a ^C, then ends by the same signal once the child has ended
 * (mfs_daemonize()). */
static volatile pid_t mfs_daemon_pid;
static volatile sig_atomic_t mfs_daemon_sig;

static void mfs_daemon_forward(int sig)
{
	if (!mfs_daemon_sig)
		mfs_daemon_sig = sig;
	if (mfs_daemon_pid > 0)
		kill(mfs_daemon_pid, sig);
}

/* Forks; the parent waits for the child's verdict and exits with it.  A
 * stop signal to the parent while it waits stops the child too: killed
 * during its load (like memofs -f; its temporary cache is swept by the
 * next start), or unmounting at once if it is already mounted; the parent
 * waits for it to end and then ends by that signal.  A parent killed by
 * SIGKILL stops the child by its PR_SET_PDEATHSIG, a SIGTERM. */
static int mfs_daemonize(struct mfs_start *s)
{
	struct sigaction sa = { .sa_handler = mfs_daemon_forward,
				.sa_flags = SA_RESTART };
	char buf[MFS_ERR_MAX + PATH_MAX + 2];
	sigset_t block, old;
	int fds[2];
	ssize_t n, got = 0;
	int status = 0;
	pid_t pid, parent;

	if (pipe2(fds, O_CLOEXEC) != 0)	/* fusermount3 must not keep it */
		return -errno;
	/* Blocked across the fork: a signal before the parent's handlers
	 * are in place waits for them, and reaches the child through them. */
	mfs_stop_sigset(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	parent = getpid();
	pid = fork();
	if (pid <= 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0)
			return -errno;
		close(fds[0]);
		setsid();
		s->ready_fd = fds[1];
		/* A parent killed outright (SIGKILL: nothing to pass on)
		 * stops the start-up too, until mfs_startup_done(). */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 ||
		    getppid() != parent)
			raise(SIGTERM);
		return 0;
	}
	close(fds[1]);
	mfs_daemon_pid = pid;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)	/* the stop signals */
		if (sigismember(&block, sig) == 1)
			sigaction(sig, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	while ((size_t)got < sizeof(buf) - 1) {
		n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	if (got > 0 && buf[0] == 'K' && !mfs_daemon_sig)
		exit(0);
	/* Failed or stopping: once the child has ended, and so cleaned up
	 * (its cache is free for the next start). */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (mfs_daemon_sig) {
		signal(mfs_daemon_sig, SIG_DFL);
		raise(mfs_daemon_sig);
	}
	if (got > 1 && buf[0] == 'E')
		fprintf(stderr, "memofs: %s\n", buf + 1);
	/* Else ended without a word: a failed dataset load or registry has
	 * said why on the terminal already, and exited 1. */
	else if (!WIFEXITED(status))
		fprintf(stderr, "memofs: the daemon %s during start-up\n",
			WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
					    : "ended");
	else if (WEXITSTATUS(status) == 0)
		fprintf(stderr, "memofs: the daemon exited during start-up\n");
	exit(1);
}

static int mfs_check_mountpoint(const char *path, char *abs)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "memofs: mount point %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "memofs: mount point %s: Not a directory\n",
			path);
		return -1;
	}
	if (!realpath(path, abs)) {
		fprintf(stderr, "memofs: mount point %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (mfs_mountinfo_find(abs, NULL, 0)) {
		fprintf(stderr, "memofs: mount point %s: already a mount point "
			"(unmount it first)\n", path);
		return -1;
	}
	return 0;
}

/* What start-up builds before serving, and frees at the end. */
struct mfs_setup {
	ds *data;		/* the table; empty for a directory DATA */
	argdir *files;		/* a directory DATA, or NULL */
	reg *r;
	plugin **plugins;	/* one per -o plugin */
	size_t nplugins;
	cmdfn *cmds;		/* the command functions */
};

static int mfs_is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* DATA: a directory, a table file, or the demo.  The file's digest names
 * it in cache keys that outlive the mount: a temporary cache without a
 * remote tier needs none, and skips its cost (ds_digest()). */
static int mfs_load_data(const struct mfs_opts *o, struct mfs_setup *su)
{
	struct ds_opts table = o->table;
	char err[DS_ERR_MAX];
	int rc;

	table.no_digest = !o->cache_dir && !o->remote;

	if (o->data && mfs_is_dir(o->data)) {
		rc = argdir_open(o->data, &su->files, err, sizeof(err));
		if (rc == 0 && (rc = ds_empty(o->data, &su->data)) != 0)
			snprintf(err, sizeof(err), "%s", strerror(-rc));
	} else if (o->data) {
		rc = ds_load_opts(o->data, &table, &su->data, err,
				  sizeof(err));
	} else if ((rc = ds_demo(&su->data)) != 0) {
		snprintf(err, sizeof(err), "demo dataset: %s", strerror(-rc));
	}
	if (rc)
		fprintf(stderr, "memofs: %s\n", err);
	return rc;
}

/* Loads -o plugin=... in order. */
static int mfs_load_plugins(const struct mfs_opts *o, struct mfs_setup *su)
{
	char err[MFS_ERR_MAX + PATH_MAX];

	su->plugins = calloc(o->nplugins + 1, sizeof(*su->plugins));
	if (!su->plugins)
		return -ENOMEM;
	for (; su->nplugins < o->nplugins; su->nplugins++) {
		int rc = plugin_load(su->r, o->plugins[su->nplugins],
				     &su->plugins[su->nplugins], err,
				     sizeof(err));

		if (rc) {
			fprintf(stderr, "memofs: %s\n", err);
			return rc;
		}
	}
	return 0;
}

/* Loads -o functions=... in order. */
static int mfs_load_commands(const struct mfs_opts *o, struct mfs_setup *su)
{
	struct cmdfn_data cd = { .path = o->data, .timeout = o->timeout,
				 .files = su->files,
				 .table = su->files ? NULL : su->data };
	char err[CMDFN_ERR_MAX];
	int rc = cmdfn_new(&cd, &su->cmds);

	for (size_t i = 0; rc == 0 && i < o->nfunctions; i++) {
		rc = cmdfn_load(su->cmds, su->r, o->functions[i], err,
				sizeof(err));
		if (rc)
			fprintf(stderr, "memofs: %s\n", err);
	}
	return rc;
}

/* Built-ins (for a table), plugins, command functions; then binds DATA. */
static int mfs_build_registry(const struct mfs_opts *o, struct mfs_setup *su)
{
	int rc = reg_new(&su->r);

	if (rc == 0 && !su->files)
		rc = fn_register_builtins(su->r, &o->delay);
	if (rc == 0 && !su->files)
		rc = fn_args_register(su->r);
	if (rc)
		fprintf(stderr, "memofs: cannot register functions: %s\n",
			strerror(-rc));
	if (rc == 0)
		rc = mfs_load_plugins(o, su);
	if (rc == 0)
		rc = mfs_load_commands(o, su);
	if (rc == 0 && (rc = reg_bind_dataset(su->r, su->data)) != 0)
		fprintf(stderr, "memofs: %s\n", strerror(-rc));
	if (rc == 0 && su->files)
		reg_bind_dir(su->r, su->files);
	return rc;
}

/* Frees what start-up built, in the reverse order. */
static void mfs_setup_free(struct mfs_setup *su)
{
	reg_free(su->r);
	cmdfn_free(su->cmds);
	for (size_t i = 0; su->plugins && i < su->nplugins; i++)
		plugin_free(su->plugins[i]);
	free(su->plugins);
	argdir_free(su->files);
	ds_free(su->data);
}

/* memofs --functions: one line per function (its name and the labels of
 * its arguments, "quantile Q COLUMN", then its version and description),
 * then exit. */
static void mfs_print_functions(const reg *r)
{
	for (size_t i = 0; i < reg_count(r); i++) {
		const reg_fn *f = reg_at(r, i);

		char usage[REG_NAME_MAX + 1 +
			   RESOLVE_ARGS_MAX * (RESOLVE_LABEL_MAX + 1)];
		size_t used = (size_t)snprintf(usage, sizeof(usage), "%s",
					       reg_fn_name(f));

		for (size_t j = 0; j < reg_fn_nargs(f); j++)
			used += (size_t)snprintf(usage + used,
						 sizeof(usage) - used, " %s",
						 reg_fn_arg(f, j)->label);
		printf("%-24s %-22s %s\n", usage, reg_fn_version(f),
		       reg_fn_description(f));
	}
}

/* memofs --functions [-o plugin=...] [-o functions=...] [DATA] */
static int mfs_list(const struct mfs_opts *o)
{
	struct mfs_setup su = { 0 };
	int rc = mfs_load_data(o, &su);

	if (rc == 0)
		rc = mfs_build_registry(o, &su);
	if (rc == 0)
		mfs_print_functions(su.r);
	mfs_setup_free(&su);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	char err[MFS_ERR_MAX];
	struct mfs_opts o;
	struct mfs_start s = { .o = &o, .ready_fd = -1, .temp_lock = -1 };
	struct mfs_setup su = { 0 };
	struct mfs_store_job job;
	int rc = mfs_cli_main(argc, argv);

	if (rc >= 0)
		return rc;
	rc = 1;
	if (mfs_opts_parse(argc, argv, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "memofs: %s\n", err);
		goto out_opts;
	}
	if (o.show_help || o.show_version) {
		if (o.show_help)
			mfs_opts_usage(argv[0]);
		else
			printf("memofs %s (libfuse %s)\n", MEMOFS_VERSION,
			       fuse_pkgversion());
		rc = 0;
		goto out_opts;
	}
	log_init(0, o.debug ? LOG_LVL_DEBUG
			    : o.quiet ? LOG_LVL_WARN : LOG_LVL_INFO);
	if (mfs_log_open(&o))
		goto out_opts;
	if (o.list_functions) {
		rc = mfs_list(&o);
		goto out_opts;
	}
	if (mfs_check_mountpoint(o.mountpoint, s.mountpoint))
		goto out_setup;
	if (!o.foreground && mfs_daemonize(&s) != 0) {
		fprintf(stderr, "memofs: cannot start the daemon: %s\n",
			strerror(errno));
		goto out_setup;
	}
	mfs_store_job_start(&job, &s);
	if (mfs_load_data(&o, &su) || mfs_build_registry(&o, &su)) {
		mfs_store_job_undo(&job);
		goto out_setup;
	}
	rc = mfs_serve(su.r, su.data, su.cmds, &s, &job);
	if (s.abandoned) {	/* threads still use su: leave it to exit */
		fflush(NULL);
		_exit(rc);
	}
out_setup:
	mfs_setup_free(&su);
out_opts:
	mfs_opts_free(&o);
	return rc;
}
